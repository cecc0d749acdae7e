-- candor run --data DIR bench/events_bench.lua: the cost of rollbacks and events, in-process, on
-- a generated company of 10,000 people. Output lines are "key value" for bench_events.sh:
--   rollback_us        a failed transaction that changed one reporting line (the UPDATE, the
--                      evaluator's entry, a decision afterwards), median microseconds
--   plain_us           the same failing transaction without touching in-memory state (the
--                      UPDATE and a decision only)
--   reload_ms          for reference: what a rollback cost before, a full reload of the evaluator
--   fire10_ns          events.fire of an event with 10 in-process handlers, nanoseconds per fire
--   fire0_ns           events.fire of an event nobody hooks
local db = require "lib.db"
local clock = require "core.clock"
local authz = require "core.authz"
local events = require "lib.events"
local access = require "services.access"

local N = 10000
local now = clock.now()

-- the company: a tree 6 levels deep
db.transaction(function()
  if db.value("SELECT count(*) FROM users") >= N then return end
  local ids = {}
  for i = 1, N do
    local manager = i > 1 and ids[math.max(1, (i - 2) // 8 + 1)] or nil
    ids[i] = db.insert([[INSERT INTO users(email, name, manager_id, status, kind, created_at, updated_at)
        VALUES(?,?,?, 'active', 'employee', ?, ?)]], ("person%05d@bench.example"):format(i), ("Person %05d"):format(i),
      manager, now, now)
  end
end)
access.reload()
local ids = db.column("SELECT id FROM users ORDER BY id")
local boss, a, b = ids[1], ids[N], ids[2]
authz.check(boss, "users.invite") -- the graph is built

local function median(list)
  table.sort(list)
  return list[(#list + 1) // 2]
end

local ROUNDS = 2001
local function failing(touch_memory)
  local times = {}
  for i = 1, ROUNDS do
    local target = i % 2 == 0 and b or ids[3]
    local t0 = os.clock()
    pcall(db.transaction, function()
      db.exec("UPDATE users SET manager_id = ?, updated_at = ? WHERE id = ?", target, now, a)
      if touch_memory then access.sync(a) end
      error("refused")
    end)
    authz.check(boss, "users.invite", { subject = a }) -- a decision: it would pay a pending rebuild
    times[i] = (os.clock() - t0) * 1e6
  end
  return median(times)
end

failing(true) -- warm up
local plain_us = failing(false)
local rollback_us = failing(true)
assert(authz.get(a).manager_id == db.value("SELECT manager_id FROM users WHERE id = ?", a), "the rollback was undone")

local t0 = os.clock()
access.reload()
authz.check(boss, "users.invite", { subject = a })
local reload_ms = (os.clock() - t0) * 1000

-- events: 10 in-process handlers against none
local sink = 0
for _ = 1, 10 do events.hook("bench.ten", function(e) sink = sink + e.n end) end
local FIRES = 200000
local function per_fire(name)
  local best = math.huge
  for _ = 1, 3 do
    local data = { n = 1 }
    local t1 = os.clock()
    for _ = 1, FIRES do events.fire(name, data) end
    best = math.min(best, (os.clock() - t1) * 1e9 / FIRES)
  end
  return best
end
per_fire("bench.ten")
local fire0 = per_fire("bench.none")
local fire10 = per_fire("bench.ten")
assert(sink > 0)

print(("rollback_us %.1f"):format(rollback_us))
print(("plain_us %.1f"):format(plain_us))
print(("reload_ms %.2f"):format(reload_ms))
print(("fire10_ns %.0f"):format(fire10))
print(("fire0_ns %.0f"):format(fire0))
