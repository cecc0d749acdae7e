-- Mail delivery: the SMTP settings (Tech Admins), the "mail.send" job of every mail waiting in
-- the outbox, retries with backoff, bounces. (The outbox as admins see it: services/outbox.lua;
-- the HTML view's sanitiser: lib/safe_html.lua.)
--
-- A mail's life: queued -> sending -> sent; or back to queued after a temporary failure (4xx,
-- server unreachable) with its job planned from the retry table of the kind, failed after the
-- last attempt, bounced on a permanent refusal (5xx), held while its address has a bounce nobody
-- marked fixed, interrupted when an attempt broke off in a way that leaves it unknown whether the
-- server took the mail (never sent again by itself: someone decides). With no SMTP host
-- configured (the demo) nothing is sent and mail stays queued.
--
-- The queue is the job queue (lib/jobs.lua): one job per waiting mail (key mail:<id>, lane
-- "mail"), planned in the transaction that queued the mail. Sending waits on the network, so it
-- never runs inside a transaction: the attempt is recorded first ('sending', one UPDATE that only
-- succeeds from 'queued', with the Message-ID and the process, committed), then the mail is
-- sent, and its result written in a small transaction of its own.
local db = require "lib.db"
local json = require "lib.json"
local util = require "lib.util"
local dates = require "lib.dates"
local errors = require "lib.errors"
local events = require "lib.events"
local crypt = require "lib.crypt"
local mime = require "lib.mime"
local jobs = require "lib.jobs"
local clock = require "core.clock"
local log = require "core.log"
local core_host = require "core.host"
local sched = require "core.sched"
local core_mail = require "core.mail"
local settings = require "services.settings"
local audit = require "services.audit"
local mail = require "services.mail"

local M = {}

M.JOB = "mail.send"              -- job kind: one job per mail waiting to be sent (key mail:<id>)
M.DELAY = 5                      -- seconds from queueing to sending: mail queued together goes together
M.BACKOFF = { 60, 300, 1800, 7200, 21600 } -- the kind's retry table: wait after the 1st..5th failed attempt
M.MAX_ATTEMPTS = 6               -- then the mail is 'failed' (someone may press "Retry now")
M.STALE = 600                    -- an attempt still 'sending' after this long broke off (10 x the timeout)
M.TIMEOUT_MS = 60000             -- one SMTP conversation
M.TEST_TIMEOUT_MS = 15000        -- the test mail (someone waits for the page)
M.STATUSES = { "queued", "sending", "sent", "failed", "bounced", "held", "interrupted" }
M.SECURITY = { "starttls", "tls", "none" }
M.SECURITY_LABELS = { starttls = "STARTTLS (usually port 587)", tls = "TLS from the start (usually port 465)",
  none = "None (only inside a trusted network)" }

-- Failures that say nothing about one mail but about the server or our set-up: every other mail
-- due now waits for its next attempt too (the lane is down).
local SERVER_ERRORS = { connect = true, timeout = true, tls = true, auth = true }


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
  if M.configured() then M.plan_waiting() end
  return M.get_settings(), changed
end

-- ---------------------------------------------------------------- history and helpers
local function event(id, status, detail, actor_id)
  db.exec("INSERT INTO outbox_events(outbox_id, at, status, detail, actor_id) VALUES(?,?,?,?,?)",
    id, clock.now(), status, detail and util.truncate_bytes(tostring(detail), 1000), actor_id)
end

--- Hides the values of credential-like URL parameters (token=, code=, ...) in text or HTML.
M.mask = mail.mask

local function when(ts) return dates.format_time(ts) end

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

-- The outcome of an attempt (the mail is 'sending', by us) in a small transaction. If even that
-- cannot be written, the mail stays 'sending' and is found interrupted later: never sent again.
local function record(id, fn)
  local ok, err = pcall(db.transaction, fn)
  if not ok then log.error(("mail %d: the outcome of its attempt could not be written: %s"):format(id, tostring(err))) end
  return ok
end

local INTERRUPTED = "Candor stopped while this mail was being sent: the mail server may have taken it."

--- Delivers one queued outbox row m (with .bounced_before = 1 when its address has an open
--- bounce). The attempt is recorded before the conversation starts (status 'sending', the
--- Message-ID it is sent with and the process sending it, committed), so a crash during the
--- conversation never leads to a second, blind attempt. Returns the outcome: "sent", "failed",
--- "bounced", "held", "interrupted" (the server may have it: nobody knows), "skipped" (not
--- queued any more), or "retry" / "server" (the server could not be used at all) with the
--- detail and the server's answer: the caller plans the next attempt.
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
  -- a mail with a credential link is stored with the link hidden; what is sent is the sealed copy
  local subject, text, html = m.subject, m.body_text, m.body_html
  if m.body_enc then
    local sealed = crypt.try_open("outbox", "body_enc", { m.id }, m.body_enc)
    local full = sealed and json.decode(sealed)
    if type(full) ~= "table" then
      return db.transaction(function()
        if db.exec("UPDATE outbox SET status = 'failed', last_error = ? WHERE id = ? AND status = 'queued'",
            "Its sealed text cannot be opened with the current keys.", m.id) ~= 1 then
          return "skipped"
        end
        event(m.id, "failed", "Cannot be sent: its sealed text cannot be opened with the current keys.")
        return "failed"
      end)
    end
    subject, text, html = full.subject, full.text, full.html
  end
  local ccs = cc_list(m.cc)
  local message, info = mime.build{
    from = cfg.from,
    to = { { name = m.to_name, email = m.to_email } },
    cc = #ccs > 0 and ccs or nil,
    subject = subject, text = text, html = html, date = now,
    headers = { ["Auto-Submitted"] = "auto-generated", ["X-Auto-Response-Suppress"] = "All" },
  }
  if not message then
    return db.transaction(function()
      if db.exec("UPDATE outbox SET status = 'failed', last_error = ? WHERE id = ? AND status = 'queued'",
          info.message, m.id) ~= 1 then
        return "skipped"
      end
      event(m.id, "failed", "Cannot be sent: " .. info.message)
      return "failed"
    end)
  end
  local claimed = db.exec([[UPDATE outbox SET status = 'sending', sending_at = ?, sending_by = ?, message_id = ?,
    attempts = attempts + 1 WHERE id = ? AND status = 'queued']], now, core_host.process(), info.message_id, m.id)
  if claimed ~= 1 then return "skipped" end

  local called, ok, res = pcall(core_mail.send, {
    url = cfg.url, starttls = cfg.starttls, username = cfg.username, password = cfg.password,
    from = info.from, to = info.recipients, message = message, timeout_ms = cfg.timeout_ms or M.TIMEOUT_MS,
  })
  now = clock.now()
  if not called then -- refused before any conversation began
    record(m.id, function()
      db.exec([[UPDATE outbox SET status = 'failed', last_error = ?, sending_at = NULL, sending_by = NULL
        WHERE id = ?]], tostring(ok), m.id)
      event(m.id, "failed", "Cannot be sent: " .. tostring(ok))
    end)
    return "failed"
  end
  if ok then
    record(m.id, function()
      db.exec([[UPDATE outbox SET status = 'sent', sent_at = ?, smtp_response = ?, last_error = NULL,
        sending_at = NULL, sending_by = NULL, body_enc = NULL WHERE id = ?]], now, res.response, m.id)
      -- the links in it were for the recipient; what stays behind no longer holds them (mail
      -- queued with its sealed copy is stored hidden already; older rows are hidden now)
      local kept_s, kept_t, kept_h = M.mask(m.subject), M.mask(m.body_text), M.mask(m.body_html)
      if kept_t ~= m.body_text or kept_h ~= m.body_html or kept_s ~= m.subject then
        db.exec("UPDATE outbox SET subject = ?, body_text = ?, body_html = ? WHERE id = ?", kept_s, kept_t, kept_h, m.id)
      end
      event(m.id, "sent", res.response)
    end)
    return "sent"
  end

  local detail = error_text(res)
  if res.unsure then
    record(m.id, function()
      db.exec([[UPDATE outbox SET status = 'interrupted', last_error = ?, smtp_response = ?, sending_at = NULL,
        sending_by = NULL WHERE id = ?]], detail, res.response, m.id)
      event(m.id, "interrupted", "The mail server did not confirm the mail after it had all of it ("
        .. detail .. "): it may have taken it, so it is not sent again by itself.")
    end)
    log.warn(("mail %d to %s: not confirmed after it was handed over: %s"):format(m.id, m.to_email, detail))
    return "interrupted"
  end
  if res.code == "rejected" and not res.temporary and not setup_problem(res.response) then
    record(m.id, function()
      db.exec([[UPDATE outbox SET status = 'bounced', last_error = ?, smtp_response = ?, sending_at = NULL,
        sending_by = NULL WHERE id = ?]], detail, res.response, m.id)
      db.exec([[INSERT INTO mail_bounces(email, outbox_id, at, smtp_code, message) VALUES(lower(?),?,?,?,?)]],
        m.to_email, m.id, now, res.smtp_code, util.truncate_bytes(res.response ~= "" and res.response or res.message, 1000))
      event(m.id, "bounced", detail)
    end)
    log.warn(("mail %d to %s bounced: %s"):format(m.id, m.to_email, detail))
    return "bounced"
  end
  if SERVER_ERRORS[res.code] or (res.code == "rejected" and setup_problem(res.response)) then
    return "server", detail, res.response
  end
  return "retry", detail, res.response
end

--- Mail found 'sending' whose attempt cannot be going on any more — the process making it is
--- gone (Candor stopped or crashed during the conversation), or it began more than STALE
--- seconds ago — is 'interrupted': the server may or may not have it, so it is not sent again
--- by itself (docs/architecture.md, "Mail"). Returns how many.
function M.recover()
  local now = clock.now()
  local ids = {}
  for _, r in ipairs(db.query("SELECT id, sending_at, sending_by FROM outbox WHERE status = 'sending'")) do
    if core_host.alive(r.sending_by or "") == false or (r.sending_at or 0) < now - M.STALE then ids[#ids + 1] = r.id end
  end
  if #ids == 0 then return 0 end
  db.transaction(function()
    local list = json.encode(ids)
    db.exec([[INSERT INTO outbox_events(outbox_id, at, status, detail)
      SELECT value, ?, 'interrupted', ? FROM json_each(?)]], now, INTERRUPTED, list)
    db.exec([[UPDATE outbox SET status = 'interrupted', last_error = ?, sending_at = NULL, sending_by = NULL
      WHERE status = 'sending' AND id IN (SELECT value FROM json_each(?))]], INTERRUPTED, list)
  end)
  log.warn(("%d mail(s) were being sent when Candor stopped: marked interrupted, not sent again"):format(#ids))
  return #ids
end

local app -- set by init: its queue holds one job per mail waiting to be sent

local function key(id) return "mail:" .. id end

-- Plans the attempt of mail id at due (a new plan replaces the one there).
local function plan(id, due, payload)
  payload = payload or { outbox_id = id }
  app.schedule(due, M.JOB, payload, key(id))
end

--- Every queued mail without a job gets one, due now (a mail server was just set up, or the
--- mail was queued while there was none). Returns how many.
function M.plan_waiting()
  local ids = db.column([[SELECT o.id FROM outbox o WHERE o.status = 'queued'
    AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.key = 'mail:' || o.id) ORDER BY o.id]])
  local now = clock.now()
  for _, id in ipairs(ids) do plan(id, now) end
  return #ids
end

-- The job of one mail: sends it if it still waits and a server is set up.
local function send_job(payload)
  M.recover()
  local m = db.row([[SELECT o.*, EXISTS(SELECT 1 FROM mail_bounces b WHERE b.email = lower(o.to_email)
      AND b.fixed_at IS NULL) AS bounced_before FROM outbox o WHERE o.id = ?]], payload.outbox_id)
  if not m or m.status ~= "queued" or not M.configured() then return end
  local cfg = config()
  if payload.test then
    m.bounced_before = 0 -- the test mail goes to the address typed, whatever happened before
    cfg.timeout_ms = M.TEST_TIMEOUT_MS
  end
  local outcome, detail, response = M.deliver(m, cfg)
  if outcome == "server" then jobs.lane_down(detail, { response = response }) end
  if outcome == "retry" then error({ code = "retry", message = detail, response = response }, 0) end
end

-- Every failed attempt of a mail's job, in the transaction that plans the next (retry_at, in
-- seconds) or gives up (nil): the outbox row and its history say the same as the queue.
local function attempt_failed(payload, _, err, retry_at)
  local id = payload.outbox_id
  local m = db.row("SELECT status, attempts FROM outbox WHERE id = ?", id)
  if not m then return end
  local detail = type(err) == "table" and tostring(err.message) or tostring(err):match("^[^\n]*")
  local response = type(err) == "table" and err.response or nil
  local known = type(err) == "table" and (err.code == "retry" or err.code == "lane_down")
  if m.status == "sending" and not known then
    -- something broke during the attempt itself: whether the server has the mail is unknown
    db.exec([[UPDATE outbox SET status = 'interrupted', last_error = ?, sending_at = NULL, sending_by = NULL
      WHERE id = ?]], detail, id)
    event(id, "interrupted", "The attempt broke off (" .. detail .. "): the mail server may have taken it.")
    return
  end
  if m.status ~= "sending" and m.status ~= "queued" then return end
  local attempts = m.status == "sending" and m.attempts or m.attempts + 1 -- a mail not tried counts one too
  local status = retry_at and "queued" or "failed"
  db.exec([[UPDATE outbox SET status = ?, attempts = ?, last_error = ?, smtp_response = coalesce(?, smtp_response),
    sending_at = NULL, sending_by = NULL WHERE id = ?]], status, attempts, detail, response, id)
  local text
  if m.status == "queued" then
    text = "Not sent: " .. detail
  elseif retry_at then
    text = ("Attempt %d failed: %s. Next attempt %s."):format(attempts, detail, when(retry_at))
  else
    text = ("Gave up after %d attempts: %s"):format(attempts, detail)
  end
  event(id, status, text)
end

--- The time of a waiting mail's next attempt (seconds), or nil: what its job says.
function M.next_attempt(id)
  local job = sched.find(key(id))
  return job and job.due_ms // 1000
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

M.RETRYABLE = { failed = true, bounced = true, held = true, queued = true, interrupted = true }

--- "Retry now": a failed, bounced, held, interrupted or waiting mail goes back to the queue,
--- due now, to the recipient's current address. Never for a sent mail (409). An interrupted
--- mail may reach its recipient twice: whoever presses it decided so.
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
  db.exec([[UPDATE outbox SET status = 'queued', attempts = 0, last_error = NULL, to_email = ?
    WHERE id = ?]], address, id)
  local what = m.status == "interrupted" and "Sending again requested (it may arrive twice)" or "Retry requested"
  event(id, "queued", address ~= m.to_email and (what .. "; sent to the new address " .. address) or what,
    actor and actor.id)
  if M.configured() then plan(id, clock.now()) end
  return get_row(id)
end

--- An interrupted mail that the mail server did take (its log shows the Message-ID): 'sent'.
function M.mark_sent(actor, id)
  local m = get_row(id)
  if m.status ~= "interrupted" then
    errors.conflict("Only a mail whose sending was interrupted can be marked as sent.")
  end
  db.exec("UPDATE outbox SET status = 'sent', sent_at = ?, last_error = NULL WHERE id = ?", clock.now(), id)
  event(id, "sent", "Marked as sent: the mail server had it", actor and actor.id)
  return get_row(id)
end

--- Every failed mail back to the queue (the server was down for long). Returns how many.
function M.retry_failed(actor)
  local now = clock.now()
  local ids = db.column("SELECT id FROM outbox WHERE status = 'failed' ORDER BY id")
  db.exec([[INSERT INTO outbox_events(outbox_id, at, status, detail, actor_id)
    SELECT id, ?, 'queued', 'Retry requested (all failed mail)', ? FROM outbox WHERE status = 'failed']],
    now, actor and actor.id)
  local n = db.exec("UPDATE outbox SET status = 'queued', attempts = 0, last_error = NULL WHERE status = 'failed'")
  if M.configured() then for _, id in ipairs(ids) do plan(id, now) end end
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
  local ids = db.column("SELECT id FROM outbox WHERE status = 'held' AND lower(to_email) = ? ORDER BY id", b.email)
  db.exec([[INSERT INTO outbox_events(outbox_id, at, status, detail, actor_id)
    SELECT id, ?, 'queued', 'The address was marked fixed', ? FROM outbox WHERE status = 'held' AND lower(to_email) = ?]],
    now, actor and actor.id, b.email)
  local released = db.exec([[UPDATE outbox SET status = 'queued', last_error = NULL
    WHERE status = 'held' AND lower(to_email) = ?]], b.email)
  audit.record{ action = "mail_bounce.fixed", actor = actor, req = req,
    target_type = "email", target_label = b.email, details = { released = released } }
  if M.configured() then for _, id in ipairs(ids) do plan(id, now) end end
  return { email = b.email, released = released }
end

--- Queues the test mail to `to` and sends it at once through its job, in this task (outside
--- any transaction); returns { id=, status=, detail=, response= }.
function M.send_test(actor, to)
  if not M.configured() then
    errors.conflict("Set up a mail server first: nothing can be sent without one.")
  end
  if type(to) ~= "string" or not mime.valid_email(util.trim(to)) then
    errors.invalid({ to = "Enter an email address." }, "Enter the address the test mail goes to.")
  end
  to = util.trim(to)
  local id = db.transaction(function()
    local rcpt = { email = to, name = (actor and actor.email:lower() == to:lower()) and actor.name or nil,
      id = (actor and actor.email:lower() == to:lower()) and actor.id or nil }
    local id = mail.queue{ template = "mail.test", to = rcpt,
      vars = { sender = actor and actor.name or "Candor", server = config().server } }
    plan(id, clock.now(), { outbox_id = id, test = true })
    return id
  end)
  jobs.run_now(key(id))
  local row = get_row(id)
  return { id = id, status = row.status, detail = row.last_error, response = row.smtp_response }
end

-- ---------------------------------------------------------------- start
function M.init(a)
  app = a
  define_settings()
  crypt.register{ table = "smtp_secrets", column = "value_enc", key = { "name" } }
  app.on_job(M.JOB, send_job, { retry = M.BACKOFF, attempts = M.MAX_ATTEMPTS, lane = "mail",
    on_fail = attempt_failed })
  events.hook("mail.queued", function(e)
    if M.configured() then plan(e.outbox_id, clock.now() + M.DELAY) end
  end)
  M.recover()
  if M.configured() then M.plan_waiting() end
end

return M
