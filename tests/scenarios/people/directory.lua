-- The company directory: search, sort, filter, pages; menus show only permitted actions;
-- a page costs the same number of queries for 50 people or 1,000.
local t = require "testing"
local demo = require "demo"
local db = require "lib.db"
local clock = require "core.clock"

local P = t.demo()
local hr = t.login(demo.email("marcus"))
local employee = t.login(demo.email("zoe"))

t.test("search finds people by name, email or job title", function()
  local res = employee:get("/api/users?q=engineer")
  t.status(res, 200)
  t.ok(res.json.total >= 8)
  for _, u in ipairs(res.json.users) do
    t.ok((u.name .. u.email .. u.job_title):lower():find("engineer"), u.name)
  end
  t.eq(employee:get("/api/users?q=olivia.bennett").json.total, 1)
  t.eq(employee:get("/api/users?q=%25").json.total, 0, "% is not a wildcard")
end)

t.test("filters by department, location, manager and role", function()
  local eng = employee:get("/api/users?department=Engineering&per_page=200").json
  for _, u in ipairs(eng.users) do t.eq(u.department, "Engineering") end
  local berlin_eng = employee:get("/api/users?department=Engineering&location=Berlin").json
  t.ok(berlin_eng.total < eng.total and berlin_eng.total > 0)
  local team = employee:get("/api/users?manager_id=" .. P.ravi.id).json
  t.eq(team.total, 3)
  local techs = hr:get("/api/users?role=tech_admin").json
  t.eq(techs.total, 2)
end)

t.test("sorting by each column, both ways", function()
  for _, key in ipairs({ "name", "department", "location", "hire_date", "manager", "email" }) do
    local up = employee:get("/api/users?per_page=200&sort=" .. key).json.users
    local down = employee:get("/api/users?per_page=200&order=desc&sort=" .. key).json.users
    t.eq(#up, #down)
    t.neq(up[1].id, down[1].id, key)
  end
  local by_hire = employee:get("/api/users?sort=hire_date&per_page=3").json.users
  t.eq(by_hire[1].name, "Olivia Bennett")
end)

t.test("pages of results", function()
  local p1 = employee:get("/api/users?per_page=10&page=1").json
  local p2 = employee:get("/api/users?per_page=10&page=2").json
  t.eq(#p1.users, 10)
  t.eq(p1.total, p2.total)
  t.neq(p1.users[1].id, p2.users[1].id)
  t.eq(p1.pages, math.ceil(p1.total / 10))
end)

t.test("employees see no statuses or roles; admins see both", function()
  local u = employee:get("/api/users?q=priya").json.users[1]
  t.eq(u.status, nil)
  t.eq(u.roles, nil)
  local a = hr:get("/api/users?q=priya").json.users[1]
  t.eq(a.status, "active")
  t.same(a.roles, { "hr_admin", "tech_admin" })
end)

t.test("deactivated people disappear for employees but stay for admins", function()
  t.status(hr:post("/api/users/" .. P.oscar.id .. "/deactivate"), 200)
  t.eq(employee:get("/api/users?q=oscar").json.total, 0)
  t.status(employee:get("/api/users/" .. P.oscar.id), 404)
  t.eq(hr:get("/api/users?q=oscar").json.total, 1)
  t.status(hr:post("/api/users/" .. P.oscar.id .. "/reactivate"), 200)
end)

t.test("a directory page costs a constant number of queries, whatever the company size", function()
  local function cost() return t.count_queries(function() t.status(hr:get("/api/users?per_page=50"), 200) end) end
  local small = cost()
  local now = clock.now()
  db.transaction(function()
    for i = 1, 1000 do
      db.exec([[INSERT INTO users(email, name, job_title, department, location, manager_id, status, kind,
        created_at, updated_at) VALUES(?,?,?,?,?,?, 'active', 'employee', ?, ?)]],
        ("bulk%04d@northwind.example"):format(i), ("Bulk Person %04d"):format(i), "Analyst", "Operations", "Remote",
        P.henrik.id, now, now)
    end
  end)
  require("services.access").load_all()
  local big = cost()
  t.eq(big, small, "queries for a page of 50 with 1,000 more people")
  local page_cost = t.count_queries(function() t.status(hr:get("/people"), 200) end)
  t.ok(page_cost < 25, "the directory page runs " .. page_cost .. " queries")
end)

t.test("the directory page lists people with the actions the viewer may take, and only those", function()
  local as_hr = hr:get("/people?q=Ethan")
  t.status(as_hr, 200)
  t.contains(as_hr.body, "Ethan Brooks")
  t.contains(as_hr.body, "/people/" .. P.ethan.id .. "/deactivate")
  local as_emp = employee:get("/people?q=Ethan")
  t.contains(as_emp.body, "Ethan Brooks")
  t.not_contains(as_emp.body, "/deactivate")
  t.not_contains(as_emp.body, "/roles")
  t.not_contains(as_emp.body, "Add people")
end)

t.test("sort links and filters keep each other, and an empty result says what to do", function()
  local res = hr:get("/people?department=Engineering&sort=hire_date&order=desc")
  t.contains(res.body, 'aria-sort="descending"')
  t.contains(res.body, "department=Engineering")
  local none = hr:get("/people?q=nobody-is-called-this")
  t.contains(none.body, "Nobody matches")
end)

t.test("a profile shows details, manager chain and team", function()
  local res = employee:get("/people/" .. P.ravi.id)
  t.status(res, 200)
  t.contains(res.body, "Ravi Shankar")
  t.contains(res.body, "Daniel Kim") -- manager
  t.contains(res.body, "Lucas Moreau") -- report
end)
