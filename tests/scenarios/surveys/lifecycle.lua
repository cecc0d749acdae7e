-- A pulse survey from draft to its end, through the API: HR creates a draft, launches it, the first
-- round opens on the start date, people answer once, the round closes after its days, the next one
-- opens on the rhythm, HR ends it early. The clock starts on Monday 5 January 2026, 09:00 UTC.
local t = require "testing"
local db = require "lib.db"
local H = dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "_helpers.lua")

t.demo()
local survey

t.test("a new survey is a draft with the default title and the company's threshold", function()
  survey = H.create("marcus", { title = false, starts_on = "2026-01-12", frequency = "weekly", round_days = 3 })
  t.eq(survey.phase, "draft")
  t.eq(survey.title, "Monthly Pulse Survey")
  t.eq(survey.threshold, 5)
  t.eq(db.value("SELECT count(*) FROM survey_rounds"), 0, "no round before launch")
end)

t.test("launched, it waits for the start date; the first round opens then and invites everyone", function()
  local res = t.status(H.as("marcus"):post("/api/surveys/" .. survey.id .. "/launch"), 200).json
  t.eq(res.phase, "scheduled")
  t.eq(res.next_opens_on, "2026-01-12")
  t.advance_to("2026-01-12T08:59:00Z")
  t.eq(db.value("SELECT count(*) FROM survey_rounds"), 0, "not before 09:00 on the start date")
  t.advance_to("2026-01-12T09:00:00Z")
  local r = db.row("SELECT * FROM survey_rounds WHERE survey_id = ?", survey.id)
  t.ok(r, "round 1 opened")
  t.eq(r.seq, 1)
  t.eq(r.opens_on, "2026-01-12")
  t.eq(r.closes_on, "2026-01-14", "three days to answer")
  t.eq(db.value("SELECT count(*) FROM survey_invitations WHERE round_id = ?", r.id),
    db.value("SELECT count(*) FROM users WHERE kind = 'employee' AND status = 'active'"), "every active employee")
  t.eq(t.status(H.as("marcus"):get("/api/surveys/" .. survey.id), 200).json.phase, "running")
  survey.round1 = r.id
end)

t.test("a participant answers once; a second answer is refused and changes nothing", function()
  H.answer("mia", survey.round1, { 4, 9 }, "Good week")
  local again = H.answer("mia", survey.round1, { 1, 1 }, "Changed my mind", 409)
  t.contains(again.body, "answered this round already")
  t.eq(db.value("SELECT count(*) FROM survey_responses"), 1)
  t.eq(t.status(H.as("mia"):get("/api/surveys/rounds/" .. survey.round1), 200).json.answered, true)
end)

t.test("the round closes after its last day and the next opens a week after the first", function()
  t.advance_to("2026-01-14T23:59:00Z")
  t.eq(db.value("SELECT status FROM survey_rounds WHERE id = ?", survey.round1), "open", "open all of its last day")
  t.advance_to("2026-01-15T00:00:00Z")
  t.eq(db.value("SELECT status FROM survey_rounds WHERE id = ?", survey.round1), "closed")
  H.answer("zoe", survey.round1, { 3, 7 }, nil, 409)
  t.advance_to("2026-01-19T09:00:00Z")
  local r2 = db.row("SELECT * FROM survey_rounds WHERE survey_id = ? AND seq = 2", survey.id)
  t.ok(r2, "round 2 opened")
  t.eq(r2.opens_on, "2026-01-19")
  survey.round2 = r2.id
end)

t.test("HR ends the survey early: the open round closes today and no other opens", function()
  local res = t.status(H.as("marcus"):post("/api/surveys/" .. survey.id .. "/end"), 200).json
  t.eq(res.phase, "ended")
  t.eq(db.value("SELECT status FROM survey_rounds WHERE id = ?", survey.round2), "closed")
  t.advance("30d")
  t.eq(db.value("SELECT count(*) FROM survey_rounds WHERE survey_id = ?", survey.id), 2, "no third round")
  t.status(H.as("marcus"):post("/api/surveys/" .. survey.id .. "/end"), 409)
end)

t.test("a survey that runs once ends when its round closes", function()
  local s, rid = H.running("lena", { starts_on = "2026-02-25", round_days = 2 })
  t.ok(rid)
  t.eq(t.now(), require("lib.util").parse_time("2026-02-25T09:00:00Z"), "opened on its day at 09:00")
  t.advance_to("2026-02-27T00:00:00Z")
  t.eq(t.status(H.as("lena"):get("/api/surveys/" .. s.id), 200).json.phase, "ended")
end)
