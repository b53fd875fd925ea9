-- moto_server on loopback: a real AWS peer that no one here wrote.
--
--   local moto = require "support.moto"
--   local peer = moto.start { auth = true }   -- nil when moto_server (or, for
--                                             -- auth = true, the aws CLI) is
--                                             -- missing: require_peer printed
--                                             -- a loud SKIP, or raised under CI
--   peer.endpoint           "http://127.0.0.1:PORT"
--   peer.port, peer.region  PORT, "us-east-1"
--   peer.account_id         "123456789012"
--   peer.access_key_id, peer.secret_access_key
--   peer.auth               whether moto checks signatures
--   peer:aws { "personalize", "list-schemas" }   -- runs the aws CLI against
--                           -- the peer with the peer's key (see _M.aws)
--   peer:output()           moto's own log so far
--   peer:stop()             idempotent
--
-- auth = true: moto is started with INITIAL_NO_AUTH_ACTION_COUNT = 3 and
-- exactly those three unauthenticated calls, made with the aws CLI, create
-- an IAM user, give it an inline allow-all policy and create its access
-- key. From then on moto verifies every request's SigV4 signature against
-- that key (and refuses any other key). Readiness is probed with a bare
-- TCP connect, which moto does not count as a request.
--
-- auth = false: moto checks nothing; the key is "testing" / "testing".
--
-- Nothing here uses lua-personalize, so a broken client cannot break (or
-- hide behind) its own peer.
local cjson = require "cjson"
local process = require "support.process"
local files = require "support.files"

local _M = {}

_M.REGION = "us-east-1"
_M.ACCOUNT_ID = "123456789012"
_M.STARTUP_TIMEOUT = 30
-- The unauthenticated calls that start{ auth = true } makes, no more.
_M.SETUP_CALLS = 3

local ALLOW_ALL = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}'
local USER = "lua-personalize-spec"

local q = process.shell_quote

local function slurp(path) return files.read(path) or "" end

-- Runs the aws CLI against `endpoint` with `args` (a list of words after
-- the global options). opts: access_key_id, secret_access_key (default
-- "testing"), region (default us-east-1), debug (adds --debug).
--
-- The CLI sees none of the caller's AWS_* variables, no config or
-- credentials file, no retries (AWS_MAX_ATTEMPTS=1), no instance metadata.
-- Returns { ok = exit code is 0, code = exit code, stdout =, stderr =,
-- json = decoded stdout or nil }.
function _M.aws(endpoint, args, opts)
  opts = opts or {}
  local exe = process.which("aws")
  if not exe then error("the aws CLI is not on PATH", 2) end
  local env = {
    AWS_ACCESS_KEY_ID = opts.access_key_id or "testing",
    AWS_SECRET_ACCESS_KEY = opts.secret_access_key or "testing",
    AWS_DEFAULT_REGION = opts.region or _M.REGION,
    AWS_CONFIG_FILE = "/dev/null",
    AWS_SHARED_CREDENTIALS_FILE = "/dev/null",
    AWS_MAX_ATTEMPTS = "1",
    AWS_RETRY_MODE = "standard",
    AWS_EC2_METADATA_DISABLED = "true",
    AWS_PAGER = "",
  }
  local words = { exe, "--endpoint-url", endpoint, "--output", "json",
                  "--cli-connect-timeout", "10", "--cli-read-timeout", "30" }
  if opts.debug then words[#words + 1] = "--debug" end
  for _, a in ipairs(args) do words[#words + 1] = a end

  local assigns, quoted = {}, {}
  for k, v in pairs(env) do assigns[#assigns + 1] = k .. "=" .. q(v) end
  for i, w in ipairs(words) do quoted[i] = q(w) end
  local out, err = os.tmpname(), os.tmpname()
  -- Drop every AWS_* variable the caller has, then set ours.
  local cmd = "for v in $(env | sed -n 's/^\\(AWS_[A-Za-z0-9_]*\\)=.*/\\1/p'); do unset \"$v\"; done; "
    .. table.concat(assigns, " ") .. " " .. table.concat(quoted, " ")
    .. " </dev/null >" .. q(out) .. " 2>" .. q(err) .. "; echo $?"
  local p = io.popen(cmd)
  local status = p:read("*a")
  p:close()
  local res = { code = tonumber(status:match("(%d+)%s*$")), stdout = slurp(out), stderr = slurp(err) }
  os.remove(out)
  os.remove(err)
  res.ok = res.code == 0
  if res.ok and res.stdout:match("%S") then
    local okj, decoded = pcall(cjson.decode, res.stdout)
    if okj then res.json = decoded end
  end
  return res
end

local Peer = {}
Peer.__index = Peer

-- Peers still running, stopped when the Lua state closes (a safety net:
-- specs stop theirs in teardown).
local live = setmetatable({}, { __mode = "k" })
local function stop_all()
  for peer in pairs(live) do peer:stop() end
end
if _G.newproxy then -- LuaJIT / 5.1: __gc only on userdata
  local sentinel = _G.newproxy(true)
  getmetatable(sentinel).__gc = stop_all
  _M._sentinel = sentinel
else
  _M._sentinel = setmetatable({}, { __gc = stop_all })
end

function Peer:stop()
  live[self] = nil
  if self.process then self.process:stop() end
end

function Peer:output()
  return self.process:output()
end

function Peer:aws(args, opts)
  opts = opts or {}
  local o = {
    access_key_id = opts.access_key_id or self.access_key_id,
    secret_access_key = opts.secret_access_key or self.secret_access_key,
    region = opts.region or self.region,
    debug = opts.debug,
  }
  return _M.aws(self.endpoint, args, o)
end

-- One of the unauthenticated setup calls; raises with everything known.
-- want_json: the call must print a JSON document (put-user-policy prints
-- nothing).
local function setup_call(peer, args, want_json)
  local res = _M.aws(peer.endpoint, args)
  if not res.ok or (want_json and not res.json) then
    error(("moto setup `aws %s` failed (exit %s):\n%s\n%s\nmoto's output:\n%s"):format(
      table.concat(args, " "), tostring(res.code), res.stdout, res.stderr, peer:output()), 0)
  end
  return res.json
end

function _M.start(opts)
  opts = opts or {}
  local auth = opts.auth and true or false
  local exe = process.require_peer("moto_server", "specs use it as a real AWS peer")
  if not exe then return nil end
  if auth and not process.require_peer("aws", "support.moto creates moto's IAM key with the aws CLI") then
    return nil
  end

  local port = process.free_port()
  local env = {
    INITIAL_NO_AUTH_ACTION_COUNT = auth and tostring(_M.SETUP_CALLS) or "inf",
    MOTO_ACCOUNT_ID = _M.ACCOUNT_ID,
  }
  local proc = process.spawn({ exe, "-H", "127.0.0.1", "-p", tostring(port) }, { env = env })
  proc:wait_port(port, opts.timeout or _M.STARTUP_TIMEOUT)

  local peer = setmetatable({
    process = proc, port = port, endpoint = "http://127.0.0.1:" .. port,
    region = _M.REGION, account_id = _M.ACCOUNT_ID, auth = auth,
    access_key_id = "testing", secret_access_key = "testing",
  }, Peer)
  live[peer] = true

  if auth then
    local ok, err = pcall(function()
      local user = setup_call(peer, { "iam", "create-user", "--user-name", USER }, true)
      setup_call(peer, { "iam", "put-user-policy", "--user-name", USER,
                         "--policy-name", "allow-all", "--policy-document", ALLOW_ALL })
      local key = setup_call(peer, { "iam", "create-access-key", "--user-name", USER }, true)
      local ak = key.AccessKey or {}
      assert(type(ak.AccessKeyId) == "string" and type(ak.SecretAccessKey) == "string",
        "create-access-key returned no key: " .. cjson.encode(key))
      peer.access_key_id, peer.secret_access_key = ak.AccessKeyId, ak.SecretAccessKey
      peer.account_id = (user.User and user.User.Arn or ""):match("^arn:[^:]+:iam::(%d+):") or peer.account_id
    end)
    if not ok then
      peer:stop()
      error(err, 2)
    end
  end
  return peer
end

return _M
