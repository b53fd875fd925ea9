-- Results print readably (personalize.result), and every client marks them.
local result = require "personalize.result"
local personalize = require "personalize"

describe("personalize.result", function()
  it("renders sorted members, ResponseMetadata last, short tables on one line", function()
    local res = result.mark { b = 1, a = "x", ResponseMetadata = { RequestId = "r" }, list = { 1, 2 } }
    assert.equal('{ a = "x", b = 1, list = { 1, 2 }, ResponseMetadata = { RequestId = "r" } }', tostring(res))
  end)

  it("breaks long tables over lines with two-space indents, quoting odd keys", function()
    local res = result.mark { itemList = { { itemId = ("i"):rep(40), score = 0.5 }, { itemId = "j" } },
                              ["x-y"] = true }
    assert.equal(table.concat({
      "{",
      "  itemList = {",
      '    { itemId = "' .. ("i"):rep(40) .. '", score = 0.5 },',
      '    { itemId = "j" },',
      "  },",
      '  ["x-y"] = true,',
      "}" }, "\n"), tostring(res))
  end)

  it("survives cycles, escapes newlines and leaves tables with their own metatable alone", function()
    local t = { s = "a\nb" }
    t.self = t
    assert.equal('{ s = "a\\nb", self = <cycle> }', result.render(t))
    local marked = setmetatable({}, { __index = {} })
    assert.equal(marked, result.mark(marked))
    assert.is_nil(getmetatable(marked).__tostring)
    assert.equal("{}", result.render({}))
  end)

  it("is what a client call returns", function()
    local dir = os.tmpname()
    os.remove(dir)
    local p = personalize.client("personalize", { endpoint = "local:" .. dir })
    local res = assert(p:create_dataset_group { name = "g" })
    assert.matches('^{\n  datasetGroupArn = "arn:aws:personalize:us%-east%-1:123456789012:dataset%-group/g",\n', tostring(res))
    local s3 = personalize.client("s3", { endpoint = "local:" .. dir })
    assert.matches("^{\n  Buckets = {},", tostring(assert(s3:list_buckets {})))
    require("personalize.transport.engine").close(dir)
    os.execute("rm -rf '" .. dir .. "'")
  end)
end)
