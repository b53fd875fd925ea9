-- personalize.schema: every Avro and Personalize rule with a failing and a
-- passing case, the builders' exact text, the tutorial's schemas.
local schema = require "personalize.schema"
local cjson = require "cjson"

-- A schema text from a record name and fields written as Lua tables.
local function rec(name, fields, extra)
  local t = { type = "record", name = name, namespace = "com.amazonaws.personalize.schema",
              fields = fields, version = "1.0" }
  for k, v in pairs(extra or {}) do t[k] = v end
  return cjson.encode(t)
end

local function F(name, ty, attrs)
  local f = { name = name, type = ty }
  for k, v in pairs(attrs or {}) do f[k] = v end
  return f
end

local INTERACTIONS = {
  F("USER_ID", "string"), F("ITEM_ID", "string"), F("TIMESTAMP", "long"),
}

local function with(base, ...)
  local out = {}
  for i, f in ipairs(base) do out[i] = f end
  for _, f in ipairs{ ... } do out[#out + 1] = f end
  return out
end

local function fails(pattern, ...)
  local res, err = schema.check(...)
  assert.is_nil(res)
  assert.is_string(err)
  if not err:find(pattern, 1, true) then
    error(("message %q does not contain %q"):format(err, pattern), 2)
  end
  return err
end

local function passes(...)
  local fields, info = schema.check(...)
  if not fields then error("expected the schema to pass: " .. tostring(info), 2) end
  assert.is_table(info)
  return fields
end

describe("personalize.schema", function()
  describe("tutorial schemas", function()
    local interactions = [[{
      "type": "record", "name": "Interactions", "namespace": "com.amazonaws.personalize.schema",
      "fields": [
        { "name": "USER_ID", "type": "string" },
        { "name": "ITEM_ID", "type": "string" },
        { "name": "TIMESTAMP", "type": "long" },
        { "name": "EVENT_TYPE", "type": "string" },
        { "name": "EVENT_VALUE", "type": ["null", "float"] }
      ],
      "version": "1.0"
    }]]
    local items = [[{
      "type": "record", "name": "Items", "namespace": "com.amazonaws.personalize.schema",
      "fields": [
        { "name": "ITEM_ID", "type": "string" },
        { "name": "GENRES", "type": ["null", "string"], "categorical": true },
        { "name": "CREATION_TIMESTAMP", "type": "long" }
      ],
      "version": "1.0"
    }]]

    it("interactions pass with their fields described", function()
      local fields, info = schema.check(interactions, "Interactions")
      assert.same({
        { name = "USER_ID", type = "string", nullable = false, categorical = false, textual = false },
        { name = "ITEM_ID", type = "string", nullable = false, categorical = false, textual = false },
        { name = "TIMESTAMP", type = "long", nullable = false, categorical = false, textual = false },
        { name = "EVENT_TYPE", type = "string", nullable = false, categorical = false, textual = false },
        { name = "EVENT_VALUE", type = "float", nullable = true, categorical = false, textual = false },
      }, fields)
      assert.same({ name = "Interactions", namespace = "com.amazonaws.personalize.schema",
                    dataset_type = "Interactions" }, info)
    end)

    it("items with a categorical GENRES pass", function()
      local fields = passes(items, "ITEMS")
      assert.same({ name = "GENRES", type = "string", nullable = true, categorical = true, textual = false },
        fields[2])
    end)

    it("pass the generic check too (create_schema time)", function()
      passes(interactions)
      passes(items, nil)
    end)
  end)

  describe("parse", function()
    it("returns the decoded table", function()
      local t = assert(schema.parse(rec("Interactions", INTERACTIONS)))
      assert.equal("record", t.type)
      assert.equal("TIMESTAMP", t.fields[3].name)
    end)

    it("rejects text that is not JSON", function()
      local t, err = schema.parse('{"type": "record",')
      assert.is_nil(t)
      assert.matches("^schema is not valid JSON", err)
    end)

    it("rejects text over 20,000 characters, counting characters not bytes", function()
      local doc = rec("Items", { F("ITEM_ID", "string"), F("G", "string", { doc = "" }) })
      local pad = 20000 - #doc
      local ok = doc:gsub('"doc":""', '"doc":"' .. ("x"):rep(pad) .. '"')
      assert.equal(20000, #ok)
      assert.is_table(schema.parse(ok))
      local over = doc:gsub('"doc":""', '"doc":"' .. ("x"):rep(pad + 1) .. '"')
      local t, err = schema.parse(over)
      assert.is_nil(t)
      assert.equal("schema is 20001 characters; the limit is 20000", err)
      -- 2-byte characters: the same count of characters, more bytes, passes.
      local utf8ish = doc:gsub('"doc":""', '"doc":"' .. ("\195\169"):rep(pad) .. '"')
      assert.is_table(schema.parse(utf8ish))
    end)

    it("rejects a non-string argument", function()
      local t, err = schema.parse(42)
      assert.is_nil(t)
      assert.equal("schema must be a JSON string", err)
    end)
  end)

  describe("record rules", function()
    it("must be an object", function()
      fails("schema must be a JSON object", "[1, 2]")
      fails("schema must be a JSON object", '"Interactions"')
    end)

    it("type must be record", function()
      fails('schema "type" must be "record", not "enum"', rec("Interactions", INTERACTIONS, { type = "enum" }))
      passes(rec("Interactions", INTERACTIONS, { type = "record" }))
    end)

    it("needs a name", function()
      fails('schema "name" is missing or not a string', rec("", INTERACTIONS))
      fails('schema "name" is missing or not a string', rec(5, INTERACTIONS))
    end)

    it("namespace is a string when present; version a string or a number", function()
      fails('schema "namespace" must be a string', rec("Interactions", INTERACTIONS, { namespace = 3 }))
      -- Avro ignores "version" and Personalize takes "version": 1 as written
      -- by hand in users' schemas; only other JSON types are refused.
      passes(rec("Interactions", INTERACTIONS, { version = 1 }), "Interactions")
      fails('schema "version" must be a string such as "1.0" or a number, not true',
        rec("Interactions", INTERACTIONS, { version = true }))
      local doc = cjson.encode{ type = "record", name = "Interactions", fields = INTERACTIONS }
      passes(doc, "Interactions")
    end)

    it("fields must be a non-empty array", function()
      fails('schema "fields" must be a non-empty array', rec("Interactions", {}))
      fails('schema "fields" must be a non-empty array', rec("Interactions", { a = 1 }))
      fails('schema "fields" must be a non-empty array', '{"type":"record","name":"X"}')
    end)

    it("fields must be objects with a name", function()
      fails("field 2 is not a JSON object", rec("Interactions", { F("USER_ID", "string"), "ITEM_ID" }))
      fails('field 1: "name" is missing or not a string', rec("Interactions", { { type = "string" } }))
    end)
  end)

  describe("field names", function()
    it("start with a letter and use letters, digits and underscores", function()
      for _, bad in ipairs{ "1ABC", "_ABC", "A-B", "A B", "ÄB" } do
        fails(("field 1 (%s): name must start with a letter"):format(bad), rec("X", { F(bad, "string") }))
      end
      passes(rec("X", { F("a1_B2", "string") }))
    end)

    it("are at most 150 characters", function()
      passes(rec("X", { F("A" .. ("b"):rep(149), "string") }))
      fails("name is 151 characters; the limit is 150", rec("X", { F("A" .. ("b"):rep(150), "string") }))
    end)

    it("are unique ignoring case and underscores", function()
      fails("field 2 (GENRESFIELD1): name clashes with field 1 (GENRES_FIELD_1)",
        rec("X", { F("GENRES_FIELD_1", "string"), F("GENRESFIELD1", "string") }))
      fails("field 2 (user_id): name clashes with field 1 (USER_ID)",
        rec("X", { F("USER_ID", "string"), F("user_id", "string") }))
      passes(rec("X", { F("GENRES_1", "string"), F("GENRES_2", "string") }))
    end)
  end)

  describe("field types", function()
    it("accepts each primitive and its nullable union, either order", function()
      for _, t in ipairs{ "string", "int", "long", "float", "double", "boolean" } do
        local fields = passes(rec("X", { F("A", t), F("B", { "null", t }), F("C", { t, "null" }) }))
        assert.same({ t, false }, { fields[1].type, fields[1].nullable })
        assert.same({ t, true }, { fields[2].type, fields[2].nullable })
        assert.same({ t, true }, { fields[3].type, fields[3].nullable })
      end
    end)

    it("accepts a one-member union as its member", function()
      -- AWS's own default Items schemas of the VIDEO_ON_DEMAND and ECOMMERCE
      -- domains write "type": ["string"] (amazon-personalize-samples,
      -- getting_started/notebooks_managed_domains/Building_Your_First_Recommender_Video_On_Demand.ipynb).
      for _, t in ipairs{ "string", "int", "long", "float", "double", "boolean" } do
        local fields = passes(rec("X", { F("A", { t }) }))
        assert.same({ t, false }, { fields[1].type, fields[1].nullable })
      end
      fails('union type ["null"] is not supported', rec("X", { F("A", { "null" }) }))
    end)

    it("rejects unknown and complex types", function()
      fails('field 1 (A): type "bytes" is not supported', rec("X", { F("A", "bytes") }))
      fails('field 1 (A): type "null" alone is not allowed', rec("X", { F("A", "null") }))
      fails("field 1 (A): type", rec("X", { F("A", { type = "array", items = "string" }) }))
      fails("is a complex type", rec("X", { F("A", { type = "map", values = "string" }) }))
      fails('union type ["string","long"] is not supported', rec("X", { F("A", { "string", "long" }) }))
      fails('union type ["null","string","long"] is not supported', rec("X", { F("A", { "null", "string", "long" }) }))
      fails('field 1 (A): type is missing or not a string', rec("X", { { name = "A" } }))
    end)
  end)

  describe("categorical and textual", function()
    it("are booleans", function()
      fails('field 1 (A): categorical must be true or false, not "yes"',
        rec("X", { F("A", "string", { categorical = "yes" }) }))
      fails("field 1 (A): textual must be true or false, not 1", rec("X", { F("A", "string", { textual = 1 }) }))
      passes(rec("X", { F("A", "long", { categorical = false }) }))
    end)

    it("are only on strings", function()
      fails("field 1 (A): categorical is only allowed on string fields, not long",
        rec("X", { F("A", "long", { categorical = true }) }))
      fails("field 1 (A): textual is only allowed on string fields, not float",
        rec("X", { F("A", { "null", "float" }, { textual = true }) }))
      passes(rec("X", { F("A", { "null", "string" }, { categorical = true }) }))
    end)

    it("are not both on one field", function()
      fails("field 1 (A): a field cannot be both categorical and textual",
        rec("X", { F("A", "string", { categorical = true, textual = true }) }))
    end)

    it("must be spelled in lower case", function()
      fails('field 1 (A): attribute "Categorical" must be spelled "categorical"',
        rec("X", { F("A", "string", { Categorical = true }) }))
    end)

    it("textual is only for Items", function()
      fails("field 4 (NOTES): textual fields are only allowed in Items schemas, not Interactions",
        rec("Interactions", with(INTERACTIONS, F("NOTES", "string", { textual = true }))), "Interactions")
      fails("textual fields are only allowed in Items schemas, not Users",
        rec("Users", { F("USER_ID", "string"), F("BIO", "string", { textual = true }) }), "Users")
      passes(rec("Items", { F("ITEM_ID", "string"), F("DESCRIPTION", { "null", "string" }, { textual = true }) }),
        "Items")
    end)
  end)

  describe("dataset types", function()
    it("are matched ignoring case, and unknown ones are named", function()
      passes(rec("Interactions", INTERACTIONS), "interactions")
      passes(rec("ActionInteractions", { F("USER_ID", "string"), F("ACTION_ID", "string"),
        F("TIMESTAMP", "long"), F("EVENT_TYPE", "string") }), "ACTION_INTERACTIONS")
      fails('dataset type "Ratings" is not one of Interactions, Items, Users, Actions, Action_Interactions',
        rec("Interactions", INTERACTIONS), "Ratings")
      assert.equal("Action_Interactions", schema.dataset_type("action_interactions"))
      assert.is_nil(schema.dataset_type("nope"))
    end)

    it("the record name matches the dataset type", function()
      fails('schema name "Users" does not match the dataset type Interactions; name the record "Interactions"',
        rec("Users", INTERACTIONS), "Interactions")
      passes(rec("ItemInteractions", INTERACTIONS), "Interactions")
      passes(rec("Action_Interactions", { F("USER_ID", "string"), F("ACTION_ID", "string"),
        F("TIMESTAMP", "long"), F("EVENT_TYPE", "string") }), "Action_Interactions")
    end)

    describe("Interactions", function()
      it("needs USER_ID, ITEM_ID and TIMESTAMP and nothing more", function()
        passes(rec("Interactions", INTERACTIONS), "Interactions")
        fails("required field ITEM_ID is missing; Interactions schema needs USER_ID, ITEM_ID, TIMESTAMP",
          rec("Interactions", { F("USER_ID", "string"), F("TIMESTAMP", "long") }), "Interactions")
      end)

      it("required fields have their types and are not nullable", function()
        fails('field 3 (TIMESTAMP): type "int" is not allowed; use long',
          rec("Interactions", { F("USER_ID", "string"), F("ITEM_ID", "string"), F("TIMESTAMP", "int") }),
          "Interactions")
        fails('field 1 (USER_ID): type ["null", "string"] is not allowed; use string',
          rec("Interactions", { F("USER_ID", { "null", "string" }), F("ITEM_ID", "string"), F("TIMESTAMP", "long") }),
          "Interactions")
        fails("field 2 (ITEM_ID): ITEM_ID is a reserved field of Interactions and cannot be categorical",
          rec("Interactions", { F("USER_ID", "string"), F("ITEM_ID", "string", { categorical = true }),
            F("TIMESTAMP", "long") }), "Interactions")
      end)

      it("EVENT_VALUE is float or double, nullable", function()
        fails('field 4 (EVENT_VALUE): type "int" is not allowed; use float or double (or ["null", "float"])',
          rec("Interactions", with(INTERACTIONS, F("EVENT_VALUE", "int"))), "Interactions")
        passes(rec("Interactions", with(INTERACTIONS, F("EVENT_VALUE", "float"))), "Interactions")
        passes(rec("Interactions", with(INTERACTIONS, F("EVENT_VALUE", { "double", "null" }))), "Interactions")
      end)

      it("EVENT_TYPE is a non-null, non-categorical string", function()
        fails('field 4 (EVENT_TYPE): type "long" is not allowed; use string',
          rec("Interactions", with(INTERACTIONS, F("EVENT_TYPE", "long"))), "Interactions")
        fails('field 4 (EVENT_TYPE): type ["null", "string"] is not allowed; use string',
          rec("Interactions", with(INTERACTIONS, F("EVENT_TYPE", { "null", "string" }))), "Interactions")
        fails("EVENT_TYPE is a reserved field of Interactions and cannot be categorical",
          rec("Interactions", with(INTERACTIONS, F("EVENT_TYPE", "string", { categorical = true }))), "Interactions")
      end)

      it("IMPRESSION, RECOMMENDATION_ID, EVENT_ATTRIBUTION_SOURCE are nullable strings", function()
        for _, n in ipairs{ "IMPRESSION", "RECOMMENDATION_ID", "EVENT_ATTRIBUTION_SOURCE" } do
          passes(rec("Interactions", with(INTERACTIONS, F(n, { "null", "string" }))), "Interactions")
          fails(('field 4 (%s): type "long" is not allowed; use string (or ["null", "string"])'):format(n),
            rec("Interactions", with(INTERACTIONS, F(n, "long"))), "Interactions")
          fails("cannot be categorical",
            rec("Interactions", with(INTERACTIONS, F(n, "string", { categorical = true }))), "Interactions")
        end
      end)

      it("has at most 5 metadata fields", function()
        local five = with(INTERACTIONS, F("EVENT_TYPE", "string"), F("EVENT_VALUE", "float"),
          F("M1", "int"), F("M2", "int"), F("M3", "int"), F("M4", "int"), F("M5", "string", { categorical = true }))
        passes(rec("Interactions", five), "Interactions")
        fails("an Interactions schema can have at most 5 metadata fields; it has 6 (M1, M2, M3, M4, M5, M6)",
          rec("Interactions", with(five, F("M6", "double"))), "Interactions")
      end)
    end)

    describe("Users", function()
      it("needs USER_ID and one metadata field", function()
        passes(rec("Users", { F("USER_ID", "string"), F("AGE", "int"), F("GENDER", "string", { categorical = true }) }),
          "Users")
        fails("a Users schema needs at least one metadata field besides USER_ID",
          rec("Users", { F("USER_ID", "string") }), "Users")
        fails("required field USER_ID is missing", rec("Users", { F("AGE", "int") }), "Users")
      end)

      it("has at most 25 metadata fields", function()
        local list = { F("USER_ID", "string") }
        for i = 1, 25 do list[#list + 1] = F("M" .. i, "int") end
        passes(rec("Users", list), "Users")
        list[#list + 1] = F("M26", "int")
        fails("a Users schema can have at most 25 metadata fields; it has 26", rec("Users", list), "Users")
      end)
    end)

    describe("Items", function()
      it("needs ITEM_ID and one metadata field; CREATION_TIMESTAMP is not metadata", function()
        passes(rec("Items", { F("ITEM_ID", "string"), F("PRICE", "float") }), "Items")
        fails("an Items schema needs at least one metadata field besides ITEM_ID",
          rec("Items", { F("ITEM_ID", "string"), F("CREATION_TIMESTAMP", "long") }), "Items")
      end)

      it("CREATION_TIMESTAMP is a long", function()
        fails('field 3 (CREATION_TIMESTAMP): type "string" is not allowed; use long',
          rec("Items", { F("ITEM_ID", "string"), F("G", "int"), F("CREATION_TIMESTAMP", "string") }), "Items")
      end)

      it("has at most 100 metadata fields", function()
        local list = { F("ITEM_ID", "string") }
        for i = 1, 100 do list[#list + 1] = F("M" .. i, "int") end
        passes(rec("Items", list), "Items")
        list[#list + 1] = F("M101", "int")
        fails("an Items schema can have at most 100 metadata fields; it has 101", rec("Items", list), "Items")
      end)
    end)

    describe("Actions", function()
      it("needs ACTION_ID and one metadata field; its reserved fields have types", function()
        passes(rec("Actions", { F("ACTION_ID", "string"), F("VALUE", { "null", "long" }),
          F("TYPE", { "null", "string" }), F("ACTION_EXPIRATION_TIMESTAMP", "long"), F("REPEAT_FREQUENCY", "long"),
          F("CREATION_TIMESTAMP", "long"), F("CHANNEL", "string", { categorical = true }) }), "Actions")
        fails("an Actions schema needs at least one metadata field besides ACTION_ID",
          rec("Actions", { F("ACTION_ID", "string"), F("VALUE", "long") }), "Actions")
        fails('field 2 (VALUE): type "float" is not allowed; use long',
          rec("Actions", { F("ACTION_ID", "string"), F("VALUE", "float"), F("M", "int") }), "Actions")
      end)
    end)

    describe("Action_Interactions", function()
      it("needs USER_ID, ACTION_ID, TIMESTAMP, EVENT_TYPE", function()
        local base = { F("USER_ID", "string"), F("ACTION_ID", "string"), F("TIMESTAMP", "long") }
        fails("required field EVENT_TYPE is missing; Action_Interactions schema needs USER_ID, ACTION_ID, TIMESTAMP, EVENT_TYPE",
          rec("ActionInteractions", base), "Action_Interactions")
        passes(rec("ActionInteractions", with(base, F("EVENT_TYPE", "string"), F("IMPRESSION", { "null", "string" }))),
          "Action_Interactions")
      end)
    end)
  end)

  describe("domains", function()
    it("ECOMMERCE and VIDEO_ON_DEMAND Interactions need EVENT_TYPE", function()
      for _, d in ipairs{ "ECOMMERCE", "VIDEO_ON_DEMAND" } do
        fails("required field EVENT_TYPE is missing; " .. d .. " Interactions schema needs",
          rec("Interactions", INTERACTIONS), "Interactions", d)
        passes(rec("Interactions", with(INTERACTIONS, F("EVENT_TYPE", "string"))), "Interactions", d)
      end
    end)

    it("ECOMMERCE Items need PRICE and a categorical CATEGORY_L1", function()
      local ok = { F("ITEM_ID", "string"), F("PRICE", "float"), F("CATEGORY_L1", "string", { categorical = true }),
        F("PRODUCT_DESCRIPTION", { "null", "string" }, { textual = true }) }
      passes(rec("Items", ok), "Items", "ECOMMERCE")
      fails("required field PRICE is missing",
        rec("Items", { F("ITEM_ID", "string"), F("CATEGORY_L1", "string", { categorical = true }) }), "Items", "ECOMMERCE")
      fails('field 2 (CATEGORY_L1): must be categorical; set "categorical": true',
        rec("Items", { F("ITEM_ID", "string"), F("CATEGORY_L1", "string"), F("PRICE", "float") }), "Items", "ECOMMERCE")
      fails('field 2 (PRODUCT_DESCRIPTION): must be textual; set "textual": true',
        rec("Items", { F("ITEM_ID", "string"), F("PRODUCT_DESCRIPTION", "string"), F("PRICE", "float"),
          F("CATEGORY_L1", "string", { categorical = true }) }), "Items", "ECOMMERCE")
      -- The same schema is fine in a custom dataset group.
      passes(rec("Items", { F("ITEM_ID", "string"), F("CATEGORY_L1", "string"), F("PRICE", "float") }), "Items")
    end)

    it("VIDEO_ON_DEMAND Items need GENRES and CREATION_TIMESTAMP", function()
      passes(rec("Items", { F("ITEM_ID", "string"), F("GENRES", "string", { categorical = true }),
        F("CREATION_TIMESTAMP", "long") }), "Items", "VIDEO_ON_DEMAND")
      fails("required field CREATION_TIMESTAMP is missing",
        rec("Items", { F("ITEM_ID", "string"), F("GENRES", "string", { categorical = true }) }), "Items", "VIDEO_ON_DEMAND")
    end)

    it("have no Actions datasets", function()
      fails("an ECOMMERCE domain dataset group cannot have Actions datasets",
        rec("Actions", { F("ACTION_ID", "string"), F("M", "int") }), "Actions", "ECOMMERCE")
    end)

    it("unknown domains are named", function()
      fails('domain "RETAIL" is not one of ECOMMERCE, VIDEO_ON_DEMAND', rec("Interactions", INTERACTIONS), nil, "RETAIL")
    end)

    it("at create_schema time, the record name picks the dataset type", function()
      fails("required field EVENT_TYPE is missing", rec("Interactions", INTERACTIONS), nil, "ECOMMERCE")
      local _, info = schema.check(rec("Interactions", with(INTERACTIONS, F("EVENT_TYPE", "string"))), nil, "ECOMMERCE")
      assert.equal("Interactions", info.dataset_type)
      -- A name that is no dataset type leaves only the Avro rules.
      _, info = schema.check(rec("MySchema", INTERACTIONS), nil, "ECOMMERCE")
      assert.is_nil(info.dataset_type)
    end)
  end)

  it("checks decoded tables as well as text", function()
    local t = cjson.decode(rec("Interactions", INTERACTIONS))
    passes(t, "Interactions")
  end)

  describe("builders", function()
    it("write the interactions schema exactly", function()
      local text = schema.interactions{
        { "USER_ID", "string" }, { "ITEM_ID", "string" }, { "TIMESTAMP", "long" },
        { "EVENT_TYPE", "string" }, { "EVENT_VALUE", "float", nullable = true },
      }
      assert.equal('{"type":"record","name":"Interactions","namespace":"com.amazonaws.personalize.schema",'
        .. '"fields":[{"name":"USER_ID","type":"string"},{"name":"ITEM_ID","type":"string"},'
        .. '{"name":"TIMESTAMP","type":"long"},{"name":"EVENT_TYPE","type":"string"},'
        .. '{"name":"EVENT_VALUE","type":["null","float"]}],"version":"1.0"}', text)
      passes(text, "Interactions")
    end)

    it("write categorical and textual attributes, named or positional fields", function()
      local text = schema.items{
        name = "Catalog_Items", namespace = "example.items",
        { "ITEM_ID", "string" }, { name = "GENRES", type = "string", categorical = true },
        { "DESCRIPTION", "string", nullable = true, textual = true },
      }
      assert.is_nil(text)
      text = schema.items{
        namespace = "example.items",
        { "ITEM_ID", "string" }, { name = "GENRES", type = "string", categorical = true },
        { "DESCRIPTION", "string", nullable = true, textual = true },
      }
      assert.equal('{"type":"record","name":"Items","namespace":"example.items","fields":['
        .. '{"name":"ITEM_ID","type":"string"},{"name":"GENRES","type":"string","categorical":true},'
        .. '{"name":"DESCRIPTION","type":["null","string"],"textual":true}],"version":"1.0"}', text)
    end)

    it("name each record after its dataset type", function()
      local users = assert(schema.users{ { "USER_ID", "string" }, { "AGE", "int" } })
      assert.equal("Users", cjson.decode(users).name)
      local actions = assert(schema.actions{ { "ACTION_ID", "string" }, { "VALUE", "long", nullable = true },
        { "CHANNEL", "string", categorical = true } })
      assert.equal("Actions", cjson.decode(actions).name)
      local ai = assert(schema.action_interactions{ { "USER_ID", "string" }, { "ACTION_ID", "string" },
        { "TIMESTAMP", "long" }, { "EVENT_TYPE", "string" } })
      assert.equal("ActionInteractions", cjson.decode(ai).name)
    end)

    it("check the definition for their dataset type and domain", function()
      local text, err = schema.items{ { "ITEM_ID", "string" }, { "GENRES", "string", categorical = true } }
      assert.is_string(text)
      assert.is_nil(err)
      text, err = schema.items{ { "ITEM_ID", "string" } }
      assert.is_nil(text)
      assert.matches("needs at least one metadata field", err)
      text, err = schema.interactions{ { "USER_ID", "string" }, { "ITEM_ID", "string" }, { "TIMESTAMP", "long" },
        { "EVENT_VALUE", "int" } }
      assert.is_nil(text)
      assert.equal('field 4 (EVENT_VALUE): type "int" is not allowed; use float or double (or ["null", "float"])', err)
      text, err = schema.interactions{ domain = "ECOMMERCE",
        { "USER_ID", "string" }, { "ITEM_ID", "string" }, { "TIMESTAMP", "long" } }
      assert.is_nil(text)
      assert.matches("required field EVENT_TYPE is missing", err)
    end)

    it("report malformed definitions", function()
      local cases = {
        { {}, "a schema needs at least one field" },
        { { "USER_ID" }, 'field 1 must be a table like { "USER_ID", "string" }' },
        { { { 5, "string" } }, "field 1: name must be a string" },
        { { { "USER_ID" } }, 'field 1 (USER_ID): type must be a string such as "string" or "long"' },
        { { { "USER_ID", "string", nullabel = true } }, 'field 1 (USER_ID): unknown option "nullabel"' },
        { { { "USER_ID", "string", nullable = "yes" } }, "field 1 (USER_ID): nullable must be true or false" },
        { { name = 5, { "USER_ID", "string" } }, "schema name must be a string" },
      }
      for _, c in ipairs(cases) do
        local text, err = schema.users(c[1])
        assert.is_nil(text)
        assert.is_truthy(err:find(c[2], 1, true), err)
      end
    end)

    it("raise on misuse", function()
      assert.has_error(function() schema.users("USER_ID") end,
        "personalize.schema.users expects a table of fields")
    end)
  end)
end)
