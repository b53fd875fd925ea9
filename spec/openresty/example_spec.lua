-- examples/openresty on nginx against personalize-local on loopback: the
-- example's nginx.conf.in and edge.lua as run.sh uses them, and the proof
-- that a slow Personalize answer does not block the (single) worker.
local cjson = require "cjson"
local socket = require "socket"
local engine_server = require "support.engine_server"
local process = require "support.process"
local runner = require "openresty.support.nginx_runner"

local ROOT = engine_server.ROOT
local DATA = ROOT .. "/data/small"

local function ensure_data()
  local f = io.open(DATA .. "/items.csv")
  if f then f:close(); return end
  process.small_data(DATA)
end

-- Titles of data/small/items.csv, through the example's own CSV reader.
local function titles()
  local edge = dofile(ROOT .. "/examples/openresty/edge.lua")
  local t = {}
  local f = assert(io.open(DATA .. "/items.csv"))
  f:read("*l")
  for line in f:lines() do
    local row = edge.csv_fields(line)
    t[row[1]] = row[2]
  end
  f:close()
  return t
end

local q = process.shell_quote

local function is_root()
  local p = io.popen("id -u")
  local uid = p:read("*l")
  p:close()
  return uid == "0"
end

-- The example's nginx.conf for a checkout at `root` on `port`, as run.sh
-- writes it (the runner keeps the workers root when the spec runs as root,
-- as run.sh does: nobody cannot read a clone in a private directory).
local function render_conf(root, port)
  return (assert(io.open(ROOT .. "/examples/openresty/nginx.conf.in")):read("*a")
    :gsub("@ROOT@", root):gsub("@PORT@", tostring(port)))
end

describe("examples/openresty on nginx", function()
  if not runner.available() then return end
  local engine, ng, port, settings

  setup(function()
    ensure_data()
    engine = engine_server.start {
      timings = { pending = 0.05, in_progress = 0.1 },
      lua_path = ROOT .. "/spec/openresty/hooks/?.lua",
    }
    local opts = engine.client_opts()
    opts.data_dir = DATA
    settings = dofile(ROOT .. "/examples/openresty/setup.lua")(opts)
    port = process.free_port()
    ng = runner.start(render_conf(ROOT, port), { ports = { port }, env = {
      AWS_REGION = engine.region, AWS_ENDPOINT_URL = engine.endpoint,
      AWS_ACCESS_KEY_ID = engine.access_key_id, AWS_SECRET_ACCESS_KEY = engine.secret_access_key,
      CAMPAIGN_ARN = settings.campaign_arn, TRACKING_ID = settings.tracking_id,
      ITEMS_CSV = DATA .. "/items.csv",
    } })
  end)

  teardown(function()
    if ng then ng.stop() end
    if engine then engine.stop() end
  end)

  local function get(path)
    local status, body = runner.request(port, "GET", path)
    return status, cjson.decode(body)
  end

  it("answers GET /recommendations with the campaign's items and their titles", function()
    local status, doc = get("/recommendations?user=1&n=5")
    assert.are.equal(200, status)
    assert.are.equal("1", doc.userId)
    assert.are.equal(5, #doc.items)
    local known = titles()
    for _, item in ipairs(doc.items) do
      assert.is_string(item.itemId)
      assert.is_number(item.score)
      assert.are.equal(known[item.itemId], item.title)
    end
    -- the same answer the client gives outside nginx
    local runtime = require("personalize").client("personalize-runtime", engine.client_opts())
    local direct = assert(runtime:get_recommendations { campaignArn = settings.campaign_arn, userId = "1",
                                                        numResults = 5 })
    for i, item in ipairs(direct.itemList) do assert.are.equal(item.itemId, doc.items[i].itemId) end
  end)

  it("refuses bad parameters with 400 and passes Personalize's own errors on", function()
    local status, doc = get("/recommendations?n=5")
    assert.are.equal(400, status)
    assert.matches("user=ID", doc.message)
    status = get("/recommendations?user=1&n=0")
    assert.are.equal(400, status)
    status, doc = get("/recommendations?user=1&n=101")
    assert.are.equal(400, status)
    assert.matches("from 1 to 100", doc.message)
  end)

  it("forwards POSTed events to the tracker in batches", function()
    local events = {}
    for i = 1, 12 do events[i] = { itemId = tostring(i), eventType = "click" } end
    local status, body = runner.request(port, "POST", "/events",
      cjson.encode { userId = "7", sessionId = "spec-session", events = events },
      { ["Content-Type"] = "application/json" })
    assert.are.equal(202, status, body)
    assert.are.equal(12, cjson.decode(body).accepted)
    -- the first ten went at once (a full batch); the timer sends the rest
    local _, stats = get("/events/stats")
    assert.are.equal(10, stats.sent)
    local deadline = socket.gettime() + 5
    while stats.sent < 12 and socket.gettime() < deadline do
      socket.sleep(0.2)
      _, stats = get("/events/stats")
    end
    assert.are.equal(12, stats.sent)
    assert.are.equal(2, stats.calls)
    assert.are.equal(0, stats.failed)
    -- an event the model refuses is reported, not buffered
    status, body = runner.request(port, "POST", "/events",
      cjson.encode { userId = "7", sessionId = "spec-session", eventType = string.rep("x", 300) })
    assert.are.equal(400, status)
    assert.matches("eventType", body)
  end)

  it("names the env directive when nginx was started without AWS_REGION", function()
    local bare_port = process.free_port()
    local bare = runner.start(render_conf(ROOT, bare_port), { ports = { bare_port }, env = {
      CAMPAIGN_ARN = settings.campaign_arn, ITEMS_CSV = DATA .. "/items.csv" } })
    local status, body = runner.request(bare_port, "GET", "/recommendations?user=1")
    bare.stop()
    assert.are.equal(500, status)
    local doc = cjson.decode(body)
    assert.are.equal("Misconfigured", doc.error)
    assert.matches("env AWS_REGION;", doc.message, 1, true)
  end)

  it("serves from a checkout in a private (0700) directory, as root", function()
    if not is_root() then return pending("runs as root only: the case of a clone under /root") end
    local private = os.tmpname()
    os.remove(private)
    assert(os.execute("mkdir -m 700 " .. q(private)))
    local copy = private .. "/lua-personalize"
    -- what the workers read: the Lua files, the LuaJIT core, the example and the titles
    assert(os.execute(("mkdir -p %s/build %s/examples %s/data && cp -r %s/lua %s/ && cp -r %s/build/luajit %s/build/ "
      .. "&& cp -r %s/examples/openresty %s/examples/ && cp -r %s %s/data/"):format(
      q(copy), q(copy), q(copy), q(ROOT), q(copy), q(ROOT), q(copy), q(ROOT), q(copy), q(DATA), q(copy))))
    local private_port = process.free_port()
    local priv = runner.start(render_conf(copy, private_port), { ports = { private_port }, env = {
      AWS_REGION = engine.region, AWS_ENDPOINT_URL = engine.endpoint,
      AWS_ACCESS_KEY_ID = engine.access_key_id, AWS_SECRET_ACCESS_KEY = engine.secret_access_key,
      CAMPAIGN_ARN = settings.campaign_arn, TRACKING_ID = settings.tracking_id,
      ITEMS_CSV = copy .. "/data/small/items.csv",
    } })
    local status, body = runner.request(private_port, "GET", "/recommendations?user=1&n=3")
    local log = priv.log()
    priv.stop()
    os.execute("rm -rf " .. q(private))
    assert.are.equal(200, status, body .. "\n" .. log)
    local doc = cjson.decode(body)
    assert.are.equal(3, #doc.items)
    assert.is_string(doc.items[1].title)
  end)

  it("answers other requests while one waits on a slow Personalize (one worker)", function()
    local started = socket.gettime()
    local slow = runner.open(port, "GET", "/recommendations?user=slow-user&n=3")
    socket.sleep(0.3)
    local t0 = socket.gettime()
    local status, doc = get("/recommendations?user=1&n=3")
    local fast_took = socket.gettime() - t0
    assert.are.equal(200, status)
    assert.are.equal(3, #doc.items)
    assert.is_true(fast_took < 1.5, ("the fast request took %.2f s"):format(fast_took))
    status = runner.request(port, "GET", "/events/stats")
    assert.are.equal(200, status)
    local slow_status, slow_body = slow:read()
    local slow_took = socket.gettime() - started
    assert.are.equal(200, slow_status, slow_body)
    assert.is_true(slow_took >= 2.5, ("the slow request took %.2f s: was the delay hook loaded?"):format(slow_took))
    -- the fast answers came back while the slow one was still waiting
    assert.is_true(t0 + fast_took < started + slow_took - 1)
  end)
end)

describe("examples/openresty/run.sh", function()
  if not runner.available() then return end

  it("starts personalize-local on a free port, sets up a campaign and serves until stopped", function()
    ensure_data()
    local work = os.tmpname()
    os.remove(work)
    local port = process.free_port()
    local run = process.spawn({ "sh", ROOT .. "/examples/openresty/run.sh" }, { env = {
      PORT = tostring(port), WORK = work, ENGINE_PORT = "",
      AWS_CONFIG_FILE = "/dev/null", AWS_SHARED_CREDENTIALS_FILE = "/dev/null" } })
    local ok, err = pcall(run.wait_port, run, port, 120)
    local out = run:output()
    assert(ok, tostring(err) .. "\n" .. out)
    local engine_port = tonumber(out:match("personalize%-local: http://127%.0%.0%.1:(%d+)"))
    assert.truthy(engine_port, out)
    assert.are_not.equal(8642, engine_port)
    local status, body = runner.request(port, "GET", "/recommendations?user=1&n=2")
    run:stop()
    assert.are.equal(200, status, body)
    assert.are.equal(2, #cjson.decode(body).items)
    -- stopping it stopped nginx and personalize-local
    for _ = 1, 50 do
      if not process.port_open(port) and not process.port_open(engine_port) then break end
      socket.sleep(0.1)
    end
    assert.is_false(process.port_open(port))
    assert.is_false(process.port_open(engine_port))
    os.execute("rm -rf " .. q(work))
  end)
end)
