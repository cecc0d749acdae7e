-- Roles: who may grant what, the last super user, the redundant HR Admin + HR Assistant.
local t = require "testing"
local demo = require "demo"
local db = require "lib.db"

local P = t.demo()
local super = t.login(demo.email("priya"))  -- HR Admin + Tech Admin
local hr = t.login(demo.email("marcus"))    -- HR Admin
local tech = t.login(demo.email("tom"))     -- Tech Admin
local assistant = t.login(demo.email("lena")) -- HR Assistant

local function roles_of(id) return db.column("SELECT role FROM user_roles WHERE user_id = ? ORDER BY role", id) end

t.test("a super user may grant any role", function()
  local res = super:put("/api/users/" .. P.zoe.id .. "/roles", { roles = { "hr_admin", "tech_admin" } })
  t.status(res, 200)
  t.same(roles_of(P.zoe.id), { "hr_admin", "tech_admin" })
  t.status(super:put("/api/users/" .. P.zoe.id .. "/roles", { roles = {} }), 200)
  t.same(roles_of(P.zoe.id), {})
end)

t.test("an HR Admin grants HR Admin and HR Assistant but not Tech Admin", function()
  t.status(hr:put("/api/users/" .. P.ethan.id .. "/roles", { roles = { "hr_assistant" } }), 200)
  t.status(hr:put("/api/users/" .. P.ethan.id .. "/roles", { roles = { "hr_admin" } }), 200)
  t.same(roles_of(P.ethan.id), { "hr_admin" })
  local res = hr:put("/api/users/" .. P.ethan.id .. "/roles", { roles = { "hr_admin", "tech_admin" } })
  t.status(res, 403)
  t.contains(res.json.error.message, "Tech Admin")
  t.same(roles_of(P.ethan.id), { "hr_admin" }, "nothing changed")
end)

t.test("revoking follows the same rules as granting", function()
  -- Tom is Tech Admin: an HR Admin cannot take that away
  t.status(hr:put("/api/users/" .. P.tom.id .. "/roles", { roles = {} }), 403)
  t.same(roles_of(P.tom.id), { "tech_admin" })
  t.status(super:put("/api/users/" .. P.tom.id .. "/roles", { roles = {} }), 200)
  t.status(super:put("/api/users/" .. P.tom.id .. "/roles", { roles = { "tech_admin" } }), 200)
end)

t.test("a Tech Admin or an HR Assistant alone cannot hand out roles", function()
  t.status(tech:put("/api/users/" .. P.leo.id .. "/roles", { roles = { "hr_assistant" } }), 403)
  t.status(assistant:put("/api/users/" .. P.leo.id .. "/roles", { roles = { "hr_assistant" } }), 403)
  t.same(roles_of(P.leo.id), {})
end)

t.test("holding HR Admin and HR Assistant together is called redundant", function()
  local res = hr:put("/api/users/" .. P.leo.id .. "/roles", { roles = { "hr_admin", "hr_assistant" } })
  t.status(res, 200)
  t.contains(res.json.notes[1], "redundant")
  local page = hr:get("/people/" .. P.leo.id .. "/roles")
  t.contains(page.body, "redundant")
  hr:put("/api/users/" .. P.leo.id .. "/roles", { roles = {} })
end)

t.test("the last super user's roles cannot be revoked, nor can they be locked, deactivated or deleted", function()
  local res = super:put("/api/users/" .. P.priya.id .. "/roles", { roles = { "hr_admin" } })
  t.status(res, 409)
  t.contains(res.json.error.message, "super user")
  t.same(roles_of(P.priya.id), { "hr_admin", "tech_admin" })
  local other = t.login(demo.email("marcus"))
  t.status(other:post("/api/users/" .. P.priya.id .. "/lock"), 409)
  t.status(other:post("/api/users/" .. P.priya.id .. "/deactivate"), 409)
  -- once a second super user exists, the first may step down
  t.status(super:put("/api/users/" .. P.marcus.id .. "/roles", { roles = { "hr_admin", "tech_admin" } }), 200)
  t.status(super:put("/api/users/" .. P.priya.id .. "/roles", { roles = { "hr_admin" } }), 200)
  -- and now Marcus is the last one
  local marcus = t.login(demo.email("marcus"))
  t.status(marcus:put("/api/users/" .. P.marcus.id .. "/roles", { roles = { "hr_admin" } }), 409)
  t.status(marcus:put("/api/users/" .. P.priya.id .. "/roles", { roles = { "hr_admin", "tech_admin" } }), 200)
end)

t.test("a role change gives the person a new session token on their next request", function()
  local leo = t.login(demo.email("leo"))
  local old = leo.jar.candor_session
  t.status(hr:put("/api/users/" .. P.leo.id .. "/roles", { roles = { "hr_assistant" } }), 200)
  t.status(leo:get("/api/me"), 200)
  t.neq(leo.jar.candor_session, old, "the cookie was replaced")
  t.same(leo:get("/api/me").json.roles, { "hr_assistant" })
  -- the old token no longer works
  local stale = t.client()
  stale.jar.candor_session = old
  t.status(stale:get("/api/me"), 401)
end)

t.test("the import maps the old single Admin role as the product documents say", function()
  local people = require "services.people"
  t.same(people.map_imported_roles({ "Admin" }), { "hr_assistant", "tech_admin" })
  t.same(people.map_imported_roles({ "HR Admin", "Admin" }), { "hr_admin", "tech_admin" })
  t.same(people.map_imported_roles({ "HR Admin" }), { "hr_admin" })
  t.same(people.map_imported_roles({ "HR Admin", "HR Assistant" }), { "hr_admin" })
  t.same(people.map_imported_roles({}), {})
  t.eq(people.map_imported_roles({ "Wizard" }), nil)
end)
