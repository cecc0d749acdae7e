-- The user import: a CSV file of people becomes new people and changes to existing ones,
-- matched by email (core.csv parses it; columns are found by their header name).
--
--   email, name, job_title, department, location, hire_date (YYYY-MM-DD), manager_email,
--   roles ("HR Admin; Tech Admin"; the old single "Admin" role is mapped as the product
--   documents), kind (employee | guest)
--
-- Only email is required as a column; name is required for people who are new. An empty cell
-- leaves an existing person's value as it is (the import never clears a field, never revokes
-- a role and never changes a status).
--
-- Every row is checked before anything changes, with the permissions of the one-by-one
-- endpoints for every column (a profile edit needs users.edit, a reporting line
-- people.require_manager_choice: a Tech Admin places the people the import creates but never
-- moves an existing person, roles only as far as the importer may grant them — the rest are
-- notes). The check (the dry run) stops there; a file with any problem changes nothing. A
-- confirmed import gets a record (the `imports` table: who, how, status, progress, counts,
-- problems) and runs in the background: people first, then reporting lines from the top of the
-- org chart down (so a manager may appear anywhere in the file), then role grants, each change
-- made by the same function the one-by-one endpoints use (logged and announced the same way:
-- user.create, user.update, user.manager, user.roles, guest.convert), in short transactions
-- ("slices" of about M.SLICE_MS of work) with the event loop serving others between them. The
-- record is updated with each slice, so a crash leaves it at the slice that committed last; the
-- job that runs it is still planned and resumes it at the next start (what is done is done:
-- people are matched by email, so the rest of the file is checked and applied again).
local csv = require "core.csv"
local clock = require "core.clock"
local crypto = require "core.crypto"
local authz = require "core.authz"
local db = require "lib.db"
local pacing = require "lib.pacing"
local json = require "lib.json"
local util = require "lib.util"
local schema = require "lib.schema"
local errors = require "lib.errors"
local events = require "lib.events"
local access = require "services.access"
local audit = require "services.audit"
local people = require "services.people"
local settings = require "services.settings"

local M = {}

--- The columns, in the order reports list them.
M.COLUMNS = { "email", "name", "job_title", "department", "location", "hire_date", "manager_email", "roles", "kind" }
local KNOWN = {}
for _, c in ipairs(M.COLUMNS) do KNOWN[c] = true end
-- Header spellings people use for the same columns (after lower-casing, spaces to "_").
local ALIASES = { e_mail = "email", full_name = "name", title = "job_title", manager = "manager_email",
  role = "roles", type = "kind", start_date = "hire_date" }

--- Problems listed in a report at most (the total is always given).
M.MAX_PROBLEMS = 500
--- Progress is reported every this many rows.
M.PROGRESS_EVERY = 500
--- Milliseconds of work between two pauses that let the event loop serve other requests.
M.SLICE_MS = 3
--- Seconds without a slice after which another runner may take over a running import.
M.LEASE = 60
--- The job kind that runs (and after a restart resumes) an import.
M.JOB = "users.import"


-- ------------------------------------------------------------------ the report

local function new_report(dry_run)
  return { ok = false, dry_run = dry_run, rows = 0, created = 0, updated = 0, unchanged = 0, managers_set = 0,
    roles_granted = 0, roles_skipped = 0, problems = {}, problems_total = 0, notes = {}, actions = {} }
end

local function problem(report, line, field, message)
  report.problems_total = report.problems_total + 1
  if #report.problems < M.MAX_PROBLEMS then
    report.problems[#report.problems + 1] = { line = line, field = field, message = message }
  end
end

local function note(report, line, field, message)
  if #report.notes < M.MAX_PROBLEMS then
    report.notes[#report.notes + 1] = { line = line, field = field, message = message }
  end
end

-- Problems and notes in file order (those of the manager pass come later otherwise).
local function in_line_order(list)
  for i, x in ipairs(list) do x.seq = i end
  table.sort(list, function(a, b)
    if a.line ~= b.line then return a.line < b.line end
    return a.seq < b.seq
  end)
  for _, x in ipairs(list) do x.seq = nil end
end

-- ------------------------------------------------------------------ reading the file

-- Column name -> index from the header row; reports unknown and repeated columns.
local function read_header(report, header)
  local cols = {}
  for i, cell in ipairs(header) do
    local key = util.trim(cell):lower():gsub("[%s%-]+", "_")
    key = ALIASES[key] or key
    if not KNOWN[key] then
      problem(report, 1, cell, ("Unknown column \"%s\". The columns are: %s."):format(cell, table.concat(M.COLUMNS, ", ")))
    elseif cols[key] then
      problem(report, 1, key, ("The column %s appears twice (columns %d and %d)."):format(key, cols[key], i))
    else
      cols[key] = i
    end
  end
  if not cols.email then problem(report, 1, "email", "The file needs an email column: people are matched by email.") end
  return cols
end

local function split_roles(s)
  local out = {}
  for part in s:gmatch("[^;]+") do
    part = util.trim(part)
    if part ~= "" then out[#out + 1] = part end
  end
  return out
end

local function in_domains(email, domains)
  local d = util.email_domain(email)
  for _, cd in ipairs(domains) do
    cd = cd:lower()
    if d == cd or (d and d:sub(-(#cd + 1)) == "." .. cd) then return true end
  end
  return false
end

local function cap(c) return (c:gsub("_", " "):gsub("^%l", string.upper)) end

--- One row of an import file (the columns it may have; the name is required for a new person).
M.ROW_SCHEMA = schema.record{ strict = false, fields = {
  { email = schema.email{ required = true, label = "Email" } },
  { name = schema.text{ max = 120, label = "Name" } },
  { job_title = schema.text{ max = 120, label = cap("job_title") } },
  { department = schema.text{ max = 80, label = cap("department") } },
  { location = schema.text{ max = 80, label = cap("location") } },
  { hire_date = schema.date{ label = cap("hire_date") } },
  { manager_email = schema.email{ label = cap("manager_email") } },
  { kind = { type = "string", one_of = people.KINDS, label = "Kind" } },
  { roles = schema.text{ max = 200, label = "Roles" } },
} }

-- Checks one row; returns its plan or nil. ctx: cols, existing (by email), seen (email ->
-- line), may(action), guest_ok/guest_why, domains, report.
local function check_row(ctx, row, line)
  local report = ctx.report
  local ncols = #ctx.header
  if #row ~= ncols then
    problem(report, line, nil, ("This row has %d field%s; the header has %d."):format(#row, #row == 1 and "" or "s", ncols))
    return nil
  end
  local rec = {}
  for col, i in pairs(ctx.cols) do rec[col] = row[i] end
  local vals, errs = schema.validate(M.ROW_SCHEMA, rec, { coerce = true, messages = schema.SENTENCES, partial = true })
  local msgs = {}
  for _, e in ipairs(errs or {}) do msgs[e.path] = msgs[e.path] or e.message end
  local email = vals.email
  local existing = email and ctx.existing[email]
  local f = { name = vals.name, job_title = vals.job_title, department = vals.department, location = vals.location,
    hire_date = vals.hire_date }
  if not existing and f.name == nil and not msgs.name then msgs.name = "Name (for a new person) is required." end
  local manager_email, kind, roles_text = vals.manager_email, vals.kind, vals.roles
  local bad = next(msgs) ~= nil
  for _, c in ipairs(M.COLUMNS) do
    if msgs[c] then problem(report, line, c, msgs[c]) end
  end
  if email and ctx.seen[email] then
    problem(report, line, "email", ("%s is already on line %d."):format(email, ctx.seen[email]))
    return nil
  end
  if email then ctx.seen[email] = line end
  if not email then return nil end

  local plan = { line = line, email = email, existing = existing, manager_email = manager_email, fields = {} }
  -- the kind of account
  local final_kind = existing and existing.kind or (kind or "employee")
  if existing and kind and kind ~= existing.kind then
    if kind == "guest" then
      problem(report, line, "kind", "An employee cannot be turned into a guest by an import.")
      bad = true
    elseif not ctx.may("users.convert_guest") then
      problem(report, line, "kind", "Turning a guest into an employee needs: " .. authz.roles_for("users.convert_guest") .. ".")
      bad = true
    else
      plan.convert = true
      final_kind = "employee"
    end
  end
  if not existing and final_kind == "guest" then
    if not ctx.guest_ok then
      problem(report, line, "kind", ctx.guest_why)
      bad = true
    elseif in_domains(email, ctx.domains) then
      problem(report, line, "email", "Guests need an external email address, not one of the company's domains.")
      bad = true
    end
  end
  plan.kind = final_kind
  if final_kind == "guest" and manager_email then
    problem(report, line, "manager_email", "Guests have no manager.")
    bad = true
  end
  if manager_email and manager_email == email then
    problem(report, line, "manager_email", "Nobody can be their own manager.")
    bad = true
  end
  -- the profile fields that change
  for _, k in ipairs({ "name", "job_title", "department", "location", "hire_date" }) do
    if f[k] ~= nil and (not existing or f[k] ~= existing[k]) then plan.fields[k] = f[k] end
  end
  -- roles: mapped (old "Admin" included), then only those the importer may grant
  if roles_text then
    local names = split_roles(roles_text)
    local mapped, err = people.map_imported_roles(names)
    if not mapped then
      local labels = {}
      for i, r in ipairs(access.ROLE_LIST) do labels[i] = access.ROLE_NAMES[r] end
      problem(report, line, "roles", "Unknown role: " .. err:gsub("^unknown role ", "") .. ". Roles are "
        .. table.concat(labels, ", ") .. " (and the old Admin).")
      bad = true
    elseif #mapped > 0 then
      if final_kind == "guest" then
        problem(report, line, "roles", "Guests cannot hold roles.")
        bad = true
      elseif existing and existing.status == "deactivated" then
        problem(report, line, "roles", "This person is deactivated: reactivate them before giving them a role.")
        bad = true
      else
        for _, n in ipairs(names) do
          if util.trim(n):lower() == "admin" then
            local shown = {}
            for i, r in ipairs(mapped) do shown[i] = access.ROLE_NAMES[r] end
            note(report, line, "roles", "The old \"Admin\" role became " .. table.concat(shown, " + ") .. ".")
            break
          end
        end
        local held = existing and ctx.roles_by_id[existing.id] or {}
        plan.grant = {}
        for _, r in ipairs(mapped) do
          if not held[r] then
            if ctx.may(access.grant_action(r)) then
              plan.grant[#plan.grant + 1] = r
            else
              report.roles_skipped = report.roles_skipped + 1
              note(report, line, "roles", ("%s was not granted to %s: that needs %s."):format(access.ROLE_NAMES[r], email,
                authz.roles_for(access.grant_action(r))))
            end
          end
        end
        local after = {}
        for r in pairs(held) do after[r] = true end
        for _, r in ipairs(plan.grant) do after[r] = true end
        if after.hr_admin and after.hr_assistant then
          note(report, line, "roles", email .. " will hold HR Admin and HR Assistant: HR Admin already includes "
            .. "everything HR Assistant can do, so holding both is redundant (the import never revokes a role).")
        end
      end
    end
  end
  if bad then return nil end
  return plan
end

-- ------------------------------------------------------------------ reporting lines

-- Resolves manager emails and refuses loops in the reporting lines as they would be after
-- the import (the file's managers over the current ones). Sets plan.manager (an email).
local function check_managers(ctx, plans)
  local report = ctx.report
  local by_email_plan = {}
  for _, p in ipairs(plans) do by_email_plan[p.email] = p end
  for _, p in ipairs(plans) do
    ctx.pace()
    local m = p.manager_email
    if m then
      local mp, me = by_email_plan[m], ctx.existing[m]
      if not mp and not me then
        if ctx.seen[m] then
          problem(report, p.line, "manager_email", ("The manager %s (line %d) has problems of their own."):format(m, ctx.seen[m]))
        else
          problem(report, p.line, "manager_email", ("Nobody with the email %s is in the file or in Candor."):format(m))
        end
        p.bad = true
      elseif (mp and mp.kind or me.kind) == "guest" then
        problem(report, p.line, "manager_email", ("%s is a guest: a guest cannot be anyone's manager."):format(m))
        p.bad = true
      elseif me and me.status == "deactivated" then
        problem(report, p.line, "manager_email", ("%s is deactivated and cannot be a manager."):format(m))
        p.bad = true
      else
        p.manager = m
      end
    end
  end
  -- the manager of an email after the import
  local by_id = ctx.by_id
  local function parent(email)
    local p = by_email_plan[email]
    if p and p.manager then return p.manager end
    local e = ctx.existing[email]
    local mid = e and e.manager_id
    return mid and by_id[mid] and by_id[mid].email or nil
  end
  ctx.parent = parent
  local state = {} -- email -> 1 on the current walk, 2 known to reach the top
  for _, p in ipairs(plans) do
    ctx.pace()
    if p.manager and not state[p.email] then
      local path, x = {}, p.email
      while x and not state[x] do
        state[x] = 1
        path[#path + 1] = x
        x = parent(x)
      end
      if x and state[x] == 1 then
        -- a loop: from x's place on the path to its end
        local loop, start = {}, nil
        for i, e in ipairs(path) do
          if e == x then start = i end
          if start then loop[#loop + 1] = e end
        end
        loop[#loop + 1] = x
        local text = table.concat(loop, " → ")
        for i = 1, #loop - 1 do
          local lp = by_email_plan[loop[i]]
          if lp and lp.manager then
            problem(report, lp.line, "manager_email", "That would make a loop in the reporting lines: " .. text .. ".")
            lp.bad = true
          end
        end
      end
      for _, e in ipairs(path) do state[e] = 2 end
    end
  end
end

-- ------------------------------------------------------------------ pacing

-- A pacer: call it often; after M.SLICE_MS of work (counted from the end of the last pause,
-- the collector's share included: lib/pacing) it runs on_pause (e.g. committing a slice) and
-- lets the event loop serve others when no transaction is open (pacing.pause). In a coroutine
-- that cannot wait (not a task) it never pauses.
local function pacer(on_pause)
  local can_wait, since = true, clock.mono_us()
  return function(force)
    if not force and math.max(clock.mono_us() - since, pacing.elapsed_us()) < M.SLICE_MS * 1000 then return false end
    if on_pause then on_pause() end
    if can_wait and db.depth() == 0 then can_wait = pacing.pause() end
    since = clock.mono_us()
    return true
  end
end

-- A file's working set (a table per row and per person) is large and keeps changing: the check
-- and the run are churning long work (lib/pacing), the garbage collector driven by their pauses.

-- ------------------------------------------------------------------ checking

local function message_of(e) return errors.is(e) and e.message or tostring(e) end

-- Whether the reporting lines after the import put the person with email `who` above `email`
-- (or make them the same person).
local function planned_above(ctx, who, email)
  local seen, x = {}, email
  while x and not seen[x] do
    if x == who then return true end
    seen[x] = true
    x = ctx.parent(x)
  end
  return false
end

-- The steps from the top of the org chart down to email after the import (sorting reporting
-- lines so that a manager's own line is set before theirs).
local function planned_depth(ctx, email, memo)
  local chain, x, seen = {}, email, {}
  while x and memo[x] == nil and not seen[x] do
    seen[x] = true
    chain[#chain + 1] = x
    x = ctx.parent(x)
  end
  local d = x and memo[x] or 0
  for i = #chain, 1, -1 do
    d = d + 1
    memo[chain[i]] = d
  end
  return memo[email]
end

-- core.csv parses a whole text at once: a big file is cut into pieces of about this many bytes
-- at record boundaries (a newline outside quotes) and parsed piece by piece, pausing between.
local PIECE = 65536

local function count(s, pattern) return select(2, s:gsub(pattern, "")) end

-- rows, lines like csv.parse(text), or nil, { line, message }.
local function parse_paced(text, pace)
  local rows, lines = {}, {}
  local pos, n, line_base = 1, #text, 0
  while pos <= n do
    local cut = n
    if pos + PIECE < n then
      local quotes, search = count(text:sub(pos, pos + PIECE), '"'), pos + PIECE + 1
      while true do
        local nl = text:find("\n", search, true)
        if not nl then break end
        quotes = quotes + count(text:sub(search, nl), '"')
        if quotes % 2 == 0 then cut = nl break end
        search = nl + 1
      end
    end
    local piece = text:sub(pos, cut)
    local r, l = csv.parse(piece)
    if not r then
      l.line = l.line + line_base
      return nil, l
    end
    for i, row in ipairs(r) do
      rows[#rows + 1] = row
      lines[#lines + 1] = l[i] + line_base
    end
    line_base = line_base + count(piece, "\n")
    pos = cut + 1
    pace()
  end
  return rows, lines
end

local function describe(plan)
  if not plan.existing then return "create" end
  if next(plan.fields) or plan.convert or plan.manager_changes or (plan.grant and #plan.grant > 0) then return "update" end
  return "unchanged"
end

-- Checks a whole file for actor (a user row, or people.OPERATOR). Returns the report (see
-- M.check), ctx and the plans of the rows (when the report is ok).
local function plan_file(actor, text, opts, pace)
  local report = new_report(true)
  local progress = opts.progress or function() end
  local rows, lines = parse_paced(text, pace)
  if not rows then
    problem(report, lines.line, nil, "The file is not valid CSV: " .. lines.message:gsub("^line %d+: ", "") .. ".")
    return report
  end
  if #rows == 0 then
    problem(report, 1, nil, "The file is empty. Its first line names the columns, e.g. email,name,manager_email.")
    return report
  end
  local ctx = { report = report, header = rows[1], existing = {}, by_id = {}, seen = {}, roles_by_id = {},
    domains = people.company_domains(), pace = pace, created_here = opts.created_here or {} }
  ctx.cols = read_header(report, rows[1])
  if report.problems_total > 0 then return report end
  ctx.may = actor.operator and function() return true end or function(action) return (access.can(actor, action)) end
  if actor.operator then
    local policy = settings.get("people.guest_policy")
    ctx.guest_ok, ctx.guest_why = policy ~= "off", "Guest invitations are turned off for this company."
  else
    ctx.guest_ok, ctx.guest_why = people.may_invite_guest(actor, "import")
  end
  -- everybody as they are now: the import works on the whole company at once (read in pages,
  -- with pauses between them)
  local after = 0
  repeat
    local page = db.query([[SELECT id, email, name, job_title, department, location, hire_date, manager_id,
      status, kind FROM users WHERE id > ? ORDER BY id LIMIT 2000]], after)
    for _, u in ipairs(page) do
      u.email = u.email:lower()
      ctx.existing[u.email] = u
      ctx.by_id[u.id] = u
      after = u.id
    end
    pace()
  until #page < 2000
  for _, r in ipairs(db.query("SELECT user_id, role FROM user_roles")) do
    local held = ctx.roles_by_id[r.user_id] or {}
    held[r.role] = true
    ctx.roles_by_id[r.user_id] = held
  end
  pace()

  local total = #rows - 1
  report.rows = total
  local plans = {}
  for i = 2, #rows do
    local plan = check_row(ctx, rows[i], lines[i])
    if plan then plans[#plans + 1] = plan end
    if (i - 1) % M.PROGRESS_EVERY == 0 then progress("validated", i - 1, total) end
    pace()
  end
  check_managers(ctx, plans)
  if total % M.PROGRESS_EVERY ~= 0 then progress("validated", total, total) end

  -- what would change, and whether the importer may make each change (the checks of the
  -- one-by-one endpoints; the import makes the changes through the same functions)
  local actor_email = actor.email and actor.email:lower()
  local reads_reviews = actor.operator or access.can(actor, "reviews.read")
  for _, p in ipairs(plans) do
    pace()
    if p.bad then goto next_plan end
    p.new_here = not p.existing or ctx.created_here[p.existing.id] == true
    if p.existing and next(p.fields) then
      local ok, e = pcall(people.require_profile_edit, actor, p.existing, p.fields)
      if not ok then
        local field
        for _, k in ipairs(M.COLUMNS) do if p.fields[k] ~= nil then field = field or k end end
        problem(report, p.line, field, message_of(e))
        p.bad = true
      end
    end
    if p.manager then
      local cur = p.existing and p.existing.manager_id
      local target = ctx.existing[p.manager]
      p.manager_changes = not (cur and target and target.id == cur)
    end
    if p.manager_changes then
      local target = ctx.existing[p.manager]
      local below = nil
      if not reads_reviews then below = planned_above(ctx, actor_email, p.manager) end
      local ok, e = pcall(people.require_manager_choice, actor, not p.new_here and p.existing or nil,
        target and target.id, "import", below)
      if not ok then
        problem(report, p.line, "manager_email", message_of(e))
        p.bad = true
      end
    end
    ::next_plan::
  end
  for _, p in ipairs(plans) do
    if not p.bad then
      if p.manager_changes then report.managers_set = report.managers_set + 1 end
      if p.grant then report.roles_granted = report.roles_granted + #p.grant end
      local action = describe(p)
      local key = action == "create" and "created" or action == "update" and "updated" or "unchanged"
      report[key] = report[key] + 1
      if #report.actions < 200 then
        local fields = {}
        for _, k in ipairs(M.COLUMNS) do if p.fields[k] then fields[#fields + 1] = k end end
        if p.manager_changes then fields[#fields + 1] = "manager_email" end
        if p.grant and #p.grant > 0 then fields[#fields + 1] = "roles" end
        if p.convert then fields[#fields + 1] = "kind" end
        report.actions[#report.actions + 1] = { line = p.line, email = p.email, action = action, fields = fields }
      end
    end
  end
  report.ok = report.problems_total == 0
  in_line_order(report.problems)
  in_line_order(report.notes)
  return report, ctx, plans
end

--- Checks CSV text for actor (a user row, or people.OPERATOR for the command line) and changes
--- nothing: the dry run. opts: progress = fn(phase, done, total) ("validated", every
--- M.PROGRESS_EVERY rows and at the end). Pauses for the event loop every M.SLICE_MS when it runs
--- in a task outside a transaction. Returns the report: { ok, dry_run = true, rows, created,
--- updated, unchanged, managers_set, roles_granted, roles_skipped, problems = {{line, field,
--- message}}, problems_total, notes = {...}, actions = {{line, email, action, fields}} (the first
--- 200) } with what the import would do.
function M.check(actor, text, opts)
  assert(actor, "import.check needs an actor (people.OPERATOR for the command line)")
  if not actor.operator then access.require(actor, "users.import") end
  return (pacing.churning(plan_file, actor, text, opts or {}, pacer()))
end

-- ------------------------------------------------------------------ records

local function decode(row)
  if not row then return nil end
  row.report = json.decode(row.report) or {}
  return row
end

--- One import record (nil when there is none): id, created_by, actor_label, via, status
--- ("running" | "done" | "failed"), rows, phase, done, total, report (table), error, runs,
--- created_at, updated_at, finished_at.
function M.get(id)
  id = math.tointeger(tonumber(id))
  return id and decode(db.row([[SELECT id, created_by, actor_label, via, status, rows, phase, done, total, report,
    error, runs, created_at, updated_at, finished_at FROM imports WHERE id = ?]], id))
end

--- The latest imports, newest first (the page's log of past imports).
function M.list(limit)
  local rows = db.query([[SELECT id, created_by, actor_label, via, status, rows, phase, done, total, report, error,
    runs, created_at, updated_at, finished_at FROM imports ORDER BY id DESC LIMIT ?]], limit or 20)
  for _, r in ipairs(rows) do decode(r) end
  return rows
end

--- The import running now, if any.
function M.running()
  return decode(db.row("SELECT * FROM imports WHERE status = 'running' ORDER BY id LIMIT 1"))
end

-- The counts of the changes made, in the record's report.
local function new_counts()
  return { created = 0, profiles_updated = 0, guests_converted = 0, managers_set = 0, roles_granted = 0 }
end

--- Checks the file and, when it has no problem, records an import and plans the job that runs it
--- (at once, in the background). actor: a user row, or people.OPERATOR. opts: via ("api" |
--- "page" | "cli" | "sftp"), req, progress, job_delay (seconds; the command line and the SFTP
--- feed plan the job as a fallback only, they run the import themselves). Returns the report of
--- the check and the record's id (nil when the file has problems: nothing changed). 409 while
--- another import runs.
function M.start(actor, text, opts)
  opts = opts or {}
  local report = M.check(actor, text, opts)
  if not report.ok then return report, nil end
  local other = M.running()
  if other then
    errors.conflict(("Another import is running (started by %s): wait until it is done."):format(other.actor_label))
  end
  local now = clock.now()
  local id = db.transaction(function()
    local planned = { created = report.created, updated = report.updated, unchanged = report.unchanged,
      managers_set = report.managers_set, roles_granted = report.roles_granted, roles_skipped = report.roles_skipped }
    local rec = { planned = planned, counts = new_counts(), notes = report.notes, problems = {}, problems_total = 0 }
    local new_id = db.insert([[INSERT INTO imports(created_by, actor_label, via, status, csv, rows, phase, done, total,
        report, created_at, updated_at) VALUES(?,?,?, 'running', ?, ?, 'people', 0, 0, ?, ?, ?)]],
      actor.id, actor.operator and "command line" or (actor.email or actor.name), opts.via or "api", text, report.rows,
      json.encode(rec), now, now)
    require("app").schedule(now + (opts.job_delay or 0), M.JOB, { import_id = new_id }, "import:" .. new_id)
    audit.record{ action = "users.import_started", actor = actor, req = opts.req, target_type = "import",
      target_id = new_id, details = { rows = report.rows, via = opts.via, planned = planned } }
    events.fire("import.started", { import_id = new_id, rows = report.rows, actor_id = actor.id })
    return new_id
  end)
  return report, id
end

-- ------------------------------------------------------------------ running

-- Runs fn for one row in a savepoint: an application error (4xx) becomes a problem of the
-- record and that row's changes roll back; anything else stops the import.
local function row_step(rec, p, field, fn)
  local ok, e = pcall(db.transaction, fn)
  if ok then return true end
  if errors.is(e) and e.status < 500 then
    rec.problems_total = (rec.problems_total or 0) + 1
    if #rec.problems < M.MAX_PROBLEMS then
      rec.problems[#rec.problems + 1] = { line = p.line, field = field, message = e.message }
    end
    return false
  end
  error(e, 0)
end

-- The work of an import as a list of steps in order: { phase, plan }; reporting lines from the
-- top of the org chart down (depth by depth, in file order within one).
local function work_list(ctx, plans, pace)
  local list = {}
  for _, p in ipairs(plans) do
    if not p.existing or next(p.fields) or p.convert then list[#list + 1] = { "people", p } end
  end
  local by_depth, memo, deepest = {}, {}, 0
  for _, p in ipairs(plans) do
    if p.manager_changes then
      local d = planned_depth(ctx, p.email, memo)
      local bucket = by_depth[d] or {}
      bucket[#bucket + 1] = p
      by_depth[d] = bucket
      if d > deepest then deepest = d end
    end
    pace()
  end
  for d = 1, deepest do
    for _, p in ipairs(by_depth[d] or {}) do list[#list + 1] = { "managers", p } end
  end
  for _, p in ipairs(plans) do
    if p.grant and #p.grant > 0 then list[#list + 1] = { "roles", p } end
  end
  return list
end

-- One step of the work (inside the slice's transaction).
local function apply_step(imp, actor, ctx, rec, step, id_of)
  local phase, p = step[1], step[2]
  local counts = rec.counts
  local details = { via = "import", import_id = imp.id }
  if phase == "people" then
    if not p.existing then
      row_step(rec, p, "email", function()
        if db.value("SELECT 1 FROM users WHERE email = ?", p.email) then
          errors.invalid({ email = "exists" }, p.email .. " was added while the import ran.")
        end
        local f = p.fields
        f.email = p.email
        local u = people.insert(actor, f, p.kind, nil, nil, details)
        db.exec("INSERT INTO import_people(import_id, user_id) VALUES(?, ?)", imp.id, u.id)
        id_of[p.email] = u.id
        counts.created = counts.created + 1
      end)
    else
      local u = people.get(p.existing.id)
      if not u then return end
      if next(p.fields) and row_step(rec, p, "name", function()
        people.require_profile_edit(actor, u, p.fields)
        people.write_profile(actor, u, p.fields, nil, details)
      end) then counts.profiles_updated = counts.profiles_updated + 1 end
      if p.convert and row_step(rec, p, "kind", function() people.convert_guest(actor, u.id, nil, details) end) then
        counts.guests_converted = counts.guests_converted + 1
      end
    end
  elseif phase == "managers" then
    local id = id_of[p.email] or (p.existing and p.existing.id)
    local mid = id_of[p.manager] or (ctx.existing[p.manager] and ctx.existing[p.manager].id)
    if not id or not mid then return end -- the row or its manager's row could not be written
    if row_step(rec, p, "manager_email", function()
      people.set_manager(actor, id, mid, nil, { new_via = (p.new_here or ctx.created_here[id]) and "import" or nil,
        details = details })
    end) then counts.managers_set = counts.managers_set + 1 end
  else
    local id = id_of[p.email] or (p.existing and p.existing.id)
    if not id then return end
    if row_step(rec, p, "roles", function()
      local want = {}
      for _, r in ipairs(people.roles(id)) do want[#want + 1] = r end
      for _, r in ipairs(p.grant) do want[#want + 1] = r end
      people.set_roles(actor, id, want, nil, details)
    end) then counts.roles_granted = counts.roles_granted + #p.grant end
  end
end

-- The actor of a record: the person who started it (as they are now), or the command line.
-- The automatic import (via "sftp") runs as the feed: the fields it keeps are its to change.
local function actor_of(imp)
  if not imp.created_by then return people.OPERATOR end
  local actor = db.row("SELECT id, email, name, kind, status FROM users WHERE id = ?", imp.created_by)
  if actor and imp.via == "sftp" then actor.feed = true end
  return actor
end

local function finish(imp, status, rec, error_text, actor)
  local now = clock.now()
  db.transaction(function()
    db.exec([[UPDATE imports SET status = ?, phase = 'finished', report = ?, error = ?, csv = '', runner = NULL,
      finished_at = ?, updated_at = ? WHERE id = ?]], status, json.encode(rec), error_text, now, now, imp.id)
    local c = rec.counts
    audit.record{ action = status == "done" and "users.import" or "users.import_failed", actor = actor,
      actor_label = not actor and imp.actor_label or nil, target_type = "import", target_id = imp.id,
      details = { rows = imp.rows, created = c.created, profiles_updated = c.profiles_updated, guests_converted = c.guests_converted,
        managers_set = c.managers_set, roles_granted = c.roles_granted, problems = rec.problems_total or 0,
        via = imp.via, error = error_text } }
    events.fire("import.finished", { import_id = imp.id, status = status, actor_id = actor and actor.id })
  end)
end

local function execute(id, opts)
  if db.depth() > 0 then error("an import cannot run inside a transaction") end
  local token = crypto.hex(crypto.random(8))
  local now = clock.now()
  local claimed = db.transaction(function()
    return db.exec([[UPDATE imports SET runner = ?, heartbeat_at = ?, runs = runs + 1, updated_at = ?
      WHERE id = ? AND status = 'running' AND (runner IS NULL OR heartbeat_at < ?)]], token, now, now, id, now - M.LEASE)
  end)
  local imp = decode(db.row("SELECT * FROM imports WHERE id = ?", id))
  if claimed ~= 1 then return imp end
  local rec = imp.report
  rec.counts = rec.counts or new_counts()
  rec.problems = rec.problems or {}
  local actor = actor_of(imp)
  if not actor or (not actor.operator and not access.can(actor, "users.import")) then
    finish(imp, "failed", rec, "The person who started the import may no longer import people.", actor)
    return M.get(id)
  end
  local created_here = {}
  for _, uid in ipairs(db.column("SELECT user_id FROM import_people WHERE import_id = ?", id)) do created_here[uid] = true end
  local pace = pacer()
  local report, ctx, plans = plan_file(actor, imp.csv, { created_here = created_here }, pace)
  if not report.ok then
    -- the people changed since the check (or since the part done before a restart)
    for _, p in ipairs(report.problems) do rec.problems[#rec.problems + 1] = p end
    rec.problems_total = (rec.problems_total or 0) + report.problems_total
    finish(imp, "failed", rec, "The file no longer checks out against the people as they are now; nothing more was "
      .. "imported. Check it again.", actor)
    return M.get(id)
  end
  pace(true)
  local list = work_list(ctx, plans, pace)
  pace(true)
  local id_of = {}
  local i, done = 0, imp.done
  db.transaction(function()
    db.exec("UPDATE imports SET total = ? WHERE id = ?", done + #list, imp.id)
  end)
  local TAKEN = "another runner took this import over"
  -- slices of M.SLICE_MS, the loop serving others between two; each commits without waiting for
  -- the disk and the last one waits (db.slices): after a crash the record and the changes stop
  -- at the same slice, and the run resumes from there
  local ok, err = pcall(function()
    if #list == 0 then return end
    db.slices(function()
      local over = pacing.slice(M.SLICE_MS)
      repeat
        i = i + 1
        apply_step(imp, actor, ctx, rec, list[i], id_of)
        done = done + 1
      until i >= #list or over()
      local n = db.exec([[UPDATE imports SET phase = ?, done = ?, report = ?, heartbeat_at = ?, updated_at = ?
        WHERE id = ? AND runner = ?]], list[i][1], done, json.encode(rec), clock.now(), clock.now(), imp.id, token)
      if n ~= 1 then errors.conflict(TAKEN) end
      if opts.progress then opts.progress(list[i][1], done, imp.done + #list) end
      return i < #list
    end)
  end)
  if not ok then
    if errors.is(err) and err.message == TAKEN then return M.get(id) end
    require("core.log").error(("import %d stopped: %s"):format(id, tostring(errors.is(err) and err.message or err)))
    finish(imp, "failed", rec, "The import stopped: " .. (errors.is(err) and err.message or "an internal error (logged)")
      .. ". What was done before stays; run the file again to finish it.", actor)
    return M.get(id)
  end
  finish(imp, "done", rec, nil, actor)
  return M.get(id)
end

--- Runs (or resumes) import id: checks the file again against the people as they are now,
--- then applies it in slices, yielding to the event loop between them; the record shows the
--- progress. Must run in a task, outside any transaction. One runner at a time: a record whose
--- runner made a slice in the last M.LEASE seconds is left to it. opts: progress =
--- fn(phase, done, total) after each slice. Returns the record.
function M.execute(id, opts)
  return pacing.churning(execute, id, opts or {})
end

--- Raises a 422 carrying the report (for callers that answer with an error when the real run
--- found problems).
function M.refuse(report)
  errors.raise(422, "import_invalid", ("%d problem%s found: nothing was imported."):format(report.problems_total,
    report.problems_total == 1 and "" or "s"), { details = report })
end

function M.init(app)
  app.on_job(M.JOB, function(payload)
    local imp = M.get(payload.import_id)
    if not imp or imp.status ~= "running" then return end
    imp = M.execute(imp.id)
    -- another runner holds it (the command line): look again when its lease would have run out
    if imp.status == "running" then app.schedule(clock.now() + M.LEASE, M.JOB, { import_id = imp.id }) end
  end)
end

return M
