-- 011: 360° feedback. Cycles with their rules and visibility settings; one "subject" per
-- reviewee and cycle (the manager who approves is fixed when the cycle starts); one request per
-- reviewer and reviewee (nominated, approved, declined; the feedback written for it); the
-- encrypted answers; what happened (no content); workflow mails waiting to be sent together.

CREATE TABLE feedback_cycles (
  id                    INTEGER PRIMARY KEY,
  name                  TEXT NOT NULL,
  intro                 TEXT NOT NULL DEFAULT '',          -- shown to reviewers
  phase                 TEXT NOT NULL DEFAULT 'draft',     -- a phase of its workflow; 'draft' before the start
  start_date            TEXT NOT NULL,                     -- YYYY-MM-DD
  nominate_due          TEXT,                              -- nominations by
  approve_due           TEXT,                              -- approvals by
  write_due             TEXT,                              -- feedback shared by
  manager_release_date  TEXT,                              -- released to managers (visibility.manager_release = 'on_date')
  release_date          TEXT,                              -- released to reviewees
  questionnaire         TEXT NOT NULL DEFAULT '{"sections":[]}',  -- JSON, services/questionnaire.lua
  rules                 TEXT NOT NULL DEFAULT '{}',        -- JSON, services/feedback_cycles.lua RULES
  visibility            TEXT NOT NULL DEFAULT '{}',        -- JSON, services/feedback_cycles.lua VISIBILITY
  workflow              TEXT NOT NULL DEFAULT 'feedback_360',
  workflow_version_id   INTEGER REFERENCES workflow_versions(id),
  created_by            INTEGER REFERENCES users(id) ON DELETE SET NULL,
  created_at            INTEGER NOT NULL,
  updated_at            INTEGER NOT NULL,
  started_at            INTEGER,
  closed_at             INTEGER,
  copied_from           INTEGER REFERENCES feedback_cycles(id) ON DELETE SET NULL
);
CREATE INDEX feedback_cycles_phase ON feedback_cycles(phase);

-- Admins and assistants of one 360 cycle only.
CREATE TABLE feedback_cycle_admins (
  cycle_id  INTEGER NOT NULL REFERENCES feedback_cycles(id) ON DELETE CASCADE,
  user_id   INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  role      TEXT NOT NULL CHECK (role IN ('admin', 'assistant')),
  added_by  INTEGER,
  added_at  INTEGER NOT NULL,
  PRIMARY KEY (cycle_id, user_id)
) WITHOUT ROWID;
CREATE INDEX feedback_cycle_admins_user ON feedback_cycle_admins(user_id);

-- A reviewee in a 360 cycle. manager_id is fixed when the cycle starts (or when someone is
-- added to a running cycle): that manager approves the reviewers and may release early.
CREATE TABLE feedback_subjects (
  id                   INTEGER PRIMARY KEY,
  cycle_id             INTEGER NOT NULL REFERENCES feedback_cycles(id) ON DELETE CASCADE,
  reviewee_id          INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  manager_id           INTEGER REFERENCES users(id) ON DELETE SET NULL,
  nominations_done_at  INTEGER,          -- the nominator handed the list to the manager
  approved_at          INTEGER,          -- the manager approved the list
  approved_by          INTEGER REFERENCES users(id) ON DELETE SET NULL,
  released_at          INTEGER,          -- released early to the reviewee by the manager
  released_by          INTEGER REFERENCES users(id) ON DELETE SET NULL,
  reviewee_read_at     INTEGER,          -- the reviewee opened their released feedback
  manager_read_at      INTEGER,          -- the approving manager opened it
  created_at           INTEGER NOT NULL,
  updated_at           INTEGER NOT NULL,
  UNIQUE (cycle_id, reviewee_id)
);
CREATE INDEX feedback_subjects_reviewee ON feedback_subjects(reviewee_id);
CREATE INDEX feedback_subjects_manager ON feedback_subjects(manager_id);

-- One reviewer asked for feedback about one reviewee, and the feedback they write. The
-- relationship labels the answers when the cycle is anonymous. A declined request keeps its
-- reason encrypted (lib/crypt: feedback_nominations.decline_reason_enc, key id).
CREATE TABLE feedback_nominations (
  id                  INTEGER PRIMARY KEY,
  subject_id          INTEGER NOT NULL REFERENCES feedback_subjects(id) ON DELETE CASCADE,
  cycle_id            INTEGER NOT NULL REFERENCES feedback_cycles(id) ON DELETE CASCADE,
  reviewer_id         INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  relationship        TEXT NOT NULL CHECK (relationship IN ('self', 'manager', 'peer', 'report', 'guest')),
  proposed_by         INTEGER REFERENCES users(id) ON DELETE SET NULL,
  replaces_id         INTEGER REFERENCES feedback_nominations(id) ON DELETE SET NULL,  -- the declined request it replaces
  status              TEXT NOT NULL DEFAULT 'proposed' CHECK (status IN ('proposed', 'approved', 'declined')),
  approved_at         INTEGER,
  invited_at          INTEGER,          -- the invitation mail was queued
  declined_at         INTEGER,
  decline_reason_enc  BLOB,
  feedback_status     TEXT NOT NULL DEFAULT 'not_started'
                      CHECK (feedback_status IN ('not_started', 'draft', 'shared')),
  shared_at           INTEGER,
  reopened_at         INTEGER,
  created_at          INTEGER NOT NULL,
  updated_at          INTEGER NOT NULL,
  UNIQUE (subject_id, reviewer_id)
);
CREATE INDEX feedback_nominations_reviewer ON feedback_nominations(reviewer_id, status);
CREATE INDEX feedback_nominations_cycle ON feedback_nominations(cycle_id, status);

-- The answers of one request, encrypted (lib/crypt: feedback_answers.value_enc, key
-- request_id:question_id). The value is JSON: text, a scale point, or a list of choices.
CREATE TABLE feedback_answers (
  request_id   INTEGER NOT NULL REFERENCES feedback_nominations(id) ON DELETE CASCADE,
  question_id  TEXT NOT NULL,
  value_enc    BLOB NOT NULL,
  updated_at   INTEGER NOT NULL,
  PRIMARY KEY (request_id, question_id)
) WITHOUT ROWID;

-- What happened in a reviewee's 360, by event name (nomination.added, nominations.approved,
-- nomination.declined, feedback.shared, feedback.reopened with HR's reason, ...). No feedback
-- text here.
CREATE TABLE feedback_events (
  id          INTEGER PRIMARY KEY,
  subject_id  INTEGER NOT NULL REFERENCES feedback_subjects(id) ON DELETE CASCADE,
  request_id  INTEGER REFERENCES feedback_nominations(id) ON DELETE SET NULL,
  at          INTEGER NOT NULL,
  actor_id    INTEGER REFERENCES users(id) ON DELETE SET NULL,
  action      TEXT NOT NULL,
  details     TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX feedback_events_subject ON feedback_events(subject_id, at);

-- Workflow mails of a timeline step that go out together: every item of one recipient, step
-- and cycle waiting here becomes one mail when the batch's job runs (e.g. one invitation per
-- reviewer and hour, however many reviewees they were approved for).
CREATE TABLE workflow_batches (
  id          INTEGER PRIMARY KEY,
  kind        TEXT NOT NULL,               -- the workflow kind, e.g. 'feedback_360'
  cycle_id    INTEGER NOT NULL,
  step        TEXT NOT NULL,               -- the timeline step's id
  user_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  item_id     INTEGER NOT NULL,            -- the row the event was about
  due_at      INTEGER NOT NULL,
  created_at  INTEGER NOT NULL,
  UNIQUE (kind, cycle_id, step, user_id, item_id)
);
CREATE INDEX workflow_batches_due ON workflow_batches(kind, cycle_id, step, user_id);
