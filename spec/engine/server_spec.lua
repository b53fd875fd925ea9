-- bin/personalize-local: the engine served by nginx. Real nginx processes
-- on loopback ports; the real engine through our clients and the AWS CLI,
-- and a fake engine (spec/support/fake_engine) to see exactly what the
-- adapter hands over and writes back.
local socket = require "socket"
local client = require "personalize.client"
local process = require "support.process"
local engine_server = require "support.engine_server"

local FAKE_PATH = engine_server.ROOT .. "/spec/support/fake_engine/?.lua"

local function temp_dir(tag)
  local p = io.popen("mktemp -d /tmp/personalize-server-" .. (tag or "spec") .. "-XXXXXX")
  local d = p:read("*l")
  p:close()
  return d
end

local function rm(dir) os.execute("rm -rf " .. process.shell_quote(dir)) end

-- nginx processes whose command line names `dir`'s conf (masters), plus
-- anything listening on `port`.
local function nginx_left(dir)
  local p = io.popen("ps -eo pid=,args=")
  local found = {}
  for line in p:lines() do
    if line:find(dir .. "/run/nginx.conf", 1, true) and line:find("nginx", 1, true) then found[#found + 1] = line end
  end
  p:close()
  return found
end

-- A raw HTTP/1.1 request: status, headers (lowercase names; repeated ones
-- as given last), body.
local function http(port, method, target, headers, body)
  local c = socket.tcp()
  c:settimeout(30)
  assert(c:connect("127.0.0.1", port))
  local lines = { ("%s %s HTTP/1.1"):format(method, target), "Host: 127.0.0.1:" .. port, "Connection: close" }
  for _, h in ipairs(headers or {}) do lines[#lines + 1] = h[1] .. ": " .. h[2] end
  if body then lines[#lines + 1] = "Content-Length: " .. #body end
  assert(c:send(table.concat(lines, "\r\n") .. "\r\n\r\n" .. (body or "")))
  local status_line = assert(c:receive("*l"))
  local status = tonumber(status_line:match("^HTTP/1%.%d (%d+)"))
  local h = {}
  while true do
    local l = assert(c:receive("*l"))
    if l == "" then break end
    local k, v = l:match("^([^:]+):%s*(.*)$")
    h[k:lower()] = v
  end
  local data
  if method == "HEAD" then
    data = ""
  elseif h["content-length"] then
    data = assert(c:receive(tonumber(h["content-length"])))
  else
    data = c:receive("*a")
  end
  c:close()
  return status, h, data
end

local function random_bytes(n)
  local f = assert(io.open("/dev/urandom", "rb"))
  local s = f:read(n)
  f:close()
  return s
end

describe("bin/personalize-local", function()
  it("says how to use it, with the default data directory", function()
    local out, code = engine_server.run { "--help" }
    assert.equal(0, code)
    assert.matches("start|stop|status|run", out, 1, true)
    assert.matches("./personalize-local-data", out, 1, true)
    out, code = engine_server.run { "bogus" }
    assert.equal(2, code)
    assert.matches("unknown command", out)
  end)

  describe("with the real engine", function()
    local server
    teardown(function() if server then server.stop() end end)

    it("starts, reports running, answers signed requests, stops and leaves nothing running", function()
      server = engine_server.start { timings = { pending = 0.1, in_progress = 0.2 } }
      local engine = require "personalize.engine"
      assert.equal(engine.DEFAULT_CREDENTIALS.access_key_id, server.access_key_id)
      assert.equal(engine.DEFAULT_CREDENTIALS.secret_access_key, server.secret_access_key)
      assert.matches("export AWS_ENDPOINT_URL=" .. server.endpoint, server.output, 1, true)
      assert.matches("region:%s+us%-east%-1", server.output)

      local out, code = engine_server.run { "status", "--data", server.dir }
      assert.equal(0, code)
      assert.matches("running: pid " .. server.pid() .. ", endpoint " .. server.endpoint, out, 1, true)

      local p = client.new("personalize", server.client_opts { max_attempts = 1 })
      local res, err = p:create_dataset_group { name = "served" }
      assert.is_nil(err)
      assert.equal("arn:aws:personalize:us-east-1:123456789012:dataset-group/served", res.datasetGroupArn)
      -- the lifecycle moves on in the background (the tick timer)
      local status
      for _ = 1, 40 do
        status = assert(p:describe_dataset_group { datasetGroupArn = res.datasetGroupArn }).datasetGroup.status
        if status == "ACTIVE" then break end
        socket.sleep(0.1)
      end
      assert.equal("ACTIVE", status)

      -- a request signed with another key is refused
      local other = client.new("personalize", server.client_opts {
        max_attempts = 1, credentials = { access_key_id = "AKIAOTHER", secret_access_key = "nope" } })
      local _, oerr = other:list_dataset_groups {}
      assert.equal(403, oerr.status)

      if process.which("aws") then
        local r = server.aws { "personalize", "list-dataset-groups" }
        assert.is_true(r.ok, r.stderr)
        assert.equal("served", r.json.datasetGroups[1].name)
      end

      local pid = server.pid()
      out, code = engine_server.run { "stop", "--data", server.dir }
      assert.equal(0, code)
      assert.matches("stopped %(pid " .. pid, out)
      assert.is_false(process.port_open(server.port))
      assert.same({}, nginx_left(server.dir))
      out, code = engine_server.run { "status", "--data", server.dir }
      assert.equal(3, code)
      assert.matches("stopped", out)
      out, code = engine_server.run { "stop", "--data", server.dir }
      assert.equal(0, code)
      assert.matches("not running", out)
      server.stop()
      server = nil
    end)

    it("refuses a second start on the same data directory and keeps the first", function()
      server = engine_server.start {}
      local out, code = engine_server.run { "start", "--data", server.dir, "--port", "0" }
      assert.equal(1, code)
      assert.matches("already running on " .. server.dir, out, 1, true)
      assert.equal(1, #nginx_left(server.dir))
      local p = client.new("personalize", server.client_opts { max_attempts = 1 })
      assert.is_table(p:list_schemas {})
      server.stop()
      server = nil
    end)

    it("fails clearly when another engine holds the data directory, leaving nothing running", function()
      local dir = temp_dir("locked")
      local eng
      finally(function()
        if eng then eng:close() end
        rm(dir)
      end)
      eng = assert(require("personalize.engine").open { dir = dir })
      local port = process.free_port()
      local out, code = engine_server.run { "start", "--data", dir, "--port", tostring(port) }
      assert.equal(1, code)
      assert.matches("did not open", out)
      assert.matches("locked by another process", out)
      assert.same({}, nginx_left(dir))
      assert.is_false(process.port_open(port))
    end)

    it("takes the key pair it is given and writes it to DATA_DIR/credentials (0600)", function()
      server = engine_server.start { access_key_id = "AKIAMYOWNKEY", secret_access_key = "my/own+secret" }
      assert.equal("AKIAMYOWNKEY", server.access_key_id)
      local p = io.popen("stat -c %a " .. process.shell_quote(server.dir .. "/credentials"))
      assert.equal("600", p:read("*l"))
      p:close()
      local s3 = client.new("s3", server.client_opts { max_attempts = 1 })
      assert.is_table(s3:list_buckets {})
      local default = client.new("s3", server.client_opts {
        max_attempts = 1, credentials = require("personalize.engine").DEFAULT_CREDENTIALS })
      local _, err = default:list_buckets {}
      assert.equal(403, err.status)
      server.stop()
      server = nil
    end)

    it("round-trips a 3 MiB object (spooled request body, streamed body_file response)", function()
      server = engine_server.start {}
      local s3 = client.new("s3", server.client_opts { max_attempts = 1 })
      assert(s3:create_bucket { Bucket = "big" })
      local data = random_bytes(3 * 1024 * 1024 + 17)
      local put, err = s3:put_object { Bucket = "big", Key = "dir/blob.bin", Body = data }
      assert.is_nil(err)
      assert.is_string(put.ETag)
      local got = assert(s3:get_object { Bucket = "big", Key = "dir/blob.bin" })
      assert.equal(#data, #got.Body)
      assert.is_true(data == got.Body)
      local head = assert(s3:head_object { Bucket = "big", Key = "dir/blob.bin" })
      assert.equal(#data, tonumber(head.ContentLength))
      server.stop()
      server = nil
    end)

    it("starts again after nginx was killed with SIGKILL, keeping the data", function()
      server = engine_server.start {}
      local p = client.new("personalize", server.client_opts { max_attempts = 1 })
      assert(p:create_dataset_group { name = "survivor" })
      server.kill9()
      assert.is_false(process.port_open(server.port))
      local out, code = engine_server.run { "status", "--data", server.dir }
      assert.equal(3, code, out)
      server.restart()
      p = client.new("personalize", server.client_opts { max_attempts = 1 })
      local l = assert(p:list_dataset_groups {})
      assert.equal("survivor", l.datasetGroups[1].name)
      server.stop()
      server = nil
    end)

    it("runs in the foreground with `run` until stopped", function()
      local dir = temp_dir("run")
      local port = process.free_port()
      local proc = process.spawn({ "env", "-u", "LUA_PATH", "-u", "LUA_CPATH", engine_server.SCRIPT, "run",
        "--data", dir, "--port", tostring(port) })
      finally(function()
        engine_server.run { "stop", "--data", dir }
        proc:stop()
        rm(dir)
      end)
      proc:wait_port(port, 15)
      local status = http(port, "GET", "/_personalize_local/health")
      assert.equal(200, status)
      local out, code = engine_server.run { "status", "--data", dir }
      assert.equal(0, code, out)
      engine_server.run { "stop", "--data", dir }
      for _ = 1, 100 do
        if not proc:alive() then break end
        socket.sleep(0.05)
      end
      assert.is_false(proc:alive())
      assert.matches("running on http://127.0.0.1:" .. port, proc:output(), 1, true)
      assert.same({}, nginx_left(dir))
    end)
  end)

  describe("the nginx adapter (fake engine)", function()
    local server
    setup(function() server = engine_server.start { lua_path = FAKE_PATH } end)
    teardown(function() server.stop() end)

    it("passes method, raw path, raw query and lowercased headers, joining repeats with ','", function()
      local status, _, body = http(server.port, "PUT", "/describe/a%2Fb//c?x=1&y=%20z&x=2",
        { { "X-Amz-Meta-Thing", "one" }, { "X-Repeat", "a" }, { "x-repeat", "b" }, { "Some_Under", "u" } }, "hello")
      assert.equal(200, status)
      local d = require("cjson").decode(body)
      assert.equal("PUT", d.method)
      assert.equal("/describe/a%2Fb//c", d.path)
      assert.equal("x=1&y=%20z&x=2", d.query)
      assert.equal("one", d.headers["x-amz-meta-thing"])
      assert.equal("a,b", d.headers["x-repeat"])
      assert.equal("u", d.headers["some_under"])
      assert.equal("127.0.0.1:" .. server.port, d.headers.host)
      assert.is_nil(d.headers["X-Amz-Meta-Thing"])
      assert.equal(5, d.body_length)
      assert.is_false(d.body_file)
      status, _, body = http(server.port, "GET", "/describe")
      assert.equal(200, status)
      d = require("cjson").decode(body)
      assert.equal(require("cjson").null, d.query)
      assert.equal(0, d.body_length)
    end)

    it("hands a large body over as body_file and streams a body_file answer back intact", function()
      local small = random_bytes(1000)
      local status, h, body = http(server.port, "POST", "/echo", nil, small)
      assert.equal(200, status)
      assert.equal("no", h["x-body-file"])
      assert.is_true(small == body)

      local big = random_bytes(3 * 1024 * 1024)
      status, h, body = http(server.port, "POST", "/echo", nil, big)
      assert.equal(200, status)
      assert.equal("yes", h["x-body-file"])
      assert.equal(tostring(#big), h["content-length"])
      assert.is_true(big == body)
    end)

    it("streams a generated body_file with its length", function()
      local n = 5 * 1024 * 1024 + 3
      local status, h, body = http(server.port, "GET", "/file?" .. n)
      assert.equal(200, status)
      assert.equal(tostring(n), h["content-length"])
      assert.equal(n, #body)
      assert.equal(250, body:byte(251))
      assert.equal(0, body:byte(252))
      assert.equal((n - 1) % 251, body:byte(n))
    end)

    it("keeps the engine's Content-Length on HEAD", function()
      local status, h = http(server.port, "HEAD", "/head")
      assert.equal(200, status)
      assert.equal("1234", h["content-length"])
      assert.equal('"x"', h["etag"])
    end)

    it("answers a Lua error with 500 InternalFailure and keeps serving", function()
      local pid = server.pid()
      local status, h, body = http(server.port, "POST", "/error", nil, "{}")
      assert.equal(500, status)
      assert.matches("application/json", h["content-type"])
      local d = require("cjson").decode(body)
      assert.equal("InternalFailure", d.__type)
      assert.matches("fake engine failure", d.message)
      status = http(server.port, "GET", "/describe")
      assert.equal(200, status)
      assert.equal(pid, server.pid())
      local log = io.open(server.dir .. "/run/error.log"):read("*a")
      assert.matches("fake engine failure", log)
    end)

    it("ticks the engine in the background", function()
      local _, _, a = http(server.port, "GET", "/ticks")
      socket.sleep(0.5)
      local _, _, b = http(server.port, "GET", "/ticks")
      local ta, tb = require("cjson").decode(a).ticks, require("cjson").decode(b).ticks
      assert.is_true(tb >= ta + 3, ("ticks %d -> %d"):format(ta, tb))
    end)

    it("reports an engine that did not open on the health path and refuses to start", function()
      local dir = temp_dir("refuse")
      finally(function() rm(dir) end)
      local out, code = engine_server.run({ "start", "--data", dir, "--port", "0" },
        { PERSONALIZE_LOCAL_LUA_PATH = FAKE_PATH })
      assert.equal(1, code)
      assert.matches("HTTP 503", out)
      assert.matches("fake engine: refusing", out)
      assert.same({}, nginx_left(dir))
    end)
  end)
end)
