-- The S3 client against moto_server with signature verification on: every
-- method, errors, awkward keys, pagination, files streamed both ways,
-- multipart uploads chosen by size and aborted on failure.
local core = require "personalize.core"
local moto = require "support.moto"
local s3mod = require "personalize.s3"
local files = require "support.files"

local MIB = 1024 * 1024

-- Writes `size` bytes of varied content to `path` in 64 KiB chunks (the
-- whole never exists as one Lua string). Returns path.
local function generate(path, size)
  local f = assert(io.open(path, "wb"))
  local block = {}
  for i = 1, 1024 do block[i] = ("%063d\n"):format(i) end
  block = table.concat(block)
  local written, n = 0, 0
  while written < size do
    n = n + 1
    local chunk = (n .. ":" .. block):sub(1, math.min(#block, size - written))
    f:write(chunk)
    written = written + #chunk
  end
  f:close()
  return path
end

local slurp = files.read

-- Lua heap growth in KiB while `fn` runs with the collector stopped: every
-- string made on the way stays counted.
local function heap_growth(fn)
  collectgarbage("collect")
  collectgarbage("stop")
  local before = collectgarbage("count")
  local a, b = fn()
  local grown = collectgarbage("count") - before
  collectgarbage("restart")
  return grown, a, b
end

describe("personalize.s3 against moto_server (SigV4 verified)", function()
  local peer, s3, dir
  -- moto verifies signatures over the URL as its web server decodes and
  -- re-quotes it, so a path with '+', '=', '%' or non-ASCII bytes, or a
  -- query value with '/', fails there for every client (the aws CLI too).
  -- Those signatures are checked against botocore's in s3_spec.lua; the
  -- requests themselves go to a second moto that does not verify.
  local plain, plain_s3

  local function new_client(opts)
    local o = { endpoint = peer.endpoint, region = peer.region, max_attempts = 1, env = {},
      credentials = { access_key_id = peer.access_key_id, secret_access_key = peer.secret_access_key } }
    for k, v in pairs(opts or {}) do o[k] = v end
    return s3mod.new(o)
  end

  setup(function()
    peer = moto.start { auth = true }
    if peer then
      s3 = new_client()
      plain = moto.start { auth = false }
      plain_s3 = s3mod.new { endpoint = plain.endpoint, region = plain.region, max_attempts = 1, env = {},
        credentials = { access_key_id = "testing", secret_access_key = "testing" } }
    end
    dir = os.tmpname()
    os.remove(dir)
    assert(core.mkdir(dir))
  end)
  teardown(function()
    if peer then peer:stop() end
    if plain then plain:stop() end
    core.remove_tree(dir)
  end)

  it("creates, heads, lists and deletes buckets", function()
    if not peer then return end
    local created = assert(s3:create_bucket { Bucket = "spec-buckets" })
    assert.are.equal("/spec-buckets", created.Location)
    assert.are.equal(200, created.ResponseMetadata.HTTPStatusCode)
    assert(s3:head_bucket { Bucket = "spec-buckets" })
    local listed = assert(s3:list_buckets {})
    local names = {}
    for _, b in ipairs(listed.Buckets) do names[b.Name] = b.CreationDate end
    assert.is_string(names["spec-buckets"])
    local deleted = assert(s3:delete_bucket { Bucket = "spec-buckets" })
    assert.are.equal(204, deleted.ResponseMetadata.HTTPStatusCode)

    local res, err = s3:head_bucket { Bucket = "spec-buckets" }
    assert.is_nil(res)
    assert.are.same({ "NotFound", 404, "HeadBucket" }, { err.code, err.status, err.operation })
    res, err = s3:delete_bucket { Bucket = "spec-buckets" }
    assert.is_nil(res)
    assert.are.same({ "NoSuchBucket", 404 }, { err.code, err.status })
  end)

  it("puts, gets, heads and deletes objects", function()
    if not peer then return end
    assert(s3:create_bucket { Bucket = "spec-objects" })
    local put = assert(s3:put_object { Bucket = "spec-objects", Key = "data/items.csv", Body = "ITEM_ID\n1\n",
      ContentType = "text/csv", Metadata = { origin = "spec" } })
    assert.are.equal('"' .. core.md5_hex("ITEM_ID\n1\n") .. '"', put.ETag)
    local got = assert(s3:get_object { Bucket = "spec-objects", Key = "data/items.csv" })
    assert.are.equal("ITEM_ID\n1\n", got.Body)
    assert.are.equal(10, got.ContentLength)
    assert.are.equal("text/csv", got.ContentType)
    assert.are.equal(put.ETag, got.ETag)
    assert.is_string(got.LastModified)
    assert.are.same({ origin = "spec" }, got.Metadata)
    local head = assert(s3:head_object { Bucket = "spec-objects", Key = "data/items.csv" })
    assert.are.equal(10, head.ContentLength)
    assert.is_nil(head.Body)
    local part = assert(s3:get_object { Bucket = "spec-objects", Key = "data/items.csv", Range = "bytes=0-6" })
    assert.are.equal("ITEM_ID", part.Body)
    assert(s3:put_object { Bucket = "spec-objects", Key = "empty" })
    assert.are.equal("", assert(s3:get_object { Bucket = "spec-objects", Key = "empty" }).Body)

    assert(s3:delete_object { Bucket = "spec-objects", Key = "data/items.csv" })
    local res, err = s3:get_object { Bucket = "spec-objects", Key = "data/items.csv" }
    assert.is_nil(res)
    assert.are.same({ "NoSuchKey", 404, "GetObject", false }, { err.code, err.status, err.operation, err.retryable })
    assert.is_string(err.request_id)
    res, err = s3:head_object { Bucket = "spec-objects", Key = "data/items.csv" }
    assert.is_nil(res)
    assert.are.same({ "NotFound", 404 }, { err.code, err.status })
    res, err = s3:get_object { Bucket = "spec-no-such-bucket", Key = "k" }
    assert.is_nil(res)
    assert.are.equal("NoSuchBucket", err.code)
    assert.truthy(tostring(err):find("An error occurred (NoSuchBucket) when calling the GetObject operation", 1, true))
  end)

  it("is refused with a wrong secret key", function()
    if not peer then return end
    local wrong = new_client { credentials = { access_key_id = peer.access_key_id, secret_access_key = "not-the-secret" } }
    local res, err = wrong:list_buckets {}
    assert.is_nil(res)
    assert.are.same({ "SignatureDoesNotMatch", 403 }, { err.code, err.status })
    assert.is_nil(tostring(err):find("not-the-secret", 1, true))
    res, err = wrong:put_object { Bucket = "spec-objects", Key = "k", Body = "x" }
    assert.is_nil(res)
    assert.are.equal("SignatureDoesNotMatch", err.code)
  end)

  local function round_trip(client, bucket, keys)
    assert(client:create_bucket { Bucket = bucket })
    for _, key in ipairs(keys) do
      assert(client:put_object { Bucket = bucket, Key = key, Body = "body of " .. key })
      assert.are.equal("body of " .. key, assert(client:get_object { Bucket = bucket, Key = key }).Body, key)
      assert(client:head_object { Bucket = bucket, Key = key })
    end
    local listed, want = {}, {}
    for obj in client:list_all(bucket) do listed[#listed + 1] = obj.Key end
    for i, k in ipairs(keys) do want[i] = k end
    table.sort(listed)
    table.sort(want)
    assert.are.same(want, listed)
    for _, key in ipairs(keys) do assert(client:delete_object { Bucket = bucket, Key = key }) end
    assert.are.same({}, assert(client:list_objects_v2 { Bucket = bucket }).Contents)
  end

  it("round-trips keys with spaces, '~', '/' and '..' segments exactly", function()
    if not peer then return end
    round_trip(s3, "spec-keys", { "a b", "with  two spaces", "~tilde~", "x/../y", "./z", "a/./b", "/leading",
                                  "dir//double", "..", "trailing/" })
  end)

  it("round-trips keys with unicode, '+', '=' and '%' exactly (unverifying moto)", function()
    if not plain then return end
    round_trip(plain_s3, "spec-keys-2", { "ü/é/日本語", "a+b", "c=d", "100%", "%41", "sp ace+plus=eq~/../x",
                                          "emoji 😀", "q?x#y&z" })
  end)

  it("pages list_objects_v2 with MaxKeys = 2, with prefixes and delimiters", function()
    if not peer then return end
    assert(s3:create_bucket { Bucket = "spec-pages" })
    local keys = { "p/1", "p/2", "p/3", "p/4", "p/5", "p/sub/6", "q/7" }
    for _, k in ipairs(keys) do assert(s3:put_object { Bucket = "spec-pages", Key = k, Body = k }) end

    local seen, token, pages = {}, nil, 0
    repeat
      local page = assert(s3:list_objects_v2 { Bucket = "spec-pages", Prefix = "p", MaxKeys = 2,
                                               ContinuationToken = token })
      pages = pages + 1
      assert.is_true(page.KeyCount <= 2)
      for _, c in ipairs(page.Contents) do
        seen[#seen + 1] = c.Key
        assert.are.equal(#c.Key, c.Size)
        assert.are.equal('"' .. core.md5_hex(c.Key) .. '"', c.ETag)
        assert.is_string(c.LastModified)
      end
      if page.IsTruncated then assert.is_string(page.NextContinuationToken) end
      token = page.NextContinuationToken
    until not page.IsTruncated
    assert.are.equal(3, pages)
    assert.are.same({ "p/1", "p/2", "p/3", "p/4", "p/5", "p/sub/6" }, seen)

    local all = {}
    for obj in s3:list_all("spec-pages", nil, 2) do all[#all + 1] = obj.Key end
    assert.are.same(keys, all)

    local after = assert(s3:list_objects_v2 { Bucket = "spec-pages", StartAfter = "p" })
    assert.are.equal("p/1", after.Contents[1].Key)

    if plain_s3 then   -- '/' in query values: see `plain` above
      assert(plain_s3:create_bucket { Bucket = "spec-pages" })
      for _, k in ipairs(keys) do assert(plain_s3:put_object { Bucket = "spec-pages", Key = k, Body = k }) end
      local top = assert(plain_s3:list_objects_v2 { Bucket = "spec-pages", Delimiter = "/" })
      assert.are.same({ { Prefix = "p/" }, { Prefix = "q/" } }, top.CommonPrefixes)
      assert.are.same({}, top.Contents)
      local sub = assert(plain_s3:list_objects_v2 { Bucket = "spec-pages", Prefix = "p/", Delimiter = "/", MaxKeys = 2 })
      assert.are.same({ "p/1", "p/2" }, { sub.Contents[1].Key, sub.Contents[2].Key })
      assert.is_true(sub.IsTruncated)
      after = assert(plain_s3:list_objects_v2 { Bucket = "spec-pages", StartAfter = "p/5" })
      assert.are.equal("p/sub/6", after.Contents[1].Key)
    end

    local failed = {}
    for obj, err in s3:list_all("spec-no-such-bucket") do failed[#failed + 1] = obj == false and err.code end
    assert.are.same({ "NoSuchBucket" }, failed)
  end)

  it("puts and gets bucket policies, from text or a table", function()
    if not peer then return end
    assert(s3:create_bucket { Bucket = "spec-policy" })
    local policy = { Version = "2012-10-17", Statement = { { Sid = "PersonalizeS3BucketAccessPolicy",
      Effect = "Allow", Principal = { Service = "personalize.amazonaws.com" },
      Action = { "s3:GetObject", "s3:ListBucket" },
      Resource = { "arn:aws:s3:::spec-policy", "arn:aws:s3:::spec-policy/*" } } } }
    assert(s3:put_bucket_policy { Bucket = "spec-policy", Policy = policy })
    local got = assert(s3:get_bucket_policy { Bucket = "spec-policy" })
    assert.are.same(policy, require("cjson").decode(got.Policy))
    local text = '{"Version":"2012-10-17","Statement":[]}'
    assert(s3:put_bucket_policy { Bucket = "spec-policy", Policy = text })
    assert.are.equal(text, assert(s3:get_bucket_policy { Bucket = "spec-policy" }).Policy)
    local res, err = s3:get_bucket_policy { Bucket = "spec-no-such-bucket" }
    assert.is_nil(res)
    assert.are.equal("NoSuchBucket", err.code)
  end)

  it("streams a 20 MiB file up and down without holding it in Lua", function()
    if not peer then return end
    assert(s3:create_bucket { Bucket = "spec-files" })
    local src = generate(dir .. "/big.bin", 20 * MIB + 12345)
    local grown, put = heap_growth(function()
      return s3:put_object { Bucket = "spec-files", Key = "big.bin", File = src }
    end)
    assert(put)
    assert.is_true(grown < 1024, ("put_object grew the heap by %.0f KiB"):format(grown))
    local dest = dir .. "/down.bin"
    local got
    grown, got = heap_growth(function()
      return s3:get_object { Bucket = "spec-files", Key = "big.bin", File = dest }
    end)
    assert(got)
    assert.is_true(grown < 1024, ("get_object grew the heap by %.0f KiB"):format(grown))
    assert.is_nil(got.Body)
    assert.are.equal(20 * MIB + 12345, got.ContentLength)
    assert.are.equal(core.sha256_file(src), core.sha256_file(dest))
    assert.are.same({ "big.bin", "down.bin" }, (function()
      local l = core.listdir(dir)
      table.sort(l)
      return l
    end)())

    -- download_file of a missing key: nothing left behind, not even a temp file.
    local res, err = s3:download_file("spec-files", "missing.bin", dir .. "/missing.bin")
    assert.is_nil(res)
    assert.are.equal("NoSuchKey", err.code)
    assert.are.equal(2, #core.listdir(dir))
    -- and an existing file is not clobbered by a failed download.
    res = s3:download_file("spec-files", "missing.bin", dest)
    assert.is_nil(res)
    assert.are.equal(core.sha256_file(src), core.sha256_file(dest))
    os.remove(dest)
  end)

  it("uploads in parts above the threshold, streamed, and downloads the same bytes", function()
    if not peer then return end
    assert(s3:create_bucket { Bucket = "spec-multipart" })
    local src = generate(dir .. "/multi.bin", 12 * MIB + 7)
    local grown, res = heap_growth(function()
      return s3:upload_file(src, "spec-multipart", "multi.bin", { ContentType = "application/octet-stream" })
    end)
    assert(res)
    assert.is_true(grown < 1024, ("upload_file grew the heap by %.0f KiB"):format(grown))
    assert.truthy(res.ETag:match('%-2"$'), res.ETag)      -- 8 MiB + the rest
    assert.is_string(res.UploadId)

    local small = generate(dir .. "/small.bin", 3 * MIB)
    local single = assert(s3:upload_file(small, "spec-multipart", "small.bin"))
    assert.are.equal('"' .. core.md5_hex(slurp(small)) .. '"', single.ETag)

    local five = assert(s3:upload_file(src, "spec-multipart", "five.bin",
      { multipart_threshold = 5 * MIB, part_size = 5 * MIB }))
    assert.truthy(five.ETag:match('%-3"$'), five.ETag)

    local dest = dir .. "/multi.out"
    local got = assert(s3:download_file("spec-multipart", "five.bin", dest))
    assert.are.equal(12 * MIB + 7, got.ContentLength)
    assert.are.equal("application/octet-stream",
      assert(s3:head_object { Bucket = "spec-multipart", Key = "multi.bin" }).ContentType)
    assert.are.equal(core.sha256_file(src), core.sha256_file(dest))
    for _, p in ipairs { src, small, dest } do os.remove(p) end
    assert.are.same({}, assert(s3:list_multipart_uploads { Bucket = "spec-multipart" }).Uploads)
  end)

  it("drives the multipart calls directly", function()
    if not peer then return end
    assert(s3:create_bucket { Bucket = "spec-parts" })
    local created = assert(s3:create_multipart_upload { Bucket = "spec-parts", Key = "joined", ContentType = "text/plain" })
    assert.are.same({ "spec-parts", "joined" }, { created.Bucket, created.Key })
    local path = generate(dir .. "/part.bin", 6 * MIB)
    local first = string.rep("a", 5 * MIB)
    local p1 = assert(s3:upload_part { Bucket = "spec-parts", Key = "joined", UploadId = created.UploadId,
                                       PartNumber = 1, Body = first })
    assert.are.equal('"' .. core.md5_hex(first) .. '"', p1.ETag)
    local p2 = assert(s3:upload_part { Bucket = "spec-parts", Key = "joined", UploadId = created.UploadId,
                                       PartNumber = 2, File = path, Offset = 1000, Length = 4096 })

    local other = assert(s3:create_multipart_upload { Bucket = "spec-parts", Key = "other" })
    local listed = assert(s3:list_multipart_uploads { Bucket = "spec-parts" })
    local ids = {}
    for _, u in ipairs(listed.Uploads) do ids[u.Key] = u.UploadId end
    assert.are.same({ joined = created.UploadId, other = other.UploadId }, ids)
    assert(s3:abort_multipart_upload { Bucket = "spec-parts", Key = "other", UploadId = other.UploadId })

    local done = assert(s3:complete_multipart_upload { Bucket = "spec-parts", Key = "joined", UploadId = created.UploadId,
      MultipartUpload = { Parts = { { PartNumber = 1, ETag = p1.ETag }, { PartNumber = 2, ETag = p2.ETag } } } })
    assert.are.same({ "spec-parts", "joined" }, { done.Bucket, done.Key })
    assert.truthy(done.ETag:match('%-2"$'))
    local f = assert(io.open(path, "rb"))
    f:seek("set", 1000)
    local region = f:read(4096)
    f:close()
    local body = assert(s3:get_object { Bucket = "spec-parts", Key = "joined" }).Body
    assert.are.equal(5 * MIB + 4096, #body)
    assert.is_true(body == first .. region)
    assert.are.same({}, assert(s3:list_multipart_uploads { Bucket = "spec-parts" }).Uploads)
    os.remove(path)

    local res, err = s3:abort_multipart_upload { Bucket = "spec-parts", Key = "joined", UploadId = "no-such-upload" }
    assert.is_nil(res)
    assert.are.equal("NoSuchUpload", err.code)
  end)

  it("aborts the multipart upload on any failure", function()
    if not peer then return end
    assert(s3:create_bucket { Bucket = "spec-abort" })
    local src = generate(dir .. "/abort.bin", 3 * MIB)

    -- moto refuses parts under 5 MiB (but the last) when completing.
    local res, err = s3:upload_file(src, "spec-abort", "small-parts", { multipart_threshold = MIB, part_size = MIB })
    assert.is_nil(res)
    assert.are.equal("EntityTooSmall", err.code)
    assert.are.same({}, assert(s3:list_multipart_uploads { Bucket = "spec-abort" }).Uploads)

    -- A connection failure on the second part.
    local real = require("personalize.transport.curl").new {}
    local parts = 0
    local flaky = { name = "flaky", streams_files = true, sleep = real.sleep, now = real.now }
    function flaky.send(_, req)
      if req.url:find("partNumber=", 1, true) then
        parts = parts + 1
        if parts == 2 then return nil, "EndpointConnectionError", "simulated connection failure" end
      end
      return real:send(req)
    end
    local client = new_client { transport = flaky }
    res, err = client:upload_file(src, "spec-abort", "flaky", { multipart_threshold = MIB, part_size = MIB })
    assert.is_nil(res)
    assert.are.same({ "EndpointConnectionError", "UploadPart" }, { err.code, err.operation })
    assert.are.equal(2, parts)
    assert.are.same({}, assert(s3:list_multipart_uploads { Bucket = "spec-abort" }).Uploads)

    -- A raise inside the upload (a broken transport) aborts too, then propagates.
    parts = 0
    function flaky.send(_, req)
      if req.url:find("partNumber=2", 1, true) then error("transport exploded") end
      return real:send(req)
    end
    assert.has_error(function()
      client:upload_file(src, "spec-abort", "raising", { multipart_threshold = MIB, part_size = MIB })
    end)
    assert.are.same({}, assert(s3:list_multipart_uploads { Bucket = "spec-abort" }).Uploads)
    local listed = assert(s3:list_objects_v2 { Bucket = "spec-abort" })
    assert.are.same({}, listed.Contents)
    os.remove(src)
  end)
end)
