-- How a client reaches its endpoint: the transport that personalize.client
-- and personalize.s3 send through (construction policy such as retries and
-- the region lives in personalize.setup).
--
--   local t = transport.resolve(endpoint, cfg, opts, who)
--   t.transport, t.endpoint, t.opts, t.local_dir
--   local provider = transport.wrap_credentials(provider, t.transport, cfg, region)
--   region = region or transport.default_region(cfg, service)
--   local text = transport.env_hint(message, { "AWS_REGION", ... })
--
-- resolve(): an endpoint "local:DIR" runs personalize-local's engine in
-- this process (endpoint becomes http://personalize.local and the options
-- gain the engine's key pair unless they name credentials). Otherwise
-- opts.transport is an object with send(), or "curl" or "ngx"; by default
-- "ngx" (cosockets, non-blocking) inside nginx's Lua module, else "curl".
-- Under nginx the credentials provider is wrapped by wrap_credentials()
-- so that one per worker is shared and refreshed by one request at a time.
-- Misuse raises an error prefixed with `who` at the caller's caller level.
local _M = {}

local function user_agent(cfg)
  local ua = "lua-personalize/" .. require("personalize.version")
  local app_id = cfg:app_id()
  if app_id then ua = ua .. " app/" .. app_id end
  return ua
end

function _M.resolve(endpoint, cfg, opts, who)
  local transport = opts.transport
  local local_dir = endpoint:match("^local:(.+)$")
  if local_dir then
    local engine_transport = require "personalize.transport.engine"
    transport = transport or engine_transport.new(local_dir, opts)
    endpoint = "http://personalize.local"
    opts = engine_transport.client_opts(opts)
  end
  if transport == nil or type(transport) == "string" then
    local ngx_transport = require "personalize.transport.ngx"
    local name = transport or (ngx_transport.available() and "ngx" or "curl")
    if name ~= "curl" and name ~= "ngx" then
      error(("%s: transport must be \"curl\", \"ngx\" or an object, got %q"):format(who, name), 3)
    end
    transport = require("personalize.transport." .. name).new {
      ca_bundle = cfg:ca_bundle(), verify_tls = opts.verify_tls,
      connect_timeout = cfg:timeout("connect_timeout"),
      timeout = cfg:timeout("read_timeout") or cfg:timeout("timeout"),
      proxy = opts.proxy, user_agent = user_agent(cfg),
      pool_size = opts.pool_size, keepalive_timeout = opts.keepalive_timeout,
      plain_http = opts.plain_http,
    }
  elseif type(transport) ~= "table" or type(transport.send) ~= "function" then
    error(("%s: transport must be \"curl\", \"ngx\" or an object with send(), got %s"):format(who, type(transport)), 3)
  end
  return { transport = transport, endpoint = endpoint, opts = opts, local_dir = local_dir }
end

-- The credentials provider a client of `transport` uses (see above).
function _M.wrap_credentials(provider, transport, cfg, region)
  if transport.name ~= "ngx" then return provider end
  return require("personalize.transport.ngx").credentials(provider, cfg, region)
end

-- `message` about missing settings, with the advice the host needs to pass
-- environment variables `names` on (inside nginx: `env NAME;` directives).
function _M.env_hint(message, names)
  return require("personalize.transport.ngx").env_hint(message, names)
end

-- The region for a client whose configuration names none: the in-process
-- engine's default when its endpoint is "local:DIR", else nil. `service`
-- is the config's service descriptor.
function _M.default_region(cfg, service)
  return require("personalize.transport.engine").default_region(cfg, service)
end

return _M
