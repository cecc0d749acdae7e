-- The engine's interface as the cycles and reviews services use it: start and transitions with
-- their role checks, what each phase allows, the phase list, planning the timeline
-- (idempotent, re-planned when dates change, cancelled when a cycle goes), events, and
-- automatic transitions.
local t = require "testing"
local F = dofile("tests/scenarios/workflows/_fixtures.lua")
local wf = require "services.workflows"
local db = require "lib.db"
local clock = require "core.clock"

local P = t.demo()

-- A workflow with a calibration phase and an automatic close (see docs/scripting.md).
local CALIBRATION = [[
return {
  name = "Performance review with calibration",
  phases = {
    { id = "writing", label = "Writing", allows = { "self_write", "manager_write" } },
    { id = "calibration", label = "Calibration", allows = { "manager_write" } },
    { id = "sharing", label = "Sharing and signing", allows = { "share", "sign" } },
    { id = "closed", label = "Closed", allows = {} },
  },
  transitions = {
    { from = "draft", to = "writing", by = { "hr_admin", "hr_assistant", "cycle_admin" }, event = "cycle.started" },
    { from = "writing", to = "calibration", by = { "hr_admin", "cycle_admin" }, event = "cycle.calibration_started",
      label = "Start calibration" },
    { from = "calibration", to = "sharing", by = { "hr_admin" }, event = "cycle.sharing_started", label = "Open sharing" },
    { from = "sharing", to = "closed", at = "sign_due", offset = 1, event = "cycle.closed" },
  },
  timeline = {
    { on = "cycle.started", to = "reviewees", template = "review.invite" },
    { on = "cycle.calibration_started", to = "cycle_admins", template = "review.reminder" },
    { on = "cycle.sharing_started", to = "managers", only = "manager_not_shared", template = "review.manager_reminder" },
    { on = "cycle.closed", to = "cycle_admins", template = "review.closed" },
    { at = "manager_due", offset = -1, to = "managers", only = "manager_not_submitted", template = "review.manager_reminder",
      during = { "writing" } },
  },
}
]]

local builtin = wf.current_version("performance_review")

t.test("before the start a cycle is a draft: nothing is allowed, the phases show draft as current", function()
  local c = F.cycle({ self_due = "2026-01-19", manager_due = "2026-02-02", sign_due = "2026-02-16" })
  for _, a in ipairs({ "self_write", "manager_write", "share", "sign" }) do t.no(wf.allows(c, a), a) end
  local ph = wf.phases(c)
  t.same(ph, {
    { id = "draft", label = "Draft", current = true, done = false },
    { id = "writing", label = "Writing and sharing", current = false, done = false },
    { id = "closed", label = "Closed", current = false, done = false },
  })
  t.raises(function() wf.allows(c, "dance") end, "unknown activity")
end)

t.test("only the roles the workflow names may start a cycle; an employee or a Tech Admin may not", function()
  local c = F.cycle({ name = "Who starts", self_due = "2026-01-19", manager_due = "2026-02-02", sign_due = "2026-02-16" })
  F.reviews(c, { zoe = P.zoe })
  local err = t.raises(function() wf.start(c, P.zoe) end, "forbidden")
  t.eq(err.message, "Only HR Admins, HR Assistants, admins of the cycle, assistants of the cycle may start this cycle.")
  t.raises(function() wf.start(c, P.tom) end, "forbidden")
  t.eq(F.reload(c).phase, "draft")
  F.cycle_admin(c, P.amara, "assistant")
  wf.start(c, P.amara)
  t.eq(F.reload(c).phase, "writing")
  t.eq(F.reload(c).workflow_version_id, builtin.id)
  t.ok(F.reload(c).started_at)
  t.raises(function() wf.start(c, P.marcus) end, "conflict", "a cycle starts once")
end)

t.test("a started cycle allows what its phase allows, and shows where it is", function()
  local c = F.cycle({ name = "Allowed", self_due = "2026-01-19", manager_due = "2026-02-02", sign_due = "2026-02-16" })
  wf.start(c, P.marcus)
  c = F.reload(c)
  for _, a in ipairs({ "self_write", "manager_write", "share", "sign" }) do t.ok(wf.allows(c, a), a) end
  local ph = wf.phases(c)
  t.eq(ph[1].done, true)
  t.eq(ph[2].current, true)
  t.eq(ph[3].current, false)
end)

t.test("manual transitions check the roles in `by`; a phase the workflow cannot reach from here is a conflict", function()
  local c = F.cycle({ name = "Transitions", self_due = "2026-01-19", manager_due = "2026-02-02", sign_due = "2026-02-16" })
  F.cycle_admin(c, P.lena, "assistant")
  wf.start(c, P.marcus)
  t.same(wf.available_transitions(F.reload(c), P.marcus), { { to = "closed", label = "Close the cycle",
    event = "cycle.closed" } })
  t.same(wf.available_transitions(F.reload(c), P.lena), {}, "HR Assistant and cycle assistant: not in by")
  t.same(wf.available_transitions(F.reload(c), P.zoe), {})
  local e = t.raises(function() wf.transition(c, "writing", P.marcus) end, "conflict")
  t.contains(e.message, "no way from there to Writing and sharing")
  t.raises(function() wf.transition(c, "calibration", P.marcus) end, "conflict")
  e = t.raises(function() wf.transition(c, "closed", P.lena) end, "forbidden")
  t.eq(e.message, "Only HR Admins, admins of the cycle may close the cycle.")
  wf.transition(c, "closed", P.marcus)
  t.eq(F.reload(c).phase, "closed")
  for _, a in ipairs({ "self_write", "manager_write", "share", "sign" }) do t.no(wf.allows(F.reload(c), a), a) end
  t.raises(function() wf.transition(c, "writing", P.marcus) end, "conflict", "closed is the end")
  local d = F.cycle({ name = "Still a draft" })
  t.raises(function() wf.transition(d, "closed", P.marcus) end, "conflict")
end)

t.test("planning is idempotent: planning again replaces the jobs, it never adds to them", function()
  local c = F.cycle({ name = "Idempotent", self_due = "2026-01-19", manager_due = "2026-02-02", sign_due = "2026-02-16" })
  wf.start(c, P.marcus)
  local jobs = F.jobs(c)
  local count = db.value("SELECT count(*) FROM jobs")
  t.eq(wf.reschedule(c), 6)
  t.eq(wf.reschedule(c), 6)
  t.same(F.jobs(c), jobs)
  t.eq(db.value("SELECT count(*) FROM jobs"), count)
end)

t.test("when the dates change, the timeline moves with them; a date taken away takes its steps along", function()
  local c = F.cycle({ name = "Moving dates", self_due = "2026-01-19", manager_due = "2026-02-02", sign_due = "2026-02-16" })
  wf.start(c, P.marcus)
  db.exec("UPDATE cycles SET manager_due = '2026-02-09', sign_due = NULL WHERE id = ?", c.id)
  wf.reschedule(c)
  local p = ("cycle:%d:wf:step:"):format(c.id)
  t.same(F.jobs(c), {
    [p .. "s3"] = "2026-01-16T09:00Z",
    [p .. "s4"] = "2026-01-20T09:00Z",
    [p .. "s6"] = "2026-02-06T09:00Z",
    [p .. "s7"] = "2026-02-10T09:00Z",
  })
end)

t.test("a deleted cycle's jobs are all cancelled", function()
  local c = F.cycle({ name = "Deleted", self_due = "2026-01-19", manager_due = "2026-02-02", sign_due = "2026-02-16" })
  wf.start(c, P.marcus)
  require("app").schedule(clock.now() + 86400, "workflow.step", { cycle_id = c.id, step = "x" },
    ("cycle:%d:other"):format(c.id))
  t.ok(wf.stop(c) >= 7)
  t.eq(db.value("SELECT count(*) FROM jobs WHERE key LIKE ?", ("cycle:%d:%%"):format(c.id)), 0)
end)

t.test("a job for a cycle that is gone, or closed, sends nothing", function()
  t.run_jobs() -- what the earlier starts left
  local c = F.cycle({ name = "Gone", start_date = "2026-01-05", self_due = "2026-01-07", manager_due = "2026-02-02",
    sign_due = "2026-02-16" })
  F.reviews(c, { zoe = P.zoe })
  wf.start(c, P.marcus)
  db.exec("DELETE FROM cycles WHERE id = ?", c.id) -- the cycle went without stop()
  local before = F.mark()
  t.advance("3d")
  t.eq(F.mark(), before)
end)

t.test("events: unknown names are a programming error; review events need the review; a draft emits nothing", function()
  local c = F.cycle({ name = "Events", self_due = "2026-02-19", manager_due = "2026-03-02", sign_due = "2026-03-16" })
  local r = F.reviews(c, { zoe = P.zoe })
  t.eq(wf.emit(c, "review.shared", { review = r.zoe }), 0, "a draft has no version yet")
  wf.start(c, P.marcus)
  t.raises(function() wf.emit(c, "review.sharedd", { review = r.zoe }) end, "unknown workflow event")
  t.raises(function() wf.emit(c, "review.shared", {}) end, "needs data.review")
  t.eq(wf.emit(c, "review.manager_submitted", { review = r.zoe }), 0, "no step listens to it")
end)

t.test("a reviewee added to a running cycle is invited (review.added)", function()
  local c = F.cycle({ name = "Late joiner", self_due = "2026-02-19", manager_due = "2026-03-02", sign_due = "2026-03-16" })
  F.reviews(c, { zoe = P.zoe })
  wf.start(c, P.marcus)
  local r = F.reviews(c, { kai = P.kai })
  local before = F.mark()
  t.eq(wf.emit(c, "review.added", { review = r.kai }), 2, "Kai is invited; his manager hears about it")
  t.same(F.to("review.invite", before), { P.kai.email })
  t.same(F.to("review.manager_started", before), { P.ben.email })
end)

t.test("a reopened review is shared again: the reviewee hears again (the event key includes the reopening)", function()
  local c = F.cycle({ name = "Reopened", self_due = "2026-02-19", manager_due = "2026-03-02", sign_due = "2026-03-16" })
  local r = F.reviews(c, { zoe = P.zoe })
  wf.start(c, P.marcus)
  r.zoe = F.set(r.zoe, { manager_status = "shared" })
  t.eq(wf.emit(c, "review.shared", { review = r.zoe }), 1)
  t.eq(wf.emit(c, "review.shared", { review = r.zoe }), 0, "the same event twice is one mail")
  r.zoe = F.set(r.zoe, { reopened_at = clock.now() + 5 })
  t.eq(wf.emit(c, "review.shared", { review = r.zoe }), 1)
end)

t.test("a calibration phase: each phase allows its own activities, transitions emit their events", function()
  local v = wf.save_version("performance_review", CALIBRATION, "calibration", P.marcus)
  local c = F.cycle({ name = "Calibrated", self_due = "2026-01-19", manager_due = "2026-02-02", sign_due = "2026-02-16" })
  F.reviews(c, { zoe = P.zoe, ethan = P.ethan, mia = P.mia })
  F.cycle_admin(c, P.amara, "admin")
  wf.start(c, P.marcus)
  c = F.reload(c)
  t.eq(c.workflow_version_id, v.id)
  local function allowed() local o = {} for _, a in ipairs({ "self_write", "manager_write", "share", "sign" }) do
    if wf.allows(F.reload(c), a) then o[#o + 1] = a end end return o end
  t.same(allowed(), { "self_write", "manager_write" })
  t.same(wf.available_transitions(c, P.amara), { { to = "calibration", label = "Start calibration",
    event = "cycle.calibration_started" } })
  local before = F.mark()
  wf.transition(c, "calibration", P.amara)
  t.run_jobs() -- the event's mails are queued right after the transition commits
  t.same(allowed(), { "manager_write" })
  t.same(F.to("review.reminder", before), { P.amara.email }, "the cycle's admins hear that calibration started")
  t.raises(function() wf.transition(c, "sharing", P.amara) end, "forbidden", "only HR Admins open sharing")
  t.same(wf.available_transitions(F.reload(c), P.amara), {})
  local r = db.row("SELECT * FROM reviews WHERE cycle_id = ? AND reviewee_id = ?", c.id, P.zoe.id)
  F.set(r, { manager_status = "shared" })
  wf.transition(c, "sharing", P.marcus)
  t.run_jobs()
  t.same(allowed(), { "share", "sign" })
  t.same(F.to("review.manager_reminder", before), F.emails(P.lucas, P.ravi), "managers with unshared reviews")
  local ph = wf.phases(F.reload(c))
  t.same({ ph[1].done, ph[2].done, ph[3].done, ph[4].current, ph[5].current }, { true, true, true, true, false })
  t.raises(function() wf.transition(c, "closed", P.marcus) end, "conflict", "the close is automatic")
end)

t.test("an automatic transition happens on its date and emits its event; a step limited to a phase stays quiet", function()
  local c = db.row("SELECT * FROM cycles WHERE name = 'Calibrated'")
  local p = ("cycle:%d:wf:"):format(c.id)
  t.same(F.jobs(c), { [p .. "transition:4"] = "2026-02-17T09:00Z", [p .. "step:s5"] = "2026-02-01T09:00Z" })
  local before = F.mark()
  t.advance_to("2026-02-17T08:00:00Z")
  t.same(F.to("review.manager_reminder", before, c.id), {}, "the writing-phase reminder does not run during sharing")
  t.eq(F.reload(c).phase, "sharing")
  t.advance_to("2026-02-17T09:00:00Z")
  local closed = F.reload(c)
  t.eq(closed.phase, "closed")
  t.eq(closed.closed_at, clock.now())
  t.same(F.to("review.closed", before, c.id), { P.amara.email })
  t.same(F.jobs(c), {})
  wf.use_version("performance_review", 0, P.marcus)
end)

t.test("a custom `only` rule runs in the sandbox with status data; a rule that fails for some reviews spares the others",
  function()
  local src = wf.builtin_source("performance_review"):gsub('only = "self_not_submitted"',
    'only = function(r) if r.reviewee.location == "London" then error("no London") end '
      .. 'return r.self_status ~= "submitted" and r.reviewee.department == "Engineering" end', 1)
  wf.save_version("performance_review", src, "engineering only", P.marcus)
  local today = clock.now()
  local function day(n) return os.date("!%Y-%m-%d", today + n * 86400) end
  local c = F.cycle({ name = "Custom rule", start_date = day(0), self_due = day(5), manager_due = day(10), sign_due = day(15) })
  -- Engineering: zoe (Berlin), omar (London), hana (Remote, submitted); Sales: nina
  local r = F.reviews(c, { zoe = P.zoe, omar = P.omar, hana = P.hana, nina = P.nina })
  F.set(r.hana, { self_status = "submitted" })
  wf.start(c, P.marcus)
  local before = F.mark()
  t.advance("3d")
  t.same(F.to("review.self_reminder", before, c.id), { P.zoe.email })
  wf.use_version("performance_review", 0, P.marcus)
end)

t.test("a rule that loops for some data at run time is stopped; the step carries on without it and the next step works",
  function()
  local src = wf.builtin_source("performance_review"):gsub('only = "self_not_submitted"',
    'only = function(r) while r.reviewee.location == "Remote" do end return true end', 1)
  wf.save_version("performance_review", src, "loops for remote people", P.marcus)
  local today = clock.now()
  local function day(n) return os.date("!%Y-%m-%d", today + n * 86400) end
  local c = F.cycle({ name = "Looping rule", start_date = day(0), self_due = day(5), manager_due = day(10),
    sign_due = day(15) })
  F.reviews(c, { amara = P.amara, hana = P.hana, zoe = P.zoe })
  wf.start(c, P.marcus)
  local before = F.mark()
  local started = clock.mono_ms()
  t.advance("3d")
  t.ok(clock.mono_ms() - started < 3000, "stopped within its budget")
  -- Amara (London) passes first, then Hana (Remote) exhausts the budget: the rule is dropped
  -- for everyone, Amara and Zoe included
  t.same(F.to("review.self_reminder", before, c.id), {})
  t.advance("5d") -- the manager reminder (a named filter) still goes out
  t.same(F.to("review.manager_reminder", before, c.id), F.emails(P.isabel, P.lucas, P.marcus))
  t.eq(t.client():get("/healthz").status, 200)
  wf.use_version("performance_review", 0, P.marcus)
end)

t.test("a rule that is slow for everyone is stopped once its calls for one step pass their total budget", function()
  local src = wf.builtin_source("performance_review"):gsub('only = "self_not_submitted"',
    'only = function(r) local n = 0 for i = 1, 300000 do n = n + i end return n > 0 end', 1)
  wf.save_version("performance_review", src, "slow rule", P.marcus)
  local today = clock.now()
  local function day(n) return os.date("!%Y-%m-%d", today + n * 86400) end
  local c = F.cycle({ name = "Slow rule", start_date = day(0), self_due = day(5), manager_due = day(10), sign_due = day(15) })
  F.reviews(c, { zoe = P.zoe, ethan = P.ethan, mia = P.mia, omar = P.omar, hana = P.hana, leo = P.leo })
  wf.start(c, P.marcus)
  local saved = wf.STEP_INSTRUCTIONS
  wf.STEP_INSTRUCTIONS = 3000000 -- about three calls' worth
  local before = F.mark()
  t.advance("3d")
  wf.STEP_INSTRUCTIONS = saved
  t.same(F.to("review.self_reminder", before, c.id), {})
  -- (a dry run against the running cycle would run its own, now suspended, version: a draft
  -- with the same people runs the text)
  local d = F.cycle({ name = "Slow rule, draft", start_date = day(3), self_due = day(5), manager_due = day(10),
    sign_due = day(15) })
  F.reviews(d, { zoe = P.zoe, ethan = P.ethan, mia = P.mia, omar = P.omar, hana = P.hana, leo = P.leo })
  local items = wf.dry_run(src, F.reload(d))
  local step
  for _, it in ipairs(items) do if it.step == 3 then step = it end end
  t.eq(step.count, 6, "with the normal total the same rule passes everyone")
  wf.use_version("performance_review", 0, P.marcus)
end)
