-- 002: people, reporting lines and roles.

CREATE TABLE users (
  id              INTEGER PRIMARY KEY,
  email           TEXT NOT NULL UNIQUE COLLATE NOCASE,
  name            TEXT NOT NULL,
  job_title       TEXT NOT NULL DEFAULT '',
  department      TEXT NOT NULL DEFAULT '',
  location        TEXT NOT NULL DEFAULT '',
  hire_date       TEXT,                      -- YYYY-MM-DD
  manager_id      INTEGER REFERENCES users(id) ON DELETE SET NULL,
  status          TEXT NOT NULL DEFAULT 'active'
                  CHECK (status IN ('invited', 'active', 'locked', 'deactivated')),
  kind            TEXT NOT NULL DEFAULT 'employee' CHECK (kind IN ('employee', 'guest')),
  password_hash   TEXT,
  created_at      INTEGER NOT NULL,
  updated_at      INTEGER NOT NULL,
  CHECK (manager_id IS NULL OR manager_id <> id)
);
CREATE INDEX users_manager ON users(manager_id);
CREATE INDEX users_name ON users(name COLLATE NOCASE);
CREATE INDEX users_department ON users(department COLLATE NOCASE);
CREATE INDEX users_location ON users(location COLLATE NOCASE);
CREATE INDEX users_status_kind ON users(status, kind);

-- Company-wide roles; a person may hold several and they add up.
CREATE TABLE user_roles (
  user_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  role        TEXT NOT NULL CHECK (role IN ('hr_admin', 'hr_assistant', 'tech_admin')),
  granted_by  INTEGER,
  granted_at  INTEGER NOT NULL,
  PRIMARY KEY (user_id, role)
) WITHOUT ROWID;
CREATE INDEX user_roles_role ON user_roles(role);
