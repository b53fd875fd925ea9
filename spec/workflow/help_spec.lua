-- personalize.help: an operation's parameters read from the model.
local personalize = require "personalize"
local help = require "personalize.help"

local unpack = table.unpack or unpack -- luacheck: ignore 113

local function client()
  return personalize.client("personalize", { region = "us-east-1", access_key_id = "AKIDEXAMPLE",
                                             secret_access_key = "secret" })
end

local function lines_of(text)
  local out = {}
  for line in text:gmatch("([^\n]*)\n") do out[#out + 1] = line end
  return out
end

local function index_of(lines, wanted)
  for i, l in ipairs(lines) do
    if l == wanted then return i end
  end
  error("no line " .. wanted, 2)
end

describe("personalize.help", function()
  it("lists create_solution's required parameters first, then optional ones with nested members", function()
    local text = help(client(), "create_solution", { print = false })
    local lines = lines_of(text)
    assert.equal("create_solution (CreateSolution): POST /", lines[1])
    assert.equal("  X-Amz-Target: AmazonPersonalize.CreateSolution", lines[2])
    assert.same({
      "",
      "Required parameters:",
      "  name: string, length 1..63, pattern ^[a-zA-Z0-9][a-zA-Z0-9\\-_]*",
      "  datasetGroupArn: string, length at most 256, pattern arn:([a-z\\d-]+):personalize:.*:.*:.+",
      "",
      "Optional parameters:",
      "  eventType: string, length at most 256",
      "  performAutoML: boolean",
    }, { unpack(lines, 3, 10) })
    local config = index_of(lines, "  solutionConfig: structure SolutionConfig")
    assert.equal("    algorithmHyperParameters: map of string to string, at most 100 entries", lines[config + 1])
    assert.equal("    autoMLConfig: structure AutoMLConfig", lines[config + 2])
    assert.equal("      metricName: string, length at most 256", lines[config + 3])
    -- two levels below the parameter, no deeper
    local hpo = index_of(lines, "    hpoConfig: structure HPOConfig")
    assert.equal("      hpoObjective: structure HPOObjective", lines[hpo + 2])
    assert.equal("      hpoResourceConfig: structure HPOResourceConfig", lines[hpo + 3])
    assert.equal("    optimizationObjective: structure OptimizationObjective", lines[hpo + 4])
    assert.truthy(text:find("objectiveSensitivity: string, one of LOW, MEDIUM, HIGH, OFF\n", 1, true))
    -- list of structure: the element's members, required first
    local tags = index_of(lines, "  tags: list of structure Tag, at most 200 entries")
    assert.matches("^    tagKey: required, string, length 1..128, pattern .*, sensitive$", lines[tags + 1])
    assert.matches("^    tagValue: required, string, length at most 256", lines[tags + 2])
    local returns = index_of(lines, "Returns:")
    assert.same({ "", "Returns:",
      "  solutionArn: string, length at most 256, pattern arn:([a-z\\d-]+):personalize:.*:.*:.+", "",
      "AWS API reference: https://docs.aws.amazon.com/personalize/latest/dg/API_CreateSolution.html",
      'Waiter:    client:wait("solution", solutionArn)' },
      { unpack(lines, returns - 1, #lines) })
  end)

  it("links each operation to its AWS API reference page and names its waiter, paginator and frame", function()
    local function see_also(service, op)
      local text = help(service, op, { print = false })
      return text:match("\n\n(AWS API reference: .*)$")
    end
    assert.equal("AWS API reference: https://docs.aws.amazon.com/personalize/latest/dg/API_DeleteCampaign.html\n"
      .. 'Waiter:    client:wait("campaign_deleted", campaignArn)\n', see_also("personalize", "delete_campaign"))
    assert.equal("AWS API reference: https://docs.aws.amazon.com/personalize/latest/dg/API_ListSolutions.html\n"
      .. 'Paginator: client:paginate("list_solutions", params):all()\n'
      .. 'Frame:     personalize.frame(client:paginate("list_solutions", params):all())\n',
      see_also("personalize", "list_solutions"))
    assert.equal('Waiter:    client:wait("dataset_import_job", datasetImportJobArn)',
      see_also("personalize", "create_dataset_import_job"):match("Waiter:[^\n]*"))
    assert.equal('Waiter:    client:wait("recommender_stopped", recommenderArn)',
      see_also("personalize", "stop_recommender"):match("Waiter:[^\n]*"))
    -- runtime pages are API_RS_<Operation>, events pages API_UBS_<Operation>
    assert.equal("AWS API reference: https://docs.aws.amazon.com/personalize/latest/dg/API_RS_GetRecommendations.html\n"
      .. "Frame:     personalize.frame.from_result(client:get_recommendations{ ... })\n",
      see_also("personalize-runtime", "get_recommendations"))
    assert.equal("AWS API reference: https://docs.aws.amazon.com/personalize/latest/dg/API_UBS_PutEvents.html\n",
      see_also("personalize-events", "put_events"))
    assert.matches("Chart:     personalize.chart.metrics", see_also("personalize", "get_solution_metrics"), 1, true)
    -- every operation of every service has its link
    for _, service in ipairs{ "personalize", "personalize-runtime", "personalize-events" } do
      local model = require("personalize.models." .. service:gsub("-", "_"))
      for api in pairs(model.operations) do
        assert.matches("AWS API reference: https://docs%.aws%.amazon%.com/personalize/latest/dg/API_[A-Z_]*"
          .. api .. "%.html\n", help(service, api, { print = false }))
      end
    end
  end)

  it("names the client that has an operation asked of another one", function()
    local ok, err = pcall(help, client(), "get_recommendations")
    assert.is_false(ok)
    assert.matches('get_recommendations is an operation of personalize-runtime, not of personalize: '
      .. 'personalize.help("personalize-runtime", "get_recommendations")', err, 1, true)
    ok, err = pcall(help, "personalize-events", "create_schema")
    assert.is_false(ok)
    assert.matches("create_schema is an operation of personalize, not of personalize-events", err, 1, true)
  end)

  it("takes the API name, a service name and a depth", function()
    local a = help(client(), "CreateSolution", { print = false })
    assert.equal(a, help("personalize", "create_solution", { print = false }))
    local shallow = help("personalize", "create_solution", { print = false, depth = 0 })
    assert.truthy(shallow:find("\n  solutionConfig: structure SolutionConfig\n  tags:", 1, true))
    local runtime = help("personalize-runtime", "get_recommendations", { print = false })
    assert.matches("^get_recommendations %(GetRecommendations%): POST /recommendations\n\nOptional parameters:\n", runtime)
    assert.truthy(runtime:find("  numResults: integer\n", 1, true))
    assert.truthy(runtime:find("  promotions: list of structure Promotion, at most 1 entry\n" ..
      "    filterArn: string", 1, true))
    assert.truthy(runtime:find("    percentPromotedItems: integer, value 1..100\n", 1, true))
    assert.truthy(runtime:find("Returns:\n  itemList: list of structure PredictedItem\n  recommendationId: string\n", 1, true))
  end)

  it("prints to io.stdout by default, through personalize.help and client:help", function()
    local written = {}
    local real = io.stdout
    io.stdout = { write = function(_, s) written[#written + 1] = s end } -- luacheck: ignore 122
    local ok, err = pcall(function()
      assert.is_nil(personalize.help(client(), "delete_campaign"))
      client():help("delete_campaign")
    end)
    io.stdout = real -- luacheck: ignore 122
    assert(ok, err)
    assert.equal(2, #written)
    assert.equal(written[1], written[2])
    assert.equal("delete_campaign (DeleteCampaign): POST /\n  X-Amz-Target: AmazonPersonalize.DeleteCampaign\n\n" ..
      "Required parameters:\n  campaignArn: string, length at most 256, pattern arn:([a-z\\d-]+):personalize:.*:.*:.+\n\n" ..
      "Returns: nothing but ResponseMetadata.\n\n" ..
      "AWS API reference: https://docs.aws.amazon.com/personalize/latest/dg/API_DeleteCampaign.html\n" ..
      'Waiter:    client:wait("campaign_deleted", campaignArn)\n', written[1])
  end)

  it("raises for an unknown operation, naming the closest ones", function()
    local ok, err = pcall(help, client(), "create_soluton")
    assert.is_false(ok)
    assert.matches('personalize.help: unknown operation "create_soluton"; did you mean create_solution, ', err)
    ok, err = pcall(help, client(), "ListSchema")
    assert.is_false(ok)
    assert.matches("did you mean list_schemas, ", err)
    assert.has_error(function() help(42, "x") end, "personalize.help: a client or a service name expected, got number")
  end)

  it("lists the operations without an operation name", function()
    local text = help(client(), nil, { print = false })
    local lines = lines_of(text)
    assert.equal("Amazon Personalize: " .. (#lines - 1) .. " operations (help(client, name) for one)", lines[1])
    local names = {}
    for i = 2, #lines do names[i - 1] = lines[i]:match("^  ([%w_]+)$") end
    assert.same(client():operations(), names)
    assert.equal("Amazon Personalize Events: 5 operations (help(client, name) for one)\n" ..
      "  put_action_interactions\n  put_actions\n  put_events\n  put_items\n  put_users\n",
      help("personalize-events", nil, { print = false }))
  end)
end)
