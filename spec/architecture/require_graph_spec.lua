-- How the modules of lua/ (and the Lua scripts of bin/) depend on one
-- another, read from the sources (spec/support/require_graph.lua):
--   * no require cycle: shared facts sit at the bottom (personalize.models,
--     personalize.credentials.base), the modules that use them above;
--   * outside lua/personalize/engine/, only the entry points listed below
--     require the engine, and the engine requires none of the client stack;
--     outside lua/personalize/transport/, transports are reached through
--     personalize.transport (plus the listed pairs);
--   * no module reads the private (underscore) fields of another module's
--     objects (client._service ...): clients give client:model() and
--     client:operation(name).
-- ARCHITECTURE.md ("The require graph") says the same in prose.
local graph = require "support.require_graph"

-- The requires of personalize.engine or personalize.engine.* from outside
-- lua/personalize/engine/, each with why it is an entry point.
local ENGINE_ENTRIES = {
  ["personalize -> personalize.engine"] =
    "personalize.engine, the lazy field of the top module: the engine's public API (engine.open)",
  ["personalize.transport.engine -> personalize.engine"] =
    "the in-process transport (endpoint local:DIR) opens an engine with engine.open and uses its default keys",
  ["bin/personalize-local -> personalize.engine"] =
    "the command reads engine.DEFAULT_CREDENTIALS to sign its status requests",
  ["bin/personalize-local -> personalize.engine.nginx_conf"] =
    "the command writes the nginx configuration of the server it starts",
}

-- The requires of a transport (personalize.transport.*) from outside
-- lua/personalize/transport/, each with why; clients go through
-- personalize.transport (resolve, default_region, ...).
local TRANSPORT_ENTRIES = {
  ["personalize.credentials -> personalize.transport.curl"] =
    "the chain's own transport for the providers that go to the network when the client passes none",
}

-- Modules of the client stack: the engine answers requests, it never sends them.
local CLIENT_STACK = { "^personalize%.client$", "^personalize%.transport", "^personalize%.credentials",
  "^personalize%.s3$", "^personalize%.sts$", "^personalize%.protocol", "^personalize%.retry$",
  "^personalize%.config$", "^personalize%.paginator$", "^personalize%.waiters$" }

-- Underscore fields a module may read from objects it did not make, with why.
local PRIVATE_READS = {
  -- Lua's convention for a module's version: public, whatever its name says.
  { field = "_VERSION", why = "a module's version (Lua's _VERSION convention)" },
  -- The engine's resource records carry internal fields that every engine
  -- module reads (ARCHITECTURE.md, Invariants: they never reach the wire).
  { field = "_kind", under = "^personalize%.engine", why = "the engine's records: their kind" },
  { field = "_id", under = "^personalize%.engine", why = "the engine's records: their id" },
  { field = "_seq", under = "^personalize%.engine", why = "the engine's records: their creation order" },
  { field = "_due", under = "^personalize%.engine", why = "the engine's records: their next lifecycle step" },
  { field = "_job", under = "^personalize%.engine", why = "the engine's records: the job running for them" },
}

local function allowed_read(module, field)
  for _, a in ipairs(PRIVATE_READS) do
    if a.field == field and (not a.under or module:match(a.under)) then return true end
  end
  return false
end

-- "file:line: obj._field" for every read of another module's private field.
local function private_reads(g)
  local out = {}
  for _, name in ipairs(graph.sorted_keys(g.modules)) do
    local m = g.modules[name]
    for _, r in ipairs(m.reads) do
      local obj, field, line = r[1], r[2], r[3]
      if not m.own[field] and not allowed_read(name, field) then
        out[#out + 1] = ("%s:%d: %s.%s"):format(m.file, line, obj, field)
      end
    end
  end
  return out
end

-- "a -> b" for every require of package `pkg` ("personalize.engine") or
-- of one of its modules, from outside it, that `entries` does not list
-- (with `open_front`, requiring `pkg` itself needs no listing).
local function reaches(g, pkg, entries, open_front)
  local out = {}
  local inside = "^" .. pkg:gsub("%.", "%%.")
  for _, name in ipairs(graph.sorted_keys(g.modules)) do
    if not name:match(inside) then
      for _, dep in ipairs(graph.sorted_keys(g.modules[name].edges)) do
        local pair = name .. " -> " .. dep
        if ((dep == pkg and not open_front) or dep:match(inside .. "%.")) and not entries[pair] then
          out[#out + 1] = pair
        end
      end
    end
  end
  return out
end

-- Every listed pair is still a require (the lists stay true).
local function all_used(g, entries)
  for pair in pairs(entries) do
    local from, to = pair:match("^(%S+) %-> (%S+)$")
    assert.truthy(g.modules[from] and g.modules[from].edges[to], "unused entry point " .. pair)
  end
end

local function fake_graph(edges)
  local g = { modules = {} }
  for from, tos in pairs(edges) do
    local e = {}
    for _, to in ipairs(tos) do e[to] = 1 end
    g.modules[from] = { edges = e, file = from, reads = {}, own = {} }
  end
  return g
end

describe("the require graph", function()
  local g = graph.build(".")

  describe("reader", function()
    it("finds every form of require, and none in comments or strings", function()
      local p = graph.parse(table.concat({
        '-- local x = require "in.a.comment"',
        '--[[ require("in.a.long.comment") ]]',
        'local a = require "a.b"',
        'local c = require("c.d").field',
        'local ok, e = pcall(require, "e.f")',
        'local s = "require \\"in.a.string\\""',
        'local l = [[ require "in.a.long.string" ]]',
        'local t = obj.require',
      }, "\n"))
      local names = {}
      for _, r in ipairs(p.requires) do names[#names + 1] = r[1] end
      assert.are.same({ "a.b", "c.d", "e.f" }, names)
      assert.is_false(p.dynamic)
    end)

    it("counts the module names of a file that requires by a computed name", function()
      local p = graph.parse('local M = { x = "m.one" }\nlocal v = require(M.x)\n')
      assert.is_true(p.dynamic)
      assert.are.equal("m.one", p.strings[1][1])
    end)

    it("finds private field reads of other objects, not of self nor of what the file makes", function()
      local p = graph.parse(table.concat({
        'local svc = client._service',
        'local svc2 = rawget(client, "_service")',
        'local mine = self._queue',
        'local o = setmetatable({ _made = 1 }, M)',
        'local q = other._made',
        'x._set = 1',
        'function M._helper() end',
        'local z = other:_issue(1)',
        'local w = t["_hidden"]',
        'function Store:_commit() end',
        'store:_commit()',
      }, "\n"))
      local reads = {}
      for _, r in ipairs(p.reads) do
        if not p.own[r[2]] then reads[#reads + 1] = r[1] .. "." .. r[2] end
      end
      assert.are.same({ "client._service", "client._service", "other._issue", "t._hidden" }, reads)
      assert.is_true(p.own._made and p.own._set and p.own._helper and p.own._commit)
    end)

    it("names a cycle, and none in a graph without one", function()
      local cyclic = fake_graph { a = { "b" }, b = { "c" }, c = { "a", "d" }, d = {} }
      assert.are.same({ "a -> b -> c -> a" }, graph.cycles(cyclic))
      assert.are.same({}, graph.cycles(fake_graph { a = { "b" }, b = { "c" }, c = {} }))
    end)

    it("sees the modules of lua/ and bin/personalize-local", function()
      assert.truthy(g.modules["personalize.client"])
      assert.truthy(g.modules["personalize.models"])
      assert.truthy(g.modules["personalize.engine"])
      assert.truthy(g.modules["bin/personalize-local"])
      assert.truthy(g.modules["personalize.client"].edges["personalize.models"])
    end)
  end)

  it("has no cycle", function()
    assert.are.same({}, graph.cycles(g))
  end)

  it("reaches into the engine only through its listed entry points", function()
    assert.are.same({}, reaches(g, "personalize.engine", ENGINE_ENTRIES))
    all_used(g, ENGINE_ENTRIES)
    -- an unlisted one is caught
    local fake = fake_graph { ["personalize.frame"] = { "personalize.engine.store" }, ["personalize.engine.store"] = {} }
    assert.are.same({ "personalize.frame -> personalize.engine.store" }, reaches(fake, "personalize.engine", ENGINE_ENTRIES))
  end)

  it("reaches a transport only through personalize.transport and its listed entry points", function()
    assert.are.same({}, reaches(g, "personalize.transport", TRANSPORT_ENTRIES, true))
    all_used(g, TRANSPORT_ENTRIES)
    local fake = fake_graph { ["personalize.s3"] = { "personalize.transport.engine", "personalize.transport" },
      ["personalize.transport.engine"] = {}, ["personalize.transport"] = { "personalize.transport.engine" } }
    assert.are.same({ "personalize.s3 -> personalize.transport.engine" },
      reaches(fake, "personalize.transport", TRANSPORT_ENTRIES, true))
  end)

  it("keeps the client stack out of the engine", function()
    local seen, todo = {}, {}
    for name in pairs(g.modules) do
      if name:match("^personalize%.engine") then seen[name] = true; todo[#todo + 1] = name end
    end
    while #todo > 0 do
      local name = table.remove(todo)
      for dep in pairs(g.modules[name].edges) do
        if not seen[dep] then seen[dep] = true; todo[#todo + 1] = dep end
      end
    end
    local reached = {}
    for name in pairs(seen) do
      for _, p in ipairs(CLIENT_STACK) do
        if name:match(p) then reached[#reached + 1] = name end
      end
    end
    table.sort(reached)
    assert.are.same({}, reached)
  end)

  it("reads no other module's private fields", function()
    assert.are.same({}, private_reads(g))
  end)

  it("catches a private field read from another module", function()
    local fake = { modules = { ["personalize.help"] = {
      file = "lua/personalize/help.lua", edges = {},
      own = {}, reads = { { "target", "_service", 38 } } } } }
    assert.are.same({ "lua/personalize/help.lua:38: target._service" }, private_reads(fake))
    -- the engine's record fields are the engine's own
    fake.modules["personalize.help"].reads = { { "r", "_kind", 1 } }
    assert.are.same({ "lua/personalize/help.lua:1: r._kind" }, private_reads(fake))
  end)
end)
