-- Static keys from the shared files: the profile's section of the
-- credentials file (shared-credentials-file) and the profile of the config
-- file (config-file). Keys: aws_access_key_id, aws_secret_access_key,
-- aws_session_token (or aws_security_token). Half a pair is an error.
local credentials = require "personalize.credentials.base"

local nonempty = credentials.nonempty

local _M = {}

-- Credentials from one section, nil and why not, or nil, message, true.
function _M.from_section(section, where, source)
  if type(section) ~= "table" then return nil, "no profile in " .. where end
  local id, secret = nonempty(section.aws_access_key_id), nonempty(section.aws_secret_access_key)
  if id and secret then
    return credentials.new(id, secret,
      nonempty(section.aws_session_token) or nonempty(section.aws_security_token), source)
  end
  if id or secret then
    return nil, ("partial credentials in %s: %s without %s"):format(where,
      id and "aws_access_key_id" or "aws_secret_access_key",
      id and "aws_secret_access_key" or "aws_access_key_id"), true
  end
  return nil, "no aws_access_key_id in " .. where
end

-- The static keys of profile `name` (default the selected one), credentials
-- file first, as a source profile uses them.
function _M.profile_keys(ctx, name)
  local cfg = ctx.cfg
  name = name or cfg.profile_name
  local creds, why, fatal = _M.from_section(cfg:credentials_profile(name),
    ("[%s] of %s"):format(name, cfg:credentials_path()), "shared-credentials-file")
  if creds or fatal then return creds, why, fatal end
  return _M.from_section(cfg:profile(name), ("the %s profile of %s"):format(name, cfg:config_path()),
    "config-file")
end

function _M.load_credentials_file(ctx)
  local cfg = ctx.cfg
  return _M.from_section(cfg:credentials_profile(),
    ("[%s] of %s"):format(cfg.profile_name, cfg:credentials_path()), "shared-credentials-file")
end

function _M.load_config_file(ctx)
  local cfg = ctx.cfg
  return _M.from_section(cfg:profile(),
    ("the %s profile of %s"):format(cfg.profile_name, cfg:config_path()), "config-file")
end

return _M
