-- From imported rows to a trained model: the solution's event filters, the
-- minimum-data rules of Amazon Personalize, and the calls into the recipe.
--
--   local data2, reason = training.prepare(data, config)
--   local model, reason = training.train(recipe_arn, data, config)
--   local list, reason = training.recommend(recipe_arn, model, request)
--
-- data (columnar, as the engine keeps the datasets):
--   { interactions = { n = N, USER_ID = {...}, ITEM_ID = {...}, TIMESTAMP = {...},
--                      EVENT_TYPE = {...} or nil, EVENT_VALUE = {...} or nil, <other columns> },
--     items = nil or { n =, ITEM_ID =, ... }, users = nil or { n =, USER_ID =, ... } }
-- config: { recipeArn =, eventType = <the solution's eventType>,
--           solutionConfig = <CreateSolution's solutionConfig> }
-- request: { userId =, itemId =, numResults = (25), exclude = { [itemId] = true },
--            keep = function(itemId) -> boolean }
--
-- prepare's result shares tables with data when nothing is filtered out, so
-- recipes read their input and never change it. With eventsConfig it also
-- carries event_weights = { [eventType] = weight (default 1) }.
-- A failure returns nil and a failureReason worded like the service's
-- ("Dataset has fewer than 1000 interactions after filtering by event type: click").
local recipes = require "personalize.engine.recipes"

local pairs, ipairs, type, tostring, tonumber, pcall = pairs, ipairs, type, tostring, tonumber, pcall
local concat, sort = table.concat, table.sort
local fmt = string.format

local _M = {}

-- Training data requirements of the developer guide: at least 1000
-- interaction records, and at least 25 unique users with at least two
-- interactions each, counted after filtering by eventType and
-- eventValueThreshold.
_M.MIN_INTERACTIONS = 1000
_M.MIN_ACTIVE_USERS = 25
_M.MIN_USER_INTERACTIONS = 2

-- A threshold given as a string (eventValueThreshold) or a number
-- (eventParametersList): true, number-or-nil; or nil, message.
local function threshold_of(value, what)
  if value == nil then return true, nil end
  local n = tonumber(value)
  if not n then return nil, fmt("%s must be a number, got %q", what, tostring(value)) end
  return true, n
end

-- The filters of config as { event_type =, threshold =, params = { [type] = { threshold =, weight = } } }
-- and a phrase naming them for failure reasons; or nil, message.
local function filters_of(config)
  local sc = config.solutionConfig or {}
  if type(sc) ~= "table" then return nil, "solutionConfig must be a structure" end
  local ok, threshold = threshold_of(sc.eventValueThreshold, "solutionConfig.eventValueThreshold")
  if not ok then return nil, threshold end
  local event_type = config.eventType
  if event_type == "" then event_type = nil end
  local f = { event_type = event_type, threshold = threshold }
  local list = type(sc.eventsConfig) == "table" and sc.eventsConfig.eventParametersList
  if type(list) == "table" and #list > 0 then
    f.params, f.weights = {}, {}
    for k, p in ipairs(list) do
      local what = fmt("solutionConfig.eventsConfig.eventParametersList[%d]", k)
      if type(p) ~= "table" or type(p.eventType) ~= "string" or p.eventType == "" then
        return nil, what .. ".eventType must name an event type"
      end
      local t
      ok, t = threshold_of(p.eventValueThreshold, what .. ".eventValueThreshold")
      if not ok then return nil, t end
      f.params[p.eventType] = { threshold = t }
      f.weights[p.eventType] = tonumber(p.weight) or 1
    end
  end
  local parts = {}
  if f.event_type then parts[#parts + 1] = "event type: " .. tostring(f.event_type) end
  if f.threshold then parts[#parts + 1] = "event value threshold: " .. tostring(sc.eventValueThreshold) end
  if f.params then
    local names = {}
    for name in pairs(f.params) do names[#names + 1] = name end
    sort(names)
    parts[#parts + 1] = "events config: " .. concat(names, ", ")
  end
  f.active = #parts > 0
  f.phrase = f.active and (" after filtering by " .. concat(parts, " and ")) or ""
  return f
end

local function passes(f, event_type, value)
  if f.event_type ~= nil and event_type ~= f.event_type then return false end
  value = tonumber(value)
  if f.threshold and not (value and value >= f.threshold) then return false end
  if f.params then
    local p = f.params[event_type]
    if not p then return false end
    if p.threshold and not (value and value >= p.threshold) then return false end
  end
  return true
end

-- The rows `index` (ascending row numbers) of a columnar table: every column
-- copied, holes (nil values) kept at their new positions.
function _M.subset(rows, index)
  local out = { n = #index }
  for name, col in pairs(rows) do
    if name ~= "n" and type(col) == "table" then
      local new = {}
      for j = 1, #index do new[j] = col[index[j]] end
      out[name] = new
    end
  end
  return out
end

function _M.prepare(data, config)
  config = config or {}
  local rows = type(data) == "table" and data.interactions
  if type(rows) ~= "table" then
    return nil, "There is no interactions data to train on: import an Item interactions dataset first"
  end
  if type(rows.n) ~= "number" or type(rows.USER_ID) ~= "table" or type(rows.ITEM_ID) ~= "table" then
    return nil, "The interactions data needs USER_ID and ITEM_ID columns"
  end
  local f, problem = filters_of(config)
  if not f then return nil, problem end

  local kept = rows
  if f.active then
    local types, values, index = rows.EVENT_TYPE or {}, rows.EVENT_VALUE or {}, {}
    for i = 1, rows.n do
      if passes(f, types[i], values[i]) then index[#index + 1] = i end
    end
    kept = _M.subset(rows, index)
  end

  local n = kept.n
  if n < _M.MIN_INTERACTIONS then
    return nil, fmt("Dataset has fewer than %d interactions%s (found %d)", _M.MIN_INTERACTIONS, f.phrase, n)
  end
  local per_user, active = {}, 0
  local users = kept.USER_ID
  for i = 1, n do
    local u = users[i]
    local c = (per_user[u] or 0) + 1
    per_user[u] = c
    if c == _M.MIN_USER_INTERACTIONS then active = active + 1 end
  end
  if active < _M.MIN_ACTIVE_USERS then
    return nil, fmt("Dataset has fewer than %d users with at least %d interactions each%s (found %d)",
      _M.MIN_ACTIVE_USERS, _M.MIN_USER_INTERACTIONS, f.phrase, active)
  end
  return { interactions = kept, items = data.items, users = data.users, event_weights = f.weights }
end

-- Calls a recipe's function, turning a raised error into a failure reason.
local function call(what, fn, ...)
  local ok, res = pcall(fn, ...)
  if not ok then return nil, fmt("%s failed: %s", what, tostring(res)) end
  return res
end
_M.call = call

function _M.train(recipe_arn, data, config)
  local module, why = recipes.module(recipe_arn)
  if not module then return nil, why end
  local prepared, reason = _M.prepare(data, config)
  if not prepared then return nil, reason end
  return call("Training", module.train, prepared, config or {})
end

function _M.recommend(recipe_arn, model, request)
  local module, why = recipes.module(recipe_arn)
  if not module then return nil, why end
  if type(model) ~= "table" then return nil, "There is no trained model for " .. tostring(recipe_arn) end
  return call("Recommendation", module.recommend, model, request or {})
end

return _M
