-- Small encodings the client and the engine share, at the bottom of the
-- require graph (pure Lua, requires nothing): base64, JSON string
-- literals, UTC times, the SHA-256 of nothing.
--
--   codec.base64_encode(bytes) -> text      standard alphabet, padded
--   codec.base64_decode(text) -> bytes | nil   nil when not canonical base64
--   codec.json_string(s) -> '"..."'         as Python's json.dumps writes it
--   codec.utc_time(y, mo, d, h, mi, s) -> epoch seconds (no local zone)
--   codec.parse_time("2026-01-02T03:04:05Z") -> epoch seconds | nil
--   codec.EMPTY_SHA256                      hex SHA-256 of ""
--
-- Nothing here uses bit operators, so it runs unchanged under Lua 5.4
-- and LuaJIT.
local byte, char, format = string.byte, string.char, string.format
local concat = table.concat
local floor = math.floor
local type, tostring, tonumber = type, tostring, tonumber

local _M = {}

_M.EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

---------------------------------------------------------------------------
-- Base64 (RFC 4648, standard alphabet, with padding).

local B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
local B64_VALUE = {}
for i = 1, 64 do B64_VALUE[B64:sub(i, i)] = i - 1 end

function _M.base64_encode(s)
  local out = {}
  for i = 1, #s, 3 do
    local a, b, c = byte(s, i, i + 2)
    local n = a * 65536 + (b or 0) * 256 + (c or 0)
    local c1, c2 = floor(n / 262144) % 64, floor(n / 4096) % 64
    local c3, c4 = floor(n / 64) % 64, n % 64
    out[#out + 1] = B64:sub(c1 + 1, c1 + 1) .. B64:sub(c2 + 1, c2 + 1)
      .. (b and B64:sub(c3 + 1, c3 + 1) or "=") .. (c and B64:sub(c4 + 1, c4 + 1) or "=")
  end
  return concat(out)
end

-- The bytes of a base64 text ("" for ""), or nil when it is not one.
function _M.base64_decode(s)
  if #s % 4 ~= 0 or not s:match("^[%w+/]*=?=?$") then return nil end
  local out = {}
  for i = 1, #s, 4 do
    local n, pad = 0, 0
    for j = i, i + 3 do
      local ch = s:sub(j, j)
      if ch == "=" then
        pad, n = pad + 1, n * 64
      else
        n = n * 64 + B64_VALUE[ch]
      end
    end
    local bytes = char(floor(n / 65536) % 256, floor(n / 256) % 256, n % 256)
    out[#out + 1] = bytes:sub(1, 3 - pad)
  end
  return concat(out)
end

---------------------------------------------------------------------------
-- JSON string literals, as Python's json.dumps writes them (ASCII tokens,
-- \b \f \n \r \t, other control bytes as \u00XX): resume tokens are then
-- the same bytes botocore makes.

local SHORT = { ['"'] = '\\"', ["\\"] = "\\\\", ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t",
                ["\b"] = "\\b", ["\f"] = "\\f" }

function _M.json_string(s)
  return '"' .. tostring(s):gsub('[%c"\\]', function(c)
    return SHORT[c] or format("\\u%04x", byte(c))
  end) .. '"'
end

---------------------------------------------------------------------------
-- UTC times.

-- Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
-- days_from_civil), so no local time zone is involved.
local function days_from_civil(y, m, d)
  if m <= 2 then y = y - 1 end
  local era = floor(y / 400)
  local yoe = y - era * 400
  local mp = (m + 9) % 12
  local doy = floor((153 * mp + 2) / 5) + d - 1
  local doe = yoe * 365 + floor(yoe / 4) - floor(yoe / 100) + doy
  return era * 146097 + doe - 719468
end

function _M.utc_time(y, mo, d, h, mi, s)
  return days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s
end

-- Epoch seconds of an ISO 8601 / RFC 3339 timestamp
-- ("2026-01-02T03:04:05Z", with optional fraction and offset), or nil.
function _M.parse_time(s)
  if type(s) ~= "string" then return nil end
  local y, mo, d, h, mi, sec, rest = s:match("^(%d%d%d%d)%-(%d%d)%-(%d%d)[Tt ](%d%d):(%d%d):(%d%d)(.*)$")
  if not y then return nil end
  rest = rest:gsub("^%.%d+", "")
  local offset = 0
  if rest ~= "Z" and rest ~= "z" and rest ~= "" then
    local sign, oh, om = rest:match("^([+-])(%d%d):?(%d%d)$")
    if not sign then return nil end
    offset = (tonumber(oh) * 3600 + tonumber(om) * 60) * (sign == "-" and -1 or 1)
  end
  return _M.utc_time(tonumber(y), tonumber(mo), tonumber(d), tonumber(h), tonumber(mi), tonumber(sec)) - offset
end

-- The x-amz-meta-* headers of an S3 request or answer (lower-case
-- names), without the prefix; nil when there are none.
function _M.user_metadata(headers)
  local meta
  for k, v in pairs(headers) do
    local name = k:match("^x%-amz%-meta%-(.+)$")
    if name then
      meta = meta or {}
      meta[name] = v
    end
  end
  return meta
end

return _M
