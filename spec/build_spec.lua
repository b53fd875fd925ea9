-- `luarocks make` builds and installs the rock offline, and the installed
-- module loads and reports the project's version. (The rockspec is the
-- same for every interpreter, so this runs under Lua 5.4 only.)
local process = require "support.process"

describe("luarocks make", function()
  if os.getenv("PERSONALIZE_LUA") == "luajit" then
    it("is checked in the Lua 5.4 run", function() assert.is_true(true) end)
    return
  end
  it("builds, installs and loads offline", function()
    if not process.require_peer("luarocks", "the rockspec is checked with it") then return end
    local tree = os.tmpname()
    os.remove(tree)
    local q = process.shell_quote
    local log = os.tmpname()
    local cmd = ("luarocks --lua-version 5.4 make --tree %s personalize-scm-1.rockspec > %s 2>&1")
      :format(q(tree), q(log))
    local r = os.execute(cmd)
    local f = io.open(log)
    local out = f:read("*a")
    f:close()
    os.remove(log)
    assert(r == true or r == 0, "luarocks make failed:\n" .. out)
    local p = io.popen(("cd /tmp && LUA_PATH=%s LUA_CPATH=%s lua5.4 -e %s 2>&1"):format(
      q(tree .. "/share/lua/5.4/?.lua;" .. tree .. "/share/lua/5.4/?/init.lua;;"),
      q(tree .. "/lib/lua/5.4/?.so;;"),
      q('local p = require "personalize"; print(p._VERSION, require("personalize.core")._VERSION, '
        .. 'package.searchpath("personalize.core", package.cpath))')))
    local line = p:read("*a")
    p:close()
    os.execute("rm -rf " .. q(tree))
    local want = require "personalize.version"
    assert.are.equal(want .. "\t" .. want .. "\t" .. tree .. "/lib/lua/5.4/personalize/core.so\n", line)
  end)
end)
