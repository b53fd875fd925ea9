-- The REST-XML subset S3 speaks: XML documents in, XML documents out, and
-- S3's error documents (<Error><Code>NoSuchKey</Code>...).
--
--   local root, err = rest_xml.parse(body)     -- a tree, or nil, message
--   rest_xml.child(node, "Name")               -- first child element
--   rest_xml.children(node, "Contents")        -- every such child, a list
--   rest_xml.text(node, "Key")                 -- a child's text, or nil
--   local xml = rest_xml.element("Part", { ... })  -- builds a document
--   local fields = rest_xml.parse_error(status, headers, body, method)
--
-- A node is { name = "Contents", text = "...", children = { node, ... } }
-- (personalize.xml: expat, so entities, CDATA and UTF-8 are handled as
-- XML says; namespaces are dropped from element names).
local xml = require "personalize.xml"

local type, tostring = type, tostring

local _M = {}

-- The element tree of an XML document, or nil and expat's message.
function _M.parse(body)
  if type(body) ~= "string" or not body:find("<", 1, true) then
    return nil, "not an XML document"
  end
  local root, err, line = xml.parse(body)
  if root then return root end
  if err == "no element" then return nil, "an XML document without an element" end
  return nil, ("invalid XML (%s at line %s)"):format(err, tostring(line))
end

_M.child, _M.children, _M.text = xml.child, xml.children, xml.text
_M.escape, _M.element = xml.escape, xml.element

-- The codes botocore gives bodiless errors (HEAD): the status as a name.
local STATUS_CODES = {
  [301] = "PermanentRedirect", [304] = "NotModified", [400] = "BadRequest",
  [403] = "Forbidden", [404] = "NotFound", [405] = "MethodNotAllowed",
  [412] = "PreconditionFailed", [416] = "InvalidRange", [500] = "InternalError",
  [503] = "ServiceUnavailable",
}
local STATUS_TEXT = {
  [301] = "Moved Permanently", [304] = "Not Modified", [400] = "Bad Request",
  [403] = "Forbidden", [404] = "Not Found", [405] = "Method Not Allowed",
  [412] = "Precondition Failed", [416] = "Requested Range Not Satisfiable",
  [500] = "Internal Server Error", [503] = "Service Unavailable",
}

-- The request id S3 puts in its headers.
function _M.request_id(headers)
  return headers["x-amz-request-id"] or headers["x-amzn-requestid"]
end

-- The fields of the error in a response (non-2xx, or a 200 whose body is
-- an <Error> document, as CompleteMultipartUpload may answer). A body
-- that is not an error document (HEAD, a proxy page) is named after the
-- status: 404 -> NotFound, 403 -> Forbidden.
function _M.parse_error(status, headers, body)
  local root = _M.parse(body)
  local err = root and (root.name == "Error" and root or _M.child(root, "Error"))
  local fields = { status = status, request_id = _M.request_id(headers) }
  if err and _M.text(err, "Code") then
    fields.code = _M.text(err, "Code")
    fields.message = _M.text(err, "Message") or ""
    fields.request_id = fields.request_id or _M.text(err, "RequestId")
    fields.bucket_name = _M.text(err, "BucketName")
    fields.key = _M.text(err, "Key")
    return fields
  end
  fields.code = STATUS_CODES[status] or tostring(status)
  local text = (body or ""):gsub("%s+", " "):sub(1, 200)
  fields.message = text ~= "" and text or STATUS_TEXT[status] or ("HTTP status " .. tostring(status))
  return fields
end

return _M
