-- Passwords: changing your own (the current one is required, other sessions end), and the HR
-- side (users.set_password: HR Admins set someone's password on a page; sending reset
-- instructions). A new password never switches 2-step verification off.
local t = require "testing"
local demo = require "demo"
local db = require "lib.db"
local totp = require "core.totp"

local P = t.demo()
local NEW = "correct horse battery staple 9"

t.test("changing your own password needs the current one, and signs out your other sessions", function()
  local here, elsewhere = t.login(demo.email("zoe")), t.login(demo.email("zoe"))
  local wrong = t.status(here:put("/api/account/password", { current_password = "not the password",
    password = NEW }), 422)
  t.ok(wrong.json.error.fields.current_password)
  t.status(here:put("/api/account/password", { current_password = t.DEMO_PASSWORD, password = "short" }), 422)
  t.status(here:put("/api/account/password", { current_password = t.DEMO_PASSWORD, password = "password123" }), 422,
    "a common password")
  local cookie = here.jar.candor_session
  t.status(here:put("/api/account/password", { current_password = t.DEMO_PASSWORD, password = NEW }), 204)
  t.neq(here.jar.candor_session, cookie, "this session gets a new token")
  t.status(here:get("/api/me"), 200, "and stays signed in")
  t.status(elsewhere:get("/api/me"), 401, "the other session ended")
  t.status(t.client():post("/api/session", { email = demo.email("zoe"), password = t.DEMO_PASSWORD }), 401)
  t.status(t.client():post("/api/session", { email = demo.email("zoe"), password = NEW }), 200)
  t.eq(#t.outbox({ to = demo.email("zoe"), template = "security.password_changed" }), 1)
  t.eq(db.value("SELECT count(*) FROM audit_log WHERE action = 'password.change' AND actor_id = ?", P.zoe.id), 1)
end)

t.test("guessing the current password is throttled", function()
  local c = t.login(demo.email("leo"))
  for _ = 1, 5 do
    t.status(c:put("/api/account/password", { current_password = "guess guess", password = NEW }), 422)
  end
  t.status(c:put("/api/account/password", { current_password = "guess guess", password = NEW }), 422)
  t.status(c:put("/api/account/password", { current_password = t.DEMO_PASSWORD, password = NEW }), 429)
  t.advance("16m")
  t.status(c:put("/api/account/password", { current_password = t.DEMO_PASSWORD, password = NEW }), 204)
end)

t.test("the password form on the security page", function()
  local c = t.login(demo.email("hana"))
  local refused = t.status(c:form("/account/password", { current_password = t.DEMO_PASSWORD, password = NEW,
    password_again = NEW .. "x" }), 303)
  t.eq(refused.headers.location, "/account/security")
  local mismatch = t.status(c:follow(refused), 200)
  t.contains(mismatch.body, "not the same")
  t.not_contains(mismatch.body, NEW, "passwords are never kept")
  local ok = t.status(c:form("/account/password", { current_password = t.DEMO_PASSWORD, password = NEW,
    password_again = NEW }), 303)
  t.eq(ok.headers.location, "/account/security")
  t.status(c:get("/account/security"), 200)
end)

t.test("an API token cannot change its owner's password", function()
  local token = db.transaction(function()
    return require("services.api_tokens").create(P.tom, "script")
  end)
  local res = t.client():request("PUT", "/api/account/password", { body = { current_password = t.DEMO_PASSWORD,
    password = NEW }, headers = { authorization = "Bearer " .. token } })
  t.status(res, 403)
end)

t.test("an HR Admin sets someone's password on a page; they are signed out and told by mail", function()
  local emma = t.login(demo.email("emma"))
  local marcus = t.login(demo.email("marcus"))
  local profile = t.status(marcus:get("/people/" .. P.emma.id), 200)
  t.contains(profile.body, 'href="/people/' .. P.emma.id .. '/password"', "the menu offers it")
  local pg = t.status(marcus:get("/people/" .. P.emma.id .. "/password"), 200)
  t.contains(pg.body, "Set the password of Emma Schulz")
  local differ = t.status(marcus:follow(marcus:form("/people/" .. P.emma.id .. "/password", { password = NEW,
    password_again = "different" })), 200)
  t.contains(differ.body, "not the same")
  local short = t.status(marcus:follow(marcus:form("/people/" .. P.emma.id .. "/password", { password = "short",
    password_again = "short" })), 200)
  t.contains(short.body, "at least")
  t.status(emma:get("/api/me"), 200, "nothing changed for Emma yet")
  local done = t.status(marcus:form("/people/" .. P.emma.id .. "/password", { password = NEW, password_again = NEW }), 303)
  t.eq(done.headers.location, "/people/" .. P.emma.id)
  t.status(emma:get("/api/me"), 401, "Emma's sessions ended")
  t.status(t.client():post("/api/session", { email = demo.email("emma"), password = NEW }), 200)
  t.eq(#t.outbox({ to = demo.email("emma"), template = "security.password_changed" }), 1)
  local e = db.row("SELECT * FROM audit_log WHERE action = 'password.set_by_admin' ORDER BY id DESC LIMIT 1")
  t.eq(e.actor_id, P.marcus.id)
  t.eq(e.target_id, P.emma.id)
end)

t.test("only those allowed set passwords, and never their own there", function()
  local tom = t.login(demo.email("tom"))
  t.status(tom:get("/people/" .. P.emma.id .. "/password"), 403, "Tech Admins may not (policy)")
  t.status(tom:put("/api/users/" .. P.emma.id .. "/password", { password = NEW }), 403)
  local profile = t.status(tom:get("/people/" .. P.emma.id), 200).body
  t.contains(profile, "/people/" .. P.emma.id .. "/password-reset", "Tom may send reset instructions")
  t.not_contains(profile, 'href="/people/' .. P.emma.id .. '/password"', "but the menu does not offer setting one")
  t.status(t.login(demo.email("lena")):get("/people/" .. P.emma.id .. "/password"), 403, "HR Assistants may not")
  local marcus = t.login(demo.email("marcus"))
  t.status(marcus:get("/people/" .. P.marcus.id .. "/password"), 409, "your own: use the security page")
end)

t.test("a password set by HR does not switch off 2-step verification", function()
  local ava = t.login(demo.email("ava"))
  local secret = ava:post("/api/account/2fa/setup").json.secret
  t.status(ava:post("/api/account/2fa/confirm", { code = totp.code(secret, t.now()) }), 200)
  t.status(t.login(demo.email("marcus")):put("/api/users/" .. P.ava.id .. "/password", { password = NEW }), 204)
  local c = t.client()
  local res = t.status(c:post("/api/session", { email = demo.email("ava"), password = NEW }), 200)
  t.eq(res.json.two_step_required, true)
end)
