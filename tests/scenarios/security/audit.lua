-- The audit log: what it covers (sign-ins, roles, settings, people, tokens, impersonation,
-- 2-step), that it never holds secrets, the page and API with filters and pages (newest first,
-- for HR Admins and Tech Admins only), and tamper evidence: an entry edited behind the app's
-- back breaks the hash chain, which audit.verify() and `candor audit verify` report.
local t = require "testing"
local demo = require "demo"
local db = require "lib.db"
local json = require "lib.json"
local totp = require "core.totp"
local audit = require "services.audit"
local canary = dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "canary_lib.lua")

local P = t.demo()
local secrets = {} -- everything secret typed or shown during the story: never in the log

local function actions_since(id)
  local out = {}
  for _, a in ipairs(db.column("SELECT action FROM audit_log WHERE id > ? ORDER BY id", id)) do out[a] = true end
  return out
end

t.test("the log records sign-ins, people, roles, settings, tokens, 2-step and impersonation", function()
  local start = db.value("SELECT max(id) FROM audit_log")
  t.client({ peer = "198.51.100.23" }):post("/api/session", { email = demo.email("zoe"), password = "wrong password!" })
  local priya = t.login(demo.email("priya"))
  local tom = t.login(demo.email("tom"))
  t.status(priya:patch("/api/users/" .. P.zoe.id, { job_title = "Senior Engineer" }), 200)
  t.status(priya:put("/api/users/" .. P.zoe.id .. "/roles", { roles = { "hr_assistant" } }), 200)
  t.status(tom:put("/api/settings/security", { session_idle_minutes = 40 }), 200)
  local made = t.status(tom:post("/api/tokens", { name = "Directory sync" }), 201)
  secrets[#secrets + 1] = made.json.token
  local leo = t.login(demo.email("leo"))
  local secret = t.status(leo:post("/api/account/2fa/setup"), 200).json.secret
  secrets[#secrets + 1] = secret
  local codes = t.status(leo:post("/api/account/2fa/confirm", { code = totp.code(secret, t.now()) }), 200).json
    .recovery_codes
  for _, c in ipairs(codes) do secrets[#secrets + 1] = c end
  t.status(leo:put("/api/account/password", { current_password = t.DEMO_PASSWORD, password = "leo's new passphrase" }),
    204)
  secrets[#secrets + 1] = "leo's new passphrase"
  t.status(priya:form("/people/" .. P.hana.id .. "/impersonate", {}), 303)
  priya.csrf = priya:get("/home").body:match('name="csrf%-token" content="([^"]+)"')
  t.status(priya:form("/impersonation/end", {}), 303)
  local seen = actions_since(start)
  for _, a in ipairs({ "signin.failure", "signin.success", "user.update", "user.roles", "settings.security",
    "api_token.create", "twostep.enable", "password.change", "impersonation.start", "impersonation.end" }) do
    t.ok(seen[a], "the log has " .. a)
  end
  local failure = db.row("SELECT * FROM audit_log WHERE action = 'signin.failure' AND id > ? ORDER BY id LIMIT 1", start)
  t.eq(failure.ip, "198.51.100.23", "from where")
  t.eq(failure.actor_label, demo.email("zoe"))
  local roles = db.row("SELECT * FROM audit_log WHERE action = 'user.roles' AND id > ?", start)
  t.eq(roles.actor_id, P.priya.id)
  t.eq(roles.target_id, P.zoe.id)
  t.same(json.decode(roles.details).granted, { "hr_assistant" })
end)

t.test("the log never holds a password, a TOTP secret, a recovery code or an API token", function()
  secrets[#secrets + 1] = t.DEMO_PASSWORD
  secrets[#secrets + 1] = "wrong password!"
  t.ok(#secrets >= 14, "the story above produced secrets to look for")
  local rows = db.query("SELECT * FROM audit_log")
  t.ok(#rows > 10, "the story wrote entries")
  for _, e in ipairs(rows) do
    local text = table.concat({ e.actor_label or "", e.action, e.target_label or "", e.details or "", e.ip or "" }, "|")
    for _, s in ipairs(secrets) do
      t.not_contains(text, s, "audit entry " .. e.id .. " (" .. e.action .. ")")
      local bare = s:gsub("%-", "")
      if bare ~= s then t.not_contains(text, bare, "audit entry " .. e.id) end
    end
  end
end)

t.test("only HR Admins and Tech Admins read the log", function()
  t.status(t.login(demo.email("marcus")):get("/api/audit"), 200, "HR Admin")
  t.status(t.login(demo.email("tom")):get("/admin/audit"), 200, "Tech Admin")
  t.status(t.login(demo.email("lena")):get("/api/audit"), 403, "HR Assistant")
  t.status(t.login(demo.email("zoe")):get("/admin/audit"), 403, "employee")
  t.status(t.client():get("/api/audit"), 401)
end)

t.test("the API filters by action, who, target and dates, newest first, a page at a time", function()
  local tom = t.login(demo.email("tom"))
  local all = t.status(tom:get("/api/audit?per_page=5"), 200).json
  t.eq(#all.entries, 5)
  t.eq(all.total, db.value("SELECT count(*) FROM audit_log"))
  t.ok(all.entries[1].id > all.entries[2].id, "newest first")
  local page2 = tom:get("/api/audit?per_page=5&page=2").json
  t.eq(page2.entries[1].id, all.entries[5].id - 1, "page 2 follows page 1")
  local signins = tom:get("/api/audit?action=signin&per_page=200").json
  t.ok(#signins.entries > 0)
  for _, e in ipairs(signins.entries) do t.match(e.action, "^signin%.") end
  local exact = tom:get("/api/audit?action=signin.failure").json
  for _, e in ipairs(exact.entries) do t.eq(e.action, "signin.failure") end
  local by = tom:get("/api/audit?actor=Priya").json
  t.ok(by.total > 0)
  for _, e in ipairs(by.entries) do t.eq(e.actor.id, P.priya.id) end
  local about = tom:get("/api/audit?target=user:" .. P.zoe.id).json
  t.ok(about.total > 0)
  for _, e in ipairs(about.entries) do t.eq(e.target.id, P.zoe.id) end
  t.eq(tom:get("/api/audit?target=zoe.chen").json.total >= about.total, true, "by label too")
  t.advance("2d")
  tom = t.login(demo.email("tom"))
  t.status(tom:put("/api/settings/security", { session_idle_minutes = 35 }), 200)
  local today = os.date("!%Y-%m-%d", t.now())
  local recent = tom:get("/api/audit?from=" .. today).json
  t.eq(recent.total, 2, "only what happened today: Tom's sign-in and his change")
  t.eq(recent.entries[1].action, "settings.security")
  t.eq(recent.entries[2].action, "signin.success")
  t.eq(recent.entries[1].at:sub(1, 11), today .. "T")
  t.eq(tom:get("/api/audit?to=2026-01-04").json.total, 0, "nothing before the story began")
  t.status(tom:get("/api/audit?from=yesterday"), 422)
end)

t.test("the audit page shows entries with filters and pages", function()
  local tom = t.login(demo.email("tom"))
  local pg = t.status(tom:get("/admin/audit?action=settings.security"), 200)
  t.contains(pg.body, "<code>settings.security</code>")
  t.not_contains(pg.body, "<code>signin.success</code>")
  t.contains(pg.body, "tom.okafor@northwind.example")
  t.contains(pg.body, '<th scope="col">When</th>')
  t.match(pg.body, "<td class=\"nowrap\">%d+ Jan 2026, %d%d:%d%d:%d%d UTC</td>", "company time (UTC by default)")
  local first = t.status(tom:get("/admin/audit?per_page=5"), 200)
  t.contains(first.body, 'rel="next"')
  t.contains(first.body, "Page 1 of")
  local second = t.status(tom:get((first.body:match('href="([^"]+)" rel="next"'):gsub("&amp;", "&"))), 200)
  t.contains(second.body, "Page 2 of")
  t.contains(second.body, 'rel="prev"')
  local bad = t.status(tom:get("/admin/audit?from=31.12.2025"), 200)
  t.contains(bad.body, "Use a date like")
end)

t.test("the database refuses to change or delete an entry", function()
  local id = db.value("SELECT min(id) FROM audit_log")
  t.raises(function() db.exec("UPDATE audit_log SET action = 'x' WHERE id = ?", id) end, "append-only")
  t.raises(function() db.exec("DELETE FROM audit_log WHERE id = ?", id) end, "append-only")
  t.ok(audit.verify())
end)

t.test("an entry edited behind the app's back breaks the chain: verify and `candor audit verify` say where", function()
  local dir = canary.file_backed() -- this test's own database copy, on files
  local zoe = t.login(demo.email("zoe"))
  t.status(zoe:delete("/api/session"), 204)
  t.login(demo.email("leo"))
  local bin, q = canary.candor_binary(), canary.sh_quote
  local cmd = "CANDOR_APP=" .. q(require("app").app_dir) .. " " .. q(bin) .. " audit --data " .. q(dir) .. " verify"
  local status, out = canary.run(cmd)
  t.eq(status, 0, out)
  t.match(out, "audit log intact: %d+ entries")
  local ok, n = audit.verify()
  t.ok(ok)
  -- someone with the database file removes the protection and rewrites a sign-out
  local victim = db.value("SELECT id FROM audit_log WHERE action = 'signout' ORDER BY id DESC LIMIT 1")
  db.exec("DROP TRIGGER audit_log_no_update")
  db.exec("UPDATE audit_log SET actor_label = 'someone.else@northwind.example' WHERE id = ?", victim)
  local ok2, count, bad = audit.verify()
  t.no(ok2, "the chain still verifies after an edit")
  t.eq(bad.id, victim)
  t.contains(bad.reason, "changed")
  t.eq(count, db.value("SELECT count(*) FROM audit_log WHERE id < ?", victim), "entries before it are fine")
  local status2, _, err2 = canary.run(cmd)
  t.eq(status2, 1, "candor audit verify exits non-zero")
  t.contains(err2, "BROKEN at entry " .. victim)
  -- recomputing the edited entry's hash does not help: the next entry no longer follows it
  db.exec("DROP TRIGGER audit_log_no_delete")
  db.exec("DELETE FROM audit_log WHERE id = ?", victim)
  local ok3, _, bad3 = audit.verify()
  t.no(ok3)
  t.eq(bad3.id, db.value("SELECT min(id) FROM audit_log WHERE id > ?", victim))
  t.contains(bad3.reason, "does not follow")
  t.ok(n > 0)
  canary.cleanup(dir)
end)
