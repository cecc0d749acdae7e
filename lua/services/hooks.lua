-- Integration hooks: short Lua scripts of Tech Admins bound to event names ("when a review is
-- signed, tell the HR system"). docs/hooks.md is the author's guide.
--
-- When an event fires, every enabled hook bound to it gets a run — recorded inside the change's
-- transaction (a row of hook_runs, and the hook's job in the one queue), so a run exists exactly
-- when the change committed — with the event's data as the hook's owner (the Tech Admin who saved
-- it) sees it (services/event_feed.lua). The hook's job ("hook.run", one per hook: coalescing key
-- and lane hook:<id>) runs its pending runs after commit, oldest first; a run that fails is
-- retried with backoff before the next one goes (in order per hook), then given up. At least
-- once: a run interrupted by a crash runs again after the restart. Ten failed attempts in a row
-- disable the hook, and the Tech Admins get a mail. The script itself runs in the sandbox
-- (services/hook_runner.lua).
local db = require "lib.db"
local json = require "lib.json"
local util = require "lib.util"
local errors = require "lib.errors"
local events = require "lib.events"
local crypt = require "lib.crypt"
local schema = require "lib.schema"
local clock = require "core.clock"
local log = require "core.log"
local audit = require "services.audit"
local access = require "services.access"
local mail = require "services.mail"
local accounts = require "services.accounts"
local event_feed = require "services.event_feed"
local runner = require "services.hook_runner"

local M = {}

M.JOB = "hook.run"
M.RETRY = { 10, 30, 60, 300, 900 } -- seconds after the 1st, 2nd, ... failed attempt of a run
M.ATTEMPTS = 5                      -- attempts of one run; then it is failed and the next one goes
M.DISABLE_AFTER = 10                -- failed attempts in a row (whatever the run): the hook is disabled
M.MAX_HOOKS = 50
M.MAX_SOURCE = 20000                -- characters of a script
M.MAX_HOSTS = 20
M.MAX_SECRETS = 20
M.STATUSES = { "pending", "ok", "failed", "skipped" }
M.PER_PAGE = 50
M.TEST_MODES = { "dry", "url" }

local app -- set by init

-- ---------------------------------------------------------------- input
local function valid_hosts(list)
  for _, h in ipairs(list) do
    if not (h:match("^%*?%.?[%w][%w%-%.]*$") and not h:find("..", 1, true)) or (h:find("*", 1, true) and not h:match("^%*%.")) then
      return nil, "{field}: " .. h .. " is not a host name (like api.example.com, or *.example.com for its subdomains)"
    end
    local why = event_feed.address_problem(h) -- an address written out: refused now, not only when called
    if why then return nil, "{field}: " .. why end
  end
  return true
end

M.SCHEMA = schema.record{ strict = false, fields = {
  { name = schema.text{ max = 100, label = "The name", description = "What the hook does, for people." } },
  { events = { type = "array", label = "The events", len_min = 1, len_max = 100, unique = true,
    elements = { type = "string", trim = true, len_max = 100 }, custom_validator = event_feed.valid_events,
    description = "Event names (review.signed), whole areas (person.*) or every event (*)." } },
  { allow_hosts = { type = "array", label = "The hosts", len_max = M.MAX_HOSTS, unique = true,
    elements = { type = "string", trim = true, len_max = 253, lower = true }, custom_validator = valid_hosts,
    description = "The hosts http.request may call: api.example.com, or *.example.com for its subdomains." } },
  { source = { type = "string", label = "The script", len_max = M.MAX_SOURCE,
    description = "Lua that returns a function(event) (docs/hooks.md)." } },
  { note = schema.text{ max = 200, label = "The note", description = "What changed, for the version history." } },
  { enabled = { type = "boolean", label = "Enabled", description = "Whether events run it." } },
} }

local function normalise(input)
  local out = {}
  for k, v in pairs(input or {}) do out[k] = v end
  out.events, out.allow_hosts = event_feed.words(out.events), event_feed.words(out.allow_hosts)
  if out.enabled == "on" or out.enabled == "true" then out.enabled = true end
  if out.enabled == "off" or out.enabled == "false" then out.enabled = false end
  if type(out.source) == "string" then out.source = out.source:gsub("\r\n", "\n") end
  return out
end

-- Checked input (fields required when creating); the script is compiled in the sandbox. 422.
local function checked(input, creating)
  local r, fields = event_feed.read_input(M.SCHEMA, normalise(input), creating and {
    name = "The name is required.", events = "Name at least one event.", source = "The script is required." })
  if r.source ~= nil and not fields.source then
    local ok, problem = runner.check(r.source)
    if not ok then fields.source = problem end
  end
  if next(fields) then errors.invalid(fields, "The hook was not saved: some fields need attention.") end
  return r
end

--- Checks a script without saving it: { valid = true } or { valid = false, problem = "..." }.
function M.check(source)
  local ok, problem = runner.check(source)
  return { valid = ok == true, problem = problem }
end

-- ---------------------------------------------------------------- the store
local subs = event_feed.subscribers("hooks")
local changed = subs.changed

local COLS = [[h.id, h.name, h.events, h.allow_hosts, h.source, h.version, h.enabled, h.disabled_reason, h.failures,
  h.owner_id, h.created_at, h.updated_at, u.name AS owner_name]]

local function shape(h)
  h.events = json.decode(h.events) or {}
  h.allow_hosts = json.decode(h.allow_hosts) or {}
  h.enabled = h.enabled == 1
  return h
end

local function row(id)
  local h = db.row("SELECT " .. COLS .. " FROM hooks h LEFT JOIN users u ON u.id = h.owner_id WHERE h.id = ?",
    math.tointeger(tonumber(id)) or 0)
  if not h then errors.not_found("There is no such hook.") end
  return shape(h)
end

--- One hook with its current script (never a secret's value), or 404.
function M.get(id) return row(id) end

--- Every hook with its runs counted by status (two queries).
function M.list()
  local list = db.query("SELECT " .. COLS .. " FROM hooks h LEFT JOIN users u ON u.id = h.owner_id ORDER BY h.name COLLATE FOLD, h.id")
  local by_id = {}
  for _, h in ipairs(list) do
    shape(h)
    h.counts = { pending = 0, ok = 0, failed = 0, skipped = 0 }
    by_id[h.id] = h
  end
  for _, c in ipairs(db.query("SELECT hook_id, status, count(*) AS n FROM hook_runs GROUP BY hook_id, status")) do
    local h = by_id[c.hook_id]
    if h then h.counts[c.status] = c.n end
  end
  return list
end

local function key(id) return "hook:" .. id end

-- Plans the hook's job now (one job per hook: a later plan keeps the earlier time).
local function wake(id)
  app.schedule(clock.now(), M.JOB, { hook_id = id }, { coalesce = key(id) })
end

local function add_version(id, version, source, note, actor)
  db.exec([[INSERT INTO hook_versions(hook_id, version, source, note, saved_by, saved_at) VALUES(?,?,?,?,?,?)]],
    id, version, source, note, actor and actor.id, clock.now())
end

--- Creates a hook owned by actor: { name, events, allow_hosts, source, note, enabled }.
function M.create(actor, input, req)
  local r = checked(input, true)
  if db.value("SELECT count(*) FROM hooks") >= M.MAX_HOOKS then
    errors.conflict(("There are %d hooks already: remove one first."):format(M.MAX_HOOKS))
  end
  local now = clock.now()
  local id = db.insert([[INSERT INTO hooks(name, events, allow_hosts, source, version, enabled, owner_id, created_at,
    updated_at) VALUES(?,?,?,?,1,?,?,?,?)]], r.name, json.encode(r.events), json.encode(json.array(r.allow_hosts or {})),
    r.source, r.enabled == false and 0 or 1, actor.id, now, now)
  add_version(id, 1, r.source, r.note, actor)
  changed()
  audit.record{ action = "hook.created", actor = actor, req = req, target_type = "hook", target_id = id,
    target_label = r.name, details = { events = r.events, hosts = r.allow_hosts or {} } }
  return row(id)
end

--- Changes any of name, events, allow_hosts, source (a new version, with note), enabled; actor
--- becomes its owner. Enabling it starts again from no failures and runs what waited.
function M.update(actor, id, input, req)
  local h = row(id)
  local r = checked(input, false)
  local version = h.version
  if r.source ~= nil and r.source ~= h.source then
    version = h.version + 1
    add_version(h.id, version, r.source, r.note, actor)
  end
  local enabled = r.enabled
  if enabled == nil then enabled = h.enabled end
  local reviving = enabled and not h.enabled
  db.exec([[UPDATE hooks SET name = ?, events = ?, allow_hosts = ?, source = ?, version = ?, enabled = ?, owner_id = ?,
      updated_at = ?, failures = CASE WHEN ? THEN 0 ELSE failures END,
      disabled_reason = CASE WHEN ? THEN NULL ELSE disabled_reason END WHERE id = ?]],
    r.name or h.name, json.encode(r.events or h.events), json.encode(json.array(r.allow_hosts or h.allow_hosts)),
    r.source or h.source, version, enabled and 1 or 0, actor.id, clock.now(), reviving, reviving, h.id)
  changed()
  if reviving and db.value("SELECT 1 FROM hook_runs WHERE hook_id = ? AND status = 'pending' LIMIT 1", h.id) then
    wake(h.id)
  end
  local what = {}
  for _, f in ipairs({ "name", "events", "allow_hosts", "source", "enabled" }) do
    if r[f] ~= nil then what[#what + 1] = f end
  end
  audit.record{ action = "hook.updated", actor = actor, req = req, target_type = "hook", target_id = h.id,
    target_label = r.name or h.name, details = { changed = what, version = version } }
  return row(h.id)
end

--- Removes a hook with its versions, secrets and runs.
function M.delete(actor, id, req)
  local h = row(id)
  db.exec("DELETE FROM hooks WHERE id = ?", h.id)
  app.cancel_jobs(key(h.id))
  changed()
  audit.record{ action = "hook.deleted", actor = actor, req = req, target_type = "hook", target_id = h.id,
    target_label = h.name }
end

--- The versions of hook id, newest first (without their text).
function M.versions(id)
  local h = row(id)
  return db.query([[SELECT v.version, v.note, v.saved_at, u.name AS saved_by_name FROM hook_versions v
    LEFT JOIN users u ON u.id = v.saved_by WHERE v.hook_id = ? ORDER BY v.version DESC]], h.id)
end

--- One version of hook id with its text, or 404.
function M.version(id, version)
  local h = row(id)
  local v = db.row([[SELECT v.version, v.source, v.note, v.saved_at, u.name AS saved_by_name FROM hook_versions v
    LEFT JOIN users u ON u.id = v.saved_by WHERE v.hook_id = ? AND v.version = ?]], h.id, math.tointeger(tonumber(version)) or 0)
  if not v then errors.not_found("There is no such version of this hook.") end
  return v
end

-- ---------------------------------------------------------------- secrets
local SECRET_NAME = "^[%a_][%w_]*$"

--- The names of hook id's secrets with when they were saved (never their values).
function M.secret_names(id)
  local h = row(id)
  return db.query([[SELECT s.name, s.updated_at, u.name AS updated_by_name FROM hook_secrets s
    LEFT JOIN users u ON u.id = s.updated_by WHERE s.hook_id = ? ORDER BY s.name]], h.id)
end

--- Saves a secret of hook id: name (letters, digits, _), value (sealed; never shown again).
function M.set_secret(actor, id, name, value, req)
  local h = row(id)
  local fields = {}
  if type(name) ~= "string" or not name:match(SECRET_NAME) or #name > 64 then
    fields.name = "A name is letters, digits and _ (like hr_token), at most 64."
  end
  if type(value) ~= "string" or value == "" then fields.value = "The value is required."
  elseif #value > 4096 then fields.value = "A value is at most 4,096 bytes." end
  if next(fields) then errors.invalid(fields, "The secret was not saved.") end
  local exists = db.value("SELECT 1 FROM hook_secrets WHERE hook_id = ? AND name = ?", h.id, name)
  if not exists and db.value("SELECT count(*) FROM hook_secrets WHERE hook_id = ?", h.id) >= M.MAX_SECRETS then
    errors.conflict(("A hook has at most %d secrets."):format(M.MAX_SECRETS))
  end
  db.exec([[INSERT INTO hook_secrets(hook_id, name, value_enc, updated_at, updated_by) VALUES(?,?,?,?,?)
    ON CONFLICT(hook_id, name) DO UPDATE SET value_enc = excluded.value_enc, updated_at = excluded.updated_at,
    updated_by = excluded.updated_by]], h.id, name, crypt.seal("hook_secrets", "value_enc", { h.id, name }, value),
    clock.now(), actor.id)
  audit.record{ action = "hook.secret_saved", actor = actor, req = req, target_type = "hook", target_id = h.id,
    target_label = h.name, details = { secret = name } }
end

--- Removes a secret of hook id. 404 when there is none of that name.
function M.delete_secret(actor, id, name, req)
  local h = row(id)
  if db.exec("DELETE FROM hook_secrets WHERE hook_id = ? AND name = ?", h.id, tostring(name)) == 0 then
    errors.not_found("This hook has no secret of that name.")
  end
  audit.record{ action = "hook.secret_deleted", actor = actor, req = req, target_type = "hook", target_id = h.id,
    target_label = h.name, details = { secret = name } }
end

local function secret_of(hook_id)
  return function(name)
    local enc = db.value("SELECT value_enc FROM hook_secrets WHERE hook_id = ? AND name = ?", hook_id, name)
    return enc and crypt.open("hook_secrets", "value_enc", { hook_id, name }, enc)
  end
end

-- ---------------------------------------------------------------- people, as the owner sees them
local PERSON_COLS = "id, name, email, job_title, department, location, manager_id, status, kind"

local function people_of(owner)
  local may = owner and access.can(owner, "directory.view")
  return function(id)
    if not may then return nil end
    return db.row("SELECT " .. PERSON_COLS .. " FROM users WHERE id = ?", math.tointeger(tonumber(id)) or 0)
  end, function(q)
    if not may then return nil end
    return db.row("SELECT " .. PERSON_COLS .. " FROM users WHERE email = lower(?)", q.email)
  end
end

-- ---------------------------------------------------------------- runs
-- Replaces every occurrence of the secret values a run asked for by [secret] in a text.
local function masker(values)
  return function(s)
    if type(s) ~= "string" then return s end
    for _, v in ipairs(values) do
      if #v >= 4 then
        local out, pos = {}, 1
        while true do
          local a, b = s:find(v, pos, true)
          if not a then break end
          out[#out + 1] = s:sub(pos, a - 1)
          out[#out + 1] = "[secret]"
          pos = b + 1
        end
        out[#out + 1] = s:sub(pos)
        s = table.concat(out)
      end
    end
    return s
  end
end

local function owner_row(h) return h.owner_id and db.row("SELECT * FROM users WHERE id = ?", h.owner_id) end

-- Runs hook h's script once for event { name =, data = } in mode ("live", "dry", "url" with url),
-- as owner sees the company. Returns the outcome with everything secret masked:
-- { ok, error, code, logs, calls, http_status, duration_ms }.
local function execute(h, owner, event, mode, url, source, still)
  local get, find = people_of(owner)
  local rules = event_feed.address_rules()
  local fns, record = runner.host_calls{ allow = h.allow_hosts, secret = secret_of(h.id), person = get, find = find,
    deny_local = rules.deny_local, deny_private = rules.deny_private, mode = mode, url = url }
  local t0 = clock.mono_ms()
  local res = runner.run(source or h.source, "hook", event, fns, still)
  if res.skipped then return { skipped = true } end
  local mask = masker(record.secrets)
  local calls, http_status = {}, nil
  for i, c in ipairs(record.calls) do
    local headers = {}
    for k, v in pairs(c.headers or {}) do headers[k] = mask(v) end
    calls[i] = { method = c.method, url = mask(c.url), status = c.status, error = mask(c.error), ms = c.ms,
      dry = c.dry, headers = headers, body = mask(c.body) }
    http_status = c.status or http_status
  end
  local logs = {}
  for i, l in ipairs(res.logs or {}) do logs[i] = mask(l) end
  return { ok = res.ok == true, error = mask(res.error), code = res.code, logs = logs, calls = calls,
    http_status = http_status, duration_ms = clock.mono_ms() - t0 }
end

local function event_of(run)
  local data = type(run.data) == "table" and run.data or json.decode(run.data)
  return { name = run.event, data = data or {}, run_id = run.id,
    at = util.format_time(run.created_at) }
end

-- One attempt of run in hook h: runs it and writes what happened. Returns the outcome.
local function attempt(h, owner, run)
  local started = clock.now()
  local out = execute(h, owner, event_of(run), "live", nil, nil, function()
    return db.value("SELECT enabled FROM hooks WHERE id = ?", h.id) == 1 -- disabled while it waited its turn
  end)
  if out.skipped then return out end
  local stored_calls = {}
  for i, c in ipairs(out.calls) do
    stored_calls[i] = { method = c.method, url = c.url, status = c.status, error = c.error, ms = c.ms }
  end
  db.transaction(function()
    db.exec([[UPDATE hook_runs SET status = ?, attempts = attempts + 1, version = ?, started_at = ?, finished_at = ?,
        duration_ms = ?, http_status = ?, error = ?, log = ?, calls = ? WHERE id = ?]],
      out.ok and "ok" or "pending", h.version, started, clock.now(), out.duration_ms, out.http_status,
      out.error and util.truncate_bytes(out.error, 1000), json.encode(json.array(out.logs)),
      json.encode(json.array(stored_calls)), run.id)
    if out.ok then db.exec("UPDATE hooks SET failures = 0 WHERE id = ?", h.id) end
  end)
  return out
end

-- The job of a hook: its pending runs, oldest first. A failure stops here (the queue retries it).
local function run_job(payload)
  local h = db.row("SELECT * FROM hooks WHERE id = ?", payload.hook_id)
  if not h or h.enabled ~= 1 then return end -- waits until it is enabled again (or is gone)
  shape(h)
  local owner = owner_row(h)
  local problem = event_feed.owner_problem(owner)
  if problem then
    db.exec("UPDATE hook_runs SET status = 'skipped', error = ? WHERE hook_id = ? AND status = 'pending'",
      "Not run: " .. problem, h.id)
    return
  end
  while true do
    local run = db.row([[SELECT r.* FROM hook_runs r JOIN hooks h ON h.id = r.hook_id AND h.enabled = 1
      WHERE r.hook_id = ? AND r.status = 'pending' ORDER BY r.id LIMIT 1]], h.id)
    if not run then return end -- none left, or the hook was disabled meanwhile
    local out = attempt(h, owner, run)
    if out.skipped then return end -- the hook was disabled: the run waits for it
    if not out.ok then error({ code = "hook_failed", message = out.error or "failed", run_id = run.id }, 0) end
  end
end

-- The mail to every Tech Admin when a hook is disabled.
local function tell_tech_admins(h, reason)
  local people = db.query([[SELECT DISTINCT u.* FROM users u JOIN user_roles r ON r.user_id = u.id
    WHERE u.status = 'active' ORDER BY u.id]])
  for _, u in ipairs(people) do
    if access.can(u, event_feed.PERMISSION) then
      mail.queue{ template = "hook.disabled", to = u, related_type = "hook", related_id = h.id,
        vars = { hook = h.name, failures = tostring(M.DISABLE_AFTER), error = reason,
          link = accounts.base_url() .. "/admin/hooks/" .. h.id } }
    end
  end
end

-- Every failed attempt of a hook's job, in the transaction that plans the next or gives up: the
-- run gives up after its attempts; the hook is disabled after DISABLE_AFTER failures in a row.
local function attempt_failed(payload, _, err, retry_at)
  local h = db.row("SELECT * FROM hooks WHERE id = ?", payload.hook_id)
  if not h then return end
  local run_id = type(err) == "table" and err.run_id
  local message = type(err) == "table" and tostring(err.message) or tostring(err):match("^[^\n]*")
  if not run_id then -- the job broke before a run: blame the oldest pending run
    run_id = db.value("SELECT id FROM hook_runs WHERE hook_id = ? AND status = 'pending' ORDER BY id LIMIT 1", h.id)
    if run_id then
      db.exec("UPDATE hook_runs SET attempts = attempts + 1, error = ? WHERE id = ?", util.truncate_bytes(message, 1000), run_id)
    end
  end
  if run_id and not retry_at then
    db.exec("UPDATE hook_runs SET status = 'failed' WHERE id = ? AND status = 'pending'", run_id)
    -- the next runs go on (the job, claimed now, runs again after this one)
    if db.value("SELECT 1 FROM hook_runs WHERE hook_id = ? AND status = 'pending' LIMIT 1", h.id) then wake(h.id) end
  end
  local failures = h.failures + 1
  db.exec("UPDATE hooks SET failures = ? WHERE id = ?", failures, h.id)
  if failures >= M.DISABLE_AFTER and h.enabled == 1 then
    local reason = ("%d failed runs in a row; the last: %s"):format(failures, util.truncate(message, 300))
    db.exec("UPDATE hooks SET enabled = 0, disabled_reason = ? WHERE id = ?", reason, h.id)
    changed()
    audit.record{ action = "hook.disabled", target_type = "hook", target_id = h.id, target_label = h.name,
      details = { failures = failures } }
    tell_tech_admins(h, util.truncate(message, 300))
    log.warn(("hook %d (%s) was disabled after %d failures in a row"):format(h.id, h.name, failures))
  end
end

-- The "*" handler, inside the firing change's transaction: a run for each enabled hook bound to
-- name whose owner may see it.
local function record(data, name)
  event_feed.record(subs, name, data, function(h, view)
    db.exec("INSERT INTO hook_runs(hook_id, event, data, status, created_at) VALUES(?, ?, ?, 'pending', ?)",
      h.id, name, json.encode(view), clock.now())
    wake(h.id)
  end, "hooks")
end

local function run_row(hook_id, run_id)
  local r = db.row("SELECT * FROM hook_runs WHERE id = ? AND hook_id = ?", math.tointeger(tonumber(run_id)) or 0,
    math.tointeger(tonumber(hook_id)) or 0)
  if not r then errors.not_found("There is no such run of this hook.") end
  r.log = json.decode(r.log or "[]") or {}
  r.calls = json.decode(r.calls or "[]") or {}
  r.data = json.decode(r.data) or {}
  return r
end

--- One run of hook id (404 when it is another hook's), with its data, log and calls.
function M.run(hook_id, run_id)
  row(hook_id)
  return run_row(hook_id, run_id)
end

--- The runs of hook id, newest first: { runs, total, page, pages }; f: status, page.
function M.runs(id, f)
  local h = row(id)
  f = f or {}
  local from, args = "hook_runs WHERE hook_id = ?", { h.id }
  if f.status then from = from .. " AND status = ?"; args[#args + 1] = f.status end
  local res = db.page([[SELECT id, event, status, attempts, version, created_at, started_at, finished_at, duration_ms,
      http_status, error]], from, args, "id DESC", f.page, M.PER_PAGE)
  return { runs = res.rows, total = res.total, page = res.page, pages = res.pages }
end

--- Tries hook id (or, with input.source, a text not saved yet) on an event, as actor sees the
--- company, without recording anything: input = { event = name, data = { ... } } or
--- { run_id = a recorded run of this hook }, and mode "dry" (HTTP requests are not sent: each
--- answers 200 with an empty body; the result lists them) or "url" (every request goes to
--- input.url instead of its own address). Returns the outcome (execute) with the event used.
function M.test(actor, id, input)
  local h = row(id)
  input = input or {}
  local mode = input.mode or "dry"
  local fields = {}
  if mode ~= "dry" and mode ~= "url" then fields.mode = "The mode is dry or url." end
  if mode == "url" and (type(input.url) ~= "string" or not input.url:match("^https?://[^/?#@%s]+")) then
    fields.url = "Give the http(s) URL the requests go to instead."
  end
  local event
  if input.run_id and input.run_id ~= "" then
    local r = run_row(h.id, input.run_id)
    event = event_of(r)
  else
    if not event_feed.offered(input.event) then fields.event = "Pick an event integrations receive." end
    local data = input.data
    if type(data) == "string" then
      data = data:find("%S") and json.decode(data) or {}
      if type(data) ~= "table" then fields.data = "The data is a JSON object, like {\"person_id\": 5}." end
    end
    event = { name = input.event, data = event_feed.facts(type(data) == "table" and data or {}), run_id = 0,
      at = util.format_time(clock.now()) }
  end
  local source = input.source
  if source ~= nil and source ~= "" then
    local ok, problem = runner.check(source)
    if not ok then fields.source = problem end
  else
    source = nil
  end
  if next(fields) then errors.invalid(fields, "The test did not run: some fields need attention.") end
  local out = execute(h, actor, event, mode, input.url, source)
  out.event = event
  out.mode = mode
  return out
end

-- ---------------------------------------------------------------- start
function M.init(a)
  app = a
  subs = event_feed.subscribers("hooks")
  changed = subs.changed
  crypt.register{ table = "hook_secrets", column = "value_enc", key = { "hook_id", "name" } }
  app.on_job(M.JOB, run_job, { retry = M.RETRY, attempts = M.ATTEMPTS,
    lane = function(p) return "hook:" .. tostring(p.hook_id) end, on_fail = attempt_failed })
  mail.define_template("hook.disabled", {
    description = "Sent to the Tech Admins when a hook failed too often in a row and was disabled.",
    subject = "Candor disabled the hook {{hook}}",
    text = "Hello {{first_name}},\n\nThe integration hook \"{{hook}}\" failed {{failures}} times in a row, so Candor "
      .. "disabled it. Events are not recorded for it until someone enables it again; the runs that waited run "
      .. "then.\n\nThe last error: {{error}}\n\n{{link}}",
    vars = { hook = "the hook's name", failures = "how many failures in a row", error = "the last error",
      link = "the hook's page" },
    example = { hook = "Tell the HR system", failures = "10", error = "http.request: cannot connect",
      link = "https://candor.example.com/admin/hooks/3" },
  })
  events.hook("*", record)
end

return M
