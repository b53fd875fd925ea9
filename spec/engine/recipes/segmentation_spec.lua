-- aws-item-affinity and aws-item-attribute-affinity: user segments.
local fixtures = require "engine.recipes.fixtures"
local training = require "personalize.engine.training"
local cjson = require "cjson"

local ARN = "arn:aws:personalize:::recipe/"
local AFFINITY, ATTRIBUTE = ARN .. "aws-item-affinity", ARN .. "aws-item-attribute-affinity"

local function data()
  local d = fixtures.communities()
  d.items = fixtures.items()
  return d
end

local function has_item(user, item)
  local rows = fixtures.communities().interactions
  for i = 1, rows.n do
    if rows.USER_ID[i] == user and rows.ITEM_ID[i] == item then return true end
  end
  return false
end

describe("aws-item-affinity", function()
  local model
  setup(function() model = assert(training.train(AFFINITY, data(), {})) end)

  it("segments the item's community, leaving out users who have it, best user scoring 1", function()
    local users = assert(training.segment(AFFINITY, model, { itemId = "a05", numResults = 10 }))
    assert.equal(10, #users)
    assert.equal(1, users[1].score)
    for i, r in ipairs(users) do
      local n = tonumber(r.userId:sub(2))
      assert.is_true(n <= 30, r.userId)
      assert.is_false(has_item(r.userId, "a05"), r.userId)
      if i > 1 then assert.is_true(r.score <= users[i - 1].score) end
    end
    local b = assert(training.segment(AFFINITY, model, { itemId = "b05", numResults = 5 }))
    for _, r in ipairs(b) do assert.is_true(tonumber(r.userId:sub(2)) > 30) end
  end)

  it("gives the planted partner's users to a01", function()
    -- every user with a02 has a01: nobody is left who would take a01 through a02,
    -- so a01's segment is the other a users
    local users = assert(training.segment(AFFINITY, model, { itemId = "a01", numResults = 5 }))
    for _, r in ipairs(users) do assert.is_true(tonumber(r.userId:sub(2)) <= 30) end
  end)

  it("answers an unknown item with the most active users, without scores", function()
    local users = assert(training.segment(AFFINITY, model, { itemId = "nothing", numResults = 3 }))
    assert.equal(3, #users)
    for _, r in ipairs(users) do assert.is_nil(r.score) end
  end)

  it("is deterministic and survives JSON", function()
    local again = assert(training.train(AFFINITY, data(), {}))
    assert.same(model, again)
    local stored = cjson.decode(cjson.encode(model))
    assert.same(assert(training.segment(AFFINITY, model, { itemId = "b09" })),
      assert(training.segment(AFFINITY, stored, { itemId = "b09" })))
  end)

  it("is not something other recipes do", function()
    local pop = assert(training.train(ARN .. "aws-popularity-count", data(), {}))
    local ok, reason = training.segment(ARN .. "aws-popularity-count", pop, { itemId = "a01" })
    assert.is_nil(ok)
    assert.matches("not a USER_SEGMENTATION recipe", reason)
  end)
end)

describe("aws-item-attribute-affinity", function()
  local model
  setup(function() model = assert(training.train(ATTRIBUTE, data(), {})) end)

  it("segments the users who like items with the attributes", function()
    local users = assert(training.segment(ATTRIBUTE, model,
      { itemAttributes = 'ITEMS.GENRES = "beta"', numResults = 10 }))
    assert.equal(10, #users)
    for _, r in ipairs(users) do assert.is_true(tonumber(r.userId:sub(2)) > 30, r.userId) end
    local alpha = assert(training.segment(ATTRIBUTE, model,
      { itemAttributes = 'items.genres = "ALPHA" AND ITEMS.GENRES = "x1" OR ITEMS.TITLE = "nothing"', numResults = 5 }))
    for _, r in ipairs(alpha) do assert.is_true(tonumber(r.userId:sub(2)) <= 30, r.userId) end
    assert.equal(1, alpha[1].score)
  end)

  it("rejects a malformed expression with the place of the problem", function()
    local ok, reason = training.segment(ATTRIBUTE, model, { itemAttributes = 'ITEMS.GENRES == "beta"' })
    assert.is_nil(ok)
    assert.matches("expected ITEMS.<column> = \"<value>\" at character 1", reason, 1, true)
    ok, reason = training.segment(ATTRIBUTE, model, { itemAttributes = 'ITEMS.GENRES = "beta" XOR ITEMS.A = "b"' })
    assert.is_nil(ok)
    assert.matches("expected AND or OR", reason)
    ok, reason = training.segment(ATTRIBUTE, model, {})
    assert.is_nil(ok)
    assert.matches("itemAttributes must be an expression", reason)
  end)

  it("parses AND tighter than OR", function()
    local attr = require "personalize.engine.recipes.item_attribute_affinity"
    assert.same({ { { "A", "1" }, { "B", "2" } }, { { "C", "3" } } },
      attr.parse('ITEMS.a = "1" and ITEMS.b = "2" or ITEMS.c = "3"'))
  end)
end)
