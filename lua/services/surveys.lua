-- Pulse surveys: a survey (questions on a 1-5 or 1-10 scale, an optional comment question, who
-- takes part, when it starts, how often it runs and how long a round stays open), its rounds, the
-- anonymous responses and the invitations that drive reminders and to-dos.
--
-- Who may do what (policies/README.md "Pulse surveys, decided"):
--   create: HR Admins and HR Assistants (surveys.create);
--   view, edit, share, export: HR Admins every survey, the creator theirs (surveys.manage, part
--   author: counted only while the creator may still create surveys);
--   delete: HR Admins (surveys.delete);
--   read the results shared with them: the people named (surveys.read_shared, part named) and,
--   when shared with managers, each manager for their team's slice (part recipient);
--   answer: the people invited to an open round, once (surveys.answer, part participant).
-- A survey someone may not see is a 404, as one that does not exist.
--
-- Anonymity: a response has no user id and no time (its round only) and a random id; the
-- invitation holds a flag. No API answer, page or export names who answered what; results show
-- only groups at or above the threshold (services/survey_results.lua). Comments are sealed with
-- lib/crypt, bound to their row.
--
-- Life cycle: draft -> scheduled (launched; the first round opens on starts_on) -> running (rounds
-- open and close by the clock: services/survey_timeline.lua) -> ended (the last round of a "once"
-- survey closed, or HR ended it early). Events (docs/events.md): survey.created / updated /
-- launched / ended / deleted / people_added / people_removed / shared, survey_round.opened / invited / closed.
local clock = require "core.clock"
local crypto = require "core.crypto"
local db = require "lib.db"
local pacing = require "lib.pacing"
local crypt = require "lib.crypt"
local errors = require "lib.errors"
local events = require "lib.events"
local json = require "lib.json"
local memo = require "lib.memo"
local schema = require "lib.schema"
local util = require "lib.util"
local dates = require "lib.dates"
local access = require "services.access"
local audit = require "services.audit"
local settings = require "services.settings"

local M = {}

crypt.register{ table = "survey_responses", column = "comment_enc", key = { "id" } }

M.DEFAULT_TITLE = "Monthly Pulse Survey"
M.FREQUENCIES = { "once", "weekly", "biweekly", "monthly" }
M.FREQUENCY_LABELS = { once = "Once", weekly = "Every week", biweekly = "Every two weeks", monthly = "Every month" }
-- the longest a round may stay open: until the next one opens
M.MAX_ROUND_DAYS = { once = 28, weekly = 7, biweekly = 14, monthly = 28 }
M.PHASES = { "draft", "scheduled", "running", "ended" }
M.PHASE_LABELS = { draft = "Draft", scheduled = "Scheduled", running = "Running", ended = "Ended" }
M.SCALES = { 5, 10 }
M.QUESTIONS_MAX = 10
M.COMMENT_MAX = 2000
M.THRESHOLD_MAX = 10

--- The company's anonymity threshold (3-10; a survey may raise it, never lower it).
function M.company_threshold() return settings.get("surveys.default_threshold") end

--- Sets the company's threshold (surveys.settings: HR Admins); 422 outside 3-10. Audited as
--- settings.surveys. Returns the value.
function M.set_company_threshold(actor, value, req)
  if not access.can(actor, "surveys.settings") then
    errors.forbidden("The company's anonymity threshold is set by HR Admins.")
  end
  local before = M.company_threshold()
  local n = math.tointeger(tonumber(value))
  if not n or n < 3 or n > M.THRESHOLD_MAX then
    errors.invalid({ default_threshold = "Give a whole number from 3 to 10." }, "The threshold was not saved.")
  end
  return db.transaction(function()
    settings.set("surveys.default_threshold", n, actor.id)
    if n ~= before then
      audit.record{ action = "settings.surveys", actor = actor, req = req,
        details = { default_threshold = { from = before, to = n } } }
    end
    return n
  end)
end

local function today() return dates.today() end

local add_days = util.add_days

--- The date the next round opens after one opened on date (nil for "once"). Monthly keeps the
--- day of the month, or the month's last day when it is shorter.
M.step = util.step_date

--- The last day to answer a round that opens on date.
function M.closes_on(date, round_days) return add_days(date, round_days - 1) end

-- ------------------------------------------------------------------ reading

local function decode(s)
  if not s then return nil end
  s.questions = json.decode(s.questions) or {}
  s.share_managers = s.share_managers == 1
  return s
end

--- The threshold results of survey s apply: its own, or the company's when that was raised since.
function M.threshold_of(s) return math.max(s.threshold, M.company_threshold()) end

local function row(id)
  id = math.tointeger(tonumber(id))
  return id and decode(db.row("SELECT * FROM surveys WHERE id = ?", id)) or nil
end

local function impersonating(req) return req and req.session and req.session.impersonator end

--- Whether actor counts as the author of survey s: they created it and may still create surveys.
local function is_author(actor, s)
  return s.creator_id == actor.id and access.can(actor, "surveys.create") or false
end

--- Whether actor may view, edit, share and export survey s (surveys.manage).
function M.can_manage(actor, s)
  return (access.can(actor, "surveys.manage", { rel = { author = is_author(actor, s) } }))
end

-- Whether actor manages anyone who takes part in survey s (one query).
local function manages_participant(actor, s)
  local sql = s.participants == "everyone"
    and "SELECT 1 FROM users WHERE manager_id = ? AND kind = 'employee' LIMIT 1"
    or "SELECT 1 FROM users u JOIN survey_people p ON p.user_id = u.id AND p.survey_id = ? WHERE u.manager_id = ? LIMIT 1"
  if s.participants == "everyone" then return db.value(sql, actor.id) == 1 end
  return db.value(sql, s.id, actor.id) == 1
end

--- How actor may read survey s's results: "all" (HR Admins, the author, people it was shared with
--- by name), "team" (a manager, when it was shared with managers: their team's slice), or nil.
function M.reader(actor, s)
  if M.can_manage(actor, s) then return "all" end
  local named = db.value("SELECT 1 FROM survey_shares WHERE survey_id = ? AND user_id = ?", s.id, actor.id) == 1
  if named and access.can(actor, "surveys.read_shared", { rel = { named = true } }) then return "all" end
  if s.share_managers and manages_participant(actor, s)
      and access.can(actor, "surveys.read_shared", { rel = { recipient = true } }) then
    return "team"
  end
  return nil
end

--- The survey at id for actor, with .reader ("all" | "team") and .can = { manage, delete }, or a
--- 404 when they may not see it.
function M.get(actor, id)
  local s = row(id)
  local reader = s and M.reader(actor, s)
  if not reader then errors.not_found("There is no such survey.") end
  s.reader = reader
  s.can = { manage = reader == "all" and M.can_manage(actor, s), delete = access.can(actor, "surveys.delete") }
  return s
end

-- The survey for a change by actor (surveys.manage), or a 404 when they may not see it at all and
-- a 403 when they may only read it.
local function for_change(actor, id)
  local s = M.get(actor, id)
  if not s.can.manage then errors.forbidden("Only HR Admins and the survey's creator change it.") end
  return s
end

-- Invited and responded per closed round of a survey: a closed round's invitations change only when
-- a person is deleted (users) or the round goes (survey_rounds), answers go to open rounds only.
local closed_counts = memo.new({ "survey_rounds", "users" }, 256)

local function count_invitations(survey_id, status)
  local counts = {}
  for _, r in ipairs(db.query([[SELECT i.round_id, count(*) AS invited, sum(i.responded) AS responded
      FROM survey_rounds r JOIN survey_invitations i ON i.round_id = r.id WHERE r.survey_id = ? AND r.status = ?
      GROUP BY i.round_id]], survey_id, status)) do
    counts[r.round_id] = r
  end
  return counts
end

--- The rounds of survey id, newest first, each with invited and responded counts. Three queries;
--- the closed rounds' counts are kept.
function M.rounds(survey_id)
  local rounds = db.query("SELECT * FROM survey_rounds WHERE survey_id = ? ORDER BY seq DESC", survey_id)
  local counts = closed_counts:fetch(survey_id, count_invitations, "closed")
  if rounds[1] and rounds[1].status == "open" then
    local open = count_invitations(survey_id, "open")[rounds[1].id]
    if open then counts = setmetatable({ [rounds[1].id] = open }, { __index = counts }) end
  end
  for _, r in ipairs(rounds) do
    local c = counts[r.id] or {}
    r.invited, r.responded = c.invited or 0, c.responded or 0
    r.rate = r.invited > 0 and math.floor(r.responded * 100 / r.invited + 0.5) or 0
  end
  return rounds
end

--- An SQL condition: person u (users alias) takes part in survey s (surveys alias).
M.PARTICIPANT_SQL = [[u.kind = 'employee' AND u.status = 'active' AND (s.participants = 'everyone'
  OR EXISTS (SELECT 1 FROM survey_people p WHERE p.survey_id = s.id AND p.user_id = u.id))]]

--- How many take part in survey id now (one query).
function M.count_people(id)
  return db.value(("SELECT count(*) FROM users u, surveys s WHERE s.id = ? AND %s"):format(M.PARTICIPANT_SQL), id)
end

--- The first limit (default 12) selected people of survey id by name: { id, name, email, job_title,
--- department, status }, and how many are selected in all (one query).
function M.people(id, limit)
  local rows = db.query([[SELECT u.id, u.name, u.email, u.job_title, u.department, u.status,
      count(*) OVER () AS total FROM survey_people p
    JOIN users u ON u.id = p.user_id WHERE p.survey_id = ? ORDER BY u.name COLLATE NOCASE, u.id LIMIT ?]], id,
    limit or 12)
  return rows, rows[1] and rows[1].total or 0
end

--- The people the results are shared with by name (one query).
function M.shares(id)
  return db.query([[SELECT u.id, u.name, u.job_title FROM survey_shares h JOIN users u ON u.id = h.user_id
    WHERE h.survey_id = ? ORDER BY u.name COLLATE NOCASE, u.id]], id)
end

-- Adds .round (the open round or the latest), .rounds_count and .people to each survey of list.
-- Three queries whatever the length.
local function with_counts(list)
  if #list == 0 then return list end
  local ids = {}
  for i, s in ipairs(list) do ids[i] = s.id end
  local idj = json.encode(ids)
  local latest, counts = {}, {}
  for _, r in ipairs(db.query([[SELECT r.*, (SELECT count(*) FROM survey_rounds x WHERE x.survey_id = r.survey_id) AS n
      FROM survey_rounds r WHERE r.survey_id IN (SELECT value FROM json_each(?))
      AND r.seq = (SELECT max(seq) FROM survey_rounds x WHERE x.survey_id = r.survey_id)]], idj)) do
    latest[r.survey_id] = r
  end
  for _, r in ipairs(db.query(([[SELECT s.id, count(u.id) AS n FROM surveys s JOIN users u ON %s
      WHERE s.id IN (SELECT value FROM json_each(?)) GROUP BY s.id]]):format(M.PARTICIPANT_SQL), idj)) do
    counts[r.id] = r.n
  end
  for _, s in ipairs(list) do
    s.round = latest[s.id]
    s.rounds_count = s.round and s.round.n or 0
    s.people = counts[s.id] or 0
  end
  return list
end

--- The surveys actor sees on the list: { managed = (every survey for HR Admins, their own for HR
--- Assistants), shared = (results shared with them; both with creator_name), to_answer = (open rounds they have not
--- answered) }. A constant number of queries.
function M.list(actor)
  local managed, shared = {}, {}
  local all = access.can(actor, "surveys.manage")
  local creates = access.can(actor, "surveys.create")
  local rows
  if all then
    rows = db.query([[SELECT s.*, u.name AS creator_name FROM surveys s LEFT JOIN users u ON u.id = s.creator_id
      ORDER BY s.created_at DESC, s.id DESC]])
  elseif creates then
    rows = db.query([[SELECT s.*, u.name AS creator_name FROM surveys s LEFT JOIN users u ON u.id = s.creator_id
      WHERE s.creator_id = ? ORDER BY s.created_at DESC, s.id DESC]], actor.id)
  else
    rows = {}
  end
  local seen = {}
  for _, s in ipairs(rows) do
    decode(s)
    seen[s.id] = true
    managed[#managed + 1] = s
  end
  -- shared by name, or with managers when actor manages someone who takes part: the facts come
  -- from one query, the evaluator decides on them (no query per survey)
  for _, s in ipairs(db.query(([[SELECT s.*, c.name AS creator_name,
        EXISTS (SELECT 1 FROM survey_shares h WHERE h.survey_id = s.id AND h.user_id = ?1) AS named,
        (s.share_managers = 1 AND EXISTS (SELECT 1 FROM users u WHERE u.manager_id = ?1 AND %s)) AS team
      FROM surveys s LEFT JOIN users c ON c.id = s.creator_id WHERE s.phase <> 'draft' ORDER BY s.created_at DESC, s.id DESC]]):format(M.PARTICIPANT_SQL),
      actor.id)) do
    if not seen[s.id] and (s.named == 1 or s.team == 1) and access.can(actor, "surveys.read_shared",
        { rel = { named = s.named == 1, recipient = s.team == 1 } }) then
      s.named, s.team = nil, nil
      shared[#shared + 1] = decode(s)
    end
  end
  with_counts(managed)
  with_counts(shared)
  for _, s in ipairs(managed) do s.mine = s.creator_id == actor.id end
  return { managed = managed, shared = shared, to_answer = M.to_answer(actor), all = all, can_create = creates }
end

--- The open rounds actor was invited to and has not answered: { round_id, survey_id, title,
--- closes_on } soonest first (one query).
function M.to_answer(actor)
  return db.query([[SELECT r.id AS round_id, r.survey_id, s.title, r.opens_on, r.closes_on FROM survey_invitations i
    JOIN survey_rounds r ON r.id = i.round_id JOIN surveys s ON s.id = r.survey_id
    WHERE i.user_id = ? AND i.responded = 0 AND r.status = 'open' ORDER BY r.closes_on, r.id]], actor.id)
end

--- Whether actor has anything under Surveys: they create surveys, or have one to answer or read
--- (one query at most).
function M.has_any(actor)
  if access.can(actor, "surveys.create") then return true end
  return db.value(([[SELECT 1 WHERE EXISTS (SELECT 1 FROM survey_invitations i JOIN survey_rounds r ON r.id = i.round_id
      WHERE i.user_id = ?1 AND r.status = 'open')
    OR EXISTS (SELECT 1 FROM survey_shares h JOIN surveys s ON s.id = h.survey_id WHERE h.user_id = ?1 AND s.phase <> 'draft')
    OR EXISTS (SELECT 1 FROM surveys s JOIN users u ON u.manager_id = ?1 WHERE s.share_managers = 1
      AND s.phase <> 'draft' AND %s)]]):format(M.PARTICIPANT_SQL), actor.id) == 1
end

-- ------------------------------------------------------------------ writing

local LABEL = schema.text{ max = 40, label = "A scale label", description = "The words at one end of the scale." }

M.QUESTION = schema.record{ title = "A question", fields = {
  { text = schema.text{ required = true, max = 300, label = "The question", description = "What people rate." } },
  { scale = { type = "integer", one_of = M.SCALES, default = 5, label = "The scale",
    description = "5 (answers 1-5) or 10 (answers 1-10)." } },
  { low = LABEL }, { high = LABEL },
} }

--- The body of "create / edit a survey".
M.SCHEMA = schema.record{ strict = false, fields = {
  { title = schema.text{ max = 120, label = "The title", description = "Default \"Monthly Pulse Survey\"." } },
  { intro = schema.text{ max = 2000, multiline = true, label = "The introduction",
    description = "What the invitation mail and the answer page say first." } },
  { participants = { type = "string", one_of = { "everyone", "selected" }, label = "Participants",
    description = "everyone (every active employee, new hires included) or selected (the people in people_ids)." } },
  { people_ids = { type = "array", elements = { type = "integer" }, unique = true, len_max = 100000,
    label = "The people", description = "With participants = selected: who takes part (more can be added later)." } },
  { starts_on = schema.date{ label = "The start", description = "The day the first round opens (today or later)." } },
  { frequency = { type = "string", one_of = M.FREQUENCIES, label = "How often",
    description = "once, weekly, biweekly or monthly: when the next round opens." } },
  { round_days = { type = "integer", between = { 1, 28 }, label = "Days to answer",
    description = "How many days a round stays open (at most until the next one: 7 weekly, 14 every two weeks, 28)." } },
  { questions = { type = "array", elements = M.QUESTION, len_min = 1, len_max = M.QUESTIONS_MAX, label = "The questions",
    description = "1 to 10 questions answered on a scale." } },
  { comment_question = schema.text{ max = 300, label = "The comment question",
    description = "An optional free-text question (answers are confidential and shown only above the threshold)." } },
  { threshold = { type = "integer", between = { 3, M.THRESHOLD_MAX }, label = "The anonymity threshold",
    description = "The fewest answers a score, comment or group is shown for: the company's (default 5) or more." } },
} }

local FIELDS = { "title", "intro", "participants", "starts_on", "frequency", "round_days", "questions",
  "comment_question", "threshold" }
-- what stays editable once a round has opened (the rest would make rounds incomparable)
local LATER = { title = true, intro = true, threshold = true }

local function read_input(input)
  local r, errs = schema.validate(M.SCHEMA, input or {}, { coerce = true, messages = schema.SENTENCES, partial = true })
  return r or {}, schema.by_field(errs)
end

-- The survey's fields after this change (current: the survey, for an edit); problems go to fields.
local function merged(r, input, current, fields)
  local v = {}
  for _, k in ipairs(FIELDS) do
    if input[k] ~= nil then
      if current and current.phase ~= "draft" and current.phase ~= "scheduled" and not LATER[k]
          and json.encode(r[k]) ~= json.encode(current[k]) then
        fields[k] = fields[k] or "This cannot change once a round has opened: answers would no longer compare."
      end
      v[k] = r[k]
    elseif current then
      v[k] = current[k]
    end
  end
  v.title = v.title or M.DEFAULT_TITLE
  v.intro = v.intro or ""
  v.participants = v.participants or "everyone"
  v.frequency = v.frequency or "monthly"
  v.round_days = v.round_days or 5
  v.threshold = v.threshold or M.company_threshold()
  if not v.starts_on and not fields.starts_on then fields.starts_on = "The start is required." end
  if not v.questions and not fields.questions then fields.questions = "Add at least one question." end
  if v.starts_on and input.starts_on ~= nil and v.starts_on < today() and not fields.starts_on then
    fields.starts_on = "The start is in the past: pick today or a later day."
  end
  if v.round_days > M.MAX_ROUND_DAYS[v.frequency] and not fields.round_days then
    fields.round_days = ("A round stays open at most %d days when the survey runs %s."):format(
      M.MAX_ROUND_DAYS[v.frequency], M.FREQUENCY_LABELS[v.frequency]:lower())
  end
  local floor = M.company_threshold()
  if v.threshold < floor and not fields.threshold then
    fields.threshold = ("The company's threshold is %d: a survey may raise it, not lower it."):format(floor)
  end
  return v
end

-- The active employees among ids: the list of those that are not, as a message, or nil.
local function check_people(ids, field, fields)
  if not ids or #ids == 0 then return end
  local ok = {}
  for _, id in ipairs(db.column([[SELECT id FROM users WHERE id IN (SELECT value FROM json_each(?))
      AND kind = 'employee' AND status = 'active']], json.encode(ids))) do
    ok[id] = true
  end
  local bad = {}
  for _, id in ipairs(ids) do if not ok[id] then bad[#bad + 1] = tostring(id) end end
  if #bad > 0 then fields[field] = "Not an active employee: " .. table.concat(bad, ", ") .. "." end
end

--- The ids of the people whose emails text lists (separated by commas, spaces or lines): every
--- one must be an active employee, else a 422 on field naming the others. One query.
function M.ids_of_emails(text, field)
  local emails, seen = {}, {}
  for e in tostring(text or ""):gmatch("[^%s,;]+") do
    local l = util.lower(e)
    if not seen[l] then seen[l] = true; emails[#emails + 1] = l end
  end
  if #emails == 0 then return {} end
  local found = {}
  for _, u in ipairs(db.query([[SELECT id, lower(email) AS email FROM users WHERE lower(email) IN
      (SELECT value FROM json_each(?)) AND kind = 'employee' AND status = 'active']], json.encode(emails))) do
    found[u.email] = u.id
  end
  local ids, bad = {}, {}
  for _, e in ipairs(emails) do
    if found[e] then ids[#ids + 1] = found[e] else bad[#bad + 1] = e end
  end
  if #bad > 0 then
    errors.invalid({ [field or "people"] = "No active colleague has the email " .. table.concat(bad, ", ") .. "." },
      "Some emails are not of active colleagues.")
  end
  return ids
end

local function require_create(actor)
  if not access.can(actor, "surveys.create") then
    errors.forbidden("Pulse surveys are created by HR Admins and HR Assistants.")
  end
end

--- Creates a draft survey: input as M.SCHEMA (starts_on and questions required). Returns it.
function M.create(actor, input, req)
  require_create(actor)
  input = input or {}
  local r, fields = read_input(input)
  local v = merged(r, input, nil, fields)
  if v.participants == "selected" then
    if not r.people_ids or #r.people_ids == 0 then
      fields.people_ids = fields.people_ids or "Pick the people who take part, or choose everyone."
    end
    check_people(r.people_ids, "people_ids", fields)
  end
  if next(fields) then errors.invalid(fields, "The survey was not created: some fields need attention.") end
  local now = clock.now()
  return db.transaction(function()
    local id = db.insert([[INSERT INTO surveys(creator_id, title, intro, participants, starts_on, frequency, round_days,
        questions, comment_question, threshold, created_at, updated_at) VALUES(?,?,?,?,?,?,?,?,?,?,?,?)]],
      actor.id, v.title, v.intro, v.participants, v.starts_on, v.frequency, v.round_days, json.encode(v.questions),
      v.comment_question, v.threshold, now, now)
    if v.participants == "selected" then
      db.exec([[INSERT INTO survey_people(survey_id, user_id) SELECT ?, value FROM json_each(?)]], id,
        json.encode(r.people_ids))
    end
    audit.record{ action = "survey.create", actor = actor, req = req, target_type = "survey", target_id = id,
      target_label = v.title }
    events.fire("survey.created", { survey_id = id, actor_id = actor.id })
    return M.get(actor, id)
  end)
end

--- Edits a survey (any field of M.SCHEMA but people_ids; once a round opened only title, intro and
--- threshold). Returns it.
function M.update(actor, id, input, req)
  local s = for_change(actor, id)
  input = input or {}
  if input.people_ids ~= nil then
    errors.invalid({ people_ids = "Add people with POST /api/surveys/{id}/people." })
  end
  local r, fields = read_input(input)
  local v = merged(r, input, s, fields)
  if s.phase == "ended" then errors.conflict("The survey has ended: it can no longer change.") end
  if v.participants == "selected" and s.participants == "everyone" and s.phase ~= "draft" then
    fields.participants = "A running survey asks everyone; it cannot narrow down to selected people."
  end
  if next(fields) then errors.invalid(fields, "The survey was not saved: some fields need attention.") end
  return db.transaction(function()
    db.exec([[UPDATE surveys SET title = ?, intro = ?, participants = ?, starts_on = ?, frequency = ?, round_days = ?,
        questions = ?, comment_question = ?, threshold = ?, updated_at = ?,
        next_opens_on = CASE WHEN phase = 'scheduled' THEN ? ELSE next_opens_on END WHERE id = ?]],
      v.title, v.intro, v.participants, v.starts_on, v.frequency, v.round_days, json.encode(v.questions),
      v.comment_question, v.threshold, clock.now(), v.starts_on, s.id)
    local changed = {}
    for _, k in ipairs(FIELDS) do
      if json.encode(v[k]) ~= json.encode(s[k]) then changed[#changed + 1] = k end
    end
    if #changed > 0 then
      audit.record{ action = "survey.update", actor = actor, req = req, target_type = "survey", target_id = s.id,
        target_label = v.title, details = { fields = changed } }
      events.fire("survey.updated", { survey_id = s.id, fields = changed, actor_id = actor.id })
    end
    return M.get(actor, s.id)
  end)
end

--- Launches a draft: the first round opens on starts_on (which must be today or later).
function M.launch(actor, id, req)
  local s = for_change(actor, id)
  if s.phase ~= "draft" then errors.conflict("The survey is launched already.") end
  if s.starts_on < today() then
    errors.invalid({ starts_on = "The start is in the past: pick today or a later day, then launch." },
      "The start is in the past.")
  end
  if M.count_people(s.id) == 0 then errors.invalid({ people_ids = "Nobody takes part yet." }, "Nobody takes part yet.") end
  return db.transaction(function()
    db.exec("UPDATE surveys SET phase = 'scheduled', next_opens_on = starts_on, updated_at = ? WHERE id = ?",
      clock.now(), s.id)
    audit.record{ action = "survey.launch", actor = actor, req = req, target_type = "survey", target_id = s.id,
      target_label = s.title }
    events.fire("survey.launched", { survey_id = s.id, starts_on = s.starts_on, actor_id = actor.id })
    return M.get(actor, s.id)
  end)
end

-- Closes round r (a survey_rounds row) of survey s now; ends the survey when no round follows.
local function close_round(s, r, actor_id, last_day)
  db.exec("UPDATE survey_rounds SET status = 'closed', closes_on = ? WHERE id = ?", last_day or r.closes_on, r.id)
  events.fire("survey_round.closed", { survey_id = s.id, round_id = r.id, seq = r.seq, actor_id = actor_id })
end

local function finish(s, actor_id)
  db.exec("UPDATE surveys SET phase = 'ended', next_opens_on = NULL, ended_at = ?, ended_by = ?, updated_at = ? WHERE id = ?",
    clock.now(), actor_id, clock.now(), s.id)
  events.fire("survey.ended", { survey_id = s.id, actor_id = actor_id })
end

--- Ends a launched survey early: the open round closes today, no other opens. Answers stay.
function M.finish(actor, id, req)
  local s = for_change(actor, id)
  if s.phase == "draft" then errors.conflict("A draft has not started: delete it instead.") end
  if s.phase == "ended" then errors.conflict("The survey has ended already.") end
  return db.transaction(function()
    local r = db.row("SELECT * FROM survey_rounds WHERE survey_id = ? AND status = 'open'", s.id)
    if r then close_round(s, r, actor.id, today() < r.closes_on and today() or r.closes_on) end
    finish(s, actor.id)
    audit.record{ action = "survey.end", actor = actor, req = req, target_type = "survey", target_id = s.id,
      target_label = s.title }
    return M.get(actor, s.id)
  end)
end

--- Deletes a survey with every round and answer (HR Admins; confirm must be true).
function M.delete(actor, id, confirm, req)
  local s = M.get(actor, id)
  if not access.can(actor, "surveys.delete") then
    errors.forbidden("Only HR Admins delete surveys: it deletes every answer in it.")
  end
  if confirm ~= true then
    errors.invalid({ confirm = "Tick the box to confirm: every round and answer is deleted." },
      "Confirm the deletion.")
  end
  return db.transaction(function()
    local n = db.value([[SELECT count(*) FROM survey_responses WHERE round_id IN
      (SELECT id FROM survey_rounds WHERE survey_id = ?)]], s.id)
    db.exec("DELETE FROM surveys WHERE id = ?", s.id)
    audit.record{ action = "survey.delete", actor = actor, req = req, target_type = "survey", target_id = s.id,
      target_label = s.title, details = { responses = n } }
    events.fire("survey.deleted", { survey_id = s.id, actor_id = actor.id })
    return n
  end)
end

--- Adds people to a survey of selected participants (ids of active employees). When a round is
--- open they are invited to it at once. Returns how many were new.
function M.add_people(actor, id, ids, req)
  local s = for_change(actor, id)
  if s.participants ~= "selected" then errors.conflict("Everyone takes part in this survey already.") end
  if s.phase == "ended" then errors.conflict("The survey has ended.") end
  local r, errs = schema.validate({ type = "array", elements = { type = "integer" }, len_min = 1, unique = true,
    len_max = 100000, label = "The people" }, ids, { coerce = true, messages = schema.SENTENCES })
  if not r then errors.invalid({ people_ids = errs and errs[1].message or "Pick at least one person." }) end
  local fields = {}
  check_people(r, "people_ids", fields)
  if next(fields) then errors.invalid(fields, "Nobody was added: some people cannot take part.") end
  return db.transaction(function()
    local new = db.column([[SELECT value FROM json_each(?) WHERE value NOT IN
      (SELECT user_id FROM survey_people WHERE survey_id = ?)]], json.encode(r), s.id)
    if #new == 0 then return 0 end
    local newj = json.encode(new)
    db.exec("INSERT INTO survey_people(survey_id, user_id) SELECT ?, value FROM json_each(?)", s.id, newj)
    local open = db.row("SELECT id, seq FROM survey_rounds WHERE survey_id = ? AND status = 'open'", s.id)
    if open then
      db.exec([[INSERT OR IGNORE INTO survey_invitations(round_id, user_id) SELECT ?, value FROM json_each(?)]], open.id, newj)
    end
    audit.record{ action = "survey.add_people", actor = actor, req = req, target_type = "survey", target_id = s.id,
      target_label = s.title, details = { added = #new } }
    events.fire("survey.people_added", { survey_id = s.id, user_ids = new, actor_id = actor.id })
    if open then
      events.fire("survey_round.invited", { survey_id = s.id, round_id = open.id, user_ids = new })
    end
    return #new
  end)
end

--- Takes people off a survey of selected participants: they are asked in no later round, and an
--- invitation of the open round they have not answered goes (one they answered stays: the answer
--- is anonymous and counts). The last person cannot go: end the survey instead. Ids of people who
--- do not take part are refused, nothing changes. Returns how many were taken off.
function M.remove_people(actor, id, ids, req)
  local s = for_change(actor, id)
  if s.participants ~= "selected" then
    errors.conflict("Everyone takes part in this survey: choose selected people to take anyone off.")
  end
  if s.phase == "ended" then errors.conflict("The survey has ended.") end
  local r, errs = schema.validate({ type = "array", elements = { type = "integer" }, len_min = 1, unique = true,
    len_max = 100000, label = "The people" }, ids, { coerce = true, messages = schema.SENTENCES })
  if not r then errors.invalid({ people_ids = errs and errs[1].message or "Pick at least one person." }) end
  return db.transaction(function()
    local rj = json.encode(r)
    local outside = db.query([[SELECT j.value AS id, u.name FROM json_each(?) j LEFT JOIN users u ON u.id = j.value
      WHERE j.value NOT IN (SELECT user_id FROM survey_people WHERE survey_id = ?) ORDER BY u.name LIMIT 6]], rj, s.id)
    if #outside > 0 then
      local names = util.map(outside, function(u) return u.name or ("#" .. u.id) end)
      errors.invalid({ people_ids = ("%s %s not take part in this survey."):format(
        table.concat(names, ", ", 1, math.min(#names, 5)) .. (#names > 5 and " and others" or ""),
        #names == 1 and "does" or "do") }, "Nobody was taken off.")
    end
    if db.value("SELECT count(*) FROM survey_people WHERE survey_id = ?", s.id) <= #r then
      errors.conflict("A survey needs at least one person taking part. End the survey instead.")
    end
    db.exec("DELETE FROM survey_people WHERE survey_id = ? AND user_id IN (SELECT value FROM json_each(?))", s.id, rj)
    local open = db.value("SELECT id FROM survey_rounds WHERE survey_id = ? AND status = 'open'", s.id)
    if open then
      db.exec([[DELETE FROM survey_invitations WHERE round_id = ? AND responded = 0
        AND user_id IN (SELECT value FROM json_each(?))]], open, rj)
    end
    audit.record{ action = "survey.remove_people", actor = actor, req = req, target_type = "survey",
      target_id = s.id, target_label = s.title, details = { removed = #r } }
    events.fire("survey.people_removed", { survey_id = s.id, user_ids = r, actor_id = actor.id })
    return #r
  end)
end

--- Shares the results: { user_ids = [named people], managers = true|false } replaces what was
--- shared. Named people must be active employees. Returns the survey.
function M.share(actor, id, input, req)
  local s = for_change(actor, id)
  input = input or {}
  local r, errs = schema.validate(schema.record{ fields = {
    { user_ids = { type = "array", elements = { type = "integer" }, unique = true, len_max = 1000, default = {},
      label = "The people" } },
    { managers = { type = "boolean", default = false, label = "Managers" } },
  } }, input, { coerce = true, messages = schema.SENTENCES })
  if not r then errors.invalid(schema.by_field(errs), "Nothing was shared: some fields need attention.") end
  local fields = {}
  check_people(r.user_ids, "user_ids", fields)
  if next(fields) then errors.invalid(fields, "Nothing was shared: some people cannot read results.") end
  return db.transaction(function()
    local before = {}
    for _, uid in ipairs(db.column("SELECT user_id FROM survey_shares WHERE survey_id = ?", s.id)) do before[uid] = true end
    db.exec("DELETE FROM survey_shares WHERE survey_id = ?", s.id)
    local new = {}
    for _, uid in ipairs(r.user_ids) do
      db.exec("INSERT INTO survey_shares(survey_id, user_id, shared_by) VALUES(?,?,?)", s.id, uid, actor.id)
      if not before[uid] then new[#new + 1] = uid end
    end
    db.exec("UPDATE surveys SET share_managers = ?, updated_at = ? WHERE id = ?", r.managers and 1 or 0, clock.now(), s.id)
    local managers_now = r.managers and not s.share_managers
    audit.record{ action = "survey.share", actor = actor, req = req, target_type = "survey", target_id = s.id,
      target_label = s.title, details = { user_ids = r.user_ids, managers = r.managers } }
    events.fire("survey.shared", { survey_id = s.id, user_ids = new, managers = managers_now, actor_id = actor.id })
    return M.get(actor, s.id)
  end)
end

-- ------------------------------------------------------------------ rounds (the timeline's jobs)

--- Invitations written per statement when a round opens.
M.INVITE_PAGE = 500
--- Milliseconds of inviting per transaction when a round opens (see workflows.SLICE_MS).
M.SLICE_MS = 2.5

--- Opens the next round of survey id if it is due on date opens_on (the job's check). The round
--- is made in one transaction, its participants invited in slices by id (lib/db slices: 10,000
--- people never hold the loop long; someone not invited yet sees the round a moment later), and
--- the last slice moves the survey on and fires survey_round.opened and .invited. Cut short (a
--- crash), the job runs it again and it goes on with the round it made. Plans nothing itself
--- (the timeline hooks the events). Returns the round, or nil when nothing was due.
function M.open_round(id, opens_on)
  local rid = db.transaction(function()
    local s = row(id)
    if not s or (s.phase ~= "scheduled" and s.phase ~= "running") or s.next_opens_on ~= opens_on then return nil end
    local open = db.row("SELECT id, opens_on FROM survey_rounds WHERE survey_id = ? AND status = 'open'", s.id)
    -- an open round of this opening (made before the survey moved on) was cut short: go on with it
    if open then return open.opens_on >= opens_on and open.id or nil end
    local day = opens_on < today() and today() or opens_on -- late when the switch was off
    local seq = (db.value("SELECT max(seq) FROM survey_rounds WHERE survey_id = ?", s.id) or 0) + 1
    return db.insert("INSERT INTO survey_rounds(survey_id, seq, opens_on, closes_on) VALUES(?,?,?,?)",
      s.id, seq, day, M.closes_on(day, s.round_days))
  end)
  if not rid then return nil end
  local after, opened = db.value("SELECT max(user_id) FROM survey_invitations WHERE round_id = ?", rid) or 0, false
  db.slices(function()
    local s, r = row(id), db.row("SELECT * FROM survey_rounds WHERE id = ?", rid)
    if not s or not r or r.status ~= "open" or s.next_opens_on ~= opens_on then return false end
    local over = pacing.slice(M.SLICE_MS)
    repeat
      local ids = db.column(([[SELECT u.id FROM users u, surveys s WHERE s.id = ? AND %s AND u.id > ?
        ORDER BY u.id LIMIT ?]]):format(M.PARTICIPANT_SQL), s.id, after, M.INVITE_PAGE)
      if #ids > 0 then
        db.exec([[INSERT OR IGNORE INTO survey_invitations(round_id, user_id)
          SELECT ?, value FROM json_each(?)]], rid, json.encode(ids))
        after = ids[#ids]
      end
      if #ids < M.INVITE_PAGE then
        local invited = db.value("SELECT count(*) FROM survey_invitations WHERE round_id = ?", rid)
        local nxt = M.step(opens_on, s.frequency)
        while nxt and nxt <= r.closes_on do nxt = M.step(nxt, s.frequency) end
        db.exec("UPDATE surveys SET phase = 'running', next_opens_on = ?, updated_at = ? WHERE id = ?", nxt, clock.now(),
          s.id)
        events.fire("survey_round.opened", { survey_id = s.id, round_id = rid, seq = r.seq, opens_on = r.opens_on,
          closes_on = r.closes_on, invited = invited, next_opens_on = nxt })
        events.fire("survey_round.invited", { survey_id = s.id, round_id = rid })
        opened = true
        return false
      end
    until over()
    return true
  end)
  return opened and db.row("SELECT * FROM survey_rounds WHERE id = ?", rid) or nil
end

--- Closes round id when it is still open (the job's check); ends the survey when no round follows.
function M.close_round(round_id)
  local r = db.row("SELECT * FROM survey_rounds WHERE id = ?", round_id)
  if not r or r.status ~= "open" then return nil end
  local s = row(r.survey_id)
  close_round(s, r, nil)
  if not s.next_opens_on then finish(s, nil) end
  return r
end

-- ------------------------------------------------------------------ answering

--- The round at id for actor to answer: { round, survey (title, intro, questions,
--- comment_question), answered, open }, or a 404 when they were not invited.
function M.round_for(actor, id)
  id = math.tointeger(tonumber(id))
  local r = id and db.row("SELECT * FROM survey_rounds WHERE id = ?", id)
  local inv = r and db.row("SELECT responded FROM survey_invitations WHERE round_id = ? AND user_id = ?", r.id, actor.id)
  if not inv or not access.can(actor, "surveys.answer", { rel = { participant = true } }) then
    errors.not_found("There is no such survey round.")
  end
  local s = row(r.survey_id)
  return { round = r, survey = s, answered = inv.responded == 1, open = r.status == "open" }
end

--- Records actor's answers to round id: { answers = [score per question], comment? }. Once per
--- person; the response keeps no trace of who gave it (no user id, no time, a random id).
function M.answer(actor, id, input, req)
  local v = M.round_for(actor, id)
  if impersonating(req) then errors.forbidden("Nobody answers a survey in someone else's name.") end
  if not v.open then errors.conflict("This round has closed.") end
  if v.answered then errors.conflict("You have answered this round already; answers cannot change.") end
  input = input or {}
  local s = v.survey
  local answers, fields = {}, {}
  local given = type(input.answers) == "table" and input.answers or {}
  for i, q in ipairs(s.questions) do
    local a = math.tointeger(tonumber(given[i]))
    if not a or a < 1 or a > q.scale then
      fields["q" .. i] = ("Pick a score from 1 to %d."):format(q.scale)
    end
    answers[i] = a
  end
  local comment = type(input.comment) == "string" and util.trim(input.comment) or ""
  if not s.comment_question then comment = "" end
  if comment ~= "" then
    if not utf8.len(comment) then fields.comment = "The comment must be valid UTF-8 text."
    elseif util.len(comment) > M.COMMENT_MAX then
      fields.comment = ("The comment is %d characters long; at most %d."):format(util.len(comment), M.COMMENT_MAX)
    end
  end
  if next(fields) then errors.invalid(fields, "Your answers were not sent: some questions need an answer.") end
  return M.record(v.round.id, actor.id, answers, comment)
end

--- Stores one person's answers to open round round_id (checked by the caller) and marks their
--- invitation answered, in one transaction. The response keeps the round, the answers, the sealed
--- comment and the person's department, location and managers now: no user id, no time, a random
--- id. (Also used by the demo company for its past rounds.)
function M.record(round_id, user_id, answers, comment)
  local u = db.row("SELECT department, location FROM users WHERE id = ?", user_id)
  local managers = db.column([[WITH RECURSIVE up(id, depth) AS (
      SELECT manager_id, 1 FROM users WHERE id = ? AND manager_id IS NOT NULL
      UNION ALL SELECT u.manager_id, up.depth + 1 FROM users u JOIN up ON u.id = up.id
      WHERE u.manager_id IS NOT NULL AND up.depth < 64)
    SELECT id FROM up ORDER BY depth]], user_id)
  return db.transaction(function()
    -- a closed round's figures are kept (services/survey_results.lua): it never gets an answer
    if db.value("SELECT status FROM survey_rounds WHERE id = ?", round_id) ~= "open" then
      errors.conflict("This round has closed.")
    end
    local rid
    for _ = 1, 8 do -- a random id: the order of rows says nothing about the order of answers
      local candidate = (string.unpack("<I7", crypto.random(7)) >> 3) + 1 -- 53 random bits
      if not db.value("SELECT 1 FROM survey_responses WHERE id = ?", candidate) then rid = candidate break end
    end
    assert(rid, "no free response id")
    db.exec([[INSERT INTO survey_responses(id, round_id, answers, comment_enc, department, location, manager_ids)
        VALUES(?,?,?,?,?,?,?)]], rid, round_id, json.encode(answers),
      (comment and comment ~= "") and crypt.seal("survey_responses", "comment_enc", { rid }, comment) or nil,
      u.department, u.location, json.encode(managers))
    db.exec("UPDATE survey_invitations SET responded = 1 WHERE round_id = ? AND user_id = ?", round_id, user_id)
    return true
  end)
end

return M
