-- Company settings: each declared with a schema field (lib/schema.lua: type, default, bounds,
-- allowed values, description), validated on write, read through a small cache. Values are JSON
-- in the settings table.
local db = require "lib.db"
local json = require "lib.json"
local clock = require "core.clock"
local errors = require "lib.errors"
local events = require "lib.events"
local schema = require "lib.schema"
local audit = require "services.audit"

local M = {}

-- name -> its schema field (lib/schema.lua): { type = "string" | "integer" | "boolean" | "array",
-- default =, between = { min, max }, len_max =, one_of = {...}, elements =, custom_validator =,
-- description = }. reference() renders them all as Markdown.
M.schema = {}
local cache = {}

-- Listeners hook "settings.changed" ({ name = }) and read the value with get(name); it also
-- fires when a rollback puts the stored value back.
local function notify(name)
  events.fire("settings.changed", { name = name })
end

--- Declares a setting with its schema field (areas call this when they start).
function M.define(name, spec)
  assert(spec.type and spec.description, "setting " .. name .. " needs type and description")
  assert(spec.default ~= nil, "setting " .. name .. " needs a default")
  spec.label = spec.label or name
  local ok, errs = schema.validate(spec, spec.default)
  assert(ok ~= nil, ("setting %s: its default is not valid: %s"):format(name, errs and errs[1].message))
  M.schema[name] = spec
end

-- value (normalised) or nil, the problem without the setting's name ("must be a whole number").
local function check(name, value)
  local spec = M.schema[name]
  if not spec then return nil, "unknown setting " .. name end
  if spec.type == "boolean" and value == "" then value = false end
  local v, errs = schema.validate(spec, value, { coerce = true })
  if v == nil then
    local e = errs and errs[1]
    return nil, e and (e.detail or e.message) or "must be set"
  end
  return v
end

--- The current value (or the default).
function M.get(name)
  local v = cache[name]
  if v ~= nil then return v end
  local spec = M.schema[name]
  assert(spec, "unknown setting " .. name)
  local raw = db.value("SELECT value FROM settings WHERE key = ?", name)
  if raw then
    local decoded = json.decode(raw)
    if decoded ~= nil then v = decoded end
  end
  if v == nil then v = spec.default end
  cache[name] = v
  return v
end

--- Sets a value after checking it; raises 422 naming the problem. Returns the stored value.
function M.set(name, value, actor_id)
  local v, msg = check(name, value)
  if v == nil then errors.invalid({ [name] = msg }, ("%s %s."):format(name, msg)) end
  db.exec([[INSERT INTO settings(key, value, updated_at, updated_by) VALUES(?,?,?,?)
            ON CONFLICT(key) DO UPDATE SET value=excluded.value, updated_at=excluded.updated_at,
            updated_by=excluded.updated_by]],
    name, json.encode(v), clock.now(), actor_id)
  local before = cache[name]
  cache[name] = v
  db.on_rollback(function()
    cache[name] = before
    notify(name)
  end)
  notify(name)
  return v
end

--- On/off settings read by name: list { { name =, key = }, ... } -> { [name] = value }.
function M.switches(list)
  local out = {}
  for _, s in ipairs(list) do out[s.name] = M.get(s.key) end
  return out
end

--- Stores the values by name (list as above; values checked by the caller, nil ones skipped)
--- that differ from the current ones. Returns the changes by name ({ from =, to = }).
function M.set_named(list, values, actor_id)
  local changed = {}
  for _, s in ipairs(list) do
    local v = values[s.name]
    if v ~= nil and v ~= M.get(s.key) then
      changed[s.name] = { from = M.get(s.key), to = v }
      M.set(s.key, v, actor_id)
    end
  end
  return changed
end

--- Writes on/off settings from input (list as above; input[name] true or false, missing ones
--- stay): all or none, 422 naming each value that is not a boolean; a change is audited as
--- action (with from and to). Returns the changes by name ({ from =, to = }).
function M.save_switches(list, input, actor, req, action)
  local problems, changes = {}, {}
  for _, s in ipairs(list) do
    local v = (input or {})[s.name]
    if v ~= nil then
      if type(v) ~= "boolean" then
        problems[s.name] = "Must be true or false."
      elseif v ~= M.get(s.key) then
        changes[s.name] = { from = M.get(s.key), to = v }
      end
    end
  end
  if next(problems) then errors.invalid(problems) end
  for _, s in ipairs(list) do
    if changes[s.name] then M.set(s.key, changes[s.name].to, actor.id) end
  end
  if next(changes) then
    audit.record{ action = action, actor = actor, req = req, details = { changed = changes } }
  end
  return changes
end

--- Validates without storing: value or nil, message.
M.check = check

--- The settings as a Markdown table (name, type, default, allowed values, description).
function M.reference()
  local names = {}
  for name in pairs(M.schema) do names[#names + 1] = name end
  table.sort(names)
  local fields = {}
  for _, name in ipairs(names) do fields[#fields + 1] = { [name] = M.schema[name] } end
  return schema.markdown(schema.record{ fields = fields })
end

--- Drops the cache (tests that write the table behind the service's back) and tells
--- listeners about every setting.
function M.reset_cache()
  cache = {}
  for name in pairs(M.schema) do notify(name) end
end

function M.init()
  cache = {}
  M.define("company.name", { type = "string", default = "Your company", len_max = 120,
    description = "The company's name, shown in the header and in mails." })
end

return M
