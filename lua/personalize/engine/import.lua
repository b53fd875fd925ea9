-- personalize-local: CSV files of dataset import jobs, and single records
-- (put_events, put_items, put_users), checked against a dataset's schema.
--
--   local fields = assert(require("personalize.schema").check(text, "Interactions"))
--   local data, reason = import.parse(csv, fields, { file = "s3://bucket/key" })
--   -- data = { n = 2, USER_ID = { "1", "2" }, TIMESTAMP = { 1260759144, 1260759179 }, ... }
--   import.append(data, more)                 -- INCREMENTAL imports, multi-file prefixes
--   local row, err = import.record({ ITEM_ID = "1", GENRES = "a|b" }, fields, "items[2]")
--
-- Data is columnar: one array per schema field, indexed 1..data.n, nil
-- where a value is empty (only nullable fields) or the file lacks the column.
-- A failure returns nil and the job's failureReason: the file (opts.file),
-- the line (1-based, the header is line 1; a record with newlines inside
-- quotes counts from the line it starts on) and the problem, e.g.
-- 's3://b/part2.csv line 42: TIMESTAMP "abc" is not a long'.
--
-- CSV (RFC 4180) with Personalize's rules ("Data format guidelines" of the
-- developer guide): a header line whose names are not in quotation marks,
-- commas, quoted values with "" for a quote and commas inside, each record
-- on one line (a quoted value holding a line break is refused), UTF-8 text
-- (Latin-1 and other non-UTF-8 bytes are refused with their line), LF or
-- CRLF line ends, an optional UTF-8 BOM and final newline. Empty lines are
-- skipped. These file-level problems fail the file. (AWS's segmentation
-- sample strips line breaks from item descriptions before importing them:
-- amazon-personalize-samples,
-- next_steps/core_use_cases/user_segmentation/user_segmentation_example.ipynb.)
--
-- Rows: a row whose values do not fit the schema (a value of the wrong
-- type or out of range, an empty non-nullable value, a wrong number of
-- values) is left out and the rest imported; opts.skipped, when given, is
-- filled with { n = count, "line 7: YEAR \"1975-1979\" is not an int", ... }
-- (the first 10 messages). A file with rows of which none fits fails with
-- the first row's problem. AWS's recorded runs import such files: the POC
-- workshop of amazon-personalize-samples
-- (next_steps/workshops/POC_in_a_box/completed/02_Validating_and_Importing_Item_Metadata.ipynb)
-- imports MovieLens items with YEAR an int, taken from titles where some
-- have no year or a range, and its import job ends ACTIVE. AWS documents
-- no rule for a file with no good row; failing it is our choice.
--
-- Columns: header names match schema field names ignoring case
-- (Personalize maps columns by name); columns that are not schema fields,
-- and columns with no name (pandas' index column), are ignored, as AWS's
-- recorded runs import pandas files with an index column and extra
-- columns; every non-nullable field must have a column, nullable ones may
-- be absent.
--
-- Choices where Personalize's documentation says little, all strict so
-- that a file personalize-local accepts also imports on AWS:
--   * int and long values are plain decimal integers: "1.0", "1e3" and
--     " 7" are rejected; int is 32-bit, long 64-bit;
--   * TIMESTAMP and CREATION_TIMESTAMP are Unix epoch seconds: negative
--     values, and values from 10^11 up (milliseconds), are rejected;
--   * float and double are decimal numbers (no hex, inf or nan);
--   * boolean is true or false in any case;
--   * USER_ID, ITEM_ID, ACTION_ID have 1 to 256 characters, textual strings
--     at most 20,000, other strings (categorical or not) at most 1,000
--     (Personalize quotas; characters, not bytes).
local type, pairs, ipairs, tonumber, tostring, setmetatable = type, pairs, ipairs, tonumber, tostring, setmetatable
local find, sub, byte, gsub, lower, upper = string.find, string.sub, string.byte, string.gsub, string.lower, string.upper
local str_format = string.format
local concat = table.concat
local floor, huge = math.floor, math.huge

local _M = {}

local ID_FIELDS = { USER_ID = true, ITEM_ID = true, ACTION_ID = true }
local EPOCH_FIELDS = { TIMESTAMP = true, CREATION_TIMESTAMP = true }
local MAX_ID, MAX_STRING, MAX_TEXTUAL = 256, 1000, 20000
local MAX_EPOCH = 1e11 -- year 5138 in seconds; a millisecond clock reads 1.7e12
local TWO_63 = 2 ^ 63
local INT_MIN, INT_MAX = -2147483648, 2147483647
_M.MAX_ID, _M.MAX_STRING, _M.MAX_TEXTUAL = MAX_ID, MAX_STRING, MAX_TEXTUAL

local function char_length(s)
  local _, cont = gsub(s, "[\128-\191]", "")
  return #s - cont
end

-- A raw value as shown in messages: quoted, cut at 40 characters.
local function show(s)
  if #s > 40 then s = sub(s, 1, 40) .. "..." end
  return '"' .. gsub(s, "[%c\"\\]", function(c)
    if c == "\n" then return "\\n" elseif c == "\r" then return "\\r" elseif c == "\t" then return "\\t" end
    if c == '"' or c == "\\" then return "\\" .. c end
    return str_format("\\%03d", byte(c))
  end) .. '"'
end

---------------------------------------------------------------------------
-- Value converters: converter(field)(s) -> value | nil, problem, for a
-- non-empty string s. Problems name the field, not the place.
---------------------------------------------------------------------------

local function string_converter(f)
  local name = f.name
  local limit = ID_FIELDS[name] and MAX_ID or (f.textual and MAX_TEXTUAL) or MAX_STRING
  local what = ID_FIELDS[name] and "" or (f.textual and "textual " or (f.categorical and "categorical " or ""))
  return function(s)
    if #s > limit then -- bytes bound characters from above
      local n = char_length(s)
      if n > limit then
        return nil, str_format("%s is %d characters; the limit for %svalues is %d", name, n, what, limit)
      end
    end
    return s
  end
end

local function integer_converter(f)
  local name, is_int, epoch = f.name, f.type == "int", EPOCH_FIELDS[f.name]
  local what = is_int and "an int" or "a long"
  return function(s)
    if not find(s, "^%-?%d+$") then
      return nil, str_format("%s %s is not %s", name, show(s), what)
    end
    local v = tonumber(s)
    if v >= TWO_63 or v < -TWO_63 or (is_int and (v > INT_MAX or v < INT_MIN)) then
      return nil, str_format("%s %s is out of range for %s", name, s, what)
    end
    if epoch then
      if v < 0 then
        return nil, str_format("%s %s is negative; use Unix epoch seconds", name, s)
      elseif v >= MAX_EPOCH then
        return nil, str_format("%s %s looks like milliseconds; use Unix epoch seconds", name, s)
      end
    end
    return v
  end
end

local function float_converter(f)
  local name, what = f.name, f.type == "float" and "a float" or "a double"
  return function(s)
    local v = tonumber(s)
    if not v or v ~= v or v == huge or v == -huge or find(s, "[xXpP%s]") then
      return nil, str_format("%s %s is not %s", name, show(s), what)
    end
    return v + 0.0
  end
end

local function boolean_converter(f)
  local name = f.name
  return function(s)
    local l = lower(s)
    if l == "true" then return true elseif l == "false" then return false end
    return nil, str_format("%s %s is not a boolean (true or false)", name, show(s))
  end
end

local CONVERTERS = {
  string = string_converter, int = integer_converter, long = integer_converter,
  float = float_converter, double = float_converter, boolean = boolean_converter,
}

local cache = setmetatable({}, { __mode = "k" })

local function converter(f)
  local c = cache[f]
  if not c then
    local make = CONVERTERS[f.type]
    if not make then error("field " .. tostring(f.name) .. " has unknown type " .. tostring(f.type), 3) end
    c = make(f)
    cache[f] = c
  end
  return c
end

local function empty_problem(name)
  if ID_FIELDS[name] then
    return str_format("%s is empty; IDs need 1 to %d characters", name, MAX_ID)
  end
  return name .. " is empty but the field is not nullable"
end

local function field_names(fields)
  local names = {}
  for i, f in ipairs(fields) do names[i] = f.name end
  return concat(names, ", ")
end

---------------------------------------------------------------------------
-- CSV
---------------------------------------------------------------------------

-- One record from pos, any quoting: values, next position, newlines
-- consumed (including the record's own line end) | nil, problem.
local function read_record(text, pos, len)
  local values, n, lines, i = {}, 0, 0, pos
  while true do
    n = n + 1
    if byte(text, i) == 34 then -- '"'
      local parts, j = {}, i + 1
      while true do
        local q = find(text, '"', j, true)
        if not q then return nil, str_format("the quoted value of column %d is never closed", n) end
        parts[#parts + 1] = sub(text, j, q - 1)
        if byte(text, q + 1) == 34 then
          parts[#parts + 1] = '"'
          j = q + 2
        else
          j = q + 1
          break
        end
      end
      local v = concat(parts)
      if find(v, "[\r\n]") then
        return nil, str_format("the quoted value of column %d holds a line break; each record must be on one line", n)
      end
      values[n] = v
      local c = byte(text, j)
      if c == 44 then -- ','
        i = j + 1
      elseif c == nil then
        return values, len + 1, lines
      elseif c == 10 then
        return values, j + 1, lines + 1
      elseif c == 13 and byte(text, j + 1) == 10 then
        return values, j + 2, lines + 1
      else
        return nil, str_format("unexpected %s after the closing quote of column %d", show(sub(text, j, j)), n)
      end
    else
      local e = find(text, '[,\n"]', i)
      if not e then
        values[n] = sub(text, i, len)
        return values, len + 1, lines
      end
      local c = byte(text, e)
      if c == 34 then
        return nil, str_format("stray quote in column %d; quote the whole value and double the quotes inside", n)
      end
      if c == 44 then
        values[n] = sub(text, i, e - 1)
        i = e + 1
      else -- LF, maybe after CR
        local stop = e - 1
        if stop >= i and byte(text, stop) == 13 then stop = stop - 1 end
        values[n] = sub(text, i, stop)
        return values, e + 1, lines + 1
      end
    end
  end
end

-- The position of the first byte of `text` that does not start or
-- continue a well-formed UTF-8 sequence (RFC 3629: no overlong forms,
-- surrogates or code points above U+10FFFF), or nil.
local function bad_utf8(text)
  local i = find(text, "[\128-\255]")
  while i do
    local c = byte(text, i)
    local n
    if c >= 0xC2 and c <= 0xDF then n = 1
    elseif c >= 0xE0 and c <= 0xEF then n = 2
    elseif c >= 0xF0 and c <= 0xF4 then n = 3
    else return i end
    for k = 1, n do
      local d = byte(text, i + k)
      if not d or d < 0x80 or d > 0xBF then return i end
    end
    local d = byte(text, i + 1)
    if (c == 0xE0 and d < 0xA0) or (c == 0xED and d > 0x9F) or (c == 0xF0 and d < 0x90) or (c == 0xF4 and d > 0x8F) then
      return i
    end
    i = find(text, "[\128-\255]", i + n + 1)
  end
  return nil
end
_M.bad_utf8 = bad_utf8

local MAX_SKIPPED_SHOWN = 10

-- parse(text, fields, opts) -> data | nil, failureReason   (see the top)
function _M.parse(text, fields, opts)
  if type(text) ~= "string" then error("import.parse: text must be a string", 2) end
  if type(fields) ~= "table" then error("import.parse: fields must be a list from schema.check", 2) end
  local prefix = (opts and opts.file) and (opts.file .. " ") or ""
  local skipped = opts and opts.skipped or {}
  skipped.n = skipped.n or 0
  local len, pos = #text, 1
  if sub(text, 1, 3) == "\239\187\191" then pos = 4 end
  local bad = bad_utf8(text)
  if bad then
    local _, before = gsub(sub(text, 1, bad), "\n", "")
    return nil, str_format("%sline %d: byte 0x%02X is not UTF-8; Personalize reads CSV files as UTF-8 "
      .. "(save the file as UTF-8, not Latin-1 or another encoding)", prefix, before + 1, byte(text, bad))
  end
  -- Skip leading empty lines, then read the header.
  local line = 1
  while pos <= len do
    local c = byte(text, pos)
    if c == 10 then
      pos, line = pos + 1, line + 1
    elseif c == 13 and byte(text, pos + 1) == 10 then
      pos, line = pos + 2, line + 1
    else
      break
    end
  end
  if pos > len then return nil, prefix .. "header: the file is empty; the first line must name the columns" end
  local header, next_pos, lines = read_record(text, pos, len)
  if not header then return nil, prefix .. "header: " .. next_pos end
  local quoted = find(text, '"', pos, true)
  if quoted and quoted < next_pos then
    return nil, prefix .. "header: column names must not be enclosed in quotation marks"
  end
  pos, line = next_pos, line + lines

  local by_upper = {}
  for _, f in ipairs(fields) do
    if f.name == "n" then return nil, prefix .. 'header: a schema field named "n" is not supported' end
    by_upper[upper(f.name)] = f
  end
  local width = #header
  local conv, nullable, names, cols = {}, {}, {}, {}
  local data, seen = { n = 0 }, {}
  for _, f in ipairs(fields) do data[f.name] = {} end
  for j = 1, width do
    local f = by_upper[upper(header[j])]
    if f and seen[f] then
      return nil, str_format("%sheader: column %s appears twice (columns %d and %d)", prefix, f.name, seen[f], j)
    end
    if f then -- other columns are ignored
      seen[f] = j
      conv[j], nullable[j], names[j], cols[j] = converter(f), f.nullable, f.name, data[f.name]
    end
  end
  for _, f in ipairs(fields) do
    if not seen[f] and not f.nullable then
      return nil, str_format("%sheader: required field %s is missing", prefix, f.name)
    end
  end

  local raw, row, first_problem = {}, 0, nil
  local next_quote = find(text, '"', pos, true) or len + 1
  while pos <= len do
    local nl = find(text, "\n", pos, true) or len + 1
    local stop = nl - 1
    if stop >= pos and byte(text, stop) == 13 then stop = stop - 1 end
    local ncol, extra = 0, 1
    if stop < pos then -- empty line
      pos = nl + 1
    else
      if next_quote < pos then next_quote = find(text, '"', pos, true) or len + 1 end
      if next_quote > stop then
        -- Fast path: no quotes on this line.
        local p = pos
        while true do
          ncol = ncol + 1
          local c = find(text, ",", p, true)
          if not c or c > stop then
            raw[ncol] = sub(text, p, stop)
            break
          end
          raw[ncol] = sub(text, p, c - 1)
          p = c + 1
        end
        pos = nl + 1
      else
        local values, np, nlines = read_record(text, pos, len)
        if not values then return nil, str_format("%sline %d: %s", prefix, line, np) end
        raw, ncol, pos, extra = values, #values, np, nlines
      end
      local problem
      if ncol ~= width then
        problem = str_format("%d value%s but the header has %d column%s",
          ncol, ncol == 1 and "" or "s", width, width == 1 and "" or "s")
      else
        row = row + 1
        for j = 1, width do
          local c = conv[j] -- nil for a column outside the schema
          if c then
            local s = raw[j]
            if s == "" then
              if not nullable[j] then problem = empty_problem(names[j]) end
            else
              local v
              v, problem = c(s)
              if v ~= nil then cols[j][row] = v end
            end
          end
          if problem then
            for k = 1, j - 1 do
              if cols[k] then cols[k][row] = nil end
            end
            row = row - 1
            break
          end
        end
      end
      if problem then
        local n = skipped.n + 1
        skipped.n = n
        if n <= MAX_SKIPPED_SHOWN then skipped[n] = str_format("%sline %d: %s", prefix, line, problem) end
        first_problem = first_problem or str_format("%sline %d: %s", prefix, line, problem)
      end
    end
    line = line + extra
  end
  if row == 0 and first_problem then return nil, first_problem end
  data.n = row
  return data
end

-- append(data, more) -> data: more's rows after data's, in place. Columns
-- only one side has are kept, nil for the other side's rows.
function _M.append(data, more)
  local n, m = data.n or 0, more.n or 0
  for name, col in pairs(more) do
    if name ~= "n" then
      local dst = data[name]
      if not dst then
        dst = {}
        data[name] = dst
      end
      for i = 1, m do
        local v = col[i]
        if v ~= nil then dst[n + i] = v end
      end
    end
  end
  data.n = n + m
  return data
end

-- record(values, fields, where) -> row | nil, message
--   values: field name -> raw value (string, number, boolean; nil, "" or
--     cjson.null for none). Names match ignoring case and underscores, so
--     the camelCase keys of put_items properties ("creationTimestamp")
--     find CREATION_TIMESTAMP.
--   row: canonical field name -> typed value, as parse() stores them.
--   where prefixes messages: "items[2]: GENRES is 1001 characters; ...".
local function loose_key(name)
  return upper((gsub(name, "_", "")))
end

function _M.record(values, fields, where)
  if type(values) ~= "table" then error("import.record: values must be a table", 2) end
  local prefix = where and (where .. ": ") or ""
  local by_key = {}
  for _, f in ipairs(fields) do by_key[loose_key(f.name)] = f end
  local row, empty = {}, {}
  for k, raw in pairs(values) do
    if type(k) ~= "string" then
      return nil, prefix .. "keys must be field names, not " .. tostring(k)
    end
    local f = by_key[loose_key(k)]
    if not f then
      return nil, str_format("%s%s is not in the schema; schema fields: %s", prefix, k, field_names(fields))
    end
    local t, v, problem = type(raw), nil, nil
    if t == "string" then
      if raw == "" then empty[f] = true else v, problem = converter(f)(raw) end
    elseif t == "number" then
      if raw ~= raw or raw == huge or raw == -huge then
        problem = str_format("%s %s is not a finite number", f.name, tostring(raw))
      elseif f.type == "float" or f.type == "double" then
        v = raw + 0.0
      elseif f.type == "boolean" then
        problem = str_format("%s %s is not a boolean (true or false)", f.name, tostring(raw))
      elseif raw == floor(raw) and raw > -TWO_63 and raw < TWO_63 then
        v, problem = converter(f)(str_format("%d", raw))
      elseif f.type == "string" then
        v, problem = converter(f)(tostring(raw))
      else
        problem = str_format("%s %s is not %s", f.name, tostring(raw), f.type == "int" and "an int" or "a " .. f.type)
      end
    elseif t == "boolean" then
      if f.type == "boolean" then
        v = raw
      elseif f.type == "string" then
        v = tostring(raw)
      else
        problem = str_format("%s %s is not %s", f.name, tostring(raw), f.type == "int" and "an int" or "a " .. f.type)
      end
    elseif t == "userdata" or t == "nil" then -- cjson.null
      empty[f] = true
    else
      problem = str_format("%s is a %s, not a value", f.name, t)
    end
    if problem then return nil, prefix .. problem end
    row[f.name] = v
  end
  for _, f in ipairs(fields) do
    if row[f.name] == nil and not f.nullable then
      if empty[f] then return nil, prefix .. empty_problem(f.name) end
      return nil, str_format("%srequired field %s is missing", prefix, f.name)
    end
  end
  return row
end

return _M
