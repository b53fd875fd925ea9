-- Raw HTTP requests to personalize-local, signed with exactly the headers
-- a spec chooses and tampered with afterwards if it likes: for specs of
-- what the engine accepts and refuses.
--
--   local raw = require "support.raw_request"
--   local status, headers, body = raw.http(port, "GET", "/bucket/key", { { "Host", "..." } }, body)
--   local list = raw.signed_request(server, { method =, path =, query =, signed = { headers },
--     body =, sign_body = (sign this body, send `body`), payload =, region =, service =,
--     credentials =, time =, extra = { { name, value } } })   -- the header list to send
--   local status, headers, body = raw.send(server, same_options)
--   local status, doc = raw.personalize_call(server, "ListSchemas", params, { region =, service =, signed =, extra = })
--   raw.xml(body, "Code")        -- the text of the first <Code> element
local socket = require "socket"
local cjson = require "cjson"
local sigv4 = require "personalize.sigv4"

local _M = {}

-- A raw HTTP/1.1 exchange: status, headers (lowercase), body.
function _M.http(port, method, target, headers, body)
  local c = socket.tcp()
  c:settimeout(30)
  assert(c:connect("127.0.0.1", port))
  local lines = { ("%s %s HTTP/1.1"):format(method, target), "Connection: close" }
  local has_host = false
  for _, h in ipairs(headers or {}) do
    lines[#lines + 1] = h[1] .. ": " .. h[2]
    if h[1]:lower() == "host" then has_host = true end
  end
  if not has_host then lines[#lines + 1] = "Host: 127.0.0.1:" .. port end
  lines[#lines + 1] = "Content-Length: " .. #(body or "")
  assert(c:send(table.concat(lines, "\r\n") .. "\r\n\r\n" .. (body or "")))
  local status = tonumber(assert(c:receive("*l")):match("^HTTP/1%.%d (%d+)"))
  local h = {}
  while true do
    local l = assert(c:receive("*l"))
    if l == "" then break end
    local k, v = l:match("^([^:]+):%s*(.*)$")
    h[k:lower()] = v
  end
  local data = ""
  if method ~= "HEAD" then
    data = h["content-length"] and c:receive(tonumber(h["content-length"])) or c:receive("*a")
  end
  c:close()
  return status, h, data or ""
end

function _M.xml(body, name)
  local n = name:gsub("%-", "%%-")
  return body:match("<" .. n .. ">(.-)</" .. n .. ">")
end

-- Signs with our signer over exactly `signed` (a table of headers), then
-- returns the header list to send: the signed ones, Authorization and
-- `extra` ({ {name, value} }) added afterwards.
function _M.signed_request(server, o)
  local url = server.endpoint .. o.path .. (o.query and ("?" .. o.query) or "")
  local h = sigv4.sign {
    method = o.method, url = url, headers = o.signed or {}, body = o.sign_body or o.body or "",
    payload = o.payload, region = o.region or server.region, service = o.service or "personalize",
    credentials = o.credentials or { access_key_id = server.access_key_id,
                                     secret_access_key = server.secret_access_key },
    time = o.time, normalize_path = o.service ~= "s3", double_encode = o.service ~= "s3",
  }
  local list = {}
  for k, v in pairs(h) do list[#list + 1] = { k, v } end
  for _, e in ipairs(o.extra or {}) do list[#list + 1] = e end
  return list
end

function _M.send(server, o)
  return _M.http(server.port, o.method, o.path .. (o.query and ("?" .. o.query) or ""),
    _M.signed_request(server, o), o.body)
end

function _M.personalize_call(server, target, params, o)
  o = o or {}
  local body = cjson.encode(params or {})
  local signed = o.signed or { ["Content-Type"] = "application/x-amz-json-1.1",
                               ["X-Amz-Target"] = "AmazonPersonalize." .. target }
  local extra = o.extra
  local status, _, data = _M.send(server, { method = "POST", path = "/", signed = signed, body = body,
    region = o.region, service = o.service, time = o.time, extra = extra })
  local ok, doc = pcall(cjson.decode, data)
  return status, ok and doc or data
end

return _M
