-- Webhook deliveries and hook runs survive a crash: a real `candor serve` records a delivery and a
-- hook run with every change it commits, then is killed (SIGKILL) while its receiver holds the
-- first of each unanswered and the others wait. After a restart every delivery id arrives — at
-- least once: the one the receiver had already got may come again, and the receiver
-- de-duplicates by its id — every hook run runs, and nothing secret is in the server's log.
local t = require "testing"
local demo = require "demo"
local db = require "lib.db"
local json = require "lib.json"
local net = require "core.net"
local core_db = require "core.db"
local settings = require "services.settings"
local api_tokens = require "services.api_tokens"
local webhooks = require "services.webhooks"
local hooks = require "services.hooks"

local ROOT = debug.getinfo(1, "S").source:match("^@(.-)tests/scenarios/integrations/[^/]+$") or ""
local receiver = dofile(ROOT .. "tests/tools/http_receiver.lua")
local server = dofile(ROOT .. "tests/tools/candor_server.lua")
local canary = dofile(ROOT .. "tests/scenarios/security/canary_lib.lua")

local PORTS = { 18680, 18699 }
local N = 5
local dir = canary.file_backed()
local recv = receiver.start(ROOT)
local token, secret, s

local function user(key) return db.row("SELECT * FROM users WHERE email = ?", demo.email(key)) end

-- POSTs a new person to the real server through its API; returns the status.
local function add_person(i)
  local conn = assert(net.connect("127.0.0.1", s.port))
  local body = json.encode({ name = "Crash Test " .. i, email = ("crash%d@northwind.example"):format(i),
    manager_id = user("ravi").id })
  assert(conn:send(("POST /api/users HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n"
    .. "Content-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s"):format(token, #body, body)))
  local buf = ""
  while true do
    local data = conn:read(5000)
    if not data then break end
    buf = buf .. data
  end
  conn:close()
  return tonumber(buf:match("^HTTP/1%.1 (%d+)"))
end

-- The delivery ids the receiver got (each time it got one).
local function received()
  local out = {}
  for _, r in ipairs(recv:requests_to("/crash")) do out[#out + 1] = r.headers["x-candor-delivery"] end
  return out
end

local HOOK_SECRET = "hook-secret-Zq81xx"

-- The people the hook told the receiver about (each time).
local function hooked()
  local out = {}
  for _, r in ipairs(recv:requests_to("/hook")) do out[#out + 1] = json.decode(r.body).person end
  return out
end

t.test("set up: a webhook and a hook for people, a receiver that holds what it gets, an API token", function()
  settings.set("integrations.allow_loopback", true)
  local tom = user("tom")
  db.transaction(function()
    local _
    _, secret = webhooks.create(tom, { name = "Crash", url = recv:url("/crash"), events = { "person.created" } })
    local h = hooks.create(tom, { name = "Crash hook", events = { "person.created" }, allow_hosts = { "127.0.0.1" },
      source = ("return function(e) log(secrets.get('k')) http.request{ method = 'POST', url = %q, json = { person = e.data.person_id } } end")
        :format(recv:url("/hook")) })
    hooks.set_secret(tom, h.id, "k", HOOK_SECRET)
    token = api_tokens.create(user("marcus"), "crash test")
  end)
  recv:rules{ "/crash hang", "/hook hang" }
  t.ok(core_db.checkpoint())
end)

t.test("changes commit and record their deliveries; the server is killed while the first is in flight", function()
  s = server.start{ dir = dir, ports = PORTS, name = "first" }
  for i = 1, N do t.eq(add_person(i), 201, "person " .. i) end
  t.ok(server.wait_for(function() return #received() >= 1 end), "the receiver got the first delivery")
  s:kill()
  local rows = db.query("SELECT uid, status FROM webhook_deliveries ORDER BY id")
  t.eq(#rows, N, "one delivery per committed change")
  for _, r in ipairs(rows) do t.eq(r.status, "pending", "none was answered") end
  t.eq(#received(), 1, "the others waited behind the first")
  t.ok(server.wait_for(function() return #hooked() >= 1 end), "the hook's first run was under way")
  t.eq(db.value("SELECT count(*) FROM hook_runs WHERE status = 'pending'"), N, "a run per change, none finished")
end)

t.test("after a restart every delivery id arrives, at least once; de-duplicated by id, each once", function()
  recv:rules{}
  s = server.start{ dir = dir, ports = PORTS, name = "second" }
  t.ok(server.wait_for(function()
    return db.value("SELECT count(*) FROM webhook_deliveries WHERE status = 'delivered'") == N
  end, 15000), "all delivered")
  local want = db.column("SELECT uid FROM webhook_deliveries ORDER BY id")
  local seen, distinct = {}, 0
  for _, id in ipairs(received()) do
    if not seen[id] then distinct = distinct + 1 end
    seen[id] = (seen[id] or 0) + 1
  end
  for _, uid in ipairs(want) do t.ok(seen[uid], uid .. " arrived") end
  t.eq(distinct, N)
  t.ok(#received() >= N and #received() <= N + 1, ("%d requests for %d deliveries"):format(#received(), N))
  t.ok(server.wait_for(function()
    return db.value("SELECT count(*) FROM hook_runs WHERE status = 'ok'") == N
  end, 15000), "every hook run ran")
  local told = {}
  for _, id in ipairs(hooked()) do told[id] = true end
  for _, id in ipairs(db.column("SELECT id FROM users WHERE email LIKE 'crash%@northwind.example'")) do
    t.ok(told[id], "the hook told of person " .. id)
  end
  t.eq(s:stop(), 0)
  for _, log in ipairs({ s:log(), canary.read(dir .. "/first.log") }) do
    t.not_contains(log, secret)
    t.not_contains(log, HOOK_SECRET)
  end
  recv:stop()
  canary.cleanup(dir)
end)
