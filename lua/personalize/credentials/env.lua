-- Credentials from the environment: AWS_ACCESS_KEY_ID,
-- AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN (or the older
-- AWS_SECURITY_TOKEN), read at each load so rotated keys are seen.
-- Half a pair is an error, as in botocore.
local credentials = require "personalize.credentials.base"

local _M = {}

function _M.load(ctx)
  local cfg = ctx.cfg
  local id, secret = cfg:env("AWS_ACCESS_KEY_ID"), cfg:env("AWS_SECRET_ACCESS_KEY")
  if id and secret then
    return credentials.new(id, secret,
      cfg:env("AWS_SESSION_TOKEN") or cfg:env("AWS_SECURITY_TOKEN"), "env")
  end
  if id or secret then
    return nil, ("partial credentials in the environment: %s is set but %s is not")
      :format(id and "AWS_ACCESS_KEY_ID" or "AWS_SECRET_ACCESS_KEY",
              id and "AWS_SECRET_ACCESS_KEY" or "AWS_ACCESS_KEY_ID"), true
  end
  return nil, "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set"
end

return _M
