-- Waiters: poll a Describe* operation until a resource settles.
--
--   local res, err = client:wait("campaign", arn_or_params, opts)
--
-- Names: one per asynchronous resource ("dataset_group", "dataset",
-- "dataset_import_job", "dataset_export_job", "solution",
-- "solution_version", "campaign", "event_tracker", "filter", "recommender",
-- "metric_attribution", "batch_inference_job", "batch_segment_job",
-- "data_deletion_job"), waiting for ACTIVE (COMPLETED for data deletion
-- jobs); "<name>_deleted" for those with a Delete* operation, done when
-- Describe answers ResourceNotFoundException; "recommender_stopped"
-- (INACTIVE). Where the resource has a latest*Update (campaign, dataset,
-- recommender, solution), that update must be ACTIVE too.
--
-- `params`: the ARN itself or the Describe params table.
--
-- Returns the last Describe result (true for *_deleted) or nil and an
-- error (personalize.errors):
--   code "WaiterFailure"  a failure status was reached; err.status_value,
--                         err.failure_reason (failureReason, also in the
--                         message), err.waiter, err.arn, err.last_response
--   code "WaiterTimeout"  still not done after opts.timeout; err.status_value
--                         is the last status, err.elapsed the seconds spent
--   any other             the Describe call's own error, returned at once
--                         (transient errors were already retried by the client)
-- An unknown waiter name or a bad option raises.
--
-- opts:
--   timeout    seconds before WaiterTimeout (default 10800, 3 hours)
--   delay      seconds before the second poll (default 2; the first is at once)
--   backoff    factor applied to the delay after each poll (default 1.5)
--   max_delay  cap of the delay (default 30)
--   on_status  function(status, elapsed, result) called after each poll
--   progress   true: a live line on stderr; false: none; a stream (with
--              :write) to write it to; default: true when stderr is a terminal
--   sleep, now clock functions (default the client transport's, else the
--              core's), injectable for tests
local core = require "personalize.core"
local errors = require "personalize.errors"
local lifecycles = require "personalize.lifecycles"

local type, pairs, tostring, error, min, floor = type, pairs, tostring, error, math.min, math.floor
local str_format, rep, concat, sort = string.format, string.rep, table.concat, table.sort

local _M = {}

-- Resource -> its Describe operation, ARN parameter, result member, the
-- member holding its latest update (when it has one), its success and
-- failure statuses: every kind of personalize.lifecycles with a status.
local RESOURCES = {}
for name, k in pairs(lifecycles.KINDS) do
  if k.statuses then
    RESOURCES[name] = { op = "Describe" .. k.api, arn = k.key, key = k.out, update = k.update,
                        delete = k.delete, success = k.statuses[3], failure = k.failed }
  end
end

local function set(list)
  local s = {}
  for _, v in ipairs(list) do s[v] = true end
  return s
end

-- Waiter name -> { resource, success status, failure set, deleted }.
local WAITERS = {}
for name, r in pairs(RESOURCES) do
  WAITERS[name] = { resource = r, success = r.success, failure = set(r.failure) }
  if r.delete then
    WAITERS[name .. "_deleted"] = { resource = r, deleted = true, failure = set { "DELETE FAILED" } }
  end
end
WAITERS.recommender_stopped = { resource = RESOURCES.recommender, success = "INACTIVE",
                                failure = set { "CREATE FAILED" } }
_M.WAITERS = WAITERS

-- The waiter names, sorted.
function _M.names()
  local names = {}
  for k in pairs(WAITERS) do names[#names + 1] = k end
  sort(names)
  return names
end

-- "3m12s", "45s", "1h02m03s".
local function duration(seconds)
  local s = floor(seconds + 0.5)
  if s < 60 then return str_format("%ds", s) end
  if s < 3600 then return str_format("%dm%02ds", floor(s / 60), s % 60) end
  return str_format("%dh%02dm%02ds", floor(s / 3600), floor(s / 60) % 60, s % 60)
end
_M.duration = duration

-- The status to act on, the failure reason, and whether it is the latest
-- update's: an ACTIVE resource with an update under way is as far as its
-- update.
local function evaluate(w, res)
  local r = w.resource
  local body = type(res[r.key]) == "table" and res[r.key] or {}
  local status, reason = body.status, body.failureReason
  local update = r.update and type(body[r.update]) == "table" and body[r.update]
  if update and update.status ~= nil and not w.failure[status]
      and status == w.success and update.status ~= "ACTIVE" then
    return update.status, update.failureReason, true
  end
  return status, reason, false
end

local function check_number(opts, key, default)
  local v = opts[key]
  if v == nil then return default end
  if type(v) ~= "number" or v ~= v or v < 0 then
    error(str_format("personalize.waiters: option %s must be a non-negative number, got %s", key, tostring(v)), 3)
  end
  return v
end

-- The live line: "\r<name> <arn tail>: <STATUS>  3m12s", padded over the
-- previous one; finished with a newline.
local function progress_writer(stream, name, arn)
  local tail = type(arn) == "string" and (arn:match("([^/:]+)$") or arn) or "?"
  local width = 0
  local p = {}
  function p.show(status, elapsed)
    local line = str_format("%s %s: %s  %s", name, tail, tostring(status or "?"), duration(elapsed))
    local pad = width > #line and rep(" ", width - #line) or ""
    width = #line
    stream:write("\r", line, pad)
    if stream.flush then stream:flush() end
  end
  function p.finish()
    stream:write("\n")
    if stream.flush then stream:flush() end
  end
  return p
end

local function progress_stream(opt)
  if opt == false then return nil end
  if opt == nil then
    if core.isatty(2) then return io.stderr end
    return nil
  end
  if opt == true then return io.stderr end
  if (type(opt) == "table" or type(opt) == "userdata") and opt.write then return opt end
  error("personalize.waiters: option progress must be a boolean or a stream with :write", 3)
end

-- Waits for `name`; see the module header.
function _M.wait(client, name, params, opts)
  local w = WAITERS[name]
  if not w then
    error(str_format("personalize.waiters: unknown waiter %s; known waiters: %s",
      tostring(name), concat(_M.names(), ", ")), 2)
  end
  local r = w.resource
  if type(params) == "string" then
    params = { [r.arn] = params }
  elseif type(params) ~= "table" then
    error(str_format("personalize.waiters: %s needs the %s (a string) or the %s params table, got %s",
      name, r.arn, r.op, type(params)), 2)
  end
  opts = opts or {}
  if type(opts) ~= "table" then error("personalize.waiters: options must be a table", 2) end
  local timeout = check_number(opts, "timeout", 10800)
  local delay = check_number(opts, "delay", 2)
  local max_delay = check_number(opts, "max_delay", 30)
  local backoff = check_number(opts, "backoff", 1.5)
  local on_status = opts.on_status
  if on_status ~= nil and type(on_status) ~= "function" then
    error("personalize.waiters: option on_status must be a function", 2)
  end
  local transport = type(client.transport) == "table" and client.transport or {}
  local sleep = opts.sleep or transport.sleep or core.sleep
  local now = opts.now or transport.now or core.now
  local stream = progress_stream(opts.progress)
  local arn = params[r.arn]
  local progress = stream and progress_writer(stream, name, arn)

  local start = now()
  local last_status
  while true do
    local res, err = client:call(r.op, params)
    local elapsed = now() - start
    if not res then
      if w.deleted and type(err) == "table" and err.code == "ResourceNotFoundException" then
        if progress then progress.show("DELETED", elapsed); progress.finish() end
        return true
      end
      if progress then progress.finish() end
      return nil, err
    end
    local status, reason, of_update = evaluate(w, res)
    last_status = status
    if on_status then on_status(status, elapsed, res) end
    if progress then progress.show(status, elapsed) end

    if not w.deleted and status == w.success then
      if progress then progress.finish() end
      return res
    end
    if w.failure[status] then
      if progress then progress.finish() end
      return nil, errors.new {
        code = "WaiterFailure", retryable = false,
        message = str_format("waiter %s failed: %s %s%s reached the failure status %s%s",
          name, r.key, tostring(arn), of_update and "'s latest update" or "", status,
          reason and (": " .. tostring(reason)) or ""),
        status_value = status, failure_reason = reason, waiter = name, arn = arn,
        elapsed = elapsed, last_response = res,
      }
    end
    if elapsed >= timeout then
      if progress then progress.finish() end
      return nil, errors.new {
        code = "WaiterTimeout", retryable = false,
        message = str_format("waiter %s timed out: %s %s is still %s after %s (timeout %s s)",
          name, r.key, tostring(arn), tostring(last_status), duration(elapsed), tostring(timeout)),
        status_value = last_status, waiter = name, arn = arn, elapsed = elapsed, last_response = res,
      }
    end
    sleep(min(delay, timeout - elapsed))
    delay = min(delay * backoff, max_delay)
  end
end

return _M
