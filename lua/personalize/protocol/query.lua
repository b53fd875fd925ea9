-- The AWS query protocol (STS): form-encoded POST bodies and XML answers.
--
--   local body = query.build("AssumeRole", "2011-06-15", { {"RoleArn", arn}, ... })
--   local doc, err = query.parse_xml(text)       -- a small DOM, or nil, err
--   local node = query.find(doc, "AssumeRoleResponse", "AssumeRoleResult")
--   local text = query.text(node, "Credentials", "AccessKeyId")
--   local fields = query.parse_error(status, headers, text)
--
-- XML is read by personalize.xml (expat), never with string patterns.
-- A DOM node is { name = "Tag", text = "concatenated character data",
-- children = { node, ... } }; namespaces are ignored (names are local).
local sigv4 = require "personalize.sigv4"
local xml = require "personalize.xml"

local concat, type, tostring = table.concat, type, tostring

local _M = {}

-- "Action=...&Version=...&Name=value..." in the order given; `params` is
-- a list of { name, value } pairs (nil values are skipped).
function _M.build(action, version, params)
  local enc = sigv4.encode_component
  local parts = { "Action=" .. enc(action), "Version=" .. enc(version) }
  for _, kv in ipairs(params or {}) do
    if kv[2] ~= nil then parts[#parts + 1] = enc(kv[1]) .. "=" .. enc(tostring(kv[2])) end
  end
  return concat(parts, "&")
end

-- Parses `text` into a DOM; returns the root element or nil, message.
function _M.parse_xml(text)
  if type(text) ~= "string" or text == "" then return nil, "empty XML document" end
  local root, msg, line = xml.parse(text)
  if root then return root end
  if msg == "no element" then return nil, "XML document without an element" end
  return nil, ("malformed XML (line %s): %s"):format(tostring(line), msg)
end

-- The first child of `node` named `name`.
local child = xml.child
_M.child = child

-- Follows a path of child names from `node` (the first name may be the
-- node's own name).
function _M.find(node, ...)
  local path = { ... }
  local i = 1
  if node and path[1] == node.name then i = 2 end
  for j = i, #path do
    node = child(node, path[j])
    if not node then return nil end
  end
  return node
end

-- The text of the node at a path, nil when absent or empty.
function _M.text(node, ...)
  local n = _M.find(node, ...)
  if n and n.text ~= "" then return n.text end
end

-- Error fields of a non-2xx query response:
-- <ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/></ErrorResponse>
function _M.parse_error(status, headers, text)
  local doc = _M.parse_xml(text)
  local err = doc and (_M.find(doc, "ErrorResponse", "Error") or _M.find(doc, "Error"))
  local code = err and _M.text(err, "Code")
  if not code then
    local snippet = (text or ""):gsub("%s+", " "):sub(1, 200)
    return { code = tostring(status), status = status,
             message = snippet ~= "" and snippet or ("HTTP status " .. tostring(status)),
             request_id = headers and headers["x-amzn-requestid"] }
  end
  return { code = code, status = status, message = _M.text(err, "Message") or "",
           request_id = _M.text(doc, "RequestId") or (headers and headers["x-amzn-requestid"]) }
end

return _M
