-- The harness of fuzz_engine_auth: personalize-local's SigV4 verifier
-- (personalize.engine.auth) on requests built from the input.
--
-- Input: byte 1 is flags, then fields separated by 0xFF: method, path,
-- query, body, then header name, header value, ... (at most 32 headers).
--   bit 0  sign the request with the client's signer (personalize.sigv4)
--          over every header, as a client would; else send it as given
--   bit 1  service s3 (else personalize)
--   bit 2  presigned (query-string authentication; with bit 0 and bit 1)
--   bit 3  temporary credentials (an engine-issued key and token)
--   bit 4  scope the signature to another region
-- Invariants:
--   * the verifier never raises and answers a ctx, or nil and an error
--     with a code, a 4xx status and a message;
--   * a request signed by the client's signer with a known key, in
--     scope and on time, is accepted (both ends agree on SigV4);
--   * an accepted request is refused once its body (where the payload is
--     signed), a signed header's value, its path, its session token or
--     its SignedHeaders (host dropped) are changed afterwards;
--   * signed validly over all its headers but host, or one x-amz-* header
--     (for S3 also Content-Type), it is refused (the SignedHeaders rule);
--   * a signature scoped to another region is refused.
local auth = require "personalize.engine.auth"
local sigv4 = require "personalize.sigv4"
local core = require "personalize.core"

local NOW = 1440938160               -- 20150830T123600Z
local REGION = "us-east-1"
local SESSION = { secret = "fuzz/temporary/secret", token = "fuzz-session-token", expiration = NOW + 3600 }
local OPTS = {
  keys = { AKIDFUZZEXAMPLE = "fuzz/long-term/secret" },
  sessions = function(akid) if akid == "ASIAFUZZEXAMPLE" then return SESSION end end,
  now = NOW, region = REGION, services = { personalize = true, s3 = true, sts = true },
}
local low_signer = core.signer()
local RESERVED = { host = true, authorization = true, ["x-amz-date"] = true, ["content-length"] = true,
  ["x-amz-security-token"] = true, ["x-amz-content-sha256"] = true, ["transfer-encoding"] = true }

local function split(s)
  local out = {}
  for field in (s .. "\255"):gmatch("([^\255]*)\255") do out[#out + 1] = field end
  return out
end

local function check_answer(ctx, err)
  if ctx then
    assert(type(ctx) == "table" and type(ctx.service) == "string" and type(ctx.access_key_id) == "string",
      "a ctx without service or key")
    return true
  end
  assert(type(err) == "table", "no ctx and no error")
  assert(type(err.code) == "string" and err.code ~= "", "an error without a code")
  assert(type(err.message) == "string", "an error without a message")
  assert(err.status == 400 or err.status == 403, "status " .. tostring(err.status) .. " for " .. err.code)
  return false
end

local function verify(req)
  return check_answer(auth._verify(req, OPTS))
end

local function copy(req)
  local h = {}
  for k, v in pairs(req.headers) do h[k] = v end
  return { method = req.method, path = req.path, query = req.query, headers = h, body = req.body }
end

local function refused(req, what)
  assert(not verify(req), "accepted after changing " .. what)
end

-- Keeps what a client could send as such: tokens of the path, query and
-- header names, printable header values.
local function clean(s, allowed, default)
  s = s:gsub("[^" .. allowed .. "]", "")
  if s == "" then return default end
  return s
end

return function(data)
  local flags = data:byte(1) or 0
  local fields = split(data:sub(2))
  local method, path, query, body = fields[1] or "", fields[2] or "", fields[3], fields[4] or ""
  local bit = function(n) return math.floor(flags / 2 ^ n) % 2 == 1 end
  local s3 = bit(1)

  if not bit(0) then
    -- As given: anything may come in; nothing may raise.
    local headers = {}
    for i = 5, math.min(#fields, 68), 2 do
      headers[fields[i]:lower()] = fields[i + 1] or ""
    end
    verify { method = method, path = path, query = query ~= "" and query or nil, headers = headers, body = body }
    return
  end

  -- Signed by the client's signer.
  method = clean(method:upper(), "A-Z", "POST")
  path = "/" .. clean(path, "A-Za-z0-9/._~-", "")
  query = clean(query or "", "A-Za-z0-9=&._~-", nil)
  if query and bit(2) then
    -- a presigned URL's own parameters are the signer's to add
    local kept = {}
    for p in query:gmatch("[^&]+") do
      if not p:lower():find("^x%-amz%-") then kept[#kept + 1] = p end
    end
    query = #kept > 0 and table.concat(kept, "&") or nil
  end
  local creds = bit(3) and { access_key_id = "ASIAFUZZEXAMPLE", secret_access_key = SESSION.secret,
                             session_token = SESSION.token }
    or { access_key_id = "AKIDFUZZEXAMPLE", secret_access_key = OPTS.keys.AKIDFUZZEXAMPLE }
  local headers = {}
  for i = 5, math.min(#fields, 68), 2 do
    local name = clean(fields[i]:lower(), "a-z0-9-", "x-fuzz")
    if not RESERVED[name] then headers[name] = clean(fields[i + 1] or "", "\32-\126", "v") end
  end
  if s3 then headers["x-amz-content-sha256"] = core.sha256_hex(body) end
  local url = "http://127.0.0.1:8642" .. path .. (query and ("?" .. query) or "")
  local region = bit(4) and "eu-west-1" or REGION
  local sign = {
    method = method, url = url, headers = headers, body = body, region = region,
    service = s3 and "s3" or "personalize", credentials = creds, time = NOW,
    normalize_path = not s3, double_encode = not s3,
    payload = s3 and headers["x-amz-content-sha256"] or nil,
  }
  local req
  if s3 and bit(2) then
    sign.headers, sign.payload, sign.expires = {}, "UNSIGNED-PAYLOAD", 3600
    local signed_url = sigv4.presign(sign)
    local p, q = signed_url:match("^http://[^/]+([^?]*)%?(.*)$")
    req = { method = method, path = p, query = q, headers = { host = "127.0.0.1:8642" }, body = body }
  else
    local h = sigv4.sign(sign)
    local lower = {}
    for k, v in pairs(h) do lower[k:lower()] = v end
    req = { method = method, path = path, query = query, headers = lower, body = body }
  end

  local accepted = verify(req)
  if bit(4) then
    assert(not accepted, "accepted a signature scoped to another region")
    return
  end
  assert(accepted, "refused a request the client's signer signed")

  -- Changed after signing: each must be refused.
  local t = copy(req)
  t.path = req.path .. "x"
  refused(t, "the path")
  if not bit(2) then
    t = copy(req)
    t.body = body .. "x"
    refused(t, "the body")
    for name, v in pairs(req.headers) do
      if name ~= "authorization" then
        t = copy(req)
        t.headers[name] = v .. "x"
        refused(t, "header " .. name)
      end
    end
    t = copy(req)
    t.headers.authorization = req.headers.authorization:gsub("SignedHeaders=([^,%s]+)", function(list)
      local kept = {}
      for name in list:gmatch("[^;]+") do if name ~= "host" then kept[#kept + 1] = name end end
      return "SignedHeaders=" .. table.concat(kept, ";")
    end)
    refused(t, "SignedHeaders (host left out)")
    if bit(3) then
      t = copy(req)
      t.headers["x-amz-security-token"] = "forged"
      refused(t, "the session token")
    end
    -- Validly signed over fewer headers: every header is still sent, so
    -- only the SignedHeaders rule can refuse it.
    local function sign_without(omit)
      local subset = {}
      for k, v in pairs(req.headers) do
        if k ~= "authorization" and k ~= omit then subset[k] = v end
      end
      local payload = s3 and req.headers["x-amz-content-sha256"] or core.sha256_hex(req.body)
      t = copy(req)
      t.headers.authorization = low_signer:sign(req.method, req.path, req.query, subset, payload,
        creds.access_key_id, creds.secret_access_key, req.headers["x-amz-date"], REGION,
        s3 and "s3" or "personalize", not s3, not s3, false)
      return t
    end
    assert(verify(sign_without(nil)), "refused a request signed over all its headers")
    for name in pairs(req.headers) do
      if name == "host" or name:sub(1, 6) == "x-amz-" or (s3 and name == "content-type") then
        refused(sign_without(name), "its signature: " .. name .. " left unsigned")
      end
    end
  end
end
