-- A person's profile lists their reviews, as far as the viewer may see them: the person, their
-- reviewing manager, managers higher up once there is something they may read (the cycle's
-- visibility settings), HR who track the cycle (statuses only for an HR Assistant); never a
-- colleague. The list costs the same number of queries for one cycle or many.
local t = require "testing"
local demo = require "demo"
local db = require "lib.db"

local P = t.demo()
local hr = t.login(demo.email("marcus"))
local cycles_made = {}

local function new_cycle(name, who, visibility)
  local c = t.status(hr:post("/api/cycles", { name = name, start_date = "2026-01-05", self_due = "2026-01-19",
    manager_due = "2026-02-02", sign_due = "2026-02-16", visibility = visibility }), 201).json
  t.status(hr:post("/api/cycles/" .. c.id .. "/reviewees", { user_ids = who }), 200)
  t.status(hr:post("/api/cycles/" .. c.id .. "/start"), 200)
  cycles_made[#cycles_made + 1] = c
  return c, db.value("SELECT id FROM reviews WHERE cycle_id = ? AND reviewee_id = ?", c.id, who[1])
end

local function section(body)
  return body:match('<h2 id="reviews%-title">.-</section>')
end

local rid

t.test("Mia's review in a running cycle", function()
  rid = select(2, new_cycle("Spring 2026", { P.mia.id }, { indirect_managers = true }))
end)

t.test("Mia sees her reviews on her own profile", function()
  local s = section(t.login(demo.email("mia")):get("/people/" .. P.mia.id).body)
  t.ok(s, "the section")
  t.contains(s, "Your reviews")
  t.contains(s, '<a href="/reviews/' .. rid .. '">Spring 2026</a>')
  t.contains(s, "<span class=\"badge badge-warn\">In progress</span>")
end)

t.test("her manager sees it; her manager's manager only once there is something he may read", function()
  t.contains(section(t.login(demo.email("ravi")):get("/people/" .. P.mia.id).body), "/reviews/" .. rid)
  local daniel = t.login(demo.email("daniel"))
  t.eq(section(daniel:get("/people/" .. P.mia.id).body), nil, "nothing submitted: nothing Daniel may read")
  local mia = t.login(demo.email("mia"))
  t.status(mia:put("/api/reviews/" .. rid .. "/answers/self", { q1 = "Done a lot.", q6 = "More." }), 200)
  t.status(mia:post("/api/reviews/" .. rid .. "/submit"), 200)
  local s = section(daniel:get("/people/" .. P.mia.id).body)
  t.contains(s, "/reviews/" .. rid, "submitted: the indirect manager may read it (the cycle allows it)")
  t.not_contains(s, "status only")
  t.status(daniel:get("/reviews/" .. rid), 200, "and the link opens")
end)

t.test("a colleague sees no reviews; an HR Assistant sees the status only", function()
  t.eq(section(t.login(demo.email("zoe")):get("/people/" .. P.mia.id).body), nil)
  t.status(t.login(demo.email("zoe")):get("/reviews/" .. rid), 404)
  local lena = section(t.login(demo.email("lena")):get("/people/" .. P.mia.id).body)
  t.contains(lena, "/reviews/" .. rid)
  t.contains(lena, "status only")
  t.contains(section(hr:get("/people/" .. P.mia.id).body), "/reviews/" .. rid, "the HR Admin")
end)

t.test("a cycle hiding reviews from managers higher up hides them from the profile too", function()
  local _, hidden = new_cycle("Private round", { P.omar.id }, { indirect_managers = false })
  local omar = t.login(demo.email("omar"))
  t.status(omar:put("/api/reviews/" .. hidden .. "/answers/self", { q1 = "x", q6 = "y" }), 200)
  t.status(omar:post("/api/reviews/" .. hidden .. "/submit"), 200)
  local s = section(t.login(demo.email("daniel")):get("/people/" .. P.omar.id).body)
  t.eq(s, nil, "Daniel may not read Omar's review in this cycle")
  t.contains(section(t.login(demo.email("ravi")):get("/people/" .. P.omar.id).body), "/reviews/" .. hidden)
end)

t.test("the profile costs the same number of queries for one review or five", function()
  local ravi = t.login(demo.email("ravi"))
  -- the second of two requests: both counts with the session and the cycles read (lib/memo.lua)
  local function cost()
    t.status(ravi:get("/people/" .. P.lucas.id), 200)
    return t.count_queries(function() t.status(ravi:get("/people/" .. P.lucas.id), 200) end)
  end
  new_cycle("Lucas 1", { P.lucas.id })
  local one = cost()
  for i = 2, 5 do new_cycle("Lucas " .. i, { P.lucas.id }) end
  t.eq(cost(), one)
  t.eq(select(2, section(ravi:get("/people/" .. P.lucas.id).body):gsub('href="/reviews/', "")), 5)
end)
