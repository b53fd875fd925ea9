-- Bucket policies (the parts of the IAM policy language a bucket policy
-- uses) and S3's bucket naming rules, for personalize.engine.s3.
--
--   nil, message = policy.check_policy(text, bucket)   -- nil: S3 would accept it
--   applies = policy.statement_applies(st, service, action, arn, context)
--   message = policy.bucket_name_error(name)           -- nil for a valid name
local common = require "personalize.engine.s3.common"

local type, tostring, pairs, ipairs, pcall, next = type, tostring, pairs, ipairs, pcall, next
local MAX_POLICY, cjson = common.MAX_POLICY, common.cjson

local _M = {}

---------------------------------------------------------------------------
-- Bucket policies (IAM policy language, the parts a bucket policy uses)

local function as_list(v)
  if v == nil then return {} end
  if type(v) == "table" and (v[1] ~= nil or next(v) == nil) then return v end
  return { v }
end

-- IAM wildcards: '*' any run of characters, '?' one character.
local function glob_match(pattern, s, ignore_case)
  if type(pattern) ~= "string" then return false end
  if ignore_case then pattern, s = pattern:lower(), s:lower() end
  local lp = pattern:gsub("[%^%$%(%)%%%.%[%]%+%-]", "%%%0"):gsub("%*", ".*"):gsub("%?", ".")
  return s:match("^" .. lp .. "$") ~= nil
end
_M.glob_match = glob_match

local function any_glob(patterns, s, ignore_case)
  for _, p in ipairs(as_list(patterns)) do
    if glob_match(p, s, ignore_case) then return true end
  end
  return false
end

local function principal_matches(p, service)
  if p == "*" then return true end
  if type(p) ~= "table" then return false end
  for kind, values in pairs(p) do
    for _, v in ipairs(as_list(values)) do
      if v == "*" and kind == "AWS" then return true end
      if kind == "Service" and (v == service or v == "*") then return true end
    end
  end
  return false
end

local CONDITION_TESTS = {
  stringequals = function(v, x) return v == x end,
  stringequalsignorecase = function(v, x) return v:lower() == x:lower() end,
  stringlike = function(v, x) return glob_match(v, x) end,
  arnequals = function(v, x) return v == x end,
  arnlike = function(v, x) return glob_match(v, x) end,
}

-- Condition blocks: every operator and key must hold; a key the request
-- does not carry fails the test, as IAM does (no ...IfExists support).
local function conditions_hold(condition, context)
  if condition == nil then return true end
  if type(condition) ~= "table" then return false end
  for op, block in pairs(condition) do
    local name = tostring(op):lower()
    local negate = name:find("not", 1, true) ~= nil
    local test = CONDITION_TESTS[(name:gsub("not", ""))]
    if not test or type(block) ~= "table" then return false end
    for ckey, values in pairs(block) do
      local actual = context[tostring(ckey):lower()]
      if actual == nil then return false end
      local hit = false
      for _, v in ipairs(as_list(values)) do
        if type(v) == "string" and test(v, tostring(actual)) then hit = true end
      end
      if hit == negate then return false end
    end
  end
  return true
end

local function statement_applies(st, service, action, arn, context)
  if st.Principal ~= nil then
    if not principal_matches(st.Principal, service) then return false end
  elseif st.NotPrincipal ~= nil then
    if principal_matches(st.NotPrincipal, service) then return false end
  else
    return false
  end
  if st.Action ~= nil then
    if not any_glob(st.Action, action, true) then return false end
  elseif st.NotAction == nil or any_glob(st.NotAction, action, true) then
    return false
  end
  if st.Resource ~= nil then
    if not any_glob(st.Resource, arn) then return false end
  elseif st.NotResource == nil or any_glob(st.NotResource, arn) then
    return false
  end
  return conditions_hold(st.Condition, context)
end

-- nil, message when `text` is not a policy S3 would accept for `bucket`.
local function check_policy(text, bucket)
  if #text > MAX_POLICY then return nil, "Policy exceeds the maximum allowed document size." end
  if not text:match("^%s*{") then return nil end
  local ok, doc = pcall(cjson.decode, text)
  if not ok or type(doc) ~= "table" then return nil end
  if doc.Version ~= nil and doc.Version ~= "2012-10-17" and doc.Version ~= "2008-10-17" then
    return nil, "The policy must contain a valid version string"
  end
  if doc.Statement == nil then return nil, "Missing required field Statement" end
  local statements = as_list(doc.Statement)
  if #statements == 0 then return nil, "Could not parse the policy: Statement is empty!" end
  for _, st in ipairs(statements) do
    if type(st) ~= "table" then return nil, "Statement is not an object" end
    if st.Effect ~= "Allow" and st.Effect ~= "Deny" then
      return nil, "Invalid effect: " .. tostring(st.Effect)
    end
    local principal = st.Principal or st.NotPrincipal
    if principal == nil then return nil, "Missing required field Principal" end
    if principal ~= "*" and type(principal) ~= "table" then return nil, "Invalid principal in policy" end
    local actions = st.Action or st.NotAction
    if actions == nil then return nil, "Missing required field Action" end
    for _, a in ipairs(as_list(actions)) do
      if type(a) ~= "string" or not (a == "*" or a:lower():match("^s3:[%w%*%?]+$")) then
        return nil, "Policy has invalid action"
      end
    end
    local resources = st.Resource or st.NotResource
    if resources == nil then return nil, "Missing required field Resource" end
    for _, r in ipairs(as_list(resources)) do
      local named = type(r) == "string" and r:match("^arn:aws:s3:::([^/]*)")
      if not named or not glob_match(named, bucket) then return nil, "Policy has invalid resource" end
    end
  end
  return doc
end

---------------------------------------------------------------------------
-- Bucket names (S3's general purpose bucket naming rules)

local function bucket_name_error(name)
  if #name < 3 or #name > 63 then return "Bucket name must be between 3 and 63 characters long" end
  if not name:match("^[a-z0-9][a-z0-9%.%-]*[a-z0-9]$") then
    return "Bucket name must use lowercase letters, digits, dots and hyphens, "
      .. "and begin and end with a letter or digit"
  end
  if name:find("..", 1, true) then return "Bucket name must not contain two adjacent periods" end
  if name:match("^%d+%.%d+%.%d+%.%d+$") then return "Bucket name must not be formatted as an IP address" end
  for _, p in ipairs { "xn--", "sthree-", "amzn-s3-demo-" } do
    if name:sub(1, #p) == p then return "Bucket name must not start with " .. p end
  end
  for _, s in ipairs { "-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3" } do
    if name:sub(-#s) == s then return "Bucket name must not end with " .. s end
  end
  return nil
end
_M.bucket_name_error = bucket_name_error

_M.as_list, _M.check_policy, _M.statement_applies = as_list, check_policy, statement_applies

return _M
