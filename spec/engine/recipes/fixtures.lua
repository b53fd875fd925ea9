-- Hand-made data for the recipe specs, where the right answers are known.
--
--   fixtures.communities()  60 users in two groups with disjoint tastes:
--     users u01..u30 take items a01..a40, users u31..u60 items b01..b40,
--     18 interactions each among items 03..40, one a minute, user after
--     user; planted co-occurrence: every third user (u03, u06, ...) starts
--     with a01 (or b01) then a02 (b02), and nobody else has those
--     (1,120 rows).
--   fixtures.items()  an items dataset for those items (GENRES alpha|x or
--     beta|y, a TITLE) plus a new item "new1" nobody has touched yet.
--   fixtures.rows(list)  columnar interactions from { { user, item, time [, type] }, ... }
local _M = {}

_M.T0 = 1700000000

function _M.rows(list)
  local d = { n = #list, USER_ID = {}, ITEM_ID = {}, TIMESTAMP = {} }
  for i, r in ipairs(list) do
    d.USER_ID[i], d.ITEM_ID[i], d.TIMESTAMP[i] = r[1], r[2], r[3]
    if r[4] then
      d.EVENT_TYPE = d.EVENT_TYPE or {}
      d.EVENT_TYPE[i] = r[4]
    end
  end
  return d
end

local function pad(n) return ("%02d"):format(n) end

function _M.community_rows()
  local list, t = {}, _M.T0
  for u = 1, 60 do
    local prefix = u <= 30 and "a" or "b"
    local seen = {}
    local picks = {}
    if u % 3 == 0 then picks[1], picks[2] = 1, 2 end
    local j = 0
    while #picks < (u % 3 == 0 and 20 or 18) do
      local k = (u * 7 + j * 3) % 40 + 1
      j = j + 1
      if k ~= 1 and k ~= 2 and not seen[k] then seen[k] = true; picks[#picks + 1] = k end
    end
    for _, k in ipairs(picks) do
      t = t + 60
      list[#list + 1] = { "u" .. pad(u), prefix .. pad(k), t }
    end
  end
  return list
end

function _M.communities()
  return { interactions = _M.rows(_M.community_rows()) }
end

function _M.items(created)
  local d = { n = 0, ITEM_ID = {}, GENRES = {}, TITLE = {}, CREATION_TIMESTAMP = {} }
  local function add(id, genres, title, ts)
    d.n = d.n + 1
    d.ITEM_ID[d.n], d.GENRES[d.n], d.TITLE[d.n], d.CREATION_TIMESTAMP[d.n] = id, genres, title, ts
  end
  for k = 1, 40 do
    add("a" .. pad(k), "alpha|x" .. (k % 2), "Alpha story part " .. k, _M.T0 - 86400 * 365)
    add("b" .. pad(k), "beta|y" .. (k % 2), "Beta tale number " .. k, _M.T0 - 86400 * 365)
  end
  add("new1", "alpha|x1", "Alpha story part 99", created or (_M.T0 + 86400))
  return d
end

function _M.ids(list)
  local out = {}
  for i, r in ipairs(list) do out[i] = r.itemId or r.userId end
  return out
end

-- Counts the ids of list that start with prefix.
function _M.count_prefix(list, prefix)
  local n = 0
  for _, r in ipairs(list) do
    if (r.itemId or r.userId):sub(1, #prefix) == prefix then n = n + 1 end
  end
  return n
end

-- The data of MovieLens ml-latest-small from ../shared, or nil.
function _M.movielens()
  local shared = require "support.shared"
  local dir = shared.dir("datasets/movielens-small")
  if not dir then return nil end
  local f = assert(io.open(dir .. "/ratings.csv", "rb"))
  f:read("*l")
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

return _M
