-- The libcurl transport: one reusable easy handle per client, so
-- connections are kept alive and reused. For scripts and the REPL; under
-- OpenResty the ngx transport is the non-blocking choice.
--
--   local t = curl.new{ ca_bundle, verify_tls, connect_timeout, timeout, proxy, user_agent }
--   local status, headers, body = t:send{ method, url, headers, body }
--   -- failure: nil, code, message (EndpointConnectionError, ConnectTimeoutError,
--   --          ReadTimeoutError, SSLError, HTTPClientError)
local core = require "personalize.core"

local setmetatable, getenv = setmetatable, os.getenv

local _M = {}

local Transport = {}
Transport.__index = Transport

function _M.new(opts)
  opts = opts or {}
  local ca = opts.ca_bundle or getenv("AWS_CA_BUNDLE")
  if ca == "" then ca = nil end
  local handle = core.http{
    ca_bundle = ca,
    verify = opts.verify_tls ~= false,
    connect_timeout = opts.connect_timeout or 10,
    timeout = opts.timeout or 60,
    proxy = opts.proxy,
    user_agent = opts.user_agent,
  }
  return setmetatable({ handle = handle, name = "curl" }, Transport)
end

function Transport:send(req)
  return self.handle:request(req)
end

Transport.sleep = core.sleep
Transport.now = core.now

function Transport:close()
  self.handle:close()
end

return _M
