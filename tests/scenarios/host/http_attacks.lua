-- Attacks on the HTTP layer from outside, played against the real server in this process
-- (t.serve) over real sockets: a client that pipelines and never reads, an Upgrade request
-- with requests smuggled behind it, a header name with a space; and the per-address
-- connection cap, a company setting that reaches the server.
local t = require "testing"
local demo = require "demo"
local db = require "lib.db"
local server = require "core.server"
local timer = require "core.timer"

local ROOT = debug.getinfo(1, "S").source:match("^@(.-)tests/scenarios/host/[^/]+$") or ""
local FLOOD = dofile(ROOT .. "tests/tools/fake_smtp.lua").program(ROOT, "http_flood")

local P = t.demo()

-- The resident memory of this process (the server runs in it), in KiB.
local function rss_kib()
  local f = assert(io.open("/proc/self/status"))
  local s = f:read("a")
  f:close()
  return tonumber(s:match("VmRSS:%s*(%d+)"))
end

local function read_file(path)
  local f = io.open(path)
  if not f then return "" end
  local s = f:read("a")
  f:close()
  return s
end

-- Waits (up to ms) until cond() is true; returns its last value.
local function wait_until(cond, ms)
  for _ = 1, ms // 20 do
    local v = cond()
    if v then return v end
    timer.sleep(20)
  end
  return cond()
end

t.test("a client that pipelines 1 MiB of GET /static/candor.css and never reads holds the server to its bound",
  function()
    local port = t.serve()
    collectgarbage("collect")
    local before = rss_kib()
    local out = os.tmpname()
    -- another process sends for 2 s, then goes away
    os.execute(("%s %d %d 2000 /static/candor.css >%s 2>&1 &"):format(FLOOD, port, 1024 * 1024, out))
    local paused, max_queued = 0, 0
    for _ = 1, 15 do
      timer.sleep(100)
      local st = server.stats()
      paused = math.max(paused, st.paused)
      max_queued = math.max(max_queued, st.max_queued_bytes)
    end
    local grown = rss_kib() - before
    t.ok(grown < 64 * 1024, ("the server grew by %d KiB"):format(grown))
    t.eq(paused, 1, "the connection is not read from")
    -- unsent answers: at most the bound (256 KiB) and one more answer (the stylesheet and its
    -- headers)
    local one = #read_file(ROOT .. "lua/static/candor.css") + 2048
    t.ok(max_queued <= 256 * 1024 + one, ("%d bytes waited on one connection (one answer: %d)"):format(max_queued, one))
    -- the client goes away: its connection and its waiting answers go with it
    t.ok(wait_until(function() return read_file(out):match("^sent %d+") end, 5000), "the flood ended")
    t.ok(wait_until(function() return server.stats().connections == 0 end, 5000), "the connection closed")
    t.eq(server.stats().queued_bytes, 0)
    os.remove(out)
  end)

t.test("an Upgrade request with two copies pipelined behind it copies once, answers once and closes", function()
  local hr = t.login(demo.email("marcus")) -- HR Admin
  local cycle = t.status(hr:post("/api/cycles", { name = "Upgrade target", start_date = "2026-02-02",
    self_due = "2026-02-16", manager_due = "2026-03-02", sign_due = "2026-03-16" }), 201).json
  local before = db.value("SELECT count(*) FROM cycles")
  local head = table.concat({ "Host: " .. t.HOST, "Origin: http://" .. t.HOST, "User-Agent: " .. hr.user_agent,
    "Cookie: " .. hr:cookie_header(),
    "X-CSRF-Token: " .. hr.csrf, "Content-Type: application/json", "Content-Length: 2" }, "\r\n")
  local copy = "POST /api/cycles/" .. cycle.id .. "/copy HTTP/1.1\r\n"
  local s = t.socket()
  assert(s:send(copy .. "Connection: Upgrade\r\nUpgrade: websocket\r\n" .. head .. "\r\n\r\n{}"
    .. copy .. head .. "\r\n\r\n{}" .. copy .. head .. "\r\n\r\n{}"))
  local res = t.status(s:response(), 201)
  t.eq(res.headers.connection, "close")
  local more, why = s:response(2000)
  t.eq(more, nil, "one answer only")
  t.eq(why.code, "eof")
  t.eq(db.value("SELECT count(*) FROM cycles"), before + 1)
  s:close()
end)

t.test("a space inside a header name is refused with 400 and the connection closes", function()
  local s = t.socket()
  assert(s:send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX Forwarded-For: 10.0.0.1\r\n\r\n"))
  local res = t.status(s:response(), 400)
  t.eq(res.json.error.code, "bad_request")
  t.eq(res.headers.connection, "close")
  s:close()
  -- the same without the space is fine
  s = t.socket()
  t.status(s:request("GET", "/healthz", { headers = { ["X-Forwarded-For"] = "10.0.0.1" } }), 200)
  s:close()
end)

t.test("the connection cap per address and the trusted proxies set by a Tech Admin reach the server", function()
  t.serve()
  t.eq(server.limits().max_connections_per_address, 256)
  local tech = t.login(demo.email("tom")) -- Tech Admin
  local res = t.status(tech:put("/api/settings/security", { max_connections_per_address = 16,
    trusted_proxies = { "10.0.0.0/8", "2001:db8::/32" } }), 200)
  t.eq(res.json.settings.max_connections_per_address, 16)
  t.eq(server.limits().max_connections_per_address, 16)
  t.eq(server.limits().exempt_addresses, 2)
  -- out of bounds: refused, nothing changes
  res = t.status(tech:put("/api/settings/security", { max_connections_per_address = 2 }), 422)
  t.match(res.json.error.fields.max_connections_per_address, "at least 8")
  t.eq(server.limits().max_connections_per_address, 16)
  t.status(tech:put("/api/settings/security", { max_connections_per_address = 256, trusted_proxies = {} }), 200)
  t.eq(server.limits().exempt_addresses, 0)
end)

t.test("an HR Admin cannot change the connection cap", function()
  local hr = t.login(demo.email("marcus"))
  t.status(hr:put("/api/settings/security", { max_connections_per_address = 1000 }), 403)
  t.eq(server.limits().max_connections_per_address, 256)
  t.eq(P.marcus.email, demo.email("marcus"))
end)
