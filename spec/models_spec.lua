-- The generated compact models: what they hold, and that `make models`
-- rewrites them byte for byte from botocore's models (third_party/aws-models).
local shared = require "support.shared"

local MODELS = {
  { service = "personalize", module = "personalize.models.personalize",
    file = "lua/personalize/models/personalize.lua", operations = 71 },
  { service = "personalize-runtime", module = "personalize.models.personalize_runtime",
    file = "lua/personalize/models/personalize_runtime.lua", operations = 3 },
  { service = "personalize-events", module = "personalize.models.personalize_events",
    file = "lua/personalize/models/personalize_events.lua", operations = 5 },
}

local function count(t)
  local n = 0
  for _ in pairs(t) do n = n + 1 end
  return n
end

-- Every key path in `t` whose key is `name`.
local function find_key(t, name, path, found)
  found = found or {}
  for k, v in pairs(t) do
    local p = (path or "") .. "." .. tostring(k)
    if k == name then found[#found + 1] = p end
    if type(v) == "table" then find_key(v, name, p, found) end
  end
  return found
end

-- Runs a shell command; true when it exits 0 (5.1 and 5.2+ conventions).
local function sh(cmd)
  local r = os.execute(cmd)
  return r == true or r == 0
end

local function read(path)
  return assert(shared.read(path), "cannot read " .. path)
end

describe("models", function()
  for _, m in ipairs(MODELS) do
    describe(m.service, function()
      local model = require(m.module)

      it("has " .. m.operations .. " operations", function()
        assert.are.equal(m.operations, count(model.operations))
      end)

      it("names its operations by their keys", function()
        for name, op in pairs(model.operations) do
          assert.are.equal(name, op.name)
          assert.matches("^%u%a+$", name)
        end
      end)

      it("holds no documentation", function()
        for _, key in ipairs { "documentation", "documentationUrl", "examples", "deprecatedMessage" } do
          assert.are.same({}, find_key(model, key))
        end
        assert.is_nil(read(m.file):find("documentation =", 1, true))
      end)

      it("signs as personalize and says where it lives", function()
        assert.are.equal("personalize", model.metadata.signingName)
        assert.are.equal(m.service, model.metadata.endpointPrefix)
      end)

      it("resolves every shape reference", function()
        local shapes = model.shapes
        for name, op in pairs(model.operations) do
          if op.input then assert.is_table(shapes[op.input], name .. " input") end
          if op.output then assert.is_table(shapes[op.output], name .. " output") end
          for _, e in ipairs(op.errors or {}) do assert.is_table(shapes[e], name .. " error " .. e) end
        end
        for name, shape in pairs(shapes) do
          for member, ref in pairs(shape.members or {}) do
            assert.is_table(shapes[ref.shape], name .. "." .. member)
          end
          if shape.member then assert.is_table(shapes[shape.member.shape], name .. " member") end
          if shape.key then assert.is_table(shapes[shape.key.shape], name .. " key") end
          if shape.value then assert.is_table(shapes[shape.value.shape], name .. " value") end
          for _, r in ipairs(shape.required or {}) do
            assert.is_table(shape.members[r], name .. " requires " .. r)
          end
        end
      end)

      it("gives every operation a POST to its request URI", function()
        for name, op in pairs(model.operations) do
          assert.are.equal("POST", op.http.method, name)
          assert.matches("^/", op.http.requestUri)
        end
      end)
    end)
  end

  it("uses the awsJson1_1 target prefix for the control plane", function()
    local model = require "personalize.models.personalize"
    assert.are.equal("AmazonPersonalize", model.metadata.targetPrefix)
    assert.are.equal("json", model.metadata.protocol)
    assert.are.equal("1.1", model.metadata.jsonVersion)
  end)

  describe("make models", function()
    -- `make models` itself (its source is third_party/aws-models), once
    -- under each interpreter: "numbers printed the same way under every Lua".
    for _, lua in ipairs { "lua5.4", "luajit" } do
      it("reproduces lua/personalize/models/ byte for byte under " .. lua, function()
        local dir = os.tmpname()
        os.remove(dir)
        assert.is_true(sh("mkdir " .. dir))
        local p = io.popen("make -s --no-print-directory models LUA=" .. lua .. " MODELS_OUT='" .. dir
          .. "' 2>&1; echo \"rc=$?\"")
        local out = p:read("*a")
        p:close()
        local ok_all = out:find("rc=0", 1, true) ~= nil
        local generated = {}
        if ok_all then
          for _, m in ipairs(MODELS) do
            local name = m.file:match("[^/]+$")
            generated[name] = read(dir .. "/" .. name)
            os.remove(dir .. "/" .. name)
          end
        end
        os.remove(dir)
        assert.is_true(ok_all, out)
        for _, m in ipairs(MODELS) do
          local name = m.file:match("[^/]+$")
          local want = read(m.file)
          local got = generated[name]
          assert.are.equal(#want, #got, name .. " differs in size")
          assert.is_true(want == got, name .. " differs")
        end
      end)
    end

    it("reads third_party/aws-models, which holds no AWS prose", function()
      local src = shared.dir("aws-models")
      for _, m in ipairs(MODELS) do
        local version = read(m.file):match("botocore's [%w-]+ (%d+%-%d+%-%d+)")
        for _, name in ipairs { "service-2.json", "paginators-1.json" } do
          local text = read(("%s/%s/%s/%s"):format(src, m.service, version, name))
          assert.is_nil(text:find('"documentation', 1, true), m.service .. " " .. name)
        end
      end
    end)
  end)
end)
