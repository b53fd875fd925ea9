-- The engine's durable state in its data directory.
--
--   local st = store.open(dir)          -- nil, message when unreadable
--   st.resources[arn] = record          -- every resource, keyed by ARN
--   st:save()                           -- atomically writes state.json
--   st:write_json(rel, value) / st:read_json(rel)
--   st:append_line(rel, text)           -- fsync'd journal append
--   local v = store.view(dir, resources) -- for a job off the request path:
--                                        -- the files, these records, no save()
--   store.remove_temp_files(dir)        -- -> paths removed (see open)
--
-- Layout of DIR: state.json (resources, tags, counters), datasets/<id>/
-- (imported rows and the live-events journal), models/<id>.json (trained
-- models), jobs/ (results of jobs not applied yet), s3/ (the S3 subset's
-- objects). Every file is replaced with
-- core.write_file (temp + fsync + rename), so a kill -9 at any moment
-- leaves the last acknowledged state; the temporary file such a kill may
-- leave beside its target (<name>.tmp.XXXXXX) is removed by the next open,
-- which runs with the data directory's lock held (no writer is alive).
local core = require "personalize.core"
local cjson = require("cjson").new()

cjson.encode_sparse_array(true)
cjson.encode_number_precision(14)

local setmetatable, pairs, type = setmetatable, pairs, type
local io_open = io.open

local _M = {}

local Store = {}
Store.__index = Store

_M.json = cjson

local function read_all(path)
  local f = io_open(path, "rb")
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  return s
end
_M.read_all = read_all

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

function _M.open(dir)
  local ok, err = core.mkdir(dir)
  if not ok then return nil, err end
  _M.remove_temp_files(dir)
  local self = setmetatable({ dir = dir, resources = {}, tags = {}, seq = 0 }, Store)
  local text = read_all(dir .. "/state.json")
  if text then
    local okd, state = pcall(cjson.decode, text)
    if not okd or type(state) ~= "table" then
      return nil, dir .. "/state.json is not valid JSON: " .. tostring(state)
    end
    self.resources = state.resources or {}
    self.tags = state.tags or {}
    self.seq = state.seq or 0
  end
  return self
end

-- The data directory's files with `resources` as the records, for a job
-- running off the request path (personalize.engine.job_runner): it reads
-- and writes files, and cannot save the engine's state.
function _M.view(dir, resources)
  return setmetatable({ dir = dir, resources = resources or {}, tags = {}, seq = 0, view = true }, Store)
end

-- The next value of a counter that survives restarts (orders resources).
function Store:next_seq()
  self.seq = self.seq + 1
  return self.seq
end

function Store:save()
  if self.view then error("personalize-local: a job cannot save the engine's state", 2) end
  local text = cjson.encode { resources = self.resources, tags = self.tags, seq = self.seq }
  local ok, err = core.write_file(self.dir .. "/state.json", text)
  if not ok then error("personalize-local: cannot save state: " .. err) end
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

function Store:append_line(rel, line)
  local path = self:path(rel)
  local ok, err = core.mkdir(dirname(path))
  if not ok then return nil, err end
  return core.append_file(path, line .. "\n")
end

-- Lines of a journal written by append_line (a torn last line, from a
-- crash mid-append before the fsync returned, is skipped).
function Store:read_lines(rel)
  local text = read_all(self:path(rel))
  local lines = {}
  if not text then return lines end
  for line in text:gmatch("([^\n]*)\n") do lines[#lines + 1] = line end
  return lines
end

function Store:remove(rel)
  return core.remove_tree(self:path(rel))
end

-- Resources of `kind`, in creation order, that pass `keep` (optional).
function Store:list(kind, keep)
  local out = {}
  for _, r in pairs(self.resources) do
    if r._kind == kind and (not keep or keep(r)) then out[#out + 1] = r end
  end
  table.sort(out, function(a, b) return a._seq < b._seq end)
  return out
end

return _M
