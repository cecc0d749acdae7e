-- Signing in and sessions: same answer for a wrong email and a wrong password, throttling,
-- cookie flags, timeouts on the virtual clock, a changed browser, signing out.
local t = require "testing"
local demo = require "demo"
local db = require "lib.db"

t.demo()
local email = demo.email("zoe")

t.test("a right password signs in and sets a safe session cookie", function()
  local c = t.client()
  local res = c:post("/api/session", { email = email, password = t.DEMO_PASSWORD })
  t.status(res, 200)
  t.eq(res.json.user.email, email)
  t.ok(res.json.csrf_token and #res.json.csrf_token >= 20)
  local cookie = res.headers["set-cookie"]
  cookie = type(cookie) == "table" and table.concat(cookie, "\n") or cookie
  t.match(cookie, "candor_session=[%w%-_]+; Path=/")
  t.contains(cookie, "HttpOnly")
  t.contains(cookie, "SameSite=Lax")
  t.status(c:get("/api/me"), 200)
end)

t.test("the session token is stored only as a hash", function()
  local c = t.login(email)
  local token = c.jar.candor_session
  t.eq(db.value("SELECT count(*) FROM sessions WHERE token_hash = ?", token), 0)
  t.eq(db.value("SELECT count(*) FROM sessions WHERE CAST(token_hash AS TEXT) LIKE ?", "%" .. token .. "%"), 0)
end)

t.test("a wrong email and a wrong password get the same answer", function()
  local a = t.client():post("/api/session", { email = email, password = "wrong password here" })
  local b = t.client():post("/api/session", { email = "nobody@northwind.example", password = "wrong password here" })
  t.status(a, 401)
  t.status(b, 401)
  t.eq(a.body, b.body)
end)

t.test("repeated failures slow down with growing delays (429 + Retry-After), then pass", function()
  local victim = demo.email("leo")
  local attacker = t.client({ peer = "203.0.113.9" })
  for _ = 1, 5 do t.status(attacker:post("/api/session", { email = victim, password = "guess guess guess" }), 401) end
  local r1 = attacker:post("/api/session", { email = victim, password = "guess guess guess" })
  t.status(r1, 401)
  local r2 = attacker:post("/api/session", { email = victim, password = "guess guess guess" })
  t.status(r2, 429)
  local wait1 = tonumber(r2.headers["retry-after"])
  t.ok(wait1 and wait1 > 0)
  t.advance(wait1 + 1)
  t.status(attacker:post("/api/session", { email = victim, password = "guess guess guess" }), 401)
  local r3 = attacker:post("/api/session", { email = victim, password = "guess guess guess" })
  t.status(r3, 429)
  t.ok(tonumber(r3.headers["retry-after"]) > wait1, "the delay grows")
  t.advance("20m") -- capped: the wait never exceeds 15 minutes
  t.status(t.client({ peer = "198.51.100.7" }):post("/api/session", { email = victim, password = t.DEMO_PASSWORD }), 200)
end)

t.test("a flood of wrong passwords does not lock the real user out of their own browser", function()
  local victim = demo.email("hana")
  local mine = t.login(victim) -- this browser signed in before: it carries a device cookie
  mine.jar.candor_session = nil
  for i = 1, 12 do
    t.client({ peer = "203.0.113." .. i }):post("/api/session", { email = victim, password = "nope nope nope" })
  end
  t.status(t.client({ peer = "192.0.2.50" }):post("/api/session", { email = victim, password = t.DEMO_PASSWORD }), 429)
  t.status(mine:post("/api/session", { email = victim, password = t.DEMO_PASSWORD }), 200)
end)

t.test("sessions end after 30 idle minutes", function()
  local c = t.login(email)
  t.advance("29m")
  t.status(c:get("/api/me"), 200)
  t.advance("29m")
  t.status(c:get("/api/me"), 200, "activity keeps it alive")
  t.advance("31m")
  t.status(c:get("/api/me"), 401)
end)

t.test("sessions end 12 hours after sign-in, active or not", function()
  local c = t.login(email)
  for _ = 1, 24 do
    t.advance("29m")
    c:get("/api/me")
  end
  t.advance("29m")
  t.status(c:get("/api/me"), 401)
end)

t.test("a changed browser must sign in again", function()
  local c = t.login(email)
  t.status(c:get("/api/me"), 200)
  c.user_agent = "SomethingElse/2.0"
  t.status(c:get("/api/me"), 401)
  c.user_agent = "CandorTest/1.0"
  t.status(c:get("/api/me"), 401, "and the session is gone for good")
end)

t.test("signing out ends the session; signing out everywhere ends them all", function()
  local a, b = t.login(email), t.login(email)
  t.status(a:delete("/api/session"), 204)
  t.status(a:get("/api/me"), 401)
  t.status(b:get("/api/me"), 200)
  local c = t.login(email)
  t.status(c:delete("/api/sessions"), 204)
  t.status(b:get("/api/me"), 401)
end)

t.test("deactivating or locking someone ends their sessions at once", function()
  local leo = t.login(demo.email("leo"))
  local hr = t.login(demo.email("marcus"))
  t.status(hr:post("/api/users/" .. leo.user.id .. "/lock"), 200)
  t.status(leo:get("/api/me"), 401)
  local locked = t.client():post("/api/session", { email = demo.email("leo"), password = t.DEMO_PASSWORD })
  t.status(locked, 403)
  t.contains(locked.json.error.message, "locked")
  t.status(hr:post("/api/users/" .. leo.user.id .. "/unlock"), 200)
  t.status(t.client():post("/api/session", { email = demo.email("leo"), password = t.DEMO_PASSWORD }), 200)
end)

t.test("the sign-in page signs in and keeps the email when the password is wrong", function()
  local c = t.client()
  local refused = t.status(c:form("/signin", { email = email, password = "not it at all", next = "/people" }), 303)
  t.match(refused.headers.location, "^/%?", "back to the sign-in page")
  local bad = t.status(c:follow(refused), 200)
  t.contains(bad.body, 'value="' .. email .. '"')
  t.contains(bad.body, "not right")
  t.contains(bad.body, 'name="next" value="/people"', "where to go after signing in stays too")
  t.not_contains(refused.headers.location, "not%20it", "the password is not in the address")
  t.status(c:get("/api/me"), 401, "not signed in")
  local good = c:form("/signin", { email = email, password = t.DEMO_PASSWORD, next = "/people" })
  t.status(good, 303)
  t.eq(good.headers.location, "/people")
  t.status(c:get("/people"), 200)
end)
