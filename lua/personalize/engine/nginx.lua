-- luacheck: globals ngx
-- personalize-local on nginx: adapts lua-nginx-module's request and
-- response to the engine's handle() (see personalize.engine), one engine
-- per worker. The conf (personalize.engine.nginx_conf) calls:
--
--   init_worker_by_lua_block { require("personalize.engine.nginx").init_worker{
--     dir = DIR, region = "us-east-1", timings = nil,
--     job_pool = "personalize_jobs", job_threads = 2 } }  -- a thread_pool of the conf
--   content_by_lua_block { require("personalize.engine.nginx").serve() }
--   content_by_lua_block { require("personalize.engine.nginx").health() }
--
-- init_worker opens the engine and starts a timer that runs eng:tick()
-- at the delay it returns (clamped to MIN_TICK..MAX_TICK). The worker only
-- answers requests and supervises jobs: tick hands each due job to the
-- runner, which runs personalize.engine.job_runner.run in the thread pool
-- job_pool (at most job_threads at once, each from a light thread waiting
-- on ngx.run_worker_thread) and applies its result to the state when it
-- returns. A JSON API request (control plane, runtime, events) whose
-- Content-Length is above MAX_JSON_BODY, or that has no Content-Length,
-- is refused before its body is read; S3 bodies stream. serve() reads
-- the body (in memory, or the file nginx spooled it to: body_file),
-- passes the raw path, query and lowercased headers (repeated headers
-- joined with ","), and writes the status, headers and body, streaming a
-- body_file in chunks. A Lua error anywhere is logged and answered with
-- 500 {"__type":"InternalFailure"}; the worker never dies of it. health()
-- answers 200 when the engine is open ("pending": resources with lifecycle
-- work still to do, running jobs included), else 503 with the reason.
local pcall, xpcall, pairs, type, tostring, tonumber = pcall, xpcall, pairs, type, tostring, tonumber
local io_open = io.open
local concat = table.concat
local min, max = math.min, math.max
local fmt = string.format
local traceback = debug.traceback

local _M = {}

-- The largest JSON request body: Personalize's largest valid requests
-- (put_items / put_users with 10 records, CreateSchema) are a few hundred
-- KB; 1 MiB is also nginx's client_body_buffer_size, so an accepted JSON
-- body is never spooled to disk and decodes in milliseconds.
_M.MAX_JSON_BODY = 1048576
_M.MIN_TICK = 0.05
_M.MAX_TICK = 0.5
_M.CHUNK = 65536           -- bytes per ngx.print of a streamed body_file
_M.FLUSH_EVERY = 16        -- chunks between waits for the client to drain

-- Test hook (specs only): when a module named personalize_local_test_hooks
-- is on the Lua path (PERSONALIZE_LOCAL_LUA_PATH), its delay(req) may
-- return seconds to wait (ngx.sleep, capped at MAX_DELAY) before the
-- engine answers `req`, to make the peer slow for chosen requests.
-- Without that module nothing is ever delayed.
_M.MAX_DELAY = 30
local test_hooks

-- The worker's engine, or the reason it is not open.
local state = { eng = nil, err = "the engine has not been opened", opts = nil }
_M.state = state

local json_string = require("personalize.codec").json_string

-- The engine's runner (see personalize.engine.job_runner): each job in
-- a light thread that waits for it in the job pool. A worker that exits
-- (stop: nginx's QUIT) does not wait for its light threads: a job still
-- running then finishes in its thread, and its result (kept in DIR/jobs/
-- by job_runner.run) applies when the engine opens next.
local function thread_runner(pool, slots)
  local running = 0
  local runner = {}
  function runner.busy() return running >= slots end
  function runner.start(_, spec, done)
    spec.collect = true
    local ok, err = ngx.timer.at(0, function(premature)
      if premature then running = running - 1; return end      -- recovered at the next open
      local tok, result = ngx.run_worker_thread(pool, "personalize.engine.job_runner", "run", spec)
      running = running - 1
      ngx.log(ngx.NOTICE, "personalize-local: job ", spec.work, " of ", spec.arn, " ended: ",
        type(result) == "table" and (result.ok and "ok" or tostring(result.failure)) or tostring(result))
      if not tok or type(result) ~= "table" then
        result = { ok = false, failure = "internal error: the job's thread failed: " .. tostring(result) }
      end
      local eng = state.eng
      if not eng then return end
      local dok, derr = pcall(done, result)
      if not dok then ngx.log(ngx.ERR, "personalize-local: applying a job's result failed: ", tostring(derr)) end
      local sok, serr = pcall(eng.store.save, eng.store)
      if not sok then ngx.log(ngx.ERR, "personalize-local: ", tostring(serr)) end
    end)
    if not ok then return nil, err end
    running = running + 1
    return true
  end
  return runner
end

local function on_timer(premature)
  local eng = state.eng
  if not eng then return end
  if premature then               -- the worker is exiting: release the lock
    pcall(eng.close, eng)
    state.eng, state.err = nil, "the worker is shutting down"
    return
  end
  local ok, delay = pcall(eng.tick, eng)
  if not ok then
    ngx.log(ngx.ERR, "personalize-local: tick failed: ", tostring(delay))
    delay = nil
  end
  local wait = _M.MAX_TICK
  if type(delay) == "number" then wait = max(_M.MIN_TICK, min(delay, _M.MAX_TICK)) end
  local tok, terr = ngx.timer.at(wait, on_timer)
  if not tok then ngx.log(ngx.ERR, "personalize-local: cannot schedule the next tick: ", terr) end
end

-- Opens the engine for this worker; failures are logged and kept for
-- health() and serve() to report.
function _M.init_worker(opts)
  state.opts = opts
  local hooks_ok, hooks = pcall(require, "personalize_local_test_hooks")
  test_hooks = hooks_ok and type(hooks) == "table" and hooks or nil
  local ok, eng, err = pcall(function()
    return require("personalize.engine").open { dir = opts.dir, region = opts.region, timings = opts.timings,
                                                runner = thread_runner(opts.job_pool or "personalize_jobs",
                                                                       opts.job_threads or 1) }
  end)
  if not ok then eng, err = nil, eng end
  if not eng then
    state.err = tostring(err)
    ngx.log(ngx.ERR, "personalize-local: cannot open the engine: ", state.err)
    return
  end
  state.eng, state.err = eng, nil
  local tok, terr = ngx.timer.at(0, on_timer)
  if not tok then ngx.log(ngx.ERR, "personalize-local: cannot start the tick timer: ", terr) end
  ngx.log(ngx.NOTICE, "personalize-local: engine open on ", opts.dir)
end

local function send_json(status, text)
  ngx.status = status
  ngx.header["Content-Type"] = "application/json"
  ngx.header["Content-Length"] = #text
  ngx.print(text)
end

local function send_error(status, code, message)
  ngx.header["x-amzn-RequestId"] = ngx.var.request_id
  ngx.header["x-amzn-ErrorType"] = code
  send_json(status, fmt('{"__type":%s,"message":%s}', json_string(code), json_string(message)))
end

function _M.health()
  local eng = state.eng
  if eng then
    local ok, err = pcall(eng.tick, eng)       -- due steps move (jobs only start)
    if not ok then ngx.log(ngx.ERR, "personalize-local: tick failed: ", tostring(err)) end
    local pending = type(eng.pending) == "function" and eng:pending() or 0
    send_json(200, fmt('{"status":"running","dir":%s,"region":%s,"pending":%d}',
      json_string(state.opts.dir), json_string(state.opts.region or "us-east-1"), pending))
  else
    send_json(503, fmt('{"status":"unavailable","message":%s}', json_string(state.err)))
  end
end

-- The request as the engine takes it.
local function read_request()
  ngx.req.read_body()
  local body = ngx.req.get_body_data()
  local body_file
  if body == nil then
    body_file = ngx.req.get_body_file()
    if body_file == nil then body = "" end
  end
  local headers = {}
  -- Names come lowercased, repeated headers as a list in arrival order.
  for name, value in pairs(ngx.req.get_headers(0)) do
    headers[name] = type(value) == "table" and concat(value, ",") or value
  end
  -- An absolute-form request target keeps only its path.
  local uri = ngx.var.request_uri:gsub("^%a[%w+.-]*://[^/]*", "")
  local query = ngx.var.args
  if query == "" then query = nil end
  return {
    method = ngx.req.get_method(),
    path = uri:match("^[^?]*"),
    query = query,
    headers = headers,
    body = body,
    body_file = body_file,
  }
end

local NO_BODY = { [204] = true, [304] = true }

local function write_response(res)
  local status = tonumber(res.status) or 500
  local file, size
  if res.body == nil and res.body_file then
    local err
    file, err = io_open(res.body_file, "rb")
    if not file then error("cannot open the response body_file: " .. tostring(err)) end
    size = file:seek("end")
    file:seek("set", 0)
  end
  local head = ngx.req.get_method() == "HEAD"
  ngx.status = status
  local length
  for name, value in pairs(res.headers or {}) do
    local lname = name:lower()
    if lname == "content-length" then
      length = value
    elseif lname ~= "transfer-encoding" and lname ~= "connection" then
      ngx.header[name] = tostring(value)
    end
  end
  if NO_BODY[status] then
    if file then file:close() end
    return
  end
  if file then
    length = size
  elseif res.body ~= nil then
    length = #res.body
  elseif not head then
    length = 0
  end
  if length then ngx.header["Content-Length"] = length end
  if not file then
    if res.body ~= nil and res.body ~= "" then ngx.print(res.body) end
    return
  end
  if head then file:close(); return end
  local n = 0
  while true do
    local chunk = file:read(_M.CHUNK)
    if not chunk then break end
    local ok, err = ngx.print(chunk)
    if not ok then
      file:close()
      ngx.log(ngx.INFO, "personalize-local: client went away while streaming: ", err)
      return
    end
    n = n + 1
    if n % _M.FLUSH_EVERY == 0 then ngx.flush(true) end
  end
  file:close()
end

-- Request paths of the runtime and events operations.
local json_paths
local function json_path(path)
  if not json_paths then
    json_paths = {}
    local models = require "personalize.models"
    for _, service in ipairs { "personalize-runtime", "personalize-events" } do
      for _, op in pairs(models.model(service).operations) do
        json_paths[op.http.requestUri] = true
      end
    end
  end
  return json_paths[path]
end

-- Refuses a JSON API request whose body is too large, before reading it:
-- true when answered.
local function refuse_large_body()
  local h = ngx.req.get_headers(0)
  local target = h["x-amz-target"]
  local service = require("personalize.engine.auth").service_of {
    headers = { authorization = h.authorization, ["x-amz-target"] = target,
                ["x-amz-content-sha256"] = h["x-amz-content-sha256"] },
    query = ngx.var.args }
  if service == "s3" or (not service and not target and not json_path(ngx.var.uri)) then return false end
  local length = h["content-length"]
  if type(length) == "table" then length = length[1] end
  length = tonumber(length)
  if length and length <= _M.MAX_JSON_BODY then return false end
  if not length and not h["transfer-encoding"] then return false end     -- no body
  if length then
    send_error(413, "RequestEntityTooLargeException", fmt(
      "personalize-local: the request body has %d bytes; JSON requests may have at most %d", length, _M.MAX_JSON_BODY))
  else
    send_error(411, "LengthRequiredException",
      "personalize-local: JSON requests need a Content-Length (at most " .. _M.MAX_JSON_BODY .. " bytes)")
  end
  return true
end

local function serve()
  local eng = state.eng
  if not eng then
    return send_error(503, "ServiceUnavailable", "personalize-local: " .. tostring(state.err))
  end
  if refuse_large_body() then return end
  local req = read_request()
  local delay = test_hooks and test_hooks.delay and tonumber(test_hooks.delay(req))
  if delay and delay > 0 then ngx.sleep(min(delay, _M.MAX_DELAY)) end
  local res = eng:handle(req)
  if type(res) ~= "table" then error("the engine returned " .. type(res) .. " instead of a response") end
  write_response(res)
end

-- The content handler of every location but health.
function _M.serve()
  local ok, err = xpcall(serve, traceback)
  if ok then return end
  ngx.log(ngx.ERR, "personalize-local: ", err)
  if ngx.headers_sent then return ngx.exit(ngx.ERROR) end
  local message = tostring(err):match("^[^\n]*")
  local sent = pcall(send_error, 500, "InternalFailure", "personalize-local: " .. message)
  if not sent then return ngx.exit(500) end
end

return _M
