-- The events integrations receive (webhooks, hooks), and what they see of them.
--
-- An integration is saved by a Tech Admin (its owner) and sees the company as its owner does: an
-- event goes out only when the owner may see what it is about (the rule of its area below), and
-- only as plain facts — ids, numbers, yes/no, short words and lists of them — never text anyone
-- wrote (review answers, feedback, notes, titles: events never carry it, and what does not look
-- like a fact is dropped here as well). An owner who is no longer active, or lost the permission
-- to manage integrations, sees nothing. docs/events.md ("Events for integrations") is the
-- reader's version of this file.
local db = require "lib.db"
local json = require "lib.json"
local schema = require "lib.schema"
local log = require "core.log"
local fetch = require "core.fetch"
local settings = require "services.settings"
local access = require "services.access"
local messages = require "services.messages"
local feedback_requests = require "services.feedback_requests"
local one_on_ones = require "services.one_on_ones"

local M = {}

M.PERMISSION = "admin.integrations" -- an owner without it sees nothing

local function may(action)
  return function(owner) return (access.can(owner, action)) end
end

-- Whether get(owner, id) finds it (the services answer 404 for what one may not see).
local function found(get, field)
  return function(owner, data)
    local id = data[field]
    return id ~= nil and (pcall(get, owner, id))
  end
end

local function message_rule(owner, data)
  return data.message_id ~= nil and (pcall(messages.get, owner, data.message_id))
end

-- 1:1s: only the people who meet, and never a private item.
local function meeting_rule(owner, data)
  return data.private ~= true and data.series_id ~= nil and (pcall(one_on_ones.series, owner, data.series_id))
end

--- Per area (the part of the name before the dot): what the owner must be allowed to see, said
--- in words for the docs and the pages, and checked by see(owner, data, name).
M.AREAS = {
  person = { needs = "the company directory (everyone has it)", see = may("directory.view") },
  account = { needs = "the audit log", see = may("admin.audit_log") },
  session = { needs = "the audit log", see = may("admin.audit_log") },
  impersonation = { needs = "the audit log", see = may("admin.audit_log") },
  api_token = { needs = "API tokens", see = may("admin.api_tokens") },
  cycle = { needs = "tracking review cycles (statuses, not content)", see = may("review_cycles.track") },
  review = { needs = "tracking review cycles (statuses, not content)", see = may("review_cycles.track") },
  praise = { needs = "reading that message", see = message_rule },
  feedback = { needs = "reading that message", see = message_rule },
  note = { needs = "reading that message", see = message_rule },
  message = { needs = "reading that message", see = message_rule },
  badge = { needs = "configuring badges", see = may("praise.badges") },
  wall_screen = { needs = "configuring the praise wall", see = may("praise.wall") },
  feedback_request = { needs = "seeing that request (the one who asked, or one asked)",
    see = found(feedback_requests.get, "request_id") },
  meeting_series = { needs = "taking part in that 1:1 (never a private item)", see = meeting_rule },
  meeting = { needs = "taking part in that 1:1 (never a private item)", see = meeting_rule },
  meeting_item = { needs = "taking part in that 1:1 (never a private item)", see = meeting_rule },
  action_item = { needs = "taking part in that 1:1 (never a private item)", see = meeting_rule },
  workflow = { needs = "editing workflows", see = may("workflows.edit") },
  mail = { needs = "the outbox (mail.queued) or email templates (mail.template_changed)",
    see = function(owner, _, name)
      return (access.can(owner, name == "mail.queued" and "admin.outbox" or "admin.email_templates"))
    end },
}

local FEEDBACK_360 = "360 feedback: who writes about whom in a 360 cycle is not sent to integrations"

--- Events of those areas that never go out, and why.
M.EXCLUDED = {
  ["cycle.starting"] = "a request the workflow may refuse; cycle.phase_changed says what happened",
  ["cycle.moving"] = "a request the workflow may refuse; cycle.phase_changed says what happened",
  ["message.deleted"] = "the message is gone, so nobody can be shown to have been allowed to see it",
  ["feedback.draft_saved"] = FEEDBACK_360,
  ["feedback.shared"] = FEEDBACK_360,
  ["feedback.reopened"] = FEEDBACK_360,
  ["feedback.released"] = FEEDBACK_360,
}

--- Every event an integration may subscribe to (docs/events.md lists them; a scenario checks
--- that both agree). A cycle's workflow may name more cycle.* events: any cycle.<name> is taken.
M.NAMES = {
  "person.created", "person.invited", "person.updated", "person.manager_changed", "person.roles_changed",
  "person.deactivated", "person.reactivated", "person.locked", "person.unlocked", "person.deleted",
  "person.guest_converted",
  "account.password_changed", "account.twostep_enabled", "account.twostep_disabled",
  "session.signed_in", "session.signed_out", "session.all_ended",
  "impersonation.started", "impersonation.ended",
  "api_token.created", "api_token.revoked",
  "cycle.created", "cycle.updated", "cycle.deleted", "cycle.reviewees_added", "cycle.reviewees_removed",
  "cycle.admins_changed", "cycle.phase_changed", "cycle.started", "cycle.closed", "cycle.reminders_sent",
  "review.added", "review.draft_saved", "review.self_submitted", "review.manager_submitted", "review.shared",
  "review.unshared", "review.signed", "review.closed", "review.reopened", "review.manager_changed", "review.nudged",
  "praise.given", "feedback.given", "note.written", "message.updated", "message.shared", "praise.liked",
  "message.commented", "message.unveiled", "badge.changed", "wall_screen.created", "wall_screen.revoked",
  "feedback_request.created", "feedback_request.answered", "feedback_request.declined",
  "feedback_request.reminded",
  "meeting_series.created", "meeting_series.updated", "meeting_series.ended", "meeting.scheduled",
  "meeting.rescheduled", "meeting.done", "meeting.skipped", "meeting_item.added", "meeting_item.updated",
  "meeting_item.deleted", "meeting_item.ticked", "meeting_item.unticked", "action_item.done",
  "action_item.reopened",
  "workflow.version_saved", "workflow.version_chosen",
  "mail.queued", "mail.template_changed",
}

local NAMED = {}
for _, n in ipairs(M.NAMES) do NAMED[n] = true end

local function area_of(name) return name:match("^([a-z][a-z0-9_]*)%.") end

local function offered(name)
  if type(name) ~= "string" or M.EXCLUDED[name] then return false end
  if NAMED[name] then return true end
  return area_of(name) == "cycle" and name:match("^cycle%.[a-z][a-z0-9_]*$") ~= nil
end

-- The answers of offered by name (every event passes through it, most are not offered); the
-- lists above never change while running.
local offered_by_name, offered_count = {}, 0

--- Whether name is an event integrations may receive.
function M.offered(name)
  local v = offered_by_name[name]
  if v == nil then
    v = offered(name)
    if type(name) == "string" then
      if offered_count >= 1000 then offered_by_name, offered_count = {}, 0 end
      offered_by_name[name], offered_count = v, offered_count + 1
    end
  end
  return v
end

--- Whether a subscription pattern is one integrations may use: an offered name, "area.*" for an
--- area above, or "*" (every offered event). Returns true, or nil and why not.
function M.valid_pattern(p)
  if type(p) ~= "string" then return nil, "is not an event name" end
  if p == "*" then return true end
  local area = p:match("^([a-z][a-z0-9_]*)%.%*$")
  if area then
    if M.AREAS[area] then return true end
    return nil, ("%s: there are no events in %s"):format(p, area)
  end
  if M.offered(p) then return true end
  if M.EXCLUDED[p] then return nil, ("%s is not sent to integrations: %s"):format(p, M.EXCLUDED[p]) end
  return nil, ("%s is not an event integrations receive (docs/events.md lists them)"):format(p)
end

--- A schema custom validator: every element of list is a valid pattern.
function M.valid_events(list)
  for _, p in ipairs(list) do
    local ok, why = M.valid_pattern(p)
    if not ok then return nil, "{field}: " .. why end
  end
  return true
end

--- A list from text with names separated by commas, spaces or lines (a list stays as it is).
function M.words(s)
  if type(s) ~= "string" then return s end
  local list = {}
  for w in s:gmatch("[^%s,]+") do list[#list + 1] = w end
  return list
end

--- An integration's form or API input checked against its schema: the values, and the problems
--- by field; required = { field = message } for a new one (nil when changing one).
function M.read_input(def, input, required)
  local r, errs = schema.validate(def, input, { coerce = true, messages = schema.SENTENCES, partial = true })
  local fields = schema.by_field(errs)
  r = r or {}
  for f, message in pairs(required or {}) do
    if r[f] == nil and not fields[f] then fields[f] = message end
  end
  return r, fields
end

--- Whether one of patterns names event name.
function M.matches(patterns, name)
  if not M.offered(name) then return false end
  local area = area_of(name)
  for _, p in ipairs(patterns) do
    if p == "*" or p == name or p == area .. ".*" then return true end
  end
  return false
end

local MAX_TEXT = 100 -- bytes: longer text is not a fact (a name of a field is, a sentence is not)

local function fact(v)
  local t = type(v)
  if t == "number" or t == "boolean" then return v end
  if t == "string" and #v <= MAX_TEXT and not v:find("[%c]") then return v end
  return nil
end

--- The facts of data: numbers, booleans, short one-line text, and lists of those (what is not a
--- fact is dropped: tables of other shapes, long text). Lists are plain Lua lists.
function M.facts(data)
  local out = {}
  for k, v in pairs(data) do
    if type(k) == "string" then
      if type(v) == "table" then
        local list, ok = {}, #v <= 1000 and next(v) == (#v > 0 and 1 or nil)
        for i = 1, ok and #v or 0 do
          list[i] = fact(v[i])
          if list[i] == nil then ok = false break end
        end
        if ok then out[k] = list end
      else
        out[k] = fact(v)
      end
    end
  end
  return out
end

--- What owner (a users row) sees of event name with data: its facts, or nil when it does not go
--- out to this owner.
function M.view(owner, name, data)
  if not owner or owner.status ~= "active" or owner.kind == "guest" then return nil end
  if not M.offered(name) or not access.can(owner, M.PERMISSION) then return nil end
  local rule = M.AREAS[area_of(name)]
  if not rule or not rule.see(owner, data, name) then return nil end
  return M.facts(data)
end

-- ---------------------------------------------------------------- integrations that subscribe
--- Why owner (a users row, or nil) can no longer have an integration send anything, or nil.
function M.owner_problem(owner)
  if not owner or owner.status ~= "active" then return "its owner is no longer active" end
  if not access.can(owner, M.PERMISSION) then return "its owner no longer manages integrations" end
end

--- The enabled integrations of table tbl (webhooks, hooks) with their events and owner, read
--- once and again after a change: { list = fn() -> { { id, events = {...}, owner_id } },
--- changed = fn() } (call changed() in the transaction that changed one: a rollback drops the
--- list read meanwhile too).
function M.subscribers(tbl)
  local cache
  local subs = {}
  function subs.changed()
    cache = nil
    db.on_rollback(function() cache = nil end)
  end
  function subs.list()
    if not cache then
      cache = db.query(("SELECT id, events, owner_id FROM %s WHERE enabled = 1 ORDER BY id"):format(tbl))
      for _, x in ipairs(cache) do x.events = json.decode(x.events) or {} end
    end
    return cache
  end
  return subs
end

--- For event name with data, fired inside a change's transaction: add(subscriber, view) for each
--- of subs' integrations bound to name whose owner may see it (view: the facts they see). Runs in
--- a savepoint: a problem is logged (what names the integrations) and never refuses the change.
function M.record(subs, name, data, add, what)
  if not M.offered(name) then return end
  local list = subs.list()
  if #list == 0 then return end
  local ok, err = pcall(db.transaction, function()
    local owners = {}
    for _, x in ipairs(list) do
      if M.matches(x.events, name) and x.owner_id then
        local owner = owners[x.owner_id]
        if owner == nil then
          owner = db.row("SELECT * FROM users WHERE id = ?", x.owner_id) or false
          owners[x.owner_id] = owner
        end
        local view = owner and M.view(owner, name, data)
        if view then add(x, view) end
      end
    end
  end)
  if not ok then log.error(("%s: %s could not be recorded: %s"):format(what, name, tostring(err))) end
end

-- ---------------------------------------------------------------- where integrations may call
-- The network settings: which addresses webhooks and hooks may call (core.fetch checks the
-- address it connects to, whatever name led there).
M.NETWORK = {
  { name = "allow_loopback", key = "integrations.allow_loopback" },
  { name = "allow_private_networks", key = "integrations.allow_private_networks" },
}

--- The core.fetch options that refuse what the network settings do not allow.
function M.address_rules()
  return { deny_local = not settings.get("integrations.allow_loopback"),
    deny_private = not settings.get("integrations.allow_private_networks") }
end

--- Why host (a name or an IP address, IPv6 without brackets) may not be called, or nil: an
--- address written out is refused when it is saved already (a name only when it is called).
function M.address_problem(host)
  local kind = fetch.address_kind(host)
  local rules = M.address_rules()
  if kind == "local" and rules.deny_local then
    return ("%s is this machine, a link-local or a multicast address: refused"):format(host)
  elseif kind == "private" and rules.deny_private then
    return ("%s is a private network address: refused unless the network settings allow private networks"):format(host)
  end
end

--- The network settings: { allow_loopback =, allow_private_networks = }.
function M.network() return settings.switches(M.NETWORK) end

--- Changes the network settings (booleans; missing ones stay). Returns the changes by name
--- ({ from =, to = }); audited as settings.integrations. Raises 422 naming each problem.
function M.save_network(actor, input, req)
  return settings.save_switches(M.NETWORK, input, actor, req, "settings.integrations")
end

return M
