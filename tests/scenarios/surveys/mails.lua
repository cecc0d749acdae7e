-- The mails of pulse surveys on the virtual clock (Monday 5 January 2026, 09:00 UTC): everyone taking
-- part is invited when a round opens (the survey's introduction and a link to answer); the day before
-- a round's last day at 09:00 those who have not answered get one reminder; people added to an open
-- round are invited at once; the people given the results hear about it. No mail carries an answer.
local t = require "testing"
local db = require "lib.db"
local demo = require "demo"
local H = dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "_helpers.lua")

local P = t.demo()
local survey, rid
local PEOPLE = { "mia", "zoe", "lucas", "omar", "ethan", "isabel" }

local function mails(template, to) return t.outbox({ template = template, to = to }) end

t.test("nothing is sent for a draft, nor before the round opens", function()
  local ids = {}
  for i, k in ipairs(PEOPLE) do ids[i] = P[k].id end
  survey = H.create("lena", { title = "Friday feeling 🎈", intro = "Two quick questions about your week.",
    participants = "selected", people_ids = ids, frequency = "weekly", round_days = 5, starts_on = "2026-01-07" })
  t.status(H.as("lena"):post("/api/surveys/" .. survey.id .. "/launch"), 200)
  t.advance_to("2026-01-07T08:59:00Z")
  t.eq(#mails("survey.invite"), 0)
end)

t.test("when the round opens, each participant is invited once with the intro and a link to answer", function()
  t.advance_to("2026-01-07T09:00:00Z")
  rid = db.value("SELECT id FROM survey_rounds WHERE survey_id = ?", survey.id)
  local inv = mails("survey.invite")
  t.eq(#inv, 6)
  local m = mails("survey.invite", demo.email("mia"))[1]
  t.eq(m.subject, "Friday feeling 🎈: 2 quick questions, anonymous")
  t.contains(m.body_text, "Two quick questions about your week.")
  t.contains(m.body_text, "/surveys/rounds/" .. rid)
  t.contains(m.body_text, "Answer by 11 Jan 2026")
  t.eq(#mails("survey.invite", demo.email("lena")), 0, "the creator does not take part")
  t.advance("1h")
  t.eq(#mails("survey.invite"), 6, "sent once")
end)

t.test("someone added to the open round is invited at once", function()
  t.status(H.as("lena"):post("/api/surveys/" .. survey.id .. "/people", { user_ids = { P.jonas.id } }), 200)
  t.run_jobs()
  t.eq(#mails("survey.invite", demo.email("jonas")), 1)
  t.eq(#mails("survey.invite"), 7, "the others are not invited again")
end)

t.test("the day before the last day at 09:00, only those who have not answered are reminded, once", function()
  H.answer("mia", rid, { 5, 9 }, "Nice week")
  H.answer("zoe", rid, { 4, 8 })
  t.advance_to("2026-01-10T08:59:00Z")
  t.eq(#mails("survey.reminder"), 0)
  t.advance_to("2026-01-10T09:00:00Z")
  local rem = mails("survey.reminder")
  t.eq(#rem, 5, "seven invited, two answered")
  local to = {}
  for _, m in ipairs(rem) do
    to[m.to_email] = true
    t.not_contains(m.body_text, "Nice week")
  end
  t.no(to[demo.email("mia")])
  t.no(to[demo.email("zoe")])
  t.ok(to[demo.email("jonas")])
  t.eq(rem[1].subject, "Reminder: Friday feeling 🎈 closes on 11 Jan 2026")
  t.advance("1d")
  t.eq(#mails("survey.reminder"), 5, "one reminder")
end)

t.test("the next round a week later invites everyone again", function()
  t.advance_to("2026-01-14T09:00:00Z")
  t.eq(db.value("SELECT count(*) FROM survey_rounds WHERE survey_id = ?", survey.id), 2)
  t.eq(#mails("survey.invite", demo.email("mia")), 2)
end)

t.test("the people given the results hear about it; managers too when shared with managers", function()
  t.status(H.as("lena"):put("/api/surveys/" .. survey.id .. "/shares", { user_ids = { P.amara.id }, managers = false }), 200)
  t.run_jobs()
  local shared = mails("survey.shared")
  t.eq(#shared, 1)
  t.eq(shared[1].to_email, demo.email("amara"))
  t.eq(shared[1].subject, "The results of Friday feeling 🎈 are shared with you")
  t.contains(shared[1].body_text, "/surveys/" .. survey.id .. "/results")
  t.status(H.as("lena"):put("/api/surveys/" .. survey.id .. "/shares", { user_ids = { P.amara.id }, managers = true }), 200)
  t.run_jobs()
  local to = {}
  for _, m in ipairs(mails("survey.shared")) do to[m.to_email] = (to[m.to_email] or 0) + 1 end
  t.eq(to[demo.email("amara")], 1, "Amara is not told twice")
  t.eq(to[demo.email("ravi")], 1, "Ravi manages Mia, Lucas and Omar")
  t.eq(to[demo.email("lucas")], 1, "Lucas manages Ethan and Zoe")
  t.eq(to[demo.email("emma")], 1, "Emma manages Isabel and Jonas")
  t.eq(to[demo.email("daniel")], nil, "Daniel manages nobody taking part directly")
end)

t.test("ending the survey stops its reminders and rounds", function()
  -- round 2 opened on the 14th: its reminder would go on the 17th
  t.eq(db.value("SELECT count(*) FROM jobs WHERE key LIKE ?", "survey:" .. survey.id .. ":wf:%"), 1, "planned")
  H.close(survey.id)
  t.eq(db.value("SELECT count(*) FROM jobs WHERE key LIKE ?", "survey:" .. survey.id .. ":wf:%"), 0, "cancelled")
  t.advance("30d")
  t.eq(#mails("survey.reminder"), 5, "no reminder for the closed round")
  t.eq(db.value("SELECT count(*) FROM survey_rounds WHERE survey_id = ?", survey.id), 2, "no third round")
  t.eq(#mails("survey.invite", demo.email("mia")), 2)
end)
