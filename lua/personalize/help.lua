-- An operation's parameters, read from the service model, for the REPL:
--
--   personalize.help(client, "create_solution")       prints to io.stdout
--   client:help("CreateSolution")                     the same
--   local text = personalize.help(client, "create_solution", { print = false })
--   personalize.help(client)                          the operations
--   personalize.help("personalize-runtime", "get_recommendations")
--
-- The first argument is a client or a service name. For each parameter:
-- its type (string, integer, list of X, map of K to V, structure), enum
-- values, length or value limits and pattern; structures are expanded
-- (opts.depth levels below the parameters, 2 by default), required
-- members first. Then the output's top-level members.
--
-- An unknown operation raises, naming the closest operations.
--
-- The models come from the registry (personalize.models); a client gives
-- its own through client:model().
local models = require "personalize.models"

local type, pairs, ipairs, next, tostring, error, setmetatable = type, pairs, ipairs, next, tostring, error, setmetatable
local concat, sort = table.concat, table.sort
local rep = string.rep

local _M = {}

local snake_case = models.snake_case

-- The model of a client or of a service name.
local function model_of(target)
  if type(target) == "string" then
    local model = models.model((target:gsub("_", "-")))
    if not model then
      return nil, ("personalize.help: unknown service %q (known: %s)"):format(target, concat(models.names(), ", "))
    end
    return model
  end
  if type(target) == "table" and type(target.model) == "function" then
    local model = target:model()
    if type(model) == "table" and model.operations then return model end
  end
  return nil, "personalize.help: a client or a service name expected, got " .. type(target)
end

-- Up to three snake_case names closest to `name`.
local function suggestions(names, name)
  return require("personalize.suggest").closest(names, snake_case(name), 3)
end

local function sorted_names(t)
  local names = {}
  for k in pairs(t) do names[#names + 1] = k end
  sort(names)
  return names
end

-- "string", "list of string", "map of string to structure (Tag)" ...
local function type_text(shapes, ref)
  local shape = shapes[ref.shape]
  if not shape then return tostring(ref.shape) end
  local t = shape.type
  if t == "list" then
    return "list of " .. type_text(shapes, shape.member)
  elseif t == "map" then
    return "map of " .. type_text(shapes, shape.key) .. " to " .. type_text(shapes, shape.value)
  elseif t == "structure" then
    return "structure " .. ref.shape
  end
  return t
end

local function limit_text(lo, hi)
  if lo and hi then return lo .. ".." .. hi end
  if lo then return "at least " .. lo end
  return "at most " .. hi
end

-- Enum values, limits and pattern of a shape, as "; "-separated text.
local function constraints(shape)
  local out = {}
  if shape.enum then out[#out + 1] = "one of " .. concat(shape.enum, ", ") end
  if shape.min or shape.max then
    local lo = shape.min
    if lo == 0 then lo = nil end
    if lo or shape.max then
      local t = shape.type
      if t == "string" or t == "blob" then
        out[#out + 1] = "length " .. limit_text(lo, shape.max)
      elseif t == "list" or t == "map" then
        out[#out + 1] = limit_text(lo, shape.max) .. (shape.max == 1 and " entry" or " entries")
      else
        out[#out + 1] = "value " .. limit_text(lo, shape.max)
      end
    end
  end
  if shape.pattern then out[#out + 1] = "pattern " .. shape.pattern end
  if shape.sensitive then out[#out + 1] = "sensitive" end
  return out
end

-- The structure a member leads to (through lists and maps), if any.
local function inner_structure(shapes, ref)
  local shape = shapes[ref.shape]
  local guard = 0
  while shape and guard < 4 do
    if shape.type == "structure" then return shape, ref.shape end
    if shape.type == "list" then
      ref = shape.member
    elseif shape.type == "map" then
      ref = shape.value
    else
      return nil
    end
    shape = shapes[ref.shape]
    guard = guard + 1
  end
  return nil
end

-- Required members (in the model's order) then the others (by name).
local function ordered_members(structure)
  local required, is_required = {}, {}
  for _, name in ipairs(structure.required or {}) do
    if structure.members[name] then
      required[#required + 1] = name
      is_required[name] = true
    end
  end
  local optional = {}
  for _, name in ipairs(sorted_names(structure.members or {})) do
    if not is_required[name] then optional[#optional + 1] = name end
  end
  return required, optional, is_required
end

-- One line per member, nested structures indented below it.
local function member_lines(lines, shapes, name, ref, indent, depth, required, seen)
  local shape = shapes[ref.shape] or {}
  local parts = { type_text(shapes, ref) }
  if required then table.insert(parts, 1, "required") end
  -- list/map constraints of the container, then those of its elements.
  for _, c in ipairs(constraints(shape)) do parts[#parts + 1] = c end
  if shape.type == "list" and shapes[shape.member.shape] then
    for _, c in ipairs(constraints(shapes[shape.member.shape])) do parts[#parts + 1] = "each " .. c end
  end
  lines[#lines + 1] = rep("  ", indent) .. name .. ": " .. concat(parts, ", ")
  local inner, inner_name = inner_structure(shapes, ref)
  if inner and depth > 0 and not seen[inner_name] then
    seen[inner_name] = true
    local req, opt, is_req = ordered_members(inner)
    for _, list in ipairs{ req, opt } do
      for _, m in ipairs(list) do
        member_lines(lines, shapes, m, inner.members[m], indent + 1, depth - 1, is_req[m], seen)
      end
    end
    seen[inner_name] = nil
  end
end

local function operations_text(model)
  local names = {}
  for api in pairs(model.operations) do names[#names + 1] = snake_case(api) end
  sort(names)
  local service = model.metadata and (model.metadata.serviceFullName or model.metadata.endpointPrefix) or "service"
  local lines = { ("%s: %d operations (help(client, name) for one)"):format(service, #names) }
  for _, n in ipairs(names) do lines[#lines + 1] = "  " .. n end
  return concat(lines, "\n") .. "\n"
end

-- The AWS API reference page of each service's operations (the control
-- plane's pages are API_<Operation>, runtime's API_RS_, events' API_UBS_).
local REFERENCE = "https://docs.aws.amazon.com/personalize/latest/dg/API_%s%s.html"
local REFERENCE_PREFIX = { ["personalize-runtime"] = "RS_", ["personalize-events"] = "UBS_" }

-- The service name ("personalize-runtime") of a model.
local function service_of(model)
  return models.service_of(model) or model.metadata and model.metadata.endpointPrefix or "personalize"
end

-- The link to the AWS API reference of operation `api` ("CreateSolution").
function _M.reference(service, api)
  return REFERENCE:format(REFERENCE_PREFIX[service] or "", api)
end

-- The waiter that goes with an operation: Create*/Update*/Describe*/Stop*
-- -> the waiter of the resource its Describe* reads; Delete* -> "<name>_deleted".
local function waiter_for(api)
  local waiters = require "personalize.waiters"
  local verb, noun = api:match("^(%u%l+)(.+)$")
  if not verb then return nil end
  for name, w in pairs(waiters.WAITERS) do
    if w.resource.op == "Describe" .. noun then
      local arn = w.resource.arn
      if verb == "Delete" and w.deleted then return ("client:wait(%q, %s)"):format(name, arn) end
      if (verb == "Create" or verb == "Update" or verb == "Describe" or verb == "Start")
          and not w.deleted and w.success ~= "INACTIVE" then
        return ("client:wait(%q, %s)"):format(name, arn)
      end
      if verb == "Stop" and name == "recommender_stopped" then
        return ("client:wait(%q, %s)"):format(name, arn)
      end
    end
  end
  return nil
end

-- "See also" lines: the reference link, the waiter, the paginator and
-- the frame or chart helper of the operation.
local function see_also(model, def)
  local method = snake_case(def.name)
  local lines = { "", "AWS API reference: " .. _M.reference(service_of(model), def.name) }
  local waiter = waiter_for(def.name)
  if waiter then lines[#lines + 1] = "Waiter:    " .. waiter end
  if model.paginators and model.paginators[def.name] then
    lines[#lines + 1] = ("Paginator: client:paginate(%q, params):all()"):format(method)
    lines[#lines + 1] = ("Frame:     personalize.frame(client:paginate(%q, params):all())"):format(method)
  elseif def.name == "GetRecommendations" or def.name == "GetPersonalizedRanking"
      or def.name == "GetActionRecommendations" then
    lines[#lines + 1] = ("Frame:     personalize.frame.from_result(client:%s{ ... })"):format(method)
  elseif def.name == "GetSolutionMetrics" then
    lines[#lines + 1] = "Chart:     personalize.chart.metrics{ [name] = res.metrics, ... }"
  end
  return lines
end

-- The service other than this model's that has operation `op`, or nil.
local function other_service(model, op)
  local service = service_of(model)
  local other = models.other_service(service, snake_case(op))
  return other
end

-- The help text of `op` in `model`, or nil and a message with suggestions.
local function operation_text(model, op, opts)
  local found
  for api, def in pairs(model.operations) do
    if api == op or snake_case(api) == op then found = def end
  end
  if not found then
    local other = other_service(model, op)
    if other then
      return nil, ("personalize.help: %s is an operation of %s, not of %s: "
        .. "personalize.help(%q, %q), or :help on a %s client"):format(
        snake_case(op), other, service_of(model), other, snake_case(op), other)
    end
    local names = {}
    for api in pairs(model.operations) do names[#names + 1] = snake_case(api) end
    sort(names)
    return nil, ("personalize.help: unknown operation %q; did you mean %s?"):format(
      op, concat(suggestions(names, op), ", "))
  end
  local shapes = model.shapes
  local depth = opts.depth or 2
  local http = found.http or {}
  local lines = { ("%s (%s): %s %s"):format(snake_case(found.name), found.name,
                                             http.method or "POST", http.requestUri or "/") }
  local meta = model.metadata or {}
  if meta.targetPrefix then
    lines[#lines + 1] = ("  X-Amz-Target: %s.%s"):format(meta.targetPrefix, found.name)
  end
  local input = found.input and shapes[found.input]
  local req, opt = {}, {}
  if input and input.members then req, opt = ordered_members(input) end
  local function section(title, list)
    if #list == 0 then return end
    lines[#lines + 1] = ""
    lines[#lines + 1] = title
    for _, m in ipairs(list) do
      member_lines(lines, shapes, m, input.members[m], 1, depth, false, { [found.input] = true })
    end
  end
  if #req + #opt == 0 then
    lines[#lines + 1] = ""
    lines[#lines + 1] = "No parameters."
  end
  section("Required parameters:", req)
  section("Optional parameters:", opt)
  local output = found.output and shapes[found.output]
  lines[#lines + 1] = ""
  if output and output.members and next(output.members) then
    lines[#lines + 1] = "Returns:"
    for _, m in ipairs(sorted_names(output.members)) do
      member_lines(lines, shapes, m, output.members[m], 1, 0, false, {})
    end
  else
    lines[#lines + 1] = "Returns: nothing but ResponseMetadata."
  end
  for _, l in ipairs(see_also(model, found)) do lines[#lines + 1] = l end
  return concat(lines, "\n") .. "\n"
end

-- help(client_or_service, op, opts) -> text | nil, msg
-- opts.depth: levels of nested structures shown (2).
function _M.text(target, op, opts)
  local model, err = model_of(target)
  if not model then return nil, err end
  if op == nil then return operations_text(model) end
  if type(op) ~= "string" then return nil, "personalize.help: an operation name expected, got " .. type(op) end
  return operation_text(model, op, opts or {})
end

-- personalize.help(client, op, opts): prints the text to io.stdout, or
-- returns it when opts.print is false. Raises for an unknown operation.
local function help(_, target, op, opts)
  opts = opts or {}
  local text, err = _M.text(target, op, opts)
  if not text then error(err, 2) end
  if opts.print == false then return text end
  io.stdout:write(text)
end

return setmetatable(_M, { __call = help })
