-- Every case of AWS's two SigV4 test suites, stage by stage: canonical
-- request, string to sign, signature (and the presigned query form).
local sigv4 = require "personalize.sigv4"
local cjson = require "cjson"
local shared = require "support.shared"

local SUITE = shared.dir("sigv4-testsuite")

-- Parses an HTTP request as the suites write it: "METHOD PATH HTTP/1.1",
-- header lines (a line starting with whitespace continues the previous
-- value), a blank line, the body. Repeated headers become lists.
local function parse_request(text)
  local head, body = text:match("^(.-)\r?\n\r?\n(.*)$")
  if not head then head, body = text, "" end
  local lines = {}
  for line in (head .. "\n"):gmatch("(.-)\r?\n") do lines[#lines + 1] = line end
  local method, target = lines[1]:match("^(%S+) (.*) HTTP/1%.1$")
  local headers, last = {}, nil
  for i = 2, #lines do
    local line = lines[i]
    if line == "" then -- luacheck: ignore 542
      -- a trailing newline of the file
    elseif line:match("^%s") and last then
      local v = headers[last]
      if type(v) == "table" then v[#v] = v[#v] .. "\n" .. line
      else headers[last] = v .. "\n" .. line end
    else
      local name, value = line:match("^([^:]+):(.*)$")
      if headers[name] == nil then
        headers[name] = value
      elseif type(headers[name]) == "table" then
        table.insert(headers[name], value)
      else
        headers[name] = { headers[name], value }
      end
      last = name
    end
  end
  local host
  for k, v in pairs(headers) do if k:lower() == "host" then host = v end end
  return { method = method, url = "https://" .. host .. target,
           headers = headers, body = body }
end

local TIME = 1440938160  -- 2015-08-30T12:36:00Z

local function request_for(case_dir, context)
  local req = parse_request(shared.read(case_dir .. "/request.txt"))
  req.region, req.service, req.time = context.region, context.service, TIME
  req.credentials = {
    access_key_id = context.credentials.access_key_id,
    secret_access_key = context.credentials.secret_access_key,
    session_token = context.credentials.token,
  }
  req.normalize_path = context.normalize
  req.double_encode = context.double_uri_encode ~= false
  req.content_sha256_header = context.sign_body
  req.omit_session_token = context.omit_session_token
  req.expires = context.expiration_in_seconds
  return req
end

describe("SigV4 test suite (v4 format)", function()
  if not SUITE then return end
  for _, name in ipairs(shared.list(SUITE .. "/v4")) do
    local dir = SUITE .. "/v4/" .. name
    local ctx_text = shared.read(dir .. "/context.json")
    if ctx_text then
      local context = cjson.decode(ctx_text)
      for _, form in ipairs { "header", "query" } do
        local want_creq = shared.read(dir .. "/" .. form .. "-canonical-request.txt")
        if want_creq then
          describe(name .. " (" .. form .. ")", function()
            local req = request_for(dir, context)
            req.presign = form == "query"
            local r = sigv4.run(req, req.presign, true)
            it("canonical request", function()
              assert.are.equal(want_creq, r.canonical_request)
            end)
            it("string to sign", function()
              assert.are.equal(shared.read(dir .. "/" .. form .. "-string-to-sign.txt"), r.string_to_sign)
            end)
            it("signature", function()
              assert.are.equal(shared.read(dir .. "/" .. form .. "-signature.txt"), r.signature)
            end)
            if form == "header" then
              it("signed request headers", function()
                local want = parse_request(shared.read(dir .. "/header-signed-request.txt")).headers
                local got = sigv4.sign(req)
                assert.are.equal(want.Authorization, got.Authorization)
                assert.are.equal(want["X-Amz-Date"], got["X-Amz-Date"])
                assert.are.equal(want["X-Amz-Security-Token"], got["X-Amz-Security-Token"])
              end)
            else
              it("presigned URL carries the signature", function()
                local url = sigv4.presign(req)
                local sig = shared.read(dir .. "/query-signature.txt")
                assert.truthy(url:find("X-Amz-Signature=" .. sig, 1, true))
              end)
            end
          end)
        end
      end
    end
  end
end)

describe("SigV4 test suite (aws4_testsuite format)", function()
  if not SUITE then return end
  local base = SUITE .. "/aws4_testsuite"
  local TOKEN = "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRq"
    .. "TflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75Y"
    .. "U9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9K"
    .. "SYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA=="
  -- Every case is a directory holding NAME.req/.creq/.sts/.authz, perhaps
  -- nested one level (normalize-path/, post-sts-token/).
  local cases = {}
  for _, name in ipairs(shared.list(base)) do
    if shared.read(base .. "/" .. name .. "/" .. name .. ".req") then
      cases[#cases + 1] = { dir = base .. "/" .. name, name = name }
    else
      for _, sub in ipairs(shared.list(base .. "/" .. name)) do
        if shared.read(base .. "/" .. name .. "/" .. sub .. "/" .. sub .. ".req") then
          cases[#cases + 1] = { dir = base .. "/" .. name .. "/" .. sub, name = sub }
        end
      end
    end
  end
  it("finds the cases", function() assert.is_true(#cases >= 30) end)
  for _, case in ipairs(cases) do
    local prefix = case.dir .. "/" .. case.name
    describe(case.name, function()
      local req = parse_request(shared.read(prefix .. ".req"))
      req.region, req.service, req.time = "us-east-1", "service", TIME
      req.credentials = { access_key_id = "AKIDEXAMPLE",
                          secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY" }
      local v4_context = shared.read(SUITE .. "/v4/" .. case.name .. "/context.json")
      local v4_token = v4_context and cjson.decode(v4_context).credentials.token
      if case.name == "get-vanilla-with-session-token" then
        req.credentials.session_token = v4_token
      elseif case.name:match("^post%-sts%-header") then
        req.credentials.session_token = TOKEN
        req.omit_session_token = case.name == "post-sts-header-after"
        for k in pairs(req.headers) do
          if k:lower() == "x-amz-security-token" then req.headers[k] = nil end
        end
      end
      local r = sigv4.run(req, false, true)
      it("canonical request", function()
        assert.are.equal(shared.read(prefix .. ".creq"), r.canonical_request)
      end)
      it("string to sign", function()
        assert.are.equal(shared.read(prefix .. ".sts"), r.string_to_sign)
      end)
      it("authorization", function()
        assert.are.equal(shared.read(prefix .. ".authz"), r.authorization)
      end)
    end)
  end
end)
