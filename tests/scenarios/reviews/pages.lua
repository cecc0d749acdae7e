-- The pages of review cycles: HR builds a cycle through forms; reviewees and managers work
-- on the review page; forms keep what was typed when something is wrong.
local t = require "testing"
local demo = require "demo"
local db = require "lib.db"

local P = t.demo()
local hr = t.login(demo.email("marcus"))
local cycle_id

t.test("the cycles page invites HR to create the first cycle", function()
  local res = hr:get("/cycles")
  t.status(res, 200)
  t.contains(res.body, "No review cycles yet")
  t.contains(res.body, 'href="/cycles/new"')
end)

t.test("an employee without a role cannot open the cycles pages", function()
  t.status(t.login(demo.email("zoe")):get("/cycles"), 403)
  t.status(t.login(demo.email("zoe")):get("/cycles/new"), 403)
end)

t.test("creating a cycle with dates out of order keeps the form and says what is wrong", function()
  local res = hr:form("/cycles/new", { name = "Spring round", start_date = "2026-01-10", self_due = "2026-01-05",
    manager_due = "2026-02-01", sign_due = "2026-02-15", self_assessment = "on", indirect_managers = "on",
    reviewee_sees = "on_share" })
  t.status(res, 303)
  t.eq(res.headers.location, "/cycles/new")
  local pg = t.status(hr:follow(res), 200)
  t.contains(pg.body, 'value="Spring round"')
  t.contains(pg.body, "must not be before the start date")
  t.contains(pg.body, 'name="self_assessment" checked', "ticked boxes stay ticked")
  t.eq(db.value("SELECT count(*) FROM cycles"), 0, "no cycle was made")
end)

t.test("creating a cycle leads to choosing reviewees", function()
  local res = hr:form("/cycles/new", { name = "Spring round", start_date = "2026-01-05", self_due = "2026-01-19",
    manager_due = "2026-02-02", sign_due = "2026-02-16", self_assessment = "on", indirect_managers = "on",
    reviewee_sees = "on_share" })
  t.status(res, 303)
  cycle_id = tonumber(res.headers.location:match("^/cycles/(%d+)/reviewees$"))
  t.ok(cycle_id)
end)

t.test("reviewees are added from the org chart (a whole team) and from the filtered list", function()
  local org = hr:get("/cycles/" .. cycle_id .. "/reviewees?view=org")
  t.status(org, 200)
  t.contains(org.body, 'name="team" value="' .. P.ravi.id .. '"')
  t.status(hr:form("/cycles/" .. cycle_id .. "/reviewees", { view = "org", team = tostring(P.ravi.id) }), 303)
  t.eq(db.value("SELECT count(*) FROM reviews WHERE cycle_id = ?", cycle_id), 6, "Ravi and his five")
  local list = hr:get("/cycles/" .. cycle_id .. "/reviewees?view=list&department=Product&sort=hire_date")
  t.status(list, 200)
  t.contains(list.body, "Chloe Martin")
  t.status(hr:form("/cycles/" .. cycle_id .. "/reviewees", { view = "list", department = "Product", all_matching = "1" }), 303)
  t.eq(db.value("SELECT count(*) FROM reviews WHERE cycle_id = ?", cycle_id), 11, "plus the 5 people in Product")
  local again = hr:get("/cycles/" .. cycle_id .. "/reviewees?view=org")
  t.contains(again.body, "11 reviewees", "the selection is the same in both views")
end)

t.test("the question editor adds a question and keeps everything typed", function()
  local page = hr:get("/cycles/" .. cycle_id .. "/questions")
  t.status(page, 200)
  t.contains(page.body, "Overall performance")
  local f = { op = "add_question:1", s1_id = "s1", s1_title = "Looking back", s1_q1_id = "q1", s1_q1_text = "What went well?",
    s1_q1_type = "text", s1_q1_audience = "both", s1_q1_required = "on" }
  local added = t.status(hr:form("/cycles/" .. cycle_id .. "/questions", f), 303)
  t.eq(added.headers.location, "/cycles/" .. cycle_id .. "/questions#s1_q2", "back to the editor, at the new question")
  local res = t.status(hr:follow(added), 200)
  t.contains(res.body, "What went well?")
  t.contains(res.body, 's1_q2_text')
  t.not_contains(hr:get("/cycles/" .. cycle_id .. "/questions").body, "What went well?",
    "nothing is saved until Save (and a reload shows the saved questions)")
  f.op = "save"
  f.s1_q2_id, f.s1_q2_text, f.s1_q2_type, f.s1_q2_audience, f.s1_q2_scale, f.s1_q2_labels =
    "q2", "Overall", "rating", "manager", "3", "Low\nMiddle\nHigh"
  f.s1_q3_id, f.s1_q3_text, f.s1_q3_type, f.s1_q3_audience, f.s1_q3_x_label, f.s1_q3_y_label =
    "q3", "Where are you?", "graph", "self", "Skill", "Will"
  t.status(hr:form("/cycles/" .. cycle_id .. "/questions", f), 303)
  local q = require("services.cycles").get(cycle_id).questionnaire
  t.eq(#q.sections, 1)
  t.eq(q.sections[1].questions[2].scale, 3)
  t.same(q.sections[1].questions[2].labels, { "Low", "Middle", "High" })
  -- a broken question is refused with the reason, nothing saved
  f.s1_q2_scale = "1"
  local refused = t.status(hr:form("/cycles/" .. cycle_id .. "/questions", f), 303)
  local bad = t.status(hr:follow(refused), 200)
  t.contains(bad.body, "scale from 2 to 10")
  t.eq(require("services.cycles").get(cycle_id).questionnaire.sections[1].questions[2].scale, 3, "nothing saved")
end)

t.test("the overview of a draft shows the start button; starting works from the page", function()
  local ov = hr:get("/cycles/" .. cycle_id)
  t.status(ov, 200)
  t.contains(ov.body, "Start the cycle")
  t.not_contains(ov.body, 'name="review_ids[]"', "no ticks in a draft: there is nobody to remind yet")
  local res = hr:form("/cycles/" .. cycle_id .. "/start", {})
  t.status(res, 303)
  t.eq(db.value("SELECT phase FROM cycles WHERE id = ?", cycle_id) ~= "draft", true)
  t.contains(hr:get("/cycles/" .. cycle_id).body, 'name="review_ids[]"', "once started, the ticks choose who is reminded")
end)

t.test("deleting a draft with one reviewee asks about 'its review', not 'all 1 review'", function()
  local c = t.status(hr:post("/api/cycles", { name = "Just Zoe", start_date = "2026-01-05" }), 201).json
  t.status(hr:post("/api/cycles/" .. c.id .. "/reviewees", { user_ids = { P.zoe.id } }), 200)
  local body = t.status(hr:get("/cycles/" .. c.id), 200).body
  t.contains(body, "Delete Just Zoe with its review and everything written in it? This cannot be undone.")
  t.contains(body, "Invitations go out to 1 reviewee and")
  t.status(hr:form("/cycles/" .. c.id .. "/delete", { confirmed = "1" }), 303)
end)

t.test("the reviewee's home page lists the self-assessment to write", function()
  local mia = t.login(demo.email("mia"))
  local home = mia:get("/home")
  t.contains(home.body, "Write your self-assessment for Spring round")
end)

t.test("the review page: a draft saved from the form keeps its text; the graph takes a position", function()
  local mia = t.login(demo.email("mia"))
  local rid = db.value("SELECT id FROM reviews WHERE cycle_id = ? AND reviewee_id = ?", cycle_id, P.mia.id)
  local page = mia:get("/reviews/" .. rid)
  t.status(page, 200)
  t.contains(page.body, 'data-autosave="/api/reviews/' .. rid .. '/answers/self"')
  local res = mia:form("/reviews/" .. rid .. "/answers/self", { q_q1 = "Shipped search.", q_q3_x = "30", q_q3_y = "80" })
  t.status(res, 303)
  local after = mia:get("/reviews/" .. rid).body
  t.contains(after, "Shipped search.")
  t.contains(after, 'name="q_q3_x" type="number" min="0" max="100" value="30"')
  local refused = mia:form("/reviews/" .. rid .. "/answers/self", { q_q1 = "Shipped search, and more.", q_q3_x = "300", q_q3_y = "80" })
  t.status(refused, 303)
  t.eq(refused.headers.location, "/reviews/" .. rid)
  local bad = t.status(mia:follow(refused), 200)
  t.contains(bad.body, "Shipped search, and more.", "what was typed stays")
  t.contains(bad.body, "from 0 to 100")
  t.contains(bad.body, 'name="q_q3_x" type="number" min="0" max="100" value="300"', "the wrong value too, to correct it")
end)

t.test("submitting without the required answers shows what is missing", function()
  local mia = t.login(demo.email("mia"))
  local rid = db.value("SELECT id FROM reviews WHERE cycle_id = ? AND reviewee_id = ?", cycle_id, P.mia.id)
  local res = mia:form("/reviews/" .. rid .. "/answers/self", { q_q1 = "", after = "submit" })
  t.status(res, 303)
  local pg = t.status(mia:follow(res), 200)
  t.contains(pg.body, "needs an answer")
  t.contains(pg.body, '<div class="question field has-error"><h3 id="h-q1">', "at the question")
  t.eq(db.value("SELECT self_status FROM reviews WHERE id = ?", rid), "draft", "not submitted")
end)

t.test("the manager's team page lists reviews and offers nudges", function()
  local ravi = t.login(demo.email("ravi"))
  local team = ravi:get("/team")
  t.status(team, 200)
  t.contains(team.body, "Mia Johansson")
  t.contains(team.body, "Nudge")
  local rid = db.value("SELECT id FROM reviews WHERE cycle_id = ? AND reviewee_id = ?", cycle_id, P.mia.id)
  t.status(ravi:form("/reviews/" .. rid .. "/nudge", { back = "team" }), 303)
  t.eq(#t.outbox({ template = "review.nudge", to = demo.email("mia") }), 1)
  local again = ravi:form("/reviews/" .. rid .. "/nudge", { back = "team" })
  t.status(again, 303)
  t.eq(#t.outbox({ template = "review.nudge", to = demo.email("mia") }), 1, "once a day")
end)

t.test("reminders show the exact mail before sending it to everyone late", function()
  local before = #t.outbox({ template = "review.reminder" })
  local posted = hr:form("/cycles/" .. cycle_id .. "/reminders", { audience = "self_late", note = "Please finish by Friday." })
  t.status(posted, 303)
  t.match(posted.headers.location, "^/cycles/" .. cycle_id .. "/reminders%?", "the preview is a page of its own")
  local prev = t.status(hr:follow(posted), 200)
  t.contains(prev.body, "Please finish by Friday.")
  t.contains(prev.body, "Send to")
  t.status(hr:get(posted.headers.location), 200, "reloading the preview works and sends nothing")
  t.eq(#t.outbox({ template = "review.reminder" }), before, "nothing sent by previewing")
  t.status(t.login(demo.email("zoe")):get(posted.headers.location), 403, "not for an employee")
  local refused = t.status(hr:form("/cycles/" .. cycle_id .. "/reminders", { audience = "selection", confirm = "1" }), 303)
  t.contains(hr:follow(refused).body, "Select at least one review.", "a refused send says why")
  t.status(hr:form("/cycles/" .. cycle_id .. "/reminders", { audience = "self_late", note = "Please finish by Friday.", confirm = "1" }), 303)
  t.ok(#t.outbox({ template = "review.reminder" }) > before)
end)

t.test("the review's history says what happened in words, not as an event code", function()
  local mia = t.login(demo.email("mia"))
  local rid = db.value("SELECT id FROM reviews WHERE cycle_id = ? AND reviewee_id = ?", cycle_id, P.mia.id)
  local q = require("services.cycles").get(cycle_id).questionnaire
  local answers = { after = "submit" }
  for _, sec in ipairs(q.sections) do
    for _, qq in ipairs(sec.questions) do
      if qq.type == "rating" then answers["q_" .. qq.id] = "2" elseif qq.type ~= "graph" then answers["q_" .. qq.id] = "Done." end
    end
  end
  t.status(mia:form("/reviews/" .. rid .. "/answers/self", answers), 303)
  t.eq(db.value("SELECT self_status FROM reviews WHERE id = ?", rid), "submitted")
  local pg = t.status(mia:get("/reviews/" .. rid), 200).body
  t.contains(pg, "<span>Self-assessment submitted · Mia Johansson</span>")
  t.not_contains(pg, "self submitted")
end)

t.test("the statistics export is a real spreadsheet", function()
  local res = hr:get("/cycles/" .. cycle_id .. "/export.xlsx")
  t.status(res, 200)
  t.eq(res.body:sub(1, 2), "PK")
  t.match(res.headers["content-disposition"], "attachment; filename=\"Spring%-round%-statistics%.xlsx\"")
end)

t.test("the overview page and the API cost a constant number of queries", function()
  -- each measured once the memos are filled (a memo refilled after a write is one query more, at any size)
  local function cost()
    t.status(hr:get("/cycles/" .. cycle_id), 200)
    return t.count_queries(function() t.status(hr:get("/cycles/" .. cycle_id), 200) end)
  end
  local small = cost()
  local ids = db.column("SELECT id FROM users WHERE kind = 'employee' AND id NOT IN (SELECT reviewee_id FROM reviews WHERE cycle_id = ?)", cycle_id)
  t.status(hr:post("/api/cycles/" .. cycle_id .. "/reviewees", { user_ids = ids }), 200)
  local big = cost()
  t.eq(big, small)
end)
