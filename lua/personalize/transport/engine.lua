-- The in-process transport: requests go straight to personalize-local's
-- engine (personalize.engine) with its state in DIR, no server involved.
-- Chosen by the client for `endpoint = "local:DIR"`.
--
--   local t = engine_transport.new(dir, { region = ..., timings = ... })
--   local status, headers, body = t:send{ method, url, headers, body }
--   -- or nil, "EndpointConnectionError", message when DIR cannot be
--   -- opened (unusable, or held by another process): the client's call
--   -- returns nil, err like any endpoint that cannot be reached
--
-- Every client of the process that names the same DIR shares one engine
-- (the engine locks its directory against other processes).
local core = require "personalize.core"

local setmetatable, pairs, type, tostring = setmetatable, pairs, type, tostring

local _M = {}

local engines = {}

-- The engine for `dir`, opened on first use; nil and a message when it
-- cannot open (another process holds the directory, or it is unusable).
function _M.engine(dir, opts)
  local eng = engines[dir]
  if eng then return eng end
  local ok, err
  ok, eng, err = pcall(require("personalize.engine").open, {
    dir = dir, region = opts and opts.region, timings = opts and opts.local_timings,
    credentials = opts and opts.local_credentials,
  })
  if not ok then eng, err = nil, eng end
  if not eng then return nil, tostring(err) end
  engines[dir] = eng
  return eng
end

-- Makes `eng` (opened by the caller) the engine clients of `dir` use.
function _M.adopt(dir, eng)
  engines[dir] = eng
end

-- Closes the engine of `dir` (its lock is released); the next client
-- opens it again.
function _M.close(dir)
  local eng = engines[dir]
  if eng then eng:close(); engines[dir] = nil end
end

-- The region for a client whose configuration names none: the engine's
-- default when its endpoint (option or environment) is "local:DIR", else
-- nil. `service` is the config's service descriptor.
function _M.default_region(cfg, service)
  local url = cfg:configured_endpoint(service)
  if type(url) == "string" and url:match("^local:") then return "us-east-1" end
  return nil
end

-- `opts` for a client of the in-process engine: the engine's default key
-- pair unless the caller names credentials or a profile.
function _M.client_opts(opts)
  if opts.credentials ~= nil or opts.access_key_id ~= nil or opts.profile ~= nil then return opts end
  local copy = {}
  for k, v in pairs(opts) do copy[k] = v end
  copy.credentials = require("personalize.engine").DEFAULT_CREDENTIALS
  return copy
end

local Transport = {}
Transport.__index = Transport

function _M.new(dir, opts)
  return setmetatable({ dir = dir, opts = opts, name = "engine" }, Transport)
end

function Transport:send(req)
  local eng, err = _M.engine(self.dir, self.opts)
  if not eng then return nil, "EndpointConnectionError", err end
  local rest = req.url:match("^%a[%w+.-]*://[^/]*(.*)$") or "/"
  local path, query = rest:match("^([^?]*)%??(.*)$")
  local headers = {}
  for k, v in pairs(req.headers or {}) do headers[k:lower()] = tostring(v) end
  local res = eng:handle {
    method = req.method, path = path ~= "" and path or "/", query = query ~= "" and query or nil,
    headers = headers, body = req.body, body_file = req.body_file,
  }
  local out = {}
  for k, v in pairs(res.headers or {}) do out[k:lower()] = tostring(v) end
  local body = res.body
  if body == nil and res.body_file then
    if req.response_file then
      local src = assert(io.open(res.body_file, "rb"))
      local dst, oerr = io.open(req.response_file, "wb")
      if not dst then src:close(); return nil, "HTTPClientError", oerr end
      while true do
        local chunk = src:read(1048576)
        if not chunk then break end
        dst:write(chunk)
      end
      src:close(); dst:close()
      body = nil
    else
      local f = assert(io.open(res.body_file, "rb"))
      body = f:read("*a")
      f:close()
    end
  end
  if type(body) ~= "string" and not req.response_file then body = "" end
  return res.status, out, body
end

Transport.sleep = core.sleep
Transport.now = core.now

function Transport.close() end

return _M
