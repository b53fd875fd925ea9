-- aws-trending-now: the items whose interactions grow fastest between the
-- two most recent time windows of the data, the same list for every user,
-- without scores.
--
--   local model = trending_now.train(data, config)
--   local list = trending_now.recommend(model, request)
--
-- Time comes from the data, never from the clock: the recent window is
-- (T - L, T] and the previous one (T - 2L, T - L], where T is the newest
-- interaction and L the window length: the hyperparameter
-- trend_window_seconds when given (solutionConfig.algorithmHyperParameters),
-- else a tenth of the data's time span (at least one second). An item's
-- trend is (recent - previous) / sqrt(previous + 1): growth measured
-- against the noise of a count of the previous size, so a steady best
-- seller does not trend and a new item with many interactions does.
-- Ties go to the larger recent count, then to the smaller id. Items that
-- do not grow follow, by recent count; then every other item by popularity.
local common = require "personalize.engine.recipes.common"

local ipairs, type, tonumber, tostring = ipairs, type, tonumber, tostring
local max, min, sqrt = math.max, math.min, math.sqrt
local sort = table.sort

local _M = { name = "aws-trending-now", MODEL_VERSION = 1, KEEP = 500 }
-- The recipes it trains, read by recipes/init.lua (options there).
_M.RECIPES = { ["aws-trending-now"] = { batch = false }, ["aws-vod-trending-now"] = {} }

function _M.train(data, config)
  config = config or {}
  local rows = data.interactions
  local items_col, times, types = rows.ITEM_ID, rows.TIMESTAMP or {}, rows.EVENT_TYPE or {}
  local weights = data.event_weights
  local t_min, t_max
  for i = 1, rows.n do
    local t = tonumber(times[i]) or 0
    if not t_min or t < t_min then t_min = t end
    if not t_max or t > t_max then t_max = t end
  end
  t_min, t_max = t_min or 0, t_max or 0
  local hp = type(config.solutionConfig) == "table" and config.solutionConfig.algorithmHyperParameters
  local window = type(hp) == "table" and tonumber(hp.trend_window_seconds)
  if not window or window <= 0 then window = max(1, (t_max - t_min) / 10) end
  local recent, previous, ids = {}, {}, {}
  for i = 1, rows.n do
    if not weights or (weights[types[i]] or 0) > 0 then
      local id = tostring(items_col[i])
      local t = tonumber(times[i]) or 0
      if recent[id] == nil then recent[id], previous[id] = 0, 0; ids[#ids + 1] = id end
      if t > t_max - window then
        recent[id] = recent[id] + 1
      elseif t > t_max - 2 * window then
        previous[id] = previous[id] + 1
      end
    end
  end
  local trend = {}
  for _, id in ipairs(ids) do trend[id] = (recent[id] - previous[id]) / sqrt(previous[id] + 1) end
  sort(ids, function(a, b)
    local ga, gb = trend[a] > 0, trend[b] > 0
    if ga ~= gb then return ga end
    if ga and trend[a] ~= trend[b] then return trend[a] > trend[b] end
    if recent[a] ~= recent[b] then return recent[a] > recent[b] end
    return a < b
  end)
  local list, values = {}, {}
  for r = 1, min(#ids, _M.KEEP) do
    list[r] = ids[r]
    values[r] = common.round(trend[ids[r]], 4)
  end
  local popular, ix = {}, common.index(data)
  for r, k in ipairs(common.popular(ix)) do
    if r > _M.KEEP then break end
    popular[r] = ix.items[k]
  end
  return { recipe = _M.name, version = _M.MODEL_VERSION, window = window, now = t_max,
           items = list, trend = values, popular = popular }
end

function _M.recommend(model, request)
  return common.pick(request or {}, function(emit)
    for _, id in ipairs(model.items) do
      if emit(id) then return end
    end
    for _, id in ipairs(model.popular) do
      if emit(id) then return end
    end
  end)
end

return _M
