-- From imported rows to a trained model: the solution's event filters, the
-- minimum-data rules of Amazon Personalize, and the calls into the recipe.
--
--   local data2, reason = training.prepare(data, config)
--   local model, reason = training.train(recipe_arn, data, config)
--   local model, reason = training.train_prepared(recipe_arn, data2, config)
--   local list, reason = training.recommend(recipe_arn, model, request)
--   local users, reason = training.segment(recipe_arn, model, request)
--
-- data (columnar, as the engine keeps the datasets):
--   { interactions = { n = N, USER_ID = {...}, ITEM_ID = {...}, TIMESTAMP = {...},
--                      EVENT_TYPE = {...} or nil, EVENT_VALUE = {...} or nil, <other columns> },
--     items = nil or { n =, ITEM_ID =, <CREATION_TIMESTAMP, textual and categorical columns> },
--     users = nil or { n =, USER_ID =, ... },
--     actions = nil or { n =, ACTION_ID =, ACTION_EXPIRATION_TIMESTAMP =, REPEAT_FREQUENCY =, ... },
--     action_interactions = nil or { n =, USER_ID =, ACTION_ID =, TIMESTAMP =, EVENT_TYPE = } }
-- The engine passes each dataset of the group it has; aws-next-best-action
-- trains on actions and action_interactions (the minimum-data rules then
-- count action interactions, and item interactions are optional).
-- config: { recipeArn =, eventType = <the solution's eventType>,
--           solutionConfig = <CreateSolution's solutionConfig> }
--   (solutionConfig.algorithmHyperParameters tunes some recipes; see each
--   module's header)
--
-- request (recommend), every member optional:
--   userId      the user (USER_PERSONALIZATION, PERSONALIZED_RANKING, PERSONALIZED_ACTIONS)
--   itemId      the item (RELATED_ITEMS)
--   numResults  at most this many results (default 25; 5 for actions)
--   exclude     { [itemId] = true }: never returned
--   keep        function(itemId) -> boolean, the filter: asked of candidates
--               in rank order until numResults are kept (or none are left)
--   history     { itemId, ... }: the user's live events since training,
--               oldest first (put_events); user-personalization and
--               ranking score from them at once, so a user known only
--               from live events gets personalised results
--   inputList   { itemId, ... }: the items to rank (PERSONALIZED_RANKING)
--   exploration { weight = 0..1 (explorationWeight), ageCutOff = days
--               (explorationItemAgeCutOff) } or nil (no exploration); a
--               missing weight is AWS's default 0.3, a missing ageCutOff 30
--   context     { name = value }: accepted, unused by the local recipes
-- The result is a list of { itemId =, score = (number or nil) }, best
-- first, of at most numResults entries, never repeating an item. Scores:
-- a softmax over the catalogue for user-personalization (they sum to at
-- most 1), over inputList for ranking, a propensity in [0, 1] for
-- next-best-action, none (nil) for related items, popularity and trending.
--
-- request (segment, USER_SEGMENTATION recipes):
--   itemId          the item (aws-item-affinity)
--   itemAttributes  'ITEMS.GENRES = "Comedy" AND ITEMS.YEAR = "1995"'
--                   (aws-item-attribute-affinity; AND binds tighter than OR)
--   numResults      users per segment (default 25)
-- The result is a list of { userId =, score = (0..1, the best user 1; nil
-- for users added only to fill the list) }, or nil and a reason (a bad
-- expression).
--
-- prepare's result shares tables with data when nothing is filtered out, so
-- recipes read their input and never change it. With eventsConfig it also
-- carries event_weights = { [eventType] = weight (default 1) }. When the
-- interactions are stored as column files (data.sources.interactions =
-- { parts = { dir, ... }, extra = <the rows sent one by one, columnar> },
-- as the engine passes them) it also carries `hist`, the users' histories
-- built in C (personalize.engine.core's hist_build, after the filters;
-- `source` and `hist_options` build it again, as the metrics' split does),
-- and its `interactions` load only when a recipe reads a column:
-- recipes/common.lua's index reads `hist` instead, so the large recipes
-- never hold a Lua value per interaction.
-- A failure returns nil and a failureReason worded like the service's
-- ("Dataset has fewer than 1000 interactions after filtering by event type: click").
-- A recipe's train or recommend that raises, or returns nil and a reason,
-- fails with "Training failed: <reason>" / "Recommendation failed: <reason>".
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

-- The minimum-data rules for n rows (`noun`) of which active() users have
-- at least MIN_USER_INTERACTIONS: nil, or the reason.
local function minimum_problem(n, active, phrase, noun)
  if n < _M.MIN_INTERACTIONS then
    return fmt("Dataset has fewer than %d %s%s (found %d)", _M.MIN_INTERACTIONS, noun, phrase, n)
  end
  local a = active()
  if a < _M.MIN_ACTIVE_USERS then
    return fmt("Dataset has fewer than %d users with at least %d %s each%s (found %d)",
      _M.MIN_ACTIVE_USERS, _M.MIN_USER_INTERACTIONS, noun, phrase, a)
  end
  return nil
end

-- The minimum-data rules over rows (USER_ID column): nil, or the reason.
local function check_minimum(rows, phrase, noun)
  return minimum_problem(rows.n, function()
    local per_user, active = {}, 0
    local users = rows.USER_ID
    for i = 1, rows.n do
      local u = users[i]
      local c = (per_user[u] or 0) + 1
      per_user[u] = c
      if c == _M.MIN_USER_INTERACTIONS then active = active + 1 end
    end
    return active
  end, phrase, noun)
end

-- PERSONALIZED_ACTIONS recipes: the rules count action interactions.
local function prepare_actions(data)
  local rows = type(data) == "table" and data.action_interactions
  if type(rows) ~= "table" then
    return nil, "There is no action interactions data to train on: import an Action interactions dataset first"
  end
  if type(rows.n) ~= "number" or type(rows.USER_ID) ~= "table" or type(rows.ACTION_ID) ~= "table" then
    return nil, "The action interactions data needs USER_ID and ACTION_ID columns"
  end
  local problem = check_minimum(rows, "", "action interactions")
  if problem then return nil, problem end
  local empty = { n = 0, USER_ID = {}, ITEM_ID = {}, TIMESTAMP = {} }
  return { interactions = type(data.interactions) == "table" and data.interactions or empty,
           items = data.items, users = data.users, actions = data.actions, action_interactions = rows }
end

-- A columnar table of n rows whose columns `load()` returns on first use
-- (load returns a columnar table of the same rows).
local function lazy_rows(n, load)
  return setmetatable({ n = n }, { __index = function(rows, key)
    local full = load()
    setmetatable(rows, nil)
    for name, col in pairs(full) do
      if name ~= "n" then rawset(rows, name, col) end
    end
    return rawget(rows, key)
  end })
end
_M.lazy_rows = lazy_rows

-- The interactions kept by the filters `f` from rows of a dataset.
local function filtered(rows, f)
  if not f.active then return rows end
  local types, values, index = rows.EVENT_TYPE or {}, rows.EVENT_VALUE or {}, {}
  for i = 1, rows.n do
    if passes(f, types[i], values[i]) then index[#index + 1] = i end
  end
  return _M.subset(rows, index)
end

-- The minimum-data rules over the histories built in C (hist_options has
-- hist_build count the users with MIN_USER_INTERACTIONS rows).
local function check_minimum_hist(st, phrase)
  return minimum_problem(st.rows, function() return st.active_users end, phrase, "interactions")
end

-- The options of hist_build for filters `f`.
local function hist_options(f, source)
  local params
  if f.params then
    params = {}
    for name, p in pairs(f.params) do params[name] = { threshold = p.threshold, weight = f.weights[name] } end
  end
  return { extra = source.extra, event_type = f.event_type, threshold = f.threshold, params = params,
           active_rows = _M.MIN_USER_INTERACTIONS }
end

-- Interactions stored as column files (data.sources.interactions =
-- { parts = { dir, ... }, extra = <rows sent one by one> }): the users'
-- histories are built in C, and the rows themselves load only if a recipe
-- reads them.
local function prepare_columns(data, source, f)
  local ecore = require "personalize.engine.core"
  local opts = hist_options(f, source)
  local hist, err = ecore.hist_build(source.parts, opts)
  if not hist then return nil, "cannot read the interactions: " .. tostring(err) end
  local st = hist:stats()
  local problem = check_minimum_hist(st, f.phrase)
  if problem then return nil, problem end
  local all = data.interactions
  local kept = f.active and lazy_rows(st.rows, function() return filtered(all, f) end) or all
  return { interactions = kept, hist = hist, items = data.items, users = data.users, event_weights = f.weights,
           actions = data.actions, action_interactions = data.action_interactions,
           source = source, hist_options = opts }
end

function _M.prepare(data, config)
  config = config or {}
  local recipe = config.recipeArn and recipes.get(config.recipeArn)
  if recipe and recipe.recipeType == "PERSONALIZED_ACTIONS" then return prepare_actions(data) end
  local rows = type(data) == "table" and data.interactions
  if type(rows) ~= "table" then
    return nil, "There is no interactions data to train on: import an Item interactions dataset first"
  end
  local f, problem = filters_of(config)
  if not f then return nil, problem end
  local source = type(data.sources) == "table" and data.sources.interactions
  if source then return prepare_columns(data, source, f) end
  if type(rows.n) ~= "number" or type(rows.USER_ID) ~= "table" or type(rows.ITEM_ID) ~= "table" then
    return nil, "The interactions data needs USER_ID and ITEM_ID columns"
  end

  local kept = filtered(rows, f)
  problem = check_minimum(kept, f.phrase, "interactions")
  if problem then return nil, problem end
  return { interactions = kept, items = data.items, users = data.users, event_weights = f.weights,
           actions = data.actions, action_interactions = data.action_interactions }
end

-- Calls a recipe's function, turning a raised error into a failure reason.
local function call(what, fn, ...)
  local ok, res, why = pcall(fn, ...)
  if not ok then return nil, fmt("%s failed: %s", what, tostring(res)) end
  if res == nil then return nil, fmt("%s failed: %s", what, tostring(why or "no result")) end
  return res
end
_M.call = call

-- config with recipeArn set (a shallow copy when it lacked it).
function _M.with_recipe(config, recipe_arn)
  config = config or {}
  if config.recipeArn ~= nil then return config end
  local out = {}
  for k, v in pairs(config) do out[k] = v end
  out.recipeArn = recipe_arn
  return out
end

function _M.train(recipe_arn, data, config)
  config = _M.with_recipe(config, recipe_arn)
  local prepared, reason = _M.prepare(data, config)
  if not prepared then return nil, reason end
  return _M.train_prepared(recipe_arn, prepared, config)
end

-- Trains on prepare's result (so a caller that also measures the model
-- prepares the data once).
function _M.train_prepared(recipe_arn, prepared, config)
  local module, why = recipes.module(recipe_arn)
  if not module then return nil, why end
  return call("Training", module.train, prepared, _M.with_recipe(config, recipe_arn))
end

function _M.segment(recipe_arn, model, request)
  local module, why = recipes.module(recipe_arn)
  if not module then return nil, why end
  if type(module.segment) ~= "function" then
    return nil, fmt("%s is not a USER_SEGMENTATION recipe: it makes no user segments", tostring(recipe_arn))
  end
  if type(model) ~= "table" then return nil, "There is no trained model for " .. tostring(recipe_arn) end
  return call("Segmentation", module.segment, model, request or {})
end

function _M.recommend(recipe_arn, model, request)
  local module, why = recipes.module(recipe_arn)
  if not module then return nil, why end
  if type(model) ~= "table" then return nil, "There is no trained model for " .. tostring(recipe_arn) end
  return call("Recommendation", module.recommend, model, request or {})
end

return _M
