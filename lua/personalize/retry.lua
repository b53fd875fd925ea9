-- Retries in botocore's standard mode: up to `max_attempts` attempts in
-- all (default 3), for throttling, transient faults and network errors,
-- with exponential backoff and full jitter capped at 20 seconds.
local random, min = math.random, math.min
local tonumber, getenv = tonumber, os.getenv

local _M = {}

local MAX_BACKOFF = 20

-- The attempt budget from the options or AWS_MAX_ATTEMPTS.
function _M.max_attempts(opts)
  local n = opts.max_attempts or tonumber(getenv("AWS_MAX_ATTEMPTS") or "")
  if n == nil then return 3 end
  if type(n) ~= "number" or n < 1 or n % 1 ~= 0 then
    error("max_attempts must be a whole number of at least 1", 4)
  end
  return n
end

-- Seconds to wait before attempt number `attempt + 1`.
function _M.delay(attempt)
  return min(MAX_BACKOFF, random() * 2 ^ (attempt - 1))
end

return _M
