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
