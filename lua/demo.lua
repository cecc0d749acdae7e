-- The demo company (candor serve --demo): 48 people in 5 levels, departments, locations,
-- someone holding each role, one super user and one guest. docs/demo.md is generated from
-- this table (a scenario checks they agree).
local db = require "lib.db"
local util = require "lib.util"
local crypto = require "core.crypto"
local clock = require "core.clock"
local fs = require "core.fs"
local app = require "app"
local settings = require "services.settings"
local audit = require "services.audit"
local access = require "services.access"
local sessions = require "services.sessions"
local cycles = require "services.cycles"
local reviews = require "services.reviews"
local messages = require "services.messages"
local feedback_requests = require "services.feedback_requests"
local one_on_ones = require "services.one_on_ones"
local feedback_cycles = require "services.feedback_cycles"
local nominations = require "services.nominations"
local feedback = require "services.feedback"
local objectives = require "services.objectives"
local objective_cycles = require "services.objective_cycles"
local automations = require "services.automations"
local surveys = require "services.surveys"

local M = {}

M.COMPANY = "Northwind Labs"
M.DOMAIN = "northwind.example"

-- key, name, job title, department, location, manager key, hire date, roles
M.PEOPLE = {
  { "olivia", "Olivia Bennett", "Chief Executive Officer", "Executive", "New York", nil, "2015-03-02" },
  { "priya", "Priya Natarajan", "VP People", "People", "Berlin", "olivia", "2016-06-13", { "hr_admin", "tech_admin" } },
  { "daniel", "Daniel Kim", "VP Engineering", "Engineering", "Berlin", "olivia", "2016-01-11" },
  { "sofia", "Sofia Alvarez", "VP Sales", "Sales", "New York", "olivia", "2017-02-20" },
  { "henrik", "Henrik Larsen", "VP Operations", "Operations", "London", "olivia", "2016-09-05" },
  { "grace", "Grace Liu", "VP Product", "Product", "Remote", "olivia", "2018-04-16" },
  -- People
  { "marcus", "Marcus Webb", "HR Business Partner", "People", "Berlin", "priya", "2019-05-06", { "hr_admin" } },
  { "lena", "Lena Fischer", "People Operations Coordinator", "People", "Berlin", "priya", "2021-08-02", { "hr_assistant" } },
  { "amara", "Amara Osei", "Talent Partner", "People", "London", "marcus", "2022-01-17" },
  -- Engineering
  { "ravi", "Ravi Shankar", "Engineering Manager, Platform", "Engineering", "Berlin", "daniel", "2017-07-03" },
  { "emma", "Emma Schulz", "Engineering Manager, Product", "Engineering", "Berlin", "daniel", "2018-03-19" },
  { "noah", "Noah Williams", "Engineering Manager, Mobile", "Engineering", "Remote", "daniel", "2019-10-07" },
  { "lucas", "Lucas Moreau", "Staff Engineer", "Engineering", "Berlin", "ravi", "2018-11-12" },
  { "mia", "Mia Johansson", "Senior Engineer", "Engineering", "Berlin", "ravi", "2020-02-03" },
  { "ethan", "Ethan Brooks", "Engineer", "Engineering", "Remote", "lucas", "2022-06-20" },
  { "zoe", "Zoe Chen", "Engineer", "Engineering", "Berlin", "lucas", "2023-01-09" },
  { "omar", "Omar Haddad", "Site Reliability Engineer", "Engineering", "London", "ravi", "2021-04-12" },
  { "isabel", "Isabel Costa", "Senior Engineer", "Engineering", "Berlin", "emma", "2019-09-02" },
  { "jonas", "Jonas Becker", "Engineer", "Engineering", "Berlin", "emma", "2021-11-15" },
  { "hana", "Hana Sato", "Engineer", "Engineering", "Remote", "isabel", "2023-05-22" },
  { "leo", "Leo Rossi", "Junior Engineer", "Engineering", "Berlin", "isabel", "2024-02-05" },
  { "ava", "Ava Thompson", "Senior Mobile Engineer", "Engineering", "Remote", "noah", "2020-07-13" },
  { "samuel", "Samuel Adeyemi", "Mobile Engineer", "Engineering", "London", "noah", "2022-09-26" },
  -- Product
  { "chloe", "Chloe Martin", "Product Manager", "Product", "Remote", "grace", "2020-01-27" },
  { "arjun", "Arjun Mehta", "Product Manager", "Product", "London", "grace", "2021-03-08" },
  { "julia", "Julia Nowak", "Product Designer", "Product", "Berlin", "chloe", "2021-10-04" },
  { "felix", "Felix Wagner", "UX Researcher", "Product", "Berlin", "chloe", "2022-11-14" },
  -- Sales
  { "james", "James O'Connor", "Sales Director, Americas", "Sales", "New York", "sofia", "2018-06-04" },
  { "elena", "Elena Petrova", "Sales Director, EMEA", "Sales", "London", "sofia", "2019-01-14" },
  { "tyler", "Tyler Reed", "Account Executive", "Sales", "New York", "james", "2021-02-22" },
  { "nina", "Nina Patel", "Account Executive", "Sales", "New York", "james", "2022-04-11" },
  { "carlos", "Carlos Mendes", "Sales Development Rep", "Sales", "New York", "tyler", "2024-01-15" },
  { "freya", "Freya Nilsen", "Account Executive", "Sales", "London", "elena", "2021-07-19" },
  { "luca", "Luca Bianchi", "Customer Success Manager", "Sales", "London", "elena", "2020-10-05" },
  { "maya", "Maya Cohen", "Customer Success Manager", "Sales", "Remote", "luca", "2023-03-13" },
  -- Marketing (reports to Sales)
  { "ben", "Ben Carter", "Marketing Lead", "Marketing", "New York", "sofia", "2019-08-26" },
  { "aisha", "Aisha Rahman", "Content Marketer", "Marketing", "Remote", "ben", "2022-02-07" },
  { "kai", "Kai Andersen", "Growth Marketer", "Marketing", "London", "ben", "2023-06-05" },
  -- Operations and Finance
  { "tom", "Tom Okafor", "IT Systems Administrator", "Operations", "London", "henrik", "2018-02-12", { "tech_admin" } },
  { "rachel", "Rachel Green", "Finance Manager", "Finance", "London", "henrik", "2017-11-06" },
  { "victor", "Victor Dubois", "Accountant", "Finance", "London", "rachel", "2021-05-17" },
  { "sara", "Sara Lindqvist", "Financial Analyst", "Finance", "Remote", "rachel", "2023-09-04" },
  { "paul", "Paul Murphy", "Office Manager", "Operations", "New York", "henrik", "2019-04-01" },
  { "ines", "Ines Garcia", "IT Support Specialist", "Operations", "Berlin", "tom", "2022-08-15" },
  { "david", "David Levi", "Security Engineer", "Operations", "Remote", "tom", "2021-12-06" },
  { "yara", "Yara Haddad", "Operations Analyst", "Operations", "London", "henrik", "2024-03-18" },
  { "oscar", "Oscar Lindgren", "Workplace Coordinator", "Operations", "Berlin", "paul", "2024-06-03" },
  { "nora", "Nora Walsh", "Executive Assistant", "Executive", "New York", "olivia", "2020-05-11" },
}

-- An external guest reviewer (for 360 feedback); not counted as a licensed user.
M.GUESTS = {
  { "alex.morgan@clientcorp.example", "Alex Morgan", "Partner at ClientCorp" },
}


function M.email(key)
  for _, p in ipairs(M.PEOPLE) do
    if p[1] == key then
      local first, last = p[2]:match("^(%S+)%s+(.+)$")
      last = last:gsub("[^%a]", ""):lower()
      return ("%s.%s@%s"):format(first:lower(), last, M.DOMAIN)
    end
  end
end

function M.super_user_email() return M.email("priya") end

function M.is_empty()
  return (db.value("SELECT count(*) FROM users") or 0) == 0
end

local function password_file()
  return app.data_dir and (app.data_dir .. "/demo-password.txt")
end

--- Fills an empty database with the demo company. Returns the note printed at start.
function M.fill(password)
  local generated = false
  if not password or password == "" then
    password = "demo-" .. crypto.token(16):gsub("[-_]", "x"):sub(1, 16)
    generated = true
  end
  local hash = assert(crypto.hash_password(password))
  local now = clock.now()
  db.transaction(function()
    settings.set("company.name", M.COMPANY)
    if settings.schema["company.domains"] then settings.set("company.domains", { M.DOMAIN }) end
    local ids = {}
    for _, p in ipairs(M.PEOPLE) do
      ids[p[1]] = db.insert([[INSERT INTO users(email, name, job_title, department, location, hire_date,
          status, kind, password_hash, created_at, updated_at)
          VALUES(?,?,?,?,?,?, 'active', 'employee', ?, ?, ?)]],
        M.email(p[1]), p[2], p[3], p[4], p[5], p[7], hash, now, now)
    end
    for _, p in ipairs(M.PEOPLE) do
      if p[6] then db.exec("UPDATE users SET manager_id = ? WHERE id = ?", ids[p[6]], ids[p[1]]) end
      for _, role in ipairs(p[8] or {}) do
        db.exec("INSERT INTO user_roles(user_id, role, granted_by, granted_at) VALUES(?,?,NULL,?)",
          ids[p[1]], role, now)
      end
    end
    for _, g in ipairs(M.GUESTS) do
      db.insert([[INSERT INTO users(email, name, job_title, status, kind, password_hash, created_at, updated_at)
          VALUES(?,?,?, 'active', 'guest', ?, ?, ?)]], g[1], g[2], g[3], hash, now, now)
    end
    audit.record{ action = "demo.created", actor_label = "candor --demo",
      details = { people = #M.PEOPLE, guests = #M.GUESTS } }
  end)
  access.reload()
  local path = password_file()
  if generated and path then fs.write(path, password .. "\n", 384) end
  return M.note(password, generated)
end

function M.note(password, generated)
  return ("\nDemo company \"%s\": %d people in 5 levels, plus %d guest.\n"
    .. "  Sign in as the super user:  %s\n"
    .. "  Password (everyone shares it): %s%s\n"
    .. "  Other people and their roles: docs/demo.md\n"):format(M.COMPANY, #M.PEOPLE, #M.GUESTS,
      M.super_user_email(), password, generated and "   (saved in the data folder, demo-password.txt)" or "")
end

--- A review cycle in progress, so a new user sees the product at work: Engineering and Product
--- reviewed, started ten days ago, some self-assessments in, a few reviews shared or signed.
function M.sample_cycle()
  local now = clock.now()
  local function day(n) return util.format_date(now + n * 86400) end
  local hr = sessions.load_user(db.value("SELECT id FROM users WHERE email = ?", M.email("marcus")))
  local c = cycles.create(hr, { name = os.date("!%Y", now) .. " mid-year review", start_date = day(-10),
    self_due = day(4), manager_due = day(18), sign_due = day(32) })
  cycles.add_reviewees(hr, c.id, db.column([[SELECT id FROM users WHERE kind = 'employee'
    AND department IN ('Engineering', 'Product') AND manager_id IS NOT NULL]]))
  cycles.start(hr, c.id)
  local texts = {
    "Shipped the new search and cut page load times in half. Proud of how the team handled the launch week.",
    "Took over the on-call rotation and wrote the runbooks everyone now uses.",
    "Mentored two new colleagues through their first quarter; both now review code on their own.",
  }
  local n = 0
  for _, r in ipairs(db.query("SELECT * FROM reviews WHERE cycle_id = ? ORDER BY id", c.id)) do
    n = n + 1
    local me = sessions.load_user(r.reviewee_id)
    if n % 3 ~= 0 or n % 3 == 1 then
      reviews.save_answers(me, r.id, "self", { q1 = texts[n % 3 + 1], q6 = "Take on a larger project and grow as a mentor.",
        q3 = { x = 35 + (n * 13) % 60, y = 30 + (n * 29) % 65 } })
      if n % 4 ~= 1 or n % 3 == 1 then reviews.submit_self(me, r.id) end
    end
    if r.manager_id and n % 3 == 1 then
      local m = sessions.load_user(r.manager_id)
      reviews.save_answers(m, r.id, "manager", { q1 = "Dependable, thoughtful and generous with help.", q4 = 3 + n % 3,
        q6 = "Own the next launch end to end." })
      if n % 2 == 1 then
        reviews.share(m, r.id)
        if n % 5 == 1 then reviews.sign(me, r.id); reviews.sign(m, r.id) end
      end
    end
  end
  return c
end

--- A 360 cycle in progress with a guest reviewer: Sales and Customer Success
--- reviewed, started eight days ago. Tyler's reviewers (a guest among them) have written and his
--- manager released the feedback early; Nina's reviewers are approved and writing (the guest
--- too); Freya's list waits for Elena's approval; Luca has not chosen yet.
function M.sample_360()
  local now = clock.now()
  local function day(n) return util.format_date(now + n * 86400) end
  local function user(key) return sessions.load_user(db.value("SELECT id FROM users WHERE email = ?", M.email(key) or key)) end
  local hr = user("marcus")
  local c = feedback_cycles.create(hr, { name = os.date("!%Y", now) .. " Sales 360", start_date = day(-8),
    intro = "Tell your colleagues what helps them most: be specific, be kind, and skip what you cannot judge.",
    nominate_due = day(-1), approve_due = day(2), write_due = day(14), release_date = day(21),
    rules = { nominator = "reviewee", min = 2, max = 6, suggested = 3 },
    visibility = { anonymous = false },
    questionnaire = { sections = {
      { id = "s1", title = "Strengths", questions = {
        { id = "q1", type = "text", text = "What does this person do well? What should they keep doing?" },
        { id = "q2", type = "rating", text = "How easy is it to work with them?", scale = 5,
          labels = { "Hard", "Sometimes hard", "Fine", "Easy", "A pleasure" } } } },
      { id = "s2", title = "Growth", questions = {
        { id = "q3", type = "text", text = "What could they do better, or start doing?" },
        { id = "q4", type = "choice", text = "Where should they grow most this year?", multiple = true,
          options = { "Customer conversations", "Written communication", "Coaching others", "Planning" } } } } } } })
  local keys = { "tyler", "nina", "freya", "luca", "maya", "carlos" }
  feedback_cycles.add_reviewees(hr, c.id, util.map(keys, function(k) return user(k).id end))
  feedback_cycles.start(hr, c.id)
  local sid = {}
  for _, s in ipairs(db.query("SELECT id, reviewee_id FROM feedback_subjects WHERE cycle_id = ?", c.id)) do
    sid[s.reviewee_id] = s.id
  end
  local guest = user(M.GUESTS[1][1])
  local function nominate(reviewee, list)
    local me = user(reviewee)
    for _, k in ipairs(list) do nominations.nominate(me, sid[me.id], { reviewer_id = user(k).id }) end
    nominations.submit(me, sid[me.id])
    return me
  end
  local function write(key, about, answers, share)
    local me = user(key)
    local id = db.value("SELECT id FROM feedback_nominations WHERE subject_id = ? AND reviewer_id = ?", sid[user(about).id], me.id)
    feedback.save(me, id, answers)
    if share then feedback.share(me, id) end
  end
  local tyler = nominate("tyler", { "nina", "freya", "carlos", M.GUESTS[1][1] })
  local nina = nominate("nina", { "tyler", "luca", M.GUESTS[1][1] })
  nominate("freya", { "luca", "maya" })
  nominations.approve(user("james"), { sid[tyler.id], sid[nina.id] })
  write("nina", "tyler", { q1 = "Tyler prepares every customer call and follows up the same day.", q2 = 5,
    q3 = "Share the call notes with the team; we would all learn from them.", q4 = { 2 } }, true)
  write("freya", "tyler", { q1 = "Calm in difficult negotiations.\n\nGenerous with his time when I was new.", q2 = 4,
    q3 = "Say no more often: you take on too much.", q4 = { 4 } }, true)
  write("carlos", "tyler", { q1 = "He explains the why, not just the what.", q2 = 5, q4 = { 3 } }, true)
  write(M.GUESTS[1][1], "tyler", { q1 = "Tyler knows our business as well as we do.", q2 = 5,
    q3 = "A short written summary after each meeting would help our team.", q4 = { 2 } }, true)
  write("tyler", "tyler", { q1 = "I listen well and customers trust me.", q2 = 4, q3 = "Writing things down.",
    q4 = { 2, 4 } }, true)
  write("james", "tyler", { q1 = "Reliable, calm, and the team's go-to person for hard accounts.", q2 = 5,
    q3 = "Coach Carlos towards his own accounts.", q4 = { 3 } }, true)
  feedback.release(user("james"), sid[tyler.id])
  write("tyler", "nina", { q1 = "Nina closes deals other people give up on.", q2 = 4 }, false)
  write(M.GUESTS[1][1], "nina", { q1 = "Nina is thorough." }, false)
  return c, guest
end

--- Praise with badges, likes and comments, a private note, feedback and a feedback request, so
--- the wall, the home stream and "My messages" have something to show.
function M.sample_messages()
  local function who(key) return sessions.load_user(db.value("SELECT id FROM users WHERE email = ?", M.email(key))) end
  local function id(key) return who(key).id end
  local function badge(title) return db.value("SELECT id FROM badges WHERE title = ?", title) end
  db.transaction(function()
    local lucas, zoe, ethan, ravi, mia = who("lucas"), who("zoe"), who("ethan"), who("ravi"), who("mia")
    local p1 = messages.create(lucas, { kind = "praise", recipient_ids = { zoe.id, ethan.id }, badge_id = badge("Team player"),
      text = "Zoe and Ethan rebuilt the deploy pipeline over two weeks without a single outage. Thank you both!" })
    messages.like(ravi, p1)
    messages.like(mia, p1)
    messages.comment(zoe, p1, { text = "Couldn't have done it without Ethan's test harness." })
    local p2 = messages.create(who("sofia"), { kind = "praise", recipient_ids = { id("nina") }, badge_id = badge("Customer hero"),
      text = "Nina turned around the Contoso renewal in a single afternoon call." })
    messages.like(who("james"), p2)
    messages.create(who("chloe"), { kind = "praise", recipient_ids = { id("felix") }, badge_id = badge("Great idea"),
      text = "Felix's interview synthesis changed the roadmap for the quarter." })
    messages.create(ravi, { kind = "praise", recipient_ids = { mia.id }, audience = "managers",
      text = "Mia's design review caught the data-loss bug before it shipped." })
    messages.create(lucas, { kind = "note", about_id = zoe.id,
      text = "Zoe led the incident review calmly; bring up a tech-lead path at her next review." })
    messages.create(mia, { kind = "feedback", recipient_ids = { ethan.id },
      text = "Your pull requests are easy to review; adding a short why in the description would make them perfect." })
    feedback_requests.create(zoe, { askee_ids = { ethan.id, mia.id }, question = "How did my first on-call week go?",
      due_date = util.format_date(clock.now() + 7 * 86400) })
  end)
end

--- 1:1 meetings: Ravi Shankar and Mia Johansson meet every week (one meeting held today, with a
--- ticked point, an open action item and a point carried over to the next one in a week, and a
--- private point of each); Priya Natarajan meets Marcus Webb every two weeks.
function M.sample_one_on_ones()
  local function who(key) return sessions.load_user(db.value("SELECT id FROM users WHERE email = ?", M.email(key))) end
  local today = util.format_date(clock.now())
  db.transaction(function()
    local ravi, mia = who("ravi"), who("mia")
    local s = one_on_ones.create(ravi, { with_id = mia.id, title = "Ravi / Mia weekly", cadence = "weekly", date = today })
    local m1 = s.meeting_id
    local offsite = one_on_ones.add_item(ravi, m1, { kind = "point", text = "Team offsite: dates and agenda" })
    one_on_ones.add_item(mia, m1, { kind = "point", text = "Feedback on my storage migration design doc" })
    one_on_ones.add_item(mia, m1, { kind = "action", text = "Share the design doc with the platform team",
      due_date = util.format_date(clock.now() + 5 * 86400) })
    one_on_ones.add_item(ravi, m1, { kind = "note", text = "Offsite in March in Lisbon; Mia runs the storage session." })
    one_on_ones.add_item(ravi, m1, { kind = "note", private = true,
      text = "Mia is ready for more scope: suggest she leads the storage migration." })
    one_on_ones.tick(ravi, m1, offsite, true)
    local m2 = one_on_ones.close(ravi, m1, "done")
    one_on_ones.add_item(ravi, m2, { kind = "point", text = "Your goals for this year" })
    one_on_ones.add_item(mia, m2, { kind = "point", private = true, text = "Ask about the conference budget" })
    local priya, marcus = who("priya"), who("marcus")
    local hr = one_on_ones.create(priya, { with_id = marcus.id, title = "People team sync", cadence = "biweekly",
      date = util.format_date(clock.now() + 3 * 86400) })
    one_on_ones.add_item(marcus, hr.meeting_id, { kind = "point", text = "Timeline for the mid-year review cycle" })
  end)
end

--- A monthly pulse survey of the whole company, created by Lena Fischer (HR Assistant): two closed
--- rounds two months and a month ago with about thirty answers each (results, comments, a trend and
--- breakdowns to look at), and a round open since today that everyone, Mia Johansson included, can
--- answer. Its results are shared with the managers.
function M.sample_surveys()
  local now = clock.now()
  local function day(n) return util.format_date(now + n * 86400) end
  local function who(key) return sessions.load_user(db.value("SELECT id FROM users WHERE email = ?", M.email(key))) end
  local lena = who("lena")
  local s = surveys.create(lena, { title = "Monthly Pulse Survey", starts_on = day(0), frequency = "monthly", round_days = 7,
    intro = "Three quick questions about your month: how it went, and what would make the next one better.",
    questions = {
      { text = "How happy are you at work right now?", scale = 5, low = "Not at all", high = "Very" },
      { text = "How manageable is your workload?", scale = 5, low = "Overwhelming", high = "Comfortable" },
      { text = "How likely are you to recommend Northwind Labs as a place to work?", scale = 10, low = "Not likely",
        high = "Very likely" },
    },
    comment_question = "Anything you would like to add?" })
  local comments = { "The new planning process helps a lot.", "Too many meetings on Mondays.",
    "Great team spirit since the offsite.", "I would like clearer priorities for the quarter.",
    "The office move was handled well.", "More time for deep work, please.", "Happy with my growth this month.",
    "On-call was rough this month.", "Love the new onboarding buddies.", "Hiring is slow; we feel stretched." }
  db.transaction(function()
    local people = db.column("SELECT id FROM users WHERE kind = 'employee' AND status = 'active' ORDER BY id")
    for seq, offset in ipairs({ -61, -30 }) do
      local rid = db.insert("INSERT INTO survey_rounds(survey_id, seq, opens_on, closes_on, status) VALUES(?,?,?,?, 'open')",
        s.id, seq, day(offset), day(offset + 6))
      db.exec("INSERT INTO survey_invitations(round_id, user_id) SELECT ?, value FROM json_each(?)", rid,
        require("lib.json").encode(people))
      for i, uid in ipairs(people) do
        if (i * 7 + seq) % 10 < 7 then -- about seven in ten answer
          local mood = (i + seq * 3) % 5
          surveys.record(rid, uid, { math.min(5, 2 + mood // 2 + seq - 1), 1 + (i + seq) % 5, math.min(10, 5 + mood + seq) },
            (i % 3 == 0) and comments[(i + seq) % #comments + 1] or nil)
        end
      end
      db.exec("UPDATE survey_rounds SET status = 'closed' WHERE id = ?", rid) -- answers go to open rounds only
    end
    surveys.launch(lena, s.id)
    surveys.open_round(s.id, day(0))
    db.exec("UPDATE surveys SET starts_on = ? WHERE id = ?", day(-61), s.id) -- it began with the first round
    surveys.share(lena, s.id, { user_ids = {}, managers = true })
  end)
end

--- An objective cycle for the half-year, started ten days ago and open for editing for three
--- weeks more, with aligned objectives: two company objectives (Olivia Bennett's, set by HR), team
--- objectives of Daniel Kim, Sofia Alvarez and Ravi Shankar aligned to them, and individual ones of
--- their people aligned to those; protected and private ones among them, key results, updates
--- and a comment.
function M.sample_objectives()
  local function who(key) return sessions.load_user(db.value("SELECT id FROM users WHERE email = ?", M.email(key))) end
  local now = clock.now()
  local function day(n) return util.format_date(now + n * 86400) end
  return db.transaction(function()
    local hr = who("marcus")
    local c = objective_cycles.create(hr, { name = os.date("!%Y", now) .. " H1 objectives", starts_on = day(-10),
      ends_on = day(170), edit_until = day(21), update_until = day(190), default_visibility = "public", rating = true,
      categories = { "Growth", "Quality", "People" },
      intro = "Set two or three objectives for the half-year and align them to the company's. Update them as you go." })
    local function set(by, fields)
      fields.cycle_id = c.id
      return objectives.create(who(by), fields)[1]
    end
    local function update(by, id, fields) objectives.update(who(by), id, fields) end
    local olivia = who("olivia").id
    local arr = set("marcus", { owner_id = olivia, level = "company", category = "Growth",
      title = "Grow annual recurring revenue to 2M EUR", key_results = {
        { kind = "number", title = "ARR", start = 1.2, target = 2, unit = "M EUR" },
        { kind = "check", title = "Open the EU data centre" } } })
    local easy = set("marcus", { owner_id = olivia, level = "company", category = "Quality",
      title = "Become the easiest product in our market to start with", key_results = {
        { kind = "number", title = "Days to first value", start = 14, target = 3, unit = "days" } } })
    local platform = set("daniel", { level = "team", parent_id = easy, category = "Quality",
      title = "Make the platform ready for ten times the customers", key_results = {
        { kind = "number", title = "p95 latency", start = 800, target = 300, unit = "ms" },
        { kind = "check", title = "Load test at 10x traffic" } } })
    local dach = set("sofia", { level = "team", parent_id = arr, category = "Growth",
      title = "Open the DACH market", key_results = { { kind = "number", title = "New customers", start = 0, target = 25 } } })
    local deploys = set("ravi", { level = "team", parent_id = easy, category = "Quality",
      title = "Zero-downtime deploys for every service", key_results = {
        { kind = "check", title = "Blue-green deploys for the API" }, { kind = "check", title = "Database migrations online" } } })
    local storage = set("mia", { parent_id = deploys, category = "Quality", title = "Migrate storage to the new cluster",
      key_results = { { kind = "number", title = "Tables migrated", start = 0, target = 40 } } })
    set("lucas", { parent_id = deploys, visibility = "protected", title = "Cut deploy time to five minutes",
      key_results = { { kind = "number", title = "Deploy time", start = 25, target = 5, unit = "min" } } })
    set("zoe", { parent_id = platform, title = "Run the on-call rotation for the platform",
      key_results = { { kind = "check", title = "Runbooks for the top ten alerts" } } })
    local deals = set("nina", { parent_id = dach, category = "Growth", title = "Close five deals in Germany",
      key_results = { { kind = "number", title = "Deals closed", start = 0, target = 5 } } })
    set("mia", { visibility = "private", category = "People", title = "Give a talk at a storage conference" })
    set("lucas", { visibility = "protected", category = "People", owner_id = who("ethan").id,
      title = "Learn Go well enough to review the ingest service" })
    -- some progress, with notes in the threads
    local function kr(id, n) return db.value("SELECT id FROM objective_key_results WHERE objective_id = ? AND position = ?", id, n) end
    update("marcus", arr, { results = { { id = kr(arr, 1), current = 1.45 } }, note = "Q1 bookings are in." })
    update("daniel", platform, { results = { { id = kr(platform, 1), current = 560 } } })
    update("sofia", dach, { status = "at_risk", results = { { id = kr(dach, 1), current = 4 } },
      note = "Two partners pulled out; new ones in talks." })
    update("ravi", deploys, { results = { { id = kr(deploys, 1), done = true } } })
    update("mia", storage, { results = { { id = kr(storage, 1), current = 14 } }, note = "The big tables are done." })
    update("nina", deals, { results = { { id = kr(deals, 1), current = 2 } } })
    objectives.comment(who("ravi"), storage, "Great pace. Shall we plan the cut-over for the billing tables together?")
    return c
  end)
end

--- Two automations from the mid-year review (M.sample_cycle): a quarterly review of the whole
--- company (but its CEO, who has nobody to write her review) starting on the first day of a
--- quarter more than a week away, so nothing is created yet; and a probation review 90 days after
--- each person's hire date, from today on (no one whose date has passed is caught up).
function M.sample_automations()
  local now = clock.now()
  local hr = sessions.load_user(db.value("SELECT id FROM users WHERE email = ?", M.email("marcus")))
  local template = db.value("SELECT id FROM cycles ORDER BY id LIMIT 1")
  local olivia = db.value("SELECT id FROM users WHERE email = ?", M.email("olivia"))
  local first = util.format_date(now + 8 * 86400)
  local y, m = first:match("^(%d+)-(%d+)")
  y, m = tonumber(y), tonumber(m)
  repeat -- the first of the next January, April, July or October at least 8 days away
    m = m + 1
    if m > 12 then y, m = y + 1, 1 end
  until (m - 1) % 3 == 0
  local quarterly = automations.create(hr, { name = "Quarterly review", kind = "schedule", template_cycle_id = template,
    audience = { everyone = true, exclude = { olivia } }, first_start = ("%04d-%02d-01"):format(y, m), repeat_months = 3 })
  local probation = automations.create(hr, { name = "Probation review", kind = "after_hire_date",
    template_cycle_id = template, audience = { everyone = true }, offset_amount = 90, offset_unit = "days" })
  return quarterly, probation
end

--- The note for a data folder that already holds the demo company.
function M.existing_note()
  local path = password_file()
  local pw = path and fs.read(path)
  pw = pw and pw:gsub("%s+$", "")
  return M.note(pw or os.getenv("CANDOR_DEMO_PASSWORD") or "(the one chosen when the demo was created)", false)
end

--- docs/demo.md, generated from the table above.
function M.markdown()
  local names = {}
  for _, p in ipairs(M.PEOPLE) do names[p[1]] = p[2] end
  local depth = {}
  local function level(p)
    if depth[p[1]] then return depth[p[1]] end
    local d = 1
    if p[6] then
      for _, q in ipairs(M.PEOPLE) do if q[1] == p[6] then d = level(q) + 1 end end
    end
    depth[p[1]] = d
    return d
  end
  local out = {
    "# The demo company",
    "",
    ("`candor serve --demo` (and `make run`) fills a new data folder with **%s**: %d people in"):format(M.COMPANY, #M.PEOPLE),
    "five levels of reporting lines, plus one external guest. Everyone shares one password: the value of",
    "`CANDOR_DEMO_PASSWORD` when it is set, otherwise a generated one that is printed at start (and kept in",
    "`demo-password.txt` in the data folder).",
    "",
    ("Sign in as the super user (HR Admin + Tech Admin): **%s**."):format(M.super_user_email()),
    "",
    "This file is generated from `lua/demo.lua`; a scenario test checks that they agree.",
    "",
    "| Name | Email | Job title | Department | Location | Manager | Level | Roles |",
    "|---|---|---|---|---|---|---|---|",
  }
  for _, p in ipairs(M.PEOPLE) do
    local roles = {}
    for _, r in ipairs(p[8] or {}) do roles[#roles + 1] = access.ROLE_NAMES[r] end
    local role_text = table.concat(roles, " + ")
    if #roles == 2 then role_text = role_text .. " (super user)" end
    out[#out + 1] = ("| %s | %s | %s | %s | %s | %s | %d | %s |"):format(p[2], M.email(p[1]), p[3], p[4], p[5],
      p[6] and names[p[6]] or "—", level(p), role_text)
  end
  out[#out + 1] = ""
  out[#out + 1] = "## Guests"
  out[#out + 1] = ""
  out[#out + 1] = "| Name | Email | Note |"
  out[#out + 1] = "|---|---|---|"
  for _, g in ipairs(M.GUESTS) do out[#out + 1] = ("| %s | %s | %s |"):format(g[2], g[1], g[3]) end
  out[#out + 1] = ""
  out[#out + 1] = "## A review cycle in progress"
  out[#out + 1] = ""
  out[#out + 1] = "`candor serve --demo` also starts a mid-year review cycle for Engineering and Product, as the HR"
  out[#out + 1] = "Admin Marcus Webb, ten days before today, with some self-assessments written, a few manager reviews"
  out[#out + 1] = "shared and some signed, so every page has something to show. Its invitations are in the outbox"
  out[#out + 1] = "(Administration › Outbox; no mail server is set up, so nothing is sent)."
  out[#out + 1] = ""
  out[#out + 1] = "## A 360 feedback cycle in progress"
  out[#out + 1] = ""
  out[#out + 1] = "It also starts a 360 cycle for Sales and Customer Success, eight days before today,"
  out[#out + 1] = ("with the guest %s among the reviewers. Tyler Reed's reviewers have all written and"):format(M.GUESTS[1][2])
  out[#out + 1] = "his manager James O'Connor released the feedback early, so Tyler reads it grouped by relationship;"
  out[#out + 1] = "Nina Patel's reviewers (the guest too) are writing; Freya Nilsen's list waits for Elena Petrova's"
  out[#out + 1] = "approval; Luca, Maya and Carlos have not chosen their reviewers yet. Sign in as the guest to see the"
  out[#out + 1] = "only page a guest has: their requests."
  out[#out + 1] = ""
  out[#out + 1] = "## Praise and messages"
  out[#out + 1] = ""
  out[#out + 1] = "It also writes some praise with badges (Lucas Moreau to Zoe Chen and Ethan Brooks, liked and"
  out[#out + 1] = "commented; Sofia Alvarez to Nina Patel; Chloe Martin to Felix Wagner; Ravi Shankar to Mia Johansson for"
  out[#out + 1] = "her and her manager only), a private note of Lucas about Zoe, feedback from Mia to Ethan, and a feedback"
  out[#out + 1] = "request from Zoe to Ethan and Mia."
  out[#out + 1] = ""
  out[#out + 1] = "## 1:1 meetings"
  out[#out + 1] = ""
  out[#out + 1] = "Ravi Shankar meets Mia Johansson every week: today's meeting is done (a point ticked off, an action"
  out[#out + 1] = "item for Mia and a point of hers carried over to next week's meeting, a shared note and a private"
  out[#out + 1] = "note of Ravi's), and each of them has a private point nobody else sees. Priya Natarajan meets"
  out[#out + 1] = "Marcus Webb every two weeks, from three days after the demo was made."
  out[#out + 1] = ""
  out[#out + 1] = "## Objectives"
  out[#out + 1] = ""
  out[#out + 1] = "An objective cycle for the half-year (started ten days ago, open for editing three weeks more) holds"
  out[#out + 1] = "aligned objectives: two company objectives of Olivia Bennett set by HR (revenue, and being easy to start"
  out[#out + 1] = "with), team objectives of Daniel Kim, Sofia Alvarez and Ravi Shankar aligned to them, and individual"
  out[#out + 1] = "objectives of Mia Johansson, Lucas Moreau (protected), Zoe Chen and Nina Patel aligned to those, with key"
  out[#out + 1] = "results, progress updates and a comment. Mia also has a private objective only she can see, and Lucas set"
  out[#out + 1] = "a protected one for Ethan Brooks. Objectives › Alignment shows the tree."
  out[#out + 1] = ""
  out[#out + 1] = "## Pulse surveys"
  out[#out + 1] = ""
  out[#out + 1] = "Lena Fischer (HR Assistant) runs a monthly pulse survey of the whole company: two rounds closed two"
  out[#out + 1] = "months and a month ago with about thirty answers each (results, comments, the trend and breakdowns"
  out[#out + 1] = "by department, location and manager's team), and a round open since today that everyone can answer:"
  out[#out + 1] = "sign in as Mia Johansson and follow the to-do on the home page. The results are shared with managers;"
  out[#out + 1] = "Ravi Shankar sees his team's slice when enough of his team answered."
  out[#out + 1] = ""
  out[#out + 1] = "## Automations"
  out[#out + 1] = ""
  out[#out + 1] = "Review cycles › Automations holds two automations made from the mid-year review: a quarterly review"
  out[#out + 1] = "of everyone but Olivia Bennett (who has no manager to write hers), starting on the first day of the"
  out[#out + 1] = "next quarter at least a week away, each cycle created 7 days before it starts; and a probation review"
  out[#out + 1] = "90 days after each person's hire date, from today on. Neither has created a cycle yet."
  out[#out + 1] = ""
  return table.concat(out, "\n")
end

return M
