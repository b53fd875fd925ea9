-- personalize-local's data plane: the `personalize-runtime` operations
-- (recommendations from campaigns and recommenders) and the
-- `personalize-events` operations (records sent one at a time, appended
-- durably to their dataset).
--
-- A recommendation request reaches the recipe (training.recommend) with
--   userId, itemId, numResults, context,
--   history = { itemId, ... }   the user's live events since training, oldest first
--   keep = function(itemId)     the filter (and, for the promoted share, the promotion's filter)
--   exploration = { weight =, ageCutOff = }  from campaignConfig.itemExplorationConfig
--   inputList = { itemId, ... } (rankings)
-- Promotions, metadataColumns and the order of filtered rankings are
-- applied here, around the recipe's answers.
--
--   local handler = runtime.handler(op_name)
--   local result, code, message = handler(eng, params)
local recipes = require "personalize.engine.recipes"
local training = require "personalize.engine.training"
local jobs = require "personalize.engine.jobs"
local import = require "personalize.engine.import"
local resources = require "personalize.engine.resources"
local filters = require "personalize.engine.filters"
local filter_expr = require "personalize.engine.filter_expression"
local cjson = require("personalize.engine.store").json

local pairs, ipairs, type, tostring, tonumber, next = pairs, ipairs, type, tostring, tonumber, next
local fmt = string.format

local _M = {}

local function err(code, message) return nil, code, message end

-- GetRecommendations' numResults: at most 500, or 100 with metadata;
-- GetPersonalizedRanking's inputList: at most 50 items with metadata.
local MAX_RESULTS = 500
local MAX_WITH_METADATA = 100
local MAX_RANKING_WITH_METADATA = 50

-- The model behind a campaign or recommender ARN: the record holding it
-- (solution version or recommender), the model, the recipe record and the
-- campaign or recommender itself.
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
  return holder, model, recipes.get(holder.recipeArn), r
end

local function request_id(eng)
  return resources.uuid(eng)
end

-- The campaign's campaignConfig or the recommender's recommenderConfig.
local function config_of(r)
  local c = r._kind == "campaign" and r.campaignConfig or r.recommenderConfig
  return type(c) == "table" and c or {}
end

-- The filter context of a request: the group's data and the request's user and item.
local function filter_ctx(eng, holder, params)
  local ctx = jobs.filter_context(eng, holder.datasetGroupArn)
  ctx.userId, ctx.itemId = params.userId, params.itemId
  return ctx
end

-- keep(itemId) for a filter ARN and its values, or nil, code, message.
local function predicate(eng, holder, ctx, arn, values)
  return jobs.filter_predicate(eng, holder.datasetGroupArn, arn, values, ctx)
end

-- The metadata columns asked for, checked against the campaign's settings
-- and the Items dataset: { names = {...}, data = items rows } or nil,
-- code, message. AWS returns metadata only when the campaign (or
-- recommender) was created with enableMetadataWithRecommendations.
local function metadata_request(eng, holder, r, params, ctx)
  local mc = params.metadataColumns
  if mc == nil or next(mc) == nil then return false end
  if not config_of(r).enableMetadataWithRecommendations then
    return err("InvalidInputException", fmt(
      "%s does not return metadata: create it with %s.enableMetadataWithRecommendations = true",
      r.campaignArn or r.recommenderArn, r._kind == "campaign" and "campaignConfig" or "recommenderConfig"))
  end
  local names
  for dtype, cols in pairs(mc) do
    if dtype ~= "ITEMS" then
      return err("InvalidInputException", fmt("metadataColumns: %s is not a dataset type with metadata for items; use ITEMS", dtype))
    end
    names = cols
  end
  local items = ctx.items or jobs.filter_context(eng, holder.datasetGroupArn).items
  if not items then
    return err("InvalidInputException", "metadataColumns: the dataset group has no Items dataset")
  end
  local cols = {}
  for i, name in ipairs(names) do
    local col = items[name]
    if type(col) ~= "table" then
      local sets = jobs.group_datasets(eng, holder.datasetGroupArn)
      local fields = sets.ITEMS and jobs.dataset_fields(eng, sets.ITEMS) or {}
      local known = false
      for _, f in ipairs(fields) do if f.name == name then known = true end end
      if not known then
        return err("InvalidInputException", fmt("metadataColumns: the Items dataset has no column %s", tostring(name)))
      end
      col = {}
    end
    cols[i] = col
  end
  return { names = names, cols = cols, row_of = filters.rows(items, "ITEM_ID") }
end

-- What a runtime request reads besides the model: the filter context, the
-- filter's predicate (true without filterArn) and the metadata asked
-- for. ctx, keep, meta | nil, code, message.
local function request_context(eng, holder, r, params)
  local ctx = filter_ctx(eng, holder, params)
  local keep, code, msg = true
  if params.filterArn then
    keep, code, msg = predicate(eng, holder, ctx, params.filterArn, params.filterValues)
    if not keep then return nil, code, msg end
  end
  local meta
  meta, code, msg = metadata_request(eng, holder, r, params, ctx)
  if meta == nil then return nil, code, msg end
  return ctx, keep, meta
end

local function cell_text(v)
  if type(v) == "number" and v == math.floor(v) and v > -1e15 and v < 1e15 then return fmt("%d", v) end
  return tostring(v)
end

local function add_metadata(list, meta)
  if not meta then return end
  for _, rec in ipairs(list) do
    local row = meta.row_of[rec.itemId]
    local m = {}
    for i, name in ipairs(meta.names) do
      local v = row and meta.cols[i][row]
      if v ~= nil then m[name] = cell_text(v) end
    end
    rec.metadata = m
  end
end

-- A deterministic stand-in for "positioned randomly": an LCG seeded by
-- the request, so that the same request always answers the same list.
local function seeded(text)
  local h = 5381
  for i = 1, #text do h = (h * 33 + text:byte(i)) % 2147483647 end
  return function(n)
    h = (h * 48271) % 2147483647
    return h % n + 1
  end
end

-- Puts `promoted` (in their order) at pseudo-random positions among the
-- `rest`, for a list of `n`.
local function merge_promoted(promoted, rest, n, seed)
  local total = math.min(n, #promoted + #rest)
  local slots, taken = {}, {}
  local rnd = seeded(seed)
  local k = math.min(#promoted, total)
  while #slots < k do
    local s = rnd(total)
    if not taken[s] then taken[s] = true; slots[#slots + 1] = s end
  end
  local out, p, q = {}, 1, 1
  for pos = 1, total do
    if taken[pos] then
      out[pos] = promoted[p]; p = p + 1
    else
      out[pos] = rest[q]; q = q + 1
    end
  end
  return out
end

-- Trending-Now recommends the same trending items to everyone: AWS's own
-- trending-now sample asks for them with a campaign ARN and numResults
-- only (amazon-personalize-samples,
-- next_steps/core_use_cases/trending_now/trending_now_example.ipynb), and
-- a userId is needed only by a filter that reads the user.
local function user_optional(recipe_arn)
  return tostring(recipe_arn):find("trending%-now$") ~= nil
end

-- Why a USER_PERSONALIZATION request without userId is refused, or nil.
local function user_needed(eng, holder, params)
  if not user_optional(holder.recipeArn) then
    return "userId is required for a USER_PERSONALIZATION recipe (" .. holder.recipeArn .. ")"
  end
  local f = params.filterArn and eng.store.resources[params.filterArn]
  local ast = f and f._kind == "filter" and filter_expr.parse(f.filterExpression)
  if ast and filter_expr.needs_user(ast) then
    return fmt("userId is required: filter %s reads the user's data", params.filterArn)
  end
  return nil
end

local handlers = {}

function handlers.GetRecommendations(eng, params)
  local holder, model, recipe, r = source(eng, params)
  if not holder then return err(model, recipe) end
  local n = params.numResults or 25
  local max = params.metadataColumns and next(params.metadataColumns) and MAX_WITH_METADATA or MAX_RESULTS
  if n < 0 or n > max then
    return err("InvalidInputException", fmt("numResults must be from 0 to %d%s, got %s", max,
      max == MAX_WITH_METADATA and " when metadataColumns are asked for" or "", tostring(n)))
  end
  local rtype = recipe and recipe.recipeType
  if rtype == "RELATED_ITEMS" and not params.itemId then
    return err("InvalidInputException", "itemId is required for a RELATED_ITEMS recipe (" .. holder.recipeArn .. ")")
  end
  if rtype == "USER_PERSONALIZATION" and not params.userId then
    local why = user_needed(eng, holder, params)
    if why then return err("InvalidInputException", why) end
  end
  if rtype == "PERSONALIZED_RANKING" then
    return err("InvalidInputException", "a PERSONALIZED_RANKING campaign answers get_personalized_ranking, not get_recommendations")
  end
  if rtype == "PERSONALIZED_ACTIONS" then
    return err("InvalidInputException", "a PERSONALIZED_ACTIONS campaign answers get_action_recommendations, not get_recommendations")
  end
  local ctx, keep, meta = request_context(eng, holder, r, params)
  if not ctx then return err(keep, meta) end
  local request = {
    userId = params.userId, itemId = params.itemId, numResults = n, context = params.context,
    history = jobs.history(eng, holder, params.userId),
    exploration = jobs.exploration(config_of(r).itemExplorationConfig),
    keep = keep ~= true and keep or nil,
  }
  local promo = params.promotions and params.promotions[1]
  local promoted = {}
  if promo and n > 0 then
    if not promo.filterArn then return err("InvalidInputException", "promotions[1].filterArn is required") end
    local promo_keep, code, msg = predicate(eng, holder, ctx, promo.filterArn, promo.filterValues)
    if not promo_keep then return err(code, msg) end
    local share = math.floor(n * (tonumber(promo.percentPromotedItems) or 0) / 100 + 0.5)
    if share > 0 then
      -- Promoted items meet the promotion's filter only; the request's
      -- filter shapes the rest ("the remaining recommended items would
      -- continue to be relevant recommendations based on your recipe and
      -- any request filters": Promoting items in real-time recommendations).
      local preq = {}
      for k, v in pairs(request) do preq[k] = v end
      preq.keep, preq.numResults = promo_keep, share
      local recs, why = training.recommend(holder.recipeArn, model, preq)
      if not recs then return err("InvalidInputException", why) end
      for i = 1, math.min(share, #recs) do
        promoted[i] = { itemId = recs[i].itemId, score = recs[i].score, promotionName = promo.name }
      end
    end
  end
  local seen = {}
  for _, p in ipairs(promoted) do seen[p.itemId] = true end
  local rest_keep = request.keep
  if #promoted > 0 then
    local main = request.keep
    rest_keep = function(id) return not seen[id] and (not main or main(id)) end
  end
  request.keep = rest_keep
  request.numResults = n - #promoted
  local recs = {}
  if request.numResults > 0 then
    local why
    recs, why = training.recommend(holder.recipeArn, model, request)
    if not recs then return err("InvalidInputException", why) end
  end
  local rest = {}
  for _, rec in ipairs(recs) do
    if #rest >= n - #promoted then break end
    if not seen[rec.itemId] then rest[#rest + 1] = { itemId = rec.itemId, score = rec.score } end
  end
  local list = rest
  if #promoted > 0 then
    list = merge_promoted(promoted, rest, n,
      tostring(params.userId) .. "\0" .. tostring(params.itemId) .. "\0" .. tostring(promo.name))
  end
  add_metadata(list, meta)
  return { itemList = list, recommendationId = "RID-" .. request_id(eng) }
end

-- Rankings keep every input item: those the filter leaves out go to the
-- end (in the model's order), as do items the model does not know.
function handlers.GetPersonalizedRanking(eng, params)
  local holder, model, recipe, r = source(eng, params)
  if not holder then return err(model, recipe) end
  if not recipe or recipe.recipeType ~= "PERSONALIZED_RANKING" then
    return err("InvalidInputException", fmt("get_personalized_ranking needs a PERSONALIZED_RANKING campaign; %s uses %s",
      params.campaignArn, tostring(holder.recipeArn)))
  end
  local with_meta = params.metadataColumns and next(params.metadataColumns)
  if with_meta and #params.inputList > MAX_RANKING_WITH_METADATA then
    return err("InvalidInputException", fmt("inputList has %d items; the maximum with metadataColumns is %d",
      #params.inputList, MAX_RANKING_WITH_METADATA))
  end
  local ctx, keep, meta = request_context(eng, holder, r, params)
  if not ctx then return err(keep, meta) end
  if keep == true then keep = nil end
  local recs, why = training.recommend(holder.recipeArn, model, {
    userId = params.userId, inputList = params.inputList, numResults = #params.inputList,
    context = params.context, history = jobs.history(eng, holder, params.userId),
    exploration = jobs.exploration(config_of(r).itemExplorationConfig) })
  if not recs then return err("InvalidInputException", why) end
  local first, last, seen = {}, {}, {}
  for _, rec in ipairs(recs) do
    if not seen[rec.itemId] then
      seen[rec.itemId] = true
      local into = (not keep or keep(rec.itemId)) and first or last
      into[#into + 1] = { itemId = rec.itemId, score = rec.score }
    end
  end
  for _, id in ipairs(params.inputList) do
    if not seen[id] then
      seen[id] = true
      last[#last + 1] = { itemId = id }
    end
  end
  for _, rec in ipairs(last) do first[#first + 1] = rec end
  add_metadata(first, meta)
  return { personalizedRanking = first, recommendationId = "RID-" .. request_id(eng) }
end

function handlers.GetActionRecommendations(eng, params)
  local holder, model, recipe = source(eng, params)
  if not holder then return err(model, recipe) end
  if not recipe or recipe.recipeType ~= "PERSONALIZED_ACTIONS" then
    return err("InvalidInputException", fmt("get_action_recommendations needs a PERSONALIZED_ACTIONS campaign; %s uses %s",
      params.campaignArn, tostring(holder.recipeArn)))
  end
  local keep
  if params.filterArn then
    local ctx = filter_ctx(eng, holder, params)
    ctx.subject = "ActionID"
    local code, msg
    keep, code, msg = predicate(eng, holder, ctx, params.filterArn, params.filterValues)
    if not keep then return err(code, msg) end
  end
  local recs, why = training.recommend(holder.recipeArn, model, { userId = params.userId,
    numResults = params.numResults or 5, keep = keep })
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
-- the whole call and nothing is written. Fields named in `optional` may be
-- left out even when the schema does not allow null.
local function append_all(eng, ds, records, optional)
  local fields, problem = jobs.dataset_fields(eng, ds)
  if not fields then return err("InvalidInputException", problem) end
  if optional then
    local relaxed = {}
    for i, f in ipairs(fields) do
      if optional[f.name] and not f.nullable then
        local copy = {}
        for k, v in pairs(f) do copy[k] = v end
        copy.nullable = true
        f = copy
      end
      relaxed[i] = f
    end
    fields = relaxed
  end
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

-- values[name] = v unless v is absent: a member the request leaves out
-- must not erase the same field sent in properties (the developer guide's
-- put_events example sends the item id as properties {"itemId": ...}).
local function set_present(values, name, v)
  if v ~= nil then values[name] = v end
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

-- The records of the list params[member]: each element's properties,
-- then what fill(values, element) sets from its members. Returns them, or
-- nil and why (an InvalidInputException).
local function records_of(params, member, fill)
  local records = {}
  for i, x in ipairs(params[member]) do
    local where = fmt("%s[%d]", member, i)
    local props, perr = decode_properties(x.properties, where)
    if not props then return nil, perr end
    local values, names = with_properties({}, props)
    fill(values, x)
    records[i] = { values = values, where = where, props = names }
  end
  return records
end

function handlers.PutEvents(eng, params)
  local ds, code, msg = tracker_dataset(eng, params.trackingId, "INTERACTIONS")
  if not ds then return err(code, msg) end
  local records, perr = records_of(params, "eventList", function(values, e)
    set_present(values, "USER_ID", params.userId or params.sessionId)
    set_present(values, "ITEM_ID", e.itemId)
    values.TIMESTAMP = math.floor(e.sentAt)
    set_present(values, "EVENT_TYPE", e.eventType)
    set_present(values, "EVENT_VALUE", e.eventValue)
    set_present(values, "RECOMMENDATION_ID", e.recommendationId)
    if type(e.impression) == "table" and #e.impression > 0 then
      values.IMPRESSION = table.concat(e.impression, "|") -- the bulk CSV's form
    end
  end)
  if not records then return err("InvalidInputException", perr) end
  -- `impression` is optional in every event (API reference, Event:
  -- "Required: No"; a recommendationId records implicit impressions), and
  -- AWS's exploration notebook sends clicks without one to a schema whose
  -- IMPRESSION field is a non-null string.
  return append_all(eng, ds, records, { IMPRESSION = true })
end

local function put_entities(eng, params, list_member, dtype, id_member, id_field)
  local ds, code, msg = typed_dataset(eng, params.datasetArn, dtype)
  if not ds then return err(code, msg) end
  local records, perr = records_of(params, list_member, function(values, x)
    set_present(values, id_field, x[id_member])
  end)
  if not records then return err("InvalidInputException", perr) end
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
  local records, perr = records_of(params, "actionInteractions", function(values, a)
    set_present(values, "USER_ID", a.userId or a.sessionId)
    set_present(values, "ACTION_ID", a.actionId)
    values.TIMESTAMP = math.floor(a.timestamp)
    set_present(values, "EVENT_TYPE", a.eventType)
    set_present(values, "RECOMMENDATION_ID", a.recommendationId)
  end)
  if not records then return err("InvalidInputException", perr) end
  return append_all(eng, ds, records)
end

function _M.handler(op)
  return handlers[op]
end

return _M
