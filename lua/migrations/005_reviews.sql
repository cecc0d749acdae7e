-- 005: performance review cycles, their workflows and reviews.

-- Workflow scripts as used: the built-in one, a copy from the data folder, or one saved on the
-- admin page. A cycle keeps the version it was started with.
CREATE TABLE workflow_versions (
  id          INTEGER PRIMARY KEY,
  name        TEXT NOT NULL,                 -- e.g. 'performance_review'
  source      TEXT NOT NULL,                 -- the Lua script
  sha256      TEXT NOT NULL,
  origin      TEXT NOT NULL CHECK (origin IN ('builtin', 'data_folder', 'admin')),
  note        TEXT,
  created_by  INTEGER REFERENCES users(id) ON DELETE SET NULL,
  created_at  INTEGER NOT NULL,
  UNIQUE (name, sha256)
);

CREATE TABLE cycles (
  id                  INTEGER PRIMARY KEY,
  kind                TEXT NOT NULL DEFAULT 'review' CHECK (kind IN ('review')),
  name                TEXT NOT NULL,
  phase               TEXT NOT NULL DEFAULT 'draft',   -- a phase of the workflow; 'draft' before the start
  start_date          TEXT NOT NULL,                   -- YYYY-MM-DD
  self_due            TEXT,
  manager_due         TEXT,
  sign_due            TEXT,                            -- sharing and signing until
  self_assessment     INTEGER NOT NULL DEFAULT 1,
  questionnaire       TEXT NOT NULL DEFAULT '{"sections":[]}',  -- JSON, see services/cycles.lua
  visibility          TEXT NOT NULL DEFAULT '{}',      -- JSON, see services/cycles.lua
  workflow            TEXT NOT NULL DEFAULT 'performance_review',
  workflow_version_id INTEGER REFERENCES workflow_versions(id),
  created_by          INTEGER REFERENCES users(id) ON DELETE SET NULL,
  created_at          INTEGER NOT NULL,
  updated_at          INTEGER NOT NULL,
  started_at          INTEGER,
  closed_at           INTEGER,
  copied_from         INTEGER REFERENCES cycles(id) ON DELETE SET NULL
);
CREATE INDEX cycles_phase ON cycles(phase);

-- Admins and assistants of one cycle only.
CREATE TABLE cycle_admins (
  cycle_id  INTEGER NOT NULL REFERENCES cycles(id) ON DELETE CASCADE,
  user_id   INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  role      TEXT NOT NULL CHECK (role IN ('admin', 'assistant')),
  added_by  INTEGER,
  added_at  INTEGER NOT NULL,
  PRIMARY KEY (cycle_id, user_id)
) WITHOUT ROWID;
CREATE INDEX cycle_admins_user ON cycle_admins(user_id);

-- One review per reviewee and cycle. The manager is fixed when the cycle starts.
CREATE TABLE reviews (
  id                    INTEGER PRIMARY KEY,
  cycle_id              INTEGER NOT NULL REFERENCES cycles(id) ON DELETE CASCADE,
  reviewee_id           INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  manager_id            INTEGER REFERENCES users(id) ON DELETE SET NULL,
  self_status           TEXT NOT NULL DEFAULT 'not_started'
                        CHECK (self_status IN ('not_started', 'draft', 'submitted', 'skipped')),
  manager_status        TEXT NOT NULL DEFAULT 'not_started'
                        CHECK (manager_status IN ('not_started', 'draft', 'submitted', 'shared')),
  self_submitted_at     INTEGER,
  manager_submitted_at  INTEGER,
  shared_at             INTEGER,
  reviewee_signed_at    INTEGER,
  manager_signed_at     INTEGER,
  closed_at             INTEGER,            -- both signed: read-only
  reopened_at           INTEGER,
  created_at            INTEGER NOT NULL,
  updated_at            INTEGER NOT NULL,
  UNIQUE (cycle_id, reviewee_id)
);
CREATE INDEX reviews_reviewee ON reviews(reviewee_id);
CREATE INDEX reviews_manager ON reviews(manager_id);

-- Answers, encrypted (lib/crypt.lua: answers.value_enc, key review_id:author:question_id).
-- The value is JSON: a string (text), a number (rating) or {"x":..,"y":..} (2D graph).
CREATE TABLE answers (
  review_id    INTEGER NOT NULL REFERENCES reviews(id) ON DELETE CASCADE,
  author       TEXT NOT NULL CHECK (author IN ('self', 'manager')),
  question_id  TEXT NOT NULL,
  value_enc    BLOB NOT NULL,
  updated_at   INTEGER NOT NULL,
  PRIMARY KEY (review_id, author, question_id)
) WITHOUT ROWID;

-- What happened to a review (submitted, shared, signed, reopened with a reason, manager
-- changed). No answer text here.
CREATE TABLE review_events (
  id         INTEGER PRIMARY KEY,
  review_id  INTEGER NOT NULL REFERENCES reviews(id) ON DELETE CASCADE,
  at         INTEGER NOT NULL,
  actor_id   INTEGER REFERENCES users(id) ON DELETE SET NULL,
  action     TEXT NOT NULL,
  details    TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX review_events_review ON review_events(review_id, at);
