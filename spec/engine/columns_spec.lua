-- personalize-local's column files and the C CSV reader of bulk imports
-- (ecore.csv_import), checked against import.parse, the reference in Lua:
-- the same files give the same rows (value for value, type for type),
-- the same rows left out with the same messages, the same failure reason.
-- Every input import_spec.lua gives import.parse is fed to both, then
-- hand-written edge cases and seeded random files.
local import = require "personalize.engine.import"
local schema = require "personalize.schema"
local ecore = require "personalize.engine.core"
local core = require "personalize.core"
local files = require "support.files"

local mtype = math.type or function(v) return type(v) == "number" and "float" or nil end -- luacheck: ignore

local INTERACTIONS = assert(schema.check(schema.interactions{
  { "USER_ID", "string" }, { "ITEM_ID", "string" }, { "TIMESTAMP", "long" },
  { "EVENT_TYPE", "string" }, { "EVENT_VALUE", "float", nullable = true },
}, "Interactions"))
local ITEMS = assert(schema.check(schema.items{
  { "ITEM_ID", "string" }, { "GENRES", "string", categorical = true },
  { "YEAR", "int", nullable = true }, { "PRICE", "double", nullable = true }, { "NEW", "boolean", nullable = true },
  { "CREATION_TIMESTAMP", "long", nullable = true },
}, "Items"))

local reference = import.parse
local tmp = files.tmpdir()
local counter = 0

-- Both readers on `text`: the Lua reference's answer, then the C one's
-- (its rows read back from the column files it wrote).
local function both(text, fields, opts)
  counter = counter + 1
  local path = tmp .. "/in" .. counter .. ".csv"
  local out = tmp .. "/out" .. counter
  assert(core.write_file(path, text))
  assert(core.mkdir(out))
  local file = opts and opts.file
  local skipped = {}
  local want, want_reason = reference(text, fields, { file = file, skipped = skipped })
  local n, nskipped, shown = ecore.csv_import(path, fields, { file = file, out = out })
  local got, got_reason
  if n then
    got = assert(ecore.columns_read({ out }))
    got.n = n
  else
    got_reason = nskipped
  end
  os.remove(path)
  core.remove_tree(out)
  return { data = want, reason = want_reason, skipped = skipped },
         { data = got, reason = got_reason, skipped_n = nskipped, shown = shown }
end

local function show(v)
  if type(v) == "string" then return string.format("%q", v) end
  return tostring(v) .. " (" .. tostring(mtype(v) or type(v)) .. ")"
end

-- Raises with the first difference between the two answers.
local function agree(text, fields, opts)
  local want, got = both(text, fields, opts)
  local function differ(what)
    error(("C and Lua differ on %q: %s"):format(text:sub(1, 300), what), 2)
  end
  if want.reason ~= got.reason then
    differ(("reason %s vs %s"):format(tostring(want.reason), tostring(got.reason)))
  end
  if not want.data then return want end
  if want.data.n ~= got.data.n then differ(("n %d vs %d"):format(want.data.n, got.data.n)) end
  if want.skipped.n ~= got.skipped_n then
    differ(("rows left out %d vs %d"):format(want.skipped.n, got.skipped_n))
  end
  for i = 1, 10 do
    if want.skipped[i] ~= got.shown[i] then
      differ(("left out #%d %s vs %s"):format(i, tostring(want.skipped[i]), tostring(got.shown[i])))
    end
  end
  for _, f in ipairs(fields) do
    local a, b = want.data[f.name], got.data[f.name]
    if type(b) ~= "table" then differ("no column " .. f.name) end
    for i = 1, want.data.n do
      local x, y = a[i], b[i]
      if x ~= y or mtype(x) ~= mtype(y) then
        differ(("%s[%d] %s vs %s"):format(f.name, i, show(x), show(y)))
      end
    end
    for k in pairs(b) do
      if type(k) ~= "number" or k < 1 or k > want.data.n then differ(f.name .. " has a value at " .. tostring(k)) end
    end
  end
  return want
end

describe("personalize.engine.core columns", function()
  teardown(function() core.remove_tree(tmp) end)

  describe("the C CSV reader agrees with import.parse", function()
    local H = "USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE,EVENT_VALUE\n"
    local IH = "ITEM_ID,GENRES,YEAR,PRICE,NEW,CREATION_TIMESTAMP\n"
    local cases = {
      "", "\n", "\r\n\r\n", "\239\187\191", "\239\187\191" .. H .. "u,i,1,click,\n",
      H, H .. "u1,i1,1,click,1.5\nu2,i2,2,buy,\n", H .. "u1,i1,1,click,1.5", H .. "u1,i1,1,click,1.5\r\n",
      H .. "u1,i1,1,click,1.5\r", H .. "\n\nu1,i1,1,click,\n\r\n", H .. '"u1",i1,1,click,\n',
      H .. '"u,1","i""1",1,click,\n', H .. '"u1\nx",i1,1,click,\n', H .. '"u1,i1,1,click,\n',
      H .. '"u1\n\nmore"" text",i1,1,click,\n', H .. '"u1\n""', H .. 'u"1,i1,1,click,\n',
      H .. '"u1"x,i1,1,click,\n', H .. '"u1"\r,i1,1,click,\n', H .. 'u1,"i1"\r', H .. 'u1,"i1"\r\n',
      H .. 'u1,"i1",1,click,x\r', H .. '"a\rb",i,1,c,\n', H .. "u1,i1,1,click\n", H .. "u1,i1,1,click,,\n",
      H .. ",i1,1,click,\n", H .. "u1,i1,,click,\n", H .. "u1,i1,-1,click,\n", H .. "u1,i1,100000000000,click,\n",
      H .. "u1,i1,99999999999,click,\n", H .. "u1,i1,1.0,click,\n", H .. "u1,i1, 7,click,\n",
      H .. "u1,i1,9223372036854775807,click,\n", H .. "u1,i1,-9223372036854775808,click,\n",
      H .. "u1,i1,9223372036854775808,click,\n", H .. "u1,i1,00000000000000000000000000000001,c,\n",
      H .. "u1,i1,1,click,1e3\nu,i,1,c,0x10\nu,i,1,c,inf\nu,i,1,c,nan\nu,i,1,c,1e400\nu,i,1,c,.5\nu,i,1,c,5.\n"
        .. "u,i,1,c,+5\nu,i,1,c,-0\nu,i,1,c,1e-400\nu,i,1,c,1 \nu,i,1,c,\t1\nu,i,1,c,-\nu,i,1,c,1e\n",
      H .. "u1,i1,1,click,12345678901234567890123456789012345678901234567890\n",
      H .. ("u,i,1,c,%s\n"):format(("1"):rep(200)), H .. ("u,i,1,c,%s\n"):format(("1"):rep(400)),
      H .. ("u,i,%s,c,\n"):format(("0"):rep(200) .. "5"),
      H .. ("u,i,%s,c,\n"):format(("9"):rep(200)),
      H .. ("u,%s,1,c,\n"):format(("x"):rep(257)), H .. ("u,%s,1,c,\n"):format(("\195\169"):rep(256)),
      H .. ("u,%s,1,c,\n"):format(("\195\169"):rep(257)), H .. "u\0x,i,1,c,\n",
      H .. "u,i,1,c,\1\n", "user_id,Item_Id,timestamp,EVENT_TYPE\nu,i,1,c\n",
      "USER_ID,ITEM_ID,TIMESTAMP\nu,i,1\n", "USER_ID,ITEM_ID,user_id,TIMESTAMP,EVENT_TYPE\n",
      ',USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE,X\n0,u,i,1,c,x\n1,u,i,1,c\n', '"USER_ID",ITEM_ID\n',
      'USER_ID,"ITEM_ID\n', 'USER_ID,I"TEM_ID\n', "USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE\r",
      H .. "caf\233,i,1,c,\n", H .. "u,i,1,c,\n\128", H .. "u,i,1,c,\n\n\n\237\160\128", "\224\128\128",
      H .. "u,i,1,c,\n\240\159\142", H .. "u,i,1,c,\n\244\144\128\128", H .. "\239\187\191u,i,1,c,\n",
      H .. "u,i,1,c,x\nu,i,1,c,y\n", H .. "u,i,1,c,x\nu,i,1,c,2\n",
    }
    local icases = {
      IH .. "i1,a|b,1975,9.99,true,1\ni2,,,,,\ni3,c,1975-1979,,,\n",
      IH .. "i1,a,2147483647,1,TRUE,0\ni2,a,2147483648,1,False,0\ni3,a,-2147483649,1,yes,0\n",
      IH .. "i1,a,1,1,tRuE,1e3\n", IH .. ("i,%s,1,1,true,1\n"):format(("g"):rep(1001)),
      "ITEM_ID,GENRES\ni,g\n", "ITEM_ID\ni\n", "item_id,genres,new,new\n",
    }
    for i, text in ipairs(cases) do
      it("interactions case " .. i, function()
        agree(text, INTERACTIONS, { file = "s3://b/k.csv" })
        agree(text, INTERACTIONS)
      end)
    end
    for i, text in ipairs(icases) do
      it("items case " .. i, function() agree(text, ITEMS, { file = "s3://b/items.csv" }) end)
    end

    it("on seeded random files", function()
      math.randomseed(17)
      local pieces = { "u1", "i2", "12", "-3", "1.5", "", '"q"', '"a,b"', '""', '"x""y"', '"', "\r", "\n", ",",
                       "true", "x", "99999999999999", "1e5", " ", "\195\169", "\255", "\r\n", "click" }
      for _ = 1, 400 do
        local parts = { H }
        for _ = 1, math.random(0, 40) do parts[#parts + 1] = pieces[math.random(#pieces)] end
        local text = table.concat(parts)
        agree(text, INTERACTIONS, { file = "f.csv" })
        agree((text:gsub("^[^\n]*", IH:sub(1, -2))), ITEMS, { file = "f.csv" })
      end
    end)

    it("across the reader's 1 MiB chunks (long lines, a line split over chunks)", function()
      local rows = { H }
      local size = #H
      local k = 0
      while size < 3 * 1024 * 1024 do
        k = k + 1
        local row = ("u%d,%s,%d,click,%s\n"):format(k % 97, ("i"):rep(k % 250 + 1), k, k % 3 == 0 and "" or "0.5")
        rows[#rows + 1] = row
        size = size + #row
      end
      rows[#rows + 1] = "u,i,1,c," .. ("5"):rep(2 * 1024 * 1024) .. "\n" -- a long line, left out
      local want = agree(table.concat(rows), INTERACTIONS, { file = "big.csv" })
      assert.equal(k, want.data.n)
    end)
  end)

  -- Every input import_spec.lua gives import.parse goes through both.
  describe("on import_spec.lua's inputs", function()
    local calls = 0
    import.parse = function(text, fields, opts)
      if type(text) == "string" and type(fields) == "table" then
        calls = calls + 1
        agree(text, fields, opts)
      end
      return reference(text, fields, opts)
    end
    local path = "spec/engine/import_spec.lua"
    local chunk
    if setfenv then -- luacheck: ignore
      chunk = assert(loadfile(path))
      setfenv(chunk, getfenv(1)) -- luacheck: ignore
    else
      chunk = assert(loadfile(path, "t", _ENV)) -- luacheck: ignore
    end
    chunk()
    teardown(function()
      import.parse = reference
      assert.is_true(calls > 50, "import_spec.lua parsed only " .. calls .. " files")
    end)
  end)

  describe("columns_write and columns_read", function()
    it("keep every value and type, holes, and parts in order", function()
      local dir1, dir2 = tmp .. "/w1", tmp .. "/w2"
      assert(core.mkdir(dir1))
      assert(core.mkdir(dir2))
      local data = { n = 4, S = { "a", nil, "a", "b" }, I = { 1, 2, nil, -7 }, F = { 0.5, nil, 2.0, -1.25 },
                     B = { true, false, nil, true }, M = { "x", 1, 2.5, true }, E = {} }
      assert(ecore.columns_write(dir1, data))
      assert(ecore.columns_write(dir2, { n = 2, S = { "c", "a" }, X = { 5, 6 } }))
      local got = assert(ecore.columns_read({ dir1, dir2 }))
      assert.equal(6, got.n)
      assert.same({ "a", nil, "a", "b", "c", "a" }, got.S)
      for i = 1, 4 do
        for _, k in ipairs({ "I", "F", "B", "M" }) do
          assert.equal(data[k][i], got[k][i])
          assert.equal(mtype(data[k][i]), mtype(got[k][i]))
        end
      end
      assert.same({ [5] = 5, [6] = 6 }, got.X)
      assert.same({}, got.E)
      local nothing = assert(ecore.columns_read({}))
      assert.equal(0, nothing.n)
    end)

    it("leave only whole files behind (no temporary names) and refuse a damaged file", function()
      local dir = tmp .. "/w3"
      assert(core.mkdir(dir))
      assert(ecore.columns_write(dir, { n = 1, A = { "x" } }))
      assert.same({ "A.col" }, core.listdir(dir))
      assert(core.write_file(dir .. "/A.col", "PZCOL001 but short"))
      local data, err = ecore.columns_read({ dir })
      assert.is_nil(data)
      assert.matches("A.col", err)
    end)
  end)

  describe("dataset imports on column files", function()
    local support = require "support.engine_local"
    local jobs = require "personalize.engine.jobs"
    local cjson = require "cjson"

    it("write parts, append INCREMENTAL imports, drop replaced parts and read an older engine's data.json", function()
      local env = support.new { timings = { pending = 0, in_progress = 0 } }
      finally(env.close)
      local p = env.personalize
      local g = assert(p:create_dataset_group { name = "g" }).datasetGroupArn
      env.settle()
      local sch = assert(p:create_schema { name = "s", schema = support.INTERACTIONS_SCHEMA }).schemaArn
      local arn = assert(p:create_dataset { name = "i", schemaArn = sch, datasetGroupArn = g,
        datasetType = "Interactions" }).datasetArn
      env.settle()
      local function import_file(key, text, mode)
        env.upload("bkt", key, text)
        local job = assert(p:create_dataset_import_job { jobName = "j-" .. key:gsub("%W", ""), datasetArn = arn,
          importMode = mode, dataSource = { dataLocation = "s3://bkt/" .. key }, roleArn = support.ROLE })
        env.settle()
        local r = assert(p:describe_dataset_import_job { datasetImportJobArn = job.datasetImportJobArn })
        return r.datasetImportJob
      end
      local ds = env.engine.store.resources[arn]
      local base = env.dir .. "/datasets/" .. ds._id
      local function manifest() return cjson.decode(files.read(base .. "/data.json")) end
      local function rows() return jobs.dataset_data(env.engine, env.engine.store.resources[arn]) end

      assert.equal("ACTIVE", import_file("a.csv", support.interactions_csv(3, 4)).status)
      local first = manifest()
      assert.equal(12, first.n)
      assert.equal(1, #first["@parts"])
      assert.equal("ACTIVE", import_file("b.csv", "USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE\nuser9,item1,5,watch\n",
        "INCREMENTAL").status)
      local second = manifest()
      assert.equal(13, second.n)
      assert.equal(2, #second["@parts"])
      assert.equal(first["@parts"][1].dir, second["@parts"][1].dir)
      local data = rows()
      assert.equal(13, data.n)
      assert.equal("user9", data.USER_ID[13])
      assert.equal(5, data.TIMESTAMP[13])
      assert.is_nil(data.EVENT_VALUE[13])
      assert.equal(0.4, data.EVENT_VALUE[1])

      -- A failed import keeps the rows and leaves no part behind.
      local failed = import_file("c.csv", "USER_ID,ITEM_ID\nu,i\n")
      assert.equal("CREATE FAILED", failed.status)
      assert.matches("required field TIMESTAMP is missing", failed.failureReason)
      assert.same(second, manifest())
      assert.equal(2, #core.listdir(base .. "/parts"))

      -- A FULL import replaces the parts; the old ones go.
      assert.equal("ACTIVE", import_file("d.csv", support.interactions_csv(2, 3)).status)
      local third = manifest()
      assert.equal(6, third.n)
      assert.same({ (third["@parts"][1].dir:match("[^/]+$")) }, core.listdir(base .. "/parts"))

      -- An older engine's data.json (JSON columns) is read, and becomes a
      -- part when an INCREMENTAL import adds to it.
      env.reopen()
      core.remove_tree(base .. "/parts")
      assert(core.write_file(base .. "/data.json", cjson.encode { n = 2, ["@import"] = "old",
        USER_ID = { "a", "b" }, ITEM_ID = { "x", "y" }, TIMESTAMP = { 1, 2 }, EVENT_TYPE = { "e", "e" },
        EVENT_VALUE = { 1.5, cjson.null } }))
      env.reopen()
      data = rows()
      assert.equal(2, data.n)
      assert.same({ "a", "b" }, data.USER_ID)
      assert.same({ [1] = 1.5 }, data.EVENT_VALUE)
      assert.equal("ACTIVE", import_file("e.csv", "USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE\nc,z,3,e\n", "INCREMENTAL").status)
      local fourth = manifest()
      assert.equal(3, fourth.n)
      assert.equal(2, #fourth["@parts"])
      env.reopen()
      data = rows()
      assert.same({ "a", "b", "c" }, data.USER_ID)
      assert.same({ 1, 2, 3 }, data.TIMESTAMP)
    end)
  end)
end)
