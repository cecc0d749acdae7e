-- 360 cycles for HR: list, create/edit (rules, visibility and anonymity), questions, reviewees
-- (org chart or list, managers only), cycle admins, start/close, the overview with counts per
-- reviewee, reminders with a preview, Excel statistics. The JSON API and the pages.
local page = require "lib.page"
local json = require "lib.json"
local util = require "lib.util"
local dates = require "lib.dates"
local events = require "lib.events"
local workflows = require "services.workflows"
local cycles = require "services.feedback_cycles"
local nominations = require "services.nominations"
local cycle_routes = require "routes.cycle_routes"

local M = {}

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
    group_labels = nominations.GROUP_LABELS, threshold_min = cycles.THRESHOLD_MIN },
    { nav = "feedback_cycles" })
end

-- The Excel statistics: per reviewee the reviewers nominated, approved, written and declined, and
-- the dates; a summary. No feedback text: HR Assistants export too.
local EXPORT_COLUMNS = { { header = "Reviewee", width = 24 }, { header = "Email", width = 30 },
  { header = "Department", width = 16 }, { header = "Location", width = 14 }, { header = "Manager", width = 22 },
  { header = "Reviewers nominated", width = 12, type = "number" }, { header = "Approved", width = 10, type = "number" },
  { header = "Written", width = 10, type = "number" }, { header = "Declined", width = 10, type = "number" },
  { header = "Nominations handed in", width = 14, type = "date" }, { header = "Approved on", width = 12, type = "date" },
  { header = "Released early", width = 12, type = "date" } }

local function export_row(x)
  return { x.name, x.email, x.department, x.location, x.manager_name or "", x.nominated, x.approved, x.written,
    x.declined, x.nominations_done_at, x.approved_at, x.released_at }
end

local function export_summary(t)
  local function pct(n, d) return d > 0 and n / d or 0 end
  return { { "Reviewees", t.reviewees, 1 }, { "Reviewers approved", t.reviewees_approved, pct(t.reviewees_approved, t.reviewees) },
    { "Feedback requests approved", t.approved, 1 }, { "Feedback shared", t.written, pct(t.written, t.approved) },
    { "Requests declined", t.declined, pct(t.declined, t.requests) } }
end

function M.routes(r)
  cycle_routes.add(r, { service = cycles, api = "/api/feedback/cycles", pages = "/feedback/cycles", title = "360 cycles",
    nav = "feedback_cycles", json = cycle_json, profile = "feedback",
    perms = { manage = "feedback_cycles.manage", track = "feedback_cycles.track", read = "feedback.read",
      create = "feedback.create" },
    form = { page = form_page, input = cycle_input, values = form_values,
      defaults = function()
        local today = util.parse_date(dates.today())
        local function d(n) return util.format_date((today + n) * 86400) end
        return form_values(cycles.decode({ name = "", start_date = d(0), nominate_due = d(7), approve_due = d(10),
          write_due = d(24), release_date = d(31) }))
      end },
    reviewees = { managers_filter = true,
      no_manager = "No manager approves their reviewers: HR Admins do",
      later = "You can also start the cycle first and add reviewees later.",
      remove_confirm = "Remove the checked people from this cycle? Those with feedback written about them can only be "
        .. "removed by HR Admins." },
    reminders = { preview = cycles.reminder_preview, send = cycles.send_reminders, ids = "subject_ids",
      default = "not_nominated" },
    export = { perm = "feedback.export_excel", what = "360 statistics", file = "360-statistics",
      audit = "export.feedback_statistics", target_type = "feedback_cycle", columns = EXPORT_COLUMNS, row = export_row,
      summary = export_summary },
    list = { template = "feedback_cycles_list", refused = "360 cycles are run by HR." },
    overview = function(req, id) return M.overview_page(req, id) end,
    menu = { icon = "⟳", order = 31 },
    reviewee_json = function(x)
      return { subject_id = x.id, reviewee_id = x.reviewee_id, name = x.name, email = x.email,
        department = x.department, location = x.location, manager_id = x.manager_id or json.null,
        manager_name = x.manager_name or json.null, nominated = x.nominated, approved = x.approved,
        written = x.written, declined = x.declined, proposed = x.proposed,
        nominations_done = x.nominations_done_at ~= nil, approved_at = x.approved_at or json.null }
    end,
    messages = { created = "Cycle created. Choose the reviewees now, or later.",
      started = "The cycle has started. Reviewees are asked to choose their reviewers.",
      deleted = " was deleted with all its feedback." } })

  -- the administration overview's tiles of 360 feedback
  local ON_A_CYCLE = "Open a 360 cycle"
  events.hook("admin.tiles", function(e)
    for action, tile in pairs({
      ["feedback_cycles.manage"] = { "/feedback/cycles" },
      ["feedback_cycles.track"] = { "/feedback/cycles", ON_A_CYCLE },
      ["feedback_cycles.delete"] = { "/feedback/cycles", "Open a 360 cycle, then More" },
      ["feedback.create"] = { "/feedback/cycles", "Open a 360 cycle, then Reviewees" },
      ["feedback.delete"] = { "/feedback/cycles", "Open a 360 cycle, then Reviewees or a reviewee's 360" },
      ["feedback.delete_unstarted"] = { "/feedback/cycles", "Open a 360 cycle, then Reviewees" },
      ["feedback.read"] = { "/feedback/cycles", "Open a 360 cycle, then a reviewee" },
      ["feedback.export_pdf"] = { "/feedback/cycles", "Open a reviewee's 360, then PDF" },
      ["feedback.export_excel"] = { "/feedback/cycles", "Open a 360 cycle, then More" },
    }) do e.links[action] = { href = tile[1], hint = tile[2] } end
  end)
end

-- ------------------------------------------------------------------ helpers

M.STATUS_FILTERS = { { "not_nominated", "No reviewers chosen" }, { "not_approved", "Waiting for approval" },
  { "waiting", "Feedback missing" }, { "declined", "Someone declined" }, { "done", "All feedback in" } }

function M.overview_page(req, id)
  local ov = cycles.overview(req.user, id, cycle_routes.overview_query(req))
  local c = ov.cycle
  return page.render(req, "feedback_cycle_overview", { title = c.name, ov = ov, cycle = c, q = cycle_routes.overview_query(req),
    status_filters = M.STATUS_FILTERS, audiences = cycles.REMINDER_AUDIENCES,
    can_manage = cycles.can(req.user, "feedback_cycles.manage", c),
    can_delete = cycles.can(req.user, "feedback_cycles.delete", c),
    can_export = cycles.can(req.user, "feedback.export_excel", c),
    phases = workflows.phases(c), transitions = workflows.available_transitions(c, req.user), admins = cycles.admins(c.id) },
    { nav = "feedback_cycles", wide = true })
end

return M
