-- 028: the automatic people import from a drop folder (services/feed.lua): its runs, and 'sftp'
-- as a way an import is started. SQLite cannot change a CHECK constraint, so imports is rebuilt
-- with the same columns, rows and index; import_people (which cascades from imports) is set
-- aside and put back so that dropping the old table removes none of its rows.

CREATE TEMP TABLE import_people_kept AS SELECT import_id, user_id FROM import_people;
DROP TABLE import_people;

CREATE TABLE imports_new (
  id           INTEGER PRIMARY KEY,
  created_by   INTEGER REFERENCES users(id) ON DELETE SET NULL,  -- NULL: the command line
  actor_label  TEXT NOT NULL,                  -- who started it (an email, or 'command line')
  via          TEXT NOT NULL CHECK (via IN ('api', 'page', 'cli', 'sftp')),
  status       TEXT NOT NULL CHECK (status IN ('running', 'done', 'failed')),
  csv          TEXT NOT NULL,                  -- the file, kept while it runs (to resume); '' after
  rows         INTEGER NOT NULL DEFAULT 0,     -- data rows in the file
  phase        TEXT,                           -- people | managers | roles | finished
  done         INTEGER NOT NULL DEFAULT 0,     -- changes applied so far
  total        INTEGER NOT NULL DEFAULT 0,     -- changes to apply
  report       TEXT NOT NULL DEFAULT '{}',     -- JSON: counts, notes, problems (services/import.lua)
  error        TEXT,
  runs         INTEGER NOT NULL DEFAULT 0,     -- how often a runner started or resumed it
  runner       TEXT,                           -- the runner holding it (a random token)
  heartbeat_at INTEGER,                        -- its last slice: older than a minute, another may resume
  created_at   INTEGER NOT NULL,
  updated_at   INTEGER NOT NULL,
  finished_at  INTEGER
);
INSERT INTO imports_new(id, created_by, actor_label, via, status, csv, rows, phase, done, total, report, error, runs,
    runner, heartbeat_at, created_at, updated_at, finished_at)
  SELECT id, created_by, actor_label, via, status, csv, rows, phase, done, total, report, error, runs, runner,
    heartbeat_at, created_at, updated_at, finished_at FROM imports;
DROP TABLE imports;
ALTER TABLE imports_new RENAME TO imports;
CREATE INDEX imports_status ON imports(status);

CREATE TABLE import_people (
  import_id  INTEGER NOT NULL REFERENCES imports(id) ON DELETE CASCADE,
  user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  PRIMARY KEY (import_id, user_id)
) WITHOUT ROWID;
INSERT INTO import_people(import_id, user_id) SELECT import_id, user_id FROM import_people_kept;
DROP TABLE import_people_kept;

-- One look at the folder that found a file: what was read, what became of it and of the file.
-- import_id: the import record it started (NULL when the file was refused before that).
CREATE TABLE feed_runs (
  id           INTEGER PRIMARY KEY,
  trigger      TEXT NOT NULL CHECK (trigger IN ('schedule', 'manual')),
  started_by   INTEGER REFERENCES users(id) ON DELETE SET NULL,  -- run now: who; schedule: NULL
  owner_id     INTEGER REFERENCES users(id) ON DELETE SET NULL,  -- whose rights it ran with
  file         TEXT NOT NULL,                  -- the file's name as found
  moved_to     TEXT,                           -- where the file went (done/... or failed/...)
  bytes        INTEGER NOT NULL DEFAULT 0,
  status       TEXT NOT NULL CHECK (status IN ('running', 'done', 'failed')),
  rows         INTEGER NOT NULL DEFAULT 0,
  import_id    INTEGER REFERENCES imports(id) ON DELETE SET NULL,
  counts       TEXT NOT NULL DEFAULT '{}',     -- JSON: created, updated, deactivated, problems
  error        TEXT,
  started_at   INTEGER NOT NULL,
  finished_at  INTEGER
);
CREATE INDEX feed_runs_started ON feed_runs(id DESC);
