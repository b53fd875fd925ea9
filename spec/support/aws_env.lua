-- Temporary AWS homes and isolated interpreters for configuration specs.
--
--   local aws_env = require "support.aws_env"
--   local home = aws_env.home{ config = "[default]\n...", credentials = "..." }
--   home.dir, home.config, home.credentials, home:write(name, text), home:remove()
--   local out = aws_env.run(code, env)    -- `code` in a fresh interpreter
--   local v = aws_env.shown(out)          -- its show(k, v) lines as a table
--
-- run() starts `env -i` with only PATH, HOME (default /nonexistent),
-- LUA_PATH, LUA_CPATH and the given variables, so nothing of the caller's
-- AWS setup leaks in; `personalize` and a show(k, v) printer are preloaded.
local _M = {}

local LUA = require("support.process").LUA
_M.LUA = LUA

local quote = require("support.process").shell_quote
_M.quote = quote

local function write(path, text)
  local f = assert(io.open(path, "w"))
  f:write(text)
  f:close()
  return path
end
_M.write = write

local Home = {}
Home.__index = Home

function Home:write(name, text)
  return write(self.dir .. "/" .. name, text)
end

function Home:remove()
  os.execute("rm -rf " .. quote(self.dir))
end

-- A temporary HOME with .aws/config and .aws/credentials from `files`.
function _M.home(files)
  local p = io.popen("mktemp -d")
  local dir = p:read("*l")
  p:close()
  os.execute("mkdir -p " .. quote(dir .. "/.aws"))
  local home = setmetatable({ dir = dir, config = dir .. "/.aws/config",
                              credentials = dir .. "/.aws/credentials" }, Home)
  files = files or {}
  if files.config then write(home.config, files.config) end
  if files.credentials then write(home.credentials, files.credentials) end
  return home
end

-- An env table for config.new{ env = ... } pointing at `home`.
function _M.env(home, extra)
  local t = { HOME = home and home.dir or "/nonexistent" }
  for k, v in pairs(extra or {}) do t[k] = v end
  return t
end

function _M.run(code, env)
  local script = os.tmpname()
  write(script, "local personalize = require 'personalize'\n"
    .. "local function show(k, v) io.write(k, '=', (tostring(v):gsub('\\n', ' ')), '\\n') end\n" .. code)
  local words = { "env", "-i", "PATH=" .. quote(os.getenv("PATH") or "/usr/bin:/bin"),
                  "LUA_PATH=" .. quote(package.path), "LUA_CPATH=" .. quote(package.cpath) }
  local vars = { HOME = "/nonexistent", AWS_EC2_METADATA_DISABLED = "true" }
  -- Sanitizer settings pass through: under `make check-asan` the child
  -- interpreter is the ASan wrapper and must keep leak checks off.
  for _, name in ipairs { "ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS" } do
    vars[name] = os.getenv(name)
  end
  for k, v in pairs(env or {}) do vars[k] = v end
  for k, v in pairs(vars) do
    if v ~= false then words[#words + 1] = k .. "=" .. quote(v) end
  end
  words[#words + 1] = LUA
  words[#words + 1] = quote(script)
  local p = io.popen(table.concat(words, " ") .. " 2>&1")
  local out = p:read("*a")
  p:close()
  os.remove(script)
  return out
end

function _M.shown(out)
  local t = {}
  for k, v in out:gmatch("([%w_]+)=([^\n]*)") do t[k] = v end
  return t
end

return _M
