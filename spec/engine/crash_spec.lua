-- bin/personalize-local after kill -9: `start` comes back at once (jobs
-- never run on the request path, so the health probe answers while an
-- interrupted job runs again), every job ends ACTIVE or failed with a
-- reason, no temporary file is left; two starts on one data directory
-- end with one engine.
local socket = require "socket"
local core = require "personalize.core"
local client = require "personalize.client"
local engine_server = require "support.engine_server"
local support = require "support.engine_local"
local engine_jobs = require "support.engine_jobs"
local files = require "support.files"
local process = require "support.process"

local ROLE = support.ROLE
local RECIPE = "arn:aws:personalize:::recipe/"
local ROWS = 1000000

describe("bin/personalize-local after kill -9", function()
  local server, p, s3, dir

  local function clients()
    local copts = server.client_opts { max_attempts = 1, read_timeout = 60 }
    p = client.new("personalize", copts)
    s3 = client.new("s3", copts)
  end

  setup(function()
    server = engine_server.start { timings = { pending = 0, in_progress = 0 } }
    clients()
    dir = files.tmpdir()
  end)

  teardown(function()
    if server then server.stop() end
    if dir then core.remove_tree(dir) end
  end)

  local function wait(kind, arn)
    local res, err = p:wait(kind, arn, { delay = 0.05, max_delay = 0.2, timeout = 600, progress = false })
    return res, err
  end

  -- The job's record once it is no longer in progress.
  local function settled(kind, arn)
    local res, err = wait(kind, arn)
    if res then return res end
    assert(err and err.failure_reason, tostring(err))
    return nil, err.failure_reason
  end

  -- Waits until a job of the server is running (health "pending" > 0).
  local function running()
    for _ = 1, 400 do
      local _, body = engine_jobs.health(server.port)
      local n = tonumber((body or ""):match('"pending":(%d+)'))
      if n and n > 0 then return true end
      socket.sleep(0.025)
    end
    error("no job started")
  end

  -- kill -9, then start again: the seconds start took.
  local function crash_and_start(after)
    socket.sleep(after or 0.3)
    server.kill9()
    local started = core.time()
    server.restart()        -- raises unless the health probe answered within START_TIMEOUT
    clients()
    return core.time() - started
  end

  local group_n = 0
  local function group()
    group_n = group_n + 1
    local name = "g" .. group_n
    local g = assert(p:create_dataset_group { name = name }).datasetGroupArn
    assert(wait("dataset_group", g))
    local sch = assert(p:create_schema { name = name .. "-s", schema = support.INTERACTIONS_SCHEMA }).schemaArn
    local ds = assert(p:create_dataset { name = name .. "-i", schemaArn = sch, datasetGroupArn = g,
                                         datasetType = "Interactions" }).datasetArn
    assert(wait("dataset", ds))
    return g, ds
  end

  local uploaded = false
  local function upload()
    if uploaded then return end
    local path = dir .. "/big.csv"
    engine_jobs.write_interactions(path, ROWS)
    assert(s3:create_bucket { Bucket = "bkt" })
    assert(s3:put_bucket_policy { Bucket = "bkt", Policy = support.bucket_policy("bkt") })
    assert(s3:put_object { Bucket = "bkt", Key = "big.csv", File = path })
    os.remove(path)
    uploaded = true
  end

  local function import(ds, name, mode)
    return assert(p:create_dataset_import_job { jobName = name, datasetArn = ds, importMode = mode,
      dataSource = { dataLocation = "s3://bkt/big.csv" }, roleArn = ROLE }).datasetImportJobArn
  end

  local function no_temp_files()
    assert.same({}, engine_jobs.temp_files(server.dir))
  end

  -- Each kill point: starts the work and returns a function that checks
  -- its outcome after the restart.
  local KILL_POINTS = {
    { "mid-import", function()
      local _, ds = group()
      local job = import(ds, "full-" .. group_n, "FULL")
      return function()
        local r, reason = settled("dataset_import_job", job)
        assert(r, reason)
        assert.equal("ACTIVE", r.datasetImportJob.status)
      end
    end },
    { "mid-incremental-import", function()
      local _, ds = group()
      assert(wait("dataset_import_job", import(ds, "first-" .. group_n, "FULL")))
      local job = import(ds, "incr-" .. group_n, "INCREMENTAL")
      return function()
        local r, reason = settled("dataset_import_job", job)
        assert(r, reason)
        -- not appended twice: the dataset holds the file twice, not three times
        local data = core.listdir(server.dir .. "/datasets")
        assert.is_table(data)
        for _, id in ipairs(data) do
          local text = files.read(server.dir .. "/datasets/" .. id .. "/data.json")
          if text and text:find(job, 1, true) then
            assert.equal(2 * ROWS, tonumber(text:match('"n":(%d+)')))
          end
        end
      end
    end },
    { "mid-training", function()
      local g, ds = group()
      assert(wait("dataset_import_job", import(ds, "train-" .. group_n, "FULL")))
      local sol = assert(p:create_solution { name = "s" .. group_n, datasetGroupArn = g,
        recipeArn = RECIPE .. "aws-user-personalization" }).solutionArn
      assert(wait("solution", sol))
      local sv = assert(p:create_solution_version { solutionArn = sol }).solutionVersionArn
      return function(took)
        -- start came back while the training ran again
        local v = assert(p:describe_solution_version { solutionVersionArn = sv }).solutionVersion
        assert.equal("CREATE IN_PROGRESS", v.status, ("start took %.1f s"):format(took))
        local r, reason = settled("solution_version", sv)
        assert(r, reason)
        assert.is_table(assert(p:get_solution_metrics { solutionVersionArn = sv }).metrics)
      end
    end },
    { "mid-state-write", function()
      -- Creates in a burst (each one rewrites state.json) while the kill lands.
      local pid = assert(server.pid())
      os.execute(("(sleep 0.4; kill -9 %d $(ps -o pid= --ppid %d) 2>/dev/null) >/dev/null 2>&1 &"):format(pid, pid))
      local names = {}
      for i = 1, 2000 do
        local name = ("burst-%d-%d"):format(group_n, i)
        local res = p:create_dataset_group { name = name }
        if not res then break end
        names[#names + 1] = res.datasetGroupArn
      end
      -- and a write cut short, as the kill leaves it
      files.write(server.dir .. "/state.json.tmp.AbC123", "{\"resources\":")
      return function()
        -- every group acknowledged before the kill is there
        for _, arn in ipairs(names) do
          assert(p:describe_dataset_group { datasetGroupArn = arn }, arn)
        end
      end
    end, after = 0.6 },
  }

  it("start comes back within seconds at every kill point, and every job ends ACTIVE or failed with a reason",
    function()
      upload()
      for _, point in ipairs(KILL_POINTS) do
        local name, begin = point[1], point[2]
        local check = begin()
        if name ~= "mid-state-write" then running() end
        local took = crash_and_start(point.after)
        print(("\n[crash] %s: start took %.2f s"):format(name, took))
        assert.is_true(took < 10, name)
        no_temp_files()
        check(took)
        assert.equal(200, (engine_jobs.health(server.port)))
      end
    end)

  it("fails a job interrupted three times with a failureReason that says the engine restarted", function()
    upload()
    local g, ds = group()
    assert(wait("dataset_import_job", import(ds, "three-" .. group_n, "FULL")))
    local sol = assert(p:create_solution { name = "three", datasetGroupArn = g,
      recipeArn = RECIPE .. "aws-user-personalization" }).solutionArn
    assert(wait("solution", sol))
    local sv = assert(p:create_solution_version { solutionArn = sol }).solutionVersionArn
    for _ = 1, 3 do
      running()
      crash_and_start(0.2)
    end
    local r, reason = settled("solution_version", sv)
    assert.is_nil(r)
    assert.matches("personalize-local restarted while this job ran (3 times)", reason, 1, true)
    local v = assert(p:describe_solution_version { solutionVersionArn = sv }).solutionVersion
    assert.equal("CREATE FAILED", v.status)
  end)

  it("keeps the result of a job that ends while the engine stops: ACTIVE at the next start, not run again", function()
    upload()
    local _, ds = group()
    local job = import(ds, "stopped-" .. group_n, "FULL")
    running()
    socket.sleep(0.3)
    server.stop(true)         -- QUIT: the worker exits, the job's thread finishes its import
    server.restart()
    clients()
    local r = assert(p:describe_dataset_import_job { datasetImportJobArn = job }).datasetImportJob
    assert.equal("ACTIVE", r.status)
    no_temp_files()
    assert.same({}, core.listdir(server.dir .. "/jobs"))
  end)

  it("lets one of two racing starts on a data directory run, and the other says it is running", function()
    local d = files.tmpdir()
    local script = process.shell_quote(engine_server.SCRIPT)
    local cmd = ("env -u LUA_PATH -u LUA_CPATH %s start --data %s --port 0 </dev/null 2>&1; echo exit=$?")
      :format(script, process.shell_quote(d))
    local a = io.popen(cmd)
    local b = io.popen(cmd)
    local out = a:read("*a") .. b:read("*a")
    a:close(); b:close()
    local masters = 0
    local ps = io.popen("ps -eo args=")
    for line in ps:lines() do
      if line:find("nginx: master", 1, true) and line:find(d .. "/run/nginx.conf", 1, true) then masters = masters + 1 end
    end
    ps:close()
    engine_server.run { "stop", "--data", d }
    core.remove_tree(d)
    assert.equal(1, masters)
    local _, ok = out:gsub("exit=0", "")
    local _, refused = out:gsub("exit=1", "")
    assert.equal(1, ok, out)
    assert.equal(1, refused, out)
    assert.matches("already running on " .. d:gsub("%p", "%%%0"), out)
  end)
end)

describe("personalize-local's data directory after a killed write", function()
  local engine = require "personalize.engine"

  it("loses the temporary files a killed writer left when it opens, and nothing else", function()
    local dir = files.tmpdir()
    finally(function() core.remove_tree(dir) end)
    -- an engine with an S3 object whose key looks like a temporary file
    local eng = assert(engine.open { dir = dir })
    assert(eng.s3:create_bucket("bkt"))
    assert(eng.s3:write_object("bkt", "x.tmp.Ab12Cd", "kept", "text/plain"))
    eng:close()
    local left = {
      dir .. "/state.json.tmp.Ab12Cd",
      dir .. "/datasets/d1/data.json.tmp.Zz09yY",
      dir .. "/models/m1.json.tmp.000000",
    }
    assert(core.mkdir(dir .. "/datasets/d1"))
    assert(core.mkdir(dir .. "/models"))
    assert(core.mkdir(dir .. "/run/tmp"))
    for _, path in ipairs(left) do files.write(path, "{\"cut") end
    files.write(dir .. "/run/tmp/nginx.tmp.Ab12Cd", "nginx's own")
    files.write(dir .. "/datasets/d1/notes.tmp.txt", "not a temporary file's name")
    eng = assert(engine.open { dir = dir })
    eng:close()
    for _, path in ipairs(left) do assert.is_nil(files.read(path), path) end
    assert.equal("nginx's own", files.read(dir .. "/run/tmp/nginx.tmp.Ab12Cd"))
    assert.is_string(files.read(dir .. "/datasets/d1/notes.tmp.txt"))
    eng = assert(engine.open { dir = dir })
    assert.equal("kept", (eng.s3:read_object("bkt", "x.tmp.Ab12Cd")))
    eng:close()
  end)
end)
