-- 360 nominations: who is asked for feedback about whom. The nominator (the reviewee, their
-- manager or HR, as the cycle's rules say) proposes colleagues from a type-ahead or invites an
-- outside person as a guest on the fly (the guest policy decides; the account is made at once,
-- without mail). The manager the cycle fixed approves ("approve and notify"); after approval
-- only that manager or an HR Admin changes the list. Approved reviewers are invited in batches
-- (the workflow's timeline: one mail per reviewer and hour), guests with how to sign in. A
-- reviewer may decline with a reason; the cycle decides whether the reviewee is told and may
-- propose a replacement.
local db = require "lib.db"
local json = require "lib.json"
local util = require "lib.util"
local dates = require "lib.dates"
local crypt = require "lib.crypt"
local errors = require "lib.errors"
local events = require "lib.events"
local clock = require "core.clock"
local authz = require "core.authz"
local access = require "services.access"
local audit = require "services.audit"
local people = require "services.people"
local settings = require "services.settings"
local cycles = require "services.feedback_cycles"
local workflows = require "services.workflows"
local mail = require "services.mail"
local accounts = require "services.accounts"

local M = {}

crypt.register{ table = "feedback_nominations", column = "decline_reason_enc", key = { "id" } }

M.RELATIONSHIPS = { self = "Self", manager = "Manager", peer = "Peer", report = "Report", guest = "Guest" }
M.GROUP_LABELS = { self = "Self", manager = "Manager", peer = "Peers", report = "Direct and indirect reports",
  guest = "Guests" }

-- ------------------------------------------------------------------ reading

function M.get(id)
  id = math.tointeger(tonumber(id))
  return id and db.row("SELECT * FROM feedback_nominations WHERE id = ?", id)
end

function M.require(id)
  local r = M.get(id)
  if not r then errors.not_found("There is no such feedback request.") end
  return r
end

--- Records what happened in a reviewee's 360 (its history: no content) and fires the event
--- name (docs/events.md; the workflow's timeline hooks them). Every one carries cycle_id,
--- subject_id, reviewee_id, manager_id (the approving manager) and actor_id; one about a
--- reviewer (r) also request_id, reviewer_id and relationship; extra adds fields. details is
--- what the history keeps (false: the history has it already).
function M.announce(name, c, s, r, actor, details, extra)
  if details ~= false then
    db.exec("INSERT INTO feedback_events(subject_id, request_id, at, actor_id, action, details) VALUES(?,?,?,?,?,?)",
      s.id, r and r.id, clock.now(), actor and actor.id, name, json.encode(details or {}))
  end
  local data = { cycle_id = c.id, subject_id = s.id, reviewee_id = s.reviewee_id, manager_id = s.manager_id,
    actor_id = actor and actor.id }
  if r then data.request_id, data.reviewer_id, data.relationship = r.id, r.reviewer_id, r.relationship end
  for k, v in pairs(extra or {}) do data[k] = v end
  events.fire(name, data)
end

--- Requests of a subject with the reviewer's name, oldest first.
function M.of_subject(subject_id)
  return db.query([[SELECT r.*, u.name AS reviewer_name, u.email AS reviewer_email, u.kind AS reviewer_kind,
      u.job_title AS reviewer_title, p.name AS proposed_by_name
    FROM feedback_nominations r JOIN users u ON u.id = r.reviewer_id LEFT JOIN users p ON p.id = r.proposed_by
    WHERE r.subject_id = ? ORDER BY r.id]], subject_id)
end

--- The requests of several reviewees' 360s (subject ids), by subject id: { [subject_id] = { {
--- id, subject_id, relationship, status, feedback_status, name, kind } } } in the order asked.
--- One query.
function M.of_subjects(subject_ids)
  local out = {}
  for _, rq in ipairs(db.query([[SELECT r.id, r.subject_id, r.relationship, r.status, r.feedback_status, u.name, u.kind
      FROM feedback_nominations r JOIN users u ON u.id = r.reviewer_id
      WHERE r.subject_id IN (SELECT value FROM json_each(?)) ORDER BY r.id]], json.encode(subject_ids))) do
    local l = out[rq.subject_id] or {}
    l[#l + 1] = rq
    out[rq.subject_id] = l
  end
  return out
end

local function counted(rows)
  local n = 0
  for _, r in ipairs(rows) do
    if r.relationship ~= "self" and r.relationship ~= "manager" and r.status ~= "declined" then n = n + 1 end
  end
  return n
end
M.counted = counted

-- ------------------------------------------------------------------ who may change a list

-- role: actor's role in c when the caller knows it already (false: none), else read here
local function cycle_ctx(actor, c, role)
  if role == nil then role = cycles.cycle_role(actor.id, c.id) end
  role = role or nil
  return role and { cycle_role = role } or nil, role
end

--- Whether actor approves subject s: the manager the cycle fixed, or (through the evaluator)
--- feedback.approve about the reviewee (HR Admins, admins of the cycle). Never one's own. role:
--- actor's role in c when known (false: none; a list asks for many subjects without a query each).
function M.is_approver(actor, c, s, role)
  if actor.id == s.reviewee_id then return false end
  if s.manager_id == actor.id then return true end
  local _, known = cycle_ctx(actor, c, role)
  return (access.can(actor, "feedback.approve", { subject = s.reviewee_id, cycle_role = known }))
end

-- Declined requests nobody replaced yet (the reviewee may propose a replacement for each, after
-- approval too, when the cycle tells reviewees about declines).
local function unreplaced(s)
  return db.column([[SELECT d.id FROM feedback_nominations d WHERE d.subject_id = ? AND d.status = 'declined'
    AND NOT EXISTS (SELECT 1 FROM feedback_nominations x WHERE x.replaces_id = d.id) ORDER BY d.id]], s.id)
end

local function open_replacements(c, s)
  if not c.rules.decline_tells_reviewee or not s.approved_at then return 0 end
  return #unreplaced(s)
end
M.open_replacements = open_replacements

--- How actor may change the reviewers of subject s: "approver" (the approving manager or an
--- HR Admin: changes take effect at once after approval), "hr" (feedback.create: HR Admins
--- and Assistants, cycle admins), "manager" or "reviewee" (as the cycle's nominator rule
--- says), "replacement" (the reviewee replacing a declined reviewer), or nil and the reason. role:
--- as for is_approver.
function M.change_right(actor, c, s, role)
  if c.phase == "draft" or c.phase == "closed" then return nil, "Nominations are made while the cycle runs." end
  if s.approved_at then
    if M.is_approver(actor, c, s, role) then return "approver" end
    if actor.id == s.reviewee_id and open_replacements(c, s) > 0 then return "replacement" end
    return nil, "The reviewers are approved: only the approving manager or an HR Admin changes them now."
  end
  local ctx = cycle_ctx(actor, c, role)
  if access.can(actor, "feedback.create", ctx) then return "hr" end
  local rule = c.rules.nominator
  if rule ~= "hr" and actor.id ~= s.reviewee_id
    and (s.manager_id == actor.id or access.can(actor, "feedback.nominate", { subject = s.reviewee_id })) then
    return "manager"
  end
  if rule == "reviewee" and actor.id == s.reviewee_id and access.can(actor, "feedback.nominate", { subject = s.reviewee_id }) then
    return "reviewee"
  end
  if rule == "hr" then return nil, "In this cycle HR chooses the reviewers." end
  if rule == "manager" then return nil, "In this cycle the manager chooses the reviewers." end
  return nil, "Only the reviewee, their manager and HR choose the reviewers."
end

local function require_change_right(actor, c, s)
  local right, why = M.change_right(actor, c, s)
  if not right then errors.forbidden(why) end
  if not workflows.allows(c, "nominate") and not (right == "approver" and workflows.allows(c, "approve")) then
    errors.conflict("Reviewers cannot be chosen in this phase of the cycle.")
  end
  return right
end

--- Whether actor may see who was asked about subject s: HR tracking the cycle, the approving
--- manager, and the reviewee unless the cycle hides the list (then: only the ones they proposed).
--- role: as for is_approver.
function M.list_right(actor, c, s, role)
  local ctx
  ctx, role = cycle_ctx(actor, c, role)
  if M.is_approver(actor, c, s, role or false) or access.can(actor, "feedback_cycles.track", ctx) then return "all" end
  if actor.id == s.reviewee_id then return c.visibility.hide_reviewers and "own" or "all" end
  if s.manager_id ~= actor.id and access.can(actor, "feedback.nominate", { subject = s.reviewee_id })
    and c.rules.nominator ~= "hr" then
    return "all" -- a manager who may nominate for their report
  end
  return nil
end

-- ------------------------------------------------------------------ the type-ahead

local function guest_policy_allows(actor)
  return people.may_invite_guest(actor, "nomination")
end

--- The type-ahead for nominating: colleagues by name (case and accents folded) or email, guests
--- by the first letters of their email — at least GUEST_PREFIX of them, so that nobody lists the
--- company's outside contacts a letter at a time; a full outside email offers "invite as guest"
--- when the guest policy allows the actor. Returns { people = { {id, name, email, job_title,
--- kind, taken} }, invite = { email } | nil, invite_refused = reason | nil }. Two queries.
M.GUEST_PREFIX = 3

function M.search(actor, c, s, text)
  require_change_right(actor, c, s)
  text = util.trim(text or "")
  if text == "" or utf8.len(text) == nil then return { people = {} } end
  text = util.utf8_sub(text, 1, 100)
  local like = text:gsub("[%%_\\]", "\\%0")
  local rows = db.query([[SELECT u.id, u.name, u.email, u.job_title, u.kind FROM users u
    WHERE u.status IN ('active', 'invited') AND u.id <> ? AND (
      (u.kind = 'employee' AND (fold(u.name) LIKE fold(?) ESCAPE '\' OR u.email LIKE ? ESCAPE '\'))
      OR (u.kind = 'guest' AND ? AND u.email LIKE ? ESCAPE '\'))
    ORDER BY (u.kind = 'guest'), u.name COLLATE FOLD LIMIT 10]],
    s.reviewee_id, "%" .. like .. "%", like .. "%", utf8.len(text) >= M.GUEST_PREFIX and 1 or 0, like .. "%")
  local taken = {}
  for _, id in ipairs(db.column("SELECT reviewer_id FROM feedback_nominations WHERE subject_id = ?", s.id)) do taken[id] = true end
  local guests_ok = settings.get("people.guest_policy") ~= "off"
  local out = {}
  for _, u in ipairs(rows) do
    if u.kind == "employee" or guests_ok then
      out[#out + 1] = { id = u.id, name = u.name, email = u.email, job_title = u.job_title, kind = u.kind,
        taken = taken[u.id] or false }
    end
  end
  local res = { people = out }
  if util.is_email(text) and not db.value("SELECT 1 FROM users WHERE email = ?", text) then
    local ok, why = guest_policy_allows(actor)
    if ok and people.in_company_domain(text) then
      ok, why = false, "This address is on the company's domain: colleagues are picked by name."
    end
    if ok then res.invite = { email = text:lower() } else res.invite_refused = why end
  end
  return res
end

-- ------------------------------------------------------------------ nominating

local function relationship_of(s, reviewer)
  if reviewer.kind == "guest" then return "guest" end
  if reviewer.id == s.reviewee_id then return "self" end
  if reviewer.id == s.manager_id then return "manager" end
  local rel = authz.relation(s.reviewee_id, reviewer.id)
  if rel == "direct_manager" or rel == "indirect_manager" then return "report" end
  return "peer"
end

local function insert_request(c, s, reviewer, actor, status, replaces)
  local now = clock.now()
  local id = db.insert([[INSERT INTO feedback_nominations(subject_id, cycle_id, reviewer_id, relationship, proposed_by,
      replaces_id, status, approved_at, created_at, updated_at) VALUES(?,?,?,?,?,?,?,?,?,?)]],
    s.id, c.id, reviewer.id, relationship_of(s, reviewer), actor and actor.id, replaces, status,
    status == "approved" and now or nil, now, now)
  return M.get(id)
end

--- The self and manager requests the rules ask for, for subjects of a starting cycle (or
--- added to a running one): approved at once; the start mail and the to-dos tell about them.
function M.automatic_requests(c, subjects)
  local now = clock.now()
  for _, s in ipairs(subjects) do
    if c.rules.self_feedback then
      db.exec([[INSERT INTO feedback_nominations(subject_id, cycle_id, reviewer_id, relationship, status, approved_at,
          invited_at, created_at, updated_at) VALUES(?,?,?, 'self', 'approved', ?, ?, ?, ?)
        ON CONFLICT(subject_id, reviewer_id) DO NOTHING]], s.id, c.id, s.reviewee_id, now, now, now, now)
    end
    if c.rules.manager_feedback and s.manager_id then
      db.exec([[INSERT INTO feedback_nominations(subject_id, cycle_id, reviewer_id, relationship, status, approved_at,
          invited_at, created_at, updated_at) VALUES(?,?,?, 'manager', 'approved', ?, ?, ?, ?)
        ON CONFLICT(subject_id, reviewer_id) DO NOTHING]], s.id, c.id, s.manager_id, now, now, now, now)
    end
  end
end

--- Nominates a reviewer for subject_id: input.reviewer_id (a colleague or an existing guest),
--- or input.email (+ input.name) to invite an outside person as a guest on the fly. Returns
--- the request. Proposed until the manager approves; added by the approver after approval, it
--- is approved (and the invitation planned) at once.
function M.nominate(actor, subject_id, input, req)
  local s = cycles.require_subject(subject_id)
  local c = cycles.require(s.cycle_id)
  local right = require_change_right(actor, c, s)
  if type(input) ~= "table" then errors.bad_request("Send the reviewer.") end
  return db.transaction(function()
    local reviewer
    if input.reviewer_id ~= nil and input.reviewer_id ~= "" then
      reviewer = people.get(input.reviewer_id)
      if not reviewer or reviewer.status == "deactivated" or reviewer.status == "locked" then
        errors.invalid({ reviewer_id = "Choose someone who can sign in." })
      end
      if reviewer.kind == "guest" and settings.get("people.guest_policy") == "off" then
        errors.forbidden("Guest reviewers are turned off for this company.")
      end
    elseif input.email ~= nil then
      local email = util.trim(tostring(input.email)):lower()
      reviewer = people.by_email(email)
      if not reviewer then
        local name = util.trim(tostring(input.name or ""))
        if name == "" then name = email:match("^([^@]+)") end
        -- the guest account exists from now on, without any mail: the invitation goes out once the
        -- manager approves (people.create refuses company domains and checks the guest policy)
        reviewer = people.create(actor, { email = email, name = name, kind = "guest" }, req, { via = "nomination" })
      elseif reviewer.status == "deactivated" or reviewer.status == "locked" then
        errors.invalid({ email = "This person cannot sign in." })
      end
    else
      errors.invalid({ reviewer_id = "Choose a reviewer." })
    end
    if reviewer.id == s.reviewee_id then
      errors.invalid({ reviewer_id = c.rules.self_feedback and "The reviewee's own feedback is part of the cycle already."
        or "This cycle has no self-feedback." })
    end
    if db.value("SELECT 1 FROM feedback_nominations WHERE subject_id = ? AND reviewer_id = ?", s.id, reviewer.id) then
      errors.conflict(reviewer.name .. " is asked already.")
    end
    local current = M.of_subject(s.id)
    if counted(current) >= c.rules.max then
      errors.conflict(("This cycle asks at most %d reviewers per person."):format(c.rules.max))
    end
    local status = (right == "approver" and s.approved_at) and "approved" or "proposed"
    local replaces = right == "replacement" and unreplaced(s)[1] or nil
    local r = insert_request(c, s, reviewer, actor, status, replaces)
    M.announce("nomination.added", c, s, r, actor, { by = right }, { status = status })
    if status == "approved" then M.announce("nomination.approved", c, s, r, actor, false) end
    return r
  end)
end

--- Withdraws a request. Proposed or approved with nothing written: whoever may change the
--- list (HR Assistants too: feedback.delete_unstarted); with something written: feedback.delete
--- (HR Admins), and the text goes with it.
function M.remove(actor, request_id, req)
  local r = M.require(request_id)
  local s = cycles.require_subject(r.subject_id)
  local c = cycles.require(s.cycle_id)
  if r.relationship == "self" or r.relationship == "manager" then
    if not cycles.can(actor, "feedback.delete_unstarted", c) and not cycles.can(actor, "feedback.delete", c) then
      errors.forbidden("The self and manager feedback belong to the cycle's rules; HR can withdraw them.")
    end
  elseif r.feedback_status ~= "not_started" then
    cycles.require_perm(actor, "feedback.delete", c)
  else
    local right = M.change_right(actor, c, s)
    if not right or right == "replacement" then
      if not cycles.can(actor, "feedback.delete_unstarted", c) then
        local _, why = M.change_right(actor, c, s)
        errors.forbidden(why or "You cannot change these reviewers.")
      end
    end
  end
  return db.transaction(function()
    db.exec("DELETE FROM feedback_nominations WHERE id = ?", r.id)
    M.announce("nomination.removed", c, s, { id = nil, reviewer_id = r.reviewer_id, relationship = r.relationship }, actor,
      { reviewer_id = r.reviewer_id, had_feedback = r.feedback_status ~= "not_started" })
    if r.feedback_status ~= "not_started" then
      audit.record{ action = "feedback.delete", actor = actor, req = req, target_type = "feedback_nomination",
        target_id = r.id, details = { cycle_id = c.id, reviewee_id = s.reviewee_id } }
    end
    return true
  end)
end

--- The nominator hands the list to the manager (at least the cycle's minimum).
function M.submit(actor, subject_id, req)
  local s = cycles.require_subject(subject_id)
  local c = cycles.require(s.cycle_id)
  local right = require_change_right(actor, c, s)
  if s.approved_at then errors.conflict("The reviewers are approved already.") end
  local n = counted(M.of_subject(s.id))
  if n < c.rules.min then
    errors.invalid({ reviewers = ("Choose at least %d reviewers (%d so far)."):format(c.rules.min, n) },
      ("This cycle asks for at least %d reviewers."):format(c.rules.min))
  end
  return db.transaction(function()
    local now = clock.now()
    db.exec("UPDATE feedback_subjects SET nominations_done_at = coalesce(nominations_done_at, ?), updated_at = ? WHERE id = ?",
      now, now, s.id)
    local fresh = cycles.subject(s.id)
    M.announce("nominations.submitted", c, fresh, nil, actor, { count = n, by = right })
    return fresh
  end)
end

--- "Approve and notify": approves every proposed reviewer of the given subjects (the actor
--- must approve each) and plans the invitations. Returns how many requests were approved.
function M.approve(actor, subject_ids, req)
  if type(subject_ids) ~= "table" or #subject_ids == 0 then errors.invalid({ subject_ids = "Choose whose reviewers to approve." }) end
  local list = {}
  for _, id in ipairs(subject_ids) do
    local s = cycles.require_subject(id)
    local c = cycles.require(s.cycle_id)
    if not M.is_approver(actor, c, s) then
      errors.forbidden("Only the reviewee's manager or an HR Admin approves their reviewers.")
    end
    if not workflows.allows(c, "approve") then errors.conflict("Reviewers cannot be approved in this phase of the cycle.") end
    list[#list + 1] = { s = s, c = c }
  end
  return db.transaction(function()
    local now, n = clock.now(), 0
    for _, x in ipairs(list) do
      local s, c = x.s, x.c
      local proposed = db.query("SELECT * FROM feedback_nominations WHERE subject_id = ? AND status = 'proposed' ORDER BY id", s.id)
      db.exec([[UPDATE feedback_nominations SET status = 'approved', approved_at = ?, updated_at = ?
        WHERE subject_id = ? AND status = 'proposed']], now, now, s.id)
      db.exec([[UPDATE feedback_subjects SET approved_at = coalesce(approved_at, ?), approved_by = coalesce(approved_by, ?),
        nominations_done_at = coalesce(nominations_done_at, ?), updated_at = ? WHERE id = ?]], now, actor.id, now, now, s.id)
      M.announce("nominations.approved", c, s, nil, actor, { count = #proposed }, { count = #proposed })
      for _, r in ipairs(proposed) do M.announce("nomination.approved", c, s, r, actor, false) end
      n = n + #proposed
    end
    if #list > 0 then
      audit.record{ action = "feedback.approve", actor = actor, req = req, target_type = "feedback_cycle",
        target_id = list[1].c.id, details = { subjects = #list, requests = n } }
    end
    return n
  end)
end

--- A reviewer declines an approved request they have not shared, with a reason (kept
--- encrypted: it may be personal). The workflow tells the reviewee when the cycle says so.
function M.decline(actor, request_id, reason, req)
  local r = M.require(request_id)
  if r.reviewer_id ~= actor.id then errors.not_found("There is no such feedback request.") end
  local s = cycles.require_subject(r.subject_id)
  local c = cycles.require(s.cycle_id)
  if r.relationship == "self" then errors.conflict("Your own feedback can be left empty; there is nothing to decline.") end
  if r.status ~= "approved" then errors.conflict("Only a request you were invited to can be declined.") end
  if r.feedback_status == "shared" then errors.conflict("You shared this feedback already.") end
  if not workflows.allows(c, "write") then errors.conflict("The cycle is not collecting feedback now.") end
  reason = util.trim(reason or "")
  if utf8.len(reason) == nil or utf8.len(reason) < 3 then errors.invalid({ reason = "Say briefly why you decline." }) end
  if utf8.len(reason) > 1000 then errors.invalid({ reason = "Keep the reason under 1,000 characters." }) end
  return db.transaction(function()
    local now = clock.now()
    db.exec([[UPDATE feedback_nominations SET status = 'declined', declined_at = ?, decline_reason_enc = ?, updated_at = ?
      WHERE id = ?]], now, crypt.seal("feedback_nominations", "decline_reason_enc", { r.id }, reason), now, r.id)
    db.exec("DELETE FROM feedback_answers WHERE request_id = ?", r.id)
    db.exec("UPDATE feedback_nominations SET feedback_status = 'not_started' WHERE id = ?", r.id)
    local fresh = M.get(r.id)
    M.announce("nomination.declined", c, s, fresh, actor)
    return fresh
  end)
end

--- The reason a request was declined, for those who may see who was asked.
function M.decline_reason(r)
  if not r.decline_reason_enc then return nil end
  return crypt.open("feedback_nominations", "decline_reason_enc", { r.id }, r.decline_reason_enc)
end

--- A manager (direct or further up, or the one the cycle fixed) or HR tracking the cycle nudges
--- a reviewee who has not handed in their reviewers yet: at most one mail a day per reviewee.
function M.nudge(actor, subject_id, req)
  local s = cycles.require_subject(subject_id)
  local c = cycles.require(s.cycle_id)
  if not cycles.running(c) then errors.conflict("This cycle is not running.") end
  local rel = authz.relation(actor.id, s.reviewee_id)
  if rel ~= "direct_manager" and rel ~= "indirect_manager" and actor.id ~= s.manager_id
    and not cycles.can(actor, "feedback_cycles.track", c) then
    errors.forbidden("You can nudge your direct and indirect reports.")
  end
  if s.nominations_done_at or s.approved_at then errors.conflict("Nothing to nudge: the reviewers are chosen.") end
  local reviewee = people.get(s.reviewee_id)
  return db.transaction(function()
    local queued = mail.queue{ template = "feedback_360.nudge", to = reviewee,
      vars = { sender = actor.name, cycle = c.name, due = c.nominate_due and util.human_date(c.nominate_due) or nil,
        link = accounts.base_url() .. "/feedback/360/" .. s.id },
      related_type = "feedback_cycle", related_id = c.id,
      dedupe_key = ("feedback-nudge:%d:%s"):format(s.id, dates.today()) }
    if not queued then errors.too_many("A nudge went out to this person today already.", 86400) end
    M.announce("nominations.nudged", c, s, nil, actor)
    return true
  end)
end

return M
