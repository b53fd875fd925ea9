-- The object operations of personalize.engine.s3: listings (v1 and v2),
-- PutObject, GetObject/HeadObject (with ranges), DeleteObject(s); and
-- the checks on keys and bodies the multipart upload calls share.
--
--   local objects = require "personalize.engine.s3.objects"
--   objects.ops[name](store, r) -> response | nil, code, message, fields
local core = require "personalize.core"
local common = require "personalize.engine.s3.common"
local request = require "personalize.engine.s3.request"

local type, tonumber, ipairs, concat = type, tonumber, ipairs, table.concat
local floor, format, io_open, os_remove = math.floor, string.format, io.open, os.remove
local MAX_OBJECT_SIZE, MAX_KEY_LENGTH = common.MAX_OBJECT_SIZE, common.MAX_KEY_LENGTH
local MAX_KEYS, ERRORS, url_encode = common.MAX_KEYS, common.ERRORS, common.url_encode
local base64_encode, base64_decode, int = common.base64_encode, common.base64_decode, common.int
local iso_time, http_time, file_size = common.iso_time, common.http_time, common.file_size
local read_json, unique_id, parse_xml = common.read_json, common.unique_id, common.parse_xml
local xml_children, xml_text, el = common.xml_children, common.xml_text, common.el
local body_text, is_aws_chunked = request.body_text, request.is_aws_chunked
local dechunk_string, dechunk_file = request.dechunk_string, request.dechunk_file
local user_metadata, object_headers = request.user_metadata, request.object_headers
local xml_response, no_content = request.xml_response, request.no_content
local invalid_argument = request.invalid_argument

local ops = {}

-- The entries of one listing page: keys after `after` (and outside
-- `skip`, a common prefix already returned), grouped by `delimiter`.
local function list_page(keys, prefix, delimiter, after, skip, max)
  local contents, prefixes, count, last_prefix, last = {}, {}, 0, nil, nil
  local truncated = false
  for _, key in ipairs(keys) do
    if key:sub(1, #prefix) == prefix and (not after or key > after)
      and not (skip and key:sub(1, #skip) == skip) then
      local cp
      if delimiter ~= "" then
        local i = key:find(delimiter, #prefix + 1, true)
        if i then cp = key:sub(1, i + #delimiter - 1) end
      end
      if not cp or cp ~= last_prefix then
        if count >= max then
          truncated = max > 0
          break
        end
        count = count + 1
        if cp then
          prefixes[#prefixes + 1] = cp
          last_prefix, last = cp, "P" .. cp
        else
          contents[#contents + 1] = key
          last = "K" .. key
        end
      end
    end
  end
  return contents, prefixes, truncated, last, count
end

local function list_entries(self, r, contents, prefixes, encode)
  local parts = {}
  for _, key in ipairs(contents) do
    local meta = self:_meta(r.bucket, key)
    if meta then
      parts[#parts + 1] = "<Contents>" .. el("Key", encode(key)) .. el("LastModified", iso_time(meta.LastModified))
        .. el("ETag", meta.ETag) .. el("Size", int(meta.Size)) .. el("StorageClass", "STANDARD") .. "</Contents>"
    end
  end
  for _, p in ipairs(prefixes) do
    parts[#parts + 1] = "<CommonPrefixes>" .. el("Prefix", encode(p)) .. "</CommonPrefixes>"
  end
  return concat(parts)
end

-- max-keys, encoding-type: the value, or nil, code, message, fields
local function listing_options(q)
  local max = MAX_KEYS
  if q["max-keys"] then
    max = tonumber(q["max-keys"])
    if not max or max < 0 or max ~= floor(max) or not q["max-keys"]:match("^%d+$") then
      return invalid_argument("Provided max-keys not an integer or within integer range", "max-keys", q["max-keys"])
    end
    if max > MAX_KEYS then max = MAX_KEYS end
  end
  local encoding = q["encoding-type"]
  if encoding and encoding ~= "url" then
    return invalid_argument("Invalid Encoding Method specified in Request", "encoding-type", encoding)
  end
  return max, encoding and url_encode or function(s) return s end
end

function ops.ListObjectsV2(self, r)
  local q = r.query
  if not self:_bucket(r.bucket) then return nil, "NoSuchBucket" end
  local max, encode, message, fields = listing_options(q)
  if not max then return nil, encode, message, fields end
  local prefix, delimiter = q.prefix or "", q.delimiter or ""
  local after, skip = q["start-after"], nil
  local token = q["continuation-token"]
  if token then
    local raw = base64_decode(token)
    local kind, value = (raw or ""):match("^([KP])(.+)$")
    if not kind then
      return invalid_argument("The continuation token provided is incorrect", "continuation-token", token)
    end
    after = value
    if kind == "P" then skip = value end
  end
  local contents, prefixes, truncated, last, count =
    list_page(self:_keys(r.bucket), prefix, delimiter, after, skip, max)
  local parts = {
    el("Name", r.bucket), el("Prefix", encode(prefix)),
    delimiter ~= "" and el("Delimiter", encode(delimiter)) or "",
    el("MaxKeys", int(max)),
    q["encoding-type"] and el("EncodingType", "url") or "",
    el("KeyCount", int(count)),
    el("IsTruncated", truncated and "true" or "false"),
    token and el("ContinuationToken", token) or "",
    truncated and el("NextContinuationToken", base64_encode(last)) or "",
    q["start-after"] and el("StartAfter", encode(q["start-after"])) or "",
    list_entries(self, r, contents, prefixes, encode),
  }
  return xml_response(200, "ListBucketResult", parts)
end

-- ListObjects (version 1): marker instead of continuation tokens.
function ops.ListObjects(self, r)
  local q = r.query
  if not self:_bucket(r.bucket) then return nil, "NoSuchBucket" end
  local max, encode, message, fields = listing_options(q)
  if not max then return nil, encode, message, fields end
  local prefix, delimiter, marker = q.prefix or "", q.delimiter or "", q.marker
  local skip
  if marker and delimiter ~= "" and marker:sub(-#delimiter) == delimiter then skip = marker end
  local contents, prefixes, truncated, last = list_page(self:_keys(r.bucket), prefix, delimiter, marker, skip, max)
  local parts = {
    el("Name", r.bucket), el("Prefix", encode(prefix)), el("Marker", encode(marker or "")),
    delimiter ~= "" and el("Delimiter", encode(delimiter)) or "",
    el("MaxKeys", int(max)),
    q["encoding-type"] and el("EncodingType", "url") or "",
    el("IsTruncated", truncated and "true" or "false"),
    (truncated and delimiter ~= "") and el("NextMarker", encode(last:sub(2))) or "",
    list_entries(self, r, contents, prefixes, encode),
  }
  return xml_response(200, "ListBucketResult", parts)
end

-- The body of a PutObject/UploadPart as a commit source, or nil, code.
-- `cleanup` is a file to remove once the source has been consumed.
local function upload_source(self, r)
  local req, h = r.req, r.headers
  local chunked = is_aws_chunked(h)
  local declared = tonumber(h["x-amz-decoded-content-length"] or "")
  if req.body ~= nil or not req.body_file then
    local data = req.body or ""
    if chunked then
      local code
      data, code = dechunk_string(data, r.ctx)
      if not data then return nil, code end
      if declared and declared ~= #data then return nil, "IncompleteBody" end
    end
    return { data = data }
  end
  if not chunked then
    local n = file_size(req.body_file)
    if not n then return nil, "IncompleteBody" end
    if n > MAX_OBJECT_SIZE then return nil, "EntityTooLarge" end
    return { files = { req.body_file } }
  end
  local tmp = self:bucket_dir(r.bucket) .. "/data/chunked." .. unique_id()
  local n, code = dechunk_file(req.body_file, tmp, r.ctx)
  if not n then return nil, code end
  if declared and declared ~= n then os_remove(tmp) return nil, "IncompleteBody" end
  return { files = { tmp }, cleanup = tmp }
end

local function check_key(r)
  if #r.key > MAX_KEY_LENGTH then return nil, "KeyTooLongError", nil, { { "Key", r.key } } end
  return true
end

local function content_md5(h)
  local v = h["content-md5"]
  if v == nil then return true end
  local raw = base64_decode(v)
  if not raw or #raw ~= 16 then return nil end
  return v
end

function ops.PutObject(self, r)
  local ok, code, message, fields = check_key(r)
  if not ok then return nil, code, message, fields end
  if not self:_bucket(r.bucket) then return nil, "NoSuchBucket" end
  local md5 = content_md5(r.headers)
  if not md5 then return nil, "InvalidDigest" end
  local source
  source, code = upload_source(self, r)
  if not source then return nil, code end
  local meta
  meta, code, message = self:_commit(r.bucket, r.key, source, {
    ContentType = r.headers["content-type"], Metadata = user_metadata(r.headers),
    content_md5 = md5 ~= true and md5 or nil,
  })
  if source.cleanup then os_remove(source.cleanup) end
  if not meta then return nil, code, message end
  return { status = 200, headers = { ETag = meta.ETag } }
end

-- GetObject's Range: start, stop (inclusive) | nil (whole) | false (416)
local function parse_range(value, size)
  local a, b = (value or ""):match("^bytes=(%d*)-(%d*)$")
  if not a or (a == "" and b == "") then return nil end
  local first, last
  if a == "" then
    local n = tonumber(b)
    if n == 0 then return false end
    first, last = size - n, size - 1
    if first < 0 then first = 0 end
  else
    first = tonumber(a)
    last = b == "" and size - 1 or tonumber(b)
    if first >= size then return false end
    if last < first then return nil end
    if last > size - 1 then last = size - 1 end
  end
  if first >= size then return false end
  return first, last
end

local function get_or_head(self, r, head)
  if not self:_bucket(r.bucket) then return nil, "NoSuchBucket" end
  local meta = self:_meta(r.bucket, r.key)
  if not meta then return nil, "NoSuchKey", nil, { { "Key", r.key } } end
  local h = r.headers
  local etag = meta.ETag
  if h["if-match"] and h["if-match"] ~= "*" and h["if-match"]:gsub('"', "") ~= etag:gsub('"', "") then
    return nil, "PreconditionFailed", nil, { { "Condition", "If-Match" } }
  end
  if h["if-none-match"] and (h["if-none-match"] == "*" or h["if-none-match"]:gsub('"', "") == etag:gsub('"', "")) then
    return { status = 304, headers = { ETag = etag, ["Last-Modified"] = http_time(meta.LastModified) } }
  end
  local path = self:bucket_dir(r.bucket) .. "/" .. meta.file
  local headers = object_headers(meta)
  local first, last = parse_range(h.range, meta.Size)
  if first == false then
    return nil, "InvalidRange", nil, { { "RangeRequested", h.range }, { "ActualObjectSize", int(meta.Size) } }
  end
  if first then
    headers["Content-Range"] = format("bytes %s-%s/%s", int(first), int(last), int(meta.Size))
    headers["Content-Length"] = int(last - first + 1)
    if head then return { status = 206, headers = headers } end
    local f = io_open(path, "rb")
    if not f then return nil, "NoSuchKey", nil, { { "Key", r.key } } end
    f:seek("set", first)
    local data = f:read(last - first + 1) or ""
    f:close()
    return { status = 206, headers = headers, body = data }
  end
  if head then return { status = 200, headers = headers } end
  return { status = 200, headers = headers, body_file = path }
end

function ops.GetObject(self, r) return get_or_head(self, r, false) end
function ops.HeadObject(self, r) return get_or_head(self, r, true) end

-- Removes one object (absent is fine); false, code when the bucket is gone.
local function delete_object(self, bucket, key)
  local bdir = self:bucket_dir(bucket)
  local meta_path = self:_meta_path(bucket, key)
  local meta = read_json(meta_path)
  if not meta or meta.Key ~= key then return true end
  if not os_remove(meta_path) then return false, "InternalError" end
  core.fsync(bdir .. "/objects")
  if type(meta.file) == "string" then os_remove(bdir .. "/" .. meta.file) end
  return true
end

function ops.DeleteObject(self, r)
  if not self:_bucket(r.bucket) then return nil, "NoSuchBucket" end
  local ok, code = delete_object(self, r.bucket, r.key)
  if not ok then return nil, code end
  return no_content()
end

function ops.DeleteObjects(self, r)
  if not self:_bucket(r.bucket) then return nil, "NoSuchBucket" end
  local doc = parse_xml(body_text(r) or "")
  if not doc or doc.name ~= "Delete" then return nil, "MalformedXML" end
  local objects = xml_children(doc, "Object")
  if #objects == 0 or #objects > 1000 then return nil, "MalformedXML" end
  local quiet = xml_text(doc, "Quiet") == "true"
  local parts = {}
  for _, o in ipairs(objects) do
    local key = xml_text(o, "Key")
    if not key or key == "" then return nil, "MalformedXML" end
    local ok, code = delete_object(self, r.bucket, key)
    if not ok then
      parts[#parts + 1] = "<Error>" .. el("Key", key) .. el("Code", code) .. el("Message", ERRORS[code][2]) .. "</Error>"
    elseif not quiet then
      parts[#parts + 1] = "<Deleted>" .. el("Key", key) .. "</Deleted>"
    end
  end
  return xml_response(200, "DeleteResult", parts)
end

return { ops = ops, check_key = check_key, content_md5 = content_md5, upload_source = upload_source }
