-- A page costs the same number of queries for 3 objectives or 120: a manager's and an owner's
-- pages, the cycle's list and search, its alignment tree, HR's overview, the API lists, the home
-- page, the team page and a profile.
local t = require "testing"
local db = require "lib.db"
local sessions = require "services.sessions"
local objectives = require "services.objectives"
local H = dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "_helpers.lua")

local P = t.demo()
local q1 = H.cycle()

-- A manager with 40 reports (all able to sign in with the demo password).
local boss_email, boss_id, reports = t.team_of(40)
local boss = sessions.load_user(boss_id)
local team_objective = db.transaction(function()
  return objectives.create(boss, { cycle_id = q1.id, level = "team", title = "Team objective" })[1]
end)

-- Three objectives each for reports[from..to]: public aligned to the team's, protected with a
-- colleague named, private; each with key results.
local function objectives_for(from, to)
  db.transaction(function()
    local ids = {}
    for i = from, to do ids[#ids + 1] = reports[i] end
    local krs = { { kind = "number", title = "Measure", start = 0, target = 10 }, { kind = "check", title = "Step" } }
    objectives.create(boss, { cycle_id = q1.id, owner_ids = ids, title = "Public for each", parent_id = team_objective,
      key_results = krs })
    objectives.create(boss, { cycle_id = q1.id, owner_ids = ids, title = "Protected for each", visibility = "protected",
      named_ids = { P.zoe.id }, key_results = krs })
    for _, id in ipairs(ids) do
      objectives.create(sessions.load_user(id), { cycle_id = q1.id, title = "Private of mine", visibility = "private" })
    end
  end)
end

local c = t.login(boss_email)
local hr = H.as("marcus")
local report = t.login("report01@northwind.example")

local function cost(client, path)
  client:get(path) -- the first request of a while also refreshes the session: not the page's cost
  local res
  local n = t.count_queries(function() res = client:get(path) end)
  t.status(res, 200, path)
  return n, res
end

local PAGES = {
  { c, "/objectives" }, { c, "/objectives/team" }, { c, "/home" }, { c, "/team" },
  { c, "/objective-cycles" }, { c, "/objective-cycles/" .. q1.id }, { c, "/objective-cycles/" .. q1.id .. "?q=each" },
  { c, "/objective-cycles/" .. q1.id .. "/tree" }, { c, "/objective-cycles/" .. q1.id .. "/tree?focus=" .. team_objective },
  { c, "/api/objective-cycles/" .. q1.id .. "/objectives" }, { c, "/api/objective-cycles/" .. q1.id .. "/tree" },
  { c, "/objectives/" .. team_objective }, { c, "/api/objectives/" .. team_objective },
  { c, "/people/" .. boss.id }, { c, "/objectives/new" },
  { hr, "/objective-cycles/" .. q1.id .. "/overview" }, { hr, "/api/objective-cycles/" .. q1.id .. "/overview" },
  { hr, "/objective-cycles/" .. q1.id .. "/nudges?audience=overdue" },
  { report, "/objectives" }, { report, "/home" },
}

t.test("every objective page costs the same for 3 reports' objectives as for 40 reports'", function()
  objectives_for(1, 1)
  local small = {}
  for i, p in ipairs(PAGES) do small[i] = cost(p[1], p[2]) end
  objectives_for(2, 40)
  for i, p in ipairs(PAGES) do
    local big, res = cost(p[1], p[2])
    t.eq(big, small[i], p[2] .. ": queries with 120 objectives as with 3")
    print(("      %s: %d queries"):format(p[2], big))
    if p[2] == "/team" then t.contains(res.body, "2 objectives · 0%", "their private ones are not counted") end
    if p[2] == "/objectives/team" then t.contains(res.body, "Report Ünïcode 40") end
  end
end)

t.test("the Excel export costs the same for 40 owners as for one", function()
  local function export_cost()
    hr:get("/objective-cycles/" .. q1.id .. "/export.xlsx")
    local res
    local n = t.count_queries(function() res = hr:get("/objective-cycles/" .. q1.id .. "/export.xlsx") end)
    t.status(res, 200)
    return n, res
  end
  local n, res = export_cost()
  local text = H.xlsx_text(res.body)
  t.contains(text, "Public for each")
  t.contains(text, "Protected for each", "an HR Admin reads protected objectives outside his line")
  t.not_contains(text, "Private of mine")
  objectives_for(1, 1) -- more rows
  t.eq(export_cost(), n)
end)
