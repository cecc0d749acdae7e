-- Impersonation (super users: HR Admin + Tech Admin): seeing Candor as someone else, logged at
-- start and end, with a banner and one click back; never yourself, a super user or anyone in your
-- own reporting line (above you or reporting to you); no changing the person's password, 2-step setup or API tokens meanwhile.
local t = require "testing"
local demo = require "demo"
local db = require "lib.db"
local totp = require "core.totp"

local P = t.demo()

local function priya() return t.login(demo.email("priya")) end

-- Starts impersonating; returns the client (now acting as the person) and the redirect.
local function impersonate(c, who)
  local res = c:form("/people/" .. P[who].id .. "/impersonate", {})
  if res.status == 303 then
    -- the page's CSRF token belongs to the new session
    c.csrf = c:get("/home").body:match('name="csrf%-token" content="([^"]+)"')
  end
  return res
end

-- Ends the impersonation; the client is the impersonator again (with that session's token).
local function end_impersonation(c)
  local res = c:form("/impersonation/end", {})
  c.csrf = c:get("/home").body:match('name="csrf%-token" content="([^"]+)"')
  return res
end

t.test("a super user sees Candor as the person, with a banner, and it is logged", function()
  local c = priya()
  local res = t.status(impersonate(c, "zoe"), 303)
  t.eq(res.headers.location, "/home")
  local me = t.status(c:get("/api/me"), 200).json
  t.eq(me.email, demo.email("zoe"))
  t.eq(me.impersonated_by.id, P.priya.id)
  local home = t.status(c:get("/home"), 200)
  t.contains(home.body, "impersonation-banner")
  t.contains(home.body, "You are signed in as <strong>Zoe Chen</strong>")
  t.contains(home.body, 'action="/impersonation/end"')
  t.status(c:get("/admin/security"), 403, "with Zoe's permissions, not Priya's")
  local e = db.row("SELECT * FROM audit_log WHERE action = 'impersonation.start' ORDER BY id DESC LIMIT 1")
  t.eq(e.actor_id, P.priya.id)
  t.eq(e.target_id, P.zoe.id)
end)

t.test("ending the impersonation is one click back to the impersonator's own session", function()
  local c = priya()
  impersonate(c, "leo")
  local as_leo = c.jar.candor_session
  local res = t.status(end_impersonation(c), 303)
  t.eq(res.headers.location, "/people/" .. P.leo.id)
  t.eq(t.status(c:get("/api/me"), 200).json.email, demo.email("priya"))
  t.no(c:get("/home").body:find("impersonation-banner", 1, true), "no banner any more")
  local stale = t.client()
  stale.jar.candor_session = as_leo
  t.status(stale:get("/api/me"), 401, "the impersonation session is gone")
  local e = db.row("SELECT * FROM audit_log WHERE action = 'impersonation.end' ORDER BY id DESC LIMIT 1")
  t.eq(e.actor_id, P.priya.id)
  t.eq(e.target_id, P.leo.id)
  t.status(t.login(demo.email("zoe")):form("/impersonation/end", {}), 409, "only when impersonating")
end)

t.test("signing out while impersonating ends the impersonation in the log too", function()
  local c = priya()
  t.status(impersonate(c, "ethan"), 303)
  t.status(c:delete("/api/session"), 204)
  t.status(c:get("/api/me"), 401)
  local e = db.row("SELECT * FROM audit_log ORDER BY id DESC LIMIT 1")
  t.eq(e.action, "impersonation.end")
  t.eq(e.actor_id, P.priya.id)
  t.eq(e.target_id, P.ethan.id)
end)

t.test("impersonation never outlives the impersonator's own session", function()
  local c = priya()
  local started = db.value("SELECT max(expires_at) FROM sessions WHERE user_id = ?", P.priya.id)
  impersonate(c, "hana")
  t.eq(db.value("SELECT expires_at FROM sessions WHERE user_id = ? AND impersonator_id = ?", P.hana.id, P.priya.id),
    started)
end)

t.test("nobody impersonates themselves, a super user, someone above them, or without the permission", function()
  local c = priya()
  t.status(impersonate(c, "priya"), 403)
  t.status(impersonate(c, "olivia"), 403, "Olivia is Priya's manager")
  local res = impersonate(c, "marcus")
  t.status(res, 403, "Marcus reports to Priya")
  t.contains(res.body, "Marcus Webb reports to you")
  t.status(impersonate(c, "lena"), 403, "Lena reports to Priya")
  t.not_contains(t.status(c:get("/people/" .. P.marcus.id), 200).body, "/impersonate",
    "the profile of someone in her line offers no impersonation")
  t.contains(t.status(c:get("/people/" .. P.zoe.id), 200).body, "/people/" .. P.zoe.id .. "/impersonate",
    "someone outside it does")
  db.transaction(function()
    db.exec("INSERT INTO user_roles(user_id, role, granted_at) VALUES(?, 'hr_admin', 0), (?, 'tech_admin', 0)",
      P.daniel.id, P.daniel.id)
  end)
  require("services.access").reload()
  t.status(impersonate(c, "daniel"), 403, "another super user")
  t.status(impersonate(t.login(demo.email("marcus")), "zoe"), 403, "HR Admin alone")
  t.status(impersonate(t.login(demo.email("tom")), "zoe"), 403, "Tech Admin alone")
  local guest = db.row("SELECT id FROM users WHERE kind = 'guest' LIMIT 1")
  t.status(c:form("/people/" .. guest.id .. "/impersonate", {}), 403, "guests")
  t.eq(t.status(c:get("/api/me"), 200).json.email, demo.email("priya"), "refusals leave Priya as she was")
end)

t.test("while impersonating, the person's password, 2-step setup and tokens cannot be changed", function()
  local c = priya()
  t.status(impersonate(c, "tom"), 303)
  t.status(c:request("PUT", "/api/account/password", { body = { current_password = t.DEMO_PASSWORD,
    password = "a completely new passphrase" } }), 403)
  local pg = t.status(c:follow(c:form("/account/password", { current_password = t.DEMO_PASSWORD,
    password = "a completely new passphrase", password_again = "a completely new passphrase" })), 200)
  t.contains(pg.body, "Passwords cannot be changed while impersonating someone.")
  t.ok(t.login(demo.email("tom")), "Tom's password is unchanged")
  t.status(c:post("/api/account/2fa/setup"), 403)
  t.contains(t.status(c:follow(c:form("/account/security/2fa/setup", {})), 200).body,
    "2-step verification cannot be changed while impersonating someone.")
  t.eq(db.value("SELECT count(*) FROM user_totp WHERE user_id = ?", P.tom.id), 0)
  t.status(c:post("/api/tokens", { name = "as tom" }), 403, "no token in Tom's name")
  t.status(c:form("/account/sessions/end", {}), 403, "nor sign them out everywhere")
  t.contains(t.status(c:get("/account/security"), 200).body, "You are impersonating")
  end_impersonation(c)
  -- an HR Admin impersonated cannot be used to set someone's password either (Ravi, outside
  -- Priya's line, made an HR Admin for this)
  t.eq(require("core.authz").relation(P.priya.id, P.ravi.id), "none")
  db.transaction(function()
    db.exec("INSERT INTO user_roles(user_id, role, granted_at) VALUES(?, 'hr_admin', 0)", P.ravi.id)
  end)
  require("services.access").reload()
  t.status(impersonate(c, "ravi"), 303)
  t.status(c:put("/api/users/" .. P.zoe.id .. "/password", { password = "set while impersonating" }), 403)
  t.status(c:get("/people/" .. P.zoe.id .. "/password"), 403)
  end_impersonation(c)
  t.status(t.client():post("/api/session", { email = demo.email("tom"), password = t.DEMO_PASSWORD }), 200,
    "Tom's password is unchanged")
end)

t.test("impersonating someone with 2-step needs no code, and their 2-step stays as it was", function()
  local zoe = t.login(demo.email("zoe"))
  local secret = zoe:post("/api/account/2fa/setup").json.secret
  t.status(zoe:post("/api/account/2fa/confirm", { code = totp.code(secret, t.now()) }), 200)
  local c = priya()
  t.status(impersonate(c, "zoe"), 303)
  t.status(c:request("DELETE", "/api/account/2fa", { body = { password = t.DEMO_PASSWORD } }), 403)
  t.eq(db.value("SELECT count(*) FROM user_totp WHERE user_id = ? AND confirmed_at IS NOT NULL", P.zoe.id), 1)
end)

t.test("what is done while impersonating is audited with the impersonator's name", function()
  local c = priya()
  impersonate(c, "zoe")
  t.status(c:request("DELETE", "/api/sessions", {}), 204) -- Zoe signs out everywhere, as far as the log knows
  local e = db.row("SELECT * FROM audit_log WHERE action = 'signout.everywhere' ORDER BY id DESC LIMIT 1")
  t.eq(e.actor_id, P.zoe.id)
  t.contains(e.details, demo.email("priya"), "impersonated_by names the super user")
end)

-- A running cycle with Mia (for what a person writes while impersonated).
local function mia_review()
  local hr = t.login(demo.email("marcus"))
  local c = t.status(hr:post("/api/cycles", { name = "Impersonation cycle", start_date = "2026-01-05",
    self_due = "2026-01-19", manager_due = "2026-02-02", sign_due = "2026-02-16" }), 201).json
  t.status(hr:post("/api/cycles/" .. c.id .. "/reviewees", { user_ids = { P.mia.id } }), 200)
  t.status(hr:post("/api/cycles/" .. c.id .. "/start"), 200)
  return db.value("SELECT id FROM reviews WHERE cycle_id = ? AND reviewee_id = ?", c.id, P.mia.id)
end

local function last_change()
  local e = db.row("SELECT * FROM audit_log WHERE action = 'impersonation.change' ORDER BY id DESC LIMIT 1")
  return e, e and require("lib.json").decode(e.details)
end

t.test("a review draft autosaved while impersonating is in the audit log under both names", function()
  local id = mia_review()
  local c = priya()
  t.status(impersonate(c, "mia"), 303)
  local before = db.value("SELECT count(*) FROM audit_log")
  t.status(c:put("/api/reviews/" .. id .. "/answers/self", { q1 = "Typed by Priya as Mia" }), 200)
  t.eq(db.value("SELECT count(*) FROM audit_log"), before + 1, "one entry for the request")
  local e, d = last_change()
  t.eq(e.actor_id, P.mia.id, "in the person's name")
  t.eq(d.impersonated_by, demo.email("priya"), "and the impersonator's")
  t.eq(d.method, "PUT")
  t.eq(d.path, "/api/reviews/" .. id .. "/answers/self")
  t.eq(d.changes[1].event, "review.draft_saved")
  t.eq(d.changes[1].review_id, id)
  t.not_contains(e.details, "Typed by Priya", "never the content")
  -- the page form (post/redirect/get) is logged the same way
  t.status(c:form("/reviews/" .. id .. "/answers/self", { q_q2 = "Also typed" }), 303)
  local _, d2 = last_change()
  t.eq(d2.method, "POST")
  t.eq(d2.changes[1].event, "review.draft_saved")
end)

t.test("reading and refused changes while impersonating add nothing to the log", function()
  local id = db.value("SELECT id FROM reviews WHERE reviewee_id = ?", P.mia.id)
  local c = priya()
  t.status(impersonate(c, "mia"), 303)
  local before = db.value("SELECT count(*) FROM audit_log")
  t.status(c:get("/reviews/" .. id), 200)
  t.status(c:get("/api/reviews/" .. id), 200)
  t.status(c:post("/api/reviews/" .. id .. "/submit"), 422, "q6 is required: nothing changes")
  t.eq(db.value("SELECT count(*) FROM audit_log"), before)
end)

t.test("the banner says what is true: every change is logged under both names", function()
  local c = priya()
  t.status(impersonate(c, "leo"), 303)
  local body = c:get("/home").body
  t.contains(body, "Every change you make is logged in your name and theirs")
end)
