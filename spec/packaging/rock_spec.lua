-- The rock as users get it. `make rock` packs personalize-<version>-1.src.rock
-- with `luarocks pack` from this clone's HEAD (offline); the rock installs
-- into an empty tree; then, from a directory outside the clone and with
-- nothing of the clone on LUA_PATH, LUA_CPATH or PATH, the tree's
-- bin/personalize-local starts, a short workflow runs against it with the
-- tree's library, and it stops. The Lua 5.4 run installs the Lua 5.4 rock;
-- the LuaJIT run installs it as the README says for Debian's LuaJIT and
-- for OpenResty's (`--lua-dir`). Debian's packages provide lua-cjson,
-- luaexpat and luasocket, which LuaRocks cannot see: --deps-mode=none.
local files = require "support.files"
local process = require "support.process"

local q = process.shell_quote
local VERSION = require "personalize.version"
local JIT = rawget(_G, "jit") ~= nil
local LUA = JIT and "luajit" or "lua5.4"
local LUAVER = JIT and "5.1" or "5.4"

-- Runs a shell command; true and its output (stdout and stderr).
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

-- A command run in `dir` with only the tree on the paths.
local function clean(dir, tree, cmd)
  return ("cd %s && env -i HOME=%s PATH=%s LUA_PATH=%s LUA_CPATH=%s %s"):format(q(dir), q(dir),
    q(tree .. "/bin:/usr/bin:/bin"),
    q(("%s/share/lua/%s/?.lua;%s/share/lua/%s/?/init.lua;;"):format(tree, LUAVER, tree, LUAVER)),
    q(("%s/lib/lua/%s/?.so;;"):format(tree, LUAVER)), cmd)
end

local WORKFLOW = [[
local personalize = require "personalize"
local endpoint, key, secret = arg[1], arg[2], arg[3]
local c = personalize.client("personalize", { endpoint = endpoint, region = "us-east-1",
  access_key_id = key, secret_access_key = secret })
local g = assert(c:create_dataset_group{ name = "from-the-rock" })
local text = assert(require("personalize.schema").interactions {
  { "USER_ID", "string" }, { "ITEM_ID", "string" }, { "TIMESTAMP", "long" } })
local s = assert(c:create_schema{ name = "from-the-rock", schema = text })
assert(c:create_dataset{ name = "from-the-rock", datasetGroupArn = g.datasetGroupArn,
  schemaArn = s.schemaArn, datasetType = "Interactions" })
local d = assert(c:describe_dataset_group{ datasetGroupArn = g.datasetGroupArn })
local l = assert(c:list_datasets{ datasetGroupArn = g.datasetGroupArn })
print(personalize._VERSION, require("personalize.core")._VERSION)
print(package.searchpath("personalize.core", package.cpath))
print(package.searchpath("personalize", package.path))
print(d.datasetGroup.name, #l.datasets, l.datasets[1].datasetType)
]]

-- Starts the tree's personalize-local from `dir`, runs WORKFLOW with the
-- tree's interpreter and library, stops it; returns the workflow's output
-- and the nginx.conf the engine ran with.
local function workflow(dir, tree)
  local data = tree .. "-data"
  local ok, out = run(clean(dir, tree, "personalize-local start --port 0 --data " .. q(data)))
  assert(ok, "personalize-local start failed:\n" .. out)
  local conf = files.read(data .. "/run/nginx.conf") or ""
  local endpoint = out:match("endpoint:%s+(%S+)")
  local key = out:match("aws_access_key_id:%s+(%S+)")
  local secret = out:match("aws_secret_access_key:%s+(%S+)")
  files.write(dir .. "/workflow.lua", WORKFLOW)
  local wok, wout = run(clean(dir, tree, ("%s workflow.lua %s %s %s"):format(LUA, q(endpoint), q(key), q(secret))))
  local sok, sout = run(clean(dir, tree, "personalize-local stop --data " .. q(data)))
  assert(wok, "the workflow failed:\n" .. wout .. "\nnginx error.log:\n" .. (files.read(data .. "/run/error.log") or ""))
  assert(sok and sout:find("stopped", 1, true), sout)
  return wout, conf
end

describe("the rock (" .. LUA .. ")", function()
  local dir, rock

  setup(function()
    dir = files.tmpdir()
    local ok, out = run("make -s --no-print-directory rock")
    assert(ok, "make rock failed:\n" .. out)
    rock = dir .. "/personalize-" .. VERSION .. "-1.src.rock"
    assert(run("mv build/personalize-" .. VERSION .. "-1.src.rock " .. q(rock)))
  end)

  teardown(function()
    if dir then os.execute("rm -rf " .. q(dir)) end
  end)

  local function install(tree, how)
    local ok, out = run(("cd %s && %s --tree %s install --deps-mode=none %s"):format(q(dir), how, q(tree), q(rock)))
    assert(ok, how .. " install failed:\n" .. out)
    for _, f in ipairs {
      "/bin/personalize-local",
      "/lib/lua/" .. LUAVER .. "/personalize/core.so",
      "/share/lua/" .. LUAVER .. "/personalize/init.lua",
      "/share/lua/" .. LUAVER .. "/personalize/engine/nginx_conf.lua",
      "/lib/luarocks/rocks-" .. LUAVER .. "/personalize/" .. VERSION .. "-1/build/luajit/personalize/core.so",
    } do
      assert.is_truthy(files.read(tree .. f), f)
    end
  end

  local function check(out, conf, tree)
    assert.are.equal(table.concat({
      VERSION .. "\t" .. VERSION,
      tree .. "/lib/lua/" .. LUAVER .. "/personalize/core.so",
      tree .. "/share/lua/" .. LUAVER .. "/personalize/init.lua",
      "from-the-rock\t1\tINTERACTIONS", "" }, "\n"), out)
    assert.is_nil(conf:find(process.ROOT, 1, true), "nginx.conf names the clone")
    assert.truthy(conf:find(('lua_package_path "%s/share/lua/%s/?.lua;'):format(tree, LUAVER), 1, true), conf)
  end

  if not JIT then
    it("installs for Lua 5.4 and runs personalize-local and a workflow from the tree", function()
      local tree = dir .. "/tree"
      install(tree, "luarocks --lua-version 5.4")
      local out, conf = workflow(dir, tree)
      check(out, conf, tree)
    end)
  else
    it("installs for Debian's LuaJIT and runs personalize-local and a workflow from the tree", function()
      local tree = dir .. "/tree"
      install(tree, "LUAROCKS_CONFIG=" .. q(process.ROOT .. "/tools/luarocks-luajit.lua") .. " luarocks --lua-version 5.1")
      local out, conf = workflow(dir, tree)
      check(out, conf, tree)
    end)

    -- OpenResty's LuaJIT lives in a prefix of its own (bin/luajit,
    -- include/luajit-2.1): one of that shape, on Debian's LuaJIT.
    it("installs with --lua-dir, as for OpenResty's LuaJIT", function()
      local prefix = dir .. "/openresty-luajit"
      local ok, out = run(("mkdir -p %s/bin %s/include && ln -s \"$(command -v luajit)\" %s/bin/luajit"
        .. " && ln -s \"$(pkg-config --variable=includedir luajit)\" %s/include/luajit-2.1")
        :format(q(prefix), q(prefix), q(prefix), q(prefix)))
      assert(ok, out)
      local tree = dir .. "/openresty-tree"
      install(tree, "luarocks --lua-dir=" .. q(prefix))
      local out2, conf = workflow(dir, tree)
      check(out2, conf, tree)
    end)
  end
end)
