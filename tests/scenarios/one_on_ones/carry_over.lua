-- What carries over from one meeting to the next. Emma meets Isabel every week from Wednesday
-- 7 January 2026: talking points not ticked off and open action items show in every later meeting
-- until they are ticked, whether the meetings between were held or skipped; notes stay with their
-- meeting; the rhythm plans the next meeting when one is closed.
local t = require "testing"
local db = require "lib.db"
local json = require "lib.json"
local H = dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "_helpers.lua")
local one_on_ones = require "services.one_on_ones"

local P = t.demo()
local series = H.start("emma", "isabel", { title = "Emma / Isabel", cadence = "weekly", date = "2026-01-07" })
local first = series.meeting_id

local ticked = H.add("emma", first, { kind = "point", text = "Quarterly planning" })
local open_point = H.add("isabel", first, { kind = "point", text = "Hiring a second designer" })
local private_point = H.add("isabel", first, { kind = "point", text = "My own worry about the deadline", private = true })
local note = H.add("emma", first, { kind = "note", text = "Planning went well" })
local action = H.add("isabel", first, { kind = "action", text = "Draft the job description", due_date = "2026-01-14" })
local done_action = H.add("emma", first, { kind = "action", text = "Book the room" })

local function close(key, mid, how)
  return t.status(H.as(key):post("/api/meetings/" .. mid .. "/" .. how), 200).json
end

local second

t.test("marking a meeting done plans the next one a week later; what was ticked stays behind", function()
  t.status(H.as("isabel"):post("/api/meetings/" .. first .. "/items/" .. ticked.id .. "/done", {}), 200)
  t.status(H.as("isabel"):post("/api/meetings/" .. first .. "/items/" .. done_action.id .. "/done", {}), 200)
  local res = close("emma", first, "done")
  t.eq(res.status, "done")
  second = res.next_meeting_id
  t.ok(second, "the next meeting is planned")
  local m = t.status(H.as("emma"):get("/api/meetings/" .. second), 200).json
  t.eq(m.date, "2026-01-14", "a week after the first")
  t.eq(m.status, "upcoming")
  local texts = H.texts("isabel", second)
  t.ok(texts["Hiring a second designer"], "the point nobody ticked carries over")
  t.eq(texts["Hiring a second designer"].carried_over, true)
  t.eq(texts["Hiring a second designer"].from_date, "2026-01-07")
  t.ok(texts["Draft the job description"], "the open action item carries over")
  t.ok(texts["My own worry about the deadline"], "a private point carries over for its author")
  t.no(H.texts("emma", second)["My own worry about the deadline"], "and stays private")
  t.no(texts["Quarterly planning"], "a ticked point does not")
  t.no(texts["Book the room"], "a done action item does not")
  t.no(texts["Planning went well"], "notes stay with their meeting")
end)

t.test("the first meeting still shows what happened in it, ticks included", function()
  local texts = H.texts("emma", first)
  t.eq(texts["Quarterly planning"].done, true)
  t.eq(texts["Hiring a second designer"].done, false)
  t.ok(texts["Planning went well"], "its note")
end)

local third

t.test("after a skipped meeting everything open carries over again, with what was added to the skipped one", function()
  H.add("emma", second, { kind = "point", text = "Budget for the conference" })
  local res = close("isabel", second, "skip")
  t.eq(res.status, "skipped")
  third = res.next_meeting_id
  local m = t.status(H.as("emma"):get("/api/meetings/" .. third), 200).json
  t.eq(m.date, "2026-01-21")
  local texts = H.texts("emma", third)
  t.ok(texts["Hiring a second designer"], "carried over twice")
  t.eq(texts["Hiring a second designer"].from_date, "2026-01-07")
  t.ok(texts["Draft the job description"], "the open action item too")
  t.ok(texts["Budget for the conference"], "the point written for the skipped meeting")
  t.no(texts["Planning went well"])
  t.eq(db.value("SELECT count(*) FROM meeting_items WHERE series_id = ?", series.id), 7, "nothing was copied")
end)

t.test("ticking a carried-over item in a later meeting ends its carry-over from there", function()
  t.status(H.as("emma"):post("/api/meetings/" .. third .. "/items/" .. open_point.id .. "/done", {}), 200)
  local texts = H.texts("emma", third)
  t.eq(texts["Hiring a second designer"].done, true)
  t.eq(H.texts("emma", first)["Hiring a second designer"].done, false, "it was still open in the first meeting")
  local fourth = close("emma", third, "done").next_meeting_id
  t.no(H.texts("emma", fourth)["Hiring a second designer"], "gone from the fourth meeting")
  t.ok(H.texts("emma", fourth)["Draft the job description"], "the action item is still open")
  -- opening it again brings it back
  t.status(H.as("emma"):post("/api/meetings/" .. third .. "/items/" .. open_point.id .. "/done", { done = false }), 200)
  t.ok(H.texts("emma", fourth)["Hiring a second designer"], "open again: it carries over once more")
end)

t.test("a skipped or past meeting takes no more changes of its status", function()
  t.status(H.as("emma"):post("/api/meetings/" .. second .. "/done"), 409)
  t.status(H.as("emma"):patch("/api/meetings/" .. first, { date = "2026-02-01" }), 409)
  local res = t.status(H.as("emma"):post("/api/meetings/" .. second .. "/items", { kind = "point", text = "late" }), 409)
  t.contains(res.json.error.message, "add it to the next one")
end)

t.test("moving the upcoming meeting keeps it upcoming with what carries over; not before the last one", function()
  local upcoming = db.value("SELECT id FROM meetings WHERE series_id = ? AND status = 'upcoming'", series.id)
  t.status(H.as("isabel"):patch("/api/meetings/" .. upcoming, { date = "2026-01-30" }), 200)
  t.eq(t.status(H.as("emma"):get("/api/meetings/" .. upcoming), 200).json.date, "2026-01-30")
  t.eq(t.status(H.as("emma"):get("/api/meeting-series/" .. series.id), 200).json.next_date, "2026-01-30")
  local res = t.status(H.as("isabel"):patch("/api/meetings/" .. upcoming, { date = "2026-01-20" }), 422)
  t.contains(res.json.error.fields.date, "previous meeting")
  t.status(H.as("isabel"):patch("/api/meetings/" .. upcoming, { date = "2026-02-31" }), 422)
  t.status(H.as("isabel"):patch("/api/meetings/" .. upcoming, { date = "2027-06-01" }), 422)
  t.eq(t.status(H.as("emma"):get("/api/meetings/" .. upcoming), 200).json.date, "2026-01-30", "unchanged")
  t.ok(H.texts("isabel", upcoming)["Draft the job description"])
end)

t.test("without a rhythm no meeting is planned after one is closed; one is planned by hand", function()
  local s = H.start("noah", "ava", { cadence = "none", date = "2026-01-08" })
  H.add("noah", s.meeting_id, { kind = "action", text = "Fix the crash on launch" })
  local res = close("ava", s.meeting_id, "done")
  t.eq(res.next_meeting_id, json.null)
  t.eq(db.value("SELECT count(*) FROM meetings WHERE series_id = ? AND status = 'upcoming'", s.id), 0)
  t.status(H.as("ava"):post("/api/meeting-series/" .. s.id .. "/meetings", { date = "2026-01-02" }), 422, "in the past")
  local m = t.status(H.as("ava"):post("/api/meeting-series/" .. s.id .. "/meetings", { date = "2026-01-20" }), 201).json
  t.eq(m.date, "2026-01-20")
  t.ok(H.texts("noah", m.id)["Fix the crash on launch"], "what was open carries over to it")
  t.status(H.as("ava"):post("/api/meeting-series/" .. s.id .. "/meetings", { date = "2026-01-27" }), 409,
    "one is planned already")
end)

t.test("the monthly rhythm keeps the day of the month, or the month's last day", function()
  t.eq(one_on_ones.step("2026-01-31", "monthly"), "2026-02-28")
  t.eq(one_on_ones.step("2026-01-15", "monthly"), "2026-02-15")
  t.eq(one_on_ones.step("2026-12-10", "monthly"), "2027-01-10")
  t.eq(one_on_ones.step("2028-01-31", "monthly"), "2028-02-29")
  t.eq(one_on_ones.step("2026-01-05", "biweekly"), "2026-01-19")
  t.eq(one_on_ones.step("2026-01-05", "none"), nil)
end)

t.test("a meeting closed late plans the next one on the first date of the rhythm that is not past", function()
  local s = H.start("chloe", "julia", { cadence = "weekly", date = "2026-01-06" })
  t.advance_to("2026-01-22T10:00:00Z") -- two weeks and more after the meeting
  local res = close("julia", s.meeting_id, "done")
  t.eq(t.status(H.as("chloe"):get("/api/meetings/" .. res.next_meeting_id), 200).json.date, "2026-01-27")
end)

t.test("ending a series cancels the upcoming meeting; it stays readable and open action items can be ticked", function()
  local upcoming = db.value("SELECT id FROM meetings WHERE series_id = ? AND status = 'upcoming'", series.id)
  local res = H.as("emma"):form("/meetings/series/" .. series.id .. "/end", {})
  t.status(res, 303)
  t.eq(db.value("SELECT phase FROM meeting_series WHERE id = ?", series.id), "ended")
  local m = t.status(H.as("emma"):get("/api/meetings/" .. upcoming), 200).json
  t.eq(m.status, "cancelled")
  t.ok(H.texts("isabel", upcoming)["Draft the job description"], "still readable")
  t.status(H.as("isabel"):post("/api/meetings/" .. upcoming .. "/items", { kind = "note", text = "x" }), 409)
  t.status(H.as("isabel"):patch("/api/meetings/" .. upcoming .. "/items/" .. action.id, { text = "x" }), 409)
  t.status(H.as("isabel"):post("/api/meetings/" .. upcoming .. "/items/" .. open_point.id .. "/done", {}), 409,
    "points are kept as they were")
  t.eq(t.status(H.as("isabel"):post("/api/meetings/" .. upcoming .. "/items/" .. action.id .. "/done", {}), 200).json.done,
    true, "an action item can still be ticked off")
  t.status(H.as("emma"):post("/api/meeting-series/" .. series.id .. "/end"), 409, "ended already")
  t.eq(note.kind, "note")
  t.eq(private_point.private, true)
  t.ok(P.emma.id)
end)
