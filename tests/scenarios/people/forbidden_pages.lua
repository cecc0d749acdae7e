-- A page whose form the viewer may not send is not shown: opened by its address it answers a
-- 403 page (404 where even the existence of the thing must not leak), never a form whose Save
-- then fails. The allowed side is checked too: the same addresses open for the roles that may
-- use them. The 404 page of a signed-in person leads home, not to "Sign in".
local t = require "testing"
local demo = require "demo"
local db = require "lib.db"

local P = t.demo()
local cycle, closed, review
local guest = db.row("SELECT * FROM users WHERE kind = 'guest' LIMIT 1")

t.test("a running cycle and a closed one", function()
  local hr = t.login(demo.email("marcus"))
  cycle = t.status(hr:post("/api/cycles", { name = "Open round", start_date = "2026-01-05", self_due = "2026-01-19",
    manager_due = "2026-02-02", sign_due = "2026-02-16" }), 201).json
  t.status(hr:post("/api/cycles/" .. cycle.id .. "/reviewees", { user_ids = { P.mia.id } }), 200)
  t.status(hr:post("/api/cycles/" .. cycle.id .. "/start"), 200)
  review = db.value("SELECT id FROM reviews WHERE cycle_id = ?", cycle.id)
  closed = t.status(hr:post("/api/cycles", { name = "Old round", start_date = "2026-01-05", self_due = "2026-01-19",
    manager_due = "2026-02-02", sign_due = "2026-02-16" }), 201).json
  t.status(hr:post("/api/cycles/" .. closed.id .. "/reviewees", { user_ids = { P.omar.id } }), 200)
  t.status(hr:post("/api/cycles/" .. closed.id .. "/start"), 200)
  t.status(hr:post("/api/cycles/" .. closed.id .. "/transitions", { to = "closed" }), 200)
end)

-- who, address, status; a 403/404 page shows no form posting to that address
local function check(who, rows)
  local c = t.login(demo.email(who))
  for _, row in ipairs(rows) do
    local path, status = row[1], row[2]
    local res = c:get(path)
    t.eq(res.status, status, who .. " GET " .. path)
    if status >= 400 then
      t.not_contains(res.body, 'action="' .. path .. '"', who .. " " .. path .. ": no form to send")
      t.contains(res.body, 'href="/home"', who .. " " .. path .. ": a way home")
    else
      t.contains(res.body, 'method="post"', who .. " " .. path .. ": the form")
    end
  end
end

t.test("an employee opening admin and other people's pages by address gets 403 pages (404 for a review)", function()
  check("zoe", {
    { "/people/" .. P.marcus.id .. "/roles", 403 },
    { "/people/" .. P.marcus.id .. "/edit", 403 },
    { "/people/" .. P.marcus.id .. "/password", 403 },
    { "/people/new", 403 },
    { "/people/import", 403 },
    { "/admin", 403 },
    { "/admin/users/settings", 403 },
    { "/admin/security", 403 },
    { "/admin/api-tokens", 403 },
    { "/admin/mail-server", 403 },
    { "/admin/email-templates/user.invite", 403 },
    { "/admin/workflows/performance_review", 403 },
    { "/cycles/new", 403 },
    { "/cycles/" .. cycle.id .. "/edit", 403 },
    { "/cycles/" .. cycle.id .. "/questions", 403 },
    { "/cycles/" .. cycle.id .. "/reviewees", 403 },
    { "/cycles/" .. cycle.id .. "/admins", 403 },
    { "/reviews/" .. review, 404 },
    { "/people/" .. P.zoe.id .. "/edit", 200 }, -- her own name
  })
end)

t.test("an HR Assistant: cycles yes; roles, passwords, adding people and settings no", function()
  check("lena", {
    { "/people/" .. P.zoe.id .. "/roles", 403 },
    { "/people/" .. P.zoe.id .. "/password", 403 },
    { "/people/new", 403 },
    { "/admin/users/settings", 403 },
    { "/admin/security", 403 },
    { "/admin/workflows/performance_review", 403 },
    { "/cycles/" .. closed.id .. "/edit", 409 },
    { "/cycles/new", 200 },
    { "/cycles/" .. cycle.id .. "/edit", 200 },
    { "/cycles/" .. cycle.id .. "/admins", 200 },
    { "/people/" .. P.zoe.id .. "/edit", 200 },
  })
  local admins = t.login(demo.email("lena")):get("/cycles/" .. cycle.id .. "/admins").body
  t.not_contains(admins, '<option value="admin">', "she cannot make cycle admins, so it is not offered")
end)

t.test("a Tech Admin alone grants no role and runs no cycle", function()
  check("tom", {
    { "/people/" .. P.zoe.id .. "/roles", 403 },
    { "/cycles/new", 403 },
    { "/cycles/" .. cycle.id .. "/edit", 403 },
    { "/admin/workflows/performance_review", 403 },
    { "/admin/users/settings", 403 },
    { "/admin/security", 200 },
    { "/people/" .. P.zoe.id .. "/edit", 200 },
    { "/people/import", 200 },
  })
end)

t.test("an HR Admin: roles of employees yes, of guests no; a closed cycle's settings are not a form", function()
  check("marcus", {
    { "/people/" .. P.zoe.id .. "/roles", 200 },
    { "/people/" .. guest.id .. "/roles", 403 },
    { "/cycles/" .. closed.id .. "/edit", 409 },
    { "/cycles/" .. cycle.id .. "/edit", 200 },
    { "/people/" .. P.zoe.id .. "/password", 200 },
    { "/admin/security", 403 },
  })
  local admins = t.login(demo.email("marcus")):get("/cycles/" .. cycle.id .. "/admins").body
  t.contains(admins, '<option value="admin">Cycle admin</option>')
end)

t.test("the 404 page of a signed-in person leads home, not to sign in; signed out it offers sign in", function()
  local zoe = t.login(demo.email("zoe"))
  for _, path in ipairs({ "/no/such/page", "/people/99999", "/people/" .. P.zoe.id .. "/nothing-here" }) do
    local res = t.status(zoe:get(path), 404)
    t.contains(res.body, 'href="/home"', path)
    t.not_contains(res.body, ">Sign in<", path)
    t.contains(res.body, "Zoe Chen", path .. ": her menu, she is signed in")
  end
  local out = t.status(t.client():get("/no/such/page"), 404)
  t.contains(out.body, ">Sign in<")
end)
