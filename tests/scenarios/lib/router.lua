-- The router: a route is refused at registration without who may call it and the permission it
-- needs; {name:int} parameters reach the handler as integers, so no handler converts them.
local t = require "testing"
local router = require "lib.router"
local demo = require "demo"

local function handler() end

t.test("a route without auth or perm is refused when it is registered", function()
  local r = router.new()
  t.raises(function() r:add{ method = "GET", path = "/x", perm = "none", handler = handler } end)
  t.raises(function() r:add{ method = "GET", path = "/x", auth = "user", handler = handler } end)
  t.raises(function() r:add{ method = "GET", path = "/x", auth = "user", perm = "none", handler = handler } end)
end)

t.test("{id:int} parameters come as integers, {name} ones as text", function()
  local r = router.new()
  r:add{ method = "GET", path = "/things/{id:int}/parts/{part:int}", auth = "user", perm = "object", handler = handler }
  r:add{ method = "GET", path = "/names/{name}", auth = "user", perm = "object", handler = handler }
  local _, p = r:match("GET", "/things/42/parts/007")
  t.eq(math.type(p.id), "integer")
  t.eq(p.id, 42)
  t.eq(p.part, 7)
  _, p = r:match("GET", "/names/42")
  t.eq(p.name, "42")
end)

t.test("the route a path found is kept, yet each request gets its own parameters and a route added later counts", function()
  local r = router.new()
  local things = r:add{ method = "GET", path = "/things/{id:int}", auth = "user", perm = "object", handler = handler }
  local route, p = r:match("GET", "/things/5")
  t.eq(route, things)
  p.id = 99 -- a handler changing its parameters changes nothing for the next request
  local again, q = r:match("GET", "/things/5")
  t.eq(again, things)
  t.eq(q.id, 5)
  t.eq(r:match("GET", "/things/5/parts"), nil, "no route yet")
  local parts = r:add{ method = "GET", path = "/things/{id:int}/parts", auth = "user", perm = "object", handler = handler }
  t.eq(r:match("GET", "/things/5/parts"), parts, "added after the miss")
  for i = 1, 5000 do t.eq(r:match("GET", "/things/" .. i), things) end -- past what is kept
  t.eq(select(2, r:match("GET", "/things/4999")).id, 4999)
end)

t.test("an {id:int} past the integers' range matches nothing (404, not a float id)", function()
  local r = router.new()
  r:add{ method = "GET", path = "/things/{id:int}", auth = "user", perm = "object", handler = handler }
  r:add{ method = "DELETE", path = "/things/{id:int}", auth = "user", perm = "object", handler = handler }
  t.ok(r:match("GET", "/things/9223372036854775807"), "the largest integer matches")
  local route, allowed = r:match("GET", "/things/9223372036854775808")
  t.eq(route, nil)
  t.same(allowed, {}, "no other method claims it either")
  t.eq(r:match("GET", "/things/-1"), nil)
  t.eq(r:match("GET", "/things/1.5"), nil)
end)

t.demo()

t.test("the app answers 404 for a person id past the integers' range", function()
  local hr = t.login(demo.email("marcus"))
  t.status(hr:get("/api/users/99999999999999999999"), 404)
  t.status(hr:get("/people/99999999999999999999"), 404)
  t.status(hr:get("/api/users/" .. hr:get("/api/me").json.id), 200)
end)
