-- The data preparation: tools/gen_small_data.lua (synthetic, deterministic)
-- and tools/movielens.sh (MovieLens from Debian's r-cran-dslabs, checked
-- against ../shared/datasets/movielens-small).
local frame = require "personalize.frame"
local core = require "personalize.core"
local process = require "support.process"
local shared = require "support.shared"

local q = process.shell_quote
local LUA = require("support.process").LUA
local files = require "support.files"

local tmpdir = files.tmpdir

local function read(path) return assert(files.read(path), "cannot read " .. path) end

-- Runs a shell command; its exit status and its output (stdout and stderr).
local function run(cmd)
  local p = io.popen(cmd .. " 2>&1")
  local out = p:read("*a")
  local ok, _, code = p:close()
  if type(ok) == "number" then code = ok end -- Lua 5.1's io.popen close
  return (ok == true or code == 0), out
end

local function gen(dir, seed)
  local ok, out = run(("%s tools/gen_small_data.lua %s %s"):format(LUA, q(dir), seed and tostring(seed) or ""))
  assert(ok, out)
  return out
end

describe("tools/gen_small_data.lua", function()
  local dir, interactions, items

  setup(function()
    dir = tmpdir()
    gen(dir)
    interactions = assert(frame.from_csv(dir .. "/interactions.csv"))
    items = assert(frame.from_csv(dir .. "/items.csv"))
  end)

  teardown(function() core.remove_tree(dir) end)

  it("writes the Personalize headers", function()
    assert.same({ "USER_ID", "ITEM_ID", "TIMESTAMP", "EVENT_TYPE", "EVENT_VALUE" }, interactions.columns)
    assert.same({ "ITEM_ID", "TITLE", "GENRES" }, items.columns)
    assert.same({ "interactions.csv", "items.csv" }, core.listdir(dir))
  end)

  it("meets Personalize's minimum data: 1,000 interactions, 25 users with 2 or more", function()
    assert.is_true(interactions.nrow >= 1000)
    assert.is_true(interactions.nrow >= 2500 and interactions.nrow <= 3500)
    local per_user = {}
    for _, u in ipairs(interactions:column("USER_ID")) do per_user[u] = (per_user[u] or 0) + 1 end
    local users, with_two = 0, 0
    for _, n in pairs(per_user) do
      users = users + 1
      if n >= 2 then with_two = with_two + 1 end
    end
    assert.equal(60, users)
    assert.is_true(with_two >= 25)
    assert.equal(200, items.nrow)
  end)

  it("writes well-formed values", function()
    local known = {}
    for _, id in ipairs(items:column("ITEM_ID")) do known[id] = true end
    local seen = {}
    for row in interactions:rows() do
      assert.is_true(known[row.ITEM_ID], "unknown item " .. tostring(row.ITEM_ID))
      assert.equal("watch", row.EVENT_TYPE)
      assert.is_true(row.EVENT_VALUE >= 0.1 and row.EVENT_VALUE <= 1)
      assert.is_true(row.TIMESTAMP > 1.4e9 and row.TIMESTAMP < 1.6e9)
      local key = row.USER_ID .. ":" .. row.ITEM_ID
      assert.is_nil(seen[key], "a repeated interaction " .. key)
      seen[key] = true
    end
    -- titles that need quoting survive the round trip
    local titles = table.concat(items:column("TITLE"), "\n")
    assert.truthy(titles:find(", The (", 1, true))
    assert.truthy(titles:find('"', 1, true))
    for _, g in ipairs(items:column("GENRES")) do assert.matches("^[%a-]+[|%a-]*$", g) end
  end)

  it("plants popular items and genre preferences", function()
    local count = {}
    for _, i in ipairs(interactions:column("ITEM_ID")) do count[i] = (count[i] or 0) + 1 end
    local counts = {}
    for _, n in pairs(count) do counts[#counts + 1] = n end
    table.sort(counts, function(a, b) return a > b end)
    local top = 0
    for k = 1, 20 do top = top + counts[k] end
    -- the top 10% of items hold far more than 10% of the interactions
    assert.is_true(top / interactions.nrow > 0.2, "top-20 share " .. top / interactions.nrow)
    -- each user's most watched genre covers far more than a uniform share
    local genres_of = {}
    for row in items:rows() do genres_of[row.ITEM_ID] = row.GENRES end
    local by_user = {}
    for row in interactions:rows() do
      local u = by_user[row.USER_ID] or { n = 0, g = {} }
      by_user[row.USER_ID] = u
      u.n = u.n + 1
      for g in genres_of[row.ITEM_ID]:gmatch("[^|]+") do u.g[g] = (u.g[g] or 0) + 1 end
    end
    local share, users, best_genre = 0, 0, {}
    for user, u in pairs(by_user) do
      local best = 0
      for g, n in pairs(u.g) do
        if n > best then best, best_genre[user] = n, g end
      end
      share, users = share + best / u.n, users + 1
    end
    assert.is_true(share / users > 0.45, "favourite-genre share " .. share / users)
    -- and rates the favourite genre higher than the rest
    local sums = { fav = 0, fav_n = 0, other = 0, other_n = 0 }
    for row in interactions:rows() do
      local g = "|" .. genres_of[row.ITEM_ID] .. "|"
      if g:find("|" .. best_genre[row.USER_ID] .. "|", 1, true) then
        sums.fav, sums.fav_n = sums.fav + row.EVENT_VALUE, sums.fav_n + 1
      else
        sums.other, sums.other_n = sums.other + row.EVENT_VALUE, sums.other_n + 1
      end
    end
    local gap = sums.fav / sums.fav_n - sums.other / sums.other_n
    assert.is_true(gap > 0.1, "favourite-genre value gap " .. gap)
  end)

  it("is deterministic per seed, the same under both interpreters' arithmetic", function()
    local again = tmpdir()
    gen(again, 42)
    assert.equal(read(dir .. "/interactions.csv"), read(again .. "/interactions.csv"))
    assert.equal(read(dir .. "/items.csv"), read(again .. "/items.csv"))
    local other = tmpdir()
    gen(other, 7)
    assert.are_not.equal(read(dir .. "/interactions.csv"), read(other .. "/interactions.csv"))
    core.remove_tree(again)
    core.remove_tree(other)
    -- a fingerprint of seed 42's output, equal under Lua 5.4 and LuaJIT
    local text = read(dir .. "/interactions.csv")
    local sum = 0
    for k = 1, #text, 7 do sum = (sum * 31 + text:byte(k)) % 1000000007 end
    assert.equal(interactions.nrow, 2823)
    assert.equal(789922751, sum)
  end)
end)

-- R and dslabs present, or CI (where the script installs them).
local function have_r()
  local ok = run("command -v Rscript >/dev/null && dpkg-query -W -f='${Status}' r-cran-dslabs | grep -q 'install ok installed'")
  return ok
end

describe("tools/movielens.sh", function()
  local ratings_dir = shared.dir("datasets/movielens-small")
  local runnable = os.getenv("CI") == "true" or have_r()
  if not runnable then
    io.stderr:write("\n*** SKIPPED: tools/movielens.sh needs Rscript and r-cran-dslabs " ..
                    "(apt-get install r-base-core r-cran-dslabs; CI=true installs them) ***\n")
  end

  it("prepares MovieLens as the shared copy has it, idempotently", function()
    if not runnable then
      pending("Rscript and r-cran-dslabs are not installed")
      return
    end
    local dir = tmpdir()
    local ok, out = run("sh tools/movielens.sh " .. q(dir))
    assert(ok, out)
    assert.same({ "MANIFEST", "interactions.csv", "items.csv" }, core.listdir(dir))
    assert.equal("interactions.csv 100005\nitems.csv 9067\n", read(dir .. "/MANIFEST"))
    local inter = assert(frame.from_csv(dir .. "/interactions.csv"))
    local items = assert(frame.from_csv(dir .. "/items.csv"))
    assert.same({ "USER_ID", "ITEM_ID", "TIMESTAMP", "EVENT_TYPE", "EVENT_VALUE" }, inter.columns)
    assert.same({ "ITEM_ID", "TITLE", "GENRES" }, items.columns)
    assert.equal(100004, inter.nrow)
    assert.equal(9066, items.nrow)
    assert.matches('\n51372,"""Great Performances"" Cats",Musical\n', read(dir .. "/items.csv"), 1, true)

    if ratings_dir then
      local ratings = assert(frame.from_csv(ratings_dir .. "/ratings.csv"))
      assert.equal(ratings.nrow, inter.nrow)
      local u, i, t, r = ratings:column("USER_ID"), ratings:column("ITEM_ID"),
                         ratings:column("TIMESTAMP"), ratings:column("RATING")
      local U, I, T, V = inter:column("USER_ID"), inter:column("ITEM_ID"),
                         inter:column("TIMESTAMP"), inter:column("EVENT_VALUE")
      local values = {}
      for k = 1, ratings.nrow do
        if u[k] ~= U[k] or i[k] ~= I[k] or t[k] ~= T[k] or math.abs(r[k] / 5 - V[k]) > 1e-12 then
          error(("interaction %d differs from the shared ratings"):format(k))
        end
        values[V[k]] = true
      end
      assert.is_true(values[0.1] and values[1] and not values[0])
      local shared_items = assert(frame.from_csv(ratings_dir .. "/items.csv", { strings = { "TITLE", "GENRES" } }))
      assert.equal(shared_items.nrow, items.nrow)
      local title, genres = {}, {}
      for row in shared_items:rows() do
        title[row.ITEM_ID] = row.TITLE ~= "NA" and row.TITLE or nil
        genres[row.ITEM_ID] = row.GENRES
      end
      for row in items:rows() do
        assert.equal(title[row.ITEM_ID], row.TITLE)
        assert.equal(genres[row.ITEM_ID], row.GENRES)
      end
    end

    -- complete outputs: nothing to do
    ok, out = run("sh tools/movielens.sh " .. q(dir))
    assert(ok, out)
    assert.matches("is up to date", out)
    -- a damaged output is made again
    local items_text = read(dir .. "/items.csv")
    assert(core.write_file(dir .. "/items.csv", items_text:sub(1, 1000)))
    ok, out = run("sh tools/movielens.sh " .. q(dir))
    assert(ok, out)
    assert.matches("items.csv: 9066 rows", out)
    assert.equal(items_text, read(dir .. "/items.csv"))
    core.remove_tree(dir)
  end)
end)
