-- The engine's durable state in its data directory.
--
--   local st = store.open(dir)          -- nil, message when unreadable
--   st.resources[arn] = record          -- every resource, keyed by ARN
--   st:save()                           -- commits what changed since the last save
--   st:write_json(rel, value) / st:read_json(rel)
--   st:append_line(rel, text)           -- durable journal append
--   st:read_lines(rel)                  -- the journal, oldest first
--   st:close()
--   local v = store.view(dir, resources) -- for a job off the request path:
--                                        -- the files and journals, these records, no save()
--   store.remove_temp_files(dir)        -- -> paths removed (see open)
--
-- Layout of DIR: state.db (SQLite, WAL: resources, tags, counters and the
-- journals of records sent one by one), datasets/<id>/ (imported rows),
-- models/<id>.json (trained models), jobs/ (results of jobs not applied
-- yet), s3/ (the S3 subset's objects).
--
-- Records live in memory (st.resources, st.tags) for the handlers; save()
-- writes the records whose JSON changed and deletes the removed ones in
-- one transaction, so a crash at any moment leaves the last committed
-- state and a restart reads it back in milliseconds, however large the
-- data beside it. Files are replaced with core.write_file (temp + fsync +
-- rename); the temporary file a kill may leave beside its target
-- (<name>.tmp.XXXXXX) is removed by the next open, which runs with the
-- data directory's lock held (no writer is alive). A state.json left by
-- an older engine is moved into state.db on open (and kept as
-- state.json.migrated).
local core = require "personalize.core"
local ecore = require "personalize.engine.core"
local cjson = require("cjson").new()

cjson.encode_sparse_array(true)
cjson.encode_number_precision(14)

local setmetatable, pairs, ipairs, type, tostring, pcall, error = setmetatable, pairs, ipairs, type, tostring, pcall, error
local io_open, os_rename = io.open, os.rename
local sort = table.sort
local unpack = table.unpack or unpack -- luacheck: ignore

local _M = {}

local Store = {}
Store.__index = Store

_M.json = cjson

-- A whole file's bytes, or nil when it cannot be read.
local function read_all(path)
  local f = io_open(path, "rb")
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  return s
end
_M.read_file = read_all

local function dirname(path)
  return path:match("^(.*)/[^/]*$") or "."
end

-- A temporary file of core.write_file / core.copy_files.
local function is_temp(name)
  return name:find("%.tmp%.%w%w%w%w%w%w$") ~= nil
end

-- Removes every temporary file a killed writer left under `dir` (not
-- under run/, nginx's own). Returns the paths removed.
function _M.remove_temp_files(dir)
  local removed = {}
  local function walk(path, top)
    local names = core.listdir(path)
    if not names then return end
    for _, name in ipairs(names) do
      local full = path .. "/" .. name
      if is_temp(name) then
        if os.remove(full) then removed[#removed + 1] = full end
      elseif not (top and name == "run") and core.listdir(full) then
        walk(full, false)
      end
    end
  end
  walk(dir, true)
  return removed
end

local SCHEMA = [[
CREATE TABLE IF NOT EXISTS resources (arn TEXT PRIMARY KEY, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tags (arn TEXT PRIMARY KEY, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS journal (id INTEGER PRIMARY KEY AUTOINCREMENT, rel TEXT NOT NULL, line TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS journal_rel ON journal (rel, id);
]]

-- Runs fn(db) inside one write transaction; rolls back when it fails.
local function transaction(db, fn)
  local ok, err = db:exec("BEGIN IMMEDIATE")
  if not ok then return nil, err end
  local pok, res, ferr = pcall(fn, db)
  if pok and res then
    ok, err = db:exec("COMMIT")
    if ok then return true end
  else
    err = pok and ferr or res
  end
  db:exec("ROLLBACK")
  return nil, tostring(err)
end

-- Loads `table`'s rows as { [arn] = decoded } and { [arn] = text }.
local function load_docs(db, tbl, path)
  local rows, err = db:rows("SELECT arn, doc FROM " .. tbl)
  if not rows then return nil, nil, err end
  local docs, texts = {}, {}
  for _, row in ipairs(rows) do
    local ok, value = pcall(cjson.decode, row[2])
    if not ok or type(value) ~= "table" then
      return nil, nil, ("%s: %s %s is not valid JSON"):format(path, tbl, row[1])
    end
    docs[row[1]], texts[row[1]] = value, row[2]
  end
  return docs, texts
end

-- An older engine's state.json and datasets/*/events.jsonl, moved into the
-- database in one transaction.
local function migrate(db, dir)
  local text = read_all(dir .. "/state.json")
  if not text then return true end
  local ok, state = pcall(cjson.decode, text)
  if not ok or type(state) ~= "table" then
    return nil, dir .. "/state.json is not valid JSON: " .. tostring(state)
  end
  local done, err = transaction(db, function()
    for arn, r in pairs(state.resources or {}) do
      assert(db:run("INSERT OR REPLACE INTO resources (arn, doc) VALUES (?, ?)", arn, cjson.encode(r)))
      if r._kind == "dataset" and r._id then
        local rel = "datasets/" .. r._id .. "/events.jsonl"
        local journal = read_all(dir .. "/" .. rel)
        for line in (journal or ""):gmatch("([^\n]*)\n") do
          assert(db:run("INSERT INTO journal (rel, line) VALUES (?, ?)", rel, line))
        end
      end
    end
    for arn, t in pairs(state.tags or {}) do
      assert(db:run("INSERT OR REPLACE INTO tags (arn, doc) VALUES (?, ?)", arn, cjson.encode(t)))
    end
    assert(db:run("INSERT OR REPLACE INTO counters (name, value) VALUES ('seq', ?)", state.seq or 0))
    return true
  end)
  if not done then return nil, dir .. "/state.json: cannot move it into state.db: " .. err end
  for arn, r in pairs(state.resources or {}) do
    if r._kind == "dataset" and r._id and arn then os.remove(dir .. "/datasets/" .. r._id .. "/events.jsonl") end
  end
  os_rename(dir .. "/state.json", dir .. "/state.json.migrated")
  return true
end

function _M.open(dir)
  local ok, err = core.mkdir(dir)
  if not ok then return nil, err end
  _M.remove_temp_files(dir)
  local path = dir .. "/state.db"
  local db
  db, err = ecore.sqlite_open(path)
  if not db then return nil, err end
  ok, err = db:exec(SCHEMA)
  if not ok then db:close(); return nil, path .. ": " .. err end
  ok, err = migrate(db, dir)
  if not ok then db:close(); return nil, err end
  local resources, saved, tags, saved_tags
  resources, saved, err = load_docs(db, "resources", path)
  if resources then tags, saved_tags, err = load_docs(db, "tags", path) end
  if not tags then db:close(); return nil, err end
  local seq = db:rows("SELECT value FROM counters WHERE name = 'seq'")
  seq = seq and seq[1] and seq[1][1] or 0
  return setmetatable({ dir = dir, db = db, resources = resources, tags = tags, seq = seq,
                        saved = saved, saved_tags = saved_tags, saved_seq = seq }, Store)
end

-- The data directory's files and journals with `resources` as the
-- records, for a job running off the request path (personalize.engine.
-- job_runner, maybe in another thread): it reads and writes files and
-- reads journals through a connection of its own, and cannot save the
-- engine's state.
function _M.view(dir, resources)
  return setmetatable({ dir = dir, resources = resources or {}, tags = {}, seq = 0, view = true }, Store)
end

-- The database connection; a view opens its own on first use. A view
-- only reads (the engine that made the tables is open), so it never
-- takes the write lock the serving engine's saves wait for.
function Store:database()
  if not self.db then
    local db, err = ecore.sqlite_open(self.dir .. "/state.db")
    if not db then error("personalize-local: " .. err, 2) end
    self.db = db
  end
  return self.db
end

function Store:close()
  if self.db then self.db:close(); self.db = nil end
end

-- The next value of a counter that survives restarts (orders resources).
function Store:next_seq()
  self.seq = self.seq + 1
  return self.seq
end

-- Statements that bring table `tbl` from `saved` (arn -> JSON text) to
-- `current` (arn -> record); `saved` is updated once they are committed.
local function changes(tbl, current, saved, out)
  local texts = {}
  for arn, value in pairs(current) do
    local text = cjson.encode(value)
    if saved[arn] ~= text then
      texts[arn] = text
      out[#out + 1] = { "INSERT OR REPLACE INTO " .. tbl .. " (arn, doc) VALUES (?, ?)", arn, text }
    end
  end
  local gone = {}
  for arn in pairs(saved) do
    if current[arn] == nil then
      gone[#gone + 1] = arn
      out[#out + 1] = { "DELETE FROM " .. tbl .. " WHERE arn = ?", arn }
    end
  end
  return function()
    for arn, text in pairs(texts) do saved[arn] = text end
    for _, arn in ipairs(gone) do saved[arn] = nil end
  end
end

-- Commits every change to resources, tags and the counter since the last
-- save, in one transaction. Raises when the database refuses it (the
-- request then answers 500 and the memory state is ahead of the disk, as
-- with a full disk before).
function Store:save()
  if self.view then error("personalize-local: a job cannot save the engine's state", 2) end
  local stmts = {}
  local done_r = changes("resources", self.resources, self.saved, stmts)
  local done_t = changes("tags", self.tags, self.saved_tags, stmts)
  if self.seq ~= self.saved_seq then
    stmts[#stmts + 1] = { "INSERT OR REPLACE INTO counters (name, value) VALUES ('seq', ?)", self.seq }
  end
  if #stmts == 0 then return end
  local ok, err = transaction(self.db, function(db)
    for _, s in ipairs(stmts) do assert(db:run(unpack(s))) end
    return true
  end)
  if not ok then error("personalize-local: cannot save state: " .. err) end
  done_r(); done_t()
  self.saved_seq = self.seq
end

function Store:path(rel)
  return self.dir .. "/" .. rel
end

function Store:write_json(rel, value)
  local path = self:path(rel)
  local ok, err = core.mkdir(dirname(path))
  if not ok then return nil, err end
  return core.write_file(path, cjson.encode(value))
end

function Store:read_json(rel)
  local text = read_all(self:path(rel))
  if not text then return nil end
  local ok, value = pcall(cjson.decode, text)
  if not ok then return nil, rel .. ": " .. value end
  return value
end

-- Appends one line to the journal `rel`, durably: true once committed.
function Store:append_line(rel, line)
  local n, err = self:database():run("INSERT INTO journal (rel, line) VALUES (?, ?)", rel, line)
  if not n then return nil, rel .. ": " .. err end
  return true
end

-- The lines of journal `rel`, oldest first.
function Store:read_lines(rel)
  local rows = assert(self:database():rows("SELECT line FROM journal WHERE rel = ? ORDER BY id", rel))
  local lines = {}
  for i, row in ipairs(rows) do lines[i] = row[1] end
  return lines
end

-- Removes the file or directory `rel` and the journals under it.
function Store:remove(rel)
  local n, err = self:database():run("DELETE FROM journal WHERE rel = ? OR substr(rel, 1, ?) = ?",
    rel, #rel + 1, rel .. "/")
  if not n then return nil, err end
  return core.remove_tree(self:path(rel))
end

-- Resources of `kind`, in creation order, that pass `keep` (optional).
function Store:list(kind, keep)
  local out = {}
  for _, r in pairs(self.resources) do
    if r._kind == kind and (not keep or keep(r)) then out[#out + 1] = r end
  end
  sort(out, function(a, b) return a._seq < b._seq end)
  return out
end

return _M
