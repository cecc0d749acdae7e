-- candor run --data DIR bench/steps_bench.lua: a dated workflow step on a generated company of
-- 10,000 people: the built-in workflow's first self-assessment reminder of a cycle of 9,999
-- reviewees (9,999 mails). Prints "key value" lines for bench_steps.sh:
--   hold_ms    the longest transaction while the step ran: the longest the event loop is held
--              (the step yields between its slices)
--   total_ms   the whole step
--   slices     how many transactions it made
--   mails      mails queued
local db = require "lib.db"
local jobs = require "lib.jobs"
local clock = require "core.clock"
local B = dofile("bench/company.lua")

local hr, all = B.company(10000)
local cycles = require "services.cycles"
local cycle = cycles.create(hr, { name = "Bench steps", start_date = B.day(0), self_due = B.day(14),
  manager_due = B.day(28), sign_due = B.day(42) })
cycles.add_reviewees(hr, cycle.id, table.move(all, 2, #all, 1, {}))
cycles.start(hr, cycle.id)

local key = db.value("SELECT key FROM jobs WHERE kind = 'workflow.step' ORDER BY due_ms, id LIMIT 1")
assert(key, "the cycle planned no dated step")
local real, hold, slices = db.transaction, 0, 0
db.transaction = function(...)
  if db.depth() > 0 then return real(...) end
  local t0 = clock.mono_ms()
  local res = table.pack(real(...))
  hold, slices = math.max(hold, clock.mono_ms() - t0), slices + 1
  return table.unpack(res, 1, res.n)
end
local before = db.value("SELECT count(*) FROM outbox")
local total = B.ms(function() assert(jobs.run_now(key), "the step failed") end)
db.transaction = real
print("hold_ms", hold)
print("total_ms", total)
print("slices", slices)
print("mails", db.value("SELECT count(*) FROM outbox") - before)
