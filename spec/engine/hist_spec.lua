-- personalize.engine.core's hist_build: the users' histories built in C
-- from column files must be what recipes/common.lua's index builds from
-- Lua tables, filter for filter, and the neighbours computed from them the
-- same as recs_neighbors' from coordinates.
local ecore = require "personalize.engine.core"
local training = require "personalize.engine.training"
local common = require "personalize.engine.recipes.common"

local function tmpdir()
  local dir = os.tmpname()
  os.remove(dir)
  assert(os.execute("mkdir -p " .. dir))
  return dir
end

-- n random interactions: repeated pairs, equal times, empty values, two event types.
local function random_rows(n, seed, users, items)
  math.randomseed(seed)
  local rows = { n = n, USER_ID = {}, ITEM_ID = {}, TIMESTAMP = {}, EVENT_TYPE = {}, EVENT_VALUE = {} }
  for i = 1, n do
    rows.USER_ID[i] = "u" .. math.random(users)
    rows.ITEM_ID[i] = "i" .. math.floor(items * math.random() ^ 2 + 1)
    rows.TIMESTAMP[i] = 1500000000 + math.random(math.floor(n / 3))
    rows.EVENT_TYPE[i] = math.random() < 0.7 and "click" or "buy"
    if math.random() < 0.8 then rows.EVENT_VALUE[i] = math.random(0, 50) / 10 end
  end
  return rows
end

-- rows[from..to] as a columnar table
local function slice(rows, from, to)
  local out = { n = to - from + 1 }
  for name, col in pairs(rows) do
    if name ~= "n" then
      local c = {}
      for i = from, to do c[i - from + 1] = col[i] end
      out[name] = c
    end
  end
  return out
end

local CONFIGS = {
  {},
  { eventType = "click" },
  { solutionConfig = { eventValueThreshold = "2.5" } },
  { eventType = "buy", solutionConfig = { eventValueThreshold = "1" } },
  { solutionConfig = { eventsConfig = { eventParametersList = {
      { eventType = "click", weight = 0.5 }, { eventType = "buy", eventValueThreshold = 2, weight = 3 } } } } },
}

describe("hist_build", function()
  local rows = random_rows(6000, 7, 300, 400)
  local dirs, extra

  setup(function()
    -- two parts and rows sent one by one, as the engine stores a dataset
    dirs = { tmpdir(), tmpdir() }
    assert(ecore.columns_write(dirs[1], slice(rows, 1, 2500)))
    assert(ecore.columns_write(dirs[2], slice(rows, 2501, 5800)))
    extra = slice(rows, 5801, 6000)
  end)

  teardown(function()
    for _, d in ipairs(dirs) do os.execute("rm -rf " .. d) end
  end)

  for n, config in ipairs(CONFIGS) do
    it("builds what the Lua index builds (configuration " .. n .. ")", function()
      local lua_data = assert(training.prepare({ interactions = rows }, config))
      local c_data = assert(training.prepare({ interactions = rows,
        sources = { interactions = { parts = dirs, extra = extra } } }, config))
      assert.is_not_nil(c_data.hist)
      local a, b = common.index(lua_data), common.index(c_data)
      for _, key in ipairs({ "items", "users", "distinct", "total", "first_time", "hist_off", "hist",
                             "hist_w", "hist_time" }) do
        assert.same(a[key], b[key], key)
      end
      for _, key in ipairs({ "t_min", "t_max", "n_events" }) do assert.equal(a[key], b[key], key) end
      assert.near(a.repeat_share, b.repeat_share, 1e-12)
      -- the rows themselves still load for the recipes that read them
      assert.equal(lua_data.interactions.n, c_data.interactions.n)
      assert.same(lua_data.interactions.ITEM_ID, c_data.interactions.ITEM_ID)
      -- and the neighbours agree with the kernel fed from Lua
      local opts = { k = 7, alpha = 0.5, beta = 0.3, weighted = config.solutionConfig ~= nil, digits = 3 }
      local na, nb = common.neighbors(a, opts), common.neighbors(b, opts)
      assert.same(na.off, nb.off)
      assert.same(na.nbr, nb.nbr)
      assert.same(na.sim, nb.sim)
    end)
  end

  for _, recipe in ipairs({ "aws-user-personalization", "aws-sims", "aws-popularity-count",
                           "aws-trending-now", "aws-item-affinity" }) do
    it("gives the offline metrics of the Lua split for " .. recipe, function()
      local metrics = require "personalize.engine.metrics"
      local arn = "arn:aws:personalize:::recipe/" .. recipe
      local a = assert(metrics.evaluate(arn, { interactions = rows }, {}))
      local b = assert(metrics.evaluate(arn, { interactions = rows,
        sources = { interactions = { parts = dirs, extra = extra } } }, {}))
      assert.same(a, b)
    end)
  end

  it("refuses data below the minimum with the service's words", function()
    local few = slice(rows, 1, 900)
    local dir = tmpdir()
    assert(ecore.columns_write(dir, few))
    local ok, why = training.prepare({ interactions = few, sources = { interactions = { parts = { dir } } } }, {})
    local ok2, why2 = training.prepare({ interactions = few }, {})
    os.execute("rm -rf " .. dir)
    assert.is_nil(ok)
    assert.is_nil(ok2)
    assert.equal(why2, why)
    assert.matches("fewer than 1000 interactions", why)
  end)

  it("names a part that lacks a column, and a damaged file", function()
    local dir = tmpdir()
    assert(ecore.columns_write(dir, { n = 1, USER_ID = { "u" } }))
    local h, err = ecore.hist_build({ dir }, {})
    assert.is_nil(h)
    assert.matches("has no ITEM_ID column", err)
    local f = assert(io.open(dir .. "/ITEM_ID.col", "wb"))
    f:write("PZCOL001" .. string.rep("\255", 60))
    f:close()
    h, err = ecore.hist_build({ dir }, {})
    os.execute("rm -rf " .. dir)
    assert.is_nil(h)
    assert.matches("not a column file", err)
  end)

  it("saves the histories for serving and maps them back", function()
    local h = assert(ecore.hist_build(dirs, { extra = extra }))
    local path = dirs[1] .. "/history.hist"
    assert(h:save(path))
    local loaded = assert(ecore.hist_load(path))
    local users = h:user_ids()
    local off, hist = h:rows()
    assert.same(users, loaded:user_ids())
    for _, u in ipairs({ 1, 2, #users }) do
      local r = assert(loaded:user(users[u]))
      assert.equal(u, r)
      local want = {}
      for p = off[u + 1] - 1, off[u], -1 do want[#want + 1] = hist[p] end
      assert.same(want, loaded:items(r))
      assert.same({ want[1], want[2] }, loaded:items(r, 2))
    end
    assert.is_nil(loaded:user("nobody"))
    assert.has_error(function() loaded:stats() end)
    -- a truncated file is refused
    local f = assert(io.open(path, "rb"))
    local bytes = f:read("a")
    f:close()
    f = assert(io.open(path, "wb"))
    f:write(bytes:sub(1, #bytes - 3))
    f:close()
    local bad, err = ecore.hist_load(path)
    assert.is_nil(bad)
    assert.matches("not a history file", err)
  end)

  it("gives the same neighbours with one thread or two", function()
    local h = assert(ecore.hist_build(dirs, { extra = extra }))
    local o1, n1, s1 = h:neighbors({ k = 20, threads = 1, digits = 6 })
    local o2, n2, s2 = h:neighbors({ k = 20, threads = 2, digits = 6 })
    assert.same(o1, o2)
    assert.same(n1, n2)
    assert.same(s1, s2)
  end)
end)
