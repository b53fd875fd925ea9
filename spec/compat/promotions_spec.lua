-- A request filter and a promotion together, as the samples' Promotions
-- notebook asks: `filterArn` with CATEGORY "decorative" and a 20 %
-- promotion of the same filter with CATEGORY "halloween". The developer
-- guide (Promoting items in real-time recommendations) settles which filter
-- applies where: the promotion's filter "specifies the promotion criteria",
-- and "the remaining recommended items would continue to be relevant
-- recommendations based on your recipe and any request filters". Promoted
-- items therefore need not pass the request's filter: the answer mixes
-- decorative items with promoted halloween ones.
local support = require "support.engine_local"

local ITEMS_SCHEMA = [[{"type":"record","name":"Items","namespace":"com.amazonaws.personalize.schema",
"fields":[{"name":"ITEM_ID","type":"string"},{"name":"CATEGORY_L2","type":["string"],"categorical":true}],
"version":"1.0"}]]

-- item<i>: halloween when i is a multiple of 3, else decorative.
local function category_of(id)
  local i = tonumber(id:match("%d+"))
  return i and i <= 40 and (i % 3 == 0 and "halloween" or "decorative") or nil
end

local function items_csv()
  local lines = { "ITEM_ID,CATEGORY_L2" }
  for i = 1, 40 do lines[#lines + 1] = ("item%d,%s"):format(i, category_of("item" .. i)) end
  return table.concat(lines, "\n") .. "\n"
end

describe("personalize-local promotions with a request filter", function()
  local env
  before_each(function() env = support.new() end)
  after_each(function() env.close() end)

  it("fill the promoted share from the promotion's filter alone, the rest from the request's", function()
    local sv, group = support.trained(env, { name = "promo", items_schema = ITEMS_SCHEMA, items_csv = items_csv() })
    local camp = assert(env.personalize:create_campaign { name = "c", solutionVersionArn = sv }).campaignArn
    local filter = assert(env.personalize:create_filter { name = "category_filter", datasetGroupArn = group,
      filterExpression = "INCLUDE ItemID WHERE Items.CATEGORY_L2 IN ($CATEGORY)" }).filterArn
    env.settle()
    local res = assert(env.runtime:get_recommendations { campaignArn = camp, userId = "user1", numResults = 20,
      filterArn = filter, filterValues = { CATEGORY = '"decorative"' },
      promotions = { { name = "halloween_promotion", percentPromotedItems = 20, filterArn = filter,
                       filterValues = { CATEGORY = '"halloween"' } } } })
    local promoted, rest = 0, 0
    for _, x in ipairs(res.itemList) do
      if x.promotionName then
        assert.equal("halloween_promotion", x.promotionName)
        assert.equal("halloween", category_of(x.itemId))
        promoted = promoted + 1
      else
        assert.equal("decorative", category_of(x.itemId))
        rest = rest + 1
      end
    end
    assert.equal(4, promoted)
    assert.is_true(rest > 0)
  end)
end)
