-- Automations: review cycles that create themselves. An automation names a template cycle (its
-- questions, visibility settings, self-assessment and timeline are copied: a snapshot taken when
-- the automation is saved, so edits only reach the cycles it creates afterwards), an audience
-- (everyone, departments, locations or people, minus exclusions) and when:
--   schedule         the first start date, then every N months on the same day of the month
--                    (or once), until an optional end; each cycle is created 7 days before it
--                    starts (a draft HR sees) and started on its start date;
--   after_hire_date  N days or weeks after each person's hire date (once, or again every N
--                    months): a daily job adds them to the automation's cycle of that month.
-- This module holds the rules of the automation itself (checking, saving, the dates); the jobs
-- that create, start and fill cycles are services/automation_runs.lua, which hooks the events
-- fired here (automation.*, docs/events.md). An automation runs with the permissions of the
-- person who saved it last (its owner): policies/README.md, "Automations, decided".
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
local directory = require "services.directory"
local cycles = require "services.cycles"

local M = {}

--- Days before its start a scheduled cycle is created (a draft HR Admins and Assistants see).
M.CREATE_DAYS_BEFORE = 7
M.KINDS = { schedule = "On a schedule", after_hire_date = "After each person's hire date" }

-- ------------------------------------------------------------------ dates

local function ymd(s)
  local y, m, d = s:match("^(%d%d%d%d)%-(%d%d)%-(%d%d)$")
  return tonumber(y), tonumber(m), tonumber(d)
end

local function days_in(y, m)
  local next_first = m == 12 and ("%04d-01-01"):format(y + 1) or ("%04d-%02d-01"):format(y, m + 1)
  return util.parse_date(next_first) - util.parse_date(("%04d-%02d-01"):format(y, m))
end

--- date ("YYYY-MM-DD") moved n months on, on the day `day` (default: date's) or the month's last
--- day when it is shorter (31 January + 1 month = 28 or 29 February).
function M.add_months(date, n, day)
  local y, m, d = ymd(date)
  local total = y * 12 + (m - 1) + n
  y, m = total // 12, total % 12 + 1
  d = math.min(day or d, days_in(y, m))
  return ("%04d-%02d-%02d"):format(y, m, d)
end

--- date moved n days on.
function M.add_days(date, n) return util.format_date((util.parse_date(date) + n) * 86400) end

--- The last day of date's month.
function M.month_end(date)
  local y, m = ymd(date)
  return ("%04d-%02d-%02d"):format(y, m, days_in(y, m))
end

--- Today in the company's calendar (it turns at the company's midnight: lib/dates.lua).
function M.today() return dates.today() end

--- The hour (company time) at which the company's dated work happens: notifications.send_hour.
function M.send_hour() return dates.send_hour() end

--- The moment (seconds) of date at the send hour on the company's clocks.
function M.at_send_hour(date) return dates.at_send_hour(date) end

--- Month label of a date: "Apr 2026".
function M.period_label(date) return dates.month_label(date) end

--- The start date of a schedule's k-th cycle (0 = the first), or nil past its end.
function M.occurrence_start(a, k)
  if k > 0 and not a.repeat_months then return nil end
  local _, _, day = ymd(a.first_start)
  local d = M.add_months(a.first_start, k * (a.repeat_months or 0), day)
  if a.repeat_until and d > a.repeat_until then return nil end
  return d
end

--- The first occurrence whose start is today or later and whose month has no cycle yet (done: a
--- set of the periods "YYYY-MM" it created; an edit of the dates may renumber the occurrences):
--- k, start date.
function M.next_occurrence(a, done)
  local today = M.today()
  local k = 0
  while true do
    local d = M.occurrence_start(a, k)
    if not d then return nil end
    if d >= today and not (done and done[d:sub(1, 7)]) then return k, d end
    k = k + 1
  end
end

--- The offset of an after-hire-date automation in days.
function M.offset_days(a) return a.offset_amount * (a.offset_unit == "weeks" and 7 or 1) end

--- The occurrence k of a person's dates (after_hire_date) that falls in (from, to] — from nil:
--- the latest on or before `to` — and its date, or nil. One person, a few date computations.
function M.hire_match(a, hire_date, from, to)
  local base = M.add_days(hire_date, M.offset_days(a))
  if base > to then return nil end
  local k = 0
  if a.repeat_months then
    local by, bm = ymd(base)
    local ty, tm = ymd(to)
    k = math.max(0, ((ty - by) * 12 + (tm - bm)) // a.repeat_months)
  end
  local _, _, day = ymd(base)
  for kk = k, math.max(0, k - 1), -1 do
    local d = M.add_months(base, kk * (a.repeat_months or 0), day)
    if d <= to then
      if from == nil or d > from then return kk, d end
      return nil
    end
  end
  return nil
end

-- ------------------------------------------------------------------ reading

local function decode(a)
  if not a then return nil end
  a.template = json.decode(a.template) or {}
  a.audience = json.decode(a.audience) or {}
  a.active = a.active == 1
  a.include_past = a.include_past == 1
  return a
end

--- The next thing the automation will do, for lists: { date = "YYYY-MM-DD", what = "..." } or nil
--- (done: the periods it created, as created_periods returns them).
function M.next_run(a, done)
  if not a.active then return nil end
  if a.kind == "after_hire_date" then
    local today = M.today()
    local d = (clock.now() < M.at_send_hour(today) or (a.checked_through or "") < today) and today
      or M.add_days(today, 1)
    return { date = d, what = "checks the hire dates" }
  end
  local k, start = M.next_occurrence(a, done)
  if not k then return nil end
  local create = M.add_days(start, -M.CREATE_DAYS_BEFORE)
  if create < M.today() then create = M.today() end
  return { date = create, what = "creates the cycle starting " .. util.human_date(start), start = start, occurrence = k }
end

local function may_see(actor)
  return access.can(actor, "automations.create") or access.can(actor, "automations.edit")
end

local function require_see(actor)
  if not may_see(actor) then
    errors.forbidden("Automations are run by HR. It needs: " .. (authz.roles_for("automations.edit") or "a role") .. ".")
  end
end

--- One automation (no permission check: services and jobs).
function M.get(id)
  id = math.tointeger(tonumber(id))
  return id and decode(db.row("SELECT * FROM automations WHERE id = ?", id))
end

--- The automation for someone who may see automations (404 when there is none).
function M.require(actor, id)
  require_see(actor)
  local a = M.get(id)
  if not a then errors.not_found("There is no such automation.") end
  return a
end

--- Every automation, by name, each with its template's name, owner, count of cycles and next run.
--- Three queries whatever the number.
function M.list(actor)
  require_see(actor)
  local rows = db.query([[SELECT a.*, c.name AS template_name, o.name AS owner_name FROM automations a
    LEFT JOIN cycles c ON c.id = a.template_cycle_id LEFT JOIN users o ON o.id = a.owner_id
    ORDER BY a.name COLLATE FOLD, a.id]])
  local periods = {}
  for _, r in ipairs(db.query("SELECT automation_id, period FROM automation_cycles")) do
    local p = periods[r.automation_id] or {}
    p[r.period] = true
    periods[r.automation_id] = p
  end
  for _, a in ipairs(rows) do
    decode(a)
    local done = periods[a.id] or {}
    local n = 0
    for _ in pairs(done) do n = n + 1 end
    a.cycle_count = n
    a.next = M.next_run(a, done)
  end
  return rows
end

--- The cycles an automation created, newest first: { cycle_id, name, phase, start_date, period,
--- reviewees }. Two queries.
function M.cycles_of(actor, id)
  local a = M.require(actor, id)
  local rows = db.query([[SELECT l.cycle_id, l.period, l.occurrence, c.name, c.phase, c.start_date, c.sign_due
    FROM automation_cycles l JOIN cycles c ON c.id = l.cycle_id WHERE l.automation_id = ?
    ORDER BY c.start_date DESC, c.id DESC]], a.id)
  local ids = util.map(rows, function(r) return r.cycle_id end)
  local n = {}
  for _, r in ipairs(db.query([[SELECT cycle_id, count(*) AS n FROM reviews WHERE cycle_id IN
      (SELECT value FROM json_each(?)) GROUP BY cycle_id]], json.encode(ids))) do
    n[r.cycle_id] = r.n
  end
  for _, r in ipairs(rows) do r.reviewees = n[r.cycle_id] or 0 end
  return rows
end

--- The people an after-hire-date automation skipped (no manager to write their review), newest
--- first, at most 50: { user_id, name, due_date, skipped }.
function M.skipped_of(actor, id)
  local a = M.require(actor, id)
  return db.query([[SELECT p.user_id, u.name, p.due_date, p.skipped FROM automation_people p
    JOIN users u ON u.id = p.user_id WHERE p.automation_id = ? AND p.skipped IS NOT NULL
    ORDER BY p.due_date DESC, u.name COLLATE FOLD LIMIT 50]], a.id)
end

--- The periods ("YYYY-MM") an automation created cycles for: a set.
function M.created_periods(id)
  local set = {}
  for _, p in ipairs(db.column("SELECT period FROM automation_cycles WHERE automation_id = ?", id)) do set[p] = true end
  return set
end

-- ------------------------------------------------------------------ checking

local ID_LIST = { type = "array", elements = { type = "integer", between = { 1, nil } }, len_max = 10000 }
local TEXT_LIST = { type = "array", elements = schema.text{ max = 200 }, len_max = 1000 }

--- The body of "create / edit an automation".
M.SCHEMA = schema.record{ strict = false, fields = {
  { name = schema.text{ max = 120, label = "The name", description = "The automation's name; each cycle it "
    .. "creates is called this with its month (\"Quarterly review — Apr 2026\")." } },
  { kind = { type = "string", one_of = { "schedule", "after_hire_date" }, label = "The kind",
    description = "schedule or after_hire_date (fixed once created).",
    messages = { one_of = "Choose when cycles are created: on a schedule or after the hire date." } } },
  { template_cycle_id = { type = "integer", label = "The template cycle",
    description = "A review cycle you may manage: its questions, visibility settings, self-assessment and "
      .. "timeline are copied." } },
  { audience = { type = "record", strict = true, description = "Who is reviewed.", fields = {
    { everyone = { type = "boolean", description = "The whole company (then departments, locations and people are "
      .. "not used)." } },
    { departments = util.copy(TEXT_LIST) },
    { locations = util.copy(TEXT_LIST) },
    { people = util.copy(ID_LIST) },
    { exclude = util.copy(ID_LIST) },
  } } },
  { first_start = schema.date{ label = "The first start date", description = "schedule: when the first cycle "
    .. "starts (a future date)." } },
  { repeat_months = { type = "integer", between = { 1, 24 }, label = "Repeat every",
    description = "Every this many months (nil: one-time).", messages = { between = "Repeat every 1 to 24 months." } } },
  { repeat_until = schema.date{ label = "The end of repetition", description = "schedule: no cycle starts after "
    .. "this date (nil: no end)." } },
  { offset_amount = { type = "integer", between = { 0, 3660 }, label = "The offset",
    description = "after_hire_date: this many days or weeks after the hire date." } },
  { offset_unit = { type = "string", one_of = { "days", "weeks" }, label = "The unit",
    description = "days or weeks.", messages = { one_of = "The offset is in days or weeks." } } },
  { include_past = { type = "boolean", description = "after_hire_date, when creating: also take people whose "
    .. "date has already passed (each once, for their latest date)." } },
  { active = { type = "boolean", description = "Whether it runs (default true)." } },
} }

-- The template's snapshot: what every cycle the automation creates copies.
local function snapshot(c)
  local start = util.parse_date(c.start_date)
  local function off(k) return c[k] and (util.parse_date(c[k]) - start) or nil end
  return { questionnaire = c.questionnaire, visibility = c.visibility, self_assessment = c.self_assessment,
    workflow = c.workflow, self_due = off("self_due"), manager_due = off("manager_due"), sign_due = off("sign_due"),
    from_cycle = c.id }
end

-- The template cycle the actor names: a review cycle they may manage, with the dates a cycle
-- needs to start. Problems go to fields.
local function template_of(actor, id, fields)
  local c = cycles.get(id)
  if not c then
    fields.template_cycle_id = "There is no such review cycle."
    return nil
  end
  if not cycles.can(actor, "review_cycles.manage", c) then
    errors.forbidden("You may only name a template cycle you may manage.")
  end
  if not c.manager_due or not c.sign_due or (c.self_assessment and not c.self_due) then
    fields.template_cycle_id = "The template cycle needs all its dates: they give the timeline of the cycles created."
  end
  return c
end

-- The audience as stored, from the input (people and exclusions must be employees).
local function clean_audience(given, fields)
  local aud = { everyone = given.everyone == true, departments = given.departments or {},
    locations = given.locations or {}, people = given.people or {}, exclude = given.exclude or {} }
  local function check_people(list, field)
    if #list == 0 then return end
    local found = db.value([[SELECT count(*) FROM users WHERE id IN (SELECT value FROM json_each(?))
      AND kind = 'employee']], json.encode(list))
    local distinct = {}
    for _, x in ipairs(list) do distinct[x] = true end
    local n = 0
    for _ in pairs(distinct) do n = n + 1 end
    if found ~= n then fields[field] = "Name employees of the company only." end
  end
  check_people(aud.people, "audience")
  check_people(aud.exclude, "exclude")
  if not aud.everyone and #aud.departments == 0 and #aud.locations == 0 and #aud.people == 0 then
    fields.audience = fields.audience or "Choose who is reviewed: everyone, departments, locations or people."
  end
  for _, k in ipairs({ "departments", "locations", "people", "exclude" }) do aud[k] = json.array(aud[k]) end
  return aud
end

-- The values after this change (a: the automation for an edit); problems go to fields.
local function check(actor, input, a)
  input = util.copy(input)
  local rm = input.repeat_months
  if rm == 0 or rm == "0" or rm == "" then input.repeat_months = json.null end -- one-time
  local r, errs = schema.validate(M.SCHEMA, input or {}, { coerce = true, messages = schema.SENTENCES, partial = true })
  r = r or {}
  local fields = schema.by_field(errs)
  local v = {}
  local function pick(k) if input[k] ~= nil then return r[k] end return a and a[k] end
  v.name = pick("name")
  if not v.name and not fields.name then fields.name = "The name is required." end
  v.kind = a and a.kind or r.kind
  if a and input.kind ~= nil and r.kind ~= a.kind then fields.kind = "The kind of an automation cannot change." end
  if not v.kind and not fields.kind then fields.kind = "Choose when cycles are created: on a schedule or after the hire date." end
  -- the template: named again on every edit that names it (a new snapshot), else kept
  v.template_cycle_id, v.template = a and a.template_cycle_id, a and a.template
  if input.template_cycle_id ~= nil or not a then
    if not r.template_cycle_id then
      fields.template_cycle_id = fields.template_cycle_id or "Choose the review cycle to copy."
    else
      local c = template_of(actor, r.template_cycle_id, fields)
      if c then v.template_cycle_id, v.template = c.id, snapshot(c) end
    end
  end
  if input.audience ~= nil or not a then
    if type(input.audience) ~= "table" then fields.audience = fields.audience or "Choose who is reviewed."
    elseif not fields.audience then v.audience = clean_audience(r.audience or {}, fields) end
  else
    v.audience = a.audience
  end
  v.repeat_months = pick("repeat_months")
  v.active = pick("active")
  if v.active == nil then v.active = true end
  if v.kind == "schedule" then
    v.first_start = pick("first_start")
    v.repeat_until = pick("repeat_until")
    if input.repeat_until == json.null or input.repeat_until == "" then v.repeat_until = nil end
    if not v.first_start and not fields.first_start then fields.first_start = "The first start date is required." end
    local first_changed = not a or v.first_start ~= a.first_start
    if v.first_start and first_changed and v.first_start <= M.today() and not fields.first_start then
      fields.first_start = "The first start date must be in the future."
    end
    if v.repeat_until and v.first_start and v.repeat_until < v.first_start and not fields.repeat_until then
      fields.repeat_until = "The end of repetition must not be before the first start date."
    end
    if v.repeat_until and not v.repeat_months and not fields.repeat_until then
      fields.repeat_until = "A one-time automation has no end of repetition."
    end
  elseif v.kind == "after_hire_date" then
    v.offset_amount, v.offset_unit = pick("offset_amount"), pick("offset_unit") or "days"
    if v.offset_amount == nil and not fields.offset_amount then fields.offset_amount = "Say how long after the hire date." end
    if a then v.include_past = a.include_past else v.include_past = r.include_past == true end
    if a and input.include_past ~= nil and (r.include_past == true) ~= a.include_past then
      fields.include_past = "Whether people whose date has passed are included is chosen when the automation is created."
    end
  end
  if next(fields) then errors.invalid(fields, "The automation was not saved.") end
  return v
end

-- ------------------------------------------------------------------ writing

local function fire(name, a, actor, extra)
  local data = { automation_id = a.id, kind = a.kind, actor_id = actor and actor.id or nil }
  for k, x in pairs(extra or {}) do data[k] = x end
  events.fire(name, data)
end

--- Creates an automation (automations.create). The actor becomes its owner: it runs with their
--- permissions.
function M.create(actor, input, req)
  access.require(actor, "automations.create")
  if type(input) ~= "table" then errors.invalid({ name = "Send the automation's fields." }) end
  local v = check(actor, input)
  local now = clock.now()
  return db.transaction(function()
    -- without catching up, the daily check starts with today's dates
    local checked = v.kind == "after_hire_date" and not v.include_past and M.add_days(M.today(), -1) or nil
    local id = db.insert([[INSERT INTO automations(name, kind, active, template_cycle_id, template, audience,
        first_start, repeat_months, repeat_until, offset_amount, offset_unit, include_past, checked_through, owner_id,
        created_by, created_at, updated_at) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)]],
      v.name, v.kind, v.active and 1 or 0, v.template_cycle_id, json.encode(v.template), json.encode(v.audience),
      v.first_start, v.repeat_months, v.repeat_until, v.offset_amount, v.offset_unit, v.include_past and 1 or 0,
      checked, actor.id, actor.id, now, now)
    local a = M.get(id)
    audit.record{ action = "automation.create", actor = actor, req = req, target_type = "automation", target_id = id,
      target_label = a.name, details = { kind = a.kind, template = a.template_cycle_id } }
    fire("automation.created", a, actor)
    return M.get(id)
  end)
end

--- Edits an automation (automations.edit): what it says applies to the cycles it creates from
--- now on; cycles it created keep theirs. The editor becomes its owner.
function M.update(actor, id, input, req)
  access.require(actor, "automations.edit")
  local a = M.require(actor, id)
  if type(input) ~= "table" then errors.invalid({ name = "Send the fields to change." }) end
  local v = check(actor, input, a)
  return db.transaction(function()
    local reactivated = v.active and not a.active
    local checked = a.checked_through
    if reactivated and a.kind == "after_hire_date" then checked = M.add_days(M.today(), -1) end
    db.exec([[UPDATE automations SET name = ?, active = ?, template_cycle_id = ?, template = ?, audience = ?,
        first_start = ?, repeat_months = ?, repeat_until = ?, offset_amount = ?, offset_unit = ?, checked_through = ?,
        owner_id = ?, paused_reason = CASE WHEN ? THEN NULL ELSE paused_reason END, updated_at = ? WHERE id = ?]],
      v.name, v.active and 1 or 0, v.template_cycle_id, json.encode(v.template), json.encode(v.audience),
      v.first_start, v.repeat_months, v.repeat_until, v.offset_amount, v.offset_unit, checked, actor.id,
      v.active and 1 or 0, clock.now(), a.id)
    local fresh = M.get(a.id)
    audit.record{ action = "automation.update", actor = actor, req = req, target_type = "automation", target_id = a.id,
      target_label = fresh.name, details = { active = fresh.active } }
    fire("automation.updated", fresh, actor, { active = fresh.active })
    return fresh
  end)
end

--- Disables (active false) or enables an automation (automations.edit). Enabling makes the actor
--- its owner; a disabled automation creates, starts and adds nothing. Dates that pass while it is
--- disabled are not caught up.
function M.set_active(actor, id, active, req)
  return M.update(actor, id, { active = active == true }, req)
end

--- Deletes an automation (automations.delete: HR Admins). The cycles it created stay.
function M.delete(actor, id, req)
  access.require(actor, "automations.delete")
  local a = M.require(actor, id)
  return db.transaction(function()
    local n = db.value("SELECT count(*) FROM automation_cycles WHERE automation_id = ?", a.id)
    fire("automation.deleted", a, actor, { cycles = n })
    db.exec("DELETE FROM automations WHERE id = ?", a.id)
    audit.record{ action = "automation.delete", actor = actor, req = req, target_type = "automation", target_id = a.id,
      target_label = a.name, details = { cycles_kept = n } }
    return true
  end)
end

--- The review cycles the actor may use as a template (those they may manage), newest first.
function M.template_choices(actor)
  local out, list, ids = {}, cycles.list(actor), {}
  for i, c in ipairs(list) do ids[i] = c.id end
  local roles = cycles.cycle_roles(actor.id, ids)
  for _, c in ipairs(list) do
    if cycles.can(actor, "review_cycles.manage", c, roles[c.id] or false) then
      out[#out + 1] = { id = c.id, name = c.name, phase = c.phase }
    end
  end
  return out
end

--- The departments and locations to choose from.
function M.audience_choices() return directory.facets() end

--- Words for an automation's audience: "Everyone except 2 people", "Engineering, Berlin".
function M.describe_audience(aud)
  local parts = {}
  if aud.everyone then parts[1] = "Everyone"
  else
    for _, d in ipairs(aud.departments or {}) do parts[#parts + 1] = d end
    for _, l in ipairs(aud.locations or {}) do parts[#parts + 1] = l end
    if #(aud.people or {}) > 0 then parts[#parts + 1] = util.plural(#aud.people, "person", "people") end
  end
  local text = table.concat(parts, ", ")
  if #(aud.exclude or {}) > 0 then text = text .. " except " .. util.plural(#aud.exclude, "person", "people") end
  return text
end

--- Words for when it runs: "Every 3 months from 1 Apr 2026 until 31 Dec 2027", "90 days after the hire date".
function M.describe_when(a)
  if a.kind == "schedule" then
    local s = a.repeat_months and (("Every %s from %s"):format(a.repeat_months == 1 and "month"
      or (a.repeat_months .. " months"), util.human_date(a.first_start))) or ("Once, on " .. util.human_date(a.first_start))
    if a.repeat_until then s = s .. " until " .. util.human_date(a.repeat_until) end
    return s
  end
  local s = ("%d %s after the hire date"):format(a.offset_amount, a.offset_unit == "weeks"
    and (a.offset_amount == 1 and "week" or "weeks") or (a.offset_amount == 1 and "day" or "days"))
  if a.repeat_months then s = s .. (", then every %d months"):format(a.repeat_months) end
  return s
end

return M
