-- Parameter validation against the real service models: every bad call
-- comes back as a ParamValidation error that names each problem, and
-- nothing is sent.
local personalize = require "personalize"
local validate = require "personalize.validate"

local ARN = "arn:aws:personalize:us-east-1:123456789012:campaign/movies"
local DATASET_ARN = "arn:aws:personalize:us-east-1:123456789012:dataset/movies/INTERACTIONS"
local GROUP_ARN = "arn:aws:personalize:us-east-1:123456789012:dataset-group/movies"

-- Is the real pattern checker installed (rather than a stand-in)?
local function have_patterns()
  local f = io.open("lua/personalize/pattern.lua")
  if f then f:close() end
  return f ~= nil
end

-- A transport that answers 200 and counts what it was asked to send.
local function counting_transport()
  local t = { sends = 0 }
  function t:send()
    self.sends = self.sends + 1
    return 200, { ["x-amzn-requestid"] = "r-1" }, "{}"
  end
  t.sleep = function() end
  return t
end

local function new_client(service, transport)
  return personalize.client(service, {
    region = "us-east-1", transport = transport,
    access_key_id = "AKIDEXAMPLE", secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
  })
end

-- Calls `method` of a `service` client; returns res, err, the transport.
local function call(service, method, params)
  local t = counting_transport()
  local client = new_client(service, t)
  local res, err = client[method](client, params)
  return res, err, t
end

-- The problems of a call that must fail validation, by path (the first
-- reason when a value has several: length comes before pattern).
local function problems(service, method, params)
  local res, err, t = call(service, method, params)
  assert.is_nil(res)
  assert.is_table(err, "expected a validation error")
  assert.are.equal("ParamValidation", err.code)
  assert.are.equal(0, t.sends)
  local by_path = {}
  for _, p in ipairs(err.problems) do by_path[p.path] = by_path[p.path] or p.reason end
  return by_path, err
end

-- Asserts the call passes validation (and so is sent once).
local function valid(service, method, params)
  local res, err, t = call(service, method, params)
  assert.is_nil(err and tostring(err))
  assert.is_table(res)
  assert.are.equal(1, t.sends)
end

local function event(fields)
  local e = { eventType = "click", sentAt = 1700000000 }
  for k, v in pairs(fields or {}) do e[k] = v end
  return e
end

local function events(n, fields)
  local list = {}
  for i = 1, n do list[i] = event(fields) end
  return list
end

describe("parameter validation", function()
  describe("the error", function()
    local err, t
    lazy_setup(function()
      local res
      res, err, t = call("personalize-events", "put_events", {
        trackingId = "", sessionId = 7, colour = "red",
        eventList = { event(), event { sentAt = "yesterday" } },
      })
      assert.is_nil(res)
    end)

    it("has code ParamValidation and is not retryable", function()
      assert.are.equal("ParamValidation", err.code)
      assert.is_false(err.retryable)
      assert.are.equal("PutEvents", err.operation)
      assert.is_true(personalize.errors().is_error(err))
    end)

    it("lists every problem in err.problems", function()
      local paths = {}
      for _, p in ipairs(err.problems) do paths[#paths + 1] = p.path end
      table.sort(paths)
      assert.are.same({ "colour", "eventList[2].sentAt", "sessionId", "trackingId" }, paths)
    end)

    it("names every problem in the message, one line each", function()
      local lines = {}
      for line in (err.message .. "\n"):gmatch("(.-)\n") do lines[#lines + 1] = line end
      assert.are.equal("Parameter validation failed for the PutEvents operation:", lines[1])
      assert.are.equal(#err.problems + 1, #lines)
      for _, p in ipairs(err.problems) do
        assert.truthy(err.message:find(p.path .. ": " .. p.reason, 1, true))
      end
    end)

    it("prints as its message", function()
      assert.are.equal(err.message, tostring(err))
    end)

    it("was never sent", function()
      assert.are.equal(0, t.sends)
    end)
  end)

  it("rejects parameters that are not a table", function()
    local res, err, t = call("personalize", "list_schemas", "all of them")
    assert.is_nil(res)
    assert.are.equal("ParamValidation", err.code)
    assert.matches("parameters must be a table, got string", err.message)
    assert.are.equal(1, #err.problems)
    assert.are.equal(0, t.sends)
  end)

  it("accepts no parameters when none are required", function()
    valid("personalize", "list_schemas", nil)
    valid("personalize", "list_schemas", {})
    valid("personalize-runtime", "get_recommendations", nil)
  end)

  it("reports unknown members with the valid ones", function()
    local p = problems("personalize", "create_schema", { name = "movies", schema = "{}", nmae = "x" })
    assert.are.equal("unknown member; valid members: domain, name, schema", p.nmae)
  end)

  it("reports a non-string key as an unknown member", function()
    local p = problems("personalize", "create_schema", { name = "movies", schema = "{}", [1] = "x" })
    assert.matches("^unknown member", p["1"])
  end)

  it("reports missing required members", function()
    local p = problems("personalize", "create_schema", {})
    assert.are.equal("missing required member", p.name)
    assert.are.equal("missing required member", p.schema)
    p = problems("personalize-runtime", "get_personalized_ranking", { campaignArn = ARN })
    assert.are.equal("missing required member", p.inputList)
    assert.are.equal("missing required member", p.userId)
  end)

  describe("types", function()
    it("string", function()
      local p = problems("personalize-runtime", "get_recommendations", { userId = 42 })
      assert.are.equal("expected a string, got number 42", p.userId)
      p = problems("personalize-runtime", "get_recommendations", { userId = { "u1" } })
      assert.are.equal("expected a string, got a table", p.userId)
    end)

    it("integer", function()
      local p = problems("personalize-runtime", "get_recommendations", { numResults = 2.5 })
      assert.are.equal("expected an integer, got number 2.5", p.numResults)
      p = problems("personalize-runtime", "get_recommendations", { numResults = "10" })
      assert.are.equal('expected an integer, got string "10"', p.numResults)
      valid("personalize-runtime", "get_recommendations", { numResults = 10.0 })
    end)

    it("integer rejects infinities and NaN", function()
      for _, v in ipairs { math.huge, -math.huge, 0 / 0 } do
        local p = problems("personalize", "list_schemas", { maxResults = v })
        assert.matches("^expected an integer", p.maxResults)
      end
    end)

    it("double", function()
      local function influence(v)
        return { name = "c1", solutionVersionArn = ARN,
                 campaignConfig = { rankingInfluence = { POPULARITY = v } } }
      end
      local p = problems("personalize", "create_campaign", influence("high"))
      assert.are.equal('expected a number, got string "high"',
        p['campaignConfig.rankingInfluence["POPULARITY"]'])
      p = problems("personalize", "create_campaign", influence(0 / 0))
      assert.matches("^expected a number", p['campaignConfig.rankingInfluence["POPULARITY"]'])
      valid("personalize", "create_campaign", influence(0.25))
    end)

    it("float", function()
      local p = problems("personalize-events", "put_events", {
        trackingId = "t", sessionId = "s", eventList = { event { eventValue = "4.5" } } })
      assert.are.equal('expected a number, got string "4.5"', p["eventList[1].eventValue"])
    end)

    it("boolean", function()
      local p = problems("personalize", "create_solution",
        { name = "s1", datasetGroupArn = GROUP_ARN, performHPO = "true" })
      assert.are.equal('expected a boolean, got string "true"', p.performHPO)
      p = problems("personalize", "create_solution",
        { name = "s1", datasetGroupArn = GROUP_ARN, performHPO = 1 })
      assert.are.equal("expected a boolean, got number 1", p.performHPO)
      valid("personalize", "create_solution", { name = "s1", datasetGroupArn = GROUP_ARN, performHPO = false })
    end)

    it("list", function()
      local base = { campaignArn = ARN, userId = "u1" }
      base.inputList = "i1"
      local p = problems("personalize-runtime", "get_personalized_ranking", base)
      assert.are.equal('expected a list (array table), got string "i1"', p.inputList)
      base.inputList = { first = "i1" }
      p = problems("personalize-runtime", "get_personalized_ranking", base)
      assert.are.equal("expected a list (array table), got a table", p.inputList)
      base.inputList = { "i1", nil, "i3" }
      p = problems("personalize-runtime", "get_personalized_ranking", base)
      assert.truthy(p.inputList or p["inputList[2]"])  -- a hole, whatever # says
      base.inputList = { "i1", 2 }
      p = problems("personalize-runtime", "get_personalized_ranking", base)
      assert.are.equal("expected a string, got number 2", p["inputList[2]"])
    end)

    it("map", function()
      local p = problems("personalize-runtime", "get_recommendations", { context = "phone" })
      assert.are.equal('expected a table of string keys, got string "phone"', p.context)
      p = problems("personalize-runtime", "get_recommendations", { context = { DEVICE = 5 } })
      assert.are.equal("expected a string, got number 5", p['context["DEVICE"]'])
    end)

    it("structure", function()
      local p = problems("personalize", "create_solution",
        { name = "s1", datasetGroupArn = GROUP_ARN, solutionConfig = "fast" })
      assert.are.equal('expected a table of members, got string "fast"', p.solutionConfig)
      p = problems("personalize", "create_solution",
        { name = "s1", datasetGroupArn = GROUP_ARN, solutionConfig = { eventValueThreshold = "1", speed = 1 } })
      assert.matches("^unknown member", p["solutionConfig.speed"])
    end)

    it("timestamp", function()
      local p = problems("personalize-events", "put_events", {
        trackingId = "t", sessionId = "s", eventList = { event { sentAt = "2024-01-01T00:00:00Z" } } })
      assert.are.equal('expected a number (epoch seconds), got string "2024-01-01T00:00:00Z"',
        p["eventList[1].sentAt"])
      valid("personalize-events", "put_events", {
        trackingId = "t", sessionId = "s", eventList = { event { sentAt = 1700000000.25 } } })
    end)
  end)

  it("checks enums", function()
    local p = problems("personalize", "create_dataset_group", { name = "g1", domain = "RETAIL" })
    assert.are.equal('value "RETAIL" is not one of: ECOMMERCE, VIDEO_ON_DEMAND', p.domain)
    p = problems("personalize", "create_dataset_group", { name = "g1", domain = "ecommerce" })
    assert.truthy(p.domain)
    valid("personalize", "create_dataset_group", { name = "g1", domain = "VIDEO_ON_DEMAND" })
  end)

  it("checks enum map keys", function()
    local p = problems("personalize", "create_campaign", { name = "c1", solutionVersionArn = ARN,
      campaignConfig = { rankingInfluence = { POPULARITY = 0.5, NOVELTY = 0.5 } } })
    assert.are.equal('value "NOVELTY" is not one of: POPULARITY, FRESHNESS',
      p['campaignConfig.rankingInfluence["NOVELTY"]'])
    assert.is_nil(p['campaignConfig.rankingInfluence["POPULARITY"]'])
  end)

  describe("string length, in characters", function()
    it("min and max", function()
      local p = problems("personalize", "create_dataset_group", { name = "" })
      assert.are.equal("length 0 is below the minimum of 1", p.name)
      p = problems("personalize", "create_dataset_group", { name = string.rep("a", 64) })
      assert.are.equal("length 64 is above the maximum of 63", p.name)
      valid("personalize", "create_dataset_group", { name = string.rep("a", 63) })
      valid("personalize", "create_dataset_group", { name = "a" })
    end)

    it("counts UTF-8 characters, not bytes", function()
      -- 63 two-byte characters: 126 bytes, but within Name's 63.
      local name = string.rep("\195\169", 63)
      assert.are.equal(126, #name)
      local _, err = call("personalize", "create_dataset_group", { name = name })
      for _, p in ipairs(err and err.problems or {}) do
        assert.is_nil(p.reason:find("length", 1, true), p.reason)
      end
      local p = problems("personalize", "create_dataset_group", { name = string.rep("\195\169", 64) })
      assert.are.equal("length 64 is above the maximum of 63", p.name)
    end)

    it("counts three- and four-byte characters as one", function()
      -- StringType has no pattern: only length decides.
      valid("personalize-events", "put_events", { trackingId = string.rep("\226\130\172", 256),
        sessionId = string.rep("\240\159\152\128", 256), eventList = events(1) })
      local p = problems("personalize-events", "put_events", { trackingId = string.rep("\226\130\172", 257),
        sessionId = "s", eventList = events(1) })
      assert.are.equal("length 257 is above the maximum of 256", p.trackingId)
    end)
  end)

  describe("numeric range", function()
    it("numResults of get_recommendations", function()
      local p = problems("personalize-runtime", "get_recommendations", { numResults = -1 })
      assert.are.equal("value -1 is below the minimum of 0", p.numResults)
      -- The model gives NumResults a minimum of 0 and no maximum (the
      -- documented 500 is the service's to enforce): 0 and 501 pass here.
      valid("personalize-runtime", "get_recommendations", { numResults = 0 })
      valid("personalize-runtime", "get_recommendations", { numResults = 501 })
    end)

    it("maxResults of list operations (1 to 100)", function()
      local p = problems("personalize", "list_schemas", { maxResults = 0 })
      assert.are.equal("value 0 is below the minimum of 1", p.maxResults)
      p = problems("personalize", "list_schemas", { maxResults = 101 })
      assert.are.equal("value 101 is above the maximum of 100", p.maxResults)
      valid("personalize", "list_schemas", { maxResults = 1 })
      valid("personalize", "list_schemas", { maxResults = 100 })
    end)

    it("nested, in a list", function()
      local p = problems("personalize-runtime", "get_recommendations",
        { promotions = { { name = "promo", percentPromotedItems = 101 } } })
      assert.are.equal("value 101 is above the maximum of 100", p["promotions[1].percentPromotedItems"])
    end)

    it("doubles", function()
      local p = problems("personalize", "create_campaign", { name = "c1", solutionVersionArn = ARN,
        campaignConfig = { rankingInfluence = { FRESHNESS = 1.5 } } })
      assert.are.equal("value 1.5 is above the maximum of 1", p['campaignConfig.rankingInfluence["FRESHNESS"]'])
    end)
  end)

  describe("list size", function()
    it("PutEvents takes 1 to 10 events", function()
      valid("personalize-events", "put_events", { trackingId = "t", sessionId = "s", eventList = events(10) })
      local p = problems("personalize-events", "put_events",
        { trackingId = "t", sessionId = "s", eventList = events(11) })
      assert.are.equal("list size 11 is above the maximum of 10", p.eventList)
      p = problems("personalize-events", "put_events", { trackingId = "t", sessionId = "s", eventList = {} })
      assert.are.equal("list size 0 is below the minimum of 1", p.eventList)
    end)

    it("PromotionList takes at most one promotion", function()
      local p = problems("personalize-runtime", "get_recommendations",
        { promotions = { { name = "a" }, { name = "b" } } })
      assert.are.equal("list size 2 is above the maximum of 1", p.promotions)
    end)
  end)

  it("gives nested paths with 1-based indices", function()
    local list = events(4)
    list[3].sentAt = "now"
    list[4].impression = { "i1", "" }
    local p = problems("personalize-events", "put_events", { trackingId = "t", sessionId = "s", eventList = list })
    assert.are.equal('expected a number (epoch seconds), got string "now"', p["eventList[3].sentAt"])
    assert.are.equal("length 0 is below the minimum of 1", p["eventList[4].impression[2]"])
    assert.is_nil(p["eventList[2].sentAt"])
    list[2].metricAttribution = {}
    p = problems("personalize-events", "put_events", { trackingId = "t", sessionId = "s", eventList = list })
    assert.are.equal("missing required member", p["eventList[2].metricAttribution.eventAttributionSource"])
  end)

  describe("map keys", function()
    it("must be strings", function()
      local p = problems("personalize-runtime", "get_recommendations", { context = { "phone" } })
      assert.are.equal("map keys must be strings", p["context[1]"])
    end)

    it("are checked against the key shape", function()
      local key = string.rep("k", 51)
      local p = problems("personalize-runtime", "get_recommendations", { filterValues = { [key] = '"x"' } })
      -- Long keys are shortened to 40 bytes in the path.
      assert.are.equal("length 51 is above the maximum of 50",
        p['filterValues["' .. string.rep("k", 40) .. '"...]'])
    end)

    it("count toward the map size", function()
      local values = {}
      for i = 1, 26 do values["k" .. i] = '"v"' end
      local p = problems("personalize-runtime", "get_recommendations", { filterValues = values })
      assert.are.equal("map size 26 is above the maximum of 25", p.filterValues)
      values.k26 = nil
      valid("personalize-runtime", "get_recommendations", { filterValues = values })
    end)
  end)

  describe("jsonvalue members (properties)", function()
    local function put_items(properties)
      return { datasetArn = DATASET_ARN, items = { { itemId = "i1", properties = properties } } }
    end

    it("accept a table", function()
      valid("personalize-events", "put_items", put_items { genre = "comedy", year = 1999 })
      valid("personalize-events", "put_events", { trackingId = "t", sessionId = "s",
        eventList = { event { properties = { numRatings = 3 } } } })
    end)

    it("accept a JSON string", function()
      valid("personalize-events", "put_items", put_items '{"genre":"comedy"}')
    end)

    it("reject other types", function()
      local p = problems("personalize-events", "put_items", put_items(42))
      assert.are.equal("expected a table or a JSON string, got number", p["items[1].properties"])
      p = problems("personalize-events", "put_items", put_items(true))
      assert.are.equal("expected a table or a JSON string, got boolean", p["items[1].properties"])
    end)

    it("check the length of a string", function()
      local p = problems("personalize-events", "put_items", put_items "")
      assert.are.equal("length 0 is below the minimum of 1", p["items[1].properties"])
      p = problems("personalize-events", "put_events", { trackingId = "t", sessionId = "s",
        eventList = { event { properties = '"' .. string.rep("x", 1023) .. '"' } } })
      assert.are.equal("length 1025 is above the maximum of 1024", p["eventList[1].properties"])
    end)
  end)

  describe("patterns", function()
    if not have_patterns() then
      pending("lua/personalize/pattern.lua is not there yet")
      return
    end

    it("reject an ARN that is not one", function()
      local p = problems("personalize-runtime", "get_recommendations", { campaignArn = "not-an-arn" })
      assert.are.equal('value "not-an-arn" does not match the pattern arn:([a-z\\d-]+):personalize:.*:.*:.+',
        p.campaignArn)
    end)

    it("accept a real ARN", function()
      valid("personalize-runtime", "get_recommendations", { campaignArn = ARN, userId = "u1" })
    end)

    it("check names", function()
      local p = problems("personalize", "create_dataset_group", { name = "-movies" })
      assert.matches("does not match the pattern", p.name)
      valid("personalize", "create_dataset_group", { name = "movies-2024_v1" })
    end)

    it("check map keys", function()
      local p = problems("personalize-runtime", "get_recommendations", { context = { ["-"] = "x" } })
      assert.matches("does not match the pattern", p['context["-"]'])
    end)
  end)

  describe("validate.check", function()
    local model = require "personalize.models.personalize_runtime"

    it("returns nil for valid parameters", function()
      assert.is_nil(validate.check(model, "GetRecommendationsRequest", { userId = "u1", numResults = 5 }))
    end)

    it("returns the list of problems otherwise", function()
      local list = validate.check(model, "GetRecommendationsRequest", { userId = 1, numResults = -1 })
      assert.are.same({
        { path = "numResults", reason = "value -1 is below the minimum of 0" },
        { path = "userId", reason = "expected a string, got number 1" },
      }, list)
    end)

    it("says when an operation takes no parameters", function()
      assert.is_nil(validate.check(model, nil, nil))
      assert.is_nil(validate.check(model, nil, {}))
      assert.are.same({ { path = "", reason = "this operation takes no parameters" } },
        validate.check(model, nil, { x = 1 }))
    end)

    it("counts characters", function()
      assert.are.equal(0, validate.char_length(""))
      assert.are.equal(3, validate.char_length("abc"))
      assert.are.equal(4, validate.char_length("a\195\169\226\130\172\240\159\152\128"))
    end)
  end)
end)
