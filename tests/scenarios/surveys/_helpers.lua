-- Shared steps of the pulse survey scenarios (files starting with _ are not run on their own):
--   local H = dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "_helpers.lua")
local t = require "testing"
local db = require "lib.db"

local H = {}

H.as = t.as

H.QUESTIONS = {
  { text = "How happy are you at work?", scale = 5, low = "Not at all", high = "Very" },
  { text = "How likely are you to recommend us?", scale = 10 },
}

--- key creates a survey through the API (201); fields override the defaults. Returns its JSON.
function H.create(key, fields)
  local body = { title = "Pulse", starts_on = "2026-01-05", frequency = "once", round_days = 5, questions = H.QUESTIONS,
    comment_question = "Anything else?" }
  for k, v in pairs(fields or {}) do body[k] = v ~= false and v or nil end -- false: leave the field out
  return t.status(H.as(key):post("/api/surveys", body), 201).json
end

--- key creates and launches a survey, and the clock moves to 09:00 on its start (now, when it
--- starts today): its first round is open. Returns the survey JSON and the open round's id.
function H.running(key, fields)
  local s = H.create(key, fields)
  t.status(H.as(key):post("/api/surveys/" .. s.id .. "/launch"), 200)
  local at = require("lib.util").parse_time(s.starts_on .. "T09:00:00Z")
  if at > t.now() then t.advance_to(s.starts_on .. "T09:00:00Z") else t.run_jobs() end
  local rid = db.value("SELECT id FROM survey_rounds WHERE survey_id = ? AND status = 'open'", s.id)
  assert(rid, "no round opened")
  return s, rid
end

--- The demo keys of n people of the demo company who are invited to round rid (by id order),
--- excluding the keys in except.
function H.invited_keys(rid, n, except)
  local demo = require "demo"
  local skip = {}
  for _, k in ipairs(except or {}) do skip[k] = true end
  local by_email = {}
  for _, p in ipairs(demo.PEOPLE) do by_email[demo.email(p[1])] = p[1] end
  local out = {}
  for _, e in ipairs(db.column([[SELECT u.email FROM survey_invitations i JOIN users u ON u.id = i.user_id
      WHERE i.round_id = ? ORDER BY u.id]], rid)) do
    local k = by_email[e]
    if k and not skip[k] and #out < n then out[#out + 1] = k end
  end
  return out
end

--- key answers round rid with answers (a list) and an optional comment; expects status (201).
function H.answer(key, rid, answers, comment, status)
  return t.status(H.as(key):post("/api/surveys/rounds/" .. rid .. "/answers", { answers = answers, comment = comment }),
    status or 201)
end

--- Ends survey id (by HR Admin marcus) so its round closes and has results.
function H.close(id)
  t.status(H.as("marcus"):post("/api/surveys/" .. id .. "/end"), 200)
end

return H
