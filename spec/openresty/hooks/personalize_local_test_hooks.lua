-- Loaded by personalize-local's nginx adapter when this directory is on
-- its Lua path (spec/openresty specs start it so): GetRecommendations for
-- the user "slow-user" waits SLOW seconds, to prove that a slow peer does
-- not block the example's nginx worker.
local _M = {}

_M.SLOW = 3

function _M.delay(req)
  if req.path == "/recommendations" and type(req.body) == "string"
    and req.body:find('"userId"%s*:%s*"slow%-user"') then
    return _M.SLOW
  end
  return nil
end

return _M
