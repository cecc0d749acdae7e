-- Guests: real accounts with external emails, the "Who can invite guests?" setting, isolation.
local t = require "testing"
local demo = require "demo"
local db = require "lib.db"

local P = t.demo()
local super = t.login(demo.email("priya"))
local hr = t.login(demo.email("marcus"))        -- HR Admin
local tech = t.login(demo.email("tom"))         -- Tech Admin (manages Ines and David)
local manager = t.login(demo.email("ravi"))     -- a manager with no role
local employee = t.login(demo.email("zoe"))     -- no reports, no role
local n = 0

local function try(client)
  n = n + 1
  return client:post("/api/users", { kind = "guest", name = "Guest " .. n, email = ("guest%d@partner.example"):format(n) })
end

local function policy(v) t.status(super:put("/api/settings/users", { guest_policy = v }), 200) end

t.test("Off: nobody, not even HR, can add guests", function()
  policy("off")
  t.status(try(super), 403)
  t.status(try(hr), 403)
end)

t.test("Only HR: HR Admins can, Tech Admins and others cannot", function()
  policy("hr")
  t.status(try(hr), 201)
  t.status(try(tech), 403)
  t.status(try(employee), 403)
end)

t.test("Only HR and managers: in the directory only administrators add people", function()
  policy("hr_managers")
  t.status(try(hr), 201)
  -- a manager without an admin role may nominate guests (360, later) but not use the Add Users window
  local people = require "services.people"
  t.ok(people.may_invite_guest(P.ravi, "nomination"))
  t.no(people.may_invite_guest(P.zoe, "nomination"))
  t.status(try(manager), 403)
end)

t.test("On, everyone: regular users may nominate guests", function()
  policy("everyone")
  local people = require "services.people"
  t.ok(people.may_invite_guest(P.zoe, "nomination"))
  t.status(try(hr), 201)
  policy("hr")
end)

t.test("guests need an address outside the company's domains", function()
  local res = hr:post("/api/users", { kind = "guest", name = "Inside", email = "someone@northwind.example" })
  t.status(res, 422)
  t.contains(res.json.error.fields.email, "external")
  local sub = hr:post("/api/users", { kind = "guest", name = "Sub", email = "a@mail.northwind.example" })
  t.status(sub, 422)
end)

t.test("a guest signs in, but sees no directory, no profiles and no internal data", function()
  local g = t.login("alex.morgan@clientcorp.example")
  t.status(g:get("/api/me"), 200)
  t.eq(g:get("/api/me").json.kind, "guest")
  t.status(g:get("/api/users"), 403)
  t.status(g:get("/api/users/" .. P.olivia.id), 403)
  t.status(g:get("/people"), 403)
  t.status(g:get("/org"), 403)
  t.status(g:get("/admin/license"), 403)
  local home = g:get("/home")
  t.status(home, 200)
  t.not_contains(home.body, 'href="/people"')
end)

t.test("employees don't see guests in the directory; admins do", function()
  local list = employee:get("/api/users?q=alex").json
  t.eq(list.total, 0)
  local admin_list = hr:get("/api/users?kind=guest").json
  t.ok(admin_list.total >= 1)
end)

t.test("guests don't count towards the licensed users", function()
  local before = super:get("/api/license").json
  policy("hr")
  t.status(try(hr), 201)
  local after = super:get("/api/license").json
  t.eq(after.licensed_users, before.licensed_users)
  t.eq(after.guests, before.guests + 1)
end)

t.test("an admin turns a guest into a regular user, who then counts", function()
  local g = db.row("SELECT id FROM users WHERE kind = 'guest' ORDER BY id DESC LIMIT 1")
  local before = super:get("/api/license").json.licensed_users
  t.status(super:post("/api/users/" .. g.id .. "/convert"), 200)
  t.eq(super:get("/api/license").json.licensed_users, before + 1)
  t.eq(db.value("SELECT kind FROM users WHERE id = ?", g.id), "employee")
end)

t.test("an admin can lock or delete a guest", function()
  local g = db.row("SELECT id FROM users WHERE kind = 'guest' AND email LIKE 'guest%' ORDER BY id LIMIT 1")
  t.status(super:post("/api/users/" .. g.id .. "/lock"), 200)
  t.status(super:delete("/api/users/" .. g.id), 204)
end)
