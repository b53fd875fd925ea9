-- Personalize's filter expression language, parsed.
--
--   local ast, problem = filter_expression.parse(text)
--   local ok, problem = filter_expression.check(text)
--   local ok, problem = filter_expression.check_fields(ast, fields_of)
--
-- An expression is one or more statements joined with "|":
--   INCLUDE|EXCLUDE ItemID|UserID|ActionID WHERE <condition> [AND|OR <condition>]...
--     [IF CurrentUser.FIELD <op> value [AND CurrentUser.FIELD <op> value]...]
-- a condition is  Dataset.FIELD IN (values) | NOT IN (values) | = | < | > | <= | >= value,
-- Dataset one of Items, Interactions, Users, Actions, Action_Interactions
-- (also spelt ActionInteractions) or CurrentItem; values are "quoted
-- strings", numbers, $PARAMETERS (filled by filterValues at request time) or
-- CurrentItem.FIELD, one value optionally in parentheses after a comparison,
-- and `IN CurrentItem.FIELD` needs none. As the developer guide states:
-- Interactions conditions name EVENT_TYPE with IN / NOT IN only, conditions
-- chained with AND/OR use the dataset of the first one, and the IF part
-- (once, at the end) checks CurrentUser only. Field names match the
-- schema's ignoring case: AWS's own POC workshop created and used
-- `Interactions.event_type IN ("watch")` (amazon-personalize-samples,
-- next_steps/workshops/POC_in_a_box/completed/04_Deploying_Campaigns_and_Filters.ipynb).
-- The AST: { { action = "EXCLUDE", subject = "ItemID",
--   conditions = { { dataset, field, op, values = { {kind="string"|"number"|"param"|"current", value} } }, ... },
--   joins = { "AND"|"OR", ... }, guard = nil or { condition, ... } (the IF part, joined by AND) },
--   ..., parameters = { NAME = true } }
local _M = {}

local MAX_LENGTH = 2500
local MAX_PARAMETERS = 5

-- Dataset names as written -> the name conditions carry.
local DATASETS = { Items = "Items", Interactions = "Interactions", Users = "Users", Actions = "Actions",
                   ActionInteractions = "ActionInteractions", Action_Interactions = "ActionInteractions",
                   CurrentItem = "CurrentItem", CurrentUser = "CurrentUser" }
local SUBJECTS = { ItemID = true, UserID = true, ActionID = true }

-- Tokens: words, quoted strings, numbers, $params, punctuation.
local function tokenize(text)
  local tokens, i, n = {}, 1, #text
  while i <= n do
    local c = text:sub(i, i)
    if c:match("%s") then
      i = i + 1
    elseif c == '"' then
      local j = text:find('"', i + 1, true)
      if not j then return nil, ("unterminated string starting at character %d"):format(i) end
      tokens[#tokens + 1] = { kind = "string", value = text:sub(i + 1, j - 1), at = i }
      i = j + 1
    elseif c == "$" then
      local name = text:match("^%$([%w_]+)", i)
      if not name then return nil, ("'$' at character %d must start a parameter name"):format(i) end
      tokens[#tokens + 1] = { kind = "param", value = name, at = i }
      i = i + 1 + #name
    elseif c:match("[%d%-]") then
      local num = text:match("^%-?%d+%.?%d*", i)
      if not num then return nil, ("unexpected %q at character %d"):format(c, i) end
      tokens[#tokens + 1] = { kind = "number", value = tonumber(num), at = i }
      i = i + #num
    elseif c:match("[%a_]") then
      local word = text:match("^[%w_]+", i)
      local field = text:match("^[%w_]+%.[%w_]+", i)
      if field then
        tokens[#tokens + 1] = { kind = "field", value = field, at = i }
        i = i + #field
      else
        tokens[#tokens + 1] = { kind = "word", value = word, upper = word:upper(), at = i }
        i = i + #word
      end
    else
      local op = text:match("^[<>]=", i) or text:match("^[%(%),=<>|]", i)
      if not op then return nil, ("unexpected %q at character %d"):format(c, i) end
      tokens[#tokens + 1] = { kind = "punct", value = op, at = i }
      i = i + #op
    end
  end
  return tokens
end

function _M.parse(text)
  if type(text) ~= "string" or text:match("^%s*$") then return nil, "the expression is empty" end
  if #text > MAX_LENGTH then
    return nil, ("the expression has %d characters; the limit is %d"):format(#text, MAX_LENGTH)
  end
  local tokens, terr = tokenize(text)
  if not tokens then return nil, terr end
  local pos = 1
  local function peek() return tokens[pos] end
  local function where(t) return t and ("at character " .. t.at) or "at the end" end
  local function expect_word(w)
    local t = tokens[pos]
    if not t or t.kind ~= "word" or t.upper ~= w then
      return nil, ("expected %s %s"):format(w, where(t))
    end
    pos = pos + 1
    return t
  end

  local ast = { parameters = {} }
  local nparams = 0
  local function value()
    local t = tokens[pos]
    if not t then return nil, "expected a value at the end" end
    pos = pos + 1
    if t.kind == "string" or t.kind == "number" then return { kind = t.kind, value = t.value } end
    if t.kind == "param" then
      if not ast.parameters[t.value] then
        nparams = nparams + 1
        ast.parameters[t.value] = true
      end
      return { kind = "param", value = t.value }
    end
    if t.kind == "field" and t.value:match("^CurrentItem%.") then
      return { kind = "current", value = t.value:match("%.(.*)$") }
    end
    return nil, ("expected a quoted string, a number or a $PARAMETER %s"):format(where(t))
  end

  local function condition(in_guard)
    local t = tokens[pos]
    if not t or t.kind ~= "field" then
      return nil, ("expected Dataset.FIELD (e.g. Items.GENRE) %s"):format(where(t))
    end
    local written, field = t.value:match("^([%w_]+)%.([%w_]+)$")
    local dataset = DATASETS[written]
    if not dataset then
      return nil, ("unknown dataset %q %s; use Items, Interactions, Users, Actions or CurrentItem"):format(written, where(t))
    end
    if in_guard and dataset ~= "CurrentUser" then
      return nil, ("an IF condition checks CurrentUser.FIELD only, got %s %s"):format(t.value, where(t))
    end
    if not in_guard and dataset == "CurrentUser" then
      return nil, ("CurrentUser.%s %s: CurrentUser goes in an IF condition at the end of the expression"):format(field, where(t))
    end
    pos = pos + 1
    local c = { dataset = dataset, field = field, values = {} }
    local o = tokens[pos]
    if o and o.kind == "word" and o.upper == "NOT" then
      pos = pos + 1
      local ok, e = expect_word("IN")
      if not ok then return nil, e end
      c.op = "NOT IN"
    elseif o and o.kind == "word" and o.upper == "IN" then
      pos = pos + 1
      c.op = "IN"
    elseif o and o.kind == "punct" and (o.value == "=" or o.value == "<" or o.value == ">"
        or o.value == "<=" or o.value == ">=") then
      pos = pos + 1
      c.op = o.value
    else
      return nil, ("expected IN, NOT IN, =, <, >, <= or >= after %s %s"):format(t.value, where(o))
    end
    if (c.op == "IN" or c.op == "NOT IN") and tokens[pos] and tokens[pos].kind == "field" then
      local v, e = value()
      if not v then return nil, e end
      if v.kind ~= "current" then return nil, ("expected ( after %s %s"):format(c.op, where(tokens[pos - 1])) end
      c.values[1] = v
    elseif c.op == "IN" or c.op == "NOT IN" then
      local open = tokens[pos]
      if not open or open.value ~= "(" then return nil, ("expected ( after %s %s"):format(c.op, where(open)) end
      pos = pos + 1
      repeat
        local v, e = value()
        if not v then return nil, e end
        c.values[#c.values + 1] = v
        local sep = tokens[pos]
        pos = pos + 1
        if not sep or (sep.value ~= "," and sep.value ~= ")") then
          return nil, ("expected , or ) %s"):format(where(sep))
        end
      until sep.value == ")"
    else
      local open = tokens[pos]
      local paren = open and open.value == "("
      if paren then pos = pos + 1 end
      local v, e = value()
      if not v then return nil, e end
      c.values[1] = v
      if paren then
        local close = tokens[pos]
        if not close or close.value ~= ")" then return nil, ("expected ) %s"):format(where(close)) end
        pos = pos + 1
      end
    end
    if (dataset == "Interactions" or dataset == "ActionInteractions")
        and (field:upper() ~= "EVENT_TYPE" or (c.op ~= "IN" and c.op ~= "NOT IN")) then
      return nil, ("%s conditions must be %s.EVENT_TYPE IN (...) or NOT IN (...), got %s.%s %s")
        :format(written, written, written, field, c.op)
    end
    if dataset == "Interactions" or dataset == "ActionInteractions" then c.field = "EVENT_TYPE" end
    return c
  end

  repeat
    local action = tokens[pos]
    if not action or action.kind ~= "word" or (action.upper ~= "INCLUDE" and action.upper ~= "EXCLUDE") then
      return nil, ("expected INCLUDE or EXCLUDE %s"):format(where(action))
    end
    pos = pos + 1
    local subject = tokens[pos]
    if not subject or subject.kind ~= "word" or not SUBJECTS[subject.value] then
      return nil, ("expected ItemID, UserID or ActionID after %s %s"):format(action.upper, where(subject))
    end
    pos = pos + 1
    local ok, e = expect_word("WHERE")
    if not ok then return nil, e end
    local stmt = { action = action.upper, subject = subject.value, conditions = {}, joins = {} }
    while true do
      local at = tokens[pos]
      local c, ce = condition(false)
      if not c then return nil, ce end
      local first = stmt.conditions[1]
      if first and c.dataset ~= first.dataset then
        return nil, ("%s.%s %s: conditions chained with AND or OR must use the dataset of the first one (%s); "
          .. "chain a second expression with | instead"):format(c.dataset, c.field, where(at), first.dataset)
      end
      stmt.conditions[#stmt.conditions + 1] = c
      local j = peek()
      if j and j.kind == "word" and (j.upper == "AND" or j.upper == "OR") then
        stmt.joins[#stmt.joins + 1] = j.upper
        pos = pos + 1
      else
        break
      end
    end
    local j = peek()
    if j and j.kind == "word" and j.upper == "IF" then
      pos = pos + 1
      stmt.guard = {}
      repeat
        local c, ce = condition(true)
        if not c then return nil, ce end
        stmt.guard[#stmt.guard + 1] = c
        local a = peek()
        local more = a and a.kind == "word" and a.upper == "AND"
        if more then pos = pos + 1 end
      until not more
    end
    ast[#ast + 1] = stmt
    local bar = peek()
    if bar and bar.value == "|" then pos = pos + 1 elseif bar then
      return nil, ("unexpected %q %s"):format(tostring(bar.value), where(bar))
    end
  until not bar
  if nparams > MAX_PARAMETERS then
    return nil, ("the expression has %d parameters; the limit is %d"):format(nparams, MAX_PARAMETERS)
  end
  return ast
end

function _M.check(text)
  local ast, problem = _M.parse(text)
  if not ast then return nil, problem end
  return true
end

-- Whether the expression reads the request's user: conditions on the
-- user's Interactions or Users row of an item statement, or an IF part on
-- CurrentUser. A request without userId cannot apply such a filter.
function _M.needs_user(ast)
  for _, stmt in ipairs(ast) do
    if stmt.guard then return true end
    if stmt.subject == "ItemID" then
      for _, c in ipairs(stmt.conditions) do
        if c.dataset == "Interactions" or c.dataset == "Users" then return true end
      end
    end
  end
  return false
end

-- The dataset type (as CreateDataset's datasetType, upper case) whose
-- schema holds the fields a condition's dataset names.
local DATASET_TYPE = { Items = "ITEMS", CurrentItem = "ITEMS", Users = "USERS", CurrentUser = "USERS",
                       Interactions = "INTERACTIONS", Actions = "ACTIONS",
                       ActionInteractions = "ACTION_INTERACTIONS" }
local LABEL = { ITEMS = "Items", USERS = "Users", INTERACTIONS = "Interactions", ACTIONS = "Actions",
                ACTION_INTERACTIONS = "Action_Interactions" }

-- Every Dataset.FIELD the expression names (conditions, IF parts and
-- CurrentItem values) exists in the dataset group: fields_of(type) gives
-- the field names of the group's dataset of that type as a set, or nil
-- when the group has none. true | nil, problem.
function _M.check_fields(ast, fields_of)
  local function known(dataset, field)
    local dtype = DATASET_TYPE[dataset]
    local fields = fields_of(dtype)
    if not fields then
      return nil, ("%s.%s: the dataset group has no %s dataset"):format(dataset, field, LABEL[dtype])
    end
    local found = fields[field]
    if not found then
      local up = field:upper()
      for name in pairs(fields) do
        if name:upper() == up then found = true end
      end
    end
    if not found then
      local names = {}
      for name in pairs(fields) do names[#names + 1] = name end
      table.sort(names)
      return nil, ("%s.%s: the %s dataset's schema has no field %s (its fields: %s)")
        :format(dataset, field, LABEL[dtype], field, table.concat(names, ", "))
    end
    return true
  end
  for _, stmt in ipairs(ast) do
    local all = {}
    for _, c in ipairs(stmt.conditions) do all[#all + 1] = c end
    for _, c in ipairs(stmt.guard or {}) do all[#all + 1] = c end
    for _, c in ipairs(all) do
      local ok, problem = known(c.dataset, c.field)
      if not ok then return nil, problem end
      for _, v in ipairs(c.values) do
        if v.kind == "current" then
          ok, problem = known("CurrentItem", v.value)
          if not ok then return nil, problem end
        end
      end
    end
  end
  return true
end

return _M
