-- The restJson1 protocol (personalize-runtime and personalize-events):
-- the operation's HTTP method and request URI, members bound to the URI,
-- query string or headers where the model says so, the rest as a JSON body.
local json = require "personalize.json"
local aws_json = require "personalize.protocol.aws_json"
local sigv4 = require "personalize.sigv4"

local _M = {}

local encode_component = sigv4.encode_component

local function scalar_text(v)
  if type(v) == "number" then return json.encode_number(v) end
  return tostring(v)
end

-- Per operation, once: the input members bound to the URI, the query
-- string or headers (most runtime and events operations have none), and
-- the request URI split at its '?'.
local plans = setmetatable({}, { __mode = "k" })
local function plan_of(model, op)
  local plan = plans[op]
  if plan then return plan end
  local input = op.input and model.shapes[op.input]
  local bound = {}
  for name, member in pairs(input and input.members or {}) do
    if member.location == "uri" or member.location == "querystring" or member.location == "header" then
      bound[#bound + 1] = { name = name, member = member }
    end
  end
  table.sort(bound, function(a, b) return a.name < b.name end)
  local uri = op.http.requestUri
  local q = uri:find("?", 1, true)
  plan = { bound = bound, path = q and uri:sub(1, q - 1) or uri, query = q and uri:sub(q + 1) or nil }
  plans[op] = plan
  return plan
end

function _M.build(model, op, params)
  params = params or {}
  local plan = plan_of(model, op)
  local headers = { ["Content-Type"] = "application/json" }
  local body = op.input and json.encode(model, op.input, params) or ""
  if #plan.bound == 0 then
    return op.http.method, plan.path, plan.query, headers, body
  end
  local path, query = op.http.requestUri, nil
  local qs = {}
  do
    for _, b in ipairs(plan.bound) do
      local name, member = b.name, b.member
      local v = params[name]
      local where = member.locationName or name
      if v ~= nil and member.location == "uri" then
        local greedy = "{" .. where .. "+}"
        local label = "{" .. where .. "}"
        local s, e = path:find(greedy, 1, true)
        if s then
          path = path:sub(1, s - 1) .. encode_component(scalar_text(v)):gsub("%%2F", "/") .. path:sub(e + 1)
        else
          s, e = path:find(label, 1, true)
          if s then path = path:sub(1, s - 1) .. encode_component(scalar_text(v)) .. path:sub(e + 1) end
        end
      elseif v ~= nil and member.location == "querystring" then
        qs[#qs + 1] = encode_component(where) .. "=" .. encode_component(scalar_text(v))
      elseif v ~= nil and member.location == "header" then
        headers[where] = scalar_text(v)
      end
    end
  end
  local q = path:find("?", 1, true)
  if q then
    qs[#qs + 1] = path:sub(q + 1)
    path = path:sub(1, q - 1)
  end
  if #qs > 0 then
    table.sort(qs)
    query = table.concat(qs, "&")
  end
  return op.http.method, path, query, headers, body
end

_M.parse = aws_json.parse

return _M
