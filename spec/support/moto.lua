-- moto_server on loopback: a real AWS peer that no one here wrote.
--
--   local moto = require "support.moto"
--   local peer = moto.start{ auth = true }  -- nil when moto_server is missing
--   peer.endpoint, peer.region, peer.access_key_id, peer.secret_access_key
--   peer:stop()
--
-- With auth = true moto verifies every SigV4 signature after the first
-- INITIAL_NO_AUTH_ACTION_COUNT requests; those three create an IAM user, an
-- inline allow-all policy and the access key the peer hands out. Readiness
-- is probed with a bare TCP connect, which moto does not count as a request.
local core = require "personalize.core"
local sigv4 = require "personalize.sigv4"
local process = require "support.process"

local _M = {}

local REGION = "us-east-1"
local SETUP_CALLS = 3
local ALLOW_ALL = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}'

-- One IAM query-protocol call (form-encoded POST), signed with any key:
-- moto routes it by the credential scope's service name.
local function iam(endpoint, params)
  local parts = { "Version=2010-05-08" }
  for k, v in pairs(params) do
    parts[#parts + 1] = sigv4.encode_component(k) .. "=" .. sigv4.encode_component(v)
  end
  table.sort(parts)
  local body = table.concat(parts, "&")
  local url = endpoint .. "/"
  local headers = sigv4.sign {
    method = "POST", url = url, body = body, region = REGION, service = "iam",
    headers = { ["Content-Type"] = "application/x-www-form-urlencoded" },
    credentials = { access_key_id = "testing", secret_access_key = "testing" },
  }
  local h = core.http { timeout = 30 }
  local status, _, rbody = h:request { method = "POST", url = url, headers = headers, body = body }
  h:close()
  if status ~= 200 then
    error(("moto IAM %s failed: %s %s"):format(params.Action, tostring(status), tostring(rbody)), 3)
  end
  return rbody
end

local Peer = {}
Peer.__index = Peer

function Peer:stop()
  if self.process then self.process:stop() end
end

function _M.start(opts)
  opts = opts or {}
  local exe = process.require_peer("moto_server", "specs use it as a real AWS peer")
  if not exe then return nil end
  local port = process.free_port()
  local env = { AWS_ACCESS_KEY_ID = "testing", AWS_SECRET_ACCESS_KEY = "testing",
                AWS_DEFAULT_REGION = REGION }
  if opts.auth then env.INITIAL_NO_AUTH_ACTION_COUNT = tostring(SETUP_CALLS) end
  local proc = process.spawn({ exe, "-H", "127.0.0.1", "-p", tostring(port) }, { env = env })
  proc:wait_port(port, 30)
  local peer = setmetatable({
    process = proc, endpoint = "http://127.0.0.1:" .. port, region = REGION,
    access_key_id = "testing", secret_access_key = "testing",
  }, Peer)
  if opts.auth then
    local ok, err = pcall(function()
      iam(peer.endpoint, { Action = "CreateUser", UserName = "lua-personalize" })
      iam(peer.endpoint, { Action = "PutUserPolicy", UserName = "lua-personalize",
                           PolicyName = "allow-all", PolicyDocument = ALLOW_ALL })
      local xml = iam(peer.endpoint, { Action = "CreateAccessKey", UserName = "lua-personalize" })
      peer.access_key_id = assert(xml:match("<AccessKeyId>([^<]+)</AccessKeyId>"))
      peer.secret_access_key = assert(xml:match("<SecretAccessKey>([^<]+)</SecretAccessKey>"))
    end)
    if not ok then
      proc:stop()
      error(err, 2)
    end
  end
  return peer
end

return _M
