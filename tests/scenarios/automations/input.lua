-- Bad input is a clear 4xx that changes nothing; names are UTF-8; the form keeps what was typed
-- on a refusal (post/redirect/get); the list costs the same number of queries for 2 or 40
-- automations; the pages render for HR at any count.
local t = require "testing"
local db = require "lib.db"
local json = require "lib.json"

local P = t.demo()
local hr = t.as("marcus")
local TPL = t.status(hr:post("/api/cycles", { name = "Input template", start_date = "2026-01-05",
  self_due = "2026-01-12", manager_due = "2026-01-19", sign_due = "2026-01-26" }), 201).json

local function body(extra)
  local b = { name = "Input check", kind = "schedule", template_cycle_id = TPL.id, audience = { everyone = true },
    first_start = "2026-03-01", repeat_months = 3 }
  for k, v in pairs(extra or {}) do b[k] = v end
  return b
end

local function snapshot()
  return db.value("SELECT count(*) FROM automations") .. "/" .. db.value("SELECT count(*) FROM jobs WHERE key LIKE 'automation:%'")
end

t.test("bad input is refused with 422 naming the field, and nothing changes", function()
  local cases = {
    { { name = json.null }, "name" },
    { { name = string.rep("x", 121) }, "name" },
    { { kind = "weekly" }, "kind" },
    { { template_cycle_id = json.null }, "template_cycle_id" },
    { { template_cycle_id = "abc" }, "template_cycle_id" },
    { { audience = { everyone = false } }, "audience" },
    { { audience = { people = { 987654 } } }, "audience" },
    { { audience = { exclude = { P.alex and P.alex.id or 987654 } } }, "exclude" },
    { { first_start = "2026-01-05" }, "first_start" },
    { { first_start = "2025-12-01" }, "first_start" },
    { { first_start = "2026-02-30" }, "first_start" },
    { { repeat_months = 25 }, "repeat_months" },
    { { repeat_until = "2026-02-01" }, "repeat_until" },
    { { repeat_months = json.null, repeat_until = "2026-12-01" }, "repeat_until" },
    { { kind = "after_hire_date", offset_amount = -3 }, "offset_amount" },
    { { kind = "after_hire_date", offset_amount = json.null }, "offset_amount" },
    { { kind = "after_hire_date", offset_amount = 5, offset_unit = "years" }, "offset_unit" },
  }
  local before = snapshot()
  for i, c in ipairs(cases) do
    local res = t.status(hr:post("/api/automations", body(c[1])), 422, "case " .. i)
    t.ok(res.json.error.fields[c[2]], ("case %d names %s: %s"):format(i, c[2], res.body))
  end
  t.status(hr:request("POST", "/api/automations", { body = "{not json", headers = { ["content-type"] = "application/json" } }), 400)
  t.eq(snapshot(), before, "nothing was created or planned")
end)

t.test("an edit with bad input changes nothing; the kind cannot change", function()
  local a = t.status(hr:post("/api/automations", body()), 201).json
  local row = db.row("SELECT * FROM automations WHERE id = ?", a.id)
  t.status(hr:patch("/api/automations/" .. a.id, { name = "", repeat_months = 99 }), 422)
  t.status(hr:patch("/api/automations/" .. a.id, { kind = "after_hire_date" }), 422)
  t.same(db.row("SELECT * FROM automations WHERE id = ?", a.id), row)
  t.status(hr:patch("/api/automations/999999", { name = "x" }), 404)
  t.status(hr:delete("/api/automations/999999"), 404)
end)

t.test("names are UTF-8: kept whole in the automation and the cycles it creates", function()
  local name = "Évaluation trimestrielle — 四半期 ✓"
  local a = t.status(hr:post("/api/automations", body({ name = name, first_start = "2026-01-10", repeat_months = 0 })), 201).json
  t.eq(a.name, name)
  t.run_jobs() -- created at once: 10 Jan is less than 7 days away
  local c = db.value("SELECT c.name FROM automation_cycles l JOIN cycles c ON c.id = l.cycle_id WHERE l.automation_id = ?", a.id)
  t.eq(c, name .. " — Jan 2026")
  t.contains(hr:get("/cycles/automations").body, "四半期")
  t.contains(hr:get("/cycles/automations/" .. a.id).body, "Évaluation")
end)

t.test("the form keeps what was typed when it is refused, then creates with post/redirect/get", function()
  local res = t.status(hr:form("/cycles/automations/new", { name = "Ünïcode review", kind = "schedule",
    template_cycle_id = tostring(TPL.id), audience_mode = "some", ["departments[]"] = "Finance", people = "",
    exclude = "", first_start = "2025-01-01", repeat_months = "3", active = "on" }), 303)
  t.eq(res.headers.location, "/cycles/automations/new")
  local page = t.status(hr:get("/cycles/automations/new"), 200).body
  t.contains(page, "Ünïcode review", "the name is kept")
  t.contains(page, "must be in the future")
  t.match(page, 'value="Finance" checked')
  -- a person nobody is called: refused on its field
  t.status(hr:form("/cycles/automations/new", { name = "People", kind = "schedule", template_cycle_id = tostring(TPL.id),
    audience_mode = "some", people = "Nobody Atall", exclude = "", first_start = "2026-06-01", repeat_months = "0" }), 303)
  t.contains(hr:get("/cycles/automations/new").body, "Nobody Atall")
  local ok = t.status(hr:form("/cycles/automations/new", { name = "Form made", kind = "after_hire_date",
    template_cycle_id = tostring(TPL.id), audience_mode = "some", people = P.mia.email .. ", " .. P.zoe.name,
    exclude = "", offset_amount = "2", offset_unit = "weeks", repeat_months = "0", active = "on" }), 303)
  t.match(ok.headers.location, "^/cycles/automations/%d+$")
  local id = tonumber(ok.headers.location:match("(%d+)$"))
  local a = t.status(hr:get("/api/automations/" .. id), 200).json
  t.eq(a.offset_amount, 2)
  t.eq(a.offset_unit, "weeks")
  t.same(a.audience.people, { P.mia.id, P.zoe.id })
  -- the edit form shows the people again, and saves
  t.contains(hr:get("/cycles/automations/" .. id .. "/edit").body, P.mia.email)
  t.status(hr:form("/cycles/automations/" .. id .. "/edit", { name = "Form edited", template_cycle_id = tostring(TPL.id),
    audience_mode = "some", people = P.mia.email, exclude = "", offset_amount = "3", offset_unit = "days",
    repeat_months = "0", active = "on" }), 303)
  t.eq(db.value("SELECT name || ':' || offset_amount FROM automations WHERE id = ?", id), "Form edited:3")
end)

t.test("deleting from the page needs the confirmation box", function()
  local a = t.status(hr:post("/api/automations", body()), 201).json
  local res = t.status(hr:form("/cycles/automations/" .. a.id .. "/delete", {}), 303)
  t.eq(res.headers.location, "/cycles/automations/" .. a.id .. "/delete")
  t.eq(db.value("SELECT count(*) FROM automations WHERE id = ?", a.id), 1)
  t.status(hr:form("/cycles/automations/" .. a.id .. "/delete", { confirm = "yes" }), 303)
  t.eq(db.value("SELECT count(*) FROM automations WHERE id = ?", a.id), 0)
end)

t.test("the list costs the same number of queries for few or many automations", function()
  local function cost()
    return t.count_queries(function() t.status(hr:get("/api/automations"), 200) end),
      t.count_queries(function() t.status(hr:get("/cycles/automations"), 200) end)
  end
  local api1, page1 = cost()
  for i = 1, 30 do t.status(hr:post("/api/automations", body({ name = ("Many %02d"):format(i) })), 201) end
  local api2, page2 = cost()
  t.eq(api2, api1, "API list")
  t.eq(page2, page1, "page")
end)

t.test("every page renders, with an empty state first", function()
  db.transaction(function() db.exec("DELETE FROM automations") end)
  local list = t.status(hr:get("/cycles/automations"), 200).body
  t.contains(list, "No automations yet")
  t.contains(list, "/cycles/automations/new")
  t.contains(t.status(hr:get("/cycles"), 200).body, "/cycles/automations", "the cycles page links to it")
  t.status(hr:get("/cycles/automations/new"), 200)
  t.contains(t.status(hr:get("/admin"), 200).body, "/cycles/automations")
end)

t.test("the edit form shows a repeat the menu does not list (set through the API)", function()
  local a = t.status(hr:post("/api/automations", body({ repeat_months = 5 })), 201).json
  t.match(t.status(hr:get("/cycles/automations/" .. a.id .. "/edit"), 200).body, '<option value="5" selected>Every 5 months')
end)
