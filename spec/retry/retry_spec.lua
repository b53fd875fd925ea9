-- Retries: botocore's standard mode numbers, the quota, adaptive mode,
-- and a fault-injecting loopback peer behind the real curl transport.
local retry = require "personalize.retry"
local errors = require "personalize.errors"
local personalize = require "personalize"
local cjson = require "cjson"

local function err_of(code, status)
  return errors.new { code = code, status = status, message = "m" }
end

local THROTTLING_CODES = {
  "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
  "TooManyRequestsException", "ProvisionedThroughputExceededException",
  "TransactionInProgressException", "RequestLimitExceeded", "BandwidthLimitExceeded",
  "LimitExceededException", "RequestThrottled", "SlowDown", "PriorRequestNotComplete",
  "EC2ThrottledException",
}

describe("personalize.retry", function()
  describe("classification", function()
    it("knows every throttling code of the issue", function()
      for _, code in ipairs(THROTTLING_CODES) do
        assert.are.equal("throttling", retry.classify(err_of(code, 400)), code)
        assert.is_true(err_of(code, 400).retryable, code)
      end
    end)

    it("treats 500, 502, 503, 504, connection errors and timeouts as transient", function()
      for _, status in ipairs { 500, 502, 503, 504 } do
        assert.are.equal("transient", retry.classify(err_of(tostring(status), status)))
      end
      for _, code in ipairs { "EndpointConnectionError", "ConnectTimeoutError", "ReadTimeoutError",
                              "ConnectionClosedError", "RequestTimeout", "RequestTimeoutException" } do
        assert.are.equal("transient", retry.classify(err_of(code)), code)
      end
    end)

    it("never retries validation and not-found errors", function()
      for _, e in ipairs { err_of("ValidationException", 400), err_of("InvalidInputException", 400),
                           err_of("ResourceNotFoundException", 404), err_of("ParamValidation"),
                           err_of("ResourceAlreadyExistsException", 400), err_of("NoCredentialsError"),
                           err_of("403", 403), err_of("501", 501) } do
        assert.is_nil(retry.classify(e), e.code)
        assert.is_false(e.retryable, e.code)
      end
    end)
  end)

  describe("delays", function()
    it("are rand() * min(0.05 * 2^(n-1), 20) for transient errors", function()
      for n = 1, 12 do
        for _ = 1, 50 do
          local d = retry.delay(n, "transient")
          assert.is_true(d >= 0 and d <= math.min(0.05 * 2 ^ (n - 1), 20), tostring(d))
        end
      end
    end)

    it("are rand() * min(2^(n-1), 20) for throttling, and spread out", function()
      local max_seen = 0
      for n = 1, 10 do
        for _ = 1, 50 do
          local d = retry.delay(n, "throttling")
          assert.is_true(d >= 0 and d <= math.min(2 ^ (n - 1), 20), tostring(d))
          if n == 10 then max_seen = math.max(max_seen, d) end
        end
      end
      assert.is_true(max_seen > 5)   -- capped at 20, not at 2^9
    end)

    it("honour x-amz-retry-after within [delay, delay + 5 s]", function()
      local r = retry.new { max_attempts = 10 }
      local st = r:start()
      st.attempts = 1
      -- 3 s asked, computed delay <= 1 s: the server's 3 s wins.
      assert.are.equal(3, r:next_delay(st, err_of("ThrottlingException", 400), "3000"))
      -- 60 s asked: no more than 5 s past the computed delay (<= 0.05 s here).
      local d = r:next_delay(st, err_of("InternalFailure", 500), "60000")
      assert.is_true(d >= 5 and d <= 5.05, tostring(d))
      -- 0 asked: the computed delay stays.
      d = r:next_delay(st, err_of("InternalFailure", 500), "0")
      assert.is_true(d <= 0.05)
      -- garbage is ignored
      d = r:next_delay(st, err_of("InternalFailure", 500), "soon")
      assert.is_true(d <= 0.05)
    end)
  end)

  describe("the quota", function()
    it("costs 14 per transient retry and stops retries when empty", function()
      local r = retry.new { max_attempts = 2 }
      local retried = 0
      for _ = 1, 100 do
        local st = r:start()
        st.attempts = 1
        if r:next_delay(st, err_of("InternalFailure", 500)) then retried = retried + 1 end
      end
      assert.are.equal(math.floor(500 / 14), retried)
      local st = r:start()
      st.attempts = 1
      local d, why = r:next_delay(st, err_of("InternalFailure", 500))
      assert.is_nil(d)
      assert.are.equal("quota", why)
    end)

    it("costs 5 per throttling retry", function()
      local r = retry.new { max_attempts = 2 }
      local retried = 0
      for _ = 1, 200 do
        local st = r:start()
        st.attempts = 1
        if r:next_delay(st, err_of("ThrottlingException", 400)) then retried = retried + 1 end
      end
      assert.are.equal(100, retried)
    end)

    it("is refunded on success: the last retry's cost, else 1, never above 500", function()
      local r = retry.new { max_attempts = 3 }
      local st = r:start()
      st.attempts = 1
      r:next_delay(st, err_of("InternalFailure", 500))
      assert.are.equal(486, r.quota)
      r:succeeded(st)
      assert.are.equal(500, r.quota)
      r:succeeded(r:start())
      assert.are.equal(500, r.quota)
      st = r:start()
      st.attempts = 1
      r:next_delay(st, err_of("ThrottlingException", 400))
      r:succeeded(r:start())
      assert.are.equal(496, r.quota)
    end)

    it("says max attempts once they are used up", function()
      local r = retry.new { max_attempts = 3 }
      local st = r:start()
      st.attempts = 3
      assert.are.same({ nil, "max attempts" }, { r:next_delay(st, err_of("InternalFailure", 500)) })
      assert.are.same({ nil, "not retryable" }, { r:next_delay(st, err_of("ValidationException", 400)) })
    end)

    it("rejects unknown modes", function()
      assert.has_error(function() retry.new { mode = "legacy" } end)
    end)
  end)

  describe("adaptive mode", function()
    -- A virtual clock: sleep advances it.
    local function clock()
      local c = { t = 1000, slept = 0 }
      c.now = function() return c.t end
      c.sleep = function(s) c.t = c.t + s; c.slept = c.slept + s end
      return c
    end

    it("sends freely until throttled, then limits the rate and backs off", function()
      local c = clock()
      local r = retry.new { mode = "adaptive", now = c.now, sleep = c.sleep }
      local st = r:start()
      -- 20 quick successes at 10 requests/s: no waiting.
      for _ = 1, 20 do
        r:before_send(st)
        r:after_response(nil)
        c.t = c.t + 0.1
      end
      assert.are.equal(0, c.slept)
      assert.is_false(r.limiter.enabled)
      -- throttled: the limiter turns on at 0.7 x the measured rate.
      r:after_response(err_of("ThrottlingException", 400))
      assert.is_true(r.limiter.enabled)
      local rate = r.limiter.max_rate
      assert.is_true(rate > 0 and rate < 10, tostring(rate))
      -- 20 sends now take about 20 / rate seconds of sleeping.
      local before = c.t
      for _ = 1, 20 do r:before_send(st) end
      assert.is_true(c.t - before >= 20 / math.max(rate, 0.5) - 2, tostring(c.t - before))
      -- repeated throttling lowers the rate further (CUBIC's multiplicative cut).
      r:after_response(err_of("ThrottlingException", 400))
      assert.is_true(r.limiter.max_rate <= rate, tostring(r.limiter.max_rate))
    end)

    it("grows the rate back along the cubic curve after the last throttle", function()
      local c = clock()
      local r = retry.new { mode = "adaptive", now = c.now, sleep = c.sleep }
      for _ = 1, 30 do r:after_response(nil); c.t = c.t + 0.05 end
      r:after_response(err_of("Throttling", 400))
      local cut = r.limiter.max_rate
      local rates = {}
      -- still sending at 20/s: the rate is not capped by 2 x measured
      for i = 1, 40 do
        c.t = c.t + 0.05
        r:after_response(nil)
        rates[i] = r.limiter.max_rate
      end
      assert.is_true(rates[40] > cut, ("%s -> %s"):format(cut, rates[40]))
    end)
  end)
end)

-- The client's retry loop with a fake transport.
local function fake(responses)
  local t = { requests = 0, sleeps = {} }
  function t.send()
    t.requests = t.requests + 1
    local r = responses[t.requests] or responses[#responses]
    return r[1], r[2], r[3]
  end
  t.sleep = function(s) t.sleeps[#t.sleeps + 1] = s end
  return t
end

local function client(t, opts)
  local o = { region = "us-east-1", transport = t, access_key_id = "AKID", secret_access_key = "S",
              max_attempts = 3, retry_mode = "standard" }
  for k, v in pairs(opts or {}) do o[k] = v end
  return personalize.client("personalize", o)
end

local function json_error(status, code)
  return { status, { ["content-type"] = "application/x-amz-json-1.1" }, cjson.encode { __type = code, message = "no" } }
end

describe("client retries", function()
  it("report RetryAttempts on success", function()
    local t = fake { json_error(503, "ServiceUnavailable"), { 200, {}, "{}" } }
    local res = assert(client(t):list_schemas())
    assert.are.equal(1, res.ResponseMetadata.RetryAttempts)
    t = fake { { 200, {}, "{}" } }
    assert.are.equal(0, client(t):list_schemas().ResponseMetadata.RetryAttempts)
  end)

  it("say how many attempts were made in the final error", function()
    local t = fake { json_error(400, "ThrottlingException") }
    local _, err = client(t):list_schemas()
    assert.are.equal(3, err.attempts)
    assert.are.equal("An error occurred (ThrottlingException) when calling the ListSchemas operation "
      .. "(reached max retries: 2): no", tostring(err))
    for i, s in ipairs(t.sleeps) do assert.is_true(s <= 2 ^ (i - 1)) end
  end)

  it("use the transient base for 5xx (short sleeps)", function()
    local t = fake { json_error(500, "InternalFailure") }
    client(t, { max_attempts = 5 }):list_schemas()
    assert.are.equal(4, #t.sleeps)
    for i, s in ipairs(t.sleeps) do assert.is_true(s <= 0.05 * 2 ^ (i - 1), tostring(s)) end
  end)

  it("honour x-amz-retry-after", function()
    local t = fake { { 503, { ["x-amz-retry-after"] = "1500" }, "" }, { 200, {}, "{}" } }
    assert.is_table(client(t):list_schemas())
    assert.are.equal(1.5, t.sleeps[1])
  end)

  it("stop a retry storm once the quota is spent, and refill it on success", function()
    local t = fake { json_error(500, "InternalFailure") }
    local c = client(t)
    for _ = 1, 40 do c:list_schemas() end
    -- 35 retries fit in 500 tokens at 14 each; the other calls went once.
    assert.are.equal(40 + 35, t.requests)
    local _, err = c:list_schemas()
    assert.are.equal(1, err.attempts)
    assert.is_true(err.retry_quota_exceeded)
    t.send = function() t.requests = t.requests + 1; return 200, {}, "{}" end
    for _ = 1, 14 do c:list_schemas() end
    assert.are.equal(500 - 35 * 14 + 14, c._retry.quota)
  end)

  it("return a non-retryable error at once", function()
    local t = fake { json_error(400, "InvalidInputException") }
    local _, err = client(t):list_schemas()
    assert.are.equal(1, t.requests)
    assert.are.equal(0, #t.sleeps)
    assert.are.equal(1, err.attempts)
    assert.are.equal("An error occurred (InvalidInputException) when calling the ListSchemas operation: no",
      tostring(err))
  end)

  it("take the mode from retry_mode", function()
    assert.is_nil(client(fake { { 200, {}, "{}" } })._retry.limiter)
    assert.is_table(client(fake { { 200, {}, "{}" } }, { retry_mode = "adaptive" })._retry.limiter)
    assert.has_error(function() client(fake {}, { retry_mode = "fast" }) end)
  end)
end)

describe("retries against a faulty loopback peer", function()
  local script_server = require "support.script_server"
  local peer
  setup(function() peer = script_server.start() end)
  teardown(function() if peer then peer.stop() end end)

  local function real(opts)
    local o = { region = "us-east-1", endpoint = peer.url, access_key_id = "AKID", secret_access_key = "S",
                max_attempts = 3, retry_mode = "standard", read_timeout = 0.5, connect_timeout = 1 }
    for k, v in pairs(opts or {}) do o[k] = v end
    return personalize.client("personalize", o)
  end
  local OK = { status = 200, headers = { ["Content-Type"] = "application/x-amz-json-1.1" }, body = '{"schemas":[]}' }
  local function aws_error(status, code)
    return { status = status, headers = { ["Content-Type"] = "application/x-amz-json-1.1" },
             body = cjson.encode { __type = code, message = "injected" } }
  end

  it("retries 500 and 503, then succeeds", function()
    peer.script { aws_error(500, "InternalFailure"), { status = 503, body = "" }, OK }
    local res, err = real():list_schemas()
    assert.is_nil(err)
    assert.are.equal(2, res.ResponseMetadata.RetryAttempts)
    assert.are.equal(3, #peer.requests())
  end)

  it("retries throttling errors up to max_attempts", function()
    peer.script { aws_error(400, "ThrottlingException") }
    local _, err = real { max_attempts = 2 }:list_schemas()
    assert.are.equal("ThrottlingException", err.code)
    assert.are.equal(2, err.attempts)
    assert.are.equal(2, #peer.requests())
  end)

  it("retries a connection reset", function()
    peer.script { { reset = true }, OK }
    local res, err = real():list_schemas()
    assert.is_nil(err)
    assert.are.equal(1, res.ResponseMetadata.RetryAttempts)
    assert.are.equal(2, #peer.requests())
  end)

  it("retries a peer that stalls past the read timeout", function()
    peer.script { { stall = 1.5 }, OK }
    local res, err = real():list_schemas()
    assert.is_nil(err)
    assert.are.equal(1, res.ResponseMetadata.RetryAttempts)
  end)

  it("gives up after the last attempt on a peer that always resets", function()
    peer.script { { reset = true } }
    local _, err = real():list_schemas()
    assert.are.equal(3, err.attempts)
    assert.is_true(err.retryable)
    assert.are.equal(3, #peer.requests())
    assert.truthy(tostring(err):find("reached max retries: 2", 1, true), tostring(err))
  end)

  it("does not retry a validation error", function()
    peer.script { aws_error(400, "InvalidInputException"), OK }
    local _, err = real():list_schemas()
    assert.are.equal("InvalidInputException", err.code)
    assert.are.equal(1, err.attempts)
    assert.are.equal(1, #peer.requests())
  end)

  it("lets the quota stop a storm against a failing peer", function()
    peer.script { aws_error(503, "ServiceUnavailable") }
    local c = real { max_attempts = 3 }
    for _ = 1, 30 do c:list_schemas() end
    -- 35 retries at most (500 / 14), whatever the number of calls.
    assert.are.equal(30 + 35, #peer.requests())
  end)
end)

-- The same send step (personalize.request) serves S3 and STS: the same
-- faults against the same peer retry the same way.
describe("S3 and STS retries against a faulty loopback peer", function()
  local script_server = require "support.script_server"
  local config = require "personalize.config"
  local credentials = require "personalize.credentials"
  local query = require "personalize.protocol.query"
  local sts = require "personalize.sts"
  local peer
  setup(function() peer = script_server.start() end)
  teardown(function() if peer then peer.stop() end end)

  local ENV = { HOME = "/nonexistent", AWS_CONFIG_FILE = "/nonexistent/c",
                AWS_SHARED_CREDENTIALS_FILE = "/nonexistent/k" }

  local function s3(opts)
    local o = { region = "us-east-1", endpoint = peer.url, access_key_id = "AKID", secret_access_key = "S",
                max_attempts = 3, retry_mode = "standard", read_timeout = 0.5, connect_timeout = 1, env = ENV }
    for k, v in pairs(opts or {}) do o[k] = v end
    return personalize.client("s3", o)
  end
  local function s3_error(status, code)
    return { status = status, headers = { ["Content-Type"] = "application/xml" },
             body = ("<Error><Code>%s</Code><Message>injected</Message><RequestId>r</RequestId></Error>"):format(code) }
  end
  local PUT_OK = { status = 200, headers = { ETag = '"etag-1"' }, body = "" }

  it("S3: retries 500 and a throttling 503, then succeeds", function()
    peer.script { s3_error(500, "InternalError"), s3_error(503, "SlowDown"), PUT_OK }
    local res, err = s3():put_object { Bucket = "b", Key = "k", Body = "data" }
    assert.is_nil(err)
    assert.are.equal('"etag-1"', res.ETag)
    assert.are.equal(2, res.ResponseMetadata.RetryAttempts)
    local sent = peer.requests()
    assert.are.equal(3, #sent)
    for _, r in ipairs(sent) do
      assert.are.same({ "PUT", "/b/k", "data" }, { r.method, r.path, r.body })
      assert.matches("/us%-east%-1/s3/aws4_request", r.headers.authorization)
    end
  end)

  it("S3: retries a connection reset and a stall past the read timeout", function()
    peer.script { { reset = true }, { stall = 1.5 }, PUT_OK }
    local res, err = s3():put_object { Bucket = "b", Key = "k", Body = "data" }
    assert.is_nil(err)
    assert.are.equal(2, res.ResponseMetadata.RetryAttempts)
  end)

  it("S3: gives up after max_attempts, and does not retry a client error", function()
    peer.script { s3_error(503, "SlowDown") }
    local _, err = s3 { max_attempts = 2 }:put_object { Bucket = "b", Key = "k", Body = "data" }
    assert.are.equal("SlowDown", err.code)
    assert.are.equal(2, err.attempts)
    assert.are.equal(2, #peer.requests())
    peer.script { s3_error(404, "NoSuchBucket"), PUT_OK }
    _, err = s3():put_object { Bucket = "b", Key = "k", Body = "data" }
    assert.are.equal("NoSuchBucket", err.code)
    assert.are.equal(1, err.attempts)
  end)

  it("S3: lets the quota stop a storm, as the Personalize client does", function()
    peer.script { s3_error(503, "ServiceUnavailable") }
    local c = s3()
    for _ = 1, 30 do c:put_object { Bucket = "b", Key = "k", Body = "" } end
    assert.are.equal(30 + 35, #peer.requests())
  end)

  local function sts_ctx(max_attempts)
    local env = { AWS_ENDPOINT_URL_STS = peer.url }
    for k, v in pairs(ENV) do env[k] = v end
    return credentials.context(config.new { env = env, region = "us-east-1", max_attempts = max_attempts })
  end
  local CREDS = credentials.new("AKIDSTS", "sts-secret", nil, "spec")
  local IDENTITY = { status = 200, headers = { ["Content-Type"] = "text/xml" }, body =
    '<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult>'
    .. "<Arn>arn:aws:iam::123456789012:user/spec</Arn><UserId>AIDASPEC</UserId><Account>123456789012</Account>"
    .. "</GetCallerIdentityResult></GetCallerIdentityResponse>" }
  local function sts_error(status, code)
    return { status = status, headers = { ["Content-Type"] = "text/xml" }, body =
      ("<ErrorResponse><Error><Type>Sender</Type><Code>%s</Code><Message>injected</Message></Error>"
        .. "<RequestId>r</RequestId></ErrorResponse>"):format(code) }
  end

  it("STS: retries throttling, a 500 and a reset, then succeeds, signed each time", function()
    peer.script { sts_error(400, "Throttling"), sts_error(500, "InternalFailure"), IDENTITY }
    local result, err = sts.call(sts_ctx(3), "GetCallerIdentity", {}, CREDS)
    assert.is_nil(err)
    assert.are.equal("arn:aws:iam::123456789012:user/spec", query.text(result, "Arn"))
    local sent = peer.requests()
    assert.are.equal(3, #sent)
    for _, r in ipairs(sent) do
      assert.are.same({ "POST", "/", "Action=GetCallerIdentity&Version=2011-06-15" }, { r.method, r.path, r.body })
      assert.matches("^AWS4%-HMAC%-SHA256 Credential=AKIDSTS/%d+/us%-east%-1/sts/aws4_request", r.headers.authorization)
    end
    peer.script { { reset = true }, IDENTITY }
    result, err = sts.call(sts_ctx(3), "GetCallerIdentity", {}, CREDS)
    assert.is_nil(err)
    assert.are.equal("123456789012", query.text(result, "Account"))
  end)

  it("STS: gives up after max_attempts, and does not retry a client error", function()
    peer.script { sts_error(503, "ServiceUnavailable") }
    local _, err = sts.call(sts_ctx(2), "GetCallerIdentity", {}, CREDS)
    assert.are.equal("ServiceUnavailable", err.code)
    assert.are.equal("GetCallerIdentity", err.operation)
    assert.are.equal(2, err.attempts)
    assert.are.equal(2, #peer.requests())
    peer.script { sts_error(403, "AccessDenied"), IDENTITY }
    _, err = sts.call(sts_ctx(3), "GetCallerIdentity", {}, CREDS)
    assert.are.equal("AccessDenied", err.code)
    assert.are.equal(1, err.attempts)
  end)
end)
