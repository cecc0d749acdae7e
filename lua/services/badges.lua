-- Badges a praise may carry: a default set ships (migration 014); HR Admins (praise.badges)
-- add, rename, describe, reorder, retire them and upload an image, checked by lib/image.lua.
-- Retired badges stay on the praise that has them; nobody can pick them any more.
local db = require "lib.db"
local errors = require "lib.errors"
local events = require "lib.events"
local schema = require "lib.schema"
local image = require "lib.image"
local clock = require "core.clock"
local access = require "services.access"
local audit = require "services.audit"

local M = {}

local COLUMNS = "id, title, description, symbol, image_type, image_rev, position, active"

local function shape(b)
  b.active = b.active == 1
  b.image = b.image_type and ("/badges/" .. b.id .. "/image?v=" .. b.image_rev) or nil
  return b
end

--- Badges in their order: all (for the admin page) or only the active ones (to pick from).
function M.list(all)
  local rows = db.query("SELECT " .. COLUMNS .. " FROM badges" .. (all and "" or " WHERE active = 1")
    .. " ORDER BY position, id")
  for _, b in ipairs(rows) do shape(b) end
  return rows
end

function M.get(id)
  local b = db.row("SELECT " .. COLUMNS .. " FROM badges WHERE id = ?", math.tointeger(tonumber(id)) or 0)
  if not b then errors.not_found("There is no such badge.") end
  return shape(b)
end

M.SCHEMA = schema.record{ strict = false, fields = {
  { title = schema.text{ required = true, max = 60, label = "Name", description = "The badge's name." } },
  { description = schema.text{ max = 300, default = "", label = "Description", description = "What it recognises." } },
  { symbol = schema.text{ max = 8, default = "★", label = "Symbol",
    description = "One emoji or character shown when there is no image." } },
  { active = { type = "boolean", label = "Active", description = "Whether people may pick it (false: retired)." } },
} }

local function checked(input)
  local v, errs = schema.validate(M.SCHEMA, input or {}, { coerce = true, messages = schema.SENTENCES })
  if not v then errors.invalid(schema.by_field(errs)) end
  if v.symbol == "" then v.symbol = "★" end
  if utf8.len(v.symbol) > 2 then errors.invalid({ symbol = "Symbol must be one emoji or character." }) end
  return v
end

--- Adds a badge at the end of the list. Returns its id.
function M.create(actor, input, req)
  access.require(actor, "praise.badges")
  local v = checked(input)
  local pos = (db.value("SELECT MAX(position) FROM badges") or 0) + 1
  local id = db.insert([[INSERT INTO badges(title, description, symbol, position, active, created_at, updated_at)
    VALUES(?,?,?,?,?,?,?)]], v.title, v.description, v.symbol, pos, v.active == false and 0 or 1, clock.now(), clock.now())
  audit.record{ action = "badge.created", actor = actor, req = req, target_type = "badge", target_id = id, target_label = v.title }
  events.fire("badge.changed", { badge_id = id, change = "created", actor_id = actor.id })
  return id
end

--- Renames, re-describes, retires or brings back a badge.
function M.update(actor, id, input, req)
  access.require(actor, "praise.badges")
  local b = M.get(id)
  local v = checked(input)
  local active = v.active
  if active == nil then active = b.active end
  db.exec("UPDATE badges SET title = ?, description = ?, symbol = ?, active = ?, updated_at = ? WHERE id = ?",
    v.title, v.description, v.symbol, active and 1 or 0, clock.now(), b.id)
  audit.record{ action = "badge.updated", actor = actor, req = req, target_type = "badge", target_id = b.id,
    target_label = v.title, details = { active = active } }
  events.fire("badge.changed", { badge_id = b.id, change = active and "updated" or "retired", actor_id = actor.id })
end

--- Moves a badge one place up (-1) or down (+1).
function M.move(actor, id, step, req)
  access.require(actor, "praise.badges")
  local b = M.get(id)
  local list = M.list(true)
  local at
  for i, x in ipairs(list) do if x.id == b.id then at = i end end
  local other = list[at + (step < 0 and -1 or 1)]
  if not other then return end
  list[at], list[at + (step < 0 and -1 or 1)] = other, list[at]
  for i, x in ipairs(list) do
    if x.position ~= i then db.exec("UPDATE badges SET position = ? WHERE id = ?", i, x.id) end
  end
  events.fire("badge.changed", { badge_id = b.id, change = "moved", actor_id = actor.id })
end

--- Stores an image for a badge after checking its content (lib/image.lua); a refused file
--- changes nothing (422 with the reason; the server refuses bodies over its limit with 413).
function M.set_image(actor, id, bytes, req)
  access.require(actor, "praise.badges")
  local b = M.get(id)
  local img, err = image.check(bytes)
  if not img then errors.invalid({ image = err.message }, err.message) end
  db.exec("UPDATE badges SET image = ?, image_type = ?, image_rev = image_rev + 1, updated_at = ? WHERE id = ?",
    db.blob(img.data), img.type, clock.now(), b.id)
  audit.record{ action = "badge.image", actor = actor, req = req, target_type = "badge", target_id = b.id,
    target_label = b.title, details = { type = img.type, bytes = #img.data } }
  events.fire("badge.changed", { badge_id = b.id, change = "image", actor_id = actor.id })
  return img
end

--- Removes a badge's image (its symbol shows again).
function M.remove_image(actor, id, req)
  access.require(actor, "praise.badges")
  local b = M.get(id)
  db.exec("UPDATE badges SET image = NULL, image_type = NULL, updated_at = ? WHERE id = ?", clock.now(), b.id)
  audit.record{ action = "badge.image", actor = actor, req = req, target_type = "badge", target_id = b.id,
    target_label = b.title, details = { removed = true } }
  events.fire("badge.changed", { badge_id = b.id, change = "image", actor_id = actor.id })
end

--- The stored image: bytes, content type (nil when the badge has none).
function M.image(id)
  local r = db.row("SELECT image, image_type FROM badges WHERE id = ?", math.tointeger(tonumber(id)) or 0)
  if not r or not r.image then return nil end
  return r.image, r.image_type
end

return M
