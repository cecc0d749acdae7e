-- Bad input is refused with a clear 4xx naming the field, and changes nothing; UTF-8 text (titles,
-- questions, comments) goes in and comes out whole. The clock starts on Monday 5 January 2026.
local t = require "testing"
local db = require "lib.db"
local settings = require "services.settings"
local H = dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "_helpers.lua")

local P = t.demo()

local function refused(body, field, status)
  local before = db.value("SELECT count(*) FROM surveys")
  local res = t.status(H.as("marcus"):post("/api/surveys", body), status or 422, field)
  if field then t.ok(res.json.error.fields and res.json.error.fields[field], "names " .. field .. ": " .. res.body) end
  t.eq(db.value("SELECT count(*) FROM surveys"), before, "nothing created")
  return res
end

local function body(extra)
  local b = { starts_on = "2026-01-06", questions = H.QUESTIONS, frequency = "weekly", round_days = 5 }
  for k, v in pairs(extra) do b[k] = v end
  return b
end

t.test("a survey needs a start and at least one question", function()
  refused({ questions = H.QUESTIONS }, "starts_on")
  refused({ starts_on = "2026-01-06" }, "questions")
  refused(body({ questions = {} }), "questions")
end)

t.test("dates must be real and not in the past", function()
  refused(body({ starts_on = "2026-02-31" }), "starts_on")
  refused(body({ starts_on = "yesterday" }), "starts_on")
  refused(body({ starts_on = "2026-01-04" }), "starts_on")
end)

t.test("questions: text required, a scale of 5 or 10, at most ten", function()
  refused(body({ questions = { { text = "" } } }), "questions")
  refused(body({ questions = { { text = "Hm?", scale = 7 } } }), "questions")
  local many = {}
  for i = 1, 11 do many[i] = { text = "Question " .. i } end
  refused(body({ questions = many }), "questions")
end)

t.test("the schedule: a known frequency, a round no longer than the time to the next", function()
  refused(body({ frequency = "daily" }), "frequency")
  refused(body({ frequency = "weekly", round_days = 8 }), "round_days")
  refused(body({ round_days = 0 }), "round_days")
end)

t.test("the threshold is 3 to 10 and never below the company's", function()
  refused(body({ threshold = 2 }), "threshold")
  refused(body({ threshold = 11 }), "threshold")
  settings.set("surveys.default_threshold", 6)
  refused(body({ threshold = 5 }), "threshold")
  local s = t.status(H.as("marcus"):post("/api/surveys", body({})), 201).json
  t.eq(s.threshold, 6, "the company's by default")
  t.status(H.as("marcus"):patch("/api/surveys/" .. s.id, { threshold = 4 }), 422)
  t.eq(db.value("SELECT threshold FROM surveys WHERE id = ?", s.id), 6)
  settings.set("surveys.default_threshold", 5)
end)

t.test("selected people must be named and be active employees", function()
  refused(body({ participants = "selected" }), "people_ids")
  refused(body({ participants = "selected", people_ids = { P.mia.id, 987654 } }), "people_ids")
  local guest = db.value("SELECT id FROM users WHERE kind = 'guest'")
  refused(body({ participants = "selected", people_ids = { guest } }), "people_ids")
  refused(body({ participants = "nobody" }), "participants")
end)

t.test("a body that is not JSON is a 400", function()
  local c = H.as("marcus")
  local res = c:request("POST", "/api/surveys", { body = "{not json", headers = { ["content-type"] = "application/json" } })
  t.eq(res.status, 400)
end)

t.test("answers: every score within its scale, one per question; nothing is stored otherwise", function()
  local _, rid = H.running("marcus", { comment_question = "Anything else?" })
  H.answer("mia", rid, { 6, 5 }, nil, 422)
  H.answer("mia", rid, { 3 }, nil, 422)
  H.answer("mia", rid, { 0, 5 }, nil, 422)
  H.answer("mia", rid, { "x", 5 }, nil, 422)
  H.answer("mia", rid, { 3, 11 }, nil, 422)
  H.answer("mia", rid, { 3, 5 }, string.rep("é", 2001), 422)
  t.eq(db.value("SELECT count(*) FROM survey_responses WHERE round_id = ?", rid), 0)
  t.eq(db.value("SELECT responded FROM survey_invitations i JOIN users u ON u.id = i.user_id WHERE i.round_id = ? AND u.id = ?",
    rid, P.mia.id), 0, "still to answer")
  H.answer("mia", rid, { 3, 5 }, string.rep("é", 2000))
end)

t.test("a launched survey cannot be launched again, an ended one not changed", function()
  local s = H.running("marcus")
  t.status(H.as("marcus"):post("/api/surveys/" .. s.id .. "/launch"), 409)
  t.status(H.as("marcus"):patch("/api/surveys/" .. s.id, { questions = { { text = "New question" } } }), 422)
  H.close(s.id)
  t.status(H.as("marcus"):patch("/api/surveys/" .. s.id, { title = "After the end" }), 409)
  t.status(H.as("marcus"):post("/api/surveys/" .. s.id .. "/people", { user_ids = { P.mia.id } }), 409)
end)

t.test("UTF-8 titles, questions and comments come out whole", function()
  local title = "Stimmungsbarometer — Ünïcode 🎉 日本語"
  local s, rid = H.running("marcus", { title = title, questions = { { text = "Ça va? 😊", scale = 5, low = "Très mal", high = "Très bien" } },
    comment_question = "Kommentar (optional) ✍️" })
  t.eq(t.status(H.as("marcus"):get("/api/surveys/" .. s.id), 200).json.title, title)
  local keys = { "mia", "zoe", "lucas", "omar", "ethan" }
  for i, k in ipairs(keys) do H.answer(k, rid, { i }, "Größer 🚀 " .. i) end
  H.close(s.id)
  local res = t.status(H.as("marcus"):get("/api/surveys/" .. s.id .. "/results"), 200).json
  t.eq(res.questions[1].text, "Ça va? 😊")
  local found = false
  for _, c in ipairs(res.comments) do if c == "Größer 🚀 3" then found = true end end
  t.ok(found, "the comment as written")
  local csv = H.as("marcus"):get("/api/surveys/" .. s.id .. "/export.csv")
  t.contains(csv.body, "Ça va? 😊")
  t.eq(csv.body:sub(1, 3), "\239\187\191", "a UTF-8 byte-order mark first: Excel then reads Ça va? as written")
  t.contains(csv.headers["content-disposition"], "filename*=UTF-8''")
  t.contains(t.status(H.as("marcus"):get("/surveys/" .. s.id .. "/results"), 200).body, "Größer 🚀 1")
end)
