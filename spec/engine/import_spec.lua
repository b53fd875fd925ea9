-- personalize-local's CSV import parser and record checks: quoting, BOM,
-- CRLF, typed values, every failure with its line, append, record().
local import = require "personalize.engine.import"
local schema = require "personalize.schema"
local shared = require "support.shared"
local cjson = require "cjson"

local function field(name, ty, attrs)
  local f = { name = name, type = ty, nullable = false, categorical = false, textual = false }
  for k, v in pairs(attrs or {}) do f[k] = v end
  return f
end

local INTERACTIONS = assert(schema.check(schema.interactions{
  { "USER_ID", "string" }, { "ITEM_ID", "string" }, { "TIMESTAMP", "long" },
  { "EVENT_TYPE", "string" }, { "EVENT_VALUE", "float", nullable = true },
}, "Interactions"))

local function fails(expected, text, fields, opts)
  local data, reason = import.parse(text, fields or INTERACTIONS, opts)
  assert.is_nil(data)
  assert.equal(expected, reason)
end

-- Parses `text`, which must import; returns the data and the problems of
-- the rows left out.
local function skips(text, fields, opts)
  opts = opts or {}
  opts.skipped = {}
  local data, reason = import.parse(text, fields or INTERACTIONS, opts)
  assert(data, reason)
  return data, opts.skipped
end

describe("personalize.engine.import", function()
  describe("parse", function()
    it("reads typed columns", function()
      local data = assert(import.parse(
        "USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE,EVENT_VALUE\n"
        .. "u1,i1,1596238243,click,0.5\n"
        .. "u2,i2,1596238244,watch,\n", INTERACTIONS))
      assert.equal(2, data.n)
      assert.same({ "u1", "u2" }, data.USER_ID)
      assert.same({ "i1", "i2" }, data.ITEM_ID)
      assert.same({ 1596238243, 1596238244 }, data.TIMESTAMP)
      assert.same({ "click", "watch" }, data.EVENT_TYPE)
      assert.equal(0.5, data.EVENT_VALUE[1])
      assert.is_nil(data.EVENT_VALUE[2])
      if math.type then
        assert.equal("integer", math.type(data.TIMESTAMP[1]))
        assert.equal("float", math.type(data.EVENT_VALUE[1]))
      end
    end)

    it("maps columns by name in any order and case", function()
      local data = assert(import.parse(
        "timestamp,Event_Type,item_id,USER_ID\n1,click,i1,u1\n", INTERACTIONS))
      assert.same({ "u1" }, data.USER_ID)
      assert.same({ 1 }, data.TIMESTAMP)
      assert.same({}, data.EVENT_VALUE)
      assert.equal(1, data.n)
    end)

    it("accepts a header only (no rows)", function()
      local data = assert(import.parse("USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE\n", INTERACTIONS))
      assert.equal(0, data.n)
    end)

    describe("CSV syntax", function()
      local FIELDS = { field("ITEM_ID", "string"), field("TITLE", "string", { nullable = true }),
                       field("N", "int", { nullable = true }) }

      it("unquotes values with commas and doubled quotes", function()
        local data = assert(import.parse(
          'ITEM_ID,TITLE,N\n'
          .. '1,"Heat, the movie",1\n'
          .. '2,"She said ""hi""",2\n'
          .. '"4","",4\n'
          .. '5,"""",5\n', FIELDS))
        assert.equal(4, data.n)
        assert.same({ "1", "2", "4", "5" }, data.ITEM_ID)
        assert.equal("Heat, the movie", data.TITLE[1])
        assert.equal('She said "hi"', data.TITLE[2])
        assert.is_nil(data.TITLE[3])
        assert.equal('"', data.TITLE[4])
        assert.same({ 1, 2, 4, 5 }, data.N)
      end)

      it("reads CRLF, a BOM, no final newline, and skips empty lines", function()
        local data = assert(import.parse(
          '\239\187\191ITEM_ID,TITLE,N\r\n1,a,1\r\n\r\n2,"b, c",2\r\n3,,3', FIELDS))
        assert.equal(3, data.n)
        assert.same({ "1", "2", "3" }, data.ITEM_ID)
        assert.equal("a", data.TITLE[1])
        assert.equal("b, c", data.TITLE[2])
        assert.is_nil(data.TITLE[3])
        assert.same({ 1, 2, 3 }, data.N)
      end)

      it("reads a quoted last value at the end of the file", function()
        local data = assert(import.parse('ITEM_ID,TITLE\n1,"x"', FIELDS))
        assert.same({ "1" }, data.ITEM_ID)
        assert.same({ "x" }, data.TITLE)
      end)

      -- The developer guide's "Data format guidelines" for bulk CSV files:
      -- don't enclose headers in quotation marks, each record on one line,
      -- UTF-8 text. Such files fail with the line and the rule.
      it("refuses a record spread over several lines, with its line", function()
        fails("line 3: the quoted value of column 2 holds a line break; each record must be on one line",
          'ITEM_ID,TITLE,N\n1,"a",1\n2,"b\nc",3\n', FIELDS)
        fails("line 2: the quoted value of column 2 holds a line break; each record must be on one line",
          'ITEM_ID,TITLE,N\r\n1,"b\r\nc",2\r\n', FIELDS)
      end)

      it("refuses header names in quotation marks", function()
        fails("header: column names must not be enclosed in quotation marks", '"ITEM_ID","TITLE"\n1,"x"', FIELDS)
        fails("header: column names must not be enclosed in quotation marks", 'ITEM_ID,"TITLE"\n1,x', FIELDS)
      end)

      it("refuses bytes that are not UTF-8 (Latin-1), with their line", function()
        fails("line 3: byte 0xE9 is not UTF-8; Personalize reads CSV files as UTF-8 "
          .. "(save the file as UTF-8, not Latin-1 or another encoding)",
          "ITEM_ID,TITLE,N\n1,ok,1\n2,caf\233,2\n", FIELDS)
        fails("line 1: byte 0xC9 is not UTF-8; Personalize reads CSV files as UTF-8 "
          .. "(save the file as UTF-8, not Latin-1 or another encoding)", "\201TEM_ID,TITLE\n1,x\n", FIELDS)
      end)

      it("accepts UTF-8 text of every length, a BOM included", function()
        local data = assert(import.parse("\239\187\191ITEM_ID,TITLE\n1,caf\195\169 \226\130\172 \240\159\142\172\n", FIELDS))
        assert.equal("caf\195\169 \226\130\172 \240\159\142\172", data.TITLE[1])
        for _, bad in ipairs { "\192\175", "\237\160\128", "\244\144\128\128", "\226\130", "\128" } do
          local _, reason = import.parse("ITEM_ID,TITLE\n1," .. bad .. "\n", FIELDS)
          assert.matches("^line 2: byte 0x%x%x is not UTF%-8", reason)
        end
      end)

      it("counts lines of the rows it leaves out", function()
        local data, skipped = skips('ITEM_ID,TITLE,N\n1,"a",1\n\n2,b,x\n3,c,3\n', FIELDS)
        assert.same({ "1", "3" }, data.ITEM_ID)
        assert.same({ n = 1, 'line 4: N "x" is not an int' }, skipped)
      end)

      it("rejects broken quoting with the line", function()
        fails("line 3: the quoted value of column 2 is never closed", 'ITEM_ID,TITLE,N\n1,a,1\n2,"b,2\n3,c,3\n', FIELDS)
        fails('line 2: unexpected "x" after the closing quote of column 2', 'ITEM_ID,TITLE,N\n1,"a"x,1\n', FIELDS)
        fails("line 2: stray quote in column 2; quote the whole value and double the quotes inside",
          'ITEM_ID,TITLE,N\n1,a"b,1\n', FIELDS)
      end)

      it("leaves out rows with the wrong number of values", function()
        local data, skipped = skips("ITEM_ID,TITLE,N\n1,a,1\n2,b\n", FIELDS)
        assert.same({ "1" }, data.ITEM_ID)
        assert.same({ n = 1, "line 3: 2 values but the header has 3 columns" }, skipped)
        fails("line 2: 4 values but the header has 3 columns", 'ITEM_ID,TITLE,N\n1,"a,b",1,\n', FIELDS)
        fails("line 2: 1 value but the header has 3 columns", "ITEM_ID,TITLE,N\nx\n", FIELDS)
      end)
    end)

    describe("header", function()
      it("must exist", function()
        fails("header: the file is empty; the first line must name the columns", "", INTERACTIONS)
        fails("header: the file is empty; the first line must name the columns", "\r\n\n", INTERACTIONS)
      end)

      -- AWS's recorded runs import pandas files with columns outside the
      -- schema: the unnamed index column of DataFrame.to_csv(), and extra
      -- columns such as PROMOTED (amazon-personalize-samples,
      -- next_steps/core_use_cases/updating_datasets/update-item-dataset-schema-example.ipynb
      -- imports items.csv with PROMOTED, GENDER, ... into a schema without them).
      it("ignores columns outside the schema and columns with no name", function()
        local data, skipped = skips(",USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE,SCORE\n"
          .. "0,u1,i1,5,click,0.5\n1,u2,i2,6,click,zzz\n", INTERACTIONS)
        assert.equal(2, data.n)
        assert.same({ "u1", "u2" }, data.USER_ID)
        assert.same({ 5, 6 }, data.TIMESTAMP)
        assert.is_nil(data.SCORE)
        assert.is_nil(data[""])
        assert.same({ n = 0 }, skipped)
      end)

      it("names each field once", function()
        fails("header: column USER_ID appears twice (columns 1 and 3)", "USER_ID,ITEM_ID,user_id\n", INTERACTIONS)
      end)

      it("has every non-nullable field", function()
        fails("header: required field ITEM_ID is missing", "USER_ID,TIMESTAMP,EVENT_TYPE\n", INTERACTIONS)
      end)
    end)

    describe("values", function()
      local ALL = {
        field("USER_ID", "string"), field("TIMESTAMP", "long"), field("I", "int", { nullable = true }),
        field("L", "long", { nullable = true }), field("F", "float", { nullable = true }),
        field("D", "double", { nullable = true }), field("B", "boolean", { nullable = true }),
        field("C", "string", { nullable = true, categorical = true }),
        field("T", "string", { nullable = true, textual = true }),
        field("S", "string", { nullable = true }),
      }
      local HEAD = "USER_ID,TIMESTAMP,I,L,F,D,B,C,T,S\n"

      local function one(cells)
        local row = { "u", "1", "", "", "", "", "", "", "", "" }
        local names = { USER_ID = 1, TIMESTAMP = 2, I = 3, L = 4, F = 5, D = 6, B = 7, C = 8, T = 9, S = 10 }
        for k, v in pairs(cells) do row[names[k]] = v end
        return HEAD .. table.concat(row, ",") .. "\n"
      end

      -- The POC workshop of amazon-personalize-samples
      -- (next_steps/workshops/POC_in_a_box/completed/02_Validating_and_Importing_Item_Metadata.ipynb)
      -- takes YEAR, an int, from MovieLens titles with the pattern
      -- .*\((.*)\).*, so some rows have a range or no year; its recorded
      -- import job ends ACTIVE. Rows that do not fit are left out.
      it("leaves out the rows whose values do not fit, imports the rest", function()
        local fields = { field("ITEM_ID", "string"), field("GENRE", "string", { categorical = true }),
                         field("YEAR", "int") }
        local data, skipped = skips("ITEM_ID,GENRE,YEAR\n1,Comedy,1995\n2,Drama,1975-1979\n3,Drama,\n4,Horror,2001\n",
          fields)
        assert.same({ "1", "4" }, data.ITEM_ID)
        assert.same({ 1995, 2001 }, data.YEAR)
        assert.same({ "Comedy", "Horror" }, data.GENRE)
        assert.same({ n = 2, 'line 3: YEAR "1975-1979" is not an int', "line 4: YEAR is empty but the field is not nullable" },
          skipped)
      end)

      it("shows the first 10 problems and counts them all", function()
        local lines = { "USER_ID,TIMESTAMP,I,L,F,D,B,C,T,S" }
        for i = 1, 15 do lines[#lines + 1] = "u," .. i .. ",x,,,,,,," end
        lines[#lines + 1] = "u,99,7,,,,,,,"
        local data, skipped = skips(table.concat(lines, "\n") .. "\n", ALL)
        assert.same({ 99 }, data.TIMESTAMP)
        assert.same({ 7 }, data.I)
        assert.equal(15, skipped.n)
        assert.equal(10, #skipped)
        assert.equal('line 11: I "x" is not an int', skipped[10])
      end)

      it("converts each type", function()
        local data = assert(import.parse(one{ I = "-2147483648", L = "9007199254740993", F = "1.5e3", D = "-0.25",
          B = "TRUE", C = "a|b", T = "long text", S = "plain" }, ALL))
        assert.equal(-2147483648, data.I[1])
        assert.equal(1500, data.F[1])
        assert.equal(-0.25, data.D[1])
        assert.is_true(data.B[1])
        assert.equal("a|b", data.C[1])
        assert.equal("long text", data.T[1])
        assert.equal("plain", data.S[1])
        if math.type then assert.equal(9007199254740993, data.L[1]) end
        assert.is_false(assert(import.parse(one{ B = "false" }, ALL)).B[1])
      end)

      it("rejects integers that are not plain decimal integers", function()
        fails('line 2: L "1.0" is not a long', one{ L = "1.0" }, ALL)
        fails('line 2: L "1e3" is not a long', one{ L = "1e3" }, ALL)
        fails('line 2: L " 7" is not a long', one{ L = " 7" }, ALL)
        fails('line 2: I "0x10" is not an int', one{ I = "0x10" }, ALL)
        fails('line 2: TIMESTAMP "abc" is not a long', one{ TIMESTAMP = "abc" }, ALL)
      end)

      it("rejects integers out of range", function()
        fails("line 2: I 2147483648 is out of range for an int", one{ I = "2147483648" }, ALL)
        fails("line 2: L 9223372036854775808 is out of range for a long", one{ L = "9223372036854775808" }, ALL)
      end)

      it("wants TIMESTAMP in epoch seconds", function()
        fails("line 2: TIMESTAMP 1596238243000 looks like milliseconds; use Unix epoch seconds",
          one{ TIMESTAMP = "1596238243000" }, ALL)
        fails("line 2: TIMESTAMP -5 is negative; use Unix epoch seconds", one{ TIMESTAMP = "-5" }, ALL)
        assert.is_table(import.parse(one{ TIMESTAMP = "99999999999" }, ALL))
        assert.is_table(import.parse(one{ TIMESTAMP = "0" }, ALL))
      end)

      it("rejects floats that are not decimal numbers", function()
        for _, bad in ipairs{ "abc", "nan", "inf", "1e999", "0x1p4", " 1" } do
          fails(('line 2: F "%s" is not a float'):format(bad), one{ F = bad }, ALL)
        end
        fails('line 2: D "1,5" is not a double', HEAD .. 'u,1,,,,"1,5",,,,\n', ALL)
      end)

      it("rejects booleans other than true and false", function()
        fails('line 2: B "yes" is not a boolean (true or false)', one{ B = "yes" }, ALL)
        fails('line 2: B "1" is not a boolean (true or false)', one{ B = "1" }, ALL)
      end)

      it("allows empty values only in nullable fields", function()
        fails("line 2: USER_ID is empty; IDs need 1 to 256 characters", one{ USER_ID = "" }, ALL)
        fails("line 2: USER_ID is empty; IDs need 1 to 256 characters", one{ USER_ID = '""' }, ALL)
        fails("line 2: TIMESTAMP is empty but the field is not nullable", one{ TIMESTAMP = "" }, ALL)
        local data = assert(import.parse(one{}, ALL))
        for _, name in ipairs{ "I", "L", "F", "D", "B", "C", "T", "S" } do assert.is_nil(data[name][1]) end
      end)

      it("limits IDs to 256 characters, strings to 1,000, textual to 20,000", function()
        assert.is_table(import.parse(one{ USER_ID = ("u"):rep(256) }, ALL))
        fails("line 2: USER_ID is 257 characters; the limit for values is 256", one{ USER_ID = ("u"):rep(257) }, ALL)
        assert.is_table(import.parse(one{ C = ("c"):rep(1000), S = ("s"):rep(1000), T = ("t"):rep(20000) }, ALL))
        fails("line 2: C is 1001 characters; the limit for categorical values is 1000", one{ C = ("c"):rep(1001) }, ALL)
        fails("line 2: S is 1001 characters; the limit for values is 1000", one{ S = ("s"):rep(1001) }, ALL)
        fails("line 2: T is 20001 characters; the limit for textual values is 20000", one{ T = ("t"):rep(20001) }, ALL)
      end)

      it("counts characters, not bytes", function()
        local data = assert(import.parse(one{ USER_ID = ("\195\169"):rep(256) }, ALL))
        assert.equal(512, #data.USER_ID[1])
        fails("line 2: USER_ID is 257 characters; the limit for values is 256",
          one{ USER_ID = ("\195\169"):rep(257) }, ALL)
      end)
    end)

    it("names the file in every failure", function()
      fails("s3://b/p/part2.csv line 2: TIMESTAMP \"soon\" is not a long",
        "USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE\nu,i,soon,click\n", INTERACTIONS,
        { file = "s3://b/p/part2.csv" })
      local _, skipped = skips("USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE\nu,i,1,click\nu,i,soon,click\n", INTERACTIONS,
        { file = "s3://b/p/part2.csv" })
      assert.same({ n = 1, 's3://b/p/part2.csv line 3: TIMESTAMP "soon" is not a long' }, skipped)
      fails("s3://b/p/part2.csv header: required field TIMESTAMP is missing",
        "USER_ID,ITEM_ID,EVENT_TYPE\n", INTERACTIONS, { file = "s3://b/p/part2.csv" })
    end)

    it("shows odd values escaped and cut", function()
      fails('line 2: TIMESTAMP "a\\tb" is not a long', "USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE\nu,i,a\tb,c\n")
      fails('line 2: TIMESTAMP "' .. ("x"):rep(40) .. '..." is not a long',
        "USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE\nu,i," .. ("x"):rep(50) .. ",c\n")
    end)

    it("raises on misuse", function()
      assert.has_error(function() import.parse(nil, INTERACTIONS) end, "import.parse: text must be a string")
      assert.has_error(function() import.parse("A\n", nil) end, "import.parse: fields must be a list from schema.check")
    end)

    it("parses MovieLens ratings (timing printed)", function()
      local dir = shared.dir("datasets/movielens-small")
      if not dir then return end
      local text = assert(shared.read(dir .. "/ratings.csv"))
      local fields = { field("USER_ID", "string"), field("ITEM_ID", "string"), field("RATING", "float"),
                       field("TIMESTAMP", "long") }
      local t0 = os.clock()
      local data = assert(import.parse(text, fields, { file = "ratings.csv" }))
      local dt = os.clock() - t0
      io.stdout:write(("\n[import] %d rows x 4 columns in %.3f s (%s)\n"):format(data.n,
        dt, jit and jit.version or _VERSION))
      assert.equal(100004, data.n)
      assert.equal("1", data.USER_ID[1])
      assert.equal("31", data.ITEM_ID[1])
      assert.equal(2.5, data.RATING[1])
      assert.equal(1260759144, data.TIMESTAMP[1])
      assert.equal("671", data.USER_ID[100004])
    end)
  end)

  describe("append", function()
    it("concatenates columns, nil where a side lacks a column", function()
      local a = { n = 2, USER_ID = { "u1", "u2" }, EVENT_VALUE = { 1.5 } }
      local b = { n = 3, USER_ID = { "u3", "u4", "u5" }, EVENT_TYPE = { "x", nil, "z" } }
      local out = import.append(a, b)
      assert.equal(a, out)
      assert.equal(5, out.n)
      assert.same({ "u1", "u2", "u3", "u4", "u5" }, out.USER_ID)
      assert.same({ 1.5 }, out.EVENT_VALUE)
      assert.same({ [3] = "x", [5] = "z" }, out.EVENT_TYPE)
    end)

    it("joins two parsed files", function()
      local head = "USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE,EVENT_VALUE\n"
      local a = assert(import.parse(head .. "u1,i1,1,click,\n", INTERACTIONS))
      local b = assert(import.parse(head .. "u2,i2,2,buy,3.5\n", INTERACTIONS))
      local out = import.append(a, b)
      assert.equal(2, out.n)
      assert.same({ 1, 2 }, out.TIMESTAMP)
      assert.same({ [2] = 3.5 }, out.EVENT_VALUE)
      assert.same(out, import.append(out, { n = 0 }))
    end)
  end)

  describe("record", function()
    local ITEMS = assert(schema.check(schema.items{
      { "ITEM_ID", "string" }, { "GENRES", "string", categorical = true, nullable = true },
      { "CREATION_TIMESTAMP", "long", nullable = true }, { "PRICE", "float", nullable = true },
      { "IN_STOCK", "boolean", nullable = true },
    }, "Items"))

    it("types raw strings, numbers and booleans by the schema", function()
      local row = assert(import.record({ ITEM_ID = "i1", GENRES = "a|b", CREATION_TIMESTAMP = "1596238243",
        PRICE = 3, IN_STOCK = "True" }, ITEMS, "items[1]"))
      assert.same({ ITEM_ID = "i1", GENRES = "a|b", CREATION_TIMESTAMP = 1596238243, PRICE = 3, IN_STOCK = true }, row)
      if math.type then assert.equal("float", math.type(row.PRICE)) end
      row = assert(import.record({ ITEM_ID = 42, CREATION_TIMESTAMP = 1596238243, PRICE = "2.5", IN_STOCK = false },
        ITEMS))
      assert.same({ ITEM_ID = "42", CREATION_TIMESTAMP = 1596238243, PRICE = 2.5, IN_STOCK = false }, row)
    end)

    it("matches camelCase property names", function()
      local row = assert(import.record({ itemId = "i1", creationTimestamp = 5, inStock = true }, ITEMS))
      assert.same({ ITEM_ID = "i1", CREATION_TIMESTAMP = 5, IN_STOCK = true }, row)
    end)

    it("treats empty strings and JSON null as no value", function()
      local row = assert(import.record({ ITEM_ID = "i1", GENRES = "", PRICE = cjson.null }, ITEMS))
      assert.same({ ITEM_ID = "i1" }, row)
    end)

    it("reports each problem after `where`", function()
      local cases = {
        { { ITEM_ID = "i1", SCORE = 1 },
          "items[2]: SCORE is not in the schema; schema fields: ITEM_ID, GENRES, CREATION_TIMESTAMP, PRICE, IN_STOCK" },
        { { GENRES = "a" }, "items[2]: required field ITEM_ID is missing" },
        { { ITEM_ID = "" }, "items[2]: ITEM_ID is empty; IDs need 1 to 256 characters" },
        { { ITEM_ID = cjson.null }, "items[2]: ITEM_ID is empty; IDs need 1 to 256 characters" },
        { { ITEM_ID = "i", CREATION_TIMESTAMP = "soon" }, 'items[2]: CREATION_TIMESTAMP "soon" is not a long' },
        { { ITEM_ID = "i", CREATION_TIMESTAMP = 1.5 }, "items[2]: CREATION_TIMESTAMP 1.5 is not a long" },
        { { ITEM_ID = "i", CREATION_TIMESTAMP = 1596238243000 },
          "items[2]: CREATION_TIMESTAMP 1596238243000 looks like milliseconds; use Unix epoch seconds" },
        { { ITEM_ID = "i", CREATION_TIMESTAMP = true }, "items[2]: CREATION_TIMESTAMP true is not a long" },
        { { ITEM_ID = "i", PRICE = 0 / 0 }, "is not a finite number" },
        { { ITEM_ID = "i", IN_STOCK = 1 }, "items[2]: IN_STOCK 1 is not a boolean" },
        { { ITEM_ID = "i", GENRES = ("g"):rep(1001) },
          "items[2]: GENRES is 1001 characters; the limit for categorical values is 1000" },
        { { ITEM_ID = "i", GENRES = { "a" } }, "items[2]: GENRES is a table, not a value" },
        { { [1] = "i" }, "items[2]: keys must be field names, not 1" },
      }
      for _, c in ipairs(cases) do
        local row, err = import.record(c[1], ITEMS, "items[2]")
        assert.is_nil(row)
        assert.is_truthy(err:find(c[2], 1, true), err)
      end
    end)

    it("needs no `where`", function()
      local _, err = import.record({}, ITEMS)
      assert.equal("required field ITEM_ID is missing", err)
    end)
  end)
end)
