-- Who reads a 1:1, told as a story. Ravi (an engineering manager) meets Mia, who reports to him;
-- Lucas and Mia (both Ravi's reports) meet as peers. Shared items: the two participants only.
-- Private items: their author only — not the other participant, not the managers of either, not
-- HR Admins, not a super user. Only the author changes or deletes an item.
local t = require "testing"
local db = require "lib.db"
local H = dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "_helpers.lua")

local P = t.demo()
local series = H.start("ravi", "mia", { title = "Ravi / Mia weekly" })
local mid = series.meeting_id
local shared = H.add("ravi", mid, { kind = "point", text = "How is the on-call rotation going?" })
local ravi_private = H.add("ravi", mid, { kind = "point", text = "Raise the promotion case with Daniel", private = true })
local mia_private = H.add("mia", mid, { kind = "note", text = "I want to ask about moving to the mobile team",
  private = true })
local action = H.add("mia", mid, { kind = "action", text = "Write the on-call handbook", due_date = "2026-01-20" })

t.test("both participants read the series, the meeting and its shared items", function()
  for _, key in ipairs({ "ravi", "mia" }) do
    local texts = H.texts(key, mid)
    t.ok(texts["How is the on-call rotation going?"], key .. " reads the shared point")
    t.ok(texts["Write the on-call handbook"], key .. " reads the shared action item")
    t.eq(t.status(H.as(key):get("/api/meeting-series/" .. series.id), 200).json.title, "Ravi / Mia weekly")
  end
end)

t.test("a private talking point is read by its author only, not by the other participant", function()
  t.ok(H.texts("ravi", mid)["Raise the promotion case with Daniel"], "Ravi reads his own")
  t.no(H.texts("mia", mid)["Raise the promotion case with Daniel"], "Mia does not see Ravi's private point")
  t.ok(H.texts("mia", mid)["I want to ask about moving to the mobile team"], "Mia reads her own note")
  t.no(H.texts("ravi", mid)["I want to ask about moving to the mobile team"], "Ravi, her manager, does not")
  local page = t.status(H.as("mia"):get("/meetings/" .. mid), 200).body
  t.not_contains(page, "promotion case", "nor on the meeting page")
  t.contains(page, "How is the on-call rotation going?")
end)

t.test("the other participant cannot open a private item by its id either", function()
  local mia = H.as("mia")
  t.status(mia:patch("/api/meetings/" .. mid .. "/items/" .. ravi_private.id, { text = "hijacked" }), 404)
  t.status(mia:post("/api/meetings/" .. mid .. "/items/" .. ravi_private.id .. "/done", { done = true }), 404)
  t.status(mia:delete("/api/meetings/" .. mid .. "/items/" .. ravi_private.id), 404)
  t.status(mia:get("/meetings/" .. mid .. "?edit=" .. ravi_private.id), 200)
  t.not_contains(mia:get("/meetings/" .. mid .. "?edit=" .. ravi_private.id).body, "promotion case")
  t.eq(db.value("SELECT done_at FROM meeting_items WHERE id = ?", ravi_private.id), nil, "nothing changed")
end)

t.test("HR Admins, a super user and the managers of both read nothing of the 1:1, shared or private", function()
  -- Marcus: HR Admin; Priya: HR Admin + Tech Admin; Daniel: Ravi's manager and Mia's manager's manager;
  -- Olivia: the CEO, above everyone
  for _, key in ipairs({ "marcus", "priya", "daniel", "olivia" }) do
    local c = H.as(key)
    t.status(c:get("/api/meetings/" .. mid), 404, key .. ": the meeting")
    t.status(c:get("/meetings/" .. mid), 404, key .. ": the meeting page")
    t.status(c:get("/api/meeting-series/" .. series.id), 404, key .. ": the series")
    t.eq(#t.status(c:get("/api/meeting-series"), 200).json.series, 0, key .. ": not in their list")
    t.not_contains(c:get("/meetings").body, "Ravi / Mia weekly", key .. ": not on their meetings page")
  end
end)

t.test("a 1:1 between two peers is not read by their shared manager nor by HR", function()
  local peers = H.start("lucas", "mia", { title = "Peer mentoring" })
  H.add("lucas", peers.meeting_id, { kind = "point", text = "Pairing on the release tooling" })
  t.ok(H.texts("mia", peers.meeting_id)["Pairing on the release tooling"], "the other participant reads it")
  for _, key in ipairs({ "ravi", "daniel", "marcus", "priya" }) do
    local texts, status = H.texts(key, peers.meeting_id)
    t.eq(texts, nil, key)
    t.eq(status, 404, key)
  end
  -- nor does Ravi's team page say anything about it: its dates are between him and each report only
  local team = t.status(H.as("ravi"):get("/team"), 200).body
  t.not_contains(team, "Peer mentoring")
end)

t.test("only the author edits or deletes an item; the other participant is refused and nothing changes", function()
  local mia = H.as("mia")
  local res = t.status(mia:patch("/api/meetings/" .. mid .. "/items/" .. shared.id, { text = "Mia's version" }), 403)
  t.contains(res.json.error.message, "Only the person who wrote it")
  t.status(mia:delete("/api/meetings/" .. mid .. "/items/" .. shared.id), 403)
  t.status(mia:form("/meetings/" .. mid .. "/items/" .. shared.id .. "/delete", {}), 303)
  t.ok(H.texts("ravi", mid)["How is the on-call rotation going?"], "still there, unchanged")
  t.ok(db.value("SELECT 1 FROM meeting_items WHERE id = ?", shared.id))
  -- Ravi, the author, may
  local edited = t.status(H.as("ravi"):patch("/api/meetings/" .. mid .. "/items/" .. shared.id,
    { text = "How is on-call going?" }), 200).json
  t.eq(edited.text, "How is on-call going?")
  t.ok(H.texts("mia", mid)["How is on-call going?"], "Mia reads the new text")
end)

t.test("the other participant may tick a shared item off; a private one stays its author's", function()
  local res = t.status(H.as("ravi"):post("/api/meetings/" .. mid .. "/items/" .. action.id .. "/done", { done = true }), 200)
  t.eq(res.json.done, true, "Ravi ticks Mia's shared action item")
  t.status(H.as("ravi"):post("/api/meetings/" .. mid .. "/items/" .. action.id .. "/done", { done = false }), 200)
  t.status(H.as("ravi"):post("/api/meetings/" .. mid .. "/items/" .. mia_private.id .. "/done", { done = true }), 404)
end)

t.test("making an item private hides it from the other participant; sharing it shows it again", function()
  local ravi = H.as("ravi")
  t.status(ravi:patch("/api/meetings/" .. mid .. "/items/" .. shared.id, { private = true }), 200)
  t.no(H.texts("mia", mid)["How is on-call going?"], "now private")
  t.status(ravi:form("/meetings/" .. mid .. "/items/" .. shared.id .. "/privacy", { private = "off" }), 303)
  t.ok(H.texts("mia", mid)["How is on-call going?"], "shared again")
end)

t.test("a private action item is its author's own: it cannot be assigned to the other participant", function()
  local res = t.status(H.as("ravi"):post("/api/meetings/" .. mid .. "/items", { kind = "action", text = "Secret task",
    private = true, assignee_id = P.mia.id }), 422)
  t.ok(res.json.error.fields.assignee_id)
  t.eq(db.value("SELECT count(*) FROM meeting_items WHERE kind = 'action' AND private = 1"), 0, "nothing added")
  t.status(H.as("ravi"):patch("/api/meetings/" .. mid .. "/items/" .. action.id, { assignee_id = P.olivia.id }), 403,
    "Ravi did not write Mia's action item")
end)

-- Impersonation: a super user acting as Mia sees what Mia shares with Ravi (audit-logged), never
-- her private items, and changes nothing.
local function impersonate(key)
  local c = t.login(require("demo").email("priya"))
  t.status(c:form("/people/" .. P[key].id .. "/impersonate", {}), 303)
  c.csrf = c:get("/home").body:match('name="csrf%-token" content="([^"]+)"')
  return c
end

t.test("a super user impersonating Mia reads the shared items, never her private ones, and it is logged", function()
  local c = impersonate("mia")
  local res = t.status(c:get("/api/meetings/" .. mid), 200)
  local texts = {}
  for _, i in ipairs(res.json.items) do texts[i.text] = true end
  t.ok(texts["Write the on-call handbook"], "shared: as Mia would")
  t.no(texts["I want to ask about moving to the mobile team"], "Mia's private note: not for the impersonator")
  t.no(texts["Raise the promotion case with Daniel"], "Ravi's private point: not Mia's either")
  t.not_contains(c:get("/meetings/" .. mid).body, "moving to the mobile team")
  local e = db.row("SELECT * FROM audit_log WHERE action = 'one_on_one.viewed' ORDER BY id DESC LIMIT 1")
  t.ok(e, "the view is in the audit log")
  t.eq(e.target_id, mid)
  t.contains(e.details, "impersonated_by")
end)

t.test("while impersonating, 1:1s are read-only", function()
  local c = impersonate("mia")
  local before = db.value("SELECT count(*) FROM meeting_items")
  t.status(c:post("/api/meetings/" .. mid .. "/items", { kind = "point", text = "as Mia" }), 403)
  t.status(c:post("/api/meetings/" .. mid .. "/done"), 403)
  t.status(c:post("/api/meetings/" .. mid .. "/items/" .. action.id .. "/done", { done = true }), 403)
  t.status(c:post("/api/meeting-series", { with_id = P.lucas.id, date = "2026-02-02" }), 403)
  t.eq(db.value("SELECT count(*) FROM meeting_items"), before)
  t.eq(db.value("SELECT status FROM meetings WHERE id = ?", mid), "upcoming")
end)

t.test("the decision for each kind of reader comes from the evaluator's rows", function()
  local authz = require "core.authz"
  t.same({ authz.check(P.mia.id, "one_on_ones.read", { rel = { participant = true } }) }, { true, "part:participant" })
  t.same({ authz.check(P.marcus.id, "one_on_ones.read", { rel = { participant = false } }) }, { false, "no_role" })
  t.same({ authz.check(P.priya.id, "one_on_ones.read_private", { rel = { author = false } }) }, { false, "no_role" })
  t.same({ authz.check(P.ravi.id, "one_on_ones.read_private", { rel = { author = true } }) }, { true, "part:author" })
  t.same({ authz.check(P.mia.id, "one_on_ones.edit_item", { rel = { author = false } }) }, { false, "no_role" })
end)
