-- Container and EC2 instance-metadata credentials against a scripted
-- loopback peer: the IMDSv2 token flow, authorization tokens, retries,
-- expiry and refresh.
local credentials = require "personalize.credentials"
local imds = require "personalize.credentials.imds"
local container = require "personalize.credentials.container"
local script_server = require "support.script_server"
local aws_env = require "support.aws_env"

local function creds_body(id, expires_in)
  return ('{"Code": "Success", "AccessKeyId": "%s", "SecretAccessKey": "metadata-secret", '
    .. '"Token": "metadata-token", "Expiration": "{{expires_in:%d}}"}'):format(id, expires_in)
end

describe("metadata credential providers", function()
  local peer
  setup(function() peer = script_server.start() end)
  teardown(function() peer.stop() end)
  before_each(function() imds.reset() end)

  local function resolve(env, opts)
    opts = opts or {}
    local e = { HOME = "/nonexistent", AWS_CONFIG_FILE = "/nonexistent/c", AWS_SHARED_CREDENTIALS_FILE = "/nonexistent/k" }
    for k, v in pairs(env) do e[k] = v end
    opts.env = e
    return credentials.resolve(opts)
  end

  describe("instance metadata (IMDSv2)", function()
    local env
    before_each(function() env = { AWS_EC2_METADATA_SERVICE_ENDPOINT = peer.url .. "/" } end)

    it("gets a token, the role, then the role's credentials", function()
      peer.script {
        { status = 200, body = "imds-session-token" },
        { status = 200, body = "spec-role\n" },
        { status = 200, body = creds_body("AKIDIMDS", 6 * 3600) },
      }
      local p = resolve(env)
      local c = assert(p:get())
      assert.are.equal("AKIDIMDS", c.access_key_id)
      assert.are.equal("metadata-token", c.session_token)
      assert.are.equal("iam-role", credentials.source(p))
      local sent = peer.requests()
      assert.are.equal(3, #sent)
      assert.are.same({ "PUT", "/latest/api/token" }, { sent[1].method, sent[1].path })
      assert.are.equal("21600", sent[1].headers["x-aws-ec2-metadata-token-ttl-seconds"])
      assert.are.same({ "GET", "/latest/meta-data/iam/security-credentials/" }, { sent[2].method, sent[2].path })
      assert.are.same({ "GET", "/latest/meta-data/iam/security-credentials/spec-role" }, { sent[3].method, sent[3].path })
      assert.are.equal("imds-session-token", sent[2].headers["x-aws-ec2-metadata-token"])
      assert.are.equal("imds-session-token", sent[3].headers["x-aws-ec2-metadata-token"])
      -- cached while far from expiry: no more requests
      assert.are.equal("AKIDIMDS", p:get().access_key_id)
      assert.are.equal(3, #peer.requests())
    end)

    it("refreshes credentials near expiry, reusing the token", function()
      peer.script {
        { status = 200, body = "tok" },
        { status = 200, body = "spec-role" },
        { status = 200, body = creds_body("AKIDOLD", 5 * 60) },
        { status = 200, body = "spec-role" },
        { status = 200, body = creds_body("AKIDNEW", 6 * 3600) },
      }
      local p = resolve(env)
      assert.are.equal("AKIDOLD", p:get().access_key_id)
      assert.are.equal("AKIDNEW", p:get().access_key_id)
      local sent = peer.requests()
      assert.are.equal(5, #sent)
      assert.are.equal("GET", sent[4].method)   -- no second token PUT
      assert.are.equal("AKIDNEW", p:get().access_key_id)
      assert.are.equal(5, #peer.requests())
    end)

    it("is IMDSv2 only: no token, no credentials, and the chain goes on", function()
      peer.script { { status = 403, body = "" } }
      local c, err, code = resolve(env):get()
      assert.is_nil(c)
      assert.are.equal("NoCredentialsError", code)
      assert.truthy(err:find("iam-role: instance metadata", 1, true), err)
      assert.are.equal(1, #peer.requests())
    end)

    it("gives up after a 1 s timeout", function()
      peer.script { { stall = 3, status = 200, body = "late" } }
      local core = require "personalize.core"
      local t0 = core.now()
      local c = resolve(env):get()
      assert.is_nil(c)
      assert.is_true(core.now() - t0 < 2.5)
    end)

    it("is off with AWS_EC2_METADATA_DISABLED", function()
      peer.script { { status = 200, body = "tok" } }
      env.AWS_EC2_METADATA_DISABLED = "true"
      local c, err = resolve(env):get()
      assert.is_nil(c)
      assert.truthy(err:find("AWS_EC2_METADATA_DISABLED", 1, true))
      assert.are.equal(0, #peer.requests())
    end)

    it("is not contacted before the first get", function()
      peer.script { { status = 200, body = "tok" } }
      resolve(env)
      local client = require("personalize").client("personalize", {
        region = "us-east-1", env = env, endpoint = "http://127.0.0.1:1" })
      assert.is_table(client)
      assert.are.equal(0, #peer.requests())
    end)

    it("serves as credential_source = Ec2InstanceMetadata source (token flow runs)", function()
      peer.script {
        { status = 200, body = "tok" }, { status = 200, body = "r" },
        { status = 200, body = creds_body("AKIDSRC", 3600) },
      }
      local home = aws_env.home { config = "[profile r]\nrole_arn = arn:aws:iam::1:role/x\n"
        .. "credential_source = Ec2InstanceMetadata\n" }
      env.HOME = home.dir
      env.AWS_ENDPOINT_URL_STS = "http://127.0.0.1:1"   -- nothing listens: STS fails after IMDS
      env.AWS_REGION = "us-east-1"
      local p = credentials.resolve { profile = "r", env = env }
      local c, err = p:get()
      home:remove()
      assert.is_nil(c)
      assert.truthy(err:find("AssumeRole", 1, true), err)
      assert.are.equal(3, #peer.requests())
    end)
  end)

  describe("container credentials", function()
    it("use AWS_CONTAINER_CREDENTIALS_FULL_URI with the authorization token", function()
      peer.script { { status = 200, body = creds_body("AKIDECS", 6 * 3600) } }
      local p = resolve { AWS_CONTAINER_CREDENTIALS_FULL_URI = peer.url .. "/v2/credentials/abc",
                          AWS_CONTAINER_AUTHORIZATION_TOKEN = "Bearer xyz", AWS_EC2_METADATA_DISABLED = "true" }
      local c = assert(p:get())
      assert.are.equal("AKIDECS", c.access_key_id)
      assert.are.equal("container-role", credentials.source(p))
      local sent = peer.requests()
      assert.are.equal("/v2/credentials/abc", sent[1].path)
      assert.are.equal("Bearer xyz", sent[1].headers.authorization)
    end)

    it("prefer the token file, read at each fetch", function()
      local home = aws_env.home()
      local file = home:write("token", "from-file\n")
      peer.script { { status = 200, body = creds_body("AKIDECS", 60) } }
      local p = resolve { AWS_CONTAINER_CREDENTIALS_FULL_URI = peer.url .. "/creds",
                          AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE = file,
                          AWS_CONTAINER_AUTHORIZATION_TOKEN = "from-env" }
      assert.is_table(p:get())
      home:write("token", "rotated")
      assert.is_table(p:get())      -- 1 minute left: fetched again
      local sent = peer.requests()
      home:remove()
      assert.are.equal("from-file", sent[1].headers.authorization)
      assert.are.equal("rotated", sent[2].headers.authorization)
    end)

    it("make 3 attempts, then fail the chain clearly", function()
      peer.script { { status = 500, body = "" } }
      local p = resolve { AWS_CONTAINER_CREDENTIALS_FULL_URI = peer.url .. "/creds" }
      local slept = 0
      p.ctx.sleep = function(s) slept = slept + s end
      local c, err, code = p:get()
      assert.is_nil(c)
      assert.are.equal("CredentialRetrievalError", code)
      assert.matches("HTTP status 500", err)
      assert.are.equal(3, #peer.requests())
      assert.are.equal(2, slept)
    end)

    it("recover when a later attempt succeeds", function()
      peer.script { { reset = true }, { status = 200, body = creds_body("AKIDLATE", 3600) } }
      local p = resolve { AWS_CONTAINER_CREDENTIALS_FULL_URI = peer.url .. "/creds" }
      p.ctx.sleep = function() end
      assert.are.equal("AKIDLATE", assert(p:get()).access_key_id)
    end)

    it("refuse hosts that are not allowed", function()
      local c, err = resolve { AWS_CONTAINER_CREDENTIALS_FULL_URI = "http://169.254.169.254/creds" }:get()
      assert.is_nil(c)
      assert.matches("not allowed", err)
      assert.is_true(container.allowed("https://example.com/x"))
      assert.is_true(container.allowed("http://127.0.0.1:8080/x"))
      assert.is_true(container.allowed("http://169.254.170.23/v1/credentials"))
      assert.is_true(container.allowed("http://[fd00:ec2::23]/v1"))
      assert.is_false(container.allowed("http://10.0.0.1/x"))
      assert.is_false(container.allowed("ftp://127.0.0.1/x"))
    end)

    it("send RELATIVE_URI to 169.254.170.2 with a 2 s timeout", function()
      local seen
      local body = creds_body("AKIDREL", 3600):gsub("{{expires_in:3600}}", "2099-01-01T00:00:00Z")
      local transport = { send = function(_, req) seen = req return 200, {}, body end }
      local p = resolve({ AWS_CONTAINER_CREDENTIALS_RELATIVE_URI = "/v2/credentials/rel" },
        { credentials_transport = transport })
      assert.are.equal("AKIDREL", assert(p:get()).access_key_id)
      assert.are.equal("http://169.254.170.2/v2/credentials/rel", seen.url)
      assert.are.equal(2, seen.timeout)
    end)
  end)
end)
