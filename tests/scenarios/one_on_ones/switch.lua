-- 1:1 meetings can be switched off for the whole company (Administration › Features; HR Admins
-- and Tech Admins, admin.features). Off, they are hidden everywhere (navigation, quick create,
-- home, the team page), their pages and API answer 404 "switched off", and their reminders are
-- not sent; nothing is deleted: switched on again, everything is there as it was. The clock
-- starts on Monday 5 January 2026, 09:00 UTC.
local t = require "testing"
local db = require "lib.db"
local json = require "lib.json"
local H = dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "_helpers.lua")

t.demo()

local function features(who) return t.status(H.as(who):get("/api/settings/features"), 200).json end

local series = H.start("ravi", "mia", { title = "Weekly", cadence = "weekly", date = "2026-01-07" })
H.add("mia", series.meeting_id, { kind = "point", text = "Ask about the roadmap" })

t.test("only HR Admins and Tech Admins read and switch features; others get 403 and change nothing", function()
  t.same(features("marcus"), { one_on_ones = true, praise = true, surveys = true }, "both on at first")
  t.same(features("tom"), { one_on_ones = true, praise = true, surveys = true })
  for _, who in ipairs({ "lena", "zoe", "ravi" }) do
    local c = H.as(who)
    t.status(c:get("/api/settings/features"), 403, who)
    t.status(c:put("/api/settings/features", { one_on_ones = false }), 403, who)
    t.status(c:get("/admin/features"), 403, who)
    t.status(c:form("/admin/features", {}), 403, who)
  end
  t.same(features("marcus"), { one_on_ones = true, praise = true, surveys = true }, "nothing changed")
end)

t.test("a value that is not true or false is refused and changes nothing", function()
  local res = t.status(H.as("marcus"):put("/api/settings/features", { one_on_ones = "no", praise = false }), 422)
  t.contains(res.body, "one_on_ones")
  t.same(features("marcus"), { one_on_ones = true, praise = true, surveys = true })
end)

t.test("switched off on the page: hidden from navigation, quick create, home and the team page", function()
  local before = t.status(H.as("ravi"):get("/home"), 200).body
  t.contains(before, 'href="/meetings"')
  t.contains(before, "Your next 1:1s")
  t.contains(before, "/meetings/new")
  t.contains(t.status(H.as("ravi"):get("/team"), 200).body, "Last 1:1")
  local c = H.as("tom")
  local done = t.status(c:follow(c:form("/admin/features", { praise = "on", surveys = "on" })), 200)
  t.contains(done.body, "Features saved.")
  t.same(features("tom"), { one_on_ones = false, praise = true, surveys = true })
  local entry = db.row("SELECT * FROM audit_log WHERE action = 'settings.features'")
  t.ok(entry, "audited")
  t.same(json.decode(entry.details).changed, { one_on_ones = { from = true, to = false } })
  local home = t.status(H.as("ravi"):get("/home"), 200).body
  t.not_contains(home, 'href="/meetings"', "no menu entry")
  t.not_contains(home, "Your next 1:1s")
  t.not_contains(home, "/meetings/new", "no quick create")
  t.not_contains(t.status(H.as("ravi"):get("/team"), 200).body, "Last 1:1")
end)

t.test("switched off, the pages and the API answer 404 and say why; nothing can be written", function()
  local c = H.as("ravi")
  local pg = t.status(c:get("/meetings"), 404)
  t.contains(pg.body, "1:1 meetings are switched off")
  t.status(c:get("/meetings/" .. series.meeting_id), 404)
  local api = t.status(c:get("/api/meetings/" .. series.meeting_id), 404)
  t.eq(api.json.error.code, "feature_off")
  t.status(c:post("/api/meetings/" .. series.meeting_id .. "/items", { kind = "point", text = "Sneaked in" }), 404)
  t.status(H.as("zoe"):post("/api/meeting-series", { with_id = t.demo().lucas.id, cadence = "weekly",
    date = "2026-01-09" }), 404)
  t.eq(db.value("SELECT count(*) FROM meeting_series"), 1, "no series started")
end)

t.test("switched off, the reminders are not sent", function()
  t.advance_to("2026-01-06T09:30:00Z")
  t.eq(#t.outbox({ template = "one_on_one.prepare" }), 0, "no 'add your points' the day before")
end)

t.test("switched on again, everything is there as it was", function()
  local res = t.status(H.as("marcus"):put("/api/settings/features", { one_on_ones = true }), 200).json
  t.same(res.changed, { "one_on_ones" })
  t.ok(H.texts("ravi", series.meeting_id)["Ask about the roadmap"], "the talking point is there")
  t.contains(t.status(H.as("ravi"):get("/home"), 200).body, 'href="/meetings"')
end)
