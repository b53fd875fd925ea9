-- personalize.codec and personalize.xml: the shared bottom encodings the
-- client and the engine both use.
local codec = require "personalize.codec"
local xml = require "personalize.xml"

describe("personalize.codec", function()
  it("base64 encodes and decodes RFC 4648's vectors", function()
    local vectors = { [""] = "", f = "Zg==", fo = "Zm8=", foo = "Zm9v", foob = "Zm9vYg==",
                      fooba = "Zm9vYmE=", foobar = "Zm9vYmFy" }
    for plain, coded in pairs(vectors) do
      assert.are.equal(coded, codec.base64_encode(plain))
      assert.are.equal(plain, codec.base64_decode(coded))
    end
    local bytes = {}
    for i = 0, 255 do bytes[#bytes + 1] = string.char(i) end
    local all = table.concat(bytes)
    assert.are.equal(all, codec.base64_decode(codec.base64_encode(all)))
  end)

  it("refuses text that is not base64", function()
    for _, bad in ipairs { "Zg=", "Z===", "Zg==Zg==", "Zm9v!", "Zm 9" } do
      assert.is_nil(codec.base64_decode(bad), bad)
    end
  end)

  it("writes JSON strings as Python's json.dumps does", function()
    assert.are.equal([["a\"b\\c\n\t\b\f\u0001/"]], codec.json_string('a"b\\c\n\t\b\f\1/'))
  end)

  it("reads UTC times without the local zone", function()
    assert.are.equal(0, codec.utc_time(1970, 1, 1, 0, 0, 0))
    assert.are.equal(1440938160, codec.utc_time(2015, 8, 30, 12, 36, 0))
    assert.are.equal(1440938160, codec.parse_time("2015-08-30T12:36:00Z"))
    assert.are.equal(1440938160, codec.parse_time("2015-08-30T14:36:00.123+02:00"))
    assert.is_nil(codec.parse_time("2015-08-30"))
    assert.are.equal("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", codec.EMPTY_SHA256)
  end)
end)

describe("personalize.xml", function()
  it("reads a tree, names without namespaces", function()
    local root = assert(xml.parse('<a:R xmlns:a="u"><K>x &amp; y</K><K>2</K><E/></a:R>'))
    assert.are.equal("R", root.name)
    assert.are.equal("x & y", xml.text(root, "K"))
    assert.are.equal(2, #xml.children(root, "K"))
    assert.are.equal("", xml.find(root, "E").text)
  end)

  it("says why a document is refused", function()
    local _, err, line = xml.parse("<a><b></a>")
    assert.is_string(err)
    assert.is_number(line)
    assert.is_nil(xml.parse("  "))
    local doc = '<!DOCTYPE d [<!ENTITY e "x">]><d>&e;</d>'
    assert.is_table(xml.parse(doc))
    assert.matches("DOCTYPE", select(2, xml.parse(doc, { no_doctype = true })))
  end)
end)
