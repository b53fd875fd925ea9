-- A small synthetic data set in the MovieLens preparation's format, for
-- tests and as the fall-back when R is unavailable:
--
--   lua5.4 tools/gen_small_data.lua [OUTDIR] [SEED]     (data/small, 42)
--
--   OUTDIR/interactions.csv  USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE,EVENT_VALUE
--   OUTDIR/items.csv         ITEM_ID,TITLE,GENRES
--
-- 60 users, 200 items, about 3,000 interactions: above Personalize's
-- minimum (1,000 interactions, 25 users with 2 or more each). Planted
-- structure a recommender can find: item popularity follows a Zipf law,
-- and each user draws 75% of their items from one or two favourite
-- genres and rates those higher. The same SEED writes the same bytes
-- under Lua 5.4 and LuaJIT (a Park-Miller generator, exact in doubles).
-- Files are written to a temporary name and renamed.
local floor = math.floor

local OUTDIR = arg and arg[1] or "data/small"
local SEED = tonumber(arg and arg[2] or "42")

local _M = { USERS = 60, ITEMS = 200 }

local GENRES = { "Action", "Adventure", "Animation", "Comedy", "Crime", "Documentary",
                 "Drama", "Horror", "Romance", "Sci-Fi", "Thriller", "Western" }
local ADJECTIVES = { "Silent", "Last", "Broken", "Golden", "Hidden", "Crimson", "Lonely", "Electric",
                     "Frozen", "Secret", "Wild", "Distant", "Burning", "Little", "Iron", "Velvet" }
local NOUNS = { "River", "Empire", "Garden", "Station", "Promise", "Harbor", "Machine", "Kingdom",
                "Summer", "Detective", "Orchard", "Signal", "Mountain", "Letter", "Circus", "Frontier" }

-- Park-Miller minimal standard generator: x * 16807 stays below 2^53.
local function rng(seed)
  local x = floor(seed) % 2147483647
  if x <= 0 then x = x + 2147483646 end
  local r = {}
  function r.next() -- in [0, 1)
    x = (x * 16807) % 2147483647
    return (x - 1) / 2147483646
  end
  function r.int(lo, hi) return lo + floor(r.next() * (hi - lo + 1)) end
  -- an index of `weights` drawn in proportion to its weight
  function r.weighted(weights, total)
    local t = r.next() * total
    for i, w in ipairs(weights) do
      t = t - w
      if t < 0 then return i end
    end
    return #weights
  end
  return r
end

local function csv_field(s)
  s = tostring(s)
  if s:find('[,"\r\n]') then s = '"' .. s:gsub('"', '""') .. '"' end
  return s
end

-- Integers as integers, fractions as the shortest text that reads back.
local function num(v)
  if v == floor(v) then return ("%.0f"):format(v) end
  for digits = 1, 17 do
    local s = ("%." .. digits .. "g"):format(v)
    if tonumber(s) == v then return s end
  end
end

-- Generates the data set: items (records) and interactions (records).
-- seed: a number (default 42).
function _M.generate(seed)
  local r = rng(seed or 42)
  local items = {}
  local by_genre = {}
  for g = 1, #GENRES do by_genre[g] = {} end
  for i = 1, _M.ITEMS do
    local title = ("The %s %s"):format(ADJECTIVES[r.int(1, #ADJECTIVES)], NOUNS[r.int(1, #NOUNS)])
    -- a few titles that need CSV quoting, as real ones do
    if i % 37 == 0 then
      title = ("%s, The"):format(title:sub(5))
    elseif i % 53 == 0 then
      title = ('"%s" Returns'):format(title)
    end
    title = ("%s (%d)"):format(title, 1950 + r.int(0, 70))
    local first = r.int(1, #GENRES)
    local gs, set = { first }, { [first] = true }
    for _ = 1, r.int(0, 2) do
      local g = r.int(1, #GENRES)
      if not set[g] then gs[#gs + 1], set[g] = g, true end
    end
    table.sort(gs)
    local names = {}
    for k, g in ipairs(gs) do
      names[k] = GENRES[g]
      by_genre[g][#by_genre[g] + 1] = i
    end
    items[i] = { id = i, title = title, genres = table.concat(names, "|"), genre_set = set }
  end
  -- Zipf popularity: the item of (shuffled) rank k weighs 1 / (k + 1);
  -- divisions only, so both interpreters draw the same numbers.
  local ranks = {}
  for i = 1, _M.ITEMS do ranks[i] = i end
  for i = _M.ITEMS, 2, -1 do
    local j = r.int(1, i)
    ranks[i], ranks[j] = ranks[j], ranks[i]
  end
  local weight, total = {}, 0
  for i = 1, _M.ITEMS do
    weight[i] = 1 / (ranks[i] + 1)
    total = total + weight[i]
  end

  local interactions = {}
  local t0 = 1500000000
  for u = 1, _M.USERS do
    local fav = { r.int(1, #GENRES) }
    if r.next() < 0.5 then fav[2] = r.int(1, #GENRES) end
    local pool, in_pool = {}, {}
    for _, g in ipairs(fav) do
      for _, i in ipairs(by_genre[g]) do
        if not in_pool[i] then pool[#pool + 1], in_pool[i] = i, true end
      end
    end
    local pool_w, pool_total = {}, 0
    for k, i in ipairs(pool) do
      pool_w[k] = weight[i]
      pool_total = pool_total + weight[i]
    end
    local n = r.int(30, 70)
    local t = t0 + r.int(0, 86400 * 30)
    local seen = {}
    local tries = 0
    local count = 0
    while count < n and tries < 2000 do
      tries = tries + 1
      local i
      if r.next() < 0.75 and #pool > 0 then
        i = pool[r.weighted(pool_w, pool_total)]
      else
        i = r.weighted(weight, total)
      end
      if not seen[i] then
        seen[i] = true
        count = count + 1
        local liked = in_pool[i]
        -- ratings 0.5..5 in halves: favourite genres around 4, others around 2.5
        local rating = (liked and 3 or 1.5) + r.int(0, 4) * 0.5
        t = t + r.int(60, 7200)
        interactions[#interactions + 1] = { user = u, item = i, ts = t, value = rating / 5 }
      end
    end
  end
  return items, interactions
end

function _M.items_csv(items)
  local lines = { "ITEM_ID,TITLE,GENRES" }
  for _, it in ipairs(items) do
    lines[#lines + 1] = ("%d,%s,%s"):format(it.id, csv_field(it.title), csv_field(it.genres))
  end
  return table.concat(lines, "\n") .. "\n"
end

function _M.interactions_csv(interactions)
  local lines = { "USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE,EVENT_VALUE" }
  for _, x in ipairs(interactions) do
    lines[#lines + 1] = ("%d,%d,%d,watch,%s"):format(x.user, x.item, x.ts, num(x.value))
  end
  return table.concat(lines, "\n") .. "\n"
end

local function write_atomic(path, text)
  local ok, core = pcall(require, "personalize.core")
  if ok then return core.write_file(path, text) end
  local tmp = path .. ".tmp"
  local fh, err = io.open(tmp, "wb")
  if not fh then return nil, err end
  fh:write(text)
  fh:close()
  return os.rename(tmp, path)
end

-- Writes OUTDIR/items.csv and OUTDIR/interactions.csv; true | nil, msg.
function _M.write(outdir, seed)
  os.execute(("mkdir -p '%s'"):format(outdir:gsub("'", "'\\''")))
  local items, interactions = _M.generate(seed)
  local ok, err = write_atomic(outdir .. "/items.csv", _M.items_csv(items))
  if not ok then return nil, err end
  ok, err = write_atomic(outdir .. "/interactions.csv", _M.interactions_csv(interactions))
  if not ok then return nil, err end
  return true, #items, #interactions
end

-- Run as a script (not when required by a spec).
if arg and arg[0] and arg[0]:match("gen_small_data%.lua$") then
  if not SEED then
    io.stderr:write("usage: lua5.4 tools/gen_small_data.lua [OUTDIR] [SEED]\n")
    os.exit(2)
  end
  local ok, nitems, ninter = _M.write(OUTDIR, SEED)
  if not ok then
    io.stderr:write("gen_small_data: ", tostring(nitems), "\n")
    os.exit(1)
  end
  io.stderr:write(("gen_small_data: %s: %d items, %d interactions (seed %d)\n"):format(OUTDIR, nitems, ninter, SEED))
end

return _M
