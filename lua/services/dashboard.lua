-- The facts behind what HR sees first on the home page (running cycles with their progress, what
-- needs HR's attention, a getting-started list while the company is new) and a person's review
-- history on their profile, limited to what the viewer may see; the pages word and link them
-- (routes/home.lua, routes/people.lua). Each costs a fixed number of queries,
-- however many people and cycles there are.
local db = require "lib.db"
local json = require "lib.json"
local dates = require "lib.dates"
local access = require "services.access"
local cycles = require "services.cycles"
local reviews = require "services.reviews"
local delivery = require "services.delivery"
local settings = require "services.settings"

local M = {}

--- Running cycles with their progress: { { id, name, total, self_done, shared, done, self_due,
--- manager_due, self_assessment } }, newest first. One query, on the counts the database keeps per
--- cycle (review_counts, kept by triggers), so it costs the same for 10 or 10,000 reviews.
function M.running_cycles()
  local rows = db.query([[SELECT c.id, c.name, c.self_due, c.manager_due, c.sign_due, c.self_assessment,
      coalesce(sum(k.n), 0) AS total, coalesce(sum(k.n * (k.self_status = 'submitted')), 0) AS self_done,
      coalesce(sum(k.n * (k.manager_status = 'shared')), 0) AS shared, coalesce(sum(k.n * k.closed), 0) AS done
    FROM cycles c LEFT JOIN review_counts k ON k.cycle_id = c.id
    WHERE c.phase NOT IN ('draft', 'closed') GROUP BY c.id ORDER BY c.start_date DESC, c.id DESC]])
  for _, c in ipairs(rows) do c.self_assessment = c.self_assessment == 1 end
  return rows
end

--- What needs HR's attention, as facts for the home page: late manager reviews and
--- self-assessments and reviews nobody is set to write, per running cycle ({ kind = "manager_late" |
--- "self_late" | "no_writer", cycle_id, cycle_name, n }); drafts whose reviewees have no manager
--- ({ kind = "no_manager", cycle_id, cycle_name, n }); addresses whose mail bounced ({ kind =
--- "bounced", n, can_fix }). Three queries.
function M.attention(user)
  local today = dates.today()
  local items = {}
  local rows = db.query([[SELECT c.id, c.name,
      coalesce(sum(k.n * (c.self_assessment = 1 AND c.self_due < ? AND k.self_status IN ('not_started', 'draft'))), 0)
        AS self_late,
      coalesce(sum(k.n * (c.manager_due < ? AND k.manager_status <> 'shared' AND NOT k.closed)), 0) AS manager_late,
      coalesce(sum(k.n * (NOT k.has_writer AND NOT k.closed)), 0) AS no_writer
    FROM cycles c JOIN review_counts k ON k.cycle_id = c.id
    WHERE c.phase NOT IN ('draft', 'closed') GROUP BY c.id ORDER BY c.start_date DESC, c.id DESC]], today, today)
  for _, c in ipairs(rows) do
    for _, kind in ipairs({ "manager_late", "self_late", "no_writer" }) do
      if c[kind] > 0 then items[#items + 1] = { kind = kind, cycle_id = c.id, cycle_name = c.name, n = c[kind] } end
    end
  end
  -- drafts about to start with reviewees who have no manager (their review would have no writer)
  for _, c in ipairs(db.query([[SELECT c.id, c.name, count(*) AS n FROM cycles c JOIN reviews r ON r.cycle_id = c.id
      JOIN users u ON u.id = r.reviewee_id WHERE c.phase = 'draft' AND u.manager_id IS NULL AND r.manager_id IS NULL
      GROUP BY c.id ORDER BY c.id]])) do
    items[#items + 1] = { kind = "no_manager", cycle_id = c.id, cycle_name = c.name, n = c.n }
  end
  local bounced = db.value("SELECT count(DISTINCT email) FROM mail_bounces WHERE fixed_at IS NULL")
  if bounced > 0 then
    items[#items + 1] = { kind = "bounced", n = bounced, can_fix = access.can(user, "admin.bounces") }
  end
  return items
end

--- The first steps of a new company, in order: { { step = "name" | "import" | "roles" | "mail" |
--- "cycle", done = bool, allowed = (user may do it) } }; nil once all are done. Four queries.
function M.getting_started(user)
  -- whether there is more than one employee: stop counting at two
  local employees = db.value([[SELECT count(*) FROM (SELECT 1 FROM users WHERE kind = 'employee'
    AND status <> 'deactivated' LIMIT 2)]])
  local role_holders = db.value("SELECT count(DISTINCT user_id) FROM user_roles")
  local any_cycle = db.value("SELECT EXISTS (SELECT 1 FROM cycles)") == 1
  local named = settings.get("company.name") ~= settings.schema["company.name"].default
  local steps = {
    { step = "name", done = named, allowed = access.can(user, "admin.design") },
    { step = "import", done = employees > 1, allowed = access.can(user, "users.import") },
    { step = "roles", done = role_holders > 1, allowed = access.can(user, "roles.grant_hr_assistant") },
    { step = "mail", done = delivery.configured(), allowed = access.can(user, "admin.integrations") },
    { step = "cycle", done = any_cycle, allowed = access.can(user, "review_cycles.manage") },
  }
  for _, s in ipairs(steps) do if not s.done then return steps end end
  return nil
end

-- ------------------------------------------------------------------ a person's reviews

--- Where a review stands: "signed" (by both), "shared", "closed" (the cycle, unsigned) or
--- "in_progress".
function M.review_state(r)
  if r.closed_at then return "signed" end
  if r.manager_status == "shared" then return "shared" end
  if r.phase == "closed" then return "closed" end
  return "in_progress"
end

--- The reviews of person (as reviewee) that viewer may open, newest cycle first, each
--- { id, cycle_name, start_date, state (M.review_state), content = bool (viewer may read some of it) }.
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
      out[#out + 1] = { id = r.id, cycle_name = r.cycle_name, start_date = r.start_date, state = M.review_state(r),
        content = (read_self or read_manager) and true or false }
    end
  end
  return out
end

return M
