-- The control-plane operations of personalize-local: every Create,
-- Describe, List, Update, Delete, Start/Stop and tag operation of the
-- `personalize` service, over the resources kept in the store.
--
--   local handler = resources.handler(op_name)   -- nil when not here
--   local result, code, message = handler(eng, params)
--   changed, delay = resources.tick(eng, now)    -- the lifecycle machine
--   n = resources.recover(eng)                   -- when the engine opens
--
-- Resources are plain records with the API's member names plus internal
-- fields (_kind, _seq, _due, _id) the wire never sees: responses are
-- encoded through the model, which writes only the shape's members.
-- Lifecycles are driven by resources.tick(eng, now): each status moves to
-- the next when its time is due; reaching the end of "IN_PROGRESS" hands the
-- kind's work (import, training, ...) to the engine's runner
-- (engine.job_runner), off the request path; the record stays IN_PROGRESS
-- (r._job) until the work's result applies.
--
-- The parts, under personalize.engine.resources.*:
--   resources/records.lua    the kinds (KINDS) and their records: find,
--                            create, status, tags, removal, list pages
--   resources/create.lua     the Create* operations
--   resources/lifecycle.lua  the lifecycle machine (tick, recover)
-- This module holds the other operations and finds an operation's handler.
local recipes = require "personalize.engine.recipes"
local records = require "personalize.engine.resources.records"
local create = require "personalize.engine.resources.create"
local lifecycle = require "personalize.engine.resources.lifecycle"

local type, tostring, pairs, ipairs, concat, fmt = type, tostring, pairs, ipairs, table.concat, string.format
local KINDS, BY_API, err, not_found = records.KINDS, records.BY_API, records.err, records.not_found
local find, set_status = records.find, records.set_status
local set_tags, children, destroy, page = records.set_tags, records.children, records.destroy, records.page
local creators, campaign_config = create.creators, create.campaign_config

local _M = {}

_M.KINDS, _M.DATASET_TYPES = records.KINDS, records.DATASET_TYPES
_M.arn, _M.find, _M.hex_id, _M.uuid = records.arn, records.find, records.hex_id, records.uuid
_M.new_record, _M.set_status, _M.destroy, _M.page = records.new_record, records.set_status, records.destroy, records.page
_M.tick, _M.recover = lifecycle.tick, lifecycle.recover

local function delete(eng, kind, arn)
  local r, code, msg = find(eng, kind, arn)
  if not r then return err(code, msg) end
  local status = r.status or "ACTIVE"
  if status:find("PENDING$") or status:find("IN_PROGRESS$") or status:find("IN PROGRESS$") then
    return err("ResourceInUseException", fmt("%s %s is %s; wait until it is ACTIVE or failed", KINDS[kind].api, arn, status))
  end
  local used = children(eng, r)
  if #used > 0 then
    return err("ResourceInUseException", fmt("%s %s is in use by: %s", KINDS[kind].api, arn, concat(used, ", ")))
  end
  if not KINDS[kind].flow then
    destroy(eng, r)
  else
    set_status(eng, r, "DELETE PENDING", eng.timings.pending)
  end
  return {}
end

local function describe(eng, kind, arn)
  local r, code, msg = find(eng, kind, arn)
  if not r then return err(code, msg) end
  if kind == "solution" then
    local latest
    for _, v in ipairs(eng.store:list("solution_version", function(v) return v.solutionArn == arn end)) do
      latest = v
    end
    r.latestSolutionVersion = latest and {
      solutionVersionArn = latest.solutionVersionArn, status = latest.status,
      trainingMode = latest.trainingMode, trainingType = latest.trainingType,
      creationDateTime = latest.creationDateTime, lastUpdatedDateTime = latest.lastUpdatedDateTime,
      failureReason = latest.failureReason } or nil
  end
  return { [KINDS[kind].out] = r }
end


local function list(eng, kind, params)
  local def = KINDS[kind]
  local scope = def.parent and params[def.parent]
  if scope and not eng.store.resources[scope] then
    return not_found(def.parent:gsub("Arn$", ""), scope)
  end
  local items = eng.store:list(kind, function(r)
    if scope and r[def.parent] ~= scope then return false end
    if kind == "schema" and params.domain and r.domain ~= params.domain then return false end
    return true
  end)
  -- Newest first, as the service lists them.
  local n = #items
  for i = 1, math.floor(n / 2) do items[i], items[n - i + 1] = items[n - i + 1], items[i] end
  return page(eng, items, params, def.list)
end

-- Operations outside the Create/Describe/List/Delete pattern.
local special = {}

function special.ListRecipes(eng, params)
  if params.recipeProvider and params.recipeProvider ~= "SERVICE" then
    return err("InvalidInputException", "recipeProvider must be SERVICE")
  end
  return page(eng, recipes.list(params.domain), params, "recipes")
end

-- DescribeRecipe, DescribeAlgorithm, DescribeFeatureTransformation: the
-- records of engine.recipes' catalog.
for op, d in pairs {
  DescribeRecipe = { recipes.get, "recipeArn", "recipe", "recipe" },
  DescribeAlgorithm = { recipes.algorithm, "algorithmArn", "algorithm", "algorithm" },
  DescribeFeatureTransformation = { recipes.feature_transformation, "featureTransformationArn",
                                    "featureTransformation", "feature transformation" },
} do
  local get, key, member, what = d[1], d[2], d[3], d[4]
  special[op] = function(_, params)
    local rec = get(params[key])
    if not rec then return not_found(what, params[key]) end
    return { [member] = rec }
  end
end

function special.GetSolutionMetrics(eng, params)
  local sv, code, msg = find(eng, "solution_version", params.solutionVersionArn)
  if not sv then return err(code, msg) end
  if sv.status ~= "ACTIVE" then
    return err("ResourceInUseException", fmt("Solution version %s is %s: metrics exist once it is ACTIVE",
      sv.solutionVersionArn, tostring(sv.status)))
  end
  return { solutionVersionArn = sv.solutionVersionArn, metrics = sv._metrics or {} }
end

-- Moves the record of `kind` at `arn` to status `to` (for
-- timings.pending) when its status is one of `from`; else
-- ResourceInUseException with `refusal` (formatted with its ARN and status).
local function transition(eng, kind, arn, from, to, refusal)
  local r, code, msg = find(eng, kind, arn)
  if not r then return err(code, msg) end
  if not from[r.status] then
    return err("ResourceInUseException", fmt(refusal, arn, tostring(r.status)))
  end
  set_status(eng, r, to, eng.timings.pending)
  return r
end

function special.StopSolutionVersionCreation(eng, params)
  local sv, code, msg = transition(eng, "solution_version", params.solutionVersionArn,
    { ["CREATE PENDING"] = true, ["CREATE IN_PROGRESS"] = true }, "CREATE STOPPING",
    "Solution version %s is %s: only a version being created can be stopped")
  if not sv then return err(code, msg) end
  return {}
end

-- StartRecommender and StopRecommender: a transition of the recommender.
local function recommender_transition(from, to, refusal)
  return function(eng, params)
    local r, code, msg = transition(eng, "recommender", params.recommenderArn, from, to, refusal)
    if not r then return err(code, msg) end
    return { recommenderArn = r.recommenderArn }
  end
end

special.StartRecommender = recommender_transition({ INACTIVE = true }, "START PENDING",
  "Recommender %s is %s; only an INACTIVE recommender can be started")
special.StopRecommender = recommender_transition({ ACTIVE = true }, "STOP PENDING",
  "Recommender %s is %s; only an ACTIVE recommender can be stopped")

-- An update: the record's latest*Update summary goes through UPDATE
-- PENDING and IN_PROGRESS; the new settings apply when it is done.
local function start_update(eng, r, summary_member, settings)
  local now = eng.now()
  local summary = { status = "UPDATE PENDING", creationDateTime = now, lastUpdatedDateTime = now }
  for k, v in pairs(settings) do summary[k] = v end
  r[summary_member] = summary
  r._update = { member = summary_member, settings = settings }
  set_status(eng, r, "UPDATE PENDING", eng.timings.pending)
end

function special.UpdateCampaign(eng, params)
  local c, code, msg = find(eng, "campaign", params.campaignArn)
  if not c then return err(code, msg) end
  if c.status ~= "ACTIVE" then
    return err("ResourceInUseException", fmt("Campaign %s is %s; it can be updated once ACTIVE", c.campaignArn, tostring(c.status)))
  end
  if params.solutionVersionArn then
    local sv
    sv, code, msg = records.find_usable(eng, "solution_version", params.solutionVersionArn, "Solution version")
    if not sv then return err(code, msg) end
    if sv.solutionArn ~= c.solutionArn then
      return err("InvalidInputException", fmt("Solution version %s belongs to another solution than campaign %s",
        sv.solutionVersionArn, c.campaignArn))
    end
  end
  local config, problem = campaign_config(params)
  if not config then return err("InvalidInputException", problem) end
  start_update(eng, c, "latestCampaignUpdate", {
    solutionVersionArn = params.solutionVersionArn or c.solutionVersionArn,
    minProvisionedTPS = params.minProvisionedTPS or c.minProvisionedTPS,
    campaignConfig = params.campaignConfig or c.campaignConfig,
  })
  return { campaignArn = c.campaignArn }
end

function special.UpdateDataset(eng, params)
  local ds, code, msg = find(eng, "dataset", params.datasetArn)
  if not ds then return err(code, msg) end
  local schema
  schema, code, msg = find(eng, "schema", params.schemaArn)
  if not schema then return err(code, msg) end
  local ok, problem = eng.check_schema(schema.schema, ds.datasetType)
  if not ok then return err("InvalidInputException", "Invalid schema for this dataset: " .. problem) end
  if ds.status ~= "ACTIVE" then
    return err("ResourceInUseException", fmt("Dataset %s is %s", ds.datasetArn, tostring(ds.status)))
  end
  start_update(eng, ds, "latestDatasetUpdate", { schemaArn = params.schemaArn })
  return { datasetArn = ds.datasetArn }
end

-- The record of `kind` at `arn` when it is ACTIVE, else
-- ResourceInUseException (or not found).
local function find_active(eng, kind, arn)
  local r, code, msg = find(eng, kind, arn)
  if not r then return err(code, msg) end
  if r.status ~= "ACTIVE" then
    return err("ResourceInUseException", fmt("%s %s is %s", KINDS[kind].api, arn, tostring(r.status)))
  end
  return r
end

function special.UpdateSolution(eng, params)
  local s, code, msg = find_active(eng, "solution", params.solutionArn)
  if not s then return err(code, msg) end
  start_update(eng, s, "latestSolutionUpdate", {
    performAutoTraining = params.performAutoTraining, performIncrementalUpdate = params.performIncrementalUpdate,
    solutionUpdateConfig = params.solutionUpdateConfig })
  return { solutionArn = s.solutionArn }
end

function special.UpdateRecommender(eng, params)
  local r, code, msg = find_active(eng, "recommender", params.recommenderArn)
  if not r then return err(code, msg) end
  start_update(eng, r, "latestRecommenderUpdate", { recommenderConfig = params.recommenderConfig })
  return { recommenderArn = r.recommenderArn }
end

function special.UpdateMetricAttribution(eng, params)
  local m, code, msg = find(eng, "metric_attribution", params.metricAttributionArn)
  if not m then return err(code, msg) end
  local metrics = {}
  for _, x in ipairs(m._metrics or {}) do metrics[#metrics + 1] = x end
  local remove = {}
  for _, name in ipairs(params.removeMetrics or {}) do remove[name] = true end
  local kept = {}
  for _, x in ipairs(metrics) do if not remove[x.metricName] then kept[#kept + 1] = x end end
  for _, x in ipairs(params.addMetrics or {}) do kept[#kept + 1] = x end
  if #kept > 10 then return err("LimitExceededException", "a metric attribution has at most 10 metrics") end
  m._metrics = kept
  start_update(eng, m, "_latestUpdate", { metricsOutputConfig = params.metricsOutputConfig or m.metricsOutputConfig })
  return { metricAttributionArn = m.metricAttributionArn }
end

function special.ListMetricAttributionMetrics(eng, params)
  local m, code, msg = find(eng, "metric_attribution", params.metricAttributionArn)
  if not m then return err(code, msg) end
  return page(eng, m._metrics or {}, params, "metrics")
end

local function any_resource(eng, arn)
  local r = type(arn) == "string" and eng.store.resources[arn]
  if not r then return not_found("resource", arn) end
  return r
end

function special.TagResource(eng, params)
  local r, code, msg = any_resource(eng, params.resourceArn)
  if not r then return err(code, msg) end
  local ok
  ok, code, msg = set_tags(eng, params.resourceArn, params.tags)
  if not ok then return err(code, msg) end
  return {}
end

function special.UntagResource(eng, params)
  local r, code, msg = any_resource(eng, params.resourceArn)
  if not r then return err(code, msg) end
  if #params.tagKeys > 50 then return err("TooManyTagKeysException", "at most 50 tag keys per call") end
  local drop = {}
  for _, k in ipairs(params.tagKeys) do drop[k] = true end
  local kept = {}
  for _, t in ipairs(eng.store.tags[params.resourceArn] or {}) do
    if not drop[t.tagKey] then kept[#kept + 1] = t end
  end
  eng.store.tags[params.resourceArn] = kept
  return {}
end

function special.ListTagsForResource(eng, params)
  local r, code, msg = any_resource(eng, params.resourceArn)
  if not r then return err(code, msg) end
  return { tags = eng.store.tags[params.resourceArn] or {} }
end

-- The handler for control-plane operation `op` (its API name), or nil.
function _M.handler(op)
  if special[op] then return special[op] end
  local verb, noun = op:match("^(%u%l+)(%u.*)$")
  if not verb then return nil end
  if verb == "Create" and creators[noun] then return creators[noun] end
  local def = BY_API[noun]
  if verb == "Describe" and def then
    return function(eng, params) return describe(eng, def.kind, params[def.key]) end
  end
  if verb == "Delete" and def then
    return function(eng, params) return delete(eng, def.kind, params[def.key]) end
  end
  if verb == "List" then
    local singular = BY_API[noun:gsub("s$", "")]
    if singular then return function(eng, params) return list(eng, singular.kind, params) end end
  end
  return nil
end

return _M
