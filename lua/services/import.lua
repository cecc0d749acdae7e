-- The user import: a CSV file of people becomes new people and changes to existing ones,
-- matched by email (core.csv parses it; columns are found by their header name).
--
--   email, name, job_title, department, location, hire_date (YYYY-MM-DD), manager_email,
--   roles ("HR Admin; Tech Admin"; the old single "Admin" role is mapped as the product
--   documents), kind (employee | guest)
--
-- Only email is required as a column; name is required for people who are new. An empty cell
-- leaves an existing person's value as it is (the import never clears a field, never revokes
-- a role and never changes a status). Every row is checked before anything changes: the dry
-- run stops there and reports; the real run changes nothing when there is any problem, else
-- does everything in one transaction: people first, then managers (so a manager may appear
-- anywhere in the file, even after their reports), then role grants. Loops in the reporting
-- lines that would result are refused. Roles are granted only as far as the importer may grant
-- them; the rest is reported as notes. One audit entry ("users.import") records the counts.
local csv = require "core.csv"
local clock = require "core.clock"
local authz = require "core.authz"
local db = require "lib.db"
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
  local state = {} -- email -> 1 on the current walk, 2 known to reach the top
  for _, p in ipairs(plans) do
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

-- ------------------------------------------------------------------ running

local function describe(plan)
  if not plan.existing then return "create" end
  if next(plan.fields) or plan.convert or plan.manager_changes or (plan.grant and #plan.grant > 0) then return "update" end
  return "unchanged"
end

-- Writes the plans (inside a transaction). Returns nothing; raises on failure.
local function apply(ctx, plans, actor, opts, progress)
  local report = ctx.report
  local t = clock.now()
  local total = #plans
  local actor_id = actor and actor.id
  for i, p in ipairs(plans) do
    if p.existing then
      local f = p.fields
      if next(f) or p.convert then
        db.exec([[UPDATE users SET name = coalesce(?, name), job_title = coalesce(?, job_title),
            department = coalesce(?, department), location = coalesce(?, location), hire_date = coalesce(?, hire_date),
            kind = coalesce(?, kind), updated_at = ? WHERE id = ?]],
          f.name, f.job_title, f.department, f.location, f.hire_date, p.convert and "employee" or nil, t, p.existing.id)
      end
      p.id = p.existing.id
      if next(f) then
        local fields = {}
        for k in pairs(f) do fields[#fields + 1] = k end
        table.sort(fields)
        events.fire("person.updated", { person_id = p.id, fields = fields, actor_id = actor_id })
      end
      if p.convert then events.fire("person.guest_converted", { person_id = p.id, actor_id = actor_id }) end
    else
      local f = p.fields
      p.id = db.insert([[INSERT INTO users(email, name, job_title, department, location, hire_date, status, kind,
          created_at, updated_at) VALUES(?,?,?,?,?,?, 'invited', ?, ?, ?)]],
        p.email, f.name, f.job_title or "", f.department or "", f.location or "", f.hire_date, p.kind, t, t)
      events.fire("person.created", { person_id = p.id, kind = p.kind, actor_id = actor_id })
    end
    if i % M.PROGRESS_EVERY == 0 then progress("imported", i, total) end
  end
  -- second pass: managers, now that everybody has an id
  local id_of = {}
  for _, p in ipairs(plans) do id_of[p.email] = p.id end
  for _, p in ipairs(plans) do
    if p.manager_changes then
      local mid = id_of[p.manager] or ctx.existing[p.manager].id
      db.exec("UPDATE users SET manager_id = ?, updated_at = ? WHERE id = ?", mid, t, p.id)
      events.fire("person.manager_changed", { person_id = p.id, from_manager_id = p.existing and p.existing.manager_id,
        to_manager_id = mid, actor_id = actor_id })
    end
  end
  -- third: role grants (never revokes)
  for _, p in ipairs(plans) do
    if p.grant and #p.grant > 0 then
      for _, r in ipairs(p.grant) do
        db.exec("INSERT OR IGNORE INTO user_roles(user_id, role, granted_by, granted_at) VALUES(?,?,?,?)",
          p.id, r, actor and actor.id, t)
      end
      db.exec("UPDATE sessions SET rotate = 1 WHERE user_id = ?", p.id) -- new session token on next request
      events.fire("person.roles_changed", { person_id = p.id, granted = p.grant, revoked = {}, actor_id = actor_id })
    end
  end
  if total % M.PROGRESS_EVERY ~= 0 then progress("imported", total, total) end
  audit.record{ action = "users.import", actor = actor, actor_label = actor and nil or "command line",
    req = opts.req, details = { rows = report.rows, created = report.created, updated = report.updated,
      unchanged = report.unchanged, managers_set = report.managers_set, roles_granted = report.roles_granted,
      roles_skipped = report.roles_skipped, via = opts.via } }
  access.reload() -- the evaluator's org graph and roles, in one go
end

--- Imports people from CSV text. actor: the user importing (their permissions apply), or nil
--- with opts.operator = true for the command line (whoever runs it owns the data folder).
--- opts: dry_run, req, via ("api" | "page" | "cli"), progress = fn(phase, done, total) with
--- phase "validated" or "imported", called every M.PROGRESS_EVERY rows and at the end.
--- Returns the report: { ok, dry_run, rows, created, updated, unchanged, managers_set,
--- roles_granted, roles_skipped, problems = {{line, field, message}}, problems_total,
--- notes = {...}, actions = {{line, email, action}} (the first 200) }. Counts are what the
--- import did, or for a dry run what it would do. Nothing changes unless ok.
function M.run(actor, text, opts)
  opts = opts or {}
  if not opts.operator then
    assert(actor, "import.run needs an actor (or opts.operator)")
    access.require(actor, "users.import")
  end
  local report = new_report(opts.dry_run and true or false)
  local progress = opts.progress or function() end
  local rows, lines = csv.parse(text)
  if not rows then
    problem(report, lines.line, nil, "The file is not valid CSV: " .. lines.message:gsub("^line %d+: ", "") .. ".")
    return report
  end
  if #rows == 0 then
    problem(report, 1, nil, "The file is empty. Its first line names the columns, e.g. email,name,manager_email.")
    return report
  end
  local ctx = { report = report, header = rows[1], existing = {}, by_id = {}, seen = {}, roles_by_id = {},
    domains = people.company_domains() }
  ctx.cols = read_header(report, rows[1])
  if report.problems_total > 0 then return report end
  ctx.may = opts.operator and function() return true end or function(action) return (access.can(actor, action)) end
  if opts.operator then
    local policy = settings.get("people.guest_policy")
    ctx.guest_ok, ctx.guest_why = policy ~= "off", "Guest invitations are turned off for this company."
  else
    ctx.guest_ok, ctx.guest_why = people.may_invite_guest(actor, "import")
  end
  -- everybody as they are now: the import works on the whole company at once
  for _, u in ipairs(db.query([[SELECT id, email, name, job_title, department, location, hire_date, manager_id,
      status, kind FROM users]])) do
    u.email = u.email:lower()
    ctx.existing[u.email] = u
    ctx.by_id[u.id] = u
  end
  for _, r in ipairs(db.query("SELECT user_id, role FROM user_roles")) do
    local held = ctx.roles_by_id[r.user_id] or {}
    held[r.role] = true
    ctx.roles_by_id[r.user_id] = held
  end

  local total = #rows - 1
  report.rows = total
  local plans = {}
  for i = 2, #rows do
    local plan = check_row(ctx, rows[i], lines[i])
    if plan then plans[#plans + 1] = plan end
    if (i - 1) % M.PROGRESS_EVERY == 0 then progress("validated", i - 1, total) end
  end
  check_managers(ctx, plans)
  if total % M.PROGRESS_EVERY ~= 0 then progress("validated", total, total) end

  -- what would change
  for _, p in ipairs(plans) do
    if p.bad then goto next_plan end
    if p.manager then
      local cur = p.existing and p.existing.manager_id
      local target = ctx.existing[p.manager]
      p.manager_changes = not (cur and target and target.id == cur)
      if p.manager_changes then report.managers_set = report.managers_set + 1 end
    end
    if p.grant then report.roles_granted = report.roles_granted + #p.grant end
    local action = describe(p)
    report[action == "create" and "created" or action == "update" and "updated" or "unchanged"] =
      report[action == "create" and "created" or action == "update" and "updated" or "unchanged"] + 1
    if #report.actions < 200 then
      local fields = {}
      for _, k in ipairs(M.COLUMNS) do if p.fields[k] then fields[#fields + 1] = k end end
      if p.manager_changes then fields[#fields + 1] = "manager_email" end
      if p.grant and #p.grant > 0 then fields[#fields + 1] = "roles" end
      if p.convert then fields[#fields + 1] = "kind" end
      report.actions[#report.actions + 1] = { line = p.line, email = p.email, action = action, fields = fields }
    end
    ::next_plan::
  end
  report.ok = report.problems_total == 0
  in_line_order(report.problems)
  in_line_order(report.notes)
  if not report.ok or report.dry_run then return report end
  db.transaction(apply, ctx, plans, actor, opts, progress)
  return report
end

--- Raises a 422 carrying the report (for callers that answer with an error when the real run
--- found problems).
function M.refuse(report)
  errors.raise(422, "import_invalid", ("%d problem%s found: nothing was imported."):format(report.problems_total,
    report.problems_total == 1 and "" or "s"), { details = report })
end

return M
