-- lua-personalize: Amazon Personalize from Lua.
--
--   local personalize = require "personalize"
--   local client = personalize.client("personalize", { region = "us-east-1" })
--   local res, err = client:list_schemas{}
--
-- Requiring this module loads nothing else: a service's model is loaded
-- when its first client is made.
local _M = { _VERSION = require "personalize.version" }

-- A client for "personalize", "personalize-runtime" or "personalize-events".
function _M.client(service, opts)
  return require("personalize.client").new(service, opts)
end

-- The credentials a client made with `opts` would use, and the name of
-- the provider that gave them ("env", "assume-role", "iam-role", ...):
--   local creds, source = personalize.credentials{ profile = "dev" }
-- or nil, message. tostring(creds) shows the access key id only.
function _M.credentials(opts)
  if type(opts) == "table" then require("personalize.config").check_options(opts, "personalize.credentials") end
  local credentials = require "personalize.credentials"
  local provider = credentials.resolve(opts)
  local creds, err = provider:get()
  if not creds then return nil, err end
  return creds, credentials.source(provider)
end

-- The error helpers (errors.is_error, errors.new).
function _M.errors()
  return require "personalize.errors"
end

-- Helpers loaded on first use, so `require "personalize"` stays cheap:
--   personalize.frame(records)            the recommendations table (personalize.frame)
--   personalize.schema.interactions{...}  Avro schema builder and checks (personalize.schema)
--   personalize.stub(client)              a Stubber for tests (personalize.stub)
--   personalize.events_batcher(c, opts)   put_events in batches (personalize.events_batcher)
--   personalize.help(client, op)          an operation's parameters (personalize.help)
--   personalize.engine                    personalize-local's engine (personalize.engine)
--   personalize.fanout.run(requests, o)   many different calls at once (personalize.fanout)
--   personalize.chart.metrics{...}        solution metrics as terminal bar charts (personalize.chart)
local LAZY = {
  frame = "personalize.frame",
  schema = "personalize.schema",
  stub = "personalize.stub",
  events_batcher = "personalize.events_batcher",
  help = "personalize.help",
  engine = "personalize.engine",
  fanout = "personalize.fanout",
  chart = "personalize.chart",
}

return setmetatable(_M, {
  __index = function(t, key)
    local name = LAZY[key]
    if not name then return nil end
    local value = require(name)
    rawset(t, key, value)
    return value
  end,
})
