-- personalize.client end to end, minus the network: a fake transport
-- records what the client would send and answers what a test says.
local personalize = require "personalize"
local sigv4 = require "personalize.sigv4"
local cjson = require "cjson"

local AKID = "AKIDEXAMPLE"
local SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
local TOKEN = "FQoGZXIvYXdzEXAMPLE//session+token=="
local SCHEMA_ARN = "arn:aws:personalize:us-east-1:123456789012:schema/movies"
local CAMPAIGN_ARN = "arn:aws:personalize:us-east-1:123456789012:campaign/movies"
local DATASET_ARN = "arn:aws:personalize:us-east-1:123456789012:dataset/movies/ITEMS"
local ROLE_ARN = "arn:aws:iam::123456789012:role/PersonalizeS3"

-- A transport that records copies of the requests and answers from
-- `responses` in turn (the last one repeats). An answer is
-- { status, headers, body }, { nil, code, message } or a function.
local function fake(responses)
  responses = responses or { { 200, { ["x-amzn-requestid"] = "req-0" }, "{}" } }
  local t = { requests = {}, sleeps = {} }
  function t:send(req)
    local copy = { method = req.method, url = req.url, body = req.body, headers = {} }
    for k, v in pairs(req.headers) do copy.headers[k] = v end
    self.requests[#self.requests + 1] = copy
    local r = responses[#self.requests] or responses[#responses]
    if type(r) == "function" then return r(req) end
    return r[1], r[2], r[3]
  end
  t.sleep = function(seconds) t.sleeps[#t.sleeps + 1] = seconds end
  return t
end

local function new(service, transport, opts)
  -- max_attempts as the default, whatever AWS_MAX_ATTEMPTS says here.
  local o = { region = "us-east-1", transport = transport, max_attempts = 3,
              access_key_id = AKID, secret_access_key = SECRET }
  for k, v in pairs(opts or {}) do o[k] = v end
  return personalize.client(service, o)
end

-- A header of a recorded request, whatever the case of its name.
local function header(req, name)
  local found
  for k, v in pairs(req.headers) do
    if k:lower() == name:lower() then
      assert.is_nil(found, "header " .. name .. " sent twice")
      found = v
    end
  end
  return found
end

local function header_names(req)
  local names = {}
  for k in pairs(req.headers) do names[#names + 1] = k:lower() end
  table.sort(names)
  return table.concat(names, ",")
end

-- The parts of an Authorization header.
local function authorization(req)
  local a = header(req, "Authorization")
  assert.is_string(a, "no Authorization header")
  local akid, date, region, service, signed, sig = a:match(
    "^AWS4%-HMAC%-SHA256 Credential=([^/]+)/(%d+)/([^/]+)/([^/]+)/aws4_request, "
    .. "SignedHeaders=([^,]+), Signature=(%x+)$")
  assert.is_string(akid, "unexpected Authorization: " .. a)
  return { akid = akid, date = date, region = region, service = service,
           signed_headers = signed, signature = sig }
end

-- Re-signs a recorded request with the public sigv4 module: the client's
-- Authorization must be exactly what SigV4 gives for those bytes.
local function assert_signed(req, region)
  local headers = {}
  for k, v in pairs(req.headers) do
    if k:lower() ~= "authorization" then headers[k] = v end
  end
  local want = sigv4.sign {
    method = req.method, url = req.url, headers = headers, body = req.body,
    region = region or "us-east-1", service = "personalize",
    credentials = { access_key_id = AKID, secret_access_key = SECRET },
  }
  assert.are.equal(want.Authorization, header(req, "Authorization"))
end

local function aws_json_error(status, type_name, message, request_id)
  return { status, { ["content-type"] = "application/x-amz-json-1.1", ["x-amzn-requestid"] = request_id },
           cjson.encode { __type = type_name, message = message } }
end

-- Runs `code` in a fresh interpreter with no AWS settings but those in
-- `env` (support.aws_env), after a preamble defining a recording fake
-- transport; returns its output (stdout and stderr).
local aws_env = require "support.aws_env"
local ISOLATED_PREAMBLE = [[
local sent = {}
local transport = { sleep = function() end }
function transport.send(_, req)
  sent[#sent + 1] = req
  return 200, { ["x-amzn-requestid"] = "r" }, "{}"
end
]]
local function run_isolated(code, env)
  local vars = { AWS_SHARED_CREDENTIALS_FILE = "/nonexistent/credentials",
                 AWS_CONFIG_FILE = "/nonexistent/config" }
  for k, v in pairs(env or {}) do vars[k] = v end
  return aws_env.run(ISOLATED_PREAMBLE .. code, vars)
end
local shown = aws_env.shown

describe("personalize.client", function()
  describe("methods", function()
    local ALL = {
      personalize = {
        "create_batch_inference_job", "create_batch_segment_job", "create_campaign",
        "create_data_deletion_job", "create_dataset", "create_dataset_export_job",
        "create_dataset_group", "create_dataset_import_job", "create_event_tracker",
        "create_filter", "create_metric_attribution", "create_recommender", "create_schema",
        "create_solution", "create_solution_version", "delete_campaign", "delete_dataset",
        "delete_dataset_group", "delete_event_tracker", "delete_filter",
        "delete_metric_attribution", "delete_recommender", "delete_schema", "delete_solution",
        "describe_algorithm", "describe_batch_inference_job", "describe_batch_segment_job",
        "describe_campaign", "describe_data_deletion_job", "describe_dataset",
        "describe_dataset_export_job", "describe_dataset_group", "describe_dataset_import_job",
        "describe_event_tracker", "describe_feature_transformation", "describe_filter",
        "describe_metric_attribution", "describe_recipe", "describe_recommender",
        "describe_schema", "describe_solution", "describe_solution_version",
        "get_solution_metrics", "list_batch_inference_jobs", "list_batch_segment_jobs",
        "list_campaigns", "list_data_deletion_jobs", "list_dataset_export_jobs",
        "list_dataset_groups", "list_dataset_import_jobs", "list_datasets",
        "list_event_trackers", "list_filters", "list_metric_attribution_metrics",
        "list_metric_attributions", "list_recipes", "list_recommenders", "list_schemas",
        "list_solution_versions", "list_solutions", "list_tags_for_resource",
        "start_recommender", "stop_recommender", "stop_solution_version_creation",
        "tag_resource", "untag_resource", "update_campaign", "update_dataset",
        "update_metric_attribution", "update_recommender", "update_solution",
      },
      ["personalize-runtime"] = {
        "get_action_recommendations", "get_personalized_ranking", "get_recommendations",
      },
      ["personalize-events"] = {
        "put_action_interactions", "put_actions", "put_events", "put_items", "put_users",
      },
    }

    it("number 71 + 3 + 5", function()
      assert.are.equal(71, #ALL.personalize)
      assert.are.equal(3, #ALL["personalize-runtime"])
      assert.are.equal(5, #ALL["personalize-events"])
    end)

    for service, names in pairs(ALL) do
      it("of " .. service .. " are the snake_case operation names", function()
        local client = new(service, fake())
        assert.are.same(names, client:operations())
        for _, name in ipairs(names) do
          assert.is_function(client[name], name)
        end
      end)

      it("of " .. service .. " each call their own operation", function()
        local client = new(service, fake())
        for _, name in ipairs(names) do
          -- A bogus member fails validation and names the operation.
          local res, err = client[name](client, { ["not a member"] = 1 })
          assert.is_nil(res)
          local want = name:gsub("^%l", string.upper):gsub("_(%l)", string.upper)
          assert.are.equal(want, err.operation)
        end
      end)
    end

    it("are nil for names that are no operation", function()
      local client = new("personalize", fake())
      assert.is_nil(client.CreateSchema)
      assert.is_nil(client.create_schemas)
    end)

    it("are reachable by API name through call()", function()
      local t = fake()
      local client = new("personalize", t)
      assert.is_table(client:call("ListSchemas", {}))
      assert.are.equal("AmazonPersonalize.ListSchemas", header(t.requests[1], "X-Amz-Target"))
      assert.has_error(function() client:call("GetRecommendations", {}) end)
    end)

    it("and the model are read through client:model() and client:operation(name)", function()
      local models = require "personalize.models"
      for _, service in ipairs(models.names()) do
        local client = new(service, fake())
        assert.are.equal(models.model(service), client:model())
      end
      local client = new("personalize", fake())
      assert.are.equal("ListSchemas", client:operation("list_schemas").name)
      assert.are.equal(client:operation("list_schemas"), client:operation("ListSchemas"))
      assert.is_nil(client:operation("get_recommendations"))
      assert.is_nil(client:operation(42))
    end)
  end)

  describe("the control plane (awsJson1_1)", function()
    it("creates a schema", function()
      local t = fake { { 200, { ["x-amzn-requestid"] = "req-1" }, '{"schemaArn":"' .. SCHEMA_ARN .. '"}' } }
      local client = new("personalize", t)
      local res, err = client:create_schema { name = "movies", domain = "ECOMMERCE",
        schema = '{"type":"record","name":"Interactions"}' }
      assert.is_nil(err)
      assert.are.equal(SCHEMA_ARN, res.schemaArn)
      assert.are.equal(1, #t.requests)
      local req = t.requests[1]
      assert.are.equal("POST", req.method)
      assert.are.equal("https://personalize.us-east-1.amazonaws.com/", req.url)
      assert.are.equal("AmazonPersonalize.CreateSchema", header(req, "X-Amz-Target"))
      assert.are.equal("application/x-amz-json-1.1", header(req, "Content-Type"))
      assert.are.equal("personalize.us-east-1.amazonaws.com", header(req, "Host"))
      assert.matches("^%d%d%d%d%d%d%d%dT%d%d%d%d%d%dZ$", header(req, "X-Amz-Date"))
      assert.are.equal('{"domain":"ECOMMERCE","name":"movies",'
        .. '"schema":"{\\"type\\":\\"record\\",\\"name\\":\\"Interactions\\"}"}', req.body)
      assert.are.equal("authorization,content-type,host,x-amz-date,x-amz-target", header_names(req))
    end)

    it("creates a dataset import job", function()
      local t = fake()
      local client = new("personalize", t)
      assert.is_table(client:create_dataset_import_job {
        jobName = "import-1", datasetArn = DATASET_ARN, roleArn = ROLE_ARN, importMode = "FULL",
        dataSource = { dataLocation = "s3://bucket/items.csv" },
        tags = { { tagKey = "team", tagValue = "recs" } },
      })
      local req = t.requests[1]
      assert.are.equal("AmazonPersonalize.CreateDatasetImportJob", header(req, "X-Amz-Target"))
      assert.are.equal('{"dataSource":{"dataLocation":"s3://bucket/items.csv"},'
        .. '"datasetArn":"' .. DATASET_ARN .. '","importMode":"FULL","jobName":"import-1",'
        .. '"roleArn":"' .. ROLE_ARN .. '","tags":[{"tagKey":"team","tagValue":"recs"}]}', req.body)
    end)

    it("lists schemas with no parameters", function()
      local t = fake()
      local client = new("personalize", t)
      assert.is_table(client:list_schemas())
      assert.is_table(client:list_schemas {})
      assert.is_table(client:list_schemas { maxResults = 10, nextToken = "abc" })
      assert.are.equal("{}", t.requests[1].body)
      assert.are.equal("{}", t.requests[2].body)
      assert.are.equal('{"maxResults":10,"nextToken":"abc"}', t.requests[3].body)
      assert.are.equal("AmazonPersonalize.ListSchemas", header(t.requests[3], "X-Amz-Target"))
    end)

    it("updates a campaign with nested maps and doubles", function()
      local t = fake()
      local client = new("personalize", t)
      assert.is_table(client:update_campaign { campaignArn = CAMPAIGN_ARN, minProvisionedTPS = 2,
        campaignConfig = { itemExplorationConfig = { explorationWeight = "0.3" },
                           rankingInfluence = { POPULARITY = 0.5 } } })
      assert.are.equal('{"campaignArn":"' .. CAMPAIGN_ARN .. '","campaignConfig":'
        .. '{"itemExplorationConfig":{"explorationWeight":"0.3"},"rankingInfluence":{"POPULARITY":0.5}},'
        .. '"minProvisionedTPS":2}', t.requests[1].body)
      assert.are.equal("AmazonPersonalize.UpdateCampaign", header(t.requests[1], "X-Amz-Target"))
    end)
  end)

  describe("the runtime (restJson1)", function()
    it("gets recommendations", function()
      local t = fake { { 200, { ["x-amzn-requestid"] = "req-2" },
        '{"itemList":[{"itemId":"i1","score":0.9}],"recommendationId":"rec-1"}' } }
      local client = new("personalize-runtime", t)
      local res = assert(client:get_recommendations { campaignArn = CAMPAIGN_ARN, userId = "u1",
        numResults = 10, context = { DEVICE = "phone" } })
      assert.are.equal("i1", res.itemList[1].itemId)
      assert.are.equal(0.9, res.itemList[1].score)
      local req = t.requests[1]
      assert.are.equal("POST", req.method)
      assert.are.equal("https://personalize-runtime.us-east-1.amazonaws.com/recommendations", req.url)
      assert.are.equal("application/json", header(req, "Content-Type"))
      assert.are.equal("personalize-runtime.us-east-1.amazonaws.com", header(req, "Host"))
      assert.is_nil(header(req, "X-Amz-Target"))
      assert.are.equal('{"campaignArn":"' .. CAMPAIGN_ARN .. '","context":{"DEVICE":"phone"},'
        .. '"numResults":10,"userId":"u1"}', req.body)
    end)

    it("ranks items", function()
      local t = fake()
      local client = new("personalize-runtime", t)
      assert.is_table(client:get_personalized_ranking { campaignArn = CAMPAIGN_ARN, userId = "u1",
        inputList = { "i2", "i1" } })
      local req = t.requests[1]
      assert.are.equal("https://personalize-runtime.us-east-1.amazonaws.com/personalize-ranking", req.url)
      assert.are.equal('{"campaignArn":"' .. CAMPAIGN_ARN .. '","inputList":["i2","i1"],"userId":"u1"}', req.body)
    end)

    it("gets action recommendations", function()
      local t = fake()
      local client = new("personalize-runtime", t)
      assert.is_table(client:get_action_recommendations { campaignArn = CAMPAIGN_ARN, userId = "u1" })
      assert.are.equal("https://personalize-runtime.us-east-1.amazonaws.com/action-recommendations",
        t.requests[1].url)
    end)
  end)

  describe("events (restJson1)", function()
    it("puts events with properties as a JSON string", function()
      local t = fake()
      local client = new("personalize-events", t)
      local res, err = client:put_events { trackingId = "tracking-1", sessionId = "session-1",
        userId = "u1", eventList = { { eventType = "watch", sentAt = 1700000000, itemId = "i1",
          properties = { numRatings = 3 } } } }
      assert.is_nil(err)
      assert.is_table(res)
      local req = t.requests[1]
      assert.are.equal("POST", req.method)
      assert.are.equal("https://personalize-events.us-east-1.amazonaws.com/events", req.url)
      assert.are.equal("application/json", header(req, "Content-Type"))
      assert.are.equal('{"eventList":[{"eventType":"watch","itemId":"i1",'
        .. '"properties":"{\\"numRatings\\":3}","sentAt":1700000000}],'
        .. '"sessionId":"session-1","trackingId":"tracking-1","userId":"u1"}', req.body)
      local doc = cjson.decode(req.body)
      assert.are.same({ numRatings = 3 }, cjson.decode(doc.eventList[1].properties))
    end)

    it("puts items, users, actions and action interactions at their paths", function()
      local t = fake()
      local client = new("personalize-events", t)
      assert.is_table(client:put_items { datasetArn = DATASET_ARN,
        items = { { itemId = "i1", properties = '{"genre":"comedy"}' } } })
      assert.is_table(client:put_users { datasetArn = DATASET_ARN, users = { { userId = "u1" } } })
      assert.is_table(client:put_actions { datasetArn = DATASET_ARN, actions = { { actionId = "a1" } } })
      assert.is_table(client:put_action_interactions { trackingId = "t1", actionInteractions = {
        { actionId = "a1", sessionId = "s1", timestamp = 1700000000, eventType = "Taken" } } })
      local base = "https://personalize-events.us-east-1.amazonaws.com"
      assert.are.equal(base .. "/items", t.requests[1].url)
      assert.are.equal(base .. "/users", t.requests[2].url)
      assert.are.equal(base .. "/actions", t.requests[3].url)
      assert.are.equal(base .. "/action-interactions", t.requests[4].url)
      assert.are.equal('{"datasetArn":"' .. DATASET_ARN .. '",'
        .. '"items":[{"itemId":"i1","properties":"{\\"genre\\":\\"comedy\\"}"}]}', t.requests[1].body)
    end)
  end)

  describe("signing", function()
    local CASES = {
      { "personalize", "list_schemas", {}, "content-type;host;x-amz-date;x-amz-target" },
      { "personalize-runtime", "get_recommendations", { userId = "u1" }, "content-type;host;x-amz-date" },
      { "personalize-events", "put_users", { datasetArn = DATASET_ARN, users = { { userId = "u1" } } },
        "content-type;host;x-amz-date" },
    }
    for _, case in ipairs(CASES) do
      local service, method, params, signed = case[1], case[2], case[3], case[4]

      it(service .. " signs as personalize in the credential scope", function()
        local t = fake()
        local client = new(service, t)
        assert.is_table(client[method](client, params))
        local req = t.requests[1]
        local a = authorization(req)
        assert.are.equal(AKID, a.akid)
        assert.are.equal(header(req, "X-Amz-Date"):sub(1, 8), a.date)
        assert.are.equal("us-east-1", a.region)
        assert.are.equal("personalize", a.service)
        assert.are.equal(signed, a.signed_headers)
        assert.are.equal(64, #a.signature)
      end)

      it(service .. " sends exactly the SigV4 signature of its bytes", function()
        local t = fake()
        local client = new(service, t)
        assert.is_table(client[method](client, params))
        assert_signed(t.requests[1])
      end)

      it(service .. " signs and sends X-Amz-Security-Token with a session token", function()
        local t = fake()
        local client = new(service, t, { session_token = TOKEN })
        assert.is_table(client[method](client, params))
        local req = t.requests[1]
        assert.are.equal(TOKEN, header(req, "X-Amz-Security-Token"))
        local names = authorization(req).signed_headers
        assert.truthy((";" .. names .. ";"):find(";x-amz-security-token;", 1, true))
        assert_signed(req)
      end)
    end

    it("sends no X-Amz-Security-Token without a session token", function()
      local t = fake()
      local client = new("personalize", t)
      assert.is_table(client:list_schemas())
      assert.is_nil(header(t.requests[1], "X-Amz-Security-Token"))
    end)

    it("takes credentials as a credentials table too", function()
      local t = fake()
      local client = personalize.client("personalize", { region = "us-east-1", transport = t,
        credentials = { access_key_id = AKID, secret_access_key = SECRET, session_token = TOKEN } })
      assert.is_table(client:list_schemas())
      assert.are.equal(TOKEN, header(t.requests[1], "X-Amz-Security-Token"))
      assert_signed(t.requests[1])
    end)

    it("raises on half of a key pair", function()
      assert.has_error(function()
        personalize.client("personalize", { region = "us-east-1", transport = fake(), access_key_id = AKID })
      end)
    end)
  end)

  describe("endpoints", function()
    it("default to https://<prefix>.<region>.amazonaws.com", function()
      local c = new("personalize-runtime", fake(), { region = "eu-west-1" })
      assert.are.equal("https://personalize-runtime.eu-west-1.amazonaws.com", c.endpoint)
      assert.are.equal("eu-west-1", c.region)
    end)

    it("end in amazonaws.com.cn in China regions", function()
      local t = fake()
      local c = new("personalize", t, { region = "cn-north-1" })
      assert.are.equal("https://personalize.cn-north-1.amazonaws.com.cn", c.endpoint)
      assert.is_table(c:list_schemas())
      local req = t.requests[1]
      assert.are.equal("https://personalize.cn-north-1.amazonaws.com.cn/", req.url)
      assert.are.equal("personalize.cn-north-1.amazonaws.com.cn", header(req, "Host"))
      assert.are.equal("cn-north-1", authorization(req).region)
      assert_signed(req, "cn-north-1")
    end)

    it("are overridden by the endpoint option", function()
      local t = fake()
      local c = new("personalize-runtime", t, { endpoint = "http://127.0.0.1:4566/" })
      assert.are.equal("http://127.0.0.1:4566", c.endpoint)
      assert.is_table(c:get_recommendations { userId = "u1" })
      local req = t.requests[1]
      assert.are.equal("http://127.0.0.1:4566/recommendations", req.url)
      assert.are.equal("127.0.0.1:4566", header(req, "Host"))
      assert.are.equal("us-east-1", authorization(req).region)
      assert_signed(req)
    end)

    it("leave the default port out of Host", function()
      local t = fake()
      local c = new("personalize", t, { endpoint = "https://personalize.example.test:443" })
      assert.is_table(c:list_schemas())
      assert.are.equal("personalize.example.test", header(t.requests[1], "Host"))
    end)

    it("raise on an endpoint that is not a URL", function()
      assert.has_error(function() new("personalize", fake(), { endpoint = "personalize.local" }) end)
    end)
  end)

  describe("configuration from the environment", function()
    it("raises without a region, naming AWS_REGION and AWS_DEFAULT_REGION", function()
      local out = run_isolated [[
local ok, err = pcall(personalize.client, "personalize",
  { transport = transport, access_key_id = "A", secret_access_key = "S" })
show("ok", ok)
show("err", err)
]]
      local v = shown(out)
      assert.are.equal("false", v.ok, out)
      assert.truthy(v.err:find("AWS_REGION", 1, true), out)
      assert.truthy(v.err:find("AWS_DEFAULT_REGION", 1, true), out)
    end)

    it("takes the region from AWS_REGION, then AWS_DEFAULT_REGION", function()
      local code = [[
local c = personalize.client("personalize-events",
  { transport = transport, access_key_id = "A", secret_access_key = "S" })
show("region", c.region)
show("endpoint", c.endpoint)
]]
      local v = shown(run_isolated(code, { AWS_REGION = "eu-west-1" }))
      assert.are.equal("eu-west-1", v.region)
      assert.are.equal("https://personalize-events.eu-west-1.amazonaws.com", v.endpoint)
      v = shown(run_isolated(code, { AWS_DEFAULT_REGION = "ap-south-1" }))
      assert.are.equal("ap-south-1", v.region)
      v = shown(run_isolated(code, { AWS_REGION = "eu-west-1", AWS_DEFAULT_REGION = "ap-south-1" }))
      assert.are.equal("eu-west-1", v.region)
      v = shown(run_isolated([[
local c = personalize.client("personalize",
  { region = "us-west-2", transport = transport, access_key_id = "A", secret_access_key = "S" })
show("region", c.region)
]], { AWS_REGION = "eu-west-1" }))
      assert.are.equal("us-west-2", v.region)
    end)

    it("takes credentials from the environment", function()
      local out = run_isolated([[
local c = personalize.client("personalize", { transport = transport })
local res, err = c:list_schemas()
show("ok", res ~= nil)
show("err", err)
show("auth", sent[1].headers.Authorization)
show("token", sent[1].headers["X-Amz-Security-Token"])
show("client", c)
]], { AWS_REGION = "us-east-1", AWS_ACCESS_KEY_ID = "AKIAENVIRONMENT",
      AWS_SECRET_ACCESS_KEY = "environment-secret", AWS_SESSION_TOKEN = "environment-token" })
      local v = shown(out)
      assert.are.equal("true", v.ok, out)
      assert.matches("^AWS4%-HMAC%-SHA256 Credential=AKIAENVIRONMENT/%d+/us%-east%-1/personalize/aws4_request", v.auth)
      assert.are.equal("environment-token", v.token)
      assert.is_nil(out:find("environment-secret", 1, true))
    end)

    it("returns NoCredentialsError when there are none, sending nothing", function()
      local out = run_isolated([[
local c = personalize.client("personalize", { transport = transport })
local res, err = c:list_schemas()
show("res", res)
show("code", err.code)
show("retryable", err.retryable)
show("operation", err.operation)
show("sent", #sent)
show("message", err.message)
]], { AWS_REGION = "us-east-1" })
      local v = shown(out)
      assert.are.equal("nil", v.res, out)
      assert.are.equal("NoCredentialsError", v.code)
      assert.are.equal("false", v.retryable)
      assert.are.equal("ListSchemas", v.operation)
      assert.are.equal("0", v.sent)
      assert.truthy(v.message:find("AWS_ACCESS_KEY_ID", 1, true), v.message)
    end)

    it("retries 3 times in all by default, AWS_MAX_ATTEMPTS times when set", function()
      local code = [[
function transport.send(_, req)
  sent[#sent + 1] = req
  return 503, {}, ""
end
local c = personalize.client("personalize", { transport = transport })
local _, err = c:list_schemas()
show("sent", #sent)
show("attempts", err.attempts)
]]
      local env = { AWS_REGION = "us-east-1", AWS_ACCESS_KEY_ID = "A", AWS_SECRET_ACCESS_KEY = "S" }
      local v = shown(run_isolated(code, env))
      assert.are.equal("3", v.sent)
      assert.are.equal("3", v.attempts)
      env.AWS_MAX_ATTEMPTS = "5"
      v = shown(run_isolated(code, env))
      assert.are.equal("5", v.sent)
    end)
  end)

  describe("errors", function()
    it("read the awsJson __type, dropping the namespace before '#'", function()
      local t = fake { aws_json_error(400, "com.amazonaws.personalize#ResourceNotFoundException",
        "Could not find schema " .. SCHEMA_ARN, "req-404") }
      local client = new("personalize", t)
      local res, err = client:describe_schema { schemaArn = SCHEMA_ARN }
      assert.is_nil(res)
      assert.are.equal("ResourceNotFoundException", err.code)
      assert.are.equal("Could not find schema " .. SCHEMA_ARN, err.message)
      assert.are.equal(400, err.status)
      assert.are.equal("req-404", err.request_id)
      assert.are.equal("DescribeSchema", err.operation)
      assert.is_false(err.retryable)
      assert.is_true(personalize.errors().is_error(err))
      assert.are.equal("An error occurred (ResourceNotFoundException) when calling the DescribeSchema "
        .. "operation: Could not find schema " .. SCHEMA_ARN, tostring(err))
      assert.are.equal(1, #t.requests)
    end)

    it("read the bare __type too", function()
      local t = fake { aws_json_error(400, "InvalidInputException", "bad input", "req-1") }
      local _, err = new("personalize", t):list_schemas()
      assert.are.equal("InvalidInputException", err.code)
      assert.are.equal("An error occurred (InvalidInputException) when calling the ListSchemas operation: bad input",
        tostring(err))
    end)

    it("read restJson's x-amzn-errortype, dropping what follows ':'", function()
      local t = fake { { 400, {
        ["x-amzn-errortype"] = "InvalidInputException:http://internal.amazon.com/coral/com.amazon.personalize/",
        ["x-amzn-requestid"] = "req-7", ["content-type"] = "application/json",
      }, '{"message":"Invalid campaign ARN"}' } }
      local client = new("personalize-runtime", t)
      local res, err = client:get_recommendations { campaignArn = CAMPAIGN_ARN, userId = "u1" }
      assert.is_nil(res)
      assert.are.equal("InvalidInputException", err.code)
      assert.are.equal("Invalid campaign ARN", err.message)
      assert.are.equal("req-7", err.request_id)
      assert.are.equal("GetRecommendations", err.operation)
      assert.are.equal("An error occurred (InvalidInputException) when calling the GetRecommendations "
        .. "operation: Invalid campaign ARN", tostring(err))
    end)

    it("name the status when the body is not JSON", function()
      local t = fake { { 502, { ["content-type"] = "text/html", ["x-amzn-requestid"] = "req-9" },
        "<html><body>502 Bad Gateway</body></html>" } }
      local client = new("personalize", t, { max_attempts = 1 })
      local res, err = client:list_schemas()
      assert.is_nil(res)
      assert.are.equal("502", err.code)
      assert.are.equal(502, err.status)
      assert.are.equal("req-9", err.request_id)
      assert.truthy(err.message:find("502 Bad Gateway", 1, true))
      assert.is_true(err.retryable)
      assert.matches("^An error occurred %(502%) when calling the ListSchemas operation: ", tostring(err))
    end)

    it("hold no credentials, headers or bodies", function()
      local t = fake { aws_json_error(400, "InvalidInputException", "nope", "r") }
      local client = new("personalize", t, { session_token = TOKEN })
      local _, err = client:create_schema { name = "secret-schema", schema = "{}" }
      for k, v in pairs(err) do
        local s = tostring(v)
        assert.is_nil(s:find(SECRET, 1, true), k)
        assert.is_nil(s:find(TOKEN, 1, true), k)
        assert.is_nil(s:find("AWS4-HMAC-SHA256", 1, true), k)
        assert.is_nil(s:find("secret-schema", 1, true), k)
      end
    end)

    it("report a response that is not JSON on success", function()
      local t = fake { { 200, { ["x-amzn-requestid"] = "req-3" }, "not json" } }
      local _, err = new("personalize", t):list_schemas()
      assert.are.equal("ResponseParserError", err.code)
      assert.are.equal("req-3", err.request_id)
    end)
  end)

  describe("retries", function()
    it("succeed after two 500s, in three sends", function()
      local t = fake {
        aws_json_error(500, "InternalFailure", "oops", "a"),
        { 500, {}, "" },
        { 200, { ["x-amzn-requestid"] = "c" }, '{"schemas":[]}' },
      }
      local res, err = new("personalize", t):list_schemas()
      assert.is_nil(err)
      assert.are.same({}, res.schemas)
      assert.are.equal(3, #t.requests)
      assert.are.equal(2, #t.sleeps)
      assert.are.equal("c", res.ResponseMetadata.RequestId)
      for _, s in ipairs(t.sleeps) do
        assert.is_true(s >= 0 and s <= 20)
      end
    end)

    it("re-sign each attempt with the same body", function()
      local t = fake { { 503, {}, "" }, { 200, {}, "{}" } }
      assert.is_table(new("personalize", t):list_schemas { maxResults = 5 })
      assert.are.equal(2, #t.requests)
      assert.are.equal(t.requests[1].body, t.requests[2].body)
      assert_signed(t.requests[1])
      assert_signed(t.requests[2])
    end)

    it("retry ThrottlingException", function()
      local t = fake { aws_json_error(400, "ThrottlingException", "Rate exceeded", "a"), { 200, {}, "{}" } }
      local res, err = new("personalize", t):list_schemas()
      assert.is_nil(err)
      assert.is_table(res)
      assert.are.equal(2, #t.requests)
    end)

    it("retry throttling named in x-amzn-errortype", function()
      local t = fake { { 429, { ["x-amzn-errortype"] = "TooManyRequestsException:" }, '{"message":"slow"}' },
                       { 200, {}, '{"itemList":[]}' } }
      local res = new("personalize-runtime", t):get_recommendations { userId = "u1" }
      assert.is_table(res)
      assert.are.equal(2, #t.requests)
    end)

    it("do not retry ResourceNotFoundException", function()
      local t = fake { aws_json_error(404, "ResourceNotFoundException", "gone", "a"), { 200, {}, "{}" } }
      local res, err = new("personalize", t):describe_schema { schemaArn = SCHEMA_ARN }
      assert.is_nil(res)
      assert.are.equal("ResourceNotFoundException", err.code)
      assert.are.equal(1, #t.requests)
      assert.are.equal(0, #t.sleeps)
      assert.are.equal(1, err.attempts)
    end)

    it("honour max_attempts", function()
      local t = fake { aws_json_error(500, "InternalFailure", "oops", "a") }
      local _, err = new("personalize", t, { max_attempts = 5 }):list_schemas()
      assert.are.equal("InternalFailure", err.code)
      assert.are.equal(5, #t.requests)
      assert.are.equal(5, err.attempts)
      assert.are.equal(4, #t.sleeps)

      t = fake { aws_json_error(500, "InternalFailure", "oops", "a") }
      _, err = new("personalize", t, { max_attempts = 1 }):list_schemas()
      assert.are.equal(1, #t.requests)
      assert.are.equal(1, err.attempts)
      assert.is_true(err.retryable)
    end)

    it("raise on a bad max_attempts", function()
      assert.has_error(function() new("personalize", fake(), { max_attempts = 0 }) end)
      assert.has_error(function() new("personalize", fake(), { max_attempts = 2.5 }) end)
    end)

    it("pass a network error through, retryable", function()
      local t = fake { { nil, "EndpointConnectionError",
        'Could not connect to the endpoint URL: "https://personalize.us-east-1.amazonaws.com/"' } }
      local res, err = new("personalize", t, { max_attempts = 2 }):list_schemas()
      assert.is_nil(res)
      assert.are.equal("EndpointConnectionError", err.code)
      assert.are.equal('Could not connect to the endpoint URL: "https://personalize.us-east-1.amazonaws.com/"',
        err.message)
      assert.is_true(err.retryable)
      assert.is_nil(err.status)
      assert.are.equal(2, #t.requests)
      assert.are.equal("ListSchemas", err.operation)
    end)

    it("recover from a read timeout", function()
      local t = fake { { nil, "ReadTimeoutError", "Read timeout" }, { 200, {}, "{}" } }
      assert.is_table(new("personalize", t):list_schemas())
      assert.are.equal(2, #t.requests)
    end)
  end)

  describe("building blocks", function()
    it("credentials print the key id only", function()
      local credentials = require "personalize.credentials"
      local c = credentials.new(AKID, SECRET, TOKEN, "options")
      assert.are.equal("personalize.credentials (AKIDEXAMPLE, options, session)", tostring(c))
      local provider = credentials.resolve { access_key_id = AKID, secret_access_key = SECRET }
      assert.is_nil(tostring(provider):find(SECRET, 1, true))
      assert.are.equal(SECRET, provider:get().secret_access_key)
    end)

    it("backoff stays within full jitter, capped at 20 seconds", function()
      local retry = require "personalize.retry"
      for attempt = 1, 10 do
        for _ = 1, 20 do
          local d = retry.delay(attempt)
          assert.is_true(d >= 0 and d <= math.min(20, 2 ^ (attempt - 1)), tostring(d))
        end
      end
    end)

    it("errors say whether a retry may help", function()
      local errors = personalize.errors()
      assert.is_true(errors.retryable("ThrottlingException", 400))
      assert.is_true(errors.retryable("SomethingNew", 503))
      assert.is_true(errors.retryable("ReadTimeoutError", nil))
      assert.is_false(errors.retryable("InvalidInputException", 400))
      assert.is_false(errors.retryable("ResourceInUseException", 409))
      local e = errors.new { code = "EndpointConnectionError", message = "no route" }
      assert.is_true(e.retryable)
      assert.are.equal("EndpointConnectionError: no route", tostring(e))
      assert.is_false(errors.is_error { code = "x" })
    end)
  end)

  describe("results", function()
    it("carry ResponseMetadata", function()
      local headers = { ["x-amzn-requestid"] = "11111111-2222-3333-4444-555555555555",
                        ["content-type"] = "application/x-amz-json-1.1" }
      local t = fake { { 200, headers, '{"schemas":[{"name":"movies","domain":null}],"nextToken":null}' } }
      local res = assert(new("personalize", t):list_schemas())
      assert.are.equal("11111111-2222-3333-4444-555555555555", res.ResponseMetadata.RequestId)
      assert.are.equal(200, res.ResponseMetadata.HTTPStatusCode)
      assert.are.equal("application/x-amz-json-1.1", res.ResponseMetadata.HTTPHeaders["content-type"])
      assert.are.same({ { name = "movies" } }, res.schemas)
      assert.is_nil(res.nextToken)
    end)

    it("of operations without output are ResponseMetadata alone", function()
      local t = fake { { 200, { ["x-amzn-requestid"] = "r-5" }, "" } }
      local res = assert(new("personalize-events", t):put_users { datasetArn = DATASET_ARN,
        users = { { userId = "u1" } } })
      assert.are.equal("r-5", res.ResponseMetadata.RequestId)
      assert.are.equal(200, res.ResponseMetadata.HTTPStatusCode)
    end)
  end)

  describe("construction", function()
    it("raises on an unknown service, listing the known ones", function()
      local ok, err = pcall(personalize.client, "personalise", { region = "us-east-1" })
      assert.is_false(ok)
      assert.truthy(err:find('"personalise"', 1, true), err)
      assert.truthy(err:find("personalize, personalize-events, personalize-runtime", 1, true), err)
    end)

    it("accepts underscores in service names", function()
      local c = new("personalize_runtime", fake())
      assert.are.equal("personalize-runtime", c.service)
    end)

    it("raises on options that are not a table", function()
      assert.has_error(function() personalize.client("personalize", "us-east-1") end)
      assert.has_error(function() personalize.client(nil) end)
    end)

    it("prints service, region and endpoint, never the secret", function()
      local c = new("personalize-events", fake(), { session_token = TOKEN })
      local s = tostring(c)
      assert.are.equal("personalize.client (personalize-events, us-east-1, "
        .. "https://personalize-events.us-east-1.amazonaws.com)", s)
      assert.is_nil(s:find(SECRET, 1, true))
      assert.is_nil(s:find(TOKEN, 1, true))
    end)
  end)

  describe("debug", function()
    it("gets one line per request, with the operation and status", function()
      local lines = {}
      local t = fake { { 500, {}, "" }, { 200, { ["x-amzn-requestid"] = "req-42" }, "{}" } }
      local client = new("personalize", t, { session_token = TOKEN,
        debug = function(line) lines[#lines + 1] = line end })
      assert.is_table(client:list_schemas())
      assert.are.equal(2, #lines)
      assert.truthy(lines[1]:find("ListSchemas", 1, true))
      assert.truthy(lines[1]:find("500", 1, true))
      assert.truthy(lines[2]:find("ListSchemas", 1, true))
      assert.truthy(lines[2]:find("200", 1, true))
      assert.truthy(lines[2]:find("req-42", 1, true))
      for _, line in ipairs(lines) do
        assert.is_nil(line:find("\n", 1, true))
        assert.is_nil(line:find(SECRET, 1, true))
        assert.is_nil(line:find(TOKEN, 1, true))
        assert.is_nil(line:find("Authorization", 1, true))
        assert.is_nil(line:find("AWS4-HMAC-SHA256", 1, true))
        assert.is_nil(line:find(authorization(t.requests[1]).signature, 1, true))
      end
    end)

    it("names network errors", function()
      local lines = {}
      local t = fake { { nil, "ConnectTimeoutError", "Connect timeout" } }
      local client = new("personalize-runtime", t, { max_attempts = 1,
        debug = function(line) lines[#lines + 1] = line end })
      assert.is_nil(client:get_recommendations { userId = "u1" })
      assert.are.equal(1, #lines)
      assert.truthy(lines[1]:find("GetRecommendations", 1, true))
      assert.truthy(lines[1]:find("ConnectTimeoutError", 1, true))
    end)

    it("says nothing for requests that fail validation", function()
      local lines = {}
      local client = new("personalize", fake(), { debug = function(line) lines[#lines + 1] = line end })
      assert.is_nil(client:create_schema {})
      assert.are.equal(0, #lines)
    end)
  end)
end)
