-- aws-user-personalization (-v2) and aws-personalized-ranking (-v2) on
-- planted communities: tastes, live history, scores, exploration,
-- determinism, and the quality target on MovieLens.
local fixtures = require "engine.recipes.fixtures"
local training = require "personalize.engine.training"
local metrics = require "personalize.engine.metrics"
local cjson = require "cjson"

local ARN = "arn:aws:personalize:::recipe/"
local UP, UP2 = ARN .. "aws-user-personalization", ARN .. "aws-user-personalization-v2"
local RANK, RANK2 = ARN .. "aws-personalized-ranking", ARN .. "aws-personalized-ranking-v2"

local function train(arn, data, config)
  return assert(training.train(arn, data or fixtures.communities(), config or {}))
end

local function recommend(arn, model, request)
  return assert(training.recommend(arn, model, request))
end

-- The model as the engine stores and reloads it.
local function round_trip(model)
  local codec = cjson.new()
  codec.encode_number_precision(14)
  return codec.decode(codec.encode(model))
end

local function sum_scores(list)
  local s = 0
  for _, r in ipairs(list) do s = s + r.score end
  return s
end

describe("aws-user-personalization", function()
  local model
  setup(function() model = train(UP) end)

  it("recommends a user's community, never an item they have", function()
    local list = recommend(UP, model, { userId = "u05", numResults = 10 })
    assert.equal(10, #list)
    assert.equal(10, fixtures.count_prefix(list, "a"))
    local had = {}
    local rows = fixtures.communities().interactions
    for i = 1, rows.n do
      if rows.USER_ID[i] == "u05" then had[rows.ITEM_ID[i]] = true end
    end
    for _, r in ipairs(list) do assert.is_nil(had[r.itemId], r.itemId) end
    local b = recommend(UP, model, { userId = "u40", numResults = 3 })
    assert.equal(3, fixtures.count_prefix(b, "b"))
  end)

  it("scores with a softmax over the catalogue: numbers, descending, summing to at most 1", function()
    local list = recommend(UP, model, { userId = "u05", numResults = 25 })
    assert.equal(25, #list)
    for i, r in ipairs(list) do
      assert.equal("number", type(r.score))
      assert.is_true(r.score > 0 and r.score <= 1)
      if i > 1 then assert.is_true(r.score <= list[i - 1].score) end
    end
    assert.is_true(sum_scores(list) <= 1.0001)
  end)

  it("gives an unknown user the popular items", function()
    local list = recommend(UP, model, { userId = "stranger", numResults = 5 })
    assert.equal(5, #list)
    local pop = recommend(ARN .. "aws-popularity-count",
      train(ARN .. "aws-popularity-count"), { numResults = 5 })
    assert.same(fixtures.ids(pop), fixtures.ids(list))
  end)

  it("follows live events at once: a new user with history of b items gets b items", function()
    local list = recommend(UP, model, { userId = "fresh", history = { "b03", "b04", "b05" }, numResults = 10 })
    assert.equal(10, fixtures.count_prefix(list, "b"))
    for _, r in ipairs(list) do assert.is_true(r.itemId ~= "b03" and r.itemId ~= "b04" and r.itemId ~= "b05") end
    -- a known a-user who turns to b: the newest events weigh most
    local before = recommend(UP, model, { userId = "u05", numResults = 5 })
    local after = recommend(UP, model, { userId = "u05", numResults = 5,
      history = { "b01", "b02", "b03", "b04", "b05", "b06", "b07", "b08" } })
    assert.not_same(fixtures.ids(before), fixtures.ids(after))
    assert.is_true(fixtures.count_prefix(after, "b") > 0)
    -- unknown ids in the history are ignored
    assert.same(fixtures.ids(before), fixtures.ids(recommend(UP, model,
      { userId = "u05", numResults = 5, history = { "nope" } })))
  end)

  it("honours numResults, exclude and keep (asking keep until enough are kept)", function()
    local full = recommend(UP, model, { userId = "u05", numResults = 8 })
    local asked = 0
    local list = recommend(UP, model, { userId = "u05", numResults = 3,
      exclude = { [full[1].itemId] = true },
      keep = function(id) asked = asked + 1; return id ~= full[2].itemId end })
    assert.same({ full[3].itemId, full[4].itemId, full[5].itemId }, fixtures.ids(list))
    assert.equal(4, asked)
    assert.same({}, recommend(UP, model, { userId = "u05", numResults = 0 }))
    -- the filter may leave fewer than numResults
    list = recommend(UP, model, { userId = "u05", numResults = 10, keep = function(id) return id == "a20" end })
    assert.is_true(#list <= 1)
  end)

  it("is deterministic and survives the engine's JSON round trip", function()
    local again = train(UP)
    assert.same(model, again)
    local stored = round_trip(model)
    for _, u in ipairs({ "u01", "u17", "u33", "u60", "stranger" }) do
      local a = recommend(UP, model, { userId = u })
      assert.same(a, recommend(UP, again, { userId = u }))
      assert.same(a, recommend(UP, stored, { userId = u }))
    end
    -- and compact: tens of kilobytes here (EASE's rows are dense on 80 items)
    assert.is_true(#cjson.encode(model) < 100000)
  end)

  it("explores new and less-seen items in proportion to the weight, deterministically", function()
    local data = fixtures.communities()
    data.items = fixtures.items()
    local m = train(UP, data)
    local plain = recommend(UP, m, { userId = "u05", numResults = 10 })
    assert.same(plain, recommend(UP, m, { userId = "u05", numResults = 10, exploration = { weight = 0 } }))
    for _, r in ipairs(plain) do assert.not_equal("new1", r.itemId) end
    local explored = recommend(UP, m, { userId = "u05", numResults = 10,
      exploration = { weight = 0.9, ageCutOff = 30 } })
    assert.equal("new1", explored[1].itemId)
    assert.same(explored, recommend(UP, m, { userId = "u05", numResults = 10,
      exploration = { weight = 0.9, ageCutOff = 30 } }))
    -- an item older than the cut-off is not explored
    data.items = fixtures.items(fixtures.T0 - 86400 * 100)
    m = train(UP, data)
    explored = recommend(UP, m, { userId = "u05", numResults = 10, exploration = { weight = 0.9, ageCutOff = 30 } })
    for _, r in ipairs(explored) do assert.not_equal("new1", r.itemId) end
  end)

  it("weighs events by eventsConfig's weights", function()
    -- x goes with q through buys (users 1-15) and with p through clicks (16-30)
    local list, t = {}, fixtures.T0
    local function add(u, item, et) t = t + 1; list[#list + 1] = { u, item, t, et } end
    for u = 1, 30 do
      local et = u <= 15 and "buy" or "click"
      add("w" .. u, "x", et)
      add("w" .. u, u <= 15 and "q" or "p", et)
    end
    for u = 1, 25 do
      for k = 1, 40 do add("f" .. u, "f" .. ((u * 3 + k) % 90), "buy") end
    end
    local data = { interactions = fixtures.rows(list) }
    local function first(buy, click)
      local m = train(UP, data, { solutionConfig = { eventsConfig = { eventParametersList = {
        { eventType = "buy", weight = buy }, { eventType = "click", weight = click } } } } })
      return recommend(UP, m, { userId = "new", history = { "x" }, numResults = 1 })[1].itemId
    end
    assert.equal("q", first(1, 0.1))
    assert.equal("p", first(0.1, 1))
  end)

  it("trains -v2 the same way", function()
    local m2 = train(UP2)
    assert.same(recommend(UP, model, { userId = "u07" }), recommend(UP2, m2, { userId = "u07" }))
  end)

  it("refuses too little data with the service's reasons", function()
    local data = fixtures.communities()
    data.interactions.n = 999
    local ok, reason = training.train(UP, data, {})
    assert.is_nil(ok)
    assert.equal("Dataset has fewer than 1000 interactions (found 999)", reason)
    ok, reason = training.train(UP, fixtures.communities(), { eventType = "click" })
    assert.is_nil(ok)
    assert.equal("Dataset has fewer than 1000 interactions after filtering by event type: click (found 0)", reason)
  end)

  it("reaches three times the NDCG@10 of aws-popularity-count on MovieLens", function()
    local data = fixtures.movielens()
    if not data then return end
    local pop = assert(metrics.evaluate(ARN .. "aws-popularity-count", data, {}))
    local up = assert(metrics.evaluate(UP, data, {}))
    local a, b = up.normalized_discounted_cumulative_gain_at_10, pop.normalized_discounted_cumulative_gain_at_10
    print(("\naws-user-personalization NDCG@10 %.4f, popularity %.4f (%.2fx)"):format(a, b, a / b))
    assert.is_true(a >= 3 * b)
  end)
end)

describe("aws-personalized-ranking", function()
  local model
  setup(function() model = train(RANK) end)

  it("ranks the input list for the user, unknown items last in input order", function()
    local input = { "zz1", "b01", "a03", "b02", "a04", "zz0" }
    local list = recommend(RANK, model, { userId = "u05", inputList = input })
    assert.equal(6, #list)
    local ids = fixtures.ids(list)
    assert.equal("a", ids[1]:sub(1, 1))
    assert.equal("a", ids[2]:sub(1, 1))
    assert.same({ "zz1", "zz0" }, { ids[5], ids[6] })
    local s = sum_scores(list)
    assert.is_true(s > 0.999 and s < 1.001, tostring(s))
    for i = 2, #list do assert.is_true(list[i].score <= list[i - 1].score) end
    -- the other community ranks the other way
    local other = fixtures.ids(recommend(RANK, model, { userId = "u40", inputList = input }))
    assert.equal("b", other[1]:sub(1, 1))
  end)

  it("uses live history, and -v2 gives the same ranking", function()
    local input = { "a01", "b01" }
    local list = recommend(RANK, model, { userId = "fresh", history = { "b05", "b06" }, inputList = input })
    assert.equal("b01", list[1].itemId)
    local m2 = train(RANK2)
    assert.same(list, recommend(RANK2, m2, { userId = "fresh", history = { "b05", "b06" }, inputList = input }))
  end)

  it("ranks the whole catalogue without an inputList (the metrics harness)", function()
    local list = recommend(RANK, model, { userId = "u05", numResults = 5 })
    assert.equal(5, fixtures.count_prefix(list, "a"))
  end)
end)
