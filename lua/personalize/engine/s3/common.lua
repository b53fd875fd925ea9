-- The S3 subset's shared pieces: its limits, S3's error codes, the
-- encodings S3 uses on the wire (percent, base64, XML text, dates), the
-- files of the object store (JSON records, unique names, key file names)
-- and the XML of request and response bodies. Pure functions; no state
-- but a counter for unique names.
--
--   local c = require "personalize.engine.s3.common"
--   c.ERRORS[code] -> { status, default message }
--   c.parse_xml(text) -> document element | nil, why
--   c.el(name, value), c.xml_document(root, parts)   -- response XML
local core = require "personalize.core"
local codec = require "personalize.codec"
local store = require "personalize.engine.store"
local cjson = store.json

local type, tostring, tonumber, ipairs = type, tostring, tonumber, ipairs
local pcall = pcall
local concat = table.concat
local floor = math.floor
local format, byte, char = string.format, string.byte, string.char
local io_open, os_date = io.open, os.date

local xml = require "personalize.xml" -- expat is loaded with the first XML request body

local _M = {}

_M.NS = "http://s3.amazonaws.com/doc/2006-03-01/"
local NS = _M.NS
local MIB = 1048576
_M.MIN_PART_SIZE = 5 * MIB -- every part but the last (S3 limits)
_M.MAX_OBJECT_SIZE = 5 * 1024 * MIB
_M.MAX_KEY_LENGTH = 1024
_M.MAX_PARTS = 10000
_M.MAX_KEYS = 1000
_M.MAX_XML_BODY = 2 * MIB
_M.MAX_POLICY = 20 * 1024
_M.CHUNK = MIB
_M.cjson = cjson

-- S3's error codes, their statuses and default messages.
local ERRORS = {
  AccessDenied = { 403, "Access Denied" },
  BadDigest = { 400, "The Content-MD5 you specified did not match what we received." },
  BucketAlreadyOwnedByYou = { 409,
    "Your previous request to create the named bucket succeeded and you already own it." },
  BucketNotEmpty = { 409, "The bucket you tried to delete is not empty" },
  EntityTooLarge = { 400, "Your proposed upload exceeds the maximum allowed size" },
  EntityTooSmall = { 400, "Your proposed upload is smaller than the minimum allowed size" },
  IllegalLocationConstraintException = { 400,
    "The unspecified location constraint is incompatible for the region specific endpoint this request was sent to." },
  IncompleteBody = { 400, "You did not provide the number of bytes specified by the Content-Length HTTP header." },
  InternalError = { 500, "We encountered an internal error. Please try again." },
  InvalidArgument = { 400, "Invalid Argument" },
  InvalidBucketName = { 400, "The specified bucket is not valid." },
  InvalidDigest = { 400, "The Content-MD5 you specified is not valid." },
  InvalidLocationConstraint = { 400, "The specified location-constraint is not valid" },
  InvalidPart = { 400, "One or more of the specified parts could not be found.  The part may not have been "
    .. "uploaded, or the specified entity tag may not match the part's entity tag." },
  InvalidPartOrder = { 400, "The list of parts was not in ascending order. Parts must be ordered by part number." },
  InvalidRange = { 416, "The requested range is not satisfiable" },
  InvalidRequest = { 400, "Invalid Request" },
  KeyTooLongError = { 400, "Your key is too long" },
  MalformedPolicy = { 400, "Policies must be valid JSON and the first byte must be '{'" },
  MalformedXML = { 400,
    "The XML you provided was not well-formed or did not validate against our published schema" },
  MethodNotAllowed = { 405, "The specified method is not allowed against this resource." },
  NoSuchBucket = { 404, "The specified bucket does not exist" },
  NoSuchBucketPolicy = { 404, "The bucket policy does not exist" },
  NoSuchKey = { 404, "The specified key does not exist." },
  NoSuchUpload = { 404, "The specified upload does not exist. The upload ID may be invalid, "
    .. "or the upload may have been aborted or completed." },
  NotImplemented = { 501, "A header you provided implies functionality that is not implemented" },
  PreconditionFailed = { 412, "At least one of the pre-conditions you specified did not hold" },
  SignatureDoesNotMatch = { 403, "The request signature we calculated does not match the signature you "
    .. "provided. Check your key and signing method." },
}
_M.ERRORS = ERRORS

---------------------------------------------------------------------------
-- Encodings

local function percent_decode(s)
  return (s:gsub("%%(%x%x)", function(h) return char(tonumber(h, 16)) end))
end

-- encoding-type=url in listings: everything but unreserved bytes and '/'
local function url_encode(s)
  return (s:gsub("[^%w%-_%.~/]", function(c) return format("%%%02X", byte(c)) end))
end

local XML_ESCAPES = { ["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;", ['"'] = "&quot;", ["'"] = "&apos;" }

local function xml_escape(s)
  return (tostring(s):gsub("[&<>\"']", XML_ESCAPES))
end
_M.xml_escape = xml_escape

local base64_encode = codec.base64_encode
_M.base64_encode = base64_encode

-- nil when `s` is not canonical base64
local base64_decode = codec.base64_decode
_M.base64_decode = base64_decode

local function hex_to_bytes(h)
  return (h:gsub("%x%x", function(x) return char(tonumber(x, 16)) end))
end

local function int(n)
  return format("%.0f", n)
end

local function iso_time(t)
  local s = floor(t)
  return os_date("!%Y-%m-%dT%H:%M:%S", s) .. format(".%03dZ", floor((t - s) * 1000))
end

local function http_time(t)
  return os_date("!%a, %d %b %Y %H:%M:%S GMT", floor(t))
end

---------------------------------------------------------------------------
-- Files

local read_file = store.read_file

local function file_size(path)
  local f = io_open(path, "rb")
  if not f then return nil end
  local n = f:seek("end")
  f:close()
  return n
end

local function read_json(path)
  local text = read_file(path)
  if not text then return nil end
  local ok, value = pcall(cjson.decode, text)
  if not ok or type(value) ~= "table" then return nil end
  return value
end

local function write_json(path, value)
  return core.write_file(path, cjson.encode(value))
end

-- A name no other call, worker or process picks (urandom, else a hash).
local unique_count = 0
local function unique_id()
  local f = io_open("/dev/urandom", "rb")
  local raw = f and f:read(16)
  if f then f:close() end
  if not raw or #raw ~= 16 then
    unique_count = unique_count + 1
    raw = core.sha256(tostring({}) .. core.time() .. core.now() .. unique_count)
  end
  return core.hex(raw:sub(1, 16))
end

-- The file-name form of a key (see the layout above).
local function key_name(key)
  local enc = key:gsub("[^%w%-_]", function(c) return format("%%%02X", byte(c)) end)
  if #enc <= 200 then return "k" .. enc end
  return "h" .. core.sha256_hex(key)
end

---------------------------------------------------------------------------
-- XML

-- The document element of an XML request body, or nil and why. S3's
-- request bodies have no document type: a DOCTYPE (and with it every
-- entity declaration, the way to an entity-expansion bomb) is refused
-- before anything is expanded, as is anything expat cannot parse.
local function parse_xml(text)
  return xml.parse(text, { no_doctype = true })
end

local function xml_children(node, name)
  local out = {}
  for _, c in ipairs(node.children) do
    if c.name == name then out[#out + 1] = c end
  end
  return out
end

local function xml_text(node, name)
  local c = xml_children(node, name)[1]
  return c and c.text
end

local function el(name, value)
  return "<" .. name .. ">" .. xml_escape(value) .. "</" .. name .. ">"
end

local function xml_document(root, parts)
  return '<?xml version="1.0" encoding="UTF-8"?>\n<' .. root .. ' xmlns="' .. NS .. '">'
    .. concat(parts) .. "</" .. root .. ">"
end


_M.percent_decode, _M.url_encode, _M.hex_to_bytes = percent_decode, url_encode, hex_to_bytes
_M.int, _M.iso_time, _M.http_time = int, iso_time, http_time
_M.read_file, _M.file_size, _M.read_json, _M.write_json = read_file, file_size, read_json, write_json
_M.unique_id, _M.key_name = unique_id, key_name
_M.parse_xml, _M.xml_children, _M.xml_text = parse_xml, xml_children, xml_text
_M.el, _M.xml_document = el, xml_document

return _M
