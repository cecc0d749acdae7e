-- 025: job ids are never reused. The queue finishes a job by its id (core/scheduler.c); with a
-- plain INTEGER PRIMARY KEY, SQLite gives a new row the highest id plus one, so a job cancelled
-- while it ran left its id to the next job planned, and finishing the first removed the second.
-- AUTOINCREMENT hands out ids above every id ever used. The table is rebuilt with the same
-- columns, rows and indexes.
CREATE TABLE jobs_new (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  due_ms      INTEGER NOT NULL,
  kind        TEXT NOT NULL,
  payload     TEXT NOT NULL DEFAULT '{}',
  key         TEXT UNIQUE,
  attempts    INTEGER NOT NULL DEFAULT 0,
  last_error  TEXT,
  created_ms  INTEGER NOT NULL,
  lane        TEXT NOT NULL DEFAULT 'main',
  claimed_by  TEXT,
  again       INTEGER NOT NULL DEFAULT 0
);
INSERT INTO jobs_new(id, due_ms, kind, payload, key, attempts, last_error, created_ms, lane, claimed_by, again)
  SELECT id, due_ms, kind, payload, key, attempts, last_error, created_ms, lane, claimed_by, again FROM jobs;
DROP TABLE jobs;
ALTER TABLE jobs_new RENAME TO jobs;
CREATE INDEX jobs_due ON jobs(due_ms, id);
CREATE INDEX jobs_lane ON jobs(lane, due_ms, id);
CREATE INDEX jobs_claimed ON jobs(claimed_by, lane) WHERE claimed_by IS NOT NULL;
