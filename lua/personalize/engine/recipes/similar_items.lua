-- aws-similar-items: items similar to a given item from co-occurrence in
-- interactions blended with item metadata similarity, without scores.
--
--   local model = similar_items.train(data, config)
--   local list = similar_items.recommend(model, request)  -- request.itemId
--
-- Each item is one vector made of two blocks: its users (each weighing
-- sqrt(1 - w) / sqrt(number of its users)) and the TF-IDF tokens of its
-- metadata (as aws-semantic-similarity, scaled to length sqrt(w)). The dot
-- product of two such vectors is (1 - w) * cosine of users + w * cosine of
-- metadata, so one pass of ecore.recs_neighbors blends them; w = 0.3. An
-- item without interactions still has its metadata block: new items get
-- similar items. Without an items dataset this is the cosine of users.
-- The 50 best neighbours are kept; past them, and for an unknown item,
-- the popular items fill in.
local common = require "personalize.engine.recipes.common"
local sims = require "personalize.engine.recipes.sims"
local ecore = require "personalize.engine.core"

local ipairs, sqrt = ipairs, math.sqrt
local sort = table.sort

local _M = { name = "aws-similar-items", MODEL_VERSION = 1, NEIGHBORS = 50, METADATA_WEIGHT = 0.3 }
-- The recipes it trains, read by recipes/init.lua (options there).
_M.RECIPES = { ["aws-similar-items"] = {}, ["aws-vod-more-like-x"] = {} }

function _M.train(data)
  local ix = common.index(data)
  local tk = common.item_tokens(data.items)
  -- the catalogue: items with interactions or metadata
  local all, seen = {}, {}
  for _, id in ipairs(ix.items) do seen[id] = true; all[#all + 1] = id end
  if tk then
    for _, id in ipairs(tk.ids) do
      if not seen[id] then seen[id] = true; all[#all + 1] = id end
    end
  end
  sort(all)
  local index = {}
  for j, id in ipairs(all) do index[id] = j end
  local w = tk and _M.METADATA_WEIGHT or 0
  local ent, feat, weight = {}, {}, {}
  -- block 1: users
  local hist_off, hist = ix.hist_off, ix.hist
  local users_w = sqrt(1 - w)
  for u = 1, #ix.users do
    for p = hist_off[u], hist_off[u + 1] - 1 do
      local i = hist[p]
      local r = #ent + 1
      ent[r], feat[r], weight[r] = index[ix.items[i]], u, users_w / sqrt(ix.distinct[i])
    end
  end
  -- block 2: metadata tokens, numbered after the users
  if tk then
    local norm = {}
    for r = 1, #tk.ent do
      local e = tk.ent[r]
      norm[e] = (norm[e] or 0) + tk.weight[r] * tk.weight[r]
    end
    local shift, meta_w = #ix.users, sqrt(w)
    for r = 1, #tk.ent do
      local e = tk.ent[r]
      local q = #ent + 1
      ent[q], feat[q], weight[q] = index[tk.ids[e]], shift + tk.feat[r], meta_w * tk.weight[r] / sqrt(norm[e])
    end
  end
  local rows = { off = { 1 }, nbr = {} }
  if #all > 0 then
    local nbr, sim = ecore.recs_neighbors(ent, feat, weight, #all, _M.NEIGHBORS, { alpha = 0, beta = 0 })
    rows = common.compact(nbr, sim, #all, _M.NEIGHBORS, false)
  end
  local popular = {}
  for r, k in ipairs(common.popular(ix)) do
    if r > 500 then break end
    popular[r] = index[ix.items[k]]
  end
  return { recipe = _M.name, version = _M.MODEL_VERSION, items = all, off = rows.off, nbr = rows.nbr,
           popular = popular }
end

_M.recommend = sims.recommend

return _M
