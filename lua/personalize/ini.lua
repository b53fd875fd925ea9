-- The INI dialect of the AWS shared config and credentials files.
--
--   local sections = ini.parse(text)          -- never fails
--   local sections, err = ini.load(path)      -- {} when the file is missing
--
-- sections["profile dev"] = { region = "eu-west-1",
--                             s3 = { max_concurrent_requests = "20" } }
--
-- The dialect is the one botocore reads (Python's RawConfigParser plus
-- botocore's nested sections):
--   * whole-line comments start with '#' or ';'; a '#' or ';' inside a
--     value is part of the value (credential_process commands keep theirs);
--   * `[name]` opens a section; the name is trimmed and inner runs of
--     blanks are kept as written; a section seen twice is merged, later
--     keys winning;
--   * `key = value` or `key: value`; keys keep their case as written, keys
--     and values are trimmed;
--   * `key =` with an empty value followed by indented `sub = value` lines
--     is a nested sub-section (a table of its own);
--   * an indented line after a non-empty value continues it (joined with
--     "\n"), as RawConfigParser does.
-- Lines outside any section and lines that are none of the above are
-- ignored, as the AWS CLI ignores them.
local io_open, type = io.open, type


local _M = {}

local function trim(s)
  return (s:gsub("^%s+", ""):gsub("%s+$", ""))
end

-- Splits `key = value` (or `key: value`) at the first '=' or ':'.
local function split_pair(line)
  local eq = line:find("[=:]")
  if not eq then return nil end
  local key = trim(line:sub(1, eq - 1))
  if key == "" then return nil end
  return key, trim(line:sub(eq + 1))
end

function _M.parse(text)
  local sections = {}
  local current          -- the table of the section being read
  local last_key         -- the key whose value indented lines extend
  local nested           -- true when last_key had an empty value (a sub-section)
  for raw in (text .. "\n"):gmatch("([^\n]*)\n") do
    local line = raw:gsub("\r$", "")
    local indented = line:match("^[ \t]") ~= nil
    local body = trim(line)
    -- Blank lines and comments are skipped; they keep a nested block open.
    if body ~= "" and not body:match("^[#;]") then
      if not indented and body:match("^%[") then
        local name = body:match("^%[([^%]]*)%]")
        if name then
          name = trim(name)
          current = sections[name] or {}
          sections[name] = current
        else
          current = nil
        end
        last_key, nested = nil, nil
      elseif current and indented and last_key then
        if nested then
          local k, v = split_pair(body)
          if k then
            if type(current[last_key]) ~= "table" then current[last_key] = {} end
            current[last_key][k] = v
          end
        elseif type(current[last_key]) == "string" then
          current[last_key] = current[last_key] .. "\n" .. body
        end
      elseif current then
        local k, v = split_pair(body)
        if k then
          if v == "" then
            -- A nested sub-section when indented lines follow (see above).
            current[k] = ""
            last_key, nested = k, true
          else
            current[k] = v
            last_key, nested = k, nil
          end
        else
          last_key, nested = nil, nil
        end
      end
    end
  end
  return sections
end

-- Reads and parses the file at `path`. A missing file is an empty set of
-- sections (AWS tools treat it so); an unreadable one is nil, err.
function _M.load(path)
  local f, err = io_open(path, "rb")
  if not f then
    -- ENOENT reads "No such file or directory" in every libc we target.
    if err and err:find("No such file", 1, true) then return {} end
    return nil, err
  end
  local text = f:read("*a")
  f:close()
  if not text then return nil, "cannot read " .. path end
  return _M.parse(text)
end

return _M
