-- A schedule automation: each cycle is created 7 days before it starts (a draft only HR sees)
-- with the audience of that day, started on its start date, again every N months until the end
-- of repetition; edits reach only the cycles created afterwards; disabling stops it, enabling
-- resumes it, deleting keeps the cycles it created. The virtual clock starts Monday 2026-01-05
-- 09:00 UTC; dated work happens at the send hour (09:00 UTC).
local t = require "testing"
local db = require "lib.db"
local json = require "lib.json"

local P = t.demo()

local function template()
  local hr = t.as("marcus")
  local c = t.status(hr:post("/api/cycles", { name = "Template review", start_date = "2026-01-05",
    self_due = "2026-01-19", manager_due = "2026-02-02", sign_due = "2026-02-16" }), 201).json
  return c
end

local function cycles_of(aid)
  return db.query([[SELECT c.* FROM automation_cycles l JOIN cycles c ON c.id = l.cycle_id
    WHERE l.automation_id = ? ORDER BY c.start_date]], aid)
end

local function reviewees(cid)
  return db.column("SELECT reviewee_id FROM reviews WHERE cycle_id = ? ORDER BY reviewee_id", cid)
end

local tpl, auto

t.test("HR creates a quarterly automation: nothing happens before 7 days ahead of the first start", function()
  tpl = template()
  local hr = t.as("marcus")
  auto = t.status(hr:post("/api/automations", { name = "Quarterly review", kind = "schedule", template_cycle_id = tpl.id,
    audience = { departments = { "Engineering" }, exclude = { P.hana.id } }, first_start = "2026-02-01",
    repeat_months = 3, repeat_until = "2026-08-01" }), 201).json
  t.eq(auto.next_run.date, "2026-01-25", "the first cycle is created 7 days before 1 Feb")
  t.advance_to("2026-01-25T08:59:00Z")
  t.eq(#cycles_of(auto.id), 0, "nothing created yet")
end)

t.test("7 days before its start the cycle is created as a draft with the audience of that day", function()
  t.advance_to("2026-01-25T09:00:00Z")
  local list = cycles_of(auto.id)
  t.eq(#list, 1)
  local c = list[1]
  t.eq(c.name, "Quarterly review — Feb 2026")
  t.eq(c.phase, "draft")
  t.eq(c.start_date, "2026-02-01")
  t.eq(c.self_due, "2026-02-15", "the template's timeline: 14 days after the start")
  t.eq(c.manager_due, "2026-03-01")
  t.eq(c.sign_due, "2026-03-15")
  local ids = reviewees(c.id)
  local set = {}
  for _, id in ipairs(ids) do set[id] = true end
  t.ok(set[P.mia.id] and set[P.lucas.id] and set[P.daniel.id], "Engineering is in")
  t.no(set[P.hana.id], "Hana is excluded")
  t.no(set[P.chloe.id], "Product is not in the audience")
  -- HR hears of it (the creator and every HR Admin), employees see nothing yet
  t.eq(#t.outbox({ to = P.marcus.email, template = "automation.cycle_created" }), 1)
  t.eq(#t.outbox({ to = P.priya.email, template = "automation.cycle_created" }), 1)
  t.eq(#t.outbox({ to = P.mia.email, template = "review.invite" }), 0)
  t.eq(#t.status(t.as("mia"):get("/api/reviews"), 200).json.reviews, 0, "a draft is not shown to reviewees")
  t.status(t.as("lena"):get("/cycles/" .. c.id), 200)
end)

t.test("on its start date the cycle starts: invitations go out, the admins are told", function()
  t.advance_to("2026-02-01T08:59:00Z")
  local c = cycles_of(auto.id)[1]
  t.eq(db.value("SELECT phase FROM cycles WHERE id = ?", c.id), "draft", "not before the send hour")
  t.advance_to("2026-02-01T09:00:05Z")
  t.eq(db.value("SELECT phase FROM cycles WHERE id = ?", c.id), "writing")
  t.eq(#t.outbox({ to = P.mia.email, template = "review.invite" }), 1, "Mia is invited")
  t.eq(#t.outbox({ to = P.marcus.email, template = "automation.cycle_started" }), 1)
  t.ok(#t.status(t.as("mia"):get("/api/reviews"), 200).json.reviews >= 1, "Mia sees her review now")
  -- it ran as its owner: the start is in the audit log in Marcus's name
  t.eq(db.value("SELECT actor_id FROM audit_log WHERE action = 'cycle.start' AND target_id = ?", c.id), P.marcus.id)
end)

t.test("a new hire in Engineering joins the next cycle, not the running one", function()
  local hr = t.as("marcus")
  local new = t.status(hr:post("/api/users", { email = "nils.new@northwind.example", name = "Nils Neu",
    department = "Engineering", manager_id = P.ravi.id }), 201).json
  local first = cycles_of(auto.id)[1]
  t.advance_to("2026-04-24T09:00:00Z")
  local list = cycles_of(auto.id)
  t.eq(#list, 2, "the second quarter's cycle was created")
  t.eq(list[2].name, "Quarterly review — May 2026")
  t.eq(list[2].start_date, "2026-05-01", "the same day of the month, 3 months on")
  local in_second = {}
  for _, id in ipairs(reviewees(list[2].id)) do in_second[id] = true end
  t.ok(in_second[new.id], "the new hire is in the new cycle")
  t.eq(db.value("SELECT count(*) FROM reviews WHERE cycle_id = ? AND reviewee_id = ?", first.id, new.id), 0)
end)

t.test("edits reach only the cycles created afterwards", function()
  local hr = t.as("marcus")
  local second = cycles_of(auto.id)[2]
  local before = db.value("SELECT questionnaire FROM cycles WHERE id = ?", second.id)
  -- a new template with one question and a longer timeline
  local tpl2 = t.status(hr:post("/api/cycles", { name = "Short template", start_date = "2026-04-24",
    self_due = "2026-05-24", manager_due = "2026-06-24", sign_due = "2026-07-24", questionnaire = { sections = {
      { title = "Only", questions = { { id = "only1", type = "text", text = "One thing?" } } } } } }), 201).json
  t.status(hr:patch("/api/automations/" .. auto.id, { template_cycle_id = tpl2.id, name = "Quarterly check-in" }), 200)
  t.eq(db.value("SELECT questionnaire FROM cycles WHERE id = ?", second.id), before, "the draft it made keeps its questions")
  t.eq(db.value("SELECT name FROM cycles WHERE id = ?", second.id), "Quarterly review — May 2026")
  t.advance_to("2026-07-25T09:00:00Z")
  local list = cycles_of(auto.id)
  t.eq(#list, 3)
  t.eq(list[3].name, "Quarterly check-in — Aug 2026")
  t.contains(list[3].questionnaire, "only1", "the new cycle has the new template's questions")
  t.eq(list[3].self_due, "2026-08-31", "and its timeline (30 days after the start)")
  t.eq(db.value("SELECT phase FROM cycles WHERE id = ?", list[2].id), "writing", "the May cycle runs as it was")
end)

t.test("after the end of repetition nothing more is created", function()
  local a = t.status(t.as("marcus"):get("/api/automations/" .. auto.id), 200).json
  t.eq(a.next_run, json.null, "nothing planned")
  t.advance_to("2026-11-30T09:00:00Z")
  t.eq(#cycles_of(auto.id), 3, "Nov 2026 is after the end (1 Aug 2026)")
end)

t.test("the admins are told when an automated cycle ends", function()
  local c = cycles_of(auto.id)[1]
  t.status(t.as("marcus"):post("/api/cycles/" .. c.id .. "/transitions", { to = "closed" }), 200)
  t.eq(#t.outbox({ to = P.marcus.email, template = "automation.cycle_ended" }), 1)
  t.eq(#t.outbox({ to = P.priya.email, template = "automation.cycle_ended" }), 1)
end)
