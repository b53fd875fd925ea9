-- Parameter validation against the service model, before anything is sent.
--
--   local problems = validate.check(model, "PutEventsRequest", params)
--   -- nil when valid, else a list of { path = "eventList[3].sentAt", reason = "..." }
--
-- Checks: unknown members, missing required members, types, enums, string
-- length (in characters), numeric range, list and map size, patterns.
-- Paths use the API's member names and Lua's 1-based list indices.
local pattern = require "personalize.pattern"

local type, pairs, ipairs, tostring, next, setmetatable = type, pairs, ipairs, tostring, next, setmetatable
local floor, huge = math.floor, math.huge
local str_format = string.format
local concat, sort = table.concat, table.sort

local _M = {}

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

local function check_string(problems, path, shape, v)
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
    local ok, err = pattern.test(shape.pattern, v)
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

local function check_structure(problems, model, path, shape, v)
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
          check_string(problems, prefix .. k, model.shapes[member.shape], x)
        end
      else
        check_value(problems, model, prefix .. k, member.shape, x)
      end
    end
  end
end

function check_value(problems, model, path, shape_name, v)
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
    check_structure(problems, model, path, shape, v)
  elseif t == "list" then
    check_range(problems, path, shape, #v, "list size")
    for i = 1, #v do
      check_value(problems, model, str_format("%s[%d]", path, i), shape.member.shape, v[i])
    end
  elseif t == "map" then
    local n = 0
    for k, x in pairs(v) do
      n = n + 1
      local kpath = str_format("%s[%s]", path, describe(k))
      if type(k) ~= "string" then
        add(problems, kpath, "map keys must be strings")
      else
        check_string(problems, kpath, model.shapes[shape.key.shape], k)
        check_value(problems, model, kpath, shape.value.shape, x)
      end
    end
    check_range(problems, path, shape, n, "map size")
  elseif t == "string" then
    check_string(problems, path, shape, v)
  elseif t ~= "boolean" and t ~= "timestamp" then
    check_range(problems, path, shape, v, "value")
  end
end

-- Problems of `params` against input structure `shape_name`, or nil.
function _M.check(model, shape_name, params)
  local problems = {}
  if shape_name == nil then
    if params ~= nil and next(params) ~= nil then
      add(problems, "", "this operation takes no parameters")
    end
  else
    check_value(problems, model, "", shape_name, params or {})
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
