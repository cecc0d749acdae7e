-- 022: pulse surveys. A survey (its questions, who takes part, how often it runs), its rounds,
-- the anonymous responses of a round and the invitations that drive the reminders.
--
-- Anonymity is in the shape of the tables: a response has no user id and no time of its own
-- (only its round), its id is random (not the order of answering), and the invitation that says
-- someone answered holds a flag, no time. So nothing in the database links an answer to a person;
-- the attributes a response keeps for breakdowns (department, location, managers) are shown only
-- for groups at or above the survey's anonymity threshold (services/survey_results.lua).

CREATE TABLE surveys (
  id                INTEGER PRIMARY KEY,
  creator_id        INTEGER REFERENCES users(id) ON DELETE SET NULL,
  title             TEXT NOT NULL,
  intro             TEXT NOT NULL DEFAULT '',          -- in the invitation mail and on the answer page
  participants      TEXT NOT NULL DEFAULT 'everyone' CHECK (participants IN ('everyone', 'selected')),
  starts_on         TEXT NOT NULL,                     -- YYYY-MM-DD: the first round opens that day
  frequency         TEXT NOT NULL DEFAULT 'monthly'
                    CHECK (frequency IN ('once', 'weekly', 'biweekly', 'monthly')),
  round_days        INTEGER NOT NULL DEFAULT 5 CHECK (round_days BETWEEN 1 AND 28), -- days a round stays open
  questions         TEXT NOT NULL,                     -- JSON: [{ text, scale (5|10), low, high }]
  comment_question  TEXT,                              -- the free-text question, NULL: none
  threshold         INTEGER NOT NULL DEFAULT 5 CHECK (threshold BETWEEN 3 AND 10),
  share_managers    INTEGER NOT NULL DEFAULT 0 CHECK (share_managers IN (0, 1)),
  phase             TEXT NOT NULL DEFAULT 'draft' CHECK (phase IN ('draft', 'scheduled', 'running', 'ended')),
  next_opens_on     TEXT,                              -- YYYY-MM-DD of the next round, while one is planned
  created_at        INTEGER NOT NULL,
  updated_at        INTEGER NOT NULL,
  ended_at          INTEGER,
  ended_by          INTEGER REFERENCES users(id) ON DELETE SET NULL
);
CREATE INDEX surveys_creator ON surveys(creator_id);

-- The people of a survey with participants = 'selected'.
CREATE TABLE survey_people (
  survey_id  INTEGER NOT NULL REFERENCES surveys(id) ON DELETE CASCADE,
  user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  PRIMARY KEY (survey_id, user_id)
) WITHOUT ROWID;
CREATE INDEX survey_people_user ON survey_people(user_id);

-- The people the results are shared with by name (managers: surveys.share_managers).
CREATE TABLE survey_shares (
  survey_id  INTEGER NOT NULL REFERENCES surveys(id) ON DELETE CASCADE,
  user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  shared_by  INTEGER REFERENCES users(id) ON DELETE SET NULL,
  PRIMARY KEY (survey_id, user_id)
) WITHOUT ROWID;
CREATE INDEX survey_shares_user ON survey_shares(user_id);

-- The rounds of a survey, numbered from 1; made when they open.
CREATE TABLE survey_rounds (
  id         INTEGER PRIMARY KEY,
  survey_id  INTEGER NOT NULL REFERENCES surveys(id) ON DELETE CASCADE,
  seq        INTEGER NOT NULL,
  opens_on   TEXT NOT NULL,                            -- YYYY-MM-DD
  closes_on  TEXT NOT NULL,                            -- YYYY-MM-DD, the last day to answer
  status     TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
  UNIQUE (survey_id, seq)
);
CREATE UNIQUE INDEX survey_rounds_one_open ON survey_rounds(survey_id) WHERE status = 'open';

-- Who was asked in a round and whether they answered: drives the reminder and the to-do. No time,
-- no link to the response. WITHOUT ROWID: no insertion order either.
CREATE TABLE survey_invitations (
  round_id   INTEGER NOT NULL REFERENCES survey_rounds(id) ON DELETE CASCADE,
  user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  responded  INTEGER NOT NULL DEFAULT 0 CHECK (responded IN (0, 1)),
  PRIMARY KEY (round_id, user_id)
) WITHOUT ROWID;
CREATE INDEX survey_invitations_user ON survey_invitations(user_id, responded);

-- The anonymous answers of a round. No user id, no time; id is random. The group attributes are
-- the respondent's when they answered, for breakdowns above the threshold only.
CREATE TABLE survey_responses (
  id           INTEGER PRIMARY KEY,                    -- random, not in the order of answering
  round_id     INTEGER NOT NULL REFERENCES survey_rounds(id) ON DELETE CASCADE,
  answers      TEXT NOT NULL,                          -- JSON list: one score per question (null: skipped)
  comment_enc  BLOB,                                   -- sealed (survey_responses.comment_enc, key id)
  department   TEXT NOT NULL DEFAULT '',
  location     TEXT NOT NULL DEFAULT '',
  manager_ids  TEXT NOT NULL DEFAULT '[]'              -- JSON: the respondent's managers, nearest first
);
CREATE INDEX survey_responses_round ON survey_responses(round_id);
