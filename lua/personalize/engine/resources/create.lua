-- The Create* operations of personalize-local's control plane, one per
-- resource kind: creators[api](eng, params) -> result | nil, code, message
-- (api: "Solution" for CreateSolution). Each checks what the service
-- checks (the resources it names exist and are usable), then records the
-- resource through resources.records.
local recipes = require "personalize.engine.recipes"
local jobs = require "personalize.engine.jobs"
local filter_expr = require "personalize.engine.filter_expression"
local records = require "personalize.engine.resources.records"

local type, tostring, tonumber, pairs, ipairs, select = type, tostring, tonumber, pairs, ipairs, select
local fmt = string.format
local KINDS, DATASET_TYPES, err, find = records.KINDS, records.DATASET_TYPES, records.err, records.find
local find_usable, hex_id, create = records.find_usable, records.hex_id, records.create
local copy_params = records.copy_params

local _M = {}

-- Records the resource (records.create) and answers as Create* does: its
-- ARN member; or nil, code, message.
local function answer(eng, kind, params, fields, arn)
  local r, code, msg = create(eng, kind, params, fields, arn)
  if not r then return err(code, msg) end
  local key = KINDS[kind].key
  return { [key] = r[key] }
end

-- Kind-specific create handlers: (eng, params) -> result table or nil, code, message.
local creators = {}

function creators.Schema(eng, params)
  local domain = params.domain
  local ok, problem = eng.check_schema(params.schema, nil, domain)
  if not ok then return err("InvalidInputException", "Invalid schema: " .. problem) end
  return answer(eng, "schema", params, copy_params(params, { "name", "schema", "domain" }))
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
  local arn = records.arn(eng, fmt("dataset/%s/%s", group.name, dtype))
  if eng.store.resources[arn] then
    return err("ResourceAlreadyExistsException", fmt("Dataset group %s already has an %s dataset", group.datasetGroupArn, dtype))
  end
  local fields = copy_params(params, { "name", "schemaArn", "datasetGroupArn" })
  fields.datasetType = dtype
  fields._id = hex_id(eng, 16)
  return answer(eng, "dataset", params, fields, arn)
end

local function s3_location(s)
  return type(s) == "string" and s:match("^s3://([^/]+)/?(.*)$")
end

function creators.DatasetImportJob(eng, params)
  local ds, code, msg = find_usable(eng, "dataset", params.datasetArn, "Dataset")
  if not ds then return err(code, msg) end
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
  return answer(eng, "dataset_import_job", params, fields)
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
  return answer(eng, "dataset_export_job", params, fields)
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

-- The dataset group params.datasetGroupArn names, unless it already has
-- a record of `kind` (one at most per group): then nil, `code` and
-- `message` formatted with the group's ARN and the other record's.
local function group_without(eng, params, kind, code, message)
  local group, fcode, fmsg = find(eng, "dataset_group", params.datasetGroupArn)
  if not group then return err(fcode, fmsg) end
  for _, other in pairs(eng.store.resources) do
    if other._kind == kind and other.datasetGroupArn == group.datasetGroupArn then
      return err(code, fmt(message, group.datasetGroupArn, other[KINDS[kind].key]))
    end
  end
  return group
end

function creators.EventTracker(eng, params)
  local group, code, msg = group_without(eng, params, "event_tracker", "LimitExceededException",
    "Dataset group %s already has an event tracker (%s); the limit is 1")
  if not group then return err(code, msg) end
  local fields = copy_params(params, { "name", "datasetGroupArn" })
  fields.trackingId = records.uuid(eng)
  fields.accountId = eng.account_id
  local r
  r, code, msg = create(eng, "event_tracker", params, fields, records.arn(eng, "event-tracker/" .. hex_id(eng, 8)))
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
  return answer(eng, "filter", params, copy_params(params, { "name", "datasetGroupArn", "filterExpression" }))
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
  return answer(eng, "solution", params, fields)
end

function creators.SolutionVersion(eng, params)
  local sol, code, msg = find_usable(eng, "solution", params.solutionArn, "Solution")
  if not sol then return err(code, msg) end
  local mode = params.trainingMode or "FULL"
  if mode ~= "FULL" and mode ~= "UPDATE" and mode ~= "AUTOTRAIN" then
    return err("InvalidInputException", fmt("trainingMode must be FULL, UPDATE or AUTOTRAIN, got %q", tostring(mode)))
  end
  local id = hex_id(eng, 8)
  local fields = { name = params.name, solutionArn = sol.solutionArn, recipeArn = sol.recipeArn,
    datasetGroupArn = sol.datasetGroupArn, eventType = sol.eventType, solutionConfig = sol.solutionConfig,
    performHPO = sol.performHPO, performAutoML = sol.performAutoML, trainingMode = mode,
    trainingType = "MANUAL", _id = id }
  return answer(eng, "solution_version", params, fields, sol.solutionArn .. "/" .. id)
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
  local sv, code, msg = find_usable(eng, "solution_version", params.solutionVersionArn, "Solution version")
  if not sv then return err(code, msg) end
  local config, problem = campaign_config(params)
  if not config then return err("InvalidInputException", problem) end
  local fields = copy_params(params, { "name", "solutionVersionArn" })
  fields.minProvisionedTPS = params.minProvisionedTPS or 1
  fields.campaignConfig = params.campaignConfig
  fields.solutionArn = sv.solutionArn
  return answer(eng, "campaign", params, fields)
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

local function batch_job(eng, params, kind)
  local sv, code, msg = find_usable(eng, "solution_version", params.solutionVersionArn, "Solution version")
  if not sv then return err(code, msg) end
  local input = params.jobInput and params.jobInput.s3DataSource and params.jobInput.s3DataSource.path
  local output = params.jobOutput and params.jobOutput.s3DataDestination and params.jobOutput.s3DataDestination.path
  if not s3_location(input) then
    return err("InvalidInputException", fmt("jobInput.s3DataSource.path must be an s3:// URL, got %q", tostring(input)))
  end
  if not s3_location(output) then
    return err("InvalidInputException", fmt("jobOutput.s3DataDestination.path must be an s3:// URL, got %q", tostring(output)))
  end
  if params.filterArn then
    local filter
    filter, code, msg = find(eng, "filter", params.filterArn)
    if not filter then return err(code, msg) end
  end
  local fields = copy_params(params, { "jobName", "solutionVersionArn", "jobInput", "jobOutput", "roleArn",
    "filterArn", "batchInferenceJobConfig", "themeGenerationConfig" })
  fields.numResults = params.numResults or 25
  fields.batchInferenceJobMode = kind == "batch_inference_job" and (params.batchInferenceJobMode or "STANDARD") or nil
  return answer(eng, kind, params, fields)
end

function creators.BatchInferenceJob(eng, params)
  return batch_job(eng, params, "batch_inference_job")
end

function creators.BatchSegmentJob(eng, params)
  local sv = eng.store.resources[params.solutionVersionArn]
  local recipe = sv and recipes.get(sv.recipeArn)
  if recipe and recipe.recipeType ~= "USER_SEGMENTATION" then
    return err("InvalidInputException", fmt(
      "Batch segment jobs need a USER_SEGMENTATION recipe (aws-item-affinity, aws-item-attribute-affinity); %s is %s",
      recipe.recipeArn, recipe.recipeType))
  end
  return batch_job(eng, params, "batch_segment_job")
end

function creators.MetricAttribution(eng, params)
  local group, code, msg = group_without(eng, params, "metric_attribution", "ResourceAlreadyExistsException",
    "Dataset group %s already has a metric attribution (%s)")
  if not group then return err(code, msg) end
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

_M.creators = creators
_M.campaign_config = campaign_config

return _M
