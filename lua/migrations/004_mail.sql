-- 004: outgoing mail. Every mail is stored here first, then delivered (SMTP) by a job;
-- with no SMTP server configured it stays here and the outbox page shows it.
CREATE TABLE outbox (
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
                  CHECK (status IN ('queued', 'sending', 'sent', 'failed', 'bounced', 'held')),
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER,
  last_error      TEXT,
  sent_at         INTEGER,
  related_type    TEXT,                        -- e.g. 'cycle'
  related_id      INTEGER,
  dedupe_key      TEXT UNIQUE                  -- the same notification is never queued twice
);
CREATE INDEX outbox_status ON outbox(status, next_attempt_at);
CREATE INDEX outbox_to ON outbox(to_email);
CREATE INDEX outbox_related ON outbox(related_type, related_id);
