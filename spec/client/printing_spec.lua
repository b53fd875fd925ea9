-- Results, nested tables and operation lists print readably, in print()
-- and in the REPL (bin/personalize-repl), while staying plain tables.
local cjson = require "cjson"
local personalize = require "personalize"
local result = require "personalize.result"
local repl = require "personalize.repl"
local engine_server = require "support.engine_server"
local files = require "support.files"
local process = require "support.process"

local ROOT = engine_server.ROOT

describe("printing", function()
  it("shows timestamps as ISO-8601 UTC times while the values stay numbers", function()
    assert.equal("2024-12-04T08:13:20Z", result.iso8601(1733300000))
    assert.equal("2024-12-04T08:13:20.250Z", result.iso8601(1733300000.25))
    assert.equal("2024-12-04T08:13:21Z", result.iso8601(1733300000.9999))
    local res = result.mark { campaign = { name = "c", creationDateTime = 1733300000.5,
                                           lastUpdatedDateTime = 1733300001 } }
    assert.equal('{\n  campaign = {\n    creationDateTime = 2024-12-04T08:13:20.500Z,\n'
      .. '    lastUpdatedDateTime = 2024-12-04T08:13:21Z,\n    name = "c",\n  },\n}', tostring(res))
    assert.equal(1733300000.5, res.campaign.creationDateTime)
    -- a member of that name that is no number prints as itself
    assert.equal('{ timestamp = "soon" }', result.render { timestamp = "soon" })
  end)

  it("leaves results plain for code: pairs, # and cjson see only the members", function()
    local res = result.mark { itemList = { { itemId = "1" }, { itemId = "2" } }, recommendationId = "r" }
    local keys = {}
    for k in pairs(res) do keys[#keys + 1] = k end
    table.sort(keys)
    assert.same({ "itemList", "recommendationId" }, keys)
    assert.equal(2, #res.itemList)
    assert.same({ itemList = { { itemId = "1" }, { itemId = "2" } }, recommendationId = "r" },
      cjson.decode(cjson.encode(res)))
  end)

  it("in the REPL: nested tables, operation lists, frames and errors", function()
    assert.equal("{ a = { b = { 1, 2 } } }", repl.show { a = { b = { 1, 2 } } })
    assert.equal("x", repl.show("x"))
    assert.equal("42", repl.show(42))
    local f = personalize.frame({ "Heat" }, { columns = { "title" } })
    assert.equal(tostring(f), repl.show(f))
    local err = personalize.errors().new { code = "X", message = "y" }
    assert.equal("X: y", repl.show(err))
    local names = personalize.client("personalize-events", { region = "us-east-1" }):operations()
    assert.matches("^5 operations:\nput_action_interactions  put_actions", repl.show(names))
    local written = {}
    local real = io.stdout
    io.stdout = { write = function(_, ...) for _, s in ipairs{ ... } do written[#written + 1] = s end end } -- luacheck: ignore 122
    repl.print({ a = 1 }, "b", nil)
    io.stdout = real -- luacheck: ignore 122
    assert.equal("{ a = 1 }\tb\tnil\n", table.concat(written))
  end)

  for _, lua in ipairs { "lua5.4", "luajit" } do
    it("bin/personalize-repl opens a " .. lua .. " REPL with the library loaded", function()
      local built = io.open(ROOT .. "/build/" .. lua .. "/personalize/core.so")
      if not built then return pending("no core built for " .. lua) end
      built:close()
      local dir = files.tmpdir()
      -- LuaJIT's REPL prints `= expr`; Lua 5.4's prints a bare expression
      local show = lua == "luajit" and "= " or ""
      local input = table.concat({
        ('p = personalize.client("personalize", { endpoint = "local:%s" })'):format(dir .. "/engine"),
        'g = p:create_dataset_group{ name = "g" }',
        show .. 'p:describe_dataset_group{ datasetGroupArn = g.datasetGroupArn }.datasetGroup',
        show .. 'p:operations()',
      }, "\n") .. "\n"
      files.write(dir .. "/input", input)
      -- no LUA_PATH from the spec run: the launcher sets its own
      local pipe = io.popen(("cd %s && env -u LUA_PATH -u LUA_CPATH %s %s < %s 2>&1"):format(
        process.shell_quote(dir), process.shell_quote(ROOT .. "/bin/personalize-repl"), lua,
        process.shell_quote(dir .. "/input")))
      local out = pipe:read("*a")
      pipe:close()
      os.execute("rm -rf " .. process.shell_quote(dir))
      assert.matches("lua%-personalize [%d.]+ on [^\n]*, loaded as `personalize`: "
        .. 'p = personalize.client%("personalize", { region = "us%-east%-1" }%) makes a client', out)
      assert.matches('name = "g"', out, 1, true)
      assert.matches("creationDateTime = %d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%d[.%d]*Z,", out)
      assert.matches("71 operations:\ncreate_batch_inference_job ", out, 1, true)
      assert.not_matches("table: 0x", out, 1, true)
    end)
  end
end)
