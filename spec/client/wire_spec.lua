-- What the client puts on the wire, captured by a real HTTP server on
-- loopback: exact method, path, headers and JSON body for a sample of
-- operations of each service, sent through the real curl transport. Each
-- signature is recomputed by botocore's SigV4Auth from the captured bytes.
local cjson = require "cjson"
local personalize = require "personalize"
local capture = require "support.capture"
local process = require "support.process"

local CREDS = { access_key_id = "AKIDWIRETEST", secret_access_key = "wire/secret+KEY",
                session_token = "wire-session-token" }

local function header(req, name)
  local found
  for _, h in ipairs(req.headers) do
    if h[1]:lower() == name:lower() then
      assert.is_nil(found, "header sent twice: " .. name)
      found = h[2]
    end
  end
  return found
end

-- botocore's signature for the captured request, over the headers our
-- Authorization says were signed.
local function botocore_signature(srv_url, req)
  local auth = header(req, "Authorization")
  local signed = auth:match("SignedHeaders=([^,]+)")
  local headers = {}
  for name in signed:gmatch("[^;]+") do headers[name] = header(req, name) end
  local input = cjson.encode {
    method = req.method, url = srv_url .. req.path, headers = headers, body = req.body,
    region = "us-east-1", service = "personalize", access_key = CREDS.access_key_id,
    secret_key = CREDS.secret_access_key, token = CREDS.session_token,
    amz_date = header(req, "X-Amz-Date"),
  }
  local tmp = os.tmpname()
  local f = assert(io.open(tmp, "w"))
  f:write(input)
  f:close()
  local p = io.popen("python3 spec/support/botocore_sign.py < " .. tmp)
  local sig = p:read("*l")
  p:close()
  os.remove(tmp)
  return sig
end

describe("requests on the wire", function()
  local srv, clients
  local have_botocore = os.execute("python3 -c 'import botocore' 2>/dev/null")
  have_botocore = have_botocore == true or have_botocore == 0

  setup(function()
    srv = capture.start()
    clients = {}
    for _, service in ipairs { "personalize", "personalize-runtime", "personalize-events" } do
      clients[service] = personalize.client(service, {
        region = "us-east-1", endpoint = srv.url, credentials = CREDS, max_attempts = 1 })
    end
  end)
  teardown(function() if srv then srv.stop() end end)
  before_each(function() srv.reset() end)

  -- Calls `method` and returns the one request the server saw.
  local function sent(service, method, params)
    local res, err = clients[service][method](clients[service], params)
    assert.is_nil(err)
    assert.is_table(res.ResponseMetadata)
    local reqs = srv.requests()
    assert.are.equal(1, #reqs)
    return reqs[1], res
  end

  local function check_common(req, content_type)
    local port = srv.url:match(":(%d+)$")
    assert.are.equal("POST", req.method)
    assert.are.equal(content_type, header(req, "Content-Type"))
    assert.are.equal("127.0.0.1:" .. port, header(req, "Host"))
    assert.are.equal(CREDS.session_token, header(req, "X-Amz-Security-Token"))
    assert.are.equal(tostring(#req.body), header(req, "Content-Length"))
    local date = header(req, "X-Amz-Date")
    assert.truthy(date:match("^%d%d%d%d%d%d%d%dT%d%d%d%d%d%dZ$"))
    local auth = header(req, "Authorization")
    assert.are.equal("AWS4-HMAC-SHA256 Credential=AKIDWIRETEST/" .. date:sub(1, 8)
      .. "/us-east-1/personalize/aws4_request", auth:match("^[^,]+"))
    assert.is_nil(auth:find(CREDS.secret_access_key, 1, true))
    if have_botocore then
      assert.are.equal(botocore_signature(srv.url, req), auth:match("Signature=(%x+)$"))
    else
      process.require_peer("botocore (python3)", "signatures are cross-checked with it")
    end
    return auth:match("SignedHeaders=([^,]+)")
  end

  describe("personalize (awsJson1_1)", function()
    local function control(method, params, target, body)
      local req = sent("personalize", method, params)
      local signed = check_common(req, "application/x-amz-json-1.1")
      assert.are.equal("/", req.path)
      assert.are.equal("AmazonPersonalize." .. target, header(req, "X-Amz-Target"))
      assert.are.equal("content-type;host;x-amz-date;x-amz-security-token;x-amz-target", signed)
      assert.are.equal(body, req.body)
    end

    it("create_schema", function()
      control("create_schema", { name = "s1", schema = '{"type":"record"}', domain = "ECOMMERCE" },
        "CreateSchema", '{"domain":"ECOMMERCE","name":"s1","schema":"{\\"type\\":\\"record\\"}"}')
    end)
    it("list_schemas with no parameters sends an empty object", function()
      control("list_schemas", nil, "ListSchemas", "{}")
    end)
    it("create_solution with nested config, lists and maps", function()
      control("create_solution", {
        name = "sol", datasetGroupArn = "arn:aws:personalize:us-east-1:123456789012:dataset-group/dg",
        recipeArn = "arn:aws:personalize:::recipe/aws-user-personalization",
        performHPO = false, tags = {},
        solutionConfig = { eventValueThreshold = "0.5", algorithmHyperParameters = { hidden_dimension = "64" } },
      }, "CreateSolution",
        '{"datasetGroupArn":"arn:aws:personalize:us-east-1:123456789012:dataset-group/dg","name":"sol",'
        .. '"performHPO":false,"recipeArn":"arn:aws:personalize:::recipe/aws-user-personalization",'
        .. '"solutionConfig":{"algorithmHyperParameters":{"hidden_dimension":"64"},"eventValueThreshold":"0.5"},'
        .. '"tags":[]}')
    end)
    it("describe_campaign", function()
      control("describe_campaign", { campaignArn = "arn:aws:personalize:us-east-1:123456789012:campaign/c" },
        "DescribeCampaign", '{"campaignArn":"arn:aws:personalize:us-east-1:123456789012:campaign/c"}')
    end)
  end)

  describe("personalize-runtime (restJson1)", function()
    it("get_recommendations", function()
      local req = sent("personalize-runtime", "get_recommendations", {
        campaignArn = "arn:aws:personalize:us-east-1:123456789012:campaign/c", userId = "42",
        numResults = 10, filterValues = { GENRE = '"Comedy"' } })
      local signed = check_common(req, "application/json")
      assert.are.equal("/recommendations", req.path)
      assert.is_nil(header(req, "X-Amz-Target"))
      assert.are.equal("content-type;host;x-amz-date;x-amz-security-token", signed)
      assert.are.equal('{"campaignArn":"arn:aws:personalize:us-east-1:123456789012:campaign/c",'
        .. '"filterValues":{"GENRE":"\\"Comedy\\""},"numResults":10,"userId":"42"}', req.body)
    end)
    it("get_personalized_ranking", function()
      local req = sent("personalize-runtime", "get_personalized_ranking", {
        campaignArn = "arn:aws:personalize:us-east-1:123456789012:campaign/c", userId = "7",
        inputList = { "a", "b" } })
      check_common(req, "application/json")
      assert.are.equal("/personalize-ranking", req.path)
      assert.are.equal('{"campaignArn":"arn:aws:personalize:us-east-1:123456789012:campaign/c",'
        .. '"inputList":["a","b"],"userId":"7"}', req.body)
    end)
  end)

  describe("personalize-events (restJson1)", function()
    it("put_events sends properties as a JSON string and sentAt as epoch seconds", function()
      local req = sent("personalize-events", "put_events", {
        trackingId = "t-1", sessionId = "s-1", userId = "u-1",
        eventList = { { eventType = "click", sentAt = 1700000000, itemId = "i-9",
                        properties = { discount = "yes" } } } })
      check_common(req, "application/json")
      assert.are.equal("/events", req.path)
      assert.are.equal('{"eventList":[{"eventType":"click","itemId":"i-9",'
        .. '"properties":"{\\"discount\\":\\"yes\\"}","sentAt":1700000000}],'
        .. '"sessionId":"s-1","trackingId":"t-1","userId":"u-1"}', req.body)
    end)
    it("put_items", function()
      local req = sent("personalize-events", "put_items", {
        datasetArn = "arn:aws:personalize:us-east-1:123456789012:dataset/d/ITEMS",
        items = { { itemId = "i-1", properties = '{"genre":"drama"}' } } })
      check_common(req, "application/json")
      assert.are.equal("/items", req.path)
      assert.are.equal('{"datasetArn":"arn:aws:personalize:us-east-1:123456789012:dataset/d/ITEMS",'
        .. '"items":[{"itemId":"i-1","properties":"{\\"genre\\":\\"drama\\"}"}]}', req.body)
    end)
  end)

  it("puts an endpoint's path before the operation's path and signs what it sends", function()
    for _, base in ipairs { "/personalize", "/personalize/" } do
      srv.reset()
      local c = personalize.client("personalize-runtime", {
        region = "us-east-1", endpoint = srv.url .. base, credentials = CREDS, max_attempts = 1 })
      assert(c:get_recommendations { campaignArn = "arn:aws:personalize:us-east-1:1:campaign/c", userId = "u" })
      local req = srv.requests()[1]
      assert.are.equal("/personalize/recommendations", req.path)
      check_common(req, "application/json")
    end
  end)

  it("sends the same bytes through libcurl with plain_http = false", function()
    local c = personalize.client("personalize", {
      region = "us-east-1", endpoint = srv.url, credentials = CREDS, max_attempts = 1, plain_http = false })
    assert.is_false(c.transport._handle_opts.plain)
    srv.reset()
    assert(c:list_schemas {})
    local via_curl = srv.requests()[1]
    check_common(via_curl, "application/x-amz-json-1.1")
    srv.reset()
    assert(clients.personalize:list_schemas {})
    local via_plain = srv.requests()[1]
    local function names(req)
      local t = {}
      for _, h in ipairs(req.headers) do t[#t + 1] = h[1]:lower() end
      table.sort(t)
      return t
    end
    assert.same(names(via_curl), names(via_plain))
    assert.equal(via_curl.body, via_plain.body)
    assert.equal(via_curl.path, via_plain.path)
  end)

  it("reuses one connection across calls (keep-alive)", function()
    local c = clients["personalize"]
    assert(c:list_schemas {})
    assert(c:list_recipes {})
    local reqs = srv.requests()
    assert.are.equal(2, #reqs)
    assert.are.equal(reqs[1].connection_id, reqs[2].connection_id)
  end)
end)
