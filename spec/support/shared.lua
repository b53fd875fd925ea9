-- Locates ../shared (test vectors, models, datasets) for specs and benches.
-- PERSONALIZE_SHARED overrides. Under CI=true a missing directory fails;
-- elsewhere the caller skips loudly.
local files = require "support.files"
local _M = {}

function _M.dir(sub)
  local base = os.getenv("PERSONALIZE_SHARED") or "../shared"
  local path = base .. "/" .. sub
  local f = io.open(path .. "/README.md") or io.open(path .. "/LICENSE")
  if f then f:close(); return path end
  local msg = "shared data not found at " .. path .. " (set PERSONALIZE_SHARED)"
  if os.getenv("CI") == "true" then error(msg, 2) end
  io.stderr:write("\n*** SKIPPED: " .. msg .. " ***\n")
  return nil
end

_M.read = files.read

-- Names of the entries of a directory, sorted.
function _M.list(dir)
  local p = io.popen("ls -1 '" .. dir .. "'")
  local out = {}
  for line in p:lines() do out[#out + 1] = line end
  p:close()
  table.sort(out)
  return out
end

return _M
