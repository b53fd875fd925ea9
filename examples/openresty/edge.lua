-- luacheck: globals ngx
-- A recommendation edge API on nginx's Lua module (see nginx.conf.in):
--
--   GET  /recommendations?user=ID&n=10   the campaign's items for ID, with titles
--   POST /events                          {"userId","sessionId","itemId","eventType",...}
--                                         or {"events":[...]}: buffered, sent in batches
--   GET  /events/stats                    this worker's batching counters
--
-- Configuration comes from the environment (declared with `env` in
-- nginx.conf): CAMPAIGN_ARN, TRACKING_ID, ITEMS_CSV, plus the usual
-- AWS_REGION / AWS_ENDPOINT_URL / keys the client reads itself.
--
-- Clients are made once per worker on first use; every call goes through
-- the ngx transport (cosockets), so a slow Personalize answer holds only
-- the request waiting for it.
local cjson = require "cjson.safe"
local personalize = require "personalize"

local tonumber, tostring, pairs, type = tonumber, tostring, pairs, type
local getenv = os.getenv

local _M = {}

_M.FLUSH_EVERY = 1        -- seconds between flushes of partly filled batches
_M.IDLE = 60              -- seconds after which an empty batcher is dropped
_M.MAX_RESULTS = 100

local clients = {}        -- this worker's clients, made on first use
local batchers = {}       -- "session\0user" -> { batcher =, used = }
local stats = { accepted = 0, rejected = 0 }

-- The worker's client for `service`, or nil and why (a missing region
-- names the `env` directive to add).
local function client(service)
  local c = clients[service]
  if not c then
    local ok, made = pcall(personalize.client, service)   -- region, endpoint, keys: environment
    if not ok then return nil, tostring(made) end
    c = made
    clients[service] = c
  end
  return c
end

local function reply(status, doc)
  ngx.status = status
  ngx.header["Content-Type"] = "application/json"
  ngx.say(cjson.encode(doc))
  return ngx.exit(status)
end

local function fail(status, code, message)
  return reply(status, { error = code, message = message })
end

---------------------------------------------------------------------------
-- Item titles: ITEMS_CSV (ITEM_ID,TITLE,...) loaded into the shared dict
-- once, by whichever worker gets there first.

-- The fields of one CSV line (double-quoted fields with "" escapes).
local function csv_fields(line)
  local fields, pos = {}, 1
  while true do
    if line:sub(pos, pos) == '"' then
      local value, i = {}, pos + 1
      while true do
        local q = line:find('"', i, true)
        if not q then value[#value + 1] = line:sub(i); pos = #line + 1; break end
        value[#value + 1] = line:sub(i, q - 1)
        if line:sub(q + 1, q + 1) == '"' then
          value[#value + 1] = '"'; i = q + 2
        else
          pos = q + 1; break
        end
      end
      fields[#fields + 1] = table.concat(value)
    else
      local comma = line:find(",", pos, true) or (#line + 1)
      fields[#fields + 1] = line:sub(pos, comma - 1)
      pos = comma
    end
    if line:sub(pos, pos) ~= "," then return fields end
    pos = pos + 1
  end
end
_M.csv_fields = csv_fields

local function load_titles(dict)
  if dict:get("__loaded") then return true end
  local path = getenv("ITEMS_CSV")
  if not path then return nil, "ITEMS_CSV is not set (declare it with `env ITEMS_CSV;`)" end
  local f, err = io.open(path, "rb")
  if not f then return nil, err end
  local header = csv_fields((f:read("*l") or ""):gsub("\r$", ""))
  local id_col, title_col
  for i, name in ipairs(header) do
    if name == "ITEM_ID" then id_col = i elseif name == "TITLE" then title_col = i end
  end
  if not id_col or not title_col then f:close(); return nil, path .. " has no ITEM_ID and TITLE columns" end
  for line in f:lines() do
    local row = csv_fields((line:gsub("\r$", "")))
    if row[id_col] and row[title_col] then dict:set(row[id_col], row[title_col]) end
  end
  f:close()
  dict:set("__loaded", true)
  return true
end

---------------------------------------------------------------------------

function _M.recommendations()
  local campaign = getenv("CAMPAIGN_ARN")
  if not campaign then return fail(500, "Misconfigured", "CAMPAIGN_ARN is not set (`env CAMPAIGN_ARN;`)") end
  local args = ngx.req.get_uri_args()
  local user = args.user
  if type(user) ~= "string" or user == "" then return fail(400, "BadRequest", "user=ID is required") end
  local n = tonumber(args.n or 10)
  if not n or n < 1 or n > _M.MAX_RESULTS or n % 1 ~= 0 then
    return fail(400, "BadRequest", "n must be a whole number from 1 to " .. _M.MAX_RESULTS)
  end
  local runtime, cerr = client("personalize-runtime")
  if not runtime then return fail(500, "Misconfigured", cerr) end
  local res, err = runtime:get_recommendations {
    campaignArn = campaign, userId = user, numResults = n,
  }
  if not res then
    return fail(err.status and err.status < 500 and 400 or 502, err.code, err.message)
  end
  local titles = ngx.shared.item_titles
  local ok, terr = load_titles(titles)
  if not ok then ngx.log(ngx.WARN, "edge: no item titles: ", terr) end
  local items = {}
  for i, it in ipairs(res.itemList or {}) do
    items[i] = { itemId = it.itemId, score = it.score, title = titles:get(it.itemId) or cjson.null }
  end
  return reply(200, { userId = user, recommendationId = res.recommendationId, items = items })
end

---------------------------------------------------------------------------
-- Events: one batcher per (session, user) in this worker; a full batch
-- (10 events) is sent by the request that filled it, the rest by a timer.

local function batcher_for(session, user)
  local key = session .. "\0" .. user
  local b = batchers[key]
  if not b then
    local events, err = client("personalize-events")
    if not events then return nil, err end
    b = { batcher = personalize.events_batcher(events, {
            trackingId = getenv("TRACKING_ID"), sessionId = session, userId = user }) }
    batchers[key] = b
  end
  b.used = ngx.now()
  return b.batcher
end

function _M.events()
  if ngx.req.get_method() ~= "POST" then return fail(405, "MethodNotAllowed", "POST events here") end
  if not getenv("TRACKING_ID") then return fail(500, "Misconfigured", "TRACKING_ID is not set (`env TRACKING_ID;`)") end
  ngx.req.read_body()
  local doc = cjson.decode(ngx.req.get_body_data() or "")
  if type(doc) ~= "table" then return fail(400, "BadRequest", "a JSON object expected") end
  local list = doc.events or { doc }
  local accepted, problems = 0, {}
  for i, ev in ipairs(list) do
    local session, user = ev.sessionId or doc.sessionId, ev.userId or doc.userId
    if type(session) ~= "string" or type(user) ~= "string" then
      problems[#problems + 1] = ("event %d: sessionId and userId (strings) are required"):format(i)
    else
      local event = {}
      for k, v in pairs(ev) do
        if k ~= "sessionId" and k ~= "userId" then event[k] = v end
      end
      event.eventType = event.eventType or "click"
      local batcher, berr = batcher_for(session, user)
      if not batcher then return fail(500, "Misconfigured", berr) end
      local ok, err = batcher:put(event)
      if ok then
        accepted = accepted + 1
      elseif err.code == "ParamValidation" then
        problems[#problems + 1] = ("event %d: %s"):format(i, err.message)
      else
        accepted = accepted + 1   -- buffered, but its batch failed to send
        ngx.log(ngx.ERR, "edge: PutEvents failed: ", tostring(err))
      end
    end
  end
  stats.accepted = stats.accepted + accepted
  stats.rejected = stats.rejected + #problems
  return reply(#problems > 0 and accepted == 0 and 400 or 202,
    { accepted = accepted, problems = #problems > 0 and problems or nil })
end

function _M.events_stats()
  local out = { accepted = stats.accepted, rejected = stats.rejected, sent = 0, calls = 0,
                failed = 0, buffered = 0, batchers = 0 }
  for _, b in pairs(batchers) do
    local batcher = b.batcher
    out.sent = out.sent + batcher.sent
    out.calls = out.calls + batcher.calls
    out.failed = out.failed + #batcher:failed()
    out.buffered = out.buffered + batcher:pending()
    out.batchers = out.batchers + 1
  end
  return reply(200, out)
end

-- The timer: sends partly filled batches, drops idle batchers.
local function flush_all(premature)
  local now = ngx.now()
  -- A snapshot: requests may add batchers while a flush waits on the network.
  local list = {}
  for key, b in pairs(batchers) do list[#list + 1] = { key, b } end
  for _, kb in ipairs(list) do
    local key, b = kb[1], kb[2]
    local ok, err = b.batcher:flush()
    if not ok then ngx.log(ngx.ERR, "edge: PutEvents failed: ", tostring(err)) end
    if premature or (b.batcher:pending() == 0 and now - b.used > _M.IDLE and #b.batcher:failed() == 0) then
      batchers[key] = nil
    end
  end
end

-- No network here (init_worker cannot use cosockets): only the timer.
function _M.init_worker()
  local ok, err = ngx.timer.every(_M.FLUSH_EVERY, flush_all)
  if not ok then ngx.log(ngx.ERR, "edge: cannot start the flush timer: ", err) end
end

return _M
