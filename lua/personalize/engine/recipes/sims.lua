-- aws-sims: items similar to a given item from co-occurrence in user
-- histories (item-to-item collaborative filtering), without scores.
--
--   local model = sims.train(data, config)
--   local list = sims.recommend(model, request)     -- request.itemId
--
-- Two items co-occur when one user interacted with both. Hyperparameters
-- as the developer guide names them (solutionConfig.algorithmHyperParameters):
-- popularity_discount_factor (0.5; 0 ranks neighbours by raw co-occurrence
-- count, that is by popularity, 1 divides it by the neighbour's number of
-- users) and min_cointeraction_count (3: pairs seen together fewer times
-- are not similar). The K = 50 best neighbours of each item are kept;
-- past them, and for an item the model does not know, the popular items
-- fill the list.
local common = require "personalize.engine.recipes.common"

local ipairs, type, tonumber, setmetatable = ipairs, type, tonumber, setmetatable
local min, max, floor = math.min, math.max, math.floor

local _M = { name = "aws-sims", MODEL_VERSION = 1, NEIGHBORS = 50 }
-- The recipes it trains, read by recipes/init.lua (options there).
_M.RECIPES = { ["aws-sims"] = {},
  ["aws-ecomm-customers-who-viewed-x-also-viewed"] = { event_type = "View" },
  ["aws-ecomm-frequently-bought-together"] = { event_type = "Purchase" },
  ["aws-vod-because-you-watched-x"] = {} }

local function hyper(config, name, default)
  local hp = type(config.solutionConfig) == "table" and config.solutionConfig.algorithmHyperParameters
  return type(hp) == "table" and tonumber(hp[name]) or default
end

-- The co-occurrence model shared with similar-items.
function _M.cooccurrence(data, config, name)
  config = config or {}
  local ix = common.index(data)
  local discount = max(0, min(1, hyper(config, "popularity_discount_factor", 0.5)))
  local min_count = max(1, floor(hyper(config, "min_cointeraction_count", 3)))
  local nb = common.neighbors(ix, { k = _M.NEIGHBORS, alpha = 0, beta = discount, min_count = min_count,
                                    digits = false })
  local popular = common.popular(ix)
  local top = {}
  for r = 1, min(#popular, 500) do top[r] = popular[r] end
  return { recipe = name or _M.name, version = _M.MODEL_VERSION, items = ix.items,
           off = nb.off, nbr = nb.nbr, popular = top }, ix
end

function _M.train(data, config)
  return (_M.cooccurrence(data, config, _M.name))
end

local index_of = setmetatable({}, { __mode = "k" })
function _M.item_index(model)
  local d = index_of[model]
  if not d then
    d = {}
    for j, id in ipairs(model.items) do d[id] = j end
    index_of[model] = d
  end
  return d
end

-- Neighbours of the item (model.items, off, nbr), then the entries of
-- `popular` as id_of(entry) gives their ids; the item itself never.
-- Shared by the RELATED_ITEMS recipes whose models have that shape.
function _M.related(model, request, popular, id_of)
  request = request or {}
  local id = common.id(request.itemId)
  local j = id and _M.item_index(model)[id]
  local items = model.items
  return common.pick(request, function(emit)
    if j and common.each_neighbor(model, j, function(n) return emit(items[n]) end) then return end
    for _, p in ipairs(popular) do
      local pid = id_of(p)
      if pid ~= id and emit(pid) then return end
    end
  end)
end

function _M.recommend(model, request)
  local items = model.items
  return _M.related(model, request, model.popular, function(p) return items[p] end)
end

return _M
