-- Sends events to an event tracker in PutEvents batches.
--
--   local events = personalize.client("personalize-events", opts)
--   local batcher = personalize.events_batcher(events, {
--     trackingId = tracking_id, sessionId = "session-1", userId = "user-1",
--     max_batch = 10,               -- events per PutEvents call, 1..10 (AWS's limit)
--   })
--   local ok, err = batcher:put { eventType = "click", itemId = "42",
--                                 properties = { discount = "yes" } }
--   ...
--   local ok, err = batcher:close()  -- sends what is left
--   for _, f in ipairs(batcher:failed()) do print(f.event.itemId, f.error) end
--
-- put(event) copies the event, sets sentAt to now (epoch seconds) when
-- absent, encodes a `properties` table as the JSON string the API wants,
-- checks it against the model's Event shape (eventType required, sentAt a
-- number, lengths, unknown members...) and buffers it; a full buffer is sent
-- at once. Returns true, or nil, err when the event is not buffered:
--   * err.code "ParamValidation": the event is invalid; nothing is recorded;
--   * any other: the PutEvents call the event completed failed; that whole
--     batch is in :failed().
-- flush() sends the buffer: true (also when empty) or nil, err.
-- close() flushes and refuses further puts (they raise).
-- failed() lists { event = the event as sent, error = err } for every event
-- of a failed batch (PutEvents succeeds or fails as a whole).
-- batcher.sent and batcher.calls count events sent and PutEvents calls made.
-- Bad options (missing trackingId or sessionId, max_batch out of 1..10)
-- raise. The Event shape comes from the client's model (client:model()).
local cjson = require "cjson"
local core = require "personalize.core"
local errors = require "personalize.errors"
local validate = require "personalize.validate"

local type, pairs, tostring, error, pcall, setmetatable =
  type, pairs, tostring, error, pcall, setmetatable
local floor, concat = math.floor, table.concat
local str_format = string.format

local _M = {}

-- AWS's limit of events per PutEvents call.
_M.MAX_BATCH = 10

local Batcher = {}
Batcher.__index = Batcher

local function invalid(problems)
  local lines = { "invalid event for PutEvents:" }
  for _, p in ipairs(problems) do
    lines[#lines + 1] = (p.path == "" and "" or (p.path .. ": ")) .. p.reason
  end
  return nil, errors.new { code = "ParamValidation", message = concat(lines, "\n"),
                           problems = problems, retryable = false }
end

-- The event as it will be sent, or nil, err.
function Batcher:prepare(event)
  if type(event) ~= "table" then
    return invalid { { path = "", reason = "an event must be a table, got " .. type(event) } }
  end
  local ev = {}
  for k, v in pairs(event) do ev[k] = v end
  if ev.sentAt == nil then ev.sentAt = self.now() end
  if type(ev.properties) == "table" then
    local ok, json = pcall(cjson.encode, ev.properties)
    if not ok then
      return invalid { { path = "properties", reason = "cannot be encoded as JSON: " .. tostring(json) } }
    end
    ev.properties = json
  end
  local problems = validate.check(self.model, "Event", ev)
  if problems then return invalid(problems) end
  return ev
end

-- Sends the buffered events in one PutEvents call.
function Batcher:flush()
  local batch = self.buffer
  if #batch == 0 then return true end
  self.buffer = {}
  self.calls = self.calls + 1
  local res, err = self.client:put_events {
    trackingId = self.trackingId, sessionId = self.sessionId, userId = self.userId, eventList = batch,
  }
  if not res then
    for _, ev in ipairs(batch) do self._failed[#self._failed + 1] = { event = ev, error = err } end
    return nil, err
  end
  self.sent = self.sent + #batch
  return true
end

-- Buffers one event; see the module header.
function Batcher:put(event)
  if self.closed then error("personalize.events_batcher: put after close", 2) end
  local ev, err = self:prepare(event)
  if not ev then return nil, err end
  local buffer = self.buffer
  buffer[#buffer + 1] = ev
  if #buffer >= self.max_batch then return self:flush() end
  return true
end

-- Flushes and closes; true or nil, err from the last send.
function Batcher:close()
  local ok, err = self:flush()
  self.closed = true
  return ok, err
end

-- The events of failed batches, each { event =, error = }.
function Batcher:failed()
  local out = {}
  for i, f in ipairs(self._failed) do out[i] = f end
  return out
end

-- The number of events waiting to be sent.
function Batcher:pending()
  return #self.buffer
end

function Batcher.__tostring(self)
  return str_format("personalize.events_batcher (%d buffered, %d sent, %d failed)",
    #self.buffer, self.sent, #self._failed)
end

local function required_string(opts, key)
  local v = opts[key]
  if type(v) ~= "string" or v == "" then
    error(str_format("personalize.events_batcher: option %s (a string) is required", key), 3)
  end
  return v
end

function _M.new(client, opts)
  local model = type(client) == "table" and type(client.model) == "function" and client:model()
  if type(model) ~= "table" or not (model.shapes and model.shapes.Event) then
    error("personalize.events_batcher: a personalize-events client expected", 2)
  end
  if type(opts) ~= "table" then error("personalize.events_batcher: options must be a table", 2) end
  local max_batch = opts.max_batch or _M.MAX_BATCH
  if type(max_batch) ~= "number" or max_batch ~= floor(max_batch) or max_batch < 1 or max_batch > _M.MAX_BATCH then
    error(str_format("personalize.events_batcher: max_batch must be an integer from 1 to %d, got %s",
      _M.MAX_BATCH, tostring(max_batch)), 2)
  end
  if opts.userId ~= nil and type(opts.userId) ~= "string" then
    error("personalize.events_batcher: option userId must be a string", 2)
  end
  if opts.now ~= nil and type(opts.now) ~= "function" then
    error("personalize.events_batcher: option now must be a function", 2)
  end
  return setmetatable({
    client = client, model = model, max_batch = max_batch,
    trackingId = required_string(opts, "trackingId"), sessionId = required_string(opts, "sessionId"),
    userId = opts.userId, now = opts.now or core.time,
    buffer = {}, sent = 0, calls = 0, closed = false, _failed = {},
  }, Batcher)
end

return setmetatable(_M, { __call = function(_, client, opts) return _M.new(client, opts) end })
