-- SigV4 verification of the requests personalize-local receives.
--
--   local ctx, err = auth.verify(req, keys, now)
--   -- ctx = { access_key_id, service, region }
--   -- err = { code = "InvalidSignatureException", status = 403, message = ..., service = ... }
--
-- `keys` maps access key id -> secret access key. The signature is
-- recomputed over the headers the request lists in SignedHeaders, the
-- path as it came on the wire and the payload hash (the request's
-- X-Amz-Content-Sha256 for S3, the body's SHA-256 otherwise); the date
-- must be within 15 minutes of `now`, as AWS requires. Error codes follow
-- the service: the JSON services answer UnrecognizedClientException /
-- InvalidSignatureException / MissingAuthenticationTokenException, S3
-- InvalidAccessKeyId / SignatureDoesNotMatch / RequestTimeTooSkewed /
-- AccessDenied.
local core = require "personalize.core"

local os_time, os_date = os.time, os.date
local tonumber = tonumber

local _M = {}

local signer = core.signer()
local MAX_SKEW = 15 * 60
_M.MAX_SKEW = MAX_SKEW

local EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

-- "20150830T123600Z" -> epoch seconds (UTC), or nil.
local function parse_amz_date(s)
  local y, mo, d, h, mi, se = (s or ""):match("^(%d%d%d%d)(%d%d)(%d%d)T(%d%d)(%d%d)(%d%d)Z$")
  if not y then return nil end
  local t = { year = tonumber(y), month = tonumber(mo), day = tonumber(d),
              hour = tonumber(h), min = tonumber(mi), sec = tonumber(se), isdst = false }
  -- os.time reads the table as local time: correct by the zone's offset.
  local local_t = os_time(t)
  local utc_as_local = os_time(os_date("!*t", local_t))
  return local_t + (local_t - utc_as_local)
end
_M.parse_amz_date = parse_amz_date

local function failure(service, kind, detail)
  local s3 = service == "s3"
  local code, message
  if kind == "missing" then
    code = s3 and "AccessDenied" or "MissingAuthenticationTokenException"
    message = s3 and "Anonymous access is not allowed: sign the request with SigV4"
      or "Missing Authentication Token"
  elseif kind == "key" then
    code = s3 and "InvalidAccessKeyId" or "UnrecognizedClientException"
    message = s3 and "The AWS Access Key Id you provided does not exist in our records."
      or "The security token included in the request is invalid."
  elseif kind == "signature" then
    code = s3 and "SignatureDoesNotMatch" or "InvalidSignatureException"
    message = "The request signature we calculated does not match the signature you provided. "
      .. "Check your AWS Secret Access Key and signing method."
  elseif kind == "skew" then
    code = s3 and "RequestTimeTooSkewed" or "InvalidSignatureException"
    message = detail
  else
    code = s3 and "AuthorizationHeaderMalformed" or "IncompleteSignatureException"
    message = detail
  end
  return nil, { code = code, status = s3 and kind ~= "malformed" and 403 or (kind == "malformed" and 400 or 403),
                message = message, service = service }
end

-- The service a request is for, from its credential scope (so an
-- unverifiable request still gets errors in its service's format).
function _M.service_of(req)
  local h = req.headers
  local a = h.authorization
  local svc = a and a:match("Credential=[^/,]+/%d+/[^/,]+/([^/,]+)/aws4_request")
  if not svc and req.query then
    local cred = req.query:match("X%-Amz%-Credential=([^&]+)")
    if cred then
      svc = cred:gsub("%%2F", "/"):gsub("%%2f", "/"):match("^[^/]+/%d+/[^/]+/([^/]+)/")
    end
  end
  if svc then return svc end
  if h["x-amz-target"] then return "personalize" end
  return h["x-amz-content-sha256"] and "s3" or nil
end

local function query_param(query, name)
  if not query then return nil end
  for k, v in query:gmatch("([^&=]+)=?([^&]*)") do
    if k == name then
      return (v:gsub("%%(%x%x)", function(x) return string.char(tonumber(x, 16)) end))
    end
  end
end

-- Removes X-Amz-Signature from a presigned URL's query.
local function strip_signature(query)
  local parts = {}
  for p in query:gmatch("[^&]+") do
    if not p:find("^X%-Amz%-Signature=") then parts[#parts + 1] = p end
  end
  return table.concat(parts, "&")
end

function _M.verify(req, keys, now, body_sha256)
  local h = req.headers
  local service = _M.service_of(req) or "personalize"
  local authz = h.authorization
  local presigned = not authz and req.query and req.query:find("X-Amz-Signature=", 1, true)
  local akid, scope_date, region, scope_service, signed_list, signature, amz_date
  if authz then
    local cred
    cred, signed_list, signature = authz:match(
      "^AWS4%-HMAC%-SHA256%s+Credential=([^,%s]+),%s*SignedHeaders=([^,%s]+),%s*Signature=(%x+)%s*$")
    if not cred then return failure(service, "malformed", "Authorization header is malformed: " .. authz:sub(1, 80)) end
    akid, scope_date, region, scope_service = cred:match("^([^/]+)/(%d+)/([^/]+)/([^/]+)/aws4_request$")
    if not akid then return failure(service, "malformed", "Credential scope is malformed: " .. cred) end
    amz_date = h["x-amz-date"]
  elseif presigned then
    local cred = query_param(req.query, "X-Amz-Credential") or ""
    akid, scope_date, region, scope_service = cred:match("^([^/]+)/(%d+)/([^/]+)/([^/]+)/aws4_request$")
    signed_list = query_param(req.query, "X-Amz-SignedHeaders")
    signature = query_param(req.query, "X-Amz-Signature")
    amz_date = query_param(req.query, "X-Amz-Date")
    if not akid or not signed_list or not signature then
      return failure(service, "malformed", "presigned URL is missing X-Amz-Credential, X-Amz-SignedHeaders or X-Amz-Signature")
    end
  else
    return failure(service, "missing")
  end
  service = scope_service

  local secret = keys[akid]
  if not secret then return failure(service, "key") end

  local t = parse_amz_date(amz_date)
  if not t then return failure(service, "malformed", "X-Amz-Date is missing or malformed") end
  if amz_date:sub(1, 8) ~= scope_date then
    return failure(service, "malformed", "the credential scope date " .. scope_date
      .. " does not match X-Amz-Date " .. amz_date)
  end
  if presigned then
    local expires = tonumber(query_param(req.query, "X-Amz-Expires") or "")
    if not expires or now > t + expires then
      return failure(service, "skew", "Request has expired")
    end
  elseif math.abs(now - t) > MAX_SKEW then
    local msg = service == "s3" and "The difference between the request time and the current time is too large."
      or ("Signature expired: %s is now earlier than %s (%s - 15 min.)"):format(
        amz_date, os_date("!%Y%m%dT%H%M%SZ", math.floor(now - MAX_SKEW)), os_date("!%Y%m%dT%H%M%SZ", math.floor(now)))
    return failure(service, "skew", msg)
  end

  local signed = {}
  for name in signed_list:gmatch("[^;]+") do
    local v = h[name]
    if v == nil then
      return failure(service, "signature")
    end
    signed[name] = v
  end

  local payload
  local s3 = service == "s3"
  if presigned then
    payload = "UNSIGNED-PAYLOAD"
  elseif s3 then
    payload = h["x-amz-content-sha256"]
    if not payload then
      return failure(service, "malformed", "Missing required header for this request: x-amz-content-sha256")
    end
  else
    payload = body_sha256 or (req.body and req.body ~= "" and core.sha256_hex(req.body)) or EMPTY_SHA256
  end

  local query = req.query
  if presigned then query = strip_signature(query) end
  local _, expected = signer:sign(req.method, req.path, query ~= "" and query or nil, signed, payload,
    akid, secret, amz_date, region, scope_service, not s3, not s3, false)
  if expected ~= signature:lower() then return failure(service, "signature") end
  return { access_key_id = akid, service = service, region = region, payload = payload }
end

return _M
