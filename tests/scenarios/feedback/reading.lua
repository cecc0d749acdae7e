-- Who reads 360 feedback, and how: the cycle's readers and releases, anonymity with its
-- thresholds and shuffling, hidden reviewer lists, and the limitations of seed 003 (a cycle's
-- visibility supersedes the HR Admin role; nobody reads feedback about someone above them).
local t = require "testing"
local demo = require "demo"
local db = require "lib.db"
local json = require "lib.json"

local P = t.demo()
local function login(key) return t.login(demo.email(key)) end
local n = 0

-- Makes, starts and fills a cycle as the super user: reviewee key -> list of reviewer keys
-- (all approved by an HR Admin). Returns the cycle id and subject ids by reviewee key.
local function cycle_with(opts, lists)
  n = n + 1
  local hr = login("priya")
  local body = { name = "Reading " .. n, start_date = "2026-01-05", write_due = "2026-01-20",
    release_date = opts.release_date or "2026-03-01", manager_release_date = opts.manager_release_date,
    rules = { nominator = "reviewee", min = 0, max = 10, suggested = 2, self_feedback = opts.self_feedback ~= false,
      manager_feedback = opts.manager_feedback ~= false },
    visibility = opts.visibility }
  local c = t.status(hr:post("/api/feedback/cycles", body), 201).json
  local ids = {}
  for key in pairs(lists) do ids[#ids + 1] = P[key].id end
  t.status(hr:post("/api/feedback/cycles/" .. c.id .. "/reviewees", { user_ids = ids }), 200)
  t.status(hr:post("/api/feedback/cycles/" .. c.id .. "/start"), 200)
  local sid = {}
  for key, reviewers in pairs(lists) do
    sid[key] = db.value("SELECT id FROM feedback_subjects WHERE cycle_id = ? AND reviewee_id = ?", c.id, P[key].id)
    for _, r in ipairs(reviewers) do
      t.status(hr:post("/api/feedback/360/" .. sid[key] .. "/nominations", { reviewer_id = P[r].id }), 201)
    end
    -- nobody approves their own reviewers: the super user's are approved by her manager
    t.status((key == "priya" and login("olivia") or hr):post("/api/feedback/approvals", { subject_ids = { sid[key] } }), 200)
  end
  return c.id, sid
end

local function write(key, subject_id, answers)
  local id = db.value("SELECT id FROM feedback_nominations WHERE subject_id = ? AND reviewer_id = ?", subject_id, P[key].id)
  local c = login(key)
  t.status(c:put("/api/feedback/requests/" .. id .. "/answers", answers), 200)
  t.status(c:post("/api/feedback/requests/" .. id .. "/share"), 200)
  return id
end

-- The groups key -> group a reader gets, or nil and the status.
local function read(key, subject_id)
  local res = login(key):get("/api/feedback/360/" .. subject_id)
  if res.status ~= 200 then return nil, res.status end
  local out = {}
  for _, g in ipairs(res.json.groups) do out[g.key] = g end
  return out, 200, res.json
end

local function readable(key, subject_id)
  local g = read(key, subject_id)
  return g ~= nil and next(g) ~= nil
end

t.test("seed 003: when managers cannot read, an HR Admin does not read feedback about their own report", function()
  -- another HR Admin, outside Amara's line
  t.status(login("priya"):put("/api/users/" .. P.rachel.id .. "/roles", { roles = { "hr_admin" } }), 200)
  local _, sid = cycle_with({ visibility = { reviewee_reads = true, direct_manager_reads = false,
    indirect_managers_read = false } }, { amara = { "lena", "kai" } })
  write("lena", sid.amara, { q1 = "Amara finds great people." })
  t.no(readable("marcus", sid.amara), "Marcus is Amara's manager and an HR Admin: managers may not read")
  t.no(readable("priya", sid.amara), "nor the super user above him")
  t.ok(readable("rachel", sid.amara), "an HR Admin outside the line reads it")
  t.no(readable("lena", sid.amara), "an HR Assistant never reads content")
end)

t.test("seed 003: when only direct managers read, an HR Admin does not read feedback about themselves", function()
  local _, sid = cycle_with({ visibility = { reviewee_reads = false, direct_manager_reads = true,
    indirect_managers_read = false } }, { marcus = { "amara", "kai" } })
  write("amara", sid.marcus, { q1 = "Marcus listens." })
  t.no(readable("marcus", sid.marcus), "not about himself, HR Admin or not")
  t.ok(readable("priya", sid.marcus), "his direct manager reads it")
  t.no(readable("olivia", sid.marcus), "not managers higher up")
  t.ok(readable("rachel", sid.marcus), "HR Admins outside his line read it")
  t.status(login("priya"):post("/api/feedback/360/" .. sid.marcus .. "/release"), 409,
    "nothing to release to a reviewee who does not read")
end)

t.test("nobody reads feedback about someone above them, HR Admins included", function()
  local _, sid = cycle_with({ visibility = { reviewee_reads = true, direct_manager_reads = true,
    indirect_managers_read = true } }, { priya = { "daniel", "sofia" } })
  write("daniel", sid.priya, { q1 = "Priya runs a tight ship." })
  t.no(readable("marcus", sid.priya), "Marcus reports to Priya")
  t.ok(readable("olivia", sid.priya), "her manager reads it")
  t.ok(readable("rachel", sid.priya), "an HR Admin outside her line reads it")
  local res = login("marcus"):get("/api/feedback/360/" .. sid.priya .. "/pdf")
  t.eq(res.status, 403, "and no PDF of it either")
end)

t.test("readers ticked: managers higher up read only when the cycle says so", function()
  local _, sid = cycle_with({ visibility = { reviewee_reads = false, direct_manager_reads = true,
    indirect_managers_read = true } }, { zoe = { "ethan", "mia" } })
  write("ethan", sid.zoe, { q1 = "Zoe writes clean code." })
  t.ok(readable("lucas", sid.zoe), "direct manager")
  t.ok(readable("ravi", sid.zoe), "indirect manager")
  t.ok(readable("daniel", sid.zoe), "further up")
  t.no(readable("zoe", sid.zoe), "the reviewee does not read in this cycle")
  t.no(readable("mia", sid.zoe), "a reviewer reads only what they wrote")
end)

t.test("none ticked: only HR Admins read", function()
  local _, sid = cycle_with({ visibility = { reviewee_reads = false, direct_manager_reads = false,
    indirect_managers_read = false } }, { hana = { "leo", "jonas" } })
  write("leo", sid.hana, { q1 = "Hana ships." })
  for _, key in ipairs({ "hana", "isabel", "emma", "daniel", "lena" }) do t.no(readable(key, sid.hana), key) end
  t.ok(readable("marcus", sid.hana))
end)

t.test("release to managers on a date: before it only HR reads; afterwards the manager too, shared late or not", function()
  local _, sid = cycle_with({ manager_release_date = "2026-01-21", visibility = { reviewee_reads = true,
    direct_manager_reads = true, manager_release = "on_date" } }, { omar = { "mia", "lucas", "zoe" } })
  write("mia", sid.omar, { q1 = "Omar keeps the lights on." })
  t.no(readable("ravi", sid.omar), "not released to managers yet")
  t.ok(readable("marcus", sid.omar), "HR Admins read shared feedback")
  local id = db.value("SELECT id FROM feedback_nominations WHERE subject_id = ? AND reviewer_id = ?", sid.omar, P.mia.id)
  t.status(login("mia"):put("/api/feedback/requests/" .. id .. "/answers", { q1 = "Omar keeps the lights on, always." }), 200,
    "shared but not released: the reviewer may still change it")
  t.advance_to("2026-01-21T01:00:00Z")
  t.ok(readable("ravi", sid.omar), "released to managers")
  t.no(readable("omar", sid.omar), "not to the reviewee yet")
  t.status(login("mia"):put("/api/feedback/requests/" .. id .. "/answers", { q1 = "late" }), 409, "released: final")
  write("lucas", sid.omar, { q1 = "Shared after the date." })
  local g = read("ravi", sid.omar)
  t.eq(g.peer.count, 2, "feedback shared after the release date is readable at once")
end)

t.test("the manager releases early: the reviewee reads at once and is told", function()
  local _, sid = cycle_with({ visibility = { reviewee_reads = true, direct_manager_reads = true } },
    { julia = { "felix", "arjun" } })
  write("felix", sid.julia, { q1 = "Julia's designs are clear." })
  t.no(readable("julia", sid.julia))
  t.status(login("felix"):post("/api/feedback/360/" .. sid.julia .. "/release"), 403, "not a reviewer's to release")
  t.status(login("chloe"):post("/api/feedback/360/" .. sid.julia .. "/release"), 200)
  t.status(login("chloe"):post("/api/feedback/360/" .. sid.julia .. "/release"), 409, "once")
  t.ok(readable("julia", sid.julia))
  t.eq(#t.outbox({ template = "feedback_360.released", to = demo.email("julia") }), 1)
end)

t.test("not anonymous: every answer carries its author's name", function()
  local _, sid = cycle_with({ visibility = { anonymous = false, direct_manager_reads = true } },
    { victor = { "sara", "paul" } })
  write("sara", sid.victor, { q1 = "Victor double-checks everything." })
  local g = read("rachel", sid.victor)
  t.same(g.peer.authors, { "Sara Lindqvist" })
  t.eq(g.peer.questions[1].answers[1].by, "Sara Lindqvist")
end)

t.test("anonymous: a group of 2 peers under a threshold of 3 is shown to nobody, and the page says why", function()
  local _, sid = cycle_with({ visibility = { anonymous = true, direct_manager_reads = true,
    threshold = { peer = 3, report = 3, guest = 2 } } }, { ben = { "aisha", "kai", "nina" } })
  write("aisha", sid.ben, { q1 = "Ben's campaigns land.", q2 = "Fewer meetings." })
  write("kai", sid.ben, { q1 = "Ben gives clear briefs." })
  for _, key in ipairs({ "sofia", "marcus" }) do
    local g = read(key, sid.ben)
    t.ok(g.report.hidden, key .. ": Aisha and Kai report to Ben: two reports, under 3")
    t.not_contains(json.encode(g), "clear briefs")
  end
  local ids = {}
  for _, key in ipairs({ "nina", "tyler", "james" }) do
    t.status(login("priya"):post("/api/feedback/360/" .. sid.ben .. "/nominations", { reviewer_id = P[key].id }),
      key == "nina" and 409 or 201)
  end
  t.status(login("priya"):post("/api/feedback/approvals", { subject_ids = { sid.ben } }), 200)
  write("nina", sid.ben, { q1 = "Ben is fun to work with." })
  ids[#ids + 1] = write("tyler", sid.ben, { q1 = "Ben's launch plan saved us." })
  local g = read("sofia", sid.ben)
  t.ok(g.peer.hidden, "two peers")
  t.eq(g.peer.questions, nil)
  t.contains(g.peer.reason, "Fewer than 3 peers")
  local page = login("sofia"):get("/feedback/360/" .. sid.ben)
  t.status(page, 200)
  t.contains(page.body, "Fewer than 3 peers shared feedback")
  t.not_contains(page.body, "fun to work with")
  t.ok(g.report.hidden, "the reports stay held back")
  write("james", sid.ben, { q1 = "Ben is a good partner." })
  g = read("sofia", sid.ben)
  t.eq(g.peer.count, 3, "the third peer makes the group visible")
end)

t.test("split and shuffle: paragraphs without authors, in an order that does not follow who wrote first", function()
  local _, sid = cycle_with({ self_feedback = false, manager_feedback = false, visibility = { anonymous = true,
    shuffle = true, direct_manager_reads = true, threshold = { peer = 2, report = 2, guest = 2 } } },
    { elena = { "james", "ben", "sofia" } })
  local written = {}
  for i, key in ipairs({ "james", "ben" }) do
    local paras = {}
    for j = 1, 4 do
      local p = ("Paragraph %d of reviewer %d."):format(j, i)
      paras[j] = p
      written[#written + 1] = p
    end
    write(key, sid.elena, { q1 = table.concat(paras, "\n\n") })
  end
  local g = read("sofia", sid.elena)
  local shown = {}
  for _, a in ipairs(g.peer.questions[1].answers) do
    t.eq(a.by, nil)
    shown[#shown + 1] = a.text
  end
  t.eq(#shown, 8, "each paragraph on its own")
  local same_order = true
  for i = 1, 8 do if shown[i] ~= written[i] then same_order = false end end
  t.no(same_order, "the order is not the order of writing")
  local feedback = require "services.feedback"
  local keyed = {}
  for i, p in ipairs(written) do keyed[i] = p end
  local s = { id = sid.elena }
  table.sort(keyed, function(a, b) return feedback.shuffle_key(s, "q1\0" .. a) < feedback.shuffle_key(s, "q1\0" .. b) end)
  t.same(shown, keyed, "a keyed order, the same on every reload")
  t.same(read("sofia", sid.elena).peer.questions[1].answers[1].text, shown[1])
end)

t.test("anonymity hides authors from HR Admins too, in the page, the API and the PDF", function()
  local _, sid = cycle_with({ visibility = { anonymous = true, direct_manager_reads = true,
    threshold = { peer = 2, report = 2, guest = 2 } } }, { maya = { "freya", "tyler" } })
  write("freya", sid.maya, { q1 = "Maya calms angry customers." })
  write("tyler", sid.maya, { q1 = "Maya documents every fix." })
  local res = login("marcus"):get("/api/feedback/360/" .. sid.maya)
  local body = json.encode(res.json.groups)
  t.not_contains(body, "Freya")
  t.not_contains(body, "Tyler")
  local html = login("marcus"):get("/feedback/360/" .. sid.maya).body
  t.contains(html, "Maya calms angry customers.")
  t.not_contains(html, "— Freya")
  local mgr = read("luca", sid.maya)
  t.eq(mgr.manager, nil, "Luca's own feedback is not written yet")
end)

t.test("hide the list of reviewers: the reviewee sees only the reviewers they chose", function()
  local cid, sid = cycle_with({ visibility = { hide_reviewers = true } }, { ines = { "david" } })
  local ines = login("ines")
  t.status(ines:post("/api/feedback/360/" .. sid.ines .. "/nominations", { reviewer_id = P.oscar.id }), 403,
    "approved lists change only through the manager")
  local names = {}
  for _, r in ipairs(ines:get("/api/feedback/360/" .. sid.ines).json.requests) do names[#names + 1] = r.name end
  t.not_contains(names, "David Levi", "HR added David")
  t.contains(names, "Ines Garcia", "her own self-feedback")
  local tom = {}
  for _, r in ipairs(login("tom"):get("/api/feedback/360/" .. sid.ines).json.requests) do tom[#tom + 1] = r.name end
  t.contains(tom, "David Levi", "the approving manager sees the list")
  t.ok(cid)
end)
