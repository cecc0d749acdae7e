-- Who reads a review is fixed on the review: its writer (the reviewing manager fixed at the
-- start, or chosen later by HR) and the managers above that writer at that moment; today's
-- reporting lines give nobody a review they were not part of. Changing a review's writer never
-- gives the person who changes it anything, nobody appoints themselves, and an HR Assistant who
-- may pick managers cannot place anyone below herself.
local t = require "testing"
local demo = require "demo"
local db = require "lib.db"

local P = t.demo()
local hr, lena, priya
local function sign_in()
  hr = t.login(demo.email("marcus"))     -- HR Admin
  lena = t.login(demo.email("lena"))     -- HR Assistant
  priya = t.login(demo.email("priya"))   -- super user
end
local function as(key) return t.login(demo.email(key)) end

local SECRET = "Mia's canary: the kingfisher dives at noon."
local LUCAS_SECRET = "Lucas's canary: the fox naps under the old bridge."
local cycle
local review = {}

local function content_of(client, id)
  local res = client:get("/api/reviews/" .. id)
  if res.status ~= 200 then return nil, res.status end
  return res.json, 200
end

t.test("a running cycle: Mia submits, Ravi drafts his review with a calibration note", function()
  sign_in()
  cycle = t.status(hr:post("/api/cycles", { name = "Access review", start_date = "2026-01-05", self_due = "2026-01-19",
    manager_due = "2026-02-02", sign_due = "2026-02-16" }), 201).json
  t.status(hr:post("/api/cycles/" .. cycle.id .. "/reviewees", { user_ids = { P.mia.id, P.lucas.id, P.zoe.id } }), 200)
  t.status(hr:post("/api/cycles/" .. cycle.id .. "/start"), 200)
  for _, r in ipairs(db.query("SELECT id, reviewee_id FROM reviews WHERE cycle_id = ?", cycle.id)) do
    review[r.reviewee_id] = r.id
  end
  local mia, ravi = as("mia"), as("ravi")
  t.status(mia:put("/api/reviews/" .. review[P.mia.id] .. "/answers/self", { q1 = SECRET, q6 = "Lead" }), 200)
  t.status(mia:post("/api/reviews/" .. review[P.mia.id] .. "/submit"), 200)
  t.status(ravi:put("/api/reviews/" .. review[P.mia.id] .. "/answers/manager",
    { q1 = "Strong year.", q5 = "Calibration: promote" }), 200)
  local lucas = as("lucas")
  t.status(lucas:put("/api/reviews/" .. review[P.lucas.id] .. "/answers/self", { q1 = LUCAS_SECRET, q6 = "Grow" }), 200)
  t.status(lucas:post("/api/reviews/" .. review[P.lucas.id] .. "/submit"), 200)
  t.eq(content_of(ravi, review[P.mia.id]).self_answers.q1, SECRET, "the writer reads the submitted self-assessment")
end)

t.test("an HR Assistant cannot make herself the writer of a review, and reads nothing of it", function()
  sign_in()
  local id = review[P.mia.id]
  local res = t.status(lena:patch("/api/reviews/" .. id, { manager_id = P.lena.id }), 422)
  t.contains(res.json.error.fields.manager_id, "yourself")
  t.eq(db.value("SELECT manager_id FROM reviews WHERE id = ?", id), P.ravi.id, "the writer did not change")
  -- the page form is refused the same way
  t.status(lena:form("/reviews/" .. id .. "/manager", { manager_id = P.lena.id }), 303)
  t.eq(db.value("SELECT manager_id FROM reviews WHERE id = ?", id), P.ravi.id)
  -- and she reads no content: API, page, PDF
  local v = content_of(lena, id)
  t.eq(v.self_answers, nil)
  t.eq(v.manager_answers, nil)
  t.not_contains(lena:get("/reviews/" .. id).body, "kingfisher")
  t.status(lena:get("/api/reviews/" .. id .. "/pdf"), 403)
  t.status(lena:get("/reviews/" .. id .. "/pdf"), 403)
end)

t.test("nobody appoints themselves, an HR Admin included", function()
  sign_in()
  local res = t.status(hr:patch("/api/reviews/" .. review[P.mia.id], { manager_id = P.marcus.id }), 422)
  t.contains(res.json.error.fields.manager_id, "yourself")
  t.eq(db.value("SELECT manager_id FROM reviews WHERE id = ?", review[P.mia.id]), P.ravi.id)
end)

t.test("the writer cannot be someone who reports to the reviewee", function()
  sign_in()
  -- Ethan reports to Lucas: he would write the review of his own manager
  local res = t.status(lena:patch("/api/reviews/" .. review[P.lucas.id], { manager_id = P.ethan.id }), 422)
  t.contains(res.json.error.fields.manager_id, "reports to")
  -- nor the reviewee, nor a guest
  t.status(lena:patch("/api/reviews/" .. review[P.lucas.id], { manager_id = P.lucas.id }), 422)
  t.status(lena:patch("/api/reviews/" .. review[P.lucas.id],
    { manager_id = P["alex.morgan@clientcorp.example"].id }), 422)
  t.eq(db.value("SELECT manager_id FROM reviews WHERE id = ?", review[P.lucas.id]), P.ravi.id)
end)

t.test("nobody chooses their own report as the writer: as the report's manager they would read the review", function()
  sign_in()
  local id = review[P.mia.id]
  -- Omar is made Lena's report: choosing him would put her above the writer
  t.status(hr:patch("/api/users/" .. P.omar.id, { manager_id = P.lena.id }), 200)
  local res = t.status(lena:patch("/api/reviews/" .. id, { manager_id = P.omar.id }), 422)
  t.contains(res.json.error.fields.manager_id, "reports to you")
  -- Marcus reports to Priya, who is not above Mia
  t.contains(t.status(priya:patch("/api/reviews/" .. id, { manager_id = P.marcus.id }), 422).json.error.fields.manager_id,
    "reports to you")
  t.eq(db.value("SELECT manager_id FROM reviews WHERE id = ?", id), P.ravi.id, "the writer did not change")
  local v = content_of(lena, id)
  t.eq(v and v.self_answers, nil, "Lena reads nothing of it")
  t.status(hr:patch("/api/users/" .. P.omar.id, { manager_id = P.ravi.id }), 200)
end)

t.test("an HR Assistant appoints another writer: the new writer reads and writes; she and the old writer read nothing",
  function()
  sign_in()
  local id = review[P.mia.id]
  local res = t.status(lena:patch("/api/reviews/" .. id, { manager_id = P.emma.id }), 200)
  t.eq(res.json.manager_id, P.emma.id)
  t.eq(res.json.self_answers, nil, "the answer to the one who changed it holds no content")
  local emma = as("emma")
  local v = content_of(emma, id)
  t.eq(v.self_answers.q1, SECRET, "the new writer reads the self-assessment")
  t.eq(v.manager_answers.q5, "Calibration: promote", "and the draft she takes over")
  t.status(emma:put("/api/reviews/" .. id .. "/answers/manager", { q4 = 4 }), 200)
  t.status(emma:get("/api/reviews/" .. id .. "/pdf"), 200)
  -- the one who changed it
  v = content_of(lena, id)
  t.eq(v.self_answers, nil)
  t.eq(v.manager_answers, nil)
  t.status(lena:get("/api/reviews/" .. id .. "/pdf"), 403)
  -- the previous writer, still Mia's manager in the org chart
  local ravi = as("ravi")
  local _, status = content_of(ravi, id)
  t.eq(status, 404, "Ravi is no longer part of this review")
  t.status(ravi:put("/api/reviews/" .. id .. "/answers/manager", { q1 = "late edit" }), 403)
  t.status(ravi:get("/api/reviews/" .. id .. "/pdf"), 404)
  -- the managers above the new writer read it; those above the old one (and not above Emma) do not
  t.eq(content_of(as("daniel"), id).self_answers.q1, SECRET, "Daniel is above Emma too")
  local audit = db.row("SELECT * FROM audit_log WHERE action = 'review.manager' ORDER BY id DESC LIMIT 1")
  t.eq(audit.actor_id, P.lena.id)
  t.contains(audit.details, '"to":' .. P.emma.id)
end)

t.test("with the setting on, an HR Assistant cannot make herself anyone's manager", function()
  sign_in()
  t.status(priya:put("/api/settings/users", { assistant_can_change_manager = true }), 200)
  local res = t.status(lena:patch("/api/users/" .. P.zoe.id, { manager_id = P.lena.id }), 403)
  t.contains(res.json.error.message, "below yourself")
  t.eq(db.value("SELECT manager_id FROM users WHERE id = ?", P.zoe.id), P.lucas.id)
end)

t.test("with the setting on, an HR Assistant cannot put anyone under a person below her", function()
  sign_in()
  t.status(hr:patch("/api/users/" .. P.amara.id, { manager_id = P.lena.id }), 200, "an HR Admin may")
  t.status(lena:patch("/api/users/" .. P.zoe.id, { manager_id = P.amara.id }), 403)
  t.eq(db.value("SELECT manager_id FROM users WHERE id = ?", P.zoe.id), P.lucas.id)
  t.status(hr:patch("/api/users/" .. P.amara.id, { manager_id = P.marcus.id }), 200)
end)

t.test("with the setting on, an HR Assistant moves people between other managers (logged)", function()
  sign_in()
  t.status(lena:patch("/api/users/" .. P.zoe.id, { manager_id = P.emma.id }), 200)
  local a = db.row("SELECT * FROM audit_log WHERE action = 'user.manager' ORDER BY id DESC LIMIT 1")
  t.eq(a.actor_id, P.lena.id)
  t.eq(a.target_id, P.zoe.id)
  -- and the new manager does not gain the running review: it stays with Lucas
  local zoe_review = review[P.zoe.id]
  local zoe = as("zoe")
  t.status(zoe:put("/api/reviews/" .. zoe_review .. "/answers/self", { q1 = "Zoe's own words", q6 = "Ship" }), 200)
  t.status(zoe:post("/api/reviews/" .. zoe_review .. "/submit"), 200)
  local _, status = content_of(as("emma"), zoe_review)
  t.eq(status, 404, "Emma manages Zoe now but is not part of the running review")
  t.eq(content_of(as("lucas"), zoe_review).self_answers.q1, "Zoe's own words", "Lucas still writes it")
  t.status(priya:put("/api/settings/users", { assistant_can_change_manager = false }), 200)
end)

t.test("managers above are those above the writer when the review's manager was fixed", function()
  sign_in()
  local id = review[P.lucas.id]
  -- Ravi (Lucas's writer) moves under Grace mid-cycle
  t.status(hr:patch("/api/users/" .. P.ravi.id, { manager_id = P.grace.id }), 200)
  local _, status = content_of(as("grace"), id)
  t.eq(status, 404, "Grace is above Lucas today, not when the cycle started")
  t.eq(content_of(as("daniel"), id).self_answers.q1, LUCAS_SECRET, "Daniel was above the writer at the start")
  t.eq(content_of(as("ravi"), id).self_answers.q1, LUCAS_SECRET, "the writer keeps reading it")
  t.status(hr:patch("/api/users/" .. P.ravi.id, { manager_id = P.daniel.id }), 200)
end)

t.test("an HR Admin who changes the writer after a reorganisation gives the new writer the review", function()
  sign_in()
  local id = review[P.zoe.id]
  t.status(hr:patch("/api/reviews/" .. id, { manager_id = P.emma.id }), 200)
  t.eq(content_of(as("emma"), id).self_answers.q1, "Zoe's own words")
  local _, status = content_of(as("lucas"), id)
  t.eq(status, 404, "Lucas handed it over")
  t.eq(content_of(hr, id).self_answers.q1, "Zoe's own words", "HR Admins read it by their role")
end)

t.test("an HR Admin who is today's manager but not the writer reads by the role, as any HR Admin", function()
  sign_in()
  -- Marcus becomes Lucas's manager; Lucas's review stays with Ravi
  t.status(priya:patch("/api/users/" .. P.lucas.id, { manager_id = P.marcus.id }), 200)
  t.eq(content_of(hr, review[P.lucas.id]).self_answers.q1, LUCAS_SECRET)
  t.status(hr:put("/api/reviews/" .. review[P.lucas.id] .. "/answers/manager", { q1 = "x" }), 403,
    "but he does not write it")
  t.status(priya:patch("/api/users/" .. P.lucas.id, { manager_id = P.ravi.id }), 200)
end)
