-- aws-next-best-action (PERSONALIZED_ACTIONS): the actions a user is most
-- likely to take next, from the Actions and Action interactions datasets.
--
--   local model = next_best_action.train(data, config)
--   local list = next_best_action.recommend(model, { userId =, numResults = (5) })
--   -- list = { { itemId = actionId, score = 0..1 }, ... } best first
--
-- data.action_interactions (USER_ID, ACTION_ID, TIMESTAMP, EVENT_TYPE of
-- TAKEN, NOT_TAKEN or VIEWED) is required; data.actions (ACTION_ID,
-- ACTION_EXPIRATION_TIMESTAMP, REPEAT_FREQUENCY in days) is optional.
-- An action's take rate is (taken + 1) / (shown + 2), where shown counts
-- every event of it (TAKEN, NOT_TAKEN, VIEWED); two actions are related by
-- the cosine of the users who took them. A user's score for an action is
-- the mean of its take rate and of its relation to the actions the user
-- took (scaled by the best), so it is a propensity in [0, 1], not a
-- softmax. Left out: actions expired at the newest action interaction,
-- and actions the user took less than REPEAT_FREQUENCY days before it (no
-- REPEAT_FREQUENCY: no limit). A user who took nothing gets the take rates.
-- request.history lists actions the user took since training (ids).
local common = require "personalize.engine.recipes.common"
local ecore = require "personalize.engine.core"

local ipairs, pairs, type, tostring, tonumber, error, setmetatable =
  ipairs, pairs, type, tostring, tonumber, error, setmetatable
local floor = math.floor
local sort = table.sort

local _M = { name = "aws-next-best-action", MODEL_VERSION = 1, NEIGHBORS = 20, DEFAULT_RESULTS = 5 }
-- The recipes it trains, read by recipes/init.lua (options there).
_M.RECIPES = { ["aws-next-best-action"] = { batch = false } }

local DAY = 86400

function _M.train(data)
  local rows = data.action_interactions
  if type(rows) ~= "table" or type(rows.ACTION_ID) ~= "table" or (rows.n or 0) == 0 then
    error("There is no action interactions data to train on: import an Action interactions dataset first", 0)
  end
  local actions, set = {}, {}
  local function add(id)
    if id ~= nil then
      id = common.id(id)
      if not set[id] then set[id] = true; actions[#actions + 1] = id end
    end
  end
  local acts = type(data.actions) == "table" and type(data.actions.ACTION_ID) == "table" and data.actions or nil
  if acts then
    for i = 1, acts.n or #acts.ACTION_ID do add(acts.ACTION_ID[i]) end
  end
  for i = 1, rows.n do add(rows.ACTION_ID[i]) end
  sort(actions)
  local index = {}
  for j, id in ipairs(actions) do index[id] = j end

  local users, user_set = {}, {}
  local taken, shown = {}, {}
  for j = 1, #actions do taken[j], shown[j] = 0, 0 end
  local last_taken = {}   -- user -> { [action] = time }
  local now = 0
  local types, times = rows.EVENT_TYPE or {}, rows.TIMESTAMP or {}
  for i = 1, rows.n do
    local j, u = index[common.id(rows.ACTION_ID[i])], tostring(rows.USER_ID[i])
    local t = tonumber(times[i]) or 0
    if t > now then now = t end
    shown[j] = shown[j] + 1
    local et = tostring(types[i] or "TAKEN"):upper()
    if et == "TAKEN" then
      taken[j] = taken[j] + 1
      if not user_set[u] then user_set[u] = true; users[#users + 1] = u; last_taken[u] = {} end
      if not last_taken[u][j] or t > last_taken[u][j] then last_taken[u][j] = t end
    end
  end
  sort(users)
  local rate, hist_off, hist, hist_time, ent, feat = {}, {}, {}, {}, {}, {}
  for j = 1, #actions do rate[j] = common.round((taken[j] + 1) / (shown[j] + 2), 4) end
  for u, id in ipairs(users) do
    hist_off[u] = #hist + 1
    local l = {}
    for j, t in pairs(last_taken[id]) do l[#l + 1] = { j, t } end
    sort(l, function(a, b) if a[2] ~= b[2] then return a[2] < b[2] end return a[1] < b[1] end)
    for _, e in ipairs(l) do
      hist[#hist + 1], hist_time[#hist + 1] = e[1], e[2]
      ent[#ent + 1], feat[#feat + 1] = e[1], u
    end
  end
  hist_off[#users + 1] = #hist + 1
  local k = _M.NEIGHBORS
  local nbr, sim = ecore.recs_neighbors(ent, feat, nil, #actions, k, { alpha = 0.5, beta = 0.5 })
  local related = common.compact(nbr, sim, #actions, k, 4)
  local expires, repeat_days = {}, {}
  for j = 1, #actions do expires[j], repeat_days[j] = 0, 0 end
  if acts then
    local exp_col, rep_col = acts.ACTION_EXPIRATION_TIMESTAMP or {}, acts.REPEAT_FREQUENCY or {}
    for i = 1, acts.n or #acts.ACTION_ID do
      local j = index[common.id(acts.ACTION_ID[i]) or ""]
      if j then
        expires[j] = tonumber(exp_col[i]) or 0
        repeat_days[j] = tonumber(rep_col[i]) or 0
      end
    end
  end
  return { recipe = _M.name, version = _M.MODEL_VERSION, actions = actions, rate = rate, now = now,
           expires = expires, repeat_days = repeat_days, off = related.off, nbr = related.nbr, sim = related.sim,
           users = users, hist_off = hist_off, hist = hist, hist_time = hist_time }
end

local derived = setmetatable({}, { __mode = "k" })
local function lookups(model)
  local d = derived[model]
  if d then return d end
  d = { action = {}, user = {} }
  for j, id in ipairs(model.actions) do d.action[id] = j end
  for u, id in ipairs(model.users) do d.user[id] = u end
  derived[model] = d
  return d
end

function _M.recommend(model, request)
  request = request or {}
  local d = lookups(model)
  -- the user's taken actions: index -> time (live ones at the newest time)
  local took = {}
  local u = d.user[common.id(request.userId) or ""]
  if u then
    for p = model.hist_off[u], model.hist_off[u + 1] - 1 do took[model.hist[p]] = model.hist_time[p] end
  end
  for _, id in ipairs(type(request.history) == "table" and request.history or {}) do
    local j = d.action[common.id(id) or ""]
    if j then took[j] = model.now end
  end
  local rel, best, order = {}, 0, {}
  for j in pairs(took) do order[#order + 1] = j end
  sort(order)   -- a fixed order of additions: the same sums every time
  for _, j in ipairs(order) do
    for q = model.off[j], model.off[j + 1] - 1 do
      local n = model.nbr[q]
      rel[n] = (rel[n] or 0) + model.sim[q]
      if rel[n] > best then best = rel[n] end
    end
  end
  local cands = {}
  for j, id in ipairs(model.actions) do
    local expired = model.expires[j] > 0 and model.expires[j] <= model.now
    local t = took[j]
    local too_soon = t and model.repeat_days[j] > 0 and model.now - t < model.repeat_days[j] * DAY
    if not expired and not too_soon then
      local r = best > 0 and (rel[j] or 0) / best or 0
      local score = best > 0 and (model.rate[j] + r) / 2 or model.rate[j]
      cands[#cands + 1] = { id, common.round(score, 4) }
    end
  end
  sort(cands, function(a, b)
    if a[2] ~= b[2] then return a[2] > b[2] end
    return a[1] < b[1]
  end)
  local req = { numResults = floor(tonumber(request.numResults) or _M.DEFAULT_RESULTS),
                exclude = request.exclude, keep = request.keep }
  return common.pick(req, function(emit)
    for _, c in ipairs(cands) do
      if emit(c[1], c[2]) then return end
    end
  end)
end

return _M
