-- personalize-local at scale: generated power-law interactions (20 to 200
-- events a user, item popularity skewed), then import, training per
-- recipe, restart (engine open + the first get_recommendations), the
-- median get_recommendations once warm, peak RSS
-- and size on disk, next to the floor measured in the same run on the
-- same file: `wc -l`, and a C pass summing one column
-- (personalize.engine.core's csv_column_sum, when the core has it).
-- Printed, never asserted.
--
--   BENCH_SCALE=1000000,5000000 (interactions; default 1000000)
--   lua5.4 bench/scale.lua                      -- alone (LUA_PATH/LUA_CPATH as for the specs)
--   require("scale").run{ line = f }            -- from bench/run.lua
--
-- Each step runs in its own process (this file, "step <name> <dir> <csv>"),
-- so its peak RSS (VmHWM) is its own; the engine runs in-process
-- (endpoint local:DIR) with lifecycle timings of zero.
local core = require "personalize.core"

local fmt = string.format
local LUA = os.getenv("PERSONALIZE_LUA") or (jit and "luajit" or "lua5.4")
local RECIPE = "arn:aws:personalize:::recipe/"
local ROLE = "arn:aws:iam::123456789012:role/p"
local RECIPES = { "aws-popularity-count", "aws-user-personalization", "aws-sims" }

local _M = {}

local function peak_rss_kb()
  local f = io.open("/proc/self/status")
  if not f then return nil end
  local text = f:read("*a")
  f:close()
  return tonumber(text:match("VmHWM:%s*(%d+)"))
end

local function sh(cmd)
  local p = assert(io.popen(cmd .. " 2>&1"))
  local out = p:read("*a")
  p:close()
  return out
end

-- The CSV: users with 20..200 events (Pareto, alpha 1.5), items drawn
-- with popularity falling as a power of their rank.
local function generate(path, n)
  math.randomseed(25)
  local f = assert(io.open(path, "wb"))
  f:write("USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE,EVENT_VALUE\n")
  local items = math.max(200, math.floor(n / 400))
  local rows, user, t, buf = 0, 0, 1500000000, {}
  while rows < n do
    user = user + 1
    local k = math.min(200, math.floor(20 * (1 - math.random()) ^ (-1 / 1.5)))
    for _ = 1, math.min(k, n - rows) do
      rows = rows + 1
      t = t + 1
      local item = math.floor(items * math.random() ^ 3) + 1
      buf[#buf + 1] = fmt("u%d,i%d,%d,%s,%s\n", user, item, t, rows % 4 == 0 and "purchase" or "click",
        rows % 3 == 0 and "" or "1.0")
      if #buf == 10000 then
        f:write(table.concat(buf))
        buf = {}
      end
    end
  end
  f:write(table.concat(buf))
  f:close()
  return user, items
end

---------------------------------------------------------------------------
-- One step, in a child process.

local function clients(dir)
  local client = require "personalize.client"
  local opts = { endpoint = "local:" .. dir, region = "us-east-1", max_attempts = 1,
                 local_timings = { pending = 0, in_progress = 0 } }
  return client.new("personalize", opts), client.new("personalize-runtime", opts), opts
end

local function settle(dir)
  local transport = require "personalize.transport.engine"
  local eng = transport.engine and transport.engine(dir)
  if not eng then return end
  for _ = 1, 50 do
    if not eng:tick() then return end
  end
end

local function wait(p, dir, describe, key, arn, what)
  for _ = 1, 100000 do
    settle(dir)
    local r = assert(p[describe](p, { [key] = arn }))
    local status = r[what].status
    if status == "ACTIVE" then return r[what] end
    if status:find("FAILED") then error(what .. " " .. status .. ": " .. tostring(r[what].failureReason)) end
    core.sleep(0.01)
  end
end

local STEPS = {}

function STEPS.setup(dir, csv)
  local p = clients(dir)
  local eng = assert(require("personalize.engine").open { dir = dir, region = "us-east-1" })
  assert(eng.s3:create_bucket("bkt"))
  assert(eng.s3:_commit("bkt", "scale.csv", { files = { csv } }, { ContentType = "text/csv" }))
  local policy = ([[{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"personalize.amazonaws.com"},
"Action":["s3:GetObject","s3:ListBucket"],"Resource":["arn:aws:s3:::bkt","arn:aws:s3:::bkt/*"]}]}]])
  assert(core.write_file(eng.s3:bucket_dir("bkt") .. "/policy.json", policy))
  eng:close()
  local g = assert(p:create_dataset_group { name = "scale" }).datasetGroupArn
  wait(p, dir, "describe_dataset_group", "datasetGroupArn", g, "datasetGroup")
  local s = assert(p:create_schema { name = "scale", schema = [[{"type":"record","name":"Interactions",
"namespace":"com.amazonaws.personalize.schema","fields":[{"name":"USER_ID","type":"string"},
{"name":"ITEM_ID","type":"string"},{"name":"TIMESTAMP","type":"long"},{"name":"EVENT_TYPE","type":"string"},
{"name":"EVENT_VALUE","type":["null","float"]}],"version":"1.0"}]] }).schemaArn
  local d = assert(p:create_dataset { name = "scale", schemaArn = s, datasetGroupArn = g,
    datasetType = "Interactions" }).datasetArn
  wait(p, dir, "describe_dataset", "datasetArn", d, "dataset")
  return 0, d
end

function STEPS.import(dir)
  local p = clients(dir)
  local d = assert(p:list_datasets {}).datasets[1].datasetArn
  local t0 = core.now()
  local job = assert(p:create_dataset_import_job { jobName = "scale", datasetArn = d, roleArn = ROLE,
    dataSource = { dataLocation = "s3://bkt/scale.csv" } }).datasetImportJobArn
  wait(p, dir, "describe_dataset_import_job", "datasetImportJobArn", job, "datasetImportJob")
  return core.now() - t0
end

local function train(dir, recipe)
  local p = clients(dir)
  local g = assert(p:list_dataset_groups {}).datasetGroups[1].datasetGroupArn
  local t0 = core.now()
  local sol = assert(p:create_solution { name = recipe, datasetGroupArn = g, recipeArn = RECIPE .. recipe }).solutionArn
  wait(p, dir, "describe_solution", "solutionArn", sol, "solution")
  local sv = assert(p:create_solution_version { solutionArn = sol }).solutionVersionArn
  wait(p, dir, "describe_solution_version", "solutionVersionArn", sv, "solutionVersion")
  local dt = core.now() - t0
  if recipe == "aws-user-personalization" then
    local c = assert(p:create_campaign { name = "scale", solutionVersionArn = sv }).campaignArn
    wait(p, dir, "describe_campaign", "campaignArn", c, "campaign")
  end
  return dt
end
for _, r in ipairs(RECIPES) do STEPS[r] = function(dir) return train(dir, r) end end

function STEPS.restart(dir)
  local t0 = core.now()
  local p, rt = clients(dir)
  local c = assert(p:list_campaigns {}).campaigns[1].campaignArn
  local res = assert(rt:get_recommendations { campaignArn = c, userId = "u1", numResults = 10 })
  assert(#res.itemList > 0, "no recommendations")
  return core.now() - t0
end

-- get_recommendations once the engine is warm: the median of 400 calls
-- over 400 users, in milliseconds.
function STEPS.serve(dir)
  local p, rt = clients(dir)
  local c = assert(p:list_campaigns {}).campaigns[1].campaignArn
  assert(rt:get_recommendations { campaignArn = c, userId = "u1", numResults = 10 })
  local times = {}
  for i = 1, 400 do
    local t0 = core.now()
    assert(rt:get_recommendations { campaignArn = c, userId = "u" .. (i * 37), numResults = 25 })
    times[i] = core.now() - t0
  end
  table.sort(times)
  return times[200] * 1000
end

function STEPS.floor(_, csv)
  local ecore = require "personalize.engine.core"
  if not ecore.csv_column_sum then return -1 end
  local t0 = core.now()
  assert(ecore.csv_column_sum(csv, 3))
  return core.now() - t0
end

local function child(name, dir, csv)
  local ok, dt, extra = pcall(STEPS[name], dir, csv)
  if ok then
    print(fmt("RESULT %.6f %d %s", dt, peak_rss_kb() or 0, tostring(extra or "")))
  else
    print("FAILED " .. tostring(dt))
  end
end

---------------------------------------------------------------------------
-- The table.

local function step(name, dir, csv)
  local out = sh(fmt("%s bench/scale.lua step %s %s %s", LUA, name, dir, csv))
  local dt, rss = out:match("RESULT ([%d.%-]+) (%d+)")
  if not dt then return nil, (out:match("FAILED ([^\n]*)") or out):sub(1, 300) end
  return tonumber(dt), tonumber(rss)
end

local function du_kb(path)
  return tonumber(sh("du -sk " .. path):match("^(%d+)"))
end

function _M.run(opts)
  local line = opts and opts.line or function(label, value, unit, note)
    print(fmt("  %-34s %10s %-6s %s", label, value, unit, note or ""))
  end
  local sizes = {}
  for s in (os.getenv("BENCH_SCALE") or "1000000"):gmatch("%d+") do sizes[#sizes + 1] = tonumber(s) end
  for _, n in ipairs(sizes) do
    local base = (os.getenv("TMPDIR") or "/tmp") .. fmt("/personalize-scale-%d-%d", n, math.floor(core.time()))
    local dir, csv = base .. "/engine", base .. "/scale.csv"
    assert(core.mkdir(base))
    local users, items = generate(csv, n)
    print(fmt("  %d interactions, %d users, %d items, CSV %.1f MB (%s)", n, users, items,
      (du_kb(csv) or 0) / 1024, LUA))
    local t0 = core.now()
    sh("wc -l " .. csv)
    local wc = core.now() - t0
    line("floor: wc -l", fmt("%.3f", wc), "s")
    local floor_s = step("floor", dir, csv)
    if floor_s and floor_s >= 0 then
      line("floor: C pass summing TIMESTAMP", fmt("%.3f", floor_s), "s")
    else
      floor_s = nil
      line("floor: C pass summing TIMESTAMP", "-", "", "(no csv_column_sum in this core)")
    end
    local function report(label, name)
      local dt, rss = step(name, dir, csv)
      if not dt then
        line(label, "FAILED", "", rss)
        return false
      end
      line(label, fmt("%.2f", dt), "s", fmt("peak RSS %.0f MB%s", rss / 1024,
        floor_s and fmt(", %.0fx the C pass", dt / floor_s) or ""))
      return true
    end
    local ok = step("setup", dir, csv)
    if ok and report("import", "import") then
      line("state on disk", fmt("%.1f", (du_kb(dir) - (du_kb(dir .. "/s3") or 0)) / 1024), "MB",
        fmt("datasets/ %.1f MB; CSV %.1f MB", (du_kb(dir .. "/datasets") or 0) / 1024, (du_kb(csv) or 0) / 1024))
      for _, r in ipairs(RECIPES) do report("training " .. r, r) end
      report("restart + first get_recommendations", "restart")
      local p50 = step("serve", dir, csv)
      line("get_recommendations p50 (warm)", p50 and fmt("%.3f", p50) or "FAILED", "ms")
    else
      line("setup", "FAILED", "")
    end
    core.remove_tree(base)
  end
end

if arg and arg[1] == "step" then
  child(arg[2], arg[3], arg[4])
elseif arg and arg[0] and arg[0]:find("scale%.lua$") and not package.loaded.scale then
  _M.run()
end

return _M
