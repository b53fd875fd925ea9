-- The credential chain: order, profiles, processes, caching and refresh.
-- The environment is injected (opts.env); one spec runs end to end in a
-- fresh interpreter.
local credentials = require "personalize.credentials"
local personalize = require "personalize"
local aws_env = require "support.aws_env"

local SECRET = "chain-spec-secret-key/+="

local CONFIG = [[
[default]
region = us-east-1

[profile cfgkeys]
aws_access_key_id = AKIDCONFIG
aws_secret_access_key = chain-spec-secret-key/+=

[profile both]
aws_access_key_id = AKIDCONFIGBOTH
aws_secret_access_key = x

[profile proc]
credential_process = sh -c 'echo "{\"Version\": 1, \"AccessKeyId\": \"AKIDPROC\", \"SecretAccessKey\": \"s\", \"SessionToken\": \"t\"}"'

[profile procfirst]
credential_process = sh -c 'echo "{\"Version\": 1, \"AccessKeyId\": \"AKIDPROCFIRST\", \"SecretAccessKey\": \"s\"}"'
aws_access_key_id = AKIDCONFIGLOSES
aws_secret_access_key = x

[profile badversion]
credential_process = echo '{"Version": 2, "AccessKeyId": "A", "SecretAccessKey": "S"}'

[profile badexit]
credential_process = sh -c 'echo "token expired, run login" >&2; exit 3'

[profile badjson]
credential_process = echo not json

[profile sso]
sso_session = corp
sso_account_id = 123456789012
sso_role_name = Admin

[profile loop-a]
role_arn = arn:aws:iam::123456789012:role/a
source_profile = loop-b

[profile loop-b]
role_arn = arn:aws:iam::123456789012:role/b
source_profile = loop-a

[profile nosource]
role_arn = arn:aws:iam::123456789012:role/a

[profile twosources]
role_arn = arn:aws:iam::123456789012:role/a
source_profile = cfgkeys
credential_source = Environment

[profile badsource]
role_arn = arn:aws:iam::123456789012:role/a
credential_source = Laptop

[profile missingsource]
role_arn = arn:aws:iam::123456789012:role/a
source_profile = ghost

[profile mfa]
role_arn = arn:aws:iam::123456789012:role/a
source_profile = cfgkeys
mfa_serial = arn:aws:iam::123456789012:mfa/me

[profile partial]
aws_access_key_id = AKIDHALF
]]

local CREDENTIALS = [[
[default]
aws_access_key_id = AKIDFILE
aws_secret_access_key = file-secret
aws_session_token = file-token

[both]
aws_access_key_id = AKIDFILEBOTH
aws_secret_access_key = y
]]

describe("the credential chain", function()
  local home
  before_each(function() home = aws_env.home { config = CONFIG, credentials = CREDENTIALS } end)
  after_each(function() home:remove() end)

  local function get(opts, env)
    opts = opts or {}
    opts.env = aws_env.env(home, env)
    local p = credentials.resolve(opts)
    local creds, err, code = p:get()
    return creds, err, code, p
  end

  it("prefers explicit credentials", function()
    local c, _, _, p = get({ access_key_id = "AKIDOPT", secret_access_key = "s" },
      { AWS_ACCESS_KEY_ID = "AKIDENV", AWS_SECRET_ACCESS_KEY = "e" })
    assert.are.equal("AKIDOPT", c.access_key_id)
    assert.are.equal("options", credentials.source(p))
    c = get { credentials = { access_key_id = "AKIDTABLE", secret_access_key = "s" } }
    assert.are.equal("AKIDTABLE", c.access_key_id)
  end)

  it("then the environment, over the files", function()
    local c, _, _, p = get(nil, { AWS_ACCESS_KEY_ID = "AKIDENV", AWS_SECRET_ACCESS_KEY = "e",
                                  AWS_SESSION_TOKEN = "env-token" })
    assert.are.equal("AKIDENV", c.access_key_id)
    assert.are.equal("env-token", c.session_token)
    assert.are.equal("env", credentials.source(p))
    assert.are.equal("personalize.credentials_provider (chain: env)", tostring(p))
  end)

  it("skips the environment when the profile option names a profile, not for AWS_PROFILE", function()
    local env = { AWS_ACCESS_KEY_ID = "AKIDENV", AWS_SECRET_ACCESS_KEY = "e" }
    assert.are.equal("AKIDCONFIG", get({ profile = "cfgkeys" }, env).access_key_id)
    env.AWS_PROFILE = "cfgkeys"
    assert.are.equal("AKIDENV", get(nil, env).access_key_id)
  end)

  it("stops at half a key pair in the environment", function()
    local c, err, code = get(nil, { AWS_ACCESS_KEY_ID = "AKIDENV" })
    assert.is_nil(c)
    assert.matches("AWS_SECRET_ACCESS_KEY", err)
    assert.are.equal("CredentialRetrievalError", code)
  end)

  it("reads the shared credentials file, then the config file", function()
    local c, _, _, p = get()
    assert.are.equal("AKIDFILE", c.access_key_id)
    assert.are.equal("file-token", c.session_token)
    assert.are.equal("shared-credentials-file", credentials.source(p))
    assert.are.equal("AKIDFILEBOTH", get({ profile = "both" }).access_key_id)
    c, _, _, p = get { profile = "cfgkeys" }
    assert.are.equal("AKIDCONFIG", c.access_key_id)
    assert.are.equal("config-file", credentials.source(p))
  end)

  it("runs credential_process before the config file's keys", function()
    local c, _, _, p = get { profile = "proc" }
    assert.are.equal("AKIDPROC", c.access_key_id)
    assert.are.equal("t", c.session_token)
    assert.are.equal("custom-process", credentials.source(p))
    assert.are.equal("AKIDPROCFIRST", get({ profile = "procfirst" }).access_key_id)
  end)

  it("reports a bad credential_process clearly, without its output", function()
    local c, err = get { profile = "badversion" }
    assert.is_nil(c)
    assert.matches("Version 2", err)
    c, err = get { profile = "badexit" }
    assert.is_nil(c)
    assert.truthy(err:find("status 3", 1, true), err)
    assert.truthy(err:find("token expired, run login", 1, true), err)
    c, err = get { profile = "badjson" }
    assert.is_nil(c)
    assert.matches("JSON", err)
  end)

  it("stops at a partial key pair in a profile", function()
    local c, err = get { profile = "partial" }
    assert.is_nil(c)
    assert.matches("partial credentials", err)
  end)

  it("hands SSO profiles to the SSO provider, whose errors name the profile", function()
    local c, err = get { profile = "sso" }
    assert.is_nil(c)
    assert.truthy(err:find('sso-session does not exist: "corp"', 1, true), err)
    assert.truthy(err:find('"sso"', 1, true), err)
  end)

  it("names a profile that does not exist", function()
    local c, err = get { profile = "ghost" }
    assert.is_nil(c)
    assert.truthy(err:find("(ghost) could not be found", 1, true), err)
  end)

  it("detects source_profile cycles and bad role profiles before any network call", function()
    local cases = {
      ["loop-a"] = "infinite loop in the source_profile chain: loop-a -> loop-b -> loop-a",
      nosource = "neither source_profile nor credential_source",
      twosources = "both source_profile and credential_source",
      badsource = 'credential_source "Laptop"',
      missingsource = 'source profile "ghost" could not be found',
      mfa = "MFA",
    }
    for profile, want in pairs(cases) do
      local c, err, code = get { profile = profile, credentials_transport = { send = function() error("sent") end } }
      assert.is_nil(c, profile)
      assert.truthy(err:find(want, 1, true), profile .. ": " .. tostring(err))
      assert.are.equal("CredentialRetrievalError", code)
    end
  end)

  it("says where it looked when nothing is found", function()
    local c, err, code = get({ profile = "default" }, { AWS_SHARED_CREDENTIALS_FILE = "/nonexistent",
      AWS_EC2_METADATA_DISABLED = "true" })
    assert.is_nil(c)
    assert.are.equal("NoCredentialsError", code)
    assert.matches("Unable to locate credentials", err)
    assert.truthy(err:find("AWS_ACCESS_KEY_ID", 1, true), err)
    assert.truthy(err:find("iam-role", 1, true), err)
  end)

  it("never prints secrets", function()
    local c, _, _, p = get { profile = "cfgkeys" }
    assert.is_nil(tostring(c):find(SECRET, 1, true))
    assert.is_nil(tostring(p):find(SECRET, 1, true))
    assert.are.equal("personalize.credentials (AKIDCONFIG, config-file)", tostring(c))
  end)

  it("are what personalize.credentials() returns, with the provider's name", function()
    local c, source = personalize.credentials { profile = "cfgkeys", env = aws_env.env(home) }
    assert.are.equal("AKIDCONFIG", c.access_key_id)
    assert.are.equal("config-file", source)
    local none, err = personalize.credentials { profile = "badexit", env = aws_env.env(home) }
    assert.is_nil(none)
    assert.matches("status 3", err)
  end)
end)

describe("credential caching and refresh", function()
  -- A provider over a scripted load() and a settable clock.
  local function scripted(answers)
    local ctx = { t = 1000000 }
    ctx.now = function() return ctx.t end
    local calls = 0
    local p = credentials.provider("test", function()
      calls = calls + 1
      local a = answers[calls] or answers[#answers]
      if type(a) == "string" then return nil, a end
      return credentials.new(a[1], "s", nil, "test", a[2] and (ctx.t + a[2]))
    end, ctx)
    return p, ctx, function() return calls end
  end

  it("keeps credentials until 15 minutes before expiry", function()
    local p, ctx, calls = scripted { { "A", 3600 }, { "B", 3600 } }
    assert.are.equal("A", p:get().access_key_id)
    ctx.t = ctx.t + 3600 - 16 * 60
    assert.are.equal("A", p:get().access_key_id)
    assert.are.equal(1, calls())
    ctx.t = ctx.t + 2 * 60             -- 14 minutes left: advisory refresh
    assert.are.equal("B", p:get().access_key_id)
    assert.are.equal(2, calls())
  end)

  it("keeps the old keys when an advisory refresh fails, not a mandatory one", function()
    local p, ctx = scripted { { "A", 3600 }, "STS is down" }
    assert.are.equal("A", p:get().access_key_id)
    ctx.t = ctx.t + 3600 - 12 * 60     -- advisory window
    assert.are.equal("A", p:get().access_key_id)
    ctx.t = ctx.t + 3 * 60             -- 9 minutes left: mandatory
    local c, err, code = p:get()
    assert.is_nil(c)
    assert.matches("STS is down", err)
    assert.are.equal("CredentialRetrievalError", code)
  end)

  it("never refreshes credentials without an expiry", function()
    local p, ctx, calls = scripted { { "A" } }
    p:get()
    ctx.t = ctx.t + 10 ^ 8
    p:get()
    assert.are.equal(1, calls())
  end)

  it("refresh credential_process output that is about to expire", function()
    local home = aws_env.home()
    local counter = home.dir .. "/count"
    local script = home:write("creds.sh", ([[
n=$(cat %s 2>/dev/null || echo 0); n=$((n+1)); echo $n > %s
exp=$(date -u -d "@$(( $(date +%%s) + $1 ))" +%%Y-%%m-%%dT%%H:%%M:%%SZ)
echo "{\"Version\": 1, \"AccessKeyId\": \"AKID$n\", \"SecretAccessKey\": \"s\", \"Expiration\": \"$exp\"}"
]]):format(counter, counter))
    home:write(".aws/config", "[profile soon]\ncredential_process = sh " .. script .. " 300\n"
      .. "[profile later]\ncredential_process = sh " .. script .. " 3600\n")
    local soon = credentials.resolve { profile = "soon", env = aws_env.env(home) }
    assert.are.equal("AKID1", soon:get().access_key_id)
    assert.are.equal("AKID2", soon:get().access_key_id)    -- 5 minutes left: refetched
    local later = credentials.resolve { profile = "later", env = aws_env.env(home) }
    assert.are.equal("AKID3", later:get().access_key_id)
    assert.are.equal("AKID3", later:get().access_key_id)   -- cached
    assert.is_number(later:get().expiration)
    home:remove()
  end)

  it("parse ISO 8601 times in UTC", function()
    assert.are.equal(0, credentials.parse_time("1970-01-01T00:00:00Z"))
    assert.are.equal(1767225600, credentials.parse_time("2026-01-01T00:00:00Z"))
    assert.are.equal(1767225600, credentials.parse_time("2026-01-01T00:00:00.123Z"))
    assert.are.equal(1767225600, credentials.parse_time("2026-01-01T02:00:00+02:00"))
    assert.are.equal(951782400, credentials.parse_time("2000-02-29T00:00:00Z"))
    assert.is_nil(credentials.parse_time("tomorrow"))
  end)
end)

describe("credentials end to end", function()
  it("come from ~/.aws/credentials of HOME with AWS_PROFILE, in a fresh process", function()
    local home = aws_env.home { config = CONFIG, credentials = CREDENTIALS }
    local out = aws_env.run([[
local sent
local transport = { sleep = function() end }
function transport.send(_, req) sent = req return 200, {}, "{}" end
local c = personalize.client("personalize", { transport = transport })
local res, err = c:list_schemas()
show("ok", res ~= nil)
show("err", err)
show("auth", sent and sent.headers.Authorization)
show("source", select(2, personalize.credentials()))
]], { HOME = home.dir, AWS_PROFILE = "both", AWS_REGION = "us-east-1" })
    local v = aws_env.shown(out)
    assert.are.equal("true", v.ok, out)
    assert.matches("Credential=AKIDFILEBOTH/", v.auth)
    assert.are.equal("shared-credentials-file", v.source)
    home:remove()
  end)
end)
