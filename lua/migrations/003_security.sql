-- 003: sign-in and account security.

-- Browser sessions. Only a hash of the token is stored; the cookie holds the token.
CREATE TABLE sessions (
  id               INTEGER PRIMARY KEY,
  token_hash       BLOB NOT NULL UNIQUE,
  user_id          INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  csrf_token       TEXT NOT NULL,
  created_at       INTEGER NOT NULL,
  last_seen_at     INTEGER NOT NULL,
  expires_at       INTEGER NOT NULL,           -- absolute lifetime
  user_agent_hash  BLOB NOT NULL,              -- a changed browser must sign in again
  ip               TEXT,
  second_factor    INTEGER NOT NULL DEFAULT 0, -- 1 once the 2-step code was given (or not needed)
  pending_2fa      INTEGER NOT NULL DEFAULT 0, -- 1: password ok, waiting for the code
  impersonator_id  INTEGER REFERENCES users(id) ON DELETE CASCADE,
  rotate           INTEGER NOT NULL DEFAULT 0  -- 1: issue a new token on the next request (roles changed)
);
CREATE INDEX sessions_user ON sessions(user_id);
CREATE INDEX sessions_expires ON sessions(expires_at);

-- API tokens for integrations (Tech Admins). Shown once; stored hashed.
CREATE TABLE api_tokens (
  id           INTEGER PRIMARY KEY,
  name         TEXT NOT NULL,
  token_hash   BLOB NOT NULL UNIQUE,
  prefix       TEXT NOT NULL,                  -- first characters, to recognise it in lists
  created_by   INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  created_at   INTEGER NOT NULL,
  last_used_at INTEGER,
  revoked_at   INTEGER
);

-- Failed sign-ins per account and per client address, for growing delays.
CREATE TABLE signin_throttle (
  scope        TEXT NOT NULL,                  -- 'account' or 'ip'
  key          TEXT NOT NULL,                  -- lower-case email, or address
  failures     INTEGER NOT NULL DEFAULT 0,
  last_failure INTEGER NOT NULL,
  locked_until INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (scope, key)
) WITHOUT ROWID;

-- Single-use password reset links (1 hour).
CREATE TABLE password_resets (
  id          INTEGER PRIMARY KEY,
  token_hash  BLOB NOT NULL UNIQUE,
  user_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  created_at  INTEGER NOT NULL,
  expires_at  INTEGER NOT NULL,
  used_at     INTEGER,
  created_by  INTEGER
);

-- 2-step verification (TOTP). The secret is encrypted (purpose "totp", bound to the row).
CREATE TABLE user_totp (
  user_id        INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
  secret_enc     BLOB NOT NULL,
  confirmed_at   INTEGER,
  last_step      INTEGER NOT NULL DEFAULT 0     -- a code is never accepted twice
);
CREATE TABLE recovery_codes (
  id         INTEGER PRIMARY KEY,
  user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  code_hash  BLOB NOT NULL,
  used_at    INTEGER
);
CREATE INDEX recovery_codes_user ON recovery_codes(user_id);

-- "Remember this browser" for 30 days after a 2-step sign-in.
CREATE TABLE trusted_browsers (
  id          INTEGER PRIMARY KEY,
  token_hash  BLOB NOT NULL UNIQUE,
  user_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  created_at  INTEGER NOT NULL,
  expires_at  INTEGER NOT NULL
);
