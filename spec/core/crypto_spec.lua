-- personalize.core hashing against the published vectors (FIPS 180-2
-- appendix B for SHA-256, RFC 4231 section 4 for HMAC-SHA256), and the
-- signer userdata's life cycle and argument checks.
local core = require "personalize.core"

local function unhex(s)
  return (s:gsub("%x%x", function(h) return string.char(tonumber(h, 16)) end))
end

describe("core.sha256 (FIPS 180-2)", function()
  local VECTORS = {
    { name = "empty message", msg = "",
      digest = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
    { name = "\"abc\"", msg = "abc",
      digest = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
    { name = "the 448-bit message",
      msg = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
      digest = "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
    { name = "one million 'a'", msg = string.rep("a", 1000000),
      digest = "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0" },
  }
  for _, v in ipairs(VECTORS) do
    it("sha256_hex of " .. v.name, function()
      assert.are.equal(v.digest, core.sha256_hex(v.msg))
    end)
    it("sha256 of " .. v.name .. " is the 32 raw bytes", function()
      local raw = core.sha256(v.msg)
      assert.are.equal(32, #raw)
      assert.are.equal(unhex(v.digest), raw)
    end)
  end

  it("hashes bytes, embedded zeros included", function()
    assert.are_not.equal(core.sha256_hex("a"), core.sha256_hex("a\0"))
    assert.are.equal("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
      core.sha256_hex("\0"))
  end)

  it("raises on a non-string argument", function()
    assert.has_error(function() core.sha256_hex() end)
    assert.has_error(function() core.sha256({}) end)
  end)
end)

describe("core.hmac_sha256 (RFC 4231)", function()
  local LONG_KEY = string.rep("\170", 131)  -- 0xaa x 131: longer than a block
  local CASES = {
    { n = 1, key = string.rep("\11", 20), data = "Hi There",
      mac = "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7" },
    { n = 2, key = "Jefe", data = "what do ya want for nothing?",
      mac = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843" },
    { n = 3, key = string.rep("\170", 20), data = string.rep("\221", 50),
      mac = "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe" },
    { n = 4, key = unhex("0102030405060708090a0b0c0d0e0f10111213141516171819"),
      data = string.rep("\205", 50),
      mac = "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b" },
    -- Test case 5 publishes the first 128 bits only.
    { n = 5, key = string.rep("\12", 20), data = "Test With Truncation",
      mac = "a3b6167473100ee06e0c796c2955552b", truncated = true },
    { n = 6, key = LONG_KEY, data = "Test Using Larger Than Block-Size Key - Hash Key First",
      mac = "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54" },
    { n = 7, key = LONG_KEY,
      data = "This is a test using a larger than block-size key and a larger "
        .. "than block-size data. The key needs to be hashed before being used "
        .. "by the HMAC algorithm.",
      mac = "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2" },
  }
  for _, c in ipairs(CASES) do
    it("test case " .. c.n, function()
      local mac = core.hmac_sha256(c.key, c.data)
      assert.are.equal(32, #mac)
      local hex = core.hex(mac)
      if c.truncated then hex = hex:sub(1, 32) end
      assert.are.equal(c.mac, hex)
    end)
  end

  it("the 131-byte key is really 131 bytes", function()
    assert.are.equal(131, #LONG_KEY)
  end)

  it("raises without a message", function()
    assert.has_error(function() core.hmac_sha256("key") end)
    assert.has_error(function() core.hmac_sha256(nil, "msg") end)
  end)
end)

describe("core.hex", function()
  it("writes lower-case hex of every byte", function()
    assert.are.equal("", core.hex(""))
    assert.are.equal("00017f80ff", core.hex("\0\1\127\128\255"))
    assert.are.equal("616263", core.hex("abc"))
  end)

  it("handles inputs longer than its internal chunk", function()
    local bytes = {}
    for i = 0, 299 do bytes[#bytes + 1] = string.char(i % 256) end
    local s = table.concat(bytes)
    local want = {}
    for i = 1, #s do want[i] = string.format("%02x", s:byte(i)) end
    assert.are.equal(table.concat(want), core.hex(s))
  end)

  it("agrees with sha256_hex", function()
    assert.are.equal(core.sha256_hex("hello"), core.hex(core.sha256("hello")))
  end)
end)

describe("core.signer", function()
  -- aws4_testsuite get-vanilla: a known signature for a working signer.
  local SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
  local DATE = "20150830T123600Z"
  local EMPTY = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

  local function sign(s, overrides)
    local a = { "GET", "/", nil, { Host = "example.amazonaws.com", ["X-Amz-Date"] = DATE },
                EMPTY, "AKIDEXAMPLE", SECRET, DATE, "us-east-1", "service", true, true, false }
    for i, v in pairs(overrides or {}) do a[i] = v end
    return s:sign(a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11], a[12], a[13])
  end

  it("signs the get-vanilla request", function()
    local s = core.signer()
    local authorization, signature, signed_headers = sign(s)
    assert.are.equal("5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31", signature)
    assert.are.equal("host;x-amz-date", signed_headers)
    assert.are.equal("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
      .. "SignedHeaders=host;x-amz-date, Signature=" .. signature, authorization)
    s:close()
  end)

  it("gives the same signature from its key cache", function()
    local s = core.signer()
    local _, first = sign(s)
    local _, second = sign(s)
    assert.are.equal(first, second)
    local _, other = sign(s, { [9] = "eu-west-1" })
    assert.are_not.equal(first, other)
  end)

  it("can be closed twice", function()
    local s = core.signer()
    s:close()
    assert.has_no.errors(function() s:close() end)
  end)

  it("raises when used after close", function()
    local s = core.signer()
    s:close()
    assert.has_error(function() sign(s) end)
    local ok, err = pcall(sign, s)
    assert.is_false(ok)
    assert.matches("closed", err)
  end)

  it("has a tostring that tells open from closed", function()
    local s = core.signer()
    assert.matches("^personalize%.signer %(.+%)$", tostring(s))
    assert.is_nil(tostring(s):find("closed", 1, true))
    s:close()
    assert.are.equal("personalize.signer (closed)", tostring(s))
  end)

  it("never prints a secret it has cached", function()
    local s = core.signer()
    sign(s)
    assert.is_nil(tostring(s):find(SECRET, 1, true))
  end)

  describe("raises on bad arguments", function()
    local function sign_error(overrides)
      local ok, err = pcall(sign, core.signer(), overrides)
      assert.is_false(ok)
      return err
    end

    it("an X-Amz-Date that is not YYYYMMDDTHHMMSSZ", function()
      assert.matches("X%-Amz%-Date", sign_error { [8] = "2015-08-30T12:36:00Z" })
      assert.matches("X%-Amz%-Date", sign_error { [8] = "20150830" })
      assert.matches("X%-Amz%-Date", sign_error { [8] = "2015083xT123600Z" })
    end)

    it("a region with '/'", function()
      assert.matches("'/'", sign_error { [9] = "us-east-1/evil" })
    end)

    it("an empty or whitespace service", function()
      assert.matches("1 to 63 characters", sign_error { [10] = "" })
      assert.matches("whitespace", sign_error { [10] = "per sonalize" })
    end)

    it("a header value that is not a string", function()
      local err = sign_error { [4] = { Host = "example.amazonaws.com", ["X-Count"] = 5 } }
      assert.matches("X%-Count", err)
      assert.matches("must be a string", err)
      err = sign_error { [4] = { Host = "example.amazonaws.com", ["X-Flag"] = true } }
      assert.matches("X%-Flag", err)
    end)

    it("a header name that is not a string", function()
      assert.matches("header names must be strings",
        sign_error { [4] = { Host = "example.amazonaws.com", [1] = "x" } })
    end)

    it("a missing secret", function()
      assert.has_error(function() sign(core.signer(), { [7] = false }) end)
    end)
  end)
end)

describe("core.sha1_hex (FIPS 180-1 appendix A and B)", function()
  local VECTORS = {
    { name = "empty message", msg = "", digest = "da39a3ee5e6b4b0d3255bfef95601890afd80709" },
    { name = "\"abc\"", msg = "abc", digest = "a9993e364706816aba3e25717850c26c9cd0d89d" },
    { name = "the 448-bit message",
      msg = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
      digest = "84983e441c3bd26ebaae4aa1f95129e5e54670f1" },
    { name = "one million 'a'", msg = string.rep("a", 1000000),
      digest = "34aa973cd4c4daa4f61eeb2bdbad27316534016f" },
  }
  for _, v in ipairs(VECTORS) do
    it("of " .. v.name, function()
      assert.are.equal(v.digest, core.sha1_hex(v.msg))
    end)
  end

  it("hashes embedded zero bytes", function()
    assert.are_not.equal(core.sha1_hex("a"), core.sha1_hex("a\0"))
  end)

  it("raises on a non-string", function()
    assert.has_error(function() core.sha1_hex({}) end)
  end)
end)
