-- The ordered lists a big company's pages keep between requests (lib/memo.lua): the directory's
-- matching people in order and a cycle overview's matching reviews in order, with its
-- departments and locations. Each must follow a write at once, and never carry one viewer's
-- view to another.
local t = require "testing"
local demo = require "demo"
local db = require "lib.db"

local P = t.demo()
local hr = t.login(demo.email("marcus"))       -- HR Admin: sees everyone, deactivated people too
local employee = t.login(demo.email("zoe"))

local function names(res, field)
  local out = {}
  for i, x in ipairs(res.json[field]) do out[i] = x.name end
  return out
end

t.test("the directory's order follows a renamed person on the next request", function()
  -- one a page: a stale order would show the old first person
  local before = names(t.status(hr:get("/api/users?per_page=1"), 200), "users")
  t.neq(before[1], "Aaron Aardvark")
  t.status(hr:patch("/api/users/" .. P.zoe.id, { name = "Aaron Aardvark" }), 200)
  t.eq(names(hr:get("/api/users?per_page=1"), "users")[1], "Aaron Aardvark", "the kept order is dropped by the write")
end)

t.test("the directory's count and pages follow a deactivated person, and each viewer keeps their own view", function()
  local hr_total = hr:get("/api/users").json.total
  local emp_total = employee:get("/api/users").json.total
  t.status(hr:post("/api/users/" .. P.omar.id .. "/deactivate"), 200)
  t.eq(hr:get("/api/users").json.total, hr_total, "HR still sees the deactivated person")
  t.eq(employee:get("/api/users").json.total, emp_total - 1, "an employee no longer does")
  t.eq(hr:get("/api/users").json.total, hr_total, "and HR's view was not replaced by the employee's")
  t.status(hr:post("/api/users/" .. P.omar.id .. "/reactivate"), 200)
  t.eq(employee:get("/api/users").json.total, emp_total)
end)

local cycle
t.test("a cycle's overview follows a reviewee added, a status changed and a department moved", function()
  local res = hr:post("/api/cycles", { name = "Kept round", start_date = "2026-01-05", self_due = "2026-01-19",
    manager_due = "2026-02-02", sign_due = "2026-02-16" })
  cycle = res.json.id
  t.status(hr:post("/api/cycles/" .. cycle .. "/reviewees", { user_ids = { P.mia.id, P.lucas.id } }), 200)
  t.status(hr:post("/api/cycles/" .. cycle .. "/start"), 200)
  local first = hr:get("/api/cycles/" .. cycle .. "/reviewees")
  t.eq(first.json.total, 2)
  t.status(hr:post("/api/cycles/" .. cycle .. "/reviewees", { user_ids = { P.ethan.id } }), 200)
  t.eq(hr:get("/api/cycles/" .. cycle .. "/reviewees").json.total, 3, "the new reviewee is listed at once")
  t.eq(hr:get("/api/cycles/" .. cycle .. "/reviewees?status=done").json.total, 0)
  db.exec("UPDATE reviews SET closed_at = 1 WHERE cycle_id = ? AND reviewee_id = ?", cycle, P.mia.id)
  t.eq(hr:get("/api/cycles/" .. cycle .. "/reviewees?status=done").json.total, 1, "a status filter follows the write")
  t.not_contains(hr:get("/cycles/" .. cycle).body, "Deep Sea Lab")
  t.status(hr:patch("/api/users/" .. P.mia.id, { department = "Deep Sea Lab" }), 200)
  t.contains(hr:get("/cycles/" .. cycle).body, "Deep Sea Lab", "the department filter offers the new department")
end)

t.test("the overview's order follows a renamed reviewee", function()
  local before = names(hr:get("/api/cycles/" .. cycle .. "/reviewees?per_page=1"), "reviewees")
  t.neq(before[1], "Aaaron First")
  t.status(hr:patch("/api/users/" .. P.lucas.id, { name = "Aaaron First" }), 200)
  t.eq(names(hr:get("/api/cycles/" .. cycle .. "/reviewees?per_page=1"), "reviewees")[1], "Aaaron First")
end)

t.test("the directory's manager filter is a name, suggested as you type, not a list of every manager", function()
  local page = t.status(hr:get("/people"), 200).body
  t.contains(page, 'list="manager-names"')
  t.not_contains(page, "<option value=\"" .. P.ravi.id .. "\">", "no option per manager")
  local ravis = hr:get("/people?manager=ravi")
  t.contains(ravis.body, P.mia.name)
  t.not_contains(ravis.body, P.ethan.name, "Ethan reports to Lucas")
  local suggested = employee:get("/api/users?managers_only=1&q=ravi")
  t.same(names(suggested, "users"), { P.ravi.name }, "the type-ahead's answer: managers only")
  t.same(names(employee:get("/api/users?managers_only=1&q=Ethan"), "users"), {}, "Ethan manages nobody")
  local by_link = hr:get("/people?manager_id=" .. P.ravi.id)
  t.contains(by_link.body, P.ravi.name)
  t.contains(by_link.body, 'name="manager_id" value="' .. P.ravi.id .. '"', "a link's choice is kept by the form")
end)
