-- A recording HTTP server on loopback for specs (spec/support/capture_server.py).
--
--   local capture = require "support.capture"
--   local srv = capture.start()            -- or capture.start{ tls = { cert=, key= } }
--   srv.url, srv.port                      -- "http://127.0.0.1:PORT", PORT
--   srv.requests()                         -- every request recorded since reset
--   srv.reset()                            -- forget them
--   srv.stop()                             -- kill the server
--
-- The server is queried with luasocket, not with personalize.core, so a
-- broken core cannot hide its own bugs behind a broken capture.
local cjson = require "cjson"
local process = require "support.process"
local socket_http = require "socket.http"
local ltn12 = require "ltn12"

local _M = {}

-- The directory of this file, so the server is found from any cwd.
local here = (debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$")) or "spec/support"
_M.script = here .. "/capture_server.py"

-- GET on the plain-HTTP control side of the server; returns the decoded JSON.
local function get_json(port, path)
  local chunks = {}
  local ok, code = socket_http.request{
    url = ("http://127.0.0.1:%d%s"):format(port, path),
    sink = ltn12.sink.table(chunks),
  }
  if not ok or code ~= 200 then
    error(("capture server %s failed: %s"):format(path, tostring(code)), 3)
  end
  return cjson.decode(table.concat(chunks))
end

-- Starts a server. opts.tls = { cert = path, key = path } makes it speak
-- https (then requests()/reset() are unavailable: the control side is
-- plain HTTP only).
function _M.start(opts)
  opts = opts or {}
  local python = process.which("python3")
  if not python then error("python3 is required by support.capture", 2) end
  local port = process.free_port()
  local argv = { python, _M.script, tostring(port) }
  if opts.tls then
    argv[#argv + 1] = "--tls"
    argv[#argv + 1] = opts.tls.cert
    argv[#argv + 1] = opts.tls.key
  end
  local proc = process.spawn(argv)
  proc:wait_port(port)

  local srv = { port = port, proc = proc }
  srv.url = ("%s://127.0.0.1:%d"):format(opts.tls and "https" or "http", port)

  function srv.requests()
    assert(not opts.tls, "requests() is not available on a TLS capture server")
    return get_json(port, "/__requests")
  end

  function srv.reset()
    assert(not opts.tls, "reset() is not available on a TLS capture server")
    get_json(port, "/__reset")
  end

  function srv.stop()
    proc:stop()
  end

  return srv
end

return _M
