-- aws-trending-now: growth between the two newest windows of the data.
local fixtures = require "engine.recipes.fixtures"
local training = require "personalize.engine.training"

local TRENDING = "arn:aws:personalize:::recipe/aws-trending-now"
local HOUR = 3600

-- 40 users over 20 hours: "steady" gets 3 interactions every hour (the
-- most popular item), "fading" many early and none late, "rising" a few in
-- hour 18 and many in hour 19-20, background items one each.
local function trend_data()
  local list, T0 = {}, fixtures.T0
  local n = 0
  local function add(item, t)
    n = n + 1
    list[#list + 1] = { "u" .. (n % 40 + 1), item, t }
  end
  for h = 0, 19 do
    for k = 1, 3 do add("steady", T0 + h * HOUR + k * 60) end
    if h < 10 then for k = 1, 4 do add("fading", T0 + h * HOUR + k * 70) end end
    for k = 1, 45 do add("bg" .. (h * 100 + k), T0 + h * HOUR + k * 75) end
  end
  for k = 1, 2 do add("rising", T0 + 17 * HOUR + k) end
  for k = 1, 12 do add("rising", T0 + 18 * HOUR + 100 + k * 200) end
  return { interactions = fixtures.rows(list) }
end

describe("aws-trending-now", function()
  it("puts the item that grows fastest first, not the steady best seller; no scores", function()
    local model = assert(training.train(TRENDING, trend_data(), {}))
    local list = assert(training.recommend(TRENDING, model, { numResults = 3 }))
    assert.equal("rising", list[1].itemId)
    for _, r in ipairs(list) do
      assert.is_nil(r.score)
      assert.not_equal("fading", r.itemId)
    end
    -- the same for every user, whatever the clock says
    assert.same(list, assert(training.recommend(TRENDING, model, { userId = "u3", numResults = 3 })))
  end)

  it("takes the window from trend_window_seconds", function()
    -- windows of 10 hours: the first half of the data is "previous"; fading
    -- and steady do not grow, rising does
    local model = assert(training.train(TRENDING, trend_data(), { solutionConfig = {
      algorithmHyperParameters = { trend_window_seconds = tostring(10 * HOUR) } } }))
    assert.equal(10 * HOUR, model.window)
    assert.equal("rising", assert(training.recommend(TRENDING, model, { numResults = 1 }))[1].itemId)
  end)

  it("fills with every other item, honours filters and is deterministic", function()
    local model = assert(training.train(TRENDING, trend_data(), {}))
    local list = assert(training.recommend(TRENDING, model, { numResults = 30,
      keep = function(id) return id ~= "rising" end }))
    assert.equal(30, #list)
    for _, r in ipairs(list) do assert.not_equal("rising", r.itemId) end
    assert.same(model, assert(training.train(TRENDING, trend_data(), {})))
  end)
end)
