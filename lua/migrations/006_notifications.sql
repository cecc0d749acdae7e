-- 006: notifications. Edited mail templates, what happened to each mail after it was queued,
-- the addresses that bounced, and the mail server's password (encrypted).

-- A company's own wording of a mail template (services/mail.lua). No row: the default text.
CREATE TABLE email_templates (
  name        TEXT PRIMARY KEY,              -- e.g. 'user.invite', 'review.reminder'
  subject     TEXT NOT NULL,
  body_text   TEXT NOT NULL,                 -- {{var}} and {{#var}}...{{/var}} placeholders
  updated_at  INTEGER NOT NULL,
  updated_by  INTEGER REFERENCES users(id) ON DELETE SET NULL
);

-- Each status change of a mail after it was queued (queueing itself is outbox.created_at):
-- sent, a retry planned, bounced, failed, held, put back in the queue by someone.
CREATE TABLE outbox_events (
  id         INTEGER PRIMARY KEY,
  outbox_id  INTEGER NOT NULL REFERENCES outbox(id) ON DELETE CASCADE,
  at         INTEGER NOT NULL,
  status     TEXT NOT NULL,                  -- the status the mail went to
  detail     TEXT,                           -- the server's answer, or the error
  actor_id   INTEGER REFERENCES users(id) ON DELETE SET NULL  -- who did it, for manual retries
);
CREATE INDEX outbox_events_mail ON outbox_events(outbox_id, id);

-- Addresses the mail server refused for good (5xx). Mail to an address with a bounce that is
-- not marked fixed is held instead of sent.
CREATE TABLE mail_bounces (
  id         INTEGER PRIMARY KEY,
  email      TEXT NOT NULL,                  -- lower case
  outbox_id  INTEGER REFERENCES outbox(id) ON DELETE SET NULL,
  at         INTEGER NOT NULL,
  smtp_code  INTEGER,
  message    TEXT NOT NULL,
  fixed_at   INTEGER,
  fixed_by   INTEGER REFERENCES users(id) ON DELETE SET NULL
);
CREATE INDEX mail_bounces_email ON mail_bounces(email, fixed_at);
CREATE INDEX mail_bounces_at ON mail_bounces(at);

-- Secrets of the mail set-up (the SMTP password), sealed with lib/crypt: smtp_secrets.value_enc,
-- key (name). Never shown back, never logged.
CREATE TABLE smtp_secrets (
  name        TEXT PRIMARY KEY,
  value_enc   BLOB NOT NULL,
  updated_at  INTEGER NOT NULL,
  updated_by  INTEGER REFERENCES users(id) ON DELETE SET NULL
) WITHOUT ROWID;

ALTER TABLE outbox ADD COLUMN sending_at INTEGER;     -- when the attempt in progress began
ALTER TABLE outbox ADD COLUMN smtp_response TEXT;     -- the server's last answer
ALTER TABLE outbox ADD COLUMN message_id TEXT;        -- Message-ID of the mail as sent
CREATE INDEX outbox_template ON outbox(template, id);
