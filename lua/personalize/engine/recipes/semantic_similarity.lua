-- aws-semantic-similarity: items similar to a given item from the text and
-- metadata of the Items dataset, without scores.
--
--   local model = semantic_similarity.train(data, config)
--   local list = semantic_similarity.recommend(model, request)  -- request.itemId
--
-- Every string or number column of the items dataset but ITEM_ID and
-- CREATION_TIMESTAMP gives tokens: each "|"-separated value ("GENRES=drama")
-- and, for values with spaces, each word ("TITLE~dumbo"). Items are
-- TF-IDF vectors of their tokens; neighbours are the K = 50 best by
-- cosine (ecore.recs_neighbors). Past them, and for an item without
-- metadata, the popular items of the interactions fill the list.
local common = require "personalize.engine.recipes.common"
local sims = require "personalize.engine.recipes.sims"

local error = error
local min = math.min

local _M = { name = "aws-semantic-similarity", MODEL_VERSION = 1, NEIGHBORS = 50 }
-- The recipes it trains, read by recipes/init.lua (options there).
_M.RECIPES = { ["aws-semantic-similarity"] = {} }

function _M.train(data)
  local meta = common.metadata_neighbors(data.items, _M.NEIGHBORS)
  if not meta then
    error("aws-semantic-similarity needs an Items dataset with textual or categorical columns to compare", 0)
  end
  local ix = common.index(data)
  local popular, top = common.popular(ix), {}
  for r = 1, min(#popular, 500) do top[r] = ix.items[popular[r]] end
  return { recipe = _M.name, version = _M.MODEL_VERSION, items = meta.ids, off = meta.off,
           nbr = meta.nbr, popular_ids = top }
end

local function same(id) return id end

function _M.recommend(model, request)
  return sims.related(model, request, model.popular_ids, same)
end

return _M
