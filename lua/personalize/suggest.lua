-- "Did you mean ...?" for names a user mistyped: options, operations.
--
--   local suggest = require "personalize.suggest"
--   suggest.distance("regoin", "region")              --> 2
--   suggest.closest({ "region", "endpoint" }, "regoin") --> { "region" }
local ipairs, sort = ipairs, table.sort

local _M = {}

-- Levenshtein distance between two strings (bytes).
function _M.distance(a, b)
  local prev = {}
  for j = 0, #b do prev[j] = j end
  for i = 1, #a do
    local cur = { [0] = i }
    local ca = a:byte(i)
    for j = 1, #b do
      local cost = ca == b:byte(j) and 0 or 1
      local d = prev[j] + 1
      if cur[j - 1] + 1 < d then d = cur[j - 1] + 1 end
      if prev[j - 1] + cost < d then d = prev[j - 1] + cost end
      cur[j] = d
    end
    prev = cur
  end
  return prev[#b]
end

-- Up to `n` (3) of `names` closest to `name`, best first; a name that
-- contains `name` counts as close. opts.max_distance drops names farther
-- than it (none by default).
function _M.closest(names, name, n, max_distance)
  local scored = {}
  for _, candidate in ipairs(names) do
    local d = _M.distance(name, candidate)
    if candidate:find(name, 1, true) then d = d / 4 end
    if not max_distance or d <= max_distance then scored[#scored + 1] = { n = candidate, d = d } end
  end
  sort(scored, function(x, y)
    if x.d ~= y.d then return x.d < y.d end
    return x.n < y.n
  end)
  local out = {}
  for i = 1, n or 3 do
    if scored[i] then out[i] = scored[i].n end
  end
  return out
end

return _M
