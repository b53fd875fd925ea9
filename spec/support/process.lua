-- Background processes and loopback ports for specs.
--
-- Servers started here listen on 127.0.0.1 only, on a free port, and are
-- stopped by the spec that started them (`proc:stop()`), or at exit.
local socket = require "socket"

local _M = {}

-- A TCP port on 127.0.0.1 that nothing listens on right now.
function _M.free_port()
  local s = assert(socket.bind("127.0.0.1", 0))
  local _, port = s:getsockname()
  s:close()
  return tonumber(port)
end

-- True once something accepts connections on 127.0.0.1:port.
function _M.port_open(port)
  local c = socket.tcp()
  c:settimeout(0.2)
  local ok = c:connect("127.0.0.1", port)
  c:close()
  return ok ~= nil
end

local function shell_quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end
_M.shell_quote = shell_quote

-- Finds an executable on PATH; nil when absent.
function _M.which(name)
  local p = io.popen("command -v " .. shell_quote(name) .. " 2>/dev/null")
  local path = p:read("*l")
  p:close()
  if path and path ~= "" then return path end
  return nil
end

local Process = {}
Process.__index = Process

-- Starts `argv` (a list of words) in the background with stdout and stderr
-- going to `log` (default a temp file). `env` is a table of extra variables.
function _M.spawn(argv, opts)
  opts = opts or {}
  local assigns, words = {}, {}
  for k, v in pairs(opts.env or {}) do assigns[#assigns + 1] = k .. "=" .. shell_quote(v) end
  for _, w in ipairs(argv) do words[#words + 1] = shell_quote(w) end
  local log = opts.log or os.tmpname()
  local cmd = table.concat(assigns, " ") .. " exec " .. table.concat(words, " ")
    .. " >" .. shell_quote(log) .. " 2>&1"
  local p = io.popen("sh -c " .. shell_quote(cmd) .. " & echo $!")
  local pid = tonumber(p:read("*l"))
  p:close()
  return setmetatable({ pid = pid, log = log, argv = argv }, Process)
end

function Process:alive()
  local r = os.execute("kill -0 " .. self.pid .. " 2>/dev/null")
  return r == true or r == 0 -- 5.2+ returns true, 5.1 returns 0
end

function Process:output()
  local f = io.open(self.log)
  if not f then return "" end
  local s = f:read("*a")
  f:close()
  return s
end

-- Waits until the process listens on `port`; raises with its log otherwise.
function Process:wait_port(port, timeout)
  local deadline = socket.gettime() + (timeout or 20)
  while socket.gettime() < deadline do
    if _M.port_open(port) then return self end
    if not self:alive() then break end
    socket.sleep(0.05)
  end
  self:stop()
  error(("%s did not listen on 127.0.0.1:%d; its output:\n%s")
    :format(self.argv[1], port, self:output()), 2)
end

function Process:stop()
  if self.stopped then return end
  self.stopped = true
  os.execute("kill " .. self.pid .. " 2>/dev/null")
  for _ = 1, 50 do
    if not self:alive() then break end
    socket.sleep(0.05)
  end
  os.execute("kill -9 " .. self.pid .. " 2>/dev/null")
  os.remove(self.log)
end

-- The repository's absolute path (from this file's place in it).
_M.ROOT = (function()
  local src = debug.getinfo(1, "S").source:gsub("^@", "")
  local root = src:match("^(.*)/spec/support/[^/]+$")
  if not root or root == "" then root = "." end
  local p = io.popen("cd " .. shell_quote(root) .. " && pwd -P")
  local abs = p:read("*l")
  p:close()
  return abs
end)()

-- The interpreter the suite runs under, for child Lua processes (the
-- Makefile sets PERSONALIZE_LUA: lua5.4, luajit or check-asan's wrapper),
-- and the C path that finds the matching core.
_M.LUA = os.getenv("PERSONALIZE_LUA") or (rawget(_G, "jit") and "luajit" or "lua5.4")
_M.LUA_CPATH = os.getenv("LUA_CPATH")
  or ("build/" .. (rawget(_G, "jit") and "luajit" or "lua5.4") .. "/?.so;;")

-- Writes the small generated data set (tools/gen_small_data.lua) to `dir`
-- in this process, so no second interpreter is needed for it.
function _M.small_data(dir)
  local gen = dofile(_M.ROOT .. "/tools/gen_small_data.lua")
  return assert(gen.write(dir))
end

-- Under CI=true a missing peer is a failure; elsewhere the spec is skipped
-- with a loud message. Returns the path when present.
function _M.require_peer(name, why)
  local path = _M.which(name)
  if path then return path end
  local msg = ("%s is not installed: %s"):format(name, why)
  if os.getenv("CI") == "true" then error(msg, 2) end
  io.stderr:write("\n*** SKIPPED: " .. msg .. " ***\n")
  return nil
end

return _M
