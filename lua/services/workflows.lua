-- The workflow engine: runs the cycle workflow scripts of workflows/ (phases, transitions,
-- notification timeline) for review cycles.
--
-- A script is Lua that returns a table (see workflows/performance_review.lua and
-- docs/scripting.md). It runs in core.sandbox, in a worker process (no io/os/debug/package, no
-- bytecode, an instruction budget, a memory cap and a wall-clock deadline), so an endless loop
-- or a memory bomb stops that script with a clear message and the server carries on. Its data
-- is validated in full; the functions it may hold (timeline `only` rules) are called in the
-- sandbox with plain status data, never answer text: one request per step for all its reviews,
-- from a job, outside any transaction (a step whose rule runs on an event is queued as a job).
-- A version whose rule is stopped on three job runs in a row is suspended and HR Admins are told.
--
-- Versions: every source used is a workflow_versions row (deduplicated on sha256). New cycles
-- use current_version(name): the one HR chose on the admin page, else a valid copy in
-- <data>/workflows/<name>.lua, else the built-in file. A cycle pins its version when it
-- starts and keeps it (definitions are cached by version id and never re-read from disk).
--
-- Timeline: dated steps (at an anchor date + offset days, at notifications.send_hour_utc)
-- become scheduler jobs keyed cycle:<id>:wf:step:<step> when the cycle starts; automatic
-- transitions cycle:<id>:wf:transition:<n>. Re-planning replaces them. A step re-reads the
-- statuses when it runs and sends at most one mail per recipient and date (outbox dedupe key).
--
-- Events: the engine is not called by the cycle and review services; it hooks their events
-- (docs/events.md): cycle.starting and cycle.moving make transitions, cycle.updated re-plans,
-- cycle.deleted cancels the jobs, and every cycle.* and review.* event a timeline step names in
-- `on` queues that step's mails. A transition fires cycle.phase_changed and its own event.
local sandbox = require "core.sandbox"
local crypto = require "core.crypto"
local clock = require "core.clock"
local fs = require "core.fs"
local log = require "core.log"
local db = require "lib.db"
local errors = require "lib.errors"
local events = require "lib.events"
local lru = require "lib.lru"
local util = require "lib.util"
local access = require "services.access"
local accounts = require "services.accounts"
local audit = require "services.audit"
local cycles = require "services.cycles"
local mail = require "services.mail"
local settings = require "services.settings"
local script = require "services.workflow_script"

local M = {}

local app -- set by init

-- ------------------------------------------------------------------ vocabulary

-- The vocabulary of scripts lives with their schema (services/workflow_script.lua).
M.ANCHORS, M.ANCHOR_LABELS = script.ANCHORS, script.ANCHOR_LABELS
local ANCHOR_COLUMN = script.ANCHOR_COLUMN
M.ACTIVITIES, M.ACTIVITY_LABELS = script.ACTIVITIES, script.ACTIVITY_LABELS
M.ROLES, M.ROLE_LABELS = script.ROLES, script.ROLE_LABELS
M.EVENTS, M.EVENT_ORDER = script.EVENTS, script.EVENT_ORDER
M.GROUPS = script.GROUPS

local function shared(r) return r.manager_status == "shared" end

--- Named filters: fn(review row, cycle has a self-assessment) -> boolean.
M.FILTERS = {
  all = { label = "everyone", fn = function() return true end },
  self_not_submitted = { label = "self-assessment not submitted",
    fn = function(r, has_self) return has_self and r.self_status ~= "submitted" and r.self_status ~= "skipped" end },
  manager_not_submitted = { label = "manager review not submitted",
    fn = function(r) return r.manager_status ~= "submitted" and r.manager_status ~= "shared" end },
  manager_not_shared = { label = "manager review not shared", fn = function(r) return not shared(r) end },
  reviewee_not_signed = { label = "shared, not signed by the reviewee",
    fn = function(r) return shared(r) and not r.reviewee_signed_at end },
  manager_not_signed = { label = "shared, not signed by the manager",
    fn = function(r) return shared(r) and not r.manager_signed_at end },
  not_signed = { label = "shared, not signed by both", fn = function(r) return shared(r) and not r.closed_at end },
}
for _, name in ipairs(script.FILTER_ORDER) do assert(M.FILTERS[name], "filter without a rule: " .. name) end

--- Limits for workflow scripts (a data script needs a tiny part of them); the wall-clock deadline
--- of one call is the setting workflows.script_timeout_ms.
M.LIMITS = { memory_limit = 8 * 1024 * 1024, instruction_limit = 5000000 }
--- Instructions all calls of one `only` rule may use in one step (each call has LIMITS too).
M.STEP_INSTRUCTIONS = 100000000
--- Compiled versions kept for their `only` rules (least recently used go first): how many, and
--- how much memory their sandboxes may hold in all.
M.CACHE = { versions = 8, memory = 64 * 1024 * 1024 }
--- A version whose rule is stopped on this many job runs in a row is suspended.
M.SUSPEND_AFTER = 3

-- ------------------------------------------------------------------ helpers

local function sha256_hex(s) return crypto.hex(crypto.sha256(s)) end

local function send_hour()
  if settings.schema["notifications.send_hour_utc"] then
    return settings.get("notifications.send_hour_utc")
  end
  return 9
end

--- "YYYY-MM-DD" of the cycle's anchor, or nil.
local function anchor_date(cycle, anchor)
  local d = cycle[ANCHOR_COLUMN[anchor]]
  if type(d) == "string" and util.parse_date(d) then return d end
  return nil
end

--- When a dated step or automatic transition happens (seconds), or nil without the date.
function M.when(cycle, entry)
  local d = anchor_date(cycle, entry.at)
  if not d then return nil end
  return util.date_to_ts(d) + (entry.offset or 0) * 86400 + send_hour() * 3600
end

-- "name.lua:12: message" -> "line 12: message"
local function with_line(msg, chunkname)
  msg = tostring(msg)
  local rest_line, rest = msg:match("^[^\n]-%.lua:(%d+): (.*)$")
  if rest_line then return ("line %s: %s"):format(rest_line, rest), tonumber(rest_line) end
  if chunkname then
    local p = msg:find(chunkname .. ":", 1, true)
    if p == 1 then return msg:sub(#chunkname + 2) end
  end
  return msg
end

-- Explains a sandbox failure.
local function describe_failure(err, where)
  local msg = err.message or tostring(err)
  if msg:match("^the calls of one batch used more than") then
    msg = "the rule was stopped: its calls for this step used more than " .. msg:match("(%d+ instructions in all)")
  elseif err.code == "timeout" then
    msg = "the script was stopped after " .. (msg:match("after (%d+ ms)") or "its deadline")
      .. ": it ran too long (its worker process was killed)"
  elseif err.code == "crashed" then
    msg = "the script was stopped: its worker process ended without an answer"
  elseif err.code == "instructions" or err.code == "memory" then
    msg = "the script was stopped: " .. msg:gsub("^the script ", "it ")
  elseif err.code == "syntax" then
    msg = with_line(msg)
  else
    msg = with_line(msg)
  end
  return where and (where .. ": " .. msg) or msg
end

-- The line a validation problem is on, when the offending text appears on exactly one line.
local function find_line(source, hint)
  if not hint or not source then return nil end
  local patterns = {}
  if hint.value ~= nil and type(hint.value) ~= "table" then
    local v = tostring(hint.value):gsub("%p", "%%%0")
    patterns = { '"' .. v .. '"', "'" .. v .. "'" }
  elseif hint.key then
    local k = tostring(hint.key):gsub("%p", "%%%0")
    patterns = { "[%s{,]" .. k .. "%s*=" }
  end
  if #patterns == 0 then return nil end
  local found, n = nil, 0
  local line_no = 0
  for line in (source .. "\n"):gmatch("([^\n]*)\n") do
    line_no = line_no + 1
    local code = " " .. line:gsub("%-%-.*$", "")
    for _, p in ipairs(patterns) do
      if code:find(p) then
        n = n + 1
        found = line_no
        break
      end
    end
  end
  return n == 1 and found or nil
end

-- ------------------------------------------------------------------ validation

-- Scripts are checked against their schema (services/workflow_script.lua): script.check(data)
-- -> definition | nil, problems ({ message =, hint = }).

-- Plain status data for `only` functions: never answer text.
local REVIEW_FIELDS = { "id", "reviewee_id", "manager_id", "self_status", "manager_status", "self_submitted_at",
  "manager_submitted_at", "shared_at", "reviewee_signed_at", "manager_signed_at", "closed_at", "reopened_at" }

local function review_data(r, cycle)
  local out = {}
  for _, k in ipairs(REVIEW_FIELDS) do out[k] = r[k] end
  out.has_self_assessment = cycle.self_assessment
  out.reviewee = { name = r.reviewee_name, department = r.department, location = r.location,
    job_title = r.job_title, hire_date = r.hire_date }
  out.manager = r.manager_id and { name = r.manager_name } or nil
  return out
end

local function cycle_data(cycle)
  return { id = cycle.id, name = cycle.name, phase = cycle.phase, start_date = cycle.start_date,
    self_due = cycle.self_due, manager_due = cycle.manager_due, sign_due = cycle.sign_due,
    self_assessment = cycle.self_assessment,
    today = util.format_date(clock.now()) }
end

-- Reviews to try `only` functions on when checking a script.
local function sample_reviews()
  local base = { id = 1, reviewee_id = 2, manager_id = 3, reviewee_name = "Sample Reviewee", manager_name = "Sample Manager",
    department = "Engineering", location = "Berlin", job_title = "Engineer", hire_date = "2024-01-15" }
  local variants = {
    { self_status = "not_started", manager_status = "not_started" },
    { self_status = "draft", manager_status = "draft" },
    { self_status = "submitted", manager_status = "submitted", self_submitted_at = 1767600000,
      manager_submitted_at = 1767700000 },
    { self_status = "submitted", manager_status = "shared", shared_at = 1767800000, reviewee_signed_at = 1767900000 },
    { self_status = "skipped", manager_status = "shared", shared_at = 1767800000, reviewee_signed_at = 1767900000,
      manager_signed_at = 1767950000, closed_at = 1767950000 },
  }
  local cycle = { id = 1, name = "Sample cycle", phase = "writing", start_date = "2026-01-05", self_due = "2026-01-19",
    manager_due = "2026-02-02", sign_due = "2026-02-16", self_assessment = true }
  local out = {}
  for i, v in ipairs(variants) do
    local r = util.copy(base)
    for k, x in pairs(v) do r[k] = x end
    r.id = i
    out[i] = review_data(r, cycle)
  end
  return out, cycle_data(cycle)
end

-- The sandbox options of workflow scripts.
local function limits()
  local l = util.copy(M.LIMITS)
  l.timeout_ms = settings.get("workflows.script_timeout_ms")
  return l
end

local validated -- name .. ":" .. sha -> definition of a text that passed (lru, see init)

-- Loads source into a sandbox and validates it: entry { source, sha, def, name } or nil,
-- messages. The sandbox is closed again: rules run in the one rule_sandbox() keeps.
local function compile(source, name)
  if type(source) ~= "string" or source:match("^%s*$") then
    return nil, { "the script is empty: it must return a table with name, phases, transitions and timeline" }
  end
  if #source > 256 * 1024 then return nil, { "the script is longer than 256 KiB" } end
  local sha = sha256_hex(source)
  local known = validated:get((name or "") .. ":" .. sha)
  if known then return { source = source, sha = sha, def = known, name = name } end
  local chunkname = (name or "workflow") .. ".lua"
  local sb, err = sandbox.load(source, chunkname, limits())
  if not sb then return nil, { describe_failure(err) } end
  local data, derr = sb:data()
  if derr then
    sb:close()
    return nil, { describe_failure(derr, "the table the script returned") }
  end
  local def, probs = script.check(data)
  if not def then
    sb:close()
    local out = {}
    for _, p in ipairs(probs) do
      local line = find_line(source, p.hint)
      out[#out + 1] = line and ("line %d: %s"):format(line, p.message) or p.message
    end
    return nil, out
  end
  -- try every `only` function on sample reviews (one request per rule), so a loop or an error
  -- shows now
  local samples, scycle = sample_reviews()
  local out = {}
  for _, step in ipairs(def.timeline) do
    if step.only_fn then
      local res, ferrs = sb:map({ "timeline", step.index, "only" }, samples, { scycle })
      local ferr = res == nil and ferrs or nil
      for i = 1, #samples do ferr = ferr or (ferrs or {})[i] end
      if ferr then
        out[#out + 1] = describe_failure(ferr, ("timeline[%d] only (tried on a sample review)"):format(step.index))
        if res == nil then break end -- stopped: the sandbox is dead
      end
    end
  end
  sb:close()
  if #out > 0 then return nil, out end
  validated:set((name or "") .. ":" .. sha, def)
  return { source = source, sha = sha, def = def, name = name }
end

--- Validates a script: definition | nil, { "message", ... } (messages say the line when known).
--- A text that passed once is not run again (definitions are kept by sha256).
function M.validate(source, name)
  local entry, errs = compile(source, name)
  if not entry then return nil, errs end
  return entry.def
end

-- ------------------------------------------------------------------ versions

local by_version = {}   -- version id -> entry (definitions are immutable once saved)
local data_folder_seen = {} -- sha -> true once a data folder copy's problems were logged
local copy_checked = {}     -- sha -> { valid, errors } of data folder copies checked already

--- Names of the workflows that come with Candor (files in workflows/).
function M.names()
  local dir = app.app_dir .. "/../workflows"
  local out = {}
  for _, f in ipairs(fs.list(dir) or {}) do
    local n = f:match("^([%w_]+)%.lua$")
    if n then out[#out + 1] = n end
  end
  return out
end

local function check_name(name)
  if type(name) ~= "string" or not name:match("^[%w_]+$") then errors.not_found("There is no such workflow.") end
  local f = fs.stat(app.app_dir .. "/../workflows/" .. name .. ".lua")
  if not f then errors.not_found(("There is no workflow called %q."):format(name)) end
  return name
end

--- The built-in source of a workflow.
function M.builtin_source(name)
  check_name(name)
  return assert(fs.read(app.app_dir .. "/../workflows/" .. name .. ".lua"))
end

--- Path of the data folder copy (nil without a data folder).
function M.data_folder_path(name)
  if not app.data_dir then return nil end
  return app.data_dir .. "/workflows/" .. name .. ".lua"
end

--- The data folder copy: { path, source, valid, errors } or nil when there is none.
function M.data_folder_copy(name)
  local path = M.data_folder_path(name)
  if not path or not fs.stat(path) then return nil end
  local source, err = fs.read(path)
  if not source then
    return { path = path, valid = false, errors = { "cannot read it: " .. tostring(err and err.message or err) } }
  end
  local sha = sha256_hex(source)
  local seen = copy_checked[sha]
  if not seen then
    local def, errs = M.validate(source, name)
    seen = { valid = def ~= nil, errors = errs }
    copy_checked[sha] = seen
  end
  return { path = path, source = source, sha = sha, valid = seen.valid, errors = seen.errors }
end

local function version_setting(name) return "workflows." .. name .. ".version" end

-- The row for this source, inserted when the source is new.
local function ensure_version(name, source, origin, note, actor_id)
  local sha = sha256_hex(source)
  local row = db.row("SELECT * FROM workflow_versions WHERE name = ? AND sha256 = ?", name, sha)
  if row then return row, false end
  local id = db.insert([[INSERT INTO workflow_versions(name, source, sha256, origin, note, created_by, created_at)
    VALUES(?,?,?,?,?,?,?)]], name, source, sha, origin, note, actor_id, clock.now())
  return db.row("SELECT * FROM workflow_versions WHERE id = ?", id), true
end

--- The version new cycles use: HR's choice on the admin page > a valid data folder copy >
--- the built-in. Inserts a row for a source seen the first time.
function M.current_version(name)
  name = check_name(name or "performance_review")
  local chosen = settings.get(version_setting(name))
  if chosen and chosen > 0 then
    local row = db.row("SELECT * FROM workflow_versions WHERE id = ? AND name = ?", chosen, name)
    if row then return row end
  end
  local copy = M.data_folder_copy(name)
  if copy then
    if copy.valid then
      return (ensure_version(name, copy.source, "data_folder", "from " .. copy.path))
    end
    local key = copy.sha or copy.path
    if not data_folder_seen[key] then
      data_folder_seen[key] = true
      log.warn(("workflow %s: the copy in %s has problems, using the built-in workflow instead: %s")
        :format(name, copy.path, table.concat(copy.errors or {}, "; ")))
    end
  end
  return (ensure_version(name, M.builtin_source(name), "builtin"))
end

--- Saves a source checked on the admin page as the version new cycles use. Returns the row
--- and whether it is new; raises 422 with the problems when it is not valid.
--- Versions of a workflow, newest first, each with its creator's name and the cycles that run
--- it ({ id, name, phase }). Two queries.
function M.versions(name)
  local rows = db.query([[SELECT v.id, v.origin, v.note, v.sha256, v.created_at, v.created_by, u.name AS created_by_name
    FROM workflow_versions v LEFT JOIN users u ON u.id = v.created_by WHERE v.name = ? ORDER BY v.id DESC]], name)
  local by_id = {}
  for _, v in ipairs(rows) do
    v.cycles = {}
    by_id[v.id] = v
  end
  for _, c in ipairs(db.query([[SELECT c.id, c.name, c.phase, c.workflow_version_id FROM cycles c
      JOIN workflow_versions v ON v.id = c.workflow_version_id WHERE v.name = ? ORDER BY c.id]], name)) do
    local v = by_id[c.workflow_version_id]
    v.cycles[#v.cycles + 1] = { id = c.id, name = c.name, phase = c.phase }
  end
  return rows
end

--- One version of workflow name (with its source, its creator's name and the cycles that run
--- it), or nil when name has no such version.
function M.version(name, id)
  local v = db.row([[SELECT v.*, u.name AS created_by_name FROM workflow_versions v
    LEFT JOIN users u ON u.id = v.created_by WHERE v.id = ? AND v.name = ?]], id, name)
  if v then v.cycles = db.query("SELECT id, name, phase FROM cycles WHERE workflow_version_id = ? ORDER BY id", v.id) end
  return v
end

function M.save_version(name, source, note, actor)
  check_name(name)
  local def, errs = M.validate(source, name)
  if not def then
    errors.raise(422, "invalid", "The workflow has problems: " .. table.concat(errs, "; "), { details = errs })
  end
  if note ~= nil and (type(note) ~= "string" or util.len(note) > 500) then errors.invalid({ note = "at most 500 characters" }) end
  -- the script ran above (outside any transaction when the caller has none); the writes go together
  return db.transaction(function()
    local row, new = ensure_version(name, source, "admin", note ~= "" and note or nil, actor and actor.id)
    settings.set(version_setting(name), row.id, actor and actor.id)
    events.fire("workflow.version_saved", { version_id = row.id, name = name, new = new, actor_id = actor and actor.id })
    audit.record({ action = "workflow.saved", actor = actor, target_type = "workflow_version",
      target_id = row.id, target_label = name, details = { sha256 = row.sha256, new = new } })
    return row, new
  end)
end

--- Makes an existing version the one new cycles use (id 0: back to data folder / built-in).
function M.use_version(name, version_id, actor)
  check_name(name)
  if version_id ~= 0 and not db.row("SELECT id FROM workflow_versions WHERE id = ? AND name = ?", version_id, name) then
    errors.not_found("There is no such version of this workflow.")
  end
  settings.set(version_setting(name), version_id, actor and actor.id)
  events.fire("workflow.version_chosen", { version_id = version_id, name = name, actor_id = actor and actor.id })
  audit.record({ action = "workflow.version_chosen", actor = actor, target_type = "workflow_version",
    target_id = version_id, target_label = name })
end

-- The cached entry of a version: { def, source, sha, name, version_id, suspended }
-- (definitions are plain data, kept for every version in use; their sandboxes are not, see
-- rule_sandbox).
local function entry_of(version_id)
  local e = by_version[version_id]
  if e then return e end
  local row = db.row("SELECT id, name, source, failures, suspended_at FROM workflow_versions WHERE id = ?",
    version_id)
  if not row then error(("workflow version %s does not exist"):format(tostring(version_id)), 2) end
  local errs
  e, errs = compile(row.source, row.name)
  if not e then
    error(("workflow version %d (%s) is not valid: %s"):format(row.id, row.name, table.concat(errs, "; ")), 2)
  end
  e.version_id = row.id
  e.suspended = row.suspended_at ~= nil
  e.failures = row.failures
  by_version[version_id] = e
  return e
end

local rules -- version id (or sha of an unsaved text) -> sandbox of its `only` rules (lru, see init)

-- The sandbox that runs entry's `only` rules: kept (bounded, least recently used first); a dead
-- one is loaded again. Returns sb or nil, err.
local function rule_sandbox(entry)
  local key = entry.version_id or entry.sha
  local sb = rules:get(key)
  if sb and not sb:stats().dead then return sb end
  if sb then rules:delete(key) end
  local err
  sb, err = sandbox.load(entry.source, (entry.name or "workflow") .. ".lua", limits())
  if not sb then return nil, err end
  rules:set(key, sb, sb:stats().memory)
  return sb
end

--- The compiled versions kept for their rules: { versions =, memory =, max_versions =, max_memory = }.
function M.cache_stats()
  local st = rules:stats()
  return { versions = st.items, memory = st.cost, max_versions = st.max_items, max_memory = st.max_cost }
end

--- The validated definition of a version (cached).
function M.definition(version_id)
  return entry_of(version_id).def
end

-- The definition a cycle runs (its pinned version; before the start, the current one).
local function cycle_entry(cycle)
  if cycle.workflow_version_id then return entry_of(cycle.workflow_version_id) end
  return entry_of(M.current_version(cycle.workflow or "performance_review").id)
end

-- ------------------------------------------------------------------ recipients and mails

local REVIEW_SQL = [[
  SELECT r.id, r.cycle_id, r.reviewee_id, r.manager_id, r.self_status, r.manager_status, r.self_submitted_at,
         r.manager_submitted_at, r.shared_at, r.reviewee_signed_at, r.manager_signed_at, r.closed_at, r.reopened_at,
         u.name AS reviewee_name, u.email AS reviewee_email, u.status AS reviewee_status,
         u.department, u.location, u.job_title, u.hire_date,
         m.name AS manager_name, m.email AS manager_email, m.status AS manager_status_user
  FROM reviews r JOIN users u ON u.id = r.reviewee_id LEFT JOIN users m ON m.id = r.manager_id ]]

local function load_reviews(cycle_id)
  return db.query(REVIEW_SQL .. "WHERE r.cycle_id = ? ORDER BY u.name COLLATE FOLD, r.id", cycle_id)
end

local function load_review(review_id)
  return db.row(REVIEW_SQL .. "WHERE r.id = ?", review_id)
end

local function reachable(status) return status == "active" or status == "invited" end

local function cycle_admins(cycle_id)
  return db.query([[SELECT u.id, u.name, u.email, u.status, a.role FROM cycle_admins a JOIN users u ON u.id = a.user_id
    WHERE a.cycle_id = ? AND u.status IN ('active', 'invited') ORDER BY u.name COLLATE FOLD]], cycle_id)
end

local function base_url()
  return accounts.base_url()
end

local function names_text(list, max)
  max = max or 20
  local out = {}
  for i = 1, math.min(#list, max) do out[i] = list[i] end
  local s = table.concat(out, ", ")
  if #list > max then s = s .. (" and %d more"):format(#list - max) end
  return s
end

-- Decides `only` for each review; returns the matching ones, a problem text, and the error when
-- the rule was stopped (out of budget, memory or time: it matched nobody then). A rule runs in
-- one request for all the reviews.
local function apply_filter(entry, step, reviews, cycle)
  if not step.only or step.only == "all" then return reviews, nil end
  local out = {}
  if not step.only_fn then
    local fn = M.FILTERS[step.only].fn
    local has_self = cycle.self_assessment
    for _, r in ipairs(reviews) do
      if fn(r, has_self) then out[#out + 1] = r end
    end
    return out, nil
  end
  local where = ("timeline[%d] only"):format(step.index)
  if entry.suspended then
    return out, ("%s: not run: this version's rules are suspended (they were stopped %d times in a row)")
      :format(where, M.SUSPEND_AFTER)
  end
  if #reviews == 0 then return out, nil end
  local items = {}
  for i, r in ipairs(reviews) do items[i] = review_data(r, cycle) end
  local sb, load_err = rule_sandbox(entry)
  local res, errs = nil, load_err
  if sb then
    res, errs = sb:map({ "timeline", step.index, "only" }, items, { cycle_data(cycle) },
      { instructions = M.STEP_INSTRUCTIONS })
    rules:set_cost(entry.version_id or entry.sha, sb:stats().memory)
  end
  if not res then -- stopped for everyone: the rule is not trusted for anyone
    return out, ("%s (the rule failed for %d of %d reviews, who get no mail)")
      :format(describe_failure(errs, where), #reviews, #reviews), errs
  end
  local problem, failures = nil, 0
  for i, r in ipairs(reviews) do
    if errs[i] then
      failures = failures + 1
      problem = problem or describe_failure(errs[i], where)
    elseif res[i] then
      out[#out + 1] = r
    end
  end
  if problem then
    problem = ("%s (the rule failed for %d of %d reviews, who get no mail)"):format(problem, failures, #reviews)
  end
  return out, problem
end

-- The variables every mail of a cycle has.
local function cycle_vars(cycle)
  return {
    cycle = cycle.name,
    company = settings.get("company.name"),
    start_date = util.human_date(cycle.start_date),
    self_due = cycle.self_due and util.human_date(cycle.self_due) or "",
    manager_due = cycle.manager_due and util.human_date(cycle.manager_due) or "",
    sign_due = cycle.sign_due and util.human_date(cycle.sign_due) or "",
    has_self_assessment = cycle.self_assessment and "yes" or nil,
    self_deadline = (cycle.self_assessment and cycle.self_due) and util.human_date(cycle.self_due) or nil,
  }
end

local function with(base, extra)
  local v = util.copy(base)
  for k, x in pairs(extra) do v[k] = x end
  return v
end

-- Works out who a step mails: list of { user = {id,name,email}, vars =, cc =, review_id = } (one
-- per recipient), plus a problem text when an `only` function failed. matched: the reviews its
-- `only` matched, when known already (the filter is not run again).
local function resolve(entry, cycle, step, reviews, ctx, matched)
  local problem
  if not matched then matched, problem = apply_filter(entry, step, reviews, cycle) end
  local base = ctx.vars
  local url = ctx.url
  local out = {}
  local admins_cc
  if step.cc == "cycle_admins" or step.to == "cycle_admins" then
    ctx.admins = ctx.admins or cycle_admins(cycle.id)
    local emails = {}
    for _, a in ipairs(ctx.admins) do emails[#emails + 1] = a.email end
    admins_cc = #emails > 0 and table.concat(emails, ", ") or nil
  end
  -- a dry run only renders the first recipient's mail
  local function want_vars(list) return not ctx.first_vars_only or #list == 0 end
  local to = step.to
  if to == "reviewees" or to == "reviewee" then
    for _, r in ipairs(matched) do
      if reachable(r.reviewee_status) then
        local cc = admins_cc
        if step.cc == "manager" then
          cc = (r.manager_email and reachable(r.manager_status_user)) and r.manager_email or nil
        end
        out[#out + 1] = { user = { id = r.reviewee_id, name = r.reviewee_name, email = r.reviewee_email }, cc = cc,
          review_id = r.id,
          vars = want_vars(out) and with(base, { reviewee = r.reviewee_name, manager = r.manager_name or "",
            is_reviewee = "yes", link = url .. "/reviews/" .. r.id, count = 1 }) or nil }
      end
    end
  elseif to == "managers" or to == "manager" then
    local by_manager, order = {}, {}
    for _, r in ipairs(matched) do
      if r.manager_id and reachable(r.manager_status_user) then
        local g = by_manager[r.manager_id]
        if not g then
          g = { id = r.manager_id, name = r.manager_name, email = r.manager_email, reviews = {} }
          by_manager[r.manager_id] = g
          order[#order + 1] = g
        end
        g.reviews[#g.reviews + 1] = r
      end
    end
    for _, g in ipairs(order) do
      local names = {}
      for i, r in ipairs(g.reviews) do names[i] = r.reviewee_name end
      local one = #g.reviews == 1 and g.reviews[1] or nil
      out[#out + 1] = { user = { id = g.id, name = g.name, email = g.email }, cc = admins_cc,
        review_id = one and one.id or nil,
        vars = want_vars(out) and with(base, { reviewees = names_text(names), count = #g.reviews, is_manager = "yes",
          reviewee = one and one.reviewee_name or names_text(names), manager = g.name,
          link = one and (url .. "/reviews/" .. one.id) or (url .. "/home") }) or nil }
    end
  elseif to == "cycle_admins" then
    if #matched > 0 or not step.only or step.only == "all" then
      local names = {}
      for i, r in ipairs(matched) do names[i] = r.reviewee_name end
      for _, a in ipairs(ctx.admins) do
        out[#out + 1] = { user = { id = a.id, name = a.name, email = a.email },
          review_id = #matched == 1 and matched[1].id or nil,
          vars = with(base, { reviewees = names_text(names), count = #matched, is_admin = "yes",
            reviewee = #matched == 1 and matched[1].reviewee_name or names_text(names),
            manager = #matched == 1 and matched[1].manager_name or "",
            link = url .. "/cycles/" .. cycle.id }) }
      end
    end
  end
  for _, rc in ipairs(out) do
    local v = rc.vars
    if v then
      v.name = rc.user.name
      v.first_name = rc.user.name and rc.user.name:match("^(%S+)")
      v.email = rc.user.email
    end
  end
  return out, problem
end

local function new_ctx(cycle)
  return { vars = cycle_vars(cycle), url = base_url() }
end

-- Queues the mails of a step; returns how many were queued.
local function send(entry, cycle, step, reviews, key_part, matched, problem)
  local recipients, filter_problem = resolve(entry, cycle, step, reviews, new_ctx(cycle), matched)
  problem = problem or filter_problem
  if problem then
    log.warn(("workflow of cycle %d (%s), %s: %s"):format(cycle.id, cycle.name, step.id, problem))
  end
  local n = 0
  for _, rc in ipairs(recipients) do
    local id = mail.queue({ template = step.template, to = rc.user, vars = rc.vars, cc = rc.cc,
      related_type = "cycle", related_id = cycle.id,
      dedupe_key = ("wf:%d:%s:%s:%d"):format(cycle.id, step.id, key_part, rc.user.id) })
    if id then n = n + 1 end
  end
  return n
end

-- ------------------------------------------------------------------ planning

local function phase_rank(def, id)
  if id == "draft" then return 0 end
  local p = def.phase_by_id[id]
  return p and p.index or math.huge
end

local function job_prefix(cycle_id) return ("cycle:%d:wf:"):format(cycle_id) end

-- Plans the cycle's dated steps and automatic transitions (replacing what was planned).
-- Returns the number of jobs planned.
local function plan(cycle, entry)
  app.cancel_jobs(job_prefix(cycle.id), true)
  if cycle.phase == "draft" or cycle.phase == "closed" then return 0 end
  local def = entry.def
  local now = clock.now()
  local today = util.format_date(now)
  local n = 0
  for _, step in ipairs(def.timeline) do
    if step.at then
      local ts = M.when(cycle, step)
      if ts and ts < now and util.format_date(ts) == today then ts = now end
      if ts and ts >= now then
        app.schedule(ts, "workflow.step", { cycle_id = cycle.id, step = step.id, date = util.format_date(ts) },
          job_prefix(cycle.id) .. "step:" .. step.id)
        n = n + 1
      end
    end
  end
  local rank = phase_rank(def, cycle.phase)
  for _, tr in ipairs(def.transitions) do
    if tr.at and phase_rank(def, tr.from) >= rank then
      local ts = M.when(cycle, tr)
      if ts then
        app.schedule(math.max(ts, now), "workflow.transition", { cycle_id = cycle.id, transition = tr.index },
          job_prefix(cycle.id) .. "transition:" .. tr.index)
        n = n + 1
      end
    end
  end
  return n
end

local function fresh_cycle(cycle)
  local id = type(cycle) == "table" and cycle.id or cycle
  local row = cycles.get(id)
  if not row then errors.not_found("There is no such cycle.") end
  return row
end

-- ------------------------------------------------------------------ roles and transitions

local SYSTEM = {} -- the actor of automatic transitions

-- Updates the caller's cycle table with the fields the engine changed; returns it.
local function copy_back(cycle, row)
  if type(cycle) ~= "table" then return row end
  for _, k in ipairs({ "phase", "workflow_version_id", "started_at", "closed_at", "updated_at" }) do
    cycle[k] = row[k]
  end
  return cycle
end

local function roles_of(cycle, actor)
  local set = {}
  if not actor or actor == SYSTEM then return set end
  for _, r in ipairs(actor.roles or access.roles(actor.id)) do set[r] = true end
  local cr = cycles.cycle_role(actor.id, cycle.id)
  if cr then set["cycle_" .. cr] = true end
  return set
end

local function may(tr, roles)
  for _, r in ipairs(tr.by) do if roles[r] then return true end end
  return false
end

local function who_may(tr)
  if #tr.by == 0 then return "nobody (it happens by itself)" end
  local out = {}
  for i, r in ipairs(tr.by) do out[i] = M.ROLE_LABELS[r] or r end
  return table.concat(out, ", ")
end

-- Moves the cycle along tr (checked already), re-plans, and fires cycle.phase_changed and the
-- transition's event.
local function apply(cycle, entry, tr, actor)
  local now = clock.now()
  local n = db.exec([[UPDATE cycles SET phase = ?, updated_at = ?,
      closed_at = CASE WHEN ? = 'closed' THEN ? ELSE closed_at END,
      started_at = CASE WHEN ? = 'draft' THEN COALESCE(started_at, ?) ELSE started_at END
    WHERE id = ? AND phase = ?]], tr.to, now, tr.to, now, tr.from, now, cycle.id, tr.from)
  if n == 0 then errors.conflict("The cycle moved on meanwhile; reload and try again.") end
  cycle.phase = tr.to
  cycle.updated_at = now
  if tr.to == "closed" then cycle.closed_at = now end
  if tr.from == "draft" then cycle.started_at = cycle.started_at or now end
  plan(cycle, entry)
  local data = { cycle_id = cycle.id, from = tr.from, to = tr.to, actor_id = actor ~= SYSTEM and actor and actor.id or nil,
    automatic = actor == SYSTEM }
  events.fire("cycle.phase_changed", data)
  if tr.event then
    events.fire(tr.event, { cycle_id = cycle.id, from = tr.from, to = tr.to, actor_id = data.actor_id,
      automatic = data.automatic })
  end
end

--- Starts a draft cycle (inside the caller's transaction, after its reviews have their
--- managers): pins the current workflow version, moves the phase along the transition from
--- draft (checking `by` against the actor's roles and cycle role), plans the timeline and
--- emits the transition's event. Updates and returns the cycle table.
function M.start(cycle, actor)
  local row = fresh_cycle(cycle)
  if row.phase ~= "draft" then errors.conflict("This cycle has started already.") end
  local version = M.current_version(row.workflow or "performance_review")
  local entry = entry_of(version.id)
  local tr
  for _, t in ipairs(entry.def.transitions) do if t.from == "draft" then tr = t end end
  if actor ~= SYSTEM and not may(tr, roles_of(row, actor)) then
    errors.forbidden(("Only %s may start this cycle."):format(who_may(tr)))
  end
  db.exec("UPDATE cycles SET workflow_version_id = ? WHERE id = ?", version.id, row.id)
  row.workflow_version_id = version.id
  apply(row, entry, tr, actor)
  return copy_back(cycle, row)
end

--- Moves a started cycle to another phase by hand: 409 when the workflow has no transition
--- from the current phase to to_phase, 403 when the actor is not among its `by`.
function M.transition(cycle, to_phase, actor)
  local row = fresh_cycle(cycle)
  if row.phase == "draft" then
    errors.conflict("This cycle has not started yet: start it first.")
  end
  local entry = entry_of(row.workflow_version_id)
  local def = entry.def
  local tr
  for _, t in ipairs(def.transitions) do
    if t.from == row.phase and t.to == to_phase then tr = t end
  end
  if not tr then
    local cur = def.phase_by_id[row.phase]
    local target = def.phase_by_id[to_phase]
    errors.conflict(("The cycle is in the phase %s; its workflow has no way from there to %s."):format(
      cur and cur.label or row.phase, target and target.label or tostring(to_phase)))
  end
  if actor ~= SYSTEM then
    if #tr.by == 0 then
      errors.conflict(("%s happens by itself on its date; nobody makes it by hand."):format(tr.label))
    end
    if not actor or not may(tr, roles_of(row, actor)) then
      errors.forbidden(("Only %s may %s."):format(who_may(tr), util.lower(util.utf8_sub(tr.label, 1, 1)) .. util.utf8_sub(tr.label, 2)))
    end
  end
  apply(row, entry, tr, actor)
  return copy_back(cycle, row)
end

--- The transitions the actor may make now: { to=, label=, event=, automatic = ts | nil }.
function M.available_transitions(cycle, actor)
  local row = type(cycle) == "table" and cycle.phase and cycle or fresh_cycle(cycle)
  local entry = cycle_entry(row)
  local roles = roles_of(row, actor)
  local out = {}
  for _, t in ipairs(entry.def.transitions) do
    if t.from == row.phase and #t.by > 0 and may(t, roles) then
      out[#out + 1] = { to = t.to, label = t.label, event = t.event, automatic = t.at and M.when(row, t) or nil }
    end
  end
  return out
end

--- The phases for the UI: { {id, label, current, done}, ... } with draft first.
function M.phases(cycle)
  local entry = cycle_entry(cycle)
  local list = { { id = "draft", label = "Draft" } }
  for _, p in ipairs(entry.def.phases) do list[#list + 1] = { id = p.id, label = p.label } end
  local cur
  for i, p in ipairs(list) do if p.id == cycle.phase then cur = i end end
  for i, p in ipairs(list) do
    p.current = i == cur
    p.done = cur ~= nil and i < cur or false
  end
  return list
end

--- Whether the cycle's current phase allows an activity (self_write, manager_write, share, sign).
function M.allows(cycle, activity)
  assert(M.ACTIVITY_LABELS[activity], "unknown activity " .. tostring(activity))
  if not cycle.workflow_version_id or cycle.phase == "draft" then return false end
  local p = entry_of(cycle.workflow_version_id).def.phase_by_id[cycle.phase]
  return p ~= nil and p.allows[activity] == true
end

--- Plans the timeline again after the cycle's dates changed (same version).
function M.reschedule(cycle)
  local row = fresh_cycle(cycle)
  if row.phase == "draft" or not row.workflow_version_id then return 0 end
  return plan(row, entry_of(row.workflow_version_id))
end

--- Cancels every job of the cycle (it is being deleted).
function M.stop(cycle)
  local id = type(cycle) == "table" and cycle.id or cycle
  return app.cancel_jobs(("cycle:%d:"):format(id), true)
end

-- ------------------------------------------------------------------ events

local function emit_in(cycle, entry, event, data)
  local def = entry.def
  local review = data and data.review
  local n = 0
  for _, step in ipairs(def.timeline) do
    if step.on == event and (not step.during or step.during[cycle.phase]) then
      local reviews, key
      if step.kind == "review_event" then
        local r = review and load_review(review.id)
        if r then
          reviews = { r }
          key = ("r%d.%d"):format(r.id, r.reopened_at or 0)
        end
      else
        reviews = load_reviews(cycle.id)
        key = "c"
      end
      if reviews and step.only_fn then
        -- a rule is customer code: it runs from a job, outside this transaction (the job is
        -- planned with the change, so a change that rolls back plans nothing)
        app.schedule(clock.now(), "workflow.event", { cycle_id = cycle.id, step = step.id,
          review_id = step.kind == "review_event" and reviews[1].id or nil, key = key },
          ("cycle:%d:wfevent:%s:%s"):format(cycle.id, step.id, key))
      elseif reviews then
        n = n + send(entry, cycle, step, reviews, key)
      end
    end
  end
  return n
end

--- Emits an event of a started cycle: queues the mails of the timeline's `on` steps for it.
--- data.review is the reviews row for review.* events. Returns the number of mails queued.
function M.emit(cycle, event, data)
  local row = fresh_cycle(cycle)
  if not row.workflow_version_id then return 0 end
  local entry = entry_of(row.workflow_version_id)
  if not M.EVENTS[event] and not entry.def.events[event] then
    error("unknown workflow event " .. tostring(event), 2)
  end
  if M.EVENTS[event] == "review" and not (data and data.review and data.review.id) then
    error("event " .. event .. " needs data.review", 2)
  end
  return emit_in(row, entry, event, data or {})
end

-- The bus: every cycle.* and review.* event of a started cycle runs the timeline's `on` steps.
local function on_event(e, name)
  if not e.cycle_id then return end
  local area = name:match("^(%a+)%.")
  if area ~= "cycle" and area ~= "review" then return end
  if M.EVENTS[name] == "review" and not e.review_id then return end
  local cycle = cycles.get(e.cycle_id)
  if not cycle or not cycle.workflow_version_id then return end
  local entry = entry_of(cycle.workflow_version_id)
  if not M.EVENTS[name] and not entry.def.events[name] then return end
  emit_in(cycle, entry, name, { review = e.review_id and { id = e.review_id } or nil })
end

--- Whether a workflow version in use names event in one of its transitions.
function M.declares_event(name)
  for _, e in pairs(by_version) do
    if e.def.events[name] then return true end
  end
  return false
end

-- The actor of an event: the person (the evaluator has their roles), or nil.
local function actor_of(e)
  return e.actor_id and { id = e.actor_id } or nil
end

-- ------------------------------------------------------------------ jobs

-- The HR Admins who hear about a suspended version.
local function hr_admins()
  return db.query([[SELECT u.id, u.name, u.email FROM users u JOIN user_roles r ON r.user_id = u.id
    AND r.role = 'hr_admin' WHERE u.status = 'active' ORDER BY u.id]])
end

-- The rule of a saved version was stopped on a job run (out of budget, memory or time). Counts
-- it; the SUSPEND_AFTER-th time in a row the version is suspended (its rules no longer run) and
-- the HR Admins are told, and the job ends; before that the job fails and is tried again later.
local function rule_stopped(entry, cycle, step, err)
  local reason = describe_failure(err, ("timeline[%d] only"):format(step.index))
  if not entry.version_id then error(reason, 0) end
  local count = db.transaction(function()
    db.exec("UPDATE workflow_versions SET failures = failures + 1, last_failure = ? WHERE id = ?", reason,
      entry.version_id)
    local row = db.row("SELECT name, failures, suspended_at FROM workflow_versions WHERE id = ?", entry.version_id)
    if row.suspended_at or row.failures < M.SUSPEND_AFTER then return row.failures end
    db.exec("UPDATE workflow_versions SET suspended_at = ? WHERE id = ?", clock.now(), entry.version_id)
    local running = db.column("SELECT name FROM cycles WHERE workflow_version_id = ? AND phase <> 'closed' ORDER BY id",
      entry.version_id)
    for _, u in ipairs(hr_admins()) do
      mail.queue({ template = "workflow.suspended", to = u, related_type = "workflow_version",
        related_id = entry.version_id,
        dedupe_key = ("wf-suspended:%d:%d:%d"):format(entry.version_id, clock.now(), u.id),
        vars = { workflow = row.name, version = entry.version_id, reason = reason, count = row.failures,
          cycles = #running > 0 and table.concat(running, ", ") or "none",
          link = ("%s/admin/workflows/%s/versions/%d"):format(base_url(), row.name, entry.version_id) } })
    end
    audit.record({ action = "workflow.suspended", target_type = "workflow_version", target_id = entry.version_id,
      target_label = row.name, details = { reason = reason, failures = row.failures } })
    events.fire("workflow.version_suspended", { version_id = entry.version_id, name = row.name, reason = reason,
      cycle_id = cycle.id })
    return nil
  end)
  if count then
    entry.failures = count
    error(("workflow version %d, cycle %d, %s (stopped %d time%s in a row; it is tried again later, and suspended"
      .. " after %d)"):format(entry.version_id, cycle.id, reason, count, count == 1 and "" or "s", M.SUSPEND_AFTER), 0)
  end
  entry.suspended = true
  log.warn(("workflow version %d suspended after %d stopped runs: %s"):format(entry.version_id, M.SUSPEND_AFTER,
    reason))
  return 0
end

-- The rule of a saved version ran through: its count of stopped runs starts again.
local function rule_worked(entry)
  if entry.version_id and (entry.failures or 0) > 0 then
    db.exec("UPDATE workflow_versions SET failures = 0 WHERE id = ?", entry.version_id)
    entry.failures = 0
  end
end

-- What an `only` rule sees of the reviews, to tell whether it changed while the rule ran.
local function snapshot(reviews, cycle)
  local parts = {}
  for i, r in ipairs(reviews) do
    local d = review_data(r, cycle)
    local f = {}
    for j, k in ipairs(REVIEW_FIELDS) do f[j] = tostring(d[k]) end
    parts[i] = table.concat(f, ",") .. "|" .. tostring(r.department) .. "|" .. tostring(r.location) .. "|"
      .. tostring(r.job_title) .. "|" .. tostring(r.manager_name)
  end
  return table.concat(parts, "\n")
end

-- Runs a step of a started cycle: the step found by find(def) for reviews_of(cycle), its mails
-- keyed by key_part. A step with a rule runs the rule first, outside any transaction, then
-- sends in a transaction that checks nothing the rule saw changed meanwhile (else it runs again).
local function run_step(cycle_id, find, reviews_of, key_part)
  for _ = 1, 3 do
    local cycle = cycles.get(cycle_id)
    if not cycle or not cycle.workflow_version_id or cycle.phase == "draft" or cycle.phase == "closed" then return 0 end
    local entry = entry_of(cycle.workflow_version_id)
    local step = find(entry.def)
    if not step or (step.during and not step.during[cycle.phase]) then return 0 end
    if not step.only_fn then
      return db.transaction(function()
        local again = cycles.get(cycle_id)
        if not again or again.phase ~= cycle.phase then return 0 end
        return send(entry, again, step, reviews_of(again) or {}, key_part)
      end)
    end
    local reviews = reviews_of(cycle)
    if not reviews then return 0 end
    local matched, problem, stopped = apply_filter(entry, step, reviews, cycle)
    if stopped then return rule_stopped(entry, cycle, step, stopped) end
    local sent = db.transaction(function()
      rule_worked(entry)
      local again = cycles.get(cycle_id)
      if not again or again.phase ~= cycle.phase or again.workflow_version_id ~= cycle.workflow_version_id then
        return false
      end
      local fresh = reviews_of(again)
      if not fresh or snapshot(fresh, again) ~= snapshot(reviews, cycle) then return false end
      return send(entry, again, step, fresh, key_part, matched, problem)
    end)
    if sent then return sent end
  end
  error(("cycle %d: the reviews kept changing while the step's rule ran; it runs again later"):format(cycle_id), 0)
end

local function run_step_job(p)
  return run_step(p.cycle_id, function(def)
    for _, s in ipairs(def.timeline) do if s.id == p.step and s.at then return s end end
  end, function(cycle) return load_reviews(cycle.id) end, p.date or util.format_date(clock.now()))
end

-- A step on an event whose rule the event could not run in its transaction.
local function run_event_job(p)
  return run_step(p.cycle_id, function(def)
    for _, s in ipairs(def.timeline) do if s.id == p.step and s.on then return s end end
  end, function(cycle)
    if not p.review_id then return load_reviews(cycle.id) end
    local r = load_review(p.review_id)
    return r and r.cycle_id == cycle.id and { r } or nil
  end, p.key)
end

-- Compiles the versions that running cycles and new cycles use, from a job at start (a script
-- may run there without blocking anyone): else the first request needing one inside a
-- transaction would compile it with the loop blocked. Returns how many it compiled.
local function run_warm_job()
  local ids = db.column([[SELECT DISTINCT workflow_version_id FROM cycles
    WHERE workflow_version_id IS NOT NULL AND phase <> 'closed']])
  for _, name in ipairs(M.names()) do ids[#ids + 1] = M.current_version(name).id end
  local n = 0
  for _, id in ipairs(ids) do
    local ok, err = pcall(entry_of, id)
    if ok then n = n + 1 else log.warn(("workflow version %d could not be compiled: %s"):format(id, tostring(err))) end
  end
  log.info(("workflow versions compiled ahead of their use: %d"):format(n))
  return n
end

local function run_transition_job(p)
  return db.transaction(function()
    local cycle = cycles.get(p.cycle_id)
    if not cycle or not cycle.workflow_version_id then return end
    local entry = entry_of(cycle.workflow_version_id)
    for _, t in ipairs(entry.def.transitions) do
      if t.index == p.transition and t.from == cycle.phase then
        apply(cycle, entry, t, SYSTEM)
        return
      end
    end
  end)
end

-- ------------------------------------------------------------------ dry run

local function filter_label(step)
  if not step.only then return "everyone" end
  if step.only_fn then return "custom rule (a function in the script)" end
  return M.FILTERS[step.only].label
end

-- When an event step would happen, if the workflow knows.
local function event_time(cycle, def, event)
  if event == "cycle.started" then
    if cycle.started_at then return cycle.started_at end
    local d = anchor_date(cycle, "start")
    return d and (util.date_to_ts(d) + send_hour() * 3600) or nil
  end
  for _, t in ipairs(def.transitions) do
    if t.event == event and t.at then return M.when(cycle, t), t end
  end
  return nil
end

--- The dated list of every notification a script (source text or version id) would send for
--- a cycle, with today's recipients. Returns items sorted by date, or nil, messages. A cycle that
--- has started keeps its version: that one is dry-run whatever was given, and a third value
--- { version_id = } says so.
function M.dry_run(source_or_version, cycle)
  local entry, errs
  local own = false
  local started = cycles.get(cycle.id)
  local pinned = started and started.phase ~= "draft" and started.workflow_version_id or nil
  if pinned then source_or_version = pinned end
  if type(source_or_version) == "number" then
    entry = entry_of(source_or_version)
  else
    entry, errs = compile(source_or_version, cycle and cycle.workflow or "performance_review")
    if not entry then return nil, errs end
    own = true
  end
  local def = entry.def
  local now = clock.now()
  cycle = started or cycle
  local reviews = load_reviews(cycle.id)
  local ctx = new_ctx(cycle)
  ctx.first_vars_only = true
  local items = {}
  local problems = {}
  -- a started cycle's phase, or the phase it would start in
  local sim = util.copy(cycle)
  if sim.phase == "draft" then
    for _, t in ipairs(def.transitions) do if t.from == "draft" then sim.phase = t.to end end
  end
  for _, step in ipairs(def.timeline) do
    local item = { step = step.index, id = step.id, template = step.template, label = step.label,
      to = M.GROUPS[step.to].label, group = step.to, filter = filter_label(step),
      cc = step.cc and (step.cc == "cycle_admins" and M.GROUPS.cycle_admins.label or "The reviewee's manager") or nil }
    local recipients, problem, matched = {}, nil, nil
    if step.at then
      item.kind = "scheduled"
      item.when = M.when(cycle, step)
      item.rule = ("%d day%s %s %s"):format(math.abs(step.offset), math.abs(step.offset) == 1 and "" or "s",
        step.offset < 0 and "before" or "after", M.ANCHOR_LABELS[step.at])
      if step.offset == 0 then item.rule = "on " .. M.ANCHOR_LABELS[step.at] end
      if not item.when then
        item.note = ("not sent: the cycle has no date for %s"):format(M.ANCHOR_LABELS[step.at])
      else
        matched, problem = apply_filter(entry, step, reviews, sim)
        recipients = resolve(entry, sim, step, reviews, ctx, matched)
      end
    else
      item.kind = "on event"
      item.event = step.on
      item.when = event_time(cycle, def, step.on)
      item.rule = "when " .. step.on .. " happens"
      matched, problem = apply_filter(entry, step, reviews, sim)
      recipients = resolve(entry, sim, step, reviews, ctx, matched)
      if step.kind == "review_event" then
        -- every review could raise the event: everyone who would get a mail, once
        item.note = "one mail each time it happens, about that review"
      end
    end
    if step.during then
      local names = {}
      for ph in pairs(step.during) do names[#names + 1] = ph end
      table.sort(names)
      item.during = table.concat(names, ", ")
    end
    if problem then
      item.problem = problem
      problems[#problems + 1] = problem
    end
    local gone = item.when ~= nil and item.when < now
    item.past = (gone and step.at ~= nil and util.format_date(item.when) ~= util.format_date(now)) or nil
    item.date = item.when and util.format_date(item.when) or nil
    item.count = #recipients
    item.recipients = {}
    for i, rc in ipairs(recipients) do
      item.recipients[i] = { id = rc.user.id, name = rc.user.name, email = rc.user.email, cc = rc.cc }
    end
    if step.kind == "review_event" and reviews[1] and recipients[1] then
      -- the mail is about one review: render it for the first review that gets one
      for _, r in ipairs(matched or reviews) do
        local one = resolve(entry, sim, step, { r }, ctx, { r })
        if one[1] then
          item.subject = (mail.render(step.template, one[1].vars))
          break
        end
      end
    elseif recipients[1] then
      item.subject = (mail.render(step.template, recipients[1].vars))
    else
      local g = step.to
      item.subject = (mail.render(step.template, with(ctx.vars, { reviewee = "(reviewee)", manager = "(manager)",
        reviewees = "(reviewees)", name = "(name)", first_name = "(name)", link = ctx.url, count = 0,
        is_reviewee = (g == "reviewees" or g == "reviewee") and "yes" or nil,
        is_manager = (g == "managers" or g == "manager") and "yes" or nil,
        is_admin = g == "cycle_admins" and "yes" or nil })))
    end
    items[#items + 1] = item
  end
  for _, t in ipairs(def.transitions) do
    if t.at then
      local when = M.when(cycle, t)
      items[#items + 1] = { kind = "transition", when = when, date = when and util.format_date(when) or nil,
        label = t.label, from = t.from, to = t.to, event = t.event, count = 0, recipients = {},
        rule = ("%s %s"):format(t.offset == 0 and "on" or (("%d day%s %s"):format(math.abs(t.offset),
          math.abs(t.offset) == 1 and "" or "s", t.offset < 0 and "before" or "after")), M.ANCHOR_LABELS[t.at]),
        note = when and ("the cycle moves from %s to %s by itself"):format(t.from, t.to)
          or ("never: the cycle has no date for %s"):format(M.ANCHOR_LABELS[t.at]) }
    end
  end
  table.sort(items, function(a, b)
    local wa, wb = a.when or math.huge, b.when or math.huge
    if wa ~= wb then return wa < wb end
    return (a.step or 1e9) < (b.step or 1e9)
  end)
  if own then rules:delete(entry.sha) end
  return items, problems, pinned and { version_id = pinned } or nil
end

-- ------------------------------------------------------------------ init

function M.init(a)
  app = a
  by_version = {}
  data_folder_seen = {}
  copy_checked = {}
  validated = lru.new({ max_items = 64 })
  rules = lru.new({ max_items = M.CACHE.versions, max_cost = M.CACHE.memory,
    on_evict = function(_, sb) sb:close() end })
  script.read_roles()
  settings.define("notifications.send_hour_utc", { type = "integer", default = 9, between = { 0, 23 },
    description = "The hour (UTC) at which dated notifications of a cycle's timeline go out." })
  settings.define("workflows.script_timeout_ms", { type = "integer", default = 3000, between = { 100, 60000 },
    description = "How long (milliseconds of wall clock) one call of a workflow script may run before its worker "
      .. "process is killed." })
  for _, name in ipairs(M.names()) do
    settings.define(version_setting(name), { type = "integer", default = 0, between = { 0 },
      description = ("The version of the %s workflow chosen on the admin page (0: the data folder copy or the "
        .. "built-in)."):format(name) })
    local def, errs = M.validate(M.builtin_source(name), name)
    if not def then error(("the built-in workflow %s is not valid: %s"):format(name, table.concat(errs, "; "))) end
    -- the data folder copy is checked when it is first used (a cycle starts, the admin page
    -- opens): services initialised after this one may still define mail templates it uses
  end
  app.on_job("workflow.step", run_step_job)
  app.on_job("workflow.event", run_event_job)
  app.on_job("workflow.transition", run_transition_job)
  app.on_job("workflow.warm", run_warm_job)
  if not app.test then app.schedule(clock.now(), "workflow.warm", {}, "workflow:warm") end
  events.hook("cycle.starting", function(e) M.start(e.cycle_id, actor_of(e)) end)
  events.hook("cycle.moving", function(e) M.transition(e.cycle_id, e.to, actor_of(e)) end)
  events.hook("cycle.updated", function(e)
    if e.dates_changed and #e.dates_changed > 0 then M.reschedule(e.cycle_id) end
  end)
  events.hook("cycle.deleted", function(e) M.stop(e.cycle_id) end)
  events.hook("*", on_event)
end

M.SYSTEM = SYSTEM

return M
