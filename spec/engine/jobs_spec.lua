-- personalize-local's jobs as the runner runs them (personalize.engine.
-- job_runner: a plain-data spec, the job on the data directory's files,
-- its result applied): in-process and in the server's thread pool.
local support = require "support.engine_local"
local job_runner = require "personalize.engine.job_runner"
local cjson = require "cjson"

local ROLE = support.ROLE

local function arn_of(res, member) return assert(res, "call failed")[member] end

-- USER_ID -> rows in an exported CSV (header skipped).
local function users_of(csv)
  local count = {}
  local first = true
  for line in csv:gmatch("[^\n]+") do
    if first then first = false
    else
      local u = line:match("^([^,]*)")
      count[u] = (count[u] or 0) + 1
    end
  end
  return count
end

for _, backend in ipairs(support.backends()) do
describe(("personalize-local jobs (%s)"):format(backend), function()
  local env
  before_each(function() env = support.new { backend = backend, timings = { pending = 0, in_progress = 0 } } end)
  after_each(function() env.close() end)

  -- A group whose interactions are 60 users x 20 (user1 ... user60) and
  -- an event tracker; its ARNs and the tracking id.
  local function group_with_events()
    local p = env.personalize
    local g = arn_of(p:create_dataset_group { name = "g" }, "datasetGroupArn")
    env.settle()
    local s = arn_of(p:create_schema { name = "s", schema = support.INTERACTIONS_SCHEMA }, "schemaArn")
    local ds = arn_of(p:create_dataset { name = "d", schemaArn = s, datasetGroupArn = g,
                                         datasetType = "Interactions" }, "datasetArn")
    env.settle()
    env.import(ds, "i.csv", support.interactions_csv(60, 20))
    local tr = assert(p:create_event_tracker { name = "t", datasetGroupArn = g })
    env.settle()
    return g, ds, tr.trackingId
  end

  local function export(ds, name)
    local ex = arn_of(env.personalize:create_dataset_export_job { jobName = name, datasetArn = ds, ingestionMode = "ALL",
      roleArn = ROLE, jobOutput = { s3DataDestination = { path = "s3://bkt/export/" } } }, "datasetExportJobArn")
    env.settle()
    local job = assert(env.personalize:describe_dataset_export_job { datasetExportJobArn = ex }).datasetExportJob
    assert.equal("ACTIVE", job.status, job.failureReason)
    local key = ("export/%s/%s_interactions.csv"):format(name, name)
    return users_of(assert(env.s3:get_object { Bucket = "bkt", Key = key }).Body)
  end

  it("deletes a user's imported rows and live events, keeps events sent after, and after a restart", function()
    local g, ds, tracking = group_with_events()
    local function watch(user, item)
      assert(env.events:put_events { trackingId = tracking, userId = user, sessionId = "s-" .. user,
        eventList = { { eventType = "watch", itemId = item, sentAt = 1800000000 } } })
    end
    watch("user1", "item1")
    watch("user2", "item2")
    env.upload("bkt", "delete.csv", "USER_ID\nuser1\nnobody\n")
    local job = arn_of(env.personalize:create_data_deletion_job { jobName = "del", datasetGroupArn = g,
      roleArn = ROLE, dataSource = { dataLocation = "s3://bkt/delete.csv" } }, "dataDeletionJobArn")
    env.settle()
    local d = assert(env.personalize:describe_data_deletion_job { dataDeletionJobArn = job }).dataDeletionJob
    assert.equal("COMPLETED", d.status, d.failureReason)
    assert.equal(1, d.numDeleted)
    watch("user1", "item3")              -- after the deletion: kept
    local users = export(ds, "ex1")
    assert.equal(1, users.user1)
    assert.equal(21, users.user2)
    assert.equal(20, users.user3)
    env.reopen()
    users = export(ds, "ex2")
    assert.equal(1, users.user1)
    assert.equal(21, users.user2)
  end)

  it("appends an incremental import to the rows imported before", function()
    local _, ds = group_with_events()
    env.upload("bkt", "more.csv", "USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE,EVENT_VALUE\nuser99,item1,1700000000,watch,1\n")
    local job = arn_of(env.personalize:create_dataset_import_job { jobName = "more", datasetArn = ds,
      importMode = "INCREMENTAL", roleArn = ROLE, dataSource = { dataLocation = "s3://bkt/more.csv" } },
      "datasetImportJobArn")
    env.settle()
    assert.equal("ACTIVE", assert(env.personalize:describe_dataset_import_job {
      datasetImportJobArn = job }).datasetImportJob.status)
    local users = export(ds, "ex")
    assert.equal(1, users.user99)
    assert.equal(20, users.user1)
  end)

  if backend == "in-process" then
    it("prepares plain data and runs the same job from it, without the engine", function()
      local g = group_with_events()
      env.upload("bkt", "delete.csv", "USER_ID\nuser5\n")
      local p = env.personalize
      local arn = arn_of(p:create_data_deletion_job { jobName = "del", datasetGroupArn = g,
        roleArn = ROLE, dataSource = { dataLocation = "s3://bkt/delete.csv" } }, "dataDeletionJobArn")
      local eng = env.engine
      local r = eng.store.resources[arn]
      r.someNull = cjson.null          -- never crosses to the job
      local spec = job_runner.prepare(eng, r, "delete_data")
      -- only strings, numbers, booleans and tables
      local function plain(v)
        local t = type(v)
        if t == "table" then
          for k, x in pairs(v) do
            assert.is_true(type(k) == "string" or type(k) == "number")
            plain(x)
          end
        else
          assert.is_true(t == "string" or t == "number" or t == "boolean", t)
        end
      end
      plain(spec)
      assert.is_nil(spec.record.someNull)
      assert.equal(arn, spec.arn)
      local kinds = {}
      for _, x in pairs(spec.resources) do kinds[x._kind] = (kinds[x._kind] or 0) + 1 end
      assert.same({ dataset = 1, schema = 1 }, kinds)
      local result = job_runner.run(spec)
      assert.is_true(result.ok, result.failure)
      assert.equal(1, result.set[arn].numDeleted)
      -- a failing job returns its reason, never raises
      spec.record.dataSource.dataLocation = "s3://nobucket/x.csv"
      result = job_runner.run(spec)
      assert.is_false(result.ok)
      assert.matches("nobucket", result.failure)
      assert.is_nil(job_runner.run { dir = env.dir, work = "nothing", arn = "a", record = {} }.set)
    end)
  end
end)
end
