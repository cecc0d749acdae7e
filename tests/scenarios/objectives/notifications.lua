-- The mails of objectives on the virtual clock (it starts on Monday 5 January 2026, 09:00 UTC):
-- an objective's owner is reminded 30, 10 and 3 days before its due date and a week after it
-- while it is still open (neither done nor missed); everyone taking part hears 3 days before
-- "edit until" that editing closes; the owner hears when someone else sets an objective for them,
-- comments on one or updates its progress. Mails go out at 09:00 UTC, follow changed dates, stop with a deleted
-- objective, and never carry what was written (titles, comments): the cycle, the date, who, a link.
local t = require "testing"
local db = require "lib.db"
local demo = require "demo"
local timeline = require "services.objective_timeline"
local H = dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "_helpers.lua")

t.demo()
local MIA, ZOE = demo.email("mia"), demo.email("zoe")

local function mails(template, to) return t.outbox({ template = template, to = to }) end

-- Q1: edit until 31 January, update until 15 April
local q1 = H.cycle({ name = "Q1 2026" })
local storage = H.objective("mia", q1, { title = "Secret storage migration", due_on = "2026-03-01" })
local docs = H.objective("zoe", q1, { title = "Write the docs", due_on = "2026-03-01" })

t.test("an objective's due-date reminders are planned with it: one job per step, none for a moment already past", function()
  t.eq(db.value("SELECT count(*) FROM jobs WHERE key LIKE ?", "objective_cycle:" .. q1.id .. ":objective:" .. storage.id
    .. ":wf:%"), 4, "30, 10 and 3 days before, a week after")
  local soon = H.objective("mia", q1, { title = "Due soon", due_on = "2026-01-20" })
  t.eq(db.value("SELECT count(*) FROM jobs WHERE key LIKE ?", "objective_cycle:" .. q1.id .. ":objective:" .. soon.id
    .. ":wf:%"), 3, "30 days before 20 January has passed")
  t.status(H.as("mia"):delete("/api/objectives/" .. soon.id), 204)
  t.eq(db.value("SELECT count(*) FROM jobs WHERE key LIKE ?", "objective_cycle:" .. q1.id .. ":objective:" .. soon.id
    .. ":wf:%"), 0, "a deleted objective's reminders are gone")
end)

t.test("someone else setting an objective for a person tells them who and when it is due; their own tells nobody", function()
  t.eq(#mails("objective.set_for_you"), 0, "Mia and Zoe set their own")
  local res = t.status(H.as("ravi"):post("/api/objectives", { cycle_id = q1.id, owner_ids = { H.id("mia"), H.id("omar") },
    title = "Secret launch plan", due_on = "2026-03-15" }), 201).json
  local m = mails("objective.set_for_you")
  t.eq(#m, 2, "one to each report")
  local mine = mails("objective.set_for_you", MIA)[1]
  t.eq(mine.subject, "Ravi Shankar set an objective for you")
  t.contains(mine.body_text, "Ravi Shankar set an objective for you in Q1 2026, due on 15 Mar 2026. You can change it "
    .. "until 31 Jan 2026 and update its progress until 15 Apr 2026.")
  t.not_contains(mine.subject .. mine.body_text, "Secret")
  t.eq(#mails("objective.set_for_you", demo.email("ravi")), 0, "not the one who set it")
  for _, id in ipairs(res.ids) do t.status(H.as("ravi"):delete("/api/objectives/" .. id), 204) end
end)

t.test("comments and progress updates by someone else tell the owner who, never what was written", function()
  t.status(H.as("ravi"):post("/api/objectives/" .. storage.id .. "/comments", { body = "Confidential: budget cut" }), 201)
  local m = mails("objective.commented")
  t.eq(#m, 1, "one mail")
  t.eq(m[1].to_email, MIA)
  t.eq(m[1].subject, "Ravi Shankar commented on your objective")
  t.contains(m[1].body_text, "Ravi Shankar commented on one of your objectives in Q1 2026 (due on 1 Mar 2026).")
  t.contains(m[1].body_text, "/objectives/" .. storage.id)
  t.not_contains(m[1].subject .. m[1].body_text, "budget", "no comment text")
  t.not_contains(m[1].subject .. m[1].body_text, "Secret", "no title")
  t.status(H.as("ravi"):patch("/api/objectives/" .. storage.id, { status = "at_risk", note = "Secret note" }), 200)
  m = mails("objective.commented")
  t.eq(#m, 2, "a second mail for the second change")
  t.eq(m[2].subject, "Ravi Shankar updated the progress of your objective")
  t.not_contains(m[2].body_text, "Secret")
end)

t.test("the owner's own comments and updates send nothing", function()
  local before = #t.outbox()
  t.status(H.as("mia"):post("/api/objectives/" .. storage.id .. "/comments", { body = "Noted" }), 201)
  t.status(H.as("mia"):patch("/api/objectives/" .. storage.id, { status = "on_track" }), 200)
  t.eq(#t.outbox(), before)
end)

t.test("3 days before edit until, at 09:00, everyone taking part hears that editing closes, once", function()
  local taking_part = db.value([[SELECT count(*) FROM users u, objective_cycles c WHERE c.id = ? AND u.status = 'active'
    AND u.kind = 'employee']], q1.id)
  t.advance_to("2026-01-28T08:59:00Z")
  t.eq(#mails("objective.edit_closing"), 0, "not before 09:00")
  -- the participants read three per transaction (PAGE 3), then a slice per mail (SLICE_MS 0): each
  -- participant's mail commits on its own, the loop free between
  local saved, seen, reads = { timeline.SLICE_MS, timeline.PAGE }, {}, 0
  timeline.SLICE_MS, timeline.PAGE = 0, 3
  t.each_commit(function() t.advance_to("2026-01-28T09:00:00Z") end, function()
    local k = #mails("objective.edit_closing")
    if k == 0 then reads = reads + 1 end
    if k > 0 and seen[#seen] ~= k then seen[#seen + 1] = k end
  end)
  timeline.SLICE_MS, timeline.PAGE = saved[1], saved[2]
  local m = mails("objective.edit_closing")
  t.eq(#m, taking_part, "one each")
  t.eq(#seen, taking_part, "one more mail committed by each slice")
  t.ok(taking_part > 6 and reads >= math.ceil(taking_part / 3),
    ("%d participants read in %d transactions before the first mail"):format(taking_part, reads))
  local mine = mails("objective.edit_closing", MIA)[1]
  t.eq(mine.subject, "Q1 2026: objectives can be edited until 31 Jan 2026")
  t.contains(mine.body_text, "after that only their progress, status and comments change (until 15 Apr 2026)")
  t.contains(mine.body_text, "/objective-cycles/" .. q1.id)
  t.advance("2d")
  t.eq(#mails("objective.edit_closing"), taking_part, "sent once")
end)

t.test("30, 10 and 3 days before the due date the owner of an open objective is reminded; a done one is not", function()
  -- 30 days before 1 March was 30 January (passed in the test above)
  local m = mails("objective.due_soon", MIA)
  t.eq(#m, 1, "30 days before")
  t.eq(m[1].subject, "An objective of yours is due on 1 Mar 2026")
  t.contains(m[1].body_text, "One of your objectives in Q1 2026 is due on 1 Mar 2026.")
  t.not_contains(m[1].body_text, "Secret")
  t.eq(#mails("objective.due_soon", ZOE), 1, "Zoe too")
  -- Zoe finishes hers
  t.status(H.as("zoe"):patch("/api/objectives/" .. docs.id, { status = "done" }), 200)
  t.advance_to("2026-02-19T09:00:00Z")
  t.eq(#mails("objective.due_soon", MIA), 2, "10 days before")
  t.advance_to("2026-02-26T09:00:00Z")
  t.eq(#mails("objective.due_soon", MIA), 3, "3 days before")
  t.eq(#mails("objective.due_soon", ZOE), 1, "nothing for a done objective")
end)

t.test("a week after the due date the owner of an objective still open hears it is overdue", function()
  t.advance_to("2026-03-08T08:00:00Z")
  t.eq(#mails("objective.overdue"), 0)
  t.advance_to("2026-03-08T09:00:00Z")
  local m = mails("objective.overdue")
  t.eq(#m, 1, "Mia's only: Zoe's is done")
  t.eq(m[1].to_email, MIA)
  t.eq(m[1].subject, "An objective of yours was due on 1 Mar 2026")
  t.contains(m[1].body_text, "Mark it done or missed, or update where it stands (until 15 Apr 2026).")
end)

t.test("a cycle of selected people: only they hear that editing closes, on the date as changed", function()
  local sel = H.cycle({ name = "Pilot", participants = "selected", starts_on = "2026-03-09", ends_on = "2026-06-30",
    edit_until = "2026-03-31", update_until = "2026-07-15" })
  t.status(H.as("marcus"):post("/api/objective-cycles/" .. sel.id .. "/people", { user_ids = { H.id("zoe") } }), 200)
  t.status(H.as("marcus"):patch("/api/objective-cycles/" .. sel.id, { edit_until = "2026-04-10" }), 200)
  t.advance_to("2026-03-28T10:00:00Z")
  local function pilot() local n = 0
    for _, m in ipairs(mails("objective.edit_closing")) do if m.subject:find("^Pilot") then n = n + 1 end end
    return n
  end
  t.eq(pilot(), 0, "not 3 days before the old date")
  t.advance_to("2026-04-07T09:00:00Z")
  t.eq(pilot(), 1, "Zoe only")
  t.eq(mails("objective.edit_closing", ZOE)[2].subject, "Pilot: objectives can be edited until 10 Apr 2026")
end)

t.test("a moved due date moves the reminders; people who left get none", function()
  local o = H.objective("marcus", H.cycle({ name = "Q2 2026", starts_on = "2026-04-01", ends_on = "2026-06-30",
    edit_until = "2026-04-30", update_until = "2026-07-15" }), { owner_id = H.id("nina"), due_on = "2026-06-30" })
  t.status(H.as("marcus"):patch("/api/objectives/" .. o.id, { due_on = "2026-05-30" }), 200)
  t.advance_to("2026-05-20T09:00:00Z")
  t.eq(#mails("objective.due_soon", demo.email("nina")), 2, "30 and 10 days before 30 May")
  db.exec("UPDATE users SET status = 'deactivated' WHERE id = ?", H.id("nina"))
  t.advance_to("2026-05-27T09:00:00Z")
  t.eq(#mails("objective.due_soon", demo.email("nina")), 2, "not after she left")
  t.advance_to("2026-06-30T09:00:00Z")
  t.eq(#mails("objective.due_soon", demo.email("nina")), 2, "nothing on the old date")
end)

t.test("the timeline is checked against its vocabulary", function()
  t.ok(timeline.check(dofile("workflows/objectives.lua").timeline), "the built-in one is valid")
  t.eq(timeline.origin, "built-in", "the running one is workflows/objectives.lua")
  for _, case in ipairs({
    { { to = "owner", template = "objective.due_soon" }, "either on" },
    { { at = "due", to = "participants", template = "objective.due_soon" }, "participants are mailed at edit_until" },
    { { at = "edit_until", to = "owner", template = "objective.edit_closing" }, "at edit_until the mail goes to participants" },
    { { at = "due", to = "owner", template = "objective.nope" }, "unknown mail template" },
    { { at = "due", offset = -90, to = "owner", template = "objective.due_soon" }, "offset" },
    { { on = "objective.deleted", to = "owner", template = "objective.due_soon" }, "on" },
  }) do
    local ok, errs = timeline.check({ case[1] })
    t.eq(ok, nil, case[2])
    t.contains(table.concat(errs, "; "), case[2])
  end
end)

t.test("docs/scripting.md shows the timeline as it is", function()
  local doc = assert(io.open("docs/scripting.md")):read("a")
  local block = doc:match("```lua\n(return { %-%- workflows/objectives.lua.-)```")
  t.ok(block, "the block is in the document")
  t.same(assert(load(block, "doc", "t", {}))().timeline, dofile("workflows/objectives.lua").timeline)
end)
