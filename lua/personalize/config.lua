-- Client configuration: region and endpoint.
--
--   local region, err = config.region(opts)
--   local endpoint = config.endpoint(model, region, opts)
--
-- Region comes from the `region` option, then AWS_REGION, then
-- AWS_DEFAULT_REGION. The endpoint is the `endpoint` option, or the
-- service's default https://<endpointPrefix>.<region>.amazonaws.com
-- (amazonaws.com.cn in China regions).
local getenv, type = os.getenv, type

local _M = {}

local function nonempty(s)
  if s ~= nil and s ~= "" then return s end
end

function _M.region(opts)
  if opts.region ~= nil and type(opts.region) ~= "string" then
    return nil, "the region option must be a string, got " .. type(opts.region)
  end
  local region = nonempty(opts.region) or nonempty(getenv("AWS_REGION"))
    or nonempty(getenv("AWS_DEFAULT_REGION"))
  if not region then
    return nil, "no region: pass region = \"us-east-1\" (for example) to the client, "
      .. "or set AWS_REGION or AWS_DEFAULT_REGION"
  end
  if not region:match("^[%w][%w%-]*$") then
    return nil, ("invalid region %q: expected letters, digits and dashes"):format(region)
  end
  return region
end

function _M.dns_suffix(region)
  if region:match("^cn%-") then return "amazonaws.com.cn" end
  return "amazonaws.com"
end

function _M.endpoint(model, region, opts)
  local ep = nonempty(opts.endpoint)
  if ep then
    if not ep:match("^https?://[^/]+") then
      return nil, ("invalid endpoint %q: expected http(s)://host[:port]"):format(ep)
    end
    return (ep:gsub("/+$", ""))
  end
  return ("https://%s.%s.%s"):format(model.metadata.endpointPrefix, region, _M.dns_suffix(region))
end

return _M
