-- Mail delivery: the SMTP settings (Tech Admins), the "mail.deliver" job that sends what is
-- queued in the outbox, retries with backoff, bounces. (The outbox as admins see it:
-- services/outbox.lua; the HTML view's sanitiser: lib/safe_html.lua.)
--
-- A mail's life: queued -> sending -> sent; or back to queued with a later next_attempt_at
-- after a temporary failure (4xx, server unreachable), failed after the last attempt, bounced
-- on a permanent refusal (5xx), held while its address has a bounce nobody marked fixed.
-- With no SMTP host configured (the demo) nothing is sent and mail stays queued.
--
-- Sending waits on the network, so it never runs inside a transaction: a mail is claimed
-- ('sending', one UPDATE that only succeeds from 'queued'), sent, and its result written in a
-- small transaction of its own. A mail is only ever sent by the task that claimed it.
local db = require "lib.db"
local json = require "lib.json"
local util = require "lib.util"
local errors = require "lib.errors"
local events = require "lib.events"
local crypt = require "lib.crypt"
local mime = require "lib.mime"
local clock = require "core.clock"
local log = require "core.log"
local sched = require "core.sched"
local core_mail = require "core.mail"
local settings = require "services.settings"
local audit = require "services.audit"
local mail = require "services.mail"

local M = {}

M.JOB = "mail.deliver"           -- job kind, and the key of the one planned delivery run
M.DELAY = 5                      -- seconds from queueing to sending: mail queued together goes together
M.BACKOFF = { 60, 300, 1800, 7200, 21600 } -- wait after the 1st..5th failed attempt (1 min .. 6 h)
M.MAX_ATTEMPTS = 6               -- then the mail is 'failed' (someone may press "Retry now")
M.STALE = 300                    -- a mail 'sending' for longer than this was interrupted
M.BATCH = 50                     -- mails read per query
M.RUN_MAX = 500                  -- mails per run; the next run follows at once
M.TIMEOUT_MS = 60000             -- one SMTP conversation in a run
M.TEST_TIMEOUT_MS = 15000        -- the test mail (someone waits for the page)
M.STATUSES = { "queued", "sending", "sent", "failed", "bounced", "held" }
M.SECURITY = { "starttls", "tls", "none" }
M.SECURITY_LABELS = { starttls = "STARTTLS (usually port 587)", tls = "TLS from the start (usually port 465)",
  none = "None (only inside a trusted network)" }

-- Failures that say nothing about one mail but about the server or our set-up: the run stops
-- and every mail due now waits for the next attempt.
local SERVER_ERRORS = { connect = true, timeout = true, tls = true, auth = true }

-- URL parameters hidden when admins look at a mail (sign-in and reset links are credentials).
local SECRET_PARAMS = { token = true, code = true, key = true, secret = true, password = true,
  signature = true, sig = true }

-- ---------------------------------------------------------------- settings
local SETTINGS = {
  host = "smtp.host", port = "smtp.port", security = "smtp.security", username = "smtp.username",
  from_name = "smtp.from_name", from_address = "smtp.from_address",
}
M.SETTING_LABELS = { host = "Server", port = "Port", security = "Security", username = "User name",
  password = "Password", from_name = "Sender name", from_address = "Sender address" }

local function valid_host(h)
  if h == "" then return true end
  if #h > 253 then return false, "is too long" end
  if h:match("^[%w][%w%.%-]*$") or h:match("^%[?[%x:]+%]?$") then return true end
  return false, "is not a host name (like smtp.example.com) or an IP address"
end

local function define_settings()
  settings.define("smtp.host", { type = "string", default = "", len_max = 253, custom_validator = valid_host,
    description = "The mail server (SMTP) Candor sends through. Empty: nothing is sent, mail waits in the outbox." })
  settings.define("smtp.port", { type = "integer", default = 587, between = { 1, 65535 },
    description = "The mail server's port (587 for STARTTLS, 465 for TLS, 25 without encryption)." })
  settings.define("smtp.security", { type = "string", one_of = M.SECURITY, default = "starttls",
    description = "How the connection is encrypted: starttls, tls or none." })
  settings.define("smtp.username", { type = "string", default = "", len_max = 254,
    description = "User name for signing in to the mail server (empty: no sign-in)." })
  settings.define("smtp.from_name", { type = "string", default = "", len_max = 120, one_line = true,
    description = "The sender's name on every mail (empty: the company's name)." })
  settings.define("smtp.from_address", { type = "string", default = "", len_max = 254,
    custom_validator = function(v)
      if v == "" or mime.valid_email(v) then return true end
      return false, "is not an email address"
    end,
    description = "The sender's address on every mail; the server must allow it." })
end

--- True when a mail server is set up (otherwise mail stays queued in the outbox).
function M.configured()
  return settings.get("smtp.host") ~= ""
end

local function password()
  local row = db.row("SELECT value_enc FROM smtp_secrets WHERE name = 'password'")
  return row and crypt.open("smtp_secrets", "value_enc", { "password" }, row.value_enc)
end

--- The settings as the admin pages and the API show them (never the password itself).
function M.get_settings()
  local out = {}
  for f, key in pairs(SETTINGS) do out[f] = settings.get(key) end
  out.password_set = db.value("SELECT count(*) FROM smtp_secrets WHERE name = 'password'") > 0
  out.configured = out.host ~= ""
  return out
end

local function server_label(s)
  local host = s.host:find(":", 1, true) and ("[" .. s.host:gsub("[%[%]]", "") .. "]") or s.host
  return ("%s:%d"):format(host, s.port)
end

-- Everything a run needs, the password decrypted once (M.config: for tests and tools).
local function config()
  local s = M.get_settings()
  return {
    url = ("%s://%s"):format(s.security == "tls" and "smtps" or "smtp", server_label(s)),
    starttls = s.security == "starttls",
    username = s.username ~= "" and s.username or nil,
    password = s.username ~= "" and password() or nil,
    from = { name = s.from_name ~= "" and s.from_name or settings.get("company.name"), email = s.from_address },
    server = server_label(s),
    timeout_ms = M.TIMEOUT_MS,
  }
end

M.config = config

--- Saves the settings from a form or JSON: host, port, security, username, from_name,
--- from_address, password (empty or absent: keep), clear_password. 422 naming each problem.
function M.save_settings(actor, input, req)
  local fields, values = {}, {}
  for f, key in pairs(SETTINGS) do
    local raw = input[f]
    if raw ~= nil and raw ~= json.null then
      if type(raw) == "string" then raw = util.trim(raw) end
      if f == "port" and raw == "" then raw = settings.schema[key].default end
      local v, msg = settings.check(key, raw)
      if v == nil then fields[f] = M.SETTING_LABELS[f] .. " " .. msg .. "." else values[key] = v end
    end
  end
  local pw = input.password
  if pw ~= nil and pw ~= json.null and pw ~= "" then
    if type(pw) ~= "string" then fields.password = "Password must be text."
    elseif #pw > 512 then fields.password = "Password is too long."
    elseif pw:find("[\r\n%z]") then fields.password = "Password must not contain line breaks." end
  else
    pw = nil
  end
  local function value(key)
    if values[key] ~= nil then return values[key] end
    return settings.get(key)
  end
  if value("smtp.host") ~= "" and value("smtp.from_address") == "" and not fields.from_address then
    fields.from_address = "Sender address is needed to send mail."
  end
  if next(fields) then errors.invalid(fields, "Some settings need attention.") end

  local changed = {}
  for f, key in pairs(SETTINGS) do
    if values[key] ~= nil and values[key] ~= settings.get(key) then
      settings.set(key, values[key], actor and actor.id)
      changed[#changed + 1] = f
    end
  end
  local clear = input.clear_password == true or input.clear_password == "on" or input.clear_password == "true"
  if pw then
    db.exec([[INSERT INTO smtp_secrets(name, value_enc, updated_at, updated_by) VALUES('password', ?, ?, ?)
      ON CONFLICT(name) DO UPDATE SET value_enc = excluded.value_enc, updated_at = excluded.updated_at,
      updated_by = excluded.updated_by]],
      crypt.seal("smtp_secrets", "value_enc", { "password" }, pw), clock.now(), actor and actor.id)
    changed[#changed + 1] = "password"
  elseif clear then
    if db.exec("DELETE FROM smtp_secrets WHERE name = 'password'") > 0 then changed[#changed + 1] = "password" end
  end
  table.sort(changed)
  if #changed > 0 then
    audit.record{ action = "mail_server.update", actor = actor, req = req,
      target_type = "settings", target_label = "mail server", details = { changed = changed } }
  end
  if M.configured() then M.plan(clock.now()) end
  return M.get_settings(), changed
end

-- ---------------------------------------------------------------- history and helpers
local function event(id, status, detail, actor_id)
  db.exec("INSERT INTO outbox_events(outbox_id, at, status, detail, actor_id) VALUES(?,?,?,?,?)",
    id, clock.now(), status, detail and util.truncate_bytes(tostring(detail), 1000), actor_id)
end

--- Hides the values of credential-like URL parameters (token=, code=, ...) in text or HTML.
function M.mask(s)
  if type(s) ~= "string" then return s end
  return (s:gsub("([?&;]([%a_]+)=)([^%s&#\"'<>]+)", function(prefix, name)
    if SECRET_PARAMS[name:lower()] then return prefix .. "[hidden]" end
  end))
end

local function backoff_sql()
  local parts = { "CASE attempts" }
  for i, secs in ipairs(M.BACKOFF) do parts[#parts + 1] = ("WHEN %d THEN %d"):format(i - 1, secs) end
  parts[#parts + 1] = ("ELSE %d END"):format(M.BACKOFF[#M.BACKOFF])
  return table.concat(parts, " ")
end

local function when(ts) return os.date("!%Y-%m-%d %H:%M UTC", ts) end

-- A failed attempt (attempts counts it already): back to the queue with backoff, or failed.
local function retry_or_fail(id, attempts, detail, response)
  local now = clock.now()
  db.transaction(function()
    if attempts >= M.MAX_ATTEMPTS then
      db.exec([[UPDATE outbox SET status = 'failed', last_error = ?, smtp_response = ?, next_attempt_at = NULL,
        sending_at = NULL WHERE id = ?]], detail, response, id)
      event(id, "failed", ("Gave up after %d attempts: %s"):format(attempts, detail))
    else
      local next_at = now + M.BACKOFF[math.min(attempts, #M.BACKOFF)]
      db.exec([[UPDATE outbox SET status = 'queued', last_error = ?, smtp_response = ?, next_attempt_at = ?,
        sending_at = NULL WHERE id = ?]], detail, response, next_at, id)
      event(id, "queued", ("Attempt %d failed: %s. Next attempt %s."):format(attempts, detail, when(next_at)))
    end
  end)
end

-- The server could not be used at all: every other mail due now counts a failed attempt too
-- and waits with its own backoff (one statement for all of them).
local function defer_all(detail)
  local now = clock.now()
  local status = ("CASE WHEN attempts + 1 >= %d THEN 'failed' ELSE 'queued' END"):format(M.MAX_ATTEMPTS)
  db.transaction(function()
    db.exec(([[INSERT INTO outbox_events(outbox_id, at, status, detail)
      SELECT id, ?, %s, ? FROM outbox WHERE status = 'queued' AND next_attempt_at <= ?]]):format(status),
      now, "Not sent: " .. detail, now)
    db.exec(([[UPDATE outbox SET attempts = attempts + 1, last_error = ?, status = %s,
      next_attempt_at = CASE WHEN attempts + 1 >= %d THEN NULL ELSE ? + %s END
      WHERE status = 'queued' AND next_attempt_at <= ?]]):format(status, M.MAX_ATTEMPTS, backoff_sql()),
      detail, now, now)
  end)
end

-- A 5xx that is about our sender or set-up (not the recipient) must not mark addresses bounced.
local function setup_problem(response)
  local r = (response or ""):lower()
  return r:find("sender", 1, true) or r:find("relay", 1, true) or r:find("from address", 1, true)
    or r:match("5%.1%.[78]") or r:match("5%.7%.0") or r:match("authenticat")
end

local function error_text(err)
  if err.response and err.response ~= "" and not err.message:find(err.response, 1, true) then
    return err.message .. " (" .. err.response .. ")"
  end
  return err.message
end

local function cc_list(cc)
  local out = {}
  for a in (cc or ""):gmatch("[^,%s]+") do out[#out + 1] = a end
  return out
end

--- Delivers one claimed-or-queued outbox row m (with .bounced_before = 1 when its address has
--- an open bounce). Returns the outcome: "sent", "retry", "failed", "bounced", "held",
--- "skipped" (someone else has it), or "server", detail when the server could not be used.
function M.deliver(m, cfg)
  if db.depth() > 0 then error("mail delivery cannot run inside a transaction") end
  if m.bounced_before == 1 then
    local n = db.transaction(function()
      local n = db.exec([[UPDATE outbox SET status = 'held', last_error = ? WHERE id = ? AND status = 'queued']],
        "This address bounced before. Mark it fixed on the bounces page to send to it again.", m.id)
      if n == 1 then event(m.id, "held", "Not sent: this address has a bounce that is not marked fixed.") end
      return n
    end)
    return n == 1 and "held" or "skipped"
  end
  local now = clock.now()
  local claimed = db.exec([[UPDATE outbox SET status = 'sending', sending_at = ?, attempts = attempts + 1
    WHERE id = ? AND status = 'queued']], now, m.id)
  if claimed ~= 1 then return "skipped" end
  local attempts = (m.attempts or 0) + 1

  local ccs = cc_list(m.cc)
  local message, info = mime.build{
    from = cfg.from,
    to = { { name = m.to_name, email = m.to_email } },
    cc = #ccs > 0 and ccs or nil,
    subject = m.subject, text = m.body_text, html = m.body_html, date = now,
    headers = { ["Auto-Submitted"] = "auto-generated", ["X-Auto-Response-Suppress"] = "All" },
  }
  if not message then
    db.transaction(function()
      db.exec([[UPDATE outbox SET status = 'failed', last_error = ?, next_attempt_at = NULL, sending_at = NULL
        WHERE id = ?]], info.message, m.id)
      event(m.id, "failed", "Cannot be sent: " .. info.message)
    end)
    return "failed"
  end

  local ok, res = core_mail.send{
    url = cfg.url, starttls = cfg.starttls, username = cfg.username, password = cfg.password,
    from = info.from, to = info.recipients, message = message, timeout_ms = cfg.timeout_ms or M.TIMEOUT_MS,
  }
  now = clock.now()
  if ok then
    db.transaction(function()
      db.exec([[UPDATE outbox SET status = 'sent', sent_at = ?, smtp_response = ?, message_id = ?, last_error = NULL,
        next_attempt_at = NULL, sending_at = NULL WHERE id = ?]], now, res.response, info.message_id, m.id)
      -- the links in it were for the recipient; what stays behind no longer holds them
      local subject, text, html = M.mask(m.subject), M.mask(m.body_text), M.mask(m.body_html)
      if text ~= m.body_text or html ~= m.body_html or subject ~= m.subject then
        db.exec("UPDATE outbox SET subject = ?, body_text = ?, body_html = ? WHERE id = ?", subject, text, html, m.id)
      end
      event(m.id, "sent", res.response)
    end)
    return "sent"
  end

  local detail = error_text(res)
  if res.code == "rejected" and not res.temporary and not setup_problem(res.response) then
    db.transaction(function()
      db.exec([[UPDATE outbox SET status = 'bounced', last_error = ?, smtp_response = ?, next_attempt_at = NULL,
        sending_at = NULL WHERE id = ?]], detail, res.response, m.id)
      db.exec([[INSERT INTO mail_bounces(email, outbox_id, at, smtp_code, message) VALUES(lower(?),?,?,?,?)]],
        m.to_email, m.id, now, res.smtp_code, util.truncate_bytes(res.response ~= "" and res.response or res.message, 1000))
      event(m.id, "bounced", detail)
    end)
    log.warn(("mail %d to %s bounced: %s"):format(m.id, m.to_email, detail))
    return "bounced"
  end
  retry_or_fail(m.id, attempts, detail, res.response)
  if SERVER_ERRORS[res.code] or (res.code == "rejected" and setup_problem(res.response)) then
    return "server", detail
  end
  return attempts >= M.MAX_ATTEMPTS and "failed" or "retry"
end

--- Mail left 'sending' for longer than STALE seconds (Candor stopped mid-send) goes back to the
--- queue. Returns how many.
function M.recover()
  local now = clock.now()
  return db.transaction(function()
    db.exec([[INSERT INTO outbox_events(outbox_id, at, status, detail)
      SELECT id, ?, 'queued', 'The attempt was interrupted (Candor stopped while sending); it will be tried again.'
      FROM outbox WHERE status = 'sending' AND (sending_at IS NULL OR sending_at < ?)]], now, now - M.STALE)
    local n = db.exec([[UPDATE outbox SET status = 'queued', next_attempt_at = ?, sending_at = NULL
      WHERE status = 'sending' AND (sending_at IS NULL OR sending_at < ?)]], now, now - M.STALE)
    db.exec("UPDATE outbox SET next_attempt_at = created_at WHERE status = 'queued' AND next_attempt_at IS NULL")
    return n
  end)
end

-- The delivery run we planned last ({ id =, due_ms = }; checked against the jobs table, since a
-- rollback may have removed it) and the job whose run is in progress. Runs are jobs without a
-- key: a run plans the next one while its own row still exists (the runner deletes that row
-- by id when the run returns).
local planned, running_job
local app -- set by init: its scheduler plans the runs

--- Plans the delivery run for `due` (seconds), unless one is planned earlier already; a later
--- one is replaced. One query when a run is planned already (bulk queueing stays cheap).
function M.plan(due)
  local due_ms = math.floor(due * 1000)
  if planned and planned.id ~= running_job then
    local cur = db.value("SELECT due_ms FROM jobs WHERE id = ? AND kind = ?", planned.id, M.JOB)
    if cur and cur <= due_ms then return end
    if cur then sched.done(planned.id) end
  end
  planned = { id = app.schedule(due, M.JOB, {}), due_ms = due_ms }
end

-- After a run: the next one when the earliest waiting mail is due.
local function plan_next(progress)
  local due = db.value("SELECT min(next_attempt_at) FROM outbox WHERE status = 'queued'")
  if not due then return end
  local now = clock.now()
  if due < now then due = now end
  if due == now and not progress then due = now + M.BACKOFF[1] end
  M.plan(due)
end

--- The delivery run (job "mail.deliver"; job is its row, nil when called directly): sends
--- every queued mail that is due, in batches. Returns counts by outcome.
function M.run(job)
  running_job = job and job.id
  local ok, stats = xpcall(M.run_batch, debug.traceback)
  running_job = nil
  if not ok then error(stats, 0) end
  return stats
end

-- The work of one run.
function M.run_batch()
  local stats = { sent = 0, retry = 0, failed = 0, bounced = 0, held = 0, skipped = 0, server = 0 }
  if not M.configured() then return stats end
  M.recover()
  local cfg = config()
  local handled, stop = 0, nil
  while handled < M.RUN_MAX and not stop do
    local batch = db.query([[SELECT o.id, o.to_email, o.to_name, o.cc, o.subject, o.body_text, o.body_html,
        o.template, o.attempts,
        EXISTS(SELECT 1 FROM mail_bounces b WHERE b.email = lower(o.to_email) AND b.fixed_at IS NULL) AS bounced_before
      FROM outbox o WHERE o.status = 'queued' AND o.next_attempt_at <= ?
      ORDER BY o.next_attempt_at, o.id LIMIT ?]], clock.now(), M.BATCH)
    if #batch == 0 then break end
    for _, m in ipairs(batch) do
      local outcome, detail = M.deliver(m, cfg)
      stats[outcome] = stats[outcome] + 1
      handled = handled + 1
      if outcome == "server" then stop = detail break end
      if handled >= M.RUN_MAX then break end
    end
  end
  if stop then
    defer_all(stop)
    log.warn("mail delivery paused: " .. stop)
  end
  plan_next(handled > stats.skipped and not stop)
  return stats
end

-- ---------------------------------------------------------------- actions
local function get_row(id)
  local m = db.row("SELECT * FROM outbox WHERE id = ?", id)
  if not m then errors.not_found("There is no such mail.") end
  return m
end

function M.open_bounce(email)
  return db.row([[SELECT id, at, smtp_code, message FROM mail_bounces WHERE email = lower(?) AND fixed_at IS NULL
    ORDER BY id DESC LIMIT 1]], email)
end

M.RETRYABLE = { failed = true, bounced = true, held = true, queued = true }

--- "Retry now": a failed, bounced, held or waiting mail goes back to the queue, due now, to
--- the recipient's current address. Never for a sent mail (409).
function M.retry(actor, id)
  local m = get_row(id)
  if m.status == "sent" then errors.conflict("This mail was sent already; it is never sent twice.") end
  if not M.RETRYABLE[m.status] then errors.conflict("This mail is being sent right now.") end
  local address = m.to_email
  if m.to_user_id then
    local current = db.value("SELECT email FROM users WHERE id = ?", m.to_user_id)
    if current and current ~= address then address = current end
  end
  local b = M.open_bounce(address)
  if b then
    errors.conflict(("%s bounced on %s (%s). Mark the address fixed on the bounces page first.")
      :format(address, when(b.at), b.message))
  end
  db.exec([[UPDATE outbox SET status = 'queued', attempts = 0, next_attempt_at = ?, last_error = NULL, to_email = ?
    WHERE id = ?]], clock.now(), address, id)
  event(id, "queued", address ~= m.to_email and ("Retry requested; sent to the new address " .. address)
    or "Retry requested", actor and actor.id)
  if M.configured() then M.plan(clock.now()) end
  return get_row(id)
end

--- Every failed mail back to the queue (the server was down for long). Returns how many.
function M.retry_failed(actor)
  local now = clock.now()
  db.exec([[INSERT INTO outbox_events(outbox_id, at, status, detail, actor_id)
    SELECT id, ?, 'queued', 'Retry requested (all failed mail)', ? FROM outbox WHERE status = 'failed']],
    now, actor and actor.id)
  local n = db.exec([[UPDATE outbox SET status = 'queued', attempts = 0, next_attempt_at = ?, last_error = NULL
    WHERE status = 'failed']], now)
  if n > 0 and M.configured() then M.plan(now) end
  return n
end

--- Marks an address fixed (the bounce with this id and every other open one for the address);
--- mail held for it goes back to the queue. Returns { email=, released= }.
function M.mark_fixed(actor, bounce_id, req)
  local b = db.row("SELECT * FROM mail_bounces WHERE id = ?", bounce_id)
  if not b then errors.not_found("There is no such bounce.") end
  local now = clock.now()
  db.exec("UPDATE mail_bounces SET fixed_at = ?, fixed_by = ? WHERE email = ? AND fixed_at IS NULL",
    now, actor and actor.id, b.email)
  db.exec([[INSERT INTO outbox_events(outbox_id, at, status, detail, actor_id)
    SELECT id, ?, 'queued', 'The address was marked fixed', ? FROM outbox WHERE status = 'held' AND lower(to_email) = ?]],
    now, actor and actor.id, b.email)
  local released = db.exec([[UPDATE outbox SET status = 'queued', next_attempt_at = ?, last_error = NULL
    WHERE status = 'held' AND lower(to_email) = ?]], now, b.email)
  audit.record{ action = "mail_bounce.fixed", actor = actor, req = req,
    target_type = "email", target_label = b.email, details = { released = released } }
  if released > 0 and M.configured() then M.plan(now) end
  return { email = b.email, released = released }
end

--- Queues the test mail to `to` and sends it at once (outside any transaction); returns
--- { id=, outcome=, detail=, status= }.
function M.send_test(actor, to)
  if not M.configured() then
    errors.conflict("Set up a mail server first: nothing can be sent without one.")
  end
  if type(to) ~= "string" or not mime.valid_email(util.trim(to)) then
    errors.invalid({ to = "Enter an email address." }, "Enter the address the test mail goes to.")
  end
  to = util.trim(to)
  local cfg = config()
  cfg.timeout_ms = M.TEST_TIMEOUT_MS
  local id = db.transaction(function()
    local rcpt = { email = to, name = (actor and actor.email:lower() == to:lower()) and actor.name or nil,
      id = (actor and actor.email:lower() == to:lower()) and actor.id or nil }
    return mail.queue{ template = "mail.test", to = rcpt,
      vars = { sender = actor and actor.name or "Candor", server = cfg.server } }
  end)
  local m = db.row([[SELECT o.*, 0 AS bounced_before FROM outbox o WHERE id = ?]], id)
  local outcome, detail = M.deliver(m, cfg)
  local row = get_row(id)
  return { id = id, outcome = outcome, detail = detail or row.last_error, status = row.status,
    response = row.smtp_response }
end

-- ---------------------------------------------------------------- start
function M.init(a)
  app = a
  define_settings()
  crypt.register{ table = "smtp_secrets", column = "value_enc", key = { "name" } }
  app.on_job(M.JOB, function(_, job) M.run(job) end)
  planned, running_job = nil, nil
  local pending = db.row("SELECT id, due_ms FROM jobs WHERE kind = ? ORDER BY due_ms LIMIT 1", M.JOB)
  if pending then planned = { id = pending.id, due_ms = pending.due_ms } end
  events.hook("mail.queued", function()
    if M.configured() then M.plan(clock.now() + M.DELAY) end
  end)
  -- a restart: mail left 'sending' by the previous process goes back to the queue
  local n = M.recover()
  if n > 0 then log.warn(("%d mail(s) were being sent when Candor stopped; they will be sent again"):format(n)) end
  if M.configured() then
    if db.value("SELECT 1 FROM outbox WHERE status = 'queued' LIMIT 1") then plan_next(true) end
    -- mail being sent a moment ago: looked at again once it counts as interrupted
    local oldest = db.value("SELECT min(sending_at) FROM outbox WHERE status = 'sending'")
    if oldest then M.plan(oldest + M.STALE + 1) end
  end
end

return M
