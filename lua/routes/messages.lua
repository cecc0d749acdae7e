-- Messages over HTTP: the praise wall, the message dialog (praise, feedback, private note,
-- feedback request), my messages with their tabs, one message with likes and comments, feedback
-- requests, badge images and the office screen. The JSON API beside the pages. Every rule is in
-- services/messages, services/feedback_requests and services/wall; this file only translates.
local web = require "lib.web"
local page = require "lib.page"
local json = require "lib.json"
local util = require "lib.util"
local errors = require "lib.errors"
local events = require "lib.events"
local access = require "services.access"
local directory = require "services.directory"
local messages = require "services.messages"
local requests = require "services.feedback_requests"
local badges = require "services.badges"
local wall = require "services.wall"
local template = require "lib.template"

local M = {}


local function person(p) return p and { id = p.id, name = p.name } or json.null end

--- A message as JSON (what the viewer may see: the writer is null when anonymous).
local function message_json(m)
  local recipients = {}
  for i, p in ipairs(m.recipients) do recipients[i] = person(p) end
  local out = { id = m.id, kind = m.kind, audience = m.audience, anonymous = m.anonymous, author = person(m.author),
    recipients = json.array(recipients), text = m.text, like_count = m.like_count, comment_count = m.comment_count,
    liked = m.liked, mine = m.mine, created_at = m.created_at, updated_at = m.updated_at,
    about = m.about_id and { id = m.about_id, name = m.about_name } or json.null,
    badge = m.badge and { id = m.badge.id, title = m.badge.title, symbol = m.badge.symbol, image = m.badge.image or json.null }
      or json.null,
    request_id = m.request_id or json.null }
  if m.mine then
    local shares = {}
    for i, p in ipairs(m.shares) do shares[i] = person(p) end
    out.shared_with = json.array(shares)
  end
  return out
end

local function list_json(list, next_before)
  local items = {}
  for i, m in ipairs(list) do items[i] = message_json(m) end
  return { items = json.array(items), next_before = next_before or json.null }
end

local function request_json(r)
  local askees = {}
  for i, a in ipairs(r.askees) do askees[i] = { id = a.id, name = a.name, status = a.status } end
  return { id = r.id, requester = { id = r.requester_id, name = r.requester_name },
    about = { id = r.about_id, name = r.about_name }, question = r.question, due_date = r.due_date or json.null,
    created_at = r.created_at, askees = json.array(askees), counts = r.counts }
end

-- Comma- or line-separated names or emails -> people ids (422 on field naming the unknown one).
local function people_ids(text, field)
  return directory.people_ids(text, field, messages.RECIPIENTS_MAX)
end

local names_of = directory.names_of

local function truthy(v) return v == "1" or v == "on" or v == "true" or v == true end

-- A badge's image with its checked type, never sniffed, under a policy that runs nothing.
local function image_response(id)
  local bytes, ctype = badges.image(id)
  if not bytes then errors.not_found("This badge has no image.") end
  return { status = 200, body = bytes, headers = {
    ["Content-Type"] = ctype,
    ["X-Content-Type-Options"] = "nosniff",
    ["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; sandbox",
    ["Content-Disposition"] = ("inline; filename=\"badge-%d.%s\""):format(id,
      ctype == "image/png" and "png" or (ctype == "image/jpeg" and "jpg" or "svg")),
    ["Cache-Control"] = "private, max-age=86400",
  } }
end

-- ---------------------------------------------------------------- pages

M.PRESETS = { "praise", "feedback", "note", "request" }
local PRESET_LABELS = { praise = "Praise", feedback = "Feedback", note = "Private note", request = "Ask for feedback" }

local function dialog(req, kind, values, errs)
  local defaults = kind ~= "request" and messages.defaults(kind) or messages.defaults("feedback")
  values.audience = values.audience or defaults.audience
  if values.anonymous == nil then values.anonymous = defaults.anonymity == "mandatory" end
  local enabled = {}
  for _, k in ipairs(messages.KINDS) do enabled[k] = messages.defaults(k).enabled end
  enabled.request = enabled.feedback
  local audiences = {}
  for i, a in ipairs(messages.KIND_AUDIENCES[kind] or {}) do audiences[i] = { a, messages.AUDIENCE_LABELS[a] } end
  local reports = kind == "request" and directory.direct_reports(req.user.id, true) or {}
  return page.render(req, "message_new", { title = PRESET_LABELS[kind], kind = kind, presets = M.PRESETS,
    preset_labels = PRESET_LABELS, enabled = enabled, values = values, errors = errs or {}, defaults = defaults,
    audiences = audiences, badges = kind == "praise" and badges.list() or {}, reports = reports }, { nav = "messages" })
end

function M.routes(r)
  -- the wall
  r:add{ method = "GET", path = "/praise", auth = "user", perm = "messages.read_everyone",
    handler = function(req)
      local q = web.query(req)
      local f = { department = q.department, location = q.location, badge_id = math.tointeger(tonumber(q.badge or "")),
        period = q.period }
      local list, next_before = wall.page(req.user, f, q.before)
      return page.render(req, "praise_wall", { title = "Praise wall", list = list, next_before = next_before,
        f = f, q = q, choices = wall.choices(), comments = {} }, { nav = "praise" })
    end }

  r:add{ method = "GET", path = "/api/praise", auth = "user", perm = "messages.read_everyone",
    handler = function(req)
      local q = web.query(req)
      local list, next_before = wall.page(req.user, { department = q.department, location = q.location,
        badge_id = math.tointeger(tonumber(q.badge_id or "")), period = q.period }, q.before,
        math.max(1, math.min(100, math.tointeger(tonumber(q.limit or "")) or messages.PAGE)))
      return web.json(200, list_json(list, next_before))
    end }

  -- the office screen: no sign-in, an unguessable link an HR Admin created (services/wall.lua)
  r:add{ method = "GET", path = "/praise/screen/{token}", auth = "public", perm = "none",
    handler = function(req)
      local s = wall.screen_for(req.params.token)
      local res = page.render(req, "praise_screen", { title = "Praise · " .. s.label, screen = s,
        token = req.params.token, list = wall.screen_page(30) }, { layout = "screen" })
      res.headers["Cache-Control"] = "no-store"
      res.headers["Referrer-Policy"] = "no-referrer"
      return res
    end }

  -- the message dialog with its presets
  r:add{ method = "GET", path = "/messages/new", auth = "user", perm = "messages.write",
    handler = function(req)
      local q = web.query(req)
      local kind = q.kind or "praise"
      if not PRESET_LABELS[kind] then errors.not_found("There is no such kind of message.") end
      local kept = page.kept(req)
      local values = kept and kept.values or {}
      if not kept and q.to then
        local to = math.tointeger(tonumber(q.to))
        if to then
          if kind == "note" then values.about = names_of({ to }) else values.recipients = names_of({ to }) end
        end
      end
      return dialog(req, kind, values, kept and kept.errors)
    end }

  r:add{ method = "POST", path = "/messages/new", auth = "user", perm = "messages.write",
    handler = function(req)
      local f = web.form(req)
      local kind = PRESET_LABELS[f.kind] and f.kind or "praise"
      local back = "/messages/new?kind=" .. kind
      local ok, id = page.form(req, { back = back, values = f, form = "/messages/new" }, function()
        if kind == "request" then
          return requests.create(req.user, { about_id = f.about_id ~= "" and f.about_id or nil,
            askee_ids = people_ids(f.recipients, "askee_ids"), question = f.text, due_date = f.due_date }, req)
        end
        return messages.create(req.user, { kind = kind, text = f.text,
          recipient_ids = kind ~= "note" and people_ids(f.recipients, "recipient_ids") or {},
          about_id = kind == "note" and people_ids(f.about, "about_id")[1] or nil,
          audience = f.audience, anonymous = truthy(f.anonymous), badge_id = f.badge_id ~= "" and f.badge_id or nil }, req)
      end)
      if not ok then return id end
      if kind == "request" then return page.redirect("/requests/" .. id, "success", "Your request is on its way.") end
      return page.redirect("/messages/" .. id, "success", kind == "note" and "Note saved." or "Sent.")
    end }

  -- my messages
  r:add{ method = "GET", path = "/messages", auth = "user", perm = "object",
    handler = function(req)
      local q = web.query(req)
      local tab = q.tab or "received"
      local data = { title = "My messages", tab = tab }
      if tab == "requested" then
        data.requests = requests.for_user(req.user)
      else
        data.list, data.next_before = messages.tab(req.user, tab, q.before)
      end
      return page.render(req, "messages_list", data, { nav = "messages" })
    end }

  r:add{ method = "GET", path = "/messages/{id:int}", auth = "user", perm = "object",
    handler = function(req)
      local m = messages.get(req.user, req.params.id)
      local comments = messages.comments({ m.id })[m.id] or {}
      return page.render(req, "message_show", { title = messages.KIND_LABELS[m.kind], m = m, comments = comments,
        kept = page.kept(req), unveiled = messages.unveiled_writer(req.user, m.id),
        can_unveil = m.kind == "praise" and m.anonymous and not m.unveiled and access.can(req.user, "praise.unveil_anonymous"),
        kind_label = messages.KIND_LABELS[m.kind], audience_label = messages.AUDIENCE_LABELS[m.audience] },
        { nav = "messages" })
    end }

  local function back_to(req, id) return web.local_path(web.form(req).back, "/messages/" .. id) end

  r:add{ method = "POST", path = "/messages/{id:int}/like", auth = "user", perm = "object",
    handler = function(req)
      local id = req.params.id
      local ok, res = page.form(req, back_to(req, id), messages.like, req.user, id)
      if not ok then return res end
      return web.redirect(back_to(req, id))
    end }

  r:add{ method = "POST", path = "/messages/{id:int}/unlike", auth = "user", perm = "object",
    handler = function(req)
      local id = req.params.id
      local ok, res = page.form(req, back_to(req, id), messages.unlike, req.user, id)
      if not ok then return res end
      return web.redirect(back_to(req, id))
    end }

  r:add{ method = "POST", path = "/messages/{id:int}/comments", auth = "user", perm = "object",
    handler = function(req)
      local id = req.params.id
      local f = web.form(req)
      local ok, res = page.form(req, { back = "/messages/" .. id, values = f }, messages.comment, req.user, id, f)
      if not ok then return res end
      return page.redirect("/messages/" .. id .. "#comments", "success", "Comment added.")
    end }

  r:add{ method = "POST", path = "/messages/{id:int}/comments/{cid:int}/delete", auth = "user", perm = "object",
    handler = function(req)
      local id = req.params.id
      local ok, res = page.form(req, "/messages/" .. id, messages.delete_comment, req.user, id, req.params.cid, req)
      if not ok then return res end
      return page.redirect("/messages/" .. id, "success", "Comment deleted.")
    end }

  r:add{ method = "GET", path = "/messages/{id:int}/edit", auth = "user", perm = "object",
    handler = function(req)
      local m = messages.get_editable(req.user, req.params.id)
      local kept = page.kept(req)
      return page.render(req, "message_edit", { title = "Edit message", m = m,
        values = kept and kept.values or { text = m.text, badge_id = m.badge_id and tostring(m.badge_id) or "" },
        errors = kept and kept.errors or {}, badges = m.kind == "praise" and badges.list() or {} }, { nav = "messages" })
    end }

  r:add{ method = "POST", path = "/messages/{id:int}/edit", auth = "user", perm = "object",
    handler = function(req)
      local id = req.params.id
      local f = web.form(req)
      local ok, res = page.form(req, { back = "/messages/" .. id .. "/edit", values = f }, messages.update, req.user, id,
        { text = f.text, badge_id = f.badge_id ~= nil and (f.badge_id == "" and 0 or f.badge_id) or nil }, req)
      if not ok then return res end
      return page.redirect("/messages/" .. id, "success", "Saved.")
    end }

  r:add{ method = "POST", path = "/messages/{id:int}/delete", auth = "user", perm = "object",
    handler = function(req)
      local id = req.params.id
      local ok, res = page.form(req, "/messages/" .. id, messages.delete, req.user, id, req)
      if not ok then return res end
      return page.redirect(web.local_path(web.form(req).back, "/messages?tab=given"), "success", "Deleted.")
    end }

  r:add{ method = "POST", path = "/messages/{id:int}/share", auth = "user", perm = "object",
    handler = function(req)
      local id = req.params.id
      local f = web.form(req)
      local ok, res = page.form(req, { back = "/messages/" .. id, values = f }, function()
        return messages.share(req.user, id, people_ids(f.people, "people"))
      end)
      if not ok then return res end
      return page.redirect("/messages/" .. id, "success", "Shared.")
    end }

  r:add{ method = "POST", path = "/messages/{id:int}/unveil", auth = "user", perm = "praise.unveil_anonymous",
    handler = function(req)
      local id = req.params.id
      local f = web.form(req)
      local ok, w = page.form(req, { back = "/messages/" .. id, values = f }, messages.unveil, req.user, id, f.reason, req)
      if not ok then return w end
      return page.redirect("/messages/" .. id, "success", ("The writer is %s. They have been told by mail."):format(w.name))
    end }

  -- feedback requests
  r:add{ method = "GET", path = "/requests/{id:int}", auth = "user", perm = "object",
    handler = function(req)
      local rq = requests.get(req.user, req.params.id)
      local kept = page.kept(req)
      return page.render(req, "request_show", { title = "Feedback request", r = rq, values = kept and kept.values or {},
        errors = kept and kept.errors or {}, anonymous = requests.anonymous_answers() }, { nav = "messages" })
    end }

  r:add{ method = "POST", path = "/requests/{id:int}/answer", auth = "user", perm = "object",
    handler = function(req)
      local id = req.params.id
      local f = web.form(req)
      local ok, mid = page.form(req, { back = "/requests/" .. id, values = f }, requests.answer, req.user, id,
        { text = f.text }, req)
      if not ok then return mid end
      return page.redirect("/messages/" .. mid, "success", "Thank you: your feedback was sent.")
    end }

  r:add{ method = "POST", path = "/requests/{id:int}/decline", auth = "user", perm = "object",
    handler = function(req)
      local id = req.params.id
      local ok, res = page.form(req, "/requests/" .. id, requests.decline, req.user, id, req)
      if not ok then return res end
      return page.redirect("/messages?tab=requested", "success", "Declined; they have been told.")
    end }

  -- badge images: served from the app with a safe type, never sniffed, scripts impossible
  r:add{ method = "GET", path = "/badges/{id:int}/image", auth = "user", perm = "messages.read_everyone",
    handler = function(req) return image_response(req.params.id) end }

  -- the same for an office screen (its link is its permission)
  r:add{ method = "GET", path = "/praise/screen/{token}/badges/{id:int}", auth = "public", perm = "none",
    handler = function(req)
      wall.screen_for(req.params.token)
      return image_response(req.params.id)
    end }

  -- ---------------------------------------------------------------- API
  r:add{ method = "POST", path = "/api/messages", auth = "user", perm = "messages.write",
    handler = function(req)
      local id = messages.create(req.user, web.body(req), req)
      return web.json(201, message_json(messages.get(req.user, id)))
    end }

  r:add{ method = "GET", path = "/api/messages", auth = "user", perm = "object",
    handler = function(req)
      local q = web.query(req)
      local list, next_before = messages.tab(req.user, q.tab or "received", q.before)
      return web.json(200, list_json(list, next_before))
    end }

  -- the praise moderators' list (Administration › Praise › Moderation)
  r:add{ method = "GET", path = "/api/praise/moderation", auth = "user", perm = "praise.moderate",
    handler = function(req)
      local list, next_before = messages.moderation_page(req.user, web.query(req).before)
      return web.json(200, list_json(list, next_before))
    end }

  r:add{ method = "GET", path = "/api/messages/{id:int}", auth = "user", perm = "object",
    handler = function(req)
      local m = messages.get(req.user, req.params.id)
      local out = message_json(m)
      local comments = {}
      for i, c in ipairs(messages.comments({ m.id })[m.id] or {}) do
        comments[i] = { id = c.id, author = person(c.author), text = c.text, created_at = c.created_at }
      end
      out.comments = json.array(comments)
      return web.json(200, out)
    end }

  r:add{ method = "PATCH", path = "/api/messages/{id:int}", auth = "user", perm = "object",
    handler = function(req)
      messages.update(req.user, req.params.id, web.body(req), req)
      local ok, m = pcall(messages.get, req.user, req.params.id)
      return web.json(200, ok and message_json(m) or { id = req.params.id })
    end }

  r:add{ method = "DELETE", path = "/api/messages/{id:int}", auth = "user", perm = "object",
    handler = function(req)
      messages.delete(req.user, req.params.id, req)
      return web.no_content()
    end }

  r:add{ method = "POST", path = "/api/messages/{id:int}/likes", auth = "user", perm = "object",
    handler = function(req)
      return web.json(200, { like_count = messages.like(req.user, req.params.id), liked = true })
    end }

  r:add{ method = "DELETE", path = "/api/messages/{id:int}/likes", auth = "user", perm = "object",
    handler = function(req)
      return web.json(200, { like_count = messages.unlike(req.user, req.params.id), liked = false })
    end }

  r:add{ method = "POST", path = "/api/messages/{id:int}/comments", auth = "user", perm = "object",
    handler = function(req)
      return web.json(201, { id = messages.comment(req.user, req.params.id, web.body(req)) })
    end }

  r:add{ method = "DELETE", path = "/api/messages/{id:int}/comments/{cid:int}", auth = "user", perm = "object",
    handler = function(req)
      messages.delete_comment(req.user, req.params.id, req.params.cid, req)
      return web.no_content()
    end }

  r:add{ method = "POST", path = "/api/messages/{id:int}/shares", auth = "user", perm = "object",
    handler = function(req)
      local b = web.body(req)
      return web.json(200, { added = json.array(messages.share(req.user, req.params.id, b.user_ids)) })
    end }

  r:add{ method = "POST", path = "/api/messages/{id:int}/unveil", auth = "user", perm = "praise.unveil_anonymous",
    handler = function(req)
      local w = messages.unveil(req.user, req.params.id, web.body(req).reason, req)
      return web.json(200, { writer = person(w) })
    end }

  r:add{ method = "POST", path = "/api/feedback-requests", auth = "user", perm = "messages.write",
    handler = function(req)
      local id = requests.create(req.user, web.body(req), req)
      return web.json(201, request_json(requests.get(req.user, id)))
    end }

  r:add{ method = "GET", path = "/api/feedback-requests", auth = "user", perm = "object",
    handler = function(req)
      local all = requests.for_user(req.user)
      local made, asked = {}, {}
      for i, x in ipairs(all.made) do made[i] = request_json(x) end
      for i, x in ipairs(all.asked) do asked[i] = request_json(x) end
      return web.json(200, { made = json.array(made), asked = json.array(asked) })
    end }

  r:add{ method = "GET", path = "/api/feedback-requests/{id:int}", auth = "user", perm = "object",
    handler = function(req)
      local rq = requests.get(req.user, req.params.id)
      local out = request_json(rq)
      local answers = {}
      for i, m in ipairs(rq.answers) do answers[i] = message_json(m) end
      out.answers = json.array(answers)
      return web.json(200, out)
    end }

  r:add{ method = "POST", path = "/api/feedback-requests/{id:int}/answer", auth = "user", perm = "object",
    handler = function(req)
      local mid = requests.answer(req.user, req.params.id, web.body(req), req)
      return web.json(201, message_json(messages.get(req.user, mid)))
    end }

  r:add{ method = "POST", path = "/api/feedback-requests/{id:int}/decline", auth = "user", perm = "object",
    handler = function(req)
      requests.decline(req.user, req.params.id, req)
      return web.no_content()
    end }

  -- ---------------------------------------------------------------- what other pages show
  events.hook("page.nav", function(e)
    if e.user.kind == "guest" then return end
    e.items[#e.items + 1] = { id = "praise", label = "Praise", href = "/praise", icon = "★", order = 20 }
    e.items[#e.items + 1] = { id = "messages", label = "Messages", href = "/messages", icon = "✉", order = 21 }
  end)

  events.hook("page.quick_create", function(e)
    if e.user.kind == "guest" then return end
    for _, k in ipairs(M.PRESETS) do
      local kind = k == "request" and "feedback" or k
      if messages.defaults(kind).enabled then
        e.items[#e.items + 1] = { label = k == "praise" and "Give praise" or PRESET_LABELS[k], href = "/messages/new?kind=" .. k }
      end
    end
  end)

  events.hook("home.todos", function(e)
    if e.user.kind == "guest" then return end
    for _, rq in ipairs(requests.open_for_user(e.user.id)) do
      e.items[#e.items + 1] = { label = rq.requester_id == rq.about_id
        and ("Give %s feedback they asked for"):format(rq.requester_name)
        or ("Give %s feedback about %s"):format(rq.requester_name, rq.about_name),
        href = "/requests/" .. rq.id, due = rq.due_date }
    end
  end)

  events.hook("home.panels", function(e)
    if e.user.kind == "guest" then return end
    local list = wall.page(e.user, {}, nil, 5)
    local items = {}
    for i, m in ipairs(list) do
      local names = {}
      for j, p in ipairs(m.recipients) do names[j] = p.name end
      items[i] = { label = ("%s → %s"):format(m.author and m.author.name or "Anonymous", table.concat(names, ", ")),
        href = "/messages/" .. m.id, note = M.snippet(m.text, 120), badge = m.badge and (m.badge.symbol .. " " .. m.badge.title) }
    end
    e.panels[#e.panels + 1] = { title = "Praise", items = items, order = 60,
      empty = "No praise yet. Recognise a colleague's good work: it shows here and on the praise wall.",
      action = { label = "Give praise", href = "/messages/new?kind=praise" } }
  end)

  events.hook("person.profile", function(e)
    if e.viewer.kind == "guest" then return end
    local list = messages.praise_for(e.viewer, e.person.id, 5)
    e.sections[#e.sections + 1] = { template = "_praise_section", order = 30,
      data = { list = list, person = e.person, viewer = e.viewer } }
  end)

  events.hook("review.resources", function(e)
    local person_id = e.reviewee_id
    local viewer = e.user
    local items = {}
    for _, m in ipairs(messages.notes_about(viewer, person_id, 5)) do
      items[#items + 1] = { label = "Your note", href = "/messages/" .. m.id, note = M.snippet(m.text, 160) }
    end
    for _, m in ipairs(messages.praise_for(viewer, person_id, 5)) do
      items[#items + 1] = { label = (m.badge and (m.badge.symbol .. " ") or "") .. "Praise from "
        .. (m.author and m.author.name or "someone anonymous"), href = "/messages/" .. m.id, note = M.snippet(m.text, 160) }
    end
    for _, m in ipairs(messages.feedback_for(viewer, person_id, 5)) do
      items[#items + 1] = { label = "Feedback from " .. (m.author and m.author.name or "someone anonymous"),
        href = "/messages/" .. m.id, note = M.snippet(m.text, 160) }
    end
    e.groups[#e.groups + 1] = { title = "Praise, feedback and notes", items = items,
      empty = "Nothing yet: praise, feedback and your private notes about this person show here." }
  end)
end

--- text on one line, cut to n characters (never inside a character: util.truncate).
function M.snippet(text, n)
  return util.truncate(tostring(text or ""):gsub("%s+", " "), n)
end

template.helpers.snippet = M.snippet

return M
