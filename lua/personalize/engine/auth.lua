-- SigV4 verification of the requests personalize-local receives.
--
--   local ctx, err = auth.verify(req, {
--     keys = { [akid] = secret },          -- long-term key pairs
--     sessions = function(akid) end,       -- temporary keys: { secret =, token =,
--                                          -- expiration =, arn = } or nil
--     now = epoch_seconds, region = "us-east-1",
--     services = { personalize = true, s3 = true, sts = true },
--   })
--   -- ctx = { access_key_id, service, region, payload, signature, amz_date,
--   --         scope, signing_key (raw; streaming uploads only), session }
--   -- err = { code =, status =, message =, service =, fields = { {name, value}, ... } }
--   local sig = auth.chunk_signature(ctx, previous_signature, chunk_sha256_hex)
--   local sig = auth.trailer_signature(ctx, previous_signature, trailer_text)
--
-- What is checked, as AWS does (Signature Version 4 documentation,
-- "Create a signed AWS API request" and S3's "Authenticating Requests"):
--   * the Authorization header or the X-Amz-* query parameters are well
--     formed; the credential scope is <date>/<region>/<service>/aws4_request
--     with the request's date, the engine's region and a service it serves;
--   * SignedHeaders includes host and every x-amz-* header the request
--     carries ("The host header must be included as a signed header ... If
--     you plan to include any of the x-amz-* headers, these headers must
--     also be included for signature calculation"); for S3 with the
--     Authorization header also Content-Type when sent ("If the Content-Type
--     header is present in the request, you must add it to the
--     CanonicalHeaders list");
--   * the key pair is known; a session token is accepted only with the
--     temporary key it was issued with (and never with a long-term key);
--   * the date is within 15 minutes of now (header form), or a presigned
--     URL is within its X-Amz-Expires (1 to 604800 seconds) and not dated
--     in the future;
--   * the signature, recomputed over the headers the request lists, the
--     path as it came on the wire and the payload hash: the body's SHA-256
--     for the JSON and query services; for S3 X-Amz-Content-Sha256, which
--     must be the body's SHA-256 (checked against the body or the file it
--     was spooled to), UNSIGNED-PAYLOAD, or a streaming value whose chunk
--     signatures the S3 layer checks with chunk_signature().
-- Error codes follow the service: the JSON services answer
-- MissingAuthenticationTokenException / UnrecognizedClientException /
-- InvalidSignatureException / IncompleteSignatureException /
-- ExpiredTokenException, S3 AccessDenied / InvalidAccessKeyId / InvalidToken
-- / ExpiredToken / SignatureDoesNotMatch / RequestTimeTooSkewed /
-- AuthorizationHeaderMalformed / AuthorizationQueryParametersError /
-- XAmzContentSHA256Mismatch / InvalidArgument, STS InvalidClientTokenId /
-- SignatureDoesNotMatch / ExpiredToken. verify never raises.
local core = require "personalize.core"

local os_date = os.date
local utc_time = require("personalize.codec").utc_time
local tonumber, tostring, type, pcall = tonumber, tostring, type, pcall
local floor, abs = math.floor, math.abs
local concat = table.concat
local fmt = string.format

local _M = {}

local signer = core.signer()
local MAX_SKEW = 15 * 60
local MAX_EXPIRES = 604800
_M.MAX_SKEW = MAX_SKEW
_M.MAX_EXPIRES = MAX_EXPIRES

local EMPTY_SHA256 = require("personalize.codec").EMPTY_SHA256
_M.EMPTY_SHA256 = EMPTY_SHA256

-- The payload hashes S3 takes besides a body's SHA-256.
local S3_PAYLOADS = {
  ["UNSIGNED-PAYLOAD"] = true,
  ["STREAMING-AWS4-HMAC-SHA256-PAYLOAD"] = true,
  ["STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"] = true,
  ["STREAMING-UNSIGNED-PAYLOAD-TRAILER"] = true,
}

-- "20150830T123600Z" -> epoch seconds (UTC), or nil.
local function parse_amz_date(s)
  local y, mo, d, h, mi, se = (type(s) == "string" and s or ""):match(
    "^(%d%d%d%d)(%d%d)(%d%d)T(%d%d)(%d%d)(%d%d)Z$")
  if not y then return nil end
  local t = { year = tonumber(y), month = tonumber(mo), day = tonumber(d),
              hour = tonumber(h), min = tonumber(mi), sec = tonumber(se), isdst = false }
  if t.month < 1 or t.month > 12 or t.day < 1 or t.day > 31 or t.hour > 23 or t.min > 59 or t.sec > 60 then
    return nil
  end
  return utc_time(t.year, t.month, t.day, t.hour, t.min, t.sec)
end
_M.parse_amz_date = parse_amz_date

local function stamp(t)
  return os_date("!%Y%m%dT%H%M%SZ", floor(t))
end

-- Codes and statuses per service for each kind of failure.
local CODES = {
  -- kind =   { JSON services, S3, STS }
  missing   = { { "MissingAuthenticationTokenException", 403 }, { "AccessDenied", 403 },
                { "MissingAuthenticationToken", 403 } },
  key       = { { "UnrecognizedClientException", 403 },         { "InvalidAccessKeyId", 403 },          { "InvalidClientTokenId", 403 } },
  token     = { { "UnrecognizedClientException", 403 },         { "InvalidToken", 400 },                { "InvalidClientTokenId", 403 } },
  expired_token = { { "ExpiredTokenException", 403 },           { "ExpiredToken", 400 },                { "ExpiredToken", 403 } },
  signature = { { "InvalidSignatureException", 403 },           { "SignatureDoesNotMatch", 403 },       { "SignatureDoesNotMatch", 403 } },
  skew      = { { "InvalidSignatureException", 403 },           { "RequestTimeTooSkewed", 403 },        { "SignatureDoesNotMatch", 403 } },
  scope     = { { "InvalidSignatureException", 403 },           { "AuthorizationHeaderMalformed", 400 }, { "SignatureDoesNotMatch", 403 } },
  unsigned  = { { "InvalidSignatureException", 403 },           { "AccessDenied", 403 },                { "SignatureDoesNotMatch", 403 } },
  malformed = { { "IncompleteSignatureException", 400 },        { "AuthorizationHeaderMalformed", 400 }, { "IncompleteSignature", 400 } },
  query     = { { "IncompleteSignatureException", 400 },        { "AuthorizationQueryParametersError", 400 },
                { "IncompleteSignature", 400 } },
  presign   = { { "InvalidSignatureException", 403 },           { "AccessDenied", 403 },                { "AccessDenied", 403 } },
  payload   = { { "InvalidSignatureException", 400 },           { "XAmzContentSHA256Mismatch", 400 },   { "SignatureDoesNotMatch", 403 } },
  argument  = { { "InvalidSignatureException", 400 },           { "InvalidArgument", 400 },             { "InvalidParameterValue", 400 } },
  v2        = { { "IncompleteSignatureException", 400 },        { "InvalidRequest", 400 },              { "IncompleteSignature", 400 } },
}

local DEFAULT_MESSAGES = {
  missing = { "Missing Authentication Token", "Access Denied", "Request is missing Authentication Token" },
  key = { "The security token included in the request is invalid.",
          "The AWS Access Key Id you provided does not exist in our records.",
          "The security token included in the request is invalid." },
  token = { "The security token included in the request is invalid.",
            "The provided token is malformed or otherwise invalid.",
            "The security token included in the request is invalid." },
  expired_token = { "The security token included in the request is expired",
                    "The provided token has expired.",
                    "The security token included in the request is expired" },
  signature = {
    "The request signature we calculated does not match the signature you provided. "
      .. "Check your AWS Secret Access Key and signing method. Consult the service documentation for details.",
    "The request signature we calculated does not match the signature you provided. "
      .. "Check your key and signing method.",
    "The request signature we calculated does not match the signature you provided. "
      .. "Check your AWS Secret Access Key and signing method. Consult the service documentation for details." },
}

local function which(service)
  if service == "s3" then return 2 end
  if service == "sts" then return 3 end
  return 1
end

local function failure(service, kind, message, fields)
  local i = which(service)
  local c = CODES[kind][i]
  return nil, { code = c[1], status = c[2], service = service, fields = fields,
                message = message or DEFAULT_MESSAGES[kind][i] }
end
_M.failure = failure

-- The service a request is for, from its credential scope (so an
-- unverifiable request still gets errors in its service's format), else
-- from its shape: X-Amz-Target or a JSON body means a JSON service, a
-- form body with Action= STS, anything else S3.
function _M.service_of(req)
  local h = req.headers
  local a = h.authorization
  local svc = type(a) == "string" and a:match("Credential=[^/,]+/%d+/[^/,]+/([^/,]+)/aws4_request")
  if not svc and req.query then
    local cred = req.query:match("X%-Amz%-Credential=([^&]+)")
    if cred then
      svc = cred:gsub("%%2[Ff]", "/"):match("^[^/]+/%d+/[^/]+/([^/]+)/")
    end
  end
  if svc then return svc end
  if h["x-amz-target"] then return "personalize" end
  return nil
end

local function percent_decode(s)
  return (s:gsub("%%(%x%x)", function(x) return string.char(tonumber(x, 16)) end))
end

local function query_param(query, name)
  if not query then return nil end
  for k, v in query:gmatch("([^&=]+)=?([^&]*)") do
    if k == name then return percent_decode(v) end
  end
end

-- Removes X-Amz-Signature from a presigned URL's query.
local function strip_signature(query)
  local parts = {}
  for p in query:gmatch("[^&]+") do
    if not p:find("^X%-Amz%-Signature=") then parts[#parts + 1] = p end
  end
  return concat(parts, "&")
end

-- The SigV4 signing key for a scope (raw bytes).
local function signing_key(secret, date8, region, service)
  local k = core.hmac_sha256("AWS4" .. secret, date8)
  k = core.hmac_sha256(k, region)
  k = core.hmac_sha256(k, service)
  return core.hmac_sha256(k, "aws4_request")
end
_M.signing_key = signing_key

-- The signature of one chunk of an aws-chunked upload (S3's "Signature
-- Calculations for the Authorization Header: Transferring Payload in
-- Multiple Chunks"): chained from the previous chunk's (the seed is the
-- request's own signature).
function _M.chunk_signature(ctx, previous, chunk_sha256_hex)
  local sts = concat({ "AWS4-HMAC-SHA256-PAYLOAD", ctx.amz_date, ctx.scope, previous,
    EMPTY_SHA256, chunk_sha256_hex }, "\n")
  return core.hex(core.hmac_sha256(ctx.signing_key, sts))
end

-- The signature of the trailing headers of a signed aws-chunked upload
-- with trailers: `trailer_text` is the trailer lines, each "name:value\n".
function _M.trailer_signature(ctx, previous, trailer_text)
  local sts = concat({ "AWS4-HMAC-SHA256-TRAILER", ctx.amz_date, ctx.scope, previous,
    core.sha256_hex(trailer_text) }, "\n")
  return core.hex(core.hmac_sha256(ctx.signing_key, sts))
end

-- SHA-256 hex of the request body, in memory or spooled to a file.
local function body_sha256(req)
  if req.body ~= nil then
    return req.body == "" and EMPTY_SHA256 or core.sha256_hex(req.body)
  end
  if req.body_file then return core.sha256_file(req.body_file) end
  return EMPTY_SHA256
end
_M.body_sha256 = body_sha256

local function scope_failure(service, presigned, message, fields)
  if service == "s3" and presigned then return failure(service, "query", message, fields) end
  return failure(service, "scope", message, fields)
end

local function verify(req, opts)
  local h = req.headers
  local service = _M.service_of(req) or "s3"
  local authz = h.authorization
  local presigned = authz == nil and req.query ~= nil
    and (req.query:find("X-Amz-Signature=", 1, true) or req.query:find("X-Amz-Credential=", 1, true)) ~= nil
  local akid, scope_date, region, scope_service, signed_list, signature, amz_date, token
  -- Signature Version 2 (the AWS CLI's `s3 presign` default in us-east-1):
  -- refused as S3 refuses it for buckets created since June 2020.
  if (authz and authz:find("^AWS ")) or (not authz and req.query
      and req.query:find("AWSAccessKeyId=", 1, true) and req.query:find("Signature=", 1, true)) then
    return failure(service, "v2", "The authorization mechanism you have provided is not supported. "
      .. "Please use AWS4-HMAC-SHA256.")
  end
  if authz then
    local cred
    cred, signed_list, signature = authz:match(
      "^AWS4%-HMAC%-SHA256%s+Credential=([^,%s]+),%s*SignedHeaders=([^,%s]+),%s*Signature=(%x+)%s*$")
    if not cred then
      return failure(service, "malformed", "Authorization header requires 'Credential', 'SignedHeaders' and "
        .. "'Signature' parameters with the AWS4-HMAC-SHA256 algorithm.")
    end
    akid, scope_date, region, scope_service = cred:match("^([^/]+)/(%d%d%d%d%d%d%d%d)/([^/]+)/([^/]+)/aws4_request$")
    if not akid then return failure(service, "malformed", "Credential scope is malformed: " .. cred:sub(1, 200)) end
    amz_date = h["x-amz-date"]
    token = h["x-amz-security-token"]
  elseif presigned then
    local algorithm = query_param(req.query, "X-Amz-Algorithm")
    local cred = query_param(req.query, "X-Amz-Credential") or ""
    akid, scope_date, region, scope_service = cred:match("^([^/]+)/(%d%d%d%d%d%d%d%d)/([^/]+)/([^/]+)/aws4_request$")
    signed_list = query_param(req.query, "X-Amz-SignedHeaders")
    signature = query_param(req.query, "X-Amz-Signature")
    amz_date = query_param(req.query, "X-Amz-Date")
    token = query_param(req.query, "X-Amz-Security-Token")
    if algorithm ~= "AWS4-HMAC-SHA256" or not akid or not signed_list or not signature
        or not signature:match("^%x+$") then
      return failure(service, "query", "Query-string authentication version 4 requires the X-Amz-Algorithm, "
        .. "X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.")
    end
  else
    return failure(service, "missing")
  end
  service = scope_service
  if not opts.services[service] then
    return failure(service, "scope", fmt("Credential should be scoped to correct service: '%s'. ",
      h["x-amz-target"] and "personalize" or "s3"))
  end

  -- The key pair: long-term, or temporary with the token it was issued with.
  local secret, session = opts.keys[akid], nil
  if secret then
    if token ~= nil then return failure(service, "token") end
  else
    session = opts.sessions and opts.sessions(akid)
    if not session then return failure(service, token and "token" or "key") end
    if token == nil or token ~= session.token then return failure(service, "token") end
    secret = session.secret
  end

  local t = parse_amz_date(amz_date)
  if not t then
    if presigned then
      return failure(service, "query", "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"")
    end
    return failure(service, "malformed", service == "s3"
      and "AWS authentication requires a valid Date or x-amz-date header"
      or "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")
  end
  if amz_date:sub(1, 8) ~= scope_date then
    if service == "s3" then
      return scope_failure(service, presigned, (presigned and "Error parsing the X-Amz-Credential parameter; "
        or "The authorization header is malformed; ") .. "Invalid credential date. Date is not the same as X-Amz-Date.")
    end
    return failure(service, "scope", fmt("Date in Credential scope does not match YYYYMMDD from ISO-8601 "
      .. "version of date from HTTP: '%s' != '%s', from '%s'.", scope_date, amz_date:sub(1, 8), amz_date))
  end
  if region ~= opts.region then
    if service == "s3" then
      return scope_failure(service, presigned, fmt("%s the region '%s' is wrong; expecting '%s'",
        presigned and "Error parsing the X-Amz-Credential parameter;" or "The authorization header is malformed;",
        region, opts.region), { { "Region", opts.region } })
    end
    return failure(service, "scope", fmt("Credential should be scoped to a valid region, not '%s'. ", region))
  end

  local now = opts.now
  if presigned then
    local raw = query_param(req.query, "X-Amz-Expires")
    local expires = raw and raw:match("^%d+$") and tonumber(raw)
    if not expires then return failure(service, "query", "X-Amz-Expires should be a number") end
    if expires > MAX_EXPIRES then
      return failure(service, "query", "X-Amz-Expires must be less than a week (in seconds) that is 604800")
    end
    if t > now + MAX_SKEW then return failure(service, "presign", "Request is not valid yet") end
    if now > t + expires then
      return failure(service, "presign", "Request has expired", {
        { "X-Amz-Expires", raw }, { "Expires", os_date("!%Y-%m-%dT%H:%M:%SZ", t + expires) },
        { "ServerTime", os_date("!%Y-%m-%dT%H:%M:%SZ", floor(now)) } })
    end
  elseif abs(now - t) > MAX_SKEW then
    local msg = service == "s3" and "The difference between the request time and the current time is too large."
      or fmt("Signature expired: %s is now earlier than %s (%s - 15 min.)",
        amz_date, stamp(now - MAX_SKEW), stamp(now))
    return failure(service, "skew", msg, service == "s3"
      and { { "RequestTime", amz_date }, { "ServerTime", os_date("!%Y-%m-%dT%H:%M:%SZ", floor(now)) },
            { "MaxAllowedSkewMilliseconds", "900000" } } or nil)
  end
  if session and session.expiration and now >= session.expiration then
    return failure(service, "expired_token")
  end

  -- SignedHeaders: sorted lower-case names; host and every x-amz-* header sent.
  local signed, listed = {}, {}
  for name in signed_list:gmatch("[^;]+") do
    local v = h[name]
    if v == nil then
      return failure(service, "signature")
    end
    signed[name] = v
    listed[name] = true
  end
  local unsigned = {}
  if not listed.host then unsigned[1] = "host" end
  for name in pairs(h) do
    if not listed[name] and (name:sub(1, 6) == "x-amz-"
        or (name == "content-type" and service == "s3" and not presigned)) then
      unsigned[#unsigned + 1] = name
    end
  end
  if #unsigned > 0 then
    table.sort(unsigned)
    local names = concat(unsigned, ";")
    if service == "s3" then
      return failure(service, "unsigned", "There were headers present in the request which were not signed",
        { { "HeadersNotSigned", names } })
    end
    return failure(service, "unsigned", fmt("'Host' and every 'x-amz-*' header sent must be a 'SignedHeader' "
      .. "in the AWS Authorization; not signed: %s", names))
  end

  local payload
  local s3 = service == "s3"
  if presigned then
    payload = s3 and "UNSIGNED-PAYLOAD" or body_sha256(req)
  elseif s3 then
    payload = h["x-amz-content-sha256"]
    if not payload then
      return failure(service, "argument", "Missing required header for this request: x-amz-content-sha256")
    end
    if payload:match("^%x+$") and #payload == 64 then
      payload = payload:lower()
    elseif not S3_PAYLOADS[payload] then
      return failure(service, "argument", "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, "
        .. "STREAMING-UNSIGNED-PAYLOAD-TRAILER, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, "
        .. "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER or a valid sha256 value.")
    end
  else
    payload = body_sha256(req)
  end

  local query = req.query
  if presigned then query = strip_signature(query) end
  local ok, _, expected = pcall(signer.sign, signer, req.method, req.path, query ~= "" and query or nil, signed,
    payload, akid, secret, amz_date, region, scope_service, not s3, not s3, false)
  if not ok or expected ~= signature:lower() then return failure(service, "signature") end

  -- The signature covers the payload hash; for S3 the body must match it.
  if s3 and not presigned and #payload == 64 then
    local actual, herr = body_sha256(req)
    if not actual then return nil, { code = "InternalError", status = 500, service = service, message = herr } end
    if actual ~= payload then
      return failure(service, "payload", "The provided 'x-amz-content-sha256' header does not match what was computed.",
        { { "ClientComputedContentSHA256", payload }, { "S3ComputedContentSHA256", actual } })
    end
  end

  local ctx = { access_key_id = akid, service = service, region = region, payload = payload,
    signature = signature:lower(), amz_date = amz_date, session = session,
    scope = concat({ scope_date, region, scope_service, "aws4_request" }, "/") }
  if payload:sub(1, 22) == "STREAMING-AWS4-HMAC-SH" then
    ctx.signing_key = signing_key(secret, scope_date, region, scope_service)
  end
  return ctx
end

-- The verifier without its safety net, for fuzz/fuzz_engine_auth.lua: it
-- raises where verify() answers InternalFailure, which must never happen.
_M._verify = verify

-- verify(req, opts) -> ctx | nil, err (see the top); never raises.
function _M.verify(req, opts)
  local ok, ctx, err = pcall(verify, req, opts)
  if not ok then
    return nil, { code = "InternalFailure", status = 500, service = _M.service_of(req) or "s3",
                  message = "personalize-local could not verify the signature: " .. tostring(ctx) }
  end
  return ctx, err
end

return _M
