-- Starts and reads tests/tools/fake_smtp (a fake SMTP server in its own process) from a
-- scenario. The program is built next to the candor binary that runs the test
-- (BUILD/tools/fake_smtp, `make test` builds it); when it is missing or older than its source it
-- is compiled here with cc.
--
--   local fake = dofile(ROOT .. "tests/tools/fake_smtp.lua")
--   local smtp = fake.start(ROOT)
--   smtp.port                      -- where it listens (127.0.0.1)
--   smtp:rules{ "rcpt ghost@example.com 550 5.1.1 User unknown" }   -- see fake_smtp.c
--   smtp:messages()                -- { { n =, rcpts = { ... }, text = "..." }, ... } in order
--   smtp:auth()                    -- { { user =, password = }, ... } every sign-in seen
--   smtp:release()                 -- answers held back by an "end * hold" rule go out
--   smtp:stop()
local timer = require "core.timer"

local M = {}

--- Runs a shell command; its output without the trailing white space.
local function sh(cmd)
  local p = assert(io.popen(cmd, "r"))
  local out = p:read("a")
  p:close()
  return (out:gsub("%s+$", ""))
end

--- s quoted for the shell.
local function quote(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

--- The bytes of a file, or nil.
local function read(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

-- The candor process running this scenario, and the folder its binary is in.
local function host_process()
  local pid = sh("echo $PPID")
  local exe = sh("readlink /proc/" .. pid .. "/exe")
  return pid, exe:match("^(.*)/[^/]+$") or "."
end

--- The fake server program (or another tool of tests/tools, by name), built when needed.
--- root: the repository folder ("" or ".../").
function M.program(root, name)
  name = name or "fake_smtp"
  local _, bindir = host_process()
  local src = root .. "tests/tools/" .. name .. ".c"
  local bin = bindir .. "/tools/" .. name
  local header = root .. "tests/tools/tool.h"
  local fresh = sh(("[ -x %s ] && [ %s -nt %s ] && [ %s -nt %s ] && echo yes || echo no"):format(quote(bin), quote(bin),
    quote(src), quote(bin), quote(header)))
  if fresh ~= "yes" then
    local out = sh(("mkdir -p %s && cc -std=c11 -D_GNU_SOURCE -O1 -Wall -Wextra -Werror -o %s %s 2>&1 && echo built")
      :format(quote(bindir .. "/tools"), quote(bin), quote(src)))
    assert(out:find("built$"), "cannot build tests/tools/" .. name .. ".c: " .. out)
  end
  return bin
end

M.sh, M.quote, M.read = sh, quote, read

local Server = {}
Server.__index = Server

--- Starts a server in a new temporary folder; waits until it listens.
function M.start(root)
  local bin = M.program(root)
  local pid = host_process()
  local dir = sh("mktemp -d /tmp/candor-fake-smtp.XXXXXX")
  assert(dir ~= "", "mktemp failed")
  os.execute(("%s %s %s >%s 2>&1 &"):format(quote(bin), quote(dir), pid, quote(dir .. "/stderr")))
  for _ = 1, 250 do
    local port = read(dir .. "/port")
    if port and port:match("^%d+") then
      local s = setmetatable({ dir = dir, port = tonumber(port:match("^%d+")),
        pid = tonumber((read(dir .. "/pid") or ""):match("^%d+")) }, Server)
      return s
    end
    timer.sleep(20)
  end
  error("the fake SMTP server did not start: " .. tostring(read(dir .. "/stderr")))
end

--- Replaces the rules (a list of lines, or nothing to accept everything).
function Server:rules(lines)
  local f = assert(io.open(self.dir .. "/rules.tmp", "w"))
  f:write(table.concat(lines or {}, "\n"), "\n")
  f:close()
  assert(os.rename(self.dir .. "/rules.tmp", self.dir .. "/rules"))
end

--- The server's log lines.
function Server:log()
  local out = {}
  for line in (read(self.dir .. "/log") or ""):gmatch("[^\n]+") do out[#out + 1] = line end
  return out
end

--- Whether a log line starts with prefix.
function Server:log_has(prefix)
  for _, line in ipairs(self:log()) do
    if line:sub(1, #prefix) == prefix then return true end
  end
  return false
end

--- Every message it accepted, in order.
function Server:messages()
  local out = {}
  for _, line in ipairs(self:log()) do
    local n, rcpts = line:match("^SAVED (%d+) (.*)$")
    if n then
      local list = {}
      for a in rcpts:gmatch("[^,]+") do list[#list + 1] = a end
      out[#out + 1] = { n = tonumber(n), rcpts = list, text = read(self.dir .. "/msg-" .. n .. ".eml") or "" }
    end
  end
  return out
end

--- Every sign-in it saw.
function Server:auth()
  local out = {}
  for _, line in ipairs(self:log()) do
    local user, password = line:match("^AUTH (%S*) (.*)$")
    if user and not line:match("^AUTH PLAIN") and not line:match("^AUTH LOGIN") then
      out[#out + 1] = { user = user, password = password }
    end
  end
  return out
end

--- Lets answers held back by an "end <match> hold" rule go.
function Server:release()
  local f = assert(io.open(self.dir .. "/release", "w"))
  f:close()
end

--- Stops the server (its connections close with it) and removes its folder.
function Server:stop()
  if self.pid then
    os.execute("kill " .. self.pid .. " 2>/dev/null")
    for _ = 1, 100 do
      if sh("kill -0 " .. self.pid .. " 2>/dev/null && echo alive || echo gone") == "gone" then break end
      timer.sleep(10)
    end
    self.pid = nil
  end
  os.execute("rm -rf " .. quote(self.dir))
end

return M
