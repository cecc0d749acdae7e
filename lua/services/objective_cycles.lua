-- Objective cycles: a time frame, who takes part (the whole company, new hires included, or
-- selected people), who creates objectives (employees, managers or both), the default
-- visibility, the features on (key results, categories, alignment, a completion rating), the
-- status labels, and two dates: until "edit until" owners edit everything, until "update until"
-- only status, key-result values, rating and comments; afterwards the cycle is read-only.
-- Cycles may overlap. HR Admins and Assistants create and edit them (objective_cycles.manage);
-- HR Admins delete them (objective_cycles.delete).
--
-- Events (docs/events.md): objective_cycle.created / updated / deleted / people_added /
-- people_removed.
local db = require "lib.db"
local json = require "lib.json"
local util = require "lib.util"
local dates = require "lib.dates"
local errors = require "lib.errors"
local events = require "lib.events"
local schema = require "lib.schema"
local clock = require "core.clock"
local authz = require "core.authz"
local access = require "services.access"
local audit = require "services.audit"

local M = {}

M.STATUSES = { "on_track", "at_risk", "off_track", "done", "missed" }
M.STATUS_LABELS = { on_track = "On track", at_risk = "At risk", off_track = "Off track", done = "Done",
  missed = "Missed" }
M.OPEN = { on_track = true, at_risk = true, off_track = true }
M.VISIBILITIES = { "public", "protected", "private" }
M.VISIBILITY_LABELS = { public = "Public", protected = "Protected", private = "Private" }
M.VISIBILITY_HINTS = {
  public = "Everyone in the company.",
  protected = "You, your managers up the line, HR Admins and the colleagues you name.",
  private = "Only you and the colleagues you grant it to by name (not your manager, not HR).",
}
M.CREATORS = { "employees", "managers", "both" }
M.CREATOR_LABELS = { employees = "Everyone sets their own objectives",
  managers = "Managers set their reports' objectives", both = "Both: everyone, and managers for their reports" }
M.PARTICIPANTS = { "everyone", "selected" }
M.FEATURES = { "key_results", "categories", "alignment", "rating" }
M.FEATURE_LABELS = { key_results = "Key results", categories = "Categories", alignment = "Alignment (company, team, individual)",
  rating = "Completion rating" }
M.CATEGORIES_MAX = 20

local function today() return dates.today() end

-- ------------------------------------------------------------------ reading

local function decode(c)
  if not c then return nil end
  c.key_results = c.key_results == 1
  c.alignment = c.alignment == 1
  c.rating = c.rating == 1
  local cats = c.categories and json.decode(c.categories)
  c.category_list = type(cats) == "table" and cats or {}
  c.categories = c.categories ~= nil
  local custom = json.decode(c.status_labels) or {}
  c.custom_labels = custom
  c.labels = {}
  for _, s in ipairs(M.STATUSES) do c.labels[s] = custom[s] or M.STATUS_LABELS[s] end
  c.status_labels = nil
  return c
end

function M.get(id)
  id = math.tointeger(tonumber(id))
  return id and decode(db.row("SELECT * FROM objective_cycles WHERE id = ?", id)) or nil
end

--- The cycles of ids (a list): { [id] = cycle }. One query.
function M.many(ids)
  local out = {}
  if #ids == 0 then return out end
  for _, c in ipairs(db.query("SELECT * FROM objective_cycles WHERE id IN (SELECT value FROM json_each(?))",
      json.encode(ids))) do
    out[c.id] = decode(c)
  end
  return out
end

--- The cycle, or a 404. Cycles are not confidential: anyone signed in may look one up.
function M.require(id)
  local c = M.get(id)
  if not c then errors.not_found("There is no such objective cycle.") end
  return c
end

--- "edit" until edit_until (everything), "update" until update_until (status, key-result values,
--- rating, comments), then "closed" (read-only). Dates are days: the window includes the day.
function M.window(c, day)
  day = day or today()
  if day <= c.edit_until then return "edit" end
  if day <= c.update_until then return "update" end
  return "closed"
end

M.WINDOW_LABELS = { edit = "Open for editing", update = "Open for updates", closed = "Closed" }

--- An SQL condition: person u (a users row alias) takes part in cycle c (an objective_cycles
--- row alias).
M.PARTICIPANT_SQL = [[u.kind = 'employee' AND u.status <> 'deactivated' AND (c.participants = 'everyone'
  OR EXISTS (SELECT 1 FROM objective_cycle_people cp WHERE cp.cycle_id = c.id AND cp.user_id = u.id))]]

--- Whether person user_id takes part in cycle c.
function M.takes_part(c, user_id)
  return db.value(([[SELECT 1 FROM users u, objective_cycles c WHERE u.id = ? AND c.id = ? AND %s]]):format(
    M.PARTICIPANT_SQL), user_id, c.id) == 1
end

--- Cycles of which person user_id takes part in, newest first, with their window.
function M.of_person(user_id)
  local rows = db.query(([[SELECT c.* FROM objective_cycles c, users u WHERE u.id = ? AND %s
    ORDER BY c.starts_on DESC, c.id DESC]]):format(M.PARTICIPANT_SQL), user_id)
  for _, c in ipairs(rows) do decode(c); c.window = M.window(c) end
  return rows
end

--- Whether actor runs objective cycles (HR Admins and Assistants).
function M.is_hr(actor)
  return access.can(actor, "objective_cycles.manage") or access.can(actor, "objectives.nudge")
end

--- The cycles actor sees on the cycles page: HR every one; everyone else the ones they take part
--- in. Each with .window and .people (how many take part). Two queries.
function M.list(actor)
  local rows
  if M.is_hr(actor) then
    rows = db.query("SELECT * FROM objective_cycles ORDER BY starts_on DESC, id DESC")
  else
    rows = db.query(([[SELECT c.* FROM objective_cycles c, users u WHERE u.id = ? AND %s
      ORDER BY c.starts_on DESC, c.id DESC]]):format(M.PARTICIPANT_SQL), actor.id)
  end
  local ids = {}
  for i, c in ipairs(rows) do decode(c); c.window = M.window(c); ids[i] = c.id end
  local counts = {}
  if #ids > 0 then
    -- everyone counted once for every cycle open to everyone, not once per cycle (PARTICIPANT_SQL)
    for _, r in ipairs(db.query([[SELECT c.id, CASE WHEN c.participants = 'everyone'
          THEN (SELECT count(*) FROM users u WHERE u.kind = 'employee' AND u.status <> 'deactivated')
          ELSE (SELECT count(*) FROM objective_cycle_people cp JOIN users u ON u.id = cp.user_id
            WHERE cp.cycle_id = c.id AND u.kind = 'employee' AND u.status <> 'deactivated') END AS n
        FROM objective_cycles c WHERE c.id IN (SELECT value FROM json_each(?))]], json.encode(ids))) do
      counts[r.id] = r.n
    end
  end
  for _, c in ipairs(rows) do c.people = counts[c.id] or 0 end
  return rows
end

--- How many take part in cycle c (one query).
function M.count_people(c)
  return db.value(([[SELECT count(*) FROM users u, objective_cycles c WHERE c.id = ? AND %s]]):format(M.PARTICIPANT_SQL), c.id)
end

--- The ids of everyone who takes part in cycle c (one query).
function M.people(c)
  return db.column(([[SELECT u.id FROM users u, objective_cycles c WHERE c.id = ? AND %s ORDER BY u.id]]):format(
    M.PARTICIPANT_SQL), c.id)
end

-- ------------------------------------------------------------------ writing

local STATUS_LABEL = schema.text{ max = 30, description = "The label this cycle shows for the status." }

--- The body of "create / edit an objective cycle".
M.SCHEMA = schema.record{ strict = false, fields = {
  { name = schema.text{ max = 120, label = "The name", description = "The cycle's name." } },
  { starts_on = schema.date{ label = "The start", description = "The first day of the time frame." } },
  { ends_on = schema.date{ label = "The end", description = "The last day of the time frame (the default due date)." } },
  { intro = schema.text{ max = 4000, multiline = true, label = "The introduction",
    description = "What participants read first (not confidential)." } },
  { participants = { type = "string", one_of = M.PARTICIPANTS, label = "Participants",
    description = "everyone (the whole company; new hires join automatically) or selected (people you add)." } },
  { creators = { type = "string", one_of = M.CREATORS, label = "Who creates objectives",
    description = "employees (their own), managers (for their reports) or both; HR always may." } },
  { default_visibility = { type = "string", one_of = M.VISIBILITIES, label = "The default visibility",
    description = "public, protected or private: new objectives start so; owners may change it while editing." } },
  { key_results = { type = "boolean", description = "Key results on." } },
  { alignment = { type = "boolean", description = "Alignment on: company, team and individual objectives." } },
  { rating = { type = "boolean", description = "A completion rating (1-5) on." } },
  { categories = { type = "array", len_max = M.CATEGORIES_MAX, unique = true, label = "The categories",
    elements = schema.text{ max = 40, label = "A category" },
    description = "The categories objectives may have; empty or absent: no categories." } },
  { status_labels = { type = "record", strict = true, label = "The status labels",
    description = "The label of each status in this cycle (on_track, at_risk, off_track, done, missed).",
    fields = { { on_track = STATUS_LABEL }, { at_risk = STATUS_LABEL }, { off_track = STATUS_LABEL },
      { done = STATUS_LABEL }, { missed = STATUS_LABEL } } } },
  { edit_until = schema.date{ label = "Edit until", description = "Owners edit everything until this day." } },
  { update_until = schema.date{ label = "Update until",
    description = "Then only status, key-result values, rating and comments until this day; read-only afterwards." } },
} }

local function read_input(input)
  local r, errs = schema.validate(M.SCHEMA, input or {}, { coerce = true, messages = schema.SENTENCES, partial = true })
  return r or {}, schema.by_field(errs)
end

-- The cycle's fields after this change (current: the cycle, for an edit); problems go to fields.
local function merged(r, input, current, fields)
  local v = {}
  for _, k in ipairs({ "name", "starts_on", "ends_on", "intro", "participants", "creators", "default_visibility",
      "edit_until", "update_until" }) do
    if input[k] ~= nil then v[k] = r[k] elseif current then v[k] = current[k] end
  end
  for _, k in ipairs({ "key_results", "alignment", "rating" }) do
    if input[k] ~= nil then v[k] = r[k] == true elseif current then v[k] = current[k] end
  end
  if input.categories ~= nil then
    v.categories = r.categories and #r.categories > 0 and r.categories or nil
  elseif current then
    v.categories = current.categories and current.category_list or nil
  end
  local labels = util.copy(current and current.custom_labels or {})
  if type(r.status_labels) == "table" then
    for _, s in ipairs(M.STATUSES) do
      if type(input.status_labels) == "table" and input.status_labels[s] ~= nil then
        local l = r.status_labels[s]
        labels[s] = (l and l ~= M.STATUS_LABELS[s]) and l or nil
      end
    end
  end
  v.labels = labels
  for _, k in ipairs({ "name", "starts_on", "ends_on", "edit_until", "update_until" }) do
    if v[k] == nil and not fields[k] then
      fields[k] = ({ name = "The name", starts_on = "The start", ends_on = "The end", edit_until = "Edit until",
        update_until = "Update until" })[k] .. " is required."
    end
  end
  v.intro = v.intro or ""
  v.participants = v.participants or "everyone"
  v.creators = v.creators or "both"
  v.default_visibility = v.default_visibility or "public"
  if v.key_results == nil then v.key_results = true end
  if v.alignment == nil then v.alignment = true end
  if v.rating == nil then v.rating = false end
  if v.starts_on and v.ends_on and v.ends_on < v.starts_on and not fields.ends_on then
    fields.ends_on = "The end must not be before the start."
  end
  if v.edit_until and v.update_until and v.update_until < v.edit_until and not fields.update_until then
    fields.update_until = "Update until must not be before edit until."
  end
  return v
end

local COLUMNS = { "name", "starts_on", "ends_on", "intro", "participants", "creators", "default_visibility",
  "key_results", "alignment", "rating", "categories", "status_labels", "edit_until", "update_until" }

local function row_values(v)
  return v.name, v.starts_on, v.ends_on, v.intro, v.participants, v.creators, v.default_visibility,
    v.key_results and 1 or 0, v.alignment and 1 or 0, v.rating and 1 or 0,
    v.categories and json.encode(v.categories) or nil, json.encode(v.labels),
    v.edit_until, v.update_until
end

local function require_manage(actor)
  if not access.can(actor, "objective_cycles.manage") then
    errors.forbidden("Objective cycles are run by HR. It needs: " .. (authz.roles_for("objective_cycles.manage") or "a role") .. ".")
  end
end

--- Creates a cycle: input as M.SCHEMA (name, starts_on, ends_on, edit_until and update_until
--- are required). Returns it.
function M.create(actor, input, req)
  require_manage(actor)
  input = input or {}
  local r, fields = read_input(input)
  local v = merged(r, input, nil, fields)
  if next(fields) then errors.invalid(fields, "The cycle was not created: some fields need attention.") end
  local now = clock.now()
  return db.transaction(function()
    local values = { row_values(v) }
    values[#values + 1], values[#values + 2], values[#values + 3] = actor.id, now, now
    local id = db.insert(("INSERT INTO objective_cycles(%s, created_by, created_at, updated_at) VALUES(%s?, ?, ?)"):format(
      table.concat(COLUMNS, ", "), string.rep("?, ", #COLUMNS)), table.unpack(values))
    audit.record{ action = "objective_cycle.create", actor = actor, req = req, target_type = "objective_cycle",
      target_id = id, target_label = v.name }
    events.fire("objective_cycle.created", { cycle_id = id, actor_id = actor.id })
    return M.get(id)
  end)
end

--- Edits a cycle (any field of M.SCHEMA). Returns it.
function M.update(actor, id, input, req)
  local c = M.require(id)
  require_manage(actor)
  input = input or {}
  local r, fields = read_input(input)
  local v = merged(r, input, c, fields)
  if next(fields) then errors.invalid(fields, "The cycle was not saved: some fields need attention.") end
  local sets = {}
  for i, k in ipairs(COLUMNS) do sets[i] = k .. " = ?" end
  return db.transaction(function()
    local values = { row_values(v) }
    values[#values + 1] = clock.now()
    values[#values + 1] = c.id
    db.exec(("UPDATE objective_cycles SET %s, updated_at = ? WHERE id = ?"):format(table.concat(sets, ", ")),
      table.unpack(values))
    local after = M.get(c.id)
    local changed = {}
    for _, k in ipairs({ "name", "starts_on", "ends_on", "intro", "participants", "creators", "default_visibility",
        "key_results", "alignment", "rating", "edit_until", "update_until" }) do
      if after[k] ~= c[k] then changed[#changed + 1] = k end
    end
    if after.categories ~= c.categories or json.encode(after.category_list) ~= json.encode(c.category_list) then
      changed[#changed + 1] = "categories"
    end
    for _, st in ipairs(M.STATUSES) do
      if after.labels[st] ~= c.labels[st] then
        changed[#changed + 1] = "status_labels"
        break
      end
    end
    if #changed > 0 then
      audit.record{ action = "objective_cycle.update", actor = actor, req = req, target_type = "objective_cycle",
        target_id = c.id, target_label = after.name, details = { fields = changed } }
      events.fire("objective_cycle.updated", { cycle_id = c.id, fields = changed, actor_id = actor.id })
    end
    return after
  end)
end

--- Deletes a cycle with every objective in it (HR Admins only).
function M.delete(actor, id, req)
  local c = M.require(id)
  if not access.can(actor, "objective_cycles.delete") then
    errors.forbidden("Only HR Admins delete objective cycles: it deletes everyone's objectives in it.")
  end
  return db.transaction(function()
    local n = db.value("SELECT count(*) FROM objectives WHERE cycle_id = ?", c.id)
    db.exec("DELETE FROM objective_cycles WHERE id = ?", c.id)
    audit.record{ action = "objective_cycle.delete", actor = actor, req = req, target_type = "objective_cycle",
      target_id = c.id, target_label = c.name, details = { objectives = n } }
    events.fire("objective_cycle.deleted", { cycle_id = c.id, actor_id = actor.id })
    return n
  end)
end

-- ------------------------------------------------------------------ selected people

local function id_list(user_ids)
  if type(user_ids) ~= "table" then errors.invalid({ user_ids = "Send a list of people." }) end
  local ids = {}
  for _, x in ipairs(user_ids) do
    local n = math.tointeger(tonumber(x))
    if not n then errors.invalid({ user_ids = "must be a list of person ids." }) end
    ids[#ids + 1] = n
  end
  return ids
end

-- Records and announces that n people were added or removed (how: "added" | "removed"). Returns n.
local function people_changed(c, how, n, actor, req)
  if n > 0 then
    audit.record{ action = "objective_cycle.people_" .. how, actor = actor, req = req, target_type = "objective_cycle",
      target_id = c.id, target_label = c.name, details = { [how] = n } }
    events.fire("objective_cycle.people_" .. how, { cycle_id = c.id, count = n, actor_id = actor.id })
  end
  return n
end

--- Adds people to a cycle of selected people (employees who are not deactivated). Returns how
--- many were added.
function M.add_people(actor, id, user_ids, req)
  local c = M.require(id)
  require_manage(actor)
  if c.participants ~= "selected" then
    errors.conflict("Everyone takes part in this cycle: choose \"selected people\" first.")
  end
  local ids = id_list(user_ids)
  if #ids == 0 then return 0 end
  return db.transaction(function()
    local before = db.value("SELECT count(*) FROM objective_cycle_people WHERE cycle_id = ?", c.id)
    db.exec([[INSERT INTO objective_cycle_people(cycle_id, user_id, added_at)
      SELECT ?, u.id, ? FROM users u WHERE u.id IN (SELECT value FROM json_each(?)) AND u.kind = 'employee'
        AND u.status <> 'deactivated'
      ON CONFLICT(cycle_id, user_id) DO NOTHING]], c.id, clock.now(), json.encode(ids))
    return people_changed(c, "added", db.value("SELECT count(*) FROM objective_cycle_people WHERE cycle_id = ?", c.id)
      - before, actor, req)
  end)
end

--- Removes people from a cycle of selected people (their objectives stay). Returns how many.
function M.remove_people(actor, id, user_ids, req)
  local c = M.require(id)
  require_manage(actor)
  local ids = id_list(user_ids)
  if #ids == 0 then return 0 end
  return db.transaction(function()
    return people_changed(c, "removed", db.exec([[DELETE FROM objective_cycle_people WHERE cycle_id = ?
      AND user_id IN (SELECT value FROM json_each(?))]], c.id, json.encode(ids)), actor, req)
  end)
end

--- The ids of the selected people of cycle c (a set).
function M.selected(c)
  local out = {}
  for _, id in ipairs(db.column("SELECT user_id FROM objective_cycle_people WHERE cycle_id = ?", c.id)) do out[id] = true end
  return out
end

return M
