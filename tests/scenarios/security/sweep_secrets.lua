-- Secrets never land in the log, the audit log or a job's payload: passwords (signing in, changing
-- one's own, HR setting one, a reset link's new one), the session cookie and CSRF token, reset
-- link tokens, API tokens, webhook secrets and 2-step secrets, written through the API with the
-- log at its most talkative. And a password reset answers alike for an address nobody has.
local t = require "testing"
local demo = require "demo"
local db = require "lib.db"
local log = require "core.log"

local P = t.demo()
local lines = {}

t.test("the secrets of a day's work are nowhere in the log, the audit log or the job queue", function()
  local originals = {}
  for _, level in ipairs({ "debug", "info", "warn", "error" }) do
    originals[level] = log[level]
    log[level] = function(...)
      local parts = {}
      for i = 1, select("#", ...) do parts[#parts + 1] = tostring((select(i, ...))) end
      lines[#lines + 1] = table.concat(parts, " ")
      return originals[level](...)
    end
  end
  log.set_level("debug")
  local secrets = { t.DEMO_PASSWORD }
  local ok, err = pcall(function()
    local mia = t.login(demo.email("mia"))
    secrets[#secrets + 1] = mia.jar.candor_session
    secrets[#secrets + 1] = mia.csrf
    local own = "mia's brand new passphrase 1"
    t.status(mia:put("/api/account/password", { current_password = t.DEMO_PASSWORD, password = own }), 204)
    secrets[#secrets + 1] = own
    secrets[#secrets + 1] = mia.jar.candor_session
    secrets[#secrets + 1] = t.status(mia:post("/api/account/2fa/setup"), 200).json.secret
    t.status(t.client():post("/api/password/forgot", { email = demo.email("zoe") }), 202)
    local mail = t.outbox({ to = demo.email("zoe") })
    local link_token = mail[#mail].body_text:match("token=([%w%-_]+)") or mail[#mail].body_text:match("/password/([%w%-_]+)")
    t.ok(link_token, "the reset mail holds a link")
    secrets[#secrets + 1] = link_token
    local via_link = "zoe's passphrase from the link"
    t.status(t.client():post("/api/password/set", { token = link_token, password = via_link }), 204)
    secrets[#secrets + 1] = via_link
    local priya = t.login(demo.email("priya"))
    local set_by_hr = "a passphrase HR chose for Leo"
    t.status(priya:put("/api/users/" .. P.leo.id .. "/password", { password = set_by_hr }), 204)
    secrets[#secrets + 1] = set_by_hr
    secrets[#secrets + 1] = t.status(priya:post("/api/tokens", { name = "Sweep" }), 201).json.token
    secrets[#secrets + 1] = t.status(priya:post("/api/webhooks", { name = "Sweep", url = "https://hooks.example/x",
      events = { "person.created" } }), 201).json.secret
    t.status(t.login(demo.email("leo"), set_by_hr):get("/api/me"), 200)
    t.run_jobs()
  end)
  for level, fn in pairs(originals) do log[level] = fn end
  log.set_level("warn")
  if not ok then error(err, 0) end
  -- (the log holds little on a good day: errors name the path, never the query, and mail
  -- problems the address; what it holds is checked all the same)
  local audit = {}
  for _, row in ipairs(db.query("SELECT * FROM audit_log")) do
    for _, v in pairs(row) do audit[#audit + 1] = tostring(v) end
  end
  t.ok(#audit > 0, "the audit log was written")
  local jobs = {}
  for _, row in ipairs(db.query("SELECT * FROM jobs")) do
    for _, v in pairs(row) do jobs[#jobs + 1] = tostring(v) end
  end
  local log_text, audit_text, job_text = table.concat(lines, "\n"), table.concat(audit, "\n"), table.concat(jobs, "\n")
  for _, s in ipairs(secrets) do
    t.ok(type(s) == "string" and #s >= 8, "a secret was collected")
    t.not_contains(log_text, s, "the log")
    t.not_contains(audit_text, s, "the audit log")
    t.not_contains(job_text, s, "the job queue")
  end
end)

t.test("a password reset answers alike for an address nobody has, and mails only a real one", function()
  local before = #t.outbox()
  local real = t.status(t.client():post("/api/password/forgot", { email = demo.email("omar") }), 202)
  local nobody = t.status(t.client():post("/api/password/forgot", { email = "nobody.here@northwind.example" }), 202)
  t.eq(nobody.body, real.body)
  t.eq(#t.outbox(), before + 1)
  local page_real = t.client():form("/password/forgot", { email = demo.email("omar") })
  local page_nobody = t.client():form("/password/forgot", { email = "nobody.here@northwind.example" })
  t.eq(page_real.status, 200, "the page form answers")
  t.eq(page_nobody.status, page_real.status)
  local function text(res, email)
    return (res.body:gsub(email:gsub("%p", "%%%0"), "EMAIL"):gsub('name="csrf%-token" content="[^"]*"', ""))
  end
  t.eq(text(page_nobody, "nobody.here@northwind.example"), text(page_real, demo.email("omar")))
end)

t.test("a flood of reset requests for one address sends a few mails, and every answer stays the same", function()
  local before = #t.outbox({ to = demo.email("leo") })
  local bodies = {}
  for _ = 1, 30 do
    local res = t.status(t.client():post("/api/password/forgot", { email = demo.email("leo") }), 202)
    bodies[res.body] = true
  end
  t.run_jobs()
  local sent = #t.outbox({ to = demo.email("leo") }) - before
  t.ok(sent >= 1 and sent <= 5, "a few mails, not thirty (" .. sent .. ")")
  local n = 0
  for _ in pairs(bodies) do n = n + 1 end
  t.eq(n, 1, "one answer whatever the count")
end)
