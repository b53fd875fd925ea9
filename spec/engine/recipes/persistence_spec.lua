-- Every recipe's model as the engine stores it (store.json: cjson, 14
-- digits) answers exactly as the model it was encoded from.
local fixtures = require "engine.recipes.fixtures"
local training = require "personalize.engine.training"
local json = require("personalize.engine.store").json

local ARN = "arn:aws:personalize:::recipe/"

local REQUESTS = {
  { userId = "u05" }, { userId = "u44", numResults = 7 }, { userId = "stranger" },
  { userId = "u05", history = { "b01", "b02" } }, { itemId = "a01" }, { itemId = "b33" }, { itemId = "new1" },
  { userId = "u05", inputList = { "a01", "b01", "zz", "a07" } },
  { userId = "u05", exploration = { weight = 0.5, ageCutOff = 30 } },
}

describe("recipe models after the engine's JSON round trip", function()
  local data = fixtures.communities()
  data.items = fixtures.items()
  for _, name in ipairs({ "aws-user-personalization", "aws-user-personalization-v2", "aws-personalized-ranking",
                          "aws-personalized-ranking-v2", "aws-sims", "aws-similar-items", "aws-semantic-similarity",
                          "aws-trending-now", "aws-popularity-count", "aws-item-affinity",
                          "aws-item-attribute-affinity" }) do
    it(name, function()
      local arn = ARN .. name
      local model = assert(training.train(arn, data, {}))
      local stored = json.decode(json.encode(model))
      for _, req in ipairs(REQUESTS) do
        assert.same(assert(training.recommend(arn, model, req)), assert(training.recommend(arn, stored, req)))
      end
    end)
  end
end)
