-- Construction policy of the service clients (personalize.client,
-- personalize.s3): what a client decides once, when it is built, from the
-- options, the environment and the profile. Transports only move bytes;
-- the send step (personalize.request) only sends.
--
--   local region = setup.region(cfg, service, who)       -- raises when none
--   local retryer, mode, max_attempts = setup.retryer(cfg, transport, who)
--   local prefix = setup.base_path(parsed_url)
--
-- Misuse raises an error prefixed with `who` at the level of the caller of
-- the function that calls these (the user's call of client()).
local retry = require "personalize.retry"
local transports = require "personalize.transport"

local tostring, error = tostring, error

local _M = {}

-- The client's region: configured, or personalize-local's default for a
-- "local:DIR" endpoint. Without one, raises; inside nginx the usual cause
-- is a missing `env AWS_REGION;` directive, which the message then names.
function _M.region(cfg, service, who)
  local region, err = cfg:region()
  region = region or transports.default_region(cfg, service)
  if not region then
    error(who .. ": " .. transports.env_hint(err, { "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE" }), 3)
  end
  return region
end

-- The retry policy: retry_mode ("standard" | "adaptive", default
-- standard) and max_attempts (default 3) from the options, environment or
-- profile; it waits with the transport's sleep and reads its clock.
function _M.retryer(cfg, transport, who)
  local mode = cfg:setting("retry_mode", "AWS_RETRY_MODE") or "standard"
  if mode ~= "standard" and mode ~= "adaptive" then
    error(("%s: retry_mode must be \"standard\" or \"adaptive\", got %q"):format(who, tostring(mode)), 3)
  end
  local max_attempts = retry.max_attempts({}, cfg)
  return retry.new { mode = mode, max_attempts = max_attempts, sleep = transport.sleep, now = transport.now },
    mode, max_attempts
end

-- The path of an endpoint URL (parsed by sigv4.parse_url) that goes before
-- every request's path, signed as sent: "" for "/" (configured endpoints
-- come without a trailing slash).
function _M.base_path(url)
  return url.path ~= "/" and url.path or ""
end

return _M
