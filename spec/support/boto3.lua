-- Runs Python with boto3 against a personalize-local server, for specs
-- that replay what AWS's published code does.
--
--   local boto3 = require "support.boto3"
--   if boto3.available("why") then
--     local out = boto3.run(server, [[
--   dsg = personalize.create_dataset_group(name='g')['datasetGroupArn']
--   out['status'] = personalize.describe_dataset_group(datasetGroupArn=dsg)['datasetGroup']['status']
--   out['err'] = error_of(personalize.describe_schema, schemaArn='arn:aws:personalize:us-east-1:1:schema/x')
--   ]])
--     -- out = { status = "CREATE PENDING", err = { Code = "ResourceNotFoundException", Message = ... } }
--   end
--
-- The program sees clients `personalize`, `runtime`, `events` and `s3`
-- (the server's endpoint and key pair, no retries), a dict `out` printed
-- as JSON at the end, `error_of(fn, **kw)` (the error dict of a failing
-- call, or None), `wait(fn, path, want, **kw)` (polls a Describe call
-- every 0.1 s until the status at `path` is in `want`; its last answer)
-- and json, time. A program that raises fails the run with its traceback.
local cjson = require "cjson"
local process = require "support.process"
local files = require "support.files"

local q = process.shell_quote

local _M = {}

local PRELUDE = [[
import json, sys, time
import boto3, botocore
from botocore.config import Config

_cfg = Config(retries={'max_attempts': 1}, s3={'addressing_style': 'path'})
def _client(name):
    return boto3.client(name, endpoint_url=sys.argv[1], region_name=sys.argv[2],
                        aws_access_key_id=sys.argv[3], aws_secret_access_key=sys.argv[4], config=_cfg)
personalize = _client('personalize')
runtime = _client('personalize-runtime')
events = _client('personalize-events')
s3 = _client('s3')
out = {}

def error_of(fn, **kw):
    try:
        fn(**kw)
        return None
    except botocore.exceptions.ClientError as e:
        return e.response['Error']

def wait(fn, path, want, timeout=60, **kw):
    deadline = time.time() + timeout
    while True:
        res = fn(**kw)
        status = res
        for p in path:
            status = status[p]
        if status in want or time.time() > deadline:
            return res
        time.sleep(0.1)

]]

local EPILOGUE = [[

print(json.dumps(out, default=str))
]]

local checked
-- Whether python3 with boto3 is here; prints why the caller skips when not
-- (an error under CI=true).
function _M.available(why)
  if checked == nil then
    local p = io.popen("python3 -c 'import boto3' 2>/dev/null && echo yes")
    checked = (p:read("*a") or ""):find("yes", 1, true) ~= nil
    p:close()
  end
  if checked then return true end
  local msg = "python3 with boto3 is not installed: " .. tostring(why)
  if os.getenv("CI") == "true" then error(msg, 2) end
  io.stderr:write("\n*** SKIPPED: " .. msg .. " ***\n")
  return false
end

-- Runs `code` (Python, unindented) against `server`; returns `out`
-- decoded. Raises with the program's output when it fails.
function _M.run(server, code)
  local dir = files.tmpdir()
  local path = dir .. "/program.py"
  files.write(path, PRELUDE .. code .. EPILOGUE)
  local cmd = "for v in $(env | sed -n 's/^\\(AWS_[A-Za-z0-9_]*\\)=.*/\\1/p'); do unset \"$v\"; done; "
    .. "AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_EC2_METADATA_DISABLED=true "
    .. "python3 " .. q(path) .. " " .. q(server.endpoint) .. " " .. q(server.region) .. " "
    .. q(server.access_key_id) .. " " .. q(server.secret_access_key) .. " 2>&1; echo \"exit=$?\""
  local p = io.popen(cmd)
  local text = p:read("*a")
  p:close()
  os.remove(path)
  os.remove(dir)
  local status = tonumber(text:match("exit=(%d+)%s*$"))
  local body = text:gsub("exit=%d+%s*$", "")
  if status ~= 0 then error("the boto3 program failed:\n" .. body, 2) end
  local last = body:match("([^\n]*)\n?$")
  local ok, out = pcall(cjson.decode, last)
  if not ok then error("the boto3 program printed no JSON:\n" .. body, 2) end
  return out
end

return _M
