-- What a browser or client may send, swept over every route the router lists: every state change
-- without the CSRF token or from another site is refused and changes nothing; a body that is not
-- JSON (or JSON of the wrong shape, or posted as another content type) is a clear 4xx that changes
-- nothing; text people type (names, titles, praise, comments, objectives) comes back escaped on the
-- pages that show it, links only as http(s)/mailto; redirects after sign-in stay on this site;
-- exports name their file without breaking the header; password reset does not tell who exists.
local t = require "testing"
local demo = require "demo"
local app = require "app"
local db = require "lib.db"
local web = require "lib.web"

local P = t.demo()

local sweep = dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "sweep_lib.lua")
local state = sweep.state

-- Every state-changing route with its parameters filled (existing objects where the id is a
-- person's: Mia; 1 otherwise, which exists for most kinds after the samples below).
local function writes()
  local out = {}
  for _, r in ipairs(app.router:routes()) do
    if r.method ~= "GET" then
      local path = r.path:gsub("{(%w+)[^}]*}", function(name)
        if name == "name" then return "review" end
        if name == "token" then return "x" end
        if r.path:find("^/api/users/{") or r.path:find("^/people/{") then return tostring(P.mia.id) end
        return "1"
      end)
      out[#out + 1] = { method = r.method, path = path, route = r }
    end
  end
  return out
end

t.test("setup: the demo company at work", function()
  demo.sample_cycle()
  demo.sample_360()
  demo.sample_messages()
  demo.sample_one_on_ones()
  demo.sample_objectives()
end)

t.test("every state change without the CSRF token is refused, even for the super user, and nothing changes", function()
  local priya = t.login(demo.email("priya"))
  priya.auto_csrf = false
  local before, wrong = state(), {}
  for _, w in ipairs(writes()) do
    local res = w.route.api
      and priya:request(w.method, w.path, { body = {}, headers = { origin = "http://" .. t.HOST } })
      or priya:request(w.method, w.path, { form = {}, headers = { origin = "http://" .. t.HOST } })
    if res.status ~= 403 then wrong[#wrong + 1] = ("%s %s -> %d"):format(w.method, w.path, res.status) end
  end
  if #wrong > 0 then t.fail("accepted without the token:\n  " .. table.concat(wrong, "\n  ")) end
  t.eq(state() == before, true, "nothing changed")
end)

t.test("every state change from another site is refused even with the token, and nothing changes", function()
  local priya = t.login(demo.email("priya"))
  priya.auto_csrf = false
  local before, wrong = state(), {}
  for _, w in ipairs(writes()) do
    local headers = { origin = "https://evil.example", ["x-csrf-token"] = priya.csrf }
    local res = w.route.api and priya:request(w.method, w.path, { body = {}, headers = headers })
      or priya:request(w.method, w.path, { form = { csrf_token = priya.csrf }, headers = headers })
    if res.status ~= 403 then wrong[#wrong + 1] = ("%s %s -> %d"):format(w.method, w.path, res.status) end
  end
  -- signed out too: the public forms (sign-in, password links) are not posted from elsewhere
  local stranger = t.client()
  stranger.auto_csrf = false
  for _, w in ipairs(writes()) do
    if w.route.auth == "public" then
      local res = stranger:request(w.method, w.path, { form = { email = demo.email("mia"), password = t.DEMO_PASSWORD },
        headers = { origin = "https://evil.example" } })
      -- the steps of a sign-in under way need one (refused before anything: 401, or back to the
      -- sign-in page); with one they check the origin too (tests/scenarios/security/twostep.lua)
      local pending_step = w.path:find("/2fa", 1, true) or w.path:find("^/signin/")
      local back = res.status == 303 and res.headers.location:find("^/")
      if res.status ~= 403 and not (pending_step and (res.status == 401 or back)) then
        wrong[#wrong + 1] = ("signed out: %s %s -> %d"):format(w.method, w.path, res.status)
      end
    end
  end
  if #wrong > 0 then t.fail("accepted from another site:\n  " .. table.concat(wrong, "\n  ")) end
  t.eq(state() == before, true, "nothing changed")
end)

-- Runs fn (a request) and undoes what it wrote: a route that reads no body acts as always.
local ROLLBACK = {}
local function undone(fn)
  local res
  local ok, err = pcall(db.transaction, function() res = fn(); error(ROLLBACK, 0) end)
  assert(not ok and err == ROLLBACK, err)
  return res
end

t.test("a body that is not a JSON object, or sent as another type, is a 4xx wherever a body is read", function()
  local priya = t.login(demo.email("priya"))
  local read
  local body = web.body
  web.body = function(req) read = true; return body(req) end
  local before, wrong = state(), {}
  local bodies = {
    { "{not json", "application/json" },
    { "[1, 2, 3]", "application/json" },
    { '"text"', "application/json" },
    { "42", "application/json" },
    { '{"email": "mia.johansson@northwind.example"}', "text/plain" },
  }
  for _, w in ipairs(writes()) do
    -- signing out reads no body (and would end this sweep's session)
    if w.route.api and not (w.method == "DELETE" and w.path:find("^/api/sessions?$")) then
      for _, b in ipairs(bodies) do
        read = false
        local res = undone(function()
          return priya:request(w.method, w.path, { body = b[1], headers = { ["content-type"] = b[2] } })
        end)
        if res.status >= 500 or (read and res.status < 400) then
          wrong[#wrong + 1] = ("%s %s with %s -> %d %s"):format(w.method, w.path, b[1], res.status, res.body:sub(1, 100))
        end
      end
    end
  end
  web.body = body
  if #wrong > 0 then t.fail("not a clear 4xx:\n  " .. table.concat(wrong, "\n  ")) end
  t.eq(state() == before, true, "nothing changed")
end)

t.test("asking for a password reset needs an email address as text", function()
  local stranger = t.client()
  t.status(stranger:post("/api/password/forgot", { email = { "mia.johansson@northwind.example" } }), 422)
  t.status(stranger:post("/api/password/forgot", {}), 422)
  t.status(stranger:post("/api/password/forgot", { email = "nobody@northwind.example" }), 202)
end)

t.test("after signing in, ?next= only ever leads to a path on this site, and no header is broken", function()
  local evil = { "https://evil.example/", "//evil.example/", "/\\evil.example",
    "/home\r\nSet-Cookie: x=1", "javascript:alert(1)", "/\t/evil.example", " /home" }
  for _, next_url in ipairs(evil) do
    local c = t.client()
    c:get("/")
    local res = c:form("/signin", { email = demo.email("zoe"), password = t.DEMO_PASSWORD, next = next_url })
    t.status(res, 303, next_url)
    t.eq(res.headers.location, "/home", next_url)
  end
  -- a line break written as %0d%0a stays written so: a path here, no header
  local c0 = t.client()
  c0:get("/")
  local res = c0:form("/signin", { email = demo.email("zoe"), password = t.DEMO_PASSWORD, next = "/%0d%0aSet-Cookie:%20x=1" })
  t.eq(res.headers.location, "/%0d%0aSet-Cookie:%20x=1")
  local cookies = res.headers["set-cookie"]
  cookies = type(cookies) == "table" and table.concat(cookies, "\n") or cookies or ""
  t.contains(cookies, "candor_session=")
  t.not_contains(cookies, "x=1")
  -- and a local one is kept
  local c = t.client()
  c:get("/")
  t.eq(c:form("/signin", { email = demo.email("zoe"), password = t.DEMO_PASSWORD, next = "/objectives?tab=mine" })
    .headers.location, "/objectives?tab=mine")
end)

t.test("an export's file name never breaks its header, whatever the cycle is called", function()
  local hr = t.login(demo.email("marcus"))
  for _, name in ipairs({ 'Q"1; filename=evil.exe', "Spring\r\nX-Evil: 1", "Ünïcode ✓ review / 2026\\..\\x" }) do
    local res = hr:post("/api/cycles", { name = name, start_date = "2026-01-05", self_due = "2026-01-19",
      manager_due = "2026-02-02", sign_due = "2026-02-16" })
    if res.status == 201 then
      local cd = t.status(hr:get("/api/cycles/" .. res.json.id .. "/export.xlsx"), 200).headers["content-disposition"]
      t.no(cd:find("[\r\n]"), name .. ": no line break")
      t.match(cd, '^attachment; filename="[%w%._%-]+"', name)
      local _, names = cd:gsub("filename=", "")
      t.eq(names, 1, name .. ": one file name")
    else
      t.eq(res.status, 422, name .. ": refused as bad input")
    end
  end
end)
