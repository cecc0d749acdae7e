-- Objectives over HTTP: the JSON API (/api/objective-cycles, /api/objectives) and the pages (my
-- objectives, my team's, an objective, its form, the cycles, a cycle's list, its alignment tree,
-- HR's overview with nudges, the export). Handlers translate requests to service calls and
-- back; every rule is in services/objectives, objective_cycles, objective_views and
-- objective_overview. The area plugs into the rest of Candor by hooking events (page.nav,
-- page.quick_create, admin.tiles, home.todos, home.panels, team.columns, person.profile,
-- review.resources): all in M.hooks() below.
local web = require "lib.web"
local page = require "lib.page"
local json = require "lib.json"
local util = require "lib.util"
local dates = require "lib.dates"
local errors = require "lib.errors"
local events = require "lib.events"
local db = require "lib.db"
local svg = require "lib.svg"
local clock = require "core.clock"
local authz = require "core.authz"
local xlsx = require "core.xlsx"
local access = require "services.access"
local audit = require "services.audit"
local directory = require "services.directory"
local people = require "services.people"
local reviews = require "services.reviews"
local objectives = require "services.objectives"
local cycles = require "services.objective_cycles"
local views = require "services.objective_views"
local overview = require "services.objective_overview"

local M = {}

local TEAM_PER_PAGE = 100 -- people a page on the team's objectives

local function int(v) return math.tointeger(tonumber(v)) end
local function today() return dates.today() end
local function truthy(v) return v == "on" or v == "1" or v == "true" or v == true end
local function list_of(v)
  if v == nil or v == "" then return {} end
  return type(v) == "table" and v or { v }
end

-- ------------------------------------------------------------------ JSON shapes

local function nul(v) if v == nil then return json.null end return v end

local function cycle_json(c)
  return { id = c.id, name = c.name, starts_on = c.starts_on, ends_on = c.ends_on, intro = c.intro,
    participants = c.participants, creators = c.creators, default_visibility = c.default_visibility,
    key_results = c.key_results, alignment = c.alignment, rating = c.rating,
    categories = c.categories and json.array(c.category_list) or json.null, status_labels = c.labels,
    edit_until = c.edit_until, update_until = c.update_until, window = cycles.window(c), people = c.people }
end

local function kr_json(k)
  return { id = k.id, kind = k.kind, title = k.title, unit = k.unit ~= "" and k.unit or json.null,
    start = nul(k.start_value), target = nul(k.target_value), current = nul(k.current_value), done = k.done,
    progress = k.progress }
end

local function objective_json(o, extra)
  local out = { id = o.id, cycle_id = o.cycle_id, owner = { id = o.owner_id, name = o.owner_name }, level = o.level,
    parent_id = nul(o.parent_id), visibility = o.visibility, title = o.title, description = nul(o.description),
    category = nul(o.category), due_on = nul(o.due_on), status = o.status, progress = o.progress, rating = nul(o.rating),
    updated_at = o.updated_at }
  for k, v in pairs(extra or {}) do out[k] = v end
  return out
end

local function view_json(v)
  local krs, named, thread, children = {}, {}, {}, {}
  for i, k in ipairs(v.key_results) do krs[i] = kr_json(k) end
  for i, p in ipairs(v.named) do named[i] = { id = p.id, name = p.name } end
  for i, c in ipairs(v.thread) do
    thread[i] = { id = c.id, kind = c.kind, author = c.author_id and { id = c.author_id, name = c.author_name } or json.null,
      body = nul(c.body), status = nul(c.status), progress = nul(c.progress), changes = c.changes, created_at = c.created_at }
  end
  for i, c in ipairs(v.children) do children[i] = { id = c.id, title = c.title, level = c.level, progress = c.progress } end
  -- a parent the reader may not see is no alignment for them
  local o = v.objective
  return objective_json(o, { parent_id = v.parent and v.parent.id or json.null, window = v.window,
    key_results = json.array(krs), named = json.array(named), thread = json.array(thread),
    aligned = json.array(children), can = v.can })
end

local function node_json(x)
  local kids = {}
  for i, k in ipairs(x.kids or {}) do kids[i] = node_json(k) end
  return { id = x.id, title = x.title, owner = { id = x.owner_id, name = x.owner_name }, level = x.level,
    status = x.status, progress = x.progress, rollup = x.rollup, children = x.children, below = x.below,
    aligned = json.array(kids), more = x.more }
end

-- ------------------------------------------------------------------ forms -> input

-- The key results of the objective form: rows kr1_..krN_ (a row without a title is skipped).
local function krs_from_form(f)
  local out = {}
  for i = 1, objectives.KR_MAX + 5 do
    local p = "kr" .. i .. "_"
    local title = f[p .. "title"]
    if title ~= nil and util.trim(title) ~= "" then
      out[#out + 1] = { id = int(f[p .. "id"]), kind = f[p .. "kind"] == "number" and "number" or "check", title = title,
        unit = f[p .. "unit"], start = f[p .. "start"], target = f[p .. "target"], current = f[p .. "current"],
        done = truthy(f[p .. "done"]) and "on" or nil }
    end
  end
  return out
end

-- The objective form's fields -> the service's input (named people resolved; 422 on them).
local function objective_input(f, creating)
  local input = { title = f.title, description = f.description or "", due_on = f.due_on,
    visibility = f.visibility, level = f.level, parent_id = f.parent_id or (f.level and "0") or nil,
    category = f.category, key_results = krs_from_form(f) }
  if f.category == "" then input.category = nil end
  if f.named ~= nil then
    input.named_ids = f.visibility ~= "public" and directory.people_ids(f.named, "named_ids", objectives.NAMED_MAX) or {}
  end
  if creating then
    input.cycle_id = f.cycle_id
    local owners = list_of(f.owner_ids)
    if #owners == 0 and f.owner_id and f.owner_id ~= "" then owners = { f.owner_id } end
    input.owner_ids = #owners > 0 and owners or nil
  end
  return input
end

-- The cycle form's fields -> the service's input.
local function cycle_input(f)
  local cats = {}
  for line in tostring(f.categories or ""):gmatch("[^\r\n]+") do
    line = util.trim(line)
    if line ~= "" then cats[#cats + 1] = line end
  end
  local labels = {}
  for _, s in ipairs(cycles.STATUSES) do labels[s] = f["label_" .. s] or "" end
  return { name = f.name, starts_on = f.starts_on, ends_on = f.ends_on, intro = f.intro or "",
    participants = f.participants, creators = f.creators, default_visibility = f.default_visibility,
    key_results = truthy(f.key_results), alignment = truthy(f.alignment), rating = truthy(f.rating),
    categories = truthy(f.use_categories) and json.array(cats) or json.array({}), status_labels = labels,
    edit_until = f.edit_until, update_until = f.update_until }
end

-- The update form on the objective page: status, key-result values, rating, note.
local function update_input(f, v)
  local results = {}
  for _, k in ipairs(v.key_results) do
    if k.kind == "number" and f["r" .. k.id] ~= nil then
      results[#results + 1] = { id = k.id, current = f["r" .. k.id] }
    elseif k.kind == "check" then
      results[#results + 1] = { id = k.id, done = truthy(f["d" .. k.id]) and "on" or "off" }
    end
  end
  return { status = f.status, results = results, rating = (f.rating ~= "" and f.rating) or nil,
    note = (f.note ~= "" and f.note) or nil }
end

-- ------------------------------------------------------------------ page helpers

-- May actor see cycle c at all (HR, or taking part)? 404 otherwise.
local function visible_cycle(actor, id)
  local c = cycles.require(id)
  if not cycles.is_hr(actor) and not cycles.takes_part(c, actor.id) then
    errors.not_found("There is no such objective cycle.")
  end
  return c
end

-- The cycles in which actor may create objectives now (open for editing; HR: all of those).
local function creatable_cycles(actor)
  local out = {}
  local list = cycles.is_hr(actor) and cycles.list(actor) or cycles.of_person(actor.id)
  for _, c in ipairs(list) do
    if cycles.window(c) == "edit" then out[#out + 1] = c end
  end
  return out
end

local function status_badge(status)
  return ({ on_track = "badge-ok", at_risk = "badge-warn", off_track = "badge-bad", done = "badge-brand",
    missed = "badge-muted" })[status] or "badge-muted"
end

local function render(req, name, data, nav)
  data.levels = objectives.LEVEL_LABELS
  data.vis_labels = cycles.VISIBILITY_LABELS
  data.vis_hints = cycles.VISIBILITY_HINTS
  data.status_badge = status_badge
  data.window_labels = cycles.WINDOW_LABELS
  data.default_labels = cycles.STATUS_LABELS
  data.rating_labels = objectives.RATING_LABELS
  data.number = objectives.number
  data.today = today()
  return page.render(req, name, data, { nav = nav or "objectives", wide = data.wide })
end

-- The objective form page (new or edit), with what was typed after a refusal.
local function form_page(req, o, v)
  local kept = page.kept(req)
  local q = web.query(req)
  local values, c
  if o then
    c = v.cycle
    values = { title = o.title, description = o.description, due_on = o.due_on, visibility = o.visibility,
      level = o.level, parent_id = v.parent and v.parent.id or "0", category = o.category }
    local ids = {}
    for i, p in ipairs(v.named) do ids[i] = p.id end
    values.named = directory.names_of(ids)
    for i, k in ipairs(v.key_results) do
      local p = "kr" .. i .. "_"
      values[p .. "id"], values[p .. "kind"], values[p .. "title"] = k.id, k.kind, k.title
      values[p .. "unit"], values[p .. "start"] = k.unit, objectives.number(k.start_value)
      values[p .. "target"], values[p .. "current"] = objectives.number(k.target_value), objectives.number(k.current_value)
      values[p .. "done"] = k.done and "on" or nil
    end
  else
    local choices = creatable_cycles(req.user)
    c = cycles.get(int(q.cycle) or (kept and int(kept.values.cycle_id)) or (choices[1] and choices[1].id) or 0)
    values = { cycle_id = c and c.id, visibility = c and c.default_visibility or "public", level = q.level or "individual",
      parent_id = q.parent or "0", due_on = c and c.ends_on, owner_id = q["for"] or tostring(req.user.id) }
    v = { choices = choices }
  end
  if kept then values = kept.values end
  -- who it can be for: me, my direct reports, or (HR) someone searched for
  local reports = directory.employee_reports(req.user.id)
  local found = {}
  local hr = access.can(req.user, "objectives.create_for")
  local search = util.trim(q.q or values.q or "")
  if not o and hr and search ~= "" then
    for _, u in ipairs(directory.search(req.user, { q = search, kind = "employee", status = "", per_page = 10 }).users) do
      if u.status ~= "deactivated" then found[#found + 1] = u end
    end
  end
  local chosen_owner = not o and int(values.owner_id) and int(values.owner_id) ~= req.user.id
    and people.get(int(values.owner_id)) or nil
  -- what it can align to: the company and team objectives of the cycle the viewer may read
  local parents = {}
  if c and c.alignment then
    for _, p in ipairs(objectives.alignment_choices(req.user, c.id)) do
      if not o or p.id ~= o.id then parents[#parents + 1] = objectives.open(p) end
    end
  end
  local owner_ids = {}
  for _, x in ipairs(list_of(values.owner_ids)) do owner_ids[int(x) or 0] = true end
  local kr_rows = 0
  for i = 1, objectives.KR_MAX do if values["kr" .. i .. "_title"] then kr_rows = i end end
  kr_rows = math.min(objectives.KR_MAX, math.max(kr_rows + 2, 3))
  return render(req, "objective_form", { title = o and ("Edit: " .. o.title) or "New objective", objective = o, cycle = c,
    choices = v and v.choices or {}, values = values, errors = kept and kept.errors or {}, reports = reports,
    found = found, hr = hr, search = search, chosen_owner = chosen_owner, parents = parents, owner_ids = owner_ids,
    kr_rows = kr_rows, can_company = access.can(req.user, "objectives.set_company"),
    can_team = hr or #reports > 0 or (o and #authz.reports(o.owner_id, true) > 0),
    visibilities = cycles.VISIBILITIES, level_list = objectives.LEVELS })
end

local function cycle_form_page(req, c)
  local kept = page.kept(req)
  local values
  if kept then
    values = kept.values
    for _, k in ipairs({ "key_results", "alignment", "rating", "use_categories" }) do values[k] = truthy(values[k]) end
  elseif c then
    values = util.copy(c)
    values.use_categories = c.categories
    values.categories = table.concat(c.category_list, "\n")
    for _, s in ipairs(cycles.STATUSES) do values["label_" .. s] = c.labels[s] end
  else
    local d0 = util.parse_date(today())
    local function d(n) return util.format_date((d0 + n) * 86400) end
    values = { name = "", starts_on = d(0), ends_on = d(90), edit_until = d(21), update_until = d(100),
      participants = "everyone", creators = "both", default_visibility = "public", key_results = true,
      alignment = true, rating = false, use_categories = false, categories = "" }
    for _, s in ipairs(cycles.STATUSES) do values["label_" .. s] = cycles.STATUS_LABELS[s] end
  end
  return render(req, "objective_cycle_form", { title = c and ("Edit " .. c.name) or "New objective cycle", cycle = c,
    values = values, errors = kept and kept.errors or {}, statuses = cycles.STATUSES, creator_labels = cycles.CREATOR_LABELS,
    creators = cycles.CREATORS, visibilities = cycles.VISIBILITIES, features = cycles.FEATURES,
    feature_labels = cycles.FEATURE_LABELS })
end

-- The tabs of a cycle's pages.
local function cycle_tabs(req, c, active)
  local tabs = { { id = "list", label = "Objectives", href = "/objective-cycles/" .. c.id } }
  if c.alignment then tabs[#tabs + 1] = { id = "tree", label = "Alignment", href = "/objective-cycles/" .. c.id .. "/tree" } end
  if overview.can_track(req.user) then
    tabs[#tabs + 1] = { id = "overview", label = "Overview", href = "/objective-cycles/" .. c.id .. "/overview" }
  end
  for _, t in ipairs(tabs) do t.active = t.id == active end
  return tabs
end

-- ------------------------------------------------------------------ the export

--- The objectives of a cycle to Excel: the ones the one exporting may read (HR Admins and
--- Assistants), with departments, managers, alignment and key results; audit-logged.
function M.export_xlsx(req, id)
  local ex = overview.export_rows(req.user, id)
  local c = ex.cycle
  local rows, krs = {}, {}
  for _, o in ipairs(ex.objectives) do
    rows[#rows + 1] = { o.owner_name, o.owner_email, o.department, o.manager_name or "", objectives.LEVEL_LABELS[o.level],
      o.title, o.aligned_to or "", o.category or "", cycles.VISIBILITY_LABELS[o.visibility], c.labels[o.status],
      o.progress / 100, o.rating, o.due_on }
  end
  for _, k in ipairs(ex.key_results) do
    krs[#krs + 1] = { k.owner_name, k.objective_title, k.title, k.kind == "number" and "Number" or "Checklist",
      k.start_value, k.target_value, k.kind == "number" and k.current_value or (k.done == 1 and 1 or 0), k.unit,
      k.progress / 100 }
  end
  local bytes, err = xlsx.write_string{ title = c.name .. " — objectives", author = "Candor", created = clock.now(),
    sheets = {
      { name = "Objectives", freeze_header = true, autofilter = true,
        columns = { { header = "Owner", width = 24 }, { header = "Email", width = 30 }, { header = "Department", width = 16 },
          { header = "Manager", width = 22 }, { header = "Level", width = 11 }, { header = "Objective", width = 40 },
          { header = "Aligned to", width = 32 }, { header = "Category", width = 14 }, { header = "Visibility", width = 11 },
          { header = "Status", width = 12 }, { header = "Progress", width = 10, type = "percent" },
          { header = "Rating", width = 8, type = "number" }, { header = "Due", width = 12, type = "date" } },
        rows = rows },
      { name = "Key results", freeze_header = true, autofilter = true,
        columns = { { header = "Owner", width = 24 }, { header = "Objective", width = 36 }, { header = "Key result", width = 40 },
          { header = "Kind", width = 10 }, { header = "Start", width = 10, type = "number" },
          { header = "Target", width = 10, type = "number" }, { header = "Current / done", width = 14, type = "number" },
          { header = "Unit", width = 8 }, { header = "Progress", width = 10, type = "percent" } },
        rows = krs },
    } }
  if not bytes then errors.raise(500, "export_failed", "The spreadsheet could not be made: " .. err.message) end
  db.transaction(function()
    audit.record{ action = "export.objectives", actor = req.user, req = req, target_type = "objective_cycle",
      target_id = c.id, target_label = c.name, details = { rows = #rows } }
  end)
  return web.file(bytes, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    (c.name:gsub("[%c/\\:*?\"<>|]", ""):gsub("%s+", "-")) .. "-objectives.xlsx")
end

-- ------------------------------------------------------------------ routes

function M.routes(r)
  -- ---------------------------------------------------------------- API: cycles
  r:add{ method = "GET", path = "/api/objective-cycles", auth = "user", perm = "object",
    handler = function(req)
      local list = {}
      for i, c in ipairs(cycles.list(req.user)) do list[i] = cycle_json(c) end
      return web.json(200, { cycles = json.array(list) })
    end }
  r:add{ method = "POST", path = "/api/objective-cycles", auth = "user", perm = "objective_cycles.manage",
    handler = function(req)
      local c = cycles.create(req.user, web.body(req), req)
      return web.json(201, cycle_json(c), { Location = "/api/objective-cycles/" .. c.id })
    end }
  r:add{ method = "GET", path = "/api/objective-cycles/{id:int}", auth = "user", perm = "object",
    handler = function(req)
      local c = visible_cycle(req.user, req.params.id)
      c.people = cycles.count_people(c)
      return web.json(200, cycle_json(c))
    end }
  r:add{ method = "PATCH", path = "/api/objective-cycles/{id:int}", auth = "user", perm = "object",
    handler = function(req) return web.json(200, cycle_json(cycles.update(req.user, req.params.id, web.body(req), req))) end }
  r:add{ method = "DELETE", path = "/api/objective-cycles/{id:int}", auth = "user", perm = "object",
    handler = function(req) cycles.delete(req.user, req.params.id, req); return web.no_content() end }
  r:add{ method = "POST", path = "/api/objective-cycles/{id:int}/people", auth = "user", perm = "object",
    handler = function(req)
      return web.json(200, { added = cycles.add_people(req.user, req.params.id, web.body(req).user_ids, req) })
    end }
  r:add{ method = "DELETE", path = "/api/objective-cycles/{id:int}/people", auth = "user", perm = "object",
    handler = function(req)
      return web.json(200, { removed = cycles.remove_people(req.user, req.params.id, web.body(req).user_ids, req) })
    end }
  r:add{ method = "GET", path = "/api/objective-cycles/{id:int}/objectives", auth = "user", perm = "object",
    handler = function(req)
      local c = visible_cycle(req.user, req.params.id)
      local q = web.query(req)
      local res = views.list(req.user, c, { q = q.q, status = q.status, level = q.level, owner_id = int(q.owner_id),
        page = q.page, per_page = q.per_page })
      local list = {}
      for i, o in ipairs(res.rows) do list[i] = objective_json(o) end
      return web.json(200, { objectives = json.array(list), total = res.total, page = res.page, pages = res.pages })
    end }
  r:add{ method = "GET", path = "/api/objective-cycles/{id:int}/tree", auth = "user", perm = "object",
    handler = function(req)
      local c = visible_cycle(req.user, req.params.id)
      local q = web.query(req)
      local t = views.tree(req.user, c, { focus = int(q.focus), page = q.page })
      local roots = {}
      for i, x in ipairs(t.roots) do roots[i] = node_json(x) end
      local path = {}
      for i, p in ipairs(t.path) do path[i] = { id = p.id, title = p.title, level = p.level } end
      return web.json(200, { roots = json.array(roots), total_roots = t.total_roots, visible = t.visible,
        page = nul(t.page), pages = nul(t.pages), focus = t.focus and node_json(t.focus) or json.null,
        path = json.array(path) })
    end }
  r:add{ method = "GET", path = "/api/objective-cycles/{id:int}/overview", auth = "user", perm = "object",
    handler = function(req)
      local q = web.query(req)
      local ov = overview.overview(req.user, req.params.id, { without_page = q.without_page, overdue_page = q.overdue_page })
      local without, late = {}, {}
      for i, p in ipairs(ov.without.rows) do without[i] = { id = p.id, name = p.name, department = p.department } end
      for i, o in ipairs(ov.overdue.rows) do
        late[i] = { id = o.id, title = o.title, owner = { id = o.owner_id, name = o.owner_name }, due_on = o.due_on,
          status = o.status }
      end
      return web.json(200, { cycle = cycle_json(ov.cycle), people = ov.people, with_objectives = ov.with,
        objectives = ov.visible, progress = ov.progress, statuses = ov.mix,
        without = { people = json.array(without), total = ov.without.total, page = ov.without.page, pages = ov.without.pages },
        overdue = { objectives = json.array(late), total = ov.overdue.total, page = ov.overdue.page,
          pages = ov.overdue.pages } })
    end }
  r:add{ method = "POST", path = "/api/objective-cycles/{id:int}/nudges/preview", auth = "user", perm = "object",
    handler = function(req)
      local b = web.body(req)
      return web.json(200, overview.preview(req.user, req.params.id, b.audience, b.user_ids, b.note))
    end }
  r:add{ method = "POST", path = "/api/objective-cycles/{id:int}/nudges", auth = "user", perm = "object",
    handler = function(req)
      local b = web.body(req)
      return web.json(200, { queued = overview.send(req.user, req.params.id, b.audience, b.user_ids, b.note, req) })
    end }
  r:add{ method = "GET", path = "/api/objective-cycles/{id:int}/export.xlsx", auth = "user", perm = "object", tx = false,
    handler = function(req) return M.export_xlsx(req, req.params.id) end }

  -- ---------------------------------------------------------------- API: objectives
  r:add{ method = "POST", path = "/api/objectives", auth = "user", perm = "object",
    handler = function(req)
      local ids = objectives.create(req.user, web.body(req), req)
      -- one set on someone's behalf that its author may not read (an HR Admin's manager's protected
      -- objective) answers with its id only
      if #ids == 1 and objectives.readable_id(req.user, ids[1]) then
        return web.json(201, view_json(objectives.view(req.user, ids[1])), { Location = "/api/objectives/" .. ids[1] })
      end
      return web.json(201, { ids = ids })
    end }
  r:add{ method = "GET", path = "/api/objectives/{id:int}", auth = "user", perm = "object",
    handler = function(req) return web.json(200, view_json(objectives.view(req.user, req.params.id))) end }
  r:add{ method = "PATCH", path = "/api/objectives/{id:int}", auth = "user", perm = "object",
    handler = function(req)
      objectives.update(req.user, req.params.id, web.body(req), req)
      return web.json(200, view_json(objectives.view(req.user, req.params.id)))
    end }
  r:add{ method = "DELETE", path = "/api/objectives/{id:int}", auth = "user", perm = "object",
    handler = function(req) objectives.delete(req.user, req.params.id, req); return web.no_content() end }
  r:add{ method = "POST", path = "/api/objectives/{id:int}/comments", auth = "user", perm = "object",
    handler = function(req)
      local cid = objectives.comment(req.user, req.params.id, web.body(req).body)
      return web.json(201, { id = cid })
    end }
  r:add{ method = "POST", path = "/api/objectives/{id:int}/copy", auth = "user", perm = "object",
    handler = function(req)
      local nid = objectives.copy(req.user, req.params.id, web.body(req).cycle_id, req)
      return web.json(201, view_json(objectives.view(req.user, nid)), { Location = "/api/objectives/" .. nid })
    end }
  r:add{ method = "GET", path = "/api/people/{id:int}/objectives", auth = "user", perm = "object",
    handler = function(req)
      local out = {}
      for _, g in ipairs(views.of_person(req.user, req.params.id)) do
        for _, o in ipairs(g.objectives) do out[#out + 1] = objective_json(o, { cycle_name = g.cycle.name }) end
      end
      return web.json(200, { objectives = json.array(out) })
    end }

  -- ---------------------------------------------------------------- pages: objectives
  r:add{ method = "GET", path = "/objectives", auth = "user", perm = "object",
    handler = function(req)
      return render(req, "objectives_home", { title = "Objectives", groups = views.of_person(req.user, req.user.id),
        to_set = views.to_set(req.user), can_create = #creatable_cycles(req.user) > 0,
        manager = #authz.reports(req.user.id, true) > 0, tab = "mine" })
    end }

  r:add{ method = "GET", path = "/objectives/team", auth = "user", perm = "object",
    handler = function(req)
      -- the counts over the whole team, the people and their objectives a page at a time
      local everyone = directory.sorted_by_name(authz.reports(req.user.id, false))
      local shown, paging = directory.paged(everyone, web.query(req).page, TEAM_PER_PAGE)
      local team = directory.employees_listed(shown)
      local ids = {}
      for i, p in ipairs(team) do ids[i] = p.id; p.direct = p.manager_id == req.user.id end
      local summary = views.team(req.user, everyone)
      local with = 0
      for _ in pairs(summary) do with = with + 1 end
      return render(req, "objectives_team", { title = "My team's objectives", people = team, paging = paging,
        per_page = TEAM_PER_PAGE, with_objectives = with, summary = summary,
        details = views.team_details(req.user, ids), tab = "team", manager = #team > 0,
        can_create = #creatable_cycles(req.user) > 0 })
    end }

  r:add{ method = "GET", path = "/objectives/new", auth = "user", perm = "object",
    handler = function(req) return form_page(req) end }

  r:add{ method = "POST", path = "/objectives/new", auth = "user", perm = "object",
    handler = function(req)
      local f = web.form(req)
      local back = "/objectives/new" .. ((f.cycle_id and f.cycle_id ~= "") and ("?cycle=" .. f.cycle_id) or "")
      local ok, ids = page.form(req, { back = back, form = "/objectives/new", values = f }, function()
        return objectives.create(req.user, objective_input(f, true), req)
      end)
      if not ok then return ids end
      if #ids == 1 then return page.redirect("/objectives/" .. ids[1], "success", "Objective created.") end
      return page.redirect("/objectives/team", "success", util.plural(#ids, "objective") .. " created, one for each person.")
    end }

  r:add{ method = "GET", path = "/objectives/{id:int}", auth = "user", perm = "object",
    handler = function(req)
      local v = objectives.view(req.user, req.params.id)
      local kept = page.kept(req)
      return render(req, "objective_show", { title = v.objective.title, v = v, kept = kept and kept.values or {},
        errors = kept and kept.errors or {}, statuses = cycles.STATUSES,
        copy_targets = v.can.copy and objectives.copy_targets(v.cycle) or {} })
    end }

  r:add{ method = "GET", path = "/objectives/{id:int}/edit", auth = "user", perm = "object",
    handler = function(req)
      local v = objectives.view(req.user, req.params.id)
      if not v.can.change then errors.forbidden("Only its owner, their manager and whoever set it for them change an objective.") end
      if not v.can.edit then
        errors.conflict(("Since %s only the status, key-result values, the rating and comments change in %s."):format(
          util.human_date(v.cycle.edit_until), v.cycle.name))
      end
      return form_page(req, v.objective, v)
    end }

  r:add{ method = "POST", path = "/objectives/{id:int}/edit", auth = "user", perm = "object",
    handler = function(req)
      local f = web.form(req)
      local back = "/objectives/" .. req.params.id .. "/edit"
      local ok, res = page.form(req, { back = back, values = f }, function()
        return objectives.update(req.user, req.params.id, objective_input(f), req)
      end)
      if not ok then return res end
      return page.redirect("/objectives/" .. req.params.id, "success", "Saved.")
    end }

  r:add{ method = "POST", path = "/objectives/{id:int}/update", auth = "user", perm = "object",
    handler = function(req)
      local f = web.form(req)
      local here = "/objectives/" .. req.params.id
      local ok, res = page.form(req, { back = here .. "#update", form = here, values = f }, function()
        local v = objectives.view(req.user, req.params.id)
        return objectives.update(req.user, req.params.id, update_input(f, v), req)
      end)
      if not ok then return res end
      return page.redirect(here .. "#thread", "success", "Update saved.")
    end }

  r:add{ method = "POST", path = "/objectives/{id:int}/comments", auth = "user", perm = "object",
    handler = function(req)
      local f = web.form(req)
      local here = "/objectives/" .. req.params.id
      local ok, res = page.form(req, { back = here .. "#comment", form = here, values = f },
        objectives.comment, req.user, req.params.id, f.body)
      if not ok then return res end
      return page.redirect(here .. "#thread", "success", "Comment added.")
    end }

  r:add{ method = "POST", path = "/objectives/{id:int}/delete", auth = "user", perm = "object",
    handler = function(req)
      local o = objectives.get(req.user, req.params.id)
      local ok, res = page.form(req, "/objectives/" .. o.id, objectives.delete, req.user, o.id, req)
      if not ok then return res end
      return page.redirect("/objectives", "success", "The objective was deleted.")
    end }

  r:add{ method = "POST", path = "/objectives/{id:int}/copy", auth = "user", perm = "object",
    handler = function(req)
      local f = web.form(req)
      local ok, nid = page.form(req, "/objectives/" .. req.params.id, objectives.copy, req.user, req.params.id, int(f.cycle_id), req)
      if not ok then return nid end
      return page.redirect("/objectives/" .. nid, "success", "Copied into the newer cycle. Check its due date.")
    end }

  -- ---------------------------------------------------------------- pages: cycles
  r:add{ method = "GET", path = "/objective-cycles", auth = "user", perm = "object",
    handler = function(req)
      return render(req, "objective_cycles_list", { title = "Objective cycles", cycles = cycles.list(req.user),
        can_create = access.can(req.user, "objective_cycles.manage") })
    end }

  r:add{ method = "GET", path = "/objective-cycles/new", auth = "user", perm = "objective_cycles.manage",
    handler = function(req) return cycle_form_page(req) end }

  r:add{ method = "POST", path = "/objective-cycles/new", auth = "user", perm = "objective_cycles.manage",
    handler = function(req)
      local f = web.form(req)
      local ok, c = page.form(req, { back = "/objective-cycles/new", values = f }, cycles.create, req.user, cycle_input(f), req)
      if not ok then return c end
      return page.redirect("/objective-cycles/" .. c.id, "success", "Cycle created."
        .. (c.participants == "selected" and " Now choose who takes part." or ""))
    end }

  r:add{ method = "GET", path = "/objective-cycles/{id:int}/edit", auth = "user", perm = "objective_cycles.manage",
    handler = function(req) return cycle_form_page(req, cycles.require(req.params.id)) end }

  r:add{ method = "POST", path = "/objective-cycles/{id:int}/edit", auth = "user", perm = "objective_cycles.manage",
    handler = function(req)
      local f = web.form(req)
      local ok, c = page.form(req, { back = "/objective-cycles/" .. req.params.id .. "/edit", values = f }, cycles.update,
        req.user, req.params.id, cycle_input(f), req)
      if not ok then return c end
      return page.redirect("/objective-cycles/" .. c.id .. "/overview", "success", "Saved.")
    end }

  r:add{ method = "POST", path = "/objective-cycles/{id:int}/delete", auth = "user", perm = "object",
    handler = function(req)
      local c = cycles.require(req.params.id)
      local ok, res = page.form(req, "/objective-cycles/" .. c.id .. "/overview", cycles.delete, req.user, c.id, req)
      if not ok then return res end
      return page.redirect("/objective-cycles", "success", c.name .. " was deleted with " .. util.plural(res, "objective") .. ".")
    end }

  r:add{ method = "GET", path = "/objective-cycles/{id:int}", auth = "user", perm = "object",
    handler = function(req)
      local c = visible_cycle(req.user, req.params.id)
      local q = web.query(req)
      local res = views.list(req.user, c, { q = q.q, status = q.status, level = q.level, page = q.page })
      return render(req, "objective_cycle_show", { title = c.name, cycle = c, window = cycles.window(c), res = res, q = q,
        tabs = cycle_tabs(req, c, "list"), statuses = cycles.STATUSES, level_list = objectives.LEVELS,
        takes_part = cycles.takes_part(c, req.user.id), can_manage = access.can(req.user, "objective_cycles.manage") })
    end }

  r:add{ method = "GET", path = "/objective-cycles/{id:int}/tree", auth = "user", perm = "object",
    handler = function(req)
      local c = visible_cycle(req.user, req.params.id)
      local q = web.query(req)
      local t = views.tree(req.user, c, { focus = int(q.focus), page = q.page })
      return render(req, "objective_tree", { title = "Alignment: " .. c.name, cycle = c, t = t, q = q,
        tabs = cycle_tabs(req, c, "tree") })
    end }

  r:add{ method = "GET", path = "/objective-cycles/{id:int}/overview", auth = "user", perm = "object",
    handler = function(req)
      local q = web.query(req)
      local ov = overview.overview(req.user, req.params.id, { without_page = q.without_page, overdue_page = q.overdue_page })
      local c = ov.cycle
      local bars = {}
      for i, s in ipairs(cycles.STATUSES) do bars[i] = { label = c.labels[s], value = ov.mix[s] } end
      return render(req, "objective_overview", { title = c.name .. " — overview", cycle = c, ov = ov, q = q,
        chart = svg.bars(bars, { id = "status-mix", title = "Objectives by status", height = 220 }),
        tabs = cycle_tabs(req, c, "overview"), audiences = overview.AUDIENCES, audience_labels = overview.AUDIENCE_LABELS,
        can_manage = access.can(req.user, "objective_cycles.manage"),
        can_delete = access.can(req.user, "objective_cycles.delete"),
        can_export = access.can(req.user, "objectives.export_excel"), wide = true })
    end }

  -- the nudge's exact mail before anything is sent (its own page: reloading it sends nothing)
  local function nudge_args(f)
    return f.audience, list_of(f.user_ids), f.note
  end
  r:add{ method = "GET", path = "/objective-cycles/{id:int}/nudges", auth = "user", perm = "object",
    handler = function(req)
      local audience, ids, note = nudge_args(web.query(req))
      local prev = overview.preview(req.user, req.params.id, audience, ids, note)
      return render(req, "objective_nudges", { title = "Nudge", cycle = cycles.require(req.params.id), audience = audience,
        audience_label = overview.AUDIENCE_LABELS[audience], ids = ids, note = note or "", preview = prev })
    end }
  r:add{ method = "POST", path = "/objective-cycles/{id:int}/nudges", auth = "user", perm = "object",
    handler = function(req)
      local f = web.form(req)
      local audience, ids, note = nudge_args(f)
      local here = "/objective-cycles/" .. req.params.id
      if f.confirm ~= "1" then
        return web.redirect(here .. "/nudges?" .. util.build_query({ audience = audience, user_ids = ids, note = note }))
      end
      local ok, n = page.form(req, here .. "/overview", overview.send, req.user, req.params.id, audience, ids, note, req)
      if not ok then return n end
      return page.redirect(here .. "/overview", "success", util.plural(n, "nudge") .. " queued.")
    end }

  -- who takes part in a cycle of selected people: the list, and adding people found by a search
  -- (ticked ones, everyone matching, or someone with their whole team)
  r:add{ method = "GET", path = "/objective-cycles/{id:int}/people", auth = "user", perm = "objective_cycles.manage",
    handler = function(req)
      local c = cycles.require(req.params.id)
      local q = web.query(req)
      local chosen = cycles.selected(c)
      local ids = {}
      for uid in pairs(chosen) do ids[#ids + 1] = uid end
      local members = directory.page_of(ids, int(q.in_page), 200)
      local search = util.trim(q.q or "") ~= "" or (q.department or "") ~= "" or (q.location or "") ~= ""
      local res = search and directory.search(req.user, { q = q.q, department = q.department, location = q.location,
        page = q.page, per_page = 50, kind = "employee" }) or nil
      -- the managers among them (one query): they can be added with their whole team
      local leads = {}
      if res and #res.users > 0 then
        local found = {}
        for i, u in ipairs(res.users) do found[i] = u.id end
        leads = directory.managers_among(found)
      end
      return render(req, "objective_people", { title = "Who takes part in " .. c.name, cycle = c, q = q, chosen = chosen,
        count = #ids, members = members, res = res, leads = leads, facets = directory.facets() })
    end }

  r:add{ method = "POST", path = "/objective-cycles/{id:int}/people", auth = "user", perm = "objective_cycles.manage",
    handler = function(req)
      local c = cycles.require(req.params.id)
      local f = web.form(req)
      local back = "/objective-cycles/" .. c.id .. "/people?" .. util.build_query({ q = f.q, department = f.department,
        location = f.location, page = f.page })
      local ids = list_of(f.ids)
      if f.team then
        local lead = int(f.team) or 0
        ids = authz.reports(lead, false)
        ids[#ids + 1] = lead
      elseif f.all_matching == "1" then
        ids = {}
        local query = { q = f.q, department = f.department, location = f.location, per_page = 200, kind = "employee" }
        local res
        repeat
          query.page = (query.page or 0) + 1
          res = directory.search(req.user, query)
          for _, u in ipairs(res.users) do ids[#ids + 1] = u.id end
        until query.page >= res.pages
      end
      local ok, n = page.form(req, back, f.remove and cycles.remove_people or cycles.add_people, req.user, c.id, ids, req)
      if not ok then return n end
      return page.redirect(back, "success", util.plural(n, "person", "people") .. (f.remove and " taken out." or " added."))
    end }

  r:add{ method = "GET", path = "/objective-cycles/{id:int}/export.xlsx", auth = "user", perm = "object", tx = false,
    handler = function(req) return M.export_xlsx(req, req.params.id) end }

  M.hooks()
end

-- ------------------------------------------------------------------ the rest of Candor

local function first_name(name) return (name or ""):match("^(%S+)") or name end

--- The area's places elsewhere: navigation, "+ New", admin tiles, home to-dos and panel, the
--- team page's column, the profile's section, the review page's resources.
function M.hooks()
  events.hook("page.nav", function(e)
    if e.user.kind ~= "guest" then
      e.items[#e.items + 1] = { id = "objectives", label = "Objectives", href = "/objectives", icon = "◉", order = 15 }
    end
  end)
  events.hook("page.quick_create", function(e)
    if e.user.kind ~= "guest" then e.items[#e.items + 1] = { label = "Objective", href = "/objectives/new" } end
  end)
  events.hook("admin.tiles", function(e)
    e.links["objective_cycles.manage"] = { href = "/objective-cycles" }
    e.links["objective_cycles.delete"] = { href = "/objective-cycles", hint = "Open a cycle, then Overview" }
    e.links["objectives.nudge"] = { href = "/objective-cycles", hint = "Open a cycle, then Overview" }
    e.links["objectives.read_protected"] = { href = "/objective-cycles", hint = "Open a cycle" }
    e.links["objectives.create_for"] = { href = "/objectives/new" }
    e.links["objectives.set_company"] = { href = "/objectives/new?level=company" }
    e.links["objectives.export_excel"] = { href = "/objective-cycles", hint = "Open a cycle, then Overview" }
  end)

  events.hook("home.todos", function(e)
    local u = e.user
    if u.kind == "guest" then return end
    for _, c in ipairs(views.to_set(u)) do
      e.items[#e.items + 1] = { label = "Set your objectives for " .. c.name, href = "/objectives/new?cycle=" .. c.id,
        due = c.edit_until }
    end
    local soon = util.format_date(clock.now() + 14 * 86400)
    for _, o in ipairs(views.my_open(u, 20)) do
      if o.due_on and o.due_on <= soon then
        e.items[#e.items + 1] = { label = (o.due_on < today() and "Overdue: " or "Update: ") .. o.title,
          href = "/objectives/" .. o.id .. "#update", due = o.due_on }
      end
    end
  end)

  events.hook("home.panels", function(e)
    local u = e.user
    if u.kind == "guest" then return end
    local items = {}
    for _, o in ipairs(views.my_open(u, 5)) do
      items[#items + 1] = { label = o.title, href = "/objectives/" .. o.id,
        note = ("%d%% · %s"):format(math.floor((o.progress or 0) + 0.5), o.cycle_name) .. (o.due_on and (" · due " .. util.human_date(o.due_on)) or ""),
        progress = { n = o.progress, total = 100, label = "Progress" },
        badge = (o.due_on and o.due_on < today()) and "Overdue" or nil, tone = "warn" }
    end
    -- with none yet while a cycle is open, the empty panel says so (the to-do above links to it)
    local open = #items == 0 and views.to_set(u)[1]
    e.panels[#e.panels + 1] = { title = "Your open objectives", items = items, order = 20,
      empty = open and ("No open objectives yet. %s is open: set yours by %s."):format(open.name,
        util.human_date(open.edit_until)) or "No open objectives. Set some when an objective cycle is open.",
      empty_action = open and { label = "Set your objectives", href = "/objectives/new?cycle=" .. open.id } or nil,
      action = { label = "My objectives", href = "/objectives" } }
  end)

  events.hook("team.columns", function(e)
    local ids = {}
    for i, p in ipairs(e.people) do ids[i] = p.id end
    local summary = views.team(e.user, ids)
    local values = {}
    for _, p in ipairs(e.people) do
      local s = summary[p.id]
      values[p.id] = s and { text = ("%s · %d%%"):format(util.plural(s.count, "objective"), s.progress),
        href = "/objectives/team#person-" .. p.id }
        or { text = "None yet", href = "/objectives/team#person-" .. p.id }
    end
    e.columns[#e.columns + 1] = { label = "Objectives", values = values, empty = "—" }
  end)

  events.hook("person.profile", function(e)
    if e.viewer.kind == "guest" then return end
    e.sections[#e.sections + 1] = { template = "_objectives_section", order = 20,
      data = { groups = views.of_person(e.viewer, e.person.id, { limit = 50 }), person = e.person, viewer = e.viewer,
        first_name = first_name(e.person.name), status_badge = status_badge } }
  end)

  events.hook("review.resources", function(e)
    local rc = reviews.cycle_dates(e.review_id)
    if not rc then return end
    local items = {}
    for _, o in ipairs(views.for_review(e.user, e.reviewee_id, rc)) do
      items[#items + 1] = { label = o.title, href = "/objectives/" .. o.id,
        note = ("%s · %s · %d%%%s"):format(o.cycle_name, o.status_label, o.progress,
          o.due_on and (" · due " .. util.human_date(o.due_on)) or "") }
    end
    e.groups[#e.groups + 1] = { title = "Objectives", items = items,
      empty = "No objectives of the review period that you can see." }
  end)
end

return M
