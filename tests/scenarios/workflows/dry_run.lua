-- The dry run: the dated list of every notification a workflow would send for a cycle, with
-- today's recipients, rendered subjects, filters and copies; it sends and plans nothing.
local t = require "testing"
local F = dofile("tests/scenarios/workflows/_fixtures.lua")
local wf = require "services.workflows"
local db = require "lib.db"
local clock = require "core.clock"
local demo = require "demo"

local P = t.demo()
local hr = t.login(demo.email("marcus"))
local cycle = F.cycle({ name = "Spring reviews", start_date = "2026-01-05", self_due = "2026-01-19",
  manager_due = "2026-02-02", sign_due = "2026-02-16" })
local R = F.reviews(cycle, { zoe = P.zoe, ethan = P.ethan, mia = P.mia })
F.cycle_admin(cycle, P.amara, "admin")

local function by_template(items, template, n)
  local k = 0
  for _, it in ipairs(items) do
    if it.template == template then
      k = k + 1
      if k == (n or 1) then return it end
    end
  end
end

t.test("a draft cycle's dry run lists every notification in date order, event steps last", function()
  local items = assert(wf.dry_run(wf.current_version("performance_review").id, F.reload(cycle)))
  local seq = {}
  for _, it in ipairs(items) do seq[#seq + 1] = (it.date or "-") .. " " .. it.template .. " " .. it.kind end
  t.same(seq, {
    "2026-01-05 review.invite on event",
    "2026-01-05 review.manager_started on event",
    "2026-01-16 review.self_reminder scheduled",
    "2026-01-20 review.self_reminder scheduled",
    "2026-01-30 review.manager_reminder scheduled",
    "2026-02-03 review.manager_late scheduled",
    "2026-02-14 review.sign_reminder scheduled",
    "2026-02-14 review.sign_reminder scheduled",
    "- review.invite on event",
    "- review.self_submitted on event",
    "- review.shared on event",
    "- review.closed on event",
    "- review.closed on event",
    "- review.manager_started on event",
    "- review.unshared on event",
  })
end)

t.test("each line says who gets it today, with the subject as the first of them will read it", function()
  local items = wf.dry_run(wf.current_version("performance_review").id, F.reload(cycle))
  local invite = items[1]
  t.eq(invite.event, "cycle.started")
  t.eq(invite.to, "Reviewees")
  t.eq(invite.filter, "everyone")
  t.eq(invite.count, 3)
  t.eq(invite.subject, "Spring reviews: your performance review has started")
  t.same(invite.recipients[1], { id = P.ethan.id, name = "Ethan Brooks", email = P.ethan.email })
  local self = by_template(items, "review.self_reminder")
  t.eq(self.rule, "3 days before the self-assessment due date")
  t.eq(self.filter, "self-assessment not submitted")
  t.eq(self.when, 1768554000) -- 2026-01-16T09:00:00Z
  t.eq(self.subject, "Reminder: your self-assessment for Spring reviews (due 19 Jan 2026)")
  local late = by_template(items, "review.manager_late")
  t.eq(late.rule, "1 day after the manager review due date")
  t.eq(late.cc, "Cycle admins and assistants")
  t.eq(late.count, 2)
  t.eq(late.recipients[1].cc, P.amara.email)
  t.eq(late.subject, "Overdue: your reviews for Spring reviews")
  local sign = by_template(items, "review.sign_reminder")
  t.eq(sign.count, 0, "nothing is shared yet")
  t.eq(sign.subject, "Please sign your review for Spring reviews")
  local shared = by_template(items, "review.shared")
  t.eq(shared.count, 3)
  t.eq(shared.note, "one mail each time it happens, about that review")
  local submitted = by_template(items, "review.self_submitted")
  t.eq(submitted.count, 2, "Lucas and Ravi")
  t.eq(submitted.subject, "Ethan Brooks submitted their self-assessment", "a mail about one review")
end)

t.test("recipients are as of today: someone who submitted is not on the reminder", function()
  F.set(R.zoe, { self_status = "submitted" })
  local items = wf.dry_run(wf.current_version("performance_review").id, F.reload(cycle))
  local self = by_template(items, "review.self_reminder")
  t.eq(self.count, 2)
  t.same({ self.recipients[1].name, self.recipients[2].name }, { "Ethan Brooks", "Mia Johansson" })
end)

t.test("the dry run sends nothing and plans nothing", function()
  local mails, jobs = F.mark(), db.value("SELECT count(*) FROM jobs")
  wf.dry_run(wf.builtin_source("performance_review"), F.reload(cycle))
  t.eq(F.mark(), mails)
  t.eq(db.value("SELECT count(*) FROM jobs"), jobs)
  t.eq(F.reload(cycle).phase, "draft")
end)

t.test("a step whose date the cycle lacks says so; an automatic transition shows as a line of its own", function()
  local src = wf.builtin_source("performance_review"):gsub('by = { "hr_admin", "cycle_admin" } },',
    'by = { "hr_admin", "cycle_admin" }, at = "sign_due", offset = 1 },', 1)
  local c = F.cycle({ name = "No signing date", self_due = "2026-01-19", manager_due = "2026-02-02" })
  local items = assert(wf.dry_run(src, c))
  local sign = by_template(items, "review.sign_reminder")
  t.eq(sign.date, nil)
  t.eq(sign.note, "not sent: the cycle has no date for the sharing and signing deadline")
  local tr
  for _, it in ipairs(items) do if it.kind == "transition" then tr = it end end
  t.eq(tr.label, "Close the cycle")
  t.eq(tr.note, "never: the cycle has no date for the sharing and signing deadline")
  db.exec("UPDATE cycles SET sign_due = '2026-02-16' WHERE id = ?", c.id)
  items = wf.dry_run(src, F.reload(c))
  for _, it in ipairs(items) do if it.kind == "transition" then tr = it end end
  t.eq(tr.date, "2026-02-17")
  t.eq(tr.note, "the cycle moves from writing to closed by itself")
end)

t.test("dates already gone are marked as past", function()
  local c = F.cycle({ name = "Last year", start_date = "2025-10-01", self_due = "2025-10-15", manager_due = "2026-01-20",
    sign_due = "2026-02-01" })
  local items = wf.dry_run(wf.builtin_source("performance_review"), c)
  t.eq(by_template(items, "review.self_reminder").past, true)
  t.eq(by_template(items, "review.manager_reminder").past, nil)
end)

t.test("the API dry run takes a source, a version or the current one, and says how long it took", function()
  local res = hr:post("/api/workflows/performance_review/dry-run", { cycle_id = cycle.id })
  t.status(res, 200)
  t.eq(res.json.cycle.name, "Spring reviews")
  t.eq(res.json.items[1].template, "review.invite")
  t.eq(type(res.json.ms), "number")
  local v = wf.current_version("performance_review")
  t.status(hr:post("/api/workflows/performance_review/dry-run", { cycle_id = cycle.id, version_id = v.id }), 200)
  t.status(hr:post("/api/workflows/performance_review/dry-run", { cycle_id = 9999 }), 422)
  t.status(hr:post("/api/workflows/performance_review/dry-run", { cycle_id = cycle.id, version_id = 9999 }), 422)
  t.status(hr:post("/api/workflows/no_such_flow/dry-run", { cycle_id = cycle.id }), 404)
end)

t.test("a dry run for 2,000 reviewees stays quick (figure printed)", function()
  local now = clock.now()
  local big = F.cycle({ name = "Everyone", self_due = "2026-01-19", manager_due = "2026-02-02", sign_due = "2026-02-16" })
  db.transaction(function()
    for i = 1, 2000 do
      local uid = db.insert([[INSERT INTO users(email, name, manager_id, department, created_at, updated_at)
        VALUES(?,?,?,?,?,?)]], ("person%04d@northwind.example"):format(i), ("Person %04d"):format(i),
        P.ravi.id + (i % 5), "Engineering", now, now)
      db.insert("INSERT INTO reviews(cycle_id, reviewee_id, manager_id, created_at, updated_at) VALUES(?,?,?,?,?)",
        big.id, uid, P.ravi.id + (i % 5), now, now)
    end
  end)
  local started = clock.mono_ms()
  local items = wf.dry_run(wf.builtin_source("performance_review"), big)
  local ms = clock.mono_ms() - started
  t.eq(items[1].count, 2000)
  t.eq(by_template(items, "review.self_reminder").count, 2000)
  local managers = by_template(items, "review.manager_reminder").count
  t.ok(managers >= 1 and managers <= 5, "managers get one mail each: " .. managers)
  print(("      dry run, 2,000 reviewees, built-in workflow: %d ms"):format(ms))
  local rule = wf.builtin_source("performance_review"):gsub('only = "self_not_submitted"',
    'only = function(r) return r.self_status ~= "submitted" end', 1)
  started = clock.mono_ms()
  items = wf.dry_run(rule, big)
  ms = clock.mono_ms() - started
  t.eq(by_template(items, "review.self_reminder").count, 2000)
  print(("      dry run, 2,000 reviewees, with a function rule: %d ms"):format(ms))
  started = clock.mono_ms()
  db.transaction(function() wf.start(big, P.marcus) end)
  ms = clock.mono_ms() - started
  print(("      start with the timeline planned: %d ms"):format(ms))
  started = clock.mono_ms()
  t.run_jobs()
  ms = clock.mono_ms() - started
  t.eq(#F.to("review.invite", 0, big.id), 2000)
  print(("      then 2,000 invitations queued right after, in slices: %d ms"):format(ms))
end)
