-- The recipes through personalize-local's API, in-process: train, deploy,
-- get_recommendations / get_personalized_ranking, get_solution_metrics.
local support = require "support.engine_local"

local ARN = "arn:aws:personalize:::recipe/"

local function arn_of(res, member) return assert(res, "call failed")[member] end

describe("recipes through personalize-local's API", function()
  local env, group
  setup(function()
    env = support.new { backend = "in-process" }
    group = arn_of(env.personalize:create_dataset_group { name = "recipes" }, "datasetGroupArn")
    env.settle()
    local schema = arn_of(env.personalize:create_schema { name = "s", schema = support.INTERACTIONS_SCHEMA }, "schemaArn")
    local ds = arn_of(env.personalize:create_dataset { name = "d", schemaArn = schema, datasetGroupArn = group,
      datasetType = "Interactions" }, "datasetArn")
    env.settle()
    env.upload("bkt", "i.csv", support.interactions_csv(60, 20))
    local job = arn_of(env.personalize:create_dataset_import_job { jobName = "imp", datasetArn = ds,
      dataSource = { dataLocation = "s3://bkt/i.csv" }, roleArn = "arn:aws:iam::123456789012:role/p" },
      "datasetImportJobArn")
    env.settle()
    local d = assert(env.personalize:describe_dataset_import_job { datasetImportJobArn = job }).datasetImportJob
    assert.equal("ACTIVE", d.status, d.failureReason)
  end)
  teardown(function() env.close() end)

  -- A campaign of a freshly trained solution version of `recipe`.
  local function campaign(recipe)
    local sol = arn_of(env.personalize:create_solution { name = recipe, datasetGroupArn = group,
      recipeArn = ARN .. recipe }, "solutionArn")
    env.settle()
    local sv = arn_of(env.personalize:create_solution_version { solutionArn = sol }, "solutionVersionArn")
    env.settle()
    local v = assert(env.personalize:describe_solution_version { solutionVersionArn = sv }).solutionVersion
    assert.equal("ACTIVE", v.status, v.failureReason)
    local m = assert(env.personalize:get_solution_metrics { solutionVersionArn = sv }).metrics
    assert.is_number(m.normalized_discounted_cumulative_gain_at_10)
    local camp = arn_of(env.personalize:create_campaign { name = "c-" .. recipe, solutionVersionArn = sv },
      "campaignArn")
    env.settle()
    return camp
  end

  it("aws-user-personalization: 25 scored items, the same after a restart", function()
    local camp = campaign("aws-user-personalization")
    local recs = assert(env.runtime:get_recommendations { campaignArn = camp, userId = "user3" }).itemList
    assert.equal(25, #recs)
    local sum = 0
    for _, r in ipairs(recs) do
      assert.is_number(r.score)
      sum = sum + r.score
    end
    assert.is_true(sum <= 1.0001)
    env.reopen()
    assert.same(recs, assert(env.runtime:get_recommendations { campaignArn = camp, userId = "user3" }).itemList)
  end)

  it("aws-personalized-ranking: the input list reordered with scores over it", function()
    local camp = campaign("aws-personalized-ranking")
    local input = { "item9", "item1", "item4", "nothing" }
    local list = assert(env.runtime:get_personalized_ranking { campaignArn = camp, userId = "user3",
      inputList = input }).personalizedRanking
    assert.equal(4, #list)
    assert.equal("nothing", list[4].itemId)
    local sum = 0
    for _, r in ipairs(list) do sum = sum + r.score end
    assert.is_true(math.abs(sum - 1) < 0.001)
  end)

  it("aws-sims: related items without scores", function()
    local camp = campaign("aws-sims")
    local recs = assert(env.runtime:get_recommendations { campaignArn = camp, itemId = "item2", numResults = 5 }).itemList
    assert.equal(5, #recs)
    for _, r in ipairs(recs) do
      assert.is_nil(r.score)
      assert.not_equal("item2", r.itemId)
    end
  end)
end)
