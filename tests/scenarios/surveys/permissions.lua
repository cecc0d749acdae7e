-- Who may do what with a pulse survey (policies/README.md "Pulse surveys, decided"), allowed and
-- denied, through the API:
--   HR Admins (Marcus) create surveys and view, edit, share and export every one, and delete;
--   HR Assistants (Lena) create surveys and have those rights for the ones they created only (seed
--   003), never delete; once their role is taken away, not even for those;
--   Tech Admins (Tom), employees (Mia) and guests create none and see none;
--   the people results are shared with read them (not edit, share or export); managers, when
--   shared with managers, read their team's slice only;
--   the people invited answer; nobody else. A survey someone may not see is a 404.
local t = require "testing"
local db = require "lib.db"
local demo = require "demo"
local H = dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "_helpers.lua")

local P = t.demo()
local lenas, marcuss -- Lena's survey (runs, selected people), Marcus's (everyone)

local function guest() return t.login(demo.GUESTS[1][1]) end

-- every endpoint about survey id, with the status a person who may not see it gets
local function each_endpoint(c, id)
  local base = "/api/surveys/" .. id
  return {
    { "GET", c:get(base) }, { "PATCH", c:patch(base, { title = "Mine now" }) },
    { "PUT shares", c:put(base .. "/shares", { user_ids = {}, managers = true }) },
    { "POST people", c:post(base .. "/people", { user_ids = { P.zoe.id } }) },
    { "POST launch", c:post(base .. "/launch") }, { "POST end", c:post(base .. "/end") },
    { "GET results", c:get(base .. "/results") }, { "GET participation", c:get(base .. "/participation") },
    { "GET export", c:get(base .. "/export.csv") }, { "DELETE", c:delete(base .. "?confirm=true") },
    { "page", c:get("/surveys/" .. id) }, { "results page", c:get("/surveys/" .. id .. "/results") },
  }
end

t.test("HR Admins and HR Assistants create surveys; Tech Admins, employees and guests are refused", function()
  marcuss = H.create("marcus", { title = "Company pulse" })
  lenas = H.create("lena", { title = "Lena's pulse", participants = "selected",
    people_ids = { P.mia.id, P.zoe.id, P.lucas.id, P.omar.id, P.ethan.id, P.isabel.id } })
  for _, who in ipairs({ "tom", "mia", "ravi" }) do
    t.status(H.as(who):post("/api/surveys", { starts_on = "2026-01-05", questions = H.QUESTIONS }), 403, who)
    t.status(H.as(who):get("/surveys/new"), 403, who)
  end
  local g = guest()
  local res = g:post("/api/surveys", { starts_on = "2026-01-05", questions = H.QUESTIONS })
  t.status(res, 403, "guests are refused before any survey is looked at")
  t.eq(db.value("SELECT count(*) FROM surveys"), 2, "only the two")
end)

t.test("an HR Assistant views, edits, launches, shares and exports the survey she created", function()
  local c = H.as("lena")
  t.status(c:get("/api/surveys/" .. lenas.id), 200)
  t.eq(t.status(c:patch("/api/surveys/" .. lenas.id, { intro = "Five questions, two minutes" }), 200).json.intro,
    "Five questions, two minutes")
  t.status(c:post("/api/surveys/" .. lenas.id .. "/launch"), 200)
  t.run_jobs()
  t.status(c:put("/api/surveys/" .. lenas.id .. "/shares", { user_ids = { P.amara.id }, managers = false }), 200)
  t.status(c:get("/api/surveys/" .. lenas.id .. "/results"), 200)
  t.status(c:get("/api/surveys/" .. lenas.id .. "/participation"), 200)
  t.status(c:get("/api/surveys/" .. lenas.id .. "/export.csv"), 200)
  t.status(c:post("/api/surveys/" .. lenas.id .. "/people", { user_ids = { P.hana.id } }), 200)
end)

t.test("an HR Assistant gets 404 for every endpoint of a survey someone else created, and changes nothing", function()
  local before = db.row("SELECT title, phase, share_managers FROM surveys WHERE id = ?", marcuss.id)
  for _, x in ipairs(each_endpoint(H.as("lena"), marcuss.id)) do t.status(x[2], 404, "lena " .. x[1]) end
  t.same(db.row("SELECT title, phase, share_managers FROM surveys WHERE id = ?", marcuss.id), before)
  local list = t.status(H.as("lena"):get("/api/surveys"), 200).json
  t.eq(#list.surveys, 1, "her own only")
  t.eq(list.surveys[1].id, lenas.id)
end)

t.test("an HR Assistant may not delete even her own survey", function()
  t.status(H.as("lena"):delete("/api/surveys/" .. lenas.id .. "?confirm=true"), 403)
  t.eq(db.value("SELECT count(*) FROM surveys WHERE id = ?", lenas.id), 1)
end)

t.test("an HR Admin views, edits, shares and exports every survey, the assistant's too", function()
  local c = H.as("marcus")
  t.status(c:get("/api/surveys/" .. lenas.id), 200)
  t.status(c:patch("/api/surveys/" .. lenas.id, { threshold = 6 }), 200)
  t.status(c:get("/api/surveys/" .. lenas.id .. "/results"), 200)
  t.status(c:get("/api/surveys/" .. lenas.id .. "/participation"), 200)
  t.status(c:get("/api/surveys/" .. lenas.id .. "/export.csv"), 200)
  t.eq(#t.status(c:get("/api/surveys"), 200).json.surveys, 2, "every survey")
end)

t.test("Tech Admins, employees, managers and guests get 404 for every endpoint of a survey not shared with them", function()
  for _, who in ipairs({ "tom", "mia", "ravi" }) do
    for _, x in ipairs(each_endpoint(H.as(who), marcuss.id)) do t.status(x[2], 404, who .. " " .. x[1]) end
  end
  local g = guest()
  for _, x in ipairs(each_endpoint(g, marcuss.id)) do
    t.status(x[2], 403, "guest " .. x[1])
  end
  t.eq(db.value("SELECT title FROM surveys WHERE id = ?", marcuss.id), "Company pulse")
end)

t.test("someone the results are shared with reads them, but may not edit, share, export or see participation", function()
  local c = H.as("amara")
  t.eq(t.status(c:get("/api/surveys/" .. lenas.id .. "/results"), 200).json.view, "all")
  t.status(c:patch("/api/surveys/" .. lenas.id, { title = "Hijacked" }), 403)
  t.status(c:put("/api/surveys/" .. lenas.id .. "/shares", { user_ids = { P.amara.id, P.tom.id } }), 403)
  t.status(c:get("/api/surveys/" .. lenas.id .. "/export.csv"), 403)
  t.status(c:get("/api/surveys/" .. lenas.id .. "/participation"), 403)
  t.status(c:post("/api/surveys/" .. lenas.id .. "/end"), 403)
  t.eq(db.value("SELECT title FROM surveys WHERE id = ?", lenas.id), "Lena's pulse")
  -- the survey's own page sends a reader to its results
  t.eq(c:get("/surveys/" .. lenas.id).status, 303)
end)

t.test("shared with managers: a manager of participants reads the team slice; a manager of nobody in it does not", function()
  t.status(H.as("ravi"):get("/api/surveys/" .. lenas.id .. "/results"), 404, "not shared with managers yet")
  t.status(H.as("lena"):put("/api/surveys/" .. lenas.id .. "/shares", { user_ids = { P.amara.id }, managers = true }), 200)
  local res = t.status(H.as("ravi"):get("/api/surveys/" .. lenas.id .. "/results"), 200).json
  t.eq(res.view, "team")
  t.eq(res.breakdowns, require("lib.json").null, "no breakdowns in a team slice")
  t.eq(res.comments, require("lib.json").null, "no comments in a team slice")
  t.status(H.as("sofia"):get("/api/surveys/" .. lenas.id .. "/results"), 404, "manages nobody in this survey")
  t.status(H.as("ravi"):get("/api/surveys/" .. lenas.id .. "/export.csv"), 403)
  t.status(H.as("ravi"):patch("/api/surveys/" .. lenas.id, { title = "x" }), 403)
end)

t.test("only the people invited answer; anyone else gets 404 and nothing is stored", function()
  local rid = db.value("SELECT id FROM survey_rounds WHERE survey_id = ?", lenas.id)
  H.answer("zoe", rid, { 3, 6 })
  for _, who in ipairs({ "marcus", "lena", "tom", "ravi", "sofia" }) do
    t.status(H.as(who):post("/api/surveys/rounds/" .. rid .. "/answers", { answers = { 1, 1 } }), 404, who)
    t.status(H.as(who):get("/surveys/rounds/" .. rid), 404, who)
  end
  local g = guest()
  local res = g:post("/api/surveys/rounds/" .. rid .. "/answers", { answers = { 1, 1 } })
  t.status(res, 403, "guest")
  t.eq(db.value("SELECT count(*) FROM survey_responses"), 1)
end)

t.test("an HR Assistant whose role is taken away loses her surveys", function()
  t.status(H.as("marcus"):put("/api/users/" .. P.lena.id .. "/roles", { roles = {} }), 200)
  t.status(H.as("lena"):get("/api/surveys/" .. lenas.id), 404)
  t.status(H.as("lena"):get("/api/surveys/" .. lenas.id .. "/results"), 404)
  t.status(H.as("lena"):post("/api/surveys", { starts_on = "2026-01-05", questions = H.QUESTIONS }), 403)
  t.status(H.as("marcus"):put("/api/users/" .. P.lena.id .. "/roles", { roles = { "hr_assistant" } }), 200)
  t.status(H.as("lena"):get("/api/surveys/" .. lenas.id), 200, "back with the role")
end)

t.test("an HR Admin deletes a survey only with the confirmation", function()
  t.status(H.as("marcus"):delete("/api/surveys/" .. lenas.id), 422)
  t.eq(db.value("SELECT count(*) FROM surveys WHERE id = ?", lenas.id), 1)
  t.status(H.as("marcus"):delete("/api/surveys/" .. lenas.id .. "?confirm=true"), 204)
  t.eq(db.value("SELECT count(*) FROM surveys WHERE id = ?", lenas.id), 0)
  t.eq(db.value("SELECT count(*) FROM survey_invitations"), 0)
  t.status(H.as("marcus"):get("/api/surveys/" .. lenas.id), 404)
end)

t.test("a survey id that does not exist is a 404 like one you may not see", function()
  t.status(H.as("marcus"):get("/api/surveys/999999"), 404)
  t.status(H.as("marcus"):get("/api/surveys/rounds/999999"), 404)
end)
