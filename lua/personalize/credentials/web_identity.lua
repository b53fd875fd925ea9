-- assume-role-with-web-identity: a token file and a role, exchanged with
-- STS AssumeRoleWithWebIdentity (unsigned). From AWS_WEB_IDENTITY_TOKEN_FILE
-- + AWS_ROLE_ARN (+ AWS_ROLE_SESSION_NAME), else from the profile's
-- web_identity_token_file + role_arn (+ role_session_name). The token file
-- is read again at each refresh (Kubernetes rotates it).
local credentials = require "personalize.credentials.base"
local sts = require "personalize.sts"

local nonempty = credentials.nonempty

local _M = {}

local function read_token(path)
  local f, err = io.open(path, "rb")
  if not f then return nil, err end
  local token = f:read("*a")
  f:close()
  token = token and token:gsub("%s+$", "")
  if not token or token == "" then return nil, path .. " is empty" end
  return token
end

-- Exchanges the token in `file` for credentials of `role_arn`.
function _M.fetch(ctx, file, role_arn, session_name, where)
  local token, err = read_token(ctx.cfg:expand(file))
  if not token then
    return nil, ("cannot read the web identity token file of %s: %s"):format(where, err), true
  end
  local creds, serr = sts.assume_role_with_web_identity(ctx, {
    RoleArn = role_arn,
    RoleSessionName = session_name or ("lua-personalize-session-" .. math.floor(ctx.now())),
    WebIdentityToken = token,
  })
  if not creds then return nil, ("%s: %s"):format(where, tostring(serr)), true end
  return creds
end

-- The web identity settings of profile `name` (a source profile).
function _M.for_profile(ctx, name)
  local p = ctx.cfg:profile(name)
  local file = p and nonempty(p.web_identity_token_file)
  if not file then return nil, "no web_identity_token_file in the profile" end
  if not nonempty(p.role_arn) then
    return nil, ("profile %q has web_identity_token_file but no role_arn"):format(name), true
  end
  return _M.fetch(ctx, file, p.role_arn, nonempty(p.role_session_name), ("profile %q"):format(name))
end

function _M.load(ctx)
  local cfg = ctx.cfg
  local file, role = cfg:env("AWS_WEB_IDENTITY_TOKEN_FILE"), cfg:env("AWS_ROLE_ARN")
  if file and role then
    return _M.fetch(ctx, file, role, cfg:env("AWS_ROLE_SESSION_NAME"), "AWS_WEB_IDENTITY_TOKEN_FILE")
  end
  return _M.for_profile(ctx, cfg.profile_name)
end

return _M
