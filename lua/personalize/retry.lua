-- Retries as botocore's `standard` and `adaptive` modes do them.
--
--   local r = retry.new{ mode = "standard", max_attempts = 3, sleep = f, now = f }
--   local state = r:start()                 -- one per call
--   r:before_send(state[, sleep])           -- adaptive: waits for a send token
--   r:after_response(throttled)             -- adaptive: adjusts the send rate
--   local delay, why = r:next_delay(state, err, retry_after_ms)
--   r:succeeded(state)                      -- refunds the quota
--   local f = retry.fixed{ max_attempts = 3, pause = 1 }   -- the same methods
--
-- Standard mode: up to max_attempts attempts in all (default 3); the delay
-- before retry n (n = 1, 2, ...) is rand() * min(base * 2^(n-1), 20) with
-- base 0.05 s for transient errors and 1 s for throttling; a server's
-- x-amz-retry-after (ms) is honoured within [delay, delay + 5 s]. A retry
-- quota of 500 tokens per client costs 14 per transient retry and 5 per
-- throttling retry; a call that succeeds gives back what its last retry
-- took (1 when it needed none), up to the 500. An empty quota stops the
-- retries, so a failing service does not see a retry storm.
--
-- Adaptive mode adds botocore's client-side rate limiter (adaptive.py):
-- a token bucket whose rate follows CUBIC, cut by 0.7 on each throttling
-- response and growing back along the cubic curve.
local errors = require "personalize.errors"

local random, min, max, floor = math.random, math.min, math.max, math.floor
local type, tostring, tonumber, error, setmetatable = type, tostring, tonumber, error, setmetatable

local _M = {}

_M.MAX_BACKOFF = 20
_M.BASE_TRANSIENT = 0.05
_M.BASE_THROTTLING = 1
_M.RETRY_AFTER_SLACK = 5
_M.QUOTA = 500
_M.COST_TRANSIENT = 14
_M.COST_THROTTLING = 5
_M.NO_RETRY_INCREMENT = 1

-- The code tables live in personalize.errors (err.retryable agrees with
-- what is retried here): throttling codes (and HTTP 429) cost the
-- throttling price; connection errors, timeouts, 500/502/503/504 and the
-- transient codes the transient one. Everything else is not retried.

-- "throttling", "transient" or nil (not retryable) for an error object.
function _M.classify(err)
  if errors.is_throttling(err.code) or err.status == 429 then return "throttling" end
  if errors.retryable(err.code, err.status) then return "transient" end
  return nil
end

-- Seconds to wait before retry number `n` (1 for the first retry).
function _M.delay(n, kind)
  local base = kind == "throttling" and _M.BASE_THROTTLING or _M.BASE_TRANSIENT
  return random() * min(base * 2 ^ (n - 1), _M.MAX_BACKOFF)
end

-- The attempt budget: `max_attempts` option or AWS_MAX_ATTEMPTS (or the
-- profile's max_attempts, through a config object). Raises on misuse.
function _M.max_attempts(opts, cfg)
  if cfg then return cfg:integer("max_attempts", "AWS_MAX_ATTEMPTS", 1) or 3 end
  local n = opts.max_attempts
  if n == nil then
    local raw = os.getenv("AWS_MAX_ATTEMPTS")
    if raw and raw ~= "" then n = tonumber(raw) or raw end
  end
  if n == nil then return 3 end
  if type(n) ~= "number" or n < 1 or n % 1 ~= 0 then
    error("max_attempts must be a whole number of at least 1", 4)
  end
  return n
end

---------------------------------------------------------------------------
-- Adaptive mode: botocore's TokenBucket, CubicCalculator and RateClocker.

local Limiter = {}
Limiter.__index = Limiter

local MIN_RATE = 0.5
local BETA, SCALE = 0.7, 0.4
local SMOOTHING, BUCKET_SCALE = 0.8, 2     -- rate measured over 0.5 s buckets

local function new_limiter(now, sleep)
  local t = now()
  local self = setmetatable({
    now = now, sleep = sleep, enabled = false,
    -- token bucket
    capacity = 0, last_refill = nil, fill_rate = MIN_RATE, max_capacity = 1, max_rate = MIN_RATE,
    -- cubic
    w_max = MIN_RATE, last_fail = t,
    -- measured send rate
    measured = 0, count = 0, last_bucket = floor(t),
  }, Limiter)
  self.k = (self.w_max * (1 - BETA) / SCALE) ^ (1 / 3)
  return self
end

function Limiter:refill()
  local t = self.now()
  if self.last_refill then
    self.capacity = min(self.max_capacity, self.capacity + (t - self.last_refill) * self.fill_rate)
  end
  self.last_refill = t
end

function Limiter:set_rate(rate)
  self:refill()
  self.max_rate = rate
  self.fill_rate = max(rate, MIN_RATE)
  self.max_capacity = rate >= 1 and rate or 1
  self.capacity = min(self.capacity, self.max_capacity)
end

-- Takes one send token, waiting with `sleep` (default the limiter's) for
-- the part of it not there yet; only once throttling was seen. The token
-- is taken before the wait, so callers that wait at the same time (the
-- fan-out's coroutines) queue up behind each other instead of all
-- sending when the first wait ends.
function Limiter:acquire(sleep)
  if not self.enabled then return end
  self:refill()
  self.capacity = self.capacity - 1
  if self.capacity < 0 then (sleep or self.sleep)(-self.capacity / self.fill_rate) end
end

function Limiter:record()
  local t = self.now()
  local bucket = floor(t * BUCKET_SCALE) / BUCKET_SCALE
  self.count = self.count + 1
  if bucket > self.last_bucket then
    local rate = self.count / (bucket - self.last_bucket)
    self.measured = rate * SMOOTHING + self.measured * (1 - SMOOTHING)
    self.count, self.last_bucket = 0, bucket
  end
  return self.measured
end

-- After each response: CUBIC growth on success, a cut by BETA on throttling.
function Limiter:update(throttled)
  local measured = self:record()
  local t = self.now()
  local rate
  if throttled then
    local current = self.enabled and min(measured, self.max_rate) or measured
    self.w_max = current
    self.k = (self.w_max * (1 - BETA) / SCALE) ^ (1 / 3)
    self.last_fail = t
    rate = current * BETA
    self.enabled = true
  else
    rate = SCALE * (t - self.last_fail - self.k) ^ 3 + self.w_max
  end
  self:set_rate(min(rate, 2 * measured))
end

---------------------------------------------------------------------------

local Retryer = {}
Retryer.__index = Retryer

-- opts: mode ("standard" | "adaptive"), max_attempts, sleep(seconds),
-- now() -> seconds (monotonic or wall clock).
function _M.new(opts)
  opts = opts or {}
  local mode = opts.mode or "standard"
  if mode ~= "standard" and mode ~= "adaptive" then
    error(("personalize: retry_mode must be \"standard\" or \"adaptive\", got %q"):format(tostring(mode)), 2)
  end
  local now = opts.now or require("personalize.core").now
  local sleep = opts.sleep or require("personalize.core").sleep
  return setmetatable({
    mode = mode, max_attempts = opts.max_attempts or 3, quota = _M.QUOTA,
    now = now, sleep = sleep,
    limiter = mode == "adaptive" and new_limiter(now, sleep) or nil,
  }, Retryer)
end

-- Per-call state: attempts made and the quota the last retry took.
function Retryer.start()
  return { attempts = 0, retry_cost = nil }
end

-- `sleep`: how this call waits for a send token (the transport's sleep,
-- which yields inside a fan-out); default the retryer's.
function Retryer:before_send(state, sleep)
  state.attempts = state.attempts + 1
  if self.limiter then self.limiter:acquire(sleep) end
end

function Retryer:after_response(err)
  if self.limiter then
    self.limiter:update(err ~= nil and _M.classify(err) == "throttling")
  end
end

-- Seconds to wait before the next attempt, or nil and why not
-- ("not retryable", "max attempts", "quota").
function Retryer:next_delay(state, err, retry_after_ms)
  local kind = _M.classify(err)
  if not kind then return nil, "not retryable" end
  if state.attempts >= self.max_attempts then return nil, "max attempts" end
  local cost = kind == "throttling" and _M.COST_THROTTLING or _M.COST_TRANSIENT
  if self.quota < cost then return nil, "quota" end
  self.quota = self.quota - cost
  state.retry_cost = cost
  local delay = _M.delay(state.attempts, kind)
  local after = tonumber(retry_after_ms)
  if after and after >= 0 then
    delay = min(max(after / 1000, delay), delay + _M.RETRY_AFTER_SLACK)
  end
  return delay
end

-- A call succeeded: refund what its last retry cost (1 if it needed none).
function Retryer:succeeded(state)
  self.quota = min(_M.QUOTA, self.quota + (state.retry_cost or _M.NO_RETRY_INCREMENT))
end

---------------------------------------------------------------------------
-- A fixed policy, as the container and SSO credential endpoints are asked
-- (botocore's ContainerMetadataFetcher): up to max_attempts attempts,
-- `pause` seconds apart, no quota. An answer with a status is retried
-- only when its error is retryable; a failure to connect always is.

local Fixed = {}
Fixed.__index = Fixed

function _M.fixed(opts)
  return setmetatable({ mode = "fixed", max_attempts = opts.max_attempts, pause = opts.pause,
                        sleep = opts.sleep or require("personalize.core").sleep }, Fixed)
end

Fixed.start = Retryer.start

function Fixed.before_send(_, state)
  state.attempts = state.attempts + 1
end

function Fixed.after_response() end
function Fixed.succeeded() end

function Fixed:next_delay(state, err)
  if err.status and not err.retryable then return nil, "not retryable" end
  if state.attempts >= self.max_attempts then return nil, "max attempts" end
  return self.pause
end

-- Exposed for specs.
_M.new_limiter = new_limiter

return _M
