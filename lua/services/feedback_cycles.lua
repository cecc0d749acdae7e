-- 360 feedback cycles: create, edit, copy, delete; the reviewer rules and the visibility and
-- anonymity settings; reviewees ("subjects": one per person and cycle); per-cycle admins;
-- start (managers fixed, workflow pinned); the HR overview with counts per reviewee.
-- Nominations and feedback are services/nominations.lua and services/feedback.lua; the
-- phases and mails are the cycle's workflow (workflows/feedback_360.lua).
local db = require "lib.db"
local json = require "lib.json"
local util = require "lib.util"
local calendar = require "lib.dates" -- (dates names a cycle's dates below)
local errors = require "lib.errors"
local events = require "lib.events"
local schema = require "lib.schema"
local clock = require "core.clock"
local access = require "services.access"
local audit = require "services.audit"
local questionnaire = require "services.questionnaire"
local cycle_kit = require "services.cycle_kit"
local workflows = require "services.workflows"
local reminders = require "services.reminders"
local accounts = require "services.accounts"

local M = {}

-- In a running cycle, new reviewees' managers are fixed; they get their automatic requests and
-- feedback_subject.added fires for each (the workflow invites whoever chooses their reviewers).
local function subjects_added(c, rows, actor)
  require("services.nominations").automatic_requests(c, rows)
  for _, s in ipairs(rows) do
    events.fire("feedback_subject.added", { cycle_id = c.id, subject_id = s.id, reviewee_id = s.reviewee_id,
      manager_id = s.manager_id, actor_id = actor.id })
  end
end

local kit = cycle_kit.new{ table = "feedback_cycles", admins_table = "feedback_cycle_admins", noun = "360 cycle",
  read_action = "feedback.read", manage_action = "feedback_cycles.manage", audit_prefix = "feedback_cycle",
  delete_cycle_action = "feedback_cycles.delete", event_area = "feedback_cycle", subjects_table = "feedback_subjects",
  create_action = "feedback.create", delete_action = "feedback.delete", delete_unstarted_action = "feedback.delete_unstarted",
  started_sql = "EXISTS (SELECT 1 FROM feedback_nominations r WHERE r.subject_id = s.id AND r.feedback_status <> 'not_started')",
  on_added = subjects_added }

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

kit:install(M, decode)

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

local function day_start(d) return d and calendar.local_to_utc(d, 0) or nil end

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
--- counts (feedback_subject_counts, feedback_request_counts: kept by triggers, a few rows per
--- cycle). Three queries whatever the number of cycles or their size.
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
    for _, s in ipairs(db.query([[SELECT cycle_id, sum(n) AS reviewees, sum(n * approved) AS approved
      FROM feedback_subject_counts WHERE cycle_id IN (SELECT value FROM json_each(?)) GROUP BY cycle_id]],
      json.encode(ids))) do
      stats[s.cycle_id] = s
    end
    for _, s in ipairs(db.query([[SELECT cycle_id, sum(n * (status = 'approved')) AS requests,
        sum(n * (status = 'approved' AND feedback_status = 'shared')) AS written
      FROM feedback_request_counts WHERE cycle_id IN (SELECT value FROM json_each(?)) GROUP BY cycle_id]],
      json.encode(ids))) do
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

local function whole(lo, hi, description)
  return { type = "integer", between = { lo, hi }, description = description,
    messages = { type = ("must be a whole number from %d to %d."):format(lo, hi),
      min = ("must be a whole number from %d to %d."):format(lo, hi),
      max = ("must be a whole number from %d to %d."):format(lo, hi) } }
end

local function yes_no(description) return { type = "boolean", description = description } end

--- The body of "create / edit a 360 cycle" (its questionnaire is checked by
--- services/questionnaire). Every part may be left out of an edit.
M.SCHEMA = schema.record{ strict = false, fields = {
  { name = schema.text{ max = 120, label = "The name", description = "The cycle's name." } },
  { intro = schema.text{ max = 4000, multiline = true, label = "The introduction",
    description = "What reviewers read first." } },
  { start_date = schema.date{ label = "The start date", description = "When it starts." } },
  { nominate_due = schema.date{ description = "Reviewers chosen by." } },
  { approve_due = schema.date{ description = "Reviewers approved by." } },
  { write_due = schema.date{ description = "Feedback written by." } },
  { manager_release_date = schema.date{ description = "Released to the managers on (with manager_release on_date)." } },
  { release_date = schema.date{ description = "Released to the reviewees on." } },
  { rules = { type = "record", strict = false, description = "Who chooses reviewers, how many, who else writes.",
    fields = {
      { nominator = { type = "string", one_of = M.NOMINATOR_ORDER, description = "Who proposes reviewers.",
        messages = { one_of = "must be reviewee, manager or hr.", type = "must be reviewee, manager or hr." } } },
      { min = whole(0, 20, "The fewest reviewers (self and manager not counted).") },
      { max = whole(1, 30, "The most reviewers.") },
      { suggested = whole(0, 30, "The number the nominator is asked for.") },
      { self_feedback = yes_no("The reviewee writes about themselves too.") },
      { manager_feedback = yes_no("The approving manager writes feedback too (never anonymous).") },
      { decline_tells_reviewee = yes_no("A reviewee hears of a decline and may choose a replacement.") },
    } } },
  { visibility = { type = "record", strict = false, description = "Who reads the feedback when; anonymity.",
    fields = {
      { reviewee_reads = yes_no("The reviewee reads it once released.") },
      { direct_manager_reads = yes_no("The direct manager reads it.") },
      { indirect_managers_read = yes_no("Managers further up read it.") },
      { manager_release = { type = "string", one_of = { "on_share", "on_date" },
        description = "Managers read each feedback as it is shared, or from manager_release_date.",
        messages = { one_of = "must be on_share or on_date.", type = "must be on_share or on_date." } } },
      { manager_early_release = yes_no("The direct manager may release it to the reviewee before the date.") },
      { anonymous = yes_no("Answers are labelled by relationship, never by name (the manager's excepted).") },
      { hide_reviewers = yes_no("Only HR and the approving manager see who was asked.") },
      { shuffle = yes_no("With anonymous: text answers come as paragraphs in a random order.") },
      { threshold = { type = "record", strict = false, description = "Per group, the fewest shared answers shown.",
        fields = {
          { peer = whole(M.THRESHOLD_MIN, 50, "Peers.") },
          { report = whole(M.THRESHOLD_MIN, 50, "Reports.") },
          { guest = whole(M.THRESHOLD_MIN, 50, "Guests.") },
        } } },
    } } },
} }

-- The input checked against M.SCHEMA: the values that are fine, and problems by the field names
-- forms and API clients use (min, threshold_peer, ...).
local function read_input(input)
  local r, errs = schema.validate(M.SCHEMA, input or {}, { coerce = true, messages = schema.SENTENCES, partial = true })
  local problems = {}
  for _, e in ipairs(errs or {}) do
    local key = e.path:gsub("^rules%.", ""):gsub("^visibility%.", ""):gsub("%.", "_")
    if problems[key] == nil then problems[key] = (e.code ~= "required" and e.detail) or e.message end
  end
  return r or {}, problems
end

-- given over current, keeping current values where given has none (tables merged).
local function over(current, given)
  local out = util.copy(current)
  for k, v in pairs(type(given) == "table" and given or {}) do
    if type(v) == "table" and type(out[k]) == "table" then out[k] = over(out[k], v) else out[k] = v end
  end
  return out
end

-- Everything a create or edit sets, over the cycle's values c (nil when creating); raises 422
-- with every problem by field.
local function read_all(input, c)
  local r, problems = read_input(input)
  local name = c and c.name
  if input.name ~= nil or not c then
    name = r.name
    if not name and not problems.name then problems.name = "The name is required." end
  end
  local intro = c and c.intro or ""
  if input.intro ~= nil then intro = r.intro or "" end
  local dates = cycle_kit.ordered_dates(r, input, c, M.DATES, problems)
  local rules = over(c and c.rules or M.RULES_DEFAULT, type(input.rules) == "table" and r.rules or nil)
  if input.rules ~= nil and type(input.rules) ~= "table" then problems.rules = "Send the rules as an object." end
  if not problems.min and not problems.max and rules.min > rules.max then
    problems.min = "The minimum must not be above the maximum."
  elseif not problems.suggested and (rules.suggested < rules.min or rules.suggested > rules.max) then
    problems.suggested = ("The suggested number must be between the minimum (%d) and the maximum (%d).")
      :format(rules.min, rules.max)
  end
  local vis = over(c and c.visibility or M.VISIBILITY_DEFAULT,
    type(input.visibility) == "table" and r.visibility or nil)
  if input.visibility ~= nil and type(input.visibility) ~= "table" then
    problems.visibility = "Send the visibility as an object."
  end
  if vis.shuffle and not vis.anonymous then vis.shuffle = false end -- shuffling only hides authors that are hidden anyway
  if vis.manager_release == "on_date" and not dates.manager_release_date and not problems.manager_release_date then
    problems.manager_release_date = "Set the date on which managers get to read the feedback."
  end
  if next(problems) then errors.invalid(problems) end
  return { name = name, intro = intro, dates = dates, rules = rules, vis = vis }
end

--- Creates a draft 360 cycle. input: name, intro, the dates of M.DATES, rules, visibility,
--- questionnaire (default: what went well / what to improve).
function M.create(actor, input, req)
  M.require_perm(actor, "feedback_cycles.manage")
  local x = read_all(input, nil)
  local name, dates = x.name, x.dates
  local q = input.questionnaire and questionnaire.validate(input.questionnaire, "feedback") or questionnaire.default_feedback()
  local now = clock.now()
  return db.transaction(function()
    local id = db.insert([[INSERT INTO feedback_cycles(name, intro, start_date, nominate_due, approve_due, write_due,
        manager_release_date, release_date, questionnaire, rules, visibility, created_by, created_at, updated_at)
        VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?)]],
      name, x.intro, dates.start_date, dates.nominate_due, dates.approve_due, dates.write_due,
      dates.manager_release_date, dates.release_date, json.encode(q), json.encode(x.rules), json.encode(x.vis), actor.id,
      now, now)
    audit.record{ action = "feedback_cycle.create", actor = actor, req = req, target_type = "feedback_cycle",
      target_id = id, target_label = name }
    events.fire("feedback_cycle.created", { cycle_id = id, actor_id = actor.id })
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
  local x = read_all(input, c)
  local name, dates, rules, vis = x.name, x.dates, x.rules, x.vis
  local q = c.questionnaire
  if input.questionnaire ~= nil then
    if M.running(c) then errors.conflict("The questions are fixed once the cycle has started.") end
    q = questionnaire.validate(input.questionnaire, "feedback")
  end
  return db.transaction(function()
    db.exec([[UPDATE feedback_cycles SET name = ?, intro = ?, start_date = ?, nominate_due = ?, approve_due = ?,
        write_due = ?, manager_release_date = ?, release_date = ?, questionnaire = ?, rules = ?, visibility = ?,
        updated_at = ? WHERE id = ?]],
      name, x.intro, dates.start_date, dates.nominate_due, dates.approve_due, dates.write_due, dates.manager_release_date,
      dates.release_date, json.encode(q), json.encode(rules), json.encode(vis), clock.now(), c.id)
    local changed = {}
    for _, k in ipairs(DATE_KEYS) do if dates[k] ~= c[k] then changed[#changed + 1] = k end end
    audit.record{ action = "feedback_cycle.update", actor = actor, req = req, target_type = "feedback_cycle",
      target_id = c.id, target_label = name, details = { dates_changed = changed, visibility = vis, rules = rules } }
    events.fire("feedback_cycle.updated", { cycle_id = c.id, dates_changed = changed, actor_id = actor.id })
    return M.get(c.id)
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
    kit:copied(actor, c, new_id, name, req)
    return M.get(new_id)
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

-- Reviewees and cycle admins: cycle_kit (add_reviewees, remove_reviewees, set_admins, admins).
-- Guests are never reviewed; without written feedback removing needs feedback.delete_unstarted
-- (HR Assistants too), with some feedback.delete (HR Admins).

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
    events.fire("feedback_cycle.starting", { cycle_id = c.id, actor_id = actor.id })
    local fresh = M.get(c.id)
    if fresh.phase == "draft" then errors.conflict("No workflow took this cycle out of its draft.") end
    return fresh
  end)
end

--- Moves a running cycle to another phase (e.g. closes it), as its workflow allows.
function M.transition(actor, id, to, req)
  local c = M.require(id)
  return db.transaction(function()
    events.fire("feedback_cycle.moving", { cycle_id = c.id, to = to, actor_id = actor.id })
    if M.get(c.id).phase == c.phase then errors.conflict("No workflow moved this cycle.") end
    audit.record{ action = "feedback_cycle.transition", actor = actor, req = req, target_type = "feedback_cycle",
      target_id = c.id, target_label = c.name, details = { from = c.phase, to = to } }
    return M.get(c.id)
  end)
end

-- ------------------------------------------------------------------ overview

M.OVERVIEW_SORTS = { name = "u.name COLLATE FOLD", department = "u.department COLLATE FOLD",
  manager = "m.name COLLATE FOLD", nominated = "nominated", approved = "approved", written = "written",
  declined = "declined" }

local SUBJECT_COLS = [[s.id, s.reviewee_id, s.manager_id, s.nominations_done_at, s.approved_at, s.released_at,
    u.name, u.email, u.job_title, u.department, u.location, m.name AS manager_name]]
local SUBJECT_FROM = [[
  FROM feedback_subjects s JOIN users u ON u.id = s.reviewee_id LEFT JOIN users m ON m.id = s.manager_id ]]
local COUNTS_SQL = [[
  SELECT ]] .. SUBJECT_COLS .. [[,
    coalesce(k.nominated, 0) AS nominated, coalesce(k.approved, 0) AS approved, coalesce(k.written, 0) AS written,
    coalesce(k.declined, 0) AS declined, coalesce(k.proposed, 0) AS proposed, count(*) OVER () AS matching
  ]] .. SUBJECT_FROM .. [[
  LEFT JOIN feedback_reviewer_counts k ON k.subject_id = s.id ]]

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
    rows = db.query(("SELECT " .. SUBJECT_COLS .. SUBJECT_FROM .. "WHERE %s ORDER BY %s %s, u.name COLLATE FOLD, s.id "
      .. "LIMIT ? OFFSET ?"):format(where_sql, M.OVERVIEW_SORTS[p.sort], p.order), table.unpack(a))
    local ids = {}
    for i, r in ipairs(rows) do ids[i] = r.id end
    local counts = {}
    if #ids > 0 then
      for _, k in ipairs(db.query([[SELECT * FROM feedback_reviewer_counts
          WHERE subject_id IN (SELECT value FROM json_each(?))]], json.encode(ids))) do
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
    local a = { c.id, table.unpack(args) }
    a[#a + 1], a[#a + 2] = p.per_page, p.offset
    rows = db.query((COUNTS_SQL .. "WHERE %s ORDER BY %s %s, u.name COLLATE FOLD, s.id LIMIT ? OFFSET ?")
      :format(table.concat(where, " AND "), M.OVERVIEW_SORTS[p.sort], p.order), table.unpack(a))
    matching = rows[1] and rows[1].matching or 0
    if not rows[1] and p.page > 1 then
      matching = db.value(("SELECT count(*) FROM (" .. COUNTS_SQL .. "WHERE %s)"):format(table.concat(where, " AND ")),
        c.id, table.unpack(args))
    end
  end
  -- totals from the counts the triggers keep (a few rows whatever the size of the cycle)
  local totals = db.row([[SELECT sum(n) AS requests, sum(n * (status = 'proposed')) AS proposed,
      sum(n * (status = 'approved')) AS approved, sum(n * (status = 'declined')) AS declined,
      sum(n * (status = 'approved' AND feedback_status = 'shared')) AS written,
      sum(n * (status = 'approved' AND feedback_status = 'draft')) AS drafts
    FROM feedback_request_counts WHERE cycle_id = ? AND peer]], c.id)
  local subj = db.row([[SELECT sum(n) AS reviewees, sum(n * approved) AS approved,
      sum(n * (nominations_done OR approved)) AS nominated, sum(n * released) AS released_early
    FROM feedback_subject_counts WHERE cycle_id = ?]], c.id)
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
  local kind = workflows.kind_of("feedback_360")
  local wf = workflows
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
  local base = accounts.base_url()
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

local remind = reminders.for_kind{ targets = function(...) return M.reminder_targets(...) end,
  vars = function(c, t, note, sender)
    return { cycle = c.name, what = t.what, due = t.due and util.human_date(t.due) or nil, message = note,
      sender = sender, link = t.link }
  end,
  template = "feedback_360.reminder", related_type = "feedback_cycle", key = "feedback-reminder",
  audit_prefix = "feedback_cycle", event_area = "feedback_cycle" }

--- The exact mail the first person would get, and how many would get one.
M.reminder_preview = remind.preview
--- Sends the reminders (one per person, part and day at most). Returns how many were queued.
M.send_reminders = remind.send

function M.init(app)
  M.app = app
end

return M
