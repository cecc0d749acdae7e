-- Private notes, feedback to a colleague and feedback requests. Notes are their writer's (and
-- of those they share them with by name); feedback goes to its recipient (and their manager when
-- the writer says so); managers read what is addressed to them, nothing else; HR Admins read
-- none of it. Requests: ask colleagues about yourself or, as a manager, about a report; answers
-- arrive as feedback; a reminder before the due date; askees may decline.
-- Zoe and Ethan report to Lucas, who reports to Ravi; Marcus is an HR Admin, Priya a super user.
local t = require "testing"
local demo = require "demo"
local db = require "lib.db"
local json = require "lib.json"

local P = t.demo()
local function as(key) return t.login(demo.email(key)) end
local zoe, ethan, lucas, ravi, marcus, priya, leo = as("zoe"), as("ethan"), as("lucas"), as("ravi"), as("marcus"),
  as("priya"), as("leo")

local function post(client, body) return t.status(client:post("/api/messages", body), 201).json end

local note
t.test("a private note is its writer's alone: not the person it is about, not their manager, not HR", function()
  note = post(lucas, { kind = "note", text = "Zoe handled the outage calmly", about_id = P.zoe.id })
  t.eq(note.audience, "author")
  t.eq(note.about.name, "Zoe Chen")
  t.status(lucas:get("/api/messages/" .. note.id), 200)
  for _, c in ipairs({ zoe, ravi, marcus, priya, leo }) do t.status(c:get("/api/messages/" .. note.id), 404) end
  t.eq(#t.outbox{ to = demo.email("zoe") }, 0, "nobody is mailed about a note")
end)

t.test("a note cannot be written for everyone, nor anonymously, nor to recipients", function()
  t.status(lucas:post("/api/messages", { kind = "note", text = "x", audience = "everyone" }), 422)
  t.status(lucas:post("/api/messages", { kind = "note", text = "x", recipient_ids = { P.zoe.id } }), 422)
end)

t.test("a note shared later by name: those named read it, nobody else; only the writer shares", function()
  t.status(zoe:post("/api/messages/" .. note.id .. "/shares", { user_ids = { P.zoe.id } }), 404, "Zoe cannot read it yet")
  t.status(lucas:post("/api/messages/" .. note.id .. "/shares", { user_ids = { P.zoe.id } }), 200)
  t.status(zoe:get("/api/messages/" .. note.id), 200, "now she can")
  t.status(zoe:post("/api/messages/" .. note.id .. "/shares", { user_ids = { P.ethan.id } }), 403, "a reader may not share it on")
  t.status(ethan:get("/api/messages/" .. note.id), 404)
  t.status(ravi:get("/api/messages/" .. note.id), 404)
  t.status(marcus:get("/api/messages/" .. note.id), 404)
end)

local fb
t.test("feedback goes to the recipient only by default; the manager and HR Admins never read it", function()
  fb = post(ethan, { kind = "feedback", text = "Your code reviews are thorough", recipient_ids = { P.zoe.id } })
  t.eq(fb.audience, "recipients")
  t.status(zoe:get("/api/messages/" .. fb.id), 200)
  for _, c in ipairs({ lucas, ravi, marcus, priya, leo }) do t.status(c:get("/api/messages/" .. fb.id), 404) end
  t.status(marcus:patch("/api/messages/" .. fb.id, { text = "x" }), 404, "HR Admins cannot moderate feedback")
  t.status(marcus:delete("/api/messages/" .. fb.id), 404)
  t.status(marcus:post("/api/messages/" .. fb.id .. "/unveil", { reason = "x" }), 404)
  t.eq(#t.outbox{ to = demo.email("zoe"), template = "feedback.received" }, 1)
end)

t.test("feedback for the recipient and their manager: the direct manager reads it, nobody above", function()
  local m = post(ethan, { kind = "feedback", text = "Please document the deploy", recipient_ids = { P.zoe.id },
    audience = "managers" })
  t.status(lucas:get("/api/messages/" .. m.id), 200)
  t.status(ravi:get("/api/messages/" .. m.id), 404)
  t.status(marcus:get("/api/messages/" .. m.id), 404)
end)

t.test("a manager reads only what is addressed to them: not feedback between their reports", function()
  local received = t.status(lucas:get("/api/messages?tab=received"), 200).json.items
  for _, m in ipairs(received) do t.neq(m.id, fb.id) end
end)

t.test("feedback goes to one colleague at a time, never to yourself, never for everyone", function()
  t.status(ethan:post("/api/messages", { kind = "feedback", text = "x", recipient_ids = { P.zoe.id, P.leo.id } }), 422)
  t.status(ethan:post("/api/messages", { kind = "feedback", text = "x", recipient_ids = { P.ethan.id } }), 422)
  t.status(ethan:post("/api/messages", { kind = "feedback", text = "x", recipient_ids = { P.zoe.id }, audience = "everyone" }), 422)
end)

t.test("anonymous feedback (the default allows it): the recipient does not learn the writer", function()
  local m = post(ethan, { kind = "feedback", text = "Speak up more in meetings", recipient_ids = { P.zoe.id }, anonymous = true })
  local j = t.status(zoe:get("/api/messages/" .. m.id), 200).json
  t.eq(j.author, json.null)
  t.not_contains(zoe:get("/messages/" .. m.id).body, "Ethan Brooks")
  local card = zoe:get("/messages?tab=received").body:match('<article[^>]-msg%-' .. m.id .. '%-title.-</article>')
  t.ok(card, "the message is in Zoe's received tab")
  t.contains(card, "Anonymous")
  t.not_contains(card, "Ethan Brooks")
end)

t.test("tabs: received and given list what the person may read, at the same number of queries", function()
  local given = t.status(ethan:get("/api/messages?tab=given"), 200).json.items
  t.ok(#given >= 3)
  local few = t.count_queries(function() t.status(zoe:get("/messages?tab=received"), 200) end)
  for i = 1, 15 do post(leo, { kind = "feedback", text = "More " .. i, recipient_ids = { P.zoe.id } }) end
  local many = t.count_queries(function() t.status(zoe:get("/messages?tab=received"), 200) end)
  t.eq(many, few)
  t.contains(zoe:get("/messages?tab=given").body, "You have not written anything yet")
end)

local rq
t.test("ask colleagues about yourself: they are mailed, see the question, and it is a to-do on their home", function()
  rq = t.status(zoe:post("/api/feedback-requests", { askee_ids = { P.ethan.id, P.leo.id },
    question = "How was my on-call week?", due_date = "2026-01-20" }), 201).json
  t.eq(rq.about.name, "Zoe Chen")
  t.eq(#t.outbox{ to = demo.email("ethan"), template = "feedback_request.asked" }, 1)
  local seen = t.status(ethan:get("/api/feedback-requests/" .. rq.id), 200).json
  t.eq(seen.question, "How was my on-call week?")
  t.eq(#seen.askees, 1, "an askee does not see whom else was asked")
  t.contains(ethan:get("/home").body, "/requests/" .. rq.id)
  for _, c in ipairs({ lucas, marcus, as("omar") }) do t.status(c:get("/api/feedback-requests/" .. rq.id), 404) end
end)

t.test("an askee answers: feedback to the one who asked, who is mailed; answering twice is a conflict", function()
  local m = t.status(ethan:post("/api/feedback-requests/" .. rq.id .. "/answer", { text = "Calm and quick" }), 201).json
  t.eq(m.kind, "feedback")
  t.eq(m.recipients[1].name, "Zoe Chen")
  t.eq(m.request_id, rq.id)
  t.eq(#t.outbox{ to = demo.email("zoe"), template = "feedback_request.answered" }, 1)
  t.status(ethan:post("/api/feedback-requests/" .. rq.id .. "/answer", { text = "again" }), 409)
  local mine = t.status(zoe:get("/api/feedback-requests/" .. rq.id), 200).json
  t.eq(mine.answers[1].text, "Calm and quick")
  t.eq(mine.counts.answered, 1)
  t.status(lucas:get("/api/messages/" .. m.id), 404, "Zoe's manager does not read the answer")
  t.status(marcus:get("/api/messages/" .. m.id), 404)
end)

t.test("the reminder goes two days before the due date, only to those still open", function()
  t.advance_to("2026-01-18T08:59:00Z")
  t.eq(#t.outbox{ template = "feedback_request.reminder" }, 0, "not before")
  t.advance_to("2026-01-18T09:01:00Z")
  local reminders = t.outbox{ template = "feedback_request.reminder" }
  t.eq(#reminders, 1)
  t.eq(reminders[1].to_email, demo.email("leo"))
  -- the sessions expired on the way: sign in again
  zoe, ethan, lucas, ravi, marcus, priya, leo = as("zoe"), as("ethan"), as("lucas"), as("ravi"), as("marcus"),
    as("priya"), as("leo")
end)

t.test("an askee declines: the one who asked is told; someone not asked cannot answer", function()
  t.status(lucas:post("/api/feedback-requests/" .. rq.id .. "/answer", { text = "x" }), 404)
  t.status(leo:post("/api/feedback-requests/" .. rq.id .. "/decline"), 204)
  t.eq(#t.outbox{ to = demo.email("zoe"), template = "feedback_request.declined" }, 1)
  t.eq(t.status(zoe:get("/api/feedback-requests/" .. rq.id), 200).json.counts.declined, 1)
end)

t.test("a manager asks about a report; nobody asks about a colleague or their manager", function()
  local r = t.status(lucas:post("/api/feedback-requests", { about_id = P.zoe.id, askee_ids = { P.ethan.id },
    question = "How is Zoe doing as a mentor?" }), 201).json
  t.eq(r.about.name, "Zoe Chen")
  t.status(zoe:get("/api/feedback-requests/" .. r.id), 404, "the report is not told")
  local m = t.status(ethan:post("/api/feedback-requests/" .. r.id .. "/answer", { text = "A patient mentor" }), 201).json
  t.status(lucas:get("/api/messages/" .. m.id), 200, "the answer goes to the manager who asked")
  t.status(zoe:get("/api/messages/" .. m.id), 404)
  t.status(ethan:post("/api/feedback-requests", { about_id = P.zoe.id, askee_ids = { P.leo.id }, question = "x" }), 422)
  t.status(zoe:post("/api/feedback-requests", { about_id = P.lucas.id, askee_ids = { P.leo.id }, question = "x" }), 422)
  t.status(ravi:post("/api/feedback-requests", { about_id = P.zoe.id, askee_ids = { P.leo.id }, question = "x" }), 422,
    "not the manager further up")
  t.status(marcus:post("/api/feedback-requests", { about_id = P.zoe.id, askee_ids = { P.leo.id }, question = "x" }), 422,
    "not HR")
end)

t.test("the requested tab lists what I asked and what waits for me", function()
  local body = zoe:get("/messages?tab=requested").body
  t.contains(body, "How was my on-call week?")
  t.contains(body, "1 answered")
end)

t.test("notes about a person show beside the writer's review of them, not beside anyone else's", function()
  local hr = as("marcus")
  local c = t.status(hr:post("/api/cycles", { name = "Notes cycle", start_date = "2026-01-19", self_due = "2026-02-01",
    manager_due = "2026-02-10", sign_due = "2026-02-20" }), 201).json
  t.status(hr:post("/api/cycles/" .. c.id .. "/reviewees", { user_ids = { P.zoe.id } }), 200)
  t.status(hr:post("/api/cycles/" .. c.id .. "/start"), 200)
  local rid = db.value("SELECT id FROM reviews WHERE cycle_id = ? AND reviewee_id = ?", c.id, P.zoe.id)
  local page = lucas:get("/reviews/" .. rid).body
  t.contains(page, "Praise, feedback and notes")
  t.contains(page, "Zoe handled the outage calmly", "Lucas's note")
  local own = zoe:get("/reviews/" .. rid).body
  t.contains(own, "Praise, feedback and notes")
  t.contains(own, "Calm and quick", "the feedback Zoe received")
  t.not_contains(own, "A patient mentor", "not the answer that went to her manager")
end)

t.test("answers to a request are never anonymous by choice: the one who asked sees who answered", function()
  local r = t.status(zoe:post("/api/feedback-requests", { askee_ids = { P.ethan.id, P.leo.id }, question = "Q1" }), 201).json
  local m = t.status(ethan:post("/api/feedback-requests/" .. r.id .. "/answer", { text = "Named", anonymous = true }), 201).json
  t.eq(m.anonymous, false)
  t.eq(t.status(zoe:get("/api/messages/" .. m.id), 200).json.author.name, "Ethan Brooks")
end)

t.test("when the company makes feedback anonymous, answers are, and the one who asked sees only counts", function()
  t.status(marcus:put("/api/message-defaults", { feedback = { anonymity = "mandatory" } }), 200)
  local r = t.status(zoe:post("/api/feedback-requests", { askee_ids = { P.ethan.id, P.leo.id }, question = "Q2" }), 201).json
  local m = t.status(ethan:post("/api/feedback-requests/" .. r.id .. "/answer", { text = "Hidden" }), 201).json
  t.status(leo:post("/api/feedback-requests/" .. r.id .. "/decline"), 204)
  local seen = t.status(zoe:get("/api/feedback-requests/" .. r.id), 200).json
  for _, a in ipairs(seen.askees) do t.eq(a.status, "asked") end
  t.eq(seen.counts.answered, 1)
  t.eq(seen.answers[1].author, json.null)
  t.eq(t.status(zoe:get("/api/messages/" .. m.id), 200).json.author, json.null)
  local told = t.outbox{ to = demo.email("zoe"), template = "feedback_request.declined" }
  t.not_contains(told[#told].body_text, "Leo")
  t.not_contains(zoe:get("/requests/" .. r.id).body, ">answered<")
  t.status(marcus:put("/api/message-defaults", { feedback = { anonymity = "possible" } }), 200)
end)

t.test("with feedback switched off, neither feedback nor requests can be written", function()
  t.status(marcus:put("/api/message-defaults", { feedback = { enabled = false } }), 200)
  t.status(ethan:post("/api/messages", { kind = "feedback", text = "x", recipient_ids = { P.zoe.id } }), 422)
  t.status(zoe:post("/api/feedback-requests", { askee_ids = { P.ethan.id }, question = "x" }), 422)
  t.status(marcus:put("/api/message-defaults", { feedback = { enabled = true } }), 200)
  t.status(ethan:put("/api/message-defaults", { feedback = { enabled = false } }), 403)
  t.status(as("lena"):get("/api/message-defaults"), 403)
  t.status(as("tom"):get("/api/message-defaults"), 403)
end)
