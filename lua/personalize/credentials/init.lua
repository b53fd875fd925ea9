-- Credentials: where a client finds its keys, in botocore's order.
--
--   local provider = credentials.resolve(opts, cfg, transport)  -- raises on a bad option
--   local creds, err, code = provider:get()   -- { access_key_id, secret_access_key,
--                                             --   session_token, expiration, source }
--
-- The chain, each provider a module of personalize.credentials.*:
--   explicit options; env (skipped when the `profile` option names a
--   profile); assume-role (profile role_arn); assume-role-with-web-identity;
--   sso; shared-credentials-file; custom-process (credential_process);
--   config-file; container-role; iam-role (EC2 instance metadata).
--
-- Nothing is looked up before the first get(): providers that go to the
-- network (STS, container, instance metadata) run then, through the
-- `transport` (anything with send(req), see personalize.transport.curl).
-- The first provider that answers is kept; its temporary credentials are
-- cached and refreshed before they expire: from 15 minutes before expiry
-- a refresh is tried (a failure keeps the old keys), from 10 minutes
-- before it is required.
--
-- A provider load(ctx) returns credentials, or nil and why it does not
-- apply, or nil, a message and true when it applies but failed (the chain
-- stops there, as botocore's does).
--
-- Secrets never appear in tostring() of a provider or of a credentials
-- object (both print the access key id only), nor in error messages.
--
-- The helpers the providers share (the credentials object, nonempty,
-- parse_time, from_document) are in personalize.credentials.base, which
-- the providers and STS require: none of them requires this module, so the
-- chain sits above its providers in the require graph.
local base = require "personalize.credentials.base"

local setmetatable, type, tostring, error = setmetatable, type, tostring, error

local _M = {}

_M.ADVISORY_REFRESH = 15 * 60
_M.MANDATORY_REFRESH = 10 * 60

-- The credentials object and the providers' helpers live in
-- personalize.credentials.base; they are exported here too.
_M.new = base.new
_M.is_credentials = base.is_credentials
_M.nonempty = base.nonempty
_M.parse_time = base.parse_time
_M.from_document = base.from_document

---------------------------------------------------------------------------
-- Providers with caching and refresh.

local Provider = {}
Provider.__index = Provider
function Provider.__tostring(p)
  if p.name == "chain" and p.selected then
    return "personalize.credentials_provider (chain: " .. p.selected.name .. ")"
  end
  return "personalize.credentials_provider (" .. p.name .. ")"
end

-- Credentials, refreshing them around their expiry as described above;
-- nil, message, code ("NoCredentialsError" or "CredentialRetrievalError").
function Provider:get()
  local c = self.cached
  if c then
    if not c.expiration then return c end
    local left = c.expiration - self.ctx.now()
    if left > _M.ADVISORY_REFRESH then return c end
    local fresh, err = self:fetch()
    if fresh then
      self.cached = fresh
      return fresh
    end
    if left > _M.MANDATORY_REFRESH then return c end
    return nil, ("%s: refreshing expiring credentials failed: %s"):format(self.name, tostring(err)),
      "CredentialRetrievalError"
  end
  local fresh, err, fatal = self:fetch()
  if fresh then
    self.cached = fresh
    return fresh
  end
  return nil, err, fatal and "CredentialRetrievalError" or "NoCredentialsError", fatal
end

function Provider:fetch()
  return self.load(self.ctx)
end

-- A provider named `name` whose load(ctx) gives credentials.
function _M.provider(name, load, ctx)
  return setmetatable({ name = name, load = load, ctx = ctx }, Provider)
end

-- The chain of botocore's credential resolver, in order. Each entry is
-- { name, module }; the module's load(ctx) answers as described above.
_M.CHAIN = {
  { "env", "personalize.credentials.env" },
  { "assume-role", "personalize.credentials.assume_role" },
  { "assume-role-with-web-identity", "personalize.credentials.web_identity" },
  { "sso", "personalize.credentials.sso" },
  { "shared-credentials-file", "personalize.credentials.shared", "load_credentials_file" },
  { "custom-process", "personalize.credentials.process" },
  { "config-file", "personalize.credentials.shared", "load_config_file" },
  { "container-role", "personalize.credentials.container" },
  { "iam-role", "personalize.credentials.imds" },
}

-- The chain's get(): the provider that answered first, or the first
-- provider that answers now.
local function chain_get(self)
  local ctx = self.ctx
  if self.selected then return self.selected:get() end
  local reasons = {}
  for _, entry in ipairs(_M.CHAIN) do
    local name = entry[1]
    if not (name == "env" and ctx.cfg.profile_explicit) then
      local mod = require(entry[2])
      local p = _M.provider(name, mod[entry[3] or "load"], ctx)
      local creds, why, _, fatal = p:get()
      if creds then
        self.selected = p
        return creds
      end
      if fatal then return nil, why, "CredentialRetrievalError", true end
      reasons[#reasons + 1] = name .. ": " .. tostring(why)
    end
  end
  return nil, "Unable to locate credentials (" .. table.concat(reasons, "; ")
    .. "); pass credentials = { access_key_id = ..., secret_access_key = ... }, "
    .. "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or configure a profile", "NoCredentialsError"
end

-- Explicit credentials in the options: `credentials = {...}` (a table or
-- a credentials object) or the flat access_key_id / secret_access_key /
-- session_token options. Raises on half a key pair.
local function from_options(opts)
  local c = opts.credentials or opts
  if type(c) ~= "table" then error("personalize: the credentials option must be a table", 3) end
  if c.access_key_id == nil and c.secret_access_key == nil then return nil end
  if type(c.access_key_id) ~= "string" or type(c.secret_access_key) ~= "string" then
    error("credentials need both access_key_id and secret_access_key as strings", 4)
  end
  if c.session_token ~= nil and type(c.session_token) ~= "string" then
    error("credentials: session_token must be a string", 4)
  end
  return _M.new(c.access_key_id, c.secret_access_key, c.session_token, "options")
end

-- The context providers share: config, clock, transport (made on first
-- use), a sleep function.
local function context(cfg, transport)
  local core = require "personalize.core"
  -- The transport's sleep when it has one: under nginx (ngx transport)
  -- ngx.sleep, so pauses between metadata retries do not block the worker.
  local ctx = { cfg = cfg, now = core.time, sleep = transport and transport.sleep or core.sleep }
  function ctx.transport()
    if not transport then
      transport = require("personalize.transport.curl").new {
        ca_bundle = cfg:ca_bundle(), connect_timeout = 2, timeout = 10,
        user_agent = "lua-personalize/" .. require("personalize.version"),
      }
    end
    return transport
  end
  return ctx
end
_M.context = context

-- The provider for a client's options: explicit credentials win, else the
-- chain, asked at get() time. `cfg` (personalize.config) and `transport`
-- are optional: made from `opts` when missing.
function _M.resolve(opts, cfg, transport)
  opts = opts or {}
  if type(opts) ~= "table" then error("personalize: options must be a table", 2) end
  local explicit = from_options(opts)
  local ctx
  if explicit then
    ctx = { now = require("personalize.core").time }
    local p = _M.provider("options", function() return explicit end, ctx)
    p.cached = explicit
    return p
  end
  cfg = cfg or require("personalize.config").new(opts)
  ctx = context(cfg, transport or opts.credentials_transport)
  local p = _M.provider("chain", nil, ctx)
  p.get = chain_get
  return p
end

-- The name of the provider that gave the credentials ("env", "iam-role"...).
function _M.source(provider)
  if provider.selected then return provider.selected.name end
  return provider.name
end

return _M
