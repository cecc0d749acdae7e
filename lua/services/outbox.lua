-- The outbox as Tech Admins see it: a page of mail with filters and counts, one mail with its
-- history (credential-like link parameters hidden), and the bounces. What is sent and when is
-- services/delivery.lua's business (a waiting mail's next attempt is the due time of its job,
-- key mail:<id>); this module only reads.
local db = require "lib.db"
local errors = require "lib.errors"
local clock = require "core.clock"
local delivery = require "services.delivery"

local M = {}

--- The bounces: open ones (or all when all = true), newest first, with the mail's subject.
function M.bounces(all)
  return db.query(([[SELECT b.id, b.email, b.at, b.smtp_code, b.message, b.fixed_at, b.outbox_id,
      o.subject, o.to_user_id, f.name AS fixed_by_name
    FROM mail_bounces b LEFT JOIN outbox o ON o.id = b.outbox_id LEFT JOIN users f ON f.id = b.fixed_by
    %s ORDER BY b.id DESC LIMIT 500]]):format(all and "" or "WHERE b.fixed_at IS NULL"))
end

local function like(s)
  return "%" .. s:gsub("[\\%%_]", "\\%0") .. "%"
end

--- A page of the outbox, newest first. f: status, template, to (part of the address or name),
--- cycle (id), page, per_page. At most four queries; counting reads only the kept counts unless
--- the template, the address or the cycle is filtered.
function M.list_outbox(f)
  local where, args = {}, {}
  if f.status and f.status ~= "" then where[#where + 1] = "o.status = ?"; args[#args + 1] = f.status end
  if f.template and f.template ~= "" then where[#where + 1] = "o.template = ?"; args[#args + 1] = f.template end
  if f.to and f.to ~= "" then
    where[#where + 1] = "(o.to_email LIKE ? ESCAPE '\\' OR o.to_name LIKE ? ESCAPE '\\')"
    args[#args + 1] = like(f.to)
    args[#args + 1] = like(f.to)
  end
  if f.cycle then
    where[#where + 1] = [[((o.related_type = 'cycle' AND o.related_id = ?) OR
      (o.related_type = 'review' AND o.related_id IN (SELECT id FROM reviews WHERE cycle_id = ?)))]]
    args[#args + 1] = f.cycle
    args[#args + 1] = f.cycle
  end
  local w = #where > 0 and ("WHERE " .. table.concat(where, " AND ")) or ""
  local per_page = math.max(1, math.min(f.per_page or 50, 200))
  -- the mails per status, as the triggers keep them (outbox_counts): the tabs, and the total when
  -- nothing but the status is filtered
  local counts = { all = 0 }
  for _, s in ipairs(delivery.STATUSES) do counts[s] = 0 end
  for _, r in ipairs(db.query("SELECT status, n FROM outbox_counts")) do
    counts[r.status] = r.n
    counts.all = counts.all + r.n
  end
  local total
  if #where == 0 then
    total = counts.all
  elseif #where == 1 and f.status and f.status ~= "" then
    total = counts[f.status] or 0
  else
    total = db.value("SELECT count(*) FROM outbox o " .. w, table.unpack(args))
  end
  local pages = math.max(1, (total + per_page - 1) // per_page)
  local page = math.max(1, math.min(f.page or 1, pages))
  local qargs = { table.unpack(args) }
  qargs[#qargs + 1] = per_page
  qargs[#qargs + 1] = (page - 1) * per_page
  local rows = db.query([[SELECT o.id, o.created_at, o.template, o.to_email, o.to_name, o.subject, o.status,
      o.attempts, j.due_ms / 1000 AS next_attempt_at, o.last_error, o.sent_at, o.related_type, o.related_id,
      c.id AS cycle_id, c.name AS cycle_name
    FROM outbox o
    LEFT JOIN jobs j ON j.key = 'mail:' || o.id
    LEFT JOIN reviews r ON o.related_type = 'review' AND r.id = o.related_id
    LEFT JOIN cycles c ON c.id = (CASE WHEN o.related_type = 'cycle' THEN o.related_id ELSE r.cycle_id END)
    ]] .. w .. " ORDER BY o.id DESC LIMIT ? OFFSET ?", table.unpack(qargs))
  for _, m in ipairs(rows) do m.subject = delivery.mask(m.subject) end
  return { mails = rows, total = total, page = page, pages = pages, per_page = per_page, counts = counts }
end

--- Cycles to filter by (id, name), newest first.
function M.cycle_options()
  return db.query("SELECT id, name FROM cycles ORDER BY id DESC LIMIT 200")
end

--- One mail with its history: the row (credential-like link parameters hidden), events
--- (oldest first, starting with "queued" at created_at), and the open bounce of its address.
function M.mail_details(id)
  local m = db.row([[SELECT o.*, c.id AS cycle_id, c.name AS cycle_name, j.due_ms / 1000 AS next_attempt_at
    FROM outbox o
    LEFT JOIN jobs j ON j.key = 'mail:' || o.id
    LEFT JOIN reviews r ON o.related_type = 'review' AND r.id = o.related_id
    LEFT JOIN cycles c ON c.id = (CASE WHEN o.related_type = 'cycle' THEN o.related_id ELSE r.cycle_id END)
    WHERE o.id = ?]], id)
  if not m then errors.not_found("There is no such mail.") end
  m.subject, m.body_text, m.body_html = delivery.mask(m.subject), delivery.mask(m.body_text), delivery.mask(m.body_html)
  local history = { { at = m.created_at, status = "queued", detail = "Queued" } }
  for _, e in ipairs(db.query([[SELECT e.at, e.status, e.detail, u.name AS actor_name FROM outbox_events e
      LEFT JOIN users u ON u.id = e.actor_id WHERE e.outbox_id = ? ORDER BY e.id]], id)) do
    -- a mail back in the queue after a failed attempt is waiting, not new
    if e.status == "queued" and e.detail and (e.detail:match("^Attempt") or e.detail:match("^Not sent")) then
      e.waiting = true
    end
    history[#history + 1] = e
  end
  m.history = history
  m.bounce = delivery.open_bounce(m.to_email)
  m.can_retry = delivery.RETRYABLE[m.status] and not (m.status == "queued" and (m.next_attempt_at or 0) <= clock.now())
  return m
end

return M
