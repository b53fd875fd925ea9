-- personalize-local's recipe registry and the aws-popularity-count recipe.
local recipes = require "personalize.engine.recipes"
local popularity = require "personalize.engine.recipes.popularity_count"
local model_def = require "personalize.models.personalize"
local cjson = require "cjson"

local ARN = "arn:aws:personalize:::recipe/"

local CUSTOM = {
  "aws-item-affinity", "aws-item-attribute-affinity", "aws-next-best-action", "aws-personalized-ranking",
  "aws-personalized-ranking-v2", "aws-popularity-count", "aws-semantic-similarity", "aws-similar-items",
  "aws-sims", "aws-trending-now", "aws-user-personalization", "aws-user-personalization-v2",
}
local ECOMMERCE = {
  "aws-ecomm-customers-who-viewed-x-also-viewed", "aws-ecomm-frequently-bought-together",
  "aws-ecomm-popular-items-by-purchases", "aws-ecomm-popular-items-by-views", "aws-ecomm-recommended-for-you",
}
local VOD = {
  "aws-vod-because-you-watched-x", "aws-vod-more-like-x", "aws-vod-most-popular", "aws-vod-top-picks",
  "aws-vod-trending-now",
}
local TYPES = { USER_PERSONALIZATION = true, PERSONALIZED_RANKING = true, RELATED_ITEMS = true,
                PERSONALIZED_ACTIONS = true, USER_SEGMENTATION = true }

local function names_of(list)
  local out = {}
  for i, r in ipairs(list) do out[i] = r.name end
  return out
end

-- Every key of record is a member of one of the botocore shapes named.
local function assert_members(record, ...)
  local shapes = { ... }
  for key in pairs(record) do
    local known = false
    for _, s in ipairs(shapes) do
      if model_def.shapes[s].members[key] then known = true end
    end
    assert(known, ("%s is not a member of %s"):format(key, table.concat(shapes, "/")))
  end
end

-- Columnar interactions from { {user, item}, ... }.
local function rows(pairs_list)
  local d = { n = #pairs_list, USER_ID = {}, ITEM_ID = {}, TIMESTAMP = {} }
  for i, p in ipairs(pairs_list) do
    d.USER_ID[i], d.ITEM_ID[i], d.TIMESTAMP[i] = p[1], p[2], 1000 + i
  end
  return { interactions = d }
end

local function ids(list)
  local out = {}
  for i, r in ipairs(list) do out[i] = r.itemId end
  return out
end

describe("recipes registry", function()
  it("lists every current recipe, sorted by name, each well-formed", function()
    local all = recipes.list()
    local want = {}
    for _, group in ipairs({ CUSTOM, ECOMMERCE, VOD }) do
      for _, n in ipairs(group) do want[#want + 1] = n end
    end
    table.sort(want)
    assert.same(want, names_of(all))
    for _, r in ipairs(all) do
      assert.equal(ARN .. r.name, r.recipeArn)
      assert.matches("^arn:aws:personalize:::algorithm/aws%-", r.algorithmArn)
      assert.matches("^arn:aws:personalize:::feature%-transformation/.", r.featureTransformationArn)
      assert.equal("ACTIVE", r.status)
      assert.is_true(TYPES[r.recipeType], r.name .. " has recipeType " .. tostring(r.recipeType))
      assert.equal("number", type(r.creationDateTime))
      assert.equal("number", type(r.lastUpdatedDateTime))
      assert.is_true(#r.description > 10)
      assert_members(r, "Recipe", "RecipeSummary")
    end
  end)

  it("filters by domain", function()
    assert.same(ECOMMERCE, names_of(recipes.list("ECOMMERCE")))
    assert.same(VOD, names_of(recipes.list("VIDEO_ON_DEMAND")))
    assert.same({}, recipes.list("NO_SUCH_DOMAIN"))
    for _, n in ipairs(CUSTOM) do assert.is_nil(recipes.get(ARN .. n).domain) end
  end)

  it("describes the recipes the documentation details", function()
    local r = recipes.get(ARN .. "aws-popularity-count")
    assert.equal("arn:aws:personalize:::algorithm/aws-popularity-count", r.algorithmArn)
    assert.equal("arn:aws:personalize:::feature-transformation/sims", r.featureTransformationArn)
    assert.equal("USER_PERSONALIZATION", r.recipeType)
    assert.equal("arn:aws:personalize:::algorithm/aws-trending-now-custom",
      recipes.get(ARN .. "aws-trending-now").algorithmArn)
    assert.equal("RELATED_ITEMS", recipes.get(ARN .. "aws-sims").recipeType)
    assert.equal("PERSONALIZED_RANKING", recipes.get(ARN .. "aws-personalized-ranking").recipeType)
    assert.equal("USER_SEGMENTATION", recipes.get(ARN .. "aws-item-affinity").recipeType)
    assert.equal("PERSONALIZED_ACTIONS", recipes.get(ARN .. "aws-next-best-action").recipeType)
    assert.equal("VIDEO_ON_DEMAND", recipes.get(ARN .. "aws-vod-top-picks").domain)
  end)

  it("returns nil for unknown ARNs and copies that callers may change", function()
    assert.is_nil(recipes.get(ARN .. "aws-nope"))
    assert.is_nil(recipes.get(nil))
    assert.is_nil(recipes.algorithm("arn:aws:personalize:::algorithm/nope"))
    assert.is_nil(recipes.feature_transformation("arn:aws:personalize:::feature-transformation/nope"))
    local r = recipes.get(ARN .. "aws-sims")
    r.status = "CHANGED"
    recipes.list()[1].name = "changed"
    assert.equal("ACTIVE", recipes.get(ARN .. "aws-sims").status)
    assert.equal("aws-ecomm-customers-who-viewed-x-also-viewed", recipes.list()[1].name)
  end)

  it("describes every recipe's algorithm and feature transformation", function()
    for _, r in ipairs(recipes.list()) do
      local a = recipes.algorithm(r.algorithmArn)
      assert.equal(r.algorithmArn, a.algorithmArn)
      assert.equal("string", type(a.algorithmImage.dockerURI))
      assert.equal("number", type(a.creationDateTime))
      assert_members(a, "Algorithm")
      assert_members(a.algorithmImage, "AlgorithmImage")
      local f = recipes.feature_transformation(r.featureTransformationArn)
      assert.equal(r.featureTransformationArn, f.featureTransformationArn)
      assert.equal("ACTIVE", f.status)
      assert_members(f, "FeatureTransformation")
    end
    local up = recipes.algorithm("arn:aws:personalize:::algorithm/aws-user-personalization")
    assert.equal("149", up.defaultHyperParameters.hidden_dimension)
  end)

  it("gives the module of a trained recipe, and a clear refusal for the others", function()
    local m = recipes.module(ARN .. "aws-popularity-count")
    assert.equal(popularity, m)
    assert.equal("function", type(recipes.module(ARN .. "aws-user-personalization").train))
    recipes.register("aws-vod-top-picks", false)
    finally(function() recipes.register("aws-vod-top-picks", nil) end)
    local none, msg = recipes.module(ARN .. "aws-vod-top-picks")
    assert.is_nil(none)
    assert.matches("aws%-vod%-top%-picks is not supported by personalize%-local yet", msg)
    assert.matches("aws%-popularity%-count", msg)
    none, msg = recipes.module(ARN .. "aws-nope")
    assert.is_nil(none)
    assert.equal("Could not find recipe with ARN " .. ARN .. "aws-nope", msg)
  end)

  it("registers modules by recipe name, refusing misuse", function()
    local fake = { train = function() return {} end, recommend = function() return {} end }
    recipes.register("aws-sims", fake)
    finally(function() recipes.register("aws-sims", nil) end)
    assert.equal(fake, recipes.module(ARN .. "aws-sims"))
    assert.has_error(function() recipes.register("aws-unknown", fake) end,
      'recipes.register: unknown recipe "aws-unknown"')
    assert.has_error(function() recipes.register("aws-sims", { train = print }) end)
    assert.has_error(function() recipes.register("aws-sims", 42) end)
  end)
end)

describe("aws-popularity-count", function()
  it("ranks by distinct users, not by raw interaction counts", function()
    local data = rows({
      { "u1", "binge" }, { "u1", "binge" }, { "u1", "binge" }, { "u1", "binge" }, { "u1", "binge" },
      { "u1", "hit" }, { "u2", "hit" }, { "u3", "hit" }, { "u4", "hit" },
      { "u2", "mid" }, { "u3", "mid" },
    })
    local model = popularity.train(data, {})
    assert.same({ "hit", "mid", "binge" }, model.items)
    assert.same({ 4, 2, 1 }, model.users)
    assert.same({ 4, 2, 5 }, model.interactions)
    local list = popularity.recommend(model, { userId = "u9" })
    assert.same({ "hit", "mid", "binge" }, ids(list))
    assert.is_nil(list[1].score)
  end)

  it("finds a planted most-popular item and gives everyone the same list", function()
    local pl = {}
    for u = 1, 50 do
      pl[#pl + 1] = { "user" .. u, "planted" }
      for j = 1, 3 do pl[#pl + 1] = { "user" .. u, "item" .. ((u * 7 + j * 11) % 40) } end
    end
    local model = popularity.train(rows(pl), {})
    local a = popularity.recommend(model, { userId = "user1" })
    local b = popularity.recommend(model, { userId = "user2", itemId = "item3" })
    assert.equal("planted", a[1].itemId)
    assert.same(ids(a), ids(b))
  end)

  it("breaks ties by total interactions, then by item id", function()
    local model = popularity.train(rows({
      { "u1", "b" }, { "u2", "a" }, { "u1", "c" }, { "u1", "c" }, { "u3", "d" }, { "u2", "e" }, { "u2", "e" },
    }), {})
    -- c and e: 1 user, 2 interactions; a, b, d: 1 user, 1 interaction
    assert.same({ "c", "e", "a", "b", "d" }, model.items)
  end)

  it("is deterministic whatever the row order", function()
    local pl = {}
    for i = 1, 300 do pl[#pl + 1] = { "u" .. (i % 17), "i" .. ((i * i) % 23) } end
    local reversed = {}
    for i = #pl, 1, -1 do reversed[#reversed + 1] = pl[i] end
    assert.same(popularity.train(rows(pl), {}), popularity.train(rows(reversed), {}))
  end)

  it("applies numResults, exclude and keep", function()
    local pl = {}
    for k = 1, 40 do
      for u = 1, 41 - k do pl[#pl + 1] = { "u" .. u, ("i%02d"):format(k) } end
    end
    local model = popularity.train(rows(pl), {})
    assert.equal(25, #popularity.recommend(model, {}))
    assert.equal(40, #popularity.recommend(model, { numResults = 100 }))
    assert.same({}, popularity.recommend(model, { numResults = 0 }))
    assert.same({ "i01", "i02", "i03" }, ids(popularity.recommend(model, { numResults = 3 })))
    assert.same({ "i02", "i04", "i05" }, ids(popularity.recommend(model, {
      numResults = 3, exclude = { i01 = true, i03 = true } })))
    local odd = function(id) return tonumber(id:sub(2)) % 2 == 1 end
    assert.same({ "i03", "i07", "i09" }, ids(popularity.recommend(model, {
      numResults = 3, keep = odd, exclude = { i01 = true, i05 = true } })))
  end)

  it("survives a JSON round trip with the same answers", function()
    local pl = {}
    for i = 1, 500 do pl[#pl + 1] = { "u" .. (i % 31), "i" .. ((i * 7) % 97) } end
    local model = popularity.train(rows(pl), {})
    local back = cjson.decode(cjson.encode(model))
    assert.same(model, back)
    local req = { numResults = 50, exclude = { i7 = true } }
    assert.same(popularity.recommend(model, req), popularity.recommend(back, req))
  end)
end)
