-- 014: messages (praise, feedback, private notes), their likes and comments, badges, feedback
-- requests and the praise wall's office-screen links. Every text people write is sealed with
-- lib/crypt (associated data: table, column, row), so only its readers' pages ever show it.

-- Badges a praise may carry. A default set ships; HR Admins rename, describe, reorder, retire
-- them and upload an image (checked by content and size; SVG re-written from an allow-list).
CREATE TABLE badges (
  id          INTEGER PRIMARY KEY,
  title       TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  symbol      TEXT NOT NULL DEFAULT '★',        -- shown when there is no image
  image       BLOB,                              -- checked PNG / JPEG, or re-written SVG
  image_type  TEXT CHECK (image_type IN ('image/png', 'image/jpeg', 'image/svg+xml')),
  image_rev   INTEGER NOT NULL DEFAULT 0,         -- bumps with each upload (cache-busting URL)
  position    INTEGER NOT NULL,
  active      INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL,
  CHECK ((image IS NULL) = (image_type IS NULL))
);
CREATE INDEX badges_position ON badges(position, id);

INSERT INTO badges(title, description, symbol, position, created_at, updated_at) VALUES
  ('Above and beyond', 'Went further than anyone asked.', '🚀', 1, 0, 0),
  ('Team player', 'Made the people around them better.', '🤝', 2, 0, 0),
  ('Customer hero', 'Put a customer''s problem first and solved it.', '🎯', 3, 0, 0),
  ('Great idea', 'Found a better way to do something.', '💡', 4, 0, 0),
  ('Mentor', 'Took the time to teach and help others grow.', '📚', 5, 0, 0),
  ('Thank you', 'For help that made a difference.', '🙏', 6, 0, 0);

-- Feedback requests: someone asks named colleagues for feedback about themselves, or a
-- manager about a report. Answers arrive as feedback messages (messages.request_id).
CREATE TABLE feedback_requests (
  id            INTEGER PRIMARY KEY,
  requester_id  INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  about_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  question_enc  BLOB NOT NULL,                  -- sealed (crypt: feedback_requests.question_enc, id)
  due_date      TEXT,                           -- YYYY-MM-DD, in the company's time zone
  created_at    INTEGER NOT NULL
);
CREATE INDEX feedback_requests_requester ON feedback_requests(requester_id, id);

CREATE TABLE feedback_request_askees (
  request_id  INTEGER NOT NULL REFERENCES feedback_requests(id) ON DELETE CASCADE,
  user_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  status      TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'answered', 'declined')),
  updated_at  INTEGER NOT NULL,
  PRIMARY KEY (request_id, user_id)
) WITHOUT ROWID;
CREATE INDEX feedback_request_askees_user ON feedback_request_askees(user_id, status);

-- One model for praise, feedback and private notes. audience: 'author' (just the writer and
-- those named in message_shares), 'recipients', 'managers' (recipients and their direct
-- managers), 'everyone'. The writer of an anonymous message is never shown to anyone else; an
-- HR Admin may unveil it (a reason, the audit log, a mail to the writer).
CREATE TABLE messages (
  id          INTEGER PRIMARY KEY,
  kind        TEXT NOT NULL CHECK (kind IN ('praise', 'feedback', 'note')),
  author_id   INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  about_id    INTEGER REFERENCES users(id) ON DELETE CASCADE,  -- a note's subject (notes have no recipients)
  audience    TEXT NOT NULL CHECK (audience IN ('author', 'recipients', 'managers', 'everyone')),
  anonymous   INTEGER NOT NULL DEFAULT 0 CHECK (anonymous IN (0, 1)),
  unveiled    INTEGER NOT NULL DEFAULT 0 CHECK (unveiled IN (0, 1)),
  badge_id    INTEGER REFERENCES badges(id) ON DELETE SET NULL,
  request_id  INTEGER REFERENCES feedback_requests(id) ON DELETE SET NULL,
  text_enc    BLOB NOT NULL,                  -- sealed (crypt: messages.text_enc, id)
  like_count    INTEGER NOT NULL DEFAULT 0,
  comment_count INTEGER NOT NULL DEFAULT 0,
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL
);
CREATE INDEX messages_wall ON messages(kind, audience, id);
CREATE INDEX messages_author ON messages(author_id, kind, id);
CREATE INDEX messages_about ON messages(about_id, id);
CREATE INDEX messages_request ON messages(request_id);

CREATE TABLE message_recipients (
  message_id  INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
  user_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  PRIMARY KEY (message_id, user_id)
) WITHOUT ROWID;
CREATE INDEX message_recipients_user ON message_recipients(user_id, message_id);

-- People a note (or any message) was shared with later, by name.
CREATE TABLE message_shares (
  message_id  INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
  user_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  created_at  INTEGER NOT NULL,
  PRIMARY KEY (message_id, user_id)
) WITHOUT ROWID;
CREATE INDEX message_shares_user ON message_shares(user_id, message_id);

CREATE TABLE message_likes (
  message_id  INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
  user_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  created_at  INTEGER NOT NULL,
  PRIMARY KEY (message_id, user_id)
) WITHOUT ROWID;

CREATE TABLE message_comments (
  id          INTEGER PRIMARY KEY,
  message_id  INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
  author_id   INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  text_enc    BLOB NOT NULL,                  -- sealed (crypt: message_comments.text_enc, id)
  created_at  INTEGER NOT NULL
);
CREATE INDEX message_comments_message ON message_comments(message_id, id);

-- Read-only office-screen links to the praise wall (company-visible praise only). The token is
-- shown once; only its hash is kept; an HR Admin revokes a link by deleting it.
CREATE TABLE wall_screens (
  id          INTEGER PRIMARY KEY,
  label       TEXT NOT NULL,
  token_hash  TEXT NOT NULL UNIQUE,
  created_by  INTEGER REFERENCES users(id) ON DELETE SET NULL,
  created_at  INTEGER NOT NULL,
  last_used_at INTEGER
);
