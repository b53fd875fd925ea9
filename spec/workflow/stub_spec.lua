-- The Stubber: queued responses in order, expected params, errors, model
-- validation of params and responses, and no network while active.
local personalize = require "personalize"
local stubber = require "personalize.stub"

local ARN = "arn:aws:personalize:us-east-1:123456789012:schema/s"

-- A transport that counts what reaches it and answers an empty listing.
local function counting_transport()
  local t = { sent = 0 }
  function t:send()
    self.sent = self.sent + 1
    return 200, { ["x-amzn-requestid"] = "from-the-wire" }, '{"schemas":[]}'
  end
  t.sleep = function() end
  t.now = function() return 0 end
  return t
end

local function new_client(service, transport)
  return personalize.client(service or "personalize", {
    region = "us-east-1", max_attempts = 1, transport = transport or counting_transport(),
    credentials = { access_key_id = "AKIDSTUB", secret_access_key = "stub-secret" },
  })
end

local function raises(pattern, f, ...)
  local ok, msg = pcall(f, ...)
  assert.is_false(ok, "expected an error matching " .. pattern)
  assert.matches(pattern, tostring(msg), 1, true)
  return msg
end

describe("personalize.stub", function()
  local transport, client, stub

  before_each(function()
    transport = counting_transport()
    client = new_client("personalize", transport)
    stub = personalize.stub(client)
  end)
  after_each(function() stub:deactivate() end)

  it("answers queued responses in order without touching the network", function()
    stub:add_response("describe_schema", { schema = { name = "first", schemaArn = ARN } })
    stub:add_response("DescribeSchema", { schema = { name = "second" } })
    assert.are.equal("first", client:describe_schema { schemaArn = ARN }.schema.name)
    assert.are.equal("second", client:call("DescribeSchema", { schemaArn = ARN }).schema.name)
    assert.are.equal(0, transport.sent)
    stub:assert_no_pending()
    assert.are.same({ { operation = "DescribeSchema", params = { schemaArn = ARN } },
                      { operation = "DescribeSchema", params = { schemaArn = ARN } } }, stub.calls)
  end)

  it("is the module called as a function, and personalize.stub", function()
    assert.are.equal(stubber, personalize.stub)
    local s = stubber.new(new_client())
    assert.is_true(s.active)
    s:deactivate()
  end)

  it("returns a fresh copy with ResponseMetadata each time", function()
    local response = { schemas = { { name = "a" } } }
    stub:add_response("list_schemas", response)
    stub:add_response("list_schemas", response)
    local r1 = client:list_schemas {}
    assert.are.equal(200, r1.ResponseMetadata.HTTPStatusCode)
    assert.are.equal("stub-1", r1.ResponseMetadata.RequestId)
    r1.schemas[1].name = "changed"
    local r2 = client:list_schemas {}
    assert.are.equal("a", r2.schemas[1].name)
    assert.are.equal("stub-2", r2.ResponseMetadata.RequestId)
    assert.is_nil(response.ResponseMetadata)
  end)

  it("raises on a call to another operation than the next queued one", function()
    stub:add_response("list_schemas", { schemas = {} })
    raises("expected a call to ListSchemas, got a call to DescribeSchema", client.describe_schema, client,
      { schemaArn = ARN })
    assert.are.same({ "ListSchemas" }, stub:pending())
  end)

  it("raises on a call with nothing queued", function()
    raises("unexpected call to ListSchemas: no responses are pending", client.list_schemas, client, {})
  end)

  it("checks expected params deeply and names the first difference", function()
    local expected = { name = "sol", datasetGroupArn = ARN, solutionConfig = { hpoConfig = { hpoObjective = { type = "Maximize" } } } }
    stub:add_response("create_solution", { solutionArn = ARN }, expected)
    local msg = raises("at solutionConfig.hpoConfig.hpoObjective.type expected \"Maximize\", got \"Minimize\"",
      client.create_solution, client,
      { name = "sol", datasetGroupArn = ARN, solutionConfig = { hpoConfig = { hpoObjective = { type = "Minimize" } } } })
    assert.matches("CreateSolution was called with unexpected parameters", msg, 1, true)
    assert.matches('expected: { datasetGroupArn = "' .. ARN, msg, 1, true)
    assert.matches('received: { datasetGroupArn = "', msg, 1, true)

    raises('at name expected "sol", got nothing', client.create_solution, client, { datasetGroupArn = ARN })
    raises('at performHPO expected nothing, got true', client.create_solution, client,
      { name = "sol", datasetGroupArn = ARN, performHPO = true,
        solutionConfig = { hpoConfig = { hpoObjective = { type = "Maximize" } } } })
    assert.are.equal(ARN, client:create_solution(expected).solutionArn)
    stub:assert_no_pending()
  end)

  it("compares list members by position", function()
    stub:add_response("list_schemas", {}, { maxResults = 5 })
    raises("at maxResults expected 5, got 6", client.list_schemas, client, { maxResults = 6 })
    local events = new_client("personalize-events")
    local s = personalize.stub(events)
    s:add_response("put_events", {}, { trackingId = "t", sessionId = "s",
      eventList = { { eventType = "click", sentAt = 1 }, { eventType = "buy", sentAt = 2 } } })
    raises('at eventList[2].eventType expected "buy", got "view"', events.put_events, events,
      { trackingId = "t", sessionId = "s",
        eventList = { { eventType = "click", sentAt = 1 }, { eventType = "view", sentAt = 2 } } })
    s:deactivate()
  end)

  it("matches anything with stub.ANY", function()
    stub:add_response("list_schemas", { schemas = {} }, { maxResults = stubber.ANY, nextToken = stub.ANY })
    assert(client:list_schemas { maxResults = 7, nextToken = "whatever" })
    stub:add_response("list_schemas", { schemas = {} }, { maxResults = stubber.ANY })
    raises("at maxResults expected <ANY>, got nothing", client.list_schemas, client, {})
  end)

  it("queues errors that read like the service's", function()
    stub:add_error("describe_schema", "ResourceNotFoundException", "Schema not found")
    stub:add_error("list_schemas", "ThrottlingException", "slow down", 429)
    local res, err = client:describe_schema { schemaArn = ARN }
    assert.is_nil(res)
    assert.is_true(personalize.errors().is_error(err))
    assert.are.equal("ResourceNotFoundException", err.code)
    assert.are.equal("Schema not found", err.message)
    assert.are.equal(400, err.status)
    assert.are.equal("DescribeSchema", err.operation)
    assert.is_false(err.retryable)
    assert.are.equal("An error occurred (ResourceNotFoundException) when calling the DescribeSchema operation: "
      .. "Schema not found", tostring(err))
    local _, throttled = client:list_schemas {}
    assert.are.equal(429, throttled.status)
    assert.is_true(throttled.retryable)
    stub:assert_no_pending()
  end)

  it("checks expected params of queued errors too", function()
    stub:add_error("describe_schema", "ResourceNotFoundException", "gone", nil, { schemaArn = ARN })
    raises("at schemaArn", client.describe_schema, client, { schemaArn = ARN .. "x" })
  end)

  it("validates params as the real client does, leaving the response queued", function()
    local real = new_client("personalize", transport)
    local bad = { schemaArn = 42, extra = true }
    local _, want = real:describe_schema(bad)
    stub:add_response("describe_schema", { schema = { name = "s" } })
    local res, err = client:describe_schema(bad)
    assert.is_nil(res)
    assert.are.equal("ParamValidation", err.code)
    assert.are.equal(want.message, err.message)
    assert.are.equal(tostring(want), tostring(err))
    assert.are.same({ "DescribeSchema" }, stub:pending())
    local _, nontable = client:describe_schema("arn")
    assert.are.equal("ParamValidation", nontable.code)
    assert.matches("parameters must be a table, got string", nontable.message, 1, true)
    assert(client:describe_schema { schemaArn = ARN })
    assert.are.equal(0, transport.sent)
  end)

  it("refuses responses that do not fit the output shape", function()
    raises("schemaz: unknown member; valid members: nextToken, schemas",
      stub.add_response, stub, "list_schemas", { schemaz = {} })
    raises("schemas: expected a list", stub.add_response, stub, "list_schemas", { schemas = "many" })
    raises("must be a table", stub.add_response, stub, "list_schemas", "nope")
    -- ResponseMetadata is allowed and kept.
    stub:add_response("list_schemas", { schemas = {}, ResponseMetadata = { RequestId = "mine" } })
    assert.are.equal("mine", client:list_schemas {}.ResponseMetadata.RequestId)
  end)

  it("refuses unknown operations and bad arguments", function()
    raises("personalize has no operation list_schemes", stub.add_response, stub, "list_schemes", {})
    raises("needs an error code", stub.add_error, stub, "list_schemas")
    raises("expected params for ListSchemas must be a table", stub.add_response, stub, "list_schemas", {}, "x")
    raises("a client", stubber, {})
  end)

  it("asserts that nothing is left, listing what is", function()
    stub:assert_no_pending()
    stub:add_response("list_schemas", {})
    stub:add_error("describe_schema", "ResourceNotFoundException", "gone")
    raises("2 response(s) still pending: ListSchemas, DescribeSchema", stub.assert_no_pending, stub)
  end)

  it("gives the real call path back when deactivated, and takes it again", function()
    stub:add_response("list_schemas", { schemas = { { name = "stubbed" } } })
    stub:deactivate()
    local res = assert(client:list_schemas {})
    assert.are.equal("from-the-wire", res.ResponseMetadata.RequestId)
    assert.are.equal(1, transport.sent)
    stub:activate()
    assert.are.equal("stubbed", client:list_schemas {}.schemas[1].name)
    assert.are.equal(1, transport.sent)
    assert.matches("personalize.stub %(personalize, 0 pending%)", tostring(stub))
  end)
end)
