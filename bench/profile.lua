-- The work `make bench-profile` runs under valgrind --tool=callgrind:
--   lua bench/profile.lua sign N   N signatures on the client's path
--   lua bench/profile.lua call N   N get_recommendations against a static nginx
--   lua bench/profile.lua http N   N core.http POSTs of the same request (transport only)
-- bench/profile.sh runs each with two values of N and divides the
-- difference of the instruction counts, so start-up costs cancel out.
package.path = "bench/?.lua;" .. package.path
local core = require "personalize.core"
local sigv4 = require "personalize.sigv4"

local mode, n = arg[1], tonumber(arg[2]) or 1000
local CREDS = { access_key_id = "AKIDEXAMPLE", secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY" }
local ARN = "arn:aws:personalize:us-east-1:123456789012:campaign/movies"
local BODY = '{"campaignArn":"' .. ARN .. '","numResults":10,"userId":"42"}'
local PARAMS = { campaignArn = ARN, numResults = 10, userId = "42" }

if mode == "sign" then
  local headers = { ["Content-Type"] = "application/json",
                    Host = "personalize-runtime.us-east-1.amazonaws.com",
                    ["X-Amz-Date"] = "20150830T123600Z" }
  for _ = 1, n do
    sigv4.authorize("POST", "/recommendations", nil, headers, core.sha256_hex(BODY), CREDS,
      "20150830T123600Z", "us-east-1", "personalize")
  end
elseif mode == "call" or mode == "http" then
  local peer = require("peer").start{ kind = "static" }
  local ok, err = pcall(function()
    if mode == "call" then
      local client = require("personalize").client("personalize-runtime",
        { region = "us-east-1", endpoint = peer.url, credentials = CREDS })
      assert(client:get_recommendations(PARAMS))
      for _ = 1, n do client:get_recommendations(PARAMS) end
    else
      local h = core.http()
      local req = { method = "POST", url = peer.url .. "/recommendations", body = BODY,
        headers = { ["Content-Type"] = "application/json", ["X-Amz-Date"] = "20150830T123600Z",
                    Authorization = ("A"):rep(200) } }
      assert(h:request(req))
      for _ = 1, n do h:request(req) end
    end
  end)
  peer.stop()
  assert(ok, err)
else
  error("usage: profile.lua sign|call|http N")
end
