-- The mails of 1:1 meetings: a timeline in the shape of a workflow script's (docs/scripting.md),
-- run on the scheduler.
--
-- The timeline is workflows/one_on_one.lua (or its copy in the data folder), loaded in the
-- sandbox and checked at start (services/timeline_steps.lua); this module runs it the way the
-- engine runs a cycle's (1:1 series have no cycle, so they are not a kind of the engine):
-- event steps (`on`) hook the named events and queue their mails inside the change's
-- transaction; dated steps (`at = "meeting"`, offset in days, at notifications.send_hour)
-- are jobs keyed meeting_series:<id>:wf:step:<step>, planned when a meeting is planned or moved
-- and cancelled when it is held, skipped or the series ends. A step reads the meeting when it
-- runs (still upcoming, same date) and its outbox dedupe key makes running it twice harmless.
--
-- Recipients (`to`): organizer (who started the series), attendee (who was invited),
-- participants (both). Filters (`only`): all, has_open_items (the recipient still has talking
-- points or action items open in the series that they may read). Mails never carry what was
-- written, nor the series' title: who, when, how many are open, and a link.
local clock = require "core.clock"
local db = require "lib.db"
local events = require "lib.events"
local util = require "lib.util"
local accounts = require "services.accounts"
local mail = require "services.mail"
local kit = require "services.timeline_steps"
local one_on_ones = require "services.one_on_ones"
local features = require "services.features"

local M = {}

local app -- set by init

M.ANCHORS = { "meeting" }
M.EVENTS = { "meeting_series.created", "meeting.scheduled", "meeting.rescheduled", "meeting.done", "meeting.skipped",
  "meeting_series.ended" }
M.GROUPS = { "organizer", "attendee", "participants" }
M.FILTERS = { "all", "has_open_items" }

--- The schema of one timeline step (as a workflow script's, with this kind's vocabulary).
M.STEP = kit.step_schema{ title = "A step of the 1:1 timeline", events = M.EVENTS, anchors = M.ANCHORS,
  groups = M.GROUPS, filters = M.FILTERS, days = 30, at = "The date it is relative to: the upcoming meeting's." }

--- Checks a timeline: the normalised steps (each with .id), or nil and the problems' messages.
function M.check(timeline) return kit.check(M.STEP, timeline) end

local steps -- the timeline of workflows/one_on_one.lua, loaded and checked at init

--- Where the running timeline came from: "built-in" or the data folder copy's path.
M.origin = nil

-- ------------------------------------------------------------------ recipients and mails

local function series_row(id)
  return db.row([[SELECT s.id, s.organizer_id, s.attendee_id, s.cadence, s.phase FROM meeting_series s WHERE s.id = ?]], id)
end

local function people_of(s)
  local out = {}
  for _, u in ipairs(db.query("SELECT id, name, email, status FROM users WHERE id IN (?, ?)", s.organizer_id, s.attendee_id)) do
    out[u.id] = u
  end
  return out
end

local function recipients(group, s, people)
  local ids = group == "organizer" and { s.organizer_id } or group == "attendee" and { s.attendee_id }
    or { s.organizer_id, s.attendee_id }
  local out = {}
  for _, id in ipairs(ids) do
    local u = people[id]
    if u and u.status == "active" then out[#out + 1] = u end
  end
  return out
end

local function open_text(c)
  local parts = {}
  if c.points > 0 then parts[#parts + 1] = util.plural(c.points, "talking point") end
  if c.actions > 0 then parts[#parts + 1] = util.plural(c.actions, "action item") end
  return table.concat(parts, " and ")
end

-- Queues the mails of step for series s about meeting m ({ id, date, next_date? }). key_part names the
-- occasion in the dedupe key. Returns how many were queued.
local function send(step, s, m, key_part)
  local people = people_of(s)
  local n = 0
  local next_date = m.next_date
  for _, u in ipairs(recipients(step.to, s, people)) do
    local counts = one_on_ones.open_counts(s.id, u.id)
    if step.only ~= "has_open_items" or counts.points + counts.actions > 0 then
      local other = people[u.id == s.organizer_id and s.attendee_id or s.organizer_id]
      local id = mail.queue{ template = step.template, to = u, related_type = "meeting", related_id = m.id,
        dedupe_key = ("meeting:%d:%s:%s:%d"):format(m.id, step.id, key_part, u.id),
        vars = { other = other and other.name or "your colleague", other_first = other and other.name:match("^(%S+)") or "",
          date = util.human_date(m.date), next_date = next_date and util.human_date(next_date) or "",
          cadence = one_on_ones.CADENCE_LABELS[s.cadence]:lower(), open = open_text(counts),
          link = accounts.base_url() .. "/meetings/" .. m.id } }
      if id then n = n + 1 end
    end
  end
  return n
end

-- ------------------------------------------------------------------ dated steps

local function job_prefix(series_id) return ("meeting_series:%d:wf:"):format(series_id) end

--- When a dated step for a meeting on date goes out (seconds).
M.when = kit.when

-- Plans the dated steps of the series' upcoming meeting (replacing what was planned). A step
-- whose moment has passed is not planned: a reminder for yesterday helps nobody.
local function plan(series_id)
  app.cancel_jobs(job_prefix(series_id), true)
  local m = db.row("SELECT id, date FROM meetings WHERE series_id = ? AND status = 'upcoming'", series_id)
  if not m then return end
  local now = clock.now()
  for _, step in ipairs(steps) do
    if step.at == "meeting" then
      local due = M.when(step, m.date)
      if due > now then
        app.schedule(due, "one_on_one.step", { series_id = series_id, meeting_id = m.id, date = m.date, step = step.id },
          job_prefix(series_id) .. "step:" .. step.id)
      end
    end
  end
end

local function run_step_job(p)
  local step = kit.find(steps, p.step)
  if not step then return end -- the timeline changed since it was planned
  if not features.on("one_on_ones") then return end -- switched off: no reminders
  db.transaction(function()
    local s = series_row(p.series_id)
    local m = s and s.phase == "active"
      and db.row("SELECT id, date, status FROM meetings WHERE id = ? AND series_id = ?", p.meeting_id, s.id)
    if not m or m.status ~= "upcoming" or m.date ~= p.date then return end -- held, skipped or moved since
    send(step, s, m, m.date)
  end)
end

-- ------------------------------------------------------------------ event steps

local function on_event(e, name)
  local s = series_row(e.series_id)
  if not s then return end
  local m = { id = e.meeting_id, date = e.date, next_date = e.next_date }
  for _, step in ipairs(steps) do
    if step.on == name then send(step, s, m, name) end
  end
end

function M.init(a)
  app = a
  -- the variables every 1:1 mail has; each template adds its own
  local function define(name, spec, vars, example)
    local v = { other = "the other person", other_first = "their first name", date = "the meeting's date",
      cadence = "how often you meet", link = "the meeting's page" }
    local e = { other = "Mia Johansson", other_first = "Mia", date = "13 Jan 2026", cadence = "every week",
      link = "https://candor.example.com/meetings/12" }
    for k, x in pairs(vars or {}) do v[k] = x end
    for k, x in pairs(example or {}) do e[k] = x end
    spec.vars, spec.example = v, e
    mail.define_template(name, spec)
  end
  define("one_on_one.invite", {
    description = "Sent to the colleague someone starts a 1:1 series with.",
    subject = "{{other}} set up 1:1 meetings with you",
    text = "Hello {{first_name}},\n\n{{other}} set up a 1:1 series with you ({{cadence}}). The first meeting is on "
      .. "{{date}}.\n\nAdd the talking points you would like to discuss: shared with {{other_first}}, or private notes "
      .. "only you can read.\n{{link}}",
  }, { other = "who set it up", date = "the first meeting's date" }, { other = "Ravi Shankar", other_first = "Ravi" })
  define("one_on_one.prepare", {
    description = "Sent to both people the day before a 1:1 meeting.",
    subject = "Your 1:1 with {{other}} is on {{date}}: add your points",
    text = "Hello {{first_name}},\n\nYour 1:1 with {{other}} is on {{date}}. Add what you would like to talk about "
      .. "before you meet.{{#open}}\n\nOn the list so far: {{open}}.{{/open}}\n\n{{link}}",
  }, { open = "the talking points and action items open so far (e.g. \"2 talking points and 1 action item\")" },
    { open = "1 action item" })
  define("one_on_one.follow_up", {
    description = "Sent after a 1:1 meeting was marked done, to each person who still has something open in it.",
    subject = "Open items after your 1:1 with {{other}}",
    text = "Hello {{first_name}},\n\nStill open after your 1:1 with {{other}} on {{date}}: {{open}}. What is open "
      .. "carries over to the next meeting{{#next_date}} on {{next_date}}{{/next_date}}.\n\nTick off what is done:\n{{link}}",
  }, { open = "what is still open (e.g. \"2 talking points and 1 action item\")", next_date = "the next meeting's date" },
    { open = "1 action item", next_date = "20 Jan 2026" })
  steps, M.origin = kit.load(app, "one_on_one", M.check)
  app.on_job("one_on_one.step", run_step_job)
  kit.hook_events(steps, on_event)
  -- the dated steps follow the upcoming meeting: planned with it, gone when there is none
  for _, name in ipairs({ "meeting_series.created", "meeting.scheduled", "meeting.rescheduled", "meeting.done",
    "meeting.skipped", "meeting_series.ended" }) do
    events.hook(name, function(e) plan(e.series_id) end)
  end
  -- the company's time zone or send hour changed: the upcoming meetings' steps move
  events.hook("company_time.changed", function()
    for _, r in ipairs(db.query("SELECT DISTINCT series_id FROM meetings WHERE status = 'upcoming'")) do
      plan(r.series_id)
    end
  end)
end

return M
