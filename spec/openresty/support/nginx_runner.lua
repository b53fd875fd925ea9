-- Runs an nginx of the spec's own (Debian's nginx + lua-nginx-module) in a
-- temp prefix on loopback, and speaks plain HTTP/1.1 to it.
--
--   local runner = require "openresty.support.nginx_runner"
--   local ng = runner.start(conf_text, { env = { NAME = "value" } })  -- raises with error.log
--   ng.prefix, ng.log()          the prefix directory, error.log's text
--   ng.stop()                    QUIT, then KILL; removes the prefix
--   local conn = runner.open(port, "GET", "/path", body, headers)  -- sends, does not read
--   local status, body, headers = conn:read()
--   local status, body, headers = runner.request(port, "GET", "/path", body, headers)
--   runner.available()           the nginx binary, or nil (skipped loudly; an error under CI=true)
local process = require "support.process"
local socket = require "socket"
local files = require "support.files"

local q = process.shell_quote

local _M = {}

_M.NGINX = "/usr/sbin/nginx"
_M.LUA_MODULE = "/usr/lib/nginx/modules/ngx_http_lua_module.so"

function _M.available()
  local f = io.open(_M.LUA_MODULE)
  if f then f:close() end
  local path = process.require_peer("nginx", "the OpenResty specs run nginx with lua-nginx-module ("
    .. "make deps)")
  if path and not f then
    local msg = "libnginx-mod-http-lua is not installed (make deps)"
    if os.getenv("CI") == "true" then error(msg, 2) end
    io.stderr:write("\n*** SKIPPED: " .. msg .. " ***\n")
    return nil
  end
  return path
end

local function read_file(path) return files.read(path) or "" end

local counter = 0

local function is_root()
  local p = io.popen("id -u")
  local uid = p:read("*l")
  p:close()
  return uid == "0"
end

function _M.start(conf, opts)
  opts = opts or {}
  counter = counter + 1
  local prefix = ("%s/personalize-ngx-spec-%d-%d-%d"):format(os.getenv("TMPDIR") or "/tmp",
    os.time() % 100000, math.random(1e6), counter)
  assert(os.execute("mkdir -p " .. q(prefix .. "/logs") .. " " .. q(prefix .. "/tmp")))
  -- As root, nginx's workers would run as nobody, who cannot read a
  -- checkout in a private (0700) directory: they keep root's rights.
  if is_root() and not conf:find("^%s*user%s") and not conf:find("\n%s*user%s") then
    conf = "user root root;\n" .. conf
  end
  local f = assert(io.open(prefix .. "/nginx.conf", "wb"))
  f:write(conf)
  f:close()
  local assigns = {}
  for k, v in pairs(opts.env or {}) do assigns[#assigns + 1] = k .. "=" .. q(v) end
  -- A clean environment: workers must see only what the conf's env names.
  local cmd = "env -i PATH=/usr/sbin:/usr/bin:/bin " .. table.concat(assigns, " ") .. " "
    .. q(_M.NGINX) .. " -p " .. q(prefix) .. " -c " .. q(prefix .. "/nginx.conf") .. " 2>&1"
  local p = io.popen(cmd)
  local out = p:read("*a")
  p:close()
  local ng = { prefix = prefix }
  function ng.log() return read_file(prefix .. "/logs/error.log") end
  function ng.pid() return tonumber(read_file(prefix .. "/logs/nginx.pid"):match("%d+")) end
  function ng.stop()
    local pid = ng.pid()
    if pid then
      os.execute("kill -QUIT " .. pid .. " 2>/dev/null")
      for _ = 1, 100 do
        local r = os.execute("kill -0 " .. pid .. " 2>/dev/null")
        if not (r == true or r == 0) then break end
        socket.sleep(0.05)
      end
      os.execute("kill -9 " .. pid .. " 2>/dev/null")
    end
    if not opts.keep then os.execute("rm -rf " .. q(prefix)) end
  end
  for _, port in ipairs(opts.ports or {}) do
    local deadline = socket.gettime() + 10
    while not process.port_open(port) and socket.gettime() < deadline do socket.sleep(0.05) end
    if not process.port_open(port) then
      local log = ng.log()
      ng.stop()
      error(("nginx did not listen on %d: %s\n%s"):format(port, out, log), 2)
    end
  end
  return ng
end

local Conn = {}
Conn.__index = Conn

function _M.open(port, method, path, body, headers)
  local c = assert(socket.tcp())
  c:settimeout(30)
  assert(c:connect("127.0.0.1", port))
  local lines = { ("%s %s HTTP/1.1"):format(method, path), "Host: 127.0.0.1", "Connection: close" }
  for k, v in pairs(headers or {}) do lines[#lines + 1] = k .. ": " .. v end
  if body then lines[#lines + 1] = "Content-Length: " .. #body end
  assert(c:send(table.concat(lines, "\r\n") .. "\r\n\r\n" .. (body or "")))
  return setmetatable({ sock = c }, Conn)
end

-- Reads the whole response (the server closes: Connection: close).
function Conn:read()
  local raw = self.sock:receive("*a")
  self.sock:close()
  local head, body = raw:match("^(.-)\r\n\r\n(.*)$")
  local status = tonumber(head:match("^HTTP/%d%.%d (%d+)"))
  local headers = {}
  for name, value in head:gmatch("\r\n([^:]+):%s*([^\r]*)") do headers[name:lower()] = value end
  if (headers["transfer-encoding"] or ""):find("chunked") then
    local out, pos = {}, 1
    while true do
      local size_hex, after = body:match("^(%x+)[^\r]*\r\n()", pos)
      local size = tonumber(size_hex, 16)
      if not size or size == 0 then break end
      out[#out + 1] = body:sub(after, after + size - 1)
      pos = after + size + 2
    end
    body = table.concat(out)
  end
  return status, body, headers
end

function _M.request(port, method, path, body, headers)
  return _M.open(port, method, path, body, headers):read()
end

return _M
