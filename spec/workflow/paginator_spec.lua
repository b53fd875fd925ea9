-- Paginators: pages, items, max_items and resume tokens in botocore's
-- format, against a stubbed client and against moto_server.
local personalize = require "personalize"
local paginator = require "personalize.paginator"
local moto = require "support.moto"
local process = require "support.process"

local function new_client(opts)
  opts = opts or {}
  return personalize.client("personalize", {
    region = "us-east-1", max_attempts = 1, endpoint = opts.endpoint,
    credentials = { access_key_id = opts.key or "AKIDSTUB", secret_access_key = opts.secret or "stub-secret" },
  })
end

local function schema(name) return { name = name } end

local function names(list)
  local out = {}
  for i, s in ipairs(list) do out[i] = s.name end
  return out
end

describe("personalize.paginator", function()
  local client, stub

  before_each(function()
    client = new_client()
    stub = personalize.stub(client)
  end)
  after_each(function() stub:deactivate() end)

  -- Three pages: a b | c d | e
  local function three_pages(extra)
    local function p(t)
      local out = {}
      for k, v in pairs(extra or {}) do out[k] = v end
      for k, v in pairs(t) do out[k] = v end
      return out
    end
    stub:add_response("list_schemas", { schemas = { schema "a", schema "b" }, nextToken = "t1" }, p {})
    stub:add_response("list_schemas", { schemas = { schema "c", schema "d" }, nextToken = "t2" }, p { nextToken = "t1" })
    stub:add_response("list_schemas", { schemas = { schema "e" } }, p { nextToken = "t2" })
  end

  it("iterates the pages, passing each nextToken on", function()
    three_pages()
    local pages = {}
    for page in client:paginate("list_schemas", {}) do pages[#pages + 1] = names(page.schemas) end
    assert.are.same({ { "a", "b" }, { "c", "d" }, { "e" } }, pages)
    stub:assert_no_pending()
  end)

  it("iterates the items across pages and collects them all", function()
    three_pages()
    local seen = {}
    for s in client:paginate("ListSchemas"):items() do seen[#seen + 1] = s.name end
    assert.are.same({ "a", "b", "c", "d", "e" }, seen)
    three_pages()
    local all, err = client:paginate("list_schemas"):all()
    assert.is_nil(err)
    assert.are.same({ "a", "b", "c", "d", "e" }, names(all))
    stub:assert_no_pending()
  end)

  it("sets the limit member from page_size and keeps the caller's params", function()
    stub:add_response("list_dataset_groups", { datasetGroups = {}, nextToken = "n1" }, { maxResults = 2 })
    stub:add_response("list_dataset_groups", { datasetGroups = {} }, { maxResults = 2, nextToken = "n1" })
    local params = {}
    assert.are.same({}, client:paginate("list_dataset_groups", params, { page_size = 2 }):all())
    assert.are.same({}, params)
    stub:assert_no_pending()
  end)

  it("uses Filters as ListFilters' result key", function()
    stub:add_response("list_filters", { Filters = { { name = "f1" } }, nextToken = "x" })
    stub:add_response("list_filters", { Filters = { { name = "f2" } } })
    assert.are.same({ "f1", "f2" }, names(client:paginate("list_filters"):all()))
  end)

  it("stops inside a page at max_items with botocore's resume token, and resumes from it", function()
    three_pages()
    local pages = client:paginate("list_schemas", {}, { max_items = 3 })
    assert.are.same({ "a", "b", "c" }, names(pages:all()))
    -- base64 of {"nextToken": "t1", "boto_truncate_amount": 1}, as botocore writes it.
    assert.are.equal("eyJuZXh0VG9rZW4iOiAidDEiLCAiYm90b190cnVuY2F0ZV9hbW91bnQiOiAxfQ==", pages.resume_token)
    assert.are.same({ "ListSchemas" }, stub:pending()) -- the third page was not fetched

    stub = personalize.stub(new_client())
    local c2 = stub.client
    stub:add_response("list_schemas", { schemas = { schema "c", schema "d" }, nextToken = "t2" }, { nextToken = "t1" })
    stub:add_response("list_schemas", { schemas = { schema "e" } }, { nextToken = "t2" })
    local rest = c2:paginate("list_schemas", {}, { starting_token = pages.resume_token }):all()
    assert.are.same({ "d", "e" }, names(rest))
    stub:assert_no_pending()
  end)

  it("gives the next page's token when max_items ends on a page boundary", function()
    three_pages()
    local pages = client:paginate("list_schemas", {}, { max_items = 2 })
    local got = {}
    for page in pages do got[#got + 1] = names(page.schemas) end
    assert.are.same({ { "a", "b" } }, got)
    assert.are.same({ "t1", 0 }, { paginator.parse_token("nextToken", pages.resume_token) })
    assert.are.equal(paginator.base64_encode('{"nextToken": "t1"}'), pages.resume_token)
  end)

  it("resumes inside the first page: no token, items skipped", function()
    stub:add_response("list_schemas", { schemas = { schema "a", schema "b", schema "c" }, nextToken = "t1" }, {})
    local pages = client:paginate("list_schemas", {}, { max_items = 1 })
    assert.are.same({ "a" }, names(pages:all()))
    -- base64 of {"nextToken": null, "boto_truncate_amount": 1}
    assert.are.equal("eyJuZXh0VG9rZW4iOiBudWxsLCAiYm90b190cnVuY2F0ZV9hbW91bnQiOiAxfQ==", pages.resume_token)
    stub:add_response("list_schemas", { schemas = { schema "a", schema "b", schema "c" }, nextToken = "t1" }, {})
    stub:add_response("list_schemas", { schemas = { schema "d" } }, { nextToken = "t1" })
    local again = client:paginate("list_schemas", {}, { starting_token = pages.resume_token, max_items = 2 })
    assert.are.same({ "b", "c" }, names(again:all()))
    -- Counted from the start of the page the resumed listing began in.
    local token, skip = paginator.parse_token("nextToken", again.resume_token)
    assert.are.equal("t1", token)
    assert.are.equal(0, skip)
    assert.are.same({ "d" }, names(client:paginate("list_schemas", {}, { starting_token = again.resume_token }):all()))
    stub:assert_no_pending()
  end)

  it("builds botocore's full result", function()
    three_pages()
    local full = assert(client:paginate("list_schemas", {}, { max_items = 4 }):build_full_result())
    assert.are.same({ "a", "b", "c", "d" }, names(full.schemas))
    assert.are.equal(paginator.base64_encode('{"nextToken": "t2"}'), full.NextToken)
    stub:deactivate()
    stub = personalize.stub(client)
    three_pages()
    full = assert(client:paginate("list_schemas"):build_full_result())
    assert.are.equal(5, #full.schemas)
    assert.is_nil(full.NextToken)
  end)

  it("takes a raw service token as starting_token", function()
    stub:add_response("list_schemas", { schemas = { schema "z" } }, { nextToken = "opaque-token/+=" })
    assert.are.same({ "z" }, names(client:paginate("list_schemas", {}, { starting_token = "opaque-token/+=" }):all()))
  end)

  it("has paging facts that fit every paginated operation's shapes", function()
    local model = require "personalize.models.personalize"
    local count = 0
    for name, p in pairs(model.paginators) do
      count = count + 1
      local op = model.operations[name]
      local input, output = model.shapes[op.input], model.shapes[op.output]
      assert.is_table(input.members[p.input_token], name .. " input token")
      assert.is_table(input.members[p.limit_key], name .. " limit key")
      assert.is_table(output.members[p.output_token], name .. " output token")
      local result = output.members[p.result_key]
      assert.is_table(result, name .. " result key")
      assert.are.equal("list", model.shapes[result.shape].type, name .. " result key type")
    end
    assert.are.equal(16, count)
    assert.are.equal("Filters", model.paginators.ListFilters.result_key)
  end)

  it("round-trips tokens through base64 like Python's json.dumps", function()
    assert.are.equal("eyJuZXh0VG9rZW4iOiAiYS9iK2M9PSJ9", paginator.encode_token("nextToken", "a/b+c=="))
    assert.are.same({ "a/b+c==", 0 }, { paginator.parse_token("nextToken", "eyJuZXh0VG9rZW4iOiAiYS9iK2M9PSJ9") })
    for _, s in ipairs { "", "f", "fo", "foo", "foob", "fooba", "foobar", "\0\255\128" } do
      if s ~= "" then assert.are.equal(s, paginator.base64_decode(paginator.base64_encode(s))) end
    end
    assert.are.equal("Zm9vYg==", paginator.base64_encode("foob"))
    assert.is_nil(paginator.base64_decode("not base64!"))
  end)

  describe("errors", function()
    local function failing_second_page()
      stub:add_response("list_schemas", { schemas = { schema "a" }, nextToken = "t1" })
      stub:add_error("list_schemas", "AccessDeniedException", "no listing for you", 403)
    end

    it("raise the error object from a for loop", function()
      failing_second_page()
      local seen = {}
      local ok, err = pcall(function()
        for page in client:paginate("list_schemas") do seen[#seen + 1] = #page.schemas end
      end)
      assert.is_false(ok)
      assert.are.same({ 1 }, seen)
      assert.is_true(personalize.errors().is_error(err))
      assert.are.equal("AccessDeniedException", err.code)
      assert.are.equal(403, err.status)
    end)

    it("raise from items() too", function()
      failing_second_page()
      local ok, err = pcall(function()
        for _ in client:paginate("list_schemas"):items() do end -- luacheck: ignore 512
      end)
      assert.is_false(ok)
      assert.are.equal("AccessDeniedException", err.code)
    end)

    it("are returned by all(), build_full_result() and next_page()", function()
      failing_second_page()
      local items, err = client:paginate("list_schemas"):all()
      assert.is_nil(items)
      assert.are.equal("AccessDeniedException", err.code)

      failing_second_page()
      local pages = client:paginate("list_schemas")
      assert.are.equal(1, #pages:next_page().schemas)
      local page, perr = pages:next_page()
      assert.is_nil(page)
      assert.are.equal("AccessDeniedException", perr.code)
      assert.are.equal(perr, select(2, pages:next_page()))
      stub:assert_no_pending()
    end)

    it("include the client's parameter validation", function()
      stub:add_response("list_schemas", { schemas = {} })
      local items, err = client:paginate("list_schemas", {}, { page_size = 500 }):all()
      assert.is_nil(items)
      assert.are.equal("ParamValidation", err.code)
      assert.matches("maxResults", err.message, 1, true)
      assert.are.same({ "ListSchemas" }, stub:pending())
    end)

    it("end a listing whose service repeats its token", function()
      stub:add_response("list_schemas", { schemas = { schema "a" }, nextToken = "same" })
      stub:add_response("list_schemas", { schemas = { schema "b" }, nextToken = "same" }, { nextToken = "same" })
      local items, err = client:paginate("list_schemas"):all()
      assert.is_nil(items)
      assert.are.equal("PaginationError", err.code)
      assert.matches("same", err.message, 1, true)
    end)

    it("raise for an operation without a paginator, listing those with one", function()
      local ok, msg = pcall(client.paginate, client, "describe_schema", {})
      assert.is_false(ok)
      assert.matches("describe_schema is not a paginated operation", msg, 1, true)
      assert.matches("list_batch_inference_jobs, list_batch_segment_jobs", msg, 1, true)
      assert.matches("list_solutions", msg, 1, true)
      assert.is_false(pcall(client.paginate, client, "no_such_op"))
    end)

    it("raise for bad options", function()
      assert.is_false(pcall(client.paginate, client, "list_schemas", {}, { page_size = 0 }))
      assert.is_false(pcall(client.paginate, client, "list_schemas", {}, { max_items = 1.5 }))
      assert.is_false(pcall(client.paginate, client, "list_schemas", {}, { starting_token = 7 }))
      assert.is_false(pcall(client.paginate, client, "list_schemas", "params"))
    end)
  end)
end)

describe("personalize.paginator against moto_server", function()
  local peer, client
  local SCHEMA = '{"type":"record","name":"Interactions","namespace":"com.amazonaws.personalize.schema",'
    .. '"fields":[{"name":"USER_ID","type":"string"},{"name":"ITEM_ID","type":"string"},'
    .. '{"name":"TIMESTAMP","type":"long"}],"version":"1.0"}'

  setup(function()
    peer = moto.start()
    if peer then
      client = new_client { endpoint = peer.endpoint, key = "testing", secret = "testing" }
      for _, name in ipairs { "pg-one", "pg-two", "pg-three" } do
        assert(client:create_schema { name = name, schema = SCHEMA })
      end
    end
  end)
  teardown(function() if peer then peer:stop() end end)

  local function sorted(list)
    local n = names(list)
    table.sort(n)
    return n
  end

  it("lists three schemas with page_size 1", function()
    if not peer then return end
    local items, pages = {}, 0
    for page in client:paginate("list_schemas", {}, { page_size = 1 }) do
      pages = pages + 1
      for _, s in ipairs(page.schemas) do items[#items + 1] = s end
    end
    -- moto honours maxResults or sends all three at once; either way
    -- every schema comes exactly once.
    assert.is_true(pages == 1 or pages == 3)
    assert.are.same({ "pg-one", "pg-three", "pg-two" }, sorted(items))
  end)

  it("stops at max_items and resumes from the token, as the aws CLI does", function()
    if not peer then return end
    local pages = client:paginate("list_schemas", {}, { page_size = 1, max_items = 2 })
    local first = assert(pages:all())
    assert.are.equal(2, #first)
    assert.is_string(pages.resume_token)
    local rest = assert(client:paginate("list_schemas", {}, { starting_token = pages.resume_token }):all())
    assert.are.equal(1, #rest)
    local all = {}
    for _, s in ipairs(first) do all[#all + 1] = s end
    all[#all + 1] = rest[1]
    assert.are.same({ "pg-one", "pg-three", "pg-two" }, sorted(all))

    if process.which("aws") then
      local cli = peer:aws { "personalize", "list-schemas", "--max-items", "2", "--page-size", "1" }
      assert.is_true(cli.ok, cli.stderr)
      assert.are.equal(cli.json.NextToken, pages.resume_token)
      local resumed = assert(client:paginate("list_schemas", {}, { starting_token = cli.json.NextToken }):all())
      assert.are.same(names(rest), names(resumed))
    end
  end)
end)
