-- Long work on the event loop (lib/pacing): it pauses for the loop with core.timer.yield, runs
-- with the incremental collector stopped between pauses and given its share at each pause, and
-- brings the generational collector back when it ends; db.slices is such work, and its slices
-- commit without waiting for the disk, once at the end.
local t = require "testing"
local pacing = require "lib.pacing"
local db = require "lib.db"
local host = require "core.host"
local timer = require "core.timer"
local clock = require "core.clock"

-- The collector's mode, asked without changing it (switching to the mode in force is a no-op
-- that returns it).
local function mode()
  local was = collectgarbage("incremental")
  if was ~= "incremental" then collectgarbage(was) end
  return was
end

t.test("a yield lets the loop run what became ready, then goes on", function()
  local woke = false
  host.spawn(function()
    timer.sleep(1)
    woke = true
  end)
  local yields, t0 = 0, clock.mono_ms()
  while not woke and clock.mono_ms() - t0 < 2000 do
    t.eq(timer.yield(), true)
    yields = yields + 1
  end
  t.ok(woke, "a timer due meanwhile ran between two yields")
  t.ok(yields > 1, "the yields went on at once while nothing was ready (" .. yields .. ")")
end)

t.test("long work runs with the incremental collector, stopped between pauses; the generational one comes back", function()
  t.eq(mode(), "generational", "the host's collector")
  local seen = {}
  local result = pacing.long(function(a, b)
    seen.mode = mode()
    seen.running = collectgarbage("isrunning")
    seen.long = pacing.state().long
    local others
    host.spawn(function() others = collectgarbage("isrunning") end) -- runs at once, in this stretch
    seen.spawned = others
    others = nil
    host.spawn(function()
      timer.sleep(1)
      others = collectgarbage("isrunning")
    end)
    local t0 = clock.mono_ms()
    repeat pacing.pause() until others ~= nil or clock.mono_ms() - t0 > 2000
    seen.others = others
    seen.after_pause = collectgarbage("isrunning")
    return a + b
  end, 2, 3)
  t.eq(result, 5, "what the work returns")
  t.eq(seen.mode, "incremental")
  t.eq(seen.running, false, "stopped while the work runs")
  t.eq(seen.long, true)
  t.eq(seen.spawned, false, "a task started in a stretch runs in it, the collector stopped")
  t.eq(seen.others, true, "who the loop serves during a pause runs with the collector on")
  t.eq(seen.after_pause, false, "stopped again once the work goes on")
  t.eq(mode(), "generational", "back after the work")
  t.eq(collectgarbage("isrunning"), true)
  t.eq(pacing.state().long, false)
end)

t.test("the garbage of long work is collected at its pauses", function()
  collectgarbage("collect")
  local base, peak = collectgarbage("count"), 0
  local before = pacing.state().collections
  pacing.long(function()
    for _ = 1, 150 do -- 150 × about 1 MB of garbage, a pause after each
      local junk = {}
      for i = 1, 10000 do junk[i] = { i, "x" .. i } end
      assert(#junk == 10000)
      peak = math.max(peak, collectgarbage("count"))
      pacing.pause()
    end
  end)
  t.ok(pacing.state().collections > before, "whole collection cycles ended at the pauses")
  t.ok(peak - base < 64 * 1024, ("the heap grew by %.0f KB at most, not by the 150 MB made"):format(peak - base))
end)

t.test("churning work gets collection cycles one after the other; other long work waits for the heap to grow", function()
  local function cycles_for(run)
    collectgarbage("collect")
    local before = pacing.state().collections
    run(function()
      local keep = {}
      for i = 1, 40 do
        for j = 1, 2000 do keep[j] = { i, j } end -- a set of tables that keeps changing
        pacing.pause()
      end
      return #keep
    end)
    return pacing.state().collections - before
  end
  local calm, churning = cycles_for(pacing.long), cycles_for(pacing.churning)
  t.ok(churning > calm, ("%d cycles while churning, %d otherwise"):format(churning, calm))
end)

t.test("an error in long work still brings the generational collector back", function()
  local ok, err = pcall(pacing.long, function() error("broken on purpose", 0) end)
  t.eq(ok, false)
  t.eq(err, "broken on purpose")
  t.eq(mode(), "generational")
  t.eq(collectgarbage("isrunning"), true)
  t.eq(pacing.state().long, false)
end)

t.test("work slices count from the end of the last pause, the collection included", function()
  t.eq(pacing.elapsed_us(), 0, "no long work: no stretch")
  pacing.long(function()
    pacing.pause()
    local t0 = clock.mono_us()
    while clock.mono_us() - t0 < 2000 do end
    t.ok(pacing.elapsed_us() >= 2000, "at least the 2 ms spent since")
  end)
end)

t.test("db.slices commit without waiting for the disk; other transactions wait", function()
  db.exec("CREATE TABLE IF NOT EXISTS pacing_probe(n INTEGER)")
  local levels, n = {}, 0
  db.slices(function()
    n = n + 1
    db.exec("INSERT INTO pacing_probe(n) VALUES(?)", n)
    levels[#levels + 1] = db.value("PRAGMA synchronous")
    return n < 3
  end)
  t.same(levels, { 1, 1, 1 }, "NORMAL in each slice")
  t.eq(db.transaction(function() return db.value("PRAGMA synchronous") end), 2, "FULL for everyone else")
  t.eq(db.value("SELECT count(*) FROM pacing_probe"), 3)
  db.exec("DROP TABLE pacing_probe")
end)
