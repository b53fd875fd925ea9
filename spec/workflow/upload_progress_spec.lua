-- s3:upload_file reports its progress: a callback with bytes and rate, a
-- live bar with bytes and rate on a terminal, nothing otherwise.
local personalize = require "personalize"
local s3_mod = require "personalize.s3"
local files = require "support.files"
local process = require "support.process"

local q = process.shell_quote
local MIB = 1024 * 1024

describe("s3:upload_file progress", function()
  local dir, s3, big, small

  setup(function()
    dir = files.tmpdir()
    s3 = personalize.client("s3", { endpoint = "local:" .. dir .. "/engine" })
    assert(s3:create_bucket { Bucket = "progress" })
    big = dir .. "/big.bin"
    files.write(big, ("0123456789abcdef"):rep(11 * MIB / 16))
    small = dir .. "/small.csv"
    files.write(small, "USER_ID,ITEM_ID\n1,2\n")
  end)

  teardown(function()
    require("personalize.transport.engine").close(dir .. "/engine")
    os.execute("rm -rf " .. q(dir))
  end)

  it("calls on_progress with the bytes sent after each part, the total and a rate", function()
    local calls = {}
    local res = assert(s3:upload_file(big, "progress", "big.bin", {
      multipart_threshold = 5 * MIB, part_size = 5 * MIB,
      on_progress = function(sent, total, rate) calls[#calls + 1] = { sent, total, rate } end }))
    assert.is_string(res.UploadId)
    assert.same({ 0, 5 * MIB, 10 * MIB, 11 * MIB }, { calls[1][1], calls[2][1], calls[3][1], calls[4][1] })
    assert.equal(4, #calls)
    for _, c in ipairs(calls) do
      assert.equal(11 * MIB, c[2])
      assert.is_number(c[3])
      assert.is_true(c[3] >= 0)
    end
    -- a file under the threshold: before and after its one PutObject
    local one = {}
    assert(s3:upload_file(small, "progress", "small.csv", {
      on_progress = function(sent, total) one[#one + 1] = sent .. "/" .. total end }))
    assert.same({ "0/20", "20/20" }, one)
  end)

  it("draws a bar with bytes and rate on the progress stream, ended by a newline", function()
    local written = {}
    local stream = { write = function(_, ...) for _, s in ipairs { ... } do written[#written + 1] = s end end }
    assert(s3:upload_file(big, "progress", "big2.bin", {
      multipart_threshold = 5 * MIB, part_size = 5 * MIB, progress = stream }))
    local text = table.concat(written)
    assert.matches("^\rbig%.bin %[%.+%]   0%%  0 B / 11%.0 MiB  ", text)
    assert.matches("\rbig%.bin %[#+%.+%]  45%%  5%.0 MiB / 11%.0 MiB  [%d.]+ [KMG]?i?B/s", text)
    assert.matches("\rbig%.bin %[########################%] 100%%  11%.0 MiB / 11%.0 MiB  [%d.]+ [KMG]?i?B/s%s*\n$", text)
    assert.equal("big.bin [############............]  50%  1.5 KiB / 3.0 KiB  512 B/s",
      s3_mod.progress_line("big.bin", 1536, 3072, 512))
  end)

  it("draws the bar by default when stderr is a terminal", function()
    if not process.which("script") then return pending("script (util-linux) gives the child a terminal") end
    local script = dir .. "/tty_upload.lua"
    files.write(script, ([[
      local s3 = require("personalize").client("s3", { endpoint = "local:%s/tty" })
      assert(s3:create_bucket { Bucket = "bucket" })
      assert(s3:upload_file(%q, "bucket", "k", { multipart_threshold = 5 * 1048576, part_size = 5 * 1048576 }))
    ]]):format(dir, big))
    local cmd = ("LUA_PATH='lua/?.lua;lua/?/init.lua;;' LUA_CPATH=%s %s %s"):format(
      q(process.LUA_CPATH or ""), q(process.LUA), q(script))
    local p = io.popen("script -qec " .. q(cmd) .. " /dev/null")
    local out = p:read("*a")
    p:close()
    assert.matches("big%.bin %[#+%] 100%%  11%.0 MiB / 11%.0 MiB  [%d.]+ [KMG]?i?B/s", out)
  end)

  it("writes nothing when stderr is not a terminal, and refuses a bad progress option", function()
    local script = dir .. "/upload.lua"
    files.write(script, ([[
      local s3 = require("personalize").client("s3", { endpoint = "local:%s/child" })
      assert(s3:create_bucket { Bucket = "bucket" })
      assert(s3:upload_file(%q, "bucket", "k", { multipart_threshold = 5 * 1048576, part_size = 5 * 1048576 }))
      io.stdout:write("uploaded\n")
    ]]):format(dir, big))
    local p = io.popen(("LUA_PATH='lua/?.lua;lua/?/init.lua;;' LUA_CPATH=%s %s %s 2>%s"):format(
      q(process.LUA_CPATH or ""), q(process.LUA), q(script), q(dir .. "/stderr")))
    local out = p:read("*a")
    p:close()
    assert.equal("uploaded\n", out, files.read(dir .. "/stderr"))
    assert.equal("", files.read(dir .. "/stderr"))
    assert.has_error(function() s3:upload_file(small, "progress", "x", { progress = "yes" }) end,
      "personalize.s3: upload_file option progress must be a boolean or a stream with :write")
    assert.has_error(function() s3:upload_file(small, "progress", "x", { on_progress = 1 }) end,
      "personalize.s3: upload_file option on_progress must be a function(sent, total, bytes_per_second)")
  end)
end)
