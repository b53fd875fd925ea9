-- personalize-local's runtime behaviour: filters, live events, promotions,
-- metadata and campaign settings, on hand-made data with known answers.
local support = require "support.engine_local"
local recipes = require "personalize.engine.recipes"
local popularity = require "personalize.engine.recipes.popularity_count"

local RECIPE = "arn:aws:personalize:::recipe/"

local ITEMS_SCHEMA = [[{"type":"record","name":"Items","namespace":"com.amazonaws.personalize.schema",
"fields":[{"name":"ITEM_ID","type":"string"},{"name":"GENRES","type":"string","categorical":true},
{"name":"TITLE","type":"string"},{"name":"PRICE","type":"float"}],"version":"1.0"}]]

-- item<i>: Drama when i is even, Comedy when odd, both when i is a multiple of 5.
local function genres_of(i)
  if i % 5 == 0 then return "Comedy|Drama" end
  return i % 2 == 0 and "Drama" or "Comedy"
end

local function items_csv()
  local lines = { "ITEM_ID,GENRES,TITLE,PRICE" }
  for i = 1, 40 do lines[#lines + 1] = ("item%d,%s,Title %d,%d"):format(i, genres_of(i), i, i) end
  return table.concat(lines, "\n") .. "\n"
end

-- Items past item40 have interactions but no metadata.
local function has_genre(id, genre)
  local i = tonumber(id:match("%d+"))
  return i ~= nil and i <= 40 and genres_of(i):find(genre, 1, true) ~= nil
end

local function ids(list)
  local out = {}
  for i, x in ipairs(list) do out[i] = x.itemId end
  return out
end

-- Registers `module` for recipe `name` for one test, restoring what was there.
local function with_recipe(name, module)
  local before = recipes.module(RECIPE .. name)
  recipes.register(name, module)
  finally(function() recipes.register(name, before or nil) end)
end

-- A USER_PERSONALIZATION stand-in that answers like popularity-count and
-- keeps the requests it gets.
local seen_requests = {}
local RECORDING = {
  train = popularity.train,
  recommend = function(model, request)
    seen_requests[#seen_requests + 1] = request
    return popularity.recommend(model, request)
  end,
}

-- A PERSONALIZED_RANKING stand-in: ranks the input list by popularity,
-- unknown items last.
local RANKING = {
  train = popularity.train,
  recommend = function(model, request)
    local rank = {}
    for k, id in ipairs(model.items) do rank[id] = k end
    local list = {}
    for _, id in ipairs(request.inputList) do list[#list + 1] = id end
    table.sort(list, function(a, b)
      local ra, rb = rank[a] or math.huge, rank[b] or math.huge
      if ra ~= rb then return ra < rb end
      return a < b
    end)
    local out = {}
    for i, id in ipairs(list) do out[i] = { itemId = id, score = 1 / (i + 1) } end
    return out
  end,
}

describe("personalize-local runtime", function()
  local env, group
  before_each(function()
    env = support.new()
    seen_requests = {}
  end)
  after_each(function() env.close() end)

  local function arn_of(res, member) return assert(res, "call failed")[member] end

  -- A group with 60 users x 20 interactions and 40 items; returns the campaign ARN.
  local function setup(recipe, campaign_config, min_tps)
    local sv
    sv, group = support.trained(env, { name = "rt", recipe = recipe, items_schema = ITEMS_SCHEMA,
                                       items_csv = items_csv() })
    local camp = arn_of(env.personalize:create_campaign { name = "c", solutionVersionArn = sv,
      campaignConfig = campaign_config, minProvisionedTPS = min_tps }, "campaignArn")
    env.settle()
    return camp
  end

  local function filter(expr)
    local f = arn_of(env.personalize:create_filter { name = "f" .. tostring(math.random(1e9)),
      datasetGroupArn = group, filterExpression = expr }, "filterArn")
    env.settle()
    return f
  end

  local function recs(params)
    return assert(env.runtime:get_recommendations(params)).itemList
  end

  describe("filters", function()
    it("EXCLUDE by item metadata leaves the others in the model's order", function()
      local camp = setup()
      local all = ids(recs { campaignArn = camp, userId = "user1", numResults = 100 })
      local f = filter('EXCLUDE ItemID WHERE Items.GENRES IN ("Comedy")')
      local got = ids(recs { campaignArn = camp, userId = "user1", numResults = 100, filterArn = f })
      local want = {}
      for _, id in ipairs(all) do
        if not has_genre(id, "Comedy") then want[#want + 1] = id end
      end
      assert.is_true(#want > 0 and #want < #all)
      assert.same(want, got)
    end)

    it("INCLUDE with a parameter needs its value", function()
      local camp = setup()
      local f = filter('INCLUDE ItemID WHERE Items.GENRES IN ($GENRE) AND Items.PRICE >= $MIN')
      local got = recs { campaignArn = camp, userId = "user1", numResults = 100, filterArn = f,
                         filterValues = { GENRE = '"Drama"', MIN = "10" } }
      assert.is_true(#got > 0)
      for _, x in ipairs(got) do
        assert.is_true(has_genre(x.itemId, "Drama"), x.itemId)
        assert.is_true(tonumber(x.itemId:match("%d+")) >= 10, x.itemId)
      end
      local _, err = env.runtime:get_recommendations { campaignArn = camp, userId = "user1", filterArn = f,
                                                       filterValues = { GENRE = '"Drama"' } }
      assert.equal("InvalidInputException", err.code)
      assert.matches("%$MIN", err.message)
    end)

    it("EXCLUDE by event type follows events sent with put_events at once", function()
      local camp = setup()
      local tracker = assert(env.personalize:create_event_tracker { name = "t", datasetGroupArn = group }).trackingId
      env.settle()
      local f = filter('EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("purchase")')
      local before = ids(recs { campaignArn = camp, userId = "user1", numResults = 5, filterArn = f })
      assert(env.events:put_events { trackingId = tracker, userId = "user1", sessionId = "s",
        eventList = { { eventType = "Purchase", itemId = before[1], sentAt = 1700000500 } } })
      local after = ids(recs { campaignArn = camp, userId = "user1", numResults = 5, filterArn = f })
      assert.same({ before[2], before[3], before[4], before[5] }, { after[1], after[2], after[3], after[4] })
      -- other users are not affected
      assert.equal(before[1], recs { campaignArn = camp, userId = "user2", numResults = 1, filterArn = f }[1].itemId)
      -- and after a restart the index is rebuilt from what is stored
      env.reopen()
      assert.same(after, ids(recs { campaignArn = camp, userId = "user1", numResults = 5, filterArn = f }))
    end)

    it("orders a ranking with the filtered-out items at the end", function()
      with_recipe("aws-personalized-ranking", RANKING)
      local camp = setup("aws-personalized-ranking")
      local input = { "item9", "item2", "item1", "unknown", "item4", "item3" }
      local plain = assert(env.runtime:get_personalized_ranking { campaignArn = camp, userId = "user1",
        inputList = input }).personalizedRanking
      assert.equal(6, #plain)
      assert.equal("unknown", plain[6].itemId)
      local f = filter('EXCLUDE ItemID WHERE Items.GENRES IN ("Comedy")')
      local got = ids(assert(env.runtime:get_personalized_ranking { campaignArn = camp, userId = "user1",
        inputList = input, filterArn = f }).personalizedRanking)
      local kept, out = {}, {}
      for _, x in ipairs(plain) do
        if not has_genre(x.itemId, "Comedy") then kept[#kept + 1] = x.itemId
        else out[#out + 1] = x.itemId end
      end
      for _, id in ipairs(out) do kept[#kept + 1] = id end
      assert.same(kept, got)
    end)

    it("refuses a filter that is missing or of another group", function()
      local camp = setup()
      local _, err = env.runtime:get_recommendations { campaignArn = camp, userId = "user1",
        filterArn = "arn:aws:personalize:us-east-1:123456789012:filter/none" }
      assert.equal("ResourceNotFoundException", err.code)
    end)
  end)

  describe("real-time events", function()
    it("pass the user's live events since training to the recipe, oldest first", function()
      with_recipe("aws-user-personalization", RECORDING)
      local tracker_group
      local camp = setup("aws-user-personalization")
      tracker_group = group
      local tracker = assert(env.personalize:create_event_tracker { name = "t", datasetGroupArn = tracker_group }).trackingId
      env.settle()
      recs { campaignArn = camp, userId = "user1" }
      assert.same({}, seen_requests[#seen_requests].history)
      assert(env.events:put_events { trackingId = tracker, userId = "user1", sessionId = "s",
        eventList = { { eventType = "watch", itemId = "item30", sentAt = 1700000600 },
                      { eventType = "watch", itemId = "item31", sentAt = 1700000601 } } })
      assert(env.events:put_events { trackingId = tracker, userId = "newbie", sessionId = "s2",
        eventList = { { eventType = "watch", itemId = "item7", sentAt = 1700000602 } } })
      recs { campaignArn = camp, userId = "user1" }
      assert.same({ "item30", "item31" }, seen_requests[#seen_requests].history)
      recs { campaignArn = camp, userId = "newbie" }
      assert.same({ "item7" }, seen_requests[#seen_requests].history)
      env.reopen()
      recs { campaignArn = camp, userId = "user1" }
      assert.same({ "item30", "item31" }, seen_requests[#seen_requests].history)
    end)

    it("change the next recommendations of aws-user-personalization at once", function()
      local module = recipes.module(RECIPE .. "aws-user-personalization")
      if not module or module == RECORDING then
        pending("aws-user-personalization is not trained by personalize-local yet")
        return
      end
      local camp = setup("aws-user-personalization")
      local tracker = assert(env.personalize:create_event_tracker { name = "t", datasetGroupArn = group }).trackingId
      env.settle()
      local ghost = ids(recs { campaignArn = camp, userId = "ghost", numResults = 10 })
      local before = ids(recs { campaignArn = camp, userId = "user1", numResults = 10 })
      support.watch(env, tracker, { "user1", "newbie" }, { "item20", "item21", "item22", "item23" })
      assert.are_not.same(before, ids(recs { campaignArn = camp, userId = "user1", numResults = 10 }))
      assert.are_not.same(ghost, ids(recs { campaignArn = camp, userId = "newbie", numResults = 10 }))
    end)

    it("leave out events a newer solution version was trained on", function()
      with_recipe("aws-user-personalization", RECORDING)
      local camp = setup("aws-user-personalization")
      local tracker = assert(env.personalize:create_event_tracker { name = "t", datasetGroupArn = group }).trackingId
      env.settle()
      assert(env.events:put_events { trackingId = tracker, userId = "user1", sessionId = "s",
        eventList = { { eventType = "watch", itemId = "item30", sentAt = 1700000600 } } })
      local c = assert(env.personalize:describe_campaign { campaignArn = camp }).campaign
      local sol = c.solutionVersionArn:match("^(.*)/[^/]+$")
      local sv2 = assert(env.personalize:create_solution_version { solutionArn = sol }).solutionVersionArn
      env.settle()
      assert(env.personalize:update_campaign { campaignArn = camp, solutionVersionArn = sv2 })
      env.settle()
      assert(env.events:put_events { trackingId = tracker, userId = "user1", sessionId = "s",
        eventList = { { eventType = "watch", itemId = "item31", sentAt = 1700000700 } } })
      recs { campaignArn = camp, userId = "user1" }
      assert.same({ "item31" }, seen_requests[#seen_requests].history)
    end)
  end)

  describe("promotions", function()
    it("fill their share from the promotion's filter, marked with promotionName", function()
      local camp = setup()
      local drama = filter('INCLUDE ItemID WHERE Items.GENRES IN ("Drama")')
      local params = { campaignArn = camp, userId = "user1", numResults = 10,
        promotions = { { name = "dramas", percentPromotedItems = 30, filterArn = drama } } }
      local list = recs(params)
      assert.equal(10, #list)
      local promoted, seen = {}, {}
      for _, x in ipairs(list) do
        assert.is_nil(seen[x.itemId], "duplicate " .. x.itemId)
        seen[x.itemId] = true
        if x.promotionName then
          assert.equal("dramas", x.promotionName)
          assert.is_true(has_genre(x.itemId, "Drama"))
          promoted[#promoted + 1] = x.itemId
        end
      end
      assert.equal(3, #promoted)
      -- promoted items keep the model's order among themselves: the first dramas of the ranking
      local dramas = {}
      for _, id in ipairs(ids(recs { campaignArn = camp, userId = "user1", numResults = 100, filterArn = drama })) do
        if #dramas < 3 then dramas[#dramas + 1] = id end
      end
      assert.same(dramas, promoted)
      assert.same(ids(list), ids(recs(params)))
    end)
  end)

  describe("metadata", function()
    it("needs enableMetadataWithRecommendations and returns the asked columns", function()
      local camp = setup()
      local _, err = env.runtime:get_recommendations { campaignArn = camp, userId = "user1",
        metadataColumns = { ITEMS = { "TITLE" } } }
      assert.equal("InvalidInputException", err.code)
      assert.matches("enableMetadataWithRecommendations", err.message)
    end)

    it("returns metadata per item", function()
      local camp = setup(nil, { enableMetadataWithRecommendations = true })
      local list = recs { campaignArn = camp, userId = "user1", numResults = 3,
        metadataColumns = { ITEMS = { "TITLE", "PRICE" } } }
      for _, x in ipairs(list) do
        local i = x.itemId:match("%d+")
        assert.same({ TITLE = "Title " .. i, PRICE = i }, x.metadata)
      end
      local _, err = env.runtime:get_recommendations { campaignArn = camp, userId = "user1",
        metadataColumns = { ITEMS = { "NOPE" } } }
      assert.equal("InvalidInputException", err.code)
      _, err = env.runtime:get_recommendations { campaignArn = camp, userId = "user1", numResults = 101,
        metadataColumns = { ITEMS = { "TITLE" } } }
      assert.equal("InvalidInputException", err.code)
    end)
  end)

  describe("campaign settings", function()
    it("pass itemExplorationConfig to the recipe and report minProvisionedTPS", function()
      with_recipe("aws-user-personalization", RECORDING)
      local camp = setup("aws-user-personalization",
        { itemExplorationConfig = { explorationWeight = "0.5", explorationItemAgeCutOff = "7" } }, 2)
      recs { campaignArn = camp, userId = "user1" }
      assert.same({ weight = 0.5, ageCutOff = 7 }, seen_requests[#seen_requests].exploration)
      local c = assert(env.personalize:describe_campaign { campaignArn = camp }).campaign
      assert.equal(2, c.minProvisionedTPS)
      assert.equal("0.5", c.campaignConfig.itemExplorationConfig.explorationWeight)
    end)
  end)
end)

-- aws-next-best-action end to end: Actions and Action interactions
-- datasets only, imported from S3, trained, evaluated and served.
describe("personalize-local next best action", function()
  local env
  before_each(function() env = support.new() end)
  after_each(function() env.close() end)

  local T0 = 1700000000

  -- 40 users x 30 action interactions in AWS's spelling of event types.
  -- "join" is taken by 9 users in 10 who see it, "spam" by nobody, "old"
  -- by everybody but it has expired; the rest are only viewed.
  local function action_interactions_csv()
    local lines = { "USER_ID,ACTION_ID,TIMESTAMP,EVENT_TYPE" }
    local t = T0
    for u = 1, 40 do
      local function add(action, event)
        t = t + 60
        lines[#lines + 1] = ("user%d,%s,%d,%s"):format(u, action, t, event)
      end
      add("join", u % 10 == 0 and "Not taken" or "Taken")
      for _ = 1, 3 do add("spam", "Not taken") end
      add("old", "Taken")
      while #lines - 1 < u * 30 do add("tip" .. (#lines % 6), "Viewed") end
    end
    return table.concat(lines, "\n") .. "\n"
  end

  local ACTIONS_CSV = ("ACTION_ID,ACTION_EXPIRATION_TIMESTAMP,CHANNEL\njoin,,web\nspam,,email\nold,%d,web\n")
    :format(T0)

  it("trains on action interactions, reports metrics and recommends likely, unexpired actions", function()
    local p = env.personalize
    local group = assert(p:create_dataset_group { name = "nba" }).datasetGroupArn
    env.settle()
    local sa = assert(p:create_schema { name = "actions", schema = assert(require("personalize.schema").actions {
      { "ACTION_ID", "string" }, { "ACTION_EXPIRATION_TIMESTAMP", "long", nullable = true },
      { "CHANNEL", "string", categorical = true } }) }).schemaArn
    local sai = assert(p:create_schema { name = "action-interactions",
      schema = assert(require("personalize.schema").action_interactions {
        { "USER_ID", "string" }, { "ACTION_ID", "string" }, { "TIMESTAMP", "long" }, { "EVENT_TYPE", "string" } }) })
      .schemaArn
    local da = assert(p:create_dataset { name = "a", schemaArn = sa, datasetGroupArn = group,
      datasetType = "Actions" }).datasetArn
    local dai = assert(p:create_dataset { name = "ai", schemaArn = sai, datasetGroupArn = group,
      datasetType = "Action_Interactions" }).datasetArn
    env.settle()
    for ds, body in pairs { [da] = ACTIONS_CSV, [dai] = action_interactions_csv() } do
      env.import(ds, ds:match("[^/]+$") .. ".csv", body)
    end
    local sol = assert(p:create_solution { name = "nba", datasetGroupArn = group,
      recipeArn = RECIPE .. "aws-next-best-action" }).solutionArn
    env.settle()
    local sv = assert(p:create_solution_version { solutionArn = sol }).solutionVersionArn
    env.settle()
    local v = assert(p:describe_solution_version { solutionVersionArn = sv }).solutionVersion
    assert.equal("ACTIVE", v.status, v.failureReason)
    local m = assert(p:get_solution_metrics { solutionVersionArn = sv }).metrics
    assert.is_number(m["normalized_discounted_cumulative_gain_at_10"])
    local camp = assert(p:create_campaign { name = "nba", solutionVersionArn = sv }).campaignArn
    env.settle()

    local res = assert(env.runtime:get_action_recommendations { campaignArn = camp, userId = "new-user",
                                                               numResults = 3 })
    local list = res.actionList
    assert.equal(3, #list)
    assert.equal("join", list[1].actionId)
    for i, a in ipairs(list) do
      assert.not_equal("old", a.actionId)
      assert.is_true(a.score > 0 and a.score <= 1)
      if i > 1 then assert.is_true(a.score <= list[i - 1].score) end
    end
    -- get_recommendations is not how actions are asked for.
    local err = select(2, env.runtime:get_recommendations { campaignArn = camp, userId = "user1" })
    assert.equal("InvalidInputException", err.code)
    assert.matches("get_action_recommendations", err.message, 1, true)
  end)
end)
