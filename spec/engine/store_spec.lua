-- personalize.engine.store: the engine's state in SQLite (state.db).
local store = require "personalize.engine.store"
local ecore = require "personalize.engine.core"
local files = require "spec.support.files"
local process = require "spec.support.process"
local socket = require "socket"

local cjson = require "cjson"

local function reopen(st)
  st:close()
  return assert(store.open(st.dir))
end

local function record(arn, kind, seq, extra)
  local r = { _kind = kind, _seq = seq, name = arn }
  for k, v in pairs(extra or {}) do r[k] = v end
  return r
end

describe("personalize.engine.core sqlite", function()
  it("binds nil, booleans, integers, floats and strings and reads them back", function()
    local db = assert(ecore.sqlite_open(files.tmpdir() .. "/t.db"))
    assert(db:exec("CREATE TABLE t (a, b, c, d, e)"))
    assert.equal(1, db:run("INSERT INTO t VALUES (?, ?, ?, ?, ?)", nil, true, 2 ^ 53, 0.25, "x\0y"))
    local rows = assert(db:rows("SELECT a, b, c, d, e FROM t"))
    assert.same({ { nil, 1, 2 ^ 53, 0.25, "x\0y" } }, rows)
    db:close()
    db:close() -- twice is fine
    assert.has_error(function() db:rows("SELECT 1") end, "attempt to use a closed database")
  end)

  it("returns nil and SQLite's message for bad SQL and a wrong parameter count", function()
    local db = assert(ecore.sqlite_open(files.tmpdir() .. "/t.db"))
    local ok, err = db:rows("SELEKT 1")
    assert.is_nil(ok)
    assert.matches("syntax error", err)
    ok, err = db:run("SELECT ?", 1, 2)
    assert.is_nil(ok)
    assert.equal("the statement has 1 parameters, 2 values given", err)
    assert.has_error(function() db:run("SELECT ?", {}) end)
    assert.same({ { 3 } }, db:rows("SELECT 1 + 2")) -- still usable
  end)

  it("refuses a path it cannot open", function()
    local db, err = ecore.sqlite_open("/nonexistent-dir/x/state.db")
    assert.is_nil(db)
    assert.matches("/nonexistent%-dir/x/state.db", err)
  end)
end)

describe("personalize.engine.store", function()
  it("keeps resources, tags and the counter across a reopen", function()
    local st = assert(store.open(files.tmpdir()))
    st.resources["arn:a"] = record("arn:a", "schema", st:next_seq(), { schema = '{"type":"record"}' })
    st.resources["arn:b"] = record("arn:b", "dataset_group", st:next_seq(), { status = "ACTIVE" })
    st.tags["arn:b"] = { { tagKey = "k", tagValue = "v" } }
    st:save()
    st = reopen(st)
    assert.equal(2, st.seq)
    assert.equal('{"type":"record"}', st.resources["arn:a"].schema)
    assert.equal("ACTIVE", st.resources["arn:b"].status)
    assert.same({ { tagKey = "k", tagValue = "v" } }, st.tags["arn:b"])
    assert.same({ "arn:a" }, (function()
      local out = {}
      for _, r in ipairs(st:list("schema")) do out[#out + 1] = r.name end
      return out
    end)())
    -- changes and removals are committed by the next save
    st.resources["arn:b"].status = "DELETE PENDING"
    st.resources["arn:a"] = nil
    st.tags["arn:b"] = nil
    st:save()
    st = reopen(st)
    assert.is_nil(st.resources["arn:a"])
    assert.equal("DELETE PENDING", st.resources["arn:b"].status)
    assert.is_nil(st.tags["arn:b"])
    st:close()
  end)

  it("keeps the last saved state when a save fails", function()
    local st = assert(store.open(files.tmpdir()))
    st.resources["arn:a"] = record("arn:a", "schema", st:next_seq())
    st:save()
    st.resources["arn:b"] = record("arn:b", "schema", st:next_seq(), { bad = function() end })
    assert.has_error(function() st:save() end)
    st.resources["arn:b"] = nil
    st = reopen(st)
    assert.is_table(st.resources["arn:a"])
    assert.is_nil(st.resources["arn:b"])
    st:close()
  end)

  it("journals lines durably, in order, and removes them with their directory only", function()
    local st = assert(store.open(files.tmpdir()))
    for i = 1, 3 do assert(st:append_line("datasets/d1/events.jsonl", '{"n":' .. i .. "}")) end
    assert(st:append_line("datasets/d12/events.jsonl", "other"))
    st = reopen(st)
    assert.same({ '{"n":1}', '{"n":2}', '{"n":3}' }, st:read_lines("datasets/d1/events.jsonl"))
    assert(st:remove("datasets/d1"))
    assert.same({}, st:read_lines("datasets/d1/events.jsonl"))
    assert.same({ "other" }, st:read_lines("datasets/d12/events.jsonl"))
    st:close()
  end)

  it("moves an older engine's state.json and journals into state.db", function()
    local dir = files.tmpdir()
    assert(require("personalize.core").mkdir(dir .. "/datasets/abc"))
    files.write(dir .. "/state.json", cjson.encode {
      seq = 7,
      resources = { ["arn:ds"] = { _kind = "dataset", _seq = 7, _id = "abc", datasetArn = "arn:ds" } },
      tags = { ["arn:ds"] = { { tagKey = "t", tagValue = "1" } } },
    })
    files.write(dir .. "/datasets/abc/events.jsonl", '{"e":1}\n{"e":2}\n')
    local st = assert(store.open(dir))
    assert.equal(7, st.seq)
    assert.equal("abc", st.resources["arn:ds"]._id)
    assert.same({ { tagKey = "t", tagValue = "1" } }, st.tags["arn:ds"])
    assert.same({ '{"e":1}', '{"e":2}' }, st:read_lines("datasets/abc/events.jsonl"))
    assert.is_nil(files.read(dir .. "/state.json"))
    assert.is_string(files.read(dir .. "/state.json.migrated"))
    st = reopen(st) -- not moved twice
    assert.same({ '{"e":1}', '{"e":2}' }, st:read_lines("datasets/abc/events.jsonl"))
    st:close()
  end)

  it("refuses a state.db that is not a database, naming it", function()
    local dir = files.tmpdir()
    files.write(dir .. "/state.db", ("not a database\n"):rep(100))
    local st, err = store.open(dir)
    assert.is_nil(st)
    assert.matches("state.db", err)
  end)

  it("comes back with exactly one committed state after kill -9 at any moment of a save loop", function()
    -- The child keeps a window of five records and the counter in step;
    -- every save commits both, so a kill anywhere leaves them consistent.
    local dir = files.tmpdir()
    local child = [[
      local store = require "personalize.engine.store"
      local st = assert(store.open(arg[1]))
      for i = st.seq + 1, 1e9 do
        st.resources["arn:" .. i] = { _kind = "x", _seq = st:next_seq(), n = i, pad = ("p"):rep(200) }
        st.resources["arn:" .. (i - 5)] = nil
        st:save()
        io.stdout:write(i, "\n"); io.stdout:flush()
      end]]
    local script = files.write(dir .. "/child.lua", child)
    for round = 1, 4 do
      local p = process.spawn({ process.LUA, script, dir .. "/data" }, { env = {
        LUA_PATH = os.getenv("LUA_PATH"), LUA_CPATH = process.LUA_CPATH } })
      local deadline = socket.gettime() + 20
      repeat socket.sleep(0.02) until #p:output() > round * 40 or socket.gettime() > deadline
      os.execute("kill -9 " .. p.pid)
      socket.sleep(0.1)
      local st = assert(store.open(dir .. "/data"))
      local n = 0
      for arn, r in pairs(st.resources) do
        n = n + 1
        assert.equal(("arn:%d"):format(r.n), arn)
        assert.is_true(r.n > st.seq - 5 and r.n <= st.seq, "record " .. arn .. " outside the window of " .. st.seq)
      end
      assert.equal(math.min(5, st.seq), n)
      assert.is_true(st.seq > 0)
      st:close()
      p:stop()
    end
  end)
end)
