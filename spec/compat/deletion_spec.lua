-- Clean-up in the order AWS's own code does it. The getting-started
-- clean-up notebook (amazon-personalize-samples 99.Cleanup) deletes the
-- campaign, sleeps a minute and deletes the solution; it never waits for
-- the campaign to be gone, and the same for the event tracker before the
-- dataset and the dataset before the schema. The API reference asks only
-- that the campaigns be deleted first ("Before deleting a solution, you
-- must delete all campaigns based on the solution": DeleteSolution), so a
-- resource whose deletion is under way no longer holds what it used. The
-- documentation does not say whether AWS refuses while that deletion is in
-- progress; the engine takes the permissive reading. What is still live
-- keeps its parent, as on AWS.
local support = require "support.engine_local"

describe("personalize-local deletions in AWS's clean-up order", function()
  local env
  before_each(function() env = support.new { timings = { pending = 5, in_progress = 5 } } end)
  after_each(function() env.close() end)

  it("let a solution go while its campaign is being deleted, not while it is live", function()
    local sv, group = support.trained(env, { name = "del", items_schema = support.ITEMS_SCHEMA,
      items_csv = "ITEM_ID,GENRES\nitem1,Drama\nitem2,Comedy\n" })
    local p = env.personalize
    local camp = assert(p:create_campaign { name = "c", solutionVersionArn = sv }).campaignArn
    env.settle()
    local solution = assert(p:describe_solution_version { solutionVersionArn = sv }).solutionVersion.solutionArn
    local _, err = p:delete_solution { solutionArn = solution }
    assert.equal("ResourceInUseException", err and err.code)

    assert(p:delete_campaign { campaignArn = camp })
    env.advance(1)
    local status = assert(p:describe_campaign { campaignArn = camp }).campaign.status
    assert.matches("^DELETE", status)
    assert(p:delete_solution { solutionArn = solution })

    local tracker = assert(p:create_event_tracker { name = "t", datasetGroupArn = group }).eventTrackerArn
    env.settle()
    local datasets = assert(p:list_datasets { datasetGroupArn = group }).datasets
    local _, derr = p:delete_dataset_group { datasetGroupArn = group }
    assert.equal("ResourceInUseException", derr and derr.code)
    assert(p:delete_event_tracker { eventTrackerArn = tracker })
    for _, d in ipairs(datasets) do
      local schema = assert(p:describe_dataset { datasetArn = d.datasetArn }).dataset.schemaArn
      env.advance(1)
      assert(p:delete_dataset { datasetArn = d.datasetArn })
      env.advance(1)
      assert(p:delete_schema { schemaArn = schema })
    end
    env.settle()
    assert.same({}, assert(p:list_campaigns {}).campaigns)
    assert.same({}, assert(p:list_datasets { datasetGroupArn = group }).datasets)
    assert(p:delete_dataset_group { datasetGroupArn = group })
  end)
end)
