-- The work behind personalize-local's asynchronous resources, run when a
-- resource reaches the end of its in-progress step:
--
--   jobs.import(eng, job)          dataset import: S3 CSV -> stored rows
--   jobs.export(eng, job)          dataset export: stored rows -> S3 CSV
--   jobs.delete_data(eng, job)     data deletion: drop the listed users
--   jobs.train(eng, r)             solution version / recommender: a model + metrics
--   jobs.deploy(eng, campaign)     campaign: its model loads
--   jobs.batch_inference(eng, job) JSON Lines in S3 -> recommendations in S3
--   jobs.batch_segment(eng, job)   (needs a USER_SEGMENTATION recipe)
--
-- Each returns true, or false and the failureReason the API shows.
-- Stored data: datasets/<id>/data.json holds the imported rows by column
-- (replaced atomically: a failed import keeps the previous data) and
-- datasets/<id>/events.jsonl the records sent one by one (put_events,
-- put_items, ...), appended durably.
local schema = require "personalize.schema"
local import = require "personalize.engine.import"
local training = require "personalize.engine.training"
local recipes = require "personalize.engine.recipes"
local metrics = require "personalize.engine.metrics"
local store_mod = require "personalize.engine.store"

local cjson = store_mod.json
local null = cjson.null
local pairs, ipairs, type, tostring = pairs, ipairs, type, tostring
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

-- The schema fields of dataset `ds`, or nil, message.
local function dataset_fields(eng, ds)
  local sch = eng.store.resources[ds.schemaArn]
  if not sch then return nil, "the dataset's schema " .. tostring(ds.schemaArn) .. " no longer exists" end
  return schema.check(sch.schema, ds.datasetType)
end
_M.dataset_fields = dataset_fields

-- Columns with holes (nulls) survive JSON as arrays of cjson.null.
local function encode_columns(data)
  local out = { n = data.n }
  for k, col in pairs(data) do
    if k ~= "n" then
      local c = {}
      for i = 1, data.n do
        local v = col[i]
        if v == nil then c[i] = null else c[i] = v end
      end
      out[k] = c
    end
  end
  return out
end

local function decode_columns(doc)
  local data = { n = doc.n or 0 }
  for k, col in pairs(doc) do
    if k ~= "n" then
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

-- Appends one record (a table field -> value) to the dataset's journal.
function _M.append_record(eng, ds, row)
  local doc = {}
  for k, v in pairs(row) do doc[k] = v end
  local ok, err = eng.store:append_line(events_path(ds), cjson.encode(doc))
  if not ok then return nil, err end
  eng.cache[ds.datasetArn] = nil
  return true
end

local function bulk_data(eng, ds)
  local doc = eng.store:read_json(data_path(ds))
  return doc and decode_columns(doc) or { n = 0 }
end

-- All rows of dataset `ds`: imported ones, then those sent one by one.
function _M.dataset_data(eng, ds)
  local cached = eng.cache[ds.datasetArn]
  if cached then return cached end
  local data = bulk_data(eng, ds)
  local lines = eng.store:read_lines(events_path(ds))
  if #lines > 0 then
    local n = data.n
    for _, line in ipairs(lines) do
      local ok, row = pcall(cjson.decode, line)
      if ok and type(row) == "table" then
        n = n + 1
        for k, v in pairs(row) do
          if v ~= null then
            local col = data[k]
            if not col then col = {}; data[k] = col end
            col[n] = v
          end
        end
      end
    end
    data.n = n
  end
  eng.cache[ds.datasetArn] = data
  return data
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

-- Reads the CSV objects at an s3:// URL (one object, or all under a
-- prefix), checking the bucket policy lets Personalize read them.
local function read_source(eng, url)
  local bucket, key = split_s3(url)
  local s3 = eng.s3
  local keys
  if key ~= "" and not key:find("/$") and s3:read_object(bucket, key) then
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
  local files = {}
  for _, k in ipairs(keys) do
    if not s3:allows(bucket, PRINCIPAL, "s3:GetObject", k) then return nil, S3_DENIED end
    local text, code, msg = s3:read_object(bucket, k)
    if not text then return nil, fmt("cannot read s3://%s/%s: %s %s", bucket, k, tostring(code), tostring(msg or "")) end
    files[#files + 1] = { name = "s3://" .. bucket .. "/" .. k, text = text }
  end
  return files
end

function _M.import(eng, job)
  local ds = eng.store.resources[job.datasetArn]
  if not ds then return false, "the dataset no longer exists" end
  local fields, problem = dataset_fields(eng, ds)
  if not fields then return false, problem end
  local files, rerr = read_source(eng, job.dataSource.dataLocation)
  if not files then return false, rerr end
  local data
  for _, f in ipairs(files) do
    local part, perr = import.parse(f.text, fields, { file = f.name })
    if not part then return false, perr end
    data = data and import.append(data, part) or part
  end
  if job.importMode == "INCREMENTAL" then
    data = import.append(bulk_data(eng, ds), data)
  end
  local ok, werr = eng.store:write_json(data_path(ds), encode_columns(data))
  if not ok then return false, "cannot store the imported data: " .. tostring(werr) end
  eng.cache[ds.datasetArn] = nil
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
      local ok, werr = eng.store:write_json(data_path(ds), encode_columns(kept))
      if not ok then return false, "cannot store the remaining data: " .. tostring(werr) end
      eng.store:remove(events_path(ds))
      eng.cache[ds.datasetArn] = nil
    end
  end
  local n = 0
  for _ in pairs(deleted) do n = n + 1 end
  job.numDeleted = n
  return true
end

-- The columnar training data of a dataset group (interactions, items, users).
function _M.training_data(eng, group_arn)
  local sets = group_datasets(eng, group_arn)
  if not sets.INTERACTIONS then
    return nil, "The dataset group has no Interactions dataset: create one and import interactions before training"
  end
  return {
    interactions = _M.dataset_data(eng, sets.INTERACTIONS),
    items = sets.ITEMS and _M.dataset_data(eng, sets.ITEMS) or nil,
    users = sets.USERS and _M.dataset_data(eng, sets.USERS) or nil,
  }
end

local function model_path(r) return "models/" .. r._id .. ".json" end

function _M.train(eng, r)
  local started = eng.now()
  local data, derr = _M.training_data(eng, r.datasetGroupArn)
  if not data then return false, derr end
  local config = { recipeArn = r.recipeArn, solutionConfig = r.solutionConfig,
                   eventType = r.eventType or recipes.DOMAIN_EVENT_TYPE[r.recipeArn] }
  local model, reason = training.train(r.recipeArn, data, config)
  if not model then return false, reason end
  local ok, werr = eng.store:write_json(model_path(r), model)
  if not ok then return false, "cannot store the model: " .. tostring(werr) end
  local key = r.solutionVersionArn or r.recommenderArn
  eng.models[key] = model
  if r._kind == "solution_version" then
    local m = metrics.evaluate(r.recipeArn, data, config)
    r._metrics = m or {}
    r.trainingHours = (eng.now() - started) / 3600
  else
    r.modelMetrics = metrics.evaluate(r.recipeArn, data, config) or {}
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

function _M.batch_inference(eng, job)
  local sv = eng.store.resources[job.solutionVersionArn]
  if not sv then return false, "the solution version no longer exists" end
  local model, merr = _M.model(eng, sv)
  if not model then return false, merr end
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
        local recs, why = training.recommend(sv.recipeArn, model, {
          userId = input.userId, itemId = input.itemId, numResults = job.numResults or 25 })
        if not recs then return false, fmt("%s line %d: %s", f.name, lineno, tostring(why)) end
        local items, scores = {}, {}
        for i, rec in ipairs(recs) do
          items[i] = rec.itemId
          scores[i] = rec.score
        end
        local output = { recommendedItems = #items > 0 and items or EMPTY_MARK }
        if #scores == #items and #scores > 0 then output.scores = scores end
        local text = cjson.encode { input = input, output = output, ["error"] = null }
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

function _M.batch_segment(_, _)
  return false, "batch segment jobs need a USER_SEGMENTATION recipe, which personalize-local does not train yet"
end

return _M
