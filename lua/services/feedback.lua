-- 360 feedback itself: reviewers write (drafts saved as they type) and share; until it is
-- released they may still change it, afterwards only when an HR Admin reopens it (logged). The
-- approving manager may release early to the reviewee. Reading: every piece of feedback is
-- decided by the permission evaluator (feedback.read) under the cycle's visibility settings at
-- the stage it has reached (services/feedback_cycles.lua stage()), and shown grouped by
-- relationship: anonymous cycles hide authors (from HR Admins too), hold back a group with
-- fewer shared answers than its threshold and may cut and shuffle paragraphs.
local db = require "lib.db"
local json = require "lib.json"
local util = require "lib.util"
local crypt = require "lib.crypt"
local errors = require "lib.errors"
local events = require "lib.events"
local clock = require "core.clock"
local crypto = require "core.crypto"
local access = require "services.access"
local audit = require "services.audit"
local reasons = require "services.reasons"
local questionnaire = require "services.questionnaire"
local cycles = require "services.feedback_cycles"
local nominations = require "services.nominations"
local workflows = require "services.workflows"
local directory = require "services.directory"
local authz = require "core.authz"

local M = {}

crypt.register{ table = "feedback_answers", column = "value_enc", key = { "request_id", "question_id" } }

local GROUP_ORDER = { "self", "manager", "peer", "report", "guest" }
M.GROUP_ORDER = GROUP_ORDER

-- ------------------------------------------------------------------ answers

function M.decrypt(request_id, question_id, blob)
  return json.decode(crypt.open("feedback_answers", "value_enc", { request_id, question_id }, blob))
end

local function answers_of(request_id)
  local out = {}
  for _, a in ipairs(db.query("SELECT question_id, value_enc FROM feedback_answers WHERE request_id = ?", request_id)) do
    out[a.question_id] = M.decrypt(request_id, a.question_id, a.value_enc)
  end
  return out
end

-- The answers of many requests in one query: { [request_id] = { [question_id] = value } }.
local function answers_of_many(ids)
  local out = {}
  if #ids == 0 then return out end
  for _, a in ipairs(db.query([[SELECT request_id, question_id, value_enc FROM feedback_answers
      WHERE request_id IN (SELECT value FROM json_each(?))]], json.encode(ids))) do
    local t = out[a.request_id] or {}
    t[a.question_id] = M.decrypt(a.request_id, a.question_id, a.value_enc)
    out[a.request_id] = t
  end
  return out
end

M.answers_of_many = answers_of_many

local function load(request_id)
  local r = nominations.get(request_id)
  if not r then errors.not_found("There is no such feedback request.") end
  local s = cycles.require_subject(r.subject_id)
  return r, s, cycles.require(s.cycle_id)
end

-- ------------------------------------------------------------------ writing

-- The reviewer's own request: the write action with their part in it (guests included, for
-- requests they were nominated for).
local function require_author(actor, r)
  if actor.id ~= r.reviewer_id or not access.can(actor, "feedback.write",
      { rel = { author = true, guest_reviewer = actor.kind == "guest" } }) then
    errors.not_found("There is no such feedback request.")
  end
end

--- Whether the reviewer may still change their feedback: approved, the cycle's phase allows
--- writing, and not released yet (shared feedback can change until it is released; after that
--- only when HR reopens it).
function M.editable(c, s, r)
  if r.status ~= "approved" then return false, "This request is not open for writing." end
  if not workflows.allows(c, "write") then return false, "The cycle is not collecting feedback now." end
  local stage = cycles.stage(c, s, r)
  if stage == "released" or stage == "shared" then
    return false, "This feedback is released; only HR can reopen it."
  end
  return true
end

--- Saves answers as a draft (or, for shared feedback not released yet, in place): values is
--- { question_id = value } (nil or "" clears; every question may be skipped).
function M.save(actor, request_id, values, req)
  local r, s, c = load(request_id)
  require_author(actor, r)
  local ok, why = M.editable(c, s, r)
  if not ok then errors.conflict(why) end
  if type(values) ~= "table" then errors.bad_request("Send the answers as an object.") end
  local by_id = {}
  for _, q in ipairs(questionnaire.questions(c.questionnaire)) do by_id[q.id] = q end
  local clean, clear, problems = {}, {}, {}
  values.csrf_token = nil
  for qid, v in pairs(values) do
    local q = type(qid) == "string" and by_id[qid]
    if not q then problems[tostring(qid)] = "is not a question of this cycle"
    else
      local val, msg = questionnaire.check_value(q, v)
      if msg then problems[qid] = msg elseif val == nil then clear[#clear + 1] = qid else clean[qid] = val end
    end
  end
  if next(problems) then errors.invalid(problems, "Some answers are not valid.") end
  return db.transaction(function()
    local now = clock.now()
    for qid, val in pairs(clean) do
      db.exec([[INSERT INTO feedback_answers(request_id, question_id, value_enc, updated_at) VALUES(?,?,?,?)
        ON CONFLICT(request_id, question_id) DO UPDATE SET value_enc = excluded.value_enc, updated_at = excluded.updated_at]],
        r.id, qid, crypt.seal("feedback_answers", "value_enc", { r.id, qid }, json.encode(val)), now)
    end
    for _, qid in ipairs(clear) do
      db.exec("DELETE FROM feedback_answers WHERE request_id = ? AND question_id = ?", r.id, qid)
    end
    db.exec([[UPDATE feedback_nominations SET feedback_status = CASE feedback_status WHEN 'not_started' THEN 'draft'
      ELSE feedback_status END, updated_at = ? WHERE id = ?]], now, r.id)
    nominations.announce("feedback.draft_saved", c, s, r, actor, false)
    return nominations.get(r.id)
  end)
end

--- The reviewer shares their feedback (an empty one too: every question may be skipped).
function M.share(actor, request_id, req)
  local r, s, c = load(request_id)
  require_author(actor, r)
  local ok, why = M.editable(c, s, r)
  if not ok then errors.conflict(why) end
  if r.feedback_status == "shared" then errors.conflict("You shared this feedback already.") end
  return db.transaction(function()
    local now = clock.now()
    db.exec("UPDATE feedback_nominations SET feedback_status = 'shared', shared_at = ?, updated_at = ? WHERE id = ?",
      now, now, r.id)
    local fresh = nominations.get(r.id)
    nominations.announce("feedback.shared", c, s, fresh, actor)
    return fresh
  end)
end

--- Whether actor may reopen shared feedback about s: HR Admins (and admins of the cycle) who
--- may read content about the reviewee, never of someone above them; not the reviewee's managers
--- as such (their levels are all never here).
function M.may_reopen(actor, c, s)
  return (access.can(actor, "feedback.read", { subject = s.reviewee_id, vis = { hr = "always" }, stage = "shared",
    cycle_role = cycles.cycle_role(actor.id, c.id) }))
end

--- Reopens shared feedback with a reason (audited, in the history): the reviewer can change it
--- again and shares it anew.
function M.reopen(actor, request_id, reason, req)
  local r, s, c = load(request_id)
  if not M.may_reopen(actor, c, s) then
    errors.forbidden("Only HR Admins (or admins of this cycle) reopen feedback, and never about someone above them.")
  end
  if r.feedback_status ~= "shared" then errors.conflict("Only shared feedback can be reopened.") end
  reason = util.trim(reason or "")
  if utf8.len(reason) == nil or utf8.len(reason) < 5 then errors.invalid({ reason = "Say why it is reopened (a few words)." }) end
  if utf8.len(reason) > 1000 then errors.invalid({ reason = "Keep the reason under 1,000 characters." }) end
  return db.transaction(function()
    local now = clock.now()
    db.exec([[UPDATE feedback_nominations SET feedback_status = 'draft', shared_at = NULL, reopened_at = ?, updated_at = ?
      WHERE id = ?]], now, now, r.id)
    local reason_id = reasons.seal(reason) -- confidential: the history and the audit log keep its id
    nominations.announce("feedback.reopened", c, s, r, actor, { reason_id = reason_id })
    audit.record{ action = "feedback.reopen", actor = actor, req = req, target_type = "feedback_nomination", target_id = r.id,
      details = { cycle_id = c.id, reviewee_id = s.reviewee_id, reason_id = reason_id } }
    return nominations.get(r.id)
  end)
end

--- The approving manager releases the feedback to the reviewee before the release date (when
--- the cycle lets managers do that and the reviewee reads it at all).
function M.release(actor, subject_id, req)
  local s = cycles.require_subject(subject_id)
  local c = cycles.require(s.cycle_id)
  if actor.id ~= s.manager_id then errors.forbidden("Only the reviewee's manager releases their feedback early.") end
  if not c.visibility.reviewee_reads then errors.conflict("In this cycle the reviewee does not read the feedback.") end
  if not c.visibility.manager_early_release then errors.conflict("This cycle releases feedback on its date only.") end
  if cycles.released_to_reviewee(c, s) then errors.conflict("The feedback is released already.") end
  if not workflows.allows(c, "release") then errors.conflict("Feedback cannot be released in this phase of the cycle.") end
  return db.transaction(function()
    local now = clock.now()
    db.exec("UPDATE feedback_subjects SET released_at = ?, released_by = ?, updated_at = ? WHERE id = ?", now, actor.id, now, s.id)
    local fresh = cycles.subject(s.id)
    nominations.announce("feedback.released", c, fresh, nil, actor)
    return fresh
  end)
end

-- ------------------------------------------------------------------ reading

--- What the history of a reviewee's 360 says for each event it keeps.
M.HISTORY = { ["nomination.added"] = "Reviewer added", ["nomination.removed"] = "Reviewer removed",
  ["nominations.submitted"] = "Reviewers handed in", ["nominations.approved"] = "Reviewers approved",
  ["nomination.declined"] = "A reviewer declined", ["nominations.nudged"] = "Nudged",
  ["feedback.shared"] = "Feedback shared", ["feedback.reopened"] = "Feedback reopened by HR",
  ["feedback.released"] = "Released early" }

local function ctx_of(actor, c, s, r, role, now)
  return { subject = s.reviewee_id, vis = cycles.vis(c), stage = cycles.stage(c, s, r, now), cycle_role = role }
end

-- A request whose feedback was shared (what may_read looks at: its stage).
local SHARED = { status = "approved", feedback_status = "shared" }

--- Whether actor may read request r's feedback (about subject s in cycle c) now.
function M.may_read(actor, c, s, r, role, now)
  if role == nil then role = cycles.cycle_role(actor.id, c.id) or false end
  return access.can(actor, "feedback.read", ctx_of(actor, c, s, r, role or nil, now))
end

--- The requests of all (subject s's, in cycle c) whose feedback actor may read now: shared, and
--- allowed by the evaluator (M.may_read; role: actor's cycle role, false for none).
function M.readable(actor, c, s, all, role, now)
  local out = {}
  for _, r in ipairs(all) do
    if r.status == "approved" and r.feedback_status == "shared" and M.may_read(actor, c, s, r, role, now) then
      out[#out + 1] = r
    end
  end
  return out
end

-- A stable order that says nothing about who wrote or when: by a keyed hash.
local function shuffle_key(s, text)
  return crypto.hex(crypto.hmac("feedback.shuffle", s.id .. "\0" .. text))
end
M.shuffle_key = shuffle_key

local function paragraphs(text)
  local out = {}
  for p in (tostring(text):gsub("\r\n", "\n") .. "\n\n"):gmatch("(.-)\n%s*\n") do
    p = util.trim(p)
    if p ~= "" then out[#out + 1] = p end
  end
  return out
end
M.paragraphs = paragraphs

-- One group's answers per question. anonymous: no names; shuffle: text cut into paragraphs in
-- a keyed order. Returns questions = { { question, answers = { {text|value, by} }, counts } }.
local function group_questions(c, s, key, reqs, answers, anonymous)
  local out = {}
  for _, q in ipairs(questionnaire.questions(c.questionnaire)) do
    local item = { question = q, answers = {} }
    if q.type == "rating" or q.type == "choice" then
      local n = q.type == "rating" and q.scale or #q.options
      item.counts = {}
      for i = 1, n do item.counts[i] = 0 end
    end
    local shuffled = anonymous and c.visibility.shuffle and q.type == "text"
    for _, r in ipairs(reqs) do
      local v = answers[r.id] and answers[r.id][q.id]
      if v ~= nil then
        local by = (not anonymous) and r.reviewer_name or nil
        if item.counts then
          for _, x in ipairs(type(v) == "table" and v or { v }) do
            if item.counts[x] then item.counts[x] = item.counts[x] + 1 end
          end
          if not anonymous or key == "self" then item.answers[#item.answers + 1] = { value = v, by = by } end
        elseif shuffled then
          for _, p in ipairs(paragraphs(v)) do item.answers[#item.answers + 1] = { text = p, sort = shuffle_key(s, q.id .. "\0" .. p) } end
        else
          item.answers[#item.answers + 1] = { text = v, by = by,
            sort = anonymous and shuffle_key(s, q.id .. "\0#" .. r.id) or (r.reviewer_name or "") }
        end
      end
    end
    if not item.counts then table.sort(item.answers, function(a, b) return a.sort < b.sort end) end
    for _, a in ipairs(item.answers) do a.sort = nil end
    item.total = 0
    for _, n in ipairs(item.counts or {}) do item.total = item.total + n end
    out[#out + 1] = item
  end
  return out
end

--- The feedback of requests readable (those of subject s in cycle c that the reader may read:
--- M.may_read), grouped by relationship as everyone is shown it: anonymous cycles hide the authors
--- of peers, reports and guests (from HR Admins too) and hold back a group with fewer shared
--- answers than its threshold (hidden = true, reason); shuffled cycles cut text into paragraphs in
--- a keyed order. answers: { [request_id] = { [question_id] = value } } (M.answers_of_many). The
--- one rule for every path that shows 360 feedback (the page, the PDF, the XML export).
function M.groups(c, s, readable, answers)
  local anonymous = c.visibility.anonymous
  local by_group = {}
  for _, r in ipairs(readable) do
    local g = by_group[r.relationship] or {}
    g[#g + 1] = r
    by_group[r.relationship] = g
  end
  local groups = {}
  for _, key in ipairs(GROUP_ORDER) do
    local reqs = by_group[key]
    if reqs then
      local anon = anonymous and key ~= "manager" and key ~= "self"
      local g = { key = key, label = nominations.GROUP_LABELS[key], count = #reqs, anonymous = anon }
      local min = anon and c.visibility.threshold[key] or 0
      if anon and #reqs < min then
        g.hidden = true
        g.reason = ("Fewer than %d %s shared feedback, so theirs is not shown to anyone: with so few, the answers "
          .. "could be traced back to them."):format(min, g.label:lower())
        g.count = nil
      else
        g.questions = group_questions(c, s, key, reqs, answers, anon)
        if not anon then g.authors = util.map(reqs, function(r) return r.reviewer_name end) end
      end
      groups[#groups + 1] = g
    end
  end
  return groups
end

--- Everything actor may see of a reviewee's 360 (subject_id): { cycle, subject, reviewee,
--- manager, can = {...}, requests (who was asked, when actor may see that), groups (the
--- feedback actor may read, by relationship; a group below its anonymity threshold has hidden =
--- true and a reason) }. 404 when actor has no business with it.
function M.view(actor, subject_id, opts)
  opts = opts or {}
  local s = cycles.require_subject(subject_id)
  local c = cycles.require(s.cycle_id)
  local role = cycles.cycle_role(actor.id, c.id) or false
  local now = clock.now()
  local all = nominations.of_subject(s.id)
  local list_right = nominations.list_right(actor, c, s)
  local readable = M.readable(actor, c, s, all, role, now)
  local change_right = nominations.change_right(actor, c, s)
  local track = cycles.can(actor, "feedback_cycles.track", c)
  if not (list_right or change_right or #readable > 0 or track) then
    errors.not_found("There is no such 360.")
  end
  local users = db.query("SELECT id, name, email, job_title, department FROM users WHERE id IN (?, ?)",
    s.reviewee_id, s.manager_id or 0)
  local by = util.index_by(users, "id")
  local v = { cycle = c, subject = s, reviewee = by[s.reviewee_id], manager = s.manager_id and by[s.manager_id],
    is_reviewee = actor.id == s.reviewee_id, is_approver = nominations.is_approver(actor, c, s),
    released_to_reviewee = cycles.released_to_reviewee(c, s, now), released_to_managers = cycles.released_to_managers(c, s, now) }
  -- who was asked
  v.requests = {}
  local may_reopen = list_right and M.may_reopen(actor, c, s)
  if list_right then
    for _, r in ipairs(all) do
      if list_right == "all" or r.proposed_by == actor.id or r.relationship == "self" then
        local x = { id = r.id, reviewer_id = r.reviewer_id, name = r.reviewer_name, email = r.reviewer_email,
          kind = r.reviewer_kind, relationship = r.relationship, status = r.status, proposed_by = r.proposed_by_name,
          feedback_status = r.feedback_status, declined_at = r.declined_at }
        -- the reason is the reviewer's confidential words: the manager the cycle fixed, HR Admins
        -- (as for reopening: never about someone above them), the reviewee when the cycle tells
        -- them; those who only track (HR Assistants) never
        if r.status == "declined" and (s.manager_id == actor.id or (v.is_reviewee and c.rules.decline_tells_reviewee)
            or may_reopen) then
          x.decline_reason = nominations.decline_reason(r)
        end
        v.requests[#v.requests + 1] = x
      end
    end
  end
  v.counted = nominations.counted(all)
  -- the feedback, grouped
  local ids = {}
  for _, r in ipairs(readable) do ids[#ids + 1] = r.id end
  v.groups = M.groups(c, s, readable, answers_of_many(ids))
  local shared_total = 0
  for _, r in ipairs(all) do if r.status == "approved" and r.feedback_status == "shared" then shared_total = shared_total + 1 end end
  v.shared_total = shared_total
  v.can = {
    read = #readable > 0, track = track, list = list_right,
    change = change_right, approve = v.is_approver and workflows.allows(c, "approve"),
    submit = change_right ~= nil and change_right ~= "approver" and change_right ~= "replacement" and not s.nominations_done_at
      and not s.approved_at,
    nudge = (not s.nominations_done_at and not s.approved_at and cycles.running(c)) and (v.is_approver or track
      or authz.relation(actor.id, s.reviewee_id):match("manager") ~= nil) and not v.is_reviewee,
    release = actor.id == s.manager_id and c.visibility.reviewee_reads and c.visibility.manager_early_release
      and not v.released_to_reviewee and cycles.running(c),
    reopen = M.may_reopen(actor, c, s),
    pdf = #readable > 0 and cycles.can(actor, "feedback.export_pdf", c)
      and (access.can(actor, "feedback.export_pdf", { subject = s.reviewee_id })),
  }
  v.events = db.query([[SELECT e.at, e.action, u.name AS actor_name FROM feedback_events e
    LEFT JOIN users u ON u.id = e.actor_id WHERE e.subject_id = ? ORDER BY e.at, e.id]], s.id)
  for _, e in ipairs(v.events) do e.label = M.HISTORY[e.action] or e.action end
  if not opts.no_mark and #readable > 0 then
    local col = v.is_reviewee and "reviewee_read_at" or (actor.id == s.manager_id and "manager_read_at") or nil
    if col and not s[col] then
      db.transaction(function() db.exec("UPDATE feedback_subjects SET " .. col .. " = ? WHERE id = ?", now, s.id) end)
    end
  end
  return v
end

--- The reviewer's own request, to write or reread: { request, subject, cycle, reviewee,
--- answers, questions, can = { edit, share, decline }, reason (when not editable) }.
function M.own(actor, request_id)
  local r, s, c = load(request_id)
  require_author(actor, r)
  local reviewee = db.row("SELECT id, name, job_title FROM users WHERE id = ?", s.reviewee_id)
  local editable, why = M.editable(c, s, r)
  return { request = r, subject = s, cycle = c, reviewee = reviewee, answers = answers_of(r.id),
    questions = questionnaire.questions(c.questionnaire), stage = cycles.stage(c, s, r),
    can = { edit = editable, share = editable and r.feedback_status ~= "shared",
      decline = r.status == "approved" and r.relationship ~= "self" and r.feedback_status ~= "shared"
        and workflows.allows(c, "write") },
    reason = not editable and why or nil }
end

-- ------------------------------------------------------------------ lists

--- Someone's feedback requests (what they are asked to write and what they wrote), newest
--- cycle first, past cycles too. Guests see this and nothing else.
function M.requests_of(user)
  return db.query([[SELECT r.id, r.status, r.feedback_status, r.relationship, r.shared_at, r.subject_id,
      c.id AS cycle_id, c.name AS cycle_name, c.phase, c.write_due, c.start_date, u.name AS reviewee_name
    FROM feedback_nominations r JOIN feedback_cycles c ON c.id = r.cycle_id
    JOIN feedback_subjects s ON s.id = r.subject_id JOIN users u ON u.id = s.reviewee_id
    WHERE r.reviewer_id = ? AND r.status IN ('approved', 'declined') AND c.phase <> 'draft'
    ORDER BY c.start_date DESC, c.id DESC, u.name COLLATE FOLD LIMIT 200]], user.id)
end

--- A reviewee's own 360s (newest first).
function M.subjects_of(user)
  return db.query([[SELECT s.*, c.name AS cycle_name, c.phase, c.start_date, c.release_date, c.visibility AS cycle_visibility
    FROM feedback_subjects s JOIN feedback_cycles c ON c.id = s.cycle_id
    WHERE s.reviewee_id = ? AND c.phase <> 'draft' ORDER BY c.start_date DESC, s.id DESC LIMIT 50]], user.id)
end

local function writing_label(r)
  if r.relationship == "self" then return ("Write your self-feedback (%s)"):format(r.cycle_name) end
  return ("Write feedback about %s (%s)"):format(r.reviewee_name, r.cycle_name)
end

--- The signed-in person's 360 to-dos for the home page: nominate, approve, write, read.
--- A handful of queries whatever the number of cycles or reports.
function M.todos(user)
  local out = {}
  local wf = workflows
  for _, r in ipairs(db.query([[SELECT r.id, r.relationship, c.name AS cycle_name, c.write_due, c.id AS cycle_id,
      c.phase, c.workflow, c.workflow_version_id, s.id AS subject_id, s.released_at, c.release_date,
      c.manager_release_date, c.visibility, r.feedback_status, r.status, u.name AS reviewee_name
    FROM feedback_nominations r JOIN feedback_cycles c ON c.id = r.cycle_id JOIN feedback_subjects s ON s.id = r.subject_id
    JOIN users u ON u.id = s.reviewee_id
    WHERE r.reviewer_id = ? AND r.status = 'approved' AND r.feedback_status <> 'shared'
      AND c.phase NOT IN ('draft', 'closed')]], user.id)) do
    if wf.allows(r, "write") then
      out[#out + 1] = { label = writing_label(r), href = "/feedback/requests/" .. r.id, due = r.write_due }
    end
  end
  if user.kind == "guest" then return out end
  local subjects = db.query([[SELECT s.*, c.name AS cycle_name, c.phase, c.workflow, c.workflow_version_id, c.rules,
      c.visibility, c.nominate_due, c.approve_due, c.release_date, c.manager_release_date, u.name AS reviewee_name,
      (SELECT count(*) FROM feedback_nominations r WHERE r.subject_id = s.id AND r.status = 'proposed') AS proposed,
      (SELECT count(*) FROM feedback_nominations r WHERE r.subject_id = s.id AND r.status = 'approved'
        AND r.feedback_status = 'shared') AS shared
    FROM feedback_subjects s JOIN feedback_cycles c ON c.id = s.cycle_id JOIN users u ON u.id = s.reviewee_id
    WHERE (s.reviewee_id = ? OR s.manager_id = ?) AND c.phase NOT IN ('draft')]], user.id, user.id)
  local approvals = {}
  for _, s in ipairs(subjects) do
    local c = cycles.decode({ id = s.cycle_id, rules = s.rules, visibility = s.visibility, release_date = s.release_date,
      manager_release_date = s.manager_release_date, phase = s.phase, workflow = s.workflow,
      workflow_version_id = s.workflow_version_id })
    local running = s.phase ~= "closed"
    local href = "/feedback/360/" .. s.id
    if s.reviewee_id == user.id then
      if running and c.rules.nominator == "reviewee" and not s.nominations_done_at and not s.approved_at
        and wf.allows(c, "nominate") then
        out[#out + 1] = { label = ("Choose who gives you feedback (%s)"):format(s.cycle_name), href = href, due = s.nominate_due }
      elseif running and s.approved_at and nominations.open_replacements(c, s) > 0 then
        out[#out + 1] = { label = ("A reviewer declined: choose someone else (%s)"):format(s.cycle_name), href = href }
      end
      if c.visibility.reviewee_reads and s.shared > 0 and not s.reviewee_read_at and cycles.released_to_reviewee(c, s) then
        out[#out + 1] = { label = ("Read your 360 feedback (%s)"):format(s.cycle_name), href = href }
      end
    elseif s.manager_id == user.id then
      if running and c.rules.nominator == "manager" and not s.nominations_done_at and not s.approved_at
        and wf.allows(c, "nominate") then
        out[#out + 1] = { label = ("Choose who gives %s feedback (%s)"):format(s.reviewee_name, s.cycle_name), href = href,
          due = s.nominate_due }
      end
      if running and (s.proposed > 0 or (s.nominations_done_at and not s.approved_at)) and wf.allows(c, "approve") then
        local a = approvals[s.cycle_id] or { n = 0, cycle = s.cycle_name, due = s.approve_due }
        a.n = a.n + 1
        approvals[s.cycle_id] = a
      end
      if c.visibility.direct_manager_reads and s.shared > 0 and not s.manager_read_at and cycles.released_to_managers(c, s) then
        out[#out + 1] = { label = ("Read the feedback about %s (%s)"):format(s.reviewee_name, s.cycle_name), href = href }
      end
    end
  end
  for cycle_id, a in pairs(approvals) do
    out[#out + 1] = { label = ("Approve the reviewers of %s (%s)"):format(util.plural(a.n, "report"), a.cycle),
      href = "/feedback/cycles/" .. cycle_id .. "/approvals", due = a.due }
  end
  return out
end

--- The home page panel: the feedback someone was asked for and wrote, past cycles included.
function M.written_panel(user)
  local rows = M.requests_of(user)
  local items = {}
  for _, r in ipairs(rows) do
    local badge, cls
    if r.status == "declined" then badge, cls = "Declined", "badge-muted"
    elseif r.feedback_status == "shared" then badge, cls = "Shared", "badge-ok"
    elseif r.phase == "closed" then badge, cls = "Not written", "badge-muted"
    else badge, cls = r.feedback_status == "draft" and "Draft" or "To write", "badge-warn" end
    items[#items + 1] = { label = r.relationship == "self" and "About yourself" or ("About " .. r.reviewee_name),
      href = "/feedback/requests/" .. r.id, note = r.cycle_name, badge = badge, badge_class = cls }
  end
  if #items == 0 and user.kind ~= "guest" then return nil end
  return { title = "Feedback you were asked for", items = items,
    empty = "When someone asks you for feedback, it appears here, and stays here once you have written it." }
end

--- The home page panel: one's own 360s.
function M.own_panel(user)
  if user.kind == "guest" then return nil end
  local rows = M.subjects_of(user)
  if #rows == 0 then return nil end
  local items = {}
  for _, s in ipairs(rows) do
    local badge, cls
    if s.approved_at then badge, cls = "Reviewers approved", "badge-brand"
    elseif s.nominations_done_at then badge, cls = "Waiting for approval", "badge-warn"
    else badge, cls = "Choosing reviewers", "badge-warn" end
    if s.phase == "closed" then badge, cls = "Closed", "badge-muted" end
    items[#items + 1] = { label = s.cycle_name, href = "/feedback/360/" .. s.id, note = util.human_date(s.start_date),
      badge = badge, badge_class = cls }
  end
  return { title = "Your 360 feedback", items = items, empty = "" }
end

--- The running and closed 360 cycles in which actor's direct or indirect reports (or people whose
--- manager the cycle fixed as actor) are reviewees: { { id, name, phase, reviewees } }, newest
--- first. One query (none without reports).
function M.team_cycles(actor)
  local ids = authz.reports(actor.id, false)
  if #ids == 0 then return {} end
  return db.query([[SELECT c.id, c.name, c.phase, count(*) AS reviewees FROM feedback_subjects s
    JOIN feedback_cycles c ON c.id = s.cycle_id
    WHERE c.phase <> 'draft' AND (s.reviewee_id IN (SELECT value FROM json_each(?)) OR s.manager_id = ?)
    GROUP BY c.id ORDER BY c.start_date DESC, c.id DESC]], json.encode(ids), actor.id)
end

M.TEAM_PER_PAGE = 100

--- A manager's page for one cycle: their direct and indirect reports in it (and whoever they
--- approve for), with counts and what they can do (approve, nudge), by name. opts.page: only that
--- page of M.TEAM_PER_PAGE (the third value says { page, pages, total }); opts.approver: only those
--- they approve for. Four queries whatever the team's size.
function M.team(actor, cycle_id, opts)
  opts = opts or {}
  local c = cycles.require(cycle_id)
  local ids = authz.reports(actor.id, false)
  local direct = {}
  for _, id in ipairs(authz.reports(actor.id, true)) do direct[id] = true end
  local rows, paging = {}, { page = 1, pages = 1, total = 0 }
  if #ids > 0 then
    local where, args = "(s.reviewee_id IN (SELECT value FROM json_each(?)) OR s.manager_id = ?)",
      { json.encode(ids), actor.id }
    if opts.approver then where, args = "s.manager_id = ?", { actor.id } end
    if opts.page then -- the reviewees by name (directory.name_order), then the counts of one page of them
      local reviewees = directory.sorted_by_name(db.column("SELECT s.reviewee_id FROM feedback_subjects s "
        .. "WHERE s.cycle_id = ? AND " .. where, c.id, table.unpack(args)), true)
      local shown
      shown, paging = directory.paged(reviewees, opts.page, M.TEAM_PER_PAGE)
      where, args = "s.reviewee_id IN (SELECT value FROM json_each(?))", { json.encode(shown) }
    end
    rows = db.query([[SELECT s.id, s.reviewee_id, s.manager_id, s.nominations_done_at, s.approved_at, s.released_at,
        u.name, u.job_title, m.name AS manager_name,
        (SELECT count(*) FROM feedback_nominations r WHERE r.subject_id = s.id AND r.status <> 'declined'
          AND r.relationship NOT IN ('self', 'manager')) AS nominated,
        (SELECT count(*) FROM feedback_nominations r WHERE r.subject_id = s.id AND r.status = 'approved'
          AND r.relationship NOT IN ('self', 'manager')) AS approved,
        (SELECT count(*) FROM feedback_nominations r WHERE r.subject_id = s.id AND r.status = 'proposed') AS proposed,
        (SELECT count(*) FROM feedback_nominations r WHERE r.subject_id = s.id AND r.status = 'approved'
          AND r.feedback_status = 'shared' AND r.relationship NOT IN ('self', 'manager')) AS written,
        (SELECT count(*) FROM feedback_nominations r WHERE r.subject_id = s.id AND r.status = 'declined') AS declined,
        EXISTS (SELECT 1 FROM feedback_nominations r WHERE r.subject_id = s.id AND r.status = 'approved'
          AND r.feedback_status = 'shared') AS any_shared
      FROM feedback_subjects s JOIN users u ON u.id = s.reviewee_id LEFT JOIN users m ON m.id = s.manager_id
      WHERE s.cycle_id = ? AND ]] .. where .. [[ ORDER BY u.name COLLATE FOLD, s.id]], c.id, table.unpack(args))
    if not opts.page then paging.total, paging.pages = #rows, 1 end
  end
  -- opens: whether the reviewee's 360 page opens for actor, by the rights M.view asks for (the
  -- list, changing it, or feedback to read: any shared request stands for them), so the page links
  -- only those; an indirect report's 360 answers 404 to a manager further up unless the cycle lets them read
  local role = cycles.cycle_role(actor.id, c.id) or false
  local track = cycles.can(actor, "feedback_cycles.track", c)
  local now = clock.now()
  for _, r in ipairs(rows) do
    r.direct = direct[r.reviewee_id] or r.manager_id == actor.id
    r.approver = r.manager_id == actor.id
    r.opens = track or nominations.list_right(actor, c, r, role) ~= nil
      or nominations.change_right(actor, c, r, role) ~= nil
      or (r.any_shared == 1 and M.may_read(actor, c, r, SHARED, role, now))
  end
  if paging.total == 0 and not cycles.can(actor, "feedback_cycles.track", c) then
    errors.not_found("None of your reports is in this 360 cycle.")
  end
  return c, rows, paging
end

--- Everything the 360 module adds to other parts of the app, in one place, by hooking their
--- events: home to-dos and panels, navigation (the cycles' pages add theirs: routes/cycle_routes).
--- Where each of people (ids) is in the latest running 360 cycle they are reviewed in: { [id] =
--- { text, href } } (the cycle's team page), counts only. One query.
function M.team_column(ids)
  local out = {}
  for _, s in ipairs(db.query([[SELECT s.reviewee_id, s.cycle_id, s.nominations_done_at, s.approved_at,
      (SELECT count(*) FROM feedback_nominations r WHERE r.subject_id = s.id AND r.status = 'approved'
        AND r.relationship NOT IN ('self', 'manager')) AS approved,
      (SELECT count(*) FROM feedback_nominations r WHERE r.subject_id = s.id AND r.status = 'approved'
        AND r.relationship NOT IN ('self', 'manager') AND r.feedback_status = 'shared') AS written
    FROM feedback_subjects s JOIN feedback_cycles c ON c.id = s.cycle_id
    WHERE s.reviewee_id IN (SELECT value FROM json_each(?)) AND c.phase NOT IN ('draft', 'closed')
    ORDER BY c.start_date DESC, c.id DESC]], json.encode(ids))) do
    if not out[s.reviewee_id] then
      local text = s.approved_at and ("%d of %d written"):format(s.written, s.approved)
        or (s.nominations_done_at and "Reviewers to approve" or "Choosing reviewers")
      out[s.reviewee_id] = { text = text, href = "/feedback/cycles/" .. s.cycle_id .. "/team" }
    end
  end
  return out
end

function M.init(app)
  events.hook("team.columns", function(e)
    local ids = {}
    for i, p in ipairs(e.people) do ids[i] = p.id end
    e.columns[#e.columns + 1] = { label = "360 feedback", values = M.team_column(ids), empty = "—" }
  end)
  events.hook("home.todos", function(e)
    for _, t in ipairs(M.todos(e.user)) do e.items[#e.items + 1] = t end
  end)
  events.hook("home.panels", function(e)
    for _, panel in ipairs({ M.own_panel, M.written_panel }) do
      local p = panel(e.user)
      if p then e.panels[#e.panels + 1] = p end
    end
  end)
  events.hook("page.nav", function(e)
    if e.user.kind == "guest" then return end
    e.items[#e.items + 1] = { id = "feedback", label = "360 feedback", href = "/feedback", icon = "◎", order = 12 }
  end)
  M.app = app
end

return M
