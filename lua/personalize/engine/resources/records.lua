-- The records of personalize-local's control plane: each resource kind
-- (KINDS), finding, creating, tagging and removing records, their status,
-- and the pages of List* answers. Shared by the operations
-- (engine.resources, resources.create) and the lifecycle machine
-- (resources.lifecycle).
--
-- Resources are plain records with the API's member names plus internal
-- fields (_kind, _seq, _due, _id) the wire never sees: responses are
-- encoded through the model, which writes only the shape's members.
-- Functions that can fail return the record (or true) or nil, code, message.
local core = require "personalize.core"
local lifecycles = require "personalize.lifecycles"

local type, tostring, tonumber, pairs, ipairs = type, tostring, tonumber, pairs, ipairs
local sort, fmt = table.sort, string.format


local _M = {}

-- Each resource kind as the engine keeps it: the API's facts
-- (personalize.lifecycles: api, key, out, list, statuses) and the
-- engine's own:
--   prefix: the ARN's resource type; parent: the member List* filters on;
--   name: the name member; flow: the status path the engine drives
--   (pending, in progress, success, failure); at_once: ACTIVE from the
--   Create call on; usable_pending: used by other calls while CREATE
--   PENDING; brief: a moment of pending, then success (flow skips the
--   in-progress status: its second step only waits); work: the job
--   (engine.jobs) run at the end of the in-progress step.
--
-- Lifecycles as AWS users see them. Schemas have no status. Solutions and
-- filters are ACTIVE at once: AWS's recorded runs describe a solution a
-- second after creating it as ACTIVE with lastUpdatedDateTime equal to
-- creationDateTime, and create its first version in the same second
-- (amazon-personalize-samples,
-- next_steps/core_use_cases/user_segmentation/user_segmentation_example.ipynb);
-- the developer guide's examples call CreateSolutionVersion right after
-- CreateSolution. Dataset groups and datasets are CREATE PENDING for a
-- moment (timings.pending), then ACTIVE: the API reference tells users to
-- wait for a dataset group, and recorded runs print "CREATE PENDING" then
-- "ACTIVE" for both; yet a dataset takes an import job at once (recorded:
-- POC_in_a_box/completed/02_Validating_and_Importing_Item_Metadata.ipynb
-- creates the Items dataset at 22:29:31 and its import job at 22:29:37,
-- with no wait). Event trackers too are CREATE PENDING for a moment, then
-- ACTIVE: AWS's code sleeps one minute after CreateEventTracker before
-- sending events (trending_now_example.ipynb) and deletes a tracker two
-- one-minute sleeps after creating it (getting_started 99.Cleanup, whose
-- sibling clean-up code deletes trackers only when ACTIVE). Imports,
-- exports, training, campaigns, recommenders, batch jobs and metric
-- attributions go through CREATE PENDING (timings.pending) and
-- IN_PROGRESS (timings.in_progress).
local ENGINE = {
  schema = { prefix = "schema" },
  dataset_group = { prefix = "dataset-group", brief = true },
  dataset = { parent = "datasetGroupArn", brief = true, usable_pending = true },
  dataset_import_job = { prefix = "dataset-import-job", parent = "datasetArn", name = "jobName", work = "import" },
  dataset_export_job = { prefix = "dataset-export-job", parent = "datasetArn", name = "jobName", work = "export" },
  data_deletion_job = { prefix = "data-deletion-job", parent = "datasetGroupArn", name = "jobName",
                        work = "delete_data" },
  event_tracker = { prefix = "event-tracker", parent = "datasetGroupArn", brief = true },
  filter = { prefix = "filter", parent = "datasetGroupArn", at_once = true },
  solution = { prefix = "solution", parent = "datasetGroupArn", at_once = true },
  solution_version = { parent = "solutionArn", work = "train" },
  campaign = { prefix = "campaign", parent = "solutionArn", work = "deploy" },
  recommender = { prefix = "recommender", parent = "datasetGroupArn", work = "train" },
  batch_inference_job = { prefix = "batch-inference-job", parent = "solutionVersionArn", name = "jobName",
                          work = "batch_inference" },
  batch_segment_job = { prefix = "batch-segment-job", parent = "solutionVersionArn", name = "jobName",
                        work = "batch_segment" },
  metric_attribution = { prefix = "metric-attribution", parent = "datasetGroupArn" },
}

local KINDS = {}
for kind, api in pairs(lifecycles.KINDS) do
  local def = ENGINE[kind]
  def.kind, def.api, def.key, def.out, def.list = kind, api.api, api.key, api.out, api.list
  def.name = def.name or "name"
  local s = api.statuses
  if s then def.flow = def.brief and { s[1], s[3], s[3], s[4] } or s end
  KINDS[kind] = def
end
_M.KINDS = KINDS
local BY_API = {}
for _, def in pairs(KINDS) do BY_API[def.api] = def end

-- Status transitions that only wait: status -> next status.
local WAITS = {
  ["DELETE PENDING"] = "DELETE IN_PROGRESS", ["DELETE IN_PROGRESS"] = false,
  ["UPDATE PENDING"] = "UPDATE IN_PROGRESS",
  ["CREATE STOPPING"] = "CREATE STOPPED",
  ["STOP PENDING"] = "STOP IN_PROGRESS", ["STOP IN_PROGRESS"] = "INACTIVE",
  ["START PENDING"] = "START IN_PROGRESS", ["START IN_PROGRESS"] = "ACTIVE",
}

local DATASET_TYPES = { interactions = "INTERACTIONS", items = "ITEMS", users = "USERS",
                        actions = "ACTIONS", action_interactions = "ACTION_INTERACTIONS" }
_M.DATASET_TYPES = DATASET_TYPES

local function err(code, message) return nil, code, message end

local function not_found(what, arn)
  return err("ResourceNotFoundException", fmt("Could not find %s with ARN %s", what, tostring(arn)))
end

function _M.arn(eng, rest)
  return fmt("arn:aws:personalize:%s:%s:%s", eng.region, eng.account_id, rest)
end

-- A record of `kind` by ARN, or nil, code, message.
local function find(eng, kind, arn)
  local r = arn and eng.store.resources[arn]
  if not r or r._kind ~= kind then
    return not_found(KINDS[kind].api:gsub("(%l)(%u)", "%1 %2"):lower(), arn)
  end
  return r
end
_M.find = find

local function is_active(r)
  return r.status == "ACTIVE" or (r.status or ""):find("^UPDATE") ~= nil
end

local function require_active(r, what)
  local pending = r.status == "CREATE PENDING" and KINDS[r._kind].usable_pending
  if not is_active(r) and not pending then
    return err("ResourceInUseException", fmt("%s %s is not ACTIVE (status %s)", what, r[KINDS[r._kind].key], tostring(r.status)))
  end
  return r
end

-- The record of `kind` at `arn` when other calls may use it
-- (require_active), else nil, code, message.
local function find_usable(eng, kind, arn, what)
  local r, code, msg = find(eng, kind, arn)
  if not r then return err(code, msg) end
  return require_active(r, what)
end

local function hex_id(eng, n)
  return core.sha256_hex(eng.salt .. ":" .. eng.store:next_seq() .. ":" .. eng.now()):sub(1, n)
end
_M.hex_id = hex_id

function _M.uuid(eng)
  local h = hex_id(eng, 32)
  return fmt("%s-%s-%s-%s-%s", h:sub(1, 8), h:sub(9, 12), h:sub(13, 16), h:sub(17, 20), h:sub(21, 32))
end

-- A new record of `kind` with ARN `arn`, saved by the caller's request.
local function new_record(eng, kind, arn, fields)
  local now = eng.now()
  local r = fields
  r._kind, r._seq = kind, eng.store:next_seq()
  r[KINDS[kind].key] = arn
  r.creationDateTime, r.lastUpdatedDateTime = now, now
  local def = KINDS[kind]
  local flow = def.flow
  if flow and def.at_once then
    r.status = flow[3]
  elseif flow then
    r.status = flow[1]
    r._due = now + eng.timings.pending
  end
  eng.store.resources[arn] = r
  return r
end
_M.new_record = new_record

local function set_status(eng, r, status, due_in)
  r.status = status
  r.lastUpdatedDateTime = eng.now()
  r._due = due_in and (eng.now() + due_in) or nil
end
_M.set_status = set_status

local function set_tags(eng, arn, tags)
  if type(tags) ~= "table" or #tags == 0 then return true end
  local current = eng.store.tags[arn] or {}
  local by_key, order = {}, {}
  for i, t in ipairs(current) do by_key[t.tagKey] = i; order[i] = t end
  for _, t in ipairs(tags) do
    if by_key[t.tagKey] then order[by_key[t.tagKey]] = t
    else order[#order + 1] = t; by_key[t.tagKey] = #order end
  end
  if #order > 50 then
    return err("TooManyTagsException", fmt("a resource can have at most 50 tags; %s would have %d", arn, #order))
  end
  eng.store.tags[arn] = order
  return true
end

-- Creates a resource after the kind's own checks; `arn` defaults to
-- <prefix>/<name>. Returns the record or nil, code, message.
local function create(eng, kind, params, fields, arn)
  local def = KINDS[kind]
  local name = params[def.name]
  arn = arn or _M.arn(eng, def.prefix .. "/" .. name)
  if eng.store.resources[arn] then
    return err("ResourceAlreadyExistsException", fmt("%s %s already exists", def.api, arn))
  end
  local r = new_record(eng, kind, arn, fields)
  local ok, code, msg = set_tags(eng, arn, params.tags)
  if not ok then
    eng.store.resources[arn] = nil
    return err(code, msg)
  end
  return r
end

local function copy_params(params, names)
  local out = {}
  for _, n in ipairs(names) do out[n] = params[n] end
  return out
end

-- The records that keep `r` from being deleted, as "kind ARN" strings.
local function children(eng, r)
  local def = KINDS[r._kind]
  local arn = r[def.key]
  local found = {}
  for _, other in pairs(eng.store.resources) do
    local odef = KINDS[other._kind]
    local uses = (odef.parent and other[odef.parent] == arn)
      or (r._kind == "schema" and other._kind == "dataset" and other.schemaArn == arn)
      or (r._kind == "solution" and other._kind == "campaign" and other.solutionArn == arn)
    -- Finished jobs and versions go with their parent. What is being
    -- deleted no longer counts: AWS's clean-up code deletes a campaign,
    -- sleeps a minute and deletes its solution, without waiting for the
    -- campaign to be gone (amazon-personalize-samples 99.Cleanup).
    local owned = (odef.name == "jobName") or other._kind == "solution_version"
    local deleting = tostring(other.status):find("^DELETE") ~= nil
    if uses and not owned and not deleting then found[#found + 1] = odef.api .. " " .. other[odef.key] end
  end
  sort(found)
  return found
end

-- Removes `r` and what it owns (jobs, versions, data) for good.
local function destroy(eng, r)
  local arn = r[KINDS[r._kind].key]
  local owned = {}
  for _, other in pairs(eng.store.resources) do
    local odef = KINDS[other._kind]
    if odef.parent and other[odef.parent] == arn then owned[#owned + 1] = other end
  end
  for _, other in ipairs(owned) do destroy(eng, other) end
  if r._kind == "dataset" then eng.store:remove("datasets/" .. r._id) end
  if r._kind == "solution_version" or r._kind == "recommender" then
    eng.store:remove("models/" .. r._id .. ".json")
    eng.store:remove("models/" .. r._id)   -- the histories stored beside it
    eng.models[arn] = nil
  end
  eng.store.resources[arn] = nil
  eng.store.tags[arn] = nil
end
_M.destroy = destroy

-- nextToken: the offset into the listing, opaque to callers.
local function page(eng, items, params, member)
  local max = math.floor(params.maxResults or 100)
  local offset = 0
  if params.nextToken then
    offset = tonumber((params.nextToken:match("^pl1%.(%d+)%.") or ""))
    local check = params.nextToken:match("%.(%x+)$")
    if not offset or check ~= core.sha256_hex(eng.salt .. fmt("%d", offset)):sub(1, 12) then
      return err("InvalidNextTokenException", "The nextToken is not valid: " .. params.nextToken:sub(1, 40))
    end
  end
  local out = {}
  for i = offset + 1, math.min(offset + max, #items) do out[#out + 1] = items[i] end
  local result = { [member] = out }
  if offset + max < #items then
    local next_offset = offset + max
    result.nextToken = fmt("pl1.%d.%s", next_offset, core.sha256_hex(eng.salt .. fmt("%d", next_offset)):sub(1, 12))
  end
  return result
end
_M.page = page

_M.BY_API, _M.WAITS, _M.err, _M.not_found, _M.is_active = BY_API, WAITS, err, not_found, is_active
_M.find_usable, _M.require_active, _M.set_tags, _M.create, _M.copy_params = find_usable, require_active, set_tags, create, copy_params
_M.children = children

return _M
