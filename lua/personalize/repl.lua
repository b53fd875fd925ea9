-- The REPL's side of lua-personalize: values print readably.
--
--   lua5.4 -e "require('personalize.repl').start()" -i      (bin/personalize-repl, make repl)
--
-- start() sets the globals `personalize` (the library) and `print` (this
-- module's show-everything print), then writes one line saying what is
-- loaded and how to make a client. The REPLs of Lua 5.4 and LuaJIT print
-- an expression's values through the global `print`, so a bare `res`,
-- `res.itemList` or `client:operations()` shows members instead of
-- "table: 0x...": tables render as Lua table constructors (nested ones
-- too, timestamps as ISO-8601 times: personalize.result), values with
-- their own __tostring (frames, errors, clients) as that. Only the REPL's
-- print changes: results stay plain tables for code, and scripts that do
-- not call start() print as plain Lua does.
local result = require "personalize.result"

local type, tostring, select, getmetatable = type, tostring, select, getmetatable
local concat = table.concat

local _M = {}

-- The printed form of one value.
function _M.show(v)
  if type(v) ~= "table" then return tostring(v) end
  local mt = getmetatable(v)
  if mt and mt.__tostring and mt ~= result.MT then return tostring(v) end
  return result.render(v)
end

-- print(...) with every table shown; tab-separated as print does.
function _M.print(...)
  local n = select("#", ...)
  local out = {}
  for i = 1, n do out[i] = _M.show((select(i, ...))) end
  io.stdout:write(concat(out, "\t"), "\n")
end

-- The line start() writes.
function _M.banner()
  local personalize = require "personalize"
  local jit = rawget(_G, "jit")
  local lua = jit and jit.version or _VERSION
  local line = ("lua-personalize %s on %s, loaded as `personalize`: "
    .. "p = personalize.client(\"personalize\", { region = \"us-east-1\" }) makes a client, "
    .. "p:operations() lists its calls, personalize.help(p, \"create_schema\") explains one")
    :format(personalize._VERSION, lua)
  if jit then line = line .. " (LuaJIT prints a value with `= expr`)" end
  return line
end

-- Loads the library into the globals `personalize` and `print`; writes
-- the banner unless opts.quiet.
function _M.start(opts)
  opts = opts or {}
  _G.personalize = require "personalize"
  _G.print = _M.print
  if not opts.quiet then io.stdout:write(_M.banner(), "\n") end
  return _G.personalize
end

return _M
