-- Filters on the tutorial's campaign: leave out what the user already
-- watched, and keep one genre chosen at request time with a parameter.
--
--   lua5.4 examples/filters.lua [USER_ID] [GENRE]      (default 1 Comedy)
--
-- Needs the resources of examples/tutorial.lua (same TUTORIAL_PREFIX and
-- endpoint settings). Filters are created once and reused.
local personalize = require "personalize"

local opts = {
  region = os.getenv("AWS_REGION") or os.getenv("AWS_DEFAULT_REGION") or "us-east-1",
  endpoint = os.getenv("TUTORIAL_ENDPOINT"),
}
local prefix = os.getenv("TUTORIAL_PREFIX") or "personalize-lua-tutorial"
local data_dir = os.getenv("TUTORIAL_DATA") or "data/movielens"
local user = arg and arg[1] or "1"
local genre = arg and arg[2] or "Comedy"

local function check(res, err)
  if res == nil then
    io.stderr:write("filters: ", tostring(err), "\n")
    os.exit(1)
  end
  return res
end

local p = personalize.client("personalize", opts)
local runtime = personalize.client("personalize-runtime", opts)

local group_arn, campaign_arn
for g in p:paginate("list_dataset_groups"):items() do
  if g.name == prefix then group_arn = g.datasetGroupArn end
end
for c in p:paginate("list_campaigns"):items() do
  if c.name == prefix .. "-campaign" then campaign_arn = c.campaignArn end
end
if not (group_arn and campaign_arn) then check(nil, "run examples/tutorial.lua first") end

-- The filter named `name` with `expression`: the existing one, or a new one.
local function filter(name, expression)
  for f in p:paginate("list_filters", { datasetGroupArn = group_arn }):items() do
    if f.name == name then return f.filterArn end
  end
  local arn = check(p:create_filter { name = name, datasetGroupArn = group_arn,
                                      filterExpression = expression }).filterArn
  check(p:wait("filter", arn, { delay = 1 }))
  return arn
end

local unwatched = filter(prefix .. "-unwatched", 'EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("watch")')
local by_genre = filter(prefix .. "-by-genre",
  'INCLUDE ItemID WHERE Items.GENRES IN ($GENRE) | EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("watch")')

local items = personalize.frame.from_csv(data_dir .. "/items.csv", { strings = true })
local function show(title, params)
  params.campaignArn, params.userId, params.numResults = campaign_arn, user, 5
  local recs = personalize.frame.from_result(check(runtime:get_recommendations(params)))
  print(("\n%s (user %s)"):format(title, user))
  if items then recs = recs:join(items, "itemId", "ITEM_ID"):select("itemId", "TITLE", "GENRES") end
  print(recs)
end

show("No filter", {})
show("Not watched yet", { filterArn = unwatched })
-- A parameter's value is a quoted, comma-separated list, as the API wants.
show(genre .. ", not watched yet", { filterArn = by_genre, filterValues = { GENRE = ('"%s"'):format(genre) } })
