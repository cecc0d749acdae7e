-- The team page of a manager with a large organisation shows a page of people at a time (by name,
-- without regard to case or accents), with the reviews of those people and the other areas'
-- columns for them only: a director of 250 costs the same queries as a manager of 20, and never
-- renders everyone below them.
local t = require "testing"
local db = require "lib.db"
local reviews = require "services.reviews"

t.demo()
local boss_email, boss_id, reports = t.team_of(250)
local boss = t.login(boss_email)

-- the names of the boss's reports who are not deactivated, in SQL's order
local function in_order()
  return db.column([[SELECT name FROM users WHERE manager_id = ? AND status <> 'deactivated'
    ORDER BY name COLLATE FOLD, id]], boss_id)
end

local function names_on(body)
  local out = {}
  local list = body:match("<h2>People</h2>(.-)</ul>")
  for name in list:gmatch('<a href="/people/%d+">([^<]+)</a>') do out[#out + 1] = name end
  return out
end

t.test("a manager of 250 sees 100 people a page, in name order, and a way to the next page", function()
  local body = t.status(boss:get("/team"), 200).body
  local all = in_order()
  t.same(names_on(body), table.move(all, 1, reviews.TEAM_PER_PAGE, 1, {}))
  t.contains(body, "People 1–100 of 250")
  t.contains(body, 'href="/team?page=2"')
  local last = t.status(boss:get("/team?page=3"), 200).body
  t.same(names_on(last), table.move(all, 201, 250, 1, {}))
  t.contains(last, "People 201–250 of 250")
  t.not_contains(last, 'rel="next"')
end)

t.test("a page out of range shows the first", function()
  local first = in_order()[1]
  t.eq(names_on(t.status(boss:get("/team?page=9"), 200).body)[1], first)
  t.eq(names_on(t.status(boss:get("/team?page=x"), 200).body)[1], first)
end)

t.test("a renamed report moves to their place at once; a deactivated one leaves the page", function()
  db.exec("UPDATE users SET name = 'Aaron Early' WHERE id = ?", reports[200])
  db.exec("UPDATE users SET status = 'deactivated' WHERE id = ?", reports[1])
  local body = t.status(boss:get("/team"), 200).body
  t.eq(names_on(body)[1], "Aaron Early")
  t.same(names_on(body), table.move(in_order(), 1, 100, 1, {}))
  t.not_contains(body, ">Report Ünïcode 01<")
  t.contains(body, "People 1–100 of 249")
end)

t.test("the page costs the same queries for a team of 250 as for the demo's managers", function()
  local function cost(c)
    c:get("/team")
    return t.count_queries(function() t.status(c:get("/team"), 200) end)
  end
  t.eq(cost(boss), cost(t.as("ravi")))
end)
