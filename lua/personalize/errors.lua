-- Error objects: every failure a call returns as `nil, err`.
--
--   err.code        "ResourceNotFoundException", "ParamValidation",
--                   "EndpointConnectionError", "ReadTimeoutError", ...
--   err.message     the service's message, or ours
--   err.status      HTTP status (nil when no response arrived)
--   err.request_id  x-amzn-requestid of the response
--   err.operation   "DescribeSchema"
--   err.retryable   true when trying again may succeed
--   err.attempts    attempts made (set by the client's retry loop)
--   tostring(err)   "An error occurred (Code) when calling the Op operation: message"
--   "failed: " .. err  the same text: errors concatenate with strings either way
--
-- An error never holds credentials, headers or request bodies.
local setmetatable, getmetatable, tostring, type = setmetatable, getmetatable, tostring, type

local _M = {}

local Error = {}
Error.__index = Error

function Error.__tostring(e)
  if e.code == "ParamValidation" then return e.message end
  if e.operation then
    -- botocore's wording once retries were made: "(reached max retries: 2)".
    local retries = ""
    if e.attempts and e.attempts > 1 then
      retries = (" (reached max retries: %d)"):format(e.attempts - 1)
    end
    return ("An error occurred (%s) when calling the %s operation%s: %s")
      :format(tostring(e.code), e.operation, retries, tostring(e.message))
  end
  return ("%s: %s"):format(tostring(e.code), tostring(e.message))
end

-- "prefix: " .. err and err .. " suffix" read as tostring(err), as OpenResty
-- code writes log lines (ngx.log takes strings only).
function Error.__concat(a, b)
  return tostring(a) .. tostring(b)
end

-- Codes that mean "slow down" (botocore's standard retry mode list).
local THROTTLING = {
  Throttling = true, ThrottlingException = true, ThrottledException = true,
  RequestThrottledException = true, TooManyRequestsException = true,
  ProvisionedThroughputExceededException = true, TransactionInProgressException = true,
  RequestLimitExceeded = true, BandwidthLimitExceeded = true, SlowDown = true,
  RequestThrottled = true, EC2ThrottledException = true,
  PriorRequestNotComplete = true, LimitExceededException = true,
}
-- Codes and statuses that are transient faults.
local TRANSIENT = {
  RequestTimeout = true, RequestTimeoutException = true, InternalError = true,
  InternalFailure = true, ServiceUnavailable = true,
  EndpointConnectionError = true, ConnectTimeoutError = true,
  ReadTimeoutError = true, HTTPClientError = true, ConnectionClosedError = true,
}
local TRANSIENT_STATUS = { [429] = true, [500] = true, [502] = true, [503] = true, [504] = true }

function _M.is_throttling(code)
  return THROTTLING[code] == true
end

-- Whether an error with this code and status may succeed when retried.
function _M.retryable(code, status)
  return THROTTLING[code] == true or TRANSIENT[code] == true
    or (status ~= nil and TRANSIENT_STATUS[status] == true)
end

-- A new error; `fields` must carry at least code and message.
function _M.new(fields)
  if fields.retryable == nil then
    fields.retryable = _M.retryable(fields.code, fields.status)
  end
  return setmetatable(fields, Error)
end

function _M.is_error(v)
  return type(v) == "table" and getmetatable(v) == Error
end

return _M
