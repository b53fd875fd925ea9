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
local core = require "personalize.core"
local credentials = require "personalize.credentials.base"
local errors = require "personalize.errors"
local query = require "personalize.protocol.query"
local request = require "personalize.request"
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

-- The send step's parse: the <ActionResult> node of a 2xx answer.
local function parse(r, status, headers, body)
  if status < 200 or status >= 300 then return nil, query.parse_error(status, headers, body) end
  local doc, err = query.parse_xml(body)
  local result = doc and query.find(doc, r.op .. "Response", r.op .. "Result")
  if not result then
    return nil, { code = "InvalidResponse", status = status, retryable = false,
      message = "unexpected STS response: " .. (err or ("no " .. r.op .. "Result element")) }
  end
  return result
end

-- A provider that always gives `creds` (the source credentials of AssumeRole).
local function fixed(creds)
  return { get = function() return creds end }
end

-- Sends `action` with `params` (a list of {name, value}) through the send
-- step (personalize.request); `creds` signs it when given. Transient
-- failures and throttling are retried as client calls are (standard mode,
-- max_attempts of the configuration). Returns the <ActionResult> node or
-- nil, err (err.attempts counts the attempts).
function _M.call(ctx, action, params, creds)
  local url, region = _M.endpoint(ctx.cfg)
  if not url then return fail(action, { code = "InvalidConfiguration", message = region, retryable = false }) end
  local body = query.build(action, VERSION, params)
  local transport = ctx.transport()
  local u = assert(sigv4.parse_url(url .. "/"))
  local sender = {
    transport = transport,
    _retry = retry.new { max_attempts = retry.max_attempts({}, ctx.cfg),
                         sleep = transport.sleep, now = transport.now },
    _credentials = creds and fixed(creds) or false,
    _signing = { name = "sts", region = region, s3 = false },
    _debug = false,
  }
  return request.send(sender, {
    op = action, parse = parse, method = "POST", url = url .. "/", timeout = _M.TIMEOUT,
    host = sigv4.host_header(u), path = u.path, query = u.query,
    headers = { ["Content-Type"] = "application/x-www-form-urlencoded; charset=utf-8" },
    body = body, payload_hash = core.sha256_hex(body),
  })
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
