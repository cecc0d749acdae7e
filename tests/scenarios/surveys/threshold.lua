-- The anonymity threshold (company default 5): a closed round with fewer answers shows no score, no
-- distribution and no comment; at and above it, everything shows. Breakdowns hide every group below
-- the threshold, and also a group whose figures could be worked out by subtraction (the total minus
-- the groups shown). A manager's team slice follows the same rule. Results wait for a round to close.
local t = require "testing"
local json = require "lib.json"
local results = require "services.survey_results"
local H = dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "_helpers.lua")

t.demo()

local ENGINEERING = { "lucas", "mia", "ethan", "zoe", "omar", "isabel", "jonas" }
local SALES = { "tyler", "nina", "carlos", "freya", "luca" }
local PRODUCT = { "julia", "felix" }

-- A running survey answered by keys (each answers { 4, 8 } and a comment); then closed. Returns
-- the results JSON Marcus reads.
local function answered_by(keys, fields)
  local s, rid = H.running("marcus", fields)
  for i, k in ipairs(keys) do H.answer(k, rid, { 4, 8 }, "Comment number " .. i) end
  H.close(s.id)
  return t.status(H.as("marcus"):get("/api/surveys/" .. s.id .. "/results"), 200).json, s
end

local function dim(res, name)
  for _, b in ipairs(res.breakdowns) do if b.dimension == name then return b end end
end

t.test("below the threshold (4 answers): no score, no distribution, no comment, no breakdown", function()
  local res = answered_by({ "lucas", "mia", "ethan", "zoe" })
  t.eq(res.round.responded, 4)
  t.eq(res.round.hidden, true)
  for _, q in ipairs(res.questions) do
    t.eq(q.hidden, true)
    t.eq(q.average, json.null)
    t.eq(q.distribution, json.null)
  end
  t.eq(res.comments, json.null)
  t.same(res.breakdowns, {})
  t.eq(res.trend[1].points[1].average, json.null, "the trend hides it too")
end)

t.test("at the threshold (5 answers) the scores, distribution and comments show", function()
  local res = answered_by({ "lucas", "mia", "ethan", "zoe", "omar" })
  t.eq(res.round.hidden, false)
  t.eq(res.questions[1].average, 4)
  t.eq(res.questions[2].average, 8)
  t.same(res.questions[1].distribution, { 0, 0, 0, 5, 0 })
  t.eq(#res.questions[2].distribution, 10, "a 1-10 scale has ten bars")
  t.eq(#res.comments, 5)
end)

t.test("above the threshold (6 answers) everything shows", function()
  local res = answered_by({ "lucas", "mia", "ethan", "zoe", "omar", "isabel" })
  t.eq(res.questions[1].responses, 6)
  t.eq(#res.comments, 6)
end)

t.test("a survey may raise the threshold: 6 answers under a threshold of 7 stay hidden", function()
  local res = answered_by({ "lucas", "mia", "ethan", "zoe", "omar", "isabel" }, { threshold = 7 })
  t.eq(res.threshold, 7)
  t.eq(res.round.hidden, true)
end)

t.test("breakdown: a group below the threshold is hidden, and the only other group too (else total minus it)", function()
  -- 5 Engineering + 2 Sales: Sales is hidden; showing Engineering would give Sales as total - Engineering
  local list = {}
  for i = 1, 5 do list[#list + 1] = ENGINEERING[i] end
  list[#list + 1], list[#list + 1] = SALES[1], SALES[2]
  local res = answered_by(list)
  t.eq(res.round.hidden, false, "the round's 7 answers show")
  local d = dim(res, "department")
  t.eq(#d.groups, 0, "no department shown")
  t.eq(d.hidden_groups, 2)
end)

t.test("breakdown: with three groups, the smallest shown one is hidden along with the small one", function()
  -- 5 Engineering, 5 Sales, 2 Product: Product hidden (2); one of the others hidden with it (2 + 5 >= 5)
  local list = {}
  for i = 1, 5 do list[#list + 1] = ENGINEERING[i] end
  for i = 1, 5 do list[#list + 1] = SALES[i] end
  for _, k in ipairs(PRODUCT) do list[#list + 1] = k end
  local res = answered_by(list)
  local d = dim(res, "department")
  t.eq(#d.groups, 1, "one department shown")
  t.eq(d.hidden_groups, 2)
  t.eq(d.groups[1].responses, 5)
  t.ok(res.questions[1].responses - d.groups[1].responses >= 5, "what the shown groups leave is at least the threshold")
  for _, g in ipairs(d.groups) do t.neq(g.name, "Product") end
end)

t.test("breakdown: groups all at or above the threshold all show, with their averages", function()
  local list = {}
  for i = 1, 5 do list[#list + 1] = ENGINEERING[i] end
  for i = 1, 5 do list[#list + 1] = SALES[i] end
  local res = answered_by(list)
  local d = dim(res, "department")
  t.eq(#d.groups, 2)
  t.eq(d.hidden_groups, 0)
  t.same(d.groups[1].averages, { 4, 8 })
end)

t.test("the subtraction rule on its own", function()
  local function shown(ns, threshold)
    local groups = {}
    for i, n in ipairs(ns) do groups[i] = { n = n } end
    results.suppress(groups, threshold)
    local out = {}
    for _, g in ipairs(groups) do out[#out + 1] = g.hidden and "." or "x" end
    return table.concat(out)
  end
  t.eq(shown({ 6, 6 }, 5), "xx")
  t.eq(shown({ 10, 2 }, 5), "..", "the big one would give the small one away")
  t.eq(shown({ 5, 4, 4 }, 5), "x..", "the two small ones together are 8: safe")
  t.eq(shown({ 5, 6, 1 }, 5), ".x.", "the smallest shown goes with the one below")
  t.eq(shown({ 3, 3, 3 }, 5), "...")
end)

t.test("a manager's team slice shows only when enough of the team answered", function()
  -- Ravi's team: Lucas, Mia, Omar, and below Lucas: Ethan, Zoe
  local s, rid = H.running("marcus")
  t.status(H.as("marcus"):put("/api/surveys/" .. s.id .. "/shares", { managers = true }), 200)
  for _, k in ipairs({ "lucas", "mia", "ethan", "zoe", "isabel", "jonas" }) do H.answer(k, rid, { 2, 5 }) end
  H.close(s.id)
  local res = t.status(H.as("ravi"):get("/api/surveys/" .. s.id .. "/results"), 200).json
  t.eq(res.view, "team")
  t.eq(res.round.responded, 4, "four of his team")
  t.eq(res.round.hidden, true)
  t.eq(res.questions[1].average, json.null)
  local s2, rid2 = H.running("marcus")
  t.status(H.as("marcus"):put("/api/surveys/" .. s2.id .. "/shares", { managers = true }), 200)
  for _, k in ipairs({ "lucas", "mia", "ethan", "zoe", "omar", "isabel" }) do H.answer(k, rid2, { 2, 5 }) end
  H.close(s2.id)
  local res2 = t.status(H.as("ravi"):get("/api/surveys/" .. s2.id .. "/results"), 200).json
  t.eq(res2.round.responded, 5, "Isabel is not in his team")
  t.eq(res2.questions[1].average, 2)
end)

t.test("while a round is open there are no results, only participation", function()
  local s, rid = H.running("marcus")
  for _, k in ipairs({ "lucas", "mia", "ethan", "zoe", "omar", "isabel" }) do H.answer(k, rid, { 5, 10 }) end
  local res = t.status(H.as("marcus"):get("/api/surveys/" .. s.id .. "/results"), 200).json
  t.eq(res.round, json.null)
  t.same(res.rounds, {})
  t.status(H.as("marcus"):get("/api/surveys/" .. s.id .. "/results?round=" .. rid), 404)
  local p = t.status(H.as("marcus"):get("/api/surveys/" .. s.id .. "/participation"), 200).json
  t.eq(p.rounds[1].responded, 6)
end)

t.test("only HR Admins set the company's threshold; 3 to 10; raising it hides at once what no longer meets it", function()
  local s, rid = H.running("lena")
  for _, k in ipairs({ "lucas", "mia", "ethan", "zoe", "omar" }) do H.answer(k, rid, { 3, 6 }) end
  H.close(s.id)
  t.eq(t.status(H.as("lena"):get("/api/surveys/" .. s.id .. "/results"), 200).json.round.hidden, false)
  for _, who in ipairs({ "lena", "tom", "mia" }) do
    t.status(H.as(who):put("/api/settings/surveys", { default_threshold = 6 }), 403, who)
    t.status(H.as(who):get("/api/settings/surveys"), 403, who)
  end
  t.status(H.as("marcus"):put("/api/settings/surveys", { default_threshold = 2 }), 422)
  t.status(H.as("marcus"):put("/api/settings/surveys", { default_threshold = 11 }), 422)
  t.eq(t.status(H.as("marcus"):get("/api/settings/surveys"), 200).json.default_threshold, 5, "unchanged")
  local c = H.as("marcus")
  t.contains(t.status(c:follow(c:form("/surveys/settings", { default_threshold = "6" })), 200).body,
    "The company&#39;s threshold is 6.")
  local res = t.status(H.as("lena"):get("/api/surveys/" .. s.id .. "/results"), 200).json
  t.eq(res.threshold, 6)
  t.eq(res.round.hidden, true, "five answers no longer show")
  t.status(H.as("lena"):post("/api/surveys", { starts_on = "2026-03-02", questions = H.QUESTIONS, threshold = 5 }), 422)
  t.ok(require("lib.db").value("SELECT 1 FROM audit_log WHERE action = 'settings.surveys'"), "audited")
  t.status(H.as("marcus"):put("/api/settings/surveys", { default_threshold = 5 }), 200)
end)
