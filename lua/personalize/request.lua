-- The one send step: every call of every service goes through send().
--
--   local res, err = request.send(sender, r)
--   local sender = request.unsigned(transport, retry_policy)
--
-- Per attempt: credentials (asked for each time: a retry after a long
-- back-off may need refreshed ones; cached ones cost a comparison) ->
-- SigV4 (or nothing) -> transport:send -> r.parse -> retry policy, with
-- the debug line and the policy's after_response hook. The protocol, as
-- r.parse, is the only part that differs between services; the clients
-- (personalize.client, personalize.s3, personalize.sts) and the container
-- and SSO credential providers build `r` and read the answer.
--
-- `sender` is a service client or any table with these fields (a client
-- gives them all, false for "none"; the fan-out's stand-in replaces
-- `transport` only):
--   transport      anything with send(req); its sleep(seconds) waits between
--                  attempts unless r.sleep says otherwise
--   _retry         a retry policy: start, before_send, after_response,
--                  next_delay, succeeded (personalize.retry)
--   _credentials   a provider with get() -> creds | nil, message, code; or
--                  false: the request goes unsigned (STS's web identity call,
--                  the container endpoint, the SSO portal's bearer token)
--   _signing       { name = signing name, region = region, s3 = bool }: the
--                  SigV4 scope; s3 keeps S3's canonical URI (no
--                  normalisation, no double encoding) and sends
--                  X-Amz-Content-Sha256
--   _debug         false or function(line): one line per attempt
-- `r`, the request as the protocol built it:
--   op             the operation's name ("ListSchemas"), for errors and debug
--   method, url    the whole URL sent, query included
--   host, path, query   Host header, canonical path and query as signed
--   headers        signed and sent (Host, X-Amz-Date, ... added here)
--   body, payload_hash
--   body_file, body_offset, body_length, response_file, timeout: passed on
--   parse(r, status, headers, body) -> result | nil, error fields
--   sleep          optional: how to wait between attempts
-- Returns the result (its ResponseMetadata gets RetryAttempts) or nil and
-- an error object (personalize.errors) with operation and attempts; a
-- connection failure is { code = transport's code, message }.
local core = require "personalize.core"
local errors = require "personalize.errors"
local sigv4 = require "personalize.sigv4"

local type, tostring = type, tostring
local floor = math.floor
local now, wall_time = core.now, core.time
local authorize = sigv4.authorize

local _M = {}

-- Cached X-Amz-Date: one os.date per second of wall-clock time.
local last_second, last_date
local function amz_date()
  local t = floor(wall_time())
  if t ~= last_second then
    last_second, last_date = t, sigv4.amz_date(t)
  end
  return last_date
end
_M.amz_date = amz_date

-- The debug sink of a client's `debug` option: true writes to stderr.
function _M.debug_sink(opt)
  if opt == true then
    return function(line) io.stderr:write(line, "\n") end
  end
  if type(opt) == "function" then return opt end
  return false
end

-- A sender of unsigned requests (credential endpoints) over `transport`
-- with the retry policy `retryer`.
function _M.unsigned(transport, retryer)
  return { transport = transport, _retry = retryer, _credentials = false, _signing = false, _debug = false }
end

-- Signs `headers` in place for `r` with `creds`.
local function sign(signing, r, creds, headers)
  local date = amz_date()
  headers.Host = r.host
  headers["X-Amz-Date"] = date
  if signing.s3 then headers["X-Amz-Content-Sha256"] = r.payload_hash end
  headers["X-Amz-Security-Token"] = creds.session_token
  headers.Authorization = nil
  headers.Authorization = authorize(r.method, r.path, r.query, headers, r.payload_hash,
    creds, date, signing.region, signing.name, signing.s3)
end

-- One attempt: status, headers, body or nil, code, message.
local function attempt(sender, r, creds, transport)
  local headers = r.headers
  if creds then sign(sender._signing, r, creds, headers) end
  local debug = sender._debug
  local started = debug and now()
  local status, rheaders, rbody = transport:send {
    method = r.method, url = r.url, headers = headers, body = r.body,
    body_file = r.body_file, body_offset = r.body_offset, body_length = r.body_length,
    response_file = r.response_file, timeout = r.timeout,
  }
  if debug then
    local id = status and (rheaders["x-amzn-requestid"] or rheaders["x-amz-request-id"])
    debug(("personalize: %s %s %s -> %s in %.1f ms%s"):format(
      r.op, r.method, r.url, tostring(status or rheaders), (now() - started) * 1000,
      id and (" (request id " .. id .. ")") or ""))
  end
  return status, rheaders, rbody
end

function _M.send(sender, r)
  local retryer, provider = sender._retry, sender._credentials
  local state = retryer:start()
  while true do
    local creds
    if provider then
      local cerr, ccode
      creds, cerr, ccode = provider:get()
      if not creds then
        return nil, errors.new { code = ccode or "NoCredentialsError", message = cerr, retryable = false,
          operation = r.op, attempts = state.attempts > 0 and state.attempts or nil }
      end
    end
    local transport = sender.transport
    local sleep = r.sleep or transport.sleep or retryer.sleep
    retryer:before_send(state, sleep)
    local status, rheaders, rbody = attempt(sender, r, creds, transport)
    local res, fields
    if status then
      res, fields = r.parse(r, status, rheaders, rbody)
    else
      fields = { code = rheaders, message = rbody }
    end
    if res then
      retryer:after_response(nil)
      retryer:succeeded(state)
      local meta = res.ResponseMetadata
      if meta then meta.RetryAttempts = state.attempts - 1 end
      return res
    end
    local err = errors.new(fields)
    err.operation = r.op
    err.attempts = state.attempts
    retryer:after_response(err)
    local delay, why = retryer:next_delay(state, err,
      status and rheaders["x-amz-retry-after"] or nil)
    if not delay then
      if why == "quota" then err.retry_quota_exceeded = true end
      return nil, err
    end
    sleep(delay)
  end
end

return _M
