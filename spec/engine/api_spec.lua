-- personalize-local's control plane, runtime and events through the
-- project's own clients: in-process (endpoint = "local:DIR") and over HTTP
-- against the nginx server, the same specs for both.
local support = require "support.engine_local"

local function arn_of(res, member) return assert(res, "call failed")[member] end

for _, backend in ipairs(support.backends()) do
describe(("personalize-local engine (%s)"):format(backend), function()
  local env
  before_each(function() env = support.new { backend = backend } end)
  after_each(function() env.close() end)

  -- A spec that moves the clock or reads the engine's own tables.
  local function it_in_process(name, fn)
    if backend == "in-process" then it(name, fn) end
  end

  local function group(name)
    local g = arn_of(env.personalize:create_dataset_group { name = name or "g" }, "datasetGroupArn")
    env.settle()
    return g
  end

  local function interactions_dataset(g)
    local schema = arn_of(env.personalize:create_schema { name = "s-" .. g:match("[^/]+$"),
      schema = support.INTERACTIONS_SCHEMA }, "schemaArn")
    local ds = arn_of(env.personalize:create_dataset { name = "d", schemaArn = schema,
      datasetGroupArn = g, datasetType = "Interactions" }, "datasetArn")
    env.settle()
    return ds, schema
  end

  local function import(ds, url, mode)
    local job = arn_of(env.personalize:create_dataset_import_job { jobName = "imp" .. tostring(math.random(1e9)),
      datasetArn = ds, dataSource = { dataLocation = url }, roleArn = "arn:aws:iam::123456789012:role/p",
      importMode = mode }, "datasetImportJobArn")
    env.settle()
    return assert(env.personalize:describe_dataset_import_job { datasetImportJobArn = job }).datasetImportJob
  end

  describe("schemas", function()
    it("are created, described, listed and deleted with generated ARNs", function()
      local res = assert(env.personalize:create_schema { name = "tut", schema = support.INTERACTIONS_SCHEMA })
      assert.equal("arn:aws:personalize:us-east-1:123456789012:schema/tut", res.schemaArn)
      local d = assert(env.personalize:describe_schema { schemaArn = res.schemaArn }).schema
      assert.equal("tut", d.name)
      assert.equal(support.INTERACTIONS_SCHEMA, d.schema)
      assert.is_number(d.creationDateTime)
      local l = assert(env.personalize:list_schemas {})
      assert.equal(1, #l.schemas)
      assert.is_nil(l.schemas[1].schema)      -- summaries leave the text out
      assert.truthy(env.personalize:delete_schema { schemaArn = res.schemaArn })
      local _, err = env.personalize:describe_schema { schemaArn = res.schemaArn }
      assert.equal("ResourceNotFoundException", err.code)
    end)

    it("refuses duplicates and invalid Avro with the API's codes", function()
      assert(env.personalize:create_schema { name = "tut", schema = support.INTERACTIONS_SCHEMA })
      local _, err = env.personalize:create_schema { name = "tut", schema = support.INTERACTIONS_SCHEMA }
      assert.equal("ResourceAlreadyExistsException", err.code)
      _, err = env.personalize:create_schema { name = "bad", schema = "{not json" }
      assert.equal("InvalidInputException", err.code)
      assert.matches("Invalid schema", err.message)
    end)
  end)

  describe("lifecycles", function()
    -- Per kind, as AWS users see them (resources.lua cites the recorded
    -- runs): dataset groups are CREATE PENDING for a moment, then ACTIVE;
    -- jobs go CREATE PENDING -> CREATE IN_PROGRESS -> ACTIVE.
    it_in_process("go CREATE PENDING -> ACTIVE for dataset groups as time passes", function()
      local g = arn_of(env.personalize:create_dataset_group { name = "life" }, "datasetGroupArn")
      local function status()
        return assert(env.personalize:describe_dataset_group { datasetGroupArn = g }).datasetGroup.status
      end
      assert.equal("CREATE PENDING", status())
      env.advance(1.01)
      assert.equal("ACTIVE", status())
      env.advance(1.01)
      assert.equal("ACTIVE", status())
    end)

    it_in_process("go CREATE PENDING -> CREATE IN_PROGRESS -> ACTIVE for import jobs as time passes", function()
      local g = group()
      local ds = interactions_dataset(g)
      env.upload("life-bucket", "i.csv", support.interactions_csv(3, 3))
      local job = arn_of(env.personalize:create_dataset_import_job { jobName = "life", datasetArn = ds,
        dataSource = { dataLocation = "s3://life-bucket/i.csv" }, roleArn = support.ROLE }, "datasetImportJobArn")
      local function status()
        return assert(env.personalize:describe_dataset_import_job { datasetImportJobArn = job }).datasetImportJob.status
      end
      assert.equal("CREATE PENDING", status())
      env.advance(1.01)
      assert.equal("CREATE IN_PROGRESS", status())
      env.advance(1.01)
      assert.equal("ACTIVE", status())
    end)

    it_in_process("deletes through DELETE PENDING and refuses to delete a parent with children", function()
      local g = group()
      local ds = interactions_dataset(g)
      local _, err = env.personalize:delete_dataset_group { datasetGroupArn = g }
      assert.equal("ResourceInUseException", err.code)
      assert.matches("Dataset", err.message)
      assert(env.personalize:delete_dataset { datasetArn = ds })
      assert.equal("DELETE PENDING", assert(env.personalize:describe_dataset { datasetArn = ds }).dataset.status)
      env.settle()
      _, err = env.personalize:describe_dataset { datasetArn = ds }
      assert.equal("ResourceNotFoundException", err.code)
      assert(env.personalize:delete_dataset_group { datasetGroupArn = g })
      env.settle()
      assert.same({}, assert(env.personalize:list_dataset_groups {}).datasetGroups)
    end)

    it("refuses a dataset for a missing group or a schema of the wrong type", function()
      local _, err = env.personalize:create_dataset { name = "d", datasetType = "Interactions",
        schemaArn = "arn:aws:personalize:us-east-1:123456789012:schema/none",
        datasetGroupArn = "arn:aws:personalize:us-east-1:123456789012:dataset-group/none" }
      assert.equal("ResourceNotFoundException", err.code)
      local g = group()
      local s = arn_of(env.personalize:create_schema { name = "items", schema = support.ITEMS_SCHEMA }, "schemaArn")
      _, err = env.personalize:create_dataset { name = "d", datasetType = "Interactions", schemaArn = s, datasetGroupArn = g }
      assert.equal("InvalidInputException", err.code)
    end)
  end)

  describe("pagination and tags", function()
    it("pages with maxResults and nextToken, newest first", function()
      for i = 1, 5 do assert(env.personalize:create_dataset_group { name = "g" .. i }) end
      local seen, token = {}, nil
      repeat
        local page = assert(env.personalize:list_dataset_groups { maxResults = 2, nextToken = token })
        assert.is_true(#page.datasetGroups <= 2)
        for _, x in ipairs(page.datasetGroups) do seen[#seen + 1] = x.name end
        token = page.nextToken
      until not token
      assert.same({ "g5", "g4", "g3", "g2", "g1" }, seen)
      local _, err = env.personalize:list_dataset_groups { nextToken = "forged" }
      assert.equal("InvalidNextTokenException", err.code)
    end)

    it("tags at creation and later, untags, and lists them", function()
      local g = arn_of(env.personalize:create_dataset_group { name = "t",
        tags = { { tagKey = "team", tagValue = "a" } } }, "datasetGroupArn")
      assert(env.personalize:tag_resource { resourceArn = g, tags = { { tagKey = "env", tagValue = "dev" },
        { tagKey = "team", tagValue = "b" } } })
      local tags = assert(env.personalize:list_tags_for_resource { resourceArn = g }).tags
      assert.same({ { tagKey = "team", tagValue = "b" }, { tagKey = "env", tagValue = "dev" } }, tags)
      assert(env.personalize:untag_resource { resourceArn = g, tagKeys = { "team" } })
      tags = assert(env.personalize:list_tags_for_resource { resourceArn = g }).tags
      assert.same({ { tagKey = "env", tagValue = "dev" } }, tags)
      local _, err = env.personalize:list_tags_for_resource { resourceArn = g .. "x" }
      assert.equal("ResourceNotFoundException", err.code)
    end)
  end)

  describe("import, training and recommendations", function()
    it("runs the whole workflow with aws-popularity-count", function()
      local g = group("work")
      local ds = interactions_dataset(g)
      env.upload("bkt", "data/interactions.csv", support.interactions_csv(60, 20))
      local job = import(ds, "s3://bkt/data/interactions.csv")
      assert.equal("ACTIVE", job.status, job.failureReason)
      assert.equal("FULL", job.importMode)

      local recipes = assert(env.personalize:list_recipes {}).recipes
      assert.is_true(#recipes >= 12)
      local sol = arn_of(env.personalize:create_solution { name = "pop", datasetGroupArn = g,
        recipeArn = "arn:aws:personalize:::recipe/aws-popularity-count" }, "solutionArn")
      env.settle()
      local sv = arn_of(env.personalize:create_solution_version { solutionArn = sol }, "solutionVersionArn")
      assert.matches("^" .. sol:gsub("%p", "%%%0") .. "/%x+$", sv)
      env.settle()
      local version = assert(env.personalize:describe_solution_version { solutionVersionArn = sv }).solutionVersion
      assert.equal("ACTIVE", version.status, version.failureReason)
      local solution = assert(env.personalize:describe_solution { solutionArn = sol }).solution
      assert.equal(sv, solution.latestSolutionVersion.solutionVersionArn)

      local m = assert(env.personalize:get_solution_metrics { solutionVersionArn = sv })
      assert.is_number(m.metrics.normalized_discounted_cumulative_gain_at_10)
      assert.is_number(m.metrics.coverage)

      local camp = arn_of(env.personalize:create_campaign { name = "c", solutionVersionArn = sv }, "campaignArn")
      env.settle()
      assert.equal("ACTIVE", assert(env.personalize:describe_campaign { campaignArn = camp }).campaign.status)

      local recs = assert(env.runtime:get_recommendations { campaignArn = camp, userId = "user1" })
      assert.equal(25, #recs.itemList)
      assert.matches("^RID%-", recs.recommendationId)
      local few = assert(env.runtime:get_recommendations { campaignArn = camp, userId = "user1", numResults = 3 })
      assert.equal(3, #few.itemList)
      assert.equal(recs.itemList[1].itemId, few.itemList[1].itemId)
      local _, err = env.runtime:get_recommendations { campaignArn = camp }
      assert.equal("InvalidInputException", err.code)

      -- the solution is in use by the campaign
      _, err = env.personalize:delete_solution { solutionArn = sol }
      assert.equal("ResourceInUseException", err.code)
    end)

    it("fails an import when the bucket policy does not let Personalize read", function()
      local g = group()
      local ds = interactions_dataset(g)
      env.upload("closed", "i.csv", support.interactions_csv(30, 40), true)
      local job = import(ds, "s3://closed/i.csv")
      assert.equal("CREATE FAILED", job.status)
      assert.matches("Insufficient privileges", job.failureReason)
    end)

    it_in_process("fails an import naming the bad line, and keeps the previous data", function()
      local g = group()
      local ds = interactions_dataset(g)
      env.upload("bkt", "good.csv", support.interactions_csv(30, 40))
      assert.equal("ACTIVE", import(ds, "s3://bkt/good.csv").status)
      env.upload("bkt", "bad.csv", "USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE,EVENT_VALUE\nu1,i1,notatime,watch,1\n")
      local job = import(ds, "s3://bkt/bad.csv")
      assert.equal("CREATE FAILED", job.status)
      assert.matches("line 2", job.failureReason)
      assert.matches("TIMESTAMP", job.failureReason)
      local data = require("personalize.engine.jobs").dataset_data(env.engine, env.engine.store.resources[ds])
      assert.equal(1200, data.n)
    end)

    it("fails training below the minimum data with the reason", function()
      local g = group()
      local ds = interactions_dataset(g)
      env.upload("bkt", "small.csv", support.interactions_csv(10, 5))
      assert.equal("ACTIVE", import(ds, "s3://bkt/small.csv").status)
      local sol = arn_of(env.personalize:create_solution { name = "pop", datasetGroupArn = g,
        recipeArn = "arn:aws:personalize:::recipe/aws-popularity-count" }, "solutionArn")
      env.settle()
      local sv = arn_of(env.personalize:create_solution_version { solutionArn = sol }, "solutionVersionArn")
      env.settle()
      local v = assert(env.personalize:describe_solution_version { solutionVersionArn = sv }).solutionVersion
      assert.equal("CREATE FAILED", v.status)
      assert.matches("1000", (v.failureReason:gsub(",", "")))
    end)

    it("refuses a recipe that does not exist", function()
      local g = group()
      local _, err = env.personalize:create_solution { name = "s", datasetGroupArn = g,
        recipeArn = "arn:aws:personalize:::recipe/aws-nothing" }
      assert.equal("ResourceNotFoundException", err.code)
    end)
  end)

  describe("recommenders", function()
    it("train a VOD most-popular recommender on Watch events, stop and start it", function()
      local g = arn_of(env.personalize:create_dataset_group { name = "vod", domain = "VIDEO_ON_DEMAND" }, "datasetGroupArn")
      env.settle()
      local schema = arn_of(env.personalize:create_schema { name = "vod-i", domain = "VIDEO_ON_DEMAND",
        schema = support.INTERACTIONS_SCHEMA }, "schemaArn")
      local ds = arn_of(env.personalize:create_dataset { name = "d", schemaArn = schema,
        datasetGroupArn = g, datasetType = "Interactions" }, "datasetArn")
      env.settle()
      env.upload("vodbkt", "i.csv", (support.interactions_csv(60, 20):gsub(",watch,", ",Watch,")))
      assert.equal("ACTIVE", import(ds, "s3://vodbkt/i.csv").status)
      local _, err = env.personalize:create_recommender { name = "r", datasetGroupArn = g,
        recipeArn = "arn:aws:personalize:::recipe/aws-ecomm-recommended-for-you" }
      assert.equal("InvalidInputException", err.code)
      assert.matches("belongs to the ECOMMERCE domain", err.message, 1, true)
      local rec = arn_of(env.personalize:create_recommender { name = "top", datasetGroupArn = g,
        recipeArn = "arn:aws:personalize:::recipe/aws-vod-most-popular" }, "recommenderArn")
      env.settle()
      local r = assert(env.personalize:describe_recommender { recommenderArn = rec }).recommender
      assert.equal("ACTIVE", r.status, r.failureReason)
      assert.is_number(r.modelMetrics.coverage)
      local recs = assert(env.runtime:get_recommendations { recommenderArn = rec, userId = "user3", numResults = 5 })
      assert.equal(5, #recs.itemList)
      assert(env.personalize:stop_recommender { recommenderArn = rec })
      if env.in_process then     -- the server (zero timings) is already past it
        assert.equal("STOP PENDING", assert(env.personalize:describe_recommender { recommenderArn = rec }).recommender.status)
      end
      env.settle()
      assert.equal("INACTIVE", assert(env.personalize:describe_recommender { recommenderArn = rec }).recommender.status)
      _, err = env.runtime:get_recommendations { recommenderArn = rec, userId = "user3" }
      assert.equal("ResourceNotFoundException", err.code)
      assert(env.personalize:start_recommender { recommenderArn = rec })
      env.settle()
      assert.equal(5, #assert(env.runtime:get_recommendations { recommenderArn = rec, userId = "u", numResults = 5 }).itemList)
    end)

    it("train every e-commerce use case, each on its event types", function()
      local g = arn_of(env.personalize:create_dataset_group { name = "shop", domain = "ECOMMERCE" }, "datasetGroupArn")
      env.settle()
      local schema = arn_of(env.personalize:create_schema { name = "shop-i", domain = "ECOMMERCE",
        schema = support.INTERACTIONS_SCHEMA }, "schemaArn")
      local ds = arn_of(env.personalize:create_dataset { name = "d", schemaArn = schema,
        datasetGroupArn = g, datasetType = "Interactions" }, "datasetArn")
      env.settle()
      -- every third event a Purchase, the others Views
      local n = 0
      local csv = support.interactions_csv(60, 60):gsub(",watch,", function()
        n = n + 1
        return n % 3 == 0 and ",Purchase," or ",View,"
      end)
      env.upload("shopbkt", "i.csv", csv)
      assert.equal("ACTIVE", import(ds, "s3://shopbkt/i.csv").status)
      local arns = {}
      for _, use_case in ipairs { "aws-ecomm-recommended-for-you", "aws-ecomm-customers-who-viewed-x-also-viewed",
                                  "aws-ecomm-frequently-bought-together", "aws-ecomm-popular-items-by-views",
                                  "aws-ecomm-popular-items-by-purchases" } do
        arns[use_case] = arn_of(env.personalize:create_recommender { name = use_case, datasetGroupArn = g,
          recipeArn = "arn:aws:personalize:::recipe/" .. use_case }, "recommenderArn")
      end
      env.settle()
      for use_case, arn in pairs(arns) do
        local r = assert(env.personalize:describe_recommender { recommenderArn = arn }).recommender
        assert.equal("ACTIVE", r.status, use_case .. ": " .. tostring(r.failureReason))
        local params = { recommenderArn = arn, numResults = 5 }
        if use_case:find("also-viewed", 1, true) or use_case:find("bought-together", 1, true) then
          params.itemId = "item3"
        else
          params.userId = "user3"
        end
        local list = assert(env.runtime:get_recommendations(params)).itemList
        assert.equal(5, #list, use_case)
        if params.itemId then
          for _, x in ipairs(list) do assert.not_equal("item3", x.itemId, use_case) end
        end
      end
    end)
  end)

  describe("batch inference and exports", function()
    it("writes recommendations for JSON Lines input and exports a dataset to S3", function()
      local g = group("batch")
      local ds = interactions_dataset(g)
      env.upload("bkt", "i.csv", support.interactions_csv(60, 20))
      assert.equal("ACTIVE", import(ds, "s3://bkt/i.csv").status)
      local sol = arn_of(env.personalize:create_solution { name = "pop", datasetGroupArn = g,
        recipeArn = "arn:aws:personalize:::recipe/aws-popularity-count" }, "solutionArn")
      env.settle()
      local sv = arn_of(env.personalize:create_solution_version { solutionArn = sol }, "solutionVersionArn")
      env.settle()
      assert(env.s3:put_object { Bucket = "bkt", Key = "batch/in.json", Body = '{"userId":"user1"}\n{"userId":"user2"}\n' })
      local job = arn_of(env.personalize:create_batch_inference_job { jobName = "bj", solutionVersionArn = sv,
        numResults = 3, roleArn = "arn:aws:iam::123456789012:role/p",
        jobInput = { s3DataSource = { path = "s3://bkt/batch/in.json" } },
        jobOutput = { s3DataDestination = { path = "s3://bkt/batch/out/" } } }, "batchInferenceJobArn")
      if env.in_process then
        assert.equal("PENDING",
          assert(env.personalize:describe_batch_inference_job { batchInferenceJobArn = job }).batchInferenceJob.status)
      end
      env.settle()
      local bj = assert(env.personalize:describe_batch_inference_job { batchInferenceJobArn = job }).batchInferenceJob
      assert.equal("ACTIVE", bj.status, bj.failureReason)
      local out = assert(env.s3:get_object { Bucket = "bkt", Key = "batch/out/in.json.out" }).Body
      local lines = {}
      for line in out:gmatch("[^\n]+") do lines[#lines + 1] = require("cjson").decode(line) end
      assert.equal(2, #lines)
      assert.equal("user2", lines[2].input.userId)
      assert.equal(3, #lines[1].output.recommendedItems)

      local ex = arn_of(env.personalize:create_dataset_export_job { jobName = "ex", datasetArn = ds,
        roleArn = "arn:aws:iam::123456789012:role/p", ingestionMode = "BULK",
        jobOutput = { s3DataDestination = { path = "s3://bkt/export/" } } }, "datasetExportJobArn")
      env.settle()
      assert.equal("ACTIVE", assert(env.personalize:describe_dataset_export_job { datasetExportJobArn = ex }).datasetExportJob.status)
      local csv = assert(env.s3:get_object { Bucket = "bkt", Key = "export/ex/ex_interactions.csv" }).Body
      local n = select(2, csv:gsub("\n", ""))
      assert.equal(1201, n)
    end)
  end)

  describe("events", function()
    it_in_process("appends put_events to the interactions dataset durably", function()
      local g = group()
      local ds = interactions_dataset(g)
      local tr = assert(env.personalize:create_event_tracker { name = "t", datasetGroupArn = g })
      assert.matches("^%x+%-%x+%-%x+%-%x+%-%x+$", tr.trackingId)
      env.settle()
      assert(env.events:put_events { trackingId = tr.trackingId, userId = "u9", sessionId = "s1",
        eventList = { { eventType = "watch", itemId = "i1", sentAt = 1700000000 },
                      { eventType = "watch", itemId = "i2", sentAt = 1700000001, eventValue = 0.5 } } })
      env.reopen()
      local data = require("personalize.engine.jobs").dataset_data(env.engine, env.engine.store.resources[ds])
      assert.equal(2, data.n)
      assert.same({ "u9", "u9" }, data.USER_ID)
      assert.equal(0.5, data.EVENT_VALUE[2])
      local _, err = env.events:put_events { trackingId = "nope", sessionId = "s",
        eventList = { { eventType = "watch", sentAt = 1 } } }
      assert.equal("ResourceNotFoundException", err.code)
      _, err = env.events:put_events { trackingId = tr.trackingId, sessionId = "s",
        eventList = { { eventType = "watch", itemId = "i", sentAt = 1, properties = '{"color":"red"}' } } }
      assert.equal("InvalidInputException", err.code)
      assert.matches("color", err.message)
    end)
  end)

  describe("filters", function()
    it("validates expressions at create_filter", function()
      local g = group()
      local function refused(expr)
        local _, err = env.personalize:create_filter { name = "bad", datasetGroupArn = g, filterExpression = expr }
        assert.equal("InvalidInputException", err and err.code, expr)
        return err.message
      end
      assert.matches("the dataset group has no Interactions dataset",
        refused 'EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("watch")', 1, true)
      interactions_dataset(g)
      assert(env.personalize:create_filter { name = "f", datasetGroupArn = g,
        filterExpression = 'EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("watch")' })
      assert.matches("WHERE", refused 'EXCLUDE ItemID WHEN Interactions.EVENT_TYPE IN ("x")')
      assert.matches("the dataset group has no Items dataset",
        refused 'INCLUDE ItemID WHERE Items.GENRES IN ($G)', 1, true)
      local items = arn_of(env.personalize:create_schema { name = "items-" .. g:match("[^/]+$"),
        schema = support.ITEMS_SCHEMA }, "schemaArn")
      assert(env.personalize:create_dataset { name = "items", schemaArn = items, datasetGroupArn = g,
        datasetType = "Items" })
      env.settle()
      assert(env.personalize:create_filter { name = "genre", datasetGroupArn = g,
        filterExpression = 'INCLUDE ItemID WHERE Items.GENRES IN ($G)' })
      assert.equal("Invalid filter expression: Items.GENRE: the Items dataset's schema has no field GENRE "
        .. "(its fields: GENRES, ITEM_ID)", refused 'INCLUDE ItemID WHERE Items.GENRE IN ("x")')
      assert.matches("CurrentItem.COLOUR: the Items dataset's schema has no field COLOUR",
        refused 'EXCLUDE ItemID WHERE Items.GENRES IN CurrentItem.COLOUR', 1, true)
    end)
  end)

  describe("persistence", function()
    it("keeps every acknowledged resource across a restart", function()
      local g = group("keep")
      env.reopen()
      local d = assert(env.personalize:describe_dataset_group { datasetGroupArn = g }).datasetGroup
      assert.equal("ACTIVE", d.status)
    end)

    it("refuses a second engine on the same directory", function()
      local eng, err = require("personalize.engine").open { dir = env.dir }
      assert.is_nil(eng)
      assert.matches("in use", err)
    end)
  end)
end)
end
