-- The praise wall: company-visible praise (audience "everyone") newest first, filtered by the
-- recipients' department and location, the badge and a period; pages by keyset (the id of the
-- last one shown), so every page costs the same few queries however far back it is.
--
-- Office screens: an HR Admin (praise.wall) creates a link with an unguessable token (shown
-- once, kept as a hash) for a screen that nobody signs in to; it shows the same company-visible
-- praise, read-only, and stops working when the link is deleted.
local db = require "lib.db"
local errors = require "lib.errors"
local events = require "lib.events"
local schema = require "lib.schema"
local crypto = require "core.crypto"
local clock = require "core.clock"
local access = require "services.access"
local audit = require "services.audit"
local messages = require "services.messages"

local M = {}

M.PERIODS = { week = 7, month = 31, quarter = 92, year = 366 }
M.PERIOD_LABELS = { { "", "Any time" }, { "week", "Last 7 days" }, { "month", "Last month" },
  { "quarter", "Last 3 months" }, { "year", "Last year" } }

-- where, args for the filters { department =, location =, badge_id =, period = }
local function filters(f)
  local where, args = { "m.kind = 'praise'", "m.audience = 'everyone'" }, {}
  if f.badge_id then
    where[#where + 1] = "m.badge_id = ?"
    args[#args + 1] = f.badge_id
  end
  if f.period and M.PERIODS[f.period] then
    where[#where + 1] = "m.created_at >= ?"
    args[#args + 1] = clock.now() - M.PERIODS[f.period] * 86400
  end
  if (f.department and f.department ~= "") or (f.location and f.location ~= "") then
    local cond = { "mr.message_id = m.id" }
    if f.department and f.department ~= "" then
      cond[#cond + 1] = "u.department = ? COLLATE NOCASE"
      args[#args + 1] = f.department
    end
    if f.location and f.location ~= "" then
      cond[#cond + 1] = "u.location = ? COLLATE NOCASE"
      args[#args + 1] = f.location
    end
    where[#where + 1] = "EXISTS (SELECT 1 FROM message_recipients mr JOIN users u ON u.id = mr.user_id WHERE "
      .. table.concat(cond, " AND ") .. ")"
  end
  return table.concat(where, " AND "), args
end

--- A page of the wall for viewer: list, next cursor (nil on the last page).
function M.page(viewer, f, before, limit)
  access.require(viewer, "messages.read_everyone")
  local where, args = filters(f or {})
  return messages.page_of(viewer, where, args, before, limit)
end

-- The filters' choices are read once and kept until people or badges change (the events below),
-- a rollback, or CHOICES_TTL seconds pass (changes made behind the application's back): reading
-- them costs more than the rest of the wall's page on a 10,000-person company.
M.CHOICES_TTL = 300
local choices_cache, choices_at

local function forget_choices()
  choices_cache = nil
  db.on_rollback(function() choices_cache = nil end)
end


--- The choices of the filters: departments, locations (of active employees), active badges.
function M.choices()
  if choices_cache and clock.now() - choices_at < M.CHOICES_TTL then return choices_cache end
  choices_at = clock.now()
  choices_cache = {
    departments = db.column([[SELECT DISTINCT department FROM users WHERE department <> '' AND status = 'active'
      AND kind = 'employee' ORDER BY department COLLATE NOCASE]]),
    locations = db.column([[SELECT DISTINCT location FROM users WHERE location <> '' AND status = 'active'
      AND kind = 'employee' ORDER BY location COLLATE NOCASE]]),
    badges = db.query("SELECT id, title, symbol FROM badges WHERE active = 1 ORDER BY position, id"),
    periods = M.PERIOD_LABELS,
  }
  return choices_cache
end

-- ---------------------------------------------------------------- office screens

local function hash(token) return crypto.hex(crypto.sha256("wall-screen:" .. token)) end

M.SCREEN_SCHEMA = schema.record{ strict = false, fields = {
  { label = schema.text{ required = true, max = 80, label = "Name", description = "Where the screen is, e.g. \"Berlin lobby\"." } },
} }

--- Creates an office-screen link. Returns id, token (shown once).
function M.create_screen(actor, input, req)
  access.require(actor, "praise.wall")
  local v, errs = schema.validate(M.SCREEN_SCHEMA, input or {}, { coerce = true, messages = schema.SENTENCES })
  if not v then errors.invalid(schema.by_field(errs)) end
  local token = crypto.hex(crypto.random(24))
  local id = db.insert("INSERT INTO wall_screens(label, token_hash, created_by, created_at) VALUES(?,?,?,?)",
    v.label, hash(token), actor.id, clock.now())
  audit.record{ action = "wall_screen.created", actor = actor, req = req, target_type = "wall_screen", target_id = id,
    target_label = v.label }
  events.fire("wall_screen.created", { screen_id = id, actor_id = actor.id })
  return id, token
end

--- The office-screen links (never their tokens).
function M.screens(actor)
  access.require(actor, "praise.wall")
  return db.query([[SELECT s.id, s.label, s.created_at, s.last_used_at, u.name AS created_by_name FROM wall_screens s
    LEFT JOIN users u ON u.id = s.created_by ORDER BY s.id]])
end

--- Deletes a link: the screen showing it stops at its next refresh.
function M.revoke_screen(actor, id, req)
  access.require(actor, "praise.wall")
  local s = db.row("SELECT id, label FROM wall_screens WHERE id = ?", math.tointeger(tonumber(id)) or 0)
  if not s then errors.not_found("There is no such screen link.") end
  db.exec("DELETE FROM wall_screens WHERE id = ?", s.id)
  audit.record{ action = "wall_screen.revoked", actor = actor, req = req, target_type = "wall_screen", target_id = s.id,
    target_label = s.label }
  events.fire("wall_screen.revoked", { screen_id = s.id, actor_id = actor.id })
end

--- The screen of a token, or a 404 (an unknown or revoked link).
function M.screen_for(token)
  if type(token) ~= "string" or not token:match("^%x+$") or #token ~= 48 then errors.not_found("There is no such screen.") end
  local s = db.row("SELECT id, label, last_used_at FROM wall_screens WHERE token_hash = ?", hash(token))
  if not s then errors.not_found("There is no such screen.") end
  if not s.last_used_at or clock.now() - s.last_used_at > 3600 then
    db.transaction(function() db.exec("UPDATE wall_screens SET last_used_at = ? WHERE id = ?", clock.now(), s.id) end)
  end
  return s
end

--- What a screen shows: the newest company-visible praise (no viewer: nothing is "mine",
--- anonymous writers stay hidden).
function M.screen_page(limit)
  local rows = db.query(messages.SELECT .. " WHERE m.kind = 'praise' AND m.audience = 'everyone' ORDER BY m.id DESC LIMIT ?",
    limit or 30)
  return messages.public(rows)
end

function M.init()
  choices_cache = nil
  for _, name in ipairs({ "person.created", "person.updated", "person.deactivated", "person.reactivated",
      "person.locked", "person.unlocked", "person.deleted", "person.guest_converted", "badge.changed" }) do
    events.hook(name, forget_choices)
  end
end

return M
