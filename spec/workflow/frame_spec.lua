-- personalize.frame: construction, every method, byte-exact rendering,
-- CSV round trips and frames of API results.
local frame = require "personalize.frame"
local cjson = require "cjson"
local files = require "support.files"

local tmpdir = files.tmpdir

local function sample()
  return frame({
    { itemId = "1", score = 0.5, title = "Toy Story (1995)" },
    { itemId = "22", score = 0.125, title = "Heat (1995)" },
    { itemId = "3", score = 0.25, title = "Jumanji (1995)" },
  }, { columns = { "itemId", "score", "title" } })
end

describe("personalize.frame", function()
  describe("construction", function()
    it("takes records, columns in order of first appearance", function()
      local f = frame{ { b = 1, a = 2 }, { c = 3, a = 4 } }
      assert.same({ "a", "b", "c" }, f.columns)
      assert.equal(2, f.nrow)
      assert.equal(3, f.ncol)
      assert.same({ 2, 4 }, f:column("a"))
      assert.same({ a = 4, c = 3 }, f:row(2))
    end)

    it("takes records with opts.columns fixing order and set", function()
      local f = frame({ { x = 1, y = 2, z = 3 } }, { columns = { "z", "x" } })
      assert.same({ "z", "x" }, f.columns)
      assert.same({ z = 3, x = 1 }, f:row(1))
    end)

    it("takes columns, ordered by opts.columns or by name", function()
      local f = frame({ score = { 0.5, 0.25 }, itemId = { "a", "b" } }, { columns = { "score", "itemId" } })
      assert.same({ "score", "itemId" }, f.columns)
      assert.equal(2, f.nrow)
      local g = frame{ score = { 0.5, 0.25 }, itemId = { "a", "b" } }
      assert.same({ "itemId", "score" }, g.columns)
    end)

    it("keeps missing values as holes and counts the longest column", function()
      local f = frame({ a = { 1, nil, 3 }, b = { "x" } }, { columns = { "a", "b" } })
      assert.equal(3, f.nrow)
      assert.same({ a = 3 }, f:row(3))
    end)

    it("skips null records of decoded JSON", function()
      local f = frame(cjson.decode('[{"a":1},null,{"a":3}]'))
      assert.equal(3, f.nrow)
      assert.same({}, f:row(2))
    end)

    it("raises on misuse", function()
      assert.has_error(function() frame("x") end, "personalize.frame: records or columns (a table) expected, got string")
      assert.has_error(function() frame{ { a = 1 }, 2 } end, "personalize.frame: record 2 is a number, a table expected")
      assert.has_error(function() frame({ "a", "b" }, { columns = { "x", "y" } }) end,
        "personalize.frame: a list of strings makes one column, 2 names given")
      assert.has_error(function() frame{ "a", { "b" } } end,
        "personalize.frame: record 2 is a table in a list of strings")
    end)

    it("makes one column of a list of strings, as pd.DataFrame(list, columns=[...]) does", function()
      local titles = { "Heat (1995)", "Dumbo (1941)", "Casino (1995)" }
      local f = frame(titles, { columns = { "title" } })
      assert.same({ "title" }, f.columns)
      assert.same(titles, f:column("title"))
      assert.equal(3, f:nrows())
      assert.equal(3, f.nrow)
      assert.equal("   title\n0  Heat (1995)\n1  Dumbo (1941)\n2  Casino (1995)", tostring(f))
      -- without a name the column is "0", as pandas names it
      assert.same({ "0" }, frame{ 1, 2 }.columns)
      assert.same({ 1, 2 }, frame{ 1, 2 }:column("0"))
      -- # is the row count where tables honour __len (Lua 5.2+); LuaJIT's # ignores it
      if _VERSION ~= "Lua 5.1" then assert.equal(3, #f) end
      assert.equal(2, (select(1, f:shape())) - 1)
    end)

    it("fills named columns from rows given as arrays", function()
      local f = frame({ { "1", 0.5 }, { "2", 0.25 } }, { columns = { "itemId", "score" } })
      assert.same({ "1", "2" }, f:column("itemId"))
      assert.same({ 0.5, 0.25 }, f:column("score"))
      assert.same({ 2, 2 }, { f:shape() })
    end)

    it("is reachable as personalize.frame", function()
      local personalize = require "personalize"
      assert.equal(frame, personalize.frame)
      assert.equal(1, personalize.frame{ { a = 1 } }.nrow)
    end)
  end)

  describe("rendering", function()
    it("prints a short frame aligned, numbers right and text left", function()
      assert.equal(
        "   itemId  score  title\n" ..
        "0  1       0.500  Toy Story (1995)\n" ..
        "1  22      0.125  Heat (1995)\n" ..
        "2  3       0.250  Jumanji (1995)", tostring(sample()))
    end)

    it("prints integers as integers and missing values as NaN", function()
      local f = frame({ { n = 10, s = "a" }, { n = 200 }, { s = "ccc" }, { n = 0 / 0, s = cjson.null } },
        { columns = { "n", "s" } })
      assert.equal(
        "     n  s\n" ..
        "0   10  a\n" ..
        "1  200  NaN\n" ..
        "2  NaN  ccc\n" ..
        "3  NaN  NaN", tostring(f))
    end)

    it("prints a long frame as its first and last rows, a ... row and the shape", function()
      local rows = {}
      for i = 1, 12 do rows[i] = { id = "item" .. i, n = i * i } end
      local f = frame(rows, { columns = { "id", "n" } })
      assert.equal(
        "     id        n\n" ..
        "0    item1     1\n" ..
        "1    item2     4\n" ..
        "2    item3     9\n" ..
        "...  ...     ...\n" ..
        "10   item11  121\n" ..
        "11   item12  144\n" ..
        "\n" ..
        "[12 rows x 2 columns]", f:render{ max_rows = 5 })
      assert.equal(f:render{ max_rows = 5 }, tostring(frame(rows, { columns = { "id", "n" }, max_rows = 5 })))
      -- the default is 30 rows, like the notebook's pandas setting
      assert.is_nil(tostring(f):find("...", 1, true))
      for i = 13, 31 do rows[i] = { id = "item" .. i, n = i } end
      local long = frame(rows, { columns = { "id", "n" } })
      local text = tostring(long)
      local _, lines = text:gsub("\n", "")
      assert.equal(1 + 30 + 1 + 2, lines + 1)
      assert.truthy(text:find("\n14   item15   15\n...  ...     ...\n16   item17   17\n", 1, true))
      assert.equal("[31 rows x 2 columns]", text:match("[^\n]+$"))
    end)

    it("truncates long text to max_colwidth with ...", function()
      local long = string.rep("abcdefghij", 6)
      local f = frame{ { t = long } }
      assert.equal("   t\n0  " .. long:sub(1, 47) .. "...", tostring(f))
      assert.equal("   t\n0  abcdefg...", f:render{ max_colwidth = 10 })
      assert.equal("   t\n0  abcdefg...", tostring(f:set_options{ max_colwidth = 10 }))
      assert.equal("   t\n0  abcdefg...", tostring(frame({ { t = long } }, { max_colwidth = 10 })))
      assert.equal("   t\n0  abcdefg...", tostring(frame.new({ { t = long } }, { max_colwidth = 10 }):head(1)))
    end)

    it("counts UTF-8 characters, not bytes, when aligning and truncating", function()
      local f = frame({
        { title = "Amélie (2001)", n = 1 },
        { title = "Léon: The Professional (1994)", n = 2 },
        { title = "Heat (1995)", n = 3 },
        { title = "千と千尋の神隠し", n = 4 },
      }, { columns = { "title", "n" } })
      assert.equal(
        "   title                          n\n" ..
        "0  Amélie (2001)                  1\n" ..
        "1  Léon: The Professional (1994)  2\n" ..
        "2  Heat (1995)                    3\n" ..
        "3  千と千尋の神隠し                       4", tostring(f))
      assert.equal("   title\n0  千と千尋...", frame{ { title = "千と千尋の神隠し" } }:render{ max_colwidth = 7 })
      assert.equal(5, frame.utf8_len("héllo"))
      assert.equal(3, frame.utf8_len("千と千"))
    end)

    it("escapes line breaks and prints tables as JSON", function()
      local f = frame({ { t = "a\nb", l = { 1, 2 } } }, { columns = { "t", "l" } })
      assert.equal("   t     l\n0  a\\nb  [1,2]", tostring(f))
    end)

    it("prints an empty frame like pandas", function()
      assert.equal("Empty DataFrame\nColumns: [a, b]\nIndex: []", tostring(frame({}, { columns = { "a", "b" } })))
    end)

    it("formats a column of decimals to the same places", function()
      local f = frame{ x = { 1, 0.5, 2.75, 100 } }
      assert.equal("        x\n0    1.00\n1    0.50\n2    2.75\n3  100.00", tostring(f))
    end)
  end)

  describe("methods", function()
    it("head and tail", function()
      local f = sample()
      assert.same({ "1", "22" }, f:head(2):column("itemId"))
      assert.same({ "22", "3" }, f:tail(2):column("itemId"))
      assert.equal(3, f:head().nrow)
      assert.equal(3, f:head(10).nrow)
      assert.equal(0, f:tail(0).nrow)
    end)

    it("select by names or a list; an unknown column raises naming it and the columns", function()
      local f = sample()
      assert.same({ "title", "score" }, f:select("title", "score").columns)
      assert.same({ "title" }, f:select{ "title" }.columns)
      local ok, err = pcall(function() return f:select("title", "nope"):head(1) end)
      assert.is_false(ok)
      assert.matches('frame_spec.lua:%d+: frame:select: no column "nope" %(columns: itemId, score, title%)$', err)
      assert.has_error(function() f:column("nope") end,
        'frame:column: no column "nope" (columns: itemId, score, title)')
    end)

    it("where keeps the rows a predicate accepts", function()
      local g = sample():where(function(r) return r.score >= 0.25 end)
      assert.same({ "1", "3" }, g:column("itemId"))
      assert.has_error(function() sample():where(1) end, "frame:where: a function(row) expected")
    end)

    it("sort_by is stable, either direction, missing values last", function()
      local f = frame({
        { k = "a", v = 2 }, { k = "b", v = 1 }, { k = "c" }, { k = "d", v = 2 }, { k = "e", v = 1 },
      }, { columns = { "k", "v" } })
      assert.same({ "b", "e", "a", "d", "c" }, f:sort_by("v"):column("k"))
      assert.same({ "a", "d", "b", "e", "c" }, f:sort_by("v", true):column("k"))
      assert.same({ "e", "d", "c", "b", "a" }, f:sort_by("k", true):column("k"))
      assert.has_error(function() f:sort_by("x") end, 'frame:sort_by: no column "x" (columns: k, v)')
    end)

    it("join: a left hash join, string ids match numeric ids, clashes suffixed", function()
      local recs = frame({
        { itemId = "31", score = 0.9 }, { itemId = "1029", score = 0.5 }, { itemId = "7", score = 0.1 },
      }, { columns = { "itemId", "score" } })
      local items = assert(frame.parse_csv("ITEM_ID,TITLE,score\n31,Dangerous Minds,x\n1029,Dumbo,y\n"))
      local j = recs:join(items, "itemId", "ITEM_ID")
      assert.same({ "itemId", "score", "ITEM_ID", "TITLE", "score_right" }, j.columns)
      assert.same({ "Dangerous Minds", "Dumbo" }, j:column("TITLE"))
      assert.equal(3, j.nrow)
      assert.same({ itemId = "7", score = 0.1 }, j:row(3))
      local inner = recs:join(items, "itemId", "ITEM_ID", "inner")
      assert.equal(2, inner.nrow)
      local same = frame{ { id = 1, a = "x" } }:join(frame{ { id = 1, b = "y" }, { id = 1, b = "z" } }, "id")
      assert.same({ "a", "id", "b" }, same.columns)
      assert.same({ "y", "z" }, same:column("b"))
      assert.has_error(function() recs:join(items, "itemId", "NOPE") end,
        'frame:join (right): no column "NOPE" (columns: ITEM_ID, TITLE, score)')
      assert.has_error(function() recs:join(items, "itemId", "ITEM_ID", "outer") end,
        'frame:join: how must be "left" or "inner", got "outer"')
    end)

    it("with_column adds or replaces a column", function()
      local f = sample():with_column("rank", function(_, i) return i end)
      assert.same({ "itemId", "score", "title", "rank" }, f.columns)
      assert.same({ 1, 2, 3 }, f:column("rank"))
      local g = f:with_column("score", function(r) return r.score * 2 end)
      assert.same({ "itemId", "score", "title", "rank" }, g.columns)
      assert.same({ 1, 0.25, 0.5 }, g:column("score"))
      assert.same({ 0.5, 0.125, 0.25 }, f:column("score"))
    end)

    it("column, row and rows", function()
      local f = sample()
      assert.same({ 0.5, 0.125, 0.25 }, f:column("score"))
      local col = f:column("score")
      col[1] = 99
      assert.equal(0.5, f:column("score")[1])
      assert.has_error(function() f:column("x") end)
      assert.same({ itemId = "3", score = 0.25, title = "Jumanji (1995)" }, f:row(-1))
      assert.is_nil(f:row(4))
      assert.is_nil(f:row(0))
      local seen = {}
      for row, i in f:rows() do seen[#seen + 1] = i .. ":" .. row.itemId end
      assert.same({ "1:1", "2:22", "3:3" }, seen)
      assert.same({ "itemId", "score", "title" }, f.columns)
      assert.equal(3, #f:to_records())
    end)
  end)

  describe("CSV", function()
    local nasty = {
      { id = 1, text = 'say "hi", then go' },
      { id = 2, text = "two\nlines" },
      { id = 3, text = "crlf\r\ninside" },
      { id = 4, text = "" },
      { id = 5, text = " padded " },
      { id = 6, text = "Amélie, 千と千尋" },
    }

    it("quotes as RFC 4180 requires", function()
      local f = frame(nasty, { columns = { "id", "text" } })
      assert.equal('id,text\n1,"say ""hi"", then go"\n2,"two\nlines"\n3,"crlf\r\ninside"\n4,\n5," padded "\n' ..
        '6,"Amélie, 千と千尋"\n', f:to_csv())
    end)

    it("round-trips nasty fields through a file written atomically", function()
      local dir = tmpdir()
      local path = dir .. "/out.csv"
      local f = frame(nasty, { columns = { "id", "text" } })
      assert.is_true(f:to_csv(path))
      local g = assert(frame.from_csv(path))
      assert.same(f.columns, g.columns)
      assert.same({ 1, 2, 3, 4, 5, 6 }, g:column("id"))
      local texts = g:column("text")
      assert.equal(nasty[1].text, texts[1])
      assert.equal(nasty[2].text, texts[2])
      assert.equal(nasty[3].text, texts[3])
      assert.is_nil(texts[4])
      assert.equal(nasty[5].text, texts[5])
      assert.equal(nasty[6].text, texts[6])
      assert.same({ "out.csv" }, require("personalize.core").listdir(dir))
      require("personalize.core").remove_tree(dir)
    end)

    it("reads CRLF files, a BOM and blank lines; numbers unless asked for strings", function()
      local text = "\239\187\191ITEM_ID,SCORE,NAME\r\n007,1.5,a\r\n\r\n8,-2e3,\"b\r\nc\"\r\n"
      local f = assert(frame.parse_csv(text))
      assert.same({ "ITEM_ID", "SCORE", "NAME" }, f.columns)
      assert.same({ 7, 8 }, f:column("ITEM_ID"))
      assert.same({ 1.5, -2000 }, f:column("SCORE"))
      assert.same({ "a", "b\r\nc" }, f:column("NAME"))
      local s = assert(frame.parse_csv(text, { strings = true }))
      assert.same({ "007", "8" }, s:column("ITEM_ID"))
      local some = assert(frame.parse_csv(text, { strings = { "ITEM_ID" } }))
      assert.same({ "007", "8" }, some:column("ITEM_ID"))
      assert.same({ 1.5, -2000 }, some:column("SCORE"))
      assert.same({ "0x1F" }, assert(frame.parse_csv("a\n0x1F\n")):column("a"))
    end)

    it("reports malformed CSV and unreadable files", function()
      local f, err = frame.parse_csv('a,b\n1,"open\n')
      assert.is_nil(f)
      assert.equal("frame.from_csv: unterminated quoted field starting on line 2", err)
      f, err = frame.parse_csv('a\n"x"y\n')
      assert.is_nil(f)
      assert.equal('frame.from_csv: line 2: unexpected "y" after a quoted field', err)
      f, err = frame.parse_csv("a\n1,2\n")
      assert.is_nil(f)
      assert.equal("frame.from_csv: record 1 has 2 fields, the header 1", err)
      f, err = frame.from_csv("/nonexistent/x.csv")
      assert.is_nil(f)
      assert.matches("^frame.from_csv: /nonexistent/x.csv", err)
      f, err = sample():to_csv("/nonexistent/dir/x.csv")
      assert.is_nil(f)
      assert.matches("^frame:to_csv: ", err)
    end)

    it("reads the shared MovieLens items with quoted titles", function()
      local dir = require("support.shared").dir("datasets/movielens-small")
      if not dir then
        pending("no shared MovieLens copy")
        return
      end
      local f = assert(frame.from_csv(dir .. "/items.csv"))
      assert.equal(9066, f.nrow)
      assert.same({ "ITEM_ID", "TITLE", "YEAR", "GENRES" }, f.columns)
      local again = assert(frame.parse_csv(f:to_csv()))
      assert.same(f:column("TITLE"), again:column("TITLE"))
    end)
  end)

  describe("from_result", function()
    it("frames get_recommendations with metadata flattened", function()
      local f = assert(frame.from_result{
        itemList = {
          { itemId = "31", score = 0.75, metadata = { TITLE = "Dangerous Minds", GENRES = "Drama" } },
          { itemId = "1029", score = 0.0625, promotionName = "promo", metadata = { TITLE = "Dumbo" } },
        },
        recommendationId = "RID-1",
        ResponseMetadata = { RequestId = "x" },
      })
      assert.same({ "itemId", "score", "promotionName", "GENRES", "TITLE" }, f.columns)
      assert.equal(
        "   itemId   score  promotionName  GENRES  TITLE\n" ..
        "0  31      0.7500  NaN            Drama   Dangerous Minds\n" ..
        "1  1029    0.0625  promo          NaN     Dumbo", tostring(f))
    end)

    it("frames get_personalized_ranking and get_action_recommendations", function()
      local f = assert(frame.from_result{ personalizedRanking = { { itemId = "a", score = 0.5, reason = { "x", "y" } } } })
      assert.same({ "itemId", "score", "reason" }, f.columns)
      assert.equal("x, y", f:column("reason")[1])
      local a = assert(frame.from_result{ actionList = { { actionId = "act", score = 0.2 } }, recommendationId = "r" })
      assert.same({ "actionId", "score" }, a.columns)
      assert.same({ actionId = "act", score = 0.2 }, a:row(1))
      local empty = assert(frame.from_result{ itemList = {} })
      assert.equal(0, empty.nrow)
      assert.same({ "itemId", "score" }, empty.columns)
    end)

    it("frames any listing with one array field", function()
      local res = cjson.decode([[{"schemas":[{"name":"s1","schemaArn":"arn:1","domain":null},
        {"name":"s2","schemaArn":"arn:2"}],"nextToken":"t"}]])
      res.ResponseMetadata = { RequestId = "r", HTTPStatusCode = 200 }
      local f = assert(frame.from_result(res))
      assert.same({ "domain", "name", "schemaArn" }, f.columns)
      assert.equal("   domain  name  schemaArn\n0     NaN  s1    arn:1\n1     NaN  s2    arn:2", tostring(f))
      local tags = assert(frame.from_result{ tagKeys = { "a", "b" } })
      assert.same({ "a", "b" }, tags:column("tagKeys"))
      assert.equal(0, assert(frame.from_result{ solutions = {} }).nrow)
    end)

    it("returns nil and a message when there is no single list", function()
      local f, err = frame.from_result{ name = "x" }
      assert.is_nil(f)
      assert.equal("frame.from_result: no list in the result (fields: name)", err)
      f, err = frame.from_result{ a = { 1 }, b = { 2 } }
      assert.is_nil(f)
      assert.equal("frame.from_result: more than one list in the result: a, b (fields: a, b)", err)
      f, err = frame.from_result(nil)
      assert.is_nil(f)
      assert.equal("frame.from_result: a result table expected, got nil", err)
    end)
  end)
end)
