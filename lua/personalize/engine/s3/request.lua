-- What the S3 operations read from a request and write in a response:
-- virtual-host buckets, query strings, bodies (aws-chunked ones decoded
-- and their chunk signatures checked), user metadata, and the small
-- response builders.
local core = require "personalize.core"
local codec = require "personalize.codec"
local common = require "personalize.engine.s3.common"

local type, tonumber, pairs, concat, io_open = type, tonumber, pairs, table.concat, io.open
local os_remove = os.remove
local MAX_XML_BODY, CHUNK, percent_decode = common.MAX_XML_BODY, common.CHUNK, common.percent_decode
local int, http_time, read_file, file_size = common.int, common.http_time, common.read_file, common.file_size
local xml_document = common.xml_document

local _M = {}

---------------------------------------------------------------------------
-- Requests

-- Virtual-hosted style: "<bucket>.s3.<anything>", "<bucket>.s3-<region>...",
-- "<bucket>.localhost"; nil for path style.
local function host_bucket(host)
  if type(host) ~= "string" then return nil end
  host = host:lower():gsub(":%d+$", "")
  local b = host:match("^(.-)%.s3[%.%-]") or host:match("^(.+)%.localhost$")
  if b and b ~= "" then return b end
  return nil
end

local function parse_query(raw)
  local q, names = {}, {}
  if not raw or raw == "" then return q, names end
  for pair in raw:gmatch("[^&]+") do
    local name, value = pair:match("^([^=]*)=(.*)$")
    name = percent_decode(((name or pair):gsub("%+", " ")))
    value = value and percent_decode((value:gsub("%+", " "))) or ""
    if q[name] == nil then
      q[name] = value
      names[#names + 1] = name
    end
  end
  return q, names
end

local function capitalise(s)
  return (s:gsub("^%l", string.upper):gsub("%-(%l)", string.upper))
end

-- The body as a string (XML bodies; small), or nil.
local function body_text(r)
  local req = r.req
  if req.body then return req.body end
  if req.body_file then
    local n = file_size(req.body_file)
    if n and n > MAX_XML_BODY then return nil end
    return read_file(req.body_file)
  end
  return ""
end

local function is_aws_chunked(h)
  local sha = h["x-amz-content-sha256"] or ""
  return sha:sub(1, 10) == "STREAMING-" or (h["content-encoding"] or ""):find("aws-chunked", 1, true) ~= nil
end

-- aws-chunked bodies: "<hex>[;chunk-signature=<sig>]\r\n<bytes>\r\n" ...
-- "0[;chunk-signature=<sig>]\r\n" [trailer lines "name:value\r\n"] "\r\n".
-- A reader gives line() (without its CRLF; nil past the end or for a
-- line longer than MAX_LINE), copy(n, emit) (hands on n bytes, returns
-- their SHA-256 hex, or nil when the body ends first) and done().
local MAX_LINE = 8192
local EMPTY_SHA256 = codec.EMPTY_SHA256

local function string_reader(s)
  local pos = 1
  return {
    line = function()
      local e = s:find("\r\n", pos, true)
      if not e or e - pos > MAX_LINE then return nil end
      local l = s:sub(pos, e - 1)
      pos = e + 2
      return l
    end,
    copy = function(n, emit)
      if pos + n - 1 > #s then return nil end
      local d = s:sub(pos, pos + n - 1)
      pos = pos + n
      emit(d)
      return core.sha256_hex(d)
    end,
    done = function() return pos > #s end,
  }
end

local function file_reader(path, f)
  local size = f:seek("end")
  f:seek("set", 0)
  local buf, base = "", 0          -- buf holds the file's bytes from offset base
  local function fill()
    local more = f:read(4096)
    if not more then return false end
    buf = buf .. more
    return true
  end
  return {
    line = function()
      while true do
        local e = buf:find("\r\n", 1, true)
        if e then
          local l = buf:sub(1, e - 1)
          buf, base = buf:sub(e + 2), base + e + 1
          return l
        end
        if #buf > MAX_LINE or not fill() then return nil end
      end
    end,
    copy = function(n, emit)
      if base + n > size then return nil end
      local hash = core.sha256_file(path, base, n)
      local left = n
      local take = buf:sub(1, left)
      buf, left = buf:sub(#take + 1), left - #take
      if #take > 0 then emit(take) end
      while left > 0 do
        local piece = f:read(left < CHUNK and left or CHUNK)
        if not piece or piece == "" then return nil end
        emit(piece)
        left = left - #piece
      end
      base = base + n
      return hash
    end,
    done = function() return base >= size end,
  }
end

-- Decodes an aws-chunked body from `src`, handing the data to `emit`.
-- With `ctx.signing_key` (a STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]
-- request the authenticator verified) every chunk's signature must chain
-- from the seed signature (the request's) and, with trailers, so must the
-- trailer signature. Returns the decoded length, or nil and an S3 code.
local function dechunk(src, emit, ctx)
  local auth = ctx and ctx.signing_key and require "personalize.engine.auth"
  local prev = auth and ctx.signature
  local total = 0
  while true do
    local line = src.line()
    local size_hex, ext = (line or ""):match("^(%x+)(.*)$")
    if not size_hex or #size_hex > 15 then return nil, "IncompleteBody" end
    local n = tonumber(size_hex, 16)
    local hash = EMPTY_SHA256
    if n > 0 then
      hash = src.copy(n, emit)
      if not hash or src.line() ~= "" then return nil, "IncompleteBody" end
    end
    if auth then
      local sig = ext:match("^;chunk%-signature=(%x+)$")
      if not sig or sig:lower() ~= auth.chunk_signature(ctx, prev, hash) then
        return nil, "SignatureDoesNotMatch"
      end
      prev = sig:lower()
    end
    total = total + n
    if n == 0 then break end
  end
  local trailers, trailer_sig = {}, nil
  while not src.done() do
    local line = src.line()
    if line == nil then return nil, "IncompleteBody" end
    if line == "" then break end
    local name, value = line:match("^([^:]+):(.*)$")
    if not name then return nil, "IncompleteBody" end
    name = name:lower()
    if name == "x-amz-trailer-signature" then
      trailer_sig = value
    else
      trailers[#trailers + 1] = name .. ":" .. value .. "\n"
    end
  end
  if auth and ctx.payload == "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER" then
    if not trailer_sig or trailer_sig:lower() ~= auth.trailer_signature(ctx, prev, concat(trailers)) then
      return nil, "SignatureDoesNotMatch"
    end
  end
  return total
end

local function dechunk_string(s, ctx)
  local out = {}
  local n, code = dechunk(string_reader(s), function(d) out[#out + 1] = d end, ctx)
  if not n then return nil, code end
  return concat(out)
end

local function dechunk_file(src, dest, ctx)
  local f = io_open(src, "rb")
  if not f then return nil, "IncompleteBody" end
  local o = io_open(dest, "wb")
  if not o then f:close() return nil, "InternalError" end
  local n, code = dechunk(file_reader(src, f), function(d) o:write(d) end, ctx)
  f:close()
  o:close()
  if not n then os_remove(dest) end
  return n, code
end

-- The x-amz-meta-* headers of a request, without the prefix.
local user_metadata = codec.user_metadata

local function object_headers(meta)
  local h = {
    ["Content-Type"] = meta.ContentType,
    ["Content-Length"] = int(meta.Size),
    ETag = meta.ETag,
    ["Last-Modified"] = http_time(meta.LastModified),
    ["Accept-Ranges"] = "bytes",
  }
  for k, v in pairs(meta.Metadata or {}) do h["x-amz-meta-" .. k] = v end
  return h
end

local function xml_response(status, root, parts)
  return { status = status, headers = { ["Content-Type"] = "application/xml" }, body = xml_document(root, parts) }
end

local function no_content()
  return { status = 204, headers = {} }
end

local function invalid_argument(message, name, value)
  return nil, "InvalidArgument", message, { { "ArgumentName", name }, { "ArgumentValue", value } }
end

_M.host_bucket, _M.parse_query, _M.capitalise, _M.body_text = host_bucket, parse_query, capitalise, body_text
_M.is_aws_chunked, _M.dechunk_string, _M.dechunk_file = is_aws_chunked, dechunk_string, dechunk_file
_M.user_metadata, _M.object_headers, _M.xml_response = user_metadata, object_headers, xml_response
_M.no_content, _M.invalid_argument = no_content, invalid_argument

return _M
