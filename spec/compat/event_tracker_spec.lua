-- Event trackers are ready within AWS's one-minute sleep. AWS's code
-- sleeps one minute after CreateEventTracker and then sends events
-- (amazon-personalize-samples trending_now_example.ipynb), and deletes a
-- tracker two one-minute sleeps after creating it (getting_started
-- 99.Cleanup), while its clean-up module deletes trackers only when ACTIVE
-- and raises otherwise. So on AWS a tracker is ACTIVE within a minute: at
-- the engine's default timings it is CREATE PENDING for `pending` seconds,
-- then ACTIVE, the way dataset groups are.
local support = require "support.engine_local"
local engine = require "personalize.engine"

describe("personalize-local event trackers", function()
  local env
  before_each(function() env = support.new { timings = engine.DEFAULT_TIMINGS } end)
  after_each(function() env.close() end)

  it("are ACTIVE after a moment of CREATE PENDING and can then be deleted", function()
    local p = env.personalize
    local group = assert(p:create_dataset_group { name = "g" }).datasetGroupArn
    env.advance(engine.DEFAULT_TIMINGS.pending)
    local tracker = assert(p:create_event_tracker { name = "t", datasetGroupArn = group }).eventTrackerArn
    assert.equal("CREATE PENDING", assert(p:describe_event_tracker { eventTrackerArn = tracker }).eventTracker.status)
    env.advance(engine.DEFAULT_TIMINGS.pending + 0.1)
    assert.equal("ACTIVE", assert(p:describe_event_tracker { eventTrackerArn = tracker }).eventTracker.status)
    assert(p:delete_event_tracker { eventTrackerArn = tracker })
  end)
end)
