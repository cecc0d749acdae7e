-- Who may do what with automations (policies/README.md, "Automations, decided"): HR Admins and HR
-- Assistants create, edit and disable; only HR Admins delete; Tech Admins and employees do none
-- of it, nor see them. An HR Assistant names only a template cycle she may manage. An automation
-- runs as the person who saved it last and gives nobody access they would not have by hand: the
-- template's cycle admins are not copied, and a relationship changed afterwards opens nothing.
local t = require "testing"
local db = require "lib.db"
local demo = require "demo"

local P = t.demo()

local function template(client)
  return t.status(client:post("/api/cycles", { name = "Perm template", start_date = "2026-01-05",
    self_due = "2026-01-12", manager_due = "2026-01-19", sign_due = "2026-01-26" }), 201).json
end

local TPL = template(t.as("marcus"))

local function body(extra)
  local b = { name = "Permission check", kind = "schedule", template_cycle_id = TPL.id,
    audience = { departments = { "Finance" } }, first_start = "2026-03-01", repeat_months = 3 }
  for k, v in pairs(extra or {}) do b[k] = v end
  return b
end

local function count() return db.value("SELECT count(*) FROM automations") end

t.test("an HR Admin creates, edits, disables, enables and deletes", function()
  local hr = t.as("marcus")
  local a = t.status(hr:post("/api/automations", body()), 201).json
  t.status(hr:patch("/api/automations/" .. a.id, { name = "Renamed" }), 200)
  t.status(hr:post("/api/automations/" .. a.id .. "/disable"), 200)
  t.status(hr:post("/api/automations/" .. a.id .. "/enable"), 200)
  t.status(hr:get("/api/automations"), 200)
  t.status(hr:get("/cycles/automations"), 200)
  t.status(hr:get("/cycles/automations/" .. a.id .. "/delete"), 200)
  t.status(hr:delete("/api/automations/" .. a.id), 204)
end)

t.test("an HR Assistant creates, edits and disables, but may not delete", function()
  local lena = t.as("lena")
  local a = t.status(lena:post("/api/automations", body()), 201).json
  t.status(lena:patch("/api/automations/" .. a.id, { name = "Assistant's" }), 200)
  t.status(lena:post("/api/automations/" .. a.id .. "/disable"), 200)
  t.status(lena:post("/api/automations/" .. a.id .. "/enable"), 200)
  t.status(lena:get("/cycles/automations/" .. a.id), 200)
  t.status(lena:delete("/api/automations/" .. a.id), 403)
  t.status(lena:get("/cycles/automations/" .. a.id .. "/delete"), 403)
  t.status(lena:form("/cycles/automations/" .. a.id .. "/delete", { confirm = "yes" }), 403)
  t.eq(db.value("SELECT count(*) FROM automations WHERE id = ?", a.id), 1, "still there")
  t.not_contains(lena:get("/cycles/automations/" .. a.id).body, "/delete\"", "no delete button for her")
end)

t.test("a Tech Admin neither creates, edits, deletes nor sees automations", function()
  local a = t.status(t.as("marcus"):post("/api/automations", body()), 201).json
  local tom = t.as("tom")
  local before = count()
  t.status(tom:post("/api/automations", body()), 403)
  t.status(tom:patch("/api/automations/" .. a.id, { name = "Tom's" }), 403)
  t.status(tom:post("/api/automations/" .. a.id .. "/disable"), 403)
  t.status(tom:delete("/api/automations/" .. a.id), 403)
  t.status(tom:get("/api/automations"), 403)
  t.status(tom:get("/api/automations/" .. a.id), 403)
  t.status(tom:get("/cycles/automations"), 403)
  t.status(tom:get("/cycles/automations/new"), 403)
  t.eq(count(), before)
  t.eq(db.value("SELECT name FROM automations WHERE id = ?", a.id), "Permission check")
end)

t.test("an employee neither creates, edits, deletes nor sees automations", function()
  local a = t.status(t.as("marcus"):post("/api/automations", body()), 201).json
  for _, who in ipairs({ "mia", "ravi" }) do
    local c = t.as(who)
    local before = count()
    t.status(c:post("/api/automations", body()), 403)
    t.status(c:patch("/api/automations/" .. a.id, { name = "Mine" }), 403)
    t.status(c:post("/api/automations/" .. a.id .. "/enable"), 403)
    t.status(c:delete("/api/automations/" .. a.id), 403)
    t.status(c:get("/api/automations"), 403)
    t.status(c:get("/cycles/automations/" .. a.id), 403)
    t.eq(count(), before)
  end
end)

t.test("a cycle admin who manages the template cycle still may not create an automation", function()
  local hr = t.as("marcus")
  t.status(hr:put("/api/cycles/" .. TPL.id .. "/admins", { admins = { { user_id = P.amara.id, role = "admin" } } }), 200)
  local before = count()
  t.status(t.as("amara"):post("/api/automations", body()), 403)
  t.eq(count(), before)
end)

t.test("an HR Assistant may only name a template cycle she may manage", function()
  local lena = t.as("lena")
  t.status(lena:post("/api/automations", body({ template_cycle_id = TPL.id })), 201)
  -- a review cycle that does not exist is no template
  local before = count()
  local res = t.status(lena:post("/api/automations", body({ template_cycle_id = 999999 })), 422)
  t.contains(res.json.error.fields.template_cycle_id, "no such review cycle")
  t.eq(count(), before)
  -- once she no longer holds her role she may not manage any cycle, nor name one
  t.status(t.as("priya"):put("/api/users/" .. P.lena.id .. "/roles", { roles = {} }), 200)
  lena = t.login(demo.email("lena"))
  t.status(lena:post("/api/automations", body()), 403)
  t.eq(count(), before)
  t.status(t.as("priya"):put("/api/users/" .. P.lena.id .. "/roles", { roles = { "hr_assistant" } }), 200)
end)

t.test("an automated cycle copies no cycle admins from its template: nobody reads reviews through it", function()
  local hr = t.as("marcus")
  t.status(hr:put("/api/cycles/" .. TPL.id .. "/admins", { admins = { { user_id = P.amara.id, role = "admin" } } }), 200)
  local lena = t.as("lena")
  local a = t.status(lena:post("/api/automations", body({ first_start = "2026-01-20", repeat_months = 0 })), 201).json
  t.advance_to("2026-01-20T09:00:05Z")
  local cid = db.value("SELECT cycle_id FROM automation_cycles WHERE automation_id = ?", a.id)
  t.ok(cid)
  t.eq(db.value("SELECT count(*) FROM cycle_admins WHERE cycle_id = ?", cid), 0, "no admins copied")
  t.eq(db.value("SELECT created_by FROM cycles WHERE id = ?", cid), P.lena.id, "created as its owner")
  local rid = db.value("SELECT id FROM reviews WHERE cycle_id = ? AND reviewee_id = ?", cid, P.victor.id)
  t.ok(rid, "Victor (Finance) is reviewed")
  t.status(t.login(demo.email("mia")):put("/api/reviews/" .. rid .. "/answers/self", { q1 = "x" }), 403)
  -- the assistant who owns it reads no content of the reviews it created
  local r = t.status(t.as("lena"):get("/api/reviews/" .. rid), 200).json
  t.eq(r.self_answers, nil)
  t.eq(r.manager_answers, nil)
end)

t.test("a reporting line changed afterwards opens none of the automated reviews to the new manager", function()
  local cid = db.value([[SELECT l.cycle_id FROM automation_cycles l JOIN automations a ON a.id = l.automation_id
    WHERE a.owner_id = ? ORDER BY l.cycle_id DESC LIMIT 1]], P.lena.id)
  local rid = db.value("SELECT id FROM reviews WHERE cycle_id = ? AND reviewee_id = ?", cid, P.victor.id)
  local victor = t.login(demo.email("victor"))
  t.status(victor:put("/api/reviews/" .. rid .. "/answers/self", { q1 = "Automated canary: heron at dawn", q6 = "Grow" }), 200)
  t.status(victor:post("/api/reviews/" .. rid .. "/submit"), 200)
  -- Victor's manager is Rachel; Ravi becomes his manager today (an HR Admin changes it)
  t.status(t.as("marcus"):patch("/api/users/" .. P.victor.id, { manager_id = P.ravi.id }), 200)
  local ravi = t.login(demo.email("ravi"))
  local res = ravi:get("/api/reviews/" .. rid)
  t.ok(res.status == 403 or res.status == 404 or (res.json and res.json.self_answers == nil),
    "the new manager reads nothing of it")
  t.not_contains(res.body, "heron")
  t.contains(t.login(demo.email("rachel")):get("/api/reviews/" .. rid).body, "heron", "the writer fixed at the start does")
end)
