-- Reviews: the reviewee's self-assessment and the manager's review, each a set of encrypted
-- answers; drafts kept as people type; submit, share, sign (both signatures close the review,
-- which is then read-only); HR Admins reopen with a reason. Every read asks the permission
-- evaluator with the cycle's visibility settings (which supersede roles). Every change fires
-- its event (review.*, docs/events.md); the cycle's workflow hooks them for its timeline.
local db = require "lib.db"
local json = require "lib.json"
local memo = require "lib.memo"
local util = require "lib.util"
local dates = require "lib.dates"
local crypt = require "lib.crypt"
local errors = require "lib.errors"
local events = require "lib.events"
local clock = require "core.clock"
local authz = require "core.authz"
local access = require "services.access"
local accounts = require "services.accounts"
local audit = require "services.audit"
local reasons = require "services.reasons"
local cycles = require "services.cycles"
local directory = require "services.directory"
local mail = require "services.mail"
local questionnaire = require "services.questionnaire"
local workflows = require "services.workflows"
local reminders = require "services.reminders"

local M = {}

-- The facts every review.* event carries.
local function fire(name, r, actor, extra)
  local data = { review_id = r.id, cycle_id = r.cycle_id, reviewee_id = r.reviewee_id, manager_id = r.manager_id,
    actor_id = actor and actor.id }
  for k, v in pairs(extra or {}) do data[k] = v end
  events.fire(name, data)
end

crypt.register{ table = "answers", column = "value_enc", key = { "review_id", "author", "question_id" } }

-- ------------------------------------------------------------------ visibility

-- What each relationship may read of the two parts, by the stage the part has reached.
-- Drafts stay with their writer; the cycle's settings decide for the reviewee and managers
-- higher up (see services/cycles.lua VISIBILITY_DEFAULT).
local function vis_of(c, part)
  local indirect = c.visibility.indirect_managers and "after_submit" or "never"
  if part == "self" then
    return { self = "always", direct_manager = "after_submit", indirect_manager = indirect,
      hr = "after_submit", reviewer = "after_submit" }
  end
  return { self = c.visibility.reviewee_sees == "after_sign" and "after_sign" or "after_share",
    direct_manager = "always", indirect_manager = indirect, hr = "after_submit", reviewer = "always" }
end
M.vis_of = vis_of

local function stage_of(r, part)
  if part == "self" then return r.self_status == "submitted" and "submitted" or "draft" end
  if r.manager_signed_at then return "signed" end
  if r.manager_status == "shared" then return "shared" end
  if r.manager_status == "submitted" then return "submitted" end
  return "draft"
end

-- The chains seen lately (manager_chain JSON text -> set of ids): a cycle has few writers.
local chain_sets, chain_count = {}, 0

local function in_chain(chain, id)
  if not chain then return false end
  local set = chain_sets[chain]
  if not set then
    if chain_count > 1000 then chain_sets, chain_count = {}, 0 end
    set = {}
    for _, x in ipairs(json.decode(chain) or {}) do set[x] = true end
    chain_sets[chain], chain_count = set, chain_count + 1
  end
  return set[id] == true
end

--- The actor's part in review r as it is fixed on the review, not by today's reporting lines:
--- "writer" (the reviewing manager), "above" (a manager above the writer when the writer was
--- fixed: at the start, or when HR chose another writer), or nil.
function M.fixed_part(actor_id, r)
  if r.manager_id and actor_id == r.manager_id then return "writer" end
  if in_chain(r.manager_chain, actor_id) then return "above" end
  return nil
end

-- The evaluator decides by today's relation of actor and reviewee (self, direct or indirect
-- manager, the hierarchy rule). A review is read by the relations fixed on it instead: the
-- level of today's manager slots is the actor's fixed part's (the writer's, or the managers
-- above the writer's); someone who is a manager today without a fixed part reads only as far
-- as their roles let anyone (HR's level), so a reporting line set after the fact opens nothing.
local function ctx_for(actor, r, c, part, cycle_role)
  local base = vis_of(c, part)
  local fixed = M.fixed_part(actor.id, r)
  local level
  if fixed == "writer" then level = base.direct_manager
  elseif fixed == "above" then level = base.indirect_manager
  elseif access.can(actor, "reviews.read", cycle_role and { cycle_role = cycle_role } or nil) then level = base.hr
  else level = "never" end
  return { subject = r.reviewee_id, stage = stage_of(r, part), cycle_role = cycle_role,
    vis = { self = base.self, hr = base.hr, direct_manager = level, indirect_manager = level, reviewer = level },
    rel = { reviewer = fixed ~= nil } }
end

--- Whether actor may read part ("self" | "manager") of review r in cycle c, and the rule.
function M.can_read(actor, r, c, part, cycle_role)
  if cycle_role == nil then cycle_role = cycles.cycle_role(actor.id, c.id) or false end
  return access.can(actor, "reviews.read", ctx_for(actor, r, c, part, cycle_role or nil))
end

-- ------------------------------------------------------------------ reading

function M.get(id)
  id = math.tointeger(tonumber(id))
  return id and db.row("SELECT * FROM reviews WHERE id = ?", id)
end

function M.decrypt_value(review_id, author, question_id, blob)
  local text = crypt.open("answers", "value_enc", { review_id, author, question_id }, blob)
  return json.decode(text)
end

local function answers_of(review_id, author)
  local out = {}
  for _, a in ipairs(db.query("SELECT question_id, value_enc, updated_at FROM answers WHERE review_id = ? AND author = ?",
      review_id, author)) do
    out[a.question_id] = M.decrypt_value(review_id, author, a.question_id, a.value_enc)
  end
  return out
end

--- Why the manager may not take shared review r back now, or nil: only its writer, while the
--- cycle's workflow lets reviews be shared, until the reviewee signs.
local function unshare_problem(actor, r, c)
  if actor.id ~= r.manager_id then return 403, "Only the reviewing manager takes a review back." end
  if r.manager_status ~= "shared" then return 409, "This review is not shared." end
  if r.reviewee_signed_at then
    return 409, "The reviewee signed it already: it can no longer be taken back. HR can reopen it if it must change."
  end
  if r.closed_at or not cycles.running(c) then return 409, "This cycle is not running." end
  if not workflows.allows(c, "share") then return 409, "Reviews cannot be shared or taken back in this phase of the cycle." end
  return nil
end

-- The permission decisions behind what actor sees of review r: taken on every request, never kept.
local function decide(actor, r, c, role_of)
  local role_in_cycle
  if role_of then role_in_cycle = role_of(c) else role_in_cycle = cycles.cycle_role(actor.id, c.id) end
  local in_cycle = role_in_cycle and { cycle_role = role_in_cycle } or nil -- as cycles.can counts it
  local d = { c = c, role_in_cycle = role_in_cycle,
    is_reviewee = actor.id == r.reviewee_id, is_manager = actor.id == r.manager_id,
    read_self = c.self_assessment and M.can_read(actor, r, c, "self", role_in_cycle or false),
    read_manager = M.can_read(actor, r, c, "manager", role_in_cycle or false),
    track = access.can(actor, "review_cycles.track", in_cycle) }
  if not (d.is_reviewee or d.is_manager or d.read_self or d.read_manager or d.track) then
    errors.not_found("There is no such review.")
  end
  d.may_reopen = M.may_reopen(actor, r, c, role_in_cycle)
  d.manage = access.can(actor, "review_cycles.manage", in_cycle)
  return d
end

-- What actor sees of review r once decided (d): every value below comes from rows.
local function assemble(actor, r, d)
  local c = d.c
  local is_reviewee, is_manager, read_self, read_manager = d.is_reviewee, d.is_manager, d.read_self, d.read_manager
  local users = db.query("SELECT id, name, email, job_title, department, manager_id FROM users WHERE id IN (?, ?)",
    r.reviewee_id, r.manager_id or 0)
  local by = util.index_by(users, "id")
  local v = { review = r, cycle = c, reviewee = by[r.reviewee_id], manager = r.manager_id and by[r.manager_id],
    role = is_reviewee and "reviewee" or (is_manager and "manager" or "viewer"), questions = questionnaire.questions(c.questionnaire) }
  if read_self then v.self = answers_of(r.id, "self") end
  if read_manager then
    v.manager_answers = answers_of(r.id, "manager")
    if is_reviewee then
      for _, q in ipairs(v.questions) do
        if q.audience == "manager_private" then v.manager_answers[q.id] = nil end
      end
    end
  end
  local closed = r.closed_at ~= nil
  local wf = workflows
  v.can = {
    write_self = is_reviewee and c.self_assessment and not closed and (r.self_status == "not_started" or r.self_status == "draft")
      and wf.allows(c, "self_write"),
    write_manager = is_manager and not closed and r.manager_status ~= "shared" and wf.allows(c, "manager_write"),
    share = is_manager and not closed and r.manager_status ~= "shared" and wf.allows(c, "share"),
    sign = (is_reviewee and r.manager_status == "shared" and not r.reviewee_signed_at and wf.allows(c, "sign"))
      or (is_manager and r.manager_status == "shared" and not r.manager_signed_at and wf.allows(c, "sign")),
    reopen = (closed or r.manager_status == "shared") and d.may_reopen,
    read_self = read_self, read_manager = read_manager, track = d.track,
    unshare = unshare_problem(actor, r, c) == nil,
    choose_writer = not closed and c.phase ~= "closed" and d.manage,
  }
  v.can.pdf = read_self or read_manager
  v.events = db.query([[SELECT e.at, e.action, e.details, u.name AS actor_name FROM review_events e
    LEFT JOIN users u ON u.id = e.actor_id WHERE e.review_id = ? ORDER BY e.at, e.id]], r.id)
  return v
end

--- Everything actor may see of a review: { review, cycle, reviewee, manager, role = "reviewee" |
--- "manager" | "viewer", can = {...}, self = { answers } or nil, manager = { answers } or nil,
--- questions = list with who answers what }. 404 when actor has no business with it.
function M.view(actor, id)
  local r = M.get(id)
  if not r then errors.not_found("There is no such review.") end
  return assemble(actor, r, decide(actor, r, cycles.require(r.cycle_id)))
end

-- Rendered views (render(view) -> text, e.g. the API's JSON), kept per viewer, review and
-- decisions while none of the tables a view is assembled from changed (lib/memo.lua): the review
-- row, its cycle and the cycle's admins, the answers, the people, the review's history and the
-- workflow versions. The texts hold decrypted answers, like the chart memo of services/cycles.lua:
-- at most 2 x 128 of them, and only while no answer (nor any other of those tables) is written.
local rendered = memo.new({ "reviews", "cycles", "cycle_admins", "answers", "users", "review_events",
  "workflow_versions" }, 128)
M.rendered_memo = rendered

-- Review rows and cycle roles by id, kept while their tables are unchanged (read-only values).
local review_rows = memo.new({ "reviews" }, 1024)
local function load_review(id) return db.row("SELECT * FROM reviews WHERE id = ?", id) end
local cycle_roles = memo.new({ "cycle_admins" }, 1024)
local function load_cycle_role(_, user_id, cycle_id) return cycles.cycle_role(user_id, cycle_id) or false end

--- view(actor, id) rendered by render(view) -> text. The review row is read and every permission
--- decision taken on each call (they are part of the key); the rendering is kept per viewer while
--- the rows it comes from are unchanged.
function M.view_rendered(actor, id, render)
  id = math.tointeger(tonumber(id))
  local r = id and review_rows:fetch(id, load_review)
  if not r then errors.not_found("There is no such review.") end
  local c = cycles.get_shared(r.cycle_id) -- (read only)
  if not c then errors.not_found("There is no such review cycle.") end
  local d = decide(actor, r, c, function()
    return cycle_roles:fetch(actor.id .. ":" .. c.id, load_cycle_role, actor.id, c.id) or nil
  end)
  -- (one concatenation: string.format turns each boolean into text through tostring, a
  -- microsecond of every request)
  local key = actor.id .. ":" .. r.id .. ":" .. (d.read_self and "1" or "0") .. (d.read_manager and "1" or "0")
    .. (d.track and "1" or "0") .. (d.may_reopen and "1" or "0") .. (d.manage and "1" or "0") .. ":"
    .. (d.role_in_cycle or "")
  return rendered:fetch(key, function() return render(assemble(actor, r, d)) end)
end

-- ------------------------------------------------------------------ writing

local function event(r, actor, action, details)
  db.exec("INSERT INTO review_events(review_id, at, actor_id, action, details) VALUES(?,?,?,?,?)",
    r.id, clock.now(), actor and actor.id, action, json.encode(details or {}))
end

local function writable_part(actor, r, c, author)
  if r.closed_at then errors.conflict("This review is signed by both and read-only. HR can reopen it.") end
  if not cycles.running(c) then errors.conflict("This cycle is not running.") end
  if author == "self" then
    if actor.id ~= r.reviewee_id then errors.forbidden("Only the reviewee writes the self-assessment.") end
    if not c.self_assessment then errors.conflict("This cycle has no self-assessment.") end
    if r.self_status == "submitted" then errors.conflict("You submitted your self-assessment already.") end
    if not workflows.allows(c, "self_write") then errors.conflict("Self-assessments cannot be written in this phase.") end
  elseif author == "manager" then
    if actor.id ~= r.manager_id then errors.forbidden("Only the reviewing manager writes this review.") end
    if r.manager_status == "shared" then errors.conflict("You shared this review already.") end
    if not workflows.allows(c, "manager_write") then errors.conflict("Manager reviews cannot be written in this phase.") end
  else
    errors.not_found()
  end
end

--- Saves draft answers of one part: values is { question_id = value } (a value of nil or ""
--- clears the answer). Unknown questions and bad values are refused as a whole (422).
function M.save_answers(actor, id, author, values, req)
  local r = M.get(id)
  if not r then errors.not_found("There is no such review.") end
  local c = cycles.require(r.cycle_id)
  writable_part(actor, r, c, author)
  if type(values) ~= "table" then errors.bad_request("Send the answers as an object.") end
  local by_id = {}
  for _, q in ipairs(questionnaire.questions(c.questionnaire)) do by_id[q.id] = q end
  local clean, problems, clear = {}, {}, {}
  values.csrf_token = nil -- a form field, not an answer
  for qid, v in pairs(values) do
    local q = by_id[qid]
    if type(qid) ~= "string" then problems["?"] = "unknown question"
    elseif not q or not questionnaire.answers(q, author) then problems[qid] = "is not a question for you here"
    else
      local val, msg = questionnaire.check_value(q, v)
      if msg then problems[qid] = msg
      elseif val == nil then clear[#clear + 1] = qid
      else clean[qid] = val end
    end
  end
  if next(problems) then errors.invalid(problems, "Some answers are not valid.") end
  local now = clock.now()
  return db.transaction(function()
    for qid, val in pairs(clean) do
      db.exec([[INSERT INTO answers(review_id, author, question_id, value_enc, updated_at) VALUES(?,?,?,?,?)
        ON CONFLICT(review_id, author, question_id) DO UPDATE SET value_enc = excluded.value_enc,
        updated_at = excluded.updated_at]],
        r.id, author, qid, crypt.seal("answers", "value_enc", { r.id, author, qid }, json.encode(val)), now)
    end
    for _, qid in ipairs(clear) do
      db.exec("DELETE FROM answers WHERE review_id = ? AND author = ? AND question_id = ?", r.id, author, qid)
    end
    local col = author == "self" and "self_status" or "manager_status"
    db.exec("UPDATE reviews SET " .. col .. " = CASE " .. col .. " WHEN 'not_started' THEN 'draft' ELSE " .. col
      .. " END, updated_at = ? WHERE id = ?", now, r.id)
    fire("review.draft_saved", r, actor, { part = author })
    return M.get(r.id)
  end)
end

local function missing_required(r, c, author)
  local have = {}
  for _, qid in ipairs(db.column("SELECT question_id FROM answers WHERE review_id = ? AND author = ?", r.id, author)) do
    have[qid] = true
  end
  local missing = {}
  for _, q in ipairs(questionnaire.questions(c.questionnaire)) do
    if q.required and questionnaire.answers(q, author) and not have[q.id] then missing[q.id] = "needs an answer" end
  end
  return missing
end

--- The reviewee submits the self-assessment (the manager can read it from now on).
function M.submit_self(actor, id, req)
  local r = M.get(id)
  if not r then errors.not_found("There is no such review.") end
  local c = cycles.require(r.cycle_id)
  writable_part(actor, r, c, "self")
  local missing = missing_required(r, c, "self")
  if next(missing) then errors.invalid(missing, "Answer the required questions before submitting.") end
  return db.transaction(function()
    local now = clock.now()
    db.exec("UPDATE reviews SET self_status = 'submitted', self_submitted_at = ?, updated_at = ? WHERE id = ?", now, now, r.id)
    event(r, actor, "self_submitted")
    fire("review.self_submitted", r, actor)
    return M.get(r.id)
  end)
end

--- The manager marks the review ready (e.g. for a calibration phase) without sharing it yet.
function M.submit_manager(actor, id, req)
  local r = M.get(id)
  if not r then errors.not_found("There is no such review.") end
  local c = cycles.require(r.cycle_id)
  writable_part(actor, r, c, "manager")
  local missing = missing_required(r, c, "manager")
  if next(missing) then errors.invalid(missing, "Answer the required questions first.") end
  return db.transaction(function()
    local now = clock.now()
    db.exec("UPDATE reviews SET manager_status = 'submitted', manager_submitted_at = ?, updated_at = ? WHERE id = ?",
      now, now, r.id)
    event(r, actor, "manager_submitted")
    fire("review.manager_submitted", r, actor)
    return M.get(r.id)
  end)
end

--- The manager shares the review with the reviewee.
function M.share(actor, id, req)
  local r = M.get(id)
  if not r then errors.not_found("There is no such review.") end
  local c = cycles.require(r.cycle_id)
  if actor.id ~= r.manager_id then errors.forbidden("Only the reviewing manager shares the review.") end
  if r.closed_at then errors.conflict("This review is closed.") end
  if r.manager_status == "shared" then errors.conflict("This review is shared already.") end
  if not workflows.allows(c, "share") then errors.conflict("Reviews cannot be shared in this phase of the cycle.") end
  local missing = missing_required(r, c, "manager")
  if next(missing) then errors.invalid(missing, "Answer the required questions before sharing.") end
  return db.transaction(function()
    local now = clock.now()
    db.exec([[UPDATE reviews SET manager_status = 'shared', shared_at = ?,
      manager_submitted_at = coalesce(manager_submitted_at, ?), updated_at = ? WHERE id = ?]], now, now, now, r.id)
    event(r, actor, "shared")
    audit.record{ action = "review.share", actor = actor, req = req, target_type = "review", target_id = r.id,
      details = { cycle_id = c.id, reviewee_id = r.reviewee_id } }
    fire("review.shared", r, actor)
    return M.get(r.id)
  end)
end

--- The manager takes a shared review back to adjust it (until the reviewee signs): it is a
--- draft again, the reviewee no longer reads it and is told, and a signature the manager made
--- goes with the text it was made on (a signature is always of the final text). Logged.
function M.unshare(actor, id, req)
  local r = M.get(id)
  if not r then errors.not_found("There is no such review.") end
  local c = cycles.require(r.cycle_id)
  local status, problem = unshare_problem(actor, r, c)
  if status then errors.raise(status, status == 403 and "forbidden" or "conflict", problem) end
  return db.transaction(function()
    local now = clock.now()
    db.exec([[UPDATE reviews SET manager_status = 'draft', shared_at = NULL, manager_signed_at = NULL, updated_at = ?
      WHERE id = ?]], now, r.id)
    event(r, actor, "unshared", { signature_withdrawn = r.manager_signed_at ~= nil })
    audit.record{ action = "review.unshare", actor = actor, req = req, target_type = "review", target_id = r.id,
      details = { cycle_id = c.id, reviewee_id = r.reviewee_id, signature_withdrawn = r.manager_signed_at ~= nil } }
    fire("review.unshared", r, actor)
    return M.get(r.id)
  end)
end

--- The reviewee or the manager signs a shared review; both signatures close it.
function M.sign(actor, id, req)
  local r = M.get(id)
  if not r then errors.not_found("There is no such review.") end
  local c = cycles.require(r.cycle_id)
  local who
  if actor.id == r.reviewee_id then who = "reviewee" elseif actor.id == r.manager_id then who = "manager"
  else errors.forbidden("Only the reviewee and the reviewing manager sign.") end
  if r.manager_status ~= "shared" then errors.conflict("The review can be signed once the manager has shared it.") end
  if r[who .. "_signed_at"] then errors.conflict("You signed this review already.") end
  if not workflows.allows(c, "sign") then errors.conflict("Reviews cannot be signed in this phase of the cycle.") end
  return db.transaction(function()
    local now = clock.now()
    db.exec("UPDATE reviews SET " .. who .. "_signed_at = ?, updated_at = ? WHERE id = ?", now, now, r.id)
    db.exec([[UPDATE reviews SET closed_at = ? WHERE id = ? AND reviewee_signed_at IS NOT NULL
      AND manager_signed_at IS NOT NULL]], now, r.id)
    event(r, actor, "signed", { by = who })
    audit.record{ action = "review.sign", actor = actor, req = req, target_type = "review", target_id = r.id,
      details = { cycle_id = c.id, reviewee_id = r.reviewee_id, by = who } }
    local fresh = M.get(r.id)
    fire("review.signed", r, actor, { by = who })
    if fresh.closed_at then fire("review.closed", r, actor) end
    return fresh
  end)
end

--- HR Admins (and admins of the cycle) may reopen reviews of people not above them. It is an
--- HR decision: the relationship levels are all "never", so a manager (even one who is also
--- an HR Admin) cannot reopen the review they are part of.
function M.may_reopen(actor, r, c, cycle_role)
  return access.can(actor, "reviews.read", { subject = r.reviewee_id, vis = { hr = "always" }, stage = "signed",
    cycle_role = cycle_role or nil })
end

--- Reopens a shared or signed review with a reason (logged): signatures are cleared and the
--- manager can edit again; part "both" also reopens the self-assessment.
function M.reopen(actor, id, reason, part, req)
  local r = M.get(id)
  if not r then errors.not_found("There is no such review.") end
  local c = cycles.require(r.cycle_id)
  if not M.may_reopen(actor, r, c, cycles.cycle_role(actor.id, c.id)) then
    errors.forbidden("Only HR Admins (or admins of this cycle) reopen reviews, and never of someone above them.")
  end
  reason = util.trim(reason or "")
  if util.len(reason) < 5 then errors.invalid({ reason = "Say why the review is reopened (at least a few words)." }) end
  if util.len(reason) > 1000 then errors.invalid({ reason = "Keep the reason under 1,000 characters." }) end
  if r.manager_status ~= "shared" and not r.closed_at and part ~= "both" then
    errors.conflict("Only a shared or signed review can be reopened.")
  end
  return db.transaction(function()
    local now = clock.now()
    db.exec([[UPDATE reviews SET manager_status = 'draft', shared_at = NULL, reviewee_signed_at = NULL,
      manager_signed_at = NULL, closed_at = NULL, reopened_at = ?, updated_at = ? WHERE id = ?]], now, now, r.id)
    if part == "both" and r.self_status == "submitted" then
      db.exec("UPDATE reviews SET self_status = 'draft', self_submitted_at = NULL WHERE id = ?", r.id)
    end
    local reason_id = reasons.seal(reason) -- confidential: the history and the audit log keep its id
    event(r, actor, "reopened", { reason_id = reason_id, part = part or "manager" })
    audit.record{ action = "review.reopen", actor = actor, req = req, target_type = "review", target_id = r.id,
      details = { cycle_id = c.id, reviewee_id = r.reviewee_id, reason_id = reason_id, part = part or "manager" } }
    fire("review.reopened", r, actor, { part = part or "manager" })
    return M.get(r.id)
  end)
end

--- Why person m (a users row with id, name, kind, status) cannot write review r when actor
--- chooses them, or nil. The writer reads the review, so: an active employee, not the reviewee,
--- not someone below the reviewee (nobody reads the review of a person above them), and never
--- the person choosing nor someone below them unless the reviewee is below them too (choosing a
--- writer gives the chooser nothing: the managers above the writer read the review).
function M.writer_problem(actor, r, m)
  if not m or m.kind ~= "employee" or m.status == "deactivated" then
    return "Choose an active employee to write this review."
  end
  if m.id == r.reviewee_id then return "Nobody writes their own review as the manager." end
  if m.id == actor.id then
    return "You cannot choose yourself: someone else in HR must choose you, if it has to be you."
  end
  if authz.relation(m.id, r.reviewee_id) == "above" then
    local reviewee = db.value("SELECT name FROM users WHERE id = ?", r.reviewee_id)
    return ("%s reports to %s: nobody writes the review of someone above them."):format(m.name, reviewee)
  end
  -- the managers above the writer read the review: choosing one's own report would open it to the
  -- chooser, unless the reviewee reports to them already
  local mine = authz.relation(actor.id, m.id)
  if mine == "direct_manager" or mine == "indirect_manager" then
    local over = authz.relation(actor.id, r.reviewee_id)
    if over ~= "direct_manager" and over ~= "indirect_manager" then
      return ("%s reports to you: as their manager you would read this review. Someone else in HR must choose them."):format(
        m.name)
    end
  end
  return nil
end

--- HR chooses who writes one review (the reviewing manager; logged). In a draft cycle the
--- choice is kept when the cycle starts (e.g. for a reviewee without a manager); in a running
--- one it takes effect at once. Who reads the review follows: the new writer and the managers
--- above them now; the previous writer and those above only them no longer.
function M.change_manager(actor, id, manager_id, req)
  local r = M.get(id)
  if not r then errors.not_found("There is no such review.") end
  local c = cycles.require(r.cycle_id)
  cycles.require_perm(actor, "review_cycles.manage", c)
  if r.closed_at then errors.conflict("This review is closed; reopen it first.") end
  if c.phase == "closed" then errors.conflict("This cycle is closed.") end
  manager_id = math.tointeger(tonumber(manager_id))
  local m = manager_id and db.row("SELECT id, name, kind, status FROM users WHERE id = ?", manager_id)
  local problem = M.writer_problem(actor, r, m)
  if problem then errors.invalid({ manager_id = problem }, problem) end
  return db.transaction(function()
    db.exec([[UPDATE reviews SET manager_id = ?, manager_chain = ?, manager_chosen_by = ?, updated_at = ?
      WHERE id = ?]], m.id, cycles.chain_of(m.id), actor.id, clock.now(), r.id)
    event(r, actor, "manager_changed", { from = r.manager_id, to = m.id })
    audit.record{ action = "review.manager", actor = actor, req = req, target_type = "review", target_id = r.id,
      details = { cycle_id = c.id, reviewee_id = r.reviewee_id, from = r.manager_id, to = m.id } }
    fire("review.manager_changed", r, actor, { manager_id = m.id, from_manager_id = r.manager_id })
    return M.get(r.id)
  end)
end

-- ------------------------------------------------------------------ nudges, reminders, to-dos

--- A manager nudges a direct or indirect report who has not submitted their self-assessment
--- (at most once a day per review).
function M.nudge(actor, id, req)
  local r = M.get(id)
  if not r then errors.not_found("There is no such review.") end
  local c = cycles.require(r.cycle_id)
  local rel = authz.relation(actor.id, r.reviewee_id)
  if rel ~= "direct_manager" and rel ~= "indirect_manager" and actor.id ~= r.manager_id then
    errors.forbidden("You can nudge your direct and indirect reports.")
  end
  if not cycles.running(c) then errors.conflict("This cycle is not running.") end
  if r.self_status == "submitted" or r.self_status == "skipped" then errors.conflict("Nothing to nudge: the self-assessment is in.") end
  local reviewee = db.row("SELECT id, name, email FROM users WHERE id = ?", r.reviewee_id)
  local day = dates.today()
  return db.transaction(function()
    local queued = mail.queue{ template = "review.nudge", to = reviewee,
      vars = { sender = actor.name, cycle = c.name, due = c.self_due and util.human_date(c.self_due) or "",
        link = accounts.base_url() .. "/reviews/" .. r.id },
      related_type = "cycle", related_id = c.id, dedupe_key = ("nudge:%d:%s"):format(r.id, day) }
    if not queued then errors.too_many("A nudge went out for this review today already.", 86400) end
    event(r, actor, "nudged")
    fire("review.nudged", r, actor)
    return true
  end)
end

--- Who a bulk reminder would reach: audience "self_late" | "manager_late" | "unsigned" |
--- "selection" (review_ids). Returns a list of { review, to (user), template }.
function M.reminder_targets(actor, cycle_id, audience, review_ids)
  local c = cycles.require(cycle_id)
  cycles.require_perm(actor, "review_cycles.track", c)
  if not cycles.running(c) then errors.conflict("Reminders go out while the cycle runs.") end
  local where = {
    self_late = "r.self_status IN ('not_started', 'draft')",
    manager_late = "r.manager_status <> 'shared'",
    unsigned = "r.manager_status = 'shared' AND r.closed_at IS NULL",
  }
  local sql = [[SELECT r.*, u.name AS reviewee_name, u.email AS reviewee_email, m.name AS manager_name,
      m.email AS manager_email FROM reviews r JOIN users u ON u.id = r.reviewee_id
      LEFT JOIN users m ON m.id = r.manager_id WHERE r.cycle_id = ? AND ]]
  local rows
  if audience == "selection" then
    if type(review_ids) ~= "table" or #review_ids == 0 then errors.invalid({ review_ids = "Select at least one review." }) end
    rows = db.query(sql .. "r.id IN (SELECT value FROM json_each(?))", c.id, json.encode(review_ids))
  elseif where[audience] then
    rows = db.query(sql .. where[audience], c.id)
  else
    errors.invalid({ audience = "Choose who to remind." })
  end
  local out = {}
  for _, r in ipairs(rows) do
    local to_manager = audience == "manager_late" or (audience == "selection" and r.self_status ~= "not_started"
      and r.self_status ~= "draft" and r.manager_status ~= "shared")
    if to_manager and r.manager_id then
      out[#out + 1] = { review = r, to = { id = r.manager_id, name = r.manager_name, email = r.manager_email }, part = "manager" }
    elseif not to_manager and not (audience == "self_late" and not c.self_assessment) then
      out[#out + 1] = { review = r, to = { id = r.reviewee_id, name = r.reviewee_name, email = r.reviewee_email },
        part = audience == "unsigned" and "sign" or "self" }
    end
  end
  return out, c
end

local function reminder_vars(c, t, note, sender)
  local what = t.part == "manager" and ("write and share the review of " .. t.review.reviewee_name)
    or (t.part == "sign" and "read and sign your review" or "write your self-assessment")
  local due = t.part == "manager" and c.manager_due or (t.part == "sign" and c.sign_due or c.self_due)
  return { cycle = c.name, what = what, due = due and util.human_date(due) or "", message = note,
    sender = sender, link = accounts.base_url() .. "/reviews/" .. t.review.id }
end

local remind = reminders.for_kind{ targets = function(...) return M.reminder_targets(...) end,
  vars = function(c, t, note, sender)
    t.key = t.review.id
    return reminder_vars(c, t, note, sender)
  end,
  template = "review.reminder", related_type = "cycle", key = "reminder", audit_prefix = "cycle", event_area = "cycle" }

--- The exact mail the first recipient would get, and how many would get one.
M.reminder_preview = remind.preview
--- Sends the reminders (one per person and day at most). Returns how many were queued.
M.send_reminders = remind.send

-- The managers' ratings of a question in a cycle with the statuses of their reviews, read and
-- decrypted once and kept while no answer and no review is written (lib/memo.lua; rotating the
-- keys rewrites the answers, so it counts too): a list of { review_id, reviewee_id, manager_id,
-- manager_chain, manager_status, manager_signed_at, value }. Who may count which one is decided per
-- request, never kept.
local rating_rows = memo.new({ "answers", "reviews" }, 64)

local function load_rating_rows(_, cycle_id, question_id)
  local rows, groups, by_key, by_reviewee = {}, {}, {}, {}
  for _, a in ipairs(db.query([[SELECT a.review_id, a.value_enc, r.reviewee_id, r.manager_id, r.manager_chain,
      r.manager_status, r.manager_signed_at FROM answers a JOIN reviews r ON r.id = a.review_id
      WHERE r.cycle_id = ? AND a.author = 'manager' AND a.question_id = ?]], cycle_id, question_id)) do
    a.value = math.tointeger(M.decrypt_value(a.review_id, "manager", question_id, a.value_enc))
    a.value_enc = nil
    rows[#rows + 1] = a
    by_reviewee[a.reviewee_id] = a
    -- rows alike in all but their reviewee: the same writer, chain above the writer and stage
    local stage = stage_of(a, "manager")
    local key = ("%s|%s|%s"):format(a.manager_id, a.manager_chain, stage)
    local g = by_key[key]
    if not g then
      g = { rows = {}, counts = {}, stage = stage }
      by_key[key], groups[#groups + 1] = g, g
    end
    a.group = g
    g.rows[#g.rows + 1] = a
    if a.value then g.counts[a.value] = (g.counts[a.value] or 0) + 1 end
  end
  return { rows = rows, groups = groups, by_reviewee = by_reviewee }
end

--- The distribution of a rating question's answers in the managers' reviews (HR Admins and
--- cycle admins, who may read content): { question =, counts = {n1, n2, ...}, total = }.
--- Only reviews the viewer may read are counted.
function M.rating_distribution(actor, c, question_id)
  local q
  for _, x in ipairs(questionnaire.questions(c.questionnaire)) do
    if x.type == "rating" and (question_id == nil or x.id == question_id)
      and questionnaire.answers(x, "manager") then q = x break end
  end
  if not q then return nil end
  local kept = rating_rows:fetch(c.id .. ":" .. q.id, load_rating_rows, c.id, q.id)
  local counts = {}
  for i = 1, q.scale do counts[i] = 0 end
  local total = 0
  local function add(value, n)
    if value and counts[value] then counts[value], total = counts[value] + n, total + n end
  end
  -- The evaluator sees a reviewee only through their relation to the viewer: every reviewee who is
  -- neither the viewer, nor below them, nor above them is unrelated. Those are counted a group at
  -- a time (rows alike in writer, chain and stage get the same answer); the few related ones are
  -- decided one by one.
  local related = { [actor.id] = true }
  for _, id in ipairs(authz.reports(actor.id, false)) do related[id] = true end
  for _, id in ipairs(authz.chain(actor.id)) do related[id] = true end
  local role = cycles.cycle_role(actor.id, c.id) or false
  local function may_read(r)
    return M.can_read(actor, { reviewee_id = r.reviewee_id, manager_id = r.manager_id, manager_chain = r.manager_chain,
      manager_status = r.manager_status, manager_signed_at = r.manager_signed_at }, c, "manager", role) == true
  end
  local mine = {}
  for id in pairs(related) do mine[#mine + 1] = kept.by_reviewee[id] end
  local group_ok, decided = {}, {}
  for _, g in ipairs(kept.groups) do
    local unrelated
    for _, r in ipairs(g.rows) do
      if not related[r.reviewee_id] then unrelated = r break end
    end
    if unrelated then
      -- unrelated reviewees: the answer depends only on the viewer's part fixed on the review and
      -- the stage, a handful of kinds in a whole cycle
      local key = (M.fixed_part(actor.id, unrelated) or "") .. "|" .. g.stage
      local ok = decided[key]
      if ok == nil then ok = may_read(unrelated); decided[key] = ok end
      group_ok[g] = ok
    end
    if group_ok[g] then for value, n in pairs(g.counts) do add(value, n) end end
  end
  for _, r in ipairs(mine) do
    if group_ok[r.group] then add(r.value, -1) end
    if may_read(r) then add(r.value, 1) end
  end
  return { question = q, counts = counts, total = total }
end

--- The reviews user writes or is reviewed in (not in draft cycles), newest cycle first, each with
--- role "reviewee" or "manager": statuses only. One query.
function M.mine(user)
  local rows = db.query([[SELECT r.id, r.cycle_id, c.name AS cycle_name, r.reviewee_id, r.manager_id, r.self_status,
      r.manager_status, r.closed_at FROM reviews r JOIN cycles c ON c.id = r.cycle_id
    WHERE (r.reviewee_id = ? OR r.manager_id = ?) AND c.phase <> 'draft' ORDER BY c.start_date DESC, r.id]],
    user.id, user.id)
  for _, x in ipairs(rows) do x.role = x.reviewee_id == user.id and "reviewee" or "manager" end
  return rows
end

--- What the signed-in person has to do in running cycles, for the home page: { { kind = "self"
--- (write the self-assessment) | "read_and_sign" (their own shared review) | "write" (a review
--- they write) | "sign" (one they shared), review_id, cycle_name, reviewee_name, due } }. One query.
function M.todos(user)
  local out = {}
  local rows = db.query([[SELECT r.id, r.reviewee_id, r.manager_id, r.self_status, r.manager_status,
      r.reviewee_signed_at, r.manager_signed_at, c.name AS cycle_name, c.self_due, c.manager_due, c.sign_due,
      c.self_assessment, u.name AS reviewee_name
    FROM reviews r JOIN cycles c ON c.id = r.cycle_id JOIN users u ON u.id = r.reviewee_id
    WHERE c.phase NOT IN ('draft', 'closed') AND (r.reviewee_id = ? OR r.manager_id = ?) AND r.closed_at IS NULL]],
    user.id, user.id)
  local function add(kind, r, due)
    out[#out + 1] = { kind = kind, review_id = r.id, cycle_name = r.cycle_name, reviewee_name = r.reviewee_name, due = due }
  end
  for _, r in ipairs(rows) do
    if r.reviewee_id == user.id then
      if r.self_assessment == 1 and (r.self_status == "not_started" or r.self_status == "draft") then
        add("self", r, r.self_due)
      end
      if r.manager_status == "shared" and not r.reviewee_signed_at then add("read_and_sign", r, r.sign_due) end
    end
    if r.manager_id == user.id then
      if r.manager_status ~= "shared" then
        add("write", r, r.manager_due)
      elseif not r.manager_signed_at then
        add("sign", r, r.sign_due)
      end
    end
  end
  return out
end

--- The dates of the cycle of review id (start_date, self_due, manager_due, sign_due), or nil.
function M.cycle_dates(review_id)
  return db.row([[SELECT c.start_date, c.self_due, c.manager_due, c.sign_due FROM reviews r
    JOIN cycles c ON c.id = r.cycle_id WHERE r.id = ?]], review_id)
end

M.TEAM_PER_PAGE = 100

--- The team page: one page (M.TEAM_PER_PAGE people, by name) of actor's direct and indirect
--- reports who are not deactivated, and the reviews of those people in running cycles. Returns
--- rows, people, { page, pages, total } (page: 1 when out of range). Two queries, whatever the size
--- of the team.
function M.team(actor, page)
  local shown, paging = directory.paged(directory.sorted_by_name(authz.reports(actor.id, false)), page,
    M.TEAM_PER_PAGE)
  if #shown == 0 then return {}, {}, paging end
  local direct = {}
  for _, id in ipairs(authz.reports(actor.id, true)) do direct[id] = true end
  local list = json.encode(shown)
  local rows = db.query([[SELECT r.id, r.reviewee_id, r.manager_id, r.self_status, r.manager_status, r.shared_at,
      r.reviewee_signed_at, r.manager_signed_at, r.closed_at, c.id AS cycle_id, c.name AS cycle_name, c.self_due,
      c.manager_due, c.self_assessment, u.name, u.job_title, m.name AS manager_name
    FROM reviews r JOIN cycles c ON c.id = r.cycle_id JOIN users u ON u.id = r.reviewee_id
    LEFT JOIN users m ON m.id = r.manager_id
    WHERE c.phase NOT IN ('draft', 'closed') AND r.reviewee_id IN (SELECT value FROM json_each(?))
    ORDER BY c.start_date DESC, u.name COLLATE FOLD]], list)
  for _, r in ipairs(rows) do r.direct = direct[r.reviewee_id] or false end
  local people = db.query([[SELECT id, name, job_title, manager_id FROM users WHERE id IN (SELECT value FROM json_each(?))
    ORDER BY name COLLATE FOLD, id]], list)
  for _, p in ipairs(people) do p.direct = direct[p.id] or false end
  return rows, people, paging
end

--- The person's own reviews (not in draft cycles), newest cycle first, at most 20: { id,
--- self_status, manager_status, closed_at, cycle_name, phase, start_date }. One query.
function M.own(user)
  return db.query([[SELECT r.id, r.self_status, r.manager_status, r.closed_at, c.name AS cycle_name, c.phase,
      c.start_date FROM reviews r JOIN cycles c ON c.id = r.cycle_id
    WHERE r.reviewee_id = ? AND c.phase <> 'draft' ORDER BY c.start_date DESC, r.id DESC LIMIT 20]], user.id)
end

return M
