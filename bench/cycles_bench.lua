-- candor run --data DIR bench/cycles_bench.lua: the review-cycle figures, measured
-- in-process on a generated company of 10,000 people:
--   start_ms     starting a cycle for 10,000 reviewees (reviews' managers fixed, workflow
--                pinned, timeline jobs planned, the invitations' jobs planned)
--   invite_ms    those jobs, run right after: the 9,999 invitations and the managers' mails
--                rendered and queued, in slices of 3 ms
--   invite_hold_ms  the longest they hold the event loop: their longest stretch of work between two
--                pauses (core.timer.yield or sleep) in which the loop serves others
--   invite_tx_ms  their longest transaction
--   insert_ms    anchor: inserting 10,000 plain rows in one transaction on the same database
--   overview_ms  median server time of the company overview page of a 2,000-reviewee cycle
--                (half the manager reviews shared with a rating: the chart decrypts them)
-- and leaves the 2,000-reviewee cycle and an HR Admin API token for the wrk run, printed as
-- "cycle ID" and "token TOKEN". Output lines are "key value" for bench_cycles.sh.
local db = require "lib.db"
local crypt = require "lib.crypt"
local json = require "lib.json"
local util = require "lib.util"
local B = dofile("bench/company.lua")

local N = 10000
local now, day, ms = B.now, B.day, B.ms
local DATES = { start_date = day(0), self_due = day(14), manager_due = day(28), sign_due = day(42) }
local hr, all = B.company(N)

local cycles = require "services.cycles"

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
-- everyone with a manager to write their review (the head of the company has none: a cycle does
-- not start while a review has nobody to write it)
cycles.add_reviewees(hr, big.id, table.move(all, 2, #all, 1, {}))
local outbox_before = db.value("SELECT count(*) FROM outbox")
local start_ms = ms(function() cycles.start(hr, big.id) end)
local queued = db.value("SELECT count(*) FROM outbox") - outbox_before
local jobs = db.value("SELECT count(*) FROM jobs")
print("start_ms", start_ms)
print("insert_ms", insert_ms)
print("start_mails", queued)
print("start_jobs", jobs)

-- what the start leaves to the jobs that run right after it: the invitations (and the managers'
-- mails), read, worked out and queued with pauses for the loop; the longest stretch between two
-- pauses is the longest the loop is held
local job_keys = db.column("SELECT key FROM jobs WHERE key LIKE ? ORDER BY id", ("cycle:%d:wfevent:%%"):format(big.id))
local held = B.holds(function()
  for _, key in ipairs(job_keys) do assert(require("lib.jobs").run_now(key), "a start job failed: " .. key) end
end)
print("invite_ms", held.total_ms)
print("invite_hold_ms", held.hold_ms)
print("invite_tx_ms", held.tx_ms)
io.stderr:write("bench: the invitations' longest stretch ended at", held.where or "", "\n")
print("invite_mails", db.value("SELECT count(*) FROM outbox") - outbox_before)

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

local overview_ms, token = B.page_median("/cycles/" .. mid.id, hr)
print("overview_ms", overview_ms)
print("cycle", mid.id)
print("token", token)
