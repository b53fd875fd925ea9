-- credential_process: the profile names a command whose standard output
-- is a JSON document
--   { "Version": 1, "AccessKeyId": ..., "SecretAccessKey": ...,
--     "SessionToken": ..., "Expiration": "2026-01-02T03:04:05Z" }
-- A non-zero exit status, output that is not that document, or another
-- Version is an error that stops the chain. The command runs through
-- /bin/sh (its quoting rules apply); its standard error is quoted in the
-- error message, never its standard output (it holds the secret).
local credentials = require "personalize.credentials.base"
local cjson = require "cjson.safe"

local io_popen, os_tmpname, os_remove, io_open = io.popen, os.tmpname, os.remove, io.open

local _M = {}

local MARKER = "\n__personalize_credential_process_status="

local function shell_quote(s)
  return "'" .. s:gsub("'", "'\\''") .. "'"
end

-- Runs `command`; returns its stdout, exit status and stderr (trimmed).
function _M.run(command)
  local errfile = os_tmpname()
  local p = io_popen("( " .. command .. " ) 2>" .. shell_quote(errfile)
    .. "; printf '" .. MARKER:gsub("\n", "\\n") .. "%d\\n' $?")
  local out = p:read("*a") or ""
  p:close()
  local f = io_open(errfile, "rb")
  local stderr = f and f:read("*a") or ""
  if f then f:close() end
  os_remove(errfile)
  local at = out:find(MARKER, 1, true)
  local status = at and tonumber(out:match("=(%d+)", at)) or -1
  if at then out = out:sub(1, at - 1) end
  stderr = stderr:gsub("%s+$", ""):sub(1, 500)
  return out, status, stderr
end

-- Credentials from `command`, or nil, message, true.
function _M.fetch(command, where)
  local out, status, stderr = _M.run(command)
  if status ~= 0 then
    return nil, ("credential_process of %s exited with status %d%s"):format(
      where, status, stderr ~= "" and (": " .. stderr) or ""), true
  end
  local doc = cjson.decode(out)
  if type(doc) ~= "table" then
    return nil, ("credential_process of %s did not print a JSON object"):format(where), true
  end
  if doc.Version ~= 1 then
    return nil, ("credential_process of %s printed Version %s; only Version 1 is supported")
      :format(where, tostring(doc.Version)), true
  end
  local creds, err = credentials.from_document(doc, "custom-process")
  if not creds then return nil, ("credential_process of %s: %s"):format(where, err), true end
  return creds
end

-- credential_process of profile `name` (default the selected one).
function _M.for_profile(ctx, name)
  local cfg = ctx.cfg
  name = name or cfg.profile_name
  local p = cfg:profile(name)
  local command = p and credentials.nonempty(p.credential_process)
  if not command then return nil, "no credential_process in the profile" end
  return _M.fetch(command, ("profile %q"):format(name))
end

function _M.load(ctx)
  return _M.for_profile(ctx)
end

return _M
