-- Bar charts in the terminal, for comparing solution versions' metrics.
--
--   local chart = require "personalize.chart"     -- or personalize.chart
--   print(chart.metrics{
--     ["user-personalization"] = p:get_solution_metrics{ solutionVersionArn = a }.metrics,
--     ["popularity-count"] = p:get_solution_metrics{ solutionVersionArn = b }.metrics,
--   })
--   print(chart.bars({ { "a", 3 }, { "b", 1.5 } }, { title = "counts" }))
--
-- metrics(series, opts): one group per metric (sorted by name), one bar per
-- solution in it, each bar scaled to the largest value of its metric (the
-- metrics have different ranges: coverage near 1, precision near 0), the
-- value printed after it. `series` maps names to metrics tables (drawn in
-- name order) or is a list of { name, metrics } pairs (drawn in that
-- order). A metric one solution lacks shows "n/a".
--
-- opts: width (columns of the whole line; default $COLUMNS or 78),
-- metrics (a list: only these, in this order), ascii (true: bars of "#";
-- default when the locale is not UTF-8), digits (decimals, 4).
--
-- Returns the text (no trailing newline). Misuse (no table, a value that is
-- no number) raises.
local type, pairs, ipairs, tostring, tonumber, error = type, pairs, ipairs, tostring, tonumber, error
local floor, max = math.floor, math.max
local concat, sort, rep = table.concat, table.sort, string.rep
local getenv = os.getenv

local _M = {}

-- Eighths of a block, for bars that end between two columns.
local EIGHTHS = { "", "▏", "▎", "▍", "▌", "▋", "▊", "▉" }
local FULL = "█"

local function utf8_locale()
  local lang = getenv("LC_ALL") or getenv("LC_CTYPE") or getenv("LANG") or ""
  return lang:upper():find("UTF%-?8") ~= nil
end

-- A bar of `fraction` (0..1) of `width` columns, padded to `width`.
local function bar(fraction, width, ascii)
  if fraction ~= fraction or fraction < 0 then fraction = 0 end
  if fraction > 1 then fraction = 1 end
  if ascii then
    local n = floor(fraction * width + 0.5)
    return rep("#", n) .. rep(" ", width - n)
  end
  local eighths = floor(fraction * width * 8 + 0.5)
  local full, part = floor(eighths / 8), eighths % 8
  local s = rep(FULL, full) .. EIGHTHS[part + 1]
  local used = full + (part > 0 and 1 or 0)
  return s .. rep(" ", width - used)
end

local function width_of(opts)
  local w = opts.width or tonumber(getenv("COLUMNS") or "") or 78
  if type(w) ~= "number" or w < 20 then w = 20 end
  return floor(w)
end

local function value_text(v, digits)
  if v == nil then return "n/a" end
  return ("%." .. digits .. "f"):format(v)
end

-- The lines of one group of bars: `rows` is a list of { label, value }.
local function group_lines(lines, rows, opts, indent)
  local digits = opts.digits or 4
  local label_w, value_w, top = 0, 0, 0
  for _, r in ipairs(rows) do
    local label, v = r[1], r[2]
    if v ~= nil and type(v) ~= "number" then
      error(("personalize.chart: the value of %s is a %s, a number expected"):format(tostring(label), type(v)), 4)
    end
    label_w = max(label_w, #tostring(label))
    value_w = max(value_w, #value_text(v, digits))
    if v and v > top then top = v end
  end
  local bar_w = max(10, width_of(opts) - #indent - label_w - value_w - 4)
  for _, r in ipairs(rows) do
    local label, v = tostring(r[1]), r[2]
    local fraction = (v and top > 0) and v / top or 0
    local text = value_text(v, digits)
    lines[#lines + 1] = indent .. label .. rep(" ", label_w - #label) .. "  " .. bar(fraction, bar_w, opts.ascii)
      .. "  " .. rep(" ", value_w - #text) .. text
  end
end

local function check_opts(opts)
  opts = opts or {}
  if type(opts) ~= "table" then error("personalize.chart: options must be a table", 3) end
  local o = {}
  for k, v in pairs(opts) do o[k] = v end
  if o.ascii == nil then o.ascii = not utf8_locale() end
  return o
end

-- bars({ { label, value }, ... }, opts) -> text: one bar per row, scaled to
-- the largest value; opts.title a line above them.
function _M.bars(rows, opts)
  if type(rows) ~= "table" then error("personalize.chart.bars: a list of { label, value } expected", 2) end
  opts = check_opts(opts)
  local lines = {}
  if opts.title then lines[1] = tostring(opts.title) end
  group_lines(lines, rows, opts, opts.title and "  " or "")
  return concat(lines, "\n")
end

-- The series as a list of { name, metrics }.
local function series_list(series)
  local list = {}
  if series[1] ~= nil then
    for i, s in ipairs(series) do
      if type(s) ~= "table" or type(s[2]) ~= "table" then
        error(("personalize.chart.metrics: series %d must be { name, metrics }"):format(i), 3)
      end
      list[i] = { tostring(s[1]), s[2] }
    end
    return list
  end
  for name, m in pairs(series) do
    if type(m) ~= "table" then
      error(("personalize.chart.metrics: the metrics of %s must be a table, got %s"):format(tostring(name), type(m)), 3)
    end
    list[#list + 1] = { tostring(name), m }
  end
  sort(list, function(a, b) return a[1] < b[1] end)
  return list
end

-- metrics(series, opts) -> text; see the module header.
function _M.metrics(series, opts)
  if type(series) ~= "table" then
    error("personalize.chart.metrics: a table of name -> metrics expected, got " .. type(series), 2)
  end
  opts = check_opts(opts)
  local list = series_list(series)
  local names = opts.metrics
  if not names then
    local seen = {}
    names = {}
    for _, s in ipairs(list) do
      for k in pairs(s[2]) do
        if not seen[k] then seen[k] = true; names[#names + 1] = k end
      end
    end
    sort(names)
  end
  local lines = {}
  for i, metric in ipairs(names) do
    if i > 1 then lines[#lines + 1] = "" end
    lines[#lines + 1] = tostring(metric)
    local rows = {}
    for j, s in ipairs(list) do rows[j] = { s[1], s[2][metric] } end
    group_lines(lines, rows, opts, "  ")
  end
  if #lines == 0 then return "(no metrics)" end
  return concat(lines, "\n")
end

return _M
