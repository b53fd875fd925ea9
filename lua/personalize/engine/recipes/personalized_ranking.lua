-- aws-personalized-ranking (and -v2): the user-personalization model of
-- personalize-local, asked to order a given list.
--
--   local model = personalized_ranking.train(data, config)
--   local list = personalized_ranking.recommend(model, request)
--
-- request.inputList is ranked for request.userId; scores are a softmax
-- over the list (they sum to 1 over the whole list). Items the model does
-- not know come last, in their input order. Without an inputList (the
-- metrics harness) the whole catalogue is ranked, as user-personalization
-- recommends it.
local user_personalization = require "personalize.engine.recipes.user_personalization"

local type = type

local _M = { name = "aws-personalized-ranking", MODEL_VERSION = user_personalization.MODEL_VERSION }
-- The recipes it trains, read by recipes/init.lua (options there).
_M.RECIPES = { ["aws-personalized-ranking"] = {}, ["aws-personalized-ranking-v2"] = {} }

function _M.train(data, config)
  return user_personalization.train(data, config, _M.name)
end

function _M.recommend(model, request)
  request = request or {}
  if type(request.inputList) ~= "table" then return user_personalization.recommend(model, request) end
  return user_personalization.rank(model, request)
end

return _M
