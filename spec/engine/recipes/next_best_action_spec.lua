-- aws-next-best-action: take rates, related actions, expiry, repeat limits.
local fixtures = require "engine.recipes.fixtures"
local training = require "personalize.engine.training"

local NBA = "arn:aws:personalize:::recipe/aws-next-best-action"
local DAY = 86400

-- 60 users x 20 events. Actions: "join" taken by most who see it,
-- "spam" shown to all and rarely taken, "pro" and "pro-plus" taken
-- together by the even users, "old" expired, "weekly" repeatable every 7 days.
local function nba_data()
  local ai = { n = 0, USER_ID = {}, ACTION_ID = {}, TIMESTAMP = {}, EVENT_TYPE = {} }
  local t = fixtures.T0
  local function add(u, a, et)
    t = t + 60
    local n = ai.n + 1
    ai.n = n
    ai.USER_ID[n], ai.ACTION_ID[n], ai.TIMESTAMP[n], ai.EVENT_TYPE[n] = u, a, t, et
  end
  for u = 1, 60 do
    local id = "u" .. u
    for k = 1, 4 do add(id, "spam", (u + k) % 12 == 0 and "TAKEN" or "NOT_TAKEN") end
    add(id, "join", u % 5 == 0 and "NOT_TAKEN" or (u <= 50 and "TAKEN" or "VIEWED"))
    for k = 1, 5 do add(id, "tip" .. ((u + k) % 9), k % 2 == 0 and "TAKEN" or "VIEWED") end
    if u % 2 == 0 then
      add(id, "pro", "TAKEN")
      if u <= 50 then add(id, "pro-plus", "TAKEN") end
    else
      add(id, "pro", "VIEWED")
    end
    add(id, "old", "TAKEN")
    add(id, "weekly", u % 3 == 0 and "TAKEN" or "VIEWED")
    while ai.n < u * 20 do add(id, "filler" .. (ai.n % 7), "VIEWED") end
  end
  local actions = { n = 4, ACTION_ID = { "old", "weekly", "join", "pro-plus" },
                    ACTION_EXPIRATION_TIMESTAMP = { fixtures.T0, nil, t + DAY, nil },
                    REPEAT_FREQUENCY = { nil, 7, nil, nil } }
  return { action_interactions = ai, actions = actions }
end

local function actions_of(list)
  local out = {}
  for i, r in ipairs(list) do out[i] = r.itemId end
  return out
end

describe("aws-next-best-action", function()
  local model
  setup(function() model = assert(training.train(NBA, nba_data(), { recipeArn = NBA })) end)

  it("recommends likely actions with propensity scores, never expired ones", function()
    local list = assert(training.recommend(NBA, model, { userId = "unknown-user", numResults = 5 }))
    assert.equal(5, #list)
    for i, r in ipairs(list) do
      assert.is_true(r.score > 0 and r.score <= 1)
      if i > 1 then assert.is_true(r.score <= list[i - 1].score) end
      assert.not_equal("old", r.itemId)
      assert.not_equal("spam", r.itemId)
    end
    assert.equal(5, #assert(training.recommend(NBA, model, { userId = "u7" })))
  end)

  it("favours what users like this one took: pro takers get pro-plus", function()
    local taker = actions_of(assert(training.recommend(NBA, model, { userId = "u52", numResults = 3 })))
    assert.equal("pro-plus", taker[1])
    -- a user who just took pro (live history) too
    local live = actions_of(assert(training.recommend(NBA, model,
      { userId = "newcomer", history = { "pro" }, numResults = 3 })))
    assert.equal("pro-plus", live[1])
  end)

  it("waits REPEAT_FREQUENCY days before offering an action again", function()
    local function has(list, id)
      for _, r in ipairs(list) do if r.itemId == id then return true end end
      return false
    end
    local took = assert(training.recommend(NBA, model, { userId = "u3", numResults = 50 }))
    local did_not = assert(training.recommend(NBA, model, { userId = "u4", numResults = 50 }))
    assert.is_false(has(took, "weekly"))
    assert.is_true(has(did_not, "weekly"))
  end)

  it("is deterministic, and needs action interactions", function()
    assert.same(model, assert(training.train(NBA, nba_data(), {})))
    local ok, reason = training.train(NBA, fixtures.communities(), {})
    assert.is_nil(ok)
    assert.equal("There is no action interactions data to train on: import an Action interactions dataset first", reason)
    local small = nba_data()
    small.action_interactions.n = 999
    ok, reason = training.train(NBA, small, {})
    assert.is_nil(ok)
    assert.equal("Dataset has fewer than 1000 action interactions (found 999)", reason)
  end)
end)

describe("aws-next-best-action under the metrics harness", function()
  it("is evaluated over the action interactions", function()
    local metrics = require "personalize.engine.metrics"
    local m = assert(metrics.evaluate(NBA, nba_data(), {}))
    for _, v in pairs(m) do assert.is_true(v >= 0 and v <= 1) end
    assert.is_true(m.coverage > 0)
    assert.same(m, assert(metrics.evaluate(NBA, nba_data(), {})))
  end)
end)
