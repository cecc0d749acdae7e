-- 020: integrations. Webhooks (a URL subscribed to event names) and the log of their deliveries.
-- services/webhooks.lua. Each delivery is also a job of the one queue while it waits
-- ("webhook.deliver", key webhook_delivery:<id>, lane webhook:<webhook id>).

-- A webhook. Its secret signs every delivery; it is sealed with lib/crypt (webhooks.secret_enc,
-- key id) and shown once. owner_id: the Tech Admin who saved it last: the data sent is what they
-- may see (services/event_feed.lua).
CREATE TABLE webhooks (
  id              INTEGER PRIMARY KEY,
  name            TEXT NOT NULL,
  url             TEXT NOT NULL,
  events          TEXT NOT NULL DEFAULT '[]',  -- JSON list: names, "area.*" or "*"
  enabled         INTEGER NOT NULL DEFAULT 1,
  secret_enc      BLOB NOT NULL,
  owner_id        INTEGER REFERENCES users(id) ON DELETE SET NULL,
  created_at      INTEGER NOT NULL,
  updated_at      INTEGER NOT NULL
);

-- One event sent (or to be sent) to one webhook. uid is the delivery id the receiver sees (body
-- "id" and X-Candor-Delivery) and may de-duplicate by; body is the JSON sent, facts only.
CREATE TABLE webhook_deliveries (
  id               INTEGER PRIMARY KEY,
  webhook_id       INTEGER NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
  uid              TEXT NOT NULL UNIQUE,
  event            TEXT NOT NULL,
  body             TEXT NOT NULL,
  status           TEXT NOT NULL DEFAULT 'pending'
                   CHECK (status IN ('pending', 'delivered', 'failed', 'skipped')),
  attempts         INTEGER NOT NULL DEFAULT 0,
  created_at       INTEGER NOT NULL,
  last_attempt_at  INTEGER,
  delivered_at     INTEGER,
  response_status  INTEGER,                     -- of the last attempt
  response_excerpt TEXT,                        -- its first 500 bytes
  error            TEXT,                        -- why the last attempt failed
  duration_ms      INTEGER
);
CREATE INDEX webhook_deliveries_hook ON webhook_deliveries(webhook_id, id);
CREATE INDEX webhook_deliveries_status ON webhook_deliveries(status, id);

-- Hooks: short Lua scripts of Tech Admins bound to event names (services/hooks.lua). source is
-- the current version's text (hook_versions keeps every saved one). allow_hosts: the hosts its
-- http.request may call. owner_id: the Tech Admin who saved it last: the event data it gets is
-- what they may see. failures counts failed runs in a row; at 10 the hook is disabled.
CREATE TABLE hooks (
  id              INTEGER PRIMARY KEY,
  name            TEXT NOT NULL,
  events          TEXT NOT NULL DEFAULT '[]',  -- JSON list: names, "area.*" or "*"
  allow_hosts     TEXT NOT NULL DEFAULT '[]',  -- JSON list of host names ("*.example.com" for its subdomains)
  source          TEXT NOT NULL,
  version         INTEGER NOT NULL DEFAULT 1,  -- the number of the current version
  enabled         INTEGER NOT NULL DEFAULT 1,
  disabled_reason TEXT,
  failures        INTEGER NOT NULL DEFAULT 0,
  owner_id        INTEGER REFERENCES users(id) ON DELETE SET NULL,
  created_at      INTEGER NOT NULL,
  updated_at      INTEGER NOT NULL
);

CREATE TABLE hook_versions (
  id         INTEGER PRIMARY KEY,
  hook_id    INTEGER NOT NULL REFERENCES hooks(id) ON DELETE CASCADE,
  version    INTEGER NOT NULL,
  source     TEXT NOT NULL,
  note       TEXT,
  saved_by   INTEGER REFERENCES users(id) ON DELETE SET NULL,
  saved_at   INTEGER NOT NULL,
  UNIQUE (hook_id, version)
);

-- A hook's secrets, for secrets.get(name): sealed with lib/crypt (hook_secrets.value_enc, key
-- hook_id and name), never shown again after saving.
CREATE TABLE hook_secrets (
  hook_id     INTEGER NOT NULL REFERENCES hooks(id) ON DELETE CASCADE,
  name        TEXT NOT NULL,
  value_enc   BLOB NOT NULL,
  updated_at  INTEGER NOT NULL,
  updated_by  INTEGER REFERENCES users(id) ON DELETE SET NULL,
  PRIMARY KEY (hook_id, name)
) WITHOUT ROWID;

-- One event for one hook: its queue (pending runs, oldest first) and its run log. data: the
-- event's facts as the owner sees them. The last attempt's outcome: result, duration, the HTTP
-- status of its last call, the error, its log lines and calls (JSON; secret values masked).
CREATE TABLE hook_runs (
  id           INTEGER PRIMARY KEY,
  hook_id      INTEGER NOT NULL REFERENCES hooks(id) ON DELETE CASCADE,
  event        TEXT NOT NULL,
  data         TEXT NOT NULL,
  status       TEXT NOT NULL DEFAULT 'pending'
               CHECK (status IN ('pending', 'ok', 'failed', 'skipped')),
  attempts     INTEGER NOT NULL DEFAULT 0,
  version      INTEGER,                         -- the hook's version that ran last
  created_at   INTEGER NOT NULL,
  started_at   INTEGER,
  finished_at  INTEGER,
  duration_ms  INTEGER,
  http_status  INTEGER,
  error        TEXT,
  log          TEXT,
  calls        TEXT
);
CREATE INDEX hook_runs_queue ON hook_runs(hook_id, status, id);
