-- The routes every kind of cycle has (a helper of route modules, not one itself): the JSON API
-- to create, read, change, copy, delete, start and move a cycle, set its reviewees and admins,
-- remind and export; and the pages for the same: the cycle's form, its questions, its
-- reviewees (org chart or list), its admins, start/close/copy/delete buttons, the reminder
-- preview, the list of cycles, the Excel statistics and the navigation entry. What differs per
-- kind comes in the spec; each kind keeps its own overview page and reviewee statuses.
local web = require "lib.web"
local page = require "lib.page"
local json = require "lib.json"
local util = require "lib.util"
local errors = require "lib.errors"
local events = require "lib.events"
local db = require "lib.db"
local clock = require "core.clock"
local xlsx = require "core.xlsx"
local access = require "services.access"
local audit = require "services.audit"
local directory = require "services.directory"
local picker = require "routes.reviewee_picker"
local editor = require "routes.questionnaire_editor"

local M = {}

local function id_of(req) return math.tointeger(tonumber(req.params.id)) end

--- The overview's filters, sorting and page from the query string.
function M.overview_query(req)
  local q = web.query(req)
  return { sort = q.sort, order = q.order, department = q.department, location = q.location,
    manager_id = math.tointeger(tonumber(q.manager_id or "")), status = q.status, q = q.q, page = q.page,
    per_page = q.per_page }
end

-- The statistics of cycle c as an Excel file (no answers: whoever may export_excel, HR Assistants
-- too). x: the spec's export = { perm, what ("review statistics"), file ("statistics"), audit
-- (the audit action), columns, row(x) -> cells, summary(totals) -> rows }.
local function export(req, svc, x, id)
  local c = svc.require(id)
  svc.require_perm(req.user, x.perm, c)
  local ov = svc.overview(req.user, id, { per_page = 500 })
  local all = ov.rows -- every page, for the file
  for n = 2, ov.pages do
    for _, r in ipairs(svc.overview(req.user, id, { per_page = 500, page = n }).rows) do all[#all + 1] = r end
  end
  local rows = util.map(all, x.row)
  local bytes, err = xlsx.write_string{ title = c.name .. " — " .. x.what, author = "Candor", created = clock.now(),
    sheets = {
      { name = "Reviewees", freeze_header = true, autofilter = true, columns = x.columns, rows = rows },
      { name = "Summary", columns = { { header = "Measure", width = 34 }, { header = "Count", width = 10, type = "number" },
          { header = "Share", width = 10, type = "percent" } }, rows = x.summary(ov.totals) },
    } }
  if not bytes then errors.raise(500, "export_failed", "The spreadsheet could not be made: " .. err.message) end
  db.transaction(function()
    audit.record{ action = x.audit, actor = req.user, req = req, target_type = x.target_type, target_id = c.id,
      target_label = c.name, details = { rows = #rows } }
  end)
  return web.file(bytes, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    (c.name:gsub("[%c/\\:*?\"<>|]", ""):gsub("%s+", "-")) .. "-" .. x.file .. ".xlsx")
end

--- Registers the routes of one kind of cycle on router r. spec:
---   service        the cycles service (require, create, update, delete, copy, start, transition,
---                  add_reviewees, remove_reviewees, set_admins, admins, can, require_perm, running)
---   api, pages     "/api/cycles", "/cycles": where they live
---   title, nav     "Review cycles" (breadcrumbs), the navigation entry
---   json(c)        a cycle as the API answers it
---   perms          { manage, track, read } (read: may make someone a cycle admin)
---   profile        the questionnaire profile ("review" | "feedback")
---   form           { page = fn(req, c, values), input = fn(form, c), defaults = fn(), values = fn(c) }
---   reviewees      { remove_confirm, later, managers_filter, no_manager } for the picker
---   reminders      { preview = fn(actor, id, audience, ids, note), send = fn(...), ids = "review_ids",
---                  default = "self_late" }
---   export         the statistics file: { perm, what, file, audit, target_type, columns, row(x),
---                  summary(totals) }
---   list           { template, refused }: the list page of cycles (and who may not see it)
---   overview(req, id) the cycle's page
---   reviewee_json(row) a row of the overview as GET <api>/{id}/reviewees answers it
---   menu           { icon, order }: the navigation entry (spec.title) for those who run cycles of the kind
---   messages       { created, started, deleted = " was deleted with ..." }
function M.add(r, spec)
  local svc = spec.service
  local function here(c, rest) return spec.pages .. "/" .. c.id .. (rest or "") end
  local function crumbs(c) return { { label = spec.title, href = spec.pages }, { label = c.name, href = here(c) } } end

  local function do_export(req, id) return export(req, svc, spec.export, id) end

  -- ---------------------------------------------------------------- API
  r:add{ method = "GET", path = spec.api, auth = "user", perm = "object",
    handler = function(req)
      return web.json(200, { cycles = json.array(util.map(svc.list(req.user), spec.json)) })
    end }
  r:add{ method = "POST", path = spec.api, auth = "user", perm = spec.perms.manage,
    handler = function(req)
      local c = svc.create(req.user, web.body(req), req)
      return web.json(201, spec.json(c), { Location = spec.api .. "/" .. c.id })
    end }
  r:add{ method = "GET", path = spec.api .. "/{id:int}", auth = "user", perm = "object",
    handler = function(req)
      local c = svc.require(id_of(req))
      svc.require_perm(req.user, spec.perms.track, c)
      return web.json(200, spec.json(c))
    end }
  r:add{ method = "PATCH", path = spec.api .. "/{id:int}", auth = "user", perm = "object",
    handler = function(req) return web.json(200, spec.json(svc.update(req.user, id_of(req), web.body(req), req))) end }
  r:add{ method = "DELETE", path = spec.api .. "/{id:int}", auth = "user", perm = "object",
    handler = function(req) svc.delete(req.user, id_of(req), req); return web.no_content() end }
  r:add{ method = "POST", path = spec.api .. "/{id:int}/copy", auth = "user", perm = "object",
    handler = function(req)
      local c = svc.copy(req.user, id_of(req), req)
      return web.json(201, spec.json(c), { Location = spec.api .. "/" .. c.id })
    end }
  r:add{ method = "POST", path = spec.api .. "/{id:int}/start", auth = "user", perm = "object",
    handler = function(req) return web.json(200, spec.json(svc.start(req.user, id_of(req), req))) end }
  r:add{ method = "POST", path = spec.api .. "/{id:int}/transitions", auth = "user", perm = "object",
    handler = function(req)
      local to = web.body(req).to
      if type(to) ~= "string" then errors.invalid({ to = "Name the phase to move to." }) end
      return web.json(200, spec.json(svc.transition(req.user, id_of(req), to, req)))
    end }
  r:add{ method = "GET", path = spec.api .. "/{id:int}/reviewees", auth = "user", perm = "object",
    handler = function(req)
      local oq = M.overview_query(req)
      oq.per_page = math.min(200, math.tointeger(tonumber(oq.per_page or "")) or 50)
      local ov = svc.overview(req.user, id_of(req), oq)
      return web.json(200, { reviewees = json.array(util.map(ov.rows, spec.reviewee_json)), totals = ov.totals,
        total = ov.matching, page = ov.page, per_page = ov.per_page, pages = ov.pages })
    end }
  r:add{ method = "POST", path = spec.api .. "/{id:int}/reviewees", auth = "user", perm = "object",
    handler = function(req)
      -- a kind whose reviewees need a writer also says who has none (services/cycles.lua)
      local n, lacking, missing = svc.add_reviewees(req.user, id_of(req), web.body(req).user_ids, req)
      local out = { added = n }
      if lacking then
        out.without_manager = json.array(util.map(lacking, function(x)
          return { id = x.id, name = x.name, review_id = x.review_id } end))
        if missing > 0 then out.warning = svc.writer_warning(lacking, missing) end
      end
      return web.json(200, out)
    end }
  r:add{ method = "DELETE", path = spec.api .. "/{id:int}/reviewees", auth = "user", perm = "object",
    handler = function(req)
      return web.json(200, { removed = svc.remove_reviewees(req.user, id_of(req), web.body(req).user_ids, req) })
    end }
  r:add{ method = "PUT", path = spec.api .. "/{id:int}/admins", auth = "user", perm = spec.perms.manage,
    handler = function(req)
      local list = svc.set_admins(req.user, id_of(req), web.body(req).admins, req)
      return web.json(200, { admins = json.array(util.map(list, function(e) return { user_id = e[1], role = e[2] } end)) })
    end }
  r:add{ method = "POST", path = spec.api .. "/{id:int}/reminders/preview", auth = "user", perm = "object",
    handler = function(req)
      local b = web.body(req)
      return web.json(200, spec.reminders.preview(req.user, id_of(req), b.audience, b[spec.reminders.ids], b.note))
    end }
  r:add{ method = "POST", path = spec.api .. "/{id:int}/reminders", auth = "user", perm = "object",
    handler = function(req)
      local b = web.body(req)
      return web.json(200, { queued = spec.reminders.send(req.user, id_of(req), b.audience, b[spec.reminders.ids], b.note,
        req) })
    end }
  r:add{ method = "GET", path = spec.api .. "/{id:int}/export.xlsx", auth = "user", perm = "object", tx = false,
    handler = function(req) return do_export(req, id_of(req)) end }

  -- ---------------------------------------------------------------- the list and the cycle's page
  r:add{ method = "GET", path = spec.pages, auth = "user", perm = "object",
    handler = function(req)
      local list = svc.list(req.user)
      local can_create = access.can(req.user, spec.perms.manage)
      if #list == 0 and not can_create then errors.forbidden(spec.list.refused) end
      return page.render(req, spec.list.template, { title = spec.title, cycles = list, can_create = can_create },
        { nav = spec.nav })
    end }

  r:add{ method = "GET", path = spec.pages .. "/{id:int}", auth = "user", perm = "object",
    handler = function(req) return spec.overview(req, id_of(req)) end }

  events.hook("page.nav", function(e)
    local u = e.user
    if u.kind ~= "guest" and (access.can(u, spec.perms.track) or access.can(u, spec.perms.manage)
        or svc.admin_anywhere(u.id)) then
      e.items[#e.items + 1] = { id = spec.nav, label = spec.title, href = spec.pages, icon = spec.menu.icon,
        order = spec.menu.order }
    end
  end)

  -- ---------------------------------------------------------------- the cycle's form
  r:add{ method = "GET", path = spec.pages .. "/new", auth = "user", perm = spec.perms.manage,
    handler = function(req) return spec.form.page(req, nil, spec.form.defaults()) end }

  r:add{ method = "POST", path = spec.pages .. "/new", auth = "user", perm = spec.perms.manage,
    handler = function(req)
      local f = web.form(req)
      local ok, c = page.form(req, { back = spec.pages .. "/new", values = f }, svc.create, req.user, spec.form.input(f), req)
      if not ok then return c end
      return page.redirect(here(c, "/reviewees"), "success", spec.messages.created)
    end }

  r:add{ method = "GET", path = spec.pages .. "/{id:int}/edit", auth = "user", perm = "object",
    handler = function(req)
      local c = svc.require(id_of(req))
      svc.require_perm(req.user, spec.perms.manage, c)
      if c.phase == "closed" then errors.conflict("This cycle is closed; copy it to run a new round.") end
      return spec.form.page(req, c, spec.form.values(c))
    end }

  r:add{ method = "POST", path = spec.pages .. "/{id:int}/edit", auth = "user", perm = "object",
    handler = function(req)
      local c = svc.require(id_of(req))
      local f = web.form(req)
      local ok, res = page.form(req, { back = here(c, "/edit"), values = f }, svc.update, req.user, c.id,
        spec.form.input(f, c), req)
      if not ok then return res end
      return page.redirect(here(c), "success", "Saved.")
    end }

  -- ---------------------------------------------------------------- questions
  local function questions_page(req, c, q, problems)
    return editor.page(req, { cycle = c, q = q, problems = problems, profile = spec.profile, nav = spec.nav,
      locked = svc.running(c) or c.phase == "closed", action = here(c, "/questions"), back = here(c),
      crumbs = crumbs(c) })
  end

  r:add{ method = "GET", path = spec.pages .. "/{id:int}/questions", auth = "user", perm = "object",
    handler = function(req)
      local c = svc.require(id_of(req))
      svc.require_perm(req.user, spec.perms.manage, c)
      local kept = page.kept(req)
      local q = kept and type(kept.extra) == "table" and type(kept.extra.q) == "table" and kept.extra.q or c.questionnaire
      return questions_page(req, c, q, kept and kept.errors)
    end }

  r:add{ method = "POST", path = spec.pages .. "/{id:int}/questions", auth = "user", perm = "object",
    handler = function(req)
      local c = svc.require(id_of(req))
      svc.require_perm(req.user, spec.perms.manage, c)
      local q, op, anchor = editor.from_form(web.form(req), spec.profile)
      local back = here(c, "/questions")
      if op ~= "save" then
        -- adding, moving, removing: the editor comes back with the questionnaire as it is now
        page.keep(req, back, { extra = { q = q } })
        return web.redirect(back .. (anchor and ("#" .. anchor) or ""))
      end
      local ok, res = page.form(req, { back = back, extra = { q = q }, lists_problems = true }, svc.update, req.user, c.id,
        { questionnaire = q }, req)
      if not ok then return res end
      return page.redirect(here(c), "success", "Questions saved.")
    end }

  -- ---------------------------------------------------------------- reviewees and admins
  r:add{ method = "GET", path = spec.pages .. "/{id:int}/reviewees", auth = "user", perm = "object",
    handler = function(req)
      local c = svc.require(id_of(req))
      svc.require_perm(req.user, spec.perms.track, c)
      return picker.page(req, { cycle = c, here = here(c, "/reviewees"), nav = spec.nav, crumbs = crumbs(c),
        chosen = svc.reviewee_set, done = here(c), can_add = svc.can(req.user, spec.perms.create, c)
          and c.phase ~= "closed", remove_confirm = spec.reviewees.remove_confirm, later = spec.reviewees.later,
        managers_filter = spec.reviewees.managers_filter, no_manager = spec.reviewees.no_manager })
    end }

  r:add{ method = "POST", path = spec.pages .. "/{id:int}/reviewees", auth = "user", perm = "object",
    handler = function(req)
      local c = svc.require(id_of(req))
      return picker.post(req, { cycle = c, here = here(c, "/reviewees"), add = svc.add_reviewees,
        remove = svc.remove_reviewees, warning = svc.writer_warning })
    end }

  r:add{ method = "GET", path = spec.pages .. "/{id:int}/admins", auth = "user", perm = spec.perms.manage,
    handler = function(req)
      local c = svc.require(id_of(req))
      return page.render(req, "cycle_admins", { title = "Admins of " .. c.name, cycle = c, admins = svc.admins(c.id),
        can_make_admin = access.can(req.user, spec.perms.read),
        base = here(c), crumbs = crumbs(c) }, { nav = spec.nav })
    end }

  r:add{ method = "POST", path = spec.pages .. "/{id:int}/admins", auth = "user", perm = spec.perms.manage,
    handler = function(req)
      local c = svc.require(id_of(req))
      local f = web.form(req)
      local list = {}
      for _, a in ipairs(svc.admins(c.id)) do
        if f["remove_" .. a.user_id] == nil then list[#list + 1] = { user_id = a.user_id, role = a.role } end
      end
      if f.user_id and f.user_id ~= "" then list[#list + 1] = { user_id = f.user_id, role = f.role } end
      local person = util.trim(f.person or "") -- typed: an email, or a name only one employee has
      local ok, res = page.form(req, here(c, "/admins"), function()
        if person ~= "" then
          local id, why = directory.resolve_employee(person)
          if not id then errors.invalid({ person = why }, why) end
          list[#list + 1] = { user_id = id, role = f.role }
        end
        return svc.set_admins(req.user, c.id, list, req)
      end)
      if not ok then return res end
      return page.redirect(here(c, "/admins"), "success", "Cycle admins saved.")
    end }

  -- ---------------------------------------------------------------- moving the cycle along
  r:add{ method = "POST", path = spec.pages .. "/{id:int}/start", auth = "user", perm = "object",
    handler = function(req)
      local c = svc.require(id_of(req))
      local ok, res = page.form(req, { back = here(c), form = here(c, "/start") }, svc.start, req.user, c.id, req)
      if not ok then return res end
      return page.redirect(here(c), "success", spec.messages.started)
    end }

  r:add{ method = "POST", path = spec.pages .. "/{id:int}/transition", auth = "user", perm = "object",
    handler = function(req)
      local c = svc.require(id_of(req))
      local ok, res = page.form(req, here(c), svc.transition, req.user, c.id, web.form(req).to, req)
      if not ok then return res end
      return page.redirect(here(c), "success", "The cycle moved to the next phase.")
    end }

  r:add{ method = "POST", path = spec.pages .. "/{id:int}/copy", auth = "user", perm = "object",
    handler = function(req)
      local c = svc.copy(req.user, id_of(req), req)
      return page.redirect(here(c, "/edit"), "success", "A copy was made. Check its name and dates.")
    end }

  r:add{ method = "POST", path = spec.pages .. "/{id:int}/delete", auth = "user", perm = "object",
    handler = function(req)
      local c = svc.require(id_of(req))
      local ok, res = page.form(req, here(c), svc.delete, req.user, c.id, req)
      if not ok then return res end
      return page.redirect(spec.pages, "success", c.name .. spec.messages.deleted)
    end }

  -- ---------------------------------------------------------------- reminders and export
  -- who to remind, from the overview's form or the preview's address
  local function reminder_args(f)
    local ids = f[spec.reminders.ids]
    if type(ids) == "string" then ids = { ids } end
    local selection = {}
    for _, x in ipairs(ids or {}) do selection[#selection + 1] = math.tointeger(tonumber(x)) end
    return f.audience or (#selection > 0 and "selection" or spec.reminders.default), selection, f.note
  end

  -- the exact mail, before anything is sent (a page of its own: reloading it sends nothing)
  r:add{ method = "GET", path = spec.pages .. "/{id:int}/reminders", auth = "user", perm = "object",
    handler = function(req)
      local c = svc.require(id_of(req))
      local audience, selection, note = reminder_args(web.query(req))
      local prev = spec.reminders.preview(req.user, c.id, audience, selection, note)
      return page.render(req, "cycle_reminders", { title = "Send reminders", cycle = c, audience = audience,
        selection = selection, selection_field = spec.reminders.ids .. "[]", note = note or "", preview = prev,
        action = here(c, "/reminders"), back = here(c), crumbs = crumbs(c) }, { nav = spec.nav })
    end }

  r:add{ method = "POST", path = spec.pages .. "/{id:int}/reminders", auth = "user", perm = "object",
    handler = function(req)
      local c = svc.require(id_of(req))
      local audience, selection, note = reminder_args(web.form(req))
      if web.form(req).confirm ~= "1" then
        return web.redirect(here(c, "/reminders") .. "?" .. util.build_query({ audience = audience,
          [spec.reminders.ids] = selection, note = note }))
      end
      local ok, n = page.form(req, here(c), spec.reminders.send, req.user, c.id, audience, selection, note, req)
      if not ok then return n end
      return page.redirect(here(c), "success", util.plural(n, "reminder") .. " queued.")
    end }

  r:add{ method = "GET", path = spec.pages .. "/{id:int}/export.xlsx", auth = "user", perm = "object", tx = false,
    handler = function(req) return do_export(req, id_of(req)) end }
end

return M
