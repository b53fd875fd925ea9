-- The object store of personalize.engine.s3: buckets, objects, their
-- metadata and policies in files under DIR (the layout is in s3.lua's
-- header), and the calls the engine's jobs make on it.
--
--   local Store = require("personalize.engine.s3.store").Store
--   store:create_bucket, put_policy, stat_object, object_path, read_object,
--   list_keys, write_object, allows (see s3.lua); store:_bucket, _meta,
--   _keys, _commit, _upload for the operations of s3/*.lua
local core = require "personalize.core"
local common = require "personalize.engine.s3.common"
local policy = require "personalize.engine.s3.policy"

local type, tostring, pairs, ipairs, setmetatable, pcall = type, tostring, pairs, ipairs, setmetatable, pcall
local error, sort, format, os_remove = error, table.sort, string.format, os.remove
local MAX_OBJECT_SIZE, MAX_KEY_LENGTH, cjson = common.MAX_OBJECT_SIZE, common.MAX_KEY_LENGTH, common.cjson
local ERRORS, percent_decode, base64_encode = common.ERRORS, common.percent_decode, common.base64_encode
local hex_to_bytes, read_file, read_json = common.hex_to_bytes, common.read_file, common.read_json
local write_json, unique_id, key_name = common.write_json, common.unique_id, common.key_name
local as_list, check_policy, statement_applies = policy.as_list, policy.check_policy, policy.statement_applies
local bucket_name_error = policy.bucket_name_error

local _M = {}

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

-- The multipart upload `id` (else the request's uploadId) of the
-- request's bucket and key, or nil.
function Store:_upload(r, id)
  id = id or r.query.uploadId
  if not id or not id:match("^%x+$") or #id > 64 then return nil end
  local dir = self:bucket_dir(r.bucket) .. "/uploads/" .. id
  local up = read_json(dir .. "/upload.json")
  if not up or (r.key and up.Key ~= r.key) then return nil end
  up.dir, up.UploadId = dir, id
  return up
end

_M.Store = Store

return _M
