-- A stand-in for personalize.engine that spec/engine/server_spec.lua puts
-- first on nginx's Lua path (PERSONALIZE_LOCAL_LUA_PATH) to see exactly
-- what the nginx adapter hands the engine and how it writes answers.
--
--   POST /echo         answers the request body: body_file when the
--                      adapter gave one (X-Body-File: yes), else body
--   ANY  /describe     JSON { method, path, query, headers, body_length, body_file }
--   GET  /file?N       a body_file of N bytes (byte i is i % 251)
--   HEAD /head         Content-Length: 1234 and no body
--   ANY  /error        raises a Lua error
--   GET  /ticks        JSON { ticks = calls of tick() so far }
local cjson = require "cjson"

local _M = { DEFAULT_CREDENTIALS = { access_key_id = "AKIAFAKE", secret_access_key = "fake" } }

local Engine = {}
Engine.__index = Engine

function _M.open(opts)
  if opts.dir:find("refuse", 1, true) then return nil, "fake engine: refusing " .. opts.dir end
  return setmetatable({ dir = opts.dir, region = opts.region, ticks = 0 }, Engine)
end

function Engine:tick()
  self.ticks = self.ticks + 1
  return 0.05
end

function Engine.close() end

local function json(t)
  return { status = 200, headers = { ["Content-Type"] = "application/json" }, body = cjson.encode(t) }
end

local function pattern_file(path, n)
  local bytes = {}
  for i = 0, 250 do bytes[#bytes + 1] = string.char(i) end
  local block = table.concat(bytes)
  local f = assert(io.open(path, "wb"))
  local left = n
  while left > 0 do
    local piece = block:sub(1, math.min(left, #block))
    f:write(piece)
    left = left - #piece
  end
  f:close()
end

function Engine:handle(req)
  if req.path == "/echo" then
    return { status = 200,
             headers = { ["Content-Type"] = "application/octet-stream", ["X-Body-File"] = req.body_file and "yes" or "no" },
             body = req.body, body_file = req.body_file }
  elseif req.path == "/describe" or req.path:find("^/describe/") then
    local size = req.body and #req.body
    if req.body_file then
      local f = io.open(req.body_file, "rb")
      size = f:seek("end")
      f:close()
    end
    return json { method = req.method, path = req.path, query = req.query or cjson.null,
                  headers = req.headers, body_length = size, body_file = req.body_file ~= nil }
  elseif req.path == "/file" then
    local path = self.dir .. "/file.bin"
    pattern_file(path, tonumber(req.query))
    return { status = 200, headers = { ["Content-Type"] = "application/octet-stream" }, body_file = path }
  elseif req.path == "/head" then
    return { status = 200, headers = { ["Content-Length"] = "1234", ["ETag"] = '"x"' } }
  elseif req.path == "/error" then
    error("fake engine failure")
  elseif req.path == "/ticks" then
    return json { ticks = self.ticks }
  end
  return { status = 404, headers = { ["Content-Type"] = "application/json" },
           body = '{"__type":"UnknownOperationException","message":"no such path"}' }
end

return _M
