-- The list of objective cycles says how many take part in each: every employee who is not
-- deactivated for a cycle open to everyone, the chosen ones for a limited cycle, as
-- objective_cycles.count_people counts them one by one; the company is counted once, not once per
-- cycle.
local t = require "testing"
local db = require "lib.db"
local cycles = require "services.objective_cycles"
local H = dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "_helpers.lua")

local P = t.demo()
local everyone = { H.cycle({ name = "Q1" }), H.cycle({ name = "Q2", starts_on = "2026-04-01", ends_on = "2026-06-30",
  edit_until = "2026-04-30", update_until = "2026-07-15" }) }
local pilot = H.cycle({ name = "Pilot", participants = "selected" })
t.status(H.as("marcus"):post("/api/objective-cycles/" .. pilot.id .. "/people",
  { user_ids = { P.mia.id, P.zoe.id, P.ravi.id } }), 200)
db.exec("UPDATE users SET status = 'deactivated' WHERE id = ?", P.zoe.id)

local function listed()
  local out = {}
  for _, c in ipairs(t.status(H.as("marcus"):get("/api/objective-cycles"), 200).json.cycles) do out[c.id] = c.people end
  return out
end

t.test("each cycle's count is the count of its participants", function()
  local got = listed()
  local employees = db.value("SELECT count(*) FROM users WHERE kind = 'employee' AND status <> 'deactivated'")
  for _, c in ipairs(everyone) do t.eq(got[c.id], employees, c.name) end
  t.eq(got[pilot.id], 2, "Mia and Ravi: Zoe is deactivated")
  for id, n in pairs(got) do t.eq(n, cycles.count_people(cycles.get(id)), "cycle " .. id) end
end)

t.test("the people of the company are read once for all the cycles open to everyone", function()
  local counting
  for _, sql in ipairs(t.statements(function() H.as("marcus"):get("/api/objective-cycles") end)) do
    if sql:find("count", 1, true) and sql:find("objective_cycles c", 1, true) then counting = sql end
  end
  t.ok(counting, "the counting statement")
  local plan = {}
  for _, r in ipairs(db.query("EXPLAIN QUERY PLAN " .. counting, "[1, 2, 3]")) do plan[#plan + 1] = r.detail end
  local shown, once = table.concat(plan, " | "), false
  for i, line in ipairs(plan) do
    if line:find("^SCAN u") then
      t.ok(plan[i - 1] and plan[i - 1]:find("^SCALAR SUBQUERY"), "users scanned in a subquery of its own: " .. shown)
      once = true
    end
  end
  t.ok(once, "the company counted in one scan: " .. shown)
end)
