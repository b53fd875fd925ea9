-- The mistakes a newcomer makes in the first hour, each answered with a
-- message that says what was done and what to do instead.
local personalize = require "personalize"
local errors = require "personalize.errors"
local files = require "support.files"

local KEYS = { access_key_id = "AKIDEXAMPLE", secret_access_key = "secret" }

local function opts(extra)
  local o = { region = "us-east-1", access_key_id = KEYS.access_key_id, secret_access_key = KEYS.secret_access_key,
              env = {} }
  for k, v in pairs(extra or {}) do o[k] = v end
  return o
end

-- The message of the error `fn` raises.
local function raised(fn, ...)
  local ok, err = pcall(fn, ...)
  assert.is_false(ok, "no error raised")
  return tostring(err)
end

describe("a newcomer's mistakes", function()
  describe("unknown client options", function()
    it("are refused with boto3's names translated", function()
      local cases = {
        region_name = "unknown option region_name: use region",
        endpoint_url = "unknown option endpoint_url: use endpoint",
        aws_access_key_id = "unknown option aws_access_key_id: use access_key_id (or credentials = {",
        aws_secret_access_key = "unknown option aws_secret_access_key: use secret_access_key",
        aws_session_token = "unknown option aws_session_token: use session_token",
        profile_name = "unknown option profile_name: use profile",
        verify = "unknown option verify: use verify_tls",
      }
      for name, want in pairs(cases) do
        local msg = raised(personalize.client, "personalize", opts { [name] = "x" })
        assert.matches("personalize.client: " .. want, msg, 1, true)
      end
    end)

    it("are refused before anything else is read: region_name beside AWS_REGION makes no client", function()
      -- the issue's case: AWS_REGION set, the boto3 spelling given, a client for AWS would have been made
      local msg = raised(personalize.client, "personalize", {
        region_name = "us-west-2", endpoint_url = "http://127.0.0.1:8642",
        aws_access_key_id = "AKIDEXAMPLE", aws_secret_access_key = "secret",
        env = { AWS_REGION = "eu-west-1" } })
      assert.matches("unknown option", msg, 1, true)
    end)

    it("suggest the option a typo was meant to be, or list them all", function()
      assert.matches("personalize.client: unknown option regoin: did you mean region?",
        raised(personalize.client, "personalize", opts { regoin = "x" }), 1, true)
      assert.matches("unknown option max_attempt: did you mean max_attempts?",
        raised(personalize.client, "personalize-runtime", opts { max_attempt = 2 }), 1, true)
      local msg = raised(personalize.client, "personalize", opts { colour = "red" })
      assert.matches("unknown option colour (options: access_key_id, ", msg, 1, true)
      assert.matches(", region, ", msg, 1, true)
    end)

    it("are refused by S3 clients and personalize.credentials too", function()
      assert.matches("personalize.s3: unknown option endpoint_url: use endpoint",
        raised(personalize.client, "s3", opts { endpoint_url = "http://127.0.0.1:1" }), 1, true)
      assert.matches("personalize.credentials: unknown option aws_access_key_id",
        raised(personalize.credentials, { aws_access_key_id = "x" }), 1, true)
    end)

    it("point at the caller's line", function()
      local msg = raised(function() local c = personalize.client("personalize", opts { region_name = "x" }); return c end)
      assert.matches("^spec/client/mistakes_spec.lua:%d+: personalize.client: unknown option", msg)
    end)
  end)

  describe("error objects", function()
    it("concatenate with strings on either side", function()
      local err = errors.new { code = "ResourceNotFoundException", message = "no such campaign",
                               operation = "DescribeCampaign" }
      local text = "An error occurred (ResourceNotFoundException) when calling the DescribeCampaign "
        .. "operation: no such campaign"
      assert.equal("failed: " .. text, "failed: " .. err)
      assert.equal(text .. " (retrying)", err .. " (retrying)")
      assert.equal("a " .. text .. " b", "a " .. err .. " b")
      assert.equal(text .. text, err .. err)
    end)

    it("concatenate as returned by a call", function()
      local p = personalize.client("personalize", opts())
      local res, err = p:describe_campaign {}
      assert.is_nil(res)
      assert.equal("failed: " .. tostring(err), "failed: " .. err)
      assert.matches("^failed: Parameter validation failed", "failed: " .. err)
    end)
  end)

  describe("methods", function()
    it("called with a dot say so and show the colon", function()
      local p = personalize.client("personalize", opts())
      local msg = raised(function() local r = p.list_schemas {}; return r end)
      assert.matches("mistakes_spec.lua:%d+: personalize: list_schemas was called with a dot "
        .. "%(client%.list_schemas{%.%.%.}%): call it with a colon, client:list_schemas{ %.%.%. }$", msg)
      assert.matches("called with a dot", raised(function() return p.describe_schema() end), 1, true)
    end)

    it("of the S3 client called with a dot say so and show the colon", function()
      local s3 = personalize.client("s3", opts())
      local msg = raised(function() local r = s3.put_object { Bucket = "b", Key = "k", Body = "x" }; return r end)
      assert.matches("mistakes_spec.lua:%d+: personalize: put_object was called with a dot "
        .. "%(s3%.put_object{%.%.%.}%): call it with a colon, s3:put_object{ %.%.%. }$", msg)
      assert.matches("upload_file was called with a dot",
        raised(function() return s3.upload_file("f", "b", "k") end), 1, true)
    end)

    it("of another service name the client that has them", function()
      local p = personalize.client("personalize", opts())
      local msg = raised(function() local r = p:get_recommendations { campaignArn = "x", userId = "1" }; return r end)
      assert.matches("mistakes_spec.lua:%d+: personalize: get_recommendations is an operation of "
        .. "personalize%-runtime, not of this personalize client: ", msg)
      assert.matches('personalize.client("personalize-runtime", opts)', msg, 1, true)
      local runtime = personalize.client("personalize-runtime", opts())
      assert.matches("put_events is an operation of personalize-events, not of this personalize-runtime client",
        raised(function() return runtime:put_events {} end), 1, true)
      assert.matches("create_schema is an operation of personalize, not of this personalize-runtime client",
        raised(function() return runtime:create_schema {} end), 1, true)
      -- a name no service has stays nil, as any missing field
      assert.is_nil(p.no_such_operation)
    end)

    it("are what pairs() walks (Lua 5.2+), and operations() prints in columns", function()
      local p = personalize.client("personalize-events", opts())
      local names = p:operations()
      assert.same({ "put_action_interactions", "put_actions", "put_events", "put_items", "put_users" }, names)
      assert.equal("5 operations:\nput_action_interactions  put_actions              put_events\n"
        .. "put_items                put_users", tostring(names))
      if _VERSION ~= "Lua 5.1" then
        local seen = {}
        for k, v in pairs(p) do
          assert.is_function(v)
          seen[#seen + 1] = k
        end
        assert.same(names, seen)
      end
    end)
  end)

  describe("a profile that does not exist", function()
    it("is reported as such, not as a missing region", function()
      local dir = files.tmpdir()
      files.write(dir .. "/config", "[profile dev]\nregion = eu-west-1\n")
      files.write(dir .. "/credentials", "[dev]\naws_access_key_id = A\naws_secret_access_key = B\n")
      local env = { AWS_CONFIG_FILE = dir .. "/config", AWS_SHARED_CREDENTIALS_FILE = dir .. "/credentials" }
      local msg = raised(personalize.client, "personalize", { profile = "prod", env = env })
      assert.matches("personalize.client: the config profile (prod) could not be found: the profile option names it, "
        .. "and neither " .. dir .. "/config nor " .. dir .. "/credentials has it", msg, 1, true)
      env.AWS_PROFILE = "staging"
      msg = raised(personalize.client, "personalize", { env = env })
      assert.matches("the config profile (staging) could not be found: AWS_PROFILE names it", msg, 1, true)
      -- the profile that exists still works
      assert.equal("eu-west-1", personalize.client("personalize", { profile = "dev", env = env }).region)
      os.execute("rm -rf '" .. dir .. "'")
    end)
  end)
end)
