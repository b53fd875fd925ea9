-- The harness of fuzz_engine_csv: personalize-local's CSV reader for
-- dataset imports, through its public import.parse.
--
-- Input: byte 1 chooses the schema (even: Interactions with a nullable
-- EVENT_VALUE; odd: Items with a categorical GENRES and a nullable
-- CREATION_TIMESTAMP), the rest is the file.
-- Invariants:
--   * parse never raises on any bytes;
--   * it answers the data (n rows; one column table per schema field,
--     values only at rows 1..n, a value at every row for the fields that
--     are not nullable and that the header has) or a failure reason that
--     starts with the file's name;
--   * it answers the same twice (no state between calls);
--   * the C reader of bulk imports (personalize.engine.core's csv_import,
--     then columns_read of the column files it wrote) agrees with it: the
--     same failure reason, or the same rows (values and number types),
--     the same count of rows left out and the same first messages.
local import = require "personalize.engine.import"
local schema = require "personalize.schema"
local ecore = require "personalize.engine.core"

local INTERACTIONS = [[{"type":"record","name":"Interactions","namespace":"com.amazonaws.personalize.schema",
"fields":[{"name":"USER_ID","type":"string"},{"name":"ITEM_ID","type":"string"},
{"name":"TIMESTAMP","type":"long"},{"name":"EVENT_TYPE","type":"string"},
{"name":"EVENT_VALUE","type":["null","float"]}],"version":"1.0"}]]
local ITEMS = [[{"type":"record","name":"Items","namespace":"com.amazonaws.personalize.schema",
"fields":[{"name":"ITEM_ID","type":"string"},{"name":"GENRES","type":"string","categorical":true},
{"name":"CREATION_TIMESTAMP","type":["null","long"]}],"version":"1.0"}]]

local SCHEMAS = {
  assert(schema.check(INTERACTIONS, "Interactions")),
  assert(schema.check(ITEMS, "Items")),
}
local FILE = "s3://fuzz-bucket/input.csv"

-- A directory of this run for the C reader's input and column files.
local WORK = os.tmpname()
os.remove(WORK)
assert(os.execute("mkdir -p '" .. WORK .. "/1' '" .. WORK .. "/2'"), "cannot create " .. WORK)
local INPUT = WORK .. "/input.csv"
local mtype = math.type

local function same(a, b)
  if type(a) ~= type(b) then return false end
  if type(a) ~= "table" then return a == b or (a ~= a and b ~= b) end
  for k, v in pairs(a) do if not same(v, b[k]) then return false end end
  for k in pairs(b) do if a[k] == nil then return false end end
  return true
end

return function(input)
  local fields = SCHEMAS[(input:byte(1) or 0) % 2 + 1]
  local text = input:sub(2)
  local data, reason = import.parse(text, fields, { file = FILE })
  if data then
    assert(type(data) == "table" and type(data.n) == "number", "data without n")
    local n = data.n
    assert(n >= 0 and n % 1 == 0, "n is not a count: " .. tostring(n))
    for _, f in ipairs(fields) do
      local col = data[f.name]
      assert(type(col) == "table", "no column for " .. f.name)
      local filled = 0
      for k, v in pairs(col) do
        assert(type(k) == "number" and k >= 1 and k <= n and k % 1 == 0, f.name .. " has a value at row " .. tostring(k))
        assert(type(v) == "string" or type(v) == "number" or type(v) == "boolean",
          f.name .. " holds a " .. type(v))
        filled = filled + 1
      end
      assert(f.nullable or filled == 0 or filled == n, ("non-nullable %s has %d values in %d rows"):format(f.name, filled, n))
    end
  else
    assert(type(reason) == "string" and reason:sub(1, #FILE) == FILE, "a failure without the file's name: "
      .. tostring(reason))
  end
  local skipped = {}
  local again, reason2 = import.parse(text, fields, { file = FILE, skipped = skipped })
  assert(same(data, again) and reason == reason2, "a second parse answered differently")

  local f = assert(io.open(INPUT, "wb"))
  f:write(text)
  f:close()
  local out = WORK .. "/" .. ((input:byte(1) or 0) % 2 + 1)
  local n, nskipped, shown = ecore.csv_import(INPUT, fields, { file = FILE, out = out })
  if not data then
    assert(n == nil and nskipped == reason, ("C: %s, Lua: %s"):format(tostring(n and n .. " rows" or nskipped), reason))
    return
  end
  assert(n == data.n, ("C: %s, Lua: %d rows"):format(tostring(n or nskipped), data.n))
  assert(nskipped == skipped.n, ("C left out %d rows, Lua %d"):format(nskipped, skipped.n))
  for i = 1, 10 do assert(shown[i] == skipped[i], "left out #" .. i .. " differs") end
  local got = assert(ecore.columns_read({ out }))
  assert(got.n == n, "columns_read counts " .. got.n)
  for _, fd in ipairs(fields) do
    local a, b = data[fd.name], got[fd.name]
    for i = 1, n do
      assert(a[i] == b[i] and mtype(a[i]) == mtype(b[i]),
        ("%s[%d]: C %s, Lua %s"):format(fd.name, i, tostring(b[i]), tostring(a[i])))
    end
  end
end
