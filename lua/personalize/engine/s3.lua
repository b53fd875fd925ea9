-- personalize-local's S3 subset: the buckets and objects a Personalize
-- workflow reads its CSV files from and writes exports to.
--
--   local s3 = require "personalize.engine.s3"
--   local store = s3.new { dir = DIR, region = "us-east-1",
--                          account_id = "123456789012", now = clock }
--   local res = store:handle(req, ctx)        -- one HTTP request, REST-XML
--   data, code, msg = store:read_object(bucket, key)
--   path, code, msg = store:object_path(bucket, key)
--   meta, code, msg = store:stat_object(bucket, key)
--   keys, code, msg = store:list_keys(bucket, prefix)
--   ok, code, msg   = store:write_object(bucket, key, data, content_type)
--   ok, code, msg   = store:create_bucket(bucket) / store:put_policy(bucket, json)
--   ok, reason      = store:allows(bucket, principal, action, key [, context])
--   s3.xml_escape(text)                   -- text for an XML element (the STS subset's too)
--
-- handle() never raises: every failure is an S3 XML error document with
-- S3's status (no body for HEAD). Keys are the bytes of the path after
-- one percent-decoding; buckets come from the path or from a virtual host
-- (`<bucket>.s3.<anything>`, `<bucket>.localhost`).
--
-- Layout of DIR (every file replaced with core.write_file or
-- core.copy_files: temp + fsync + rename, so a kill -9 leaves either the
-- old or the new state):
--   buckets/<bucket>/bucket.json           existence, region, creation date
--   buckets/<bucket>/policy.json           the bucket policy, as sent
--   buckets/<bucket>/objects/<name>.json   one object's metadata: Key, Size,
--                                          ETag, ContentType, LastModified,
--                                          Metadata and the data file
--   buckets/<bucket>/data/<name>.<id>      its bytes, never rewritten in place
--   buckets/<bucket>/uploads/<id>/         a multipart upload: upload.json,
--                                          <part>.json + <part>.<id> per part
-- <name> is "k" and the key percent-encoded, or "h" and its SHA-256 when
-- that would be too long for a file name. An object's metadata file is its
-- commit point: data is written first under a fresh name, then the
-- metadata pointing at it, then the previous data file is removed.
local core = require "personalize.core"
local codec = require "personalize.codec"
local cjson = require("personalize.engine.store").json

local type, tostring, tonumber, pairs, ipairs = type, tostring, tonumber, pairs, ipairs
local setmetatable, pcall, error, next = setmetatable, pcall, error, next
local concat, sort = table.concat, table.sort
local floor = math.floor
local format, byte, char = string.format, string.byte, string.char
local io_open, os_date, os_remove = io.open, os.date, os.remove

local xml = require "personalize.xml" -- expat is loaded with the first XML request body

local _M = { _VERSION = require "personalize.version" }

local NS = "http://s3.amazonaws.com/doc/2006-03-01/"
local MIB = 1048576
local MIN_PART_SIZE = 5 * MIB -- every part but the last (S3 limits)
local MAX_OBJECT_SIZE = 5 * 1024 * MIB
local MAX_KEY_LENGTH = 1024
local MAX_PARTS = 10000
local MAX_KEYS = 1000
local MAX_XML_BODY = 2 * MIB
local MAX_POLICY = 20 * 1024
local CHUNK = MIB

_M.MIN_PART_SIZE = MIN_PART_SIZE

-- S3's error codes, their statuses and default messages.
local ERRORS = {
  AccessDenied = { 403, "Access Denied" },
  BadDigest = { 400, "The Content-MD5 you specified did not match what we received." },
  BucketAlreadyOwnedByYou = { 409,
    "Your previous request to create the named bucket succeeded and you already own it." },
  BucketNotEmpty = { 409, "The bucket you tried to delete is not empty" },
  EntityTooLarge = { 400, "Your proposed upload exceeds the maximum allowed size" },
  EntityTooSmall = { 400, "Your proposed upload is smaller than the minimum allowed size" },
  IllegalLocationConstraintException = { 400,
    "The unspecified location constraint is incompatible for the region specific endpoint this request was sent to." },
  IncompleteBody = { 400, "You did not provide the number of bytes specified by the Content-Length HTTP header." },
  InternalError = { 500, "We encountered an internal error. Please try again." },
  InvalidArgument = { 400, "Invalid Argument" },
  InvalidBucketName = { 400, "The specified bucket is not valid." },
  InvalidDigest = { 400, "The Content-MD5 you specified is not valid." },
  InvalidLocationConstraint = { 400, "The specified location-constraint is not valid" },
  InvalidPart = { 400, "One or more of the specified parts could not be found.  The part may not have been "
    .. "uploaded, or the specified entity tag may not match the part's entity tag." },
  InvalidPartOrder = { 400, "The list of parts was not in ascending order. Parts must be ordered by part number." },
  InvalidRange = { 416, "The requested range is not satisfiable" },
  InvalidRequest = { 400, "Invalid Request" },
  KeyTooLongError = { 400, "Your key is too long" },
  MalformedPolicy = { 400, "Policies must be valid JSON and the first byte must be '{'" },
  MalformedXML = { 400,
    "The XML you provided was not well-formed or did not validate against our published schema" },
  MethodNotAllowed = { 405, "The specified method is not allowed against this resource." },
  NoSuchBucket = { 404, "The specified bucket does not exist" },
  NoSuchBucketPolicy = { 404, "The bucket policy does not exist" },
  NoSuchKey = { 404, "The specified key does not exist." },
  NoSuchUpload = { 404, "The specified upload does not exist. The upload ID may be invalid, "
    .. "or the upload may have been aborted or completed." },
  NotImplemented = { 501, "A header you provided implies functionality that is not implemented" },
  PreconditionFailed = { 412, "At least one of the pre-conditions you specified did not hold" },
  SignatureDoesNotMatch = { 403, "The request signature we calculated does not match the signature you "
    .. "provided. Check your key and signing method." },
}
_M.ERRORS = ERRORS

-- Query parameters that select an operation rather than qualify one.
local SUBRESOURCES = {
  accelerate = true, acl = true, analytics = true, attributes = true, cors = true, delete = true,
  encryption = true, ["intelligent-tiering"] = true, inventory = true, ["legal-hold"] = true,
  lifecycle = true, location = true, logging = true, metrics = true, notification = true,
  ["object-lock"] = true, ownershipControls = true, partNumber = true, policy = true,
  policyStatus = true, publicAccessBlock = true, replication = true, requestPayment = true,
  restore = true, retention = true, select = true, tagging = true, torrent = true,
  uploadId = true, uploads = true, versioning = true, versions = true, website = true,
}

---------------------------------------------------------------------------
-- Encodings

local function percent_decode(s)
  return (s:gsub("%%(%x%x)", function(h) return char(tonumber(h, 16)) end))
end

-- encoding-type=url in listings: everything but unreserved bytes and '/'
local function url_encode(s)
  return (s:gsub("[^%w%-_%.~/]", function(c) return format("%%%02X", byte(c)) end))
end

local XML_ESCAPES = { ["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;", ['"'] = "&quot;", ["'"] = "&apos;" }

local function xml_escape(s)
  return (tostring(s):gsub("[&<>\"']", XML_ESCAPES))
end
_M.xml_escape = xml_escape

local base64_encode = codec.base64_encode
_M.base64_encode = base64_encode

-- nil when `s` is not canonical base64
local base64_decode = codec.base64_decode
_M.base64_decode = base64_decode

local function hex_to_bytes(h)
  return (h:gsub("%x%x", function(x) return char(tonumber(x, 16)) end))
end

local function int(n)
  return format("%.0f", n)
end

local function iso_time(t)
  local s = floor(t)
  return os_date("!%Y-%m-%dT%H:%M:%S", s) .. format(".%03dZ", floor((t - s) * 1000))
end

local function http_time(t)
  return os_date("!%a, %d %b %Y %H:%M:%S GMT", floor(t))
end

---------------------------------------------------------------------------
-- Files

local function read_file(path)
  local f = io_open(path, "rb")
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  return s
end

local function file_size(path)
  local f = io_open(path, "rb")
  if not f then return nil end
  local n = f:seek("end")
  f:close()
  return n
end

local function read_json(path)
  local text = read_file(path)
  if not text then return nil end
  local ok, value = pcall(cjson.decode, text)
  if not ok or type(value) ~= "table" then return nil end
  return value
end

local function write_json(path, value)
  return core.write_file(path, cjson.encode(value))
end

-- A name no other call, worker or process picks (urandom, else a hash).
local unique_count = 0
local function unique_id()
  local f = io_open("/dev/urandom", "rb")
  local raw = f and f:read(16)
  if f then f:close() end
  if not raw or #raw ~= 16 then
    unique_count = unique_count + 1
    raw = core.sha256(tostring({}) .. core.time() .. core.now() .. unique_count)
  end
  return core.hex(raw:sub(1, 16))
end

-- The file-name form of a key (see the layout above).
local function key_name(key)
  local enc = key:gsub("[^%w%-_]", function(c) return format("%%%02X", byte(c)) end)
  if #enc <= 200 then return "k" .. enc end
  return "h" .. core.sha256_hex(key)
end

---------------------------------------------------------------------------
-- XML

-- The document element of an XML request body, or nil and why. S3's
-- request bodies have no document type: a DOCTYPE (and with it every
-- entity declaration, the way to an entity-expansion bomb) is refused
-- before anything is expanded, as is anything expat cannot parse.
local function parse_xml(text)
  return xml.parse(text, { no_doctype = true })
end

local function xml_children(node, name)
  local out = {}
  for _, c in ipairs(node.children) do
    if c.name == name then out[#out + 1] = c end
  end
  return out
end

local function xml_text(node, name)
  local c = xml_children(node, name)[1]
  return c and c.text
end

local function el(name, value)
  return "<" .. name .. ">" .. xml_escape(value) .. "</" .. name .. ">"
end

local function xml_document(root, parts)
  return '<?xml version="1.0" encoding="UTF-8"?>\n<' .. root .. ' xmlns="' .. NS .. '">'
    .. concat(parts) .. "</" .. root .. ">"
end

---------------------------------------------------------------------------
-- Bucket policies (IAM policy language, the parts a bucket policy uses)

local function as_list(v)
  if v == nil then return {} end
  if type(v) == "table" and (v[1] ~= nil or next(v) == nil) then return v end
  return { v }
end

-- IAM wildcards: '*' any run of characters, '?' one character.
local function glob_match(pattern, s, ignore_case)
  if type(pattern) ~= "string" then return false end
  if ignore_case then pattern, s = pattern:lower(), s:lower() end
  local lp = pattern:gsub("[%^%$%(%)%%%.%[%]%+%-]", "%%%0"):gsub("%*", ".*"):gsub("%?", ".")
  return s:match("^" .. lp .. "$") ~= nil
end
_M.glob_match = glob_match

local function any_glob(patterns, s, ignore_case)
  for _, p in ipairs(as_list(patterns)) do
    if glob_match(p, s, ignore_case) then return true end
  end
  return false
end

local function principal_matches(p, service)
  if p == "*" then return true end
  if type(p) ~= "table" then return false end
  for kind, values in pairs(p) do
    for _, v in ipairs(as_list(values)) do
      if v == "*" and kind == "AWS" then return true end
      if kind == "Service" and (v == service or v == "*") then return true end
    end
  end
  return false
end

local CONDITION_TESTS = {
  stringequals = function(v, x) return v == x end,
  stringequalsignorecase = function(v, x) return v:lower() == x:lower() end,
  stringlike = function(v, x) return glob_match(v, x) end,
  arnequals = function(v, x) return v == x end,
  arnlike = function(v, x) return glob_match(v, x) end,
}

-- Condition blocks: every operator and key must hold; a key the request
-- does not carry fails the test, as IAM does (no ...IfExists support).
local function conditions_hold(condition, context)
  if condition == nil then return true end
  if type(condition) ~= "table" then return false end
  for op, block in pairs(condition) do
    local name = tostring(op):lower()
    local negate = name:find("not", 1, true) ~= nil
    local test = CONDITION_TESTS[(name:gsub("not", ""))]
    if not test or type(block) ~= "table" then return false end
    for ckey, values in pairs(block) do
      local actual = context[tostring(ckey):lower()]
      if actual == nil then return false end
      local hit = false
      for _, v in ipairs(as_list(values)) do
        if type(v) == "string" and test(v, tostring(actual)) then hit = true end
      end
      if hit == negate then return false end
    end
  end
  return true
end

local function statement_applies(st, service, action, arn, context)
  if st.Principal ~= nil then
    if not principal_matches(st.Principal, service) then return false end
  elseif st.NotPrincipal ~= nil then
    if principal_matches(st.NotPrincipal, service) then return false end
  else
    return false
  end
  if st.Action ~= nil then
    if not any_glob(st.Action, action, true) then return false end
  elseif st.NotAction == nil or any_glob(st.NotAction, action, true) then
    return false
  end
  if st.Resource ~= nil then
    if not any_glob(st.Resource, arn) then return false end
  elseif st.NotResource == nil or any_glob(st.NotResource, arn) then
    return false
  end
  return conditions_hold(st.Condition, context)
end

-- nil, message when `text` is not a policy S3 would accept for `bucket`.
local function check_policy(text, bucket)
  if #text > MAX_POLICY then return nil, "Policy exceeds the maximum allowed document size." end
  if not text:match("^%s*{") then return nil end
  local ok, doc = pcall(cjson.decode, text)
  if not ok or type(doc) ~= "table" then return nil end
  if doc.Version ~= nil and doc.Version ~= "2012-10-17" and doc.Version ~= "2008-10-17" then
    return nil, "The policy must contain a valid version string"
  end
  if doc.Statement == nil then return nil, "Missing required field Statement" end
  local statements = as_list(doc.Statement)
  if #statements == 0 then return nil, "Could not parse the policy: Statement is empty!" end
  for _, st in ipairs(statements) do
    if type(st) ~= "table" then return nil, "Statement is not an object" end
    if st.Effect ~= "Allow" and st.Effect ~= "Deny" then
      return nil, "Invalid effect: " .. tostring(st.Effect)
    end
    local principal = st.Principal or st.NotPrincipal
    if principal == nil then return nil, "Missing required field Principal" end
    if principal ~= "*" and type(principal) ~= "table" then return nil, "Invalid principal in policy" end
    local actions = st.Action or st.NotAction
    if actions == nil then return nil, "Missing required field Action" end
    for _, a in ipairs(as_list(actions)) do
      if type(a) ~= "string" or not (a == "*" or a:lower():match("^s3:[%w%*%?]+$")) then
        return nil, "Policy has invalid action"
      end
    end
    local resources = st.Resource or st.NotResource
    if resources == nil then return nil, "Missing required field Resource" end
    for _, r in ipairs(as_list(resources)) do
      local named = type(r) == "string" and r:match("^arn:aws:s3:::([^/]*)")
      if not named or not glob_match(named, bucket) then return nil, "Policy has invalid resource" end
    end
  end
  return doc
end

---------------------------------------------------------------------------
-- Bucket names (S3's general purpose bucket naming rules)

local function bucket_name_error(name)
  if #name < 3 or #name > 63 then return "Bucket name must be between 3 and 63 characters long" end
  if not name:match("^[a-z0-9][a-z0-9%.%-]*[a-z0-9]$") then
    return "Bucket name must use lowercase letters, digits, dots and hyphens, "
      .. "and begin and end with a letter or digit"
  end
  if name:find("..", 1, true) then return "Bucket name must not contain two adjacent periods" end
  if name:match("^%d+%.%d+%.%d+%.%d+$") then return "Bucket name must not be formatted as an IP address" end
  for _, p in ipairs { "xn--", "sthree-", "amzn-s3-demo-" } do
    if name:sub(1, #p) == p then return "Bucket name must not start with " .. p end
  end
  for _, s in ipairs { "-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3" } do
    if name:sub(-#s) == s then return "Bucket name must not end with " .. s end
  end
  return nil
end
_M.bucket_name_error = bucket_name_error

---------------------------------------------------------------------------
-- The store

local Store = {}
Store.__index = Store

function _M.new(opts)
  if type(opts) ~= "table" or type(opts.dir) ~= "string" then
    error("s3.new: expected { dir = path, ... }", 2)
  end
  local ok, err = core.mkdir(opts.dir .. "/buckets")
  if not ok then return nil, err end
  return setmetatable({
    dir = opts.dir,
    region = opts.region or "us-east-1",
    account_id = opts.account_id or "123456789012",
    now = opts.now or core.time,
  }, Store)
end

function Store:bucket_dir(bucket)
  return self.dir .. "/buckets/" .. bucket
end

-- The bucket's record, or nil, "NoSuchBucket", message.
function Store:_bucket(bucket)
  if type(bucket) ~= "string" or bucket == "" or bucket:find("[/%z]") or bucket:sub(1, 1) == "." then
    return nil, "NoSuchBucket", ERRORS.NoSuchBucket[2]
  end
  local rec = read_json(self:bucket_dir(bucket) .. "/bucket.json")
  if not rec then return nil, "NoSuchBucket", ERRORS.NoSuchBucket[2] end
  return rec
end

function Store:_meta_path(bucket, key)
  return self:bucket_dir(bucket) .. "/objects/" .. key_name(key) .. ".json"
end

function Store:_meta(bucket, key)
  local meta = read_json(self:_meta_path(bucket, key))
  if not meta or meta.Key ~= key then return nil, "NoSuchKey", ERRORS.NoSuchKey[2] end
  return meta
end

-- Every key of a bucket, sorted bytewise (UTF-8 binary order).
function Store:_keys(bucket)
  local dir = self:bucket_dir(bucket) .. "/objects"
  local names = core.listdir(dir) or {}
  local keys = {}
  for _, name in ipairs(names) do
    local base = name:match("^(.*)%.json$")
    if base then
      local key
      if base:sub(1, 1) == "k" then
        key = percent_decode(base:sub(2))
      else
        local meta = read_json(dir .. "/" .. name)
        key = meta and meta.Key
      end
      if key then keys[#keys + 1] = key end
    end
  end
  sort(keys)
  return keys
end

-- Commits an object: `source` is { data = string } or { files = { paths } }
-- (concatenated); `opts` gives ContentType, Metadata, etag (else the MD5),
-- content_md5 (base64, checked). Returns the metadata or nil, code, msg.
function Store:_commit(bucket, key, source, opts)
  local bdir = self:bucket_dir(bucket)
  local name = key_name(key)
  local rel = "data/" .. name .. "." .. unique_id()
  local path = bdir .. "/" .. rel
  local size, md5, ok, err
  if source.data then
    size, md5 = #source.data, core.md5_hex(source.data)
    if size > MAX_OBJECT_SIZE then return nil, "EntityTooLarge" end
    if opts.content_md5 and opts.content_md5 ~= base64_encode(hex_to_bytes(md5)) then
      return nil, "BadDigest"
    end
    ok, err = core.write_file(path, source.data)
  else
    size, md5 = core.copy_files(path, source.files)
    ok, err = size ~= nil, md5
    if ok and opts.content_md5 and opts.content_md5 ~= base64_encode(hex_to_bytes(md5)) then
      os_remove(path)
      return nil, "BadDigest"
    end
  end
  if not ok then return nil, "InternalError", err end
  local meta = {
    Key = key, Size = size, ETag = opts.etag or ('"' .. md5 .. '"'),
    ContentType = opts.ContentType or "binary/octet-stream",
    LastModified = self.now(), Metadata = opts.Metadata, file = rel,
  }
  local meta_path = bdir .. "/objects/" .. name .. ".json"
  local old = read_json(meta_path)
  ok, err = write_json(meta_path, meta)
  if not ok then
    os_remove(path)
    return nil, "InternalError", err
  end
  if old and type(old.file) == "string" and old.file ~= rel then os_remove(bdir .. "/" .. old.file) end
  return meta
end

---------------------------------------------------------------------------
-- Helpers for the engine's jobs (nil, code, message on failure)

function Store:create_bucket(bucket)
  local bad = bucket_name_error(bucket)
  if bad then return nil, "InvalidBucketName", bad end
  if self:_bucket(bucket) then
    return nil, "BucketAlreadyOwnedByYou", ERRORS.BucketAlreadyOwnedByYou[2]
  end
  local bdir = self:bucket_dir(bucket)
  core.remove_tree(bdir) -- the remains of a delete cut short
  for _, sub in ipairs { "objects", "data", "uploads" } do
    local ok, err = core.mkdir(bdir .. "/" .. sub)
    if not ok then return nil, "InternalError", err end
  end
  core.fsync(self.dir .. "/buckets")
  local ok, err = write_json(bdir .. "/bucket.json",
    { Name = bucket, CreationDate = self.now(), Region = self.region })
  if not ok then return nil, "InternalError", err end
  return true
end

function Store:put_policy(bucket, text)
  local _, code, message = self:_bucket(bucket)
  if code then return nil, code, message end
  local doc, why = check_policy(text, bucket)
  if not doc then return nil, "MalformedPolicy", why or ERRORS.MalformedPolicy[2] end
  local ok, err = core.write_file(self:bucket_dir(bucket) .. "/policy.json", text)
  if not ok then return nil, "InternalError", err end
  return true
end

function Store:stat_object(bucket, key)
  local _, code, message = self:_bucket(bucket)
  if code then return nil, code, message end
  return self:_meta(bucket, key)
end

function Store:object_path(bucket, key)
  local meta, code, message = self:stat_object(bucket, key)
  if not meta then return nil, code, message end
  return self:bucket_dir(bucket) .. "/" .. meta.file
end

function Store:read_object(bucket, key)
  local path, code, message = self:object_path(bucket, key)
  if not path then return nil, code, message end
  local data = read_file(path)
  if not data then return nil, "NoSuchKey", ERRORS.NoSuchKey[2] end
  return data
end

function Store:list_keys(bucket, prefix)
  local _, code, message = self:_bucket(bucket)
  if code then return nil, code, message end
  prefix = prefix or ""
  local out = {}
  for _, key in ipairs(self:_keys(bucket)) do
    if key:sub(1, #prefix) == prefix then out[#out + 1] = key end
  end
  return out
end

function Store:write_object(bucket, key, data, content_type)
  if type(key) ~= "string" or key == "" or #key > MAX_KEY_LENGTH then
    return nil, "KeyTooLongError", "the key must have 1 to 1024 bytes"
  end
  local _, code, message = self:_bucket(bucket)
  if code then return nil, code, message end
  local meta
  meta, code, message = self:_commit(bucket, key, { data = data }, { ContentType = content_type })
  if not meta then return nil, code, message or ERRORS[code][2] end
  return true
end

-- Bucket-level actions are checked against the bucket's ARN, the others
-- against arn:aws:s3:::bucket/key. `context` holds extra condition keys
-- (e.g. ["aws:SourceArn"]); aws:SourceAccount is the store's account.
function Store:allows(bucket, principal, action, key, context)
  if not self:_bucket(bucket) then return false, "bucket " .. tostring(bucket) .. " does not exist" end
  local text = read_file(self:bucket_dir(bucket) .. "/policy.json")
  if not text then return false, "bucket " .. bucket .. " has no bucket policy" end
  local ok, doc = pcall(cjson.decode, text)
  if not ok or type(doc) ~= "table" then return false, "the bucket policy of " .. bucket .. " is not valid JSON" end
  local arn = "arn:aws:s3:::" .. bucket .. (key and ("/" .. key) or "")
  local ctx = { ["aws:sourceaccount"] = self.account_id }
  for k, v in pairs(context or {}) do ctx[tostring(k):lower()] = v end
  local allowed
  for i, st in ipairs(as_list(doc.Statement)) do
    if type(st) == "table" and statement_applies(st, principal, action, arn, ctx) then
      if st.Effect == "Deny" then
        return false, format("%s is denied %s on %s by statement %s of the bucket policy of %s",
          principal, action, arn, st.Sid and ('"' .. tostring(st.Sid) .. '"') or ("#" .. i), bucket)
      elseif st.Effect == "Allow" then
        allowed = true
      end
    end
  end
  if allowed then return true end
  return false, format("the bucket policy of %s does not allow %s to perform %s on %s",
    bucket, principal, action, arn)
end

---------------------------------------------------------------------------
-- Requests

-- Virtual-hosted style: "<bucket>.s3.<anything>", "<bucket>.s3-<region>...",
-- "<bucket>.localhost"; nil for path style.
local function host_bucket(host)
  if type(host) ~= "string" then return nil end
  host = host:lower():gsub(":%d+$", "")
  local b = host:match("^(.-)%.s3[%.%-]") or host:match("^(.+)%.localhost$")
  if b and b ~= "" then return b end
  return nil
end

local function parse_query(raw)
  local q, names = {}, {}
  if not raw or raw == "" then return q, names end
  for pair in raw:gmatch("[^&]+") do
    local name, value = pair:match("^([^=]*)=(.*)$")
    name = percent_decode(((name or pair):gsub("%+", " ")))
    value = value and percent_decode((value:gsub("%+", " "))) or ""
    if q[name] == nil then
      q[name] = value
      names[#names + 1] = name
    end
  end
  return q, names
end

local function capitalise(s)
  return (s:gsub("^%l", string.upper):gsub("%-(%l)", string.upper))
end

-- The body as a string (XML bodies; small), or nil.
local function body_text(r)
  local req = r.req
  if req.body then return req.body end
  if req.body_file then
    local n = file_size(req.body_file)
    if n and n > MAX_XML_BODY then return nil end
    return read_file(req.body_file)
  end
  return ""
end

local function is_aws_chunked(h)
  local sha = h["x-amz-content-sha256"] or ""
  return sha:sub(1, 10) == "STREAMING-" or (h["content-encoding"] or ""):find("aws-chunked", 1, true) ~= nil
end

-- aws-chunked bodies: "<hex>[;chunk-signature=<sig>]\r\n<bytes>\r\n" ...
-- "0[;chunk-signature=<sig>]\r\n" [trailer lines "name:value\r\n"] "\r\n".
-- A reader gives line() (without its CRLF; nil past the end or for a
-- line longer than MAX_LINE), copy(n, emit) (hands on n bytes, returns
-- their SHA-256 hex, or nil when the body ends first) and done().
local MAX_LINE = 8192
local EMPTY_SHA256 = codec.EMPTY_SHA256

local function string_reader(s)
  local pos = 1
  return {
    line = function()
      local e = s:find("\r\n", pos, true)
      if not e or e - pos > MAX_LINE then return nil end
      local l = s:sub(pos, e - 1)
      pos = e + 2
      return l
    end,
    copy = function(n, emit)
      if pos + n - 1 > #s then return nil end
      local d = s:sub(pos, pos + n - 1)
      pos = pos + n
      emit(d)
      return core.sha256_hex(d)
    end,
    done = function() return pos > #s end,
  }
end

local function file_reader(path, f)
  local size = f:seek("end")
  f:seek("set", 0)
  local buf, base = "", 0          -- buf holds the file's bytes from offset base
  local function fill()
    local more = f:read(4096)
    if not more then return false end
    buf = buf .. more
    return true
  end
  return {
    line = function()
      while true do
        local e = buf:find("\r\n", 1, true)
        if e then
          local l = buf:sub(1, e - 1)
          buf, base = buf:sub(e + 2), base + e + 1
          return l
        end
        if #buf > MAX_LINE or not fill() then return nil end
      end
    end,
    copy = function(n, emit)
      if base + n > size then return nil end
      local hash = core.sha256_file(path, base, n)
      local left = n
      local take = buf:sub(1, left)
      buf, left = buf:sub(#take + 1), left - #take
      if #take > 0 then emit(take) end
      while left > 0 do
        local piece = f:read(left < CHUNK and left or CHUNK)
        if not piece or piece == "" then return nil end
        emit(piece)
        left = left - #piece
      end
      base = base + n
      return hash
    end,
    done = function() return base >= size end,
  }
end

-- Decodes an aws-chunked body from `src`, handing the data to `emit`.
-- With `ctx.signing_key` (a STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]
-- request the authenticator verified) every chunk's signature must chain
-- from the seed signature (the request's) and, with trailers, so must the
-- trailer signature. Returns the decoded length, or nil and an S3 code.
local function dechunk(src, emit, ctx)
  local auth = ctx and ctx.signing_key and require "personalize.engine.auth"
  local prev = auth and ctx.signature
  local total = 0
  while true do
    local line = src.line()
    local size_hex, ext = (line or ""):match("^(%x+)(.*)$")
    if not size_hex or #size_hex > 15 then return nil, "IncompleteBody" end
    local n = tonumber(size_hex, 16)
    local hash = EMPTY_SHA256
    if n > 0 then
      hash = src.copy(n, emit)
      if not hash or src.line() ~= "" then return nil, "IncompleteBody" end
    end
    if auth then
      local sig = ext:match("^;chunk%-signature=(%x+)$")
      if not sig or sig:lower() ~= auth.chunk_signature(ctx, prev, hash) then
        return nil, "SignatureDoesNotMatch"
      end
      prev = sig:lower()
    end
    total = total + n
    if n == 0 then break end
  end
  local trailers, trailer_sig = {}, nil
  while not src.done() do
    local line = src.line()
    if line == nil then return nil, "IncompleteBody" end
    if line == "" then break end
    local name, value = line:match("^([^:]+):(.*)$")
    if not name then return nil, "IncompleteBody" end
    name = name:lower()
    if name == "x-amz-trailer-signature" then
      trailer_sig = value
    else
      trailers[#trailers + 1] = name .. ":" .. value .. "\n"
    end
  end
  if auth and ctx.payload == "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER" then
    if not trailer_sig or trailer_sig:lower() ~= auth.trailer_signature(ctx, prev, concat(trailers)) then
      return nil, "SignatureDoesNotMatch"
    end
  end
  return total
end

local function dechunk_string(s, ctx)
  local out = {}
  local n, code = dechunk(string_reader(s), function(d) out[#out + 1] = d end, ctx)
  if not n then return nil, code end
  return concat(out)
end

local function dechunk_file(src, dest, ctx)
  local f = io_open(src, "rb")
  if not f then return nil, "IncompleteBody" end
  local o = io_open(dest, "wb")
  if not o then f:close() return nil, "InternalError" end
  local n, code = dechunk(file_reader(src, f), function(d) o:write(d) end, ctx)
  f:close()
  o:close()
  if not n then os_remove(dest) end
  return n, code
end

-- The x-amz-meta-* headers of a request, without the prefix.
local function user_metadata(h)
  local meta
  for k, v in pairs(h) do
    local name = k:match("^x%-amz%-meta%-(.+)$")
    if name then
      meta = meta or {}
      meta[name] = v
    end
  end
  return meta
end

local function object_headers(meta)
  local h = {
    ["Content-Type"] = meta.ContentType,
    ["Content-Length"] = int(meta.Size),
    ETag = meta.ETag,
    ["Last-Modified"] = http_time(meta.LastModified),
    ["Accept-Ranges"] = "bytes",
  }
  for k, v in pairs(meta.Metadata or {}) do h["x-amz-meta-" .. k] = v end
  return h
end

local function xml_response(status, root, parts)
  return { status = status, headers = { ["Content-Type"] = "application/xml" }, body = xml_document(root, parts) }
end

local function no_content()
  return { status = 204, headers = {} }
end

local function invalid_argument(message, name, value)
  return nil, "InvalidArgument", message, { { "ArgumentName", name }, { "ArgumentValue", value } }
end

---------------------------------------------------------------------------
-- Operations: op(self, r) -> response | nil, code, message, fields

local ops = {}

function ops.ListBuckets(self)
  local parts = {
    "<Owner>", el("ID", core.sha256_hex(self.account_id)), el("DisplayName", "personalize-local"),
    "</Owner><Buckets>",
  }
  for _, name in ipairs(core.listdir(self.dir .. "/buckets") or {}) do
    local rec = self:_bucket(name)
    if rec then
      parts[#parts + 1] = "<Bucket>" .. el("Name", name) .. el("CreationDate", iso_time(rec.CreationDate))
        .. el("BucketRegion", rec.Region) .. "</Bucket>"
    end
  end
  parts[#parts + 1] = "</Buckets>"
  return xml_response(200, "ListAllMyBucketsResult", parts)
end

-- us-east-1 answers 200 to its owner re-creating a bucket (legacy S3
-- behaviour); every other region answers 409 BucketAlreadyOwnedByYou.
function ops.CreateBucket(self, r)
  local region = r.ctx.region or self.region
  local text = body_text(r) or ""
  local constraint = ""
  if text:match("%S") then
    local doc = parse_xml(text)
    if not doc or doc.name ~= "CreateBucketConfiguration" then return nil, "MalformedXML" end
    constraint = xml_text(doc, "LocationConstraint") or ""
  end
  local bad = bucket_name_error(r.bucket)
  if bad then return nil, "InvalidBucketName", bad end
  if constraint == "us-east-1" and region == "us-east-1" then return nil, "InvalidLocationConstraint" end
  if (constraint == "" and region ~= "us-east-1") or (constraint ~= "" and constraint ~= region) then
    return nil, "IllegalLocationConstraintException",
      constraint == "" and ERRORS.IllegalLocationConstraintException[2]
      or format("The %s location constraint is incompatible for the region specific endpoint "
        .. "this request was sent to.", constraint)
  end
  if self:_bucket(r.bucket) then
    if region == "us-east-1" then
      return { status = 200, headers = { Location = "/" .. r.bucket } }
    end
    return nil, "BucketAlreadyOwnedByYou"
  end
  local ok, code, message = self:create_bucket(r.bucket)
  if not ok then return nil, code, message end
  return { status = 200, headers = { Location = "/" .. r.bucket } }
end

function ops.HeadBucket(self, r)
  local rec, code = self:_bucket(r.bucket)
  if not rec then return nil, code end
  return { status = 200, headers = { ["x-amz-bucket-region"] = rec.Region } }
end

function ops.GetBucketLocation(self, r)
  local rec, code = self:_bucket(r.bucket)
  if not rec then return nil, code end
  local region = rec.Region == "us-east-1" and "" or rec.Region
  return { status = 200, headers = { ["Content-Type"] = "application/xml" },
    body = '<?xml version="1.0" encoding="UTF-8"?>\n<LocationConstraint xmlns="' .. NS .. '">'
      .. xml_escape(region) .. "</LocationConstraint>" }
end

function ops.DeleteBucket(self, r)
  local rec, code = self:_bucket(r.bucket)
  if not rec then return nil, code end
  if #self:_keys(r.bucket) > 0 then return nil, "BucketNotEmpty" end
  local bdir = self:bucket_dir(r.bucket)
  -- bucket.json goes first: without it the rest is garbage
  os_remove(bdir .. "/bucket.json")
  core.fsync(bdir)
  core.remove_tree(bdir)
  return no_content()
end

function ops.PutBucketPolicy(self, r)
  local text = body_text(r)
  if not text then return nil, "MalformedPolicy", "Policy exceeds the maximum allowed document size." end
  local ok, code, message = self:put_policy(r.bucket, text)
  if not ok then return nil, code, message end
  return no_content()
end

function ops.GetBucketPolicy(self, r)
  local rec, code = self:_bucket(r.bucket)
  if not rec then return nil, code end
  local text = read_file(self:bucket_dir(r.bucket) .. "/policy.json")
  if not text then return nil, "NoSuchBucketPolicy" end
  return { status = 200, headers = { ["Content-Type"] = "application/json" }, body = text }
end

function ops.DeleteBucketPolicy(self, r)
  local rec, code = self:_bucket(r.bucket)
  if not rec then return nil, code end
  local path = self:bucket_dir(r.bucket) .. "/policy.json"
  if os_remove(path) then core.fsync(self:bucket_dir(r.bucket)) end
  return no_content()
end

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

---------------------------------------------------------------------------
-- Multipart uploads

function Store:_upload(r, id)
  id = id or r.query.uploadId
  if not id or not id:match("^%x+$") or #id > 64 then return nil end
  local dir = self:bucket_dir(r.bucket) .. "/uploads/" .. id
  local up = read_json(dir .. "/upload.json")
  if not up or (r.key and up.Key ~= r.key) then return nil end
  up.dir, up.UploadId = dir, id
  return up
end

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

---------------------------------------------------------------------------
-- Routing

local VERB = { GET = "Get", PUT = "Put", DELETE = "Delete", POST = "Post", HEAD = "Head" }

-- The operation a request names: its ops entry name, or nil and the name
-- of an operation personalize-local does not implement.
local function operation(r)
  local m, q = r.method, r.query
  local sub
  for _, name in ipairs(r.query_names) do
    if SUBRESOURCES[name] then
      sub = sub or name
    end
  end
  if q.versionId and q.versionId ~= "null" then
    return nil, (r.key and (VERB[m] or m) .. "Object" or "ListObjectVersions") .. " with versionId"
  end
  if not r.bucket then
    if m == "GET" and not sub then return "ListBuckets" end
    return nil, (VERB[m] or m) .. "Service" .. (sub and capitalise(sub) or "")
  end
  if not r.key then
    if sub == "policy" then
      local op = ({ PUT = "PutBucketPolicy", GET = "GetBucketPolicy", DELETE = "DeleteBucketPolicy" })[m]
      if op then return op end
      return nil, m .. " ?policy"
    elseif sub == "uploads" and m == "GET" then
      return "ListMultipartUploads"
    elseif sub == "location" and m == "GET" then
      return "GetBucketLocation"
    elseif sub == "delete" and m == "POST" then
      return "DeleteObjects"
    elseif sub then
      return nil, (VERB[m] or m) .. "Bucket" .. capitalise(sub)
    end
    if m == "PUT" then return "CreateBucket" end
    if m == "HEAD" then return "HeadBucket" end
    if m == "DELETE" then return "DeleteBucket" end
    if m == "GET" then return q["list-type"] == "2" and "ListObjectsV2" or "ListObjects" end
    return nil, m .. " on a bucket"
  end
  if r.headers["x-amz-copy-source"] then
    return nil, q.uploadId and "UploadPartCopy" or "CopyObject"
  end
  if q.uploadId then
    if m == "PUT" and q.partNumber then return "UploadPart" end
    if m == "POST" then return "CompleteMultipartUpload" end
    if m == "DELETE" then return "AbortMultipartUpload" end
    if m == "GET" then return nil, "ListParts" end
  elseif sub == "uploads" and m == "POST" then
    return "CreateMultipartUpload"
  elseif sub and sub ~= "partNumber" then
    return nil, (VERB[m] or m) .. "Object" .. capitalise(sub)
  elseif m == "PUT" then
    return "PutObject"
  elseif m == "GET" then
    return "GetObject"
  elseif m == "HEAD" then
    return "HeadObject"
  elseif m == "DELETE" then
    return "DeleteObject"
  end
  return nil, m .. " on an object"
end

local function error_response(r, code, message, fields)
  local known = ERRORS[code] or ERRORS.InternalError
  local res = { status = known[1], headers = {} }
  if r.method == "HEAD" then return res end
  local parts = { "<Error>", el("Code", code), el("Message", message or known[2]) }
  if r.bucket and (code == "NoSuchBucket" or code == "BucketNotEmpty" or code == "BucketAlreadyOwnedByYou"
      or code == "InvalidBucketName" or code == "NoSuchBucketPolicy") then
    parts[#parts + 1] = el("BucketName", r.bucket)
  end
  for _, f in ipairs(fields or {}) do parts[#parts + 1] = el(f[1], f[2]) end
  parts[#parts + 1] = el("RequestId", r.ctx.request_id or "")
  parts[#parts + 1] = "</Error>"
  res.headers["Content-Type"] = "application/xml"
  res.body = '<?xml version="1.0" encoding="UTF-8"?>\n' .. concat(parts)
  return res
end

local function route(self, req, ctx)
  local headers = req.headers or {}
  local path, query = req.path or "/", req.query
  if not query then
    local p, rest = path:match("^([^?]*)%?(.*)$")
    if p then path, query = p, rest end
  end
  local q, names = parse_query(query)
  local r = { method = (req.method or "GET"):upper(), req = req, ctx = ctx, headers = headers,
    query = q, query_names = names }
  local bucket = host_bucket(headers.host)
  local rawkey = bucket and path:sub(2)
  if not bucket then
    local b
    b, rawkey = path:match("^/([^/]*)/?(.*)$")
    bucket = b and b ~= "" and percent_decode(b) or nil
  end
  r.bucket = bucket
  if bucket and rawkey and rawkey ~= "" then r.key = percent_decode(rawkey) end
  local name, missing = operation(r)
  if not name then
    return error_response(r, "NotImplemented", "personalize-local does not implement " .. tostring(missing))
  end
  -- Content-MD5, when sent, must match the body (PutObject and UploadPart
  -- check it while they store the data).
  if headers["content-md5"] and name ~= "PutObject" and name ~= "UploadPart" then
    local md5 = content_md5(headers)
    if not md5 then return error_response(r, "InvalidDigest") end
    local text = body_text(r)
    if text == nil then return error_response(r, "EntityTooLarge") end
    if md5 ~= base64_encode(core.md5(text)) then return error_response(r, "BadDigest") end
  end
  local res, code, message, fields = ops[name](self, r)
  if not res then return error_response(r, code, message, fields) end
  return res
end

-- One S3 REST request -> one response table; never raises.
function Store:handle(req, ctx)
  ctx = ctx or {}
  local ok, res = pcall(route, self, req or {}, ctx)
  if not ok then
    res = error_response({ method = req and req.method, ctx = ctx }, "InternalError",
      "personalize-local's S3 failed: " .. tostring(res):gsub("^[^\n]-%.lua:%d+: ", ""))
  end
  res.headers = res.headers or {}
  res.headers["x-amz-request-id"] = ctx.request_id
  return res
end

return _M
