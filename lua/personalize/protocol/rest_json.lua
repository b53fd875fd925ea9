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

function _M.build(model, op, params)
  params = params or {}
  local path, query = op.http.requestUri, nil
  local headers = { ["Content-Type"] = "application/json" }
  local input = op.input and model.shapes[op.input]
  local qs = {}
  if input then
    for name, member in pairs(input.members or {}) do
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
  local body = op.input and json.encode(model, op.input, params) or ""
  return op.http.method, path, query, headers, body
end

_M.parse = aws_json.parse

return _M
