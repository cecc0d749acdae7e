-- What automations do when their time comes (services/automations.lua holds their rules): jobs
-- that create a scheduled cycle 7 days before it starts and fill it with the audience, start it
-- on its start date, and, once a day, add the people whose hire date + offset came to the
-- automation's cycle of the month. Every change goes through the same service functions as
-- doing it by hand (cycles.create, add_reviewees, remove_reviewees, start), as the automation's
-- owner: when the owner may no longer do it, nothing happens, the automation pauses and the
-- admins are told. Admins (the automation's creator and the HR Admins) hear when a cycle is
-- created, launched and ended.
--
-- Jobs (lane "automation"), keyed under automation:<id>:
--   automation.create  {automation_id, occurrence}   key automation:<id>:create:<occurrence>
--   automation.start   {automation_id, cycle_id}     key automation:<id>:start:<cycle_id>:<date>
--   automation.daily   {automation_id}               key automation:<id>:daily:<date>
-- Long work (a 10,000-person audience) runs in slices of workflows.SLICE_MS, each its own
-- transaction; every job is safe to run twice (adding is idempotent, mails have dedupe keys).
local db = require "lib.db"
local pacing = require "lib.pacing"
local json = require "lib.json"
local util = require "lib.util"
local errors = require "lib.errors"
local events = require "lib.events"
local clock = require "core.clock"
local log = require "core.log"
local access = require "services.access"
local accounts = require "services.accounts"
local mail = require "services.mail"
local sessions = require "services.sessions"
local cycles = require "services.cycles"
local workflows = require "services.workflows"
local automations = require "services.automations"

local M = {}

local app -- set by init

--- People read per query while resolving an audience.
M.PAGE = 500

local function root(id) return ("automation:%d:"):format(id) end

-- The keys of the automation jobs running now. A running job is never cancelled: the queue ends
-- a job by its id, and a job planned after its row was deleted could take that id and be
-- removed in its place.
local running = {}

-- Cancels the jobs whose key starts with prefix, except those running.
local function cancel(prefix)
  for _, k in ipairs(db.column("SELECT key FROM jobs WHERE key >= ? AND key < ? || char(1114111)", prefix, prefix)) do
    if not running[k] then app.cancel_jobs(k, false) end
  end
end

-- A job handler that says it is running while it runs.
local function handler(fn)
  return function(p, job)
    running[job.key] = true
    local ok, err = pcall(fn, p)
    running[job.key] = nil
    if not ok then error(err, 0) end
  end
end

-- ------------------------------------------------------------------ who is told, who acts

-- The automation's admins: its creator (while active) and the active HR Admins.
local function admins_of(a)
  return db.query([[SELECT DISTINCT u.id, u.name, u.email FROM users u LEFT JOIN user_roles r ON r.user_id = u.id
      AND r.role = 'hr_admin'
    WHERE u.status = 'active' AND u.kind = 'employee' AND (r.user_id IS NOT NULL OR u.id = ?) ORDER BY u.id]],
    a.created_by or 0)
end

local function tell(a, template, key, vars)
  vars.automation = a.name
  vars.link = vars.link or (accounts.base_url() .. "/cycles/automations/" .. a.id)
  for _, u in ipairs(admins_of(a)) do
    mail.queue{ template = template, to = u, vars = util.copy(vars), related_type = "automation", related_id = a.id,
      dedupe_key = ("automation:%d:%s:%d"):format(a.id, key, u.id) }
  end
end

--- The person the automation acts as (its owner), or nil and why it may not act.
function M.owner_of(a)
  local u = a.owner_id and sessions.load_user(a.owner_id)
  if not u or u.status ~= "active" or u.kind ~= "employee" then
    return nil, "the person who saved it last is no longer an active employee"
  end
  if not access.can(u, "automations.edit") then
    return nil, ("%s, who saved it last, may no longer run automations"):format(u.name)
  end
  return u
end

-- Stops the automation (it stays, disabled) and tells its admins why.
local function pause(a, reason)
  db.transaction(function()
    db.exec("UPDATE automations SET active = 0, paused_reason = ?, updated_at = ? WHERE id = ?", reason, clock.now(), a.id)
    cancel(root(a.id))
    events.fire("automation.paused", { automation_id = a.id, kind = a.kind })
    tell(a, "automation.paused", "paused:" .. clock.now(), { reason = reason })
  end)
  log.warn(("automation %d paused: %s"):format(a.id, reason))
end

-- Runs fn(owner); an application error there (a permission the owner lost, a refused change)
-- pauses the automation instead of failing the job again and again.
local function as_owner(a, fn)
  local owner, why = M.owner_of(a)
  if not owner then return pause(a, why) end
  local ok, err = pcall(fn, owner)
  if ok then return end
  if errors.is(err) and err.status < 500 then return pause(a, err.message) end
  error(err, 0)
end

-- ------------------------------------------------------------------ the audience

-- SQL conditions over users u for an audience, and their values.
local function audience_sql(aud)
  local where = { "u.kind = 'employee'", "u.status <> 'deactivated'" }
  local args = {}
  if not aud.everyone then
    where[#where + 1] = [[(u.department IN (SELECT value FROM json_each(?)) OR u.location IN (SELECT value FROM
      json_each(?)) OR u.id IN (SELECT value FROM json_each(?)))]]
    args = { json.encode(json.array(aud.departments or {})), json.encode(json.array(aud.locations or {})),
      json.encode(json.array(aud.people or {})) }
  end
  where[#where + 1] = "u.id NOT IN (SELECT value FROM json_each(?))"
  args[#args + 1] = json.encode(json.array(aud.exclude or {}))
  return table.concat(where, " AND "), args
end

--- How many people the audience takes today (one query).
function M.audience_count(aud)
  local where, args = audience_sql(aud)
  return db.value("SELECT count(*) FROM users u WHERE " .. where, table.unpack(args))
end

-- ------------------------------------------------------------------ cycles

-- Creates the cycle of a period from the automation's snapshot, as the owner (cycles.create:
-- the owner's permission to create review cycles), starting on start, its due dates counted
-- from anchor (the start; for hire dates the period's last day). In the caller's transaction.
local function create_cycle(a, owner, start, anchor, period, occurrence)
  local t = a.template
  local function due(off) return off and automations.add_days(anchor, off) or nil end
  local c = cycles.create(owner, { name = a.name .. " — " .. automations.period_label(start), start_date = start,
    self_due = t.self_assessment and due(t.self_due) or nil, manager_due = due(t.manager_due), sign_due = due(t.sign_due),
    self_assessment = t.self_assessment == true, visibility = t.visibility, questionnaire = t.questionnaire })
  if t.workflow and t.workflow ~= c.workflow then
    db.exec("UPDATE cycles SET workflow = ? WHERE id = ?", t.workflow, c.id)
  end
  db.exec([[INSERT INTO automation_cycles(automation_id, cycle_id, period, occurrence, created_at)
    VALUES(?,?,?,?,?)]], a.id, c.id, period, occurrence or 0, clock.now())
  return cycles.get(c.id)
end

local function link_of(a, period)
  return db.value("SELECT cycle_id FROM automation_cycles WHERE automation_id = ? AND period = ?", a.id, period)
end

local function reviewee_count(cycle_id) return db.value("SELECT count(*) FROM reviews WHERE cycle_id = ?", cycle_id) end

-- (a job's key names its day: a job planning its successor under its own key would replace
-- itself, and its end would remove the plan)
local function plan_start(a, cycle_id, start_date)
  cancel(root(a.id) .. "start:" .. cycle_id .. ":")
  app.schedule(math.max(clock.now(), automations.at_send_hour(start_date)), "automation.start",
    { automation_id = a.id, cycle_id = cycle_id }, root(a.id) .. "start:" .. cycle_id .. ":" .. start_date)
end

--- Plans what the automation does next (inside the caller's transaction): a schedule's next
--- creation, the daily check of hire dates, and the start of the drafts it created. Nothing for
--- a disabled one.
function M.plan(a)
  cancel(root(a.id) .. "create:")
  cancel(root(a.id) .. "daily:")
  if not a.active then return end
  if a.kind == "schedule" then
    local k, start = automations.next_occurrence(a, automations.created_periods(a.id))
    if k then
      local at = automations.at_send_hour(automations.add_days(start, -automations.CREATE_DAYS_BEFORE))
      app.schedule(math.max(clock.now(), at), "automation.create", { automation_id = a.id, occurrence = k },
        root(a.id) .. "create:" .. k)
    end
    for _, c in ipairs(db.query([[SELECT c.id, c.start_date FROM automation_cycles l JOIN cycles c ON c.id = l.cycle_id
        WHERE l.automation_id = ? AND c.phase = 'draft' AND c.start_date >= ?]], a.id, automations.today())) do
      plan_start(a, c.id, c.start_date)
    end
  else
    local today = automations.today()
    local at = automations.at_send_hour(today)
    local day = today
    if clock.now() >= at and (a.checked_through or "") >= today then day = automations.add_days(today, 1) end
    app.schedule(math.max(clock.now(), automations.at_send_hour(day)), "automation.daily", { automation_id = a.id },
      root(a.id) .. "daily:" .. day)
  end
end

-- Runs fn(rows) over the rows of sql (ending "u.id > ? ORDER BY u.id LIMIT n"; args: its values
-- before that id) a page at a time, the pages of about workflows.SLICE_MS in one transaction, the
-- loop free between two, while go() says to go on. Returns whether it got to the end.
local function in_pages(sql, args, go, fn)
  local last, done = 0, false
  db.slices(function()
    if not go() then return false end
    local over = pacing.slice(workflows.SLICE_MS)
    repeat
      local all = { table.unpack(args) }
      all[#all + 1] = last
      local rows = db.query(sql, table.unpack(all))
      if #rows == 0 then done = true; return false end
      last = rows[#rows].id
      fn(rows)
    until over()
    return true
  end)
  return done
end

-- Adds the audience to the cycle in slices; stops when the automation or the cycle went away.
-- Returns whether it got through.
local function fill(a, owner, cycle_id)
  local where, args = audience_sql(a.audience)
  local sql = "SELECT u.id FROM users u WHERE " .. where .. " AND u.id > ? ORDER BY u.id LIMIT " .. M.PAGE
  return in_pages(sql, args, function()
    local again, c = automations.get(a.id), cycles.get(cycle_id)
    return again and again.active and c and c.phase == "draft"
  end, function(rows)
    cycles.add_reviewees(owner, cycle_id, util.map(rows, function(r) return r.id end))
  end)
end

-- automation.create: the schedule's cycle `occurrence`, created 7 days before it starts with the
-- audience of that day; its start is planned, and the next creation.
local function run_create(p)
  local a = automations.get(p.automation_id)
  if not a or not a.active or a.kind ~= "schedule" then return end
  local start = automations.occurrence_start(a, p.occurrence)
  local period = start and start:sub(1, 7)
  local existing = period and link_of(a, period)
  if not existing then
    -- an edit since this was planned may have moved the dates: plan afresh
    local k = automations.next_occurrence(a, automations.created_periods(a.id))
    if k ~= p.occurrence then return db.transaction(function() M.plan(a) end) end
  end
  as_owner(a, function(owner)
    local c = existing and cycles.get(existing) or db.transaction(function()
      local made = create_cycle(a, owner, start, start, period, p.occurrence)
      -- the cycle is created with its admins told in the last step; planned in case this run stops
      plan_start(a, made.id, made.start_date)
      return made
    end)
    if c.phase ~= "draft" then return end
    if not fill(a, owner, c.id) then return end
    db.transaction(function()
      local n = reviewee_count(c.id)
      events.fire("automation.cycle_created", { automation_id = a.id, cycle_id = c.id, period = period, reviewees = n })
      tell(a, "automation.cycle_created", "created:" .. c.id, { cycle = c.name, start = util.human_date(c.start_date),
        count = util.plural(n, "person", "people"), link = accounts.base_url() .. "/cycles/" .. c.id })
      M.plan(automations.get(a.id))
    end)
  end)
end

-- Starts an automated cycle as its owner: reviewees nobody would write the review of (no
-- manager) are taken out first (nothing was written: it is a draft) and named to the admins.
local function start_cycle(a, owner, c)
  local lacking, n = cycles.without_writer(c, nil, 20)
  if n > 0 then
    local all = n > #lacking and cycles.without_writer(c, nil, n) or lacking
    cycles.remove_reviewees(owner, c.id, util.map(all, function(x) return x.id end))
  end
  local started = cycles.start(owner, c.id)
  local count = reviewee_count(c.id)
  events.fire("automation.cycle_started", { automation_id = a.id, cycle_id = c.id, reviewees = count, removed = n })
  tell(a, "automation.cycle_started", "started:" .. c.id, { cycle = c.name, count = count,
    left_out = n > 0 and (cycles.writer_warning(lacking, n) .. " They were left out of the cycle.") or nil,
    link = accounts.base_url() .. "/cycles/" .. c.id })
  return started
end

-- automation.start: a scheduled cycle's start date came.
local function run_start(p)
  local a = automations.get(p.automation_id)
  if not a or not a.active then return end
  local c = cycles.get(p.cycle_id)
  if not c or c.phase ~= "draft" then return end
  if c.start_date > automations.today() then -- HR moved its start: later
    return db.transaction(function() plan_start(a, c.id, c.start_date) end)
  end
  local owner, why = M.owner_of(a)
  if not owner then return pause(a, why) end
  local ok, err = pcall(db.transaction, start_cycle, a, owner, c)
  if ok then return end
  if not (errors.is(err) and err.status < 500) then error(err, 0) end
  if err.status == 403 then return pause(a, err.message) end
  -- it could not start (nobody in it, a date missing): the draft stays for HR to fix and start
  local reasons = {}
  for _, m in pairs(type(err.fields) == "table" and err.fields or {}) do reasons[#reasons + 1] = tostring(m) end
  table.sort(reasons)
  db.transaction(function()
    events.fire("automation.start_failed", { automation_id = a.id, cycle_id = c.id })
    tell(a, "automation.start_failed", "start_failed:" .. c.id, { cycle = c.name,
      reason = err.message .. (#reasons > 0 and (" " .. table.concat(reasons, " ")) or ""),
      link = accounts.base_url() .. "/cycles/" .. c.id })
  end)
end

-- ------------------------------------------------------------------ hire dates

-- The period's cycle of an after-hire-date automation: the existing one, or a new one starting
-- today with its due dates counted from the month's last day (everyone whose date falls in the
-- month has at least the template's time). Returns the cycle.
local function period_cycle(a, owner, period, today)
  local id = link_of(a, period)
  if id then return cycles.get(id) end
  local c = create_cycle(a, owner, today, automations.month_end(period .. "-01"), period, 0)
  events.fire("automation.cycle_created", { automation_id = a.id, cycle_id = c.id, period = period, reviewees = 0 })
  tell(a, "automation.cycle_created", "created:" .. c.id, { cycle = c.name, start = util.human_date(c.start_date),
    count = "the people whose date falls in " .. automations.period_label(period .. "-01"),
    link = accounts.base_url() .. "/cycles/" .. c.id })
  return c
end

-- People whose date matched, for one period: recorded once per occurrence (the primary key of
-- automation_people), then added to the period's cycle; those without a manager to write their
-- review are recorded as skipped and not added.
local function take(a, owner, period, list, today)
  local now = clock.now()
  local fresh, writers = {}, {}
  for _, x in ipairs(list) do
    local n = db.exec([[INSERT INTO automation_people(automation_id, user_id, occurrence, due_date, skipped, added_at)
      VALUES(?,?,?,?,?,?) ON CONFLICT DO NOTHING]], a.id, x.id, x.k, x.date,
      not x.writer and "no manager to write the review" or nil, now)
    if n > 0 then
      fresh[#fresh + 1] = x
      if x.writer then writers[#writers + 1] = x.id end
    end
  end
  if #writers == 0 then return end
  local c = period_cycle(a, owner, period, today)
  if c.phase == "closed" then
    db.exec([[UPDATE automation_people SET skipped = 'the cycle of the month was closed' WHERE automation_id = ?
      AND user_id IN (SELECT value FROM json_each(?)) AND cycle_id IS NULL AND skipped IS NULL]], a.id,
      json.encode(writers))
    return
  end
  db.exec([[UPDATE automation_people SET cycle_id = ? WHERE automation_id = ? AND skipped IS NULL AND cycle_id IS NULL
    AND user_id IN (SELECT value FROM json_each(?))]], c.id, a.id, json.encode(writers))
  local added = cycles.add_reviewees(owner, c.id, writers)
  if c.phase == "draft" then start_cycle(a, owner, c) end
  events.fire("automation.people_added", { automation_id = a.id, cycle_id = c.id, count = added,
    skipped = #fresh - #writers })
end

-- automation.daily: the people whose hire date + offset (+ repeats) falls after the last day
-- checked and on or before today (all, once, for their latest date when HR chose to include
-- people whose date had passed), in pages and slices.
local function run_daily(p)
  local a = automations.get(p.automation_id)
  if not a or not a.active or a.kind ~= "after_hire_date" then return end
  -- the days through today's, once its send hour came (a job planned before the send hour was
  -- moved later does not take today early)
  local today = automations.today()
  if clock.now() < automations.at_send_hour(today) then today = automations.add_days(today, -1) end
  local from = a.checked_through
  if from and from >= today then return db.transaction(function() M.plan(a) end) end
  as_owner(a, function(owner)
    local where, args = audience_sql(a.audience)
    local sql = ([[SELECT u.id, u.hire_date, (w.id IS NOT NULL AND w.status <> 'deactivated' AND w.kind = 'employee')
        AS writer FROM users u LEFT JOIN users w ON w.id = u.manager_id
      WHERE %s AND u.hire_date IS NOT NULL AND u.id > ? ORDER BY u.id LIMIT %d]]):format(where, M.PAGE)
    local done = in_pages(sql, args, function()
      local again = automations.get(a.id)
      return again and again.active
    end, function(rows)
      local periods, order = {}, {}
      for _, r in ipairs(rows) do
        local k, d = nil, nil
        if util.parse_date(r.hire_date) then k, d = automations.hire_match(a, r.hire_date, from, today) end
        if k then
          -- caught-up people go to this month's cycle; the others to their date's month
          local period = from and d:sub(1, 7) or today:sub(1, 7)
          if not periods[period] then periods[period] = {}; order[#order + 1] = period end
          local l = periods[period]
          l[#l + 1] = { id = r.id, k = k, date = d, writer = r.writer == 1 }
        end
      end
      table.sort(order)
      for _, period in ipairs(order) do take(a, owner, period, periods[period], today) end
    end)
    if not done then return end
    db.transaction(function()
      db.exec("UPDATE automations SET checked_through = ? WHERE id = ?", today, a.id)
      M.plan(automations.get(a.id))
    end)
  end)
end

-- ------------------------------------------------------------------ setup

local function templates()
  local sign = "\n\nThanks,\n{{company}}"
  local common = { automation = "the automation's name", link = "the page to open" }
  local function vars(extra)
    local v = util.copy(common)
    for k, x in pairs(extra) do v[k] = x end
    return v
  end
  mail.define_template("automation.cycle_created", {
    description = "Tells the automation's admins (its creator and the HR Admins) that it created a review cycle.",
    subject = "{{automation}}: {{cycle}} was created",
    text = "Hello {{first_name}},\n\nThe automation {{automation}} created the review cycle {{cycle}}, starting "
      .. "{{start}}, for {{count}}. Until it starts, only HR sees it: check it and choose who writes the reviews of "
      .. "people without a manager.\n{{link}}" .. sign,
    vars = vars({ cycle = "the cycle's name", start = "its start date", count = "how many people" }),
    example = { automation = "Quarterly review", cycle = "Quarterly review — Apr 2026", start = "1 Apr 2026",
      count = "42 people", link = "https://candor.example.com/cycles/7" } })
  mail.define_template("automation.cycle_started", {
    description = "Tells the automation's admins that a cycle it created has started (invitations go out).",
    subject = "{{automation}}: {{cycle}} has started",
    text = "Hello {{first_name}},\n\nThe review cycle {{cycle}} started today with {{count}} reviewees; the "
      .. "invitations are on their way.{{#left_out}}\n\n{{left_out}}{{/left_out}}\n{{link}}" .. sign,
    vars = vars({ cycle = "the cycle's name", count = "how many reviewees", left_out = "who was left out, and why" }),
    example = { automation = "Quarterly review", cycle = "Quarterly review — Apr 2026", count = 42,
      link = "https://candor.example.com/cycles/7" } })
  mail.define_template("automation.cycle_ended", {
    description = "Tells the automation's admins that a cycle it created was closed.",
    subject = "{{automation}}: {{cycle}} has ended",
    text = "Hello {{first_name}},\n\nThe review cycle {{cycle}}, created by the automation {{automation}}, is "
      .. "closed.\n{{link}}" .. sign,
    vars = vars({ cycle = "the cycle's name" }),
    example = { automation = "Quarterly review", cycle = "Quarterly review — Apr 2026",
      link = "https://candor.example.com/cycles/7" } })
  mail.define_template("automation.start_failed", {
    description = "Tells the automation's admins that a cycle it created could not start on its date.",
    subject = "{{automation}}: {{cycle}} could not start",
    text = "Hello {{first_name}},\n\nThe review cycle {{cycle}} should have started today but could not: {{reason}}\n\n"
      .. "It stays a draft: fix it and start it by hand.\n{{link}}" .. sign,
    vars = vars({ cycle = "the cycle's name", reason = "why" }),
    example = { automation = "Quarterly review", cycle = "Quarterly review — Apr 2026",
      reason = "The cycle is not ready to start. Add at least one reviewee first.",
      link = "https://candor.example.com/cycles/7" } })
  mail.define_template("automation.paused", {
    description = "Tells the automation's admins that it stopped by itself (the person it runs as may no longer do "
      .. "what it does).",
    subject = "{{automation}} was paused",
    text = "Hello {{first_name}},\n\nThe automation {{automation}} stopped and was disabled: {{reason}}.\n\n"
      .. "Someone who may run it can check it and enable it again (they become the person it runs as).\n{{link}}" .. sign,
    vars = vars({ reason = "why" }),
    example = { automation = "Quarterly review", reason = "Lena Fischer, who saved it last, may no longer run automations",
      link = "https://candor.example.com/cycles/automations/3" } })
end

function M.init(a)
  app = a
  templates()
  local lane = { lane = "automation" }
  app.on_job("automation.create", handler(run_create), lane)
  app.on_job("automation.start", handler(run_start), lane)
  app.on_job("automation.daily", handler(run_daily), lane)
  for _, name in ipairs({ "automation.created", "automation.updated" }) do
    events.hook(name, function(e) M.plan(automations.get(e.automation_id)) end)
  end
  events.hook("automation.deleted", function(e) cancel(root(e.automation_id)) end)
  -- the company's time zone or send hour changed: every active automation's jobs move
  events.hook("company_time.changed", function()
    for _, r in ipairs(db.query("SELECT id FROM automations WHERE active = 1")) do M.plan(automations.get(r.id)) end
  end)
  -- HR moved an automated draft's start date: its start follows
  events.hook("cycle.updated", function(e)
    local aid = db.value("SELECT automation_id FROM automation_cycles WHERE cycle_id = ?", e.cycle_id)
    if not aid then return end
    local c = cycles.get(e.cycle_id)
    local au = automations.get(aid)
    if c and c.phase == "draft" and au.active then plan_start(au, c.id, c.start_date) end
  end)
  events.hook("cycle.phase_changed", function(e)
    if e.to ~= "closed" then return end
    local aid = db.value("SELECT automation_id FROM automation_cycles WHERE cycle_id = ?", e.cycle_id)
    if not aid then return end
    local au, c = automations.get(aid), cycles.get(e.cycle_id)
    events.fire("automation.cycle_ended", { automation_id = aid, cycle_id = e.cycle_id })
    tell(au, "automation.cycle_ended", "ended:" .. e.cycle_id, { cycle = c.name,
      link = accounts.base_url() .. "/cycles/" .. c.id })
  end)
end

return M
