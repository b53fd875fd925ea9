-- luacheck: globals ngx
-- The nginx transport: HTTP/1.1 over lua-nginx-module's cosockets, so a
-- request waiting on the network suspends only its own Lua thread and
-- never the nginx worker. The client chooses it inside nginx.
--
--   local t = ngx_transport.new{ verify_tls, connect_timeout, timeout,
--                                user_agent, pool_size, keepalive_timeout }
--   local status, headers, body = t:send{ method, url, headers, body,
--                                        body_file, response_file, timeout }
--   -- failure: nil, code, message (EndpointConnectionError, ConnectTimeoutError,
--   --          ReadTimeoutError, SSLError, HTTPClientError), as the curl transport;
--   --          UnsupportedPhaseError (not retried) in a phase without cosockets
--
-- Connections are kept alive in the worker's cosocket pool (one pool per
-- scheme, host, port and TLS verification); a request that finds its
-- pooled connection closed by the peer is sent once more on a new one.
-- Response bodies may have a Content-Length, be chunked, or run to the
-- end of the connection. TLS uses sslhandshake with SNI and verifies the
-- peer against nginx's `lua_ssl_trusted_certificate` unless verify_tls is
-- false.
--
-- Cosockets exist only in phases that can yield (YIELDABLE below). In
-- init_by_lua and init_worker_by_lua, where no request is waiting, send()
-- falls back to the blocking curl transport; in every other phase it
-- fails with a message naming the phases that work.
--
-- t:run_workers(n, worker): personalize.fanout's hook (client:map), ngx.threads.
--
-- _M.credentials(provider, cfg, region): one credentials provider per
-- worker for each profile and region, refreshed by one request at a time
-- (see "Credentials shared by the worker's clients" below). Nothing here touches `ngx` at require
-- time, so the module loads in plain Lua as well.
local core = require "personalize.core"

local setmetatable, type, tostring, tonumber, pairs, pcall, error =
  setmetatable, type, tostring, tonumber, pairs, pcall, error
local concat = table.concat
local fmt, lower, sub, find = string.format, string.lower, string.sub, string.find
local io_open = io.open
local floor, min = math.floor, math.min
local unpack_list = table.unpack or unpack  -- luacheck: compat

local _M = {}

_M.DEFAULT_CONNECT_TIMEOUT = 10   -- seconds, as the curl transport
_M.DEFAULT_TIMEOUT = 60           -- seconds per send or read
_M.DEFAULT_POOL_SIZE = 32         -- idle connections kept per pool
_M.DEFAULT_KEEPALIVE = 60         -- seconds an idle connection is kept
_M.CHUNK = 65536                  -- bytes per socket read of a long body
_M.LOCK_POLL = 0.005              -- seconds between looks at a busy lock
_M.LOCK_WAIT = 30                 -- seconds a request waits for a refresh

-- Phases whose handlers may use cosockets and ngx.sleep.
local YIELDABLE = {
  rewrite = true, server_rewrite = true, access = true, content = true, timer = true,
  ssl_cert = true, ssl_session_fetch = true, ssl_client_hello = true, preread = true,
}
-- Phases at startup: no request waits, so blocking there is harmless.
local STARTUP = { init = true, init_worker = true }

-- What the hints say about nginx's environment.
_M.ENV_HINT = "nginx workers see only the environment variables named by `env` directives "
  .. "in the main context of nginx.conf"

-- True inside lua-nginx-module (OpenResty or Debian's libnginx-mod-http-lua).
function _M.available()
  local n = rawget(_G, "ngx")
  return type(n) == "table" and type(n.get_phase) == "function"
    and type(n.socket) == "table" and type(n.socket.tcp) == "function"
end

-- The current phase and whether cosockets work in it (nil outside nginx).
function _M.phase()
  if not _M.available() then return nil, false end
  local phase = ngx.get_phase()
  return phase, YIELDABLE[phase] == true
end

-- `message` with the `env` directives to add when running inside nginx;
-- unchanged elsewhere. `names` lists the variables that would have helped.
function _M.env_hint(message, names)
  if not _M.available() then return message end
  local directives = {}
  for i, name in ipairs(names) do directives[i] = "env " .. name .. ";" end
  return fmt("%s (%s: add %s)", message, _M.ENV_HINT, concat(directives, " "))
end

---------------------------------------------------------------------------
-- HTTP/1.1 on a cosocket.

-- "https://host:port/path?q" -> scheme, host, port, target; nil, message.
local function split_url(url)
  local scheme, authority, target = url:match("^(%a[%w+.-]*)://([^/?#]*)(.*)$")
  if not scheme then return nil, "not an absolute URL: " .. tostring(url) end
  scheme = lower(scheme)
  if scheme ~= "http" and scheme ~= "https" then return nil, "unsupported URL scheme " .. scheme end
  authority = authority:gsub("^.*@", "")
  local host, port = authority:match("^%[([^%]]+)%]:?(%d*)$")
  if not host then host, port = authority:match("^([^:]*):?(%d*)$") end
  if not host or host == "" then return nil, "URL has no host: " .. url end
  port = tonumber(port) or (scheme == "https" and 443 or 80)
  target = target:gsub("#.*$", "")
  if target == "" or sub(target, 1, 1) == "?" then target = "/" .. target end
  return scheme, host, port, target
end
_M.split_url = split_url

-- Error codes as the curl transport names them, with curl-like messages.
local function failure(code, host, err)
  local what
  if code == "ConnectTimeoutError" then what = "Connect timeout on endpoint"
  elseif code == "ReadTimeoutError" then what = "Read timeout on endpoint"
  elseif code == "EndpointConnectionError" then what = "Could not connect to the endpoint"
  elseif code == "SSLError" then what = "SSL error talking to"
  else what = "HTTP client error talking to" end
  return nil, code, fmt("%s %s: %s (nginx cosocket)", what, host, tostring(err))
end

local function io_failure(host, err)
  if err == "timeout" then return failure("ReadTimeoutError", host, err) end
  return failure("HTTPClientError", host, err)
end

local Transport = {}
Transport.__index = Transport

function _M.new(opts)
  opts = opts or {}
  local function ms(v, default, what)
    v = v == nil and default or v
    if type(v) ~= "number" or v <= 0 then
      error(("personalize.transport.ngx: %s must be a positive number of seconds"):format(what), 3)
    end
    return floor(v * 1000 + 0.5)
  end
  return setmetatable({
    name = "ngx",
    streams_files = true,
    verify = opts.verify_tls ~= false,
    connect_ms = ms(opts.connect_timeout, _M.DEFAULT_CONNECT_TIMEOUT, "connect_timeout"),
    timeout_ms = ms(opts.timeout, _M.DEFAULT_TIMEOUT, "timeout"),
    keepalive_ms = ms(opts.keepalive_timeout, _M.DEFAULT_KEEPALIVE, "keepalive_timeout"),
    pool_size = opts.pool_size or _M.DEFAULT_POOL_SIZE,
    user_agent = opts.user_agent or ("lua-personalize/" .. require("personalize.version")),
    opts = opts,
  }, Transport)
end

-- The request head: request line, the caller's headers (values as
-- given; the signature covers them), Host, User-Agent and Content-Length
-- when the caller left them out.
local function request_head(req, host_header, target, length, user_agent)
  local lines = { fmt("%s %s HTTP/1.1", req.method or "GET", target) }
  local seen = {}
  for name, value in pairs(req.headers or {}) do
    if value ~= nil and value ~= false then
      local lname = lower(name)
      if lname ~= "connection" and lname ~= "transfer-encoding" then
        value = tostring(value)
        if find(value, "[\r\n]") or find(name, "[%c: ]") then
          return nil, fmt("header %q has a line break or a bad name", tostring(name))
        end
        seen[lname] = true
        lines[#lines + 1] = name .. ": " .. value
      end
    end
  end
  if not seen.host then lines[#lines + 1] = "Host: " .. host_header end
  if not seen["user-agent"] then lines[#lines + 1] = "User-Agent: " .. user_agent end
  if not seen["content-length"] and (length > 0 or req.method == "POST" or req.method == "PUT") then
    lines[#lines + 1] = "Content-Length: " .. length
  end
  lines[#lines + 1] = "\r\n"
  return concat(lines, "\r\n")
end

-- The body to send: a string, or an open file and its byte count.
local function request_body(req)
  if req.body ~= nil and req.body_file ~= nil then
    error("request: give 'body' or 'body_file', not both", 3)
  end
  if req.body_file == nil then
    local body = req.body or ""
    return body, nil, #body
  end
  local f, err = io_open(req.body_file, "rb")
  if not f then return nil, nil, nil, fmt("cannot open body_file '%s': %s", req.body_file, tostring(err)) end
  local size = f:seek("end")
  local offset = req.body_offset or 0
  local length = req.body_length or (size - offset)
  if offset < 0 or length < 0 or offset + length > size then
    f:close()
    return nil, nil, nil, fmt("body_file '%s': the region %d+%d is outside the file (%d bytes)",
      req.body_file, offset, length, size)
  end
  f:seek("set", offset)
  return nil, f, length
end

-- Reads the status line and headers; skips 1xx interim responses.
local function read_head(sock)
  while true do
    local line, err = sock:receive("*l")
    if not line then return nil, err end
    local version, status = line:match("^HTTP/(%d%.%d) (%d%d%d)")
    if not status then return nil, "bad status line: " .. line:sub(1, 80), true end
    status = tonumber(status)
    local headers, last = {}, nil
    while true do
      local h
      h, err = sock:receive("*l")
      if not h then return nil, err end
      if h == "" then break end
      local name, value = h:match("^([^:%s]+)%s*:%s*(.-)%s*$")
      if name then
        name = lower(name)
        local old = headers[name]
        headers[name] = old and (old .. ", " .. value) or value
        last = name
      elseif last and h:match("^[ \t]") then   -- obsolete line folding
        headers[last] = headers[last] .. " " .. h:match("^%s*(.-)%s*$")
      else
        return nil, "bad header line: " .. h:sub(1, 80), true
      end
    end
    if status >= 200 or status == 101 then return status, headers, version end
  end
end

-- A sink for body bytes: a table of chunks, or response_file.
local function body_sink(req)
  if not req.response_file then
    local parts = {}
    return function(chunk)
      parts[#parts + 1] = chunk
      return true
    end, function() return concat(parts) end
  end
  local f, err = io_open(req.response_file, "wb")
  if not f then return nil, fmt("cannot write response_file '%s': %s", req.response_file, tostring(err)) end
  local failed
  return function(chunk)
    if failed then return nil, failed end
    local ok, werr = f:write(chunk)
    if not ok then failed = fmt("cannot write response_file '%s': %s", req.response_file, tostring(werr)) end
    return not failed, failed
  end, function(abandon)
    f:close()
    if abandon or failed then os.remove(req.response_file) end
    return nil
  end
end

-- Reads exactly n bytes into `put`, CHUNK at a time.
local function read_exact(sock, n, put)
  while n > 0 do
    local data, err = sock:receive(min(n, _M.CHUNK))
    if not data then return nil, err end
    local ok, werr = put(data)
    if not ok then return nil, werr, true end
    n = n - #data
  end
  return true
end

-- Reads the body as the headers frame it; returns true and whether the
-- connection may be reused, or nil, err, local_failure.
local function read_body(sock, method, status, headers, put)
  if method == "HEAD" or status == 204 or status == 304 or status == 101 then return true, true end
  local te = headers["transfer-encoding"]
  if te and find(lower(te), "chunked", 1, true) then
    while true do
      local line, err = sock:receive("*l")
      if not line then return nil, err end
      local size = tonumber(line:match("^%s*(%x+)"), 16)
      if not size then return nil, "bad chunk size line" end
      if size == 0 then
        repeat                                  -- trailers up to the empty line
          line, err = sock:receive("*l")
          if not line then return nil, err end
        until line == ""
        return true, true
      end
      local ok, rerr, local_fail = read_exact(sock, size, put)
      if not ok then return nil, rerr, local_fail end
      line, err = sock:receive("*l")
      if line ~= "" then return nil, err or "bad chunk end" end
    end
  end
  local length = headers["content-length"]
  if length then
    length = tonumber(length:match("^%s*(%d+)"))
    if not length then return nil, "bad Content-Length" end
    local ok, err, local_fail = read_exact(sock, length, put)
    if not ok then return nil, err, local_fail end
    return true, true
  end
  -- Neither: the body runs to the end of the connection.
  while true do
    local data, err, partial = sock:receive(_M.CHUNK)
    local piece = data or partial
    if piece and piece ~= "" then
      local ok, werr = put(piece)
      if not ok then return nil, werr, true end
    end
    if not data then
      if err == "closed" then return true, false end
      return nil, err
    end
  end
end

local function keep_alive(version, headers)
  local conn = lower(headers.connection or "")
  if find(conn, "close", 1, true) then return false end
  if version == "1.0" then return find(conn, "keep-alive", 1, true) ~= nil end
  return true
end

-- Sends the request on `sock`; returns status, headers, body, reusable;
-- or nil, err, stage ("connect", "send", "head", "body", "local").
function Transport:exchange(sock, req, scheme, host, port, target, timeout_ms)
  sock:settimeouts(self.connect_ms, timeout_ms, timeout_ms)
  local pool = fmt("personalize:%s:%s:%d:%s", scheme, host, port, self.verify and "v" or "nv")
  -- Names go through nginx's resolver; "localhost" needs none.
  local addr = host == "localhost" and "127.0.0.1" or host
  local ok, err = sock:connect(addr, port, { pool = pool })
  if not ok then return nil, err, "connect" end
  local reused = sock:getreusedtimes() or 0
  if scheme == "https" and reused == 0 then
    ok, err = sock:sslhandshake(nil, host, self.verify)
    if not ok then return nil, err, "tls" end
  end
  local body, file, length, ferr = request_body(req)
  if ferr then return nil, ferr, "local" end
  local host_header = (port == (scheme == "https" and 443 or 80)) and host
    or ((host:find(":", 1, true) and "[" .. host .. "]" or host) .. ":" .. port)
  local head, herr = request_head(req, host_header, target, length, self.user_agent)
  if not head then
    if file then file:close() end
    return nil, herr, "local"
  end
  if file then
    ok, err = sock:send(head)
    local left = length
    while ok and left > 0 do
      local chunk = file:read(min(left, _M.CHUNK))
      if not chunk then err = "body_file ended early"; ok = nil; break end
      left = left - #chunk
      ok, err = sock:send(chunk)
    end
    file:close()
  else
    ok, err = sock:send(body ~= "" and { head, body } or head)
  end
  if not ok then return nil, err, "send", reused end
  local status, headers, version = read_head(sock)
  if not status then return nil, headers, "head", reused end
  local put, finish = body_sink(req)
  if not put then return nil, finish, "local" end
  local done, rerr, local_fail = read_body(sock, req.method, status, headers, put)
  if not done then
    finish(true)
    return nil, rerr, local_fail and "local" or "body"
  end
  local reusable = rerr and keep_alive(version, headers)
  return status, headers, finish(), reusable
end

-- One request. See the header of this file.
function Transport:send(req)
  local phase, yieldable = _M.phase()
  if not yieldable then
    if phase == nil or STARTUP[phase] then return self:blocking():send(req) end
    return nil, "UnsupportedPhaseError", fmt("the ngx transport cannot send in nginx's %s phase: cosockets "
      .. "work in rewrite, access and content handlers and in ngx.timer.at callbacks", phase)
  end
  local scheme, host, port, target = split_url(req.url)
  if not scheme then return nil, "HTTPClientError", host end
  local timeout_ms = req.timeout and floor(req.timeout * 1000 + 0.5) or self.timeout_ms
  -- A pooled connection the peer closed meanwhile fails at send or at the
  -- status line: nothing was processed, so one more try on a new one.
  for try = 1, 2 do
    local sock = ngx.socket.tcp()
    local status, headers, body, reusable = self:exchange(sock, req, scheme, host, port, target, timeout_ms)
    if status then
      if reusable then sock:setkeepalive(self.keepalive_ms, self.pool_size) else sock:close() end
      return status, headers, body
    end
    sock:close()
    local err, stage, reused = headers, body, reusable
    local stale = (stage == "send" or stage == "head") and (reused or 0) > 0
      and err ~= "timeout" and try == 1
    if stale then
      ngx.log(ngx.INFO, "personalize: a pooled connection to ", host, " was closed (", tostring(err),
        "); sending again on a new one")
    else
      if stage == "connect" then
        if err == "timeout" then return failure("ConnectTimeoutError", host, err) end
        if type(err) == "string" and find(err, "no resolver", 1, true) then
          err = err .. " (add a `resolver` directive to nginx.conf)"
        end
        return failure("EndpointConnectionError", host, err)
      elseif stage == "tls" then
        if err == "timeout" then return failure("ConnectTimeoutError", host, err) end
        return failure("SSLError", host, err)
      elseif stage == "local" then
        return nil, "HTTPClientError", tostring(err)
      end
      return io_failure(host, err)
    end
  end
end

-- personalize.fanout's hook: runs worker() in n light threads (ngx.thread)
-- and returns when all have returned; the first error any raised stops the
-- others and is raised again. Where threads cannot run (startup, plain
-- Lua) worker() runs once, taking every item itself.
function Transport.run_workers(_, n, worker)
  local _, yieldable = _M.phase()
  if not yieldable or n <= 1 then return worker() end
  local threads, left = {}, n
  for i = 1, n do
    threads[i] = ngx.thread.spawn(function()
      local ok, err = pcall(worker)
      return i, ok, err
    end)
  end
  local first_error = nil
  while left > 0 do
    local waiting = {}
    for i = 1, n do
      if threads[i] then waiting[#waiting + 1] = threads[i] end
    end
    local ran, i, ok, err = ngx.thread.wait(unpack_list(waiting))
    if not ran then first_error = first_error or tostring(i); break end
    threads[i] = nil
    left = left - 1
    if not ok then first_error = err; break end
  end
  if first_error ~= nil then
    for i = 1, n do
      if threads[i] then ngx.thread.kill(threads[i]) end
    end
    error(first_error, 0)
  end
end

-- The blocking curl transport for startup phases (made on first use).
function Transport:blocking()
  if not self.curl then
    local o = self.opts
    self.curl = require("personalize.transport.curl").new {
      ca_bundle = o.ca_bundle, verify_tls = o.verify_tls, connect_timeout = o.connect_timeout,
      timeout = o.timeout, proxy = o.proxy, user_agent = self.user_agent,
    }
  end
  return self.curl
end

-- Sleeps without blocking the worker where nginx allows it; blocks at
-- startup and in plain Lua; returns at once in the other nginx phases
-- (log, filters...), where a request would otherwise stall the worker.
function Transport.sleep(seconds)
  local phase, yieldable = _M.phase()
  if yieldable then return ngx.sleep(seconds) end
  if phase == nil or STARTUP[phase] then return core.sleep(seconds) end
end

Transport.now = core.now

function Transport:close()
  if self.curl then self.curl:close(); self.curl = nil end
end

---------------------------------------------------------------------------
-- Credentials shared by the worker's clients.
--
-- A provider per worker for each (profile, region): clients made per
-- request still reuse the keys the first one fetched. Fetching (the first
-- time, and refreshing in the window before expiry) is done by one Lua
-- thread at a time: while it runs, others keep using keys that are still
-- valid beyond the mandatory-refresh margin, or wait for it (polling a flag
-- with ngx.sleep, at most LOCK_WAIT seconds) and then take its result, so a
-- slow or failing metadata service sees one request, not a stampede.

local shared = {}
_M._shared = shared   -- for specs

local Shared = {}
-- Anything else (selected, cached...) reads through to the wrapped provider.
function Shared.__index(s, k)
  local v = Shared[k]
  if v ~= nil then return v end
  return rawget(s, "inner")[k]
end
function Shared.__tostring(s) return tostring(s.inner) end

-- The cached credentials of the provider and whether they still serve:
-- "fresh" (no refresh due), "usable" (a refresh is due but they are still
-- valid for a while) or nil.
local function peek(inner, now)
  local c = inner.cached or (inner.selected and inner.selected.cached)
  if not c then return nil end
  if not c.expiration then return c, "fresh" end
  local credentials = require "personalize.credentials"
  local left = c.expiration - now
  if left > credentials.ADVISORY_REFRESH then return c, "fresh" end
  if left > credentials.MANDATORY_REFRESH then return c, "usable" end
  return nil
end

local CRED_ENV = { "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE" }

function Shared:get()
  local inner = self.inner
  local now = core.time()
  local c, how = peek(inner, now)
  if how == "fresh" then return c end
  if self.busy then
    if c then return c end                      -- someone refreshes; these still serve
    local phase, yieldable = _M.phase()
    if phase and not yieldable then
      return nil, fmt("credentials are being fetched by another request and nginx's %s phase cannot wait",
        phase), "CredentialRetrievalError"
    end
    local generation, waited = self.generation, 0
    while self.busy and waited < _M.LOCK_WAIT do
      Transport.sleep(_M.LOCK_POLL)
      waited = waited + _M.LOCK_POLL
    end
    if self.busy then
      return nil, "timed out waiting for another request to fetch credentials", "CredentialRetrievalError"
    end
    c = peek(inner, core.time())
    if c then return c end
    -- The fetch we waited for failed: its answer is ours too.
    if self.generation ~= generation and self.last_err then
      return nil, self.last_err, self.last_code
    end
  end
  self.busy = true
  local ok, creds, err, code, fatal = pcall(inner.get, inner)
  self.busy = false
  self.generation = self.generation + 1
  if not ok then
    self.last_err, self.last_code = tostring(creds), "CredentialRetrievalError"
    error(creds, 0)
  end
  if creds then
    self.last_err, self.last_code = nil, nil
    return creds
  end
  if code == "NoCredentialsError" then err = _M.env_hint(err, CRED_ENV) end
  self.last_err, self.last_code = err, code
  return nil, err, code, fatal
end

-- The provider clients of this worker share for `cfg`'s profile and
-- `region`. Explicit credentials (nothing to fetch) are returned as is.
function _M.credentials(provider, cfg, region)
  if provider.name == "options" then return provider end
  local key = concat({ cfg.profile_name or "", cfg.profile_explicit and "1" or "0", region or "" }, "\0")
  local s = shared[key]
  if not s then
    s = setmetatable({ inner = provider, busy = false, generation = 0 }, Shared)
    shared[key] = s
  end
  return s
end

return _M
