-- The edit and update windows on the virtual clock (it starts on Monday 5 January 2026): until
-- "edit until" (31 January) the owner changes everything; until "update until" (15 April) only
-- the status, key-result values, the rating and comments; afterwards the objective is read-only.
-- Each deadline includes its day. A refused change changes nothing. Who may change: the owner,
-- their direct manager, whoever set it for them; nobody else.
local t = require "testing"
local db = require "lib.db"
local H = dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "_helpers.lua")

t.demo()
local q1 = H.cycle({ rating = true })
local o = H.objective("mia", q1, { title = "Migrate storage", key_results = {
  { kind = "number", title = "Tables migrated", start = 0, target = 40 }, { kind = "check", title = "Runbook written" } } })
local kr_number, kr_check = o.key_results[1].id, o.key_results[2].id
-- set for Mia by Lena, an HR Assistant, on her behalf
local by_hr = H.objective("lena", q1, { owner_id = H.id("mia"), title = "Set by HR for Mia" })

local function snapshot()
  return db.row("SELECT title_enc, status, progress, rating, visibility, due_on, updated_at FROM objectives WHERE id = ?", o.id)
end

local function patch(key, body) return H.as(key):patch("/api/objectives/" .. o.id, body) end

t.test("until edit until, the owner changes everything, on the last day too", function()
  t.status(patch("mia", { title = "Migrate storage to the new cluster", visibility = "protected", due_on = "2026-03-15" }), 200)
  t.status(patch("mia", { key_results = { { id = kr_number, kind = "number", title = "Tables migrated", start = 0, target = 40 },
    { id = kr_check, kind = "check", title = "Runbook written" }, { kind = "check", title = "Old cluster switched off" } } }), 200)
  t.advance_to("2026-01-31T22:00:00Z")
  local res = t.status(patch("mia", { description = "Edited on the last day" }), 200).json
  t.eq(res.description, "Edited on the last day")
  t.eq(#res.key_results, 3)
  t.eq(res.window, "edit")
  -- HR's objective for Mia: its author (Lena) edits it, a peer does not
  t.status(H.as("lena"):patch("/api/objectives/" .. by_hr.id, { title = "Set by HR, edited by HR" }), 200)
  t.status(H.as("zoe"):patch("/api/objectives/" .. by_hr.id, { title = "Hijacked" }), 403)
end)

t.test("after edit until: title, key results, visibility, alignment and deleting are refused with nothing changed", function()
  t.advance_to("2026-02-01T09:00:00Z")
  local before = snapshot()
  for _, body in ipairs({ { title = "Sneaky rename" }, { visibility = "public" }, { due_on = "2026-06-30" },
      { key_results = {} }, { named_ids = { H.id("zoe") } }, { level = "individual", parent_id = 0 } }) do
    local res = patch("mia", body)
    t.status(res, 409, next(body))
    t.contains(res.json.error.message, "only the status, key-result values, the rating and comments")
  end
  t.status(H.as("mia"):delete("/api/objectives/" .. o.id), 409)
  t.same(snapshot(), before)
  -- nor can new objectives be set in the cycle
  local res = H.as("mia"):post("/api/objectives", { cycle_id = q1.id, title = "Late one" })
  t.status(res, 409)
  t.eq(db.value("SELECT count(*) FROM objectives WHERE cycle_id = ?", q1.id), 2, "Mia's and the one HR set")
end)

t.test("after edit until: status, key-result values, the rating and comments still change, recorded in the thread", function()
  local res = t.status(patch("mia", { status = "at_risk", results = { { id = kr_number, current = 10 }, { id = kr_check, done = true } },
    rating = 3, note = "Slower than planned" }), 200).json
  t.eq(res.status, "at_risk")
  t.eq(res.rating, 3)
  t.eq(res.progress, 42, "(25% + 100% + 0%) / 3")
  local update = res.thread[#res.thread]
  t.eq(update.kind, "update")
  t.eq(update.body, "Slower than planned")
  t.same(update.changes.status, { from = "on_track", to = "at_risk" })
  t.status(H.as("mia"):post("/api/objectives/" .. o.id .. "/comments", { body = "Cluster vendor fixed the bug." }), 201)
  t.eq(res.window, "update")
end)

t.test("the direct manager updates too; a manager further up, HR Admins and peers do not", function()
  t.status(patch("ravi", { results = { { id = kr_number, current = 20 } } }), 200)
  t.status(patch("daniel", { status = "off_track" }), 403, "Ravi's manager reads it (protected) but does not change it")
  t.status(patch("marcus", { status = "done" }), 403, "an HR Admin reads it, does not change it")
  t.status(patch("zoe", { status = "done" }), 404, "a peer may not even read a protected objective")
  t.eq(snapshot().status, "at_risk")
end)

t.test("whoever set an objective on someone's behalf may update it; the owner's peers may not", function()
  t.eq(by_hr.owner.id, H.id("mia"))
  t.status(H.as("lena"):patch("/api/objectives/" .. by_hr.id, { status = "at_risk" }), 200)
  t.status(H.as("zoe"):patch("/api/objectives/" .. by_hr.id, { status = "done" }), 403, "public: Zoe reads it, no more")
  t.status(H.as("marcus"):patch("/api/objectives/" .. by_hr.id, { status = "done" }), 403, "another HR Admin")
  t.eq(db.value("SELECT status FROM objectives WHERE id = ?", by_hr.id), "at_risk")
end)

t.test("after update until everything is read-only, comments included; reading goes on", function()
  t.advance_to("2026-04-15T20:00:00Z")
  t.status(patch("mia", { status = "done" }), 200, "the last day")
  t.advance_to("2026-04-16T08:00:00Z")
  local before = snapshot()
  t.status(patch("mia", { status = "missed" }), 409)
  t.status(patch("mia", { results = { { id = kr_number, current = 40 } } }), 409)
  t.status(H.as("mia"):post("/api/objectives/" .. o.id .. "/comments", { body = "Too late" }), 409)
  t.same(snapshot(), before)
  local res = t.status(H.as("mia"):get("/api/objectives/" .. o.id), 200).json
  t.eq(res.window, "closed")
  t.same(res.can, { change = true, edit = false, update = false, comment = false, delete = false, copy = false })
end)
