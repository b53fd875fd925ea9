-- luacheck: allow defined top, ignore 131
-- LuaRocks configuration for Debian's LuaJIT (luajit2, libluajit2-5.1-dev):
-- Debian's luarocks finds lua5.1 first, so name the interpreter and its
-- headers. From a clone:
--
--   LUAROCKS_CONFIG=tools/luarocks-luajit.lua luarocks --lua-version 5.1 make
--
-- (OpenResty's LuaJIT needs no file: luarocks --lua-dir=/usr/local/openresty/luajit)
lua_interpreter = "luajit"
variables = {
  LUA_BINDIR = "/usr/bin",
  LUA_INCDIR = "/usr/include/luajit-2.1",
}
