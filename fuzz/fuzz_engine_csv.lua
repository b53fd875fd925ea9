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
--   * it answers the same twice (no state between calls).
local import = require "personalize.engine.import"
local schema = require "personalize.schema"

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
  local again, reason2 = import.parse(text, fields, { file = FILE })
  assert(same(data, again) and reason == reason2, "a second parse answered differently")
end
