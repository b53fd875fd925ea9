-- The one version of lua-personalize. The Makefile passes it to the C core
-- (-DPERSONALIZE_VERSION: personalize.core._VERSION, the User-Agent) and
-- the engine reads it here. A new version: change it here, rename the
-- rockspec to personalize-<version>-1.rockspec with its version and tag,
-- and add its CHANGELOG.md section (spec/version_spec.lua checks the rest).
return "0.1.0"
