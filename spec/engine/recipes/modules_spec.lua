-- The recipe modules say which recipes they train (module.RECIPES) and
-- their options; engine.recipes finds them in its directory.
local recipes = require "personalize.engine.recipes"
local core = require "personalize.core"

local PREFIX = "arn:aws:personalize:::recipe/"

local function modules()
  local dir = package.searchpath("personalize.engine.recipes.common", package.path):match("^(.*)/[^/]*$")
  local out = {}
  for _, file in ipairs(assert(core.listdir(dir))) do
    local base = file:match("^([%w_]+)%.lua$")
    if base and base ~= "init" then
      local m = require("personalize.engine.recipes." .. base)
      if m.RECIPES then out[base] = m end
    end
  end
  return out
end

describe("recipe modules", function()
  it("train every recipe of the catalog, each from exactly one module", function()
    local trained_by = {}
    for base, m in pairs(modules()) do
      for name in pairs(m.RECIPES) do
        assert.is_nil(trained_by[name], name .. " is claimed twice")
        trained_by[name] = base
        assert.is_table(recipes.get(PREFIX .. name), base .. " trains " .. name .. ", which is not in the catalog")
      end
    end
    for _, rec in ipairs(recipes.list()) do
      local base = trained_by[rec.name]
      assert.is_string(base, rec.name)
      assert.are.equal(require("personalize.engine.recipes." .. base), recipes.module(rec.recipeArn))
    end
  end)

  it("have train and recommend, and take only known options", function()
    for base, m in pairs(modules()) do
      assert.is_function(m.train, base)
      assert.is_function(m.recommend, base)
      for name, options in pairs(m.RECIPES) do
        for k, v in pairs(options) do
          assert.is_true(k == "event_type" and type(v) == "string" or k == "batch" and v == false,
            base .. ": option " .. tostring(k) .. " of " .. name)
        end
      end
    end
  end)

  it("give the domain use cases' event types and the recipes batch inference does not serve", function()
    assert.are.same({
      [PREFIX .. "aws-vod-most-popular"] = "Watch",
      [PREFIX .. "aws-ecomm-popular-items-by-views"] = "View",
      [PREFIX .. "aws-ecomm-popular-items-by-purchases"] = "Purchase",
      [PREFIX .. "aws-ecomm-customers-who-viewed-x-also-viewed"] = "View",
      [PREFIX .. "aws-ecomm-frequently-bought-together"] = "Purchase",
    }, recipes.DOMAIN_EVENT_TYPE)
    assert.is_false(recipes.batch(PREFIX .. "aws-trending-now"))
    assert.is_false(recipes.batch(PREFIX .. "aws-next-best-action"))
    assert.is_true(recipes.batch(PREFIX .. "aws-vod-trending-now"))
    assert.is_true(recipes.batch(PREFIX .. "aws-sims"))
    assert.is_true(recipes.batch(PREFIX .. "no-such-recipe"))
  end)

  it("keep a recipe's options when another module is registered for it", function()
    recipes.register("aws-trending-now", { train = function() end, recommend = function() end })
    finally(function() recipes.register("aws-trending-now", nil) end)
    assert.is_false(recipes.batch(PREFIX .. "aws-trending-now"))
  end)
end)
