-- Review cycles for HR: list, create/edit, questions, reviewees (org chart or list view), cycle
-- admins, start/close, the company overview with progress and the rating distribution,
-- reminders with a preview, exports.
local web = require "lib.web"
local page = require "lib.page"
local json = require "lib.json"
local util = require "lib.util"
local dates = require "lib.dates"
local svg = require "lib.svg"
local cycles = require "services.cycles"
local reviews = require "services.reviews"
local cycle_routes = require "routes.cycle_routes"
local access = require "services.access"
local workflows = require "services.workflows"

local M = {}


local function cycle_json(c)
  return { id = c.id, name = c.name, phase = c.phase, start_date = c.start_date, self_due = c.self_due or json.null,
    manager_due = c.manager_due or json.null, sign_due = c.sign_due or json.null, self_assessment = c.self_assessment,
    visibility = c.visibility, questionnaire = c.questionnaire, workflow = c.workflow,
    workflow_version_id = c.workflow_version_id or json.null, started_at = c.started_at or json.null,
    closed_at = c.closed_at or json.null, stats = c.stats }
end

-- A form post's fields -> the input cycles.create/update take (c: the cycle being edited).
local function cycle_input(f, c)
  return { name = f.name, start_date = f.start_date, self_due = f.self_due ~= "" and f.self_due or nil,
    manager_due = f.manager_due ~= "" and f.manager_due or nil, sign_due = f.sign_due ~= "" and f.sign_due or nil,
    self_assessment = (not (c and cycles.running(c)) and f.self_assessment == "on") or nil,
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

local STATUS_LABELS = {
  self = { not_started = "Not started", draft = "Writing", submitted = "Submitted", skipped = "—" },
  manager = { not_started = "Not started", draft = "Writing", submitted = "Ready", shared = "Shared" },
}

-- The Excel statistics: statuses and dates per reviewee (no answers), and a summary.
M.EXPORT_COLUMNS = { { header = "Reviewee", width = 24 }, { header = "Email", width = 30 },
  { header = "Department", width = 16 }, { header = "Location", width = 14 }, { header = "Manager", width = 22 },
  { header = "Self-assessment", width = 16 }, { header = "Manager review", width = 16 },
  { header = "Self submitted", width = 14, type = "date" }, { header = "Shared", width = 12, type = "date" },
  { header = "Reviewee signed", width = 14, type = "date" }, { header = "Manager signed", width = 14, type = "date" },
  { header = "Done", width = 8 } }

local function export_row(x)
  return { x.name, x.email, x.department, x.location, x.manager_name or "", STATUS_LABELS.self[x.self_status],
    STATUS_LABELS.manager[x.manager_status], x.self_submitted_at, x.shared_at, x.reviewee_signed_at,
    x.manager_signed_at, x.closed_at and "yes" or "no" } -- nil dates: empty cells
end

function M.routes(r)
  cycle_routes.add(r, { service = cycles, api = "/api/cycles", pages = "/cycles", title = "Review cycles", nav = "cycles",
    json = cycle_json, profile = "review",
    perms = { manage = "review_cycles.manage", track = "review_cycles.track", read = "reviews.read",
      create = "reviews.create" },
    form = { page = form_page, input = cycle_input,
      defaults = function()
        local today = util.parse_date(dates.today())
        local function d(n) return util.format_date((today + n) * 86400) end
        return { name = "", start_date = d(0), self_due = d(14), manager_due = d(28), sign_due = d(42),
          self_assessment = true, indirect_managers = true, reviewee_sees = "on_share" }
      end,
      values = function(c)
        local values = util.copy(c)
        values.indirect_managers = c.visibility.indirect_managers
        values.reviewee_sees = c.visibility.reviewee_sees
        return values
      end },
    reviewees = { no_manager = "Nobody would write their review: HR chooses who does",
      remove_confirm = "Remove the checked people from this cycle? Reviews with content can only be removed by HR Admins." },
    reminders = { preview = reviews.reminder_preview, send = reviews.send_reminders, ids = "review_ids",
      default = "self_late" },
    export = { perm = "reviews.export_excel", what = "review statistics", file = "statistics",
      audit = "export.review_statistics", target_type = "cycle", columns = M.EXPORT_COLUMNS, row = export_row,
      summary = function(t)
        local function pct(n) return t.total > 0 and n / t.total or 0 end
        return { { "Reviewees", t.total, 1 }, { "Self-assessments submitted", t.self_done, pct(t.self_done) },
          { "Manager reviews shared", t.shared, pct(t.shared) }, { "Signed by both", t.done, pct(t.done) } }
      end },
    list = { template = "cycles_list", refused = "Review cycles are run by HR." },
    overview = function(req, id) return M.overview_page(req, id) end,
    menu = { icon = "↻", order = 30 },
    reviewee_json = function(x)
      return { review_id = x.id, reviewee_id = x.reviewee_id, name = x.name, email = x.email, department = x.department,
        location = x.location, manager_id = x.manager_id or json.null, manager_name = x.manager_name or json.null,
        self_status = x.self_status, manager_status = x.manager_status,
        reviewee_signed = x.reviewee_signed_at ~= nil, manager_signed = x.manager_signed_at ~= nil, done = x.closed_at ~= nil }
    end,
    messages = { created = "Cycle created. Now choose who is reviewed.",
      started = "The cycle has started. Invitations are on their way.", deleted = " was deleted with all its reviews." } })

  r:add{ method = "GET", path = "/api/cycles/{id:int}/ratings", auth = "user", perm = "object",
    handler = function(req)
      local c = cycles.require(req.params.id)
      cycles.require_perm(req.user, "review_cycles.track", c)
      local d = reviews.rating_distribution(req.user, c, web.query(req).question)
      if not d then return web.json(200, { question = json.null, counts = json.array({}), total = 0 }) end
      return web.json(200, { question = d.question.id, counts = d.counts, total = d.total })
    end }
end

-- ------------------------------------------------------------------ helpers

function M.overview_page(req, id)
  local q = cycle_routes.overview_query(req)
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

return M
