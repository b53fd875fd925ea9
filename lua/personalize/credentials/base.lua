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
local setmetatable, getmetatable, type, tostring = setmetatable, getmetatable, type, tostring

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

-- Epoch seconds of an ISO 8601 / RFC 3339 timestamp
-- ("2026-01-02T03:04:05Z", with optional fraction and offset), or nil.
_M.parse_time = require("personalize.codec").parse_time

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
