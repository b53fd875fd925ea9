-- `luarocks make` from the clone: offline, for the interpreter of the run
-- (Lua 5.4, or LuaJIT through tools/luarocks-luajit.lua), with nothing left
-- in the clone's root; for any other Lua (Debian's luarocks defaults to
-- 5.1) it stops before compiling and says which commands build for Lua
-- 5.4, LuaJIT and OpenResty. spec/packaging/rock_spec.lua installs the
-- packed rock.
local files = require "support.files"
local process = require "support.process"

local q = process.shell_quote
local JIT = rawget(_G, "jit") ~= nil
local VERSION = require "personalize.version"

-- PATH without check-asan's lua5.4 wrapper (LuaRocks would take its
-- directory for Lua's prefix and look for the headers there).
local PATH = (os.getenv("PATH") or ""):gsub("[^:]*/build/asan/bin:?", "")

local function run(cmd)
  local log = os.tmpname()
  local r = os.execute("PATH=" .. q(PATH) .. "; " .. cmd .. " >" .. q(log) .. " 2>&1")
  local out = files.read(log) or ""
  os.remove(log)
  return r == true or r == 0, out
end

describe("luarocks make", function()
  -- Plain `luarocks make` when LuaRocks defaults to Lua 5.1 (Debian's
  -- does), as a newcomer types it.
  it("refuses Lua 5.1 with the commands for Lua 5.4, LuaJIT and OpenResty", function()
    local tree = files.tmpdir()
    local p = io.popen("luarocks config lua_version 2>/dev/null")
    local default = p:read("*l")
    p:close()
    local ok, out = run("luarocks " .. (default == "5.1" and "" or "--lua-version 5.1 ")
      .. "--tree " .. q(tree) .. " make --deps-mode=none")
    os.execute("rm -rf " .. q(tree))
    assert.is_false(ok)
    assert.matches("this LuaRocks builds for Lua 5.1 %(", out)
    assert.truthy(out:find("luarocks --lua-version 5.4 make", 1, true), out)
    assert.truthy(out:find("LUAROCKS_CONFIG=tools/luarocks-luajit.lua luarocks --lua-version 5.1 make", 1, true), out)
    assert.truthy(out:find("luarocks --lua-dir=/usr/local/openresty/luajit make", 1, true), out)
    assert.is_nil(out:find("cc ", 1, true), "compiled before refusing")
  end)

  it("builds, installs and loads offline under " .. (JIT and "LuaJIT" or "Lua 5.4"), function()
    local tree = files.tmpdir()
    local how = JIT and "LUAROCKS_CONFIG=tools/luarocks-luajit.lua luarocks --lua-version 5.1"
      or "luarocks --lua-version 5.4"
    local luaver = JIT and "5.1" or "5.4"
    local ok, out = run(how .. " --tree " .. q(tree) .. " make --deps-mode=none")
    local _, strays = run("{ ls -d personalize *.so *.o 2>/dev/null; true; }")
    local p = io.popen(("cd /tmp && LUA_PATH=%s LUA_CPATH=%s %s -e %s 2>&1"):format(
      q(tree .. "/share/lua/" .. luaver .. "/?.lua;" .. tree .. "/share/lua/" .. luaver .. "/?/init.lua;;"),
      q(tree .. "/lib/lua/" .. luaver .. "/?.so;;"), JIT and "luajit" or "lua5.4",
      q('local p = require "personalize"; print(p._VERSION, require("personalize.core")._VERSION, '
        .. 'package.searchpath("personalize.core", package.cpath))')))
    local line = p:read("*a")
    p:close()
    os.execute("rm -rf " .. q(tree))
    assert(ok, "luarocks make failed:\n" .. out)
    assert.are.equal("", strays)
    assert.are.equal(VERSION .. "\t" .. VERSION .. "\t" .. tree .. "/lib/lua/" .. luaver .. "/personalize/core.so\n", line)
  end)
end)
