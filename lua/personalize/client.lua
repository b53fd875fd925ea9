-- One client per service: validate -> build, then the send step
-- (personalize.request: credentials -> sign -> send -> parse -> retry).
--
--   local client = client.new("personalize", { region = "us-east-1" })
--   local res, err = client:create_schema{ name = "x", schema = json_text }
--
-- Methods are the snake_case names of the model's operations, resolved on
-- first use. Parameters and results use the API's member names. Every
-- call returns the result table (with ResponseMetadata) or nil and an
-- error object (personalize.errors). Misuse of the API (unknown service,
-- bad options) raises.
--
-- The services and their models come from the registry
-- (personalize.models); the modules that work on a client (help, paginator,
-- stub, fanout, waiters, events_batcher) read its model through
-- client:model() and client:operation(name), never its private fields.
local core = require "personalize.core"
local config = require "personalize.config"
local credentials = require "personalize.credentials"
local errors = require "personalize.errors"
local models = require "personalize.models"
local request = require "personalize.request"
local setup = require "personalize.setup"
local sigv4 = require "personalize.sigv4"
local transports = require "personalize.transport"
local validate = require "personalize.validate"
local mark_result = require("personalize.result").mark

local setmetatable, getmetatable, rawget, type, tostring, error = setmetatable, getmetatable, rawget, type, tostring, error
local pairs, ipairs = pairs, ipairs
local sha256_hex = core.sha256_hex
local send = request.send

local _M = {}

-- The registry's facts, also exported here (client.SERVICES, ...).
_M.SERVICES = models.SERVICES
_M.snake_case = models.snake_case

-- The wire protocol module of each protocol a model names (metadata.protocol).
local PROTOCOLS = {
  ["json"] = "personalize.protocol.aws_json",
  ["rest-json"] = "personalize.protocol.rest_json",
}

-- Per service, built once: the registry's model and snake -> operation,
-- with the protocol module loaded.
local services_loaded = {}
local function load_service(service)
  local loaded = services_loaded[service]
  if loaded then return loaded end
  local svc = models.service(service)
  local model = svc.model
  local protocol = require(PROTOCOLS[model.metadata.protocol])
  loaded = { model = model, protocol = protocol, by_method = svc.by_method,
             -- the send step's parse for this service's requests (r.operation)
             parse = function(r, status, headers, body)
               return protocol.parse(model, r.operation, status, headers, body)
             end }
  services_loaded[service] = loaded
  return loaded
end

local Client = {}

local method_cache = setmetatable({}, { __mode = "k" })

-- The service other than `service` with an operation method `name`, or nil.
local other_service = models.other_service
_M.other_service = other_service

-- A method that says which client has operation `name`.
local function misplaced(service, name, other)
  return function()
    error(("personalize: %s is an operation of %s, not of this %s client: "
      .. "local c = personalize.client(%q, opts); c:%s{ ... }"):format(name, other, service, other, name), 2)
  end
end

-- Unknown keys resolve to operation methods (cached per operation). The
-- name of another service's operation resolves to a method that raises,
-- naming the client that has it.
function Client.__index(self, key)
  local m = Client[key]
  if m ~= nil then return m end
  local op = rawget(self, "_service").by_method[key]
  if not op then
    local other = other_service(rawget(self, "service"), key)
    if other then return misplaced(rawget(self, "service"), key, other) end
    return nil
  end
  local f = method_cache[op]
  if not f then
    local method = _M.snake_case(op.name)
    f = function(client, params)
      -- client.list_schemas{} (a dot) passes the parameters as the client.
      if getmetatable(client) ~= Client then
        error(("personalize: %s was called with a dot (client.%s{...}): call it with a colon, "
          .. "client:%s{ ... }"):format(method, method, method), 2)
      end
      return client:call(op.name, params)
    end
    method_cache[op] = f
  end
  return f
end

-- pairs(client) (Lua 5.2+) walks the operations, name -> method, as a
-- REPL user exploring a client wants; LuaJIT's pairs ignores __pairs and
-- shows the fields (client:operations() lists the names everywhere).
function Client.__pairs(self)
  local names, i = self:operations(), 0
  return function()
    i = i + 1
    local name = names[i]
    if name then return name, self[name] end
  end, self, nil
end

function Client.__tostring(self)
  return ("personalize.client (%s, %s, %s)"):format(self.service, self.region, self.endpoint)
end

-- Operation lists print as columns of names.
local Names = {}
function Names.__tostring(t)
  local width = 0
  for _, n in ipairs(t) do if #n > width then width = #n end end
  local per_line = math.max(1, math.floor(78 / (width + 2)))
  local lines, line = {}, {}
  for i, n in ipairs(t) do
    line[#line + 1] = n .. string.rep(" ", width - #n)
    if #line == per_line or i == #t then
      lines[#lines + 1] = (table.concat(line, "  "):gsub("%s+$", ""))
      line = {}
    end
  end
  return ("%d operations:\n%s"):format(#t, table.concat(lines, "\n"))
end

-- The snake_case names of every operation, sorted: a plain array whose
-- tostring (a bare `client:operations()` in the REPL) prints them in columns.
function Client:operations()
  local names = {}
  for k in pairs(self._service.by_method) do names[#names + 1] = k end
  table.sort(names)
  return setmetatable(names, Names)
end

-- The service model (personalize.models.*) this client speaks: its
-- operations, shapes, paginators and metadata. Read it, do not change it.
function Client:model()
  return self._service.model
end

-- The operation object of the model named `name`, its API name
-- ("ListSchemas") or its method name ("list_schemas"); nil when there is none.
function Client:operation(name)
  return models.operation(self._service, name)
end

-- Waits until a resource is ACTIVE (or gone): personalize.waiters.
--   client:wait("campaign", { campaignArn = arn }, { timeout = 600 })
function Client:wait(name, params, opts)
  return require("personalize.waiters").wait(self, name, params, opts)
end

-- Iterates a paginated operation: personalize.paginator.
--   for page in client:paginate("list_schemas", {}) do ... end
function Client:paginate(op, params, opts)
  return require("personalize.paginator").paginate(self, op, params, opts)
end

-- Many calls of one operation at once: personalize.fanout.
--   local results, failed = client:map("get_recommendations", list, { concurrency = 16 })
-- results[i] is the i-th call's result or error object, in input order.
function Client:map(op, list, opts)
  local results, failed = require("personalize.fanout").map(self, op, list, opts, 3)
  return results, failed
end

-- Prints an operation's parameters: personalize.help.
function Client:help(op)
  return require("personalize.help")(self, op)
end

function _M.new(service, opts)
  if type(service) ~= "string" then error("personalize.client: service name expected", 2) end
  service = service:gsub("_", "-")
  if service == "s3" then return require("personalize.s3").new(opts) end
  if not models.SERVICES[service] then
    error(("personalize.client: unknown service %q (known: %s)"):format(service, table.concat(models.names(), ", ")), 2)
  end
  opts = opts or {}
  if type(opts) ~= "table" then error("personalize.client: options must be a table", 2) end
  config.check_options(opts, "personalize.client")

  local svc = load_service(service)
  local cfg = config.new(opts)
  local region = setup.region(cfg, config.service(svc.model.metadata), "personalize.client")
  local endpoint, err = cfg:endpoint(config.service(svc.model.metadata), region)
  if not endpoint then error("personalize.client: " .. err, 2) end
  -- "local:DIR": personalize-local's engine in this process, state in DIR.
  local route = transports.resolve(endpoint, cfg, opts, "personalize.client")
  local transport = route.transport
  endpoint, opts = route.endpoint, route.opts
  local url = sigv4.parse_url(endpoint)
  local provider = transports.wrap_credentials(
    credentials.resolve(opts, cfg, opts.credentials_transport or transport), transport, cfg, region)
  local retryer, mode, max_attempts = setup.retryer(cfg, transport, "personalize.client")
  local signing_name = svc.model.metadata.signingName or "personalize"

  return setmetatable({
    service = service,
    region = region,
    endpoint = endpoint,
    signing_name = signing_name,
    max_attempts = max_attempts,
    retry_mode = mode,
    transport = transport,
    _service = svc,
    _host = sigv4.host_header(url),
    -- An endpoint with a path ("https://proxy/personalize") puts it before
    -- every request's path, signed as sent.
    _origin = url.scheme .. "://" .. sigv4.host_header(url),
    _base_path = setup.base_path(url),
    -- What the send step (personalize.request) reads.
    _credentials = provider,
    _retry = retryer,
    _signing = { name = signing_name, region = region, s3 = false },
    _debug = request.debug_sink(opts.debug),
  }, Client)
end

local function fail(fields, op_name)
  fields.operation = op_name
  return nil, errors.new(fields)
end

-- Calls operation `op_name` (the API's name, "DescribeSchema") with
-- `params`: checked against the model, built by the service's protocol,
-- sent by personalize.request. Returns the result or nil and an error.
function Client:call(op_name, params)
  local svc = self._service
  local op = svc.model.operations[op_name]
  if not op then error(("%s has no operation %s"):format(self.service, tostring(op_name)), 2) end
  if params ~= nil and type(params) ~= "table" then
    local problems = { { path = "", reason = "parameters must be a table, got " .. type(params) } }
    return fail({ code = "ParamValidation", message = validate.message(problems, op_name),
                  problems = problems, retryable = false }, op_name)
  end

  local problems = validate.check(svc.model, op.input, params)
  if problems then
    return fail({ code = "ParamValidation", message = validate.message(problems, op_name),
                  problems = problems, retryable = false }, op_name)
  end

  local method, path, query, headers, body = svc.protocol.build(svc.model, op, params)
  path = self._base_path .. path
  local res, err = send(self, {
    op = op_name, operation = op, parse = svc.parse,
    method = method, host = self._host, path = path, query = query,
    url = self._origin .. path .. (query and ("?" .. query) or ""),
    headers = headers, body = body, payload_hash = sha256_hex(body),
  })
  if not res then return nil, err end
  return mark_result(res)
end

return _M
