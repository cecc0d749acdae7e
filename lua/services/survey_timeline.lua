-- The clock of pulse surveys and their mails: rounds open and close by jobs, and the mails follow a
-- timeline in the shape of a workflow script's (docs/scripting.md "The pulse survey timeline").
--
-- Jobs (keys start with survey:<id>: so deleting a survey cancels them all):
--   survey.open   survey:<id>:open           the next round opens on next_opens_on at
--                                            notifications.send_hour (planned on launch, on an
--                                            edit of a scheduled survey, and when a round opens);
--   survey.close  survey:<id>:close:<round>  the round closes at midnight (company time) after its last day;
--   survey.step   survey:<id>:wf:<round>:<step>  a dated step (`at = "closes"`), planned when the
--                                            round opens, cancelled when it closes;
--   survey.send   survey:<id>:send:<n>       the mails of an event step, queued in slices of
--                                            M.SLICE_MS, the recipients read a page at a time
--                                            (10,000 invitations never hold the loop).
-- Switched off (Administration › Features), no round opens or closes (the job looks again an hour
-- later) and no mail goes out; nothing is deleted.
--
-- The timeline is workflows/pulse_survey.lua (or its copy in the data folder), checked in the
-- sandbox at start. Recipients (`to`): invited (the people the event invited: everyone at a round's
-- opening, the people added to an open round), participants (everyone invited to the round),
-- shared (the people newly given the results: named ones, and the managers of participants when
-- shared with managers), creator. Filters (`only`): all, not_responded. Mails carry the survey's
-- title and introduction, the last day and a link; never an answer.
local clock = require "core.clock"
local db = require "lib.db"
local pacing = require "lib.pacing"
local events = require "lib.events"
local json = require "lib.json"
local util = require "lib.util"
local dates = require "lib.dates"
local accounts = require "services.accounts"
local mail = require "services.mail"
local kit = require "services.timeline_steps"
local features = require "services.features"
local surveys = require "services.surveys"

local M = {}

local app -- set by init

--- Milliseconds of mail queueing per transaction (see workflows.SLICE_MS).
M.SLICE_MS = 2.5
--- Recipients read per query.
M.PAGE = 250
M.ANCHORS = { "closes" }
M.EVENTS = { "survey_round.invited", "survey_round.opened", "survey_round.closed", "survey.shared" }
M.GROUPS = { "invited", "participants", "shared", "creator" }
M.FILTERS = { "all", "not_responded" }

--- The schema of one timeline step (as a workflow script's, with this kind's vocabulary).
M.STEP = kit.step_schema{ title = "A step of the pulse survey timeline", events = M.EVENTS, anchors = M.ANCHORS,
  groups = M.GROUPS, filters = M.FILTERS, days = 28,
  at = "The date it is relative to: the last day of the round (closes).",
  check = function(r, report)
    if r.at and r.to ~= "participants" and r.to ~= "creator" then
      report("to", "a dated step mails the round's participants or the creator")
    end
    if r.to == "shared" and r.on ~= "survey.shared" then report("to", "shared goes with on = \"survey.shared\"") end
    if r.to == "invited" and r.on ~= "survey_round.invited" then
      report("to", "invited goes with on = \"survey_round.invited\"")
    end
  end }

--- Checks a timeline: the normalised steps (each with .id), or nil and the problems' messages.
function M.check(timeline) return kit.check(M.STEP, timeline) end

local steps

--- Where the running timeline came from: "built-in" or the data folder copy's path.
M.origin = nil

-- ------------------------------------------------------------------ recipients and mails

local function survey_row(id)
  local s = db.row("SELECT * FROM surveys WHERE id = ?", id)
  if s then s.questions = json.decode(s.questions) end
  return s
end

-- The people step's mail goes to for payload p, a page of M.PAGE by id after `after` (one
-- query): { id, name, email }.
local function recipients(step, s, p, after)
  local not_responded = step.only == "not_responded" and " AND i.responded = 0" or ""
  if step.to == "invited" or step.to == "participants" then
    local only = (step.to == "invited" and p.user_ids) and json.encode(p.user_ids) or "[]"
    return db.query(([[SELECT u.id, u.name, u.email FROM survey_invitations i JOIN users u ON u.id = i.user_id
      WHERE i.round_id = ? AND u.status = 'active'%s
      AND (? = '[]' OR i.user_id IN (SELECT value FROM json_each(?))) AND i.user_id > ? ORDER BY i.user_id LIMIT ?]])
      :format(not_responded), p.round_id, only, only, after, M.PAGE)
  elseif step.to == "shared" then
    local managers = p.managers and ([[ OR u.id IN (SELECT DISTINCT u2.manager_id FROM users u2, surveys s
      WHERE s.id = ?2 AND u2.manager_id IS NOT NULL AND %s)]]):format((surveys.PARTICIPANT_SQL:gsub("u%.", "u2.")))
      or ""
    local sql = ([[SELECT u.id, u.name, u.email FROM users u WHERE u.status = 'active' AND u.kind = 'employee'
      AND (u.id IN (SELECT value FROM json_each(?1))%s) AND u.id > ?3 ORDER BY u.id LIMIT ?4]]):format(managers)
    return db.query(sql, json.encode(p.user_ids or {}), s.id, after, M.PAGE)
  else -- creator
    return db.query("SELECT u.id, u.name, u.email FROM users u WHERE u.id = ? AND u.status = 'active' AND u.id > ?",
      s.creator_id or -1, after)
  end
end

local function vars_of(s, r)
  local base = accounts.base_url()
  return { title = s.title, intro = s.intro or "", closes = r and util.human_date(r.closes_on) or "",
    questions = tostring(#s.questions), link = r and (base .. "/surveys/rounds/" .. r.id) or "",
    results = base .. "/surveys/" .. s.id .. "/results" }
end

-- Queues step's mail to people[from], ... until over() says the slice is done. Returns the index
-- to go on from (#people + 1 when the page is done).
local function send_some(step, s, r, people, from, key_part, over)
  local v = vars_of(s, r)
  for i = from, #people do
    local u = people[i]
    mail.queue{ template = step.template, to = u, related_type = r and "survey_round" or "survey",
      related_id = r and r.id or s.id, dedupe_key = ("%s:%s:%d"):format(key_part, step.id, u.id), vars = v }
    if over() then return i + 1 end
  end
  return #people + 1
end

-- Sends step for payload p (survey_id, round_id?, user_ids?, managers?) in slices of M.SLICE_MS,
-- reading the recipients a page at a time.
local function send(step, p, key_part)
  local page, from, after, last = {}, 1, 0, false
  db.slices(function()
    local s = survey_row(p.survey_id)
    if not s then return false end
    local r = p.round_id and db.row("SELECT * FROM survey_rounds WHERE id = ?", p.round_id)
    if p.round_id and (not r or (step.at and r.status ~= "open")) then return false end
    local over = pacing.slice(M.SLICE_MS)
    repeat
      if from > #page then
        if last then return false end
        page, from = recipients(step, s, p, after), 1
        last = #page < M.PAGE
        if #page == 0 then return false end
        after = page[#page].id
      end
      from = send_some(step, s, r, page, from, key_part, over)
    until over()
    return not (last and from > #page)
  end)
end

-- ------------------------------------------------------------------ jobs

local function prefix(id) return ("survey:%d:"):format(id) end

local function plan_open(id)
  local s = db.row("SELECT id, phase, next_opens_on FROM surveys WHERE id = ?", id)
  app.cancel_jobs(prefix(id) .. "open")
  if not s or not s.next_opens_on or (s.phase ~= "scheduled" and s.phase ~= "running") then return end
  -- a round due today or earlier (launched on its start date, or waiting while switched off) opens
  -- now; a later one at notifications.send_hour on its day
  local today = dates.today()
  local due = s.next_opens_on <= today and clock.now() or kit.when({ offset = 0 }, s.next_opens_on)
  app.schedule(due, "survey.open", { survey_id = id, opens_on = s.next_opens_on }, prefix(id) .. "open")
end

local function plan_round(e)
  local r = db.row("SELECT * FROM survey_rounds WHERE id = ?", e.round_id)
  app.schedule(dates.local_to_utc(dates.add_days(r.closes_on, 1), 0), "survey.close", { round_id = r.id },
    prefix(e.survey_id) .. "close:" .. r.id)
  local now = clock.now()
  for _, step in ipairs(steps) do
    if step.at == "closes" then
      local due = kit.when(step, r.closes_on)
      if due > now then
        app.schedule(due, "survey.step", { survey_id = e.survey_id, round_id = r.id, step = step.id },
          prefix(e.survey_id) .. "wf:" .. r.id .. ":" .. step.id)
      end
    end
  end
  plan_open(e.survey_id)
end

-- Off: look again in an hour (the rounds wait; nothing is lost).
local function later(kind, p, key)
  app.schedule(clock.now() + 3600, kind, p, key)
end

local function run_open(p)
  if not features.on("surveys") then return later("survey.open", p, prefix(p.survey_id) .. "open") end
  surveys.open_round(p.survey_id, p.opens_on) -- its own transactions, in slices
end

local function run_close(p)
  local sid = db.value("SELECT survey_id FROM survey_rounds WHERE id = ?", p.round_id)
  if not sid then return end
  if not features.on("surveys") then return later("survey.close", p, prefix(sid) .. "close:" .. p.round_id) end
  db.transaction(function() surveys.close_round(p.round_id) end)
end

local function run_step(p)
  local step = kit.find(steps, p.step)
  if not step or not features.on("surveys") then return end -- the timeline changed, or switched off
  send(step, p, "survey_round:" .. p.round_id)
end

local function run_send(p)
  local step = kit.find(steps, p.step)
  if not step or not features.on("surveys") then return end
  send(step, p, p.key_part)
end

local counter = 0

local function on_event(e, name)
  for _, step in ipairs(steps) do
    if step.on == name then
      counter = counter + 1
      local key_part = e.round_id and ("survey_round:" .. e.round_id) or ("survey:" .. e.survey_id)
      app.schedule(clock.now(), "survey.send", { survey_id = e.survey_id, round_id = e.round_id, user_ids = e.user_ids,
        managers = e.managers, step = step.id, key_part = key_part },
        ("%ssend:%d:%d"):format(prefix(e.survey_id), clock.now(), counter))
    end
  end
end

function M.init(a)
  app = a
  -- every survey mail knows the same variables
  local vars = { title = "the survey's title", intro = "the survey's introduction", closes = "the round's last day",
    questions = "how many questions", link = "the page to answer the round", results = "the results page" }
  local example = { title = "Monthly Pulse Survey", intro = "Three quick questions about your month.",
    closes = "9 Jan 2026", questions = "3", link = "https://candor.example.com/surveys/rounds/12",
    results = "https://candor.example.com/surveys/3/results" }
  local sign = "\n\nThanks,\n{{company}}"
  for name, spec in pairs({
    ["survey.invite"] = {
      description = "Sent to everyone taking part when a round of a pulse survey opens (and to people added to an open round).",
      subject = "{{title}}: {{questions}} quick questions, anonymous",
      text = "Hello {{first_name}},\n\n{{#intro}}{{intro}}\n\n{{/intro}}It takes a minute and your answers are anonymous: "
        .. "nobody sees who answered what, and results show only when enough people answered.\n\n"
        .. "Answer by {{closes}}:\n{{link}}" .. sign },
    ["survey.reminder"] = {
      description = "Sent before a round of a pulse survey closes to those invited who have not answered yet.",
      subject = "Reminder: {{title}} closes on {{closes}}",
      text = "Hello {{first_name}},\n\nThere is still time to answer {{title}} ({{questions}} questions, anonymous) "
        .. "until {{closes}}.\n\n{{link}}" .. sign },
    ["survey.shared"] = {
      description = "Sent to the people a pulse survey's results are shared with (by name, or as managers).",
      subject = "The results of {{title}} are shared with you",
      text = "Hello {{first_name}},\n\nThe results of {{title}} are shared with you (managers see their team's, when "
        .. "enough of the team answered). Nobody's individual answers are shown.\n\n{{results}}" .. sign },
  }) do
    spec.vars, spec.example = vars, example
    mail.define_template(name, spec)
  end
  steps, M.origin = kit.load(app, "pulse_survey", M.check)
  app.on_job("survey.open", run_open)
  app.on_job("survey.close", run_close)
  app.on_job("survey.step", run_step)
  app.on_job("survey.send", run_send)
  kit.hook_events(steps, on_event)
  events.hook("survey.launched", function(e) plan_open(e.survey_id) end)
  events.hook("survey.updated", function(e) plan_open(e.survey_id) end)
  events.hook("survey_round.opened", plan_round)
  events.hook("survey_round.closed", function(e) app.cancel_jobs(prefix(e.survey_id) .. "wf:" .. e.round_id .. ":", true) end)
  events.hook("survey.ended", function(e) app.cancel_jobs(prefix(e.survey_id) .. "open") end)
  events.hook("survey.deleted", function(e) app.cancel_jobs(prefix(e.survey_id), true) end)
  -- the company's time zone or send hour changed: open rounds (their steps and close) and the
  -- next rounds' openings move
  events.hook("company_time.changed", function()
    for _, r in ipairs(db.query("SELECT id, survey_id FROM survey_rounds WHERE status = 'open'")) do
      plan_round({ round_id = r.id, survey_id = r.survey_id })
    end
    for _, s in ipairs(db.query("SELECT id FROM surveys WHERE phase IN ('scheduled', 'running')")) do plan_open(s.id) end
  end)
end

return M
