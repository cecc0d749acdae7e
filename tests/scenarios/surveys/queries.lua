-- The survey list and the results cost a constant number of queries, whatever the number of surveys,
-- people and answers; a round of 10,000 answers gives its results in well under a second.
local t = require "testing"
local db = require "lib.db"
local json = require "lib.json"
local clock = require "core.clock"
local H = dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "_helpers.lua")

t.demo()

local function cost(c, path)
  c:get(path) -- warm: the session and the permission decisions
  local res
  local n = t.count_queries(function() res = c:get(path) end)
  t.status(res, 200, path)
  return n
end

t.test("the survey list costs the same for 2 surveys as for 12 (of two creators, each named)", function()
  for _ = 1, 2 do H.running("marcus") end
  local c = H.as("marcus")
  local small, small_api = cost(c, "/surveys"), cost(c, "/api/surveys")
  for i = 1, 10 do H.running(i % 2 == 0 and "marcus" or "lena") end
  t.contains(c:get("/surveys").body, "created by Lena Fischer")
  t.eq(cost(c, "/surveys"), small, "page")
  t.eq(cost(c, "/api/surveys"), small_api, "API")
end)

t.test("a manager's list of surveys shared with him costs the same for 1 as for 6", function()
  local P = t.demo()
  local function shared_one()
    local s = H.running("marcus")
    t.status(H.as("marcus"):put("/api/surveys/" .. s.id .. "/shares", { user_ids = { P.ravi.id }, managers = true }), 200)
  end
  shared_one()
  local c = H.as("ravi")
  local small = cost(c, "/api/surveys")
  t.eq(#t.status(c:get("/api/surveys"), 200).json.shared, 1)
  for _ = 1, 5 do shared_one() end
  t.eq(cost(c, "/api/surveys"), small)
  t.eq(#t.status(c:get("/api/surveys"), 200).json.shared, 6)
end)

-- a closed round of survey s with n answers written straight into the table (as answering would)
local function closed_round(n)
  local s = H.create("marcus")
  t.status(H.as("marcus"):post("/api/surveys/" .. s.id .. "/launch"), 200)
  t.run_jobs()
  local rid = db.value("SELECT id FROM survey_rounds WHERE survey_id = ?", s.id)
  db.transaction(function()
    for i = 1, n do
      db.exec([[INSERT INTO survey_responses(id, round_id, answers, department, location, manager_ids)
        VALUES(?, ?, ?, ?, ?, ?)]], 1000000000 + rid * 100000 + i, rid, json.encode({ i % 5 + 1, i % 10 + 1 }),
        "Dept " .. (i % 7), "City " .. (i % 3), json.encode({ 1000 + i % 40 }))
    end
  end)
  H.close(s.id)
  return s
end

t.test("the results cost the same for 10 answers as for 2,000", function()
  local c = H.as("marcus")
  local a, b = closed_round(10), closed_round(2000)
  t.eq(cost(c, "/api/surveys/" .. b.id .. "/results"), cost(c, "/api/surveys/" .. a.id .. "/results"), "API")
  t.eq(cost(c, "/surveys/" .. b.id .. "/results"), cost(c, "/surveys/" .. a.id .. "/results"), "page")
end)

t.test("a round of 10,000 answers: results in well under a second", function()
  local s = closed_round(10000)
  local c = H.as("marcus")
  c:get("/api/surveys/" .. s.id .. "/results")
  local started = clock.mono_ms()
  local res = t.status(c:get("/api/surveys/" .. s.id .. "/results"), 200).json
  local ms = clock.mono_ms() - started
  print(("results of 10,000 answers: %d ms"):format(ms))
  t.eq(res.round.responded, 10000)
  t.ok(ms < 1000, ms .. " ms")
end)
