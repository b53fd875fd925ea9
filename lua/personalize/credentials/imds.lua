-- iam-role: credentials of the EC2 instance profile from the instance
-- metadata service, IMDSv2 only:
--   PUT /latest/api/token (X-aws-ec2-metadata-token-ttl-seconds: 21600)
--   GET /latest/meta-data/iam/security-credentials/        -> role name
--   GET /latest/meta-data/iam/security-credentials/<role>  -> JSON
-- each with X-aws-ec2-metadata-token and a 1 s timeout. The token is kept
-- until shortly before its TTL ends. AWS_EC2_METADATA_DISABLED=true turns
-- the provider off; AWS_EC2_METADATA_SERVICE_ENDPOINT (or the profile's
-- ec2_metadata_service_endpoint) names another address. A failure here is
-- not fatal: the chain goes on and reports "Unable to locate credentials".
local credentials = require "personalize.credentials.base"
local request = require "personalize.request"
local retry = require "personalize.retry"
local cjson = require "cjson.safe"

local _M = {}

_M.ENDPOINT = "http://169.254.169.254"
_M.TOKEN_TTL = 21600
_M.TIMEOUT = 1
_M.CREDENTIALS_PATH = "/latest/meta-data/iam/security-credentials/"

-- IMDS tokens, per endpoint: { value, expires }. Not credentials, but
-- kept out of tostring all the same.
local tokens = setmetatable({}, { __tostring = function() return "imds tokens" end })

function _M.endpoint(cfg)
  local ep = cfg:setting("ec2_metadata_service_endpoint", "AWS_EC2_METADATA_SERVICE_ENDPOINT")
  return ((ep or _M.ENDPOINT):gsub("/+$", ""))
end

function _M.disabled(cfg)
  local v = cfg:env("AWS_EC2_METADATA_DISABLED")
  return v ~= nil and v:lower() == "true"
end

-- One unsigned attempt through the send step (personalize.request): the
-- token flow decides itself what to ask again.
local ONCE = retry.fixed { max_attempts = 1, pause = 0 }

local function parse(_, status, _, body)
  if status ~= 200 then return nil, { code = tostring(status), status = status, message = "HTTP status " .. status } end
  return { body = body }
end

local function send(ctx, method, url, headers)
  local res, err = request.send(request.unsigned(ctx.transport(), ONCE), {
    op = "GetMetadata", method = method, url = url, headers = headers, timeout = _M.TIMEOUT, parse = parse,
  })
  if res then return res.body end
  if not err.status then return nil, ("%s: %s"):format(tostring(err.code), tostring(err.message)) end
  return nil, ("HTTP status %d from %s"):format(err.status, url), err.status
end

local function token(ctx, base)
  local t = tokens[base]
  local now = ctx.now()
  if t and now < t.expires then return t.value end
  local value, err = send(ctx, "PUT", base .. "/latest/api/token",
    { ["X-aws-ec2-metadata-token-ttl-seconds"] = tostring(_M.TOKEN_TTL) })
  if not value or value == "" then return nil, "no IMDSv2 token: " .. tostring(err or "empty answer") end
  tokens[base] = { value = value, expires = now + _M.TOKEN_TTL - 60 }
  return value
end

-- Forgets cached tokens (specs, and after a 401).
function _M.reset()
  for k in pairs(tokens) do tokens[k] = nil end
end

function _M.load(ctx)
  local cfg = ctx.cfg
  if _M.disabled(cfg) then return nil, "AWS_EC2_METADATA_DISABLED is true" end
  local base = _M.endpoint(cfg)
  local body, err, status
  for _ = 1, 2 do   -- a second round with a fresh token after a 401
    local tok
    tok, err = token(ctx, base)
    if not tok then return nil, "instance metadata at " .. base .. ": " .. err end
    local h = { ["X-aws-ec2-metadata-token"] = tok }
    body, err, status = send(ctx, "GET", base .. _M.CREDENTIALS_PATH, h)
    if body then
      local role = body:match("^%s*([^\r\n]+)")
      if not role then return nil, "instance metadata: no IAM role attached to the instance" end
      body, err, status = send(ctx, "GET", base .. _M.CREDENTIALS_PATH .. role, h)
    end
    if status ~= 401 then break end
    tokens[base] = nil
  end
  if not body then return nil, "instance metadata at " .. base .. ": " .. tostring(err) end
  local doc = cjson.decode(body)
  if type(doc) == "table" and doc.Code ~= nil and doc.Code ~= "Success" then
    return nil, "instance metadata: credentials not available (Code " .. tostring(doc.Code) .. ")"
  end
  local creds, derr = credentials.from_document(doc, "iam-role")
  if not creds then return nil, "instance metadata: " .. derr end
  return creds
end

return _M
