-- aws-similar-items: items similar to a given item from co-occurrence in
-- interactions blended with item metadata similarity, without scores.
--
--   local model = similar_items.train(data, config)
--   local list = similar_items.recommend(model, request)  -- request.itemId
--
-- For each item, its co-occurrence neighbours (aws-sims' model, cosine,
-- at least one shared user) and its metadata neighbours (TF-IDF cosine of
-- the items dataset, as aws-semantic-similarity) are each scaled by their
-- best value and blended: (1 - w) * co-occurrence + w * metadata, with
-- w = 0.3, or 1 for items without interactions (new items still get
-- similar items). The 50 best are kept. Without an items dataset this is
-- plain co-occurrence. Past the list, the popular items fill in.
local common = require "personalize.engine.recipes.common"
local sims = require "personalize.engine.recipes.sims"

local ipairs, pairs = ipairs, pairs
local min = math.min
local sort = table.sort

local _M = { name = "aws-similar-items", MODEL_VERSION = 1, NEIGHBORS = 50, METADATA_WEIGHT = 0.3 }

-- { [id] = scaled value } of the k-list of entity j.
local function scaled(ids, k, nbr, sim, j, factor, into)
  local base = (j - 1) * k
  local top = sim[base + 1]
  if not top or top <= 0 then return end
  for m = 1, k do
    local n = nbr[base + m]
    if not n or n == 0 then break end
    local id = ids[n]
    into[id] = (into[id] or 0) + factor * sim[base + m] / top
  end
end

function _M.train(data)
  local co = sims.cooccurrence(data, { solutionConfig = { algorithmHyperParameters = {
    popularity_discount_factor = "0.5", min_cointeraction_count = "1" } } }, _M.name)
  local meta = common.metadata_neighbors(data.items, 100)
  local all, seen = {}, {}
  for _, id in ipairs(co.items) do seen[id] = true; all[#all + 1] = id end
  local meta_index = {}
  if meta then
    for j, id in ipairs(meta.ids) do
      meta_index[id] = j
      if not seen[id] then seen[id] = true; all[#all + 1] = id end
    end
  end
  sort(all)
  local index = {}
  for j, id in ipairs(all) do index[id] = j end
  local co_index = sims.item_index(co)
  local k = _M.NEIGHBORS
  local nbr, sim = {}, {}
  for j, id in ipairs(all) do
    local vals = {}
    local cj, mj = co_index[id], meta_index[id]
    local w = cj and _M.METADATA_WEIGHT or 1
    if cj then scaled(co.items, co.k, co.nbr, co.sim, cj, 1 - w, vals) end
    if mj then scaled(meta.ids, meta.k, meta.nbr, meta.sim, mj, w, vals) end
    local list = {}
    for other, v in pairs(vals) do
      if other ~= id then list[#list + 1] = { other, v } end
    end
    sort(list, function(a, b)
      if a[2] ~= b[2] then return a[2] > b[2] end
      return a[1] < b[1]
    end)
    local base = (j - 1) * k
    for m = 1, k do
      local e = list[m]
      nbr[base + m] = e and index[e[1]] or 0
      sim[base + m] = e and common.round(e[2], 4) or 0
    end
  end
  local popular = {}
  for r = 1, min(#co.popular, 500) do popular[r] = index[co.items[co.popular[r]]] end
  return { recipe = _M.name, version = _M.MODEL_VERSION, items = all, k = k, nbr = nbr, sim = sim,
           popular = popular }
end

_M.recommend = sims.recommend

return _M
