-- A dataset's stored rows in personalize-local: the imported parts, the
-- journal of records sent one by one, their indexes, and what training
-- reads of them.
--
--   datasets.dataset_data(eng, ds)        -> all rows (columnar Lua tables)
--   datasets.training_data(eng, group)    -> the group's datasets for training
--   datasets.interaction_index(eng, ds)   -> per-user index of every row
--   datasets.journal_index(eng, ds)       -> per-user index of the journal alone
--   datasets.append_record(eng, ds, row)  -> appends a record sent one by one
--   datasets.manifest / new_part / write_parts / write_rows / bulk_data ...
--                                            the parts, for the jobs that write them
--
-- Stored data: datasets/<id>/parts/<name>/ hold the imported rows as
-- typed column files (personalize.engine.core's csv_import writes them
-- from the S3 object's file, columns_write from rows in memory,
-- columns_read reads them back), and datasets/<id>/data.json lists the
-- parts in order ("@parts", each { dir =, rows = }) with the total "n";
-- it is replaced atomically after the parts are written, so a failed or
-- killed import keeps the previous data, and an INCREMENTAL import adds a
-- part. A data.json without "@parts" is an older engine's rows as JSON
-- columns: read as they are, and turned into a part on the next write.
-- datasets/<id>/events.jsonl is the journal of records sent one by one
-- (put_events, put_items, ...), appended durably. data.json's
-- "@journal_skip" counts the journal's first lines already folded into
-- the parts (by a data deletion), "@import" names the last import job
-- they hold. In memory a dataset's rows are the imported ones then the
-- journal's; a record sent one by one is appended
-- to them, so the per-user index of interactions (jobs.interaction_index)
-- catches up with the new rows only. Models remember how many journal
-- rows their training saw (_journal_mark), which tells live events apart;
-- the runtime reads live events from an index of the journal alone (no
-- imported row is read on the request path), and training reads the
-- parts through training.prepare's histories built in C (training_data's
-- `sources`), the rows loading into Lua only if a recipe reads a column.
local schema = require "personalize.schema"
local training = require "personalize.engine.training"
local store_mod = require "personalize.engine.store"
local ecore = require "personalize.engine.core"
local core = require "personalize.core"

local cjson = store_mod.json
local null = cjson.null
local pairs, ipairs, type, tostring, tonumber, setmetatable, pcall = pairs, ipairs, type, tostring, tonumber, setmetatable, pcall

local _M = {}

-- The schema fields of dataset `ds`, or nil, message.
local function dataset_fields(eng, ds)
  local sch = eng.store.resources[ds.schemaArn]
  if not sch then return nil, "the dataset's schema " .. tostring(ds.schemaArn) .. " no longer exists" end
  return schema.check(sch.schema, ds.datasetType)
end
_M.dataset_fields = dataset_fields

-- An older engine's data.json: columns with holes as arrays of cjson.null.
local function decode_columns(doc)
  local data = { n = doc.n or 0 }
  for k, col in pairs(doc) do
    if k ~= "n" and k:sub(1, 1) ~= "@" then
      local c = {}
      for i = 1, data.n do
        local v = col[i]
        if v ~= null then c[i] = v end
      end
      data[k] = c
    end
  end
  return data
end

local function data_path(ds) return "datasets/" .. ds._id .. "/data.json" end
local function events_path(ds) return "datasets/" .. ds._id .. "/events.jsonl" end

-- The cache key of a dataset's journal index (see journal_index).
local function journal_key(arn) return arn .. "#journal" end
_M.journal_key = journal_key

-- Forgets what is cached of dataset `arn` (its rows, its journal index).
local function forget(eng, arn)
  eng.cache[arn] = nil
  eng.cache[journal_key(arn)] = nil
end
_M.forget = forget

-- Rows before the journal's in a table dataset_data returned, and the
-- journal lines it holds (counted from the file's first).
local bulk_rows = setmetatable({}, { __mode = "k" })
local journal_lines = setmetatable({}, { __mode = "k" })

-- Adds a decoded journal record as the next row of `data`.
local function add_row(data, row)
  local n = data.n + 1
  for k, v in pairs(row) do
    if v ~= null then
      local col = data[k]
      if not col then col = {}; data[k] = col end
      col[n] = v
    end
  end
  data.n = n
end

-- Appends one record (a table field -> value) to the dataset's journal,
-- and to the rows in memory (as they would be read back after a restart).
function _M.append_record(eng, ds, row)
  local doc = {}
  for k, v in pairs(row) do doc[k] = v end
  local line = cjson.encode(doc)
  local ok, err = eng.store:append_line(events_path(ds), line)
  if not ok then return nil, err end
  local cached = eng.cache[ds.datasetArn]
  if cached then add_row(cached, cjson.decode(line)) end
  local idx = eng.cache[journal_key(ds.datasetArn)]
  if idx then
    idx.n = idx.n + 1
    _M.index_row(idx, ds, cjson.decode(line), idx.n)
  end
  return true
end

-- data.json of `ds` (the parts and the "@" members), or nil when nothing
-- was imported yet.
local function manifest(eng, ds)
  local doc, err = eng.store:read_json(data_path(ds))
  if not doc and err then error("cannot read the rows of " .. ds.datasetArn .. ": " .. err, 0) end
  return doc
end

local function part_dir(eng, ds, rel)
  return eng.store:path("datasets/" .. ds._id .. "/" .. rel)
end

-- The imported rows of `ds` and data.json's "@" members.
local function bulk_data(eng, ds)
  local doc = manifest(eng, ds)
  local meta = {}
  if not doc then return { n = 0 }, meta end
  for k, v in pairs(doc) do
    if k:sub(1, 1) == "@" then meta[k] = v end
  end
  local parts = meta["@parts"]
  if not parts then return decode_columns(doc), meta end
  local dirs = {}
  for i, part in ipairs(parts) do dirs[i] = part_dir(eng, ds, part.dir) end
  local data, err = ecore.columns_read(dirs)
  if not data then error("cannot read the rows of " .. ds.datasetArn .. ": " .. err, 0) end
  return data, meta
end

-- A new, empty part directory of `ds` named after `name`: its
-- data.json-relative path and its path. A part data.json (`doc`) lists is
-- never reused, so a job run again after a kill cannot touch live rows.
local function new_part(eng, ds, name, doc)
  local used = {}
  for _, part in ipairs(doc and doc["@parts"] or {}) do used[part.dir] = true end
  local rel, g = "parts/" .. name .. "-1", 1
  while used[rel] do
    g = g + 1
    rel = "parts/" .. name .. "-" .. g
  end
  local dir = part_dir(eng, ds, rel)
  local ok, err = core.remove_tree(dir) -- what a killed run of the same job left
  if ok then ok, err = core.mkdir(dir) end
  if not ok then return nil, err end
  return rel, dir
end

-- Replaces data.json with `parts` and `meta`, then removes the parts of
-- `old_meta` the new list no longer holds.
local function write_parts(eng, ds, parts, meta, old_meta)
  local doc, n, keep = {}, 0, {}
  for k, v in pairs(meta) do doc[k] = v end
  for _, part in ipairs(parts) do
    n = n + part.rows
    keep[part.dir] = true
  end
  doc.n, doc["@parts"] = n, parts
  local ok, err = eng.store:write_json(data_path(ds), doc)
  if not ok then return nil, err end
  for _, part in ipairs(old_meta and old_meta["@parts"] or {}) do
    if not keep[part.dir] then core.remove_tree(part_dir(eng, ds, part.dir)) end
  end
  return true
end

-- A name for the parts a job writes: its ARN's last part.
local function job_tag(arn)
  return ((tostring(arn):match("([^/:]+)$") or "job"):gsub("[^%w_.-]", "_"))
end

-- `data` (rows in memory) as a new part named `name`.
local function write_rows(eng, ds, data, name, doc)
  local rel, dir = new_part(eng, ds, name, doc)
  if not rel then return nil, dir end
  local ok, err = ecore.columns_write(dir, data)
  if not ok then return nil, err end
  return { dir = rel, rows = data.n }
end

-- Calls each(row) for every record of the journal of `ds` not yet folded
-- into the parts (`meta`: data.json's members, or nil), decoded; lines
-- that do not decode to a record are skipped. Returns the journal's line count.
local function each_journal_row(eng, ds, meta, each)
  local lines = eng.store:read_lines(events_path(ds))
  for i = (meta and tonumber(meta["@journal_skip"]) or 0) + 1, #lines do
    local ok, row = pcall(cjson.decode, lines[i])
    if ok and type(row) == "table" then each(row) end
  end
  return #lines
end

-- All rows of dataset `ds`: imported ones, then those sent one by one.
function _M.dataset_data(eng, ds)
  local cached = eng.cache[ds.datasetArn]
  if cached then return cached end
  local data, meta = bulk_data(eng, ds)
  bulk_rows[data] = data.n
  journal_lines[data] = each_journal_row(eng, ds, meta, function(row) add_row(data, row) end)
  eng.cache[ds.datasetArn] = data
  return data
end

-- Adds interaction `i` (user `u`, item or action `item`) to a per-user index.
local function add_entry(idx, u, item, etype, value, i)
  u = tostring(u)
  local h = idx.by_user[u]
  if not h then
    h = { n = 0, item = {}, etype = {}, value = {}, row = {} }
    idx.by_user[u] = h
  end
  local k = h.n + 1
  h.n = k
  h.item[k], h.etype[k], h.value[k], h.row[k] = tostring(item), etype, value, i
end

-- The per-user index of an interactions dataset's rows, built once per
-- rows table and brought up to date with the rows appended since.
local interaction_indexes = setmetatable({}, { __mode = "k" })

function _M.interaction_index(eng, ds)
  local data = _M.dataset_data(eng, ds)
  local idx = interaction_indexes[data]
  if not idx then
    idx = { n = 0, by_user = {}, bulk_n = bulk_rows[data] or 0 }
    interaction_indexes[data] = idx
  end
  if idx.n < data.n then
    local id_col = ds.datasetType == "ACTION_INTERACTIONS" and "ACTION_ID" or "ITEM_ID"
    local users, items = data.USER_ID or {}, data[id_col] or {}
    local types, values = data.EVENT_TYPE or {}, data.EVENT_VALUE or {}
    for i = idx.n + 1, data.n do
      local u, item = users[i], items[i]
      if u ~= nil and item ~= nil then add_entry(idx, u, item, types[i], values[i], i) end
    end
    idx.n = data.n
  end
  return idx
end

-- The records sent one by one to `ds` (its journal, after the imported
-- rows), indexed per user as interaction_index has them, row numbers
-- counted after the bulk rows: what live events need, read without the
-- imported rows, so a restarted engine answers at once whatever their size.
local function journal_index(eng, ds)
  local key = journal_key(ds.datasetArn)
  local idx = eng.cache[key]
  if idx then return idx end
  local cached = eng.cache[ds.datasetArn]
  if cached then return _M.interaction_index(eng, ds) end
  local doc = manifest(eng, ds)
  if doc and not doc["@parts"] then return _M.interaction_index(eng, ds) end
  idx = { n = doc and tonumber(doc.n) or 0, by_user = {} }
  idx.bulk_n = idx.n
  each_journal_row(eng, ds, doc, function(row)
    idx.n = idx.n + 1   -- numbered as dataset_data appends them
    _M.index_row(idx, ds, row, idx.n)
  end)
  eng.cache[key] = idx
  return idx
end

-- Adds a record (row number `i`) to a per-user index.
function _M.index_row(idx, ds, row, i)
  local id_col = ds.datasetType == "ACTION_INTERACTIONS" and "ACTION_ID" or "ITEM_ID"
  local u, item = row.USER_ID, row[id_col]
  if u == nil or u == null or item == nil or item == null then return end
  local etype, value = row.EVENT_TYPE, row.EVENT_VALUE
  if etype == null then etype = nil end
  if value == null then value = nil end
  add_entry(idx, u, item, etype, value, i)
end

-- The group's datasets by type ("INTERACTIONS", "ITEMS", ...).
local function group_datasets(eng, group_arn)
  local out = {}
  for _, r in pairs(eng.store.resources) do
    if r._kind == "dataset" and r.datasetGroupArn == group_arn then out[r.datasetType] = r end
  end
  return out
end
_M.group_datasets = group_datasets


-- The interactions of `ds` for training, as column files: the rows
-- (columns loaded only when a recipe reads one) and their source
-- { parts = { dir, ... }, extra = <journal rows, columnar> } for the
-- histories built in C (training.prepare). An older engine's data.json
-- (no parts) or rows already in memory: the rows and no source.
local function training_rows(eng, ds)
  local cached = eng.cache[ds.datasetArn]
  if cached then return cached end
  local doc = manifest(eng, ds)
  if not doc or not doc["@parts"] then return _M.dataset_data(eng, ds) end
  local dirs = {}
  for i, part in ipairs(doc["@parts"]) do dirs[i] = part_dir(eng, ds, part.dir) end
  local extra = { n = 0 }
  each_journal_row(eng, ds, doc, function(row) add_row(extra, row) end)
  local rows = training.lazy_rows((tonumber(doc.n) or 0) + extra.n, function() return _M.dataset_data(eng, ds) end)
  bulk_rows[rows] = tonumber(doc.n) or 0
  return rows, { parts = dirs, extra = extra }
end

-- The columnar training data of a dataset group (interactions, items,
-- users, ...), with `sources` (see training_rows) for the interactions.
function _M.training_data(eng, group_arn)
  local sets = group_datasets(eng, group_arn)
  -- aws-next-best-action trains on action interactions alone.
  if not sets.INTERACTIONS and not sets.ACTION_INTERACTIONS then
    return nil, "The dataset group has no Interactions dataset: create one and import interactions before training"
  end
  local interactions, source
  if sets.INTERACTIONS then interactions, source = training_rows(eng, sets.INTERACTIONS) end
  return {
    interactions = interactions,
    sources = { interactions = source },
    items = sets.ITEMS and _M.dataset_data(eng, sets.ITEMS) or nil,
    users = sets.USERS and _M.dataset_data(eng, sets.USERS) or nil,
    actions = sets.ACTIONS and _M.dataset_data(eng, sets.ACTIONS) or nil,
    action_interactions = sets.ACTION_INTERACTIONS and _M.dataset_data(eng, sets.ACTION_INTERACTIONS) or nil,
  }
end

-- For the jobs that read and write the parts (personalize.engine.jobs).
_M.decode_columns, _M.manifest, _M.part_dir, _M.bulk_data = decode_columns, manifest, part_dir, bulk_data
_M.new_part, _M.write_parts, _M.job_tag, _M.write_rows = new_part, write_parts, job_tag, write_rows
_M.journal_index = journal_index
-- Rows before the journal's in a table dataset_data returned (weak keys),
-- and the journal lines it holds.
_M.bulk_rows, _M.journal_lines = bulk_rows, journal_lines

return _M
