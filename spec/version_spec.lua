-- One version (lua/personalize/version.lua): the Makefile reads it and
-- passes it to the C core, the Lua modules and the specs require it. Only
-- what cannot read it repeats it, and is checked here: the rockspec (its
-- file name, version and tag), CHANGELOG.md's section and the rock's name
-- in README.md. Also: a rockspec that declares what lua/ needs.
local personalize = require "personalize"
local core = require "personalize.core"
local files = require "support.files"

local VERSION = require "personalize.version"
local ROCKSPEC = "personalize-" .. VERSION .. "-1.rockspec"

-- Loads the rockspec (a Lua chunk) into a table of its globals.
local function load_rockspec()
  local text = assert(files.read(ROCKSPEC), ROCKSPEC .. " is missing")
  local env = {}
  local chunk = assert((loadstring or load)(text, "@" .. ROCKSPEC, "t", env))
  if setfenv then setfenv(chunk, env) end
  chunk()
  return env
end

local function lines_of(cmd)
  local p = io.popen(cmd)
  local out = {}
  for line in p:lines() do out[#out + 1] = line end
  p:close()
  table.sort(out)
  return out
end

describe("version", function()
  it("is the same in Lua, in the C core and in the engine", function()
    assert.are.equal(VERSION, personalize._VERSION)
    assert.are.equal(VERSION, core._VERSION)
    assert.are.equal(VERSION, require("personalize.engine.s3")._VERSION)
  end)

  it("looks like MAJOR.MINOR.PATCH", function()
    assert.matches("^%d+%.%d+%.%d+$", VERSION)
  end)

  it("is written in lua/personalize/version.lua only", function()
    local quoted = '"' .. VERSION .. '"'
    local found = lines_of("grep -rlF -e '" .. quoted .. "' -e 'lua-personalize/" .. VERSION
      .. "' src lua bin spec tools bench examples Makefile check.mk 2>/dev/null"
      .. " | grep -v '^lua/personalize/models/'")
    assert.are.same({ "lua/personalize/version.lua" }, found)
  end)

  it("is the one README.md names", function()
    local readme = assert(files.read("README.md"))
    local named = 0
    for v in readme:gmatch("personalize%-(%d+%.%d+%.%d+)%-%d") do
      assert.are.equal(VERSION, v)
      named = named + 1
    end
    for v in readme:gmatch("lua%-personalize/(%d+%.%d+%.%d+)") do
      assert.are.equal(VERSION, v)
      named = named + 1
    end
    assert.is_true(named > 0)
  end)

  it("has its section in CHANGELOG.md", function()
    local log = assert(files.read("CHANGELOG.md"))
    assert.truthy(log:find("\n## " .. VERSION:gsub("%.", "%%.") .. "[ \n]"), "no ## " .. VERSION)
  end)

  it("is the one the Makefile passes to the C core", function()
    local p = io.popen("make -s --no-print-directory -p -n all 2>/dev/null | grep '^VERSION :='")
    local line = p:read("*l")
    p:close()
    assert.are.equal("VERSION := " .. VERSION, line)
  end)
end)

describe("the rockspec", function()
  it("is the only one, named after the package and the version", function()
    assert.are.same({ ROCKSPEC }, lines_of("ls *.rockspec"))
    local spec = load_rockspec()
    assert.are.equal("personalize", spec.package)
    assert.are.equal(VERSION .. "-1", spec.version)
    assert.are.equal("v" .. VERSION, spec.source.tag)
    assert.are.equal("Apache-2.0", spec.description.license)
    assert.truthy(files.read("LICENSE"):find("Apache License\n *Version 2.0, January 2004"))
  end)

  it("builds and installs through the Makefile's rock targets", function()
    local build = load_rockspec().build
    assert.are.equal("make", build.type)
    local makefile = files.read("Makefile")
    for _, target in ipairs { build.build_target, build.install_target } do
      assert.truthy(makefile:find("\n" .. target .. ":", 1, true), target)
    end
  end)

  -- Every module lua/ requires from outside the project is a dependency
  -- (ngx and resty.* come with OpenResty / lua-nginx-module).
  it("declares every module lua/ requires at run time", function()
    local ROCKS = { cjson = "lua-cjson", ["cjson.safe"] = "lua-cjson", lxp = "luaexpat" }
    local declared = {}
    for _, dep in ipairs(load_rockspec().dependencies) do declared[dep:match("^[%w_.-]+")] = true end
    local missing = {}
    for _, line in ipairs(lines_of([[grep -rhoE 'require[ (]*"[^"]+"' lua | sort -u]])) do
      local name = line:match('"([^"]+)"')
      if not (name:match("^personalize") or name:match("^resty%.") or name == "ngx") then
        local rock = ROCKS[name]
        if not (rock and declared[rock]) then missing[#missing + 1] = name .. " (" .. tostring(rock) .. ")" end
      end
    end
    assert.are.same({}, missing)
  end)

  -- Debian's packages provide lua-cjson and lua-expat (LuaRocks cannot see
  -- them: install with --deps-mode=none); make deps installs them.
  it("leaves the Debian packages of its dependencies to make deps", function()
    local deps = files.read("tools/deps.sh")
    assert.truthy(deps:find("lua-cjson", 1, true))
    assert.truthy(deps:find("lua-expat", 1, true))
  end)
end)
