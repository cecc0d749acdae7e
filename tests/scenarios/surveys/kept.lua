-- A closed round's figures are worked out from its answers once and then kept (its answers never
-- change): looking at the results again reads no answer and no invitation, whatever the size of the
-- company. What would change them counts at once: a round that closes, a person deleted; and a
-- closed round takes no answer, whoever asks. The clock starts on Monday 5 January 2026, 09:00 UTC.
local t = require "testing"
local db = require "lib.db"
local util = require "lib.util"
local H = dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "_helpers.lua")

t.demo()

-- How many of the statements read table tbl.
local function reading(list, tbl)
  local n = 0
  for _, sql in ipairs(list) do if sql:find(tbl, 1, true) then n = n + 1 end end
  return n
end

-- "YYYY-MM-DDTHH:MM:00Z" of day d counted from the day the last survey started
local first_day
local function at(d, hhmm) return util.format_date(first_day + d * 86400) .. "T" .. hhmm .. ":00Z" end

-- a weekly survey starting today whose first round six people answered, closed after its three
-- days; returns it and the round's id
local function answered_and_closed()
  first_day = util.date_to_ts(util.format_date(t.now()))
  local s, rid = H.running("marcus", { frequency = "weekly", round_days = 3, starts_on = util.format_date(first_day) })
  for i, key in ipairs(H.invited_keys(rid, 6)) do H.answer(key, rid, { i % 5 + 1, i + 3 }, "Comment " .. i) end
  t.advance_to(at(3, "00:00"))
  t.eq(db.value("SELECT status FROM survey_rounds WHERE id = ?", rid), "closed")
  return s, rid
end

t.test("a second look at a closed round's results reads no answer and no invitation", function()
  local s = answered_and_closed()
  local c = H.as("marcus")
  local page = "/surveys/" .. s.id .. "/results"
  local first_body
  local first = t.statements(function() first_body = t.status(c:get(page), 200).body end)
  t.ok(reading(first, "survey_responses") > 0, "the first look reads the answers")
  for _, path in ipairs({ page, "/api/surveys/" .. s.id .. "/results" }) do
    local body
    local again = t.statements(function() body = t.status(c:get(path), 200).body end)
    t.eq(reading(again, "survey_responses"), 0, "answers read again: " .. path)
    t.eq(reading(again, "survey_invitations"), 0, "invitations read again: " .. path)
    if path == page then t.eq(body, first_body, "the same page") end
  end
  local res = t.status(c:get("/api/surveys/" .. s.id .. "/results"), 200).json
  t.eq(res.round.responded, 6)
  t.eq(#res.comments, 6)
end)

t.test("a round that closes is in the results at once, beside the kept one", function()
  local s = answered_and_closed()
  t.eq(#t.status(H.as("marcus"):get("/api/surveys/" .. s.id .. "/results"), 200).json.rounds, 1)
  t.advance_to(at(7, "09:00"))
  local r2 = db.value("SELECT id FROM survey_rounds WHERE survey_id = ? AND seq = 2", s.id)
  for _, key in ipairs(H.invited_keys(r2, 5)) do H.answer(key, r2, { 2, 2 }) end
  local open = t.status(H.as("marcus"):get("/api/surveys/" .. s.id), 200).json.rounds[1]
  t.eq(open.responded, 5, "the open round's count moves with each answer")
  t.advance_to(at(10, "00:00"))
  local res = t.status(H.as("marcus"):get("/api/surveys/" .. s.id .. "/results"), 200).json
  t.eq(#res.rounds, 2)
  t.eq(res.round.id, r2, "the latest closed round is shown")
  t.eq(res.round.responded, 5)
  t.eq(res.questions[1].average, 2)
  t.eq(#res.trend[1].points, 2)
end)

t.test("a closed round takes no answer, even through the service's own recording", function()
  local _, rid = answered_and_closed()
  local someone = db.value("SELECT user_id FROM survey_invitations WHERE round_id = ? AND responded = 0 LIMIT 1", rid)
  local n = db.value("SELECT count(*) FROM survey_responses WHERE round_id = ?", rid)
  local err = t.raises(function() require("services.surveys").record(rid, someone, { 3, 3 }, "late") end, "conflict")
  t.eq(err.status, 409)
  t.eq(db.value("SELECT count(*) FROM survey_responses WHERE round_id = ?", rid), n, "nothing recorded")
  t.eq(db.value("SELECT responded FROM survey_invitations WHERE round_id = ? AND user_id = ?", rid, someone), 0)
end)

t.test("a person deleted leaves a closed round's invited count at once", function()
  local s, rid = answered_and_closed()
  local c = H.as("marcus")
  local function invited()
    for _, r in ipairs(t.status(c:get("/api/surveys/" .. s.id), 200).json.rounds) do
      if r.id == rid then return r.invited end
    end
  end
  local before = invited()
  local gone = db.value([[SELECT u.id FROM survey_invitations i JOIN users u ON u.id = i.user_id
    WHERE i.round_id = ? AND i.responded = 0 AND NOT EXISTS (SELECT 1 FROM users r WHERE r.manager_id = u.id)
    AND NOT EXISTS (SELECT 1 FROM user_roles x WHERE x.user_id = u.id) ORDER BY u.id DESC LIMIT 1]], rid)
  t.status(c:delete("/api/users/" .. gone), 204)
  t.eq(invited(), before - 1)
end)
