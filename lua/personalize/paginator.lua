-- Paginators: iterate the pages of a List* operation, as botocore does.
--
--   local pages = client:paginate("list_schemas", {}, { page_size = 10 })
--   for page in pages do ... page.schemas ... end      -- each response
--   for schema in client:paginate("list_schemas"):items() do ... end
--   local schemas, err = client:paginate("list_schemas"):all()
--
-- `op` is the snake_case method name or the API name. The paging facts
-- (input_token, output_token, limit_key, result_key) come from botocore's
-- paginators-1.json, kept in the generated models. An operation without
-- one raises, listing the paginated operations. The client's model comes
-- through client:model() and client:operation(op).
--
-- opts:
--   page_size       sets the operation's limit member (maxResults)
--   max_items       stop after this many items overall; when items remain,
--                   pages.resume_token is a token to pass as starting_token
--   starting_token  resume where a previous pager stopped: its resume_token
--                   (botocore's format, base64 JSON, so tokens from the
--                   AWS CLI and boto3 work too) or a raw service nextToken
--
-- Errors. Expected failures (the service's error, bad params) are a
-- personalize.errors value:
--   * the for-loop forms (`for page in pages`, `pages:items()`) raise it, as
--     io.lines does: a loop cannot return nil, err, and a loop that ended
--     silently on an error would pass for a complete listing. pcall gets
--     the error object (err.code, err.message, ...).
--   * pages:all() and pages:build_full_result() return nil, err.
--   * pages:next_page() returns the next page, nil when there are no more,
--     or nil, err; a pager that failed keeps answering nil, err.
-- A service that sends the same nextToken twice ends the listing with a
-- "PaginationError" (it would never end otherwise).
local cjson = require "cjson"
local codec = require "personalize.codec"
local errors = require "personalize.errors"
local models = require "personalize.models"

local type, pairs, tostring, tonumber, error, setmetatable, pcall =
  type, pairs, tostring, tonumber, error, setmetatable, pcall
local floor = math.floor
local str_format, concat, sort = string.format, table.concat, table.sort

local _M = {}

-- Standard base64 with padding.
local base64_encode = codec.base64_encode
_M.base64_encode = base64_encode

-- The bytes of a base64 text, or nil when it is not one (nor empty).
local function base64_decode(s)
  if #s == 0 then return nil end
  return codec.base64_decode(s)
end
_M.base64_decode = base64_decode

-- A JSON string as Python's json.dumps writes it (ASCII tokens), so that
-- resume tokens are the same bytes botocore would make.
local json_string = codec.json_string

-- botocore's resume token: base64 of {"<input_token>": token|null[, "boto_truncate_amount": n]}.
local function encode_token(input_token, token, truncate)
  local json = "{" .. json_string(input_token) .. ": " .. (token and json_string(token) or "null")
  if truncate then json = json .. ', "boto_truncate_amount": ' .. str_format("%d", truncate) end
  return base64_encode(json .. "}")
end
_M.encode_token = encode_token

-- The service token and the number of items to skip on the first page.
local function parse_token(input_token, token)
  local decoded = base64_decode(token)
  if decoded then
    local ok, t = pcall(cjson.decode, decoded)
    if ok and type(t) == "table" and (t[input_token] ~= nil or t.boto_truncate_amount ~= nil) then
      local value = t[input_token]
      if type(value) ~= "string" or value == "" then value = nil end
      return value, tonumber(t.boto_truncate_amount) or 0
    end
  end
  -- botocore's older form "TOKEN___N"; anything else is the service's own.
  local raw, n = token:match("^(.*)___(%d+)$")
  if raw then return (raw ~= "None" and raw ~= "") and raw or nil, tonumber(n) end
  return token, 0
end
_M.parse_token = parse_token

local function copy(t)
  local c = {}
  for k, v in pairs(t) do c[k] = v end
  return c
end

local Pager = {}
Pager.__index = Pager

-- The next page (the operation's result, its result list cut by
-- starting_token and max_items), nil when done, or nil, err.
function Pager:next_page()
  if self.done then return nil, self.err end
  local cfg = self.config
  local req = copy(self.params)
  if self.next_token ~= nil then req[cfg.input_token] = self.next_token end
  if self.page_size and cfg.limit_key then req[cfg.limit_key] = self.page_size end

  local res, err = self.client:call(self.operation, req)
  if not res then
    self.done, self.err = true, err
    return nil, err
  end

  local key = cfg.result_key
  local items = type(res[key]) == "table" and res[key] or {}
  if self.first then
    self.first = false
    local skip = self.skip
    if skip > 0 then
      local kept = {}
      for i = skip + 1, #items do kept[#kept + 1] = items[i] end
      items = kept
      res[key] = kept
    end
  else
    self.skip = 0
  end

  -- max_items: cut this page and remember where to resume (botocore:
  -- the token of this page and how many of its items were given).
  if self.max_items then
    local over = self.total + #items - self.max_items
    if over > 0 then
      local keep = #items - over
      local kept = {}
      for i = 1, keep do kept[i] = items[i] end
      res[key] = kept
      self.total = self.total + keep
      self.resume_token = encode_token(cfg.input_token, self.next_token, keep + self.skip)
      self.done = true
      return res
    end
  end
  self.total = self.total + #items

  local token = res[cfg.output_token]
  if type(token) ~= "string" or token == "" then
    self.done = true
    return res
  end
  if self.max_items and self.total == self.max_items then
    self.resume_token = encode_token(cfg.input_token, token)
    self.done = true
    return res
  end
  if token == self.next_token then
    self.done = true
    self.err = errors.new { code = "PaginationError", retryable = false, operation = self.operation,
      message = str_format("the service returned the same %s twice: %s", cfg.output_token, token) }
    return res
  end
  self.next_token = token
  return res
end

-- `for page in pages do`: raises the error object on failure.
function Pager.__call(self)
  local page, err = self:next_page()
  if page == nil and err ~= nil then error(err, 0) end
  return page
end

function Pager.__tostring(self)
  return str_format("personalize.paginator (%s)", self.operation)
end

-- An iterator over the result_key items of every page; raises on failure.
function Pager:items()
  local list, i = {}, 0
  return function()
    while true do
      i = i + 1
      if i <= #list then return list[i] end
      local page = self()
      if page == nil then return nil end
      list, i = page[self.config.result_key] or {}, 0
    end
  end
end

-- Every (remaining) item in one array, or nil, err.
function Pager:all()
  local out = {}
  while true do
    local page, err = self:next_page()
    if page == nil then
      if err ~= nil then return nil, err end
      return out
    end
    for _, item in ipairs(page[self.config.result_key] or {}) do out[#out + 1] = item end
  end
end

-- botocore's build_full_result: { <result_key> = items, NextToken = the
-- resume token when max_items stopped short }, or nil, err.
function Pager:build_full_result()
  local items, err = self:all()
  if not items then return nil, err end
  return { [self.config.result_key] = items, NextToken = self.resume_token }
end

local function check_count(opts, key)
  local v = opts[key]
  if v ~= nil and (type(v) ~= "number" or v < 1 or v ~= floor(v)) then
    error(str_format("personalize.paginator: option %s must be a positive integer, got %s", key, tostring(v)), 3)
  end
  return v
end

-- A pager over `op`; see the module header.
function _M.paginate(client, op, params, opts)
  local model = type(client) == "table" and type(client.model) == "function" and client:model()
  if type(model) ~= "table" then error("personalize.paginator: a client expected", 2) end
  local o = client:operation(op)
  local cfg = o and model.paginators and model.paginators[o.name]
  if not cfg then
    local names = {}
    for name in pairs(model.paginators or {}) do
      names[#names + 1] = models.snake_case(name)
    end
    sort(names)
    error(str_format("personalize.paginator: %s is not a paginated operation of %s; paginated operations: %s",
      tostring(op), tostring(client.service), #names > 0 and concat(names, ", ") or "none"), 2)
  end
  if params ~= nil and type(params) ~= "table" then
    error("personalize.paginator: params must be a table", 2)
  end
  opts = opts or {}
  if type(opts) ~= "table" then error("personalize.paginator: options must be a table", 2) end
  local starting = opts.starting_token
  if starting ~= nil and type(starting) ~= "string" then
    error("personalize.paginator: option starting_token must be a string", 2)
  end
  local self = setmetatable({
    client = client, operation = o.name, config = cfg, params = params and copy(params) or {},
    page_size = check_count(opts, "page_size"), max_items = check_count(opts, "max_items"),
    starting_token = starting, first = true, done = false, total = 0, skip = 0,
  }, Pager)
  if starting and starting ~= "" then
    self.next_token, self.skip = parse_token(cfg.input_token, starting)
  end
  return self
end

return _M
