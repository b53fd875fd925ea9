-- personalize-local answers every operation of the models it serves: a
-- model regenerated with a new operation (make models) fails here until
-- the engine has its handler (engine/resources.lua or engine/runtime.lua),
-- instead of the engine answering UnknownOperationException for it.
local engine = require "personalize.engine"
local models = require "personalize.models"

-- A shallow copy of `model` with more operations.
local function with_operations(model, names)
  local ops = {}
  for k, v in pairs(model.operations) do ops[k] = v end
  for _, name in ipairs(names) do ops[name] = { name = name } end
  local copy = {}
  for k, v in pairs(model) do copy[k] = v end
  copy.operations = ops
  return copy
end

local function count(t)
  local n = 0
  for _ in pairs(t) do n = n + 1 end
  return n
end

describe("personalize-local's operations", function()
  for _, service in ipairs(models.names()) do
    it("has a handler for every operation of " .. service, function()
      assert.are.same({}, engine.unhandled(service, models.model(service)))
    end)
  end

  it("are every operation of the three models", function()
    local total = 0
    for _, service in ipairs(models.names()) do
      local model = models.model(service)
      for name in pairs(model.operations) do
        assert.is_function(engine.handler(service, name), service .. " " .. name)
      end
      total = total + count(model.operations)
    end
    assert.is_true(total >= 79)
  end)

  it("are missing for an operation the engine does not know, which the check names", function()
    local model = with_operations(models.model("personalize"), { "CreateFrobnicator", "ListFrobnicators" })
    assert.are.same({ "CreateFrobnicator", "ListFrobnicators" }, engine.unhandled("personalize", model))
    local runtime = with_operations(models.model("personalize-runtime"), { "GetFrobnications" })
    assert.are.same({ "GetFrobnications" }, engine.unhandled("personalize-runtime", runtime))
    assert.is_nil(engine.handler("personalize-events", "PutFrobnications"))
    assert.is_nil(engine.handler("no-such-service", "ListSchemas"))
  end)
end)
