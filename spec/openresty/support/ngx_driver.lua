-- luacheck: globals ngx
-- Runs personalize.transport.ngx inside nginx for spec/openresty/transport_spec.lua:
-- GET /t?case=NAME&peer=PORT answers the case's outcome as JSON.
local cjson = require "cjson"
local ngx_transport = require "personalize.transport.ngx"

local _M = {}

local function outcome(status, headers, body)
  if status then return { status = status, headers = headers, body = body } end
  return { code = headers, message = body }
end

local cases = {}

function cases.send(args)
  local t = ngx_transport.new { timeout = tonumber(args.timeout), connect_timeout = 2,
                                verify_tls = args.verify ~= "0" }
  local url = (args.scheme or "http") .. "://" .. (args.host or "127.0.0.1") .. ":" .. args.peer
    .. (args.path or "/")
  return outcome(t:send { method = args.method or "GET", url = url, body = args.body,
                          headers = { ["X-Test"] = "yes" } })
end

-- Two requests on one transport: the peer names the connection each came on.
function cases.reuse(args)
  local t = ngx_transport.new {}
  local url = "http://127.0.0.1:" .. args.peer .. "/conn"
  local _, _, a = t:send { method = "GET", url = url }
  local _, _, b = t:send { method = "GET", url = url }
  ngx.sleep(tonumber(args.pause) or 0)
  local s, _, c = t:send { method = "GET", url = url }
  return { first = a, second = b, third = c, status = s }
end

function cases.oneshot(args)
  local t = ngx_transport.new {}
  local results = {}
  for i = 1, 3 do
    local status, headers, body = t:send { method = "GET", url = "http://127.0.0.1:" .. args.peer .. "/flaky" }
    results[i] = status and (status .. " " .. body) or (headers .. ": " .. body)
  end
  return { results = results }
end

function cases.files(args)
  local t = ngx_transport.new {}
  local dir = args.dir
  local f = assert(io.open(dir .. "/up.bin", "wb"))
  f:write(("0123456789"):rep(10000))
  f:close()
  local status, _, body = t:send { method = "PUT", url = "http://127.0.0.1:" .. args.peer .. "/echo",
                                   body_file = dir .. "/up.bin", body_offset = 5, body_length = 20 }
  local status2 = t:send { method = "GET", url = "http://127.0.0.1:" .. args.peer .. "/big",
                           response_file = dir .. "/down.bin" }
  local g = assert(io.open(dir .. "/down.bin", "rb"))
  local down = g:read("*a")
  g:close()
  return { status = status, echo = cjson.decode(body), status2 = status2, down_size = #down }
end

-- Five threads want credentials at once: the provider is asked once.
function cases.lock(args)
  local calls = 0
  local fail = args.fail == "1"
  local inner = { name = "fake" }
  function inner.get()
    calls = calls + 1
    ngx.sleep(0.2)
    if fail then return nil, "metadata service down", "CredentialRetrievalError" end
    inner.cached = { access_key_id = "AKIDLOCK", expiration = nil }
    return inner.cached
  end
  local cfg = { profile_name = "lock-" .. tostring(args.fail) .. ngx.now(), profile_explicit = false }
  local shared = ngx_transport.credentials(inner, cfg, "us-east-1")
  local threads, got = {}, {}
  for i = 1, 5 do
    threads[i] = ngx.thread.spawn(function()
      local c, err = shared:get()
      return c and c.access_key_id or err
    end)
  end
  for i = 1, 5 do
    local _, v = ngx.thread.wait(threads[i])
    got[i] = v
  end
  local again = ngx_transport.credentials({ name = "other" }, cfg, "us-east-1")
  return { calls = calls, got = got, same_provider = again == shared }
end

function cases.client()
  local personalize = require "personalize"
  local c = personalize.client("personalize-runtime", { region = "us-east-1" })
  local curl = personalize.client("personalize-runtime", { region = "us-east-1", transport = "curl" })
  local s3 = personalize.client("s3", { region = "us-east-1" })
  local s3_curl = personalize.client("s3", { region = "us-east-1", transport = "curl" })
  return { auto = c.transport.name, explicit = curl.transport.name,
           s3_auto = s3.transport.name, s3_explicit = s3_curl.transport.name, s3_streams = s3.streams_files }
end

-- S3 through the ngx transport against the peer's /bkt/ location.
function cases.s3(args)
  local s3 = require("personalize").client("s3", {
    region = "us-east-1", endpoint = "http://127.0.0.1:" .. args.peer,
    credentials = { access_key_id = "AKIDS3", secret_access_key = "secret" } })
  assert(s3:put_object { Bucket = "bkt", Key = "k.txt", Body = "hello over cosockets" })
  local got = assert(s3:get_object { Bucket = "bkt", Key = "k.txt" })
  local path = os.tmpname()
  local f = assert(io.open(path, "w"))
  f:write("from a file")
  f:close()
  assert(s3:upload_file(path, "bkt", "file.txt"))
  os.remove(path)
  local from_file = assert(s3:get_object { Bucket = "bkt", Key = "file.txt" })
  local _, err = s3:get_object { Bucket = "bkt", Key = "missing" }
  return { transport = s3.transport.name, body = got.Body, file_body = from_file.Body,
           missing = err and err.code }
end

function cases.no_region()
  local ok, err = pcall(require("personalize").client, "personalize-runtime", {})
  return { ok = ok, message = tostring(err) }
end

-- Five requests of one worker, each with its own client, need container
-- credentials at once: the container endpoint is asked once.
function cases.container(args)
  local threads, items = {}, {}
  local c
  for i = 1, 5 do
    threads[i] = ngx.thread.spawn(function()
      c = require("personalize").client("personalize-runtime", {
        region = "eu-central-1", endpoint = "http://127.0.0.1:" .. args.peer })
      local res, err = c:get_recommendations { campaignArn = "arn:aws:personalize:eu-central-1:1:campaign/x",
                                               userId = "u" .. i }
      return res and res.itemList[1].itemId or tostring(err)
    end)
  end
  for i = 1, 5 do
    local _, v = ngx.thread.wait(threads[i])
    items[i] = v
  end
  return { hits = ngx.shared.results:get("creds_hits"), items = items,
           key = ngx.shared.results:get("last_auth_key"),
           source = require("personalize.credentials").source(c._credentials) }
end

-- Six slow calls with concurrency 6 take about as long as one.
function cases.map(args)
  local c = require("personalize").client("personalize-runtime", {
    region = "us-east-1", endpoint = "http://127.0.0.1:" .. args.peer,
    credentials = { access_key_id = "AKIDMAP", secret_access_key = "secret" } })
  local params = {}
  for i = 1, 6 do
    params[i] = { campaignArn = "arn:aws:personalize:us-east-1:1:campaign/x", userId = "slow" .. i }
  end
  ngx.update_time()
  local started = ngx.now()
  local results, failed = c:map("get_recommendations", params, { concurrency = 6 })
  ngx.update_time()
  local took = ngx.now() - started
  local bad = c:map("get_recommendations", { { userId = 5, unknownMember = true } })
  local ok, err = pcall(c.map, c, "get_recommendations", params,
    { concurrency = 3, on_progress = function() error("stop here", 0) end })
  return { failed = failed, count = #results, took = took, invalid = bad[1].code,
           raised = not ok and tostring(err) or nil }
end

function cases.no_credentials(args)
  local c = require("personalize").client("personalize-runtime", {
    region = "us-east-1", endpoint = "http://127.0.0.1:" .. args.peer })
  local res, err = c:get_recommendations { campaignArn = "arn:aws:personalize:us-east-1:1:campaign/x", userId = "1" }
  return { ok = res ~= nil, code = err and err.code, message = err and err.message }
end

function _M.run()
  local args = ngx.req.get_uri_args()
  local ok, res = pcall(cases[args.case], args)
  if not ok then res = { lua_error = tostring(res) } end
  ngx.header["Content-Type"] = "application/json"
  ngx.say(cjson.encode(res))
end

-- In the log phase cosockets are off: the transport says so.
function _M.log_phase()
  local t = ngx_transport.new {}
  local status, code, message = t:send { method = "GET", url = "http://127.0.0.1:1/" }
  -- a client call there fails at once: the refusal is not retried
  local c = require("personalize").client("personalize-runtime", {
    region = "us-east-1", endpoint = "http://127.0.0.1:1", max_attempts = 3,
    credentials = { access_key_id = "AKIDLOG", secret_access_key = "secret" } })
  local _, err = c:get_recommendations { campaignArn = "arn:aws:personalize:us-east-1:1:campaign/x", userId = "u" }
  ngx.shared.results:set("log_phase", cjson.encode { status = status, code = code, message = message,
    client_code = err and err.code, client_attempts = err and err.attempts })
end

function _M.results()
  ngx.say(ngx.shared.results:get("log_phase") or "null")
end

return _M
