-- aws-user-personalization (and -v2, and the rankings of
-- aws-personalized-ranking): item-to-item models over the users'
-- histories, scored from the user's history at request time.
--
--   local model = user_personalization.train(data, config)
--   local list = user_personalization.recommend(model, request)
--   local list = user_personalization.rank(model, request)   -- inputList
--
-- Training builds three sets of item-to-item rows (compressed rows, best
-- first), each over the distinct (user, item) pairs weighted by
-- eventsConfig's weights:
--   * EASE (personalize.engine.core's ease, Steck 2019): the closed-form
--     linear model B = I - P / diag(P), P = (X^T X + lambda I)^-1, solved
--     in C over the ease_items most popular items (a bounded dense solve:
--     items outside it get no EASE row and are nobody's EASE neighbour;
--     the cosine rows below cover them); each item keeps its ease_neighbors
--     largest weights by magnitude (negative ones too);
--   * transitions (the time order of the histories; core.transitions, in
--     C): for each user's items in time order, item j at d positions after
--     item i (d <= sequence_window) adds 1/d to i -> j; divided by
--     sqrt(users of i * users of j), the sequence_neighbors best kept: what
--     users take next after an item;
--   * cosine: each item's `neighbors` nearest items by the cosine of their
--     user vectors (ecore.recs_neighbors; the candidate's norm raised to
--     popularity_penalty), as before.
-- The model keeps those rows (e_*, t_* and off/nbr/sim, the cosine ones,
-- which aws-item-affinity reads) and each user's items, oldest first (the
-- history built in C when training has one: EASE and the transitions read
-- it in C too).
-- Scoring: a user's items (training history, then request.history, the
-- live events, newest first) vote for their neighbours; the p-th newest
-- (p = 0, 1, ...) weighs 1/(1 + recency_decay p) in the EASE and cosine
-- votes (the newest MAX_PROFILE items) and 1/(1 + sequence_decay p) in the
-- transition votes (the newest SEQUENCE_PROFILE). Each kind's totals are
-- divided by their best, then summed with weights 1, sequence_weight and
-- cosine_weight. The best candidates are picked with a bounded heap, so a
-- request costs well under 1 ms for users with hundreds of items. A user
-- with no known items gets the popular items. When users seldom come back
-- to an item in the data (under 10% repeats), items the user already has
-- are not recommended again.
--
-- Scores: a softmax over the whole catalogue of the vote totals (divided
-- by the best), as AWS documents them for this recipe: the returned
-- scores sum to at most 1.
--
-- Exploration (request.exploration = { weight = 0..1, ageCutOff = days }):
-- items at most ageCutOff days old (from CREATION_TIMESTAMP of the items
-- dataset, else their first interaction, against the newest interaction)
-- get a bonus that is larger the fewer users they have; the final value is
-- (1 - weight) * relevance + weight * bonus, so weight 0 is pure
-- exploitation and the order stays deterministic.
--
-- Hyperparameters (solutionConfig.algorithmHyperParameters, strings):
--   ease_lambda (200), ease_items (1500; 0 turns EASE off), ease_neighbors (100)
--   sequence_window (10), sequence_neighbors (50), sequence_weight (0.5),
--   sequence_decay (1: only the user's newest few items count)
--   neighbors (cosine K, 30), popularity_penalty (0.5: the cosine),
--   cosine_weight (0.15), recency_decay (0.2)
-- Measured by bench/quality.lua on MovieLens ml-latest-small (every
-- user's newest 10% held out, NDCG@10): these defaults give 0.122 where
-- EASE with the same recency weighting gives 0.113 and the cosine model
-- alone (this recipe before EASE and transitions) 0.089; training takes
-- about 1.5 s there, most of it EASE's solve (which grows as ease_items^3).
local common = require "personalize.engine.recipes.common"
local engine_core = require "personalize.engine.core"

local pairs, ipairs, type, tostring, tonumber, setmetatable = pairs, ipairs, type, tostring, tonumber, setmetatable
local log, exp, min, max, floor = math.log, math.exp, math.min, math.max, math.floor
local sort = table.sort

local _M = { name = "aws-user-personalization", MODEL_VERSION = 2 }
-- The recipes it trains, read by recipes/init.lua (options there).
_M.RECIPES = { ["aws-user-personalization"] = {}, ["aws-user-personalization-v2"] = {},
  ["aws-ecomm-recommended-for-you"] = {}, ["aws-vod-top-picks"] = {} }

local DEFAULTS = {
  neighbors = 30, popularity_penalty = 0.5, recency_decay = 0.2, cosine_weight = 0.15,
  ease_lambda = 200, ease_items = 1500, ease_neighbors = 100,
  sequence_window = 10, sequence_neighbors = 50, sequence_weight = 0.5, sequence_decay = 1,
}
local REPEAT_SHARE = 0.1
_M.MAX_PROFILE = 100
_M.SEQUENCE_PROFILE = 20
-- EASE's Gram matrix counts each user's newest EASE_MAX_PER_USER items (of
-- the solved ones), so its cost stays bounded with heavy users
_M.EASE_MAX_PER_USER = 500
local SOFTMAX_BETA = 10
local DAY = 86400
_M.DEFAULT_EXPLORATION_WEIGHT = 0.3
_M.DEFAULT_AGE_CUT_OFF = 30

local function hyper(config, name)
  local hp = type(config.solutionConfig) == "table" and config.solutionConfig.algorithmHyperParameters
  local v = type(hp) == "table" and tonumber(hp[name])
  return v or DEFAULTS[name]
end

-- Item ids and creation times of the items dataset, if any.
local function catalogue(items)
  local ids, created = {}, {}
  if type(items) ~= "table" or type(items.ITEM_ID) ~= "table" then return ids, created end
  local ct = items.CREATION_TIMESTAMP or {}
  for i = 1, items.n or #items.ITEM_ID do
    local id = items.ITEM_ID[i]
    if id ~= nil then
      id = tostring(id)
      ids[#ids + 1] = id
      created[id] = tonumber(ct[i])
    end
  end
  return ids, created
end

-- hyper(config, name) as an integer in [lo, hi].
local function int_hyper(config, name, lo, hi)
  return max(lo, min(hi, floor(hyper(config, name))))
end

-- The rows a C kernel of personalize.engine.core (ease, transitions)
-- computes from the index's histories (in place when built in C, else
-- from its Lua arrays), similarities rounded to 3 digits.
local function kernel_rows(kernel, ix, weighted, opts)
  local off, nbr, sim
  if ix.c then
    off, nbr, sim = kernel(ix.c, opts)
  else
    off, nbr, sim = kernel(ix.hist_off, ix.hist, weighted and ix.hist_w or nil, #ix.items, opts)
  end
  for q = 1, #sim do sim[q] = common.round(sim[q], 3) end
  return { off = off, nbr = nbr, sim = sim }
end

-- The EASE rows (see the header), or empty rows when ease_items is 0.
local function ease_rows(ix, config, weighted)
  local n_items = int_hyper(config, "ease_items", 0, 10000)
  if n_items == 0 or #ix.items < 2 then
    local off = {}
    for j = 1, #ix.items + 1 do off[j] = 1 end
    return { off = off, nbr = {}, sim = {} }
  end
  local opts = { lambda = max(1e-6, hyper(config, "ease_lambda")), max_items = n_items,
                 k = int_hyper(config, "ease_neighbors", 1, 1000), signed = true, weighted = weighted,
                 max_per_user = _M.EASE_MAX_PER_USER }
  return kernel_rows(engine_core.ease, ix, weighted, opts)
end

-- The transition rows (see the header): what follows an item in the
-- users' histories, within `sequence_window` positions (core.transitions).
local function transition_rows(ix, config, weighted)
  local opts = { window = int_hyper(config, "sequence_window", 0, 100),
                 k = int_hyper(config, "sequence_neighbors", 1, 1000), weighted = weighted }
  return kernel_rows(engine_core.transitions, ix, weighted, opts)
end

-- opts.cosine_only: only the cosine rows (aws-item-affinity reads no more).
function _M.train(data, config, name, opts)
  config = config or {}
  local ix = common.index(data)
  local weighted = data.event_weights ~= nil
  local k = max(1, min(1000, floor(hyper(config, "neighbors"))))
  local nb = common.neighbors(ix, { k = k, alpha = 0.5, beta = hyper(config, "popularity_penalty"),
                                    weighted = weighted, digits = 3 })
  local ease, seq
  if not (opts and opts.cosine_only) then
    ease = ease_rows(ix, config, weighted)
    seq = transition_rows(ix, config, weighted)
  end
  local ids, created = catalogue(data.items)
  -- an item's age: its creation time, else its first interaction
  local born = {}
  for j, id in ipairs(ix.items) do born[j] = created[id] or ix.first_time[j] end
  local cold, cold_born, seen = {}, {}, {}
  for _, id in ipairs(ids) do
    if not ix.item_index[id] and not seen[id] then
      seen[id] = true
      cold[#cold + 1] = id
    end
  end
  sort(cold)
  for j, id in ipairs(cold) do cold_born[j] = created[id] or ix.t_max end
  return {
    recipe = name or _M.name, version = _M.MODEL_VERSION,
    items = ix.items, distinct = ix.distinct, popular = common.popular(ix),
    born = born, cold = cold, cold_born = cold_born, now = ix.t_max,
    off = nb.off, nbr = nb.nbr, sim = nb.sim,
    -- each user's items: the history built in C (stored beside the model
    -- and mapped when it loads), else Lua arrays
    history = ix.c,
    users = not ix.c and ix.users or nil, hist_off = not ix.c and ix.hist_off or nil,
    hist = not ix.c and ix.hist or nil,
    e_off = ease and ease.off, e_nbr = ease and ease.nbr, e_sim = ease and ease.sim,
    t_off = seq and seq.off, t_nbr = seq and seq.nbr, t_sim = seq and seq.sim,
    exclude_seen = ix.repeat_share < REPEAT_SHARE,
    decay = hyper(config, "recency_decay"),
    weights = { cosine = hyper(config, "cosine_weight"), sequence = hyper(config, "sequence_weight"),
                sequence_decay = hyper(config, "sequence_decay") },
  }
end

-- Per-model lookups rebuilt after a JSON round trip (weak: they go with
-- the model).
local derived = setmetatable({}, { __mode = "k" })

local function lookups(model)
  local d = derived[model]
  if d then return d end
  d = { item_index = {}, user_index = {} }
  for j, id in ipairs(model.items) do d.item_index[id] = j end
  for u, id in ipairs(model.users or {}) do d.user_index[id] = u end
  derived[model] = d
  return d
end
_M.lookups = lookups

-- The user's known items, newest first (indexes, at most MAX_PROFILE),
-- the set of their indexes, and the ids of live items the model lacks.
local function profile(model, request)
  local d = lookups(model)
  local list, seen, other = {}, {}, {}
  local history = type(request.history) == "table" and request.history or {}
  for p = #history, 1, -1 do
    local id = common.id(history[p])
    local j = id and d.item_index[id]
    if j then
      if not seen[j] then
        seen[j] = true
        list[#list + 1] = j
      end
    elseif id then
      other[id] = true
    end
  end
  local uid = common.id(request.userId) or ""
  local u = not model.history and d.user_index[uid]
  if model.history then
    local r = model.history:user(uid)
    for _, j in ipairs(r and model.history:items(r) or {}) do
      if not seen[j] then
        seen[j] = true
        list[#list + 1] = j
      end
    end
  elseif u then
    local hist = model.hist
    for p = model.hist_off[u + 1] - 1, model.hist_off[u], -1 do
      local j = hist[p]
      if not seen[j] then
        seen[j] = true
        list[#list + 1] = j
      end
    end
  end
  return list, seen, other
end

-- The model's rows in C (personalize.engine.core's rows), built once per
-- model (weak: they go with the model).
local c_rows = setmetatable({}, { __mode = "k" })

local function rows_of(model)
  local r = c_rows[model]
  if r then return r end
  local n = #model.items
  r = { cosine = engine_core.rows(model.off, model.nbr, model.sim, n) }
  if model.e_off then r.ease = engine_core.rows(model.e_off, model.e_nbr, model.e_sim, n) end
  if model.t_off then r.sequence = engine_core.rows(model.t_off, model.t_nbr, model.t_sim, n) end
  c_rows[model] = r
  return r
end

-- Relevance of items to the user: { [index] = votes }, the best vote.
-- Each kind's totals (EASE, transitions, cosine) are divided by their
-- best and weighed (see the header), in C (core.votes). A model without
-- EASE rows (an older engine's) votes with its cosine rows alone, at
-- weight 1.
local function votes(model, items)
  local r, n = rows_of(model), #model.items
  local decay, wt = model.decay or 0, model.weights or {}
  if r.ease then
    local profile_n = _M.MAX_PROFILE
    if r.sequence then
      return engine_core.votes(items, n, r.ease, profile_n, decay, 1,
        r.sequence, _M.SEQUENCE_PROFILE, wt.sequence_decay or 1, wt.sequence or 0,
        r.cosine, profile_n, decay, wt.cosine or 0)
    end
    return engine_core.votes(items, n, r.ease, profile_n, decay, 1, r.cosine, profile_n, decay, wt.cosine or 0)
  end
  return engine_core.votes(items, n, r.cosine, _M.MAX_PROFILE, decay, 1)
end
_M.votes = votes

-- The popular items' relevance, for users the model cannot place.
local function popularity_votes(model)
  local acc, pop, distinct = {}, model.popular, model.distinct
  local top = pop[1] and distinct[pop[1]] or 0
  for r = 1, min(#pop, 1000) do
    local j = pop[r]
    acc[j] = distinct[j] / max(top, 1)
  end
  return acc, 1
end

-- Candidates as parallel arrays of keys and values: keys 1..#items are
-- the model's items, #items + c the c-th cold item (items dataset only).
local function candidates(model, request)
  local items, seen, other = profile(model, request)
  local acc, best
  if #items > 0 then acc, best = votes(model, items) else acc, best = popularity_votes(model) end
  local hide = model.exclude_seen and seen or {}
  local n_warm = #model.items
  local value_of = {}
  for j, v in pairs(acc) do
    if not hide[j] then value_of[j] = best > 0 and v / best or 0 end
  end
  local ex = request.exploration
  local weight = type(ex) == "table" and tonumber(ex.weight or _M.DEFAULT_EXPLORATION_WEIGHT) or 0
  if weight > 0 then
    weight = min(weight, 1)
    local cut = model.now - (tonumber(ex.ageCutOff) or _M.DEFAULT_AGE_CUT_OFF) * DAY
    for j, v in pairs(value_of) do value_of[j] = (1 - weight) * v end
    local born, distinct = model.born, model.distinct
    for j = 1, n_warm do
      if born[j] >= cut and not hide[j] then
        value_of[j] = (value_of[j] or 0) + weight / (1 + log(1 + distinct[j]))
      end
    end
    for c, id in ipairs(model.cold) do
      if model.cold_born[c] >= cut and not (model.exclude_seen and other[id]) then value_of[n_warm + c] = weight end
    end
  end
  local keys, vals = {}, {}
  for key, v in pairs(value_of) do
    keys[#keys + 1] = key
    vals[#vals + 1] = v
  end
  return keys, vals, value_of, hide
end

function _M.recommend(model, request)
  request = request or {}
  local keys, vals, value_of, hide = candidates(model, request)
  local ids, cold, n_warm = model.items, model.cold, #model.items
  local function id_of(key) return key <= n_warm and ids[key] or cold[key - n_warm] end
  -- softmax over the catalogue: unscored items count with value 0
  local top = 0
  for i = 1, #vals do if vals[i] > top then top = vals[i] end end
  local z = (n_warm + #cold - #vals) * exp(-SOFTMAX_BETA * top)
  for i = 1, #vals do z = z + exp(SOFTMAX_BETA * (vals[i] - top)) end
  local function score(v) return common.round(exp(SOFTMAX_BETA * (v - top)) / z, 4) end
  local want = floor(tonumber(request.numResults) or common.DEFAULT_RESULTS)
  return common.pick(request, function(emit)
    -- the best few first; all of them only when filters turn many down
    local first = common.best(keys, vals, 2 * want + 20)
    for _, key in ipairs(first) do
      if emit(id_of(key), score(value_of[key])) then return end
    end
    if #first < #keys then
      local rest = common.best(keys, vals, #keys)
      for r = #first + 1, #rest do
        if emit(id_of(rest[r]), score(value_of[rest[r]])) then return end
      end
    end
    local zero = score(0)
    for _, j in ipairs(model.popular) do
      if not value_of[j] and not hide[j] and emit(ids[j], zero) then return end
    end
  end)
end

-- Ranks request.inputList for request.userId; scores are a softmax over
-- the list. Items the model does not know rank last, in input order.
function _M.rank(model, request)
  request = request or {}
  local input = type(request.inputList) == "table" and request.inputList or {}
  local items = profile(model, request)
  local acc, best
  if #items > 0 then acc, best = votes(model, items) else acc, best = popularity_votes(model) end
  local d = lookups(model)
  local rows, seen = {}, {}
  for pos, raw in ipairs(input) do
    local id = common.id(raw)
    if id and not seen[id] then
      seen[id] = true
      local j = d.item_index[id]
      local v = j and acc[j] and best > 0 and acc[j] / best or 0
      rows[#rows + 1] = { id = id, v = v, known = j and 1 or 0, pop = j and model.distinct[j] or 0, pos = pos }
    end
  end
  sort(rows, function(a, b)
    if a.v ~= b.v then return a.v > b.v end
    if a.known ~= b.known then return a.known > b.known end
    if a.pop ~= b.pop then return a.pop > b.pop end
    return a.pos < b.pos
  end)
  local values = {}
  for r, row in ipairs(rows) do values[r] = row.v end
  local scores = common.softmax(values, SOFTMAX_BETA, 0)
  local want = tonumber(request.numResults) or #rows
  local out = {}
  for r, row in ipairs(rows) do
    if #out >= want then break end
    if not (request.exclude and request.exclude[row.id]) and (not request.keep or request.keep(row.id)) then
      out[#out + 1] = { itemId = row.id, score = scores[r] }
    end
  end
  return out
end

return _M
