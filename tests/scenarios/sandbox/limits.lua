-- Customer scripts run in a sandbox with an instruction budget and a memory cap: a script that
-- loops forever or eats memory is stopped with a clear message, and the server carries on.
local t = require "testing"
local sandbox = require "core.sandbox"

local LOOP = "while true do end"
local BOMB = 'local t = {} while true do t[#t+1] = ("x"):rep(1e6) end'

t.test("an endless loop is stopped with code 'instructions' and a clear message", function()
  local sb, err = sandbox.load(LOOP, "workflows/loop.lua", { instruction_limit = 1e6 })
  t.eq(sb, nil)
  t.eq(err.code, "instructions")
  t.eq(err.message, "the script ran longer than its budget of 1000000 instructions (an endless loop?)")
end)

t.test("the default budget is 50 million instructions", function()
  local _, err = sandbox.load(LOOP, "loop.lua")
  t.eq(err.code, "instructions")
  t.contains(err.message, "50000000 instructions")
end)

t.test("after a stopped loop the host carries on: another sandbox works and requests answer", function()
  local _, err = sandbox.load(LOOP, "loop.lua", { instruction_limit = 2e6 })
  t.eq(err.code, "instructions")
  local sb = assert(sandbox.load("return { answer = 6 * 7 }", "ok.lua"))
  t.eq(sb:data().answer, 42)
  local s = t.socket()
  local res = s:request("GET", "/healthz")
  t.eq(res.status, 200)
  t.eq(res.json.status, "ok")
  s:close()
end)

t.test("a memory bomb is stopped with code 'memory' at 16 MiB by default", function()
  local sb, err = sandbox.load(BOMB, "bomb.lua")
  t.eq(sb, nil)
  t.eq(err.code, "memory")
  t.eq(err.message, "the script used more than 16 MiB")
end)

t.test("a smaller memory cap is honoured and reported in KiB", function()
  local _, err = sandbox.load("local s = ('x'):rep(300 * 1024) return s", "big.lua", { memory_limit = 256 * 1024 })
  t.eq(err.code, "memory")
  t.eq(err.message, "the script used more than 256 KiB")
end)

t.test("garbage does not count: a script churning through far more than its cap in total works", function()
  local sb = assert(sandbox.load([[
    return { churn = function()
      local n = 0
      for i = 1, 300 do local s = ("y"):rep(100000) .. i; n = n + #s end
      return n
    end }]], "churn.lua", { memory_limit = 1024 * 1024 }))
  local n, err = sb:call({ "churn" })
  t.eq(err, nil)
  t.ok(n > 30000000, "allocated in total: " .. tostring(n))
end)

t.test("pcall cannot swallow the instruction budget", function()
  local _, err = sandbox.load([[
    local caught = 0
    while true do
      pcall(function() while true do end end)
      caught = caught + 1
    end]], "pcall_loop.lua", { instruction_limit = 1e6 })
  t.eq(err.code, "instructions")
end)

t.test("xpcall with a message handler cannot swallow the budget either", function()
  local _, err = sandbox.load([[
    local ok = xpcall(function() while true do end end, function(e) return e end)
    return { survived = ok }]], "xpcall_loop.lua", { instruction_limit = 1e6 })
  t.eq(err.code, "instructions")
end)

t.test("pcall cannot swallow the memory cap", function()
  local _, err = sandbox.load([[
    local ok = pcall(function() local t = {} while true do t[#t+1] = ("x"):rep(1e6) end end)
    local again = {}
    for i = 1, 10 do again[i] = i end
    return { survived = not ok }]], "pcall_bomb.lua")
  t.eq(err.code, "memory")
end)

t.test("one huge allocation inside pcall is stopped too", function()
  local _, err = sandbox.load([[
    local ok, e = pcall(string.rep, "x", 1e9)
    return { ok = ok, e = e }]], "rep.lua")
  t.eq(err.code, "memory")
end)

t.test("a to-be-closed variable cannot turn the memory error into a catchable one", function()
  local _, err = sandbox.load([[
    local ok = pcall(function()
      local guard <close> = setmetatable({}, { __close = function() error("replaced") end })
      local t = {} while true do t[#t+1] = ("x"):rep(1e6) end
    end)
    return { caught = ok == false }]], "close.lua")
  t.eq(err.code, "memory")
end)

t.test("a stopped sandbox is dead: later calls fail with the same code", function()
  local sb = assert(sandbox.load([[
    return { spin = function() while true do end end, hello = function() return "hi" end }]],
    "dead.lua", { instruction_limit = 1e5 }))
  t.eq(sb:call({ "hello" }), "hi")
  local r, err = sb:call({ "spin" })
  t.eq(r, nil)
  t.eq(err.code, "instructions")
  local r2, err2 = sb:call({ "hello" })
  t.eq(r2, nil)
  t.eq(err2.code, "instructions")
  t.eq(err2.message, err.message)
  local d, err3 = sb:data()
  t.eq(d, nil)
  t.eq(err3.code, "instructions")
  t.eq(sb:stats().dead, "instructions")
end)

t.test("a sandbox that hit its memory cap stays dead with code 'memory'", function()
  local sb = assert(sandbox.load([[
    return { eat = function() local t = {} while true do t[#t+1] = ("x"):rep(1e5) end end,
             hello = function() return "hi" end }]], "eat.lua", { memory_limit = 1024 * 1024 }))
  local _, err = sb:call({ "eat" })
  t.eq(err.code, "memory")
  local _, err2 = sb:call({ "hello" })
  t.eq(err2.code, "memory")
  t.eq(err2.message, "the script used more than 1 MiB")
end)

t.test("each call gets a fresh budget", function()
  local sb = assert(sandbox.load([[
    return { work = function(n) local x = 0 for i = 1, n do x = x + i end return x end }]],
    "budget.lua", { instruction_limit = 1e6 }))
  -- two instructions per iteration (ADD, FORLOOP): 300k iterations are ~60% of the budget
  for _ = 1, 5 do
    local r, err = sb:call({ "work" }, 300000)
    t.eq(err, nil)
    t.eq(r, 300000 * 300001 // 2)
  end
  local used = sb:stats().instructions
  t.ok(used >= 500000 and used <= 1000000, "instructions of the last call: " .. used)
  local _, err = sb:call({ "work" }, 1000000)
  t.eq(err.code, "instructions")
end)

t.test("a __gc metamethod is refused (finalizers would run outside any budget)", function()
  local _, err = sandbox.load("setmetatable({}, { __gc = function() end })", "gc.lua")
  t.eq(err.code, "forbidden")
  t.contains(err.message, "__gc")
end)

t.test("closing a sandbox frees it; using it afterwards is a programming error", function()
  local sb = assert(sandbox.load("return {}", "x.lua"))
  t.ok(sb:stats().memory > 0)
  sb:close()
  t.raises(function() sb:data() end, "closed")
end)

t.test("pathological scripts fail with a code and the host carries on", function()
  local cases = {
    { "local function f() return 1 + f() end return f()", "memory" }, -- the stack outgrows the cap
    { "local function f() pcall(f) end f() while true do end", "instructions" },
    { "local t = setmetatable({}, {}) getmetatable(t).__index = function(s, k) return s[k] end return t.x", "runtime" },
    { "return ('x'):rep(1e8, ',')", "memory" },
    { "local t = {} for i = 1, 1e7 do t[i] = i end", "memory" },
    { "return table.concat(setmetatable({}, { __len = function() return 1e9 end, __index = function() return '' end }))",
      "instructions" },
    { "table.sort({3, 2, 1, 5, 4}, function() error('cmp') end)", "runtime" },
    { "return tostring(setmetatable({}, { __tostring = function() return {} end }))", "runtime" },
    { "return utf8.char(0x7FFFFFFF, -1)", "runtime" },
    { "return string.format('%99999d', 1)", "runtime" },
    { "::top:: goto top", "instructions" },
    { "return ('a'):rep(30):find(('a?'):rep(30) .. ('a'):rep(30))", "forbidden" }, -- see the next test
  }
  for _, c in ipairs(cases) do
    local sb, err = sandbox.load(c[1], "nasty.lua", { instruction_limit = 2e6, memory_limit = 4 * 1024 * 1024 })
    t.eq(sb, nil, c[1])
    t.eq(err.code, c[2], c[1] .. ": " .. tostring(err.message))
  end
  local sb = assert(sandbox.load("return { many = function() return table.unpack({}, 1, 1000) end }", "m.lua"))
  local r, err = sb:call({ "many" })
  t.eq(r, nil)
  t.contains(err.message, "more than 250 values")
  t.eq(t.client():get("/healthz").status, 200)
end)

t.test("pattern matching runs in C, out of the hook's sight, so each call is priced first", function()
  -- without the price, each of these blocks the loop for seconds to years
  for _, src in ipairs({
    "return ('a'):rep(2e4):find('.-b')",
    "return ('a'):rep(24):match(('a?'):rep(24) .. ('a'):rep(24))",
    "for w in ('x'):rep(1e5):gmatch('x*y') do end",
    "return (' '):rep(3e4):gsub('%s+$', '')",
    "return ('a'):rep(1e6):find(('a'):rep(500) .. 'b', 1, true)",
  }) do
    local _, err = sandbox.load(src, "slow.lua")
    t.eq(err.code, "forbidden", src)
    t.contains(err.message, "too costly")
  end
  -- everyday uses pass
  local sb = assert(sandbox.load([[
    local text = ("word  "):rep(2000)
    local lines = 0
    for _ in (("line\n"):rep(5000)):gmatch("[^\n]+") do lines = lines + 1 end
    local y, m, d = ("2026-01-05"):match("^(%d+)-(%d+)-(%d+)$")
    return {
      squeezed = #text:gsub("%s+", " "),
      lines = lines,
      date = y .. m .. d,
      found = (("a"):rep(1e6) .. "needle"):find("needle", 1, true),
      words = select(2, text:gsub("%a+", "")),
      trimmed = ("  hi  "):match("^%s*(.-)%s*$"),
    }]], "ok.lua"))
  t.same(sb:data(), { squeezed = 10000, lines = 5000, date = "20260105", found = 1000001, words = 2000, trimmed = "hi" })
end)
