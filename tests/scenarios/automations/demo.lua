-- The demo company's automations (candor serve --demo): a quarterly review and a probation review
-- 90 days after the hire date, made from the mid-year review; neither has created anything yet,
-- and the next day creates nothing surprising.
local t = require "testing"
local db = require "lib.db"
local demo = require "demo"

t.demo()

t.test("the demo has a quarterly and a probation automation that have created nothing yet", function()
  demo.sample_cycle()
  local q, p = demo.sample_automations()
  t.eq(q.kind, "schedule")
  t.eq(q.repeat_months, 3)
  t.match(q.first_start, "^%d%d%d%d%-[01][0147]%-01$")
  t.ok(q.first_start > "2026-01-13", "more than a week away")
  t.eq(p.name, "Probation review")
  t.eq(p.offset_amount, 90)
  t.eq(p.include_past, false)
  local list = t.status(t.as("marcus"):get("/api/automations"), 200).json.automations
  t.eq(#list, 2)
  t.run_jobs()
  t.advance("1d")
  t.eq(db.value("SELECT count(*) FROM automation_cycles"), 0, "no cycle created")
  t.eq(db.value("SELECT count(*) FROM automation_people"), 0, "nobody taken: no demo hire date is 90 days ago")
  t.eq(db.value("SELECT count(*) FROM automations WHERE active = 1"), 2, "both still active")
end)
