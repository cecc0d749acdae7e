-- Confidential text written through the API lands in no column of any table as plain text: every
-- table, every column, after review answers, 360 answers and a decline reason,
-- praise, private notes, comments, feedback asked for and given, 1:1 private notes, objectives and
-- their notes, pulse survey comments, and the reasons HR types (reopening a review or 360 feedback,
-- unveiling an anonymous praise writer). (The database file, its WAL and backups are checked for
-- the same kinds of text in canary.lua; a text in no column is in no file.)
local t = require "testing"
local demo = require "demo"
local db = require "lib.db"

local P = t.demo()

-- Each table and column holding text: where a canary is found.
local function found(canary)
  local out = {}
  for _, tbl in ipairs(db.column("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")) do
    for _, row in ipairs(db.query('SELECT * FROM "' .. tbl .. '"')) do
      for col, v in pairs(row) do
        if type(v) == "string" and v:find(canary, 1, true) then out[#out + 1] = tbl .. "." .. col end
      end
    end
  end
  return out
end

local canaries = {}
local function canary(name)
  local c = "canary-" .. name .. "-" .. #canaries
  canaries[#canaries + 1] = c
  return c
end

t.test("setup: confidential text of every kind written through the API", function()
  demo.sample_cycle()
  demo.sample_360()
  demo.sample_one_on_ones()
  demo.sample_surveys()
  demo.sample_objectives()
  local function as(key) return t.login(demo.email(key) or key) end
  -- review answers
  local review = db.value([[SELECT id FROM reviews WHERE reviewee_id = ? ]], P.zoe.id)
  local r = db.row("SELECT * FROM reviews WHERE id = ?", review)
  t.status(as("zoe"):put("/api/reviews/" .. review .. "/answers/self", { q1 = canary("self") }), 200)
  local writer = db.value("SELECT email FROM users WHERE id = ?", r.manager_id)
  t.status(t.login(writer):put("/api/reviews/" .. review .. "/answers/manager", { q1 = canary("manager") }), 200)
  -- 360 answers and a decline
  local subject = db.value("SELECT id FROM feedback_subjects WHERE reviewee_id = ?", P.nina.id)
  local luca = db.value("SELECT id FROM feedback_nominations WHERE subject_id = ? AND reviewer_id = ?", subject, P.luca.id)
  t.status(as("luca"):put("/api/feedback/requests/" .. luca .. "/answers", { q1 = canary("360") }), 200)
  local tyler = db.value("SELECT id FROM feedback_nominations WHERE subject_id = ? AND reviewer_id = ?", subject, P.tyler.id)
  t.status(as("tyler"):post("/api/feedback/requests/" .. tyler .. "/decline", { reason = canary("decline") }), 200)
  -- messages
  local lucas = as("lucas")
  local praise = t.status(lucas:post("/api/messages", { kind = "praise", recipient_ids = { P.zoe.id },
    text = canary("praise") }), 201).json.id
  t.status(lucas:post("/api/messages", { kind = "note", about_id = P.ethan.id, text = canary("note") }), 201)
  t.status(lucas:post("/api/messages", { kind = "feedback", recipient_ids = { P.ethan.id }, text = canary("feedback") }), 201)
  t.status(as("ravi"):post("/api/messages/" .. praise .. "/comments", { text = canary("comment") }), 201)
  local asked = t.status(as("zoe"):post("/api/feedback-requests", { askee_ids = { P.ethan.id, P.mia.id },
    question = canary("question"), due_date = "2026-01-20" }), 201).json.id
  t.status(as("ethan"):post("/api/feedback-requests/" .. asked .. "/answer", { text = canary("answer") }), 201)
  -- 1:1s
  local meeting = db.value("SELECT max(m.id) FROM meetings m JOIN meeting_series s ON s.id = m.series_id WHERE s.organizer_id = ?",
    P.ravi.id)
  t.status(as("ravi"):post("/api/meetings/" .. meeting .. "/items", { kind = "note", private = true, text = canary("private") }), 201)
  -- objectives
  local objective = db.value("SELECT id FROM objectives WHERE visibility = 'private'")
  t.status(as("mia"):patch("/api/objectives/" .. objective, { note = canary("objective-note") }), 200)
  t.status(as("mia"):post("/api/objectives/" .. objective .. "/comments", { body = canary("objective-comment") }), 201)
  -- a pulse survey comment
  local round = db.value("SELECT id FROM survey_rounds WHERE status = 'open'")
  t.status(as("omar"):post("/api/surveys/rounds/" .. round .. "/answers", { answers = { 4, 3, 8 },
    comment = canary("survey") }), 201)
  -- the reasons HR types: reopening a review and 360 feedback, unveiling an anonymous praise writer
  local hr = as("priya")
  local shared = db.value("SELECT id FROM reviews WHERE manager_status = 'shared' AND closed_at IS NULL ORDER BY id")
  t.status(hr:post("/api/reviews/" .. shared .. "/reopen", { reason = canary("review-reopen"), part = "manager" }), 200)
  local given = db.value("SELECT id FROM feedback_nominations WHERE feedback_status = 'shared' ORDER BY id")
  t.status(hr:post("/api/feedback/requests/" .. given .. "/reopen", { reason = canary("feedback-reopen") }), 200)
  t.status(as("marcus"):put("/api/message-defaults", { praise = { anonymity = "possible" } }), 200)
  local anonymous = t.status(lucas:post("/api/messages", { kind = "praise", recipient_ids = { P.zoe.id },
    text = canary("anonymous"), anonymous = true }), 201).json.id
  t.status(hr:post("/api/messages/" .. anonymous .. "/unveil", { reason = canary("unveil") }), 200)
end)

t.test("none of it is in any column of any table as plain text", function()
  t.eq(#canaries, 18, "the texts were written")
  local wrong = {}
  for _, c in ipairs(canaries) do
    for _, where in ipairs(found(c)) do wrong[#wrong + 1] = c .. " in " .. where end
  end
  if #wrong > 0 then t.fail("in plain text:\n  " .. table.concat(wrong, "\n  ")) end
end)

t.test("the check can fail: a name typed in plain text is found", function()
  t.status(t.login(demo.email("priya")):patch("/api/users/" .. P.leo.id, { job_title = "canary-title" }), 200)
  t.same(found("canary-title"), { "users.job_title" })
end)
