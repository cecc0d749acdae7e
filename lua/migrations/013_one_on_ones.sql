-- 013: 1:1 meetings. A series between two people, its meetings (one upcoming at a time), and
-- what the two write for them: talking points, notes and action items, each shared or private.
-- Every text is encrypted (lib/crypt.lua, associated data naming the table, column and row).

-- A series of 1:1 meetings between two people. The participants never change (meeting someone
-- else is another series), so nobody added later reads earlier meetings.
CREATE TABLE meeting_series (
  id                  INTEGER PRIMARY KEY,
  organizer_id        INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,  -- started it
  attendee_id         INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,  -- was invited
  title_enc           BLOB NOT NULL,                   -- sealed (meeting_series.title_enc, key id)
  cadence             TEXT NOT NULL DEFAULT 'weekly'
                      CHECK (cadence IN ('none', 'weekly', 'biweekly', 'monthly')),
  phase               TEXT NOT NULL DEFAULT 'active' CHECK (phase IN ('active', 'ended')),
  next_date           TEXT,                            -- YYYY-MM-DD of the upcoming meeting, if any
  workflow            TEXT NOT NULL DEFAULT 'one_on_one', -- the timeline script (workflows/)
  workflow_version_id INTEGER REFERENCES workflow_versions(id),
  created_at          INTEGER NOT NULL,
  updated_at          INTEGER NOT NULL,
  started_at          INTEGER,
  closed_at           INTEGER,                         -- ended
  closed_by           INTEGER REFERENCES users(id) ON DELETE SET NULL,
  CHECK (organizer_id <> attendee_id)
);
CREATE INDEX meeting_series_organizer ON meeting_series(organizer_id);
CREATE INDEX meeting_series_attendee ON meeting_series(attendee_id);

-- The meetings of a series, numbered from 1. At most one is upcoming; the others were held
-- (done), skipped, or cancelled when the series ended before them.
CREATE TABLE meetings (
  id          INTEGER PRIMARY KEY,
  series_id   INTEGER NOT NULL REFERENCES meeting_series(id) ON DELETE CASCADE,
  seq         INTEGER NOT NULL,                        -- 1, 2, 3 ... within the series
  date        TEXT NOT NULL,                           -- YYYY-MM-DD
  status      TEXT NOT NULL DEFAULT 'upcoming'
              CHECK (status IN ('upcoming', 'done', 'skipped', 'cancelled')),
  closed_at   INTEGER,                                 -- marked done, skipped or cancelled
  closed_by   INTEGER REFERENCES users(id) ON DELETE SET NULL,
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL,
  UNIQUE (series_id, seq)
);
CREATE UNIQUE INDEX meetings_one_upcoming ON meetings(series_id) WHERE status = 'upcoming';
CREATE INDEX meetings_upcoming_date ON meetings(status, date);

-- Talking points, notes and action items. An item belongs to the meeting it was written for
-- (from_seq) and, when it is a point or an action item, shows in every later meeting of the
-- series until it is ticked (done_seq: the meeting it was ticked in). Private items are read by
-- their author only.
CREATE TABLE meeting_items (
  id           INTEGER PRIMARY KEY,
  series_id    INTEGER NOT NULL REFERENCES meeting_series(id) ON DELETE CASCADE,
  from_seq     INTEGER NOT NULL,
  kind         TEXT NOT NULL CHECK (kind IN ('point', 'note', 'action')),
  author_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  private      INTEGER NOT NULL DEFAULT 0 CHECK (private IN (0, 1)),
  text_enc     BLOB NOT NULL,                          -- sealed (meeting_items.text_enc, key id)
  assignee_id  INTEGER REFERENCES users(id) ON DELETE SET NULL,  -- action items
  due_date     TEXT,                                   -- action items, YYYY-MM-DD
  done_at      INTEGER,                                -- ticked
  done_by      INTEGER REFERENCES users(id) ON DELETE SET NULL,
  done_seq     INTEGER,                                -- the meeting it was ticked in
  created_at   INTEGER NOT NULL,
  updated_at   INTEGER NOT NULL,
  FOREIGN KEY (series_id, from_seq) REFERENCES meetings(series_id, seq) ON DELETE CASCADE
);
CREATE INDEX meeting_items_series ON meeting_items(series_id, from_seq);
CREATE INDEX meeting_items_open_actions ON meeting_items(assignee_id) WHERE kind = 'action' AND done_at IS NULL;
