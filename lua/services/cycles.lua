-- Performance review cycles: create, edit, copy ("fire up a new round"), delete; reviewees;
-- per-cycle admins and assistants; start (managers fixed, workflow pinned); the HR overview.
-- The cycle's phases and notification timeline belong to its workflow (services/workflows.lua),
-- which hooks the events this service fires (cycle.*, docs/events.md).
local db = require "lib.db"
local memo = require "lib.memo"
local json = require "lib.json"
local util = require "lib.util"
local errors = require "lib.errors"
local events = require "lib.events"
local schema = require "lib.schema"
local clock = require "core.clock"
local authz = require "core.authz"
local access = require "services.access"
local audit = require "services.audit"
local questionnaire = require "services.questionnaire"
local cycle_kit = require "services.cycle_kit"

local M = {}

-- defined with the reviewees below; the kit's hooks call them
local fix_chains, without_writer

local kit = cycle_kit.new{ table = "cycles", admins_table = "cycle_admins", noun = "review cycle",
  read_action = "reviews.read", manage_action = "review_cycles.manage", audit_prefix = "cycle",
  delete_cycle_action = "review_cycles.delete", event_area = "cycle", subjects_table = "reviews",
  create_action = "reviews.create", delete_action = "reviews.delete", delete_unstarted_action = "reviews.delete_unstarted",
  started_sql = "EXISTS (SELECT 1 FROM answers a WHERE a.review_id = s.id)",
  on_added = function(c, rows, actor)
    local ids = {}
    for i, r in ipairs(rows) do ids[i] = r.id end
    fix_chains(c.id, ids)
    for _, r in ipairs(rows) do
      events.fire("review.added", { review_id = r.id, cycle_id = c.id, reviewee_id = r.reviewee_id,
        manager_id = r.manager_id, actor_id = actor.id })
    end
  end,
  -- the added reviewees whose review nobody would write, and how many (add_reviewees returns them)
  after_add = function(c, ids) return without_writer(c, ids) end }

-- Visibility settings of a cycle (stored as JSON):
--   indirect_managers  true: managers higher up the chain read the review too
--   reviewee_sees      "on_share" (when the manager shares) | "after_sign" (once the manager signed)
M.VISIBILITY_DEFAULT = { indirect_managers = true, reviewee_sees = "on_share" }
M.REVIEWEE_SEES = { on_share = "When the manager shares it", after_sign = "Once the manager has signed it" }

-- ------------------------------------------------------------------ reading

local function decode(c)
  if not c then return nil end
  c.questionnaire = json.decode(c.questionnaire) or { sections = {} }
  local vis = json.decode(c.visibility) or {}
  for k, v in pairs(M.VISIBILITY_DEFAULT) do if vis[k] == nil then vis[k] = v end end
  c.visibility = vis
  c.self_assessment = c.self_assessment == 1
  return c
end

kit:install(M, decode)

--- Cycles the actor may see in the admin list (HR roles: all; cycle admins: theirs).
function M.list(actor)
  local all = access.can(actor, "review_cycles.track")
  local rows
  if all then
    rows = db.query("SELECT * FROM cycles ORDER BY (phase = 'closed'), start_date DESC, id DESC")
  else
    rows = db.query([[SELECT c.* FROM cycles c JOIN cycle_admins a ON a.cycle_id = c.id AND a.user_id = ?
      ORDER BY (c.phase = 'closed'), c.start_date DESC, c.id DESC]], actor.id)
  end
  local ids = {}
  for i, c in ipairs(rows) do decode(c); ids[i] = c.id end
  local stats = {}
  if #ids > 0 then
    for _, s in ipairs(db.query([[SELECT cycle_id, count(*) AS total,
        sum(self_status = 'submitted') AS self_done, sum(manager_status = 'shared') AS shared,
        sum(closed_at IS NOT NULL) AS signed
      FROM reviews WHERE cycle_id IN (SELECT value FROM json_each(?)) GROUP BY cycle_id]], json.encode(ids))) do
      stats[s.cycle_id] = s
    end
  end
  for _, c in ipairs(rows) do
    c.stats = stats[c.id] or { total = 0, self_done = 0, shared = 0, signed = 0 }
  end
  return rows
end

--- The managers above manager_id in today's reporting lines, as reviews.manager_chain keeps
--- them (JSON text; nil without a manager). Fixed with the writer: managers higher up read a
--- review by this list, not by the org chart of the day they read it.
function M.chain_of(manager_id)
  if not manager_id then return nil end
  return json.encode(json.array(authz.chain(manager_id)))
end

-- Fixes the chain above each writer of the cycle's reviews (all of them, or those in review_ids).
function fix_chains(cycle_id, review_ids)
  local where, args = "", {}
  if review_ids then where, args = " AND id IN (SELECT value FROM json_each(?))", { json.encode(review_ids) } end
  local writers = db.column("SELECT DISTINCT manager_id FROM reviews WHERE cycle_id = ? AND manager_id IS NOT NULL"
    .. where, cycle_id, table.unpack(args))
  local chains = {}
  for _, m in ipairs(writers) do chains[tostring(m)] = json.array(authz.chain(m)) end
  -- the chains are materialized once, so that each review finds its writer's through an index
  -- (a json_each per review read every writer's: 6 s for 10,000 reviews)
  db.exec([[WITH c(k, v) AS MATERIALIZED (SELECT key, value FROM json_each(?))
    UPDATE reviews SET manager_chain = (SELECT v FROM c WHERE k = CAST(reviews.manager_id AS TEXT))
    WHERE cycle_id = ?]] .. where, json.encode(chains), cycle_id, table.unpack(args))
end

-- ------------------------------------------------------------------ writing

local DATES = { { "start_date", "the start date" }, { "self_due", "the self-assessment due date" },
  { "manager_due", "the manager review due date" }, { "sign_due", "the sharing and signing deadline" } }

--- The body of "create / edit a cycle" (its questionnaire is checked by services/questionnaire).
M.SCHEMA = schema.record{ strict = false, fields = {
  { name = schema.text{ max = 120, label = "The name", description = "The cycle's name." } },
  { start_date = schema.date{ label = "The start date", description = "When it starts." } },
  { self_due = schema.date{ description = "Self-assessments due." } },
  { manager_due = schema.date{ description = "Manager reviews due." } },
  { sign_due = schema.date{ description = "Sharing and signing until." } },
  { self_assessment = { type = "boolean", description = "Whether reviewees write a self-assessment." } },
  { visibility = { type = "record", strict = false, description = "Who reads the reviews when.", fields = {
    { indirect_managers = { type = "boolean", description = "Managers higher up read the review too." } },
    { reviewee_sees = { type = "string", one_of = { "on_share", "after_sign" },
      description = "When the reviewee reads the manager's review.",
      messages = { one_of = "reviewee_sees must be on_share or after_sign.",
        type = "reviewee_sees must be on_share or after_sign." } } },
  } } },
} }

-- The input checked against M.SCHEMA: the values that are fine and { field = problem }.
local function read_input(input)
  local r, errs = schema.validate(M.SCHEMA, input or {}, { coerce = true, messages = schema.SENTENCES, partial = true })
  return r or {}, schema.by_field(errs)
end

-- The dates after this change (current: the cycle's, for an edit); problems go to fields.
local function check_dates(r, input, current, fields)
  return cycle_kit.ordered_dates(r, input, current, DATES, fields)
end

local function clean_visibility(r, input, current)
  local vis = util.copy(current or M.VISIBILITY_DEFAULT)
  local given = type(input.visibility) == "table" and r.visibility or {}
  if given.indirect_managers ~= nil then vis.indirect_managers = given.indirect_managers end
  if given.reviewee_sees ~= nil then vis.reviewee_sees = given.reviewee_sees end
  return vis
end

--- Creates a draft cycle. input: name, start_date, self_due, manager_due, sign_due,
--- self_assessment, visibility, questionnaire (default: services/questionnaire.default()).
function M.create(actor, input, req)
  M.require_perm(actor, "review_cycles.manage")
  local r, fields = read_input(input)
  local name = r.name
  if not name and not fields.name then fields.name = "The name is required." end
  local dates = check_dates(r, input, nil, fields)
  local self_assessment = r.self_assessment
  if self_assessment == nil then self_assessment = input.self_assessment == nil end
  local vis = clean_visibility(r, input)
  if next(fields) then errors.invalid(fields) end
  local q = input.questionnaire and questionnaire.validate(input.questionnaire) or questionnaire.default()
  local now = clock.now()
  return db.transaction(function()
    local id = db.insert([[INSERT INTO cycles(name, start_date, self_due, manager_due, sign_due, self_assessment,
        questionnaire, visibility, created_by, created_at, updated_at) VALUES(?,?,?,?,?,?,?,?,?,?,?)]],
      name, dates.start_date, dates.self_due, dates.manager_due, dates.sign_due, self_assessment and 1 or 0,
      json.encode(q), json.encode(vis), actor.id, now, now)
    audit.record{ action = "cycle.create", actor = actor, req = req, target_type = "cycle", target_id = id, target_label = name }
    events.fire("cycle.created", { cycle_id = id, actor_id = actor.id })
    return M.get(id)
  end)
end

--- Edits a cycle. Before the start everything can change; while it runs: the name, the dates
--- (the timeline is re-planned) and the visibility; the questionnaire is fixed once started.
function M.update(actor, id, input, req)
  local c = M.require(id)
  M.require_perm(actor, "review_cycles.manage", c)
  if c.phase == "closed" then errors.conflict("This cycle is closed; copy it to run a new round.") end
  local r, fields = read_input(input)
  local name = c.name
  if input.name ~= nil then
    name = r.name
    if not name and not fields.name then fields.name = "The name is required." end
  end
  local dates = check_dates(r, input, c, fields)
  local self_assessment = c.self_assessment
  if input.self_assessment ~= nil then
    if M.running(c) then fields.self_assessment = fields.self_assessment or "cannot change once the cycle has started."
    else self_assessment = r.self_assessment or false end
  end
  local vis = clean_visibility(r, input, c.visibility)
  if next(fields) then errors.invalid(fields) end
  local q = c.questionnaire
  if input.questionnaire ~= nil then
    if M.running(c) then errors.conflict("The questions are fixed once the cycle has started.") end
    q = questionnaire.validate(input.questionnaire)
  end
  return db.transaction(function()
    db.exec([[UPDATE cycles SET name = ?, start_date = ?, self_due = ?, manager_due = ?, sign_due = ?,
        self_assessment = ?, questionnaire = ?, visibility = ?, updated_at = ? WHERE id = ?]],
      name, dates.start_date, dates.self_due, dates.manager_due, dates.sign_due, self_assessment and 1 or 0,
      json.encode(q), json.encode(vis), clock.now(), c.id)
    local changed = {}
    for _, k in ipairs({ "start_date", "self_due", "manager_due", "sign_due" }) do
      if dates[k] ~= c[k] then changed[#changed + 1] = k end
    end
    audit.record{ action = "cycle.update", actor = actor, req = req, target_type = "cycle", target_id = c.id,
      target_label = name, details = { dates_changed = changed, visibility = vis } }
    events.fire("cycle.updated", { cycle_id = c.id, dates_changed = changed, actor_id = actor.id })
    return M.get(c.id)
  end)
end

--- Copies a cycle as a new draft: settings, questions, reviewees and cycle admins; dates move
--- so the new round starts today (or keeps them when the original starts in the future).
function M.copy(actor, id, req)
  local c = M.require(id)
  M.require_perm(actor, "review_cycles.manage", c)
  local moved = cycle_kit.shifted_dates(c, { "start_date", "self_due", "manager_due", "sign_due" })
  local now = clock.now()
  return db.transaction(function()
    local name = c.name .. " (copy)"
    local new_id = db.insert([[INSERT INTO cycles(name, start_date, self_due, manager_due, sign_due, self_assessment,
        questionnaire, visibility, workflow, created_by, created_at, updated_at, copied_from)
        VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?)]],
      name, moved.start_date, moved.self_due, moved.manager_due, moved.sign_due,
      c.self_assessment and 1 or 0, json.encode(c.questionnaire), json.encode(c.visibility), c.workflow,
      actor.id, now, now, c.id)
    kit:copied(actor, c, new_id, name, req)
    return M.get(new_id)
  end)
end

-- ------------------------------------------------------------------ reviewees

-- Reviewees and cycle admins: cycle_kit (add_reviewees, remove_reviewees, set_admins, admins). A
-- review with nothing written goes with reviews.delete_unstarted (HR Assistants too); one with
-- content needs reviews.delete (HR Admins).

-- Of the reviewees ids (nil: all) of cycle c: those whose review nobody would write — no writer
-- chosen by HR, and no manager (or one who left) in the org chart. { { id, name, review_id } } by
-- name, at most `limit`, and how many in all.
function without_writer(c, ids, limit)
  local where, args = "", { c.id }
  if ids then where, args[2] = " AND u.id IN (SELECT value FROM json_each(?))", json.encode(ids) end
  local cond = [[ FROM reviews r JOIN users u ON u.id = r.reviewee_id
    LEFT JOIN users w ON w.id = CASE WHEN r.manager_chosen_by IS NOT NULL OR r.manager_id IS NOT NULL THEN r.manager_id
      ELSE u.manager_id END
    WHERE r.cycle_id = ? AND (w.id IS NULL OR w.status = 'deactivated' OR w.kind <> 'employee')]] .. where
  local n = db.value("SELECT count(*)" .. cond, table.unpack(args))
  args[#args + 1] = limit or 20
  return db.query("SELECT u.id, u.name, r.id AS review_id" .. cond .. " ORDER BY u.name COLLATE FOLD LIMIT ?",
    table.unpack(args)), n
end
M.without_writer = without_writer

--- A sentence naming reviewees without a writer (list from without_writer, n in all).
function M.writer_warning(list, n)
  local names = {}
  for i, x in ipairs(list) do names[i] = x.name end
  local text = table.concat(names, ", ") .. (n > #list and (" and %d more"):format(n - #list) or "")
  return ("%s %s no manager: choose who writes %s review (on the review's page), or take %s out of the cycle.")
    :format(text, n == 1 and "has" or "have", n == 1 and "their" or "each", n == 1 and "them" or "them")
end

-- ------------------------------------------------------------------ start and phases

--- Starts a cycle: fixes each reviewee's manager, pins the workflow version, enters the first
--- phase and plans the notification timeline — in one transaction.
function M.start(actor, id, req)
  local c = M.require(id)
  M.require_perm(actor, "review_cycles.manage", c)
  if c.phase ~= "draft" then errors.conflict("This cycle has already started.") end
  local problems = {}
  if #questionnaire.questions(c.questionnaire) == 0 then problems.questionnaire = "Add at least one question first." end
  if not c.manager_due then problems.manager_due = "Set when manager reviews are due." end
  if not c.sign_due then problems.sign_due = "Set the date until which reviews are shared and signed." end
  if c.self_assessment and not c.self_due then problems.self_due = "Set when self-assessments are due." end
  local count = db.value("SELECT count(*) FROM reviews WHERE cycle_id = ?", c.id)
  if count == 0 then problems.reviewees = "Add at least one reviewee first." end
  local lacking, n = without_writer(c)
  if n > 0 then problems.writers = M.writer_warning(lacking, n) end
  if next(problems) then errors.invalid(problems, "The cycle is not ready to start.") end
  local now = clock.now()
  return db.transaction(function()
    -- each writer is fixed now (a writer HR chose stays), with the managers above them
    db.exec([[UPDATE reviews SET manager_id = CASE WHEN manager_chosen_by IS NOT NULL THEN manager_id
        ELSE (SELECT u.manager_id FROM users u WHERE u.id = reviews.reviewee_id) END,
      self_status = CASE WHEN ? THEN self_status ELSE 'skipped' END, updated_at = ? WHERE cycle_id = ?]],
      c.self_assessment and 1 or 0, now, c.id)
    fix_chains(c.id)
    db.exec("UPDATE cycles SET started_at = ?, updated_at = ? WHERE id = ?", now, now, c.id)
    audit.record{ action = "cycle.start", actor = actor, req = req, target_type = "cycle", target_id = c.id,
      target_label = c.name, details = { reviewees = count } }
    events.fire("cycle.starting", { cycle_id = c.id, actor_id = actor.id })
    local fresh = M.get(c.id)
    if fresh.phase == "draft" then errors.conflict("No workflow took this cycle out of its draft.") end
    return fresh
  end)
end

--- Moves a running cycle to another phase (e.g. closes it), as its workflow allows.
function M.transition(actor, id, to, req)
  local c = M.require(id)
  return db.transaction(function()
    events.fire("cycle.moving", { cycle_id = c.id, to = to, actor_id = actor.id })
    local fresh = M.get(c.id)
    if fresh.phase == c.phase then errors.conflict("No workflow moved this cycle.") end
    if fresh.phase == "closed" and not c.closed_at then
      db.exec("UPDATE cycles SET closed_at = ? WHERE id = ?", clock.now(), c.id)
    end
    audit.record{ action = "cycle.transition", actor = actor, req = req, target_type = "cycle", target_id = c.id,
      target_label = c.name, details = { from = c.phase, to = to } }
    return M.get(c.id)
  end)
end

-- ------------------------------------------------------------------ overview

M.OVERVIEW_SORTS = {
  name = "u.name COLLATE FOLD", department = "u.department COLLATE FOLD", location = "u.location COLLATE FOLD",
  manager = "m.name COLLATE FOLD", self = "r.self_status", manager_review = "r.manager_status",
  signed = "(r.reviewee_signed_at IS NOT NULL) + (r.manager_signed_at IS NOT NULL)", updated = "r.updated_at",
}

-- The overview's lists worked out from reviews and people (the matching reviews in order, the
-- reviewees' departments and locations), kept while neither is written: key -> value.
local overview_lists = memo.new({ "reviews", "users" }, 16)

--- The company overview of a cycle: reviewees with statuses, sortable, filterable and in pages;
--- progress counts. q: { sort, order, department, location, manager_id, status, q, page,
--- per_page (default 100, at most 500) }. Four queries whatever the size.
function M.overview(actor, id, q)
  local c = M.require(id)
  M.require_perm(actor, "review_cycles.track", c)
  q = q or {}
  -- the writer: fixed on the review, or (before the start) the reviewee's manager
  local writer = c.phase == "draft" and "coalesce(r.manager_id, u.manager_id)" or "r.manager_id"
  local where, args = { "r.cycle_id = ?" }, { c.id }
  cycle_kit.person_filters(q, where, args, writer)
  local status_filters = {
    self_late = "r.self_status IN ('not_started', 'draft')",
    manager_late = "r.manager_status <> 'shared'",
    unsigned = "r.manager_status = 'shared' AND r.closed_at IS NULL",
    done = "r.closed_at IS NOT NULL",
    no_writer = "m.id IS NULL",
  }
  if status_filters[q.status or ""] then where[#where + 1] = status_filters[q.status] end
  local p = cycle_kit.paging(q, M.OVERVIEW_SORTS, "name")
  local where_sql = table.concat(where, " AND ")
  -- the cycle's progress from the counts the triggers keep (review_counts): a few rows at any size
  local totals = db.row([[SELECT coalesce(sum(n), 0) AS total,
      coalesce(sum(n * (self_status = 'submitted')), 0) AS self_done,
      coalesce(sum(n * (self_status = 'skipped')), 0) AS self_skipped,
      coalesce(sum(n * (manager_status = 'shared')), 0) AS shared,
      coalesce(sum(n * reviewee_signed), 0) AS reviewee_signed,
      coalesce(sum(n * manager_signed), 0) AS manager_signed, coalesce(sum(n * closed), 0) AS done
    FROM review_counts WHERE cycle_id = ?]], c.id)
  local order_sql = ("ORDER BY %s %s, u.name COLLATE FOLD, r.id"):format(M.OVERVIEW_SORTS[p.sort], p.order)
  local from_sql = ([[FROM reviews r JOIN users u ON u.id = r.reviewee_id
    LEFT JOIN users m ON m.id = %s AND m.status <> 'deactivated']]):format(writer)
  -- the matching reviews in order, kept while no review and no person is written; the page is a
  -- slice of it, its details read by id (sorting 10,000 reviewees cost ~3 ms a page)
  local key = c.id .. "\0" .. from_sql .. where_sql .. order_sql .. "\0" .. table.concat(util.map(args, tostring), "\0")
  local all = overview_lists:fetch(key, function()
    return db.column(("SELECT r.id %s WHERE %s %s"):format(from_sql, where_sql, order_sql), table.unpack(args))
  end)
  local matching = #all
  local slice = {}
  for i = p.offset + 1, math.min(#all, p.offset + p.per_page) do slice[#slice + 1] = all[i] end
  local rows = db.query(([[SELECT r.id, r.reviewee_id, m.id AS manager_id, r.self_status, r.manager_status,
      r.self_submitted_at, r.shared_at, r.reviewee_signed_at, r.manager_signed_at, r.closed_at, r.updated_at,
      u.name, u.email, u.department, u.location, u.job_title, m.name AS manager_name
    %s WHERE r.id IN (SELECT value FROM json_each(?)) %s]]):format(from_sql, order_sql), json.encode(slice))
  local facets = overview_lists:fetch(c.id .. "\0facets", function()
    local deps, locs = cycle_kit.facets("reviews r JOIN users u ON u.id = r.reviewee_id WHERE r.cycle_id = ?", c.id)
    return { deps, locs }
  end)
  local deps, locs = facets[1], facets[2]
  return cycle_kit.page_result(p, matching, { cycle = c, rows = rows, totals = totals, departments = deps,
    locations = locs })
end

return M
