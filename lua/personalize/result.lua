-- Results that print readably: `print(res)` or a bare `res` in the REPL
-- shows the members as a Lua table constructor instead of "table: 0x...".
--
--   local result = require "personalize.result"
--   return result.mark(res)        -- sets the metatable; returns res
--   result.render(value)           -- the text, for any value
--
-- Only the top-level table gets the metatable (one setmetatable per call on
-- the hot path); render walks nested tables. Keys are sorted, with
-- ResponseMetadata last; short tables stay on one line; a table met twice
-- on the same path prints as "<cycle>". Results stay plain tables:
-- pairs, # and cjson.encode see only their members.
--
-- Timestamps (the API's creationDateTime, lastUpdatedDateTime, sentAt and
-- timestamp members) are numbers, epoch seconds, as code compares and
-- sends them; they print as unquoted ISO-8601 UTC times,
-- `creationDateTime = 2024-12-04T08:13:20Z`, the only unquoted non-number
-- values of the printed form. result.iso8601(seconds) gives that text.
local type, pairs, ipairs, tostring, setmetatable, getmetatable = type, pairs, ipairs, tostring, setmetatable, getmetatable
local sort, concat = table.sort, table.concat
local format = string.format
local floor, date = math.floor, os.date

local _M = {}

local WIDTH = 78

local function is_identifier(k)
  return type(k) == "string" and k:match("^[%a_][%w_]*$") ~= nil
end

local function key_order(a, b)
  if a == "ResponseMetadata" then return false end
  if b == "ResponseMetadata" then return true end
  local ta, tb = type(a), type(b)
  if ta ~= tb then return ta < tb end
  if ta == "number" or ta == "string" then return a < b end
  return tostring(a) < tostring(b)
end

-- Members whose shape is a timestamp in the Personalize models.
local TIMESTAMPS = { creationDateTime = true, lastUpdatedDateTime = true, sentAt = true, timestamp = true }
_M.TIMESTAMPS = TIMESTAMPS

-- 1733300000.25 -> "2024-12-04T08:13:20.250Z" (whole seconds: no fraction).
function _M.iso8601(seconds)
  local whole = floor(seconds)
  local text = date("!%Y-%m-%dT%H:%M:%S", whole)
  local ms = floor((seconds - whole) * 1000 + 0.5)
  if ms >= 1000 then return _M.iso8601(whole + 1) end
  if ms > 0 then text = text .. format(".%03d", ms) end
  return text .. "Z"
end

local function scalar(v)
  if type(v) == "string" then return format("%q", v):gsub("\\\n", "\\n") end
  if v == nil then return "nil" end
  return tostring(v)
end

local render

-- The entries of t as strings, in order: the array part first.
local function entries(t, indent, seen)
  local out, n = {}, #t
  for i = 1, n do out[#out + 1] = render(t[i], indent, seen) end
  local keys = {}
  for k in pairs(t) do
    if not (type(k) == "number" and k >= 1 and k <= n and k % 1 == 0) then keys[#keys + 1] = k end
  end
  sort(keys, key_order)
  for _, k in ipairs(keys) do
    local name = is_identifier(k) and k or "[" .. scalar(k) .. "]"
    local v = t[k]
    if TIMESTAMPS[k] and type(v) == "number" and v == v and v > -1e11 and v < 1e11 then
      out[#out + 1] = name .. " = " .. _M.iso8601(v)
    else
      out[#out + 1] = name .. " = " .. render(v, indent, seen)
    end
  end
  return out
end

function render(v, indent, seen)
  if type(v) ~= "table" then return scalar(v) end
  local mt = getmetatable(v)
  if mt and mt.__tostring and mt ~= _M.MT then return tostring(v) end
  indent, seen = indent or "", seen or {}
  if seen[v] then return "<cycle>" end
  seen[v] = true
  local inner = indent .. "  "
  local parts = entries(v, inner, seen)
  seen[v] = nil
  if #parts == 0 then return "{}" end
  local flat = "{ " .. concat(parts, ", ") .. " }"
  if #flat + #indent <= WIDTH and not flat:find("\n", 1, true) then return flat end
  return "{\n" .. inner .. concat(parts, ",\n" .. inner) .. ",\n" .. indent .. "}"
end

_M.render = function(v) return render(v) end
_M.MT = { __tostring = function(t) return render(t) end, __name = "personalize.result" }

function _M.mark(t)
  if type(t) == "table" and getmetatable(t) == nil then setmetatable(t, _M.MT) end
  return t
end

return _M
