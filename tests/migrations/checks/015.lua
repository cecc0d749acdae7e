-- Migration 015 (one queue): jobs get a lane and a claim; every queued mail becomes a job of its
-- own (keeping its time and its attempts) and the delivery runs go; a mail left 'sending' by the
-- old version is 'interrupted' (never sent again by itself); the outbox loses next_attempt_at
-- (the mail's job holds it) and is built again with the new status, its history and bounces
-- with it.
return {
  counts_change = { jobs = "the delivery runs (mail.deliver) go; every queued mail gets a mail.send job",
    outbox_events = "a mail left 'sending' gets an 'interrupted' entry" },
  values_change = { outbox = { "status" } },
  columns_dropped = { ["outbox.next_attempt_at"] = "the time of a waiting mail's next attempt is its job's due time" },
  check = function(db, t, info)
    t.eq(info.version, 15)
    t.eq(db.value("SELECT count(*) FROM jobs WHERE kind = 'mail.deliver'"), 0, "no delivery runs")
    local queued = info.before.outbox.rows
    local n_queued, n_sending = 0, 0
    for _, m in ipairs(queued) do
      if m.status == "queued" then
        n_queued = n_queued + 1
        local job = db.row("SELECT * FROM jobs WHERE key = ?", "mail:" .. m.id)
        t.ok(job, "mail " .. m.id .. " has its job")
        t.eq(job.kind, "mail.send")
        t.eq(job.lane, "mail")
        t.eq(job.attempts, m.attempts, "it keeps its attempts")
        t.eq(job.due_ms, (m.next_attempt_at or m.created_at) * 1000, "and its time")
        t.eq(job.payload, ('{"outbox_id":%d}'):format(m.id))
      elseif m.status == "sending" then
        n_sending = n_sending + 1
        t.eq(db.value("SELECT status FROM outbox WHERE id = ?", m.id), "interrupted")
        t.eq(db.value("SELECT count(*) FROM outbox_events WHERE outbox_id = ? AND status = 'interrupted'", m.id), 1)
      else
        t.eq(db.value("SELECT status FROM outbox WHERE id = ?", m.id), m.status, "other statuses stay")
      end
    end
    t.eq(db.value("SELECT count(*) FROM jobs WHERE kind = 'mail.send'"), n_queued)
    t.eq(db.value("SELECT count(*) FROM jobs WHERE lane = 'main'"),
      db.value("SELECT count(*) FROM jobs") - n_queued, "every other job is in the main lane")
    t.eq(db.value("SELECT count(*) FROM jobs WHERE claimed_by IS NOT NULL OR again <> 0"), 0)
    -- the tables that refer to the outbox still do (rebuilt with it)
    local function refers_to_outbox(tbl)
      for _, fk in ipairs(db.query(("PRAGMA foreign_key_list(%s)"):format(tbl))) do
        if fk.from == "outbox_id" then return fk.table end
      end
    end
    t.eq(refers_to_outbox("outbox_events"), "outbox")
    t.eq(refers_to_outbox("mail_bounces"), "outbox")
    local id = db.insert([[INSERT INTO outbox(created_at, template, to_email, subject, body_text, status)
      VALUES(1, 'mail.test', 'a@example.com', 's', 't', 'interrupted')]])
    db.exec("INSERT INTO outbox_events(outbox_id, at, status) VALUES(?, 1, 'interrupted')", id)
    t.eq(db.try_exec("UPDATE outbox SET status = 'lost' WHERE id = ?", id), nil, "statuses are still checked")
    db.exec("DELETE FROM outbox WHERE id = ?", id)
    t.eq(db.value("SELECT count(*) FROM outbox_events WHERE outbox_id = ?", id), 0, "history goes with its mail")
  end,
}
