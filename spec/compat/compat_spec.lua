-- AWS's own published Personalize code runs unchanged against
-- personalize-local: each program of spec/compat/programs/ follows one of
-- AWS's originals (the developer guide's SDK for Python and AWS CLI
-- tutorials, the aws-samples/amazon-personalize-samples notebooks) call
-- for call and wait for wait, with only the endpoint, the keys, local data,
-- the IAM role and the length of the sleeps changed (compat.py says how).
-- Each runs with boto3 or the AWS CLI against a fresh bin/personalize-local
-- at its default timings.
--
-- The programs do not depend on the interpreter running this spec, so
-- their results are shared between the two runs of `make test`: the first
-- run saves them in build/compat/results.json under a hash of lua/, bin/
-- and the programs, and a run that finds results for the same hash checks
-- those; it still runs the Getting-started tutorial afresh. COMPAT_FRESH=1
-- runs everything.
local process = require "support.process"
local runner = require "compat.runner"

local have = process.require_peer("python3", "boto3 runs the compatibility programs")
  and process.require_peer("aws", "the AWS CLI runs the CLI tutorial")

local function describe_if(cond, name, fn)
  if cond then describe(name, fn) else pending(name .. " (python3 with boto3, or the AWS CLI, is missing)") end
end

-- A result as one readable line: where it failed and why.
local function why(r)
  if r.ok then return "ok" end
  return ("%s failed at %s: %s: %s\n--- output ---\n%s"):format(r.program or "?", tostring(r.operation),
    tostring(r.code), tostring(r.message), tostring(r.output))
end

describe_if(have, "AWS's published code against personalize-local", function()
  local results

  setup(function()
    local key = runner.key()
    local saved = os.getenv("COMPAT_FRESH") ~= "1" and runner.load(key)
    if saved then
      results = saved
      -- one program afresh under this interpreter's run, the rest shared
      local fresh = runner.run({ "getting_started_python" })
      results.getting_started_python = fresh.getting_started_python
    else
      results = runner.run()
      runner.save(key, results)
    end
    for name, r in pairs(results) do r.program = name end
  end)

  for _, p in ipairs(runner.PROGRAMS) do
    it(("runs %s (%s)"):format(p.name, p.source), function()
      local r = results[p.name]
      assert.is_table(r, "no result for " .. p.name)
      assert.is_true(r.ok, why(r))
    end)
  end

  it("calls every operation family the README's table lists", function()
    local seen = {}
    for _, r in pairs(results) do
      for op in pairs(r.calls or {}) do seen[op] = true end
    end
    for _, op in ipairs {
      "personalize.CreateDatasetImportJob", "personalize.CreateSolutionVersion", "personalize.UpdateCampaign",
      "personalize.CreateRecommender", "personalize.CreateFilter", "personalize.CreateEventTracker",
      "personalize-events.PutEvents", "personalize-events.PutItems", "personalize-events.PutUsers",
      "personalize.CreateBatchInferenceJob", "personalize.CreateBatchSegmentJob",
      "personalize.CreateMetricAttribution", "personalize.CreateDataDeletionJob",
      "personalize.CreateDatasetExportJob", "personalize.DeleteDatasetGroup",
      "personalize-runtime.GetRecommendations", "personalize-runtime.GetPersonalizedRanking",
    } do
      assert.is_true(seen[op] == true, op .. " was not called by any program")
    end
  end)
end)
