-- 023: automations that create review cycles by themselves (services/automations.lua): on a
-- schedule (every N months, each cycle created 7 days before it starts) or after each person's
-- hire date. What a cycle copies from its template is kept on the automation (a snapshot taken
-- when it is saved), so the cycles an automation made keep theirs when it is edited.
CREATE TABLE automations (
  id                 INTEGER PRIMARY KEY,
  name               TEXT NOT NULL,
  kind               TEXT NOT NULL CHECK (kind IN ('schedule', 'after_hire_date')),
  active             INTEGER NOT NULL DEFAULT 1,
  template_cycle_id  INTEGER REFERENCES cycles(id) ON DELETE SET NULL,
  template           TEXT NOT NULL,            -- JSON: questionnaire, visibility, self_assessment, workflow, offsets
  audience           TEXT NOT NULL,            -- JSON: everyone, departments, locations, people, exclude
  first_start        TEXT,                     -- schedule: YYYY-MM-DD of the first cycle's start
  repeat_months      INTEGER,                  -- NULL: one-time
  repeat_until       TEXT,                     -- schedule: no cycle starts after this date (NULL: no end)
  offset_amount      INTEGER,                  -- after_hire_date: this many days or weeks after the hire date
  offset_unit        TEXT CHECK (offset_unit IS NULL OR offset_unit IN ('days', 'weeks')),
  include_past       INTEGER NOT NULL DEFAULT 0, -- after_hire_date: people whose date had passed were caught up once
  checked_through    TEXT,                     -- after_hire_date: the last day whose dates were handled
  owner_id           INTEGER REFERENCES users(id) ON DELETE SET NULL, -- who saved it last: it runs with their permissions
  created_by         INTEGER REFERENCES users(id) ON DELETE SET NULL,
  created_at         INTEGER NOT NULL,
  updated_at         INTEGER NOT NULL,
  paused_reason      TEXT                      -- why it stopped by itself (the owner lost a permission), or NULL
);

-- The cycles an automation created, one per period (a schedule's start month, the month of the
-- hire-date trigger). Deleting the automation keeps the cycles (only these links go).
CREATE TABLE automation_cycles (
  automation_id  INTEGER NOT NULL REFERENCES automations(id) ON DELETE CASCADE,
  cycle_id       INTEGER NOT NULL UNIQUE REFERENCES cycles(id) ON DELETE CASCADE,
  period         TEXT NOT NULL,                -- YYYY-MM
  occurrence     INTEGER NOT NULL DEFAULT 0,   -- schedule: the n-th start (0 = the first)
  created_at     INTEGER NOT NULL,
  PRIMARY KEY (automation_id, period)
) WITHOUT ROWID;

-- Who an after-hire-date automation has taken, per occurrence of their date (0: the first; a
-- repeating rule counts on): never twice by one rule, whatever the code does.
CREATE TABLE automation_people (
  automation_id  INTEGER NOT NULL REFERENCES automations(id) ON DELETE CASCADE,
  user_id        INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  occurrence     INTEGER NOT NULL,
  due_date       TEXT NOT NULL,                -- hire date + offset (+ repeats) that matched
  cycle_id       INTEGER REFERENCES cycles(id) ON DELETE SET NULL,
  skipped        TEXT,                         -- why they were not added (no manager to write the review), or NULL
  added_at       INTEGER NOT NULL,
  PRIMARY KEY (automation_id, user_id, occurrence)
) WITHOUT ROWID;
CREATE INDEX automation_people_cycle ON automation_people(cycle_id);
