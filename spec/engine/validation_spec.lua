-- personalize-local validates every request against the model as the
-- service does and answers only valid UTF-8: bad names through the AWS
-- CLI and raw requests, raw bytes of an imported file, an XML entity
-- bomb; and the client's own refusals (properties that are not JSON, a
-- local:DIR that cannot be opened).
local cjson = require "cjson"
local socket = require "socket"
local personalize = require "personalize"
local engine_server = require "support.engine_server"
local engine_local = require "support.engine_local"
local raw = require "support.raw_request"

-- Independent of the engine's code: RFC 3629 well-formedness.
local function valid_utf8(s)
  local i, n = 1, #s
  while i <= n do
    local c = s:byte(i)
    local len, lo, hi
    lo, hi = 128, 191
    if c < 128 then len = -1
    elseif c >= 194 and c <= 223 then len = 1
    elseif c == 224 then len, lo = 2, 160
    elseif c == 237 then len, hi = 2, 159
    elseif c >= 225 and c <= 239 then len = 2
    elseif c == 240 then len, lo = 3, 144
    elseif c == 244 then len, hi = 3, 143
    elseif c >= 241 and c <= 243 then len = 3
    else return false end
    if len < 0 then
      i = i + 1
    else
      local c2 = s:byte(i + 1)
      if not c2 or c2 < lo or c2 > hi then return false end
      for k = 2, len do
        local ck = s:byte(i + k)
        if not ck or ck < 128 or ck > 191 then return false end
      end
      i = i + len + 1
    end
  end
  return true
end

describe("personalize-local request validation", function()
  local server, client

  lazy_setup(function()
    server = engine_server.start { timings = { pending = 0.05, in_progress = 0.1 } }
    client = personalize.client("personalize", server.client_opts())
  end)

  lazy_teardown(function()
    if server then server.stop() end
  end)

  -- The model's patterns match whole values on the service side:
  -- CreateDatasetGroup's name is ^[a-zA-Z0-9][a-zA-Z0-9\-_]* (API
  -- reference, CreateDatasetGroup, "Pattern"), so a space is refused.
  it("refuses names that do not match the model's pattern, through the AWS CLI", function()
    local res = server.aws { "personalize", "create-dataset-group", "--name", "bad name" }
    assert.is_false(res.ok)
    assert.matches("InvalidInputException", res.stderr, 1, true)
    assert.matches("name: value \"bad name\" does not match the pattern", res.stderr, 1, true)
    res = server.aws { "personalize", "create-dataset-group", "--name", "good-name_1" }
    assert.is_true(res.ok, res.stderr)
    res = server.aws { "personalize", "create-schema", "--name", "s.1", "--schema", engine_local.INTERACTIONS_SCHEMA }
    assert.is_false(res.ok)
    assert.matches("InvalidInputException", res.stderr, 1, true)
  end)

  it("refuses bytes that are not UTF-8 at create time, naming the member", function()
    local status, doc = raw.personalize_call(server, "CreateDatasetGroup", { name = "\255\254" })
    assert.equal(400, status)
    assert.equal("InvalidInputException", doc.__type)
    assert.matches("name: value is not valid UTF-8", doc.message, 1, true)
    status, doc = raw.personalize_call(server, "CreateDatasetGroup", { name = "ok",
      tags = { { tagKey = "team", tagValue = "caf\233" } } })
    assert.equal(400, status)
    assert.matches("tags[1].tagValue: value is not valid UTF-8", doc.message, 1, true)
    local res = server.aws { "personalize", "list-dataset-groups" }
    assert.is_true(res.ok, res.stderr)
    for _, g in ipairs(res.json.datasetGroups) do assert.is_true(valid_utf8(g.name)) end
  end)

  -- Polls a Describe call until the status is one of `want`; the resource.
  local function wait(op, arn_member, arn, member, want)
    local deadline = socket.gettime() + 60
    while true do
      local r = assert(client[op](client, { [arn_member] = arn }))[member]
      for _, w in ipairs(want) do if r.status == w then return r end end
      assert(socket.gettime() < deadline, op .. " did not reach " .. table.concat(want, "/"))
      socket.sleep(0.05)
    end
  end

  it("answers valid UTF-8 when an import fails on raw bytes, for the AWS CLI", function()
    local group = assert(client:create_dataset_group { name = "bytes" }).datasetGroupArn
    wait("describe_dataset_group", "datasetGroupArn", group, "datasetGroup", { "ACTIVE" })
    local schema = assert(client:create_schema { name = "bytes-i", schema = engine_local.INTERACTIONS_SCHEMA }).schemaArn
    local ds = assert(client:create_dataset { name = "bytes-i", schemaArn = schema, datasetGroupArn = group,
      datasetType = "Interactions" }).datasetArn
    wait("describe_dataset", "datasetArn", ds, "dataset", { "ACTIVE" })
    local s3 = personalize.client("s3", server.client_opts())
    assert(s3:create_bucket { Bucket = "bytes" })
    assert(s3:put_bucket_policy { Bucket = "bytes", Policy = engine_local.bucket_policy("bytes") })
    -- UTF-16 with its BOM, and a gzip header: raw bytes in the header line
    local files = {
      utf16 = "\255\254U\0S\0E\0R\0_\0I\0D\0,\0I\0T\0E\0M\0_\0I\0D\0\n\0",
      gzip = "\31\139\8\0\0\0\0\0\0\3\203\72\205\201\201\7\0\134\166\16\54\5\0\0\0",
    }
    local jobs = {}
    for _, name in ipairs { "utf16", "gzip" } do
      assert(s3:put_object { Bucket = "bytes", Key = name .. ".csv", Body = files[name] })
      local arn = assert(client:create_dataset_import_job { jobName = "bytes-" .. name, datasetArn = ds,
        dataSource = { dataLocation = "s3://bytes/" .. name .. ".csv" }, roleArn = engine_local.ROLE }).datasetImportJobArn
      jobs[name] = arn
      local job = wait("describe_dataset_import_job", "datasetImportJobArn", arn, "datasetImportJob",
        { "CREATE FAILED", "ACTIVE" })
      assert.equal("CREATE FAILED", job.status)
      assert.is_true(valid_utf8(job.failureReason), job.failureReason)
      local status, _, body = raw.send(server, { method = "POST", path = "/", body = cjson.encode { datasetImportJobArn = arn },
        signed = { ["Content-Type"] = "application/x-amz-json-1.1",
                   ["X-Amz-Target"] = "AmazonPersonalize.DescribeDatasetImportJob" } })
      assert.equal(200, status)
      assert.is_true(valid_utf8(body))
    end
    local res = server.aws { "personalize", "list-dataset-import-jobs", "--dataset-arn", ds }
    assert.is_true(res.ok, res.stderr)
    assert.equal(2, #res.json.datasetImportJobs)
    res = server.aws { "personalize", "describe-dataset-import-job", "--dataset-import-job-arn", jobs.utf16 }
    assert.is_true(res.ok, res.stderr)
    assert.truthy(res.json.datasetImportJob.failureReason)
  end)

  it("answers an XML entity-expansion body with MalformedXML", function()
    local s3 = personalize.client("s3", server.client_opts())
    assert(s3:create_bucket { Bucket = "xml-bomb" })
    local entities = { '<!ENTITY a0 "lol">' }
    for i = 1, 9 do
      entities[#entities + 1] = ('<!ENTITY a%d "%s">'):format(i, ("&a" .. (i - 1) .. ";"):rep(10))
    end
    for _, body in ipairs {
      '<?xml version="1.0"?><!DOCTYPE d [' .. table.concat(entities) .. ']><Delete><Object><Key>&a9;</Key></Object></Delete>',
      '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><Delete><Object><Key>&x;</Key></Object></Delete>',
      '<Delete><Object><Key>unclosed</Key></Object>',
    } do
      local status, _, res = raw.send(server, { method = "POST", path = "/xml-bomb", query = "delete=",
        service = "s3", body = body, payload = require("personalize.core").sha256_hex(body),
        signed = { ["X-Amz-Content-Sha256"] = require("personalize.core").sha256_hex(body) } })
      assert.equal(400, status)
      assert.equal("MalformedXML", raw.xml(res, "Code"))
      assert.falsy(res:find(".lua", 1, true))
    end
  end)
end)

describe("the client's refusals", function()
  local env

  before_each(function() env = engine_local.new() end)
  after_each(function() env.close() end)

  it("returns ParamValidation for properties that are functions or cyclic tables", function()
    local cyclic = {}
    cyclic.self = cyclic
    for _, props in ipairs { { f = print }, cyclic, { nested = { co = coroutine.create(print) } } } do
      local res, err = env.events:put_events { trackingId = "t", sessionId = "s",
        eventList = { { eventType = "click", sentAt = 1700000000, itemId = "i1", properties = props } } }
      assert.is_nil(res)
      assert.equal("ParamValidation", err.code)
      assert.matches("eventList[1].properties: not a JSON document", err.message, 1, true)
    end
    local res, err = env.events:put_items {
      datasetArn = "arn:aws:personalize:us-east-1:123456789012:dataset/g/ITEMS",
      items = { { itemId = "i1", properties = { cb = function() end } } } }
    assert.is_nil(res)
    assert.equal("ParamValidation", err.code)
  end)

  it("returns nil, err from a call when the local:DIR directory cannot be opened", function()
    local c = personalize.client("personalize", { endpoint = "local:/proc/personalize-local/none", max_attempts = 1 })
    local ok, res, err = pcall(c.list_schemas, c, {})
    assert.is_true(ok, tostring(res))
    assert.is_nil(res)
    assert.equal("EndpointConnectionError", err.code)
    assert.matches("personalize-local", err.message, 1, true)
  end)
end)

describe("personalize-local's internal errors", function()
  it("answer InternalFailure without naming a source file", function()
    local env = engine_local.new()
    local eng = env.engine
    eng.dispatch = function() error("state is broken") end
    local res = eng:handle { method = "POST", path = "/", headers = {}, body = "{}" }
    env.close()
    assert.equal(500, res.status)
    local doc = cjson.decode(res.body)
    assert.equal("InternalFailure", doc.__type)
    assert.equal("personalize-local: state is broken", doc.message)
  end)
end)
