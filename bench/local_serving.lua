-- make bench, section 5: get_recommendations latency against
-- bin/personalize-local over loopback, p50 and p99, next to the same
-- client against the static nginx endpoint (the floor: nginx answering
-- without any engine work). The campaign comes from the tutorial
-- (examples/tutorial.lua) run on data/small against a personalize-local
-- started here with instant lifecycle timings; the tutorial's wall time
-- is printed too (it includes the imports and two trainings).
--
--   require("local_serving").run{ line = f, runtime_client = f }
local core = require "personalize.core"
local peer_mod = require "peer"

local fmt = string.format
local now = core.now

local _M = {}

local KEY_ID, SECRET = "AKIAPERSONALIZELOCAL", "personalize-local/secret/do-not-use-on-aws"

-- Output and success of a shell command. The exit status is printed by
-- the shell: LuaJIT's popen close() does not return it.
local function sh_out(cmd)
  local p = io.popen("{ " .. cmd .. "; } 2>&1; echo \"exit status $?\"")
  local out = p:read("*a")
  p:close()
  local body, status = out:match("^(.-)exit status (%d+)\n?$")
  return body or out, status == "0"
end

local function percentiles(samples)
  table.sort(samples)
  local function at(q) return samples[math.max(1, math.ceil(#samples * q))] end
  return at(0.5), at(0.99)
end

-- p50, p99 (seconds) of n calls of f after a warm-up.
local function latencies(n, f)
  for _ = 1, 200 do f() end
  local samples = {}
  for i = 1, n do
    local t0 = now()
    f()
    samples[i] = now() - t0
  end
  return percentiles(samples)
end

function _M.run(ctx)
  local line, runtime_client = ctx.line, ctx.runtime_client
  local data = "data/small"
  local f = io.open(data .. "/interactions.csv")
  if not f then
    print("  (no data/small/interactions.csv: run `make data` for the personalize-local figures)")
    return
  end
  f:close()
  local lua = os.getenv("PERSONALIZE_LUA") or (jit and "luajit" or "lua5.4")
  local dir = sh_out("mktemp -d /tmp/pz-bench-local.XXXXXX"):match("%S+")
  local out = sh_out(fmt("bin/personalize-local start --data %s/engine --port 0 --timings pending=0,in_progress=0", dir))
  local endpoint = out:match("endpoint:%s*(%S+)")
  if not endpoint then
    print("  personalize-local did not start: " .. out:sub(1, 300))
    os.execute("rm -rf " .. dir)
    return
  end
  local ok, err = pcall(function()
    local t0 = now()
    local tut, tut_ok = sh_out(fmt("env -u AWS_PROFILE -u AWS_SESSION_TOKEN AWS_CONFIG_FILE=/dev/null "
      .. "AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_ENDPOINT_URL=%s AWS_REGION=us-east-1 "
      .. "AWS_ACCESS_KEY_ID=%s AWS_SECRET_ACCESS_KEY=%s TUTORIAL_PREFIX=bench "
      .. "LUA_PATH='lua/?.lua;lua/?/init.lua;;' LUA_CPATH='build/%s/?.so;;' %s examples/tutorial.lua %s",
      endpoint, KEY_ID, SECRET, lua, lua, data))
    local tutorial_s = now() - t0
    if not tut_ok then error("the tutorial failed: " .. tut:sub(-400), 0) end
    local creds = { access_key_id = KEY_ID, secret_access_key = SECRET }
    local control = require("personalize").client("personalize",
      { region = "us-east-1", endpoint = endpoint, credentials = creds })
    local campaigns = assert(control:list_campaigns{}).campaigns
    local arn
    for _, c in ipairs(campaigns) do
      if c.name == "bench-campaign" then arn = c.campaignArn end
    end
    assert(arn, "no campaign bench-campaign after the tutorial")
    local runtime = runtime_client(endpoint, { credentials = creds })
    local params = { campaignArn = arn, userId = "1", numResults = 10 }
    assert(runtime:get_recommendations(params))
    local n = 2000
    local users = {}
    for i = 1, 50 do users[i] = tostring(i) end
    local k = 0
    local p50, p99 = latencies(n, function()
      k = k % #users + 1
      params.userId = users[k]
      runtime:get_recommendations(params)
    end)
    local peer = peer_mod.start{ kind = "static" }
    local s50, s99
    local ok2, err2 = pcall(function()
      local static = runtime_client(peer.url)
      local sp = { campaignArn = arn, userId = "1", numResults = 10 }
      s50, s99 = latencies(n, function() static:get_recommendations(sp) end)
    end)
    peer.stop()
    if not ok2 then error(err2, 0) end
    print(fmt("  get_recommendations over loopback, %d calls, 50 users, data/small", n))
    line("static nginx endpoint, p50", fmt("%.0f", s50 * 1e6), "us", "baseline")
    line("static nginx endpoint, p99", fmt("%.0f", s99 * 1e6), "us", "")
    line("personalize-local, p50", fmt("%.0f", p50 * 1e6), "us", fmt("%.2fx the static endpoint", p50 / s50))
    line("personalize-local, p99", fmt("%.0f", p99 * 1e6), "us", fmt("%.2fx the static endpoint", p99 / s99))
    line("the tutorial on data/small", fmt("%.1f", tutorial_s), "s",
      "(schema to campaigns: imports, two trainings, waits)")
  end)
  sh_out(fmt("bin/personalize-local stop --data %s/engine", dir))
  os.execute("rm -rf " .. dir)
  if not ok then error(err, 0) end
end

return _M
