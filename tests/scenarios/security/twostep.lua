-- 2-step verification: enrolling with a QR code and a first code, signing in with a code from
-- the app (±1 step, never twice), recovery codes (once each), "remember this browser", turning
-- it off, and the Tech Admin setting that obliges everyone with a role to set it up. All on the
-- virtual clock: codes are computed for t.now().
local t = require "testing"
local demo = require "demo"
local db = require "lib.db"
local crypt = require "lib.crypt"
local totp = require "core.totp"

local P = t.demo()

local function code_at(secret, offset) return totp.code(secret, t.now() + (offset or 0)) end

-- Leaves the clock at the start of a fresh 30-second step (so ±1 step tests are exact).
local function fresh_step()
  local into = t.now() % 30
  t.advance(30 - into)
end

-- Enrols email through the API; returns the signed-in client, the secret and the recovery codes.
local function enrol(email)
  local c = t.login(email)
  local setup = t.status(c:post("/api/account/2fa/setup"), 200)
  local secret = setup.json.secret
  local done = t.status(c:post("/api/account/2fa/confirm", { code = code_at(secret) }), 200)
  fresh_step()
  return c, secret, done.json.recovery_codes
end

-- Signs in with the password only: returns the client (pending) and the answer.
local function password_step(email, opts)
  local c = t.client(opts)
  local res = t.status(c:post("/api/session", { email = email, password = t.DEMO_PASSWORD }), 200)
  c.csrf = res.json.csrf_token
  return c, res
end

t.test("enrolment shows a secret and an otpauth URI, and needs a right code to finish", function()
  local c = t.login(demo.email("zoe"))
  t.eq(t.status(c:get("/api/account/2fa"), 200).json.enabled, false)
  local setup = t.status(c:post("/api/account/2fa/setup"), 200)
  t.match(setup.json.secret, "^[A-Z2-7]+$")
  t.eq(#setup.json.secret, 32)
  t.match(setup.json.otpauth_uri, "^otpauth://totp/")
  t.contains(setup.json.otpauth_uri, "secret=" .. setup.json.secret)
  t.eq(c:get("/api/account/2fa").json.setup_pending, true)
  local wrong = t.status(c:post("/api/account/2fa/confirm", { code = "000000" == code_at(setup.json.secret)
    and "111111" or "000000" }), 422)
  t.ok(wrong.json.error.fields.code)
  t.eq(c:get("/api/account/2fa").json.enabled, false, "a wrong code does not turn it on")
  local ok = t.status(c:post("/api/account/2fa/confirm", { code = code_at(setup.json.secret) }), 200)
  t.eq(#ok.json.recovery_codes, 10)
  local seen = {}
  for _, rc in ipairs(ok.json.recovery_codes) do
    t.match(rc, "^[a-z2-7][a-z2-7][a-z2-7][a-z2-7]%-[a-z2-7][a-z2-7][a-z2-7][a-z2-7]%-[a-z2-7][a-z2-7][a-z2-7][a-z2-7]$")
    t.no(seen[rc], "recovery codes differ")
    seen[rc] = true
  end
  local status = c:get("/api/account/2fa").json
  t.eq(status.enabled, true)
  t.eq(status.recovery_codes_left, 10)
  t.eq(#t.outbox({ to = demo.email("zoe"), template = "security.twostep_on" }), 1, "a mail tells the owner")
  t.eq(db.value("SELECT count(*) FROM audit_log WHERE action = 'twostep.enable' AND target_id = ?", P.zoe.id), 1)
end)

t.test("the secret is encrypted at rest, bound to its user, and recovery codes are stored hashed", function()
  local _, secret, codes = enrol(demo.email("leo"))
  local row = db.row("SELECT secret_enc FROM user_totp WHERE user_id = ?", P.leo.id)
  t.not_contains(row.secret_enc, secret)
  t.eq(crypt.open("user_totp", "secret_enc", { P.leo.id }, row.secret_enc), secret)
  t.no(crypt.try_open("user_totp", "secret_enc", { P.zoe.id }, row.secret_enc), "another user's row does not open it")
  for _, h in ipairs(db.column("SELECT code_hash FROM recovery_codes WHERE user_id = ?", P.leo.id)) do
    for _, rc in ipairs(codes) do
      t.not_contains(h, rc)
      t.not_contains(h, (rc:gsub("%-", "")))
    end
  end
end)

t.test("after the password, a person with 2-step must give a code before anything works", function()
  local _, secret = enrol(demo.email("hana"))
  local c, res = password_step(demo.email("hana"))
  t.eq(res.json.two_step_required, true)
  t.status(c:get("/api/me"), 401, "the pending session is not signed in")
  t.status(c:get("/api/users"), 401)
  local pending_cookie = c.jar.candor_session
  local ok = t.status(c:post("/api/session/2fa", { code = code_at(secret) }), 200)
  t.neq(c.jar.candor_session, pending_cookie, "a new session token after the second step")
  t.neq(ok.json.csrf_token, c.csrf, "and a new CSRF token")
  c.csrf = ok.json.csrf_token
  t.eq(t.status(c:get("/api/me"), 200).json.email, demo.email("hana"))
  t.eq(db.value("SELECT count(*) FROM sessions WHERE pending_2fa <> 0 AND user_id = ?", P.hana.id), 0,
    "the pending session is gone")
  t.ok(db.value("SELECT count(*) FROM audit_log WHERE action = 'signin.success' AND actor_id = ? AND details LIKE ?",
    P.hana.id, '%"second_step":"totp"%') >= 1)
end)

t.test("a code is accepted one step early or late, not two, and never twice", function()
  local _, secret = enrol(demo.email("ethan"))
  local email = demo.email("ethan")
  t.advance("30s") -- the enrolment used up the step before this one
  -- one step late (the previous 30 s): accepted
  local c = password_step(email)
  t.status(c:post("/api/session/2fa", { code = code_at(secret, -30) }), 200)
  -- the same code again (same step, not newer than the last accepted one): refused
  c = password_step(email)
  t.status(c:post("/api/session/2fa", { code = code_at(secret, -30) }), 401)
  -- two steps early: refused; one step early: accepted
  t.status(c:post("/api/session/2fa", { code = code_at(secret, 60) }), 401)
  t.status(c:post("/api/session/2fa", { code = code_at(secret, 30) }), 200)
  -- now the current code is older than the last accepted one: refused as a replay
  c = password_step(email)
  t.status(c:post("/api/session/2fa", { code = code_at(secret) }), 401)
  t.advance("60s")
  t.status(c:post("/api/session/2fa", { code = code_at(secret) }), 200, "a later step works again")
end)

t.test("a recovery code signs in once, and the count goes down", function()
  local _, _, codes = enrol(demo.email("mia"))
  local c = password_step(demo.email("mia"))
  local ok = t.status(c:post("/api/session/2fa", { recovery_code = codes[3] }), 200)
  t.eq(ok.json.second_step, "recovery_code")
  t.eq(ok.json.recovery_codes_left, 9)
  local again = password_step(demo.email("mia"))
  t.status(again:post("/api/session/2fa", { recovery_code = codes[3] }), 401, "used already")
  -- typed in upper case without dashes, in the code field: still recognised
  t.status(again:post("/api/session/2fa", { code = codes[4]:gsub("%-", ""):upper() }), 200)
  t.eq(db.value("SELECT count(*) FROM recovery_codes WHERE user_id = ? AND used_at IS NULL", P.mia.id), 8)
end)

t.test("wrong codes slow down with growing delays (429), then the right one works", function()
  local _, secret = enrol(demo.email("omar"))
  local c = password_step(demo.email("omar"))
  for _ = 1, 5 do t.status(c:post("/api/session/2fa", { code = "12345x" }), 401) end
  t.status(c:post("/api/session/2fa", { code = "999999" == code_at(secret) and "888888" or "999999" }), 401)
  local slow = t.status(c:post("/api/session/2fa", { code = code_at(secret) }), 429, "even the right code waits")
  local wait = tonumber(slow.headers["retry-after"])
  t.ok(wait and wait > 0 and wait <= 15 * 60)
  t.advance(wait + 1)
  t.status(c:post("/api/session/2fa", { code = code_at(secret) }), 200)
  t.eq(db.value("SELECT count(*) FROM signin_throttle WHERE scope = 'code' AND key = ?", tostring(P.omar.id)), 0,
    "a right code clears the count")
  t.ok(db.value("SELECT count(*) FROM audit_log WHERE action = 'signin.failure' AND actor_id = ? AND details LIKE ?",
    P.omar.id, '%"reason":"code"%') >= 6, "failed codes are audited")
end)

t.test("the code must come within 10 minutes of the password", function()
  local _, secret = enrol(demo.email("isabel"))
  local c = password_step(demo.email("isabel"))
  t.advance("11m")
  local late = t.status(c:post("/api/session/2fa", { code = code_at(secret) }), 401)
  t.eq(late.json.error.code, "no_pending_signin")
end)

t.test("\"remember this browser\" skips the code for 30 days on that browser only", function()
  local _, secret = enrol(demo.email("jonas"))
  local email = demo.email("jonas")
  local mine = password_step(email)
  t.status(mine:post("/api/session/2fa", { code = code_at(secret), remember = true }), 200)
  t.ok(mine.jar.candor_trusted, "a trust cookie was set")
  mine.jar.candor_session = nil
  local again = t.status(mine:post("/api/session", { email = email, password = t.DEMO_PASSWORD }), 200)
  t.eq(again.json.two_step_required, false, "this browser is remembered")
  local other = password_step(email)
  t.eq(select(2, password_step(email)).json.two_step_required, true, "another browser is not")
  other.jar.candor_trusted = mine.jar.candor_trusted:sub(1, -3) .. "xx"
  t.eq(t.status(other:post("/api/session", { email = email, password = t.DEMO_PASSWORD }), 200).json.two_step_required,
    true, "a forged trust cookie is not")
  t.advance("31d")
  mine.jar.candor_session = nil
  t.eq(t.status(mine:post("/api/session", { email = email, password = t.DEMO_PASSWORD }), 200).json.two_step_required,
    true, "after 30 days it asks again")
end)

t.test("turning 2-step off needs a current code or the password", function()
  local c, secret = enrol(demo.email("ava"))
  t.status(c:request("DELETE", "/api/account/2fa", { body = {} }), 422)
  local wrong = t.status(c:request("DELETE", "/api/account/2fa", { body = { password = "not my password at all" } }), 422)
  t.ok(wrong.json.error.fields.password)
  local not_it = "000000" == code_at(secret) and "111111" or "000000"
  t.status(c:request("DELETE", "/api/account/2fa", { body = { code = not_it } }), 422)
  t.eq(c:get("/api/account/2fa").json.enabled, true, "still on")
  t.status(c:request("DELETE", "/api/account/2fa", { body = { code = code_at(secret) } }), 204)
  t.eq(c:get("/api/account/2fa").json.enabled, false)
  t.eq(db.value("SELECT count(*) FROM recovery_codes WHERE user_id = ?", P.ava.id), 0)
  t.eq(select(2, password_step(demo.email("ava"))).json.two_step_required, false)
  t.eq(#t.outbox({ to = demo.email("ava"), template = "security.twostep_off" }), 1)
  -- with the password instead of a code
  local c2 = enrol(demo.email("samuel"))
  t.status(c2:request("DELETE", "/api/account/2fa", { body = { password = t.DEMO_PASSWORD } }), 204)
end)

t.test("new recovery codes need proof, and the old ones stop working", function()
  local c, _, old = enrol(demo.email("chloe"))
  t.status(c:post("/api/account/2fa/recovery-codes", {}), 422)
  local fresh = t.status(c:post("/api/account/2fa/recovery-codes", { password = t.DEMO_PASSWORD }), 200)
  t.eq(#fresh.json.recovery_codes, 10)
  local p = password_step(demo.email("chloe"))
  t.status(p:post("/api/session/2fa", { recovery_code = old[1] }), 401, "an old code is dead")
  t.status(p:post("/api/session/2fa", { recovery_code = fresh.json.recovery_codes[1] }), 200)
end)

t.test("the sign-in pages ask for the code, and a wrong code keeps the person on the code page", function()
  local _, secret = enrol(demo.email("felix"))
  local c = t.client()
  local res = t.status(c:form("/signin", { email = demo.email("felix"), password = t.DEMO_PASSWORD, next = "/people" }), 303)
  t.eq(res.headers.location, "/signin/code?next=%2Fpeople")
  t.status(c:get("/people"), 303, "nothing else opens yet (back to sign-in)")
  local pg = t.status(c:get("/signin/code?next=%2Fpeople"), 200)
  t.contains(pg.body, 'autocomplete="one-time-code"')
  local csrf = pg.body:match('name="csrf_token" value="([^"]+)"')
  t.ok(csrf, "the code form carries the pending session's CSRF token")
  c.csrf = csrf
  local refused = t.status(c:form("/signin/code", { code = "000000" == code_at(secret) and "111111" or "000000",
    next = "/people" }), 303)
  t.eq(refused.headers.location, "/signin/code?next=%2Fpeople", "back to the code page")
  local wrong = t.status(c:follow(refused), 200)
  t.contains(wrong.body, "not right")
  t.status(c:get("/people"), 303, "still not signed in")
  c.auto_csrf = false
  t.status(c:request("POST", "/signin/code", { form = { code = code_at(secret), next = "/people" },
    headers = { origin = "http://" .. t.HOST } }), 403, "the form needs its CSRF token")
  c.auto_csrf = true
  local ok = t.status(c:form("/signin/code", { code = code_at(secret), next = "/people", remember = "on" }), 303)
  t.eq(ok.headers.location, "/people")
  t.status(c:get("/people"), 200)
end)

t.test("a password reset ends at the sign-in, which still asks for the code", function()
  local _, secret = enrol(demo.email("julia"))
  local anon = t.client()
  t.status(anon:post("/api/password/forgot", { email = demo.email("julia") }), 202)
  local mail = t.outbox({ to = demo.email("julia"), template = "password.reset" })
  local token = mail[#mail].body_text:match("token=([%w%-_]+)")
  t.status(anon:post("/api/password/set", { token = token, password = "a brand new passphrase" }), 204)
  local c = t.client()
  local res = t.status(c:post("/api/session", { email = demo.email("julia"), password = "a brand new passphrase" }), 200)
  t.eq(res.json.two_step_required, true)
  t.status(c:get("/api/me"), 401)
  c.csrf = res.json.csrf_token
  t.status(c:post("/api/session/2fa", { code = code_at(secret) }), 200)
end)

t.test("the account page sets 2-step up with an inline QR code that needs no style or script", function()
  local c = t.login(demo.email("kai"))
  local before = t.status(c:get("/account/security"), 200)
  t.contains(before.body, "Set up 2-step verification")
  t.status(c:get("/account/security/setup"), 303, "no setup without starting it")
  t.eq(db.value("SELECT count(*) FROM user_totp WHERE user_id = ?", P.kai.id), 0, "and a GET creates nothing")
  local start = t.status(c:form("/account/security/2fa/setup", {}), 303)
  t.eq(start.headers.location, "/account/security/setup")
  local pg = t.status(c:get("/account/security/setup"), 200)
  local svg = pg.body:match("<svg.-</svg>")
  t.ok(svg, "the QR code is inline SVG")
  t.not_contains(svg, "style")
  t.not_contains(svg, "<script")
  t.not_contains(svg, "href")
  t.not_contains(pg.body, "<script>")
  t.not_contains(pg.body, " style=")
  local secret = pg.body:match('data%-secret="([A-Z2-7]+)"')
  t.ok(secret, "the secret is on the page for typing")
  t.status(c:get("/account/security/setup"), 200)
  t.eq(c:get("/account/security/setup").body:match('data%-secret="([A-Z2-7]+)"'), secret, "reloading keeps the secret")
  local bad = t.status(c:follow(c:form("/account/security/setup",
    { code = "000000" == code_at(secret) and "111111" or "000000" })), 200)
  t.contains(bad.body, "not right")
  t.eq(bad.body:match('data%-secret="([A-Z2-7]+)"'), secret, "the same secret to try again")
  local done = t.status(c:form("/account/security/setup", { code = code_at(secret) }), 200)
  t.contains(done.body, "recovery codes")
  local shown = 0
  for _ in done.body:gmatch("<li><code>[a-z2-7]+%-[a-z2-7]+%-[a-z2-7]+</code></li>") do shown = shown + 1 end
  t.eq(shown, 10, "ten codes, shown once")
  t.contains(t.status(c:get("/account/security"), 200).body, "10 recovery codes")
  t.not_contains(c:get("/account/security").body, done.body:match("<li><code>([^<]+)</code>"), "never shown again")
end)

t.test("the account page turns 2-step off with the password, and refuses a wrong one", function()
  local c = enrol(demo.email("arjun"))
  local bad = t.status(c:follow(c:form("/account/security/2fa/disable", { password = "wrong wrong wrong" })), 200)
  t.contains(bad.body, "not your current password")
  t.not_contains(bad.body, "Set up 2-step verification", "still on")
  t.status(c:form("/account/security/2fa/disable", { password = t.DEMO_PASSWORD }), 303)
  t.contains(c:get("/account/security").body, "Set up 2-step verification")
end)

t.test("an admin setting obliges everyone holding a role to set up 2-step right after the password", function()
  local tom = t.login(demo.email("tom"))
  t.status(tom:put("/api/settings/security", { require_2fa_for_admins = true }), 200)
  -- Lena (HR Assistant) signs in: the session is good for nothing but setting up 2-step
  local lena, res = password_step(demo.email("lena"))
  t.eq(res.json.two_step_enrolment_required, true)
  t.eq(res.json.two_step_required, false)
  t.status(lena:get("/api/me"), 401)
  t.status(lena:get("/api/users"), 401)
  local setup = t.status(lena:get("/api/session/2fa/setup"), 200)
  t.eq(t.status(lena:get("/api/session/2fa/setup"), 200).json.secret, setup.json.secret, "the same secret until used")
  local done = t.status(lena:post("/api/session/2fa/setup", { code = code_at(setup.json.secret) }), 200)
  t.eq(#done.json.recovery_codes, 10)
  lena.csrf = done.json.csrf_token
  t.status(lena:get("/api/me"), 200)
  -- she cannot turn it off while her role requires it (even with the password)
  local refused = t.status(lena:request("DELETE", "/api/account/2fa", { body = { password = t.DEMO_PASSWORD } }), 409)
  t.contains(refused.json.error.message, "requires")
  -- people without a role are not asked
  t.eq(select(2, password_step(demo.email("carlos"))).json.two_step_enrolment_required, false)
  -- the page flow: Paul has no role; Tom grants him none, so use Marcus (HR Admin)
  local m = t.client()
  local r = t.status(m:form("/signin", { email = demo.email("marcus"), password = t.DEMO_PASSWORD }), 303)
  t.match(r.headers.location, "^/signin/setup")
  t.status(m:get("/admin"), 303, "nothing else before 2-step is set up")
  local pg = t.status(m:get("/signin/setup"), 200)
  t.contains(pg.body, "<svg")
  local secret = pg.body:match('data%-secret="([A-Z2-7]+)"')
  m.csrf = pg.body:match('name="csrf_token" value="([^"]+)"')
  local codes = t.status(m:form("/signin/setup", { code = code_at(secret), next = "/admin" }), 200)
  t.contains(codes.body, 'href="/admin"')
  t.status(m:get("/admin"), 200)
  t.status(tom:put("/api/settings/security", { require_2fa_for_admins = false }), 200)
end)
