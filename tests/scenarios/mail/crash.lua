-- A mail the SMTP server accepted is never sent twice, even when Candor is killed (SIGKILL)
-- between recording the attempt ('sending') and writing its outcome ('sent'). A real
-- `candor serve` sends to the fake SMTP server, which takes the whole mail and holds its answer
-- back; the server is killed meanwhile, the answer goes out to nobody, and after a restart the
-- mail is 'interrupted' (someone decides) while the mail queued behind it, never attempted, goes
-- out: what was not attempted is sent at least once, what was attempted at most once.
local t = require "testing"
local db = require "lib.db"
local core_db = require "core.db"
local mail = require "services.mail"
local delivery = require "services.delivery"

local ROOT = debug.getinfo(1, "S").source:match("^@(.-)tests/scenarios/mail/[^/]+$") or ""
local fake = dofile(ROOT .. "tests/tools/fake_smtp.lua")
local server = dofile(ROOT .. "tests/tools/candor_server.lua")
local canary = dofile(ROOT .. "tests/scenarios/security/canary_lib.lua")

local PORTS = { 18660, 18679 }
local dir = canary.file_backed()
local smtp = fake.start(ROOT)
local first, second -- the mail being sent when the server is killed, and the one behind it
local s

local function status(id) return db.value("SELECT status FROM outbox WHERE id = ?", id) end
local function to(addr)
  local n = 0
  for _, m in ipairs(smtp:messages()) do
    for _, r in ipairs(m.rcpts) do if r == addr then n = n + 1 end end
  end
  return n
end

t.test("set up: a mail server that takes mail but holds its answer back, two mails queued", function()
  delivery.save_settings(nil, { host = "127.0.0.1", port = smtp.port, security = "none",
    from_address = "candor@northwind.example" })
  smtp:rules{ "end first@partner.example hold" }
  db.transaction(function()
    first = mail.queue{ template = "password.reset", to = { name = "First", email = "first@partner.example" },
      vars = { link = "https://candor.test/r/1" } }
    second = mail.queue{ template = "password.reset", to = { name = "Second", email = "second@partner.example" },
      vars = { link = "https://candor.test/r/2" } }
  end)
  t.eq(db.value("SELECT count(*) FROM jobs WHERE kind = 'mail.send'"), 2)
  t.ok(core_db.checkpoint())
end)

t.test("killed with SIGKILL while the server holds the answer: the attempt was recorded before it began", function()
  s = server.start{ dir = dir, ports = PORTS, name = "first" }
  t.ok(server.wait_for(function() return smtp:log_has("HELD") end), "the mail server took the first mail")
  local row = db.row("SELECT status, sending_by, message_id, attempts FROM outbox WHERE id = ?", first)
  t.eq(row.status, "sending", "recorded and committed before the conversation")
  t.match(row.sending_by, ("^%d%%."):format(s.pid))
  t.ok(row.message_id)
  t.eq(row.attempts, 1)
  s:kill()
  smtp:release() -- the server's "250 accepted" goes to a closed connection
  t.eq(status(first), "sending")
  t.eq(status(second), "queued", "the mail behind it was never attempted")
  t.eq(to("first@partner.example"), 1)
end)

t.test("after a restart the accepted mail is interrupted and not sent again; the one never attempted goes out", function()
  smtp:rules{}
  s = server.start{ dir = dir, ports = PORTS, name = "second" }
  t.ok(server.wait_for(function() return status(second) == "sent" end), "the second mail went out")
  t.eq(status(first), "interrupted")
  t.contains(s:log(), "were being sent when Candor stopped")
  server.wait_for(function() return false end, 1500) -- time for a second attempt, if there were one
  t.eq(to("first@partner.example"), 1, "the first mail reached the server once")
  t.eq(to("second@partner.example"), 1)
  t.eq(db.value("SELECT count(*) FROM jobs WHERE kind = 'mail.send'"), 0, "nothing left to send")
  local events = db.column("SELECT status FROM outbox_events WHERE outbox_id = ? ORDER BY id", first)
  t.same(events, { "interrupted" })
  t.eq(s:stop(), 0)
  smtp:stop()
  canary.cleanup(dir)
end)
