-- Waiters against a stubbed client with a fake clock: statuses, failure
-- reasons, timeouts, back-off, deletion and the live progress line.
local personalize = require "personalize"
local waiters = require "personalize.waiters"

local ARN = "arn:aws:personalize:us-east-1:123456789012:campaign/shop"

local function new_client()
  return personalize.client("personalize", {
    region = "us-east-1", max_attempts = 1,
    credentials = { access_key_id = "AKIDSTUB", secret_access_key = "stub-secret" },
  })
end

-- A clock that only moves when slept on.
local function fake_clock()
  local clock = { t = 5000, slept = {} }
  clock.now = function() return clock.t end
  clock.sleep = function(s)
    clock.slept[#clock.slept + 1] = s
    clock.t = clock.t + s
  end
  return clock
end

-- A stream that keeps what is written.
local function fake_stream()
  local s = { parts = {} }
  function s:write(...)
    for i = 1, select("#", ...) do self.parts[#self.parts + 1] = select(i, ...) end
    return self
  end
  function s:text() return table.concat(self.parts) end
  return s
end

local function campaign(status, extra)
  local c = { campaignArn = ARN, status = status }
  for k, v in pairs(extra or {}) do c[k] = v end
  return { campaign = c }
end

describe("personalize.waiters", function()
  local client, stub, clock

  before_each(function()
    client = new_client()
    stub = personalize.stub(client)
    clock = fake_clock()
  end)

  after_each(function() stub:deactivate() end)

  local function opts(extra)
    local o = { sleep = clock.sleep, now = clock.now, progress = false }
    for k, v in pairs(extra or {}) do o[k] = v end
    return o
  end

  it("polls until ACTIVE with a growing delay and returns the last result", function()
    stub:add_response("describe_campaign", campaign("CREATE PENDING"), { campaignArn = ARN })
    stub:add_response("describe_campaign", campaign("CREATE IN_PROGRESS"), { campaignArn = ARN })
    stub:add_response("describe_campaign", campaign("ACTIVE"), { campaignArn = ARN })
    local seen = {}
    local res, err = client:wait("campaign", ARN, opts {
      on_status = function(status, elapsed, result)
        seen[#seen + 1] = { status, elapsed, result.campaign.status }
      end,
    })
    assert.is_nil(err)
    assert.are.equal("ACTIVE", res.campaign.status)
    assert.are.same({ 2, 3 }, clock.slept)
    assert.are.same({ { "CREATE PENDING", 0, "CREATE PENDING" }, { "CREATE IN_PROGRESS", 2, "CREATE IN_PROGRESS" },
                      { "ACTIVE", 5, "ACTIVE" } }, seen)
    stub:assert_no_pending()
  end)

  it("takes the Describe params table as well as the ARN", function()
    stub:add_response("describe_campaign", campaign("ACTIVE"), { campaignArn = ARN })
    assert(client:wait("campaign", { campaignArn = ARN }, opts()))
    assert.are.same({}, clock.slept)
  end)

  -- Written out here, not derived from the module: operation, ARN member,
  -- result member and success status of every waiter.
  local RESOURCES = {
    { "dataset_group", "DescribeDatasetGroup", "datasetGroupArn", "datasetGroup", "ACTIVE" },
    { "dataset", "DescribeDataset", "datasetArn", "dataset", "ACTIVE" },
    { "dataset_import_job", "DescribeDatasetImportJob", "datasetImportJobArn", "datasetImportJob", "ACTIVE" },
    { "dataset_export_job", "DescribeDatasetExportJob", "datasetExportJobArn", "datasetExportJob", "ACTIVE" },
    { "solution", "DescribeSolution", "solutionArn", "solution", "ACTIVE" },
    { "solution_version", "DescribeSolutionVersion", "solutionVersionArn", "solutionVersion", "ACTIVE" },
    { "campaign", "DescribeCampaign", "campaignArn", "campaign", "ACTIVE" },
    { "event_tracker", "DescribeEventTracker", "eventTrackerArn", "eventTracker", "ACTIVE" },
    { "filter", "DescribeFilter", "filterArn", "filter", "ACTIVE" },
    { "recommender", "DescribeRecommender", "recommenderArn", "recommender", "ACTIVE" },
    { "metric_attribution", "DescribeMetricAttribution", "metricAttributionArn", "metricAttribution", "ACTIVE" },
    { "batch_inference_job", "DescribeBatchInferenceJob", "batchInferenceJobArn", "batchInferenceJob", "ACTIVE" },
    { "batch_segment_job", "DescribeBatchSegmentJob", "batchSegmentJobArn", "batchSegmentJob", "ACTIVE" },
    { "data_deletion_job", "DescribeDataDeletionJob", "dataDeletionJobArn", "dataDeletionJob", "COMPLETED" },
  }

  for _, r in ipairs(RESOURCES) do
    local name, op, arn_member, key, success = r[1], r[2], r[3], r[4], r[5]
    it(("waits for %s through %s until %s"):format(name, op, success), function()
      local arn = "arn:aws:personalize:us-east-1:123456789012:thing/" .. name
      stub:add_response(op, { [key] = { status = "CREATE IN_PROGRESS" } }, { [arn_member] = arn })
      stub:add_response(op, { [key] = { status = success } }, { [arn_member] = arn })
      local res, err = client:wait(name, arn, opts())
      assert.is_nil(err)
      assert.are.equal(success, res[key].status)
      stub:assert_no_pending()
    end)
  end

  it("fails on CREATE FAILED with the failure reason", function()
    stub:add_response("describe_campaign", campaign("CREATE IN_PROGRESS"))
    stub:add_response("describe_campaign", campaign("CREATE FAILED", { failureReason = "Solution version not ready" }))
    local res, err = client:wait("campaign", ARN, opts())
    assert.is_nil(res)
    assert.is_true(personalize.errors().is_error(err))
    assert.are.equal("WaiterFailure", err.code)
    assert.are.equal("CREATE FAILED", err.status_value)
    assert.are.equal("Solution version not ready", err.failure_reason)
    assert.are.equal(ARN, err.arn)
    assert.are.equal("campaign", err.waiter)
    assert.are.equal("CREATE FAILED", err.last_response.campaign.status)
    assert.is_false(err.retryable)
    assert.matches("Solution version not ready", tostring(err), 1, true)
    assert.matches("^WaiterFailure: ", tostring(err))
    assert.matches("CREATE FAILED", err.message, 1, true)
  end)

  for _, status in ipairs { "CREATE FAILED", "FAILED", "DELETE FAILED", "CREATE STOPPED" } do
    it("fails a solution version on " .. status, function()
      local arn = "arn:aws:personalize:us-east-1:123456789012:solution/s/1a2b3c4d"
      stub:add_response("describe_solution_version",
        { solutionVersion = { status = status, failureReason = "reason for " .. status } })
      local res, err = client:wait("solution_version", arn, opts())
      assert.is_nil(res)
      assert.are.equal("WaiterFailure", err.code)
      assert.are.equal(status, err.status_value)
      assert.are.equal("reason for " .. status, err.failure_reason)
      assert.matches("reason for " .. status, err.message, 1, true)
    end)
  end

  it("fails a data deletion job on FAILED", function()
    stub:add_response("describe_data_deletion_job",
      { dataDeletionJob = { status = "FAILED", failureReason = "bad input file" } })
    local _, err = client:wait("data_deletion_job", "arn:aws:personalize:us-east-1:1:data-deletion-job/d", opts())
    assert.are.equal("WaiterFailure", err.code)
    assert.are.equal("FAILED", err.status_value)
    assert.are.equal("bad input file", err.failure_reason)
  end)

  it("fails a batch inference job on CREATE FAILED", function()
    stub:add_response("describe_batch_inference_job",
      { batchInferenceJob = { status = "CREATE FAILED", failureReason = "no access to s3://in" } })
    local _, err = client:wait("batch_inference_job", "arn:aws:personalize:us-east-1:1:batch-inference-job/b", opts())
    assert.are.equal("CREATE FAILED", err.status_value)
    assert.are.equal("no access to s3://in", err.failure_reason)
  end)

  it("waits for a campaign's latest update, not only the campaign", function()
    stub:add_response("describe_campaign", campaign("ACTIVE", { latestCampaignUpdate = { status = "CREATE PENDING" } }))
    stub:add_response("describe_campaign",
      campaign("ACTIVE", { latestCampaignUpdate = { status = "CREATE IN_PROGRESS" } }))
    stub:add_response("describe_campaign", campaign("ACTIVE", { latestCampaignUpdate = { status = "ACTIVE" } }))
    local statuses = {}
    local res = assert(client:wait("campaign", ARN, opts {
      on_status = function(status) statuses[#statuses + 1] = status end,
    }))
    assert.are.equal("ACTIVE", res.campaign.latestCampaignUpdate.status)
    assert.are.same({ "CREATE PENDING", "CREATE IN_PROGRESS", "ACTIVE" }, statuses)
  end)

  it("fails when a campaign's latest update fails, with the update's reason", function()
    stub:add_response("describe_campaign", campaign("ACTIVE", {
      failureReason = "not this one",
      latestCampaignUpdate = { status = "CREATE FAILED", failureReason = "minProvisionedTPS too high" } }))
    local _, err = client:wait("campaign", ARN, opts())
    assert.are.equal("WaiterFailure", err.code)
    assert.are.equal("CREATE FAILED", err.status_value)
    assert.are.equal("minProvisionedTPS too high", err.failure_reason)
    assert.matches("latest update", err.message, 1, true)
  end)

  it("times out with the last status and the elapsed time, the last poll at the deadline", function()
    for _ = 1, 8 do stub:add_response("describe_campaign", campaign("CREATE IN_PROGRESS")) end
    local polls = 0
    local res, err = client:wait("campaign", ARN, opts {
      timeout = 60, on_status = function() polls = polls + 1 end,
    })
    assert.is_nil(res)
    assert.are.equal("WaiterTimeout", err.code)
    assert.are.equal("CREATE IN_PROGRESS", err.status_value)
    assert.are.equal(60, err.elapsed)
    assert.are.equal(8, polls)
    -- 2, x1.5 each time, the last one cut to end at the deadline.
    assert.are.same({ 2, 3, 4.5, 6.75, 10.125, 15.1875, 18.4375 }, clock.slept)
    assert.matches("still CREATE IN_PROGRESS after 1m00s", err.message, 1, true)
    stub:assert_no_pending()
  end)

  it("caps the delay at max_delay", function()
    for _ = 1, 4 do stub:add_response("describe_campaign", campaign("CREATE IN_PROGRESS")) end
    stub:add_response("describe_campaign", campaign("ACTIVE"))
    assert(client:wait("campaign", ARN, opts { delay = 10, max_delay = 12 }))
    assert.are.same({ 10, 12, 12, 12 }, clock.slept)
  end)

  it("uses 2 s first and 30 s at most by default", function()
    for _ = 1, 10 do stub:add_response("describe_campaign", campaign("CREATE IN_PROGRESS")) end
    stub:add_response("describe_campaign", campaign("ACTIVE"))
    assert(client:wait("campaign", ARN, opts()))
    assert.are.equal(2, clock.slept[1])
    assert.are.equal(3, clock.slept[2])
    assert.are.equal(30, clock.slept[10])
    for _, d in ipairs(clock.slept) do assert.is_true(d <= 30) end
  end)

  it("returns other Describe errors at once", function()
    stub:add_error("describe_campaign", "AccessDeniedException", "not allowed", 403)
    local res, err = client:wait("campaign", ARN, opts())
    assert.is_nil(res)
    assert.are.equal("AccessDeniedException", err.code)
    assert.are.equal(403, err.status)
    assert.are.same({}, clock.slept)
  end)

  it("waits for a deletion until ResourceNotFoundException", function()
    stub:add_response("describe_campaign", campaign("DELETE PENDING"))
    stub:add_response("describe_campaign", campaign("DELETE IN_PROGRESS"))
    stub:add_error("describe_campaign", "ResourceNotFoundException", "Campaign not found")
    local ok, err = client:wait("campaign_deleted", ARN, opts())
    assert.is_nil(err)
    assert.is_true(ok)
    assert.are.same({ 2, 3 }, clock.slept)
  end)

  it("fails a deletion on DELETE FAILED", function()
    stub:add_response("describe_dataset_group",
      { datasetGroup = { status = "DELETE FAILED", failureReason = "datasets still exist" } })
    local _, err = client:wait("dataset_group_deleted", "arn:aws:personalize:us-east-1:1:dataset-group/g", opts())
    assert.are.equal("WaiterFailure", err.code)
    assert.are.equal("DELETE FAILED", err.status_value)
    assert.are.equal("datasets still exist", err.failure_reason)
  end)

  it("does not take ACTIVE for deleted", function()
    stub:add_response("describe_filter", { filter = { status = "ACTIVE" } })
    stub:add_error("describe_filter", "ResourceNotFoundException", "gone")
    assert.is_true(client:wait("filter_deleted", "arn:aws:personalize:us-east-1:1:filter/f", opts()))
  end)

  it("waits for a recommender to stop", function()
    local arn = "arn:aws:personalize:us-east-1:1:recommender/r"
    stub:add_response("describe_recommender", { recommender = { status = "STOP IN_PROGRESS" } })
    stub:add_response("describe_recommender", { recommender = { status = "INACTIVE" } })
    local res = assert(client:wait("recommender_stopped", arn, opts()))
    assert.are.equal("INACTIVE", res.recommender.status)
  end)

  it("raises for an unknown waiter, listing the known ones", function()
    local ok, msg = pcall(client.wait, client, "campain", ARN, opts())
    assert.is_false(ok)
    assert.matches("unknown waiter campain", msg, 1, true)
    assert.matches("campaign, campaign_deleted", msg, 1, true)
    assert.matches("recommender_stopped", msg, 1, true)
    -- Jobs cannot be deleted: no *_deleted waiter for them.
    assert.is_false(pcall(client.wait, client, "dataset_import_job_deleted", ARN, opts()))
  end)

  it("raises for params that are neither an ARN nor a table, and for bad options", function()
    local ok, msg = pcall(client.wait, client, "campaign", 42, opts())
    assert.is_false(ok)
    assert.matches("campaignArn", msg, 1, true)
    assert.is_false(pcall(client.wait, client, "campaign", ARN, opts { timeout = "soon" }))
    assert.is_false(pcall(client.wait, client, "campaign", ARN, opts { progress = "yes" }))
  end)

  it("hands bad params to the client's validation", function()
    stub:add_response("describe_campaign", campaign("ACTIVE"))
    local _, err = client:wait("campaign", "not-an-arn", opts())
    assert.are.equal("ParamValidation", err.code)
    assert.matches("campaignArn", err.message, 1, true)
  end)

  it("shows a live progress line, padded over longer ones, ended with a newline", function()
    local stream = fake_stream()
    stub:add_response("describe_campaign", campaign("CREATE IN_PROGRESS"))
    stub:add_response("describe_campaign", campaign("ACTIVE"))
    assert(client:wait("campaign", ARN, opts { progress = stream, delay = 192 }))
    local first = "campaign shop: CREATE IN_PROGRESS  0s"
    local second = "campaign shop: ACTIVE  3m12s"
    assert.are.equal("\r" .. first .. "\r" .. second .. (" "):rep(#first - #second) .. "\n", stream:text())
  end)

  it("ends the progress line on failures and errors too", function()
    local stream = fake_stream()
    stub:add_error("describe_campaign", "AccessDeniedException", "no")
    client:wait("campaign", ARN, opts { progress = stream })
    assert.are.equal("\n", stream:text())
    stream = fake_stream()
    stub:add_error("describe_campaign", "ResourceNotFoundException", "gone")
    client:wait("campaign_deleted", ARN, opts { progress = stream })
    assert.are.equal("\rcampaign_deleted shop: DELETED  0s\n", stream:text())
  end)

  it("formats durations", function()
    assert.are.equal("0s", waiters.duration(0))
    assert.are.equal("59s", waiters.duration(59.2))
    assert.are.equal("3m12s", waiters.duration(192))
    assert.are.equal("1h02m03s", waiters.duration(3723))
  end)
end)
