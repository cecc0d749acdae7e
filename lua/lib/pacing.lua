--- Long work on the event loop: a step mailing a whole cycle, a slice-by-slice job. Such work
--- lets the loop serve others now and then (pause), and runs with the garbage collector driven
--- by those pauses (long).
---
--- Why the collector: the host runs Lua's generational collector, good for requests (what they
--- allocate dies young). Long work leaves old garbage behind (a page of recipients outlives a
--- few minor collections), and the generational collector frees it in major collections done
--- in one go: 6-8 ms for a 10 MB heap, inside whatever stretch of work they fall in. While long
--- work runs, the collector is incremental, stopped during the stretches of work, and given up
--- to COLLECT_MS of work at each pause, after the loop served others: a stretch of work is then
--- its own time alone. Between two pauses, and for everyone the loop serves meanwhile, the
--- collector runs as usual; the generational one comes back when the last long work ends.
local clock = require "core.clock"
local timer = require "core.timer"

local M = {}

--- Milliseconds of collection at each pause of long work.
M.COLLECT_MS = 1
--- The incremental collector's settings while long work runs (pause %, step multiplier, log2
--- of the step size in bytes): small steps, so that other tasks served meanwhile see no pause.
M.INCREMENTAL = { 200, 100, 10 }

--- A collection cycle starts once the heap grew this much since the last one ended.
M.GROWTH = 2

local running = 0 -- long works in progress (their tasks take turns at the pauses)
local began = 0 -- when the current stretch of long work began (clock.mono_us)
local stats = { pauses = 0, collections = 0 }

local next_kb, in_cycle = 0, false -- see collect
local churning = 0 -- long works begun with M.churning running

-- Incremental collection up to the end of a cycle or for ms at most. As the collector's own
-- pause setting would, a cycle starts only once the heap is M.GROWTH times what the last one
-- left (force: at once), or at once while churning work runs. While the heap is twice the start
-- of the next cycle, the collector must keep up: 2.5 × ms. The work after a pause counts its time
-- from before the collection (elapsed_us), so a stretch stays about as long whatever the
-- collection took. Returns true when a cycle ended.
local function collect(ms, force)
  local kb = collectgarbage("count")
  if not in_cycle and not force and churning == 0 and kb < next_kb then return false end
  in_cycle = true
  local budget, t0 = (kb >= 2 * next_kb and 2.5 or 1) * ms * 1000, clock.mono_us()
  while true do
    if collectgarbage("step", 0) then
      stats.collections = stats.collections + 1
      in_cycle, next_kb = false, collectgarbage("count") * M.GROWTH
      return true
    end
    if clock.mono_us() - t0 >= budget then return false end
  end
end

-- Lets the loop serve what is ready with the collector on; back with it stopped, after up to
-- COLLECT_MS of collection. True when a collection cycle ended; ok: whether it could wait.
local function turn(force)
  collectgarbage("restart")
  local ok = pcall(timer.yield)
  began = clock.mono_us()
  local ended = collect(M.COLLECT_MS, force)
  collectgarbage("stop")
  return ended, ok
end

--- Lets the event loop serve what is ready (core.timer.yield: requests that came, due timers,
--- finished work; it goes on at once when there is none); inside long work, then collects
--- garbage for up to COLLECT_MS. Never call it inside a transaction. Returns false when the
--- caller cannot wait (not a task, or a coroutine of its own): then only the collection is done.
function M.pause()
  stats.pauses = stats.pauses + 1
  if running == 0 then return (pcall(timer.yield)) end
  local _, ok = turn()
  return ok
end

--- Runs fn(...) as long work (see above) and returns what it returns; fn must call pause() often
--- (every few milliseconds of work), since the collector waits for it, and not wait otherwise
--- for long (whoever the loop serves meanwhile runs without a collector). Nested and concurrent
--- long works share one setting. Switching collectors is a pass over every object each way, so
--- each switch is a stretch of its own; the last long work to end first collects over a few
--- more pauses (the cycle under way, then a whole one), so that the switch back, a full
--- collection in one go, finds little garbage (about 2 ms for a 4 MB heap).
function M.long(fn, ...)
  running = running + 1
  if running == 1 then
    collectgarbage("incremental", table.unpack(M.INCREMENTAL))
    next_kb, in_cycle = collectgarbage("count") * M.GROWTH, false
  end
  turn() -- what came before (the switch, a job's own bookkeeping) is a stretch of its own
  local res = table.pack(pcall(fn, ...))
  if running == 1 then -- the cycle under way ends, then a whole one frees what the work left
    local cycles = 0
    for _ = 1, 100 do
      if turn(true) then cycles = cycles + 1 end
      if cycles == 2 then break end
    end
  end
  running = running - 1
  collectgarbage("restart")
  if running == 0 then
    pcall(timer.yield)
    if running == 0 then -- no other long work began meanwhile
      collectgarbage("generational")
      pcall(timer.yield)
    end
  end
  if not res[1] then error(res[2], 0) end
  return table.unpack(res, 2, res.n)
end

--- Runs fn(...) as long work that keeps changing a large set of tables (an import's maps of
--- every person): the end of a collection cycle (its atomic part) marks in one go what was stored
--- into objects the cycle had marked already, tens of milliseconds when a cycle spans much such
--- work, so its cycles follow one another, each short (more collection in all).
function M.churning(fn, ...)
  churning = churning + 1
  local res = table.pack(pcall(M.long, fn, ...))
  churning = churning - 1
  if not res[1] then error(res[2], 0) end
  return table.unpack(res, 2, res.n)
end

--- Microseconds since the current stretch of long work began (the last pause, its collection
--- included, or the start of the long work); 0 outside long work. Work slices by it.
function M.elapsed_us()
  return running > 0 and clock.mono_us() - began or 0
end

--- A slice's clock: over() tells whether ms went by since slice(ms) was called or since the end
--- of the last pause of long work (its collection included), whichever is longer.
function M.slice(ms)
  local started = clock.mono_us()
  return function() return math.max(clock.mono_us() - started, M.elapsed_us()) >= ms * 1000 end
end

--- Whether long work runs now, and the pauses and collection cycles counted (for tests).
function M.state()
  return { long = running > 0, pauses = stats.pauses, collections = stats.collections }
end

return M
