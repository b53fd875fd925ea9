-- The events batcher on a stubbed personalize-events client: batch sizes,
-- what each PutEvents call carries, local validation, failed batches.
local personalize = require "personalize"
local batcher_module = require "personalize.events_batcher"

local function new_events_client()
  return personalize.client("personalize-events", {
    region = "us-east-1", max_attempts = 1,
    credentials = { access_key_id = "AKIDSTUB", secret_access_key = "stub-secret" },
  })
end

describe("personalize.events_batcher", function()
  local client, stub, clock

  before_each(function()
    client = new_events_client()
    stub = personalize.stub(client)
    clock = 1700000000
  end)
  after_each(function() stub:deactivate() end)

  local function new_batcher(extra)
    local opts = { trackingId = "tracking-1", sessionId = "session-1", userId = "user-1",
                   now = function() return clock end }
    for k, v in pairs(extra or {}) do opts[k] = v end
    return personalize.events_batcher(client, opts)
  end

  local function click(i)
    return { eventType = "click", itemId = "item-" .. i, sentAt = 1000 + i }
  end

  local function expect_batch(from, to)
    local list = {}
    for i = from, to do list[#list + 1] = click(i) end
    stub:add_response("put_events", {}, {
      trackingId = "tracking-1", sessionId = "session-1", userId = "user-1", eventList = list,
    })
  end

  it("sends 23 events in three PutEvents calls of 10, 10 and 3", function()
    expect_batch(1, 10)
    expect_batch(11, 20)
    expect_batch(21, 23)
    local b = new_batcher()
    for i = 1, 23 do
      assert.is_true(b:put(click(i)))
      if i == 10 or i == 20 then
        assert.are.equal(0, b:pending())
        assert.are.equal(i, b.sent)
      end
    end
    assert.are.equal(3, b:pending())
    assert.are.equal(2, b.calls)
    assert.is_true(b:close())
    assert.are.equal(23, b.sent)
    assert.are.equal(3, b.calls)
    assert.are.same({}, b:failed())
    stub:assert_no_pending()
    assert.are.same({ 10, 10, 3 }, { #stub.calls[1].params.eventList, #stub.calls[2].params.eventList,
                                     #stub.calls[3].params.eventList })
  end)

  it("is the module called as a function", function()
    assert.are.equal(batcher_module, personalize.events_batcher)
    assert.are.equal(10, new_batcher().max_batch)
  end)

  it("honours a smaller max_batch", function()
    expect_batch(1, 3)
    expect_batch(4, 6)
    expect_batch(7, 7)
    local b = new_batcher { max_batch = 3 }
    for i = 1, 7 do assert(b:put(click(i))) end
    assert(b:flush())
    assert.are.equal(3, b.calls)
    stub:assert_no_pending()
  end)

  it("sets sentAt to now and encodes a properties table as JSON", function()
    stub:add_response("put_events", {})
    local b = new_batcher()
    local event = { eventType = "purchase", itemId = "i", eventValue = 9.5, properties = { numberOfRatings = "3" } }
    assert(b:put(event))
    assert(b:flush())
    local sent = stub.calls[1].params.eventList[1]
    assert.are.equal(clock, sent.sentAt)
    assert.are.equal('{"numberOfRatings":"3"}', sent.properties)
    assert.are.equal(9.5, sent.eventValue)
    -- The caller's table is left alone.
    assert.is_nil(event.sentAt)
    assert.is_table(event.properties)
  end)

  it("keeps a properties string as given", function()
    stub:add_response("put_events", {})
    local b = new_batcher()
    assert(b:put { eventType = "click", sentAt = 5, properties = '{"a":"b"}' })
    assert(b:close())
    assert.are.equal('{"a":"b"}', stub.calls[1].params.eventList[1].properties)
  end)

  it("sends no call when there is nothing to flush", function()
    local b = new_batcher()
    assert.is_true(b:flush())
    assert.is_true(b:close())
    assert.are.equal(0, b.calls)
  end)

  it("rejects invalid events locally with clear messages", function()
    local b = new_batcher()
    local res, err = b:put { itemId = "x" }
    assert.is_nil(res)
    assert.are.equal("ParamValidation", err.code)
    assert.matches("eventType: missing required member", err.message, 1, true)

    res, err = b:put { eventType = "click", sentAt = "yesterday" }
    assert.is_nil(res)
    assert.matches("sentAt: expected a number", err.message, 1, true)

    res, err = b:put { eventType = "click", sessionId = "other" }
    assert.is_nil(res)
    assert.matches("sessionId: unknown member", err.message, 1, true)

    res, err = b:put { eventType = ("x"):rep(300) }
    assert.is_nil(res)
    assert.matches("eventType: length 300 is above the maximum", err.message, 1, true)

    res, err = b:put "click"
    assert.is_nil(res)
    assert.matches("an event must be a table, got string", err.message, 1, true)

    res, err = b:put { eventType = "click", properties = { f = function() end } }
    assert.is_nil(res)
    assert.matches("properties: cannot be encoded as JSON", err.message, 1, true)

    assert.are.equal(0, b:pending())
    assert.are.same({}, b:failed())
  end)

  it("keeps the events of a failed batch with their error and goes on", function()
    expect_batch(1, 10)
    stub:add_error("put_events", "InvalidInputException", "tracking id not found")
    expect_batch(21, 23)
    local b = new_batcher()
    for i = 1, 19 do assert.is_true(b:put(click(i))) end
    local ok, err = b:put(click(20))
    assert.is_nil(ok)
    assert.are.equal("InvalidInputException", err.code)
    for i = 21, 23 do assert.is_true(b:put(click(i))) end
    assert.is_true(b:close())
    local failed = b:failed()
    assert.are.equal(10, #failed)
    for i, f in ipairs(failed) do
      assert.are.equal("item-" .. (10 + i), f.event.itemId)
      assert.are.equal(err, f.error)
    end
    assert.are.equal(13, b.sent)
    assert.are.equal(3, b.calls)
    assert.matches("10 failed", tostring(b), 1, true)
    stub:assert_no_pending()
  end)

  it("returns the error of a failing flush", function()
    stub:add_error("put_events", "ThrottlingException", "slow down", 400)
    local b = new_batcher()
    assert(b:put(click(1)))
    local ok, err = b:close()
    assert.is_nil(ok)
    assert.are.equal("ThrottlingException", err.code)
    assert.are.equal(1, #b:failed())
  end)

  it("raises on a put after close and on bad options", function()
    local b = new_batcher()
    b:close()
    assert.has_error(function() b:put(click(1)) end, "personalize.events_batcher: put after close")
    assert.has_error(function() new_batcher { max_batch = 11 } end)
    assert.has_error(function() new_batcher { max_batch = 0 } end)
    assert.has_error(function() new_batcher { trackingId = false } end)
    assert.has_error(function() personalize.events_batcher(client, { trackingId = "t" }) end)
    local control = personalize.client("personalize", {
      region = "us-east-1", credentials = { access_key_id = "A", secret_access_key = "B" } })
    assert.has_error(function()
      personalize.events_batcher(control, { trackingId = "t", sessionId = "s" })
    end, "personalize.events_batcher: a personalize-events client expected")
  end)
end)
