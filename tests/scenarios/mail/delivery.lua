-- Delivery through a real SMTP conversation with a fake server (tests/tools/fake_smtp.c, its
-- own process): nothing leaves without a server; once a Tech Admin sets one up, mail goes out
-- soon after it is queued; 4xx answers are retried with backoff on the virtual clock; a 550 is
-- a bounce and later mail to the address is held until it is marked fixed; a server that is
-- down means retries, then "failed", then "Retry now"; nothing is ever sent twice; the
-- password is encrypted at rest and never shown.
local t = require "testing"
local demo = require "demo"
local db = require "lib.db"
local mail = require "services.mail"
local delivery = require "services.delivery"
local host = require "core.host"

local ROOT = debug.getinfo(1, "S").source:match("^@(.-)tests/scenarios/mail/[^/]+$") or ""
local fake = dofile(ROOT .. "tests/tools/fake_smtp.lua")

local P = t.demo()
-- sessions end after idle minutes and the clock jumps hours here: sign in afresh each time
local function tech() return t.login(demo.email("tom")) end      -- Tech Admin: integrations, outbox, bounces
local function hr() return t.login(demo.email("marcus")) end     -- HR Admin: none of those
local PASSWORD = "Tr0ub4dor&3-smtp-secret"
local smtp = fake.start(ROOT)
local DEAD_PROCESS = "2147483000.1" -- no such process runs

local function queue(to, template, vars)
  return db.transaction(function()
    return mail.queue{ template = template or "password.reset", to = to,
      vars = vars or { link = "https://candor.test/password/set?token=SECRET-TOKEN-123" } }
  end)
end

local function mail_row(id) return db.row("SELECT * FROM outbox WHERE id = ?", id) end

local function messages_to(addr)
  local out = {}
  for _, m in ipairs(smtp:messages()) do
    for _, r in ipairs(m.rcpts) do if r == addr then out[#out + 1] = m end end
  end
  return out
end

local function guest(name, email) return { name = name, email = email } end

-- every text value in every table of the database
local function database_contains(needle)
  for _, tbl in ipairs(db.column("SELECT name FROM sqlite_master WHERE type = 'table'")) do
    for _, row in ipairs(db.query(("SELECT * FROM %q"):format(tbl))) do
      for col, v in pairs(row) do
        if type(v) == "string" and v:find(needle, 1, true) then return tbl .. "." .. col end
      end
    end
  end
end

t.test("with no mail server nothing is sent: mail stays queued and the outbox says so", function()
  local id = queue(P.zoe)
  t.advance("2h")
  t.eq(mail_row(id).status, "queued")
  t.eq(mail_row(id).attempts, 0)
  t.eq(db.value("SELECT count(*) FROM jobs WHERE kind = 'mail.send'"), 0, "no attempt is even planned")
  local page = t.status(tech():get("/admin/outbox"), 200).body
  t.contains(page, "No mail server is set up, so nothing is sent; this is what would go out.")
  t.eq(#smtp:messages(), 0)
end)

t.test("only Tech Admins see and change the mail server settings", function()
  t.status(hr():get("/admin/mail-server"), 403)
  t.status(hr():put("/api/mail-server", { host = "127.0.0.1" }), 403)
  t.status(hr():get("/admin/outbox"), 403)
  t.status(hr():get("/api/bounces"), 403)
  t.status(tech():get("/admin/mail-server"), 200)
end)

t.test("settings are checked: a sender address is needed, the port is a number, security one of three", function()
  local res = t.status(tech():put("/api/mail-server", { host = "mail server!", port = "abc", security = "ssl" }), 422)
  t.ok(res.json.error.fields.host, "host")
  t.ok(res.json.error.fields.port, "port")
  t.ok(res.json.error.fields.security, "security")
  local c = tech()
  local page = t.status(c:follow(c:form("/admin/mail-server", { host = "127.0.0.1", port = "25", security = "none",
    from_address = "" })), 200)
  t.contains(page.body, "Sender address is needed to send mail.")
  t.contains(page.body, 'value="127.0.0.1"', "the form keeps what was typed")
  t.eq(delivery.configured(), false)
end)

t.test("a Tech Admin sets up the server; the password is sealed in the database and never shown back", function()
  local res = t.status(tech():put("/api/mail-server", { host = "127.0.0.1", port = smtp.port, security = "none",
    username = "candor", password = PASSWORD, from_name = "Northwind Candor", from_address = "candor@northwind.example" }), 200)
  t.eq(res.json.password_set, true)
  t.eq(res.json.configured, true)
  t.not_contains(res.body, PASSWORD)
  t.eq(database_contains(PASSWORD), nil, "no table holds the password in plain text")
  t.ok(db.value("SELECT length(value_enc) FROM smtp_secrets WHERE name = 'password'") > #PASSWORD)
  t.not_contains(t.status(tech():get("/admin/mail-server"), 200).body, PASSWORD)
  t.not_contains(t.status(tech():get("/api/mail-server"), 200).body, PASSWORD)
  t.contains(tech():get("/admin/mail-server").body, "A password is saved (it is never shown)")
  local audit = db.value("SELECT details FROM audit_log WHERE action = 'mail_server.update' ORDER BY id DESC LIMIT 1")
  t.contains(audit, "password")
  t.not_contains(audit, PASSWORD)
end)

t.test("the mail that waited goes out as soon as there is a server, signed in with the saved password", function()
  t.advance("1s")
  local zoe = demo.email("zoe")
  local got = messages_to(zoe)
  t.eq(#got, 1)
  t.contains(got[1].text, "Subject: Reset your Candor password")
  t.contains(got[1].text, "From: Northwind Candor <candor@northwind.example>")
  t.contains(got[1].text, "Auto-Submitted: auto-generated")
  local auth = smtp:auth()
  t.ok(#auth >= 1, "signed in")
  t.eq(auth[1].user, "candor")
  t.eq(auth[1].password, PASSWORD, "the password was decrypted for the server and only there")
  local row = db.row("SELECT * FROM outbox WHERE to_email = ? ORDER BY id LIMIT 1", zoe)
  t.eq(row.status, "sent")
  t.ok(row.sent_at >= t.now() - 1 and row.sent_at <= t.now(), "sent within the second")
  t.eq(row.attempts, 1)
  t.match(row.smtp_response, "^250 ")
  t.not_contains(row.body_text, "SECRET-TOKEN-123", "the reset link is not kept once the mail is out")
  t.eq(row.body_enc, nil, "nor its sealed copy")
  t.contains(got[1].text, "SECRET-TOKEN-123", "but the recipient got it whole")
end)

t.test("a new mail is sent a few seconds after it is queued, and only once", function()
  local before = #smtp:messages()
  local id = queue(P.mia, "user.invite", { inviter = "Marcus", link = "https://candor.test/x" })
  t.eq(mail_row(id).status, "queued")
  t.advance("10s")
  local row = mail_row(id)
  t.eq(row.status, "sent")
  t.ok(row.sent_at > row.created_at and row.sent_at <= row.created_at + delivery.DELAY + 1, "sent soon after queueing")
  t.advance("3h")
  t.eq(#smtp:messages(), before + 1)
  t.eq(#messages_to(demo.email("mia")), 1)
end)

t.test("mail queued together goes out in one run", function()
  local ids = db.transaction(function()
    local out = {}
    for i = 1, 5 do
      out[i] = mail.queue{ template = "password.reset", to = guest("Batch " .. i, ("batch%d@partner.example"):format(i)),
        vars = { link = "https://candor.test/r" } }
    end
    return out
  end)
  t.eq(db.value("SELECT count(DISTINCT due_ms) FROM jobs WHERE kind = 'mail.send'"), 1, "all five due at one moment")
  t.advance("10s")
  for _, id in ipairs(ids) do t.eq(mail_row(id).status, "sent") end
end)

t.test("a 4xx answer is retried with backoff on the virtual clock, then the mail is sent", function()
  local addr = "busy@partner.example"
  smtp:rules{ "rcpt " .. addr .. " 451 4.7.1 Greylisted, please try again later" }
  local id = queue(guest("Bea Busy", addr))
  t.advance("10s")
  local row = mail_row(id)
  t.eq(row.status, "queued")
  t.eq(row.attempts, 1)
  t.contains(row.last_error, "451")
  local first_try = row.created_at + delivery.DELAY
  t.eq(delivery.next_attempt(id), first_try + delivery.BACKOFF[1], "a minute after the first try")
  t.advance("50s")
  t.eq(mail_row(id).attempts, 1, "not retried before its time")
  t.advance("15s")
  row = mail_row(id)
  t.eq(row.attempts, 2, "retried after a minute")
  t.eq(delivery.next_attempt(id), first_try + delivery.BACKOFF[1] + delivery.BACKOFF[2], "then five minutes")
  t.advance("4m")
  t.eq(mail_row(id).attempts, 2, "the second wait is five minutes")
  smtp:rules{}
  t.advance("2m")
  row = mail_row(id)
  t.eq(row.status, "sent")
  t.eq(row.attempts, 3)
  t.eq(#messages_to(addr), 1)
  local history = t.status(tech():get("/api/outbox/" .. id), 200).json.history
  t.eq(history[1].status, "queued")
  t.contains(history[2].detail, "Attempt 1 failed")
  t.contains(history[3].detail, "Attempt 2 failed")
  t.eq(history[4].status, "sent")
end)

t.test("a mail queued while another waits for its retry goes out in seconds, not at the retry", function()
  local busy = "busy@partner.example"
  smtp:rules{ "rcpt " .. busy .. " 451 4.7.1 Greylisted, please try again later" }
  local waiting = queue(guest("Bea Busy", busy))
  t.advance("10s")
  t.eq(mail_row(waiting).attempts, 1, "the next attempt is a minute away")
  local id = queue(guest("Nia Now", "now@partner.example"))
  t.advance("10s")
  t.eq(mail_row(id).status, "sent")
  t.eq(mail_row(waiting).attempts, 1, "the waiting one keeps its time")
  smtp:rules{}
  t.advance("1m")
  t.eq(mail_row(waiting).status, "sent")
end)

t.test("a 550 is a bounce: recorded with the address, code and message", function()
  local addr = "ghost@partner.example"
  smtp:rules{ "rcpt " .. addr .. " 550 5.1.1 <ghost@partner.example>: Recipient address rejected: User unknown" }
  local id = queue(guest("Gus Ghost", addr))
  t.advance("10s")
  local row = mail_row(id)
  t.eq(row.status, "bounced")
  t.eq(row.attempts, 1, "a permanent refusal is not retried")
  local b = t.status(tech():get("/api/bounces"), 200).json.bounces
  t.eq(#b, 1)
  t.eq(b[1].email, addr)
  t.eq(b[1].smtp_code, 550)
  t.contains(b[1].message, "User unknown")
  t.eq(b[1].outbox_id, id)
  t.advance("1d")
  t.eq(#messages_to(addr), 0)
  t.eq(mail_row(id).status, "bounced")
  local page = t.status(tech():get("/admin/bounces"), 200).body
  t.contains(page, addr)
  t.contains(page, "Mark fixed")
end)

t.test("later mail to a bounced address is held until the address is marked fixed", function()
  local addr = "ghost@partner.example"
  local id = queue(guest("Gus Ghost", addr))
  t.advance("10s")
  t.eq(mail_row(id).status, "held")
  t.eq(#messages_to(addr), 0, "not even tried")
  t.contains(t.status(tech():get("/admin/outbox/" .. id), 200).body, "Held: mail to ghost@partner.example bounced")
  t.status(tech():post("/api/outbox/" .. id .. "/retry"), 409)
  smtp:rules{}
  local bounce = db.value("SELECT id FROM mail_bounces WHERE email = ?", addr)
  t.status(hr():post("/api/bounces/" .. bounce .. "/fixed"), 403)
  local res = t.status(tech():post("/api/bounces/" .. bounce .. "/fixed"), 200)
  t.eq(res.json.released, 1)
  t.advance("2s")
  t.eq(mail_row(id).status, "sent")
  t.eq(#messages_to(addr), 1)
  t.eq(#t.status(tech():get("/api/bounces"), 200).json.bounces, 0)
  t.eq(#t.status(tech():get("/api/bounces?all=1"), 200).json.bounces, 1)
end)

t.test("a mail a live attempt is sending is left alone; one whose process is gone is interrupted, never sent again by itself", function()
  local addr = "claimed@partner.example"
  local id = queue(guest("Cleo Claimed", addr))
  db.exec("UPDATE outbox SET status = 'sending', sending_at = ?, sending_by = ?, attempts = 1 WHERE id = ?",
    t.now(), host.process(), id)
  t.advance("10s")
  t.eq(#messages_to(addr), 0, "someone else has it")
  t.eq(delivery.recover(), 0, "its process runs: the attempt goes on")
  t.eq(mail_row(id).status, "sending")
  -- Candor was killed during the conversation: the process named in the row is gone
  db.exec("UPDATE outbox SET sending_by = ? WHERE id = ?", DEAD_PROCESS, id)
  t.eq(delivery.recover(), 1)
  local row = mail_row(id)
  t.eq(row.status, "interrupted")
  t.eq(row.sending_by, nil)
  t.advance("1d")
  t.eq(#messages_to(addr), 0, "the server may have it: not sent again by itself")
  local page = t.status(tech():get("/admin/outbox/" .. id), 200).body
  t.contains(page, "Interrupted")
  t.contains(page, "may have taken it")
  t.contains(page, "Send again")
  t.contains(page, "Mark as sent")
  t.eq(t.status(tech():get("/api/outbox?status=interrupted"), 200).json.total, 1)
end)

t.test("the server took the mail but its answer was lost: interrupted, never sent a second time", function()
  local addr = "lost-answer@partner.example"
  smtp:rules{ "end " .. addr .. " drop" }
  local id = queue(guest("Lou Lost", addr))
  t.advance("10s")
  local row = mail_row(id)
  t.eq(row.status, "interrupted")
  t.eq(row.attempts, 1)
  t.ok(row.message_id, "the attempt's Message-ID was kept before it began")
  t.eq(#messages_to(addr), 1, "the server has it")
  t.contains(row.message_id, (messages_to(addr)[1].text:match("\r\nMessage%-ID: (<[^>]+>)")))
  smtp:rules{}
  t.advance("1d")
  t.eq(#messages_to(addr), 1, "and only once")
  t.eq(mail_row(id).status, "interrupted")
end)

t.test("an attempt still 'sending' after ten minutes broke off, even in a live process: interrupted", function()
  local addr = "stuck@partner.example"
  local id = queue(guest("Stu Stuck", addr))
  db.exec("UPDATE outbox SET status = 'sending', sending_at = ?, sending_by = ?, attempts = 1 WHERE id = ?",
    t.now(), host.process(), id)
  t.advance("9m")
  t.eq(delivery.recover(), 0)
  t.advance("2m")
  t.eq(delivery.recover(), 1)
  t.eq(mail_row(id).status, "interrupted")
  t.eq(#messages_to(addr), 0)
end)

t.test("an interrupted mail is sent again only when a Tech Admin says so, or marked sent", function()
  local again = db.value("SELECT id FROM outbox WHERE to_email = 'claimed@partner.example'")
  t.status(hr():post("/api/outbox/" .. again .. "/retry"), 403)
  local res = t.status(tech():post("/api/outbox/" .. again .. "/retry"), 200)
  t.eq(res.json.status, "queued")
  t.contains(res.json.history[#res.json.history].detail, "it may arrive twice")
  t.advance("2s")
  t.eq(mail_row(again).status, "sent")
  t.eq(#messages_to("claimed@partner.example"), 1)

  local taken = db.value("SELECT id FROM outbox WHERE to_email = 'stuck@partner.example'")
  t.status(hr():post("/api/outbox/" .. taken .. "/mark-sent"), 403)
  t.status(tech():post("/api/outbox/" .. again .. "/mark-sent"), 409, "only an interrupted mail")
  res = t.status(tech():post("/api/outbox/" .. taken .. "/mark-sent"), 200)
  t.eq(res.json.status, "sent")
  t.contains(res.json.history[#res.json.history].detail, "Marked as sent")
  t.advance("1d")
  t.eq(#messages_to("stuck@partner.example"), 0, "marked, not sent")
end)

t.test("a mail claimed by another run between reading and sending is skipped: the claim only succeeds once", function()
  local addr = "race@partner.example"
  local id = queue(guest("Rita Race", addr))
  local seen = db.row("SELECT o.*, 0 AS bounced_before FROM outbox o WHERE id = ?", id) -- read while queued
  db.exec("UPDATE outbox SET status = 'sending', sending_at = ? WHERE id = ?", t.now(), id) -- another run claims it
  t.eq(delivery.deliver(seen, delivery.config()), "skipped")
  t.eq(#messages_to(addr), 0)
  db.exec("UPDATE outbox SET status = 'queued', sending_at = NULL WHERE id = ?", id)
  t.eq(delivery.deliver(seen, delivery.config()), "sent")
  t.eq(delivery.deliver(seen, delivery.config()), "skipped", "the same row read again: already sent")
  t.eq(#messages_to(addr), 1)
  t.eq(mail_row(id).attempts, 1)
end)

t.test("nothing is sent twice: every sent mail reached the server exactly once", function()
  t.advance("1d")
  local sent = db.query([[SELECT id, message_id FROM outbox WHERE status = 'sent'
    AND id NOT IN (SELECT outbox_id FROM outbox_events WHERE detail LIKE 'Marked as sent%')]])
  t.ok(#sent >= 10)
  local seen = {}
  for _, m in ipairs(smtp:messages()) do
    local mid = m.text:match("\r\nMessage%-ID: (<[^>]+>)")
    t.ok(mid, "a Message-ID")
    t.no(seen[mid], "message " .. mid .. " twice")
    seen[mid] = true
  end
  for _, row in ipairs(sent) do t.ok(seen[row.message_id], "mail " .. row.id .. " reached the server") end
  -- and the one whose answer was lost, once: interrupted, not sent again
  local lost = db.row("SELECT message_id FROM outbox WHERE to_email = 'lost-answer@partner.example'")
  t.ok(seen[lost.message_id])
  t.eq(#smtp:messages(), #sent + 1)
  local res = t.status(tech():post("/api/outbox/" .. sent[1].id .. "/retry"), 409)
  t.contains(res.json.error.message, "never sent twice")
end)

t.test("the test mail button sends at once and shows the server's answer", function()
  local c = tech()
  local posted = t.status(c:form("/admin/mail-server/test", { to = "tom.okafor@northwind.example" }), 303)
  local res = t.status(c:follow(posted), 200)
  t.contains(res.body, "The server accepted it: 250")
  local got = messages_to("tom.okafor@northwind.example")
  t.eq(#got, 1)
  t.contains(got[1].text, "Subject: Test mail from Candor")
  t.contains(got[1].text, "Tom Okafor")
  local api = t.status(tech():post("/api/mail-server/test", { to = "it@northwind.example" }), 200).json
  t.eq(api.sent, true)
  t.eq(mail_row(api.outbox_id).status, "sent")
end)

t.test("a refused sign-in is reported by the test mail and does not bounce anyone", function()
  -- a new server (the old connection, signed in already, would be reused)
  smtp:stop()
  smtp = fake.start(ROOT)
  smtp:rules{ "auth * 535 5.7.8 Authentication credentials invalid" }
  t.status(tech():put("/api/mail-server", { port = smtp.port }), 200)
  local api = t.status(tech():post("/api/mail-server/test", { to = "it@northwind.example" }), 200).json
  t.eq(api.sent, false)
  t.contains(api.error, "refused the sign-in")
  t.eq(mail_row(api.outbox_id).status, "queued", "it waits for the next attempt")
  t.eq(db.value("SELECT count(*) FROM mail_bounces WHERE email = 'it@northwind.example'"), 0)
  smtp:rules{}
  t.advance("2m")
  t.eq(mail_row(api.outbox_id).status, "sent")
end)

t.test("a server that is down: mail waits with backoff and counts attempts, then fails; Retry now sends it", function()
  smtp:stop()
  local ids = { queue(guest("Dana Down", "down1@partner.example")), queue(guest("Dev Down", "down2@partner.example")) }
  t.advance("10s")
  for _, id in ipairs(ids) do
    local row = mail_row(id)
    t.eq(row.status, "queued")
    t.eq(row.attempts, 1)
    t.contains(row.last_error, "cannot reach the mail server")
  end
  local waits = { "1m", "5m", "30m", "2h", "6h" }
  for i, w in ipairs(waits) do
    t.advance(w)
    t.eq(mail_row(ids[1]).attempts, i + 1, "attempt " .. (i + 1) .. " after " .. w)
  end
  for _, id in ipairs(ids) do t.eq(mail_row(id).status, "failed") end
  t.eq(db.value("SELECT count(*) FROM jobs WHERE kind = 'mail.send'"), 0, "no more attempts planned")
  local page = t.status(tech():get("/admin/outbox?status=failed"), 200).body
  t.contains(page, "Retry all failed (2)")

  smtp = fake.start(ROOT)
  t.status(tech():put("/api/mail-server", { port = smtp.port }), 200)
  t.status(tech():form("/admin/outbox/" .. ids[1] .. "/retry", {}), 303)
  t.eq(mail_row(ids[1]).attempts, 0)
  t.advance("2s")
  t.eq(mail_row(ids[1]).status, "sent")
  t.eq(mail_row(ids[2]).status, "failed", "only the one retried")
  t.eq(t.status(tech():post("/api/outbox/retry-failed"), 200).json.requeued, 1)
  t.advance("2s")
  t.eq(mail_row(ids[2]).status, "sent")
  t.eq(#smtp:messages(), 2)
  smtp:stop()
end)
