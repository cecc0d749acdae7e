-- Migration 006 (notifications) on a version-005 database: the mail of fixtures/005.sql keeps
-- everything it had, the new columns start empty, the new tables hold their rules, and the
-- outbox list reads the old rows (it finds the cycle of a reminder). May change the database
-- freely.
return function(db, t, info)
  t.eq(info.version, 6)
  t.eq(db.value("SELECT count(*) FROM outbox"), info.before.outbox.count)
  t.eq(db.value("SELECT count(*) FROM outbox WHERE sending_at IS NOT NULL OR smtp_response IS NOT NULL"
    .. " OR message_id IS NOT NULL"), 0, "new columns start empty")
  for _, tbl in ipairs({ "email_templates", "outbox_events", "mail_bounces", "smtp_secrets" }) do
    t.eq(db.value(("SELECT count(*) FROM %s"):format(tbl)), 0, tbl .. " starts empty")
  end

  -- an edited template per name; history rows go with their mail
  db.exec("INSERT INTO email_templates(name, subject, body_text, updated_at, updated_by) VALUES('user.invite', 's', 't', 1, 3)")
  t.eq(db.try_exec("INSERT INTO email_templates(name, subject, body_text, updated_at) VALUES('user.invite', 's', 't', 1)"), nil,
    "one edited version per template")
  t.eq(db.try_exec("INSERT INTO outbox_events(outbox_id, at, status) VALUES(999, 1, 'sent')"), nil,
    "history of a mail that does not exist")
  local mail_id = db.value("SELECT min(id) FROM outbox")
  db.exec("INSERT INTO outbox_events(outbox_id, at, status, detail) VALUES(?, 1, 'sent', '250 ok')", mail_id)
  db.exec("DELETE FROM outbox WHERE id = ?", mail_id)
  t.eq(db.value("SELECT count(*) FROM outbox_events"), 0, "history goes with its mail")

  local sending = db.value("SELECT count(*) FROM outbox WHERE status = 'sending'")
  t.ok(sending > 0, "the fixture has an interrupted mail (migration 015 marks it so: checks/015.lua)")
  -- (today's list reads the mails per status that migration 027 keeps: made here as 027 makes them)
  db.exec("CREATE TABLE outbox_counts AS SELECT status, count(*) AS n FROM outbox GROUP BY status")
  local list = require("services.outbox").list_outbox({ cycle = 3 })
  t.ok(list.total > 0, "reminders of cycle 3")
  for _, m in ipairs(list.mails) do t.eq(m.cycle_name, "Q4 – Zoë’s team") end
end
