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

-- Whether what dims shows lets nothing under threshold be worked out by subtraction: every shown
-- group has at least threshold; the hidden groups of a dimension together none or at least
-- threshold; and every set one can work out (a shown group, a dimension's hidden groups together)
-- minus the shown groups (and the hidden ones together) of another dimension wholly inside it
-- leaves none or at least threshold. Returns nil or what leaks.
local function leaks(dims, joint, threshold)
  local names = { "d", "l", "m" }
  local function members(d, g) -- response counts per combination inside group g of dimension d
    local out = {}
    for i, row in ipairs(joint) do if row.keys[d] == g.key then out[i] = row.n end end
    return out
  end
  for d, groups in ipairs(dims) do
    local hidden_n, sets = 0, {}
    local hidden_rows = {}
    for _, g in ipairs(groups) do
      if g.hidden then
        hidden_n = hidden_n + g.n
        for i, n in pairs(members(d, g)) do hidden_rows[i] = n end
      else
        if g.n < threshold then return ("%s group %s shows %d"):format(names[d], g.key, g.n) end
        sets[#sets + 1] = { rows = members(d, g), n = g.n, name = g.key }
      end
    end
    if hidden_n > 0 and hidden_n < threshold and #sets > 0 then return names[d] .. " hides only " .. hidden_n end
    if hidden_n > 0 and #sets > 0 then sets[#sets + 1] = { rows = hidden_rows, n = hidden_n, name = "hidden" } end
    for _, a in ipairs(sets) do
      for e, others in ipairs(dims) do
        if e ~= d then
          local inside, e_hidden, e_hidden_inside = 0, 0, true
          for _, h in ipairs(others) do
            local all_in = true
            for i in pairs(members(e, h)) do if not a.rows[i] then all_in = false end end
            if h.hidden then
              e_hidden = e_hidden + h.n
              if not all_in then e_hidden_inside = false end
            elseif all_in then
              inside = inside + h.n
            end
          end
          if e_hidden > 0 and e_hidden_inside then inside = inside + e_hidden end
          local rest = a.n - inside
          if inside > 0 and rest > 0 and rest < threshold then
            return ("%s %s minus %s leaves %d"):format(names[d], a.name, names[e], rest)
          end
        end
      end
    end
  end
end

local function structure(rows)
  local dims, by_key, joint = { {}, {}, {} }, { {}, {}, {} }, {}
  for _, r in ipairs(rows) do
    joint[#joint + 1] = { keys = { r[1], r[2], r[3] }, n = r[4] }
    for d = 1, 3 do
      local g = by_key[d][r[d]]
      if not g then g = { key = r[d], n = 0 }; by_key[d][r[d]] = g; dims[d][#dims[d] + 1] = g end
      g.n = g.n + r[4]
    end
  end
  return dims, joint
end

t.test("across dimensions: a department of two teams does not show beside the bigger team when the smaller is hidden", function()
  -- Finance = team A (5) + team B (2); Sales = team C (6) + team D (5); everyone in Berlin
  local dims, joint = structure({ { "Finance", "Berlin", "A", 5 }, { "Finance", "Berlin", "B", 2 },
    { "Sales", "Berlin", "C", 6 }, { "Sales", "Berlin", "D", 5 } })
  results.protect(dims, joint, 5)
  t.eq(leaks(dims, joint, 5), nil)
  local shown = {}
  for _, groups in ipairs(dims) do for _, g in ipairs(groups) do if not g.hidden then shown[g.key] = true end end end
  t.no(shown.Finance and shown.A, "Finance minus team A would be team B's two answers")
  t.ok(shown.Berlin, "the one location is everyone: it shows")
end)

t.test("across dimensions, on 300 random companies: nothing under the threshold can be worked out", function()
  local seed = os.time()
  math.randomseed(seed)
  for round = 1, 300 do
    local rows = {}
    for _ = 1, math.random(2, 14) do
      rows[#rows + 1] = { "D" .. math.random(1, 4), "L" .. math.random(1, 3), "M" .. math.random(1, 6), math.random(1, 7) }
    end
    -- merge repeated combinations
    local merged, at = {}, {}
    for _, r in ipairs(rows) do
      local k = r[1] .. "|" .. r[2] .. "|" .. r[3]
      if at[k] then at[k][4] = at[k][4] + r[4] else at[k] = r; merged[#merged + 1] = r end
    end
    local threshold = math.random(3, 6)
    local dims, joint = structure(merged)
    results.protect(dims, joint, threshold)
    local problem = leaks(dims, joint, threshold)
    if problem then t.fail(("seed %d, company %d, threshold %d: %s"):format(seed, round, threshold, problem)) end
  end
end)

t.test("participation by department: counts only, departments with fewer invited than the threshold left out", function()
  local s, rid = H.running("marcus")
  H.answer("mia", rid, { 3, 6 })
  local p = t.status(H.as("marcus"):get("/api/surveys/" .. s.id .. "/participation"), 200).json
  local names = {}
  for _, d in ipairs(p.departments) do
    names[#names + 1] = d.name
    t.ok(d.invited >= 5, d.name .. " has " .. d.invited .. " invited")
  end
  table.sort(names)
  t.same(names, { "Engineering", "Operations", "Product", "Sales" })
  t.eq(p.hidden_departments, 4, "People, Marketing, Finance and Executive are too small (11 together)")
  t.eq(p.rounds[1].responded, 1)
  t.not_contains(require("lib.json").encode(p), "Mia", "never who")
end)

t.test("the trend across rounds says why it is empty when every round stayed below the threshold", function()
  local s, rid = H.running("marcus", { frequency = "weekly" })
  for _, k in ipairs({ "lucas", "mia" }) do H.answer(k, rid, { 4, 8 }) end
  t.advance_to("2026-01-12T10:00:00Z")
  local second = require("lib.db").value("SELECT id FROM survey_rounds WHERE survey_id = ? AND status = 'open'", s.id)
  t.ok(second and second ~= rid, "the second round opened")
  H.answer("zoe", second, { 3, 7 })
  H.close(s.id)
  local page = t.status(H.as("marcus"):get("/surveys/" .. s.id .. "/results"), 200).body
  t.contains(page, "Trend across rounds")
  t.contains(page, "No round had 5 or more answers, so there is no trend to show yet.")
  t.not_contains(page, ">hidden</td>", "no table of nothing but hidden")
end)

t.test("the trend across rounds is a table once a round reached the threshold", function()
  local s, rid = H.running("marcus", { frequency = "weekly", starts_on = "2026-02-02" })
  for _, k in ipairs(ENGINEERING) do H.answer(k, rid, { 4, 8 }) end
  t.advance_to("2026-02-10T10:00:00Z")
  H.close(s.id)
  local page = t.status(H.as("marcus"):get("/surveys/" .. s.id .. "/results"), 200).body
  t.contains(page, "Trend across rounds")
  t.not_contains(page, "no trend to show")
  t.contains(page, '<td class="num">4.0</td>')
end)
