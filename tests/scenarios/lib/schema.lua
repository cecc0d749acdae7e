-- lib/schema.lua, feature by feature: what each kind of field accepts and refuses, with the
-- exact path and message of every problem; defaults, coercion of form input, custom checks,
-- checks across fields, and the Markdown field reference.
local t = require "testing"
local schema = require "lib.schema"
local json = require "lib.json"
local settings = require "services.settings"

-- the single error of validating v against def (asserts there is exactly one)
local function problem(def, v, opts)
  local out, errs = schema.validate(def, v, opts)
  t.eq(out, nil, "refused")
  t.eq(#errs, 1, "one problem: " .. table.concat(schema.describe(errs), " | "))
  return errs[1]
end

local function rec(fields, extra)
  local r = schema.record{ fields = fields }
  for k, v in pairs(extra or {}) do r[k] = v end
  return r
end

t.test("strings: type, length in characters (not bytes), one line, a pattern, trimming, lower case", function()
  local def = { type = "string", len_min = 2, len_max = 5 }
  t.eq(schema.validate(def, "abc"), "abc")
  t.eq(schema.validate(def, "ééééé"), "ééééé", "five characters, ten bytes")
  local e = problem(def, 12)
  t.eq(e.code, "type")
  t.eq(e.message, "value must be text")
  t.eq(problem(def, "a").message, "value must be at least 2 characters")
  t.eq(problem(def, "abcdef").message, "value must be at most 5 characters")
  t.eq(problem({ type = "string" }, "bad \xc3").message, "value must be valid UTF-8 text")
  t.eq(problem({ type = "string", one_line = true }, "a\nb").message, "value must be on one line")
  t.eq(problem({ type = "string", match = "^%l+$", match_hint = "lower-case letters" }, "Ab").message,
    "value must be lower-case letters")
  t.eq(schema.validate({ type = "string", trim = true, lower = true }, "  MiXeD "), "mixed")
  t.eq(problem({ type = "string", trim = true, required = true }, "   ").code, "required", "blank counts as absent")
end)

t.test("numbers: integers, floats that are whole, bounds on either side", function()
  local def = { type = "integer", between = { -3, 3 } }
  t.eq(schema.validate(def, 2), 2)
  t.eq(math.type(schema.validate(def, 2.0)), "integer", "a whole float becomes an integer")
  t.eq(problem(def, 2.5).message, "value must be a whole number")
  t.eq(problem(def, "2").message, "value must be a whole number", "no coercion without coerce")
  t.eq(problem(def, 4).message, "value must be at most 3")
  t.eq(problem(def, -4).message, "value must be at least -3")
  t.eq(problem({ type = "integer", between = { 1 } }, 0).code, "min")
  t.eq(schema.validate({ type = "number" }, 2.5), 2.5)
  t.eq(problem({ type = "number" }, "x").message, "value must be a number")
end)

t.test("booleans, functions, any, one_of", function()
  t.eq(schema.validate({ type = "boolean" }, false), false)
  t.eq(problem({ type = "boolean" }, "yes").message, "value must be true or false")
  local f = function() end
  t.eq(schema.validate({ type = "function" }, f), f)
  t.eq(problem({ type = "function" }, "f").message, "value must be a function")
  t.eq(schema.validate({ type = "any" }, "x"), "x")
  local e = problem({ type = "string", one_of = { "a", "b" } }, "c")
  t.eq(e.code, "one_of")
  t.eq(e.message, 'value must be one of: "a", "b"')
  t.eq(e.value, "c")
end)

t.test("required fields and defaults (copied, or made by a function); json.null is absent", function()
  local def = rec({ { name = { type = "string", required = true } }, { tags = { type = "array", default = { "x" } } },
    { n = { type = "integer", default = function() return 7 end } } })
  local v = schema.validate(def, { name = "a" })
  t.same(v, { name = "a", tags = { "x" }, n = 7 })
  v.tags[1] = "changed"
  t.same(schema.validate(def, { name = "b" }).tags, { "x" }, "the default is copied")
  local e = problem(def, { name = json.null })
  t.eq(e.path, "name")
  t.eq(e.message, "name is required")
  t.eq(problem(def, {}).code, "required")
end)

t.test("arrays: elements, item counts, repeats, and the path of each element", function()
  local def = { type = "array", len_min = 1, len_max = 3, unique = true, elements = { type = "integer" } }
  t.same(schema.validate(def, { 1, 2 }), { 1, 2 })
  t.eq(problem(def, {}).message, "value must have at least 1 item(s)")
  t.eq(problem(def, { 1, 2, 3, 4 }).message, "value must have at most 3 items")
  t.eq(problem(def, { 1, 1 }).message, "value lists 1 twice")
  local e = problem(def, { 1, "x" })
  t.eq(e.path, "[2]")
  t.eq(e.message, "[2] must be a whole number")
  t.eq(problem(def, { a = 1 }).message, "value must be a list")
end)

t.test("records inside arrays: error paths such as timeline[3].offset, unknown fields refused", function()
  local STEP = schema.record{ fields = { { offset = { type = "integer", between = { -366, 366 } } },
    { to = { type = "string", required = true } } } }
  local def = rec({ { timeline = { type = "array", elements = STEP } } })
  local e = problem(def, { timeline = { { to = "a" }, { to = "b" }, { to = "c", offset = 400 } } })
  t.eq(e.path, "timeline[3].offset")
  t.eq(e.at, "timeline[3]")
  t.eq(e.field, "offset")
  t.eq(e.message, "offset must be at most 366")
  t.eq(e.detail, "must be at most 366")
  e = problem(def, { timeline = { { to = "a", ofset = 1 } } })
  t.eq(e.path, "timeline[1].ofset")
  t.eq(e.code, "unknown_field")
  t.eq(e.message, 'unknown field "ofset"')
  t.eq(problem(def, { timeline = { "x" } }).message, "timeline[1] must be a table")
  -- a record that allows other fields keeps them
  t.same(schema.validate(schema.record{ strict = false, fields = {} }, { extra = 1 }), { extra = 1 })
end)

t.test("maps: keys and values checked, paths name the key", function()
  local def = rec({ { vis = { type = "map", values = { type = "string", one_of = { "never", "always" } } } } })
  t.same(schema.validate(def, { vis = { self = "never" } }), { vis = { self = "never" } })
  local e = problem(def, { vis = { self = "sometimes" } })
  t.eq(e.path, "vis.self")
  t.eq(problem(def, { vis = { ["two words"] = "x" } }).path, 'vis["two words"]')
  t.eq(problem({ type = "map", len_max = 1 }, { a = 1, b = 2 }).message, "value must have at most 1 items")
end)

t.test("custom checks: a field's validator and checks across a record's fields", function()
  local even = { type = "integer", custom_validator = function(v) return v % 2 == 0, "{field} must be even, not {value}" end }
  t.eq(problem(rec({ { n = even } }), { n = 3 }).message, "n must be even, not 3")
  local dates = rec({ { from = { type = "integer" } }, { to = { type = "integer" } } }, { checks = {
    function(r, report) if r.from and r.to and r.to < r.from then report("to", "{field} must not be before from", r.to) end end,
  } })
  t.same(schema.validate(dates, { from = 1, to = 2 }), { from = 1, to = 2 })
  local e = problem(dates, { from = 5, to = 2 })
  t.eq(e.path, "to")
  t.eq(e.code, "check")
  t.eq(e.message, "to must not be before from")
  t.eq(e.value, 2)
  -- checks run only once the fields themselves are fine
  local _, errs = schema.validate(dates, { from = "x", to = 2 })
  t.eq(#errs, 1)
  t.eq(errs[1].code, "type")
end)

t.test("messages can be replaced per field, as text or by a function, and worded as sentences", function()
  local def = rec({ { at = { type = "string", one_of = { "start", "end" },
    messages = { one_of = "unknown anchor {value} in at (anchors: {choices})" } } },
    { n = { type = "integer", messages = { type = function(v) return "n got " .. type(v) end } } } })
  t.eq(problem(def, { at = "middle" }).message, 'unknown anchor "middle" in at (anchors: "start", "end")')
  t.eq(problem(def, { n = "x" }).message, "n got string")
  local form = rec({ { name = schema.text{ required = true, label = "Name" } } })
  local e = problem(form, {}, { messages = schema.SENTENCES })
  t.eq(e.message, "Name is required.")
  t.same(schema.by_field({ e }), { name = "Name is required." })
  e = problem(form, { name = ("x"):rep(201) }, { messages = schema.SENTENCES })
  t.same(schema.by_field({ e }), { name = "must be at most 200 characters." })
end)

t.test("form input: numbers and booleans from text, one value for a list, empty text is absent", function()
  local def = rec({ { n = { type = "integer" } }, { on = { type = "boolean" } }, { tags = { type = "array" } },
    { name = { type = "string" } } })
  t.same(schema.validate(def, { n = "12", on = "on", tags = "one", name = "" }, { coerce = true }),
    { n = 12, on = true, tags = { "one" } })
  t.eq(schema.validate(def, { on = "off" }, { coerce = true }).on, false)
  t.eq(problem(def, { n = "twelve" }, { coerce = true }).message, "n must be a whole number")
end)

t.test("partial results keep the fields that are fine, with the problems", function()
  local def = rec({ { email = schema.email{ required = true } }, { hire_date = schema.date{} } })
  local v, errs = schema.validate(def, { email = "Ann@Example.com", hire_date = "2026-13-40" }, { partial = true })
  t.same(v, { email = "ann@example.com" })
  t.eq(errs[1].path, "hire_date")
  t.eq(errs[1].message, "hire_date must be a date like 2026-03-31.")
  t.eq(problem(def, { email = "not an address" }).message, "Email is not an email address.")
end)

t.test("where names the element a problem is in, as people read it", function()
  local PHASE = schema.record{ describe = function(p) return p.id end, fields = {
    { id = { type = "string" } }, { allows = { type = "array", elements = { type = "string", one_of = { "share" } } } } } }
  local def = rec({ { phases = { type = "array", elements = PHASE } } })
  local e = problem(def, { phases = { { id = "writing", allows = { "share" } }, { id = "closing", allows = { "dance" } } } })
  t.eq(e.path, "phases[2].allows[1]")
  t.eq(e.where, "phases[2] (closing)")
  t.same(schema.describe({ e }), { 'phases[2].allows: allows[1] must be one of: "share"' })
end)

t.test("the Markdown reference lists every field with its type, rules, default and description", function()
  local STEP = schema.record{ title = "A step", fields = {
    { at = { type = "string", one_of = { "start", "end" }, description = "The anchor." } },
    { offset = { type = "integer", between = { -3, 3 }, default = 0, description = "Days." } } } }
  local top = schema.record{ title = "The script", description = "What it returns.", fields = {
    { name = { type = "string", required = true, len_max = 10, description = "A | name." } },
    { steps = { type = "array", elements = STEP, description = "Steps." } } } }
  local md = schema.markdown(top)
  t.contains(md, "### The script\n\nWhat it returns.")
  t.contains(md, "| `name` | text | yes | at most 10 characters | A \\| name. |")
  t.contains(md, "| `steps` | list of [a step](#a-step) | no |  | Steps. |")
  t.contains(md, "### A step")
  t.contains(md, '| `at` | text | no | one of `"start"`, `"end"` | The anchor. |')
  t.contains(md, "| `offset` | integer | no | -3 to 3; default `0` | Days. |")
end)

t.test("settings are checked by their schema: the public address takes a port", function()
  t.eq(settings.check("server.public_url", "https://candor.example.com:8443"), "https://candor.example.com:8443")
  t.eq(settings.check("server.public_url", "http://127.0.0.1:8080"), "http://127.0.0.1:8080")
  t.same({ settings.check("server.public_url", "ftp://candor.example.com") },
    { nil, "must look like https://candor.example.com" })
  t.same({ settings.check("smtp.port", "0") }, { nil, "must be at least 1" })
  t.eq(settings.check("smtp.port", "465"), 465)
  t.eq(settings.check("security.secure_cookies", ""), false)
  t.contains(settings.reference(), "| `smtp.port` | integer | no | 1 to 65535; default `587` |")
end)
