-- What a request relies on is decided again on every request, through the real server on a
-- database file: the session, its person and the token a request presents are kept in memory
-- between requests (lib/memo.lua) and the reads of one request share a snapshot, yet a session
-- signed out, revoked, locked or stripped of a role is refused on its very next request, a role
-- granted counts at once, and an answer 2xx means the change is in the file.
local t = require "testing"
local demo = require "demo"
local db = require "lib.db"
local canary = dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "canary_lib.lua")

local dir = canary.file_backed()
local P = t.demo()
local super = t.login(demo.email("priya")) -- HR Admin + Tech Admin
local hr = t.login(demo.email("marcus"))   -- HR Admin

-- The same session over a TCP connection of its own: the path every browser takes.
local function over_socket(client)
  local sock = t.socket()
  return function(method, path, body)
    local headers = { ["User-Agent"] = client.user_agent, Cookie = client:cookie_header(), Accept = "application/json" }
    if method ~= "GET" then
      headers.Origin = "http://127.0.0.1"
      headers["X-CSRF-Token"] = client.csrf
      headers["Content-Type"] = "application/json"
    end
    local res = assert(sock:request(method, path, { headers = headers, body = body }))
    -- a browser takes a new cookie (a session whose rights changed gets a new token)
    local set = res.headers["set-cookie"]
    for _, c in ipairs(type(set) == "table" and set or { set }) do
      local value = c:match("^candor_session=([^;]+)")
      if value then client.jar.candor_session = value end
    end
    return res
  end
end

-- Requests that fill what is kept: the second one is answered from it.
local function warm(send, path, status)
  t.status(send("GET", path), status or 200)
  t.status(send("GET", path), status or 200)
end

t.test("signing out refuses the session on its very next request", function()
  local leo = t.login(demo.email("leo"))
  local send = over_socket(leo)
  warm(send, "/api/me")
  t.status(leo:delete("/api/session"), 204)
  t.status(send("GET", "/api/me"), 401)
end)

t.test("a session revoked from another browser is refused on its very next request", function()
  local leo = t.login(demo.email("leo"))
  local send = over_socket(leo)
  warm(send, "/api/me")
  t.status(t.login(demo.email("leo")):delete("/api/sessions"), 204)
  t.status(send("GET", "/api/me"), 401)
end)

t.test("locking someone refuses their session on its very next request", function()
  local zoe = t.login(demo.email("zoe"))
  local send = over_socket(zoe)
  warm(send, "/api/me")
  t.status(hr:post("/api/users/" .. P.zoe.id .. "/lock"), 200)
  t.status(send("GET", "/api/me"), 401)
  t.status(hr:post("/api/users/" .. P.zoe.id .. "/unlock"), 200)
end)

t.test("a role taken away is refused on the very next request, and a role granted counts at once", function()
  local tom = t.login(demo.email("tom")) -- Tech Admin
  local send = over_socket(tom)
  warm(send, "/api/tokens")
  t.status(super:put("/api/users/" .. P.tom.id .. "/roles", { roles = {} }), 200)
  t.status(send("GET", "/api/tokens"), 403, "downgraded")
  t.status(send("GET", "/api/tokens"), 403)
  t.status(super:put("/api/users/" .. P.tom.id .. "/roles", { roles = { "tech_admin" } }), 200)
  t.status(send("GET", "/api/tokens"), 200, "granted again")
end)

t.test("a revoked API token is refused on its very next request", function()
  local tom = t.login(demo.email("tom"))
  local made = t.status(tom:post("/api/tokens", { name = "Every request" }), 201)
  local sock = t.socket()
  local function me()
    return assert(sock:request("GET", "/api/me", { headers = { Authorization = "Bearer " .. made.json.token } }))
  end
  t.status(me(), 200)
  t.status(me(), 200)
  t.status(tom:delete("/api/tokens/" .. made.json.id), 204)
  t.status(me(), 401)
end)

t.test("an answer 2xx means the change is in the database file", function()
  local send = over_socket(hr)
  warm(send, "/api/users/" .. P.leo.id)
  local res = send("PATCH", "/api/users/" .. P.leo.id, '{"job_title":"Committed before the answer"}')
  t.status(res, 200)
  -- another process reads the file: no transaction of the server's is left open
  local status, out = canary.run("sqlite3 " .. canary.sh_quote(dir .. "/candor.db")
    .. " \"SELECT job_title FROM users WHERE id = " .. P.leo.id .. "\"")
  t.eq(status, 0, out)
  t.contains(out, "Committed before the answer")
  t.eq(db.depth(), 0)
  t.status(send("GET", "/api/users/" .. P.leo.id), 200)
  t.contains(send("GET", "/api/users/" .. P.leo.id).body, "Committed before the answer")
end)

t.test("the next request sees what another process committed", function()
  local send = over_socket(hr)
  warm(send, "/api/users/" .. P.leo.id)
  local status, out = canary.run("sqlite3 " .. canary.sh_quote(dir .. "/candor.db")
    .. " \"UPDATE users SET status = 'locked' WHERE id = " .. P.marcus.id .. "\"")
  t.eq(status, 0, out)
  t.status(send("GET", "/api/users/" .. P.leo.id), 401, "the person was locked by another process")
end)

-- GET /api/reviews/{id} keeps its encoded answer per viewer while the rows it comes from are
-- unchanged (services/reviews.lua view_rendered); the permission decisions run on every request.
local review_cycle
local function a_review_of(manager_key, want)
  review_cycle = review_cycle or demo.sample_cycle()
  local list = t.status(t.login(demo.email(manager_key)):get("/api/reviews"), 200).json.reviews
  for _, r in ipairs(list) do
    if r.role == "manager" and want(r) then return r end
  end
  t.fail("the demo has no such review of " .. manager_key)
end

t.test("a review read again shows an answer written since, on the very next request", function()
  local r = a_review_of("ravi", function(r) return r.manager_status ~= "shared" and r.manager_status ~= "submitted" end)
  local ravi = t.login(demo.email("ravi"))
  local send = over_socket(ravi)
  local path = "/api/reviews/" .. r.id
  warm(send, path)
  t.not_contains(send("GET", path).body, "Written after the first reads")
  t.status(ravi:put(path .. "/answers/manager", { q1 = "Written after the first reads" }), 200)
  t.contains(send("GET", path).body, "Written after the first reads")
end)

t.test("a review read again shows what another process committed, on the very next request", function()
  local r = a_review_of("ravi", function(r) return r.manager_status == "shared" end)
  local send = over_socket(t.login(demo.email("ravi")))
  local path = "/api/reviews/" .. r.id
  warm(send, path)
  local status, out = canary.run("sqlite3 " .. canary.sh_quote(dir .. "/candor.db")
    .. " \"UPDATE cycles SET name = 'Renamed by another process' WHERE id = " .. r.cycle_id .. "\"")
  t.eq(status, 0, out)
  t.contains(send("GET", path).body, "Renamed by another process")
end)

t.test("the reviewee and the manager of one review each get their own answer", function()
  local r = a_review_of("ravi", function(r) return r.manager_status == "shared" end)
  local reviewee = db.value("SELECT email FROM users WHERE id = ?", r.reviewee_id)
  local path = "/api/reviews/" .. r.id
  local manager_send = over_socket(t.login(demo.email("ravi")))
  local reviewee_send = over_socket(t.login(reviewee))
  warm(manager_send, path)
  local mine = reviewee_send("GET", path)
  t.status(mine, 200)
  t.contains(mine.body, '"role":"reviewee"')
  t.not_contains(mine.body, '"role":"manager"')
  t.contains(manager_send("GET", path).body, '"role":"manager"')
end)

t.test("a role changed changes what a review read through it shows, on the very next request", function()
  local r = a_review_of("ravi", function(r) return r.manager_status == "shared" end)
  t.status(super:post("/api/users/" .. P.marcus.id .. "/unlock"), 200) -- (locked by another process above)
  local marcus = t.login(demo.email("marcus")) -- HR Admin: reads the answers through the role
  local send = over_socket(marcus)
  local path = "/api/reviews/" .. r.id
  warm(send, path)
  t.contains(send("GET", path).body, '"manager_answers":{')
  -- an HR Assistant tracks the cycle but reads no answers: same review, same person, fewer rights
  t.status(super:put("/api/users/" .. P.marcus.id .. "/roles", { roles = { "hr_assistant" } }), 200)
  local res = send("GET", path)
  t.status(res, 200, "still tracks")
  t.not_contains(res.body, '"manager_answers"', "downgraded")
  t.status(super:put("/api/users/" .. P.marcus.id .. "/roles", { roles = {} }), 200)
  t.status(send("GET", path), 404, "no role left")
  t.status(super:put("/api/users/" .. P.marcus.id .. "/roles", { roles = { "hr_admin" } }), 200)
  t.contains(t.status(send("GET", path), 200, "granted again").body, '"manager_answers":{')
end)

t.test("being made a cycle's admin, or no longer, counts for a review on the very next request", function()
  local r = a_review_of("ravi", function(r) return r.manager_status == "shared" end)
  local send = over_socket(t.login(demo.email("amara"))) -- no role: the review is none of her business
  local path = "/api/reviews/" .. r.id
  warm(send, path, 404)
  local admins = "/api/cycles/" .. r.cycle_id .. "/admins"
  t.status(super:put(admins, { admins = { { user_id = P.amara.id, role = "admin" } } }), 200)
  t.contains(t.status(send("GET", path), 200, "made an admin").body, '"manager_answers":{')
  t.status(super:put(admins, { admins = {} }), 200)
  t.status(send("GET", path), 404, "no longer an admin")
end)

t.test("a task's coroutine serves the next request with nothing of the last one: an impersonated change is logged, the next person's is not", function()
  local r = a_review_of("ravi", function(r) return r.manager_status ~= "shared" and r.manager_status ~= "submitted" end)
  local path = "/api/reviews/" .. r.id .. "/answers/manager"
  local function changes() return db.value("SELECT count(*) FROM audit_log WHERE action = 'impersonation.change'") end
  local as_ravi = t.login(demo.email("priya"))
  t.status(as_ravi:form("/people/" .. P.ravi.id .. "/impersonate", {}), 303)
  as_ravi.csrf = as_ravi:get("/home").body:match('name="csrf%-token" content="([^"]+)"')
  local impersonated, himself = over_socket(as_ravi), over_socket(t.login(demo.email("ravi")))
  local before = changes()
  t.status(impersonated("PUT", path, '{"q1":"Typed by Priya as Ravi"}'), 200)
  t.eq(changes(), before + 1, "the impersonated change is logged")
  for i = 1, 3 do -- (the host keeps finished coroutines and hands the last one out first)
    t.status(himself("PUT", path, ('{"q1":"Typed by Ravi %d"}'):format(i)), 200)
  end
  t.eq(changes(), before + 1, "his own changes are not logged as impersonated")
  t.status(as_ravi:form("/impersonation/end", {}), 303)
end)

t.test("cleanup", function() canary.cleanup(dir) end)
