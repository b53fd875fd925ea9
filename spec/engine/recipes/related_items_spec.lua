-- aws-sims, aws-similar-items and aws-semantic-similarity: a planted
-- co-occurrence, metadata neighbours, fall-backs, no scores, determinism.
local fixtures = require "engine.recipes.fixtures"
local training = require "personalize.engine.training"

local ARN = "arn:aws:personalize:::recipe/"
local SIMS, SIMILAR, SEMANTIC = ARN .. "aws-sims", ARN .. "aws-similar-items", ARN .. "aws-semantic-similarity"

local function train(arn, data, config)
  return assert(training.train(arn, data, config or {}))
end

local function related(arn, model, item, n)
  return assert(training.recommend(arn, model, { itemId = item, numResults = n or 10 }))
end

local function with_items()
  local data = fixtures.communities()
  data.items = fixtures.items()
  return data
end

describe("aws-sims", function()
  local model
  setup(function() model = train(SIMS, fixtures.communities()) end)

  it("finds the planted co-occurrence first, within the community, without scores", function()
    local list = related(SIMS, model, "a01")
    assert.equal("a02", list[1].itemId)
    assert.equal("a01", related(SIMS, model, "a02")[1].itemId)
    for _, r in ipairs(list) do
      assert.is_nil(r.score)
      assert.not_equal("a01", r.itemId)
    end
    assert.equal(10, fixtures.count_prefix(related(SIMS, model, "b07"), "b"))
  end)

  it("gives the popular items for an unknown item, and after the neighbours", function()
    local pop = assert(training.recommend(ARN .. "aws-popularity-count",
      train(ARN .. "aws-popularity-count", fixtures.communities()), { numResults = 5 }))
    assert.same(fixtures.ids(pop), fixtures.ids(related(SIMS, model, "unknown", 5)))
    -- the whole catalogue but the item itself
    local all = related(SIMS, model, "a01", 100)
    assert.equal(79, #all)
    local seen = {}
    for _, r in ipairs(all) do
      assert.is_nil(seen[r.itemId])
      seen[r.itemId] = true
    end
  end)

  it("honours min_cointeraction_count and popularity_discount_factor", function()
    -- a01 and a02 share 10 users; no pair reaches 1000
    local strict = train(SIMS, fixtures.communities(), { solutionConfig = { algorithmHyperParameters = {
      min_cointeraction_count = "1000" } } })
    local pop = assert(training.recommend(ARN .. "aws-popularity-count",
      train(ARN .. "aws-popularity-count", fixtures.communities()), { numResults = 5 }))
    assert.same(fixtures.ids(pop), fixtures.ids(related(SIMS, strict, "a01", 5)))
    local raw = train(SIMS, fixtures.communities(), { solutionConfig = { algorithmHyperParameters = {
      popularity_discount_factor = "0" } } })
    assert.equal("a02", related(SIMS, raw, "a01")[1].itemId)
  end)

  it("is deterministic", function()
    local again = train(SIMS, fixtures.communities())
    assert.same(model, again)
    assert.same(related(SIMS, model, "a05"), related(SIMS, again, "a05"))
  end)
end)

describe("aws-similar-items", function()
  it("blends co-occurrence with metadata, and serves new items from their metadata", function()
    local data = with_items()
    local model = train(SIMILAR, data)
    assert.equal("a02", related(SIMILAR, model, "a01")[1].itemId)
    -- new1 has no interactions: its neighbours are alpha items like it (x1, "Alpha story part")
    local list = related(SIMILAR, model, "new1", 5)
    assert.equal(5, fixtures.count_prefix(list, "a"))
    for _, r in ipairs(list) do assert.is_nil(r.score) end
    assert.same(list, related(SIMILAR, train(SIMILAR, with_items()), "new1", 5))
  end)

  it("works without an items dataset (co-occurrence only)", function()
    local model = train(SIMILAR, fixtures.communities())
    assert.equal("a02", related(SIMILAR, model, "a01")[1].itemId)
    assert.equal(10, #related(SIMILAR, model, "zzz"))
  end)
end)

describe("aws-semantic-similarity", function()
  it("finds the items whose text and categories match, without scores", function()
    local data = with_items()
    data.items.TITLE[1] = "The Lost Lighthouse Keeper"      -- a01
    data.items.TITLE[3] = "Return of the Lighthouse Keeper" -- a02
    local model = train(SEMANTIC, data)
    local list = related(SEMANTIC, model, "a01", 5)
    assert.equal("a02", list[1].itemId)
    for _, r in ipairs(list) do assert.is_nil(r.score) end
    -- categories and words: b items resemble b items (b07: "7" is too short
    -- a word, whereas b10 would find a10 through the rare word "10")
    assert.equal(5, fixtures.count_prefix(related(SEMANTIC, model, "b07", 5), "b"))
    assert.equal("a10", related(SEMANTIC, model, "b10", 1)[1].itemId)
    -- an item without metadata: popular items
    assert.equal(5, #related(SEMANTIC, model, "unknown", 5))
    assert.same(list, related(SEMANTIC, train(SEMANTIC, data), "a01", 5))
  end)

  it("fails to train without item metadata, saying so", function()
    local ok, reason = training.train(SEMANTIC, fixtures.communities(), {})
    assert.is_nil(ok)
    assert.matches("needs an Items dataset", reason)
  end)
end)
