-- personalize-local's recipes on MovieLens ml-latest-small: quality under
-- the get_solution_metrics harness (personalize.engine.metrics) next to
-- aws-popularity-count measured in the same run, training and import
-- times. Printed, never asserted. Run alone:
--
--   LUA_PATH="lua/?.lua;lua/?/init.lua;spec/?.lua;bench/?.lua;;" \
--   LUA_CPATH="build/lua5.4/?.so;;" lua5.4 bench/recipes.lua
--
-- The data: third_party/datasets/movielens-small (PERSONALIZE_SHARED=DIR reads DIR/datasets/...), else
-- data/movielens from `make data`. Imports go through the engine's own
-- CSV importer (import.parse) against Personalize schemas.
local core = require "personalize.core"
local schema = require "personalize.schema"
local import = require "personalize.engine.import"
local metrics = require "personalize.engine.metrics"
local training = require "personalize.engine.training"
local cjson = require "cjson"

local now, fmt = core.now, string.format
local ARN = "arn:aws:personalize:::recipe/"

local read = require("support.files").read

-- The interactions and items CSVs, with the schemas that read them.
local function locate()
  local base = (os.getenv("PERSONALIZE_SHARED") or "third_party") .. "/datasets/movielens-small"
  local ratings, items = read(base .. "/ratings.csv"), read(base .. "/items.csv")
  if ratings and items then
    return ratings, items, base, schema.interactions {
      { "USER_ID", "string" }, { "ITEM_ID", "string" }, { "RATING", "float" }, { "TIMESTAMP", "long" },
    }, schema.items {
      { "ITEM_ID", "string" }, { "TITLE", "string", textual = true }, { "YEAR", "string", categorical = true },
      { "GENRES", "string", categorical = true },
    }
  end
  ratings, items = read("data/movielens/interactions.csv"), read("data/movielens/items.csv")
  if ratings and items then
    return ratings, items, "data/movielens", schema.interactions {
      { "USER_ID", "string" }, { "ITEM_ID", "string" }, { "TIMESTAMP", "long" },
      { "EVENT_TYPE", "string" }, { "EVENT_VALUE", "float", nullable = true },
    }, schema.items {
      { "ITEM_ID", "string" }, { "TITLE", "string", textual = true }, { "GENRES", "string", categorical = true },
    }
  end
  return nil
end

local function best_of(n, f)
  local best, res
  for _ = 1, n do
    local t0 = now()
    res = f()
    local dt = now() - t0
    if not best or dt < best then best = dt end
  end
  return best, res
end

local function run()
  local ratings_csv, items_csv, where, i_schema, it_schema = locate()
  if not ratings_csv then
    print("  recipes: MovieLens not found (third_party/datasets/movielens-small or `make data`); skipped")
    return
  end
  local i_fields = assert(schema.check(assert(i_schema), "Interactions"))
  local it_fields = assert(schema.check(assert(it_schema), "Items"))
  local import_s, interactions = best_of(3, function() return assert(import.parse(ratings_csv, i_fields)) end)
  local items_s, items = best_of(3, function() return assert(import.parse(items_csv, it_fields)) end)
  local data = { interactions = interactions, items = items }
  print(fmt("  recipes on %s (%s): %d interactions, %d items", where,
    jit and jit.version or _VERSION, interactions.n, items.n))
  print(fmt("  import (import.parse)  interactions %.2f s   items %.2f s", import_s, items_s))

  local rows = {
    { "aws-popularity-count", "USER_PERSONALIZATION" },
    { "aws-user-personalization", "USER_PERSONALIZATION" },
    { "aws-user-personalization-v2", "USER_PERSONALIZATION" },
    { "aws-trending-now", "USER_PERSONALIZATION" },
    { "aws-personalized-ranking", "PERSONALIZED_RANKING" },
    { "aws-sims", "RELATED_ITEMS" },
    { "aws-similar-items", "RELATED_ITEMS" },
    { "aws-semantic-similarity", "RELATED_ITEMS" },
  }
  print(fmt("  %-29s %8s %7s %8s %8s %7s %8s %9s", "recipe", "NDCG@10", "ratio", "P@10", "coverage",
    "train s", "eval s", "model KiB"))
  local base
  for _, r in ipairs(rows) do
    local arn = ARN .. r[1]
    local train_s, model = best_of(1, function() return training.train(arn, data, {}) end)
    local eval_s, m = best_of(1, function() return metrics.evaluate(arn, data, {}) end)
    if not model or not m then
      print(fmt("  %-29s failed: %s", r[1], tostring(select(2, training.train(arn, data, {})))))
    else
      local ndcg = m.normalized_discounted_cumulative_gain_at_10
      if r[1] == "aws-popularity-count" then base = ndcg end
      local ratio = base and base > 0 and fmt("%.2fx", ndcg / base) or "-"
      print(fmt("  %-29s %8.4f %7s %8.4f %8.4f %7.2f %8.2f %9.0f", r[1], ndcg, ratio, m.precision_at_10,
        m.coverage, train_s, eval_s, #cjson.encode(model) / 1024))
    end
  end
  print("  (ratio: NDCG@10 over aws-popularity-count's in this run; related-items recipes are asked for")
  print("   the test user's newest item, ranking recipes rank the whole catalogue; eval s includes a training)")
end

run()
