-- A manager's team in a 360 cycle, for a large organisation: the page shows 100 reviewees at a
-- time by name with their counts, so it never renders everyone below the manager; so does the API
-- (`?page=N`, with page, pages and total); the approvals keep listing everything that is theirs.
local t = require "testing"
local demo = require "demo"
local db = require "lib.db"

t.demo()
local boss_email, boss_id, reports = t.team_of(150)
local boss = t.login(boss_email)
local hr = t.login(demo.email("marcus"))
local cycle = t.status(hr:post("/api/feedback/cycles", { name = "Big 360", start_date = "2026-01-05",
  rules = { min = 0, max = 8, suggested = 3 } }), 201).json
t.status(hr:post("/api/feedback/cycles/" .. cycle.id .. "/reviewees", { user_ids = reports }), 200)
t.status(hr:post("/api/feedback/cycles/" .. cycle.id .. "/start"), 200)
local team = "/feedback/cycles/" .. cycle.id .. "/team"

local function names_on(body)
  local out = {}
  for name in body:gmatch('<a class="person%-name" href="/feedback/360/%d+">([^<]+)</a>') do out[#out + 1] = name end
  return out
end

local function in_order()
  return db.column("SELECT name FROM users WHERE manager_id = ? ORDER BY name COLLATE FOLD, id", boss_id)
end

t.test("the team page shows 100 reviewees a page, in name order", function()
  local all = in_order()
  local first = t.status(boss:get(team), 200).body
  t.same(names_on(first), table.move(all, 1, 100, 1, {}))
  t.contains(first, "People 1–100 of 150, 100 a page")
  t.contains(first, 'href="' .. team .. '?page=2"')
  local second = t.status(boss:get(team .. "?page=2"), 200).body
  t.same(names_on(second), table.move(all, 101, 150, 1, {}))
end)

t.test("the API answers 100 reviewees a page by name, with the page, the pages and the total", function()
  local api = "/api/feedback/cycles/" .. cycle.id .. "/team"
  local first = t.status(boss:get(api), 200).json
  t.same({ first.page, first.pages, first.total, first.per_page, #first.reviewees }, { 1, 2, 150, 100, 100 })
  local second = t.status(boss:get(api .. "?page=2"), 200).json
  t.same({ second.page, second.pages, second.total, #second.reviewees }, { 2, 2, 150, 50 })
  local names = {}
  for _, res in ipairs({ first, second }) do
    for _, x in ipairs(res.reviewees) do names[#names + 1] = x.name end
  end
  t.same(names, in_order(), "pages 1 to pages hold every reviewee once, in name order")
  local beyond = t.status(boss:get(api .. "?page=9"), 200).json
  t.eq(beyond.page, 1, "a page out of range answers the first, and says so")
  t.eq(beyond.reviewees[1].name, in_order()[1])
  t.eq(t.count_queries(function() boss:get(api .. "?page=2") end), t.count_queries(function() boss:get(api) end),
    "the last page costs what the first does")
end)

t.test("the approvals still list every reviewee the manager approves for", function()
  local approvals = t.status(boss:get("/feedback/cycles/" .. cycle.id .. "/approvals"), 200).body
  for _, name in ipairs({ in_order()[1], in_order()[150] }) do t.contains(approvals, name) end
end)

t.test("the team page costs the same queries on its first and its last page", function()
  local function cost(path)
    boss:get(path)
    return t.count_queries(function() t.status(boss:get(path), 200) end)
  end
  t.eq(cost(team .. "?page=2"), cost(team))
end)

t.test("a manager's team page links only the 360s that open for them: an indirect report's is a name, not a 404", function()
  local P = t.demo()
  local c = t.status(hr:post("/api/feedback/cycles", { name = "Sales 360 links", start_date = "2026-01-05",
    rules = { min = 0, max = 8, suggested = 3 } }), 201).json
  t.status(hr:post("/api/feedback/cycles/" .. c.id .. "/reviewees", { user_ids = { P.tyler.id, P.carlos.id } }), 200)
  t.status(hr:post("/api/feedback/cycles/" .. c.id .. "/start"), 200)
  local james = t.login(demo.email("james"))
  local body = t.status(james:get("/feedback/cycles/" .. c.id .. "/team"), 200).body
  local tyler = db.value("SELECT id FROM feedback_subjects WHERE cycle_id = ? AND reviewee_id = ?", c.id, P.tyler.id)
  local carlos = db.value("SELECT id FROM feedback_subjects WHERE cycle_id = ? AND reviewee_id = ?", c.id, P.carlos.id)
  t.contains(body, 'href="/feedback/360/' .. tyler .. '"', "his direct report's 360 is a link")
  t.status(james:get("/feedback/360/" .. tyler), 200)
  t.contains(body, "Carlos Mendes", "the indirect report is listed")
  t.not_contains(body, 'href="/feedback/360/' .. carlos .. '"', "but not linked")
  t.status(james:get("/feedback/360/" .. carlos), 404, "the page he would have been sent to")
  local api = {}
  for _, x in ipairs(t.status(james:get("/api/feedback/cycles/" .. c.id .. "/team"), 200).json.reviewees) do
    api[x.name] = x.opens
  end
  t.same(api, { ["Tyler Reed"] = true, ["Carlos Mendes"] = false }, "the API says the same")
  t.contains(t.status(t.login(demo.email("tyler")):get("/feedback/cycles/" .. c.id .. "/team"), 200).body,
    'href="/feedback/360/' .. carlos .. '"', "Carlos's own manager opens it")
end)
