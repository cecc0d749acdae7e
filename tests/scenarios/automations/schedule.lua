-- A schedule automation: each cycle is created 7 days before it starts (a draft only HR sees)
-- with the audience of that day, started on its start date, again every N months until the end
-- of repetition; edits reach only the cycles created afterwards; disabling stops it, enabling
-- resumes it, deleting keeps the cycles it created. The virtual clock starts Monday 2026-01-05
-- 09:00 UTC; dated work happens at the send hour (09:00 UTC).
local t = require "testing"
local db = require "lib.db"

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
