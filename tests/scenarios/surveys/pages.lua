-- The pages of pulse surveys, as each person finds them: HR creates a survey on the form (what was
-- typed stays when something is wrong), launches it from its page; an employee finds it in their
-- to-dos and answers on the answer page; HR reads the results and the participation. Forms post,
-- then redirect (post/redirect/get). The clock starts on Monday 5 January 2026, 09:00 UTC.
local t = require "testing"
local db = require "lib.db"
local H = dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "_helpers.lua")

t.demo()
local id

t.test("the list's empty state says what to do; employees see nothing to answer", function()
  local hr = t.status(H.as("marcus"):get("/surveys"), 200).body
  t.contains(hr, "No pulse surveys yet")
  t.contains(hr, 'href="/surveys/new"')
  local emp = t.status(H.as("mia"):get("/surveys"), 200).body
  t.contains(emp, "Nothing to answer right now")
  t.not_contains(emp, 'href="/surveys/new"', "employees cannot create")
end)

t.test("the navigation shows Surveys to those who create them, not to an employee with nothing in it", function()
  t.contains(t.status(H.as("lena"):get("/home"), 200).body, 'href="/surveys"')
  t.not_contains(t.status(H.as("mia"):get("/home"), 200).body, 'href="/surveys"')
  t.not_contains(t.status(H.as("tom"):get("/home"), 200).body, 'href="/surveys"')
end)

t.test("the new-survey form offers the default title and three sample questions", function()
  local body = t.status(H.as("lena"):get("/surveys/new"), 200).body
  t.contains(body, 'value="Monthly Pulse Survey"')
  t.contains(body, "How happy are you at work right now?")
  t.contains(body, 'name="q5_text"', "two empty rows to add questions")
end)

t.test("a refused form keeps what was typed and says what is wrong; nothing is created", function()
  local c = H.as("lena")
  local res = c:form("/surveys/new", { title = "Teamgeist Ümfrage 🎉", starts_on = "2025-12-01", frequency = "monthly",
    round_days = "5", threshold = "5", participants = "everyone", q1_text = "Wie geht's?", q1_scale = "5",
    comment_on = "on", comment_question = "Noch etwas?" })
  t.eq(res.status, 303)
  local back = t.status(c:follow(res), 200).body
  t.contains(back, "The start is in the past")
  t.contains(back, 'value="Teamgeist Ümfrage 🎉"', "the title as typed")
  t.contains(back, 'value="Wie geht&#39;s?"', "the question as typed")
  t.eq(db.value("SELECT count(*) FROM surveys"), 0)
end)

t.test("a good form creates a draft and redirects to its page", function()
  local c = H.as("lena")
  local res = c:form("/surveys/new", { title = "Teamgeist Ümfrage 🎉", starts_on = "2026-01-05", frequency = "monthly",
    round_days = "5", threshold = "6", participants = "everyone", q1_text = "Wie geht's?", q1_scale = "5", q1_low = "Schlecht",
    q1_high = "Super", q2_text = "Workload?", q2_scale = "10", comment_on = "on", comment_question = "Noch etwas?" })
  local page = t.status(c:follow(res), 200).body
  t.contains(page, "saved as a draft")
  t.contains(page, "Teamgeist Ümfrage 🎉")
  t.contains(page, "Launch the survey")
  id = db.value("SELECT id FROM surveys")
  local s = t.status(c:get("/api/surveys/" .. id), 200).json
  t.eq(s.threshold, 6)
  t.eq(#s.questions, 2)
  t.eq(s.questions[2].scale, 10)
  t.eq(s.comment_question, "Noch etwas?")
end)

t.test("launching from the page opens the round today; the employee's to-do leads to the answer page", function()
  local c = H.as("lena")
  t.contains(t.status(c:follow(c:form("/surveys/" .. id .. "/launch", {})), 200).body, "Launched")
  t.run_jobs()
  local rid = db.value("SELECT id FROM survey_rounds WHERE survey_id = ?", id)
  local home = t.status(H.as("mia"):get("/home"), 200).body
  t.contains(home, "/surveys/rounds/" .. rid)
  t.contains(home, "Answer the pulse survey “Teamgeist Ümfrage 🎉”", "the to-do quotes the title as the rest of the pages do")
  t.contains(home, 'href="/surveys"', "Surveys in the navigation now")
  local pg = t.status(H.as("mia"):get("/surveys/rounds/" .. rid), 200).body
  t.contains(pg, "Wie geht&#39;s?")
  t.contains(pg, "Noch etwas?")
  t.contains(pg, "anonymous")
end)

t.test("answering on the page: a missing score comes back with the comment kept, then it goes in", function()
  local c = H.as("mia")
  local rid = db.value("SELECT id FROM survey_rounds WHERE survey_id = ?", id)
  local back = t.status(c:follow(c:form("/surveys/rounds/" .. rid, { q1 = "4", comment = "Mehr Kaffee ☕" })), 200).body
  t.contains(back, "Pick a score from 1 to 10")
  t.contains(back, "Mehr Kaffee ☕")
  t.eq(db.value("SELECT count(*) FROM survey_responses"), 0)
  local done = t.status(c:follow(c:form("/surveys/rounds/" .. rid, { q1 = "4", q2 = "8", comment = "Mehr Kaffee ☕" })), 200).body
  t.contains(done, "your answers are in")
  t.eq(db.value("SELECT count(*) FROM survey_responses"), 1)
  t.not_contains(t.status(c:get("/home"), 200).body, "/surveys/rounds/" .. rid, "the to-do is gone")
end)

t.test("the survey page, results and participation render for HR; results wait for the round to close", function()
  local c = H.as("lena")
  local pg = t.status(c:get("/surveys/" .. id), 200).body
  t.contains(pg, "Round 1")
  t.contains(pg, "1 of ")
  t.contains(t.status(c:get("/surveys/" .. id .. "/results"), 200).body, "Results show once a round has closed")
  t.contains(t.status(c:get("/surveys/" .. id .. "/participation"), 200).body, "by department")
  t.contains(t.status(c:get("/surveys"), 200).body, "Teamgeist Ümfrage 🎉")
end)

t.test("ending a survey from its page asks first: the button's form carries a confirmation", function()
  local pg = t.status(H.as("lena"):get("/surveys/" .. id), 200).body
  local form = pg:match('<form[^>]-action="/surveys/' .. id .. '/end"[^>]*>')
  t.ok(form, "the end form is on the page")
  t.contains(form, 'data-confirm="End “Teamgeist Ümfrage 🎉” now?')
end)

t.test("the edit form keeps the questions once a round opened and saves a new title", function()
  local c = H.as("lena")
  local form = t.status(c:get("/surveys/" .. id .. "/edit"), 200).body
  t.contains(form, "the questions and the schedule stay as they are")
  t.not_contains(form, 'name="q1_text"')
  local res = c:form("/surveys/" .. id .. "/edit", { title = "Teamgeist", intro = "Kurz und anonym", threshold = "7" })
  t.contains(t.status(c:follow(res), 200).body, "Saved.")
  local s = t.status(c:get("/api/surveys/" .. id), 200).json
  t.eq(s.title, "Teamgeist")
  t.eq(s.threshold, 7)
  t.eq(#s.questions, 2, "questions unchanged")
end)

t.test("deleting needs the confirmation box; an HR Admin then deletes it", function()
  local c = H.as("marcus")
  local back = t.status(c:follow(c:form("/surveys/" .. id .. "/delete", {})), 200).body
  t.contains(back, "Tick the box to confirm")
  t.eq(db.value("SELECT count(*) FROM surveys"), 1)
  local done = t.status(c:follow(c:form("/surveys/" .. id .. "/delete", { confirm = "on" })), 200).body
  t.contains(done, "deleted")
  t.eq(db.value("SELECT count(*) FROM surveys"), 0)
  t.eq(db.value("SELECT count(*) FROM survey_responses"), 0, "answers went with it")
end)

t.test("the list names each survey's creator to HR Admins; an HR Assistant's list holds only hers", function()
  H.create("lena", { title = "Lena's pulse" })
  H.create("marcus", { title = "Marcus's pulse" })
  local admin = t.status(H.as("priya"):get("/surveys"), 200).body
  t.contains(admin, "created by Lena Fischer")
  t.contains(admin, "created by Marcus Webb")
  t.not_contains(admin, "someone else")
  local own = t.status(H.as("marcus"):get("/surveys"), 200).body
  t.contains(own, "created by you")
  t.contains(own, "created by Lena Fischer")
  local lena = t.status(H.as("lena"):get("/surveys"), 200).body
  t.contains(lena, "Your surveys")
  t.contains(lena, "Lena&#39;s pulse")
  t.not_contains(lena, "created by", "her list holds only hers: no creator to name")
  t.not_contains(lena, "Marcus&#39;s pulse", "an HR Assistant does not see another's survey")
  t.not_contains(lena, "Marcus Webb")
end)

t.test("results shared by name show who created the survey; an employee without them sees no name", function()
  local P = t.demo()
  local s = H.running("lena", { title = "Shared pulse" })
  t.status(H.as("lena"):put("/api/surveys/" .. s.id .. "/shares", { user_ids = { P.ravi.id } }), 200)
  local ravi = t.status(H.as("ravi"):get("/surveys"), 200).body
  t.contains(ravi, "Shared pulse")
  t.contains(ravi, "created by Lena Fischer")
  t.not_contains(t.status(H.as("mia"):get("/surveys"), 200).body, "Lena Fischer")
end)

t.test("participation before any round says what comes next: launch a draft, or the day a launched one opens", function()
  local s = H.create("marcus", { starts_on = "2026-03-02" })
  local c = H.as("marcus")
  local draft = t.status(c:get("/surveys/" .. s.id .. "/participation"), 200).body
  t.contains(draft, 'No round yet: <a href="/surveys/' .. s.id .. '">launch the survey</a> first')
  t.status(c:post("/api/surveys/" .. s.id .. "/launch"), 200)
  local launched = t.status(c:get("/surveys/" .. s.id .. "/participation"), 200).body
  t.contains(launched, "No round has opened yet: the first opens on 2 Mar 2026.")
end)

t.test("a draft's page shows no empty \"More\" card to an HR Assistant; an HR Admin finds the deletion there", function()
  local s = H.create("lena", { title = "Draft check" })
  local lena = t.status(H.as("lena"):get("/surveys/" .. s.id), 200).body
  t.contains(lena, "Launch the survey")
  t.not_contains(lena, 'id="manage"', "nothing in it for her: no export, no end, no deletion")
  local admin = t.status(H.as("marcus"):get("/surveys/" .. s.id), 200).body
  t.contains(admin, 'id="manage"')
  t.contains(admin, "Delete the survey")
end)

t.test("a round's results count one answer in the singular", function()
  local s, rid = H.running("marcus", { threshold = 5 })
  H.answer("mia", rid, { 4, 7 })
  H.close(s.id)
  local body = t.status(H.as("marcus"):get("/surveys/" .. s.id .. "/results"), 200).body
  t.contains(body, '<div class="stat-value">1</div><div class="stat-label">answer in round 1</div>')
end)
