-- 360 feedback for the people in it: a reviewee's 360 (choose reviewers with a type-ahead or
-- invite a guest on the fly, hand the list in, read the released feedback); the manager's
-- approvals and team page per cycle; a reviewer's request (write with autosave, share,
-- decline); HR reopening feedback; the PDF. The JSON API and the pages. Guests reach only their
-- own requests (and the home page that lists them).
local web = require "lib.web"
local page = require "lib.page"
local json = require "lib.json"
local util = require "lib.util"
local errors = require "lib.errors"
local db = require "lib.db"
local svg = require "lib.svg"
local clock = require "core.clock"
local audit = require "services.audit"
local questionnaire = require "services.questionnaire"
local cycles = require "services.feedback_cycles"
local nominations = require "services.nominations"
local feedback = require "services.feedback"
local pdf = require "core.pdf"

local M = {}

local function id_of(req) return math.tointeger(tonumber(req.params.id)) end
local function subject_path(id) return "/feedback/360/" .. id end
local function request_path(id) return "/feedback/requests/" .. id end

-- ------------------------------------------------------------------ JSON shapes

local function view_json(v)
  local groups = {}
  for _, g in ipairs(v.groups) do
    local x = { key = g.key, label = g.label, count = g.count, anonymous = g.anonymous, hidden = g.hidden or false,
      reason = g.reason, authors = g.authors and json.array(g.authors) or nil }
    if g.questions then
      x.questions = json.array(util.map(g.questions, function(q)
        return { id = q.question.id, text = q.question.text, type = q.question.type,
          answers = json.array(util.map(q.answers, function(a) return { text = a.text, value = a.value, by = a.by } end)),
          counts = q.counts and json.array(q.counts) or nil, total = q.total }
      end))
    end
    groups[#groups + 1] = x
  end
  return { subject_id = v.subject.id, cycle = { id = v.cycle.id, name = v.cycle.name, phase = v.cycle.phase },
    reviewee = { id = v.reviewee.id, name = v.reviewee.name }, manager = v.manager and { id = v.manager.id,
      name = v.manager.name } or json.null,
    nominations_done = v.subject.nominations_done_at ~= nil, approved = v.subject.approved_at ~= nil,
    released_to_reviewee = v.released_to_reviewee, released_to_managers = v.released_to_managers,
    requests = json.array(util.map(v.requests, function(r)
      return { id = r.id, reviewer_id = r.reviewer_id, name = r.name, relationship = r.relationship, status = r.status,
        guest = r.kind == "guest", feedback_status = r.feedback_status, decline_reason = r.decline_reason }
    end)),
    groups = json.array(groups), can = v.can }
end

local function own_json(o)
  local r = o.request
  return { id = r.id, subject_id = r.subject_id, cycle = { id = o.cycle.id, name = o.cycle.name, intro = o.cycle.intro },
    reviewee = o.reviewee.name, relationship = r.relationship, status = r.status, feedback_status = r.feedback_status,
    stage = o.stage, answers = o.answers, can = o.can,
    questions = json.array(util.map(o.questions, function(q)
      return { id = q.id, section = q.section, type = q.type, text = q.text, scale = q.scale, labels = q.labels,
        options = q.options, multiple = q.multiple }
    end)) }
end

-- Form fields (q_<id>, or q_<id>[] for a multiple choice) to answer values.
local function answers_from_form(f, questions)
  local out = {}
  for _, q in ipairs(questions) do
    local v = f["q_" .. q.id]
    if v ~= nil then out[q.id] = v elseif q.type == "choice" and q.multiple and f["q_" .. q.id .. "_present"] then
      out[q.id] = ""
    end
  end
  return out
end

-- ------------------------------------------------------------------ pages

local function distribution_chart(q, counts, id)
  local rows = {}
  local labels = q.type == "rating" and q.labels or q.options
  for i, n in ipairs(counts) do
    rows[i] = { label = (q.type == "rating" and (i .. " · ") or "") .. (labels[i] or tostring(i)), value = n }
  end
  return svg.distribution(rows, { id = id, title = "Answers to “" .. q.text .. "”" })
end

local function subject_page(req, id, extra, status)
  local v = feedback.view(req.user, id)
  local q = web.query(req)
  local data = { title = (v.is_reviewee and "Your 360" or ("360 of " .. v.reviewee.name)) .. " — " .. v.cycle.name,
    v = v, extra = extra or {}, labels = nominations.RELATIONSHIPS, chart = distribution_chart, q = q.q }
  if v.can.change and q.q and q.q ~= "" then
    local ok, res = pcall(nominations.search, req.user, v.cycle, v.subject, q.q)
    if ok then data.candidates = res end
  end
  local nav = v.is_reviewee and "feedback" or (v.can.track and "feedback_cycles" or "feedback")
  return page.render(req, "feedback_360", data, { nav = nav, status = status })
end

local function request_page(req, id)
  local o = feedback.own(req.user, id)
  local kept = page.kept(req)
  local errs = {}
  if kept then
    -- a refused save comes back with what was typed, and each problem at its question
    for qid, v in pairs(answers_from_form(kept.values, o.questions)) do o.answers[qid] = v ~= "" and v or nil end
    errs = kept.errors or {}
  end
  return page.render(req, "feedback_write", { title = (o.request.relationship == "self" and "Your self-feedback" or
      ("Feedback about " .. o.reviewee.name)) .. " — " .. o.cycle.name, o = o, errs = errs,
    reason = o.request.decline_reason_enc and nominations.decline_reason(o.request) or nil },
    { nav = req.user.kind == "guest" and "home" or "feedback" })
end

function M.routes(r)
  -- ---------------------------------------------------------------- API
  r:add{ method = "GET", path = "/api/feedback/360/{id:int}", auth = "user", perm = "object",
    handler = function(req) return web.json(200, view_json(feedback.view(req.user, id_of(req), { no_mark = true }))) end }
  r:add{ method = "GET", path = "/api/feedback/360/{id:int}/candidates", auth = "user", perm = "object",
    handler = function(req)
      local s = cycles.require_subject(id_of(req))
      local res = nominations.search(req.user, cycles.require(s.cycle_id), s, web.query(req).q)
      return web.json(200, { people = json.array(res.people), invite = res.invite or json.null,
        invite_refused = res.invite_refused or json.null })
    end }
  r:add{ method = "POST", path = "/api/feedback/360/{id:int}/nominations", auth = "user", perm = "object",
    handler = function(req)
      local rq = nominations.nominate(req.user, id_of(req), web.body(req), req)
      return web.json(201, { id = rq.id, reviewer_id = rq.reviewer_id, relationship = rq.relationship, status = rq.status })
    end }
  r:add{ method = "POST", path = "/api/feedback/360/{id:int}/submit", auth = "user", perm = "object",
    handler = function(req)
      local s = nominations.submit(req.user, id_of(req), req)
      return web.json(200, { subject_id = s.id, nominations_done = true })
    end }
  r:add{ method = "POST", path = "/api/feedback/360/{id:int}/release", auth = "user", perm = "object",
    handler = function(req) feedback.release(req.user, id_of(req), req); return web.json(200, { released = true }) end }
  r:add{ method = "POST", path = "/api/feedback/360/{id:int}/nudge", auth = "user", perm = "object",
    handler = function(req) nominations.nudge(req.user, id_of(req), req); return web.json(202, { nudged = true }) end }
  r:add{ method = "GET", path = "/api/feedback/360/{id:int}/pdf", auth = "user", perm = "object", tx = false,
    handler = function(req) return M.pdf(req, id_of(req)) end }
  r:add{ method = "POST", path = "/api/feedback/approvals", auth = "user", perm = "object",
    handler = function(req)
      return web.json(200, { approved = nominations.approve(req.user, web.body(req).subject_ids, req) })
    end }
  r:add{ method = "GET", path = "/api/feedback/requests", auth = "any_user", perm = "object",
    handler = function(req)
      local list = util.map(feedback.requests_of(req.user), function(x)
        return { id = x.id, cycle_id = x.cycle_id, cycle_name = x.cycle_name, reviewee = x.reviewee_name,
          relationship = x.relationship, status = x.status, feedback_status = x.feedback_status,
          write_due = x.write_due or json.null, cycle_closed = x.phase == "closed" }
      end)
      return web.json(200, { requests = json.array(list) })
    end }
  r:add{ method = "GET", path = "/api/feedback/requests/{id:int}", auth = "any_user", perm = "object",
    handler = function(req) return web.json(200, own_json(feedback.own(req.user, id_of(req)))) end }
  r:add{ method = "DELETE", path = "/api/feedback/requests/{id:int}", auth = "user", perm = "object",
    handler = function(req) nominations.remove(req.user, id_of(req), req); return web.no_content() end }
  r:add{ method = "PUT", path = "/api/feedback/requests/{id:int}/answers", auth = "any_user", perm = "object",
    handler = function(req)
      local body = web.body(req)
      local values = body.answers or body
      if next(values) and tostring(next(values)):match("^q_") then
        values = answers_from_form(values, questionnaire.questions(feedback.own(req.user, id_of(req)).cycle.questionnaire))
      end
      local rq = feedback.save(req.user, id_of(req), values, req)
      return web.json(200, { saved = true, feedback_status = rq.feedback_status, at = clock.now() })
    end }
  r:add{ method = "POST", path = "/api/feedback/requests/{id:int}/share", auth = "any_user", perm = "object",
    handler = function(req)
      feedback.share(req.user, id_of(req), req)
      return web.json(200, own_json(feedback.own(req.user, id_of(req))))
    end }
  r:add{ method = "POST", path = "/api/feedback/requests/{id:int}/decline", auth = "any_user", perm = "object",
    handler = function(req)
      local rq = nominations.decline(req.user, id_of(req), web.body(req).reason, req)
      return web.json(200, { id = rq.id, status = rq.status })
    end }
  r:add{ method = "POST", path = "/api/feedback/requests/{id:int}/reopen", auth = "user", perm = "object",
    handler = function(req)
      local rq = feedback.reopen(req.user, id_of(req), web.body(req).reason, req)
      return web.json(200, { id = rq.id, feedback_status = rq.feedback_status })
    end }
  r:add{ method = "GET", path = "/api/feedback/cycles/{id:int}/team", auth = "user", perm = "object",
    handler = function(req)
      local c, rows, paging = feedback.team(req.user, id_of(req), { page = web.query(req).page or 1 })
      return web.json(200, { cycle = { id = c.id, name = c.name }, reviewees = json.array(util.map(rows, function(x)
        return { subject_id = x.id, reviewee_id = x.reviewee_id, name = x.name, direct = x.direct, approver = x.approver,
          nominated = x.nominated, approved = x.approved, proposed = x.proposed, written = x.written,
          declined = x.declined, nominations_done = x.nominations_done_at ~= nil, approved_at = x.approved_at or json.null,
          opens = x.opens }
      end)), page = paging.page, pages = paging.pages, total = paging.total, per_page = feedback.TEAM_PER_PAGE })
    end }

  -- ---------------------------------------------------------------- pages
  r:add{ method = "GET", path = "/feedback", auth = "user", perm = "object",
    handler = function(req)
      return page.render(req, "feedback_home", { title = "360 feedback", own = feedback.subjects_of(req.user),
        asked = feedback.requests_of(req.user), teams = feedback.team_cycles(req.user) }, { nav = "feedback" })
    end }

  r:add{ method = "GET", path = "/feedback/360/{id:int}", auth = "user", perm = "object",
    handler = function(req) return subject_page(req, id_of(req)) end }

  local function subject_action(path, fn, done)
    r:add{ method = "POST", path = "/feedback/360/{id:int}/" .. path, auth = "user", perm = "object",
      handler = function(req)
        local f = web.form(req)
        local back = f.back == "approvals" and f.cycle_id
          and ("/feedback/cycles/" .. math.tointeger(tonumber(f.cycle_id) or 0) .. "/approvals")
          or (subject_path(req.params.id) .. (f.email and ("?" .. util.build_query({ q = f.email })) or ""))
        local ok, res = page.form(req, back, fn, req)
        if not ok then return res end
        return page.redirect(back, "success", type(done) == "function" and done(res) or done)
      end }
  end
  subject_action("nominate", function(req)
    local f = web.form(req)
    return nominations.nominate(req.user, id_of(req), { reviewer_id = f.reviewer_id, email = f.email, name = f.name }, req)
  end, function(rq) return rq.status == "approved" and "Added and approved; the invitation goes out within the hour."
    or "Added. Your manager approves the list." end)
  subject_action("submit", function(req) return nominations.submit(req.user, id_of(req), req) end,
    "Your list went to the manager for approval.")
  subject_action("approve", function(req) return nominations.approve(req.user, { id_of(req) }, req) end,
    function(n) return util.plural(n, "reviewer") .. " approved; the invitations go out within the hour." end)
  subject_action("release", function(req) return feedback.release(req.user, id_of(req), req) end,
    "The feedback is released to the reviewee.")
  subject_action("nudge", function(req) return nominations.nudge(req.user, id_of(req), req) end, "Nudge sent.")

  r:add{ method = "GET", path = "/feedback/360/{id:int}/pdf", auth = "user", perm = "object", tx = false,
    handler = function(req) return M.pdf(req, id_of(req)) end }

  r:add{ method = "GET", path = "/feedback/requests/{id:int}", auth = "any_user", perm = "object",
    handler = function(req) return request_page(req, id_of(req)) end }

  r:add{ method = "POST", path = "/feedback/requests/{id:int}", auth = "any_user", perm = "object",
    handler = function(req)
      local f = web.form(req)
      local o = feedback.own(req.user, id_of(req))
      local back = request_path(req.params.id)
      local ok, res = page.form(req, { back = back, values = f }, feedback.save, req.user, o.request.id,
        answers_from_form(f, o.questions), req)
      if not ok then return res end
      if f.after == "share" then
        ok, res = page.form(req, back, feedback.share, req.user, o.request.id, req)
        if not ok then return res end
        return page.redirect(back, "success", "Your feedback is shared. Thank you!")
      end
      return page.redirect(back, "success", "Draft saved.")
    end }

  r:add{ method = "POST", path = "/feedback/requests/{id:int}/decline", auth = "any_user", perm = "object",
    handler = function(req)
      local back = request_path(req.params.id)
      local ok, res = page.form(req, back, nominations.decline, req.user, id_of(req), web.form(req).reason, req)
      if not ok then return res end
      return page.redirect(req.user.kind == "guest" and "/home" or "/feedback", "success", "You declined the request.")
    end }

  r:add{ method = "POST", path = "/feedback/requests/{id:int}/remove", auth = "user", perm = "object",
    handler = function(req)
      local rq = nominations.require(id_of(req))
      local f = web.form(req)
      local back = f.back == "approvals" and ("/feedback/cycles/" .. rq.cycle_id .. "/approvals") or subject_path(rq.subject_id)
      local ok, res = page.form(req, back, nominations.remove, req.user, rq.id, req)
      if not ok then return res end
      return page.redirect(back, "success", "The reviewer was taken off the list.")
    end }

  r:add{ method = "POST", path = "/feedback/requests/{id:int}/reopen", auth = "user", perm = "object",
    handler = function(req)
      local rq = nominations.require(id_of(req))
      local back = subject_path(rq.subject_id)
      local ok, res = page.form(req, back, feedback.reopen, req.user, rq.id, web.form(req).reason, req)
      if not ok then return res end
      return page.redirect(back, "success", "The feedback is open again; your reason is kept in the audit log.")
    end }

  r:add{ method = "GET", path = "/feedback/cycles/{id:int}/approvals", auth = "user", perm = "object",
    handler = function(req)
      local c, mine = feedback.team(req.user, id_of(req), { approver = true })
      if #mine == 0 then errors.not_found("You approve nobody's reviewers in this cycle.") end
      local ids = util.map(mine, function(x) return x.id end)
      local reqs = nominations.of_subjects(ids)
      return page.render(req, "feedback_approvals", { title = "Approve reviewers — " .. c.name, cycle = c, rows = mine,
        reqs = reqs, labels = nominations.RELATIONSHIPS }, { nav = "feedback" })
    end }

  r:add{ method = "POST", path = "/feedback/cycles/{id:int}/approvals", auth = "user", perm = "object",
    handler = function(req)
      local back = "/feedback/cycles/" .. id_of(req) .. "/approvals"
      local f = web.form(req)
      local ids = f.subject_ids
      if type(ids) == "string" then ids = { ids } end
      local ok, n = page.form(req, back, nominations.approve, req.user, ids or {}, req)
      if not ok then return n end
      return page.redirect(back, "success", util.plural(n, "reviewer") .. " approved; the invitations go out within the hour.")
    end }

  r:add{ method = "GET", path = "/feedback/cycles/{id:int}/team", auth = "user", perm = "object",
    handler = function(req)
      local c, rows, paging = feedback.team(req.user, id_of(req), { page = web.query(req).page or 1 })
      return page.render(req, "feedback_team", { title = "Your team — " .. c.name, cycle = c, rows = rows,
        paging = paging, per_page = feedback.TEAM_PER_PAGE }, { nav = "feedback" })
    end }
end

--- A reviewee's feedback as a PDF: HR Admins (feedback.export_pdf, never about someone above
--- them), with exactly what they may read and the cycle's anonymity (no names on anonymous
--- answers, groups under their threshold left out).
function M.pdf(req, id)
  local v = feedback.view(req.user, id, { no_mark = true })
  if not v.can.pdf then errors.forbidden("Only HR Admins export feedback to PDF, and only feedback they may read.") end
  local blocks = { { type = "kv", rows = { { "Reviewee", v.reviewee.name .. ((v.reviewee.job_title or "") ~= ""
      and (", " .. v.reviewee.job_title) or "") }, { "Manager", v.manager and v.manager.name or "—" },
    { "Cycle", v.cycle.name }, { "Anonymous", v.cycle.visibility.anonymous and "Yes: answers are labelled by relationship"
      or "No" } } } }
  for _, g in ipairs(v.groups) do
    blocks[#blocks + 1] = { type = "h1", text = g.label .. (g.count and (" (" .. g.count .. ")") or "") }
    if g.hidden then
      blocks[#blocks + 1] = { type = "p", text = g.reason }
    else
      if g.authors then blocks[#blocks + 1] = { type = "p", text = "From " .. table.concat(g.authors, ", ") } end
      for _, q in ipairs(g.questions) do
        blocks[#blocks + 1] = { type = "h2", text = q.question.text }
        if q.counts then
          local labels = q.question.type == "rating" and q.question.labels or q.question.options
          local rows = {}
          for i, n in ipairs(q.counts) do rows[#rows + 1] = { labels[i] or tostring(i), tostring(n) } end
          blocks[#blocks + 1] = { type = "table", header = { "Answer", "How many" }, rows = rows }
          for _, a in ipairs(q.answers) do
            if a.by then
              local vals = type(a.value) == "table" and a.value or { a.value }
              blocks[#blocks + 1] = { type = "p", text = a.by .. ": " .. table.concat(util.map(vals, function(x)
                return labels[x] or tostring(x) end), ", ") }
            end
          end
        elseif #q.answers == 0 then
          blocks[#blocks + 1] = { type = "p", text = "No answers." }
        else
          for _, a in ipairs(q.answers) do
            blocks[#blocks + 1] = { type = "p", text = (a.by and (a.by .. ": ") or "") .. a.text }
          end
        end
      end
    end
  end
  local bytes, err = pdf.render{ title = v.reviewee.name .. " — " .. v.cycle.name,
    subtitle = "360 feedback", author = "Candor", created = clock.now(), blocks = blocks }
  if not bytes then errors.raise(500, "export_failed", "The PDF could not be made: " .. err.message) end
  db.transaction(function()
    audit.record{ action = "export.feedback_pdf", actor = req.user, req = req, target_type = "feedback_subject",
      target_id = v.subject.id, details = { cycle_id = v.cycle.id, reviewee_id = v.reviewee.id } }
  end)
  return web.file(bytes, "application/pdf", ("360-%s-%s.pdf"):format(v.reviewee.name:gsub("%s+", "-"), v.cycle.id))
end

return M
