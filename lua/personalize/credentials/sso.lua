-- AWS IAM Identity Center (SSO) profiles: sso_session or sso_start_url /
-- sso_account_id / sso_role_name. Not supported yet: a profile that uses
-- them stops the chain with a message naming the profile and a way out.
local _M = {}

local SSO_KEYS = { "sso_session", "sso_start_url", "sso_account_id", "sso_role_name" }

function _M.uses_sso(profile)
  if type(profile) ~= "table" then return false end
  for _, k in ipairs(SSO_KEYS) do
    if profile[k] ~= nil and profile[k] ~= "" then return true end
  end
  return false
end

function _M.error_for(name)
  return ("SSO credentials are not supported yet (profile %q uses sso_* settings); "
    .. "export them with `aws configure export-credentials --profile %s --format env` "
    .. "or use another profile"):format(name, name)
end

function _M.load(ctx)
  local cfg = ctx.cfg
  if not _M.uses_sso(cfg:profile()) then return nil, "no sso_* settings in the profile" end
  return nil, _M.error_for(cfg.profile_name), true
end

return _M
