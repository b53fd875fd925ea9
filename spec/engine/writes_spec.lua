-- personalize.engine.operations: every operation of the models is either
-- a read or a write (whether the engine commits its state after it).
local operations = require "personalize.engine.operations"
local models = require "personalize.models"

local function sorted(t)
  local out = {}
  for k in pairs(t) do out[#out + 1] = k end
  table.sort(out)
  return out
end

describe("engine.operations", function()
  for _, service in ipairs(models.names()) do
    local model = models.model(service)

    describe(service, function()
      local reads, writes = operations.READS[service], operations.WRITES[service]

      it("classifies every operation of the model exactly once", function()
        assert.is_table(reads)
        assert.is_table(writes)
        for _, name in ipairs(sorted(model.operations)) do
          assert.is_true((reads[name] == true) ~= (writes[name] == true), name .. " is not classified once")
        end
      end)

      it("names only operations of the model", function()
        for _, set in ipairs { reads, writes } do
          for _, name in ipairs(sorted(set)) do
            assert.is_table(model.operations[name], name .. " is not an operation of " .. service)
          end
        end
      end)

      it("answers writes() from the tables", function()
        for _, name in ipairs(sorted(model.operations)) do
          assert.are.equal(writes[name] == true, operations.writes(service, name), name)
        end
      end)
    end)
  end

  it("counts a Describe, List or Get operation as a read, anything else as a write", function()
    for _, service in ipairs(models.names()) do
      for _, name in ipairs(sorted(models.model(service).operations)) do
        local read = name:find("^Describe") or name:find("^List") or name:find("^Get")
        assert.are.equal(not read, operations.writes(service, name), name)
      end
    end
  end)
end)
