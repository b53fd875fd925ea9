-- make bench: each figure next to a baseline measured in the same run.
--
-- 1. SigV4: signatures per second through the Lua API (the public
--    sigv4.sign and the client's hot path sigv4.authorize) against a C
--    loop doing the same canonicalisation and OpenSSL hashes.
local core = require "personalize.core"
local sigv4 = require "personalize.sigv4"

local now = core.now

local function measure(n, f)
  for _ = 1, math.min(n, 1000) do f() end   -- warm up (JIT, caches)
  local t0 = now()
  for _ = 1, n do f() end
  return (now() - t0) / n * 1e9
end

local function c_loop_ns(n)
  local p = assert(io.popen("build/bench/sign_loop " .. n))
  local ns = tonumber(p:read("*l"))
  p:close()
  return assert(ns, "build/bench/sign_loop did not run")
end

local creds = { access_key_id = "AKIDEXAMPLE", secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY" }
local body = '{"campaignArn":"arn:aws:personalize:us-east-1:123456789012:campaign/movies","numResults":10,"userId":"42"}'
local N = tonumber(os.getenv("BENCH_N") or "") or 200000

local c_ns = c_loop_ns(N)
local headers = { ["Content-Type"] = "application/json",
                  Host = "personalize-runtime.us-east-1.amazonaws.com",
                  ["X-Amz-Date"] = "20150830T123600Z" }
local hot_ns = measure(N, function()
  sigv4.authorize("POST", "/recommendations", nil, headers, core.sha256_hex(body), creds,
    "20150830T123600Z", "us-east-1", "personalize")
end)
local req = { method = "POST", url = "https://personalize-runtime.us-east-1.amazonaws.com/recommendations",
  headers = { ["Content-Type"] = "application/json" }, body = body,
  region = "us-east-1", service = "personalize", credentials = creds, time = 1440938160 }
local api_ns = measure(math.floor(N / 4), function() sigv4.sign(req) end)

print(("SigV4 (%s, %d signatures)"):format(jit and jit.version or _VERSION, N))
print(("  C loop, same hashes      %8.0f ns  %9.0f /s  (baseline)"):format(c_ns, 1e9 / c_ns))
print(("  client path (authorize)  %8.0f ns  %9.0f /s  %.2fx the C loop"):format(hot_ns, 1e9 / hot_ns, hot_ns / c_ns))
print(("  sigv4.sign{} (full API)  %8.0f ns  %9.0f /s  %.2fx the C loop"):format(api_ns, 1e9 / api_ns, api_ns / c_ns))
