-- A scripted HTTP peer on loopback (spec/support/script_server.py): each
-- request gets the next answer of a script; faults (resets, stalls) too.
--
--   local peer = require("support.script_server").start()
--   peer.script{ { status = 503 }, { reset = true }, { stall = 3 }, { status = 200, body = "{}" } }
--   peer.requests()   -- { { method, path, headers, body }, ... }
--   peer.url, peer.port, peer.stop()
--
-- The control side is spoken with luasocket, not personalize.core.
local cjson = require "cjson"
local process = require "support.process"
local socket_http = require "socket.http"
local ltn12 = require "ltn12"

local _M = {}

local here = (debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$")) or "spec/support"
_M.script = here .. "/script_server.py"

local function control(port, method, path, body)
  local chunks = {}
  local ok, code = socket_http.request {
    url = ("http://127.0.0.1:%d%s"):format(port, path), method = method,
    source = body and ltn12.source.string(body) or nil,
    headers = body and { ["content-length"] = tostring(#body), ["content-type"] = "application/json" } or nil,
    sink = ltn12.sink.table(chunks),
  }
  if not ok or code ~= 200 then error(("script server %s failed: %s"):format(path, tostring(code)), 3) end
  return table.concat(chunks)
end

function _M.start()
  local python = process.which("python3")
  if not python then error("python3 is required by support.script_server", 2) end
  local port = process.free_port()
  local proc = process.spawn { python, _M.script, tostring(port) }
  proc:wait_port(port)
  local peer = { port = port, url = ("http://127.0.0.1:%d"):format(port) }
  function peer.script(answers)
    for _, a in ipairs(answers) do
      if a.headers and next(a.headers) == nil then a.headers = nil end
    end
    control(port, "POST", "/__script", cjson.encode(answers))
  end
  function peer.requests() return cjson.decode(control(port, "GET", "/__requests")) end
  function peer.stop() proc:stop() end
  return peer
end

return _M
