-- 360 feedback cycles: create, edit, copy, delete; the reviewer rules and the visibility and
-- anonymity settings; reviewees ("subjects": one per person and cycle); per-cycle admins;
-- start (managers fixed, workflow pinned); the HR overview with counts per reviewee.
-- Nominations and feedback are services/nominations.lua and services/feedback.lua; the
-- phases and mails are the cycle's workflow (workflows/feedback_360.lua).
local db = require "lib.db"
local json = require "lib.json"
local util = require "lib.util"
local errors = require "lib.errors"
local validate = require "lib.validate"
local clock = require "core.clock"
local access = require "services.access"
local audit = require "services.audit"
local questionnaire = require "services.questionnaire"
local cycle_kit = require "services.cycle_kit"

local M = {}

local function workflows() return require "services.workflows" end

-- In a running cycle, new reviewees' managers are fixed; they get their automatic requests and
-- the workflow hears of each.
local function subjects_added(c, rows)
  require("services.nominations").automatic_requests(c, rows)
  for _, s in ipairs(rows) do workflows().emit(c, "subject.added", { subject = s }) end
end

local kit = cycle_kit.new{ admins_table = "feedback_cycle_admins", noun = "360 cycle", read_action = "feedback.read",
  manage_action = "feedback_cycles.manage", audit_prefix = "feedback_cycle", subjects_table = "feedback_subjects",
  create_action = "feedback.create", delete_action = "feedback.delete", delete_unstarted_action = "feedback.delete_unstarted",
  started_sql = "EXISTS (SELECT 1 FROM feedback_requests r WHERE r.subject_id = s.id AND r.feedback_status <> 'not_started')",
  on_added = subjects_added }
M.kit = kit

-- Reviewer rules (JSON in feedback_cycles.rules):
--   nominator        who proposes reviewers: "reviewee" (and the manager and HR), "manager" (and
--                    HR) or "hr" (HR only); the manager approves in every case
--   min, max         reviewers per reviewee (self and manager feedback not counted)
--   suggested        the number the nominator is asked for
--   self_feedback    the reviewee writes about themselves too
--   manager_feedback the approving manager writes feedback too (never anonymous)
--   decline_tells_reviewee  a reviewee is told when a nominee declines, and may nominate a replacement
M.RULES_DEFAULT = { nominator = "reviewee", min = 3, max = 8, suggested = 5, self_feedback = true,
  manager_feedback = true, decline_tells_reviewee = true }
M.NOMINATORS = { reviewee = "The reviewee (their manager and HR may add more)",
  manager = "The reviewee's manager (and HR)", hr = "HR only" }
M.NOMINATOR_ORDER = { "reviewee", "manager", "hr" }

-- Visibility and anonymity (JSON in feedback_cycles.visibility):
--   reviewee_reads, direct_manager_reads, indirect_managers_read   the readers; none: HR Admins only
--   manager_release   "on_share": managers read each feedback once it is shared; "on_date": from
--                     the cycle's manager_release_date
--   manager_early_release   the direct manager may release to the reviewee before release_date
--   anonymous         answers are labelled by relationship, the author hidden from everyone (HR
--                     Admins too); the manager's feedback is never anonymous
--   hide_reviewers    nobody but HR and the approving manager sees who was asked
--   shuffle           (with anonymous) text answers are cut into paragraphs shown in a random order
--   threshold         per relationship group (peer, report, guest), the fewest shared answers for
--                     the group to be shown at all in an anonymous cycle (at least 2)
M.VISIBILITY_DEFAULT = { reviewee_reads = true, direct_manager_reads = true, indirect_managers_read = false,
  manager_release = "on_share", manager_early_release = true, anonymous = false, hide_reviewers = false,
  shuffle = false, threshold = { peer = 3, report = 3, guest = 3 } }
M.GROUPS = { "peer", "report", "guest" }
M.MANAGER_RELEASE = { on_share = "As each reviewer shares", on_date = "On the manager release date" }
M.THRESHOLD_MIN = 2

-- The dates, in the order they must come.
M.DATES = { { "start_date", "the start date" }, { "nominate_due", "the nomination deadline" },
  { "approve_due", "the approval deadline" }, { "write_due", "the writing deadline" },
  { "manager_release_date", "the release to managers" }, { "release_date", "the release to reviewees" } }
local DATE_KEYS = util.map(M.DATES, function(d) return d[1] end)

-- ------------------------------------------------------------------ reading

local function merged(given, defaults)
  local out = util.copy(defaults)
  for k, v in pairs(type(given) == "table" and given or {}) do
    if type(v) == "table" and type(out[k]) == "table" then out[k] = merged(v, out[k]) else out[k] = v end
  end
  return out
end

local function decode(c)
  if not c then return nil end
  c.questionnaire = type(c.questionnaire) == "string" and json.decode(c.questionnaire) or c.questionnaire
    or { sections = {} }
  c.rules = merged(type(c.rules) == "string" and json.decode(c.rules) or c.rules, M.RULES_DEFAULT)
  c.visibility = merged(type(c.visibility) == "string" and json.decode(c.visibility) or c.visibility,
    M.VISIBILITY_DEFAULT)
  c.intro = c.intro or ""
  c.kind = "feedback_360"
  return c
end
M.decode = decode

function M.get(id)
  id = math.tointeger(tonumber(id))
  if not id then return nil end
  return decode(db.row("SELECT * FROM feedback_cycles WHERE id = ?", id))
end

function M.require(id)
  local c = M.get(id)
  if not c then errors.not_found("There is no such 360 cycle.") end
  return c
end

function M.running(c) return c.phase ~= "draft" and c.phase ~= "closed" end

function M.cycle_role(user_id, cycle_id) return kit:role(user_id, cycle_id) end
function M.can(actor, action, c) return kit:can(actor, action, c) end
function M.require_perm(actor, action, c) return kit:require_perm(actor, action, c) end
function M.admins(id) return kit:admins(id) end
function M.set_admins(actor, id, list, req) return kit:set_admins(actor, M.require(id), list, req) end

--- The visibility levels the permission evaluator reads feedback of cycle c under (the
--- readers the cycle ticked; HR Admins once a reviewer shared). policies/visibility.lua has the
--- same levels as presets.
function M.vis(c)
  local v = c.visibility
  return { self = v.reviewee_reads and "after_share" or "never",
    direct_manager = v.direct_manager_reads and "after_release" or "never",
    indirect_manager = v.indirect_managers_read and "after_release" or "never",
    hr = "after_submit", reviewer = "never" }
end

local function day_start(d) return d and util.date_to_ts(d) or nil end

--- Whether feedback of subject s is released to the reviewee now (on the release date, or
--- early by the manager).
function M.released_to_reviewee(c, s, now)
  now = now or clock.now()
  if s.released_at then return true end
  local t = day_start(c.release_date)
  return t ~= nil and now >= t
end

--- Whether feedback of cycle c is released to the managers now (as it is shared, or on the date).
function M.released_to_managers(c, s, now)
  if c.visibility.manager_release == "on_share" then return true end
  now = now or clock.now()
  local t = day_start(c.manager_release_date)
  return (t ~= nil and now >= t) or M.released_to_reviewee(c, s, now)
end

--- The permission stage of one request's feedback: draft (not shared), submitted (shared,
--- not released), released (to the managers), shared (released to the reviewee).
function M.stage(c, s, r, now)
  if r.feedback_status ~= "shared" then return "draft" end
  if M.released_to_reviewee(c, s, now) then return "shared" end
  if M.released_to_managers(c, s, now) then return "released" end
  return "submitted"
end

--- Cycles the actor may see in the admin list (HR roles: all; cycle admins: theirs), with
--- counts. Three queries whatever the number of cycles.
function M.list(actor)
  local rows
  if access.can(actor, "feedback_cycles.track") then
    rows = db.query("SELECT * FROM feedback_cycles ORDER BY (phase = 'closed'), start_date DESC, id DESC")
  else
    rows = db.query([[SELECT c.* FROM feedback_cycles c JOIN feedback_cycle_admins a ON a.cycle_id = c.id AND a.user_id = ?
      ORDER BY (c.phase = 'closed'), c.start_date DESC, c.id DESC]], actor.id)
  end
  local ids = {}
  for i, c in ipairs(rows) do decode(c); ids[i] = c.id end
  local stats = {}
  if #ids > 0 then
    for _, s in ipairs(db.query([[SELECT cycle_id, count(*) AS reviewees, sum(approved_at IS NOT NULL) AS approved
      FROM feedback_subjects WHERE cycle_id IN (SELECT value FROM json_each(?)) GROUP BY cycle_id]], json.encode(ids))) do
      stats[s.cycle_id] = s
    end
    for _, s in ipairs(db.query([[SELECT cycle_id, sum(status = 'approved') AS requests,
        sum(status = 'approved' AND feedback_status = 'shared') AS written
      FROM feedback_requests WHERE cycle_id IN (SELECT value FROM json_each(?)) GROUP BY cycle_id]], json.encode(ids))) do
      local x = stats[s.cycle_id] or {}
      x.requests, x.written = s.requests, s.written
      stats[s.cycle_id] = x
    end
  end
  for _, c in ipairs(rows) do
    local s = stats[c.id] or {}
    c.stats = { reviewees = s.reviewees or 0, approved = s.approved or 0, requests = s.requests or 0,
      written = s.written or 0 }
  end
  return rows
end

-- ------------------------------------------------------------------ settings

local function bool_of(v, field, current)
  if v == nil then return current end
  if v == true or v == "on" or v == "1" or v == "true" then return true end
  if v == false or v == "" or v == "0" or v == "false" or v == "off" then return false end
  errors.invalid({ [field] = "must be true or false." })
end

local function int_of(v, field, lo, hi, current)
  if v == nil or v == "" then return current end
  local n = math.tointeger(tonumber(v))
  if not n or n < lo or n > hi then errors.invalid({ [field] = ("must be a whole number from %d to %d."):format(lo, hi) }) end
  return n
end

--- The rules of input.rules over current ones; 422 naming the field on a bad value.
local function clean_rules(given, current)
  local r = util.copy(current or M.RULES_DEFAULT)
  if given == nil then return r end
  if type(given) ~= "table" then errors.invalid({ rules = "Send the rules as an object." }) end
  if given.nominator ~= nil then
    if not M.NOMINATORS[given.nominator] then errors.invalid({ nominator = "must be reviewee, manager or hr." }) end
    r.nominator = given.nominator
  end
  r.min = int_of(given.min, "min", 0, 20, r.min)
  r.max = int_of(given.max, "max", 1, 30, r.max)
  r.suggested = int_of(given.suggested, "suggested", 0, 30, r.suggested)
  for _, k in ipairs({ "self_feedback", "manager_feedback", "decline_tells_reviewee" }) do
    r[k] = bool_of(given[k], k, r[k])
  end
  if r.min > r.max then errors.invalid({ min = "The minimum must not be above the maximum." }) end
  if r.suggested < r.min or r.suggested > r.max then
    errors.invalid({ suggested = ("The suggested number must be between the minimum (%d) and the maximum (%d)."):format(r.min, r.max) })
  end
  return r
end

local function clean_visibility(given, current)
  local v = util.copy(current or M.VISIBILITY_DEFAULT)
  if given == nil then return v end
  if type(given) ~= "table" then errors.invalid({ visibility = "Send the visibility as an object." }) end
  for _, k in ipairs({ "reviewee_reads", "direct_manager_reads", "indirect_managers_read", "manager_early_release",
    "anonymous", "hide_reviewers", "shuffle" }) do
    v[k] = bool_of(given[k], k, v[k])
  end
  if given.manager_release ~= nil then
    if not M.MANAGER_RELEASE[given.manager_release] then
      errors.invalid({ manager_release = "must be on_share or on_date." })
    end
    v.manager_release = given.manager_release
  end
  if given.threshold ~= nil then
    if type(given.threshold) ~= "table" then errors.invalid({ threshold = "Send a number per group." }) end
    v.threshold = util.copy(v.threshold)
    for _, g in ipairs(M.GROUPS) do
      v.threshold[g] = int_of(given.threshold[g], "threshold_" .. g, M.THRESHOLD_MIN, 50, v.threshold[g])
    end
  end
  if v.shuffle and not v.anonymous then v.shuffle = false end -- shuffling only hides authors that are hidden anyway
  return v
end

local function check_release_dates(v, d, vis)
  if vis.manager_release == "on_date" and not d.manager_release_date then
    v:fail("manager_release_date", "Set the date on which managers get to read the feedback.")
  end
end

local function field_values(input, c)
  local v = validate.new(input)
  local name = (input.name ~= nil or not c) and v:text("name", { required = true, max = 120, label = "The name" }) or c.name
  local intro = (input.intro ~= nil or not c) and v:text("intro", { max = 4000, multiline = true, default = "" })
    or c.intro
  local dates = cycle_kit.ordered_dates(v, input, c, M.DATES)
  return v, name, intro or "", dates
end

--- Creates a draft 360 cycle. input: name, intro, the dates of M.DATES, rules, visibility,
--- questionnaire (default: what went well / what to improve).
function M.create(actor, input, req)
  M.require_perm(actor, "feedback_cycles.manage")
  local v, name, intro, dates = field_values(input, nil)
  local vis = clean_visibility(input.visibility)
  check_release_dates(v, dates, vis)
  v:done()
  local rules = clean_rules(input.rules)
  local q = input.questionnaire and questionnaire.validate(input.questionnaire, "feedback") or questionnaire.default_feedback()
  local now = clock.now()
  return db.transaction(function()
    local id = db.insert([[INSERT INTO feedback_cycles(name, intro, start_date, nominate_due, approve_due, write_due,
        manager_release_date, release_date, questionnaire, rules, visibility, created_by, created_at, updated_at)
        VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?)]],
      name, intro, dates.start_date, dates.nominate_due, dates.approve_due, dates.write_due, dates.manager_release_date,
      dates.release_date, json.encode(q), json.encode(rules), json.encode(vis), actor.id, now, now)
    audit.record{ action = "feedback_cycle.create", actor = actor, req = req, target_type = "feedback_cycle",
      target_id = id, target_label = name }
    return M.get(id)
  end)
end

--- Edits a cycle. Before the start everything; while it runs the name, introduction, dates
--- (the timeline is re-planned), rules and visibility (HR Assistants may: seed 003); the
--- questionnaire is fixed once started.
function M.update(actor, id, input, req)
  local c = M.require(id)
  M.require_perm(actor, "feedback_cycles.manage", c)
  if c.phase == "closed" then errors.conflict("This cycle is closed; copy it to run a new round.") end
  local v, name, intro, dates = field_values(input, c)
  local vis = clean_visibility(input.visibility, c.visibility)
  check_release_dates(v, dates, vis)
  v:done()
  local rules = clean_rules(input.rules, c.rules)
  local q = c.questionnaire
  if input.questionnaire ~= nil then
    if M.running(c) then errors.conflict("The questions are fixed once the cycle has started.") end
    q = questionnaire.validate(input.questionnaire, "feedback")
  end
  return db.transaction(function()
    db.exec([[UPDATE feedback_cycles SET name = ?, intro = ?, start_date = ?, nominate_due = ?, approve_due = ?,
        write_due = ?, manager_release_date = ?, release_date = ?, questionnaire = ?, rules = ?, visibility = ?,
        updated_at = ? WHERE id = ?]],
      name, intro, dates.start_date, dates.nominate_due, dates.approve_due, dates.write_due, dates.manager_release_date,
      dates.release_date, json.encode(q), json.encode(rules), json.encode(vis), clock.now(), c.id)
    local changed = {}
    for _, k in ipairs(DATE_KEYS) do if dates[k] ~= c[k] then changed[#changed + 1] = k end end
    audit.record{ action = "feedback_cycle.update", actor = actor, req = req, target_type = "feedback_cycle",
      target_id = c.id, target_label = name, details = { dates_changed = changed, visibility = vis, rules = rules } }
    local fresh = M.get(c.id)
    if M.running(c) and #changed > 0 then workflows().reschedule(fresh) end
    return fresh
  end)
end

--- Copies a cycle as a new draft: settings, questions, reviewees (not their reviewers) and
--- cycle admins; the dates move so the new round starts today (or stay when in the future).
function M.copy(actor, id, req)
  local c = M.require(id)
  M.require_perm(actor, "feedback_cycles.manage", c)
  local moved = cycle_kit.shifted_dates(c, DATE_KEYS)
  local now = clock.now()
  return db.transaction(function()
    local name = c.name .. " (copy)"
    local new_id = db.insert([[INSERT INTO feedback_cycles(name, intro, start_date, nominate_due, approve_due, write_due,
        manager_release_date, release_date, questionnaire, rules, visibility, workflow, created_by, created_at,
        updated_at, copied_from) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)]],
      name, c.intro, moved.start_date, moved.nominate_due, moved.approve_due, moved.write_due,
      moved.manager_release_date, moved.release_date, json.encode(c.questionnaire), json.encode(c.rules),
      json.encode(c.visibility), c.workflow, actor.id, now, now, c.id)
    db.exec([[INSERT INTO feedback_subjects(cycle_id, reviewee_id, created_at, updated_at)
      SELECT ?, s.reviewee_id, ?, ? FROM feedback_subjects s JOIN users u ON u.id = s.reviewee_id
      WHERE s.cycle_id = ? AND u.status <> 'deactivated' AND u.kind = 'employee']], new_id, now, now, c.id)
    db.exec([[INSERT INTO feedback_cycle_admins(cycle_id, user_id, role, added_by, added_at)
      SELECT ?, user_id, role, ?, ? FROM feedback_cycle_admins WHERE cycle_id = ?]], new_id, actor.id, now, c.id)
    audit.record{ action = "feedback_cycle.copy", actor = actor, req = req, target_type = "feedback_cycle",
      target_id = new_id, target_label = name, details = { from = c.id } }
    return M.get(new_id)
  end)
end

--- Deletes a cycle with everything written in it: HR Admins only (feedback_cycles.delete), who
--- may see what was written; HR Assistants cannot, even for cycles they created.
function M.delete(actor, id, req)
  local c = M.require(id)
  M.require_perm(actor, "feedback_cycles.delete", c)
  return db.transaction(function()
    local n = db.value("SELECT count(*) FROM feedback_requests WHERE cycle_id = ? AND feedback_status <> 'not_started'", c.id)
    workflows().stop(c)
    db.exec("DELETE FROM feedback_cycles WHERE id = ?", c.id)
    audit.record{ action = "feedback_cycle.delete", actor = actor, req = req, target_type = "feedback_cycle",
      target_id = c.id, target_label = c.name, details = { with_feedback = n } }
    return true
  end)
end

-- ------------------------------------------------------------------ reviewees

function M.subject(id)
  id = math.tointeger(tonumber(id))
  return id and db.row("SELECT * FROM feedback_subjects WHERE id = ?", id)
end

function M.require_subject(id)
  local s = M.subject(id)
  if not s then errors.not_found("There is no such reviewee in a 360 cycle.") end
  return s
end

--- Adds people as reviewees (employees not deactivated; guests cannot be reviewed). Returns
--- how many were added. In a running cycle they start at once.
function M.add_reviewees(actor, id, user_ids, req) return kit:add_reviewees(actor, M.require(id), user_ids, req) end

--- Removes reviewees. Without written feedback it needs feedback.delete_unstarted (HR
--- Assistants too); with some, feedback.delete (HR Admins).
function M.remove_reviewees(actor, id, user_ids, req) return kit:remove_reviewees(actor, M.require(id), user_ids, req) end

-- ------------------------------------------------------------------ start and phases

--- Starts a cycle: fixes each reviewee's manager, makes the self and manager requests the
--- rules ask for, pins the workflow version, enters its first phase and plans the timeline, in
--- one transaction. A cycle may start with no reviewees ("choose later").
function M.start(actor, id, req)
  local c = M.require(id)
  M.require_perm(actor, "feedback_cycles.manage", c)
  if c.phase ~= "draft" then errors.conflict("This cycle has already started.") end
  if #questionnaire.questions(c.questionnaire) == 0 then
    errors.invalid({ questionnaire = "Add at least one question first." }, "The cycle is not ready to start.")
  end
  return db.transaction(function()
    db.exec([[UPDATE feedback_subjects SET manager_id = (SELECT u.manager_id FROM users u WHERE u.id = reviewee_id),
      updated_at = ? WHERE cycle_id = ?]], clock.now(), c.id)
    local rows = db.query("SELECT * FROM feedback_subjects WHERE cycle_id = ?", c.id)
    require("services.nominations").automatic_requests(c, rows)
    db.exec("UPDATE feedback_cycles SET started_at = ?, updated_at = ? WHERE id = ?", clock.now(), clock.now(), c.id)
    audit.record{ action = "feedback_cycle.start", actor = actor, req = req, target_type = "feedback_cycle",
      target_id = c.id, target_label = c.name, details = { reviewees = #rows } }
    workflows().start(M.get(c.id), actor)
    return M.get(c.id)
  end)
end

--- Moves a running cycle to another phase (e.g. closes it), as its workflow allows.
function M.transition(actor, id, to, req)
  local c = M.require(id)
  return db.transaction(function()
    workflows().transition(c, to, actor)
    audit.record{ action = "feedback_cycle.transition", actor = actor, req = req, target_type = "feedback_cycle",
      target_id = c.id, target_label = c.name, details = { from = c.phase, to = to } }
    return M.get(c.id)
  end)
end

-- ------------------------------------------------------------------ overview

M.OVERVIEW_SORTS = { name = "u.name COLLATE NOCASE", department = "u.department COLLATE NOCASE",
  manager = "m.name COLLATE NOCASE", nominated = "nominated", approved = "approved", written = "written",
  declined = "declined" }

local SUBJECT_COLS = [[s.id, s.reviewee_id, s.manager_id, s.nominations_done_at, s.approved_at, s.released_at,
    u.name, u.email, u.job_title, u.department, u.location, m.name AS manager_name]]
local SUBJECT_FROM = [[
  FROM feedback_subjects s JOIN users u ON u.id = s.reviewee_id LEFT JOIN users m ON m.id = s.manager_id ]]
local COUNT_COLS = [[count(*) AS nominated, sum(status = 'approved') AS approved,
      sum(status = 'proposed') AS proposed, sum(status = 'declined') AS declined,
      sum(status = 'approved' AND feedback_status = 'shared') AS written]]
local COUNTS_SQL = [[
  SELECT ]] .. SUBJECT_COLS .. [[,
    coalesce(k.nominated, 0) AS nominated, coalesce(k.approved, 0) AS approved, coalesce(k.written, 0) AS written,
    coalesce(k.declined, 0) AS declined, coalesce(k.proposed, 0) AS proposed, count(*) OVER () AS matching
  ]] .. SUBJECT_FROM .. [[
  LEFT JOIN (SELECT subject_id, ]] .. COUNT_COLS .. [[
    FROM feedback_requests WHERE cycle_id = ? AND relationship NOT IN ('self', 'manager') GROUP BY subject_id) k
    ON k.subject_id = s.id ]]

M.STATUS_FILTERS = {
  not_nominated = "coalesce(k.nominated, 0) = 0",
  not_approved = "s.approved_at IS NULL",
  waiting = "coalesce(k.approved, 0) > coalesce(k.written, 0)",
  declined = "coalesce(k.declined, 0) > 0",
  done = "coalesce(k.approved, 0) > 0 AND coalesce(k.approved, 0) = coalesce(k.written, 0)",
}

--- The company overview of a cycle: per reviewee the reviewers nominated, approved, written
--- and declined (self and manager feedback apart), sortable, filterable, in pages; totals and
--- progress. q: { sort, order, department, location, manager_id, status, q, page, per_page }.
--- At most six queries whatever the size.
function M.overview(actor, id, q)
  local c = M.require(id)
  M.require_perm(actor, "feedback_cycles.track", c)
  q = q or {}
  local where, args = { "s.cycle_id = ?" }, {}
  cycle_kit.person_filters(q, where, args, "s.manager_id")
  local status = M.STATUS_FILTERS[q.status or ""]
  local p = cycle_kit.paging(q, M.OVERVIEW_SORTS, "name")
  local rows, matching
  if not status and (p.sort == "name" or p.sort == "department" or p.sort == "manager") then
    -- the page of reviewees first (from the index), then the counts of just those
    local where_sql = table.concat(where, " AND ")
    local a = { c.id, table.unpack(args) }
    matching = db.value(("SELECT count(*)" .. SUBJECT_FROM .. "WHERE %s"):format(where_sql), table.unpack(a))
    a[#a + 1], a[#a + 2] = p.per_page, p.offset
    rows = db.query(("SELECT " .. SUBJECT_COLS .. SUBJECT_FROM .. "WHERE %s ORDER BY %s %s, u.name COLLATE NOCASE, s.id "
      .. "LIMIT ? OFFSET ?"):format(where_sql, M.OVERVIEW_SORTS[p.sort], p.order), table.unpack(a))
    local ids = {}
    for i, r in ipairs(rows) do ids[i] = r.id end
    local counts = {}
    if #ids > 0 then
      for _, k in ipairs(db.query("SELECT subject_id, " .. COUNT_COLS .. [[ FROM feedback_requests
          WHERE subject_id IN (SELECT value FROM json_each(?)) AND relationship NOT IN ('self', 'manager')
          GROUP BY subject_id]], json.encode(ids))) do
        counts[k.subject_id] = k
      end
    end
    for _, r in ipairs(rows) do
      local k = counts[r.id] or {}
      for _, f in ipairs({ "nominated", "approved", "written", "declined", "proposed" }) do r[f] = k[f] or 0 end
    end
  else
    -- sorted or filtered by the counts: every reviewee's counts, once
    if status then where[#where + 1] = status end
    local a = { c.id, c.id, table.unpack(args) }
    a[#a + 1], a[#a + 2] = p.per_page, p.offset
    rows = db.query((COUNTS_SQL .. "WHERE %s ORDER BY %s %s, u.name COLLATE NOCASE, s.id LIMIT ? OFFSET ?")
      :format(table.concat(where, " AND "), M.OVERVIEW_SORTS[p.sort], p.order), table.unpack(a))
    matching = rows[1] and rows[1].matching or 0
    if not rows[1] and p.page > 1 then
      matching = db.value(("SELECT count(*) FROM (" .. COUNTS_SQL .. "WHERE %s)"):format(table.concat(where, " AND ")),
        c.id, c.id, table.unpack(args))
    end
  end
  local totals = db.row([[SELECT count(*) AS requests, sum(status = 'proposed') AS proposed,
      sum(status = 'approved') AS approved, sum(status = 'declined') AS declined,
      sum(status = 'approved' AND feedback_status = 'shared') AS written,
      sum(status = 'approved' AND feedback_status = 'draft') AS drafts
    FROM feedback_requests WHERE cycle_id = ? AND relationship NOT IN ('self', 'manager')]], c.id)
  local subj = db.row([[SELECT count(*) AS reviewees, sum(approved_at IS NOT NULL) AS approved,
      sum(nominations_done_at IS NOT NULL OR approved_at IS NOT NULL) AS nominated,
      sum(released_at IS NOT NULL) AS released_early
    FROM feedback_subjects WHERE cycle_id = ?]], c.id)
  for k, v in pairs(subj) do totals[k == "approved" and "reviewees_approved" or k] = v end
  for _, k in ipairs({ "requests", "proposed", "approved", "declined", "written", "drafts", "reviewees",
    "reviewees_approved", "nominated", "released_early" }) do
    totals[k] = totals[k] or 0 -- sums over no rows are NULL
  end
  local deps, locs = cycle_kit.facets("feedback_subjects s JOIN users u ON u.id = s.reviewee_id WHERE s.cycle_id = ?", c.id)
  return cycle_kit.page_result(p, matching, { cycle = c, rows = rows, totals = totals, departments = deps,
    locations = locs })
end

-- ------------------------------------------------------------------ reminders

M.REMINDER_AUDIENCES = { not_nominated = "Reviewees (or managers) who have not chosen reviewers",
  not_approved = "Managers who have not approved", not_written = "Reviewers who have not shared their feedback" }

--- Who a reminder from HR would reach: audience "not_nominated" (whoever chooses the reviewers,
--- as the cycle says), "not_approved" (approving managers), "not_written" (reviewers, guests
--- too), or "selection" (subject_ids: whoever is late for each of those reviewees). One target
--- per person, naming everyone they are late for: { to, part, key, names, link, due }.
function M.reminder_targets(actor, cycle_id, audience, subject_ids)
  local c = M.require(cycle_id)
  M.require_perm(actor, "feedback_cycles.track", c)
  if not M.running(c) then errors.conflict("Reminders go out while the cycle runs.") end
  local kind = require("services.feedback_workflow").KIND
  local wf = workflows()
  local subjects = kind.items.subject.all(c)
  local requests
  local selected
  if audience == "selection" then
    if type(subject_ids) ~= "table" or #subject_ids == 0 then errors.invalid({ subject_ids = "Select at least one reviewee." }) end
    selected = {}
    for _, id in ipairs(subject_ids) do selected[math.tointeger(tonumber(id)) or 0] = true end
  elseif not M.REMINDER_AUDIENCES[audience] then
    errors.invalid({ audience = "Choose who to remind." })
  end
  local nominating, approving, writing, nominating_ids = {}, {}, {}, {}
  local base = require("services.accounts").base_url()
  for _, sj in ipairs(subjects) do
    if not selected or selected[sj.id] then
      local late_nominating = not sj.nominations_done_at and not sj.approved_at
      local late_approving = not sj.approved_at and not late_nominating
      if late_nominating then nominating_ids[sj.id] = true end
      if late_nominating and (audience == "not_nominated" or selected) then nominating[#nominating + 1] = sj
      elseif late_approving and (audience == "not_approved" or selected) then approving[#approving + 1] = sj end
    end
  end
  if audience == "not_written" or selected then
    requests = kind.items.request.all(c)
    for _, r in ipairs(requests) do
      if r.status == "approved" and r.feedback_status ~= "shared" and (not selected or selected[r.subject_id])
        and not (selected and nominating_ids[r.subject_id]) then
        writing[#writing + 1] = r
      end
    end
  end
  local out = {}
  local function add(groups, part, what, due, path)
    for _, g in ipairs(groups) do
      local names = util.map(g.rows, function(x)
        return (part == "write" and x.relationship == "self") and "yourself" or x.reviewee_name end)
      local one = #g.rows == 1 and g.rows[1] or nil
      out[#out + 1] = { to = g.user, part = part, key = c.id, names = names,
        what = what(wf.names_text(names)), due = due,
        link = base .. (one and path(one) or (part == "approve" and ("/feedback/cycles/" .. c.id .. "/approvals") or "/home")) }
    end
  end
  local rule = c.rules.nominator
  local function nominator(sj)
    if rule == "reviewee" then
      return { id = sj.reviewee_id, name = sj.reviewee_name, email = sj.reviewee_email, status = sj.reviewee_status }
    elseif rule == "manager" and sj.manager_id then
      return { id = sj.manager_id, name = sj.manager_name, email = sj.manager_email, status = sj.manager_user_status }
    end
  end
  add(wf.group_by_person(nominating, nominator), "nominate", function(n) return "choose the reviewers for " .. n end,
    c.nominate_due, function(x) return "/feedback/360/" .. x.id end)
  add(wf.group_by_person(approving, function(sj)
      return sj.manager_id and { id = sj.manager_id, name = sj.manager_name, email = sj.manager_email,
        status = sj.manager_user_status } end),
    "approve", function(n) return "approve the reviewers of " .. n end, c.approve_due,
    function(x) return "/feedback/360/" .. x.id end)
  add(wf.group_by_person(writing, function(r)
      return { id = r.reviewer_id, name = r.reviewer_name, email = r.reviewer_email, status = r.reviewer_status } end),
    "write", function(n) return "write and share your feedback about " .. n end, c.write_due,
    function(x) return "/feedback/requests/" .. x.id end)
  return out, c
end

local remind = require("services.reminders").for_kind{ targets = function(...) return M.reminder_targets(...) end,
  vars = function(c, t, note, sender)
    return { cycle = c.name, what = t.what, due = t.due and util.human_date(t.due) or nil, message = note,
      sender = sender, link = t.link }
  end,
  template = "feedback.reminder", related_type = "feedback_cycle", key = "feedback-reminder",
  audit_prefix = "feedback_cycle" }

--- The exact mail the first person would get, and how many would get one.
M.reminder_preview = remind.preview
--- Sends the reminders (one per person, part and day at most). Returns how many were queued.
M.send_reminders = remind.send

function M.init(app)
  require("services.mail") -- templates are defined by the workflow kind (services/feedback_workflow.lua)
  M.app = app
end

return M
