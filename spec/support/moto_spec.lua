-- support.moto on its own, driven with the aws CLI only (no lua-personalize):
-- the peer starts, hands out a key that moto accepts, and refuses others.
local moto = require "support.moto"
local process = require "support.process"

local SCHEMA = '{"type":"record","name":"Interactions","namespace":"com.amazonaws.personalize.schema",'
  .. '"fields":[{"name":"USER_ID","type":"string"},{"name":"ITEM_ID","type":"string"},'
  .. '{"name":"TIMESTAMP","type":"long"}],"version":"1.0"}'

local BUCKET = "lua-personalize-spec-bucket"

-- What `aws` prints when moto refuses a signature on a Personalize call:
-- moto answers a JSON-protocol request with an IAM-style XML document
-- (403), which botocore cannot parse, so the CLI shows the status and the
-- raw body.
local function assert_refused_xml(res, code)
  assert.is_false(res.ok, res.stdout)
  assert.truthy(res.stderr:find("An error occurred (403)", 1, true), res.stderr)
  assert.truthy(res.stderr:find("<Code>" .. code .. "</Code>", 1, true), res.stderr)
end

local function schema_arn(peer, name)
  return ("arn:aws:personalize:%s:%s:schema/%s"):format(peer.region, peer.account_id, name)
end

describe("support.moto with signature checks (auth = true)", function()
  local peer

  lazy_setup(function()
    peer = moto.start { auth = true }
  end)

  lazy_teardown(function()
    if peer then peer:stop() end
  end)

  local function need_peer()
    if not peer then pending("moto_server or the aws CLI is not installed") end
  end

  it("describes a running peer with a key of its own", function()
    need_peer()
    assert.are.equal("http://127.0.0.1:" .. peer.port, peer.endpoint)
    assert.truthy(peer.endpoint:match("^http://127%.0%.0%.1:%d+$"))
    assert.are.equal("us-east-1", peer.region)
    assert.are.equal("123456789012", peer.account_id)
    assert.is_true(peer.auth)
    assert.truthy(peer.access_key_id:match("^AKIA[A-Z0-9]+$"), peer.access_key_id)
    assert.are.equal(40, #peer.secret_access_key)
    assert.is_true(process.port_open(peer.port))
  end)

  it("creates and describes a Personalize schema with the key", function()
    need_peer()
    local created = peer:aws { "personalize", "create-schema", "--name", "x", "--schema", SCHEMA }
    assert.is_true(created.ok, created.stderr)
    assert.are.same({ schemaArn = schema_arn(peer, "x") }, created.json)

    local described = peer:aws { "personalize", "describe-schema", "--schema-arn", schema_arn(peer, "x") }
    assert.is_true(described.ok, described.stderr)
    assert.are.equal("x", described.json.schema.name)
    assert.are.equal(schema_arn(peer, "x"), described.json.schema.schemaArn)
    assert.are.equal(SCHEMA, described.json.schema.schema)
    assert.is_number(described.json.schema.creationDateTime)

    local listed = peer:aws { "personalize", "list-schemas" }
    assert.is_true(listed.ok, listed.stderr)
    assert.are.equal(1, #listed.json.schemas)
    assert.are.equal("x", listed.json.schemas[1].name)
  end)

  it("reports a missing schema as ResourceNotFoundException", function()
    need_peer()
    local res = peer:aws { "personalize", "describe-schema", "--schema-arn", schema_arn(peer, "missing") }
    assert.is_false(res.ok)
    assert.are_not.equal(0, res.code)
    assert.truthy(res.stderr:find("An error occurred (ResourceNotFoundException) when calling the "
      .. "DescribeSchema operation", 1, true), res.stderr)
    assert.truthy(res.stderr:find("Resource Arn " .. schema_arn(peer, "missing") .. " does not exist.", 1, true),
      res.stderr)
  end)

  it("refuses a Personalize call signed with a wrong secret: SignatureDoesNotMatch", function()
    need_peer()
    local res = peer:aws({ "personalize", "describe-schema", "--schema-arn", schema_arn(peer, "x") },
      { secret_access_key = "not-the-secret" })
    assert_refused_xml(res, "SignatureDoesNotMatch")
    assert.truthy(res.stderr:find("when calling the DescribeSchema operation", 1, true), res.stderr)
  end)

  it("refuses an unknown access key: InvalidClientTokenId", function()
    need_peer()
    local res = peer:aws({ "personalize", "list-schemas" },
      { access_key_id = "AKIAUNKNOWNKEY000000" })
    assert_refused_xml(res, "InvalidClientTokenId")
  end)

  it("has used up its unauthenticated calls: the dummy key is refused", function()
    need_peer()
    local res = moto.aws(peer.endpoint, { "iam", "list-users" })
    assert.is_false(res.ok)
    assert.truthy(res.stderr:find("An error occurred (InvalidClientTokenId) when calling the ListUsers operation",
      1, true), res.stderr)
  end)

  it("serves S3 with the key and refuses a wrong secret", function()
    need_peer()
    local created = peer:aws { "s3api", "create-bucket", "--bucket", BUCKET }
    assert.is_true(created.ok, created.stderr)

    local listed = peer:aws { "s3api", "list-buckets" }
    assert.is_true(listed.ok, listed.stderr)
    local names = {}
    for _, b in ipairs(listed.json.Buckets) do names[#names + 1] = b.Name end
    assert.are.same({ BUCKET }, names)

    local refused = peer:aws({ "s3api", "list-buckets" }, { secret_access_key = "not-the-secret" })
    assert.is_false(refused.ok)
    -- S3 errors are XML that botocore parses, so the code shows up directly.
    assert.truthy(refused.stderr:find("An error occurred (SignatureDoesNotMatch) when calling the "
      .. "ListBuckets operation", 1, true), refused.stderr)
  end)

  it("deletes the schema", function()
    need_peer()
    local deleted = peer:aws { "personalize", "delete-schema", "--schema-arn", schema_arn(peer, "x") }
    assert.is_true(deleted.ok, deleted.stderr)
    local listed = peer:aws { "personalize", "list-schemas" }
    assert.are.same({}, listed.json.schemas)
  end)
end)

describe("support.moto without signature checks (auth = false)", function()
  local peer

  lazy_setup(function()
    -- This block drives moto with the aws CLI too (start{ auth = false }
    -- itself does not need it).
    if process.require_peer("aws", "support/moto_spec.lua drives moto with it") then
      peer = moto.start { auth = false }
    end
  end)

  lazy_teardown(function()
    if peer then peer:stop() end
  end)

  local function need_peer()
    if not peer then pending("moto_server or the aws CLI is not installed") end
  end

  it("hands out the dummy key", function()
    need_peer()
    assert.is_false(peer.auth)
    assert.are.equal("testing", peer.access_key_id)
    assert.are.equal("testing", peer.secret_access_key)
    assert.are.equal("us-east-1", peer.region)
  end)

  it("accepts any signature", function()
    need_peer()
    local created = peer:aws { "personalize", "create-schema", "--name", "y", "--schema", SCHEMA }
    assert.is_true(created.ok, created.stderr)
    local res = peer:aws({ "personalize", "list-schemas" },
      { access_key_id = "AKIAANYTHING", secret_access_key = "anything" })
    assert.is_true(res.ok, res.stderr)
    assert.are.equal("y", res.json.schemas[1].name)
  end)

  it("stops, idempotently, and frees its port", function()
    need_peer()
    assert.is_true(process.port_open(peer.port))
    peer:stop()
    peer:stop()
    assert.is_false(process.port_open(peer.port))
    assert.is_false(peer.process:alive())
  end)
end)
