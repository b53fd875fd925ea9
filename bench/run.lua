-- make bench: each figure next to a baseline measured in the same run, as
-- a ratio. Nothing is asserted: these machines are shared and noisy, so
-- every timed figure is the best of a few rounds, and the rounds of a
-- figure and of its baseline alternate.
--
--   1. SigV4: the client's signing path (sigv4.authorize) and the public
--      sigv4.sign{} against bench/sign_loop.c (the same OpenSSL work in a
--      C loop) and botocore's SigV4Auth (bench/botocore_sign.py).
--   2. Sequential get_recommendations over keep-alive loopback against a
--      static nginx endpoint, against `wrk -t1 -c1` (same request), boto3
--      (bench/boto3_calls.py) and the curl CLI reusing its connection;
--      core.http alone shows the transport.
--   3. Fan-out: 2,000 get_recommendations to a peer that answers after
--      5 ms, client:map at concurrency 32 against the same calls one by one.
--   4. Memory: the Lua heap after require "personalize" and one client of
--      each service; resident memory growth over 100,000 calls.
--   5. personalize-local: bench/recipes.lua when present (training and
--      quality), and get_recommendations p50/p99 over loopback against
--      bin/personalize-local.
--   6. personalize-local at scale (bench/scale.lua): generated power-law
--      interactions; import, training per recipe, restart, peak RSS and
--      size on disk next to `wc -l` and a C pass over the same CSV.
--   7. Recommendation quality (bench/quality.lua): MovieLens with every
--      user's newest 10% held out; the engine's recipes next to
--      popularity, item-kNN, EASE and recency-weighted EASE computed in the
--      same run, NDCG@10 with 95% bootstrap intervals.
--
-- Environment: BENCH_N (signatures, default 200000), BENCH_CALLS
-- (sequential calls per round, default 3000), BENCH_FANOUT (default
-- 2000), BENCH_RSS_CALLS (default 100000), BENCH_SCALE (interactions of
-- section 6, default 1000000; a list: "1000000,5000000"), BENCH_ONLY
-- ("1,3": sections).
package.path = "bench/?.lua;" .. package.path

local core = require "personalize.core"
local sigv4 = require "personalize.sigv4"
local peer_mod = require "peer"

local now = core.now
local fmt = string.format

local INTERP = jit and jit.version or _VERSION
local LUA = os.getenv("PERSONALIZE_LUA") or (jit and "luajit" or "lua5.4")

local function env_number(name, default)
  return tonumber(os.getenv(name) or "") or default
end

local ONLY = {}
for n in (os.getenv("BENCH_ONLY") or "1,2,3,4,5,6,7"):gmatch("%d") do ONLY[tonumber(n)] = true end

local CREDS = { access_key_id = "AKIDEXAMPLE", secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY" }
local ARN = "arn:aws:personalize:us-east-1:123456789012:campaign/movies"
local BODY = '{"campaignArn":"' .. ARN .. '","numResults":10,"userId":"42"}'
local PARAMS = { campaignArn = ARN, numResults = 10, userId = "42" }

local function line(label, value, unit, note)
  print(fmt("  %-34s %10s %-6s %s", label, value, unit, note or ""))
end

local function ratio_note(x, base, what)
  if not x or not base or base == 0 then return "(baseline unavailable)" end
  return fmt("%.2fx %s", x / base, what)
end

local function popen_number(cmd)
  local p = io.popen(cmd .. " 2>/dev/null")
  if not p then return nil end
  local out = p:read("*a") or ""
  p:close()
  return tonumber(out:match("([%d.]+)%s*$"))
end

local function have(cmd)
  local p = io.popen("command -v " .. cmd .. " 2>/dev/null")
  local out = p:read("*l")
  p:close()
  return out ~= nil and out ~= ""
end

local function have_python_module(m)
  local r = os.execute("python3 -c 'import " .. m .. "' >/dev/null 2>&1")
  return r == true or r == 0
end

-- Nanoseconds per call of f: best of `rounds` rounds of n calls.
local function best_ns(n, rounds, f)
  for _ = 1, math.min(n, 1000) do f() end   -- warm up (JIT, caches)
  local best = math.huge
  for _ = 1, rounds do
    local t0 = now()
    for _ = 1, n do f() end
    local dt = (now() - t0) / n * 1e9
    if dt < best then best = dt end
  end
  return best
end

local function runtime_client(endpoint, extra)
  local opts = { region = "us-east-1", endpoint = endpoint, credentials = CREDS }
  for k, v in pairs(extra or {}) do opts[k] = v end
  return require("personalize").client("personalize-runtime", opts)
end

print(fmt("lua-personalize benchmarks: %s, %s, %s", INTERP, core.curl_version, os.date("!%Y-%m-%d %H:%M UTC")))

---------------------------------------------------------------------------
-- 1. SigV4

local function bench_sigv4()
  local n = env_number("BENCH_N", 200000)
  local c_ns = popen_number("build/bench/sign_loop " .. n)
  local headers = { ["Content-Type"] = "application/json",
                    Host = "personalize-runtime.us-east-1.amazonaws.com",
                    ["X-Amz-Date"] = "20150830T123600Z" }
  local hot_ns = best_ns(math.floor(n / 3), 3, function()
    sigv4.authorize("POST", "/recommendations", nil, headers, core.sha256_hex(BODY), CREDS,
      "20150830T123600Z", "us-east-1", "personalize")
  end)
  local req = { method = "POST", url = "https://personalize-runtime.us-east-1.amazonaws.com/recommendations",
    headers = { ["Content-Type"] = "application/json" }, body = BODY,
    region = "us-east-1", service = "personalize", credentials = CREDS, time = 1440938160 }
  local api_ns = best_ns(math.floor(n / 12), 3, function() sigv4.sign(req) end)
  local boto_ns = have_python_module("botocore") and popen_number("python3 bench/botocore_sign.py 5000")

  print(fmt("\n1. SigV4, one get_recommendations request signed (%d signatures)", n))
  line("C loop, same OpenSSL work", fmt("%.0f", c_ns or 0), "ns", "baseline")
  line("botocore SigV4Auth.add_auth", boto_ns and fmt("%.0f", boto_ns) or "-", "ns",
    boto_ns and "(python3, in process)" or "(botocore not importable)")
  line("client path (sigv4.authorize)", fmt("%.0f", hot_ns), "ns",
    ratio_note(hot_ns, c_ns, "the C loop") .. (boto_ns and fmt(", %.1fx faster than botocore", boto_ns / hot_ns) or ""))
  line("sigv4.sign{} (public table API)", fmt("%.0f", api_ns), "ns",
    ratio_note(api_ns, c_ns, "the C loop") .. (boto_ns and fmt(", %.1fx faster than botocore", boto_ns / api_ns) or ""))
end

---------------------------------------------------------------------------
-- 2. Sequential calls against a static nginx endpoint

local function wrk_rate(url, seconds, script)
  local p = io.popen(fmt("wrk -t1 -c1 -d%ds -s %s %s 2>&1", seconds, script, url))
  local out = p:read("*a")
  p:close()
  return tonumber(out:match("Requests/sec:%s*([%d.]+)"))
end

local function bench_sequential()
  local calls = env_number("BENCH_CALLS", 3000)
  local peer = peer_mod.start{ kind = "static" }
  local ok, err = pcall(function()
    local url = peer.url .. "/recommendations"
    local client = runtime_client(peer.url)
    assert(client:get_recommendations(PARAMS))
    local h = core.http()
    local hc = core.http { plain = false }
    local raw_req = { method = "POST", url = url, body = BODY,
      headers = { ["Content-Type"] = "application/json", ["X-Amz-Date"] = "20150830T123600Z",
                  Authorization = ("A"):rep(200) } }
    local script = peer.dir .. "/post.lua"
    local f = assert(io.open(script, "w"))
    f:write("wrk.method = \"POST\"\nwrk.body = '", BODY, "'\n",
            "wrk.headers[\"Content-Type\"] = \"application/json\"\n")
    f:close()
    -- The curl CLI, one process reusing its connection (the issue's other
    -- reference): a config file with the request once and the URL n times.
    local cfg = peer.dir .. "/curl.cfg"
    f = assert(io.open(cfg, "w"))
    f:write("silent\nheader = \"Content-Type: application/json\"\n",
            "data = \"", (BODY:gsub('"', '\\"')), "\"\n")
    for _ = 1, calls do f:write("url = \"", url, "\"\n") end
    f:close()
    local use_wrk, use_curl = have("wrk"), have("curl")
    local client_best, raw_best, wrk_best, curl_best = math.huge, math.huge, nil, math.huge
    local libcurl_best = math.huge
    for _ = 1, 3 do
      if use_curl then
        local t0 = now()
        os.execute("curl -K " .. cfg .. " >/dev/null 2>&1")
        local t = (now() - t0) / calls * 1e9
        if t < curl_best then curl_best = t end
      end
      local t = best_ns(calls, 1, function() client:get_recommendations(PARAMS) end)
      if t < client_best then client_best = t end
      t = best_ns(calls, 1, function() h:request(raw_req) end)
      if t < raw_best then raw_best = t end
      t = best_ns(calls, 1, function() hc:request(raw_req) end)
      if t < libcurl_best then libcurl_best = t end
      if use_wrk then
        local r = wrk_rate(url, 1, script)
        if r and (not wrk_best or r > wrk_best) then wrk_best = r end
      end
    end
    h:close()
    hc:close()
    local boto_us = have_python_module("boto3")
      and popen_number(fmt("python3 bench/boto3_calls.py %s %d", peer.url, 1000))
    local rate = 1e9 / client_best
    print(fmt("\n2. Sequential get_recommendations, keep-alive loopback, static nginx (%d calls a round)", calls))
    line("wrk -t1 -c1 (same POST)", wrk_best and fmt("%.0f", wrk_best) or "-", "req/s",
      wrk_best and "baseline" or "(wrk not installed: make deps)")
    line("boto3", boto_us and fmt("%.0f", 1e6 / boto_us) or "-", "req/s",
      boto_us and fmt("(%.0f us a call)", boto_us) or "(boto3 not importable)")
    line("curl CLI, connection reused", use_curl and fmt("%.0f", 1e9 / curl_best) or "-", "req/s",
      use_curl and wrk_best and fmt("%.0f%% of wrk (libcurl + the CLI)", 1e9 / curl_best / wrk_best * 100) or "")
    line("core.http through libcurl (plain = false)", fmt("%.0f", 1e9 / libcurl_best), "req/s",
      wrk_best and fmt("%.0f%% of wrk", 1e9 / libcurl_best / wrk_best * 100) or "")
    line("core.http alone (transport)", fmt("%.0f", 1e9 / raw_best), "req/s",
      wrk_best and fmt("%.0f%% of wrk", 1e9 / raw_best / wrk_best * 100) or "")
    line("client:get_recommendations", fmt("%.0f", rate), "req/s",
      fmt("(%.1f us a call) ", client_best / 1000)
      .. (wrk_best and fmt("%.0f%% of wrk", rate / wrk_best * 100) or "")
      .. (boto_us and fmt(", %.1fx boto3", rate / (1e6 / boto_us)) or "")
      .. (use_curl and fmt(", %.1fx the curl CLI", rate / (1e9 / curl_best)) or ""))
  end)
  peer.stop()
  if not ok then error(err, 0) end
end

---------------------------------------------------------------------------
-- 3. Fan-out against a 5 ms peer

local function bench_fanout()
  local total = env_number("BENCH_FANOUT", 2000)
  local peer = peer_mod.start{ kind = "lua", delay = 0.005 }
  local ok, err = pcall(function()
    local client = runtime_client(peer.url)
    local list = {}
    for i = 1, total do list[i] = { campaignArn = ARN, numResults = 10, userId = "u" .. i } end
    client:map("get_recommendations", { list[1], list[2] }, { concurrency = 2 })  -- warm up
    local best, failed = math.huge, 0
    for _ = 1, 3 do
      local t0 = now()
      local _, f = client:map("get_recommendations", list, { concurrency = 32 })
      local dt = now() - t0
      if dt < best then best = dt end
      failed = failed + f
    end
    local t0 = now()
    for i = 1, total do
      if not client:get_recommendations(list[i]) then failed = failed + 1 end
    end
    local seq = now() - t0
    print(fmt("\n3. Fan-out: %d get_recommendations, peer answers after 5 ms", total))
    line("one by one", fmt("%.2f", seq), "s", fmt("baseline (%.2f ms a call)", seq / total * 1000))
    line("client:map, concurrency 32", fmt("%.3f", best), "s",
      fmt("%.1fx faster (the waits alone, 32 at a time: %.3f s)%s", seq / best, total / 32 * 0.005,
        failed > 0 and fmt(", %d FAILED", failed) or ""))
  end)
  peer.stop()
  if not ok then error(err, 0) end
end

---------------------------------------------------------------------------
-- 4. Memory

local function rss_kb()
  local f = io.open("/proc/self/status")
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  return tonumber(s:match("VmRSS:%s*(%d+)"))
end

local function heap_after(code)
  local cmd = fmt("%s -e %q", LUA, "collectgarbage() collectgarbage() local base = collectgarbage('count') "
    .. code .. " collectgarbage() collectgarbage() io.write(string.format('%.1f %.1f', base, collectgarbage('count')))")
  local p = io.popen(cmd .. " 2>&1")
  local out = p:read("*a")
  p:close()
  local base, after = out:match("([%d.]+) ([%d.]+)")
  return tonumber(base), tonumber(after), out
end

local function bench_memory()
  local calls = env_number("BENCH_RSS_CALLS", 100000)
  local clients = "local p = require 'personalize' "
    .. "local o = { region = 'us-east-1', credentials = { access_key_id = 'A', secret_access_key = 'B' } } "
    .. "_G.keep = { p.client('personalize', o), p.client('personalize-runtime', o), p.client('personalize-events', o) }"
  local base, req_kb = heap_after("_G.keep = require 'personalize'")
  local _, cli_kb, out = heap_after(clients)
  print("\n4. Memory")
  if not base or not cli_kb then
    print("  (could not measure the heap: " .. tostring(out) .. ")")
  else
    line("Lua heap of the bare interpreter", fmt("%.0f", base), "KiB", "baseline")
    line("after require \"personalize\"", fmt("%.0f", req_kb), "KiB", fmt("+%.0f KiB", req_kb - base))
    line("... and one client per service", fmt("%.0f", cli_kb), "KiB", fmt("+%.0f KiB", cli_kb - base))
  end
  local peer = peer_mod.start{ kind = "static" }
  local ok, err = pcall(function()
    local client = runtime_client(peer.url)
    for _ = 1, 10000 do client:get_recommendations(PARAMS) end
    collectgarbage()
    local r0 = rss_kb()
    local t0 = now()
    for _ = 1, calls do client:get_recommendations(PARAMS) end
    local dt = now() - t0
    collectgarbage()
    local r1 = rss_kb()
    line(fmt("RSS after 10,000 warm-up calls"), fmt("%d", r0), "KiB", "baseline")
    line(fmt("RSS after %d more calls", calls), fmt("%d", r1), "KiB",
      fmt("%+d KiB (%.1f us a call)", r1 - r0, dt / calls * 1e6))
  end)
  peer.stop()
  if not ok then error(err, 0) end
end

---------------------------------------------------------------------------
-- 5. personalize-local

local function bench_local()
  print("\n5. personalize-local")
  local f = io.open("bench/recipes.lua")
  if f then
    f:close()
    local ok, err = pcall(dofile, "bench/recipes.lua")
    if not ok then print("  bench/recipes.lua failed: " .. tostring(err)) end
  else
    print("  (bench/recipes.lua not there yet: training and quality figures)")
  end
  local ok, local_bench = pcall(require, "local_serving")
  if ok then
    local ok2, err = pcall(local_bench.run, { line = line, runtime_client = runtime_client })
    if not ok2 then print("  serving figures failed: " .. tostring(err)) end
  end
end

---------------------------------------------------------------------------
-- 6. personalize-local at scale

local function bench_scale()
  print("\n6. personalize-local at scale (BENCH_SCALE)")
  require("scale").run { line = line }
end

---------------------------------------------------------------------------
-- 7. Recommendation quality

local function bench_quality()
  print("\n7. Recommendation quality (bench/quality.lua)")
  require("quality").run {}
end

local sections = { bench_sigv4, bench_sequential, bench_fanout, bench_memory, bench_local, bench_scale,
                   bench_quality }
for i, f in ipairs(sections) do
  if ONLY[i] then
    local ok, err = pcall(f)
    if not ok then print(fmt("\n%d. FAILED: %s", i, tostring(err))) end
  end
end
