-- aws-item-attribute-affinity (USER_SEGMENTATION): for an expression on
-- item attributes, the users most likely to interact with matching items.
--
--   local model = item_attribute_affinity.train(data, config)
--   local users, reason = item_attribute_affinity.segment(model,
--     { itemAttributes = 'ITEMS.GENRES = "Comedy" AND ITEMS.YEAR = "1995"', numResults = 25 })
--
-- The expression (AWS's batch segment input) is clauses
-- `ITEMS.<COLUMN> = "<value>"` joined by AND and OR (AND binds tighter;
-- column names ignore case; a "|"-separated categorical value matches any
-- of its parts; values compare ignoring case). A user's affinity is the sum
-- of their item-affinity to the 500 most popular matching items (see
-- aws-item-affinity), scaled so the best user scores 1. A malformed
-- expression returns nil and a message; no matching item gives the most
-- active users without scores.
local common = require "personalize.engine.recipes.common"
local item_affinity = require "personalize.engine.recipes.item_affinity"
local user_personalization = require "personalize.engine.recipes.user_personalization"

local pairs, ipairs, type, tostring, setmetatable = pairs, ipairs, type, tostring, setmetatable
local concat = table.concat

local _M = { name = "aws-item-attribute-affinity", MODEL_VERSION = 1, MAX_MATCHING = 500 }
-- The recipes it trains, read by recipes/init.lua (options there).
_M.RECIPES = { ["aws-item-attribute-affinity"] = {} }

-- The lower-case tokens "COLUMN=value" of each model item, "\n"-joined.
local function attribute_tokens(model, items)
  local out = {}
  for j = 1, #model.items do out[j] = "" end
  if type(items) ~= "table" or type(items.ITEM_ID) ~= "table" then return out end
  local index = user_personalization.lookups(model).item_index
  local columns = {}
  for name, col in pairs(items) do
    if name ~= "n" and name ~= "ITEM_ID" and type(col) == "table" then columns[#columns + 1] = name end
  end
  table.sort(columns)
  for i = 1, items.n or #items.ITEM_ID do
    local j = index[common.id(items.ITEM_ID[i]) or ""]
    if j then
      local toks = {}
      for _, name in ipairs(columns) do
        local v = items[name][i]
        if v ~= nil then
          for part in tostring(v):lower():gmatch("[^|]+") do toks[#toks + 1] = name:upper() .. "=" .. part end
        end
      end
      out[j] = concat(toks, "\n")
    end
  end
  return out
end

function _M.train(data, config)
  local model = item_affinity.train_model(data, config, _M.name)
  model.attributes = attribute_tokens(model, data.items)
  return model
end

_M.recommend = user_personalization.recommend

-- The users for one item (as aws-item-affinity), for the offline metrics.
_M.segment_item = item_affinity.segment

-- Parses the expression into a list of AND-groups of { column, value }.
function _M.parse(text)
  if type(text) ~= "string" or not text:find("%S") then
    return nil, "itemAttributes must be an expression such as ITEMS.GENRE = \"Comedy\""
  end
  local groups, group, pos = {}, {}, 1
  while true do
    local s, e, column, value = text:find('^%s*[Ii][Tt][Ee][Mm][Ss]%.([%w_]+)%s*=%s*"([^"]*)"%s*', pos)
    if not s then
      return nil, ("itemAttributes: expected ITEMS.<column> = \"<value>\" at character %d of %q"):format(pos, text)
    end
    group[#group + 1] = { column:upper(), value:lower() }
    pos = e + 1
    if pos > #text then break end
    local op, e2 = text:match("^(%a+)%s*()", pos)
    op = op and op:upper()
    if op == "AND" then
      pos = e2
    elseif op == "OR" then
      groups[#groups + 1] = group
      group = {}
      pos = e2
    else
      return nil, ("itemAttributes: expected AND or OR at character %d of %q"):format(pos, text)
    end
  end
  groups[#groups + 1] = group
  return groups
end

local parsed = setmetatable({}, { __mode = "k" })
local function token_sets(model)
  local sets = parsed[model]
  if sets then return sets end
  sets = {}
  for j, s in ipairs(model.attributes or {}) do
    local set = {}
    for t in s:gmatch("[^\n]+") do set[t] = true end
    sets[j] = set
  end
  parsed[model] = sets
  return sets
end

-- Item indexes matching the expression, most popular first.
function _M.matching(model, groups)
  local sets, out = token_sets(model), {}
  for j = 1, #model.items do
    local set = sets[j] or {}
    for _, group in ipairs(groups) do
      local all = true
      for _, c in ipairs(group) do
        if not set[c[1] .. "=" .. c[2]] then all = false; break end
      end
      if all then out[#out + 1] = j; break end
    end
  end
  table.sort(out, function(a, b)
    if model.distinct[a] ~= model.distinct[b] then return model.distinct[a] > model.distinct[b] end
    return model.items[a] < model.items[b]
  end)
  return out
end

function _M.segment(model, request)
  request = request or {}
  local groups, why = _M.parse(request.itemAttributes)
  if not groups then return nil, why end
  local acc = {}
  for r, j in ipairs(_M.matching(model, groups)) do
    if r > _M.MAX_MATCHING then break end
    item_affinity.accumulate(model, j, 1, acc)
  end
  return item_affinity.best_users(model, acc, request)
end

return _M
