-- A 10,000-person company: creating a scheduled cycle for everyone and the daily hire-date check
-- run in slices (each its own transaction, the loop free between two), none holding the loop long.
local t = require "testing"
local db = require "lib.db"
local clock = require "core.clock"

local N = 10000
local _, boss, reports = t.team_of(N)
local hr = t.as("marcus")
local TPL = t.status(hr:post("/api/cycles", { name = "Scale template", start_date = "2026-01-05",
  self_due = "2026-01-12", manager_due = "2026-01-19", sign_due = "2026-01-26" }), 201).json

-- Runs the due jobs; returns how many transactions committed and the longest stretch (ms) one took
-- from the end of the one before.
local function timed(fn)
  local last, longest = clock.mono_ms(), 0
  local n = t.each_commit(fn, function()
    local now = clock.mono_ms()
    longest = math.max(longest, now - last)
    last = now
  end)
  return n, longest
end

t.test("a scheduled cycle for 10,000 people is filled in slices", function()
  local a = t.status(hr:post("/api/automations", { name = "Everyone", kind = "schedule", template_cycle_id = TPL.id,
    audience = { everyone = true }, first_start = "2026-01-10" }), 201).json
  local started = clock.mono_ms()
  local commits, longest = timed(function() t.run_jobs() end)
  local cid = db.value("SELECT cycle_id FROM automation_cycles WHERE automation_id = ?", a.id)
  t.ok(db.value("SELECT count(*) FROM reviews WHERE cycle_id = ?", cid) > N, "everyone is in")
  print(("      created and filled: %d ms in all, %d transactions, the longest %d ms"):format(
    clock.mono_ms() - started, commits, longest))
  t.ok(commits >= 10, "sliced: " .. commits .. " transactions")
  t.ok(longest < 250, "no slice holds the loop long: " .. longest .. " ms")
end)

t.test("the daily hire-date check over 10,000 people runs in slices and takes each match once", function()
  -- 300 of them were hired 90 days before 7 Jan 2026
  db.transaction(function()
    db.exec("UPDATE users SET hire_date = '2025-03-01' WHERE manager_id = ?", boss)
    local ids = {}
    for i = 1, 300 do ids[i] = reports[i * 7] end
    db.exec("UPDATE users SET hire_date = '2025-10-09' WHERE id IN (SELECT value FROM json_each(?))",
      require("lib.json").encode(ids))
  end)
  local a = t.status(hr:post("/api/automations", { name = "Probation", kind = "after_hire_date", template_cycle_id = TPL.id,
    audience = { everyone = true }, offset_amount = 90, offset_unit = "days" }), 201).json
  t.run_jobs()
  local commits, longest = timed(function() t.advance_to("2026-01-07T09:00:01Z") end)
  t.eq(db.value("SELECT count(*) FROM automation_people WHERE automation_id = ? AND cycle_id IS NOT NULL", a.id), 300)
  print(("      daily check: %d transactions, the longest %d ms"):format(commits, longest))
  t.ok(commits >= 5, "sliced: " .. commits .. " transactions")
  t.ok(longest < 250, "no slice holds the loop long: " .. longest .. " ms")
end)
