-- Adding people through the form, editing, the admin overview with greyed-out actions.
local t = require "testing"
local demo = require "demo"

local P = t.demo()
local hr = t.login(demo.email("marcus"))
local tech = t.login(demo.email("tom"))
local employee = t.login(demo.email("zoe"))

t.test("adding a person keeps what was typed when validation fails", function()
  local res = hr:form("/people/new", { kind = "employee", name = "Ana Silva", email = "not-an-email",
    job_title = "Designer", department = "Product" })
  t.status(res, 303)
  t.eq(res.headers.location, "/people/new", "back to the form's own page")
  local pg = t.status(hr:follow(res), 200)
  t.contains(pg.body, 'value="Ana Silva"')
  t.contains(pg.body, 'value="Designer"')
  t.contains(pg.body, "is not an email address")
  t.eq(require("lib.db").value("SELECT count(*) FROM users WHERE name = 'Ana Silva'"), 0, "nobody was added")
  t.not_contains(t.status(hr:get("/people/new"), 200).body, 'value="Ana Silva"', "kept once: a reload starts afresh")
end)

t.test("adding a person with an invitation queues the mail with the personal message", function()
  local res = hr:form("/people/new", { kind = "employee", name = "Ana Silva", email = "ana.silva@northwind.example",
    job_title = "Designer", department = "Product", location = "Remote", manager_id = tostring(P.chloe.id),
    invite = "on", message = "Welcome to the design team!" })
  t.status(res, 303)
  t.match(res.headers.location, "^/people/%d+$")
  local mails = t.outbox({ to = "ana.silva@northwind.example" })
  t.eq(#mails, 1)
  t.eq(mails[1].template, "user.invite")
  t.contains(mails[1].body_text, "Welcome to the design team!")
  t.contains(mails[1].body_text, "/password/set?token=")
end)

t.test("the invitation link lets the new person choose a password and sign in", function()
  local mail = t.outbox({ to = "ana.silva@northwind.example" })[1]
  local token = mail.body_text:match("token=([%w%-_]+)")
  local c = t.client()
  t.status(c:get("/password/set?token=" .. token), 200)
  local weak = c:form("/password/set", { token = token, password = "password123", password_again = "password123" })
  t.status(weak, 303)
  t.eq(weak.headers.location, "/password/set?token=" .. token)
  local again = t.status(c:follow(weak), 200)
  t.contains(again.body, "too common")
  t.not_contains(again.body, "password123", "a password is never kept")
  local ok = c:form("/password/set", { token = token, password = "tangerine walrus kite", password_again = "tangerine walrus kite" })
  t.status(ok, 303)
  t.ok(t.login("ana.silva@northwind.example", "tangerine walrus kite"))
  t.status(c:follow(c:form("/password/set", { token = token, password = "another long phrase",
    password_again = "another long phrase" })), 410)
end)

t.test("someone who chose their password from the invitation may act at once (the evaluator knows they are active)",
  function()
  local ana = t.login("ana.silva@northwind.example", "tangerine walrus kite")
  t.status(ana:get("/api/users?q=Chloe"), 200, "the directory is for every active employee")
  t.eq(require("services.access").can(ana.user, "directory.view"), true)
end)

t.test("the admin overview shows every admin action; the ones you can't use say which role would", function()
  local res = tech:get("/admin")
  t.status(res, 200)
  t.contains(res.body, "Delete review cycles")
  t.contains(res.body, 'class="admin-action locked"')
  t.contains(res.body, "Needs HR Admin")
  local super = t.login(demo.email("priya"))
  local all = super:get("/admin").body
  t.contains(all, 'href="/admin/users/settings"')
end)

t.test("employees without a role have no administration menu and are refused there", function()
  local home = employee:get("/home")
  t.not_contains(home.body, 'href="/admin"')
  t.status(employee:get("/admin/users/settings"), 403)
end)

t.test("the user settings page saves the guest policy and refuses bad domains, keeping the input", function()
  local super = t.login(demo.email("priya"))
  local before = super:get("/api/settings/users").json.guest_policy
  t.neq(before, "hr_managers")
  local res = super:form("/admin/users/settings", { guest_policy = "hr_managers", company_domains = "northwind.example, bad domain!" })
  local pg = t.status(super:follow(res), 200)
  t.contains(pg.body, 'value="northwind.example, bad domain!"', "the domains as typed")
  t.contains(pg.body, 'value="hr_managers" checked', "the policy as chosen")
  t.contains(pg.body, 'class="field-error"')
  t.eq(super:get("/api/settings/users").json.guest_policy, before, "nothing was saved")
  local ok = super:form("/admin/users/settings", { guest_policy = "hr_managers", company_domains = "northwind.example" })
  t.status(ok, 303)
  t.eq(super:get("/api/settings/users").json.guest_policy, "hr_managers")
end)
