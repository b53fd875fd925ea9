-- bin/personalize-local holding 1M interactions, stopped and started
-- again: every row, event, model and answer is still there, and the first
-- get_recommendations after the start does not load the dataset (the
-- live events come from the journal alone, the model's histories are
-- mapped from their file).
local core = require "personalize.core"
local client = require "personalize.client"
local engine_server = require "support.engine_server"
local support = require "support.engine_local"
local engine_jobs = require "support.engine_jobs"
local files = require "support.files"

local ROLE = support.ROLE
local RECIPE = "arn:aws:personalize:::recipe/"
local ROWS = 1000000

describe("bin/personalize-local restarted with 1M interactions", function()
  local server, p, rt, ev, s3, dir

  local function clients()
    local copts = server.client_opts { max_attempts = 1, read_timeout = 120 }
    p = client.new("personalize", copts)
    rt = client.new("personalize-runtime", copts)
    ev = client.new("personalize-events", copts)
    s3 = client.new("s3", copts)
  end

  setup(function()
    server = engine_server.start { timings = { pending = 0, in_progress = 0 } }
    clients()
    dir = files.tmpdir()
  end)

  teardown(function()
    if server then server.stop() end
    if dir then core.remove_tree(dir) end
  end)

  local function wait(kind, arn)
    return assert(p:wait(kind, arn, { delay = 0.05, max_delay = 0.2, timeout = 900, progress = false }))
  end

  local function items_of(res)
    local out = {}
    for i, it in ipairs(res.itemList) do out[i] = it.itemId end
    return out
  end

  -- The rows data.json says the dataset holds (the imported ones), and
  -- the records sent one by one, as a PUT export of the dataset writes them.
  local exports = 0
  local function stored_rows(ds)
    local imported
    for _, id in ipairs(core.listdir(server.dir .. "/datasets") or {}) do
      local text = files.read(server.dir .. "/datasets/" .. id .. "/data.json")
      if text then imported = tonumber(text:match('"n":(%d+)')) end
    end
    exports = exports + 1
    local name = "put" .. exports
    wait("dataset_export_job", assert(p:create_dataset_export_job { jobName = name, datasetArn = ds, roleArn = ROLE,
      ingestionMode = "PUT", jobOutput = { s3DataDestination = { path = "s3://bkt/export/" } } }).datasetExportJobArn)
    local csv = assert(s3:get_object { Bucket = "bkt", Key = ("export/%s/%s_interactions.csv"):format(name, name) }).Body
    local _, lines = csv:gsub("\n", "")
    return imported, lines - 1
  end

  it("loses nothing and answers the first request without reloading the rows", function()
    local path = dir .. "/big.csv"
    engine_jobs.write_interactions(path, ROWS)
    assert(s3:create_bucket { Bucket = "bkt" })
    assert(s3:put_bucket_policy { Bucket = "bkt", Policy = support.bucket_policy("bkt") })
    assert(s3:put_object { Bucket = "bkt", Key = "big.csv", File = path })
    os.remove(path)

    local g = assert(p:create_dataset_group { name = "restart" }).datasetGroupArn
    wait("dataset_group", g)
    local sch = assert(p:create_schema { name = "restart", schema = support.INTERACTIONS_SCHEMA }).schemaArn
    local ds = assert(p:create_dataset { name = "restart-i", schemaArn = sch, datasetGroupArn = g,
                                         datasetType = "Interactions" }).datasetArn
    wait("dataset", ds)
    wait("dataset_import_job", assert(p:create_dataset_import_job { jobName = "big", datasetArn = ds,
      dataSource = { dataLocation = "s3://bkt/big.csv" }, roleArn = ROLE }).datasetImportJobArn)
    local sol = assert(p:create_solution { name = "restart", datasetGroupArn = g,
      recipeArn = RECIPE .. "aws-user-personalization" }).solutionArn
    wait("solution", sol)
    local sv = assert(p:create_solution_version { solutionArn = sol }).solutionVersionArn
    wait("solution_version", sv)
    local metrics = assert(p:get_solution_metrics { solutionVersionArn = sv }).metrics
    local camp = assert(p:create_campaign { name = "restart", solutionVersionArn = sv }).campaignArn
    wait("campaign", camp)
    local tracker = assert(p:create_event_tracker { name = "restart", datasetGroupArn = g })
    wait("event_tracker", tracker.eventTrackerArn)

    -- live events after training: a new user, and an old user's new items
    for k = 1, 5 do
      assert(ev:put_events { trackingId = tracker.trackingId, userId = "u7", sessionId = "s1",
        eventList = { { eventType = "watch", itemId = "i" .. (100 + k), sentAt = 1800000000 + k } } })
      assert(ev:put_events { trackingId = tracker.trackingId, userId = "newcomer", sessionId = "s2",
        eventList = { { eventType = "watch", itemId = "i" .. (200 + k), sentAt = 1800000000 + k } } })
    end
    local before = {}
    for _, user in ipairs({ "u1", "u7", "u19999", "newcomer", "nobody" }) do
      before[user] = items_of(assert(rt:get_recommendations { campaignArn = camp, userId = user, numResults = 25 }))
    end
    local rows_before, journal_before = stored_rows(ds)
    assert.equal(ROWS, rows_before)
    assert.equal(10, journal_before)

    server.restart()
    clients()
    local t0 = core.time()
    local first = assert(rt:get_recommendations { campaignArn = camp, userId = "u7", numResults = 25 })
    local took = core.time() - t0
    print(("\n[restart] first get_recommendations after the start: %.3f s"):format(took))
    assert.same(before.u7, items_of(first))
    for user, list in pairs(before) do
      assert.same(list, items_of(assert(rt:get_recommendations { campaignArn = camp, userId = user,
        numResults = 25 })), user)
    end
    -- the newcomer, known only from live events, still gets personalised results
    assert.are_not.same(before.nobody, before.newcomer)
    assert.same({ ROWS, 10 }, { stored_rows(ds) })
    assert.same(metrics, assert(p:get_solution_metrics { solutionVersionArn = sv }).metrics)
    assert.equal("ACTIVE", assert(p:describe_campaign { campaignArn = camp }).campaign.status)
    -- and a new event still lands after the restart
    assert(ev:put_events { trackingId = tracker.trackingId, userId = "newcomer", sessionId = "s3",
      eventList = { { eventType = "watch", itemId = "i300", sentAt = 1800000100 } } })
    assert.same({ ROWS, 11 }, { stored_rows(ds) })
  end)
end)
