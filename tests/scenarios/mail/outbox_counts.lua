-- The outbox's mails per status (the page's tabs, and its total when only the status is filtered)
-- are kept by triggers as mails are queued, sent, failed or removed (outbox_counts), so the page
-- counts no mail on a big outbox; a rollback undoes them. They must always be what a count of the
-- outbox gives.
local t = require "testing"
local demo = require "demo"
local db = require "lib.db"
local mail = require "services.mail"

t.demo()
local tech = t.login(demo.email("tom"))

local function queue_many(n)
  db.transaction(function()
    for i = 1, n do
      mail.queue{ template = "password.reset", to = { name = ("Person %04d"):format(i),
        email = ("person%04d@partner.example"):format(i) }, vars = { link = "https://candor.test/r/" .. i } }
    end
  end)
end

local function agrees(msg)
  t.same(db.query("SELECT status, n FROM outbox_counts WHERE n > 0 ORDER BY status"),
    db.query("SELECT status, count(*) AS n FROM outbox GROUP BY status ORDER BY status"), msg)
  local list = t.status(tech:get("/api/outbox"), 200).json
  t.eq(list.total, db.value("SELECT count(*) FROM outbox"), msg .. ": the total")
  for _, s in ipairs({ "queued", "sent", "failed" }) do
    t.eq(list.counts[s], db.value("SELECT count(*) FROM outbox WHERE status = ?", s), msg .. ": " .. s)
    t.eq(t.status(tech:get("/api/outbox?status=" .. s), 200).json.total, list.counts[s], msg .. ": filtered by " .. s)
  end
end

t.test("queued, sent, failed and removed mails are counted; a rollback undoes the counts", function()
  queue_many(12)
  agrees("queued")
  db.exec("UPDATE outbox SET status = 'sent', sent_at = 1 WHERE id IN (SELECT id FROM outbox ORDER BY id LIMIT 5)")
  db.exec("UPDATE outbox SET status = 'failed' WHERE id = (SELECT max(id) FROM outbox)")
  agrees("sent and failed")
  db.exec("DELETE FROM outbox WHERE id = (SELECT min(id) FROM outbox WHERE status = 'queued')")
  agrees("removed")
  local ok = pcall(db.transaction, function()
    db.exec("UPDATE outbox SET status = 'sent'")
    error("refused")
  end)
  t.no(ok)
  agrees("after a rollback")
end)

t.test("the page and its status tabs count no mail", function()
  for _, path in ipairs({ "/admin/outbox", "/admin/outbox?status=sent", "/api/outbox?status=queued" }) do
    for _, q in ipairs(t.query_plans(function() t.status(tech:get(path), 200) end)) do
      t.no(q.sql:find("FROM outbox", 1, true) and q.sql:find("count(", 1, true), path .. ": " .. q.sql:sub(1, 70))
    end
  end
  local filtered = t.status(tech:get("/api/outbox?template=password.reset"), 200).json
  t.eq(filtered.total, db.value("SELECT count(*) FROM outbox WHERE template = 'password.reset'"),
    "another filter is counted as it asks")
end)
