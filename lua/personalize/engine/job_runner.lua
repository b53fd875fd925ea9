-- The work of personalize-local's jobs (imports, exports, data deletions,
-- training, campaign deployment, batch jobs) off the request path, in
-- three steps:
--
--   local spec = job_runner.prepare(eng, r)   -- main VM: plain data
--   local result = job_runner.run(spec)       -- anywhere: files only
--   job_runner.apply(eng, r, result)          -- main VM: records, caches
--
-- `spec` and `result` are plain data (strings, numbers, booleans, nested
-- tables), so that `run` can be called in another Lua VM: under nginx, a
-- worker thread (ngx.run_worker_thread "personalize_jobs"); in-process,
-- inline. `run` builds a read-only view of the engine from the spec (the
-- data directory's files, copies of the records the job reads) and calls
-- the kind's function of personalize.engine.jobs on it; it never touches
-- the engine that prepared it. A job is a function over the files of the
-- data directory: whatever keeps the data, the spec names the directory
-- and the records, and the job reads and writes files there.
--
--   spec   = { dir =, region =, account_id =, work = "train", arn =,
--              record = { ... }, resources = { [arn] = { ... } },
--              collect = true }   -- a full GC when done (a pooled VM)
--   result = { ok = true | false, failure = "reason" or nil,
--              set = { [arn] = { field = value, ... } } }   -- fields the job changed
--
-- Runners (eng.runner) start a job and call done(result) when it ends:
--   runner:busy()            -> true when no job can start now
--   runner:start(spec, done) -> true, or nil, message
--   job_runner.inline()      runs it at once, in the caller
local core = require "personalize.core"
local store = require "personalize.engine.store"

local pairs, ipairs, type, tostring, tonumber, pcall, next = pairs, ipairs, type, tostring, tonumber, pcall, next

local _M = {}

-- Records' member holding the ARN, by internal kind (the ones jobs read).
local KEY = {
  dataset = "datasetArn", schema = "schemaArn", dataset_import_job = "datasetImportJobArn",
  dataset_export_job = "datasetExportJobArn", data_deletion_job = "dataDeletionJobArn",
  solution_version = "solutionVersionArn", recommender = "recommenderArn", campaign = "campaignArn",
  batch_inference_job = "batchInferenceJobArn", batch_segment_job = "batchSegmentJobArn",
  filter = "filterArn",
}
_M.KEY = KEY

-- A copy of `v` with only what crosses between Lua VMs: strings, numbers,
-- booleans and tables of them (cjson.null and functions are dropped).
local function plain(v)
  local t = type(v)
  if t == "string" or t == "number" or t == "boolean" then return v end
  if t ~= "table" then return nil end
  local out = {}
  for k, x in pairs(v) do
    local tk = type(k)
    if tk == "string" or tk == "number" then out[k] = plain(x) end
  end
  return out
end
_M.plain = plain

-- The records a job of `r` reads: itself, its dataset and schema, its
-- solution version, its filter, and every dataset (with its schema) of the
-- dataset group it works on.
local function inputs(eng, r)
  local res = eng.store.resources
  local out = {}
  local function add(arn)
    local x = arn and res[arn]
    if x and not out[arn] then out[arn] = x end
    return x
  end
  local ds = add(r.datasetArn)
  local sv = add(r.solutionVersionArn)
  add(r.filterArn)
  local group = r.datasetGroupArn or (ds and ds.datasetGroupArn) or (sv and sv.datasetGroupArn)
  for arn, x in pairs(res) do
    if x._kind == "dataset" and x.datasetGroupArn == group then
      add(arn)
      add(x.schemaArn)
    end
  end
  if ds then add(ds.schemaArn) end
  return out
end

function _M.prepare(eng, r, work)
  local arn = r[KEY[r._kind]]
  local resources = {}
  for a, x in pairs(inputs(eng, r)) do resources[a] = plain(x) end
  resources[arn] = nil
  return { dir = eng.dir, region = eng.region, account_id = eng.account_id,
           work = work, arn = arn, record = plain(r), resources = resources }
end

-- Top-level fields of `after` that differ from `before` (a shallow copy
-- taken before the job ran).
local function changes(before, after)
  local set
  for k, v in pairs(after) do
    if before[k] ~= v then
      set = set or {}
      set[k] = v
    end
  end
  return set
end

local function shallow(t)
  local out = {}
  for k, v in pairs(t) do out[k] = v end
  return out
end

-- Where a job's result waits until the engine has applied it:
-- DIR/jobs/<hash of the ARN>.json.
local function result_path(dir, arn)
  return dir .. "/jobs/" .. core.sha256_hex(arn):sub(1, 32) .. ".json"
end

-- Runs the job of `spec`; never raises. Called in a worker thread under
-- nginx, so it loads what it needs itself and returns plain data. The
-- result is also written to DIR/jobs/ (atomically) before it returns, so
-- that a job that ended while the engine stopped (nginx's worker exits
-- without waiting for its light threads) applies at the next open
-- instead of running again.
function _M.run(spec)
  local ok, result = pcall(function()
    local jobs = require "personalize.engine.jobs"
    local work = jobs[spec.work]
    if type(work) ~= "function" then return { ok = false, failure = "unknown job " .. tostring(spec.work) } end
    local resources = spec.resources or {}
    local record = spec.record
    resources[spec.arn] = record
    local before = {}
    for a, x in pairs(resources) do before[a] = shallow(x) end
    local view = {
      dir = spec.dir, region = spec.region, account_id = spec.account_id,
      store = store.view(spec.dir, resources),
      s3 = require("personalize.engine.s3").new {
        dir = spec.dir .. "/s3", region = spec.region, account_id = spec.account_id, now = core.time },
      cache = {}, models = {}, now = core.time,
    }
    local done, failure = work(view, record)
    local set = {}
    for a, x in pairs(resources) do
      local c = before[a] and changes(before[a], x)
      if c then set[a] = plain(c) end
    end
    return { ok = done and true or false, failure = not done and tostring(failure) or nil,
             set = next(set) and set or nil }
  end)
  if not ok then result = { ok = false, failure = "internal error: " .. tostring(result) } end
  -- A worker thread's VM goes back to nginx's pool: free the job's data now.
  if spec.collect then collectgarbage() end
  local eok, text = pcall(store.json.encode, result)
  if eok and core.mkdir(spec.dir .. "/jobs") then core.write_file(result_path(spec.dir, spec.arn), text) end
  return result
end

-- Copies the fields a job changed (result.set) into the engine's records.
local function copy_back(eng, set)
  local res = eng.store.resources
  for arn, fields in pairs(set or {}) do
    local x = res[arn]
    if type(x) == "table" and type(fields) == "table" then
      for k, v in pairs(fields) do
        if k ~= "status" and k ~= "_due" and k ~= "_job" and k ~= "lastUpdatedDateTime" then x[k] = v end
      end
    end
  end
end

-- Output files of a job whose record is gone by the time it ends.
local function discard(eng, spec)
  local r = spec.record
  if spec.work == "train" and r._id then
    eng.store:remove("models/" .. r._id .. ".json")
    eng.store:remove("models/" .. r._id)
  end
end

-- Copies what the job changed back into the engine's records and drops
-- the caches it made stale. Returns false when the record is no longer
-- waiting for this job (deleted, or stopped meanwhile): then nothing
-- applies.
function _M.apply(eng, r, spec, result)
  local res = eng.store.resources
  os.remove(result_path(eng.dir, spec.arn))
  if res[spec.arn] ~= r or not r._job then
    if res[spec.arn] ~= r then discard(eng, spec) end
    return false
  end
  copy_back(eng, result.set)
  -- Rows a job rewrote, models it replaced.
  if spec.work == "import" or spec.work == "delete_data" then
    for arn, x in pairs(spec.resources) do
      if x._kind == "dataset" then
        eng.cache[arn] = nil
        eng.cache[arn .. "#journal"] = nil   -- jobs.journal_key
      end
    end
  elseif spec.work == "train" then
    eng.models[spec.arn] = nil
  end
  return true
end

-- The runner of the in-process engine: the job runs in the caller.
function _M.inline()
  return {
    busy = function() return false end,
    start = function(_, spec, done) done(_M.run(spec)); return true end,
  }
end

-- Kinds of work, and what a restart does to a job of that kind that was
-- running when the engine stopped (see README, "After a crash"): every
-- kind runs again from its inputs, at most MAX_RESUMES times.
_M.MAX_RESUMES = 2

-- Called when the engine opens: every record whose job was running
-- (r._job) gets the result its job left in DIR/jobs/ (`finish(r, ok,
-- failure)`), else is due again at once (`resume(r)`), or failed when it
-- was interrupted MAX_RESUMES times already (`fail(r, reason)`). Returns
-- the number of jobs found.
function _M.recover(eng, resume, fail, finish)
  local n = 0
  local list = {}
  for _, r in pairs(eng.store.resources) do
    if r._job then list[#list + 1] = r end
  end
  table.sort(list, function(a, b) return (a._seq or 0) < (b._seq or 0) end)
  for _, r in ipairs(list) do
    n = n + 1
    local arn = r[KEY[r._kind]]
    local path = arn and result_path(eng.dir, arn)
    local result = path and eng.store:read_json(path:sub(#eng.dir + 2))
    local count = (tonumber(r._resumes) or 0) + 1
    r._job = nil
    r._resumes = count
    if type(result) == "table" then
      copy_back(eng, result.set)
      finish(r, result.ok, result.failure)
      os.remove(path)
    elseif count > _M.MAX_RESUMES then
      fail(r, ("personalize-local restarted while this job ran (%d times); it was not run again: "
        .. "create the job again"):format(count))
    else
      resume(r)
    end
  end
  return n
end

return _M
