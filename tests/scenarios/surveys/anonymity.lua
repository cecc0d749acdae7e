-- Nobody ever learns who answered what: the response table has no user column and no time, its ids
-- are random (not the order of answering), comments are sealed at rest and bound to their row, no
-- event or audit entry is written when someone answers, and no API answer, page or export names a
-- respondent or lists answers one by one.
local t = require "testing"
local db = require "lib.db"
local json = require "lib.json"
local crypt = require "lib.crypt"
local events = require "lib.events"
local H = dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "_helpers.lua")

local P = t.demo()
local RESPONDENTS = { "ethan", "zoe", "omar", "hana", "leo", "jonas", "ava", "samuel" }
local survey, rid
local fired = {}

t.test("eight people answer, each with a comment", function()
  survey, rid = H.running("marcus", { title = "Anonymity check" })
  local function watch(_, name)
    if not name:match("^http%.") and not name:match("^session%.") then fired[#fired + 1] = name end
  end
  events.hook("*", watch)
  for i, k in ipairs(RESPONDENTS) do
    H.answer(k, rid, { (i % 5) + 1, i }, ("Secret thought %d of %s"):format(i, P[k].name))
  end
  events.unhook("*", watch)
  t.eq(db.value("SELECT count(*) FROM survey_responses WHERE round_id = ?", rid), 8)
end)

t.test("the response table holds no user id, no time and nothing that names a person", function()
  local cols = {}
  for _, c in ipairs(db.query("PRAGMA table_info(survey_responses)")) do cols[#cols + 1] = c.name end
  t.same(cols, { "id", "round_id", "answers", "comment_enc", "department", "location", "manager_ids" })
  local inv = {}
  for _, c in ipairs(db.query("PRAGMA table_info(survey_invitations)")) do inv[#inv + 1] = c.name end
  t.same(inv, { "round_id", "user_id", "responded" }, "an invitation has a flag, no time")
end)

t.test("response ids are random, not in the order people answered", function()
  local ids = db.column("SELECT id FROM survey_responses WHERE round_id = ? ORDER BY rowid", rid)
  local small = true
  for _, id in ipairs(ids) do if id > 1000000 then small = false end end
  t.no(small, "ids are large random numbers, not 1, 2, 3")
  -- the order of rows (by id) is not the order of answers: the comments say who came when
  local order = {}
  for _, c in ipairs(db.query("SELECT id, comment_enc FROM survey_responses WHERE round_id = ? ORDER BY id", rid)) do
    order[#order + 1] = tonumber(crypt.open("survey_responses", "comment_enc", { c.id }, c.comment_enc):match("thought (%d)"))
  end
  t.neq(table.concat(order, ","), "1,2,3,4,5,6,7,8", "not in answering order (chance 1 in 40,320)")
end)

t.test("comments are encrypted at rest and do not open in another row", function()
  local rows = db.query("SELECT id, comment_enc FROM survey_responses WHERE round_id = ?", rid)
  for _, r in ipairs(rows) do
    t.not_contains(r.comment_enc, "Secret thought", "no plain text in the database")
  end
  t.ok(crypt.try_open("survey_responses", "comment_enc", { rows[1].id }, rows[1].comment_enc))
  t.no(crypt.try_open("survey_responses", "comment_enc", { rows[2].id }, rows[1].comment_enc),
    "a ciphertext moved to another row does not open")
end)

t.test("answering fires no event and writes no audit entry", function()
  t.same(fired, {})
  t.eq(db.value("SELECT count(*) FROM audit_log WHERE action LIKE 'survey.answer%'"), 0)
end)

t.test("no API answer, page or export names a respondent, even after the round closed", function()
  H.close(survey.id)
  local c = H.as("marcus")
  local texts = {
    c:get("/api/surveys/" .. survey.id).body,
    c:get("/api/surveys/" .. survey.id .. "/results").body,
    c:get("/api/surveys/" .. survey.id .. "/participation").body,
    c:get("/api/surveys/" .. survey.id .. "/export.csv").body,
    c:get("/surveys/" .. survey.id).body,
    c:get("/surveys/" .. survey.id .. "/results").body,
    c:get("/surveys/" .. survey.id .. "/participation").body,
    c:get("/api/surveys").body,
  }
  for _, k in ipairs(RESPONDENTS) do
    local p = P[k]
    for i, text in ipairs(texts) do
      t.not_contains(text, p.email, ("%s's email in answer %d"):format(k, i))
      t.not_contains(text, '"user_id":' .. p.id, ("%s's id in answer %d"):format(k, i))
      -- names appear only inside the comments they wrote themselves (HR reads comments word for word)
      local without = text:gsub("Secret thought %d of [^\"<\r\n,]+", "")
      t.not_contains(without, p.name, ("%s's name in answer %d"):format(k, i))
    end
  end
  local res = json.decode(texts[2])
  t.eq(#res.comments, 8)
  local seen = {}
  for _, text in ipairs(res.comments) do seen[tonumber(text:match("thought (%d)"))] = true end
  for i = 1, 8 do t.ok(seen[i], "comment " .. i .. " is listed") end
end)

t.test("the export has no line per person: every score line counts at least the threshold", function()
  local before = db.value("SELECT count(*) FROM audit_log WHERE action = 'survey.export'")
  local csv = H.as("marcus"):get("/api/surveys/" .. survey.id .. "/export.csv")
  t.contains(csv.headers["content-type"], "text/csv")
  local lines = 0
  for line in csv.body:gmatch("[^\r\n]+") do
    lines = lines + 1
    local responses = line:match("^%d+,[%d%-]+,[^,]*,[^,]*,(%d+),")
    if responses then t.ok(tonumber(responses) >= 5, "a line of " .. responses .. " answers: " .. line) end
  end
  t.ok(lines > 2)
  t.eq(db.value("SELECT count(*) FROM audit_log WHERE action = 'survey.export'"), before + 1, "exports are audited")
end)
