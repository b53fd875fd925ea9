-- personalize-local's offline metrics: the per-list measures, the
-- documented split, and a run on MovieLens.
local metrics = require "personalize.engine.metrics"
local recipes = require "personalize.engine.recipes"
local shared = require "support.shared"

local POPULARITY = "arn:aws:personalize:::recipe/aws-popularity-count"
local SIMS = "arn:aws:personalize:::recipe/aws-sims"

local KEYS = {
  "coverage", "mean_reciprocal_rank_at_25", "normalized_discounted_cumulative_gain_at_5",
  "normalized_discounted_cumulative_gain_at_10", "normalized_discounted_cumulative_gain_at_25",
  "precision_at_5", "precision_at_10", "precision_at_25",
}

-- 100 users x 10 interactions: nine older ones spread over item0..item199,
-- the newest always "hot". Every test user holds out exactly "hot".
local function planted(order)
  local rows = {}
  for u = 1, 100 do
    for j = 1, 9 do rows[#rows + 1] = { "u" .. u, "item" .. ((u * 7 + j * 13) % 200), 1000 * u + j } end
    rows[#rows + 1] = { "u" .. u, "hot", 1000 * u + 10 }
  end
  if order == "reversed" then
    local r = {}
    for i = #rows, 1, -1 do r[#r + 1] = rows[i] end
    rows = r
  end
  local d = { n = #rows, USER_ID = {}, ITEM_ID = {}, TIMESTAMP = {} }
  for i, r in ipairs(rows) do d.USER_ID[i], d.ITEM_ID[i], d.TIMESTAMP[i] = r[1], r[2], r[3] end
  return { interactions = d }
end

local function read_ratings(path)
  local f = assert(io.open(path, "rb"))
  local header = f:read("*l"):gsub("\r$", "")
  assert.equal("USER_ID,ITEM_ID,RATING,TIMESTAMP", header)
  local d = { n = 0, USER_ID = {}, ITEM_ID = {}, EVENT_VALUE = {}, TIMESTAMP = {} }
  local n = 0
  for line in f:lines() do
    local u, i, r, t = line:match("^([^,]*),([^,]*),([^,]*),([^,\r]*)")
    n = n + 1
    d.USER_ID[n], d.ITEM_ID[n], d.EVENT_VALUE[n], d.TIMESTAMP[n] = u, i, tonumber(r), tonumber(t)
  end
  f:close()
  d.n = n
  return { interactions = d }
end

describe("metrics per list", function()
  it("reproduces the developer guide's example (hits at ranks 2 and 5, K = 5)", function()
    local list = { { itemId = "a" }, { itemId = "r1" }, { itemId = "b" }, { itemId = "c" }, { itemId = "r2" } }
    local relevant = { r1 = true, r2 = true }
    assert.equal(0.6241, metrics.round(metrics.ndcg(list, relevant, 5)))
    assert.equal(0.4, metrics.precision(list, relevant, 5))
    assert.equal(0.5, metrics.reciprocal_rank(list, relevant, 25))
  end)

  it("scores perfect, empty and cut-off lists", function()
    local rel = { x = true, y = true }
    assert.equal(1, metrics.ndcg({ "x", "y", "z" }, rel, 5))
    assert.equal(1, metrics.ndcg({ "y", "x" }, rel, 2))
    assert.equal(0, metrics.ndcg({ "z", "w" }, rel, 5))
    assert.equal(0, metrics.ndcg({}, rel, 5))
    assert.equal(0, metrics.reciprocal_rank({ "z" }, rel))
    -- a hit beyond K does not count
    assert.equal(0, metrics.ndcg({ "a", "b", "x" }, rel, 2))
    assert.equal(0, metrics.precision({ "a", "b", "x" }, rel, 2))
    assert.equal(1 / 3, metrics.reciprocal_rank({ "a", "b", "x" }, rel, 25))
    assert.equal(0, metrics.reciprocal_rank({ "a", "b", "x" }, rel, 2))
    -- the ideal DCG counts min(K, #relevant) hits
    local many = { a = true, b = true, c = true, d = true }
    assert.equal(1, metrics.ndcg({ "a", "b" }, many, 2))
    assert.equal(0.5, metrics.precision({ "a", "z", "b", "y" }, many, 4))
    -- a repeated item counts once
    assert.equal(0.25, metrics.precision({ "x", "x", "z", "w" }, rel, 4))
  end)
end)

describe("metrics.evaluate", function()
  -- planted(): 100 users, of whom a sample of 10 (the first by the hash of
  -- their id) are test users; MovieLens' 671 users are all test users
  local ALL = metrics.MAX_TEST_USERS
  before_each(function() metrics.MAX_TEST_USERS = 10 end)
  after_each(function() metrics.MAX_TEST_USERS = ALL end)

  it("scores a planted answer exactly", function()
    local m = assert(metrics.evaluate(POPULARITY, planted(), {}))
    assert.same({
      coverage = metrics.round(25 / 201),
      mean_reciprocal_rank_at_25 = 1,
      normalized_discounted_cumulative_gain_at_5 = 1,
      normalized_discounted_cumulative_gain_at_10 = 1,
      normalized_discounted_cumulative_gain_at_25 = 1,
      precision_at_5 = 0.2, precision_at_10 = 0.1, precision_at_25 = 0.04,
    }, m)
  end)

  it("is deterministic, whatever the row order", function()
    local a = assert(metrics.evaluate(POPULARITY, planted(), {}))
    assert.same(a, metrics.evaluate(POPULARITY, planted(), {}))
    assert.same(a, metrics.evaluate(POPULARITY, planted("reversed"), {}))
  end)

  it("trains on the training users and the oldest 90% of each test user, and queries each test user", function()
    local seen_train, requests = nil, {}
    recipes.register("aws-sims", {
      train = function(data) seen_train = data.interactions; return { kind = "spy" } end,
      recommend = function(model, req)
        assert.equal("spy", model.kind)
        requests[#requests + 1] = req
        return { { itemId = "hot" } }
      end,
    })
    finally(function() recipes.register("aws-sims", nil) end)
    local data = planted()
    local m = assert(metrics.evaluate(SIMS, data, {}))
    assert.equal(10, #requests)
    assert.equal(990, seen_train.n)
    local test_users, hot_users = {}, {}
    for _, r in ipairs(requests) do
      assert.equal(25, r.numResults)
      assert.is_nil(test_users[r.userId])
      test_users[r.userId] = true
      -- itemId: the user's newest input interaction (j = 9)
      local u = tonumber(r.userId:sub(2))
      assert.equal("item" .. ((u * 7 + 9 * 13) % 200), r.itemId)
    end
    local per_user = {}
    for i = 1, seen_train.n do
      local u = seen_train.USER_ID[i]
      per_user[u] = (per_user[u] or 0) + 1
      if seen_train.ITEM_ID[i] == "hot" then hot_users[u] = true end
      if i > 1 then assert.is_true(seen_train.TIMESTAMP[i] > seen_train.TIMESTAMP[i - 1]) end
    end
    for u = 1, 100 do
      local id = "u" .. u
      assert.equal(test_users[id] and 9 or 10, per_user[id])
      assert.equal(not test_users[id], hot_users[id] == true)
    end
    assert.equal(1, m.mean_reciprocal_rank_at_25)
    assert.equal(metrics.round(1 / 201), m.coverage)
  end)

  it("makes every user a test user up to MAX_TEST_USERS", function()
    metrics.MAX_TEST_USERS = ALL
    local seen_train, asked = nil, {}
    recipes.register("aws-sims", {
      train = function(data) seen_train = data.interactions; return {} end,
      recommend = function(_, req) asked[#asked + 1] = req.userId; return {} end,
    })
    finally(function() recipes.register("aws-sims", nil) end)
    assert(metrics.evaluate(SIMS, planted(), {}))
    assert.equal(100, #asked)
    assert.equal(900, seen_train.n)
    -- in id order, whatever the row order
    local sorted = { (table.unpack or unpack)(asked) }
    table.sort(sorted)
    assert.same(sorted, asked)
  end)

  it("returns the reasons of the data rules and of the registry", function()
    local data = planted()
    data.interactions.n = 999
    local ok, reason = metrics.evaluate(POPULARITY, data, {})
    assert.is_nil(ok)
    assert.equal("Dataset has fewer than 1000 interactions (found 999)", reason)
    recipes.register("aws-vod-top-picks", false)
    finally(function() recipes.register("aws-vod-top-picks", nil) end)
    ok, reason = metrics.evaluate("arn:aws:personalize:::recipe/aws-vod-top-picks", planted(), {})
    assert.is_nil(ok)
    assert.matches("not supported by personalize%-local", reason)
  end)

  -- USER_SEGMENTATION recipes report what AWS reports for them
  -- (amazon-personalize-samples,
  -- next_steps/core_use_cases/user_segmentation/user_segmentation_example.ipynb
  -- records {'coverage', 'hits_at_1_percent', 'recall_at_1_percent'}).
  describe("for USER_SEGMENTATION recipes", function()
    local AFFINITY = "arn:aws:personalize:::recipe/aws-item-affinity"

    -- A stand-in whose segment for an item is the users who have it in
    -- training (`with`) or those who do not (`without`), by id.
    local function stand_in(with)
      return {
        train = function(data)
          local rows, has, users = data.interactions, {}, {}
          for i = 1, rows.n do
            local u, item = rows.USER_ID[i], rows.ITEM_ID[i]
            has[item] = has[item] or {}
            has[item][u] = true
            users[u] = true
          end
          local list = {}
          for u in pairs(users) do list[#list + 1] = u end
          table.sort(list)
          return { has = has, users = list }
        end,
        recommend = function() return {} end,
        segment_item = function(model, request)
          local out = {}
          for _, u in ipairs(model.users) do
            if (model.has[request.itemId] or {})[u] == with and #out < request.numResults then
              out[#out + 1] = { userId = u }
            end
          end
          return out
        end,
      }
    end

    it("report coverage, hits_at_1_percent and recall_at_1_percent, with known answers", function()
      -- planted(): the ten test users hold out "hot"; the segment is the top
      -- 1% of 100 users, one user.
      recipes.register("aws-item-affinity", stand_in(nil))
      finally(function() recipes.register("aws-item-affinity", nil) end)
      local m = assert(metrics.evaluate(AFFINITY, planted(), {}))
      local names = {}
      for k in pairs(m) do names[#names + 1] = k end
      table.sort(names)
      assert.same({ "coverage", "hits_at_1_percent", "recall_at_1_percent" }, names)
      assert.equal(1, m.hits_at_1_percent)
      assert.equal(1, m.recall_at_1_percent)
      recipes.register("aws-item-affinity", stand_in(true))
      m = assert(metrics.evaluate(AFFINITY, planted(), {}))
      assert.equal(0, m.hits_at_1_percent)
      assert.equal(0, m.recall_at_1_percent)
    end)

    -- A segment that ignores the item: the users in a fixed shuffled order
    -- (or the most active users, printed for comparison).
    local function fixed_segment(order_of)
      return {
        train = function(d)
          local list, seen = {}, {}
          for i = 1, d.interactions.n do
            local u = d.interactions.USER_ID[i]
            if not seen[u] then seen[u] = 0; list[#list + 1] = u end
            seen[u] = seen[u] + 1
          end
          local key = order_of(seen)
          table.sort(list, function(a, b)
            if key(a) ~= key(b) then return key(a) < key(b) end
            return a < b
          end)
          return list
        end,
        recommend = function() return {} end,
        segment_item = function(list, request)
          local out = {}
          for r = 1, request.numResults do out[r] = { userId = list[r] } end
          return out
        end,
      }
    end

    it("find held-out users on MovieLens far better than a segment that ignores the item", function()
      metrics.MAX_TEST_USERS = ALL
      local dir = shared.dir("datasets/movielens-small")
      if not dir then return end
      local core = require "personalize.core"
      local data = read_ratings(dir .. "/ratings.csv")
      local t0 = os.clock()
      local m = assert(metrics.evaluate(AFFINITY, data, {}))
      local seconds = os.clock() - t0
      finally(function() recipes.register("aws-item-affinity", nil) end)
      recipes.register("aws-item-affinity", fixed_segment(function() return core.sha256_hex end))
      local shuffled = assert(metrics.evaluate(AFFINITY, data, {}))
      recipes.register("aws-item-affinity", fixed_segment(function(count) return function(u) return -count[u] end end))
      local active = assert(metrics.evaluate(AFFINITY, data, {}))
      print(("\naws-item-affinity on movielens-small (%.2f s): hits_at_1_percent=%.4f recall_at_1_percent=%.4f"
        .. " (shuffled users: %.4f %.4f; most active users: %.4f %.4f)"):format(seconds, m.hits_at_1_percent,
        m.recall_at_1_percent, shuffled.hits_at_1_percent, shuffled.recall_at_1_percent,
        active.hits_at_1_percent, active.recall_at_1_percent))
      assert.is_true(m.recall_at_1_percent > 3 * shuffled.recall_at_1_percent)
      assert.is_true(m.recall_at_1_percent <= 1 and m.coverage <= 1)
    end)
  end)

  it("gives aws-popularity-count its baseline on MovieLens (100k ratings)", function()
    metrics.MAX_TEST_USERS = ALL
    local dir = shared.dir("datasets/movielens-small")
    if not dir then return end
    local data = read_ratings(dir .. "/ratings.csv")
    assert.equal(100004, data.interactions.n)
    local t0 = os.clock()
    local m = assert(metrics.evaluate(POPULARITY, data, {}))
    local seconds = os.clock() - t0
    local parts = {}
    for _, k in ipairs(KEYS) do
      assert.is_true(m[k] >= 0 and m[k] <= 1, k)
      parts[#parts + 1] = ("%s=%.4f"):format(k, m[k])
    end
    print(("\naws-popularity-count on movielens-small (%.2f s): %s"):format(seconds, table.concat(parts, " ")))
    local ndcg10 = m.normalized_discounted_cumulative_gain_at_10
    assert.is_true(ndcg10 > 0.02 and ndcg10 < 0.06, "ndcg@10 " .. ndcg10)
    assert.equal(metrics.round(25 / 9066), m.coverage)
    assert.is_true(seconds < 2, ("evaluate took %.2f s"):format(seconds))
    -- ratings of 4 and more only: still a positive baseline
    local liked = assert(metrics.evaluate(POPULARITY, data, { solutionConfig = { eventValueThreshold = "4" } }))
    assert.is_true(liked.normalized_discounted_cumulative_gain_at_10 > 0)
  end)
end)
