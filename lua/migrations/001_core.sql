-- 001: the host's own tables: timed jobs, settings, the audit log.

-- Timed jobs (core/scheduler.c). key makes planning idempotent and lets a cycle cancel its jobs.
CREATE TABLE jobs (
  id          INTEGER PRIMARY KEY,
  due_ms      INTEGER NOT NULL,
  kind        TEXT NOT NULL,
  payload     TEXT NOT NULL DEFAULT '{}',
  key         TEXT UNIQUE,
  attempts    INTEGER NOT NULL DEFAULT 0,
  last_error  TEXT,
  created_ms  INTEGER NOT NULL
);
CREATE INDEX jobs_due ON jobs(due_ms, id);

-- Company settings: one JSON value per key (see lua/services/settings.lua for the list).
CREATE TABLE settings (
  key         TEXT PRIMARY KEY,
  value       TEXT NOT NULL,
  updated_at  INTEGER NOT NULL,
  updated_by  INTEGER
);

-- Append-only, hash-chained audit log. Never holds secrets or confidential text.
CREATE TABLE audit_log (
  id           INTEGER PRIMARY KEY,
  at           INTEGER NOT NULL,
  actor_id     INTEGER,
  actor_label  TEXT NOT NULL DEFAULT '',
  action       TEXT NOT NULL,
  target_type  TEXT,
  target_id    INTEGER,
  target_label TEXT,
  ip           TEXT,
  details      TEXT NOT NULL DEFAULT '{}',
  prev_hash    TEXT NOT NULL,
  hash         TEXT NOT NULL UNIQUE
);
CREATE INDEX audit_at ON audit_log(at);
CREATE INDEX audit_actor ON audit_log(actor_id, at);
CREATE INDEX audit_action ON audit_log(action, at);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
