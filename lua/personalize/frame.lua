-- A small DataFrame for recommendations and listings, printed the way
-- pandas prints in a notebook.
--
--   local frame = require "personalize.frame"
--   local f = frame{ { itemId = "1", score = 0.5 }, { itemId = "2", score = 0.25 } }
--   local f = frame({ itemId = { "1", "2" }, score = { 0.5, 0.25 } }, { columns = { "itemId", "score" } })
--   local f = frame.from_result(runtime:get_recommendations{ campaignArn = arn, userId = "1" })
--   print(f:join(items, "itemId", "ITEM_ID"):select("itemId", "TITLE", "score"))
--
-- A frame is immutable: every method returns a new frame. Rows are
-- numbered from 1 in Lua (f:row(1), f:column("score")[1]); the printed
-- index counts from 0 as pandas does. Missing values are nil (or
-- cjson.null) and print as NaN.
--
-- A list of strings or numbers with one column name makes a one-column
-- frame, rows given as arrays fill the named columns in order (pandas'
-- pd.DataFrame(list, columns=[...])):
--   local f = frame({ "Heat (1995)", "Dumbo (1941)" }, { columns = { "title" } })
-- #f is the number of rows under Lua 5.2+ (__len); LuaJIT's # ignores
-- __len on tables: f:nrows() (or f.nrow) works everywhere.
--
-- Misuse raises: a non-table where a frame or records are expected, a
-- predicate that is not a function, and a column that does not exist
-- (select, column, sort_by, join: the message names the missing column
-- and the frame's columns, as pandas' KeyError does, so that a chain
-- like f:select("title"):head(3) stops at the mistake). A CSV file that
-- cannot be read or parsed and a result with no list in it return nil and
-- a message naming what was wrong.
local cjson = require "cjson"

local type, pairs, ipairs, next, tostring, tonumber, error = type, pairs, ipairs, next, tostring, tonumber, error
local setmetatable, getmetatable = setmetatable, getmetatable
local concat, sort = table.concat, table.sort
local floor, huge, max = math.floor, math.huge, math.max
local format, rep = string.format, string.rep

local null = cjson.null

local _M = {
  -- Display settings, like pandas' display.max_rows and display.max_colwidth.
  options = { max_rows = 30, max_colwidth = 50 },
}

local Frame = {}
Frame.__index = Frame

local function is_missing(v)
  return v == nil or v == null or v ~= v
end

-- Number of UTF-8 characters in `s` (bytes that do not continue a sequence).
local function utf8_len(s)
  local _, n = s:gsub("[^\128-\191]", "")
  return n
end
_M.utf8_len = utf8_len

-- The first `n` UTF-8 characters of `s`.
local function utf8_prefix(s, n)
  local count, i, len = 0, 1, #s
  while i <= len do
    local b = s:byte(i)
    if b < 128 or b >= 192 then
      if count == n then return s:sub(1, i - 1) end
      count = count + 1
    end
    i = i + 1
  end
  return s
end

local function copy_array(t, n)
  local out = {}
  for i = 1, n do out[i] = t[i] end
  return out
end

local function column_list(f)
  return concat(f.columns, ", ")
end

-- Raises at the caller of the frame method (level 3 from here).
local function no_column(f, where, name)
  error(("frame%s: no column %q (columns: %s)"):format(where, tostring(name), column_list(f)), 3)
end

-- A frame from column names (in order), a name -> array table and a row count.
local function make(columns, data, nrow)
  return setmetatable({ columns = columns, nrow = nrow, ncol = #columns, _data = data }, Frame)
end

local function is_frame(v)
  return getmetatable(v) == Frame
end
_M.is_frame = is_frame

-- Largest positive integer key of `t` (arrays with holes for missing values).
local function max_index(t)
  local n = #t
  for k in pairs(t) do
    if type(k) == "number" and k > n and k == floor(k) then n = k end
  end
  return n
end

local function sorted_keys(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  return keys
end

-- From records: columns in order of first appearance, the new keys of one
-- record in sorted order (Lua tables keep no key order); opts.columns fixes
-- the order and the set.
-- Whether record `r` is a row given as an array for `columns`: it has
-- values at 1.. and none of the column names as keys.
local function positional(r, columns)
  if r[1] == nil then return false end
  for _, name in ipairs(columns) do
    if r[name] ~= nil then return false end
  end
  return true
end

local function from_records(records, opts)
  local n = max_index(records)
  local columns, data, seen = {}, {}, {}
  -- A list of scalars: one column, opts.columns[1] or "0" as pandas names it.
  local first
  for i = 1, n do
    if records[i] ~= nil and records[i] ~= null then first = records[i]; break end
  end
  if first ~= nil and type(first) ~= "table" then
    local cols = opts.columns or { "0" }
    if #cols ~= 1 then
      error(("personalize.frame: a list of %ss makes one column, %d names given"):format(type(first), #cols), 4)
    end
    local col = {}
    for i = 1, n do
      local v = records[i]
      if type(v) == "table" then
        error(("personalize.frame: record %d is a table in a list of %ss"):format(i, type(first)), 4)
      end
      col[i] = v
    end
    return make({ cols[1] }, { [cols[1]] = col }, n)
  end
  if opts.columns then
    for _, name in ipairs(opts.columns) do
      columns[#columns + 1] = name
      data[name], seen[name] = {}, true
    end
    for i = 1, n do
      local r = records[i]
      if type(r) == "table" then
        if positional(r, columns) then
          for j, name in ipairs(columns) do data[name][i] = r[j] end
        else
          for _, name in ipairs(columns) do data[name][i] = r[name] end
        end
      end
    end
    return make(columns, data, n)
  end
  for i = 1, n do
    local r = records[i]
    if r == null then r = nil end
    if r ~= nil and type(r) ~= "table" then
      error(("personalize.frame: record %d is a %s, a table expected"):format(i, type(r)), 4)
    end
    if r then
      for _, k in ipairs(sorted_keys(r)) do
        if not seen[k] then
          seen[k] = true
          columns[#columns + 1] = k
          data[k] = {}
        end
        data[k][i] = r[k]
      end
    end
  end
  return make(columns, data, n)
end

local function from_columns(cols, opts)
  local columns = {}
  if opts.columns then
    for i, name in ipairs(opts.columns) do columns[i] = name end
  else
    columns = sorted_keys(cols)
  end
  local data, n = {}, 0
  for _, name in ipairs(columns) do
    local c = cols[name]
    if c ~= nil and type(c) ~= "table" then
      error(("personalize.frame: column %q is a %s, an array expected"):format(tostring(name), type(c)), 4)
    end
    c = c or {}
    n = max(n, max_index(c))
  end
  for _, name in ipairs(columns) do data[name] = copy_array(cols[name] or {}, n) end
  return make(columns, data, n)
end

-- frame(records_or_columns, opts) -> frame. A table whose values are all
-- arrays and that has no array part is read as columns. opts.columns: the
-- columns and their order; opts.max_rows, opts.max_colwidth: display
-- settings of this frame (else frame.options).
local function new(t, opts)
  if type(t) ~= "table" then
    error("personalize.frame: records or columns (a table) expected, got " .. type(t), 3)
  end
  if is_frame(t) then return t end
  if #t == 0 and next(t) ~= nil then
    local all_arrays = true
    for k, v in pairs(t) do
      if type(k) ~= "string" or type(v) ~= "table" or (next(v) ~= nil and #v == 0) then
        all_arrays = false
        break
      end
    end
    if all_arrays then return from_columns(t, opts) end
  end
  return from_records(t, opts)
end

function _M.new(t, opts)
  opts = opts or {}
  local f = new(t, opts)
  if opts.max_rows or opts.max_colwidth then
    f = f:set_options(opts)
  end
  return f
end

---------------------------------------------------------------------------
-- Rendering

-- Shortest "%.Ng" that reads back as `v`.
local function number_text(v)
  if v ~= v then return "NaN" end
  if v == huge then return "inf" end
  if v == -huge then return "-inf" end
  if v == floor(v) and v > -1e15 and v < 1e15 then return format("%.0f", v) end
  for digits = 15, 17 do
    local s = format("%." .. digits .. "g", v)
    if tonumber(s) == v then return s end
  end
  return format("%.17g", v)
end
_M.number_text = number_text

local function table_text(v)
  local ok, s = pcall(cjson.encode, v)
  return ok and s or tostring(v)
end

local ESCAPES = { ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t" }

-- How numbers of one column print: integers as integers; otherwise every
-- value with the same count of decimals (at most 6), as pandas does.
local function number_formatter(values)
  local decimals, scientific = 0, false
  for _, v in ipairs(values) do
    if v == v and v ~= huge and v ~= -huge and v ~= floor(v) then
      local a = v < 0 and -v or v
      if a >= 1e15 or a < 1e-4 then
        scientific = true
      else
        local s = format("%.6g", a)
        local frac = s:match("%.(%d+)$")
        if frac and #frac > decimals then decimals = #frac end
      end
    end
  end
  if decimals > 6 then decimals = 6 end
  local fmt = "%." .. decimals .. "f"
  return function(v)
    if v ~= v then return "NaN" end
    if v == huge then return "inf" end
    if v == -huge then return "-inf" end
    if scientific then return format("%.6g", v) end
    return format(fmt, v)
  end
end

-- The cells of one column for the rows shown, and whether it is numeric.
local function column_cells(f, name, rows, max_colwidth)
  local col = f._data[name]
  local numbers, numeric = {}, true
  for _, i in ipairs(rows) do
    local v = col[i]
    if not is_missing(v) then
      if type(v) == "number" then numbers[#numbers + 1] = v else numeric = false end
    end
  end
  local fmt = numeric and number_formatter(numbers)
  local cells = {}
  for k, i in ipairs(rows) do
    local v, s = col[i], "..."
    if i == false then -- luacheck: ignore 542
      -- the "..." row between the first and the last rows
    elseif is_missing(v) then
      s = "NaN"
    elseif type(v) == "number" then
      s = fmt and fmt(v) or number_text(v)
    elseif type(v) == "table" then
      s = table_text(v)
    else
      s = tostring(v)
    end
    s = s:gsub("[\n\r\t]", ESCAPES)
    if utf8_len(s) > max_colwidth then
      s = utf8_prefix(s, max_colwidth - 3) .. "..."
    end
    cells[k] = s
  end
  return cells, numeric
end

local function pad(s, width, right)
  local fill = width - utf8_len(s)
  if fill <= 0 then return s end
  if right then return rep(" ", fill) .. s end
  return s .. rep(" ", fill)
end

-- The printed table: an index column, two spaces between columns, numbers
-- right-aligned, text left-aligned; when the frame has more than max_rows
-- rows, the first and last max_rows/2 with a "..." row between and the
-- shape line after. Trailing spaces are trimmed.
function Frame:render(opts)
  opts = opts or {}
  local max_rows = opts.max_rows or self._max_rows or _M.options.max_rows
  local max_colwidth = opts.max_colwidth or self._max_colwidth or _M.options.max_colwidth
  if self.ncol == 0 or self.nrow == 0 then
    return ("Empty DataFrame\nColumns: [%s]\nIndex: []"):format(column_list(self))
  end
  local rows, truncated = {}, self.nrow > max_rows
  if truncated then
    local top = floor((max_rows + 1) / 2)
    local bottom = max_rows - top
    for i = 1, top do rows[#rows + 1] = i end
    rows[#rows + 1] = false
    for i = self.nrow - bottom + 1, self.nrow do rows[#rows + 1] = i end
  else
    for i = 1, self.nrow do rows[i] = i end
  end
  -- Columns of text: the index first, then each column.
  local index = {}
  for k, i in ipairs(rows) do index[k] = i and tostring(i - 1) or "..." end
  local cols = { { header = "", cells = index, right = false } }
  for _, name in ipairs(self.columns) do
    local cells, numeric = column_cells(self, name, rows, max_colwidth)
    local header = tostring(name):gsub("[\n\r\t]", ESCAPES)
    cols[#cols + 1] = { header = header, cells = cells, right = numeric }
  end
  for _, c in ipairs(cols) do
    local w = utf8_len(c.header)
    for _, s in ipairs(c.cells) do w = max(w, utf8_len(s)) end
    c.width = w
  end
  local lines = {}
  local parts = {}
  for j, c in ipairs(cols) do parts[j] = pad(c.header, c.width, c.right) end
  lines[1] = (concat(parts, "  "):gsub("%s+$", ""))
  for k = 1, #rows do
    for j, c in ipairs(cols) do parts[j] = pad(c.cells[k], c.width, c.right) end
    lines[#lines + 1] = (concat(parts, "  "):gsub("%s+$", ""))
  end
  if truncated then
    lines[#lines + 1] = ""
    lines[#lines + 1] = ("[%d rows x %d columns]"):format(self.nrow, self.ncol)
  end
  return concat(lines, "\n")
end

Frame.__tostring = Frame.render
Frame.__name = "personalize.frame"

-- #f: the number of rows (Lua 5.2+; under LuaJIT use f:nrows()).
function Frame.__len(f)
  return f.nrow
end

-- The number of rows, and of columns.
function Frame:nrows()
  return self.nrow
end

function Frame:ncols()
  return self.ncol
end

-- pandas' shape: rows, columns.
function Frame:shape()
  return self.nrow, self.ncol
end

-- Display settings of this frame (max_rows, max_colwidth); returns it.
function Frame:set_options(opts)
  local f = make(self.columns, self._data, self.nrow)
  f._max_rows = opts.max_rows or self._max_rows
  f._max_colwidth = opts.max_colwidth or self._max_colwidth
  return f
end

---------------------------------------------------------------------------
-- Access

function Frame:has_column(name)
  return self._data[name] ~= nil
end

-- column(name) -> array (a copy; missing values are holes); raises for a
-- column that does not exist
function Frame:column(name)
  local col = self._data[name]
  if not col then no_column(self, ":column", name) end
  return copy_array(col, self.nrow)
end

-- row(i) -> { column = value } for the i-th row (1-based; -1 is the last), or nil.
function Frame:row(i)
  if type(i) ~= "number" then error("frame:row: a row number expected", 2) end
  if i < 0 then i = self.nrow + 1 + i end
  if i < 1 or i > self.nrow or i ~= floor(i) then return nil end
  local r = {}
  for _, name in ipairs(self.columns) do
    local v = self._data[name][i]
    if v ~= null then r[name] = v end
  end
  return r
end

-- for row, i in f:rows() do ... end  (i counts from 1)
function Frame:rows()
  local i = 0
  return function()
    i = i + 1
    if i > self.nrow then return nil end
    return self:row(i), i
  end
end

-- The rows at positions `list` (1-based), as a new frame.
local function take(f, list)
  local data = {}
  for _, name in ipairs(f.columns) do
    local src, dst = f._data[name], {}
    for k, i in ipairs(list) do dst[k] = src[i] end
    data[name] = dst
  end
  local out = make(f.columns, data, #list)
  out._max_rows, out._max_colwidth = f._max_rows, f._max_colwidth
  return out
end

function Frame:head(n)
  n = n or 5
  local list = {}
  for i = 1, math.min(n, self.nrow) do list[i] = i end
  return take(self, list)
end

function Frame:tail(n)
  n = n or 5
  local list = {}
  for i = math.max(1, self.nrow - n + 1), self.nrow do list[#list + 1] = i end
  return take(self, list)
end

-- select("a", "b") or select{ "a", "b" } -> frame; raises for a column
-- that does not exist
function Frame:select(...)
  local names = ...
  if type(names) ~= "table" then names = { ... } end
  local columns, data = {}, {}
  for i = 1, max_index(names) do
    local name = names[i]
    if not self._data[name] then no_column(self, ":select", name) end
    columns[i] = name
    data[name] = self._data[name]
  end
  local out = make(columns, data, self.nrow)
  out._max_rows, out._max_colwidth = self._max_rows, self._max_colwidth
  return out
end

-- where(function(row) return row.score > 0.1 end) -> frame
function Frame:where(fn)
  if type(fn) ~= "function" then error("frame:where: a function(row) expected", 2) end
  local list = {}
  for i = 1, self.nrow do
    if fn(self:row(i), i) then list[#list + 1] = i end
  end
  return take(self, list)
end

-- Order of two present values: numbers before strings, then natural order.
local function less(a, b)
  local ta, tb = type(a), type(b)
  if ta ~= tb then
    if ta == "number" then return true end
    if tb == "number" then return false end
    return ta < tb
  end
  if ta == "number" or ta == "string" then return a < b end
  return tostring(a) < tostring(b)
end

-- sort_by(name, desc) -> frame (raises for a column that does not exist).
-- Stable; missing values last.
function Frame:sort_by(name, desc)
  local col = self._data[name]
  if not col then no_column(self, ":sort_by", name) end
  local list = {}
  for i = 1, self.nrow do list[i] = i end
  sort(list, function(i, j)
    local a, b = col[i], col[j]
    local ma, mb = is_missing(a), is_missing(b)
    if ma or mb then
      if ma and mb then return i < j end
      return mb
    end
    if desc then
      if less(b, a) then return true end
      if less(a, b) then return false end
    else
      if less(a, b) then return true end
      if less(b, a) then return false end
    end
    return i < j
  end)
  return take(self, list)
end

-- The key a value joins on: integral numbers and their decimal text match
-- ("42" joins 42), as item ids from the runtime are strings and ids read
-- from a CSV are numbers.
local function join_key(v)
  if is_missing(v) then return nil end
  if type(v) == "number" then return number_text(v) end
  return tostring(v)
end

-- join(other, left_key, right_key, how) -> frame (raises for a key column
-- that does not exist, or a bad `how`)
-- A hash join: for each row of this frame, every row of `other` whose
-- right_key equals its left_key (right_key defaults to left_key). how is
-- "left" (default: rows without a match kept, the other's columns NaN) or
-- "inner". The other's key column is dropped when it has the same name;
-- other clashing names get the suffix "_right".
function Frame:join(other, left_key, right_key, how)
  if not is_frame(other) then error("frame:join: a frame expected", 2) end
  right_key = right_key or left_key
  how = how or "left"
  if how ~= "left" and how ~= "inner" then
    error(("frame:join: how must be \"left\" or \"inner\", got %q"):format(tostring(how)), 2)
  end
  local lcol = self._data[left_key]
  if not lcol then no_column(self, ":join", left_key) end
  local rcol = other._data[right_key]
  if not rcol then no_column(other, ":join (right)", right_key) end
  local index = {}
  for j = 1, other.nrow do
    local k = join_key(rcol[j])
    if k then
      local list = index[k]
      if not list then list = {}; index[k] = list end
      list[#list + 1] = j
    end
  end
  local lrows, rrows = {}, {}
  for i = 1, self.nrow do
    local matches = index[join_key(lcol[i]) or false]
    if matches then
      for _, j in ipairs(matches) do
        lrows[#lrows + 1], rrows[#lrows + 1] = i, j
      end
    elseif how == "left" then
      lrows[#lrows + 1], rrows[#lrows + 1] = i, false
    end
  end
  local n = #lrows
  local columns, data = {}, {}
  for _, name in ipairs(self.columns) do
    local src, dst = self._data[name], {}
    for k = 1, n do dst[k] = src[lrows[k]] end
    columns[#columns + 1] = name
    data[name] = dst
  end
  for _, name in ipairs(other.columns) do
    if not (name == right_key and right_key == left_key) then
      local out_name = name
      while data[out_name] do out_name = out_name .. "_right" end
      local src, dst = other._data[name], {}
      for k = 1, n do
        local j = rrows[k]
        if j then dst[k] = src[j] end
      end
      columns[#columns + 1] = out_name
      data[out_name] = dst
    end
  end
  local out = make(columns, data, n)
  out._max_rows, out._max_colwidth = self._max_rows, self._max_colwidth
  return out
end

-- with_column(name, function(row, i) return value end) -> frame
-- Replaces the column in place when it exists, else appends it.
function Frame:with_column(name, fn)
  if type(fn) ~= "function" then error("frame:with_column: a function(row) expected", 2) end
  local values = {}
  for i = 1, self.nrow do values[i] = fn(self:row(i), i) end
  local columns, data = {}, {}
  for i, c in ipairs(self.columns) do
    columns[i] = c
    data[c] = self._data[c]
  end
  if not data[name] then columns[#columns + 1] = name end
  data[name] = values
  local out = make(columns, data, self.nrow)
  out._max_rows, out._max_colwidth = self._max_rows, self._max_colwidth
  return out
end

-- Records (one table per row), e.g. for cjson.encode.
function Frame:to_records()
  local out = {}
  for i = 1, self.nrow do out[i] = self:row(i) end
  return out
end

---------------------------------------------------------------------------
-- CSV (RFC 4180)

local function csv_field(v)
  if is_missing(v) then return "" end
  local s
  if type(v) == "number" then
    s = number_text(v)
  elseif type(v) == "table" then
    s = table_text(v)
  else
    s = tostring(v)
  end
  if s:find('[,"\r\n]') or s:find("^%s") or s:find("%s$") then
    s = '"' .. s:gsub('"', '""') .. '"'
  end
  return s
end
_M.csv_field = csv_field

-- to_csv(path) -> true | nil, msg   (written atomically: temp + rename)
-- to_csv() -> text. A header line, then one line per row, "\n" after each;
-- missing values are empty fields.
function Frame:to_csv(path)
  local lines, fields = {}, {}
  for j, name in ipairs(self.columns) do fields[j] = csv_field(name) end
  lines[1] = concat(fields, ",")
  for i = 1, self.nrow do
    for j, name in ipairs(self.columns) do fields[j] = csv_field(self._data[name][i]) end
    lines[i + 1] = concat(fields, ",", 1, self.ncol)
  end
  lines[#lines + 1] = ""
  local text = concat(lines, "\n")
  if path == nil then return text end
  local ok, err = require("personalize.core").write_file(path, text)
  if not ok then return nil, "frame:to_csv: " .. tostring(err) end
  return true
end

-- Splits CSV text into records (arrays of strings): quoted fields with
-- commas, line breaks and doubled quotes; LF or CRLF line ends; blank lines
-- skipped. -> records | nil, msg
local function parse_csv(text)
  local records, record = {}, {}
  local pos, len, line = 1, #text, 1
  if text:sub(1, 3) == "\239\187\191" then pos = 4 end -- UTF-8 byte order mark
  while pos <= len do
    local c = text:sub(pos, pos)
    local field
    if c == '"' then
      local start_line = line
      local parts, p = {}, pos + 1
      while true do
        local q = text:find('"', p, true)
        if not q then
          return nil, ("unterminated quoted field starting on line %d"):format(start_line)
        end
        local chunk = text:sub(p, q - 1)
        local _, nl = chunk:gsub("\n", "")
        line = line + nl
        parts[#parts + 1] = chunk
        if text:sub(q + 1, q + 1) == '"' then
          parts[#parts + 1] = '"'
          p = q + 2
        else
          pos = q + 1
          break
        end
      end
      field = concat(parts)
      local nc = text:sub(pos, pos)
      if nc ~= "," and nc ~= "\n" and nc ~= "\r" and nc ~= "" then
        return nil, ("line %d: unexpected %q after a quoted field"):format(line, nc)
      end
    else
      local e = text:find("[,\r\n\"]", pos)
      if e and text:sub(e, e) == '"' then
        return nil, ("line %d: a quote inside an unquoted field"):format(line)
      end
      e = e or len + 1
      field = text:sub(pos, e - 1)
      pos = e
    end
    record[#record + 1] = field
    local sep = text:sub(pos, pos)
    if sep == "," then
      pos = pos + 1
      if pos > len then record[#record + 1] = "" end
    else
      if sep == "\r" and text:sub(pos + 1, pos + 1) == "\n" then pos = pos + 1 end
      pos = pos + 1
      line = line + 1
      if not (#record == 1 and record[1] == "") then records[#records + 1] = record end
      record = {}
      -- blank lines
      while true do
        local b = text:sub(pos, pos)
        if b == "\n" then
          pos, line = pos + 1, line + 1
        elseif b == "\r" and text:sub(pos + 1, pos + 1) == "\n" then
          pos, line = pos + 2, line + 1
        else
          break
        end
      end
    end
  end
  if #record > 0 then records[#records + 1] = record end
  return records
end

-- Decimal numbers only: tonumber also reads "0x1F", which an id is not.
local function numeric_text(s)
  return tonumber(s) ~= nil and not s:find("[xX]")
end

-- frame.parse_csv(text, opts) -> frame | nil, msg. The first record is the
-- header. A column whose non-empty values are all numbers becomes numbers,
-- unless opts.strings is true or lists its name. Empty fields are missing.
function _M.parse_csv(text, opts)
  opts = opts or {}
  local records, err = parse_csv(text)
  if not records then return nil, "frame.from_csv: " .. err end
  local header = records[1]
  if not header then return nil, "frame.from_csv: no header line" end
  local columns, data, ncol = {}, {}, #header
  for j, name in ipairs(header) do
    if data[name] then return nil, ("frame.from_csv: column %q appears twice in the header"):format(name) end
    columns[j], data[name] = name, {}
  end
  local nrow = #records - 1
  for i = 1, nrow do
    local r = records[i + 1]
    if #r > ncol then
      return nil, ("frame.from_csv: record %d has %d fields, the header %d"):format(i, #r, ncol)
    end
    for j = 1, ncol do
      local v = r[j]
      if v ~= nil and v ~= "" then data[columns[j]][i] = v end
    end
  end
  local keep = {}
  if type(opts.strings) == "table" then
    for _, name in ipairs(opts.strings) do keep[name] = true end
  end
  if opts.strings ~= true then
    for _, name in ipairs(columns) do
      if not keep[name] then
        local col, all = data[name], true
        for i = 1, nrow do
          local v = col[i]
          if v and not numeric_text(v) then all = false; break end
        end
        if all then
          for i = 1, nrow do
            if col[i] then col[i] = tonumber(col[i]) end
          end
        end
      end
    end
  end
  return make(columns, data, nrow)
end

-- frame.from_csv(path, opts) -> frame | nil, msg
function _M.from_csv(path, opts)
  if type(path) ~= "string" then error("frame.from_csv: a path expected", 2) end
  local fh, err = io.open(path, "rb")
  if not fh then return nil, "frame.from_csv: " .. tostring(err) end
  local text = fh:read("*a")
  fh:close()
  return _M.parse_csv(text, opts)
end

---------------------------------------------------------------------------
-- Results of the API

local function is_array(v)
  if type(v) ~= "table" then return false end
  local mt = getmetatable(v)
  if mt ~= nil and mt == cjson.array_mt then return true end
  if next(v) == nil then return true end
  if v[1] == nil then return false end
  for k in pairs(v) do
    if type(k) ~= "number" then return false end
  end
  return true
end

-- get_recommendations / get_personalized_ranking: itemId, score, then
-- promotionName and reason (when any item has them), then the metadata
-- fields, flattened.
local function from_items(items)
  local columns = { "itemId", "score" }
  local has_promotion, has_reason, meta_seen, meta = false, false, {}, {}
  for _, it in ipairs(items) do
    if it.promotionName ~= nil then has_promotion = true end
    if it.reason ~= nil then has_reason = true end
    if type(it.metadata) == "table" then
      for _, k in ipairs(sorted_keys(it.metadata)) do
        if not meta_seen[k] then meta_seen[k] = true; meta[#meta + 1] = k end
      end
    end
  end
  if has_promotion then columns[#columns + 1] = "promotionName" end
  if has_reason then columns[#columns + 1] = "reason" end
  local data = {}
  for _, c in ipairs(columns) do data[c] = {} end
  local meta_names = {}
  for _, k in ipairs(meta) do
    local name = k
    while data[name] do name = "metadata." .. name end
    meta_names[k] = name
    columns[#columns + 1] = name
    data[name] = {}
  end
  for i, it in ipairs(items) do
    data.itemId[i], data.score[i] = it.itemId, it.score
    if has_promotion then data.promotionName[i] = it.promotionName end
    if has_reason then
      local r = it.reason
      data.reason[i] = type(r) == "table" and concat(r, ", ") or r
    end
    if type(it.metadata) == "table" then
      for k, v in pairs(it.metadata) do data[meta_names[k]][i] = v end
    end
  end
  return make(columns, data, #items)
end

-- frame.from_result(result) -> frame | nil, msg
-- The items of get_recommendations (itemList) and get_personalized_ranking
-- (personalizedRanking), the actions of get_action_recommendations
-- (actionId, score), or the one list of any other result (list_* calls:
-- { schemas = {...}, nextToken = ... }), one row per element.
function _M.from_result(result)
  if type(result) ~= "table" then
    return nil, "frame.from_result: a result table expected, got " .. type(result)
  end
  if is_array(result) then return _M.new(result) end
  local items = result.itemList or result.personalizedRanking
  if type(items) == "table" then return from_items(items) end
  if type(result.actionList) == "table" then
    return _M.new(result.actionList, { columns = { "actionId", "score" } })
  end
  local found, names = {}, {}
  for _, k in ipairs(sorted_keys(result)) do
    names[#names + 1] = tostring(k)
    if k ~= "ResponseMetadata" and is_array(result[k]) then found[#found + 1] = k end
  end
  if #found ~= 1 then
    return nil, ("frame.from_result: %s (fields: %s)"):format(
      #found == 0 and "no list in the result" or "more than one list in the result: " .. concat(found, ", "),
      concat(names, ", "))
  end
  local list = result[found[1]]
  if list[1] ~= nil and type(list[1]) ~= "table" then
    return make({ found[1] }, { [found[1]] = copy_array(list, #list) }, #list)
  end
  return _M.new(list)
end

return setmetatable(_M, {
  __call = function(_, t, opts)
    opts = opts or {}
    local f = new(t, opts)
    if opts.max_rows or opts.max_colwidth then f = f:set_options(opts) end
    return f
  end,
})
