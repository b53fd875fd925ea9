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
--
-- The parts, each a module of its own under personalize.engine.s3.*:
--   s3/common.lua     limits, error codes, encodings, files, XML
--   s3/policy.lua     bucket policies and bucket names
--   s3/store.lua      the store (Store): buckets, objects, the jobs' calls
--   s3/request.lua    reading requests (aws-chunked bodies), response helpers
--   s3/buckets.lua, s3/objects.lua, s3/multipart.lua   the operations
-- This module routes a request to its operation and answers errors.
local core = require "personalize.core"
local common = require "personalize.engine.s3.common"
local policy = require "personalize.engine.s3.policy"
local store = require "personalize.engine.s3.store"
local request = require "personalize.engine.s3.request"
local objects = require "personalize.engine.s3.objects"

local tostring, pairs, ipairs, pcall, concat = tostring, pairs, ipairs, pcall, table.concat
local ERRORS, percent_decode, base64_encode = common.ERRORS, common.percent_decode, common.base64_encode
local el = common.el
local Store = store.Store
local host_bucket, parse_query, capitalise = request.host_bucket, request.parse_query, request.capitalise
local body_text = request.body_text
local content_md5 = objects.content_md5

local _M = { _VERSION = require "personalize.version" }

_M.new = store.new
_M.MIN_PART_SIZE = common.MIN_PART_SIZE
_M.ERRORS = common.ERRORS
_M.xml_escape = common.xml_escape
_M.base64_encode, _M.base64_decode = common.base64_encode, common.base64_decode
_M.glob_match = policy.glob_match
_M.bucket_name_error = policy.bucket_name_error

-- Every operation: name -> op(store, r).
local ops = {}
for _, part in ipairs { require "personalize.engine.s3.buckets", objects.ops,
                        (require "personalize.engine.s3.multipart") } do
  for name, op in pairs(part) do ops[name] = op end
end

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
