-- Client configuration where every AWS SDK finds it: options, then the
-- environment, then the shared config files.
--
--   local cfg = config.new(opts)              -- raises on misuse of options
--   local region, err = cfg:region()
--   local url, err = cfg:endpoint(service)    -- service = config.service(model)
--   local v = cfg:setting("retry_mode", "AWS_RETRY_MODE")
--
-- Files: AWS_CONFIG_FILE (default ~/.aws/config, sections `[default]`,
-- `[profile NAME]`, `[services NAME]`, `[sso-session NAME]`) and
-- AWS_SHARED_CREDENTIALS_FILE (default ~/.aws/credentials, sections
-- `[NAME]`). The profile is the `profile` option, then AWS_PROFILE, then
-- "default". Files are read on first use, once per config object; nothing
-- here touches the network.
--
-- `opts.env` (a table or a function name -> value) replaces os.getenv, for
-- specs and for embedders; empty values count as unset everywhere.
local ini = require "personalize.ini"

local pairs, ipairs, getenv, type, tostring, tonumber, error, setmetatable =
  pairs, ipairs, os.getenv, type, tostring, tonumber, error, setmetatable
local lower, upper = string.lower, string.upper

local _M = {}

local Config = {}
Config.__index = Config

local function nonempty(s)
  if s ~= nil and s ~= "" then return s end
end

local function env_reader(env)
  if env == nil then return getenv end
  if type(env) == "function" then return env end
  if type(env) == "table" then return function(name) return env[name] end end
  error("personalize: the env option must be a table or a function", 4)
end

local SECRET_OPTIONS = { access_key_id = true, secret_access_key = true, session_token = true,
                         credentials = true }

-- Every option a client takes (personalize.client, the S3 client and
-- personalize.credentials); the README's "Options" table says what each does.
local OPTIONS = {
  "region", "endpoint", "profile", "credentials", "access_key_id", "secret_access_key",
  "session_token", "env", "transport", "credentials_transport", "debug", "proxy", "ca_bundle",
  "verify_tls", "connect_timeout", "read_timeout", "timeout", "max_attempts", "retry_mode",
  "use_fips_endpoint", "use_dualstack_endpoint", "ignore_configured_endpoint_urls",
  "ec2_metadata_service_endpoint", "app_id", "pool_size", "keepalive_timeout", "plain_http",
  "local_timings", "local_credentials",
  -- S3 clients only
  "s3_force_path_style", "s3", "unsigned_payload",
}
_M.OPTIONS = OPTIONS
local KNOWN = {}
for _, name in ipairs(OPTIONS) do KNOWN[name] = true end

-- What boto3 (botocore's Session.client and Config) and the AWS CLI call
-- the options of this library.
local RENAMED = {
  region_name = "region",
  endpoint_url = "endpoint",
  aws_access_key_id = "access_key_id (or credentials = { access_key_id = ..., secret_access_key = ... })",
  aws_secret_access_key = "secret_access_key (or credentials = { access_key_id = ..., secret_access_key = ... })",
  aws_session_token = "session_token (or credentials = { ..., session_token = ... })",
  profile_name = "profile",
  verify = "verify_tls (false turns checks off) or ca_bundle (a path)",
  retries = "max_attempts and retry_mode",
  config = "the options themselves (max_attempts, retry_mode, connect_timeout, read_timeout, ...)",
  use_ssl = "an http:// or https:// endpoint",
  user_agent_appid = "app_id",
  user_agent_extra = "app_id",
  proxies = "proxy",
  addressing_style = "s3 = { addressing_style = ... }",
  endpoint_override = "endpoint",
  url = "endpoint",
  key = "access_key_id", secret = "secret_access_key", token = "session_token",
}

-- Raises, at the caller's caller (level 3), for an option this library
-- does not know, naming the one it uses: `who` prefixes the message.
function _M.check_options(opts, who)
  for k in pairs(opts) do
    if not KNOWN[k] then
      local name = tostring(k)
      local msg
      if RENAMED[k] then
        msg = ("%s: unknown option %s: use %s"):format(who, name, RENAMED[k])
      else
        local close = type(k) == "string" and require("personalize.suggest").closest(OPTIONS, k, 2, math.max(1, math.floor(#k / 3))) or {}
        if #close > 0 then
          msg = ("%s: unknown option %s: did you mean %s?"):format(who, name, table.concat(close, " or "))
        else
          local names = {}
          for i, o in ipairs(OPTIONS) do names[i] = o end
          table.sort(names)
          msg = ("%s: unknown option %s (options: %s)"):format(who, name, table.concat(names, ", "))
        end
      end
      error(msg, 3)
    end
  end
end

-- A config object for client options `opts` (may be nil).
function _M.new(opts)
  opts = opts or {}
  if type(opts) ~= "table" then error("personalize: options must be a table", 2) end
  if opts.profile ~= nil and type(opts.profile) ~= "string" then
    error("personalize: the profile option must be a string", 2)
  end
  -- A copy without the explicit keys, so that a config object (kept by
  -- credential providers) never holds a secret.
  local copy = {}
  for k, v in pairs(opts) do
    if not SECRET_OPTIONS[k] then copy[k] = v end
  end
  local self = setmetatable({ opts = copy, getenv = env_reader(opts.env) }, Config)
  self.profile_explicit = nonempty(opts.profile) ~= nil
  self.profile_name = nonempty(opts.profile) or self:env("AWS_PROFILE") or "default"
  return self
end

-- An environment variable, nil when unset or empty.
function Config:env(name)
  return nonempty(self.getenv(name))
end

-- "~/x" -> "$HOME/x".
function Config:expand(path)
  if path:sub(1, 1) == "~" then
    local home = self:env("HOME") or self:env("USERPROFILE") or ""
    return home .. path:sub(2)
  end
  return path
end

function Config:config_path()
  return self:expand(self:env("AWS_CONFIG_FILE") or "~/.aws/config")
end

function Config:credentials_path()
  return self:expand(self:env("AWS_SHARED_CREDENTIALS_FILE") or "~/.aws/credentials")
end

-- The parsed config file; an unreadable file counts as empty but is
-- remembered in self.file_errors for messages.
local function load_file(self, field, path)
  local t = self[field]
  if t then return t end
  local err
  t, err = ini.load(path)
  if not t then
    self.file_errors = self.file_errors or {}
    self.file_errors[#self.file_errors + 1] = err
    t = {}
  end
  self[field] = t
  return t
end

function Config:config_file()
  return load_file(self, "_config_file", self:config_path())
end

function Config:credentials_file()
  return load_file(self, "_credentials_file", self:credentials_path())
end

-- The config-file section of profile `name` (default: the selected one),
-- or nil. `[profile default]` and `[default]` both name "default"; the
-- latter wins as botocore does.
function Config:profile(name)
  name = name or self.profile_name
  local file = self:config_file()
  if name == "default" then return file["default"] or file["profile default"] end
  return file["profile " .. name]
end

-- The credentials-file section of profile `name`, or nil.
function Config:credentials_profile(name)
  return self:credentials_file()[name or self.profile_name]
end

-- Whether profile `name` exists in either file.
function Config:profile_exists(name)
  return self:profile(name) ~= nil or self:credentials_profile(name) ~= nil
end

-- A `[sso-session NAME]` or `[services NAME]` section.
function Config:section(kind, name)
  return self:config_file()[kind .. " " .. name]
end

-- A string setting: option `key` (or `opt_name`), then environment
-- variable `env_name`, then the profile's `key`.
function Config:setting(key, env_name, opt_name)
  local v = self.opts[opt_name or key]
  if v ~= nil and v ~= "" then return v end
  v = env_name and self:env(env_name)
  if v then return v end
  local p = self:profile()
  v = p and p[key]
  if type(v) == "string" and v ~= "" then return v end
  return nil
end

-- A boolean setting; "true"/"false" in any case from env and files.
function Config:flag(key, env_name, opt_name)
  local v = self:setting(key, env_name, opt_name)
  if v == nil then return false end
  if type(v) == "boolean" then return v end
  v = lower(tostring(v))
  if v == "true" then return true end
  if v == "false" then return false end
  error(("personalize: %s must be true or false, got %q"):format(key, v), 3)
end

-- A whole-number setting of at least `min`; raises on a bad value.
function Config:integer(key, env_name, min, opt_name)
  local raw = self:setting(key, env_name, opt_name)
  if raw == nil then return nil end
  local n = tonumber(raw)
  if type(n) ~= "number" or n % 1 ~= 0 or n < min then
    error(("personalize: %s must be a whole number of at least %d, got %s"):format(key, min, tostring(raw)), 3)
  end
  return n
end

-- Region: the `region` option, AWS_REGION, AWS_DEFAULT_REGION, then the
-- profile's `region`. Returns nil and a message naming these otherwise.
function Config:region()
  local opt = self.opts.region
  if opt ~= nil and type(opt) ~= "string" then
    return nil, "the region option must be a string, got " .. type(opt)
  end
  local region = nonempty(opt) or self:env("AWS_REGION") or self:env("AWS_DEFAULT_REGION")
  if not region then
    local p = self:profile()
    region = p and nonempty(p.region)
  end
  if not region and self.profile_name ~= "default" and not self:profile_exists() then
    return nil, ("the config profile (%s) could not be found: %s names it, and neither %s nor %s has it "
      .. "(run `aws configure --profile %s`, or choose another profile)")
      :format(self.profile_name, self.profile_explicit and "the profile option" or "AWS_PROFILE",
        self:config_path(), self:credentials_path(), self.profile_name)
  end
  if not region then
    return nil, ("no region: pass region = \"us-east-1\" (for example) to the client, "
      .. "set AWS_REGION or AWS_DEFAULT_REGION, or set region in the [%s] profile of %s")
      :format(self.profile_name == "default" and "default" or ("profile " .. self.profile_name),
        self:config_path())
  end
  if not region:match("^[%w][%w%-]*$") then
    return nil, ("invalid region %q: expected letters, digits and dashes"):format(region)
  end
  return region
end

-- Partitions, as in the endpoint rule sets' partitions.json: the region
-- pattern, the DNS suffixes and what each supports. Checked in order;
-- an unknown region falls in "aws".
local PARTITIONS = {
  { name = "aws-us-gov", match = "^us%-gov%-%w+%-%d+$", dns = "amazonaws.com", dual = "api.aws",
    fips = true, dualstack = true },
  { name = "aws-iso", match = "^us%-iso%-%w+%-%d+$", dns = "c2s.ic.gov", fips = true, dualstack = false },
  { name = "aws-iso-b", match = "^us%-isob%-%w+%-%d+$", dns = "sc2s.sgov.gov", fips = true, dualstack = false },
  { name = "aws-iso-e", match = "^eu%-isoe%-%w+%-%d+$", dns = "cloud.adc-e.uk", fips = true, dualstack = false },
  { name = "aws-iso-f", match = "^us%-isof%-%w+%-%d+$", dns = "csp.hci.ic.gov", fips = true, dualstack = false },
  { name = "aws-eusc", match = "^eusc%-de%-%w+%-%d+$", dns = "amazonaws.eu", fips = true, dualstack = false },
  { name = "aws-cn", match = "^cn%-%w+%-%d+$", dns = "amazonaws.com.cn",
    dual = "api.amazonwebservices.com.cn", fips = true, dualstack = true },
  { name = "aws", match = "", dns = "amazonaws.com", dual = "api.aws", fips = true, dualstack = true },
}

function _M.partition(region)
  for _, p in ipairs(PARTITIONS) do
    if p.match == "" or region:match(p.match) then return p end
  end
end

function _M.dns_suffix(region)
  return _M.partition(region).dns
end

-- What endpoint resolution needs to know of a service, from its model
-- metadata: "Personalize Runtime" -> key personalize_runtime, env suffix
-- PERSONALIZE_RUNTIME, host prefix personalize-runtime.
function _M.service(metadata)
  local id = metadata.serviceId
  local key = lower(id):gsub(" ", "_")
  return { id = id, key = key, env = upper(key), prefix = metadata.endpointPrefix }
end

-- "local:DIR" names personalize-local's engine run in-process.
local function check_url(url, where)
  local dir = url:match("^local:(.*)$")
  if dir then
    if dir == "" then return nil, ("invalid endpoint %q (from %s): expected local:DIR"):format(url, where) end
    return url
  end
  if not url:match("^https?://[^/]+") then
    return nil, ("invalid endpoint %q (from %s): expected http(s)://host[:port] or local:DIR"):format(url, where)
  end
  return (url:gsub("/+$", ""))
end

-- The configured endpoint URL and where it came from, or nil. Precedence:
-- the `endpoint` option; AWS_ENDPOINT_URL_<SERVICE>; AWS_ENDPOINT_URL;
-- the profile's services section; the profile's endpoint_url. All but the
-- option are off with AWS_IGNORE_CONFIGURED_ENDPOINT_URLS or the
-- profile's ignore_configured_endpoint_urls.
function Config:configured_endpoint(service)
  local opt = self.opts.endpoint
  if opt ~= nil and type(opt) ~= "string" then
    return nil, "the endpoint option must be a string"
  end
  if nonempty(opt) then return opt, "the endpoint option" end
  if self:flag("ignore_configured_endpoint_urls", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS") then
    return nil
  end
  local name = "AWS_ENDPOINT_URL_" .. service.env
  local v = self:env(name)
  if v then return v, name end
  v = self:env("AWS_ENDPOINT_URL")
  if v then return v, "AWS_ENDPOINT_URL" end
  local p = self:profile()
  if p then
    local services = nonempty(p.services)
    local section = services and self:section("services", services)
    local block = section and section[service.key]
    if type(block) == "table" and nonempty(block.endpoint_url) then
      return block.endpoint_url, ("[services %s] %s"):format(services, service.key)
    end
    if type(p.endpoint_url) == "string" and nonempty(p.endpoint_url) then
      return p.endpoint_url, "the profile's endpoint_url"
    end
  end
  return nil
end

-- The endpoint URL for `service` in `region`: the configured one, else
-- https://<prefix>[-fips].<region>.<dnsSuffix|dualStackDnsSuffix>, as the
-- service's endpoint rule set gives it. Returns nil, message when FIPS or
-- dual-stack meet a custom endpoint or a partition without them.
function Config:endpoint(service, region)
  local fips = self:flag("use_fips_endpoint", "AWS_USE_FIPS_ENDPOINT")
  local dual = self:flag("use_dualstack_endpoint", "AWS_USE_DUALSTACK_ENDPOINT")
  local url, where = self:configured_endpoint(service)
  if not url and where then return nil, where end
  if url then
    if fips then return nil, "Invalid Configuration: FIPS and custom endpoint are not supported" end
    if dual then return nil, "Invalid Configuration: Dualstack and custom endpoint are not supported" end
    return check_url(url, where)
  end
  local p = _M.partition(region)
  if fips and dual and not (p.fips and p.dualstack) then
    return nil, "FIPS and DualStack are enabled, but this partition does not support one or both"
  end
  if fips and not p.fips then return nil, "FIPS is enabled but this partition does not support FIPS" end
  if dual and not p.dualstack then
    return nil, "DualStack is enabled but this partition does not support DualStack"
  end
  return ("https://%s%s.%s.%s"):format(service.prefix, fips and "-fips" or "", region,
    dual and p.dual or p.dns)
end

-- The CA bundle path: `ca_bundle` option, AWS_CA_BUNDLE, profile ca_bundle.
function Config:ca_bundle()
  local v = self:setting("ca_bundle", "AWS_CA_BUNDLE")
  return v and self:expand(v)
end

-- The application id for the User-Agent: `app_id` option,
-- AWS_SDK_UA_APP_ID, profile sdk_ua_app_id.
function Config:app_id()
  local v = self.opts.app_id
  if nonempty(v) then return v end
  v = self:env("AWS_SDK_UA_APP_ID")
  if v then return v end
  local p = self:profile()
  return p and nonempty(p.sdk_ua_app_id)
end

-- Seconds from option `key` (connect_timeout, read_timeout); nil if unset.
function Config:timeout(key)
  local v = self.opts[key]
  if v == nil then return nil end
  if type(v) ~= "number" or v <= 0 then
    error(("personalize: %s must be a positive number of seconds"):format(key), 3)
  end
  return v
end

-- Compatibility helpers of the first client: config.region(opts) and
-- config.endpoint(model, region, opts).
function _M.region(opts)
  return _M.new(opts):region()
end

function _M.endpoint(model, region, opts)
  return _M.new(opts):endpoint(_M.service(model.metadata), region)
end

return _M
