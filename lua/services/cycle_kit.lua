-- What every kind of cycle shares (performance reviews, 360 feedback): the admins and
-- assistants of one cycle and the permission check that counts them, dates that must come in
-- order, moving the dates of a copy, and the company overview's filters, sorting and pages.
--
--   local kit = cycle_kit.new{ admins_table = "cycle_admins", noun = "review cycle",
--     read_action = "reviews.read", manage_action = "review_cycles.manage" }
--   kit:role(user_id, cycle_id)  kit:can(actor, "review_cycles.track", c)  kit:admins(c.id)
local db = require "lib.db"
local json = require "lib.json"
local memo = require "lib.memo"
local util = require "lib.util"
local dates = require "lib.dates"
local errors = require "lib.errors"
local clock = require "core.clock"
local authz = require "core.authz"
local events = require "lib.events"
local access = require "services.access"
local audit = require "services.audit"

local M = {}
local Kit = {}
Kit.__index = Kit

--- spec: table (the cycles), admins_table, noun ("review cycle"), read_action (reading content,
--- needed to make someone a cycle admin), manage_action (the company-wide right to set a cycle's
--- admins), delete_cycle_action, audit_prefix ("cycle"), event_area (the events' area: "cycle"
--- fires cycle.admins_changed, cycle.reviewees_added, ...; docs/events.md); for reviewees:
--- subjects_table (one row per reviewee: cycle_id, reviewee_id, manager_id, created_at,
--- updated_at), create_action, delete_action, delete_unstarted_action, started_sql (an SQL
--- expression over the row `s`: 1 when something was written for it), on_added(c, rows, actor)
--- (new rows of a running cycle, managers fixed: fire their events), after_add(c, ids) (optional:
--- more values add_reviewees returns about the people just asked for).
function M.new(spec)
  assert(spec.table and spec.admins_table and spec.noun and spec.read_action and spec.manage_action and spec.event_area,
    "cycle_kit.new: incomplete spec")
  return setmetatable({ spec = spec }, Kit)
end

--- Gives a cycles service svc the functions every kind has: get(id) and require(id) (rows of
--- spec.table through decode), running(c), cycle_role, can, require_perm, admin_anywhere,
--- admins, reviewee_set, set_admins, add_reviewees, remove_reviewees and delete (these take a
--- cycle id).
function Kit:install(svc, decode)
  local kit, spec = self, self.spec
  -- decoded cycles, kept while the table is unchanged (decoding the questionnaire was most of
  -- the cost of reading a review); the questionnaire and visibility tables are shared: read-only
  local decoded = memo.new({ spec.table }, 256)
  local sql = ("SELECT * FROM %s WHERE id = ?"):format(spec.table)
  local function load(id) return decode(db.row(sql, id)) end
  function svc.get(id)
    id = math.tointeger(tonumber(id))
    if not id then return nil end
    local c = decoded:fetch(id, load)
    return c and util.copy(c)
  end
  --- The kept value itself, not a copy: strictly read-only (for reads on every request).
  function svc.get_shared(id)
    id = math.tointeger(tonumber(id))
    return id and decoded:fetch(id, load)
  end
  function svc.require(id)
    local c = svc.get(id)
    if not c then errors.not_found(("There is no such %s."):format(spec.noun)) end
    return c
  end
  function svc.running(c) return c.phase ~= "draft" and c.phase ~= "closed" end
  function svc.cycle_role(user_id, cycle_id) return kit:role(user_id, cycle_id) end
  function svc.cycle_roles(user_id, cycle_ids) return kit:roles(user_id, cycle_ids) end
  function svc.can(actor, action, c, role) return kit:can(actor, action, c, role) end
  function svc.require_perm(actor, action, c) return kit:require_perm(actor, action, c) end
  function svc.admin_anywhere(user_id) return kit:admin_anywhere(user_id) end
  function svc.admins(id) return kit:admins(id) end
  function svc.reviewee_set(id) return kit:reviewee_set(id) end
  function svc.delete(actor, id, req) return kit:delete(actor, svc.require(id), req) end
  function svc.set_admins(actor, id, list, req) return kit:set_admins(actor, svc.require(id), list, req) end
  function svc.add_reviewees(actor, id, user_ids, req) return kit:add_reviewees(actor, svc.require(id), user_ids, req) end
  function svc.remove_reviewees(actor, id, user_ids, req)
    return kit:remove_reviewees(actor, svc.require(id), user_ids, req)
  end
  svc.kit = kit
end

--- The actor's role in this cycle only: "admin" | "assistant" | nil.
function Kit:role(user_id, cycle_id)
  return db.value(("SELECT role FROM %s WHERE cycle_id = ? AND user_id = ?"):format(self.spec.admins_table),
    cycle_id, user_id)
end

--- The actor's role in each of the cycles cycle_ids: { [cycle id] = "admin" | "assistant" } (one query).
function Kit:roles(user_id, cycle_ids)
  local out = {}
  if #cycle_ids == 0 then return out end
  for _, a in ipairs(db.query(([[SELECT cycle_id, role FROM %s WHERE user_id = ?
      AND cycle_id IN (SELECT value FROM json_each(?))]]):format(self.spec.admins_table), user_id, json.encode(cycle_ids))) do
    out[a.cycle_id] = a.role
  end
  return out
end

--- May actor do action (a cycle permission) on cycle c? Their role in c counts (role: when the
--- caller read it already, false for none).
function Kit:can(actor, action, c, role)
  if role == nil then role = c and self:role(actor.id, c.id) end
  return access.can(actor, action, role and { cycle_role = role } or nil)
end

function Kit:require_perm(actor, action, c)
  if not self:can(actor, action, c) then
    errors.forbidden(("You do not have permission to do this in this %s. It needs: %s (or being an admin of this "
      .. "cycle)."):format(self.spec.noun, authz.roles_for(action) or "a role"))
  end
end

--- Whether the actor is an admin or assistant of at least one cycle of this kind.
function Kit:admin_anywhere(user_id)
  return db.value(("SELECT 1 FROM %s WHERE user_id = ? LIMIT 1"):format(self.spec.admins_table), user_id) == 1
end

function Kit:admins(cycle_id)
  return db.query(([[SELECT a.user_id, a.role, u.name, u.email FROM %s a JOIN users u ON u.id = a.user_id
    WHERE a.cycle_id = ? ORDER BY a.role, u.name COLLATE FOLD]]):format(self.spec.admins_table), cycle_id)
end

--- Sets the admins and assistants of cycle c: list of { user_id=, role = "admin"|"assistant" }.
--- Needs the company-wide manage action (a cycle admin cannot appoint others); making someone
--- an admin (who reads content in this cycle) needs the right to read it oneself.
function Kit:set_admins(actor, c, list, req)
  local spec = self.spec
  if not access.can(actor, spec.manage_action) then
    errors.forbidden("You do not have permission to do this. It needs: " .. (authz.roles_for(spec.manage_action) or "a role") .. ".")
  end
  local clean, seen = {}, {}
  for _, x in ipairs(list or {}) do
    local uid = math.tointeger(tonumber(x.user_id))
    if not uid or (x.role ~= "admin" and x.role ~= "assistant") then
      errors.invalid({ admins = "Each entry needs a person and a role (admin or assistant)." })
    end
    if x.role == "admin" and not access.can(actor, spec.read_action) then
      errors.forbidden("Only someone who may read the content can make a cycle admin (who can read it in this cycle).")
    end
    if not seen[uid] then clean[#clean + 1] = { uid, x.role }; seen[uid] = true end
  end
  return db.transaction(function()
    db.exec(("DELETE FROM %s WHERE cycle_id = ?"):format(spec.admins_table), c.id)
    for _, e in ipairs(clean) do
      local u = db.row("SELECT id, kind, status FROM users WHERE id = ?", e[1])
      if not u or u.kind ~= "employee" or u.status == "deactivated" then
        errors.invalid({ admins = "Cycle admins must be active employees." })
      end
      db.exec(("INSERT INTO %s(cycle_id, user_id, role, added_by, added_at) VALUES(?,?,?,?,?)"):format(spec.admins_table),
        c.id, e[1], e[2], actor.id, clock.now())
    end
    audit.record{ action = (spec.audit_prefix or "cycle") .. ".admins", actor = actor, req = req,
      target_type = spec.audit_prefix or "cycle", target_id = c.id, target_label = c.name,
      details = { count = #clean } }
    events.fire(spec.event_area .. ".admins_changed", { cycle_id = c.id, count = #clean, actor_id = actor.id })
    return clean
  end)
end

-- ------------------------------------------------------------------ copying and deleting

--- After the copy of cycle c was inserted as new_id (named name): its reviewees (still active
--- employees, without what was written about them) and its admins come along; audited, and
--- <area>.created fires. Inside the copy's transaction.
function Kit:copied(actor, c, new_id, name, req)
  local spec, now = self.spec, clock.now()
  db.exec(([[INSERT INTO %s(cycle_id, reviewee_id, created_at, updated_at)
    SELECT ?, s.reviewee_id, ?, ? FROM %s s JOIN users u ON u.id = s.reviewee_id
    WHERE s.cycle_id = ? AND u.status <> 'deactivated' AND u.kind = 'employee']]):format(spec.subjects_table,
    spec.subjects_table), new_id, now, now, c.id)
  db.exec(([[INSERT INTO %s(cycle_id, user_id, role, added_by, added_at)
    SELECT ?, user_id, role, ?, ? FROM %s WHERE cycle_id = ?]]):format(spec.admins_table, spec.admins_table),
    new_id, actor.id, now, c.id)
  audit.record{ action = spec.audit_prefix .. ".copy", actor = actor, req = req, target_type = spec.audit_prefix,
    target_id = new_id, target_label = name, details = { from = c.id } }
  events.fire(spec.event_area .. ".created", { cycle_id = new_id, copied_from = c.id, actor_id = actor.id })
end

--- Deletes cycle c with everything in it (spec.delete_cycle_action: HR Admins only, who may see
--- what was written); the audit log says how many reviewees had something written.
function Kit:delete(actor, c, req)
  local spec = self.spec
  self:require_perm(actor, spec.delete_cycle_action, c)
  return db.transaction(function()
    local n = db.value(("SELECT count(*) FROM %s s WHERE s.cycle_id = ? AND %s"):format(spec.subjects_table,
      spec.started_sql), c.id)
    db.exec(("DELETE FROM %s WHERE id = ?"):format(spec.table), c.id)
    audit.record{ action = spec.audit_prefix .. ".delete", actor = actor, req = req, target_type = spec.audit_prefix,
      target_id = c.id, target_label = c.name, details = { with_content = n } }
    events.fire(spec.event_area .. ".deleted", { cycle_id = c.id, actor_id = actor.id })
    return true
  end)
end

-- ------------------------------------------------------------------ reviewees

--- The reviewees of cycle id: a set { [user_id] = true } and how many (one query).
function Kit:reviewee_set(cycle_id)
  local set, n = {}, 0
  for _, id in ipairs(db.column(("SELECT reviewee_id FROM %s WHERE cycle_id = ?"):format(self.spec.subjects_table),
      cycle_id)) do
    set[id] = true
    n = n + 1
  end
  return set, n
end

--- Adds people as reviewees of cycle c (employees who are not deactivated; guests are never
--- reviewed). Returns how many were added (and what spec.after_add says of them). In a running
--- cycle their manager is fixed now and spec.on_added hears of them (invitations, automatic
--- requests).
function Kit:add_reviewees(actor, c, user_ids, req)
  local spec = self.spec
  self:require_perm(actor, spec.create_action, c)
  if c.phase == "closed" then errors.conflict("This cycle is closed.") end
  if type(user_ids) ~= "table" then errors.invalid({ user_ids = "Send a list of people." }) end
  local ids = {}
  for _, x in ipairs(user_ids) do
    local n = math.tointeger(tonumber(x))
    if not n then errors.invalid({ user_ids = "must be a list of person ids." }) end
    ids[#ids + 1] = n
  end
  local function result(added)
    if spec.after_add then return added, spec.after_add(c, ids) end
    return added
  end
  if #ids == 0 then return result(0) end
  local now, list = clock.now(), json.encode(ids)
  local t = spec.subjects_table
  return db.transaction(function()
    local before = db.value(("SELECT count(*) FROM %s WHERE cycle_id = ?"):format(t), c.id)
    db.exec(([[INSERT INTO %s(cycle_id, reviewee_id, created_at, updated_at)
      SELECT ?, u.id, ?, ? FROM users u
      WHERE u.id IN (SELECT value FROM json_each(?)) AND u.kind = 'employee' AND u.status <> 'deactivated'
      ON CONFLICT(cycle_id, reviewee_id) DO NOTHING]]):format(t), c.id, now, now, list)
    local added = db.value(("SELECT count(*) FROM %s WHERE cycle_id = ?"):format(t), c.id) - before
    if added > 0 then
      audit.record{ action = spec.audit_prefix .. ".reviewees_added", actor = actor, req = req,
        target_type = spec.audit_prefix, target_id = c.id, target_label = c.name, details = { added = added } }
      events.fire(spec.event_area .. ".reviewees_added", { cycle_id = c.id, count = added, actor_id = actor.id })
      if c.phase ~= "draft" then
        local fresh = ("cycle_id = ? AND created_at = ? AND reviewee_id IN (SELECT value FROM json_each(?))")
        db.exec(("UPDATE %s SET manager_id = (SELECT u.manager_id FROM users u WHERE u.id = reviewee_id) WHERE %s")
          :format(t, fresh), c.id, now, list)
        spec.on_added(c, db.query(("SELECT * FROM %s WHERE %s ORDER BY id"):format(t, fresh), c.id, now, list), actor)
      end
    end
    return result(added)
  end)
end

--- Removes reviewees of cycle c. When nothing was written for them it needs the
--- delete_unstarted action (HR Assistants too); otherwise the delete action (HR Admins), and
--- what was written goes with them.
function Kit:remove_reviewees(actor, c, user_ids, req)
  local spec = self.spec
  if type(user_ids) ~= "table" then errors.invalid({ user_ids = "Send a list of people." }) end
  local rows = db.query(([[SELECT s.id, %s AS started FROM %s s
    WHERE s.cycle_id = ? AND s.reviewee_id IN (SELECT value FROM json_each(?))]]):format(spec.started_sql,
    spec.subjects_table), c.id, json.encode(user_ids))
  local started = 0
  for _, r in ipairs(rows) do if r.started == 1 then started = started + 1 end end
  if started > 0 or not self:can(actor, spec.delete_unstarted_action, c) then
    self:require_perm(actor, spec.delete_action, c)
  end
  return db.transaction(function()
    for _, r in ipairs(rows) do db.exec(("DELETE FROM %s WHERE id = ?"):format(spec.subjects_table), r.id) end
    if #rows > 0 then
      audit.record{ action = spec.audit_prefix .. ".reviewees_removed", actor = actor, req = req,
        target_type = spec.audit_prefix, target_id = c.id, target_label = c.name,
        details = { removed = #rows, with_content = started } }
      events.fire(spec.event_area .. ".reviewees_removed", { cycle_id = c.id, count = #rows, actor_id = actor.id })
    end
    return #rows
  end)
end

-- ------------------------------------------------------------------ dates

--- The dates after a change, in order (fields: list of { key, "the start date" }; the first is
--- required): r is the input checked by its schema (lib/schema.lua), current the cycle's values
--- for an edit (nil when creating). A missing start or a date before an earlier one adds a
--- sentence to problems (field -> text). Returns key -> "YYYY-MM-DD".
function M.ordered_dates(r, input, current, fields, problems)
  local function cap(s) return util.upper(util.utf8_sub(s, 1, 1)) .. util.utf8_sub(s, 2) end
  local d = {}
  for _, f in ipairs(fields) do
    local k = f[1]
    if input[k] ~= nil then d[k] = r[k] elseif current then d[k] = current[k] end
  end
  local first = fields[1]
  if not d[first[1]] and not problems[first[1]] and (input[first[1]] ~= nil or not current) then
    problems[first[1]] = cap(first[2]) .. " is required."
  end
  local last, last_label
  for _, f in ipairs(fields) do
    local k = f[1]
    if d[k] then
      if last and d[k] < last and not problems[k] then problems[k] = ("must not be before %s."):format(last_label) end
      last, last_label = d[k], f[2]
    end
  end
  return d
end

--- The dates of cycle c (keys) moved so that a copy starts today, or unchanged when c starts
--- in the future.
function M.shifted_dates(c, keys)
  local today = util.parse_date(dates.today())
  local start = util.parse_date(c.start_date)
  local shift = start < today and (today - start) or 0
  local out = {}
  for _, k in ipairs(keys) do
    out[k] = c[k] and util.format_date((util.parse_date(c[k]) + shift) * 86400) or nil
  end
  return out
end

-- ------------------------------------------------------------------ overview lists

--- The common filters of an overview over reviewees (u: users of reviewees): q (name),
--- department, location, manager_col = manager_id. Adds to where/args.
function M.person_filters(q, where, args, manager_col)
  if q.q and q.q ~= "" then
    where[#where + 1] = "fold(u.name) LIKE fold(?) ESCAPE '\\'"
    args[#args + 1] = "%" .. q.q:gsub("[%%_\\]", "\\%0") .. "%"
  end
  if q.department and q.department ~= "" then where[#where + 1] = "u.department = ?"; args[#args + 1] = q.department end
  if q.location and q.location ~= "" then where[#where + 1] = "u.location = ?"; args[#args + 1] = q.location end
  if q.manager_id and manager_col then where[#where + 1] = manager_col .. " = ?"; args[#args + 1] = q.manager_id end
end

--- Sort key, order and paging of an overview: { sort, order ("ASC"|"DESC"), per_page, page, offset }.
function M.paging(q, sorts, default_sort, max_per_page)
  local sort = sorts[q.sort or ""] and q.sort or default_sort
  local per_page = math.max(1, math.min(max_per_page or 500, math.tointeger(tonumber(q.per_page or "")) or 100))
  local page = math.max(1, math.tointeger(tonumber(q.page or "")) or 1)
  return { sort = sort, order = q.order == "desc" and "DESC" or "ASC", per_page = per_page, page = page,
    offset = (page - 1) * per_page }
end

--- Departments and locations of the reviewees of a cycle (sorted), in one query: from_sql is
--- e.g. "reviews r JOIN users u ON u.id = r.reviewee_id WHERE r.cycle_id = ?".
function M.facets(from_sql, ...)
  local row = db.row(([[SELECT json_group_array(DISTINCT u.department) AS departments,
      json_group_array(DISTINCT u.location) AS locations FROM %s]]):format(from_sql), ...)
  local deps, locs = json.decode(row.departments) or {}, json.decode(row.locations) or {}
  table.sort(deps, util.before)
  table.sort(locs, util.before)
  return deps, locs
end

--- The result table of an overview page.
function M.page_result(p, matching, extra)
  local out = { sort = p.sort, order = p.order:lower(), matching = matching, page = p.page, per_page = p.per_page,
    pages = math.max(1, (matching + p.per_page - 1) // p.per_page) }
  for k, v in pairs(extra or {}) do out[k] = v end
  return out
end

return M
