-- personalize.fanout (client:map, fanout.run) against a real loopback
-- peer: nginx with lua-nginx-module (bench/peer.lua) that delays answers,
-- counts the requests in flight and plays a script per userId.
package.path = "bench/?.lua;" .. package.path

local personalize = require "personalize"
local fanout = require "personalize.fanout"
local errors = require "personalize.errors"
local core = require "personalize.core"
local cjson = require "cjson"
local peer_mod = require "peer"

local ARN = "arn:aws:personalize:us-east-1:123456789012:campaign/movies"
local CREDS = { access_key_id = "AKIDEXAMPLE", secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY" }

describe("personalize.fanout", function()
  local peer, control, runtime

  local function stats()
    local status, _, body = control:request{ url = peer.url .. "/__stats" }
    assert.equal(200, status)
    return cjson.decode(body)
  end

  local function client(opts)
    local o = { region = "us-east-1", endpoint = peer.url, credentials = CREDS }
    for k, v in pairs(opts or {}) do o[k] = v end
    return personalize.client("personalize-runtime", o)
  end

  local function params_for(users)
    local list = {}
    for i, u in ipairs(users) do list[i] = { campaignArn = ARN, userId = u } end
    return list
  end

  setup(function()
    peer = peer_mod.start{ kind = "lua", delay = 0.005 }
    control = core.http()
  end)

  teardown(function()
    if control then control:close() end
    if peer then peer.stop() end
  end)

  before_each(function()
    assert.equal(200, (control:request{ method = "POST", url = peer.url .. "/__reset" }))
    runtime = client()
  end)

  it("returns every result in input order, whatever order they finish in", function()
    -- Earlier items answer later: 60 ms down to 0 ms.
    local users = {}
    for i = 1, 12 do users[i] = ("slow-%d-u%d"):format((12 - i) * 5, i) end
    local results, failed = runtime:map("get_recommendations", params_for(users), { concurrency = 12 })
    assert.equal(0, failed)
    assert.equal(12, #results)
    for i = 1, 12 do
      assert.equal("RID-" .. users[i], results[i].recommendationId)
      assert.equal("req-" .. users[i] .. "-1", results[i].ResponseMetadata.RequestId)
      assert.equal(3, #results[i].itemList)
    end
  end)

  it("accepts the API's operation name too", function()
    local results, failed = runtime:map("GetRecommendations", params_for{ "a", "b" })
    assert.equal(0, failed)
    assert.equal("RID-b", results[2].recommendationId)
  end)

  it("puts each failure in its place as an error object", function()
    local results, failed = runtime:map("get_recommendations", params_for{ "ok-1", "bad-2", "ok-3", "bad-4" })
    assert.equal(2, failed)
    assert.equal("RID-ok-1", results[1].recommendationId)
    assert.equal("RID-ok-3", results[3].recommendationId)
    for _, i in ipairs{ 2, 4 } do
      local err = results[i]
      assert.is_true(errors.is_error(err))
      assert.equal("InvalidInputException", err.code)
      assert.equal(400, err.status)
      assert.equal("GetRecommendations", err.operation)
      assert.equal("req-bad-" .. i .. "-1", err.request_id)
      assert.is_false(err.retryable)
      assert.matches("no such user: bad%-" .. i, tostring(err))
    end
  end)

  it("retries a failed item per the retry policy, as a single call does", function()
    local results, failed = runtime:map("get_recommendations", params_for{ "fail-2-a", "b", "fail-5-c" })
    assert.equal(1, failed)
    assert.equal("RID-fail-2-a", results[1].recommendationId)
    assert.equal(2, results[1].ResponseMetadata.RetryAttempts)
    assert.equal(0, results[2].ResponseMetadata.RetryAttempts)
    -- Standard mode: 3 attempts in all, then the last error.
    local err = results[3]
    assert.equal("ServiceUnavailable", err.code)
    assert.equal(503, err.status)
    assert.equal(3, err.attempts)
    assert.matches("reached max retries: 2", tostring(err), 1, true)
    local s = stats()
    assert.equal(3, s.users["fail-2-a"])
    assert.equal(1, s.users.b)
    assert.equal(3, s.users["fail-5-c"])
  end)

  it("does not hold the other items back while one waits out its back-off", function()
    -- One request at a time: the first item is told to come back in 300 ms
    -- (x-amz-retry-after); the ten 10 ms items go out meanwhile.
    local users = { "wait-300-first" }
    for i = 2, 11 do users[i] = "slow-10-u" .. i end
    local results, failed = runtime:map("get_recommendations", params_for(users), { concurrency = 1 })
    assert.equal(0, failed)
    assert.equal("RID-wait-300-first", results[1].recommendationId)
    assert.equal(1, results[1].ResponseMetadata.RetryAttempts)
    local expected = {}
    for i = 1, 11 do expected[i] = users[i] end
    expected[12] = "wait-300-first"
    local s = stats()
    assert.same(expected, s.log)
    assert.equal(1, s.max_inflight)
  end)

  it("never has more than `concurrency` requests in flight, and uses them all", function()
    local users = {}
    for i = 1, 40 do users[i] = "slow-30-u" .. i end
    local t0 = core.now()
    local results, failed = runtime:map("get_recommendations", params_for(users), { concurrency = 8 })
    local elapsed = core.now() - t0
    assert.equal(0, failed)
    assert.equal(40, #results)
    local s = stats()
    assert.equal(40, s.count)
    assert.equal(8, s.max_inflight)
    -- 40 x 30 ms one by one is 1.2 s; 8 at a time about 0.15 s.
    assert.is_true(elapsed < 0.8, ("took %.2f s"):format(elapsed))
  end)

  it("keeps its connections alive within a run and from one run to the next", function()
    local users = {}
    for i = 1, 48 do users[i] = "slow-5-u" .. i end
    local c = client()
    for _ = 1, 3 do
      local _, failed = c:map("get_recommendations", params_for(users), { concurrency = 6 })
      assert.equal(0, failed)
    end
    local s = stats()
    assert.equal(3 * 48, s.count)
    assert.equal(6, s.max_inflight)
    assert.is_true(s.connections <= 6, s.connections .. " connections for 6 in flight")
    -- The transport lends one spare handle per request in flight.
    assert.is_true(#c.transport._spare <= 6)
  end)

  it("concurrency = 1 sends one request at a time", function()
    local users = {}
    for i = 1, 6 do users[i] = "slow-10-u" .. i end
    runtime:map("get_recommendations", params_for(users), { concurrency = 1 })
    assert.equal(1, stats().max_inflight)
  end)

  it("reports progress after every item, validation failures included", function()
    local list = params_for{ "a", "b", "c", "d" }
    list[3].numResults = "ten"
    local seen = {}
    local results, failed = runtime:map("get_recommendations", list, {
      on_progress = function(done, total) seen[#seen + 1] = { done, total } end,
    })
    assert.equal(1, failed)
    assert.same({ { 1, 4 }, { 2, 4 }, { 3, 4 }, { 4, 4 } }, seen)
    assert.equal("ParamValidation", results[3].code)
  end)

  it("never sends an item that fails validation", function()
    local list = params_for{ "a", "b", "c" }
    list[1].userId = nil
    list[1].unknownMember = 1
    list[3].userId = ("u"):rep(257)     -- over the 256 characters
    local results, failed = runtime:map("get_recommendations", list)
    assert.equal(2, failed)
    assert.equal("ParamValidation", results[1].code)
    assert.matches("unknownMember", results[1].message, 1, true)
    assert.equal("ParamValidation", results[3].code)
    assert.equal("RID-b", results[2].recommendationId)
    local s = stats()
    assert.equal(1, s.count)
    assert.same({ b = 1 }, s.users)
    -- Not a table at all: the same error as a single call.
    local r = runtime:map("get_recommendations", { "nope" })
    assert.equal("ParamValidation", r[1].code)
  end)

  it("runs a heterogeneous set over several clients with fanout.run", function()
    local events = personalize.client("personalize-events",
      { region = "us-east-1", endpoint = peer.url, credentials = CREDS })
    local once = client{ max_attempts = 1 }
    local results, failed = fanout.run({
      { runtime, "get_recommendations", { campaignArn = ARN, userId = "x1" } },
      { events, "put_events", { trackingId = "t", sessionId = "s",
          eventList = { { eventType = "click", sentAt = 1700000000 } } } },
      { once, "GetRecommendations", { campaignArn = ARN, userId = "fail-1-y" } },
      { runtime, "get_recommendations", { campaignArn = ARN, userId = "fail-1-z" } },
      { events, "put_events", { trackingId = "t" } },            -- invalid: not sent
    }, { concurrency = 4 })
    assert.equal(2, failed)
    assert.equal("RID-x1", results[1].recommendationId)
    assert.equal(200, results[2].ResponseMetadata.HTTPStatusCode)
    assert.equal("ServiceUnavailable", results[3].code)    -- max_attempts = 1: no retry
    assert.equal(1, results[3].attempts)
    assert.equal("RID-fail-1-z", results[4].recommendationId)
    assert.equal("ParamValidation", results[5].code)
    assert.equal(4, stats().count - 1)                     -- 4 sent, one of them twice
  end)

  it("returns an empty list for no calls", function()
    local results, failed = runtime:map("get_recommendations", {})
    assert.same({}, results)
    assert.equal(0, failed)
    results, failed = fanout.run({})
    assert.same({}, results)
    assert.equal(0, failed)
  end)

  it("reports connection failures per item", function()
    local dead = personalize.client("personalize-runtime", { region = "us-east-1",
      endpoint = "http://127.0.0.1:9", credentials = CREDS, max_attempts = 1 })
    local results, failed = fanout.run({
      { dead, "get_recommendations", { campaignArn = ARN, userId = "a" } },
      { runtime, "get_recommendations", { campaignArn = ARN, userId = "b" } },
    })
    assert.equal(1, failed)
    assert.equal("EndpointConnectionError", results[1].code)
    assert.is_true(results[1].retryable)
    assert.equal("RID-b", results[2].recommendationId)
  end)

  it("stops at an error raised by on_progress and can run again afterwards", function()
    local users = {}
    for i = 1, 10 do users[i] = "slow-20-u" .. i end
    assert.has_error(function()
      runtime:map("get_recommendations", params_for(users), {
        concurrency = 4,
        on_progress = function(done) if done == 2 then error("stop here") end end,
      })
    end, "stop here")
    local results, failed = runtime:map("get_recommendations", params_for{ "again" })
    assert.equal(0, failed)
    assert.equal("RID-again", results[1].recommendationId)
  end)

  it("a map inside on_progress runs on its own", function()
    local inner
    local results = runtime:map("get_recommendations", params_for{ "outer-1", "outer-2" }, {
      concurrency = 2,
      on_progress = function(done)
        if done == 1 then inner = runtime:map("get_recommendations", params_for{ "inner" }) end
      end,
    })
    assert.equal("RID-outer-1", results[1].recommendationId)
    assert.equal("RID-outer-2", results[2].recommendationId)
    assert.equal("RID-inner", inner[1].recommendationId)
  end)

  it("raises on misuse, naming the caller", function()
    assert.has_error(function() runtime:map("no_such_op", {}) end,
      "personalize.fanout: personalize-runtime has no operation no_such_op")
    assert.has_error(function() runtime:map("get_recommendations", "x") end)
    assert.has_error(function() runtime:map("get_recommendations", {}, { concurrency = 0 }) end)
    assert.has_error(function() runtime:map("get_recommendations", {}, { concurrency = 2.5 }) end)
    assert.has_error(function() runtime:map("get_recommendations", {}, { on_progress = 1 }) end)
    assert.has_error(function() runtime:map("get_recommendations", {}, { concurency = 2 }) end)
    assert.has_error(function() fanout.run({ { {}, "x", {} } }) end)
    assert.has_error(function() fanout.run({ 1 }) end)
    local ok, err = pcall(function() runtime:map("nope", {}) end)
    assert.is_false(ok)
    assert.matches("fanout_spec.lua", err, 1, true)
  end)

  describe("other transports", function()
    -- A transport that answers in the calling thread, as personalize-local
    -- in process or a stub does.
    local function plain_transport(log)
      return {
        name = "plain", sleep = function() end, now = core.now,
        send = function(_, req)
          log[#log + 1] = req.body:match('"userId":"([^"]*)"')
          return 200, { ["x-amzn-requestid"] = "plain" }, '{"recommendationId":"P-' .. log[#log] .. '"}'
        end,
      }
    end

    it("run the calls one after another through send", function()
      local log = {}
      local c = client{ transport = plain_transport(log) }
      local results, failed = c:map("get_recommendations", params_for{ "a", "b", "c" }, { concurrency = 8 })
      assert.equal(0, failed)
      assert.same({ "a", "b", "c" }, log)
      assert.equal("P-c", results[3].recommendationId)
    end)

    it("retry through the fan-out's back-off with nothing in flight", function()
      local log, seen = {}, {}
      local t = plain_transport(log)
      local send = t.send
      t.send = function(self, req)
        local user = req.body:match('"userId":"([^"]*)"')
        seen[user] = (seen[user] or 0) + 1
        if user == "flaky" and seen[user] == 1 then
          return 503, { ["x-amzn-errortype"] = "ServiceUnavailable" }, '{"message":"later"}'
        end
        return send(self, req)
      end
      local c = client{ transport = t }
      local results, failed = c:map("get_recommendations", params_for{ "flaky", "b" })
      assert.equal(0, failed)
      assert.equal("P-flaky", results[1].recommendationId)
      assert.equal(1, results[1].ResponseMetadata.RetryAttempts)
      assert.equal(2, seen.flaky)
    end)

    it("wait for adaptive mode's send tokens through the fan-out, never in the transport", function()
      local log, throttled = {}, 0
      local t = plain_transport(log)
      local send = t.send
      t.sleep = function() error("the transport's blocking sleep was called") end
      t.send = function(self, req)
        if throttled < 2 then
          throttled = throttled + 1
          return 400, { ["x-amzn-errortype"] = "ThrottlingException" }, '{"message":"slow down"}'
        end
        return send(self, req)
      end
      local c = client{ transport = t, retry_mode = "adaptive", max_attempts = 5 }
      local users = {}
      for i = 1, 3 do users[i] = "u" .. i end
      local results, failed = c:map("get_recommendations", params_for(users), { concurrency = 4 })
      assert.equal(0, failed, failed > 0 and tostring(results[1]) or nil)
      assert.is_true(c._retry.limiter.enabled)
      assert.equal(3, #log)
    end)

    it("use run_workers when the transport has it (the OpenResty hook)", function()
      local log, calls = {}, {}
      local t = plain_transport(log)
      function t.run_workers(self, n, worker)
        calls[#calls + 1] = { self = self, n = n }
        -- Light threads as coroutines, stepped round-robin at each send.
        local threads = {}
        for i = 1, n do threads[i] = coroutine.create(worker) end
        local alive = n
        while alive > 0 do
          alive = 0
          for i = 1, n do
            if coroutine.status(threads[i]) ~= "dead" then
              assert(coroutine.resume(threads[i]))
              alive = alive + 1
            end
          end
        end
      end
      local c = client{ transport = t }
      local results, failed = c:map("get_recommendations", params_for{ "a", "b", "c", "d", "e" },
        { concurrency = 3 })
      assert.equal(0, failed)
      assert.equal(1, #calls)
      assert.equal(t, calls[1].self)
      assert.equal(3, calls[1].n)
      for i, u in ipairs{ "a", "b", "c", "d", "e" } do
        assert.equal("P-" .. u, results[i].recommendationId)
      end
    end)
  end)
end)
