-- Every id-based 360 route, called by people with no business with the object (an employee, a
-- Tech Admin, a guest, the admin of another cycle): refused, and nothing changes.
local t = require "testing"
local demo = require "demo"
local db = require "lib.db"

local P = t.demo()
local function login(key) return t.login(demo.email(key)) end
local GUEST = "alex.morgan@clientcorp.example"
local ids = {}

-- A hash of everything 360 (and the outbox): a refused call must leave it as it was.
local function state()
  local parts = {}
  for _, tbl in ipairs({ "feedback_cycles", "feedback_subjects", "feedback_nominations", "feedback_answers",
    "feedback_cycle_admins", "feedback_events", "outbox", "workflow_batches" }) do
    for _, row in ipairs(db.query("SELECT * FROM " .. tbl .. " ORDER BY 1, 2")) do
      local keys = {}
      for k in pairs(row) do keys[#keys + 1] = k end
      table.sort(keys)
      for _, k in ipairs(keys) do parts[#parts + 1] = k .. "=" .. tostring(row[k]) end
    end
  end
  return table.concat(parts, ";")
end

t.test("setup: two cycles; Ethan's 360 in A with Mia writing; Zoe is an assistant of cycle B only", function()
  local hr = login("marcus")
  local a = t.status(hr:post("/api/feedback/cycles", { name = "A", start_date = "2026-01-05",
    rules = { min = 0, max = 5, suggested = 1 }, visibility = { direct_manager_reads = true } }), 201).json
  local b = t.status(hr:post("/api/feedback/cycles", { name = "B", start_date = "2026-01-05" }), 201).json
  t.status(hr:post("/api/feedback/cycles/" .. a.id .. "/reviewees", { user_ids = { P.ethan.id } }), 200)
  t.status(hr:post("/api/feedback/cycles/" .. a.id .. "/start"), 200)
  t.status(hr:put("/api/feedback/cycles/" .. b.id .. "/admins", { admins = { { user_id = P.zoe.id, role = "assistant" } } }), 200)
  ids.a, ids.b = a.id, b.id
  ids.subject = db.value("SELECT id FROM feedback_subjects WHERE cycle_id = ?", a.id)
  t.status(hr:post("/api/feedback/360/" .. ids.subject .. "/nominations", { reviewer_id = P.mia.id }), 201)
  t.status(hr:post("/api/feedback/approvals", { subject_ids = { ids.subject } }), 200)
  ids.request = db.value("SELECT id FROM feedback_nominations WHERE subject_id = ? AND reviewer_id = ?", ids.subject, P.mia.id)
  t.status(login("mia"):put("/api/feedback/requests/" .. ids.request .. "/answers", { q1 = "Ethan is kind." }), 200)
  t.status(login("mia"):post("/api/feedback/requests/" .. ids.request .. "/share"), 200)
  t.status(login("zoe"):get("/api/feedback/cycles/" .. ids.b), 200, "Zoe tracks her own cycle")
end)

local function calls()
  local A, S, R = ids.a, ids.subject, ids.request
  return {
    { "GET", "/api/feedback/cycles/" .. A }, { "PATCH", "/api/feedback/cycles/" .. A, { name = "Taken" } },
    { "DELETE", "/api/feedback/cycles/" .. A }, { "POST", "/api/feedback/cycles/" .. A .. "/copy" },
    { "POST", "/api/feedback/cycles/" .. A .. "/start" }, { "POST", "/api/feedback/cycles/" .. A .. "/transitions", { to = "closed" } },
    { "GET", "/api/feedback/cycles/" .. A .. "/reviewees" },
    { "POST", "/api/feedback/cycles/" .. A .. "/reviewees", { user_ids = { P.zoe.id } } },
    { "DELETE", "/api/feedback/cycles/" .. A .. "/reviewees", { user_ids = { P.ethan.id } } },
    { "PUT", "/api/feedback/cycles/" .. A .. "/admins", { admins = { { user_id = P.zoe.id, role = "admin" } } } },
    { "POST", "/api/feedback/cycles/" .. A .. "/reminders/preview", { audience = "not_written" } },
    { "POST", "/api/feedback/cycles/" .. A .. "/reminders", { audience = "not_written" } },
    { "GET", "/api/feedback/cycles/" .. A .. "/export.xlsx" }, { "GET", "/api/feedback/cycles/" .. A .. "/team" },
    { "GET", "/api/feedback/360/" .. S }, { "GET", "/api/feedback/360/" .. S .. "/candidates?q=a" },
    { "POST", "/api/feedback/360/" .. S .. "/nominations", { reviewer_id = P.zoe.id } },
    { "POST", "/api/feedback/360/" .. S .. "/submit" }, { "POST", "/api/feedback/360/" .. S .. "/release" },
    { "POST", "/api/feedback/360/" .. S .. "/nudge" }, { "GET", "/api/feedback/360/" .. S .. "/pdf" },
    { "POST", "/api/feedback/approvals", { subject_ids = { S } } },
    { "GET", "/api/feedback/requests/" .. R }, { "DELETE", "/api/feedback/requests/" .. R },
    { "PUT", "/api/feedback/requests/" .. R .. "/answers", { q1 = "Overwritten" } },
    { "POST", "/api/feedback/requests/" .. R .. "/share" }, { "POST", "/api/feedback/requests/" .. R .. "/decline", { reason = "No thanks" } },
    { "POST", "/api/feedback/requests/" .. R .. "/reopen", { reason = "Because I say so" } },
    -- pages
    { "GET", "/feedback/cycles/" .. A }, { "GET", "/feedback/cycles/" .. A .. "/edit" },
    { "GET", "/feedback/cycles/" .. A .. "/questions" }, { "GET", "/feedback/cycles/" .. A .. "/reviewees" },
    { "GET", "/feedback/cycles/" .. A .. "/admins" }, { "GET", "/feedback/cycles/" .. A .. "/approvals" },
    { "GET", "/feedback/cycles/" .. A .. "/team" }, { "GET", "/feedback/cycles/" .. A .. "/export.xlsx" },
    { "GET", "/feedback/360/" .. S }, { "GET", "/feedback/360/" .. S .. "/pdf" }, { "GET", "/feedback/requests/" .. R },
    { "FORM", "/feedback/cycles/" .. A .. "/edit", { name = "Taken" } }, { "FORM", "/feedback/cycles/" .. A .. "/delete" },
    { "FORM", "/feedback/cycles/" .. A .. "/start" }, { "FORM", "/feedback/cycles/" .. A .. "/copy" },
    { "FORM", "/feedback/cycles/" .. A .. "/reviewees", { ["ids[]"] = tostring(P.zoe.id) } },
    { "FORM", "/feedback/cycles/" .. A .. "/questions", { op = "save" } },
    { "FORM", "/feedback/cycles/" .. A .. "/reminders", { audience = "not_written", confirm = "1" } },
    { "FORM", "/feedback/cycles/" .. A .. "/approvals", { ["subject_ids[]"] = tostring(S) } },
    { "FORM", "/feedback/360/" .. S .. "/nominate", { reviewer_id = tostring(P.zoe.id) } },
    { "FORM", "/feedback/360/" .. S .. "/approve" }, { "FORM", "/feedback/360/" .. S .. "/release" },
    { "FORM", "/feedback/requests/" .. R, { q_q1 = "Overwritten", after = "share" } },
    { "FORM", "/feedback/requests/" .. R .. "/decline", { reason = "No thanks" } },
    { "FORM", "/feedback/requests/" .. R .. "/remove" }, { "FORM", "/feedback/requests/" .. R .. "/reopen", { reason = "Because" } },
  }
end

local function refused(who, client)
  local before = state()
  for _, c in ipairs(calls()) do
    local res
    if c[1] == "FORM" then res = client:form(c[2], c[3] or {})
    else res = client:request(c[1], c[2], { body = c[3] }) end
    local ok = res.status == 403 or res.status == 404 or res.status == 409
      or (res.status == 303 and (res.headers.location or ""):find("^/feedback") ~= nil
        and (res.headers["set-cookie"] or ""):find("candor_flash", 1, true) ~= nil)
    if res.status == 303 then
      -- a refused form comes back to its page with the reason; it must not have done anything
      local flash = tostring(res.headers["set-cookie"])
      t.ok(flash:find("candor_flash", 1, true), who .. " " .. c[1] .. " " .. c[2] .. ": a redirect without a message")
    end
    t.ok(ok, ("%s %s %s answered %d"):format(who, c[1], c[2], res.status))
  end
  t.eq(state(), before, who .. ": nothing changed")
end

t.test("an employee with no part in Ethan's 360 is refused everything", function() refused("zoe", login("zoe")) end)
t.test("a Tech Admin is refused everything", function() refused("tom", login("tom")) end)
t.test("a guest is refused everything", function() refused("guest", t.login(GUEST)) end)
t.test("a peer of Ethan's (not asked) is refused everything", function() refused("leo", login("leo")) end)

t.test("the reviewer herself reads and writes her own request, and nothing else", function()
  local mia = login("mia")
  t.status(mia:get("/api/feedback/requests/" .. ids.request), 200)
  t.status(mia:get("/api/feedback/360/" .. ids.subject), 404, "not Ethan's whole 360")
  t.status(mia:get("/api/feedback/cycles/" .. ids.a), 403)
end)
