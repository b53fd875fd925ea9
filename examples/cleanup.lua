-- Deletes a dataset group and everything in it, in the order Personalize
-- requires (a resource cannot go while another one uses it): campaigns,
-- then solutions (their versions go with them), recommenders, event
-- trackers, filters, metric attributions, datasets, the group itself, and
-- finally the schemas its datasets used when no other dataset uses them.
--
--   lua5.4 examples/cleanup.lua [DATASET_GROUP_NAME_OR_ARN]
--
-- The default is the tutorial's group (TUTORIAL_PREFIX, else
-- "personalize-lua-tutorial"). Runs wherever the tutorial does: set
-- AWS_ENDPOINT_URL (or TUTORIAL_ENDPOINT) for personalize-local.
local personalize = require "personalize"

local opts = {
  region = os.getenv("AWS_REGION") or os.getenv("AWS_DEFAULT_REGION") or "us-east-1",
  endpoint = os.getenv("TUTORIAL_ENDPOINT"),
}
local target = arg and arg[1] or os.getenv("TUTORIAL_PREFIX") or "personalize-lua-tutorial"
local p = personalize.client("personalize", opts)
local wait_opts = { delay = 1, max_delay = 10 }

local function check(res, err)
  if res == nil then
    io.stderr:write("cleanup: ", tostring(err), "\n")
    os.exit(1)
  end
  return res
end

-- Every item of a paginated List* call.
local function all(op, params)
  return check(p:paginate(op, params):all())
end

local group_arn = target:match("^arn:") and target
if not group_arn then
  for _, g in ipairs(all("list_dataset_groups", {})) do
    if g.name == target then group_arn = g.datasetGroupArn end
  end
end
if not group_arn then
  print(("No dataset group %q: nothing to delete."):format(target))
  return
end
print("Deleting " .. group_arn)

-- Deletes each of `list` with `op`, then waits until every one is gone.
local function delete_all(what, list, arn_member, op, waiter)
  for _, r in ipairs(list) do
    check(p[op](p, { [arn_member] = r[arn_member] }))
  end
  for _, r in ipairs(list) do
    check(p:wait(waiter .. "_deleted", r[arn_member], wait_opts))
    print(("  %-18s %s"):format(what, r[arn_member]))
  end
end

local in_group = { datasetGroupArn = group_arn }
local solutions = all("list_solutions", in_group)
local campaigns = {}
for _, s in ipairs(solutions) do
  for _, c in ipairs(all("list_campaigns", { solutionArn = s.solutionArn })) do campaigns[#campaigns + 1] = c end
end
delete_all("campaign", campaigns, "campaignArn", "delete_campaign", "campaign")
delete_all("solution", solutions, "solutionArn", "delete_solution", "solution")
delete_all("recommender", all("list_recommenders", in_group), "recommenderArn", "delete_recommender", "recommender")
delete_all("event tracker", all("list_event_trackers", in_group), "eventTrackerArn", "delete_event_tracker",
  "event_tracker")
delete_all("filter", all("list_filters", in_group), "filterArn", "delete_filter", "filter")
delete_all("metric attribution", all("list_metric_attributions", in_group), "metricAttributionArn",
  "delete_metric_attribution", "metric_attribution")

-- The schemas of the group's datasets, to delete once no dataset uses them.
local datasets, schemas = all("list_datasets", in_group), {}
for _, d in ipairs(datasets) do
  schemas[check(p:describe_dataset { datasetArn = d.datasetArn }).dataset.schemaArn] = true
end
delete_all("dataset", datasets, "datasetArn", "delete_dataset", "dataset")
delete_all("dataset group", { { datasetGroupArn = group_arn } }, "datasetGroupArn", "delete_dataset_group",
  "dataset_group")

local still_used = {}
for _, g in ipairs(all("list_dataset_groups", {})) do
  for _, d in ipairs(all("list_datasets", { datasetGroupArn = g.datasetGroupArn })) do
    still_used[check(p:describe_dataset { datasetArn = d.datasetArn }).dataset.schemaArn] = true
  end
end
local names = {}
for arn in pairs(schemas) do names[#names + 1] = arn end
table.sort(names)
for _, arn in ipairs(names) do
  if still_used[arn] then
    print("  kept schema        " .. arn .. " (used by another dataset group)")
  else
    check(p:delete_schema { schemaArn = arn })
    print("  schema             " .. arn)
  end
end
print("Done.")
