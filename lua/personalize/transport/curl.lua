-- The libcurl transport: one reusable easy handle per client, so
-- connections are kept alive and reused. For scripts and the REPL; under
-- OpenResty the ngx transport is the non-blocking choice.
--
--   local t = curl.new{ ca_bundle, verify_tls, connect_timeout, timeout, proxy, user_agent }
--   local status, headers, body = t:send{ method, url, headers, body }
--   -- failure: nil, code, message (EndpointConnectionError, ConnectTimeoutError,
--   --          ReadTimeoutError, SSLError, HTTPClientError)
--   local h = t:fanout_handle()     -- a spare core.http with the same options,
--   t:fanout_release(h)             -- for personalize.fanout's multi; kept for reuse
local core = require "personalize.core"

local setmetatable, ipairs, getenv = setmetatable, ipairs, os.getenv

local _M = {}

local Transport = {}
Transport.__index = Transport

function _M.new(opts)
  opts = opts or {}
  local ca = opts.ca_bundle or getenv("AWS_CA_BUNDLE")
  if ca == "" then ca = nil end
  local handle_opts = {
    ca_bundle = ca,
    verify = opts.verify_tls ~= false,
    connect_timeout = opts.connect_timeout or 10,
    timeout = opts.timeout or 60,
    proxy = opts.proxy,
    user_agent = opts.user_agent,
    -- plain http:// over the handle's own socket, unless turned off
    plain = opts.plain_http ~= false,
  }
  local handle = core.http(handle_opts)
  return setmetatable({ handle = handle, name = "curl", _handle_opts = handle_opts, _spare = {} },
    Transport)
end

-- Spare handles kept between fan-outs (one per request in flight at most).
local SPARE_MAX = 64

-- A handle configured as this transport's own, for a multi transfer.
function Transport:fanout_handle()
  local spare = self._spare
  local n = #spare
  if n > 0 then
    local h = spare[n]
    spare[n] = nil
    return h
  end
  return core.http(self._handle_opts)
end

-- Takes back a handle of fanout_handle once its transfer is over.
function Transport:fanout_release(h)
  local spare = self._spare
  if #spare < SPARE_MAX then spare[#spare + 1] = h else h:close() end
end

function Transport:send(req)
  return self.handle:request(req)
end

Transport.sleep = core.sleep
Transport.now = core.now

function Transport:close()
  self.handle:close()
  for _, h in ipairs(self._spare) do h:close() end
  self._spare = {}
end

return _M
