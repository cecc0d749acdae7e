-- The automatic people import from a drop folder ("SFTP setup", users.sftp). Candor has no SFTP
-- server of its own: the company's SFTP server (or any file transfer) writes a CSV file into a
-- folder on the Candor machine; Candor looks there hourly or daily (at an hour of company time),
-- takes the newest file whose name matches the pattern and runs it through the people import
-- (services/import.lua: the same format, the same checks, the same functions and audit entries as
-- the manual import). People missing from the file can be deactivated.
--
-- A run, in order (each step that fails ends the run as "failed" with its reason, and nothing
-- after it happens):
--   1. the check (import.check, the dry run) with the rights of the feed's owner: the Tech Admin
--      who saved the settings last. A file that does not check out changes nothing.
--   2. who would be deactivated: employees (never guests) not deactivated whose email is not in
--      the file, never the owner nor the Tech Admin who asked for the run. A file with no people, or one that would deactivate more than
--      M.MAX_SHARE of the employees not deactivated, is refused: nothing changes.
--   3. the file moves to done/ (failed/ for a refused file) under the folder, its name prefixed
--      with the run's time, before anything is imported: a file is never read twice. Older
--      matching files are out of date: they move to skipped/ unread.
--   4. the import (import.start, then import.execute in this job, as `candor import` does).
--   5. the deactivations, each with people.set_status (users.deactivate, checked per person; the
--      last super user is never deactivated) — only when the import finished.
-- Each run has a row in feed_runs and an audit entry (sftp.run); a failed run mails every Tech
-- Admin. While the switch is on, the fields the file carries (name, email, job title,
-- department, location, hire date, manager) are kept by the feed: nobody else changes them
-- (people.lua asks through the event people.kept_fields).
local fs = require "core.fs"
local clock = require "core.clock"
local db = require "lib.db"
local pacing = require "lib.pacing"
local json = require "lib.json"
local util = require "lib.util"
local dates = require "lib.dates"
local errors = require "lib.errors"
local events = require "lib.events"
local access = require "services.access"
local audit = require "services.audit"
local people = require "services.people"
local import = require "services.import"
local settings = require "services.settings"
local mail = require "services.mail"
local accounts = require "services.accounts"

local M = {}

--- The permission of the feed's settings and runs.
M.PERMISSION = "users.sftp"
--- The job that looks in the folder.
M.JOB = "sftp.run"
--- The most of the employees (not deactivated) one file may deactivate.
M.MAX_SHARE = 0.2
--- The biggest file read (bytes).
M.MAX_BYTES = 64 * 1024 * 1024
--- Who the feed names when it keeps a field.
M.NAME = "the automatic SFTP import"
--- What a run cut off by a stop of Candor says (found at the next run).
M.CUT_OFF = "Candor stopped during this run. The file had moved already and is not read again; its import "
  .. "resumes by itself (see the import), but nobody was deactivated by this run."
--- The profile fields the file carries (the feed keeps them while it is on).
M.KEPT = { "name", "email", "job_title", "department", "location", "hire_date", "manager_id" }

local app
local NEXT_KEY = "sftp:next"

-- The settings, by the name the API uses.
M.SETTINGS = {
  { name = "enabled", key = "sftp.enabled" },
  { name = "folder", key = "sftp.folder" },
  { name = "pattern", key = "sftp.pattern" },
  { name = "frequency", key = "sftp.frequency" },
  { name = "hour", key = "sftp.hour" },
  { name = "deactivate_missing", key = "sftp.deactivate_missing" },
}

--- The settings as a table by name (plus owner_id).
function M.current()
  local out = {}
  for _, s in ipairs(M.SETTINGS) do out[s.name] = settings.get(s.key) end
  out.owner_id = settings.get("sftp.owner_id")
  if out.owner_id == 0 then out.owner_id = nil end
  return out
end

--- Whether automatic imports are on.
function M.enabled() return settings.get("sftp.enabled") == true end

-- ------------------------------------------------------------------ the folder

-- The words of a core.fs error ({ code, message }).
local function fs_why(err) return type(err) == "table" and tostring(err.message) or tostring(err) end

--- Why folder cannot be the drop folder (nil when it can): it must be an absolute path to an
--- existing folder this process may read, enter and write (the processed files move into it).
function M.folder_problem(folder)
  if type(folder) ~= "string" or folder == "" then return "Enter the folder's path." end
  if folder:sub(1, 1) ~= "/" then return "Enter the full path, starting with /." end
  if folder:find("%.%./") or folder:find("/%.%.$") or folder:find("%z") then
    return "Enter the path without \"..\" in it."
  end
  local st = fs.stat(folder)
  if not st then return "There is no folder " .. folder .. " on the Candor server." end
  if st.kind ~= "dir" then return folder .. " is not a folder." end
  -- files in the folder are moved away: never Candor's own (its key, its database, its code)
  local app_file = package.searchpath("app", package.path)
  for _, own in pairs({ data = app and app.data_dir, code = app_file and app_file:match("^(.*)/[^/]+$") }) do
    local o = fs.stat(own)
    if o and o.dev == st.dev and o.ino == st.ino then
      return folder .. " is one of Candor's own folders (its data or its code): choose a folder of its own for the files."
    end
  end
  if not fs.access(folder, "rx") then return "Candor may not read the folder " .. folder .. "." end
  if not fs.access(folder, "w") then
    return "Candor may not write into " .. folder .. " (processed files move into its done/ and failed/ folders)."
  end
  return nil
end

--- Whether name matches pattern ("*" any run of characters, "?" one character; no folders).
function M.matches(pattern, name)
  local lua = "^" .. pattern:gsub("[%^%$%(%)%%%.%[%]%+%-]", "%%%0"):gsub("%*", ".*"):gsub("%?", ".") .. "$"
  return name:find(lua) ~= nil
end

local function valid_pattern(v)
  if v == "" then return false, "must not be empty" end
  if v:find("/") then return false, "is a file name pattern, without folders" end
  if not v:find("^[%w%*%?%._%- ]+$") then return false, "may hold letters, digits, * ? . _ - and spaces only" end
  return true
end

--- Seconds the newest file must have stayed unchanged before a run reads it: a file the SFTP
--- server is still writing is left alone, and the folder is looked at again once it has settled.
M.SETTLE_S = 60

-- The newest file in folder whose name matches pattern (by time, then name): name, stat, and the
-- names of the other matching files; nil when there is none.
local function newest(folder, pattern)
  local names, err = fs.list(folder)
  if not names then errors.conflict("Candor cannot read the folder: " .. fs_why(err)) end
  local best, best_st, all = nil, nil, {}
  for _, name in ipairs(names) do
    if M.matches(pattern, name) then
      local st = fs.stat(folder .. "/" .. name)
      if st and st.kind == "file" then
        all[#all + 1] = name
        if not best or st.mtime > best_st.mtime or (st.mtime == best_st.mtime and name > best) then
          best, best_st = name, st
        end
      end
    end
  end
  local older = {}
  for _, name in ipairs(all) do if name ~= best then older[#older + 1] = name end end
  return best, best_st, older
end

-- Moves folder/name into folder/sub/ with the run's time in front; returns the new relative path.
local function move(folder, name, sub, at)
  local ok, err = fs.mkdir(folder .. "/" .. sub, 488) -- 0750
  if not ok then error(errors.new(409, "conflict", "Candor cannot create " .. sub .. "/: " .. fs_why(err)), 0) end
  local base = name:match("[^/]+$")
  local stamp = os.date("!%Y%m%dT%H%M%SZ", at)
  if base:find("^%d%d%d%d%d%d%d%dT%d%d%d%d%d%dZ%-") then stamp = nil end -- moved once already
  local target, n = sub .. "/" .. (stamp and (stamp .. "-") or "") .. base, 1
  while fs.stat(folder .. "/" .. target) do
    n = n + 1
    target = ("%s/%d-%s"):format(sub, n, (stamp and (stamp .. "-") or "") .. base)
  end
  ok, err = fs.rename(folder .. "/" .. name, folder .. "/" .. target)
  if not ok then error(errors.new(409, "conflict", "Candor cannot move the file: " .. fs_why(err)), 0) end
  return target
end

-- ------------------------------------------------------------------ schedule

--- When the next scheduled look is due (seconds), or nil while the switch is off.
function M.next_run_at(now)
  if not M.enabled() then return nil end
  now = now or clock.now()
  if settings.get("sftp.frequency") == "hourly" then return (now // 3600 + 1) * 3600 end
  local hour = settings.get("sftp.hour")
  local today = dates.date_of(now)
  local at = dates.local_to_utc(today, hour)
  if at <= now then at = dates.local_to_utc(dates.add_days(today, 1), hour) end
  return at
end

-- Plans (or cancels) the next scheduled look.
local function replan()
  local at = M.next_run_at()
  if at then app.schedule(at, M.JOB, { trigger = "schedule" }, NEXT_KEY) else app.cancel_jobs(NEXT_KEY) end
end

-- ------------------------------------------------------------------ settings

--- Saves the settings (input by name, missing ones stay) for actor (who becomes the feed's
--- owner): all or none, 422 naming each problem; the folder is checked when it is given or when
--- the switch goes on. Audited as sftp.settings with the changes. Returns the changes by name.
function M.save(actor, input, req)
  access.require(actor, M.PERMISSION)
  input = input or {}
  local problems, values = {}, {}
  for _, s in ipairs(M.SETTINGS) do
    local v = input[s.name]
    if v ~= nil then
      if type(v) == "string" and s.name ~= "folder" then v = util.trim(v) end
      if s.name == "folder" and type(v) == "string" then v = util.trim(v):gsub("(.)/+$", "%1") end
      local checked, msg = settings.check(s.key, v)
      if checked == nil then problems[s.name] = msg:gsub("^%l", string.upper) .. "." else values[s.name] = checked end
    end
  end
  local folder = values.folder or settings.get("sftp.folder")
  local enabled = values.enabled
  if enabled == nil then enabled = settings.get("sftp.enabled") end
  if not problems.folder and (values.folder ~= nil and values.folder ~= "" or enabled) then
    local why = M.folder_problem(folder)
    if why then problems.folder = why end
  end
  if next(problems) then errors.invalid(problems) end
  local changed
  db.transaction(function()
    changed = settings.set_named(M.SETTINGS, values, actor.id)
    local owner_changed = settings.get("sftp.owner_id") ~= actor.id
    if next(changed) or owner_changed then
      settings.set("sftp.owner_id", actor.id, actor.id)
      audit.record{ action = "sftp.settings", actor = actor, req = req, details = { changed = changed,
        owner_id = actor.id } }
    end
    replan()
  end)
  return changed
end

-- ------------------------------------------------------------------ runs

local function decode(r)
  if r then r.counts = json.decode(r.counts) or {} end
  return r
end

--- The latest runs, newest first (limit, default 20), with the owner's name.
function M.runs(limit)
  local rows = db.query([[SELECT r.*, u.name AS owner_name, i.status AS import_status FROM feed_runs r
    LEFT JOIN users u ON u.id = r.owner_id LEFT JOIN imports i ON i.id = r.import_id
    ORDER BY r.id DESC LIMIT ?]], limit or 20)
  for _, r in ipairs(rows) do decode(r) end
  return rows
end

--- One run, or nil.
function M.run(id)
  return decode(db.row("SELECT * FROM feed_runs WHERE id = ?", math.tointeger(tonumber(id)) or 0))
end

-- The employees the file would deactivate: not deactivated, not guests, email not in the file,
-- never those in `keep` (id -> true: the owner, whoever asked for the run). Returns the list of
-- { id, email } and the number of employees not deactivated.
local function missing(emails, keep)
  local out, base = {}, 0
  local after = 0
  repeat
    local page = db.query([[SELECT id, email FROM users WHERE kind = 'employee' AND status <> 'deactivated'
      AND id > ? ORDER BY id LIMIT 5000]], after)
    for _, u in ipairs(page) do
      base = base + 1
      after = u.id
      if not emails[u.email:lower()] and not keep[u.id] then out[#out + 1] = u end
    end
  until #page < 5000
  return out, base
end

-- The emails of the file (lower case); nil when it has no email column (the check says why).
local function file_emails(text)
  local csv = require "core.csv"
  local rows = csv.parse(text)
  if not rows or not rows[1] then return nil end
  local col
  for i, cell in ipairs(rows[1]) do
    local key = util.trim(cell):lower():gsub("[%s%-]+", "_")
    if key == "email" or key == "e_mail" then col = i end
  end
  if not col then return nil end
  local out = {}
  for i = 2, #rows do
    local e = rows[i][col] and util.trim(rows[i][col]):lower()
    if e and e ~= "" then out[e] = true end
  end
  return out
end

local function tell_tech_admins(run, reason)
  local admins = db.query([[SELECT DISTINCT u.* FROM users u JOIN user_roles r ON r.user_id = u.id
    WHERE u.status = 'active' AND r.role = 'tech_admin' ORDER BY u.id]])
  for _, u in ipairs(admins) do
    if access.can(u, M.PERMISSION) then
      mail.queue{ template = "sftp.failed", to = u, related_type = "feed_run", related_id = run.id,
        vars = { file = run.file, error = reason, link = accounts.base_url() .. "/admin/integrations/sftp" } }
    end
  end
end

local function finish(run, status, fields)
  local now = clock.now()
  fields = fields or {}
  fields.counts = fields.counts or {}
  if (run.skipped or 0) > 0 then fields.counts.skipped = run.skipped end
  db.transaction(function()
    db.exec([[UPDATE feed_runs SET status = ?, moved_to = coalesce(?, moved_to), rows = ?, import_id = ?,
      counts = ?, error = ?, finished_at = ? WHERE id = ?]], status, fields.moved_to, fields.rows or run.rows or 0,
      fields.import_id or run.import_id, json.encode(fields.counts), fields.error, now, run.id)
    local counts = fields.counts
    audit.record{ action = status == "done" and "sftp.run" or "sftp.run_failed", actor_label = "SFTP import",
      target_type = "feed_run", target_id = run.id, target_label = run.file,
      details = { file = run.file, moved_to = fields.moved_to, trigger = run.trigger, rows = fields.rows,
        import_id = fields.import_id, created = counts.created, updated = counts.updated,
        deactivated = counts.deactivated, skipped = counts.skipped, problems = counts.problems, error = fields.error } }
    if status == "failed" then tell_tech_admins(run, fields.error) end
  end)
  return M.run(run.id)
end

-- The feed's actor: its owner as they are now, marked as the feed (the fields it keeps are
-- its to change); nil and why when the owner may no longer run it.
function M.actor()
  local owner_id = settings.get("sftp.owner_id")
  local owner = owner_id ~= 0 and people.get(owner_id)
  if not owner or owner.status ~= "active" or not access.can(owner, M.PERMISSION)
      or not access.can(owner, "users.import") then
    return nil, "The Tech Admin who set up the automatic import may no longer run it: a Tech Admin saves its "
      .. "settings again to take it over."
  end
  local actor = util.copy(owner)
  actor.feed = true
  return actor
end

-- One run (in a task, outside a transaction): see the top of the file. Returns the run row, or
-- nil when there was no file.
local function run_once(trigger, started_by)
  local folder, pattern = settings.get("sftp.folder"), settings.get("sftp.pattern")
  local why = M.folder_problem(folder)
  if why then
    if trigger == "manual" then errors.conflict(why) end
    require("core.log").error("sftp import: " .. why)
    return nil
  end
  local now = clock.now()
  -- runs are one at a time (the job's lane): one still "running" was cut off when Candor stopped
  db.transaction(function()
    db.exec([[UPDATE feed_runs SET status = 'failed', finished_at = ?, error = ? WHERE status = 'running']], now,
      M.CUT_OFF)
  end)
  local name, st, older = newest(folder, pattern)
  if not name then return nil end
  -- a file changed in the last SETTLE_S seconds may still be arriving: a later look takes it
  local age = os.time() - st.mtime
  if age < M.SETTLE_S then
    require("core.log").info(("sftp import: %s changed %d s ago, looking again in %d s"):format(name,
      math.max(age, 0), M.SETTLE_S - age))
    db.transaction(function()
      app.schedule(now + (M.SETTLE_S - age), M.JOB, { trigger = trigger, started_by = started_by, settle = true },
        { coalesce = "sftp:settle" })
    end)
    return nil
  end
  -- older files are out of date once a newer one is there: they move to skipped/, never read
  local skipped = 0
  for _, o in ipairs(older) do if pcall(move, folder, o, "skipped", now) then skipped = skipped + 1 end end
  local owner_id = settings.get("sftp.owner_id")
  local run = db.transaction(function()
    local id = db.insert([[INSERT INTO feed_runs(trigger, started_by, owner_id, file, bytes, status, started_at)
      VALUES(?,?,?,?,?, 'running', ?)]], trigger, started_by, owner_id ~= 0 and owner_id or nil, name, st.size, now)
    return M.run(id)
  end)
  run.skipped = skipped
  local function refuse(reason, rows, counts)
    local ok, moved = pcall(move, folder, name, "failed", now)
    if not ok then reason = reason .. " The file stays where it is: " .. (errors.is(moved) and moved.message or tostring(moved)) end
    return finish(run, "failed", { error = reason, rows = rows, counts = counts, moved_to = ok and moved or nil })
  end
  local actor, no_actor = M.actor()
  if not actor then return refuse(no_actor) end
  if st.size > M.MAX_BYTES then
    return refuse(("The file is bigger than %d MiB."):format(M.MAX_BYTES // (1024 * 1024)))
  end
  local text, rerr = fs.read(folder .. "/" .. name)
  if not text then return refuse("Candor cannot read the file: " .. fs_why(rerr)) end
  -- 1. the check
  local report = import.check(actor, text)
  if not report.ok then
    local first = report.problems[1]
    return refuse(("The file has %d problem%s; nothing was imported. The first: %s%s"):format(report.problems_total,
      report.problems_total == 1 and "" or "s", first and first.line and ("line " .. first.line .. ": ") or "",
      first and first.message or ""), report.rows, { problems = report.problems_total })
  end
  if report.rows == 0 then return refuse("The file has no people in it; nothing was imported or deactivated.", 0) end
  -- 2. who would be deactivated, and the safety share
  local gone = {}
  if settings.get("sftp.deactivate_missing") then
    local emails = file_emails(text)
    if not emails then return refuse("Candor cannot read the emails of the file; nothing changed.", report.rows) end
    local base
    gone, base = missing(emails, { [actor.id] = true, [started_by or 0] = true })
    if #gone > 0 and #gone > base * M.MAX_SHARE then
      return refuse(("The file would deactivate %d of %d employees (more than %d%%): that looks like an incomplete "
        .. "file, so nothing was imported or deactivated. Check the file; to deactivate that many people, do it "
        .. "on their pages or turn off \"Deactivate people missing from the file\" for one run."):format(#gone, base,
        math.floor(M.MAX_SHARE * 100 + 0.5)), report.rows, { would_deactivate = #gone })
    end
  end
  if import.running() then
    return finish(run, "failed", { rows = report.rows, error = "Another import was running; the file stays in the "
      .. "folder for the next run." })
  end
  -- 3. the file leaves the folder before anything is imported
  local ok, moved = pcall(move, folder, name, "done", now)
  if not ok then
    return finish(run, "failed", { rows = report.rows, error = (errors.is(moved) and moved.message or tostring(moved))
      .. " Nothing was imported." })
  end
  -- 4. the import, run here (the job planned with it resumes it if Candor stops meanwhile)
  local started, report2, import_id = pcall(import.start, actor, text, { via = "sftp", job_delay = import.LEASE })
  if not started or not import_id then
    local reason = not started and (errors.is(report2) and report2.message or tostring(report2))
      or "The file no longer checked out."
    local back, to = pcall(move, folder, moved, "failed", now)
    return finish(run, "failed", { rows = report.rows, error = reason .. " Nothing was imported.",
      moved_to = back and to or moved })
  end
  db.transaction(function() db.exec("UPDATE feed_runs SET import_id = ? WHERE id = ?", import_id, run.id) end)
  run.import_id = import_id
  local imp = import.execute(import_id)
  app.cancel_jobs("import:" .. import_id)
  local c = imp.report.counts or {}
  local counts = { created = c.created or 0, updated = c.profiles_updated or 0, managers_set = c.managers_set or 0,
    deactivated = 0, problems = imp.report.problems_total or 0 }
  if imp.status ~= "done" then
    return finish(run, "failed", { rows = report.rows, import_id = import_id, counts = counts, moved_to = moved,
      error = "The import stopped: " .. tostring(imp.error) .. " Nobody was deactivated." })
  end
  -- 5. the deactivations, each with the check of the one-by-one action
  local problems = {}
  local over = pacing.slice(import.SLICE_MS)
  for _, u in ipairs(gone) do
    if over() then -- each is its own transaction: the loop serves others between a few of them
      pacing.pause()
      over = pacing.slice(import.SLICE_MS)
    end
    local done, e = pcall(people.set_status, actor, u.id, "deactivate")
    if done then
      counts.deactivated = counts.deactivated + 1
    elseif errors.is(e) and e.status < 500 then
      counts.problems = counts.problems + 1
      if #problems < 20 then problems[#problems + 1] = u.email .. ": " .. e.message end
    else
      error(e, 0)
    end
  end
  return finish(run, "done", { rows = report.rows, import_id = import_id, counts = counts, moved_to = moved,
    error = #problems > 0 and ("Not deactivated: " .. table.concat(problems, " ")) or nil })
end

--- Looks in the folder now for actor (users.sftp), whether automatic imports are on or not: plans
--- the run at once (it runs in the background). 409 when the folder is not set up.
function M.run_now(actor, req)
  access.require(actor, M.PERMISSION)
  local why = M.folder_problem(settings.get("sftp.folder"))
  if why then errors.conflict("Set up the folder first: " .. why) end
  db.transaction(function()
    app.schedule(clock.now(), M.JOB, { trigger = "manual", started_by = actor.id }, { coalesce = "sftp:now" })
    audit.record{ action = "sftp.run_requested", actor = actor, req = req }
  end)
end

--- Runs a look at the folder here (the job's work; tests call it too). Returns the run or nil.
function M.run_here(trigger, started_by)
  return run_once(trigger or "manual", started_by)
end

function M.init(a)
  app = a
  settings.define("sftp.enabled", { type = "boolean", default = false, label = "Run automatic imports",
    description = "Whether Candor imports people from the drop folder on a schedule; while on, the profile fields "
      .. "the file carries are read-only elsewhere." })
  settings.define("sftp.folder", { type = "string", default = "", len_max = 1000, one_line = true, label = "Folder",
    description = "The folder on the Candor server the company's SFTP server writes the people file into." })
  settings.define("sftp.pattern", { type = "string", default = "*.csv", len_max = 100, one_line = true,
    label = "File name pattern", custom_validator = valid_pattern,
    description = "Which files of the folder are people files (* any characters, ? one); the newest is read." })
  settings.define("sftp.frequency", { type = "string", default = "daily", one_of = { "hourly", "daily" },
    label = "How often", description = "hourly (at the full hour) or daily (at sftp.hour, company time)." })
  settings.define("sftp.hour", { type = "integer", default = 2, between = { 0, 23 }, label = "Hour",
    description = "The hour (0-23, company time) of the daily look at the folder." })
  settings.define("sftp.deactivate_missing", { type = "boolean", default = true,
    label = "Deactivate people missing from the file",
    description = "Whether employees not in the file are deactivated after the import (never guests)." })
  settings.define("sftp.owner_id", { type = "integer", default = 0, between = { 0 }, label = "Owner",
    description = "The Tech Admin who saved the SFTP settings last: runs use their rights (0: nobody yet)." })
  app.on_job(M.JOB, function(payload)
    local ok, err = pcall(run_once, payload.trigger or "schedule", payload.started_by)
    if payload.trigger ~= "manual" and not payload.settle then replan() end
    if not ok then error(err, 0) end
  end, { lane = "sftp" })
  mail.define_template("sftp.failed", {
    description = "Sent to the Tech Admins when a run of the automatic SFTP import failed.",
    subject = "The automatic people import failed",
    text = "Hello {{first_name}},\n\nCandor could not import the people file {{file}} from the SFTP folder:\n\n"
      .. "{{error}}\n\nThe file was moved to the folder's failed/ folder. Details and past runs:\n{{link}}",
    vars = { file = "the file's name", error = "why the run failed", link = "the SFTP setup page" },
    example = { file = "people-2026-12-05.csv", error = "The file would deactivate 40 of 120 employees.",
      link = "https://candor.example.com/admin/integrations/sftp" },
  })
  -- while the switch is on, the feed keeps the fields its file carries
  events.hook("people.kept_fields", function(e)
    if M.enabled() and not (e.actor and e.actor.feed) then
      for _, f in ipairs(M.KEPT) do e.fields[f] = M.NAME end
    end
  end)
  events.hook("company_time.changed", function() replan() end)
end

return M
