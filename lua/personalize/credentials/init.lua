-- Credentials: where a client finds its keys.
--
--   local provider = credentials.resolve(opts)   -- raises on a bad option
--   local creds, err = provider:get()            -- { access_key_id, secret_access_key, session_token }
--
-- A provider is a table with `name` and `get()`. This module knows the
-- explicit options and the environment; the full chain (shared files,
-- profiles, roles, containers, instance metadata) adds providers to
-- PROVIDERS without changing callers.
--
-- Secrets never appear in tostring() of a provider or of a credentials
-- object: both print the access key id only.
local setmetatable, type, tostring = setmetatable, type, tostring
local getenv = os.getenv

local _M = {}

local Credentials = {}
Credentials.__index = Credentials
function Credentials.__tostring(c)
  return ("personalize.credentials (%s, %s%s)"):format(
    tostring(c.access_key_id), c.source or "?", c.session_token and ", session" or "")
end

-- A credentials object; secret_access_key is held but never printed.
function _M.new(access_key_id, secret_access_key, session_token, source)
  return setmetatable({ access_key_id = access_key_id, secret_access_key = secret_access_key,
                        session_token = session_token, source = source }, Credentials)
end

local Provider = {}
Provider.__index = Provider
function Provider.__tostring(p) return "personalize.credentials_provider (" .. p.name .. ")" end
function Provider:get() return self.fetch() end

local function provider(name, fetch)
  return setmetatable({ name = name, fetch = fetch }, Provider)
end

local function nonempty(s)
  if s ~= nil and s ~= "" then return s end
end

-- 1. Explicit credentials in the options: `credentials = {...}` or the
--    flat access_key_id / secret_access_key / session_token options.
local function from_options(opts)
  local c = opts.credentials or opts
  if c.access_key_id == nil and c.secret_access_key == nil then return nil end
  if type(c.access_key_id) ~= "string" or type(c.secret_access_key) ~= "string" then
    error("credentials need both access_key_id and secret_access_key as strings", 4)
  end
  local creds = _M.new(c.access_key_id, c.secret_access_key, c.session_token, "options")
  return provider("options", function() return creds end)
end

-- 2. The environment, read once per get() so rotated keys are seen.
local function from_env()
  return provider("environment", function()
    local id, secret = nonempty(getenv("AWS_ACCESS_KEY_ID")), nonempty(getenv("AWS_SECRET_ACCESS_KEY"))
    if id and secret then
      return _M.new(id, secret, nonempty(getenv("AWS_SESSION_TOKEN")), "environment")
    end
    return nil, "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set"
  end)
end

-- The chain after explicit options; each entry returns a provider or nil.
_M.PROVIDERS = { from_env }

-- The provider for a client's options: explicit ones win, else the chain,
-- which asks each provider in turn at get() time.
function _M.resolve(opts)
  opts = opts or {}
  local explicit = from_options(opts)
  if explicit then return explicit end
  local chain = {}
  for _, make in ipairs(_M.PROVIDERS) do
    local p = make(opts)
    if p then chain[#chain + 1] = p end
  end
  return provider("chain", function()
    local reasons = {}
    for _, p in ipairs(chain) do
      local creds, why = p:get()
      if creds then return creds end
      reasons[#reasons + 1] = p.name .. ": " .. tostring(why)
    end
    return nil, "no credentials found (" .. table.concat(reasons, "; ")
      .. "); pass credentials = { access_key_id = ..., secret_access_key = ... }"
  end)
end

return _M
