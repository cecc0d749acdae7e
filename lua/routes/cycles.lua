-- Review cycles for HR: list, create/edit, questions, reviewees (org chart or list view), cycle
-- admins, start/close, the company overview with progress and the rating distribution,
-- reminders with a preview, exports.
local web = require "lib.web"
local page = require "lib.page"
local json = require "lib.json"
local util = require "lib.util"
local errors = require "lib.errors"
local events = require "lib.events"
local db = require "lib.db"
local svg = require "lib.svg"
local clock = require "core.clock"
local cycles = require "services.cycles"
local reviews = require "services.reviews"
local questionnaire = require "services.questionnaire"
local access = require "services.access"
local directory = require "services.directory"
local audit = require "services.audit"
local workflows = require "services.workflows"
local authz = require "core.authz"
local xlsx = require "core.xlsx"

local M = {}


local function cycle_json(c)
  return { id = c.id, name = c.name, phase = c.phase, start_date = c.start_date, self_due = c.self_due or json.null,
    manager_due = c.manager_due or json.null, sign_due = c.sign_due or json.null, self_assessment = c.self_assessment,
    visibility = c.visibility, questionnaire = c.questionnaire, workflow = c.workflow,
    workflow_version_id = c.workflow_version_id or json.null, started_at = c.started_at or json.null,
    closed_at = c.closed_at or json.null, stats = c.stats }
end


-- A form post's fields -> the input cycles.create/update take.
local function cycle_input(f)
  return { name = f.name, start_date = f.start_date, self_due = f.self_due ~= "" and f.self_due or nil,
    manager_due = f.manager_due ~= "" and f.manager_due or nil, sign_due = f.sign_due ~= "" and f.sign_due or nil,
    self_assessment = f.self_assessment == "on",
    visibility = { indirect_managers = f.indirect_managers == "on", reviewee_sees = f.reviewee_sees } }
end

-- The cycle's form; after a refused post, what was typed (checkboxes as booleans) and the messages.
local function form_page(req, c, values)
  local kept = page.kept(req)
  if kept then
    values = kept.values
    values.self_assessment, values.indirect_managers = values.self_assessment == "on", values.indirect_managers == "on"
  end
  return page.render(req, "cycle_form", { title = c and ("Edit " .. c.name) or "New review cycle", cycle = c,
    values = values, errors = kept and kept.errors or {}, reviewee_sees = cycles.REVIEWEE_SEES }, { nav = "cycles" })
end

local function overview_query(req)
  local q = web.query(req)
  return { sort = q.sort, order = q.order, department = q.department, location = q.location,
    manager_id = math.tointeger(tonumber(q.manager_id or "")), status = q.status, q = q.q,
    page = q.page, per_page = q.per_page }
end

function M.routes(r)
  -- ---------------------------------------------------------------- API
  r:add{ method = "GET", path = "/api/cycles", auth = "user", perm = "object",
    handler = function(req)
      local list = {}
      for i, c in ipairs(cycles.list(req.user)) do list[i] = cycle_json(c) end
      return web.json(200, { cycles = json.array(list) })
    end }
  r:add{ method = "POST", path = "/api/cycles", auth = "user", perm = "review_cycles.manage",
    handler = function(req)
      local c = cycles.create(req.user, web.body(req), req)
      return web.json(201, cycle_json(c), { Location = "/api/cycles/" .. c.id })
    end }
  r:add{ method = "GET", path = "/api/cycles/{id:int}", auth = "user", perm = "object",
    handler = function(req)
      local c = cycles.require(req.params.id)
      cycles.require_perm(req.user, "review_cycles.track", c)
      return web.json(200, cycle_json(c))
    end }
  r:add{ method = "PATCH", path = "/api/cycles/{id:int}", auth = "user", perm = "object",
    handler = function(req) return web.json(200, cycle_json(cycles.update(req.user, req.params.id, web.body(req), req))) end }
  r:add{ method = "DELETE", path = "/api/cycles/{id:int}", auth = "user", perm = "object",
    handler = function(req) cycles.delete(req.user, req.params.id, req); return web.no_content() end }
  r:add{ method = "POST", path = "/api/cycles/{id:int}/copy", auth = "user", perm = "object",
    handler = function(req)
      local c = cycles.copy(req.user, req.params.id, req)
      return web.json(201, cycle_json(c), { Location = "/api/cycles/" .. c.id })
    end }
  r:add{ method = "POST", path = "/api/cycles/{id:int}/start", auth = "user", perm = "object",
    handler = function(req) return web.json(200, cycle_json(cycles.start(req.user, req.params.id, req))) end }
  r:add{ method = "POST", path = "/api/cycles/{id:int}/transitions", auth = "user", perm = "object",
    handler = function(req)
      local to = web.body(req).to
      if type(to) ~= "string" then errors.invalid({ to = "Name the phase to move to." }) end
      return web.json(200, cycle_json(cycles.transition(req.user, req.params.id, to, req)))
    end }
  r:add{ method = "GET", path = "/api/cycles/{id:int}/reviewees", auth = "user", perm = "object",
    handler = function(req)
      local oq = overview_query(req)
      oq.per_page = math.min(200, math.tointeger(tonumber(oq.per_page or "")) or 50)
      local ov = cycles.overview(req.user, req.params.id, oq)
      local list = {}
      for i, x in ipairs(ov.rows) do
        list[i] = { review_id = x.id, reviewee_id = x.reviewee_id, name = x.name, email = x.email, department = x.department,
          location = x.location, manager_id = x.manager_id or json.null, manager_name = x.manager_name or json.null,
          self_status = x.self_status, manager_status = x.manager_status,
          reviewee_signed = x.reviewee_signed_at ~= nil, manager_signed = x.manager_signed_at ~= nil, done = x.closed_at ~= nil }
      end
      return web.json(200, { reviewees = json.array(list), totals = ov.totals, total = ov.matching, page = ov.page,
        per_page = ov.per_page, pages = ov.pages })
    end }
  r:add{ method = "POST", path = "/api/cycles/{id:int}/reviewees", auth = "user", perm = "object",
    handler = function(req)
      local n, lacking, missing = cycles.add_reviewees(req.user, req.params.id, web.body(req).user_ids, req)
      local list = {}
      for i, x in ipairs(lacking) do list[i] = { id = x.id, name = x.name, review_id = x.review_id } end
      local out = { added = n, without_manager = json.array(list) }
      if missing > 0 then out.warning = cycles.writer_warning(lacking, missing) end
      return web.json(200, out)
    end }
  r:add{ method = "DELETE", path = "/api/cycles/{id:int}/reviewees", auth = "user", perm = "object",
    handler = function(req)
      local n = cycles.remove_reviewees(req.user, req.params.id, web.body(req).user_ids, req)
      return web.json(200, { removed = n })
    end }
  r:add{ method = "PUT", path = "/api/cycles/{id:int}/admins", auth = "user", perm = "review_cycles.manage",
    handler = function(req)
      local list = cycles.set_admins(req.user, req.params.id, web.body(req).admins, req)
      return web.json(200, { admins = json.array(util.map(list, function(e) return { user_id = e[1], role = e[2] } end)) })
    end }
  r:add{ method = "GET", path = "/api/cycles/{id:int}/ratings", auth = "user", perm = "object",
    handler = function(req)
      local c = cycles.require(req.params.id)
      cycles.require_perm(req.user, "review_cycles.track", c)
      local d = reviews.rating_distribution(req.user, c, web.query(req).question)
      if not d then return web.json(200, { question = json.null, counts = json.array({}), total = 0 }) end
      return web.json(200, { question = d.question.id, counts = d.counts, total = d.total })
    end }
  r:add{ method = "POST", path = "/api/cycles/{id:int}/reminders/preview", auth = "user", perm = "object",
    handler = function(req)
      local b = web.body(req)
      return web.json(200, reviews.reminder_preview(req.user, req.params.id, b.audience, b.review_ids, b.note))
    end }
  r:add{ method = "POST", path = "/api/cycles/{id:int}/reminders", auth = "user", perm = "object",
    handler = function(req)
      local b = web.body(req)
      return web.json(200, { queued = reviews.send_reminders(req.user, req.params.id, b.audience, b.review_ids, b.note, req) })
    end }
  r:add{ method = "GET", path = "/api/cycles/{id:int}/export.xlsx", auth = "user", perm = "object", tx = false,
    handler = function(req) return M.export_xlsx(req, req.params.id) end }

  -- ---------------------------------------------------------------- pages
  r:add{ method = "GET", path = "/cycles", auth = "user", perm = "object",
    handler = function(req)
      local list = cycles.list(req.user)
      local can_create = access.can(req.user, "review_cycles.manage")
      if #list == 0 and not can_create then errors.forbidden("Review cycles are run by HR.") end
      return page.render(req, "cycles_list", { title = "Review cycles", cycles = list, can_create = can_create },
        { nav = "cycles" })
    end }

  r:add{ method = "GET", path = "/cycles/new", auth = "user", perm = "review_cycles.manage",
    handler = function(req)
      local today = util.parse_date(util.format_date(clock.now()))
      local function d(n) return util.format_date((today + n) * 86400) end
      return form_page(req, nil, { name = "", start_date = d(0), self_due = d(14), manager_due = d(28), sign_due = d(42),
        self_assessment = true, indirect_managers = true, reviewee_sees = "on_share" })
    end }

  r:add{ method = "POST", path = "/cycles/new", auth = "user", perm = "review_cycles.manage",
    handler = function(req)
      local f = web.form(req)
      local ok, c = page.form(req, { back = "/cycles/new", values = f }, cycles.create, req.user, cycle_input(f), req)
      if not ok then return c end
      return page.redirect("/cycles/" .. c.id .. "/reviewees", "success", "Cycle created. Now choose who is reviewed.")
    end }

  r:add{ method = "GET", path = "/cycles/{id:int}/edit", auth = "user", perm = "object",
    handler = function(req)
      local c = cycles.require(req.params.id)
      cycles.require_perm(req.user, "review_cycles.manage", c)
      if c.phase == "closed" then errors.conflict("This cycle is closed; copy it to run a new round.") end
      local values = util.copy(c)
      values.indirect_managers = c.visibility.indirect_managers
      values.reviewee_sees = c.visibility.reviewee_sees
      return form_page(req, c, values)
    end }

  r:add{ method = "POST", path = "/cycles/{id:int}/edit", auth = "user", perm = "object",
    handler = function(req)
      local c = cycles.require(req.params.id)
      local f = web.form(req)
      local input = cycle_input(f)
      if cycles.running(c) then input.self_assessment = nil end
      local ok, res = page.form(req, { back = "/cycles/" .. c.id .. "/edit", values = f }, cycles.update, req.user,
        c.id, input, req)
      if not ok then return res end
      return page.redirect("/cycles/" .. c.id, "success", "Saved.")
    end }

  r:add{ method = "GET", path = "/cycles/{id:int}/questions", auth = "user", perm = "object",
    handler = function(req)
      local c = cycles.require(req.params.id)
      cycles.require_perm(req.user, "review_cycles.manage", c)
      local kept = page.kept(req)
      local q = kept and type(kept.extra) == "table" and type(kept.extra.q) == "table" and kept.extra.q or c.questionnaire
      return M.questions_page(req, c, q, kept and kept.errors)
    end }

  r:add{ method = "POST", path = "/cycles/{id:int}/questions", auth = "user", perm = "object",
    handler = function(req)
      local c = cycles.require(req.params.id)
      cycles.require_perm(req.user, "review_cycles.manage", c)
      local f = web.form(req)
      local q, op, anchor = M.questions_from_form(f)
      local back = "/cycles/" .. c.id .. "/questions"
      if op ~= "save" then
        -- adding, moving, removing: the editor comes back with the questionnaire as it is now
        page.keep(req, back, { extra = { q = q } })
        return web.redirect(back .. (anchor and ("#" .. anchor) or ""))
      end
      local ok, res = page.form(req, { back = back, extra = { q = q }, lists_problems = true }, cycles.update, req.user, c.id,
        { questionnaire = q }, req)
      if not ok then return res end
      return page.redirect("/cycles/" .. c.id, "success", "Questions saved.")
    end }

  r:add{ method = "GET", path = "/cycles/{id:int}/reviewees", auth = "user", perm = "object",
    handler = function(req) return M.reviewees_page(req, cycles.require(req.params.id)) end }

  r:add{ method = "POST", path = "/cycles/{id:int}/reviewees", auth = "user", perm = "object",
    handler = function(req)
      local c = cycles.require(req.params.id)
      local f = web.form(req)
      local ids = f.ids
      if type(ids) == "string" then ids = { ids } end
      ids = ids or {}
      local back = "/cycles/" .. c.id .. "/reviewees?" .. util.build_query({ view = f.view, q = f.q,
        department = f.department, location = f.location, manager_id = f.manager_id, sort = f.sort, page = f.page,
        open = f.team })
      if f.team then
        local team = authz.reports(math.tointeger(tonumber(f.team)) or 0, false)
        ids = team
        table.insert(ids, math.tointeger(tonumber(f.team)))
      elseif f.all_matching == "1" then
        ids = {}
        local res = directory.search(req.user, { q = f.q, department = f.department, location = f.location,
          manager_id = math.tointeger(tonumber(f.manager_id or "")), per_page = 200, page = 1, kind = "employee" })
        local pages = res.pages
        for p = 1, pages do
          if p > 1 then
            res = directory.search(req.user, { q = f.q, department = f.department, location = f.location,
              manager_id = math.tointeger(tonumber(f.manager_id or "")), per_page = 200, page = p, kind = "employee" })
          end
          for _, u in ipairs(res.users) do ids[#ids + 1] = u.id end
        end
      end
      local ok, res, lacking, missing = page.form(req, back, f.remove and cycles.remove_reviewees or cycles.add_reviewees,
        req.user, c.id, ids, req)
      if not ok then return res end
      local done = util.plural(res, "reviewee") .. (f.remove and " removed." or " added.")
      if not f.remove and missing > 0 then
        return page.redirect(back, "info", done .. " " .. cycles.writer_warning(lacking, missing))
      end
      return page.redirect(back, "success", done)
    end }

  r:add{ method = "GET", path = "/cycles/{id:int}/admins", auth = "user", perm = "review_cycles.manage",
    handler = function(req)
      local c = cycles.require(req.params.id)
      return page.render(req, "cycle_admins", { title = "Admins of " .. c.name, cycle = c, admins = cycles.admins(c.id),
        people = directory.manager_choices(), can_make_admin = access.can(req.user, "reviews.read") },
        { nav = "cycles" })
    end }

  r:add{ method = "POST", path = "/cycles/{id:int}/admins", auth = "user", perm = "review_cycles.manage",
    handler = function(req)
      local c = cycles.require(req.params.id)
      local f = web.form(req)
      local list = {}
      for _, a in ipairs(cycles.admins(c.id)) do
        if f["remove_" .. a.user_id] == nil then list[#list + 1] = { user_id = a.user_id, role = a.role } end
      end
      if f.user_id and f.user_id ~= "" then list[#list + 1] = { user_id = f.user_id, role = f.role } end
      local ok, res = page.form(req, "/cycles/" .. c.id .. "/admins", cycles.set_admins, req.user, c.id, list, req)
      if not ok then return res end
      return page.redirect("/cycles/" .. c.id .. "/admins", "success", "Cycle admins saved.")
    end }

  r:add{ method = "POST", path = "/cycles/{id:int}/start", auth = "user", perm = "object",
    handler = function(req)
      local c = cycles.require(req.params.id)
      local ok, res = page.form(req, { back = "/cycles/" .. c.id, form = "/cycles/" .. c.id .. "/start" }, cycles.start,
        req.user, c.id, req)
      if not ok then return res end
      return page.redirect("/cycles/" .. c.id, "success", "The cycle has started. Invitations are on their way.")
    end }

  r:add{ method = "POST", path = "/cycles/{id:int}/transition", auth = "user", perm = "object",
    handler = function(req)
      local c = cycles.require(req.params.id)
      local ok, res = page.form(req, "/cycles/" .. c.id, cycles.transition, req.user, c.id, web.form(req).to, req)
      if not ok then return res end
      return page.redirect("/cycles/" .. c.id, "success", "The cycle moved to the next phase.")
    end }

  r:add{ method = "POST", path = "/cycles/{id:int}/copy", auth = "user", perm = "object",
    handler = function(req)
      local c = cycles.copy(req.user, req.params.id, req)
      return page.redirect("/cycles/" .. c.id .. "/edit", "success", "A copy was made. Check its name and dates.")
    end }

  r:add{ method = "POST", path = "/cycles/{id:int}/delete", auth = "user", perm = "object",
    handler = function(req)
      local c = cycles.require(req.params.id)
      local ok, res = page.form(req, "/cycles/" .. c.id, cycles.delete, req.user, c.id, req)
      if not ok then return res end
      return page.redirect("/cycles", "success", c.name .. " was deleted with all its reviews.")
    end }

  r:add{ method = "GET", path = "/cycles/{id:int}", auth = "user", perm = "object",
    handler = function(req) return M.overview_page(req, req.params.id) end }

  -- who to remind, from the overview's form or the preview's address
  local function reminder_args(f)
    local ids = f.review_ids
    if type(ids) == "string" then ids = { ids } end
    local selection = {}
    for _, x in ipairs(ids or {}) do selection[#selection + 1] = math.tointeger(tonumber(x)) end
    return f.audience or (#selection > 0 and "selection" or "self_late"), selection, f.note
  end
  local function preview_url(c, audience, selection, note)
    return "/cycles/" .. c.id .. "/reminders?" .. util.build_query({ audience = audience, review_ids = selection,
      note = note })
  end

  -- the exact mail, before anything is sent (a page of its own: reloading it sends nothing)
  r:add{ method = "GET", path = "/cycles/{id:int}/reminders", auth = "user", perm = "object",
    handler = function(req)
      local c = cycles.require(req.params.id)
      local audience, selection, note = reminder_args(web.query(req))
      local prev = reviews.reminder_preview(req.user, c.id, audience, selection, note)
      return page.render(req, "cycle_reminders", { title = "Send reminders", cycle = c, audience = audience,
        selection = selection, note = note or "", preview = prev }, { nav = "cycles" })
    end }

  r:add{ method = "POST", path = "/cycles/{id:int}/reminders", auth = "user", perm = "object",
    handler = function(req)
      local c = cycles.require(req.params.id)
      local audience, selection, note = reminder_args(web.form(req))
      if web.form(req).confirm ~= "1" then return web.redirect(preview_url(c, audience, selection, note)) end
      local ok, n = page.form(req, "/cycles/" .. c.id, reviews.send_reminders, req.user, c.id, audience, selection, note,
        req)
      if not ok then return n end
      return page.redirect("/cycles/" .. c.id, "success", util.plural(n, "reminder") .. " queued.")
    end }

  r:add{ method = "GET", path = "/cycles/{id:int}/export.xlsx", auth = "user", perm = "object", tx = false,
    handler = function(req) return M.export_xlsx(req, req.params.id) end }

  events.hook("page.nav", function(e)
    local u = e.user
    if access.can(u, "review_cycles.track") or access.can(u, "review_cycles.manage")
        or cycles.admin_anywhere(u.id) then
      e.items[#e.items + 1] = { id = "cycles", label = "Review cycles", href = "/cycles", icon = "◎", order = 30 }
    end
  end)
end

-- ------------------------------------------------------------------ helpers

--- Rebuilds a questionnaire from the editor's form fields and the button pressed:
--- returns the questionnaire, the operation ("save", "add_question:S", "add_section",
--- "remove:S:Q", "up:S:Q", "down:S:Q", "remove_section:S") and the id of the part of the
--- page to show next (the question added or moved).
function M.questions_from_form(f)
  local q = { sections = {} }
  local si = 1
  while f["s" .. si .. "_title"] ~= nil do
    local s = { id = f["s" .. si .. "_id"], title = f["s" .. si .. "_title"], questions = {} }
    local qi = 1
    while f[("s%d_q%d_text"):format(si, qi)] ~= nil do
      local p = ("s%d_q%d_"):format(si, qi)
      local labels = {}
      for l in (f[p .. "labels"] or ""):gmatch("[^\n\r]+") do labels[#labels + 1] = util.trim(l) end
      s.questions[#s.questions + 1] = { id = f[p .. "id"], type = f[p .. "type"], text = f[p .. "text"],
        audience = f[p .. "audience"], required = f[p .. "required"] == "on",
        scale = tonumber(f[p .. "scale"]), labels = labels, x_label = f[p .. "x_label"], y_label = f[p .. "y_label"] }
      qi = qi + 1
    end
    q.sections[#q.sections + 1] = s
    si = si + 1
  end
  local op = f.op or "save"
  local used = {}
  for _, s in ipairs(q.sections) do for _, x in ipairs(s.questions) do if x.id then used[x.id] = true end end end
  local function new_id()
    local n = 1
    while used["q" .. n] do n = n + 1 end
    used["q" .. n] = true
    return "q" .. n
  end
  local kind, a, b = op:match("^([%w_]+):?(%d*):?(%d*)$")
  a, b = tonumber(a), tonumber(b)
  local anchor
  if kind == "add_section" then
    q.sections[#q.sections + 1] = { id = "s" .. (#q.sections + 1), title = "", questions = {
      { id = new_id(), type = "text", text = "", audience = "both", required = false } } }
    anchor = "s" .. #q.sections
  elseif kind == "add_question" and q.sections[a] then
    table.insert(q.sections[a].questions, { id = new_id(), type = "text", text = "", audience = "both", required = false })
    anchor = ("s%d_q%d"):format(a, #q.sections[a].questions)
  elseif kind == "remove" and q.sections[a] and q.sections[a].questions[b] then
    table.remove(q.sections[a].questions, b)
    anchor = "s" .. a
  elseif kind == "remove_section" and q.sections[a] then
    table.remove(q.sections, a)
  elseif (kind == "up" or kind == "down") and q.sections[a] then
    local list = q.sections[a].questions
    local to = kind == "up" and b - 1 or b + 1
    if list[b] and list[to] then
      list[b], list[to] = list[to], list[b]
      anchor = ("s%d_q%d"):format(a, to)
    end
  end
  return q, (kind == "save" or kind == nil) and "save" or op, anchor
end

-- A problem's path from the questionnaire check ("sections[2].questions[3].scale") as the id
-- of the editor's field ("s2_q3_scale"), and its place in the form's order.
local FIELD_ORDER = { title = 0, text = 1, type = 2, audience = 3, scale = 4, labels = 5, x_label = 6, y_label = 7, id = 8 }

local function problem_field(path)
  local si, rest = path:match("^sections%[(%d+)%]%.?(.*)$")
  if not si then return "questions", { 0, 0, 0 } end
  local qi, field = rest:match("^questions%[(%d+)%]%.?(.*)$")
  if qi then
    field = field ~= "" and field or nil
    return ("s%s_q%s"):format(si, qi) .. (field and field ~= "id" and ("_" .. field) or ""),
      { tonumber(si), tonumber(qi), FIELD_ORDER[field] or 9 }
  end
  return "s" .. si .. (rest == "title" and "_title" or ""), { tonumber(si), 0, 0 }
end

--- The question editor; problems = the check's fields ({ [path] = message }) after a refused
--- save: each is shown at its field and listed at the top with a link to it.
function M.questions_page(req, c, q, problems)
  local errs, summary = {}, {}
  for path, message in pairs(problems or {}) do
    local id, order = problem_field(path)
    errs[id] = message
    local s = q.sections and q.sections[order[1]]
    local where = order[2] > 0 and (s and util.trim(s.title or "") ~= "" and ("Question %d in “%s”"):format(order[2], util.trim(s.title))
      or ("Question %d in section %d"):format(order[2], order[1]))
      or (order[1] > 0 and ("Section %d"):format(order[1]) or "The questions")
    summary[#summary + 1] = { href = "#" .. id, where = where, message = message, order = order }
  end
  table.sort(summary, function(a, b)
    for i = 1, 3 do if a.order[i] ~= b.order[i] then return a.order[i] < b.order[i] end end
    return a.href < b.href
  end)
  return page.render(req, "cycle_questions", { title = "Questions of " .. c.name, cycle = c, q = q, errs = errs,
    summary = summary, types = questionnaire.TYPES, audiences = questionnaire.AUDIENCES,
    locked = cycles.running(c) or c.phase == "closed" }, { nav = "cycles" })
end

function M.reviewees_page(req, c)
  cycles.require_perm(req.user, "review_cycles.track", c)
  local q = web.query(req)
  local view = q.view == "org" and "org" or "list"
  local chosen, count = cycles.reviewee_set(c.id)
  -- people ticked but not added yet travel in the address (?picked=4,8,15) from one view to the
  -- other, so switching between the org chart and the list keeps the selection
  local picked, picked_ids = {}, {}
  for id in (q.picked or ""):gmatch("%d+") do
    id = math.tointeger(tonumber(id))
    if id and not chosen[id] and not picked[id] and #picked_ids < 10000 then
      picked[id] = true
      picked_ids[#picked_ids + 1] = id
    end
  end
  local data = { title = "Reviewees of " .. c.name, cycle = c, view = view, chosen = chosen,
    count = count, q = q,
    can_add = cycles.can(req.user, "reviews.create", c) and c.phase ~= "closed",
    picked = picked, picked_list = table.concat(picked_ids, ","),
    picked_people = directory.employees_among(picked_ids) }
  if view == "list" then
    local sort = q.sort == "hire_date" and "hire_date" or "name"
    data.res = directory.search(req.user, { q = q.q, department = q.department, location = q.location,
      manager_id = math.tointeger(tonumber(q.manager_id or "")), sort = sort, order = q.order,
      page = q.page, per_page = 50, kind = "employee", status = "" })
    data.sort = sort
    data.facets = directory.facets()
    data.managers = directory.managers()
  else
    data.roots = directory.org_tree()
    -- the team just added stays open, with the way down to it
    data.open = {}
    local open_id = math.tointeger(tonumber(q.open or ""))
    if open_id then
      data.open[open_id] = true
      for _, id in ipairs(authz.chain(open_id)) do data.open[id] = true end
    end
    -- and the way down to everyone ticked, so they are seen ticked
    for _, pid in ipairs(picked_ids) do
      for _, id in ipairs(authz.chain(pid)) do data.open[id] = true end
    end
  end
  return page.render(req, "cycle_reviewees", data, { nav = "cycles", wide = view == "org" })
end

local STATUS_LABELS = {
  self = { not_started = "Not started", draft = "Writing", submitted = "Submitted", skipped = "—" },
  manager = { not_started = "Not started", draft = "Writing", submitted = "Ready", shared = "Shared" },
}

function M.overview_page(req, id)
  local q = overview_query(req)
  local ov = cycles.overview(req.user, id, q)
  local c = ov.cycle
  local dist = reviews.rating_distribution(req.user, c, web.query(req).question)
  local chart
  if dist and dist.total > 0 then
    local bars = {}
    for i, n in ipairs(dist.counts) do
      bars[i] = { label = dist.question.labels[i], short = tostring(i), value = n,
        note = ("%d%%"):format(math.floor(100 * n / dist.total + 0.5)) }
    end
    chart = svg.bars(bars, { id = "ratings", title = "Distribution of “" .. dist.question.text .. "”" })
  end
  local can_read_any = access.can(req.user, "reviews.read") or cycles.cycle_role(req.user.id, c.id) == "admin"
  local kept = page.kept(req, "/cycles/" .. c.id .. "/start") -- why the cycle could not start, with links to fix it
  local problems = kept and kept.errors or {}
  local problem_keys = {}
  for k in pairs(problems) do problem_keys[#problem_keys + 1] = k end
  table.sort(problem_keys)
  return page.render(req, "cycle_overview", { title = c.name, ov = ov, cycle = c, q = q, labels = STATUS_LABELS,
    problems = problems, problem_keys = problem_keys,
    dist = dist, chart = chart, can_read_any = can_read_any,
    can_manage = cycles.can(req.user, "review_cycles.manage", c), can_delete = cycles.can(req.user, "review_cycles.delete", c),
    can_export = cycles.can(req.user, "reviews.export_excel", c),
    phases = workflows.phases(c), transitions = workflows.available_transitions(c, req.user),
    admins = cycles.admins(c.id) }, { nav = "cycles", wide = true })
end

--- Review statistics to Excel: statuses and dates per reviewee (no answers: HR Assistants may
--- export too), plus a summary sheet.
function M.export_xlsx(req, id)
  local c = cycles.require(id)
  cycles.require_perm(req.user, "reviews.export_excel", c)
  local ov = cycles.overview(req.user, id, { per_page = 500 })
  local all = ov.rows -- every page, for the file
  for n = 2, ov.pages do
    for _, x in ipairs(cycles.overview(req.user, id, { per_page = 500, page = n }).rows) do all[#all + 1] = x end
  end
  local rows = {}
  for _, x in ipairs(ov.rows) do
    rows[#rows + 1] = { x.name, x.email, x.department, x.location, x.manager_name or "",
      STATUS_LABELS.self[x.self_status], STATUS_LABELS.manager[x.manager_status],
      x.self_submitted_at, x.shared_at, x.reviewee_signed_at, x.manager_signed_at,   -- nil: an empty cell
      x.closed_at and "yes" or "no" }
  end
  local t = ov.totals
  local function pct(n) return t.total > 0 and n / t.total or 0 end
  local bytes, err = xlsx.write_string{ title = c.name .. " — review statistics", author = "Candor", created = clock.now(),
    sheets = {
      { name = "Reviewees", freeze_header = true, autofilter = true,
        columns = { { header = "Reviewee", width = 24 }, { header = "Email", width = 30 }, { header = "Department", width = 16 },
          { header = "Location", width = 14 }, { header = "Manager", width = 22 }, { header = "Self-assessment", width = 16 },
          { header = "Manager review", width = 16 }, { header = "Self submitted", width = 14, type = "date" },
          { header = "Shared", width = 12, type = "date" }, { header = "Reviewee signed", width = 14, type = "date" },
          { header = "Manager signed", width = 14, type = "date" }, { header = "Done", width = 8 } },
        rows = rows },
      { name = "Summary", columns = { { header = "Measure", width = 30 }, { header = "Count", width = 10, type = "number" },
          { header = "Share", width = 10, type = "percent" } },
        rows = { { "Reviewees", t.total, 1 }, { "Self-assessments submitted", t.self_done, pct(t.self_done) },
          { "Manager reviews shared", t.shared, pct(t.shared) }, { "Signed by both", t.done, pct(t.done) } } },
    } }
  if not bytes then errors.raise(500, "export_failed", "The spreadsheet could not be made: " .. err.message) end
  db.transaction(function()
    audit.record{ action = "export.review_statistics", actor = req.user, req = req, target_type = "cycle",
      target_id = c.id, target_label = c.name, details = { rows = #rows } }
  end)
  return web.file(bytes, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    (c.name:gsub("[%c/\\:*?\"<>|]", ""):gsub("%s+", "-")) .. "-statistics.xlsx")
end

return M
