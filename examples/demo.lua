-- The demo: signed Amazon Personalize calls against a local peer.
--
--   make demo
--
-- Starts moto_server on 127.0.0.1 with signature verification on, creates
-- a key pair through its IAM API, then walks the schema calls with
-- lua-personalize: create, describe, list, delete, and shows that a
-- request signed with a wrong secret is refused. The peer is stopped at
-- the end, whatever happens.
package.path = "spec/?.lua;" .. package.path
local personalize = require "personalize"
local moto = require "support.moto"

local SCHEMA = [[{"type":"record","name":"Interactions","namespace":"com.amazonaws.personalize.schema",
"fields":[{"name":"USER_ID","type":"string"},{"name":"ITEM_ID","type":"string"},
{"name":"TIMESTAMP","type":"long"}],"version":"1.0"}]]

local function step(title)
  io.write(("\n== %s\n"):format(title))
end

local function show(res, err)
  if not res then
    print("  error: " .. tostring(err))
    return nil
  end
  for k, v in pairs(res) do
    if k ~= "ResponseMetadata" then
      local shown = tostring(v)
      if type(v) == "table" then
        shown = #v > 0 and ("{ " .. #v .. " entries }") or "{ ... }"
      end
      print(("  %s = %s"):format(k, shown))
    end
  end
  print(("  (HTTP %d, request id %s)"):format(res.ResponseMetadata.HTTPStatusCode,
    tostring(res.ResponseMetadata.RequestId)))
  return res
end

io.write("Starting moto_server on 127.0.0.1 with SigV4 verification on...\n")
local peer = moto.start { auth = true }
if not peer then
  io.stderr:write("moto_server is needed for this demo and was not found on PATH\n")
  os.exit(1)
end

local ok, failure = pcall(function()
  local client = personalize.client("personalize", {
    endpoint = peer.endpoint, region = peer.region,
    credentials = { access_key_id = peer.access_key_id, secret_access_key = peer.secret_access_key },
  })
  print("client: " .. tostring(client))

  step("create_schema")
  local created = assert(show(client:create_schema { name = "demo-interactions", schema = SCHEMA }))

  step("describe_schema")
  local described = assert(show(client:describe_schema { schemaArn = created.schemaArn }))
  print("  schema name: " .. described.schema.name)

  step("list_schemas")
  local listed = assert(show(client:list_schemas {}))
  for _, s in ipairs(listed.schemas) do print("  - " .. s.name .. "  " .. s.schemaArn) end

  step("a parameter error, caught before anything is sent")
  show(client:create_schema { name = "bad name!", schema = SCHEMA, colour = "blue" })

  step("the same call signed with a wrong secret key")
  local impostor = personalize.client("personalize", {
    endpoint = peer.endpoint, region = peer.region,
    credentials = { access_key_id = peer.access_key_id, secret_access_key = "not-the-secret" },
  })
  show(impostor:describe_schema { schemaArn = created.schemaArn })

  step("delete_schema")
  show(client:delete_schema { schemaArn = created.schemaArn })
end)
peer:stop()
if not ok then
  io.stderr:write("demo failed: " .. tostring(failure) .. "\n")
  os.exit(1)
end
print("\nDone: every request above was signed with SigV4 and checked by the peer.")
