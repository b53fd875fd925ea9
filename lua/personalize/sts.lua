-- AWS STS through the query protocol: AssumeRole (signed with the source
-- credentials) and AssumeRoleWithWebIdentity (unsigned).
--
--   local creds, err = sts.assume_role(ctx, source_creds, {
--     RoleArn = ..., RoleSessionName = ..., ExternalId = ..., DurationSeconds = ... })
--   local creds, err = sts.assume_role_with_web_identity(ctx, {
--     RoleArn = ..., RoleSessionName = ..., WebIdentityToken = ... })
--
-- `ctx` is a credentials context (personalize.credentials.context): its
-- cfg gives the region and the endpoint (AWS_ENDPOINT_URL_STS, the
-- profile's services section, ...), its transport() sends. Without a
-- region the global endpoint https://sts.amazonaws.com (us-east-1) is
-- used. Returns a credentials object with `expiration`, or nil and an
-- error object (personalize.errors) whose message holds no secret.
local credentials = require "personalize.credentials.base"
local errors = require "personalize.errors"
local query = require "personalize.protocol.query"
local retry = require "personalize.retry"
local sigv4 = require "personalize.sigv4"

local _M = {}

local VERSION = "2011-06-15"
local SERVICE = { id = "STS", key = "sts", env = "STS", prefix = "sts" }
_M.SERVICE = SERVICE
_M.TIMEOUT = 10

-- Region and endpoint for STS calls under `cfg`. The client's `endpoint`
-- option names the Personalize (or S3) endpoint, not STS's: it does not
-- apply here; AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL and the profile do.
function _M.endpoint(cfg)
  local opts = {}
  for k, v in pairs(cfg.opts or {}) do
    if k ~= "endpoint" then opts[k] = v end
  end
  cfg = setmetatable({ opts = opts }, { __index = cfg })
  local region = cfg:region()
  if not region then
    local url = cfg:configured_endpoint(SERVICE)
    return url and url:gsub("/+$", "") or "https://sts.amazonaws.com", "us-east-1"
  end
  local url, err = cfg:endpoint(SERVICE, region)
  if not url then return nil, err end
  return url, region
end

local function fail(action, fields)
  fields.operation = action
  return nil, errors.new(fields)
end

-- Sends `action` with `params` (a list of {name, value}); `creds` signs
-- it when given. Transient failures and throttling are retried as client
-- calls are (standard mode, max_attempts of the configuration). Returns the
-- <ActionResult> node or nil, err (err.attempts counts the attempts).
function _M.call(ctx, action, params, creds)
  local url, region = _M.endpoint(ctx.cfg)
  if not url then return fail(action, { code = "InvalidConfiguration", message = region, retryable = false }) end
  local body = query.build(action, VERSION, params)
  local transport = ctx.transport()
  local retryer = retry.new { max_attempts = retry.max_attempts({}, ctx.cfg),
                              sleep = transport.sleep, now = transport.now }
  local state = retryer:start()
  while true do
    local headers = { ["Content-Type"] = "application/x-www-form-urlencoded; charset=utf-8" }
    if creds then
      headers = sigv4.sign { method = "POST", url = url .. "/", headers = headers, body = body,
                             region = region, service = "sts", credentials = creds }
    end
    retryer:before_send(state)
    local status, rheaders, rbody = transport:send {
      method = "POST", url = url .. "/", headers = headers, body = body, timeout = _M.TIMEOUT,
    }
    local fields
    if not status then
      fields = { code = rheaders, message = rbody }
    elseif status < 200 or status >= 300 then
      fields = query.parse_error(status, rheaders, rbody)
    else
      retryer:succeeded(state)
      local doc, err = query.parse_xml(rbody)
      local result = doc and query.find(doc, action .. "Response", action .. "Result")
      if not result then
        return fail(action, { code = "InvalidResponse", status = status, retryable = false,
          message = "unexpected STS response: " .. (err or ("no " .. action .. "Result element")) })
      end
      return result
    end
    fields.operation = action
    local err = errors.new(fields)
    err.attempts = state.attempts
    local delay = retryer:next_delay(state, err, type(rheaders) == "table" and rheaders["x-amz-retry-after"] or nil)
    if not delay then return nil, err end
    retryer.sleep(delay)
  end
end

-- A credentials object from an <AssumeRole*Result>.
local function result_credentials(action, result, source)
  local c = query.find(result, "Credentials")
  local id, secret = query.text(c, "AccessKeyId"), query.text(c, "SecretAccessKey")
  local expiration = credentials.parse_time(query.text(c, "Expiration"))
  if not id or not secret or not expiration then
    return fail(action, { code = "InvalidResponse", retryable = false,
      message = "STS response without AccessKeyId, SecretAccessKey or Expiration" })
  end
  local creds = credentials.new(id, secret, query.text(c, "SessionToken"), source, expiration)
  creds.assumed_role_arn = query.text(result, "AssumedRoleUser", "Arn")
  return creds
end

local function list(p, names)
  local out = {}
  for _, n in ipairs(names) do
    if p[n] ~= nil then out[#out + 1] = { n, p[n] } end
  end
  return out
end

function _M.assume_role(ctx, source_creds, p)
  local result, err = _M.call(ctx, "AssumeRole",
    list(p, { "RoleArn", "RoleSessionName", "ExternalId", "DurationSeconds" }), source_creds)
  if not result then return nil, err end
  return result_credentials("AssumeRole", result, "assume-role")
end

function _M.assume_role_with_web_identity(ctx, p)
  local result, err = _M.call(ctx, "AssumeRoleWithWebIdentity",
    list(p, { "RoleArn", "RoleSessionName", "WebIdentityToken", "DurationSeconds" }))
  if not result then return nil, err end
  return result_credentials("AssumeRoleWithWebIdentity", result, "assume-role-with-web-identity")
end


return _M
