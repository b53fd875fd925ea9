-- Filter expressions: parsed (filter_expression) and applied (filters) to
-- hand-made items, users and interactions whose right answers are known.
local filter_expression = require "personalize.engine.filter_expression"
local filters = require "personalize.engine.filters"

local ITEMS = {
  n = 5,
  ITEM_ID = { "i1", "i2", "i3", "i4", "i5" },
  GENRES = { "Comedy", "Drama|Comedy", "Horror", "Drama", "Action" },
  PRICE = { 5, 20, 12, 40, 8 },
  STUDIO = { "a", "b", "a", "b", "a" },
}
local USERS = { n = 2, USER_ID = { "u1", "u2" }, AGE = { 15, 40 }, MEMBERSHIP = { "basic", "premium" } }
local INTERACTIONS = { by_user = {
  u1 = { item = { "i1", "i3" }, etype = { "Click", "purchase" } },
  u2 = { item = { "i4" }, etype = { "click" } },
} }

local function kept(expr, ctx, values)
  local f = assert(filters.compile(expr))
  ctx.items, ctx.users, ctx.interactions = ctx.items or ITEMS, ctx.users or USERS, ctx.interactions or INTERACTIONS
  local keep, code, msg = filters.predicate(f, ctx, values)
  if not keep then return nil, code, msg end
  local out = {}
  local ids = ctx.subject == "UserID" and USERS.USER_ID or ITEMS.ITEM_ID
  for _, id in ipairs(ids) do
    if keep(id) then out[#out + 1] = id end
  end
  return out
end

describe("filter expressions", function()
  it("parse IF parts, IN CurrentItem.X and a parenthesised comparison value", function()
    local ast = assert(filter_expression.parse(
      'INCLUDE ItemID WHERE Items.PRICE < CurrentItem.PRICE AND Items.GENRES IN CurrentItem.GENRES'))
    assert.equal("current", ast[1].conditions[2].values[1].kind)
    ast = assert(filter_expression.parse('EXCLUDE ItemID WHERE Items.PRICE > ($P) IF CurrentUser.AGE < 18 AND CurrentUser.M = "x"'))
    assert.equal(2, #ast[1].guard)
    assert.is_true(ast.parameters.P)
    assert.truthy(filter_expression.parse('INCLUDE ActionID WHERE Action_Interactions.EVENT_TYPE IN ("taken")'))
  end)

  it("reject mixed datasets in one statement, CurrentUser outside IF, and IF on other datasets", function()
    local _, e = filter_expression.parse('EXCLUDE ItemID WHERE Items.GENRES IN ("x") AND Interactions.EVENT_TYPE IN ("click")')
    assert.matches("dataset of the first one", e)
    _, e = filter_expression.parse('EXCLUDE ItemID WHERE CurrentUser.AGE < 3')
    assert.matches("IF condition", e)
    _, e = filter_expression.parse('EXCLUDE ItemID WHERE Items.PRICE < 3 IF Items.PRICE > 2')
    assert.matches("CurrentUser", e)
  end)

  -- AWS's POC workshop creates and uses 'Interactions.event_type IN ("watch")'
  -- (amazon-personalize-samples,
  -- next_steps/workshops/POC_in_a_box/completed/04_Deploying_Campaigns_and_Filters.ipynb).
  it("take field names in any case, matched against the schema ignoring case", function()
    local ast = assert(filter_expression.parse('EXCLUDE ItemID WHERE Interactions.event_type IN ($EVENT_TYPE)'))
    assert.equal("EVENT_TYPE", ast[1].conditions[1].field)
    local _, problem = filter_expression.parse('EXCLUDE ItemID WHERE Interactions.item_id IN ("x")')
    assert.matches("Interactions conditions must be Interactions.EVENT_TYPE IN", problem, 1, true)
    local fields = { ITEMS = { ITEM_ID = true, GENRES = true } }
    local function fields_of(dtype) return fields[dtype] end
    assert.is_true(filter_expression.check_fields(assert(filter_expression.parse(
      'INCLUDE ItemID WHERE Items.genres IN ("Drama")')), fields_of))
    _, problem = filter_expression.check_fields(assert(filter_expression.parse(
      'INCLUDE ItemID WHERE Items.genre IN ("Drama")')), fields_of)
    assert.matches("the Items dataset's schema has no field genre", problem, 1, true)
  end)

  it("say whether they read the request's user", function()
    local function needs(text) return filter_expression.needs_user(assert(filter_expression.parse(text))) end
    assert.is_true(needs('EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("watch")'))
    assert.is_true(needs('INCLUDE ItemID WHERE Users.AGE > 18'))
    assert.is_true(needs('INCLUDE ItemID WHERE Items.PRICE < 10 IF CurrentUser.AGE < 18'))
    assert.is_false(needs('INCLUDE ItemID WHERE Items.GENRES IN ("Drama")'))
    assert.is_false(needs('EXCLUDE UserID WHERE Interactions.EVENT_TYPE IN ("watch")'))
  end)

  it("read filterValues as a quoted, comma-separated list", function()
    assert.same({ "Comedy", "Drama" }, filters.values('"Comedy","Drama"'))
    assert.same({ 'a "b"', "10" }, filters.values('"a \\"b\\"", 10'))
    assert.same({}, filters.values(nil))
  end)
end)

describe("filters applied", function()
  it("EXCLUDE by Items IN, with categorical multi-values", function()
    assert.same({ "i3", "i4", "i5" }, kept('EXCLUDE ItemID WHERE Items.GENRES IN ("Comedy")', { userId = "u1" }))
  end)

  it("INCLUDE with a parameter, and fails naming a missing INCLUDE parameter", function()
    assert.same({ "i2", "i4" }, kept('INCLUDE ItemID WHERE Items.GENRES IN ($G)', { userId = "u1" }, { G = '"Drama"' }))
    local list, code, msg = kept('INCLUDE ItemID WHERE Items.GENRES IN ($G)', { userId = "u1" }, {})
    assert.is_nil(list)
    assert.equal("InvalidInputException", code)
    assert.matches("%$G", msg)
  end)

  it("drops an EXCLUDE condition whose parameter has no value", function()
    local expr = 'EXCLUDE ItemID WHERE Items.GENRES IN ($G) OR Items.PRICE > 30'
    assert.same({ "i1", "i2", "i3", "i5" }, kept(expr, { userId = "u1" }, {}))
    assert.same({ "i3", "i5" }, kept(expr, { userId = "u1" }, { G = '"Comedy"' }))
    assert.same(ITEMS.ITEM_ID, kept('EXCLUDE ItemID WHERE Items.GENRES IN ($G)', { userId = "u1" }))
  end)

  it("compares numbers, AND binding tighter than OR", function()
    assert.same({ "i1", "i5" }, kept('INCLUDE ItemID WHERE Items.PRICE < 10', {}))
    assert.same({ "i3", "i4" }, kept('INCLUDE ItemID WHERE Items.PRICE >= 12 AND Items.GENRES NOT IN ("Comedy")', {}))
    assert.same({ "i3", "i4", "i5" },
      kept('INCLUDE ItemID WHERE Items.PRICE > 30 OR Items.PRICE < 15 AND Items.STUDIO IN ("a") AND Items.PRICE > 6', {}))
    assert.same({ "i2" }, kept('INCLUDE ItemID WHERE Items.PRICE = $P', {}, { P = "20" }))
  end)

  it("Interactions.EVENT_TYPE: the user's items of those event types, ignoring case", function()
    assert.same({ "i2", "i4", "i5" }, kept('EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("click", "PURCHASE")', { userId = "u1" }))
    assert.same({ "i1" }, kept('INCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("click")', { userId = "u1" }))
    assert.same(ITEMS.ITEM_ID, kept('EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("click")', { userId = "new" }))
  end)

  it("chains with |: includes joined, excludes taken away", function()
    assert.same({ "i1", "i2" },
      kept('INCLUDE ItemID WHERE Items.GENRES IN ("Comedy") | INCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("click")'
        .. ' | EXCLUDE ItemID WHERE Items.PRICE > 30', { userId = "u2" }))
  end)

  it("CurrentItem for related items, and an error without an itemId", function()
    local expr = 'INCLUDE ItemID WHERE Items.PRICE < CurrentItem.PRICE AND Items.STUDIO IN CurrentItem.STUDIO'
    assert.same({ "i1", "i5" }, kept(expr, { itemId = "i3" }))
    local list, code = kept(expr, { userId = "u1" })
    assert.is_nil(list)
    assert.equal("InvalidInputException", code)
  end)

  it("IF CurrentUser: the statement applies to users who meet it", function()
    local expr = 'EXCLUDE ItemID WHERE Items.GENRES IN ("Horror") IF CurrentUser.AGE < 18'
    assert.same({ "i1", "i2", "i4", "i5" }, kept(expr, { userId = "u1" }))
    assert.same(ITEMS.ITEM_ID, kept(expr, { userId = "u2" }))
    assert.same({ "i1", "i2", "i3", "i4", "i5" }, kept('EXCLUDE ItemID WHERE Items.GENRES IN ("Horror") IF CurrentUser.MEMBERSHIP = $M',
      { userId = "u1" }, { M = '"premium"' }))
  end)

  it("UserID statements filter users for segments", function()
    assert.same({ "u2" }, kept('INCLUDE UserID WHERE Users.MEMBERSHIP IN ("premium")', { subject = "UserID" }))
    assert.same({ "u2" }, kept('EXCLUDE UserID WHERE Interactions.EVENT_TYPE IN ("purchase")', { subject = "UserID" }))
    local list, code = kept('EXCLUDE UserID WHERE Users.AGE < 3', { subject = "ItemID" })
    assert.is_nil(list)
    assert.equal("InvalidInputException", code)
  end)

  it("ActionID statements filter actions by Actions and Action_Interactions", function()
    local ctx = { subject = "ActionID", userId = "u1",
      actions = { n = 3, ACTION_ID = { "a1", "a2", "a3" }, VALUE = { 1, 50, 100 } },
      action_interactions = { by_user = { u1 = { item = { "a3" }, etype = { "TAKEN" } } } } }
    local f = assert(filters.compile('INCLUDE ActionID WHERE Actions.VALUE > $V'
      .. ' | EXCLUDE ActionID WHERE Action_Interactions.EVENT_TYPE IN ("taken")'))
    local keep = assert(filters.predicate(f, ctx, { V = "10" }))
    assert.same({ false, true, false }, { keep("a1"), keep("a2"), keep("a3") })
  end)

  it("follows rows appended to the same table", function()
    local items = { n = 1, ITEM_ID = { "x1" }, GENRES = { "Comedy" } }
    local f = assert(filters.compile('EXCLUDE ItemID WHERE Items.GENRES IN ("Comedy")'))
    assert.is_false(filters.predicate(f, { items = items })("x1"))
    items.n = 2
    items.ITEM_ID[2], items.GENRES[2] = "x2", "Comedy"
    assert.is_false(filters.predicate(f, { items = items })("x2"))
  end)
end)
