-- personalize.engine.core's ease: the EASE solve of src/engine/ease.c,
-- on matrices small enough to solve by hand.
local engine_core = require "personalize.engine.core"

-- Gauss-Jordan inverse of a small dense matrix (the reference).
local function inverse(a)
  local n, m = #a, {}
  for i = 1, n do
    m[i] = {}
    for j = 1, n do m[i][j] = a[i][j]; m[i][n + j] = i == j and 1 or 0 end
  end
  for k = 1, n do
    local p = m[k][k]
    for j = 1, 2 * n do m[k][j] = m[k][j] / p end
    for i = 1, n do
      if i ~= k then
        local f = m[i][k]
        for j = 1, 2 * n do m[i][j] = m[i][j] - f * m[k][j] end
      end
    end
  end
  local out = {}
  for i = 1, n do out[i] = {} for j = 1, n do out[i][j] = m[i][n + j] end end
  return out
end

-- The rows of item i as { [neighbour] = weight }, and their order.
local function row(off, nbr, sim, i)
  local w, order = {}, {}
  for q = off[i], off[i + 1] - 1 do w[nbr[q]] = sim[q]; order[#order + 1] = nbr[q] end
  return w, order
end

describe("engine core.ease", function()
  it("solves two items by hand", function()
    -- u1 {1, 2}, u2 {1}: G = [[2, 1], [1, 1]], lambda 1: A = [[3, 1], [1, 2]],
    -- P = A^-1 = [[2, -1], [-1, 3]] / 5, B[i][j] = -P[i][j] / P[j][j]:
    -- B[1][2] = (1/5) / (3/5) = 1/3, B[2][1] = (1/5) / (2/5) = 1/2
    local off, nbr, sim, solved = engine_core.ease({ 1, 3, 4 }, { 1, 2, 1 }, nil, 2, { lambda = 1 })
    assert.same({ 1, 2, 3 }, off)
    assert.same({ 2, 1 }, nbr)
    assert.near(1 / 3, sim[1], 1e-6)
    assert.near(1 / 2, sim[2], 1e-6)
    assert.equal(2, solved)
  end)

  it("matches a dense inverse, best first, negative weights only when signed", function()
    -- items 1..4; u1 {1, 2}, u2 {1, 2, 3}, u3 {3, 4}; lambda 1
    local hist_off, hist = { 1, 3, 6, 8 }, { 1, 2, 1, 2, 3, 3, 4 }
    local g = { { 3, 2, 1, 0 }, { 2, 3, 1, 0 }, { 1, 1, 3, 1 }, { 0, 0, 1, 2 } }
    local p = inverse(g)
    local function b(i, j) return -p[i][j] / p[j][j] end
    for _, threads in ipairs { 1, 2 } do
      local off, nbr, sim = engine_core.ease(hist_off, hist, nil, 4, { lambda = 1, k = 3, signed = true, threads = threads })
      for i = 1, 4 do
        local w, order = row(off, nbr, sim, i)
        assert.equal(3, #order)
        for j = 1, 4 do
          if j ~= i then assert.near(b(i, j), w[j], 1e-6) end
        end
        for q = 2, #order do assert.is_true(math.abs(w[order[q - 1]]) >= math.abs(w[order[q]])) end
      end
      assert.near(-1 / 13, sim[off[1] + 2], 1e-6)  -- item 1 -> 4 is negative
      -- unsigned: only the positive weights, at most k
      off, nbr, sim = engine_core.ease(hist_off, hist, nil, 4, { lambda = 1, k = 1, threads = threads })
      assert.same({ 1, 2, 3, 4, 5 }, off)
      assert.same({ 2, 1, 4, 3 }, nbr)
      assert.near(8 / 13, sim[1], 1e-6)
      assert.near(0.5, sim[4], 1e-6)
    end
  end)

  it("weighs the pairs with hist_w when weighted", function()
    -- u1 {1, 2} with weights 2 and 1: G = [[4, 2], [2, 1]]; lambda 1
    local p = inverse { { 5, 2 }, { 2, 2 } }
    local off, nbr, sim = engine_core.ease({ 1, 3 }, { 1, 2 }, { 2, 1 }, 2, { lambda = 1, weighted = true })
    local w = row(off, nbr, sim, 1)
    assert.near(-p[1][2] / p[2][2], w[2], 1e-6)
    -- unweighted, the weights are ignored: G = [[1, 1], [1, 1]]
    off, nbr, sim = engine_core.ease({ 1, 3 }, { 1, 2 }, { 2, 1 }, 2, { lambda = 1 })
    assert.near(1 / 2, row(off, nbr, sim, 1)[2], 1e-6)
  end)

  it("solves only the max_items most popular items; the others get empty rows", function()
    -- item 3 has one user, items 1 and 2 two each
    local off, nbr, _, solved = engine_core.ease({ 1, 3, 6 }, { 1, 2, 1, 2, 3 }, nil, 3, { lambda = 1, max_items = 2 })
    assert.equal(2, solved)
    assert.equal(off[3], off[4])            -- item 3: no row
    for _, j in ipairs(nbr) do assert.not_equal(3, j) end
    -- no users, no items
    off, nbr = engine_core.ease({ 1 }, {}, nil, 0)
    assert.same({ 1 }, off)
    assert.same({}, nbr)
  end)

  it("checks its arguments", function()
    local function fails(pattern, ...)
      local args, n = { ... }, select("#", ...)
      local ok, err = pcall(function() return engine_core.ease((table.unpack or unpack)(args, 1, n)) end)
      assert.is_false(ok)
      assert.matches(pattern, tostring(err))
    end
    fails("table expected", "x", {}, nil, 1)
    fails("hist%[1%] is out of range", { 1, 2 }, { 3 }, nil, 2)
    fails("hist%[1%] is not a number", { 1, 2 }, { "a" }, nil, 2)
    fails("hist_off must run from 1", { 1, 2 }, { 1, 1 }, nil, 2)
    fails("smaller than the one before", { 1, 3, 2 }, { 1, 1 }, nil, 2)
    fails("differ in length", { 1, 2 }, { 1 }, { 1, 2 }, 2)
    fails("hist_w%[1%] is not finite", { 1, 2 }, { 1 }, { 0 / 0 }, 2)
    fails("opts.lambda out of range", { 1, 2 }, { 1 }, nil, 2, { lambda = 0 })
    fails("opts.k must be a number", { 1, 2 }, { 1 }, nil, 2, { k = "x" })
    fails("opts.threads out of range", { 1, 2 }, { 1 }, nil, 2, { threads = 3 })
    fails("expected 0 to", { 1, 2 }, { 1 }, nil, -1)
  end)

  it("votes over rows: recency, per-part normalisation and weights (core.rows, core.votes)", function()
    -- 3 items; rows a: 1 -> {2: 1, 3: 0.5}, 2 -> {3: 2}; rows b: 1 -> {3: 4}
    local a = engine_core.rows({ 1, 3, 4, 4 }, { 2, 3, 3 }, { 1, 0.5, 2 }, 3)
    local b = engine_core.rows({ 1, 2, 2, 2 }, { 3 }, { 4 }, 3)
    -- items newest first: 2 then 1; decay 1: item 1 weighs 1/2
    local acc, best = engine_core.votes({ 2, 1 }, 3, a, 10, 1, 1)
    -- part a: 3 <- 2 + 0.5 * 0.5 = 2.25, 2 <- 0.5; divided by 2.25
    assert.near(1, acc[3], 1e-12)
    assert.near(0.5 / 2.25, acc[2], 1e-12)
    assert.is_nil(acc[1])
    assert.equal(1, best)
    -- a second part at weight 0.5, normalised on its own: 3 <- 0.5 * 1
    acc, best = engine_core.votes({ 2, 1 }, 3, a, 10, 1, 1, b, 10, 1, 0.5)
    assert.near(1.5, acc[3], 1e-12)
    assert.near(1.5, best, 1e-12)
    -- only the newest n vote; a weight of 0 skips the part
    acc = engine_core.votes({ 2, 1 }, 3, a, 1, 1, 1, b, 10, 1, 0)
    assert.near(1, acc[3], 1e-12)
    assert.is_nil(acc[2])
    acc, best = engine_core.votes({}, 3, a, 10, 1, 1)
    assert.same({}, acc)
    assert.equal(0, best)
    local function fails(pattern, f)
      local ok, err = pcall(f)
      assert.is_false(ok)
      assert.matches(pattern, tostring(err))
    end
    fails("nbr%[1%] is out of range", function() engine_core.rows({ 1, 2 }, { 2 }, { 1 }, 1) end)
    fails("differ in length", function() engine_core.rows({ 1, 2 }, { 1 }, {}, 1) end)
    fails("off must run from 1", function() engine_core.rows({ 1, 1 }, { 1 }, { 1 }, 1) end)
    fails("items%[1%] is out of range", function() engine_core.votes({ 4 }, 3, a, 10, 1, 1) end)
    fails("rows for 3 entities, not 4", function() engine_core.votes({ 1 }, 4, a, 10, 1, 1) end)
    fails("per part", function() engine_core.votes({ 1 }, 3, a, 10, 1) end)
  end)

  it("counts transitions within the window, 1/d each, over sqrt(users of i * users of j)", function()
    -- u1: 1 2 3 (oldest first), u2: 1 3; window 2
    local off, nbr, sim = engine_core.transitions({ 1, 4, 6 }, { 1, 2, 3, 1, 3 }, nil, 3, { window = 2, k = 5 })
    local w1 = row(off, nbr, sim, 1)
    -- 1 -> 2: 1 (u1, d = 1) / sqrt(2 * 1); 1 -> 3: 1/2 (u1, d = 2) + 1 (u2) / sqrt(2 * 2)
    assert.near(1 / math.sqrt(2), w1[2], 1e-6)
    assert.near(1.5 / 2, w1[3], 1e-6)
    assert.same({ 3 }, { nbr[off[2]] })
    assert.near(1 / math.sqrt(2), sim[off[2]], 1e-6)
    assert.equal(off[3], off[4])              -- nothing follows item 3
    -- best first; k and the window bound the rows; weights multiply
    local _, order = row(off, nbr, sim, 1)
    assert.same({ 3, 2 }, order)
    off, nbr = engine_core.transitions({ 1, 4, 6 }, { 1, 2, 3, 1, 3 }, nil, 3, { window = 1, k = 1 })
    assert.same({ 2 }, { nbr[off[1]] })       -- 1 -> 2 (1/sqrt 2) beats 1 -> 3 (u2 alone: 1/2)
    assert.equal(off[1] + 1, off[2])          -- k = 1
    off, nbr, sim = engine_core.transitions({ 1, 3 }, { 1, 2 }, { 2, 3 }, 2, { window = 1, weighted = true })
    assert.equal(2, nbr[off[1]])
    assert.near(6, sim[off[1]], 1e-6)
    local ok, err = pcall(engine_core.transitions, { 1, 2 }, { 1 }, nil, 1, { window = 300 })
    assert.is_false(ok)
    assert.matches("opts.window out of range", err)
  end)

  it("reads a history built in C in place, as it reads Lua arrays", function()
    local training = require "personalize.engine.training"
    local common = require "personalize.engine.recipes.common"
    math.randomseed(11)
    local rows = { n = 3000, USER_ID = {}, ITEM_ID = {}, TIMESTAMP = {}, EVENT_TYPE = {} }
    for i = 1, rows.n do
      rows.USER_ID[i] = "u" .. math.random(120)
      rows.ITEM_ID[i] = "i" .. math.floor(150 * math.random() ^ 2 + 1)
      rows.TIMESTAMP[i] = 1500000000 + math.random(1000)
      rows.EVENT_TYPE[i] = math.random() < 0.7 and "click" or "buy"
    end
    local dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir -p " .. dir))
    finally(function() os.execute("rm -rf " .. dir) end)
    assert(engine_core.columns_write(dir, rows))
    local config = { solutionConfig = { eventsConfig = { eventParametersList = {
      { eventType = "click", weight = 0.5 }, { eventType = "buy", weight = 3 } } } } }
    local prepared = assert(training.prepare({ interactions = rows, sources = { interactions = { parts = { dir } } } },
      config))
    local ix = common.index(prepared)
    assert.is_not_nil(ix.c)
    for _, weighted in ipairs { false, true } do
      local opts = { lambda = 10, k = 20, signed = true, weighted = weighted, window = 5 }
      local w = weighted and ix.hist_w or nil
      assert.same({ engine_core.ease(ix.hist_off, ix.hist, w, #ix.items, opts) }, { engine_core.ease(ix.c, opts) })
      assert.same({ engine_core.transitions(ix.hist_off, ix.hist, w, #ix.items, opts) },
        { engine_core.transitions(ix.c, opts) })
    end
  end)
end)
