-- Locates the data the specs read: AWS's SigV4 test vectors, the service
-- models and MovieLens, kept in the repository under third_party/ (see
-- third_party/README.md). PERSONALIZE_SHARED=DIR reads DIR/<sub> instead.
-- A missing directory is an error, never a skip.
local files = require "support.files"
local _M = {}

-- The repository's third_party/ (from this file's place in it).
_M.THIRD_PARTY = (function()
  local src = debug.getinfo(1, "S").source:gsub("^@", "")
  local root = src:match("^(.*)/spec/support/[^/]+$") or "."
  return root .. "/third_party"
end)()

function _M.dir(sub)
  local base = os.getenv("PERSONALIZE_SHARED") or _M.THIRD_PARTY
  local path = base .. "/" .. sub
  local f = io.open(path .. "/README.md") or io.open(path .. "/LICENSE")
  if f then f:close(); return path end
  error("spec data not found at " .. path .. " (third_party/ of the repository, or PERSONALIZE_SHARED)", 2)
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
