-- Declarative schemas (Kong-style): a module's declarative input (a workflow script, a policy
-- file, a setting, an API body) is described once, checked against the description, and
-- documented from it (markdown()).
--
--   local S = schema.record{ fields = {
--     { name = { type = "string", required = true, len_max = 100, description = "The name." } },
--     { steps = { type = "array", elements = STEP, len_min = 1 } },
--   } }
--   local value, errs = schema.validate(S, input)   -- value: normalised (defaults, coercions)
--   -- errs: { { path = "steps[3].offset", at = "steps[3]", field = "offset", code = "between",
--   --           message = "offset must be between -366 and 366", detail = "must be between ...",
--   --           value = 400, where = "steps[3] (at self_due)" }, ...} in the order the input was
--   --           walked (fields in declaration order); where is the record holding the problem as
--   --           people read it (see describe)
--
-- A field is a table with `type`: string | integer | number | boolean | array | map | record |
-- function | any, and any of:
--   required, default (a value, copied; or a function returning one), description, label (the
--   name messages use; defaults to the field's name), one_of = { ... },
--   custom_validator = fn(value) -> true | nil, message   (message may use {field} and {value}),
--   messages = { required =, type =, one_of =, min =, max = (or between = for both), ... }
--   (overrides: a text with the placeholders
--   {field}, {value}, {path}, {choices}, {min}, {max}, or a function(value) returning one),
--   doc_type (the type as the reference should name it), doc_required (shown as required: a
--   check across fields enforces it), doc_values (the allowed values as the reference should
--   say them, when one_of depends on where the schema is used).
-- string:  trim (strip spaces; then "" counts as absent), len_min, len_max (characters, UTF-8),
--          one_line, match (a Lua pattern) with match_hint ("lower-case letters"), lower.
-- integer, number: between = { min, max } (either may be nil).
-- array:   elements (a field), len_min, len_max, unique.
-- map:     keys (a field, default string), values (a field), len_max.
-- record:  fields = { { name = field }, ... } (in order), strict (default true: unknown fields are
--          refused), checks = { fn(record, report) } run when the record's own fields are valid;
--          report(field_or_nil, message, value) adds an error (message with {field}, {value}),
--          title (for the reference), describe = fn(element) -> text (shown after an array
--          element's index in paths given to people: "phases[2] (writing)").
-- validate(..., { coerce = true }) also takes what forms send: "12" for an integer, "on"/"off"
-- for a boolean, one value for a list, and "" for "absent"; { messages = M.SENTENCES } words the
-- default messages for people filling in a form. json.null counts as absent everywhere.
local json = require "lib.json"
local util = require "lib.util"

local M = {}

local TYPE_WORDS = {
  string = "text", integer = "a whole number", number = "a number", boolean = "true or false",
  array = "a list", map = "a table of names and values", record = "a table", ["function"] = "a function",
  any = "a value",
}

--- The default message texts ({field} is the field's label).
M.MESSAGES = {
  required = "{field} is required",
  type = "{field} must be {type}",
  one_of = "{field} must be one of: {choices}",
  len_min = "{field} must be at least {min} characters",
  len_max = "{field} must be at most {max} characters",
  items_min = "{field} must have at least {min} item(s)",
  items_max = "{field} must have at most {max} items",
  min = "{field} must be at least {min}",
  max = "{field} must be at most {max}",
  match = "{field} must be {hint}",
  utf8 = "{field} must be valid UTF-8 text",
  one_line = "{field} must be on one line",
  unique = "{field} lists {value} twice",
  unknown_field = "unknown field {value}",
}

--- The default messages as sentences for forms and API bodies ("Name is required.", "must be
--- at most 120 characters.").
M.SENTENCES = {
  required = "{field} is required.",
  type = "{field} must be {type}.",
  one_of = "{field} must be one of: {choices}.",
  len_min = "{field} must be at least {min} characters.",
  len_max = "{field} must be at most {max} characters.",
  items_min = "{field} must have at least {min} item(s).",
  items_max = "{field} must have at most {max} items.",
  min = "{field} must be at least {min}.",
  max = "{field} must be at most {max}.",
  match = "{field} must be {hint}.",
  utf8 = "{field} must be valid UTF-8 text.",
  one_line = "{field} must be on one line.",
  unique = "{field} lists {value} twice.",
  unknown_field = "unknown field {value}.",
}

local function show(v)
  if type(v) == "string" then return ("%q"):format(v) end
  if v == nil then return "nothing" end
  if type(v) == "table" then return "a table" end
  return tostring(v)
end
M.show = show

local function quote_list(list)
  local out = {}
  for i, v in ipairs(list) do out[i] = show(v) end
  return table.concat(out, ", ")
end
M.quote_list = quote_list

local function fill(text, vars)
  return (text:gsub("{(%w+)}", function(k)
    local v = vars[k]
    if v == nil then return "{" .. k .. "}" end
    return tostring(v)
  end))
end

--- True when t is a list (keys 1..n only; {} is an empty list).
function M.is_list(t)
  if type(t) ~= "table" then return false end
  local n = 0
  for _ in pairs(t) do n = n + 1 end
  for i = 1, n do if t[i] == nil then return false end end
  return true
end

--- A deep copy of plain data (defaults are handed out as copies).
local function deep_copy(v)
  if type(v) ~= "table" then return v end
  local out = {}
  for k, x in pairs(v) do out[k] = deep_copy(x) end
  return out
end
M.copy = deep_copy

-- The walk's state: errors and options.
local function add_error(ctx, def, path, at, field, code, value, vars, template)
  vars = vars or {}
  local label = def and def.label or field or "value"
  vars.field, vars.value, vars.path = label, show(value), path
  if def and def.one_of and not vars.choices then vars.choices = quote_list(def.one_of) end
  local text = template or (def and def.messages and def.messages[code]) or ctx.messages[code] or M.MESSAGES[code]
    or ("{field}: " .. code)
  if type(text) == "function" then text = text(value) end
  local message = fill(text, vars)
  local detail
  if text:sub(1, 8) == "{field} " then detail = fill(text:sub(9), vars) end
  ctx.errors[#ctx.errors + 1] = { path = path, at = at, field = field, code = code, message = message,
    detail = detail, value = value, where = ctx.where }
end

local check_field -- forward

local function join(path, name)
  if path == "" then return name end
  if type(name) == "string" and name:match("^[%a_][%w_]*$") then return path .. "." .. name end
  return ("%s[%s]"):format(path, show(name))
end

local function coerce(def, v, ctx)
  local t = def.type
  if t == "integer" or t == "number" then
    if type(v) == "string" and ctx.coerce then
      local n = tonumber(v)
      if n then v = n end
    end
    if t == "integer" and math.type(v) == "float" and v == math.floor(v) and v > -2 ^ 63 and v < 2 ^ 63 then
      v = math.tointeger(v)
    end
  elseif t == "boolean" and ctx.coerce and type(v) == "string" then
    local s = v:lower()
    if s == "on" or s == "1" or s == "true" or s == "yes" then v = true
    elseif s == "off" or s == "0" or s == "false" or s == "no" then v = false end
  elseif t == "string" and ctx.coerce and type(v) == "number" then
    v = tostring(v)
  elseif t == "array" and ctx.coerce and type(v) == "string" then
    v = { v } -- a form field given once
  end
  return v
end

local TYPE_OK = {
  string = function(v) return type(v) == "string" end,
  integer = function(v) return math.type(v) == "integer" end,
  number = function(v) return type(v) == "number" end,
  boolean = function(v) return type(v) == "boolean" end,
  array = function(v) return M.is_list(v) end,
  map = function(v) return type(v) == "table" end,
  record = function(v) return type(v) == "table" end,
  ["function"] = function(v) return type(v) == "function" end,
  any = function() return true end,
}

local function in_list(list, v)
  for _, x in ipairs(list) do if x == v then return true end end
  return false
end

local function check_string(def, v, path, at, field, ctx)
  if not utf8.len(v) then
    add_error(ctx, def, path, at, field, "utf8", v)
    return nil
  end
  local n = utf8.len(v)
  if def.len_min and n < def.len_min then
    add_error(ctx, def, path, at, field, "len_min", v, { min = def.len_min })
    return nil
  end
  if def.len_max and n > def.len_max then
    add_error(ctx, def, path, at, field, "len_max", v, { max = def.len_max })
    return nil
  end
  if def.one_line and v:find("[\r\n]") then
    add_error(ctx, def, path, at, field, "one_line", v)
    return nil
  end
  if def.match and not v:match(def.match) then
    add_error(ctx, def, path, at, field, "match", v, { hint = def.match_hint or "in the expected form" })
    return nil
  end
  if def.lower then v = v:lower() end
  return v
end

local function check_number(def, v, path, at, field, ctx)
  local b = def.between
  if b then
    local lo, hi = b[1], b[2]
    if (lo and v < lo) or (hi and v > hi) then
      local code = (lo and v < lo) and "min" or "max"
      local m = def.messages
      add_error(ctx, def, path, at, field, code, v, { min = lo, max = hi },
        m and not m[code] and m.between or nil)
      return nil
    end
  end
  return v
end

local function check_array(def, v, path, at, field, ctx)
  local n = #v
  if def.len_min and n < def.len_min then
    add_error(ctx, def, path, at, field, "items_min", v, { min = def.len_min })
    return nil
  end
  if def.len_max and n > def.len_max then
    add_error(ctx, def, path, at, field, "items_max", v, { max = def.len_max })
    return nil
  end
  local out, ok, seen = {}, true, {}
  local el = def.elements or { type = "any" }
  for i = 1, n do
    local p = ("%s[%d]"):format(path, i)
    if el.type == "record" then
      local d = el.describe and type(v[i]) == "table" and el.describe(v[i])
      ctx.next_where = d and ("%s (%s)"):format(p, d) or p
    end
    local x = check_field(el, v[i], p, path, ("%s[%d]"):format(type(field) == "string" and field or "", i), ctx)
    ctx.next_where = nil
    if x == nil and v[i] ~= nil then ok = false end
    if def.unique and x ~= nil and type(x) ~= "table" then
      if seen[x] then
        add_error(ctx, def, path, at, field, "unique", x)
        ok = false
      end
      seen[x] = true
    end
    out[i] = x
  end
  return ok and out or nil
end

local function check_map(def, v, path, at, field, ctx)
  local keys = {}
  for k in pairs(v) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  if def.len_max and #keys > def.len_max then
    add_error(ctx, def, path, at, field, "items_max", v, { max = def.len_max })
    return nil
  end
  local out, ok = {}, true
  local kdef = def.keys or { type = "string" }
  local vdef = def.values or { type = "any" }
  for _, k in ipairs(keys) do
    local p = join(path, k)
    local kk = check_field(kdef, k, p, path, k, ctx)
    local vv = check_field(vdef, v[k], p, path, k, ctx)
    if kk == nil or (vv == nil and v[k] ~= nil) then ok = false else out[kk] = vv end
  end
  return ok and out or nil
end

local function record_fields(def, v, path, at, field, ctx)
  local before = #ctx.errors
  local known = {}
  for _, f in ipairs(def.fields or {}) do
    local name = next(f)
    known[name] = true
  end
  if def.strict ~= false then
    local unknown = {}
    for k in pairs(v) do if not known[k] then unknown[#unknown + 1] = k end end
    table.sort(unknown, function(a, b) return tostring(a) < tostring(b) end)
    for _, k in ipairs(unknown) do
      add_error(ctx, nil, join(path, k), path, k, "unknown_field", k, nil,
        def.messages and def.messages.unknown_field)
    end
  end
  local out = {}
  for _, f in ipairs(def.fields or {}) do
    local name, fdef = next(f)
    out[name] = check_field(fdef, v[name], join(path, name), path, name, ctx)
  end
  if def.strict == false then
    for k, x in pairs(v) do if not known[k] then out[k] = x end end
  end
  if #ctx.errors > before then return ctx.partial and out or nil end
  for _, check in ipairs(def.checks or {}) do
    check(out, function(fname, message, value)
      local fdef
      for _, f in ipairs(def.fields or {}) do if f[fname] then fdef = f[fname] end end
      add_error(ctx, fdef, fname and join(path, fname) or path, fname and path or at, fname or field, "check",
        value, nil, message)
    end)
  end
  if #ctx.errors > before then return nil end
  return out
end

local function check_record(def, v, path, at, field, ctx)
  local saved = ctx.where
  ctx.where = ctx.next_where or path
  ctx.next_where = nil
  local out = record_fields(def, v, path, at, field, ctx)
  ctx.where = saved
  return out
end

check_field = function(def, v, path, at, field, ctx)
  if v == json.null then v = nil end
  if ctx.coerce and v == "" then v = nil end
  if def.type == "string" and def.trim and type(v) == "string" then
    v = v:match("^%s*(.-)%s*$")
    if v == "" then v = nil end
  end
  if v == nil then
    if def.default ~= nil then
      if type(def.default) == "function" then return def.default() end
      return deep_copy(def.default)
    end
    if def.required then add_error(ctx, def, path, at, field, "required", nil) end
    return nil
  end
  v = coerce(def, v, ctx)
  local t = def.type or "any"
  local ok_type = TYPE_OK[t]
  assert(ok_type, "unknown schema type " .. tostring(t))
  if not ok_type(v) then
    add_error(ctx, def, path, at, field, "type", v, { type = TYPE_WORDS[t] })
    return nil
  end
  if def.one_of and not in_list(def.one_of, v) then
    add_error(ctx, def, path, at, field, "one_of", v, { choices = quote_list(def.one_of) })
    return nil
  end
  if t == "string" then v = check_string(def, v, path, at, field, ctx)
  elseif t == "integer" or t == "number" then v = check_number(def, v, path, at, field, ctx)
  elseif t == "array" then v = check_array(def, v, path, at, field, ctx)
  elseif t == "map" then v = check_map(def, v, path, at, field, ctx)
  elseif t == "record" then v = check_record(def, v, path, at, field, ctx) end
  if v == nil then return nil end
  if def.custom_validator then
    local ok, msg = def.custom_validator(v)
    if not ok then
      add_error(ctx, def, path, at, field, "custom", v, nil, msg or "{field} is not valid")
      return nil
    end
  end
  return v
end

--- A record schema (fills in type = "record").
function M.record(def)
  def.type = "record"
  return def
end

--- Checks value against def. Returns the normalised value, or nil and the list of errors.
--- opts: coerce (form input), messages (e.g. M.SENTENCES), path (a prefix for paths), partial
--- (a record with problems still comes back, holding the fields that are fine, with the errors).
function M.validate(def, value, opts)
  opts = opts or {}
  local ctx = { errors = {}, coerce = opts.coerce, where = "", messages = opts.messages or {}, partial = opts.partial }
  local path = opts.path or ""
  local v = check_field(def, value, path, "", opts.field, ctx)
  if #ctx.errors > 0 then return (ctx.partial and v or nil), ctx.errors end
  return v
end

--- Errors as { [top-level field] = text } (the first per field; the part after the label, or the
--- whole message for "is required" and messages that do not start with the label).
function M.by_field(errs)
  local out = {}
  for _, e in ipairs(errs or {}) do
    local top = tostring(e.path):match("^[^%.%[]+") or e.path
    if out[top] == nil then out[top] = (e.code ~= "required" and e.detail) or e.message end
  end
  return out
end

-- ---------------------------------------------------------------- fields for forms

--- One line of text: trimmed ("" is absent), UTF-8, at most opts.max characters (default 200);
--- opts: required, label, multiline, min, description.
function M.text(opts)
  opts = opts or {}
  return { type = "string", trim = true, required = opts.required, label = opts.label, len_max = opts.max or 200,
    len_min = opts.min, one_line = not opts.multiline, default = opts.default, description = opts.description }
end

--- An email address (stored in lower case); opts: required, label.
function M.email(opts)
  opts = opts or {}
  return { type = "string", trim = true, required = opts.required, label = opts.label or "Email", len_max = 254,
    lower = true, one_line = true, description = opts.description or "An email address.",
    custom_validator = function(v)
      if util.is_email(v) then return true end
      return nil, "{field} is not an email address."
    end }
end

--- A date "YYYY-MM-DD"; opts: required, label.
function M.date(opts)
  opts = opts or {}
  return { type = "string", trim = true, required = opts.required, label = opts.label, len_max = 10,
    doc_type = "date (YYYY-MM-DD)", description = opts.description,
    custom_validator = function(v)
      if util.parse_date(v) then return true end
      return nil, "{field} must be a date like 2026-03-31."
    end }
end

--- The messages of errs, one per line, each "path: message" unless the message names it.
function M.describe(errs)
  local out = {}
  for _, e in ipairs(errs or {}) do
    if e.at and e.at ~= "" then out[#out + 1] = e.at .. ": " .. e.message else out[#out + 1] = e.message end
  end
  return out
end

-- ---------------------------------------------------------------- the field reference

local function type_text(def, link)
  if def.doc_type then return def.doc_type end
  local t = def.type or "any"
  if t == "array" then
    local el = def.elements or { type = "any" }
    if el.type == "record" and el.title then return "list of " .. link(el) end
    return "list of " .. type_text(el, link)
  elseif t == "map" then
    return "table of " .. type_text(def.values or { type = "any" }, link)
  elseif t == "record" then
    return def.title and link(def) or "table"
  end
  local words = { string = "text", integer = "integer", number = "number", boolean = "boolean",
    ["function"] = "function", any = "any" }
  return words[t] or t
end

local function code(v)
  if type(v) == "string" then return "`\"" .. v .. "\"`" end
  if type(v) == "table" then
    local ok, s = pcall(json.encode, v)
    return "`" .. (ok and s or "{...}") .. "`"
  end
  return "`" .. tostring(v) .. "`"
end

local function rules_text(def)
  local out = {}
  if def.doc_values then
    out[#out + 1] = def.doc_values
  elseif def.one_of then
    local items = {}
    for i, v in ipairs(def.one_of) do items[i] = code(v) end
    out[#out + 1] = "one of " .. table.concat(items, ", ")
  end
  if def.between then
    local lo, hi = def.between[1], def.between[2]
    if lo and hi then out[#out + 1] = ("%s to %s"):format(lo, hi)
    elseif lo then out[#out + 1] = ("at least %s"):format(lo)
    else out[#out + 1] = ("at most %s"):format(hi) end
  end
  local function unit(n)
    if def.type == "array" or def.type == "map" then return n == 1 and " item" or " items" end
    return n == 1 and " character" or " characters"
  end
  if def.len_min and def.len_max then out[#out + 1] = ("%d to %d%s"):format(def.len_min, def.len_max, unit(2))
  elseif def.len_min then out[#out + 1] = ("at least %d%s"):format(def.len_min, unit(def.len_min))
  elseif def.len_max then out[#out + 1] = ("at most %d%s"):format(def.len_max, unit(def.len_max)) end
  if def.match_hint then out[#out + 1] = def.match_hint end
  if def.type == "array" and def.elements and def.elements.one_of and not def.doc_values then
    local items = {}
    for i, v in ipairs(def.elements.one_of) do items[i] = code(v) end
    out[#out + 1] = "each one of " .. table.concat(items, ", ")
  end
  if def.unique then out[#out + 1] = "no repeats" end
  if def.default ~= nil and type(def.default) ~= "function" then out[#out + 1] = "default " .. code(def.default) end
  return table.concat(out, "; ")
end

local function anchor(title)
  return (title:lower():gsub("[^%w%- ]", ""):gsub(" ", "-"))
end

--- The Markdown field reference of a record schema: one table per record (the record itself,
--- then the records its fields hold, each with a title), with type, whether it is required,
--- allowed values, bounds and defaults, and the description. opts.level: heading level (3).
function M.markdown(def, opts)
  opts = opts or {}
  local hashes = string.rep("#", opts.level or 3)
  local sections, queue, seen = {}, { def }, {}
  local function link(rec)
    if not seen[rec] then
      seen[rec] = true
      queue[#queue + 1] = rec
    end
    return ("[%s](#%s)"):format(rec.title:lower(), anchor(rec.title))
  end
  seen[def] = true
  local i = 1
  while queue[i] do
    local rec = queue[i]
    i = i + 1
    local lines = {}
    if rec.title then lines[#lines + 1] = ("%s %s\n"):format(hashes, rec.title) end
    if rec.description then lines[#lines + 1] = rec.description .. "\n" end
    lines[#lines + 1] = "| Field | Type | Required | Allowed values | Description |"
    lines[#lines + 1] = "|---|---|---|---|---|"
    for _, f in ipairs(rec.fields or {}) do
      local name, fdef = next(f)
      local desc = (fdef.description or ""):gsub("\n", " "):gsub("|", "\\|")
      lines[#lines + 1] = ("| `%s` | %s | %s | %s | %s |"):format(name, type_text(fdef, link),
        (fdef.required or fdef.doc_required) and "yes" or "no", rules_text(fdef):gsub("|", "\\|"), desc)
    end
    sections[#sections + 1] = table.concat(lines, "\n")
  end
  return table.concat(sections, "\n\n") .. "\n"
end

return M
