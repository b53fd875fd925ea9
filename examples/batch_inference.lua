-- Batch recommendations from S3: a JSON Lines file of users goes up, a
-- batch inference job runs the tutorial's solution version over it, and
-- the job's output file comes back as a table.
--
--   lua5.4 examples/batch_inference.lua [USER_ID ...]      (default 1 2 3)
--
-- Needs the resources of examples/tutorial.lua (same TUTORIAL_PREFIX,
-- TUTORIAL_BUCKET, TUTORIAL_ROLE_ARN and endpoint settings).
local personalize = require "personalize"
local cjson = require "cjson"

local opts = {
  region = os.getenv("AWS_REGION") or os.getenv("AWS_DEFAULT_REGION") or "us-east-1",
  endpoint = os.getenv("TUTORIAL_ENDPOINT"),
}
local prefix = os.getenv("TUTORIAL_PREFIX") or "personalize-lua-tutorial"
local bucket = os.getenv("TUTORIAL_BUCKET") or prefix .. "-bucket"
local role_arn = os.getenv("TUTORIAL_ROLE_ARN") or "arn:aws:iam::123456789012:role/PersonalizeS3Access"
local users = { "1", "2", "3" }
if arg and #arg > 0 then
  users = {}
  for i = 1, #arg do users[i] = arg[i] end
end

local function check(res, err)
  if res == nil then
    io.stderr:write("batch_inference: ", tostring(err), "\n")
    os.exit(1)
  end
  return res
end

local p = personalize.client("personalize", opts)
local s3 = personalize.client("s3", opts)

-- The tutorial's solution and its newest ACTIVE version.
local solution_arn
for s in p:paginate("list_solutions"):items() do
  if s.name == prefix .. "-solution" then solution_arn = s.solutionArn end
end
if not solution_arn then check(nil, "no solution " .. prefix .. "-solution: run examples/tutorial.lua first") end
local version_arn
for v in p:paginate("list_solution_versions", { solutionArn = solution_arn }):items() do
  if v.status == "ACTIVE" and not version_arn then version_arn = v.solutionVersionArn end
end
if not version_arn then check(nil, "solution " .. solution_arn .. " has no ACTIVE version") end

-- Personalize writes the results to the bucket: its policy must allow
-- s3:PutObject as well as the reads the import needed.
check(s3:put_bucket_policy { Bucket = bucket, Policy = {
  Version = "2012-10-17",
  Statement = { {
    Sid = "PersonalizeS3BucketAccessPolicy", Effect = "Allow",
    Principal = { Service = "personalize.amazonaws.com" },
    Action = { "s3:GetObject", "s3:PutObject", "s3:ListBucket" },
    Resource = { "arn:aws:s3:::" .. bucket, "arn:aws:s3:::" .. bucket .. "/*" },
  } },
} })

-- One JSON object per line: the input format of USER_PERSONALIZATION jobs.
local lines = {}
for i, user in ipairs(users) do lines[i] = cjson.encode { userId = user } end
check(s3:put_object { Bucket = bucket, Key = "batch/users.json", Body = table.concat(lines, "\n") .. "\n" })

local job_name = ("%s-batch-%d"):format(prefix, os.time())
local job_arn = check(p:create_batch_inference_job {
  jobName = job_name, solutionVersionArn = version_arn, roleArn = role_arn, numResults = 5,
  jobInput = { s3DataSource = { path = ("s3://%s/batch/users.json"):format(bucket) } },
  jobOutput = { s3DataDestination = { path = ("s3://%s/batch/%s/"):format(bucket, job_name) } },
}).batchInferenceJobArn
print("Batch inference job " .. job_arn)
check(p:wait("batch_inference_job", job_arn, { delay = 1, max_delay = 30 }))

-- The output is the input file's name plus ".out", under the destination.
local out = check(s3:get_object { Bucket = bucket, Key = ("batch/%s/users.json.out"):format(job_name) }).Body
local rows = {}
for line in out:gmatch("[^\n]+") do
  local rec = cjson.decode(line)
  local items = rec.output and rec.output.recommendedItems
  rows[#rows + 1] = {
    userId = rec.input.userId,
    items = type(items) == "table" and table.concat(items, " ") or "",
    error = rec.error ~= cjson.null and rec.error or nil,
  }
end
print(personalize.frame(rows, { columns = { "userId", "items", "error" } }))
