-- The resources of Amazon Personalize and the lifecycle of each, as the
-- API shows them: what a resource is called, which members name and
-- describe it, the statuses it goes through. One table for the client's
-- waiters (personalize.waiters) and personalize-local's lifecycle machine
-- (personalize.engine.resources), so that the two cannot disagree. Data
-- only; requires nothing.
--
--   local lifecycles = require "personalize.lifecycles"
--   local k = lifecycles.KINDS.campaign
--   k.api        "Campaign": Describe<api>, Create<api>, ...
--   k.key        the ARN member ("campaignArn")
--   k.out        the member of Describe<api>'s result ("campaign")
--   k.list       the member of List<api>s' result ("campaigns")
--   k.statuses   { pending, in progress, success, failure } as the API
--                names them; nil for a resource without a status (schema)
--   k.failed     the statuses a waiter stops on as failures
--   k.update     the member holding the latest update, if it has updates
--   k.delete     true when the API has Delete<api> (and so a waiter
--                "<kind>_deleted")
-- spec/lifecycles_spec.lua checks every name against the model.
local _M = {}

local CREATE = { "CREATE PENDING", "CREATE IN_PROGRESS", "ACTIVE", "CREATE FAILED" }
-- Batch jobs: PENDING > IN PROGRESS > ACTIVE or CREATE FAILED.
local BATCH = { "PENDING", "IN PROGRESS", "ACTIVE", "CREATE FAILED" }
-- Data deletion jobs: PENDING > IN_PROGRESS > COMPLETED or FAILED.
local DELETION = { "PENDING", "IN_PROGRESS", "COMPLETED", "FAILED" }

_M.CREATE, _M.BATCH, _M.DELETION = CREATE, BATCH, DELETION

-- What a waiter takes for a failure unless the kind says otherwise.
_M.DEFAULT_FAILED = { "CREATE FAILED", "UPDATE FAILED" }

_M.KINDS = {
  schema = { api = "Schema", key = "schemaArn", out = "schema", list = "schemas", delete = true },
  dataset_group = { api = "DatasetGroup", key = "datasetGroupArn", out = "datasetGroup",
                    list = "datasetGroups", statuses = CREATE, delete = true },
  dataset = { api = "Dataset", key = "datasetArn", out = "dataset", list = "datasets",
              statuses = CREATE, update = "latestDatasetUpdate", delete = true },
  dataset_import_job = { api = "DatasetImportJob", key = "datasetImportJobArn", out = "datasetImportJob",
                         list = "datasetImportJobs", statuses = CREATE },
  dataset_export_job = { api = "DatasetExportJob", key = "datasetExportJobArn", out = "datasetExportJob",
                         list = "datasetExportJobs", statuses = CREATE },
  data_deletion_job = { api = "DataDeletionJob", key = "dataDeletionJobArn", out = "dataDeletionJob",
                        list = "dataDeletionJobs", statuses = DELETION, failed = { "FAILED" } },
  event_tracker = { api = "EventTracker", key = "eventTrackerArn", out = "eventTracker",
                    list = "eventTrackers", statuses = CREATE, delete = true },
  filter = { api = "Filter", key = "filterArn", out = "filter", list = "Filters",
             statuses = CREATE, delete = true },
  solution = { api = "Solution", key = "solutionArn", out = "solution", list = "solutions",
               statuses = CREATE, update = "latestSolutionUpdate", delete = true },
  solution_version = { api = "SolutionVersion", key = "solutionVersionArn", out = "solutionVersion",
                       list = "solutionVersions", statuses = CREATE,
                       failed = { "CREATE FAILED", "FAILED", "DELETE FAILED", "CREATE STOPPED" } },
  campaign = { api = "Campaign", key = "campaignArn", out = "campaign", list = "campaigns",
               statuses = CREATE, update = "latestCampaignUpdate", delete = true },
  recommender = { api = "Recommender", key = "recommenderArn", out = "recommender", list = "recommenders",
                  statuses = CREATE, update = "latestRecommenderUpdate", delete = true },
  batch_inference_job = { api = "BatchInferenceJob", key = "batchInferenceJobArn", out = "batchInferenceJob",
                          list = "batchInferenceJobs", statuses = BATCH },
  batch_segment_job = { api = "BatchSegmentJob", key = "batchSegmentJobArn", out = "batchSegmentJob",
                        list = "batchSegmentJobs", statuses = BATCH },
  metric_attribution = { api = "MetricAttribution", key = "metricAttributionArn", out = "metricAttribution",
                         list = "metricAttributions", statuses = CREATE, delete = true },
}

for _, k in pairs(_M.KINDS) do
  if k.statuses then k.failed = k.failed or _M.DEFAULT_FAILED end
end

return _M
