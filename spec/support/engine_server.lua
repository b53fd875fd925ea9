-- personalize-local served by nginx (bin/personalize-local) for specs that
-- want a real HTTP peer: our clients, the AWS CLI, curl.
--
--   local engine_server = require "support.engine_server"
--   local server = engine_server.start {
--     dir = nil,          -- data directory; default a fresh temp dir that
--                         -- stop() removes (a dir you name is kept)
--     timings = nil,      -- { pending = 0.2, in_progress = 0.5 }: seconds per
--                         -- lifecycle state (default: the engine's)
--     port = nil,         -- default a free port on 127.0.0.1
--     region = nil,       -- default "us-east-1"
--     access_key_id = nil, secret_access_key = nil,   -- default the engine's pair
--     lua_path = nil,     -- Lua path searched first by nginx (a fake engine)
--   }
--   -- raises with the script's output when the server does not start
--   server.endpoint, server.port    "http://127.0.0.1:PORT", PORT
--   server.dir, server.region       the data directory, "us-east-1"
--   server.access_key_id, server.secret_access_key
--   server.client_opts(extra)       { endpoint =, region =, credentials = { access_key_id =,
--                                   -- secret_access_key = } } plus `extra`, for
--                                   -- personalize.client.new(service, opts)
--   server.aws({ "personalize", "list-schemas" }, opts)   the aws CLI against the
--                                   -- server with its key pair (support.moto's aws():
--                                   -- { ok, code, stdout, stderr, json })
--   server.pid()                    nginx's master pid, or nil when not running
--   server.stop(keep)               stops nginx (idempotent); removes a temp dir
--                                   -- unless `keep`
--   server.restart()                stop (keeping the data) and start again, same port
--   server.kill9()                  SIGKILL nginx's master and worker (a crash);
--                                   -- the stale pid file stays; restart() recovers
--   server.output                   the last start's output (endpoint, keys, ...)
--
--   engine_server.run(args)         runs bin/personalize-local with `args` (a list):
--                                   -- output (stdout and stderr), exit code
--   engine_server.ROOT, engine_server.SCRIPT
--
-- Every method works with `.` or `:`. Servers still running when the Lua
-- state closes are stopped (a safety net: specs stop theirs in teardown).
local process = require "support.process"
local files = require "support.files"

local q = process.shell_quote

local _M = {}

_M.ROOT = process.ROOT
_M.SCRIPT = _M.ROOT .. "/bin/personalize-local"

-- Runs the script with a clean Lua environment (the interpreter of the
-- spec run must not leak its paths into the script's Lua 5.4).
function _M.run(args, env)
  local words = { q(_M.SCRIPT) }
  for _, a in ipairs(args) do words[#words + 1] = q(a) end
  local assigns = {}
  for k, v in pairs(env or {}) do assigns[#assigns + 1] = k .. "=" .. q(v) end
  local cmd = "env -u LUA_PATH -u LUA_CPATH -u LUA_PATH_5_4 -u LUA_CPATH_5_4 " .. table.concat(assigns, " ")
    .. " " .. table.concat(words, " ") .. " </dev/null 2>&1; echo \"exit=$?\""
  local p = io.popen(cmd)
  local out = p:read("*a")
  p:close()
  local code = tonumber(out:match("exit=(%d+)%s*$"))
  return (out:gsub("exit=%d+%s*$", "")), code
end

local live = setmetatable({}, { __mode = "k" })
local function stop_all()
  for server in pairs(live) do server.stop() end
end
if _G.newproxy then -- LuaJIT / 5.1: __gc only on userdata
  local sentinel = _G.newproxy(true)
  getmetatable(sentinel).__gc = stop_all
  _M._sentinel = sentinel
else
  _M._sentinel = setmetatable({}, { __gc = stop_all })
end

local function timings_arg(t)
  local keys, parts = {}, {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys)
  for _, k in ipairs(keys) do parts[#parts + 1] = ("%s=%s"):format(k, tostring(t[k])) end
  return table.concat(parts, ",")
end

local read_file = files.read

local counter = 0

function _M.start(opts)
  opts = opts or {}
  local server = { region = opts.region or "us-east-1" }
  local temp = opts.dir == nil
  if temp then
    counter = counter + 1
    server.dir = ("%s/personalize-server-spec-%d-%d-%d"):format(os.getenv("TMPDIR") or "/tmp",
      os.time() % 100000, math.random(1e6), counter)
  else
    server.dir = opts.dir
  end
  server.port = opts.port or process.free_port()
  server.endpoint = ("http://127.0.0.1:%d"):format(server.port)
  local running = false

  local function launch()
    local args = { "start", "--data", server.dir, "--port", tostring(server.port), "--host", "127.0.0.1",
                   "--region", server.region }
    if opts.timings then
      args[#args + 1] = "--timings"; args[#args + 1] = timings_arg(opts.timings)
    end
    if opts.access_key_id then
      args[#args + 1] = "--access-key-id"; args[#args + 1] = opts.access_key_id
      args[#args + 1] = "--secret-access-key"; args[#args + 1] = opts.secret_access_key
    end
    local out, code = _M.run(args, { PERSONALIZE_LOCAL_LUA_PATH = opts.lua_path })
    server.output = out
    if code ~= 0 then
      error(("bin/personalize-local start failed (exit %s):\n%s"):format(tostring(code), out), 3)
    end
    server.access_key_id = out:match("aws_access_key_id:%s*(%S+)")
    server.secret_access_key = out:match("aws_secret_access_key:%s*(%S+)")
    running = true
    live[server] = true
  end

  function server.pid()
    local run = server.dir .. "/run"
    local pid = tonumber((read_file(run .. "/nginx.pid") or ""):match("%d+"))
    if not pid then return nil end
    local cmdline = (read_file("/proc/" .. pid .. "/cmdline") or ""):gsub("%z", " ")
    if not cmdline:find(run .. "/nginx.conf", 1, true) then return nil end
    return pid
  end

  function server.stop(a, b)
    local keep = b
    if a ~= server then keep = a end
    if running then
      running = false
      _M.run { "stop", "--data", server.dir }
    end
    live[server] = nil
    if temp and not keep then os.execute("rm -rf " .. q(server.dir)) end
  end

  function server.restart()
    server.stop(true)
    launch()
  end

  function server.kill9()
    local pid = server.pid()
    if not pid then return end
    local pids = { pid }
    local p = io.popen("ps -o pid= --ppid " .. pid)
    for line in p:lines() do pids[#pids + 1] = tonumber(line:match("%d+")) end
    p:close()
    os.execute("kill -9 " .. table.concat(pids, " ") .. " 2>/dev/null")
    for _ = 1, 100 do
      local any = false
      for _, x in ipairs(pids) do
        -- a zombie (our grandchild's child: reaped by init) counts as gone
        local stat = read_file("/proc/" .. x .. "/stat")
        if stat and not stat:match("^%d+ %b() Z") then any = true end
        -- a zombie leader whose other threads (the jobs' pool) still exit holds the port
        local tasks = io.popen("ls /proc/" .. x .. "/task 2>/dev/null | wc -l")
        if (tonumber(tasks:read("*a")) or 0) > 1 then any = true end
        tasks:close()
      end
      if not any then break end
      os.execute("sleep 0.05")
    end
    running = false
  end

  function server.client_opts(a, b)
    local extra = b
    if a ~= server then extra = a end
    local o = { endpoint = server.endpoint, region = server.region,
                credentials = { access_key_id = server.access_key_id, secret_access_key = server.secret_access_key } }
    for k, v in pairs(extra or {}) do o[k] = v end
    return o
  end

  function server.aws(a, b, c)
    local args, aopts = a, b
    if a == server then args, aopts = b, c end
    local o = { access_key_id = server.access_key_id, secret_access_key = server.secret_access_key,
                region = server.region }
    for k, v in pairs(aopts or {}) do o[k] = v end
    return require("support.moto").aws(server.endpoint, args, o)
  end

  launch()
  return server
end

return _M
