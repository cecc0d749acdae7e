-- The 360 pages people open every day cost the same number of queries whatever the number of
-- reviewers, requests or reports: a reviewee's 360 (page and API), a reviewer's requests and
-- home page, a manager's approvals and team pages.
local t = require "testing"
local demo = require "demo"
local db = require "lib.db"

local P = t.demo()
local function login(key) return t.login(demo.email(key)) end
local cycle, sid

local function ask_and_write(keys)
  local hr = login("marcus")
  for _, key in ipairs(keys) do
    t.status(hr:post("/api/feedback/360/" .. sid .. "/nominations", { reviewer_id = P[key].id }), 201)
  end
  t.status(hr:post("/api/feedback/approvals", { subject_ids = { sid } }), 200)
  for _, key in ipairs(keys) do
    local rq = db.value("SELECT id FROM feedback_nominations WHERE subject_id = ? AND reviewer_id = ?", sid, P[key].id)
    local c = login(key)
    t.status(c:put("/api/feedback/requests/" .. rq .. "/answers", { q1 = "Tyler, from " .. key .. "." }), 200)
    t.status(c:post("/api/feedback/requests/" .. rq .. "/share"), 200)
  end
end

-- (the first visit may record something, e.g. that the reader has read it: the second is measured)
local function cost(key, path)
  local c = login(key)
  t.status(c:get(path), 200)
  return t.count_queries(function() t.status(c:get(path), 200) end)
end

t.test("setup: a 360 for Tyler that his manager reads as feedback is shared", function()
  local hr = login("marcus")
  cycle = t.status(hr:post("/api/feedback/cycles", { name = "Counting 360", start_date = "2026-01-05",
    rules = { min = 0, max = 12, suggested = 3 },
    visibility = { reviewee_reads = true, direct_manager_reads = true, manager_release = "on_share",
      anonymous = false } }), 201).json
  t.status(hr:post("/api/feedback/cycles/" .. cycle.id .. "/reviewees", { user_ids = { P.tyler.id } }), 200)
  t.status(hr:post("/api/feedback/cycles/" .. cycle.id .. "/start"), 200)
  sid = db.value("SELECT id FROM feedback_subjects WHERE cycle_id = ?", cycle.id)
end)

t.test("a reviewee's 360, as the manager reads it, costs the same for 2 or 8 reviewers who wrote", function()
  ask_and_write({ "nina", "freya" })
  local page, api = cost("james", "/feedback/360/" .. sid), cost("james", "/api/feedback/360/" .. sid)
  local hr_page = cost("marcus", "/feedback/360/" .. sid)
  ask_and_write({ "luca", "maya", "carlos", "zoe", "ethan", "hana" })
  t.eq(cost("james", "/feedback/360/" .. sid), page, "the page")
  t.eq(cost("james", "/api/feedback/360/" .. sid), api, "the API")
  t.eq(cost("marcus", "/feedback/360/" .. sid), hr_page, "an HR Admin's page")
end)

t.test("a reviewer's home page and list of requests cost the same for 1 or 5 people to write about", function()
  local hr = login("marcus")
  local function ask_kai(keys)
    local ids = {}
    for _, key in ipairs(keys) do ids[#ids + 1] = P[key].id end
    t.status(hr:post("/api/feedback/cycles/" .. cycle.id .. "/reviewees", { user_ids = ids }), 200)
    local subjects = {}
    for _, key in ipairs(keys) do
      local s = db.value("SELECT id FROM feedback_subjects WHERE cycle_id = ? AND reviewee_id = ?", cycle.id, P[key].id)
      t.status(hr:post("/api/feedback/360/" .. s .. "/nominations", { reviewer_id = P.kai.id }), 201)
      subjects[#subjects + 1] = s
    end
    t.status(hr:post("/api/feedback/approvals", { subject_ids = subjects }), 200)
  end
  ask_kai({ "luca" })
  local home, list, hub = cost("kai", "/home"), cost("kai", "/api/feedback/requests"), cost("kai", "/feedback")
  ask_kai({ "maya", "carlos", "zoe", "leo" })
  t.eq(#login("kai"):get("/api/feedback/requests").json.requests, 5)
  t.eq(cost("kai", "/home"), home, "home")
  t.eq(cost("kai", "/api/feedback/requests"), list, "the API")
  t.eq(cost("kai", "/feedback"), hub, "the 360 page")
end)
