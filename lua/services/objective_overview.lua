-- HR's view of an objective cycle: the status mix, the people without objectives, the overdue
-- objectives, nudges to owners and managers with the exact mail shown first, and the Excel
-- export. Everything counts only the objectives the one looking may read (the evaluator decides,
-- for all rows at once): an HR Assistant's overview counts public objectives, an HR Admin's no
-- private ones and none of their own managers' protected ones; the page says so.
local db = require "lib.db"
local crypt = require "lib.crypt"
local json = require "lib.json"
local util = require "lib.util"
local dates = require "lib.dates"
local errors = require "lib.errors"
local events = require "lib.events"
local authz = require "core.authz"
local access = require "services.access"
local accounts = require "services.accounts"
local audit = require "services.audit"
local mail = require "services.mail"
local objectives = require "services.objectives"
local cycles = require "services.objective_cycles"
local views = require "services.objective_views"

local M = {}

M.AUDIENCES = { "without", "without_managers", "overdue" }
M.AUDIENCE_LABELS = { without = "People without objectives", without_managers = "Their managers",
  overdue = "Owners of overdue objectives" }
M.PER_PAGE = 25

local function today() return dates.today() end

--- Whether actor may follow cycles (the overview, nudges): HR Admins and Assistants.
function M.can_track(actor)
  return (access.can(actor, "objectives.nudge"))
end

local function require_track(actor)
  if not M.can_track(actor) then
    errors.forbidden("The overview of an objective cycle is for HR. It needs: "
      .. (authz.roles_for("objectives.nudge") or "a role") .. ".")
  end
end

-- The facts the overview and the nudges share: participants, the objectives actor may read
-- (the cycle's skeleton, one C call) and who has one. A constant number of queries.
local function facts(actor, c)
  local people = cycles.people(c)
  local s = views.skeleton(c.id)
  local ok, visible = views.readable_rows(actor, s)
  local cols = s.cols
  local has, mix, overdue, sum = {}, {}, {}, 0
  for _, st in ipairs(cycles.STATUSES) do mix[st] = 0 end
  local day = today()
  for i = 1, s.n do
    if ok[i] then
      has[cols.owner_id[i]] = true
      mix[cols.status[i]] = mix[cols.status[i]] + 1
      sum = sum + cols.progress[i]
      if cycles.OPEN[cols.status[i]] and cols.due_on[i] and cols.due_on[i] < day then
        overdue[#overdue + 1] = { id = cols.id[i], owner_id = cols.owner_id[i], due_on = cols.due_on[i] }
      end
    end
  end
  table.sort(overdue, function(a, b)
    if a.due_on ~= b.due_on then return a.due_on < b.due_on end
    return a.id < b.id
  end)
  local without = {}
  for _, id in ipairs(people) do
    if not has[id] then without[#without + 1] = id end
  end
  return { people = people, visible = visible, mix = mix, without = without, overdue = overdue,
    progress = visible > 0 and math.floor(sum / visible + 0.5) or 0,
    with = #people - #without }
end

local function page_of(list, page)
  local pages = math.max(1, (#list + M.PER_PAGE - 1) // M.PER_PAGE)
  page = math.max(1, math.min(pages, math.tointeger(tonumber(page)) or 1))
  local out = {}
  for k = (page - 1) * M.PER_PAGE + 1, math.min(#list, page * M.PER_PAGE) do out[#out + 1] = list[k] end
  return out, page, pages
end

--- The overview of cycle c for actor (HR): { cycle, window, people (how many take part), with,
--- visible (objectives actor may read), progress (their mean), mix = { status = n }, without =
--- { rows (a page of people: id, name, department, manager_name), total, page, pages }, overdue =
--- { rows (a page: id, title, owner_name, due_on, status, progress), total, page, pages } }.
--- opts: without_page, overdue_page. A constant number of queries.
function M.overview(actor, id, opts)
  opts = opts or {}
  local c = cycles.require(id)
  require_track(actor)
  local f = facts(actor, c)
  local wo, wpage, wpages = page_of(f.without, opts.without_page)
  local people = {}
  if #wo > 0 then
    local by = {}
    for _, u in ipairs(db.query([[SELECT u.id, u.name, u.department, u.job_title, m.name AS manager_name
        FROM users u LEFT JOIN users m ON m.id = u.manager_id WHERE u.id IN (SELECT value FROM json_each(?))]],
        json.encode(wo))) do
      by[u.id] = u
    end
    for _, uid in ipairs(wo) do people[#people + 1] = by[uid] end
  end
  local od, opage, opages = page_of(f.overdue, opts.overdue_page)
  local late = {}
  if #od > 0 then
    local ids = {}
    for i, x in ipairs(od) do ids[i] = x.id end
    local by = {}
    for _, o in ipairs(db.query([[SELECT o.id, o.title_enc, o.owner_id, o.due_on, o.status, o.progress, u.name AS owner_name
        FROM objectives o JOIN users u ON u.id = o.owner_id WHERE o.id IN (SELECT value FROM json_each(?))]],
        json.encode(ids))) do
      by[o.id] = objectives.open(o)
    end
    for _, x in ipairs(od) do late[#late + 1] = by[x.id] end
  end
  return { cycle = c, window = cycles.window(c), people = #f.people, with = f.with, visible = f.visible,
    progress = f.progress, mix = f.mix,
    without = { rows = people, total = #f.without, page = wpage, pages = wpages },
    overdue = { rows = late, total = #f.overdue, page = opage, pages = opages } }
end

-- ------------------------------------------------------------------ nudges

-- Who a nudge to audience goes to: { { to = user, key, part, vars } } and the cycle. ids
-- (optional) narrows it to those people (the owners or managers listed on the page).
local function targets(actor, cycle_id, audience, ids, note)
  local c = cycles.require(cycle_id)
  require_track(actor)
  if not M.AUDIENCE_LABELS[audience or ""] then
    errors.invalid({ audience = "Choose who to nudge: people without objectives, their managers, or owners of overdue "
      .. "objectives." })
  end
  local f = facts(actor, c)
  local only
  if type(ids) == "table" and #ids > 0 then
    only = {}
    for _, x in ipairs(ids) do
      local n = math.tointeger(tonumber(x))
      if n then only[n] = true end
    end
  end
  local who, extra = {}, {}
  if audience == "without" then
    for _, uid in ipairs(f.without) do who[#who + 1] = uid end
  elseif audience == "overdue" then
    local seen = {}
    for _, x in ipairs(f.overdue) do
      if not seen[x.owner_id] then seen[x.owner_id] = true; who[#who + 1] = x.owner_id end
      extra[x.owner_id] = (extra[x.owner_id] or 0) + 1
    end
  else -- the managers of people without objectives, with how many of their reports
    local rows = #f.without == 0 and {} or db.query([[SELECT manager_id, count(*) AS n, group_concat(name, ', ') AS names
      FROM (SELECT manager_id, name FROM users WHERE id IN (SELECT value FROM json_each(?)) AND manager_id IS NOT NULL
        ORDER BY name COLLATE FOLD) GROUP BY manager_id]], json.encode(f.without))
    for _, r in ipairs(rows) do
      who[#who + 1] = r.manager_id
      extra[r.manager_id] = { n = r.n, names = r.names }
    end
  end
  local users = {}
  if #who > 0 then
    for _, u in ipairs(db.query([[SELECT id, name, email, status FROM users WHERE id IN (SELECT value FROM json_each(?))
        AND status = 'active' ORDER BY name COLLATE FOLD]], json.encode(who))) do
      if not only or only[u.id] then users[#users + 1] = u end
    end
  end
  local link = accounts.base_url() .. "/objective-cycles/" .. c.id
  local list = {}
  for _, u in ipairs(users) do
    local vars = { cycle = c.name, sender = actor.name, message = note and util.trim(note) ~= "" and util.trim(note) or nil,
      link = link, edit_until = util.human_date(c.edit_until), update_until = util.human_date(c.update_until) }
    local template = "objective.nudge"
    if audience == "without" then
      vars.what = "set your objectives"
    elseif audience == "overdue" then
      vars.what = ("update your %s: %s past %s due date"):format(extra[u.id] == 1 and "objective" or "objectives",
        extra[u.id] == 1 and "one is" or (extra[u.id] .. " are"), extra[u.id] == 1 and "its" or "their")
    else
      template = "objective.nudge_manager"
      vars.count = util.plural(extra[u.id].n, "of your reports", "of your reports")
      vars.names = extra[u.id].names
    end
    list[#list + 1] = { to = u, template = template, vars = vars, key = audience }
  end
  return list, c
end

--- The exact mail the first person would get, how many would get one, the first names.
function M.preview(actor, cycle_id, audience, ids, note)
  local list = targets(actor, cycle_id, audience, ids, note)
  local preview
  if list[1] then preview = mail.preview{ template = list[1].template, to = list[1].to, vars = list[1].vars } end
  local names = {}
  for i = 1, math.min(#list, 20) do names[i] = list[i].to.name end
  return { count = #list, preview = preview, first_names = names }
end

--- Sends the nudges (one per person, audience and day at most). Returns how many were queued.
function M.send(actor, cycle_id, audience, ids, note, req)
  local list, c = targets(actor, cycle_id, audience, ids, note)
  local day = today()
  return db.transaction(function()
    local n = 0
    for _, x in ipairs(list) do
      if mail.queue{ template = x.template, to = x.to, vars = x.vars, related_type = "objective_cycle", related_id = c.id,
          dedupe_key = ("objective_nudge:%d:%s:%d:%s"):format(c.id, audience, x.to.id, day) } then
        n = n + 1
      end
    end
    audit.record{ action = "objective_cycle.nudges", actor = actor, req = req, target_type = "objective_cycle",
      target_id = c.id, target_label = c.name, details = { audience = audience, queued = n, targets = #list } }
    events.fire("objective_cycle.nudged", { cycle_id = c.id, audience = audience, count = n, actor_id = actor.id })
    return n
  end)
end

-- ------------------------------------------------------------------ export

--- The rows of the Excel export of cycle c for actor: the objectives actor may read, with their
--- owner's department and manager, what they align to (when actor may read it) and their key
--- results. { objectives = { ... }, key_results = { ... } }. A constant number of queries.
function M.export_rows(actor, id)
  local c = cycles.require(id)
  if not access.can(actor, "objectives.export_excel") then
    errors.forbidden("Exporting objectives needs: " .. (authz.roles_for("objectives.export_excel") or "a role") .. ".")
  end
  local rows = db.query([[SELECT o.id, o.owner_id, o.visibility, o.level, o.parent_id, o.title_enc, o.category, o.due_on,
      o.status, o.progress, o.rating, u.name AS owner_name, u.email AS owner_email, u.department, m.name AS manager_name,
      ]] .. objectives.PART_SQL .. [[ AS part
    FROM objectives o JOIN users u ON u.id = o.owner_id LEFT JOIN users m ON m.id = u.manager_id
    WHERE o.cycle_id = ? ORDER BY u.name COLLATE FOLD, o.id]], actor.id, c.id)
  rows = objectives.readable(actor, rows)
  local by, ids = {}, {}
  for i, o in ipairs(rows) do
    objectives.open(o)
    by[o.id] = o
    ids[i] = o.id
  end
  local krs = {}
  if #ids > 0 then
    for _, k in ipairs(db.query([[SELECT id, objective_id, kind, title_enc, unit_enc, start_value, target_value,
        current_value, done FROM objective_key_results WHERE objective_id IN (SELECT value FROM json_each(?))
        ORDER BY objective_id, position, id]], json.encode(ids))) do
      k.title = crypt.open("objective_key_results", "title_enc", { k.id }, k.title_enc)
      k.unit = k.unit_enc and crypt.open("objective_key_results", "unit_enc", { k.id }, k.unit_enc) or ""
      k.objective_title = by[k.objective_id].title
      k.owner_name = by[k.objective_id].owner_name
      k.progress = objectives.kr_progress(k)
      krs[#krs + 1] = k
    end
  end
  for _, o in ipairs(rows) do
    local p = o.parent_id and by[o.parent_id]
    o.aligned_to = p and p.title or nil -- only when actor reads the parent (same cycle)
  end
  return { cycle = c, objectives = rows, key_results = krs }
end

function M.init()
  local sign = "\n\nThanks,\n{{company}}"
  mail.define_template("objective.nudge", {
    description = "A nudge HR sends by hand to people without objectives in a cycle, or with overdue ones.",
    subject = "Your objectives: {{cycle}}",
    text = "Hello {{first_name}},\n\n{{sender}} asks you to {{what}} in {{cycle}}. Objectives can be set and edited "
      .. "until {{edit_until}} and updated until {{update_until}}.{{#message}}\n\n{{message}}{{/message}}\n\n{{link}}"
      .. sign,
    vars = { sender = "who sends it", what = "what to do (\"set your objectives\", \"update your objectives: ...\")",
      cycle = "the cycle's name", message = "their note (optional)", edit_until = "the cycle's edit deadline",
      update_until = "the cycle's update deadline", link = "the cycle's page" },
    example = { sender = "Marcus Webb", what = "set your objectives", cycle = "Q1 2026",
      edit_until = "31 Jan 2026", update_until = "15 Apr 2026", link = "https://candor.example.com/objective-cycles/3" },
  })
  mail.define_template("objective.nudge_manager", {
    description = "A nudge HR sends by hand to managers whose reports have no objectives in a cycle.",
    subject = "Your team's objectives: {{cycle}}",
    text = "Hello {{first_name}},\n\n{{sender}} asks for your help with {{cycle}}: {{count}} have no objectives yet "
      .. "({{names}}). You can set objectives for your reports until {{edit_until}}.{{#message}}\n\n{{message}}"
      .. "{{/message}}\n\n{{link}}" .. sign,
    vars = { sender = "who sends it", count = "how many of their reports (\"2 of your reports\")",
      names = "their names", cycle = "the cycle's name", message = "their note (optional)",
      edit_until = "the cycle's edit deadline", link = "the cycle's page" },
    example = { sender = "Marcus Webb", count = "2 of your reports", names = "Ethan Brooks, Zoe Chen", cycle = "Q1 2026",
      edit_until = "31 Jan 2026", link = "https://candor.example.com/objective-cycles/3" },
  })
end

return M
