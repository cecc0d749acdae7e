-- What HR sees first on the home page (running cycles with their progress, what needs HR's
-- attention, a getting-started list while the company is new) and a person's review history on
-- their profile, limited to what the viewer may see. Each costs a fixed number of queries,
-- however many people and cycles there are.
local db = require "lib.db"
local events = require "lib.events"
local json = require "lib.json"
local util = require "lib.util"
local clock = require "core.clock"
local access = require "services.access"
local cycles = require "services.cycles"
local reviews = require "services.reviews"
local delivery = require "services.delivery"

local M = {}

local function is_hr(user)
  return user.kind ~= "guest" and access.can(user, "review_cycles.track")
end

local function has_role(user)
  return user.kind ~= "guest" and user.roles and #user.roles > 0
end

--- Running cycles with their progress: { { id, name, total, self_done, shared, done, self_due,
--- manager_due, self_assessment } }, newest first. One query.
function M.running_cycles()
  local rows = db.query([[SELECT c.id, c.name, c.self_due, c.manager_due, c.sign_due, c.self_assessment,
      count(r.id) AS total, coalesce(sum(r.self_status = 'submitted'), 0) AS self_done,
      coalesce(sum(r.manager_status = 'shared'), 0) AS shared, coalesce(sum(r.closed_at IS NOT NULL), 0) AS done
    FROM cycles c LEFT JOIN reviews r ON r.cycle_id = c.id
    WHERE c.phase NOT IN ('draft', 'closed') GROUP BY c.id ORDER BY c.start_date DESC, c.id DESC]])
  for _, c in ipairs(rows) do c.self_assessment = c.self_assessment == 1 end
  return rows
end

local function running_panel()
  local items = {}
  for _, c in ipairs(M.running_cycles()) do
    local parts = {}
    if c.self_assessment then parts[#parts + 1] = ("%d of %d self-assessments"):format(c.self_done, c.total) end
    parts[#parts + 1] = ("%d shared"):format(c.shared)
    parts[#parts + 1] = ("%d signed by both"):format(c.done)
    items[#items + 1] = { label = c.name, href = "/cycles/" .. c.id, note = table.concat(parts, " · "),
      progress = { n = c.done, total = c.total, label = "Signed by both" } }
  end
  return { title = "Running review cycles", items = items, order = 10,
    empty = "No review cycle is running.", action = { label = "Review cycles", href = "/cycles" } }
end

--- What needs HR's attention: late self-assessments and manager reviews per running cycle,
--- reviews nobody is set to write, addresses whose mail bounced. A list of { label, href, note }.
--- Three queries.
function M.attention(user)
  local today = util.format_date(clock.now())
  local items = {}
  local rows = db.query([[SELECT c.id, c.name,
      coalesce(sum(c.self_assessment = 1 AND c.self_due < ? AND r.self_status IN ('not_started', 'draft')), 0) AS self_late,
      coalesce(sum(c.manager_due < ? AND r.manager_status <> 'shared' AND r.closed_at IS NULL), 0) AS manager_late,
      coalesce(sum(r.manager_id IS NULL AND r.closed_at IS NULL), 0) AS no_writer
    FROM cycles c JOIN reviews r ON r.cycle_id = c.id
    WHERE c.phase NOT IN ('draft', 'closed') GROUP BY c.id ORDER BY c.start_date DESC, c.id DESC]], today, today)
  for _, c in ipairs(rows) do
    local base = "/cycles/" .. c.id
    if c.manager_late > 0 then
      items[#items + 1] = { label = ("%s late in %s"):format(util.plural(c.manager_late, "manager review"), c.name),
        href = base .. "?status=manager_late", note = "Past the due date and not shared", badge = "Late",
        badge_class = "badge-bad" }
    end
    if c.self_late > 0 then
      items[#items + 1] = { label = ("%s late in %s"):format(util.plural(c.self_late, "self-assessment"), c.name),
        href = base .. "?status=self_late", note = "Past the due date and not submitted", badge = "Late",
        badge_class = "badge-warn" }
    end
    if c.no_writer > 0 then
      items[#items + 1] = { label = ("%s in %s nobody is set to write"):format(util.plural(c.no_writer, "review"), c.name),
        href = base .. "?status=no_writer", note = "Choose who writes each one on its page", badge = "No writer",
        badge_class = "badge-bad" }
    end
  end
  -- drafts about to start with reviewees who have no manager (their review would have no writer)
  for _, c in ipairs(db.query([[SELECT c.id, c.name, count(*) AS n FROM cycles c JOIN reviews r ON r.cycle_id = c.id
      JOIN users u ON u.id = r.reviewee_id WHERE c.phase = 'draft' AND u.manager_id IS NULL AND r.manager_id IS NULL
      GROUP BY c.id ORDER BY c.id]])) do
    items[#items + 1] = { label = ("%s in %s %s no manager"):format(util.plural(c.n, "reviewee"), c.name,
      c.n == 1 and "has" or "have"), href = "/cycles/" .. c.id .. "/reviewees",
      note = "Nobody would write their review: choose who does, give them a manager, or take them out; the cycle cannot start before",
      badge = "Before the start", badge_class = "badge-warn" }
  end
  local bounced = db.value("SELECT count(DISTINCT email) FROM mail_bounces WHERE fixed_at IS NULL")
  if bounced > 0 then
    local can = access.can(user, "admin.bounces")
    items[#items + 1] = { label = ("Mail to %s bounced"):format(util.plural(bounced, "address", "addresses")),
      href = can and "/admin/bounces" or nil,
      note = can and "Their invitations and reminders are held until the address is fixed"
        or "Their invitations and reminders are held; a Tech Admin fixes the addresses under Administration › Bounces",
      badge = "Mail", badge_class = "badge-bad" }
  end
  return items
end

local function attention_panel(user)
  return { title = "Needs your attention", items = M.attention(user), order = 11,
    empty = "Nothing needs you right now: no late reviews, no bounced mail." }
end

--- The first steps of a new company: { { label, done, href, note } }; nil once all are done.
--- Four queries.
function M.getting_started(user)
  local employees = db.value("SELECT count(*) FROM users WHERE kind = 'employee' AND status <> 'deactivated'")
  local role_holders = db.value("SELECT count(DISTINCT user_id) FROM user_roles")
  local mail = delivery.configured()
  local any_cycle = db.value("SELECT count(*) FROM cycles") > 0
  local function link(perm, href, other) if access.can(user, perm) then return href, nil end return nil, other end
  local steps = {}
  local href, note = link("users.import", "/people/import", "An HR Admin or a Tech Admin imports them")
  steps[#steps + 1] = { label = "Import your people", done = employees > 1, href = href or "/people", note = note
    or "From a CSV export of your HR system, with their managers" }
  href, note = link("roles.grant_hr_assistant", "/people", "An HR Admin gives the roles")
  steps[#steps + 1] = { label = "Give HR and IT colleagues their roles", done = role_holders > 1, href = href,
    note = note or "Open a person, then Actions › Roles" }
  href, note = link("admin.integrations", "/admin/mail-server", "A Tech Admin sets it under Administration › Mail server")
  steps[#steps + 1] = { label = "Set up the mail server", done = mail, href = href,
    note = note or "Until then invitations and reminders wait in the outbox" }
  href, note = link("review_cycles.manage", "/cycles/new", "An HR Admin or HR Assistant creates it")
  steps[#steps + 1] = { label = "Create your first review cycle", done = any_cycle, href = href, note = note }
  for _, s in ipairs(steps) do if not s.done then return steps end end
  return nil
end

local function getting_started_panel(user)
  local steps = M.getting_started(user)
  if not steps then return nil end
  local done = 0
  for _, s in ipairs(steps) do if s.done then done = done + 1 end end
  return { title = "Getting started", checklist = true, items = steps, order = 5,
    note = ("%d of %d done"):format(done, #steps) }
end

-- ------------------------------------------------------------------ a person's reviews

local STATUS = {
  { test = function(r) return r.closed_at ~= nil end, label = "Signed by both", class = "badge-ok" },
  { test = function(r) return r.manager_status == "shared" end, label = "Shared", class = "badge-brand" },
  { test = function(r) return r.phase == "closed" end, label = "Closed", class = "badge-muted" },
  { test = function() return true end, label = "In progress", class = "badge-warn" },
}

--- The reviews of person (as reviewee) that viewer may open, newest cycle first, each
--- { id, cycle_name, start_date, status, status_class, content = bool (viewer may read some of it) }.
--- The same people may open a review here as on its page: the reviewee, the reviewing manager,
--- whoever may read a part (the evaluator, with the cycle's visibility settings), and those who
--- track the cycle (statuses only). Two queries.
function M.review_history(viewer, person_id)
  local rows = db.query([[SELECT r.id, r.cycle_id, r.reviewee_id, r.manager_id, r.manager_chain, r.self_status, r.manager_status,
      r.manager_signed_at, r.closed_at, c.name AS cycle_name, c.phase, c.start_date, c.visibility, c.self_assessment
    FROM reviews r JOIN cycles c ON c.id = r.cycle_id
    WHERE r.reviewee_id = ? AND c.phase <> 'draft' ORDER BY c.start_date DESC, r.id DESC]], person_id)
  if #rows == 0 then return {} end
  local ids = {}
  for i, r in ipairs(rows) do ids[i] = r.cycle_id end
  local roles = {}
  for _, a in ipairs(db.query([[SELECT cycle_id, role FROM cycle_admins WHERE user_id = ?
      AND cycle_id IN (SELECT value FROM json_each(?))]], viewer.id, json.encode(ids))) do
    roles[a.cycle_id] = a.role
  end
  local out = {}
  for _, r in ipairs(rows) do
    local vis = json.decode(r.visibility) or {}
    for k, v in pairs(cycles.VISIBILITY_DEFAULT) do if vis[k] == nil then vis[k] = v end end
    local c = { id = r.cycle_id, visibility = vis, self_assessment = r.self_assessment == 1 }
    local role = roles[r.cycle_id]
    local read_self = c.self_assessment and reviews.can_read(viewer, r, c, "self", role or false)
    local read_manager = reviews.can_read(viewer, r, c, "manager", role or false)
    local track = access.can(viewer, "review_cycles.track", role and { cycle_role = role } or nil)
    if viewer.id == r.reviewee_id or viewer.id == r.manager_id or read_self or read_manager or track then
      local st
      for _, s in ipairs(STATUS) do if s.test(r) then st = s break end end
      out[#out + 1] = { id = r.id, cycle_name = r.cycle_name, start_date = r.start_date, status = st.label,
        status_class = st.class, content = (read_self or read_manager) and true or false }
    end
  end
  return out
end

function M.init()
  events.hook("home.panels", function(e)
    local user, panels = e.user, e.panels
    if has_role(user) then panels[#panels + 1] = getting_started_panel(user) end
    if is_hr(user) then
      panels[#panels + 1] = running_panel()
      panels[#panels + 1] = attention_panel(user)
    end
  end)
end

return M
