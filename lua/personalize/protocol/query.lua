-- The AWS query protocol (STS): form-encoded POST bodies and XML answers.
--
--   local body = query.build("AssumeRole", "2011-06-15", { {"RoleArn", arn}, ... })
--   local doc, err = query.parse_xml(text)       -- a small DOM, or nil, err
--   local node = query.find(doc, "AssumeRoleResponse", "AssumeRoleResult")
--   local text = query.text(node, "Credentials", "AccessKeyId")
--   local fields = query.parse_error(status, headers, text)
--
-- XML is read with expat (lua-expat's `lxp`), never with string patterns.
-- A DOM node is { name = "Tag", text = "concatenated character data",
-- children = { node, ... } }; namespaces are ignored (names are local).
local lxp = require "lxp"
local sigv4 = require "personalize.sigv4"

local concat, type, tostring, pcall = table.concat, type, tostring, pcall

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
  local root
  local stack = {}
  local parts = {}        -- character data of the open elements, per depth
  local parser = lxp.new {
    StartElement = function(_, name)
      local node = { name = name:match("[^:]*$"), children = {} }
      local parent = stack[#stack]
      if parent then parent.children[#parent.children + 1] = node else root = node end
      stack[#stack + 1] = node
      parts[#stack] = {}
    end,
    EndElement = function()
      local node = stack[#stack]
      node.text = concat(parts[#stack])
      parts[#stack] = nil
      stack[#stack] = nil
    end,
    CharacterData = function(_, data)
      local p = parts[#stack]
      if p then p[#p + 1] = data end
    end,
  }
  local ok, msg, line = parser:parse(text)
  if ok then ok, msg, line = parser:parse() end
  -- close() raises on a document left unfinished; its verdict is known.
  pcall(parser.close, parser)
  if not ok then
    return nil, ("malformed XML (line %s): %s"):format(tostring(line), tostring(msg))
  end
  if not root then return nil, "XML document without an element" end
  return root
end

-- The first child of `node` named `name`.
local function child(node, name)
  if not node then return nil end
  for _, c in ipairs(node.children) do
    if c.name == name then return c end
  end
end
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
