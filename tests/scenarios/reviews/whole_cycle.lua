-- A whole performance review cycle on the demo company, on the virtual clock (it starts
-- Monday 2026-01-05 09:00 UTC): who gets which mail on which date (reminders only to those
-- still late), who may read what and when, signing, reopening.
local t = require "testing"
local demo = require "demo"
local db = require "lib.db"

local P = t.demo()
-- Sessions end after 30 idle minutes and the clock moves by days here: everyone signs in
-- again at the start of each test.
local hr, assistant, ravi, lucas, mia, omar, daniel, zoe
local function sign_in_all()
  hr = t.login(demo.email("marcus"))         -- HR Admin (reports to Priya)
  assistant = t.login(demo.email("lena"))    -- HR Assistant
  ravi = t.login(demo.email("ravi"))         -- manages Lucas, Mia, Omar
  lucas = t.login(demo.email("lucas"))       -- manages Ethan and Zoe
  mia = t.login(demo.email("mia"))
  omar = t.login(demo.email("omar"))
  daniel = t.login(demo.email("daniel"))     -- VP Engineering: indirect manager of all of them
  zoe = t.login(demo.email("zoe"))
end
local test = t.test
t.test = function(name, fn) test(name, function() sign_in_all() fn() end) end

local cycle, reviews = nil, {}
local SECRET = "Mia's canary: the blue heron flies at midnight."

local function mails(template, to) return #t.outbox({ template = template, to = to }) end

t.test("HR creates a cycle, adds reviewees, makes Lena its assistant", function()
  local res = hr:post("/api/cycles", { name = "2026 H1 review", start_date = "2026-01-05", self_due = "2026-01-19",
    manager_due = "2026-02-02", sign_due = "2026-02-16" })
  t.status(res, 201)
  cycle = res.json
  t.eq(cycle.phase, "draft")
  local add = hr:post("/api/cycles/" .. cycle.id .. "/reviewees", { user_ids = { P.lucas.id, P.mia.id, P.omar.id,
    P.ethan.id, P.zoe.id, P.priya.id } })
  t.status(add, 200)
  t.eq(add.json.added, 6)
  t.status(hr:put("/api/cycles/" .. cycle.id .. "/admins", { admins = { { user_id = P.lena.id, role = "assistant" } } }), 200)
  t.eq(#t.outbox({ template = "review.invite" }), 0, "nothing is sent before the start")
end)

t.test("starting fixes each reviewee's manager and invites every reviewee", function()
  t.status(hr:post("/api/cycles/" .. cycle.id .. "/start"), 200)
  t.run_jobs() -- the invitations are queued right after the start commits
  for _, row in ipairs(db.query("SELECT * FROM reviews WHERE cycle_id = ?", cycle.id)) do
    reviews[row.reviewee_id] = row
  end
  t.eq(reviews[P.mia.id].manager_id, P.ravi.id)
  t.eq(reviews[P.zoe.id].manager_id, P.lucas.id)
  t.eq(reviews[P.priya.id].manager_id, P.olivia.id)
  t.eq(#t.outbox({ template = "review.invite" }), 6)
  t.eq(mails("review.invite", demo.email("mia")), 1)
  -- a later org change does not move the review
  t.status(hr:patch("/api/users/" .. P.zoe.id, { manager_id = P.emma.id }), 200)
  t.eq(db.value("SELECT manager_id FROM reviews WHERE id = ?", reviews[P.zoe.id].id), P.lucas.id)
  t.status(hr:patch("/api/users/" .. P.zoe.id, { manager_id = P.lucas.id }), 200)
end)

t.test("Mia drafts, places herself on the graph and submits; her manager is told", function()
  local id = reviews[P.mia.id].id
  local res = mia:put("/api/reviews/" .. id .. "/answers/self", { q1 = SECRET, q3 = { x = 72, y = 64 } })
  t.status(res, 200)
  t.eq(res.json.status, "draft")
  -- the manager cannot read a draft
  local as_ravi = ravi:get("/api/reviews/" .. id).json
  t.eq(as_ravi.self_answers, nil)
  t.status(mia:post("/api/reviews/" .. id .. "/submit"), 422, "q6 is required")
  t.status(mia:put("/api/reviews/" .. id .. "/answers/self", { q6 = "Grow into tech lead." }), 200)
  t.status(mia:post("/api/reviews/" .. id .. "/submit"), 200)
  t.eq(ravi:get("/api/reviews/" .. id).json.self_answers.q1, SECRET)
  t.eq(ravi:get("/api/reviews/" .. id).json.self_answers.q3.x, 72)
  t.eq(mails("review.self_submitted", demo.email("ravi")), 1)
  t.status(mia:put("/api/reviews/" .. id .. "/answers/self", { q1 = "changed" }), 409, "submitted is final")
end)

t.test("answers are encrypted at rest", function()
  for _, row in ipairs(db.query("SELECT value_enc FROM answers")) do
    t.no(row.value_enc:find("blue heron", 1, true), "plain text in the answers table")
  end
end)

t.test("who may read Mia's self-assessment: herself, her manager, managers above, HR Admins; not peers or assistants", function()
  local id = reviews[P.mia.id].id
  t.eq(daniel:get("/api/reviews/" .. id).json.self_answers.q1, SECRET, "indirect manager")
  t.eq(hr:get("/api/reviews/" .. id).json.self_answers.q1, SECRET, "HR Admin")
  t.status(omar:get("/api/reviews/" .. id), 404, "a peer")
  t.status(zoe:get("/api/reviews/" .. id), 404, "someone in another team")
  local as_lena = assistant:get("/api/reviews/" .. id)
  t.status(as_lena, 200, "the assistant sees the review's status")
  t.eq(as_lena.json.self_answers, nil, "but never answers")
  t.eq(as_lena.json.self_status, "submitted")
end)

t.test("an HR Admin never reads the review of someone above them", function()
  local id = reviews[P.priya.id].id
  t.status(t.login(demo.email("priya")):put("/api/reviews/" .. id .. "/answers/self",
    { q1 = "Priya's own words", q6 = "Plans" }), 200)
  t.status(t.login(demo.email("priya")):post("/api/reviews/" .. id .. "/submit"), 200)
  local as_marcus = hr:get("/api/reviews/" .. id)
  t.eq(as_marcus.json.self_answers, nil, "Marcus reports to Priya")
  t.eq(t.login(demo.email("olivia")):get("/api/reviews/" .. id).json.self_answers.q1, "Priya's own words")
end)

t.test("three days before the self-assessment deadline only those still late are reminded", function()
  t.advance_to("2026-01-16T09:30:00Z")
  local reminded = {}
  for _, m in ipairs(t.outbox({ template = "review.self_reminder" })) do reminded[m.to_email] = true end
  t.ok(reminded[demo.email("lucas")] and reminded[demo.email("omar")] and reminded[demo.email("ethan")]
    and reminded[demo.email("zoe")], "the late ones")
  t.no(reminded[demo.email("mia")], "Mia submitted")
  t.no(reminded[demo.email("priya")], "Priya submitted")
  t.eq(#t.outbox({ template = "review.self_reminder" }), 4)
end)

t.test("Lucas submits; the reminder the day after the deadline skips him", function()
  local id = reviews[P.lucas.id].id
  t.status(lucas:put("/api/reviews/" .. id .. "/answers/self", { q1 = "Shipped the platform", q6 = "Mentoring" }), 200)
  t.status(lucas:post("/api/reviews/" .. id .. "/submit"), 200)
  t.advance_to("2026-01-20T10:00:00Z")
  t.eq(mails("review.self_reminder", demo.email("lucas")), 1, "only the first one")
  t.eq(mails("review.self_reminder", demo.email("omar")), 2)
end)

t.test("Ravi writes Mia's review; she sees nothing until he shares it", function()
  local id = reviews[P.mia.id].id
  t.status(ravi:put("/api/reviews/" .. id .. "/answers/manager", { q1 = "Strong delivery.", q4 = 4, q6 = "Lead the next project.",
    q5 = "Calibration note: ready for promotion" }), 200)
  t.eq(mia:get("/api/reviews/" .. id).json.manager_answers, nil)
  t.status(ravi:post("/api/reviews/" .. id .. "/share"), 200)
  local mine = mia:get("/api/reviews/" .. id).json
  t.eq(mine.manager_answers.q4, 4)
  t.eq(mine.manager_answers.q5, nil, "the manager-only question stays hidden from her")
  t.eq(mails("review.shared", demo.email("mia")), 1)
  t.eq(hr:get("/api/reviews/" .. id).json.manager_answers.q5, "Calibration note: ready for promotion")
end)

t.test("the day after the manager deadline, late managers are nudged and the cycle's admins copied", function()
  t.advance_to("2026-02-03T10:00:00Z")
  local late = t.outbox({ template = "review.manager_late" })
  local to = {}
  for _, m in ipairs(late) do to[m.to_email] = (to[m.to_email] or 0) + 1 end
  t.eq(to[demo.email("ravi")], 1, "Ravi still owes Lucas and Omar: one mail")
  t.eq(to[demo.email("lucas")], 1)
  t.eq(to[demo.email("olivia")], 1, "Priya's manager")
  local copied = false
  for _, m in ipairs(late) do if (m.cc or ""):find(demo.email("lena"), 1, true) then copied = true end end
  t.ok(copied, "the cycle assistant is copied")
end)

t.test("both sign: the review closes, becomes read-only, and HR sees it done", function()
  local id = reviews[P.mia.id].id
  t.status(mia:post("/api/reviews/" .. id .. "/sign"), 200)
  t.status(mia:post("/api/reviews/" .. id .. "/sign"), 409, "not twice")
  t.status(ravi:post("/api/reviews/" .. id .. "/sign"), 200)
  local r = db.row("SELECT * FROM reviews WHERE id = ?", id)
  t.ok(r.closed_at)
  t.status(ravi:put("/api/reviews/" .. id .. "/answers/manager", { q1 = "edit" }), 409)
  t.eq(mails("review.closed", demo.email("mia")), 1)
  local ov = hr:get("/api/cycles/" .. cycle.id .. "/reviewees").json
  t.eq(ov.totals.done, 1)
end)

t.test("HR reopens a signed review with a reason; it is logged and the manager can edit again", function()
  local id = reviews[P.mia.id].id
  t.status(hr:post("/api/reviews/" .. id .. "/reopen", { reason = "" }), 422)
  t.status(ravi:post("/api/reviews/" .. id .. "/reopen", { reason = "I want to change it" }), 403, "managers cannot")
  t.status(hr:post("/api/reviews/" .. id .. "/reopen", { reason = "Rating corrected after calibration" }), 200)
  local r = db.row("SELECT * FROM reviews WHERE id = ?", id)
  t.eq(r.closed_at, nil)
  t.eq(r.manager_status, "draft")
  t.eq(db.value("SELECT count(*) FROM audit_log WHERE action = 'review.reopen'"), 1)
  t.status(ravi:put("/api/reviews/" .. id .. "/answers/manager", { q4 = 5 }), 200)
end)

t.test("the ratings chart counts a changed rating on the next request (decrypted values are kept only until an answer is written)", function()
  local id = reviews[P.mia.id].id
  local function counts() return t.status(hr:get("/api/cycles/" .. cycle.id .. "/ratings"), 200).json.counts end
  t.status(ravi:put("/api/reviews/" .. id .. "/answers/manager", { q4 = 4 }), 200)
  t.status(ravi:post("/api/reviews/" .. id .. "/share"), 200)
  local before = counts()
  t.same(counts(), before, "asked twice, the same")
  t.eq(before[4], 1, "Ravi's 4 for Mia")
  t.status(hr:post("/api/reviews/" .. id .. "/reopen", { reason = "Calibration moved it up" }), 200)
  t.status(ravi:put("/api/reviews/" .. id .. "/answers/manager", { q4 = 5 }), 200)
  t.status(ravi:post("/api/reviews/" .. id .. "/share"), 200)
  local after = counts()
  t.eq(after[4], before[4] - 1, "the 4 is gone")
  t.eq(after[5], before[5] + 1, "the 5 is counted")
end)

t.test("an HR Assistant tracks and reminds but cannot read answers or delete the cycle", function()
  t.status(assistant:get("/api/cycles/" .. cycle.id .. "/reviewees"), 200)
  local prev = assistant:post("/api/cycles/" .. cycle.id .. "/reminders/preview", { audience = "self_late" })
  t.status(prev, 200)
  t.eq(prev.json.count, 3, "Omar, Ethan and Zoe are still late")
  t.status(assistant:delete("/api/cycles/" .. cycle.id), 403)
  local ratings = assistant:get("/api/cycles/" .. cycle.id .. "/ratings").json
  t.eq(ratings.total, 0, "no ratings for someone who may not read content")
end)
