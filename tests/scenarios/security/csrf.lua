-- CSRF: cookie-authenticated state changes need the session's token and a same-origin Origin;
-- API tokens need neither; GET never changes state.
local t = require "testing"
local demo = require "demo"
local db = require "lib.db"

local P = t.demo()

t.test("a state change without the CSRF token is refused and changes nothing", function()
  local c = t.login(demo.email("marcus"))
  c.auto_csrf = false
  local res = c:request("PATCH", "/api/users/" .. P.zoe.id, { body = { job_title = "Hacked" },
    headers = { origin = "http://" .. t.HOST } })
  t.status(res, 403)
  t.neq(db.value("SELECT job_title FROM users WHERE id = ?", P.zoe.id), "Hacked")
end)

t.test("a cross-origin request is refused even with the token", function()
  local c = t.login(demo.email("marcus"))
  c.auto_csrf = false
  local res = c:request("PATCH", "/api/users/" .. P.zoe.id, { body = { job_title = "Hacked" },
    headers = { origin = "https://evil.example", ["x-csrf-token"] = c.csrf } })
  t.status(res, 403)
  t.contains(res.json.error.message, "other sites")
  local no_origin = c:request("PATCH", "/api/users/" .. P.zoe.id, { body = { job_title = "Hacked" },
    headers = { ["x-csrf-token"] = c.csrf } })
  t.status(no_origin, 403)
end)

t.test("a form post carries the token in a hidden field", function()
  local c = t.login(demo.email("marcus"))
  local page = c:get("/people/" .. P.zoe.id .. "/edit")
  t.contains(page.body, 'name="csrf_token" value="' .. c.csrf .. '"')
  local res = c:form("/people/" .. P.zoe.id .. "/edit", { name = "Zoe Chen", job_title = "Engineer II",
    email = demo.email("zoe") })
  t.status(res, 303)
  t.eq(db.value("SELECT job_title FROM users WHERE id = ?", P.zoe.id), "Engineer II")
  c.auto_csrf = false
  local forged = c:request("POST", "/people/" .. P.zoe.id .. "/edit", { form = { name = "Zoe Chen", job_title = "Forged" },
    headers = { origin = "http://" .. t.HOST } })
  t.status(forged, 403)
end)

t.test("a sign-in form posted from another site is refused (login CSRF)", function()
  local c = t.client()
  c.auto_csrf = false
  local res = c:request("POST", "/signin", { form = { email = demo.email("zoe"), password = t.DEMO_PASSWORD },
    headers = { origin = "https://evil.example" } })
  t.status(res, 403)
end)

t.test("API tokens authenticate without CSRF and act with their creator's permissions", function()
  local api_tokens = require "services.api_tokens"
  local token = db.transaction(function() return api_tokens.create(P.tom, "HRIS sync") end)
  local c = t.client()
  local me = c:get("/api/me", { authorization = "Bearer " .. token })
  t.status(me, 200)
  t.eq(me.json.email, demo.email("tom"))
  -- Tom is Tech Admin: he cannot change reporting lines, so neither can his token
  t.status(c:request("PATCH", "/api/users/" .. P.zoe.id, { body = { manager_id = P.ravi.id },
    headers = { authorization = "Bearer " .. token } }), 403)
  t.status(c:get("/api/me", { authorization = "Bearer cnd_not-a-real-token-at-all-xxxxxxxx" }), 401)
  db.transaction(function() api_tokens.revoke(P.tom, db.value("SELECT id FROM api_tokens")) end)
  t.status(c:get("/api/me", { authorization = "Bearer " .. token }), 401)
end)
