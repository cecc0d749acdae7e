-- candor run --data DIR bench/feedback_bench.lua: the 360 figures, measured in-process on a
-- generated company of 10,000 people:
--   start_ms     starting a 360 cycle of 2,000 reviewees (managers fixed, self and manager
--                requests made, workflow pinned, timeline planned, 2,000 "choose your reviewers"
--                mails rendered and queued)
--   overview_ms  median server time of the HR overview page of that cycle once every reviewee
--                has 8 approved reviewers (16,000 requests, a third written)
-- Output lines are "key value" for bench_feedback.sh.
local db = require "lib.db"
local B = dofile("bench/company.lua")

local N, REVIEWEES, REVIEWERS = 10000, 2000, 8
local now, day, ms = B.now, B.day, B.ms
local hr, all = B.company(N)
local cycles = require "services.feedback_cycles"

local c = cycles.create(hr, { name = "Bench 360", start_date = day(0), nominate_due = day(7), approve_due = day(10),
  write_due = day(24), release_date = day(31), rules = { min = 0, max = REVIEWERS, suggested = REVIEWERS } })
local reviewees = {}
for i = 2, REVIEWEES + 1 do reviewees[#reviewees + 1] = all[i] end
cycles.add_reviewees(hr, c.id, reviewees)
local before = db.value("SELECT count(*) FROM outbox")
local start_ms = ms(function() cycles.start(hr, c.id) end)
print("start_ms", start_ms)
print("start_mails", db.value("SELECT count(*) FROM outbox") - before)

-- every reviewee gets 8 approved reviewers (plain inserts: what the overview reads), a third
-- of them shared
db.transaction(function()
  local subjects = db.query("SELECT id, reviewee_id FROM feedback_subjects WHERE cycle_id = ?", c.id)
  for n, s in ipairs(subjects) do
    for k = 1, REVIEWERS do
      local reviewer = all[(s.reviewee_id + k * 37) % N + 1]
      if reviewer ~= s.reviewee_id then
        db.exec([[INSERT INTO feedback_nominations(subject_id, cycle_id, reviewer_id, relationship, status, approved_at,
            feedback_status, shared_at, created_at, updated_at) VALUES(?,?,?, 'peer', 'approved', ?, ?, ?, ?, ?)
          ON CONFLICT(subject_id, reviewer_id) DO NOTHING]], s.id, c.id, reviewer, now,
          (n + k) % 3 == 0 and "shared" or "not_started", (n + k) % 3 == 0 and now or nil, now, now)
      end
    end
    db.exec("UPDATE feedback_subjects SET nominations_done_at = ?, approved_at = ? WHERE id = ?", now, now, s.id)
  end
end)
print("requests", db.value("SELECT count(*) FROM feedback_nominations WHERE cycle_id = ?", c.id))

print("overview_ms", (B.page_median("/feedback/cycles/" .. c.id, hr)))
print("cycle", c.id)
