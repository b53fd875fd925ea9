-- aws-popularity-count: the items that the most distinct users interacted
-- with, the same list for every user, without scores (as the Popularity-Count
-- page of the developer guide describes it).
--
--   local model = popularity_count.train(data, config)
--   local list = popularity_count.recommend(model, request)
--
-- Ranking: distinct users (descending), then total interactions
-- (descending), then item id (ascending), so equal data always gives the
-- same list. The model is JSON-safe: three parallel arrays.
local ipairs, tostring, tonumber, floor = ipairs, tostring, tonumber, math.floor
local sort = table.sort

local _M = { name = "aws-popularity-count", MODEL_VERSION = 1 }
-- The recipes it trains, read by recipes/init.lua (options there).
_M.RECIPES = { ["aws-popularity-count"] = {},
  -- domain use cases, on the event type the domain guides name
  ["aws-vod-most-popular"] = { event_type = "Watch" },
  ["aws-ecomm-popular-items-by-views"] = { event_type = "View" },
  ["aws-ecomm-popular-items-by-purchases"] = { event_type = "Purchase" } }

local DEFAULT_RESULTS = 25

-- From the histories built in C (prepared data's `hist`, when no event
-- weight leaves rows out): one pass over the items' counts.
local function train_hist(h)
  local ids = h:item_ids()
  local distinct, total = h:item_counts()
  local order = {}
  for k = 1, #ids do order[k] = k end
  sort(order, function(a, b)
    if distinct[a] ~= distinct[b] then return distinct[a] > distinct[b] end
    if total[a] ~= total[b] then return total[a] > total[b] end
    return ids[a] < ids[b]
  end)
  local items, users, interactions = {}, {}, {}
  for r, k in ipairs(order) do
    items[r], users[r], interactions[r] = ids[k], distinct[k], total[k]
  end
  return { recipe = _M.name, version = _M.MODEL_VERSION,
           items = items, users = users, interactions = interactions }
end

function _M.train(data)
  if data.hist and not data.event_weights then return train_hist(data.hist) end
  local rows = data.interactions
  local users_col, items_col = rows.USER_ID, rows.ITEM_ID
  local distinct, total, seen = {}, {}, {}
  local order = {}
  for i = 1, rows.n do
    local item, user = tostring(items_col[i]), tostring(users_col[i])
    local per_item = seen[item]
    if not per_item then
      per_item = {}
      seen[item] = per_item
      distinct[item], total[item] = 0, 0
      order[#order + 1] = item
    end
    total[item] = total[item] + 1
    if not per_item[user] then
      per_item[user] = true
      distinct[item] = distinct[item] + 1
    end
  end
  sort(order, function(a, b)
    local da, db = distinct[a], distinct[b]
    if da ~= db then return da > db end
    local ta, tb = total[a], total[b]
    if ta ~= tb then return ta > tb end
    return a < b
  end)
  local users, interactions = {}, {}
  for k, item in ipairs(order) do
    users[k], interactions[k] = distinct[item], total[item]
  end
  return { recipe = _M.name, version = _M.MODEL_VERSION,
           items = order, users = users, interactions = interactions }
end

-- request: numResults (default 25), exclude (set of item ids), keep
-- (function(itemId) -> boolean). userId and itemId do not change the list.
function _M.recommend(model, request)
  request = request or {}
  local want = floor(tonumber(request.numResults) or DEFAULT_RESULTS)
  local exclude, keep = request.exclude, request.keep
  local out = {}
  if want <= 0 then return out end
  local items = model.items
  for k = 1, #items do
    local item = items[k]
    if not (exclude and exclude[item]) and (not keep or keep(item)) then
      out[#out + 1] = { itemId = item }
      if #out >= want then break end
    end
  end
  return out
end

return _M
