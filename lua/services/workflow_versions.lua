-- The versions of cycle workflows: every source used is a workflow_versions row (deduplicated
-- on sha256); new cycles use current_version(name): the one HR chose on the admin page, else a
-- valid copy in <data>/workflows/<name>.lua, else the built-in file. A text is checked once
-- (compiled in core.sandbox against its schema, services/workflow_script.lua, its `only` rules
-- tried on sample reviews) and its definition kept by sha256; the definitions of versions in use
-- and the sandboxes of their rules are cached here. The engine that runs them is
-- services/workflows.lua.
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
local audit = require "services.audit"
local settings = require "services.settings"
local script = require "services.workflow_script"

local M = {}

local app -- set by init

--- Limits for workflow scripts (a data script needs a tiny part of them); the wall-clock deadline
--- of one call is the setting workflows.script_timeout_ms.
M.LIMITS = { memory_limit = 8 * 1024 * 1024, instruction_limit = 5000000 }
--- Compiled versions kept for their `only` rules (least recently used go first): how many, and
--- how much memory their sandboxes may hold in all.
M.CACHE = { versions = 8, memory = 64 * 1024 * 1024 }

local function sha256_hex(s) return crypto.hex(crypto.sha256(s)) end

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
function M.describe_failure(err, where)
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
M.REVIEW_FIELDS = { "id", "reviewee_id", "manager_id", "self_status", "manager_status", "self_submitted_at",
  "manager_submitted_at", "shared_at", "reviewee_signed_at", "manager_signed_at", "closed_at", "reopened_at" }

function M.review_data(r, cycle)
  local out = {}
  for _, k in ipairs(M.REVIEW_FIELDS) do out[k] = r[k] end
  out.has_self_assessment = cycle.self_assessment
  out.reviewee = { name = r.reviewee_name, department = r.department, location = r.location,
    job_title = r.job_title, hire_date = r.hire_date }
  out.manager = r.manager_id and { name = r.manager_name } or nil
  return out
end

function M.cycle_data(cycle)
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
    out[i] = M.review_data(r, cycle)
  end
  return out, M.cycle_data(cycle)
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
function M.compile(source, name)
  if type(source) ~= "string" or source:match("^%s*$") then
    return nil, { "the script is empty: it must return a table with name, phases, transitions and timeline" }
  end
  if #source > 256 * 1024 then return nil, { "the script is longer than 256 KiB" } end
  local sha = sha256_hex(source)
  local known = validated:get((name or "") .. ":" .. sha)
  if known then return { source = source, sha = sha, def = known, name = name } end
  local chunkname = (name or "workflow") .. ".lua"
  local sb, err = sandbox.load(source, chunkname, limits())
  if not sb then return nil, { M.describe_failure(err) } end
  local data, derr = sb:data()
  if derr then
    sb:close()
    return nil, { M.describe_failure(derr, "the table the script returned") }
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
        out[#out + 1] = M.describe_failure(ferr, ("timeline[%d] only (tried on a sample review)"):format(step.index))
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
  local entry, errs = M.compile(source, name)
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

--- Saves a source checked on the admin page as the version new cycles use. Returns the row
--- and whether it is new; raises 422 with the problems when it is not valid.
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

--- The cached entry of a version: { def, source, sha, name, version_id, suspended }
-- (definitions are plain data, kept for every version in use; their sandboxes are not, see
-- rule_sandbox).
function M.entry_of(version_id)
  local e = by_version[version_id]
  if e then return e end
  local row = db.row("SELECT id, name, source, failures, suspended_at FROM workflow_versions WHERE id = ?",
    version_id)
  if not row then error(("workflow version %s does not exist"):format(tostring(version_id)), 2) end
  local errs
  e, errs = M.compile(row.source, row.name)
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

--- The sandbox that runs entry's `only` rules: kept (bounded, least recently used first); a dead
-- one is loaded again. Returns sb or nil, err.
function M.rule_sandbox(entry)
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
  return M.entry_of(version_id).def
end

--- The definition a cycle runs (its pinned version; before the start, the current one).
function M.cycle_entry(cycle)
  if cycle.workflow_version_id then return M.entry_of(cycle.workflow_version_id) end
  return M.entry_of(M.current_version(cycle.workflow or "performance_review").id)
end


--- Sets the memory a kept rule sandbox uses (after a run).
function M.rule_cost(entry, sb) rules:set_cost(entry.version_id or entry.sha, sb:stats().memory) end

--- Closes the rule sandbox of an unsaved text (a dry run's).
function M.drop_rules(entry) rules:delete(entry.sha) end

--- Whether a version in use (cached) names event in one of its transitions.
function M.declares_event(name)
  for _, e in pairs(by_version) do
    if e.def.events[name] then return true end
  end
  return false
end

-- ------------------------------------------------------------------ setup

--- Empties the caches and defines the settings of the versions; checks every built-in workflow
--- (raises when one is not valid).
function M.init(a)
  app = a
  by_version = {}
  data_folder_seen = {}
  copy_checked = {}
  validated = lru.new({ max_items = 64 })
  rules = lru.new({ max_items = M.CACHE.versions, max_cost = M.CACHE.memory,
    on_evict = function(_, sb) sb:close() end })
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
end

return M
