-- What the credential providers share: the credentials object and the
-- readers of the documents providers get back. The chain
-- (personalize.credentials), each provider (personalize.credentials.*) and
-- STS (personalize.sts) require this module; it requires nothing, so no
-- provider needs the chain that calls it.
--
--   local c = base.new(access_key_id, secret_access_key, session_token, source, expiration)
--   base.is_credentials(c)             true for such an object
--   base.nonempty(s)                   s when a non-empty string, else nil
--   base.parse_time("2026-01-02T03:04:05Z")   epoch seconds or nil
--   base.from_document(doc, source)    credentials from an AccessKeyId/... JSON object
--
-- Secrets never appear in tostring() of a credentials object (it prints
-- the access key id only), nor in error messages.
local setmetatable, getmetatable, type, tostring, tonumber = setmetatable, getmetatable, type, tostring, tonumber
local floor = math.floor

local _M = {}

local Credentials = {}
Credentials.__index = Credentials
function Credentials.__tostring(c)
  return ("personalize.credentials (%s, %s%s)"):format(
    tostring(c.access_key_id), c.source or "?", c.session_token and ", session" or "")
end

-- A credentials object; secret_access_key is held but never printed.
-- `expiration` is epoch seconds (nil: never expires).
function _M.new(access_key_id, secret_access_key, session_token, source, expiration)
  return setmetatable({ access_key_id = access_key_id, secret_access_key = secret_access_key,
                        session_token = session_token, source = source,
                        expiration = expiration }, Credentials)
end

function _M.is_credentials(v)
  return type(v) == "table" and getmetatable(v) == Credentials
end

local function nonempty(s)
  if type(s) == "string" and s ~= "" then return s end
end
_M.nonempty = nonempty

-- Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
-- days_from_civil), so no local time zone is involved.
local function days_from_civil(y, m, d)
  if m <= 2 then y = y - 1 end
  local era = floor(y / 400)
  local yoe = y - era * 400
  local mp = (m + 9) % 12
  local doy = floor((153 * mp + 2) / 5) + d - 1
  local doe = yoe * 365 + floor(yoe / 4) - floor(yoe / 100) + doy
  return era * 146097 + doe - 719468
end

-- Epoch seconds of an ISO 8601 / RFC 3339 timestamp
-- ("2026-01-02T03:04:05Z", with optional fraction and offset), or nil.
function _M.parse_time(s)
  if type(s) ~= "string" then return nil end
  local y, mo, d, h, mi, sec, rest = s:match("^(%d%d%d%d)%-(%d%d)%-(%d%d)[Tt ](%d%d):(%d%d):(%d%d)(.*)$")
  if not y then return nil end
  rest = rest:gsub("^%.%d+", "")
  local offset = 0
  if rest ~= "Z" and rest ~= "z" and rest ~= "" then
    local sign, oh, om = rest:match("^([+-])(%d%d):?(%d%d)$")
    if not sign then return nil end
    offset = (tonumber(oh) * 3600 + tonumber(om) * 60) * (sign == "-" and -1 or 1)
  end
  return days_from_civil(tonumber(y), tonumber(mo), tonumber(d)) * 86400
    + tonumber(h) * 3600 + tonumber(mi) * 60 + tonumber(sec) - offset
end

-- Credentials from the JSON document that containers, instance metadata
-- and credential_process return (AccessKeyId, SecretAccessKey,
-- Token/SessionToken, Expiration). Nil and a message (without secrets)
-- when a field is missing.
function _M.from_document(doc, source)
  if type(doc) ~= "table" then return nil, "the response is not a JSON object" end
  local id, secret = nonempty(doc.AccessKeyId), nonempty(doc.SecretAccessKey)
  if not id or not secret then
    return nil, "the response lacks AccessKeyId or SecretAccessKey"
  end
  local expiration
  if doc.Expiration ~= nil then
    expiration = _M.parse_time(doc.Expiration)
    if not expiration then
      return nil, ("the response has an Expiration that is not an ISO 8601 time: %q")
        :format(tostring(doc.Expiration))
    end
  end
  return _M.new(id, secret, nonempty(doc.Token) or nonempty(doc.SessionToken), source, expiration)
end

return _M
