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

-- The error helpers (errors.is_error, errors.new).
function _M.errors()
  return require "personalize.errors"
end

return _M
