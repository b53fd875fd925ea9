-- put_events to an Interactions schema with an IMPRESSION field, as AWS's
-- exploration notebook (amazon-personalize-samples
-- user-personalization-with-exploration) sends them: one click with
-- recommendationId and an `impression` list, then ten clicks with neither.
-- The API reference lists `impression` as optional in every event (Event:
-- "Required: No") and implicit impressions come from a recommendationId,
-- so an event without one is accepted even when the schema's IMPRESSION is
-- a non-null string; an `impression` list fills the field as the bulk CSV
-- writes it (item ids joined with "|").
local support = require "support.engine_local"

local SCHEMA = [[{"type":"record","name":"Interactions","namespace":"com.amazonaws.personalize.schema",
"fields":[{"name":"EVENT_TYPE","type":"string"},{"name":"IMPRESSION","type":"string"},
{"name":"ITEM_ID","type":"string"},{"name":"TIMESTAMP","type":"long"},{"name":"USER_ID","type":"string"}],
"version":"1.0"}]]

describe("personalize-local put_events with impressions", function()
  local env
  before_each(function() env = support.new() end)
  after_each(function() env.close() end)

  it("takes an impression list, and events without one", function()
    local p = env.personalize
    local group = assert(p:create_dataset_group { name = "g" }).datasetGroupArn
    env.settle()
    local schema = assert(p:create_schema { name = "s", schema = SCHEMA }).schemaArn
    assert(p:create_dataset { name = "i", schemaArn = schema, datasetGroupArn = group, datasetType = "Interactions" })
    local tracking = assert(p:create_event_tracker { name = "t", datasetGroupArn = group }).trackingId
    env.settle()
    assert(env.events:put_events { trackingId = tracking, userId = "101", sessionId = "1", eventList = {
      { sentAt = 1700000000.25, eventType = "click", itemId = "7", recommendationId = "RID-1",
        impression = { "7", "8", "9" } } } })
    local ten = {}
    for k = 1, 10 do ten[k] = { sentAt = 1700000001 + k, eventType = "click", itemId = tostring(239 + k) } end
    assert(env.events:put_events { trackingId = tracking, userId = "101", sessionId = "1", eventList = ten })
  end)
end)
