-- Converts the CSV export of dslabs::movielens (movieId, title, year,
-- genres, userId, rating, timestamp) to Amazon Personalize CSVs; run by
-- tools/movielens.sh:
--
--   lua5.4 tools/movielens.lua RAW.csv OUTDIR
--
--   OUTDIR/interactions.csv  USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE,EVENT_VALUE
--       one row per rating, in the export's order; EVENT_TYPE "watch",
--       EVENT_VALUE = rating / 5 (ratings 0.5..5 -> 0.1..1)
--   OUTDIR/items.csv         ITEM_ID,TITLE,GENRES
--       one row per movie in order of first rating; GENRES as MovieLens
--       writes them, "|"-separated (Personalize's categorical separator);
--       an unknown title is an empty field
--   OUTDIR/MANIFEST          "<file> <line count>" per file, written last
--
-- Each file is written to a temporary name and renamed over the target.
local dir = (arg[0]:match("^(.*)/[^/]*$") or ".") .. "/.."
package.path = dir .. "/lua/?.lua;" .. dir .. "/lua/?/init.lua;" .. package.path
package.cpath = dir .. "/build/lua5.4/?.so;" .. package.cpath

local frame = require "personalize.frame"

local RAW, OUTDIR = arg[1], arg[2]
if not RAW or not OUTDIR then
  io.stderr:write("usage: lua5.4 tools/movielens.lua RAW.csv OUTDIR\n")
  os.exit(2)
end

local function fail(msg)
  io.stderr:write("movielens: ", msg, "\n")
  os.exit(1)
end

-- core.write_file (fsync'd) when the C core is built, else temp + rename.
local function write_atomic(path, text)
  local ok, core = pcall(require, "personalize.core")
  if ok then
    local done, err = core.write_file(path, text)
    if not done then fail(err) end
    return
  end
  local tmp = path .. ".tmp"
  local fh = assert(io.open(tmp, "wb"))
  assert(fh:write(text))
  assert(fh:close())
  assert(os.rename(tmp, path))
end

local function line_count(text)
  local _, n = text:gsub("\n", "")
  return n
end

local raw, err = frame.from_csv(RAW, { strings = { "title", "genres" } })
if not raw then fail(err) end
for _, name in ipairs{ "movieId", "title", "genres", "userId", "rating", "timestamp" } do
  if not raw:has_column(name) then fail(RAW .. ": no column " .. name) end
end

local movie, title, genres = raw:column("movieId"), raw:column("title"), raw:column("genres")
local user, rating, ts = raw:column("userId"), raw:column("rating"), raw:column("timestamp")

local interactions = {
  USER_ID = {}, ITEM_ID = {}, TIMESTAMP = {}, EVENT_TYPE = {}, EVENT_VALUE = {},
}
local items = { ITEM_ID = {}, TITLE = {}, GENRES = {} }
local seen = {}
for i = 1, raw.nrow do
  local r = rating[i]
  if type(r) ~= "number" or r <= 0 or r > 5 then
    fail(("%s: record %d: rating %s outside 0.5..5"):format(RAW, i, tostring(r)))
  end
  interactions.USER_ID[i] = user[i]
  interactions.ITEM_ID[i] = movie[i]
  interactions.TIMESTAMP[i] = ts[i]
  interactions.EVENT_TYPE[i] = "watch"
  interactions.EVENT_VALUE[i] = r / 5
  if not seen[movie[i]] then
    seen[movie[i]] = true
    local n = #items.ITEM_ID + 1
    items.ITEM_ID[n], items.TITLE[n], items.GENRES[n] = movie[i], title[i], genres[i]
  end
end

local outputs = {
  { "interactions.csv", frame(interactions, {
    columns = { "USER_ID", "ITEM_ID", "TIMESTAMP", "EVENT_TYPE", "EVENT_VALUE" } }) },
  { "items.csv", frame(items, { columns = { "ITEM_ID", "TITLE", "GENRES" } }) },
}
local manifest = {}
for _, o in ipairs(outputs) do
  local text = o[2]:to_csv()
  write_atomic(OUTDIR .. "/" .. o[1], text)
  manifest[#manifest + 1] = o[1] .. " " .. line_count(text) .. "\n"
  io.stderr:write(("movielens: %s: %d rows\n"):format(o[1], o[2].nrow))
end
write_atomic(OUTDIR .. "/MANIFEST", table.concat(manifest))
