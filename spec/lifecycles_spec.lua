-- personalize.lifecycles: every name it gives is the model's, and the two
-- readers of it (the client's waiters, personalize-local's lifecycle
-- machine) agree with it.
local lifecycles = require "personalize.lifecycles"
local model = require "personalize.models.personalize"
local waiters = require "personalize.waiters"
local resources = require "personalize.engine.resources"

local function members(shape_name)
  local shape = model.shapes[shape_name]
  return shape and shape.members or {}
end

local function sorted_keys(t)
  local out = {}
  for k in pairs(t) do out[#out + 1] = k end
  table.sort(out)
  return out
end

describe("personalize.lifecycles", function()
  for _, kind in ipairs(sorted_keys(lifecycles.KINDS)) do
    local k = lifecycles.KINDS[kind]

    it(kind .. ": Describe, List and Delete as the model has them", function()
      local describe_op = model.operations["Describe" .. k.api]
      assert.is_table(describe_op, "Describe" .. k.api)
      assert.is_table(members(describe_op.input)[k.key], k.key)
      local out = members(describe_op.output)[k.out]
      assert.is_table(out, k.out)
      local fields = members(out.shape)
      assert.is_table(fields[k.key])
      assert.are.equal(k.statuses ~= nil, fields.status ~= nil)
      if k.update then assert.is_table(fields[k.update], k.update) end
      local list_op = model.operations["List" .. k.api .. "s"]
      assert.is_table(list_op, "List" .. k.api .. "s")
      assert.is_table(members(list_op.output)[k.list], k.list)
      assert.are.equal(model.operations["Delete" .. k.api] ~= nil, k.delete == true)
    end)

    if k.statuses then
      it(kind .. ": its waiter stops on its success and failure statuses", function()
        local w = waiters.WAITERS[kind]
        assert.is_table(w)
        assert.are.equal(k.statuses[3], w.success)
        assert.are.equal("Describe" .. k.api, w.resource.op)
        assert.is_true(w.failure[k.statuses[4]])
        for _, s in ipairs(k.failed) do assert.is_true(w.failure[s]) end
        assert.are.equal(k.delete == true, waiters.WAITERS[kind .. "_deleted"] ~= nil)
      end)
    end

    it(kind .. ": personalize-local drives the same statuses", function()
      local def = resources.KINDS[kind]
      assert.is_table(def)
      assert.are.equal(k.api, def.api)
      assert.are.equal(k.key, def.key)
      if not k.statuses then
        assert.is_nil(def.flow)
      else
        assert.are.equal(k.statuses[1], def.flow[1])
        assert.are.equal(k.statuses[3], def.flow[3])
        assert.are.equal(k.statuses[4], def.flow[4])
        -- a brief flow skips the in-progress status, never invents one
        assert.is_true(def.flow[2] == k.statuses[2] or def.flow[2] == k.statuses[3])
      end
    end)
  end

  it("has a kind for every resource personalize-local keeps", function()
    for kind in pairs(resources.KINDS) do assert.is_table(lifecycles.KINDS[kind], kind) end
  end)
end)
