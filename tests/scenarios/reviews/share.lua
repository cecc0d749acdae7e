-- Sharing is confirmed first (a dialog with JavaScript, a confirmation page without) and can be
-- undone: the manager takes a shared review back to adjust it until the reviewee signs (the
-- reviewee is told; a signature is always of the final text). Shares, take-backs and signatures
-- are in the audit log.
local t = require "testing"
local demo = require "demo"
local db = require "lib.db"
local json = require "lib.json"

local P = t.demo()
local ravi, mia, hr
local function sign_in()
  ravi = t.login(demo.email("ravi"))
  mia = t.login(demo.email("mia"))
  hr = t.login(demo.email("marcus"))
end

local cycle, id
local function review_row() return db.row("SELECT * FROM reviews WHERE id = ?", id) end
local function audit_of(action)
  return db.query("SELECT * FROM audit_log WHERE action = ? AND target_id = ? ORDER BY id", action, id)
end

t.test("Ravi writes Mia's review in a running cycle", function()
  sign_in()
  cycle = t.status(hr:post("/api/cycles", { name = "Share cycle", start_date = "2026-01-05", self_due = "2026-01-19",
    manager_due = "2026-02-02", sign_due = "2026-02-16" }), 201).json
  t.status(hr:post("/api/cycles/" .. cycle.id .. "/reviewees", { user_ids = { P.mia.id, P.omar.id } }), 200)
  t.status(hr:post("/api/cycles/" .. cycle.id .. "/start"), 200)
  id = db.value("SELECT id FROM reviews WHERE cycle_id = ? AND reviewee_id = ?", cycle.id, P.mia.id)
  t.status(ravi:put("/api/reviews/" .. id .. "/answers/manager", { q1 = "Strong year.", q4 = 4, q6 = "Lead" }), 200)
end)

t.test("the share button asks first, with JavaScript, and the page says it can be taken back", function()
  sign_in()
  local body = ravi:get("/reviews/" .. id).body
  local button = body:match('<button[^>]-value="share"[^>]*>')
  t.ok(button, "a share button")
  t.contains(button, 'data-confirm="Share your review with Mia?')
  t.contains(button, 'data-confirm-field="confirmed"')
  t.contains(body, "until Mia signs")
end)

t.test("without JavaScript, sharing goes through a confirmation page; nothing is shared before", function()
  sign_in()
  local res = t.status(ravi:form("/reviews/" .. id .. "/answers/manager", { q_q1 = "Strong year!", after = "share" }), 303)
  t.eq(res.headers.location, "/reviews/" .. id .. "/share")
  t.eq(review_row().manager_status, "draft", "not shared yet")
  local q1 = db.value("SELECT count(*) FROM answers WHERE review_id = ? AND author = 'manager' AND question_id = 'q1'", id)
  t.eq(q1, 1, "what was typed is saved")
  local confirm = t.status(ravi:get("/reviews/" .. id .. "/share"), 200).body
  t.contains(confirm, "Share your review with Mia?")
  t.contains(confirm, 'action="/reviews/' .. id .. '/share"')
  t.contains(confirm, 'name="confirmed" value="1"')
  t.status(mia:get("/reviews/" .. id .. "/share"), 403, "only the writer")
  res = t.status(ravi:form("/reviews/" .. id .. "/share", { confirmed = "1" }), 303)
  t.eq(res.headers.location, "/reviews/" .. id)
  t.eq(review_row().manager_status, "shared")
  local a = audit_of("review.share")
  t.eq(#a, 1, "the share is in the audit log")
  t.eq(a[1].actor_id, P.ravi.id)
  t.eq(json.decode(a[1].details).reviewee_id, P.mia.id)
end)

t.test("the manager takes the review back to adjust it; Mia is told and reads nothing meanwhile", function()
  sign_in()
  t.eq(mia:get("/api/reviews/" .. id).json.manager_answers.q4, 4)
  local res = t.status(ravi:post("/api/reviews/" .. id .. "/unshare"), 200)
  t.eq(res.json.manager_status, "draft")
  t.eq(res.json.shared_at, json.null)
  t.eq(mia:get("/api/reviews/" .. id).json.manager_answers, nil, "taken back")
  t.eq(#t.outbox({ template = "review.unshared", to = demo.email("mia") }), 1, "Mia is told")
  t.eq(#audit_of("review.unshare"), 1)
  t.status(ravi:put("/api/reviews/" .. id .. "/answers/manager", { q4 = 5 }), 200, "he adjusts")
  t.status(ravi:post("/api/reviews/" .. id .. "/share"), 200)
  t.eq(mia:get("/api/reviews/" .. id).json.manager_answers.q4, 5)
  t.eq(#audit_of("review.share"), 2)
end)

t.test("only the writer takes a review back", function()
  sign_in()
  t.status(mia:post("/api/reviews/" .. id .. "/unshare"), 403)
  t.status(hr:post("/api/reviews/" .. id .. "/unshare"), 403, "HR reopens instead")
  t.eq(review_row().manager_status, "shared")
end)

t.test("a signature made before the review was taken back is withdrawn: a signature is of the final text", function()
  sign_in()
  t.status(ravi:post("/api/reviews/" .. id .. "/sign"), 200)
  t.ok(review_row().manager_signed_at)
  t.eq(#audit_of("review.sign"), 1, "the signature is in the audit log")
  t.status(ravi:form("/reviews/" .. id .. "/unshare", {}), 303)
  local r = review_row()
  t.eq(r.manager_status, "draft")
  t.eq(r.manager_signed_at, nil, "his signature went with the text it was made on")
  t.ok(db.value("SELECT 1 FROM review_events WHERE review_id = ? AND action = 'unshared'", id))
  t.status(ravi:post("/api/reviews/" .. id .. "/share"), 200)
end)

t.test("once the reviewee signed, the manager cannot take it back; the page offers it only before", function()
  sign_in()
  t.contains(ravi:get("/reviews/" .. id).body, 'action="/reviews/' .. id .. '/unshare"')
  t.status(mia:post("/api/reviews/" .. id .. "/sign"), 200)
  local res = t.status(ravi:post("/api/reviews/" .. id .. "/unshare"), 409)
  t.contains(res.json.error.message, "signed")
  t.not_contains(ravi:get("/reviews/" .. id).body, 'action="/reviews/' .. id .. '/unshare"')
  local signed = audit_of("review.sign")
  t.eq(#signed, 2)
  t.eq(signed[2].actor_id, P.mia.id)
  t.eq(json.decode(signed[2].details).by, "reviewee")
end)

t.test("a closed cycle's reviews cannot be taken back", function()
  sign_in()
  local omar = db.value("SELECT id FROM reviews WHERE cycle_id = ? AND reviewee_id = ?", cycle.id, P.omar.id)
  t.status(ravi:put("/api/reviews/" .. omar .. "/answers/manager", { q1 = "Good.", q4 = 3, q6 = "More" }), 200)
  t.status(ravi:post("/api/reviews/" .. omar .. "/share"), 200)
  t.status(hr:post("/api/cycles/" .. cycle.id .. "/transitions", { to = "closed" }), 200)
  t.status(ravi:post("/api/reviews/" .. omar .. "/unshare"), 409)
end)
