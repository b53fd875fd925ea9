-- Against moto_server with signature verification on: a real peer accepts
-- what the client signs, and refuses a wrong secret or an unknown key.
local personalize = require "personalize"
local moto = require "support.moto"

local SCHEMA = '{"type":"record","name":"Interactions","namespace":"com.amazonaws.personalize.schema",'
  .. '"fields":[{"name":"USER_ID","type":"string"},{"name":"ITEM_ID","type":"string"},'
  .. '{"name":"TIMESTAMP","type":"long"}],"version":"1.0"}'

describe("the client against moto_server (SigV4 verified)", function()
  local peer, client

  setup(function()
    peer = moto.start { auth = true }
    if peer then
      client = personalize.client("personalize", {
        endpoint = peer.endpoint, region = peer.region, max_attempts = 1,
        credentials = { access_key_id = peer.access_key_id, secret_access_key = peer.secret_access_key },
      })
    end
  end)
  teardown(function() if peer then peer:stop() end end)

  local function with(key_id, secret)
    return personalize.client("personalize", {
      endpoint = peer.endpoint, region = peer.region, max_attempts = 1,
      credentials = { access_key_id = key_id, secret_access_key = secret },
    })
  end

  it("creates, describes, lists and deletes a schema", function()
    if not peer then return end
    local created = assert(client:create_schema { name = "spec-schema", schema = SCHEMA })
    assert.are.equal("arn:aws:personalize:us-east-1:123456789012:schema/spec-schema", created.schemaArn)
    assert.are.equal(200, created.ResponseMetadata.HTTPStatusCode)
    assert.is_string(created.ResponseMetadata.RequestId)

    local described = assert(client:describe_schema { schemaArn = created.schemaArn })
    assert.are.equal("spec-schema", described.schema.name)
    assert.are.equal(SCHEMA, described.schema.schema)

    local listed = assert(client:list_schemas {})
    local names = {}
    for _, s in ipairs(listed.schemas) do names[#names + 1] = s.name end
    assert.are.same({ "spec-schema" }, names)

    assert(client:delete_schema { schemaArn = created.schemaArn })
    local res, err = client:describe_schema { schemaArn = created.schemaArn }
    assert.is_nil(res)
    assert.are.equal("ResourceNotFoundException", err.code)
    assert.are.equal(400, err.status)
    assert.are.equal("DescribeSchema", err.operation)
    assert.is_false(err.retryable)
  end)

  it("is refused with a wrong secret key", function()
    if not peer then return end
    local res, err = with(peer.access_key_id, "not-the-secret"):list_schemas {}
    assert.is_nil(res)
    assert.are.equal("SignatureDoesNotMatch", err.code)
    assert.are.equal(403, err.status)
    assert.truthy(tostring(err):find("when calling the ListSchemas operation", 1, true))
    assert.is_nil(tostring(err):find("not-the-secret", 1, true))
  end)

  it("is refused with an unknown access key", function()
    if not peer then return end
    local res, err = with("AKIAUNKNOWNKEY000000", peer.secret_access_key):list_schemas {}
    assert.is_nil(res)
    assert.are.equal(403, err.status)
    assert.are.equal("InvalidClientTokenId", err.code)
  end)
end)
