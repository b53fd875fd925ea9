-- Which operations of the Personalize models change personalize-local's
-- durable state: after a handler of a WRITES operation succeeds, the
-- engine commits the store (store:save(), one transaction); a READS
-- operation never does. Each model's operations are all here, in one of
-- the two (spec/engine/writes_spec.lua), so an operation a
-- regenerated model brings is classified along with its handler; one
-- missing from both is saved after, as a write would be.
--
--   local operations = require "personalize.engine.operations"
--   operations.writes(service, name)   -- false only for the READS operations
--   operations.READS[service][name], operations.WRITES[service][name]
--     (service: "personalize", "personalize-runtime", "personalize-events",
--      the models' endpointPrefix)
local _M = {}

_M.READS = {
  ["personalize"] = {
    DescribeAlgorithm = true, DescribeBatchInferenceJob = true, DescribeBatchSegmentJob = true,
    DescribeCampaign = true, DescribeDataDeletionJob = true, DescribeDataset = true,
    DescribeDatasetExportJob = true, DescribeDatasetGroup = true, DescribeDatasetImportJob = true,
    DescribeEventTracker = true, DescribeFeatureTransformation = true, DescribeFilter = true,
    DescribeMetricAttribution = true, DescribeRecipe = true, DescribeRecommender = true,
    DescribeSchema = true, DescribeSolution = true, DescribeSolutionVersion = true,
    GetSolutionMetrics = true, ListBatchInferenceJobs = true, ListBatchSegmentJobs = true,
    ListCampaigns = true, ListDataDeletionJobs = true, ListDatasetExportJobs = true,
    ListDatasetGroups = true, ListDatasetImportJobs = true, ListDatasets = true,
    ListEventTrackers = true, ListFilters = true, ListMetricAttributionMetrics = true,
    ListMetricAttributions = true, ListRecipes = true, ListRecommenders = true, ListSchemas = true,
    ListSolutionVersions = true, ListSolutions = true, ListTagsForResource = true,
  },
  ["personalize-runtime"] = {
    GetActionRecommendations = true, GetPersonalizedRanking = true, GetRecommendations = true,
  },
  ["personalize-events"] = {},
}

_M.WRITES = {
  ["personalize"] = {
    CreateBatchInferenceJob = true, CreateBatchSegmentJob = true, CreateCampaign = true,
    CreateDataDeletionJob = true, CreateDataset = true, CreateDatasetExportJob = true,
    CreateDatasetGroup = true, CreateDatasetImportJob = true, CreateEventTracker = true,
    CreateFilter = true, CreateMetricAttribution = true, CreateRecommender = true,
    CreateSchema = true, CreateSolution = true, CreateSolutionVersion = true,
    DeleteCampaign = true, DeleteDataset = true, DeleteDatasetGroup = true,
    DeleteEventTracker = true, DeleteFilter = true, DeleteMetricAttribution = true,
    DeleteRecommender = true, DeleteSchema = true, DeleteSolution = true, StartRecommender = true,
    StopRecommender = true, StopSolutionVersionCreation = true, TagResource = true,
    UntagResource = true, UpdateCampaign = true, UpdateDataset = true,
    UpdateMetricAttribution = true, UpdateRecommender = true, UpdateSolution = true,
  },
  ["personalize-runtime"] = {},
  ["personalize-events"] = {
    PutActionInteractions = true, PutActions = true, PutEvents = true, PutItems = true,
    PutUsers = true,
  },
}

local NONE = {}

function _M.writes(service, name)
  return not (_M.READS[service] or NONE)[name]
end

return _M
