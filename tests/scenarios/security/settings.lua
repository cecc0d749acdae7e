-- Company security settings (Tech Admins): IP ranges on the connection's peer address (IPv4 and
-- IPv6), X-Forwarded-For believed only from trusted proxies, a list that would shut out the
-- person saving it refused, minimum password length, session timeouts, secure cookies. Every
-- change is audited.
local t = require "testing"
local demo = require "demo"
local db = require "lib.db"
local json = require "lib.json"

local P = t.demo()

local function tom(opts) return t.login(demo.email("tom"), nil, opts) end

local function last_audit(action)
  local e = db.row("SELECT * FROM audit_log WHERE action = ? ORDER BY id DESC LIMIT 1", action)
  if e then e.details = json.decode(e.details) end
  return e
end

t.test("only Tech Admins read and change the security settings", function()
  local res = t.status(tom():get("/api/settings/security"), 200)
  t.same(res.json, { ip_ranges = {}, trusted_proxies = {}, password_min_length = 10, session_idle_minutes = 30,
    session_max_hours = 12, require_2fa_for_admins = false, secure_cookies = false,
    max_connections_per_address = 256, public_url = "http://127.0.0.1:8080" })
  t.status(t.login(demo.email("marcus")):get("/api/settings/security"), 403, "HR Admin")
  t.status(t.login(demo.email("lena")):put("/api/settings/security", { password_min_length = 12 }), 403, "HR Assistant")
  t.status(t.login(demo.email("zoe")):get("/admin/security"), 403)
  t.status(tom():get("/admin/security"), 200)
  t.status(t.login(demo.email("priya")):get("/admin/security"), 200, "a super user holds Tech Admin")
end)

t.test("the public address is set on the security page and every mail link uses it", function()
  local admin = tom()
  t.contains(t.status(admin:get("/admin/security"), 200).body, 'name="public_url"')
  -- until it is set, the mail server page says the links lead elsewhere than where it was reached
  t.contains(t.status(admin:get("/admin/mail-server", { host = "candor.example.com" }), 200).body,
    "Links in mails start with <code>http://127.0.0.1:8080</code>")
  -- a bad address comes back with what was typed and changes nothing
  local back = t.status(admin:follow(admin:form("/admin/security", { public_url = "candor.example.com", ip_ranges = "",
    trusted_proxies = "", password_min_length = "10", session_idle_minutes = "30", session_max_hours = "12" })), 200).body
  t.contains(back, "https://candor.example.com")
  t.contains(back, 'value="candor.example.com"')
  t.eq(admin:get("/api/settings/security").json.public_url, "http://127.0.0.1:8080")
  t.status(admin:form("/admin/security", { public_url = "https://candor.example.com/", ip_ranges = "", trusted_proxies = "",
    password_min_length = "10", session_idle_minutes = "30", session_max_hours = "12" }), 303)
  t.eq(admin:get("/api/settings/security").json.public_url, "https://candor.example.com/")
  t.not_contains(t.status(admin:get("/admin/mail-server", { host = "candor.example.com" }), 200).body,
    "Links in mails start with")
  t.same(last_audit("settings.security").details.changed, { public_url = { from = "http://127.0.0.1:8080",
    to = "https://candor.example.com/" } })
  -- an invitation mail now links there
  local hr = t.login(demo.email("marcus"))
  t.status(hr:post("/api/users", { name = "Ömer Łukasz Żak", email = "omer.zak@northwind.example", invite = true }), 201)
  local text = t.outbox({ to = "omer.zak@northwind.example" })[1].body_text
  t.contains(text, "https://candor.example.com/password/set?token=")
  t.not_contains(text, "127.0.0.1")
  t.status(t.login(demo.email("marcus")):put("/api/settings/security", { public_url = "https://x.example" }), 403,
    "HR Admin")
end)

t.test("a bad value is refused with a message per field, and nothing is saved", function()
  local res = t.status(tom():put("/api/settings/security", { ip_ranges = { "10.0.0.0/8", "not-a-range" },
    password_min_length = 8, session_idle_minutes = 20 }), 422)
  t.contains(res.json.error.fields.ip_ranges, "not-a-range")
  t.contains(res.json.error.fields.password_min_length, "at least 10")
  t.eq(tom():get("/api/settings/security").json.session_idle_minutes, 30, "the valid field was not saved either")
end)

t.test("a list of ranges that leaves out the person saving it is refused", function()
  local c = tom({ peer = "203.0.113.9" })
  local res = t.status(c:put("/api/settings/security", { ip_ranges = { "198.51.100.0/24" } }), 422)
  t.contains(res.json.error.fields.ip_ranges, "lock you out")
  t.contains(res.json.error.fields.ip_ranges, "203.0.113.9")
  t.eq(#c:get("/api/settings/security").json.ip_ranges, 0)
  -- the page says the same and keeps what was typed
  local pg = t.status(c:follow(c:form("/admin/security", { ip_ranges = "198.51.100.0/24", trusted_proxies = "",
    password_min_length = "10", session_idle_minutes = "30", session_max_hours = "12" })), 200)
  t.contains(pg.body, "lock you out")
  t.contains(pg.body, "198.51.100.0/24</textarea>")
  t.eq(#c:get("/api/settings/security").json.ip_ranges, 0, "still nothing saved")
end)

t.test("IP ranges let in addresses inside them (IPv4 and IPv6) and keep others out", function()
  local admin = tom({ peer = "203.0.113.9" })
  t.status(admin:put("/api/settings/security", { ip_ranges = { "203.0.113.0/24", "2001:db8:1::/48" } }), 200)
  t.status(t.client({ peer = "203.0.113.77" }):get("/"), 200, "inside the IPv4 range")
  t.status(t.client({ peer = "::ffff:203.0.113.78" }):get("/"), 200, "an IPv4 client on a dual-stack socket")
  t.status(t.client({ peer = "2001:db8:1:ff::1" }):get("/"), 200, "inside the IPv6 range")
  local out = t.client({ peer = "198.51.100.7" })
  local refused = t.status(out:post("/api/session", { email = demo.email("zoe"), password = t.DEMO_PASSWORD }), 403)
  t.contains(refused.json.error.message, "198.51.100.7")
  t.status(t.client({ peer = "2001:db8:2::1" }):get("/"), 403, "outside the IPv6 range")
  t.status(t.client({ peer = "198.51.100.7" }):get("/healthz"), 200, "the health check stays open")
  -- a signed-in person whose address leaves the ranges is refused too
  local zoe = t.login(demo.email("zoe"), nil, { peer = "203.0.113.80" })
  t.status(zoe:get("/api/me"), 200)
  zoe.peer = "192.0.2.1"
  t.status(zoe:get("/api/me"), 403)
  t.status(admin:put("/api/settings/security", { ip_ranges = {} }), 200)
  t.status(t.client({ peer = "198.51.100.7" }):get("/"), 200, "an empty list lets everyone in")
end)

t.test("X-Forwarded-For is believed only from a trusted proxy", function()
  local admin = tom({ peer = "203.0.113.9" })
  t.status(admin:put("/api/settings/security", { ip_ranges = { "203.0.113.0/24" } }), 200)
  local via_proxy = { ["x-forwarded-for"] = "203.0.113.50" }
  -- the proxy at 10.0.0.5 is not trusted yet: its own address counts, and it is outside
  t.status(t.client({ peer = "10.0.0.5", headers = via_proxy }):get("/"), 403)
  -- a client pretending to be inside with a forged header is not believed either
  t.status(t.client({ peer = "198.51.100.7", headers = via_proxy }):get("/"), 403)
  -- trusting the proxy: saving must not lock out Tom, who also comes through it
  t.status(admin:put("/api/settings/security", { trusted_proxies = { "10.0.0.0/29" } }), 200)
  t.status(t.client({ peer = "10.0.0.5", headers = via_proxy }):get("/"), 200)
  -- the nearest untrusted hop counts: a client cannot prepend an address of its choosing
  t.status(t.client({ peer = "10.0.0.5", headers = { ["x-forwarded-for"] = "203.0.113.50, 198.51.100.7" } }):get("/"),
    403)
  t.status(t.client({ peer = "10.0.0.5", headers = { ["x-forwarded-for"] = "198.51.100.7, 203.0.113.50, 10.0.0.6" } })
    :get("/"), 200, "trusted hops at the end are skipped")
  -- the lock-out check uses the proxies as they will be: dropping the proxy trust would shut
  -- out Tom's browser behind it
  local behind = tom({ peer = "10.0.0.5", headers = via_proxy })
  local res = t.status(behind:put("/api/settings/security", { trusted_proxies = {} }), 422)
  t.contains(res.json.error.fields.ip_ranges, "10.0.0.5")
  t.status(admin:put("/api/settings/security", { ip_ranges = {}, trusted_proxies = {} }), 200)
end)

t.test("secure cookies cannot be switched on over plain HTTP, but can behind an HTTPS proxy", function()
  local admin = tom()
  local res = t.status(admin:put("/api/settings/security", { secure_cookies = true }), 422)
  t.contains(res.json.error.fields.secure_cookies, "HTTPS")
  t.status(admin:put("/api/settings/security", { trusted_proxies = { "127.0.0.1/32" } }), 200)
  local https = tom({ headers = { ["x-forwarded-proto"] = "https", ["x-forwarded-for"] = "127.0.0.1" } })
  t.status(https:put("/api/settings/security", { secure_cookies = true }), 200)
  local c = t.client()
  local signin = c:post("/api/session", { email = demo.email("zoe"), password = t.DEMO_PASSWORD })
  local cookie = signin.headers["set-cookie"]
  cookie = type(cookie) == "table" and table.concat(cookie, "\n") or cookie
  t.match(cookie, "candor_session=[^\n]*; Secure")
  t.status(https:put("/api/settings/security", { secure_cookies = false, trusted_proxies = {} }), 200)
end)

t.test("the minimum password length applies to new passwords", function()
  local admin = tom()
  t.status(admin:put("/api/settings/security", { password_min_length = 16 }), 200)
  local marcus = t.login(demo.email("marcus"))
  local short = t.status(marcus:put("/api/users/" .. P.zoe.id .. "/password", { password = "twelve chars" }), 422)
  t.contains(short.json.error.fields.password, "16")
  t.status(marcus:put("/api/users/" .. P.zoe.id .. "/password", { password = "sixteen chars ok" }), 204)
  t.status(admin:put("/api/settings/security", { password_min_length = 64 }), 200)
  t.status(admin:put("/api/settings/security", { password_min_length = 65 }), 422, "64 is the most")
  t.status(admin:put("/api/settings/security", { password_min_length = 10 }), 200)
end)

t.test("the session timeouts are settings", function()
  local admin = tom()
  t.status(admin:put("/api/settings/security", { session_idle_minutes = 10, session_max_hours = 1 }), 200)
  local c = t.login(demo.email("emma"))
  t.advance("9m")
  t.status(c:get("/api/me"), 200)
  t.advance("11m")
  t.status(c:get("/api/me"), 401, "idle for 11 minutes")
  c = t.login(demo.email("emma"))
  for _ = 1, 6 do t.advance("9m") t.status(c:get("/api/me"), 200) end
  t.advance("9m")
  t.status(c:get("/api/me"), 401, "over an hour after signing in")
  admin = tom()
  t.status(admin:put("/api/settings/security", { session_idle_minutes = 4 }), 422, "5 minutes at least")
  t.status(admin:put("/api/settings/security", { session_idle_minutes = 30, session_max_hours = 12 }), 200)
end)

t.test("every change is audited with what changed, and saving nothing changed writes nothing", function()
  local admin = tom()
  local before = db.value("SELECT count(*) FROM audit_log WHERE action = 'settings.security'")
  local res = t.status(admin:put("/api/settings/security", { session_idle_minutes = 45, password_min_length = 10 }), 200)
  t.same(res.json.changed, { "session_idle_minutes" })
  local e = last_audit("settings.security")
  t.eq(e.actor_id, P.tom.id)
  t.same(e.details.changed, { session_idle_minutes = { from = 30, to = 45 } })
  t.status(admin:put("/api/settings/security", { session_idle_minutes = 45 }), 200)
  t.eq(db.value("SELECT count(*) FROM audit_log WHERE action = 'settings.security'"), before + 1)
  -- the page saves too
  local saved = t.status(admin:form("/admin/security", { ip_ranges = "", trusted_proxies = "", password_min_length = "12",
    session_idle_minutes = "30", session_max_hours = "12", require_2fa_for_admins = "on" }), 303)
  t.eq(saved.headers.location, "/admin/security")
  local v = admin:get("/api/settings/security").json
  t.eq(v.password_min_length, 12)
  t.eq(v.require_2fa_for_admins, true)
  t.eq(v.secure_cookies, false, "an unticked box is off")
  t.same(last_audit("settings.security").details.changed, { password_min_length = { from = 10, to = 12 },
    session_idle_minutes = { from = 45, to = 30 }, require_2fa_for_admins = { from = false, to = true } })
end)

