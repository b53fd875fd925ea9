-- personalize.json: bodies written exactly as the API expects them, from
-- the real models, and response bodies read back.
local json = require "personalize.json"
local cjson = require "cjson"

local control = require "personalize.models.personalize"
local runtime = require "personalize.models.personalize_runtime"
local events = require "personalize.models.personalize_events"

local ARN = "arn:aws:personalize:us-east-1:123456789012:campaign/movies"

local function event(fields)
  local e = { eventType = "click", sentAt = 1700000000 }
  for k, v in pairs(fields or {}) do e[k] = v end
  return e
end

local function put_events(fields)
  return json.encode(events, "PutEventsRequest",
    { trackingId = "t", sessionId = "s", eventList = { event(fields) } })
end

describe("personalize.json", function()
  describe("encode", function()
    it("writes an empty list as []", function()
      assert.are.equal('{"resourceArn":"' .. ARN .. '","tagKeys":[]}',
        json.encode(control, "UntagResourceRequest", { resourceArn = ARN, tagKeys = {} }))
    end)

    it("writes an empty map as {}", function()
      assert.are.equal('{"context":{}}', json.encode(runtime, "GetRecommendationsRequest", { context = {} }))
    end)

    it("writes an empty structure as {}", function()
      assert.are.equal("{}", json.encode(control, "ListSchemasRequest", {}))
      assert.are.equal("{}", json.encode(control, "ListSchemasRequest", nil))
      assert.are.equal('{"campaignArn":"' .. ARN .. '","campaignConfig":{}}',
        json.encode(control, "UpdateCampaignRequest", { campaignArn = ARN, campaignConfig = {} }))
    end)

    it("sorts members and map keys", function()
      assert.are.equal('{"context":{"a":"1","b":"2","c":"3"},"numResults":5,"userId":"u"}',
        json.encode(runtime, "GetRecommendationsRequest",
          { userId = "u", context = { c = "3", a = "1", b = "2" }, numResults = 5 }))
    end)

    it("gives the same bytes for the same parameters", function()
      local params = { userId = "u", filterValues = {} }
      for i = 1, 25 do params.filterValues["k" .. i] = '"v' .. i .. '"' end
      local first = json.encode(runtime, "GetRecommendationsRequest", params)
      for _ = 1, 5 do
        local copy = { userId = "u", filterValues = {} }
        for i = 25, 1, -1 do copy.filterValues["k" .. i] = '"v' .. i .. '"' end
        assert.are.equal(first, json.encode(runtime, "GetRecommendationsRequest", copy))
      end
    end)

    it("leaves out keys that are not members", function()
      assert.are.equal('{"userId":"u"}',
        json.encode(runtime, "GetRecommendationsRequest", { userId = "u", extra = "x" }))
    end)

    it("writes integers without .0", function()
      assert.are.equal('{"numResults":25}', json.encode(runtime, "GetRecommendationsRequest", { numResults = 25 }))
      assert.are.equal('{"numResults":25}', json.encode(runtime, "GetRecommendationsRequest", { numResults = 25.0 }))
      assert.are.equal('{"maxResults":100}', json.encode(control, "ListSchemasRequest", { maxResults = 1e2 }))
    end)

    it("writes whole timestamps as integers", function()
      assert.truthy(put_events { sentAt = 1700000000.0 }:find('"sentAt":1700000000}', 1, true))
    end)

    it("writes doubles that read back exactly", function()
      for _, v in ipairs { 0.1, 1e-7, 0.25, -1.5, 1 / 3, 1e300, 123456789.123456789, 2 ^ 60 + 0.0 } do
        local body = put_events { eventValue = v }
        local doc = cjson.decode(body)
        assert.are.equal(v, doc.eventList[1].eventValue)
        assert.is_nil(json.encode_number(v):find("[^%d%.eE+-]"))
      end
    end)

    it("writes short doubles where they exist", function()
      assert.are.equal("0.1", json.encode_number(0.1))
      assert.are.equal("1e-07", json.encode_number(1e-7))
      assert.are.equal("-1.5", json.encode_number(-1.5))
    end)

    it("raises on numbers JSON cannot hold", function()
      assert.has_error(function() json.encode_number(math.huge) end)
      assert.has_error(function() json.encode_number(-math.huge) end)
      assert.has_error(function() json.encode_number(0 / 0) end)
    end)

    it("writes booleans", function()
      assert.are.equal('{"datasetGroupArn":"g","name":"s","performAutoML":false,"performHPO":true}',
        json.encode(control, "CreateSolutionRequest",
          { name = "s", datasetGroupArn = "g", performHPO = true, performAutoML = false }))
    end)

    describe("strings", function()
      local function user_id(s)
        local body = json.encode(runtime, "GetRecommendationsRequest", { userId = s })
        return body:match('^{"userId":(.*)}$'), body
      end

      it("keeps '/' unescaped", function()
        assert.are.equal('"' .. ARN .. '"', user_id(ARN))
        assert.are.equal('"a//b/"', user_id("a//b/"))
      end)

      it("escapes quotes and backslashes", function()
        assert.are.equal([["say \"hi\""]], user_id('say "hi"'))
        assert.are.equal([["C:\\dir\\"]], user_id("C:\\dir\\"))
        -- A backslash before a '/': both survive.
        assert.are.equal([["\\/"]], user_id("\\/"))
      end)

      it("escapes control characters", function()
        assert.are.equal([["a\nb\tc\r\u0001\u001f\u0000"]], user_id("a\nb\tc\r\1\31\0"))
      end)

      it("passes UTF-8 through", function()
        assert.are.equal('"caf\195\169 \226\130\172 \240\159\152\128"', user_id("caf\195\169 \226\130\172 \240\159\152\128"))
      end)

      it("round-trips every byte 1 to 127 and some UTF-8", function()
        local bytes = {}
        for b = 1, 127 do bytes[#bytes + 1] = string.char(b) end
        local s = table.concat(bytes) .. "\195\169\226\130\172\240\159\152\128/\\/"
        local _, body = user_id(s)
        assert.are.equal(s, cjson.decode(body).userId)
      end)
    end)

    describe("jsonvalue members (properties)", function()
      it("encode a table as a JSON document inside a string", function()
        local body = put_events { properties = { color = "red" } }
        assert.truthy(body:find([["properties":"{\"color\":\"red\"}"]], 1, true), body)
        local doc = cjson.decode(body)
        assert.are.equal("string", type(doc.eventList[1].properties))
        assert.are.same({ color = "red" }, cjson.decode(doc.eventList[1].properties))
      end)

      it("sort keys, nested ones too", function()
        local body = put_events { properties = { b = 2, a = { z = 1, y = { 3, 2, 1 } }, c = "x/y" } }
        assert.truthy(body:find(
          [["properties":"{\"a\":{\"y\":[3,2,1],\"z\":1},\"b\":2,\"c\":\"x/y\"}"]], 1, true), body)
      end)

      it("give the same bytes whatever the insertion order", function()
        local a, b = {}, {}
        for i = 1, 30 do a["key" .. i] = i end
        for i = 30, 1, -1 do b["key" .. i] = i end
        assert.are.equal(put_events { properties = a }, put_events { properties = b })
      end)

      it("write arrays, empty tables, numbers, booleans and json.null", function()
        local body = put_events { properties = { list = { 1, 2.5, "x" }, empty = {}, yes = true,
                                                 none = json.null, tiny = 1e-7 } }
        local props = cjson.decode(cjson.decode(body).eventList[1].properties)
        assert.are.same({ 1, 2.5, "x" }, props.list)
        assert.are.same({}, props.empty)
        assert.is_true(props.yes)
        assert.are.equal(cjson.null, props.none)
        assert.are.equal(1e-7, props.tiny)
      end)

      it("pass a string through as the document", function()
        local body = put_events { properties = '{"color": "red"}' }
        assert.truthy(body:find([["properties":"{\"color\": \"red\"}"]], 1, true), body)
      end)

      it("raise on values JSON cannot hold", function()
        local ok, err = pcall(put_events, { properties = { f = print } })
        assert.is_false(ok)
        assert.matches("cannot encode properties as JSON", err)
        local loop = {}
        loop.self = loop
        ok, err = pcall(put_events, { properties = loop })
        assert.is_false(ok)
        assert.matches("cannot encode properties as JSON", err)
      end)
    end)

    it("writes a whole PutEvents body exactly", function()
      local body = json.encode(events, "PutEventsRequest", {
        trackingId = "tracking-1", sessionId = "session-1", userId = "user-1",
        eventList = {
          { eventType = "watch", sentAt = 1700000000, itemId = "item-1", eventValue = 4.5,
            impression = { "item-1", "item-2" }, properties = { numRatings = 3 } },
          { eventId = "e2", eventType = "click", sentAt = 1700000001.5 },
        },
      })
      assert.are.equal('{"eventList":['
        .. '{"eventType":"watch","eventValue":4.5,"impression":["item-1","item-2"],"itemId":"item-1",'
        .. '"properties":"{\\"numRatings\\":3}","sentAt":1700000000},'
        .. '{"eventId":"e2","eventType":"click","sentAt":1700000001.5}],'
        .. '"sessionId":"session-1","trackingId":"tracking-1","userId":"user-1"}', body)
    end)
  end)

  describe("decode", function()
    it("parses objects", function()
      assert.are.same({ a = 1, b = { "x", "y" }, c = { d = true } },
        json.decode('{"a":1,"b":["x","y"],"c":{"d":true}}'))
    end)

    it("drops JSON null at every level", function()
      local v = json.decode('{"a":null,"b":{"c":null,"d":1},"e":[{"f":null}]}')
      assert.is_nil(v.a)
      assert.are.same({ d = 1 }, v.b)
      assert.are.same({ {} }, v.e)
      assert.are.same({ b = { d = 1 }, e = { {} } }, v)
    end)

    it("gives an empty table for an empty body", function()
      assert.are.same({}, json.decode(""))
      assert.are.same({}, json.decode(nil))
    end)

    it("returns nil and a message on garbage", function()
      local v, err = json.decode("<html>502 Bad Gateway</html>")
      assert.is_nil(v)
      assert.is_string(err)
      v, err = json.decode('{"a":')
      assert.is_nil(v)
      assert.is_string(err)
    end)

    it("reads what encode wrote", function()
      local params = { userId = "u/1", numResults = 7, context = { DEVICE = "ph\"one" } }
      assert.are.same(params, json.decode(json.encode(runtime, "GetRecommendationsRequest", params)))
    end)
  end)
end)
