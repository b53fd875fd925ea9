-- personalize-local's recommendation quality on MovieLens ml-latest-small
-- next to baselines computed in the same run on exactly the same split.
-- Printed, never asserted.
--
--   lua5.4 bench/quality.lua              -- alone (LUA_PATH/LUA_CPATH as for the specs)
--   require("quality").run{}              -- from bench/run.lua (section 7)
--
-- The split: every user's interactions ordered by TIMESTAMP (then row);
-- the newest 10% (n - floor(0.9 n), at least one) are held out, the rest
-- is the training part. Every user is a test user. Items of a user's
-- training part are never candidates. NDCG@10 with binary relevance, its
-- ideal DCG over min(10, held-out items), averaged over users; the 95%
-- interval is the 2.5th and 97.5th percentiles of the mean over
-- BOOTSTRAP resamples of the users (seeded, so runs agree); the interval
-- of a difference resamples the users once for both models (paired).
--
-- Models, each trained on the training part only:
--   * the engine's recipes, through personalize.engine.training (as the
--     engine trains them), asked for 10 items with the user's training
--     items in request.exclude;
--   * popularity: distinct users of each item;
--   * item-kNN cosine (k = 50): the sum of the cosines of the user's items;
--   * EASE (core.ease, the engine's C solve over the most popular
--     EASE_ITEMS items) with lambda tuned on a validation block carved from
--     the training part the same way (each user's newest 10% of it);
--   * EASE with recency weighting: the p-th newest item of the history
--     (p = 0, 1, ...) weighs 1 / (1 + 0.2 p), as the engine weighs it.
-- Related-items recipes (aws-sims, aws-similar-items) are measured on
-- next-item prediction: given the user's newest training item, the
-- held-out items, against item-kNN cosine and EASE's row of that item.
local core = require "personalize.core"
local schema = require "personalize.schema"
local import = require "personalize.engine.import"
local training = require "personalize.engine.training"
local common = require "personalize.engine.recipes.common"
local engine_core = require "personalize.engine.core"

local fmt, now = string.format, core.now
local floor, log, min = math.floor, math.log, math.min
local sort = table.sort

local ARN = "arn:aws:personalize:::recipe/"
local K = 10
local _M = { BOOTSTRAP = 1000, EASE_ITEMS = 2500, LAMBDAS = { 100, 200, 500, 1000, 2000 } }

local LOG2 = log(2)

---------------------------------------------------------------------------
-- Data and split

function _M.load()
  local read = require("support.files").read
  local base = (os.getenv("PERSONALIZE_SHARED") or "third_party") .. "/datasets/movielens-small"
  local csv = read(base .. "/ratings.csv")
  if not csv then return nil end
  local fields = assert(schema.check(schema.interactions {
    { "USER_ID", "string" }, { "ITEM_ID", "string" }, { "RATING", "float" }, { "TIMESTAMP", "long" },
  }, "Interactions"))
  return assert(import.parse(csv, fields)), base
end

-- Splits rows (columnar) per user by time: { train = row numbers (sorted),
-- tests = { { user =, seen = { [item] = true }, relevant = { [item] = true },
-- last = newest training item }, ... } (users in id order) }.
function _M.split(rows, index)
  index = index or {}
  if #index == 0 then for i = 1, rows.n do index[i] = i end end
  local users, items, times = rows.USER_ID, rows.ITEM_ID, rows.TIMESTAMP
  local by_user, ids = {}, {}
  for _, i in ipairs(index) do
    local u = tostring(users[i])
    local l = by_user[u]
    if not l then l = {}; by_user[u] = l; ids[#ids + 1] = u end
    l[#l + 1] = i
  end
  sort(ids)
  local train, tests = {}, {}
  for _, u in ipairs(ids) do
    local l = by_user[u]
    sort(l, function(a, b)
      if times[a] ~= times[b] then return times[a] < times[b] end
      return a < b
    end)
    local n_in = floor(#l * 9 / 10)
    local seen, relevant = {}, {}
    for p = 1, n_in do train[#train + 1] = l[p]; seen[tostring(items[l[p]])] = true end
    for p = n_in + 1, #l do relevant[tostring(items[l[p]])] = true end
    tests[#tests + 1] = { user = u, seen = seen, relevant = relevant,
                          last = n_in > 0 and tostring(items[l[n_in]]) or nil }
  end
  sort(train)
  return { train = train, tests = tests }
end

---------------------------------------------------------------------------
-- Measures

function _M.ndcg(list, relevant)
  local dcg, n_rel, ideal = 0, 0, 0
  for r = 1, min(K, #list) do
    if relevant[list[r]] then dcg = dcg + LOG2 / log(r + 1) end
  end
  for _ in pairs(relevant) do n_rel = n_rel + 1 end
  for r = 1, min(K, n_rel) do ideal = ideal + LOG2 / log(r + 1) end
  return ideal > 0 and dcg / ideal or 0
end

-- A deterministic generator (Park and Miller's minimal standard: the
-- products stay below 2^53, exact in doubles), the same under Lua 5.4 and
-- LuaJIT.
local function rng(seed)
  local s = seed % 2147483646 + 1
  return function(n)
    s = s * 16807 % 2147483647
    return floor(s / 2147483647 * n) + 1
  end
end

-- Mean and 95% bootstrap interval of per-user values a (or of a - b,
-- paired, when b is given).
function _M.interval(a, b)
  local n = #a
  local v = {}
  for i = 1, n do v[i] = a[i] - (b and b[i] or 0) end
  local mean = 0
  for i = 1, n do mean = mean + v[i] end
  mean = mean / n
  local draw, means = rng(20261205), {}
  for r = 1, _M.BOOTSTRAP do
    local s = 0
    for _ = 1, n do s = s + v[draw(n)] end
    means[r] = s / n
  end
  sort(means)
  return mean, means[floor(0.025 * _M.BOOTSTRAP) + 1], means[floor(0.975 * _M.BOOTSTRAP)]
end

---------------------------------------------------------------------------
-- Baseline scorers over the training part's index (common.index)

-- The best K items of acc (item index -> score), skipping `seen` ids.
local function top(ix, acc, seen)
  local keys, vals = {}, {}
  for j, v in pairs(acc) do
    if not seen[ix.items[j]] then keys[#keys + 1] = j; vals[#vals + 1] = v end
  end
  local out = {}
  for r, j in ipairs(common.best(keys, vals, K)) do out[r] = ix.items[j] end
  return out
end
_M.top = top

-- The user's training items, newest first (indexes).
local function history(ix, u)
  local list = {}
  for p = ix.hist_off[u + 1] - 1, ix.hist_off[u], -1 do list[#list + 1] = ix.hist[p] end
  return list
end
_M.history = history

-- Votes over compressed rows; weight(p) for the p-th newest (0-based).
local function votes(rows, items, weight)
  local acc = {}
  local off, nbr, sim = rows.off, rows.nbr, rows.sim
  for p = 1, #items do
    local i = items[p]
    local r = weight and weight(p - 1) or 1
    for q = off[i], off[i + 1] - 1 do
      local j = nbr[q]
      acc[j] = (acc[j] or 0) + r * sim[q]
    end
  end
  return acc
end
_M.votes = votes

local function recency(p) return 1 / (1 + 0.2 * p) end
_M.recency = recency

-- Per-user NDCG of a scorer: f(u, test) -> list of item ids.
local function measure(ix, tests, f)
  local out = {}
  for t, test in ipairs(tests) do
    local u = ix.user_index[test.user]
    out[t] = _M.ndcg(u and f(u, test) or {}, test.relevant)
  end
  return out
end
_M.measure = measure

function _M.ease_rows(ix, lambda, k, max_items)
  local off, nbr, sim = engine_core.ease(ix.hist_off, ix.hist, nil, #ix.items,
    { lambda = lambda, k = k or 1000, max_items = max_items or _M.EASE_ITEMS, signed = true })
  return { off = off, nbr = nbr, sim = sim }
end

-- Tunes EASE's lambda on the training part's own newest 10%.
function _M.tune_ease(rows, train)
  local copy = {}
  for i, r in ipairs(train) do copy[i] = r end
  local inner = _M.split(rows, copy)
  local ix = common.index({ interactions = training.subset(rows, inner.train) })
  local best, best_lambda, scores = -1, nil, {}
  for _, lambda in ipairs(_M.LAMBDAS) do
    local e = _M.ease_rows(ix, lambda, 1000)
    local per = measure(ix, inner.tests, function(u, test) return top(ix, votes(e, history(ix, u)), test.seen) end)
    local m = 0
    for _, v in ipairs(per) do m = m + v end
    m = m / #per
    scores[#scores + 1] = fmt("%g:%.4f", lambda, m)
    if m > best then best, best_lambda = m, lambda end
  end
  return best_lambda, table.concat(scores, " ")
end

---------------------------------------------------------------------------
-- The run

local function engine_lists(arn, model, related)
  return function(_, test)
    local req = { numResults = K, exclude = test.seen }
    if related then req.itemId = test.last else req.userId = test.user end
    local list = assert(training.recommend(arn, model, req))
    local ids = {}
    for r, e in ipairs(list) do ids[r] = e.itemId end
    return ids
  end
end

function _M.run(opts)
  opts = opts or {}
  local say = opts.print or print
  local rows, where = _M.load()
  if not rows then
    say("  quality: MovieLens not found (third_party/datasets/movielens-small); skipped")
    return
  end
  local t_start = now()
  local sp = _M.split(rows)
  local train_rows = training.subset(rows, sp.train)
  local data = { interactions = train_rows }
  local ix = common.index(data)
  local tests = sp.tests
  say(fmt("  quality on %s (%s): %d users, %d training and %d held-out interactions, NDCG@10 [95%% CI]",
    where, jit and jit.version or _VERSION, #tests, #sp.train, rows.n - #sp.train))

  local results = {}
  local function row(name, per, note)
    local m, lo, hi = _M.interval(per)
    results[name] = per
    say(fmt("  %-40s %.4f [%.4f, %.4f] %s", name, m, lo, hi, note or ""))
  end

  -- baselines
  local pop = common.popular(ix)
  row("popularity (distinct users)", measure(ix, tests, function(_, test)
    local out = {}
    for _, j in ipairs(pop) do
      if not test.seen[ix.items[j]] then out[#out + 1] = ix.items[j]; if #out == K then break end end
    end
    return out
  end))
  local cos = common.neighbors(ix, { k = 50, alpha = 0.5, beta = 0.5 })
  row("item-kNN cosine (k=50)", measure(ix, tests, function(u, test)
    return top(ix, votes(cos, history(ix, u)), test.seen) end))
  row("item-kNN cosine, recency-weighted", measure(ix, tests, function(u, test)
    return top(ix, votes(cos, history(ix, u), recency), test.seen) end))
  local t0 = now()
  local lambda, tuning = _M.tune_ease(rows, sp.train)
  local tune_s = now() - t0
  t0 = now()
  local ease = _M.ease_rows(ix, lambda, 1000)
  local ease_s = now() - t0
  row(fmt("EASE (lambda=%g, %d items)", lambda, _M.EASE_ITEMS), measure(ix, tests, function(u, test)
    return top(ix, votes(ease, history(ix, u)), test.seen) end),
    fmt("(solve %.1f s; lambda from validation NDCG@10, %.0f s: %s)", ease_s, tune_s, tuning))
  row("EASE, recency-weighted", measure(ix, tests, function(u, test)
    return top(ix, votes(ease, history(ix, u), recency), test.seen) end))
  results.reference = results["EASE, recency-weighted"]

  -- the engine's recipes
  local recipes = opts.recipes or {
    { "aws-popularity-count" }, { "aws-user-personalization" }, { "aws-personalized-ranking" },
  }
  for _, r in ipairs(recipes) do
    local arn = ARN .. r[1]
    t0 = now()
    local model, why = training.train(arn, data, r.config or {})
    local train_s = now() - t0
    if not model then
      say(fmt("  %-40s failed: %s", r[1], tostring(why)))
    else
      row(r.label or r[1], measure(ix, tests, engine_lists(arn, model)), fmt("(training %.2f s)", train_s))
    end
  end
  local up = results["aws-user-personalization"]
  if up then
    local d, lo, hi = _M.interval(up, results.reference)
    say(fmt("  %-40s %+.4f [%+.4f, %+.4f] %s", "user-personalization - EASE recency", d, lo, hi,
      lo > 0 and "(above zero)" or "(not above zero)"))
  end

  -- related items: next-item prediction from the newest training item
  say("  next-item prediction (given the newest training item), NDCG@10 [95% CI]")
  local function last_of(u) local l = history(ix, u); return { l[1] } end
  row("item-kNN cosine (k=50), next item", measure(ix, tests, function(u, test)
    return top(ix, votes(cos, last_of(u)), test.seen) end))
  row("EASE row, next item", measure(ix, tests, function(u, test)
    return top(ix, votes(ease, last_of(u)), test.seen) end))
  for _, name in ipairs { "aws-sims", "aws-similar-items" } do
    local arn = ARN .. name
    t0 = now()
    local model, why = training.train(arn, data, {})
    local train_s = now() - t0
    if not model then
      say(fmt("  %-40s failed: %s", name, tostring(why)))
    else
      row(name .. ", next item", measure(ix, tests, engine_lists(arn, model, true)), fmt("(training %.2f s)", train_s))
    end
  end
  say(fmt("  (%d bootstrap resamples of the users; the whole section took %.0f s)", _M.BOOTSTRAP, now() - t_start))
  return results
end

if arg and arg[0] and arg[0]:find("quality%.lua$") and not package.loaded.quality then
  package.loaded.quality = _M
  _M.run()
end

return _M
