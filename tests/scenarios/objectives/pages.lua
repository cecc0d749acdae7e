-- The objective pages, as people use them: HR creates a cycle through its form, a manager sets
-- one objective for two reports at once, an owner updates progress and comments, the tree, the
-- cycle's list and search, the overview with a nudge and the mail shown first, the profile and
-- team pages, and forms that keep what was typed when they are refused (post/redirect/get).
local t = require "testing"
local db = require "lib.db"
local H = dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "_helpers.lua")

t.demo()
local cycle_id

local function form_cycle(extra)
  local f = { name = "H1 2026", starts_on = "2026-01-01", ends_on = "2026-06-30", edit_until = "2026-02-15",
    update_until = "2026-07-15", participants = "everyone", creators = "both", default_visibility = "protected",
    key_results = "on", alignment = "on", rating = "on", use_categories = "on", categories = "Growth\nQuality",
    label_on_track = "Green", label_at_risk = "Amber", label_off_track = "Red", label_done = "Done", label_missed = "Missed",
    intro = "Set two or three objectives for the half-year." }
  for k, v in pairs(extra or {}) do f[k] = v end
  return f
end

t.test("HR creates a cycle through its form; a refused form comes back with what was typed", function()
  local hr = H.as("marcus")
  t.status(hr:get("/objective-cycles/new"), 200)
  local res = hr:form("/objective-cycles/new", form_cycle({ update_until = "2026-02-01" }))
  local page = hr:follow(res)
  t.contains(page.body, "Update until must not be before edit until.")
  t.contains(page.body, "Set two or three objectives for the half-year.", "the introduction is kept")
  t.eq(db.value("SELECT count(*) FROM objective_cycles WHERE name = 'H1 2026'"), 0, "nothing was created")
  res = hr:form("/objective-cycles/new", form_cycle())
  t.status(res, 303)
  cycle_id = db.value("SELECT id FROM objective_cycles WHERE name = 'H1 2026'")
  t.ok(cycle_id)
  local c = t.status(hr:get("/api/objective-cycles/" .. cycle_id), 200).json
  t.eq(c.status_labels.on_track, "Green")
  t.same(c.categories, { "Growth", "Quality" })
  t.eq(c.default_visibility, "protected")
  t.eq(c.rating, true)
end)

t.test("an employee cannot open the cycle form; an HR Assistant can", function()
  t.status(H.as("zoe"):get("/objective-cycles/new"), 403)
  t.status(H.as("lena"):get("/objective-cycles/new"), 200)
  t.status(H.as("tom"):get("/objective-cycles/new"), 403, "a Tech Admin")
end)

t.test("a manager sets one objective for two reports at once; each gets their own", function()
  local ravi = H.as("ravi")
  local page = t.status(ravi:get("/objectives/new?cycle=" .. cycle_id), 200).body
  t.contains(page, "Mia Johansson")
  t.contains(page, "Lucas Moreau")
  local res = ravi:form("/objectives/new", { cycle_id = cycle_id, owner_ids = { tostring(H.id("mia")), tostring(H.id("lucas")) },
    title = "Cut p95 latency", visibility = "protected", level = "individual", parent_id = "0", category = "Quality",
    kr1_kind = "number", kr1_title = "p95 latency", kr1_start = "800", kr1_target = "300", kr1_unit = "ms",
    kr2_kind = "check", kr2_title = "Dashboards for every service" })
  t.status(res, 303)
  t.eq(db.value("SELECT count(*) FROM objectives WHERE cycle_id = ? AND category = 'Quality'", cycle_id), 2)
  local owners = db.column("SELECT owner_id FROM objectives WHERE cycle_id = ? ORDER BY owner_id", cycle_id)
  local want = { H.id("mia"), H.id("lucas") }
  table.sort(want)
  t.same(owners, want)
end)

t.test("the objective form keeps what was typed when it is refused", function()
  local zoe = H.as("zoe")
  local res = zoe:form("/objectives/new", { cycle_id = cycle_id, owner_ids = { tostring(H.id("zoe")) }, title = "",
    description = "Wörds with ünïcode kept", visibility = "public", kr1_kind = "number", kr1_title = "Half-set", kr1_start = "1" })
  local page = zoe:follow(res)
  t.contains(page.body, "Give the objective a title.")
  t.contains(page.body, "Wörds with ünïcode kept")
  t.contains(page.body, "a number needs a start value and a target")
  t.eq(db.value("SELECT count(*) FROM objectives WHERE owner_id = ?", H.id("zoe")), 0)
  -- naming someone who is not a colleague is refused, nothing else is lost
  res = zoe:form("/objectives/new", { cycle_id = cycle_id, owner_ids = { tostring(H.id("zoe")) }, title = "Learn Rust",
    visibility = "protected", named = "nobody@nowhere.example" })
  page = zoe:follow(res)
  t.contains(page.body, "No single active colleague")
  t.contains(page.body, "Learn Rust")
end)

t.test("the owner updates progress from the objective page; the thread shows it", function()
  local mia = H.as("mia")
  local id = db.value("SELECT id FROM objectives WHERE owner_id = ? AND cycle_id = ?", H.id("mia"), cycle_id)
  local page = t.status(mia:get("/objectives/" .. id), 200).body
  t.contains(page, "Update progress")
  t.contains(page, "Green", "the cycle's label")
  local num = db.value("SELECT id FROM objective_key_results WHERE objective_id = ? AND kind = 'number'", id)
  local res = mia:form("/objectives/" .. id .. "/update", { status = "at_risk", ["r" .. num] = "550", note = "Cache helped" })
  page = mia:follow(res)
  t.contains(page.body, "Amber")
  t.contains(page.body, "Cache helped")
  t.eq(db.value("SELECT progress FROM objectives WHERE id = ?", id), 25, "(800-550)/(800-300)=50%, the check 0%")
  -- a bad value keeps the note
  res = mia:form("/objectives/" .. id .. "/update", { status = "at_risk", ["r" .. num] = "fast", note = "Kept note" })
  page = mia:follow(res)
  t.contains(page.body, "Kept note")
  t.eq(db.value("SELECT progress FROM objectives WHERE id = ?", id), 25, "nothing changed")
  res = mia:form("/objectives/" .. id .. "/comments", { body = "Ravi, can we talk about this?" })
  page = mia:follow(res)
  t.contains(page.body, "Ravi, can we talk about this?")
end)

t.test("every page of the area opens for the people it is for", function()
  local id = db.value("SELECT id FROM objectives WHERE owner_id = ? AND cycle_id = ?", H.id("mia"), cycle_id)
  for _, p in ipairs({ "/objectives", "/objectives/team", "/objectives/new", "/objectives/" .. id, "/objectives/" .. id .. "/edit",
      "/objective-cycles", "/objective-cycles/" .. cycle_id, "/objective-cycles/" .. cycle_id .. "/tree",
      "/objective-cycles/" .. cycle_id .. "/tree?focus=" .. id, "/objective-cycles/" .. cycle_id .. "?q=latency&status=open",
      "/people/" .. H.id("mia"), "/home", "/team" }) do
    t.status(H.as("ravi"):get(p), 200, p)
  end
  for _, p in ipairs({ "/objective-cycles/" .. cycle_id .. "/overview", "/objective-cycles/" .. cycle_id .. "/edit",
      "/objective-cycles/" .. cycle_id .. "/nudges?audience=without" }) do
    t.status(H.as("marcus"):get(p), 200, p)
    t.status(H.as("ravi"):get(p), 403, p .. " for a manager")
  end
end)

t.test("HR nudges people without objectives: the exact mail first, sent on confirming", function()
  local hr = H.as("lena")
  local page = t.status(hr:get("/objective-cycles/" .. cycle_id .. "/nudges?audience=without&note=Deadline+soon"), 200).body
  t.contains(page, "Your objectives: H1 2026")
  t.contains(page, "Deadline soon")
  local before = #t.outbox()
  local res = hr:form("/objective-cycles/" .. cycle_id .. "/nudges", { audience = "without", note = "Deadline soon" })
  t.status(res, 303, "without confirm: back to the preview")
  t.eq(#t.outbox(), before, "nothing sent yet")
  res = hr:form("/objective-cycles/" .. cycle_id .. "/nudges", { audience = "without", note = "Deadline soon", confirm = "1" })
  t.status(res, 303)
  local sent = #t.outbox() - before
  t.ok(sent > 40, "everyone but Mia and Lucas: " .. sent)
  t.status(hr:form("/objective-cycles/" .. cycle_id .. "/nudges", { audience = "without", note = "again", confirm = "1" }), 303)
  t.eq(#t.outbox() - before, sent, "once a day per person")
end)

t.test("HR chooses who takes part in a cycle of selected people: ticked, all matching, a manager's whole team", function()
  local hr = H.as("marcus")
  local pilot = H.cycle({ name = "Pilot group", participants = "selected" })
  local here = "/objective-cycles/" .. pilot.id .. "/people"
  t.contains(t.status(hr:get(here), 200).body, "Nobody yet")
  local found = t.status(hr:get(here .. "?q=Johansson"), 200).body
  t.contains(found, "Mia Johansson")
  t.status(hr:form(here, { ids = { tostring(H.id("mia")) }, q = "Johansson" }), 303)
  t.status(hr:form(here, { all_matching = "1", department = "Finance" }), 303)
  t.status(hr:form(here, { team = tostring(H.id("lucas")) }), 303)
  local people = db.column("SELECT user_id FROM objective_cycle_people WHERE cycle_id = ? ORDER BY user_id", pilot.id)
  local want = { H.id("mia"), H.id("rachel"), H.id("victor"), H.id("sara"), H.id("lucas"), H.id("ethan"), H.id("zoe") }
  table.sort(want)
  t.same(people, want)
  t.status(hr:form(here, { ids = { tostring(H.id("zoe")) }, remove = "1" }), 303)
  t.eq(db.value("SELECT count(*) FROM objective_cycle_people WHERE cycle_id = ?", pilot.id), 6)
  t.contains(t.status(hr:get(here), 200).body, "Taking part (6)")
  t.status(H.as("ravi"):get(here), 403)
  t.status(H.as("ravi"):form(here, { ids = { tostring(H.id("omar")) } }), 403)
  t.eq(db.value("SELECT count(*) FROM objective_cycle_people WHERE cycle_id = ?", pilot.id), 6, "nothing changed")
end)
