-- candor run --data DIR bench/steps_bench.lua: a dated workflow step on a generated company of
-- 10,000 people: the built-in workflow's first self-assessment reminder of a cycle of 9,999
-- reviewees (9,999 mails). Prints "key value" lines for bench_steps.sh:
--   hold_ms    the longest the step held the event loop: its longest stretch of work between two
--              pauses (core.timer.yield or sleep) in which the loop serves others
--   tx_ms      its longest transaction
--   total_ms   the whole step
--   slices     how many transactions it made
--   pauses     how many times it let the loop serve others
--   mails      mails queued
-- and a pulse survey for everyone: its first round opening (9,999 invitations written) and the
-- invitation mails queued, both jobs run as the scheduler would:
--   survey_hold_ms   the longest stretch of the two
--   survey_total_ms  both, in all
--   survey_mails     invitation mails queued
local db = require "lib.db"
local jobs = require "lib.jobs"
local B = dofile("bench/company.lua")

local hr, all = B.company(10000)
local cycles = require "services.cycles"
local cycle = cycles.create(hr, { name = "Bench steps", start_date = B.day(0), self_due = B.day(14),
  manager_due = B.day(28), sign_due = B.day(42) })
cycles.add_reviewees(hr, cycle.id, table.move(all, 2, #all, 1, {}))
cycles.start(hr, cycle.id)

local key = db.value("SELECT key FROM jobs WHERE kind = 'workflow.step' ORDER BY due_ms, id LIMIT 1")
assert(key, "the cycle planned no dated step")
local before = db.value("SELECT count(*) FROM outbox")
local r = B.holds(function() assert(jobs.run_now(key), "the step failed") end)
print("hold_ms", r.hold_ms)
print("tx_ms", r.tx_ms)
io.stderr:write("bench: the step's longest stretch ended at", r.where or "", "\n")
print("total_ms", r.total_ms)
print("slices", r.transactions)
print("pauses", r.pauses)
print("mails", db.value("SELECT count(*) FROM outbox") - before)

-- a pulse survey for everyone: the round opens, then its invitations are mailed (what the cycle
-- left due, its start's invitations, runs first: the two would share the loop)
require("app").run_due_jobs({ inline = true })
local surveys = require "services.surveys"
local s = surveys.create(hr, { title = "Pulse", starts_on = B.day(0), frequency = "monthly", round_days = 5,
  questions = { { text = "How happy are you at work?", scale = 5 } }, participants = "everyone" })
surveys.launch(hr, s.id)
before = db.value("SELECT count(*) FROM outbox")
local sr = B.holds(function()
  assert(jobs.run_now(("survey:%d:open"):format(s.id)), "the opening failed")
  -- the invitations' job, here or in a task of the scheduler's
  local timer = require "core.timer"
  repeat timer.sleep(1) until require("app").run_due_jobs({ inline = true }) == 0 and jobs.running() == 0
end)
io.stderr:write("bench: the survey's longest stretch ended at", sr.where or "", "\n")
print("survey_hold_ms", sr.hold_ms)
print("survey_total_ms", sr.total_ms)
print("survey_mails", db.value("SELECT count(*) FROM outbox") - before)
