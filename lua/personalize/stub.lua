-- A Stubber for tests, like botocore's: queued responses instead of the
-- network.
--
--   local stub = personalize.stub(client)       -- active at once
--   stub:add_response("describe_schema", { schema = { name = "s" } },
--                     { schemaArn = arn })      -- expected params (optional)
--   stub:add_error("describe_campaign", "ResourceNotFoundException", "gone")
--   ... code under test calls client:describe_schema{ schemaArn = arn } ...
--   stub:assert_no_pending()
--   stub:deactivate()                           -- the real call path again
--
-- Contract:
--   * Calls must come in the order responses were added. A call to another
--     operation than the next queued one, a call with nothing queued, or
--     params that differ from the expected ones (deep comparison; stub.ANY
--     matches any value) raise an error naming the difference.
--   * Params are validated against the model as the real client does: bad
--     params return nil and the same ParamValidation error, and the queued
--     response stays pending (as in botocore, where validation fails before
--     the response is taken).
--   * add_response checks the response against the operation's output shape
--     (unknown members, types, enums, ...) and raises when it does not fit.
--     Each call returns a fresh deep copy with a ResponseMetadata added.
--   * add_error queues nil, errors.new{ code, message, status (default 400),
--     operation }. Stubbed errors are not retried.
--   * stub.calls lists the calls answered: { operation =, params = }.
-- The client's model comes through client:model() and client:operation(op).
local errors = require "personalize.errors"
local validate = require "personalize.validate"

local type, pairs, ipairs, tostring, error, rawget, rawset, setmetatable, next =
  type, pairs, ipairs, tostring, error, rawget, rawset, setmetatable, next
local concat, sort, remove = table.concat, table.sort, table.remove
local str_format = string.format

local _M = {}

-- Matches any value in expected params.
local ANY = setmetatable({}, { __tostring = function() return "<ANY>" end })
_M.ANY = ANY

local function deep_copy(v)
  if type(v) ~= "table" or v == ANY then return v end
  local c = {}
  for k, x in pairs(v) do c[k] = deep_copy(x) end
  return c
end

local function is_array(t)
  local n = #t
  for k in pairs(t) do
    if type(k) ~= "number" or k < 1 or k > n or k % 1 ~= 0 then return false end
  end
  return true
end

local function sorted_keys(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  sort(keys, function(a, b)
    if type(a) == type(b) and (type(a) == "number" or type(a) == "string") then return a < b end
    return type(a) < type(b)
  end)
  return keys
end

-- A value as a short Lua-like literal, keys sorted (for messages).
local function show(v)
  local t = type(v)
  if v == ANY then return "<ANY>" end
  if t == "string" then return str_format("%q", v) end
  if t ~= "table" then return tostring(v) end
  local parts = {}
  if is_array(v) then
    for i = 1, #v do parts[i] = show(v[i]) end
  else
    for _, k in ipairs(sorted_keys(v)) do
      local key = (type(k) == "string" and k:match("^[%a_][%w_]*$")) and k or ("[" .. show(k) .. "]")
      parts[#parts + 1] = key .. " = " .. show(v[k])
    end
  end
  if #parts == 0 then return "{}" end
  return "{ " .. concat(parts, ", ") .. " }"
end
_M.show = show

local function child(path, k)
  if type(k) == "number" then return str_format("%s[%d]", path, k) end
  if path == "" then return tostring(k) end
  return path .. "." .. tostring(k)
end

-- The first difference between expected and actual: path, what was
-- expected, what came (both as text); nil when they match.
local function difference(expected, actual, path)
  if expected == ANY then return nil end
  if type(expected) ~= "table" or type(actual) ~= "table" then
    if expected ~= actual then return path, show(expected), show(actual) end
    return nil
  end
  local keys, seen = {}, {}
  for k in pairs(expected) do keys[#keys + 1] = k; seen[k] = true end
  for k in pairs(actual) do if not seen[k] then keys[#keys + 1] = k end end
  sort(keys, function(a, b)
    if type(a) == type(b) and (type(a) == "number" or type(a) == "string") then return a < b end
    return type(a) < type(b)
  end)
  for _, k in ipairs(keys) do
    local e, a = expected[k], actual[k]
    if e == nil then return child(path, k), "nothing", show(a) end
    if a == nil then return child(path, k), show(e), "nothing" end
    local p, want, got = difference(e, a, child(path, k))
    if p then return p, want, got end
  end
  return nil
end
_M.difference = difference

local Stub = {}
Stub.__index = Stub

local function model_of(client)
  local model = type(client) == "table" and type(client.model) == "function" and client:model()
  if type(model) ~= "table" or not model.operations then
    error("personalize.stub: a client (personalize.client(...)) expected", 3)
  end
  return model
end

-- The operation named `op` ("list_schemas" or "ListSchemas"); raises.
local function operation(self, op, level)
  local o = self.client:operation(op)
  if not o then
    error(str_format("personalize.stub: %s has no operation %s", self.client.service, tostring(op)), level + 1)
  end
  return o
end

-- The call path that replaces Client:call while active.
local function stubbed_call(self, client, op_name, params)
  local op = self.client:operation(op_name)
  if not op then
    error(str_format("%s has no operation %s", client.service, tostring(op_name)), 2)
  end
  local queued = self._queue[1]
  if not queued then
    error(str_format("personalize.stub: unexpected call to %s: no responses are pending", op.name), 2)
  end
  if queued.op ~= op then
    error(str_format("personalize.stub: expected a call to %s, got a call to %s", queued.op.name, op.name), 2)
  end
  if queued.expected_params ~= nil then
    local path, want, got = difference(queued.expected_params, params == nil and {} or params, "")
    if path then
      error(str_format("personalize.stub: %s was called with unexpected parameters: at %s expected %s, got %s"
        .. "\nexpected: %s\nreceived: %s", op.name, path == "" and "(params)" or path, want, got,
        show(queued.expected_params), show(params)), 2)
    end
  end

  -- The real client's checks, with the same error.
  local problems
  if params ~= nil and type(params) ~= "table" then
    problems = { { path = "", reason = "parameters must be a table, got " .. type(params) } }
  else
    problems = validate.check(self._model, op.input, params)
  end
  if problems then
    return nil, errors.new { code = "ParamValidation", message = validate.message(problems, op.name),
                             problems = problems, retryable = false, operation = op.name }
  end

  remove(self._queue, 1)
  self.calls[#self.calls + 1] = { operation = op.name, params = deep_copy(params) }
  self._answered = self._answered + 1
  local request_id = str_format("stub-%d", self._answered)
  if queued.error then
    local e = deep_copy(queued.error)
    e.operation, e.request_id = op.name, request_id
    return nil, errors.new(e)
  end
  local res = deep_copy(queued.response)
  if res.ResponseMetadata == nil then
    res.ResponseMetadata = { RequestId = request_id, HTTPStatusCode = 200, HTTPHeaders = {}, RetryAttempts = 0 }
  end
  return require("personalize.result").mark(res)
end

-- Queues `response` for the next call of `op`; returns the stub.
function Stub:add_response(op, response, expected_params)
  local o = operation(self, op, 2)
  if response == nil then response = {} end
  if type(response) ~= "table" then
    error(str_format("personalize.stub: the response for %s must be a table, got %s", o.name, type(response)), 2)
  end
  if expected_params ~= nil and type(expected_params) ~= "table" then
    error(str_format("personalize.stub: expected params for %s must be a table", o.name), 2)
  end
  local body = {}
  for k, v in pairs(response) do if k ~= "ResponseMetadata" then body[k] = v end end
  local problems
  if o.output == nil then
    if next(body) ~= nil then
      problems = { { path = "", reason = "this operation returns no members" } }
    end
  else
    problems = validate.check(self._model, o.output, body)
  end
  if problems then
    local lines = {}
    for i, p in ipairs(problems) do lines[i] = (p.path == "" and "" or (p.path .. ": ")) .. p.reason end
    error(str_format("personalize.stub: the response for %s does not fit its output shape %s:\n%s",
      o.name, tostring(o.output), concat(lines, "\n")), 2)
  end
  self._queue[#self._queue + 1] = { op = o, response = deep_copy(response),
                                    expected_params = deep_copy(expected_params) }
  return self
end

-- Queues an error for the next call of `op`: that call returns nil and an
-- error with `code`, `message` and HTTP `status` (default 400).
function Stub:add_error(op, code, message, status, expected_params)
  local o = operation(self, op, 2)
  if type(code) ~= "string" or code == "" then
    error("personalize.stub: add_error needs an error code (a string)", 2)
  end
  if status ~= nil and type(status) ~= "number" then
    error("personalize.stub: the HTTP status must be a number", 2)
  end
  if expected_params ~= nil and type(expected_params) ~= "table" then
    error(str_format("personalize.stub: expected params for %s must be a table", o.name), 2)
  end
  self._queue[#self._queue + 1] = {
    op = o, expected_params = deep_copy(expected_params),
    error = { code = code, message = message == nil and "" or tostring(message), status = status or 400 },
  }
  return self
end

-- The API names of the operations still queued, in order.
function Stub:pending()
  local names = {}
  for i, q in ipairs(self._queue) do names[i] = q.op.name end
  return names
end

-- Raises when queued responses were not used.
function Stub:assert_no_pending()
  if #self._queue > 0 then
    error(str_format("personalize.stub: %d response(s) still pending: %s",
      #self._queue, concat(self:pending(), ", ")), 2)
  end
end

-- Routes the client's calls to the queue (done by stub(client)).
function Stub:activate()
  if self.active then return self end
  local client = self.client
  self._saved = rawget(client, "call")
  rawset(client, "call", self._call)
  self.active = true
  return self
end

-- Gives the client its real call path back.
function Stub:deactivate()
  if not self.active then return self end
  rawset(self.client, "call", self._saved)
  self._saved = nil
  self.active = false
  return self
end

function Stub.__tostring(self)
  return str_format("personalize.stub (%s, %d pending)", tostring(self.client.service), #self._queue)
end

-- A stub for `client`, already active.
function _M.new(client)
  local model = model_of(client)
  local self = setmetatable({ client = client, calls = {}, active = false,
                              _model = model, _queue = {}, _answered = 0 }, Stub)
  self._call = function(c, op_name, params) return stubbed_call(self, c, op_name, params) end
  self.ANY = ANY
  return self:activate()
end

return setmetatable(_M, { __call = function(_, client) return _M.new(client) end })
