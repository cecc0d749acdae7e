-- A real `candor serve` in its own process, started from a scenario on a data folder the scenario
-- made (tests/scenarios/security/canary_lib.lua: file_backed), for the tests that kill it.
--
--   local server = dofile(ROOT .. "tests/tools/candor_server.lua")
--   local s = server.start{ dir = dir, ports = { 18660, 18679 } }   -- waits until it answers
--   s.port, s.pid, s:log()
--   s:kill()        -- SIGKILL: no clean-up of any kind
--   s:stop()        -- SIGTERM; returns the exit status
local app = require "app"
local net = require "core.net"
local timer = require "core.timer"
local clock = require "core.clock"

local M = {}

local fake = dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "") .. "fake_smtp.lua")
local q, sh = fake.quote, fake.sh
local function read(path) return fake.read(path) or "" end

-- The candor binary running this test.
local function binary()
  return sh("readlink /proc/" .. sh("echo $PPID") .. "/exe")
end

local function alive(pid) return sh("kill -0 " .. pid .. " 2>/dev/null && echo yes || echo no") == "yes" end

local Server = {}
Server.__index = Server

--- Starts `candor serve` on opts.dir, listening on the first free port of opts.ports; waits until
--- it accepts connections. opts.name names its log file (dir/NAME.log), default "server".
function M.start(opts)
  local port = opts.port
  if not port then
    for p = opts.ports[1], opts.ports[2] do
      local c = net.connect("127.0.0.1", p)
      if c then c:close() else port = p break end
    end
  end
  assert(port, "no free port")
  local name = opts.name or "server"
  local log, pidfile, exitfile = opts.dir .. "/" .. name .. ".log", opts.dir .. "/" .. name .. ".pid",
    opts.dir .. "/" .. name .. ".exit"
  os.remove(exitfile)
  local cmd = ("CANDOR_APP=%s %s serve --data %s --listen 127.0.0.1:%d"):format(q(app.app_dir), q(binary()),
    q(opts.dir), port)
  os.execute(("sh -c %s >/dev/null 2>&1 &"):format(q(cmd .. " >" .. q(log) .. " 2>&1 & echo $! >" .. q(pidfile)
    .. "; wait $!; echo $? >" .. q(exitfile))))
  for _ = 1, 300 do
    local pid = tonumber(read(pidfile):match("%d+") or "")
    local conn = pid and net.connect("127.0.0.1", port)
    if conn then
      conn:close()
      return setmetatable({ pid = pid, port = port, log_path = log, exit_path = exitfile }, Server)
    end
    if pid and not alive(pid) then break end
    timer.sleep(20)
  end
  error("the server did not start: " .. read(log))
end

--- Everything the server logged so far.
function Server:log() return read(self.log_path) end

--- Whether the process still runs.
function Server:alive() return alive(self.pid) end

-- Waits (at most 10 s) for the process to be gone.
local function wait_gone(self)
  for _ = 1, 500 do
    if not alive(self.pid) then break end
    timer.sleep(20)
  end
  for _ = 1, 100 do
    if read(self.exit_path) ~= "" then break end
    timer.sleep(10)
  end
end

--- SIGKILL: the process ends at once, in whatever it was doing.
function Server:kill()
  os.execute("kill -KILL " .. self.pid .. " 2>/dev/null")
  wait_gone(self)
end

--- SIGTERM; waits for the exit and returns its status.
function Server:stop()
  os.execute("kill -TERM " .. self.pid .. " 2>/dev/null")
  wait_gone(self)
  return tonumber(read(self.exit_path):match("%d+") or "")
end

--- Waits (real time, at most ms) until fn() returns a true value; returns it, or nil.
function M.wait_for(fn, ms)
  local deadline = clock.mono_ms() + (ms or 10000)
  repeat
    local v = fn()
    if v then return v end
    timer.sleep(25)
  until clock.mono_ms() > deadline
  return nil
end

return M
