-- personalize-local's S3 subset, driven through store:handle with
-- hand-built requests (no network), and its helpers for the engine.
local core = require "personalize.core"
local s3 = require "personalize.engine.s3"
local files = require "support.files"

local NOW = 1767225600.25 -- 2026-01-01T00:00:00.250Z, frozen
local MIB = 1048576

local function clock() return NOW end

local tmpdir, write, read = files.tmpdir, files.write, files.read

-- Percent-encoding as SDKs put keys on the wire ('/' kept).
local function encode_key(key)
  return (key:gsub("[^%w%-_%.~/]", function(c) return string.format("%%%02X", c:byte()) end))
end

local function unescape(s)
  return (s:gsub("&lt;", "<"):gsub("&gt;", ">"):gsub("&quot;", '"'):gsub("&apos;", "'"):gsub("&amp;", "&"))
end

local function xml_values(body, tag)
  local out = {}
  for v in body:gmatch("<" .. tag .. ">(.-)</" .. tag .. ">") do out[#out + 1] = unescape(v) end
  return out
end

local function xml_value(body, tag)
  return xml_values(body, tag)[1]
end

-- Every file under `dir`, relative, sorted.
local function tree(dir, prefix, out)
  out = out or {}
  for _, name in ipairs(core.listdir(dir) or {}) do
    local rel = (prefix and prefix .. "/" or "") .. name
    if core.listdir(dir .. "/" .. name) then
      tree(dir .. "/" .. name, rel, out)
    else
      out[#out + 1] = rel
    end
  end
  table.sort(out)
  return out
end

describe("engine.s3", function()
  local dir, store, seq

  local function call(method, path, opts)
    opts = opts or {}
    seq = seq + 1
    local headers = opts.headers or {}
    return store:handle({ method = method, path = path, query = opts.query, headers = headers,
      body = opts.body, body_file = opts.body_file }, { access_key_id = "AKIDEXAMPLE", request_id = "req-" .. seq })
  end

  local function put(bucket, key, body, headers)
    return call("PUT", "/" .. bucket .. "/" .. encode_key(key), { body = body, headers = headers })
  end

  local function expect_error(res, status, code)
    assert.are.equal(status, res.status)
    assert.are.equal("application/xml", res.headers["Content-Type"])
    assert.are.equal(code, xml_value(res.body, "Code"))
    assert.truthy(res.body:match('^<%?xml version="1.0" encoding="UTF%-8"%?>\n<Error>'))
    assert.are.equal(res.headers["x-amz-request-id"], xml_value(res.body, "RequestId"))
  end

  local function list(bucket, query)
    local res = call("GET", "/" .. bucket, { query = query })
    assert.are.equal(200, res.status, res.body)
    return res.body
  end

  before_each(function()
    dir = tmpdir()
    seq = 0
    store = assert(s3.new { dir = dir, region = "us-east-1", account_id = "123456789012", now = clock })
  end)

  after_each(function()
    core.remove_tree(dir)
  end)

  describe("buckets", function()
    it("creates, heads, lists and deletes a bucket", function()
      local res = call("PUT", "/my-bucket")
      assert.are.equal(200, res.status)
      assert.are.equal("/my-bucket", res.headers.Location)
      assert.are.equal("req-1", res.headers["x-amz-request-id"])
      assert.are.equal(200, call("HEAD", "/my-bucket").status)
      assert.are.equal("us-east-1", call("HEAD", "/my-bucket").headers["x-amz-bucket-region"])
      call("PUT", "/another.bucket")
      res = call("GET", "/")
      assert.are.equal(200, res.status)
      assert.are.same({ "another.bucket", "my-bucket" }, xml_values(res.body, "Name"))
      assert.are.equal("2026-01-01T00:00:00.250Z", xml_value(res.body, "CreationDate"))
      assert.truthy(res.body:find('<ListAllMyBucketsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">', 1, true))
      assert.are.equal(204, call("DELETE", "/my-bucket").status)
      expect_error(call("GET", "/my-bucket", { query = "list-type=2" }), 404, "NoSuchBucket")
      assert.are.same({ "another.bucket" }, xml_values(call("GET", "/").body, "Name"))
    end)

    it("answers 200 to re-creating an owned bucket in us-east-1, 409 elsewhere", function()
      assert.are.equal(200, call("PUT", "/dup-bucket").status)
      assert.are.equal(200, call("PUT", "/dup-bucket").status)
      local west = assert(s3.new { dir = dir .. "/west", region = "eu-west-1", now = clock })
      local config = "<CreateBucketConfiguration><LocationConstraint>eu-west-1</LocationConstraint>"
        .. "</CreateBucketConfiguration>"
      local req = { method = "PUT", path = "/dup-bucket", headers = {}, body = config }
      assert.are.equal(200, west:handle(req, {}).status)
      local res = west:handle(req, { request_id = "r2" })
      expect_error(res, 409, "BucketAlreadyOwnedByYou")
      assert.are.equal("dup-bucket", xml_value(res.body, "BucketName"))
      -- without a constraint, a eu-west-1 endpoint refuses, as S3 does
      expect_error(west:handle({ method = "PUT", path = "/other-bucket", headers = {} }, { request_id = "r3" }), 400,
        "IllegalLocationConstraintException")
      assert.are.equal("<LocationConstraint", west:handle({ method = "GET", path = "/dup-bucket",
        query = "location", headers = {} }, {}).body:match("<LocationConstraint"))
    end)

    it("checks location constraints and the naming rules", function()
      expect_error(call("PUT", "/loc-bucket", { body = "<CreateBucketConfiguration><LocationConstraint>"
        .. "us-east-1</LocationConstraint></CreateBucketConfiguration>" }), 400, "InvalidLocationConstraint")
      expect_error(call("PUT", "/loc-bucket", { body = "<CreateBucketConfiguration>" }), 400, "MalformedXML")
      for _, bad in ipairs { "ab", ("a"):rep(64), "My-Bucket", "-abc", "abc-", "a..b", "192.168.1.2",
        "xn--abc", "abc-s3alias", "under_score", "sthree-x" } do
        local res = call("PUT", "/" .. bad)
        expect_error(res, 400, "InvalidBucketName")
      end
      for _, good in ipairs { "abc", ("a"):rep(63), "a.b-c.1" } do
        assert.are.equal(200, call("PUT", "/" .. good).status, good)
      end
    end)

    it("refuses to delete a bucket that holds objects", function()
      call("PUT", "/full-bucket")
      put("full-bucket", "k", "v")
      local res = call("DELETE", "/full-bucket")
      expect_error(res, 409, "BucketNotEmpty")
      assert.are.equal("full-bucket", xml_value(res.body, "BucketName"))
      call("DELETE", "/full-bucket/k")
      assert.are.equal(204, call("DELETE", "/full-bucket").status)
    end)

    it("gives HEAD errors without a body and unknown operations 501", function()
      local res = call("HEAD", "/no-bucket")
      assert.are.equal(404, res.status)
      assert.is_nil(res.body)
      assert.are.equal("req-1", res.headers["x-amz-request-id"])
      call("PUT", "/bkt")
      res = call("GET", "/bkt", { query = "tagging" })
      expect_error(res, 501, "NotImplemented")
      assert.truthy(xml_value(res.body, "Message"):find("GetBucketTagging", 1, true))
      res = call("PUT", "/bkt/copy", { headers = { ["x-amz-copy-source"] = "/bkt/x" } })
      expect_error(res, 501, "NotImplemented")
      assert.truthy(xml_value(res.body, "Message"):find("CopyObject", 1, true))
      expect_error(call("GET", "/bkt/key", { query = "acl" }), 501, "NotImplemented")
    end)
  end)

  describe("objects", function()
    before_each(function() assert.are.equal(200, call("PUT", "/bkt").status) end)

    it("puts, gets, heads and deletes an object with S3's headers", function()
      local res = put("bkt", "data/items.csv", "ITEM_ID\n1\n", {
        ["content-type"] = "text/csv", ["x-amz-meta-origin"] = "spec" })
      assert.are.equal(200, res.status)
      assert.are.equal('"' .. core.md5_hex("ITEM_ID\n1\n") .. '"', res.headers.ETag)
      res = call("GET", "/bkt/data/items.csv")
      assert.are.equal(200, res.status)
      assert.are.equal("ITEM_ID\n1\n", read(res.body_file))
      assert.are.equal("10", res.headers["Content-Length"])
      assert.are.equal("text/csv", res.headers["Content-Type"])
      assert.are.equal("spec", res.headers["x-amz-meta-origin"])
      assert.are.equal("Thu, 01 Jan 2026 00:00:00 GMT", res.headers["Last-Modified"])
      res = call("HEAD", "/bkt/data/items.csv")
      assert.are.equal(200, res.status)
      assert.is_nil(res.body)
      assert.is_nil(res.body_file)
      assert.are.equal("10", res.headers["Content-Length"])
      assert.are.equal(204, call("DELETE", "/bkt/data/items.csv").status)
      assert.are.equal(204, call("DELETE", "/bkt/data/items.csv").status)
      res = call("GET", "/bkt/data/items.csv")
      expect_error(res, 404, "NoSuchKey")
      assert.are.equal("data/items.csv", xml_value(res.body, "Key"))
      assert.are.equal(404, call("HEAD", "/bkt/data/items.csv").status)
      expect_error(put("nope-bucket", "k", "v"), 404, "NoSuchBucket")
    end)

    it("defaults the content type, replaces objects and serves empty ones", function()
      put("bkt", "k", "first")
      put("bkt", "k", "")
      local res = call("GET", "/bkt/k")
      assert.are.equal("", read(res.body_file))
      assert.are.equal("0", res.headers["Content-Length"])
      assert.are.equal("binary/octet-stream", res.headers["Content-Type"])
      assert.are.equal('"d41d8cd98f00b204e9800998ecf8427e"', res.headers.ETag)
      -- the replaced data file is gone
      assert.are.equal(1, #core.listdir(dir .. "/buckets/bkt/data"))
    end)

    it("round-trips tricky keys exactly, inside its directory", function()
      local keys = { "a b.csv", "ünï/cödé ✓.csv", "x=y&z", "~tilde", "d//e", "../up", "./dot", "..",
        "%41 literal", "q?mark", "#hash", ("long/"):rep(120) .. "end", "trailing/" }
      for i, key in ipairs(keys) do
        assert.are.equal(200, put("bkt", key, "body " .. i).status, key)
      end
      -- a literal '+' in a path is a plus, not a space
      assert.are.equal(200, call("PUT", "/bkt/a+b", { body = "plus" }).status)
      for i, key in ipairs(keys) do
        local res = call("GET", "/bkt/" .. encode_key(key))
        assert.are.equal(200, res.status, key)
        assert.are.equal("body " .. i, read(res.body_file))
        assert.are.equal("body " .. i, store:read_object("bkt", key))
      end
      assert.are.equal("plus", store:read_object("bkt", "a+b"))
      assert.is_nil(store:read_object("bkt", "a b"))
      local expected = { "a+b" }
      for _, k in ipairs(keys) do expected[#expected + 1] = k end
      table.sort(expected)
      assert.are.same(expected, store:list_keys("bkt"))
      assert.are.same(expected, xml_values(list("bkt", "list-type=2"), "Key"))
      -- nothing was written outside buckets/bkt
      for _, f in ipairs(tree(dir)) do assert.truthy(f:match("^buckets/bkt/"), f) end
      expect_error(put("bkt", ("k"):rep(1025), "x"), 400, "KeyTooLongError")
    end)

    it("routes virtual-hosted requests", function()
      local res = call("PUT", "/v%20key", { body = "hosted", headers = { host = "bkt.s3.us-east-1.amazonaws.com" } })
      assert.are.equal(200, res.status)
      assert.are.equal("hosted", store:read_object("bkt", "v key"))
      res = call("GET", "/v%20key", { headers = { host = "bkt.localhost:4566" } })
      assert.are.equal("hosted", read(res.body_file))
      res = call("GET", "/", { query = "list-type=2", headers = { host = "bkt.s3.localhost:9000" } })
      assert.are.same({ "v key" }, xml_values(res.body, "Key"))
      -- a plain endpoint host stays path-style
      res = call("GET", "/bkt/v%20key", { headers = { host = "s3.us-east-1.amazonaws.com" } })
      assert.are.equal("hosted", read(res.body_file))
      res = call("GET", "/bkt/v%20key", { headers = { host = "localhost:4566" } })
      assert.are.equal("hosted", read(res.body_file))
    end)

    it("copies a spooled body_file in and leaves it in place", function()
      local spool = dir .. "/spooled-body"
      local data = ("0123456789"):rep(100000)
      write(spool, data)
      local res = call("PUT", "/bkt/big.bin", { body_file = spool })
      assert.are.equal(200, res.status)
      assert.are.equal('"' .. core.md5_hex(data) .. '"', res.headers.ETag)
      assert.are.equal(data, read(spool))
      assert.are.equal(data, read(call("GET", "/bkt/big.bin").body_file))
      expect_error(call("PUT", "/bkt/missing", { body_file = dir .. "/no-such-spool" }), 400, "IncompleteBody")
    end)

    it("checks Content-MD5", function()
      local good = s3.base64_encode(core.md5("payload"))
      assert.are.equal(200, put("bkt", "m", "payload", { ["content-md5"] = good }).status)
      expect_error(put("bkt", "m", "tampered", { ["content-md5"] = good }), 400, "BadDigest")
      expect_error(put("bkt", "m", "payload", { ["content-md5"] = "nope" }), 400, "InvalidDigest")
      assert.are.equal("payload", store:read_object("bkt", "m"))
    end)

    it("decodes aws-chunked bodies, in memory and spooled", function()
      local chunked = "5;chunk-signature=abc\r\nhello\r\n6;chunk-signature=def\r\n world\r\n"
        .. "0;chunk-signature=0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n"
      local headers = { ["x-amz-content-sha256"] = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
        ["content-encoding"] = "aws-chunked", ["x-amz-decoded-content-length"] = "11" }
      local res = put("bkt", "c1", chunked, headers)
      assert.are.equal('"' .. core.md5_hex("hello world") .. '"', res.headers.ETag)
      assert.are.equal("hello world", store:read_object("bkt", "c1"))
      write(dir .. "/spool", chunked)
      res = call("PUT", "/bkt/c2", { body_file = dir .. "/spool", headers = headers })
      assert.are.equal(200, res.status)
      assert.are.equal("hello world", store:read_object("bkt", "c2"))
      expect_error(put("bkt", "c3", "5\r\nhel", headers), 400, "IncompleteBody")
      for _, f in ipairs(tree(dir .. "/buckets/bkt/data")) do assert.falsy(f:find("chunked", 1, true), f) end
    end)

    it("serves byte ranges and conditional requests", function()
      local etag = put("bkt", "r", "0123456789").headers.ETag
      local res = call("GET", "/bkt/r", { headers = { range = "bytes=2-4" } })
      assert.are.equal(206, res.status)
      assert.are.equal("234", res.body)
      assert.are.equal("bytes 2-4/10", res.headers["Content-Range"])
      assert.are.equal("3", res.headers["Content-Length"])
      assert.are.equal("789", call("GET", "/bkt/r", { headers = { range = "bytes=-3" } }).body)
      assert.are.equal("89", call("GET", "/bkt/r", { headers = { range = "bytes=8-" } }).body)
      expect_error(call("GET", "/bkt/r", { headers = { range = "bytes=10-" } }), 416, "InvalidRange")
      assert.are.equal(304, call("GET", "/bkt/r", { headers = { ["if-none-match"] = etag } }).status)
      expect_error(call("GET", "/bkt/r", { headers = { ["if-match"] = '"abc"' } }), 412, "PreconditionFailed")
      assert.are.equal(200, call("GET", "/bkt/r", { headers = { ["if-match"] = etag } }).status)
    end)

    it("deletes several objects at once", function()
      put("bkt", "a", "1")
      put("bkt", "b & c", "2")
      local body = "<Delete><Object><Key>a</Key></Object><Object><Key>b &amp; c</Key></Object>"
        .. "<Object><Key>absent</Key></Object></Delete>"
      local res = call("POST", "/bkt", { query = "delete", body = body })
      assert.are.equal(200, res.status)
      assert.are.same({ "a", "b & c", "absent" }, xml_values(res.body, "Key"))
      assert.are.same({}, store:list_keys("bkt"))
      expect_error(call("POST", "/bkt", { query = "delete", body = "<Delete>" }), 400, "MalformedXML")
    end)
  end)

  describe("ListObjectsV2", function()
    before_each(function()
      call("PUT", "/lst")
      for _, k in ipairs { "b/2.csv", "a/1.csv", "a/2.csv", "top.csv", "b/1.csv", "c/x/1.csv",
        "Zed", "é-accent", "a/3.csv" } do
        put("lst", k, k)
      end
    end)

    it("lists in UTF-8 binary order with S3's fields", function()
      local body = list("lst", "list-type=2")
      assert.are.same({ "Zed", "a/1.csv", "a/2.csv", "a/3.csv", "b/1.csv", "b/2.csv", "c/x/1.csv",
        "top.csv", "é-accent" }, xml_values(body, "Key"))
      assert.are.equal("9", xml_value(body, "KeyCount"))
      assert.are.equal("1000", xml_value(body, "MaxKeys"))
      assert.are.equal("false", xml_value(body, "IsTruncated"))
      assert.are.equal("lst", xml_value(body, "Name"))
      assert.are.equal('"' .. core.md5_hex("a/1.csv") .. '"', xml_values(body, "ETag")[2])
      assert.are.equal("7", xml_values(body, "Size")[2])
      assert.are.equal("2026-01-01T00:00:00.250Z", xml_value(body, "LastModified"))
      assert.are.same({ "a/1.csv", "a/2.csv", "a/3.csv" }, xml_values(list("lst", "list-type=2&prefix=a%2F"), "Key"))
      assert.are.same({ "b/1.csv", "b/2.csv", "c/x/1.csv", "top.csv", "é-accent" },
        xml_values(list("lst", "list-type=2&start-after=a%2F3.csv"), "Key"))
    end)

    it("pages with max-keys=2 and continuation tokens", function()
      local seen, token, pages = {}, nil, 0
      repeat
        local body = list("lst", "list-type=2&max-keys=2" .. (token and "&continuation-token=" .. encode_key(token) or ""))
        pages = pages + 1
        local keys = xml_values(body, "Key")
        assert.is_true(#keys <= 2)
        assert.are.equal(tostring(#keys), xml_value(body, "KeyCount"))
        for _, k in ipairs(keys) do seen[#seen + 1] = k end
        if token then assert.are.equal(token, xml_value(body, "ContinuationToken")) end
        token = xml_value(body, "NextContinuationToken")
        assert.are.equal(token and "true" or "false", xml_value(body, "IsTruncated"))
      until not token
      assert.are.equal(5, pages)
      assert.are.same(store:list_keys("lst"), seen)
    end)

    it("groups CommonPrefixes by delimiter, across pages", function()
      local body = list("lst", "list-type=2&delimiter=%2F")
      assert.are.same({ "Zed", "top.csv", "é-accent" }, xml_values(body, "Key"))
      assert.are.same({ "a/", "b/", "c/" }, xml_values(body:match("<CommonPrefixes>.*"), "Prefix"))
      assert.are.equal("6", xml_value(body, "KeyCount"))
      assert.are.equal("/", xml_value(body, "Delimiter"))
      body = list("lst", "list-type=2&delimiter=/&prefix=c/")
      assert.are.same({ "c/x/" }, xml_values(body:match("<CommonPrefixes>.*"), "Prefix"))
      -- two entries a page, prefixes counted like keys
      local entries, token = {}, nil
      repeat
        body = list("lst", "list-type=2&delimiter=%2F&max-keys=2" .. (token and "&continuation-token=" .. token or ""))
        for _, k in ipairs(xml_values(body, "Key")) do entries[#entries + 1] = k end
        for p in body:gmatch("<CommonPrefixes><Prefix>(.-)</Prefix>") do entries[#entries + 1] = p end
        token = xml_value(body, "NextContinuationToken")
      until not token
      table.sort(entries)
      assert.are.same({ "Zed", "a/", "b/", "c/", "top.csv", "é-accent" }, entries)
    end)

    it("url-encodes when asked and refuses bad arguments", function()
      local body = list("lst", "list-type=2&encoding-type=url&prefix=%C3%A9")
      assert.are.same({ "%C3%A9-accent" }, xml_values(body, "Key"))
      assert.are.equal("url", xml_value(body, "EncodingType"))
      local res = call("GET", "/lst", { query = "list-type=2&max-keys=lots" })
      expect_error(res, 400, "InvalidArgument")
      assert.are.equal("max-keys", xml_value(res.body, "ArgumentName"))
      expect_error(call("GET", "/lst", { query = "list-type=2&continuation-token=%%%" }), 400, "InvalidArgument")
      expect_error(call("GET", "/lst", { query = "list-type=2&encoding-type=base64" }), 400, "InvalidArgument")
      body = list("lst", "list-type=2&max-keys=0")
      assert.are.same({}, xml_values(body, "Key"))
    end)

    it("supports version 1 listings with markers", function()
      local body = list("lst", "max-keys=3&delimiter=/")
      assert.are.same({ "Zed" }, xml_values(body, "Key"))
      assert.are.equal("true", xml_value(body, "IsTruncated"))
      assert.are.equal("b/", xml_value(body, "NextMarker"))
      body = list("lst", "delimiter=/&marker=b/")
      assert.are.same({ "top.csv", "é-accent" }, xml_values(body, "Key"))
      assert.are.same({ "c/" }, xml_values(body:match("<CommonPrefixes>.*"), "Prefix"))
    end)
  end)

  describe("multipart uploads", function()
    local part1, part2 = ("a"):rep(5 * MIB), ("b"):rep(5 * MIB)

    before_each(function() call("PUT", "/mpu") end)

    local function create(key)
      local res = call("POST", "/mpu/" .. encode_key(key), { query = "uploads", headers = { ["content-type"] = "text/csv" } })
      assert.are.equal(200, res.status)
      assert.are.equal(key, xml_value(res.body, "Key"))
      return xml_value(res.body, "UploadId")
    end

    local function upload(key, id, n, body, extra)
      extra = extra or {}
      extra.body = extra.body_file and nil or body
      extra.query = "partNumber=" .. n .. "&uploadId=" .. id
      return call("PUT", "/mpu/" .. encode_key(key), extra)
    end

    local function complete_xml(parts)
      local out = { "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">" }
      for _, p in ipairs(parts) do
        out[#out + 1] = "<Part><ETag>" .. p[2]:gsub('"', "&quot;") .. "</ETag><PartNumber>" .. p[1] .. "</PartNumber></Part>"
      end
      out[#out + 1] = "</CompleteMultipartUpload>"
      return table.concat(out)
    end

    it("assembles parts into an object with S3's multipart ETag", function()
      local key = "imports/interactions part.csv"
      local id = create(key)
      assert.truthy(id:match("^%x+$"))
      local e1 = upload(key, id, 1, part1).headers.ETag
      assert.are.equal('"' .. core.md5_hex(part1) .. '"', e1)
      write(dir .. "/spooled-part", part2)
      local e2 = upload(key, id, 2, nil, { body_file = dir .. "/spooled-part" }).headers.ETag
      assert.are.equal('"' .. core.md5_hex(part2) .. '"', e2)
      local e3 = upload(key, id, 3, "tail").headers.ETag
      local res = call("GET", "/mpu", { query = "uploads" })
      assert.are.same({ id }, xml_values(res.body, "UploadId"))
      res = call("POST", "/mpu/" .. encode_key(key), { query = "uploadId=" .. id,
        body = complete_xml { { 1, e1 }, { 2, e2 }, { 3, e3 } } })
      assert.are.equal(200, res.status, res.body)
      local expected = '"' .. core.md5_hex(core.md5(part1) .. core.md5(part2) .. core.md5("tail")) .. '-3"'
      assert.are.equal(expected, xml_value(res.body, "ETag"))
      assert.are.equal(key, xml_value(res.body, "Key"))
      local got = call("GET", "/mpu/" .. encode_key(key))
      assert.are.equal(expected, got.headers.ETag)
      assert.are.equal("text/csv", got.headers["Content-Type"])
      assert.are.equal(tostring(10 * MIB + 4), got.headers["Content-Length"])
      local data = read(got.body_file)
      assert.is_true(data == part1 .. part2 .. "tail")
      -- the upload is gone with its parts
      assert.are.same({}, core.listdir(dir .. "/buckets/mpu/uploads"))
      expect_error(call("POST", "/mpu/" .. encode_key(key), { query = "uploadId=" .. id,
        body = complete_xml { { 1, e1 } } }), 404, "NoSuchUpload")
      assert.are.same({}, xml_values(call("GET", "/mpu", { query = "uploads" }).body, "UploadId"))
    end)

    it("refuses small parts, unknown parts and parts out of order", function()
      local id = create("k")
      local e1 = upload("k", id, 1, "small").headers.ETag
      local e2 = upload("k", id, 2, "also small").headers.ETag
      local res = call("POST", "/mpu/k", { query = "uploadId=" .. id, body = complete_xml { { 1, e1 }, { 2, e2 } } })
      expect_error(res, 400, "EntityTooSmall")
      assert.are.equal("5", xml_value(res.body, "ProposedSize"))
      expect_error(call("POST", "/mpu/k", { query = "uploadId=" .. id, body = complete_xml { { 2, e2 }, { 1, e1 } } }),
        400, "InvalidPartOrder")
      expect_error(call("POST", "/mpu/k", { query = "uploadId=" .. id, body = complete_xml { { 1, '"ffff"' } } }),
        400, "InvalidPart")
      expect_error(call("POST", "/mpu/k", { query = "uploadId=" .. id, body = complete_xml { { 7, e1 } } }),
        400, "InvalidPart")
      expect_error(call("POST", "/mpu/k", { query = "uploadId=" .. id, body = "<CompleteMultipartUpload>" }),
        400, "MalformedXML")
      expect_error(upload("k", id, 10001, "x"), 400, "InvalidArgument")
      expect_error(upload("k", "abc123", 1, "x"), 404, "NoSuchUpload")
      expect_error(upload("other-key", id, 1, "x"), 404, "NoSuchUpload")
      -- a single small part is fine: the last part may be small
      res = call("POST", "/mpu/k", { query = "uploadId=" .. id, body = complete_xml { { 1, e1 } } })
      assert.are.equal(200, res.status)
      assert.are.equal("small", store:read_object("mpu", "k"))
    end)

    it("aborts uploads", function()
      local id = create("k")
      upload("k", id, 1, "x")
      assert.are.equal(204, call("DELETE", "/mpu/k", { query = "uploadId=" .. id }).status)
      expect_error(call("DELETE", "/mpu/k", { query = "uploadId=" .. id }), 404, "NoSuchUpload")
      assert.are.same({}, core.listdir(dir .. "/buckets/mpu/uploads"))
      assert.is_nil(store:read_object("mpu", "k"))
    end)
  end)

  describe("bucket policies", function()
    local tutorial = [[{
      "Version": "2012-10-17",
      "Id": "PersonalizeS3BucketAccessPolicy",
      "Statement": [{
        "Sid": "PersonalizeS3BucketAccessPolicy",
        "Effect": "Allow",
        "Principal": { "Service": "personalize.amazonaws.com" },
        "Action": ["s3:GetObject", "s3:ListBucket"],
        "Resource": ["arn:aws:s3:::pol-bucket", "arn:aws:s3:::pol-bucket/*"]
      }]
    }]]
    local P = "personalize.amazonaws.com"

    local function set_policy(text)
      return call("PUT", "/pol-bucket", { query = "policy", body = text })
    end

    before_each(function() call("PUT", "/pol-bucket") end)

    it("stores, returns and deletes the policy", function()
      expect_error(call("GET", "/pol-bucket", { query = "policy" }), 404, "NoSuchBucketPolicy")
      assert.are.equal(204, set_policy(tutorial).status)
      assert.are.equal(tutorial, call("GET", "/pol-bucket", { query = "policy" }).body)
      assert.are.equal(204, call("DELETE", "/pol-bucket", { query = "policy" }).status)
      expect_error(call("GET", "/pol-bucket", { query = "policy" }), 404, "NoSuchBucketPolicy")
      expect_error(call("PUT", "/no-bucket", { query = "policy", body = tutorial }), 404, "NoSuchBucket")
    end)

    it("refuses malformed policies", function()
      for _, bad in ipairs {
        "not json", "[1]", "{}",
        '{"Statement": [{"Effect": "Maybe", "Principal": "*", "Action": "s3:*", "Resource": "arn:aws:s3:::pol-bucket"}]}',
        '{"Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::pol-bucket"}}',
        '{"Statement": {"Effect": "Allow", "Principal": "*", "Action": "ec2:Run", "Resource": "arn:aws:s3:::pol-bucket"}}',
        '{"Statement": {"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "arn:aws:s3:::other/*"}}',
        '{"Version": "2020-01-01", "Statement": {"Effect": "Allow", "Principal": "*", "Action": "s3:*",'
          .. ' "Resource": "arn:aws:s3:::pol-bucket"}}',
      } do
        expect_error(set_policy(bad), 400, "MalformedPolicy")
      end
      assert.is_false((store:allows("pol-bucket", P, "s3:GetObject", "k")))
    end)

    it("allows what the tutorial's policy allows, and nothing more", function()
      local ok, reason = store:allows("pol-bucket", P, "s3:GetObject", "data.csv")
      assert.is_false(ok)
      assert.truthy(reason:find("no bucket policy", 1, true))
      set_policy(tutorial)
      assert.is_true(store:allows("pol-bucket", P, "s3:GetObject", "data/items.csv"))
      assert.is_true(store:allows("pol-bucket", P, "s3:ListBucket"))
      ok, reason = store:allows("pol-bucket", P, "s3:PutObject", "out/x.csv")
      assert.is_false(ok)
      assert.truthy(reason:find("s3:PutObject", 1, true))
      assert.is_false((store:allows("pol-bucket", "ec2.amazonaws.com", "s3:GetObject", "data.csv")))
      assert.is_false((store:allows("no-bucket", P, "s3:GetObject", "data.csv")))
    end)

    it("lets an explicit Deny win and matches wildcards", function()
      set_policy([[{"Statement": [
        {"Effect": "Allow", "Principal": {"Service": ["glue.amazonaws.com", "personalize.amazonaws.com"]},
         "Action": "s3:*", "Resource": "arn:aws:s3:::pol-bucket*"},
        {"Sid": "NoSecrets", "Effect": "Deny", "Principal": "*", "Action": "s3:Get*",
         "Resource": "arn:aws:s3:::pol-bucket/secret/*"}]}]])
      assert.is_true(store:allows("pol-bucket", P, "s3:PutObject", "out/batch.json"))
      assert.is_true(store:allows("pol-bucket", P, "S3:getobject", "public/a.csv"))
      local ok, reason = store:allows("pol-bucket", P, "s3:GetObject", "secret/a.csv")
      assert.is_false(ok)
      assert.truthy(reason:find('"NoSecrets"', 1, true))
      assert.is_true(store:allows("pol-bucket", P, "s3:PutObject", "secret/a.csv"))
    end)

    it("checks resources and conditions", function()
      -- the bucket's ARN alone does not cover its objects
      set_policy([[{"Statement": {"Effect": "Allow", "Principal": {"Service": "personalize.amazonaws.com"},
        "Action": ["s3:GetObject", "s3:ListBucket"], "Resource": "arn:aws:s3:::pol-bucket"}}]])
      assert.is_true(store:allows("pol-bucket", P, "s3:ListBucket"))
      assert.is_false((store:allows("pol-bucket", P, "s3:GetObject", "data.csv")))
      set_policy([[{"Statement": {"Effect": "Allow", "Principal": {"Service": "personalize.amazonaws.com"},
        "Action": "s3:GetObject", "Resource": "arn:aws:s3:::pol-bucket/*",
        "Condition": {"StringEquals": {"aws:SourceAccount": "123456789012"}}}}]])
      assert.is_true(store:allows("pol-bucket", P, "s3:GetObject", "data.csv"))
      set_policy([[{"Statement": {"Effect": "Allow", "Principal": {"Service": "personalize.amazonaws.com"},
        "Action": "s3:GetObject", "Resource": "arn:aws:s3:::pol-bucket/*",
        "Condition": {"ArnLike": {"aws:SourceArn": "arn:aws:personalize:us-east-1:123456789012:*"}}}}]])
      assert.is_false((store:allows("pol-bucket", P, "s3:GetObject", "data.csv")))
      assert.is_true(store:allows("pol-bucket", P, "s3:GetObject", "data.csv",
        { ["aws:SourceArn"] = "arn:aws:personalize:us-east-1:123456789012:dataset-import-job/j" }))
    end)
  end)

  describe("storage", function()
    it("is seen by a new store on the same directory", function()
      call("PUT", "/keep")
      put("keep", "a/b c.csv", "kept", { ["content-type"] = "text/csv" })
      call("PUT", "/keep", { query = "policy", body = [[{"Statement": {"Effect": "Allow", "Principal": "*",
        "Action": "s3:GetObject", "Resource": "arn:aws:s3:::keep/*"}}]] })
      local id = xml_value(call("POST", "/keep/up", { query = "uploads" }).body, "UploadId")
      local etag = call("PUT", "/keep/up", { query = "partNumber=1&uploadId=" .. id, body = "part" }).headers.ETag
      store = assert(s3.new { dir = dir, now = clock })
      assert.are.same({ "keep" }, xml_values(call("GET", "/").body, "Name"))
      local res = call("GET", "/keep/a/b%20c.csv")
      assert.are.equal("kept", read(res.body_file))
      assert.are.equal("text/csv", res.headers["Content-Type"])
      assert.is_true(store:allows("keep", "personalize.amazonaws.com", "s3:GetObject", "a/b c.csv"))
      res = call("POST", "/keep/up", { query = "uploadId=" .. id,
        body = "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>" .. etag
          .. "</ETag></Part></CompleteMultipartUpload>" })
      assert.are.equal(200, res.status)
      assert.are.equal("part", store:read_object("keep", "up"))
    end)

    it("leaves no temporary file behind when a write fails", function()
      call("PUT", "/fail")
      put("fail", "k", "old")
      -- a directory where the metadata file goes makes the commit fail
      local meta = dir .. "/buckets/fail/objects/kblocked.json"
      assert(core.mkdir(meta))
      local ok, code = store:write_object("fail", "blocked", "new data", "text/plain")
      assert.is_nil(ok)
      assert.are.equal("InternalError", code)
      expect_error(put("fail", "blocked", "via http"), 500, "InternalError")
      write(dir .. "/spool", "spooled")
      expect_error(call("PUT", "/fail/blocked", { body_file = dir .. "/spool" }), 500, "InternalError")
      local names = tree(dir .. "/buckets/fail")
      assert.are.same({ "bucket.json", "data/" .. core.listdir(dir .. "/buckets/fail/data")[1],
        "objects/kk.json" }, names)
      for _, f in ipairs(names) do assert.falsy(f:find(".tmp.", 1, true), f) end
      assert.are.equal("old", store:read_object("fail", "k"))
    end)
  end)

  describe("core helpers", function()
    it("hash with MD5", function()
      assert.are.equal("d41d8cd98f00b204e9800998ecf8427e", core.md5_hex(""))
      assert.are.equal("900150983cd24fb0d6963f7d28e17f72", core.md5_hex("abc"))
      assert.are.equal(core.md5_hex("abc"), core.hex(core.md5("abc")))
    end)

    it("concatenate files atomically, or leave nothing", function()
      write(dir .. "/p1", "hello ")
      write(dir .. "/p2", "world")
      local size, md5 = core.copy_files(dir .. "/out", { dir .. "/p1", dir .. "/p2" })
      assert.are.equal(11, size)
      assert.are.equal(core.md5_hex("hello world"), md5)
      assert.are.equal("hello world", read(dir .. "/out"))
      local ok, err = core.copy_files(dir .. "/out", { dir .. "/p1", dir .. "/missing" })
      assert.is_nil(ok)
      assert.truthy(err:find("missing", 1, true))
      assert.are.equal("hello world", read(dir .. "/out"))
      assert.are.same({ "buckets", "out", "p1", "p2" }, core.listdir(dir))
      assert.is_true(core.fsync(dir))
      assert.is_nil(core.fsync(dir .. "/missing"))
    end)
  end)

  describe("helpers", function()
    it("read, write, locate and list objects for the engine's jobs", function()
      assert.is_true(store:create_bucket("jobs"))
      local ok, code = store:create_bucket("jobs")
      assert.is_nil(ok)
      assert.are.equal("BucketAlreadyOwnedByYou", code)
      assert.are.equal("InvalidBucketName", select(2, store:create_bucket("Bad_Name")))
      assert.is_true(store:write_object("jobs", "out/part-0.json", '{"a":1}\n', "application/json"))
      assert.is_true(store:write_object("jobs", "out/part-1.json", "", nil))
      assert.is_true(store:write_object("jobs", "in.csv", "x", "text/csv"))
      assert.are.equal('{"a":1}\n', store:read_object("jobs", "out/part-0.json"))
      assert.are.equal("x", read(store:object_path("jobs", "in.csv")))
      assert.are.same({ "out/part-0.json", "out/part-1.json" }, store:list_keys("jobs", "out/"))
      assert.are.same({ "in.csv", "out/part-0.json", "out/part-1.json" }, store:list_keys("jobs"))
      local meta = store:stat_object("jobs", "in.csv")
      assert.are.equal(1, meta.Size)
      assert.are.equal("text/csv", meta.ContentType)
      local data, c, message = store:read_object("jobs", "absent")
      assert.is_nil(data)
      assert.are.equal("NoSuchKey", c)
      assert.are.equal("The specified key does not exist.", message)
      assert.are.equal("NoSuchBucket", select(2, store:read_object("nope", "k")))
      assert.are.equal("NoSuchBucket", select(2, store:object_path("nope", "k")))
      assert.are.equal("NoSuchBucket", select(2, store:list_keys("nope")))
      assert.are.equal("NoSuchBucket", select(2, store:write_object("nope", "k", "v")))
      assert.are.equal("NoSuchBucket", select(2, store:read_object("../jobs", "in.csv")))
      assert.are.equal("MalformedPolicy", select(2, store:put_policy("jobs", "{")))
    end)

    it("never raises on bad requests", function()
      for _, req in ipairs {
        { method = "DELETE" }, { method = "PATCH", path = "/x" }, { method = "GET", path = "/%zz/%" },
        { method = "POST", path = "/" }, { method = "GET", path = "/../../etc/passwd" },
        { method = "GET", path = "/bkt?list-type=2&max-keys=-1" },
      } do
        local ok, res = pcall(store.handle, store, req, { request_id = "r" })
        assert.is_true(ok, tostring(res))
        assert.is_true(res.status >= 400, tostring(req.path) .. " gave " .. tostring(res.status))
        assert.are.equal("r", res.headers["x-amz-request-id"])
      end
      assert.has_error(function() s3.new {} end)
    end)
  end)

  describe("bodies the authenticator vouched for", function()
    local auth = require "personalize.engine.auth"
    local SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    local AMZ_DATE = "20130524T000000Z"
    local SEED = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"

    -- The ctx auth.verify hands over for a signed streaming upload: the
    -- seed signature and key of S3's documented example ("Example PUT
    -- Object" of "Transferring Payload in Multiple Chunks").
    local function ctx(payload)
      return { access_key_id = "AKIAIOSFODNN7EXAMPLE", request_id = "r", payload = payload, signature = SEED,
        amz_date = AMZ_DATE, scope = "20130524/us-east-1/s3/aws4_request",
        signing_key = auth.signing_key(SECRET, "20130524", "us-east-1", "s3") }
    end

    local function chunked(chunks, payload, tamper)
      local c = ctx(payload)
      local prev, out = SEED, {}
      chunks[#chunks + 1] = ""
      for i, data in ipairs(chunks) do
        local sig = auth.chunk_signature(c, prev, core.sha256_hex(data))
        if tamper == i then sig = ("0"):rep(64) end
        out[#out + 1] = ("%x;chunk-signature=%s\r\n%s\r\n"):format(#data, sig, data)
        prev = sig
      end
      return table.concat(out), prev
    end

    local function put_chunked(key, body, payload, spooled)
      local headers = { ["x-amz-content-sha256"] = payload, ["content-encoding"] = "aws-chunked" }
      local opts = { headers = headers }
      if spooled then
        write(dir .. "/spool", body)
        opts.body_file = dir .. "/spool"
      else
        opts.body = body
      end
      seq = seq + 1
      return store:handle({ method = "PUT", path = "/bkt/" .. key, headers = headers, body = opts.body,
        body_file = opts.body_file }, ctx(payload))
    end

    before_each(function() assert.are.equal(200, call("PUT", "/bkt").status) end)

    -- S3's documented vectors: 65536 and 1024 bytes of "a", then the final
    -- chunk; with trailers, the trailer signature over a CRC32C checksum.
    it("matches S3's documented chunk and trailer signatures", function()
      local c = ctx("STREAMING-AWS4-HMAC-SHA256-PAYLOAD")
      local expected = { "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
        "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
        "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9" }
      local prev = SEED
      for i, data in ipairs { ("a"):rep(65536), ("a"):rep(1024), "" } do
        prev = auth.chunk_signature(c, prev, core.sha256_hex(data))
        assert.are.equal(expected[i], prev)
      end
      assert.are.equal("d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435",
        auth.trailer_signature(c, "2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992",
          "x-amz-checksum-crc32c:sOO8/Q==\n"))
    end)

    it("stores chunks whose signatures chain from the seed, in memory and spooled", function()
      for _, spooled in ipairs { false, true } do
        local body = chunked({ "hello", " world" }, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD")
        local res = put_chunked("good", body, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", spooled)
        assert.are.equal(200, res.status, res.body)
        assert.are.equal("hello world", store:read_object("bkt", "good"))
      end
    end)

    it("refuses a chunk signed out of the chain, and keeps the old object", function()
      for _, spooled in ipairs { false, true } do
        for tamper = 1, 3 do
          local body = chunked({ "evil", " data" }, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", tamper)
          local res = put_chunked("kept", body, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", spooled)
          expect_error(res, 403, "SignatureDoesNotMatch")
        end
        -- chunks of another upload (signed from another seed) do not chain either
        local body = chunked({ "hello" }, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD")
        local c = ctx("STREAMING-AWS4-HMAC-SHA256-PAYLOAD")
        c.signature = ("1"):rep(64)
        local res = store:handle({ method = "PUT", path = "/bkt/kept", headers = {
          ["x-amz-content-sha256"] = c.payload }, body = body }, c)
        expect_error(res, 403, "SignatureDoesNotMatch")
      end
      assert.are.equal("NoSuchKey", select(2, store:read_object("bkt", "kept")))
      for _, f in ipairs(tree(dir .. "/buckets/bkt/data")) do assert.falsy(f:find("chunked", 1, true), f) end
    end)

    it("checks the trailer signature of a signed upload with trailers", function()
      local payload = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
      local body, last = chunked({ "hello" }, payload)
      local trailer = "x-amz-checksum-crc32:NhCmhg=="
      local sig = auth.trailer_signature(ctx(payload), last, trailer .. "\n")
      local good = body:gsub("\r\n\r\n$", "\r\n") .. trailer .. "\r\nx-amz-trailer-signature:" .. sig .. "\r\n\r\n"
      assert.are.equal(200, put_chunked("trailed", good, payload).status)
      local bad = good:gsub("NhCmhg==", "AAAAAA==")
      expect_error(put_chunked("trailed", bad, payload), 403, "SignatureDoesNotMatch")
      expect_error(put_chunked("trailed", body, payload), 403, "SignatureDoesNotMatch")
    end)

    it("refuses XML bodies with a DOCTYPE as MalformedXML, without expanding them", function()
      local bomb = '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "' .. ("x"):rep(1000) .. '">'
        .. '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><Delete><Object><Key>&b;</Key></Object></Delete>'
      local res = call("POST", "/bkt", { query = "delete", body = bomb })
      expect_error(res, 400, "MalformedXML")
      assert.falsy(res.body:find(".lua", 1, true))
    end)

    it("checks Content-MD5 on XML bodies too", function()
      assert.are.equal(200, put("bkt", "k", "v").status)
      local body = "<Delete><Object><Key>k</Key></Object></Delete>"
      expect_error(call("POST", "/bkt", { query = "delete", body = body,
        headers = { ["content-md5"] = s3.base64_encode(core.md5("other")) } }), 400, "BadDigest")
      assert.are.equal("v", store:read_object("bkt", "k"))
      assert.are.equal(200, call("POST", "/bkt", { query = "delete", body = body,
        headers = { ["content-md5"] = s3.base64_encode(core.md5(body)) } }).status)
    end)
  end)
end)
