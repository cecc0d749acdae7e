-- Where objectives show up outside their own pages: the home page (your open objectives, "set
-- your objectives" and "near due" to-dos), the manager's team page (objectives per report,
-- people without any), a person's profile, the "+ New" menu, and the performance review page,
-- where the reviewee's objectives of the review period sit beside the questionnaire.
local t = require "testing"
local db = require "lib.db"
local H = dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "_helpers.lua")

local P = t.demo()
local q1 = H.cycle()
H.objective("mia", q1, { title = "Ship the billing service", due_on = "2026-03-31" })
H.objective("ravi", q1, { owner_id = P.lucas.id, title = "Lucas protected", visibility = "protected" })
H.objective("omar", q1, { title = "Omar private", visibility = "private" })
H.objective("ravi", q1, { owner_id = P.mia.id, title = "Mia protected by Ravi", visibility = "protected" })
local mine = H.objective("mia", q1, { title = "Mia private", visibility = "private" })

t.test("objectives page: with a cycle open and none set, the empty state leads to setting them, not to waiting for HR", function()
  local page = t.status(H.as("leo"):get("/objectives"), 200).body
  t.contains(page, "No objectives yet")
  t.contains(page, "Your objectives for Q1 2026 show here once you set them.")
  t.contains(page, 'class="btn btn-primary" href="/objectives/new?cycle=' .. q1.id .. '"')
  t.not_contains(page, "When HR opens an objective cycle", "a cycle is open: nothing to wait for")
end)

t.test("home: a to-do to set objectives while a cycle is open and you have none; it goes once you do", function()
  local home = t.status(H.as("zoe"):get("/home"), 200).body
  t.contains(home, "Set your objectives for Q1 2026")
  t.contains(home, "No open objectives yet. Q1 2026 is open: set yours by", "the empty panel agrees with the to-do")
  t.contains(home, 'href="/objectives/new?cycle=' .. q1.id .. '">Set your objectives</a>', "the empty panel leads to setting them")
  t.not_contains(home, "Set some when an objective cycle is open")
  H.objective("zoe", q1, { title = "Learn the billing code" })
  home = t.status(H.as("zoe"):get("/home"), 200).body
  t.not_contains(home, "Set your objectives for Q1 2026")
  t.contains(home, "Learn the billing code")
  t.contains(home, "0% · Q1 2026", "the progress in words beside its bar (an empty bar alone says nothing)")
  t.contains(home, 'href="/objectives/new">Objective</a>', "the + New menu")
  t.contains(t.status(H.as("mia"):get("/home"), 200).body, "Ship the billing service")
end)

t.test("home: an objective due within two weeks becomes a to-do; done ones leave the home page", function()
  t.advance_to("2026-03-20T09:00:00Z")
  local home = t.status(H.as("mia"):get("/home"), 200).body
  t.contains(home, "Update: Ship the billing service")
  local id = db.value("SELECT id FROM objectives WHERE owner_id = ?", P.mia.id)
  t.status(H.as("mia"):patch("/api/objectives/" .. id, { status = "done" }), 200)
  home = t.status(H.as("mia"):get("/home"), 200).body
  t.not_contains(home, "Ship the billing service")
end)

t.test("the team page shows each report's objectives the manager may read, and who has none", function()
  local team = t.status(H.as("ravi"):get("/team"), 200).body
  t.contains(team, "Objectives:</span> <a href=\"/objectives/team#person-" .. P.lucas.id .. "\">1 objective · 0%")
  t.contains(team, "Objectives:</span> <a href=\"/objectives/team#person-" .. P.omar.id .. "\">None yet",
    "Omar's only objective is private: none for his manager")
  local page = t.status(H.as("ravi"):get("/objectives/team"), 200).body
  t.contains(page, "Lucas protected")
  t.not_contains(page, "Omar private")
  t.contains(page, "No objectives yet")
end)

t.test("a profile shows the objectives the viewer may read", function()
  t.contains(t.status(H.as("ravi"):get("/people/" .. P.lucas.id), 200).body, "Lucas protected")
  t.not_contains(t.status(H.as("zoe"):get("/people/" .. P.lucas.id), 200).body, "Lucas protected")
  t.contains(t.status(H.as("omar"):get("/people/" .. P.omar.id), 200).body, "Omar private")
end)

t.test("the review page shows the reviewee's objectives of the review period as resources, as each may read them", function()
  -- a review cycle of Mia's (reviewed by Ravi) in March; objectives of Q1 are of its period, a
  -- cycle of last year is not
  local old = H.cycle({ name = "2024", starts_on = "2024-01-01", ends_on = "2024-06-30", edit_until = "2024-02-01",
    update_until = "2024-07-01" })
  db.transaction(function()
    db.exec("INSERT INTO objectives(cycle_id, owner_id, level, visibility, title_enc, status, progress, created_at, updated_at) "
      .. "VALUES(?, ?, 'individual', 'public', x'', 'done', 100, 0, 0)", old.id, P.mia.id)
  end)
  local hr = H.as("marcus")
  local rc = t.status(hr:post("/api/cycles", { name = "Spring review", start_date = "2026-03-20", self_due = "2026-04-03",
    manager_due = "2026-04-17", sign_due = "2026-05-01" }), 201).json
  t.status(hr:post("/api/cycles/" .. rc.id .. "/reviewees", { user_ids = { P.mia.id } }), 200)
  t.status(hr:post("/api/cycles/" .. rc.id .. "/start"), 200)
  local review = db.value("SELECT id FROM reviews WHERE cycle_id = ?", rc.id)
  local as_manager = t.status(H.as("ravi"):get("/reviews/" .. review), 200).body
  t.contains(as_manager, "<h2>Objectives</h2>")
  t.contains(as_manager, "Ship the billing service", "done by now, still of the period")
  t.contains(as_manager, "Mia protected by Ravi")
  t.not_contains(as_manager, "Mia private")
  local as_reviewee = t.status(H.as("mia"):get("/reviews/" .. review), 200).body
  t.contains(as_reviewee, "Mia private")
  t.contains(as_reviewee, 'href="/objectives/' .. mine.id .. '"')
  t.not_contains(as_reviewee, "2024 ·", "a cycle long before the review period")
end)
