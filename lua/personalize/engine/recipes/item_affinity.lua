-- aws-item-affinity (USER_SEGMENTATION): for an item, the users most
-- likely to interact with it.
--
--   local model = item_affinity.train(data, config)
--   local users = item_affinity.segment(model, { itemId =, numResults = (25) })
--   -- users = { { userId =, score = }, ... } best first
--
-- The model is user-personalization's (item neighbours and each user's
-- items). A user's affinity to item j is the sum of the similarities
-- s(i -> j) over the items i they have, divided by the square root of
-- their number of items (so a long history is not affinity by itself);
-- users who already have j are left out. Scores are divided by the best
-- one (the first user scores 1). Ties go to the smaller user id. For an
-- item the model does not know, the most active users come back, without
-- scores. recommend() answers like user-personalization, for the
-- engine's generic paths.
local common = require "personalize.engine.recipes.common"
local user_personalization = require "personalize.engine.recipes.user_personalization"

local ipairs, pairs, tonumber, setmetatable = ipairs, pairs, tonumber, setmetatable
local floor, sqrt = math.floor, math.sqrt
local sort = table.sort

local _M = { name = "aws-item-affinity", MODEL_VERSION = 1 }
-- The recipes it trains, read by recipes/init.lua (options there).
_M.RECIPES = { ["aws-item-affinity"] = {} }

-- Segments walk every user's items: user-personalization's model for
-- `name` (its cosine rows only), keeping them as Lua arrays (users,
-- hist_off, hist) also when training built them in C.
function _M.train_model(data, config, name)
  local model = user_personalization.train(data, config, name, { cosine_only = true })
  if model.history then
    model.users = model.history:user_ids()
    model.hist_off, model.hist = model.history:rows()
    model.history = nil
  end
  return model
end

function _M.train(data, config)
  return _M.train_model(data, config, _M.name)
end

_M.recommend = user_personalization.recommend

-- Reverse neighbour lists and the users of each item, built once per model.
local derived = setmetatable({}, { __mode = "k" })
local function reverse(model)
  local d = derived[model]
  if d then return d end
  local rev, users_of = {}, {}
  local off, nbr, sim = model.off, model.nbr, model.sim
  for i = 1, #model.items do
    for q = off[i], off[i + 1] - 1 do
      local j = nbr[q]
      local r = rev[j]
      if not r then r = {}; rev[j] = r end
      r[#r + 1] = i
      r[#r + 1] = sim[q]
    end
  end
  local hist, hist_off = model.hist, model.hist_off
  for u = 1, #model.users do
    for p = hist_off[u], hist_off[u + 1] - 1 do
      local i = hist[p]
      local l = users_of[i]
      if not l then l = {}; users_of[i] = l end
      l[#l + 1] = u
    end
  end
  d = { rev = rev, users_of = users_of }
  derived[model] = d
  return d
end

-- Adds weight * affinity(u, j) for every user u to acc (user index -> value).
function _M.accumulate(model, j, weight, acc)
  local d = reverse(model)
  local r = d.rev[j]
  if not r then return end
  for p = 1, #r, 2 do
    local users = d.users_of[r[p]]
    local s = weight * r[p + 1]
    for _, u in ipairs(users or {}) do acc[u] = (acc[u] or 0) + s end
  end
end

-- The best users of acc, scaled, honouring numResults; users in `skip`
-- (user index -> true) are left out.
function _M.best_users(model, acc, request, skip)
  local want = floor(tonumber(request.numResults) or common.DEFAULT_RESULTS)
  local off, ids = model.hist_off, model.users
  local list = {}
  for u, v in pairs(acc) do
    if not (skip and skip[u]) then
      list[#list + 1] = { u, v / sqrt(off[u + 1] - off[u]) }
    end
  end
  sort(list, function(a, b)
    if a[2] ~= b[2] then return a[2] > b[2] end
    return ids[a[1]] < ids[b[1]]
  end)
  local out = {}
  local top = list[1] and list[1][2] or 1
  for r = 1, want do
    local e = list[r]
    if not e then break end
    out[r] = { userId = ids[e[1]], score = common.round(e[2] / top, 4) }
  end
  if #out < want then
    -- the most active users, without scores
    local taken = {}
    for _, e in ipairs(out) do taken[e.userId] = true end
    local order = {}
    for u = 1, #ids do
      if not taken[ids[u]] and not (skip and skip[u]) then order[#order + 1] = u end
    end
    sort(order, function(a, b)
      local na, nb = off[a + 1] - off[a], off[b + 1] - off[b]
      if na ~= nb then return na > nb end
      return ids[a] < ids[b]
    end)
    for _, u in ipairs(order) do
      if #out >= want then break end
      out[#out + 1] = { userId = ids[u] }
    end
  end
  return out
end

function _M.segment(model, request)
  request = request or {}
  local j = user_personalization.lookups(model).item_index[common.id(request.itemId) or ""]
  local acc, skip = {}, {}
  if j then
    _M.accumulate(model, j, 1, acc)
    for _, u in ipairs(reverse(model).users_of[j] or {}) do skip[u] = true end
  end
  return _M.best_users(model, acc, request, skip)
end

return _M
