-- 012: objectives. Objective cycles (a time frame, who takes part, who creates, the default
-- visibility, the features on, an edit window and a later update window), the objectives in them
-- with their key results, the people named on (or granted) an objective, and the comment thread
-- with progress updates. Every text is encrypted (lib/crypt.lua, associated data naming the
-- table, column and row); numbers, dates and statuses are not.

CREATE TABLE objective_cycles (
  id                  INTEGER PRIMARY KEY,
  name                TEXT NOT NULL,
  starts_on           TEXT NOT NULL,                   -- YYYY-MM-DD: the time frame
  ends_on             TEXT NOT NULL,
  intro               TEXT NOT NULL DEFAULT '',        -- shown to participants (not confidential)
  participants        TEXT NOT NULL DEFAULT 'everyone'
                      CHECK (participants IN ('everyone', 'selected')),  -- everyone: new hires too
  creators            TEXT NOT NULL DEFAULT 'both'
                      CHECK (creators IN ('employees', 'managers', 'both')),
  default_visibility  TEXT NOT NULL DEFAULT 'public'
                      CHECK (default_visibility IN ('public', 'protected', 'private')),
  key_results         INTEGER NOT NULL DEFAULT 1,      -- features on (1) or off (0)
  alignment           INTEGER NOT NULL DEFAULT 1,
  rating              INTEGER NOT NULL DEFAULT 0,      -- a completion rating
  categories          TEXT,                            -- JSON list of names; NULL: no categories
  status_labels       TEXT NOT NULL DEFAULT '{}',      -- JSON: status -> the label this cycle uses
  edit_until          TEXT NOT NULL,                   -- owners edit everything until this day
  update_until        TEXT NOT NULL,                   -- then status, values, rating, comments
  version             INTEGER NOT NULL DEFAULT 0,      -- a new random value whenever one of its objectives
                                                       -- changes (triggers below): caches compare it
  workflow            TEXT NOT NULL DEFAULT 'objectives', -- the timeline script (workflows/)
  workflow_version_id INTEGER REFERENCES workflow_versions(id),
  created_by          INTEGER REFERENCES users(id) ON DELETE SET NULL,
  created_at          INTEGER NOT NULL,
  updated_at          INTEGER NOT NULL,
  CHECK (starts_on <= ends_on AND edit_until <= update_until)
);
CREATE INDEX objective_cycles_dates ON objective_cycles(starts_on, ends_on);

-- The people of a cycle with participants = 'selected' (a "limited cycle").
CREATE TABLE objective_cycle_people (
  cycle_id  INTEGER NOT NULL REFERENCES objective_cycles(id) ON DELETE CASCADE,
  user_id   INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  added_at  INTEGER NOT NULL,
  PRIMARY KEY (cycle_id, user_id)
) WITHOUT ROWID;
CREATE INDEX objective_cycle_people_user ON objective_cycle_people(user_id);

-- An objective. level: company (no parent), team (aligned to a company objective) or individual
-- (aligned to either). progress (0-100) is derived from the key results when it changes.
CREATE TABLE objectives (
  id               INTEGER PRIMARY KEY,
  cycle_id         INTEGER NOT NULL REFERENCES objective_cycles(id) ON DELETE CASCADE,
  owner_id         INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  level            TEXT NOT NULL DEFAULT 'individual' CHECK (level IN ('company', 'team', 'individual')),
  parent_id        INTEGER REFERENCES objectives(id) ON DELETE SET NULL,
  visibility       TEXT NOT NULL CHECK (visibility IN ('public', 'protected', 'private')),
  title_enc        BLOB NOT NULL,                      -- sealed (objectives.title_enc, key id)
  description_enc  BLOB,                               -- sealed (objectives.description_enc, key id)
  category         TEXT,                               -- one of the cycle's categories
  due_on           TEXT,                               -- YYYY-MM-DD
  status           TEXT NOT NULL DEFAULT 'on_track'
                   CHECK (status IN ('on_track', 'at_risk', 'off_track', 'done', 'missed')),
  progress         INTEGER NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100),
  rating           INTEGER CHECK (rating BETWEEN 1 AND 5),
  copied_from      INTEGER REFERENCES objectives(id) ON DELETE SET NULL,
  created_by       INTEGER REFERENCES users(id) ON DELETE SET NULL,
  created_at       INTEGER NOT NULL,
  updated_at       INTEGER NOT NULL,
  CHECK (parent_id IS NULL OR parent_id <> id)
);
CREATE INDEX objectives_cycle ON objectives(cycle_id, level);
CREATE INDEX objectives_owner ON objectives(owner_id, cycle_id);
CREATE INDEX objectives_parent ON objectives(parent_id);
CREATE INDEX objectives_due ON objectives(status, due_on);

-- What the alignment tree and the overview read of every objective of a cycle is cached in memory
-- (services/objective_views.lua) and valid while the cycle's version is the one it was read at.
-- The triggers change the version on every change to those columns, whoever makes it, so a cache
-- never outlives the data; a random value (not a counter) so that a version a rolled-back change
-- had never comes back with other data.
CREATE TRIGGER objectives_version_insert AFTER INSERT ON objectives BEGIN
  UPDATE objective_cycles SET version = random() WHERE id = NEW.cycle_id;
END;
CREATE TRIGGER objectives_version_update AFTER UPDATE OF cycle_id, owner_id, level, parent_id, visibility, status,
  progress, due_on ON objectives BEGIN
  UPDATE objective_cycles SET version = random() WHERE id IN (NEW.cycle_id, OLD.cycle_id);
END;
CREATE TRIGGER objectives_version_delete AFTER DELETE ON objectives BEGIN
  UPDATE objective_cycles SET version = random() WHERE id = OLD.cycle_id;
END;

-- Key results: a checklist item (done or not), or a number from start_value to target_value
-- (current_value now), e.g. ARR 1.2M -> 2M EUR.
CREATE TABLE objective_key_results (
  id             INTEGER PRIMARY KEY,
  objective_id   INTEGER NOT NULL REFERENCES objectives(id) ON DELETE CASCADE,
  position       INTEGER NOT NULL,
  kind           TEXT NOT NULL CHECK (kind IN ('check', 'number')),
  title_enc      BLOB NOT NULL,                        -- sealed (objective_key_results.title_enc, key id)
  unit_enc       BLOB,                                 -- sealed (objective_key_results.unit_enc, key id)
  start_value    REAL,
  target_value   REAL,
  current_value  REAL,
  done           INTEGER NOT NULL DEFAULT 0,
  updated_at     INTEGER NOT NULL
);
CREATE INDEX objective_key_results_objective ON objective_key_results(objective_id, position);

-- People named on a protected objective, or granted a private one.
CREATE TABLE objective_shares (
  objective_id  INTEGER NOT NULL REFERENCES objectives(id) ON DELETE CASCADE,
  user_id       INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  added_by      INTEGER REFERENCES users(id) ON DELETE SET NULL,
  added_at      INTEGER NOT NULL,
  PRIMARY KEY (objective_id, user_id)
) WITHOUT ROWID;
CREATE INDEX objective_shares_user ON objective_shares(user_id);

-- The thread of an objective: comments and progress updates (status and progress after the
-- update, and what changed: JSON of numbers and statuses, never text).
CREATE TABLE objective_comments (
  id            INTEGER PRIMARY KEY,
  objective_id  INTEGER NOT NULL REFERENCES objectives(id) ON DELETE CASCADE,
  author_id     INTEGER REFERENCES users(id) ON DELETE SET NULL,
  kind          TEXT NOT NULL CHECK (kind IN ('comment', 'update')),
  body_enc      BLOB,                                  -- sealed (objective_comments.body_enc, key id)
  status        TEXT,
  progress      INTEGER,
  changes       TEXT,
  created_at    INTEGER NOT NULL
);
CREATE INDEX objective_comments_objective ON objective_comments(objective_id, id);
