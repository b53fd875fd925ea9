-- personalize.transport.ngx outside nginx: it loads in plain Lua, parses
-- URLs, validates its options, falls back to curl, and the client accepts
-- it by name. Its behaviour inside nginx: transport_spec.lua.
local ngx_transport = require "personalize.transport.ngx"
local process = require "support.process"

describe("personalize.transport.ngx outside nginx", function()
  it("splits URLs into scheme, host, port and the request target as given", function()
    assert.are.same({ "https", "personalize-runtime.us-east-1.amazonaws.com", 443, "/recommendations" },
      { ngx_transport.split_url("https://personalize-runtime.us-east-1.amazonaws.com/recommendations") })
    assert.are.same({ "http", "127.0.0.1", 8642, "/a%2Fb?x=1&y=%20" },
      { ngx_transport.split_url("http://127.0.0.1:8642/a%2Fb?x=1&y=%20") })
    assert.are.same({ "http", "::1", 80, "/?q" }, { ngx_transport.split_url("http://[::1]?q") })
    assert.are.same({ "http", "h", 80, "/" }, { ngx_transport.split_url("HTTP://h#frag") })
    assert.is_nil(ngx_transport.split_url("ftp://h/"))
    assert.is_nil(ngx_transport.split_url("no-scheme/"))
  end)

  it("knows it is not inside nginx and leaves messages alone", function()
    assert.is_false(ngx_transport.available())
    assert.is_nil(ngx_transport.phase())
    assert.are.equal("no region", ngx_transport.env_hint("no region", { "AWS_REGION" }))
  end)

  it("raises on bad timeouts", function()
    assert.has_error(function() ngx_transport.new { timeout = 0 } end,
      "personalize.transport.ngx: timeout must be a positive number of seconds")
    assert.has_error(function() ngx_transport.new { connect_timeout = "5" } end)
  end)

  it("sends through curl where there are no cosockets, with curl's error codes", function()
    local t = ngx_transport.new { connect_timeout = 1 }
    local status, code, message = t:send { method = "GET", url = "http://127.0.0.1:" .. process.free_port() .. "/" }
    assert.is_nil(status)
    assert.are.equal("EndpointConnectionError", code)
    assert.is_string(message)
    t:close()
  end)

  it("is chosen by name; other names are refused", function()
    local personalize = require "personalize"
    local c = personalize.client("personalize-runtime", { region = "us-east-1", transport = "ngx",
      credentials = { access_key_id = "AKID", secret_access_key = "secret" } })
    assert.are.equal("ngx", c.transport.name)
    c = personalize.client("personalize-runtime", { region = "us-east-1" })
    assert.are.equal("curl", c.transport.name)
    assert.has_error(function()
      personalize.client("personalize-runtime", { region = "us-east-1", transport = "socket" })
    end, 'personalize.client: transport must be "curl", "ngx" or an object, got "socket"')
    local s3 = personalize.client("s3", { region = "us-east-1", transport = "ngx",
      credentials = { access_key_id = "AKID", secret_access_key = "secret" } })
    assert.are.equal("ngx", s3.transport.name)
    assert.is_true(s3.streams_files)
    assert.has_error(function()
      personalize.client("s3", { region = "us-east-1", transport = 42 })
    end, 'personalize.s3: transport must be "curl", "ngx" or an object with send(), got number')
  end)

  it("shares one provider per profile and region and keeps explicit keys as they are", function()
    local calls = 0
    local inner = { name = "chain" }
    function inner.get()
      calls = calls + 1
      inner.cached = { access_key_id = "AKIDSHARED" }
      return inner.cached
    end
    local cfg = { profile_name = "spec-shared", profile_explicit = true }
    local a = ngx_transport.credentials(inner, cfg, "eu-west-1")
    local b = ngx_transport.credentials({ name = "chain" }, cfg, "eu-west-1")
    assert.are.equal(a, b)
    assert.are_not.equal(a, ngx_transport.credentials({ name = "chain" }, cfg, "us-east-1"))
    assert.are.equal("AKIDSHARED", a:get().access_key_id)
    assert.are.equal("AKIDSHARED", b:get().access_key_id)
    assert.are.equal(1, calls)
    -- a refresh is due (12 minutes left) while another request refreshes:
    -- the keys still valid are used, nothing is fetched
    local core = require "personalize.core"
    inner.cached = { access_key_id = "AKIDOLD", expiration = core.time() + 12 * 60 }
    a.busy = true
    assert.are.equal("AKIDOLD", a:get().access_key_id)
    assert.are.equal(1, calls)
    -- nobody refreshes: this request does
    a.busy = false
    assert.are.equal("AKIDSHARED", a:get().access_key_id)
    assert.are.equal(2, calls)
    local explicit = { name = "options" }
    assert.are.equal(explicit, ngx_transport.credentials(explicit, cfg, "eu-west-1"))
  end)
end)
