-- personalize-local accepts what AWS accepts: the calls, orders and files
-- of AWS's own published code (the developer guide's examples and the
-- aws-samples/amazon-personalize-samples notebooks, whose saved outputs
-- record what AWS answered), replayed with boto3 and the AWS CLI against
-- bin/personalize-local at its default timings, and with this project's
-- clients in-process and over HTTP. Each case names the evidence; SAMPLES
-- stands for the aws-samples/amazon-personalize-samples repository.
local support = require "support.engine_local"
local engine_server = require "support.engine_server"
local boto3 = require "support.boto3"
local client = require "personalize.client"
local core = require "personalize.core"
local process = require "support.process"

local RECIPE = "arn:aws:personalize:::recipe/"

local ITEMS_SCHEMA = [[{"type":"record","name":"Items","namespace":"com.amazonaws.personalize.schema",
"fields":[{"name":"ITEM_ID","type":"string"},{"name":"GENRES","type":"string","categorical":true}],"version":"1.0"}]]

local function items_csv()
  local lines = { "ITEM_ID,GENRES" }
  for i = 1, 40 do lines[#lines + 1] = ("item%d,%s"):format(i, i % 2 == 0 and "Drama" or "Comedy") end
  return table.concat(lines, "\n") .. "\n"
end

local function ids(list)
  local out = {}
  for i, x in ipairs(list) do out[i] = x.itemId end
  return out
end

local function arn_of(res, member) return assert(res, "call failed")[member] end

-- Runs due lifecycle steps in-process; over HTTP, polls `status()` until
-- it leaves the pending and in-progress states (or 60 s pass).
local function settled(env, status)
  env.settle()
  local deadline = os.time() + 60
  local s = status()
  while not env.in_process and (s:find("PENDING$") or s:find("IN_PROGRESS$")) and os.time() < deadline do
    core.sleep(0.05)
    s = status()
  end
  return s
end

for _, backend in ipairs(support.backends()) do
describe(("personalize-local as AWS's published code uses it (%s)"):format(backend), function()
  local env
  before_each(function() env = support.new { backend = backend } end)
  after_each(function() env.close() end)

  describe("lifecycles", function()
    -- SAMPLES next_steps/core_use_cases/user_segmentation/user_segmentation_example.ipynb
    -- describes a solution a second after creating it: status ACTIVE,
    -- lastUpdatedDateTime equal to creationDateTime; the developer guide's
    -- example creates the solution version right after the solution.
    it("takes a solution version right after create_solution; the solution is ACTIVE at once", function()
      local group = arn_of(env.personalize:create_dataset_group { name = "lc" }, "datasetGroupArn")
      env.settle()
      local sol = arn_of(env.personalize:create_solution { name = "s", datasetGroupArn = group,
        recipeArn = RECIPE .. "aws-popularity-count" }, "solutionArn")
      local d = assert(env.personalize:describe_solution { solutionArn = sol }).solution
      assert.equal("ACTIVE", d.status)
      assert.equal(d.creationDateTime, d.lastUpdatedDateTime)
      local sv = arn_of(env.personalize:create_solution_version { solutionArn = sol }, "solutionVersionArn")
      local v = assert(env.personalize:describe_solution_version { solutionVersionArn = sv }).solutionVersion
      if env.in_process then assert.equal("CREATE PENDING", v.status) end
      -- What AWS refuses stays refused: a campaign needs an ACTIVE version.
      if env.in_process then
        local _, err = env.personalize:create_campaign { name = "c", solutionVersionArn = sv }
        assert.equal("ResourceInUseException", err.code)
      end
    end)

    -- SAMPLES next_steps/workshops/POC_in_a_box/completed/02_Validating_and_Importing_Item_Metadata.ipynb
    -- creates the Items dataset and its import job six seconds apart with no
    -- wait; recorded runs of other notebooks print the dataset's status
    -- CREATE PENDING, then ACTIVE.
    it("takes an import job right after create_dataset", function()
      local group = arn_of(env.personalize:create_dataset_group { name = "lc2" }, "datasetGroupArn")
      env.settle()
      local schema = arn_of(env.personalize:create_schema { name = "s-lc2", schema = support.INTERACTIONS_SCHEMA },
        "schemaArn")
      local ds = arn_of(env.personalize:create_dataset { name = "d", schemaArn = schema, datasetGroupArn = group,
        datasetType = "Interactions" }, "datasetArn")
      local status = assert(env.personalize:describe_dataset { datasetArn = ds }).dataset.status
      if env.in_process then assert.equal("CREATE PENDING", status) end
      env.upload("lc2", "i.csv", support.interactions_csv(3, 3))
      local job = arn_of(env.personalize:create_dataset_import_job { jobName = "j", datasetArn = ds,
        dataSource = { dataLocation = "s3://lc2/i.csv" }, roleArn = support.ROLE }, "datasetImportJobArn")
      assert.equal("ACTIVE", settled(env, function()
        return assert(env.personalize:describe_dataset_import_job { datasetImportJobArn = job }).datasetImportJob.status
      end))
      assert.equal("ACTIVE", assert(env.personalize:describe_dataset { datasetArn = ds }).dataset.status)
    end)

    it("has a filter ACTIVE at once, usable in the same second", function()
      local sv, group = support.trained(env, { name = "lc3", items_schema = ITEMS_SCHEMA, items_csv = items_csv() })
      local f = arn_of(env.personalize:create_filter { name = "drama", datasetGroupArn = group,
        filterExpression = 'INCLUDE ItemID WHERE Items.GENRES IN ("Drama")' }, "filterArn")
      assert.equal("ACTIVE", assert(env.personalize:describe_filter { filterArn = f }).filter.status)
      local c = arn_of(env.personalize:create_campaign { name = "c", solutionVersionArn = sv }, "campaignArn")
      env.settle()
      local recs = assert(env.runtime:get_recommendations { campaignArn = c, userId = "user1", filterArn = f,
        numResults = 5 })
      assert.equal(5, #recs.itemList)
      for _, id in ipairs(ids(recs.itemList)) do assert.equal(0, tonumber(id:match("%d+")) % 2) end
    end)
  end)

  describe("filters", function()
    -- SAMPLES next_steps/workshops/POC_in_a_box/completed/04_Deploying_Campaigns_and_Filters.ipynb
    -- creates 'EXCLUDE ItemID WHERE Interactions.event_type IN ("watch")'
    -- and 05_Interacting_with_Campaigns_and_Filters.ipynb gets
    -- recommendations through it (recorded output).
    it("take lower-case field names, and they work", function()
      local sv, group = support.trained(env, { name = "lf", items_schema = ITEMS_SCHEMA, items_csv = items_csv() })
      local c = arn_of(env.personalize:create_campaign { name = "c", solutionVersionArn = sv }, "campaignArn")
      local tracker = arn_of(env.personalize:create_event_tracker { name = "t", datasetGroupArn = group }, "trackingId")
      local lower = arn_of(env.personalize:create_filter { name = "lower", datasetGroupArn = group,
        filterExpression = "EXCLUDE ItemID WHERE Interactions.event_type IN ($EVENT_TYPE)" }, "filterArn")
      local items = arn_of(env.personalize:create_filter { name = "items-lower", datasetGroupArn = group,
        filterExpression = 'INCLUDE ItemID WHERE Items.genres IN ("Drama")' }, "filterArn")
      env.settle()
      local plain = ids(assert(env.runtime:get_recommendations { campaignArn = c, userId = "fresh", numResults = 3 })
        .itemList)
      assert.equal(3, #plain)
      -- The developer guide's put_events example sends the item id in
      -- properties, not as the itemId member.
      for k, id in ipairs(plain) do
        assert(env.events:put_events { trackingId = tracker, userId = "fresh", sessionId = "s",
          eventList = { { eventType = "watch", sentAt = 1700000800 + k, properties = ('{"itemId": "%s"}'):format(id) } } })
      end
      local filtered = ids(assert(env.runtime:get_recommendations { campaignArn = c, userId = "fresh", numResults = 10,
        filterArn = lower, filterValues = { EVENT_TYPE = '"watch"' } }).itemList)
      assert.equal(10, #filtered)
      for _, id in ipairs(filtered) do
        for _, watched in ipairs(plain) do assert.are_not.equal(watched, id) end
      end
      local drama = ids(assert(env.runtime:get_recommendations { campaignArn = c, userId = "fresh", numResults = 4,
        filterArn = items }).itemList)
      assert.equal(4, #drama)
      for _, id in ipairs(drama) do assert.equal(0, tonumber(id:match("%d+")) % 2) end
    end)

    it("still refuse Interactions conditions on other fields", function()
      local group = arn_of(env.personalize:create_dataset_group { name = "lf2" }, "datasetGroupArn")
      local _, err = env.personalize:create_filter { name = "bad", datasetGroupArn = group,
        filterExpression = 'EXCLUDE ItemID WHERE Interactions.item_id IN ("x")' }
      assert.equal("InvalidInputException", err.code)
      assert.matches("EVENT_TYPE IN", err.message, 1, true)
    end)
  end)

  describe("put_events", function()
    it("refuses an event with no item id in the member or the properties", function()
      local group = arn_of(env.personalize:create_dataset_group { name = "pe" }, "datasetGroupArn")
      env.settle()
      local schema = arn_of(env.personalize:create_schema { name = "s-pe", schema = support.INTERACTIONS_SCHEMA },
        "schemaArn")
      assert(env.personalize:create_dataset { name = "d", schemaArn = schema, datasetGroupArn = group,
        datasetType = "Interactions" })
      local tracker = arn_of(env.personalize:create_event_tracker { name = "t", datasetGroupArn = group }, "trackingId")
      env.settle()
      local _, err = env.events:put_events { trackingId = tracker, userId = "u", sessionId = "s",
        eventList = { { eventType = "watch", sentAt = 1700000800, properties = '{"eventValue": 1}' } } }
      assert.equal("InvalidInputException", err.code)
      assert.matches("ITEM_ID", err.message)
      assert(env.events:put_events { trackingId = tracker, userId = "u", sessionId = "s",
        eventList = { { eventType = "watch", sentAt = 1700000800, properties = '{"itemId": "i1"}' } } })
    end)
  end)

  describe("Trending-Now", function()
    -- SAMPLES next_steps/core_use_cases/trending_now/trending_now_example.ipynb
    -- asks its trending-now campaign with campaignArn and numResults only.
    it("answers without a userId unless the filter reads the user", function()
      local sv, group = support.trained(env, { name = "tn", recipe = "aws-trending-now", items_schema = ITEMS_SCHEMA,
        items_csv = items_csv() })
      local c = arn_of(env.personalize:create_campaign { name = "c", solutionVersionArn = sv }, "campaignArn")
      local by_item = arn_of(env.personalize:create_filter { name = "drama", datasetGroupArn = group,
        filterExpression = 'INCLUDE ItemID WHERE Items.GENRES IN ("Drama")' }, "filterArn")
      local by_user = arn_of(env.personalize:create_filter { name = "unseen", datasetGroupArn = group,
        filterExpression = 'EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("watch")' }, "filterArn")
      env.settle()
      local recs = assert(env.runtime:get_recommendations { campaignArn = c, numResults = 5 })
      assert.is_true(#recs.itemList > 0)
      assert(env.runtime:get_recommendations { campaignArn = c, numResults = 5, filterArn = by_item })
      local _, err = env.runtime:get_recommendations { campaignArn = c, numResults = 5, filterArn = by_user }
      assert.equal("InvalidInputException", err.code)
      assert.matches("userId is required", err.message)
      assert(env.runtime:get_recommendations { campaignArn = c, userId = "user1", numResults = 5, filterArn = by_user })
    end)

    it("leaves userId required for user-personalization", function()
      local sv = support.trained(env, { name = "up", recipe = "aws-user-personalization", items_schema = ITEMS_SCHEMA,
        items_csv = items_csv() })
      local c = arn_of(env.personalize:create_campaign { name = "c", solutionVersionArn = sv }, "campaignArn")
      env.settle()
      local _, err = env.runtime:get_recommendations { campaignArn = c, numResults = 5 }
      assert.equal("InvalidInputException", err.code)
    end)
  end)

  describe("segmentation metrics", function()
    -- SAMPLES next_steps/core_use_cases/user_segmentation/user_segmentation_example.ipynb
    -- records get_solution_metrics of both recipes as
    -- {'coverage', 'hits_at_1_percent', 'recall_at_1_percent'}.
    for _, recipe in ipairs { "aws-item-affinity", "aws-item-attribute-affinity" } do
      it(("are AWS's names for %s"):format(recipe), function()
        local sv = support.trained(env, { name = "seg", recipe = recipe, items_schema = ITEMS_SCHEMA,
          items_csv = items_csv() })
        local m = assert(env.personalize:get_solution_metrics { solutionVersionArn = sv }).metrics
        local names = {}
        for k in pairs(m) do names[#names + 1] = k end
        table.sort(names)
        assert.same({ "coverage", "hits_at_1_percent", "recall_at_1_percent" }, names)
        assert.is_true(m.hits_at_1_percent >= 0 and m.recall_at_1_percent >= 0 and m.recall_at_1_percent <= 1)
      end)
    end
  end)
end)
end

-- boto3 and the AWS CLI against bin/personalize-local at its default
-- timings, calls in the order AWS's code makes them.
describe("personalize-local with boto3 and the AWS CLI, as AWS's code calls it", function()
  if not process.require_peer("nginx", "these specs run against bin/personalize-local")
      or not boto3.available("these specs replay AWS's boto3 code") then
    return
  end
  local server, s3
  setup(function()
    server = engine_server.start {}
    s3 = client.new("s3", server.client_opts { max_attempts = 1 })
    assert(s3:create_bucket { Bucket = "samples" })
    assert(s3:put_bucket_policy { Bucket = "samples", Policy = support.bucket_policy("samples") })
  end)
  teardown(function() if server then server.stop() end end)

  local function put(key, text) assert(s3:put_object { Bucket = "samples", Key = key, Body = text }) end

  -- The developer guide's "Creating a solution version" example and the
  -- recorded runs cited in the in-process cases above, replayed.
  it("creates versions, imports and filters without waits AWS's code does not make", function()
    put("life/interactions.csv", support.interactions_csv(50, 25))
    local out = boto3.run(server, [[
dsg = personalize.create_dataset_group(name='life')['datasetGroupArn']
out['group_first'] = personalize.describe_dataset_group(datasetGroupArn=dsg)['datasetGroup']['status']
# The wait the API reference documents for dataset groups.
out['group'] = wait(personalize.describe_dataset_group, ['datasetGroup', 'status'], ['ACTIVE', 'CREATE FAILED'],
                    datasetGroupArn=dsg)['datasetGroup']['status']
schema = personalize.create_schema(name='life-interactions', schema=json.dumps({
    'type': 'record', 'name': 'Interactions', 'namespace': 'com.amazonaws.personalize.schema',
    'fields': [{'name': 'USER_ID', 'type': 'string'}, {'name': 'ITEM_ID', 'type': 'string'},
               {'name': 'TIMESTAMP', 'type': 'long'}, {'name': 'EVENT_TYPE', 'type': 'string'},
               {'name': 'EVENT_VALUE', 'type': ['null', 'float']}], 'version': '1.0'}))['schemaArn']
ds = personalize.create_dataset(name='life-interactions', schemaArn=schema, datasetGroupArn=dsg,
                                datasetType='Interactions')['datasetArn']
out['dataset'] = personalize.describe_dataset(datasetArn=ds)['dataset']['status']
job = personalize.create_dataset_import_job(jobName='life-import', datasetArn=ds,
    dataSource={'dataLocation': 's3://samples/life/interactions.csv'},
    roleArn='arn:aws:iam::123456789012:role/p')['datasetImportJobArn']
out['job_first'] = personalize.describe_dataset_import_job(datasetImportJobArn=job)['datasetImportJob']['status']
out['job'] = wait(personalize.describe_dataset_import_job, ['datasetImportJob', 'status'], ['ACTIVE', 'CREATE FAILED'],
                  datasetImportJobArn=job)['datasetImportJob']['status']
sol = personalize.create_solution(name='life-solution', datasetGroupArn=dsg,
                                  recipeArn='arn:aws:personalize:::recipe/aws-popularity-count')['solutionArn']
d = personalize.describe_solution(solutionArn=sol)['solution']
out['solution'] = d['status']
out['solution_same_times'] = d['creationDateTime'] == d['lastUpdatedDateTime']
sv = personalize.create_solution_version(solutionArn=sol)['solutionVersionArn']
out['version_first'] = personalize.describe_solution_version(solutionVersionArn=sv)['solutionVersion']['status']
out['campaign_early'] = error_of(personalize.create_campaign, name='life-campaign', solutionVersionArn=sv)
f = personalize.create_filter(name='life-filter', datasetGroupArn=dsg,
    filterExpression='EXCLUDE ItemID WHERE Interactions.event_type IN ($EVENT_TYPE)')['filterArn']
out['filter'] = personalize.describe_filter(filterArn=f)['filter']['status']
out['version'] = wait(personalize.describe_solution_version, ['solutionVersion', 'status'], ['ACTIVE', 'CREATE FAILED'],
                      solutionVersionArn=sv)['solutionVersion']['status']
]])
    assert.equal("CREATE PENDING", out.group_first)
    assert.equal("ACTIVE", out.group)
    assert.is_truthy(out.dataset == "CREATE PENDING" or out.dataset == "ACTIVE")
    assert.equal("CREATE PENDING", out.job_first)
    assert.equal("ACTIVE", out.job)
    assert.equal("ACTIVE", out.solution)
    assert.is_true(out.solution_same_times)
    assert.equal("CREATE PENDING", out.version_first)
    assert.equal("ResourceInUseException", out.campaign_early.Code)
    assert.equal("ACTIVE", out.filter)
    assert.equal("ACTIVE", out.version)
  end)

  -- AWS's default Items schema of the VIDEO_ON_DEMAND domain, as
  -- SAMPLES getting_started/notebooks_managed_domains/Building_Your_First_Recommender_Video_On_Demand.ipynb
  -- sends it (types written ["string"]), and "version" as a number.
  it("takes one-member union types and a numeric version in create_schema", function()
    local out = boto3.run(server, [[
schema = {'type': 'record', 'name': 'Items', 'namespace': 'com.amazonaws.personalize.schema',
          'fields': [{'name': 'ITEM_ID', 'type': 'string'},
                     {'name': 'GENRES', 'type': ['string'], 'categorical': True},
                     {'name': 'YEAR', 'type': ['string'], 'categorical': True},
                     {'name': 'CREATION_TIMESTAMP', 'type': 'long'}],
          'version': '1.0'}
out['vod'] = personalize.create_schema(name='vod-items', schema=json.dumps(schema), domain='VIDEO_ON_DEMAND')['schemaArn']
schema['version'] = 1
out['numeric'] = personalize.create_schema(name='vod-items-v1', schema=json.dumps(schema), domain='VIDEO_ON_DEMAND')['schemaArn']
schema['fields'][1]['type'] = ['string', 'long']
out['union'] = error_of(personalize.create_schema, name='vod-items-bad', schema=json.dumps(schema), domain='VIDEO_ON_DEMAND')
]])
    assert.matches(":schema/vod%-items$", out.vod)
    assert.matches(":schema/vod%-items%-v1$", out.numeric)
    assert.equal("InvalidInputException", out.union.Code)
  end)

  -- The developer guide's put_events example: the item id in properties.
  it("records put_events with the item id in properties", function()
    local out = boto3.run(server, [[
dsg = personalize.create_dataset_group(name='events')['datasetGroupArn']
wait(personalize.describe_dataset_group, ['datasetGroup', 'status'], ['ACTIVE'], datasetGroupArn=dsg)
schema = personalize.create_schema(name='events-interactions', schema=json.dumps({
    'type': 'record', 'name': 'Interactions', 'namespace': 'com.amazonaws.personalize.schema',
    'fields': [{'name': 'USER_ID', 'type': 'string'}, {'name': 'ITEM_ID', 'type': 'string'},
               {'name': 'TIMESTAMP', 'type': 'long'}, {'name': 'EVENT_TYPE', 'type': 'string'}], 'version': '1.0'}))['schemaArn']
ds = personalize.create_dataset(name='events', schemaArn=schema, datasetGroupArn=dsg, datasetType='Interactions')['datasetArn']
tracking_id = personalize.create_event_tracker(name='events-tracker', datasetGroupArn=dsg)['trackingId']
events.put_events(trackingId=tracking_id, userId='USER_1', sessionId='session_1',
                  eventList=[{'sentAt': 1700000000, 'eventType': 'watch', 'properties': json.dumps({'itemId': 'ITEM_7'})}])
out['missing'] = error_of(events.put_events, trackingId=tracking_id, userId='USER_1', sessionId='session_1',
                          eventList=[{'sentAt': 1700000001, 'eventType': 'watch'}])
job = personalize.create_dataset_export_job(jobName='events-export', datasetArn=ds, ingestionMode='PUT',
    roleArn='arn:aws:iam::123456789012:role/p',
    jobOutput={'s3DataDestination': {'path': 's3://samples/events-export/'}})['datasetExportJobArn']
out['export'] = wait(personalize.describe_dataset_export_job, ['datasetExportJob', 'status'], ['ACTIVE', 'CREATE FAILED'],
                     datasetExportJobArn=job)['datasetExportJob']['status']
keys = [o['Key'] for o in s3.list_objects_v2(Bucket='samples', Prefix='events-export/').get('Contents', [])]
out['csv'] = s3.get_object(Bucket='samples', Key=keys[0])['Body'].read().decode('utf-8')
]])
    assert.equal("ACTIVE", out.export)
    assert.matches("USER_1,ITEM_7,1700000000,watch", out.csv, 1, true)
    assert.equal("InvalidInputException", out.missing.Code)
  end)

  -- Bulk CSV files: what AWS's recorded runs imported (extra columns,
  -- pandas' index column, rows that do not fit the schema) is imported;
  -- what the "Data format guidelines" forbid (quoted header names, a record
  -- over several lines, non-UTF-8 bytes) fails with the line and the rule.
  it("imports what AWS imported and refuses what its guidelines forbid", function()
    local head = "ITEM_ID,GENRE,YEAR\n"
    local files = {
      pandas = ",ITEM_ID,GENRE,YEAR,PROMOTED\n0,1,Comedy,1995,Y\n1,2,Drama,1996,N\n",
      years = head .. "1,Comedy,1995\n2,Drama,1975-1979\n3,Drama,\n4,Horror,2001\n",
      windows = "\239\187\191" .. head .. '1,"Comedy, Dark",1995\r\n2,Drama,1996\r\n',
      quoted = '"ITEM_ID","GENRE","YEAR"\n1,Comedy,1995\n',
      multiline = head .. '1,"Comedy\nDark",1995\n',
      latin1 = head .. "1,Com\233die,1995\n",
    }
    for name, text in pairs(files) do put("csv/" .. name .. ".csv", text) end
    local out = boto3.run(server, [[
schema = personalize.create_schema(name='csv-items', schema=json.dumps({
    'type': 'record', 'name': 'Items', 'namespace': 'com.amazonaws.personalize.schema',
    'fields': [{'name': 'ITEM_ID', 'type': 'string'}, {'name': 'GENRE', 'type': 'string', 'categorical': True},
               {'name': 'YEAR', 'type': 'int'}], 'version': '1.0'}))['schemaArn']
jobs = {}
for name in ['pandas', 'years', 'windows', 'quoted', 'multiline', 'latin1']:
    dsg = personalize.create_dataset_group(name='csv-' + name)['datasetGroupArn']
    wait(personalize.describe_dataset_group, ['datasetGroup', 'status'], ['ACTIVE'], datasetGroupArn=dsg)
    ds = personalize.create_dataset(name='csv-' + name, schemaArn=schema, datasetGroupArn=dsg, datasetType='Items')['datasetArn']
    jobs[name] = personalize.create_dataset_import_job(jobName='csv-' + name, datasetArn=ds,
        dataSource={'dataLocation': 's3://samples/csv/' + name + '.csv'},
        roleArn='arn:aws:iam::123456789012:role/p')['datasetImportJobArn']
for name, job in jobs.items():
    d = wait(personalize.describe_dataset_import_job, ['datasetImportJob', 'status'], ['ACTIVE', 'CREATE FAILED'],
             datasetImportJobArn=job)['datasetImportJob']
    out[name] = [d['status'], d.get('failureReason')]
]])
    assert.equal("ACTIVE", out.pandas[1])
    assert.equal("ACTIVE", out.years[1])
    assert.equal("ACTIVE", out.windows[1])
    assert.same({ "CREATE FAILED",
      "s3://samples/csv/quoted.csv header: column names must not be enclosed in quotation marks" }, out.quoted)
    assert.same({ "CREATE FAILED", "s3://samples/csv/multiline.csv line 2: the quoted value of column 2 holds a line break; "
      .. "each record must be on one line" }, out.multiline)
    assert.equal("CREATE FAILED", out.latin1[1])
    assert.matches("^s3://samples/csv/latin1%.csv line 2: byte 0xE9 is not UTF%-8", out.latin1[2])
  end)

  it("creates the workshop's lower-case filter through the AWS CLI", function()
    local g = server.aws { "personalize", "create-dataset-group", "--name", "cli-filter" }
    assert(g.ok, g.stderr)
    local sc = server.aws { "personalize", "create-schema", "--name", "cli-filter", "--schema", support.INTERACTIONS_SCHEMA }
    assert(sc.ok, sc.stderr)
    local ds = server.aws { "personalize", "create-dataset", "--name", "cli-filter", "--dataset-type", "Interactions",
      "--schema-arn", sc.json.schemaArn, "--dataset-group-arn", g.json.datasetGroupArn }
    assert(ds.ok, ds.stderr)
    local f = server.aws { "personalize", "create-filter", "--name", "watched",
      "--dataset-group-arn", g.json.datasetGroupArn,
      "--filter-expression", 'INCLUDE ItemID WHERE Interactions.event_type IN ("watch")' }
    assert(f.ok, f.stderr)
    local d = server.aws { "personalize", "describe-filter", "--filter-arn", f.json.filterArn }
    assert.equal("ACTIVE", d.json.filter.status)
  end)
end)
