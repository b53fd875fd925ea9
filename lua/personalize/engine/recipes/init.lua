-- The recipes of Amazon Personalize, as ListRecipes / DescribeRecipe /
-- DescribeAlgorithm / DescribeFeatureTransformation return them, and the
-- modules of personalize-local that train them.
--
--   recipes.list(domain)                 -- RecipeSummary-like records sorted by name;
--                                         -- domain nil: every recipe, else that domain's
--   recipes.get(recipe_arn)              -- the Recipe record, or nil
--   recipes.module(recipe_arn)           -- the training module, or nil, message
--   recipes.algorithm(algorithm_arn)     -- the Algorithm record, or nil
--   recipes.feature_transformation(arn)  -- the FeatureTransformation record, or nil
--   recipes.register(name, module)       -- plug in a module (table or module name)
--
-- Records are fresh copies: callers may change them freely. They carry the
-- API's member names; the engine's encoder writes only the members of the
-- shape it answers with (so `domain` reaches ListRecipes only).
--
-- A recipe module has
--   module.train(data, config) -> model            (plain, JSON-safe table)
--   module.recommend(model, request) -> { { itemId =, score = }, ... }
--   module.segment(model, request) -> { { userId =, score = }, ... }
--                                       (USER_SEGMENTATION recipes only)
--   module.RECIPES = { [recipe name] = options, ... }   the recipes it trains
-- see personalize.engine.training for the data and request contracts.
-- Options of a recipe: event_type, the event type a domain use case trains
-- on, as the domain guides name it (recipes.DOMAIN_EVENT_TYPE); batch =
-- false when batch inference does not serve it (recipes.batch; the
-- developer guide: no batch recommendations with Trending-Now or
-- Next-Best-Action).
--
-- Every module of this directory with a RECIPES field is one of
-- personalize-local's own (found when this module loads): adding a recipe
-- of the catalog below is writing recipes/<name>.lua and its spec.
--
--   recipes.batch(recipe_arn)            -- false: no batch inference for it
local core = require "personalize.core"

local pairs, ipairs, type, tostring, require, error = pairs, ipairs, type, tostring, require, error
local sort = table.sort
local fmt = string.format

local _M = {}

local RECIPE_PREFIX = "arn:aws:personalize:::recipe/"
local ALGORITHM_PREFIX = "arn:aws:personalize:::algorithm/"
local TRANSFORM_PREFIX = "arn:aws:personalize:::feature-transformation/"

-- Fixed dates (epoch seconds) so that answers never change between runs:
-- the launch of the service, of domain recommenders, and of the newer recipes.
local LAUNCH = 1560902400        -- 2019-06-19
local SIMILAR = 1659398400       -- 2022-08-02
local DOMAIN = 1637020800        -- 2021-11-16
local SEGMENT = 1663113600       -- 2022-09-14
local V2 = 1714521600            -- 2024-05-01

-- name -> recipeType, algorithm, feature transformation, date, description[, domain].
-- Names, types and the ARNs' last parts follow the recipe pages of the
-- Amazon Personalize developer guide where it states them.
local RECIPES = {
  -- Custom recipes (Custom dataset groups, CreateSolution).
  { "aws-user-personalization", "USER_PERSONALIZATION", "aws-user-personalization",
    "JSON-percentile-filtering", LAUNCH,
    "Personalized item recommendations for a user, with exploration of new and less-seen items." },
  { "aws-user-personalization-v2", "USER_PERSONALIZATION", "aws-user-personalization-v2",
    "JSON-percentile-filtering", V2,
    "Transformer-based personalized item recommendations for a user, for catalogs of up to 5 million items." },
  { "aws-personalized-ranking", "PERSONALIZED_RANKING", "aws-personalized-ranking",
    "JSON-percentile-filtering", LAUNCH,
    "Ranks a given list of items by the predicted interest of a user." },
  { "aws-personalized-ranking-v2", "PERSONALIZED_RANKING", "aws-personalized-ranking-v2",
    "JSON-percentile-filtering", V2,
    "Transformer-based ranking of a given list of items for a user." },
  { "aws-similar-items", "RELATED_ITEMS", "aws-similar-items", "similar-items", SIMILAR,
    "Items similar to a given item, from co-occurrence in interactions and item metadata." },
  { "aws-sims", "RELATED_ITEMS", "aws-sims", "sims", LAUNCH,
    "Items similar to a given item, from co-occurrence in user histories (item-to-item collaborative filtering)." },
  { "aws-semantic-similarity", "RELATED_ITEMS", "aws-semantic-similarity", "semantic-similarity", V2,
    "Items semantically similar to a given item, from the text and metadata in the Items dataset." },
  { "aws-popularity-count", "USER_PERSONALIZATION", "aws-popularity-count", "sims", LAUNCH,
    "The items that the most distinct users interacted with; the same list for every user." },
  { "aws-trending-now", "USER_PERSONALIZATION", "aws-trending-now-custom", "trending-now", SIMILAR,
    "Items whose interactions are increasing fastest over recent time intervals." },
  { "aws-next-best-action", "PERSONALIZED_ACTIONS", "aws-next-best-action", "next-best-action", SEGMENT,
    "The actions a user is most likely to take next, from the Actions and Action interactions datasets." },
  { "aws-item-affinity", "USER_SEGMENTATION", "aws-item-affinity", "item-affinity", SEGMENT,
    "Segments of users most likely to interact with each given item." },
  { "aws-item-attribute-affinity", "USER_SEGMENTATION", "aws-item-attribute-affinity",
    "item-attribute-affinity", SEGMENT,
    "Segments of users most likely to interact with items that have given attribute values." },
  -- Domain recipes (use cases of Domain dataset groups, CreateRecommender).
  { "aws-ecomm-customers-who-viewed-x-also-viewed", "RELATED_ITEMS",
    "aws-ecomm-customers-who-viewed-x-also-viewed", "ecomm-customers-who-viewed-x-also-viewed", DOMAIN,
    "Customers who viewed X also viewed: items viewed by users who viewed the given item.", "ECOMMERCE" },
  { "aws-ecomm-frequently-bought-together", "RELATED_ITEMS", "aws-ecomm-frequently-bought-together",
    "ecomm-frequently-bought-together", DOMAIN,
    "Frequently bought together: items bought in the same session as the given item.", "ECOMMERCE" },
  { "aws-ecomm-popular-items-by-purchases", "USER_PERSONALIZATION", "aws-ecomm-popular-items-by-purchases",
    "ecomm-popular-items-by-purchases", DOMAIN,
    "Best sellers: the items purchased by the most users.", "ECOMMERCE" },
  { "aws-ecomm-popular-items-by-views", "USER_PERSONALIZATION", "aws-ecomm-popular-items-by-views",
    "ecomm-popular-items-by-views", DOMAIN,
    "Most viewed: the items viewed by the most users.", "ECOMMERCE" },
  { "aws-ecomm-recommended-for-you", "USER_PERSONALIZATION", "aws-ecomm-recommended-for-you",
    "ecomm-recommended-for-you", DOMAIN,
    "Recommended for you: personalized item recommendations for a user.", "ECOMMERCE" },
  { "aws-vod-because-you-watched-x", "RELATED_ITEMS", "aws-vod-because-you-watched-x",
    "vod-because-you-watched-x", DOMAIN,
    "Because you watched X: videos watched by users who watched the given video.", "VIDEO_ON_DEMAND" },
  { "aws-vod-more-like-x", "RELATED_ITEMS", "aws-vod-more-like-x", "vod-more-like-x", DOMAIN,
    "More like X: videos similar to the given video, from co-occurrence and metadata.", "VIDEO_ON_DEMAND" },
  { "aws-vod-most-popular", "USER_PERSONALIZATION", "aws-vod-most-popular", "vod-most-popular", DOMAIN,
    "Most popular: the videos watched by the most users.", "VIDEO_ON_DEMAND" },
  { "aws-vod-trending-now", "USER_PERSONALIZATION", "aws-vod-trending-now", "vod-trending-now", DOMAIN,
    "Trending now: videos whose watches are increasing fastest.", "VIDEO_ON_DEMAND" },
  { "aws-vod-top-picks", "USER_PERSONALIZATION", "aws-vod-top-picks", "vod-top-picks", DOMAIN,
    "Top picks for you: personalized video recommendations for a user.", "VIDEO_ON_DEMAND" },
}

-- Default hyperparameters the developer guide documents, as the API's
-- string-to-string map.
local HYPERPARAMETERS = {
  ["aws-user-personalization"] = { hidden_dimension = "149", bptt = "32", recency_mask = "true" },
  ["aws-sims"] = { popularity_discount_factor = "0.5", min_cointeraction_count = "3" },
}

-- Recipes personalize-local trains: name -> module (a table once loaded),
-- from the RECIPES field of each module of this directory; and their
-- options (see the header), kept whichever module register() puts in.
local IMPLEMENTED, OPTIONS = {}, {}
_M.DOMAIN_EVENT_TYPE = {}
do
  local source = debug.getinfo(1, "S").source
  local dir = source:match("^@(.*)[/\\][^/\\]*$") or "."
  local files, lerr = core.listdir(dir)
  if not files then error("personalize.engine.recipes: " .. tostring(lerr)) end
  for _, file in ipairs(files) do
    local base = file:match("^([%w_]+)%.lua$")
    if base and base ~= "init" then
      local name = "personalize.engine.recipes." .. base
      local module = require(name)
      for recipe, options in pairs(type(module) == "table" and module.RECIPES or {}) do
        if IMPLEMENTED[recipe] then
          error(fmt("personalize.engine.recipes: %s and %s both train %s", IMPLEMENTED[recipe], name, recipe))
        end
        IMPLEMENTED[recipe], OPTIONS[recipe] = name, options
        _M.DOMAIN_EVENT_TYPE[RECIPE_PREFIX .. recipe] = options.event_type
      end
    end
  end
end

-- What register(name, nil) restores.
local BUILT_IN = {}
for name, module in pairs(IMPLEMENTED) do BUILT_IN[name] = module end

local by_recipe, by_algorithm, by_transform, names = {}, {}, {}, {}
for _, r in ipairs(RECIPES) do
  local name, recipe_type, algorithm, transform, date, description, domain =
    r[1], r[2], r[3], r[4], r[5], r[6], r[7]
  local rec = {
    name = name, recipeArn = RECIPE_PREFIX .. name, algorithmArn = ALGORITHM_PREFIX .. algorithm,
    featureTransformationArn = TRANSFORM_PREFIX .. transform, status = "ACTIVE",
    description = description, recipeType = recipe_type, domain = domain,
    creationDateTime = date, lastUpdatedDateTime = date,
  }
  by_recipe[rec.recipeArn] = rec
  names[#names + 1] = name
  by_algorithm[rec.algorithmArn] = {
    name = algorithm, algorithmArn = rec.algorithmArn,
    algorithmImage = { name = algorithm, dockerURI = "personalize-local/" .. algorithm },
    defaultHyperParameters = HYPERPARAMETERS[name],
    trainingInputMode = "File",
    creationDateTime = date, lastUpdatedDateTime = date,
  }
  -- Several recipes share a feature transformation: keep the oldest date.
  local ft = by_transform[rec.featureTransformationArn]
  if not ft or date < ft.creationDateTime then
    by_transform[rec.featureTransformationArn] = {
      name = transform, featureTransformationArn = rec.featureTransformationArn, status = "ACTIVE",
      creationDateTime = date, lastUpdatedDateTime = date,
    }
  end
end
sort(names)

local function copy(t)
  if type(t) ~= "table" then return t end
  local out = {}
  for k, v in pairs(t) do out[k] = copy(v) end
  return out
end

local function name_of(arn)
  local rec = by_recipe[arn]
  return rec and rec.name
end

function _M.list(domain)
  local out = {}
  for _, name in ipairs(names) do
    local rec = by_recipe[RECIPE_PREFIX .. name]
    if domain == nil or rec.domain == domain then out[#out + 1] = copy(rec) end
  end
  return out
end

function _M.get(arn)
  return copy(by_recipe[arn])
end

function _M.algorithm(arn)
  return copy(by_algorithm[arn])
end

function _M.feature_transformation(arn)
  return copy(by_transform[arn])
end

function _M.module(arn)
  local name = name_of(arn)
  if not name then
    return nil, fmt("Could not find recipe with ARN %s", tostring(arn))
  end
  local impl = IMPLEMENTED[name]
  if impl == nil then
    local supported = {}
    for n in pairs(IMPLEMENTED) do supported[#supported + 1] = n end
    sort(supported)
    return nil, fmt("Recipe %s is not supported by personalize-local yet; the recipes it trains are: %s",
      name, table.concat(supported, ", "))
  end
  if type(impl) == "string" then
    impl = require(impl)
    IMPLEMENTED[name] = impl
  end
  return impl
end

function _M.batch(arn)
  local name = name_of(arn)
  return not (name and OPTIONS[name] and OPTIONS[name].batch == false)
end

-- Registers the module that trains the recipe `name` (a listed recipe):
-- a table, a module name, false (the recipe is then not supported) or nil
-- (back to personalize-local's own module, if any).
-- Raises on misuse: an unknown name or a module without train/recommend.
function _M.register(name, module)
  if not by_recipe[RECIPE_PREFIX .. tostring(name)] then
    error(fmt("recipes.register: unknown recipe %q", tostring(name)), 2)
  end
  if type(module) == "table" then
    if type(module.train) ~= "function" or type(module.recommend) ~= "function" then
      error("recipes.register: a recipe module needs train and recommend functions", 2)
    end
  elseif type(module) ~= "string" and module ~= nil and module ~= false then
    error("recipes.register: module must be a table, a module name, false or nil", 2)
  end
  if module == nil then module = BUILT_IN[name] end
  IMPLEMENTED[name] = module or nil
end

return _M
