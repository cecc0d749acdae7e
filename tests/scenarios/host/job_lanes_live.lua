-- The host's job timer on a real loop (`candor run`, real clock): a job that replans itself in its
-- own lane (as a survey round's opening plans the next one) and then waits must not make the host
-- spin on the job it cannot start yet (a 0 ms timer armed while libuv runs its timers runs again
-- in the same pass: the loop never got to anything else, not even the waiting job). The lane's
-- task runs the replanned job after the first, and the loop serves everything else meanwhile.
local t = require "testing"
local canary = dofile("tests/scenarios/security/canary_lib.lua")

local q = canary.sh_quote
local bin = canary.candor_binary()
local app = require "app"

local SCRIPT = [[
local app = require "app"
local timer = require "core.timer"
local clock = require "core.clock"
local runs = {}
app.on_job("test.replan", function(p)
  runs[#runs + 1] = p.n
  if p.n == 1 then
    app.cancel_jobs("test:replan")
    app.schedule(clock.now(), "test.replan", { n = 2 }, "test:replan")
  end
  timer.sleep(50) -- waits with its next job due in its own lane
end, { lane = "test-replan" })
app.schedule(clock.now(), "test.replan", { n = 1 }, "test:replan")
local t0, c0 = clock.mono_ms(), os.clock()
timer.sleep(300) -- the loop must get back to this timer
print(("slept %d ms, cpu %.0f ms, runs %s"):format(clock.mono_ms() - t0, (os.clock() - c0) * 1000,
  table.concat(runs, ",")))
]]

t.test("a job that replans itself and waits leaves the loop free; its next run follows it", function()
  local dir = os.tmpname()
  os.remove(dir)
  assert(os.execute("mkdir -p " .. q(dir)))
  local f = assert(io.open(dir .. "/script.lua", "w"))
  f:write(SCRIPT)
  f:close()
  local status, out, err = canary.run(("timeout -s KILL 20 %s run --app %s --data %s %s"):format(q(bin),
    q(app.app_dir), q(dir .. "/data"), q(dir .. "/script.lua")))
  os.execute("rm -rf " .. q(dir))
  t.eq(status, 0, "the script ended (a spinning host is killed after 20 s): " .. err:sub(-300))
  local slept, cpu, runs = out:match("slept (%d+) ms, cpu (%d+) ms, runs ([%d,]*)")
  t.ok(slept, out)
  t.ok(tonumber(slept) < 2000, "the 300 ms timer fired after " .. tostring(slept) .. " ms")
  t.eq(runs, "1,2", "the replanned job ran after the first, in its lane")
  t.ok(tonumber(cpu) < 250, "the host did not spin meanwhile: " .. tostring(cpu) .. " ms of CPU in 300 ms")
end)
