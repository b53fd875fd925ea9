-- The README's main job as a newcomer runs it: tools/demo.sh starts
-- personalize-local under nginx, runs examples/tutorial.lua against it over
-- HTTP and stops it. Checked on the small generated data set: every step
-- is printed, and the recommendations come out as a table with the titles
-- of the items file.
local core = require "personalize.core"
local process = require "support.process"

local q = process.shell_quote
local LUA = process.LUA

local have_nginx = process.require_peer("nginx", "personalize-local serves the tutorial with it")

local function run(cmd)
  local p = io.popen(cmd .. " 2>&1")
  local out = p:read("*a")
  local ok, _, code = p:close()
  return out, ok == true and 0 or code
end

-- The rows of the first table printed after `heading`: { {cells...}, ... }.
local function table_after(out, heading)
  local at = assert(out:find(heading, 1, true), "no step " .. heading .. " in:\n" .. out)
  local lines = {}
  for line in (out:sub(at) .. "\n"):gmatch("([^\n]*)\n") do lines[#lines + 1] = line end
  local header, rows = nil, {}
  for i = 2, #lines do
    local line = lines[i]
    if line:match("^%s+itemId") then
      header = line
    elseif header then
      local index, rest = line:match("^(%d+)%s+(.*)$")
      if not index then break end
      rows[#rows + 1] = { index = tonumber(index), item = rest:match("^(%S+)"), line = line }
    end
  end
  return header, rows
end

local describe_if = have_nginx and describe or pending

describe_if("make demo (tools/demo.sh and examples/tutorial.lua)", function()
  local dir, out, code

  setup(function()
    dir = os.tmpname()
    os.remove(dir)
    assert(core.mkdir(dir))
    process.small_data(dir)
    out, code = run(("PERSONALIZE_LUA=%s PERSONALIZE_CPATH=%s PERSONALIZE_LOCAL_TIMINGS=pending=0.05,in_progress=0.1 "
      .. "sh tools/demo.sh %s"):format(q(LUA), q(process.LUA_CPATH), q(dir)))
  end)

  teardown(function()
    if dir then os.execute("rm -rf " .. q(dir)) end
  end)

  it("runs every step of the tutorial and exits 0", function()
    assert.equal(0, code, out)
    for _, heading in ipairs {
      "== Create the schemas", "== Create the dataset group", "== Create the datasets",
      "== Upload the data to S3", "== Import the data", "== The recipes",
      "== Create the solution and train a solution version", "== Solution metrics",
      "== Create the campaign", "== Recommendations for user 1", "== Similar items", "== Send an event",
    } do
      assert.truthy(out:find(heading, 1, true), heading .. " missing from:\n" .. out)
    end
    assert.matches("Done: the dataset group arn:aws:personalize:us%-east%-1:123456789012:dataset%-group/", out)
  end)

  it("shows the recommendations as a table joined with the items' titles", function()
    local header, rows = table_after(out, "== Recommendations for user 1")
    assert.truthy(header, out)
    assert.matches("^%s+itemId%s+TITLE%s+GENRES$", header)
    assert.equal(10, #rows, out)
    local titles = {}
    local items = assert(require("personalize.frame").from_csv(dir .. "/items.csv", { strings = true }))
    for row in items:rows() do titles[row.ITEM_ID] = row.TITLE end
    local seen = {}
    for i, row in ipairs(rows) do
      assert.equal(i - 1, row.index)
      assert.truthy(titles[row.item], "unknown item " .. tostring(row.item))
      assert.truthy(row.line:find(titles[row.item], 1, true), row.line)
      assert.is_nil(seen[row.item], "item listed twice: " .. row.item)
      seen[row.item] = true
    end
  end)

  it("shows similar items, and recommendations that change after the event", function()
    local _, similar = table_after(out, "== Similar items")
    assert.equal(10, #similar, out)
    local _, before = table_after(out, "== Recommendations for user 1")
    local _, after = table_after(out, "== Send an event")
    assert.equal(10, #after, out)
    local watched = out:match("user 1 watched item (%S+)")
    assert.equal(before[1].item, watched)
    local same = true
    for i = 1, 10 do same = same and before[i].item == after[i].item end
    assert.is_false(same, "the event changed nothing:\n" .. out)
  end)

  it("prints the solution's metrics and the recipes", function()
    assert.matches("normalized_discounted_cumulative_gain_at_10%s+%d", out)
    assert.matches("precision_at_5%s+%d", out)
    assert.matches("aws%-user%-personalization%s", out)
  end)

  it("charts the metrics of user-personalization, popularity-count and SIMS side by side", function()
    local at = assert(out:find("== Compare the recipes", 1, true), out)
    local chart = out:sub(at, (out:find("\n== ", at + 1, true) or #out))
    for _, metric in ipairs { "coverage", "mean_reciprocal_rank_at_25", "normalized_discounted_cumulative_gain_at_10",
                              "precision_at_10" } do
      local block = chart:match("\n" .. metric .. "\n(.-)\n\n") or chart:match("\n" .. metric .. "\n(.*)$")
      assert.truthy(block, metric .. " missing from:\n" .. chart)
      local values = {}
      for _, name in ipairs { "user%-personalization", "popularity%-count", "sims" } do
        local value = block:match("\n?  " .. name .. "%s+[^\n]-%s(%d+%.%d+)\n") or
          block:match("\n?  " .. name .. "%s+[^\n]-%s(%d+%.%d+)$")
        assert.truthy(value, name .. " has no bar under " .. metric .. ":\n" .. block)
        values[#values + 1] = tonumber(value)
      end
    end
    assert.matches("created solution arn:aws:personalize:us%-east%-1:123456789012:solution/"
      .. "personalize%-lua%-tutorial%-popularity", out)
  end)

  it("leaves no engine running", function()
    local port = out:match("personalize%-local: http://127%.0%.0%.1:(%d+)")
    assert.truthy(port, out)
    assert.is_false(process.port_open(tonumber(port)))
  end)
end)
