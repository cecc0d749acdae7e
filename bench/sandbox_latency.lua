-- build/candor test bench/sandbox_latency.lua: what a workflow check and a dry run cost, through
-- the JSON API of an in-process app (the figures of docs/architecture.md, "Customer scripts").
-- Prints "latency NAME mean median p90" lines (ms; clock.mono_ms counts whole milliseconds); asserts nothing about the figures.
local t = require "testing"
local db = require "lib.db"
local clock = require "core.clock"
local demo = require "demo"
local wf = require "services.workflows"

local ROUNDS = tonumber(os.getenv("ROUNDS") or "") or 40

local function measure(name, fn)
  fn() -- warm-up
  local times = {}
  local start = clock.mono_ms()
  for i = 1, ROUNDS do
    local t0 = clock.mono_ms()
    fn()
    times[i] = clock.mono_ms() - t0
  end
  local mean = (clock.mono_ms() - start) / ROUNDS
  table.sort(times)
  print(("latency %-30s mean %7.2f ms  median %4d ms  p90 %4d ms"):format(name, mean, times[(ROUNDS + 1) // 2],
    times[math.ceil(ROUNDS * 0.9)]))
end

local P = t.demo()
local hr = t.login(demo.email("marcus"))
local builtin = wf.builtin_source("performance_review")
local custom = builtin:gsub('only = "self_not_submitted"',
  'only = function(r) return r.self_status ~= "submitted" and r.reviewee.department ~= "Sales" end', 1)

-- a cycle of 1,000 reviews (people made for it)
local now = clock.now()
local big = db.transaction(function()
  local id = db.insert([[INSERT INTO cycles(name, start_date, self_due, manager_due, sign_due, self_assessment,
    created_at, updated_at) VALUES('Big', '2026-01-05', '2026-01-19', '2026-02-02', '2026-02-16', 1, ?, ?)]], now, now)
  for i = 1, 1000 do
    local u = db.insert([[INSERT INTO users(email, name, job_title, department, location, manager_id, status, kind,
      created_at, updated_at) VALUES(?,?,?,?,?,?, 'active', 'employee', ?, ?)]], ("p%04d@bench.example"):format(i),
      ("Person %04d"):format(i), "Engineer", ({ "Engineering", "Sales" })[i % 2 + 1], "Berlin", P.marcus.id, now, now)
    db.insert("INSERT INTO reviews(cycle_id, reviewee_id, manager_id, created_at, updated_at) VALUES(?,?,?,?,?)",
      id, u, P.marcus.id, now, now)
  end
  return id
end)

-- Each round sends a new text (a comment at the end changes), so nothing is answered from a cache.
local round = 0
local function fresh(src)
  round = round + 1
  return src .. "\n-- round " .. round .. "\n"
end

t.test("latencies", function()
  local function check(src)
    return function()
      t.status(hr:post("/api/workflows/performance_review/check", { source = fresh(src) }), 200)
    end
  end
  local function dry(src, cycle_id)
    return function()
      t.status(hr:post("/api/workflows/performance_review/dry-run", { source = fresh(src), cycle_id = cycle_id }), 200)
    end
  end
  measure("check builtin", check(builtin))
  measure("check custom rule", check(custom))
  measure("dry run builtin, 1000 reviews", dry(builtin, big))
  measure("dry run custom, 1000 reviews", dry(custom, big))
end)
