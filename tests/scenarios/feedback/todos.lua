-- The home page's 360 to-dos for every step (nominate, approve, write, read) and when they go
-- away; the manager's team page and nudges; a guest's requests over two years; guests and
-- licences.
local t = require "testing"
local demo = require "demo"
local db = require "lib.db"

local P = t.demo()
local function login(key) return t.login(demo.email(key)) end
local GUEST = "alex.morgan@clientcorp.example"
local cycle, sid = nil, {}

local function todos(client)
  local body = client:get("/home").body
  local section = body:match("Your to%-dos(.-)</section>") or ""
  local out = {}
  for label in section:gmatch('<li><a href="[^"]+">([^<]+)</a>') do out[#out + 1] = label:gsub("&#39;", "'") end
  return out, body
end

local function has_todo(client, text)
  for _, l in ipairs((todos(client))) do if l:find(text, 1, true) then return true end end
  return false
end

t.test("when the cycle starts, each reviewee has a to-do to choose reviewers and to write about themselves", function()
  local hr = login("marcus")
  cycle = t.status(hr:post("/api/feedback/cycles", { name = "Finance 360", start_date = "2026-01-05",
    nominate_due = "2026-01-09", approve_due = "2026-01-12", write_due = "2026-01-23", release_date = "2026-01-30",
    rules = { min = 1, max = 3, suggested = 2 } }), 201).json
  t.status(hr:post("/api/feedback/cycles/" .. cycle.id .. "/reviewees", { user_ids = { P.victor.id, P.sara.id } }), 200)
  t.no(has_todo(login("victor"), "Finance 360"), "nothing before the start")
  t.status(hr:post("/api/feedback/cycles/" .. cycle.id .. "/start"), 200)
  for _, key in ipairs({ "victor", "sara" }) do
    sid[key] = db.value("SELECT id FROM feedback_subjects WHERE cycle_id = ? AND reviewee_id = ?", cycle.id, P[key].id)
  end
  t.ok(has_todo(login("victor"), "Choose who gives you feedback (Finance 360)"))
  t.ok(has_todo(login("victor"), "Write your self-feedback (Finance 360)"))
  t.ok(has_todo(login("rachel"), "Write feedback about Victor Dubois"), "the manager's own feedback")
end)

t.test("once Victor hands in his list, the choosing to-do goes and Rachel is asked to approve", function()
  local victor = login("victor")
  t.status(victor:post("/api/feedback/360/" .. sid.victor .. "/nominations", { reviewer_id = P.sara.id }), 201)
  t.status(victor:post("/api/feedback/360/" .. sid.victor .. "/nominations", { reviewer_id = P[GUEST].id }), 201,
    "an existing guest, picked under the default policy")
  t.status(victor:post("/api/feedback/360/" .. sid.victor .. "/submit"), 200)
  t.no(has_todo(victor, "Choose who gives you feedback"))
  t.ok(has_todo(login("rachel"), "Approve the reviewers of 1 report (Finance 360)"))
end)

t.test("Rachel's team page says where each report is in the 360 (counts only), in one query", function()
  local rachel = login("rachel")
  local page = t.status(rachel:get("/team"), 200).body
  t.contains(page, "360 feedback")
  t.contains(page, "Reviewers to approve", "Victor handed his list in")
  t.contains(page, "Choosing reviewers", "Sara has chosen nobody")
  t.contains(page, '/feedback/cycles/' .. cycle.id .. '/team')
  local feedback = require "services.feedback"
  local n = t.count_queries(function() feedback.team_column({ P.victor.id, P.sara.id, P.zoe.id }) end)
  t.eq(n, 1)
end)

t.test("the approvals page: Rachel nudges Sara, who chose nobody, and approves Victor's list", function()
  local rachel = login("rachel")
  local page = rachel:get("/feedback/cycles/" .. cycle.id .. "/approvals")
  t.status(page, 200)
  t.contains(page.body, "Sara Lindqvist")
  t.contains(page.body, "has chosen nobody yet")
  t.status(rachel:form("/feedback/360/" .. sid.sara .. "/nudge", { back = "approvals", cycle_id = tostring(cycle.id) }), 303)
  t.eq(#t.outbox({ template = "feedback_360.nudge", to = demo.email("sara") }), 1)
  t.status(rachel:post("/api/feedback/360/" .. sid.sara .. "/nudge"), 429, "once a day")
  t.status(login("victor"):post("/api/feedback/360/" .. sid.sara .. "/nudge"), 403, "a peer does not nudge")
  t.status(login("henrik"):post("/api/feedback/360/" .. sid.sara .. "/nudge"), 429, "her manager's manager may, but today's is out")
  local res = rachel:form("/feedback/cycles/" .. cycle.id .. "/approvals", { ["subject_ids[]"] = tostring(sid.victor) })
  t.status(res, 303)
  t.no(has_todo(rachel, "Approve the reviewers"))
end)

t.test("reviewers get a to-do to write once approved (the guest too), which goes when they share", function()
  t.ok(has_todo(login("sara"), "Write feedback about Victor Dubois (Finance 360)"))
  local guest = t.login(GUEST)
  t.ok(has_todo(guest, "Write feedback about Victor Dubois"))
  local rq = db.value("SELECT id FROM feedback_nominations WHERE subject_id = ? AND reviewer_id = ?", sid.victor, P[GUEST].id)
  t.status(guest:put("/api/feedback/requests/" .. rq .. "/answers", { q1 = "Victor answers fast." }), 200)
  t.status(guest:post("/api/feedback/requests/" .. rq .. "/share"), 200)
  t.no(has_todo(t.login(GUEST), "Write feedback about Victor Dubois"))
end)

t.test("the manager's team page per cycle: direct and indirect reports, counts, and HR sees every one", function()
  local team = t.status(login("henrik"):get("/api/feedback/cycles/" .. cycle.id .. "/team"), 200).json
  local names = {}
  for _, r in ipairs(team.reviewees) do names[r.name] = r end
  t.ok(names["Victor Dubois"] and names["Sara Lindqvist"], "both, through Rachel")
  t.eq(names["Victor Dubois"].direct, false)
  t.eq(names["Victor Dubois"].approved, 2)
  t.eq(names["Victor Dubois"].written, 1)
  t.status(login("henrik"):get("/feedback/cycles/" .. cycle.id .. "/team"), 200)
  t.status(login("daniel"):get("/feedback/cycles/" .. cycle.id .. "/team"), 404, "none of Daniel's reports is in it")
end)

t.test("on the release date, the reviewee and the manager get a to-do to read, which goes once they have", function()
  t.advance_to("2026-01-30T10:00:00Z")
  local victor = login("victor")
  t.ok(has_todo(victor, "Read your 360 feedback (Finance 360)"))
  t.status(victor:get("/feedback/360/" .. sid.victor), 200)
  t.no(has_todo(victor, "Read your 360 feedback"))
  local rachel = login("rachel")
  t.ok(has_todo(rachel, "Read the feedback about Victor Dubois"))
  t.status(rachel:get("/feedback/360/" .. sid.victor), 200)
  t.no(has_todo(rachel, "Read the feedback about Victor Dubois"))
end)

t.test("closing the cycle ends the writing to-dos", function()
  t.ok(has_todo(login("victor"), "Write your self-feedback"))
  t.status(login("marcus"):post("/api/feedback/cycles/" .. cycle.id .. "/transitions", { to = "closed" }), 200)
  t.no(has_todo(login("victor"), "Write your self-feedback"))
  local left = {}
  for _, l in ipairs((todos(login("sara")))) do if l:find("Finance 360", 1, true) then left[#left + 1] = l end end
  t.same(left, {}, "Sara's")
end)

t.test("a guest sees what they wrote, last year's cycle too, and nothing to write in a closed one", function()
  local hr = login("marcus")
  local next_year = t.status(hr:post("/api/feedback/cycles", { name = "Finance 360 (next year)",
    start_date = "2027-01-04", rules = { min = 0, max = 3, suggested = 1 } }), 201).json
  t.status(hr:post("/api/feedback/cycles/" .. next_year.id .. "/reviewees", { user_ids = { P.sara.id } }), 200)
  t.status(hr:post("/api/feedback/cycles/" .. next_year.id .. "/start"), 200)
  local s = db.value("SELECT id FROM feedback_subjects WHERE cycle_id = ?", next_year.id)
  t.status(hr:post("/api/feedback/360/" .. s .. "/nominations", { reviewer_id = P[GUEST].id }), 201)
  t.status(hr:post("/api/feedback/approvals", { subject_ids = { s } }), 200)
  local guest = t.login(GUEST)
  local list = guest:get("/api/feedback/requests").json.requests
  local cycles = {}
  for _, r in ipairs(list) do cycles[r.cycle_name] = r end
  t.ok(cycles["Finance 360 (next year)"], "this year's request")
  t.eq(cycles["Finance 360"].feedback_status, "shared", "last year's, as written")
  t.eq(cycles["Finance 360"].cycle_closed, true)
  local old = t.status(guest:get("/feedback/requests/" .. cycles["Finance 360"].id), 200)
  t.contains(old.body, "Victor answers fast.")
  t.not_contains(old.body, "Save draft", "read only")
  local home = guest:get("/home").body
  t.contains(home, "Feedback you were asked for")
  t.contains(home, "Finance 360 (next year)")
end)

t.test("guests cost no licence, cannot be reviewed and have no 360 pages of their own", function()
  local people = require "services.people"
  local before = people.licensed_count()
  t.status(login("marcus"):post("/api/users", { kind = "guest", name = "Another Guest", email = "another@partner.example" }), 201)
  t.eq(people.licensed_count(), before)
  local hr = login("marcus")
  local draft = t.status(hr:post("/api/feedback/cycles", { name = "Guests?", start_date = "2027-02-01" }), 201).json
  t.eq(hr:post("/api/feedback/cycles/" .. draft.id .. "/reviewees", { user_ids = { P[GUEST].id } }).json.added, 0)
  t.status(t.login(GUEST):get("/feedback"), 403)
end)
