-- A slow or hostile hook does not stall the server: /healthz answers (p99 measured and printed)
-- while 100 hook runs wait on a server that never answers — and a workflow check still gets a
-- sandbox worker — and while hooks burn their whole instruction budget in the sandbox workers.
-- The jobs run as in production: each hook's lane in a task of its own.
local t = require "testing"
local demo = require "demo"
local app = require "app"
local db = require "lib.db"
local events = require "lib.events"
local jobs = require "lib.jobs"
local clock = require "core.clock"
local timer = require "core.timer"
local host = require "core.host"
local settings = require "services.settings"
local hooks = require "services.hooks"

local ROOT = debug.getinfo(1, "S").source:match("^@(.-)tests/scenarios/integrations/[^/]+$") or ""
local receiver = dofile(ROOT .. "tests/tools/http_receiver.lua")

local P = t.demo()
local recv = receiver.start(ROOT)
settings.set("integrations.allow_loopback", true)
local tom = db.row("SELECT * FROM users WHERE email = ?", demo.email("tom"))

-- /healthz over one kept-alive connection for ms milliseconds: the latencies, sorted.
local function probe(ms)
  local s = t.socket()
  local out = {}
  local stop = clock.mono_ms() + ms
  while clock.mono_ms() < stop do
    local t0 = clock.mono_ms()
    local res = s:request("GET", "/healthz")
    t.eq(res.status, 200)
    out[#out + 1] = clock.mono_ms() - t0
    timer.sleep(5)
  end
  s:close()
  table.sort(out)
  return out
end

local function p99(list) return list[math.max(1, math.ceil(#list * 0.99))] end

t.test("100 hook runs waiting on a server that never answers: /healthz p99 under 100 ms", function()
  recv:rules{ "/never hang" }
  db.transaction(function()
    for i = 1, 20 do
      hooks.create(tom, { name = "Waits " .. i, events = { "person.updated" }, allow_hosts = { "127.0.0.1" },
        source = ("return function(e) http.request{ url = %q, timeout = 2 } end"):format(recv:url("/never")) })
    end
    for _ = 1, 5 do events.fire("person.updated", { person_id = P.zoe.id, fields = { "department" } }) end
  end)
  t.eq(db.value("SELECT count(*) FROM hook_runs WHERE status = 'pending'"), 100)
  app.run_due_jobs() -- the lanes start in tasks of their own and wait
  t.eq(jobs.running(), jobs.MAX_LANES, "every lane slot waits: on the silent server, or for its turn")
  local lat = probe(1500)
  t.ok(#recv:requests_to("/never") >= 1, "a request is out and unanswered")
  print(("      /healthz while %d hook runs wait (%d lanes): %d requests, p50 %d ms, p99 %d ms, max %d ms")
    :format(100, jobs.MAX_LANES, #lat, lat[#lat // 2 + 1], p99(lat), lat[#lat]))
  t.ok(p99(lat) < 100, "p99 " .. p99(lat) .. " ms")
  -- a sandbox worker stays free for workflow rules: a check answers at once
  local hr = t.login(demo.email("marcus"))
  local t0 = clock.mono_ms()
  local res = hr:post("/api/workflows/performance_review/check",
    { source = require("services.workflows").builtin_source("performance_review") .. "\n-- fresh " .. t0 .. "\n" })
  local took = clock.mono_ms() - t0
  t.eq(res.status, 200)
  t.eq(res.json.valid, true)
  print(("      a workflow check while the hooks wait: %d ms"):format(took))
  t.ok(took < 1000, took .. " ms")
  db.exec("UPDATE hooks SET enabled = 0") -- the lanes stop after the run under way (2 s)
  for _ = 1, 200 do
    if jobs.running() == 0 then break end
    timer.sleep(25)
  end
  t.eq(jobs.running(), 0)
end)

t.test("hooks burning their whole instruction budget in the sandbox workers: each is stopped, /healthz p99 under 100 ms", function()
  db.transaction(function()
    for i = 1, 4 do
      hooks.create(tom, { name = "Burns " .. i, events = { "person.locked" }, source = "return function(e) while true do end end" })
    end
    for _ = 1, 3 do events.fire("person.locked", { person_id = P.zoe.id, from_status = "active", actor_id = P.marcus.id }) end
  end)
  local t0 = clock.mono_ms()
  local held -- how long starting the burning runs held the loop
  host.spawn(function()
    timer.sleep(300) -- while /healthz is being asked
    local s0 = clock.mono_ms()
    app.run_due_jobs()
    held = clock.mono_ms() - s0
  end)
  local lat = probe(1500)
  print(("      /healthz while 4 hooks burn their budget of %d instructions: %d requests, p50 %d ms, p99 %d ms, "
    .. "max %d ms; the runs held the loop %s ms"):format(require("services.hook_runner").INSTRUCTIONS, #lat,
    lat[#lat // 2 + 1], p99(lat), lat[#lat], tostring(held)))
  for _ = 1, 200 do
    if db.value("SELECT count(*) FROM hook_runs r JOIN hooks h ON h.id = r.hook_id WHERE h.name LIKE 'Burns%' AND r.attempts > 0") == 4 then break end
    timer.sleep(20)
  end
  local errs = db.column("SELECT r.error FROM hook_runs r JOIN hooks h ON h.id = r.hook_id WHERE h.name LIKE 'Burns%' AND r.attempts > 0")
  t.eq(#errs, 4, "the first run of each was stopped")
  for _, e in ipairs(errs) do t.contains(e, "budget") end
  t.ok(p99(lat) < 100, "p99 " .. p99(lat) .. " ms")
  t.ok(held and held < 50, "starting them held the loop " .. tostring(held) .. " ms")
  t.ok(clock.mono_ms() - t0 < 10000)
end)

t.test("clean up", function() recv:stop() end)
