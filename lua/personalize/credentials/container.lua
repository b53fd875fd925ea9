-- container-role: ECS / EKS Pod Identity credentials over HTTP.
--
--   AWS_CONTAINER_CREDENTIALS_RELATIVE_URI  -> http://169.254.170.2<uri>
--   AWS_CONTAINER_CREDENTIALS_FULL_URI      -> any https URL, or http to a
--       loopback address, 169.254.170.2, 169.254.170.23 or fd00:ec2::23
--   AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE (read at each fetch) or
--   AWS_CONTAINER_AUTHORIZATION_TOKEN       -> the Authorization header
--
-- Each fetch makes up to 3 attempts with a 2 s timeout, 1 s apart. The
-- answer is { AccessKeyId, SecretAccessKey, Token, Expiration }.
local credentials = require "personalize.credentials.base"
local request = require "personalize.request"
local retry = require "personalize.retry"
local cjson = require "cjson.safe"

local _M = {}

_M.ECS_HOST = "http://169.254.170.2"
_M.TIMEOUT = 2
_M.ATTEMPTS = 3
_M.PAUSE = 1

local ALLOWED_HTTP_HOSTS = {
  ["169.254.170.2"] = true, ["169.254.170.23"] = true, ["[fd00:ec2::23]"] = true,
  ["localhost"] = true, ["[::1]"] = true,
}

-- Whether a FULL_URI may be used (https anywhere; http to the hosts above
-- or any 127.0.0.0/8 address).
function _M.allowed(url)
  local scheme, host = url:match("^(%a+)://(%[[^%]]*%])")
  if not scheme then scheme, host = url:match("^(%a+)://([^/:?#]+)") end
  if not scheme then return false end
  scheme, host = scheme:lower(), host:lower()
  if scheme == "https" then return true end
  if scheme ~= "http" then return false end
  return ALLOWED_HTTP_HOSTS[host] == true or host:match("^127%.%d+%.%d+%.%d+$") ~= nil
end

-- The URL and the Authorization header value; nil, why (not configured)
-- or nil, message, true.
function _M.target(cfg)
  local relative, full = cfg:env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"),
    cfg:env("AWS_CONTAINER_CREDENTIALS_FULL_URI")
  local url
  if relative then
    url = _M.ECS_HOST .. relative
  elseif full then
    if not _M.allowed(full) then
      return nil, ("AWS_CONTAINER_CREDENTIALS_FULL_URI %q is not allowed: use https, or http to a "
        .. "loopback address, 169.254.170.2, 169.254.170.23 or fd00:ec2::23"):format(full), true
    end
    url = full
  else
    return nil, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and AWS_CONTAINER_CREDENTIALS_FULL_URI are not set"
  end
  local token
  local file = cfg:env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")
  if file then
    local f, err = io.open(file, "rb")
    if not f then return nil, "cannot read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: " .. tostring(err), true end
    token = (f:read("*a") or ""):gsub("%s+$", "")
    f:close()
  else
    token = cfg:env("AWS_CONTAINER_AUTHORIZATION_TOKEN")
  end
  if token and token:find("[\r\n]") then
    return nil, "the container authorization token holds a line break", true
  end
  return url, token
end

-- The send step's parse: the credentials of a 200 answer. Any other
-- status fails the attempt; 4xx other than throttling will not get better
-- by asking again.
local function parse(_, status, _, body)
  if status == 200 then
    local creds, err = credentials.from_document(cjson.decode(body), "container-role")
    if creds then return creds end
    return nil, { code = "InvalidResponse", message = "container credentials: " .. err, retryable = false }
  end
  return nil, { code = tostring(status), status = status, message = ("HTTP status %d"):format(status),
                retryable = not (status >= 400 and status < 500 and status ~= 429) }
end

function _M.load(ctx)
  local url, token, fatal = _M.target(ctx.cfg)
  if not url then return nil, token, fatal end
  local headers = { Accept = "application/json" }
  if token and token ~= "" then headers.Authorization = token end
  local sender = request.unsigned(ctx.transport(), retry.fixed { max_attempts = _M.ATTEMPTS, pause = _M.PAUSE })
  local creds, err = request.send(sender, { op = "GetCredentials", method = "GET", url = url,
    headers = headers, timeout = _M.TIMEOUT, parse = parse, sleep = ctx.sleep })
  if creds then return creds end
  if err.code == "InvalidResponse" then return nil, err.message, true end
  local last = err.status and err.message or ("%s: %s"):format(tostring(err.code), tostring(err.message))
  return nil, ("container credentials from %s failed: %s"):format(url, last), true
end

return _M
