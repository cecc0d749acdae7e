-- A page costs the same number of queries for 3 series or 40, for 2 items or 60: My meetings, the
-- meeting page, the home page, the API lists and a manager's team page with the last and next 1:1
-- per report.
local t = require "testing"
local db = require "lib.db"
local sessions = require "services.sessions"
local one_on_ones = require "services.one_on_ones"

local P = t.demo()

-- A manager with 40 reports (all able to sign in with the demo password).
local boss_email, boss_id, reports = t.team_of(40)
local boss = sessions.load_user(boss_id)

-- Series between the boss and reports[from..to]: each with a meeting held (an item carried over)
-- and the next one upcoming.
local function series_with(from, to)
  db.transaction(function()
    for i = from, to do
      local s = one_on_ones.create(boss, { with_id = reports[i], cadence = "weekly", date = "2026-01-06" })
      one_on_ones.add_item(boss, s.meeting_id, { kind = "point", text = "Point for " .. i })
      one_on_ones.add_item(boss, s.meeting_id, { kind = "action", text = "Action for " .. i, assignee_id = boss.id })
      one_on_ones.close(boss, s.meeting_id, "done")
    end
  end)
end

local c = t.login(boss_email)

local function cost(path)
  c:get(path) -- the first request of a while also refreshes the session: not the page's cost
  local res
  local n = t.count_queries(function() res = c:get(path) end)
  t.status(res, 200, path)
  return n, res
end

t.test("My meetings, the home page, the team page and the API lists cost the same for 3 series as for 40", function()
  series_with(1, 3)
  local small = {}
  for _, p in ipairs({ "/meetings", "/home", "/team", "/api/meeting-series", "/api/meetings" }) do small[p] = cost(p) end
  series_with(4, 40)
  for p, n in pairs(small) do
    local big, res = cost(p)
    t.eq(big, n, p .. ": queries with 40 series as with 3")
    print(("      %s: %d queries"):format(p, big))
    if p == "/team" then
      t.contains(res.body, "Report Ünïcode 40")
      t.ok(select(2, res.body:gsub("Next 1:1:</span> <a href=\"/meetings/", "")) >= 40, "a next 1:1 for every report")
    end
  end
end)

t.test("the meeting page costs the same with 2 items as with 60", function()
  local sid = db.value("SELECT id FROM meeting_series WHERE attendee_id = ?", reports[1])
  local mid = db.value("SELECT id FROM meetings WHERE series_id = ? AND status = 'upcoming'", sid)
  local small = cost("/meetings/" .. mid)
  local api_small = cost("/api/meetings/" .. mid)
  db.transaction(function()
    for i = 1, 58 do
      one_on_ones.add_item(boss, mid, { kind = i % 3 == 0 and "note" or (i % 3 == 1 and "point" or "action"),
        text = "Item " .. i, private = i % 5 == 0 })
    end
  end)
  local big, res = cost("/meetings/" .. mid)
  t.eq(big, small, "meeting page")
  t.contains(res.body, "Item 58")
  t.eq(cost("/api/meetings/" .. mid), api_small, "the API's meeting")
end)

t.test("the team page's dates are the ones between the manager and each report", function()
  local dates = one_on_ones.team_dates(boss, { reports[1], reports[2], P.mia.id })
  t.eq(dates[reports[1]].last.date, "2026-01-06")
  t.eq(dates[reports[1]].next.date, "2026-01-13")
  t.eq(dates[P.mia.id], nil, "not the boss's report: no dates")
end)
