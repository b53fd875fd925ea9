-- Filters applied: a filter expression (personalize.engine.filter_expression)
-- compiled into a predicate over the candidates of one request: items for
-- recommendations and rankings, users for segments.
--
--   local f, problem = filters.compile(expression)     -- parsed once per text
--   local keep, code, message = filters.predicate(f, ctx, filter_values)
--   if keep then ... keep(id) -> boolean ... end
--   local list = filters.values('"Comedy","Drama"')     -- { "Comedy", "Drama" }
--   local row_of = filters.rows(data, "ITEM_ID")         -- id -> row number
--
-- ctx is what the engine knows for the request:
--   { userId =, itemId = (the current item of a related-items request),
--     items = columnar Items rows or nil, users = columnar Users rows or nil,
--     interactions = { by_user = { [userId] = { item = {...}, etype = {...} } } } or nil,
--     actions =, action_interactions = (the same for action filters: ActionID statements),
--     subject = "ItemID" (default), "UserID" (segments) or "ActionID" }
-- A predicate fails (nil, "InvalidInputException", message) when an INCLUDE
-- statement has a parameter without a value, or the filter needs an item
-- the request does not give (CurrentItem).
--
-- Semantics, from the developer guide's "Filter expressions" pages:
--   * statements joined by "|": the candidates are (union of the INCLUDE
--     statements, or everything when none applies) minus the union of the
--     EXCLUDE statements;
--   * AND binds tighter than OR within a statement;
--   * a $PARAMETER with no value in filterValues drops that condition from
--     an EXCLUDE statement (a statement left with none does not apply);
--     INCLUDE statements need every value;
--   * filterValues hold a comma-separated list of "quoted" values;
--   * categorical fields hold several values joined by "|": IN matches any;
--   * event types match ignoring case, every other value exactly;
--   * an IF part (CurrentUser conditions) makes the statement apply only
--     to users who meet it.
local filter_expression = require "personalize.engine.filter_expression"

local pairs, ipairs, type, tostring, tonumber, setmetatable = pairs, ipairs, type, tostring, tonumber, setmetatable
local fmt, lower = string.format, string.lower

local _M = {}

local compiled = {}

function _M.compile(text)
  local f = compiled[text]
  if f then return f end
  local ast, problem = filter_expression.parse(text)
  if not ast then return nil, problem end
  compiled[text] = ast
  return ast
end

-- '"a","b c", 3' -> { "a", "b c", "3" }; backslash escapes a quote.
function _M.values(text)
  local out = {}
  if type(text) ~= "string" then return out end
  local i, n = 1, #text
  while i <= n do
    local c = text:sub(i, i)
    if c:match("[%s,]") then
      i = i + 1
    elseif c == '"' then
      local buf, j = {}, i + 1
      while j <= n do
        local d = text:sub(j, j)
        if d == "\\" and j < n then
          buf[#buf + 1] = text:sub(j + 1, j + 1)
          j = j + 2
        elseif d == '"' then
          break
        else
          buf[#buf + 1] = d
          j = j + 1
        end
      end
      out[#out + 1] = table.concat(buf)
      i = j + 1
    else
      local word = text:match("^[^,]+", i)
      out[#out + 1] = (word:gsub("%s+$", ""))
      i = i + #word
    end
  end
  return out
end

-- id -> row number of a columnar table, kept up to date as rows are
-- appended to the same table (live records), rebuilt for a new table.
local indexes = setmetatable({}, { __mode = "k" })

function _M.rows(data, id_col)
  local per = indexes[data]
  if not per then
    per = {}
    indexes[data] = per
  end
  local idx = per[id_col]
  if not idx then
    idx = { n = 0, map = {} }
    per[id_col] = idx
  end
  local ids = data[id_col] or {}
  for i = idx.n + 1, data.n or 0 do
    local id = ids[i]
    if id ~= nil then idx.map[tostring(id)] = i end  -- the latest record wins
  end
  idx.n = data.n or 0
  return idx.map
end

-- The column of `data` named `field`, matched ignoring case.
local function column(data, field)
  if not data then return nil end
  local col = data[field]
  if type(col) == "table" then return col end
  local up = field:upper()
  for k, v in pairs(data) do
    if type(k) == "string" and type(v) == "table" and k:upper() == up then return v end
  end
  return nil
end

-- The values a stored cell stands for: categorical strings split on "|".
local function cell_values(v)
  if v == nil then return nil end
  if type(v) == "string" and v:find("|", 1, true) then
    local out = {}
    for part in v:gmatch("[^|]+") do out[#out + 1] = part end
    return out
  end
  return { v }
end

local function same(a, b, fold)
  if a == b then return true end
  local na, nb = tonumber(a), tonumber(b)
  if na and nb then return na == nb end
  a, b = tostring(a), tostring(b)
  if fold then return lower(a) == lower(b) end
  return a == b
end

-- Does a cell (raw stored value) satisfy `op` against the resolved `targets`?
local function test(cell, op, targets, fold)
  local vals = cell_values(cell)
  if not vals then return false end
  if op == "IN" or op == "NOT IN" or op == "=" then
    local hit = false
    for _, v in ipairs(vals) do
      for _, t in ipairs(targets) do
        if same(v, t, fold) then hit = true break end
      end
      if hit then break end
    end
    if op == "NOT IN" then return not hit end
    return hit
  end
  local x, y = tonumber(vals[1]), tonumber(targets[1])
  if not (x and y) then return false end
  if op == "<" then return x < y elseif op == ">" then return x > y
  elseif op == "<=" then return x <= y else return x >= y end
end

local function invalid(message) return nil, "InvalidInputException", message end

-- Marks a condition left out: its parameter has no value.
local DROPPED = {}

-- The target values of condition `c`, or DROPPED when a parameter has no
-- value; nil, code, message on a request that cannot supply them.
local function resolve(c, env)
  local out = {}
  for _, v in ipairs(c.values) do
    if v.kind == "param" then
      local list = env.param(v.value)
      if #list == 0 then return DROPPED end
      for _, x in ipairs(list) do out[#out + 1] = x end
    elseif v.kind == "current" then
      local row = env.current_row()
      if row == false then
        return invalid(fmt("the filter uses CurrentItem.%s, which needs a related-items request with an itemId", v.value))
      end
      local col = column(env.ctx.items, v.value)
      local cell = row and col and col[row]
      for _, x in ipairs(cell_values(cell) or {}) do out[#out + 1] = x end
    else
      out[#out + 1] = v.value
    end
  end
  return out
end

-- One condition compiled to a function(id) -> boolean over candidates of
-- `subject`, or a constant boolean; DROPPED when a parameter has no value.
local function condition_fn(c, subject, env)
  local targets, code, msg = resolve(c, env)
  if targets == nil then return nil, code, msg end
  if targets == DROPPED then return DROPPED end
  local ctx = env.ctx
  local ds = c.dataset
  if ds == "Interactions" or ds == "ActionInteractions" then
    local index = ds == "Interactions" and ctx.interactions or ctx.action_interactions
    local by_user = index and index.by_user or {}
    local wanted = {}
    for _, t in ipairs(targets) do wanted[lower(tostring(t))] = true end
    local function types_match(et)
      local hit = wanted[lower(tostring(et))] == true
      if c.op == "NOT IN" then return not hit end
      return hit
    end
    if subject == "UserID" then
      return function(id)
        local h = by_user[id]
        if not h then return false end
        for k = 1, #h.item do
          if types_match(h.etype[k] or "") then return true end
        end
        return false
      end
    end
    local set = {}
    local h = ctx.userId and by_user[ctx.userId]
    if h then
      for k = 1, #h.item do
        if types_match(h.etype[k] or "") then set[h.item[k]] = true end
      end
    end
    return function(id) return set[id] == true end
  end
  local function on_rows(data, id_col)
    local col = column(data, c.field)
    if not col then return function() return false end end
    local row_of = _M.rows(data, id_col)
    return function(id)
      local row = row_of[id]
      return row ~= nil and test(col[row], c.op, targets, false)
    end
  end
  if ds == "Items" or ds == "Actions" then
    if subject == "UserID" then return false end
    if ds == "Items" then return on_rows(ctx.items, "ITEM_ID") end
    return on_rows(ctx.actions, "ACTION_ID")
  end
  if ds == "Users" and subject == "UserID" then
    return on_rows(ctx.users, "USER_ID")
  end
  -- Users (of an item statement), CurrentUser and CurrentItem: one answer
  -- for the whole request.
  local data, id
  if ds == "CurrentItem" then
    if env.current_row() == false then
      return invalid(fmt("the filter uses CurrentItem.%s, which needs a related-items request with an itemId", c.field))
    end
    data, id = ctx.items, ctx.itemId
    local fn = on_rows(data, "ITEM_ID")
    return fn(tostring(id))
  end
  data, id = ctx.users, ctx.userId
  if not data or id == nil then return false end
  return on_rows(data, "USER_ID")(tostring(id))
end

-- A statement compiled to function(id) -> boolean, or false when it does
-- not apply to this request.
local function statement_fn(stmt, subject, env)
  local include = stmt.action == "INCLUDE"
  local function need(c)
    local name = "?"
    for _, v in ipairs(c.values) do
      if v.kind == "param" and not env.has(v.value) then name = v.value break end
    end
    return invalid(fmt("filterValues has no value for $%s, which the filter's INCLUDE expression needs", name))
  end
  for _, c in ipairs(stmt.guard or {}) do
    local g, code, msg = condition_fn(c, subject, env)
    if g == nil then return nil, code, msg end
    if g == DROPPED then
      if include then return need(c) end
    elseif not g then
      return false
    end
  end
  -- OR of AND-groups; a dropped condition leaves its group.
  local groups, group = {}, {}
  for k, c in ipairs(stmt.conditions) do
    local fn, code, msg = condition_fn(c, subject, env)
    if fn == nil then return nil, code, msg end
    if fn == DROPPED then
      if include then return need(c) end
    else
      group[#group + 1] = fn
    end
    if stmt.joins[k] ~= "AND" then
      if #group > 0 then groups[#groups + 1] = group end
      group = {}
    end
  end
  if #groups == 0 then return false end
  return function(id)
    for _, g in ipairs(groups) do
      local all = true
      for _, fn in ipairs(g) do
        local ok = fn
        if type(fn) == "function" then ok = fn(id) end
        if not ok then all = false break end
      end
      if all then return true end
    end
    return false
  end
end

function _M.predicate(f, ctx, filter_values)
  local subject = ctx.subject or "ItemID"
  local values = type(filter_values) == "table" and filter_values or {}
  local env = { ctx = ctx }
  function env.param(name)
    local raw = values[name]
    if raw == nil then raw = values["$" .. name] end
    return _M.values(raw)
  end
  function env.has(name) return #env.param(name) > 0 end
  local current
  function env.current_row()
    if current == nil then
      if ctx.itemId == nil then
        current = false
      else
        current = ctx.items and _M.rows(ctx.items, "ITEM_ID")[tostring(ctx.itemId)] or 0
      end
    end
    if current == 0 then return nil end
    return current
  end
  local includes, excludes = {}, {}
  for _, stmt in ipairs(f) do
    if stmt.subject ~= subject then
      return invalid(fmt("the filter selects %s; this request filters %s", stmt.subject, subject))
    end
    local fn, code, msg = statement_fn(stmt, subject, env)
    if fn == nil then return nil, code, msg end
    if fn then
      local list = stmt.action == "INCLUDE" and includes or excludes
      list[#list + 1] = fn
    end
  end
  return function(id)
    id = tostring(id)
    if #includes > 0 then
      local any = false
      for _, fn in ipairs(includes) do
        if fn(id) then any = true break end
      end
      if not any then return false end
    end
    for _, fn in ipairs(excludes) do
      if fn(id) then return false end
    end
    return true
  end
end

return _M
