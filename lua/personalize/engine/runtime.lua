-- personalize-local's data plane: the `personalize-runtime` operations
-- (recommendations from campaigns and recommenders) and the
-- `personalize-events` operations (records sent one at a time, appended
-- durably to their dataset).
--
--   local handler = runtime.handler(op_name)
--   local result, code, message = handler(eng, params)
local recipes = require "personalize.engine.recipes"
local training = require "personalize.engine.training"
local jobs = require "personalize.engine.jobs"
local import = require "personalize.engine.import"
local resources = require "personalize.engine.resources"
local cjson = require("personalize.engine.store").json

local pairs, ipairs, type, tostring = pairs, ipairs, type, tostring
local fmt = string.format

local _M = {}

local function err(code, message) return nil, code, message end

local MAX_RESULTS = 500

-- The model behind a campaign or recommender ARN, with its recipe record.
local function source(eng, params)
  local arn = params.campaignArn or params.recommenderArn
  if not arn then return err("InvalidInputException", "campaignArn or recommenderArn is required") end
  if params.campaignArn and params.recommenderArn then
    return err("InvalidInputException", "give campaignArn or recommenderArn, not both")
  end
  local r = eng.store.resources[arn]
  if not r or (r._kind ~= "campaign" and r._kind ~= "recommender") then
    return err("ResourceNotFoundException", fmt("Could not find %s %s", params.campaignArn and "campaign" or "recommender", arn))
  end
  local status = r.status or ""
  if status ~= "ACTIVE" and not status:find("^UPDATE") then
    return err("ResourceNotFoundException", fmt("%s is not ACTIVE (status %s)", arn, status))
  end
  local holder = r
  if r._kind == "campaign" then
    holder = eng.store.resources[r.solutionVersionArn]
    if not holder then return err("ResourceNotFoundException", "the campaign's solution version no longer exists") end
  end
  local model, merr = jobs.model(eng, holder)
  if not model then return err("ResourceNotFoundException", merr) end
  return holder, model, recipes.get(holder.recipeArn)
end

local function check_filter(eng, params)
  if not params.filterArn then return true end
  local f = eng.store.resources[params.filterArn]
  if not f or f._kind ~= "filter" then
    return err("ResourceNotFoundException", "Could not find filter " .. params.filterArn)
  end
  if f.status ~= "ACTIVE" then
    return err("InvalidInputException", fmt("filter %s is not ACTIVE (status %s)", params.filterArn, tostring(f.status)))
  end
  return true
end

local function request_id(eng)
  return resources.uuid(eng)
end

local handlers = {}

function handlers.GetRecommendations(eng, params)
  local holder, model, recipe = source(eng, params)
  if not holder then return err(model, recipe) end
  local n = params.numResults or 25
  if n < 0 or n > MAX_RESULTS then
    return err("InvalidInputException", fmt("numResults must be from 0 to %d, got %s", MAX_RESULTS, tostring(n)))
  end
  local rtype = recipe and recipe.recipeType
  if rtype == "RELATED_ITEMS" and not params.itemId then
    return err("InvalidInputException", "itemId is required for a RELATED_ITEMS recipe (" .. holder.recipeArn .. ")")
  end
  if rtype == "USER_PERSONALIZATION" and not params.userId then
    return err("InvalidInputException", "userId is required for a USER_PERSONALIZATION recipe (" .. holder.recipeArn .. ")")
  end
  if rtype == "PERSONALIZED_RANKING" then
    return err("InvalidInputException", "a PERSONALIZED_RANKING campaign answers get_personalized_ranking, not get_recommendations")
  end
  local ok, code, msg = check_filter(eng, params)
  if not ok then return err(code, msg) end
  local recs, why = training.recommend(holder.recipeArn, model, {
    userId = params.userId, itemId = params.itemId, numResults = n,
    context = params.context, filterValues = params.filterValues,
  })
  if not recs then return err("InvalidInputException", why) end
  local list = {}
  for i, rec in ipairs(recs) do
    if i > n then break end
    list[i] = { itemId = rec.itemId, score = rec.score }
  end
  return { itemList = list, recommendationId = "RID-" .. request_id(eng) }
end

function handlers.GetPersonalizedRanking(eng, params)
  local holder, model, recipe = source(eng, params)
  if not holder then return err(model, recipe) end
  if not recipe or recipe.recipeType ~= "PERSONALIZED_RANKING" then
    return err("InvalidInputException", fmt("get_personalized_ranking needs a PERSONALIZED_RANKING campaign; %s uses %s",
      params.campaignArn, tostring(holder.recipeArn)))
  end
  local ok, code, msg = check_filter(eng, params)
  if not ok then return err(code, msg) end
  local recs, why = training.recommend(holder.recipeArn, model, {
    userId = params.userId, inputList = params.inputList, numResults = #params.inputList,
    context = params.context })
  if not recs then return err("InvalidInputException", why) end
  local list = {}
  for i, rec in ipairs(recs) do list[i] = { itemId = rec.itemId, score = rec.score } end
  return { personalizedRanking = list, recommendationId = "RID-" .. request_id(eng) }
end

function handlers.GetActionRecommendations(eng, params)
  local holder, model, recipe = source(eng, params)
  if not holder then return err(model, recipe) end
  if not recipe or recipe.recipeType ~= "PERSONALIZED_ACTIONS" then
    return err("InvalidInputException", fmt("get_action_recommendations needs a PERSONALIZED_ACTIONS campaign; %s uses %s",
      params.campaignArn, tostring(holder.recipeArn)))
  end
  local recs, why = training.recommend(holder.recipeArn, model, { userId = params.userId, numResults = params.numResults or 5 })
  if not recs then return err("InvalidInputException", why) end
  local list = {}
  for i, rec in ipairs(recs) do list[i] = { actionId = rec.itemId, score = rec.score } end
  return { actionList = list, recommendationId = "RID-" .. request_id(eng) }
end

-- "numberOfRatings" -> "NUMBER_OF_RATINGS": properties use camelCase names
-- of the schema's fields.
local function field_name(prop)
  return (prop:gsub("(%l)(%u)", "%1_%2"):gsub("(%d)(%u)", "%1_%2"):upper())
end

local function decode_properties(text, where)
  if text == nil then return {} end
  if type(text) == "table" then return text end
  local ok, doc = pcall(cjson.decode, text)
  if not ok or type(doc) ~= "table" then
    return nil, where .. ".properties is not a JSON object"
  end
  return doc
end

-- The dataset of `dtype` in the tracker's or the given dataset's group.
local function tracker_dataset(eng, tracking_id, dtype)
  for _, r in pairs(eng.store.resources) do
    if r._kind == "event_tracker" and r.trackingId == tracking_id then
      local ds = jobs.group_datasets(eng, r.datasetGroupArn)[dtype]
      if not ds then
        return err("ResourceNotFoundException", fmt("the dataset group of tracking id %s has no %s dataset",
          tracking_id, dtype))
      end
      return ds
    end
  end
  return err("ResourceNotFoundException", "Could not find an event tracker with tracking id " .. tostring(tracking_id))
end

local function typed_dataset(eng, arn, dtype)
  local ds = eng.store.resources[arn]
  if not ds or ds._kind ~= "dataset" then
    return err("ResourceNotFoundException", "Could not find dataset " .. tostring(arn))
  end
  if ds.datasetType ~= dtype then
    return err("InvalidInputException", fmt("dataset %s is an %s dataset; this call needs %s", arn, ds.datasetType, dtype))
  end
  return ds
end

-- Validates all records first, then appends them: a bad record rejects
-- the whole call and nothing is written.
local function append_all(eng, ds, records)
  local fields, problem = jobs.dataset_fields(eng, ds)
  if not fields then return err("InvalidInputException", problem) end
  local known = {}
  for _, f in ipairs(fields) do known[f.name] = true end
  local rows = {}
  for i, rec in ipairs(records) do
    for name, prop in pairs(rec.props) do
      if not known[name] then
        return err("InvalidInputException", fmt("%s.properties: %s (field %s) is not in the dataset's schema",
          rec.where, prop, name))
      end
    end
    -- Members the API always has (eventType, ...) count only when the
    -- schema has their field.
    for name in pairs(rec.values) do
      if not known[name] then rec.values[name] = nil end
    end
    local row, perr = import.record(rec.values, fields, rec.where)
    if not row then return err("InvalidInputException", perr or ("record " .. i .. " is invalid")) end
    rows[i] = row
  end
  for _, row in ipairs(rows) do
    local ok, werr = jobs.append_record(eng, ds, row)
    if not ok then return err("InternalFailure", werr) end
  end
  return {}
end

-- Adds the properties to `values`; returns the field name -> property
-- name map of what came from properties.
local function with_properties(values, props)
  local names = {}
  for k, v in pairs(props) do
    local name = field_name(k)
    values[name] = v
    names[name] = k
  end
  return values, names
end

function handlers.PutEvents(eng, params)
  local ds, code, msg = tracker_dataset(eng, params.trackingId, "INTERACTIONS")
  if not ds then return err(code, msg) end
  local records = {}
  for i, e in ipairs(params.eventList) do
    local where = fmt("eventList[%d]", i)
    local props, perr = decode_properties(e.properties, where)
    if not props then return err("InvalidInputException", perr) end
    local values, names = with_properties({}, props)
    values.USER_ID = params.userId or params.sessionId
    values.ITEM_ID = e.itemId
    values.TIMESTAMP = math.floor(e.sentAt)
    values.EVENT_TYPE = e.eventType
    values.EVENT_VALUE = e.eventValue
    values.RECOMMENDATION_ID = e.recommendationId
    records[i] = { values = values, where = where, props = names }
  end
  return append_all(eng, ds, records)
end

local function put_entities(eng, params, list_member, dtype, id_member, id_field)
  local ds, code, msg = typed_dataset(eng, params.datasetArn, dtype)
  if not ds then return err(code, msg) end
  local records = {}
  for i, x in ipairs(params[list_member]) do
    local where = fmt("%s[%d]", list_member, i)
    local props, perr = decode_properties(x.properties, where)
    if not props then return err("InvalidInputException", perr) end
    local values, names = with_properties({}, props)
    values[id_field] = x[id_member]
    records[i] = { values = values, where = where, props = names }
  end
  return append_all(eng, ds, records)
end

function handlers.PutItems(eng, params)
  return put_entities(eng, params, "items", "ITEMS", "itemId", "ITEM_ID")
end

function handlers.PutUsers(eng, params)
  return put_entities(eng, params, "users", "USERS", "userId", "USER_ID")
end

function handlers.PutActions(eng, params)
  return put_entities(eng, params, "actions", "ACTIONS", "actionId", "ACTION_ID")
end

function handlers.PutActionInteractions(eng, params)
  local ds, code, msg = tracker_dataset(eng, params.trackingId, "ACTION_INTERACTIONS")
  if not ds then return err(code, msg) end
  local records = {}
  for i, a in ipairs(params.actionInteractions) do
    local where = fmt("actionInteractions[%d]", i)
    local props, perr = decode_properties(a.properties, where)
    if not props then return err("InvalidInputException", perr) end
    local values, names = with_properties({}, props)
    values.USER_ID = a.userId or a.sessionId
    values.ACTION_ID = a.actionId
    values.TIMESTAMP = math.floor(a.timestamp)
    values.EVENT_TYPE = a.eventType
    values.RECOMMENDATION_ID = a.recommendationId
    records[i] = { values = values, where = where, props = names }
  end
  return append_all(eng, ds, records)
end

function _M.handler(op)
  return handlers[op]
end

return _M
