-- personalize-local's training glue: event filters, minimum-data rules,
-- train and recommend through the registry.
local training = require "personalize.engine.training"
local recipes = require "personalize.engine.recipes"

local POPULARITY = "arn:aws:personalize:::recipe/aws-popularity-count"
local SIMS = "arn:aws:personalize:::recipe/aws-sims"
local TYPES = { "click", "view", "buy" }

-- n_users users with `per_user` interactions each; row i has EVENT_TYPE
-- TYPES[i % 3 + 1], EVENT_VALUE i % 5 (nil every 7th row) and DEVICE "d<i>".
local function make(n_users, per_user, extra)
  local d = { n = 0, USER_ID = {}, ITEM_ID = {}, TIMESTAMP = {}, EVENT_TYPE = {}, EVENT_VALUE = {}, DEVICE = {} }
  local function add(user, item)
    local i = d.n + 1
    d.n = i
    d.USER_ID[i], d.ITEM_ID[i], d.TIMESTAMP[i] = user, item, 1700000000 + i
    d.EVENT_TYPE[i] = TYPES[i % 3 + 1]
    if i % 7 ~= 0 then d.EVENT_VALUE[i] = i % 5 end
    d.DEVICE[i] = "d" .. i
  end
  for u = 1, n_users do
    for j = 1, per_user do add("user" .. u, "item" .. ((u * 3 + j * 5) % 60)) end
  end
  for k = 1, extra or 0 do add("single" .. k, "item" .. (k % 60)) end
  return { interactions = d, items = { n = 1, ITEM_ID = { "item1" } } }
end

-- Checks that every kept row satisfies pred and that each column stayed aligned.
local function each_row(rows, fn)
  for i = 1, rows.n do
    local orig = tonumber(rows.DEVICE[i]:sub(2))
    assert.equal(1700000000 + orig, rows.TIMESTAMP[i])
    fn(rows.EVENT_TYPE[i], rows.EVENT_VALUE[i], orig)
  end
end

describe("training.prepare", function()
  it("accepts exactly 1000 interactions from 25 users and passes everything through", function()
    local data = make(25, 40)
    local out = assert(training.prepare(data, {}))
    assert.equal(data.interactions, out.interactions)
    assert.equal(data.items, out.items)
    assert.is_nil(out.event_weights)
  end)

  it("refuses 999 interactions, counting them", function()
    local data = make(27, 37)
    assert.equal(999, data.interactions.n)
    local ok, reason = training.prepare(data, {})
    assert.is_nil(ok)
    assert.equal("Dataset has fewer than 1000 interactions (found 999)", reason)
  end)

  it("refuses fewer than 25 users with at least 2 interactions", function()
    local data = make(24, 30, 400)
    assert.equal(1120, data.interactions.n)
    local ok, reason = training.prepare(data, {})
    assert.is_nil(ok)
    assert.equal("Dataset has fewer than 25 users with at least 2 interactions each (found 24)", reason)
    assert.truthy(training.prepare(make(25, 30, 400), {}))
  end)

  it("keeps only the solution's event type", function()
    local data = make(30, 100)
    local out = assert(training.prepare(data, { eventType = "click" }))
    assert.equal(1000, out.interactions.n)
    each_row(out.interactions, function(t) assert.equal("click", t) end)
    assert.equal(3000, data.interactions.n)   -- the input is not changed
    local ok, reason = training.prepare(make(30, 60), { eventType = "click" })
    assert.is_nil(ok)
    assert.equal("Dataset has fewer than 1000 interactions after filtering by event type: click (found 600)", reason)
    ok, reason = training.prepare(make(30, 60), { eventType = "purchase" })
    assert.is_nil(ok)
    assert.matches("event type: purchase %(found 0%)", reason)
  end)

  it("applies eventValueThreshold (values >= threshold; rows without a value dropped)", function()
    local data = make(50, 100)
    local out = assert(training.prepare(data, { solutionConfig = { eventValueThreshold = "2.5" } }))
    local expected = 0
    for i = 1, data.interactions.n do
      local v = data.interactions.EVENT_VALUE[i]
      if v and v >= 2.5 then expected = expected + 1 end
    end
    assert.equal(expected, out.interactions.n)
    each_row(out.interactions, function(_, v, orig)
      assert.is_true(v >= 3)
      assert.equal(orig % 5, v)
    end)
    local ok, reason = training.prepare(make(30, 40), { eventType = "view",
      solutionConfig = { eventValueThreshold = "4" } })
    assert.is_nil(ok)
    assert.matches("^Dataset has fewer than 1000 interactions after filtering by event type: view and "
      .. "event value threshold: 4 %(found %d+%)$", reason)
    ok, reason = training.prepare(data, { solutionConfig = { eventValueThreshold = "high" } })
    assert.is_nil(ok)
    assert.equal('solutionConfig.eventValueThreshold must be a number, got "high"', reason)
  end)

  it("applies eventsConfig: listed types only, each with its own threshold", function()
    local data = make(50, 100)
    local out = assert(training.prepare(data, { solutionConfig = { eventsConfig = { eventParametersList = {
      { eventType = "click", eventValueThreshold = 2, weight = 0.3 },
      { eventType = "view", weight = 0.9 },
    } } } }))
    local seen = {}
    each_row(out.interactions, function(t, v)
      seen[t] = true
      assert.is_true(t == "view" or (t == "click" and v >= 2))
    end)
    assert.same({ click = true, view = true }, seen)
    assert.same({ click = 0.3, view = 0.9 }, out.event_weights)
    local ok, reason = training.prepare(data, { solutionConfig = { eventsConfig = { eventParametersList = {
      { eventValueThreshold = 2 } } } } })
    assert.is_nil(ok)
    assert.equal("solutionConfig.eventsConfig.eventParametersList[1].eventType must name an event type", reason)
  end)

  it("reports malformed data instead of raising", function()
    local ok, reason = training.prepare(nil, {})
    assert.is_nil(ok)
    assert.matches("no interactions data", reason)
    ok, reason = training.prepare({ interactions = { n = 3, USER_ID = {} } }, {})
    assert.is_nil(ok)
    assert.matches("USER_ID and ITEM_ID", reason)
  end)
end)

describe("training.train and training.recommend", function()
  it("trains aws-popularity-count and recommends through the registry", function()
    local data = make(30, 40)
    local model = assert(training.train(POPULARITY, data, {}))
    local list = assert(training.recommend(POPULARITY, model, { numResults = 5 }))
    assert.equal(5, #list)
    assert.same(recipes.module(POPULARITY).recommend(model, { numResults = 5 }), list)
    assert.equal(25, #training.recommend(POPULARITY, model))
  end)

  it("trains on the filtered rows only", function()
    local data = make(40, 100)
    for i = 1, data.interactions.n do
      if data.interactions.EVENT_TYPE[i] == "buy" then data.interactions.ITEM_ID[i] = "bought" end
    end
    local all = assert(training.train(POPULARITY, data, {}))
    local clicks = assert(training.train(POPULARITY, data, { eventType = "click" }))
    assert.equal("bought", all.items[1])
    for _, item in ipairs(clicks.items) do assert.not_equal("bought", item) end
  end)

  it("returns the failure reasons of the registry, the data rules and the recipe", function()
    recipes.register("aws-vod-top-picks", false)
    finally(function() recipes.register("aws-vod-top-picks", nil) end)
    local ok, reason = training.train("arn:aws:personalize:::recipe/aws-vod-top-picks", make(30, 40), {})
    assert.is_nil(ok)
    assert.matches("not supported by personalize%-local", reason)
    ok, reason = training.train(POPULARITY, make(10, 120), {})
    assert.is_nil(ok)
    assert.equal("Dataset has fewer than 25 users with at least 2 interactions each (found 10)", reason)
    ok, reason = training.recommend(POPULARITY, nil, {})
    assert.is_nil(ok)
    assert.matches("no trained model", reason)

    recipes.register("aws-sims", { train = function() error("boom", 0) end,
                                   recommend = function() error("bang", 0) end })
    finally(function() recipes.register("aws-sims", nil) end)
    ok, reason = training.train(SIMS, make(30, 40), {})
    assert.is_nil(ok)
    assert.equal("Training failed: boom", reason)
    ok, reason = training.recommend(SIMS, {}, {})
    assert.is_nil(ok)
    assert.equal("Recommendation failed: bang", reason)
  end)
end)
