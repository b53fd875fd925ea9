-- The AWS CLI, a client no one here wrote, runs the tutorial's calls
-- against personalize-local served by nginx: it must accept every
-- response, and the engine must accept its signatures.
local process = require "support.process"
local core = require "personalize.core"
local support = require "support.engine_local"

local have_cli = process.require_peer("aws", "the AWS CLI")

local function describe_if(cond, name, fn)
  if cond then describe(name, fn) else pending(name .. " (the AWS CLI is not installed)") end
end

describe_if(have_cli, "personalize-local with the AWS CLI", function()
  local server, dir

  setup(function()
    server = require("support.engine_server").start { timings = { pending = 0.05, in_progress = 0.05 } }
    dir = os.tmpname()
  end)

  teardown(function()
    if server then server.stop() end
    os.remove(dir)
  end)

  local function aws(args, opts)
    opts = opts or {}
    local res = server.aws(args, { access_key_id = opts.access_key_id,
                                   secret_access_key = opts.secret_access_key })
    if opts.fails then
      assert.is_false(res.ok, "expected a failure: " .. table.concat(args, " "))
      return res
    end
    assert.is_true(res.ok, table.concat(args, " ") .. " failed:\n" .. res.stderr)
    return res.json or {}
  end

  -- Polls a describe command until `path(result)` is a final status.
  local function wait_status(args, path, want)
    local deadline = core.now() + 30
    local status
    repeat
      status = path(aws(args))
      if status == want or status:find("FAILED") then break end
      core.sleep(0.1)
    until core.now() > deadline
    assert.equal(want, status)
  end

  it("runs the tutorial from schema to recommendations and events", function()
    local csv = dir .. ".csv"
    local f = assert(io.open(csv, "w"))
    f:write(support.interactions_csv(60, 20))
    f:close()
    aws { "s3api", "create-bucket", "--bucket", "cli-bucket" }
    aws { "s3api", "put-bucket-policy", "--bucket", "cli-bucket", "--policy", support.bucket_policy("cli-bucket") }
    aws { "s3api", "put-object", "--bucket", "cli-bucket", "--key", "in/interactions.csv", "--body", csv }
    os.remove(csv)
    local listed = aws { "s3api", "list-objects-v2", "--bucket", "cli-bucket", "--prefix", "in" }
    assert.equal("in/interactions.csv", listed.Contents[1].Key)

    local schema = aws { "personalize", "create-schema", "--name", "cli-schema",
      "--schema", support.INTERACTIONS_SCHEMA }.schemaArn
    assert.equal("arn:aws:personalize:us-east-1:123456789012:schema/cli-schema", schema)
    local group = aws { "personalize", "create-dataset-group", "--name", "cli-group" }.datasetGroupArn
    wait_status({ "personalize", "describe-dataset-group", "--dataset-group-arn", group },
      function(r) return r.datasetGroup.status end, "ACTIVE")
    local dataset = aws { "personalize", "create-dataset", "--name", "cli-interactions",
      "--dataset-type", "Interactions", "--dataset-group-arn", group, "--schema-arn", schema }.datasetArn
    wait_status({ "personalize", "describe-dataset", "--dataset-arn", dataset },
      function(r) return r.dataset.status end, "ACTIVE")
    local job = aws { "personalize", "create-dataset-import-job", "--job-name", "cli-import",
      "--dataset-arn", dataset, "--role-arn", "arn:aws:iam::123456789012:role/p",
      "--data-source", "dataLocation=s3://cli-bucket/in/interactions.csv" }.datasetImportJobArn
    wait_status({ "personalize", "describe-dataset-import-job", "--dataset-import-job-arn", job },
      function(r) return r.datasetImportJob.status end, "ACTIVE")

    local recipes = aws { "personalize", "list-recipes" }.recipes
    assert.is_true(#recipes >= 12)
    local solution = aws { "personalize", "create-solution", "--name", "cli-solution",
      "--dataset-group-arn", group, "--recipe-arn", "arn:aws:personalize:::recipe/aws-popularity-count" }.solutionArn
    wait_status({ "personalize", "describe-solution", "--solution-arn", solution },
      function(r) return r.solution.status end, "ACTIVE")
    local version = aws { "personalize", "create-solution-version", "--solution-arn", solution }.solutionVersionArn
    wait_status({ "personalize", "describe-solution-version", "--solution-version-arn", version },
      function(r) return r.solutionVersion.status end, "ACTIVE")
    local metrics = aws { "personalize", "get-solution-metrics", "--solution-version-arn", version }.metrics
    assert.is_number(metrics.precision_at_10)
    local campaign = aws { "personalize", "create-campaign", "--name", "cli-campaign",
      "--solution-version-arn", version, "--min-provisioned-tps", "1" }.campaignArn
    wait_status({ "personalize", "describe-campaign", "--campaign-arn", campaign },
      function(r) return r.campaign.status end, "ACTIVE")

    local recs = aws { "personalize-runtime", "get-recommendations", "--campaign-arn", campaign,
      "--user-id", "user1", "--num-results", "7" }
    assert.equal(7, #recs.itemList)

    local tracker = aws { "personalize", "create-event-tracker", "--name", "cli-tracker",
      "--dataset-group-arn", group }
    aws { "personalize-events", "put-events", "--tracking-id", tracker.trackingId, "--user-id", "user1",
      "--session-id", "s1", "--event-list",
      '[{"eventType":"watch","itemId":"item2","sentAt":1700000999}]' }

    local paged = aws { "personalize", "list-dataset-import-jobs", "--dataset-arn", dataset }
    assert.equal(1, #paged.datasetImportJobs)
    aws { "personalize", "tag-resource", "--resource-arn", group, "--tags", "tagKey=team,tagValue=recs" }
    assert.equal("recs", aws { "personalize", "list-tags-for-resource", "--resource-arn", group }.tags[1].tagValue)
  end)

  it("gets the API's error codes", function()
    local res = aws({ "personalize", "describe-schema", "--schema-arn",
      "arn:aws:personalize:us-east-1:123456789012:schema/none" }, { fails = true })
    assert.matches("ResourceNotFoundException", res.stderr)
    res = aws({ "personalize", "list-schemas" }, { fails = true, secret_access_key = "wrong" })
    assert.matches("InvalidSignatureException", res.stderr)
    res = aws({ "personalize", "list-schemas" }, { fails = true, access_key_id = "AKIANOTKNOWN" })
    assert.matches("UnrecognizedClientException", res.stderr)
    res = aws({ "s3api", "list-objects-v2", "--bucket", "cli-bucket" }, { fails = true, secret_access_key = "wrong" })
    assert.matches("SignatureDoesNotMatch", res.stderr)
    res = aws({ "s3api", "get-object", "--bucket", "cli-bucket", "--key", "missing", dir .. ".out" }, { fails = true })
    assert.matches("NoSuchKey", res.stderr)
  end)
end)
