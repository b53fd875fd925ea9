-- Parameter validation against the service model, before anything is sent.
--
--   local problems = validate.check(model, "PutEventsRequest", params)
--   -- nil when valid, else a list of { path = "eventList[3].sentAt", reason = "..." }
--
-- Checks: unknown members, missing required members, types, enums, string
-- length (in characters), numeric range, list and map size, patterns;
-- `jsonvalue` members given as tables must be encodable (no functions,
-- no cycles). Paths use the API's member names and Lua's 1-based list
-- indices.
--
--   validate.check(model, shape, params, validate.SERVER)
--
-- is what a service does with a request it receives (personalize-local):
-- a pattern must match the whole value, as AWS's validation does
-- ("Member must satisfy regular expression pattern"), where the client
-- follows Smithy's search semantics; and every string must be valid UTF-8.
--
--   local text = validate.utf8_clean(s)    -- invalid UTF-8 bytes -> U+FFFD
--   local ok = validate.utf8_valid(s)
local pattern = require "personalize.pattern"

local type, pairs, ipairs, tostring, next, setmetatable = type, pairs, ipairs, tostring, next, setmetatable
local pcall = pcall
local floor, huge = math.floor, math.huge
local str_format, find, byte, sub = string.format, string.find, string.byte, string.sub
local concat, sort = table.concat, table.sort

local _M = {}

local JSON_NULL = require("cjson").null

_M.SERVER = { whole_patterns = true, utf8 = true }

local REPLACEMENT = "\239\191\189"   -- U+FFFD

-- Scans `s` for bytes that are not well-formed UTF-8 (RFC 3629: no
-- overlong forms, no surrogates, nothing above U+10FFFF). Returns nil when
-- there are none, else the string with each such byte replaced by U+FFFD.
local function utf8_scan(s)
  local i, last, out = 1, 1, nil
  while true do
    local p = find(s, "[\128-\255]", i)
    if not p then break end
    local c = byte(s, p)
    local len, lo, hi = 0, 128, 191
    if c >= 194 and c <= 223 then len = 1
    elseif c == 224 then len, lo = 2, 160
    elseif (c >= 225 and c <= 236) or c == 238 or c == 239 then len = 2
    elseif c == 237 then len, hi = 2, 159
    elseif c == 240 then len, lo = 3, 144
    elseif c >= 241 and c <= 243 then len = 3
    elseif c == 244 then len, hi = 3, 143
    end
    local ok = len > 0
    if ok then
      local c2 = byte(s, p + 1)
      if not c2 or c2 < lo or c2 > hi then
        ok = false
      else
        for k = 2, len do
          local ck = byte(s, p + k)
          if not ck or ck < 128 or ck > 191 then ok = false; break end
        end
      end
    end
    if ok then
      i = p + len + 1
    else
      out = out or {}
      out[#out + 1] = sub(s, last, p - 1)
      out[#out + 1] = REPLACEMENT
      i, last = p + 1, p + 1
    end
  end
  if not out then return nil end
  out[#out + 1] = sub(s, last)
  return concat(out)
end

function _M.utf8_valid(s)
  return utf8_scan(s) == nil
end

function _M.utf8_clean(s)
  return utf8_scan(s) or s
end

-- The pattern a whole value must match (server-side validation).
local whole = setmetatable({}, { __mode = "k" })
local function whole_pattern(p)
  local w = whole[p]
  if not w then
    w = "^(?:" .. p .. ")$"
    whole[p] = w
  end
  return w
end

-- Characters (code points) of a UTF-8 string: bytes that do not start a
-- continuation (0x80-0xBF) are counted.
local function char_length(s)
  local n = #s
  local _, cont = s:gsub("[\128-\191]", "")
  return n - cont
end
_M.char_length = char_length

local function describe(v)
  local t = type(v)
  if t == "string" then
    if #v > 40 then return str_format("%q...", v:sub(1, 40)) end
    return str_format("%q", v)
  end
  if t == "table" then return "a table" end
  return tostring(v)
end

local TYPE_NAMES = {
  structure = "a table of members", list = "a list (array table)",
  map = "a table of string keys", string = "a string", boolean = "a boolean",
  integer = "an integer", long = "an integer", float = "a number",
  double = "a number", timestamp = "a number (epoch seconds)",
  blob = "a string",
}

local check_value

local function add(problems, path, reason)
  problems[#problems + 1] = { path = path, reason = reason }
end

local function check_range(problems, path, shape, n, what)
  if shape.min and n < shape.min then
    add(problems, path, str_format("%s %s is below the minimum of %s", what, tostring(n), tostring(shape.min)))
  elseif shape.max and n > shape.max then
    add(problems, path, str_format("%s %s is above the maximum of %s", what, tostring(n), tostring(shape.max)))
  end
end

local function check_string(problems, path, shape, v, opts)
  if opts and opts.utf8 and utf8_scan(v) then
    add(problems, path, "value is not valid UTF-8")
    return
  end
  if shape.enum then
    for _, e in ipairs(shape.enum) do
      if v == e then return end
    end
    add(problems, path, str_format("value %s is not one of: %s", describe(v), concat(shape.enum, ", ")))
    return
  end
  -- A UTF-8 string of n bytes has n/4 to n characters: when both bounds
  -- hold whatever the count, there is no need to count.
  local n, min, max = #v, shape.min, shape.max
  if (max and n > max) or (min and n < 4 * min) then
    check_range(problems, path, shape, char_length(v), "length")
  end
  if shape.pattern then
    local p = shape.pattern
    if opts and opts.whole_patterns then p = whole_pattern(p) end
    local ok, err = pattern.test(p, v)
    if ok == nil then
      add(problems, path, "cannot check pattern " .. shape.pattern .. ": " .. tostring(err))
    elseif not ok then
      add(problems, path, str_format("value %s does not match the pattern %s", describe(v), shape.pattern))
    end
  end
end

local function is_list(v)
  local n = #v
  for k in pairs(v) do
    if type(k) ~= "number" or k < 1 or k > n or k % 1 ~= 0 then return false end
  end
  return true
end

-- The member names of a structure shape, sorted; computed once per shape.
local member_names = setmetatable({}, { __mode = "k" })
local NO_MEMBERS = {}

local function sorted_members(shape)
  local names = member_names[shape]
  if not names then
    names = {}
    for m in pairs(shape.members or NO_MEMBERS) do names[#names + 1] = m end
    sort(names)
    member_names[shape] = names
  end
  return names
end

-- Why a Lua value cannot be a JSON document, or nil: functions, userdata,
-- threads, cycles, keys other than strings and numbers.
local function document_problem(v, seen)
  local t = type(v)
  if t == "string" or t == "number" or t == "boolean" or v == nil then
    if t == "number" and (v ~= v or v == huge or v == -huge) then return "a number JSON cannot hold" end
    return nil
  end
  if t ~= "table" then
    if v == JSON_NULL then return nil end
    return "a " .. t .. " cannot be part of a JSON document"
  end
  if seen[v] then return "a table that contains itself (a cycle)" end
  seen[v] = true
  for k, x in pairs(v) do
    local tk = type(k)
    if tk ~= "string" and tk ~= "number" then return "a " .. tk .. " key cannot be part of a JSON document" end
    local why = document_problem(x, seen)
    if why then return why end
  end
  seen[v] = nil
  return nil
end

local function check_structure(problems, model, path, shape, v, opts)
  local members = shape.members or NO_MEMBERS
  local prefix = path == "" and "" or (path .. ".")
  local unknown
  for k in pairs(v) do
    if type(k) ~= "string" or not members[k] then
      unknown = unknown or {}
      unknown[#unknown + 1] = tostring(k)
    end
  end
  if unknown then sort(unknown) end
  for _, k in ipairs(unknown or NO_MEMBERS) do
    local names = {}
    for m in pairs(members) do names[#names + 1] = m end
    sort(names)
    add(problems, prefix .. k, "unknown member; valid members: " .. concat(names, ", "))
  end
  local required = shape.required
  if required then
    for i = 1, #required do
      local r = required[i]
      if v[r] == nil then add(problems, prefix .. r, "missing required member") end
    end
  end
  local names = sorted_members(shape)
  for i = 1, #names do
    local k = names[i]
    local x = v[k]
    if x ~= nil then
      local member = members[k]
      if member.jsonvalue then
        -- A JSON document: a table we encode, or a string already encoded.
        if type(x) ~= "table" and type(x) ~= "string" then
          add(problems, prefix .. k, "expected a table or a JSON string, got " .. type(x))
        elseif type(x) == "string" then
          check_string(problems, prefix .. k, model.shapes[member.shape], x, opts)
        else
          local ok, why = pcall(document_problem, x, {})
          if not ok then why = "cannot be encoded as JSON (nested too deeply)" end
          if why then add(problems, prefix .. k, "not a JSON document: " .. why) end
        end
      else
        check_value(problems, model, prefix .. k, member.shape, x, opts)
      end
    end
  end
end

function check_value(problems, model, path, shape_name, v, opts)
  local shape = model.shapes[shape_name]
  local t = shape.type
  local tv = type(v)
  local ok
  if t == "structure" or t == "map" then ok = tv == "table"
  elseif t == "list" then ok = tv == "table" and is_list(v)
  elseif t == "string" or t == "blob" then ok = tv == "string"
  elseif t == "boolean" then ok = tv == "boolean"
  elseif t == "integer" or t == "long" then
    ok = tv == "number" and v == floor(v) and v ~= huge and v ~= -huge
  elseif t == "float" or t == "double" or t == "timestamp" then
    ok = tv == "number" and v == v and v ~= huge and v ~= -huge
  end
  if not ok then
    add(problems, path, str_format("expected %s, got %s", TYPE_NAMES[t] or t,
      (tv == "table" or tv == "nil") and ("a " .. tv) or (tv .. " " .. describe(v))))
    return
  end
  if t == "structure" then
    check_structure(problems, model, path, shape, v, opts)
  elseif t == "list" then
    check_range(problems, path, shape, #v, "list size")
    for i = 1, #v do
      check_value(problems, model, str_format("%s[%d]", path, i), shape.member.shape, v[i], opts)
    end
  elseif t == "map" then
    local n = 0
    for k, x in pairs(v) do
      n = n + 1
      local kpath = str_format("%s[%s]", path, describe(k))
      if type(k) ~= "string" then
        add(problems, kpath, "map keys must be strings")
      else
        check_string(problems, kpath, model.shapes[shape.key.shape], k, opts)
        check_value(problems, model, kpath, shape.value.shape, x, opts)
      end
    end
    check_range(problems, path, shape, n, "map size")
  elseif t == "string" then
    check_string(problems, path, shape, v, opts)
  elseif t ~= "boolean" and t ~= "timestamp" then
    check_range(problems, path, shape, v, "value")
  end
end

-- Problems of `params` against input structure `shape_name`, or nil.
-- `opts`: nil (a client's checks) or validate.SERVER.
function _M.check(model, shape_name, params, opts)
  local problems = {}
  if shape_name == nil then
    if params ~= nil and next(params) ~= nil then
      add(problems, "", "this operation takes no parameters")
    end
  else
    check_value(problems, model, "", shape_name, params or {}, opts)
  end
  if #problems == 0 then return nil end
  return problems
end

-- "Parameter validation failed:" followed by one line per problem.
function _M.message(problems, operation)
  local lines = { operation
    and ("Parameter validation failed for the %s operation:"):format(operation)
    or "Parameter validation failed:" }
  for _, p in ipairs(problems) do
    lines[#lines + 1] = (p.path == "" and "" or (p.path .. ": ")) .. p.reason
  end
  return concat(lines, "\n")
end

return _M
