-- The short examples, run as a user runs them after the tutorial, against
-- personalize-local under nginx: filters, batch inference from S3, and the
-- clean-up of every resource of the tutorial's dataset group.
local core = require "personalize.core"
local process = require "support.process"

local q = process.shell_quote
local LUA = process.LUA

local have_nginx = process.require_peer("nginx", "personalize-local serves the examples with it")
local describe_if = have_nginx and describe or pending

describe_if("the examples against personalize-local", function()
  local server, data, first_run

  -- Runs examples/NAME.lua with `args` against the server: output, exit code.
  local function example(name, args, env)
    local words = {
      "env -u AWS_PROFILE -u AWS_SESSION_TOKEN",
      "AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_REGION=us-east-1",
      "AWS_ENDPOINT_URL=" .. q(server.endpoint),
      "AWS_ACCESS_KEY_ID=" .. q(server.access_key_id),
      "AWS_SECRET_ACCESS_KEY=" .. q(server.secret_access_key),
      "TUTORIAL_DATA=" .. q(data),
      "LUA_PATH='lua/?.lua;lua/?/init.lua;;'", "LUA_CPATH=" .. q(process.LUA_CPATH),
    }
    for k, v in pairs(env or {}) do words[#words + 1] = k .. "=" .. q(v) end
    words[#words + 1] = q(LUA)
    words[#words + 1] = "examples/" .. name .. ".lua"
    for _, a in ipairs(args or {}) do words[#words + 1] = q(a) end
    local p = io.popen(table.concat(words, " ") .. " 2>&1")
    local out = p:read("*a")
    local ok, _, code = p:close()
    return out, ok == true and 0 or code
  end

  setup(function()
    data = os.tmpname()
    os.remove(data)
    assert(core.mkdir(data))
    process.small_data(data)
    server = require("support.engine_server").start { timings = { pending = 0.05, in_progress = 0.1 } }
    local out, code = example("tutorial", { data })
    assert(code == 0, out)
    first_run = out
  end)

  teardown(function()
    if server then server.stop() end
    if data then os.execute("rm -rf " .. q(data)) end
  end)

  it("runs the tutorial a second time in a row against the same engine, reusing what the first made", function()
    assert.matches("\n  created dataset group arn:aws:personalize:us%-east%-1:123456789012:dataset%-group/"
      .. "personalize%-lua%-tutorial\n", first_run)
    assert.matches("\n  training solution version ", first_run)
    local out, code = example("tutorial", { data })
    assert.equal(0, code, out)
    assert.is_nil(out:find("\n  created ", 1, true), out)
    assert.is_nil(out:find("training solution version", 1, true), out)
    for _, what in ipairs { "schema", "dataset group", "dataset", "import job", "solution", "solution version",
                            "campaign", "event tracker" } do
      assert.matches("\n  reusing " .. what:gsub("%s", "%%s") .. " arn:aws:personalize:", out)
    end
    -- the same resources as after one run: one group, three solutions, two campaigns
    assert.equal(1, #server.aws({ "personalize", "list-dataset-groups" }).json.datasetGroups)
    assert.equal(3, #server.aws({ "personalize", "list-solutions" }).json.solutions)
    assert.equal(2, #server.aws({ "personalize", "list-campaigns" }).json.campaigns)
    assert.matches("examples/cleanup.lua", out, 1, true)
    -- and the recommendations table again
    assert.matches("== Recommendations for user 1, with the movies' titles\n%s+itemId%s+TITLE%s+GENRES\n0%s", out)
  end)

  it("filters.lua creates its filters once and prints three tables", function()
    local out, code = example("filters", { "1", "Comedy" })
    assert.equal(0, code, out)
    assert.truthy(out:find("No filter (user 1)", 1, true), out)
    assert.truthy(out:find("Not watched yet (user 1)", 1, true), out)
    assert.truthy(out:find("Comedy, not watched yet (user 1)", 1, true), out)
    local again, code2 = example("filters", { "1", "Comedy" })
    assert.equal(0, code2, again)
    local listed = server.aws { "personalize", "list-filters", "--dataset-group-arn",
      "arn:aws:personalize:us-east-1:123456789012:dataset-group/personalize-lua-tutorial" }
    assert.is_true(listed.ok, listed.stderr)
    assert.equal(2, #listed.json.Filters)
  end)

  it("batch_inference.lua writes one output line per user and prints them", function()
    local out, code = example("batch_inference", { "1", "2", "unknown-user" })
    assert.equal(0, code, out)
    assert.matches("Batch inference job arn:aws:personalize:us%-east%-1:123456789012:batch%-inference%-job/", out)
    for _, user in ipairs { "1", "2", "unknown%-user" } do
      assert.matches("\n%d+%s+" .. user .. "%s+%S+", out)
    end
  end)

  it("cleanup.lua deletes the dataset group and all it holds, then finds nothing", function()
    local out, code = example("cleanup")
    assert.equal(0, code, out)
    for _, what in ipairs { "campaign", "solution", "event tracker", "dataset", "dataset group", "schema" } do
      assert.matches("\n  " .. what:gsub("%s", "%%s") .. "%s+arn:aws:personalize:", out)
    end
    local groups = server.aws { "personalize", "list-dataset-groups" }
    assert.equal(0, #groups.json.datasetGroups)
    local schemas = server.aws { "personalize", "list-schemas" }
    assert.equal(0, #schemas.json.schemas)
    out, code = example("cleanup")
    assert.equal(0, code, out)
    assert.truthy(out:find("nothing to delete", 1, true), out)
  end)
end)
