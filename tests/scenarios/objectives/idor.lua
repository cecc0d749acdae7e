-- Every objective route that takes an id, tried by people who may not read the objective (Mia's
-- private one: a peer, an HR Admin, the super user, her manager, the CEO; Mia's protected one: a
-- peer and an HR Assistant): each gets 404, exactly as for an id that does not exist, and nothing
-- changes. The HR routes of a cycle refuse everyone without an HR role (403), its pages are 404
-- to people who do not take part; nothing changes either.
local t = require "testing"
local db = require "lib.db"
local app = require "app"
local H = dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "_helpers.lua")

t.demo()
local q1 = H.cycle()
local newer = H.cycle({ name = "Q2 2026", starts_on = "2026-04-01", ends_on = "2026-06-30", edit_until = "2026-04-30",
  update_until = "2026-07-15" })
local secret = H.objective("mia", q1, { title = "Private plan", visibility = "private",
  key_results = { { kind = "check", title = "Step one" } } })
local guarded = H.objective("mia", q1, { title = "Protected plan", visibility = "protected" })
-- a missed objective can be copied (the copy route needs one)
t.status(H.as("mia"):patch("/api/objectives/" .. secret.id, { status = "missed" }), 200)
t.status(H.as("mia"):patch("/api/objectives/" .. guarded.id, { status = "missed" }), 200)
H.as("mia"):post("/api/objectives/" .. secret.id .. "/comments", { body = "Only mine" })

-- One request per route with an objective id ({oid}).
local OBJECTIVE_REQUESTS = {
  { "GET", "/api/objectives/{oid}" },
  { "PATCH", "/api/objectives/{oid}", { title = "taken over" } },
  { "PATCH", "/api/objectives/{oid}", { status = "done" } },
  { "DELETE", "/api/objectives/{oid}" },
  { "POST", "/api/objectives/{oid}/comments", { body = "planted" } },
  { "POST", "/api/objectives/{oid}/copy", { cycle_id = newer.id } },
  { "GET", "/objectives/{oid}" },
  { "GET", "/objectives/{oid}/edit" },
  { "FORM", "/objectives/{oid}/edit", { title = "taken over" } },
  { "FORM", "/objectives/{oid}/update", { status = "done" } },
  { "FORM", "/objectives/{oid}/comments", { body = "planted" } },
  { "FORM", "/objectives/{oid}/delete" },
  { "FORM", "/objectives/{oid}/copy", { cycle_id = tostring(newer.id) } },
}

-- One request per route with a cycle id ({cid}): its HR routes (403 without an HR role) and the
-- pages of the people taking part (404 for others).
local CYCLE_REQUESTS = {
  { "GET", "/api/objective-cycles/{cid}", "part" },
  { "PATCH", "/api/objective-cycles/{cid}", "hr", { name = "taken over" } },
  { "DELETE", "/api/objective-cycles/{cid}", "hr" },
  { "POST", "/api/objective-cycles/{cid}/people", "hr", { user_ids = { 1 } } },
  { "DELETE", "/api/objective-cycles/{cid}/people", "hr", { user_ids = { 1 } } },
  { "GET", "/api/objective-cycles/{cid}/objectives", "part" },
  { "GET", "/api/objective-cycles/{cid}/tree", "part" },
  { "GET", "/api/objective-cycles/{cid}/overview", "hr" },
  { "POST", "/api/objective-cycles/{cid}/nudges/preview", "hr", { audience = "without" } },
  { "POST", "/api/objective-cycles/{cid}/nudges", "hr", { audience = "without" } },
  { "GET", "/api/objective-cycles/{cid}/export.xlsx", "hr" },
  { "GET", "/objective-cycles/{cid}", "part" },
  { "GET", "/objective-cycles/{cid}/tree", "part" },
  { "GET", "/objective-cycles/{cid}/overview", "hr" },
  { "GET", "/objective-cycles/{cid}/edit", "hr" },
  { "FORM", "/objective-cycles/{cid}/edit", "hr", { name = "taken over" } },
  { "FORM", "/objective-cycles/{cid}/delete", "hr" },
  { "GET", "/objective-cycles/{cid}/nudges?audience=without", "hr" },
  { "FORM", "/objective-cycles/{cid}/nudges", "hr", { audience = "without", confirm = "1" } },
  { "GET", "/objective-cycles/{cid}/export.xlsx", "hr" },
  { "GET", "/objective-cycles/{cid}/people", "hr" },
  { "FORM", "/objective-cycles/{cid}/people", "hr", { ids = { "1" } } },
}

local function fill(path, ids)
  return (path:gsub("{oid}", tostring(ids.oid)):gsub("{cid}", tostring(ids.cid)))
end

local function send(c, method, path, body)
  if method == "FORM" then return c:form(path, body or {}) end
  if method == "GET" then return c:get(path) end
  return c:request(method, path, { body = body or {} })
end

local function state()
  return db.query([[SELECT 'o' AS t, id, status, visibility, updated_at, length(title_enc) AS n FROM objectives
    UNION ALL SELECT 'k', id, kind, done, updated_at, length(title_enc) FROM objective_key_results
    UNION ALL SELECT 'c', id, kind, status, created_at, length(body_enc) FROM objective_comments
    UNION ALL SELECT 'y', id, name, participants, updated_at, edit_until FROM objective_cycles
    UNION ALL SELECT 'p', cycle_id, user_id, added_at, 0, 0 FROM objective_cycle_people
    UNION ALL SELECT 'm', count(*), 0, 0, 0, 0 FROM outbox ORDER BY 1, 2]])
end

t.test("the lists of requests cover every objective route that takes an id", function()
  local covered = {}
  for _, r in ipairs(OBJECTIVE_REQUESTS) do
    covered[(r[1] == "FORM" and "POST" or r[1]) .. " " .. r[2]:gsub("{oid}", "{id}")] = true
  end
  for _, r in ipairs(CYCLE_REQUESTS) do
    covered[(r[1] == "FORM" and "POST" or r[1]) .. " " .. r[2]:gsub("{cid}", "{id}"):gsub("%?.*$", "")] = true
  end
  covered["GET /api/people/{id}/objectives"] = true -- a list, filtered: its own test below
  local missing = {}
  for _, route in ipairs(app.router:routes()) do
    local path = route.path:gsub("{([%w_]+):%a+}", "{%1}")
    if path:find("objective", 1, true) and path:find("{", 1, true) and not covered[route.method .. " " .. path] then
      missing[#missing + 1] = route.method .. " " .. path
    end
  end
  t.same(missing, {})
end)

local function try_all(key, oid)
  local c = H.as(key)
  for _, r in ipairs(OBJECTIVE_REQUESTS) do
    local what = ("%s: %s %s"):format(key, r[1], r[2])
    local res = send(c, r[1], fill(r[2], { oid = oid }), r[3])
    local missing = send(c, r[1], fill(r[2], { oid = 999999 }), r[3])
    if r[1] == "FORM" then
      t.eq(res.status, missing.status, what .. ": as for an unknown id")
      if res.status == 303 then
        t.eq(c:follow(res).status, 404, what .. ": the page it goes back to is not theirs either")
      else
        t.eq(res.status, 404, what)
      end
    else
      t.eq(res.status, 404, what)
      t.eq(missing.status, 404, what .. " (unknown id)")
      t.eq(res.json and res.json.error and res.json.error.message, missing.json and missing.json.error
        and missing.json.error.message, what .. ": same words")
    end
  end
end

t.test("a private objective: everyone but its owner gets 404 on every route, and nothing changes", function()
  local before = state()
  for _, key in ipairs({ "zoe", "marcus", "priya", "ravi", "olivia", "lena" }) do try_all(key, secret.id) end
  t.same(state(), before, "nothing changed")
end)

t.test("a protected objective: a peer and an HR Assistant get 404 on every route, and nothing changes", function()
  local before = state()
  for _, key in ipairs({ "zoe", "lucas", "lena", "tom" }) do try_all(key, guarded.id) end
  t.same(state(), before, "nothing changed")
end)

t.test("a cycle's HR routes refuse people without an HR role, its pages are 404 to those not taking part", function()
  local only_mia = H.cycle({ name = "Pilot", participants = "selected" })
  t.status(H.as("marcus"):post("/api/objective-cycles/" .. only_mia.id .. "/people", { user_ids = { H.id("mia") } }), 200)
  local before = state()
  for _, key in ipairs({ "zoe", "ravi", "tom", "olivia" }) do
    local c = H.as(key)
    for _, r in ipairs(CYCLE_REQUESTS) do
      local what = ("%s: %s %s"):format(key, r[1], r[2])
      local res = send(c, r[1], fill(r[2], { cid = only_mia.id }), r[4])
      if r[1] == "FORM" then
        t.ok(res.status == 403 or (res.status == 303 and c:follow(res).status ~= 200), what)
      else
        t.eq(res.status, r[3] == "hr" and 403 or 404, what)
      end
    end
  end
  -- Mia takes part: she reads the cycle's pages, not its HR routes
  t.status(H.as("mia"):get("/objective-cycles/" .. only_mia.id), 200)
  t.status(H.as("mia"):get("/api/objective-cycles/" .. only_mia.id .. "/overview"), 403)
  t.same(state(), before, "nothing changed")
end)

t.test("a person's objectives through the people API: what the caller may read, never the others", function()
  local titles = {}
  for _, o in ipairs(t.status(H.as("ravi"):get("/api/people/" .. H.id("mia") .. "/objectives"), 200).json.objectives) do
    titles[o.title] = true
  end
  t.ok(titles["Protected plan"], "her manager")
  t.no(titles["Private plan"])
  t.eq(#t.status(H.as("zoe"):get("/api/people/" .. H.id("mia") .. "/objectives"), 200).json.objectives, 0)
end)

t.test("guests have no objectives area", function()
  local guest = t.login("alex.morgan@clientcorp.example")
  t.status(guest:get("/api/objectives/" .. guarded.id), 403)
  t.status(guest:get("/api/objective-cycles"), 403)
  t.status(guest:post("/api/objectives", { cycle_id = q1.id, title = "Guest's" }), 403)
  t.not_contains(guest:get("/home").body, "Objectives")
end)
