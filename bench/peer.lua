-- Loopback HTTP peers on nginx for the benchmarks and spec/fanout_spec.lua.
--
--   local peer = require "peer"          -- with bench/?.lua and spec/?.lua on package.path
--   local p = peer.start{ kind = "static" }  -- nginx's `return`: no Lua, no modules
--   local p = peer.start{ kind = "lua", delay = 0.005 }  -- ngx_http_lua: answers
--                                          -- after `delay` seconds, counts
--                                          -- concurrent requests, plays scripts
--   p.url, p.port, p.dir, p.pid
--   p.stop()                               -- idempotent; removes p.dir
--
-- Both answer POST /recommendations (restJson1, get_recommendations) with
-- a small itemList. The "lua" peer also serves:
--   GET  /__stats  {"count":N,"max_inflight":M,"connections":C (distinct ones
--                  that carried requests),"users":{"<userId>":attempts},"log":[...]}
--   POST /__reset  forgets the counters
-- and plays a script chosen by the request's userId:
--   "fail-<n>-<id>"  answers 503 ServiceUnavailable to the first n attempts
--   "bad-<id>"       answers 400 InvalidInputException (not retryable)
--   "slow-<ms>-<id>" waits <ms> milliseconds instead of `delay`
--   "wait-<ms>-<id>" answers the first attempt 503 with x-amz-retry-after: <ms>
-- /__stats also lists the userIds in arrival order ("log", first 1000).
-- Every answer carries x-amzn-RequestId "req-<userId>-<attempt>".
--
-- nginx runs with one worker and `-p DIR -c DIR/nginx.conf`, its pid file,
-- logs and temp files in a fresh temporary DIR; the port is a random free
-- one (nginx is started again on another when the port is taken).
local fmt = string.format

local _M = {}

local NGINX = os.getenv("PERSONALIZE_LOCAL_NGINX") or "/usr/sbin/nginx"
local MODULES = { "/usr/lib/nginx/modules/ndk_http_module.so",
                  "/usr/lib/nginx/modules/ngx_http_lua_module.so" }

_M.BODY = '{"itemList":[{"itemId":"1","score":0.9},{"itemId":"2","score":0.8},'
  .. '{"itemId":"3","score":0.7}],"recommendationId":"RID-1"}'

local function sh(cmd)
  local r = os.execute(cmd)
  return r == true or r == 0
end

-- spec/ is on LUA_PATH for make bench and the specs that use this peer.
local files = require "support.files"
local read_file, write_file = files.read, files.write

local function sleep(s)
  local ok, core = pcall(require, "personalize.core")
  if ok then core.sleep(s) else sh(fmt("sleep %.3f", s)) end
end

-- The Lua of the "lua" peer's worker (LuaJIT inside nginx).
local PEER_LUA = [=[
local _M = { inflight = 0, max_inflight = 0, count = 0, users = {}, log = {}, conns = {}, nconns = 0 }
local BODY = %q
function _M.serve()
  ngx.req.read_body()
  local body = ngx.req.get_body_data() or ""
  local user = body:match('"userId"%%s*:%%s*"([^"]*)"') or ""
  _M.count = _M.count + 1
  local attempt = (_M.users[user] or 0) + 1
  _M.users[user] = attempt
  if #_M.log < 1000 then _M.log[#_M.log + 1] = user end
  local conn = ngx.var.connection
  if not _M.conns[conn] then _M.conns[conn] = true; _M.nconns = _M.nconns + 1 end
  _M.inflight = _M.inflight + 1
  if _M.inflight > _M.max_inflight then _M.max_inflight = _M.inflight end
  local ms = tonumber(user:match("^slow%%-(%%d+)%%-"))
  local delay = ms and ms / 1000 or %s
  if delay > 0 then ngx.sleep(delay) end
  _M.inflight = _M.inflight - 1
  ngx.header["Content-Type"] = "application/json"
  ngx.header["x-amzn-RequestId"] = "req-" .. user .. "-" .. attempt
  local fails = tonumber(user:match("^fail%%-(%%d+)%%-"))
  if fails and attempt <= fails then
    ngx.status = 503
    ngx.header["x-amzn-ErrorType"] = "ServiceUnavailable"
    ngx.print('{"message":"try again"}')
    return
  end
  local after = tonumber(user:match("^wait%%-(%%d+)%%-"))
  if after and attempt == 1 then
    ngx.status = 503
    ngx.header["x-amzn-ErrorType"] = "ServiceUnavailable"
    ngx.header["x-amz-retry-after"] = tostring(after)
    ngx.print('{"message":"come back later"}')
    return
  end
  if user:match("^bad%%-") then
    ngx.status = 400
    ngx.header["x-amzn-ErrorType"] = "InvalidInputException"
    ngx.print('{"message":"no such user: ' .. user .. '"}')
    return
  end
  ngx.print((BODY:gsub('"RID%%-1"', '"RID-' .. user .. '"')))
end
function _M.stats()
  local parts = {}
  for u, n in pairs(_M.users) do parts[#parts + 1] = string.format("%%q:%%d", u, n) end
  ngx.header["Content-Type"] = "application/json"
  local log = {}
  for i, u in ipairs(_M.log) do log[i] = string.format("%%q", u) end
  ngx.print(string.format('{"count":%%d,"max_inflight":%%d,"inflight":%%d,"connections":%%d,"users":{%%s},"log":[%%s]}',
    _M.count, _M.max_inflight, _M.inflight, _M.nconns, table.concat(parts, ","), table.concat(log, ",")))
end
function _M.reset()
  _M.inflight, _M.max_inflight, _M.count, _M.users, _M.log = 0, 0, 0, {}, {}
  _M.conns, _M.nconns = {}, 0
  ngx.print("ok")
end
return _M
]=]

local function render(kind, dir, port, delay)
  local lines = {
    "worker_processes 1;",
    "daemon on;",
    fmt("pid %s/nginx.pid;", dir),
    fmt("error_log %s/error.log warn;", dir),
  }
  if kind == "lua" then
    for _, m in ipairs(MODULES) do lines[#lines + 1] = fmt("load_module %s;", m) end
  end
  local rest = {
    "events { worker_connections 4096; }",
    "http {",
    "  access_log off;",
    fmt("  client_body_temp_path %s/tmp;", dir),
    fmt("  proxy_temp_path %s/tmp;", dir),
    fmt("  fastcgi_temp_path %s/tmp;", dir),
    fmt("  uwsgi_temp_path %s/tmp;", dir),
    fmt("  scgi_temp_path %s/tmp;", dir),
    "  keepalive_requests 10000000;",
    "  keepalive_timeout 120s;",
    "  server_tokens off;",
  }
  for _, l in ipairs(rest) do lines[#lines + 1] = l end
  if kind == "lua" then
    write_file(dir .. "/fanout_peer.lua", fmt(PEER_LUA, _M.BODY, fmt("%.17g", delay or 0)))
    -- resty.core (which libnginx-mod-http-lua needs) lives in Debian's 5.1 tree.
    lines[#lines + 1] = fmt('  lua_package_path "%s/?.lua;/usr/share/lua/5.1/?.lua;/usr/share/lua/5.1/?/init.lua;;";', dir)
    lines[#lines + 1] = "  lua_socket_log_errors off;"
  end
  lines[#lines + 1] = "  server {"
  lines[#lines + 1] = fmt("    listen 127.0.0.1:%d;", port)
  if kind == "lua" then
    lines[#lines + 1] = '    location = /__stats { content_by_lua_block { require("fanout_peer").stats() } }'
    lines[#lines + 1] = '    location = /__reset { content_by_lua_block { require("fanout_peer").reset() } }'
    lines[#lines + 1] = '    location / { content_by_lua_block { require("fanout_peer").serve() } }'
  else
    lines[#lines + 1] = "    location / {"
    lines[#lines + 1] = "      default_type application/json;"
    lines[#lines + 1] = '      add_header x-amzn-RequestId "static-1";'
    lines[#lines + 1] = fmt("      return 200 '%s';", _M.BODY)
    lines[#lines + 1] = "    }"
  end
  lines[#lines + 1] = "  }"
  lines[#lines + 1] = "}"
  return table.concat(lines, "\n") .. "\n"
end

-- Starts a peer; raises with nginx's error log when it cannot.
function _M.start(opts)
  opts = opts or {}
  local kind = opts.kind or "static"
  assert(kind == "static" or kind == "lua", "peer kind must be static or lua")
  local p = io.popen("mktemp -d /tmp/pz-peer.XXXXXX")
  local dir = p:read("*l")
  p:close()
  assert(dir and dir ~= "", "mktemp failed")
  -- Workers run as nobody when the master is root: they read fanout_peer.lua.
  sh("chmod 755 " .. dir .. " && mkdir -p " .. dir .. "/tmp")
  math.randomseed(os.time() + math.floor(os.clock() * 1e6))
  local last
  for _ = 1, 10 do
    local port = math.random(20000, 60000)
    write_file(dir .. "/nginx.conf", render(kind, dir, port, opts.delay))
    local cmd = fmt("%s -p %s/ -c %s/nginx.conf -e %s/error.log 2>>%s/error.log",
      NGINX, dir, dir, dir, dir)
    if sh(cmd) then
      local pid
      for _ = 1, 100 do
        pid = tonumber((read_file(dir .. "/nginx.pid") or ""):match("%d+"))
        if pid then break end
        sleep(0.02)
      end
      if pid then
        local peer = { url = fmt("http://127.0.0.1:%d", port), port = port, dir = dir, pid = pid }
        function peer.stop()
          if peer.stopped then return end
          peer.stopped = true
          sh(fmt("kill -QUIT %d 2>/dev/null", pid))
          for _ = 1, 100 do
            if not sh(fmt("kill -0 %d 2>/dev/null", pid)) then break end
            sleep(0.02)
          end
          sh(fmt("kill -9 %d 2>/dev/null", pid))
          sh("rm -rf " .. dir)
        end
        return peer
      end
    end
    last = read_file(dir .. "/error.log") or "(no error log)"
    if not last:find("Address already in use", 1, true) then break end
  end
  sh("rm -rf " .. dir)
  error("nginx peer did not start:\n" .. tostring(last), 2)
end

return _M
