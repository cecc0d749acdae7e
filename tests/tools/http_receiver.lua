-- Starts and reads tests/tools/http_receiver (an HTTP server in its own process that records
-- every request) from a scenario; built like the fake SMTP server (tests/tools/fake_smtp.lua).
--
--   local receiver = dofile(ROOT .. "tests/tools/http_receiver.lua")
--   local r = receiver.start(ROOT)
--   r.port, r:url("/hooks/a")          -- http://127.0.0.1:PORT/hooks/a
--   r:rules{ "/hooks/a 500 broken", "/never hang" }   -- see http_receiver.c
--   r:requests()                       -- { { n =, method =, target =, headers = { lower = value }, body = }, ... }
--   r:stop()
local timer = require "core.timer"
local fake = dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "") .. "fake_smtp.lua")

local M = {}

local read, quote, sh = fake.read, fake.quote, fake.sh

local Receiver = {}
Receiver.__index = Receiver

--- Starts a receiver in a new temporary folder; waits until it listens.
function M.start(root)
  local bin = fake.program(root, "http_receiver")
  local dir = sh("mktemp -d /tmp/candor-receiver.XXXXXX")
  assert(dir ~= "", "mktemp failed")
  os.execute(("%s %s %s >%s 2>&1 &"):format(quote(bin), quote(dir), sh("echo $PPID"), quote(dir .. "/stderr")))
  for _ = 1, 250 do
    local port = read(dir .. "/port")
    if port and port:match("^%d+") then
      return setmetatable({ dir = dir, port = tonumber(port:match("^%d+")),
        pid = tonumber((read(dir .. "/pid") or ""):match("^%d+")) }, Receiver)
    end
    timer.sleep(20)
  end
  error("the HTTP receiver did not start: " .. tostring(read(dir .. "/stderr")))
end

--- The receiver's address for path.
function Receiver:url(path) return ("http://127.0.0.1:%d%s"):format(self.port, path or "/") end

--- Replaces the rules (a list of lines, or nothing to answer 200 to everything).
function Receiver:rules(lines)
  local f = assert(io.open(self.dir .. "/rules.tmp", "w"))
  f:write(table.concat(lines or {}, "\n"), "\n")
  f:close()
  assert(os.rename(self.dir .. "/rules.tmp", self.dir .. "/rules"))
end

--- Every request it received, in order.
function Receiver:requests()
  local out = {}
  for line in (read(self.dir .. "/log") or ""):gmatch("[^\n]+") do
    local n, method, target = line:match("^REQ (%d+) (%S+) (%S+)$")
    if n then
      local head = read(self.dir .. "/req-" .. n) or ""
      local headers = {}
      for name, value in head:gmatch("\r\n([^:\r\n]+):[ \t]*([^\r\n]*)") do headers[name:lower()] = value end
      out[#out + 1] = { n = tonumber(n), method = method, target = target, headers = headers,
        body = read(self.dir .. "/body-" .. n) or "", body_path = self.dir .. "/body-" .. n }
    end
  end
  return out
end

--- The requests whose target starts with prefix.
function Receiver:requests_to(prefix)
  local out = {}
  for _, r in ipairs(self:requests()) do
    if r.target:sub(1, #prefix) == prefix then out[#out + 1] = r end
  end
  return out
end

--- Stops the receiver and removes its folder.
function Receiver:stop()
  if self.pid then
    os.execute("kill " .. self.pid .. " 2>/dev/null")
    self.pid = nil
  end
  os.execute("rm -rf " .. quote(self.dir))
end

return M
