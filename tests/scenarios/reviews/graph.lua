-- The 2D graph is placed by both: the reviewee places themselves, the manager places the
-- reviewee too; each sees the other's dot next to their own when they may read it (the manager
-- once the self-assessment is submitted, the reviewee once the review is shared), on the page
-- (one SVG, a legend), in the JSON API and in the PDF.
local t = require "testing"
local demo = require "demo"
local db = require "lib.db"
local questionnaire = require "services.questionnaire"

local P = t.demo()
local ravi, mia, hr
local function sign_in()
  ravi = t.login(demo.email("ravi"))
  mia = t.login(demo.email("mia"))
  hr = t.login(demo.email("marcus"))
end

local id

-- The dots of the graph for question q3 on a page: list of "class x y" strings.
local function dots(body)
  local svg = body:match('<svg class="chart graph"[^>]*aria%-labelledby="g%-q3[^"]*".-</svg>')
  local out = {}
  for tag in (svg or ""):gmatch("<circle[^>]*>") do
    if tag:find("graph-dot", 1, true) and not tag:find("hidden", 1, true) then
      out[#out + 1] = (tag:match('class="([^"]*)"') or "?") .. " " .. tag:match('cx="([%d%.]+)"') .. " "
        .. tag:match('cy="([%d%.]+)"')
    end
  end
  return out, svg
end

t.test("the default questionnaire has the graph placed by both, and the editor allows it", function()
  local q3
  for _, q in ipairs(questionnaire.questions(questionnaire.default())) do if q.id == "q3" then q3 = q end end
  t.eq(q3.type, "graph")
  t.eq(q3.audience, "both")
  sign_in()
  local manager_only = questionnaire.default()
  manager_only.sections[2].questions[1].audience = "manager"
  local res = t.status(hr:post("/api/cycles", { name = "Bad graph", start_date = "2026-01-05", questionnaire = manager_only }), 422)
  t.contains(res.json.error.message, "2D graph")
end)

t.test("the manager places Mia on the graph; he sees her own dot once she submitted", function()
  sign_in()
  local c = t.status(hr:post("/api/cycles", { name = "Graph cycle", start_date = "2026-01-05", self_due = "2026-01-19",
    manager_due = "2026-02-02", sign_due = "2026-02-16" }), 201).json
  t.status(hr:post("/api/cycles/" .. c.id .. "/reviewees", { user_ids = { P.mia.id } }), 200)
  t.status(hr:post("/api/cycles/" .. c.id .. "/start"), 200)
  id = db.value("SELECT id FROM reviews WHERE cycle_id = ?", c.id)
  t.status(mia:put("/api/reviews/" .. id .. "/answers/self", { q1 = "Shipped", q3 = { x = 20, y = 80 }, q6 = "Lead" }), 200)
  t.status(ravi:put("/api/reviews/" .. id .. "/answers/manager", { q3 = { x = 60, y = 40 } }), 200)
  local mine = dots(ravi:get("/reviews/" .. id).body)
  t.same(mine, { "graph-dot 225.6 169.6" }, "his own dot only: her draft is hers")
  t.status(mia:post("/api/reviews/" .. id .. "/submit"), 200)
  local both, svg = dots(ravi:get("/reviews/" .. id).body)
  t.same(both, { "graph-dot graph-dot-other 107.2 67.2", "graph-dot 225.6 169.6" })
  t.contains(svg, "Mia Johansson")
  t.contains(svg, "You")
  -- by form too (no JavaScript: the two number fields)
  t.status(ravi:form("/reviews/" .. id .. "/answers/manager", { q_q3_x = "70", q_q3_y = "45" }), 303)
  t.eq(ravi:get("/api/reviews/" .. id).json.manager_answers.q3.x, 70)
end)

t.test("Mia sees only her own dot until the review is shared, then both", function()
  sign_in()
  t.same(dots(mia:get("/reviews/" .. id).body), { "graph-dot 107.2 67.2" })
  t.eq(mia:get("/api/reviews/" .. id).json.manager_answers, nil)
  t.status(ravi:put("/api/reviews/" .. id .. "/answers/manager", { q1 = "Good", q4 = 4, q6 = "Grow" }), 200)
  t.status(ravi:post("/api/reviews/" .. id .. "/share"), 200)
  local api = mia:get("/api/reviews/" .. id).json
  t.eq(api.self_answers.q3.x, 20)
  t.eq(api.manager_answers.q3.x, 70, "the manager's dot in the API")
  local list, svg = dots(mia:get("/reviews/" .. id).body)
  t.eq(#list, 2, "both dots on one graph")
  t.contains(svg, "Ravi Shankar")
end)

t.test("the PDF draws both dots with a legend", function()
  sign_in()
  local res = t.status(mia:get("/api/reviews/" .. id .. "/pdf"), 200)
  local poppler = dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "../native/poppler_lib.lua")
  local text = poppler.run(res.body, "pdftotext -layout FILE -")
  t.contains(text, "Mia Johansson (self)")
  t.contains(text, "Ravi Shankar (manager)")
end)

t.test("a self-assessment without a dot on the graph says so, not that the dot is on the manager's graph", function()
  sign_in()
  local c = t.status(hr:post("/api/cycles", { name = "Graph cycle without a self dot", start_date = "2026-01-05",
    self_due = "2026-01-19", manager_due = "2026-02-02", sign_due = "2026-02-16" }), 201).json
  t.status(hr:post("/api/cycles/" .. c.id .. "/reviewees", { user_ids = { P.omar.id } }), 200)
  t.status(hr:post("/api/cycles/" .. c.id .. "/start"), 200)
  local rid = db.value("SELECT id FROM reviews WHERE cycle_id = ?", c.id)
  local omar = t.login(demo.email("omar"))
  t.status(omar:put("/api/reviews/" .. rid .. "/answers/self", { q1 = "Shipped", q6 = "Lead" }), 200)
  t.status(omar:post("/api/reviews/" .. rid .. "/submit"), 200)
  t.status(ravi:put("/api/reviews/" .. rid .. "/answers/manager", { q1 = "Good", q3 = { x = 60, y = 40 }, q4 = 4, q6 = "Grow" }), 200)
  t.status(ravi:post("/api/reviews/" .. rid .. "/share"), 200)
  local body = t.status(omar:get("/reviews/" .. rid), 200).body
  t.not_contains(body, "next to the manager's dot")
  t.match(body, "place a dot on the graph%.</h3><p class=\"muted\">Not answered%.</p>")
  t.eq(#dots(body), 1, "the manager's dot alone")
end)
