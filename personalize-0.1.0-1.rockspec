-- lua-personalize for Lua 5.4 and LuaJIT (OpenResty). The version is
-- lua/personalize/version.lua's (spec/version_spec.lua checks that they
-- agree); the Makefile builds the C core and installs everything
-- (`make rock-build`, `make rock-install`), so no module list lives here.
--
--   luarocks --lua-version 5.4 make --deps-mode=none           Lua 5.4, from a clone
--   LUAROCKS_CONFIG=tools/luarocks-luajit.lua luarocks --lua-version 5.1 make --deps-mode=none
--   luarocks --lua-dir=/usr/local/openresty/luajit make --deps-mode=none
--
-- (--deps-mode=none: Debian's lua-cjson and lua-expat, which LuaRocks cannot
-- see.) `make rock` packs the .src.rock; `install <rock>` in place of
-- `make` installs it (README.md, Install).
rockspec_format = "3.0"
package = "personalize"
version = "0.1.0-1"
source = {
  -- The public repository, where releases are tagged v<version> (check the
  -- address before uploading to luarocks.org). `make rock` packs a clone's
  -- HEAD through this URL without the network.
  url = "git+https://github.com/lua-personalize/lua-personalize.git",
  tag = "v0.1.0",
}
description = {
  summary = "Amazon Personalize for Lua: a complete, fast client with a C core",
  detailed = [[
A client for the personalize, personalize-runtime and personalize-events
services (79 operations), with SigV4 signing and HTTP in C (OpenSSL,
libcurl), model-driven parameter validation and JSON through lua-cjson;
and personalize-local, a Personalize-compatible engine served by nginx
with lua-nginx-module (bin/personalize-local).
]],
  license = "Apache-2.0",
  labels = { "aws", "personalize", "openresty" },
}
dependencies = {
  "lua >= 5.1",
  "lua-cjson",
  "luaexpat",
}
external_dependencies = {
  CURL = { library = "curl" },
  OPENSSL = { header = "openssl/sha.h", library = "crypto" },
  SQLITE = { header = "sqlite3.h", library = "sqlite3" },
}
build = {
  type = "make",
  build_target = "rock-build",
  install_target = "rock-install",
  variables = {
    ROCK_LUA = "$(LUA)",
    ROCK_LUA_INCDIR = "$(LUA_INCDIR)",
    ROCK_CFLAGS = "$(CFLAGS)",
    INST_PREFIX = "$(PREFIX)",
    INST_LUADIR = "$(LUADIR)",
    INST_LIBDIR = "$(LIBDIR)",
    INST_BINDIR = "$(BINDIR)",
  },
}
