-- Running a 360 cycle as HR: who may create, edit, copy and delete; the questionnaire (multiple
-- choice, every question skippable); the overview's counts, filters and pages at a constant
-- number of queries; reminders with a preview of the exact mail to the three late groups;
-- Excel statistics (no content) and the PDF (HR Admins, with the cycle's anonymity).
local t = require "testing"
local demo = require "demo"
local db = require "lib.db"

local P = t.demo()
local function login(key) return t.login(demo.email(key)) end
local cycle

t.test("HR Admins and HR Assistants create 360 cycles; Tech Admins and employees do not", function()
  local body = { name = "Engineering 360", start_date = "2026-01-05", nominate_due = "2026-01-09",
    approve_due = "2026-01-12", write_due = "2026-01-23", release_date = "2026-01-30",
    rules = { min = 1, max = 4, suggested = 2 } }
  t.status(login("tom"):post("/api/feedback/cycles", body), 403)
  t.status(login("zoe"):post("/api/feedback/cycles", body), 403)
  t.status(login("marcus"):post("/api/feedback/cycles", { name = "Marcus's", start_date = "2026-01-05" }), 201)
  cycle = t.status(login("lena"):post("/api/feedback/cycles", body), 201).json
  t.eq(cycle.rules.nominator, "reviewee", "the default")
  t.eq(cycle.visibility.threshold.peer, 3, "anonymity threshold default 3")
  t.eq(#cycle.questionnaire.sections[1].questions, 2, "what went well, what to improve")
end)

t.test("bad settings are refused with the field named and nothing changes", function()
  local lena = login("lena")
  local bad = {
    { { release_date = "2026-01-01" }, "release_date" },
    { { rules = { min = 5, max = 2 } }, "min" },
    { { rules = { nominator = "anyone" } }, "nominator" },
    { { visibility = { threshold = { peer = 1 } } }, "threshold_peer" },
    { { visibility = { manager_release = "on_date" } }, "manager_release_date" },
    { { name = "" }, "name" },
  }
  for _, b in ipairs(bad) do
    local res = lena:patch("/api/feedback/cycles/" .. cycle.id, b[1])
    t.status(res, 422, b[2])
    t.ok(res.json.error.fields[b[2]], "names " .. b[2])
  end
  t.eq(db.value("SELECT name FROM feedback_cycles WHERE id = ?", cycle.id), "Engineering 360")
end)

t.test("an HR Assistant edits visibility and anonymity (seed 003 warns that this is influential)", function()
  local res = login("lena"):patch("/api/feedback/cycles/" .. cycle.id, { visibility = { anonymous = true,
    shuffle = true, threshold = { peer = 4, report = 2, guest = 2 } } })
  t.status(res, 200)
  t.eq(res.json.visibility.anonymous, true)
  t.eq(res.json.visibility.threshold.peer, 4)
  t.status(login("tom"):patch("/api/feedback/cycles/" .. cycle.id, { name = "x" }), 403)
end)

t.test("questions: free text, a labelled scale, multiple choice; every one skippable", function()
  local q = { sections = { { title = "About the work", questions = {
    { id = "q1", type = "text", text = "What went well?", required = true },
    { id = "q2", type = "rating", text = "Clarity", scale = 4, labels = { "Rarely", "Sometimes", "Often", "Always" } },
    { id = "q3", type = "choice", text = "Strengths", multiple = true, options = { "Design", "Code", "Teaching" } },
    { id = "q4", type = "choice", text = "Best at", options = { "Speed", "Care" } } } } } }
  local res = login("lena"):patch("/api/feedback/cycles/" .. cycle.id, { questionnaire = q })
  t.status(res, 200)
  local qs = res.json.questionnaire.sections[1].questions
  t.eq(qs[1].required, false, "a reviewer may skip any question")
  t.same(qs[3].options, { "Design", "Code", "Teaching" })
  t.eq(qs[3].multiple, true)
  local graph = { sections = { { title = "S", questions = { { id = "g", type = "graph", text = "Where?", x_label = "a",
    y_label = "b", audience = "self" } } } } }
  t.status(login("lena"):patch("/api/feedback/cycles/" .. cycle.id, { questionnaire = graph }), 422,
    "the 2D graph is for self-assessments")
  local one = { sections = { { title = "S", questions = { { id = "c", type = "choice", text = "Pick", options = { "A" } } } } } }
  t.status(login("lena"):patch("/api/feedback/cycles/" .. cycle.id, { questionnaire = one }), 422, "two options at least")
end)

t.test("the questions page offers the 360 kinds of question and no 'required' box", function()
  local page = login("lena"):get("/feedback/cycles/" .. cycle.id .. "/questions")
  t.status(page, 200)
  t.contains(page.body, "Multiple choice")
  t.not_contains(page.body, "2D graph")
  t.not_contains(page.body, "Required")
  t.contains(page.body, "Reviewers may skip any question")
end)

t.test("reviewees from the list with 'managers only', or later: a cycle can start with nobody", function()
  local lena = login("lena")
  local picker = lena:get("/feedback/cycles/" .. cycle.id .. "/reviewees?view=list&managers=1&department=Engineering")
  t.status(picker, 200)
  t.contains(picker.body, "Ravi Shankar")
  t.not_contains(picker.body, "Zoe Chen", "Zoe manages nobody")
  t.status(lena:form("/feedback/cycles/" .. cycle.id .. "/reviewees", { all_matching = "1", managers = "1",
    department = "Engineering", view = "list" }), 303)
  local names = db.column([[SELECT u.name FROM feedback_subjects s JOIN users u ON u.id = s.reviewee_id
    WHERE s.cycle_id = ? ORDER BY u.name]], cycle.id)
  t.same(names, { "Daniel Kim", "Emma Schulz", "Isabel Costa", "Lucas Moreau", "Noah Williams", "Ravi Shankar" },
    "upward feedback for every Engineering manager")
  local later = t.status(lena:post("/api/feedback/cycles", { name = "Choose later", start_date = "2026-01-05" }), 201).json
  t.status(lena:post("/api/feedback/cycles/" .. later.id .. "/start"), 200, "no reviewees yet")
  t.status(lena:post("/api/feedback/cycles/" .. later.id .. "/reviewees", { user_ids = { P.mia.id } }), 200)
  t.eq(#t.outbox({ template = "feedback_360.nominate", to = demo.email("mia") }), 1, "added to a running cycle: asked at once")
end)

t.test("the 360 picker marks people without a manager with what that means here: HR Admins approve", function()
  local top = db.value("SELECT name FROM users WHERE manager_id IS NULL AND kind = 'employee' ORDER BY id LIMIT 1")
  local picker = login("lena"):get("/feedback/cycles/" .. cycle.id .. "/reviewees?view=list&q=" .. top:gsub(" ", "+"))
  t.status(picker, 200)
  t.contains(picker.body, "No manager approves their reviewers: HR Admins do")
  t.not_contains(picker.body, "Nobody would write their review", "the review cycles' words")
  local rc = t.status(login("marcus"):post("/api/cycles", { name = "Picker words", start_date = "2026-01-05" }), 201).json
  t.contains(login("marcus"):get("/cycles/" .. rc.id .. "/reviewees?view=list&q=" .. top:gsub(" ", "+")).body,
    "Nobody would write their review")
end)

t.test("the overview of a draft with reviewees and no reviewers yet shows zeros", function()
  local ov = t.status(login("lena"):get("/api/feedback/cycles/" .. cycle.id .. "/reviewees"), 200).json
  t.eq(ov.totals.written, 0)
  t.eq(ov.totals.drafts, 0)
  local page = t.status(login("lena"):get("/feedback/cycles/" .. cycle.id), 200).body
  t.contains(page, "6 reviewees are asked to choose their reviewers", "the start button's question")
  local one = t.status(login("lena"):post("/api/feedback/cycles", { name = "Just one", start_date = "2026-01-05" }), 201).json
  t.status(login("lena"):post("/api/feedback/cycles/" .. one.id .. "/reviewees", { user_ids = { P.mia.id } }), 200)
  t.contains(login("lena"):get("/feedback/cycles/" .. one.id).body, "1 reviewee is asked to choose their reviewers",
    "one reviewee is not 'are'")
end)

t.test("starting as an HR Assistant; reviewees nominate, two managers approve, some write", function()
  t.status(login("lena"):post("/api/feedback/cycles/" .. cycle.id .. "/start"), 200)
  local function sid(key)
    return db.value("SELECT id FROM feedback_subjects WHERE cycle_id = ? AND reviewee_id = ?", cycle.id, P[key].id)
  end
  local plan = { ravi = { "lucas", "mia" }, emma = { "isabel", "jonas" }, lucas = { "ethan" } }
  for key, list in pairs(plan) do
    local c = login(key)
    for _, r in ipairs(list) do t.status(c:post("/api/feedback/360/" .. sid(key) .. "/nominations", { reviewer_id = P[r].id }), 201) end
    t.status(c:post("/api/feedback/360/" .. sid(key) .. "/submit"), 200)
  end
  t.status(login("daniel"):post("/api/feedback/approvals", { subject_ids = { sid("ravi"), sid("emma") } }), 200)
  local rq = db.value("SELECT id FROM feedback_nominations WHERE subject_id = ? AND reviewer_id = ?", sid("ravi"), P.mia.id)
  t.status(login("mia"):put("/api/feedback/requests/" .. rq .. "/answers", { q1 = "Ravi unblocks us.", q2 = 4,
    q3 = { 1, 3 }, q4 = 2 }), 200)
  t.status(login("mia"):put("/api/feedback/requests/" .. rq .. "/answers", { q4 = { 1, 2 } }), 422, "one option only")
  t.status(login("mia"):post("/api/feedback/requests/" .. rq .. "/share"), 200)
  local jonas = db.value("SELECT id FROM feedback_nominations WHERE subject_id = ? AND reviewer_id = ?", sid("emma"), P.jonas.id)
  t.status(login("jonas"):post("/api/feedback/requests/" .. jonas .. "/decline", { reason = "On leave until March." }), 200)
end)

t.test("the overview counts per reviewee: nominated, approved, written, declined; filters and totals", function()
  local ov = t.status(login("lena"):get("/api/feedback/cycles/" .. cycle.id .. "/reviewees"), 200).json
  local by = {}
  for _, r in ipairs(ov.reviewees) do by[r.name] = r end
  t.eq(by["Ravi Shankar"].nominated, 2)
  t.eq(by["Ravi Shankar"].approved, 2)
  t.eq(by["Ravi Shankar"].written, 1)
  t.eq(by["Emma Schulz"].declined, 1)
  t.eq(by["Lucas Moreau"].approved, 0)
  t.eq(by["Lucas Moreau"].nominations_done, true)
  t.eq(ov.totals.reviewees, 6)
  t.eq(ov.totals.reviewees_approved, 2)
  local late = login("lena"):get("/api/feedback/cycles/" .. cycle.id .. "/reviewees?status=not_nominated").json
  t.eq(late.total, 3, "Daniel, Isabel and Noah have not chosen")
  local waiting = login("lena"):get("/api/feedback/cycles/" .. cycle.id .. "/reviewees?status=not_approved").json
  t.eq(waiting.total, 4, "not approved: Lucas's list waits, three have none")
  local sorted = login("lena"):get("/api/feedback/cycles/" .. cycle.id .. "/reviewees?sort=written&order=desc&per_page=2").json
  t.eq(sorted.reviewees[1].name, "Ravi Shankar", "sorted by the feedback written")
  t.eq(sorted.total, 6)
  t.eq(sorted.pages, 3)
  local second = login("lena"):get("/api/feedback/cycles/" .. cycle.id .. "/reviewees?sort=name&per_page=2&page=2").json
  t.eq(second.reviewees[1].name, "Isabel Costa", "pages of names")
  t.eq(second.reviewees[1].approved, 0)
  local page = login("lena"):get("/feedback/cycles/" .. cycle.id .. "?status=declined")
  t.status(page, 200)
  t.contains(page.body, "Emma Schulz")
  t.not_contains(page.body, "Ravi Shankar</a>")
end)

t.test("why Jonas declined: Emma's approver and HR Admins read it; an HR Assistant sees that he declined, not why", function()
  local sid = db.value("SELECT id FROM feedback_subjects WHERE cycle_id = ? AND reviewee_id = ?", cycle.id, P.emma.id)
  local function reason(key)
    local v = t.status(login(key):get("/api/feedback/360/" .. sid), 200).json
    for _, r in ipairs(v.requests) do
      if r.status == "declined" then return r.decline_reason or false end
    end
  end
  t.eq(reason("daniel"), "On leave until March.", "the manager who approves")
  t.eq(reason("marcus"), "On leave until March.", "an HR Admin")
  t.eq(reason("lena"), false, "the HR Assistant sees the decline without its reason")
  local page = login("lena"):get("/feedback/360/" .. sid)
  t.status(page, 200)
  t.contains(page.body, "Jonas")
  t.not_contains(page.body, "On leave until March.")
  t.contains(login("daniel"):get("/feedback/360/" .. sid).body, "On leave until March.")
end)

t.test("an HR Admin does not read why someone declined to give feedback about his own manager", function()
  local lena = login("lena")
  local c = t.status(lena:post("/api/feedback/cycles", { name = "Above 360", start_date = "2026-01-05",
    rules = { min = 0, max = 4, suggested = 1 } }), 201).json
  t.status(lena:post("/api/feedback/cycles/" .. c.id .. "/reviewees", { user_ids = { P.priya.id } }), 200)
  t.status(lena:post("/api/feedback/cycles/" .. c.id .. "/start"), 200)
  local sid = db.value("SELECT id FROM feedback_subjects WHERE cycle_id = ?", c.id)
  t.status(login("olivia"):post("/api/feedback/360/" .. sid .. "/nominations", { reviewer_id = P.amara.id }), 201)
  t.status(login("olivia"):post("/api/feedback/approvals", { subject_ids = { sid } }), 200)
  local rq = db.value("SELECT id FROM feedback_nominations WHERE subject_id = ? AND reviewer_id = ?", sid, P.amara.id)
  t.status(login("amara"):post("/api/feedback/requests/" .. rq .. "/decline", { reason = "Priya is my skip-level." }), 200)
  local function reason(key)
    for _, r in ipairs(t.status(login(key):get("/api/feedback/360/" .. sid), 200).json.requests) do
      if r.status == "declined" then return r.decline_reason or false end
    end
  end
  t.eq(reason("olivia"), "Priya is my skip-level.", "Priya's manager")
  t.eq(reason("marcus"), false, "Marcus (HR Admin) reports to Priya")
end)

t.test("the overview costs the same number of queries for 6 or 40 reviewees", function()
  local lena = login("lena")
  -- counted warm (asked once before): kept values (lib/memo.lua) spare queries on a second ask
  local function count(fn) fn() return t.count_queries(fn) end
  local small = count(function() t.status(lena:get("/feedback/cycles/" .. cycle.id), 200) end)
  local api_small = count(function() t.status(lena:get("/api/feedback/cycles/" .. cycle.id .. "/reviewees"), 200) end)
  local ids = db.column("SELECT id FROM users WHERE kind = 'employee'")
  t.status(lena:post("/api/feedback/cycles/" .. cycle.id .. "/reviewees", { user_ids = ids }), 200)
  t.ok(db.value("SELECT count(*) FROM feedback_subjects WHERE cycle_id = ?", cycle.id) >= 40)
  local big = count(function() t.status(lena:get("/feedback/cycles/" .. cycle.id), 200) end)
  local api_big = count(function() t.status(lena:get("/api/feedback/cycles/" .. cycle.id .. "/reviewees"), 200) end)
  t.eq(big, small, "the overview page")
  t.eq(api_big, api_small, "the overview API")
  local list_small = count(function() t.status(lena:get("/feedback/cycles"), 200) end)
  t.status(lena:post("/api/feedback/cycles", { name = "One more", start_date = "2026-02-01" }), 201)
  local list_big = count(function() t.status(lena:get("/feedback/cycles"), 200) end)
  t.eq(list_big, list_small, "the list of cycles")
end)

t.test("reminders preview the exact mail for each late group; sending queues one per person and day", function()
  local lena = login("lena")
  local nom = t.status(lena:post("/api/feedback/cycles/" .. cycle.id .. "/reminders/preview",
    { audience = "not_nominated", note = "Two minutes, please." }), 200).json
  t.ok(nom.count >= 3)
  t.contains(nom.preview.text, "choose the reviewers for")
  t.contains(nom.preview.text, "Two minutes, please.")
  local appr = lena:post("/api/feedback/cycles/" .. cycle.id .. "/reminders/preview", { audience = "not_approved" }).json
  t.eq(appr.count, 1, "Ravi approves Lucas's list")
  t.eq(appr.preview.to.email, demo.email("ravi"))
  t.contains(appr.preview.text, "approve the reviewers of Lucas Moreau")
  local wr = lena:post("/api/feedback/cycles/" .. cycle.id .. "/reminders/preview", { audience = "not_written" }).json
  local first = wr.preview
  t.ok(wr.count >= 2)
  t.contains(first.text, "write and share your feedback about")
  t.status(lena:post("/api/feedback/cycles/" .. cycle.id .. "/reminders/preview", { audience = "everyone" }), 422)
  local go = t.status(lena:form("/feedback/cycles/" .. cycle.id .. "/reminders", { audience = "not_approved" }), 303,
    "preview first: a page of its own")
  local page = t.status(lena:get(go.headers.location), 200)
  t.contains(page.body, "approve the reviewers of Lucas Moreau")
  t.eq(#t.outbox({ template = "feedback_360.reminder" }), 0, "the preview sends nothing")
  local before = #t.outbox({ template = "feedback_360.reminder" })
  local sent = t.status(lena:post("/api/feedback/cycles/" .. cycle.id .. "/reminders", { audience = "not_approved" }), 200)
  t.eq(sent.json.queued, 1)
  local mail = t.outbox({ template = "feedback_360.reminder" })[before + 1]
  t.eq(mail.subject, appr.preview.subject, "the mail is the one previewed")
  t.eq(mail.body_text, appr.preview.text)
  t.eq(lena:post("/api/feedback/cycles/" .. cycle.id .. "/reminders", { audience = "not_approved" }).json.queued, 0,
    "not twice a day")
  t.status(login("tom"):post("/api/feedback/cycles/" .. cycle.id .. "/reminders/preview", { audience = "not_written" }), 403)
end)

t.test("Excel statistics for HR Admins and HR Assistants, without any feedback text", function()
  local res = login("lena"):get("/api/feedback/cycles/" .. cycle.id .. "/export.xlsx")
  t.status(res, 200)
  t.eq(res.headers["content-type"], "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
  t.eq(res.body:sub(1, 2), "PK")
  t.status(login("marcus"):get("/feedback/cycles/" .. cycle.id .. "/export.xlsx"), 200)
  t.status(login("tom"):get("/api/feedback/cycles/" .. cycle.id .. "/export.xlsx"), 403)
  t.status(login("ravi"):get("/api/feedback/cycles/" .. cycle.id .. "/export.xlsx"), 403)
  t.eq(db.value("SELECT count(*) FROM audit_log WHERE action = 'export.feedback_statistics'"), 2)
end)

t.test("the PDF of a reviewee's feedback: HR Admins only, with what they may read and the anonymity", function()
  local sid = db.value("SELECT id FROM feedback_subjects WHERE cycle_id = ? AND reviewee_id = ?", cycle.id, P.ravi.id)
  t.status(login("lena"):get("/api/feedback/360/" .. sid .. "/pdf"), 403, "HR Assistants read no content")
  t.status(login("daniel"):get("/api/feedback/360/" .. sid .. "/pdf"), 403, "managers read it on the page")
  local res = login("marcus"):get("/api/feedback/360/" .. sid .. "/pdf")
  t.status(res, 200)
  t.eq(res.body:sub(1, 5), "%PDF-")
  t.eq(db.value("SELECT count(*) FROM audit_log WHERE action = 'export.feedback_pdf'"), 1)
end)

t.test("copying keeps the settings, questions and reviewees; only HR Admins delete a cycle", function()
  local copy = t.status(login("lena"):post("/api/feedback/cycles/" .. cycle.id .. "/copy"), 201).json
  t.eq(copy.phase, "draft")
  t.eq(copy.visibility.threshold.peer, 4)
  t.eq(copy.questionnaire.sections[1].questions[3].type, "choice")
  t.eq(db.value("SELECT count(*) FROM feedback_subjects WHERE cycle_id = ?", copy.id),
    db.value("SELECT count(*) FROM feedback_subjects WHERE cycle_id = ?", cycle.id))
  t.eq(db.value("SELECT count(*) FROM feedback_nominations WHERE cycle_id = ?", copy.id), 0, "not the reviewers")
  t.status(login("lena"):delete("/api/feedback/cycles/" .. copy.id), 403, "not even their own copy")
  t.status(login("marcus"):delete("/api/feedback/cycles/" .. copy.id), 204)
  t.status(login("marcus"):get("/api/feedback/cycles/" .. copy.id), 404)
end)

t.test("removing reviewees: without feedback an HR Assistant may, with feedback only an HR Admin", function()
  t.status(login("lena"):request("DELETE", "/api/feedback/cycles/" .. cycle.id .. "/reviewees",
    { body = { user_ids = { P.noah.id } } }), 200)
  t.status(login("lena"):request("DELETE", "/api/feedback/cycles/" .. cycle.id .. "/reviewees",
    { body = { user_ids = { P.ravi.id } } }), 403, "Mia wrote about Ravi")
  t.status(login("marcus"):request("DELETE", "/api/feedback/cycles/" .. cycle.id .. "/reviewees",
    { body = { user_ids = { P.ravi.id } } }), 200)
  t.eq(db.value("SELECT count(*) FROM audit_log WHERE action = 'feedback_cycle.reviewees_removed'"), 2)
end)
