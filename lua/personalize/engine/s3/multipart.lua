-- The multipart upload operations of personalize.engine.s3:
-- CreateMultipartUpload, UploadPart, CompleteMultipartUpload,
-- AbortMultipartUpload, ListMultipartUploads. Each is op(store, r) ->
-- response | nil, code, message, fields.
local core = require "personalize.core"
local common = require "personalize.engine.s3.common"
local request = require "personalize.engine.s3.request"
local objects = require "personalize.engine.s3.objects"

local type, tonumber, ipairs, concat, sort = type, tonumber, ipairs, table.concat, table.sort
local floor, format, os_remove = math.floor, string.format, os.remove
local MIN_PART_SIZE, MAX_PARTS, url_encode = common.MIN_PART_SIZE, common.MAX_PARTS, common.url_encode
local base64_encode, hex_to_bytes, int = common.base64_encode, common.hex_to_bytes, common.int
local iso_time, read_json, write_json = common.iso_time, common.read_json, common.write_json
local unique_id, parse_xml, xml_children = common.unique_id, common.parse_xml, common.xml_children
local xml_text, el = common.xml_text, common.el
local body_text, user_metadata, xml_response = request.body_text, request.user_metadata, request.xml_response
local no_content, invalid_argument = request.no_content, request.invalid_argument
local check_key, content_md5, upload_source = objects.check_key, objects.content_md5, objects.upload_source

local ops = {}

local function no_such_upload(r)
  return nil, "NoSuchUpload", nil, { { "UploadId", r.query.uploadId } }
end

function ops.CreateMultipartUpload(self, r)
  local ok, code, message, fields = check_key(r)
  if not ok then return nil, code, message, fields end
  if not self:_bucket(r.bucket) then return nil, "NoSuchBucket" end
  local id = unique_id() .. unique_id()
  local dir = self:bucket_dir(r.bucket) .. "/uploads/" .. id
  local err
  ok, err = core.mkdir(dir)
  if ok then
    core.fsync(self:bucket_dir(r.bucket) .. "/uploads")
    ok, err = write_json(dir .. "/upload.json", {
      Key = r.key, Initiated = self.now(), ContentType = r.headers["content-type"],
      Metadata = user_metadata(r.headers),
    })
  end
  if not ok then return nil, "InternalError", err end
  return xml_response(200, "InitiateMultipartUploadResult",
    { el("Bucket", r.bucket), el("Key", r.key), el("UploadId", id) })
end

local function part_name(n)
  return format("%05d", n)
end

function ops.UploadPart(self, r)
  if not self:_bucket(r.bucket) then return nil, "NoSuchBucket" end
  local raw = r.query.partNumber
  local n = raw:match("^%d+$") and tonumber(raw)
  if not n or n < 1 or n > MAX_PARTS then
    return invalid_argument("Part number must be an integer between 1 and 10000, inclusive", "partNumber", raw)
  end
  local up = self:_upload(r)
  if not up then return no_such_upload(r) end
  local md5 = content_md5(r.headers)
  if not md5 then return nil, "InvalidDigest" end
  local source, code = upload_source(self, r)
  if not source then return nil, code end
  local rel = part_name(n) .. "." .. unique_id()
  local size, hex, err
  if source.data then
    size, hex = #source.data, core.md5_hex(source.data)
    err = md5 ~= true and md5 ~= base64_encode(hex_to_bytes(hex))
    if not err then
      local ok
      ok, err = core.write_file(up.dir .. "/" .. rel, source.data)
      err = not ok and err
    end
  else
    size, hex = core.copy_files(up.dir .. "/" .. rel, source.files)
    err = not size and hex
    if size and md5 ~= true and md5 ~= base64_encode(hex_to_bytes(hex)) then
      os_remove(up.dir .. "/" .. rel)
      err = true
    end
  end
  if source.cleanup then os_remove(source.cleanup) end
  if err == true then return nil, "BadDigest" end
  if err then return nil, "InternalError", err end
  local meta_path = up.dir .. "/" .. part_name(n) .. ".json"
  local old = read_json(meta_path)
  local ok
  ok, err = write_json(meta_path, { PartNumber = n, ETag = '"' .. hex .. '"', Size = size,
    LastModified = self.now(), file = rel })
  if not ok then
    os_remove(up.dir .. "/" .. rel)
    return nil, "InternalError", err
  end
  if old and type(old.file) == "string" and old.file ~= rel then os_remove(up.dir .. "/" .. old.file) end
  return { status = 200, headers = { ETag = '"' .. hex .. '"' } }
end

local function unquote(etag)
  return (etag or ""):gsub('^%s*"?', ""):gsub('"?%s*$', "")
end

function ops.CompleteMultipartUpload(self, r)
  if not self:_bucket(r.bucket) then return nil, "NoSuchBucket" end
  local up = self:_upload(r)
  if not up then return no_such_upload(r) end
  local doc = parse_xml(body_text(r) or "")
  if not doc or doc.name ~= "CompleteMultipartUpload" then return nil, "MalformedXML" end
  local listed = xml_children(doc, "Part")
  if #listed == 0 then return nil, "MalformedXML" end
  local numbers, previous = {}, 0
  for i, p in ipairs(listed) do
    local n = tonumber(xml_text(p, "PartNumber") or "")
    if not n or n ~= floor(n) or n < 1 or n > MAX_PARTS then return nil, "MalformedXML" end
    if n <= previous then return nil, "InvalidPartOrder" end
    numbers[i], previous = n, n
  end
  local files, digests = {}, {}
  for i, p in ipairs(listed) do
    local n = numbers[i]
    local part = read_json(up.dir .. "/" .. part_name(n) .. ".json")
    if not part or unquote(part.ETag) ~= unquote(xml_text(p, "ETag")) then
      return nil, "InvalidPart", nil, { { "UploadId", up.UploadId }, { "PartNumber", int(n) },
        { "ETag", xml_text(p, "ETag") or "" } }
    end
    if i < #listed and part.Size < MIN_PART_SIZE then
      return nil, "EntityTooSmall", nil, { { "ProposedSize", int(part.Size) },
        { "MinSizeAllowed", int(MIN_PART_SIZE) }, { "PartNumber", int(n) }, { "ETag", part.ETag } }
    end
    files[#files + 1] = up.dir .. "/" .. part.file
    digests[#digests + 1] = hex_to_bytes(unquote(part.ETag))
  end
  -- S3's multipart ETag: the MD5 of the parts' binary MD5s, "-", their count
  local etag = '"' .. core.md5_hex(concat(digests)) .. "-" .. #listed .. '"'
  local meta, code, message = self:_commit(r.bucket, up.Key, { files = files },
    { ContentType = up.ContentType, Metadata = up.Metadata, etag = etag })
  if not meta then return nil, code, message end
  core.remove_tree(up.dir)
  return xml_response(200, "CompleteMultipartUploadResult", {
    el("Location", "/" .. r.bucket .. "/" .. url_encode(up.Key)), el("Bucket", r.bucket),
    el("Key", up.Key), el("ETag", etag),
  })
end

function ops.AbortMultipartUpload(self, r)
  if not self:_bucket(r.bucket) then return nil, "NoSuchBucket" end
  local up = self:_upload(r)
  if not up then return no_such_upload(r) end
  os_remove(up.dir .. "/upload.json")
  core.remove_tree(up.dir)
  return no_content()
end

function ops.ListMultipartUploads(self, r)
  if not self:_bucket(r.bucket) then return nil, "NoSuchBucket" end
  local prefix = r.query.prefix or ""
  local uploads = {}
  for _, id in ipairs(core.listdir(self:bucket_dir(r.bucket) .. "/uploads") or {}) do
    local up = self:_upload({ bucket = r.bucket, query = {} }, id)
    if up and up.Key:sub(1, #prefix) == prefix then uploads[#uploads + 1] = up end
  end
  sort(uploads, function(a, b)
    if a.Key ~= b.Key then return a.Key < b.Key end
    return a.Initiated < b.Initiated
  end)
  local owner = el("ID", core.sha256_hex(self.account_id)) .. el("DisplayName", "personalize-local")
  local parts = { el("Bucket", r.bucket), el("KeyMarker", ""), el("UploadIdMarker", ""),
    el("Prefix", prefix), el("MaxUploads", "1000"), el("IsTruncated", "false") }
  for _, up in ipairs(uploads) do
    parts[#parts + 1] = "<Upload>" .. el("Key", up.Key) .. el("UploadId", up.UploadId)
      .. "<Initiator>" .. owner .. "</Initiator><Owner>" .. owner .. "</Owner>"
      .. el("StorageClass", "STANDARD") .. el("Initiated", iso_time(up.Initiated)) .. "</Upload>"
  end
  return xml_response(200, "ListMultipartUploadsResult", parts)
end

return ops
