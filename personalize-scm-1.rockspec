rockspec_format = "3.0"
package = "personalize"
version = "scm-1"
source = {
  url = "git+file://.",
}
description = {
  summary = "Amazon Personalize for Lua: a complete, fast client with a C core",
  detailed = [[
A client for the personalize, personalize-runtime and personalize-events
services (79 operations), with SigV4 signing and HTTP in C (OpenSSL,
libcurl), model-driven parameter validation and JSON through lua-cjson.
]],
  license = "Apache-2.0",
}
-- lua-cjson and lua-expat (lxp, for STS's XML) are needed at run time too; they are not listed here so that
-- `luarocks make` works offline against Debian's lua-cjson package
-- (which LuaRocks cannot see). `make deps` installs them.
dependencies = {
  "lua >= 5.1",
}
external_dependencies = {
  CURL = { library = "curl" },
  OPENSSL = { header = "openssl/sha.h", library = "ssl" },
}
build = {
  type = "builtin",
  modules = {
    ["personalize.core"] = {
      sources = { "src/core.c", "src/lcrypto.c", "src/sigv4.c", "src/lsigv4.c", "src/http.c", "src/http_parse.c", "src/fs.c" },
      defines = { "_POSIX_C_SOURCE=200809L", "OPENSSL_API_COMPAT=0x10100000L" },
      incdirs = { "$(CURL_INCDIR)", "$(OPENSSL_INCDIR)" },
      libdirs = { "$(CURL_LIBDIR)", "$(OPENSSL_LIBDIR)" },
      libraries = { "curl", "ssl", "crypto" },
    },
    ["personalize"] = "lua/personalize/init.lua",
    ["personalize.version"] = "lua/personalize/version.lua",
    ["personalize.client"] = "lua/personalize/client.lua",
    ["personalize.config"] = "lua/personalize/config.lua",
    ["personalize.credentials"] = "lua/personalize/credentials/init.lua",
    ["personalize.credentials.assume_role"] = "lua/personalize/credentials/assume_role.lua",
    ["personalize.credentials.container"] = "lua/personalize/credentials/container.lua",
    ["personalize.credentials.env"] = "lua/personalize/credentials/env.lua",
    ["personalize.credentials.imds"] = "lua/personalize/credentials/imds.lua",
    ["personalize.credentials.process"] = "lua/personalize/credentials/process.lua",
    ["personalize.credentials.shared"] = "lua/personalize/credentials/shared.lua",
    ["personalize.credentials.sso"] = "lua/personalize/credentials/sso.lua",
    ["personalize.credentials.web_identity"] = "lua/personalize/credentials/web_identity.lua",
    ["personalize.errors"] = "lua/personalize/errors.lua",
    ["personalize.ini"] = "lua/personalize/ini.lua",
    ["personalize.json"] = "lua/personalize/json.lua",
    ["personalize.pattern"] = "lua/personalize/pattern.lua",
    ["personalize.retry"] = "lua/personalize/retry.lua",
    ["personalize.sigv4"] = "lua/personalize/sigv4.lua",
    ["personalize.sts"] = "lua/personalize/sts.lua",
    ["personalize.validate"] = "lua/personalize/validate.lua",
    ["personalize.protocol.aws_json"] = "lua/personalize/protocol/aws_json.lua",
    ["personalize.protocol.query"] = "lua/personalize/protocol/query.lua",
    ["personalize.protocol.rest_json"] = "lua/personalize/protocol/rest_json.lua",
    ["personalize.transport.curl"] = "lua/personalize/transport/curl.lua",
    ["personalize.models.personalize"] = "lua/personalize/models/personalize.lua",
    ["personalize.models.personalize_runtime"] = "lua/personalize/models/personalize_runtime.lua",
    ["personalize.models.personalize_events"] = "lua/personalize/models/personalize_events.lua",
  },
}
