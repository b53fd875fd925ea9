-- personalize.chart: solution metrics as bar charts in the terminal.
local chart = require "personalize.chart"
local personalize = require "personalize"

describe("personalize.chart", function()
  local up = { coverage = 0.5, precision_at_5 = 0.08 }
  local pop = { coverage = 0.125, precision_at_5 = 0.02 }

  it("draws one group per metric, one bar per solution scaled to the metric's largest value", function()
    local text = chart.metrics({ ["user-personalization"] = up, ["popularity-count"] = pop },
      { width = 56, ascii = true })
    assert.equal(table.concat({
      "coverage",
      "  popularity-count      ######                    0.1250",
      "  user-personalization  ########################  0.5000",
      "",
      "precision_at_5",
      "  popularity-count      ######                    0.0200",
      "  user-personalization  ########################  0.0800",
    }, "\n"), text)
  end)

  it("keeps the order of a list of { name, metrics }, chosen metrics and n/a for missing ones", function()
    local text = chart.metrics({ { "user-personalization", up }, { "sims", { coverage = 0.25 } } },
      { width = 56, ascii = true, metrics = { "precision_at_5", "coverage" } })
    assert.equal(table.concat({
      "precision_at_5",
      "  user-personalization  ########################  0.0800",
      "  sims                                               n/a",
      "",
      "coverage",
      "  user-personalization  ########################  0.5000",
      "  sims                  ############              0.2500",
    }, "\n"), text)
  end)

  it("draws with eighth blocks in a UTF-8 terminal", function()
    -- 28 columns: a 20-column bar between the label and the value
    local text = chart.bars({ { "a", 1 }, { "b", 0.33 } }, { width = 28, ascii = false, digits = 1 })
    local lines = {}
    for line in (text .. "\n"):gmatch("([^\n]*)\n") do lines[#lines + 1] = line end
    assert.equal("a  " .. ("█"):rep(20) .. "  1.0", lines[1])
    assert.equal("b  " .. ("█"):rep(6) .. "▋" .. (" "):rep(13) .. "  0.3", lines[2])
  end)

  it("is personalize.chart, and raises on misuse", function()
    assert.equal(chart, personalize.chart)
    assert.has_error(function() chart.metrics(nil) end,
      "personalize.chart.metrics: a table of name -> metrics expected, got nil")
    assert.has_error(function() chart.metrics({ a = 1 }) end,
      "personalize.chart.metrics: the metrics of a must be a table, got number")
    assert.has_error(function() chart.metrics({ a = { coverage = "high" } }) end,
      "personalize.chart: the value of a is a string, a number expected")
  end)
end)
