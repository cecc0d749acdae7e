-- Taking people off a survey of selected people: they are not asked in later rounds, their
-- unanswered invitation to the open round goes with them, an answer already given stays (it is
-- anonymous and counts). Refused, with nothing changed: someone who does not take part, the last
-- person, a survey of everyone or an ended one, and anyone who may not change the survey. The
-- clock starts on Monday 5 January 2026, 09:00 UTC.
local t = require "testing"
local db = require "lib.db"
local H = dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "_helpers.lua")

local P = t.demo()
local s, rid

local function people(id)
  return db.column("SELECT user_id FROM survey_people WHERE survey_id = ? ORDER BY user_id", id)
end

local function invited(round)
  return db.column("SELECT user_id FROM survey_invitations WHERE round_id = ? ORDER BY user_id", round)
end

local function ids(...)
  local out = {}
  for i, key in ipairs({ ... }) do out[i] = P[key].id end
  table.sort(out)
  return out
end

t.test("with a round open, people taken off lose their unanswered invitation; an answer given stays", function()
  s, rid = H.running("lena", { participants = "selected", frequency = "weekly",
    people_ids = { P.mia.id, P.zoe.id, P.lucas.id, P.omar.id } })
  H.answer("mia", rid, { 4, 8 })
  local res = t.status(H.as("lena"):post("/api/surveys/" .. s.id .. "/people/remove",
    { user_ids = { P.mia.id, P.zoe.id } }), 200).json
  t.eq(res.removed, 2)
  t.eq(res.people, 2)
  t.same(people(s.id), ids("lucas", "omar"))
  t.same(invited(rid), ids("mia", "lucas", "omar"), "Mia's answered invitation stays; Zoe's goes")
  t.eq(db.value("SELECT count(*) FROM survey_responses WHERE round_id = ?", rid), 1, "the answer stays")
  H.answer("zoe", rid, { 2, 2 }, nil, 404)
  t.not_contains(t.status(H.as("zoe"):get("/home"), 200).body, "/surveys/rounds/" .. rid, "no to-do left")
  t.eq(db.value("SELECT count(*) FROM audit_log WHERE action = 'survey.remove_people'"), 1)
end)

t.test("the next round asks only the people still taking part", function()
  t.advance_to("2026-01-12T09:00:00Z")
  local r2 = db.value("SELECT id FROM survey_rounds WHERE survey_id = ? AND seq = 2", s.id)
  t.ok(r2, "round 2 opened")
  t.same(invited(r2), ids("lucas", "omar"))
end)

t.test("someone who does not take part is refused by name and nobody is taken off", function()
  local res = t.status(H.as("lena"):post("/api/surveys/" .. s.id .. "/people/remove",
    { user_ids = { P.lucas.id, P.mia.id } }), 422)
  t.contains(res.body, P.mia.name .. " does not take part")
  t.same(people(s.id), ids("lucas", "omar"))
end)

t.test("the last person cannot be taken off: the survey is to be ended instead", function()
  local res = t.status(H.as("lena"):post("/api/surveys/" .. s.id .. "/people/remove",
    { user_ids = { P.lucas.id, P.omar.id } }), 409)
  t.contains(res.body, "End the survey instead")
  t.same(people(s.id), ids("lucas", "omar"))
end)

t.test("bad input is a 422 that changes nothing, taking off and adding alike", function()
  local c = H.as("lena")
  for _, body in ipairs({ {}, { user_ids = {} }, { user_ids = "lucas" }, { user_ids = { P.lucas.id, P.lucas.id } } }) do
    t.status(c:post("/api/surveys/" .. s.id .. "/people/remove", body), 422)
    t.status(c:post("/api/surveys/" .. s.id .. "/people", body), 422)
  end
  t.same(people(s.id), ids("lucas", "omar"))
end)

t.test("a survey of everyone and an ended survey take nobody off", function()
  t.advance_to("2026-01-26T09:00:00Z")
  local all = H.create("marcus", { title = "Everyone", starts_on = "2026-02-02" })
  t.status(H.as("marcus"):post("/api/surveys/" .. all.id .. "/people/remove", { user_ids = { P.mia.id } }), 409)
  local ended = H.create("marcus", { title = "Short", participants = "selected", starts_on = "2026-02-02",
    people_ids = { P.mia.id, P.zoe.id } })
  t.status(H.as("marcus"):post("/api/surveys/" .. ended.id .. "/launch"), 200)
  H.close(ended.id)
  t.status(H.as("marcus"):post("/api/surveys/" .. ended.id .. "/people/remove", { user_ids = { P.mia.id } }), 409)
  t.same(people(ended.id), ids("mia", "zoe"))
end)

t.test("only HR Admins and the creator take people off: others get 404 or 403 and nothing changes", function()
  for _, who in ipairs({ "mia", "lucas", "ravi", "tom" }) do
    local st = H.as(who):post("/api/surveys/" .. s.id .. "/people/remove", { user_ids = { P.omar.id } }).status
    t.ok(st == 404 or st == 403, who .. " got " .. st)
  end
  t.same(people(s.id), ids("lucas", "omar"))
  t.status(H.as("marcus"):post("/api/surveys/" .. s.id .. "/people/remove", { user_ids = { P.omar.id } }), 200)
  t.same(people(s.id), ids("lucas"))
end)

t.test("the page takes people off by email after asking; a wrong email comes back with what was typed", function()
  local c = H.as("lena")
  local s2 = H.create("lena", { title = "Team pulse", participants = "selected", starts_on = "2026-02-02",
    people_ids = { P.mia.id, P.zoe.id, P.omar.id } })
  local pg = t.status(c:get("/surveys/" .. s2.id), 200).body
  local form = pg:match('<form[^>]-action="/surveys/' .. s2.id .. '/remove"[^>]*>')
  t.ok(form, "the form is on the page")
  t.contains(form, "data-confirm=")
  local back = t.status(c:follow(c:form("/surveys/" .. s2.id .. "/remove",
    { remove = P.zoe.email .. ", nobody@example.com" })), 200).body
  t.contains(back, "nobody@example.com")
  t.contains(back, "No active colleague has the email")
  t.same(people(s2.id), ids("mia", "zoe", "omar"))
  local done = c:form("/surveys/" .. s2.id .. "/remove", { remove = P.zoe.email })
  t.eq(done.status, 303, "post/redirect/get")
  t.contains(t.status(c:follow(done), 200).body, "Taken off the survey.")
  t.same(people(s2.id), ids("mia", "omar"))
end)
