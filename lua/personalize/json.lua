-- JSON driven by the service model.
--
-- encode(model, shape_name, value) writes exactly what the API expects:
-- lists as arrays (`[]` when empty), maps and structures as objects,
-- `jsonvalue` members (the `properties` of events, items, users and
-- actions) as a JSON document inside a string, timestamps as epoch
-- seconds. Only members of the shape are written, in sorted order, so the
-- same parameters always give the same bytes. Call it on validated input.
--
-- decode(text) parses a response body; JSON null becomes nil.
local cjson = require "cjson.safe"

local type, pairs, tostring, tonumber, error, pcall, setmetatable =
  type, pairs, tostring, tonumber, error, pcall, setmetatable
local floor, huge = math.floor, math.huge
local str_format = string.format
local concat, sort = table.concat, table.sort

local _M = {}

local codec = cjson.new()
codec.encode_number_precision(14)
codec.decode_max_depth(128)
local cjson_encode = codec.encode
local null = codec.null
local find, gsub = string.find, string.gsub

-- cjson writes '/' as "\/"; every '/' it writes is escaped that way, so
-- undoing it is exact, and ARNs and URLs stay readable on the wire.
-- The same short strings (ARNs, member names, ids) are encoded on every
-- call: their JSON text is remembered, at most MEMO_MAX strings of at most
-- MEMO_LEN bytes (the next one empties the memo).
local MEMO_MAX, MEMO_LEN = 512, 256
local memo, memo_count = {}, 0
local function encode_string(v)
  local s = memo[v]
  if s then return s end
  local err
  s, err = cjson_encode(v)
  if s and find(s, "/", 1, true) then s = gsub(s, "\\/", "/") end
  if s and #v <= MEMO_LEN then
    if memo_count >= MEMO_MAX then memo, memo_count = {}, 0 end
    memo[v], memo_count = s, memo_count + 1
  end
  return s, err
end

local function encode_number(n)
  if n ~= n or n == huge or n == -huge then
    error("cannot encode " .. tostring(n) .. " in JSON")
  end
  if n == floor(n) and n > -2^53 and n < 2^53 then
    return str_format("%d", n)
  end
  -- The shortest of 15, 16 or 17 digits that reads back as the same double.
  local s = str_format("%.15g", n)
  if tonumber(s) ~= n then
    s = str_format("%.16g", n)
    if tonumber(s) ~= n then s = str_format("%.17g", n) end
  end
  return s
end
_M.encode_number = encode_number

-- A Lua value as a JSON document (a `jsonvalue` member given as a table):
-- tables whose keys are exactly 1..n are arrays, other tables objects with
-- sorted keys (`{}` when empty), so the bytes do not depend on the order
-- of `pairs`. Raises on values JSON cannot hold.
local function encode_document(v, out, depth)
  local t = type(v)
  if t == "string" then
    out[#out + 1] = encode_string(v)
  elseif t == "number" then
    out[#out + 1] = encode_number(v)
  elseif t == "boolean" then
    out[#out + 1] = v and "true" or "false"
  elseif v == null then
    out[#out + 1] = "null"
  elseif t == "table" then
    if depth > 100 then error("nested too deeply (a cycle?)", 0) end
    local n, count, keys, indices = #v, 0, {}, true
    for k in pairs(v) do
      count = count + 1
      local tk = type(k)
      if tk == "number" then
        keys[count] = encode_number(k)
        if k < 1 or k > n or k % 1 ~= 0 then indices = false end
      elseif tk == "string" then
        keys[count] = k
        indices = false
      else
        error("cannot encode a " .. tk .. " key", 0)
      end
    end
    if indices and n > 0 and count == n then
      out[#out + 1] = "["
      for i = 1, n do
        if i > 1 then out[#out + 1] = "," end
        encode_document(v[i], out, depth + 1)
      end
      out[#out + 1] = "]"
      return
    end
    local by_text = {}
    for k in pairs(v) do by_text[type(k) == "number" and encode_number(k) or k] = v[k] end
    sort(keys)
    out[#out + 1] = "{"
    for i, k in ipairs(keys) do
      if i > 1 then out[#out + 1] = "," end
      out[#out + 1] = encode_string(k)
      out[#out + 1] = ":"
      encode_document(by_text[k], out, depth + 1)
    end
    out[#out + 1] = "}"
  else
    error("cannot encode a " .. t, 0)
  end
end

local encode_value

-- Sorted keys of a table (maps and structures).
local function sorted_keys(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  sort(keys)
  return keys
end

-- The member names of a structure shape, sorted; computed once per shape.
local member_names = setmetatable({}, { __mode = "k" })
local function sorted_members(shape)
  local names = member_names[shape]
  if not names then
    names = sorted_keys(shape.members or {})
    member_names[shape] = names
  end
  return names
end
_M.sorted_members = sorted_members

-- `in_body` leaves out the members bound to headers, the URI or the query
-- string. Walks the shape's (sorted) members rather than the value's keys:
-- the same bytes, with no sort per call.
local function encode_structure(model, shape, value, out, in_body)
  out[#out + 1] = "{"
  local first = true
  local members = shape.members
  local names = sorted_members(shape)
  for i = 1, #names do
    local name = names[i]
    local member = members[name]
    if value[name] ~= nil and (not in_body or not member.location) then
      if not first then out[#out + 1] = "," end
      first = false
      out[#out + 1] = encode_string(name)
      out[#out + 1] = ":"
      local v = value[name]
      if member.jsonvalue then
        local doc = v
        if type(v) ~= "string" then
          local parts = {}
          local ok, err = pcall(encode_document, v, parts, 1)
          if not ok then error("cannot encode " .. name .. " as JSON: " .. tostring(err), 0) end
          doc = concat(parts)
        end
        out[#out + 1] = encode_string(doc)
      else
        encode_value(model, member.shape, v, out)
      end
    end
  end
  out[#out + 1] = "}"
end

function encode_value(model, shape_name, value, out)
  local shape = model.shapes[shape_name]
  local t = shape.type
  if t == "structure" then
    encode_structure(model, shape, value, out, false)
  elseif t == "list" then
    out[#out + 1] = "["
    local member = shape.member.shape
    for i = 1, #value do
      if i > 1 then out[#out + 1] = "," end
      encode_value(model, member, value[i], out)
    end
    out[#out + 1] = "]"
  elseif t == "map" then
    out[#out + 1] = "{"
    local vshape = shape.value.shape
    for i, k in ipairs(sorted_keys(value)) do
      if i > 1 then out[#out + 1] = "," end
      out[#out + 1] = encode_string(tostring(k))
      out[#out + 1] = ":"
      encode_value(model, vshape, value[k], out)
    end
    out[#out + 1] = "}"
  elseif t == "string" then
    out[#out + 1] = encode_string(value)
  elseif t == "boolean" then
    out[#out + 1] = value and "true" or "false"
  elseif t == "integer" or t == "long" or t == "float" or t == "double"
      or t == "timestamp" then
    out[#out + 1] = encode_number(value)
  else
    error("cannot encode shape type " .. tostring(t))
  end
end

-- The JSON body for the body members of structure `shape_name`.
function _M.encode(model, shape_name, value)
  local out = {}
  encode_structure(model, model.shapes[shape_name], value or {}, out, true)
  return concat(out)
end

-- JSON null (cjson.null) removed from a decoded document, in place.
local function strip_null(v)
  if type(v) == "table" then
    for k, x in pairs(v) do
      if x == null then v[k] = nil else strip_null(x) end
    end
  end
  return v
end

-- Parses `text`; returns the value or nil and a message.
function _M.decode(text)
  if text == nil or text == "" then return {} end
  local v, err = codec.decode(text)
  if v == nil then return nil, err end
  -- No "null" anywhere in the text: no null in the document, nothing to walk.
  if not find(text, "null", 1, true) then return v end
  return strip_null(v)
end

_M.null = null

return _M
