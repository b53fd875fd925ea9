-- Helpers for the engine specs: an in-process personalize-local in a
-- fresh temporary directory, with a clock the spec moves forward, and
-- the clients of every service pointed at it.
--
--   local env = engine_support.new{ timings = { pending = 1, in_progress = 1 } }
--   env.personalize:create_schema{ ... }   -- clients: personalize, runtime, events, s3
--   env.upload(bucket, key, text)           -- an object, bucket policy included
--   env.import(dataset_arn, key, csv)       -- upload and import, ACTIVE
--   engine_support.trained(env, { recipe =, items_schema =, items_csv = })
--                                           -- a group and a trained solution version
--   engine_support.watch(env, tracking_id, { "user1" }, { "item20", ... })
--   env.advance(5)                          -- lifecycles see 5 more seconds
--   env.settle()                            -- runs every due lifecycle step
--   env.reopen()                            -- close and reopen the engine (restart)
--   env.close()                             -- release the engine and remove the directory
--
-- The same env runs over HTTP against bin/personalize-local (nginx) with
-- new{ backend = "server" }: lifecycle timings are zero there, jobs run in
-- the server's threads and settle() waits until none is left;
-- advance() and env.engine exist in-process only (env.in_process).
-- backends() lists "in-process", then "server" where nginx is installed
-- (under CI=true a missing nginx is an error).
local core = require "personalize.core"
local client = require "personalize.client"
local engine_transport = require "personalize.transport.engine"

local _M = {}

local counter = 0

local SMALL_SCHEMA = [[{"type":"record","name":"Interactions","namespace":"com.amazonaws.personalize.schema",
"fields":[{"name":"USER_ID","type":"string"},{"name":"ITEM_ID","type":"string"},
{"name":"TIMESTAMP","type":"long"},{"name":"EVENT_TYPE","type":"string"},
{"name":"EVENT_VALUE","type":["null","float"]}],"version":"1.0"}]]
_M.INTERACTIONS_SCHEMA = SMALL_SCHEMA

_M.ITEMS_SCHEMA = [[{"type":"record","name":"Items","namespace":"com.amazonaws.personalize.schema",
"fields":[{"name":"ITEM_ID","type":"string"},{"name":"GENRES","type":"string","categorical":true}],"version":"1.0"}]]

-- The role the specs pass where Personalize asks for one.
_M.ROLE = "arn:aws:iam::123456789012:role/p"

-- The bucket policy of the tutorial: Personalize may read and list.
function _M.bucket_policy(bucket)
  return ([[{"Version":"2012-10-17","Id":"PersonalizeS3BucketAccessPolicy","Statement":[{"Sid":"PersonalizeS3BucketAccessPolicy",
"Effect":"Allow","Principal":{"Service":"personalize.amazonaws.com"},"Action":["s3:GetObject","s3:ListBucket","s3:PutObject"],
"Resource":["arn:aws:s3:::%s","arn:aws:s3:::%s/*"]}]}]]):format(bucket, bucket)
end

-- `users` users x `per_user` interactions; item i is liked by more users
-- the smaller i is (item 1 the most popular), timestamps increasing.
function _M.interactions_csv(users, per_user)
  local lines = { "USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE,EVENT_VALUE" }
  local t = 1700000000
  for u = 1, users do
    for k = 1, per_user do
      local item = ((u * 7 + k * k) % (k + 3)) + k
      t = t + 1
      lines[#lines + 1] = ("user%d,item%d,%d,watch,%.1f"):format(u, item, t, (k % 5 + 1) / 5)
    end
  end
  return table.concat(lines, "\n") .. "\n"
end

function _M.backends()
  local list = { "in-process" }
  if require("support.process").require_peer("nginx", "the engine specs run against the server too") then
    list[2] = "server"
  end
  return list
end

-- An env whose clients talk HTTP to a fresh personalize-local server.
local function server_env(opts)
  local server = require("support.engine_server").start {
    timings = { pending = 0, in_progress = 0 },
    access_key_id = opts.credentials and opts.credentials.access_key_id,
    secret_access_key = opts.credentials and opts.credentials.secret_access_key,
  }
  local copts = server.client_opts { max_attempts = 1 }
  local env = { dir = server.dir, server = server, in_process = false }
  env.personalize = client.new("personalize", copts)
  env.runtime = client.new("personalize-runtime", copts)
  env.events = client.new("personalize-events", copts)
  env.s3 = client.new("s3", copts)
  function env.advance() error("env.advance: the server's clock cannot be moved", 2) end
  -- Waits until no lifecycle step or job is left (the health path's "pending").
  function env.settle()
    local socket = require "socket"
    for _ = 1, 1200 do
      local c = socket.tcp()
      c:settimeout(5)
      local text
      if c:connect("127.0.0.1", server.port) then
        c:send(("GET /_personalize_local/health HTTP/1.0\r\nHost: 127.0.0.1:%d\r\n\r\n"):format(server.port))
        text = c:receive("*a")
      end
      c:close()
      if text and text:find('"pending":0', 1, true) then return end
      socket.sleep(0.05)
    end
    error("env.settle: the server's jobs did not finish within 60 s", 2)
  end
  function env.reopen() server.restart() end
  function env.close() server.stop() end
  return env
end

function _M.new(opts)
  opts = opts or {}
  if opts.backend == "server" then
    local env = server_env(opts)
    env.upload = function(...) return _M.upload(env, ...) end
    env.import = function(...) return _M.import(env, ...) end
    return env
  end
  counter = counter + 1
  local dir = ("%s/personalize-engine-spec-%d-%d"):format(os.getenv("TMPDIR") or "/tmp",
    math.floor(core.time() * 1000) % 100000000, counter)
  local offset = 0
  local env = { dir = dir }
  local copts = {
    endpoint = "local:" .. dir, region = "us-east-1",
    local_timings = opts.timings or { pending = 1, in_progress = 1 },
    max_attempts = 1,
  }
  local function clock() return core.time() + offset end
  local function open()
    local eng = assert(require("personalize.engine").open {
      dir = dir, region = "us-east-1", timings = copts.local_timings, clock = clock,
      credentials = opts.credentials })
    -- Register it as the process's engine for this directory.
    engine_transport.adopt(dir, eng)
    env.engine = eng
  end
  open()
  env.personalize = client.new("personalize", copts)
  env.runtime = client.new("personalize-runtime", copts)
  env.events = client.new("personalize-events", copts)
  env.s3 = client.new("s3", copts)
  function env.advance(seconds) offset = offset + seconds; env.engine:tick() end
  function env.settle()
    for _ = 1, 20 do
      local delay = env.engine:tick()
      if not delay then return end
      offset = offset + delay + 0.001
    end
  end
  function env.reopen()
    engine_transport.close(dir)
    open()
  end
  function env.close()
    engine_transport.close(dir)
    core.remove_tree(dir)
  end
  env.in_process = true
  env.upload = function(...) return _M.upload(env, ...) end
  env.import = function(...) return _M.import(env, ...) end
  return env
end

-- Puts `text` at s3://bucket/key of env's engine with the tutorial's
-- bucket policy (none with `no_policy`).
function _M.upload(env, bucket, key, text, no_policy)
  local ok, err = env.s3:create_bucket { Bucket = bucket }
  if not ok and err.code ~= "BucketAlreadyOwnedByYou" then error(tostring(err)) end
  if not no_policy then
    assert(env.s3:put_bucket_policy { Bucket = bucket, Policy = _M.bucket_policy(bucket) })
  end
  assert(env.s3:put_object { Bucket = bucket, Key = key, Body = text })
end

-- Uploads `text` to s3://bkt/KEY and imports it into dataset `ds`, the
-- lifecycle settled; raises unless the import job is ACTIVE. The job.
function _M.import(env, ds, key, text)
  _M.upload(env, "bkt", key, text)
  local res = assert(env.personalize:create_dataset_import_job { jobName = "imp-" .. key:gsub("%W", ""),
    datasetArn = ds, dataSource = { dataLocation = "s3://bkt/" .. key }, roleArn = _M.ROLE })
  env.settle()
  local job = assert(env.personalize:describe_dataset_import_job {
    datasetImportJobArn = res.datasetImportJobArn }).datasetImportJob
  assert(job.status == "ACTIVE", ("import of %s: %s %s"):format(key, job.status, tostring(job.failureReason)))
  return job
end

-- A dataset group with 60 users x 20 interactions
-- (_M.interactions_csv) and the items of `items_csv` under `items_schema`,
-- and an ACTIVE solution version of `recipe` (a name, default
-- aws-popularity-count) trained on them. Returns the solution version's
-- and the group's ARNs.
function _M.trained(env, opts)
  local p = env.personalize
  local function arn_of(res, member) return assert(res, "call failed")[member] end
  local group = arn_of(p:create_dataset_group { name = opts.name or "g" }, "datasetGroupArn")
  env.settle()
  local si = arn_of(p:create_schema { name = "si", schema = _M.INTERACTIONS_SCHEMA }, "schemaArn")
  local sit = arn_of(p:create_schema { name = "sit", schema = opts.items_schema }, "schemaArn")
  local di = arn_of(p:create_dataset { name = "i", schemaArn = si, datasetGroupArn = group,
    datasetType = "Interactions" }, "datasetArn")
  local dit = arn_of(p:create_dataset { name = "it", schemaArn = sit, datasetGroupArn = group,
    datasetType = "Items" }, "datasetArn")
  env.settle()
  _M.import(env, di, "i.csv", _M.interactions_csv(60, 20))
  _M.import(env, dit, "items.csv", opts.items_csv)
  local sol = arn_of(p:create_solution { name = "s", datasetGroupArn = group,
    recipeArn = "arn:aws:personalize:::recipe/" .. (opts.recipe or "aws-popularity-count") }, "solutionArn")
  env.settle()
  local sv = arn_of(p:create_solution_version { solutionArn = sol }, "solutionVersionArn")
  env.settle()
  local v = assert(p:describe_solution_version { solutionVersionArn = sv }).solutionVersion
  assert(v.status == "ACTIVE", ("solution version %s: %s"):format(v.status, tostring(v.failureReason)))
  return sv, group
end

-- Sends watch events of `items` through the tracker `tracking_id` for
-- each of `users` (a session per user), one second apart.
function _M.watch(env, tracking_id, users, items)
  local events = {}
  for k, item in ipairs(items) do
    events[k] = { eventType = "watch", itemId = item, sentAt = 1700000700 + k }
  end
  for i, user in ipairs(users) do
    assert(env.events:put_events { trackingId = tracking_id, userId = user, sessionId = "s" .. i,
                                   eventList = events })
  end
end

return _M
