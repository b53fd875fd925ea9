-- Runs the compatibility programs (spec/compat/programs/): AWS's published
-- Personalize code, ported with only the allowed changes, each against a
-- fresh bin/personalize-local at its default timings.
--
--   local runner = require "compat.runner"
--   runner.PROGRAMS                  { { name =, file =, source =, families = {...} }, ... }
--   runner.FAMILIES                  { { key =, title = }, ... } in the README's order
--   local results = runner.run(names, opts)
--     -- names: a list of program names (default all); opts.parallel (default 4)
--     -- results[name] = { ok =, operation =, code =, message =, calls =,
--     --                   output = (the program's output), seconds = }
--   runner.key()                     a hash of everything a result depends on
--   runner.load(key), runner.save(key, results)   build/compat/results.json
--
-- A program prints `COMPAT-RESULT {json}` as its last line (compat.py's run,
-- or the CLI script's own); a program that dies without one is a failure
-- with its output as the message.
local cjson = require "cjson"
local socket = require "socket"
local process = require "support.process"
local files = require "support.files"
local engine_server = require "support.engine_server"

local q = process.shell_quote

local _M = {}

_M.ROOT = process.ROOT
_M.DIR = _M.ROOT .. "/spec/compat/programs"
_M.RESULTS = _M.ROOT .. "/build/compat/results.json"
-- Seconds a program may take before it is killed (AWS's loops poll for hours).
_M.TIMEOUT = 240

_M.FAMILIES = {
  { key = "imports", title = "Datasets and imports (bulk FULL and INCREMENTAL, extra and index columns, rows that do not fit)" },
  { key = "solutions", title = "Solutions and solution versions (FULL and UPDATE training, metrics)" },
  { key = "campaigns", title = "Campaigns and campaign updates, recommendations and rankings" },
  { key = "vod", title = "Recommenders, VIDEO_ON_DEMAND domain" },
  { key = "ecommerce", title = "Recommenders, ECOMMERCE domain" },
  { key = "filters", title = "Filters and promotions" },
  { key = "events", title = "Event trackers, put_events, put_items, put_users" },
  { key = "batch", title = "Batch inference jobs" },
  { key = "segments", title = "Batch segment jobs (user segmentation)" },
  { key = "metrics", title = "Metric attributions" },
  { key = "deletion", title = "Data deletion jobs and dataset export jobs" },
  { key = "cleanup", title = "Clean-up in dependency order" },
  { key = "cli", title = "AWS CLI" },
}

local NB = "aws-samples/amazon-personalize-samples "
_M.PROGRAMS = {
  { name = "getting_started_python", file = "getting_started_python.py",
    source = "Developer guide: Getting started (SDK for Python (Boto3))",
    families = { "imports", "solutions", "campaigns" } },
  { name = "first_campaign", file = "first_campaign.py",
    source = NB .. "getting_started/notebooks 1, 2 and 99",
    families = { "imports", "solutions", "campaigns", "events", "cleanup" } },
  { name = "vod_recommenders", file = "vod_recommenders.py",
    source = NB .. "getting_started/notebooks_managed_domains (VIDEO_ON_DEMAND, Clean_Up_Resources)",
    families = { "imports", "vod", "cleanup" } },
  { name = "ecommerce_recommenders", file = "ecommerce_recommenders.py",
    source = NB .. "getting_started/notebooks_managed_domains (ECOMMERCE, Clean_Up_Resources)",
    families = { "imports", "ecommerce", "cleanup" } },
  { name = "promotions_filters", file = "promotions_filters.py",
    source = NB .. "next_steps/core_use_cases/filters/promotions",
    families = { "imports", "ecommerce", "filters", "cleanup" } },
  { name = "poc_filters", file = "poc_filters.py",
    source = NB .. "next_steps/workshops/POC_in_a_box (02-05)",
    families = { "imports", "solutions", "campaigns", "filters", "cleanup" } },
  { name = "similar_items", file = "similar_items.py",
    source = NB .. "next_steps/core_use_cases/related_items (aws-similar-items and SIMS)",
    families = { "imports", "solutions", "campaigns" } },
  { name = "contextual", file = "contextual.py",
    source = NB .. "next_steps/core_use_cases/user_personalization (contextual recommendations)",
    families = { "imports", "solutions", "campaigns" } },
  { name = "exploration", file = "exploration.py",
    source = NB .. "next_steps/core_use_cases/user_personalization (exploration, trainingMode UPDATE)",
    families = { "imports", "solutions", "campaigns", "events", "cleanup" } },
  { name = "objective_optimization", file = "objective_optimization.py",
    source = NB .. "next_steps/core_use_cases/objective_optimization",
    families = { "imports", "solutions", "campaigns", "cleanup", "cli" } },
  { name = "batch_inference", file = "batch_inference.py",
    source = NB .. "next_steps/core_use_cases/batch_recommendations",
    families = { "solutions", "batch", "cleanup" } },
  { name = "user_segmentation", file = "user_segmentation.py",
    source = NB .. "next_steps/core_use_cases/user_segmentation",
    families = { "imports", "solutions", "segments", "cleanup" } },
  { name = "update_item_schema", file = "update_item_schema.py",
    source = NB .. "next_steps/core_use_cases/updating_datasets (update-item-dataset-schema-example)",
    families = { "imports", "solutions", "segments", "cleanup" } },
  { name = "metric_attribution", file = "metric_attribution.py",
    source = NB .. "next_steps/evaluation/measuring_impact_of_recommendations",
    families = { "metrics", "ecommerce", "events", "cleanup" } },
  { name = "trending_now", file = "trending_now.py",
    source = NB .. "next_steps/core_use_cases/trending_now",
    families = { "imports", "solutions", "campaigns", "events", "cleanup" } },
  { name = "data_lifecycle", file = "data_lifecycle.py",
    source = "Developer guide: SDK for Python examples for updating data, exports and data deletion",
    families = { "imports", "solutions", "campaigns", "events", "deletion", "cleanup" } },
  { name = "cli_getting_started", file = "cli_getting_started.sh",
    source = "Developer guide: Getting started (AWS CLI)",
    families = { "cli", "imports", "solutions", "campaigns", "events", "filters", "batch", "deletion", "cleanup" } },
}

local by_name = {}
for _, p in ipairs(_M.PROGRAMS) do by_name[p.name] = p end
_M.by_name = by_name

local function sh(cmd)
  local p = io.popen(cmd)
  local out = p:read("*a")
  p:close()
  return out
end

-- What a result depends on: the engine and the library it runs (lua/, bin/)
-- and the programs themselves.
function _M.key()
  local out = sh("cd " .. q(_M.ROOT) .. " && find lua bin spec/compat/programs -type f "
    .. "\\( -name '*.lua' -o -name '*.py' -o -name '*.sh' -o -name 'personalize-local' \\) "
    .. "| LC_ALL=C sort | xargs sha256sum | sha256sum")
  return (out:match("^(%x+)"))
end

function _M.load(key)
  local text = files.read(_M.RESULTS)
  if not text then return nil end
  local ok, saved = pcall(cjson.decode, text)
  if not ok or type(saved) ~= "table" then return nil end
  if key and saved.key ~= key then return nil end
  return saved.results, saved
end

function _M.save(key, results)
  os.execute("mkdir -p " .. q(_M.ROOT .. "/build/compat"))
  local tmp = _M.RESULTS .. ".tmp"
  files.write(tmp, cjson.encode { key = key, time = os.time(), results = results })
  assert(os.rename(tmp, _M.RESULTS))
end

-- The result line of a program's output, decoded; a failure when missing.
function _M.parse(output)
  local line
  for l in output:gmatch("[^\n]+") do
    if l:find("^COMPAT%-RESULT ") then line = l:sub(#"COMPAT-RESULT " + 1) end
  end
  if line then
    local ok, r = pcall(cjson.decode, line)
    if ok and type(r) == "table" then return r end
  end
  return { ok = false, code = "NoResult", message = "no COMPAT-RESULT line; output ends:\n" .. output:sub(-1500) }
end

local PASS_ENV = { "PATH", "HOME", "PYENV_ROOT", "PYENV_VERSION", "TMPDIR", "LANG" }

local function start(program)
  local server = engine_server.start {}
  local work = files.tmpdir()
  local argv = { "env", "-i" }
  for _, k in ipairs(PASS_ENV) do
    local v = os.getenv(k)
    if v then argv[#argv + 1] = k .. "=" .. v end
  end
  for k, v in pairs {
    AWS_ENDPOINT_URL = server.endpoint, AWS_DEFAULT_REGION = server.region,
    AWS_ACCESS_KEY_ID = server.access_key_id, AWS_SECRET_ACCESS_KEY = server.secret_access_key,
    AWS_CONFIG_FILE = "/dev/null", AWS_SHARED_CREDENTIALS_FILE = "/dev/null",
    AWS_EC2_METADATA_DISABLED = "true", AWS_PAGER = "", AWS_MAX_ATTEMPTS = "1",
    COMPAT_WORKDIR = work, PYTHONDONTWRITEBYTECODE = "1", PYTHONUNBUFFERED = "1",
  } do
    argv[#argv + 1] = k .. "=" .. v
  end
  argv[#argv + 1] = "timeout"
  argv[#argv + 1] = tostring(_M.TIMEOUT)
  local path = _M.DIR .. "/" .. program.file
  if program.file:find("%.sh$") then
    argv[#argv + 1] = "sh"
  else
    argv[#argv + 1] = "python3"
  end
  argv[#argv + 1] = path
  local proc = process.spawn(argv)
  return { program = program, server = server, work = work, proc = proc, started = socket.gettime() }
end

local function finish(run)
  local output = run.proc:output()
  run.proc:stop()
  run.server.stop()
  os.execute("rm -rf " .. q(run.work))
  local r = _M.parse(output)
  r.output = output:sub(-4000)
  r.seconds = math.floor((socket.gettime() - run.started) * 10 + 0.5) / 10
  return r
end

function _M.run(names, opts)
  opts = opts or {}
  local parallel = opts.parallel or 4
  local queue = {}
  for _, name in ipairs(names or {}) do queue[#queue + 1] = assert(by_name[name], name) end
  if not names then for _, p in ipairs(_M.PROGRAMS) do queue[#queue + 1] = p end end
  -- the AWS CLI program is the longest (a Python start per call): first
  table.sort(queue, function(a, b)
    local ca, cb = a.file:find("%.sh$") ~= nil, b.file:find("%.sh$") ~= nil
    if ca ~= cb then return ca end
    return false
  end)
  local results, running = {}, {}
  local ok, err = pcall(function()
    while #queue > 0 or #running > 0 do
      while #running < parallel and #queue > 0 do
        running[#running + 1] = start(table.remove(queue, 1))
      end
      socket.sleep(0.2)
      for i = #running, 1, -1 do
        local run = running[i]
        if not run.proc:alive() then
          results[run.program.name] = finish(run)
          table.remove(running, i)
        end
      end
    end
  end)
  if not ok then
    for _, run in ipairs(running) do pcall(finish, run) end
    error(err, 0)
  end
  return results
end

return _M
