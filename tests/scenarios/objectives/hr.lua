-- HR's view of a cycle: the overview (status mix, people without objectives, overdue ones), the
-- nudges with the exact mail first, the Excel export. Each counts only what the one looking may
-- read: an HR Admin sees no private objective and none of their own managers' protected ones, an
-- HR Assistant only public ones; the people "without" are those without an objective they can see.
local t = require "testing"
local db = require "lib.db"
local H = dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "_helpers.lua")

local P = t.demo()
local q1 = H.cycle()
local everyone = db.value("SELECT count(*) FROM users WHERE kind = 'employee' AND status <> 'deactivated'")

-- Mia: public (done) and private; Zoe: protected (overdue on 20 January); Priya: protected, set by
-- Marcus for her (his own manager); Lucas: private only.
H.objective("mia", q1, { title = "Public of Mia" })
local done = H.objective("mia", q1, { title = "Done of Mia" })
t.status(H.as("mia"):patch("/api/objectives/" .. done.id, { status = "done" }), 200)
H.objective("mia", q1, { title = "Private of Mia", visibility = "private" })
H.objective("zoe", q1, { title = "Protected of Zoe", visibility = "protected", due_on = "2026-01-20" })
t.status(H.as("marcus"):post("/api/objectives", { cycle_id = q1.id, owner_id = P.priya.id, title = "Protected of Priya",
  visibility = "protected" }), 201)
H.objective("lucas", q1, { title = "Private of Lucas", visibility = "private" })

local function overview(key)
  return t.status(H.as(key):get("/api/objective-cycles/" .. q1.id .. "/overview"), 200).json
end

t.test("the overview counts what the HR Admin may read: no private objectives, not his own manager's", function()
  local ov = overview("marcus")
  t.eq(ov.people, everyone)
  t.eq(ov.objectives, 3, "Mia's two public ones and Zoe's protected one")
  t.eq(ov.with_objectives, 2, "Mia and Zoe")
  t.eq(ov.without.total, everyone - 2, "Lucas (private only) and Priya (her manager's) count as without, for Marcus")
  t.eq(ov.statuses.done, 1)
  t.eq(ov.statuses.on_track, 2)
  t.eq(ov.progress, 33, "(0 + 100 + 0) / 3")
  -- another HR Admin further up: Priya reads her own (set by Marcus) but not Lucas's private one
  local priya = overview("priya")
  t.eq(priya.objectives, 4)
end)

t.test("an HR Assistant's overview counts public objectives only", function()
  local ov = overview("lena")
  t.eq(ov.objectives, 2)
  t.eq(ov.with_objectives, 1, "Mia")
  t.eq(ov.overdue.total, 0, "Zoe's protected one is not hers to see")
end)

t.test("overdue: open objectives past their due date that the viewer may read", function()
  t.advance_to("2026-01-21T10:00:00Z")
  local ov = overview("marcus")
  t.eq(ov.overdue.total, 1)
  t.eq(ov.overdue.objectives[1].title, "Protected of Zoe")
  local page = t.status(H.as("marcus"):get("/objective-cycles/" .. q1.id .. "/overview"), 200).body
  t.contains(page, "Protected of Zoe")
  t.not_contains(page, "Private of")
  t.not_contains(page, "Protected of Priya")
  t.contains(page, "count only the objectives you may read")
  t.contains(page, 'rel="next">Next →</a>', "the people without objectives run over two pages")
  t.not_contains(page, "function: 0x", "a page link's label is text")
end)

t.test("nudging the managers of people without objectives: the exact mail names their reports", function()
  local prev = t.status(H.as("marcus"):post("/api/objective-cycles/" .. q1.id .. "/nudges/preview",
    { audience = "without_managers", user_ids = { P.mia.id, P.ravi.id } }), 200).json
  t.eq(prev.count, 1, "Ravi only: narrowed to the people listed, and Mia manages nobody")
  t.eq(prev.preview.to.name, "Ravi Shankar")
  t.contains(prev.preview.text, "Lucas Moreau")
  t.contains(prev.preview.text, "Omar Haddad")
  t.not_contains(prev.preview.text, "Mia Johansson", "Mia has objectives")
  local before = #t.outbox()
  local sent = t.status(H.as("marcus"):post("/api/objective-cycles/" .. q1.id .. "/nudges",
    { audience = "without_managers", user_ids = { P.ravi.id } }), 200).json
  t.eq(sent.queued, 1)
  local mail = t.outbox()[before + 1]
  t.eq(mail.to_email, P.ravi.email)
  t.eq(mail.subject, prev.preview.subject)
end)

t.test("nudging owners of overdue objectives; employees and Tech Admins may not nudge", function()
  local prev = t.status(H.as("lena"):post("/api/objective-cycles/" .. q1.id .. "/nudges/preview", { audience = "overdue" }),
    200).json
  t.eq(prev.count, 0, "the assistant sees no overdue objective, so she nudges nobody")
  prev = t.status(H.as("marcus"):post("/api/objective-cycles/" .. q1.id .. "/nudges/preview", { audience = "overdue" }), 200).json
  t.eq(prev.count, 1)
  t.eq(prev.preview.to.name, "Zoe Chen")
  t.contains(prev.preview.text, "update your objective")
  t.not_contains(prev.preview.text, "Protected of Zoe", "the mail names no objective")
  t.status(H.as("zoe"):post("/api/objective-cycles/" .. q1.id .. "/nudges", { audience = "overdue" }), 403)
  t.status(H.as("tom"):post("/api/objective-cycles/" .. q1.id .. "/nudges", { audience = "overdue" }), 403)
  t.status(H.as("marcus"):post("/api/objective-cycles/" .. q1.id .. "/nudges", { audience = "everybody" }), 422)
end)

t.test("the Excel export holds what the one exporting may read", function()
  local admin = H.xlsx_text(t.status(H.as("marcus"):get("/api/objective-cycles/" .. q1.id .. "/export.xlsx"), 200).body)
  t.contains(admin, "Public of Mia")
  t.contains(admin, "Protected of Zoe")
  t.not_contains(admin, "Private of")
  t.not_contains(admin, "Protected of Priya")
  t.contains(admin, "Engineering", "the owners' departments")
  local assistant = H.xlsx_text(t.status(H.as("lena"):get("/api/objective-cycles/" .. q1.id .. "/export.xlsx"), 200).body)
  t.contains(assistant, "Public of Mia")
  t.not_contains(assistant, "Protected of Zoe")
  t.status(H.as("tom"):get("/api/objective-cycles/" .. q1.id .. "/export.xlsx"), 403)
  t.status(H.as("mia"):get("/api/objective-cycles/" .. q1.id .. "/export.xlsx"), 403)
  t.eq(db.value("SELECT count(*) FROM audit_log WHERE action = 'export.objectives'"), 2)
end)
