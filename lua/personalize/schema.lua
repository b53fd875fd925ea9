-- Amazon Personalize schemas: the Avro rules, per dataset type and domain,
-- and builders that write schema JSON users can pass to create_schema.
--
--   local schema = require "personalize.schema"
--   local text, err = schema.interactions{
--     { "USER_ID", "string" }, { "ITEM_ID", "string" }, { "TIMESTAMP", "long" },
--     { "EVENT_TYPE", "string" }, { "EVENT_VALUE", "float", nullable = true },
--   }
--   local fields, err = schema.check(text, "Interactions")
--   -- fields[i] = { name = "USER_ID", type = "string", nullable = false,
--   --               categorical = false, textual = false }
--
-- Every failure returns nil and one message naming the field and the rule,
-- e.g. 'field 5 (EVENT_VALUE): type "int" is not allowed; use float or double'.
--
-- The rules, from the Amazon Personalize Developer Guide ("Creating schema
-- JSON files", "Custom datasets and schemas", the ECOMMERCE and
-- VIDEO_ON_DEMAND domain pages, "Service quotas"):
--   * the schema text is at most 20,000 characters (CreateSchema's AvroSchema);
--   * an Avro record: "type": "record", a "name", a non-empty "fields" array;
--     "namespace" is a string when present;
--   * "version" is a string or a number when present;
--   * field types: string, int, long, float, double, boolean, the union of
--     one of them with "null" (a nullable field), or a one-member union
--     (["string"], as AWS's default domain Items schemas write it, is
--     "string"); no arrays, maps, records;
--   * field names are letters, digits and underscores, start with a letter,
--     at most 150 characters (our bound: AWS states none), and are unique
--     ignoring case and underscores (GENRES_FIELD_1 clashes with GENRESFIELD1);
--   * "categorical" and "textual" are booleans, only on string fields, never
--     both; textual fields only in Items schemas;
--   * per dataset type: the record name matches the type (ignoring case and
--     underscores), required fields and reserved keywords have their
--     required types, reserved plain strings (EVENT_TYPE, IMPRESSION, ...)
--     cannot be categorical, Users, Items and Actions need one metadata field,
--     Interactions at most 5 metadata fields, Users 25, Items 100;
--   * domains add their required and reserved fields (ECOMMERCE: PRICE,
--     CATEGORY_L1; VIDEO_ON_DEMAND: GENRES, CREATION_TIMESTAMP; both require
--     EVENT_TYPE in Interactions) and have no Actions datasets.
-- Left out: the per-event-type quota (distinct event types plus metadata
-- columns at most 10) needs the data, not the schema.
local cjson = require("cjson").new()

local type, pairs, ipairs, next, tostring, pcall, error = type, pairs, ipairs, next, tostring, pcall, error
local str_format, upper, gsub, find = string.format, string.upper, string.gsub, string.find
local concat = table.concat

local _M = {}

local MAX_SCHEMA_CHARS = 20000
local MAX_NAME_CHARS = 150
_M.MAX_SCHEMA_CHARS = MAX_SCHEMA_CHARS
_M.NAMESPACE = "com.amazonaws.personalize.schema"

local PRIMITIVE = { string = true, int = true, long = true, float = true, double = true, boolean = true }
local PRIMITIVE_LIST = "string, int, long, float, double, boolean"

-- Characters, not bytes, of a UTF-8 string (continuation bytes not counted).
local function char_length(s)
  local _, cont = gsub(s, "[\128-\191]", "")
  return #s - cont
end

local function json_text(v)
  local ok, s = pcall(cjson.encode, v)
  if ok then return (gsub(s, "\\/", "/")) end
  return tostring(v)
end

local function article(word)
  return find(word, "^[AEIO]") and "an" or "a" -- "a Users"
end

-- "GENRES_FIELD_1" and "GenresField1" have the same key.
local function loose_key(name)
  return upper((gsub(name, "_", "")))
end

local function is_array(t)
  local n = #t
  for k in pairs(t) do
    if type(k) ~= "number" or k < 1 or k > n or k ~= math.floor(k) then return false end
  end
  return true
end

---------------------------------------------------------------------------
-- Generic Avro rules
---------------------------------------------------------------------------

-- The field's type: base, nullable | nil, message.
local function field_type(t, where)
  if type(t) == "string" then
    if PRIMITIVE[t] then return t, false end
    if t == "null" then
      return nil, where .. ': type "null" alone is not allowed; use ["null", T] for a nullable field'
    end
    return nil, str_format('%s: type %s is not supported; use one of %s, or ["null", T]',
      where, json_text(t), PRIMITIVE_LIST)
  end
  if type(t) == "table" and is_array(t) and #t > 0 then
    -- A one-member union is its member: AWS's own default Items schemas of
    -- the VIDEO_ON_DEMAND and ECOMMERCE domains write "type": ["string"].
    if #t == 1 and type(t[1]) == "string" and PRIMITIVE[t[1]] then return t[1], false end
    if #t ~= 2 then
      return nil, str_format('%s: union type %s is not supported; only ["null", T] with T one of %s',
        where, json_text(t), PRIMITIVE_LIST)
    end
    local a, b = t[1], t[2]
    local base = (a == "null" and b) or (b == "null" and a) or nil
    if type(base) ~= "string" or not PRIMITIVE[base] then
      return nil, str_format('%s: union type %s is not supported; only ["null", T] with T one of %s',
        where, json_text(t), PRIMITIVE_LIST)
    end
    return base, true
  end
  if type(t) == "table" then
    return nil, str_format("%s: type %s is a complex type; Personalize supports only %s and [\"null\", T]",
      where, json_text(t), PRIMITIVE_LIST)
  end
  return nil, where .. ": type is missing or not a string"
end

local ATTRIBUTES = { name = true, type = true, categorical = true, textual = true, doc = true, default = true }

local function check_field(f, i)
  local where = "field " .. i
  if type(f) ~= "table" or (next(f) ~= nil and is_array(f)) then
    return nil, where .. " is not a JSON object"
  end
  local name = f.name
  if type(name) ~= "string" or name == "" then
    return nil, where .. ': "name" is missing or not a string'
  end
  where = str_format("field %d (%s)", i, name)
  if not find(name, "^[A-Za-z][A-Za-z0-9_]*$") then
    return nil, where .. ": name must start with a letter and contain only letters, digits and underscores"
  end
  if #name > MAX_NAME_CHARS then
    return nil, str_format("%s: name is %d characters; the limit is %d", where, #name, MAX_NAME_CHARS)
  end
  -- Attributes Avro would ignore but that are surely a typo of ours.
  for k in pairs(f) do
    if type(k) == "string" and not ATTRIBUTES[k] and ATTRIBUTES[k:lower()] then
      return nil, str_format('%s: attribute "%s" must be spelled "%s"', where, k, k:lower())
    end
  end
  local base, nullable = field_type(f.type, where)
  if not base then return nil, nullable end
  local out = { name = name, type = base, nullable = nullable, categorical = false, textual = false }
  for _, attr in ipairs{ "categorical", "textual" } do
    local v = f[attr]
    if v ~= nil then
      if type(v) ~= "boolean" then
        return nil, str_format("%s: %s must be true or false, not %s", where, attr, json_text(v))
      end
      if v and base ~= "string" then
        return nil, str_format("%s: %s is only allowed on string fields, not %s", where, attr, base)
      end
      out[attr] = v
    end
  end
  if out.categorical and out.textual then
    return nil, where .. ": a field cannot be both categorical and textual"
  end
  return out
end

-- Decoded schema table -> fields | nil, message.
local function check_record(t)
  if type(t) ~= "table" or (next(t) ~= nil and is_array(t)) then
    return nil, "schema must be a JSON object"
  end
  if t.type ~= "record" then
    return nil, str_format('schema "type" must be "record", not %s', json_text(t.type))
  end
  if type(t.name) ~= "string" or t.name == "" then
    return nil, 'schema "name" is missing or not a string'
  end
  if t.namespace ~= nil and type(t.namespace) ~= "string" then
    return nil, 'schema "namespace" must be a string'
  end
  -- Avro ignores "version"; Personalize accepts it as a string or a number.
  if t.version ~= nil and type(t.version) ~= "string" and type(t.version) ~= "number" then
    return nil, str_format('schema "version" must be a string such as "1.0" or a number, not %s', json_text(t.version))
  end
  local list = t.fields
  if type(list) ~= "table" or not is_array(list) or #list == 0 then
    return nil, 'schema "fields" must be a non-empty array'
  end
  local fields, seen = {}, {}
  for i = 1, #list do
    local f, err = check_field(list[i], i)
    if not f then return nil, err end
    local key = loose_key(f.name)
    local j = seen[key]
    if j then
      return nil, str_format("field %d (%s): name clashes with field %d (%s); names must be unique ignoring case and underscores",
        i, f.name, j, fields[j].name)
    end
    seen[key] = i
    fields[i] = f
  end
  return fields
end

local function decode(text)
  if type(text) ~= "string" then return nil, "schema must be a JSON string" end
  local n = char_length(text)
  if n > MAX_SCHEMA_CHARS then
    return nil, str_format("schema is %d characters; the limit is %d", n, MAX_SCHEMA_CHARS)
  end
  local ok, t = pcall(cjson.decode, text)
  if not ok then
    return nil, "schema is not valid JSON: " .. tostring(t):gsub("^.-:%d+: ", "")
  end
  return t
end

-- parse(text) -> schema table | nil, message: JSON plus the generic Avro rules.
function _M.parse(text)
  local t, err = decode(text)
  if not t then return nil, err end
  local fields
  fields, err = check_record(t)
  if not fields then return nil, err end
  return t
end

---------------------------------------------------------------------------
-- Dataset types and domains
---------------------------------------------------------------------------

-- A rule: types (allowed base types), nullable (may be nullable),
-- categorical / textual: true = must, false = must not, nil = either.
local function rule(types, nullable, categorical, textual)
  local set = {}
  for t in types:gmatch("%a+") do set[t] = true end
  return { types = set, type_list = types, nullable = nullable, categorical = categorical, textual = textual }
end

local ID = rule("string", false, false, false)
local STRING_OR_NULL = rule("string", true, false, false)
local CATEGORY = rule("string", false, true)
local CATEGORY_OR_NULL = rule("string", true, true)
local TEXT_OR_NULL = rule("string", true, nil, true)
local LONG = rule("long", false)
local LONG_OR_NULL = rule("long", true)
local FLOAT = rule("float double", false)
local FLOAT_OR_NULL = rule("float double", true)

local TYPES = {
  INTERACTIONS = {
    label = "Interactions", names = { "INTERACTIONS", "ITEMINTERACTIONS" },
    required = { "USER_ID", "ITEM_ID", "TIMESTAMP" },
    fields = {
      USER_ID = ID, ITEM_ID = ID, TIMESTAMP = LONG,
      EVENT_TYPE = rule("string", false, false, false), EVENT_VALUE = FLOAT_OR_NULL,
      IMPRESSION = STRING_OR_NULL, RECOMMENDATION_ID = STRING_OR_NULL,
      EVENT_ATTRIBUTION_SOURCE = STRING_OR_NULL,
    },
    max_metadata = 5,
  },
  USERS = {
    label = "Users", names = { "USERS" },
    required = { "USER_ID" }, fields = { USER_ID = ID },
    min_metadata = 1, max_metadata = 25,
  },
  ITEMS = {
    label = "Items", names = { "ITEMS" },
    required = { "ITEM_ID" }, fields = { ITEM_ID = ID, CREATION_TIMESTAMP = LONG_OR_NULL },
    min_metadata = 1, max_metadata = 100, textual = true,
  },
  ACTIONS = {
    label = "Actions", names = { "ACTIONS" },
    required = { "ACTION_ID" },
    fields = {
      ACTION_ID = ID, CREATION_TIMESTAMP = LONG_OR_NULL, VALUE = LONG_OR_NULL,
      TYPE = rule("string", true), ACTION_EXPIRATION_TIMESTAMP = LONG_OR_NULL, REPEAT_FREQUENCY = LONG_OR_NULL,
    },
    min_metadata = 1,
  },
  ACTION_INTERACTIONS = {
    label = "Action_Interactions", names = { "ACTIONINTERACTIONS" },
    required = { "USER_ID", "ACTION_ID", "TIMESTAMP", "EVENT_TYPE" },
    fields = {
      USER_ID = ID, ACTION_ID = ID, TIMESTAMP = LONG, EVENT_TYPE = rule("string", false, false, false),
      IMPRESSION = STRING_OR_NULL, RECOMMENDATION_ID = STRING_OR_NULL,
    },
  },
}
local TYPE_LIST = "Interactions, Items, Users, Actions, Action_Interactions"

-- Domain additions: extra required names and rules, per dataset type.
local DOMAINS = {
  ECOMMERCE = {
    INTERACTIONS = { required = { "EVENT_TYPE" } },
    ITEMS = {
      required = { "PRICE", "CATEGORY_L1" },
      fields = {
        PRICE = FLOAT, CATEGORY_L1 = CATEGORY, CATEGORY_L2 = CATEGORY_OR_NULL, CATEGORY_L3 = CATEGORY_OR_NULL,
        PRODUCT_DESCRIPTION = TEXT_OR_NULL, AGE_GROUP = CATEGORY_OR_NULL, ADULT = CATEGORY_OR_NULL,
        GENDER = CATEGORY_OR_NULL,
        -- The ECOMMERCE page lists CREATION_TIMESTAMP as float; long elsewhere.
        CREATION_TIMESTAMP = rule("long float double", true),
      },
    },
  },
  VIDEO_ON_DEMAND = {
    INTERACTIONS = { required = { "EVENT_TYPE" } },
    USERS = { fields = { SUBSCRIPTION_MODEL = CATEGORY } },
    ITEMS = {
      required = { "GENRES", "CREATION_TIMESTAMP" },
      fields = {
        GENRES = CATEGORY, CREATION_TIMESTAMP = LONG, PRICE = FLOAT, DURATION = FLOAT,
        GENRE_L2 = CATEGORY_OR_NULL, GENRE_L3 = CATEGORY_OR_NULL, AVERAGE_RATING = FLOAT_OR_NULL,
        PRODUCT_DESCRIPTION = TEXT_OR_NULL, CONTENT_OWNER = CATEGORY_OR_NULL,
        CONTENT_CLASSIFICATION = CATEGORY_OR_NULL,
      },
    },
  },
}

-- "action_interactions", "Action-Interactions", "ActionInteractions" -> key.
local function type_key(dataset_type)
  local k = upper((gsub(dataset_type, "[%s_%-]", "")))
  for key, spec in pairs(TYPES) do
    for _, n in ipairs(spec.names) do
      if n == k then return key end
    end
  end
end

local function describe_rule(r)
  local types = {}
  for t in r.type_list:gmatch("%a+") do types[#types + 1] = t end
  local s = concat(types, " or ")
  if r.nullable then s = s .. str_format(' (or ["null", "%s"])', types[1]) end
  return s
end

local function merged_spec(key, domain)
  local base = TYPES[key]
  local spec = {
    label = base.label, required = {}, fields = {},
    min_metadata = base.min_metadata, max_metadata = base.max_metadata, textual = base.textual,
  }
  for _, n in ipairs(base.required) do spec.required[#spec.required + 1] = n end
  for n, r in pairs(base.fields) do spec.fields[n] = r end
  local extra = domain and DOMAINS[domain][key]
  if extra then
    for _, n in ipairs(extra.required or {}) do spec.required[#spec.required + 1] = n end
    -- The domain's required fields are the metadata a custom schema needs.
    if extra.required and spec.min_metadata then spec.min_metadata = nil end
    for n, r in pairs(extra.fields or {}) do spec.fields[n] = r end
  end
  return spec
end

local function check_type_rules(fields, record_name, key, domain)
  local spec = merged_spec(key, domain)
  local label = spec.label
  if type_key(record_name) ~= key then
    return nil, str_format('schema name "%s" does not match the dataset type %s; name the record "%s"',
      record_name, label, label)
  end
  local by_name, metadata = {}, {}
  for i, f in ipairs(fields) do
    by_name[f.name] = f
    local where = str_format("field %d (%s)", i, f.name)
    local r = spec.fields[f.name]
    if r then
      if not r.types[f.type] or (f.nullable and not r.nullable) then
        local shown = f.nullable and str_format('["null", "%s"]', f.type) or str_format('"%s"', f.type)
        return nil, str_format("%s: type %s is not allowed; use %s", where, shown, describe_rule(r))
      end
      if r.categorical == true and not f.categorical then
        return nil, where .. ': must be categorical; set "categorical": true'
      elseif r.categorical == false and f.categorical then
        return nil, str_format("%s: %s is a reserved field of %s and cannot be categorical", where, f.name, label)
      end
      if r.textual == true and not f.textual then
        return nil, where .. ': must be textual; set "textual": true'
      elseif r.textual == false and f.textual then
        return nil, str_format("%s: %s is a reserved field of %s and cannot be textual", where, f.name, label)
      end
    else
      if f.textual and not spec.textual then
        return nil, str_format("%s: textual fields are only allowed in Items schemas, not %s", where, label)
      end
      metadata[#metadata + 1] = f.name
    end
  end
  for _, n in ipairs(spec.required) do
    if not by_name[n] then
      return nil, str_format("required field %s is missing; %s%s schema needs %s", n,
        domain and (domain .. " ") or "", label, concat(spec.required, ", "))
    end
  end
  if spec.min_metadata and #metadata < spec.min_metadata then
    return nil, str_format("%s %s schema needs at least one metadata field besides %s and the reserved fields",
      article(label), label, concat(spec.required, ", "))
  end
  if spec.max_metadata and #metadata > spec.max_metadata then
    return nil, str_format("%s %s schema can have at most %d metadata fields; it has %d (%s)",
      article(label), label, spec.max_metadata, #metadata, concat(metadata, ", "))
  end
  return fields
end

-- check(schema, dataset_type, domain) -> fields, info | nil, message
--   schema: the JSON text or a decoded table.
--   dataset_type: as CreateDataset's datasetType, any case; nil checks only
--     the Avro rules (create_schema), unless a domain is given and the
--     record name names a dataset type, which then is checked too.
--   domain: "ECOMMERCE" | "VIDEO_ON_DEMAND" | nil.
-- info = { name =, namespace =, dataset_type = canonical label | nil }.
function _M.check(schema, dataset_type, domain)
  local t = schema
  if type(schema) ~= "table" then
    local derr
    t, derr = decode(schema)
    if not t then return nil, derr end
  end
  local fields, err = check_record(t)
  if not fields then return nil, err end
  if domain ~= nil and not DOMAINS[domain] then
    return nil, str_format('domain %s is not one of ECOMMERCE, VIDEO_ON_DEMAND', json_text(domain))
  end
  local key
  if dataset_type ~= nil then
    key = type(dataset_type) == "string" and type_key(dataset_type)
    if not key then
      return nil, str_format("dataset type %s is not one of %s", json_text(dataset_type), TYPE_LIST)
    end
  elseif domain then
    key = type_key(t.name)
  end
  if key and domain and (key == "ACTIONS" or key == "ACTION_INTERACTIONS") then
    return nil, str_format("%s %s domain dataset group cannot have %s datasets", article(domain), domain,
      TYPES[key].label)
  end
  if key then
    fields, err = check_type_rules(fields, t.name, key, domain)
    if not fields then return nil, err end
  end
  return fields, { name = t.name, namespace = t.namespace, dataset_type = key and TYPES[key].label or nil }
end

-- The canonical dataset type label ("Interactions", ...) or nil.
function _M.dataset_type(s)
  local key = type(s) == "string" and type_key(s)
  return key and TYPES[key].label or nil
end

---------------------------------------------------------------------------
-- Builders
---------------------------------------------------------------------------

-- def = { name = "Interactions", namespace = ..., domain = ...,
--         { "USER_ID", "string" }, { "EVENT_VALUE", "float", nullable = true },
--         { name = "GENRES", type = "string", categorical = true }, ... }
-- -> JSON text (keys in the order type, name, namespace, fields, version)
--    | nil, message.
local function build(key, def)
  if type(def) ~= "table" then
    error("personalize.schema." .. key:lower() .. " expects a table of fields", 3)
  end
  local label = TYPES[key].label
  local name = def.name or gsub(label, "_", "")
  local namespace = def.namespace or _M.NAMESPACE
  if type(name) ~= "string" then return nil, "schema name must be a string" end
  if type(namespace) ~= "string" then return nil, "schema namespace must be a string" end
  if #def == 0 then return nil, "a schema needs at least one field" end
  local out = {}
  for i = 1, #def do
    local f = def[i]
    if type(f) ~= "table" then
      return nil, str_format('field %d must be a table like { "USER_ID", "string" }', i)
    end
    local fname, ftype = f[1] or f.name, f[2] or f.type
    if type(fname) ~= "string" then return nil, str_format("field %d: name must be a string", i) end
    if type(ftype) ~= "string" then
      return nil, str_format("field %d (%s): type must be a string such as \"string\" or \"long\"", i, fname)
    end
    for k in pairs(f) do
      if k ~= 1 and k ~= 2 and k ~= "name" and k ~= "type" and k ~= "nullable"
        and k ~= "categorical" and k ~= "textual" then
        return nil, str_format("field %d (%s): unknown option %s; use nullable, categorical or textual",
          i, fname, json_text(k))
      end
    end
    for _, opt in ipairs{ "nullable", "categorical", "textual" } do
      if f[opt] ~= nil and type(f[opt]) ~= "boolean" then
        return nil, str_format("field %d (%s): %s must be true or false", i, fname, opt)
      end
    end
    local parts = { '{"name":', json_text(fname), ',"type":' }
    if f.nullable then
      parts[#parts + 1] = '["null",' .. json_text(ftype) .. ']'
    else
      parts[#parts + 1] = json_text(ftype)
    end
    if f.categorical ~= nil then parts[#parts + 1] = ',"categorical":' .. tostring(f.categorical) end
    if f.textual ~= nil then parts[#parts + 1] = ',"textual":' .. tostring(f.textual) end
    parts[#parts + 1] = "}"
    out[i] = concat(parts)
  end
  local text = str_format('{"type":"record","name":%s,"namespace":%s,"fields":[%s],"version":"1.0"}',
    json_text(name), json_text(namespace), concat(out, ","))
  local ok, err = _M.check(text, label, def.domain)
  if not ok then return nil, err end
  return text
end

function _M.interactions(def) return build("INTERACTIONS", def) end
function _M.items(def) return build("ITEMS", def) end
function _M.users(def) return build("USERS", def) end
function _M.actions(def) return build("ACTIONS", def) end
function _M.action_interactions(def) return build("ACTION_INTERACTIONS", def) end

return _M
