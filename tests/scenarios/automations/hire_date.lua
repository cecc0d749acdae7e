-- An after-hire-date automation ("Probation review", 90 days after the hire date): once a day, at
-- the company's send hour, the people whose hire date + offset is today join the automation's
-- cycle of that month (created and started when the first of them comes) and get the invitation;
-- nobody is added twice by one rule (the database refuses it); people whose date passed before
-- the automation existed are not caught up unless HR ticked it. Clock: Monday 2026-01-05 09:00 UTC.
local t = require "testing"
local db = require "lib.db"
local json = require "lib.json"
local settings = require "services.settings"

local P = t.demo()
local hr

local function hire(name, email, hire_date, extra)
  local body = { email = email, name = name, department = "Sales", manager_id = P.james.id, hire_date = hire_date }
  for k, v in pairs(extra or {}) do body[k] = v end
  return t.status(t.as("marcus"):post("/api/users", body), 201).json
end

local function template()
  return t.status(t.as("marcus"):post("/api/cycles", { name = "Probation template", start_date = "2026-01-05",
    self_due = "2026-01-12", manager_due = "2026-01-19", sign_due = "2026-01-26" }), 201).json
end

local function in_cycle(aid, uid)
  return db.value([[SELECT r.cycle_id FROM reviews r JOIN automation_cycles l ON l.cycle_id = r.cycle_id
    WHERE l.automation_id = ? AND r.reviewee_id = ?]], aid, uid)
end

local tpl, probation
local early, today_one, tomorrow_one, gone

t.test("setup: people hired on different days, a probation automation 90 days after the hire date", function()
  tpl = template()
  early = hire("Past Pärson", "past@northwind.example", "2025-10-01")    -- 90 days: 30 Dec 2025, passed
  today_one = hire("Élodie Today", "elodie@northwind.example", "2025-10-07") -- 90 days: 5 Jan 2026, today
  tomorrow_one = hire("Tomás Tomorrow", "tomas@northwind.example", "2025-10-08") -- 6 Jan 2026
  gone = hire("Nomad Noboss", "nomad@northwind.example", "2025-10-07", { manager_id = json.null })
  hr = t.as("marcus")
  probation = t.status(hr:post("/api/automations", { name = "Probation review", kind = "after_hire_date",
    template_cycle_id = tpl.id, audience = { everyone = true }, offset_amount = 90, offset_unit = "days" }), 201).json
  t.eq(probation.next_run.date, "2026-01-05", "today's check comes now: the send hour has come")
end)

t.test("today's date matches: the person joins the month's cycle, which starts, and gets the invitation", function()
  t.run_jobs()
  local cid = in_cycle(probation.id, today_one.id)
  t.ok(cid, "Élodie is in the cycle")
  local c = db.row("SELECT * FROM cycles WHERE id = ?", cid)
  t.eq(c.name, "Probation review — Jan 2026")
  t.eq(c.phase, "writing", "started at once")
  t.eq(c.self_due, "2026-02-07", "due dates count from the month's last day (31 Jan + 7)")
  t.eq(#t.outbox({ to = "elodie@northwind.example", template = "review.invite" }), 1)
  t.eq(#t.outbox({ to = P.marcus.email, template = "automation.cycle_created" }), 1)
  t.eq(#t.outbox({ to = P.marcus.email, template = "automation.cycle_started" }), 1)
end)

t.test("a past date is not caught up, and tomorrow's is not taken today", function()
  t.eq(in_cycle(probation.id, early.id), nil, "30 Dec passed before the automation existed")
  t.eq(in_cycle(probation.id, tomorrow_one.id), nil)
end)

t.test("someone without a manager is skipped and listed, not added", function()
  t.eq(in_cycle(probation.id, gone.id), nil)
  t.eq(db.value("SELECT skipped FROM automation_people WHERE automation_id = ? AND user_id = ?", probation.id, gone.id),
    "no manager to write the review")
  t.contains(t.as("marcus"):get("/cycles/automations/" .. probation.id).body, "Nomad Noboss")
end)

t.test("the next day, at the send hour, tomorrow's person joins the same cycle", function()
  t.advance_to("2026-01-06T08:59:00Z")
  t.eq(in_cycle(probation.id, tomorrow_one.id), nil, "not before the send hour")
  t.advance_to("2026-01-06T09:00:01Z")
  local c1, c2 = in_cycle(probation.id, today_one.id), in_cycle(probation.id, tomorrow_one.id)
  t.eq(c2, c1, "the month's cycle")
  t.eq(#t.outbox({ to = "tomas@northwind.example", template = "review.invite" }), 1, "invited as they joined")
end)

t.test("nobody is added twice by one rule, even when the day is checked again; the database refuses it", function()
  db.transaction(function()
    db.exec("UPDATE automations SET checked_through = '2026-01-04' WHERE id = ?", probation.id)
  end)
  t.advance_to("2026-01-07T09:00:01Z")
  t.eq(db.value("SELECT count(*) FROM automation_people WHERE automation_id = ? AND user_id = ?", probation.id,
    today_one.id), 1)
  t.eq(#t.outbox({ to = "elodie@northwind.example", template = "review.invite" }), 1, "no second invitation")
  local ok = pcall(db.exec, [[INSERT INTO automation_people(automation_id, user_id, occurrence, due_date, added_at)
    VALUES(?, ?, 0, '2026-01-05', 0)]], probation.id, today_one.id)
  t.no(ok, "the primary key refuses a second row")
end)

t.test("with 'include people whose date has passed', past dates are caught up once, in this month's cycle", function()
  hr = t.as("marcus")
  local a = t.status(hr:post("/api/automations", { name = "Welcome check", kind = "after_hire_date",
    template_cycle_id = tpl.id, audience = { departments = { "Sales" } }, offset_amount = 2, offset_unit = "weeks",
    include_past = true }), 201).json
  t.run_jobs()
  t.ok(in_cycle(a.id, early.id), "Past Pärson is caught up")
  t.ok(in_cycle(a.id, P.tyler.id), "so is a long-standing Sales member")
  t.eq(in_cycle(a.id, P.mia.id), nil, "Engineering is not in the audience")
  t.eq(db.value("SELECT count(*) FROM automation_cycles WHERE automation_id = ?", a.id), 1, "one cycle, this month's")
  t.advance_to("2026-01-08T09:00:01Z")
  t.eq(db.value("SELECT count(*) FROM automation_people WHERE automation_id = ? AND user_id = ?", a.id, early.id), 1)
end)

t.test("a repeating rule takes the person again at each repeat, once each", function()
  hr = t.as("marcus")
  local newbie = hire("Rita Repeat", "rita@northwind.example", "2025-12-10")
  local a = t.status(hr:post("/api/automations", { name = "Check-in", kind = "after_hire_date", template_cycle_id = tpl.id,
    audience = { people = { newbie.id } }, offset_amount = 30, offset_unit = "days", repeat_months = 1 }), 201).json
  t.run_jobs()
  t.advance_to("2026-01-09T09:00:01Z") -- 10 Dec + 30 days
  t.eq(db.value("SELECT count(*) FROM automation_people WHERE automation_id = ? AND user_id = ?", a.id, newbie.id), 1)
  t.advance_to("2026-02-09T09:00:01Z")
  t.eq(db.value("SELECT count(*) FROM automation_people WHERE automation_id = ? AND user_id = ?", a.id, newbie.id), 2)
  t.eq(db.value("SELECT count(*) FROM automation_cycles WHERE automation_id = ?", a.id), 2, "Jan and Feb cycles")
end)

t.test("the day is the company's calendar day at the send hour: a late send hour does not move dates", function()
  db.transaction(function() settings.set("notifications.send_hour", 23) end)
  local late = hire("Lars Late", "lars@northwind.example", "2025-11-12") -- 90 days: 10 Feb 2026
  t.advance_to("2026-02-09T23:30:00Z")
  t.eq(in_cycle(probation.id, late.id), nil, "late on 9 Feb: not yet")
  t.advance_to("2026-02-10T22:59:00Z")
  t.eq(in_cycle(probation.id, late.id), nil, "10 Feb before the send hour: not yet")
  t.advance_to("2026-02-10T23:00:01Z")
  t.ok(in_cycle(probation.id, late.id), "10 Feb at 23:00 UTC")
  t.neq(in_cycle(probation.id, late.id), in_cycle(probation.id, today_one.id), "February's cycle")
end)
