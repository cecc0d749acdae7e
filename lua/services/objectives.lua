-- Objectives: an owner's objective in a cycle, with its key results (a checklist item, or a
-- number from a start value to a target with a unit), a status, a progress derived from the key
-- results, a completion rating, the people named on it (protected) or granted it (private), its
-- alignment (company, team or individual; a team objective aligns to a company one, an individual
-- one to either) and a thread of comments and progress updates.
--
-- Who reads an objective is decided by the evaluator, one row of policies/roles.lua per
-- visibility level (M.READ: objectives.read_public, read_protected, read_private) with the owner as
-- the subject and the part `named` for people named on or granted it; lists ask once for all their
-- rows (core.authz.check_many). An objective someone may not read is a 404 to them, and for them
-- it does not exist anywhere: not in a list, a count, a roll-up or an alignment.
--
-- Changes: the owner, their direct manager, and whoever created it for them
-- (objectives.edit), when they may read it; until the cycle's "edit until" everything, until
-- "update until" only status, key-result values, rating and comments; then read-only.
-- Every text (title, description, key results' titles and units, comments) is sealed with
-- lib/crypt, bound to its row.
--
-- Events (docs/events.md): objective.created / updated / progress_updated / commented / deleted.
local db = require "lib.db"
local crypt = require "lib.crypt"
local json = require "lib.json"
local util = require "lib.util"
local errors = require "lib.errors"
local events = require "lib.events"
local schema = require "lib.schema"
local clock = require "core.clock"
local authz = require "core.authz"
local access = require "services.access"
local audit = require "services.audit"
local cycles = require "services.objective_cycles"

local M = {}

crypt.register{ table = "objectives", column = "title_enc", key = { "id" } }
crypt.register{ table = "objectives", column = "description_enc", key = { "id" } }
crypt.register{ table = "objective_key_results", column = "title_enc", key = { "id" } }
crypt.register{ table = "objective_key_results", column = "unit_enc", key = { "id" } }
crypt.register{ table = "objective_comments", column = "body_enc", key = { "id" } }

M.LEVELS = { "company", "team", "individual" }
M.LEVEL_LABELS = { company = "Company", team = "Team", individual = "Individual" }
M.RATING_LABELS = { "Not achieved", "Partly achieved", "Achieved", "Exceeded", "Far exceeded" }
M.KR_MAX = 10
M.NAMED_MAX = 50
M.OWNERS_MAX = 500

--- The evaluator's row for reading an objective of each visibility level.
M.READ = { public = "objectives.read_public", protected = "objectives.read_protected",
  private = "objectives.read_private" }

local function int(v) return math.tointeger(tonumber(v)) end

-- ------------------------------------------------------------------ who reads

--- An SQL expression (one ? for the reader's id) that is 'named' when the reader is named on
--- objective o (or granted it), else NULL: the part the evaluator is told.
M.PART_SQL = [[(SELECT 'named' FROM objective_shares s WHERE s.objective_id = o.id AND s.user_id = ?)]]

--- Whether actor may read objective o (a row with owner_id, visibility and part).
function M.can_read(actor, o)
  return (access.can(actor, M.READ[o.visibility], { subject = o.owner_id, rel = { named = o.part == "named" } }))
end

--- The rows (each with owner_id, visibility, part) actor may read, in order: one C call for all.
--- The company and team objectives of a cycle that actor may read (what an objective can align
--- to), at most 2,000. One query and the evaluator.
function M.alignment_choices(actor, cycle_id)
  local rows = db.query("SELECT " .. [[o.id, o.owner_id, o.visibility, o.level, o.title_enc, u.name AS owner_name, ]]
    .. M.PART_SQL .. [[ AS part FROM objectives o JOIN users u ON u.id = o.owner_id
    WHERE o.cycle_id = ? AND o.level IN ('company', 'team') ORDER BY o.level, o.id LIMIT 2000]], actor.id, cycle_id)
  return M.readable(actor, rows)
end

function M.readable(actor, rows)
  local vis, owners, parts = {}, {}, {}
  for i, r in ipairs(rows) do vis[i], owners[i], parts[i] = r.visibility, r.owner_id, r.part end
  local ok = authz.check_many(actor.id, M.READ, vis, owners, parts, #rows)
  local out = {}
  for i, r in ipairs(rows) do
    if ok[i] then out[#out + 1] = r end
  end
  return out
end

--- For columns from db.columns (owner_id, visibility, part): the array of booleans and the
--- count actor may read.
function M.readable_columns(actor, cols, n)
  return authz.check_many(actor.id, M.READ, cols.visibility or {}, cols.owner_id or {}, cols.part or {}, n)
end

-- Whether actor may change objective o (they may read it: checked before).
local function can_change(actor, o)
  return (access.can(actor, "objectives.edit", { subject = o.owner_id, rel = { author = o.created_by == actor.id } }))
end

-- ------------------------------------------------------------------ progress

--- A key result's progress, 0-100: a checklist item done or not; a number's way from its start
--- to its target (either direction), cut to 0..100.
function M.kr_progress(k)
  if k.kind == "check" then return (k.done == 1 or k.done == true) and 100 or 0 end
  local s, goal = k.start_value or 0, k.target_value or 0
  local cur = k.current_value or s
  if goal == s then return (cur == goal) and 100 or 0 end
  local p = (cur - s) / (goal - s)
  if p < 0 then p = 0 elseif p > 1 then p = 1 end
  return math.floor(p * 100 + 0.5)
end

--- An objective's progress: the mean of its key results' progress; without key results, 100
--- when done, else 0.
function M.progress_of(krs, status)
  if #krs == 0 then return status == "done" and 100 or 0 end
  local sum = 0
  for _, k in ipairs(krs) do sum = sum + M.kr_progress(k) end
  return math.floor(sum / #krs + 0.5)
end

--- "1.2M" style numbers for key results (no trailing zeros).
function M.number(v)
  if v == nil then return "" end
  if math.type(v) == "integer" or v == math.floor(v) and math.abs(v) < 1e15 then
    return tostring(math.tointeger(v) or v)
  end
  return (("%.4f"):format(v):gsub("0+$", ""):gsub("%.$", ""))
end

-- ------------------------------------------------------------------ reading

local COLS = [[o.id, o.cycle_id, o.owner_id, o.level, o.parent_id, o.visibility, o.title_enc, o.description_enc,
  o.category, o.due_on, o.status, o.progress, o.rating, o.copied_from, o.created_by, o.created_at, o.updated_at,
  u.name AS owner_name, u.job_title AS owner_job_title, u.manager_id AS owner_manager_id]]

--- Opens the title (and, with description, the description) of row o in place.
function M.open(o, description)
  o.title = crypt.open("objectives", "title_enc", { o.id }, o.title_enc)
  o.title_enc = nil
  if description then
    o.description = o.description_enc and crypt.open("objectives", "description_enc", { o.id }, o.description_enc) or ""
  end
  o.description_enc = nil
  return o
end

local function row(actor, id)
  id = int(id)
  return id and db.row("SELECT " .. COLS .. ", " .. M.PART_SQL .. [[ AS part
    FROM objectives o JOIN users u ON u.id = o.owner_id WHERE o.id = ?]], actor.id, id) or nil
end

--- Whether actor may read the objective at id (false for one that does not exist).
function M.readable_id(actor, id)
  local o = row(actor, id)
  return o ~= nil and M.can_read(actor, o)
end

--- The objective at id as actor may read it (title and description open), or a 404 (also when
--- they may not read it: its existence is nobody else's business).
function M.get(actor, id)
  local o = row(actor, id)
  if not o or not M.can_read(actor, o) then errors.not_found("There is no such objective.") end
  return M.open(o, true)
end

--- The key results of objective id, in order, open: { id, kind, title, unit, start_value,
--- target_value, current_value, done, progress }.
function M.key_results(id)
  local krs = db.query([[SELECT id, position, kind, title_enc, unit_enc, start_value, target_value, current_value, done
    FROM objective_key_results WHERE objective_id = ? ORDER BY position, id]], id)
  for _, k in ipairs(krs) do
    k.title = crypt.open("objective_key_results", "title_enc", { k.id }, k.title_enc)
    k.unit = k.unit_enc and crypt.open("objective_key_results", "unit_enc", { k.id }, k.unit_enc) or ""
    k.title_enc, k.unit_enc = nil, nil
    k.done = k.done == 1
    k.progress = M.kr_progress(k)
  end
  return krs
end

--- The people named on (or granted) objective id: { id, name, job_title }.
function M.named(id)
  return db.query([[SELECT u.id, u.name, u.job_title FROM objective_shares s JOIN users u ON u.id = s.user_id
    WHERE s.objective_id = ? ORDER BY u.name COLLATE FOLD]], id)
end

--- The thread of objective id, oldest first: { id, kind, author_id, author_name, body, status,
--- progress, changes, created_at }.
function M.thread(id)
  local rows = db.query([[SELECT c.id, c.kind, c.author_id, u.name AS author_name, c.body_enc, c.status, c.progress,
      c.changes, c.created_at FROM objective_comments c LEFT JOIN users u ON u.id = c.author_id
    WHERE c.objective_id = ? ORDER BY c.id]], id)
  for _, c in ipairs(rows) do
    c.body = c.body_enc and crypt.open("objective_comments", "body_enc", { c.id }, c.body_enc) or nil
    c.body_enc = nil
    c.changes = c.changes and json.decode(c.changes) or {}
  end
  return rows
end

--- The objectives aligned to objective id that actor may read, each open with its progress:
--- hidden ones are left out (they count nowhere). One query.
function M.children(actor, id)
  local rows = db.query("SELECT " .. COLS .. ", " .. M.PART_SQL .. [[ AS part
    FROM objectives o JOIN users u ON u.id = o.owner_id WHERE o.parent_id = ?
    ORDER BY o.level, u.name COLLATE FOLD, o.id]], actor.id, id)
  local out = M.readable(actor, rows)
  for _, o in ipairs(out) do M.open(o) end
  return out
end

--- Everything the objective page shows, for actor: { objective, cycle, window, key_results,
--- named, thread, parent (when actor may read it), children (those actor may read), copies
--- (of this one, that actor may read), can = { change, edit, update, comment, delete, copy } }.
--- A constant number of queries.
function M.view(actor, id)
  local o = M.get(actor, id)
  local c = cycles.require(o.cycle_id)
  local win = cycles.window(c)
  local parent
  if o.parent_id then
    local p = row(actor, o.parent_id)
    if p and M.can_read(actor, p) then parent = M.open(p) end
  end
  local changer = can_change(actor, o)
  local copies = M.readable(actor, db.query("SELECT " .. COLS .. ", " .. M.PART_SQL .. [[ AS part
    FROM objectives o JOIN users u ON u.id = o.owner_id WHERE o.copied_from = ? ORDER BY o.id]], actor.id, o.id))
  for _, x in ipairs(copies) do M.open(x) end
  local copied_from
  if o.copied_from then
    local f = row(actor, o.copied_from)
    if f and M.can_read(actor, f) then copied_from = M.open(f) end
  end
  return { objective = o, cycle = c, window = win, key_results = M.key_results(o.id), named = M.named(o.id),
    thread = M.thread(o.id), parent = parent, children = M.children(actor, o.id), copies = copies,
    copied_from = copied_from,
    can = { change = changer, edit = changer and win == "edit", update = changer and win ~= "closed",
      comment = win ~= "closed", delete = changer and win == "edit",
      copy = changer and o.status == "missed" } }
end

-- ------------------------------------------------------------------ input

local VIS = { type = "string", one_of = cycles.VISIBILITIES, label = "The visibility",
  description = "public, protected or private." }

--- A key result as the create and edit bodies give it.
M.KR_SCHEMA = schema.record{ strict = false, fields = {
  { id = { type = "integer", description = "An existing key result's id (to keep it when editing)." } },
  { kind = { type = "string", one_of = { "check", "number" }, default = "check", label = "The kind",
    description = "check (a checklist item) or number (from start to target)." } },
  { title = schema.text{ max = 200, label = "The key result", description = "What it says." } },
  { unit = schema.text{ max = 20, label = "The unit", description = "Numbers: e.g. EUR, %, users." } },
  { start = { type = "number", label = "The start value", description = "Numbers: where it starts." } },
  { target = { type = "number", label = "The target", description = "Numbers: where it should get." } },
  { current = { type = "number", label = "The current value", description = "Numbers: where it is now (default: the start)." } },
  { done = { type = "boolean", description = "Checklist items: done." } },
} }

--- A key result's value in a progress update.
M.RESULT_SCHEMA = schema.record{ strict = false, fields = {
  { id = { type = "integer", required = true, description = "The key result's id." } },
  { current = { type = "number", label = "The current value", description = "Numbers: the value now." } },
  { done = { type = "boolean", description = "Checklist items: done or not." } },
} }

--- The body of creating an objective and of changing one (the fields of the second part change
--- until "update until", the others until "edit until").
M.SCHEMA = schema.record{ strict = false, fields = {
  { cycle_id = { type = "integer", label = "The cycle", description = "Creating: the objective cycle." } },
  { owner_id = { type = "integer", label = "The owner", description = "Creating: whose objective (default: you)." } },
  { owner_ids = { type = "array", elements = { type = "integer" }, unique = true, len_max = M.OWNERS_MAX,
    label = "The owners", description = "Creating: one objective each for several people at once (a manager's reports)." } },
  { title = schema.text{ max = 200, label = "The title", description = "What is to be achieved." } },
  { description = schema.text{ max = 4000, multiline = true, label = "The description", description = "More about it." } },
  { due_on = schema.date{ label = "The due date", description = "Default: the end of the cycle." } },
  { visibility = VIS },
  { level = { type = "string", one_of = M.LEVELS, label = "The level",
    description = "company, team or individual (with alignment on)." } },
  { parent_id = { type = "integer", label = "Aligned to",
    description = "The objective it aligns to (0: none)." } },
  { category = schema.text{ max = 40, label = "The category", description = "One of the cycle's categories." } },
  { key_results = { type = "array", elements = M.KR_SCHEMA, len_max = M.KR_MAX, label = "The key results",
    description = "The whole list (editing: key results left out are removed)." } },
  { named_ids = { type = "array", elements = { type = "integer" }, unique = true, len_max = M.NAMED_MAX,
    label = "The people named", description = "Protected: colleagues named on it; private: people granted it." } },
  { status = { type = "string", one_of = cycles.STATUSES, label = "The status",
    description = "Update: on_track, at_risk, off_track, done or missed." } },
  { results = { type = "array", elements = M.RESULT_SCHEMA, len_max = M.KR_MAX, label = "The key-result values",
    description = "Update: new values of key results." } },
  { rating = { type = "integer", between = { 1, 5 }, label = "The rating", description = "Update: the completion rating, 1-5." } },
  { note = schema.text{ max = 4000, multiline = true, label = "The note", description = "Update: a note for the thread." } },
} }

M.EDIT_FIELDS = { "title", "description", "due_on", "visibility", "level", "parent_id", "category", "key_results",
  "named_ids" }
M.UPDATE_FIELDS = { "status", "results", "rating", "note" }

local function read(input)
  local r, errs = schema.validate(M.SCHEMA, input or {}, { coerce = true, messages = schema.SENTENCES, partial = true })
  return r or {}, schema.by_field(errs)
end

-- Checks the key results of r (fields collects problems); returns the clean list.
local function check_krs(list, fields, existing)
  local out = {}
  for i, k in ipairs(list or {}) do
    local where = ("Key result %d: "):format(i)
    if not k.title then
      fields.key_results = fields.key_results or (where .. "give it a title.")
    elseif k.kind == "number" and (k.start == nil or k.target == nil) then
      fields.key_results = fields.key_results or (where .. "a number needs a start value and a target.")
    elseif k.kind == "number" and k.start == k.target then
      fields.key_results = fields.key_results or (where .. "the target must differ from the start value.")
    elseif k.id and existing and not existing[k.id] then
      fields.key_results = fields.key_results or (where .. "it is not one of this objective's key results.")
    end
    out[#out + 1] = k
  end
  return out
end

-- The people named: active employees (fields collects problems); never the owner.
local function check_named(ids, owner_ids, fields)
  if not ids or #ids == 0 then return {} end
  local found = {}
  for _, u in ipairs(db.query([[SELECT id FROM users WHERE id IN (SELECT value FROM json_each(?)) AND kind = 'employee'
      AND status <> 'deactivated']], json.encode(ids))) do found[u.id] = true end
  local owners = {}
  for _, id in ipairs(owner_ids) do owners[id] = true end
  local out = {}
  for _, id in ipairs(ids) do
    if not found[id] then
      fields.named_ids = "Name colleagues from the list (not guests or people who left)."
    elseif not owners[id] then
      out[#out + 1] = id
    end
  end
  return out
end

-- Whether anything of person owner_id reports to them (a manager).
local function has_reports(owner_id) return #authz.reports(owner_id, true) > 0 end

-- Whether actor may create objectives for owner_id in cycle c: nil, or the reason not.
local function create_problem(actor, c, owner_id, names)
  local u = db.row("SELECT id, name, kind, status FROM users WHERE id = ?", owner_id)
  if not u or u.kind ~= "employee" or u.status == "deactivated" then return "Pick people from the list." end
  local who = u.id == actor.id and "You do" or (names[u.id] or u.name) .. " does"
  if not cycles.takes_part(c, u.id) then return who .. " not take part in " .. c.name .. "." end
  local ok, rule = access.can(actor, "objectives.create_for", { subject = u.id })
  if not ok then return "You cannot set objectives for " .. u.name .. ": only for yourself and your direct reports." end
  if access.can(actor, "objectives.create_for") then return nil end -- HR, on anyone's behalf
  if rule == "rel:self" and c.creators == "managers" and not has_reports(u.id) then
    return "In " .. c.name .. ", managers set their reports' objectives."
  end
  if rule == "rel:direct_manager" and c.creators == "employees" then
    return "In " .. c.name .. ", everyone sets their own objectives."
  end
  return nil
end

-- The parent for an objective at level in cycle c, as actor may see it: the row, or nil and a
-- problem. parent_id 0 or nil: none.
local function check_parent(actor, c, level, parent_id, self_id)
  if not parent_id or parent_id == 0 then return nil end
  if not c.alignment then return nil, "This cycle does not align objectives." end
  if level == "company" then return nil, "Company objectives are the top: they align to nothing." end
  local p = row(actor, parent_id)
  if not p or not M.can_read(actor, p) or p.cycle_id ~= c.id then
    return nil, "Align it to an objective of the same cycle that you can see."
  end
  if p.id == self_id then return nil, "An objective cannot align to itself." end
  if p.level == "individual" then return nil, "Align it to a company or team objective." end
  if level == "team" and p.level ~= "company" then return nil, "A team objective aligns to a company objective." end
  return p
end

local function check_level(actor, c, level, owner_ids, fields)
  if not c.alignment then return "individual" end
  level = level or "individual"
  if level == "company" and not access.can(actor, "objectives.set_company") then
    fields.level = "Company objectives are set by HR (" .. (authz.roles_for("objectives.set_company") or "a role") .. ")."
  elseif level == "team" then
    for _, id in ipairs(owner_ids) do
      if not has_reports(id) then
        fields.level = "A team objective belongs to someone with a team: pick a manager as its owner."
        break
      end
    end
  end
  return level
end

local function check_category(c, category, fields)
  if category == nil then return nil end
  if not c.categories then fields.category = "This cycle has no categories."; return nil end
  for _, x in ipairs(c.category_list) do
    if util.fold(x) == util.fold(category) then return x end
  end
  fields.category = "Pick one of the cycle's categories."
  return nil
end

-- ------------------------------------------------------------------ writing

local function seal(tbl, column, id, text)
  return crypt.seal(tbl, column, { id }, text)
end

-- Writes the key results of objective id: replaces the list (ids kept are updated, the others
-- removed). Returns the list as stored (with progress fields).
local function write_krs(id, list)
  local now = clock.now()
  local keep = {}
  for pos, k in ipairs(list) do
    local kid = k.id
    if kid then
      db.exec([[UPDATE objective_key_results SET position = ?, kind = ?, start_value = ?, target_value = ?,
          current_value = coalesce(?, current_value, ?), done = ?, updated_at = ? WHERE id = ? AND objective_id = ?]],
        pos, k.kind, k.kind == "number" and k.start or nil, k.kind == "number" and k.target or nil,
        k.kind == "number" and k.current or nil, k.kind == "number" and k.start or nil, k.done and 1 or 0, now, kid, id)
    else
      kid = db.insert([[INSERT INTO objective_key_results(objective_id, position, kind, title_enc, start_value, target_value,
          current_value, done, updated_at) VALUES(?, ?, ?, x'', ?, ?, ?, ?, ?)]], id, pos, k.kind,
        k.kind == "number" and k.start or nil, k.kind == "number" and k.target or nil,
        k.kind == "number" and (k.current or k.start) or nil, k.done and 1 or 0, now)
    end
    db.exec("UPDATE objective_key_results SET title_enc = ?, unit_enc = ? WHERE id = ?",
      seal("objective_key_results", "title_enc", kid, k.title),
      (k.kind == "number" and k.unit) and seal("objective_key_results", "unit_enc", kid, k.unit) or nil, kid)
    keep[#keep + 1] = kid
  end
  db.exec("DELETE FROM objective_key_results WHERE objective_id = ? AND id NOT IN (SELECT value FROM json_each(?))",
    id, json.encode(json.array(keep)))
  return db.query([[SELECT id, kind, start_value, target_value, current_value, done FROM objective_key_results
    WHERE objective_id = ? ORDER BY position, id]], id)
end

local function write_named(id, ids, actor)
  local now = clock.now()
  db.exec("DELETE FROM objective_shares WHERE objective_id = ? AND user_id NOT IN (SELECT value FROM json_each(?))",
    id, json.encode(json.array(ids)))
  db.exec([[INSERT INTO objective_shares(objective_id, user_id, added_by, added_at)
    SELECT ?, value, ?, ? FROM json_each(?) WHERE true ON CONFLICT(objective_id, user_id) DO NOTHING]],
    id, actor.id, now, json.encode(json.array(ids)))
end

local function set_progress(id, status)
  local krs = db.query("SELECT kind, start_value, target_value, current_value, done FROM objective_key_results WHERE objective_id = ?", id)
  local p = M.progress_of(krs, status)
  db.exec("UPDATE objectives SET progress = ? WHERE id = ?", p, id)
  return p
end

local function owner_names(ids)
  local out = {}
  if #ids > 0 then
    for _, u in ipairs(db.query("SELECT id, name FROM users WHERE id IN (SELECT value FROM json_each(?))", json.encode(ids))) do
      out[u.id] = u.name
    end
  end
  return out
end

--- Creates an objective: input as M.SCHEMA (cycle_id and title required; owner_id, or owner_ids
--- for one objective each for several people; default: the actor). Returns the list of new
--- objective ids. Everything or nothing: when one owner is refused, nobody gets it.
function M.create(actor, input, req)
  input = input or {}
  local r, fields = read(input)
  local c = r.cycle_id and cycles.get(r.cycle_id)
  if not c then errors.invalid({ cycle_id = fields.cycle_id or "Pick an objective cycle." }) end
  if cycles.window(c) ~= "edit" then
    errors.conflict(("Objectives of %s could be set until %s: it is open for updates only now."):format(c.name,
      util.human_date(c.edit_until)))
  end
  local owners = r.owner_ids or { r.owner_id or actor.id }
  if #owners == 0 then fields.owner_ids = "Pick at least one person." end
  local names = owner_names(owners)
  for _, id in ipairs(owners) do
    local problem = create_problem(actor, c, id, names)
    if problem then
      fields[r.owner_ids and "owner_ids" or "owner_id"] = problem
      break
    end
  end
  if not r.title and not fields.title then fields.title = "Give the objective a title." end
  local level = check_level(actor, c, r.level, owners, fields)
  local parent, problem = check_parent(actor, c, level, r.parent_id)
  if problem then fields.parent_id = problem end
  local category = check_category(c, r.category, fields)
  local krs = c.key_results and check_krs(r.key_results, fields) or {}
  if not c.key_results and r.key_results and #r.key_results > 0 then fields.key_results = "This cycle has no key results." end
  local named = check_named(r.named_ids, owners, fields)
  local visibility = r.visibility or c.default_visibility
  if visibility == "public" and #named > 0 and not fields.named_ids then
    fields.named_ids = "Everyone reads a public objective: name people on protected or private ones."
  end
  if next(fields) then errors.invalid(fields, "The objective was not created: some fields need attention.") end
  local due = r.due_on or c.ends_on
  local now = clock.now()
  return db.transaction(function()
    local ids = {}
    for _, owner in ipairs(owners) do
      local id = db.insert([[INSERT INTO objectives(cycle_id, owner_id, level, parent_id, visibility, title_enc,
          category, due_on, status, progress, created_by, created_at, updated_at)
          VALUES(?, ?, ?, ?, ?, x'', ?, ?, 'on_track', 0, ?, ?, ?)]],
        c.id, owner, level, parent and parent.id or nil, visibility, category, due, actor.id, now, now)
      db.exec("UPDATE objectives SET title_enc = ?, description_enc = ? WHERE id = ?",
        seal("objectives", "title_enc", id, r.title),
        r.description and seal("objectives", "description_enc", id, r.description) or nil, id)
      local list = {}
      for i, k in ipairs(krs) do list[i] = util.copy(k); list[i].id = nil end
      write_krs(id, list)
      set_progress(id, "on_track")
      local mine = {}
      for _, n in ipairs(named) do if n ~= owner then mine[#mine + 1] = n end end
      write_named(id, mine, actor)
      if owner ~= actor.id then
        audit.record{ action = "objective.create_for", actor = actor, req = req, target_type = "objective", target_id = id,
          details = { owner_id = owner, cycle_id = c.id } }
      end
      events.fire("objective.created", { objective_id = id, cycle_id = c.id, owner_id = owner, level = level,
        visibility = visibility, parent_id = parent and parent.id, due_on = due, actor_id = actor.id })
      ids[#ids + 1] = id
    end
    return ids
  end)
end

-- The objective for a change by actor: readable (else 404) and theirs to change (else 403).
local function for_change(actor, id)
  local o = M.get(actor, id)
  if not can_change(actor, o) then
    errors.forbidden("Only its owner, their manager and whoever set it for them change an objective.")
  end
  return o, cycles.require(o.cycle_id)
end

local function given(input, list)
  for _, k in ipairs(list) do if input[k] ~= nil then return true end end
  return false
end

--- Changes an objective: input as M.SCHEMA. The edit fields (title, description, due_on,
--- visibility, level, parent_id, category, key_results, named_ids) change until the cycle's
--- "edit until"; status, results, rating and a note until "update until", recorded in the
--- thread. Returns the objective (open).
function M.update(actor, id, input, req)
  input = input or {}
  local o, c = for_change(actor, id)
  local win = cycles.window(c)
  if input.cycle_id ~= nil or input.owner_id ~= nil or input.owner_ids ~= nil then
    errors.invalid({ owner_id = "An objective stays with its owner and cycle: copy a missed one into a newer cycle." })
  end
  local editing, updating = given(input, M.EDIT_FIELDS), given(input, M.UPDATE_FIELDS)
  if win == "closed" and (editing or updating) then
    errors.conflict(c.name .. " is closed: its objectives are read-only since " .. util.human_date(c.update_until) .. ".")
  end
  if win ~= "edit" and editing then
    errors.conflict(("Since %s only the status, key-result values, the rating and comments change in %s."):format(
      util.human_date(c.edit_until), c.name))
  end
  local r, fields = read(input)
  local existing = {}
  for _, k in ipairs(M.key_results(o.id)) do existing[k.id] = k end
  -- the edit fields
  local level = o.level
  if input.level ~= nil then level = check_level(actor, c, r.level, { o.owner_id }, fields) end
  local parent_id = o.parent_id
  if input.parent_id ~= nil then parent_id = r.parent_id end
  if input.parent_id ~= nil or input.level ~= nil then
    local parent, problem = check_parent(actor, c, level, parent_id, o.id)
    if problem then fields.parent_id = problem end
    parent_id = parent and parent.id or nil
    if level == "company" then parent_id = nil end
  end
  if level ~= o.level then
    local below = db.value([[SELECT 1 FROM objectives WHERE parent_id = ? AND (? = 'individual' OR level = 'team')
      LIMIT 1]], o.id, level)
    if below then fields.level = "Objectives are aligned to this one at a level it could not have them at." end
  end
  local category = o.category
  if input.category ~= nil then category = r.category and check_category(c, r.category, fields) or nil end
  local krs
  if input.key_results ~= nil then
    if not c.key_results then fields.key_results = "This cycle has no key results."
    else krs = check_krs(r.key_results, fields, existing) end
  end
  local visibility = r.visibility or o.visibility
  local named
  if input.named_ids ~= nil then named = check_named(r.named_ids, { o.owner_id }, fields) end
  if visibility == "public" and named and #named > 0 and not fields.named_ids then
    fields.named_ids = "Everyone reads a public objective: name people on protected or private ones."
  end
  if input.title ~= nil and not r.title and not fields.title then fields.title = "Give the objective a title." end
  -- the update fields
  if input.rating ~= nil and not c.rating then fields.rating = "This cycle has no completion rating." end
  local results = {}
  for _, x in ipairs(r.results or {}) do
    local k = existing[x.id]
    if not k then
      fields.results = "That is not one of this objective's key results."
    elseif k.kind == "number" and x.current == nil then
      fields.results = ("“%s” needs a number."):format(k.title)
    else
      results[#results + 1] = { k = k, current = x.current, done = x.done }
    end
  end
  if next(fields) then errors.invalid(fields, "The objective was not changed: some fields need attention.") end

  return db.transaction(function()
    local now = clock.now()
    local changed = {}
    local function set(col, value, name)
      db.exec(("UPDATE objectives SET %s = ? WHERE id = ?"):format(col), value, o.id)
      changed[#changed + 1] = name or col
    end
    if r.title and r.title ~= o.title then set("title_enc", seal("objectives", "title_enc", o.id, r.title), "title") end
    if input.description ~= nil and (r.description or "") ~= (o.description or "") then
      set("description_enc", r.description and seal("objectives", "description_enc", o.id, r.description) or nil,
        "description")
    end
    if r.due_on and r.due_on ~= o.due_on then set("due_on", r.due_on) end
    if visibility ~= o.visibility then set("visibility", visibility) end
    if level ~= o.level then set("level", level) end
    if (input.parent_id ~= nil or input.level ~= nil) and parent_id ~= o.parent_id then set("parent_id", parent_id) end
    if category ~= o.category then set("category", category) end
    if krs then
      write_krs(o.id, krs)
      changed[#changed + 1] = "key_results"
    end
    if visibility == "public" then named = {} end -- made public: nobody needs naming any more
    if named then
      local before = {}
      for _, p in ipairs(M.named(o.id)) do before[#before + 1] = p.id end
      table.sort(before)
      local after = util.copy(named)
      table.sort(after)
      if json.encode(json.array(before)) ~= json.encode(json.array(after)) then
        write_named(o.id, named, actor)
        changed[#changed + 1] = "named_ids"
      end
    end
    -- progress
    local status = r.status or o.status
    local kr_changes = {}
    for _, x in ipairs(results) do
      local k = x.k
      if k.kind == "number" and x.current ~= k.current_value then
        db.exec("UPDATE objective_key_results SET current_value = ?, updated_at = ? WHERE id = ?", x.current, now, k.id)
        kr_changes[#kr_changes + 1] = { id = k.id, from = k.current_value, to = x.current }
      elseif k.kind == "check" and x.done ~= nil and x.done ~= k.done then
        db.exec("UPDATE objective_key_results SET done = ?, updated_at = ? WHERE id = ?", x.done and 1 or 0, now, k.id)
        kr_changes[#kr_changes + 1] = { id = k.id, done = x.done }
      end
    end
    if status ~= o.status then db.exec("UPDATE objectives SET status = ? WHERE id = ?", status, o.id) end
    if r.rating and r.rating ~= o.rating then db.exec("UPDATE objectives SET rating = ? WHERE id = ?", r.rating, o.id) end
    local progress = set_progress(o.id, status)
    local progressed = status ~= o.status or #kr_changes > 0 or (r.rating and r.rating ~= o.rating) or r.note
    if #changed > 0 or progressed or progress ~= o.progress then
      db.exec("UPDATE objectives SET updated_at = ? WHERE id = ?", now, o.id)
    end
    if #changed > 0 then
      events.fire("objective.updated", { objective_id = o.id, cycle_id = c.id, owner_id = o.owner_id, fields = changed,
        actor_id = actor.id })
    end
    if progressed then
      local ch = { results = #kr_changes > 0 and kr_changes or nil }
      if status ~= o.status then ch.status = { from = o.status, to = status } end
      if progress ~= o.progress then ch.progress = { from = o.progress, to = progress } end
      if r.rating and r.rating ~= o.rating then ch.rating = { from = o.rating, to = r.rating } end
      local cid = db.insert([[INSERT INTO objective_comments(objective_id, author_id, kind, status, progress, changes,
          created_at) VALUES(?, ?, 'update', ?, ?, ?, ?)]], o.id, actor.id, status, progress, json.encode(ch), now)
      if r.note then
        db.exec("UPDATE objective_comments SET body_enc = ? WHERE id = ?", seal("objective_comments", "body_enc", cid, r.note), cid)
      end
      events.fire("objective.progress_updated", { objective_id = o.id, cycle_id = c.id, owner_id = o.owner_id,
        comment_id = cid, from_status = o.status, status = status, progress = progress, actor_id = actor.id })
    end
    return M.get(actor, o.id)
  end)
end

--- Deletes an objective (until "edit until"). What was aligned to it is no longer aligned.
function M.delete(actor, id, req)
  local o, c = for_change(actor, id)
  if cycles.window(c) ~= "edit" then
    errors.conflict(("Objectives of %s could be deleted until %s."):format(c.name, util.human_date(c.edit_until)))
  end
  return db.transaction(function()
    db.exec("DELETE FROM objectives WHERE id = ?", o.id)
    if o.owner_id ~= actor.id then
      audit.record{ action = "objective.delete", actor = actor, req = req, target_type = "objective", target_id = o.id,
        details = { owner_id = o.owner_id, cycle_id = c.id } }
    end
    events.fire("objective.deleted", { objective_id = o.id, cycle_id = c.id, owner_id = o.owner_id, actor_id = actor.id })
    return true
  end)
end

--- Adds a comment to the thread of an objective actor may read (until "update until").
--- Returns the comment's id.
function M.comment(actor, id, body)
  local o = M.get(actor, id)
  local c = cycles.require(o.cycle_id)
  if cycles.window(c) == "closed" then errors.conflict(c.name .. " is closed: its objectives are read-only.") end
  local r, errs = schema.validate(schema.text{ max = 4000, multiline = true, label = "The comment", required = true },
    body, { coerce = true, messages = schema.SENTENCES })
  if not r then errors.invalid({ body = (errs[1].code == "required") and "Write something first." or errs[1].message }) end
  return db.transaction(function()
    local cid = db.insert([[INSERT INTO objective_comments(objective_id, author_id, kind, created_at)
      VALUES(?, ?, 'comment', ?)]], o.id, actor.id, clock.now())
    db.exec("UPDATE objective_comments SET body_enc = ? WHERE id = ?", seal("objective_comments", "body_enc", cid, r), cid)
    events.fire("objective.commented", { objective_id = o.id, cycle_id = c.id, owner_id = o.owner_id, comment_id = cid,
      actor_id = actor.id })
    return cid
  end)
end

--- Copies a missed objective into a newer cycle that is open for editing: title, description,
--- key results (back at their start), category (when the new cycle has it), visibility and the
--- people named; not the alignment. Returns the new objective's id.
function M.copy(actor, id, cycle_id, req)
  local o, c = for_change(actor, id)
  if o.status ~= "missed" then errors.conflict("Only missed objectives are copied into a newer cycle.") end
  local target = cycles.get(cycle_id)
  if not target or target.id == c.id or target.starts_on < c.starts_on then
    errors.invalid({ cycle_id = "Pick a newer objective cycle." })
  end
  local krs = {}
  for _, k in ipairs(M.key_results(o.id)) do
    krs[#krs + 1] = { kind = k.kind, title = k.title, unit = k.unit ~= "" and k.unit or nil, start = k.start_value,
      target = k.target_value }
  end
  local named = {}
  for _, p in ipairs(M.named(o.id)) do named[#named + 1] = p.id end
  local category
  if o.category and target.categories then
    for _, x in ipairs(target.category_list) do if x == o.category then category = x end end
  end
  return db.transaction(function()
    local ids = M.create(actor, { cycle_id = target.id, owner_id = o.owner_id, title = o.title,
      description = o.description ~= "" and o.description or nil, visibility = o.visibility,
      key_results = target.key_results and krs or nil, category = category,
      named_ids = o.visibility ~= "public" and named or nil }, req)
    db.exec("UPDATE objectives SET copied_from = ? WHERE id = ?", o.id, ids[1])
    events.fire("objective.copied", { objective_id = ids[1], from_id = o.id, cycle_id = target.id,
      from_cycle_id = c.id, owner_id = o.owner_id, actor_id = actor.id })
    return ids[1]
  end)
end

--- The cycles an objective of cycle c can be copied into: newer and open for editing.
function M.copy_targets(c)
  local out = {}
  for _, x in ipairs(db.query("SELECT id FROM objective_cycles WHERE id <> ? AND starts_on >= ? ORDER BY starts_on, id",
      c.id, c.starts_on)) do
    local t = cycles.get(x.id)
    if cycles.window(t) == "edit" then out[#out + 1] = t end
  end
  return out
end

return M
