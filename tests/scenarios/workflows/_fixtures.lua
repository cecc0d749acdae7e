-- Helpers for the workflow scenarios: cycles and reviews made directly with SQL (the cycles
-- service is not needed to drive the engine), status changes, and mail summaries.
local db = require "lib.db"
local clock = require "core.clock"
local t = require "testing"

local F = {}

--- Inserts a draft cycle: opts name, start_date, self_due, manager_due, sign_due, self_assessment.
function F.cycle(opts)
  opts = opts or {}
  local now = clock.now()
  local id = db.insert([[INSERT INTO cycles(name, start_date, self_due, manager_due, sign_due, self_assessment,
      created_at, updated_at) VALUES(?,?,?,?,?,?,?,?)]],
    opts.name or "2026 H1 reviews", opts.start_date or "2026-01-05", opts.self_due, opts.manager_due, opts.sign_due,
    opts.self_assessment == false and 0 or 1, now, now)
  return db.row("SELECT * FROM cycles WHERE id = ?", id)
end

--- Adds reviewees (user rows); the manager is each person's manager. Returns key -> review row.
function F.reviews(cycle, people)
  local now = clock.now()
  local out = {}
  for key, p in pairs(people) do
    local id = db.insert([[INSERT INTO reviews(cycle_id, reviewee_id, manager_id, created_at, updated_at)
      VALUES(?,?,?,?,?)]], cycle.id, p.id, p.manager_id, now, now)
    out[key] = db.row("SELECT * FROM reviews WHERE id = ?", id)
  end
  return out
end

--- Makes a person admin or assistant of one cycle.
function F.cycle_admin(cycle, user, role)
  db.exec("INSERT INTO cycle_admins(cycle_id, user_id, role, added_at) VALUES(?,?,?,?)",
    cycle.id, user.id, role or "admin", clock.now())
end

--- Changes a review's statuses: F.set(review, { self_status = "submitted" }).
function F.set(review, fields)
  for k, v in pairs(fields) do
    assert(k:match("^[%w_]+$"))
    db.exec("UPDATE reviews SET " .. k .. " = ? WHERE id = ?", v, review.id)
  end
  return db.row("SELECT * FROM reviews WHERE id = ?", review.id)
end

function F.reload(cycle) return db.row("SELECT * FROM cycles WHERE id = ?", cycle.id) end

--- Mails of a template (since an outbox id), as a sorted list of "email" strings.
function F.to(template, since, cycle_id)
  local out = {}
  for _, m in ipairs(t.outbox({ template = template })) do
    if m.id > (since or 0) and (not cycle_id or m.related_id == cycle_id) then out[#out + 1] = m.to_email end
  end
  table.sort(out)
  return out
end

--- The highest outbox id so far (to look at what comes after).
function F.mark()
  return db.value("SELECT coalesce(max(id), 0) FROM outbox")
end

--- Sorted emails of user rows.
function F.emails(...)
  local out = {}
  for _, u in ipairs({ ... }) do out[#out + 1] = u.email end
  table.sort(out)
  return out
end

--- Date (YYYY-MM-DD) of the virtual clock.
function F.today() return os.date("!%Y-%m-%d", clock.now()) end

--- The jobs planned for a cycle's workflow: key -> due "YYYY-MM-DDTHH:MMZ".
function F.jobs(cycle)
  local out = {}
  for _, j in ipairs(db.query("SELECT key, due_ms FROM jobs WHERE key LIKE ?", ("cycle:%d:wf:%%"):format(cycle.id))) do
    out[j.key] = os.date("!%Y-%m-%dT%H:%MZ", j.due_ms // 1000)
  end
  return out
end

return F
