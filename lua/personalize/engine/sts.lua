-- personalize-local's STS subset: temporary credentials for code that
-- assumes a role or asks for a session token, on the engine's own port
-- (the query protocol, as boto3's and the AWS CLI's sts clients send it).
--
--   local sts = require "personalize.engine.sts"
--   local issuer = sts.new { account_id = "123456789012", now = clock }
--   local res = issuer:handle(req, ctx)     -- one request, answers XML
--   local session = issuer:session(akid)    -- { secret, token, expiration, arn } or nil
--
-- Operations: GetSessionToken (DurationSeconds 900-129600, default 43200;
-- refused with temporary credentials, as AWS does), AssumeRole (RoleArn,
-- RoleSessionName, DurationSeconds 900-43200, default 3600) and
-- GetCallerIdentity. Keys are ASIA... ids with a fresh secret and session
-- token from /dev/urandom; the engine accepts each only with its own
-- token and until its Expiration. Issued credentials live in memory: they
-- end when the engine stops, like sessions revoked on AWS.
local core = require "personalize.core"

local setmetatable, tonumber, tostring, pairs = setmetatable, tonumber, tostring, pairs
local concat = table.concat
local fmt, char = string.format, string.char
local floor = math.floor
local os_date, io_open = os.date, io.open

local _M = {}

local NS = "https://sts.amazonaws.com/doc/2011-06-15/"
local MAX_SESSIONS = 10000   -- the oldest issued credentials go first beyond this

local xml_escape = require("personalize.engine.s3").xml_escape

local function el(name, value)
  return "<" .. name .. ">" .. xml_escape(value) .. "</" .. name .. ">"
end

local function iso(t)
  return os_date("!%Y-%m-%dT%H:%M:%SZ", floor(t))
end

local function random_bytes(n)
  local f = io_open("/dev/urandom", "rb")
  local s = f and f:read(n)
  if f then f:close() end
  if not s or #s ~= n then
    s = core.sha256(tostring({}) .. core.time() .. core.now()):sub(1, n)
  end
  return s
end

local ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
local B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

local function random_text(n, alphabet)
  local bytes, out = random_bytes(n), {}
  for i = 1, n do
    local k = bytes:byte(i) % #alphabet + 1
    out[i] = alphabet:sub(k, k)
  end
  return concat(out)
end

local function parse_form(body)
  local params = {}
  for pair in (body or ""):gmatch("[^&]+") do
    local k, v = pair:match("^([^=]*)=?(.*)$")
    local function dec(s)
      return (s:gsub("%+", " "):gsub("%%(%x%x)", function(h) return char(tonumber(h, 16)) end))
    end
    k = dec(k)
    if params[k] == nil then params[k] = dec(v) end
  end
  return params
end
_M.parse_form = parse_form

local Issuer = {}
Issuer.__index = Issuer

function _M.new(opts)
  return setmetatable({ account_id = opts.account_id, now = opts.now, sessions = {}, order = {} }, Issuer)
end

-- The temporary credentials issued as `akid`, while they are kept.
function Issuer:session(akid)
  return self.sessions[akid]
end

function Issuer:_issue(duration, arn, extra)
  local akid = "ASIA" .. random_text(16, ALNUM)
  local s = {
    secret = random_text(40, B64),
    token = "PLocal" .. random_text(170, B64 .. "="):gsub("=", "A"),
    expiration = floor(self.now()) + duration,
    arn = arn, user_id = extra.user_id,
  }
  self.sessions[akid] = s
  self.order[#self.order + 1] = akid
  if #self.order > MAX_SESSIONS then
    self.sessions[table.remove(self.order, 1)] = nil
  end
  return akid, s
end

local function credentials_xml(akid, s)
  return "<Credentials>" .. el("AccessKeyId", akid) .. el("SecretAccessKey", s.secret)
    .. el("SessionToken", s.token) .. el("Expiration", iso(s.expiration)) .. "</Credentials>"
end

local function answer(action, rid, inner)
  return { status = 200, headers = { ["Content-Type"] = "text/xml", ["x-amzn-RequestId"] = rid },
    body = fmt('<%sResponse xmlns="%s"><%sResult>%s</%sResult>%s</%sResponse>', action, NS, action, inner,
      action, "<ResponseMetadata>" .. el("RequestId", rid) .. "</ResponseMetadata>", action) }
end

-- An STS error document.
function _M.error(rid, status, code, message)
  return { status = status, headers = { ["Content-Type"] = "text/xml", ["x-amzn-RequestId"] = rid },
    body = fmt('<ErrorResponse xmlns="%s"><Error><Type>%s</Type>%s%s</Error>%s</ErrorResponse>', NS,
      status >= 500 and "Receiver" or "Sender", el("Code", code), el("Message", message), el("RequestId", rid)) }
end

local function duration(params, default, max)
  local raw = params.DurationSeconds
  if raw == nil then return default end
  local n = raw:match("^%d+$") and tonumber(raw)
  if not n or n < 900 or n > max then
    return nil, fmt("1 validation error detected: Value '%s' at 'durationSeconds' failed to satisfy "
      .. "constraint: Member must have value %s", raw, (n and n < 900) and "greater than or equal to 900"
      or ("less than or equal to " .. max))
  end
  return n
end

local function caller(self, ctx)
  if ctx.session then return ctx.session.arn, ctx.session.user_id end
  return fmt("arn:aws:iam::%s:user/personalize-local", self.account_id), ctx.access_key_id
end

function Issuer:handle(req, ctx)
  local rid = ctx.request_id
  if req.method ~= "POST" and req.method ~= "GET" then
    return _M.error(rid, 405, "InvalidAction", "STS takes POST (or GET) requests of the query protocol")
  end
  local params = parse_form(req.method == "POST" and req.body or req.query)
  if req.method == "POST" and req.query then
    for k, v in pairs(parse_form(req.query)) do if params[k] == nil then params[k] = v end end
  end
  local action = params.Action
  if params.Version ~= nil and params.Version ~= "2011-06-15" then
    return _M.error(rid, 400, "InvalidAction", "Could not find operation " .. tostring(action)
      .. " for version " .. params.Version)
  end
  if action == "GetCallerIdentity" then
    local arn, user_id = caller(self, ctx)
    return answer(action, rid, el("Arn", arn) .. el("UserId", user_id) .. el("Account", self.account_id))
  elseif action == "GetSessionToken" then
    if ctx.session then
      return _M.error(rid, 403, "AccessDenied", "Cannot call GetSessionToken with session credentials")
    end
    local d, err = duration(params, 43200, 129600)
    if not d then return _M.error(rid, 400, "ValidationError", err) end
    local arn, user_id = caller(self, ctx)
    local akid, s = self:_issue(d, arn, { user_id = user_id })
    return answer(action, rid, credentials_xml(akid, s))
  elseif action == "AssumeRole" then
    local role, name = params.RoleArn, params.RoleSessionName
    local role_name = role and role:match("^arn:aws[%w-]*:iam::%d%d%d%d%d%d%d%d%d%d%d%d:role/[%w+=,.@_/-]-([%w+=,.@_-]+)$")
    if not role_name or #role > 2048 then
      return _M.error(rid, 400, "ValidationError", fmt("1 validation error detected: Value '%s' at 'roleArn' "
        .. "failed to satisfy constraint: Member must be an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)",
        tostring(role)))
    end
    if not name or not name:match("^[%w+=,.@-]+$") or #name < 2 or #name > 64 then
      return _M.error(rid, 400, "ValidationError", fmt("1 validation error detected: Value '%s' at "
        .. "'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: "
        .. "[\\w+=,.@-]* and have length between 2 and 64", tostring(name)))
    end
    local d, err = duration(params, 3600, ctx.session and 3600 or 43200)
    if not d then return _M.error(rid, 400, "ValidationError", err) end
    local account = role:match("::(%d+):")
    local role_id = "AROA" .. core.hex(core.sha256(role)):sub(1, 17):upper()
    local arn = fmt("arn:aws:sts::%s:assumed-role/%s/%s", account, role_name, name)
    local akid, s = self:_issue(d, arn, { user_id = role_id .. ":" .. name })
    return answer(action, rid, credentials_xml(akid, s) .. "<AssumedRoleUser>"
      .. el("AssumedRoleId", role_id .. ":" .. name) .. el("Arn", arn) .. "</AssumedRoleUser>"
      .. el("PackedPolicySize", 0))
  end
  return _M.error(rid, 400, "InvalidAction", fmt("Could not find operation %s for version 2011-06-15; "
    .. "personalize-local serves GetSessionToken, AssumeRole and GetCallerIdentity", tostring(action)))
end

return _M
