-- The S3 client without a peer: addressing, encoding, signing (checked
-- against botocore's S3SigV4Auth), parameters, XML answers and errors,
-- retries, and transports that take strings only. A scripted transport
-- stands in for the network.
local core = require "personalize.core"
local cjson = require "cjson"
local s3mod = require "personalize.s3"
local xml = require "personalize.protocol.rest_xml"
local files = require "support.files"

local CREDS = { access_key_id = "AKIDEXAMPLE", secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY" }
local EMPTY = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

-- A transport answering from `script` (a function req -> status, headers,
-- body, or a list of such answers used in turn); it records every request.
local function scripted(script, extra)
  local t = { name = "scripted", requests = {}, sleeps = {} }
  local n = 0
  function t.send(_, req)
    t.requests[#t.requests + 1] = req
    n = n + 1
    local answer = type(script) == "function" and { script(req) } or script[n] or script[#script]
    return answer[1], answer[2], answer[3]
  end
  t.sleep = function(s) t.sleeps[#t.sleeps + 1] = s end
  t.now = core.now
  for k, v in pairs(extra or {}) do t[k] = v end
  return t
end

local function client(opts, transport)
  opts = opts or {}
  local o = { region = "us-east-1", credentials = CREDS, env = {}, transport = transport }
  for k, v in pairs(opts) do o[k] = v end
  return s3mod.new(o)
end

local function ok200() return 200, { ["x-amz-request-id"] = "RID" }, "" end

local function tmpfile(data)
  local path = os.tmpname()
  local f = assert(io.open(path, "wb"))
  f:write(data)
  f:close()
  return path
end

local slurp = files.read

describe("personalize.s3 addressing", function()
  it("uses virtual-hosted requests on S3's regional host by default", function()
    local t = scripted { { ok200() } }
    local s3 = client({ region = "eu-west-1" }, t)
    assert.are.equal("https://s3.eu-west-1.amazonaws.com", s3.endpoint)
    assert(s3:head_object { Bucket = "my-bucket", Key = "a/b.csv" })
    assert.are.equal("https://my-bucket.s3.eu-west-1.amazonaws.com/a/b.csv", t.requests[1].url)
    assert.are.equal("my-bucket.s3.eu-west-1.amazonaws.com", t.requests[1].headers.Host)
    -- us-east-1 gets its regional host too.
    assert.are.equal("https://s3.us-east-1.amazonaws.com", client({}, t).endpoint)
    assert.are.equal("https://s3.cn-north-1.amazonaws.com.cn", client({ region = "cn-north-1" }, t).endpoint)
  end)

  it("addresses the bucket root with a slash, the service root for list_buckets", function()
    local s3 = client({}, scripted { { ok200() } })
    assert.are.equal("https://my-bucket.s3.us-east-1.amazonaws.com/", (s3:address("my-bucket")))
    assert.are.equal("https://s3.us-east-1.amazonaws.com/", (s3:address(nil)))
  end)

  it("puts a custom endpoint's path before the bucket, with or without a trailing slash", function()
    local t = scripted { { ok200() } }
    for _, endpoint in ipairs { "http://127.0.0.1:9000/s3", "http://127.0.0.1:9000/s3/" } do
      local s3 = client({ endpoint = endpoint }, t)
      assert.are.equal("http://127.0.0.1:9000/s3/my-bucket/a/b.csv", (s3:address("my-bucket", "a/b.csv")))
      assert.are.equal("http://127.0.0.1:9000/s3/", (s3:address(nil)))
    end
  end)

  it("goes path-style when asked, for custom endpoints and for names that are not DNS labels", function()
    local t = scripted { { ok200() } }
    local forced = client({ s3_force_path_style = true }, t)
    assert.are.equal("https://s3.us-east-1.amazonaws.com/my-bucket/k", (forced:address("my-bucket", "k")))
    local styled = client({ s3 = { addressing_style = "path" } }, t)
    assert.is_true(styled.path_style)
    local custom = client({ endpoint = "http://127.0.0.1:9000" }, t)
    assert.are.equal("http://127.0.0.1:9000/my-bucket/k", (custom:address("my-bucket", "k")))
    local env = client({ env = { AWS_ENDPOINT_URL_S3 = "http://localhost:4566" } }, t)
    assert.are.equal("http://localhost:4566/my-bucket", (env:address("my-bucket")))
    local default = client({}, t)
    assert.are.equal("https://s3.us-east-1.amazonaws.com/My_Bucket/k", (default:address("My_Bucket", "k")))
    -- Dots break the wildcard certificate over https.
    assert.are.equal("https://s3.us-east-1.amazonaws.com/a.b.c/k", (default:address("a.b.c", "k")))
  end)

  it("reads addressing_style from the profile's s3 sub-section", function()
    local cfg = tmpfile("[default]\nregion = eu-central-1\ns3 =\n  addressing_style = path\n")
    local s3 = s3mod.new { credentials = CREDS, env = { AWS_CONFIG_FILE = cfg }, transport = scripted { { ok200() } } }
    os.remove(cfg)
    assert.are.equal("eu-central-1", s3.region)
    assert.is_true(s3.path_style)
    assert.are.equal("https://s3.eu-central-1.amazonaws.com/my-bucket/k", (s3:address("my-bucket", "k")))
  end)

  it("raises on misuse of the options", function()
    assert.has_error(function() s3mod.new("x") end)
    assert.has_error(function() client { s3_force_path_style = "yes" } end)
    assert.has_error(function() client { s3 = { addressing_style = "sideways" } } end)
    assert.has_error(function() s3mod.new { env = {}, credentials = CREDS } end, nil) -- no region
  end)

  it("is what personalize.client(\"s3\") returns", function()
    local s3 = require("personalize.client").new("s3", { region = "us-east-1", credentials = CREDS, env = {} })
    assert.is_function(s3.put_object)
    assert.truthy(tostring(s3):find("personalize.s3", 1, true))
  end)

  it("checks DNS compatibility as botocore does", function()
    for _, ok in ipairs { "abc", "my-bucket", "a.b.c", "b123" } do assert.is_true(s3mod.dns_compatible(ok), ok) end
    for _, bad in ipairs { "ab", "My-Bucket", "a..b", "-ab", "ab-", "a_b", "a.-b", "192.168.1.1", ("a"):rep(64) } do
      assert.is_false(s3mod.dns_compatible(bad), bad)
    end
  end)
end)

describe("personalize.s3 encoding and signing", function()
  it("encodes keys once, keeping '/', '~' and dot segments", function()
    assert.are.equal("a%20b/%C3%BC/..%252F/./x~y%2Bz%3D%25", s3mod.encode_key("a b/ü/..%2F/./x~y+z=%"))
  end)

  it("sends X-Amz-Content-Sha256 of string bodies, file regions, and UNSIGNED-PAYLOAD on request", function()
    local t = scripted { { 200, { etag = '"e"' }, "" } }
    local s3 = client({}, t)
    assert(s3:put_object { Bucket = "my-bucket", Key = "k", Body = "hello" })
    assert.are.equal(core.sha256_hex("hello"), t.requests[1].headers["X-Amz-Content-Sha256"])
    assert.are.equal("hello", t.requests[1].body)
    assert(s3:head_object { Bucket = "my-bucket", Key = "k" })
    assert.are.equal(EMPTY, t.requests[2].headers["X-Amz-Content-Sha256"])

    local path = tmpfile("0123456789")
    assert(s3:upload_part { Bucket = "my-bucket", Key = "k", UploadId = "u", PartNumber = 2,
                            File = path, Offset = 3, Length = 4 })
    local req = t.requests[3]
    assert.are.equal(core.sha256_hex("3456"), req.headers["X-Amz-Content-Sha256"])
    -- A string-only transport gets the region itself.
    assert.are.equal("3456", req.body)
    assert.are.equal("https://my-bucket.s3.us-east-1.amazonaws.com/k?partNumber=2&uploadId=u", req.url)

    local unsigned = client({ unsigned_payload = true }, t)
    assert(unsigned:put_object { Bucket = "my-bucket", Key = "k", File = path })
    assert.are.equal("UNSIGNED-PAYLOAD", t.requests[4].headers["X-Amz-Content-Sha256"])
    assert.are.equal("0123456789", t.requests[4].body)
    os.remove(path)
  end)

  it("hands file bodies to a transport that streams them, as a region", function()
    local t = scripted({ { 200, { etag = '"e"' }, "" } }, { streams_files = true })
    local s3 = client({}, t)
    local path = tmpfile("0123456789")
    assert(s3:upload_part { Bucket = "my-bucket", Key = "k", UploadId = "u", PartNumber = 1,
                            File = path, Offset = 2, Length = 5 })
    local req = t.requests[1]
    assert.is_nil(req.body)
    assert.are.same({ path, 2, 5 }, { req.body_file, req.body_offset, req.body_length })
    assert.are.equal(core.sha256_hex("23456"), req.headers["X-Amz-Content-Sha256"])
    os.remove(path)
  end)

  it("refuses a file region past the end of the file before sending", function()
    local t = scripted { { ok200() } }
    local path = tmpfile("0123")
    local res, err = client({}, t):upload_part { Bucket = "my-bucket", Key = "k", UploadId = "u",
      PartNumber = 1, File = path, Offset = 2, Length = 5 }
    os.remove(path)
    assert.is_nil(res)
    assert.are.equal("LocalFileError", err.code)
    assert.are.equal(0, #t.requests)
    res, err = client({}, t):put_object { Bucket = "my-bucket", Key = "k", File = "/nonexistent/x" }
    assert.is_nil(res)
    assert.truthy(err.message:find("No such file", 1, true))
  end)

  local have_botocore = os.execute("python3 -c 'import botocore' 2>/dev/null")
  have_botocore = have_botocore == true or have_botocore == 0

  -- botocore's S3SigV4Auth over a captured request: canonical URI as sent,
  -- X-Amz-Content-Sha256 as the payload hash.
  local function botocore_s3_signature(req)
    local auth = req.headers.Authorization
    local signed, headers = auth:match("SignedHeaders=([^,]+)"), {}
    for name in signed:gmatch("[^;]+") do
      for k, v in pairs(req.headers) do
        if k:lower() == name then headers[k] = v end
      end
    end
    local input = tmpfile(cjson.encode {
      method = req.method, url = req.url, headers = headers, body = req.body or "",
      access_key = CREDS.access_key_id, secret_key = CREDS.secret_access_key,
      amz_date = req.headers["X-Amz-Date"],
    })
    local script = tmpfile([[
import json, sys
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
r = json.load(open(sys.argv[1]))
auth = S3SigV4Auth(Credentials(r["access_key"], r["secret_key"]), "s3", "us-east-1")
req = AWSRequest(method=r["method"], url=r["url"], data=r["body"].encode(), headers=r["headers"])
req.context["timestamp"] = r["amz_date"]
print(auth.signature(auth.string_to_sign(req, auth.canonical_request(req)), req))
]])
    local p = io.popen("python3 " .. script .. " " .. input)
    local sig = p:read("*l")
    p:close()
    os.remove(input)
    os.remove(script)
    return sig
  end

  it("signs as botocore's S3SigV4Auth does, awkward keys and queries included", function()
    if not have_botocore then
      print("SKIP: botocore is not importable; the S3 signature cross-check did not run")
      return
    end
    local t = scripted(function(req)
      if req.method == "PUT" then return 200, { etag = '"e"' }, "" end
      if req.method == "POST" then
        return 200, {}, "<InitiateMultipartUploadResult><UploadId>u</UploadId></InitiateMultipartUploadResult>"
      end
      return 200, {}, "<ListBucketResult><IsTruncated>false</IsTruncated></ListBucketResult>"
    end)
    local s3 = client({ endpoint = "http://127.0.0.1:9000" }, t)
    assert(s3:put_object { Bucket = "my-bucket", Key = "dir/a b+c=d~e/../ü%41", Body = "x", ContentType = "text/csv" })
    assert(s3:list_objects_v2 { Bucket = "my-bucket", Prefix = "a b/+", MaxKeys = 2, ContinuationToken = "t/k=" })
    assert(s3:create_multipart_upload { Bucket = "my-bucket", Key = "k" })
    for _, req in ipairs(t.requests) do
      assert.are.equal(botocore_s3_signature(req), req.headers.Authorization:match("Signature=(%x+)$"), req.url)
    end
    assert.are.equal("http://127.0.0.1:9000/my-bucket/dir/a%20b%2Bc%3Dd~e/../%C3%BC%2541", t.requests[1].url)
  end)
end)

describe("core.sha256_file", function()
  it("hashes a region of a file, by default all of it", function()
    local data = ("0123456789abcdef"):rep(5000)     -- past one 32 KiB read
    local path = tmpfile(data)
    assert.are.equal(core.sha256_hex(data), core.sha256_file(path))
    assert.are.equal(core.sha256_hex(data:sub(7, 7 + 40000 - 1)), core.sha256_file(path, 6, 40000))
    assert.are.equal(core.sha256_hex(data:sub(101)), core.sha256_file(path, 100))
    assert.are.equal(EMPTY, core.sha256_file(path, #data))
    assert.are.equal(EMPTY, core.sha256_file(path, 3, 0))
    local none, err = core.sha256_file(path, #data - 1, 2)
    assert.is_nil(none)
    assert.truthy(err:find("passes the end", 1, true))
    assert.has_error(function() core.sha256_file(path, -1) end)
    assert.has_error(function() core.sha256_file(path, 1.5) end)
    os.remove(path)
    none, err = core.sha256_file(path)
    assert.is_nil(none)
    assert.truthy(err:find("No such file", 1, true))
    none = core.sha256_file("/")
    assert.is_nil(none)
  end)

  it("goes with http body_file regions that are checked before anything is sent", function()
    local h = core.http {}
    local path = tmpfile("0123456789")
    local url = "http://127.0.0.1:9/never"
    assert.has_error(function() h:request { url = url, method = "PUT", body_offset = 1 } end)
    assert.has_error(function() h:request { url = url, method = "PUT", body_file = path, body_length = -1 } end)
    assert.has_error(function() h:request { url = url, method = "PUT", body_file = path, body_offset = 0.5 } end)
    local status, code, message = h:request { url = url, method = "PUT", body_file = path, body_offset = 8, body_length = 3 }
    assert.is_nil(status)
    assert.are.equal("HTTPClientError", code)
    assert.truthy(message:find("passes its end", 1, true), message)
    h:close()
    os.remove(path)
  end)
end)

describe("personalize.s3 parameters", function()
  local t = scripted { { ok200() } }
  local s3 = client({}, t)

  it("are checked before anything is sent", function()
    local cases = {
      { "put_object", { Key = "k" }, 'Missing required parameter in input: "Bucket"' },
      { "put_object", { Bucket = "b-1", Key = "k", Bodyy = "x" }, 'Unknown parameter in input: "Bodyy"' },
      { "put_object", { Bucket = "b-1", Key = "k", Body = 12 }, "Invalid type for parameter Body" },
      { "put_object", { Bucket = "b-1", Key = "k", Body = "x", File = "/tmp/x" }, "give Body or File, not both" },
      { "get_object", { Bucket = "bad/name", Key = "k" }, 'Invalid bucket name "bad/name"' },
      { "get_object", { Bucket = "b-1", Key = "" }, "Invalid length for parameter Key" },
      { "list_objects_v2", { Bucket = "b-1", MaxKeys = 1.5 }, "Invalid type for parameter MaxKeys" },
      { "upload_part", { Bucket = "b-1", Key = "k", UploadId = "u", PartNumber = 0 }, "PartNumber must be from 1 to 10000" },
      { "upload_part", { Bucket = "b-1", Key = "k", UploadId = "u", PartNumber = 1, Offset = 1 }, "Offset and Length need File" },
      { "complete_multipart_upload", { Bucket = "b-1", Key = "k", UploadId = "u",
        MultipartUpload = { Parts = { { PartNumber = 1 } } } }, "Parts[1] needs PartNumber" },
      { "head_bucket", "b-1", "parameters must be a table" },
    }
    for _, c in ipairs(cases) do
      local res, err = s3[c[1]](s3, c[2])
      assert.is_nil(res, c[1])
      assert.are.equal("ParamValidation", err.code)
      assert.is_false(err.retryable)
      assert.truthy(err.message:find(c[3], 1, true), err.message)
    end
    assert.are.equal(0, #t.requests)
  end)

  it("send LocationConstraint outside us-east-1 and encode policy tables", function()
    local tt = scripted { { 200, { location = "/my-bucket" }, "" } }
    local eu = client({ region = "eu-west-1" }, tt)
    local res = assert(eu:create_bucket { Bucket = "my-bucket" })
    assert.are.equal("/my-bucket", res.Location)
    local root = assert(xml.parse(tt.requests[1].body))
    assert.are.equal("CreateBucketConfiguration", root.name)
    assert.are.equal("eu-west-1", xml.text(root, "LocationConstraint"))
    assert(client({}, tt):create_bucket { Bucket = "my-bucket" })
    assert.is_nil(tt.requests[2].body)

    assert(eu:put_bucket_policy { Bucket = "my-bucket", Policy = { Version = "2012-10-17" } })
    local req = tt.requests[3]
    assert.are.equal('{"Version":"2012-10-17"}', req.body)
    assert.are.equal("https://my-bucket.s3.eu-west-1.amazonaws.com/?policy", req.url)
    assert.are.equal(s3mod.base64(core.md5(req.body)), req.headers["Content-MD5"])
  end)

  it("base64-encodes as RFC 4648 says", function()
    local vectors = { [""] = "", f = "Zg==", fo = "Zm8=", foo = "Zm9v", foob = "Zm9vYg==",
                      fooba = "Zm9vYmE=", foobar = "Zm9vYmFy", ["\255\254\253"] = "//79" }
    for input, want in pairs(vectors) do assert.are.equal(want, s3mod.base64(input)) end
  end)
end)

describe("personalize.s3 answers", function()
  local LIST = [[<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b-1</Name><Prefix></Prefix>
<KeyCount>2</KeyCount><MaxKeys>2</MaxKeys><IsTruncated>true</IsTruncated>
<NextContinuationToken>tok</NextContinuationToken>
<Contents><Key>a &amp; b</Key><LastModified>2024-01-02T03:04:05.000Z</LastModified>
<ETag>&quot;x&quot;</ETag><Size>12</Size><StorageClass>STANDARD</StorageClass></Contents>
<Contents><Key>ü</Key><LastModified>2024-01-02T03:04:05.000Z</LastModified><ETag>"y"</ETag><Size>0</Size></Contents>
<CommonPrefixes><Prefix>dir/</Prefix></CommonPrefixes></ListBucketResult>]]

  it("parse list_objects_v2 into S3's member names", function()
    local s3 = client({}, scripted { { 200, {}, LIST } })
    local res = assert(s3:list_objects_v2 { Bucket = "b-1" })
    assert.are.same({ Key = "a & b", Size = 12, ETag = '"x"', LastModified = "2024-01-02T03:04:05.000Z",
                      StorageClass = "STANDARD" }, res.Contents[1])
    assert.are.equal("ü", res.Contents[2].Key)
    assert.are.same({ { Prefix = "dir/" } }, res.CommonPrefixes)
    assert.is_true(res.IsTruncated)
    assert.are.equal("tok", res.NextContinuationToken)
    assert.are.equal(2, res.KeyCount)
    assert.are.equal(200, res.ResponseMetadata.HTTPStatusCode)
  end)

  it("turn S3 error documents into error objects", function()
    local body = '<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchKey</Code>'
      .. '<Message>The specified key does not exist.</Message><Key>k</Key><RequestId>R1</RequestId></Error>'
    local s3 = client({}, scripted { { 404, { ["x-amz-request-id"] = "R2" }, body } })
    local res, err = s3:get_object { Bucket = "b-1", Key = "k" }
    assert.is_nil(res)
    assert.are.same({ "NoSuchKey", "The specified key does not exist.", 404, "R2", "GetObject", false },
      { err.code, err.message, err.status, err.request_id, err.operation, err.retryable })
    assert.are.equal("An error occurred (NoSuchKey) when calling the GetObject operation: The specified key does not exist.",
      tostring(err))
  end)

  it("name bodiless HEAD errors after the status", function()
    local s3 = client({}, scripted { { 404, {}, "" }, { 403, {}, "" } })
    local _, err = s3:head_object { Bucket = "b-1", Key = "k" }
    assert.are.same({ "NotFound", "Not Found", 404 }, { err.code, err.message, err.status })
    _, err = s3:head_bucket { Bucket = "b-1" }
    assert.are.same({ "Forbidden", "Forbidden", 403 }, { err.code, err.message, err.status })
  end)

  it("retry SlowDown and 500s, then succeed", function()
    local slow = "<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>"
    local t = scripted { { 503, {}, slow }, { 500, {}, "<Error><Code>InternalError</Code><Message>m</Message></Error>" },
                         { 200, { etag = '"e"' }, "" } }
    local res = assert(client({}, t):put_object { Bucket = "b-1", Key = "k", Body = "x" })
    assert.are.equal(3, #t.requests)
    assert.are.equal(2, #t.sleeps)
    assert.are.equal(2, res.ResponseMetadata.RetryAttempts)
    assert.are.equal('"e"', res.ETag)
  end)

  it("stop after max_attempts and say so", function()
    local t = scripted { { 503, {}, "<Error><Code>SlowDown</Code><Message>slow</Message></Error>" } }
    local res, err = client({ max_attempts = 2 }, t):get_object { Bucket = "b-1", Key = "k" }
    assert.is_nil(res)
    assert.are.equal("SlowDown", err.code)
    assert.are.equal(2, err.attempts)
    assert.truthy(tostring(err):find("(reached max retries: 1)", 1, true))
  end)

  it("report an error inside a 200 CompleteMultipartUpload answer", function()
    local body = '<?xml version="1.0"?>\n<Error><Code>InternalError</Code><Message>We encountered an internal error.</Message></Error>'
    local t = scripted { { 200, {}, body } }
    local res, err = client({ max_attempts = 1 }, t):complete_multipart_upload { Bucket = "b-1", Key = "k",
      UploadId = "u", MultipartUpload = { Parts = { { PartNumber = 1, ETag = '"a"' } } } }
    assert.is_nil(res)
    assert.are.equal("InternalError", err.code)
    assert.is_true(err.retryable)
    local sent = assert(xml.parse(t.requests[1].body))
    assert.are.equal('"a"', xml.text(xml.child(sent, "Part"), "ETag"))
  end)

  it("write bodies to File for a transport without files, and nothing on failure", function()
    local dir = os.tmpname()
    os.remove(dir)
    assert(core.mkdir(dir))
    local t = scripted { { 200, { ["content-length"] = "5", etag = '"e"' }, "hello" },
                         { 404, {}, "<Error><Code>NoSuchKey</Code><Message>gone</Message></Error>" } }
    local s3 = client({}, t)
    local res = assert(s3:download_file("b-1", "k", dir .. "/out"))
    assert.is_nil(res.Body)
    assert.are.equal(5, res.ContentLength)
    assert.are.equal("hello", slurp(dir .. "/out"))
    local _, err = s3:download_file("b-1", "k", dir .. "/missing")
    assert.are.equal("NoSuchKey", err.code)
    assert.are.same({ "out" }, core.listdir(dir))
    core.remove_tree(dir)
  end)

  it("list every object across pages with list_all", function()
    local function page(keys, token)
      local parts = { "<ListBucketResult>" }
      for _, k in ipairs(keys) do parts[#parts + 1] = "<Contents><Key>" .. k .. "</Key><Size>1</Size></Contents>" end
      parts[#parts + 1] = token and ("<IsTruncated>true</IsTruncated><NextContinuationToken>" .. token
        .. "</NextContinuationToken>") or "<IsTruncated>false</IsTruncated>"
      return table.concat(parts) .. "</ListBucketResult>"
    end
    local t = scripted { { 200, {}, page({ "a", "b" }, "t1") }, { 200, {}, page({ "c" }, "t2") }, { 200, {}, page({}) } }
    local keys = {}
    for obj in client({}, t):list_all("b-1", "p/") do keys[#keys + 1] = obj.Key end
    assert.are.same({ "a", "b", "c" }, keys)
    assert.truthy(t.requests[2].url:find("continuation-token=t1", 1, true))
    assert.truthy(t.requests[1].url:find("prefix=p%2F", 1, true))

    local failing = scripted { { 200, {}, page({ "a" }, "t1") },
                               { 403, {}, "<Error><Code>AccessDenied</Code><Message>no</Message></Error>" } }
    local seen = {}
    for obj, err in client({}, failing):list_all("b-1") do seen[#seen + 1] = obj or err.code end
    assert.are.same({ "a", "AccessDenied" }, { seen[1].Key, seen[2] })
    assert.are.equal(2, #seen)
  end)
end)
