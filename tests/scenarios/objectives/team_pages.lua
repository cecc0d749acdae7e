-- The team's objectives of a manager with a large organisation: the counts cover everyone below
-- them, the people and their objectives come 100 a page by name, so the page never renders the
-- whole organisation.
local t = require "testing"
local db = require "lib.db"
local sessions = require "services.sessions"
local objectives = require "services.objectives"
local H = dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "_helpers.lua")

t.demo()
local q1 = H.cycle()
local boss_email, boss_id, reports = t.team_of(150)
local boss = t.login(boss_email)
db.transaction(function() -- a public objective for each of the first 120
  objectives.create(sessions.load_user(boss_id), { cycle_id = q1.id, owner_ids = table.move(reports, 1, 120, 1, {}),
    title = "Ship it" })
end)

local function shown(body)
  local n = 0
  for _ in body:gmatch('<section class="card" id="person%-%d+">') do n = n + 1 end
  return n
end

local function stats(body)
  local out = {}
  for v in body:gmatch('<div class="stat%-value">(%d+)</div>') do out[#out + 1] = tonumber(v) end
  return out
end

t.test("the counts cover the whole team; the people come 100 a page", function()
  local first = t.status(boss:get("/objectives/team"), 200).body
  t.eq(shown(first), 100)
  t.same(stats(first), { 150, 120, 30 })
  t.contains(first, "People 1–100 of 150, 100 a page")
  t.contains(first, 'href="/objectives/team?page=2"')
  local second = t.status(boss:get("/objectives/team?page=2"), 200).body
  t.eq(shown(second), 50)
  t.same(stats(second), { 150, 120, 30 })
  t.contains(second, "People 101–150 of 150")
end)

t.test("the people of a page are those of the name order, each once over the pages", function()
  local expected = db.column([[SELECT id FROM users WHERE manager_id = ? ORDER BY name COLLATE FOLD, id]], boss_id)
  local seen = {}
  for page = 1, 2 do
    for id in t.status(boss:get("/objectives/team?page=" .. page), 200).body:gmatch('id="person%-(%d+)"') do
      seen[#seen + 1] = tonumber(id)
    end
  end
  t.same(seen, expected)
end)

t.test("a manager of a few sees no pager", function()
  local body = t.status(H.as("ravi"):get("/objectives/team"), 200).body
  t.not_contains(body, 'class="pagination"')
end)
