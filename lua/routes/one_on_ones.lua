-- 1:1 meetings over HTTP: the JSON API (/api/meeting-series, /api/meetings) and the pages (My
-- meetings, starting a series, the meeting page). Handlers translate requests to
-- services/one_on_ones calls and back; every rule is in the service.
local web = require "lib.web"
local page = require "lib.page"
local json = require "lib.json"
local util = require "lib.util"
local dates = require "lib.dates"
local events = require "lib.events"
local access = require "services.access"
local directory = require "services.directory"
local one_on_ones = require "services.one_on_ones"
local features = require "services.features"

local M = {}

local function int(v) return math.tointeger(tonumber(v)) end

-- ------------------------------------------------------------------ JSON shapes

local function series_json(s)
  return { id = s.id, title = s.title, cadence = s.cadence, phase = s.phase, organizer_id = s.organizer_id,
    attendee_id = s.attendee_id, next_date = s.next_date or json.null, closed_at = s.closed_at or json.null }
end

local function item_json(i)
  return { id = i.id, kind = i.kind, text = i.text, private = i.private, author_id = i.author_id,
    author_name = i.author_name, from_date = i.from_date, carried_over = i.carried, done = i.done,
    done_at = i.done and i.done_at or json.null, assignee_id = i.assignee_id or json.null,
    due_date = i.due_date or json.null }
end

local function meeting_json(v)
  local items = {}
  for _, kind in ipairs(one_on_ones.KINDS) do
    for _, i in ipairs(v.items[kind]) do items[#items + 1] = item_json(i) end
  end
  return { id = v.meeting.id, series_id = v.series.id, date = v.meeting.date, status = v.meeting.status,
    series = series_json(v.series), items = json.array(items) }
end

-- ------------------------------------------------------------------ pages' helpers

local function meeting_path(id) return "/meetings/" .. id end

local function first_name(name) return (name or ""):match("^(%S+)") or name end

-- The form page of the meeting (kept values come back to it), with which form they belong to.
local function meeting_form(req, id, which, f)
  return { back = meeting_path(id) .. "#" .. which:gsub(":.*", ""), form = meeting_path(id), values = f,
    extra = { form = which } }
end

local function show_meeting(req)
  local v = one_on_ones.view(req.user, req.params.id, req)
  local kept = page.kept(req)
  local edit = int(web.query(req).edit)
  local data = { title = v.series.title, v = v, kept = kept and { form = kept.extra and kept.extra.form,
      values = kept.values, errors = kept.errors } or {}, edit = edit, today = dates.today(),
    cadences = one_on_ones.CADENCES, cadence_labels = one_on_ones.CADENCE_LABELS,
    status_labels = one_on_ones.STATUS_LABELS, added = web.query(req).added, truncate = util.truncate }
  if data.kept.form and data.kept.form:match("^edit:") then data.edit = int(data.kept.form:match("^edit:(%d+)")) end
  return page.render(req, "meeting_show", data, { nav = "meetings" })
end

-- Runs fn for a form on the meeting page; a refusal goes back to it keeping what was typed.
local function on_meeting(req, which, fn, done_message, to)
  local f = web.form(req)
  local ok, res = page.form(req, meeting_form(req, req.params.id, which, f), fn, f)
  if not ok then return res end
  return page.redirect(to and to(res) or (meeting_path(req.params.id) .. "#" .. which:gsub(":.*", "")), "success",
    done_message)
end

local function boolean_field(v) return v == "on" or v == "1" or v == "true" end

function M.routes(router)
  -- every route here answers 404 "switched off" while the company does not use 1:1s
  local r = features.guard(router, "one_on_ones")

  -- ---------------------------------------------------------------- API
  r:add{ method = "GET", path = "/api/meeting-series", auth = "user", perm = "object",
    handler = function(req)
      local mine = one_on_ones.my_series(req.user)
      local out = {}
      for _, list in ipairs({ mine.upcoming, mine.ended }) do
        for _, s in ipairs(list) do
          local j = series_json(s)
          j.with = { id = s.other.id, name = s.other.name }
          j.meeting_id = s.meeting_id or json.null
          out[#out + 1] = j
        end
      end
      return web.json(200, { series = json.array(out) })
    end }

  r:add{ method = "POST", path = "/api/meeting-series", auth = "user", perm = "one_on_ones.create",
    handler = function(req)
      local s = one_on_ones.create(req.user, web.body(req), req)
      local j = series_json(s)
      j.meeting_id = s.meeting_id
      return web.json(201, j, { Location = "/api/meeting-series/" .. s.id })
    end }

  r:add{ method = "GET", path = "/api/meeting-series/{id:int}", auth = "user", perm = "object",
    handler = function(req)
      local s = one_on_ones.series(req.user, req.params.id)
      local j = series_json(s)
      j.meetings = json.array(one_on_ones.meetings_of(s.id))
      return web.json(200, j)
    end }

  r:add{ method = "PATCH", path = "/api/meeting-series/{id:int}", auth = "user", perm = "object",
    handler = function(req)
      return web.json(200, series_json(one_on_ones.update(req.user, req.params.id, web.body(req), req)))
    end }

  r:add{ method = "POST", path = "/api/meeting-series/{id:int}/end", auth = "user", perm = "object",
    handler = function(req) return web.json(200, series_json(one_on_ones.finish(req.user, req.params.id, req))) end }

  r:add{ method = "POST", path = "/api/meeting-series/{id:int}/meetings", auth = "user", perm = "object",
    handler = function(req)
      local mid = one_on_ones.schedule(req.user, req.params.id, web.body(req).date, req)
      return web.json(201, meeting_json(one_on_ones.view(req.user, mid, req)), { Location = "/api/meetings/" .. mid })
    end }

  r:add{ method = "GET", path = "/api/meetings", auth = "user", perm = "object",
    handler = function(req)
      local q = web.query(req)
      local res = one_on_ones.past(req.user, q.page, math.max(1, math.min(100, int(q.per_page) or 20)))
      local list = {}
      for i, m in ipairs(res.meetings) do
        list[i] = { id = m.id, series_id = m.series_id, date = m.date, status = m.status, title = m.title,
          with = m.other_name }
      end
      return web.json(200, { meetings = json.array(list), total = res.total, page = res.page, pages = res.pages })
    end }

  r:add{ method = "GET", path = "/api/meetings/{id:int}", auth = "user", perm = "object",
    handler = function(req) return web.json(200, meeting_json(one_on_ones.view(req.user, req.params.id, req))) end }

  r:add{ method = "PATCH", path = "/api/meetings/{id:int}", auth = "user", perm = "object",
    handler = function(req)
      one_on_ones.reschedule(req.user, req.params.id, web.body(req).date, req)
      return web.json(200, meeting_json(one_on_ones.view(req.user, req.params.id, req)))
    end }

  for _, how in ipairs({ "done", "skip" }) do
    r:add{ method = "POST", path = "/api/meetings/{id:int}/" .. how, auth = "user", perm = "object",
      handler = function(req)
        local next_id = one_on_ones.close(req.user, req.params.id, how == "done" and "done" or "skipped", req)
        local j = meeting_json(one_on_ones.view(req.user, req.params.id, req))
        j.next_meeting_id = next_id or json.null
        return web.json(200, j)
      end }
  end

  -- The item as the meeting shows it to the caller after a change (status: 200 or 201).
  local function item_after(req, iid, status)
    local v = one_on_ones.view(req.user, req.params.id, req)
    for _, kind in ipairs(one_on_ones.KINDS) do
      for _, i in ipairs(v.items[kind]) do
        if i.id == iid then return web.json(status or 200, item_json(i)) end
      end
    end
    return web.json(status or 200, { id = iid })
  end

  r:add{ method = "POST", path = "/api/meetings/{id:int}/items", auth = "user", perm = "object",
    handler = function(req)
      return item_after(req, one_on_ones.add_item(req.user, req.params.id, web.body(req), req), 201)
    end }

  r:add{ method = "PATCH", path = "/api/meetings/{id:int}/items/{item:int}", auth = "user", perm = "object",
    handler = function(req)
      one_on_ones.update_item(req.user, req.params.id, req.params.item, web.body(req), req)
      return item_after(req, req.params.item)
    end }

  r:add{ method = "DELETE", path = "/api/meetings/{id:int}/items/{item:int}", auth = "user", perm = "object",
    handler = function(req)
      one_on_ones.delete_item(req.user, req.params.id, req.params.item, req)
      return web.no_content()
    end }

  r:add{ method = "POST", path = "/api/meetings/{id:int}/items/{item:int}/done", auth = "user", perm = "object",
    handler = function(req)
      local b = web.body(req)
      one_on_ones.tick(req.user, req.params.id, req.params.item, b.done ~= false, req)
      return item_after(req, req.params.item)
    end }

  -- ---------------------------------------------------------------- pages
  r:add{ method = "GET", path = "/meetings", auth = "user", perm = "object",
    handler = function(req)
      local mine = one_on_ones.my_series(req.user)
      local past = one_on_ones.past(req.user, web.query(req).page)
      return page.render(req, "meetings_list", { title = "My meetings", mine = mine, past = past,
        can_create = access.can(req.user, "one_on_ones.create") }, { nav = "meetings" })
    end }

  r:add{ method = "GET", path = "/meetings/new", auth = "user", perm = "one_on_ones.create",
    handler = function(req)
      local kept = page.kept(req)
      local q = web.query(req)
      local values = kept and kept.values or { cadence = q.cadence or "weekly", with_id = q.with, q = q.q,
        title = q.title, date = q.date }
      local found, chosen = {}, nil
      local search = util.trim(values.q or "")
      if search ~= "" then
        for _, u in ipairs(directory.search(req.user, { q = search, status = "active", kind = "employee",
          per_page = 10 }).users) do
          if u.id ~= req.user.id and u.status == "active" and u.kind == "employee" then found[#found + 1] = u end
        end
      end
      if int(values.with_id) then chosen = one_on_ones.person(int(values.with_id)) end
      return page.render(req, "meeting_new", { title = "Start a 1:1", values = values,
        errors = kept and kept.errors or {}, found = found, chosen = chosen, searched = search ~= "",
        cadences = one_on_ones.CADENCES, cadence_labels = one_on_ones.CADENCE_LABELS,
        today = dates.today() }, { nav = "meetings" })
    end }

  r:add{ method = "POST", path = "/meetings/new", auth = "user", perm = "one_on_ones.create",
    handler = function(req)
      local f = web.form(req)
      local ok, res = page.form(req, { back = "/meetings/new", values = f }, one_on_ones.create, req.user, f, req)
      if not ok then return res end
      return page.redirect(meeting_path(res.meeting_id) .. "#add", "success",
        "Your 1:1 series is set up. Add the first talking points.")
    end }

  r:add{ method = "GET", path = "/meetings/{id:int}", auth = "user", perm = "object", handler = show_meeting }

  r:add{ method = "GET", path = "/meetings/series/{id:int}", auth = "user", perm = "object",
    handler = function(req)
      local s = one_on_ones.series(req.user, req.params.id)
      local list = one_on_ones.meetings_of(s.id)
      return web.redirect(meeting_path(list[1].id))
    end }

  for kind, label in pairs({ point = "The talking point is added.", note = "The note is added.",
    action = "The action item is added." }) do
    local anchor = kind == "point" and "add" or ("add-" .. kind)
    r:add{ method = "POST", path = "/meetings/{id:int}/" .. kind .. "s", auth = "user", perm = "object",
      handler = function(req)
        return on_meeting(req, anchor, function(f)
          local input = { kind = kind, text = f.text, private = boolean_field(f.private) and "on" or "off",
            assignee_id = f.assignee_id, due_date = f.due_date }
          return one_on_ones.add_item(req.user, req.params.id, input, req)
        -- no #fragment: a page with one ignores autofocus, and the field's autofocus scrolls to it
        end, label, function() return meeting_path(req.params.id) .. "?added=" .. kind end)
      end }
  end

  r:add{ method = "POST", path = "/meetings/{id:int}/items/{item:int}", auth = "user", perm = "object",
    handler = function(req)
      local item = req.params.item
      return on_meeting(req, "edit:" .. item, function(f)
        local input = { text = f.text, assignee_id = f.assignee_id, due_date = f.due_date }
        if f.private then input.private = boolean_field(f.private) and "on" or "off" end
        return one_on_ones.update_item(req.user, req.params.id, item, input, req)
      end, "Saved.", function() return meeting_path(req.params.id) .. "#item-" .. item end)
    end }

  -- the one-button forms on an item: a field on or off, a service call, a message for each
  local toggles = {
    privacy = { field = "private", said = { "Now private: only you read it.", "Now shared with the other participant." },
      run = function(req, item, on) return one_on_ones.update_item(req.user, req.params.id, item, { private = on }, req) end },
    tick = { field = "done", said = { "Ticked off.", "Open again." },
      run = function(req, item, on) return one_on_ones.tick(req.user, req.params.id, item, on, req) end },
    delete = { field = "confirm", said = { "Deleted.", "Deleted." }, to = meeting_path,
      run = function(req, item) return one_on_ones.delete_item(req.user, req.params.id, item, req) end },
  }
  for name, tg in pairs(toggles) do
    r:add{ method = "POST", path = "/meetings/{id:int}/items/{item:int}/" .. name, auth = "user", perm = "object",
      handler = function(req)
        local on = boolean_field(web.form(req)[tg.field])
        local item = req.params.item
        return on_meeting(req, "item-" .. item, function() return tg.run(req, item, on) end,
          tg.said[on and 1 or 2], tg.to and function() return tg.to(req.params.id) end)
      end }
  end

  r:add{ method = "POST", path = "/meetings/{id:int}/reschedule", auth = "user", perm = "object",
    handler = function(req)
      return on_meeting(req, "reschedule", function(f)
        return one_on_ones.reschedule(req.user, req.params.id, f.date, req)
      end, "The meeting is moved.", function() return meeting_path(req.params.id) end)
    end }

  for _, how in ipairs({ "done", "skip" }) do
    r:add{ method = "POST", path = "/meetings/{id:int}/" .. how, auth = "user", perm = "object",
      handler = function(req)
        return on_meeting(req, "status", function()
          return one_on_ones.close(req.user, req.params.id, how == "done" and "done" or "skipped", req)
        end, how == "done" and "Marked as done. What is still open carries over to the next meeting."
          or "Skipped. Everything open carries over to the next meeting.",
          function(next_id) return meeting_path(next_id or req.params.id) end)
      end }
  end

  r:add{ method = "POST", path = "/meetings/series/{id:int}", auth = "user", perm = "object",
    handler = function(req)
      local f = web.form(req)
      local back = meeting_path(one_on_ones.current_meeting(req.user, req.params.id))
      local ok, res = page.form(req, { back = back .. "#series", form = back, values = f, extra = { form = "series" } },
        one_on_ones.update, req.user, req.params.id, { title = f.title, cadence = f.cadence }, req)
      if not ok then return res end
      return page.redirect(back .. "#series", "success", "Saved.")
    end }

  r:add{ method = "POST", path = "/meetings/series/{id:int}/end", auth = "user", perm = "object",
    handler = function(req)
      local back = meeting_path(one_on_ones.current_meeting(req.user, req.params.id))
      local ok, res = page.form(req, back, one_on_ones.finish, req.user, req.params.id, req)
      if not ok then return res end
      return page.redirect(back, "success", "The series has ended. Everything written stays here, read-only.")
    end }

  r:add{ method = "POST", path = "/meetings/series/{id:int}/schedule", auth = "user", perm = "object",
    handler = function(req)
      local f = web.form(req)
      local back = meeting_path(one_on_ones.current_meeting(req.user, req.params.id))
      local ok, res = page.form(req, { back = back .. "#schedule", form = back, values = f,
        extra = { form = "schedule" } }, one_on_ones.schedule, req.user, req.params.id, f.date, req)
      if not ok then return res end
      return page.redirect(meeting_path(res), "success", "The next meeting is planned.")
    end }

  events.hook("page.nav", function(e)
    if e.user.kind ~= "guest" and features.on("one_on_ones") then
      e.items[#e.items + 1] = { id = "meetings", label = "1:1 meetings", href = "/meetings", icon = "⇄", order = 20 }
    end
  end)
  events.hook("page.quick_create", function(e)
    if e.user.kind ~= "guest" and features.on("one_on_ones") then e.items[#e.items + 1] = { label = "Meeting", href = "/meetings/new" } end
  end)

  events.hook("home.panels", function(e)
    local u = e.user
    if u.kind == "guest" or not features.on("one_on_ones") then return end
    local today = dates.today()
    local items = {}
    for _, m in ipairs(one_on_ones.next_meetings(u, 5)) do
      items[#items + 1] = { label = "1:1 with " .. m.other_name, href = meeting_path(m.id),
        note = util.human_date(m.date), badge = m.date == today and "Today" or nil, tone = "brand" }
    end
    e.panels[#e.panels + 1] = { title = "Your next 1:1s", items = items, order = 30,
      empty = "No 1:1 planned.",
      empty_action = { label = "Start one with your manager or a colleague", href = "/meetings/new" },
      action = { label = "My meetings", href = "/meetings" } }
    local actions = {}
    for _, a in ipairs(one_on_ones.my_actions(u, 10, e.req)) do
      actions[#actions + 1] = { label = util.truncate(a.text, 120), href = meeting_path(a.meeting_id) .. "#actions",
        note = "From your 1:1 with " .. a.other_name .. (a.due_date and (" · due " .. util.human_date(a.due_date)) or ""),
        badge = (a.due_date and a.due_date < today) and "Late" or nil, tone = "warn" }
    end
    if #actions > 0 then
      e.panels[#e.panels + 1] = { title = "Your open action items", items = actions, order = 31,
        empty = "Nothing open." }
    end
  end)

  -- To-do: a meeting today or tomorrow you have written nothing for yet.
  events.hook("home.todos", function(e)
    if e.user.kind == "guest" or not features.on("one_on_ones") then return end
    for _, m in ipairs(one_on_ones.unprepared_soon(e.user)) do
      e.items[#e.items + 1] = { label = "Add your talking points for the 1:1 with " .. first_name(m.other_name),
        href = meeting_path(m.id) .. "#add", due = m.date }
    end
  end)

  events.hook("team.columns", function(e)
    if not features.on("one_on_ones") then return end
    local ids = {}
    for i, p in ipairs(e.people) do ids[i] = p.id end
    local last, nxt = {}, {}
    for id, d in pairs(one_on_ones.team_dates(e.user, ids)) do
      if d.last then last[id] = { text = util.human_date(d.last.date), href = meeting_path(d.last.id) } end
      if d.next then nxt[id] = { text = util.human_date(d.next.date), href = meeting_path(d.next.id) } end
    end
    e.columns[#e.columns + 1] = { label = "Last 1:1", values = last, empty = "—" }
    e.columns[#e.columns + 1] = { label = "Next 1:1", values = nxt, empty = "—" }
  end)
end

return M
