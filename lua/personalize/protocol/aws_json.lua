-- The awsJson1_1 protocol (the `personalize` control plane): every
-- operation is `POST /` with `X-Amz-Target: <targetPrefix>.<Operation>`
-- and a JSON body; errors name their type in `__type`.
--
-- A protocol module has two functions:
--   build(model, op, params) -> method, path, query|nil, headers, body
--   parse(model, op, status, headers, body) -> result | nil, err_fields
local json = require "personalize.json"

local xml = require "personalize.xml"   -- expat is loaded with the first XML error document

local _M = {}

function _M.build(model, op, params)
  local headers = {
    ["Content-Type"] = "application/x-amz-json-" .. (model.metadata.jsonVersion or "1.1"),
    ["X-Amz-Target"] = model.metadata.targetPrefix .. "." .. op.name,
  }
  return "POST", "/", nil, headers, json.encode(model, op.input, params)
end

-- "com.amazonaws.personalize#ResourceNotFoundException" and
-- "ValidationException:http://internal..." both give the bare name.
function _M.error_code(raw)
  if type(raw) ~= "string" or raw == "" then return nil end
  raw = raw:match("#([^#]*)$") or raw
  return (raw:match("^([^:]*)"))
end

-- Code and Message of an XML error document, as gateways and some peers
-- answer even JSON services (<ErrorResponse><Error><Code>...); nil when
-- the body is not such a document.
local function xml_error(body)
  if type(body) ~= "string" or not body:find("^%s*<") then return nil end
  local root = xml.parse(body)
  local code = xml.find(root, "Code")
  if not code then return nil end
  local message = xml.find(root, "Message")
  return code.text, message and message.text
end

-- The fields of the error in a non-2xx response. restJson1 names the type
-- in x-amzn-errortype; awsJson1_1 in the body's __type (or code).
function _M.parse_error(status, headers, body)
  local doc = json.decode(body)
  if type(doc) ~= "table" then doc = {} end
  local code = _M.error_code(headers["x-amzn-errortype"])
    or _M.error_code(doc.__type) or _M.error_code(doc.code) or _M.error_code(doc.Code)
  local message = doc.message or doc.Message or doc.errorMessage
  if not code then
    code, message = xml_error(body)
  end
  if not code then
    -- Not an AWS error document (a proxy page, an empty 5xx): name the status.
    code = tostring(status)
    local text = (body or ""):gsub("%s+", " "):sub(1, 200)
    message = message or (text ~= "" and text or ("HTTP status " .. status))
  end
  return {
    code = code, message = message or "", status = status,
    request_id = headers["x-amzn-requestid"] or headers["x-amz-request-id"],
  }
end

function _M.parse(_, op, status, headers, body)
  if status < 200 or status >= 300 then
    return nil, _M.parse_error(status, headers, body)
  end
  local result = {}
  if op.output then
    local doc, err = json.decode(body)
    if doc == nil or type(doc) ~= "table" then
      return nil, { code = "ResponseParserError", status = status,
        message = "the response is not a JSON object: " .. tostring(err or body:sub(1, 80)),
        request_id = headers["x-amzn-requestid"] }
    end
    result = doc
  end
  result.ResponseMetadata = {
    RequestId = headers["x-amzn-requestid"], HTTPStatusCode = status, HTTPHeaders = headers,
  }
  return result
end

return _M
