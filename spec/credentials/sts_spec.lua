-- STS providers against moto_server: AssumeRole (profiles, chains,
-- credential_source) and AssumeRoleWithWebIdentity; the query protocol's
-- XML through expat.
local credentials = require "personalize.credentials"
local query = require "personalize.protocol.query"
local aws_env = require "support.aws_env"
local moto = require "support.moto"

describe("the query protocol", function()
  it("form-encodes the action, version and parameters in order", function()
    assert.are.equal("Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A1%3Arole%2Fr"
      .. "&RoleSessionName=a%20b",
      query.build("AssumeRole", "2011-06-15", { { "RoleArn", "arn:aws:iam::1:role/r" },
        { "ExternalId", nil }, { "RoleSessionName", "a b" } }))
  end)

  it("parses XML with namespaces, entities and CDATA", function()
    local doc = assert(query.parse_xml([==[<?xml version="1.0"?>
<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleResult><Credentials>
    <AccessKeyId>AKID</AccessKeyId><SecretAccessKey>a&amp;b&lt;c</SecretAccessKey>
    <SessionToken><![CDATA[tok<en>]]></SessionToken>
  </Credentials></AssumeRoleResult>
</AssumeRoleResponse>]==]))
    assert.are.equal("AssumeRoleResponse", doc.name)
    assert.are.equal("a&b<c", query.text(doc, "AssumeRoleResponse", "AssumeRoleResult", "Credentials", "SecretAccessKey"))
    assert.are.equal("tok<en>", query.text(doc, "AssumeRoleResult", "Credentials", "SessionToken"))
    assert.is_nil(query.text(doc, "AssumeRoleResult", "Nope"))
  end)

  it("rejects malformed XML", function()
    local doc, err = query.parse_xml("<a><b></a>")
    assert.is_nil(doc)
    assert.matches("malformed XML", err)
    assert.is_nil(query.parse_xml(""))
  end)

  it("reads error documents, and names the status of anything else", function()
    local f = query.parse_error(403, {}, [[<ErrorResponse><Error><Type>Sender</Type>
<Code>AccessDenied</Code><Message>not allowed</Message></Error><RequestId>r-1</RequestId></ErrorResponse>]])
    assert.are.same({ code = "AccessDenied", status = 403, message = "not allowed", request_id = "r-1" }, f)
    f = query.parse_error(502, {}, "<html>bad gateway</html>")
    assert.are.equal("502", f.code)
  end)
end)

describe("the STS endpoint", function()
  local config = require "personalize.config"
  local sts = require "personalize.sts"
  local function env(t) return function(k) return t[k] end end

  it("is regional, and ignores the client's endpoint option", function()
    local cfg = config.new { env = env {}, region = "eu-west-1", endpoint = "http://127.0.0.1:1" }
    local url, region = sts.endpoint(cfg)
    assert.are.equal("https://sts.eu-west-1.amazonaws.com", url)
    assert.are.equal("eu-west-1", region)
  end)

  it("comes from AWS_ENDPOINT_URL_STS, then AWS_ENDPOINT_URL", function()
    local cfg = config.new { env = env { AWS_ENDPOINT_URL_STS = "http://127.0.0.1:7/",
                                         AWS_ENDPOINT_URL = "http://127.0.0.1:8" },
                             region = "eu-west-1", endpoint = "http://127.0.0.1:1" }
    assert.are.equal("http://127.0.0.1:7", (sts.endpoint(cfg)))
    cfg = config.new { env = env { AWS_ENDPOINT_URL = "http://127.0.0.1:8" }, region = "eu-west-1" }
    assert.are.equal("http://127.0.0.1:8", (sts.endpoint(cfg)))
  end)

  it("is the global one without a region", function()
    local cfg = config.new { env = env { AWS_CONFIG_FILE = "/nonexistent", AWS_SHARED_CREDENTIALS_FILE = "/nonexistent" },
                             endpoint = "http://127.0.0.1:1" }
    assert.are.same({ "https://sts.amazonaws.com", "us-east-1" }, { sts.endpoint(cfg) })
  end)
end)

describe("STS providers against moto", function()
  local peer, home
  setup(function() peer = moto.start() end)
  teardown(function() if peer then peer:stop() end end)
  after_each(function() if home then home:remove() end end)

  local function env(extra)
    local t = aws_env.env(home, { AWS_ENDPOINT_URL_STS = peer.endpoint, AWS_REGION = "us-east-1",
                                  AWS_EC2_METADATA_DISABLED = "true" })
    for k, v in pairs(extra or {}) do t[k] = v end
    return t
  end

  local function get(opts)
    local p = credentials.resolve(opts)
    local c, err = p:get()
    return c, err, p
  end

  it("assume a role from a source profile's keys", function()
    if not peer then return end
    home = aws_env.home {
      config = [[
[profile role]
role_arn = arn:aws:iam::123456789012:role/first
source_profile = base
role_session_name = spec-session
external_id = ext-1
duration_seconds = 1800
]],
      credentials = "[base]\naws_access_key_id = AKIDBASE\naws_secret_access_key = base-secret\n",
    }
    local c, err, p = get { profile = "role", env = env() }
    assert.is_table(c, err)
    assert.are.equal("assume-role", credentials.source(p))
    assert.is_string(c.session_token)
    assert.are_not.equal("AKIDBASE", c.access_key_id)
    assert.truthy(c.expiration > os.time() + 1500 and c.expiration <= os.time() + 1810, tostring(c.expiration))
    assert.matches("assumed%-role/first/spec%-session", c.assumed_role_arn)
    -- cached: the same keys on the next get
    assert.are.equal(c.access_key_id, p:get().access_key_id)
  end)

  it("follow a chain of role profiles", function()
    if not peer then return end
    home = aws_env.home { config = [[
[profile base]
aws_access_key_id = AKIDBASE
aws_secret_access_key = base-secret
[profile hop1]
role_arn = arn:aws:iam::123456789012:role/hop1
source_profile = base
[profile hop2]
role_arn = arn:aws:iam::123456789012:role/hop2
source_profile = hop1
role_session_name = s2
]] }
    local c, err = get { profile = "hop2", env = env() }
    assert.is_table(c, err)
    assert.matches("assumed%-role/hop2/s2", c.assumed_role_arn)
  end)

  it("take source credentials from credential_source = Environment", function()
    if not peer then return end
    home = aws_env.home { config = "[profile ci]\nrole_arn = arn:aws:iam::123456789012:role/ci\n"
      .. "credential_source = Environment\n" }
    local c, err = get { profile = "ci",
      env = env { AWS_ACCESS_KEY_ID = "AKIDENV", AWS_SECRET_ACCESS_KEY = "env-secret" } }
    assert.is_table(c, err)
    assert.matches("assumed%-role/ci/", c.assumed_role_arn)
  end)

  it("report an STS error with its code", function()
    local fake = require("support.script_server").start()
    fake.script { { status = 403, headers = { ["Content-Type"] = "text/xml" }, body =
      "<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code>"
      .. "<Message>User is not authorized to perform sts:AssumeRole</Message></Error>"
      .. "<RequestId>req-9</RequestId></ErrorResponse>" } }
    home = aws_env.home { config = "[profile bad]\nrole_arn = arn:aws:iam::123456789012:role/x\n"
      .. "source_profile = bad\naws_access_key_id = A\naws_secret_access_key = very-secret\n" }
    local c, err = get { profile = "bad", env = env { AWS_ENDPOINT_URL_STS = fake.url } }
    local sent = fake.requests()
    fake.stop()
    assert.is_nil(c)
    assert.truthy(err:find('profile "bad": An error occurred (AccessDenied) when calling the AssumeRole '
      .. "operation: User is not authorized", 1, true), err)
    assert.is_nil(err:find("very-secret", 1, true))
    assert.are.equal(1, #sent)
    assert.are.equal("POST", sent[1].method)
    assert.matches("^Action=AssumeRole&Version=2011%-06%-15&RoleArn=", sent[1].body)
    assert.matches("Credential=A/%d+/us%-east%-1/sts/aws4_request", sent[1].headers.authorization)
  end)

  it("retry STS's transient errors and throttling, then stop at max_attempts", function()
    local fake = require("support.script_server").start()
    local ok_body = "<AssumeRoleResponse><AssumeRoleResult><Credentials><AccessKeyId>AKIDRETRIED</AccessKeyId>"
      .. "<SecretAccessKey>s</SecretAccessKey><SessionToken>t</SessionToken>"
      .. "<Expiration>2099-01-01T00:00:00Z</Expiration></Credentials></AssumeRoleResult></AssumeRoleResponse>"
    local throttled = "<ErrorResponse><Error><Code>Throttling</Code><Message>Rate exceeded</Message></Error>"
      .. "</ErrorResponse>"
    fake.script { { status = 503, body = "busy" },
                  { status = 400, headers = { ["Content-Type"] = "text/xml" }, body = throttled },
                  { status = 200, headers = { ["Content-Type"] = "text/xml" }, body = ok_body } }
    home = aws_env.home { config = "[profile r]\nrole_arn = arn:aws:iam::123456789012:role/x\n"
      .. "source_profile = r\naws_access_key_id = A\naws_secret_access_key = B\n" }
    local c, err = get { profile = "r", env = env { AWS_ENDPOINT_URL_STS = fake.url } }
    assert.is_table(c, err)
    assert.are.equal("AKIDRETRIED", c.access_key_id)
    assert.are.equal(3, #fake.requests())

    fake.script { { status = 503, body = "busy" }, { status = 503, body = "busy" } }
    c, err = get { profile = "r", env = env { AWS_ENDPOINT_URL_STS = fake.url, AWS_MAX_ATTEMPTS = "2" } }
    local sent = fake.requests()
    fake.stop()
    assert.is_nil(c)
    assert.are.equal(2, #sent)
    assert.matches("503", err)
  end)

  it("exchange a web identity token from the environment", function()
    if not peer then return end
    home = aws_env.home()
    local token = home:write("token", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJzcGVjIn0.c2ln\n")
    local c, err, p = get { env = env { AWS_WEB_IDENTITY_TOKEN_FILE = token,
      AWS_ROLE_ARN = "arn:aws:iam::123456789012:role/web", AWS_ROLE_SESSION_NAME = "web-session" } }
    assert.is_table(c, err)
    assert.are.equal("assume-role-with-web-identity", credentials.source(p))
    assert.matches("assumed%-role/web/web%-session", c.assumed_role_arn)
    assert.is_number(c.expiration)
  end)

  it("exchange a web identity token named by the profile", function()
    if not peer then return end
    home = aws_env.home()
    local token = home:write("token", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJzcGVjIn0.c2ln")
    home:write(".aws/config", "[profile web]\nrole_arn = arn:aws:iam::123456789012:role/webp\n"
      .. "web_identity_token_file = " .. token .. "\n")
    local c, err = get { profile = "web", env = env() }
    assert.is_table(c, err)
    assert.matches("assumed%-role/webp/", c.assumed_role_arn)
  end)

  it("fail clearly on a missing token file", function()
    if not peer then return end
    home = aws_env.home()
    local c, err = get { env = env { AWS_WEB_IDENTITY_TOKEN_FILE = home.dir .. "/none",
      AWS_ROLE_ARN = "arn:aws:iam::123456789012:role/web" } }
    assert.is_nil(c)
    assert.matches("web identity token file", err)
  end)

  it("sign a client's calls with the assumed role, end to end", function()
    if not peer then return end
    home = aws_env.home { config = "[profile role]\nrole_arn = arn:aws:iam::123456789012:role/e2e\n"
      .. "source_profile = role\naws_access_key_id = AKIDSELF\naws_secret_access_key = self-secret\n" }
    local out = aws_env.run([[
local sent
local transport = { sleep = function() end }
local real = require("personalize.transport.curl").new()
function transport.send(_, req)
  if req.url:find("/recommendations", 1, true) then sent = req return 200, {}, "{}" end
  return real:send(req)
end
local c = personalize.client("personalize-runtime", { transport = transport, profile = "role" })
local res, err = c:get_recommendations { userId = "u1", campaignArn = "arn:aws:personalize:us-east-1:1:campaign/c" }
show("err", err)
show("auth", sent and sent.headers.Authorization)
show("token", sent and sent.headers["X-Amz-Security-Token"] ~= nil)
]], { HOME = home.dir, AWS_REGION = "us-east-1", AWS_ENDPOINT_URL_STS = peer.endpoint })
    local v = aws_env.shown(out)
    assert.are.equal("nil", v.err, out)
    assert.is_nil(v.auth:find("AKIDSELF", 1, true))
    assert.are.equal("true", v.token)
  end)
end)
