-- Company settings: each declared with its type, default and bounds (like a plugin schema),
-- validated on write, read through a small cache. Values are JSON in the settings table.
local db = require "lib.db"
local json = require "lib.json"
local clock = require "core.clock"
local errors = require "lib.errors"
local events = require "lib.events"

local M = {}

-- name -> { type = "string"|"integer"|"boolean"|"choice"|"list", default=, min=, max=,
--           choices = {...}, description = "...", validate = fn(value) -> ok, msg }
M.schema = {}
local cache = {}

-- Listeners hook "settings.changed" ({ name = }) and read the value with get(name); it also
-- fires when a rollback puts the stored value back.
local function notify(name)
  events.fire("settings.changed", { name = name })
end

--- Declares a setting (areas call this when they load).
function M.define(name, spec)
  assert(spec.type and spec.description, "setting " .. name .. " needs type and description")
  M.schema[name] = spec
end

local function check(name, value)
  local spec = M.schema[name]
  if not spec then return nil, "unknown setting " .. name end
  local t = spec.type
  if t == "integer" then
    if math.type(value) ~= "integer" then
      if type(value) == "string" and value:match("^%-?%d+$") then value = math.tointeger(tonumber(value))
      elseif type(value) == "number" and value == math.floor(value) then value = math.tointeger(value)
      else return nil, "must be a whole number" end
    end
    if spec.min and value < spec.min then return nil, ("must be at least %d"):format(spec.min) end
    if spec.max and value > spec.max then return nil, ("must be at most %d"):format(spec.max) end
  elseif t == "boolean" then
    if value == "true" or value == "on" or value == "1" then value = true
    elseif value == "false" or value == "off" or value == "0" or value == "" then value = false end
    if type(value) ~= "boolean" then return nil, "must be true or false" end
  elseif t == "string" then
    if type(value) ~= "string" then return nil, "must be text" end
    if spec.max and #value > spec.max then return nil, ("must be at most %d characters"):format(spec.max) end
  elseif t == "choice" then
    local found = false
    for _, c in ipairs(spec.choices) do if c == value then found = true end end
    if not found then return nil, "must be one of: " .. table.concat(spec.choices, ", ") end
  elseif t == "list" then
    if type(value) ~= "table" then return nil, "must be a list" end
    for _, v in ipairs(value) do if type(v) ~= "string" then return nil, "must be a list of text" end end
  end
  if spec.validate then
    local ok, msg = spec.validate(value)
    if not ok then return nil, msg end
  end
  return value
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

--- Validates without storing: value or nil, message.
M.check = check

--- Drops the cache (tests that write the table behind the service's back) and tells
--- listeners about every setting.
function M.reset_cache()
  cache = {}
  for name in pairs(M.schema) do notify(name) end
end

function M.init()
  cache = {}
  M.define("company.name", { type = "string", default = "Your company", max = 120,
    description = "The company's name, shown in the header and in mails." })
end

return M
