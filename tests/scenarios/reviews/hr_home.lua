-- HR's first screen. On a new company the home page of the first administrator lists the first
-- steps (people imported, roles given, mail server, first cycle) with links, each ticked off as
-- it is done. Once cycles run, HR sees them with their progress and what needs them: late
-- managers, reviews nobody is set to write, bounced mail. People without an HR role see none of it.
local t = require "testing"
local db = require "lib.db"
local crypto = require "core.crypto"
local clock = require "core.clock"

local EMAIL = "founder@newco.example"
local HASH = assert(crypto.hash_password(t.DEMO_PASSWORD))

local function person(email, name, manager_id, roles)
  local now = clock.now()
  local id = db.insert([[INSERT INTO users(email, name, job_title, status, kind, password_hash, manager_id, created_at,
      updated_at) VALUES(?, ?, '', 'active', 'employee', ?, ?, ?, ?)]], email, name,
    HASH, manager_id, now, now)
  for _, r in ipairs(roles or {}) do
    db.exec("INSERT INTO user_roles(user_id, role, granted_at) VALUES(?, ?, ?)", id, r, now)
  end
  require("services.access").sync(id)
  return id
end

local function checklist(body)
  local out = {}
  local list = body:match('<ul class="checklist">(.-)</ul>') or ""
  for state, inner in list:gmatch('<li class="(%a+)">(.-)</li>') do
    local label = inner:gsub('<span class="sr%-only">.-</span>', ""):gsub('<span class="muted small block">.-</span>', "")
      :gsub("<[^>]+>", ""):gsub("[✓○]", ""):gsub("^%s+", ""):gsub("%s+$", "")
    out[#out + 1] = state .. ": " .. label
  end
  return out
end

local founder_id

t.test("a new company: the first administrator's home lists the first steps, each with its link", function()
  founder_id = db.transaction(function() return person(EMAIL, "Fay Founder", nil, { "hr_admin", "tech_admin" }) end)
  local fay = t.login(EMAIL)
  local body = t.status(fay:get("/home"), 200).body
  t.contains(body, "Getting started")
  t.contains(body, "0 of 5 done")
  t.same(checklist(body), { "open: Give Candor your company&#39;s name and logo", "open: Import your people", "open: Give HR and IT colleagues their roles",
    "open: Set up the mail server", "open: Create your first review cycle" })
  t.contains(body, '<a href="/people/import">Import your people</a>')
  t.contains(body, '<a href="/admin/mail-server">Set up the mail server</a>')
  t.contains(body, '<a href="/cycles/new">Create your first review cycle</a>')
  t.contains(body, "No review cycle is running.")
  t.contains(body, "Nothing needs you right now")
  t.not_contains(body, "You are all caught up", "not an empty page")
end)

local hr_id, sam_id, cycle

t.test("steps tick off as they are done; the list goes once all are", function()
  local fay = t.login(EMAIL)
  hr_id = db.transaction(function()
    local id = person("hana.hr@newco.example", "Hana HR", founder_id, { "hr_assistant" })
    sam_id = person("sam@newco.example", "Sam Staff", id)
    person("ceo.two@newco.example", "Nobody's Report", nil)
    return id
  end)
  local body = fay:get("/home").body
  t.same(checklist(body), { "open: Give Candor your company&#39;s name and logo", "done: Import your people",
    "done: Give HR and IT colleagues their roles", "open: Set up the mail server", "open: Create your first review cycle" })
  t.contains(body, "2 of 5 done")
  t.status(fay:put("/api/design", { company_name = "NewCo Ünïted" }), 200)
  t.contains(fay:get("/home").body, "3 of 5 done")
  cycle = t.status(fay:post("/api/cycles", { name = "First round", start_date = "2026-01-05", self_due = "2026-01-12",
    manager_due = "2026-01-19", sign_due = "2026-02-02" }), 201).json
  t.status(fay:put("/api/mail-server", { host = "127.0.0.1", port = 2525, security = "none",
    from_address = "candor@newco.example" }), 200)
  t.not_contains(fay:get("/home").body, "Getting started", "all done: the list is gone")
end)

t.test("a draft with a reviewee who has no manager is flagged before the start", function()
  local hana = t.login("hana.hr@newco.example")
  local nobody = db.value("SELECT id FROM users WHERE email = 'ceo.two@newco.example'")
  t.status(hana:post("/api/cycles/" .. cycle.id .. "/reviewees", { user_ids = { sam_id, nobody } }), 200)
  local body = hana:get("/home").body
  t.contains(body, '<a href="/cycles/' .. cycle.id .. '/reviewees">1 reviewee in First round has no manager</a>')
end)

t.test("a running cycle shows its progress; late managers and reviews without a writer need attention", function()
  local hana = t.login("hana.hr@newco.example")
  local nobody = db.value("SELECT id FROM users WHERE email = 'ceo.two@newco.example'")
  t.status(hana:post("/api/cycles/" .. cycle.id .. "/start"), 422, "not while a review has nobody to write it")
  t.status(hana:request("DELETE", "/api/cycles/" .. cycle.id .. "/reviewees", { body = { user_ids = { nobody } } }), 200)
  t.status(hana:post("/api/cycles/" .. cycle.id .. "/start"), 200)
  -- joining the running cycle, a reviewee without a manager has no writer
  t.status(hana:post("/api/cycles/" .. cycle.id .. "/reviewees", { user_ids = { nobody } }), 200)
  local body = hana:get("/home").body
  t.contains(body, "Running review cycles")
  t.contains(body, '<a href="/cycles/' .. cycle.id .. '">First round</a>')
  t.contains(body, "0 of 2 self-assessments · 0 shared · 0 signed by both")
  t.contains(body, 'aria-label="Signed by both: 0%"')
  t.contains(body, "1 review in First round nobody is set to write")
  t.not_contains(body, "late in First round", "nothing is late yet")
  -- after the due dates
  t.advance_to("2026-01-20")
  hana = t.login("hana.hr@newco.example")
  body = hana:get("/home").body
  t.contains(body, '<a href="/cycles/' .. cycle.id .. '?status=manager_late">2 manager reviews late in First round</a>')
  t.contains(body, '<a href="/cycles/' .. cycle.id .. '?status=self_late">2 self-assessments late in First round</a>')
  -- the badges keep their styles: late manager reviews in red, late self-assessments in amber
  t.contains(body, '<span class="badge badge-bad">Late</span>')
  t.contains(body, '<span class="badge badge-warn">Late</span>')
  t.contains(body, '<span class="badge badge-bad">No writer</span>')
end)

t.test("bounced mail needs attention; only a Tech Admin gets the link to fix it", function()
  db.transaction(function()
    db.exec("INSERT INTO mail_bounces(email, at, smtp_code, message) VALUES('sam@newco.example', ?, 550, 'no such user')",
      clock.now())
  end)
  local hana = t.status(t.login("hana.hr@newco.example"):get("/home"), 200).body
  t.contains(hana, "Mail to 1 address bounced")
  t.contains(hana, "a Tech Admin fixes the addresses")
  t.not_contains(hana, 'href="/admin/bounces"', "an HR Assistant cannot open the bounces page")
  local fay = t.login(EMAIL):get("/home").body
  t.contains(fay, '<a href="/admin/bounces">Mail to 1 address bounced</a>')
end)

t.test("people without an HR role see none of it", function()
  local sam = t.login("sam@newco.example"):get("/home").body
  t.not_contains(sam, "Running review cycles")
  t.not_contains(sam, "Needs your attention")
  t.not_contains(sam, "Getting started")
  t.not_contains(sam, "bounced")
end)

t.test("the HR home costs the same number of queries for 2 reviewees or 200", function()
  local function cost()
    local c = t.login("hana.hr@newco.example")
    return t.count_queries(function() t.status(c:get("/home"), 200) end)
  end
  local before = cost()
  db.transaction(function()
    local ids = {}
    for i = 1, 200 do ids[i] = person(("bulk%03d@newco.example"):format(i), "Bulk " .. i, hr_id) end
    local now = clock.now()
    for _, id in ipairs(ids) do
      db.exec([[INSERT INTO reviews(cycle_id, reviewee_id, manager_id, self_status, manager_status, created_at, updated_at)
        VALUES(?, ?, ?, 'not_started', 'not_started', ?, ?)]], cycle.id, id, hr_id, now, now)
    end
  end)
  t.eq(cost(), before)
end)
