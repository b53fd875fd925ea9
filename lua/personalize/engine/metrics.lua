-- Offline metrics of a solution version, computed as Amazon Personalize
-- documents them ("Evaluating a solution version with metrics"), for any
-- recipe module.
--
--   local m, reason = metrics.evaluate(recipe_arn, data, config, prepared)
--   -- prepared: training.prepare's result for data and config, when the
--   -- caller has it (the data is then not prepared again)
--   -- m = { coverage =, mean_reciprocal_rank_at_25 =,
--   --       normalized_discounted_cumulative_gain_at_5 =, _at_10 =, _at_25 =,
--   --       precision_at_5 =, _at_10 =, _at_25 = }   (rounded to 4 decimals)
--   -- USER_SEGMENTATION recipes: { coverage =, hits_at_1_percent =,
--   --   recall_at_1_percent = } (see segmentation below)
--   metrics.ndcg(list, relevant, k) / metrics.precision(list, relevant, k)
--   metrics.reciprocal_rank(list, relevant, k)
--
-- The split: every user is a test user, up to MAX_TEST_USERS (5000); above
-- that, users are ordered by SHA-256 of their id (a fixed, seedless
-- shuffle) and the first MAX_TEST_USERS are, so the cost stays bounded on
-- large data (a sample of 5000 users puts a 95% interval of about +-0.005
-- around NDCG@10, where MovieLens' 671 users give +-0.012 and a 10% share
-- of them +-0.04, too wide to tell models apart). The model is trained on
-- every interaction of the other users plus the oldest 90% (by TIMESTAMP)
-- of each test user's interactions; each test user then asks for 25 items
-- (with itemId = their newest input item, for related-items recipes),
-- which are scored against the items of their newest 10% (at least one
-- interaction). The measures are means over the test users.
-- For PERSONALIZED_ACTIONS recipes (aws-next-best-action) the same split
-- and measures run over the action interactions, with actions as items.
-- `list` is an array of { itemId = } records or of item ids; `relevant` a
-- set { [itemId] = true }. Relevance is binary; NDCG weights rank r by
-- 1/log2(1 + r) and divides by the ideal DCG of min(k, #relevant) hits.
local core = require "personalize.core"
local recipes = require "personalize.engine.recipes"
local training = require "personalize.engine.training"
local ecore = require "personalize.engine.core"

local pairs, ipairs, type, tostring = pairs, ipairs, type, tostring
local floor, log, min = math.floor, math.log, math.min
local sort = table.sort

local _M = {}
local segmentation, split_rows, split_hist

_M.MAX_TEST_USERS = 5000
_M.RESULTS = 25
_M.SPLIT_SALT = "personalize-local/metrics/"

local LOG2 = log(2)

local function item_of(entry)
  if type(entry) == "table" then return entry.itemId end
  return entry
end

local function count(set)
  local n = 0
  for _ in pairs(set) do n = n + 1 end
  return n
end

-- The ranks (1-based, within the first k) of the distinct relevant items.
local function hits(list, relevant, k)
  local out, seen = {}, {}
  for rank = 1, min(k, #list) do
    local id = item_of(list[rank])
    if id ~= nil and relevant[id] and not seen[id] then
      seen[id] = true
      out[#out + 1] = rank
    end
  end
  return out
end

function _M.ndcg(list, relevant, k)
  local dcg = 0
  for _, rank in ipairs(hits(list, relevant, k)) do dcg = dcg + LOG2 / log(rank + 1) end
  local ideal = 0
  for rank = 1, min(k, count(relevant)) do ideal = ideal + LOG2 / log(rank + 1) end
  if ideal == 0 then return 0 end
  return dcg / ideal
end

function _M.precision(list, relevant, k)
  return #hits(list, relevant, k) / k
end

function _M.reciprocal_rank(list, relevant, k)
  local first = hits(list, relevant, k or _M.RESULTS)[1]
  return first and 1 / first or 0
end

local function round4(x)
  return floor(x * 10000 + 0.5) / 10000
end
_M.round = round4

-- Test users first: users ordered by the hash of their id; how many are.
local function split_users(user_list)
  if #user_list <= _M.MAX_TEST_USERS then
    sort(user_list)
    return #user_list
  end
  local key = {}
  for _, u in ipairs(user_list) do key[u] = core.sha256_hex(_M.SPLIT_SALT .. u) end
  sort(user_list, function(a, b)
    if key[a] ~= key[b] then return key[a] < key[b] end
    return a < b
  end)
  return _M.MAX_TEST_USERS
end

-- USER_SEGMENTATION recipes (aws-item-affinity, aws-item-attribute-affinity)
-- are measured as AWS reports them, hits_at_1_percent and
-- recall_at_1_percent (amazon-personalize-samples,
-- next_steps/core_use_cases/user_segmentation/user_segmentation_example.ipynb
-- records {'coverage', 'hits_at_1_percent', 'recall_at_1_percent'} for
-- both). For each item some test user holds out, the segment is the top 1%
-- of all users (at least one) the recipe's segment_item (or segment) gives
-- for the item; hits are the held-out users of the item inside it, recall
-- those hits over min(their number, the segment's size) (as the notebook
-- computes them); both are averaged over the items (the smallest ids
-- first), at most MAX_SEGMENT_ITEMS of them and fewer for many users, so
-- that items x users stays near SEGMENT_WORK (each segment ranks every
-- user): 1000 items for MovieLens' 610 users, 123 for 25M's 162,541.
_M.MAX_SEGMENT_ITEMS = 1000
_M.MIN_SEGMENT_ITEMS = 50
_M.SEGMENT_WORK = 2e7

function segmentation(module, model, tests, n_users)
  local segment = module.segment_item or module.segment
  local k = math.ceil(n_users / 100)
  local holders, ids = {}, {}
  for _, t in ipairs(tests) do
    for id in pairs(t.relevant) do
      local h = holders[id]
      if not h then
        h = {}
        holders[id] = h
        ids[#ids + 1] = id
      end
      h[t.user] = true
    end
  end
  sort(ids)
  local cap = math.max(_M.MIN_SEGMENT_ITEMS, floor(_M.SEGMENT_WORK / math.max(n_users, 1)))
  local n = min(#ids, _M.MAX_SEGMENT_ITEMS, cap)
  local total, recall = 0, 0
  for i = 1, n do
    local target = holders[ids[i]]
    local users = segment(model, { itemId = ids[i], numResults = k }) or {}
    local hit = 0
    for r = 1, min(k, #users) do
      local u = users[r]
      if target[tostring(type(u) == "table" and u.userId or u)] then hit = hit + 1 end
    end
    total = total + hit
    recall = recall + hit / min(count(target), k)
  end
  if n == 0 then return { hits = 0, recall = 0 } end
  return { hits = total / n, recall = recall / n }
end

-- The split over columnar rows: the row numbers to train on and the
-- tests ({ user =, relevant = { [itemId] = true }, last_item = }), with the
-- users in id order (all of them tests) or hash order (a sample). `chosen` ({ [userId] = true }) names the test users;
-- without it they are every user, or the first MAX_TEST_USERS of them.
function split_rows(rows, id_column, chosen)
  local users_col, items_col, times = rows.USER_ID, rows[id_column], rows.TIMESTAMP or {}
  local by_user, user_list = {}, {}
  for i = 1, rows.n do
    local u = tostring(users_col[i])
    local list = by_user[u]
    if not list then
      list = {}
      by_user[u] = list
      user_list[#user_list + 1] = u
    end
    list[#list + 1] = i
  end
  local n_test = split_users(user_list)
  local function older(a, b)
    local ta, tb = times[a] or 0, times[b] or 0
    if ta ~= tb then return ta < tb end
    return a < b
  end
  local train_rows, tests = {}, {}
  for pos, u in ipairs(user_list) do
    local idx = by_user[u]
    local test
    if chosen then test = chosen[u] else test = pos <= n_test end
    if test then
      sort(idx, older)
      -- oldest 90% as input, the rest (at least one) held out
      local n_input = floor(#idx * 9 / 10)
      for j = 1, n_input do train_rows[#train_rows + 1] = idx[j] end
      local relevant = {}
      for j = n_input + 1, #idx do relevant[tostring(items_col[idx[j]])] = true end
      local last = n_input > 0 and tostring(items_col[idx[n_input]]) or nil
      tests[#tests + 1] = { user = u, relevant = relevant, last_item = last }
    else
      for _, i in ipairs(idx) do train_rows[#train_rows + 1] = i end
    end
  end
  sort(train_rows)
  return train_rows, tests, user_list
end

-- The same split from histories built in C (prepared.hist): the test users
-- are chosen from the histories' users, and hist_build leaves their newest
-- rows out (opts.holdout). Returns the training histories, the tests, the
-- number of users and the test users' set; or nil, message.
function split_hist(prepared)
  local users = prepared.hist:user_ids()
  local n_test = split_users(users)
  local chosen = {}
  for i = 1, n_test do chosen[users[i]] = true end
  local opts = {}
  for k, v in pairs(prepared.hist_options) do opts[k] = v end
  opts.holdout = { users = chosen, keep = 0.9 }
  local hist, held = ecore.hist_build(prepared.source.parts, opts)
  if not hist then return nil, "cannot split the interactions: " .. tostring(held) end
  local tests = {}
  for i = 1, n_test do
    local t = held[users[i]]
    if t then tests[#tests + 1] = { user = users[i], relevant = t.relevant, last_item = t.last_item } end
  end
  return hist, tests, #users, chosen
end

function _M.evaluate(recipe_arn, data, config, prepared)
  config = training.with_recipe(config, recipe_arn)
  local module, why = recipes.module(recipe_arn)
  if not module then return nil, why end
  local reason
  if not prepared then
    prepared, reason = training.prepare(data, config)
    if not prepared then return nil, reason end
  end
  -- PERSONALIZED_ACTIONS recipes: the same split and measures over the
  -- action interactions, actions in place of items
  local recipe = recipes.get(recipe_arn)
  local on_actions = recipe and recipe.recipeType == "PERSONALIZED_ACTIONS"
  local rows = on_actions and prepared.action_interactions or prepared.interactions
  local id_column = on_actions and "ACTION_ID" or "ITEM_ID"
  local train_data = { items = prepared.items, users = prepared.users, event_weights = prepared.event_weights,
                       actions = prepared.actions, action_interactions = prepared.action_interactions }
  local tests, n_users, catalog
  if prepared.hist and not on_actions then
    -- histories built in C: the same split, without a Lua value per interaction
    local hist, chosen
    hist, tests, n_users, chosen = split_hist(prepared)
    if not hist then return nil, tests end
    train_data.hist = hist
    train_data.interactions = training.lazy_rows(hist:stats().events, function()
      return training.subset(rows, (split_rows(rows, id_column, chosen)))
    end)
    catalog = {}
    for _, id in ipairs(prepared.hist:item_ids()) do catalog[id] = true end
  else
    local train_rows, user_list
    train_rows, tests, user_list = split_rows(rows, id_column)
    n_users = #user_list
    train_data.interactions = training.subset(rows, train_rows)
    if on_actions then
      train_data.interactions, train_data.action_interactions = prepared.interactions, train_data.interactions
    end
  end
  local model
  model, reason = training.call("Training", module.train, train_data, config)
  if not model then return nil, reason end

  local sums = { mrr = 0, ndcg5 = 0, ndcg10 = 0, ndcg25 = 0, p5 = 0, p10 = 0, p25 = 0 }
  local recommended = {}
  for _, t in ipairs(tests) do
    local list
    list, reason = training.call("Recommendation", module.recommend, model,
      { userId = t.user, itemId = t.last_item, numResults = _M.RESULTS })
    if not list then return nil, reason end
    for rank = 1, min(_M.RESULTS, #list) do
      local id = item_of(list[rank])
      if id ~= nil then recommended[id] = true end
    end
    local rel = t.relevant
    sums.mrr = sums.mrr + _M.reciprocal_rank(list, rel, 25)
    sums.ndcg5 = sums.ndcg5 + _M.ndcg(list, rel, 5)
    sums.ndcg10 = sums.ndcg10 + _M.ndcg(list, rel, 10)
    sums.ndcg25 = sums.ndcg25 + _M.ndcg(list, rel, 25)
    sums.p5 = sums.p5 + _M.precision(list, rel, 5)
    sums.p10 = sums.p10 + _M.precision(list, rel, 10)
    sums.p25 = sums.p25 + _M.precision(list, rel, 25)
  end

  local segment_hits
  if recipe and recipe.recipeType == "USER_SEGMENTATION" then
    segment_hits = segmentation(module, model, tests, n_users)
  end

  -- coverage: out of the distinct items of the interactions and items datasets
  if not catalog then
    catalog = {}
    local items_col = rows[id_column]
    for i = 1, rows.n do catalog[tostring(items_col[i])] = true end
  end
  local items = on_actions and prepared.actions or prepared.items
  if type(items) == "table" and type(items[id_column]) == "table" then
    for i = 1, items.n or #items[id_column] do
      local id = items[id_column][i]
      if id ~= nil then catalog[tostring(id)] = true end
    end
  end
  local n_catalog, n_recommended = count(catalog), 0
  for id in pairs(recommended) do
    if catalog[id] then n_recommended = n_recommended + 1 end
  end

  local q = #tests
  if recipe and recipe.recipeType == "USER_SEGMENTATION" then
    return {
      coverage = round4(n_catalog > 0 and n_recommended / n_catalog or 0),
      hits_at_1_percent = round4(segment_hits.hits),
      recall_at_1_percent = round4(segment_hits.recall),
    }
  end
  return {
    coverage = round4(n_catalog > 0 and n_recommended / n_catalog or 0),
    mean_reciprocal_rank_at_25 = round4(sums.mrr / q),
    normalized_discounted_cumulative_gain_at_5 = round4(sums.ndcg5 / q),
    normalized_discounted_cumulative_gain_at_10 = round4(sums.ndcg10 / q),
    normalized_discounted_cumulative_gain_at_25 = round4(sums.ndcg25 / q),
    precision_at_5 = round4(sums.p5 / q),
    precision_at_10 = round4(sums.p10 / q),
    precision_at_25 = round4(sums.p25 / q),
  }
end

return _M
