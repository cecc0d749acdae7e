-- The mails of 1:1 meetings on the virtual clock (Monday 5 January 2026, 09:00 UTC): the colleague
-- is invited when a series starts; both get "add your points" at 09:00 the day before each meeting
-- (moved with the meeting, gone when it is held, skipped or the series ends); after a meeting is
-- marked done, each person who still has something open in it hears what carries over. Mails say
-- who, when and how many; never what was written, nor the series' title.
local t = require "testing"
local db = require "lib.db"
local demo = require "demo"
local H = dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "_helpers.lua")

local P = t.demo()
local RAVI, MIA = demo.email("ravi"), demo.email("mia")

local function mails(template, to)
  return t.outbox({ template = template, to = to })
end

local series

t.test("starting a series invites the colleague to add their talking points", function()
  series = H.start("ravi", "mia", { title = "Secret project Falcon", cadence = "weekly", date = "2026-01-07" })
  local invites = mails("one_on_one.invite")
  t.eq(#invites, 1, "one invitation")
  local m = invites[1]
  t.eq(m.to_email, MIA)
  t.eq(m.subject, "Ravi Shankar set up 1:1 meetings with you")
  t.contains(m.body_text, "The first meeting is on 7 Jan 2026")
  t.contains(m.body_text, "every week")
  t.contains(m.body_text, "/meetings/" .. series.meeting_id)
  t.not_contains(m.body_text, "Falcon", "the title stays out of mails")
  t.eq(#mails("one_on_one.invite", RAVI), 0, "the organizer is not invited to their own series")
end)

t.test("the day before the meeting at 09:00 both are asked to add their points", function()
  H.add("ravi", series.meeting_id, { kind = "point", text = "Confidential: the reorg" })
  t.advance_to("2026-01-06T08:59:00Z")
  t.eq(#mails("one_on_one.prepare"), 0, "not before 09:00 the day before")
  t.advance_to("2026-01-06T09:00:00Z")
  local prep = mails("one_on_one.prepare")
  t.eq(#prep, 2, "one each")
  local to = {}
  for _, m in ipairs(prep) do
    to[m.to_email] = m
    t.not_contains(m.body_text, "reorg", "no item text in mails")
    t.not_contains(m.subject .. m.body_text, "Falcon")
  end
  t.ok(to[RAVI] and to[MIA])
  t.eq(to[MIA].subject, "Your 1:1 with Ravi Shankar is on 7 Jan 2026: add your points")
  t.eq(to[RAVI].subject, "Your 1:1 with Mia Johansson is on 7 Jan 2026: add your points")
  t.advance("2d")
  t.eq(#mails("one_on_one.prepare"), 2, "sent once")
end)

t.test("after the meeting is marked done, only those with something open hear what carries over", function()
  -- the shared point is ticked; Mia keeps a private point open, Ravi has nothing open
  local mid = series.meeting_id
  local shared = db.value("SELECT id FROM meeting_items WHERE series_id = ? AND kind = 'point'", series.id)
  t.status(H.as("mia"):post("/api/meetings/" .. mid .. "/items/" .. shared .. "/done", {}), 200)
  H.add("mia", mid, { kind = "point", text = "Ask about the raise", private = true })
  H.add("mia", mid, { kind = "note", text = "A note is never open" })
  local res = t.status(H.as("ravi"):post("/api/meetings/" .. mid .. "/done"), 200).json
  local follow = mails("one_on_one.follow_up")
  t.eq(#follow, 1, "Ravi has nothing open; Mia's private point counts for her only")
  t.eq(follow[1].to_email, MIA)
  t.eq(follow[1].subject, "Open items after your 1:1 with Ravi Shankar")
  t.contains(follow[1].body_text, "Still open after your 1:1 with Ravi Shankar on 7 Jan 2026: 1 talking point.")
  t.contains(follow[1].body_text, "next meeting on 14 Jan 2026")
  t.not_contains(follow[1].body_text, "raise")
  series.second = res.next_meeting_id
end)

t.test("the next meeting's reminder is planned when it is, and follows it when it moves", function()
  t.eq(db.value("SELECT count(*) FROM jobs WHERE key LIKE ?", "meeting_series:" .. series.id .. ":wf:%"), 1,
    "one job for the upcoming meeting")
  t.status(H.as("mia"):patch("/api/meetings/" .. series.second, { date = "2026-01-16" }), 200)
  t.advance_to("2026-01-13T10:00:00Z")
  t.eq(#mails("one_on_one.prepare"), 2, "nothing on the 13th: the meeting moved to the 16th")
  t.advance_to("2026-01-15T09:00:00Z")
  local prep = mails("one_on_one.prepare")
  t.eq(#prep, 4, "both reminded on the 15th")
  t.contains(prep[4].subject, "16 Jan 2026")
end)

t.test("an action item left open is counted in the follow-up of both who may read it", function()
  H.add("ravi", series.second, { kind = "action", text = "Send the offer letter", assignee_id = P.mia.id })
  t.status(H.as("ravi"):post("/api/meetings/" .. series.second .. "/done"), 200)
  local follow = mails("one_on_one.follow_up")
  t.eq(#follow, 3)
  local to = {}
  for i = 2, 3 do to[follow[i].to_email] = follow[i].body_text end
  t.contains(to[RAVI], "on 16 Jan 2026: 1 action item.")
  t.contains(to[MIA], "on 16 Jan 2026: 1 talking point and 1 action item.")
end)

t.test("a skipped meeting sends no follow-up; the next one gets its reminder", function()
  local upcoming = db.value("SELECT id FROM meetings WHERE series_id = ? AND status = 'upcoming'", series.id)
  local date = db.value("SELECT date FROM meetings WHERE id = ?", upcoming)
  t.eq(date, "2026-01-23", "a week after the 16th")
  t.status(H.as("mia"):post("/api/meetings/" .. upcoming .. "/skip"), 200)
  t.eq(#mails("one_on_one.follow_up"), 3, "no follow-up for a skipped meeting")
  t.advance_to("2026-01-29T09:00:00Z")
  t.eq(#mails("one_on_one.prepare"), 6, "reminded for the 30th")
end)

t.test("ending the series cancels its reminders", function()
  local next_id = db.value("SELECT id FROM meetings WHERE series_id = ? AND status = 'upcoming'", series.id)
  t.status(H.as("ravi"):post("/api/meetings/" .. next_id .. "/done"), 200)
  t.status(H.as("ravi"):post("/api/meeting-series/" .. series.id .. "/end"), 200)
  t.eq(db.value("SELECT count(*) FROM jobs WHERE key LIKE ?", "meeting_series:" .. series.id .. ":wf:%"), 0)
  local before = #mails("one_on_one.prepare")
  t.advance("14d")
  t.eq(#mails("one_on_one.prepare"), before, "nothing after the end")
end)

t.test("a meeting planned for a day whose reminder time has passed gets no late reminder", function()
  -- today 09:00 or later: a meeting tomorrow would be reminded today at 09:00, which is past
  t.advance_to("2026-02-16T10:00:00Z")
  local s = H.start("lucas", "zoe", { date = "2026-02-17" })
  t.eq(db.value("SELECT count(*) FROM jobs WHERE key LIKE ?", "meeting_series:" .. s.id .. ":wf:%"), 0)
  t.eq(#mails("one_on_one.invite", demo.email("zoe")), 1, "the invitation still goes")
end)

t.test("someone deactivated gets no more 1:1 mail", function()
  local s = H.start("lucas", "ethan", { date = "2026-02-25" })
  db.transaction(function() db.exec("UPDATE users SET status = 'deactivated' WHERE id = ?", P.ethan.id) end)
  t.advance_to("2026-02-24T09:00:00Z")
  local prep = {}
  for _, m in ipairs(mails("one_on_one.prepare")) do
    if m.related_id == s.meeting_id then prep[#prep + 1] = m.to_email end
  end
  t.same(prep, { demo.email("lucas") })
end)

t.test("the timeline is checked by its schema: a step needs on or at, known words and a known template", function()
  local tl = require "services.one_on_one_timeline"
  t.ok(tl.check(tl.TIMELINE), "the built-in timeline is valid")
  local _, errs = tl.check({ { to = "participants", template = "one_on_one.prepare" } })
  t.contains(table.concat(errs, "\n"), "either on (an event) or at (a date)")
  _, errs = tl.check({ { on = "meeting.done", to = "managers", template = "one_on_one.prepare" } })
  t.contains(table.concat(errs, "\n"), "to")
  _, errs = tl.check({ { on = "meeting.done", to = "participants", template = "no.such" } })
  t.contains(table.concat(errs, "\n"), 'unknown mail template "no.such"')
end)
