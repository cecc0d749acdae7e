-- 015: one queue for every kind of job, and a mail's attempt recorded before it is sent.
--
-- Jobs get a lane (the runner runs one job of a lane at a time, lanes at once), a claim (the
-- process running the job: "pid.start", see core/proc.c) and a mark for a job re-planned while
-- it ran (1: work coalesced into it, 2: replaced). core/scheduler.c.
ALTER TABLE jobs ADD COLUMN lane TEXT NOT NULL DEFAULT 'main';
ALTER TABLE jobs ADD COLUMN claimed_by TEXT;
ALTER TABLE jobs ADD COLUMN again INTEGER NOT NULL DEFAULT 0;
CREATE INDEX jobs_lane ON jobs(lane, due_ms, id);
CREATE INDEX jobs_claimed ON jobs(claimed_by, lane) WHERE claimed_by IS NOT NULL;

-- Mail used to wait in the outbox with a time of its own (next_attempt_at) for a delivery run
-- that a job planned. Now every mail waiting to be sent is a job of its own ("mail.send", key
-- mail:<id>, lane "mail", services/delivery.lua) with the retry table of its kind: the waiting
-- mail keeps its time and its count of attempts, the runs go.
INSERT INTO jobs(due_ms, kind, payload, key, attempts, created_ms, lane)
  SELECT coalesce(next_attempt_at, created_at) * 1000, 'mail.send', json_object('outbox_id', id),
         'mail:' || id, attempts, CAST(strftime('%s', 'now') AS INTEGER) * 1000, 'mail'
  FROM outbox WHERE status = 'queued';
DELETE FROM jobs WHERE kind = 'mail.deliver';

-- A mail found 'sending' was being sent when the old version stopped: the server may have taken
-- it. It is not sent again by itself any more ('interrupted': someone decides).
INSERT INTO outbox_events(outbox_id, at, status, detail)
  SELECT id, CAST(strftime('%s', 'now') AS INTEGER), 'interrupted',
         'Candor stopped while this mail was being sent: the mail server may have taken it.'
  FROM outbox WHERE status = 'sending';

-- The outbox learns the status 'interrupted' and who is sending (sending_by), and loses
-- next_attempt_at (the mail's job holds it). SQLite changes a CHECK only by building the table
-- again; foreign keys stay on during a migration, so the two tables that refer to the outbox are
-- built again with it (dropping them first would cascade) and everything is renamed at the end.
CREATE TABLE outbox_new (
  id              INTEGER PRIMARY KEY,
  created_at      INTEGER NOT NULL,
  template        TEXT NOT NULL,               -- e.g. 'user.invite', 'review.reminder'
  to_email        TEXT NOT NULL,
  to_name         TEXT,
  to_user_id      INTEGER REFERENCES users(id) ON DELETE SET NULL,
  cc              TEXT,                        -- comma-separated, rare
  subject         TEXT NOT NULL,
  body_text       TEXT NOT NULL,
  body_html       TEXT,
  status          TEXT NOT NULL DEFAULT 'queued'
                  CHECK (status IN ('queued', 'sending', 'sent', 'failed', 'bounced', 'held', 'interrupted')),
  attempts        INTEGER NOT NULL DEFAULT 0,  -- attempts made (each recorded before it began)
  last_error      TEXT,
  sent_at         INTEGER,
  related_type    TEXT,                        -- e.g. 'cycle'
  related_id      INTEGER,
  dedupe_key      TEXT UNIQUE,                 -- the same notification is never queued twice
  sending_at      INTEGER,                     -- when the attempt in progress began
  sending_by      TEXT,                        -- the process making it ("pid.start")
  smtp_response   TEXT,                        -- the server's last answer
  message_id      TEXT,                        -- Message-ID of the last attempt, written before it
  body_enc        BLOB                         -- the full mail with its credential link, sealed (007)
);
INSERT INTO outbox_new(id, created_at, template, to_email, to_name, to_user_id, cc, subject, body_text,
    body_html, status, attempts, last_error, sent_at, related_type, related_id, dedupe_key, sending_at,
    smtp_response, message_id, body_enc)
  SELECT id, created_at, template, to_email, to_name, to_user_id, cc, subject, body_text, body_html,
    CASE status WHEN 'sending' THEN 'interrupted' ELSE status END, attempts, last_error, sent_at,
    related_type, related_id, dedupe_key, sending_at, smtp_response, message_id, body_enc
  FROM outbox;

CREATE TABLE outbox_events_new (
  id         INTEGER PRIMARY KEY,
  outbox_id  INTEGER NOT NULL REFERENCES outbox_new(id) ON DELETE CASCADE,
  at         INTEGER NOT NULL,
  status     TEXT NOT NULL,                  -- the status the mail went to
  detail     TEXT,                           -- the server's answer, or the error
  actor_id   INTEGER REFERENCES users(id) ON DELETE SET NULL  -- who did it, for manual retries
);
INSERT INTO outbox_events_new SELECT id, outbox_id, at, status, detail, actor_id FROM outbox_events;

CREATE TABLE mail_bounces_new (
  id         INTEGER PRIMARY KEY,
  email      TEXT NOT NULL,                  -- lower case
  outbox_id  INTEGER REFERENCES outbox_new(id) ON DELETE SET NULL,
  at         INTEGER NOT NULL,
  smtp_code  INTEGER,
  message    TEXT NOT NULL,
  fixed_at   INTEGER,
  fixed_by   INTEGER REFERENCES users(id) ON DELETE SET NULL
);
INSERT INTO mail_bounces_new SELECT id, email, outbox_id, at, smtp_code, message, fixed_at, fixed_by FROM mail_bounces;

DROP TABLE outbox_events;
DROP TABLE mail_bounces;
DROP TABLE outbox;
ALTER TABLE outbox_new RENAME TO outbox;          -- the references of the two tables follow
ALTER TABLE outbox_events_new RENAME TO outbox_events;
ALTER TABLE mail_bounces_new RENAME TO mail_bounces;

CREATE INDEX outbox_status ON outbox(status, id);
CREATE INDEX outbox_to ON outbox(to_email);
CREATE INDEX outbox_related ON outbox(related_type, related_id);
CREATE INDEX outbox_template ON outbox(template, id);
CREATE INDEX outbox_events_mail ON outbox_events(outbox_id, id);
CREATE INDEX mail_bounces_email ON mail_bounces(email, fixed_at);
CREATE INDEX mail_bounces_at ON mail_bounces(at);
