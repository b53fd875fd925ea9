-- personalize-local checks signatures as strictly as AWS: raw signed
-- requests (tampered after signing), boto3's sts client and presigned
-- URLs against bin/personalize-local.
--
-- AWS's rule for SignedHeaders (Signature Version 4, "Create a canonical
-- request"): "The host header (HTTP/1.1) or the :authority header
-- (HTTP/2) must be included as a signed header. If you plan to include
-- any of the x-amz-* headers, these headers must also be included for
-- signature calculation." S3 adds ("Signature Calculations for the
-- Authorization Header"): "If the Content-Type header is present in the
-- request, you must add it to the CanonicalHeaders list."
local cjson = require "cjson"
local core = require "personalize.core"
local sigv4 = require "personalize.sigv4"
local personalize = require "personalize"
local process = require "support.process"
local engine_server = require "support.engine_server"

local EMPTY = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

local raw = require "support.raw_request"
local http, xml, signed_request, send = raw.http, raw.xml, raw.signed_request, raw.send
local personalize_call = raw.personalize_call

local function s3_put(server, path, body, o)
  o = o or {}
  local signed = o.signed or { ["X-Amz-Content-Sha256"] = core.sha256_hex(o.sign_body or body) }
  return send(server, { method = "PUT", path = path, service = "s3", signed = signed, body = body,
    sign_body = o.sign_body, payload = o.payload or core.sha256_hex(o.sign_body or body),
    extra = o.extra, region = o.region, time = o.time })
end

local function s3_get(server, path)
  return send(server, { method = "GET", path = path, service = "s3",
    signed = { ["X-Amz-Content-Sha256"] = EMPTY }, payload = EMPTY })
end

-- SigV4's chunk signatures, computed here from the documentation
-- (independently of the engine's code).
local function signing_key(secret, date8, region, service)
  local k = core.hmac_sha256("AWS4" .. secret, date8)
  k = core.hmac_sha256(k, region)
  k = core.hmac_sha256(k, service)
  return core.hmac_sha256(k, "aws4_request")
end

local function chunked_body(server, seed, amz_date, chunks, corrupt)
  local key = signing_key(server.secret_access_key, amz_date:sub(1, 8), server.region, "s3")
  local scope = amz_date:sub(1, 8) .. "/" .. server.region .. "/s3/aws4_request"
  local prev, out = seed, {}
  chunks[#chunks + 1] = ""
  for i, data in ipairs(chunks) do
    local sts = table.concat({ "AWS4-HMAC-SHA256-PAYLOAD", amz_date, scope, prev, EMPTY, core.sha256_hex(data) }, "\n")
    local sig = core.hex(core.hmac_sha256(key, sts))
    if corrupt and corrupt(i) then sig = ("0"):rep(64) end
    out[#out + 1] = ("%x;chunk-signature=%s\r\n%s\r\n"):format(#data, sig, data)
    prev = sig
  end
  return table.concat(out)
end

-- boto3 (and botocore's sts client) against the server.
local function boto3(server, program)
  local py = os.tmpname()
  local f = assert(io.open(py, "w"))
  f:write([[
import json, sys
import boto3, botocore
from botocore.config import Config
cfg = Config(retries={'max_attempts': 1}, s3={'addressing_style': 'path'})
def client(name, **kw):
    args = dict(endpoint_url=sys.argv[1], region_name=sys.argv[2], config=cfg,
                aws_access_key_id=sys.argv[3], aws_secret_access_key=sys.argv[4])
    args.update(kw)
    return boto3.client(name, **args)
def error_of(fn, **kw):
    try:
        fn(**kw)
        return None
    except botocore.exceptions.ClientError as e:
        return e.response['Error']
out = {}
]] .. program .. "\nprint(json.dumps(out, default=str))\n")
  f:close()
  local q = process.shell_quote
  local cmd = table.concat({ "env -u AWS_PROFILE -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_SESSION_TOKEN",
    "AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null python3", q(py), q(server.endpoint),
    q(server.region), q(server.access_key_id), q(server.secret_access_key), "2>&1" }, " ")
  local p = io.popen(cmd)
  local text = p:read("*a")
  p:close()
  os.remove(py)
  local ok, out = pcall(cjson.decode, text:match("[^\n]*\n?$") or "")
  assert(ok and type(out) == "table", text)
  return out
end

describe("personalize-local signature checks", function()
  local server, client, s3

  lazy_setup(function()
    server = engine_server.start { timings = { pending = 0.05, in_progress = 0.1 } }
    client = personalize.client("personalize", server.client_opts())
    s3 = personalize.client("s3", server.client_opts())
    assert(s3:create_bucket { Bucket = "auth-bucket" })
  end)

  lazy_teardown(function()
    if server then server.stop() end
  end)

  describe("S3 bodies", function()
    it("refuses a signed PutObject replayed with another body, and keeps the object", function()
      assert.equal(200, (s3_put(server, "/auth-bucket/kept", "original")))
      local status, _, body = s3_put(server, "/auth-bucket/kept", "replaced", { sign_body = "original" })
      assert.equal(400, status)
      assert.equal("XAmzContentSHA256Mismatch", xml(body, "Code"))
      assert.equal(core.sha256_hex("original"), xml(body, "ClientComputedContentSHA256"))
      local _, _, got = s3_get(server, "/auth-bucket/kept")
      assert.equal("original", got)
    end)

    it("checks every chunk signature of an aws-chunked upload against the seed signature", function()
      local function chunked_put(key, corrupt)
        local amz_date = sigv4.amz_date()
        local headers = { ["X-Amz-Content-Sha256"] = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
          ["Content-Encoding"] = "aws-chunked", ["X-Amz-Decoded-Content-Length"] = "11",
          ["X-Amz-Date"] = amz_date }
        local list = signed_request(server, { method = "PUT", path = "/auth-bucket/" .. key, service = "s3",
          signed = headers, payload = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD" })
        local seed
        for _, h in ipairs(list) do
          if h[1] == "Authorization" then seed = h[2]:match("Signature=(%x+)") end
        end
        local body = chunked_body(server, seed, amz_date, { "hello", " world" }, corrupt)
        return http(server.port, "PUT", "/auth-bucket/" .. key, list, body)
      end
      assert.equal(200, (chunked_put("chunked-good")))
      local _, _, got = s3_get(server, "/auth-bucket/chunked-good")
      assert.equal("hello world", got)
      for _, bad in ipairs { function() return true end, function(i) return i == 2 end,
                             function(i) return i == 3 end } do
        local status, _, body = chunked_put("chunked-bad", bad)
        assert.equal(403, status)
        assert.equal("SignatureDoesNotMatch", xml(body, "Code"))
      end
      assert.equal(404, (s3_get(server, "/auth-bucket/chunked-bad")))
    end)

    it("checks Content-MD5 on every body that sends it", function()
      local body = '<Delete><Object><Key>kept</Key></Object></Delete>'
      local wrong = core.md5("something else")
      local b64 = (require "personalize.engine.s3").base64_encode
      local status, _, res = send(server, { method = "POST", path = "/auth-bucket", query = "delete=",
        service = "s3", body = body, payload = core.sha256_hex(body),
        signed = { ["X-Amz-Content-Sha256"] = core.sha256_hex(body), ["Content-MD5"] = b64(wrong) } })
      assert.equal(400, status)
      assert.equal("BadDigest", xml(res, "Code"))
      assert.equal(200, (s3_get(server, "/auth-bucket/kept")))
    end)

    it("takes UNSIGNED-PAYLOAD for S3 only", function()
      assert.equal(200, (s3_put(server, "/auth-bucket/unsigned", "data", {
        signed = { ["X-Amz-Content-Sha256"] = "UNSIGNED-PAYLOAD" }, payload = "UNSIGNED-PAYLOAD" })))
      local status, doc = personalize_call(server, "ListSchemas", {}, { signed = {
        ["Content-Type"] = "application/x-amz-json-1.1", ["X-Amz-Target"] = "AmazonPersonalize.ListSchemas" } })
      assert.equal(200, status)
      -- the JSON services hash the body themselves: a request signed over
      -- UNSIGNED-PAYLOAD does not verify
      local list = signed_request(server, { method = "POST", path = "/", body = "{}", payload = "UNSIGNED-PAYLOAD",
        signed = { ["Content-Type"] = "application/x-amz-json-1.1", ["X-Amz-Target"] = "AmazonPersonalize.ListSchemas",
                   ["X-Amz-Content-Sha256"] = "UNSIGNED-PAYLOAD" } })
      local _, data
      status, _, data = http(server.port, "POST", "/", list, "{}")
      assert.equal(403, status)
      assert.equal("InvalidSignatureException", cjson.decode(data).__type)
      assert.truthy(doc)
      status, _, data = s3_put(server, "/auth-bucket/x", "data", {
        signed = { ["X-Amz-Content-Sha256"] = "NOT-A-HASH" }, payload = "NOT-A-HASH" })
      assert.equal(400, status)
      assert.equal("InvalidArgument", xml(data, "Code"))
    end)
  end)

  describe("SignedHeaders", function()
    it("refuses an X-Amz-Target edited after signing (host and x-amz-date signed only)", function()
      local group = assert(client:create_dataset_group { name = "auth-target" }).datasetGroupArn
      local body = cjson.encode { datasetGroupArn = group }
      local list = signed_request(server, { method = "POST", path = "/", body = body,
        signed = { ["X-Amz-Date"] = sigv4.amz_date() },
        extra = { { "X-Amz-Target", "AmazonPersonalize.DeleteDatasetGroup" },
                  { "Content-Type", "application/x-amz-json-1.1" } } })
      local status, _, data = http(server.port, "POST", "/", list, body)
      assert.equal(403, status)
      local doc = cjson.decode(data)
      assert.equal("InvalidSignatureException", doc.__type)
      assert.matches("x-amz-target", doc.message, 1, true)
      assert.truthy(client:describe_dataset_group { datasetGroupArn = group })
    end)

    it("refuses an S3 request whose Host is not signed, whichever bucket the Host names", function()
      assert.equal(200, (s3_put(server, "/auth-bucket/hostless", "victim's data")))
      -- signed validly, over everything but host (SigV4's core signer
      -- signs exactly the headers it is given)
      local hash, amz_date = core.sha256_hex("x"), sigv4.amz_date()
      local authz = core.signer():sign("PUT", "/hostless", nil,
        { ["x-amz-content-sha256"] = hash, ["x-amz-date"] = amz_date }, hash, server.access_key_id,
        server.secret_access_key, amz_date, server.region, "s3", false, false, false)
      assert.matches("SignedHeaders=x%-amz%-content%-sha256;x%-amz%-date,", authz)
      for _, host in ipairs { "auth-bucket.localhost:" .. server.port, "other.localhost:" .. server.port } do
        local status, _, data = http(server.port, "PUT", "/hostless", { { "Host", host }, { "Authorization", authz },
          { "X-Amz-Date", amz_date }, { "X-Amz-Content-Sha256", hash } }, "x")
        assert.equal(403, status)
        assert.equal("AccessDenied", xml(data, "Code"))
        assert.equal("host", xml(data, "HeadersNotSigned"))
      end
      local _, _, got = s3_get(server, "/auth-bucket/hostless")
      assert.equal("victim's data", got)
      -- an x-amz-* header added after signing
      local list = signed_request(server, { method = "PUT", path = "/auth-bucket/meta", service = "s3", body = "x",
        payload = core.sha256_hex("x"), signed = { ["X-Amz-Content-Sha256"] = core.sha256_hex("x") },
        extra = { { "X-Amz-Meta-Owner", "mallory" } } })
      local status, _, data = http(server.port, "PUT", "/auth-bucket/meta", list, "x")
      assert.equal(403, status)
      assert.equal("x-amz-meta-owner", xml(data, "HeadersNotSigned"))
    end)
  end)

  describe("credential scope", function()
    it("refuses another region, service or date, with AWS's codes", function()
      local status, doc = personalize_call(server, "ListSchemas", {}, { region = "eu-west-1" })
      assert.equal(403, status)
      assert.equal("InvalidSignatureException", doc.__type)
      assert.matches("scoped to a valid region", doc.message, 1, true)
      local before = #assert(client:list_dataset_groups {}).datasetGroups
      status = personalize_call(server, "CreateDatasetGroup", { name = "elsewhere" }, { region = "eu-west-1" })
      assert.equal(403, status)
      assert.equal(before, #assert(client:list_dataset_groups {}).datasetGroups)
      status, doc = personalize_call(server, "ListSchemas", {}, { service = "iam" })
      assert.equal(403, status)
      assert.matches("scoped to correct service", doc.message, 1, true)

      local s3status, _, body = s3_put(server, "/auth-bucket/eu", "x", { region = "eu-west-1" })
      assert.equal(400, s3status)
      assert.equal("AuthorizationHeaderMalformed", xml(body, "Code"))
      assert.equal(server.region, xml(body, "Region"))

      -- an X-Amz-Date of another day than the scope's
      local list = signed_request(server, { method = "POST", path = "/", body = "{}",
        signed = { ["Content-Type"] = "application/x-amz-json-1.1", ["X-Amz-Target"] = "AmazonPersonalize.ListSchemas" } })
      for _, h in ipairs(list) do
        if h[1] == "Authorization" then
          h[2] = h[2]:gsub("/(%d%d%d%d%d%d%d%d)/", function(d) return "/" .. (d == "20000101" and "20000102" or "20000101") .. "/" end, 1)
        end
      end
      local data
      status, _, data = http(server.port, "POST", "/", list, "{}")
      assert.equal(403, status)
      assert.matches("Date in Credential scope does not match", cjson.decode(data).message, 1, true)
    end)
  end)

  describe("session tokens", function()
    it("refuses a token the engine did not issue", function()
      local status, doc = personalize_call(server, "ListSchemas", {}, { signed = {
        ["Content-Type"] = "application/x-amz-json-1.1", ["X-Amz-Target"] = "AmazonPersonalize.ListSchemas",
        ["X-Amz-Security-Token"] = "bogus" } })
      assert.equal(403, status)
      assert.equal("UnrecognizedClientException", doc.__type)
      local s3status, _, body = s3_put(server, "/auth-bucket/tok", "x", { signed = {
        ["X-Amz-Content-Sha256"] = core.sha256_hex("x"), ["X-Amz-Security-Token"] = "bogus" } })
      assert.equal(400, s3status)
      assert.equal("InvalidToken", xml(body, "Code"))
    end)

    it("issues temporary credentials through STS that boto3 uses for Personalize and S3", function()
      local out = boto3(server, [[
sts = client('sts')
out['caller'] = sts.get_caller_identity()['Arn']
creds = sts.assume_role(RoleArn='arn:aws:iam::123456789012:role/PersonalizeDev',
                        RoleSessionName='dev-session', DurationSeconds=900)['Credentials']
tmp = dict(aws_access_key_id=creds['AccessKeyId'], aws_secret_access_key=creds['SecretAccessKey'],
           aws_session_token=creds['SessionToken'])
out['key'] = creds['AccessKeyId']
out['role'] = client('sts', **tmp).get_caller_identity()['Arn']
out['groups'] = len(client('personalize', **tmp).list_dataset_groups()['datasetGroups'])
s3t = client('s3', **tmp)
s3t.put_object(Bucket='auth-bucket', Key='from-role', Body=b'role data')
out['body'] = s3t.get_object(Bucket='auth-bucket', Key='from-role')['Body'].read().decode()
bad = dict(tmp, aws_session_token=creds['SessionToken'][:-4] + 'AAAA')
out['bad_token'] = error_of(client('personalize', **bad).list_dataset_groups)
out['bad_s3'] = error_of(client('s3', **bad).get_object, Bucket='auth-bucket', Key='from-role')
no_token = dict(aws_access_key_id=creds['AccessKeyId'], aws_secret_access_key=creds['SecretAccessKey'])
out['no_token'] = error_of(client('personalize', **no_token).list_dataset_groups)
st = sts.get_session_token(DurationSeconds=900)['Credentials']
out['session_groups'] = len(client('personalize', aws_access_key_id=st['AccessKeyId'],
    aws_secret_access_key=st['SecretAccessKey'], aws_session_token=st['SessionToken']).list_dataset_groups()['datasetGroups'])
out['nested'] = error_of(client('sts', **tmp).get_session_token)
out['short'] = error_of(sts.assume_role, RoleArn='arn:aws:iam::123456789012:user/not-a-role', RoleSessionName='s2')
]])
      assert.equal("arn:aws:iam::123456789012:user/personalize-local", out.caller)
      assert.matches("^ASIA", out.key)
      assert.equal("arn:aws:sts::123456789012:assumed-role/PersonalizeDev/dev-session", out.role)
      assert.is_number(out.groups)
      assert.equal(out.groups, out.session_groups)
      assert.equal("role data", out.body)
      assert.equal("UnrecognizedClientException", out.bad_token.Code)
      assert.equal("InvalidToken", out.bad_s3.Code)
      assert.equal("UnrecognizedClientException", out.no_token.Code)
      assert.equal("AccessDenied", out.nested.Code)
      assert.equal("ValidationError", out.short.Code)
    end)
  end)

  describe("role profiles of this library", function()
    it("assume the profile's role through the engine's STS and call Personalize and S3 with it", function()
      local aws_env = require "support.aws_env"
      local home = aws_env.home {
        config = "[profile dev]\nrole_arn = arn:aws:iam::123456789012:role/LuaDev\nsource_profile = base\n"
          .. "region = " .. server.region .. "\n[profile base]\nregion = " .. server.region .. "\n",
        credentials = "[base]\naws_access_key_id = " .. server.access_key_id .. "\naws_secret_access_key = "
          .. server.secret_access_key .. "\n",
      }
      local out = aws_env.shown(aws_env.run([[
local creds, provider = personalize.credentials {}
show("provider", provider)
show("key", creds.access_key_id:sub(1, 4))
local groups, err = personalize.client("personalize", {}):list_dataset_groups {}
show("groups", groups and #groups.datasetGroups or tostring(err))
local s3 = personalize.client("s3", {})
local ok, perr = s3:put_object { Bucket = "auth-bucket", Key = "from-lua-role", Body = "lua role" }
show("put", ok and "ok" or tostring(perr))
local got = s3:get_object { Bucket = "auth-bucket", Key = "from-lua-role" }
show("body", got and got.Body)
]], { HOME = home.dir, AWS_PROFILE = "dev", AWS_ENDPOINT_URL = server.endpoint }))
      home:remove()
      assert.equal("ASIA", out.key)
      assert.matches("^%d+$", out.groups)
      assert.equal("ok", out.put)
      assert.equal("lua role", out.body)
      assert.truthy(out.provider)
    end)
  end)

  describe("presigned URLs and unsigned requests", function()
    local function presigned(o)
      return sigv4.presign { method = "GET", url = server.endpoint .. "/auth-bucket/kept", region = server.region,
        service = "s3", credentials = { access_key_id = server.access_key_id,
                                        secret_access_key = server.secret_access_key },
        normalize_path = false, double_encode = false, payload = "UNSIGNED-PAYLOAD",
        expires = o.expires or 3600, time = o.time }
    end
    local function get(url)
      return http(server.port, "GET", url:match("^https?://[^/]+(.*)$"), {})
    end

    it("serves a valid one and refuses expired, future-dated and over-long ones as S3 does", function()
      local status, _, body = get(presigned {})
      assert.equal(200, status)
      assert.equal("original", body)

      local url = presigned {}:gsub("X%-Amz%-Expires=3600", "X-Amz-Expires=604801")
      status, _, body = get(url)
      assert.equal(400, status)
      assert.equal("AuthorizationQueryParametersError", xml(body, "Code"))

      status, _, body = get(presigned { time = os.time() + 86400 })
      assert.equal(403, status)
      assert.equal("AccessDenied", xml(body, "Code"))
      assert.equal("Request is not valid yet", xml(body, "Message"))

      status, _, body = get(presigned { time = os.time() - 7200, expires = 60 })
      assert.equal(403, status)
      assert.equal("AccessDenied", xml(body, "Code"))
      assert.equal("Request has expired", xml(body, "Message"))
      assert.equal("60", xml(body, "X-Amz-Expires"))
    end)

    it("refuses Signature Version 2 URLs (the AWS CLI's s3 presign default) as S3 does", function()
      local status, _, body = http(server.port, "GET", "/auth-bucket/kept?AWSAccessKeyId=" .. server.access_key_id
        .. "&Signature=P7WS53zMEpAjYbtcROI1rPwcq%2Bk%3D&Expires=" .. (os.time() + 60), {})
      assert.equal(400, status)
      assert.equal("InvalidRequest", xml(body, "Code"))
      assert.matches("AWS4-HMAC-SHA256", xml(body, "Message"), 1, true)
    end)

    it("answers an unsigned S3 request with S3's XML AccessDenied", function()
      local status, h, body = http(server.port, "GET", "/auth-bucket/kept", {})
      assert.equal(403, status)
      assert.equal("application/xml", h["content-type"])
      assert.equal("AccessDenied", xml(body, "Code"))
      status, h, body = http(server.port, "PUT", "/auth-bucket/anon", {}, "x")
      assert.equal(403, status)
      assert.equal("application/xml", h["content-type"])
      assert.equal("AccessDenied", xml(body, "Code"))
      -- the JSON services keep their own format
      status, h, body = http(server.port, "POST", "/", { { "X-Amz-Target", "AmazonPersonalize.ListSchemas" } }, "{}")
      assert.equal(403, status)
      assert.equal("MissingAuthenticationTokenException", cjson.decode(body).__type)
      assert.truthy(h)
    end)
  end)
end)
