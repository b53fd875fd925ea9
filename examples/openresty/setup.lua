-- Sets up what the OpenResty example serves: a campaign trained on a data
-- directory (interactions.csv, items.csv) and an event tracker, against
-- the Personalize at AWS_ENDPOINT_URL (personalize-local in run.sh).
--
--   lua5.4 examples/openresty/setup.lua data/small
--   -- prints shell assignments: CAMPAIGN_ARN='...' TRACKING_ID='...'
--
--   local setup = dofile("examples/openresty/setup.lua")
--   local out = setup{ data_dir = "data/small", endpoint = ..., region = ...,
--                      credentials = { access_key_id = ..., secret_access_key = ... } }
--   -- out.campaign_arn, out.tracking_id; raises with the error otherwise
local personalize = require "personalize"

local function check(res, err)
  if res == nil then error("setup: " .. tostring(err), 0) end
  return res
end

local function setup(o)
  local prefix = o.prefix or "openresty-example"
  local opts = { endpoint = o.endpoint, region = o.region, credentials = o.credentials }
  local p = personalize.client("personalize", opts)
  local s3 = personalize.client("s3", opts)
  local wait = { delay = 0.2, max_delay = 2, timeout = 600 }

  local group = check(p:create_dataset_group { name = prefix }).datasetGroupArn
  check(p:wait("dataset_group", group, wait))
  local schemas = {
    Interactions = check(personalize.schema.interactions {
      { "USER_ID", "string" }, { "ITEM_ID", "string" }, { "TIMESTAMP", "long" },
      { "EVENT_TYPE", "string" }, { "EVENT_VALUE", "float", nullable = true } }),
    Items = check(personalize.schema.items {
      { "ITEM_ID", "string" }, { "TITLE", "string", nullable = true },
      { "GENRES", "string", categorical = true } }),
  }
  local bucket = prefix .. "-bucket"
  local made, merr = s3:create_bucket { Bucket = bucket }
  if not made and merr.code ~= "BucketAlreadyOwnedByYou" then check(nil, merr) end
  check(s3:put_bucket_policy { Bucket = bucket, Policy = {
    Version = "2012-10-17",
    Statement = { { Effect = "Allow", Principal = { Service = "personalize.amazonaws.com" },
                    Action = { "s3:GetObject", "s3:ListBucket" },
                    Resource = { "arn:aws:s3:::" .. bucket, "arn:aws:s3:::" .. bucket .. "/*" } } },
  } })

  local jobs = {}
  for _, d in ipairs { { "Interactions", "interactions.csv" }, { "Items", "items.csv" } } do
    local kind, file = d[1], d[2]
    local schema = check(p:create_schema { name = prefix .. "-" .. file:gsub("%.csv$", ""),
                                           schema = schemas[kind] }).schemaArn
    local dataset = check(p:create_dataset { name = prefix .. "-" .. kind:lower(), datasetType = kind,
                                             datasetGroupArn = group, schemaArn = schema }).datasetArn
    check(p:wait("dataset", dataset, wait))
    check(s3:upload_file(o.data_dir .. "/" .. file, bucket, file))
    jobs[#jobs + 1] = check(p:create_dataset_import_job {
      jobName = prefix .. "-" .. kind:lower(), datasetArn = dataset,
      roleArn = "arn:aws:iam::123456789012:role/PersonalizeS3Access",
      dataSource = { dataLocation = ("s3://%s/%s"):format(bucket, file) } }).datasetImportJobArn
  end
  for _, job in ipairs(jobs) do check(p:wait("dataset_import_job", job, wait)) end

  local solution = check(p:create_solution { name = prefix .. "-solution", datasetGroupArn = group,
    recipeArn = "arn:aws:personalize:::recipe/aws-user-personalization" }).solutionArn
  check(p:wait("solution", solution, wait))
  local version = check(p:create_solution_version { solutionArn = solution }).solutionVersionArn
  check(p:wait("solution_version", version, wait))
  local campaign = check(p:create_campaign { name = prefix .. "-campaign", solutionVersionArn = version,
                                             minProvisionedTPS = 1 }).campaignArn
  check(p:wait("campaign", campaign, wait))
  local tracker = check(p:create_event_tracker { name = prefix .. "-tracker", datasetGroupArn = group })
  check(p:wait("event_tracker", tracker.eventTrackerArn, wait))
  return { campaign_arn = campaign, tracking_id = tracker.trackingId, dataset_group_arn = group }
end

-- As a script: endpoint, region and keys from the usual environment.
if arg and arg[0] and arg[0]:match("setup%.lua$") then
  local ok, out = pcall(setup, { data_dir = arg[1] or "data/small" })
  if not ok then
    io.stderr:write(tostring(out), "\n")
    os.exit(1)
  end
  print(("CAMPAIGN_ARN='%s'"):format(out.campaign_arn))
  print(("TRACKING_ID='%s'"):format(out.tracking_id))
end

return setup
