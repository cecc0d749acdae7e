-- candor run --data DIR bench/feedback_bench.lua: the 360 figures, measured in-process on a
-- generated company of 10,000 people:
--   start_ms     starting a 360 cycle of 2,000 reviewees (managers fixed, self and manager
--                requests made, workflow pinned, timeline planned, 2,000 "choose your reviewers"
--                mails rendered and queued)
--   overview_ms  median server time of the HR overview page of that cycle once every reviewee
--                has 8 approved reviewers (16,000 requests, a third written)
-- Output lines are "key value" for bench_feedback.sh.
local db = require "lib.db"
local clock = require "core.clock"
local util = require "lib.util"
local app = require "app"

local N, REVIEWEES, REVIEWERS = 10000, 2000, 8
local now = clock.now()
local function day(n) return util.format_date(now + n * 86400) end

local function ms(fn)
  local t0 = clock.mono_ms()
  fn()
  return clock.mono_ms() - t0
end

-- the company: a tree 6 levels deep, an HR Admin at the top
db.transaction(function()
  if db.value("SELECT count(*) FROM users") >= N then return end
  local ids = {}
  for i = 1, N do
    local manager = i > 1 and ids[math.max(1, (i - 2) // 8 + 1)] or nil
    ids[i] = db.insert([[INSERT INTO users(email, name, job_title, department, location, hire_date, manager_id,
        status, kind, created_at, updated_at) VALUES(?,?,?,?,?,?,?, 'active', 'employee', ?, ?)]],
      ("person%05d@bench.example"):format(i), ("Person %05d"):format(i), "Engineer",
      ({ "Engineering", "Sales", "Product", "Operations", "People" })[i % 5 + 1],
      ({ "Berlin", "London", "New York", "Remote" })[i % 4 + 1], "2020-01-01", manager, now, now)
  end
  db.exec("INSERT INTO user_roles(user_id, role, granted_at) VALUES(?, 'hr_admin', ?), (?, 'tech_admin', ?)",
    ids[1], now, ids[1], now)
end)
require("services.access").reload()

local sessions = require "services.sessions"
local cycles = require "services.feedback_cycles"
local hr = sessions.load_user(db.value("SELECT id FROM users WHERE email = 'person00001@bench.example'"))
local all = db.column("SELECT id FROM users WHERE kind = 'employee' ORDER BY id")

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

local token = db.transaction(function() return sessions.create_api_token(hr, "bench") end)
local times = {}
for i = 1, 25 do
  local req = { method = "GET", path = "/feedback/cycles/" .. c.id, query = "", body = "", peer = "127.0.0.1",
    headers = { host = "127.0.0.1", accept = "text/html", authorization = "Bearer " .. token } }
  local t0 = clock.mono_ms()
  local status = app.handle(req)
  times[i] = clock.mono_ms() - t0
  assert(status == 200, "overview answered " .. tostring(status))
end
table.sort(times)
print("overview_ms", times[13])
print("cycle", c.id)
