-- 360 cycles for HR: list, create/edit (rules, visibility and anonymity), questions, reviewees
-- (org chart or list, managers only), cycle admins, start/close, the overview with counts per
-- reviewee, reminders with a preview, Excel statistics. The JSON API and the pages.
local web = require "lib.web"
local page = require "lib.page"
local json = require "lib.json"
local util = require "lib.util"
local errors = require "lib.errors"
local db = require "lib.db"
local clock = require "core.clock"
local access = require "services.access"
local audit = require "services.audit"
local cycles = require "services.feedback_cycles"
local editor = require "routes.questionnaire_editor"
local picker = require "routes.reviewee_picker"

local M = {}

local function id_of(req) return math.tointeger(tonumber(req.params.id)) end
local function wf() return require "services.workflows" end
local function base(c) return "/feedback/cycles/" .. c.id end

local DATE_KEYS = util.map(cycles.DATES, function(d) return d[1] end)

local function cycle_json(c)
  local out = { id = c.id, name = c.name, intro = c.intro, phase = c.phase, rules = c.rules, visibility = c.visibility,
    questionnaire = c.questionnaire, workflow = c.workflow, workflow_version_id = c.workflow_version_id or json.null,
    started_at = c.started_at or json.null, closed_at = c.closed_at or json.null, stats = c.stats }
  for _, k in ipairs(DATE_KEYS) do out[k] = c[k] or json.null end
  return out
end

-- A form post's fields -> the input feedback_cycles.create/update take.
local function cycle_input(f)
  local input = { name = f.name, intro = f.intro,
    rules = { nominator = f.nominator, min = f.min, max = f.max, suggested = f.suggested,
      self_feedback = f.self_feedback == "on", manager_feedback = f.manager_feedback == "on",
      decline_tells_reviewee = f.decline_tells_reviewee == "on" },
    visibility = { reviewee_reads = f.reviewee_reads == "on", direct_manager_reads = f.direct_manager_reads == "on",
      indirect_managers_read = f.indirect_managers_read == "on", manager_release = f.manager_release,
      manager_early_release = f.manager_early_release == "on", anonymous = f.anonymous == "on",
      hide_reviewers = f.hide_reviewers == "on", shuffle = f.shuffle == "on",
      threshold = { peer = f.threshold_peer, report = f.threshold_report, guest = f.threshold_guest } } }
  for _, k in ipairs(DATE_KEYS) do input[k] = f[k] end
  return input
end

-- The form's values from a cycle (or the defaults).
local function form_values(c)
  local v = { name = c.name, intro = c.intro }
  for _, k in ipairs(DATE_KEYS) do v[k] = c[k] end
  for k, x in pairs(c.rules) do v[k] = x end
  for k, x in pairs(c.visibility) do if k ~= "threshold" then v[k] = x end end
  for g, n in pairs(c.visibility.threshold) do v["threshold_" .. g] = n end
  return v
end

-- Typed values back into the form after a refusal (checkboxes as booleans).
local function typed_values(f)
  local v = util.copy(f)
  for _, k in ipairs({ "self_feedback", "manager_feedback", "decline_tells_reviewee", "reviewee_reads",
    "direct_manager_reads", "indirect_managers_read", "manager_early_release", "anonymous", "hide_reviewers", "shuffle" }) do
    v[k] = f[k] == "on"
  end
  return v
end

local function form_page(req, c, values)
  local kept = page.kept(req)
  if kept then values = typed_values(kept.values) end
  return page.render(req, "feedback_cycle_form", { title = c and ("Edit " .. c.name) or "New 360 cycle", cycle = c,
    values = values, errors = kept and kept.errors or {}, nominators = cycles.NOMINATORS,
    nominator_order = cycles.NOMINATOR_ORDER,
    manager_release = cycles.MANAGER_RELEASE, dates = cycles.DATES, groups = cycles.GROUPS,
    group_labels = require("services.nominations").GROUP_LABELS, threshold_min = cycles.THRESHOLD_MIN },
    { nav = "feedback_cycles" })
end

local function overview_query(req)
  local q = web.query(req)
  return { sort = q.sort, order = q.order, department = q.department, location = q.location,
    manager_id = math.tointeger(tonumber(q.manager_id or "")), status = q.status, q = q.q, page = q.page,
    per_page = q.per_page }
end

local function selection_of(f)
  local ids = f.subject_ids or f["subject_ids[]"]
  if type(ids) == "string" then ids = { ids } end
  local out = {}
  for _, x in ipairs(ids or {}) do out[#out + 1] = math.tointeger(tonumber(x)) end
  return out
end

function M.routes(r)
  -- ---------------------------------------------------------------- API
  r:add{ method = "GET", path = "/api/feedback/cycles", auth = "user", perm = "object",
    handler = function(req)
      return web.json(200, { cycles = json.array(util.map(cycles.list(req.user), cycle_json)) })
    end }
  r:add{ method = "POST", path = "/api/feedback/cycles", auth = "user", perm = "feedback_cycles.manage",
    handler = function(req)
      local c = cycles.create(req.user, web.body(req), req)
      return web.json(201, cycle_json(c), { Location = "/api/feedback/cycles/" .. c.id })
    end }
  r:add{ method = "GET", path = "/api/feedback/cycles/{id:int}", auth = "user", perm = "object",
    handler = function(req)
      local c = cycles.require(id_of(req))
      cycles.require_perm(req.user, "feedback_cycles.track", c)
      return web.json(200, cycle_json(c))
    end }
  r:add{ method = "PATCH", path = "/api/feedback/cycles/{id:int}", auth = "user", perm = "object",
    handler = function(req) return web.json(200, cycle_json(cycles.update(req.user, id_of(req), web.body(req), req))) end }
  r:add{ method = "DELETE", path = "/api/feedback/cycles/{id:int}", auth = "user", perm = "object",
    handler = function(req) cycles.delete(req.user, id_of(req), req); return web.no_content() end }
  r:add{ method = "POST", path = "/api/feedback/cycles/{id:int}/copy", auth = "user", perm = "object",
    handler = function(req)
      local c = cycles.copy(req.user, id_of(req), req)
      return web.json(201, cycle_json(c), { Location = "/api/feedback/cycles/" .. c.id })
    end }
  r:add{ method = "POST", path = "/api/feedback/cycles/{id:int}/start", auth = "user", perm = "object",
    handler = function(req) return web.json(200, cycle_json(cycles.start(req.user, id_of(req), req))) end }
  r:add{ method = "POST", path = "/api/feedback/cycles/{id:int}/transitions", auth = "user", perm = "object",
    handler = function(req)
      local to = web.body(req).to
      if type(to) ~= "string" then errors.invalid({ to = "Name the phase to move to." }) end
      return web.json(200, cycle_json(cycles.transition(req.user, id_of(req), to, req)))
    end }
  r:add{ method = "GET", path = "/api/feedback/cycles/{id:int}/reviewees", auth = "user", perm = "object",
    handler = function(req)
      local oq = overview_query(req)
      oq.per_page = math.min(200, math.tointeger(tonumber(oq.per_page or "")) or 50)
      local ov = cycles.overview(req.user, id_of(req), oq)
      local list = util.map(ov.rows, function(x)
        return { subject_id = x.id, reviewee_id = x.reviewee_id, name = x.name, email = x.email,
          department = x.department, location = x.location, manager_id = x.manager_id or json.null,
          manager_name = x.manager_name or json.null, nominated = x.nominated, approved = x.approved,
          written = x.written, declined = x.declined, proposed = x.proposed,
          nominations_done = x.nominations_done_at ~= nil, approved_at = x.approved_at or json.null }
      end)
      return web.json(200, { reviewees = json.array(list), totals = ov.totals, total = ov.matching, page = ov.page,
        per_page = ov.per_page, pages = ov.pages })
    end }
  r:add{ method = "POST", path = "/api/feedback/cycles/{id:int}/reviewees", auth = "user", perm = "object",
    handler = function(req)
      return web.json(200, { added = cycles.add_reviewees(req.user, id_of(req), web.body(req).user_ids, req) })
    end }
  r:add{ method = "DELETE", path = "/api/feedback/cycles/{id:int}/reviewees", auth = "user", perm = "object",
    handler = function(req)
      return web.json(200, { removed = cycles.remove_reviewees(req.user, id_of(req), web.body(req).user_ids, req) })
    end }
  r:add{ method = "PUT", path = "/api/feedback/cycles/{id:int}/admins", auth = "user", perm = "feedback_cycles.manage",
    handler = function(req)
      local list = cycles.set_admins(req.user, id_of(req), web.body(req).admins, req)
      return web.json(200, { admins = json.array(util.map(list, function(e) return { user_id = e[1], role = e[2] } end)) })
    end }
  r:add{ method = "POST", path = "/api/feedback/cycles/{id:int}/reminders/preview", auth = "user", perm = "object",
    handler = function(req)
      local b = web.body(req)
      return web.json(200, cycles.reminder_preview(req.user, id_of(req), b.audience, b.subject_ids, b.note))
    end }
  r:add{ method = "POST", path = "/api/feedback/cycles/{id:int}/reminders", auth = "user", perm = "object",
    handler = function(req)
      local b = web.body(req)
      return web.json(200, { queued = cycles.send_reminders(req.user, id_of(req), b.audience, b.subject_ids, b.note, req) })
    end }
  r:add{ method = "GET", path = "/api/feedback/cycles/{id:int}/export.xlsx", auth = "user", perm = "object", tx = false,
    handler = function(req) return M.export_xlsx(req, id_of(req)) end }

  -- ---------------------------------------------------------------- pages
  r:add{ method = "GET", path = "/feedback/cycles", auth = "user", perm = "object",
    handler = function(req)
      local list = cycles.list(req.user)
      local can_create = access.can(req.user, "feedback_cycles.manage")
      if #list == 0 and not can_create then errors.forbidden("360 cycles are run by HR.") end
      return page.render(req, "feedback_cycles_list", { title = "360 cycles", cycles = list, can_create = can_create },
        { nav = "feedback_cycles" })
    end }

  r:add{ method = "GET", path = "/feedback/cycles/new", auth = "user", perm = "feedback_cycles.manage",
    handler = function(req)
      local today = util.parse_date(util.format_date(clock.now()))
      local function d(n) return util.format_date((today + n) * 86400) end
      local defaults = cycles.decode({ name = "", start_date = d(0), nominate_due = d(7), approve_due = d(10),
        write_due = d(24), release_date = d(31) })
      return form_page(req, nil, form_values(defaults))
    end }

  r:add{ method = "POST", path = "/feedback/cycles/new", auth = "user", perm = "feedback_cycles.manage",
    handler = function(req)
      local f = web.form(req)
      local ok, c = page.form(req, { back = "/feedback/cycles/new", values = f }, cycles.create, req.user, cycle_input(f), req)
      if not ok then return c end
      return page.redirect(base(c) .. "/reviewees", "success", "Cycle created. Choose the reviewees now, or later.")
    end }

  r:add{ method = "GET", path = "/feedback/cycles/{id:int}/edit", auth = "user", perm = "object",
    handler = function(req)
      local c = cycles.require(id_of(req))
      cycles.require_perm(req.user, "feedback_cycles.manage", c)
      return form_page(req, c, form_values(c))
    end }

  r:add{ method = "POST", path = "/feedback/cycles/{id:int}/edit", auth = "user", perm = "object",
    handler = function(req)
      local c = cycles.require(id_of(req))
      local f = web.form(req)
      local ok, res = page.form(req, { back = base(c) .. "/edit", values = f }, cycles.update, req.user, c.id,
        cycle_input(f), req)
      if not ok then return res end
      return page.redirect(base(c), "success", "Saved.")
    end }

  r:add{ method = "GET", path = "/feedback/cycles/{id:int}/questions", auth = "user", perm = "object",
    handler = function(req)
      local c = cycles.require(id_of(req))
      cycles.require_perm(req.user, "feedback_cycles.manage", c)
      local kept = page.kept(req)
      local q = kept and type(kept.extra) == "table" and type(kept.extra.q) == "table" and kept.extra.q or c.questionnaire
      return M.questions_page(req, c, q, kept and kept.errors)
    end }

  r:add{ method = "POST", path = "/feedback/cycles/{id:int}/questions", auth = "user", perm = "object",
    handler = function(req)
      local c = cycles.require(id_of(req))
      cycles.require_perm(req.user, "feedback_cycles.manage", c)
      local q, op, anchor = editor.from_form(web.form(req), "feedback")
      local back = base(c) .. "/questions"
      if op ~= "save" then
        -- adding, moving, removing: the editor comes back with the questionnaire as it is now
        page.keep(req, back, { extra = { q = q } })
        return web.redirect(back .. (anchor and ("#" .. anchor) or ""))
      end
      local ok, res = page.form(req, { back = back, extra = { q = q }, lists_problems = true }, cycles.update, req.user,
        c.id, { questionnaire = q }, req)
      if not ok then return res end
      return page.redirect(base(c), "success", "Questions saved.")
    end }

  r:add{ method = "GET", path = "/feedback/cycles/{id:int}/reviewees", auth = "user", perm = "object",
    handler = function(req)
      local c = cycles.require(id_of(req))
      cycles.require_perm(req.user, "feedback_cycles.track", c)
      return picker.page(req, { cycle = c, here = base(c) .. "/reviewees", nav = "feedback_cycles",
        crumbs = { { label = "360 cycles", href = "/feedback/cycles" }, { label = c.name, href = base(c) } },
        chosen_sql = "SELECT reviewee_id FROM feedback_subjects WHERE cycle_id = ?", done = base(c),
        can_add = cycles.can(req.user, "feedback.create", c) and c.phase ~= "closed", managers_filter = true,
        later = "You can also start the cycle first and add reviewees later.",
        remove_confirm = "Remove the checked people from this cycle? Those with feedback written about them can only be "
          .. "removed by HR Admins." })
    end }

  r:add{ method = "POST", path = "/feedback/cycles/{id:int}/reviewees", auth = "user", perm = "object",
    handler = function(req)
      local c = cycles.require(id_of(req))
      return picker.post(req, { cycle = c, here = base(c) .. "/reviewees", add = cycles.add_reviewees,
        remove = cycles.remove_reviewees })
    end }

  r:add{ method = "GET", path = "/feedback/cycles/{id:int}/admins", auth = "user", perm = "feedback_cycles.manage",
    handler = function(req)
      local c = cycles.require(id_of(req))
      return page.render(req, "cycle_admins", { title = "Admins of " .. c.name, cycle = c, admins = cycles.admins(c.id),
        people = require("routes.people").manager_choices(), base = base(c),
        crumbs = { { label = "360 cycles", href = "/feedback/cycles" }, { label = c.name, href = base(c) } } },
        { nav = "feedback_cycles" })
    end }

  r:add{ method = "POST", path = "/feedback/cycles/{id:int}/admins", auth = "user", perm = "feedback_cycles.manage",
    handler = function(req)
      local c = cycles.require(id_of(req))
      local f = web.form(req)
      local list = {}
      for _, a in ipairs(cycles.admins(c.id)) do
        if f["remove_" .. a.user_id] == nil then list[#list + 1] = { user_id = a.user_id, role = a.role } end
      end
      if f.user_id and f.user_id ~= "" then list[#list + 1] = { user_id = f.user_id, role = f.role } end
      local ok, res = page.form(req, base(c) .. "/admins", cycles.set_admins, req.user, c.id, list, req)
      if not ok then return res end
      return page.redirect(base(c) .. "/admins", "success", "Cycle admins saved.")
    end }

  r:add{ method = "POST", path = "/feedback/cycles/{id:int}/start", auth = "user", perm = "object",
    handler = function(req)
      local c = cycles.require(id_of(req))
      local ok, res = page.form(req, base(c), cycles.start, req.user, c.id, req)
      if not ok then return res end
      return page.redirect(base(c), "success", "The cycle has started. Reviewees are asked to choose their reviewers.")
    end }

  r:add{ method = "POST", path = "/feedback/cycles/{id:int}/transition", auth = "user", perm = "object",
    handler = function(req)
      local c = cycles.require(id_of(req))
      local ok, res = page.form(req, base(c), cycles.transition, req.user, c.id, web.form(req).to, req)
      if not ok then return res end
      return page.redirect(base(c), "success", "The cycle moved to the next phase.")
    end }

  r:add{ method = "POST", path = "/feedback/cycles/{id:int}/copy", auth = "user", perm = "object",
    handler = function(req)
      local c = cycles.copy(req.user, id_of(req), req)
      return page.redirect(base(c) .. "/edit", "success", "A copy was made. Check its name and dates.")
    end }

  r:add{ method = "POST", path = "/feedback/cycles/{id:int}/delete", auth = "user", perm = "object",
    handler = function(req)
      local c = cycles.require(id_of(req))
      local ok, res = page.form(req, base(c), cycles.delete, req.user, c.id, req)
      if not ok then return res end
      return page.redirect("/feedback/cycles", "success", c.name .. " was deleted with all its feedback.")
    end }

  r:add{ method = "GET", path = "/feedback/cycles/{id:int}", auth = "user", perm = "object",
    handler = function(req) return M.overview_page(req, id_of(req)) end }

  local function reminder_args(f)
    local selection = selection_of(f)
    return f.audience or (#selection > 0 and "selection" or "not_nominated"), selection, f.note
  end

  -- the exact mail, before anything is sent (a page of its own: reloading it sends nothing)
  r:add{ method = "GET", path = "/feedback/cycles/{id:int}/reminders", auth = "user", perm = "object",
    handler = function(req)
      local c = cycles.require(id_of(req))
      local audience, selection, note = reminder_args(web.query(req))
      local prev = cycles.reminder_preview(req.user, c.id, audience, selection, note)
      return page.render(req, "cycle_reminders", { title = "Send reminders", cycle = c, audience = audience,
        selection = selection, selection_field = "subject_ids[]", note = note or "", preview = prev,
        action = base(c) .. "/reminders", back = base(c),
        crumbs = { { label = "360 cycles", href = "/feedback/cycles" }, { label = c.name, href = base(c) } } },
        { nav = "feedback_cycles" })
    end }

  r:add{ method = "POST", path = "/feedback/cycles/{id:int}/reminders", auth = "user", perm = "object",
    handler = function(req)
      local c = cycles.require(id_of(req))
      local audience, selection, note = reminder_args(web.form(req))
      if web.form(req).confirm ~= "1" then
        return web.redirect(base(c) .. "/reminders?" .. util.build_query({ audience = audience, subject_ids = selection,
          note = note }))
      end
      local ok, n = page.form(req, base(c), cycles.send_reminders, req.user, c.id, audience, selection, note, req)
      if not ok then return n end
      return page.redirect(base(c), "success", util.plural(n, "reminder") .. " queued.")
    end }

  r:add{ method = "GET", path = "/feedback/cycles/{id:int}/export.xlsx", auth = "user", perm = "object", tx = false,
    handler = function(req) return M.export_xlsx(req, id_of(req)) end }
end

-- ------------------------------------------------------------------ helpers

function M.questions_page(req, c, q, problems)
  return editor.page(req, { cycle = c, q = q, problems = problems, profile = "feedback", nav = "feedback_cycles",
    locked = cycles.running(c) or c.phase == "closed", action = base(c) .. "/questions", back = base(c),
    crumbs = { { label = "360 cycles", href = "/feedback/cycles" }, { label = c.name, href = base(c) } } })
end

M.STATUS_FILTERS = { { "not_nominated", "No reviewers chosen" }, { "not_approved", "Waiting for approval" },
  { "waiting", "Feedback missing" }, { "declined", "Someone declined" }, { "done", "All feedback in" } }

function M.overview_page(req, id)
  local ov = cycles.overview(req.user, id, overview_query(req))
  local c = ov.cycle
  return page.render(req, "feedback_cycle_overview", { title = c.name, ov = ov, cycle = c, q = overview_query(req),
    status_filters = M.STATUS_FILTERS, audiences = cycles.REMINDER_AUDIENCES,
    can_manage = cycles.can(req.user, "feedback_cycles.manage", c),
    can_delete = cycles.can(req.user, "feedback_cycles.delete", c),
    can_export = cycles.can(req.user, "feedback.export_excel", c),
    phases = wf().phases(c), transitions = wf().available_transitions(c, req.user), admins = cycles.admins(c.id) },
    { nav = "feedback_cycles", wide = true })
end

--- 360 statistics to Excel: per reviewee the reviewers nominated, approved, written and
--- declined, and the dates; a summary sheet. No feedback text: HR Assistants export too.
function M.export_xlsx(req, id)
  local c = cycles.require(id)
  cycles.require_perm(req.user, "feedback.export_excel", c)
  local ov = cycles.overview(req.user, id, { per_page = 500 })
  local all = ov.rows
  for n = 2, ov.pages do
    for _, x in ipairs(cycles.overview(req.user, id, { per_page = 500, page = n }).rows) do all[#all + 1] = x end
  end
  local rows = {}
  for _, x in ipairs(all) do
    rows[#rows + 1] = { x.name, x.email, x.department, x.location, x.manager_name or "", x.nominated, x.approved,
      x.written, x.declined, x.nominations_done_at, x.approved_at, x.released_at }
  end
  local t = ov.totals
  local function pct(n, d) return d > 0 and n / d or 0 end
  local bytes, err = require("core.xlsx").write_string{ title = c.name .. " — 360 statistics", author = "Candor",
    created = clock.now(), sheets = {
      { name = "Reviewees", freeze_header = true, autofilter = true,
        columns = { { header = "Reviewee", width = 24 }, { header = "Email", width = 30 },
          { header = "Department", width = 16 }, { header = "Location", width = 14 }, { header = "Manager", width = 22 },
          { header = "Reviewers nominated", width = 12, type = "number" },
          { header = "Approved", width = 10, type = "number" }, { header = "Written", width = 10, type = "number" },
          { header = "Declined", width = 10, type = "number" }, { header = "Nominations handed in", width = 14, type = "date" },
          { header = "Approved on", width = 12, type = "date" }, { header = "Released early", width = 12, type = "date" } },
        rows = rows },
      { name = "Summary", columns = { { header = "Measure", width = 34 }, { header = "Count", width = 10, type = "number" },
          { header = "Share", width = 10, type = "percent" } },
        rows = { { "Reviewees", t.reviewees, 1 }, { "Reviewers approved", t.reviewees_approved, pct(t.reviewees_approved, t.reviewees) },
          { "Feedback requests approved", t.approved, 1 }, { "Feedback shared", t.written, pct(t.written, t.approved) },
          { "Requests declined", t.declined, pct(t.declined, t.requests) } } },
    } }
  if not bytes then errors.raise(500, "export_failed", "The spreadsheet could not be made: " .. err.message) end
  db.transaction(function()
    audit.record{ action = "export.feedback_statistics", actor = req.user, req = req, target_type = "feedback_cycle",
      target_id = c.id, target_label = c.name, details = { rows = #rows } }
  end)
  return web.file(bytes, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    (c.name:gsub("[^%w%-_ ]", ""):gsub("%s+", "-")) .. "-360-statistics.xlsx")
end

return M
