-- luacheck: no globals, no unused variables, code that runs on 5.1 through 5.4.
std = "max"
max_line_length = 140
-- models/: the generated models (init.lua, the registry, is kept by hand).
exclude_files = { "lua/personalize/models/personalize*.lua", "build/**" }

files["spec/**/*_spec.lua"] = { std = "+busted" }
files["bench/**"] = { globals = { "jit" } }
