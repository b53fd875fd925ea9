-- The S3 calls a Personalize workflow needs, written by hand (there is no
-- S3 model here): buckets, objects, policies, multipart uploads, plus
-- upload_file / download_file / list_all that stream files from and to
-- disk.
--
--   local s3 = personalize.client("s3", { region = "eu-west-1" })
--   local res, err = s3:put_object{ Bucket = "b", Key = "k", Body = "..." }
--   local res, err = s3:upload_file("data.csv", "b", "in/data.csv")
--
-- Parameters and results use S3's member names as boto3 does; every call
-- returns the result (with ResponseMetadata) or nil and an error object
-- (personalize.errors: code, message, status, request_id). Misuse of the
-- API (bad options) raises.
--
-- Addressing: virtual-hosted (https://BUCKET.s3.REGION.amazonaws.com, the
-- regional host in us-east-1 too) against AWS; path-style
-- (https://s3.REGION.amazonaws.com/BUCKET) with s3_force_path_style =
-- true, opts.s3.addressing_style or the profile's `s3 =` sub-section
-- `addressing_style = path`, for every custom endpoint, for bucket names
-- that are not DNS labels and, over https, for names with dots.
--
-- Sending: the send step of every client (personalize.request), with
-- S3's REST-XML answers and error documents as the protocol.
-- Signing: SigV4 as service "s3". X-Amz-Content-Sha256 is always sent:
-- the body's SHA-256 (a file region is hashed in C, never loaded), or
-- UNSIGNED-PAYLOAD with unsigned_payload = true. Keys are percent-encoded
-- once in the path, '/' kept, with no dot-segment folding.
local core = require "personalize.core"
local codec = require "personalize.codec"
local config = require "personalize.config"
local credentials = require "personalize.credentials"
local errors = require "personalize.errors"
local request = require "personalize.request"
local setup = require "personalize.setup"
local sigv4 = require "personalize.sigv4"
local transports = require "personalize.transport"
local xml = require "personalize.protocol.rest_xml"
local mark_result = require("personalize.result").mark

local setmetatable, getmetatable, type, tostring, tonumber, pairs, ipairs, error, pcall =
  setmetatable, getmetatable, type, tostring, tonumber, pairs, ipairs, error, pcall
local floor, max, ceil = math.floor, math.max, math.ceil
local concat, sort = table.concat, table.sort
local io_open, os_remove, os_rename = io.open, os.remove, os.rename
local sha256_hex, sha256_file, now = core.sha256_hex, core.sha256_file, core.now

local _M = {}

_M.MIB = 1024 * 1024
_M.MULTIPART_THRESHOLD = 8 * _M.MIB
_M.PART_SIZE = 8 * _M.MIB
_M.MAX_PARTS = 10000
_M.SERVICE = { id = "S3", key = "s3", env = "S3", prefix = "s3" }

local UNSIGNED = sigv4.UNSIGNED_PAYLOAD

local S3 = {}
S3.__index = S3

function S3.__tostring(self)
  return ("personalize.s3 (%s, %s, %s)"):format(self.region, self.endpoint,
    self.path_style and "path-style" or "virtual-hosted")
end

---------------------------------------------------------------------------
-- Encoding and addressing.

local function pct(c) return ("%%%02X"):format(c:byte()) end

-- A key in the path: every byte but the unreserved ones and '/' encoded.
function _M.encode_key(key)
  return (key:gsub("[^%w%-%._~/]", pct))
end

-- "a+b c" as S3 percent-decodes it (encoding-type=url, '+' is a space).
local function url_decode(s)
  if not s then return nil end
  return (s:gsub("+", " "):gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end))
end

-- Standard base64 with padding (Content-MD5).
_M.base64 = codec.base64_encode

-- Whether `bucket` can be a DNS label of the endpoint's host (botocore's
-- check_dns_name): 3-63 of [a-z0-9.-], starting and ending alphanumeric,
-- no "..", not an IPv4 address.
function _M.dns_compatible(bucket)
  if #bucket < 3 or #bucket > 63 then return false end
  if not bucket:match("^[a-z0-9][a-z0-9%.%-]*[a-z0-9]$") then return false end
  if bucket:find("..", 1, true) or bucket:find(".-", 1, true) or bucket:find("-.", 1, true) then
    return false
  end
  if bucket:match("^%d+%.%d+%.%d+%.%d+$") then return false end
  return true
end

-- The addressing style from the options or the profile's s3 sub-section.
local function addressing_style(cfg, opts)
  local v = opts.s3_force_path_style
  if v ~= nil then
    if type(v) ~= "boolean" then error("personalize.s3: s3_force_path_style must be a boolean", 4) end
    if v then return "path" end
  end
  local style = type(opts.s3) == "table" and opts.s3.addressing_style or nil
  if not style then
    local p = cfg:profile()
    style = p and type(p.s3) == "table" and p.s3.addressing_style or nil
  end
  if style ~= nil and style ~= "auto" and style ~= "path" and style ~= "virtual" then
    error(("personalize.s3: addressing_style must be auto, path or virtual, got %q"):format(tostring(style)), 4)
  end
  return style or "auto"
end

function _M.new(opts)
  opts = opts or {}
  if type(opts) ~= "table" then error("personalize.s3: options must be a table", 2) end
  config.check_options(opts, "personalize.s3")
  local cfg = config.new(opts)
  local region = setup.region(cfg, _M.SERVICE, "personalize.s3")

  -- The endpoint: configured (option, AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL,
  -- profile) or S3's regional host in the region's partition.
  local endpoint, where = cfg:configured_endpoint(_M.SERVICE)
  if not endpoint and where then error("personalize.s3: " .. where, 2) end
  local custom = endpoint ~= nil
  local err
  endpoint, err = cfg:endpoint(_M.SERVICE, region)
  if not endpoint then error("personalize.s3: " .. err, 2) end
  if not custom then
    local fips = cfg:flag("use_fips_endpoint", "AWS_USE_FIPS_ENDPOINT")
    local dual = cfg:flag("use_dualstack_endpoint", "AWS_USE_DUALSTACK_ENDPOINT")
    endpoint = ("https://s3%s%s.%s.%s"):format(fips and "-fips" or "", dual and ".dualstack" or "",
      region, config.dns_suffix(region))
  end
  local style = addressing_style(cfg, opts)

  local route = transports.resolve(endpoint, cfg, opts, "personalize.s3")
  local transport, local_dir = route.transport, route.local_dir
  endpoint, opts = route.endpoint, route.opts
  local retryer, mode, max_attempts = setup.retryer(cfg, transport, "personalize.s3")
  local url = assert(sigv4.parse_url(endpoint))

  return setmetatable({
    service = "s3",
    region = region,
    endpoint = endpoint,
    path_style = custom or local_dir ~= nil or style == "path",
    unsigned_payload = opts.unsigned_payload == true,
    max_attempts = max_attempts,
    retry_mode = mode,
    transport = transport,
    -- The curl transport reads and writes files itself; any other
    -- transport gets bodies as strings.
    streams_files = transport.streams_files or transport.name == "curl",
    _url = url,
    _base_path = setup.base_path(url),
    -- What the send step (personalize.request) reads.
    _credentials = transports.wrap_credentials(
      credentials.resolve(opts, cfg, opts.credentials_transport or transport), transport, cfg, region),
    _retry = retryer,
    _signing = { name = "s3", region = region, s3 = true },
    _debug = request.debug_sink(opts.debug),
  }, S3)
end

-- URL, Host header and canonical path of a request on `bucket` / `key`.
function S3:address(bucket, key)
  local u = self._url
  local host, path = sigv4.host_header(u), self._base_path
  local virtual = bucket and not self.path_style and _M.dns_compatible(bucket)
    and not (u.scheme == "https" and bucket:find(".", 1, true))
  if virtual then
    host = bucket .. "." .. host
  elseif bucket then
    path = path .. "/" .. sigv4.encode_component(bucket)
  end
  if key then
    path = path .. "/" .. _M.encode_key(key)
  elseif not bucket or virtual then
    path = path .. "/"
  end
  return u.scheme .. "://" .. host .. path, host, path
end

---------------------------------------------------------------------------
-- Parameters.

-- Member -> Lua type of every parameter the methods accept.
local TYPES = {
  Bucket = "string", Key = "string", Body = "string", File = "string",
  ContentType = "string", CacheControl = "string", ContentDisposition = "string",
  ContentEncoding = "string", ContentLanguage = "string", StorageClass = "string",
  ServerSideEncryption = "string", Metadata = "table", Range = "string",
  Prefix = "string", Delimiter = "string", MaxKeys = "integer", ContinuationToken = "string",
  StartAfter = "string", FetchOwner = "boolean", EncodingType = "string",
  Policy = "string|table", UploadId = "string", PartNumber = "integer",
  Offset = "integer", Length = "integer", MultipartUpload = "table",
  CreateBucketConfiguration = "table", KeyMarker = "string", UploadIdMarker = "string",
  MaxUploads = "integer", ExpectedBucketOwner = "string",
}

local function param_error(op_name, problems)
  local lines = { "Parameter validation failed:" }
  for _, p in ipairs(problems) do lines[#lines + 1] = p end
  return nil, errors.new { code = "ParamValidation", message = concat(lines, "\n"),
    operation = op_name, retryable = false }
end

-- Checks `params` for operation `op_name`: a table, with `required`
-- members, only `allowed` members (both lists), each of its type, and a
-- bucket name S3 could accept. Returns params, or nil, err.
local function check(op_name, params, required, allowed)
  if params == nil then params = {} end
  if type(params) ~= "table" then
    return param_error(op_name, { "parameters must be a table, got " .. type(params) })
  end
  local problems, known = {}, {}
  for _, name in ipairs(allowed) do known[name] = true end
  for _, name in ipairs(required) do
    known[name] = true
    if params[name] == nil then
      problems[#problems + 1] = ("Missing required parameter in input: %q"):format(name)
    end
  end
  local names = {}
  for k in pairs(params) do names[#names + 1] = tostring(k) end
  sort(names)
  for _, name in ipairs(names) do
    local v = params[name]
    local want = TYPES[name]
    if not known[name] then
      local all = {}
      for _, n in ipairs(required) do all[#all + 1] = n end
      for _, n in ipairs(allowed) do all[#all + 1] = n end
      problems[#problems + 1] = ('Unknown parameter in input: "%s", must be one of: %s')
        :format(name, concat(all, ", "))
    elseif want == "integer" then
      if type(v) ~= "number" or v % 1 ~= 0 or v < 0 then
        problems[#problems + 1] = ("Invalid type for parameter %s, value: %s, type: %s, valid types: <class 'int'>")
          :format(name, tostring(v), type(v))
      end
    elseif want == "string|table" then
      if type(v) ~= "string" and type(v) ~= "table" then
        problems[#problems + 1] = ("Invalid type for parameter %s, value: %s, type: %s, valid types: <class 'str'>, table")
          :format(name, tostring(v), type(v))
      end
    elseif type(v) ~= want then
      problems[#problems + 1] = ("Invalid type for parameter %s, value: %s, type: %s, valid types: %s")
        :format(name, tostring(v), type(v), want)
    end
  end
  local bucket = params.Bucket
  if type(bucket) == "string" and (not bucket:match("^[%w%.%-_]+$") or #bucket > 255) then
    problems[#problems + 1] = ('Invalid bucket name "%s": Bucket name must match the regex '
      .. '"^[a-zA-Z0-9.\\-_]{1,255}$"'):format(bucket)
  end
  if type(params.Key) == "string" and params.Key == "" then
    problems[#problems + 1] = "Invalid length for parameter Key, value: 0, valid min length: 1"
  end
  if #problems > 0 then return param_error(op_name, problems) end
  return params
end

-- Headers from header-bound members (PutObject, CreateMultipartUpload).
local HEADER_MEMBERS = {
  ContentType = "Content-Type", CacheControl = "Cache-Control",
  ContentDisposition = "Content-Disposition", ContentEncoding = "Content-Encoding",
  ContentLanguage = "Content-Language", StorageClass = "x-amz-storage-class",
  ServerSideEncryption = "x-amz-server-side-encryption", Range = "Range",
  ExpectedBucketOwner = "x-amz-expected-bucket-owner",
}

local function member_headers(params)
  local h = {}
  for member, header in pairs(HEADER_MEMBERS) do
    if params[member] ~= nil then h[header] = params[member] end
  end
  if params.Metadata then
    for k, v in pairs(params.Metadata) do h["x-amz-meta-" .. tostring(k)] = tostring(v) end
  end
  return h
end

-- "a=1&b" from a list of { name, value } pairs (nil values are left out;
-- `true` gives a bare name, like "?uploads").
local function query_string(pairs_list)
  local parts = {}
  for _, p in ipairs(pairs_list) do
    local name, value = p[1], p[2]
    if value == true then
      parts[#parts + 1] = name
    elseif value ~= nil then
      parts[#parts + 1] = name .. "=" .. sigv4.encode_component(tostring(value))
    end
  end
  if #parts == 0 then return nil end
  return concat(parts, "&")
end

---------------------------------------------------------------------------
-- Files.

local temp_counter = 0

-- A fresh name next to `path`, so that a rename onto `path` is atomic.
local function temp_name(path)
  temp_counter = temp_counter + 1
  return ("%s.%x%x.part"):format(path, floor(now() * 1e6) % 0x7fffffff, temp_counter)
end

local function file_size(path)
  local f, err = io_open(path, "rb")
  if not f then return nil, err end
  local size = f:seek("end")
  f:close()
  return size
end

-- A region of a file as a string (for transports that take strings only).
local function read_region(path, offset, length)
  local f, err = io_open(path, "rb")
  if not f then return nil, err end
  f:seek("set", offset or 0)
  local data = length and f:read(length) or f:read("*a")
  f:close()
  return data or ""
end

local function slurp(path)
  local f = io_open(path, "rb")
  if not f then return "" end
  local data = f:read("*a") or ""
  f:close()
  return data
end

local function local_error(op_name, message)
  return nil, errors.new { code = "LocalFileError", message = message, operation = op_name, retryable = false }
end

---------------------------------------------------------------------------
-- Sending.

local function metadata(status, headers)
  return {
    RequestId = xml.request_id(headers), HostId = headers["x-amz-id-2"],
    HTTPStatusCode = status, HTTPHeaders = headers,
  }
end

-- The send step's parse for S3 requests: the answer of a request whose
-- body went to a file (or must be written to one), S3's error documents,
-- and ResponseMetadata.
local function parse_response(r, status, headers, body)
  local target = r.target
  if body == nil and target then
    -- The body went to the file: an error document is read back.
    if status < 200 or status >= 300 then
      body = slurp(target)
      os_remove(target)
    end
  elseif target and status >= 200 and status < 300 then
    -- A transport without files: write what it returned.
    local ok, werr = core.write_file(target, body or "")
    if not ok then
      return nil, { code = "LocalFileError", message = werr, retryable = false }
    end
    body = nil
  end
  if status < 200 or status >= 300 then
    return nil, xml.parse_error(status, headers, body)
  end
  local res, fields = r.parse_result(status, headers, body)
  if res then res.ResponseMetadata = res.ResponseMetadata or metadata(status, headers) end
  return res, fields
end

-- Sends request `r` through the send step and parses the answer with
-- `parse(status, headers, body)` -> result | nil, error fields.
-- r: op, method, bucket, key, query (list of pairs), headers, body |
-- file (+ offset, length), response_file.
function S3:request(r, parse)
  r.headers = r.headers or {}
  r.url, r.host, r.path = self:address(r.bucket, r.key)
  r.query = query_string(r.query or {})
  if r.query then r.url = r.url .. "?" .. r.query end

  -- The payload and its hash: a file region is hashed in C.
  if r.file then
    if self.unsigned_payload then
      local size, err = file_size(r.file)
      if not size then return local_error(r.op, "cannot read " .. tostring(err)) end
    else
      local hash, err = sha256_file(r.file, r.offset, r.length)
      if not hash then return local_error(r.op, err) end
      r.payload_hash = hash
    end
    if self.streams_files then
      r.body_file, r.body_offset, r.body_length = r.file, r.offset, r.length
    else
      r.body = read_region(r.file, r.offset, r.length)
    end
  end
  if not r.payload_hash then
    r.payload_hash = self.unsigned_payload and UNSIGNED or sha256_hex(r.body or "")
  end
  r.target = r.response_file
  if r.target and not self.streams_files then r.response_file = nil end
  r.parse, r.parse_result = parse_response, parse

  local res, err = request.send(self, r)
  if not res then
    if r.target then os_remove(r.target) end
    return nil, err
  end
  return mark_result(res)
end

-- Parsers for the answers.

local function empty_result(status, headers)
  return { ResponseMetadata = metadata(status, headers) }
end

-- An XML document parsed, or a 200 carrying an <Error> turned into one.
local function xml_result(status, headers, body, build)
  local root, perr = xml.parse(body)
  if not root then
    return nil, { code = "ResponseParserError", status = status, request_id = xml.request_id(headers),
      message = "the response is not an XML document: " .. tostring(perr) }
  end
  if root.name == "Error" then
    local fields = xml.parse_error(status, headers, body)
    fields.retryable = errors.retryable(fields.code, fields.status)
      or fields.code == "InternalError" or fields.code == "SlowDown"
    return nil, fields
  end
  local res = build(root)
  res.ResponseMetadata = metadata(status, headers)
  return res
end

local function number(s) return s and tonumber(s) end
local function boolean(s) if s == nil then return nil end return s == "true" end

-- The object fields of GetObject / HeadObject headers.
local function object_headers(headers)
  local res = {
    ContentLength = number(headers["content-length"]),
    ContentType = headers["content-type"],
    ETag = headers["etag"],
    LastModified = headers["last-modified"],
    VersionId = headers["x-amz-version-id"],
    ContentEncoding = headers["content-encoding"],
    ContentDisposition = headers["content-disposition"],
    CacheControl = headers["cache-control"],
    ContentRange = headers["content-range"],
    StorageClass = headers["x-amz-storage-class"],
    ServerSideEncryption = headers["x-amz-server-side-encryption"],
    AcceptRanges = headers["accept-ranges"],
  }
  res.Metadata = codec.user_metadata(headers) or {}
  return res
end

---------------------------------------------------------------------------
-- Buckets.

-- res, err = s3:create_bucket{ Bucket, CreateBucketConfiguration = { LocationConstraint } }
-- LocationConstraint is the client's region unless given (none in us-east-1).
function S3:create_bucket(params)
  local p, err = check("CreateBucket", params, { "Bucket" }, { "CreateBucketConfiguration" })
  if not p then return nil, err end
  local conf = p.CreateBucketConfiguration or {}
  local location = conf.LocationConstraint
  if location == nil and self.region ~= "us-east-1" then location = self.region end
  local body
  if location then
    body = '<CreateBucketConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
      .. xml.element("LocationConstraint", location) .. "</CreateBucketConfiguration>"
  end
  return self:request({ op = "CreateBucket", method = "PUT", bucket = p.Bucket, body = body,
      headers = body and { ["Content-Type"] = "application/xml" } or {} },
    function(status, headers)
      local res = empty_result(status, headers)
      res.Location = headers.location
      return res
    end)
end

-- res, err = s3:head_bucket{ Bucket } -> { BucketRegion }; a missing
-- bucket gives err.code "NotFound" (404), a foreign one "Forbidden" (403).
function S3:head_bucket(params)
  local p, err = check("HeadBucket", params, { "Bucket" }, { "ExpectedBucketOwner" })
  if not p then return nil, err end
  return self:request({ op = "HeadBucket", method = "HEAD", bucket = p.Bucket, headers = member_headers(p) },
    function(status, headers)
      local res = empty_result(status, headers)
      res.BucketRegion = headers["x-amz-bucket-region"]
      return res
    end)
end

-- res, err = s3:list_buckets{} -> { Buckets = { { Name, CreationDate } }, Owner }
function S3:list_buckets(params)
  local p, err = check("ListBuckets", params, {}, {})
  if not p then return nil, err end
  return self:request({ op = "ListBuckets", method = "GET" }, function(status, headers, body)
    return xml_result(status, headers, body, function(root)
      local buckets = {}
      for _, b in ipairs(xml.children(xml.child(root, "Buckets"), "Bucket")) do
        buckets[#buckets + 1] = { Name = xml.text(b, "Name"), CreationDate = xml.text(b, "CreationDate") }
      end
      local owner = xml.child(root, "Owner")
      return { Buckets = buckets,
               Owner = owner and { ID = xml.text(owner, "ID"), DisplayName = xml.text(owner, "DisplayName") } }
    end)
  end)
end

-- res, err = s3:delete_bucket{ Bucket }
function S3:delete_bucket(params)
  local p, err = check("DeleteBucket", params, { "Bucket" }, { "ExpectedBucketOwner" })
  if not p then return nil, err end
  return self:request({ op = "DeleteBucket", method = "DELETE", bucket = p.Bucket, headers = member_headers(p) },
    empty_result)
end

-- res, err = s3:put_bucket_policy{ Bucket, Policy = json text or a table }
function S3:put_bucket_policy(params)
  local p, err = check("PutBucketPolicy", params, { "Bucket", "Policy" }, { "ExpectedBucketOwner" })
  if not p then return nil, err end
  local policy = p.Policy
  if type(policy) == "table" then policy = require("cjson").encode(policy) end
  local headers = member_headers(p)
  headers["Content-Type"] = "application/json"
  headers["Content-MD5"] = _M.base64(core.md5(policy))   -- S3 requires a checksum here
  return self:request({ op = "PutBucketPolicy", method = "PUT", bucket = p.Bucket,
      query = { { "policy", true } }, headers = headers, body = policy },
    empty_result)
end

-- res, err = s3:get_bucket_policy{ Bucket } -> { Policy = json text }
function S3:get_bucket_policy(params)
  local p, err = check("GetBucketPolicy", params, { "Bucket" }, { "ExpectedBucketOwner" })
  if not p then return nil, err end
  return self:request({ op = "GetBucketPolicy", method = "GET", bucket = p.Bucket,
      query = { { "policy", true } }, headers = member_headers(p) },
    function(status, headers, body)
      local res = empty_result(status, headers)
      res.Policy = body
      return res
    end)
end

---------------------------------------------------------------------------
-- Objects.

local PUT_MEMBERS = { "Body", "File", "ContentType", "CacheControl", "ContentDisposition",
  "ContentEncoding", "ContentLanguage", "StorageClass", "ServerSideEncryption", "Metadata",
  "ExpectedBucketOwner" }

-- res, err = s3:put_object{ Bucket, Key, Body = string | File = path, ContentType, Metadata, ... }
-- -> { ETag, VersionId }. A File is streamed from disk.
function S3:put_object(params)
  local p, err = check("PutObject", params, { "Bucket", "Key" }, PUT_MEMBERS)
  if not p then return nil, err end
  if p.Body and p.File then return param_error("PutObject", { "give Body or File, not both" }) end
  return self:request({ op = "PutObject", method = "PUT", bucket = p.Bucket, key = p.Key,
      headers = member_headers(p), body = p.File == nil and (p.Body or "") or nil, file = p.File },
    function(status, headers)
      local res = empty_result(status, headers)
      res.ETag, res.VersionId = headers.etag, headers["x-amz-version-id"]
      return res
    end)
end

-- res, err = s3:get_object{ Bucket, Key, File = path?, Range? }
-- -> { Body (unless File), ContentLength, ContentType, ETag, LastModified,
-- Metadata, ... }. With File the body is streamed to a temporary file
-- beside `path`, renamed onto it once complete: a failure leaves nothing.
function S3:get_object(params)
  local p, err = check("GetObject", params, { "Bucket", "Key" }, { "File", "Range", "ExpectedBucketOwner" })
  if not p then return nil, err end
  local temp = p.File and temp_name(p.File)
  local res
  res, err = self:request({ op = "GetObject", method = "GET", bucket = p.Bucket, key = p.Key,
      headers = member_headers(p), response_file = temp },
    function(status, headers, body)
      local r = object_headers(headers)
      r.Body = body
      r.ResponseMetadata = metadata(status, headers)
      return r
    end)
  if not res then return nil, err end
  if temp then
    local ok, rerr = os_rename(temp, p.File)
    if not ok then
      os_remove(temp)
      return local_error("GetObject", "cannot rename the download onto " .. p.File .. ": " .. tostring(rerr))
    end
  end
  return res
end

-- res, err = s3:head_object{ Bucket, Key } -> the fields of get_object
-- without Body; a missing key gives err.code "NotFound" (404).
function S3:head_object(params)
  local p, err = check("HeadObject", params, { "Bucket", "Key" }, { "Range", "ExpectedBucketOwner" })
  if not p then return nil, err end
  return self:request({ op = "HeadObject", method = "HEAD", bucket = p.Bucket, key = p.Key,
      headers = member_headers(p) },
    function(status, headers)
      local r = object_headers(headers)
      r.ResponseMetadata = metadata(status, headers)
      return r
    end)
end

-- res, err = s3:delete_object{ Bucket, Key } -> { DeleteMarker, VersionId }
function S3:delete_object(params)
  local p, err = check("DeleteObject", params, { "Bucket", "Key" }, { "ExpectedBucketOwner" })
  if not p then return nil, err end
  return self:request({ op = "DeleteObject", method = "DELETE", bucket = p.Bucket, key = p.Key,
      headers = member_headers(p) },
    function(status, headers)
      local res = empty_result(status, headers)
      res.DeleteMarker = boolean(headers["x-amz-delete-marker"])
      res.VersionId = headers["x-amz-version-id"]
      return res
    end)
end

-- res, err = s3:list_objects_v2{ Bucket, Prefix, Delimiter, MaxKeys,
-- ContinuationToken, StartAfter, FetchOwner, EncodingType }
-- -> { Contents = { { Key, Size, ETag, LastModified, StorageClass } },
-- CommonPrefixes = { { Prefix } }, IsTruncated, NextContinuationToken,
-- KeyCount, ... }. With EncodingType = "url" the keys are decoded back.
function S3:list_objects_v2(params)
  local p, err = check("ListObjectsV2", params, { "Bucket" }, { "Prefix", "Delimiter", "MaxKeys",
    "ContinuationToken", "StartAfter", "FetchOwner", "EncodingType", "ExpectedBucketOwner" })
  if not p then return nil, err end
  local decode = p.EncodingType == "url" and url_decode or function(s) return s end
  return self:request({ op = "ListObjectsV2", method = "GET", bucket = p.Bucket, headers = member_headers(p),
      query = { { "list-type", 2 }, { "prefix", p.Prefix }, { "delimiter", p.Delimiter },
                { "max-keys", p.MaxKeys }, { "continuation-token", p.ContinuationToken },
                { "start-after", p.StartAfter }, { "fetch-owner", p.FetchOwner and "true" or nil },
                { "encoding-type", p.EncodingType } } },
    function(status, headers, body)
      return xml_result(status, headers, body, function(root)
        local contents, prefixes = {}, {}
        for _, c in ipairs(xml.children(root, "Contents")) do
          local owner = xml.child(c, "Owner")
          contents[#contents + 1] = {
            Key = decode(xml.text(c, "Key")), Size = number(xml.text(c, "Size")),
            ETag = xml.text(c, "ETag"), LastModified = xml.text(c, "LastModified"),
            StorageClass = xml.text(c, "StorageClass"),
            Owner = owner and { ID = xml.text(owner, "ID"), DisplayName = xml.text(owner, "DisplayName") },
          }
        end
        for _, c in ipairs(xml.children(root, "CommonPrefixes")) do
          prefixes[#prefixes + 1] = { Prefix = decode(xml.text(c, "Prefix")) }
        end
        return {
          Name = xml.text(root, "Name"), Prefix = decode(xml.text(root, "Prefix")),
          Delimiter = decode(xml.text(root, "Delimiter")), StartAfter = decode(xml.text(root, "StartAfter")),
          MaxKeys = number(xml.text(root, "MaxKeys")), KeyCount = number(xml.text(root, "KeyCount")),
          IsTruncated = boolean(xml.text(root, "IsTruncated")) or false,
          ContinuationToken = xml.text(root, "ContinuationToken"),
          NextContinuationToken = xml.text(root, "NextContinuationToken"),
          EncodingType = xml.text(root, "EncodingType"),
          Contents = contents, CommonPrefixes = prefixes,
        }
      end)
    end)
end

---------------------------------------------------------------------------
-- Multipart uploads.

-- res, err = s3:create_multipart_upload{ Bucket, Key, ContentType, Metadata, ... }
-- -> { Bucket, Key, UploadId }
function S3:create_multipart_upload(params)
  local members = {}
  for _, m in ipairs(PUT_MEMBERS) do
    if m ~= "Body" and m ~= "File" then members[#members + 1] = m end
  end
  local p, err = check("CreateMultipartUpload", params, { "Bucket", "Key" }, members)
  if not p then return nil, err end
  return self:request({ op = "CreateMultipartUpload", method = "POST", bucket = p.Bucket, key = p.Key,
      query = { { "uploads", true } }, headers = member_headers(p) },
    function(status, headers, body)
      return xml_result(status, headers, body, function(root)
        return { Bucket = xml.text(root, "Bucket"), Key = xml.text(root, "Key"),
                 UploadId = xml.text(root, "UploadId") }
      end)
    end)
end

-- res, err = s3:upload_part{ Bucket, Key, UploadId, PartNumber,
-- Body = string | File = path, Offset, Length } -> { ETag }. A File region
-- (from Offset, Length bytes; default the whole file) is streamed.
function S3:upload_part(params)
  local p, err = check("UploadPart", params, { "Bucket", "Key", "UploadId", "PartNumber" },
    { "Body", "File", "Offset", "Length", "ExpectedBucketOwner" })
  if not p then return nil, err end
  if p.Body and p.File then return param_error("UploadPart", { "give Body or File, not both" }) end
  if (p.Offset or p.Length) and not p.File then
    return param_error("UploadPart", { "Offset and Length need File" })
  end
  if p.PartNumber < 1 or p.PartNumber > _M.MAX_PARTS then
    return param_error("UploadPart", { "PartNumber must be from 1 to 10000, got " .. tostring(p.PartNumber) })
  end
  return self:request({ op = "UploadPart", method = "PUT", bucket = p.Bucket, key = p.Key,
      query = { { "partNumber", ("%d"):format(p.PartNumber) }, { "uploadId", p.UploadId } },
      headers = member_headers(p), body = p.File == nil and (p.Body or "") or nil,
      file = p.File, offset = p.Offset, length = p.Length },
    function(status, headers)
      local res = empty_result(status, headers)
      res.ETag = headers.etag
      return res
    end)
end

-- res, err = s3:complete_multipart_upload{ Bucket, Key, UploadId,
-- MultipartUpload = { Parts = { { PartNumber, ETag } } } }
-- -> { Location, Bucket, Key, ETag }. An error S3 reports inside a 200
-- answer is returned as an error.
function S3:complete_multipart_upload(params)
  local p, err = check("CompleteMultipartUpload", params, { "Bucket", "Key", "UploadId", "MultipartUpload" },
    { "ExpectedBucketOwner" })
  if not p then return nil, err end
  local parts = {}
  for i, part in ipairs(p.MultipartUpload.Parts or {}) do
    if type(part) ~= "table" or type(part.PartNumber) ~= "number" or type(part.ETag) ~= "string" then
      return param_error("CompleteMultipartUpload",
        { ("MultipartUpload.Parts[%d] needs PartNumber (a number) and ETag (a string)"):format(i) })
    end
    parts[#parts + 1] = xml.element("Part", { { "ETag", part.ETag }, { "PartNumber", ("%d"):format(part.PartNumber) } })
  end
  local body = '<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
    .. concat(parts) .. "</CompleteMultipartUpload>"
  local headers = member_headers(p)
  headers["Content-Type"] = "application/xml"
  return self:request({ op = "CompleteMultipartUpload", method = "POST", bucket = p.Bucket, key = p.Key,
      query = { { "uploadId", p.UploadId } }, headers = headers, body = body },
    function(status, rheaders, rbody)
      return xml_result(status, rheaders, rbody, function(root)
        return { Location = xml.text(root, "Location"), Bucket = xml.text(root, "Bucket"),
                 Key = xml.text(root, "Key"), ETag = xml.text(root, "ETag"),
                 VersionId = rheaders["x-amz-version-id"] }
      end)
    end)
end

-- res, err = s3:abort_multipart_upload{ Bucket, Key, UploadId }
function S3:abort_multipart_upload(params)
  local p, err = check("AbortMultipartUpload", params, { "Bucket", "Key", "UploadId" }, { "ExpectedBucketOwner" })
  if not p then return nil, err end
  return self:request({ op = "AbortMultipartUpload", method = "DELETE", bucket = p.Bucket, key = p.Key,
      query = { { "uploadId", p.UploadId } }, headers = member_headers(p) },
    empty_result)
end

-- res, err = s3:list_multipart_uploads{ Bucket, Prefix, Delimiter, MaxUploads,
-- KeyMarker, UploadIdMarker } -> { Uploads = { { Key, UploadId, Initiated } },
-- IsTruncated, NextKeyMarker, NextUploadIdMarker, CommonPrefixes }
function S3:list_multipart_uploads(params)
  local p, err = check("ListMultipartUploads", params, { "Bucket" }, { "Prefix", "Delimiter", "MaxUploads",
    "KeyMarker", "UploadIdMarker", "ExpectedBucketOwner" })
  if not p then return nil, err end
  return self:request({ op = "ListMultipartUploads", method = "GET", bucket = p.Bucket, headers = member_headers(p),
      query = { { "uploads", true }, { "prefix", p.Prefix }, { "delimiter", p.Delimiter },
                { "max-uploads", p.MaxUploads }, { "key-marker", p.KeyMarker },
                { "upload-id-marker", p.UploadIdMarker } } },
    function(status, headers, body)
      return xml_result(status, headers, body, function(root)
        local uploads, prefixes = {}, {}
        for _, u in ipairs(xml.children(root, "Upload")) do
          uploads[#uploads + 1] = { Key = xml.text(u, "Key"), UploadId = xml.text(u, "UploadId"),
            Initiated = xml.text(u, "Initiated"), StorageClass = xml.text(u, "StorageClass") }
        end
        for _, c in ipairs(xml.children(root, "CommonPrefixes")) do
          prefixes[#prefixes + 1] = { Prefix = xml.text(c, "Prefix") }
        end
        return {
          Bucket = xml.text(root, "Bucket"), Prefix = xml.text(root, "Prefix"),
          KeyMarker = xml.text(root, "KeyMarker"), UploadIdMarker = xml.text(root, "UploadIdMarker"),
          NextKeyMarker = xml.text(root, "NextKeyMarker"),
          NextUploadIdMarker = xml.text(root, "NextUploadIdMarker"),
          MaxUploads = number(xml.text(root, "MaxUploads")),
          IsTruncated = boolean(xml.text(root, "IsTruncated")) or false,
          Uploads = uploads, CommonPrefixes = prefixes,
        }
      end)
    end)
end

---------------------------------------------------------------------------
-- High level.

local UPLOAD_OPTIONS = { multipart_threshold = true, part_size = true, progress = true, on_progress = true }

-- "512 B", "3.4 KiB", "12.0 MiB", "1.25 GiB".
local function bytes_text(n)
  if n < 1024 then return ("%d B"):format(n) end
  if n < _M.MIB then return ("%.1f KiB"):format(n / 1024) end
  if n < 1024 * _M.MIB then return ("%.1f MiB"):format(n / _M.MIB) end
  return ("%.2f GiB"):format(n / (1024 * _M.MIB))
end
_M.bytes_text = bytes_text

-- The progress line of an upload: "\rNAME [#####.....]  45%  3.2 MiB / 7.1 MiB  12.5 MiB/s".
function _M.progress_line(name, done, total, rate, width)
  width = width or 24
  local fraction = total > 0 and done / total or 1
  local filled = floor(fraction * width + 0.5)
  return ("%s [%s%s] %3d%%  %s / %s  %s/s"):format(name, ("#"):rep(filled), ("."):rep(width - filled),
    floor(fraction * 100 + 0.5), bytes_text(done), bytes_text(total), bytes_text(rate))
end

-- The reporter upload_file calls with the bytes sent so far: opts.on_progress
-- (function(sent, total, bytes_per_second)) and/or a live line on
-- opts.progress (true: stderr; a stream with :write; false: none; default:
-- stderr when it is a terminal, no on_progress is given and this is not
-- nginx).
local function progress_reporter(path, total, opts)
  local stream = opts.progress
  if stream == nil then
    -- never by default inside nginx, whose stderr is the error log or its terminal
    stream = opts.on_progress == nil and rawget(_G, "ngx") == nil and core.isatty(2)
  end
  if stream == true then stream = io.stderr end
  if stream ~= false and not ((type(stream) == "table" or type(stream) == "userdata") and stream.write) then
    error("personalize.s3: upload_file option progress must be a boolean or a stream with :write", 3)
  end
  local callback = opts.on_progress
  if callback ~= nil and type(callback) ~= "function" then
    error("personalize.s3: upload_file option on_progress must be a function(sent, total, bytes_per_second)", 3)
  end
  if not stream and not callback then return function() end end
  local name = path:match("([^/]+)$") or path
  local started, width, last = now(), 0, 0
  -- done nil: the last count again (a failure ends the line there).
  local closed = false
  return function(done, finished)
    if closed then return end
    closed = finished == true
    done = done or last
    last = done
    local elapsed = now() - started
    local rate = elapsed > 0 and done / elapsed or 0
    if callback then callback(done, total, rate) end
    if stream then
      local line = _M.progress_line(name, done, total, rate)
      stream:write("\r", line, width > #line and (" "):rep(width - #line) or "", finished and "\n" or "")
      width = #line
      if stream.flush then stream:flush() end
    end
  end
end

-- res, err = s3:upload_file(path, bucket, key, opts)
-- One PutObject below opts.multipart_threshold (default 8 MiB), else a
-- multipart upload in parts of opts.part_size (default 8 MiB, grown so that
-- no more than 10000 parts are needed), each streamed from disk. Any
-- failure aborts the multipart upload. opts.on_progress(sent, total,
-- bytes_per_second) is called after each part (once for a single PutObject);
-- opts.progress draws a live bar with bytes and rate on stderr, by default
-- when stderr is a terminal (see progress_reporter). Other opts members
-- (ContentType, Metadata, ...) go to PutObject / CreateMultipartUpload.
-- Returns { ETag, ... } or nil, err.
function S3:upload_file(path, bucket, key, opts)
  if type(path) ~= "string" then error("personalize.s3: upload_file(path, bucket, key): path must be a string", 2) end
  opts = opts or {}
  if type(opts) ~= "table" then error("personalize.s3: upload_file options must be a table", 2) end
  local threshold = opts.multipart_threshold or _M.MULTIPART_THRESHOLD
  local part_size = opts.part_size or _M.PART_SIZE
  if type(threshold) ~= "number" or threshold < 1 or type(part_size) ~= "number" or part_size < 1
      or part_size % 1 ~= 0 then
    error("personalize.s3: multipart_threshold and part_size must be positive whole numbers of bytes", 2)
  end
  local size, serr = file_size(path)
  if not size then return local_error("PutObject", "cannot read " .. tostring(serr)) end
  local extra = {}
  for k, v in pairs(opts) do
    if not UPLOAD_OPTIONS[k] then extra[k] = v end
  end
  local report = progress_reporter(path, size, opts)

  if size < threshold then
    extra.Bucket, extra.Key, extra.File = bucket, key, path
    report(0)
    local res, err = self:put_object(extra)
    report(res and size or nil, true)
    return res, err
  end

  part_size = max(part_size, ceil(size / _M.MAX_PARTS))
  extra.Bucket, extra.Key = bucket, key
  local created, err = self:create_multipart_upload(extra)
  if not created then return nil, err end
  local upload_id = created.UploadId

  local function abort()
    self:abort_multipart_upload { Bucket = bucket, Key = key, UploadId = upload_id }
  end

  local ok, res, perr = pcall(function()
    local parts = {}
    local offset, number_ = 0, 1
    report(0)
    while offset < size do
      local length = size - offset < part_size and size - offset or part_size
      local part, uerr = self:upload_part { Bucket = bucket, Key = key, UploadId = upload_id,
        PartNumber = number_, File = path, Offset = offset, Length = length }
      if not part then return nil, uerr end
      parts[number_] = { PartNumber = number_, ETag = part.ETag }
      offset, number_ = offset + length, number_ + 1
      report(offset, offset >= size)
    end
    return self:complete_multipart_upload { Bucket = bucket, Key = key, UploadId = upload_id,
      MultipartUpload = { Parts = parts } }
  end)
  if not ok then
    report(nil, true)
    abort()
    error(res, 0)
  end
  if not res then
    report(nil, true)
    abort()
    return nil, perr
  end
  res.UploadId = upload_id
  return res
end

-- res, err = s3:download_file(bucket, key, path): get_object streamed to
-- `path` through a temporary file; a failure leaves no file behind.
function S3:download_file(bucket, key, path)
  if type(path) ~= "string" then error("personalize.s3: download_file(bucket, key, path): path must be a string", 2) end
  return self:get_object { Bucket = bucket, Key = key, File = path }
end

-- for obj, err in s3:list_all(bucket, prefix) do ... end
-- Every object under `prefix` across pages (ListObjectsV2). A failure is
-- reported once as obj = false, err; the iteration then ends.
function S3:list_all(bucket, prefix, page_size)
  local page, i, token, done = nil, 0, nil, false
  return function()
    while true do
      if page then
        i = i + 1
        local obj = page.Contents[i]
        if obj then return obj end
        if not page.IsTruncated then return nil end
        token = page.NextContinuationToken
      end
      if done then return nil end
      local res, err = self:list_objects_v2 { Bucket = bucket, Prefix = prefix,
        ContinuationToken = token, MaxKeys = page_size }
      if not res then
        done = true
        page = nil
        return false, err
      end
      page, i = res, 0
      if res.IsTruncated and not res.NextContinuationToken then done = true end
    end
  end
end

-- s3.put_object{} (a dot instead of a colon) passes the parameters as the
-- client: every method says so instead of failing inside.
for name, f in pairs(S3) do
  if type(f) == "function" and not name:find("^__") then
    S3[name] = function(self, ...)
      if getmetatable(self) ~= S3 then
        error(("personalize: %s was called with a dot (s3.%s{...}): call it with a colon, "
          .. "s3:%s{ ... }"):format(name, name, name), 2)
      end
      return f(self, ...)
    end
  end
end

return _M
