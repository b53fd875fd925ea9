-- assume-role: a profile with role_arn and either source_profile (whose
-- credentials may come from another role, a web identity, a process or
-- static keys: chains of profiles, with cycle detection) or
-- credential_source (Environment, Ec2InstanceMetadata, EcsContainer),
-- exchanged with STS AssumeRole. Honours external_id, role_session_name
-- and duration_seconds. Profiles with web_identity_token_file belong to
-- the web identity provider; mfa_serial (which needs a prompt) is refused.
local credentials = require "personalize.credentials.base"
local shared = require "personalize.credentials.shared"
local sso = require "personalize.credentials.sso"
local sts = require "personalize.sts"

local nonempty = credentials.nonempty
local concat, tostring, tonumber = table.concat, tostring, tonumber

local _M = {}

local SOURCES = {
  Environment = "personalize.credentials.env",
  Ec2InstanceMetadata = "personalize.credentials.imds",
  EcsContainer = "personalize.credentials.container",
}

local function is_role_profile(p)
  return p ~= nil and nonempty(p.role_arn) ~= nil and nonempty(p.web_identity_token_file) == nil
end

local role_credentials

-- Credentials of source profile `name`; `path` lists the profiles that
-- led here (for cycle detection and messages).
local function profile_credentials(ctx, name, path)
  local cfg = ctx.cfg
  if not cfg:profile_exists(name) then
    return nil, ("the source profile %q could not be found (from %s)"):format(name, concat(path, " -> ")), true
  end
  local p = cfg:profile(name)
  if is_role_profile(p) then return role_credentials(ctx, name, path) end
  if p and nonempty(p.web_identity_token_file) then
    return require("personalize.credentials.web_identity").for_profile(ctx, name)
  end
  if sso.uses_sso(p) then return sso.for_profile(ctx, name) end
  if p and nonempty(p.credential_process) then
    return require("personalize.credentials.process").for_profile(ctx, name)
  end
  local creds, why = shared.profile_keys(ctx, name)
  if creds then return creds end
  return nil, ("the source profile %q has no credentials (%s)"):format(name, tostring(why)), true
end

-- Assumes the role of profile `name`.
function role_credentials(ctx, name, path)
  local cfg = ctx.cfg
  local p = cfg:profile(name)
  local here = {}
  for i, v in ipairs(path) do here[i] = v end
  here[#here + 1] = name
  local where = ("profile %q"):format(name)
  local source_profile, source = nonempty(p.source_profile), nonempty(p.credential_source)
  if source_profile and source then
    return nil, where .. " has both source_profile and credential_source", true
  end
  if not source_profile and not source then
    return nil, where .. " has role_arn but neither source_profile nor credential_source", true
  end
  if nonempty(p.mfa_serial) then
    return nil, where .. " needs an MFA token (mfa_serial), which lua-personalize cannot prompt for", true
  end

  local src, err
  if source then
    local mod = SOURCES[source]
    if not mod then
      return nil, ("%s has credential_source %q; expected Environment, Ec2InstanceMetadata or EcsContainer")
        :format(where, source), true
    end
    src, err = require(mod).load(ctx)
    if not src then
      return nil, ("%s: credential_source %s gave no credentials: %s"):format(where, source, tostring(err)), true
    end
  elseif source_profile == name then
    -- A profile may name itself when it holds the static keys of the role.
    src = shared.profile_keys(ctx, name)
    if not src then
      return nil, ("%s names itself as source_profile but has no static keys"):format(where), true
    end
  else
    for _, seen in ipairs(here) do
      if seen == source_profile then
        here[#here + 1] = source_profile
        return nil, "infinite loop in the source_profile chain: " .. concat(here, " -> "), true
      end
    end
    local fatal
    src, err, fatal = profile_credentials(ctx, source_profile, here)
    if not src then return nil, err, fatal end
  end

  local duration = p.duration_seconds and tonumber(p.duration_seconds)
  if p.duration_seconds and not duration then
    return nil, where .. " has a duration_seconds that is not a number", true
  end
  local creds, serr = sts.assume_role(ctx, src, {
    RoleArn = p.role_arn,
    RoleSessionName = nonempty(p.role_session_name) or ("lua-personalize-session-" .. math.floor(ctx.now())),
    ExternalId = nonempty(p.external_id),
    DurationSeconds = duration,
  })
  if not creds then return nil, ("%s: %s"):format(where, tostring(serr)), true end
  return creds
end

function _M.load(ctx)
  local cfg = ctx.cfg
  local name = cfg.profile_name
  if name ~= "default" and not cfg:profile_exists(name) then
    return nil, ("the config profile (%s) could not be found"):format(name), true
  end
  if not is_role_profile(cfg:profile()) then return nil, "no role_arn in the profile" end
  return role_credentials(ctx, name, {})
end

return _M
