-- The admin pages: only HR Admins edit workflows; the editor checks, dry-runs and saves (only a
-- text that passed a check), keeps the history and says which cycles run which version.
local t = require "testing"
local F = dofile("tests/scenarios/workflows/_fixtures.lua")
local wf = require "services.workflows"
local crypto = require "core.crypto"
local demo = require "demo"

local P = t.demo()
local hr = t.login(demo.email("marcus"))
local B = wf.builtin_source("performance_review")
local cycle = F.cycle({ name = "Autumn reviews", start_date = "2026-01-05", self_due = "2026-01-19",
  manager_due = "2026-02-02", sign_due = "2026-02-16" })
F.reviews(cycle, { zoe = P.zoe, ethan = P.ethan })

local function sha(s) return crypto.hex(crypto.sha256(s)) end
local EDITED = B:gsub('offset = %-3', 'offset = -5', 1)

t.test("only HR Admins may open the workflow pages; assistants, Tech Admins and employees may not", function()
  t.status(hr:get("/admin/workflows"), 200)
  t.status(hr:get("/admin/workflows/performance_review"), 200)
  for _, who in ipairs({ "lena", "tom", "zoe" }) do
    local c = t.login(demo.email(who))
    t.status(c:get("/admin/workflows"), 403, who)
    t.status(c:get("/api/workflows/performance_review"), 403, who)
    t.status(c:put("/api/workflows/performance_review", { source = B }), 403, who)
    t.status(c:post("/api/workflows/performance_review/check", { source = B }), 403, who)
  end
  t.status(t.client():get("/api/workflows/performance_review"), 401)
end)

t.test("the admin overview links to the workflow pages", function()
  t.contains(hr:get("/admin").body, 'href="/admin/workflows"')
end)

t.test("the list says which version new cycles use; an unknown workflow is a 404", function()
  local body = hr:get("/admin/workflows").body
  t.contains(body, "Performance review")
  t.contains(body, "Built-in")
  t.status(hr:get("/admin/workflows/nope"), 404)
  t.status(hr:get("/api/workflows/nope"), 404)
  t.status(hr:get("/admin/workflows/..%2Fetc"), 404)
end)

t.test("the editor holds the current script in a monospace textarea; Save waits for a check", function()
  local body = hr:get("/admin/workflows/performance_review").body
  t.contains(body, '<textarea id="source" name="source" class="code-editor"')
  t.contains(body, "phases = {")
  t.contains(body, 'value="save" disabled')
  t.contains(body, "<option value=\"" .. cycle.id .. "\">Autumn reviews")
  t.not_contains(body, "<script>")
end)

t.test("Check shows the problems with their lines, escaped, and keeps the text", function()
  local bad = B:gsub('at = "self_due"', 'at = "<b>self_deu</b>"', 1)
  local posted = t.status(hr:form("/admin/workflows/performance_review", { action = "check", source = bad }), 303)
  t.eq(posted.headers.location, "/admin/workflows/performance_review#result")
  local res = t.status(hr:follow(posted), 200)
  t.contains(res.body, "The script has 1 problem")
  t.contains(res.body, "line 40: timeline[3] (at &lt;b&gt;self_deu&lt;/b&gt;): unknown anchor")
  t.not_contains(res.body, "<b>self_deu</b>")
  t.contains(res.body, "&lt;b&gt;self_deu&lt;/b&gt;")
  t.contains(res.body, 'value="save" disabled')
end)

t.test("a passed check enables Save for exactly that text", function()
  local res = hr:follow(hr:form("/admin/workflows/performance_review", { action = "check", source = EDITED }))
  t.status(res, 200)
  t.contains(res.body, "The script is valid.")
  t.contains(res.body, "Phases: Draft → Writing and sharing → Closed")
  t.contains(res.body, '<input type="hidden" name="checked" value="' .. sha(EDITED) .. '">')
  t.not_contains(res.body, 'value="save" disabled')
end)

t.test("saving a text other than the one checked is refused", function()
  local res = hr:follow(hr:form("/admin/workflows/performance_review", { action = "save", source = EDITED .. "\n-- changed",
    checked = sha(EDITED) }))
  t.status(res, 200)
  t.contains(res.body, "Check the script (or dry-run it) before saving")
  t.contains(res.body, "-- changed</textarea>", "the changed text stays in the editor")
  t.eq(wf.current_version("performance_review").origin, "builtin")
end)

t.test("Dry run shows the dated list for the chosen cycle; without a cycle it asks for one", function()
  local res = hr:follow(hr:form("/admin/workflows/performance_review", { action = "dry_run", source = EDITED,
    cycle_id = tostring(cycle.id) }))
  t.status(res, 200)
  t.contains(res.body, "Dry run against “Autumn reviews”")
  t.contains(res.body, "14 Jan 2026") -- self_due - 5
  t.contains(res.body, "5 days before the self-assessment due date")
  t.contains(res.body, "Reminder: your self-assessment for Autumn reviews (due 19 Jan 2026)")
  t.contains(res.body, "Ethan Brooks")
  t.contains(res.body, '<option value="' .. cycle.id .. '" selected>')
  local none = hr:follow(hr:form("/admin/workflows/performance_review", { action = "dry_run", source = EDITED }))
  t.status(none, 200)
  t.contains(none.body, "Choose a cycle to dry-run the workflow against.")
end)

t.test("saving after a check makes a version with its note; the history says which cycles run which", function()
  wf.start(cycle, P.marcus) -- runs the built-in
  local res = hr:form("/admin/workflows/performance_review", { action = "save", source = EDITED,
    checked = sha(EDITED), note = "earlier self reminder" })
  t.status(res, 303)
  t.eq(res.headers.location, "/admin/workflows/performance_review")
  local v = wf.current_version("performance_review")
  t.eq(v.origin, "admin")
  t.eq(v.note, "earlier self reminder")
  t.eq(v.created_by, P.marcus.id)
  local page = hr:get("/admin/workflows/performance_review").body
  t.contains(page, "Saved as version " .. v.id)
  t.contains(page, "earlier self reminder")
  t.contains(page, '<a href="/cycles/' .. cycle.id .. '">Autumn reviews</a>')
  t.contains(page, "Stop customising")
  local audit = require("lib.db").row("SELECT * FROM audit_log WHERE action = 'workflow.saved' ORDER BY id DESC LIMIT 1")
  t.eq(audit.actor_id, P.marcus.id)
  t.eq(audit.target_id, v.id)
end)

t.test("a version's page shows its text and cycles; an older version can be chosen again", function()
  local builtin = require("lib.db").row("SELECT * FROM workflow_versions WHERE origin = 'builtin' AND name = 'performance_review'")
  local page = hr:get("/admin/workflows/performance_review/versions/" .. builtin.id)
  t.status(page, 200)
  t.contains(page.body, "Autumn reviews")
  t.contains(page.body, "Use for new cycles")
  t.contains(page.body, "offset = -3")
  t.status(hr:get("/admin/workflows/performance_review/versions/9999"), 404)
  t.status(hr:form("/admin/workflows/performance_review/versions/" .. builtin.id .. "/use", {}), 303)
  t.eq(wf.current_version("performance_review").id, builtin.id)
  t.status(hr:form("/admin/workflows/performance_review/versions/9999/use", {}), 404)
end)

t.test("loading a version or the built-in into the editor", function()
  local v = require("lib.db").row("SELECT * FROM workflow_versions WHERE origin = 'admin'")
  local body = hr:get("/admin/workflows/performance_review?from=" .. v.id).body
  t.contains(body, "Loaded version " .. v.id)
  t.contains(body, "offset = -5")
  t.contains(hr:get("/admin/workflows/performance_review?builtin=1").body, "Loaded the built-in script")
end)

t.test("state changes need the CSRF token", function()
  local c = t.login(demo.email("marcus"))
  c.auto_csrf = false
  t.status(c:request("POST", "/admin/workflows/performance_review", { form = { action = "check", source = B } }), 403)
  t.status(c:request("PUT", "/api/workflows/performance_review", { body = { source = B } }), 403)
end)

t.test("the API: PUT refuses an invalid script with every problem listed", function()
  local res = hr:put("/api/workflows/performance_review", { source = B:gsub('"hr_assistant", "cycle_admin"', '"boss", '
    .. '"cycle_admin"', 1) })
  t.status(res, 422)
  t.eq(res.json.error.code, "invalid")
  t.match(res.json.error.details[1], '^line 28: transitions%[1%] %(draft %-> writing%): unknown role "boss"')
  t.status(hr:put("/api/workflows/performance_review", { note = "no source" }), 422)
  local info = hr:get("/api/workflows/performance_review").json
  t.eq(info.builtin.source, B)
  t.eq(#info.versions, 2)
  t.eq(info.current.definition.phases[1].id, "writing")
end)

t.test("a dry run against a running cycle shows what its own version sends, and says so", function()
  local running = F.cycle({ name = "Running reviews", start_date = "2026-01-05", self_due = "2026-01-19",
    manager_due = "2026-02-02", sign_due = "2026-02-16" })
  F.reviews(running, { zoe = P.zoe })
  wf.start(running, P.marcus)
  local pinned = F.reload(running).workflow_version_id
  -- the page: the edited text moves the first reminder to 5 days before; the running cycle keeps 3
  local res = hr:follow(hr:form("/admin/workflows/performance_review", { action = "dry_run", source = EDITED,
    cycle_id = tostring(running.id) }))
  t.status(res, 200)
  t.contains(res.body, "Dry run against “Running reviews”")
  t.contains(res.body, "“Running reviews” started with version " .. pinned .. " and keeps it")
  t.contains(res.body, "16 Jan 2026", "self_due - 3, as the cycle's own version says")
  t.not_contains(res.body, "14 Jan 2026", "not the edited text's date")
  -- the API says which version it ran
  local api = t.status(hr:post("/api/workflows/performance_review/dry-run", { cycle_id = running.id, source = EDITED }),
    200).json
  t.eq(api.version_id, pinned)
  t.contains(api.note, "keeps it")
  local reminder
  for _, it in ipairs(api.items) do if it.template == "review.self_reminder" and not reminder then reminder = it end end
  t.eq(reminder.date, "2026-01-16")
  -- a text with problems is still refused first
  t.status(hr:post("/api/workflows/performance_review/dry-run", { cycle_id = running.id, source = "return {" }), 422)
  -- a draft cycle is dry-run with the text itself, as before
  local draft_cycle = F.cycle({ name = "Draft reviews", start_date = "2026-03-02", self_due = "2026-03-16",
    manager_due = "2026-03-30", sign_due = "2026-04-13" })
  local draft = t.status(hr:post("/api/workflows/performance_review/dry-run", { cycle_id = draft_cycle.id,
    source = EDITED }), 200).json
  t.eq(draft.note, nil)
  for _, it in ipairs(draft.items) do
    if it.template == "review.self_reminder" then t.eq(it.date, "2026-03-11", "the edited text's date") break end
  end
end)
