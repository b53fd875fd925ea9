-- The control-plane operations of personalize-local: every Create,
-- Describe, List, Update, Delete, Start/Stop and tag operation of the
-- `personalize` service, over the resources kept in the store.
--
--   local handler = resources.handler(op_name)   -- nil when not here
--   local result, code, message = handler(eng, params)
--
-- Resources are plain records with the API's member names plus internal
-- fields (_kind, _seq, _due, _id) the wire never sees: responses are
-- encoded through the model, which writes only the shape's members.
-- Lifecycles are driven by resources.tick(eng, now): each status moves to
-- the next when its time is due; reaching the end of "IN_PROGRESS" hands the
-- kind's work (import, training, ...) to the engine's runner
-- (engine.job_runner), off the request path; the record stays IN_PROGRESS
-- (r._job) until the work's result applies.
local core = require "personalize.core"
local recipes = require "personalize.engine.recipes"
local jobs = require "personalize.engine.jobs"
local job_runner = require "personalize.engine.job_runner"
local filter_expr = require "personalize.engine.filter_expression"

local pairs, ipairs, type, tostring, tonumber = pairs, ipairs, type, tostring, tonumber
local sort, concat = table.sort, table.concat
local fmt = string.format

local _M = {}

-- What the API calls each resource, and how its records are found.
--   prefix: the ARN's resource type; key: the ARN member; out: the
--   Describe result member; list: the List result member; parent: the
--   member List* filters on; name: the name member; flow: the status path
--   (pending, in progress, success, failure); at_once: ACTIVE from the
--   Create call on; usable_pending: used by other calls while CREATE PENDING.
--
-- Lifecycles as AWS users see them. Schemas have no status. Solutions and
-- filters are ACTIVE at once: AWS's recorded runs describe a solution a
-- second after creating it as ACTIVE with lastUpdatedDateTime equal to
-- creationDateTime, and create its first version in the same second
-- (amazon-personalize-samples,
-- next_steps/core_use_cases/user_segmentation/user_segmentation_example.ipynb);
-- the developer guide's examples call CreateSolutionVersion right after
-- CreateSolution. Dataset groups and datasets are CREATE PENDING for a
-- moment (timings.pending), then ACTIVE: the API reference tells users to
-- wait for a dataset group, and recorded runs print "CREATE PENDING" then
-- "ACTIVE" for both; yet a dataset takes an import job at once (recorded:
-- POC_in_a_box/completed/02_Validating_and_Importing_Item_Metadata.ipynb
-- creates the Items dataset at 22:29:31 and its import job at 22:29:37,
-- with no wait). Event trackers too are CREATE PENDING for a moment, then
-- ACTIVE: AWS's code sleeps one minute after CreateEventTracker before
-- sending events (trending_now_example.ipynb) and deletes a tracker two
-- one-minute sleeps after creating it (getting_started 99.Cleanup, whose
-- sibling clean-up code deletes trackers only when ACTIVE). Imports,
-- exports, training, campaigns, recommenders, batch jobs and metric
-- attributions go through CREATE PENDING (timings.pending) and
-- IN_PROGRESS (timings.in_progress).
local CREATE = { "CREATE PENDING", "CREATE IN_PROGRESS", "ACTIVE", "CREATE FAILED" }
-- A moment of CREATE PENDING, then ACTIVE (the second ACTIVE step only
-- waits and does nothing).
local BRIEF = { "CREATE PENDING", "ACTIVE", "ACTIVE", "CREATE FAILED" }
local BATCH = { "PENDING", "IN PROGRESS", "ACTIVE", "CREATE FAILED" }
local DELETION = { "PENDING", "IN_PROGRESS", "COMPLETED", "FAILED" }

local KINDS = {
  schema = { api = "Schema", prefix = "schema", key = "schemaArn", out = "schema", list = "schemas" },
  dataset_group = { api = "DatasetGroup", prefix = "dataset-group", key = "datasetGroupArn",
                    out = "datasetGroup", list = "datasetGroups", flow = BRIEF },
  dataset = { api = "Dataset", key = "datasetArn", out = "dataset", list = "datasets",
              parent = "datasetGroupArn", flow = BRIEF, usable_pending = true },
  dataset_import_job = { api = "DatasetImportJob", prefix = "dataset-import-job", key = "datasetImportJobArn",
                         out = "datasetImportJob", list = "datasetImportJobs", parent = "datasetArn",
                         name = "jobName", flow = CREATE, work = "import" },
  dataset_export_job = { api = "DatasetExportJob", prefix = "dataset-export-job", key = "datasetExportJobArn",
                         out = "datasetExportJob", list = "datasetExportJobs", parent = "datasetArn",
                         name = "jobName", flow = CREATE, work = "export" },
  data_deletion_job = { api = "DataDeletionJob", prefix = "data-deletion-job", key = "dataDeletionJobArn",
                        out = "dataDeletionJob", list = "dataDeletionJobs", parent = "datasetGroupArn",
                        name = "jobName", flow = DELETION, work = "delete_data" },
  event_tracker = { api = "EventTracker", prefix = "event-tracker", key = "eventTrackerArn",
                    out = "eventTracker", list = "eventTrackers", parent = "datasetGroupArn", flow = BRIEF },
  filter = { api = "Filter", prefix = "filter", key = "filterArn", out = "filter", list = "Filters",
             parent = "datasetGroupArn", flow = CREATE, at_once = true },
  solution = { api = "Solution", prefix = "solution", key = "solutionArn", out = "solution",
               list = "solutions", parent = "datasetGroupArn", flow = CREATE, at_once = true },
  solution_version = { api = "SolutionVersion", key = "solutionVersionArn", out = "solutionVersion",
                       list = "solutionVersions", parent = "solutionArn", flow = CREATE, work = "train" },
  campaign = { api = "Campaign", prefix = "campaign", key = "campaignArn", out = "campaign",
               list = "campaigns", parent = "solutionArn", flow = CREATE, work = "deploy" },
  recommender = { api = "Recommender", prefix = "recommender", key = "recommenderArn", out = "recommender",
                  list = "recommenders", parent = "datasetGroupArn", flow = CREATE, work = "train" },
  batch_inference_job = { api = "BatchInferenceJob", prefix = "batch-inference-job", key = "batchInferenceJobArn",
                          out = "batchInferenceJob", list = "batchInferenceJobs", parent = "solutionVersionArn",
                          name = "jobName", flow = BATCH, work = "batch_inference" },
  batch_segment_job = { api = "BatchSegmentJob", prefix = "batch-segment-job", key = "batchSegmentJobArn",
                        out = "batchSegmentJob", list = "batchSegmentJobs", parent = "solutionVersionArn",
                        name = "jobName", flow = BATCH, work = "batch_segment" },
  metric_attribution = { api = "MetricAttribution", prefix = "metric-attribution", key = "metricAttributionArn",
                         out = "metricAttribution", list = "metricAttributions", parent = "datasetGroupArn",
                         flow = CREATE },
}
_M.KINDS = KINDS
for kind, def in pairs(KINDS) do
  def.kind = kind
  def.name = def.name or "name"
end
local BY_API = {}
for _, def in pairs(KINDS) do BY_API[def.api] = def end

-- Status transitions that only wait: status -> next status.
local WAITS = {
  ["DELETE PENDING"] = "DELETE IN_PROGRESS", ["DELETE IN_PROGRESS"] = false,
  ["UPDATE PENDING"] = "UPDATE IN_PROGRESS",
  ["CREATE STOPPING"] = "CREATE STOPPED",
  ["STOP PENDING"] = "STOP IN_PROGRESS", ["STOP IN_PROGRESS"] = "INACTIVE",
  ["START PENDING"] = "START IN_PROGRESS", ["START IN_PROGRESS"] = "ACTIVE",
}

local DATASET_TYPES = { interactions = "INTERACTIONS", items = "ITEMS", users = "USERS",
                        actions = "ACTIONS", action_interactions = "ACTION_INTERACTIONS" }
_M.DATASET_TYPES = DATASET_TYPES

local function err(code, message) return nil, code, message end

local function not_found(what, arn)
  return err("ResourceNotFoundException", fmt("Could not find %s with ARN %s", what, tostring(arn)))
end

function _M.arn(eng, rest)
  return fmt("arn:aws:personalize:%s:%s:%s", eng.region, eng.account_id, rest)
end

-- A record of `kind` by ARN, or nil, code, message.
local function find(eng, kind, arn)
  local r = arn and eng.store.resources[arn]
  if not r or r._kind ~= kind then
    return not_found(KINDS[kind].api:gsub("(%l)(%u)", "%1 %2"):lower(), arn)
  end
  return r
end
_M.find = find

local function is_active(r)
  return r.status == "ACTIVE" or (r.status or ""):find("^UPDATE") ~= nil
end

local function require_active(r, what)
  local pending = r.status == "CREATE PENDING" and KINDS[r._kind].usable_pending
  if not is_active(r) and not pending then
    return err("ResourceInUseException", fmt("%s %s is not ACTIVE (status %s)", what, r[KINDS[r._kind].key], tostring(r.status)))
  end
  return r
end

local function hex_id(eng, n)
  return core.sha256_hex(eng.salt .. ":" .. eng.store:next_seq() .. ":" .. eng.now()):sub(1, n)
end
_M.hex_id = hex_id

function _M.uuid(eng)
  local h = hex_id(eng, 32)
  return fmt("%s-%s-%s-%s-%s", h:sub(1, 8), h:sub(9, 12), h:sub(13, 16), h:sub(17, 20), h:sub(21, 32))
end

-- A new record of `kind` with ARN `arn`, saved by the caller's request.
local function new_record(eng, kind, arn, fields)
  local now = eng.now()
  local r = fields
  r._kind, r._seq = kind, eng.store:next_seq()
  r[KINDS[kind].key] = arn
  r.creationDateTime, r.lastUpdatedDateTime = now, now
  local def = KINDS[kind]
  local flow = def.flow
  if flow and def.at_once then
    r.status = flow[3]
  elseif flow then
    r.status = flow[1]
    r._due = now + eng.timings.pending
  end
  eng.store.resources[arn] = r
  return r
end
_M.new_record = new_record

local function set_status(eng, r, status, due_in)
  r.status = status
  r.lastUpdatedDateTime = eng.now()
  r._due = due_in and (eng.now() + due_in) or nil
end
_M.set_status = set_status

local function set_tags(eng, arn, tags)
  if type(tags) ~= "table" or #tags == 0 then return true end
  local current = eng.store.tags[arn] or {}
  local by_key, order = {}, {}
  for i, t in ipairs(current) do by_key[t.tagKey] = i; order[i] = t end
  for _, t in ipairs(tags) do
    if by_key[t.tagKey] then order[by_key[t.tagKey]] = t
    else order[#order + 1] = t; by_key[t.tagKey] = #order end
  end
  if #order > 50 then
    return err("TooManyTagsException", fmt("a resource can have at most 50 tags; %s would have %d", arn, #order))
  end
  eng.store.tags[arn] = order
  return true
end

-- Creates a resource after the kind's own checks; `arn` defaults to
-- <prefix>/<name>. Returns the record or nil, code, message.
local function create(eng, kind, params, fields, arn)
  local def = KINDS[kind]
  local name = params[def.name]
  arn = arn or _M.arn(eng, def.prefix .. "/" .. name)
  if eng.store.resources[arn] then
    return err("ResourceAlreadyExistsException", fmt("%s %s already exists", def.api, arn))
  end
  local r = new_record(eng, kind, arn, fields)
  local ok, code, msg = set_tags(eng, arn, params.tags)
  if not ok then
    eng.store.resources[arn] = nil
    return err(code, msg)
  end
  return r
end

local function copy_params(params, names)
  local out = {}
  for _, n in ipairs(names) do out[n] = params[n] end
  return out
end

-- Kind-specific create handlers: (eng, params) -> result table or nil, code, message.
local creators = {}

function creators.Schema(eng, params)
  local domain = params.domain
  local ok, problem = eng.check_schema(params.schema, nil, domain)
  if not ok then return err("InvalidInputException", "Invalid schema: " .. problem) end
  local r, code, msg = create(eng, "schema", params, copy_params(params, { "name", "schema", "domain" }))
  if not r then return err(code, msg) end
  return { schemaArn = r.schemaArn }
end

function creators.DatasetGroup(eng, params)
  local r, code, msg = create(eng, "dataset_group", params,
    copy_params(params, { "name", "domain", "roleArn", "kmsKeyArn" }))
  if not r then return err(code, msg) end
  return { datasetGroupArn = r.datasetGroupArn, domain = r.domain }
end

function creators.Dataset(eng, params)
  local group, code, msg = find(eng, "dataset_group", params.datasetGroupArn)
  if not group then return err(code, msg) end
  local schema
  schema, code, msg = find(eng, "schema", params.schemaArn)
  if not schema then return err(code, msg) end
  local dtype = DATASET_TYPES[tostring(params.datasetType):lower()]
  if not dtype then
    return err("InvalidInputException", fmt("datasetType %q is not one of Interactions, Items, Users, Actions, Action_Interactions",
      tostring(params.datasetType)))
  end
  local ok, problem = eng.check_schema(schema.schema, params.datasetType, group.domain)
  if not ok then
    return err("InvalidInputException", fmt("Schema %s cannot be used for a %s dataset: %s", schema.schemaArn, dtype, problem))
  end
  local arn = _M.arn(eng, fmt("dataset/%s/%s", group.name, dtype))
  if eng.store.resources[arn] then
    return err("ResourceAlreadyExistsException", fmt("Dataset group %s already has an %s dataset", group.datasetGroupArn, dtype))
  end
  local fields = copy_params(params, { "name", "schemaArn", "datasetGroupArn" })
  fields.datasetType = dtype
  fields._id = hex_id(eng, 16)
  local r
  r, code, msg = create(eng, "dataset", params, fields, arn)
  if not r then return err(code, msg) end
  return { datasetArn = r.datasetArn }
end

local function s3_location(s)
  return type(s) == "string" and s:match("^s3://([^/]+)/?(.*)$")
end

function creators.DatasetImportJob(eng, params)
  local ds, code, msg = find(eng, "dataset", params.datasetArn)
  if not ds then return err(code, msg) end
  local r
  r, code, msg = require_active(ds, "Dataset")
  if not r then return err(code, msg) end
  local loc = params.dataSource and params.dataSource.dataLocation
  if not s3_location(loc) then
    return err("InvalidInputException", fmt(
      "dataSource.dataLocation must be an s3://bucket/key or s3://bucket/prefix/ URL, got %q", tostring(loc)))
  end
  local mode = params.importMode or "FULL"
  if mode ~= "FULL" and mode ~= "INCREMENTAL" then
    return err("InvalidInputException", fmt("importMode must be FULL or INCREMENTAL, got %q", tostring(mode)))
  end
  for _, other in pairs(eng.store.resources) do
    if other._kind == "dataset_import_job" and other.datasetArn == ds.datasetArn
        and (other.status == "CREATE PENDING" or other.status == "CREATE IN_PROGRESS") then
      return err("ResourceInUseException", fmt("Dataset %s already has an import job in progress: %s",
        ds.datasetArn, other.datasetImportJobArn))
    end
  end
  local fields = copy_params(params, { "jobName", "datasetArn", "dataSource", "roleArn", "publishAttributionMetricsToS3" })
  fields.importMode = mode
  r, code, msg = create(eng, "dataset_import_job", params, fields)
  if not r then return err(code, msg) end
  return { datasetImportJobArn = r.datasetImportJobArn }
end

function creators.DatasetExportJob(eng, params)
  local ds, code, msg = find(eng, "dataset", params.datasetArn)
  if not ds then return err(code, msg) end
  local path = params.jobOutput and params.jobOutput.s3DataDestination and params.jobOutput.s3DataDestination.path
  if not s3_location(path) then
    return err("InvalidInputException", fmt("jobOutput.s3DataDestination.path must be an s3:// URL, got %q", tostring(path)))
  end
  local fields = copy_params(params, { "jobName", "datasetArn", "roleArn", "jobOutput" })
  fields.ingestionMode = params.ingestionMode or "PUT"
  local r
  r, code, msg = create(eng, "dataset_export_job", params, fields)
  if not r then return err(code, msg) end
  return { datasetExportJobArn = r.datasetExportJobArn }
end

function creators.DataDeletionJob(eng, params)
  local group, code, msg = find(eng, "dataset_group", params.datasetGroupArn)
  if not group then return err(code, msg) end
  local loc = params.dataSource and params.dataSource.dataLocation
  if not s3_location(loc) then
    return err("InvalidInputException", fmt("dataSource.dataLocation must be an s3:// URL, got %q", tostring(loc)))
  end
  local r
  r, code, msg = create(eng, "data_deletion_job", params,
    copy_params(params, { "jobName", "datasetGroupArn", "dataSource", "roleArn" }))
  if not r then return err(code, msg) end
  return { dataDeletionJobArn = r.dataDeletionJobArn }
end

function creators.EventTracker(eng, params)
  local group, code, msg = find(eng, "dataset_group", params.datasetGroupArn)
  if not group then return err(code, msg) end
  for _, other in pairs(eng.store.resources) do
    if other._kind == "event_tracker" and other.datasetGroupArn == group.datasetGroupArn then
      return err("LimitExceededException", fmt("Dataset group %s already has an event tracker (%s); the limit is 1",
        group.datasetGroupArn, other.eventTrackerArn))
    end
  end
  local fields = copy_params(params, { "name", "datasetGroupArn" })
  fields.trackingId = _M.uuid(eng)
  fields.accountId = eng.account_id
  local r
  r, code, msg = create(eng, "event_tracker", params, fields, _M.arn(eng, "event-tracker/" .. hex_id(eng, 8)))
  if not r then return err(code, msg) end
  return { eventTrackerArn = r.eventTrackerArn, trackingId = r.trackingId }
end

function creators.Filter(eng, params)
  local group, code, msg = find(eng, "dataset_group", params.datasetGroupArn)
  if not group then return err(code, msg) end
  local ast, problem = filter_expr.parse(params.filterExpression)
  if ast then
    local sets = jobs.group_datasets(eng, group.datasetGroupArn)
    problem = select(2, filter_expr.check_fields(ast, function(dtype)
      local ds = sets[dtype]
      local fields = ds and jobs.dataset_fields(eng, ds)
      if not fields then return nil end
      local set = {}
      for _, f in ipairs(fields) do set[f.name] = true end
      return set
    end))
  end
  if problem then return err("InvalidInputException", "Invalid filter expression: " .. problem) end
  local r
  r, code, msg = create(eng, "filter", params, copy_params(params, { "name", "datasetGroupArn", "filterExpression" }))
  if not r then return err(code, msg) end
  return { filterArn = r.filterArn }
end

local function check_recipe(arn, want_domain)
  local recipe = recipes.get(arn)
  if not recipe then
    return err("ResourceNotFoundException", fmt("Could not find recipe with ARN %s", tostring(arn)))
  end
  if want_domain ~= nil and (recipe.domain ~= nil) ~= want_domain then
    return err("InvalidInputException", want_domain
      and fmt("Recipe %s is not a domain recipe: recommenders use a domain use case", arn)
      or fmt("Recipe %s is a domain use case: use it with create_recommender", arn))
  end
  local module, why = recipes.module(arn)
  if not module then return err("InvalidInputException", why) end
  return recipe
end

function creators.Solution(eng, params)
  local group, code, msg = find(eng, "dataset_group", params.datasetGroupArn)
  if not group then return err(code, msg) end
  if params.performAutoML then
    return err("InvalidInputException", "performAutoML is not supported: choose a recipe with recipeArn")
  end
  if not params.recipeArn then
    return err("InvalidInputException", "recipeArn is required (list the recipes with list_recipes)")
  end
  local ok
  ok, code, msg = check_recipe(params.recipeArn, false)
  if not ok then return err(code, msg) end
  local fields = copy_params(params, { "name", "datasetGroupArn", "recipeArn", "eventType", "solutionConfig",
    "performAutoTraining", "performIncrementalUpdate" })
  fields.performHPO = params.performHPO or false
  fields.performAutoML = false
  local r
  r, code, msg = create(eng, "solution", params, fields)
  if not r then return err(code, msg) end
  return { solutionArn = r.solutionArn }
end

function creators.SolutionVersion(eng, params)
  local sol, code, msg = find(eng, "solution", params.solutionArn)
  if not sol then return err(code, msg) end
  local ok
  ok, code, msg = require_active(sol, "Solution")
  if not ok then return err(code, msg) end
  local mode = params.trainingMode or "FULL"
  if mode ~= "FULL" and mode ~= "UPDATE" and mode ~= "AUTOTRAIN" then
    return err("InvalidInputException", fmt("trainingMode must be FULL, UPDATE or AUTOTRAIN, got %q", tostring(mode)))
  end
  local id = hex_id(eng, 8)
  local fields = { name = params.name, solutionArn = sol.solutionArn, recipeArn = sol.recipeArn,
    datasetGroupArn = sol.datasetGroupArn, eventType = sol.eventType, solutionConfig = sol.solutionConfig,
    performHPO = sol.performHPO, performAutoML = sol.performAutoML, trainingMode = mode,
    trainingType = "MANUAL", _id = id }
  local r
  r, code, msg = create(eng, "solution_version", params, fields, sol.solutionArn .. "/" .. id)
  if not r then return err(code, msg) end
  return { solutionVersionArn = r.solutionVersionArn }
end

local function campaign_config(params)
  local c = params.campaignConfig or {}
  local e = c.itemExplorationConfig
  if e then
    local w = tonumber(e.explorationWeight or "0.3")
    if not w or w < 0 or w > 1 then
      return nil, "campaignConfig.itemExplorationConfig.explorationWeight must be a number from 0 to 1"
    end
  end
  return c
end

function creators.Campaign(eng, params)
  local sv, code, msg = find(eng, "solution_version", params.solutionVersionArn)
  if not sv then return err(code, msg) end
  local ok
  ok, code, msg = require_active(sv, "Solution version")
  if not ok then return err(code, msg) end
  local config, problem = campaign_config(params)
  if not config then return err("InvalidInputException", problem) end
  local fields = copy_params(params, { "name", "solutionVersionArn" })
  fields.minProvisionedTPS = params.minProvisionedTPS or 1
  fields.campaignConfig = params.campaignConfig
  fields.solutionArn = sv.solutionArn
  local r
  r, code, msg = create(eng, "campaign", params, fields)
  if not r then return err(code, msg) end
  return { campaignArn = r.campaignArn }
end

function creators.Recommender(eng, params)
  local group, code, msg = find(eng, "dataset_group", params.datasetGroupArn)
  if not group then return err(code, msg) end
  if not group.domain then
    return err("InvalidInputException", fmt(
      "Dataset group %s is not a domain dataset group: recommenders need one (create_dataset_group with domain)",
      group.datasetGroupArn))
  end
  local recipe
  recipe, code, msg = check_recipe(params.recipeArn, true)
  if not recipe then return err(code, msg) end
  if recipe.domain ~= group.domain then
    return err("InvalidInputException", fmt("Recipe %s belongs to the %s domain, the dataset group to %s",
      params.recipeArn, recipe.domain, group.domain))
  end
  local r
  r, code, msg = create(eng, "recommender", params,
    copy_params(params, { "name", "datasetGroupArn", "recipeArn", "recommenderConfig" }))
  if not r then return err(code, msg) end
  r._id = hex_id(eng, 8)
  return { recommenderArn = r.recommenderArn }
end

local function batch_job(eng, params, kind, out_key)
  local sv, code, msg = find(eng, "solution_version", params.solutionVersionArn)
  if not sv then return err(code, msg) end
  local ok
  ok, code, msg = require_active(sv, "Solution version")
  if not ok then return err(code, msg) end
  local input = params.jobInput and params.jobInput.s3DataSource and params.jobInput.s3DataSource.path
  local output = params.jobOutput and params.jobOutput.s3DataDestination and params.jobOutput.s3DataDestination.path
  if not s3_location(input) then
    return err("InvalidInputException", fmt("jobInput.s3DataSource.path must be an s3:// URL, got %q", tostring(input)))
  end
  if not s3_location(output) then
    return err("InvalidInputException", fmt("jobOutput.s3DataDestination.path must be an s3:// URL, got %q", tostring(output)))
  end
  if params.filterArn then
    ok, code, msg = find(eng, "filter", params.filterArn)
    if not ok then return err(code, msg) end
  end
  local fields = copy_params(params, { "jobName", "solutionVersionArn", "jobInput", "jobOutput", "roleArn",
    "filterArn", "batchInferenceJobConfig", "themeGenerationConfig" })
  fields.numResults = params.numResults or 25
  fields.batchInferenceJobMode = kind == "batch_inference_job" and (params.batchInferenceJobMode or "STANDARD") or nil
  local r
  r, code, msg = create(eng, kind, params, fields)
  if not r then return err(code, msg) end
  return { [out_key] = r[out_key] }
end

function creators.BatchInferenceJob(eng, params)
  return batch_job(eng, params, "batch_inference_job", "batchInferenceJobArn")
end

function creators.BatchSegmentJob(eng, params)
  local sv = eng.store.resources[params.solutionVersionArn]
  local recipe = sv and recipes.get(sv.recipeArn)
  if recipe and recipe.recipeType ~= "USER_SEGMENTATION" then
    return err("InvalidInputException", fmt(
      "Batch segment jobs need a USER_SEGMENTATION recipe (aws-item-affinity, aws-item-attribute-affinity); %s is %s",
      recipe.recipeArn, recipe.recipeType))
  end
  return batch_job(eng, params, "batch_segment_job", "batchSegmentJobArn")
end

function creators.MetricAttribution(eng, params)
  local group, code, msg = find(eng, "dataset_group", params.datasetGroupArn)
  if not group then return err(code, msg) end
  for _, other in pairs(eng.store.resources) do
    if other._kind == "metric_attribution" and other.datasetGroupArn == group.datasetGroupArn then
      return err("ResourceAlreadyExistsException", fmt("Dataset group %s already has a metric attribution (%s)",
        group.datasetGroupArn, other.metricAttributionArn))
    end
  end
  if #params.metrics > 10 then
    return err("LimitExceededException", "a metric attribution has at most 10 metrics")
  end
  local r
  r, code, msg = create(eng, "metric_attribution", params,
    copy_params(params, { "name", "datasetGroupArn", "metricsOutputConfig" }))
  if not r then return err(code, msg) end
  r._metrics = params.metrics
  return { metricAttributionArn = r.metricAttributionArn }
end

-- The records that keep `r` from being deleted, as "kind ARN" strings.
local function children(eng, r)
  local def = KINDS[r._kind]
  local arn = r[def.key]
  local found = {}
  for _, other in pairs(eng.store.resources) do
    local odef = KINDS[other._kind]
    local uses = (odef.parent and other[odef.parent] == arn)
      or (r._kind == "schema" and other._kind == "dataset" and other.schemaArn == arn)
      or (r._kind == "solution" and other._kind == "campaign" and other.solutionArn == arn)
    -- Finished jobs and versions go with their parent. What is being
    -- deleted no longer counts: AWS's clean-up code deletes a campaign,
    -- sleeps a minute and deletes its solution, without waiting for the
    -- campaign to be gone (amazon-personalize-samples 99.Cleanup).
    local owned = (odef.name == "jobName") or other._kind == "solution_version"
    local deleting = tostring(other.status):find("^DELETE") ~= nil
    if uses and not owned and not deleting then found[#found + 1] = odef.api .. " " .. other[odef.key] end
  end
  sort(found)
  return found
end

-- Removes `r` and what it owns (jobs, versions, data) for good.
local function destroy(eng, r)
  local arn = r[KINDS[r._kind].key]
  local owned = {}
  for _, other in pairs(eng.store.resources) do
    local odef = KINDS[other._kind]
    if odef.parent and other[odef.parent] == arn then owned[#owned + 1] = other end
  end
  for _, other in ipairs(owned) do destroy(eng, other) end
  if r._kind == "dataset" then eng.store:remove("datasets/" .. r._id) end
  if r._kind == "solution_version" or r._kind == "recommender" then
    eng.store:remove("models/" .. r._id .. ".json")
    eng.store:remove("models/" .. r._id)   -- the histories stored beside it
    eng.models[arn] = nil
  end
  eng.store.resources[arn] = nil
  eng.store.tags[arn] = nil
end
_M.destroy = destroy

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

-- nextToken: the offset into the listing, opaque to callers.
local function page(eng, items, params, member)
  local max = math.floor(params.maxResults or 100)
  local offset = 0
  if params.nextToken then
    offset = tonumber((params.nextToken:match("^pl1%.(%d+)%.") or ""))
    local check = params.nextToken:match("%.(%x+)$")
    if not offset or check ~= core.sha256_hex(eng.salt .. fmt("%d", offset)):sub(1, 12) then
      return err("InvalidNextTokenException", "The nextToken is not valid: " .. params.nextToken:sub(1, 40))
    end
  end
  local out = {}
  for i = offset + 1, math.min(offset + max, #items) do out[#out + 1] = items[i] end
  local result = { [member] = out }
  if offset + max < #items then
    local next_offset = offset + max
    result.nextToken = fmt("pl1.%d.%s", next_offset, core.sha256_hex(eng.salt .. fmt("%d", next_offset)):sub(1, 12))
  end
  return result
end
_M.page = page

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

function special.DescribeRecipe(_, params)
  local r = recipes.get(params.recipeArn)
  if not r then return not_found("recipe", params.recipeArn) end
  return { recipe = r }
end

function special.DescribeAlgorithm(_, params)
  local a = recipes.algorithm(params.algorithmArn)
  if not a then return not_found("algorithm", params.algorithmArn) end
  return { algorithm = a }
end

function special.DescribeFeatureTransformation(_, params)
  local f = recipes.feature_transformation(params.featureTransformationArn)
  if not f then return not_found("feature transformation", params.featureTransformationArn) end
  return { featureTransformation = f }
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

function special.StopSolutionVersionCreation(eng, params)
  local sv, code, msg = find(eng, "solution_version", params.solutionVersionArn)
  if not sv then return err(code, msg) end
  if sv.status ~= "CREATE PENDING" and sv.status ~= "CREATE IN_PROGRESS" then
    return err("ResourceInUseException", fmt("Solution version %s is %s: only a version being created can be stopped",
      sv.solutionVersionArn, tostring(sv.status)))
  end
  set_status(eng, sv, "CREATE STOPPING", eng.timings.pending)
  return {}
end

function special.StartRecommender(eng, params)
  local r, code, msg = find(eng, "recommender", params.recommenderArn)
  if not r then return err(code, msg) end
  if r.status ~= "INACTIVE" then
    return err("ResourceInUseException", fmt("Recommender %s is %s; only an INACTIVE recommender can be started",
      r.recommenderArn, tostring(r.status)))
  end
  set_status(eng, r, "START PENDING", eng.timings.pending)
  return { recommenderArn = r.recommenderArn }
end

function special.StopRecommender(eng, params)
  local r, code, msg = find(eng, "recommender", params.recommenderArn)
  if not r then return err(code, msg) end
  if r.status ~= "ACTIVE" then
    return err("ResourceInUseException", fmt("Recommender %s is %s; only an ACTIVE recommender can be stopped",
      r.recommenderArn, tostring(r.status)))
  end
  set_status(eng, r, "STOP PENDING", eng.timings.pending)
  return { recommenderArn = r.recommenderArn }
end

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
    sv, code, msg = find(eng, "solution_version", params.solutionVersionArn)
    if not sv then return err(code, msg) end
    local ok
    ok, code, msg = require_active(sv, "Solution version")
    if not ok then return err(code, msg) end
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

function special.UpdateSolution(eng, params)
  local s, code, msg = find(eng, "solution", params.solutionArn)
  if not s then return err(code, msg) end
  if s.status ~= "ACTIVE" then
    return err("ResourceInUseException", fmt("Solution %s is %s", s.solutionArn, tostring(s.status)))
  end
  start_update(eng, s, "latestSolutionUpdate", {
    performAutoTraining = params.performAutoTraining, performIncrementalUpdate = params.performIncrementalUpdate,
    solutionUpdateConfig = params.solutionUpdateConfig })
  return { solutionArn = s.solutionArn }
end

function special.UpdateRecommender(eng, params)
  local r, code, msg = find(eng, "recommender", params.recommenderArn)
  if not r then return err(code, msg) end
  if r.status ~= "ACTIVE" then
    return err("ResourceInUseException", fmt("Recommender %s is %s", r.recommenderArn, tostring(r.status)))
  end
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

-- Finishes an update started by start_update.
local function apply_update(eng, r)
  local u = r._update
  if u then
    for k, v in pairs(u.settings) do r[k] = v end
    local s = r[u.member]
    if s then s.status = "ACTIVE"; s.lastUpdatedDateTime = eng.now() end
    r._update = nil
  end
  set_status(eng, r, "ACTIVE")
end

-- The end of a job: ACTIVE (or COMPLETED), else failed with the reason.
local function finish(eng, r, ok, failure)
  local flow = KINDS[r._kind].flow
  r._job, r._resumes = nil, nil
  if ok then
    set_status(eng, r, flow[3])
  else
    r.failureReason = failure
    set_status(eng, r, flow[4])
  end
end

-- Hands the kind's work of `r` to eng.runner; its result applies when it
-- ends (at once in-process). False when the runner has no free slot: `r`
-- stays due and starts at a later tick, in creation order.
local function start_work(eng, r, def)
  local runner = eng.runner
  if runner:busy() then return false end
  local spec = job_runner.prepare(eng, r, def.work)
  r._job, r._due = true, nil
  local ok, serr = runner:start(spec, function(result)
    if job_runner.apply(eng, r, spec, result) and r.status == def.flow[2] then
      finish(eng, r, result.ok, result.failure)
    else
      r._job = nil
    end
  end)
  if not ok then finish(eng, r, false, "internal error: cannot start the job: " .. tostring(serr)) end
  return true
end

-- Moves `r` one step along its lifecycle; hands the kind's work to the
-- runner at the end of the in-progress step. False when nothing moved.
local function advance(eng, r)
  local def = KINDS[r._kind]
  local status = r.status
  local flow = def.flow
  if status == flow[1] then
    set_status(eng, r, flow[2], eng.timings.in_progress)
  elseif status == flow[2] then
    if r._job then
      r._due = nil
    elseif def.work then
      return start_work(eng, r, def)
    else
      finish(eng, r, true)
    end
  elseif status == "UPDATE IN_PROGRESS" then
    apply_update(eng, r)
  elseif status == "DELETE IN_PROGRESS" then
    destroy(eng, r)
  elseif WAITS[status] then
    set_status(eng, r, WAITS[status], eng.timings.in_progress)
  else
    r._due = nil
  end
  return true
end

-- Runs every transition due at `now`, oldest resource first. Returns
-- whether anything changed and the seconds until the next due one.
function _M.tick(eng, now)
  local changed = false
  for _ = 1, 16 do
    local due = {}
    for _, r in pairs(eng.store.resources) do
      if r._due and r._due <= now then due[#due + 1] = r end
    end
    if #due == 0 then break end
    sort(due, function(a, b) return a._seq < b._seq end)
    local moved = false
    for _, r in ipairs(due) do
      if eng.store.resources[r[KINDS[r._kind].key]] == r and advance(eng, r) then moved = true end
    end
    if not moved then break end
    changed = true
    now = eng.now()
  end
  local next_due
  for _, r in pairs(eng.store.resources) do
    if r._due and (not next_due or r._due < next_due) then next_due = r._due end
  end
  return changed, next_due and math.max(0, next_due - now) or nil
end

-- When the engine opens: every job that was running when it stopped
-- (r._job) gets the result it left, else runs again from its inputs, or
-- fails with a failureReason saying the engine restarted
-- (job_runner.recover). Returns how many.
function _M.recover(eng)
  for _, r in pairs(eng.store.resources) do
    -- stopped while its job ran: nothing to resume
    if r._job and r.status ~= KINDS[r._kind].flow[2] then r._job = nil end
  end
  return job_runner.recover(eng,
    function(r) r._due = eng.now() end,
    function(r, reason) finish(eng, r, false, reason) end,
    function(r, ok, failure) finish(eng, r, ok, failure) end)
end

return _M
