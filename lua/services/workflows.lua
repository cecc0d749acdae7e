-- The workflow engine: runs the cycle workflow scripts of workflows/ (phases, transitions,
-- notification timeline) for every kind of cycle: performance reviews, 360 feedback, and
-- whatever a module declares with define_kind.
--
-- A kind (declared by the module that owns its cycles, e.g. services/review_workflow.lua) says
-- where its cycles live, the dates a timeline can be relative to (anchors), what a phase can
-- allow (activities), the events the module fires and what each is about (an item type such as
-- "review" or "request"), who a step can mail (recipient groups, each over an item type), the
-- named filters of `only`, the mail templates and the plain data `only` functions see. The
-- engine itself only adds the group cycle_admins and the filter all. A script's schema is built
-- from these words (services/workflow_script.lua). docs/scripting.md explains how to declare a
-- kind.
--
-- A script is Lua that returns a table (see workflows/performance_review.lua and
-- docs/scripting.md). It runs in core.sandbox, in a worker process (no io/os/debug/package, no
-- bytecode, an instruction budget, a memory cap and a wall-clock deadline), so an endless loop
-- or a memory bomb stops that script with a clear message and the server carries on. Its data
-- is validated in full; the functions it may hold (timeline `only` rules) are called in the
-- sandbox with plain status data, never answer text: one request per step for all its items,
-- from a job, outside any transaction (a step whose rule runs on an event is queued as a job).
-- A version whose rule is stopped on three job runs in a row is suspended and HR Admins are told.
--
-- Versions: every source used is a workflow_versions row (deduplicated on sha256). New cycles
-- use current_version(name): the one HR chose on the admin page, else a valid copy in
-- <data>/workflows/<name>.lua, else the built-in file. A cycle pins its version when it
-- starts and keeps it (definitions are cached by version id and never re-read from disk).
--
-- Timeline: dated steps (at an anchor date + offset days, at notifications.send_hour, company time)
-- become scheduler jobs keyed <kind prefix>:<id>:wf:step:<step> when the cycle starts;
-- automatic transitions <kind prefix>:<id>:wf:transition:<n>. Re-planning replaces them. A step
-- re-reads the statuses when it runs and sends at most one mail per recipient and date (outbox
-- dedupe key). An event step with batch = <minutes> collects what happens for one recipient
-- (workflow_batches) and sends one mail when the first item is that old.
--
-- Events: the engine is not called by the cycle services; it hooks their events
-- (docs/events.md). For a kind whose cycle events are in the area <area> (cycle for reviews,
-- feedback_cycle for 360 feedback): <area>.starting and <area>.moving make transitions,
-- <area>.updated re-plans, <area>.deleted cancels the jobs, and every event of the kind a
-- timeline step names in `on` queues that step's mails. A transition fires
-- <area>.phase_changed and its own event.
local sandbox = require "core.sandbox"
local crypto = require "core.crypto"
local clock = require "core.clock"
local fs = require "core.fs"
local log = require "core.log"
local db = require "lib.db"
local pacing = require "lib.pacing"
local errors = require "lib.errors"
local events = require "lib.events"
local lru = require "lib.lru"
local util = require "lib.util"
local dates = require "lib.dates"
local access = require "services.access"
local accounts = require "services.accounts"
local audit = require "services.audit"
local mail = require "services.mail"
local settings = require "services.settings"
local script = require "services.workflow_script"

local M = {}

local app -- set by init

-- ------------------------------------------------------------------ kinds

--- Who a transition can name in `by` (every kind): the company's roles and the cycle roles
--- (services/workflow_script.lua reads them from the policy).
M.ROLES, M.ROLE_LABELS = script.ROLES, script.ROLE_LABELS

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
--- Milliseconds of work before a step to a whole cycle lets the event loop serve others: a
--- stretch of working out recipients, a slice of mails queued, counted from the end of the last
--- pause (the collector's share, lib/pacing, is part of it). With the slice's commit (it does
--- not wait for the disk: db.slices), a stretch stays within the 5 ms a periodic task may hold
--- the loop.
M.SLICE_MS = 2.5
--- Items read per transaction by a step to a whole cycle (kinds whose items have page()): a page
--- of 500 reviews took 3.1 ms to read on a slower machine, which with the collection counted into
--- the stretch before it came near the 5 ms; 200 take about 1.3 ms.
M.PAGE = 200

--- A pacer for long work outside any transaction (lib/pacing.long): call it often; once
--- M.SLICE_MS went by since the last pause (or at once with now = true) it lets the event loop
--- serve others (pacing.pause). It never pauses inside a transaction.
function M.pacer()
  local last = clock.mono_us()
  return function(now)
    if (now or math.max(clock.mono_us() - last, pacing.elapsed_us()) >= M.SLICE_MS * 1000) and db.depth() == 0 then
      pacing.pause()
      last = clock.mono_us()
    end
  end
end

--- The kinds of cycle, by workflow name.
local kinds = {}
M.kinds = kinds

local ADMINS_LABEL = "Cycle admins and assistants"
local hook_kind -- forward

--- Declares a kind of cycle run by workflows/<name>.lua. spec (docs/scripting.md, "Adding a
--- kind of cycle"):
---   label              "360 feedback"
---   area               the area of its cycle events: "feedback_cycle" (<area>.starting, .moving,
---                      .updated, .deleted drive the engine; transitions fire <area>.<name>)
---   table              the cycles' table (id, name, phase, workflow, workflow_version_id,
---                      started_at, closed_at, updated_at and the anchor columns)
---   admins_table       its per-cycle admins (cycle_id, user_id, role)
---   load(id)           optional: the cycle as the kind's functions want it (default: the row)
---   tag                names its jobs and mail dedupe keys (nil: the review kind's "cycle")
---   related_type       what its mails are related to in the outbox ("cycle")
---   link(cycle)        the cycle's page, for mails to its admins
---   anchors            { { "start", "start_date", "the start date" }, ... }: name, column, label
---   activities         { { "self_write", "write self-assessments" }, ... }
---   items              item types: { review = { description, all(cycle), one(id), key(row),
---                      data(row, cycle), reviewee(row) -> name, samples() -> rows,
---                      page(cycle, after_id, limit) } }; an event about an item carries
---                      <type>_id. page (optional) gives the items of all(cycle) with an id
---                      above after_id, by id, at most limit: a step to a whole cycle reads
---                      them a page per transaction, the event loop free between two
---   recipients(rows, ctx, step, cycle) calls want_vars(ctx, out) once per recipient and passes
---                      ctx to group_by_person: both pause for the event loop when ctx says so
---   main_item          the item type of the cycle's admins' mails (default: the first group's)
---   events             { { "cycle.started", "cycle" }, { "review.shared", "review" }, ... }
---   groups             { { "reviewees", label =, item =, dated =, cycle_event =, <item>_event =,
---                      per_item =, recipients = function(rows, ctx, step, cycle) } }: who a step
---                      mails; per_item: one mail per item at most (never grouping items), so a
---                      step to a whole cycle delivers each page as it is read
---   cc                 extra copies: { { "manager", label =, hint =, groups = { reviewees = true } } }
---   filters            { { "not_submitted", label =, item =, fn = function(row, cycle) } }
---   sample_cycle       a cycle to try `only` functions on when a script is checked
---   cycle_data(cycle)  plain data for `only` functions
---   vars(cycle)        the variables every mail of a cycle has
---   placeholders(group) sample variables for a dry run with nobody to mail
---   templates(mail)    defines the kind's mail templates (names start with template_prefix)
---   template_prefix    "review."; template_example: "review.self_reminder"
--- The built-in workflows/<name>.lua is checked at once: a kind never starts with a broken one.
function M.define_kind(name, spec)
  assert(spec.area and spec.area:match("^[a-z][a-z0-9_]*$"), name .. ": area")
  local k = { name = name }
  for key, v in pairs(spec) do k[key] = v end
  k.anchor_order, k.anchor_column, k.anchor_labels = {}, {}, {}
  for _, a in ipairs(spec.anchors) do
    k.anchor_order[#k.anchor_order + 1] = a[1]
    k.anchor_column[a[1]], k.anchor_labels[a[1]] = a[2], a[3]
  end
  k.activity_order, k.activity_labels = {}, {}
  for _, a in ipairs(spec.activities) do
    k.activity_order[#k.activity_order + 1] = a[1]
    k.activity_labels[a[1]] = a[2]
  end
  k.item_order = {}
  for t in pairs(spec.items) do k.item_order[#k.item_order + 1] = t end
  table.sort(k.item_order)
  k.events, k.event_order = {}, {}
  for _, e in ipairs(spec.events) do
    assert(e[2] == "cycle" or spec.items[e[2]], name .. ": event " .. e[1] .. " is about an unknown item type")
    assert(e[2] ~= "cycle" or e[1]:sub(1, #spec.area + 1) == spec.area .. ".", name .. ": cycle event " .. e[1]
      .. " outside " .. spec.area)
    k.events[e[1]] = e[2]
    k.event_order[#k.event_order + 1] = e[1]
  end
  k.groups, k.group_order = {}, {}
  for _, g in ipairs(spec.groups) do
    assert(spec.items[g.item], name .. ": group " .. g[1] .. " is over an unknown item type")
    k.groups[g[1]] = g
    k.group_order[#k.group_order + 1] = g[1]
  end
  local admins = { label = ADMINS_LABEL, dated = true, cycle_event = true }
  for t in pairs(spec.items) do admins[t .. "_event"] = true end
  k.groups.cycle_admins = admins
  k.group_order[#k.group_order + 1] = "cycle_admins"
  k.filters, k.filter_order = { all = { label = "everyone", fn = function() return true end } }, {}
  for _, f in ipairs(spec.filters) do
    k.filters[f[1]] = f
    k.filter_order[#k.filter_order + 1] = f[1]
  end
  k.filter_order[#k.filter_order + 1] = "all"
  k.cc, k.cc_order = {}, {}
  for _, c in ipairs(spec.cc or {}) do
    k.cc[c[1]] = c
    k.cc_order[#k.cc_order + 1] = c[1]
  end
  k.main_item = spec.main_item or spec.groups[1].item
  k.job_root = function(id) return ("%s:%d:"):format(k.tag or "cycle", id) end
  k.dedupe_root = function(id) return k.tag and ("wf:%s:%d"):format(k.tag, id) or ("wf:%d"):format(id) end
  kinds[name] = k
  if app then
    M.check_kind(k)
    hook_kind(k)
  end
  return k
end

local item_type = script.item_type

-- The kind of a cycle (a row with .workflow) or of a workflow name.
local function kind_of(x)
  local name = type(x) == "table" and (x.workflow or x.kind or "performance_review") or x or "performance_review"
  local k = kinds[name]
  if not k then error(("no kind of cycle runs the workflow %q"):format(tostring(name)), 2) end
  return k
end
M.kind_of = kind_of

-- ------------------------------------------------------------------ helpers

local function sha256_hex(s) return crypto.hex(crypto.sha256(s)) end

--- "YYYY-MM-DD" of the cycle's anchor, or nil.
local function anchor_date(cycle, anchor)
  local d = cycle[kind_of(cycle).anchor_column[anchor]]
  if type(d) == "string" and util.parse_date(d) then return d end
  return nil
end

--- When a dated step or automatic transition happens (seconds), or nil without the date: its
--- day at the send hour on the company's clocks (lib/dates.lua).
function M.when(cycle, entry)
  local d = anchor_date(cycle, entry.at)
  if not d then return nil end
  return dates.at_send_hour(d, entry.offset or 0)
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

-- Items to try `only` functions on when checking a script, by item type, and the cycle data.
local function samples_of(kind)
  local out = {}
  for t, it in pairs(kind.items) do
    out[t] = {}
    for i, row in ipairs(it.samples()) do out[t][i] = it.data(row, kind.sample_cycle) end
  end
  return out, kind.cycle_data(kind.sample_cycle)
end

-- The sandbox options of workflow scripts.
local function limits()
  local l = util.copy(M.LIMITS)
  l.timeout_ms = settings.get("workflows.script_timeout_ms")
  return l
end

local validated -- name .. ":" .. sha -> definition of a text that passed (lru, see init)

-- Loads source into a sandbox and validates it: entry { source, sha, def, name, kind } or nil,
-- messages. The sandbox is closed again: rules run in the one rule_sandbox() keeps.
local function compile(source, name)
  if type(source) ~= "string" or source:match("^%s*$") then
    return nil, { "the script is empty: it must return a table with name, phases, transitions and timeline" }
  end
  if #source > 256 * 1024 then return nil, { "the script is longer than 256 KiB" } end
  local kind = kinds[name]
  if not kind then return nil, { ("no kind of cycle runs a workflow called %q"):format(tostring(name)) } end
  local sha = sha256_hex(source)
  local known = validated:get(name .. ":" .. sha)
  if known then return { source = source, sha = sha, def = known, name = name, kind = kind } end
  local sb, err = sandbox.load(source, name .. ".lua", limits())
  if not sb then return nil, { describe_failure(err) } end
  local data, derr = sb:data()
  if derr then
    sb:close()
    return nil, { describe_failure(derr, "the table the script returned") }
  end
  local def, probs = script.check(data, kind)
  if not def then
    sb:close()
    local out = {}
    for _, p in ipairs(probs) do
      local line = find_line(source, p.hint)
      out[#out + 1] = line and ("line %d: %s"):format(line, p.message) or p.message
    end
    return nil, out
  end
  -- try every `only` function on sample items (one request per rule), so a loop or an error
  -- shows now
  local samples, scycle = samples_of(kind)
  local out = {}
  for _, step in ipairs(def.timeline) do
    if step.only_fn then
      local t = item_type(kind, step.kind, step.to)
      local list = samples[t] or {}
      local res, ferrs = sb:map({ "timeline", step.index, "only" }, list, { scycle })
      local ferr = res == nil and ferrs or nil
      for i = 1, #list do ferr = ferr or (ferrs or {})[i] end
      if ferr then
        out[#out + 1] = describe_failure(ferr, ("timeline[%d] only (tried on a sample %s)"):format(step.index, t))
        if res == nil then break end -- stopped: the sandbox is dead
      end
    end
  end
  sb:close()
  if #out > 0 then return nil, out end
  validated:set(name .. ":" .. sha, def)
  return { source = source, sha = sha, def = def, name = name, kind = kind }
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

--- Names of the cycle workflows that come with Candor (the files in workflows/ a kind runs).
function M.names()
  local dir = app.app_dir .. "/../workflows"
  local out = {}
  for _, f in ipairs(fs.list(dir) or {}) do
    local n = f:match("^([%w_]+)%.lua$")
    if n and kinds[n] then out[#out + 1] = n end -- the others are timelines without cycles
  end
  return out
end

local function check_name(name)
  if type(name) ~= "string" or not name:match("^[%w_]+$") then errors.not_found("There is no such workflow.") end
  local f = kinds[name] and fs.stat(app.app_dir .. "/../workflows/" .. name .. ".lua")
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
  local running = M.cycles_by_version(name)
  for _, v in ipairs(rows) do v.cycles = running[v.id] or {} end
  return rows
end

--- One version of workflow name (with its source, its creator's name and the cycles that run
--- it), or nil when name has no such version.
function M.version(name, id)
  local v = db.row([[SELECT v.*, u.name AS created_by_name FROM workflow_versions v
    LEFT JOIN users u ON u.id = v.created_by WHERE v.id = ? AND v.name = ?]], id, name)
  if v then v.cycles = M.cycles_by_version(name)[v.id] or {} end
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

-- The cached entry of a version: { def, source, sha, name, kind, version_id, suspended }
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
  return entry_of(M.current_version(kind_of(cycle).name).id)
end

-- ------------------------------------------------------------------ recipients and mails

local function reachable(status) return status == "active" or status == "invited" end
M.reachable = reachable

local function cycle_admins(kind, cycle_id)
  return db.query(([[SELECT u.id, u.name, u.email, u.status, a.role FROM %s a JOIN users u ON u.id = a.user_id
    WHERE a.cycle_id = ? AND u.status IN ('active', 'invited') ORDER BY u.name COLLATE FOLD]]):format(kind.admins_table),
    cycle_id)
end

local function base_url() return accounts.base_url() end
M.base_url = base_url

--- "Ann, Bo and 3 more": at most max names (default 20).
local function names_text(list, max)
  max = max or 20
  local out = {}
  for i = 1, math.min(#list, max) do out[i] = list[i] end
  local s = table.concat(out, ", ")
  if #list > max then s = s .. (" and %d more"):format(#list - max) end
  return s
end
M.names_text = names_text

-- Decides `only` for each item; returns the matching ones, a problem text, and the error when
-- the rule was stopped (out of budget, memory or time: it matched nobody then). A rule runs in
-- one request for all the items.
local function apply_filter(entry, step, rows, cycle)
  if not step.only or step.only == "all" then return rows, nil end
  local kind = entry.kind
  local out = {}
  if not step.only_fn then
    local fn = kind.filters[step.only].fn
    for _, r in ipairs(rows) do
      if fn(r, cycle) then out[#out + 1] = r end
    end
    return out, nil
  end
  local t = item_type(kind, step.kind, step.to)
  local where = ("timeline[%d] only"):format(step.index)
  if entry.suspended then
    return out, ("%s: not run: this version's rules are suspended (they were stopped %d times in a row)")
      :format(where, M.SUSPEND_AFTER)
  end
  if #rows == 0 then return out, nil end
  local items = {}
  for i, r in ipairs(rows) do items[i] = kind.items[t].data(r, cycle) end
  local sb, load_err = rule_sandbox(entry)
  local res, errs = nil, load_err
  if sb then
    res, errs = sb:map({ "timeline", step.index, "only" }, items, { kind.cycle_data(cycle) },
      { instructions = M.STEP_INSTRUCTIONS })
    rules:set_cost(entry.version_id or entry.sha, sb:stats().memory)
  end
  if not res then -- stopped for everyone: the rule is not trusted for anyone
    return out, ("%s (the rule failed for %d of %d %ss, who get no mail)")
      :format(describe_failure(errs, where), #rows, #rows, t), errs
  end
  local problem, failures = nil, 0
  for i, r in ipairs(rows) do
    if errs[i] then
      failures = failures + 1
      problem = problem or describe_failure(errs[i], where)
    elseif res[i] then
      out[#out + 1] = r
    end
  end
  if problem then
    problem = ("%s (the rule failed for %d of %d %ss, who get no mail)"):format(problem, failures, #rows, t)
  end
  return out, problem
end

--- Groups rows by the person a mail about them goes to: person(row) -> { id, name, email, status }
--- or nil. Returns { { user =, rows = } } in first-seen order; people who cannot sign in are left
--- out (status other than active or invited). ctx: the recipients' ctx (it may pace the work).
function M.group_by_person(rows, person, ctx)
  local by, order = {}, {}
  local pace = ctx and ctx.pace
  for _, r in ipairs(rows) do
    if pace then pace() end
    local u = person(r)
    if u and u.id and reachable(u.status) then
      local g = by[u.id]
      if not g then
        g = { user = { id = u.id, name = u.name, email = u.email }, rows = {} }
        by[u.id] = g
        order[#order + 1] = g
      end
      g.rows[#g.rows + 1] = r
    end
  end
  return order
end

--- The names name_of(row) of rows in the order people read them (case and accents aside), each
--- folded once: a group's rows come by id when the step read them in pages.
function M.sorted_names(rows, name_of)
  local names, keys = {}, {}
  for i, r in ipairs(rows) do
    names[i] = name_of(r)
    if #rows > 1 then keys[names[i]] = keys[names[i]] or util.fold(names[i] or "") end
  end
  if #names > 1 then
    table.sort(names, function(a, b)
      if keys[a] ~= keys[b] then return keys[a] < keys[b] end
      return a < b
    end)
  end
  return names
end

--- Whether a kind's recipients function should fill in the variables of the next recipient
--- (a dry run only renders the first one). Called once per recipient: it paces the work when
--- ctx.pace is set.
function M.want_vars(ctx, out)
  if ctx.pace then ctx.pace() end
  return not ctx.first_vars_only or #out == 0
end

--- A copy of base with extra's fields (mail variables).
local function with(base, extra)
  local v = util.copy(base)
  for k, x in pairs(extra) do v[k] = x end
  return v
end
M.with = with

-- Works out who a step mails: list of { user = {id,name,email}, vars =, cc = } (one per
-- recipient), plus a problem text when an `only` function failed. The kind's group says who;
-- the engine adds the cycle's admins (as a group or in cc). matched: the items its `only`
-- matched, when known already (the filter is not run again).
local function resolve(entry, cycle, step, rows, ctx, matched)
  local kind = entry.kind
  local problem
  if not matched then matched, problem = apply_filter(entry, step, rows, cycle) end
  local out = {}
  if step.cc == "cycle_admins" or step.to == "cycle_admins" then
    ctx.admins = ctx.admins or cycle_admins(kind, cycle.id)
    local emails = {}
    for _, a in ipairs(ctx.admins) do emails[#emails + 1] = a.email end
    ctx.admins_cc = #emails > 0 and table.concat(emails, ", ") or nil
  end
  if step.to == "cycle_admins" then
    if #matched > 0 or not step.only or step.only == "all" then
      local item = kind.items[item_type(kind, step.kind, step.to)]
      local names = {}
      for i, r in ipairs(matched) do names[i] = item.reviewee(r) end
      for _, a in ipairs(ctx.admins) do
        out[#out + 1] = { user = { id = a.id, name = a.name, email = a.email },
          vars = with(ctx.vars, { reviewees = names_text(names), count = #matched, is_admin = "yes",
            reviewee = #matched == 1 and names[1] or names_text(names), manager = "",
            link = ctx.url .. kind.link(cycle) }) }
      end
    end
  else
    out = kind.groups[step.to].recipients(matched, ctx, step, cycle)
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

local function new_ctx(kind, cycle)
  return { vars = kind.vars(cycle), url = base_url() }
end

-- Queues the step's mails to recipients[from], recipients[from + 1], ...; with slice_ms, stops
-- once that much time went by and returns the index to go on from as well.
local function queue_mails(kind, cycle, step, recipients, key_part, from, slice_ms)
  local over, n = slice_ms and pacing.slice(slice_ms), 0
  for i = from, #recipients do
    local rc = recipients[i]
    local id = mail.queue({ template = step.template, to = rc.user, vars = rc.vars, cc = rc.cc,
      related_type = kind.related_type or "cycle", related_id = cycle.id,
      dedupe_key = ("%s:%s:%s:%d"):format(kind.dedupe_root(cycle.id), step.id, key_part, rc.user.id) })
    if id then n = n + 1 end
    if over and i < #recipients and over() then return n, i + 1 end
  end
  return n
end

-- pace: a pacer (M.pacer) when this runs outside any transaction and may let the loop serve
-- others meanwhile.
local function recipients_of(entry, cycle, step, rows, matched, problem, pace)
  local ctx = new_ctx(entry.kind, cycle)
  ctx.pace = pace
  if pace then pace() end
  local recipients, filter_problem = resolve(entry, cycle, step, rows, ctx, matched)
  problem = problem or filter_problem
  if problem then
    log.warn(("workflow of %s cycle %d (%s), %s: %s"):format(entry.kind.name, cycle.id, cycle.name, step.id, problem))
  end
  return recipients
end

-- Sends a step's mails for rows, keyed by key_part: all of them, in the caller's transaction.
local function send(entry, cycle, step, rows, key_part, matched, problem)
  return queue_mails(entry.kind, cycle, step, recipients_of(entry, cycle, step, rows, matched, problem), key_part, 1)
end

-- ------------------------------------------------------------------ planning

local function phase_rank(def, id)
  if id == "draft" then return 0 end
  local p = def.phase_by_id[id]
  return p and p.index or math.huge
end

local function job_prefix(kind, cycle_id) return kind.job_root(cycle_id) .. "wf:" end

-- Plans the cycle's dated steps and automatic transitions (replacing what was planned).
-- Returns the number of jobs planned.
local function plan(cycle, entry)
  local kind = entry.kind
  app.cancel_jobs(job_prefix(kind, cycle.id) .. "step:", true)
  app.cancel_jobs(job_prefix(kind, cycle.id) .. "transition:", true)
  if cycle.phase == "draft" or cycle.phase == "closed" then return 0 end
  local def = entry.def
  local now = clock.now()
  local today = dates.date_of(now)
  local n = 0
  for _, step in ipairs(def.timeline) do
    if step.at then
      local ts = M.when(cycle, step)
      if ts and ts < now and dates.date_of(ts) == today then ts = now end
      if ts and ts >= now then
        app.schedule(ts, "workflow.step", { kind = kind.name, cycle_id = cycle.id, step = step.id,
          date = dates.date_of(ts) }, job_prefix(kind, cycle.id) .. "step:" .. step.id)
        n = n + 1
      end
    end
  end
  local rank = phase_rank(def, cycle.phase)
  for _, tr in ipairs(def.transitions) do
    if tr.at and phase_rank(def, tr.from) >= rank then
      local ts = M.when(cycle, tr)
      if ts then
        app.schedule(math.max(ts, now), "workflow.transition", { kind = kind.name, cycle_id = cycle.id,
          transition = tr.index }, job_prefix(kind, cycle.id) .. "transition:" .. tr.index)
        n = n + 1
      end
    end
  end
  return n
end

local function load_cycle(kind, id)
  local row
  if kind.load then row = kind.load(id)
  else row = db.row(("SELECT * FROM %s WHERE id = ?"):format(kind.table), id) end
  if row then row.workflow = row.workflow or kind.name end
  return row
end

local function fresh_cycle(cycle)
  local kind = kind_of(cycle)
  local id = type(cycle) == "table" and cycle.id or cycle
  local row = load_cycle(kind, id)
  if not row then errors.not_found("There is no such cycle.") end
  return row, kind
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

local function roles_of(kind, cycle, actor)
  local set = {}
  if not actor or actor == SYSTEM then return set end
  for _, r in ipairs(actor.roles or access.roles(actor.id)) do set[r] = true end
  local cr = db.value(("SELECT role FROM %s WHERE cycle_id = ? AND user_id = ?"):format(kind.admins_table),
    cycle.id, actor.id)
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

-- Moves the cycle along tr (checked already), re-plans, and fires <area>.phase_changed and the
-- transition's event.
local function apply(cycle, entry, tr, actor)
  local now = clock.now()
  local n = db.exec(([[UPDATE %s SET phase = ?, updated_at = ?,
      closed_at = CASE WHEN ? = 'closed' THEN ? ELSE closed_at END,
      started_at = CASE WHEN ? = 'draft' THEN COALESCE(started_at, ?) ELSE started_at END
    WHERE id = ? AND phase = ?]]):format(entry.kind.table), tr.to, now, tr.to, now, tr.from, now, cycle.id, tr.from)
  if n == 0 then errors.conflict("The cycle moved on meanwhile; reload and try again.") end
  cycle.phase = tr.to
  cycle.updated_at = now
  if tr.to == "closed" then cycle.closed_at = now end
  if tr.from == "draft" then cycle.started_at = cycle.started_at or now end
  plan(cycle, entry)
  local data = { cycle_id = cycle.id, from = tr.from, to = tr.to, actor_id = actor ~= SYSTEM and actor and actor.id or nil,
    automatic = actor == SYSTEM }
  events.fire(entry.kind.area .. ".phase_changed", data)
  if tr.event then events.fire(tr.event, util.copy(data)) end
end

--- Starts a draft cycle (inside the caller's transaction, after its items are ready): pins
--- the current workflow version, moves the phase along the transition from draft (checking
--- `by` against the actor's roles and cycle role), plans the timeline and emits the
--- transition's event. Updates and returns the cycle table.
function M.start(cycle, actor)
  local row, kind = fresh_cycle(cycle)
  if row.phase ~= "draft" then errors.conflict("This cycle has started already.") end
  local version = M.current_version(kind.name)
  local entry = entry_of(version.id)
  local tr
  for _, t in ipairs(entry.def.transitions) do if t.from == "draft" then tr = t end end
  if actor ~= SYSTEM and not may(tr, roles_of(kind, row, actor)) then
    errors.forbidden(("Only %s may start this cycle."):format(who_may(tr)))
  end
  db.exec(("UPDATE %s SET workflow_version_id = ? WHERE id = ?"):format(kind.table), version.id, row.id)
  row.workflow_version_id = version.id
  apply(row, entry, tr, actor)
  return copy_back(cycle, row)
end

--- Moves a started cycle to another phase by hand: 409 when the workflow has no transition
--- from the current phase to to_phase, 403 when the actor is not among its `by`.
function M.transition(cycle, to_phase, actor)
  local row, kind = fresh_cycle(cycle)
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
    if not actor or not may(tr, roles_of(kind, row, actor)) then
      errors.forbidden(("Only %s may %s."):format(who_may(tr),
        util.lower(util.utf8_sub(tr.label, 1, 1)) .. util.utf8_sub(tr.label, 2)))
    end
  end
  apply(row, entry, tr, actor)
  return copy_back(cycle, row)
end

--- The transitions the actor may make now: { to=, label=, event=, automatic = ts | nil }.
function M.available_transitions(cycle, actor)
  local row = type(cycle) == "table" and cycle.phase and cycle or fresh_cycle(cycle)
  local entry = cycle_entry(row)
  local roles = roles_of(entry.kind, row, actor)
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

--- Whether the cycle's current phase allows an activity of its kind (reviews: self_write,
--- manager_write, share, sign; 360 feedback: nominate, approve, write, release).
function M.allows(cycle, activity)
  assert(kind_of(cycle).activity_labels[activity], "unknown activity " .. tostring(activity))
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

--- Cancels every job of the cycle (it is being deleted) and drops its waiting batches.
function M.stop(cycle)
  local kind = kind_of(cycle)
  local id = type(cycle) == "table" and cycle.id or cycle
  db.exec("DELETE FROM workflow_batches WHERE kind = ? AND cycle_id = ?", kind.name, id)
  return app.cancel_jobs(kind.job_root(id), true)
end

-- ------------------------------------------------------------------ events and batches

-- Holds the recipients of a batch step's mail for this item; the batch's job sends one mail
-- per recipient once the first item waited step.batch minutes (a rule in `only` runs then, from
-- the job).
local function hold(entry, cycle, step, row, item_id)
  local kind = entry.kind
  local recipients = resolve(entry, cycle, step, { row }, new_ctx(kind, cycle), { row })
  local now = clock.now()
  for _, rc in ipairs(recipients) do
    local due = db.value([[SELECT min(due_at) FROM workflow_batches WHERE kind = ? AND cycle_id = ? AND step = ?
      AND user_id = ?]], kind.name, cycle.id, step.id, rc.user.id)
    if not due then
      due = now + step.batch * 60
      app.schedule(due, "workflow.batch", { kind = kind.name, cycle_id = cycle.id, step = step.id, user_id = rc.user.id },
        ("%sbatch:%s:%d"):format(job_prefix(kind, cycle.id), step.id, rc.user.id))
    end
    db.exec([[INSERT INTO workflow_batches(kind, cycle_id, step, user_id, item_id, due_at, created_at)
      VALUES(?,?,?,?,?,?,?) ON CONFLICT DO NOTHING]], kind.name, cycle.id, step.id, rc.user.id, item_id, due, now)
  end
  return 0
end

local function emit_in(cycle, entry, event, data)
  local def, kind = entry.def, entry.kind
  local about = kind.events[event] or "cycle"
  local n = 0
  for _, step in ipairs(def.timeline) do
    if step.on == event and (not step.during or step.during[cycle.phase]) then
      local rows, key
      -- a step about the whole cycle of a cycle still running mails everyone (10,000
      -- invitations): from the job, in slices, not inside the change that started the cycle
      local whole = about == "cycle" and cycle.phase ~= "closed"
      if about ~= "cycle" then
        local it = kind.items[about]
        local row = data[about] and it.one(data[about].id)
        if row then
          rows = { row }
          key = it.key(row)
        end
      elseif not whole then
        rows = kind.items[item_type(kind, step.kind, step.to)].all(cycle)
      end
      key = key or "c"
      if rows and step.batch then
        hold(entry, cycle, step, rows[1], rows[1].id)
      elseif whole or (rows and step.only_fn) then
        -- from a job, planned with the change (a change that rolls back plans nothing) and run
        -- right after it commits (in slices, the loop free between them); a rule is customer
        -- code, run there outside this transaction
        app.schedule(clock.now(), "workflow.event", { kind = kind.name, cycle_id = cycle.id, step = step.id,
          item = about ~= "cycle" and about or nil, item_id = about ~= "cycle" and rows[1].id or nil, key = key },
          ("%swfevent:%s:%s"):format(kind.job_root(cycle.id), step.id, key))
      elseif rows then
        n = n + send(entry, cycle, step, rows, key)
      end
    end
  end
  return n
end

--- Emits an event of a started cycle: queues the mails of the timeline's `on` steps for it
--- (or holds them for a batch). data.<item> is the row the event is about (data.review for
--- review.* events, data.request for 360 requests, ...). Returns the number of mails queued.
function M.emit(cycle, event, data)
  local row, kind = fresh_cycle(cycle)
  if not row.workflow_version_id then return 0 end
  local entry = entry_of(row.workflow_version_id)
  local about = kind.events[event]
  if not about and not entry.def.events[event] then
    error(("unknown workflow event %s (in a %s cycle)"):format(tostring(event), kind.name), 2)
  end
  if about and about ~= "cycle" and not (data and data[about] and data[about].id) then
    error(("event %s needs data.%s"):format(event, about), 2)
  end
  return emit_in(row, entry, event, data or {})
end

-- The kind whose events name is one of (its own events, or its transitions' <area>.*).
local function kind_of_event(name)
  local area = name:match("^([%w_]+)%.")
  for _, k in pairs(kinds) do
    if k.events[name] or k.area == area then return k end
  end
  return nil
end

-- The bus: every event of a kind about a started cycle runs the timeline's `on` steps.
local function on_event(e, name)
  if not e.cycle_id then return end
  local kind = kind_of_event(name)
  if not kind then return end
  local about = kind.events[name]
  if about and about ~= "cycle" and not e[about .. "_id"] then return end
  local cycle = load_cycle(kind, e.cycle_id)
  if not cycle or not cycle.workflow_version_id then return end
  local entry = entry_of(cycle.workflow_version_id)
  if not about and not entry.def.events[name] then return end
  emit_in(cycle, entry, name, (about and about ~= "cycle") and { [about] = { id = e[about .. "_id"] } } or {})
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

-- The engine's part in a kind's cycle life: start, move, re-plan, stop.
hook_kind = function(kind)
  local function cycle_of(e) return { id = e.cycle_id, workflow = kind.name } end
  events.hook(kind.area .. ".starting", function(e) M.start(cycle_of(e), actor_of(e)) end)
  events.hook(kind.area .. ".moving", function(e) M.transition(cycle_of(e), e.to, actor_of(e)) end)
  events.hook(kind.area .. ".updated", function(e)
    if e.dates_changed and #e.dates_changed > 0 then M.reschedule(cycle_of(e)) end
  end)
  events.hook(kind.area .. ".deleted", function(e) M.stop(cycle_of(e)) end)
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
    local running = db.column(("SELECT name FROM %s WHERE workflow_version_id = ? AND phase <> 'closed' ORDER BY id")
      :format(entry.kind.table), entry.version_id)
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

-- Plain data as text, the same whatever the order of its keys.
local function fingerprint(v)
  if type(v) ~= "table" then return tostring(v) end
  local keys = {}
  for k in pairs(v) do keys[#keys + 1] = tostring(k) end
  table.sort(keys)
  local parts = {}
  for i, k in ipairs(keys) do parts[i] = k .. "=" .. fingerprint(v[k] == nil and v[tonumber(k)] or v[k]) end
  return "{" .. table.concat(parts, ",") .. "}"
end

-- What an `only` rule sees of rows, to tell whether it changed while the rule ran.
local function snapshot(kind, t, rows, cycle)
  local parts = {}
  for i, r in ipairs(rows) do parts[i] = fingerprint(kind.items[t].data(r, cycle)) end
  return table.concat(parts, "\n")
end

-- Queues the mails a step left for later (rest, from its sender), a slice of M.SLICE_MS per
-- transaction, with the event loop serving others between two: a step of 10,000 mails never
-- holds the loop for long. It stops when the cycle left the phase or the version the step ran
-- in; a step cut short by a stop runs again, and the dedupe keys queue nothing twice.
local function queue_rest(kind, cycle, step, rest)
  local n = 0
  if not rest then return n end
  db.slices(function()
    local again = load_cycle(kind, cycle.id)
    if not again or again.phase ~= cycle.phase or again.workflow_version_id ~= cycle.workflow_version_id then
      return false
    end
    local queued, from = queue_mails(kind, again, step, rest.recipients, rest.key_part, rest.from, M.SLICE_MS)
    n, rest.from = n + queued, from
    return from ~= nil
  end)
  return n
end

-- Sends a step's mails keyed by key_part (the deliver of run_step): the first M.SLICE_MS of
-- them in run_step's transaction; what is left is returned for queue_rest.
local function sender(key_part)
  return function(entry, cycle, step, rows, matched, problem)
    local recipients = recipients_of(entry, cycle, step, rows, matched, problem)
    local n, from = queue_mails(entry.kind, cycle, step, recipients, key_part, 1, M.SLICE_MS)
    return n, from and { recipients = recipients, from = from, key_part = key_part } or nil
  end
end

-- Runs a step of a started cycle of kind: the step find(def) picks, over the items
-- rows_of(cycle, step, paged) gives (nil: nothing to do). deliver is either
--   a key_part (text): the step's mails, keyed by it. Without a rule, the items are read
--     outside any transaction (paged: a page per transaction where the kind can), the
--     recipients worked out outside any transaction with pauses for the loop, and the mails
--     queued in slices (queue_rest): no stretch holds the event loop much over M.SLICE_MS;
--   or a function deliver(entry, cycle, step, rows, matched, problem), run in a transaction
--     (it may return what it left for queue_rest as a second value).
-- A step with a rule runs the rule first, outside any transaction, then delivers in a
-- transaction that checks nothing the rule saw changed meanwhile (else it runs again).
local function run_step(kind, cycle_id, find, rows_of, deliver)
  for _ = 1, 3 do
    local cycle = load_cycle(kind, cycle_id)
    if not cycle or not cycle.workflow_version_id or cycle.phase == "draft" or cycle.phase == "closed" then return 0 end
    local entry = entry_of(cycle.workflow_version_id)
    local step = find(entry.def)
    if not step or (step.during and not step.during[cycle.phase]) then return 0 end
    if type(deliver) == "string" and not step.only_fn and db.depth() == 0 then
      return pacing.long(function()
        local pace, n = M.pacer(), 0
        local function deliver_rows(rows)
          local recipients = recipients_of(entry, cycle, step, rows, nil, nil, pace)
          n = n + queue_rest(kind, cycle, step, { recipients = recipients, from = 1, key_part = deliver })
        end
        -- a group with a mail per item takes each page as it comes: the step never holds every
        -- item and recipient of a big cycle at once
        local group = kind.groups[step.to]
        local rows = rows_of(cycle, step, { pace = pace, each = group and group.per_item and deliver_rows or nil })
        if rows and #rows > 0 then deliver_rows(rows) end
        return n
      end)
    end
    if type(deliver) == "string" then deliver = sender(deliver) end
    if not step.only_fn then
      local n, rest = db.transaction(function()
        local again = load_cycle(kind, cycle_id)
        if not again or again.phase ~= cycle.phase then return 0 end
        return deliver(entry, again, step, rows_of(again, step) or {})
      end)
      return n + queue_rest(kind, cycle, step, rest)
    end
    local rows = rows_of(cycle, step)
    if not rows then return 0 end
    local matched, problem, stopped = apply_filter(entry, step, rows, cycle)
    if stopped then return rule_stopped(entry, cycle, step, stopped) end
    local t = item_type(kind, step.kind, step.to)
    local sent, rest = db.transaction(function()
      rule_worked(entry)
      local again = load_cycle(kind, cycle_id)
      if not again or again.phase ~= cycle.phase or again.workflow_version_id ~= cycle.workflow_version_id then
        return false
      end
      local fresh = rows_of(again, step)
      if not fresh or snapshot(kind, t, fresh, again) ~= snapshot(kind, t, rows, cycle) then return false end
      return deliver(entry, again, step, fresh, matched, problem)
    end)
    if sent then return sent + queue_rest(kind, cycle, step, rest) end
  end
  error(("%s cycle %d: what the step's rule looks at kept changing while it ran; it runs again later")
    :format(kind.name, cycle_id), 0)
end

-- The items of a started cycle a page per transaction (item.page), the loop free between two
-- (paged.pace). Returns them all, or with paged.each hands each page to it (outside any
-- transaction) and returns {}; nil when the cycle left its phase or version meanwhile.
local function paged_items(kind, item, cycle, paged)
  local rows, after = {}, 0
  while true do
    local page = db.transaction(function()
      local again = load_cycle(kind, cycle.id)
      if not again or again.phase ~= cycle.phase or again.workflow_version_id ~= cycle.workflow_version_id then
        return nil
      end
      return item.page(again, after, M.PAGE)
    end)
    if not page then return nil end
    paged.pace()
    if paged.each then paged.each(page) else table.move(page, 1, #page, #rows + 1, rows) end
    if #page < M.PAGE then return rows end
    after = page[#page].id
    paged.pace(true)
  end
end

-- All the items of a step's type in the cycle (the rows_of of run_step). paged ({ pace =,
-- each = }, outside any transaction): read a page per transaction where the kind can (in id
-- order then, not all()'s), see paged_items.
local function every_item(kind)
  return function(cycle, step, paged)
    local item = kind.items[item_type(kind, step.kind, step.to)]
    if paged and item.page then return paged_items(kind, item, cycle, paged) end
    return item.all(cycle)
  end
end

local function run_step_job(p)
  local kind = kind_of(p.kind)
  return run_step(kind, p.cycle_id, function(def)
    for _, s in ipairs(def.timeline) do if s.id == p.step and s.at then return s end end
  end, every_item(kind), p.date or dates.today())
end

-- A step on an event whose rule the event could not run in its transaction.
local function run_event_job(p)
  local kind = kind_of(p.kind)
  return run_step(kind, p.cycle_id, function(def)
    for _, s in ipairs(def.timeline) do if s.id == p.step and s.on then return s end end
  end, function(cycle, step, paged)
    if not p.item then return every_item(kind)(cycle, step, paged) end
    local r = kind.items[p.item].one(p.item_id)
    return r and r.cycle_id == cycle.id and { r } or nil
  end, p.key)
end

-- One recipient's batch: the items that still exist and still pass `only` make one mail.
local function run_batch_job(p)
  local kind = kind_of(p.kind)
  local held
  local function clear()
    db.exec("DELETE FROM workflow_batches WHERE kind = ? AND cycle_id = ? AND step = ? AND user_id = ?",
      kind.name, p.cycle_id, p.step, p.user_id)
  end
  local n = run_step(kind, p.cycle_id, function(def)
    for _, s in ipairs(def.timeline) do if s.id == p.step and s.batch then return s end end
  end, function(cycle, step)
    held = db.query([[SELECT id, item_id FROM workflow_batches WHERE kind = ? AND cycle_id = ? AND step = ?
      AND user_id = ? ORDER BY id]], kind.name, cycle.id, p.step, p.user_id)
    if #held == 0 then return nil end
    local it = kind.items[item_type(kind, step.kind, step.to)]
    local rows = {}
    for _, h in ipairs(held) do rows[#rows + 1] = it.one(h.item_id) end
    return rows
  end, function(entry, cycle, step, rows, matched, problem)
    clear()
    local recipients, filter_problem = resolve(entry, cycle, step, rows, new_ctx(kind, cycle), matched)
    problem = problem or filter_problem
    if problem then log.warn(("workflow of %s cycle %d, %s: %s"):format(kind.name, cycle.id, step.id, problem)) end
    for _, rc in ipairs(recipients) do
      if rc.user.id == p.user_id then
        mail.queue({ template = step.template, to = rc.user, vars = rc.vars, cc = rc.cc,
          related_type = kind.related_type or "cycle", related_id = cycle.id,
          dedupe_key = ("%s:%s:b%d:%d"):format(kind.dedupe_root(cycle.id), step.id, held[1].id, rc.user.id) })
        return 1
      end
    end
    return 0
  end)
  if n == 0 then db.transaction(clear) end -- a closed cycle, or a step that is gone: nothing left waiting
  return n
end

-- Compiles the versions that running cycles and new cycles use, from a job at start (a script
-- may run there without blocking anyone): else the first request needing one inside a
-- transaction would compile it with the loop blocked. Returns how many it compiled.
local function run_warm_job()
  local ids = {}
  for _, k in pairs(kinds) do
    for _, id in ipairs(db.column(("SELECT DISTINCT workflow_version_id FROM %s WHERE workflow_version_id IS NOT NULL"
        .. " AND phase <> 'closed'"):format(k.table))) do
      ids[#ids + 1] = id
    end
    ids[#ids + 1] = M.current_version(k.name).id
  end
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
    local kind = kind_of(p.kind)
    local cycle = load_cycle(kind, p.cycle_id)
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

local function filter_label(kind, step)
  if not step.only then return "everyone" end
  if step.only_fn then return "custom rule (a function in the script)" end
  return kind.filters[step.only].label
end

-- When an event step would happen, if the workflow knows.
local function event_time(cycle, def, event)
  for _, t in ipairs(def.transitions) do
    if t.event == event and t.from == "draft" then -- the start
      if cycle.started_at then return cycle.started_at end
      local d = anchor_date(cycle, kind_of(cycle).anchor_order[1])
      return d and dates.at_send_hour(d) or nil
    end
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
  local kind = kind_of(cycle)
  local started = load_cycle(kind, cycle.id)
  local pinned = started and started.phase ~= "draft" and started.workflow_version_id or nil
  if pinned then source_or_version = pinned end
  if type(source_or_version) == "number" then
    entry = entry_of(source_or_version)
  else
    entry, errs = compile(source_or_version, kind.name)
    if not entry then return nil, errs end
    own = true
  end
  local def = entry.def
  local now = clock.now()
  cycle = started or cycle
  local loaded = {}
  local function rows_of(step)
    local t = item_type(kind, step.kind, step.to)
    loaded[t] = loaded[t] or kind.items[t].all(cycle)
    return loaded[t]
  end
  local ctx = new_ctx(kind, cycle)
  ctx.first_vars_only = true
  ctx.dry = true -- nothing may be written for a dry run (e.g. sign-in links)
  local items = {}
  local problems = {}
  -- a started cycle's phase, or the phase it would start in
  local sim = util.copy(cycle)
  if sim.phase == "draft" then
    for _, t in ipairs(def.transitions) do if t.from == "draft" then sim.phase = t.to end end
  end
  for _, step in ipairs(def.timeline) do
    local rows = rows_of(step)
    local item = { step = step.index, id = step.id, template = step.template, label = step.label,
      to = kind.groups[step.to].label, group = step.to, filter = filter_label(kind, step), batch = step.batch,
      cc = step.cc and (step.cc == "cycle_admins" and ADMINS_LABEL or kind.cc[step.cc].label) or nil }
    local recipients, problem, matched = {}, nil, nil
    if step.at then
      item.kind = "scheduled"
      item.when = M.when(cycle, step)
      item.rule = ("%d day%s %s %s"):format(math.abs(step.offset), math.abs(step.offset) == 1 and "" or "s",
        step.offset < 0 and "before" or "after", kind.anchor_labels[step.at])
      if step.offset == 0 then item.rule = "on " .. kind.anchor_labels[step.at] end
      if not item.when then
        item.note = ("not sent: the cycle has no date for %s"):format(kind.anchor_labels[step.at])
      else
        matched, problem = apply_filter(entry, step, rows, sim)
        recipients = resolve(entry, sim, step, rows, ctx, matched)
      end
    else
      item.kind = "on event"
      item.event = step.on
      item.when = event_time(cycle, def, step.on)
      item.rule = "when " .. step.on .. " happens"
      matched, problem = apply_filter(entry, step, rows, sim)
      recipients = resolve(entry, sim, step, rows, ctx, matched)
      if step.kind ~= "cycle_event" then
        -- every item could raise the event: everyone who would get a mail, once
        item.note = step.batch and ("gathered: one mail per person for what happens within %d minutes"):format(step.batch)
          or ("one mail each time it happens, about that %s"):format(item_type(kind, step.kind, step.to))
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
    item.past = (gone and step.at ~= nil and dates.date_of(item.when) ~= dates.date_of(now)) or nil
    item.date = item.when and dates.date_of(item.when) or nil
    item.count = #recipients
    item.recipients = {}
    for i, rc in ipairs(recipients) do
      item.recipients[i] = { id = rc.user.id, name = rc.user.name, email = rc.user.email, cc = rc.cc }
    end
    if step.kind ~= "dated" and step.kind ~= "cycle_event" and rows[1] and recipients[1] then
      -- the mail is about one item: render it for the first item that gets one
      for _, r in ipairs(matched or rows) do
        local one = resolve(entry, sim, step, { r }, ctx, { r })
        if one[1] then
          item.subject = (mail.render(step.template, one[1].vars))
          break
        end
      end
    elseif recipients[1] then
      item.subject = (mail.render(step.template, recipients[1].vars))
    else
      item.subject = (mail.render(step.template, with(ctx.vars, with({ name = "(name)", first_name = "(name)",
        link = ctx.url, count = 0, is_admin = step.to == "cycle_admins" and "yes" or nil },
        kind.placeholders(step.to)))))
    end
    items[#items + 1] = item
  end
  for _, t in ipairs(def.transitions) do
    if t.at then
      local when = M.when(cycle, t)
      items[#items + 1] = { kind = "transition", when = when, date = when and dates.date_of(when) or nil,
        label = t.label, from = t.from, to = t.to, event = t.event, count = 0, recipients = {},
        rule = ("%s %s"):format(t.offset == 0 and "on" or (("%d day%s %s"):format(math.abs(t.offset),
          math.abs(t.offset) == 1 and "" or "s", t.offset < 0 and "before" or "after")), kind.anchor_labels[t.at]),
        note = when and ("the cycle moves from %s to %s by itself"):format(t.from, t.to)
          or ("never: the cycle has no date for %s"):format(kind.anchor_labels[t.at]) }
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

--- Cycles a workflow can be dry-run against (newest first) and one of them by id.
function M.cycle_choices(name)
  local kind = kind_of(name)
  return db.query(("SELECT id, name, phase, start_date FROM %s ORDER BY id DESC LIMIT 500"):format(kind.table))
end

function M.find_cycle(name, id)
  id = math.tointeger(tonumber(id))
  return id and load_cycle(kind_of(name), id) or nil
end

--- The cycles running each version of a workflow: { [version_id] = { {id, name, phase} } }.
function M.cycles_by_version(name)
  local kind = kind_of(name)
  local out = {}
  for _, c in ipairs(db.query(([[SELECT c.id, c.name, c.phase, c.workflow_version_id FROM %s c
      JOIN workflow_versions v ON v.id = c.workflow_version_id WHERE v.name = ? ORDER BY c.id]]):format(kind.table), name)) do
    local l = out[c.workflow_version_id] or {}
    l[#l + 1] = { id = c.id, name = c.name, phase = c.phase }
    out[c.workflow_version_id] = l
  end
  return out
end

-- ------------------------------------------------------------------ init

--- Defines the kind's mail templates and checks its built-in workflow (a broken built-in stops
--- the start with a message naming the problem).
function M.check_kind(kind)
  kind.templates(mail)
  if not settings.schema[version_setting(kind.name)] then
    settings.define(version_setting(kind.name), { type = "integer", default = 0, between = { 0 },
      description = ("The version of the %s workflow chosen on the admin page (0: the data folder copy or the "
        .. "built-in)."):format(kind.name) })
  end
  local def, errs = M.validate(M.builtin_source(kind.name), kind.name)
  if not def then error(("the built-in workflow %s is not valid: %s"):format(kind.name, table.concat(errs, "; "))) end
  -- the data folder copy is checked when it is first used (a cycle starts, the admin page opens)
end

function M.init(a)
  app = a
  by_version = {}
  data_folder_seen = {}
  copy_checked = {}
  validated = lru.new({ max_items = 64 })
  rules = lru.new({ max_items = M.CACHE.versions, max_cost = M.CACHE.memory,
    on_evict = function(_, sb) sb:close() end })
  script.read_roles()
  settings.define("workflows.script_timeout_ms", { type = "integer", default = 3000, between = { 100, 60000 },
    description = "How long (milliseconds of wall clock) one call of a workflow script may run before its worker "
      .. "process is killed." })
  mail.define_template("workflow.suspended", {
    description = "Tells the HR Admins that a workflow version's rule kept being stopped, so it no longer runs.",
    subject = "The {{workflow}} workflow (version {{version}}): its rules are suspended",
    text = "Hello {{first_name}},\n\nA rule (a function in `only`) of version {{version}} of the {{workflow}} workflow"
      .. " was stopped {{count}} times in a row, so Candor no longer runs this version's rules:\n\n{{reason}}"
      .. "\n\nCycles running this version ({{cycles}}) still move through their phases and send every other mail;"
      .. " the mails of steps with a rule are not sent. Fix the script on the workflow page and check it with a dry"
      .. " run: new cycles use the version you save. The version is here:\n{{link}}\n\nThanks,\n{{company}}",
    vars = { workflow = "the workflow's name", version = "the version number", count = "how many stopped runs",
      reason = "why the last run was stopped", cycles = "the running cycles on this version",
      link = "the version's page" },
  })
  for _, kind in pairs(kinds) do
    M.check_kind(kind)
    hook_kind(kind)
  end
  app.on_job("workflow.step", run_step_job)
  app.on_job("workflow.event", run_event_job)
  app.on_job("workflow.transition", run_transition_job)
  app.on_job("workflow.batch", run_batch_job)
  app.on_job("workflow.warm", run_warm_job)
  if not app.test then app.schedule(clock.now(), "workflow.warm", {}, "workflow:warm") end
  events.hook("*", on_event)
  -- the company's time zone or send hour changed: the dated steps of every running cycle move
  events.hook("company_time.changed", function()
    for _, kind in pairs(kinds) do
      if kind.table then
        for _, r in ipairs(db.query(("SELECT id FROM %s WHERE phase NOT IN ('draft', 'closed')"):format(kind.table))) do
          M.reschedule({ id = r.id, workflow = kind.name })
        end
      end
    end
  end)
end

M.SYSTEM = SYSTEM

return M
