-- The first run of a new company (no demo): while nobody has an account, the set-up code that
-- `candor serve` prints lets /setup create the first person, a super user who is signed in at
-- once; without the code, or once anybody exists, nothing is created and the page is closed.
local t = require "testing"
local db = require "lib.db"
local first_run = require "services.first_run"

local function people() return db.value("SELECT count(*) FROM users") end

local GOOD = { name = "Ömer Łukasz Żak", email = "omer@newco.example", password = "three unrelated words",
  password_again = "three unrelated words" }
local function with(over)
  local f = {}
  for k, v in pairs(GOOD) do f[k] = v end
  for k, v in pairs(over) do f[k] = v end
  return f
end

t.test("with no set-up code issued, the sign-in page shows and /setup creates nobody", function()
  t.eq(people(), 0)
  t.contains(t.status(t.client():get("/"), 200).body, "Sign in")
  t.eq(t.status(t.client():get("/setup"), 303).headers.location, "/")
  local c = t.client()
  t.contains(t.status(c:follow(t.status(c:form("/setup", with({ code = "ABCD-EFGH-JKLM-NPQR" })), 303)), 200).body,
    "set up already")
  t.eq(people(), 0)
end)

local code

t.test("while the code waits, the sign-in page leads to the set-up form", function()
  code = first_run.open()
  t.match(code, "^%w%w%w%w%-%w%w%w%w%-%w%w%w%w%-%w%w%w%w$")
  t.eq(t.status(t.client():get("/"), 303).headers.location, "/setup")
  local page = t.status(t.client():get("/setup"), 200).body
  t.contains(page, "Set up Candor")
  t.contains(page, 'name="code"')
  t.not_contains(page, code, "the page never shows the code")
end)

t.test("a wrong code creates nobody and sends the form back with the name and email kept", function()
  local c = t.client()
  local res = t.status(c:form("/setup", with({ code = "ABCD-EFGH-JKLM-NPQR" })), 303)
  t.match(res.headers.location, "^/setup%?")
  local page = t.status(c:follow(res), 200).body
  t.contains(page, "not the set-up code")
  t.contains(page, 'value="Ömer Łukasz Żak"')
  t.contains(page, 'value="omer@newco.example"')
  t.not_contains(page, "three unrelated words", "the password is never sent back")
  t.eq(people(), 0)
end)

t.test("a weak or mistyped password, or a missing name, creates nobody", function()
  for _, f in ipairs({ with({ code = code, password = "short", password_again = "short" }),
    with({ code = code, password_again = "three unrelated wordz" }), with({ code = code, name = "" }) }) do
    local c = t.client()
    t.status(c:form("/setup", f), 303)
    t.eq(people(), 0)
  end
end)

t.test("a form posted from another site is refused", function()
  t.status(t.client():form("/setup", with({ code = code }), { origin = "https://evil.example" }), 403)
  t.eq(people(), 0)
end)

t.test("the right code (in any case, with spaces) creates the first super user and signs them in", function()
  local c = t.client()
  local res = t.status(c:form("/setup", with({ code = " " .. code:lower():gsub("%-", " ") .. " " })), 303)
  t.eq(res.headers.location, "/home")
  local home = t.status(c:follow(res), 200).body
  t.contains(home, "Hello, Ömer")
  t.contains(home, "Getting started", "the checklist of what to do next")
  local u = db.row("SELECT * FROM users WHERE email = 'omer@newco.example'")
  t.eq(u.status, "active")
  t.eq(u.kind, "employee")
  t.same(db.column("SELECT role FROM user_roles WHERE user_id = ? ORDER BY role", u.id), { "hr_admin", "tech_admin" })
  t.eq(db.value("SELECT count(*) FROM audit_log WHERE action = 'setup.first_person' AND target_id = ?", u.id), 1)
  -- the password chosen works for signing in
  t.login("omer@newco.example", "three unrelated words")
end)

t.test("once someone exists the code is spent, /setup is closed and no new code is issued", function()
  local c = t.client()
  local res = t.status(c:form("/setup", with({ code = code, email = "mallory@newco.example" })), 303)
  t.contains(t.status(c:follow(res), 200).body, "set up already")
  t.eq(t.status(t.client():get("/setup"), 303).headers.location, "/")
  t.contains(t.status(t.client():get("/"), 200).body, "Sign in")
  t.eq(first_run.open(), nil)
  t.eq(people(), 1)
end)
