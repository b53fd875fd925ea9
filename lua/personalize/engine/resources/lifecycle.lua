-- personalize-local's lifecycle machine: moves each record along its
-- kind's flow (resources.records' KINDS) when its time is due, hands the
-- kind's work (import, training, ...) to the engine's runner
-- (engine.job_runner) at the end of the in-progress step, and applies the
-- result when the work ends.
--
--   changed, delay = lifecycle.tick(eng, now)
--   n = lifecycle.recover(eng)       -- when the engine opens
local job_runner = require "personalize.engine.job_runner"
local records = require "personalize.engine.resources.records"

local tostring, pairs, ipairs, sort = tostring, pairs, ipairs, table.sort
local KINDS, WAITS, set_status, destroy = records.KINDS, records.WAITS, records.set_status, records.destroy

local _M = {}

-- Finishes an update started by start_update.
local function apply_update(eng, r)
  local u = r._update
  if u then
    for k, v in pairs(u.settings) do r[k] = v end
    local s = r[u.member]
    if s then s.status = "ACTIVE"; s.lastUpdatedDateTime = eng.now() end
    r._update = nil
  end
  set_status(eng, r, "ACTIVE")
end

-- The end of a job: ACTIVE (or COMPLETED), else failed with the reason.
local function finish(eng, r, ok, failure)
  local flow = KINDS[r._kind].flow
  r._job, r._resumes = nil, nil
  if ok then
    set_status(eng, r, flow[3])
  else
    r.failureReason = failure
    set_status(eng, r, flow[4])
  end
end

-- Hands the kind's work of `r` to eng.runner; its result applies when it
-- ends (at once in-process). False when the runner has no free slot: `r`
-- stays due and starts at a later tick, in creation order.
local function start_work(eng, r, def)
  local runner = eng.runner
  if runner:busy() then return false end
  local spec = job_runner.prepare(eng, r, def.work)
  r._job, r._due = true, nil
  local ok, serr = runner:start(spec, function(result)
    if job_runner.apply(eng, r, spec, result) and r.status == def.flow[2] then
      finish(eng, r, result.ok, result.failure)
    else
      r._job = nil
    end
  end)
  if not ok then finish(eng, r, false, "internal error: cannot start the job: " .. tostring(serr)) end
  return true
end

-- Moves `r` one step along its lifecycle; hands the kind's work to the
-- runner at the end of the in-progress step. False when nothing moved.
local function advance(eng, r)
  local def = KINDS[r._kind]
  local status = r.status
  local flow = def.flow
  if status == flow[1] then
    set_status(eng, r, flow[2], eng.timings.in_progress)
  elseif status == flow[2] then
    if r._job then
      r._due = nil
    elseif def.work then
      return start_work(eng, r, def)
    else
      finish(eng, r, true)
    end
  elseif status == "UPDATE IN_PROGRESS" then
    apply_update(eng, r)
  elseif status == "DELETE IN_PROGRESS" then
    destroy(eng, r)
  elseif WAITS[status] then
    set_status(eng, r, WAITS[status], eng.timings.in_progress)
  else
    r._due = nil
  end
  return true
end

-- Runs every transition due at `now`, oldest resource first. Returns
-- whether anything changed and the seconds until the next due one.
function _M.tick(eng, now)
  local changed = false
  for _ = 1, 16 do
    local due = {}
    for _, r in pairs(eng.store.resources) do
      if r._due and r._due <= now then due[#due + 1] = r end
    end
    if #due == 0 then break end
    sort(due, function(a, b) return a._seq < b._seq end)
    local moved = false
    for _, r in ipairs(due) do
      if eng.store.resources[r[KINDS[r._kind].key]] == r and advance(eng, r) then moved = true end
    end
    if not moved then break end
    changed = true
    now = eng.now()
  end
  local next_due
  for _, r in pairs(eng.store.resources) do
    if r._due and (not next_due or r._due < next_due) then next_due = r._due end
  end
  return changed, next_due and math.max(0, next_due - now) or nil
end

-- When the engine opens: every job that was running when it stopped
-- (r._job) gets the result it left, else runs again from its inputs, or
-- fails with a failureReason saying the engine restarted
-- (job_runner.recover). Returns how many.
function _M.recover(eng)
  for _, r in pairs(eng.store.resources) do
    -- stopped while its job ran: nothing to resume
    if r._job and r.status ~= KINDS[r._kind].flow[2] then r._job = nil end
  end
  return job_runner.recover(eng,
    function(r) r._due = eng.now() end,
    function(r, reason) finish(eng, r, false, reason) end,
    function(r, ok, failure) finish(eng, r, ok, failure) end)
end

return _M
