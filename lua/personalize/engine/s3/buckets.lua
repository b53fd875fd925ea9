-- The bucket operations of personalize.engine.s3: ListBuckets,
-- CreateBucket, HeadBucket, GetBucketLocation, DeleteBucket and the
-- bucket policy calls. Each is op(store, r) -> response | nil, code,
-- message, fields (r: the routed request of s3.lua).
local core = require "personalize.core"
local common = require "personalize.engine.s3.common"
local policy = require "personalize.engine.s3.policy"
local request = require "personalize.engine.s3.request"

local ipairs, format, os_remove = ipairs, string.format, os.remove
local NS, ERRORS, xml_escape, iso_time = common.NS, common.ERRORS, common.xml_escape, common.iso_time
local read_file, parse_xml, xml_text, el = common.read_file, common.parse_xml, common.xml_text, common.el
local bucket_name_error = policy.bucket_name_error
local body_text, xml_response, no_content = request.body_text, request.xml_response, request.no_content

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

return ops
