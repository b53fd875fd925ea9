-- Many calls at once: client:map and fanout.run.
--
--   local results, failed = client:map("get_recommendations", list_of_params,
--     { concurrency = 16, on_progress = function(done, total) end })
--   local results, failed = fanout.run({ { client, "get_recommendations", params },
--     { events, "put_events", params2 }, ... }, { concurrency = 16 })
--
-- results[i] is what the i-th call returns on its own: its result table,
-- or its error object (personalize.errors: errors.is_error(results[i])),
-- in input order; `failed` counts the errors. Each call is the client's
-- own `call` (validate -> build -> sign -> send -> parse, with its
-- retries): a call that fails validation is never sent; a retried call
-- waits out its back-off without holding back the others.
--
-- How the calls run at once depends on the client's transport:
--   * curl (plain Lua): every call runs in a coroutine of this module; a
--     coroutine that sends yields its request, which joins one libcurl
--     multi handle (personalize.core.multi) with the other requests in
--     flight, on a spare easy handle of the transport (same TLS, proxy,
--     timeouts); a back-off sleep yields too. At most `concurrency`
--     requests are in flight, and the connections stay in the multi's
--     cache for the next run.
--   * a transport with run_workers (the hook for OpenResty, where
--     personalize.transport.ngx implements it with ngx.thread):
--     `transport:run_workers(n, worker)` runs worker() in n light threads
--     at once and returns once every one has returned (re-raising the
--     first error of any). Each worker calls client:call for the next
--     item until none is left.
--   * any other transport (personalize-local in process, a stub): the
--     same coroutines, but its send runs to completion when called, so
--     the calls go one after another.
--
-- The operations come through client:operation(op), the client's public
-- accessor of its model.
--
-- Misuse raises: an unknown operation, a list that is not a table, bad
-- options. An error raised by a call (or by on_progress) stops the run:
-- the requests in flight are abandoned and the error is raised again.
local core = require "personalize.core"
local errors = require "personalize.errors"

local type, tostring, error, pairs, ipairs, pcall, setmetatable =
  type, tostring, error, pairs, ipairs, pcall, setmetatable
local co_create, co_resume, co_yield, co_status = coroutine.create, coroutine.resume, coroutine.yield, coroutine.status
local now = core.now
local floor = math.floor

local _M = {}

_M.DEFAULT_CONCURRENCY = 16
_M.MAX_CONCURRENCY = 1024

-- The multi handle of this Lua state, kept between runs so that its
-- connections are reused; a nested run (a map inside on_progress) gets a
-- multi of its own.
local shared_multi, shared_busy = nil, false

-- The operation object of `client` named `op` ("get_recommendations" or
-- "GetRecommendations"); raises at `level` when there is none.
local function resolve_op(client, op, level)
  if type(client) ~= "table" or type(client.operation) ~= "function" then
    error("personalize.fanout: a personalize client expected, got " .. tostring(client), level + 1)
  end
  if type(op) ~= "string" then error("personalize.fanout: operation name expected, got " .. type(op), level + 1) end
  local found = client:operation(op)
  if not found then
    error(("personalize.fanout: %s has no operation %s"):format(client.service, op), level + 1)
  end
  return found.name
end

local function check_opts(opts, level)
  if opts == nil then opts = {} end
  if type(opts) ~= "table" then error("personalize.fanout: options must be a table", level + 1) end
  for k in pairs(opts) do
    if k ~= "concurrency" and k ~= "on_progress" then
      error(("personalize.fanout: unknown option %q (concurrency, on_progress)"):format(tostring(k)), level + 1)
    end
  end
  local n = opts.concurrency
  if n == nil then n = _M.DEFAULT_CONCURRENCY end
  if type(n) ~= "number" or n < 1 or n > _M.MAX_CONCURRENCY or n ~= floor(n) then
    error(("personalize.fanout: concurrency must be a whole number from 1 to %d"):format(_M.MAX_CONCURRENCY), level + 1)
  end
  local progress = opts.on_progress
  if progress ~= nil and type(progress) ~= "function" then
    error("personalize.fanout: on_progress must be a function", level + 1)
  end
  return n, progress
end

---------------------------------------------------------------------------
-- Coroutine scheduler.
--
-- A call runs client:call on a stand-in for its client whose transport
-- yields: ("send", transport, request) and ("sleep", seconds). The
-- stand-in shares everything else with the client (credentials, retry
-- quota, model), so the retry budget is the client's as for single calls.

local SEND, SLEEP = {}, {}

local function yielding_transport(real)
  return {
    name = real.name, now = real.now,
    send = function(_, req) return co_yield(SEND, real, req) end,
    sleep = function(seconds) co_yield(SLEEP, seconds) end,
  }
end

-- One stand-in per client and run.
local function stand_in(cache, client)
  local s = cache[client]
  if not s then
    s = setmetatable({ transport = yielding_transport(client.transport) }, { __index = client })
    cache[client] = s
  end
  return s
end

local Run = {}
Run.__index = Run

-- A call finished: store its outcome and tell on_progress.
function Run:finish(i, res, err)
  if res == nil then
    if not errors.is_error(err) then
      err = errors.new { code = "HTTPClientError", message = tostring(err), retryable = false }
    end
    self.results[i] = err
    self.failed = self.failed + 1
  else
    self.results[i] = res
  end
  self.done = self.done + 1
  if self.progress then self.progress(self.done, self.total) end
end

-- Resumes call `i` with the given values and files what it yields next.
function Run:resume(i, ...)
  local co = self.threads[i]
  local ok, what, a, b = co_resume(co, ...)
  if not ok then error(what, 0) end
  if co_status(co) == "dead" then
    self.threads[i] = nil
    self.active = self.active - 1
    return self:finish(i, what, a)
  end
  if what == SEND then
    local q = self.sendq
    q.last = q.last + 1
    q[q.last] = i
    self.pending[i] = { transport = a, request = b }
  elseif what == SLEEP then
    -- A back-off frees the call's slot until it wakes.
    self.active = self.active - 1
    local s = self.sleepers
    s[#s + 1] = { at = now() + (a or 0), i = i }
  else
    error("personalize.fanout: a call yielded outside the fan-out (" .. tostring(what) .. ")", 0)
  end
end

function Run:start(i)
  local call = self.calls[i]
  local target = stand_in(self.stand_ins, call[1])
  local op, params = call[2], call[3]
  self.threads[i] = co_create(function() return target:call(op, params) end)
  self.active = self.active + 1
  self:resume(i)
end

-- Sends the queued requests while fewer than `concurrency` are in flight.
function Run:dispatch()
  local q = self.sendq
  while q.first <= q.last and self.inflight < self.concurrency do
    local i = q[q.first]
    q[q.first] = nil
    q.first = q.first + 1
    local p = self.pending[i]
    self.pending[i] = nil
    local transport = p.transport
    if transport.fanout_handle then
      local h = transport:fanout_handle()
      local ok, code, message = self.multi:add(h, p.request, i)
      if ok then
        self.inflight = self.inflight + 1
        self.handles[i] = { h, transport }
      else
        transport:fanout_release(h)
        self:resume(i, nil, code, message)
      end
    else
      -- A transport that cannot share the multi: sent right here.
      self:resume(i, transport:send(p.request))
    end
  end
end

-- Wakes the calls whose back-off is over.
function Run:wake()
  local s, t = self.sleepers, now()
  local k = 1
  while k <= #s do
    local sl = s[k]
    if sl.at <= t then
      s[k] = s[#s]
      s[#s] = nil
      self.active = self.active + 1
      self:resume(sl.i)
    else
      k = k + 1
    end
  end
end

-- The earliest wake-up time of the calls in back-off, or nil.
function Run:next_wake()
  local next_at
  for _, sl in ipairs(self.sleepers) do
    if not next_at or sl.at < next_at then next_at = sl.at end
  end
  return next_at
end

-- Drives the multi once: waits up to `wait` seconds for a completion.
function Run:collect(wait)
  for _, r in ipairs(self.multi:perform(wait)) do
    local i = r.id
    local slot = self.handles[i]
    self.handles[i] = nil
    self.inflight = self.inflight - 1
    slot[2]:fanout_release(slot[1])
    if r.status then
      self:resume(i, r.status, r.headers, r.body)
    else
      self:resume(i, nil, r.code, r.message)
    end
  end
end

function Run:loop()
  local next_item = 1
  while self.done < self.total do
    while next_item <= self.total and self.active < self.concurrency do
      self:start(next_item)
      next_item = next_item + 1
    end
    self:wake()
    self:dispatch()
    if self.done >= self.total then break end
    local next_at = self:next_wake()  -- after dispatch: a sent call may be in back-off now
    if self.inflight > 0 then
      local wait = 1
      if next_at then wait = next_at - now() end
      if wait < 0 then wait = 0 elseif wait > 1 then wait = 1 end
      self:collect(wait)
    elseif next_item > self.total or self.active >= self.concurrency then
      -- Nothing in flight and no new call may start: only back-offs are
      -- left to wait for (anything else would be a bookkeeping bug).
      if not next_at then
        error("personalize.fanout: internal error: calls left but nothing to wait for", 0)
      end
      local wait = next_at - now()
      if wait > 0 then core.sleep(wait) end
    end
  end
end

-- Drops the requests still in flight (after an error).
function Run:abandon()
  for _, slot in pairs(self.handles) do slot[1]:close() end
  self.handles = {}
end

local function run_scheduled(calls, concurrency, progress)
  local multi, own = shared_multi, false
  if shared_busy or not multi then
    multi = core.multi { max_connections = 0 }
    if not shared_busy then shared_multi = multi else own = true end
  end
  local self = setmetatable({
    calls = calls, total = #calls, concurrency = concurrency, progress = progress,
    results = {}, failed = 0, done = 0, active = 0, inflight = 0,
    threads = {}, pending = {}, handles = {}, sleepers = {},
    sendq = { first = 1, last = 0 }, stand_ins = {}, multi = multi,
  }, Run)
  local was_busy = shared_busy
  if not own then shared_busy = true end
  local ok, err = pcall(Run.loop, self)
  if not own then shared_busy = was_busy end
  if not ok then
    self:abandon()
    if own then multi:close() end
    error(err, 0)
  end
  if own then multi:close() end
  return self.results, self.failed
end

---------------------------------------------------------------------------
-- Worker threads (the transport's run_workers hook).

local function run_workers(runner, transport, calls, concurrency, progress)
  local total, next_item, done, failed = #calls, 0, 0, 0
  local results = {}
  local workers = concurrency < total and concurrency or total
  runner(transport, workers, function()
    while next_item < total do
      next_item = next_item + 1
      local i = next_item
      local call = calls[i]
      local res, err = call[1]:call(call[2], call[3])
      if res == nil then
        results[i] = err
        failed = failed + 1
      else
        results[i] = res
      end
      done = done + 1
      if progress then progress(done, total) end
    end
  end)
  return results, failed
end

---------------------------------------------------------------------------

-- Runs the resolved calls { client, operation name, params }.
local function execute(list, opts, level)
  local concurrency, progress = check_opts(opts, level + 1)
  if #list == 0 then return {}, 0 end
  -- Worker threads only when every call's transport has the same hook.
  local runner = list[1][1].transport.run_workers
  for i = 2, #list do
    if not runner then break end
    if list[i][1].transport.run_workers ~= runner then runner = nil end
  end
  if runner then
    return run_workers(runner, list[1][1].transport, list, concurrency, progress)
  end
  return run_scheduled(list, concurrency, progress)
end

-- fanout.run(calls, opts): calls is a list of { client, operation, params }
-- (operation as in client:map). Returns results in input order and the
-- number of errors.
function _M.run(calls, opts)
  if type(calls) ~= "table" then error("personalize.fanout: a list of calls expected", 2) end
  local list = {}
  for i = 1, #calls do
    local c = calls[i]
    if type(c) ~= "table" then
      error(("personalize.fanout: call %d must be { client, operation, params }"):format(i), 2)
    end
    list[i] = { c[1], resolve_op(c[1], c[2], 2), c[3] }
  end
  local results, failed = execute(list, opts, 2)  -- not a tail call: error levels
  return results, failed
end

-- fanout.map(client, op, list_of_params, opts): the same operation over a
-- list (client:map calls it with level 3, so misuse names its caller).
function _M.map(client, op, list, opts, level)
  level = level or 2
  local name = resolve_op(client, op, level)
  if type(list) ~= "table" then
    error("personalize.fanout: a list of parameter tables expected, got " .. type(list), level)
  end
  local calls = {}
  for i = 1, #list do calls[i] = { client, name, list[i] } end
  local results, failed = execute(calls, opts, level)  -- not a tail call: error levels
  return results, failed
end

return _M
