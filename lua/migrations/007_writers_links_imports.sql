-- 007: who may read a review is fixed on the review (its writer and the managers above the
-- writer at that moment, not today's reporting lines); HR may choose who writes a review;
-- queued mail keeps credential links encrypted; imports run in slices and keep a record.

-- The managers above the reviewing manager when the review's manager was fixed (the cycle's
-- start, a reviewee added to a running cycle, or HR choosing another writer): a JSON array of
-- user ids. Managers higher up read the review by this list, not by today's org chart.
ALTER TABLE reviews ADD COLUMN manager_chain TEXT;
-- Set when HR chose the writer (the reviewing manager) by hand; the start keeps that choice.
ALTER TABLE reviews ADD COLUMN manager_chosen_by INTEGER REFERENCES users(id) ON DELETE SET NULL;

-- Reviews already started: their chain as the org chart has it now (loops, which the
-- application never makes, end the walk).
UPDATE reviews SET manager_chain = (
  WITH RECURSIVE up(id, n) AS (
    SELECT u.manager_id, 1 FROM users u WHERE u.id = reviews.manager_id AND u.manager_id IS NOT NULL
    UNION
    SELECT u.manager_id, up.n + 1 FROM users u JOIN up ON u.id = up.id
      WHERE u.manager_id IS NOT NULL AND up.n < 64)
  SELECT json_group_array(id) FROM (SELECT id, min(n) AS n FROM up WHERE id <> reviews.manager_id
    GROUP BY id ORDER BY n))
WHERE manager_id IS NOT NULL;

-- A queued mail with a credential link (an invitation or a password reset): its full text and
-- HTML, sealed (lib/crypt.lua, bound to the row). body_text and body_html then hold the mail
-- with the link's secret parts hidden; the sealed copy is what is sent, and is dropped once sent.
ALTER TABLE outbox ADD COLUMN body_enc BLOB;

-- A user import (services/import.lua): validated as a whole, then applied in short slices.
CREATE TABLE imports (
  id           INTEGER PRIMARY KEY,
  created_by   INTEGER REFERENCES users(id) ON DELETE SET NULL,  -- NULL: the command line
  actor_label  TEXT NOT NULL,                  -- who started it (an email, or 'command line')
  via          TEXT NOT NULL CHECK (via IN ('api', 'page', 'cli')),
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
CREATE INDEX imports_status ON imports(status);

-- The people an import created (so a resumed import still treats them as new).
CREATE TABLE import_people (
  import_id  INTEGER NOT NULL REFERENCES imports(id) ON DELETE CASCADE,
  user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  PRIMARY KEY (import_id, user_id)
) WITHOUT ROWID;
