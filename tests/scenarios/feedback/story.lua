-- A whole 360 feedback cycle on the demo company, on the virtual clock (it starts Monday
-- 2026-01-05 09:00 UTC): five reviewees in Sales; nominations with a guest invited on the fly;
-- the manager approves; invitations batched per hour; a decline and a replacement; writing and
-- sharing; release on a date; who reads what; the guest's view of Candor.
local t = require "testing"
local demo = require "demo"
local db = require "lib.db"

local P = t.demo()
local function login(key) return t.login(demo.email(key)) end
local GUEST = "pat.client@acme.example"

local cycle, subject = nil, {}
local function mails(template, to) return #t.outbox({ template = template, to = to }) end
local function sid(key) return subject[key] end

t.test("HR creates a 360 cycle with dates, rules and an anonymous visibility, and picks five reviewees", function()
  local hr = login("marcus")
  local res = hr:post("/api/feedback/cycles", { name = "Sales 360, spring 2026", intro = "Honest, kind, specific.",
    start_date = "2026-01-05", nominate_due = "2026-01-09", approve_due = "2026-01-13", write_due = "2026-01-30",
    release_date = "2026-02-06",
    rules = { nominator = "reviewee", min = 2, max = 5, suggested = 3, self_feedback = true, manager_feedback = true,
      decline_tells_reviewee = true },
    visibility = { reviewee_reads = true, direct_manager_reads = true, indirect_managers_read = false,
      manager_release = "on_share", anonymous = true, threshold = { peer = 3, report = 2, guest = 2 } } })
  t.status(res, 201)
  cycle = res.json
  t.eq(cycle.phase, "draft")
  t.eq(cycle.rules.min, 2)
  t.eq(cycle.visibility.threshold.peer, 3)
  local add = hr:post("/api/feedback/cycles/" .. cycle.id .. "/reviewees",
    { user_ids = { P.tyler.id, P.nina.id, P.freya.id, P.luca.id, P.maya.id, P["alex.morgan@clientcorp.example"].id } })
  t.status(add, 200)
  t.eq(add.json.added, 5, "guests cannot be reviewed")
  t.eq(#t.outbox({ template = "feedback_360.nominate" }), 0, "nothing is sent before the start")
end)

t.test("starting fixes each reviewee's manager, adds self and manager feedback, and asks reviewees to nominate", function()
  t.status(login("marcus"):post("/api/feedback/cycles/" .. cycle.id .. "/start"), 200)
  t.run_jobs() -- the nomination mails are queued right after the start commits
  for _, s in ipairs(db.query("SELECT s.*, u.email FROM feedback_subjects s JOIN users u ON u.id = s.reviewee_id WHERE cycle_id = ?",
      cycle.id)) do
    subject[s.email:match("^(%a+)")] = s.id
    if s.email == demo.email("tyler") then t.eq(s.manager_id, P.james.id) end
    if s.email == demo.email("maya") then t.eq(s.manager_id, P.luca.id) end
  end
  t.eq(db.value("SELECT count(*) FROM feedback_nominations WHERE cycle_id = ? AND relationship = 'self'", cycle.id), 5)
  t.eq(db.value("SELECT count(*) FROM feedback_nominations WHERE cycle_id = ? AND relationship = 'manager'", cycle.id), 5)
  t.eq(#t.outbox({ template = "feedback_360.nominate" }), 5)
  t.eq(mails("feedback_360.nominate", demo.email("tyler")), 1)
end)

t.test("Tyler finds colleagues by name; an outside address is refused under the 'Only HR' guest policy", function()
  local tyler = login("tyler")
  local res = tyler:get("/api/feedback/360/" .. sid("tyler") .. "/candidates?q=nin")
  t.status(res, 200)
  t.eq(res.json.people[1].name, "Nina Patel")
  local out = tyler:get("/api/feedback/360/" .. sid("tyler") .. "/candidates?q=" .. GUEST)
  t.eq(out.json.invite, require("lib.json").null)
  t.contains(out.json.invite_refused, "Only HR Admins")
  t.status(tyler:post("/api/feedback/360/" .. sid("tyler") .. "/nominations", { email = GUEST, name = "Pat Client" }), 403)
  t.eq(db.value("SELECT count(*) FROM users WHERE email = ?", GUEST), 0, "no account was made")
end)

t.test("with 'Everyone', Tyler invites a guest on the fly: the account exists at once and no mail goes out", function()
  t.status(login("priya"):put("/api/settings/users", { guest_policy = "everyone" }), 200)
  local tyler = login("tyler")
  local out = tyler:get("/api/feedback/360/" .. sid("tyler") .. "/candidates?q=" .. GUEST)
  t.eq(out.json.invite.email, GUEST)
  local res = tyler:post("/api/feedback/360/" .. sid("tyler") .. "/nominations", { email = GUEST, name = "Pat Client" })
  t.status(res, 201)
  t.eq(res.json.relationship, "guest")
  t.eq(res.json.status, "proposed")
  local g = db.row("SELECT * FROM users WHERE email = ?", GUEST)
  t.eq(g.kind, "guest")
  t.eq(g.status, "invited")
  t.eq(#t.outbox({ to = GUEST }), 0, "the guest hears nothing before the manager approves")
  t.status(tyler:post("/api/feedback/360/" .. sid("tyler") .. "/nominations", { email = "x@" .. demo.DOMAIN }), 422,
    "a company address is not a guest")
end)

t.test("others pick the new guest by the first letters of the email", function()
  local nina = login("nina")
  local res = nina:get("/api/feedback/360/" .. sid("nina") .. "/candidates?q=pat.cl")
  t.status(res, 200)
  t.eq(res.json.people[1].email, GUEST)
  t.eq(res.json.people[1].kind, "guest")
  t.eq(#nina:get("/api/feedback/360/" .. sid("nina") .. "/candidates?q=Client").json.people, 0,
    "guests are found by their email, not their name")
end)

t.test("Tyler nominates colleagues and hands the list to James; only at the minimum", function()
  local tyler = login("tyler")
  local n = tyler:post("/api/feedback/360/" .. sid("tyler") .. "/submit")
  t.status(n, 422, "one reviewer is below the minimum of two")
  for _, key in ipairs({ "nina", "freya", "carlos" }) do
    t.status(tyler:post("/api/feedback/360/" .. sid("tyler") .. "/nominations", { reviewer_id = P[key].id }), 201)
  end
  t.status(tyler:post("/api/feedback/360/" .. sid("tyler") .. "/nominations", { reviewer_id = P.nina.id }), 409, "once")
  t.status(tyler:post("/api/feedback/360/" .. sid("tyler") .. "/nominations", { reviewer_id = P.tyler.id }), 422)
  t.status(tyler:post("/api/feedback/360/" .. sid("tyler") .. "/submit"), 200)
  t.eq(mails("feedback_360.approve", demo.email("james")), 1)
  local rel = {}
  for _, r in ipairs(db.query("SELECT reviewer_id, relationship FROM feedback_nominations WHERE subject_id = ?", sid("tyler"))) do
    rel[r.reviewer_id] = r.relationship
  end
  t.eq(rel[P.carlos.id], "report", "Carlos reports to Tyler")
  t.eq(rel[P.nina.id], "peer")
  t.eq(rel[P.james.id], "manager")
end)

t.test("nobody else changes Tyler's list: a peer, an HR Assistant after approval", function()
  t.status(login("nina"):post("/api/feedback/360/" .. sid("tyler") .. "/nominations", { reviewer_id = P.kai.id }), 403)
  t.status(login("nina"):get("/api/feedback/360/" .. sid("tyler")), 404, "a peer has no business with Tyler's 360")
end)

t.test("James approves: proposals become approved, nobody is mailed yet; the invitations come within the hour", function()
  local james = login("james")
  local res = james:post("/api/feedback/approvals", { subject_ids = { sid("tyler") } })
  t.status(res, 200)
  t.eq(res.json.approved, 4)
  t.eq(#t.outbox({ template = "feedback_360.invite" }), 0, "batched")
  t.status(login("lena"):post("/api/feedback/360/" .. sid("tyler") .. "/nominations", { reviewer_id = P.kai.id }), 403,
    "after approval an HR Assistant does not change the list")
  t.status(login("tyler"):post("/api/feedback/360/" .. sid("tyler") .. "/nominations", { reviewer_id = P.kai.id }), 403,
    "nor the reviewee")
end)

t.test("Nina's list is approved half an hour later; Freya, asked by both, gets one invitation for both", function()
  t.advance("30m")
  local nina = login("nina")
  for _, key in ipairs({ "tyler", "freya" }) do
    t.status(nina:post("/api/feedback/360/" .. sid("nina") .. "/nominations", { reviewer_id = P[key].id }), 201)
  end
  t.status(nina:post("/api/feedback/360/" .. sid("nina") .. "/nominations", { reviewer_id = P["alex.morgan@clientcorp.example"].id }), 201)
  t.status(nina:post("/api/feedback/360/" .. sid("nina") .. "/nominations", { email = GUEST }), 201, "the guest, picked again")
  t.status(nina:post("/api/feedback/360/" .. sid("nina") .. "/submit"), 200)
  t.status(login("james"):post("/api/feedback/approvals", { subject_ids = { sid("nina") } }), 200)
  t.advance("29m")
  t.eq(#t.outbox({ template = "feedback_360.invite" }), 0, "still within Tyler's hour")
  t.advance("2m")
  local freya = t.outbox({ template = "feedback_360.invite", to = demo.email("freya") })
  t.eq(#freya, 1, "one mail for Tyler and Nina")
  t.contains(freya[1].body_text, "Tyler Reed")
  t.contains(freya[1].body_text, "Nina Patel")
  t.eq(mails("feedback_360.invite", demo.email("carlos")), 1)
  local pat = t.outbox({ template = "feedback_360.invite", to = GUEST })
  t.eq(#pat, 1, "Pat too: one mail for both")
  t.contains(pat[1].body_text, "Tyler Reed, Nina Patel")
  t.advance("2h")
  t.eq(mails("feedback_360.invite", demo.email("freya")), 1, "nothing more for Freya")
  t.eq(mails("feedback_360.invite", GUEST), 1)
end)

t.test("the guest's invitation says how to choose a password; colleagues' do not", function()
  local g = t.outbox({ template = "feedback_360.invite", to = GUEST })[1]
  t.contains(g.body_text, "/password/set?token=")
  t.contains(g.body_text, "Honest, kind, specific.", "the cycle's introduction")
  t.not_contains(t.outbox({ template = "feedback_360.invite", to = demo.email("nina") })[1].body_text, "/password/set")
end)

local GUEST_PW = "a long guest passphrase"
local guest -- Pat, signed in (again after the clock moved)

t.test("the guest chooses a password from the link and signs in", function()
  local body = t.outbox({ template = "feedback_360.invite", to = GUEST })[1].body_text
  local token = body:match("/password/set%?token=([%w%-_]+)")
  t.ok(token, "a link in the mail")
  local res = t.client():post("/api/password/set", { token = token, password = "a long guest passphrase" })
  t.status(res, 204)
  guest = t.login(GUEST, GUEST_PW)
  t.eq(guest.user.kind, "guest")
end)

t.test("the guest sees their two requests and nothing else of the company", function()
  local mine = guest:get("/api/feedback/requests")
  t.status(mine, 200)
  t.eq(#mine.json.requests, 2)
  local home = guest:get("/home")
  t.status(home, 200)
  t.contains(home.body, "Write feedback about Tyler Reed")
  t.contains(home.body, "Write feedback about Nina Patel")
  t.not_contains(home.body, 'href="/people"')
  t.not_contains(home.body, 'href="/feedback"')
  for _, path in ipairs({ "/people", "/org", "/api/users", "/feedback", "/feedback/360/" .. sid("tyler"),
    "/api/feedback/360/" .. sid("tyler"), "/people/" .. P.tyler.id, "/team", "/cycles", "/feedback/cycles" }) do
    local r = guest:get(path)
    t.ok(r.status == 403 or r.status == 404, path .. " answered " .. r.status)
  end
  local other = db.value("SELECT id FROM feedback_nominations WHERE reviewer_id = ? LIMIT 1", P.freya.id)
  t.status(guest:get("/api/feedback/requests/" .. other), 404, "another reviewer's request")
  t.status(guest:get("/feedback/requests/" .. other), 404)
end)

t.test("Carlos declines with a reason; Tyler is told and may pick someone else, whom James approves", function()
  local carlos = login("carlos")
  local rq = db.value("SELECT id FROM feedback_nominations WHERE subject_id = ? AND reviewer_id = ?", sid("tyler"), P.carlos.id)
  t.status(carlos:post("/api/feedback/requests/" .. rq .. "/decline", { reason = "" }), 422)
  t.status(carlos:post("/api/feedback/requests/" .. rq .. "/decline", { reason = "I joined his team last week." }), 200)
  t.eq(mails("feedback_360.declined", demo.email("tyler")), 1)
  local enc = db.value("SELECT decline_reason_enc FROM feedback_nominations WHERE id = ?", rq)
  t.no(enc:find("joined", 1, true), "the reason is encrypted")
  local tyler = login("tyler")
  local view = tyler:get("/api/feedback/360/" .. sid("tyler")).json
  local reason
  for _, r in ipairs(view.requests) do if r.status == "declined" then reason = r.decline_reason end end
  t.eq(reason, "I joined his team last week.", "Tyler sees why")
  t.status(tyler:post("/api/feedback/360/" .. sid("tyler") .. "/nominations", { reviewer_id = P.zoe.id }), 201,
    "a replacement")
  t.status(tyler:post("/api/feedback/360/" .. sid("tyler") .. "/nominations", { reviewer_id = P.kai.id }), 403,
    "one replacement per decline")
  t.status(login("james"):post("/api/feedback/approvals", { subject_ids = { sid("tyler") } }), 200)
  t.advance("61m")
  t.eq(mails("feedback_360.invite", demo.email("zoe")), 1)
end)

-- the request of reviewer `key` about reviewee `about`
local function rq(key, about)
  local reviewer = key == "guest" and db.value("SELECT id FROM users WHERE email = ?", GUEST) or P[key].id
  return db.value("SELECT id FROM feedback_nominations WHERE subject_id = ? AND reviewer_id = ?", sid(about), reviewer)
end
local SECRET = "Tyler's canary: the kettle whistles in B flat."

local function write(client, id, answers)
  t.status(client:put("/api/feedback/requests/" .. id .. "/answers", answers), 200)
  t.status(client:post("/api/feedback/requests/" .. id .. "/share"), 200)
end

t.test("reviewers write with autosave, skip what they like and share; a shared answer is final once released", function()
  local nina = login("nina")
  local id = rq("nina", "tyler")
  local res = nina:put("/api/feedback/requests/" .. id .. "/answers", { q1 = SECRET })
  t.status(res, 200)
  t.eq(res.json.feedback_status, "draft")
  t.status(nina:put("/api/feedback/requests/" .. id .. "/answers", { q9 = "no such question" }), 422)
  t.status(nina:post("/api/feedback/requests/" .. id .. "/share"), 200, "q2 skipped")
  t.status(nina:put("/api/feedback/requests/" .. id .. "/answers", { q1 = "changed" }), 409,
    "managers read as each reviewer shares: released at once, so final")
  write(login("freya"), rq("freya", "tyler"), { q1 = "Prepares every customer call.\n\nFollows up the same day.",
    q2 = "Delegate more." })
  write(login("zoe"), rq("zoe", "tyler"), { q1 = "Explains the product well to engineers." })
  write(t.login(GUEST, GUEST_PW), rq("guest", "tyler"), { q1 = "Tyler always answers within a day.", q2 = "More written summaries." })
  write(login("tyler"), rq("tyler", "tyler"), { q1 = "I listen to customers.", q2 = "I should write things down." })
  write(login("james"), rq("james", "tyler"), { q1 = "Reliable and calm under pressure.", q2 = "Mentor Carlos." })
  t.eq(db.value("SELECT count(*) FROM feedback_nominations WHERE subject_id = ? AND feedback_status = 'shared'", sid("tyler")), 6)
end)

t.test("feedback text is encrypted at rest", function()
  for _, row in ipairs(db.query("SELECT value_enc FROM feedback_answers")) do
    t.no(row.value_enc:find("kettle", 1, true), "plain text in feedback_answers")
  end
end)

-- the answers a reader sees, per group key
local function groups_of(client, about)
  local res = client:get("/api/feedback/360/" .. sid(about))
  if res.status ~= 200 then return nil, res.status end
  local out = {}
  for _, g in ipairs(res.json.groups) do out[g.key] = g end
  return out, res.status, res.json
end

t.test("James reads Tyler's feedback as it is shared: peers without names, the lone guest held back, his own by name", function()
  local g = groups_of(login("james"), "tyler")
  t.eq(g.peer.count, 3)
  t.eq(g.peer.authors, nil, "anonymous: no names")
  local texts = {}
  for _, a in ipairs(g.peer.questions[1].answers) do
    t.eq(a.by, nil)
    texts[#texts + 1] = a.text
  end
  t.contains(table.concat(texts, "|"), SECRET)
  t.ok(g.guest.hidden, "one guest is fewer than the threshold of 2")
  t.eq(g.guest.questions, nil)
  t.contains(g.guest.reason, "Fewer than 2 guests")
  t.eq(g.manager.questions[1].answers[1].by, "James O'Connor", "manager feedback is never anonymous")
  t.eq(g.self.questions[1].answers[1].text, "I listen to customers.")
  local raw = login("james"):get("/api/feedback/360/" .. sid("tyler")).body
  t.not_contains(raw, "within a day", "nothing of the hidden group leaks")
end)

t.test("before the release date Tyler reads nothing, and his manager's manager never does in this cycle", function()
  local g, status = groups_of(login("tyler"), "tyler")
  t.eq(status, 200, "he sees his 360 and who was asked")
  t.eq(next(g), nil, "but no feedback yet")
  local _, s2 = groups_of(login("sofia"), "tyler")
  t.eq(s2, 404, "managers higher up do not read in this cycle")
end)

t.test("an HR Admin reads under the same anonymity; an HR Assistant sees statuses but no content", function()
  local g = groups_of(login("marcus"), "tyler")
  t.eq(g.peer.authors, nil, "the author is hidden from HR Admins too")
  t.ok(g.guest.hidden)
  local ga, status, json = groups_of(login("lena"), "tyler")
  t.eq(status, 200)
  t.eq(next(ga), nil, "no content for HR Assistants")
  t.ok(#json.requests >= 5, "the statuses of the requests")
end)

t.test("Nina's two peers are held back (threshold 3), her two guests are shown", function()
  write(login("tyler"), rq("tyler", "nina"), { q1 = "Nina closes deals." })
  write(login("freya"), rq("freya", "nina"), { q1 = "Nina helps everyone." })
  write(t.login(GUEST, GUEST_PW), rq("guest", "nina"), { q1 = "Nina knows our business." })
  write(t.login("alex.morgan@clientcorp.example"), db.value([[SELECT id FROM feedback_nominations WHERE subject_id = ?
    AND reviewer_id = ?]], sid("nina"), P["alex.morgan@clientcorp.example"].id), { q1 = "Always prepared." })
  local g = groups_of(login("james"), "nina")
  t.ok(g.peer.hidden, "a group of 2 peers is below 3")
  t.contains(g.peer.reason, "Fewer than 3 peers")
  t.eq(g.guest.count, 2)
  t.eq(#g.guest.questions[1].answers, 2)
end)

t.test("on the release date reviewees read their feedback and are told", function()
  t.advance_to("2026-02-06T10:00:00Z")
  t.eq(mails("feedback_360.released", demo.email("tyler")), 1)
  t.eq(mails("feedback_360.released", demo.email("maya")), 0, "nothing was written for Maya")
  local g = groups_of(login("tyler"), "tyler")
  t.eq(g.peer.count, 3)
  t.eq(g.peer.questions[1].answers[1].by, nil)
end)

t.test("after release only HR reopens feedback, with a reason that is logged; the reviewer then edits and shares again", function()
  local id = rq("nina", "tyler")
  t.status(login("nina"):put("/api/feedback/requests/" .. id .. "/answers", { q1 = "edit" }), 409)
  t.status(login("james"):post("/api/feedback/requests/" .. id .. "/reopen", { reason = "Please fix the name" }), 403,
    "not the manager")
  t.status(login("lena"):post("/api/feedback/requests/" .. id .. "/reopen", { reason = "Please fix the name" }), 403,
    "not an HR Assistant")
  t.status(login("marcus"):post("/api/feedback/requests/" .. id .. "/reopen", { reason = "" }), 422)
  t.status(login("marcus"):post("/api/feedback/requests/" .. id .. "/reopen", { reason = "A colleague was named by mistake" }), 200)
  t.eq(db.value("SELECT count(*) FROM audit_log WHERE action = 'feedback.reopen'"), 1)
  write(login("nina"), id, { q1 = "Tyler is the best listener on the team." })
end)

t.test("guests only ever get mail as reviewers", function()
  for _, m in ipairs(t.outbox({ to = GUEST })) do
    t.ok(m.template == "feedback_360.invite" or m.template == "feedback_360.write_reminder", m.template)
  end
end)
