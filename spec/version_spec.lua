-- One version, and a rockspec that installs every module we ship.
local personalize = require "personalize"
local core = require "personalize.core"

local read = require("support.shared").read

local ROCKSPEC = "personalize-scm-1.rockspec"

-- Loads the rockspec (a Lua chunk) into a table of its globals.
local function load_rockspec()
  local text = assert(read(ROCKSPEC), ROCKSPEC .. " is missing")
  local env = {}
  local chunk = assert(load(text, "@" .. ROCKSPEC, "t", env))
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

-- "lua/personalize/protocol/aws_json.lua" -> "personalize.protocol.aws_json"
local function module_name(path)
  local name = path:gsub("^lua/", ""):gsub("%.lua$", ""):gsub("/init$", ""):gsub("/", ".")
  return name
end

describe("version", function()
  it("is the same in Lua and in the C core", function()
    assert.is_string(personalize._VERSION)
    assert.are.equal(personalize._VERSION, core._VERSION)
    assert.are.equal(personalize._VERSION, require "personalize.version")
  end)

  it("looks like MAJOR.MINOR.PATCH", function()
    assert.matches("^%d+%.%d+%.%d+$", personalize._VERSION)
  end)
end)

describe("the rockspec", function()
  it("exists and names the package personalize", function()
    local spec = load_rockspec()
    assert.are.equal("personalize", spec.package)
    assert.are.equal("scm-1", spec.version)
    assert.are.equal("builtin", spec.build.type)
  end)

  it("has the file name of its package and version", function()
    local spec = load_rockspec()
    assert.are.equal(ROCKSPEC, spec.package .. "-" .. spec.version .. ".rockspec")
  end)

  it("lists every lua/personalize/**/*.lua file as its module", function()
    local modules = load_rockspec().build.modules
    local files = lines_of("find lua -name '*.lua'")
    assert.is_true(#files >= 15)
    local missing = {}
    for _, file in ipairs(files) do
      if modules[module_name(file)] ~= file then missing[#missing + 1] = module_name(file) .. " = " .. file end
    end
    assert.are.same({}, missing)
  end)

  it("lists no Lua module whose file is missing", function()
    local gone = {}
    for name, source in pairs(load_rockspec().build.modules) do
      if type(source) == "string" then
        if not read(source) then gone[#gone + 1] = name .. " = " .. source end
        assert.are.equal(name, module_name(source))
      end
    end
    table.sort(gone)
    assert.are.same({}, gone)
  end)

  it("builds personalize.core from every C file in src/", function()
    local core_spec = load_rockspec().build.modules["personalize.core"]
    assert.is_table(core_spec)
    local listed = {}
    for _, source in ipairs(core_spec.sources) do listed[source] = true end
    local missing = {}
    for _, file in ipairs(lines_of("ls src/*.c")) do
      if not listed[file] then missing[#missing + 1] = file end
    end
    assert.are.same({}, missing)
  end)

  -- lua-cjson comes from Debian's package (LuaRocks cannot see it, and a
  -- rock dependency would make `luarocks make` go online): the rockspec
  -- must not list it, and `make deps` must install it.
  it("gets lua-cjson from make deps, not from a rock", function()
    for _, dep in ipairs(load_rockspec().dependencies) do
      assert.is_nil(dep:match("^lua%-cjson"))
    end
    local f = assert(io.open("tools/deps.sh"))
    local deps = f:read("*a")
    f:close()
    assert.truthy(deps:find("lua-cjson", 1, true))
  end)
end)
