-- candor run --data DIR bench/cycles_bench.lua: the review-cycle figures, measured
-- in-process on a generated company of 10,000 people:
--   start_ms     starting a cycle for 10,000 reviewees (reviews' managers fixed, workflow
--                pinned, timeline jobs planned, 10,000 invitations rendered and queued)
--   insert_ms    anchor: inserting 10,000 plain rows in one transaction on the same database
--   overview_ms  median server time of the company overview page of a 2,000-reviewee cycle
--                (half the manager reviews shared with a rating: the chart decrypts them)
-- and leaves the 2,000-reviewee cycle and an HR Admin API token for the wrk run, printed as
-- "cycle ID" and "token TOKEN". Output lines are "key value" for bench_cycles.sh.
local db = require "lib.db"
local clock = require "core.clock"
local crypt = require "lib.crypt"
local json = require "lib.json"
local app = require "app"

local N = 10000
local now = clock.now()
local util = require "lib.util"
local function day(n) return util.format_date(now + n * 86400) end
local DATES = { start_date = day(0), self_due = day(14), manager_due = day(28), sign_due = day(42) }

local function ms(fn)
  local t0 = clock.mono_ms()
  fn()
  return clock.mono_ms() - t0
end

-- the company: a tree 6 levels deep, an HR Admin at the top of People
db.transaction(function()
  local first = db.value("SELECT count(*) FROM users")
  if first >= N then return end
  local ids = {}
  for i = 1, N do
    local manager = i > 1 and ids[math.max(1, (i - 2) // 8 + 1)] or nil
    ids[i] = db.insert([[INSERT INTO users(email, name, job_title, department, location, hire_date, manager_id,
        status, kind, created_at, updated_at) VALUES(?,?,?,?,?,?,?, 'active', 'employee', ?, ?)]],
      ("person%05d@bench.example"):format(i), ("Person %05d"):format(i), "Engineer",
      ({ "Engineering", "Sales", "Product", "Operations", "People" })[i % 5 + 1],
      ({ "Berlin", "London", "New York", "Remote" })[i % 4 + 1], ("20%02d-%02d-01"):format(10 + i % 15, i % 12 + 1),
      manager, now, now)
  end
  db.exec("INSERT INTO user_roles(user_id, role, granted_at) VALUES(?, 'hr_admin', ?), (?, 'tech_admin', ?)",
    ids[1], now, ids[1], now)
end)
require("services.access").reload()

local sessions = require "services.sessions"
local cycles = require "services.cycles"
local hr = sessions.load_user(db.value("SELECT id FROM users WHERE email = 'person00001@bench.example'"))
local all = db.column("SELECT id FROM users WHERE kind = 'employee' ORDER BY id")

-- anchor: 10,000 plain rows in one transaction
db.exec("CREATE TABLE IF NOT EXISTS bench_rows(id INTEGER PRIMARY KEY, a INTEGER, b TEXT)")
local insert_ms = ms(function()
  db.transaction(function()
    for i = 1, N do db.exec("INSERT INTO bench_rows(a, b) VALUES(?, ?)", i, "row " .. i) end
  end)
end)
db.exec("DROP TABLE bench_rows")

-- start a cycle for 10,000 reviewees
local spec = util.copy(DATES)
spec.name = "Bench 10k"
local big = cycles.create(hr, spec)
cycles.add_reviewees(hr, big.id, all)
local outbox_before = db.value("SELECT count(*) FROM outbox")
local start_ms = ms(function() cycles.start(hr, big.id) end)
local queued = db.value("SELECT count(*) FROM outbox") - outbox_before
local jobs = db.value("SELECT count(*) FROM jobs")
print("start_ms", start_ms)
print("insert_ms", insert_ms)
print("start_mails", queued)
print("start_jobs", jobs)

-- a 2,000-reviewee cycle with progress
spec.name = "Bench 2k"
local mid = cycles.create(hr, spec)
local two = {}
for i = 2, 2001 do two[#two + 1] = all[i] end
cycles.add_reviewees(hr, mid.id, two)
cycles.start(hr, mid.id)
db.transaction(function()
  local n = 0
  for _, r in ipairs(db.query("SELECT id FROM reviews WHERE cycle_id = ?", mid.id)) do
    n = n + 1
    if n % 2 == 0 then
      db.exec("INSERT INTO answers(review_id, author, question_id, value_enc, updated_at) VALUES(?,?,?,?,?)",
        r.id, "manager", "q4", crypt.seal("answers", "value_enc", { r.id, "manager", "q4" }, json.encode(n % 5 + 1)), now)
      db.exec("UPDATE reviews SET manager_status = 'shared', shared_at = ?, self_status = 'submitted' WHERE id = ?", now, r.id)
    end
  end
end)

local token = db.transaction(function() return require("services.api_tokens").create(hr, "bench") end)
local times = {}
for i = 1, 25 do
  local req = { method = "GET", path = "/cycles/" .. mid.id, query = "", body = "", peer = "127.0.0.1",
    headers = { host = "127.0.0.1", accept = "text/html", authorization = "Bearer " .. token } }
  local t0 = clock.mono_ms()
  local status = app.handle(req)
  times[i] = clock.mono_ms() - t0
  assert(status == 200, "overview answered " .. tostring(status))
end
table.sort(times)
print("overview_ms", times[13])
print("cycle", mid.id)
print("token", token)
