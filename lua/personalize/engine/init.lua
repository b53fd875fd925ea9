-- personalize-local's engine: a Personalize-compatible service in plain
-- Lua, with its state in a data directory. nginx (bin/personalize-local)
-- serves it over HTTP; `endpoint = "local:DIR"` runs it in-process.
--
--   local engine = require "personalize.engine"
--   local eng, err = engine.open{ dir = DIR, region = "us-east-1",
--     credentials = { { access_key_id = ..., secret_access_key = ... } },
--     timings = { pending = 0.5, in_progress = 1 }, clock = core.time }
--   local res = eng:handle{ method = "POST", path = "/", query = nil,
--     headers = { ["x-amz-target"] = ..., authorization = ..., ... }, body = "..." }
--   -- res = { status = 200, headers = { ... }, body = "...", body_file = nil }
--   local delay = eng:tick()     -- due background work; seconds to the next
--   eng:pending()                -- resources with a step due or a job running
--   eng:close()
--
-- Jobs (imports, training, batch jobs, ...) run through opts.runner (see
-- personalize.engine.job_runner; nginx runs them in worker threads), by
-- default inline in tick(). open() resumes or fails the jobs a crash
-- interrupted and removes the temporary files it left.
--
-- Header names in requests are lowercase. Every request must be signed
-- with SigV4 by one of the accepted key pairs: opts.credentials, else
-- every key pair of DIR/credentials (AWS credentials-file format), else
-- engine.DEFAULT_CREDENTIALS. One engine per data directory (a lock file);
-- open returns nil, message when another process holds it.
--
-- Requests go by their SigV4 credential scope: service "s3" to the S3
-- subset (engine.s3); X-Amz-Target "AmazonPersonalize.*" to the control
-- plane (engine.resources); the runtime and events paths (/recommendations,
-- /events, ...) to engine.runtime.
--
-- engine.handler(service, name) is the handler a request for operation
-- `name` of `service` ("personalize", "personalize-runtime",
-- "personalize-events") goes to, or nil; engine.unhandled(service, model)
-- lists the operations of a model that have none (a spec keeps it empty
-- for the registry's models, personalize.models).
local core = require "personalize.core"
local json = require "personalize.json"
local validate = require "personalize.validate"
local ini = require "personalize.ini"
local auth = require "personalize.engine.auth"
local store = require "personalize.engine.store"
local job_runner = require "personalize.engine.job_runner"
local resources = require "personalize.engine.resources"
local runtime = require "personalize.engine.runtime"
local operations = require "personalize.engine.operations"
local schema = require "personalize.schema"
local models = require "personalize.models"

local setmetatable, pairs, type, tostring, pcall = setmetatable, pairs, type, tostring, pcall
local fmt = string.format

local _M = {}

_M.DEFAULT_CREDENTIALS = {
  access_key_id = "AKIAPERSONALIZELOCAL",
  secret_access_key = "personalize-local/secret/do-not-use-on-aws",
}
_M.DEFAULT_ACCOUNT_ID = "123456789012"
_M.DEFAULT_TIMINGS = { pending = 0.5, in_progress = 1 }

local MODELS = {
  personalize = models.model("personalize"),
  runtime = models.model("personalize-runtime"),
  events = models.model("personalize-events"),
}

-- The module that answers each service's operations.
local HANDLERS = {
  ["personalize"] = resources,
  ["personalize-runtime"] = runtime,
  ["personalize-events"] = runtime,
}

-- The handler for operation `name` of `service`, or nil.
function _M.handler(service, name)
  local m = HANDLERS[service]
  return m and m.handler(name) or nil
end

-- The API names of the operations of `model` (service `service`'s, or one
-- shaped like it) that have no handler, sorted.
function _M.unhandled(service, model)
  local missing = {}
  for name in pairs(model.operations) do
    if not _M.handler(service, name) then missing[#missing + 1] = name end
  end
  table.sort(missing)
  return missing
end

-- Runtime and events operations by request path.
local ROUTES = {}
for which, service in pairs { runtime = "personalize-runtime", events = "personalize-events" } do
  local model = MODELS[which]
  for name, op in pairs(model.operations) do
    ROUTES[op.http.requestUri] = { model = model, op = op, name = name, service = service, rest = true }
  end
end

local Engine = {}
Engine.__index = Engine

local function load_keys(opts, dir)
  local keys = {}
  local list = opts.credentials
  if not list then
    local sections = ini.load(dir .. "/credentials")
    list = {}
    for _, s in pairs(sections) do
      if s.aws_access_key_id and s.aws_secret_access_key then
        list[#list + 1] = { access_key_id = s.aws_access_key_id, secret_access_key = s.aws_secret_access_key }
      end
    end
    if #list == 0 then list = { _M.DEFAULT_CREDENTIALS } end
  end
  for _, c in ipairs(list) do keys[c.access_key_id] = c.secret_access_key end
  return keys
end

function _M.open(opts)
  opts = opts or {}
  local dir = opts.dir
  if type(dir) ~= "string" or dir == "" then return nil, "personalize-local: a data directory (dir) is required" end
  local ok, err = core.mkdir(dir)
  if not ok then return nil, "personalize-local: " .. err end
  local lock
  lock, err = core.lock(dir .. "/.lock")
  if not lock then
    return nil, ("personalize-local: data directory %s is in use by another engine (%s)"):format(dir, err)
  end
  local st
  st, err = store.open(dir)
  if not st then lock:unlock(); return nil, "personalize-local: " .. err end
  local timings = {}
  for k, v in pairs(_M.DEFAULT_TIMINGS) do timings[k] = (opts.timings or {})[k] or v end
  local self = setmetatable({
    dir = dir, store = st, lock = lock,
    region = opts.region or "us-east-1",
    account_id = opts.account_id or _M.DEFAULT_ACCOUNT_ID,
    keys = load_keys(opts, dir),
    timings = timings,
    now = opts.clock or core.time,
    salt = core.sha256_hex(dir .. tostring(core.time())):sub(1, 16),
    models = {},          -- trained models by solution version / recommender ARN
    cache = {},           -- dataset rows by dataset ARN
    requests = 0,
    runner = opts.runner or job_runner.inline(),
  }, Engine)
  self.s3 = require("personalize.engine.s3").new {
    dir = dir .. "/s3", region = self.region, account_id = self.account_id, now = self.now }
  self.check_schema = function(text, dataset_type, domain)
    return schema.check(text, dataset_type, domain)
  end
  if resources.recover(self) > 0 then
    local sok, serr = pcall(st.save, st)
    if not sok then lock:unlock(); return nil, tostring(serr) end
  end
  return self
end

function Engine:close()
  if self.store then self.store:close() end
  if self.lock then self.lock:unlock(); self.lock = nil end
end

function Engine:request_id()
  self.requests = self.requests + 1
  local h = core.sha256_hex(self.salt .. self.requests)
  return fmt("%s-%s-%s-%s-%s", h:sub(1, 8), h:sub(9, 12), h:sub(13, 16), h:sub(17, 20), h:sub(21, 32))
end

-- How many resources have lifecycle work still to do (a step due or a
-- job running).
function Engine:pending()
  local n = 0
  for _, r in pairs(self.store.resources) do
    if r._due or r._job then n = n + 1 end
  end
  return n
end

-- Runs due lifecycle work; returns seconds until more is due, or nil.
function Engine:tick()
  local changed, delay = resources.tick(self, self.now())
  if changed then self.store:save() end
  return delay
end

local function status_of(model, code)
  local shape = model.shapes[code]
  local http = shape and shape.error
  if http and http.httpStatusCode then return http.httpStatusCode end
  if code == "ResourceNotFoundException" then return 404 end
  if code == "InternalFailure" then return 500 end
  return 400
end

-- Every answer is valid UTF-8: bytes that are not (raw input that reached
-- a message or a stored field) become U+FFFD, so that botocore and the
-- AWS CLI can always decode the answer.
local utf8_clean = validate.utf8_clean

local function json_error(rid, rest, status, code, message)
  local headers = { ["Content-Type"] = rest and "application/json" or "application/x-amz-json-1.1",
                    ["x-amzn-RequestId"] = rid }
  if rest then headers["x-amzn-ErrorType"] = code end
  return { status = status, headers = headers,
           body = utf8_clean(store.json.encode({ __type = code, message = message })) }
end

local function xml_escape(s)
  return (utf8_clean(tostring(s)):gsub("[%z\1-\8\11\12\14-\31]", "\239\191\189")
    :gsub("[<>&\"]", { ["<"] = "&lt;", [">"] = "&gt;", ["&"] = "&amp;", ['"'] = "&quot;" }))
end

-- `fields`: more elements of the error, { { name, value }, ... }
local function s3_error(rid, status, code, message, method, fields)
  local headers = { ["x-amz-request-id"] = rid }
  if method == "HEAD" then return { status = status, headers = headers } end
  headers["Content-Type"] = "application/xml"
  local extra = {}
  for i, f in ipairs(fields or {}) do
    extra[i] = fmt("<%s>%s</%s>", f[1], xml_escape(f[2]), f[1])
  end
  return { status = status, headers = headers, body = fmt(
    '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>%s</Code><Message>%s</Message>%s<RequestId>%s</RequestId></Error>',
    xml_escape(code), xml_escape(message), table.concat(extra), rid) }
end

-- Calls `handler` for operation `name` of `model` with the JSON `body`.
-- The parameters are checked against the model as the service does
-- (strictly: patterns match whole values, strings are valid UTF-8).
function Engine:call(model, name, handler, body, rid, rest)
  local op = model.operations[name]
  local params, derr = json.decode(body)
  if type(params) ~= "table" then
    return json_error(rid, rest, 400, "SerializationException", "the request body is not a JSON object: " .. tostring(derr))
  end
  local problems = validate.check(model, op.input, params, validate.SERVER)
  if problems then
    return json_error(rid, rest, 400, "InvalidInputException", validate.message(problems, name))
  end
  local result, code, message = handler(self, params)
  if not result then
    return json_error(rid, rest, status_of(model, code), code, message)
  end
  if operations.writes(model.metadata.endpointPrefix, name) then self.store:save() end
  local out = op.output and json.encode(model, op.output, result) or "{}"
  return { status = 200, body = utf8_clean(out), headers = {
    ["Content-Type"] = rest and "application/json" or "application/x-amz-json-1.1",
    ["x-amzn-RequestId"] = rid } }
end

local SERVICES = { personalize = true, s3 = true, sts = true }

-- The service an unverified request is for: its credential scope, else
-- its shape (X-Amz-Target or a runtime/events path: a JSON service; a
-- form body with Action=: STS; anything else S3).
local function claimed_service(req)
  local service = auth.service_of(req)
  if service then return service end
  local route = ROUTES[req.path]
  if route and req.method == route.op.http.method then return "personalize", true end
  local ctype = req.headers["content-type"] or ""
  if req.method == "POST" and ctype:find("x-www-form-urlencoded", 1, true)
      and (req.body or ""):find("Action=", 1, true) then
    return "sts"
  end
  return "s3"
end

function Engine:dispatch(req, rid)
  self.sts = self.sts or require("personalize.engine.sts").new { account_id = self.account_id, now = self.now }
  local issuer = self.sts
  local ctx, aerr = auth.verify(req, {
    keys = self.keys, region = self.region, now = self.now(), services = SERVICES,
    sessions = function(akid) return issuer:session(akid) end,
  })
  if not ctx then
    local service, rest = claimed_service(req)
    if aerr.service and SERVICES[aerr.service] then service = aerr.service end
    if service == "s3" then return s3_error(rid, aerr.status, aerr.code, aerr.message, req.method, aerr.fields) end
    if service == "sts" then return require("personalize.engine.sts").error(rid, aerr.status, aerr.code, aerr.message) end
    return json_error(rid, rest or (not req.headers["x-amz-target"] and ROUTES[req.path] ~= nil),
      aerr.status, aerr.code, aerr.message)
  end
  ctx.request_id = rid
  if ctx.service == "s3" then
    return self.s3:handle(req, ctx)
  end
  if req.body == nil and req.body_file then
    local f = io.open(req.body_file, "rb")
    if f then req.body = f:read("*a"); f:close() end
  end
  if ctx.service == "sts" then
    return issuer:handle(req, ctx)
  end
  local target = req.headers["x-amz-target"]
  if target then
    local name = target:match("^AmazonPersonalize%.(%w+)$")
    local handler = name and MODELS.personalize.operations[name] and _M.handler("personalize", name)
    if not handler then
      return json_error(rid, false, 400, "UnknownOperationException", "unknown operation " .. target)
    end
    return self:call(MODELS.personalize, name, handler, req.body, rid, false)
  end
  local route = ROUTES[req.path]
  if not route or req.method ~= route.op.http.method then
    return json_error(rid, true, 404, "UnknownOperationException",
      fmt("no operation at %s %s", req.method, req.path))
  end
  return self:call(route.model, route.name, _M.handler(route.service, route.name), req.body, rid, true)
end

-- Answers one HTTP request (see the module header). Never raises: an
-- internal error is a 500 InternalFailure naming it.
function Engine:handle(req)
  local rid = self:request_id()
  self:tick()
  local ok, res = pcall(self.dispatch, self, req, rid)
  if not ok then
    -- the error, without the source file and line it was raised at
    return json_error(rid, false, 500, "InternalFailure",
      "personalize-local: " .. tostring(res):gsub("^[^\n]-%.lua:%d+: ", ""))
  end
  return res
end

return _M
