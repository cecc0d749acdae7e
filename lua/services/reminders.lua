-- Reminders HR sends by hand to the people late in a cycle, shown first as the exact mail the
-- first of them would get. Each kind of cycle works out its targets; this module previews and
-- queues them (one mail per person, part and day at most).
--
--   local t = { { to = user, part = "self", key = review.id, vars = {...} }, ... }
--   reminders.preview(t, "review.reminder")   -> { count, preview, first_names }
--   reminders.send(t, "review.reminder", { related_type = "cycle", related_id = 3, key = "reminder" })
local db = require "lib.db"
local events = require "lib.events"
local dates = require "lib.dates"
local mail = require "services.mail"
local audit = require "services.audit"

local M = {}

--- The exact mail the first target would get, how many would get one, and the first names.
function M.preview(targets, template)
  local preview
  if targets[1] then
    -- exactly the text queue() would store for the first recipient
    preview = mail.preview{ template = template, to = targets[1].to, vars = targets[1].vars }
  end
  local names = {}
  for i = 1, math.min(#targets, 20) do names[i] = targets[i].to.name end
  return { count = #targets, preview = preview, first_names = names }
end

--- Queues the reminders; a person gets at most one per target key, part and day. opts:
--- related_type, related_id, key (the dedupe key's start). Returns how many were queued.
function M.send(targets, template, opts)
  local day = dates.today()
  local n = 0
  for _, t in ipairs(targets) do
    if mail.queue{ template = template, to = t.to, vars = t.vars, related_type = opts.related_type,
        related_id = opts.related_id,
        dedupe_key = ("%s:%s:%d:%s:%s"):format(opts.key, tostring(t.key), t.to.id, t.part or "", day) } then
      n = n + 1
    end
  end
  return n
end

--- Preview and send for one kind of cycle. spec: targets(actor, cycle_id, audience, ids) ->
--- targets, cycle (raising when the actor may not track the cycle); vars(cycle, target, note,
--- sender) -> the mail's variables; template; related_type; key (the dedupe key's start);
--- audit_prefix ("cycle"); event_area (sending fires <area>.reminders_sent). Returns { preview =
--- fn(actor, cycle_id, audience, ids, note), send = fn(actor, cycle_id, audience, ids, note, req) };
--- sending is audited.
function M.for_kind(spec)
  assert(spec.event_area, "reminders.for_kind: event_area")
  local function targets(actor, cycle_id, audience, ids, note)
    local list, c = spec.targets(actor, cycle_id, audience, ids)
    for _, t in ipairs(list) do t.vars = spec.vars(c, t, note, actor.name) end
    return list, c
  end
  return {
    preview = function(actor, cycle_id, audience, ids, note)
      return M.preview((targets(actor, cycle_id, audience, ids, note)), spec.template)
    end,
    send = function(actor, cycle_id, audience, ids, note, req)
      local list, c = targets(actor, cycle_id, audience, ids, note)
      return db.transaction(function()
        local n = M.send(list, spec.template, { related_type = spec.related_type, related_id = c.id, key = spec.key })
        audit.record{ action = spec.audit_prefix .. ".reminders", actor = actor, req = req, target_type = spec.audit_prefix,
          target_id = c.id, target_label = c.name, details = { audience = audience, queued = n, targets = #list } }
        events.fire(spec.event_area .. ".reminders_sent", { cycle_id = c.id, audience = audience, count = n,
          actor_id = actor.id })
        return n
      end)
    end,
  }
end

return M
