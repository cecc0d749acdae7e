-- A dated step that sends many mails queues them a slice at a time: one transaction per slice of
-- workflows.SLICE_MS, with the event loop free between two (at 10,000 reviewees a reminder step
-- held the loop for 0.6 s in one transaction). Here SLICE_MS = 0: every mail is a slice of its
-- own. The slices stop when the cycle leaves the phase it ran in, and a step that runs again
-- queues nothing twice. The clock starts on Monday 2026-01-05 09:00 UTC.
local t = require "testing"
local F = dofile("tests/scenarios/workflows/_fixtures.lua")
local wf = require "services.workflows"
local db = require "lib.db"
local jobs = require "lib.jobs"
local json = require "lib.json"
local clock = require "core.clock"

local P = t.demo()
local cycle = F.cycle({ name = "Sliced reviews", start_date = "2026-01-05", self_due = "2026-01-19",
  manager_due = "2026-02-02", sign_due = "2026-02-16" })
F.reviews(cycle, { zoe = P.zoe, ethan = P.ethan, mia = P.mia, omar = P.omar, hana = P.hana })
local saved_slice = wf.SLICE_MS
local STEP_KEY = "cycle:" .. cycle.id .. ":wf:step:s3"
local step_payload

t.test("starting a cycle queues no invitation in its own transaction: a job does, right after, a slice at a time", function()
  db.transaction(function() wf.start(cycle, P.marcus) end)
  t.same(F.to("review.invite"), {}, "nothing queued by the start")
  t.eq(db.value("SELECT count(*) FROM jobs WHERE key LIKE ?", "cycle:" .. cycle.id .. ":wfevent:%"), 2,
    "a job per step of the start: the reviewees' invitations, their managers' mail")
  wf.SLICE_MS = 0
  local seen = {}
  t.each_commit(function() t.run_jobs() end, function()
    local k = #F.to("review.invite")
    if k > 0 and seen[#seen] ~= k then seen[#seen + 1] = k end
  end)
  wf.SLICE_MS = saved_slice
  t.same(F.to("review.invite"), F.emails(P.zoe, P.ethan, P.mia, P.omar, P.hana))
  t.same(seen, { 1, 2, 3, 4, 5 }, "one more invitation committed by each transaction")
  step_payload = json.decode(db.value("SELECT payload FROM jobs WHERE key = ?", STEP_KEY))
end)

t.test("a step's reminders are queued one slice per transaction, each reviewee once", function()
  wf.SLICE_MS = 0
  local before = F.mark()
  local seen = {} -- reminders queued after each transaction committed
  t.each_commit(function() t.advance_to("2026-01-16T09:00:00Z") end, function()
    local k = #F.to("review.self_reminder", before)
    if k > 0 and seen[#seen] ~= k then seen[#seen + 1] = k end
  end)
  wf.SLICE_MS = saved_slice
  t.same(F.to("review.self_reminder", before), F.emails(P.zoe, P.ethan, P.mia, P.omar, P.hana))
  t.same(seen, { 1, 2, 3, 4, 5 }, "one more mail committed by each transaction")
end)

t.test("the same step run again (after a crash cut it short) queues nothing twice", function()
  local before = F.mark()
  t.eq(step_payload.date, "2026-01-16")
  jobs.schedule(clock.now(), "workflow.step", step_payload, STEP_KEY)
  t.advance("1s")
  t.eq(db.value("SELECT count(*) FROM jobs WHERE key = ?", STEP_KEY), 0, "the step ran (and did not fail)")
  t.same(F.to("review.self_reminder", before), {}, "every reminder of that day was queued already")
end)

t.test("the slices stop when the cycle closes while the step is queueing", function()
  wf.SLICE_MS = 0
  local before = F.mark()
  local closed = false
  t.each_commit(function() t.advance_to("2026-01-20T09:00:00Z") end, function()
    if not closed and #F.to("review.self_reminder", before) == 2 then
      closed = true
      db.exec("UPDATE cycles SET phase = 'closed' WHERE id = ?", cycle.id)
    end
  end)
  wf.SLICE_MS = saved_slice
  t.ok(closed, "the cycle was closed between two slices")
  t.eq(#F.to("review.self_reminder", before), 2, "nothing queued after the cycle closed")
end)
