-- What the recipes of personalize-local share: interactions indexed by
-- item and user, popularity, the item-to-item neighbour model of the C
-- core, and the walk that turns ranked candidates into a response.
--
--   local ix = common.index(data)            -- see below
--   local nb = common.neighbors(ix, opts)    -- { off =, nbr =, sim = } (compressed rows)
--   local list = common.pick(request, iterate) -- { { itemId =, score = }, ... }
--
-- Item and user ids are strings; indexes are 1-based positions in the
-- sorted id lists, so equal data always gives equal models.
local ecore = require "personalize.engine.core"

local pairs, ipairs, type, tostring, tonumber, setmetatable = pairs, ipairs, type, tostring, tonumber, setmetatable
local floor, abs, log, exp, max = math.floor, math.abs, math.log, math.exp, math.max
local sort = table.sort

local _M = {}

_M.DEFAULT_RESULTS = 25

-- x rounded to `digits` significant digits, so models stay short in JSON.
function _M.round(x, digits)
  if x == 0 then return 0 end
  local scale = 10 ^ ((digits or 6) - 1 - floor(log(abs(x), 10)))
  return floor(x * scale + 0.5) / scale
end

-- The interactions of prepared data, indexed:
--   items = { id, ... } sorted; item_index = { [id] = k }
--   users = { id, ... } sorted; user_index = { [id] = k }
--   hist_off, hist, hist_time: user u's distinct items (oldest first by
--     their latest interaction) are hist[hist_off[u] .. hist_off[u+1]-1]
--   hist_w: the summed event weight of each (user, item)
--   distinct[k], total[k]: distinct users and interactions of item k
--   first_time[k]: the item's first interaction; t_min, t_max over all rows
-- Rows whose event weight is 0 or less are left out.
-- From prepared data holding `hist` (training.prepare's histories built
-- in C) the index also has `c`, that history, and builds the per-user
-- members (users, user_index, hist_off, hist, hist_w, hist_time) as Lua
-- tables only when a recipe reads them: the recipes that train from `c`
-- never hold a Lua value per user or per interaction.
local HIST_ARRAYS = { hist_off = 1, hist = 2, hist_w = 3, hist_time = 4 }

local function index_of_hist(h)
  local st = h:stats()
  local items = h:item_ids()
  local item_index = {}
  for k, id in ipairs(items) do item_index[id] = k end
  local distinct, total, first_time = h:item_counts()
  local ix = {
    items = items, item_index = item_index,
    distinct = distinct, total = total, first_time = first_time,
    t_min = st.t_min, t_max = st.t_max, n_events = st.events,
    repeat_share = st.events > 0 and (st.events - st.pairs) / st.events or 0,
    c = h,
  }
  return setmetatable(ix, { __index = function(t, key)
    if key == "users" or key == "user_index" then
      local users, user_index = h:user_ids(), {}
      for k, id in ipairs(users) do user_index[id] = k end
      t.users, t.user_index = users, user_index
    elseif HIST_ARRAYS[key] then
      t.hist_off, t.hist, t.hist_w, t.hist_time = h:rows()
    end
    return rawget(t, key)
  end })
end

function _M.index(data)
  if data.hist then return index_of_hist(data.hist) end
  local rows = data.interactions
  local users_col, items_col = rows.USER_ID, rows.ITEM_ID
  local times, types = rows.TIMESTAMP or {}, rows.EVENT_TYPE or {}
  local weights = data.event_weights
  local item_set, user_set, items, users = {}, {}, {}, {}
  for i = 1, rows.n do
    local it, u = tostring(items_col[i]), tostring(users_col[i])
    if not item_set[it] then item_set[it] = true; items[#items + 1] = it end
    if not user_set[u] then user_set[u] = true; users[#users + 1] = u end
  end
  sort(items)
  sort(users)
  local item_index, user_index = {}, {}
  for k, id in ipairs(items) do item_index[id] = k end
  for k, id in ipairs(users) do user_index[id] = k end

  -- per user: item -> { weight, last time, last row }
  local per_user = {}
  local distinct, total, first_time = {}, {}, {}
  for k = 1, #items do distinct[k], total[k] = 0, 0 end
  local t_min, t_max
  for i = 1, rows.n do
    local w = 1
    if weights then w = weights[types[i]] or 0 end
    if w > 0 then
      local k, u = item_index[tostring(items_col[i])], user_index[tostring(users_col[i])]
      local t = tonumber(times[i]) or 0
      if not t_min or t < t_min then t_min = t end
      if not t_max or t > t_max then t_max = t end
      if not first_time[k] or t < first_time[k] then first_time[k] = t end
      total[k] = total[k] + 1
      local h = per_user[u]
      if not h then h = {}; per_user[u] = h end
      local e = h[k]
      if not e then
        distinct[k] = distinct[k] + 1
        h[k] = { w, t, i }
      else
        e[1] = e[1] + w
        if t > e[2] or (t == e[2] and i > e[3]) then e[2], e[3] = t, i end
      end
    end
  end
  local hist_off, hist, hist_w, hist_time = {}, {}, {}, {}

  for u = 1, #users do
    hist_off[u] = #hist + 1
    local h, list = per_user[u] or {}, {}
    for k, e in pairs(h) do list[#list + 1] = { k, e[1], e[2], e[3] } end
    sort(list, function(a, b)
      if a[3] ~= b[3] then return a[3] < b[3] end
      return a[4] < b[4]
    end)
    for _, e in ipairs(list) do
      local p = #hist + 1
      hist[p], hist_w[p], hist_time[p] = e[1], e[2], e[3]
    end
  end
  hist_off[#users + 1] = #hist + 1
  local n_total = 0
  for k = 1, #items do n_total = n_total + total[k] end
  local repeats = n_total - #hist
  for k = 1, #items do first_time[k] = first_time[k] or 0 end
  return {
    items = items, item_index = item_index, users = users, user_index = user_index,
    hist_off = hist_off, hist = hist, hist_w = hist_w, hist_time = hist_time,
    distinct = distinct, total = total, first_time = first_time,
    t_min = t_min or 0, t_max = t_max or 0, n_events = n_total,
    repeat_share = n_total > 0 and repeats / n_total or 0,
  }
end

-- Item indexes by popularity: distinct users, then interactions
-- (descending), then id (ascending).
function _M.popular(ix)
  local order, distinct, total, items = {}, ix.distinct, ix.total, ix.items
  for k = 1, #items do order[k] = k end
  sort(order, function(a, b)
    if distinct[a] ~= distinct[b] then return distinct[a] > distinct[b] end
    if total[a] ~= total[b] then return total[a] > total[b] end
    return items[a] < items[b]
  end)
  return order
end

-- Compressed rows from ecore.recs_neighbors' k slots per entity: entity
-- i's neighbours are nbr[off[i] .. off[i+1]-1] (best first), with their
-- similarities in sim (rounded to `digits`), or no sim when digits is false.
function _M.compact(nbr, sim, n, k, digits)
  local off, out_n, out_s = {}, {}, digits ~= false and {} or nil
  local p = 1
  for i = 1, n do
    off[i] = p
    local base = (i - 1) * k
    for m = 1, k do
      local j = nbr[base + m]
      if not j or j == 0 then break end
      out_n[p] = j
      if out_s then out_s[p] = _M.round(sim[base + m], digits or 4) end
      p = p + 1
    end
  end
  off[n + 1] = p
  return { off = off, nbr = out_n, sim = out_s }
end

-- The k nearest items of every item from the users they share, through
-- ecore.recs_neighbors (opts: k, alpha, beta, gamma, min_count, weighted,
-- digits (false: no similarities kept)). Returns compressed rows
-- { off =, nbr =, sim = } (see compact).
function _M.neighbors(ix, opts)
  if ix.c then
    local off, nbr, sim = ix.c:neighbors({ k = opts.k, alpha = opts.alpha, beta = opts.beta, gamma = opts.gamma,
      min_count = opts.min_count, weighted = opts.weighted or false,
      digits = opts.digits == false and 0 or (opts.digits or 4) })
    return { off = off, nbr = nbr, sim = opts.digits ~= false and sim or nil }
  end
  local ent, feat, w = {}, {}, nil
  if opts.weighted then w = {} end
  local hist_off, hist, hist_w = ix.hist_off, ix.hist, ix.hist_w
  for u = 1, #ix.users do
    for p = hist_off[u], hist_off[u + 1] - 1 do
      local r = #ent + 1
      ent[r], feat[r] = hist[p], u
      if w then w[r] = hist_w[p] end
    end
  end
  local n = #ix.items
  if n == 0 then return { off = { 1 }, nbr = {}, sim = {} } end
  local nbr, sim = ecore.recs_neighbors(ent, feat, w, n, opts.k, opts)
  return _M.compact(nbr, sim, n, opts.k, opts.digits)
end

-- Walks candidates in order and keeps those the request allows.
-- iterate(emit) calls emit(itemId, score) best first and stops when emit
-- returns true. A candidate already taken, in request.exclude or refused
-- by request.keep is skipped; keep is asked until numResults are found.
function _M.pick(request, iterate)
  local want = floor(tonumber(request.numResults) or _M.DEFAULT_RESULTS)
  local out, taken = {}, {}
  if want <= 0 then return out end
  local exclude, keep = request.exclude, request.keep
  iterate(function(id, score)
    if taken[id] or (exclude and exclude[id]) then return false end
    taken[id] = true
    if keep and not keep(id) then return false end
    out[#out + 1] = { itemId = id, score = score }
    return #out >= want
  end)
  return out
end

-- The m best of parallel arrays keys/vals (value descending, then key
-- ascending), sorted; m >= #keys sorts them all. A bounded heap: n log m.
function _M.best(keys, vals, m)
  local n = #keys
  local function worse(a, b)   -- positions in keys/vals: a ranks after b
    local va, vb = vals[a], vals[b]
    if va ~= vb then return va < vb end
    return keys[a] > keys[b]
  end
  local heap, size = {}, 0
  for i = 1, n do
    if size < m then
      size = size + 1
      local c = size
      heap[c] = i
      while c > 1 do
        local parent = floor(c / 2)
        if not worse(heap[c], heap[parent]) then break end
        heap[c], heap[parent] = heap[parent], heap[c]
        c = parent
      end
    elseif worse(heap[1], i) then
      heap[1] = i
      local c = 1
      while true do
        local l, r, w = 2 * c, 2 * c + 1, c
        if l <= size and worse(heap[l], heap[w]) then w = l end
        if r <= size and worse(heap[r], heap[w]) then w = r end
        if w == c then break end
        heap[c], heap[w] = heap[w], heap[c]
        c = w
      end
    end
  end
  sort(heap, function(a, b) return worse(b, a) end)
  local out = {}
  for r = 1, size do out[r] = keys[heap[r]] end
  return out
end

-- Softmax of the values of `scores` (a list) with temperature-free
-- weights exp(beta * s); `rest` more entries score 0. Returns the
-- probabilities of the listed entries, rounded to 4 significant digits as
-- the service shows them.
function _M.softmax(scores, beta, rest)
  local top = 0
  for _, s in ipairs(scores) do top = max(top, s) end
  local z = (rest or 0) * exp(-beta * top)
  local e = {}
  for i, s in ipairs(scores) do
    e[i] = exp(beta * (s - top))
    z = z + e[i]
  end
  local out = {}
  for i = 1, #scores do out[i] = z > 0 and _M.round(e[i] / z, 4) or 0 end
  return out
end

-- Columns of the items dataset that are not metadata to compare.
local NOT_METADATA = { ITEM_ID = true, CREATION_TIMESTAMP = true }

-- The tokens of one value of column `name`: the whole value and each of
-- its "|"-separated parts (categorical values), and the lower-case words
-- of values with spaces (textual ones).
local function tokens_of(name, v, out)
  if type(v) == "number" then
    out[#out + 1] = name .. "=" .. tostring(v)
    return
  end
  if type(v) ~= "string" or v == "" then return end
  local lv = v:lower()
  for part in lv:gmatch("[^|]+") do
    part = part:match("^%s*(.-)%s*$")
    if part ~= "" then out[#out + 1] = name .. "=" .. part end
  end
  if lv:find("%s") then
    for word in lv:gmatch("[%w\128-\255]+") do
      if #word > 1 then out[#out + 1] = name .. "~" .. word end
    end
  end
end

-- The items dataset as TF-IDF vectors in coordinate form, for
-- ecore.recs_neighbors: { ids = { sorted item ids }, index = { [id] = k },
-- ent =, feat =, weight = } (weight = idf = log(N / df); a token every item
-- has carries no weight and is left out). nil when there is no metadata.
function _M.item_tokens(items)
  if type(items) ~= "table" or type(items.ITEM_ID) ~= "table" then return nil end
  local n = items.n or #items.ITEM_ID
  local columns = {}
  for name, col in pairs(items) do
    if name ~= "n" and type(col) == "table" and not NOT_METADATA[name] then columns[#columns + 1] = name end
  end
  sort(columns)
  local per_item, ids = {}, {}
  for i = 1, n do
    local id = items.ITEM_ID[i]
    if id ~= nil then
      id = _M.id(id)
      local set = per_item[id]
      if not set then set = {}; per_item[id] = set; ids[#ids + 1] = id end
      local list = {}
      for _, name in ipairs(columns) do tokens_of(name, items[name][i], list) end
      for _, t in ipairs(list) do set[t] = true end
    end
  end
  if #ids == 0 then return nil end
  sort(ids)
  local df, names = {}, {}
  for _, id in ipairs(ids) do
    for t in pairs(per_item[id]) do
      if not df[t] then names[#names + 1] = t; df[t] = 0 end
      df[t] = df[t] + 1
    end
  end
  sort(names)
  local total = #ids
  local feat_of, n_feat = {}, 0
  for _, t in ipairs(names) do
    if df[t] < total then n_feat = n_feat + 1; feat_of[t] = n_feat end
  end
  local index, ent, feat, weight = {}, {}, {}, {}
  for k, id in ipairs(ids) do
    index[id] = k
    local list = {}
    for t in pairs(per_item[id]) do
      if df[t] < total then list[#list + 1] = t end
    end
    sort(list)
    for _, t in ipairs(list) do
      local r = #ent + 1
      ent[r], feat[r], weight[r] = k, feat_of[t], log(total / df[t])
    end
  end
  if #ent == 0 then return nil end
  return { ids = ids, index = index, ent = ent, feat = feat, weight = weight }
end

-- The k most similar items of each item by the cosine of TF-IDF vectors:
-- { ids =, off =, nbr = } (compressed rows, no similarities), or nil when
-- there is no metadata.
function _M.metadata_neighbors(items, k)
  local tk = _M.item_tokens(items)
  if not tk then return nil end
  local nbr, sim = ecore.recs_neighbors(tk.ent, tk.feat, tk.weight, #tk.ids, k, { alpha = 0.5, beta = 0.5 })
  local rows = _M.compact(nbr, sim, #tk.ids, k, false)
  rows.ids = tk.ids
  return rows
end

-- Walks row j of compressed rows: emit(neighbour index) until it returns true.
function _M.each_neighbor(model, j, emit)
  local off, nbr = model.off, model.nbr
  for p = off[j], off[j + 1] - 1 do
    if emit(nbr[p]) then return true end
  end
  return false
end

-- The string id of a request field, or nil.
function _M.id(v)
  if v == nil then return nil end
  if type(v) == "number" and v == floor(v) then return ("%d"):format(v) end
  return tostring(v)
end

return _M
