-- While automatic SFTP imports are on, the profile fields the file carries (name, email, job
-- title, department, location, hire date, manager) are read-only for everyone else — HR Admins
-- included, in the API, the edit form and the manual import — with a 409 that names the feed.
-- The feed itself still changes them; turning the switch off lifts it.
local t = require "testing"
local demo = require "demo"
local db = require "lib.db"
local F = dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "_feed.lua")

local P = t.demo()

local function field(id, name) return db.value("SELECT " .. name .. " FROM users WHERE id = ?", id) end

local function switch(on)
  local dir = F.folder()
  F.reset()
  local tom = t.login(demo.email("tom"))
  F.put(tom, { folder = dir, enabled = on })
  return tom, dir
end

t.test("while on, an HR Admin cannot change a kept field through the API: 409 naming the feed", function()
  switch(true)
  local hr = t.login(demo.email("marcus"))
  for _, change in ipairs({
    { job_title = "Chief Tinkerer" }, { department = "Elsewhere" }, { location = "Mars" },
    { hire_date = "2020-01-01" }, { name = "Someone Else" }, { email = "other.mia@northwind.example" },
    { manager_id = P.emma.id },
  }) do
    local k = next(change)
    local res = t.status(hr:patch("/api/users/" .. P.mia.id, change), 409, k)
    t.contains(res.json.error.message, "automatic SFTP import", k)
  end
  t.eq(field(P.mia.id, "job_title"), P.mia.job_title)
  t.eq(field(P.mia.id, "email"), P.mia.email)
  t.eq(field(P.mia.id, "manager_id"), P.mia.manager_id)
  local res = t.status(hr:patch("/api/users/" .. P.mia.id, { manager_id = require("lib.json").null }), 409)
  t.contains(res.json.error.message, "manager")
  t.eq(field(P.mia.id, "manager_id"), P.mia.manager_id, "clearing the manager is refused too")
  F.cleanup()
end)

t.test("while on, people cannot change their own name either", function()
  switch(true)
  local mia = t.login(demo.email("mia"))
  t.status(mia:patch("/api/users/" .. P.mia.id, { name = "Mia J." }), 409)
  t.eq(field(P.mia.id, "name"), P.mia.name)
  F.cleanup()
end)

t.test("while on, the edit form shows the kept fields read-only and saving it unchanged works", function()
  switch(true)
  local hr = t.login(demo.email("marcus"))
  local page = t.status(hr:get("/people/" .. P.mia.id .. "/edit"), 200)
  t.contains(page.body, "automatic SFTP import")
  t.match(page.body, 'id="job_title"[^>]*readonly')
  t.match(page.body, 'id="manager"[^>]*readonly')
  local res = hr:form("/people/" .. P.mia.id .. "/edit", { name = P.mia.name, email = P.mia.email,
    job_title = "Changed Anyway", department = P.mia.department, location = P.mia.location,
    hire_date = P.mia.hire_date, manager = demo.email("ravi"), csrf_token = hr.csrf })
  t.status(res, 303)
  t.contains(hr:follow(res).body, "automatic SFTP import")
  t.eq(field(P.mia.id, "job_title"), P.mia.job_title, "a changed value posted anyway is refused")
  F.cleanup()
end)

t.test("while on, the manual import refuses rows that change kept fields", function()
  switch(true)
  local hr = t.login(demo.email("marcus"))
  local res = t.status(hr:request("POST", "/api/users/import?dry_run=1", { body = "email,job_title\n"
    .. demo.email("mia") .. ",Imported Title\n", headers = { ["content-type"] = "text/csv" } }), 200)
  t.eq(res.json.ok, false)
  t.contains(res.json.problems[1].message, "automatic SFTP import")
  F.cleanup()
end)

t.test("the feed itself changes kept fields while on", function()
  local tom, dir = switch(true)
  local text = F.file():gsub(demo.email("mia") .. ',"Mia Johansson","Senior Engineer"',
    demo.email("mia") .. ',"Mia Johansson","Principal Engineer"')
  F.write(dir, "people.csv", text)
  local run = F.run(tom)
  t.eq(run.status, "done", run.error)
  t.eq(run.counts.updated, 1)
  t.eq(field(P.mia.id, "job_title"), "Principal Engineer")
  db.exec("UPDATE users SET job_title = ? WHERE id = ?", P.mia.job_title, P.mia.id)
  F.cleanup()
end)

t.test("guests' profiles are not kept: the feed never reads or deactivates guests", function()
  switch(true)
  local hr = t.login(demo.email("marcus"))
  local g = P["alex.morgan@clientcorp.example"]
  t.status(hr:patch("/api/users/" .. g.id, { job_title = "Senior Partner" }), 200)
  t.eq(field(g.id, "job_title"), "Senior Partner")
  F.cleanup()
end)

t.test("after the switch is off, the fields are editable again", function()
  local tom = switch(true)
  F.put(tom, { enabled = false })
  local hr = t.login(demo.email("marcus"))
  t.status(hr:patch("/api/users/" .. P.mia.id, { job_title = "Staff Engineer" }), 200)
  t.eq(field(P.mia.id, "job_title"), "Staff Engineer")
  local page = t.status(hr:get("/people/" .. P.mia.id .. "/edit"), 200)
  t.not_contains(page.body, "automatic SFTP import")
  t.no(page.body:find('id="job_title"[^>]*readonly'))
  F.cleanup()
end)
