-- Helpers for the specs of personalize-local's jobs against bin/personalize-local:
-- large interaction files written fast, the health path, waits.
--
--   local jobs = require "support.engine_jobs"
--   jobs.write_interactions(path, n)   -- n rows of USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE,EVENT_VALUE
--   jobs.health(port)                  -- status, body of GET /_personalize_local/health
--   jobs.temp_files(dir)               -- { path } of temporary files left under dir (not run/)
local socket = require "socket"
local process = require "support.process"

local _M = {}

-- 20000 users over 5000 items, the popular items (small numbers) more
-- often; written in chunks of 10000 lines.
function _M.write_interactions(path, n)
  local f = assert(io.open(path, "wb"))
  f:write("USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE,EVENT_VALUE\n")
  local chunk, k, t = {}, 0, 1700000000
  for i = 1, n do
    local u = i % 20000
    local item = (i * 7919 + u * 31) % 5000
    item = item % (1 + (i % 97) * 52)
    k = k + 1
    chunk[k] = "u" .. u .. ",i" .. item .. "," .. (t + i) .. ",watch,1\n"
    if k == 10000 then
      f:write(table.concat(chunk))
      chunk, k = {}, 0
    end
  end
  f:write(table.concat(chunk, "", 1, k))
  f:close()
end

function _M.health(port)
  local c = socket.tcp()
  c:settimeout(10)
  if not c:connect("127.0.0.1", port) then c:close(); return nil end
  c:send(("GET /_personalize_local/health HTTP/1.0\r\nHost: 127.0.0.1:%d\r\n\r\n"):format(port))
  local text = c:receive("*a")
  c:close()
  if not text then return nil end
  return tonumber(text:match("^HTTP/1%.%d (%d+)")), text:match("\r\n\r\n(.*)$")
end

function _M.temp_files(dir)
  local p = io.popen("find " .. process.shell_quote(dir) .. " -path " .. process.shell_quote(dir .. "/run")
    .. " -prune -o -type f -name '*.tmp.*' -print")
  local out = {}
  for line in p:lines() do out[#out + 1] = line end
  p:close()
  return out
end

return _M
