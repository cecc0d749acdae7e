-- The 1:1 pages as people use them: the empty My meetings page says how to start; starting a
-- series with the people search; forms that keep what was typed when refused (post/redirect/get);
-- adding, editing, ticking, making private and deleting from the meeting page; the navigation,
-- the home page's panels and to-do, and the last and next 1:1 on a manager's team page.
local t = require "testing"
local db = require "lib.db"
local H = dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "_helpers.lua")

local P = t.demo()

t.test("My meetings without any 1:1 says what a 1:1 is and how to start one", function()
  local body = t.status(H.as("omar"):get("/meetings"), 200).body
  t.contains(body, "No 1:1s yet")
  t.contains(body, 'href="/meetings/new"')
  t.contains(body, "Start a 1:1")
end)

t.test("the home page without a 1:1 planned leads to starting one", function()
  local home = t.status(H.as("omar"):get("/home"), 200).body
  t.match(home, 'No 1:1 planned%. <a href="/meetings/new">Start one with your manager or a colleague</a>')
end)

t.test("every employee has 1:1 meetings in the navigation and Meeting in the + New menu; guests do not", function()
  local home = H.as("omar"):get("/home").body
  t.contains(home, 'href="/meetings"')
  t.match(home, '<details class="menu quick%-create">.-<a role="menuitem" href="/meetings/new">Meeting</a>.-</details>')
  t.not_contains(t.login("alex.morgan@clientcorp.example"):get("/home").body, 'href="/meetings"')
end)

t.test("the start form finds colleagues by name, without the searcher and without guests", function()
  local body = t.status(H.as("mia"):get("/meetings/new?q=Lucas"), 200).body
  t.contains(body, 'name="with_id" value="' .. P.lucas.id .. '"')
  body = H.as("mia"):get("/meetings/new?q=" .. "Mia").body
  t.not_contains(body, 'name="with_id" value="' .. P.mia.id .. '"', "not yourself")
  body = H.as("mia"):get("/meetings/new?q=Alex").body
  t.not_contains(body, "Alex Morgan", "not the guest")
  t.contains(body, "Nobody matches")
end)

local mid

t.test("a refused start keeps what was typed and says what is wrong; a good one opens the meeting", function()
  local c = H.as("mia")
  local res = c:form("/meetings/new", { q = "Lucas", title = "Mentoring ✨ with Lucas", cadence = "biweekly", date = "2020-01-01" })
  t.status(res, 303)
  t.eq(res.headers.location, "/meetings/new")
  local page = c:follow(res)
  t.contains(page.body, "Mentoring ✨ with Lucas", "the title as typed")
  t.contains(page.body, '<option value="biweekly" selected>', "the cadence")
  t.contains(page.body, "The date is in the past")
  t.contains(page.body, "Pick a colleague from the list.")
  t.eq(db.value("SELECT count(*) FROM meeting_series"), 0, "nothing created")
  local empty = c:follow(t.status(c:form("/meetings/new", { with_id = P.lucas.id, cadence = "weekly", date = "" }), 303))
  t.contains(empty.body, "Choose the day of the meeting.", "no date: asked for one, not for a format")
  res = t.status(c:form("/meetings/new", { with_id = P.lucas.id, title = "Mentoring ✨ with Lucas", cadence = "biweekly",
    date = "2026-01-09" }), 303)
  mid = tonumber(res.headers.location:match("^/meetings/(%d+)"))
  t.ok(mid, "taken to the meeting: " .. res.headers.location)
  page = c:follow(res)
  t.contains(page.body, "Your 1:1 series is set up.")
  t.contains(page.body, "Mentoring ✨ with Lucas")
  t.contains(page.body, "1:1 with <a href=\"/people/" .. P.lucas.id .. "\">Lucas Moreau</a>")
end)

t.test("items are added from the keyboard: one field per kind, back to it after adding", function()
  local c = H.as("mia")
  local res = t.status(c:form("/meetings/" .. mid .. "/points", { text = "Code review habits" }), 303)
  t.eq(res.headers.location, "/meetings/" .. mid .. "?added=point")
  local page = c:follow(res).body
  t.contains(page, "Code review habits")
  t.match(page, 'id="add%-point%-text"[^>]*autofocus', "the field is ready for the next one")
  t.status(c:form("/meetings/" .. mid .. "/actions", { text = "Read the style guide", assignee_id = P.mia.id,
    due_date = "2026-01-16" }), 303)
  t.status(c:form("/meetings/" .. mid .. "/notes", { text = "Private thought", private = "on" }), 303)
  page = c:get("/meetings/" .. mid).body
  t.contains(page, "Read the style guide")
  t.contains(page, "due 16 Jan 2026")
  t.match(page, "Private thought.-Private</span>", "marked private")
  t.not_contains(H.as("lucas"):get("/meetings/" .. mid).body, "Private thought")
end)

t.test("a refused item keeps what was typed in its own form", function()
  local c = H.as("mia")
  local res = t.status(c:form("/meetings/" .. mid .. "/actions", { text = "Pair on the parser", assignee_id = P.olivia.id,
    due_date = "2026-13-40" }), 303)
  local page = c:follow(res).body
  t.contains(page, 'value="Pair on the parser"')
  t.contains(page, "An action item is for one of the two of you.")
  t.eq(db.value("SELECT count(*) FROM meeting_items WHERE kind = 'action'"), 1, "not added")
  res = t.status(c:form("/meetings/" .. mid .. "/points", { text = "   " }), 303)
  t.contains(c:follow(res).body, "Write something first.")
end)

t.test("the author edits an item in place; the other participant sees no edit controls for it", function()
  local c = H.as("mia")
  local id = db.value("SELECT id FROM meeting_items WHERE kind = 'point' AND author_id = ?", P.mia.id)
  local page = c:get("/meetings/" .. mid .. "?edit=" .. id).body
  t.match(page, 'action="/meetings/' .. mid .. '/items/' .. id .. '"')
  t.status(c:form("/meetings/" .. mid .. "/items/" .. id, { text = "Code review habits (and tests)", private = "off" }), 303)
  t.contains(c:get("/meetings/" .. mid).body, "Code review habits (and tests)")
  local lucas = H.as("lucas"):get("/meetings/" .. mid .. "?edit=" .. id).body
  t.not_contains(lucas, 'action="/meetings/' .. mid .. '/items/' .. id .. '"', "no edit form for Lucas")
  t.not_contains(lucas, 'action="/meetings/' .. mid .. '/items/' .. id .. '/delete"', "no delete for Lucas")
  t.contains(lucas, 'action="/meetings/' .. mid .. '/items/' .. id .. '/tick"', "but he may tick it off")
end)

t.test("ticking from the page, and deleting asks first", function()
  local c = H.as("lucas")
  local id = db.value("SELECT id FROM meeting_items WHERE kind = 'point' AND author_id = ?", P.mia.id)
  t.status(c:form("/meetings/" .. mid .. "/items/" .. id .. "/tick", { done = "on" }), 303)
  t.ok(db.value("SELECT done_at FROM meeting_items WHERE id = ?", id))
  t.contains(c:get("/meetings/" .. mid).body, 'aria-pressed="true"')
  local page = H.as("mia"):get("/meetings/" .. mid).body
  t.match(page, 'action="/meetings/' .. mid .. '/items/' .. id .. '/delete" data%-confirm="Delete this talking point%?')
  t.match(page, 'action="/meetings/series/%d+/end" class="inline%-form" data%-confirm="End the 1:1 series with Lucas Moreau%?')
  t.status(H.as("mia"):form("/meetings/" .. mid .. "/items/" .. id .. "/delete", {}), 303)
  t.eq(db.value("SELECT count(*) FROM meeting_items WHERE id = ?", id), 0)
end)

t.test("a refused move keeps the date typed and the message beside it", function()
  local c = H.as("lucas")
  local res = t.status(c:form("/meetings/" .. mid .. "/reschedule", { date = "2026-01-01" }), 303)
  local page = c:follow(res).body
  t.contains(page, 'value="2026-01-01"')
  t.contains(page, "The date is in the past")
  t.eq(db.value("SELECT date FROM meetings WHERE id = ?", mid), "2026-01-09")
  t.status(c:form("/meetings/" .. mid .. "/reschedule", { date = "2026-01-12" }), 303)
  t.eq(db.value("SELECT date FROM meetings WHERE id = ?", mid), "2026-01-12")
end)

t.test("the home page shows the next 1:1s, open action items and a to-do for a meeting coming up", function()
  local home = H.as("mia"):get("/home").body
  t.contains(home, "Your next 1:1s")
  t.contains(home, "1:1 with Lucas Moreau")
  t.contains(home, "Your open action items")
  t.contains(home, "Read the style guide")
  t.not_contains(home, "Add your talking points for the 1:1 with Lucas", "Mia has written points already")
  t.advance_to("2026-01-11T08:00:00Z")
  home = H.as("lucas"):get("/home").body
  t.contains(home, "Add your talking points for the 1:1 with Mia", "the day before, Lucas has written nothing")
  t.status(H.as("lucas"):form("/meetings/" .. mid .. "/points", { text = "Hello" }), 303)
  t.not_contains(H.as("lucas"):get("/home").body, "Add your talking points for the 1:1 with Mia")
end)

t.test("a manager's team page shows the last and next 1:1 with each report", function()
  local s = H.start("ravi", "omar", { date = "2026-01-12" })
  t.status(H.as("ravi"):post("/api/meetings/" .. s.meeting_id .. "/done"), 200)
  local team = H.as("ravi"):get("/team").body
  local omar = team:match('href="/people/' .. P.omar.id .. '">.-</li>')
  t.match(omar, 'Last 1:1:</span> <a href="/meetings/' .. s.meeting_id .. '">12 Jan 2026</a>')
  t.match(omar, "Next 1:1:</span> <a href=\"/meetings/%d+\">19 Jan 2026</a>")
  local zoe = team:match('href="/people/' .. P.zoe.id .. '">.-</li>')
  t.match(zoe, "Last 1:1:</span> <span class=\"muted\">—</span>", "no 1:1 with Zoe")
end)

t.test("the meeting page without JavaScript: every control is a plain form or link", function()
  local page = H.as("mia"):get("/meetings/" .. mid).body
  t.not_contains(page, "onclick")
  t.not_contains(page, "<script>")
  for _, action in ipairs({ "/done", "/skip", "/reschedule", "/points", "/actions", "/notes" }) do
    t.contains(page, 'action="/meetings/' .. mid .. action .. '"')
  end
end)
