-- SSO (IAM Identity Center) credentials against a scripted loopback
-- portal: both profile forms, the token cache file names, expired and
-- missing tokens, the portal's refusals, refresh, and botocore's cache
-- key as a cross-check.
local credentials = require "personalize.credentials"
local config = require "personalize.config"
local sso = require "personalize.credentials.sso"
local script_server = require "support.script_server"
local aws_env = require "support.aws_env"
local process = require "support.process"

local START_URL = "https://d-1234567890.awsapps.com/start"
-- hashlib.sha1(b"dev-session") and hashlib.sha1(START_URL), by python3.
local SESSION_FILE = "6a8732fe3624aef043e5f7811b597bd5e2a56b39.json"
local START_URL_FILE = "7487b5b67d5fa1132cf33fa93ae51ef38cc37752.json"

local CONFIG = [[
[profile dev]
sso_session = dev-session
sso_account_id = 123456789012
sso_role_name = Power User
region = us-west-2

[sso-session dev-session]
sso_start_url = https://d-1234567890.awsapps.com/start
sso_region = eu-west-1
sso_registration_scopes = sso:account:access

[profile legacy]
sso_start_url = https://d-1234567890.awsapps.com/start
sso_region = us-east-1
sso_account_id = 210987654321
sso_role_name = ReadOnly

[profile noregion]
sso_start_url = https://d-1234567890.awsapps.com/start
sso_account_id = 210987654321

[profile halfsession]
sso_session = half
sso_role_name = ReadOnly

[sso-session half]
sso_start_url = https://d-1234567890.awsapps.com/start

[profile ghostsession]
sso_session = ghost
sso_account_id = 123456789012
sso_role_name = Admin

[profile clash]
sso_session = dev-session
sso_region = us-east-2
sso_account_id = 123456789012
sso_role_name = Admin

[profile tokenonly]
sso_session = dev-session
aws_access_key_id = AKIDSTATIC
aws_secret_access_key = static-secret
]]

local function iso(t)
  return os.date("!%Y-%m-%dT%H:%M:%SZ", t)
end

local function token_json(expires_at, token)
  return ('{"startUrl": "%s", "region": "eu-west-1", "accessToken": "%s", "expiresAt": "%s"}')
    :format(START_URL, token or "sso-access-token", expires_at)
end

local function role_body(id, expires_in)
  return ('{"roleCredentials": {"accessKeyId": "%s", "secretAccessKey": "sso-secret", '
    .. '"sessionToken": "sso-session-token", "expiration": %d}}'):format(id, (os.time() + expires_in) * 1000)
end

describe("SSO credential provider", function()
  local peer, home
  setup(function() peer = script_server.start() end)
  teardown(function() peer.stop() end)
  before_each(function()
    home = aws_env.home { config = CONFIG }
    os.execute("mkdir -p " .. aws_env.quote(home.dir .. "/.aws/sso/cache"))
  end)
  after_each(function() home:remove() end)

  local function cache(file, text)
    return home:write(".aws/sso/cache/" .. file, text)
  end

  local function env(extra)
    local e = aws_env.env(home, { AWS_ENDPOINT_URL_SSO = peer.url })
    for k, v in pairs(extra or {}) do e[k] = v end
    return e
  end

  local function resolve(profile, extra)
    return credentials.resolve { profile = profile, env = env(extra) }
  end

  it("gets role credentials for an sso-session profile", function()
    cache(SESSION_FILE, token_json(iso(os.time() + 3600)))
    peer.script { { status = 200, body = role_body("AKIDSSO", 3600) } }
    local p = resolve("dev")
    local c = assert(p:get())
    assert.are.equal("AKIDSSO", c.access_key_id)
    assert.are.equal("sso-secret", c.secret_access_key)
    assert.are.equal("sso-session-token", c.session_token)
    assert.are.equal("sso", c.source)
    assert.are.equal("sso", credentials.source(p))
    assert.is_true(math.abs(c.expiration - (os.time() + 3600)) <= 2)
    assert.is_nil(tostring(c):find("sso-secret", 1, true))

    local sent = peer.requests()
    assert.are.equal(1, #sent)
    assert.are.equal("GET", sent[1].method)
    assert.are.equal("/federation/credentials?role_name=Power%20User&account_id=123456789012", sent[1].path)
    assert.are.equal("sso-access-token", sent[1].headers["x-amz-sso_bearer_token"])
    assert.is_nil(sent[1].headers["authorization"])   -- unsigned
    -- cached while far from expiry
    assert.are.equal("AKIDSSO", p:get().access_key_id)
    assert.are.equal(1, #peer.requests())
  end)

  it("gets role credentials for a legacy profile, its token named by the start URL", function()
    cache(START_URL_FILE, token_json(iso(os.time() + 3600), "legacy-token"))
    peer.script { { status = 200, body = role_body("AKIDLEGACY", 3600) } }
    local c = assert(resolve("legacy"):get())
    assert.are.equal("AKIDLEGACY", c.access_key_id)
    local sent = peer.requests()
    assert.are.equal("/federation/credentials?role_name=ReadOnly&account_id=210987654321", sent[1].path)
    assert.are.equal("legacy-token", sent[1].headers["x-amz-sso_bearer_token"])
  end)

  it("names cache files by the SHA-1 of the session name or the start URL", function()
    local cfg = config.new { env = env() }
    assert.are.equal(home.dir .. "/.aws/sso/cache/" .. SESSION_FILE, sso.cache_path(cfg, "dev-session"))
    assert.are.equal(home.dir .. "/.aws/sso/cache/" .. START_URL_FILE, sso.cache_path(cfg, START_URL))
  end)

  it("fetches again when the role credentials near their expiry", function()
    cache(SESSION_FILE, token_json(iso(os.time() + 3600)))
    peer.script {
      { status = 200, body = role_body("AKIDOLD", 5 * 60) },
      { status = 200, body = role_body("AKIDNEW", 3600) },
    }
    local p = resolve("dev")
    assert.are.equal("AKIDOLD", p:get().access_key_id)
    assert.are.equal("AKIDNEW", p:get().access_key_id)
    assert.are.equal("AKIDNEW", p:get().access_key_id)
    assert.are.equal(2, #peer.requests())
  end)

  it("reads the token cache again at each fetch", function()
    cache(SESSION_FILE, token_json(iso(os.time() + 3600), "first-token"))
    peer.script {
      { status = 200, body = role_body("AKIDOLD", 5 * 60) },
      { status = 200, body = role_body("AKIDNEW", 3600) },
    }
    local p = resolve("dev")
    assert(p:get())
    cache(SESSION_FILE, token_json(iso(os.time() + 7200), "second-token"))
    assert(p:get())
    local sent = peer.requests()
    assert.are.equal("first-token", sent[1].headers["x-amz-sso_bearer_token"])
    assert.are.equal("second-token", sent[2].headers["x-amz-sso_bearer_token"])
  end)

  local LOGIN = "The SSO session associated with this profile has expired or is otherwise invalid. "
    .. "To refresh this SSO session run `aws sso login` with the corresponding profile (profile \"dev\")."

  it("stops the chain with `aws sso login` advice when the token expired", function()
    cache(SESSION_FILE, token_json(iso(os.time() - 60)))
    peer.script { { status = 200, body = role_body("AKIDNEVER", 3600) } }
    local c, err, code = resolve("dev"):get()
    assert.is_nil(c)
    assert.are.equal("CredentialRetrievalError", code)
    assert.truthy(err:find(LOGIN, 1, true), err)
    assert.truthy(err:find("expired at", 1, true), err)
    assert.are.equal(0, #peer.requests())
  end)

  it("says the same when no token is cached", function()
    local c, err, code = resolve("dev"):get()
    assert.is_nil(c)
    assert.are.equal("CredentialRetrievalError", code)
    assert.truthy(err:find(LOGIN, 1, true), err)
    assert.truthy(err:find(SESSION_FILE, 1, true), err)
  end)

  it("says the same when the cached token has no accessToken", function()
    cache(SESSION_FILE, ('{"expiresAt": "%s"}'):format(iso(os.time() + 3600)))
    local _, err = resolve("dev"):get()
    assert.truthy(err:find(LOGIN, 1, true), err)
  end)

  it("says the same when the portal refuses the token (403)", function()
    cache(SESSION_FILE, token_json(iso(os.time() + 3600)))
    peer.script { { status = 403, headers = { ["x-amzn-ErrorType"] = "ForbiddenException" },
                    body = '{"message": "No access"}' } }
    local c, err, code = resolve("dev"):get()
    assert.is_nil(c)
    assert.are.equal("CredentialRetrievalError", code)
    assert.truthy(err:find(LOGIN, 1, true), err)
    assert.truthy(err:find("No access", 1, true), err)
    assert.is_nil(err:find("sso-access-token", 1, true))
    assert.are.equal(1, #peer.requests())
  end)

  it("says the same on 401 (UnauthorizedException)", function()
    cache(SESSION_FILE, token_json(iso(os.time() + 3600)))
    peer.script { { status = 401, body = '{"message": "Session token not found or invalid"}' } }
    local _, err = resolve("dev"):get()
    assert.truthy(err:find(LOGIN, 1, true), err)
  end)

  it("reports other portal errors with the status and message, after retrying 5xx", function()
    local pause = sso.PAUSE
    sso.PAUSE = 0
    finally(function() sso.PAUSE = pause end)
    cache(SESSION_FILE, token_json(iso(os.time() + 3600)))
    peer.script { { status = 500, body = '{"message": "internal trouble"}' } }
    local c, err, code = resolve("dev"):get()
    assert.is_nil(c)
    assert.are.equal("CredentialRetrievalError", code)
    assert.truthy(err:find("HTTP status 500", 1, true), err)
    assert.truthy(err:find("internal trouble", 1, true), err)
    assert.truthy(err:find('"dev"', 1, true), err)
    assert.are.equal(sso.ATTEMPTS, #peer.requests())
  end)

  it("does not retry a 400", function()
    cache(SESSION_FILE, token_json(iso(os.time() + 3600)))
    peer.script { { status = 400, headers = { ["x-amzn-ErrorType"] = "InvalidRequestException" },
                    body = '{"message": "bad account"}' } }
    local _, err = resolve("dev"):get()
    assert.truthy(err:find("HTTP status 400 (InvalidRequestException): bad account", 1, true), err)
    assert.are.equal(1, #peer.requests())
  end)

  it("rejects a response without roleCredentials", function()
    cache(SESSION_FILE, token_json(iso(os.time() + 3600)))
    peer.script { { status = 200, body = '{}' } }
    local _, err, code = resolve("dev"):get()
    assert.are.equal("CredentialRetrievalError", code)
    assert.truthy(err:find("roleCredentials", 1, true), err)
  end)

  it("names the missing settings and the profile", function()
    local _, err, code = resolve("noregion"):get()
    assert.are.equal("CredentialRetrievalError", code)
    assert.truthy(err:find('The profile "noregion" is configured to use SSO but is missing '
      .. 'required configuration: sso_role_name, sso_region', 1, true), err)
    _, err = resolve("halfsession"):get()
    assert.truthy(err:find('"halfsession"', 1, true), err)
    assert.truthy(err:find("sso_account_id, sso_region", 1, true), err)
  end)

  it("stops on an sso-session that does not exist", function()
    local _, err, code = resolve("ghostsession"):get()
    assert.are.equal("CredentialRetrievalError", code)
    assert.truthy(err:find('The specified sso-session does not exist: "ghost"', 1, true), err)
  end)

  it("stops when the profile and its sso-session disagree", function()
    local _, err = resolve("clash"):get()
    assert.truthy(err:find("sso_region is inconsistent", 1, true), err)
  end)

  it("leaves profiles without sso_account_id or sso_role_name to the rest of the chain", function()
    local c = assert(resolve("tokenonly"):get())
    assert.are.equal("AKIDSTATIC", c.access_key_id)
  end)

  describe("the portal endpoint", function()
    it("is regional by default, in the region's partition", function()
      local cfg = config.new { env = aws_env.env(home) }
      assert.are.equal("https://portal.sso.eu-west-1.amazonaws.com", sso.endpoint(cfg, "eu-west-1"))
      assert.are.equal("https://portal.sso.cn-north-1.amazonaws.com.cn", sso.endpoint(cfg, "cn-north-1"))
    end)

    it("ignores the client's endpoint option but honours AWS_ENDPOINT_URL", function()
      local cfg = config.new { env = aws_env.env(home), endpoint = "http://127.0.0.1:1" }
      assert.are.equal("https://portal.sso.eu-west-1.amazonaws.com", sso.endpoint(cfg, "eu-west-1"))
      cfg = config.new { env = aws_env.env(home, { AWS_ENDPOINT_URL = "http://127.0.0.1:9/" }) }
      assert.are.equal("http://127.0.0.1:9", sso.endpoint(cfg, "eu-west-1"))
    end)

    it("comes from the profile's services section", function()
      home:write(".aws/config", CONFIG:gsub("region = us%-west%-2", "region = us-west-2\nservices = local-sso")
        .. "\n[services local-sso]\nsso =\n  endpoint_url = " .. peer.url .. "\n")
      cache(SESSION_FILE, token_json(iso(os.time() + 3600)))
      peer.script { { status = 200, body = role_body("AKIDSVC", 3600) } }
      local c = assert(credentials.resolve { profile = "dev", env = aws_env.env(home) }:get())
      assert.are.equal("AKIDSVC", c.access_key_id)
    end)
  end)

  describe("token expiry times", function()
    local T = 1795867200   -- 2026-11-28T12:00:00Z
    for _, s in ipairs { "2026-11-28T12:00:00Z", "2026-11-28T12:00:00.123456Z", "2026-11-28T12:00:00+00:00",
                         "2026-11-28T12:00:00UTC", "2026-11-28T13:00:00+01:00" } do
      it("reads " .. s, function()
        assert.are.equal(T, sso.token_expiry(s))
      end)
    end
    it("refuses garbage", function()
      assert.is_nil(sso.token_expiry("tomorrow"))
      assert.is_nil(sso.token_expiry(12))
    end)
  end)

  describe("botocore cross-check", function()
    local function have_botocore()
      local python = process.which("python3")
      local ok = python and os.execute(python .. " -c 'import botocore' 2>/dev/null")
      if ok == true or ok == 0 then return python end
      local msg = "botocore is not importable: the SSO token cache key is not cross-checked"
      if os.getenv("CI") == "true" then error(msg) end
      io.stderr:write("\n*** SKIPPED: " .. msg .. " ***\n")
    end

    it("botocore's SSOTokenLoader finds the token in the file we read", function()
      local python = have_botocore()
      if not python then return end
      cache(SESSION_FILE, token_json(iso(os.time() + 3600), "session-token-x"))
      cache(START_URL_FILE, token_json(iso(os.time() + 3600), "legacy-token-y"))
      local script = "import sys\n"
        .. "from botocore.utils import SSOTokenLoader, JSONFileCache\n"
        .. "loader = SSOTokenLoader(cache=JSONFileCache(sys.argv[1]))\n"
        .. "print(loader(sys.argv[2], session_name=sys.argv[3])['accessToken'])\n"
        .. "print(loader(sys.argv[2])['accessToken'])\n"
      local p = io.popen(("%s -c %s %s %s %s"):format(python, aws_env.quote(script),
        aws_env.quote(home.dir .. "/.aws/sso/cache"), aws_env.quote(START_URL), aws_env.quote("dev-session")))
      local out = p:read("*a")
      p:close()
      assert.are.equal("session-token-x\nlegacy-token-y\n", out)
      local cfg = config.new { env = env() }
      assert.are.equal(home.dir .. "/.aws/sso/cache/" .. SESSION_FILE, sso.cache_path(cfg, "dev-session"))
    end)

    it("our cache key of a non-ASCII session name is botocore's", function()
      local python = have_botocore()
      if not python then return end
      local name = "équipe-données"
      local script = "import sys\nfrom botocore.utils import SSOTokenLoader\n"
        .. "print(SSOTokenLoader()._generate_cache_key(None, sys.argv[1]))\n"
      local p = io.popen(("%s -c %s %s"):format(python, aws_env.quote(script), aws_env.quote(name)))
      local out = p:read("*l")
      p:close()
      local cfg = config.new { env = env() }
      assert.are.equal(home.dir .. "/.aws/sso/cache/" .. out .. ".json", sso.cache_path(cfg, name))
    end)
  end)
end)
