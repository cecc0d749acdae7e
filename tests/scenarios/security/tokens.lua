-- API tokens (Tech Admins): created with a name and shown once, stored hashed, listed with
-- their prefix, creator and last use, revoked at once; a token cannot make tokens.
local t = require "testing"
local demo = require "demo"
local db = require "lib.db"
local json = require "lib.json"

local P = t.demo()

t.test("a Tech Admin creates a token: shown once, stored only as a hash", function()
  local tom = t.login(demo.email("tom"))
  local res = t.status(tom:post("/api/tokens", { name = "HRIS sync" }), 201)
  local token = res.json.token
  t.match(token, "^cnd_[%w%-_]+$")
  t.ok(#token >= 40)
  t.eq(res.json.name, "HRIS sync")
  t.eq(res.json.prefix, token:sub(1, 10))
  t.eq(res.json.created_by.id, P.tom.id)
  t.eq(db.value("SELECT count(*) FROM api_tokens WHERE CAST(token_hash AS TEXT) LIKE ?", "%" .. token:sub(5) .. "%"), 0)
  local list = t.status(tom:get("/api/tokens"), 200).json.tokens
  t.eq(#list, 1)
  t.eq(list[1].token, nil, "the list never shows the token again")
  t.eq(list[1].last_used_at, json.null, "never used yet")
  t.eq(t.status(t.client():get("/api/me", { authorization = "Bearer " .. token }), 200).json.email, demo.email("tom"))
  list = tom:get("/api/tokens").json.tokens
  t.eq(list[1].last_used_at, "2026-01-05T09:00:00Z", "its last use is shown")
  t.eq(list[1].created_by.name, "Tom Okafor")
  t.eq(db.value("SELECT count(*) FROM audit_log WHERE action = 'api_token.create' AND target_label = 'HRIS sync'"), 1)
end)

t.test("a token needs a name", function()
  local tom = t.login(demo.email("tom"))
  t.ok(t.status(tom:post("/api/tokens", { name = "   " }), 422).json.error.fields.name)
  t.status(tom:post("/api/tokens", { name = string.rep("x", 101) }), 422)
end)

t.test("only Tech Admins see and manage tokens", function()
  for _, who in ipairs({ "marcus", "lena", "zoe" }) do
    local c = t.login(demo.email(who))
    t.status(c:get("/api/tokens"), 403, who)
    t.status(c:post("/api/tokens", { name = "mine" }), 403, who)
    t.status(c:get("/admin/api-tokens"), 403, who)
  end
  t.status(t.login(demo.email("priya")):get("/api/tokens"), 200, "a super user holds Tech Admin")
end)

t.test("a token cannot create tokens, and revoking one stops it at once", function()
  local tom = t.login(demo.email("tom"))
  local made = t.status(tom:post("/api/tokens", { name = "Reporting" }), 201)
  local bearer = { authorization = "Bearer " .. made.json.token }
  local c = t.client()
  t.status(c:request("POST", "/api/tokens", { body = { name = "second" }, headers = bearer }), 403)
  t.status(c:get("/api/tokens", bearer), 200, "but it may list them, as its creator may")
  t.status(tom:delete("/api/tokens/" .. made.json.id), 204)
  t.status(c:get("/api/me", bearer), 401)
  t.eq(#tom:get("/api/tokens").json.tokens, 1, "revoked tokens leave the list")
  t.eq(#tom:get("/api/tokens?include_revoked=true").json.tokens, 2)
  t.status(tom:delete("/api/tokens/99999"), 404)
  t.eq(db.value("SELECT count(*) FROM audit_log WHERE action = 'api_token.revoke' AND target_id = ?", made.json.id), 1)
end)

t.test("the tokens page creates a token, shows it once, and revokes", function()
  local tom = t.login(demo.email("tom"))
  local posted = t.status(tom:form("/admin/api-tokens", { name = "Payroll export" }), 303)
  t.eq(posted.headers.location, "/admin/api-tokens")
  local created = t.status(tom:follow(posted), 200)
  local token = created.body:match('<code id="new%-token">(cnd_[^<]+)</code>')
  t.ok(token, "the new token is on the page")
  t.contains(created.body, "shown only once")
  local again = t.status(tom:get("/admin/api-tokens"), 200)
  t.not_contains(again.body, token)
  t.contains(again.body, token:sub(1, 10) .. "…")
  t.contains(again.body, "Payroll export")
  t.contains(again.body, "Tom Okafor")
  local id = db.value("SELECT id FROM api_tokens WHERE name = 'Payroll export'")
  local res = t.status(tom:form("/admin/api-tokens/" .. id .. "/revoke", {}), 303)
  t.eq(res.headers.location, "/admin/api-tokens")
  t.status(t.client():get("/api/me", { authorization = "Bearer " .. token }), 401)
  local after = tom:get("/admin/api-tokens").body
  t.contains(after, "was revoked")
  t.not_contains(after, "<strong>Payroll export</strong>", "gone from the list")
  local before = db.value("SELECT count(*) FROM api_tokens")
  local empty = t.status(tom:follow(tom:form("/admin/api-tokens", { name = "" })), 200)
  t.contains(empty.body, "Give the token a name")
  t.eq(db.value("SELECT count(*) FROM api_tokens"), before, "no token made")
end)

t.test("an API token gets 403 on every /api/account/* endpoint, reading included", function()
  local tom = t.login(demo.email("tom"))
  local token = t.status(tom:post("/api/tokens", { name = "account probe" }), 201).json.token
  local c = t.client()
  local auth = { authorization = "Bearer " .. token }
  for _, call in ipairs({
    { "GET", "/api/account/2fa" }, { "GET", "/api/account/sessions" },
    { "PUT", "/api/account/password", { current_password = t.DEMO_PASSWORD, password = "a new long passphrase" } },
    { "POST", "/api/account/2fa/setup", {} }, { "POST", "/api/account/2fa/confirm", { code = "123456" } },
    { "DELETE", "/api/account/2fa", { password = t.DEMO_PASSWORD } },
    { "POST", "/api/account/2fa/recovery-codes", { password = t.DEMO_PASSWORD } },
    { "DELETE", "/api/account/trusted-browsers" },
  }) do
    local res = c:request(call[1], call[2], { body = call[3], headers = auth })
    t.eq(res.status, 403, call[1] .. " " .. call[2])
    t.contains(res.json.error.message, "API tokens cannot")
  end
  -- the same person with a browser session reads them
  t.status(tom:get("/api/account/2fa"), 200)
  t.status(tom:get("/api/account/sessions"), 200)
end)
