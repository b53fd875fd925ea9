-- Configuration precedence: options, environment, shared files.
-- Unit specs inject the environment (config.new{ env = {...} }); the
-- end-to-end ones run a fresh interpreter under `env -i`.
local config = require "personalize.config"
local aws_env = require "support.aws_env"

local PERSONALIZE = config.service { serviceId = "Personalize", endpointPrefix = "personalize" }
local RUNTIME = config.service { serviceId = "Personalize Runtime", endpointPrefix = "personalize-runtime" }
local EVENTS = config.service { serviceId = "Personalize Events", endpointPrefix = "personalize-events" }

local CONFIG = [[
[default]
region = us-west-2
max_attempts = 7

[profile dev]
region = eu-central-1
retry_mode = adaptive
services = local-dev
ca_bundle = ~/ca.pem
sdk_ua_app_id = dev-app

[profile ep]
endpoint_url = http://127.0.0.1:9000

[profile svc]
services = local-dev
endpoint_url = http://127.0.0.1:9000

[profile ignore]
services = local-dev
ignore_configured_endpoint_urls = true

[profile fips]
region = us-east-1
use_fips_endpoint = true

[profile dual]
region = us-east-1
use_dualstack_endpoint = true

[services local-dev]
personalize =
  endpoint_url = http://127.0.0.1:4566
personalize_runtime =
  endpoint_url = http://127.0.0.1:4567
]]

describe("personalize.config", function()
  local home
  before_each(function() home = aws_env.home { config = CONFIG } end)
  after_each(function() home:remove() end)

  local function cfg(opts, env)
    opts = opts or {}
    opts.env = aws_env.env(home, env)
    return config.new(opts)
  end

  describe("files and profiles", function()
    it("default to ~/.aws/config and ~/.aws/credentials", function()
      local c = cfg()
      assert.are.equal(home.dir .. "/.aws/config", c:config_path())
      assert.are.equal(home.dir .. "/.aws/credentials", c:credentials_path())
    end)

    it("follow AWS_CONFIG_FILE and AWS_SHARED_CREDENTIALS_FILE", function()
      local other = home:write("other", "[profile x]\nregion = sa-east-1\n")
      local c = cfg({ profile = "x" }, { AWS_CONFIG_FILE = other, AWS_SHARED_CREDENTIALS_FILE = "/tmp/nope" })
      assert.are.equal("sa-east-1", c:region())
      assert.are.equal("/tmp/nope", c:credentials_path())
    end)

    it("pick the profile from the option, then AWS_PROFILE, then default", function()
      assert.are.equal("default", cfg().profile_name)
      assert.are.equal("dev", cfg(nil, { AWS_PROFILE = "dev" }).profile_name)
      local c = cfg({ profile = "ep" }, { AWS_PROFILE = "dev" })
      assert.are.equal("ep", c.profile_name)
      assert.is_true(c.profile_explicit)
      assert.is_false(cfg(nil, { AWS_PROFILE = "dev" }).profile_explicit)
    end)

    it("read [profile default] when there is no [default]", function()
      home:write(".aws/config", "[profile default]\nregion = af-south-1\n")
      assert.are.equal("af-south-1", cfg():region())
    end)

    it("raise on a profile option that is not a string", function()
      assert.has_error(function() config.new { profile = 1 } end)
      assert.has_error(function() config.new { env = 1 } end)
    end)
  end)

  describe("region", function()
    it("comes from the option, AWS_REGION, AWS_DEFAULT_REGION, then the profile", function()
      local env = { AWS_REGION = "eu-west-1", AWS_DEFAULT_REGION = "ap-south-1" }
      assert.are.equal("ca-central-1", cfg({ region = "ca-central-1" }, env):region())
      assert.are.equal("eu-west-1", cfg(nil, env):region())
      env.AWS_REGION = nil
      assert.are.equal("ap-south-1", cfg(nil, env):region())
      assert.are.equal("us-west-2", cfg():region())
      assert.are.equal("eu-central-1", cfg({ profile = "dev" }):region())
      assert.are.equal("eu-central-1", cfg(nil, { AWS_PROFILE = "dev" }):region())
    end)

    it("treats empty values as unset", function()
      assert.are.equal("us-west-2", cfg({ region = "" }, { AWS_REGION = "", AWS_DEFAULT_REGION = "" }):region())
    end)

    it("is a clear error naming every place when missing", function()
      home:write(".aws/config", "[profile dev]\noutput = json\n")
      local region, err = cfg { profile = "dev" }:region()
      assert.is_nil(region)
      for _, word in ipairs { "region =", "AWS_REGION", "AWS_DEFAULT_REGION", "[profile dev]", home.config } do
        assert.truthy(err:find(word, 1, true), err)
      end
    end)

    it("rejects a malformed region", function()
      local region, err = cfg { region = "us east 1" }:region()
      assert.is_nil(region)
      assert.matches("invalid region", err)
    end)
  end)

  describe("endpoints", function()
    local function ep(opts, env, service)
      return cfg(opts, env):endpoint(service or PERSONALIZE, "us-east-1")
    end

    it("default to the rule set's host", function()
      assert.are.equal("https://personalize.us-east-1.amazonaws.com", ep())
      assert.are.equal("https://personalize-runtime.us-east-1.amazonaws.com", ep(nil, nil, RUNTIME))
      assert.are.equal("https://personalize-events.cn-north-1.amazonaws.com.cn",
        cfg():endpoint(EVENTS, "cn-north-1"))
      assert.are.equal("https://personalize.us-gov-west-1.amazonaws.com",
        cfg():endpoint(PERSONALIZE, "us-gov-west-1"))
      assert.are.equal("https://personalize.us-iso-east-1.c2s.ic.gov",
        cfg():endpoint(PERSONALIZE, "us-iso-east-1"))
    end)

    it("take the endpoint option first", function()
      assert.are.equal("http://127.0.0.1:1", ep({ endpoint = "http://127.0.0.1:1/", profile = "svc" },
        { AWS_ENDPOINT_URL_PERSONALIZE = "http://127.0.0.1:2", AWS_ENDPOINT_URL = "http://127.0.0.1:3",
          AWS_IGNORE_CONFIGURED_ENDPOINT_URLS = "true" }))
    end)

    it("then AWS_ENDPOINT_URL_<SERVICE>, then AWS_ENDPOINT_URL", function()
      local env = { AWS_ENDPOINT_URL_PERSONALIZE = "http://127.0.0.1:2",
                    AWS_ENDPOINT_URL_PERSONALIZE_RUNTIME = "http://127.0.0.1:5",
                    AWS_ENDPOINT_URL_PERSONALIZE_EVENTS = "http://127.0.0.1:6",
                    AWS_ENDPOINT_URL = "http://127.0.0.1:3" }
      assert.are.equal("http://127.0.0.1:2", ep({ profile = "svc" }, env))
      assert.are.equal("http://127.0.0.1:5", ep({ profile = "svc" }, env, RUNTIME))
      assert.are.equal("http://127.0.0.1:6", ep({ profile = "svc" }, env, EVENTS))
      env.AWS_ENDPOINT_URL_PERSONALIZE = nil
      assert.are.equal("http://127.0.0.1:3", ep({ profile = "svc" }, env))
    end)

    it("then the profile's services section, then its endpoint_url", function()
      assert.are.equal("http://127.0.0.1:4566", ep { profile = "svc" })
      assert.are.equal("http://127.0.0.1:4567", ep({ profile = "svc" }, nil, RUNTIME))
      -- no personalize_events block: the profile's endpoint_url
      assert.are.equal("http://127.0.0.1:9000", ep({ profile = "svc" }, nil, EVENTS))
      assert.are.equal("http://127.0.0.1:9000", ep { profile = "ep" })
    end)

    it("ignore the configured ones when asked, by env or profile", function()
      local env = { AWS_ENDPOINT_URL = "http://127.0.0.1:3", AWS_IGNORE_CONFIGURED_ENDPOINT_URLS = "true" }
      assert.are.equal("https://personalize.us-east-1.amazonaws.com", ep({ profile = "svc" }, env))
      assert.are.equal("https://personalize.us-east-1.amazonaws.com", ep { profile = "ignore" })
      assert.are.equal("http://127.0.0.1:7", ep { profile = "ignore", endpoint = "http://127.0.0.1:7" })
      env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS = "false"
      assert.are.equal("http://127.0.0.1:3", ep({ profile = "svc" }, env))
    end)

    it("use FIPS and dual-stack hosts", function()
      assert.are.equal("https://personalize-fips.us-east-1.amazonaws.com", ep { profile = "fips" })
      assert.are.equal("https://personalize.us-east-1.api.aws", ep { profile = "dual" })
      assert.are.equal("https://personalize-runtime-fips.us-east-1.api.aws",
        ep(nil, { AWS_USE_FIPS_ENDPOINT = "true", AWS_USE_DUALSTACK_ENDPOINT = "TRUE" }, RUNTIME))
      assert.are.equal("https://personalize.cn-north-1.api.amazonwebservices.com.cn",
        cfg(nil, { AWS_USE_DUALSTACK_ENDPOINT = "true" }):endpoint(PERSONALIZE, "cn-north-1"))
      assert.are.equal("https://personalize-fips.us-iso-east-1.c2s.ic.gov",
        cfg(nil, { AWS_USE_FIPS_ENDPOINT = "true" }):endpoint(PERSONALIZE, "us-iso-east-1"))
    end)

    it("refuse FIPS or dual-stack with a custom endpoint or a partition without it", function()
      local url, err = ep({ endpoint = "http://127.0.0.1:1" }, { AWS_USE_FIPS_ENDPOINT = "true" })
      assert.is_nil(url)
      assert.matches("FIPS and custom endpoint", err)
      url, err = ep({ profile = "dual" }, { AWS_ENDPOINT_URL = "http://127.0.0.1:3" })
      assert.is_nil(url)
      assert.matches("Dualstack and custom endpoint", err)
      url, err = cfg(nil, { AWS_USE_DUALSTACK_ENDPOINT = "true" }):endpoint(PERSONALIZE, "us-iso-east-1")
      assert.is_nil(url)
      assert.matches("does not support DualStack", err)
      assert.has_error(function() ep(nil, { AWS_USE_FIPS_ENDPOINT = "yes" }) end)
    end)

    it("reject a configured endpoint that is not a URL, naming where it came from", function()
      local url, err = ep(nil, { AWS_ENDPOINT_URL_PERSONALIZE = "localhost:1" })
      assert.is_nil(url)
      assert.truthy(err:find("AWS_ENDPOINT_URL_PERSONALIZE", 1, true), err)
    end)
  end)

  describe("other settings", function()
    it("max_attempts and retry_mode from option, env, profile", function()
      assert.are.equal(7, cfg():integer("max_attempts", "AWS_MAX_ATTEMPTS", 1))
      assert.are.equal(4, cfg(nil, { AWS_MAX_ATTEMPTS = "4" }):integer("max_attempts", "AWS_MAX_ATTEMPTS", 1))
      assert.are.equal(2, cfg({ max_attempts = 2 }, { AWS_MAX_ATTEMPTS = "4" })
        :integer("max_attempts", "AWS_MAX_ATTEMPTS", 1))
      assert.has_error(function() cfg(nil, { AWS_MAX_ATTEMPTS = "zero" }):integer("max_attempts", "AWS_MAX_ATTEMPTS", 1) end)
      assert.are.equal("adaptive", cfg { profile = "dev" }:setting("retry_mode", "AWS_RETRY_MODE"))
      assert.are.equal("standard", cfg({ profile = "dev" }, { AWS_RETRY_MODE = "standard" })
        :setting("retry_mode", "AWS_RETRY_MODE"))
    end)

    it("ca_bundle from option, AWS_CA_BUNDLE, profile (with ~ expanded)", function()
      assert.are.equal(home.dir .. "/ca.pem", cfg { profile = "dev" }:ca_bundle())
      assert.are.equal("/env.pem", cfg({ profile = "dev" }, { AWS_CA_BUNDLE = "/env.pem" }):ca_bundle())
      assert.are.equal("/opt.pem", cfg({ profile = "dev", ca_bundle = "/opt.pem" }, { AWS_CA_BUNDLE = "/env.pem" }):ca_bundle())
      assert.is_nil(cfg():ca_bundle())
    end)

    it("the User-Agent app id from option, AWS_SDK_UA_APP_ID, profile", function()
      assert.are.equal("dev-app", cfg { profile = "dev" }:app_id())
      assert.are.equal("env-app", cfg({ profile = "dev" }, { AWS_SDK_UA_APP_ID = "env-app" }):app_id())
      assert.are.equal("opt-app", cfg({ profile = "dev", app_id = "opt-app" }):app_id())
    end)

    it("timeouts are positive numbers", function()
      assert.are.equal(1.5, cfg { connect_timeout = 1.5 }:timeout("connect_timeout"))
      assert.is_nil(cfg():timeout("read_timeout"))
      assert.has_error(function() cfg { read_timeout = -1 }:timeout("read_timeout") end)
    end)

    it("never keeps the explicit keys of the options", function()
      local c = cfg { access_key_id = "AKID", secret_access_key = "SECRET", session_token = "TOKEN" }
      assert.is_nil(c.opts.secret_access_key)
      assert.is_nil(c.opts.session_token)
    end)
  end)
end)

describe("client configuration end to end", function()
  local home
  before_each(function() home = aws_env.home { config = CONFIG } end)
  after_each(function() home:remove() end)

  local CODE = [[
local transport = { sleep = function() end }
function transport.send(_, req) return 200, {}, "{}" end
local ok, c = pcall(personalize.client, SERVICE, { transport = transport, access_key_id = "A",
  secret_access_key = "S", profile = PROFILE })
if not ok then show("error", c) return end
show("region", c.region)
show("endpoint", c.endpoint)
show("max_attempts", c.max_attempts)
show("retry_mode", c.retry_mode)
]]
  local function run(service, profile, env)
    local code = CODE:gsub("SERVICE", ("%q"):format(service)):gsub("PROFILE", profile and ("%q"):format(profile) or "nil")
    env = env or {}
    env.HOME = home.dir
    return aws_env.shown(aws_env.run(code, env))
  end

  it("reads region, retries and endpoints from ~/.aws/config of HOME", function()
    local v = run("personalize", "dev")
    assert.are.equal("eu-central-1", v.region)
    assert.are.equal("http://127.0.0.1:4566", v.endpoint)
    assert.are.equal("3", v.max_attempts)
    assert.are.equal("adaptive", v.retry_mode)
    v = run("personalize-runtime", nil, { AWS_PROFILE = "dev" })
    assert.are.equal("http://127.0.0.1:4567", v.endpoint)
    v = run("personalize-events")
    assert.are.equal("us-west-2", v.region)
    assert.are.equal("https://personalize-events.us-west-2.amazonaws.com", v.endpoint)
    assert.are.equal("7", v.max_attempts)
    assert.are.equal("standard", v.retry_mode)
  end)

  it("lets the environment beat the files", function()
    local v = run("personalize", "dev", { AWS_REGION = "ap-northeast-1", AWS_MAX_ATTEMPTS = "2",
      AWS_RETRY_MODE = "standard", AWS_ENDPOINT_URL_PERSONALIZE = "http://127.0.0.1:8" })
    assert.are.equal("ap-northeast-1", v.region)
    assert.are.equal("http://127.0.0.1:8", v.endpoint)
    assert.are.equal("2", v.max_attempts)
    assert.are.equal("standard", v.retry_mode)
  end)

  it("fails clearly on FIPS with a custom endpoint and on a bad retry mode", function()
    local v = run("personalize", "fips", { AWS_ENDPOINT_URL = "http://127.0.0.1:3" })
    assert.matches("FIPS and custom endpoint", v.error)
    v = run("personalize", nil, { AWS_RETRY_MODE = "legacy" })
    assert.matches("retry_mode", v.error)
  end)

  it("says where to set a missing region", function()
    local v = run("personalize", nil, { AWS_CONFIG_FILE = "/nonexistent/config" })
    assert.truthy(v.error:find("AWS_DEFAULT_REGION", 1, true), v.error)
  end)
end)
