-- No secret where it does not belong: the secret access key and the
-- session token must not show up in tostring() of, or in any string
-- reachable from, the public objects that see them.
--
-- What is walked: a client of each service made with explicit
-- credentials (with a session token) and a fake transport, after one
-- failed call with a retry; the client's credentials provider and the
-- credentials object it returns; the error object the call returned; the
-- lines given to the `debug` option; every request given to the
-- transport; the signer userdata.
--
-- The walk calls tostring() on every value and every key it meets, and
-- goes into tables (raw, with next), metatables and the upvalues of Lua
-- functions (so state kept in closures and in the personalize.* modules
-- is covered too). It stops at _G, at `package` and at modules that are
-- not personalize.* (busted, luassert, cjson...): those are not ours and
-- hold the spec's own copy of the secrets.
--
-- The exceptions, the only places where the secrets may live:
--   1. a credentials object's own `secret_access_key` and `session_token`
--      fields: holding them is what the object is for (its tostring,
--      checked below, shows the access key id only);
--   2. the `X-Amz-Security-Token` header of a request given to the
--      transport: SigV4 sends the session token to AWS in that header;
--   3. the `Authorization` header value of such a request: it is derived
--      from the secret, so it is left out of the generic walk and checked
--      on its own: it must carry a 64-hex-digit Signature and neither
--      the secret nor the token.
local personalize = require "personalize"
local core = require "personalize.core"
local sigv4 = require "personalize.sigv4"

local AKID = "AKIDSECRETSSPEC00001"
local SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYzSECRETzKEY"
local TOKEN = "IQoJb3JpZ2luX2VjEXAMPLE//session+token/zTOKENz=="

-- What must not appear: each secret as is and percent-encoded (as it
-- would be in a URL or a query string).
local NEEDLES = {
  { name = "secret access key", text = SECRET },
  { name = "secret access key (percent-encoded)", text = sigv4.encode_component(SECRET) },
  { name = "session token", text = TOKEN },
  { name = "session token (percent-encoded)", text = sigv4.encode_component(TOKEN) },
}

local ARN = {
  schema = "arn:aws:personalize:us-east-1:123456789012:schema/secrets-spec",
  campaign = "arn:aws:personalize:us-east-1:123456789012:campaign/secrets-spec",
}

-- One call per service, each answered first with a retryable 500, then
-- with a 404 awsJson error.
local CALLS = {
  { service = "personalize", method = "describe_schema", params = { schemaArn = ARN.schema } },
  { service = "personalize-runtime", method = "get_recommendations",
    params = { campaignArn = ARN.campaign, userId = "u1" } },
  { service = "personalize-events", method = "put_events",
    params = { trackingId = "tracking-1", sessionId = "session-1",
               eventList = { { eventType = "click", sentAt = 1700000000, itemId = "i1" } } } },
}

local function error_reply(status, type_name, request_id)
  return status,
    { ["content-type"] = "application/x-amz-json-1.1", ["x-amzn-requestid"] = request_id },
    '{"__type":"com.amazonaws.personalize#' .. type_name .. '","message":"spec says ' .. type_name .. '"}'
end

-- A transport that keeps a copy of every request it is given (the client
-- reuses its headers table between attempts) and answers 500, then 404.
local function fake_transport()
  local t = { requests = {}, request_headers = {} }
  function t:send(req)
    local copy = { method = req.method, url = req.url, body = req.body, headers = {} }
    for k, v in pairs(req.headers) do copy.headers[k] = v end
    self.requests[#self.requests + 1] = copy
    self.request_headers[copy.headers] = true
    if #self.requests % 2 == 1 then return error_reply(500, "InternalFailure", "req-500") end
    return error_reply(404, "ResourceNotFoundException", "req-404")
  end
  t.sleep = function() end
  return t
end

-- ---- the walk ----------------------------------------------------------

-- Values the walk does not enter (see the header comment).
local function stop_set()
  local stop = { [_G] = true, [package] = true, [package.loaded] = true }
  for name, mod in pairs(package.loaded) do
    if type(name) ~= "string" or not name:match("^personalize") then
      if type(mod) == "table" or type(mod) == "function" or type(mod) == "userdata" then
        stop[mod] = true
      end
    end
  end
  return stop
end

local function safe_tostring(v)
  local ok, s = pcall(tostring, v)
  if ok and type(s) == "string" then return s end
  return "<tostring failed>"
end

local function describe_key(k)
  if type(k) == "string" then return ("%q"):format(k) end
  return safe_tostring(k)
end

-- Walks `root` and returns the list of places where a needle was found.
-- `allowed(tbl, key)` names an exception (a string) or returns nil.
local function find_secrets(root, root_name, allowed)
  local stop, seen, found = stop_set(), {}, {}
  local function check(s, where)
    for _, needle in ipairs(NEEDLES) do
      if s:find(needle.text, 1, true) then
        found[#found + 1] = where .. " holds the " .. needle.name
      end
    end
  end
  local function visit(v, where)
    check(safe_tostring(v), "tostring(" .. where .. ")")
    local tv = type(v)
    if tv ~= "table" and tv ~= "function" and tv ~= "userdata" then return end
    if seen[v] or stop[v] then return end
    seen[v] = true
    if tv == "table" then
      local k, val = next(v)
      while k ~= nil do
        local path = where .. "[" .. describe_key(k) .. "]"
        visit(k, path .. " (key)")
        if not (allowed and allowed(v, k)) then visit(val, path) end
        k, val = next(v, k)
      end
    elseif tv == "function" then
      for i = 1, 255 do
        local name, up = debug.getupvalue(v, i)
        if name == nil then break end
        if name ~= "_ENV" then visit(up, where .. " (upvalue " .. i .. " " .. name .. ")") end
      end
    end
    local mt = debug.getmetatable(v)
    if mt ~= nil then visit(mt, "getmetatable(" .. where .. ")") end
  end
  visit(root, root_name)
  return found
end

local function assert_clean(root, name, allowed)
  local found = find_secrets(root, name, allowed)
  assert.are.same({}, found, name .. " exposes a secret")
end

-- ---- the objects -------------------------------------------------------

local world    -- built once: clients, transports, errors, debug lines

local function build()
  local w = { clients = {}, transports = {}, errors = {}, results = {}, lines = {} }
  local lines = w.lines
  for _, c in ipairs(CALLS) do
    local transport = fake_transport()
    local client = personalize.client(c.service, {
      region = "us-east-1", max_attempts = 3, transport = transport,
      credentials = { access_key_id = AKID, secret_access_key = SECRET, session_token = TOKEN },
      debug = function(line) lines[#lines + 1] = line end,
    })
    local res, err = client[c.method](client, c.params)
    w.clients[c.service], w.transports[c.service] = client, transport
    w.results[c.service], w.errors[c.service] = res, err
  end
  return w
end

-- The metatable of credentials objects, to recognise them in the walk.
local function credentials_mt(client)
  return getmetatable((client._credentials:get()))
end

-- Exceptions 1 and 2 of the header comment, for walks that may meet
-- credentials objects and recorded requests.
local function allowed_for(w)
  local creds_mt = credentials_mt(w.clients.personalize)
  local headers = {}
  for _, t in pairs(w.transports) do
    for h in pairs(t.request_headers) do headers[h] = true end
  end
  return function(tbl, key)
    if getmetatable(tbl) == creds_mt and (key == "secret_access_key" or key == "session_token") then
      return "credentials field"
    end
    if headers[tbl] and type(key) == "string" then
      local k = key:lower()
      if k == "x-amz-security-token" then return "session token header" end
      if k == "authorization" then return "Authorization (checked on its own)" end
    end
    return nil
  end
end

describe("secrets", function()
  setup(function()
    world = build()
  end)

  it("every call went out signed, with the token, and failed as the transport said", function()
    for _, c in ipairs(CALLS) do
      local err = world.errors[c.service]
      assert.is_nil(world.results[c.service])
      assert.is_table(err, c.service .. " returned no error")
      assert.are.equal("ResourceNotFoundException", err.code)
      assert.are.equal(404, err.status)
      assert.are.equal(2, #world.transports[c.service].requests, c.service .. ": one retry expected")
    end
    assert.are.equal(2 * #CALLS, #world.lines)
  end)

  for _, c in ipairs(CALLS) do
    describe(c.service .. " client", function()
      it("tostring shows no secret", function()
        local client = world.clients[c.service]
        local s = tostring(client)
        assert.matches("personalize.client", s, 1, true)
        for _, needle in ipairs(NEEDLES) do assert.is_nil(s:find(needle.text, 1, true)) end
      end)

      it("holds no secret outside its credentials object", function()
        assert_clean(world.clients[c.service], c.service .. " client", allowed_for(world))
      end)

      it("returns an error object that holds no secret", function()
        assert_clean(world.errors[c.service], c.service .. " error", nil)
      end)

      it("sends the token only in X-Amz-Security-Token and signs without the secret", function()
        for i, req in ipairs(world.transports[c.service].requests) do
          local name = ("%s request %d"):format(c.service, i)
          local token, authorization
          for k, v in pairs(req.headers) do
            if k:lower() == "x-amz-security-token" then token = v end
            if k:lower() == "authorization" then authorization = v end
          end
          assert.are.equal(TOKEN, token, name .. ": X-Amz-Security-Token")
          assert.is_string(authorization, name .. ": no Authorization")
          assert.matches("^AWS4%-HMAC%-SHA256 Credential=" .. AKID .. "/%d+/us%-east%-1/personalize/aws4_request, "
            .. "SignedHeaders=[%w%-;]*x%-amz%-security%-token[%w%-;]*, Signature=%x+$", authorization)
          assert.are.equal(64, #authorization:match("Signature=(%x+)$"))
          for _, needle in ipairs(NEEDLES) do
            assert.is_nil(authorization:find(needle.text, 1, true), name .. ": Authorization has the " .. needle.name)
          end
          assert_clean(req, name, allowed_for(world))
        end
      end)
    end)
  end

  describe("credentials", function()
    it("the provider prints its name only and holds no secret outside the credentials object", function()
      local provider = world.clients.personalize._credentials
      assert.are.equal("personalize.credentials_provider (options)", tostring(provider))
      assert_clean(provider, "provider", allowed_for(world))
    end)

    it("the credentials object prints the key id only", function()
      local creds = world.clients.personalize._credentials:get()
      local s = tostring(creds)
      assert.matches(AKID, s, 1, true)
      for _, needle in ipairs(NEEDLES) do assert.is_nil(s:find(needle.text, 1, true), s) end
      -- Exception 1: the fields are there (else nothing could sign) ...
      assert.are.equal(SECRET, creds.secret_access_key)
      assert.are.equal(TOKEN, creds.session_token)
      -- ... and nowhere else in or under the object.
      assert_clean(creds, "credentials", allowed_for(world))
    end)

    it("the walk does find a secret that is not an exception", function()
      -- Guards the walk itself: without the exceptions it must see the
      -- credentials fields, and a secret hidden in a closure.
      local creds = world.clients.personalize._credentials:get()
      assert.are_not.same({}, find_secrets(creds, "credentials", nil))
      local hidden = SECRET
      local holder = { f = function() return hidden end }
      assert.are_not.same({}, find_secrets(holder, "holder", nil))
      assert.are_not.same({}, find_secrets({ s = "x" .. sigv4.encode_component(TOKEN) }, "t", nil))
    end)
  end)

  describe("debug lines", function()
    it("name the call but hold no secret", function()
      assert.is_true(#world.lines > 0)
      for i, line in ipairs(world.lines) do
        assert.is_string(line)
        assert.matches("^personalize: ", line)
        for _, needle in ipairs(NEEDLES) do
          assert.is_nil(line:find(needle.text, 1, true), ("debug line %d has the %s"):format(i, needle.name))
        end
      end
      assert_clean(world.lines, "debug lines", nil)
    end)
  end)

  describe("signer", function()
    it("the module's signer prints no secret after signing with it", function()
      local signer
      for i = 1, 255 do
        local name, v = debug.getupvalue(sigv4.authorize, i)
        if name == nil then break end
        if name == "signer" then signer = v end
      end
      assert.is_userdata(signer)
      local s = tostring(signer)
      assert.matches("^personalize%.signer %(", s)
      for _, needle in ipairs(NEEDLES) do assert.is_nil(s:find(needle.text, 1, true)) end
      assert_clean(signer, "sigv4 signer", nil)
    end)

    it("a fresh signer prints no secret, before and after close", function()
      local signer = core.signer()
      local auth = signer:sign("GET", "/", nil, { Host = "example.com", ["X-Amz-Security-Token"] = TOKEN },
        sigv4.EMPTY_SHA256, AKID, SECRET, "20150830T123600Z", "us-east-1", "personalize", true, true, false)
      assert.matches("Signature=%x+$", auth)
      for _, needle in ipairs(NEEDLES) do assert.is_nil(auth:find(needle.text, 1, true)) end
      for _, needle in ipairs(NEEDLES) do assert.is_nil(tostring(signer):find(needle.text, 1, true)) end
      assert_clean(signer, "signer", nil)
      signer:close()
      assert.are.equal("personalize.signer (closed)", tostring(signer))
    end)
  end)

  describe("misuse", function()
    it("errors raised while signing do not quote the secret", function()
      local ok, err = pcall(sigv4.sign, {
        method = "GET", url = "https://example.com/", region = "bad region", service = "personalize",
        credentials = { access_key_id = AKID, secret_access_key = SECRET, session_token = TOKEN },
      })
      assert.is_false(ok)
      for _, needle in ipairs(NEEDLES) do assert.is_nil(tostring(err):find(needle.text, 1, true), tostring(err)) end
    end)
  end)
end)
