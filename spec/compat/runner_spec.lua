-- The compatibility runner reads a program's verdict from its last
-- COMPAT-RESULT line; anything else is a failure with the output's end.
local runner = require "compat.runner"

describe("compat.runner.parse", function()
  it("takes the last COMPAT-RESULT line", function()
    local r = runner.parse('noise\nCOMPAT-RESULT {"ok": false, "code": "X"}\nmore\nCOMPAT-RESULT {"ok": true}\n')
    assert.is_true(r.ok)
  end)

  it("fails a program that printed no verdict, with the end of its output", function()
    local r = runner.parse("Traceback (most recent call last):\nKeyboardInterrupt\n")
    assert.is_false(r.ok)
    assert.equal("NoResult", r.code)
    assert.matches("KeyboardInterrupt", r.message)
  end)

  it("fails a verdict that is not JSON", function()
    assert.is_false(runner.parse("COMPAT-RESULT {ok\n").ok)
  end)
end)

describe("compat.runner.PROGRAMS", function()
  it("name files that exist and families the README lists", function()
    local families = {}
    for _, f in ipairs(runner.FAMILIES) do families[f.key] = true end
    for _, p in ipairs(runner.PROGRAMS) do
      local f = io.open(runner.DIR .. "/" .. p.file)
      assert.is_not_nil(f, p.file)
      f:close()
      for _, fam in ipairs(p.families) do assert.is_true(families[fam] == true, p.name .. ": " .. fam) end
    end
  end)
end)
