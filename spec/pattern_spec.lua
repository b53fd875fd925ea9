-- personalize.pattern: the ECMA-262-style regular expressions of the
-- service models' `pattern` constraints, with search semantics.
local pattern = require "personalize.pattern"

local rep = string.rep

-- Every pattern of the three service models.
local P = {
  uri = '(s3|http|https)://.+',
  identifier = '[A-Za-z_][A-Za-z\\d_]*',
  ascii1500 = '\\p{ASCII}{0,1500}',
  tag_value = '^([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*)$',
  letters = '^[A-Za-z_]+$',
  name = '^[a-zA-Z0-9][a-zA-Z0-9\\-_]*',
  role_arn = 'arn:([a-z\\d-]+):iam::\\d{12}:role/?[a-zA-Z_0-9+=,.@\\-_/]+',
  arn = 'arn:([a-z\\d-]+):personalize:.*:.*:.+',
  kms_arn = 'arn:aws.*:kms:.*:[0-9]{12}:key/.*',
  schedule = 'rate\\(\\d+ days?\\)',
  word = '[A-Za-z0-9_]+',
  word_d = '[A-Za-z\\d_]+',
  printable = '^[\\x20-\\x7E]*[\\x21-\\x7E]+[\\x20-\\x7E]*$',
}

local function compile(src)
  local re, err = pattern.compile(src)
  assert(re, ("pattern %s does not compile: %s"):format(src, tostring(err)))
  return re
end

-- Assert that src matches every value of yes and none of no.
local function check(src, yes, no)
  local re = compile(src)
  for _, v in ipairs(yes) do
    assert(re:test(v) == true, ("%s should match %q"):format(src, v))
  end
  for _, v in ipairs(no) do
    assert(re:test(v) == false, ("%s should not match %q"):format(src, v))
  end
end

-- The error of compiling src (which must fail).
local function compile_error(src)
  local re, err = pattern.compile(src)
  assert(re == nil, ("pattern %s should not compile"):format(src))
  assert.is_string(err)
  return err
end

describe("personalize.pattern", function()
  describe("the service model patterns", function()
    it("compile", function()
      for _, src in pairs(P) do compile(src) end
    end)

    it("(s3|http|https)://.+", function()
      check(P.uri,
        { "s3://bucket/key", "s3://my-bucket/data/interactions.csv", "https://example.com/data.csv",
          "http://x", "see s3://bucket/key", "s3://bucket/café" },
        { "", "s3://", "s3:/bucket", "ftp://host/file", "S3://bucket/key", "s3://\nkey",
          "bucket/key" })
    end)

    it("[A-Za-z_][A-Za-z\\d_]*", function()
      check(P.identifier,
        { "userId", "_x", "ITEM_ID2", "a", "1abc", "user-id" },
        { "", "123", "---", "é", "日本" })
    end)

    it("\\p{ASCII}{0,1500}, which matches the empty string and so any value", function()
      check(P.ascii1500, { "", "hello", "café", rep("x", 5000), "\255" }, {})
      check("^" .. P.ascii1500 .. "$",
        { "", "hello world", "~!@#$%^&*()", rep("a", 1500), "\0\127" },
        { "café", rep("a", 1501), "\128", "x\255" })
    end)

    it("^([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*)$ (tag values)", function()
      check(P.tag_value,
        { "", "café ü", "env:prod", "a/b=c+d-e@f_g.h", "Production", "team 42",
          "日本語 テスト", "Ελληνικά", "١٢٣", "１２３", "a\194\160b", "ª µ º", "x\227\128\128y",
          "½ ²", "Straße" },
        { "a,b", "hello!", "tab\there", "line\nbreak", "50%", "price €5", "© 2024",
          "2×3", "« quoted »", "x\128y", "x\255", "‘quoted’", "a\194\133b" })
    end)

    it("^[A-Za-z_]+$", function()
      check(P.letters,
        { "USER_ID", "_", "itemId", "Genre" },
        { "", "user1", "user-id", " user", "user ", "café" })
    end)

    it("^[a-zA-Z0-9][a-zA-Z0-9\\-_]* (names: anchored at the start only)", function()
      check(P.name,
        { "my-dataset_1", "a", "9lives", "movies-2024_v1", "abc def", "ok!" },
        { "", "-abc", "_abc", " abc", "ébc", ".x" })
    end)

    it("arn:([a-z\\d-]+):iam::\\d{12}:role/?[a-zA-Z_0-9+=,.@\\-_/]+ (role ARNs)", function()
      check(P.role_arn,
        { "arn:aws:iam::123456789012:role/PersonalizeRole",
          "arn:aws-cn:iam::123456789012:role/service-role/my.role@x",
          "arn:aws-us-gov:iam::123456789012:role/a+b=c,d",
          "arn:aws:iam::123456789012:roleX",
          -- role/? leaves the slash to the class, which accepts it:
          "arn:aws:iam::123456789012:role/" },
        { "", "arn:aws:iam::12345678901:role/R", "arn:aws:iam::123456789012:user/R",
          "arn:AWS:iam::123456789012:role/R", "arn:aws:iam::abcdefghijkl:role/R",
          "arn:aws:iam::123456789012:role", "arn:aws:iam:us-east-1:123456789012:role/R",
          "arn::iam::123456789012:role/R" })
    end)

    it("arn:([a-z\\d-]+):personalize:.*:.*:.+ (Personalize ARNs)", function()
      check(P.arn,
        { "arn:aws:personalize:us-east-1:123456789012:schema/x",
          "arn:aws:personalize:us-east-1:123456789012:campaign/movies",
          "arn:aws:personalize:us-east-1:123456789012:dataset/movies/INTERACTIONS",
          "arn:aws-cn:personalize:cn-north-1:123456789012:dataset-group/movies",
          "arn:aws:personalize:::x", "prefix arn:aws:personalize:a:b:c" },
        { "", "not-an-arn", "arn:aws:personalize:us-east-1:123456789012:",
          "arn:aws:personalize:us-east-1", "arn:aws:s3:::bucket", "arn:AWS:personalize:a:b:c",
          "arn:aws:personalize:a:b:\n" })
    end)

    it("arn:aws.*:kms:.*:[0-9]{12}:key/.* (KMS key ARNs)", function()
      check(P.kms_arn,
        { "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
          "arn:aws-us-gov:kms:us-gov-west-1:123456789012:key/",
          "arn:aws-cn:kms:cn-north-1:123456789012:key/mrk-1" },
        { "", "arn:aws:kms:us-east-1:12345678901:key/x", "arn:aws:kms:us-east-1:123456789012:alias/x",
          "arn:aws-cn:s3:::x", "arn:aws:kms:us-east-1:1234567890ab:key/x", "key/x" })
    end)

    it("rate\\(\\d+ days?\\) (schedules)", function()
      check(P.schedule,
        { "rate(7 days)", "rate(1 day)", "rate(30 days)", "every rate(2 days) please" },
        { "", "rate(days)", "rate(7 weeks)", "rate 7 days", "rate(7days)", "Rate(7 days)",
          "rate(7 days", "rate(x day)" })
    end)

    it("[A-Za-z0-9_]+ and [A-Za-z\\d_]+", function()
      for _, src in ipairs({ P.word, P.word_d }) do
        check(src,
          { "abc", "a-b", "__", "123", "café", " x " },
          { "", "---", "é", "   ", "日本" })
      end
    end)

    it("^[\\x20-\\x7E]*[\\x21-\\x7E]+[\\x20-\\x7E]*$ (printable, not blank)", function()
      check(P.printable,
        { "hello world", " x ", "a", "~", "User Personalization" },
        { "", " ", "   ", "tab\there", "café", "line\n", "\127" })
    end)
  end)

  describe("search and anchored semantics", function()
    it("match anywhere unless anchored", function()
      check("b", { "b", "abc", "xxb" }, { "", "a", "B" })
      check("^b", { "b", "bc" }, { "abc", "" })
      check("b$", { "b", "ab" }, { "abc", "b\n" })
      check("^abc$", { "abc" }, { "abcd", "xabc", "ab", "" })
      check("", { "", "anything" }, {})
      check("^$", { "" }, { "x", "\n" })
    end)

    it("anchor each alternative separately", function()
      check("^a|b$", { "ax", "xb", "a", "b" }, { "xa", "bx", "" })
      check("^(a|b)$", { "a", "b" }, { "ab", "xa" })
    end)

    it("treat ^ and $ inside groups and repetitions as assertions", function()
      check("(^a)+b", { "ab", "abx" }, { "xab", "aab" })
      check("a(b$|c)", { "ab", "xac", "acd" }, { "abd" })
    end)
  end)

  describe("syntax", function()
    it("quantifiers", function()
      check("^a{3}$", { "aaa" }, { "aa", "aaaa" })
      check("^a{2,}$", { "aa", "aaaaaa" }, { "a", "" })
      check("^a{1,3}$", { "a", "aa", "aaa" }, { "", "aaaa" })
      check("^a{0}$", { "" }, { "a" })
      check("^a{0,0}b$", { "b" }, { "ab" })
      check("^ab?c$", { "ac", "abc" }, { "abbc" })
      check("^ab*c$", { "ac", "abc", "abbbbc" }, { "abd" })
      check("^ab+c$", { "abc", "abbbbc" }, { "ac" })
      check("^(?:ab){2}$", { "abab" }, { "ab", "ababab" })
      check("^(ab|cd){1,2}$", { "ab", "cd", "abcd", "cdcd" }, { "", "abc", "abcdab" })
    end)

    it("lazy quantifiers (same answers as greedy)", function()
      check("^a+?$", { "a", "aaa" }, { "" })
      check("^a*?b$", { "b", "aab" }, { "a" })
      check("^a??b$", { "b", "ab" }, { "aab" })
      check("^a{1,2}?$", { "a", "aa" }, { "aaa" })
    end)

    it("groups and alternation", function()
      check("^(a|b)*c$", { "c", "abbac" }, { "abd", "" })
      check("^(?:x|yz)+$", { "x", "yzx", "xyzyz" }, { "y", "" })
      check("^(?<part>a|b)c$", { "ac", "bc" }, { "cc" })
      check("^(a|)b$", { "ab", "b" }, { "aab" })
      check("^()$", { "" }, { "a" })
      check("^((a*)*)*$", { "", "aaaa" }, { "b" })
    end)

    it("dot: any code point but a line terminator", function()
      check("^.$", { "a", " ", "é", "日", "😀", "\0", "\255", "\t" },
        { "", "\n", "\r", "\226\128\168", "\226\128\169", "ab", "é!" })
      check("^...$", { "日本語", "a😀b" }, { "日本" })
    end)

    it("character classes", function()
      check("^[abc]$", { "a", "c" }, { "d", "" })
      check("^[^abc]$", { "d", "é", "\255" }, { "a", "", "de" })
      check("^[a-c]+$", { "abcabc" }, { "abcd" })
      check("^[a\\-z]+$", { "a-z" }, { "b" })
      check("^[a-]+$", { "a-" }, { "b" })
      check("^[-a]+$", { "-a" }, { "b" })
      check("^[\\d-z]+$", { "1-z" }, { "y" })
      check("^[.]$", { "." }, { "a" })
      check("^[\\]\\[]+$", { "][" }, { "a" })
      check("^[é-ü]$", { "é", "ü", "ñ" }, { "e", "ÿ" })
      check("^[]$", {}, { "", "a" })
      check("^[^]$", { "a", "\n" }, { "" })
      check("^[\\b]$", { "\8" }, { "b" })
      check("^[\\x20-\\x7E]+$", { "hello ~" }, { "\t", "é" })
      check("^[\\u00e9\\u{1F600}]+$", { "é😀" }, { "e" })
    end)

    it("class escapes", function()
      check("^\\d+$", { "0123456789" }, { "١", "a", "" })
      check("^\\D$", { "a", "é", "\255" }, { "5" })
      check("^\\w+$", { "a_Z9" }, { "é", "-" })
      check("^\\W$", { "-", "é", "\255" }, { "a", "_" })
      check("^\\s+$", { " \t\r\n\11\12", "\194\160", "\227\128\128", "\239\187\191" }, { "a", "_" })
      check("^\\S$", { "a", "\255" }, { " ", "\n" })
      check("^[\\w.-]+$", { "a.b-c_d" }, { "a b" })
      check("^[^\\d]$", { "a" }, { "5" })
    end)

    it("escapes", function()
      check("^\\.\\-\\(\\)\\/\\\\\\[\\]\\{\\}\\*\\+\\?\\|\\^\\$$", { ".-()/\\[]{}*+?|^$" }, { "x" })
      check("^\\x41\\u0042\\u{43}$", { "ABC" }, { "abc" })
      check("^\\t\\n\\r\\f\\v\\0$", { "\t\n\r\12\11\0" }, { "tnrfv0" })
      check("^\\cJ$", { "\n" }, { "J" })
      check("^a\\b", { "a", "a b", "a-" }, { "ab", "a_" })
      check("\\Bb", { "ab" }, { "b", "a b" })
      check("^caf\\u00e9$", { "café" }, { "cafe" })
      check("^[:,@=]+$", { ":,@=" }, { "x" })
    end)

    it("Unicode properties", function()
      check("^\\p{L}+$", { "abcXYZ", "éüßñ", "日本語", "Ωλ", "ªµº" }, { "1", "_", " ", "é1", "€", "×", "\255" })
      check("^\\p{N}+$", { "0123", "١٢٣", "۴", "४", "１", "²½" }, { "a", "x1" })
      check("^\\p{Z}+$", { " ", "\194\160", "\227\128\128", "\226\128\131" }, { "\t", "\n", "a" })
      check("^\\P{L}+$", { "123", " -", "\255" }, { "a", "é" })
      check("^\\P{ASCII}+$", { "é日", "\255" }, { "a", "é!" })
      check("^\\p{Letter}\\p{Number}\\p{Separator}$", { "a1 " }, { "a1a" })
      check("^\\p{gc=L}\\p{General_Category=N}$", { "a1" }, { "11" })
      check("^\\p{Any}$", { "a", "\n", "日" }, { "", "\255" })
    end)

    it("code points, not bytes", function()
      check("^.{4}$", { "café", "日本語!", "😀😀😀😀" }, { "cafe!", "caf" })
      check("^é+$", { "ééé" }, { "e", "\195" })
      check("^[😀-😂]$", { "😁" }, { "😃", "\240" })
      -- Invalid UTF-8: each stray byte is one code point.
      check("^..$", { "\255\254", "\195(", "\226\130\172x" }, { "\226\130x", "\255" })
      check("^.$", { "\192", "\128", "\248" }, { "\192\128" })
      -- Overlong forms and encoded surrogates are invalid, byte by byte.
      check("^...$", { "\237\160\128", "\224\128\175" }, { "\237\159\191" })
    end)
  end)

  describe("errors", function()
    local cases = {
      { "(abc", "missing %) to close %( at position 1" },
      { "a(b(c)", "missing %) to close %( at position 2" },
      { "abc)", "unmatched %) at position 4" },
      { "a)(", "unmatched %) at position 2" },
      { "[abc", "missing %] to close %[ at position 1" },
      { "a{2,1}", "quantifier range out of order at position 2" },
      { "a{x}", "invalid quantifier at position 2" },
      { "a{2", "invalid quantifier at position 2" },
      { "a{,2}", "invalid quantifier at position 2" },
      { "*a", "nothing to repeat at position 1" },
      { "a**", "nothing to repeat at position 3" },
      { "a|+", "nothing to repeat at position 3" },
      { "(?:*)", "nothing to repeat at position 4" },
      { "^*", "nothing to repeat at position 2" },
      { "a{2}{3}", "nothing to repeat at position 5" },
      { "\\p{Foo}", "unknown Unicode property \\p{Foo} at position 1" },
      { "x\\P{Lu}", "unknown Unicode property \\P{Lu} at position 2" },
      { "\\pL", "expected { after \\p at position 1" },
      { "\\p{L", "missing } in \\p{...} at position 1" },
      { "[z-a]", "character class range out of order at position 3" },
      { "abc\\", "\\ at end of pattern at position 4" },
      { "(?=a)", "lookaround assertions are not supported at position 1" },
      { "(?<!a)", "lookaround assertions are not supported at position 1" },
      { "(?i)a", "inline flags are not supported%) at position 1" },
      { "(a)\\1", "backreferences are not supported at position 4" },
      { "\\q", "unsupported escape \\q at position 1" },
      { "\\x4", "invalid \\x escape at position 1" },
      { "\\u{110000}", "code point out of range" },
      { "[\\B]", "\\B is not allowed in a character class at position 2" },
      { "a{10001}", "repetition count above 10000 at position 3" },
      { "((a{100}){100}){100}", "pattern too large" },
      { "ab\255", "invalid UTF%-8 at position 3" },
    }
    for _, case in ipairs(cases) do
      it(("report %s"):format((case[1]:gsub("[\128-\255]", "?"))), function()
        assert.matches(case[2], compile_error(case[1]))
      end)
    end

    it("count positions in characters", function()
      assert.matches("unmatched %) at position 5", compile_error("café)"))
    end)

    it("accept a lone ] or } as a literal", function()
      check("^a]}$", { "a]}" }, { "a" })
    end)

    it("raise on misuse", function()
      assert.has_error(function() pattern.compile(42) end)
      assert.has_error(function() compile("a"):test(nil) end)
    end)
  end)

  describe("pathological inputs", function()
    -- Sanity bound: the matcher is linear in the value, so all of these take
    -- milliseconds; a backtracking matcher would take ages on most of them.
    local cases = {
      { P.arn, "arn:aws:personalize:" .. rep("a", 2000) .. ":" },
      { P.arn, rep("arn:a", 400) },
      { P.arn, "arn:" .. rep("a", 2000) },
      { P.arn, "arn:aws:personalize:" .. rep("a", 3000) .. ":\n" .. rep(":", 1000) },
      { P.kms_arn, "arn:aws" .. rep(":kms:", 500) .. "123456789012:kex/" },
      { P.role_arn, "arn:aws:iam::" .. rep("1", 2000) },
      { P.printable, rep("a", 3000) .. "\n" },
      { P.tag_value, rep("é ", 2000) .. "!" },
      { "^" .. P.ascii1500 .. "$", rep("a", 3000) },
      { "(x+x+)+y", rep("x", 3000) },
      { "^(a|a)*$", rep("a", 3000) .. "b" },
    }
    for k, case in ipairs(cases) do
      it(("finish quickly: case %d (%s, %d bytes)"):format(k, case[1], #case[2]), function()
        local re = compile(case[1])
        local t0 = os.clock()
        local ok = re:test(case[2])
        local elapsed = os.clock() - t0
        assert.is_false(ok)
        assert.is_true(elapsed < 1, ("took %.3f s"):format(elapsed))
      end)
    end

    it("still match after a long prefix", function()
      assert.is_true(compile(P.arn):test(rep("x", 3000) .. "arn:aws:personalize:a:b:c"))
      assert.is_true(compile(P.printable):test(rep(" ", 3000) .. "x" .. rep(" ", 3000)))
    end)
  end)

  describe("pattern.test", function()
    before_each(function() pattern.clear_cache() end)

    it("answers like compile(src):test(str)", function()
      assert.is_true(pattern.test(P.arn, "arn:aws:personalize:us-east-1:123456789012:schema/x"))
      assert.is_false(pattern.test(P.arn, "not-an-arn"))
      assert.is_true(pattern.test(P.schedule, "rate(7 days)"))
    end)

    it("compiles once per source and reuses it", function()
      assert.is_nil(pattern.cached(P.name))
      assert.is_true(pattern.test(P.name, "movies"))
      local re = pattern.cached(P.name)
      assert.is_table(re)
      assert.are.equal(P.name, re.source)
      assert.is_false(pattern.test(P.name, "-movies"))
      assert.is_true(pattern.test(P.name, "movies-2"))
      assert.are.equal(re, pattern.cached(P.name))
    end)

    it("keeps answers independent across calls on a cached pattern", function()
      for _ = 1, 3 do
        assert.is_true(pattern.test(P.tag_value, "café ü"))
        assert.is_false(pattern.test(P.tag_value, "café!"))
        assert.is_true(pattern.test(P.tag_value, ""))
        assert.is_false(pattern.test(P.printable, ""))
        assert.is_true(pattern.test(P.printable, "x"))
      end
    end)

    it("returns and caches compile errors", function()
      local ok, err = pattern.test("(abc", "abc")
      assert.is_nil(ok)
      assert.matches("missing %) to close %( at position 1", err)
      assert.are.equal(err, pattern.cached("(abc"))
      local ok2, err2 = pattern.test("(abc", "x")
      assert.is_nil(ok2)
      assert.are.equal(err, err2)
    end)

    it("bounds the cache", function()
      pattern.test("first", "x")
      for k = 1, pattern.CACHE_MAX do pattern.test("p" .. k, "x") end
      assert.is_nil(pattern.cached("first"))
      assert.is_table(pattern.cached("p" .. pattern.CACHE_MAX))
    end)

    it("clear_cache empties it", function()
      pattern.test(P.word, "x")
      assert.is_table(pattern.cached(P.word))
      pattern.clear_cache()
      assert.is_nil(pattern.cached(P.word))
    end)
  end)
end)
