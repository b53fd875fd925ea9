-- The nginx.conf that serves personalize-local (bin/personalize-local
-- writes it to DATA_DIR/run/nginx.conf on every start).
--
--   local text = nginx_conf.render{
--     root = "/path/to/lua-personalize",   -- lua/ and build/luajit/ live here
--     lua_dir = "/tree/share/lua/5.4" or nil, -- the modules, when not ROOT/lua
--     dir = "/abs/data",                   -- the engine's data directory
--     host = "127.0.0.1", port = 8642, region = "us-east-1",
--     timings = { pending = 0.5, in_progress = 1 } or nil,
--     daemon = true,                       -- false: `run` in the foreground
--     access_log = false,                  -- true: DATA_DIR/run/access.log
--     user = "root root" or nil,           -- the `user` directive (master as root)
--     lua_path = "extra/?.lua;" or nil,    -- searched before ROOT/lua (specs)
--   }
--   nginx_conf.run_dir(dir)  --> dir .. "/run" (prefix, pid, logs, temp)
--
-- One worker process: the engine keeps its state in the worker's Lua VM
-- and locks the data directory; its jobs run in the worker's thread pool
-- JOB_POOL (JOB_THREADS threads, each job in a Lua VM of its own). Plain
-- Lua, no nginx needed to render it.
local pairs, tostring, type, error = pairs, tostring, type, error
local concat, sort = table.concat, table.sort
local fmt = string.format

local _M = {}

-- Debian's Lua 5.1 trees: resty.core (needed by libnginx-mod-http-lua)
-- and cjson.
_M.SYSTEM_LUA_PATH = "/usr/share/lua/5.1/?.lua;/usr/share/lua/5.1/?/init.lua"
_M.SYSTEM_LUA_CPATH = "/usr/lib/x86_64-linux-gnu/lua/5.1/?.so"
_M.MODULES = { "/usr/lib/nginx/modules/ndk_http_module.so", "/usr/lib/nginx/modules/ngx_http_lua_module.so" }
_M.HEALTH_PATH = "/_personalize_local/health"
-- The thread pool of the engine's jobs, passed to init_worker too.
-- Two threads: a short job need not wait behind a long training, and on a
-- two-core machine a core stays for the worker answering requests.
_M.JOB_POOL = "personalize_jobs"
_M.JOB_THREADS = 2

function _M.run_dir(dir)
  return dir .. "/run"
end

-- Paths go into nginx arguments and Lua strings: refuse the characters
-- that would need quoting rules of their own.
local function check_path(what, s)
  if type(s) ~= "string" or s == "" then error(what .. " is required", 3) end
  if s:find("[%c\"'\\;{}%$#`]") or s:find("%s") then
    error(fmt("%s %q: paths with blanks, quotes or any of ;{}$#\\ are not supported", what, s), 3)
  end
  return s
end

-- A Lua string literal safe inside an nginx *_by_lua_block.
local function lua_string(s)
  return '"' .. tostring(s):gsub("[^%w%-_./:@,=+]", function(c) return fmt("\\%d", c:byte()) end) .. '"'
end

local function lua_timings(t)
  if not t then return "nil" end
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  sort(keys)
  local parts = {}
  for _, k in ipairs(keys) do
    local v = tonumber(t[k])
    if not v or not k:match("^[%a_][%w_]*$") then error(fmt("bad timing %s=%s", tostring(k), tostring(t[k])), 3) end
    parts[#parts + 1] = fmt("%s = %s", k, fmt("%.17g", v))
  end
  return "{ " .. concat(parts, ", ") .. " }"
end

function _M.render(o)
  local root = check_path("root", o.root)
  local dir = check_path("data directory", o.dir)
  local run = _M.run_dir(dir)
  local host = o.host or "127.0.0.1"
  if not host:match("^[%w.:%-]+$") then error(fmt("bad host %q", host), 2) end
  local port = tonumber(o.port)
  if not port or port < 1 or port > 65535 or port % 1 ~= 0 then error(fmt("bad port %s", tostring(o.port)), 2) end
  local listen = host:find(":", 1, true) and fmt("[%s]:%d", host, port) or fmt("%s:%d", host, port)
  local region = o.region or "us-east-1"
  if not region:match("^[%w%-]+$") then error(fmt("bad region %q", region), 2) end
  local lua_dir = o.lua_dir and check_path("lua_dir", o.lua_dir) or root .. "/lua"
  local lua_path = o.lua_path and check_path("lua_path", o.lua_path) or ""
  if lua_path ~= "" and lua_path:sub(-1) ~= ";" then lua_path = lua_path .. ";" end
  local lines = { "# Written by bin/personalize-local at each start; edits are lost." }
  if o.user then
    if not o.user:match("^[%w_.%-]+ ?[%w_.%-]*$") then error(fmt("bad user %q", o.user), 2) end
    lines[#lines + 1] = fmt("user %s;", o.user)
  end
  local head = {
    "worker_processes 1;",
    fmt("daemon %s;", o.daemon == false and "off" or "on"),
    fmt("pid %s/nginx.pid;", run),
    fmt("error_log %s/error.log notice;", run),
  }
  for _, l in ipairs(head) do lines[#lines + 1] = l end
  for _, m in ipairs(_M.MODULES) do lines[#lines + 1] = fmt("load_module %s;", m) end
  -- Jobs run in these threads (personalize.engine.nginx), never in the
  -- worker's request loop.
  lines[#lines + 1] = fmt("thread_pool %s threads=%d;", _M.JOB_POOL, _M.JOB_THREADS)
  local rest = {
    "events { worker_connections 1024; }",
    "http {",
    o.access_log and fmt("  access_log %s/access.log;", run) or "  access_log off;",
    fmt("  client_body_temp_path %s/tmp/client_body;", run),
    fmt("  proxy_temp_path %s/tmp/proxy;", run),
    fmt("  fastcgi_temp_path %s/tmp/fastcgi;", run),
    fmt("  uwsgi_temp_path %s/tmp/uwsgi;", run),
    fmt("  scgi_temp_path %s/tmp/scgi;", run),
    -- Up to S3's 5 GB single PUT; bodies over 1 MiB spool to a file and
    -- reach the engine as body_file.
    "  client_max_body_size 5g;",
    "  client_body_buffer_size 1m;",
    "  client_body_timeout 300s;",
    "  send_timeout 300s;",
    "  large_client_header_buffers 8 64k;",
    "  underscores_in_headers on;",
    "  ignore_invalid_headers off;",
    "  merge_slashes off;",
    "  server_tokens off;",
    "  default_type application/octet-stream;",
    "  keepalive_requests 100000;",
    "  lua_code_cache on;",
    "  lua_socket_log_errors off;",
    fmt('  lua_package_path "%s%s/?.lua;%s/?/init.lua;%s;;";', lua_path, lua_dir, lua_dir, _M.SYSTEM_LUA_PATH),
    fmt('  lua_package_cpath "%s/build/luajit/?.so;%s;;";', root, _M.SYSTEM_LUA_CPATH),
    "  init_worker_by_lua_block {",
    fmt('    require("personalize.engine.nginx").init_worker { dir = %s, region = %s, timings = %s,',
      lua_string(dir), lua_string(region), lua_timings(o.timings)),
    fmt('      job_pool = %s, job_threads = %d }', lua_string(_M.JOB_POOL), _M.JOB_THREADS),
    "  }",
    "  server {",
    fmt("    listen %s;", listen),
    fmt("    location = %s {", _M.HEALTH_PATH),
    '      content_by_lua_block { require("personalize.engine.nginx").health() }',
    "    }",
    "    location / {",
    '      content_by_lua_block { require("personalize.engine.nginx").serve() }',
    "    }",
    "  }",
    "}",
  }
  for _, l in ipairs(rest) do lines[#lines + 1] = l end
  return concat(lines, "\n") .. "\n"
end

-- "pending=0.5,in_progress=1" -> { pending = 0.5, in_progress = 1 }; nil, err.
function _M.parse_timings(s)
  if s == nil or s == "" then return nil end
  local t = {}
  for item in s:gmatch("[^,]+") do
    local k, v = item:match("^%s*([%a_][%w_]*)%s*=%s*([%d.eE+-]+)%s*$")
    if not k or not tonumber(v) or tonumber(v) < 0 then
      return nil, fmt("bad timing %q (expected name=seconds, e.g. pending=0.5,in_progress=1)", item)
    end
    t[k] = tonumber(v)
  end
  return t
end

return _M
