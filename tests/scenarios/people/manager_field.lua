-- The manager field of the person forms: a name or an email typed (the people API suggests names
-- as you type), not a list of every employee, so the page stays the same size for 50 people or
-- 10,000. An email, or a whole name only one person has (case and accents aside), picks the
-- manager; nobody or several is refused at the field, keeping what was typed; empty is nobody.
local t = require "testing"
local demo = require "demo"
local db = require "lib.db"

local P = t.demo()
local hr = t.login(demo.email("marcus"))

local function manager_of(key) return db.value("SELECT manager_id FROM users WHERE id = ?", P[key].id) end
local function edit(key, manager)
  return hr:form("/people/" .. P[key].id .. "/edit", { name = P[key].name, email = P[key].email, manager = manager })
end

t.test("the edit page shows the current manager's email and lists nobody else", function()
  local body = t.status(hr:get("/people/" .. P.zoe.id .. "/edit"), 200).body
  local lucas = db.row("SELECT u.email FROM users u JOIN users z ON z.manager_id = u.id WHERE z.id = ?", P.zoe.id)
  t.contains(body, 'name="manager" type="text" value="' .. lucas.email .. '"')
  t.not_contains(body, "<option", "no list of every employee")
  t.contains(body, 'data-suggest="/api/users?per_page=8&amp;q="')
end)

t.test("a manager typed as an email sets the reporting line", function()
  t.status(edit("zoe", "  " .. P.ravi.email:upper() .. " "), 303)
  t.eq(manager_of("zoe"), P.ravi.id)
end)

t.test("a whole name only one person has works too, whatever the case", function()
  t.status(edit("zoe", P.lucas.name:lower()), 303)
  t.eq(manager_of("zoe"), P.lucas.id)
end)

t.test("a name nobody has is refused at the field, keeping what was typed, and changes nothing", function()
  local res = t.status(edit("zoe", "Ravi Nobody"), 303)
  t.eq(res.headers.location, "/people/" .. P.zoe.id .. "/edit", "back to the form")
  local pg = t.status(hr:follow(res), 200).body
  t.contains(pg, 'value="Ravi Nobody"')
  t.contains(pg, "Nobody in Candor has the email or the name")
  t.eq(manager_of("zoe"), P.lucas.id)
end)

t.test("two people with the same name: their email is asked for", function()
  db.exec("UPDATE users SET name = ? WHERE id = ?", P.ravi.name, P.omar.id)
  local pg = t.status(hr:follow(t.status(edit("zoe", P.ravi.name), 303)), 200).body
  t.contains(pg, "Several people are called")
  t.eq(manager_of("zoe"), P.lucas.id)
  db.exec("UPDATE users SET name = ? WHERE id = ?", P.omar.name, P.omar.id)
end)

t.test("empty means no manager", function()
  t.status(edit("zoe", ""), 303)
  t.eq(manager_of("zoe"), nil)
  t.status(edit("zoe", P.lucas.email), 303)
  t.eq(manager_of("zoe"), P.lucas.id)
end)

t.test("adding a person with a manager typed by name", function()
  local res = t.status(hr:form("/people/new", { kind = "employee", name = "Ömer Łukasz Żak",
    email = "omer.zak@northwind.example", manager = P.chloe.name }), 303)
  t.match(res.headers.location, "^/people/%d+$")
  t.eq(db.value("SELECT manager_id FROM users WHERE email = 'omer.zak@northwind.example'"), P.chloe.id)
  t.not_contains(t.status(hr:get("/people/new"), 200).body, "<option", "no list of every employee")
end)

t.test("a cycle's admins page adds a person typed by email or name, refuses a name nobody has, lists nobody", function()
  local c = t.status(hr:post("/api/cycles", { name = "Typed admins", start_date = "2026-01-05",
    self_due = "2026-01-19", manager_due = "2026-02-02", sign_due = "2026-02-16" }), 201).json
  local path = "/cycles/" .. c.id .. "/admins"
  t.not_contains(t.status(hr:get(path), 200).body, "<option value=\"" .. P.zoe.id .. "\"", "no list of every employee")
  t.status(hr:form(path, { person = P.lena.email, role = "assistant" }), 303)
  t.status(hr:form(path, { person = P.amara.name:upper(), role = "admin" }), 303)
  local admins = db.query("SELECT user_id, role FROM cycle_admins WHERE cycle_id = ? ORDER BY user_id", c.id)
  local got = {}
  for _, a in ipairs(admins) do got[a.user_id] = a.role end
  t.same(got, { [P.lena.id] = "assistant", [P.amara.id] = "admin" })
  local page = t.status(hr:follow(t.status(hr:form(path, { person = "Nobody Here", role = "admin" }), 303)), 200).body
  t.contains(page, "Nobody in Candor has the email or the name")
  t.eq(db.value("SELECT count(*) FROM cycle_admins WHERE cycle_id = ?", c.id), 2, "nothing changed")
end)
