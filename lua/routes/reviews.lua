-- Reviews for the people in them: the reviewee writes the self-assessment and signs; the
-- manager reads it once submitted, writes, shares and signs; HR reopens with a reason. Plus
-- the team page, nudges and the PDF of a review.
local web = require "lib.web"
local page = require "lib.page"
local json = require "lib.json"
local util = require "lib.util"
local errors = require "lib.errors"
local events = require "lib.events"
local db = require "lib.db"
local svg = require "lib.svg"
local clock = require "core.clock"
local pdf = require "core.pdf"
local reviews = require "services.reviews"
local people = require "services.people"
local directory = require "services.directory"
local questionnaire = require "services.questionnaire"
local workflows = require "services.workflows"
local audit = require "services.audit"

local M = {}


local function review_json(v)
  local r = v.review
  local out = { id = r.id, cycle_id = r.cycle_id, cycle_name = v.cycle.name, reviewee_id = r.reviewee_id,
    manager_id = r.manager_id or json.null, self_status = r.self_status, manager_status = r.manager_status,
    shared_at = r.shared_at or json.null, reviewee_signed_at = r.reviewee_signed_at or json.null,
    manager_signed_at = r.manager_signed_at or json.null, closed_at = r.closed_at or json.null, role = v.role,
    can = v.can }
  if v.self then out.self_answers = v.self end
  if v.manager_answers then out.manager_answers = v.manager_answers end
  local qs = {}
  for i, q in ipairs(v.questions) do
    qs[i] = { id = q.id, section = q.section, type = q.type, text = q.text, audience = q.audience, required = q.required,
      scale = q.scale, labels = q.labels, x_label = q.x_label, y_label = q.y_label }
  end
  if v.role == "reviewee" then
    local visible = {}
    for _, q in ipairs(qs) do if q.audience ~= "manager_private" then visible[#visible + 1] = q end end
    qs = visible
  end
  out.questions = json.array(qs)
  return out
end

-- Turns form fields (q_<id>, q_<id>_x, q_<id>_y) into answer values for one author.
local function answers_from_form(f, v, author)
  local out = {}
  for _, q in ipairs(v.questions) do
    if questionnaire.answers(q, author) then
      if q.type == "graph" then
        local x, y = f["q_" .. q.id .. "_x"], f["q_" .. q.id .. "_y"]
        if x ~= nil or y ~= nil then
          out[q.id] = (x ~= "" and y ~= "") and { x = tonumber(x), y = tonumber(y) } or ""
        end
      elseif f["q_" .. q.id] ~= nil then
        out[q.id] = f["q_" .. q.id]
      end
    end
  end
  return out
end

-- the words of a review's history, one per review_events.action
local HISTORY = { self_submitted = "Self-assessment submitted", manager_submitted = "Manager's review marked ready",
  shared = "Manager's review shared", unshared = "Taken back to adjust", signed = "Signed", reopened = "Reopened",
  manager_changed = "Writer changed", nudged = "Nudged" }

local function show(req, id)
  local v = reviews.view(req.user, id)
  for _, e in ipairs(v.events) do e.label = HISTORY[e.action] or e.action:gsub("_", " ") end
  -- after a refused post: the answers as typed and a message at each question
  local kept, extra = page.kept(req), {}
  if kept then
    extra.typed = answers_from_form(kept.values, v, v.role == "manager" and "manager" or "self")
    extra.fields = kept.errors
    extra.reason = kept.values.reason
    extra.writer_email = kept.values.manager_email
  end
  local data = { title = v.reviewee.name .. " — " .. v.cycle.name, v = v, graph = svg.graph, extra = extra,
    phase_label = nil }
  for _, p in ipairs(workflows.phases(v.cycle)) do
    if p.current then data.phase_label = p.label end
  end
  if v.role == "reviewee" and v.can.write_self == false and v.review.manager_status ~= "shared" then
    data.waiting = true
  end
  -- resources beside the questionnaire for the two people in the review (praise, notes, ...):
  -- areas add groups { title =, items = { { label =, href =, note = } }, empty = }
  if v.role == "reviewee" or v.role == "manager" then
    local res = { user = req.user, review_id = v.review.id, reviewee_id = v.review.reviewee_id, role = v.role, groups = {} }
    events.fire("review.resources", res)
    data.resources = res.groups
  end
  return page.render(req, "review_show", data, { nav = v.role == "viewer" and "cycles" or "home" })
end

-- Runs a review action from a page form (f: its fields); a refusal goes back to the review page
-- keeping what was typed, with the message at each question.
local function act(req, f, fn, done_message)
  local ok, res = page.form(req, { back = "/reviews/" .. req.params.id, values = f }, fn)
  if not ok then return res end
  return page.redirect("/reviews/" .. req.params.id, "success", done_message)
end

-- The home page: what the person has to do (services.reviews.todos), worded.
local TODO = {
  self = function(t) return ("Write your self-assessment for %s"):format(t.cycle_name) end,
  read_and_sign = function(t) return ("Read and sign your review for %s"):format(t.cycle_name) end,
  write = function(t) return ("Review %s (%s)"):format(t.reviewee_name, t.cycle_name) end,
  sign = function(t) return ("Sign the review of %s"):format(t.reviewee_name) end,
}

-- The home page panel: the person's own reviews, newest cycle first (they can revisit old ones).
local function my_reviews_panel(user)
  local items = {}
  for _, r in ipairs(reviews.own(user)) do
    local badge, tone
    if r.closed_at then badge, tone = "Signed", "ok"
    elseif r.manager_status == "shared" then badge, tone = "Shared with you", "brand"
    elseif r.phase == "closed" then badge, tone = "Closed", "muted"
    else badge, tone = "In progress", "warn" end
    items[#items + 1] = { label = r.cycle_name, href = "/reviews/" .. r.id, note = util.human_date(r.start_date),
      badge = badge, tone = tone }
  end
  return { title = "Your reviews", items = items, empty = "When you are part of a review cycle, your reviews are kept here." }
end

function M.routes(r)
  -- API
  r:add{ method = "GET", path = "/api/reviews", auth = "user", perm = "object",
    handler = function(req)
      return web.json(200, { reviews = json.array(reviews.mine(req.user)) })
    end }
  r:add{ method = "GET", path = "/api/reviews/{id:int}", auth = "user", perm = "object",
    handler = function(req)
      return web.json_text(200, reviews.view_rendered(req.user, req.params.id, function(v)
        return json.encode(review_json(v))
      end))
    end }
  for _, author in ipairs({ "self", "manager" }) do
    r:add{ method = "PUT", path = "/api/reviews/{id:int}/answers/" .. author, auth = "user", perm = "object",
      handler = function(req)
        local body = web.body(req)
        local values = body
        if body.answers then values = body.answers end
        -- the page's autosave sends form fields; accept both shapes
        if next(values) and next(values):match("^q_") then
          values = answers_from_form(values, reviews.view(req.user, req.params.id), author)
        end
        local rv = reviews.save_answers(req.user, req.params.id, author, values, req)
        return web.json(200, { saved = true, status = author == "self" and rv.self_status or rv.manager_status,
          at = clock.now() })
      end }
  end
  r:add{ method = "POST", path = "/api/reviews/{id:int}/submit", auth = "user", perm = "object",
    handler = function(req) reviews.submit_self(req.user, req.params.id, req); return web.json(200, review_json(reviews.view(req.user, req.params.id))) end }
  r:add{ method = "POST", path = "/api/reviews/{id:int}/ready", auth = "user", perm = "object",
    handler = function(req) reviews.submit_manager(req.user, req.params.id, req); return web.json(200, review_json(reviews.view(req.user, req.params.id))) end }
  r:add{ method = "POST", path = "/api/reviews/{id:int}/share", auth = "user", perm = "object",
    handler = function(req) reviews.share(req.user, req.params.id, req); return web.json(200, review_json(reviews.view(req.user, req.params.id))) end }
  r:add{ method = "POST", path = "/api/reviews/{id:int}/unshare", auth = "user", perm = "object",
    handler = function(req) reviews.unshare(req.user, req.params.id, req); return web.json(200, review_json(reviews.view(req.user, req.params.id))) end }
  r:add{ method = "POST", path = "/api/reviews/{id:int}/sign", auth = "user", perm = "object",
    handler = function(req) reviews.sign(req.user, req.params.id, req); return web.json(200, review_json(reviews.view(req.user, req.params.id))) end }
  r:add{ method = "POST", path = "/api/reviews/{id:int}/reopen", auth = "user", perm = "object",
    handler = function(req)
      local b = web.body(req)
      reviews.reopen(req.user, req.params.id, b.reason, b.part, req)
      return web.json(200, review_json(reviews.view(req.user, req.params.id)))
    end }
  r:add{ method = "PATCH", path = "/api/reviews/{id:int}", auth = "user", perm = "object",
    handler = function(req)
      local b = web.body(req)
      if b.manager_id == nil then errors.invalid({ manager_id = "Send the new reviewing manager." }) end
      reviews.change_manager(req.user, req.params.id, b.manager_id, req)
      return web.json(200, review_json(reviews.view(req.user, req.params.id)))
    end }
  r:add{ method = "POST", path = "/api/reviews/{id:int}/nudge", auth = "user", perm = "object",
    handler = function(req) reviews.nudge(req.user, req.params.id, req); return web.json(202, { nudged = true }) end }
  r:add{ method = "GET", path = "/api/reviews/{id:int}/pdf", auth = "user", perm = "object", tx = false,
    handler = function(req) return M.pdf(req, req.params.id) end }

  -- pages
  r:add{ method = "GET", path = "/reviews/{id:int}", auth = "user", perm = "object",
    handler = function(req) return show(req, req.params.id) end }

  for _, author in ipairs({ "self", "manager" }) do
    r:add{ method = "POST", path = "/reviews/{id:int}/answers/" .. author, auth = "user", perm = "object",
      handler = function(req)
        local f = web.form(req)
        local v = reviews.view(req.user, req.params.id)
        local values = answers_from_form(f, v, author)
        local ok, res = page.form(req, { back = "/reviews/" .. req.params.id, values = f }, reviews.save_answers,
          req.user, req.params.id, author, values, req)
        if not ok then return res end
        if f.after == "submit" then
          return act(req, f, function() return reviews.submit_self(req.user, req.params.id, req) end,
            "Your self-assessment is submitted. Your manager can read it now.")
        elseif f.after == "share" then
          -- shared only once confirmed: by the page's dialog (which sets confirmed), else on a page
          if f.confirmed ~= "1" then return web.redirect("/reviews/" .. req.params.id .. "/share") end
          return act(req, f, function() return reviews.share(req.user, req.params.id, req) end,
            "The review is shared with " .. v.reviewee.name .. ".")
        elseif f.after == "ready" then
          return act(req, f, function() return reviews.submit_manager(req.user, req.params.id, req) end, "Marked as ready.")
        end
        return page.redirect("/reviews/" .. req.params.id, "success", "Draft saved.")
      end }
  end
  -- sharing without JavaScript: a page that asks first
  r:add{ method = "GET", path = "/reviews/{id:int}/share", auth = "user", perm = "object",
    handler = function(req)
      local v = reviews.view(req.user, req.params.id)
      if not v.can.share then errors.forbidden("Only the reviewing manager shares this review, while it is not shared.") end
      return page.render(req, "review_share", { title = "Share the review of " .. v.reviewee.name, v = v },
        { nav = "home" })
    end }
  r:add{ method = "POST", path = "/reviews/{id:int}/share", auth = "user", perm = "object",
    handler = function(req)
      local f = web.form(req)
      if f.confirmed ~= "1" then return web.redirect("/reviews/" .. req.params.id .. "/share") end
      local v = reviews.view(req.user, req.params.id)
      return act(req, nil, function() return reviews.share(req.user, req.params.id, req) end,
        "The review is shared with " .. v.reviewee.name .. ". You can take it back until they sign.")
    end }
  r:add{ method = "POST", path = "/reviews/{id:int}/unshare", auth = "user", perm = "object",
    handler = function(req)
      return act(req, nil, function() return reviews.unshare(req.user, req.params.id, req) end,
        "You took the review back: it is a draft again, and they were told.")
    end }
  r:add{ method = "POST", path = "/reviews/{id:int}/sign", auth = "user", perm = "object",
    handler = function(req)
      return act(req, nil, function() return reviews.sign(req.user, req.params.id, req) end, "You signed the review.")
    end }
  r:add{ method = "POST", path = "/reviews/{id:int}/reopen", auth = "user", perm = "object",
    handler = function(req)
      local f = web.form(req)
      return act(req, f, function() return reviews.reopen(req.user, req.params.id, f.reason, f.part, req) end,
        "The review is open again; your reason is kept in the audit log.")
    end }
  r:add{ method = "POST", path = "/reviews/{id:int}/nudge", auth = "user", perm = "object",
    handler = function(req)
      local back = web.form(req).back == "team" and "/team" or ("/reviews/" .. req.params.id)
      local ok, res = page.form(req, back, reviews.nudge, req.user, req.params.id, req)
      if not ok then return res end
      return page.redirect(back, "success", "Nudge sent.")
    end }
  r:add{ method = "POST", path = "/reviews/{id:int}/manager", auth = "user", perm = "object",
    handler = function(req)
      local f = web.form(req)
      local back = "/reviews/" .. req.params.id .. "#writer"
      local ok, res = page.form(req, { back = back, values = { manager_email = f.manager_email } }, function()
        local manager_id = f.manager_id
        if (manager_id == nil or manager_id == "") and f.manager_email then
          local u = people.by_email(util.trim(f.manager_email):lower())
          if not u then errors.invalid({ manager_email = "Nobody in Candor has this email." }) end
          manager_id = u.id
        end
        return reviews.change_manager(req.user, req.params.id, manager_id, req)
      end)
      if not ok then return res end
      return page.redirect(back, "success", people.get(res.manager_id).name .. " writes this review now (logged).")
    end }
  r:add{ method = "GET", path = "/reviews/{id:int}/pdf", auth = "user", perm = "object", tx = false,
    handler = function(req) return M.pdf(req, req.params.id) end }

  r:add{ method = "GET", path = "/team", auth = "user", perm = "object",
    handler = function(req)
      local rows, members, paging = reviews.team(req.user, web.query(req).page)
      -- other areas add a column per person of the page (e.g. the last and next 1:1): { label =,
      -- values = { [id] = { text =, href = } }, empty = }
      local columns = { user = req.user, people = members, columns = {} }
      if #members > 0 then events.fire("team.columns", columns) end
      return page.render(req, "team", { title = "My team", rows = rows, people = members, columns = columns.columns,
        paging = paging, per_page = reviews.TEAM_PER_PAGE }, { nav = "team" })
    end }

  events.hook("home.todos", function(e)
    for _, t in ipairs(reviews.todos(e.user)) do
      e.items[#e.items + 1] = { label = TODO[t.kind](t), href = "/reviews/" .. t.review_id, due = t.due }
    end
  end)
  events.hook("home.panels", function(e)
    if e.user.kind ~= "guest" then e.panels[#e.panels + 1] = my_reviews_panel(e.user) end
  end)

  events.hook("page.nav", function(e)
    local u = e.user
    if u.kind ~= "guest" and directory.has_reports(u.id) then
      e.items[#e.items + 1] = { id = "team", label = "My team", href = "/team", icon = "⚑", order = 10 }
    end
  end)
end

--- The review as a PDF, with what the viewer may read.
function M.pdf(req, id)
  local v = reviews.view(req.user, id)
  if not v.can.pdf then errors.forbidden("You cannot read the content of this review.") end
  local blocks = {
    { type = "kv", rows = { { "Reviewee", v.reviewee.name .. (v.reviewee.job_title ~= "" and (", " .. v.reviewee.job_title) or "") },
      { "Manager", v.manager and v.manager.name or "—" }, { "Cycle", v.cycle.name },
      { "Status", v.review.closed_at and "Signed by both" or (v.review.manager_status == "shared" and "Shared" or "In progress") } } },
  }
  -- a 2D graph is drawn once, with every dot the viewer may see: the reviewee's and the manager's
  local drawn = {}
  local function graph_block(q)
    local points = {}
    local function dot(val, who, role)
      if type(val) ~= "table" or not tonumber(val.x) or not tonumber(val.y) then return end
      local function clamp(n) return math.max(0, math.min(100, tonumber(n))) end
      points[#points + 1] = { x = clamp(val.x), y = clamp(val.y), label = ("%s (%s)"):format(who, role) }
    end
    dot(v.self and v.self[q.id], v.reviewee.name, "self")
    if v.manager then dot(v.manager_answers and v.manager_answers[q.id], v.manager.name, "manager") end
    drawn[q.id] = true
    return { type = "graph", label = q.text, x_label = q.x_label, y_label = q.y_label, points = points }
  end
  local function answer_block(q, val)
    if q.type == "rating" then
      blocks[#blocks + 1] = { type = "rating", label = q.text, value = math.tointeger(val), max = q.scale, labels = q.labels }
    elseif q.type == "graph" then
      if not drawn[q.id] then blocks[#blocks + 1] = graph_block(q) end
    else
      blocks[#blocks + 1] = { type = "h2", text = q.text }
      blocks[#blocks + 1] = { type = "p", text = (val and val ~= "") and tostring(val) or "Not answered" }
    end
  end
  if v.self then
    blocks[#blocks + 1] = { type = "h1", text = "Self-assessment" }
    for _, q in ipairs(v.questions) do
      if questionnaire.answers(q, "self") then answer_block(q, v.self[q.id]) end
    end
  end
  if v.manager_answers then
    blocks[#blocks + 1] = { type = "h1", text = "Manager's review" }
    for _, q in ipairs(v.questions) do
      if questionnaire.answers(q, "manager") and not (v.role == "reviewee" and q.audience == "manager_private") then
        answer_block(q, v.manager_answers[q.id])
      end
    end
  end
  if v.review.reviewee_signed_at then
    blocks[#blocks + 1] = { type = "signature", name = v.reviewee.name, date = "Signed on " .. util.human_date(v.review.reviewee_signed_at) }
  end
  if v.review.manager_signed_at and v.manager then
    blocks[#blocks + 1] = { type = "signature", name = v.manager.name, date = "Signed on " .. util.human_date(v.review.manager_signed_at) }
  end
  local bytes, err = pdf.render{ title = v.reviewee.name .. " — " .. v.cycle.name, subtitle = "Performance review",
    author = "Candor", blocks = blocks }
  if not bytes then errors.raise(500, "export_failed", "The PDF could not be made: " .. err.message) end
  db.transaction(function()
    audit.record{ action = "export.review_pdf", actor = req.user, req = req, target_type = "review", target_id = v.review.id,
      details = { cycle_id = v.cycle.id, reviewee_id = v.review.reviewee_id } }
  end)
  return web.file(bytes, "application/pdf", ("review-%s-%s.pdf"):format(v.reviewee.name:gsub("%s+", "-"), v.cycle.id))
end

return M
