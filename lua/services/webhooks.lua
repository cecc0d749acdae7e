-- Webhooks: a URL subscribed to event names, for integrators who prefer not to write Lua.
--
-- When an event fires, every enabled webhook subscribed to it gets a delivery — recorded inside
-- the transaction of the change (a row of webhook_deliveries and its job in the one queue), so a
-- delivery exists exactly when the change committed — with the event's data as the webhook's
-- owner sees it (services/event_feed.lua). The job then POSTs it after commit: JSON with a
-- delivery id, X-Candor-Timestamp and X-Candor-Signature (HMAC-SHA256 of "timestamp.body" under
-- the webhook's secret), retried with exponential backoff for 24 hours (the retry table of the
-- "webhook.deliver" kind), one webhook's deliveries one at a time (lane webhook:<id>) so a dead
-- receiver holds only its own. At least once: after a crash a delivery may go twice; the
-- receiver de-duplicates by the delivery id. docs/hooks.md is the integrator's guide.
local db = require "lib.db"
local json = require "lib.json"
local util = require "lib.util"
local errors = require "lib.errors"
local events = require "lib.events"
local crypt = require "lib.crypt"
local schema = require "lib.schema"
local jobs = require "lib.jobs"
local clock = require "core.clock"
local crypto = require "core.crypto"
local fetch = require "core.fetch"
local settings = require "services.settings"
local audit = require "services.audit"
local event_feed = require "services.event_feed"

local M = {}

M.JOB = "webhook.deliver"
-- seconds after the 1st, 2nd, ... failed attempt; then every 4 hours, for 24 hours in all
M.RETRY = { 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400 }
M.GIVE_UP_AFTER = 24 * 3600
M.TIMEOUT_MS = 10000         -- one delivery, connection to answer
M.MAX_ANSWER = 64 * 1024     -- bytes of an answer read (a longer one still counts by its status)
M.EXCERPT = 500              -- bytes of the answer kept in the log
M.MAX_WEBHOOKS = 100
M.USER_AGENT = "Candor-Webhooks/1"
M.STATUSES = { "pending", "delivered", "failed", "skipped" }
M.PER_PAGE = 50
M.PING = "webhook.ping"

-- Answers that say the receiver cannot be reached at all: its other deliveries due now wait too.
local UNREACHABLE = { connect = true, timeout = true, tls = true, address = true }

local app -- set by init: the job queue

-- ---------------------------------------------------------------- input
local function valid_url(u)
  local scheme, authority = u:match("^(https?)://([^/?#]*)")
  if not scheme then return nil, "{field} must start with http:// or https://" end
  if authority == "" then return nil, "{field} has no host" end
  if authority:find("@", 1, true) then return nil, "{field} must not hold a user name or password" end
  if u:find("#", 1, true) then return nil, "{field} must not have a #fragment" end
  if u:find("[%s%c]") then return nil, "{field} must not contain spaces" end
  local problem = event_feed.address_problem(authority:match("^%[([^%]]+)%]") or authority:match("^([^:]+)") or authority)
  if problem then return nil, "{field}: " .. problem end
  return true
end

M.SCHEMA = schema.record{ strict = false, fields = {
  { name = schema.text{ max = 100, label = "The name", description = "What the receiver is, for people." } },
  { url = { type = "string", trim = true, len_max = 2000, one_line = true, label = "The URL",
    custom_validator = valid_url, description = "Where deliveries are POSTed (http:// or https://)." } },
  { events = { type = "array", label = "The events", len_min = 1, len_max = 100, unique = true,
    elements = { type = "string", trim = true, len_max = 100 }, custom_validator = event_feed.valid_events,
    description = "Event names (review.signed), whole areas (person.*) or every event (*)." } },
  { enabled = { type = "boolean", label = "Enabled", description = "Whether events are delivered." } },
} }

-- Form and API input: events as a list, or text with names separated by commas, spaces or lines.
local function normalise(input)
  local out = {}
  for k, v in pairs(input or {}) do out[k] = v end
  out.events = event_feed.words(out.events)
  if out.enabled == "on" or out.enabled == "true" or out.enabled == "1" then out.enabled = true end
  if out.enabled == "off" or out.enabled == "false" or out.enabled == "0" then out.enabled = false end
  return out
end

-- Checked input; fields required when creating. Raises 422 naming each problem.
local function checked(input, creating)
  local r, fields = event_feed.read_input(M.SCHEMA, normalise(input), creating and {
    name = "The name is required.", url = "The URL is required.", events = "Name at least one event." })
  if next(fields) then errors.invalid(fields, "The webhook was not saved: some fields need attention.") end
  return r
end

-- ---------------------------------------------------------------- the store
local subs = event_feed.subscribers("webhooks")
local changed = subs.changed

local function new_secret() return "whsec_" .. crypto.token(24) end

local function seal_secret(id, secret)
  db.exec("UPDATE webhooks SET secret_enc = ? WHERE id = ?", crypt.seal("webhooks", "secret_enc", { id }, secret), id)
end

local function row(id)
  local w = db.row([[SELECT w.id, w.name, w.url, w.events, w.enabled, w.owner_id, w.created_at, w.updated_at,
      u.name AS owner_name FROM webhooks w LEFT JOIN users u ON u.id = w.owner_id WHERE w.id = ?]],
    math.tointeger(tonumber(id)) or 0)
  if not w then errors.not_found("There is no such webhook.") end
  w.events = json.decode(w.events) or {}
  w.enabled = w.enabled == 1
  return w
end

--- One webhook (never its secret), or 404.
function M.get(id) return row(id) end

--- Every webhook with its deliveries counted by status: one query for the list, one for counts.
function M.list()
  local list = db.query([[SELECT w.id, w.name, w.url, w.events, w.enabled, w.owner_id, w.created_at, w.updated_at,
      u.name AS owner_name FROM webhooks w LEFT JOIN users u ON u.id = w.owner_id ORDER BY w.name COLLATE FOLD, w.id]])
  local by_id = {}
  for _, w in ipairs(list) do
    w.events = json.decode(w.events) or {}
    w.enabled = w.enabled == 1
    w.counts = { pending = 0, delivered = 0, failed = 0, skipped = 0 }
    by_id[w.id] = w
  end
  for _, c in ipairs(db.query("SELECT webhook_id, status, count(*) AS n FROM webhook_deliveries GROUP BY webhook_id, status")) do
    local w = by_id[c.webhook_id]
    if w then w.counts[c.status] = c.n end
  end
  return list
end

local function host_of(url) return url:match("^https?://([^/?#]*)") end

--- Creates a webhook owned by actor. Returns the webhook and its secret (shown this once).
function M.create(actor, input, req)
  local r = checked(input, true)
  if db.value("SELECT count(*) FROM webhooks") >= M.MAX_WEBHOOKS then
    errors.conflict(("There are %d webhooks already: remove one first."):format(M.MAX_WEBHOOKS))
  end
  local now = clock.now()
  local id = db.insert([[INSERT INTO webhooks(name, url, events, enabled, secret_enc, owner_id, created_at, updated_at)
    VALUES(?, ?, ?, ?, x'', ?, ?, ?)]], r.name, r.url, json.encode(r.events), r.enabled == false and 0 or 1,
    actor.id, now, now)
  local secret = new_secret()
  seal_secret(id, secret)
  changed()
  audit.record{ action = "webhook.created", actor = actor, req = req, target_type = "webhook", target_id = id,
    target_label = r.name, details = { host = host_of(r.url), events = r.events } }
  return row(id), secret
end

--- Changes name, url, events and/or enabled; actor becomes its owner (the data sent is what they
--- may see). Returns the webhook.
function M.update(actor, id, input, req)
  local w = row(id)
  local r = checked(input, false)
  local name, url = r.name or w.name, r.url or w.url
  local list = r.events or w.events
  local enabled = r.enabled
  if enabled == nil then enabled = w.enabled end
  db.exec([[UPDATE webhooks SET name = ?, url = ?, events = ?, enabled = ?, owner_id = ?, updated_at = ? WHERE id = ?]],
    name, url, json.encode(list), enabled and 1 or 0, actor.id, clock.now(), w.id)
  changed()
  local what = {}
  for _, f in ipairs({ "name", "url", "events", "enabled" }) do if r[f] ~= nil then what[#what + 1] = f end end
  audit.record{ action = "webhook.updated", actor = actor, req = req, target_type = "webhook", target_id = w.id,
    target_label = name, details = { changed = what, host = host_of(url) } }
  return row(w.id)
end

--- A new secret (the old one stops signing at once). Returns it (shown this once).
function M.rotate_secret(actor, id, req)
  local w = row(id)
  local secret = new_secret()
  seal_secret(w.id, secret)
  db.exec("UPDATE webhooks SET owner_id = ?, updated_at = ? WHERE id = ?", actor.id, clock.now(), w.id)
  audit.record{ action = "webhook.secret_rotated", actor = actor, req = req, target_type = "webhook",
    target_id = w.id, target_label = w.name }
  return secret
end

--- Removes a webhook and its log.
function M.delete(actor, id, req)
  local w = row(id)
  db.exec("DELETE FROM webhooks WHERE id = ?", w.id)
  changed()
  audit.record{ action = "webhook.deleted", actor = actor, req = req, target_type = "webhook", target_id = w.id,
    target_label = w.name }
end

-- ---------------------------------------------------------------- deliveries
local function key(delivery_id) return "webhook_delivery:" .. delivery_id end

local function uuid()
  local h = crypto.hex(crypto.random(16))
  local v = ("%x"):format((tonumber(h:sub(17, 18), 16) & 0x3f) | 0x80) -- variant 10
  return ("%s-%s-4%s-%s%s-%s"):format(h:sub(1, 8), h:sub(9, 12), h:sub(14, 16), v, h:sub(19, 20), h:sub(21, 32))
end

-- Lists in data as JSON arrays (an empty one too).
local function with_arrays(data)
  local out = {}
  for k, v in pairs(data) do out[k] = type(v) == "table" and json.array(v) or v end
  return out
end

-- A delivery of event name with data (facts) to webhook id, and its job, due now.
local function add_delivery(webhook_id, name, data)
  local now = clock.now()
  local uid = uuid()
  local body = json.encode({ id = uid, event = name, created_at = util.format_time(now), webhook_id = webhook_id,
    data = with_arrays(data) })
  local id = db.insert([[INSERT INTO webhook_deliveries(webhook_id, uid, event, body, status, created_at)
    VALUES(?, ?, ?, ?, 'pending', ?)]], webhook_id, uid, name, body, now)
  app.schedule(now, M.JOB, { delivery_id = id, webhook_id = webhook_id }, key(id))
  return id
end

-- The "*" handler, inside the firing change's transaction: a delivery for each enabled webhook
-- subscribed to name whose owner may see it.
local function record(data, name)
  event_feed.record(subs, name, data, function(w, view) add_delivery(w.id, name, view) end, "webhooks")
end

local function excerpt(s)
  if not s or s == "" then return nil end
  return util.truncate_bytes(s, M.EXCERPT)
end

local function skip(d, why)
  db.exec("UPDATE webhook_deliveries SET status = 'skipped', error = ? WHERE id = ?", "Not sent: " .. why, d.id)
end

--- The headers of a delivery of body sent at ts with secret: what a receiver checks.
function M.signed_headers(secret, ts, body)
  return { ["X-Candor-Timestamp"] = tostring(ts),
    ["X-Candor-Signature"] = "sha256=" .. crypto.hex(crypto.hmac_sha256(secret, tostring(ts) .. "." .. body)) }
end

-- Sends delivery d to webhook w once; returns the answer (or nil), the error and the time taken.
local function post(w, d)
  local secret = crypt.open("webhooks", "secret_enc", { w.id }, w.secret_enc)
  local headers = M.signed_headers(secret, clock.now(), d.body)
  headers["Content-Type"] = "application/json"
  headers["User-Agent"] = M.USER_AGENT
  headers["X-Candor-Event"] = d.event
  headers["X-Candor-Delivery"] = d.uid
  local started = clock.mono_ms()
  local rules = event_feed.address_rules()
  local res, err = fetch.request{ method = "POST", url = w.url, headers = headers, body = d.body,
    timeout_ms = M.TIMEOUT_MS, max_body = M.MAX_ANSWER, deny_local = rules.deny_local, deny_private = rules.deny_private }
  return res, err, clock.mono_ms() - started
end

-- The job of one delivery.
local function deliver_job(payload)
  local d = db.row("SELECT * FROM webhook_deliveries WHERE id = ?", payload.delivery_id)
  if not d or d.status ~= "pending" then return end
  local w = db.row("SELECT * FROM webhooks WHERE id = ?", d.webhook_id)
  if w.enabled ~= 1 and d.event ~= M.PING then return skip(d, "the webhook is disabled") end
  local problem = event_feed.owner_problem(w.owner_id and db.row("SELECT * FROM users WHERE id = ?", w.owner_id))
  if problem then return skip(d, problem) end
  local res, err, ms = post(w, d)
  local status = res and res.status or (err and err.status)
  if status and status >= 200 and status < 300 then
    db.exec([[UPDATE webhook_deliveries SET status = 'delivered', attempts = attempts + 1, last_attempt_at = ?,
      delivered_at = ?, response_status = ?, response_excerpt = ?, error = NULL, duration_ms = ? WHERE id = ?]],
      clock.now(), clock.now(), status, excerpt(res and res.body), ms, d.id)
    return
  end
  local detail
  if err then
    detail = err.message
  elseif status >= 300 and status < 400 then
    detail = ("the receiver answered %d (a redirect: deliveries do not follow redirects)"):format(status)
  else
    detail = ("the receiver answered %d"):format(status)
  end
  local failure = { code = "retry", message = detail, status = status, excerpt = excerpt(res and res.body),
    duration_ms = ms }
  if err and UNREACHABLE[err.code] then jobs.lane_down(detail, failure) end
  error(failure, 0)
end

-- Every failed attempt, in the transaction that plans the next one (retry_at) or gives up (nil).
local function attempt_failed(payload, _, err, retry_at)
  local failure = type(err) == "table" and err or { message = tostring(err):match("^[^\n]*") }
  local tried = not failure.deferred
  local text = (tried and "" or "Not sent: ") .. tostring(failure.message)
  if not retry_at then text = text .. " (gave up)" end
  db.exec([[UPDATE webhook_deliveries SET status = ?, attempts = attempts + ?, last_attempt_at = ?,
      response_status = ?, response_excerpt = ?, error = ?, duration_ms = ? WHERE id = ? AND status = 'pending']],
    retry_at and "pending" or "failed", tried and 1 or 0, clock.now(), tried and failure.status or nil,
    tried and failure.excerpt or nil, text, tried and failure.duration_ms or nil, payload.delivery_id)
end

local function delivery(webhook_id, delivery_id)
  local d = db.row([[SELECT d.*, j.due_ms / 1000 AS next_attempt_at FROM webhook_deliveries d
    LEFT JOIN jobs j ON j.key = 'webhook_delivery:' || d.id WHERE d.id = ? AND d.webhook_id = ?]],
    math.tointeger(tonumber(delivery_id)) or 0, math.tointeger(tonumber(webhook_id)) or 0)
  if not d then errors.not_found("There is no such delivery of this webhook.") end
  return d
end

--- One delivery of webhook id (404 when it belongs to another): with its body.
function M.delivery(webhook_id, delivery_id)
  row(webhook_id)
  return delivery(webhook_id, delivery_id)
end

--- The deliveries of webhook id, newest first: { deliveries, total, page, pages }. f: status, page.
function M.deliveries(id, f)
  local w = row(id)
  f = f or {}
  local from, args = "webhook_deliveries d LEFT JOIN jobs j ON j.key = 'webhook_delivery:' || d.id WHERE d.webhook_id = ?",
    { w.id }
  if f.status then from = from .. " AND d.status = ?"; args[#args + 1] = f.status end
  local res = db.page([[SELECT d.id, d.uid, d.event, d.status, d.attempts, d.created_at, d.last_attempt_at,
      d.delivered_at, d.response_status, d.response_excerpt, d.error, d.duration_ms, j.due_ms / 1000 AS next_attempt_at]],
    from, args, "d.id DESC", f.page, M.PER_PAGE)
  return { deliveries = res.rows, total = res.total, page = res.page, pages = res.pages }
end

--- Sends the delivery again, now (the same id and body; a fresh timestamp and signature), with a
--- fresh 24 hours of retries. 409 while it waits for its next attempt anyway.
function M.redeliver(actor, webhook_id, delivery_id, req)
  local w = row(webhook_id)
  local d = delivery(w.id, delivery_id)
  if d.status == "pending" and d.attempts == 0 then errors.conflict("This delivery has not been tried yet: it goes out in a moment.") end
  db.exec([[UPDATE webhook_deliveries SET status = 'pending', error = NULL WHERE id = ?]], d.id)
  app.schedule(clock.now(), M.JOB, { delivery_id = d.id, webhook_id = w.id }, key(d.id))
  audit.record{ action = "webhook.redelivered", actor = actor, req = req, target_type = "webhook", target_id = w.id,
    target_label = w.name, details = { delivery = d.uid, event = d.event } }
  return delivery(w.id, d.id)
end

--- A test ping: a "webhook.ping" delivery, sent at once in this task (outside any transaction).
--- Returns the delivery as it ended (or as it waits for its next attempt).
function M.ping(actor, id)
  local w = row(id)
  local did = db.transaction(function()
    return add_delivery(w.id, M.PING, { webhook_id = w.id, actor_id = actor.id })
  end)
  jobs.run_now(key(did))
  return delivery(w.id, did)
end

-- ---------------------------------------------------------------- start
function M.init(a)
  app = a
  subs = event_feed.subscribers("webhooks")
  changed = subs.changed
  settings.define("integrations.allow_loopback", { type = "boolean", default = false,
    description = "Let webhooks and hooks call this machine itself (127.0.0.1, ::1): for trying them out "
      .. "with a receiver on the server. Off, such addresses are refused, like link-local ones (cloud metadata)." })
  settings.define("integrations.allow_private_networks", { type = "boolean", default = false,
    description = "Let webhooks and hooks call addresses of private networks (10.x, 172.16-31.x, 192.168.x, "
      .. "100.64-127.x, fc00::/7): for receivers inside the company's network. Off, such addresses are refused." })
  crypt.register{ table = "webhooks", column = "secret_enc", key = { "id" } }
  app.on_job(M.JOB, deliver_job, { retry = M.RETRY, give_up_after = M.GIVE_UP_AFTER,
    lane = function(p) return "webhook:" .. tostring(p.webhook_id) end, on_fail = attempt_failed })
  events.hook("*", record)
end

return M
