-- The mails of objectives: a timeline in the shape of a workflow script's (docs/scripting.md),
-- run on the scheduler.
--
-- The timeline is workflows/objectives.lua (or its copy in the data folder), loaded in the
-- sandbox and checked at start (services/timeline_steps.lua); this module runs it, as
-- services/one_on_one_timeline.lua runs the 1:1 mails (its dates are each objective's, not a
-- cycle's, so it is not a kind of the engine): event steps (`on`) hook the named events and
-- queue their mails inside the change's transaction; dated steps (`at`, offset in days, mails
-- at notifications.send_hour) are jobs.
--
-- Anchors: `due` (an objective's due date: one job per step and objective, keyed
-- objective_cycle:<cycle>:objective:<id>:wf:step:<step>, planned when the objective is created
-- or changed, gone with it) and `edit_until` (its cycle's "edit until" date: keyed
-- objective_cycle:<cycle>:wf:step:<step>, planned when the cycle is created or changed). A step
-- whose moment has passed is not planned. A job reads the objective (or cycle) when it runs: the
-- same due date (or edit-until date) still, and the filter then; the outbox dedupe key makes
-- running it twice harmless.
--
-- Recipients (`to`): owner (the objective's owner; on events never the person who acted),
-- participants (everyone taking part in the cycle; dated steps at edit_until only). Filters
-- (`only`): all, open (the objective is neither done nor missed), without_objectives (the
-- participant has no objective in the cycle). Mails never carry what was written (titles,
-- comments): the cycle, the date, who, and a link.
local clock = require "core.clock"
local db = require "lib.db"
local pacing = require "lib.pacing"
local events = require "lib.events"
local util = require "lib.util"
local dates = require "lib.dates"
local accounts = require "services.accounts"
local mail = require "services.mail"
local kit = require "services.timeline_steps"
local cycles = require "services.objective_cycles"

local M = {}

local app -- set by init

M.ANCHORS = { "due", "edit_until" }
M.EVENTS = { "objective.commented", "objective.progress_updated", "objective.created", "objective.copied" }
M.GROUPS = { "owner", "participants" }
M.FILTERS = { "all", "open", "without_objectives" }
--- Milliseconds of mail queueing per transaction when a step mails every participant, counted
--- from the end of the last pause (lib/pacing): a stretch stays within the 5 ms a periodic task
--- may hold the loop, as workflows.SLICE_MS.
M.SLICE_MS = 2.5
--- Participants read per transaction when a step mails every participant.
M.PAGE = 500

--- The schema of one timeline step (as a workflow script's, with this kind's vocabulary).
M.STEP = kit.step_schema{ title = "A step of the objectives timeline", events = M.EVENTS, anchors = M.ANCHORS,
  groups = M.GROUPS, filters = M.FILTERS, days = 60, at = "The date it is relative to.",
  check = function(r, report)
    if r.to == "participants" and r.at ~= "edit_until" then
      report("to", "participants are mailed at edit_until only (an objective's mails go to its owner)")
    end
    if r.to == "owner" and r.at == "edit_until" then report("to", "at edit_until the mail goes to participants") end
    if r.only == "without_objectives" and r.to ~= "participants" then
      report("only", "without_objectives filters participants")
    end
    if r.only == "open" and r.to ~= "owner" then report("only", "open filters an objective's owner") end
  end }

--- Checks a timeline: the normalised steps (each with .id), or nil and the problems' messages.
function M.check(timeline) return kit.check(M.STEP, timeline) end

local steps -- the timeline of workflows/objectives.lua, loaded and checked at init

--- Where the running timeline came from: "built-in" or the data folder copy's path.
M.origin = nil

-- ------------------------------------------------------------------ recipients and mails

local OPEN = { on_track = true, at_risk = true, off_track = true }

local function objective_row(id)
  return db.row([[SELECT o.id, o.cycle_id, o.owner_id, o.due_on, o.status, u.name, u.email, u.status AS user_status
    FROM objectives o JOIN users u ON u.id = o.owner_id WHERE o.id = ?]], id)
end

local function vars_of(c)
  return { cycle = c.name, edit_until = util.human_date(c.edit_until), update_until = util.human_date(c.update_until) }
end

-- Queues step's mail to the owner of objective o (a row of objective_row) in cycle c; extra vars.
local function send_owner(step, o, c, key_part, extra)
  if o.user_status ~= "active" then return 0 end
  if step.only == "open" and not OPEN[o.status] then return 0 end
  local v = vars_of(c)
  v.due = util.human_date(o.due_on)
  v.link = accounts.base_url() .. "/objectives/" .. o.id
  for k, x in pairs(extra or {}) do v[k] = x end
  local id = mail.queue{ template = step.template, to = { id = o.owner_id, name = o.name, email = o.email },
    related_type = "objective", related_id = o.id,
    dedupe_key = ("objective:%d:%s:%s:%d"):format(o.id, step.id, key_part, o.owner_id), vars = v }
  return id and 1 or 0
end

-- The participants of cycle c that step's mail goes to with an id above after, at most M.PAGE
-- (one query).
local function participants(step, c, after)
  local filter = step.only == "without_objectives"
    and " AND NOT EXISTS (SELECT 1 FROM objectives o WHERE o.cycle_id = c.id AND o.owner_id = u.id)" or ""
  return db.query(([[SELECT u.id, u.name, u.email FROM users u, objective_cycles c
    WHERE c.id = ? AND u.status = 'active' AND u.id > ? AND %s%s ORDER BY u.id LIMIT ?]])
    :format(cycles.PARTICIPANT_SQL, filter), c.id, after, M.PAGE)
end

-- Queues step's mail to people[from], people[from + 1], ... of cycle c until M.SLICE_MS went by.
-- Returns the index to go on from, or nil when all are queued.
local function send_participants(step, c, people, from)
  local v = vars_of(c)
  v.link = accounts.base_url() .. "/objective-cycles/" .. c.id
  local over = pacing.slice(M.SLICE_MS)
  for i = from, #people do
    local u = people[i]
    mail.queue{ template = step.template, to = u, related_type = "objective_cycle", related_id = c.id,
      dedupe_key = ("objective_cycle:%d:%s:%s:%d"):format(c.id, step.id, c.edit_until, u.id), vars = v }
    if i < #people and over() then return i + 1 end
  end
end

-- ------------------------------------------------------------------ dated steps

local function cycle_prefix(cycle_id) return ("objective_cycle:%d:"):format(cycle_id) end
local function objective_prefix(cycle_id, id) return ("objective_cycle:%d:objective:%d:wf:"):format(cycle_id, id) end
local function cycle_step_prefix(cycle_id) return ("objective_cycle:%d:wf:"):format(cycle_id) end

--- When a dated step relative to date (YYYY-MM-DD) goes out (seconds).
M.when = kit.when

-- Plans the due-date steps of objective id (replacing what was planned).
local function plan_objective(id)
  local o = db.row("SELECT id, cycle_id, due_on FROM objectives WHERE id = ?", id)
  if not o then return end
  app.cancel_jobs(objective_prefix(o.cycle_id, o.id), true)
  if not o.due_on then return end
  local now = clock.now()
  for _, step in ipairs(steps) do
    if step.at == "due" then
      local due = M.when(step, o.due_on)
      if due > now then
        app.schedule(due, "objective.step", { objective_id = o.id, due_on = o.due_on, step = step.id },
          objective_prefix(o.cycle_id, o.id) .. "step:" .. step.id)
      end
    end
  end
end

-- Plans the edit-until steps of cycle id (replacing what was planned).
local function plan_cycle(id)
  app.cancel_jobs(cycle_step_prefix(id), true)
  local c = cycles.get(id)
  if not c then return end
  local now = clock.now()
  for _, step in ipairs(steps) do
    if step.at == "edit_until" then
      local due = M.when(step, c.edit_until)
      if due > now then
        app.schedule(due, "objective_cycle.step", { cycle_id = c.id, edit_until = c.edit_until, step = step.id },
          cycle_step_prefix(c.id) .. "step:" .. step.id)
      end
    end
  end
end

local function run_objective_job(p)
  local step = kit.find(steps, p.step)
  if not step then return end -- the timeline changed since it was planned
  db.transaction(function()
    local o = objective_row(p.objective_id)
    if not o or o.due_on ~= p.due_on then return end -- gone or moved since
    local c = cycles.get(o.cycle_id)
    if c then send_owner(step, o, c, o.due_on) end
  end)
end

local function run_cycle_job(p)
  local step = kit.find(steps, p.step)
  if not step then return end
  -- the participants read a page per transaction, then their mails queued a slice of
  -- M.SLICE_MS per transaction: 10,000 participants never hold the loop for long
  local people, after, reading, from = {}, 0, true, 1
  db.slices(function()
    local c = cycles.get(p.cycle_id)
    if not c or c.edit_until ~= p.edit_until then return false end
    if reading then
      local page = participants(step, c, after)
      table.move(page, 1, #page, #people + 1, people)
      if #page == M.PAGE then after = page[#page].id else reading = false end
      return true
    end
    from = send_participants(step, c, people, from)
    return from ~= nil
  end)
end

-- ------------------------------------------------------------------ event steps

local WHAT = { ["objective.commented"] = "commented on", ["objective.progress_updated"] = "updated the progress of",
  ["objective.created"] = "set", ["objective.copied"] = "copied" }

local function on_event(e, name)
  local o = e.objective_id and objective_row(e.objective_id)
  if not o then return end
  if e.actor_id == o.owner_id then return end -- nobody hears about what they did themselves
  local c = cycles.get(o.cycle_id)
  if not c then return end
  local actor = e.actor_id and db.row("SELECT name FROM users WHERE id = ?", e.actor_id)
  for _, step in ipairs(steps) do
    if step.on == name then
      send_owner(step, o, c, name .. ":" .. tostring(e.comment_id or clock.now()),
        { who = actor and actor.name or "Someone", what = WHAT[name] or "changed" })
    end
  end
end

function M.init(a)
  app = a
  local sign = "\n\nThanks,\n{{company}}"
  local common = { cycle = "the cycle's name", edit_until = "the cycle's edit deadline",
    update_until = "the cycle's update deadline" }
  local common_example = { cycle = "H1 2026", edit_until = "31 Jan 2026", update_until = "15 Jul 2026" }
  local function define(name, spec, vars, example)
    local v, e = util.copy(common), util.copy(common_example)
    for k, x in pairs(vars) do v[k] = x end
    for k, x in pairs(example) do e[k] = x end
    spec.vars, spec.example = v, e
    mail.define_template(name, spec)
  end
  define("objective.due_soon", {
    description = "Sent to the owner of an objective that is not done yet, before its due date (30, 10 and 3 days).",
    subject = "An objective of yours is due on {{due}}",
    text = "Hello {{first_name}},\n\nOne of your objectives in {{cycle}} is due on {{due}}. Update its key results and "
      .. "status so your manager sees where it stands.\n\n{{link}}" .. sign,
  }, { due = "the objective's due date", link = "the objective's page" },
    { due = "30 Jun 2026", link = "https://candor.example.com/objectives/12" })
  define("objective.overdue", {
    description = "Sent to the owner of an objective still open a week after its due date.",
    subject = "An objective of yours was due on {{due}}",
    text = "Hello {{first_name}},\n\nOne of your objectives in {{cycle}} was due on {{due}} and is still open. Mark it "
      .. "done or missed, or update where it stands (until {{update_until}}).\n\n{{link}}" .. sign,
  }, { due = "the objective's due date", link = "the objective's page" },
    { due = "30 Jun 2026", link = "https://candor.example.com/objectives/12" })
  define("objective.edit_closing", {
    description = "Sent to everyone taking part in an objective cycle before objectives can no longer be edited in it.",
    subject = "{{cycle}}: objectives can be edited until {{edit_until}}",
    text = "Hello {{first_name}},\n\nObjectives in {{cycle}} can be set and edited until {{edit_until}}; after that "
      .. "only their progress, status and comments change (until {{update_until}}).\n\n{{link}}" .. sign,
  }, { link = "the cycle's page" }, { link = "https://candor.example.com/objective-cycles/3" })
  define("objective.set_for_you", {
    description = "Sent to a person when someone else (their manager, HR) sets an objective for them.",
    subject = "{{who}} set an objective for you",
    text = "Hello {{first_name}},\n\n{{who}} set an objective for you in {{cycle}}, due on {{due}}. You can change it "
      .. "until {{edit_until}} and update its progress until {{update_until}}.\n\n{{link}}" .. sign,
  }, { who = "who set it", due = "the objective's due date", link = "the objective's page" },
    { who = "Ravi Shankar", due = "30 Jun 2026", link = "https://candor.example.com/objectives/12" })
  define("objective.commented", {
    description = "Sent to an objective's owner when someone else comments on it or updates its progress.",
    subject = "{{who}} {{what}} your objective",
    text = "Hello {{first_name}},\n\n{{who}} {{what}} one of your objectives in {{cycle}} (due on {{due}}).\n\n"
      .. "{{link}}" .. sign,
  }, { who = "who commented", what = "\"commented on\" or \"updated the progress of\"",
    due = "the objective's due date", link = "the objective's page" },
    { who = "Sofia Marin", what = "commented on", due = "30 Jun 2026", link = "https://candor.example.com/objectives/12" })
  steps, M.origin = kit.load(app, "objectives", M.check)
  app.on_job("objective.step", run_objective_job)
  app.on_job("objective_cycle.step", run_cycle_job)
  kit.hook_events(steps, on_event)
  -- the dated steps follow the dates: planned with the objective or cycle, gone with it
  for _, name in ipairs({ "objective.created", "objective.updated" }) do
    events.hook(name, function(e) plan_objective(e.objective_id) end)
  end
  events.hook("objective.deleted", function(e) app.cancel_jobs(objective_prefix(e.cycle_id, e.objective_id), true) end)
  for _, name in ipairs({ "objective_cycle.created", "objective_cycle.updated" }) do
    events.hook(name, function(e) plan_cycle(e.cycle_id) end)
  end
  events.hook("objective_cycle.deleted", function(e) app.cancel_jobs(cycle_prefix(e.cycle_id), true) end)
  -- the company's time zone or send hour changed: the steps still to come move (a step is at
  -- most 60 days after its date)
  events.hook("company_time.changed", function()
    local since = dates.add_days(dates.today(), -61)
    for _, r in ipairs(db.query("SELECT id FROM objectives WHERE due_on >= ?", since)) do plan_objective(r.id) end
    for _, r in ipairs(db.query("SELECT id FROM objective_cycles WHERE edit_until >= ?", since)) do plan_cycle(r.id) end
  end)
end

return M
