-- bin/personalize-local keeps answering while its jobs run: a 1M-row
-- import, a training on those 1M interactions, then both at once run in
-- the worker's thread pool while the spec times describe_*,
-- get_recommendations and the health check; JSON bodies above the limit
-- are refused unread.
local socket = require "socket"
local core = require "personalize.core"
local client = require "personalize.client"
local engine_server = require "support.engine_server"
local support = require "support.engine_local"
local files = require "support.files"
local engine_jobs = require "support.engine_jobs"

local ROLE = support.ROLE
local RECIPE = "arn:aws:personalize:::recipe/"
local BOUND = 0.05            -- seconds an answer may take
local SHARE = 0.99            -- of the answers timed while a job ran
local MIN_SAMPLES = 20        -- answers timed while the job was in progress

local INTERACTIONS = 1000000
local IMPORT_COPIES = 6       -- copies of the 1M-row file the timed import reads

local write_interactions = engine_jobs.write_interactions
local function health(port) return (engine_jobs.health(port)) end

describe("bin/personalize-local while jobs run", function()
  local server, p, runtime, s3, dir

  setup(function()
    server = engine_server.start { timings = { pending = 0, in_progress = 0 } }
    local copts = server.client_opts { max_attempts = 1, read_timeout = 60 }
    p = client.new("personalize", copts)
    runtime = client.new("personalize-runtime", copts)
    s3 = client.new("s3", copts)
    dir = files.tmpdir()
  end)

  teardown(function()
    if server then server.stop() end
    if dir then core.remove_tree(dir) end
  end)

  local function wait(kind, arn)
    local res, err = p:wait(kind, arn, { delay = 0.05, max_delay = 0.2, timeout = 600, progress = false })
    assert(res, tostring(err))
    return res
  end

  local function put_file(bucket, key, path)
    local ok, err = s3:create_bucket { Bucket = bucket }
    if not ok and err.code ~= "BucketAlreadyOwnedByYou" then error(tostring(err)) end
    assert(s3:put_bucket_policy { Bucket = bucket, Policy = support.bucket_policy(bucket) })
    assert(s3:put_object { Bucket = bucket, Key = key, File = path })
  end

  -- A group with an interactions dataset; its ARNs.
  local function group(name)
    local g = assert(p:create_dataset_group { name = name }).datasetGroupArn
    wait("dataset_group", g)
    local sch = assert(p:create_schema { name = name .. "-s", schema = support.INTERACTIONS_SCHEMA }).schemaArn
    local ds = assert(p:create_dataset { name = name .. "-i", schemaArn = sch, datasetGroupArn = g,
                                         datasetType = "Interactions" }).datasetArn
    wait("dataset", ds)
    return g, ds
  end

  local imports = 0
  local function import(ds, bucket, key)
    imports = imports + 1
    local job = assert(p:create_dataset_import_job { jobName = "imp-" .. imports, datasetArn = ds,
      dataSource = { dataLocation = ("s3://%s/%s"):format(bucket, key) }, roleArn = ROLE }).datasetImportJobArn
    return job
  end

  -- Times requests of every kind until `describe()` says the job left
  -- IN_PROGRESS: { n =, fast =, during =, slowest = }.
  local function time_requests(describe, campaign, group_arn)
    local calls = {
      function() return p:describe_dataset_group { datasetGroupArn = group_arn } end,
      function() return runtime:get_recommendations { campaignArn = campaign, userId = "user3", numResults = 5 } end,
      function() return health(server.port) == 200 end,
      describe,
    }
    local stats = { n = 0, fast = 0, during = 0, slowest = 0 }
    local k = 0
    while true do
      k = k + 1
      local call = calls[(k - 1) % #calls + 1]
      local started = core.time()
      local res = call()
      local took = core.time() - started
      assert(res, "a request failed while the job ran")
      stats.n = stats.n + 1
      if took <= BOUND then stats.fast = stats.fast + 1 end
      if took > stats.slowest then stats.slowest = took end
      if call == describe then
        local status = res
        if status ~= "CREATE IN_PROGRESS" and status ~= "CREATE PENDING" then return stats, status end
        stats.during = stats.during + 1
      end
      socket.sleep(0.005)
    end
  end

  -- Sends the head of a request and `sent` bytes of its body, then reads
  -- the answer: status, body.
  local function partial(method, path, headers, sent)
    local c = socket.tcp()
    c:settimeout(10)
    assert(c:connect("127.0.0.1", server.port))
    local lines = { ("%s %s HTTP/1.1"):format(method, path), "Host: 127.0.0.1:" .. server.port }
    for _, h in ipairs(headers) do lines[#lines + 1] = h end
    assert(c:send(table.concat(lines, "\r\n") .. "\r\n\r\n" .. (sent or "")))
    local status_line = assert(c:receive("*l"))
    local length
    while true do
      local l = assert(c:receive("*l"))
      if l == "" then break end
      length = tonumber(l:match("^[Cc]ontent%-[Ll]ength:%s*(%d+)")) or length
    end
    local body = length and c:receive(length) or ""
    c:close()
    return tonumber(status_line:match("^HTTP/1%.%d (%d+)")), body
  end

  local SIGNED = "Authorization: AWS4-HMAC-SHA256 Credential=AKIAPERSONALIZELOCAL/20260101/us-east-1/personalize/"
    .. "aws4_request, SignedHeaders=host, Signature=00"

  it("refuses JSON bodies above 1 MiB from their Content-Length, before reading them", function()
    local cjson = require "cjson"
    -- 100 MB announced, 1 KB sent: the answer comes without the rest.
    local status, body = partial("POST", "/", { "X-Amz-Target: AmazonPersonalize.CreateSchema",
      "Content-Type: application/x-amz-json-1.1", "Content-Length: 104857600" }, ("x"):rep(1024))
    assert.equal(413, status)
    local doc = cjson.decode(body)
    assert.equal("RequestEntityTooLargeException", doc.__type)
    assert.matches("104857600 bytes", doc.message, 1, true)
    -- The runtime's paths too, by their credential scope or their path.
    status = partial("POST", "/recommendations", { SIGNED, "Content-Type: application/json",
      "Content-Length: 1048577" }, "{")
    assert.equal(413, status)
    status = partial("POST", "/events", { "Content-Type: application/json", "Content-Length: 5000000" }, "{")
    assert.equal(413, status)
    -- No Content-Length: refused before reading.
    status, body = partial("POST", "/", { "X-Amz-Target: AmazonPersonalize.ListSchemas",
      "Content-Type: application/x-amz-json-1.1", "Transfer-Encoding: chunked" }, "2\r\n{}\r\n")
    assert.equal(411, status)
    assert.equal("LengthRequiredException", cjson.decode(body).__type)
    -- At the bound, the engine reads it (and refuses the bad signature).
    status, body = partial("POST", "/", { "X-Amz-Target: AmazonPersonalize.ListSchemas", SIGNED,
      "Content-Type: application/x-amz-json-1.1", "Content-Length: 1048576" }, ("{}" .. (" "):rep(1048574)))
    assert.is_true(status == 400 or status == 403, tostring(status))
    assert.is_not.equal("RequestEntityTooLargeException", cjson.decode(body).__type)
    -- S3 bodies stream, whatever their size.
    local big = dir .. "/3mib"
    files.write(big, ("0123456789abcdef"):rep(3 * 65536))
    put_file("large", "three.bin", big)
    assert.equal(3 * 1048576, assert(s3:head_object { Bucket = "large", Key = "three.bin" }).ContentLength)
    -- and the engine still answers
    assert(p:list_schemas {})
  end)

  it("answers describe_*, get_recommendations and the health check within 50 ms during a 1M-row import and training",
    function()
      -- Group "small": a trained campaign to ask for recommendations.
      local sg, sds = group("small")
      local small = dir .. "/small.csv"
      files.write(small, support.interactions_csv(60, 20))
      put_file("bkt", "small.csv", small)
      wait("dataset_import_job", import(sds, "bkt", "small.csv"))
      local sol = assert(p:create_solution { name = "small-s", datasetGroupArn = sg,
        recipeArn = RECIPE .. "aws-popularity-count" }).solutionArn
      wait("solution", sol)
      local sv = assert(p:create_solution_version { solutionArn = sol }).solutionVersionArn
      wait("solution_version", sv)
      local campaign = assert(p:create_campaign { name = "small-c", solutionVersionArn = sv }).campaignArn
      wait("campaign", campaign)

      -- Group "big": 1M interactions.
      local bg, bds = group("big")
      local big = dir .. "/big.csv"
      write_interactions(big, INTERACTIONS)
      put_file("bkt", "big.csv", big)
      -- The import timed reads the file IMPORT_COPIES times (a prefix of
      -- copies, into a group of its own): the C reader imports one copy
      -- before enough answers are timed.
      for k = 1, IMPORT_COPIES do put_file("bkt", ("copies/big%d.csv"):format(k), big) end
      os.remove(big)
      local _, copies_ds = group("copies")
      wait("dataset_import_job", import(bds, "bkt", "big.csv"))

      local job = import(copies_ds, "bkt", "copies/")
      local stats, status = time_requests(function()
        local r = p:describe_dataset_import_job { datasetImportJobArn = job }
        return r and r.datasetImportJob.status
      end, campaign, bg)
      assert.equal("ACTIVE", status)
      print(("\n[availability] import of %d rows: %d answers, %d within %d ms, %d while IN_PROGRESS, slowest %.1f ms")
        :format(INTERACTIONS * IMPORT_COPIES, stats.n, stats.fast, BOUND * 1000, stats.during, stats.slowest * 1000))
      assert.is_true(stats.during >= MIN_SAMPLES, "too few answers while the import ran: " .. stats.during)
      assert.is_true(stats.fast >= SHARE * stats.n, ("%d of %d answers within %d ms"):format(
        stats.fast, stats.n, BOUND * 1000))

      local bsol = assert(p:create_solution { name = "big-s", datasetGroupArn = bg,
        recipeArn = RECIPE .. "aws-user-personalization" }).solutionArn
      wait("solution", bsol)
      local bsv = assert(p:create_solution_version { solutionArn = bsol }).solutionVersionArn
      stats, status = time_requests(function()
        local r = p:describe_solution_version { solutionVersionArn = bsv }
        return r and r.solutionVersion.status
      end, campaign, bg)
      assert.equal("ACTIVE", status)
      print(("[availability] training on %d interactions: %d answers, %d within %d ms, %d while IN_PROGRESS, slowest %.1f ms")
        :format(INTERACTIONS, stats.n, stats.fast, BOUND * 1000, stats.during, stats.slowest * 1000))
      assert.is_true(stats.during >= MIN_SAMPLES, "too few answers while the training ran: " .. stats.during)
      assert.is_true(stats.fast >= SHARE * stats.n, ("%d of %d answers within %d ms"):format(
        stats.fast, stats.n, BOUND * 1000))
      local metrics = assert(p:get_solution_metrics { solutionVersionArn = bsv }).metrics
      assert.is_number(metrics.normalized_discounted_cumulative_gain_at_10)

      -- Both at once, in the pool's two threads: a training on "big" and
      -- an import of the same 1M rows into a third group.
      local _, cds = group("third")
      local bsv2 = assert(p:create_solution_version { solutionArn = bsol }).solutionVersionArn
      local cjob = import(cds, "bkt", "big.csv")
      stats, status = time_requests(function()
        local v = p:describe_solution_version { solutionVersionArn = bsv2 }
        local j = p:describe_dataset_import_job { datasetImportJobArn = cjob }
        if not (v and j) then return nil end
        local a, b = v.solutionVersion.status, j.datasetImportJob.status
        if a:find("PROGRESS") or a:find("PENDING") then return a end
        if b:find("PROGRESS") or b:find("PENDING") then return b end
        return a == "ACTIVE" and b == "ACTIVE" and "ACTIVE" or (a .. " " .. b)
      end, campaign, bg)
      assert.equal("ACTIVE", status)
      print(("[availability] training and import at once: %d answers, %d within %d ms, %d while IN_PROGRESS, slowest %.1f ms")
        :format(stats.n, stats.fast, BOUND * 1000, stats.during, stats.slowest * 1000))
      assert.is_true(stats.during >= MIN_SAMPLES, "too few answers while the jobs ran: " .. stats.during)
      assert.is_true(stats.fast >= SHARE * stats.n, ("%d of %d answers within %d ms"):format(
        stats.fast, stats.n, BOUND * 1000))
    end)
end)
