-- AWS Signature Version 4: the stable signing API of lua-personalize.
--
--   local headers = sigv4.sign{ method, url, headers, body, region, service,
--     credentials = { access_key_id, secret_access_key, session_token },
--     time, normalize_path, double_encode, payload, content_sha256_header,
--     omit_session_token }
--   local url = sigv4.presign{ ...same fields..., expires = 3600 }
--   local creq = sigv4.canonical_request{...}
--   local sts  = sigv4.string_to_sign{...}
--
-- The canonicalisation, hashing and key derivation happen in C
-- (personalize.core); this module turns a request description into the
-- signer's arguments and the signer's answer into headers or a URL.
-- Misuse (missing fields, wrong types) raises; nothing here does I/O.
local core = require "personalize.core"
local codec = require "personalize.codec"

local type, pairs, tostring, error = type, pairs, tostring, error
local os_date, os_time = os.date, os.time
local str_lower, str_format = string.lower, string.format
local concat, sort = table.concat, table.sort

local _M = {}

local EMPTY_SHA256 = codec.EMPTY_SHA256
_M.EMPTY_SHA256 = EMPTY_SHA256
_M.UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"

-- One signer per Lua state: it caches derived keys per (secret, date,
-- region, service) and reuses its buffers.
local signer = core.signer()

local DEFAULT_PORT = { http = "80", https = "443" }

-- Splits an absolute URL into scheme, authority (host[:port]), path and
-- query. Lenient about the bytes of the path: they are encoded when signed.
function _M.parse_url(url)
  local scheme, rest = url:match("^(%a[%w+.-]*)://(.*)$")
  if not scheme then return nil, "not an absolute URL: " .. tostring(url) end
  local authority, path = rest:match("^([^/?#]*)(.*)$")
  local query
  local q = path:find("?", 1, true)
  if q then
    path, query = path:sub(1, q - 1), path:sub(q + 1)
  end
  local frag = (query or path):find("#", 1, true)
  if frag then
    if query then query = query:sub(1, frag - 1) else path = path:sub(1, frag - 1) end
  end
  if path == "" then path = "/" end
  scheme = str_lower(scheme)
  local host, port = authority:match("^(.-):(%d+)$")
  if not host then host = authority end
  if host == "" then return nil, "URL has no host: " .. url end
  return { scheme = scheme, host = str_lower(host), port = port,
           path = path, query = query }
end

-- The Host header for a parsed URL: the port only when not the default.
function _M.host_header(u)
  if u.port and u.port ~= DEFAULT_PORT[u.scheme] then
    return u.host .. ":" .. u.port
  end
  return u.host
end

-- X-Amz-Date for epoch seconds `t` (default now).
function _M.amz_date(t)
  return os_date("!%Y%m%dT%H%M%SZ", t or os_time())
end

-- RFC 3986 encoding of a query component: only unreserved bytes stay.
local function encode_component(s)
  return (s:gsub("[^%w%-%._~]", function(c) return str_format("%%%02X", c:byte()) end))
end
_M.encode_component = encode_component

local function find_header(headers, lname)
  for k, v in pairs(headers) do
    if str_lower(k) == lname then return k, v end
  end
end

local function check_request(req)
  if type(req) ~= "table" then error("sigv4: request table expected", 3) end
  for _, field in ipairs { "method", "url", "region", "service" } do
    if type(req[field]) ~= "string" then
      error("sigv4: request." .. field .. " must be a string", 3)
    end
  end
  local c = req.credentials
  if type(c) ~= "table" or type(c.access_key_id) ~= "string"
      or type(c.secret_access_key) ~= "string" then
    error("sigv4: request.credentials needs access_key_id and secret_access_key", 3)
  end
end

-- Runs the signer over `req`. Returns the headers to send (a new table),
-- the parsed URL, the signature results and, with `debug`, the canonical
-- request and string to sign. `presign` moves the auth into the query.
local function run(req, presign, debug)
  check_request(req)
  local u, err = _M.parse_url(req.url)
  if not u then error("sigv4: " .. err, 3) end
  local creds = req.credentials
  local token = creds.session_token
  local headers = {}
  for k, v in pairs(req.headers or {}) do
    if type(v) == "number" then v = tostring(v) end
    headers[k] = v
  end
  local signed = {}      -- the headers handed to the signer
  if not find_header(headers, "host") then headers.Host = _M.host_header(u) end

  local date_name, date = find_header(headers, "x-amz-date")
  if presign then
    if date_name then headers[date_name] = nil end
    date = _M.amz_date(req.time)
  elseif not date then
    date = _M.amz_date(req.time)
    headers["X-Amz-Date"] = date
  end

  local payload = req.payload
  if not payload then
    local body = req.body or ""
    payload = body == "" and EMPTY_SHA256 or core.sha256_hex(body)
  end
  if req.content_sha256_header and not presign then
    headers["X-Amz-Content-Sha256"] = payload
  end
  if token and not presign and not req.omit_session_token then
    headers["X-Amz-Security-Token"] = token
  end
  for k, v in pairs(headers) do signed[k] = v end
  if token and not presign and req.omit_session_token then
    headers["X-Amz-Security-Token"] = token    -- sent, but not signed
  end

  local query = u.query
  if presign then
    -- SigV4 query authentication allows 1 second to 7 days.
    local expires = req.expires or 3600
    if type(expires) ~= "number" or expires < 1 or expires > 604800 or expires % 1 ~= 0 then
      error("sigv4: expires must be a whole number of seconds from 1 to 604800", 3)
    end
    local names = {}
    for k in pairs(signed) do names[#names + 1] = str_lower(k) end
    sort(names)
    local scope = concat({ date:sub(1, 8), req.region, req.service, "aws4_request" }, "/")
    local params = {
      "X-Amz-Algorithm=AWS4-HMAC-SHA256",
      "X-Amz-Credential=" .. encode_component(creds.access_key_id .. "/" .. scope),
      "X-Amz-Date=" .. date,
      "X-Amz-Expires=" .. str_format("%d", expires),
      "X-Amz-SignedHeaders=" .. encode_component(concat(names, ";")),
    }
    if token and not req.omit_session_token then
      params[#params + 1] = "X-Amz-Security-Token=" .. encode_component(token)
    end
    local added = concat(params, "&")
    query = (query and query ~= "") and (query .. "&" .. added) or added
  end

  local normalize = req.normalize_path ~= false
  local double = req.double_encode ~= false
  local authorization, signature, signed_headers, creq, sts = signer:sign(
    req.method, u.path, query, signed, payload, creds.access_key_id,
    creds.secret_access_key, date, req.region, req.service,
    normalize, double, debug)
  return {
    headers = headers, url = u, query = query, authorization = authorization,
    signature = signature, signed_headers = signed_headers,
    canonical_request = creq, string_to_sign = sts, token = token,
  }
end

-- Signs `req` and returns the headers to send: the given ones plus Host,
-- X-Amz-Date, Authorization, and X-Amz-Security-Token / X-Amz-Content-Sha256
-- when asked for. Raises on misuse.
function _M.sign(req)
  local r = run(req, false, false)
  r.headers.Authorization = r.authorization
  return r.headers
end

-- A presigned URL (query-string authentication) valid for `expires` seconds.
function _M.presign(req)
  local r = run(req, true, false)
  local u = r.url
  local url = u.scheme .. "://" .. _M.host_header(u) .. u.path .. "?" .. r.query
      .. "&X-Amz-Signature=" .. r.signature
  if r.token and req.omit_session_token then
    url = url .. "&X-Amz-Security-Token=" .. encode_component(r.token)
  end
  return url
end

-- SigV4 Task 1 for `req` (with `req.presign` true: the query-string form).
function _M.canonical_request(req)
  return (run(req, req.presign, true).canonical_request)
end

-- SigV4 Task 2 for `req`.
function _M.string_to_sign(req)
  return (run(req, req.presign, true).string_to_sign)
end

-- The signer's full answer; for specs and tools.
_M.run = run

-- The Authorization header for a request the caller has fully prepared
-- (Host and X-Amz-Date among `headers`): the send step's hot path, with no
-- URL parsing and no copies. Path normalisation and double encoding on,
-- unless `s3` (S3 signs its canonical URI as sent).
function _M.authorize(method, path, query, headers, payload_hash, creds, amz_date, region, service, s3)
  local plain = not s3
  return (signer:sign(method, path, query, headers, payload_hash, creds.access_key_id,
    creds.secret_access_key, amz_date, region, service, plain, plain, false))
end

return _M
