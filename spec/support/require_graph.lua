-- The require graph of the Lua sources, read from the files (nothing is
-- loaded), for spec/architecture/require_graph_spec.lua.
--
--   local g = graph.build { "lua", "bin" }
--   g.modules[name] = { file =, edges = { [dep] = line }, fields = {...}, own = {...} }
--   graph.cycles(g) -> { { "a", "b", "a" }, ... }     one path per strongly connected set
--
-- A Lua tokenizer drops comments and reads strings, so a `require "x"` in a
-- header comment or inside a string is no edge. Edges are:
--   * require "x", require("x"), pcall(require, "x"), anywhere in the file
--     (a require inside a function is an edge too: it runs when called);
--   * in a file that also requires by a computed name (require(def.model),
--     require(entry[2])), every string literal with a dot that is the name
--     of a module of the graph: the tables such files require from
--     (SERVICES, CHAIN, LAZY) name their modules that way (a bare
--     "personalize" there is a service name, not the top module).
-- Files: lua/**/*.lua as modules (lua/a/b.lua -> "a.b", lua/a/init.lua ->
-- "a"), and the Lua scripts of bin/ (a first line naming lua) as "bin/<name>".
local _M = {}

local function read(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("*a")
  f:close()
  return s
end

local function list(cmd)
  local p = assert(io.popen(cmd))
  local out = {}
  for line in p:lines() do out[#out + 1] = line end
  p:close()
  table.sort(out)
  return out
end

-- Tokens of Lua source `src`: { kind = "name" | "string" | "number" | "op", value =, line = }.
function _M.tokens(src)
  local toks, i, n, line = {}, 1, #src, 1
  if src:sub(1, 1) == "#" then i = (src:find("\n", 1, true) or n) end
  local function count_lines(a, b)
    local _, k = src:sub(a, b):gsub("\n", "")
    line = line + k
  end
  while i <= n do
    local c = src:sub(i, i)
    if c == "\n" then
      line = line + 1
      i = i + 1
    elseif c:match("%s") then
      i = i + 1
    elseif src:sub(i, i + 1) == "--" then
      local eq = src:match("^%[(=*)%[", i + 2)
      if eq then
        local _, e = src:find("]" .. eq .. "]", i, true)
        e = e or n
        count_lines(i, e)
        i = e + 1
      else
        i = src:find("\n", i, true) or n + 1
      end
    elseif c == "[" and src:match("^%[=*%[", i) then
      local eq = src:match("^%[(=*)%[", i)
      local s = i + #eq + 2
      local _, e = src:find("]" .. eq .. "]", s, true)
      e = e or n
      toks[#toks + 1] = { kind = "string", value = src:sub(s, e - #eq - 2), line = line }
      count_lines(i, e)
      i = e + 1
    elseif c == '"' or c == "'" then
      local j, buf = i + 1, {}
      while j <= n do
        local d = src:sub(j, j)
        if d == "\\" then
          buf[#buf + 1] = src:sub(j, j + 1)
          if src:sub(j + 1, j + 1) == "\n" then line = line + 1 end
          j = j + 2
        elseif d == c or d == "\n" then
          break
        else
          buf[#buf + 1] = d
          j = j + 1
        end
      end
      toks[#toks + 1] = { kind = "string", value = table.concat(buf), line = line }
      i = j + 1
    elseif c:match("[%a_]") then
      local w = src:match("^[%w_]+", i)
      toks[#toks + 1] = { kind = "name", value = w, line = line }
      i = i + #w
    elseif c:match("%d") or (c == "." and src:match("^%.%d", i)) then
      local num = src:match("^0[xX][%x%.]*[pP][+-]?%d+", i) or src:match("^0[xX][%x%.]*", i)
        or src:match("^%d*%.?%d*[eE][+-]?%d+", i) or src:match("^%d*%.?%d*", i)
      toks[#toks + 1] = { kind = "number", value = num, line = line }
      i = i + #num
    else
      local op = src:match("^%.%.%.", i) or src:match("^%.%.", i) or src:match("^[=~<>]=", i)
        or src:match("^::", i) or src:match("^//", i) or src:match("^<<", i) or src:match("^>>", i) or c
      toks[#toks + 1] = { kind = "op", value = op, line = line }
      i = i + #op
    end
  end
  return toks
end

local function is(t, kind, value)
  return t ~= nil and t.kind == kind and (value == nil or t.value == value)
end

-- What one file says: { requires = { { name, line } }, dynamic = bool,
-- strings = { { value, line } }, reads = { { object, field, line } },
-- own = { [field] = true } }.
--   reads: `obj._field`, `obj:_method(...)`, `obj["_field"]` (obj a name
--   other than self) and rawget(obj, "_field");
--   own: the underscore fields the file makes: keys `_f = ` of its table
--   constructors, assignments `x._f = ...` and functions `function X:_f`.
function _M.parse(src)
  local toks = _M.tokens(src)
  local out = { requires = {}, dynamic = false, strings = {}, reads = {}, own = {} }
  for k, t in ipairs(toks) do
    local nx, nx2 = toks[k + 1], toks[k + 2]
    if t.kind == "string" then out.strings[#out.strings + 1] = { t.value, t.line } end
    if is(t, "name", "require") and not is(toks[k - 1], "op", ".") and not is(toks[k - 1], "op", ":") then
      if is(nx, "string") then
        out.requires[#out.requires + 1] = { nx.value, t.line }
      elseif is(nx, "op", "(") and is(nx2, "string") and is(toks[k + 3], "op", ")") then
        out.requires[#out.requires + 1] = { nx2.value, t.line }
      elseif is(nx, "op", ",") and is(toks[k - 1], "op", "(") and is(toks[k - 2], "name", "pcall") then
        if is(nx2, "string") and (is(toks[k + 3], "op", ")") or is(toks[k + 3], "op", ",")) then
          out.requires[#out.requires + 1] = { nx2.value, t.line }
        else
          out.dynamic = true
        end
      elseif is(nx, "op", "(") then
        out.dynamic = true
      end
    end
    -- obj._field, obj:_method(), obj["_field"] (obj a plain name, not a.b._c)
    local field = (is(t, "op", ".") or is(t, "op", ":")) and is(nx, "name") and nx.value
    if is(t, "op", "[") and is(nx, "string") and is(nx2, "op", "]") then field = nx.value end
    if field and field:match("^_%a") and is(toks[k - 1], "name")
        and not is(toks[k - 2], "op", ".") and not is(toks[k - 2], "op", ":") then
      local obj = toks[k - 1].value
      local after = is(t, "op", "[") and toks[k + 3] or nx2
      if is(toks[k - 2], "name", "function") or is(after, "op", "=") then
        out.own[field] = true        -- function M._f / M:_f, or x._f = ...
      elseif obj ~= "self" then
        out.reads[#out.reads + 1] = { obj, field, t.line }
      end
    end
    -- { _field = ... }: a field this file makes
    if is(t, "name") and t.value:match("^_%a") and is(nx, "op", "=")
        and (is(toks[k - 1], "op", "{") or is(toks[k - 1], "op", ",") or is(toks[k - 1], "op", ";"))
        and not is(toks[k - 2], "name", "local") then
      out.own[t.value] = true
    end
    -- rawget(obj, "_field")
    if is(t, "name", "rawget") and is(nx, "op", "(") and is(nx2, "name") and is(toks[k + 3], "op", ",")
        and is(toks[k + 4], "string") and toks[k + 4].value:match("^_%a") and nx2.value ~= "self" then
      out.reads[#out.reads + 1] = { nx2.value, toks[k + 4].value, t.line }
    end
  end
  return out
end

-- The module name of a file under lua/, or "bin/<name>" for a script.
local function module_name(file)
  local rel = file:match("^lua/(.+)%.lua$")
  if rel then return (rel:gsub("/init$", ""):gsub("/", ".")) end
  return file
end

-- The graph of the Lua files under `root` (a clone's top directory, "."
-- by default): lua/**.lua and the Lua scripts of bin/.
function _M.build(root)
  root = root or "."
  local files = list("cd '" .. root .. "' && find lua -name '*.lua'")
  for _, f in ipairs(list("cd '" .. root .. "' && ls bin/* 2>/dev/null")) do
    local first = read(root .. "/" .. f):match("^[^\n]*")
    if first:match("^#!.*lua") then files[#files + 1] = f end
  end
  local g = { modules = {} }
  for _, f in ipairs(files) do
    local parsed = _M.parse(read(root .. "/" .. f))
    parsed.file = f
    g.modules[module_name(f)] = parsed
  end
  for name, m in pairs(g.modules) do
    m.name = name
    m.edges = {}
    for _, r in ipairs(m.requires) do
      if g.modules[r[1]] and r[1] ~= name then m.edges[r[1]] = m.edges[r[1]] or r[2] end
    end
    if m.dynamic then
      for _, s in ipairs(m.strings) do
        if s[1]:find(".", 1, true) and g.modules[s[1]] and s[1] ~= name then
          m.edges[s[1]] = m.edges[s[1]] or s[2]
        end
      end
    end
  end
  return g
end

local function sorted_keys(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys)
  return keys
end
_M.sorted_keys = sorted_keys

-- The cycles of graph `g` (a { modules = { [name] = { edges = {...} } } }):
-- one closed path per strongly connected set of two or more modules,
-- sorted, each starting at its smallest name.
function _M.cycles(g)
  -- Tarjan's strongly connected components.
  local index, low, on, stack, comps, next_index = {}, {}, {}, {}, {}, 0
  local function connect(v)
    index[v], low[v] = next_index, next_index
    next_index = next_index + 1
    stack[#stack + 1] = v
    on[v] = true
    for _, w in ipairs(sorted_keys(g.modules[v].edges)) do
      if g.modules[w] then
        if not index[w] then
          connect(w)
          if low[w] < low[v] then low[v] = low[w] end
        elseif on[w] and index[w] < low[v] then
          low[v] = index[w]
        end
      end
    end
    if low[v] == index[v] then
      local comp = {}
      repeat
        local w = table.remove(stack)
        on[w] = nil
        comp[w] = true
      until w == v
      comps[#comps + 1] = comp
    end
  end
  for _, v in ipairs(sorted_keys(g.modules)) do
    if not index[v] then connect(v) end
  end
  local out = {}
  for _, comp in ipairs(comps) do
    local members = sorted_keys(comp)
    if #members > 1 then
      -- A shortest path back to the first member, inside the component.
      local start = members[1]
      local prev, queue, found = { [start] = false }, { start }, nil
      local qi = 1
      while qi <= #queue and not found do
        local v = queue[qi]
        qi = qi + 1
        for _, w in ipairs(sorted_keys(g.modules[v].edges)) do
          if w == start then found = v; break end
          if comp[w] and prev[w] == nil then prev[w] = v; queue[#queue + 1] = w end
        end
      end
      local path = { start }
      local v = found
      while v and v ~= start do table.insert(path, 2, v); v = prev[v] end
      path[#path + 1] = start
      out[#out + 1] = table.concat(path, " -> ") .. (#members > #path - 1
        and (" (with " .. table.concat(members, ", ") .. ")") or "")
    end
  end
  table.sort(out)
  return out
end

return _M
