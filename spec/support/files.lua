-- Small file helpers for specs.
--
--   files.read(path)         -> the bytes, or nil when it cannot be opened
--   files.write(path, text)  -> path (raises when it cannot be written)
--   files.tmpdir()           -> a new empty directory under TMPDIR or /tmp
local core = require "personalize.core"

local _M = {}

function _M.read(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  return s
end

function _M.write(path, text)
  local f = assert(io.open(path, "wb"))
  assert(f:write(text))
  assert(f:close())
  return path
end

function _M.tmpdir()
  local path = os.tmpname()
  os.remove(path)
  assert(core.mkdir(path))
  return path
end

return _M
