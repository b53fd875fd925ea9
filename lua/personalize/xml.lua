-- XML documents as small trees, read with expat (lua-expat's `lxp`,
-- loaded with the first document), never with string patterns: the one
-- reader of the S3 (REST-XML) and STS (query) protocols, of XML error
-- documents and of personalize-local's S3 request bodies.
--
--   local root, err, line = xml.parse(text[, { no_doctype = true }])
--   xml.child(node, "Name")          first child element, or nil
--   xml.children(node, "Contents")   every such child, a list
--   xml.text(node, "Key")            a child's text, or nil
--   xml.find(node, "Code")           first element of that name, depth first
--   xml.escape(s), xml.element("Part", { { "ETag", e }, ... })   writing
--
-- A node is { name = "Tag", text = "its character data", children = {
-- node, ... } }; namespaces are dropped from names ("ns:Tag", "{uri}Tag").
-- parse() returns the document element, or nil, a message and the line
-- (nil for "no element" and refusals). With no_doctype a document type
-- (and with it every entity declaration, the way to an entity-expansion
-- bomb) is refused before anything is expanded.
local concat, type, tostring, pcall, ipairs = table.concat, type, tostring, pcall, ipairs

local lxp

local _M = {}

local function local_name(name)
  return name:match("([^:}]+)$") or name
end

function _M.parse(text, opts)
  lxp = lxp or require "lxp"
  local root, refused
  local stack, texts = {}, {}
  local callbacks = {
    StartElement = function(_, name)
      local node = { name = local_name(name), children = {} }
      local parent = stack[#stack]
      if parent then
        parent.children[#parent.children + 1] = node
      else
        root = root or node
      end
      stack[#stack + 1] = node
      texts[#texts + 1] = {}
    end,
    CharacterData = function(_, s)
      local t = texts[#texts]
      if t then t[#t + 1] = s end
    end,
    EndElement = function()
      local node = stack[#stack]
      node.text = concat(texts[#texts])
      stack[#stack], texts[#texts] = nil, nil
    end,
  }
  if opts and opts.no_doctype then
    callbacks.StartDoctypeDecl = function(p)
      refused = "a DOCTYPE is not allowed"
      p:stop()
    end
    callbacks.EntityDecl = function(p)
      refused = "entity declarations are not allowed"
      p:stop()
    end
  end
  local parser = lxp.new(callbacks)
  local pok, ok, err, line = pcall(parser.parse, parser, text)
  if pok and ok and not refused then pok, ok, err, line = pcall(parser.parse, parser) end
  pcall(parser.close, parser)   -- raises on a parser that stopped in error
  if refused then return nil, refused end
  if not pok then return nil, "cannot parse the XML" end
  if not ok then return nil, tostring(err), line or 0 end
  if not root then return nil, "no element" end
  return root
end

function _M.child(node, name)
  if not node then return nil end
  for _, c in ipairs(node.children) do
    if c.name == name then return c end
  end
  return nil
end

function _M.children(node, name)
  local list = {}
  if not node then return list end
  for _, c in ipairs(node.children) do
    if c.name == name then list[#list + 1] = c end
  end
  return list
end

function _M.text(node, name)
  local c = _M.child(node, name)
  return c and c.text
end

function _M.find(node, name)
  if not node then return nil end
  if node.name == name then return node end
  for _, c in ipairs(node.children) do
    local found = _M.find(c, name)
    if found then return found end
  end
  return nil
end

local ESCAPES = { ["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;", ['"'] = "&quot;", ["'"] = "&apos;" }

function _M.escape(s)
  return (tostring(s):gsub("[&<>\"']", ESCAPES))
end

-- <name>...</name> from `content`: a string (escaped), or a list of
-- { name, content } pairs (nested elements, in order).
function _M.element(name, content)
  if type(content) == "table" then
    local parts = { "<", name, ">" }
    for _, pair in ipairs(content) do
      parts[#parts + 1] = _M.element(pair[1], pair[2])
    end
    parts[#parts + 1] = "</" .. name .. ">"
    return concat(parts)
  end
  return "<" .. name .. ">" .. _M.escape(content) .. "</" .. name .. ">"
end

return _M
