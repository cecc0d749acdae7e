-- Pulse surveys can be switched off (Administration › Features, setting surveys.enabled, on by
-- default). Off: hidden from the navigation and the home page, every page and API answer 404
-- "switched off", no round opens or closes and no mail goes out (the jobs wait); nothing is deleted.
-- On again, what waited happens. The clock starts on Monday 5 January 2026, 09:00 UTC.
local t = require "testing"
local db = require "lib.db"
local H = dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "_helpers.lua")

t.demo()
local running, rid, scheduled

local function switch(on) t.status(H.as("marcus"):put("/api/settings/features", { surveys = on }), 200) end

t.test("on by default, with a running survey and one that starts on Wednesday", function()
  t.eq(t.status(H.as("tom"):get("/api/settings/features"), 200).json.surveys, true)
  running, rid = H.running("marcus", { title = "Running", round_days = 3 })
  H.answer("mia", rid, { 3, 5 }, "Kept while off")
  scheduled = H.create("marcus", { title = "Later", starts_on = "2026-01-07" })
  t.status(H.as("marcus"):post("/api/surveys/" .. scheduled.id .. "/launch"), 200)
  t.contains(t.status(H.as("zoe"):get("/home"), 200).body, "/surveys/rounds/" .. rid)
end)

t.test("switched off on the Features page: hidden from navigation and home", function()
  local c = H.as("tom")
  t.contains(t.status(c:get("/admin/features"), 200).body, "Pulse surveys")
  t.status(c:follow(c:form("/admin/features", { one_on_ones = "on", praise = "on" })), 200)
  t.eq(t.status(c:get("/api/settings/features"), 200).json.surveys, false)
  local home = t.status(H.as("zoe"):get("/home"), 200).body
  t.not_contains(home, "/surveys/rounds/")
  t.not_contains(home, 'href="/surveys"')
  t.not_contains(t.status(H.as("marcus"):get("/home"), 200).body, 'href="/surveys"')
end)

t.test("switched off, pages and API answer 404 feature_off and nothing can be written", function()
  local c = H.as("marcus")
  t.contains(t.status(c:get("/surveys"), 404).body, "Pulse surveys are switched off")
  t.eq(t.status(c:get("/api/surveys"), 404).json.error.code, "feature_off")
  t.status(c:post("/api/surveys", { starts_on = "2026-01-06", questions = H.QUESTIONS }), 404)
  t.status(c:get("/api/surveys/" .. running.id .. "/results"), 404)
  H.answer("zoe", rid, { 1, 1 }, nil, 404)
  t.eq(db.value("SELECT count(*) FROM surveys"), 2)
  t.eq(db.value("SELECT count(*) FROM survey_responses"), 1)
end)

t.test("switched off, rounds neither open nor close and no reminder goes out", function()
  t.advance_to("2026-01-08T10:00:00Z")
  t.eq(db.value("SELECT count(*) FROM survey_rounds WHERE survey_id = ?", scheduled.id), 0, "Wednesday's round waits")
  t.eq(db.value("SELECT status FROM survey_rounds WHERE id = ?", rid), "open", "the open round waits too")
  t.eq(#t.outbox({ template = "survey.reminder" }), 0)
end)

t.test("switched on again, what waited happens and nothing was lost", function()
  switch(true)
  t.advance("1h")
  t.eq(db.value("SELECT status FROM survey_rounds WHERE id = ?", rid), "closed")
  local r = db.row("SELECT * FROM survey_rounds WHERE survey_id = ?", scheduled.id)
  t.ok(r, "the waiting round opened")
  t.eq(r.opens_on, "2026-01-08", "late, on the day it could")
  t.eq(db.value("SELECT count(*) FROM survey_responses WHERE round_id = ?", rid), 1, "the answer is there")
  t.contains(t.status(H.as("marcus"):get("/home"), 200).body, 'href="/surveys"')
end)
