-- Objective cycles: HR Admins and Assistants create and edit them, HR Admins delete them; who
-- takes part (everyone, new hires included, or selected people), who creates objectives
-- (employees, managers or both; HR always), copying a missed objective into a newer cycle.
local t = require "testing"
local db = require "lib.db"
local clock = require "core.clock"
local access = require "services.access"
local H = dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "_helpers.lua")

local P = t.demo()

t.test("HR Admins and Assistants create and edit cycles; Tech Admins and employees may not", function()
  local c = H.cycle({ by = "lena", name = "By the assistant" })
  t.eq(c.name, "By the assistant")
  t.status(H.as("lena"):patch("/api/objective-cycles/" .. c.id, { name = "Renamed by the assistant" }), 200)
  for _, key in ipairs({ "tom", "mia", "ravi" }) do
    t.status(H.as(key):post("/api/objective-cycles", { name = "x", starts_on = "2026-01-01", ends_on = "2026-02-01",
      edit_until = "2026-01-10", update_until = "2026-02-10" }), 403, key)
    t.status(H.as(key):patch("/api/objective-cycles/" .. c.id, { name = "taken" }), 403, key)
  end
  t.eq(db.value("SELECT name FROM objective_cycles WHERE id = ?", c.id), "Renamed by the assistant")
end)

t.test("only HR Admins delete a cycle, with every objective in it", function()
  local c = H.cycle({ name = "To delete" })
  H.objective("mia", c, { title = "Goes with it" })
  t.status(H.as("lena"):delete("/api/objective-cycles/" .. c.id), 403, "an HR Assistant")
  t.eq(db.value("SELECT count(*) FROM objectives WHERE cycle_id = ?", c.id), 1)
  t.status(H.as("marcus"):delete("/api/objective-cycles/" .. c.id), 204)
  t.eq(db.value("SELECT count(*) FROM objectives WHERE cycle_id = ?", c.id), 0)
  t.eq(db.value("SELECT action FROM audit_log ORDER BY id DESC LIMIT 1"), "objective_cycle.delete")
end)

t.test("bad input is refused with a message per field and creates nothing", function()
  local before = db.value("SELECT count(*) FROM objective_cycles")
  local res = H.as("marcus"):post("/api/objective-cycles", { name = "", starts_on = "2026-03-01", ends_on = "2026-02-01",
    edit_until = "2026-02-30", update_until = "2026-01-01", participants = "some", default_visibility = "secret",
    categories = { "A", "A" }, status_labels = { on_track = string.rep("x", 31) } })
  t.status(res, 422)
  local f = res.json.error.fields
  for _, k in ipairs({ "name", "ends_on", "edit_until", "participants", "default_visibility", "categories", "status_labels" }) do
    t.ok(f[k], k)
  end
  t.eq(db.value("SELECT count(*) FROM objective_cycles"), before)
end)

t.test("everyone takes part: new hires join automatically", function()
  local c = H.cycle({ name = "Everyone" })
  local hired = db.transaction(function()
    local now = clock.now()
    return db.insert([[INSERT INTO users(email, name, status, kind, manager_id, created_at, updated_at)
      VALUES('new.hire@northwind.example', 'New Hire', 'active', 'employee', ?, ?, ?)]], P.ravi.id, now, now)
  end)
  access.reload()
  local list = t.status(H.as("ravi"):post("/api/objectives", { cycle_id = c.id, owner_id = hired, title = "Onboard well" }), 201)
  t.eq(list.json.owner.id, hired)
  t.eq(t.status(H.as("marcus"):get("/api/objective-cycles/" .. c.id), 200).json.people,
    db.value("SELECT count(*) FROM users WHERE kind = 'employee' AND status <> 'deactivated'"))
end)

t.test("selected people: only they take part; objectives for anyone else are refused", function()
  local c = H.cycle({ name = "Pilot", participants = "selected" })
  local res = H.as("ravi"):post("/api/objectives", { cycle_id = c.id, owner_id = P.mia.id, title = "Not yet" })
  t.status(res, 422)
  t.contains(res.json.error.fields.owner_id, "does not take part")
  t.eq(t.status(H.as("marcus"):post("/api/objective-cycles/" .. c.id .. "/people", { user_ids = { P.mia.id, P.zoe.id } }), 200)
    .json.added, 2)
  t.status(H.as("ravi"):post("/api/objectives", { cycle_id = c.id, owner_id = P.mia.id, title = "Now yes" }), 201)
  t.eq(t.status(H.as("marcus"):request("DELETE", "/api/objective-cycles/" .. c.id .. "/people",
    { body = { user_ids = { P.zoe.id } } }), 200)
    .json.removed, 1)
  -- the cycle is not Lucas's business
  t.status(H.as("lucas"):get("/api/objective-cycles/" .. c.id), 404)
  t.status(H.as("mia"):get("/api/objective-cycles/" .. c.id), 200)
  local everyone = H.cycle({ name = "All of us" })
  t.status(H.as("marcus"):post("/api/objective-cycles/" .. everyone.id .. "/people", { user_ids = { P.mia.id } }), 409)
end)

t.test("creators = employees: everyone sets their own; managers not for their reports; HR always", function()
  local c = H.cycle({ name = "Own only", creators = "employees" })
  H.objective("mia", c, { title = "Mine" })
  local res = H.as("ravi"):post("/api/objectives", { cycle_id = c.id, owner_id = P.mia.id, title = "For Mia" })
  t.status(res, 422)
  t.contains(res.json.error.fields.owner_id, "everyone sets their own")
  H.objective("lena", c, { owner_id = P.mia.id, title = "HR on Mia's behalf" })
end)

t.test("creators = managers: managers set their reports'; someone without reports does not set their own", function()
  local c = H.cycle({ name = "Managers set", creators = "managers" })
  H.objective("ravi", c, { owner_id = P.mia.id, title = "For Mia" })
  H.objective("ravi", c, { title = "Ravi's own, he has a team" })
  local res = H.as("mia"):post("/api/objectives", { cycle_id = c.id, title = "Mine" })
  t.status(res, 422)
  t.contains(res.json.error.fields.owner_id, "managers set their reports")
  H.objective("marcus", c, { owner_id = P.mia.id, title = "HR on Mia's behalf" })
end)

t.test("nobody sets objectives for people they do not manage directly; one for several is all or nothing", function()
  local c = H.cycle({ name = "Both" })
  local before = db.value("SELECT count(*) FROM objectives")
  t.status(H.as("daniel"):post("/api/objectives", { cycle_id = c.id, owner_id = P.mia.id, title = "Skip level" }), 422)
  t.status(H.as("zoe"):post("/api/objectives", { cycle_id = c.id, owner_id = P.mia.id, title = "A peer's" }), 422)
  local res = H.as("ravi"):post("/api/objectives", { cycle_id = c.id, owner_ids = { P.mia.id, P.zoe.id }, title = "Both?" })
  t.status(res, 422, "Zoe is Lucas's report, not Ravi's")
  t.eq(db.value("SELECT count(*) FROM objectives"), before, "nobody got one")
  res = t.status(H.as("ravi"):post("/api/objectives", { cycle_id = c.id, owner_ids = { P.mia.id, P.lucas.id, P.omar.id },
    title = "Write the runbooks" }), 201)
  t.eq(#res.json.ids, 3)
end)

t.test("a missed objective is copied into a newer cycle open for editing, its key results back at the start", function()
  local old = H.cycle({ name = "Old" })
  local newer = H.cycle({ name = "Newer", starts_on = "2026-04-01", ends_on = "2026-06-30", edit_until = "2026-04-30",
    update_until = "2026-07-15" })
  local o = H.objective("mia", old, { title = "Publish the paper", visibility = "protected", named_ids = { P.zoe.id },
    key_results = { { kind = "number", title = "Drafts", start = 0, target = 3 } } })
  local res = H.as("mia"):post("/api/objectives/" .. o.id .. "/copy", { cycle_id = newer.id })
  t.status(res, 409, "only missed ones")
  t.status(H.as("mia"):patch("/api/objectives/" .. o.id, { status = "missed", results = { { id = o.key_results[1].id,
    current = 2 } } }), 200)
  t.status(H.as("mia"):post("/api/objectives/" .. o.id .. "/copy", { cycle_id = old.id }), 422, "not into its own cycle")
  t.status(H.as("zoe"):post("/api/objectives/" .. o.id .. "/copy", { cycle_id = newer.id }), 403, "named: reads, no more")
  local copy = t.status(H.as("mia"):post("/api/objectives/" .. o.id .. "/copy", { cycle_id = newer.id }), 201).json
  t.eq(copy.cycle_id, newer.id)
  t.eq(copy.title, "Publish the paper")
  t.eq(copy.status, "on_track")
  t.eq(copy.visibility, "protected")
  t.eq(copy.key_results[1].current, 0, "back at the start")
  t.eq(copy.named[1].id, P.zoe.id)
  t.eq(t.status(H.as("mia"):get("/objectives/" .. o.id), 200).body:find("Copied into a newer cycle", 1, true) ~= nil, true)
end)
