-- Regular expressions for the `pattern` constraints of AWS service models.
--
--   local pattern = require "personalize.pattern"
--   local re, err = pattern.compile("arn:([a-z\\d-]+):personalize:.*:.*:.+")
--   re:test("arn:aws:personalize:us-east-1:123456789012:schema/x")  --> true
--   pattern.test("^[A-Za-z_]+$", "user_id")                         --> true
--
-- Smithy's @pattern is an ECMA-262 regular expression and is NOT implicitly
-- anchored: a value is valid when the pattern matches somewhere in it
-- (search semantics), unless the pattern itself uses ^ / $.
--
-- Supported syntax (ECMA-262, matched on Unicode code points):
--   literals (any UTF-8 text); `.` = any code point except the ECMA line
--   terminators \n \r U+2028 U+2029;
--   classes [...] and [^...] with ranges, class escapes inside them, `[]`
--   matches nothing and `[^]` anything; a `-` next to a class escape
--   ([\d-z]) is literal;
--   escapes \d \D \w \W \s \S (ECMA definitions), \b \B (word boundary;
--   \b is backspace inside a class), \t \n \r \f \v \0 \cX \xHH \uHHHH
--   \u{H...}, and any escaped ASCII punctuation (\. \- \( \) \/ \\ ...);
--   Unicode properties \p{...} / \P{...} for L (Letter), N (Number),
--   Z (Separator), ASCII and Any, also spelled gc=L / General_Category=L;
--   groups ( ), (?: ) and (?<name> ) (nothing is captured);
--   alternation |; quantifiers * + ? {n} {n,} {n,m}, each optionally lazy
--   (*? +? ?? {n,m}?; laziness does not change whether something matches);
--   anchors ^ and $ (no multiline: start and end of the whole value).
-- A lone ] or } is a literal. Everything else is reported by compile():
-- lookaround, backreferences, inline flags, unknown escapes or properties,
-- malformed quantifiers, unbalanced ( ) or [ ].
--
-- Subjects are UTF-8. Each invalid byte counts as one code point that
-- belongs to no category: it matches `.`, negated classes [^...] and the
-- negated escapes \D \W \S \P{..}, and nothing else.
--
-- Unicode categories are approximated (no tables are shipped):
--   ASCII: exact (\p{L} = A-Z a-z, \p{N} = 0-9, \p{Z} = space).
--   \p{Z}: U+00A0, U+1680, U+2000-U+200A, U+2028, U+2029, U+202F, U+205F,
--          U+3000.
--   \p{N}: the superscripts and fractions of Latin-1 (U+00B2 B3 B9 BC-BE),
--          the decimal digits of the main scripts (Arabic-Indic, Devanagari,
--          Bengali, ..., Thai, Tibetan, Myanmar, Khmer, fullwidth), number
--          forms (U+2070-U+2089, U+2150-U+2189), circled and dingbat numbers
--          and the CJK numerals U+3007, U+3021-3029, U+3038-303A; see N_RANGES.
--   \p{L}: every other non-ASCII code point, except the Latin-1 controls
--          U+0080-U+009F, U+00A1-U+00BF other than ª µ º, × and ÷, and the
--          punctuation/symbol blocks U+2000-U+2BFF and U+3000-U+303F.
--   So \p{L} errs on the side of accepting (combining marks, emoji and other
--   symbols outside those blocks count as letters): the client may let
--   through a value the service then rejects, never the other way round for
--   ordinary text.
--
-- Matching runs a Thompson NFA over the compiled program (a Pike VM without
-- captures): no backtracking, time O(#value x program size), memory
-- O(program size), and no step budget is needed, so re:test always answers
-- true or false. Counted repetitions are expanded at compile time; a program
-- may hold at most MAX_PROGRAM instructions and a count may be at most
-- MAX_REPEAT (compile() reports "pattern too large").
local byte, char, format = string.byte, string.char, string.format
local type, error, pcall, setmetatable = type, error, pcall, setmetatable
local pairs, ipairs = pairs, ipairs
local floor = math.floor
local concat = table.concat

local _M = {}

local MAX_PROGRAM = 50000  -- instructions per compiled pattern
local MAX_REPEAT = 10000   -- largest n or m in {n,m}
local CACHE_MAX = 512      -- distinct sources kept by pattern.test
_M.MAX_PROGRAM, _M.MAX_REPEAT, _M.CACHE_MAX = MAX_PROGRAM, MAX_REPEAT, CACHE_MAX

-- Code point of an invalid UTF-8 byte in a subject.
local INVALID = -1

-- ASCII code points used by the parser.
local C_LPAREN, C_RPAREN, C_LBRACK, C_RBRACK = byte("()[]", 1, 4)
local C_LBRACE, C_RBRACE, C_BAR, C_BSLASH = byte("{}|\\", 1, 4)
local C_STAR, C_PLUS, C_QMARK, C_DOT = byte("*+?.", 1, 4)
local C_CARET, C_DOLLAR, C_DASH, C_COMMA = byte("^$-,", 1, 4)
local C_COLON, C_LT, C_GT, C_EQ, C_BANG = byte(":<>=!", 1, 5)
local C_0, C_9, C_A, C_Z, C_a, C_z, C_UNDER = byte("09AZaz_", 1, 7)

-- Program opcodes. CHAR/ANY/CLASS consume one code point; the rest do not.
local CHAR, ANY, CLASS, SPLIT, JMP, BOL, EOL, WORDB, NWORDB, MATCH = 1, 2, 3, 4, 5, 6, 7, 8, 9, 10

---------------------------------------------------------------------------
-- UTF-8

-- Decode the code point that starts at byte i of s (1 <= i <= #s).
-- Returns the code point and the index of the next one. Overlong forms,
-- surrogates, values above U+10FFFF and stray or truncated bytes decode as
-- INVALID, one byte at a time.
local function decode(s, i)
  local b1 = byte(s, i)
  if b1 < 0x80 then return b1, i + 1 end
  if b1 < 0xC2 or b1 > 0xF4 then return INVALID, i + 1 end
  local b2 = byte(s, i + 1)
  if not b2 or b2 < 0x80 or b2 > 0xBF then return INVALID, i + 1 end
  if b1 < 0xE0 then return (b1 - 0xC0) * 64 + (b2 - 0x80), i + 2 end
  if (b1 == 0xE0 and b2 < 0xA0) or (b1 == 0xED and b2 > 0x9F)
      or (b1 == 0xF0 and b2 < 0x90) or (b1 == 0xF4 and b2 > 0x8F) then
    return INVALID, i + 1
  end
  local b3 = byte(s, i + 2)
  if not b3 or b3 < 0x80 or b3 > 0xBF then return INVALID, i + 1 end
  if b1 < 0xF0 then return ((b1 - 0xE0) * 64 + (b2 - 0x80)) * 64 + (b3 - 0x80), i + 3 end
  local b4 = byte(s, i + 3)
  if not b4 or b4 < 0x80 or b4 > 0xBF then return INVALID, i + 1 end
  return (((b1 - 0xF0) * 64 + (b2 - 0x80)) * 64 + (b3 - 0x80)) * 64 + (b4 - 0x80), i + 4
end

-- UTF-8 text of code point cp (0 <= cp <= 0x10FFFF); for error messages.
local function encode(cp)
  if cp < 0x80 then return char(cp) end
  if cp < 0x800 then return char(0xC0 + floor(cp / 64), 0x80 + cp % 64) end
  if cp < 0x10000 then
    return char(0xE0 + floor(cp / 4096), 0x80 + floor(cp / 64) % 64, 0x80 + cp % 64)
  end
  return char(0xF0 + floor(cp / 262144), 0x80 + floor(cp / 4096) % 64,
    0x80 + floor(cp / 64) % 64, 0x80 + cp % 64)
end

---------------------------------------------------------------------------
-- Character predicates: function(cp) -> boolean, for any code point
-- including INVALID (which no positive predicate accepts).

-- Is cp inside one of the ranges of r = { lo1, hi1, lo2, hi2, ... } (sorted)?
local function in_ranges(r, cp)
  for k = 1, #r, 2 do
    if cp < r[k] then return false end
    if cp <= r[k + 1] then return true end
  end
  return false
end

-- ECMA WhiteSpace and LineTerminator.
local SPACE_RANGES = { 0x09, 0x0D, 0x20, 0x20, 0xA0, 0xA0, 0x1680, 0x1680, 0x2000, 0x200A,
  0x2028, 0x2029, 0x202F, 0x202F, 0x205F, 0x205F, 0x3000, 0x3000, 0xFEFF, 0xFEFF }

-- \p{Z}, approximated as described at the top.
local Z_RANGES = { 0x20, 0x20, 0xA0, 0xA0, 0x1680, 0x1680, 0x2000, 0x200A, 0x2028, 0x2029,
  0x202F, 0x202F, 0x205F, 0x205F, 0x3000, 0x3000 }

-- \p{N}, approximated as described at the top.
local N_RANGES = {
  0x30, 0x39, 0xB2, 0xB3, 0xB9, 0xB9, 0xBC, 0xBE,
  0x660, 0x669, 0x6F0, 0x6F9, 0x7C0, 0x7C9, 0x966, 0x96F, 0x9E6, 0x9EF, 0xA66, 0xA6F,
  0xAE6, 0xAEF, 0xB66, 0xB6F, 0xBE6, 0xBF2, 0xC66, 0xC6F, 0xCE6, 0xCEF, 0xD66, 0xD6F,
  0xE50, 0xE59, 0xED0, 0xED9, 0xF20, 0xF33, 0x1040, 0x1049, 0x17E0, 0x17E9, 0x1810, 0x1819,
  0x2070, 0x2070, 0x2074, 0x2079, 0x2080, 0x2089, 0x2150, 0x2182, 0x2185, 0x2189,
  0x2460, 0x249B, 0x24EA, 0x24FF, 0x2776, 0x2793,
  0x3007, 0x3007, 0x3021, 0x3029, 0x3038, 0x303A, 0xFF10, 0xFF19,
}

local function is_digit(cp) return cp >= C_0 and cp <= C_9 end

local function is_word(cp)
  return (cp >= C_a and cp <= C_z) or (cp >= C_A and cp <= C_Z)
    or (cp >= C_0 and cp <= C_9) or cp == C_UNDER
end

local function is_space(cp) return in_ranges(SPACE_RANGES, cp) end

local function is_ascii(cp) return cp >= 0 and cp < 0x80 end

local function is_sep(cp) return in_ranges(Z_RANGES, cp) end

local function is_number(cp) return in_ranges(N_RANGES, cp) end

local function is_letter(cp)
  if cp < 0x80 then return (cp >= C_a and cp <= C_z) or (cp >= C_A and cp <= C_Z) end
  if cp <= 0xBF then return cp == 0xAA or cp == 0xB5 or cp == 0xBA end
  if cp == 0xD7 or cp == 0xF7 then return false end
  if (cp >= 0x2000 and cp <= 0x2BFF) or (cp >= 0x3000 and cp <= 0x303F) then return false end
  return not in_ranges(Z_RANGES, cp) and not in_ranges(N_RANGES, cp)
end

local function is_any(cp) return cp >= 0 end

local function negate(f) return function(cp) return not f(cp) end end

-- Class escapes: letter -> predicate.
local ESCAPE_CLASSES = {
  d = is_digit, D = negate(is_digit),
  w = is_word, W = negate(is_word),
  s = is_space, S = negate(is_space),
}

-- \p{name}: name -> predicate.
local PROPERTIES = {
  L = is_letter, Letter = is_letter,
  N = is_number, Number = is_number,
  Z = is_sep, Separator = is_sep,
  ASCII = is_ascii, Any = is_any,
}
local NEGATED_PROPERTIES = {}
for name, f in pairs(PROPERTIES) do NEGATED_PROPERTIES[name] = negate(f) end

---------------------------------------------------------------------------
-- Character classes: { neg = bool, ranges = { lo, hi, ... }, preds = { f, ... },
-- ascii = { [cp + 1] = bool } } where ascii caches the answer for 0-127.

-- Does class c accept code point cp (any value, including INVALID)?
local function class_has(c, cp)
  local hit = false
  local r = c.ranges
  for k = 1, #r, 2 do
    if cp >= r[k] and cp <= r[k + 1] then hit = true; break end
  end
  if not hit then
    local preds = c.preds
    for k = 1, #preds do
      if preds[k](cp) then hit = true; break end
    end
  end
  return hit ~= c.neg
end

-- Finish a class: fill its ASCII answer cache.
local function class_finish(c)
  local ascii = {}
  for cp = 0, 127 do ascii[cp + 1] = class_has(c, cp) end
  c.ascii = ascii
  return c
end

local function class_of(pred)
  return class_finish({ neg = false, ranges = {}, preds = { pred } })
end

---------------------------------------------------------------------------
-- Parser: source code points -> AST.
-- Nodes: { t = "char", cp } | { t = "any" } | { t = "class", class }
--   | { t = "bol" } | { t = "eol" } | { t = "wordb" } | { t = "nwordb" }
--   | { t = "empty" } | { t = "cat", list } | { t = "alt", list }
--   | { t = "rep", node, min, max (nil = unbounded) }
-- Errors are raised as { msg = "... at position N" } (N counts characters
-- of the source from 1) and turned into return values by compile().

local function fail(msg, at)
  error({ msg = format("%s at position %d", msg, at) }, 0)
end

local function hex_value(cp)
  if cp == nil then return nil end
  if cp >= C_0 and cp <= C_9 then return cp - C_0 end
  if cp >= C_a and cp <= C_a + 5 then return cp - C_a + 10 end
  if cp >= C_A and cp <= C_A + 5 then return cp - C_A + 10 end
  return nil
end

local function is_quantifier_start(cp)
  return cp == C_STAR or cp == C_PLUS or cp == C_QMARK or cp == C_LBRACE
end

local function parse(P)
  local n, pos = #P, 1

  -- Exactly `count` hex digits at pos; their value.
  local function hex_digits(count, at, what)
    local v = 0
    for _ = 1, count do
      local d = hex_value(P[pos])
      if not d then fail("invalid " .. what .. " escape", at) end
      v = v * 16 + d
      pos = pos + 1
    end
    return v
  end

  -- The escape at pos (a backslash). Returns "cp", code point | "pred",
  -- predicate | "assert", node.
  local function parse_escape(in_class)
    local at = pos
    pos = pos + 1
    local c = P[pos]
    if c == nil then fail("\\ at end of pattern", at) end
    pos = pos + 1
    local l = c < 0x80 and char(c) or nil
    if l and ESCAPE_CLASSES[l] then return "pred", ESCAPE_CLASSES[l] end
    if l == "p" or l == "P" then
      if P[pos] ~= C_LBRACE then fail("expected { after \\" .. l, at) end
      pos = pos + 1
      local parts = {}
      while P[pos] ~= C_RBRACE do
        if P[pos] == nil then fail("missing } in \\" .. l .. "{...}", at) end
        parts[#parts + 1] = encode(P[pos])
        pos = pos + 1
      end
      pos = pos + 1
      local name = concat(parts)
      local bare = name:match("^gc=(.*)$") or name:match("^General_Category=(.*)$") or name
      local f = (l == "p" and PROPERTIES or NEGATED_PROPERTIES)[bare]
      if not f then fail("unknown Unicode property \\" .. l .. "{" .. name .. "}", at) end
      return "pred", f
    end
    if l == "x" then return "cp", hex_digits(2, at, "\\x") end
    if l == "u" then
      if P[pos] == C_LBRACE then
        pos = pos + 1
        local v, digits = 0, 0
        while P[pos] ~= C_RBRACE do
          local d = hex_value(P[pos])
          if not d then fail("invalid \\u{...} escape", at) end
          v, digits, pos = v * 16 + d, digits + 1, pos + 1
          if v > 0x10FFFF then fail("code point out of range in \\u{...}", at) end
        end
        if digits == 0 then fail("invalid \\u{...} escape", at) end
        pos = pos + 1
        return "cp", v
      end
      return "cp", hex_digits(4, at, "\\u")
    end
    if l == "t" then return "cp", 9 end
    if l == "n" then return "cp", 10 end
    if l == "v" then return "cp", 11 end
    if l == "f" then return "cp", 12 end
    if l == "r" then return "cp", 13 end
    if l == "c" then
      local x = P[pos]
      if x and ((x >= C_a and x <= C_z) or (x >= C_A and x <= C_Z)) then
        pos = pos + 1
        return "cp", x % 32
      end
      fail("invalid \\c escape", at)
    end
    if l == "0" then
      if P[pos] and is_digit(P[pos]) then fail("octal escapes are not supported", at) end
      return "cp", 0
    end
    if l and is_digit(c) then fail("backreferences are not supported", at) end
    if l == "k" then fail("backreferences are not supported", at) end
    if l == "b" then
      if in_class then return "cp", 8 end
      return "assert", { t = "wordb" }
    end
    if l == "B" then
      if in_class then fail("\\B is not allowed in a character class", at) end
      return "assert", { t = "nwordb" }
    end
    if l and c > 0x20 and c < 0x7F and not is_word(c) then return "cp", c end
    fail("unsupported escape \\" .. encode(c), at)
  end

  -- One class member at pos: "cp", code point | "pred", predicate.
  local function class_atom()
    if P[pos] == C_BSLASH then return parse_escape(true) end
    pos = pos + 1
    return "cp", P[pos - 1]
  end

  -- The class at pos (a '[').
  local function parse_class()
    local open = pos
    pos = pos + 1
    local c = { neg = false, ranges = {}, preds = {} }
    if P[pos] == C_CARET then c.neg = true; pos = pos + 1 end
    local ranges, preds = c.ranges, c.preds
    local function add(kind, v)
      if kind == "cp" then
        ranges[#ranges + 1] = v; ranges[#ranges + 1] = v
      else
        preds[#preds + 1] = v
      end
    end
    while true do
      if pos > n then fail("missing ] to close [", open) end
      if P[pos] == C_RBRACK then pos = pos + 1; break end
      local kind, lo = class_atom()
      if P[pos] == C_DASH and P[pos + 1] ~= nil and P[pos + 1] ~= C_RBRACK then
        local dash = pos
        pos = pos + 1
        local hkind, hi = class_atom()
        if kind == "cp" and hkind == "cp" then
          if hi < lo then fail("character class range out of order", dash) end
          ranges[#ranges + 1] = lo; ranges[#ranges + 1] = hi
        else
          -- A class escape at either end: the dash is a literal.
          add(kind, lo); add("cp", C_DASH); add(hkind, hi)
        end
      else
        add(kind, lo)
      end
    end
    return { t = "class", class = class_finish(c) }
  end

  -- A decimal number at pos, or nil.
  local function number()
    local v, start = 0, pos
    while P[pos] and is_digit(P[pos]) do
      v = v * 10 + (P[pos] - C_0)
      if v > MAX_REPEAT then fail(format("repetition count above %d", MAX_REPEAT), start) end
      pos = pos + 1
    end
    if pos == start then return nil end
    return v
  end

  -- A quantifier at pos applied to atom, if there is one.
  local function parse_quantifier(atom)
    local c, at = P[pos], pos
    local min, max
    if c == C_STAR then min, max = 0, nil; pos = pos + 1
    elseif c == C_PLUS then min, max = 1, nil; pos = pos + 1
    elseif c == C_QMARK then min, max = 0, 1; pos = pos + 1
    elseif c == C_LBRACE then
      pos = pos + 1
      min = number()
      if not min then fail("invalid quantifier", at) end
      if P[pos] == C_COMMA then
        pos = pos + 1
        max = number()
      else
        max = min
      end
      if P[pos] ~= C_RBRACE then fail("invalid quantifier", at) end
      pos = pos + 1
      if max and max < min then fail("quantifier range out of order", at) end
    else
      return atom
    end
    if P[pos] == C_QMARK then pos = pos + 1 end  -- lazy: same language
    if is_quantifier_start(P[pos]) then fail("nothing to repeat", pos) end
    return { t = "rep", node = atom, min = min, max = max }
  end

  local parse_alt

  -- A sequence up to | or ) or the end.
  local function parse_seq()
    local list = {}
    while pos <= n do
      local c, at = P[pos], pos
      if c == C_BAR or c == C_RPAREN then break end
      local atom, quantifiable = nil, true
      if c == C_CARET then
        pos = pos + 1; atom, quantifiable = { t = "bol" }, false
      elseif c == C_DOLLAR then
        pos = pos + 1; atom, quantifiable = { t = "eol" }, false
      elseif c == C_DOT then
        pos = pos + 1; atom = { t = "any" }
      elseif c == C_LBRACK then
        atom = parse_class()
      elseif c == C_BSLASH then
        local kind, v = parse_escape(false)
        if kind == "cp" then atom = { t = "char", cp = v }
        elseif kind == "pred" then atom = { t = "class", class = class_of(v) }
        else atom, quantifiable = v, false end
      elseif c == C_LPAREN then
        pos = pos + 1
        if P[pos] == C_QMARK then
          local q = P[pos + 1]
          if q == C_COLON then
            pos = pos + 2
          elseif q == C_EQ or q == C_BANG or (q == C_LT and (P[pos + 2] == C_EQ or P[pos + 2] == C_BANG)) then
            fail("lookaround assertions are not supported", at)
          elseif q == C_LT then
            pos = pos + 2
            local start = pos
            while P[pos] and (is_word(P[pos]) or P[pos] == C_DOLLAR) do pos = pos + 1 end
            if pos == start or is_digit(P[start]) or P[pos] ~= C_GT then fail("invalid group name", at) end
            pos = pos + 1
          else
            fail("invalid group (inline flags are not supported)", at)
          end
        end
        atom = parse_alt()
        if P[pos] ~= C_RPAREN then fail("missing ) to close (", at) end
        pos = pos + 1
      elseif is_quantifier_start(c) then
        fail("nothing to repeat", at)
      else
        pos = pos + 1; atom = { t = "char", cp = c }
      end
      if quantifiable then
        atom = parse_quantifier(atom)
      elseif is_quantifier_start(P[pos]) then
        fail("nothing to repeat", pos)
      end
      list[#list + 1] = atom
    end
    if #list == 0 then return { t = "empty" } end
    if #list == 1 then return list[1] end
    return { t = "cat", list = list }
  end

  -- Alternatives up to ) or the end.
  parse_alt = function()
    local list = { parse_seq() }
    while P[pos] == C_BAR do
      pos = pos + 1
      list[#list + 1] = parse_seq()
    end
    if #list == 1 then return list[1] end
    return { t = "alt", list = list }
  end

  local ast = parse_alt()
  if pos <= n then fail("unmatched )", pos) end
  return ast
end

-- Can a match of node only start at the beginning of the value?
local function anchored_at_start(node)
  local t = node.t
  if t == "bol" then return true end
  if t == "cat" then return anchored_at_start(node.list[1]) end
  if t == "rep" then return node.min >= 1 and anchored_at_start(node.node) end
  if t == "alt" then
    for _, alt in ipairs(node.list) do
      if not anchored_at_start(alt) then return false end
    end
    return true
  end
  return false
end

---------------------------------------------------------------------------
-- Code generation: AST -> program (parallel arrays op, a1, a2; pc from 1).
--   CHAR a1 = code point; CLASS a1 = class; SPLIT a1, a2 = both targets;
--   JMP a1 = target; every other instruction continues at pc + 1.

local function generate(ast)
  local op, a1, a2 = {}, {}, {}
  local n = 0

  local function put(o, x)
    n = n + 1
    if n > MAX_PROGRAM then
      error({ msg = format("pattern too large (more than %d instructions once repetitions are expanded)",
        MAX_PROGRAM) }, 0)
    end
    op[n], a1[n], a2[n] = o, x or false, false
    return n
  end

  local emit
  emit = function(node)
    local t = node.t
    if t == "char" then put(CHAR, node.cp)
    elseif t == "any" then put(ANY)
    elseif t == "class" then put(CLASS, node.class)
    elseif t == "bol" then put(BOL)
    elseif t == "eol" then put(EOL)
    elseif t == "wordb" then put(WORDB)
    elseif t == "nwordb" then put(NWORDB)
    elseif t == "cat" then
      for _, item in ipairs(node.list) do emit(item) end
    elseif t == "alt" then
      -- SPLIT next, alt2; e1; JMP out; alt2: SPLIT ...; en; out:
      local jumps = {}
      local list = node.list
      for k = 1, #list - 1 do
        local s = put(SPLIT)
        a1[s] = s + 1
        emit(list[k])
        jumps[#jumps + 1] = put(JMP)
        a2[s] = n + 1
      end
      emit(list[#list])
      for _, j in ipairs(jumps) do a1[j] = n + 1 end
    elseif t == "rep" then
      local child, min, max = node.node, node.min, node.max
      local before, last = n, n + 1
      for _ = 1, min do
        last = n + 1
        emit(child)
        if n == before then return end  -- child matches only "": so does the repetition
      end
      if max == nil then
        if min > 0 then
          -- x{min,}: loop back over the last mandatory copy.
          local s = put(SPLIT)
          a1[s], a2[s] = last, s + 1
        else
          -- x*: L: SPLIT body, out; body: x; JMP L; out:
          local s = put(SPLIT)
          a1[s] = s + 1
          emit(child)
          put(JMP, s)
          a2[s] = n + 1
        end
      else
        -- (max - min) optional copies, each one able to skip to the end.
        local splits = {}
        for _ = 1, max - min do
          local s = put(SPLIT)
          a1[s] = s + 1
          splits[#splits + 1] = s
          emit(child)
        end
        for _, s in ipairs(splits) do a2[s] = n + 1 end
      end
    end
    -- "empty" emits nothing.
  end

  emit(ast)
  put(MATCH)
  return op, a1, a2, n
end

---------------------------------------------------------------------------
-- Matching

-- Does the program of re match somewhere in s (or where its anchors say)?
-- Simulates all threads in lock step, one code point at a time: the
-- pending threads of a position are closed over SPLIT/JMP/assertions into
-- the consuming instructions, which are then stepped over the code point.
-- A fresh thread starts at every position (search) unless the pattern is
-- anchored at the start. Uses the scratch arrays of re; not reentrant, but
-- it never yields, so that is safe within one Lua state.
local function run(re, s)
  local op, a1, a2 = re.op, re.a1, re.a2
  local mark, stack, clist, plist = re.mark, re.stack, re.clist, re.plist
  local anchored = re.anchored
  local gen = re.gen
  local len = #s
  local i, prev, np = 1, nil, 0
  local matched = false
  while true do
    local cp, nexti
    if i <= len then
      cp = byte(s, i)
      if cp < 0x80 then nexti = i + 1 else cp, nexti = decode(s, i) end
    end
    -- Close the pending threads (and a fresh start thread) at this position.
    for k = 1, np do stack[k] = plist[k] end
    local sp = np
    if i == 1 or not anchored then sp = sp + 1; stack[sp] = 1 end
    if sp == 0 then break end
    gen = gen + 1
    local nc = 0
    while sp > 0 do
      local pc = stack[sp]
      sp = sp - 1
      if mark[pc] ~= gen then
        mark[pc] = gen
        local o = op[pc]
        if o == SPLIT then
          stack[sp + 1] = a2[pc]; stack[sp + 2] = a1[pc]; sp = sp + 2
        elseif o == JMP then
          sp = sp + 1; stack[sp] = a1[pc]
        elseif o == MATCH then
          matched = true
          break
        elseif o == BOL then
          if i == 1 then sp = sp + 1; stack[sp] = pc + 1 end
        elseif o == EOL then
          if cp == nil then sp = sp + 1; stack[sp] = pc + 1 end
        elseif o == WORDB or o == NWORDB then
          local boundary = (prev ~= nil and is_word(prev)) ~= (cp ~= nil and is_word(cp))
          if boundary == (o == WORDB) then sp = sp + 1; stack[sp] = pc + 1 end
        else
          nc = nc + 1; clist[nc] = pc
        end
      end
    end
    if matched or cp == nil then break end
    -- Step every consuming thread over cp.
    np = 0
    for k = 1, nc do
      local pc = clist[k]
      local o = op[pc]
      local hit
      if o == CHAR then
        hit = a1[pc] == cp
      elseif o == ANY then
        hit = cp ~= 10 and cp ~= 13 and cp ~= 0x2028 and cp ~= 0x2029
      elseif cp >= 0 and cp < 0x80 then
        hit = a1[pc].ascii[cp + 1]
      else
        hit = class_has(a1[pc], cp)
      end
      if hit then np = np + 1; plist[np] = pc + 1 end
    end
    prev, i = cp, nexti
  end
  re.gen = gen
  return matched
end

local Regex = {}
Regex.__index = Regex

-- re:test(str) -> boolean: does the pattern match somewhere in str (search
-- semantics; ^ and $ anchor to the start and end of str)? str must be a
-- string (anything else raises). Never fails otherwise: there is no step
-- budget, matching is linear in #str.
function Regex:test(str)
  if type(str) ~= "string" then
    error("pattern: test() expects a string, got " .. type(str), 2)
  end
  return run(self, str)
end

function Regex:__tostring()
  return "pattern: " .. self.source
end

-- compile(src) -> re | nil, err. src must be a string (anything else
-- raises). err names the problem and its position in src, counted in
-- characters from 1, e.g. "missing ) to close ( at position 1".
-- re.source is src; the other fields are private.
function _M.compile(src)
  if type(src) ~= "string" then
    error("pattern: compile() expects a string, got " .. type(src), 2)
  end
  local P, i, len = {}, 1, #src
  while i <= len do
    local cp, nexti = decode(src, i)
    if cp == INVALID then return nil, format("invalid UTF-8 at position %d", #P + 1) end
    P[#P + 1] = cp
    i = nexti
  end
  local ok, res = pcall(function()
    local ast = parse(P)
    local op, a1, a2, n = generate(ast)
    return { op = op, a1 = a1, a2 = a2, size = n, anchored = anchored_at_start(ast) }
  end)
  if not ok then
    if type(res) == "table" and res.msg then return nil, res.msg end
    error(res, 0)  -- a bug, not a bad pattern
  end
  res.source = src
  res.mark, res.stack, res.clist, res.plist, res.gen = {}, {}, {}, {}, 0
  for pc = 1, res.size do res.mark[pc] = 0 end
  return setmetatable(res, Regex)
end

---------------------------------------------------------------------------
-- Cache for pattern.test: source -> compiled regex, or the error string of
-- an invalid source. Holds at most CACHE_MAX sources; the next one empties it
-- (model patterns are a small fixed set, so this only bounds misuse).

local cache, cached_count = {}, 0

-- Recent answers per source, { [str] = true|false }: a request
-- path checks the same ARN on every call, and one run of the VM over it
-- costs ~20 us in Lua 5.4. At most ANSWERS_MAX strings of at most
-- ANSWER_LEN bytes per source (ARNs are at most 256 characters); the next
-- one empties that source's table, so a model's few dozen patterns keep
-- well under 1 MB even when every value differs.
local ANSWERS_MAX, ANSWER_LEN = 64, 256
local answers, answer_count = {}, {}

-- test(src, str) -> true | false | nil, err. Compiles src on first use and
-- caches the result (also a compile error) per source string.
function _M.test(src, str)
  local known = answers[src]
  if known then
    local hit = known[str]
    if hit ~= nil then return hit end
  end
  local entry = cache[src]
  if entry == nil then
    local re, err = _M.compile(src)
    entry = re or err
    if cached_count >= CACHE_MAX then cache, cached_count, answers, answer_count = {}, 0, {}, {} end
    cache[src], cached_count = entry, cached_count + 1
  end
  if type(entry) == "string" then return nil, entry end
  local ok = entry:test(str)
  if #str <= ANSWER_LEN then
    local n = answer_count[src] or 0
    if not known or n >= ANSWERS_MAX then
      known, n = {}, 0
      answers[src] = known
    end
    known[str], answer_count[src] = ok, n + 1
  end
  return ok
end

-- cached(src) -> the compiled regex cached for src, its compile error
-- (a string), or nil when src is not cached.
function _M.cached(src)
  return cache[src]
end

-- Empty the cache of pattern.test.
function _M.clear_cache()
  cache, cached_count, answers, answer_count = {}, 0, {}, {}
end

return _M
