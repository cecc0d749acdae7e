-- Access that follows a relationship follows it on the very next request: a manager moved out of
-- the line no longer reads what the line gave them (protected objectives, managers-only praise),
-- and the new manager does at once. Nobody changes their own line. An API token acts as its
-- creator is now (locked or deactivated: refused). Guests and signed-out browsers are refused
-- every route that is not theirs, with or without an id. An HR Admin reads nothing of a review
-- above them, whatever the path.
local t = require "testing"
local demo = require "demo"
local app = require "app"
local db = require "lib.db"

local P = t.demo()
local sweep = dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "sweep_lib.lua")
local ids = {}

t.test("setup: a protected objective of Ethan's and a managers-only praise of Mia", function()
  demo.sample_objectives()
  demo.sample_messages()
  ids.objective = db.value("SELECT id FROM objectives WHERE owner_id = ? AND visibility = 'protected'", P.ethan.id)
  ids.praise = db.value("SELECT id FROM messages WHERE audience = 'managers'")
  t.ok(ids.objective and ids.praise)
end)

t.test("a manager moved out of the line loses what it gave on the next request; the new one gains it", function()
  local ravi, emma = t.login(demo.email("ravi")), t.login(demo.email("emma"))
  local hr = t.login(demo.email("marcus"))
  -- Ravi reads Ethan's protected objective as Lucas's manager, and Mia's managers-only praise as hers
  t.status(ravi:get("/api/objectives/" .. ids.objective), 200)
  t.status(ravi:get("/objectives/" .. ids.objective), 200)
  t.status(emma:get("/api/messages/" .. ids.praise), 404)
  t.status(ravi:get("/api/messages/" .. ids.praise), 200)
  -- Lucas (Ethan's manager) and Mia move under Emma
  t.status(hr:patch("/api/users/" .. P.lucas.id, { manager_id = P.emma.id }), 200)
  t.status(hr:patch("/api/users/" .. P.mia.id, { manager_id = P.emma.id }), 200)
  t.status(ravi:get("/api/objectives/" .. ids.objective), 404, "Ravi, no longer above Ethan")
  t.status(ravi:get("/objectives/" .. ids.objective), 404)
  t.status(emma:get("/api/objectives/" .. ids.objective), 200, "Emma, above Ethan now")
  t.status(emma:get("/api/messages/" .. ids.praise), 200, "Emma, Mia's manager now")
  -- back as it was
  t.status(hr:patch("/api/users/" .. P.lucas.id, { manager_id = P.ravi.id }), 200)
  t.status(hr:patch("/api/users/" .. P.mia.id, { manager_id = P.ravi.id }), 200)
  t.status(emma:get("/api/objectives/" .. ids.objective), 404, "Emma again outside the line")
  t.status(ravi:get("/api/objectives/" .. ids.objective), 200)
end)

t.test("nobody changes their own manager, nor becomes someone's manager, without the right", function()
  local mia = t.login(demo.email("mia"))
  t.status(mia:patch("/api/users/" .. P.mia.id, { manager_id = P.olivia.id }), 403)
  t.status(mia:patch("/api/users/" .. P.ethan.id, { manager_id = P.mia.id }), 403)
  local tom = t.login(demo.email("tom")) -- Tech Admin
  t.status(tom:patch("/api/users/" .. P.ethan.id, { manager_id = P.tom.id }), 403)
  t.status(tom:patch("/api/users/" .. P.tom.id, { manager_id = P.olivia.id }), 403)
  t.eq(db.value("SELECT manager_id FROM users WHERE id = ?", P.mia.id), P.ravi.id)
  t.eq(db.value("SELECT manager_id FROM users WHERE id = ?", P.ethan.id), P.lucas.id)
end)

t.test("an API token is refused once its creator is locked or deactivated, and works again when unlocked", function()
  local priya = t.login(demo.email("priya"))
  local tom = t.login(demo.email("tom"))
  local token = t.status(tom:post("/api/tokens", { name = "Tom's script" }), 201).json.token
  local bearer = t.client({ headers = { authorization = "Bearer " .. token } })
  t.status(bearer:get("/api/users"), 200)
  t.status(priya:post("/api/users/" .. P.tom.id .. "/lock"), 200)
  t.status(bearer:get("/api/users"), 401, "locked")
  t.status(priya:post("/api/users/" .. P.tom.id .. "/unlock"), 200)
  t.status(bearer:get("/api/users"), 200, "unlocked")
  t.status(priya:post("/api/users/" .. P.tom.id .. "/deactivate"), 200)
  t.status(bearer:get("/api/users"), 401, "deactivated")
  t.status(priya:post("/api/users/" .. P.tom.id .. "/reactivate"), 200)
end)

-- Every route a guest or a signed-out browser may not call, with ids filled with 1.
local function routes(allowed)
  local out = {}
  for _, r in ipairs(app.router:routes()) do
    if not allowed[r.auth] then
      out[#out + 1] = { method = r.method, path = (r.path:gsub("{[^}]+}", "1")), route = r }
    end
  end
  return out
end

t.test("a guest is refused every route for employees, and nothing changes", function()
  local guest = t.login(demo.GUESTS[1][1])
  local before = sweep.state()
  local wrong = {}
  for _, c in ipairs(routes({ public = true, any_user = true, guest = true })) do
    local res = c.method == "GET" and guest:get(c.path) or guest:request(c.method, c.path, { body = {} })
    if res.status ~= 403 and res.status ~= 404 and res.status ~= 401 then
      wrong[#wrong + 1] = ("%s %s -> %d"):format(c.method, c.path, res.status)
    end
  end
  if #wrong > 0 then t.fail("not refused:\n  " .. table.concat(wrong, "\n  ")) end
  t.ok(#routes({ public = true, any_user = true, guest = true }) > 300, "the routes were swept")
  t.eq(sweep.state() == before, true, "nothing changed")
end)

t.test("a signed-out browser is refused every route that needs someone signed in", function()
  local stranger = t.client()
  local wrong = {}
  for _, c in ipairs(routes({ public = true })) do
    local res = c.method == "GET" and stranger:get(c.path) or stranger:request(c.method, c.path, { body = {} })
    local to_signin = res.status == 303 and (res.headers.location or ""):find("^/%?next=")
    if res.status ~= 401 and res.status ~= 403 and not to_signin then
      wrong[#wrong + 1] = ("%s %s -> %d"):format(c.method, c.path, res.status)
    end
  end
  if #wrong > 0 then t.fail("not refused:\n  " .. table.concat(wrong, "\n  ")) end
end)

t.test("an HR Admin reads no word of their own manager's review by any path: page, API, PDF, ratings, lists", function()
  local hr = t.login(demo.email("marcus")) -- HR Admin, reports to Priya
  local c = t.status(hr:post("/api/cycles", { name = "Leaders", start_date = "2026-01-05", self_due = "2026-01-19",
    manager_due = "2026-02-02", sign_due = "2026-02-16" }), 201).json.id
  t.status(hr:post("/api/cycles/" .. c .. "/reviewees", { user_ids = { P.priya.id } }), 200)
  t.status(hr:post("/api/cycles/" .. c .. "/start"), 200)
  local review = db.value("SELECT id FROM reviews WHERE reviewee_id = ? AND cycle_id = ?", P.priya.id, c)
  local olivia = t.login(demo.email("olivia"))
  t.status(olivia:put("/api/reviews/" .. review .. "/answers/manager", { q1 = "canary-of-priya", q4 = 2, q6 = "Grow" }), 200)
  t.status(olivia:post("/api/reviews/" .. review .. "/share"), 200)
  for _, path in ipairs({ "/api/reviews/" .. review, "/reviews/" .. review, "/api/reviews/" .. review .. "/pdf",
    "/reviews/" .. review .. "/pdf", "/api/cycles/" .. c, "/cycles/" .. c, "/cycles/" .. c .. "/reviewees",
    "/api/cycles/" .. c .. "/reviewees", "/people/" .. P.priya.id, "/api/reviews", "/home", "/team" }) do
    t.not_contains(hr:get(path).body, "canary-of-priya", path)
  end
  t.eq(t.status(hr:get("/api/cycles/" .. c .. "/ratings"), 200).json.total, 0, "her rating is not counted for him")
  t.eq(t.status(t.login(demo.email("priya")):get("/api/cycles/" .. c .. "/ratings"), 200).json.total, 1,
    "Priya reads her shared review, so it counts for her")
  t.contains(t.status(olivia:get("/api/reviews/" .. review), 200).body, "canary-of-priya", "her writer reads it")
end)
