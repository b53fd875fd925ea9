-- The AWS CLI's INI dialect: comments, nested sub-sections, case as written.
local ini = require "personalize.ini"

describe("personalize.ini", function()
  it("reads sections, keys and values, trimmed", function()
    local t = ini.parse("[default]\nregion = us-east-1\n  \n[profile dev]\nregion=eu-west-1\noutput : json\n")
    assert.are.same({ default = { region = "us-east-1" },
                      ["profile dev"] = { region = "eu-west-1", output = "json" } }, t)
  end)

  it("skips whole-line comments and keeps '#' and ';' inside values", function()
    local t = ini.parse([[
# a comment
; another
[default]
  # indented comment
credential_process = /bin/echo '{"a": 1}' # not a comment
key = a;b
]])
    assert.are.same({ credential_process = "/bin/echo '{\"a\": 1}' # not a comment", key = "a;b" }, t.default)
  end)

  it("keeps the case of keys and section names as written", function()
    local t = ini.parse("[Profile Dev]\nAWS_Access_Key_Id = X\n")
    assert.are.same({ ["Profile Dev"] = { AWS_Access_Key_Id = "X" } }, t)
  end)

  it("reads nested sub-sections", function()
    local t = ini.parse([[
[services local]
personalize =
  endpoint_url = http://127.0.0.1:4566
  # comment inside
  other = x
personalize_runtime =
    endpoint_url = http://127.0.0.1:4567
sts = http://not-nested
]])
    local s = t["services local"]
    assert.are.same({ endpoint_url = "http://127.0.0.1:4566", other = "x" }, s.personalize)
    assert.are.same({ endpoint_url = "http://127.0.0.1:4567" }, s.personalize_runtime)
    assert.are.equal("http://not-nested", s.sts)
  end)

  it("continues a non-empty value on indented lines", function()
    local t = ini.parse("[a]\nk = one\n  two\nj = 3\n")
    assert.are.same({ k = "one\ntwo", j = "3" }, t.a)
  end)

  it("leaves an empty value empty when nothing is nested", function()
    assert.are.same({ k = "", j = "1" }, ini.parse("[a]\nk =\nj = 1\n").a)
  end)

  it("merges repeated sections, later keys winning, and reads CRLF files", function()
    local t = ini.parse("[a]\r\nx = 1\r\ny = 2\r\n[b]\r\nz = 3\r\n[a]\r\nx = 9\r\n")
    assert.are.same({ x = "9", y = "2" }, t.a)
    assert.are.same({ z = "3" }, t.b)
  end)

  it("ignores lines outside sections and lines without '='", function()
    assert.are.same({ a = { k = "v" } }, ini.parse("stray = 1\n[a]\njunk\nk = v\n"))
  end)

  it("loads a missing file as no sections, and a real file", function()
    assert.are.same({}, ini.load("/nonexistent/dir/config"))
    local path = os.tmpname()
    local f = assert(io.open(path, "w"))
    f:write("[default]\nregion = ap-south-1\n")
    f:close()
    assert.are.same({ default = { region = "ap-south-1" } }, ini.load(path))
    os.remove(path)
  end)
end)
