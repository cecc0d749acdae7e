-- 1:1 meetings: a series between two people, its meetings (upcoming, done, skipped; cancelled
-- when the series ends before one), and the talking points, notes and action items the two write
-- for them, each shared or private.
--
-- Who reads what (policies/README.md, docs/architecture.md "What HR can and cannot see"):
--   a series, its meetings and shared items: the two participants (one_on_ones.read, part
--   participant); nobody else, HR Admins and managers included;
--   a private item: its author only (one_on_ones.read_private, part author), not the other
--   participant; an impersonating super user never (they are not its author);
--   changing an item, or deleting it: its author (one_on_ones.edit_item).
-- Every text (the series' title, each item) is sealed with lib/crypt, bound to its row.
--
-- Carry-over: an item belongs to the meeting it was written for (from_seq). A talking point or
-- an action item shows in that meeting and every later one of the series until it is ticked in
-- one (done_seq), whether the meetings in between were held or skipped; notes stay with their
-- meeting. Nothing is copied: the meeting page reads what applies to it.
--
-- Events (docs/events.md): meeting_series.created / updated / ended, meeting.scheduled /
-- rescheduled / done / skipped, meeting_item.added / updated / deleted / ticked / unticked,
-- action_item.done / reopened. The nav, home panels, to-dos and the team page's columns are
-- routes/one_on_ones.lua's hooks.
local clock = require "core.clock"
local db = require "lib.db"
local crypt = require "lib.crypt"
local errors = require "lib.errors"
local events = require "lib.events"
local json = require "lib.json"
local schema = require "lib.schema"
local util = require "lib.util"
local dates = require "lib.dates"
local access = require "services.access"
local audit = require "services.audit"

local M = {}

crypt.register{ table = "meeting_series", column = "title_enc", key = { "id" } }
crypt.register{ table = "meeting_items", column = "text_enc", key = { "id" } }

M.CADENCES = { "none", "weekly", "biweekly", "monthly" }
M.CADENCE_LABELS = { none = "No fixed rhythm", weekly = "Every week", biweekly = "Every two weeks",
  monthly = "Every month" }
M.KINDS = { "point", "note", "action" }
M.KIND_LABELS = { point = "Talking point", note = "Note", action = "Action item" }
M.STATUS_LABELS = { upcoming = "Upcoming", done = "Done", skipped = "Skipped", cancelled = "Cancelled" }

M.TITLE_MAX = 120
M.TEXT_MAX = 4000
M.AHEAD_DAYS = 366 -- a meeting is planned at most a year ahead

-- ------------------------------------------------------------------ dates

local function today() return dates.today() end

-- A real calendar date "YYYY-MM-DD" (parse_date alone takes 2026-02-31), or nil.
local function real_date(s)
  local ts = type(s) == "string" and util.date_to_ts(s)
  if ts and util.format_date(ts) == s then return s end
  return nil
end

local add_days = util.add_days

--- The date one cadence step after date (nil for "none"). Monthly keeps the day of the month,
--- or the month's last day when it is shorter.
M.step = util.step_date

--- The next meeting's date after one on date: the first cadence step that is today or later.
function M.next_date(date, cadence)
  local d, now = M.step(date, cadence), today()
  if not d then return nil end
  while d < now do d = M.step(d, cadence) end
  return d
end

-- A date for a meeting: a real date, not in the past, at most AHEAD_DAYS ahead. Raises 422 on
-- field `field` otherwise; not_before: also not before that date (the previous meeting's).
local function check_meeting_date(value, field, not_before)
  local given = type(value) == "string" and util.trim(value) or ""
  if given == "" then errors.invalid({ [field] = "Choose the day of the meeting." }) end
  local d = real_date(given)
  if not d then errors.invalid({ [field] = "Give the date like 2026-03-31." }) end
  if d < today() then errors.invalid({ [field] = "The date is in the past: pick today or a later day." }) end
  if d > add_days(today(), M.AHEAD_DAYS) then errors.invalid({ [field] = "Plan meetings at most a year ahead." }) end
  if not_before and d < not_before then
    errors.invalid({ [field] = "The previous meeting was on " .. util.human_date(not_before) .. ": pick that day or later." })
  end
  return d
end

-- ------------------------------------------------------------------ who may

local function impersonator(req) return req and req.session and req.session.impersonator end

local function participant(s, user) return user and (s.organizer_id == user.id or s.attendee_id == user.id) end

-- Whether user may do action on series s (one_on_ones.read / .write): the evaluator decides, told
-- only the fact that they take part in it.
local function can_series(user, s, action)
  return (access.can(user, action, { rel = { participant = participant(s, user) or false } }))
end

-- Whether user, in this request, reads/changes item i as its author: never while impersonated (an
-- impersonating super user is not the author of the person's private items).
local function as_author(user, i, req)
  return i.author_id == user.id and not impersonator(req)
end

local function can_item(user, i, action, req)
  return (access.can(user, action, { rel = { author = as_author(user, i, req) } }))
end

--- Whether user may read series s (a row with organizer_id, attendee_id): the rule of M.series.
function M.can_read_series(user, s) return can_series(user, s, "one_on_ones.read") end

--- Whether user may read item i (a row with author_id, private) of a series they may read, outside
--- any request (never impersonated): the rule of the meeting page (items_for).
function M.can_read_item(user, i)
  local private = i.private == true or i.private == 1
  return not private or (i.author_id == user.id and can_item(user, i, "one_on_ones.read_private"))
end

-- Refuses changes made while impersonating: 1:1s are read-only then (and audit-logged).
local function no_impersonation(req)
  if impersonator(req) then
    errors.forbidden("1:1 meetings are read-only while you impersonate someone.")
  end
end

-- ------------------------------------------------------------------ reading

local SERIES_COLS = [[s.id, s.organizer_id, s.attendee_id, s.title_enc, s.cadence, s.phase, s.next_date,
  s.created_at, s.updated_at, s.closed_at]]

local function open_title(s)
  s.title = crypt.open("meeting_series", "title_enc", { s.id }, s.title_enc)
  s.title_enc = nil
  return s
end

--- The series at id as actor may see it (title decrypted), or a 404 (also when they may not:
--- its existence is nobody else's business).
function M.series(actor, id)
  id = math.tointeger(tonumber(id))
  local s = id and db.row("SELECT " .. SERIES_COLS .. " FROM meeting_series s WHERE s.id = ?", id)
  if not s or not can_series(actor, s, "one_on_ones.read") then errors.not_found("There is no such 1:1 series.") end
  return open_title(s)
end

--- The meeting at id and its series as actor may see them, or a 404.
function M.meeting(actor, id)
  id = math.tointeger(tonumber(id))
  local m = id and db.row("SELECT id, series_id, seq, date, status, closed_at, closed_by FROM meetings WHERE id = ?", id)
  if not m then errors.not_found("There is no such meeting.") end
  local s = db.row("SELECT " .. SERIES_COLS .. " FROM meeting_series s WHERE s.id = ?", m.series_id)
  if not can_series(actor, s, "one_on_ones.read") then errors.not_found("There is no such meeting.") end
  return m, open_title(s)
end

-- The items that show in meeting m of series s for viewer: its own, plus the points and action
-- items of earlier meetings not ticked before it. Private ones only for their author (SQL leaves
-- the others out; the evaluator confirms each). One query.
local function items_for(viewer, s, m, req)
  local reader = impersonator(req) and -1 or viewer.id
  local rows = db.query([[SELECT i.id, i.kind, i.author_id, i.private, i.text_enc, i.assignee_id, i.due_date,
      i.done_at, i.done_by, i.done_seq, i.from_seq, i.created_at, i.updated_at, mf.date AS from_date,
      md.date AS done_date, a.name AS author_name, g.name AS assignee_name
    FROM meeting_items i JOIN meetings mf ON mf.series_id = i.series_id AND mf.seq = i.from_seq
    LEFT JOIN meetings md ON md.series_id = i.series_id AND md.seq = i.done_seq
    JOIN users a ON a.id = i.author_id LEFT JOIN users g ON g.id = i.assignee_id
    WHERE i.series_id = ? AND (i.from_seq = ? OR (i.kind <> 'note' AND i.from_seq < ?
      AND (i.done_seq IS NULL OR i.done_seq >= ?)))
      AND (i.private = 0 OR i.author_id = ?)
    ORDER BY i.from_seq, i.id]], s.id, m.seq, m.seq, m.seq, reader)
  local out = { point = {}, note = {}, action = {} }
  for _, i in ipairs(rows) do
    i.private = i.private == 1
    if not i.private or can_item(viewer, i, "one_on_ones.read_private", req) then
      i.text = crypt.open("meeting_items", "text_enc", { i.id }, i.text_enc)
      i.text_enc = nil
      i.carried = i.from_seq < m.seq
      i.done = i.done_seq ~= nil and i.done_seq <= m.seq
      i.done_later = i.done_seq ~= nil and i.done_seq > m.seq
      i.mine = i.author_id == viewer.id
      local list = out[i.kind]
      list[#list + 1] = i
    end
  end
  return out
end

local function other_of(s, user) return s.organizer_id == user.id and s.attendee_id or s.organizer_id end

--- Everything the meeting page shows: { series, meeting, meetings (all of the series, newest
--- first), items = { point, note, action }, me, other, current (the series' current meeting id),
--- can = { write, manage } }. A constant number of queries.
function M.view(actor, meeting_id, req)
  local m, s = M.meeting(actor, meeting_id)
  local people = db.query("SELECT id, name, email, job_title, status FROM users WHERE id IN (?, ?)",
    s.organizer_id, s.attendee_id)
  local me, other
  local other_id = other_of(s, actor)
  for _, p in ipairs(people) do
    if p.id == other_id then other = p else me = p end
  end
  local meetings = M.meetings_of(s.id)
  local current = meetings[1] and meetings[1].id
  if impersonator(req) then
    audit.record{ action = "one_on_one.viewed", actor = actor, req = req, target_type = "meeting", target_id = m.id,
      details = { series_id = s.id } }
  end
  local writable = s.phase == "active" and not impersonator(req) and can_series(actor, s, "one_on_ones.write")
  return { series = s, meeting = m, meetings = meetings, items = items_for(actor, s, m, req), me = me, other = other,
    current = current,
    can = { write = writable and (m.status == "upcoming" or m.status == "done"),
      manage = writable, tick = not impersonator(req) and can_series(actor, s, "one_on_ones.write") } }
end

--- The meetings of series_id, newest first: { { id, seq, date, status } }.
function M.meetings_of(series_id)
  return db.query("SELECT id, seq, date, status FROM meetings WHERE series_id = ? ORDER BY seq DESC", series_id)
end

--- The id of the series' current meeting (the upcoming one, else the last), for actor.
function M.current_meeting(actor, series_id)
  local s = M.series(actor, series_id)
  return M.meetings_of(s.id)[1].id
end

--- Someone one may start a series with, as the form shows them (nil when they cannot be met).
function M.person(id)
  return db.row([[SELECT id, name, job_title, department FROM users WHERE id = ? AND kind = 'employee'
    AND status = 'active']], id)
end

--- The series a person takes part in, for "My meetings": { upcoming = { ... }, ended = { ... } }
--- (each { id, title, cadence, other = { id, name, job_title }, meeting_id, date, last_date }),
--- upcoming by date. Two queries.
function M.my_series(actor)
  local rows = db.query([[SELECT s.id, s.title_enc, s.cadence, s.phase, s.organizer_id, s.attendee_id, s.closed_at,
      u.id AS other_id, u.name AS other_name, u.job_title AS other_job_title, u.status AS other_status,
      (SELECT m.id FROM meetings m WHERE m.series_id = s.id AND m.status = 'upcoming') AS meeting_id,
      (SELECT m.date FROM meetings m WHERE m.series_id = s.id AND m.status = 'upcoming') AS date,
      (SELECT max(m.date) FROM meetings m WHERE m.series_id = s.id AND m.status = 'done') AS last_date,
      (SELECT m.id FROM meetings m WHERE m.series_id = s.id ORDER BY m.seq DESC LIMIT 1) AS latest_id
    FROM meeting_series s JOIN users u ON u.id = CASE WHEN s.organizer_id = ? THEN s.attendee_id ELSE s.organizer_id END
    WHERE s.organizer_id = ? OR s.attendee_id = ?
    ORDER BY s.id]], actor.id, actor.id, actor.id)
  local active, ended = {}, {}
  for _, s in ipairs(rows) do
    if can_series(actor, s, "one_on_ones.read") then
      open_title(s)
      s.other = { id = s.other_id, name = s.other_name, job_title = s.other_job_title, status = s.other_status }
      s.cadence_label = M.CADENCE_LABELS[s.cadence]
      local list = s.phase == "active" and active or ended
      list[#list + 1] = s
    end
  end
  table.sort(active, function(a, b)
    if (a.date or "9999") ~= (b.date or "9999") then return (a.date or "9999") < (b.date or "9999") end
    return a.id < b.id
  end)
  table.sort(ended, function(a, b) return (a.closed_at or 0) > (b.closed_at or 0) end)
  return { upcoming = active, ended = ended }
end

--- Past meetings (done or skipped) of actor's series, newest first: a page of { id, date, status,
--- series_id, title, other_name }; page from 1. One query (plus one to count).
function M.past(actor, page, per_page)
  per_page = per_page or 20
  page = math.max(1, math.tointeger(tonumber(page) or 1) or 1)
  local total = db.value([[SELECT count(*) FROM meetings m JOIN meeting_series s ON s.id = m.series_id
    WHERE (s.organizer_id = ? OR s.attendee_id = ?) AND m.status IN ('done', 'skipped')]], actor.id, actor.id)
  local rows = db.query([[SELECT m.id, m.date, m.status, m.series_id, s.title_enc, s.organizer_id, s.attendee_id,
      s.id AS sid, u.name AS other_name
    FROM meetings m JOIN meeting_series s ON s.id = m.series_id
    JOIN users u ON u.id = CASE WHEN s.organizer_id = ? THEN s.attendee_id ELSE s.organizer_id END
    WHERE (s.organizer_id = ? OR s.attendee_id = ?) AND m.status IN ('done', 'skipped')
    ORDER BY m.date DESC, m.id DESC LIMIT ? OFFSET ?]], actor.id, actor.id, actor.id, per_page, (page - 1) * per_page)
  local out = {}
  for _, r in ipairs(rows) do
    local s = { id = r.sid, organizer_id = r.organizer_id, attendee_id = r.attendee_id }
    if can_series(actor, s, "one_on_ones.read") then
      r.title = crypt.open("meeting_series", "title_enc", { r.sid }, r.title_enc)
      r.title_enc, r.sid = nil, nil
      r.status_label = M.STATUS_LABELS[r.status]
      out[#out + 1] = r
    end
  end
  return { meetings = out, total = total, page = page, per_page = per_page,
    pages = math.max(1, (total + per_page - 1) // per_page) }
end

--- For a manager's team page: the last meeting held and the next one planned between actor and
--- each person of ids: { [id] = { last = { id, date }, next = { id, date } } }. Two queries,
--- however many people.
function M.team_dates(actor, ids)
  local out = {}
  if #ids == 0 then return out end
  local list = json.encode(ids)
  local function fill(which, status, agg)
    -- SQLite takes the other columns from the row the min()/max() picked; the meetings are found
    -- through their series (+m.status: not through the status index, which holds every meeting
    -- of the company)
    for _, r in ipairs(db.query(([[SELECT x.other_id, %s(m.date) AS date, m.id
        FROM (SELECT s.id, CASE WHEN s.organizer_id = ? THEN s.attendee_id ELSE s.organizer_id END AS other_id
              FROM meeting_series s WHERE s.organizer_id = ? OR s.attendee_id = ?) x
        JOIN meetings m ON m.series_id = x.id
        WHERE +m.status = ? AND x.other_id IN (SELECT value FROM json_each(?))
        GROUP BY x.other_id]]):format(agg), actor.id, actor.id, actor.id, status, list)) do
      out[r.other_id] = out[r.other_id] or {}
      out[r.other_id][which] = { id = r.id, date = r.date }
    end
  end
  fill("last", "done", "max")
  fill("next", "upcoming", "min")
  return out
end

--- The next meetings of actor (upcoming, soonest first, at most limit) for the home page. One query
--- (the meetings are found through the actor's series, not the company-wide status index).
function M.next_meetings(actor, limit)
  local rows = db.query([[SELECT m.id, m.date, s.id AS series_id, s.organizer_id, s.attendee_id, u.name AS other_name
    FROM meetings m JOIN meeting_series s ON s.id = m.series_id
    JOIN users u ON u.id = CASE WHEN s.organizer_id = ? THEN s.attendee_id ELSE s.organizer_id END
    WHERE (s.organizer_id = ? OR s.attendee_id = ?) AND +m.status = 'upcoming' AND s.phase = 'active'
    ORDER BY m.date, m.id LIMIT ?]], actor.id, actor.id, actor.id, limit or 5)
  local out = {}
  for _, r in ipairs(rows) do
    if can_series(actor, { organizer_id = r.organizer_id, attendee_id = r.attendee_id }, "one_on_ones.read") then
      out[#out + 1] = r
    end
  end
  return out
end

--- Open action items assigned to actor that they may read, soonest due first (at most limit),
--- each with the series' current meeting to tick it in. One query.
function M.my_actions(actor, limit, req)
  local rows = db.query([[SELECT i.id, i.text_enc, i.due_date, i.author_id, i.private, i.series_id,
      s.organizer_id, s.attendee_id, u.name AS other_name,
      (SELECT m.id FROM meetings m WHERE m.series_id = i.series_id ORDER BY m.seq DESC LIMIT 1) AS meeting_id
    FROM meeting_items i JOIN meeting_series s ON s.id = i.series_id
    JOIN users u ON u.id = CASE WHEN s.organizer_id = ? THEN s.attendee_id ELSE s.organizer_id END
    WHERE i.assignee_id = ? AND i.kind = 'action' AND i.done_at IS NULL AND (i.private = 0 OR i.author_id = ?)
    ORDER BY coalesce(i.due_date, '9999-12-31'), i.id LIMIT ?]], actor.id, actor.id,
    impersonator(req) and -1 or actor.id, limit or 10)
  local out = {}
  for _, r in ipairs(rows) do
    local s = { organizer_id = r.organizer_id, attendee_id = r.attendee_id }
    if can_series(actor, s, "one_on_ones.read") and (r.private == 0 or can_item(actor, r, "one_on_ones.read_private", req)) then
      r.text = crypt.open("meeting_items", "text_enc", { r.id }, r.text_enc)
      r.text_enc = nil
      out[#out + 1] = r
    end
  end
  return out
end

-- ------------------------------------------------------------------ series

local TITLE = schema.text{ max = M.TITLE_MAX, label = "The title", description = "What the series is called." }

M.SERIES_SCHEMA = schema.record{ strict = false, fields = {
  { with_id = { type = "integer", label = "The colleague", description = "Who you meet (a person's id)." } },
  { title = TITLE },
  { cadence = { type = "string", one_of = M.CADENCES, label = "How often", default = "weekly",
    description = "none, weekly, biweekly or monthly." } },
  { date = schema.date{ label = "The first meeting's date", description = "The first meeting (today or later)." } },
} }

local function read(schema_, input)
  local r, errs = schema.validate(schema_, input or {}, { coerce = true, messages = schema.SENTENCES, partial = true })
  return r or {}, schema.by_field(errs)
end

local function seal_title(id, title)
  db.exec("UPDATE meeting_series SET title_enc = ? WHERE id = ?", crypt.seal("meeting_series", "title_enc", { id }, title), id)
end

-- Who may be met: an active employee other than actor. Returns their row, or nil, err (its
-- message for the form's field).
local function counterpart(actor, id)
  local u = id and db.row("SELECT id, name, email, kind, status FROM users WHERE id = ?", id)
  local function refused(code, message) return nil, { code = code, message = message } end
  if not u or u.kind ~= "employee" or u.status == "deactivated" then
    return refused("not_found", "Pick a colleague from the list.")
  end
  if u.id == actor.id then return refused("self", "A 1:1 is with someone else: pick a colleague.") end
  if u.status == "invited" then
    return refused("not_signed_in", u.name .. " has not signed in to Candor yet: meet once they have.")
  end
  if u.status ~= "active" then return refused("locked", u.name .. " cannot sign in to Candor at the moment.") end
  return u
end

--- Starts a series between actor and input.with_id: { with_id, title, cadence, date }. Creates
--- its first meeting. Returns the series (with .meeting_id). 403 for guests, 422 for bad input.
function M.create(actor, input, req)
  no_impersonation(req)
  access.require(actor, "one_on_ones.create")
  local r, fields = read(M.SERIES_SCHEMA, input)
  local other
  if not fields.with_id then
    local err
    other, err = counterpart(actor, r.with_id)
    if not other then fields.with_id = err.message end
  end
  if not fields.date then
    local ok, e = pcall(check_meeting_date, r.date, "date")
    if not ok then
      if errors.is(e) and e.fields then fields.date = e.fields.date else error(e, 0) end
    end
  end
  if next(fields) then errors.invalid(fields, "The 1:1 was not started: some fields need attention.") end
  local title = r.title or ("1:1 " .. actor.name:match("^(%S+)") .. " / " .. other.name:match("^(%S+)"))
  local now = clock.now()
  local id = db.insert([[INSERT INTO meeting_series(organizer_id, attendee_id, title_enc, cadence, phase, next_date,
      created_at, updated_at, started_at) VALUES(?, ?, x'', ?, 'active', ?, ?, ?, ?)]],
    actor.id, other.id, r.cadence, r.date, now, now, now)
  seal_title(id, title)
  local mid = db.insert([[INSERT INTO meetings(series_id, seq, date, status, created_at, updated_at)
    VALUES(?, 1, ?, 'upcoming', ?, ?)]], id, r.date, now, now)
  events.fire("meeting_series.created", { series_id = id, meeting_id = mid, organizer_id = actor.id,
    attendee_id = other.id, date = r.date, actor_id = actor.id })
  local s = M.series(actor, id)
  s.meeting_id = mid
  return s
end

-- The series for a change by actor: readable (else 404), writable (else 403), still running
-- (else 409).
local function series_for_change(actor, id, req)
  local s = M.series(actor, id)
  no_impersonation(req)
  if not can_series(actor, s, "one_on_ones.write") then errors.forbidden("You cannot change this 1:1 series.") end
  if s.phase ~= "active" then errors.conflict("This 1:1 series has ended: it is kept as it was.") end
  return s
end

M.EDIT_SCHEMA = schema.record{ strict = false, fields = {
  { title = TITLE },
  { cadence = { type = "string", one_of = M.CADENCES, label = "How often", description = "none, weekly, biweekly or monthly." } },
} }

--- Changes the title and/or the cadence (the next meeting keeps its date; the one after follows
--- the new cadence). Returns the series.
function M.update(actor, id, input, req)
  local s = series_for_change(actor, id, req)
  local r, fields = read(M.EDIT_SCHEMA, input)
  if next(fields) then errors.invalid(fields) end
  local changed = {}
  if r.title and r.title ~= s.title then
    seal_title(s.id, r.title)
    changed[#changed + 1] = "title"
  end
  if r.cadence and r.cadence ~= s.cadence then
    db.exec("UPDATE meeting_series SET cadence = ? WHERE id = ?", r.cadence, s.id)
    changed[#changed + 1] = "cadence"
  end
  if #changed > 0 then
    db.exec("UPDATE meeting_series SET updated_at = ? WHERE id = ?", clock.now(), s.id)
    events.fire("meeting_series.updated", { series_id = s.id, fields = changed, actor_id = actor.id })
  end
  return M.series(actor, s.id)
end

--- Ends the series: no more meetings; an upcoming one is cancelled. What was written stays,
--- read-only (action items can still be ticked).
function M.finish(actor, id, req)
  local s = series_for_change(actor, id, req)
  local now = clock.now()
  local m = db.row("SELECT id FROM meetings WHERE series_id = ? AND status = 'upcoming'", s.id)
  if m then
    db.exec("UPDATE meetings SET status = 'cancelled', closed_at = ?, closed_by = ?, updated_at = ? WHERE id = ?",
      now, actor.id, now, m.id)
  end
  db.exec([[UPDATE meeting_series SET phase = 'ended', next_date = NULL, closed_at = ?, closed_by = ?, updated_at = ?
    WHERE id = ?]], now, actor.id, now, s.id)
  events.fire("meeting_series.ended", { series_id = s.id, organizer_id = s.organizer_id, attendee_id = s.attendee_id,
    cancelled_meeting_id = m and m.id, actor_id = actor.id })
  return M.series(actor, s.id)
end

-- ------------------------------------------------------------------ meetings

local function last_closed_date(series_id)
  return db.value("SELECT max(date) FROM meetings WHERE series_id = ? AND status <> 'upcoming' AND status <> 'cancelled'",
    series_id)
end

-- Adds the series' next meeting on date (no upcoming one may exist). Returns its id.
local function add_meeting(s, date, actor)
  local now = clock.now()
  local seq = (db.value("SELECT max(seq) FROM meetings WHERE series_id = ?", s.id) or 0) + 1
  local id = db.insert([[INSERT INTO meetings(series_id, seq, date, status, created_at, updated_at)
    VALUES(?, ?, ?, 'upcoming', ?, ?)]], s.id, seq, date, now, now)
  db.exec("UPDATE meeting_series SET next_date = ?, updated_at = ? WHERE id = ?", date, now, s.id)
  events.fire("meeting.scheduled", { series_id = s.id, meeting_id = id, date = date, actor_id = actor and actor.id })
  return id
end

--- Plans the next meeting of a series that has none upcoming (no fixed rhythm, or after one was
--- held). Returns the new meeting's id.
function M.schedule(actor, series_id, date, req)
  local s = series_for_change(actor, series_id, req)
  if db.value("SELECT 1 FROM meetings WHERE series_id = ? AND status = 'upcoming'", s.id) then
    errors.conflict("The next meeting is planned already: change its date instead.")
  end
  return add_meeting(s, check_meeting_date(date, "date", last_closed_date(s.id)), actor)
end

-- The meeting for a change: upcoming, in a running series that actor takes part in.
local function upcoming_for_change(actor, meeting_id, req)
  local m, s = M.meeting(actor, meeting_id)
  series_for_change(actor, s.id, req)
  if m.status ~= "upcoming" then
    errors.conflict("This meeting is " .. M.STATUS_LABELS[m.status]:lower() .. " already.")
  end
  return m, s
end

--- Moves the upcoming meeting to another day.
function M.reschedule(actor, meeting_id, date, req)
  local m, s = upcoming_for_change(actor, meeting_id, req)
  local d = check_meeting_date(date, "date", last_closed_date(s.id))
  if d ~= m.date then
    local now = clock.now()
    db.exec("UPDATE meetings SET date = ?, updated_at = ? WHERE id = ?", d, now, m.id)
    db.exec("UPDATE meeting_series SET next_date = ?, updated_at = ? WHERE id = ?", d, now, s.id)
    events.fire("meeting.rescheduled", { series_id = s.id, meeting_id = m.id, from_date = m.date, date = d,
      actor_id = actor.id })
  end
  return M.meeting(actor, m.id)
end

--- Marks the upcoming meeting held ("done") or skipped. With a rhythm, the next meeting is planned
--- at once (the first step of the cadence that is not in the past); what is open carries over
--- to it. Returns the id of the next meeting (nil without a rhythm).
function M.close(actor, meeting_id, how, req)
  assert(how == "done" or how == "skipped")
  local m, s = upcoming_for_change(actor, meeting_id, req)
  local now = clock.now()
  db.exec("UPDATE meetings SET status = ?, closed_at = ?, closed_by = ?, updated_at = ? WHERE id = ?",
    how, now, actor.id, now, m.id)
  db.exec("UPDATE meeting_series SET next_date = NULL, updated_at = ? WHERE id = ?", now, s.id)
  local d = M.next_date(m.date, s.cadence)
  events.fire(how == "done" and "meeting.done" or "meeting.skipped", { series_id = s.id, meeting_id = m.id,
    date = m.date, next_date = d, organizer_id = s.organizer_id, attendee_id = s.attendee_id, actor_id = actor.id })
  return d and add_meeting(s, d, actor) or nil
end

--- Open items that show for user after meeting m: { points =, actions = } counts (shared ones and
--- their own private ones). One query.
function M.open_counts(series_id, user_id)
  local r = db.row([[SELECT coalesce(sum(kind = 'point'), 0) AS points, coalesce(sum(kind = 'action'), 0) AS actions
    FROM meeting_items WHERE series_id = ? AND kind <> 'note' AND done_seq IS NULL
      AND (private = 0 OR author_id = ?)]], series_id, user_id)
  return r
end

-- ------------------------------------------------------------------ items

M.ITEM_SCHEMA = schema.record{ strict = false, fields = {
  { kind = { type = "string", one_of = M.KINDS, label = "The kind", default = "point",
    description = "point, note or action." } },
  { text = schema.text{ max = M.TEXT_MAX, label = "The text", multiline = true, description = "What it says." } },
  { private = { type = "boolean", default = false, label = "Private", description = "Only you read it." } },
  { assignee_id = { type = "integer", label = "Who does it", description = "Action items: one of the two." } },
  { due_date = schema.date{ label = "The due date", description = "Action items: when it is due." } },
} }

M.ITEM_EDIT_SCHEMA = schema.record{ strict = false, fields = {
  { text = schema.text{ max = M.TEXT_MAX, label = "The text", multiline = true, description = "What it says." } },
  { private = { type = "boolean", label = "Private", description = "Only you read it." } },
  { assignee_id = { type = "integer", label = "Who does it", description = "Action items: one of the two." } },
  { due_date = schema.date{ label = "The due date", description = "Action items: when it is due." } },
} }

-- Checks an action item's assignee and due date (fields collects problems). A private action is
-- the author's own: nobody else could read it.
local function check_action(s, author, v, fields, private)
  if v.assignee_id ~= nil and v.assignee_id ~= s.organizer_id and v.assignee_id ~= s.attendee_id then
    fields.assignee_id = "An action item is for one of the two of you."
  elseif private and v.assignee_id ~= nil and v.assignee_id ~= author.id then
    fields.assignee_id = "A private action item is yours: only you can read it."
  end
  if v.due_date and not fields.due_date and not real_date(v.due_date) then
    fields.due_date = "Give the date like 2026-03-31."
  end
end

local function item_event(name, i, actor, extra)
  local data = { series_id = i.series_id, item_id = i.id, kind = i.kind, private = i.private == true or i.private == 1,
    actor_id = actor.id }
  for k, v in pairs(extra or {}) do data[k] = v end
  events.fire(name, data)
end

--- Adds a talking point, note or action item to meeting_id: input { kind, text, private,
--- assignee_id, due_date }. Only for a meeting that is upcoming or was held. Returns the item id.
function M.add_item(actor, meeting_id, input, req)
  local m, s = M.meeting(actor, meeting_id)
  series_for_change(actor, s.id, req)
  if m.status ~= "upcoming" and m.status ~= "done" then
    errors.conflict("This meeting was " .. M.STATUS_LABELS[m.status]:lower() .. ": add it to the next one.")
  end
  local v, fields = read(M.ITEM_SCHEMA, input)
  if not v.text and not fields.text then fields.text = "Write something first." end
  if v.kind == "action" then
    check_action(s, actor, v, fields, v.private)
    if not fields.assignee_id and v.assignee_id == nil then v.assignee_id = actor.id end
  else
    v.assignee_id, v.due_date = nil, nil
  end
  if next(fields) then errors.invalid(fields, "It was not added: some fields need attention.") end
  local now = clock.now()
  local id = db.insert([[INSERT INTO meeting_items(series_id, from_seq, kind, author_id, private, text_enc, assignee_id,
      due_date, created_at, updated_at) VALUES(?, ?, ?, ?, ?, x'', ?, ?, ?, ?)]],
    s.id, m.seq, v.kind, actor.id, v.private and 1 or 0, v.assignee_id, v.due_date, now, now)
  db.exec("UPDATE meeting_items SET text_enc = ? WHERE id = ?", crypt.seal("meeting_items", "text_enc", { id }, v.text), id)
  item_event("meeting_item.added", { id = id, series_id = s.id, kind = v.kind, private = v.private }, actor,
    { meeting_id = m.id, author_id = actor.id })
  return id
end

-- The item item_id as shown in meeting_id (it must show there), for actor, or a 404.
local function item_in(actor, meeting_id, item_id, req)
  local m, s = M.meeting(actor, meeting_id)
  item_id = math.tointeger(tonumber(item_id))
  local i = item_id and db.row([[SELECT id, series_id, from_seq, kind, author_id, private, assignee_id, due_date,
      done_at, done_seq FROM meeting_items WHERE id = ? AND series_id = ?]], item_id, s.id)
  local shows = i and (i.from_seq == m.seq or (i.kind ~= "note" and i.from_seq < m.seq
    and (i.done_seq == nil or i.done_seq >= m.seq)))
  if not shows or (i.private == 1 and not can_item(actor, i, "one_on_ones.read_private", req)) then
    errors.not_found("There is no such item in this meeting.")
  end
  return i, m, s
end

-- The item for a change of its own (text, privacy, deleting): only its author.
local function own_item(actor, meeting_id, item_id, req)
  local i, m, s = item_in(actor, meeting_id, item_id, req)
  series_for_change(actor, s.id, req)
  if not can_item(actor, i, "one_on_ones.edit_item", req) then
    errors.forbidden("Only the person who wrote it can change or delete it.")
  end
  return i, m, s
end

--- Changes an item's text, privacy, assignee or due date (its author only).
function M.update_item(actor, meeting_id, item_id, input, req)
  local i, _, s = own_item(actor, meeting_id, item_id, req)
  local v, fields = read(M.ITEM_EDIT_SCHEMA, input)
  local private = i.private == 1
  if v.private ~= nil then private = v.private end
  if i.kind == "action" then
    local assignee = v.assignee_id
    if assignee == nil then assignee = i.assignee_id end
    check_action(s, actor, { assignee_id = assignee, due_date = v.due_date }, fields, private)
  elseif v.assignee_id ~= nil or v.due_date ~= nil then
    fields[v.assignee_id ~= nil and "assignee_id" or "due_date"] = "Only action items have someone to do them and a due date."
  end
  if next(fields) then errors.invalid(fields, "It was not changed: some fields need attention.") end
  local changed = {}
  if v.text then
    db.exec("UPDATE meeting_items SET text_enc = ? WHERE id = ?", crypt.seal("meeting_items", "text_enc", { i.id }, v.text), i.id)
    changed[#changed + 1] = "text"
  end
  if private ~= (i.private == 1) then
    db.exec("UPDATE meeting_items SET private = ? WHERE id = ?", private and 1 or 0, i.id)
    changed[#changed + 1] = "private"
  end
  if i.kind == "action" and v.assignee_id ~= nil and v.assignee_id ~= i.assignee_id then
    db.exec("UPDATE meeting_items SET assignee_id = ? WHERE id = ?", v.assignee_id, i.id)
    changed[#changed + 1] = "assignee_id"
  end
  if i.kind == "action" and v.due_date ~= nil and v.due_date ~= i.due_date then
    db.exec("UPDATE meeting_items SET due_date = ? WHERE id = ?", v.due_date, i.id)
    changed[#changed + 1] = "due_date"
  end
  if #changed > 0 then
    db.exec("UPDATE meeting_items SET updated_at = ? WHERE id = ?", clock.now(), i.id)
    i.private = private
    item_event("meeting_item.updated", i, actor, { fields = changed })
  end
  return i.id
end

--- Deletes an item (its author only).
function M.delete_item(actor, meeting_id, item_id, req)
  local i = own_item(actor, meeting_id, item_id, req)
  db.exec("DELETE FROM meeting_items WHERE id = ?", i.id)
  item_event("meeting_item.deleted", i, actor)
end

--- Ticks (done = true) or unticks a talking point or action item in meeting_id: it was dealt
--- with in that meeting, so it no longer carries over past it. Either participant for a shared
--- item, the author for a private one. Action items can be ticked after the series ended.
function M.tick(actor, meeting_id, item_id, done, req)
  local i, m, s = item_in(actor, meeting_id, item_id, req)
  no_impersonation(req)
  if not can_series(actor, s, "one_on_ones.write") then errors.forbidden("You cannot change this 1:1 series.") end
  if i.kind == "note" then errors.bad_request("Notes are not ticked.") end
  if s.phase ~= "active" and i.kind ~= "action" then errors.conflict("This 1:1 series has ended: it is kept as it was.") end
  local now = clock.now()
  if done then
    if i.done_seq == m.seq then return i.id end
    db.exec("UPDATE meeting_items SET done_at = ?, done_by = ?, done_seq = ?, updated_at = ? WHERE id = ?",
      now, actor.id, m.seq, now, i.id)
  else
    if i.done_seq == nil then return i.id end
    db.exec("UPDATE meeting_items SET done_at = NULL, done_by = NULL, done_seq = NULL, updated_at = ? WHERE id = ?",
      now, i.id)
  end
  local name = i.kind == "action" and (done and "action_item.done" or "action_item.reopened")
    or (done and "meeting_item.ticked" or "meeting_item.unticked")
  item_event(name, i, actor, { meeting_id = m.id, assignee_id = i.assignee_id })
  return i.id
end

-- ------------------------------------------------------------------ home page

--- The meetings today or tomorrow that user has written nothing for yet and may read: { id,
--- date, other_name }. One query.
function M.unprepared_soon(user)
  local out = {}
  for _, m in ipairs(db.query([[SELECT m.id, m.date, s.organizer_id, s.attendee_id, u.name AS other_name
      FROM meetings m JOIN meeting_series s ON s.id = m.series_id
      JOIN users u ON u.id = CASE WHEN s.organizer_id = ? THEN s.attendee_id ELSE s.organizer_id END
      WHERE (s.organizer_id = ? OR s.attendee_id = ?) AND +m.status = 'upcoming' AND s.phase = 'active'
        AND m.date <= ? AND NOT EXISTS (SELECT 1 FROM meeting_items i WHERE i.series_id = s.id
          AND i.from_seq = m.seq AND i.author_id = ?)
      ORDER BY m.date, m.id]], user.id, user.id, user.id, add_days(today(), 1), user.id)) do
    if can_series(user, m, "one_on_ones.read") then out[#out + 1] = { id = m.id, date = m.date, other_name = m.other_name } end
  end
  return out
end

return M
