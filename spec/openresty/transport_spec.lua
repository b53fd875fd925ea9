-- personalize.transport.ngx inside nginx: framing (Content-Length,
-- chunked, read to close, HEAD), keep-alive, files, timeouts and the curl
-- transport's error codes, the credentials lock, the automatic choice and
-- the `env` hints. A second server of the same nginx is the scripted peer.
local cjson = require "cjson"
local engine_server = require "support.engine_server"
local process = require "support.process"
local runner = require "openresty.support.nginx_runner"

local ROOT = engine_server.ROOT

-- A self-signed certificate for localhost (trusted by the driver) and
-- another one nobody trusts, in `dir`.
local function make_certs(dir)
  for _, name in ipairs { "trusted", "untrusted" } do
    local cmd = ("openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost "
      .. "-addext subjectAltName=DNS:localhost -keyout %s/%s.key -out %s/%s.pem >/dev/null 2>&1")
      :format(dir, name, dir, name)
    assert(os.execute(cmd), "openssl could not make a certificate")
  end
  assert(os.execute("chmod 755 " .. dir .. " && chmod 644 " .. dir .. "/*"))
end

local function conf(driver_port, peer_port, tls_port, bad_tls_port, certs)
  return ([[
load_module /usr/lib/nginx/modules/ndk_http_module.so;
load_module /usr/lib/nginx/modules/ngx_http_lua_module.so;
worker_processes 1;
pid logs/nginx.pid;
error_log logs/error.log info;
env AWS_EC2_METADATA_DISABLED;
env AWS_CONTAINER_CREDENTIALS_FULL_URI;
events { worker_connections 128; }
http {
  access_log off;
  client_body_temp_path tmp/client_body;
  proxy_temp_path tmp/proxy;
  fastcgi_temp_path tmp/fastcgi;
  uwsgi_temp_path tmp/uwsgi;
  scgi_temp_path tmp/scgi;
  lua_package_path "@ROOT@/spec/?.lua;@ROOT@/lua/?.lua;@ROOT@/lua/?/init.lua;/usr/share/lua/5.1/?.lua;/usr/share/lua/5.1/?/init.lua;;";
  lua_package_cpath "@ROOT@/build/luajit/?.so;/usr/lib/x86_64-linux-gnu/lua/5.1/?.so;;";
  lua_shared_dict results 1m;
  lua_ssl_trusted_certificate @CERTS@/trusted.pem;
  server {
    listen 127.0.0.1:@DRIVER@;
    location = /t { content_by_lua_block { require("openresty.support.ngx_driver").run() } }
    location = /log-phase {
      content_by_lua_block { ngx.say("ok") }
      log_by_lua_block { require("openresty.support.ngx_driver").log_phase() }
    }
    location = /results { content_by_lua_block { require("openresty.support.ngx_driver").results() } }
  }
  server {
    listen 127.0.0.1:@PEER@;
    keepalive_timeout 30s;
    location = /cl { content_by_lua_block {
      ngx.header["Content-Length"] = 12; ngx.header["X-Multi"] = { "a", "b" }; ngx.print("hello length") } }
    location = /chunked { content_by_lua_block {
      ngx.print("part one, "); ngx.flush(true); ngx.print("part two") } }
    location = /close {
      chunked_transfer_encoding off;
      content_by_lua_block { ngx.print("to the end "); ngx.flush(true); ngx.print("of the connection") } }
    location = /big { content_by_lua_block {
      for _ = 1, 20 do ngx.print(string.rep("x", 10000)); ngx.flush(true) end } }
    location = /echo { content_by_lua_block {
      ngx.req.read_body()
      local h = ngx.req.get_headers()
      ngx.say(require("cjson").encode { method = ngx.req.get_method(), body = ngx.req.get_body_data(),
        host = h.host, ua = h["user-agent"], test = h["x-test"], length = h["content-length"] }) } }
    location = /conn { content_by_lua_block { ngx.print(ngx.var.connection) } }
    location /bkt/ { content_by_lua_block {
      -- a bucket: PUT keeps the object, GET gives it back
      local key = "obj:" .. ngx.var.uri
      if ngx.req.get_method() == "PUT" then
        ngx.req.read_body()
        ngx.shared.results:set(key, ngx.req.get_body_data() or "")
        ngx.header["ETag"] = '"e"'
        return
      end
      local body = ngx.shared.results:get(key)
      if not body then
        ngx.status = 404
        ngx.header["Content-Type"] = "application/xml"
        return ngx.print("<Error><Code>NoSuchKey</Code><Message>none</Message></Error>")
      end
      ngx.print(body) } }
    location = /flaky { content_by_lua_block {
      -- answers the first request of a connection; closes on the next one
      if ngx.var.connection_requests ~= "1" then return ngx.exit(444) end
      ngx.header["Content-Length"] = 2; ngx.print("ok") } }
    location = /slow { content_by_lua_block { ngx.sleep(2); ngx.print("late") } }
    location = /status { content_by_lua_block { ngx.status = 503; ngx.print("busy") } }
    location = /creds { content_by_lua_block {
      ngx.shared.results:incr("creds_hits", 1, 0)
      ngx.sleep(0.3)
      ngx.print('{"AccessKeyId":"AKIDCONTAINER","SecretAccessKey":"container-secret","Token":"tok",'
        .. '"Expiration":"2099-01-01T00:00:00Z"}') } }
    location = /recommendations { content_by_lua_block {
      ngx.req.read_body()
      if (ngx.req.get_body_data() or ""):find('"userId":"slow', 1, true) then ngx.sleep(0.4) end
      local auth = ngx.req.get_headers()["authorization"] or ""
      ngx.shared.results:set("last_auth_key", auth:match("Credential=([^/]+)") or "")
      ngx.header["Content-Type"] = "application/json"
      ngx.print('{"itemList":[{"itemId":"1"}],"recommendationId":"r"}') } }
  }
  server {
    listen 127.0.0.1:@TLS@ ssl;
    ssl_certificate @CERTS@/trusted.pem;
    ssl_certificate_key @CERTS@/trusted.key;
    location = /cl { content_by_lua_block { ngx.print("over tls") } }
  }
  server {
    listen 127.0.0.1:@BADTLS@ ssl;
    ssl_certificate @CERTS@/untrusted.pem;
    ssl_certificate_key @CERTS@/untrusted.key;
    location = /cl { content_by_lua_block { ngx.print("over unverified tls") } }
  }
}
]]):gsub("@ROOT@", ROOT):gsub("@DRIVER@", tostring(driver_port)):gsub("@PEER@", tostring(peer_port))
    :gsub("@TLS@", tostring(tls_port)):gsub("@BADTLS@", tostring(bad_tls_port)):gsub("@CERTS@", certs)
end

describe("personalize.transport.ngx in nginx", function()
  if not runner.available() then return end
  local ng, driver, peer, tls, bad_tls, certs

  setup(function()
    driver, peer, tls, bad_tls = process.free_port(), process.free_port(), process.free_port(), process.free_port()
    certs = os.tmpname()
    os.remove(certs)
    assert(os.execute("mkdir -p " .. certs))
    make_certs(certs)
    ng = runner.start(conf(driver, peer, tls, bad_tls, certs), { ports = { driver, peer, tls, bad_tls },
      env = { AWS_EC2_METADATA_DISABLED = "true",
              AWS_CONTAINER_CREDENTIALS_FULL_URI = "http://127.0.0.1:" .. peer .. "/creds" } })
  end)
  teardown(function()
    if ng then ng.stop() end
    if certs then os.execute("rm -rf " .. certs) end
  end)

  local function case(query)
    if not query:find("peer=", 1, true) then query = query .. "&peer=" .. peer end
    local status, body = runner.request(driver, "GET", "/t?" .. query)
    assert.are.equal(200, status, body)
    local doc = cjson.decode(body)
    assert.is_nil(doc.lua_error)
    return doc
  end

  it("reads Content-Length, chunked and read-to-close bodies", function()
    local r = case("case=send&path=/cl")
    assert.are.equal(200, r.status)
    assert.are.equal("hello length", r.body)
    assert.are.equal("a, b", r.headers["x-multi"])
    r = case("case=send&path=/chunked")
    assert.are.equal("chunked", r.headers["transfer-encoding"])
    assert.are.equal("part one, part two", r.body)
    r = case("case=send&path=/close")
    assert.is_nil(r.headers["content-length"])
    assert.are.equal("to the end of the connection", r.body)
    r = case("case=send&path=/big")
    assert.are.equal(200000, #r.body)
    r = case("case=send&path=/cl&method=HEAD")
    assert.are.equal(200, r.status)
    assert.are.equal("", r.body)
    r = case("case=send&path=/status")
    assert.are.equal(503, r.status)
    assert.are.equal("busy", r.body)
  end)

  it("sends the method, headers, Host, User-Agent and body", function()
    local r = case("case=send&path=/echo&method=POST&body=payload")
    local echo = cjson.decode(r.body)
    assert.are.equal("POST", echo.method)
    assert.are.equal("payload", echo.body)
    assert.are.equal("7", echo.length)
    assert.are.equal("yes", echo.test)
    assert.are.equal("127.0.0.1:" .. peer, echo.host)
    assert.matches("^lua%-personalize/", echo.ua)
  end)

  it("keeps connections alive in the pool", function()
    local r = case("case=reuse")
    assert.are.equal(r.first, r.second)
    assert.are.equal(r.first, r.third)
  end)

  it("sends again on a new connection when the pooled one was closed by the peer", function()
    local r = case("case=oneshot")
    assert.are.same({ "200 ok", "200 ok", "200 ok" }, r.results)
    local _, retries = ng.log():gsub("was closed %(closed%); sending again on a new one", "")
    -- requests 2 and 3 (and 1 when it got a connection earlier cases pooled)
    assert.is_true(retries >= 2, ("%d retries"):format(retries))
  end)

  it("sends a region of body_file and writes response_file", function()
    local dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir -p " .. dir .. " && chmod 777 " .. dir))   -- workers may run as nobody
    local r = case("case=files&dir=" .. dir)
    os.execute("rm -rf " .. dir)
    assert.are.equal(200, r.status)
    assert.are.equal("56789012345678901234", r.echo.body)
    assert.are.equal(200, r.status2)
    assert.are.equal(200000, r.down_size)
  end)

  it("speaks TLS with SNI and verifies the peer's certificate", function()
    local r = case("case=send&path=/cl&scheme=https&host=localhost&peer=" .. tls)
    assert.are.equal(200, r.status, r.message)
    assert.are.equal("over tls", r.body)
    local _, body = runner.request(driver, "GET", "/t?case=send&path=/cl&scheme=https&host=localhost&peer=" .. bad_tls)
    r = cjson.decode(body)
    assert.are.equal("SSLError", r.code)
    assert.matches("SSL error talking to localhost", r.message)
    _, body = runner.request(driver, "GET", "/t?case=send&path=/cl&scheme=https&host=localhost&verify=0&peer=" .. bad_tls)
    r = cjson.decode(body)
    assert.are.equal("over unverified tls", r.body)
  end)

  it("fails with the curl transport's error codes", function()
    local closed = process.free_port()
    local r = cjson.decode((select(2, runner.request(driver, "GET", "/t?case=send&peer=" .. closed))))
    assert.are.equal("EndpointConnectionError", r.code)
    assert.matches("Could not connect to the endpoint 127%.0%.0%.1", r.message)
    r = case("case=send&path=/slow&timeout=0.3")
    assert.are.equal("ReadTimeoutError", r.code)
    assert.matches("Read timeout on endpoint", r.message)
    r = case("case=send&path=/cl&scheme=https")
    assert.are.equal("SSLError", r.code)
  end)

  it("refuses to send in a phase without cosockets, saying where it works", function()
    runner.request(driver, "GET", "/log-phase")
    local doc
    for _ = 1, 20 do
      local _, body = runner.request(driver, "GET", "/results")
      doc = cjson.decode(body)
      if doc ~= cjson.null then break end
    end
    assert.are.equal("UnsupportedPhaseError", doc.code)
    assert.matches("log phase", doc.message)
    assert.matches("ngx.timer.at", doc.message)
    assert.are.equal("UnsupportedPhaseError", doc.client_code)
    assert.are.equal(1, doc.client_attempts)
  end)

  it("fetches credentials once for many waiting requests, and shares a failure", function()
    local r = case("case=lock")
    assert.are.equal(1, r.calls)
    for i = 1, 5 do assert.are.equal("AKIDLOCK", r.got[i]) end
    assert.is_true(r.same_provider)
    r = case("case=lock&fail=1")
    assert.are.equal(1, r.calls)
    for i = 1, 5 do assert.are.equal("metadata service down", r.got[i]) end
  end)

  it("fetches container credentials over cosockets once for concurrent calls", function()
    local r = case("case=container")
    assert.are.equal(1, r.hits)
    for i = 1, 5 do assert.are.equal("1", r.items[i]) end
    assert.are.equal("AKIDCONTAINER", r.key)
    assert.are.equal("container-role", r.source)
  end)

  it("runs client:map on ngx.threads, the calls at once", function()
    local r = case("case=map")
    assert.are.equal(0, r.failed)
    assert.are.equal(6, r.count)
    assert.is_true(r.took < 1.2, ("six 0.4 s calls took %.2f s"):format(r.took))
    assert.are.equal("ParamValidation", r.invalid)
    assert.are.equal("stop here", r.raised)
  end)

  it("is the client's transport inside nginx unless curl is asked for, for S3 too", function()
    local r = case("case=client")
    assert.are.equal("ngx", r.auto)
    assert.are.equal("curl", r.explicit)
    assert.are.equal("ngx", r.s3_auto)
    assert.are.equal("curl", r.s3_explicit)
    assert.is_true(r.s3_streams)
  end)

  it("moves S3 objects over cosockets, from strings and files", function()
    local r = case("case=s3")
    assert.are.equal("ngx", r.transport)
    assert.are.equal("hello over cosockets", r.body)
    assert.are.equal("from a file", r.file_body)
    assert.are.equal("NoSuchKey", r.missing)
  end)

  it("names the env directives when region or credentials are missing", function()
    local r = case("case=no_region")
    assert.is_false(r.ok)
    assert.matches("env AWS_REGION;", r.message, 1, true)
    -- a second nginx whose workers see no container credentials either
    local ports = { process.free_port(), process.free_port(), process.free_port(), process.free_port() }
    local bare = runner.start(conf(ports[1], ports[2], ports[3], ports[4], certs),
      { ports = ports, env = { AWS_EC2_METADATA_DISABLED = "true" } })
    local _, body = runner.request(ports[1], "GET", "/t?case=no_credentials&peer=" .. ports[2])
    bare.stop()
    r = cjson.decode(body)
    assert.is_false(r.ok)
    assert.are.equal("NoCredentialsError", r.code, r.message)
    assert.matches("env AWS_ACCESS_KEY_ID;", r.message, 1, true)
  end)
end)
