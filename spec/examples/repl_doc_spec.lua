-- examples/REPL.md: every line typed at the prompt is Lua the REPL accepts,
-- and the page says how LuaJIT's REPL differs.
local files = require "support.files"
local process = require "support.process"

local load = loadstring or load -- luacheck: ignore 113

describe("examples/REPL.md", function()
  local text = assert(files.read(process.ROOT .. "/examples/REPL.md"))

  it("types only lines that compile, as an expression or a statement", function()
    local n = 0
    for line in text:gmatch("\n> ([^\n]*)") do
      n = n + 1
      local ok = load("return " .. line) or load(line)
      assert.truthy(ok, "does not compile: " .. line)
    end
    assert.is_true(n >= 20, "only " .. n .. " prompt lines")
    assert.is_nil(text:find("\n%)\n"), "a stray ) on a line of its own")
  end)

  it("says how to open it and that LuaJIT prints `= expr`", function()
    assert.truthy(text:find("bin/personalize-repl", 1, true))
    assert.truthy(text:find("`= res`", 1, true))
  end)
end)
