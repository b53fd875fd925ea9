-- ecore.recs_neighbors, the C kernel of the recipes, and the registry's
-- plug/unplug of recipe modules.
local ecore = require "personalize.engine.core"
local recipes = require "personalize.engine.recipes"

describe("ecore.recs_neighbors", function()
  -- items 1..4; users 1..3: u1 {1,2}, u2 {1,2,3}, u3 {3,4}
  local ent = { 1, 2, 1, 2, 3, 3, 4 }
  local feat = { 1, 1, 2, 2, 2, 3, 3 }

  it("computes cosine neighbours, best first, 0 past the end", function()
    local nbr, sim = ecore.recs_neighbors(ent, feat, nil, 4, 3, { alpha = 0.5, beta = 0.5 })
    assert.equal(12, #nbr)
    assert.same({ 2, 3, 0 }, { nbr[1], nbr[2], nbr[3] })
    assert.near(2 / math.sqrt(4), sim[1], 1e-12)       -- items 1 and 2 share two users
    assert.near(1 / math.sqrt(2 * 2), sim[2], 1e-12)
    assert.equal(0, sim[3])
    assert.same({ 3, 0, 0 }, { nbr[10], nbr[11], nbr[12] }) -- item 4 meets only item 3
  end)

  it("breaks ties by the smaller index and honours min_count, weights and gamma", function()
    local nbr = ecore.recs_neighbors(ent, feat, nil, 4, 3, { alpha = 0, beta = 0 })
    -- item 3: items 1, 2 and 4 each share one user: index order
    assert.same({ 1, 2, 4 }, { nbr[7], nbr[8], nbr[9] })
    nbr = ecore.recs_neighbors(ent, feat, nil, 4, 3, { min_count = 2 })
    assert.same({ 2, 0, 0 }, { nbr[1], nbr[2], nbr[3] })
    local w = { 1, 1, 1, 1, 1, 5, 5 }
    local _, sim = ecore.recs_neighbors(ent, feat, w, 4, 1, { alpha = 0, beta = 0 })
    assert.equal(25, sim[4])                           -- items 4 -> 3 through u3, weights 5 * 5
    _, sim = ecore.recs_neighbors(ent, feat, nil, 4, 1, { alpha = 0, beta = 0, gamma = 1 })
    assert.near(1 / 2 + 1 / 3, sim[1], 1e-12)          -- 1 -> 2: u1 has 2 items, u2 has 3
  end)

  it("checks every argument", function()
    local function fails(pattern, ...)
      local args, n = { ... }, select("#", ...)
      local unpack_ = table.unpack or unpack
      local ok, err = pcall(function() return ecore.recs_neighbors(unpack_(args, 1, n)) end)
      assert.is_false(ok)
      assert.matches(pattern, tostring(err))
    end
    fails("table expected", "x", feat, nil, 4, 3)
    fails("table expected", ent, nil, nil, 4, 3)
    fails("differ in length", ent, { 1 }, nil, 4, 3)
    fails("differ in length", ent, feat, { 1 }, 4, 3)
    fails("expected 1 to", ent, feat, nil, 0, 3)
    fails("expected k", ent, feat, nil, 4, 0)
    fails("out of range", ent, feat, nil, 3, 3)
    fails("ent%[1%] is not a number", { "a" }, { 1 }, nil, 4, 3)
    fails("not an integer", { 1.5 }, { 1 }, nil, 4, 3)
    fails("feat%[1%] is out of range", { 1 }, { 2 }, nil, 4, 3)
    fails("weight%[1%] is not a number", { 1 }, { 1 }, { "w" }, 4, 3)
    fails("opts.alpha must be a number", ent, feat, nil, 4, 3, { alpha = "x" })
    fails("opts.beta out of range", ent, feat, nil, 4, 3, { beta = -1 })
    local nbr, sim = ecore.recs_neighbors({}, {}, nil, 2, 1)
    assert.same({ 0, 0 }, nbr)
    assert.same({ 0, 0 }, sim)
  end)
end)

describe("recipes.register", function()
  it("unplugs a recipe with false and restores personalize-local's module with nil", function()
    local arn = "arn:aws:personalize:::recipe/aws-sims"
    local own = assert(recipes.module(arn))
    recipes.register("aws-sims", false)
    local none, msg = recipes.module(arn)
    assert.is_nil(none)
    assert.matches("not supported", msg)
    recipes.register("aws-sims", nil)
    assert.equal(own, recipes.module(arn))
  end)
end)
