-- Disabling, enabling and deleting an automation; an automation whose owner lost the right to
-- run it pauses instead of acting; a cycle that cannot start stays a draft and HR is told.
local t = require "testing"
local db = require "lib.db"
local json = require "lib.json"

local P = t.demo()
local hr

local function template(client)
  return t.status(client:post("/api/cycles", { name = "Template", start_date = "2026-01-05", self_due = "2026-01-12",
    manager_due = "2026-01-19", sign_due = "2026-01-26" }), 201).json
end

local function created(aid) return db.value("SELECT count(*) FROM automation_cycles WHERE automation_id = ?", aid) end

local function monthly(client, extra)
  local body = { name = "Monthly pulse review", kind = "schedule", template_cycle_id = template(client).id,
    audience = { departments = { "Finance" } }, first_start = "2026-01-20", repeat_months = 1 }
  for k, v in pairs(extra or {}) do body[k] = v end
  return t.status(client:post("/api/automations", body), 201).json
end

t.test("a disabled automation creates nothing; enabled again, it resumes with the next start to come", function()
  hr = t.as("marcus")
  local a = monthly(hr)
  t.status(hr:post("/api/automations/" .. a.id .. "/disable"), 200)
  t.advance_to("2026-01-14T10:00:00Z")
  hr = t.as("marcus") -- a new sign-in after the clock moved
  t.eq(created(a.id), 0, "nothing while disabled")
  local on = t.status(hr:post("/api/automations/" .. a.id .. "/enable"), 200).json
  t.eq(on.active, true)
  t.run_jobs()
  t.eq(created(a.id), 1, "the 20 Jan cycle (still to start) is created at once")
  t.advance_to("2026-01-20T09:00:05Z")
  hr = t.as("marcus") -- a new sign-in after the clock moved
  t.eq(db.value([[SELECT c.phase FROM automation_cycles l JOIN cycles c ON c.id = l.cycle_id
    WHERE l.automation_id = ?]], a.id), "writing")
  -- disabled again: the next one (20 Feb, created 13 Feb) does not come
  t.status(hr:form("/cycles/automations/" .. a.id .. "/active", { active = "0" }), 303)
  t.advance_to("2026-02-21T09:00:00Z")
  hr = t.as("marcus") -- a new sign-in after the clock moved
  t.eq(created(a.id), 1)
  db.transaction(function() db.exec("DELETE FROM automations WHERE id = ?", a.id) end)
end)

t.test("deleting an automation keeps the cycles it created", function()
  hr = t.as("marcus")
  local a = monthly(hr, { first_start = "2026-03-01", repeat_months = json.null })
  t.advance_to("2026-02-22T09:00:00Z")
  hr = t.as("marcus") -- a new sign-in after the clock moved
  local cid = db.value("SELECT cycle_id FROM automation_cycles WHERE automation_id = ?", a.id)
  t.ok(cid, "it created its cycle")
  t.status(hr:delete("/api/automations/" .. a.id), 204)
  t.eq(db.value("SELECT count(*) FROM automations WHERE id = ?", a.id), 0)
  t.eq(db.value("SELECT count(*) FROM cycles WHERE id = ?", cid), 1, "the cycle stays")
  t.ok(db.value("SELECT count(*) FROM reviews WHERE cycle_id = ?", cid) > 0, "with its reviewees")
  t.advance_to("2026-03-01T10:00:00Z")
  hr = t.as("marcus") -- a new sign-in after the clock moved
  t.eq(db.value("SELECT phase FROM cycles WHERE id = ?", cid), "draft", "nobody starts it any more: HR does")
  t.status(hr:get("/api/automations/" .. a.id), 404)
end)

t.test("an automation whose owner is no longer HR pauses instead of acting, and the admins are told", function()
  local lena = t.as("lena") -- HR Assistant
  local a = monthly(lena, { first_start = "2026-04-01", repeat_months = json.null })
  t.status(t.as("priya"):put("/api/users/" .. P.lena.id .. "/roles", { roles = {} }), 200)
  t.advance_to("2026-03-25T09:00:00Z")
  hr = t.as("marcus") -- a new sign-in after the clock moved
  t.eq(created(a.id), 0, "no cycle made with a permission she no longer has")
  local row = db.row("SELECT active, paused_reason FROM automations WHERE id = ?", a.id)
  t.eq(row.active, 0)
  t.contains(row.paused_reason, "Lena Fischer")
  t.eq(#t.outbox({ to = P.marcus.email, template = "automation.paused" }), 1, "HR Admins hear of it")
  -- an HR Admin enables it again: it runs as her from now on
  hr = t.as("marcus")
  t.status(hr:post("/api/automations/" .. a.id .. "/enable"), 200)
  t.run_jobs()
  t.eq(created(a.id), 1)
  t.eq(db.value("SELECT owner_id FROM automations WHERE id = ?", a.id), P.marcus.id)
  t.eq(db.value([[SELECT c.created_by FROM automation_cycles l JOIN cycles c ON c.id = l.cycle_id
    WHERE l.automation_id = ?]], a.id), P.marcus.id)
end)

t.test("a cycle that cannot start stays a draft and its admins are told why", function()
  hr = t.as("marcus")
  -- an audience of one person who is then deactivated: nobody to review on the day
  local a = t.status(hr:post("/api/automations", { name = "Solo", kind = "schedule", template_cycle_id = template(hr).id,
    audience = { people = { P.sara.id } }, first_start = "2026-05-01" }), 201).json
  t.advance_to("2026-04-24T09:00:00Z")
  hr = t.as("marcus") -- a new sign-in after the clock moved
  local cid = db.value("SELECT cycle_id FROM automation_cycles WHERE automation_id = ?", a.id)
  t.status(hr:request("DELETE", "/api/cycles/" .. cid .. "/reviewees", { body = { user_ids = { P.sara.id } } }), 200)
  t.advance_to("2026-05-01T09:00:05Z")
  hr = t.as("marcus") -- a new sign-in after the clock moved
  t.eq(db.value("SELECT phase FROM cycles WHERE id = ?", cid), "draft")
  local m = t.outbox({ to = P.marcus.email, template = "automation.start_failed" })
  t.eq(#m, 1)
  t.contains(m[1].body_text, "reviewee")
  t.eq(db.value("SELECT active FROM automations WHERE id = ?", a.id), 1, "the automation itself goes on")
end)

t.test("people without a manager are left out when the cycle starts, and named", function()
  hr = t.as("marcus")
  local a = t.status(hr:post("/api/automations", { name = "Leaders", kind = "schedule", template_cycle_id = template(hr).id,
    audience = { departments = { "Executive" } }, first_start = "2026-06-01" }), 201).json
  t.advance_to("2026-06-01T09:00:05Z")
  hr = t.as("marcus") -- a new sign-in after the clock moved
  local cid = db.value("SELECT cycle_id FROM automation_cycles WHERE automation_id = ?", a.id)
  t.eq(db.value("SELECT phase FROM cycles WHERE id = ?", cid), "writing", "it started")
  t.eq(db.value("SELECT count(*) FROM reviews WHERE cycle_id = ? AND reviewee_id = ?", cid, P.olivia.id), 0,
    "Olivia (no manager) was left out")
  t.eq(db.value("SELECT count(*) FROM reviews WHERE cycle_id = ? AND reviewee_id = ?", cid, P.nora.id), 1)
  local m = t.outbox({ to = P.marcus.email, template = "automation.cycle_started" })
  t.contains(m[#m].body_text, "Olivia Bennett")
end)

t.test("moving a schedule's first start renumbers nothing away: the next cycle is the new date's", function()
  hr = t.as("marcus")
  local a = monthly(hr, { first_start = "2026-07-01", repeat_months = 2 })
  t.advance_to("2026-06-24T09:00:05Z")
  t.eq(created(a.id), 1, "July's cycle")
  hr = t.as("marcus")
  local moved = t.status(hr:patch("/api/automations/" .. a.id, { first_start = "2026-10-15" }), 200).json
  t.eq(moved.next_run.date, "2026-10-08", "the new first start, not three occurrences on")
  t.advance_to("2026-10-08T09:00:05Z")
  t.eq(created(a.id), 2)
  t.eq(db.value([[SELECT c.start_date FROM automation_cycles l JOIN cycles c ON c.id = l.cycle_id
    WHERE l.automation_id = ? ORDER BY c.start_date DESC LIMIT 1]], a.id), "2026-10-15")
end)
