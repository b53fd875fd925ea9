-- core.http's fast path for plain http:// (src/http_plain.c) against a
-- scripted loopback peer that can answer with any bytes: the same request
-- as libcurl sends, keep-alive and a connection the peer closed, 1xx
-- heads, chunked and close-delimited bodies, and malformed answers.
local core = require "personalize.core"
local script_server = require "support.script_server"

describe("core.http plain http:// path", function()
  local peer, h

  setup(function() peer = script_server.start() end)
  teardown(function() if peer then peer.stop() end end)
  before_each(function() h = core.http { user_agent = "plain-spec/1" } end)
  after_each(function() h:close() end)

  local function raw(text, close) return { raw = text, close = close or nil } end

  it("sends what libcurl sends: method, target, fields and body", function()
    local req = { method = "POST", url = peer.url .. "/a/b?x=1&y=%2F", body = '{"k":"v"}',
                  headers = { ["Content-Type"] = "application/json", ["X-Empty"] = "", ["X-Amz-Date"] = "20260101T000000Z" } }
    peer.script { { status = 200, body = "one" } }
    assert.equal(200, (h:request(req)))
    local via_plain = peer.requests()[1]
    local curl = core.http { user_agent = "plain-spec/1", plain = false }
    peer.script { { status = 200, body = "two" } }
    assert.equal(200, (curl:request(req)))
    curl:close()
    local via_curl = peer.requests()[1]
    assert.same(via_curl, via_plain)
    assert.equal("/a/b?x=1&y=%2F", via_plain.path)
    assert.equal("9", via_plain.headers["content-length"])
    assert.equal("plain-spec/1", via_plain.headers["user-agent"])
    assert.equal("", via_plain.headers["x-empty"])
    assert.is_nil(via_plain.headers["expect"])
    assert.is_nil(via_plain.headers["accept"])
  end)

  it("keeps the connection and sends again once when the peer had closed it", function()
    peer.script { raw("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst", true),
                  { status = 200, body = "second" } }
    local s1, _, b1 = h:request { url = peer.url .. "/1" }
    assert.equal(200, s1)
    assert.equal("first", b1)
    local s2, _, b2 = h:request { url = peer.url .. "/2" }
    assert.equal(200, s2, tostring(_))
    assert.equal("second", b2)
    assert.equal(2, #peer.requests())
  end)

  it("passes 1xx heads by and keeps the final answer's fields only", function()
    peer.script { raw("HTTP/1.1 100 Continue\r\nX-Interim: yes\r\n\r\n"
      .. "HTTP/1.1 200 OK\r\nX-Final: 1\r\nContent-Length: 2\r\n\r\nhi") }
    local status, headers, body = h:request { method = "POST", url = peer.url .. "/", body = "x" }
    assert.equal(200, status)
    assert.equal("hi", body)
    assert.equal("1", headers["x-final"])
    assert.is_nil(headers["x-interim"])
  end)

  it("reads chunked bodies with extensions and trailers, then reuses the connection", function()
    peer.script { raw("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
      .. "3;name=value\r\nabc\r\nA\r\n0123456789\r\n0\r\nX-Trailer: t\r\n\r\n"),
      { status = 200, body = "next" } }
    local status, _, body = h:request { url = peer.url .. "/" }
    assert.equal(200, status)
    assert.equal("abc0123456789", body)
    assert.equal("next", select(3, h:request { url = peer.url .. "/" }))
  end)

  it("reads HTTP/1.0 bodies that run to the close of the connection", function()
    peer.script { raw("HTTP/1.0 200 OK\r\nX-Old: 1\r\n\r\nto the end", true), { status = 200, body = "new" } }
    local status, headers, body = h:request { url = peer.url .. "/" }
    assert.equal(200, status)
    assert.equal("to the end", body)
    assert.equal("1", headers["x-old"])
    assert.equal("new", select(3, h:request { url = peer.url .. "/" }))
  end)

  it("answers HEAD and 204 without reading a body", function()
    peer.script { raw("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n"),
                  raw("HTTP/1.1 204 No Content\r\n\r\n"), { status = 200, body = "after" } }
    assert.equal(200, (h:request { method = "HEAD", url = peer.url .. "/" }))
    local status, _, body = h:request { method = "DELETE", url = peer.url .. "/" }
    assert.equal(204, status)
    assert.equal("", body)
    assert.equal("after", select(3, h:request { url = peer.url .. "/" }))
  end)

  it("fails malformed or cut answers with HTTPClientError, naming the peer", function()
    local host = peer.url:match("//(.*)$")
    for _, answer in ipairs {
      raw("SMTP ready\r\n\r\n", true),
      raw("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", true),
      raw("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc", true),
      raw("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", true),
      raw("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", true),
      raw("", true),
    } do
      peer.script { answer }
      local status, code, message = h:request { url = peer.url .. "/" }
      assert.is_nil(status, answer.raw)
      assert.equal("HTTPClientError", code, answer.raw)
      assert.matches(host, message, 1, true)
    end
    peer.script { { status = 200, body = "fine" } }
    assert.equal("fine", select(3, h:request { url = peer.url .. "/" }))
  end)

  describe("in a core.multi", function()
    -- Runs `requests` ({ {url=, ...}, ... }) at once on handles of their
    -- own; returns the outcomes in order.
    local function run_all(requests, handles)
      local m = core.multi()
      for i, req in ipairs(requests) do assert(m:add(handles[i], req, i)) end
      local out, n = {}, 0
      while n < #requests do
        for _, r in ipairs(m:perform(5)) do out[r.id] = r; n = n + 1 end
      end
      m:close()
      return out
    end

    it("reads every kind of answer, keeps connections and retries a closed one", function()
      local hs = { core.http(), core.http(), core.http() }
      local big = ("x"):rep(3 * 1024 * 1024)
      peer.script { raw("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n\r\n", true) }
      local out = run_all({ { url = peer.url .. "/a" } }, hs)
      assert.equal("ab", out[1].body)
      -- hs[1] kept its connection, which the peer closed: sent once more
      peer.script { { status = 200, body = big } }
      out = run_all({ { url = peer.url .. "/b" }, { method = "POST", url = peer.url .. "/c", body = "hi" },
                      { method = "HEAD", url = peer.url .. "/d" } }, hs)
      assert.equal(200, out[1].status)
      assert.equal(#big, #out[1].body)
      assert.equal(200, out[2].status)
      assert.equal(200, out[3].status)
      assert.equal("", out[3].body)
      for _, x in ipairs(hs) do x:close() end
    end)

    it("reports a refused connection, a malformed answer and a timeout per transfer", function()
      local hs = { core.http(), core.http(), core.http { timeout = 0.3 } }
      local port = require("support.process").free_port()
      peer.script { raw("nonsense\r\n\r\n", true) }
      local t0 = core.now()
      local out = run_all({ { url = ("http://127.0.0.1:%d/"):format(port) }, { url = peer.url .. "/x" } }, hs)
      assert.equal("EndpointConnectionError", out[1].code)
      assert.equal("HTTPClientError", out[2].code)
      peer.script { { stall = 2, status = 200 } }
      out = run_all({ { url = peer.url .. "/slow" } }, { hs[3] })
      assert.equal("ReadTimeoutError", out[1].code)
      assert.is_true(core.now() - t0 < 1.8)
      for _, x in ipairs(hs) do x:close() end
    end)
  end)

  it("leaves proxies, URLs with credentials and plain = false to libcurl", function()
    assert.has_error(function() core.http { plain = "no" } end)
    local curl = core.http { plain = false }
    peer.script { { status = 200, body = "ok" } }
    assert.equal("ok", select(3, curl:request { url = peer.url .. "/" }))
    curl:close()
  end)
end)
