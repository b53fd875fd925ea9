-- The Amazon Personalize tutorial, step by step, in Lua: schema -> dataset
-- group -> datasets -> S3 upload with a bucket policy -> imports -> recipe
-- -> solution -> training -> metrics -> campaign -> recommendations shown
-- as a table with the movies' titles, similar items from a second
-- solution (SIMS), then a live event that changes the next answer.
--
--   lua5.4 examples/tutorial.lua [DATA_DIR]
--
-- DATA_DIR holds interactions.csv (USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE,
-- EVENT_VALUE) and items.csv (ITEM_ID,TITLE,GENRES): `make data` writes
-- data/movielens (MovieLens ml-latest-small) and data/small.
--
-- Where it runs: against personalize-local when AWS_ENDPOINT_URL names it
-- (`make demo` starts one), or `endpoint = "local:DIR"` in-process with
-- TUTORIAL_ENDPOINT=local:DIR; against AWS when no endpoint is set, with
-- your usual credentials and region, TUTORIAL_ROLE_ARN naming a role
-- Personalize may assume and TUTORIAL_BUCKET a bucket name of your own.
-- Each step can be typed in the REPL as it is written here.
--
-- Running it again: every resource has a fixed name (TUTORIAL_PREFIX), and
-- each step first looks for the resource of its name an earlier run made:
-- found, it is reused ("reusing" instead of "created"); a solution with an
-- ACTIVE version is not trained again. A second run in a row thus
-- takes seconds, not another training. To start from nothing, delete
-- everything first with examples/cleanup.lua (same environment).
local personalize = require "personalize"

local data_dir = arg and arg[1] or "data/movielens"
local opts = {
  region = os.getenv("AWS_REGION") or os.getenv("AWS_DEFAULT_REGION") or "us-east-1",
  endpoint = os.getenv("TUTORIAL_ENDPOINT"),
}
local names = {
  prefix = os.getenv("TUTORIAL_PREFIX") or "personalize-lua-tutorial",
}
local bucket = os.getenv("TUTORIAL_BUCKET") or names.prefix .. "-bucket"
local role_arn = os.getenv("TUTORIAL_ROLE_ARN") or "arn:aws:iam::123456789012:role/PersonalizeS3Access"
local recipe_arn = os.getenv("TUTORIAL_RECIPE") or "arn:aws:personalize:::recipe/aws-user-personalization"

local function step(title)
  io.write("\n== ", title, "\n")
end

-- Stops the script with the error's message (code, operation, reason).
local function check(res, err)
  if res == nil then
    io.stderr:write("tutorial: ", tostring(err), "\n")
    os.exit(1)
  end
  return res
end

local wait_opts = { delay = 1, max_delay = 10 }

local p = personalize.client("personalize", opts)
local runtime = personalize.client("personalize-runtime", opts)
local events = personalize.client("personalize-events", opts)
local s3 = personalize.client("s3", opts)

-- The ARN of the resource of this name an earlier run made, found with the
-- List* call `list` names ({ op, params, arn }), else of a new one made
-- with `op`. list.any: any resource listed will do (a dataset group has at
-- most one event tracker, whatever its name).
local function create(what, op, params, list)
  local name = params.name or params.jobName
  for _, r in ipairs(check(p:paginate(list.op, list.params or {}):all())) do
    if list.any or (r.name or r.jobName) == name then
      print(("  reusing %s %s"):format(what, r[list.arn]))
      return r[list.arn]
    end
  end
  local arn = check(p[op](p, params))[list.arn]
  print(("  created %s %s"):format(what, arn))
  return arn
end

-- A solution with `recipe` and a trained version of it: the newest ACTIVE
-- version when an earlier run trained one, else a new version (waited for).
local function trained_solution(name, group_arn, recipe)
  local solution_arn = create("solution", "create_solution",
    { name = name, datasetGroupArn = group_arn, recipeArn = recipe },
    { op = "list_solutions", params = { datasetGroupArn = group_arn }, arn = "solutionArn" })
  check(p:wait("solution", solution_arn, wait_opts))
  local newest
  for _, v in ipairs(check(p:paginate("list_solution_versions", { solutionArn = solution_arn }):all())) do
    local usable = v.status == "ACTIVE" or v.status == "CREATE PENDING" or v.status == "CREATE IN_PROGRESS"
    if usable and (not newest or v.creationDateTime > newest.creationDateTime) then newest = v end
  end
  local version_arn
  if newest then
    version_arn = newest.solutionVersionArn
    print(("  reusing solution version %s (%s)"):format(version_arn, newest.status))
  else
    version_arn = check(p:create_solution_version { solutionArn = solution_arn }).solutionVersionArn
    print("  training solution version " .. version_arn)
  end
  local version = check(p:wait("solution_version", version_arn, wait_opts)).solutionVersion
  print(("  %s: %s"):format(version_arn, version.status))
  return solution_arn, version_arn
end


print(("Personalize at %s (%s)"):format(p.endpoint, p.region))
print("(a second run reuses what this one makes; examples/cleanup.lua deletes it all)")

step("Create the schemas")
local interactions_schema = check(personalize.schema.interactions {
  { "USER_ID", "string" }, { "ITEM_ID", "string" }, { "TIMESTAMP", "long" },
  { "EVENT_TYPE", "string" }, { "EVENT_VALUE", "float" },
})
local items_schema = check(personalize.schema.items {
  { "ITEM_ID", "string" }, { "TITLE", "string", nullable = true }, { "GENRES", "string", categorical = true },
})
local schemas = { op = "list_schemas", arn = "schemaArn" }
local interactions_schema_arn = create("schema", "create_schema",
  { name = names.prefix .. "-interactions", schema = interactions_schema }, schemas)
local items_schema_arn = create("schema", "create_schema",
  { name = names.prefix .. "-items", schema = items_schema }, schemas)

step("Create the dataset group")
local dataset_group_arn = create("dataset group", "create_dataset_group", { name = names.prefix },
  { op = "list_dataset_groups", arn = "datasetGroupArn" })
check(p:wait("dataset_group", dataset_group_arn, wait_opts))
print("  " .. dataset_group_arn .. ": ACTIVE")

step("Create the datasets")
local in_group = { datasetGroupArn = dataset_group_arn }
local datasets = { op = "list_datasets", params = in_group, arn = "datasetArn" }
local interactions_arn = create("dataset", "create_dataset", {
  name = names.prefix .. "-interactions", datasetType = "Interactions",
  datasetGroupArn = dataset_group_arn, schemaArn = interactions_schema_arn }, datasets)
local items_arn = create("dataset", "create_dataset", {
  name = names.prefix .. "-items", datasetType = "Items",
  datasetGroupArn = dataset_group_arn, schemaArn = items_schema_arn }, datasets)
check(p:wait("dataset", interactions_arn, wait_opts))
check(p:wait("dataset", items_arn, wait_opts))

step("Upload the data to S3, with a policy that lets Personalize read it")
local created, cerr = s3:create_bucket { Bucket = bucket }
if not created and cerr.code ~= "BucketAlreadyOwnedByYou" then check(nil, cerr) end
check(s3:put_bucket_policy { Bucket = bucket, Policy = {
  Version = "2012-10-17",
  Id = "PersonalizeS3BucketAccessPolicy",
  Statement = { {
    Sid = "PersonalizeS3BucketAccessPolicy", Effect = "Allow",
    Principal = { Service = "personalize.amazonaws.com" },
    Action = { "s3:GetObject", "s3:ListBucket" },
    Resource = { "arn:aws:s3:::" .. bucket, "arn:aws:s3:::" .. bucket .. "/*" },
  } },
} })
for _, file in ipairs { "interactions.csv", "items.csv" } do
  -- a progress bar with bytes and rate on a terminal
  check(s3:upload_file(data_dir .. "/" .. file, bucket, file))
  print(("  s3://%s/%s"):format(bucket, file))
end

step("Import the data, and wait for the import jobs")
local imports = {
  { arn = interactions_arn, file = "interactions.csv", job = names.prefix .. "-interactions-import" },
  { arn = items_arn, file = "items.csv", job = names.prefix .. "-items-import" },
}
for _, imp in ipairs(imports) do
  imp.job_arn = create("import job", "create_dataset_import_job", {
    jobName = imp.job, datasetArn = imp.arn, roleArn = role_arn,
    dataSource = { dataLocation = ("s3://%s/%s"):format(bucket, imp.file) } },
    { op = "list_dataset_import_jobs", params = { datasetArn = imp.arn }, arn = "datasetImportJobArn" })
end
for _, imp in ipairs(imports) do
  check(p:wait("dataset_import_job", imp.job_arn, wait_opts))
  print("  " .. imp.job_arn .. ": ACTIVE")
end

step("The recipes")
local recipes = check(p:paginate("list_recipes", {}):all())
print(personalize.frame(recipes, { columns = { "name", "domain", "status" } }))

step("Create the solution and train a solution version")
local _, version_arn = trained_solution(names.prefix .. "-solution", dataset_group_arn, recipe_arn)

step("Solution metrics")
local metrics = check(p:get_solution_metrics { solutionVersionArn = version_arn }).metrics
local rows = {}
for name, value in pairs(metrics) do rows[#rows + 1] = { metric = name, value = value } end
print(personalize.frame(rows, { columns = { "metric", "value" } }):sort_by("metric"))

step("Create the campaign")
local campaigns = { op = "list_campaigns", arn = "campaignArn" }
local campaign_arn = create("campaign", "create_campaign", {
  name = names.prefix .. "-campaign", solutionVersionArn = version_arn, minProvisionedTPS = 1 }, campaigns)
check(p:wait("campaign", campaign_arn, wait_opts))
print("  " .. campaign_arn .. ": ACTIVE")

step("Recommendations for user 1, with the movies' titles")
local items = check(personalize.frame.from_csv(data_dir .. "/items.csv", { strings = true }))
local function show(result)
  local recs = personalize.frame.from_result(result)
  print(recs:join(items, "itemId", "ITEM_ID"):select("itemId", "TITLE", "GENRES"):head(10))
end
local user = os.getenv("TUTORIAL_USER") or "1"
show(check(runtime:get_recommendations { campaignArn = campaign_arn, userId = user, numResults = 10 }))

step("Similar items: a second solution with the SIMS recipe")
local _, sims_version_arn = trained_solution(names.prefix .. "-sims", dataset_group_arn,
  "arn:aws:personalize:::recipe/aws-sims")
local sims_campaign_arn = create("campaign", "create_campaign", {
  name = names.prefix .. "-sims-campaign", solutionVersionArn = sims_version_arn, minProvisionedTPS = 1 }, campaigns)
check(p:wait("campaign", sims_campaign_arn, wait_opts))
local liked = os.getenv("TUTORIAL_ITEM") or check(runtime:get_recommendations {
  campaignArn = campaign_arn, userId = user, numResults = 1 }).itemList[1].itemId
print("  items like " .. liked .. ":")
show(check(runtime:get_recommendations { campaignArn = sims_campaign_arn, itemId = liked, numResults = 10 }))

step("Compare the recipes: a popularity-count baseline, and the metrics side by side")
local _, popular_version_arn = trained_solution(names.prefix .. "-popularity", dataset_group_arn,
  "arn:aws:personalize:::recipe/aws-popularity-count")
local compared = {}
for _, v in ipairs {
  { "user-personalization", version_arn }, { "popularity-count", popular_version_arn }, { "sims", sims_version_arn },
} do
  compared[#compared + 1] = { v[1], check(p:get_solution_metrics { solutionVersionArn = v[2] }).metrics }
end
print(personalize.chart.metrics(compared, { metrics = {
  "coverage", "mean_reciprocal_rank_at_25", "normalized_discounted_cumulative_gain_at_10", "precision_at_10" } }))

step("Send an event with an event tracker, then ask again")
local tracker_arn = create("event tracker", "create_event_tracker",
  { name = names.prefix .. "-tracker", datasetGroupArn = dataset_group_arn },
  { op = "list_event_trackers", params = in_group, arn = "eventTrackerArn", any = true })
local tracker = check(p:wait("event_tracker", tracker_arn, wait_opts)).eventTracker
local first = check(runtime:get_recommendations { campaignArn = campaign_arn, userId = user, numResults = 1 })
local watched = first.itemList[1].itemId
check(events:put_events { trackingId = tracker.trackingId, userId = user, sessionId = "tutorial-session",
  eventList = { { eventType = "watch", itemId = watched, eventValue = 1, sentAt = os.time() } } })
print(("  user %s watched item %s (event sent with tracking id %s)"):format(user, watched, tracker.trackingId))
show(check(runtime:get_recommendations { campaignArn = campaign_arn, userId = user, numResults = 10 }))

print("\nDone: the dataset group " .. dataset_group_arn .. " holds every resource of this tutorial.")
print("Run it again to reuse them, or delete them all with examples/cleanup.lua.")
