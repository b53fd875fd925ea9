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
      sources = { "src/core.c", "src/lcrypto.c", "src/sigv4.c", "src/lsigv4.c", "src/http.c", "src/http_parse.c", "src/http_plain.c", "src/fs.c", "src/recs.c" },
      defines = { "_POSIX_C_SOURCE=200809L", "OPENSSL_API_COMPAT=0x10100000L" },
      incdirs = { "$(CURL_INCDIR)", "$(OPENSSL_INCDIR)" },
      libdirs = { "$(CURL_LIBDIR)", "$(OPENSSL_LIBDIR)" },
      libraries = { "curl", "ssl", "crypto" },
    },
    ["personalize.client"] = "lua/personalize/client.lua",
    ["personalize.config"] = "lua/personalize/config.lua",
    ["personalize.credentials.assume_role"] = "lua/personalize/credentials/assume_role.lua",
    ["personalize.credentials.container"] = "lua/personalize/credentials/container.lua",
    ["personalize.credentials.env"] = "lua/personalize/credentials/env.lua",
    ["personalize.credentials.imds"] = "lua/personalize/credentials/imds.lua",
    ["personalize.credentials"] = "lua/personalize/credentials/init.lua",
    ["personalize.credentials.process"] = "lua/personalize/credentials/process.lua",
    ["personalize.credentials.shared"] = "lua/personalize/credentials/shared.lua",
    ["personalize.credentials.sso"] = "lua/personalize/credentials/sso.lua",
    ["personalize.credentials.web_identity"] = "lua/personalize/credentials/web_identity.lua",
    ["personalize.engine.auth"] = "lua/personalize/engine/auth.lua",
    ["personalize.engine.filter_expression"] = "lua/personalize/engine/filter_expression.lua",
    ["personalize.engine.filters"] = "lua/personalize/engine/filters.lua",
    ["personalize.engine.import"] = "lua/personalize/engine/import.lua",
    ["personalize.engine"] = "lua/personalize/engine/init.lua",
    ["personalize.engine.jobs"] = "lua/personalize/engine/jobs.lua",
    ["personalize.engine.metrics"] = "lua/personalize/engine/metrics.lua",
    ["personalize.engine.nginx"] = "lua/personalize/engine/nginx.lua",
    ["personalize.engine.nginx_conf"] = "lua/personalize/engine/nginx_conf.lua",
    ["personalize.engine.recipes"] = "lua/personalize/engine/recipes/init.lua",
    ["personalize.engine.recipes.common"] = "lua/personalize/engine/recipes/common.lua",
    ["personalize.engine.recipes.item_affinity"] = "lua/personalize/engine/recipes/item_affinity.lua",
    ["personalize.engine.recipes.item_attribute_affinity"] = "lua/personalize/engine/recipes/item_attribute_affinity.lua",
    ["personalize.engine.recipes.next_best_action"] = "lua/personalize/engine/recipes/next_best_action.lua",
    ["personalize.engine.recipes.personalized_ranking"] = "lua/personalize/engine/recipes/personalized_ranking.lua",
    ["personalize.engine.recipes.popularity_count"] = "lua/personalize/engine/recipes/popularity_count.lua",
    ["personalize.engine.recipes.semantic_similarity"] = "lua/personalize/engine/recipes/semantic_similarity.lua",
    ["personalize.engine.recipes.similar_items"] = "lua/personalize/engine/recipes/similar_items.lua",
    ["personalize.engine.recipes.sims"] = "lua/personalize/engine/recipes/sims.lua",
    ["personalize.engine.recipes.trending_now"] = "lua/personalize/engine/recipes/trending_now.lua",
    ["personalize.engine.recipes.user_personalization"] = "lua/personalize/engine/recipes/user_personalization.lua",
    ["personalize.engine.resources"] = "lua/personalize/engine/resources.lua",
    ["personalize.engine.runtime"] = "lua/personalize/engine/runtime.lua",
    ["personalize.engine.s3"] = "lua/personalize/engine/s3.lua",
    ["personalize.engine.store"] = "lua/personalize/engine/store.lua",
    ["personalize.engine.training"] = "lua/personalize/engine/training.lua",
    ["personalize.errors"] = "lua/personalize/errors.lua",
    ["personalize.events_batcher"] = "lua/personalize/events_batcher.lua",
    ["personalize.frame"] = "lua/personalize/frame.lua",
    ["personalize.help"] = "lua/personalize/help.lua",
    ["personalize.ini"] = "lua/personalize/ini.lua",
    ["personalize"] = "lua/personalize/init.lua",
    ["personalize.json"] = "lua/personalize/json.lua",
    ["personalize.models.personalize"] = "lua/personalize/models/personalize.lua",
    ["personalize.models.personalize_events"] = "lua/personalize/models/personalize_events.lua",
    ["personalize.models.personalize_runtime"] = "lua/personalize/models/personalize_runtime.lua",
    ["personalize.fanout"] = "lua/personalize/fanout.lua",
    ["personalize.paginator"] = "lua/personalize/paginator.lua",
    ["personalize.pattern"] = "lua/personalize/pattern.lua",
    ["personalize.protocol.aws_json"] = "lua/personalize/protocol/aws_json.lua",
    ["personalize.protocol.query"] = "lua/personalize/protocol/query.lua",
    ["personalize.protocol.rest_json"] = "lua/personalize/protocol/rest_json.lua",
    ["personalize.protocol.rest_xml"] = "lua/personalize/protocol/rest_xml.lua",
    ["personalize.result"] = "lua/personalize/result.lua",
    ["personalize.retry"] = "lua/personalize/retry.lua",
    ["personalize.s3"] = "lua/personalize/s3.lua",
    ["personalize.schema"] = "lua/personalize/schema.lua",
    ["personalize.sigv4"] = "lua/personalize/sigv4.lua",
    ["personalize.sts"] = "lua/personalize/sts.lua",
    ["personalize.stub"] = "lua/personalize/stub.lua",
    ["personalize.transport"] = "lua/personalize/transport/init.lua",
    ["personalize.transport.curl"] = "lua/personalize/transport/curl.lua",
    ["personalize.transport.engine"] = "lua/personalize/transport/engine.lua",
    ["personalize.transport.ngx"] = "lua/personalize/transport/ngx.lua",
    ["personalize.validate"] = "lua/personalize/validate.lua",
    ["personalize.version"] = "lua/personalize/version.lua",
    ["personalize.waiters"] = "lua/personalize/waiters.lua",
  },
}
