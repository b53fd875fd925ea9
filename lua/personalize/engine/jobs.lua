-- The work behind personalize-local's asynchronous resources, run when a
-- resource reaches the end of its in-progress step:
--
--   jobs.import(eng, job)          dataset import: S3 CSV -> stored rows
--   jobs.export(eng, job)          dataset export: stored rows -> S3 CSV
--   jobs.delete_data(eng, job)     data deletion: drop the listed users
--   jobs.train(eng, r)             solution version / recommender: a model + metrics
--   jobs.deploy(eng, campaign)     campaign: its model loads
--   jobs.batch_inference(eng, job) JSON Lines in S3 -> recommendations in S3
--   jobs.batch_segment(eng, job)   JSON Lines in S3 -> user segments in S3
--
-- Each returns true, or false and the failureReason the API shows. They
-- run off the request path (personalize.engine.job_runner) on a read-only
-- view of the engine: `eng.store.resources` holds copies of the records
-- the job reads, `eng.cache` and `eng.models` are the job's own, and what
-- a job changes in its records is copied back when it is done. Each can
-- run again from its inputs after a crash: outputs are replaced whole,
-- and an incremental import or a deletion that already landed is seen in
-- data.json and not applied twice.
-- Stored data (data.json, the parts, the journal) and the datasets' rows
-- and indexes are personalize.engine.datasets'; jobs re-exports what the
-- runtime and resources read of it.
--
-- Shared with the runtime (personalize.engine.runtime):
--   jobs.interaction_index(eng, ds)  -> { by_user = { [userId] = { n =, item =, etype =, value =, row = } },
--                                         bulk_n = rows before the journal }
--                                       (item holds ACTION_ID for action interactions)
--   jobs.history(eng, holder, userId) -> { itemId, ... } live events since training, oldest first
--   jobs.filter_context(eng, group_arn) -> ctx for personalize.engine.filters (each
--                                       dataset loads when first read)
--   jobs.filter_predicate(eng, group_arn, filter_arn, values, ctx) -> keep or nil, code, message
local import = require "personalize.engine.import"
local training = require "personalize.engine.training"
local recipes = require "personalize.engine.recipes"
local metrics = require "personalize.engine.metrics"
local store_mod = require "personalize.engine.store"
local datasets = require "personalize.engine.datasets"
local filters = require "personalize.engine.filters"
local ecore = require "personalize.engine.core"
local core = require "personalize.core"

local cjson = store_mod.json
local null = cjson.null
local pairs, ipairs, type, tostring, tonumber, setmetatable = pairs, ipairs, type, tostring, tonumber, setmetatable
local fmt, concat = string.format, table.concat

local _M = {}

local S3_DENIED = "Insufficient privileges for accessing data in S3. Please look at "
  .. "https://docs.aws.amazon.com/personalize/latest/dg/granting-personalize-s3-access.html and follow the instructions."
local PRINCIPAL = "personalize.amazonaws.com"
-- lua-cjson 2.1.0 writes an empty table as {}: this marker becomes [].
local EMPTY_MARK = "__personalize_local_empty_array__"

local function split_s3(url)
  return url:match("^s3://([^/]+)/?(.*)$")
end

local dataset_fields, decode_columns, forget = datasets.dataset_fields, datasets.decode_columns, datasets.forget
local manifest, part_dir, bulk_data, new_part = datasets.manifest, datasets.part_dir, datasets.bulk_data, datasets.new_part
local write_parts, job_tag, write_rows = datasets.write_parts, datasets.job_tag, datasets.write_rows
local journal_index, group_datasets = datasets.journal_index, datasets.group_datasets
local bulk_rows, journal_lines = datasets.bulk_rows, datasets.journal_lines

-- What the runtime and resources read of the stored rows.
for _, name in ipairs({ "dataset_fields", "journal_key", "forget", "append_record", "dataset_data",
                        "interaction_index", "index_row", "group_datasets", "training_data" }) do
  _M[name] = datasets[name]
end

-- The objects at an s3:// URL (one object, or all under a prefix) as
-- { name = "s3://bucket/key", bucket =, key = }, checking the bucket
-- policy lets Personalize read them.
local function source_objects(eng, url)
  local bucket, key = split_s3(url)
  local s3 = eng.s3
  local keys
  if key ~= "" and not key:find("/$") and s3:stat_object(bucket, key) then
    keys = { key }
  else
    local listed, code, msg = s3:list_keys(bucket, key)
    if not listed then return nil, fmt("cannot read %s: %s %s", url, tostring(code), tostring(msg or "")) end
    if not s3:allows(bucket, PRINCIPAL, "s3:ListBucket") then return nil, S3_DENIED end
    keys = {}
    for _, k in ipairs(listed) do
      if not k:find("/$") then keys[#keys + 1] = k end
    end
    if #keys == 0 then return nil, fmt("no files found at %s", url) end
  end
  local objects = {}
  for _, k in ipairs(keys) do
    if not s3:allows(bucket, PRINCIPAL, "s3:GetObject", k) then return nil, S3_DENIED end
    objects[#objects + 1] = { name = "s3://" .. bucket .. "/" .. k, bucket = bucket, key = k }
  end
  return objects
end

-- Reads the objects at an s3:// URL as { { name =, text = }, ... }.
local function read_source(eng, url)
  local objects, err = source_objects(eng, url)
  if not objects then return nil, err end
  for _, o in ipairs(objects) do
    local text, code, msg = eng.s3:read_object(o.bucket, o.key)
    if not text then return nil, fmt("cannot read %s: %s %s", o.name, tostring(code), tostring(msg or "")) end
    o.text = text
  end
  return objects
end

-- Each CSV object is read by the C reader straight from its file into a
-- new part; data.json then lists them (after the dataset's parts, for an
-- INCREMENTAL import).
function _M.import(eng, job)
  local ds = eng.store.resources[job.datasetArn]
  if not ds then return false, "the dataset no longer exists" end
  local fields, problem = dataset_fields(eng, ds)
  if not fields then return false, problem end
  local objects, rerr = source_objects(eng, job.dataSource.dataLocation)
  if not objects then return false, rerr end
  local doc = manifest(eng, ds)
  local meta = {}
  for k, v in pairs(doc or {}) do
    if type(k) == "string" and k:sub(1, 1) == "@" then meta[k] = v end
  end
  if meta["@import"] == job.datasetImportJobArn then return true end   -- landed before a restart
  local parts = {}
  local function fail(reason)
    for _, part in ipairs(parts) do core.remove_tree(part_dir(eng, ds, part.dir)) end
    return false, reason
  end
  if job.importMode == "INCREMENTAL" and doc then
    if meta["@parts"] then
      for i, part in ipairs(meta["@parts"]) do parts[i] = part end
    else -- an older engine's rows: they become the first part
      local part, werr = write_rows(eng, ds, decode_columns(doc), "import-" .. job_tag(job.datasetImportJobArn) .. "-0", doc)
      if not part then return fail("cannot store the imported data: " .. tostring(werr)) end
      parts[1] = part
    end
  end
  local first_new = #parts + 1
  for k, o in ipairs(objects) do
    local path, code, msg = eng.s3:object_path(o.bucket, o.key)
    if not path then
      return fail(fmt("cannot read %s: %s %s", o.name, tostring(code), tostring(msg or "")))
    end
    local rel, dir = new_part(eng, ds, "import-" .. job_tag(job.datasetImportJobArn) .. "-" .. k, doc)
    if not rel then return fail("cannot store the imported data: " .. tostring(dir)) end
    parts[#parts + 1] = { dir = rel, rows = 0 }
    local n, reason = ecore.csv_import(path, fields, { file = o.name, out = dir })
    if not n then return fail(reason) end
    parts[#parts].rows = n
  end
  meta["@import"], meta["@parts"] = job.datasetImportJobArn, nil
  local ok, werr = write_parts(eng, ds, parts, meta, doc and doc["@parts"] and doc)
  if not ok then
    for i = first_new, #parts do core.remove_tree(part_dir(eng, ds, parts[i].dir)) end
    return false, "cannot store the imported data: " .. tostring(werr)
  end
  forget(eng, ds.datasetArn)
  return true
end

-- RFC 4180 CSV of `data` with `names` as the header.
local function to_csv(data, names)
  local lines = { concat(names, ",") }
  for i = 1, data.n do
    local cells = {}
    for j, name in ipairs(names) do
      local v = data[name] and data[name][i]
      if v == nil then v = ""
      elseif type(v) == "number" and v == math.floor(v) and v > -1e15 and v < 1e15 then v = fmt("%d", v)
      else v = tostring(v) end
      if v:find('[,"\r\n]') then v = '"' .. v:gsub('"', '""') .. '"' end
      cells[j] = v
    end
    lines[#lines + 1] = concat(cells, ",")
  end
  return concat(lines, "\n") .. "\n"
end
_M.to_csv = to_csv

function _M.export(eng, job)
  local ds = eng.store.resources[job.datasetArn]
  if not ds then return false, "the dataset no longer exists" end
  local fields, problem = dataset_fields(eng, ds)
  if not fields then return false, problem end
  local data
  if job.ingestionMode == "BULK" then
    data = bulk_data(eng, ds)
  elseif job.ingestionMode == "PUT" then
    local all, bulk = _M.dataset_data(eng, ds), bulk_data(eng, ds)
    data = { n = all.n - bulk.n }
    for _, f in ipairs(fields) do
      local col, out = all[f.name] or {}, {}
      for i = bulk.n + 1, all.n do out[i - bulk.n] = col[i] end
      data[f.name] = out
    end
  else
    data = _M.dataset_data(eng, ds)
  end
  local names = {}
  for i, f in ipairs(fields) do names[i] = f.name end
  local bucket, prefix = split_s3(job.jobOutput.s3DataDestination.path)
  if prefix ~= "" and not prefix:find("/$") then prefix = prefix .. "/" end
  if not eng.s3:allows(bucket, PRINCIPAL, "s3:PutObject", prefix .. job.jobName) then return false, S3_DENIED end
  local key = fmt("%s%s/%s_%s.csv", prefix, job.jobName, job.jobName, ds.datasetType:lower())
  local ok, code, msg = eng.s3:write_object(bucket, key, to_csv(data, names), "text/csv")
  if not ok then return false, fmt("cannot write s3://%s/%s: %s %s", bucket, key, tostring(code), tostring(msg or "")) end
  return true
end

function _M.delete_data(eng, job)
  local files, rerr = read_source(eng, job.dataSource.dataLocation)
  if not files then return false, rerr end
  local users = {}
  for _, f in ipairs(files) do
    local part, perr = import.parse(f.text, { { name = "USER_ID", type = "string" } }, { file = f.name })
    if not part then return false, perr end
    for i = 1, part.n do users[part.USER_ID[i]] = true end
  end
  local deleted = {}
  for _, ds in pairs(group_datasets(eng, job.datasetGroupArn)) do
    local data = _M.dataset_data(eng, ds)
    local ids = data.USER_ID
    if ids then
      local kept = { n = 0 }
      for k in pairs(data) do if k ~= "n" then kept[k] = {} end end
      for i = 1, data.n do
        if users[ids[i]] then
          deleted[ids[i]] = true
        else
          kept.n = kept.n + 1
          for k, col in pairs(data) do if k ~= "n" then kept[k][kept.n] = col[i] end end
        end
      end
      -- The journal's lines read are folded in; later ones (sent while
      -- the job ran) stay.
      local doc = manifest(eng, ds)
      local meta = {}
      for k, v in pairs(doc or {}) do
        if type(k) == "string" and k:sub(1, 1) == "@" then meta[k] = v end
      end
      meta["@journal_skip"], meta["@parts"] = journal_lines[data] or 0, nil
      local part, werr = write_rows(eng, ds, kept, "delete-" .. job_tag(job.dataDeletionJobArn), doc)
      local ok = part
      if part then ok, werr = write_parts(eng, ds, { part }, meta, doc) end
      if not ok then return false, "cannot store the remaining data: " .. tostring(werr) end
      -- A new journal start: models' marks into the old one no longer apply.
      ds._journal_gen = (ds._journal_gen or 0) + 1
      forget(eng, ds.datasetArn)
    end
  end
  local n = 0
  for _ in pairs(deleted) do n = n + 1 end
  job.numDeleted = n
  return true
end

local function model_path(r) return "models/" .. r._id .. ".json" end

-- Model members kept as column files instead of JSON: arrays of at
-- least COLUMN_MIN numbers or strings (neighbour rows, item ids), which
-- read back several times faster than JSON.
local COLUMN_MIN = 4096

local function plain_array(v)
  if type(v) ~= "table" or #v < COLUMN_MIN then return false end
  local n = 0
  for _, x in pairs(v) do
    local tx = type(x)
    if tx ~= "number" and tx ~= "string" then return false end
    n = n + 1
  end
  return n == #v
end

-- Writes a trained model: models/<id>.json, with members stored beside it
-- in models/<id>/ and named in the JSON: a history built in C (userdata
-- with :save) as <member>.hist ({ ["@file"] = path }), a long array as a
-- column file in <member>/ ({ ["@column"] = dir }). _M.model reads them back.
local function store_model(eng, r, model)
  local doc, dir = {}, "models/" .. r._id
  local made = false
  local function side(rel)
    if not made then
      core.remove_tree(eng.store:path(dir))   -- what an interrupted run left
      local ok, err = core.mkdir(eng.store:path(dir))
      if not ok then return nil, err end
      made = true
    end
    return eng.store:path(rel)
  end
  for k, v in pairs(model) do
    if type(v) == "userdata" then
      local rel = dir .. "/" .. k .. ".hist"
      local path, err = side(rel)
      if not path then return nil, err end
      local ok
      ok, err = v:save(path)
      if not ok then return nil, err end
      doc[k] = { ["@file"] = rel }
    elseif plain_array(v) then
      local rel = dir .. "/" .. k
      local path, err = side(rel)
      local ok = path and core.mkdir(path)
      if ok then ok, err = ecore.columns_write(path, { n = #v, V = v }) end
      if not ok then return nil, err end
      doc[k] = { ["@column"] = rel }
    else
      doc[k] = v
    end
  end
  return eng.store:write_json(model_path(r), doc)
end

function _M.train(eng, r)
  local started = eng.now()
  local data, derr = _M.training_data(eng, r.datasetGroupArn)
  if not data then return false, derr end
  local config = { recipeArn = r.recipeArn, solutionConfig = r.solutionConfig,
                   eventType = r.eventType or recipes.DOMAIN_EVENT_TYPE[r.recipeArn] }
  local prepared, reason = training.prepare(data, config)
  if not prepared then return false, reason end
  local model
  model, reason = training.train_prepared(r.recipeArn, prepared, config)
  if not model then return false, reason end
  -- Where the live events this model has not seen begin.
  local ds = group_datasets(eng, r.datasetGroupArn).INTERACTIONS
  if ds then
    r._journal_mark = data.interactions.n - (bulk_rows[data.interactions] or data.interactions.n)
    r._journal_gen = ds._journal_gen or 0
  end
  local ok, werr = store_model(eng, r, model)
  if not ok then return false, "cannot store the model: " .. tostring(werr) end
  -- The model is read back from its file when first used: the trained
  -- table may share columns with the rows in memory, which live records
  -- extend, and the runtime must see what a restart would.
  local key = r.solutionVersionArn or r.recommenderArn
  eng.models[key] = nil
  if r._kind == "solution_version" then
    local m = metrics.evaluate(r.recipeArn, data, config, prepared)
    r._metrics = m or {}
    r.trainingHours = (eng.now() - started) / 3600
  else
    r.modelMetrics = metrics.evaluate(r.recipeArn, data, config, prepared) or {}
  end
  return true
end

-- The trained model of a solution version or recommender (cached).
function _M.model(eng, r)
  local key = r.solutionVersionArn or r.recommenderArn
  local m = eng.models[key]
  if m then return m end
  local err
  m, err = eng.store:read_json(model_path(r))
  if not m then return nil, err or ("the model of " .. key .. " is missing") end
  for k, v in pairs(m) do
    if type(v) == "table" and type(v["@file"]) == "string" then
      local h, herr = ecore.hist_load(eng.store:path(v["@file"]))
      if not h then return nil, "the model of " .. key .. " is damaged: " .. tostring(herr) end
      m[k] = h
    elseif type(v) == "table" and type(v["@column"]) == "string" then
      local cols, cerr = ecore.columns_read({ eng.store:path(v["@column"]) })
      if not cols then return nil, "the model of " .. key .. " is damaged: " .. tostring(cerr) end
      m[k] = cols.V or {}
    end
  end
  eng.models[key] = m
  return m
end

function _M.deploy(eng, campaign)
  local sv = eng.store.resources[campaign.solutionVersionArn]
  if not sv then return false, "the solution version no longer exists" end
  local model, err = _M.model(eng, sv)
  if not model then return false, err end
  return true
end

-- The event type and threshold a model's training kept (solution's
-- eventType and eventValueThreshold, a domain use case's event type).
local function event_rule(holder)
  local sc = type(holder.solutionConfig) == "table" and holder.solutionConfig or {}
  local etype = holder.eventType
  if etype == "" then etype = nil end
  return etype or recipes.DOMAIN_EVENT_TYPE[holder.recipeArn], tonumber(sc.eventValueThreshold)
end

-- The user's live events since `holder` (a solution version or a
-- recommender) was trained, oldest first, as item ids: the records sent
-- with put_events after training, of the event type it trained on.
function _M.history(eng, holder, user_id)
  if user_id == nil then return {} end
  local ds = group_datasets(eng, holder.datasetGroupArn).INTERACTIONS
  if not ds then return {} end
  local idx = journal_index(eng, ds)
  local h = idx.by_user[tostring(user_id)]
  if not h then return {} end
  local mark = holder._journal_mark or 0
  if (holder._journal_gen or 0) ~= (ds._journal_gen or 0) then mark = 0 end
  local first = idx.bulk_n + mark
  local etype, threshold = event_rule(holder)
  local out = {}
  for k = 1, h.n do
    if h.row[k] > first and (etype == nil or h.etype[k] == etype)
        and (threshold == nil or (tonumber(h.value[k]) or -math.huge) >= threshold) then
      out[#out + 1] = h.item[k]
    end
  end
  return out
end

-- What filters read for requests on the dataset group's data; each
-- dataset loads when a filter (or metadataColumns) first reads it.
function _M.filter_context(eng, group_arn)
  local sets = group_datasets(eng, group_arn)
  local function rows(ds) return ds and function() return _M.dataset_data(eng, ds) end end
  local function index(ds) return ds and function() return _M.interaction_index(eng, ds) end end
  local loaders = {
    items = rows(sets.ITEMS), users = rows(sets.USERS), actions = rows(sets.ACTIONS),
    interactions = index(sets.INTERACTIONS), action_interactions = index(sets.ACTION_INTERACTIONS),
  }
  return setmetatable({}, { __index = function(ctx, key)
    local load = loaders[key]
    if not load then return nil end
    local value = load()
    rawset(ctx, key, value)
    return value
  end })
end

-- The predicate of filter `arn` for one request (ctx as for filters.predicate),
-- or nil, code, message.
function _M.filter_predicate(eng, group_arn, arn, values, ctx)
  local f = eng.store.resources[arn]
  if not f or f._kind ~= "filter" then
    return nil, "ResourceNotFoundException", "Could not find filter " .. tostring(arn)
  end
  if f.status ~= "ACTIVE" then
    return nil, "InvalidInputException", fmt("filter %s is not ACTIVE (status %s)", arn, tostring(f.status))
  end
  if group_arn and f.datasetGroupArn ~= group_arn then
    return nil, "InvalidInputException", fmt("filter %s belongs to dataset group %s, not to %s",
      arn, tostring(f.datasetGroupArn), group_arn)
  end
  local compiled, problem = filters.compile(f.filterExpression)
  if not compiled then return nil, "InvalidInputException", "the filter's expression is invalid: " .. problem end
  return filters.predicate(compiled, ctx, values)
end

-- The campaign-like exploration settings of an itemExplorationConfig
-- (string values, the developer guide's defaults 0.3 and 30 days), or nil.
function _M.exploration(config)
  if type(config) ~= "table" then return nil end
  return { weight = tonumber(config.explorationWeight) or 0.3,
           ageCutOff = tonumber(config.explorationItemAgeCutOff) or 30 }
end

-- Reads every JSON Lines object of a batch job's input: calls
-- each(input, where) -> output table (encoded as one line), or nil, reason
-- to fail the job; writes <prefix><file name>.out for every input file.
local function batch_lines(eng, job, each)
  local files, rerr = read_source(eng, job.jobInput.s3DataSource.path)
  if not files then return false, rerr end
  local bucket, prefix = split_s3(job.jobOutput.s3DataDestination.path)
  if prefix ~= "" and not prefix:find("/$") then prefix = prefix .. "/" end
  for _, f in ipairs(files) do
    local out, lineno = {}, 0
    for line in (f.text .. "\n"):gmatch("([^\n]*)\n") do
      lineno = lineno + 1
      if line:find("%S") then
        local ok, input = pcall(cjson.decode, line)
        if not ok or type(input) ~= "table" then
          return false, fmt("%s line %d is not a JSON object", f.name, lineno)
        end
        local doc, why = each(input, fmt("%s line %d", f.name, lineno))
        if not doc then return false, why end
        local text = cjson.encode(doc)
        out[#out + 1] = (text:gsub('"' .. EMPTY_MARK .. '"', "[]"))
      end
    end
    local base = f.name:match("([^/]+)$")
    local key = prefix .. base .. ".out"
    if not eng.s3:allows(bucket, PRINCIPAL, "s3:PutObject", key) then return false, S3_DENIED end
    local ok, code, msg = eng.s3:write_object(bucket, key, concat(out, "\n") .. "\n", "application/json")
    if not ok then return false, fmt("cannot write s3://%s/%s: %s %s", bucket, key, tostring(code), tostring(msg or "")) end
  end
  return true
end

local function list_or_empty(t) return #t > 0 and t or EMPTY_MARK end

-- Batch inference input lines, as the developer guide shows them:
--   USER_PERSONALIZATION {"userId": "4638"}, RELATED_ITEMS {"itemId": "105"},
--   PERSONALIZED_RANKING {"userId": "891", "itemList": ["27", "886"]},
-- each optionally with "filterValues": {"NAME": "\"value\""}. Output lines:
--   {"input": <the line>, "output": {"recommendedItems": [...], "scores": [...]}, "error": null}
-- A line the model cannot answer gets "output": null and the reason in "error".
function _M.batch_inference(eng, job)
  local sv = eng.store.resources[job.solutionVersionArn]
  if not sv then return false, "the solution version no longer exists" end
  if not recipes.batch(sv.recipeArn) then
    return false, fmt("batch recommendations are not available for %s", sv.recipeArn)
  end
  local model, merr = _M.model(eng, sv)
  if not model then return false, merr end
  local recipe = recipes.get(sv.recipeArn) or {}
  local rtype = recipe.recipeType
  local config = type(job.batchInferenceJobConfig) == "table" and job.batchInferenceJobConfig or {}
  local exploration = _M.exploration(config.itemExplorationConfig)
  local ctx_base = job.filterArn and _M.filter_context(eng, sv.datasetGroupArn)
  local n = job.numResults or 25
  return batch_lines(eng, job, function(input)
    local function line_error(message)
      return { input = input, output = null, ["error"] = message }
    end
    local user, item = input.userId, input.itemId
    if user ~= nil then user = tostring(user) end
    if item ~= nil then item = tostring(item) end
    -- the user's live events since training count, as in get_recommendations
    local request = { userId = user, itemId = item, numResults = n, exploration = exploration,
                      history = user and _M.history(eng, sv, user) or nil }
    if rtype == "RELATED_ITEMS" then
      if not item then return line_error("itemId is required for a RELATED_ITEMS recipe") end
    elseif rtype == "PERSONALIZED_RANKING" then
      if not user or type(input.itemList) ~= "table" then
        return line_error("userId and itemList are required for a PERSONALIZED_RANKING recipe")
      end
      local list = {}
      for i, x in ipairs(input.itemList) do list[i] = tostring(x) end
      request.inputList, request.numResults = list, #list
    elseif not user then
      return line_error("userId is required for a " .. tostring(rtype) .. " recipe")
    end
    local keep
    if job.filterArn then
      local ctx = { userId = user, itemId = item, items = ctx_base.items, users = ctx_base.users,
                    interactions = ctx_base.interactions }
      local code, msg
      keep, code, msg = _M.filter_predicate(eng, sv.datasetGroupArn, job.filterArn, input.filterValues, ctx)
      if not keep then
        if code == "ResourceNotFoundException" then return nil, msg end
        return line_error(msg)
      end
      if rtype ~= "PERSONALIZED_RANKING" then request.keep = keep end
    end
    local recs, why = training.recommend(sv.recipeArn, model, request)
    if not recs then return line_error(tostring(why)) end
    if keep and rtype == "PERSONALIZED_RANKING" then
      local first, last = {}, {}
      for _, rec in ipairs(recs) do
        local into = keep(rec.itemId) and first or last
        into[#into + 1] = rec
      end
      for _, rec in ipairs(last) do first[#first + 1] = rec end
      recs = first
    end
    local items, scores = {}, {}
    for i, rec in ipairs(recs) do
      if rtype ~= "PERSONALIZED_RANKING" and i > n then break end
      items[i] = rec.itemId
      scores[i] = rec.score
    end
    local output = { recommendedItems = list_or_empty(items) }
    if #scores == #items and #scores > 0 then output.scores = scores end
    return { input = input, output = output, ["error"] = null }
  end)
end

-- Batch segment input lines, as the developer guide shows them:
--   Item-Affinity {"itemId": "105"} -> {"input": {"itemId": "105"}, "output": {"recommendedUsers": [...]}}
--   Item-Attribute-Affinity {"itemAttributes": "ITEMS.genres = \"Comedy\""}
--     -> {"itemAttributes": "...", "output": {"recommendedUsers": [...]}}
-- The recipe's segment(model, request) gets { itemId =, itemAttributes =,
-- numResults =, keep = function(userId) } and returns { { userId =, score = }, ... }.
function _M.batch_segment(eng, job)
  local sv = eng.store.resources[job.solutionVersionArn]
  if not sv then return false, "the solution version no longer exists" end
  local recipe = recipes.get(sv.recipeArn) or {}
  if recipe.recipeType ~= "USER_SEGMENTATION" then
    return false, fmt("batch segment jobs need a USER_SEGMENTATION recipe; %s is %s",
      tostring(sv.recipeArn), tostring(recipe.recipeType))
  end
  local model, merr = _M.model(eng, sv)
  if not model then return false, merr end
  local ctx_base = job.filterArn and _M.filter_context(eng, sv.datasetGroupArn)
  local n = job.numResults or 25
  return batch_lines(eng, job, function(input, where)
    local request = { itemId = input.itemId ~= nil and tostring(input.itemId) or nil,
                      itemAttributes = input.itemAttributes, numResults = n }
    if request.itemId == nil and type(request.itemAttributes) ~= "string" then
      return nil, where .. ": a batch segment input line needs itemId or itemAttributes"
    end
    if job.filterArn then
      local ctx = { subject = "UserID", items = ctx_base.items, users = ctx_base.users,
                    interactions = ctx_base.interactions }
      local keep, _, msg = _M.filter_predicate(eng, sv.datasetGroupArn, job.filterArn, input.filterValues, ctx)
      if not keep then return nil, where .. ": " .. tostring(msg) end
      request.keep = keep
    end
    local list, why = training.segment(sv.recipeArn, model, request)
    if not list then return nil, where .. ": " .. tostring(why) end
    -- The filter again, for a recipe that does not ask keep itself.
    local users = {}
    for _, rec in ipairs(list) do
      if #users >= n then break end
      local id = tostring(rec.userId)
      if not request.keep or request.keep(id) then users[#users + 1] = id end
    end
    -- Both names: the guide's examples show recommendedUsers, AWS's recorded
    -- run (amazon-personalize-samples user_segmentation_example.ipynb) has usersList.
    local output = { recommendedUsers = list_or_empty(users), usersList = list_or_empty(users) }
    if request.itemId ~= nil then
      return { input = { itemId = request.itemId }, output = output }
    end
    return { itemAttributes = request.itemAttributes, output = output }
  end)
end

return _M
