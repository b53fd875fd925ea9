-- sso: AWS IAM Identity Center (SSO) role credentials, as botocore's
-- SSOProvider gets them.
--
-- A profile applies when it has sso_account_id or sso_role_name. It needs
-- sso_start_url and sso_region, either in a `[sso-session NAME]` section
-- named by `sso_session = NAME` or (the legacy form) in the profile itself.
-- The token that `aws sso login` left in
--   ~/.aws/sso/cache/<sha1 hex of the session NAME, or of sso_start_url>.json
-- ({ accessToken, expiresAt, ... }) is exchanged for role credentials by
-- the portal's GetRoleCredentials (unsigned GET, bearer token in the
-- x-amz-sso_bearer_token header) at https://portal.sso.<sso_region>.<dns>
-- or the `sso` service's configured endpoint (AWS_ENDPOINT_URL_SSO,
-- AWS_ENDPOINT_URL, the profile's services section or endpoint_url).
-- The credentials expire with the role session and are fetched again
-- then, from the token cached at that time.
--
-- The token is only read, never refreshed: an expired token (or a portal
-- that refuses it) stops the chain with botocore's advice to run
-- `aws sso login`.
local credentials = require "personalize.credentials.base"
local core = require "personalize.core"
local request = require "personalize.request"
local retry = require "personalize.retry"
local cjson = require "cjson.safe"

local nonempty = credentials.nonempty
local type, tostring, tonumber, pairs, setmetatable = type, tostring, tonumber, pairs, setmetatable
local concat, format, byte = table.concat, string.format, string.byte

local _M = {}

_M.SERVICE = { id = "SSO", key = "sso", env = "SSO", prefix = "portal.sso" }
_M.CACHE_DIR = "~/.aws/sso/cache"
_M.TIMEOUT = 10
_M.ATTEMPTS = 3
_M.PAUSE = 1

local PROFILE_KEYS = { "sso_role_name", "sso_account_id" }
local REQUIRED = { "sso_role_name", "sso_account_id", "sso_start_url", "sso_region" }

-- Whether profile section `profile` asks for SSO role credentials
-- (botocore: sso_role_name or sso_account_id is present).
function _M.uses_sso(profile)
  if type(profile) ~= "table" then return false end
  for _, k in ipairs(PROFILE_KEYS) do
    if profile[k] ~= nil then return true end
  end
  return false
end

-- botocore's UnauthorizedSSOTokenError, naming the profile; `detail`
-- (optional) says what was wrong.
function _M.login_error(name, detail)
  local msg = ("The SSO session associated with this profile has expired or is otherwise invalid. "
    .. "To refresh this SSO session run `aws sso login` with the corresponding profile (profile %q).")
    :format(name)
  if detail then msg = msg .. " " .. detail end
  return msg
end

-- The SSO settings of profile `name`: { sso_start_url, sso_region,
-- sso_account_id, sso_role_name, sso_session (sso-session form only) },
-- or nil, why (not an SSO profile) or nil, message, true.
function _M.settings(cfg, name)
  local p = cfg:profile(name)
  if not _M.uses_sso(p) then return nil, "no sso_account_id or sso_role_name in the profile" end
  local resolved = {}
  for k, v in pairs(p) do resolved[k] = v end
  local required = { REQUIRED[1], REQUIRED[2], REQUIRED[3], REQUIRED[4] }
  local session = p.sso_session
  if session ~= nil then
    local section = type(session) == "string" and cfg:section("sso-session", session)
    if type(section) ~= "table" then
      return nil, ("The specified sso-session does not exist: %q (profile %q)"):format(tostring(session), name), true
    end
    for k, v in pairs(section) do
      -- Keys given in both places must agree (botocore).
      if resolved[k] ~= nil and resolved[k] ~= v then
        return nil, ("The value for %s is inconsistent between profile (%s) and sso-session (%s) (profile %q)")
          :format(k, tostring(resolved[k]), tostring(v), name), true
      end
      resolved[k] = v
    end
    required[#required + 1] = "sso_session"
  end
  local missing = {}
  for _, k in ipairs(required) do
    if type(resolved[k]) ~= "string" or resolved[k] == "" then missing[#missing + 1] = k end
  end
  if #missing > 0 then
    return nil, ("The profile %q is configured to use SSO but is missing required configuration: %s")
      :format(name, concat(missing, ", ")), true
  end
  local out = {}
  for _, k in ipairs(required) do out[k] = resolved[k] end
  return out
end

-- The token cache file for an sso-session name or (legacy) start URL.
function _M.cache_path(cfg, key)
  return cfg:expand(_M.CACHE_DIR) .. "/" .. core.sha1_hex(key) .. ".json"
end

-- Epoch seconds of a token's expiresAt: RFC 3339, also with a "UTC"
-- suffix as older CLIs wrote it.
local function token_expiry(s)
  if type(s) ~= "string" then return nil end
  s = s:gsub("%s*UTC$", "Z")
  return credentials.parse_time(s)
end
_M.token_expiry = token_expiry

-- The cached access token, or nil and the reason it cannot be used.
function _M.load_token(ctx, key)
  local path = _M.cache_path(ctx.cfg, key)
  local f = io.open(path, "rb")
  if not f then return nil, ("No SSO token is cached in %s."):format(path) end
  local text = f:read("*a")
  f:close()
  local doc = cjson.decode(text or "")
  if type(doc) ~= "table" or not nonempty(doc.accessToken) or doc.expiresAt == nil then
    return nil, ("The SSO token cached in %s has no accessToken or expiresAt."):format(path)
  end
  local expires = token_expiry(doc.expiresAt)
  if not expires then
    return nil, ("The SSO token cached in %s has an expiresAt that is not a time: %q.")
      :format(path, tostring(doc.expiresAt))
  end
  if expires - ctx.now() <= 0 then
    return nil, ("The SSO token cached in %s expired at %s."):format(path, doc.expiresAt)
  end
  return doc.accessToken
end

-- Percent-encoding of everything but RFC 3986's unreserved characters.
local function urlencode(s)
  return (s:gsub("[^%w%-%._~]", function(c) return format("%%%02X", byte(c)) end))
end

-- The portal URL: the `sso` service's configured endpoint, else the
-- regional one. Client options (the Personalize `endpoint`) do not apply,
-- as botocore's SSO client gets none of them: only the environment and
-- the profile do.
function _M.endpoint(cfg, region)
  local view = setmetatable({ opts = {} }, { __index = cfg })
  return cfg.endpoint(view, _M.SERVICE, region)
end

local function header(headers, name)
  if type(headers) ~= "table" then return nil end
  for k, v in pairs(headers) do
    if type(k) == "string" and k:lower() == name then return v end
  end
end

-- The portal's error message from a JSON body ({ message } or { Message }).
local function error_text(status, headers, body)
  local doc = cjson.decode(body or "")
  local kind = header(headers, "x-amzn-errortype")
  kind = kind and kind:match("^[^:]+")
  local msg = type(doc) == "table" and (nonempty(doc.message) or nonempty(doc.Message))
  if type(doc) == "table" and not kind then kind = nonempty(doc.__type) end
  local out = ("HTTP status %d"):format(status)
  if kind then out = out .. " (" .. tostring(kind) .. ")" end
  if msg then out = out .. ": " .. tostring(msg) end
  return out
end

-- The send step's parse of GetRoleCredentials (r.name: the profile, r.account: its account).
local function parse(r, status, headers, body)
  if status == 200 then
    local doc = cjson.decode(body or "")
    local rc = type(doc) == "table" and doc.roleCredentials
    local expiration = type(rc) == "table" and tonumber(rc.expiration)
    if not expiration or not nonempty(rc.accessKeyId) or not nonempty(rc.secretAccessKey) then
      return nil, { code = "InvalidResponse", retryable = false,
        message = ("profile %q: the SSO GetRoleCredentials response lacks roleCredentials "
          .. "with accessKeyId, secretAccessKey and expiration"):format(r.name) }
    end
    local creds = credentials.new(rc.accessKeyId, rc.secretAccessKey, nonempty(rc.sessionToken),
      "sso", expiration / 1000)
    creds.account_id = r.account
    return creds
  end
  if status == 401 or status == 403 then
    return nil, { code = "UnauthorizedSSOToken", status = status, retryable = false,
      message = _M.login_error(r.name, ("The SSO portal refused the token: %s."):format(error_text(status, headers, body))) }
  end
  -- 4xx other than throttling will not get better by asking again.
  return nil, { code = tostring(status), status = status, message = error_text(status, headers, body),
                retryable = not (status >= 400 and status < 500 and status ~= 429) }
end

-- GetRoleCredentials for settings `s`, with the access token `token`,
-- through the send step (personalize.request): unsigned, the bearer token
-- in a header, up to ATTEMPTS attempts PAUSE seconds apart.
local function get_role_credentials(ctx, name, s, token)
  local base, err = _M.endpoint(ctx.cfg, s.sso_region)
  if not base then return nil, ("profile %q: SSO endpoint: %s"):format(name, tostring(err)), true end
  if not base:match("^https?://") then
    return nil, ("profile %q: the SSO endpoint must be an http(s) URL, got %q"):format(name, base), true
  end
  local url = ("%s/federation/credentials?role_name=%s&account_id=%s")
    :format(base, urlencode(s.sso_role_name), urlencode(s.sso_account_id))
  local sender = request.unsigned(ctx.transport(), retry.fixed { max_attempts = _M.ATTEMPTS, pause = _M.PAUSE })
  local creds, rerr = request.send(sender, { op = "GetRoleCredentials", method = "GET", url = url,
    timeout = _M.TIMEOUT, headers = { ["x-amz-sso_bearer_token"] = token, Accept = "application/json" },
    parse = parse, sleep = ctx.sleep, name = name, account = s.sso_account_id })
  if creds then return creds end
  if rerr.code == "InvalidResponse" or rerr.code == "UnauthorizedSSOToken" then return nil, rerr.message, true end
  local last = rerr.status and rerr.message or ("%s: %s"):format(tostring(rerr.code), tostring(rerr.message))
  return nil, ("profile %q: SSO GetRoleCredentials at %s failed: %s"):format(name, base, last), true
end

-- SSO credentials of profile `name` (also for assume-role source
-- profiles): credentials, or nil, why (not an SSO profile), or nil,
-- message, true.
function _M.for_profile(ctx, name)
  local s, why, fatal = _M.settings(ctx.cfg, name)
  if not s then return nil, why, fatal end
  local token, terr = _M.load_token(ctx, s.sso_session or s.sso_start_url)
  if not token then return nil, _M.login_error(name, terr), true end
  return get_role_credentials(ctx, name, s, token)
end

function _M.load(ctx)
  return _M.for_profile(ctx, ctx.cfg.profile_name)
end

return _M
