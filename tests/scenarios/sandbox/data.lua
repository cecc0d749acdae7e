-- Only plain data crosses the sandbox border, and always as a deep copy.
local t = require "testing"
local sandbox = require "core.sandbox"

local WORKFLOW = [[
local M = {
  name = "Performance review",
  phases = {
    { id = "self", label = "Auto-évaluation ✍️", days = 14 },
    { id = "manager", label = "Avis du manager", days = 7, optional = false },
  },
  weights = { [1] = 0.25, [2] = 0.75 },
  big = 2^53,
  ratio = 0.5,
}
function M.reminders(phase, days_left, names)
  local out = {}
  for i, n in ipairs(names) do out[i] = ("%s: %d days left for %s"):format(n, days_left, phase) end
  return out, #out
end
function M.nothing() end
M.timeline = { on_start = function() end, every = 3 }
return M
]]

t.test("a module's data comes back as a deep copy, unicode and number types intact", function()
  local sb = assert(sandbox.load(WORKFLOW, "workflows/review.lua"))
  local d = sb:data()
  t.eq(d.name, "Performance review")
  t.eq(d.phases[1].label, "Auto-évaluation ✍️")
  t.eq(d.phases[2].optional, false)
  t.eq(d.weights[2], 0.75)
  t.eq(math.type(d.phases[1].days), "integer")
  t.eq(math.type(d.big), "float")
  t.eq(d.big, 2^53)
  -- a copy: changing it changes nothing inside
  d.phases[1].days = 99
  t.eq(sb:data({ "phases", 1, "days" }), 14)
end)

t.test("functions in the data come back as the string '<function>'", function()
  local sb = assert(sandbox.load(WORKFLOW, "review.lua"))
  local d = sb:data()
  t.eq(d.reminders, "<function>")
  t.eq(d.timeline.on_start, "<function>")
  t.eq(d.timeline.every, 3)
end)

t.test("data(path) reaches into the module; a path that leads nowhere gives nil", function()
  local sb = assert(sandbox.load(WORKFLOW, "review.lua"))
  t.same(sb:data({ "phases", 2 }), { id = "manager", label = "Avis du manager", days = 7, optional = false })
  t.eq(sb:data("name"), "Performance review")
  t.eq(sb:data({ "phases", 9, "id" }), nil)
  t.eq(sb:data({ "name", "x" }), nil)
end)

t.test("call passes copies of plain-data arguments and returns copies of every result", function()
  local sb = assert(sandbox.load(WORKFLOW, "review.lua"))
  local names = { "Ana", "Zoë" }
  local list, n = sb:call({ "reminders" }, "self", 3, names)
  t.same(list, { "Ana: 3 days left for self", "Zoë: 3 days left for self" })
  t.eq(n, 2)
  t.eq(select("#", sb:call({ "nothing" })), 0)
  t.eq(sb:call("reminders", "x", 1, {})[1], nil)
end)

t.test("the script cannot change the host's arguments", function()
  local sb = assert(sandbox.load("return { f = function(t) t.changed = true; t.list[1] = 'x' return t end }", "m.lua"))
  local arg = { list = { "a" } }
  local back = sb:call({ "f" }, arg)
  t.eq(arg.changed, nil)
  t.eq(arg.list[1], "a")
  t.eq(back.changed, true)
  t.eq(back.list[1], "x")
end)

t.test("functions, userdata and threads cannot go in as arguments", function()
  local sb = assert(sandbox.load("return { f = function(x) return x end }", "m.lua"))
  t.raises(function() sb:call({ "f" }, print) end, "a function cannot go into a sandbox")
  t.raises(function() sb:call({ "f" }, { nested = { fn = print } }) end, "a function cannot go into a sandbox")
  t.raises(function() sb:call({ "f" }, io.stdout) end, "a userdata cannot go into a sandbox")
  t.raises(function() sb:call({ "f" }, coroutine.create(print)) end, "a thread cannot go into a sandbox")
  local cyclic = {}
  cyclic.self = cyclic
  t.raises(function() sb:call({ "f" }, cyclic) end, "a cycle")
  local deep = {}
  local cur = deep
  for _ = 1, 40 do cur.next = {}; cur = cur.next end
  t.raises(function() sb:call({ "f" }, deep) end, "nested more than 32")
  -- the sandbox is still fine
  t.eq(sb:call({ "f" }, 5), 5)
end)

t.test("results with cycles or too deep are refused with code 'runtime'", function()
  local sb = assert(sandbox.load([[
    return {
      cycle = function() local t = {} t.me = t return t end,
      deep = function() local t = {} local c = t for i = 1, 40 do c.n = {} c = c.n end return t end,
      shared = function() local s = { v = 1 } return { a = s, b = s } end,
    }]], "m.lua"))
  local r, err = sb:call({ "cycle" })
  t.eq(r, nil)
  t.eq(err.code, "runtime")
  t.contains(err.message, "cycle")
  local _, err2 = sb:call({ "deep" })
  t.contains(err2.message, "nested more than 32")
  local s = sb:call({ "shared" })
  t.eq(s.a.v, 1)
  t.eq(s.b.v, 1)
end)

t.test("calling something that is not a function fails with a clear message", function()
  local sb = assert(sandbox.load(WORKFLOW, "review.lua"))
  local r, err = sb:call({ "timeline", "every" })
  t.eq(r, nil)
  t.eq(err.code, "runtime")
  t.eq(err.message, "the script has no function at timeline.every")
  local _, err2 = sb:call({ "missing" })
  t.eq(err2.message, "the script has no function at missing")
end)

t.test("an error inside a call has code 'runtime' and leaves the sandbox usable", function()
  local sb = assert(sandbox.load([[
    return { fail = function() error("no reviewer for " .. "Ana") end, ok = function() return "fine" end }]],
    "m.lua"))
  local _, err = sb:call({ "fail" })
  t.eq(err.code, "runtime")
  t.eq(err.message, "m.lua:1: no reviewer for Ana")
  t.eq(sb:call({ "ok" }), "fine")
end)

t.test("a script keeps its own state between calls", function()
  local sb = assert(sandbox.load([[
    local count = 0
    return { bump = function() count = count + 1 return count end }]], "m.lua"))
  t.eq(sb:call({ "bump" }), 1)
  t.eq(sb:call({ "bump" }), 2)
  local other = assert(sandbox.load("local count = 0 return { bump = function() count = count + 1 return count end }", "n.lua"))
  t.eq(other:call({ "bump" }), 1)
end)

t.test("many references to one long string come out without multiplying memory", function()
  local sb = assert(sandbox.load([[
    local s = ("z"):rep(100000)
    local t = {}
    for i = 1, 10000 do t[i] = s end
    return t]], "m.lua"))
  local d = sb:data()
  t.eq(#d, 10000)
  t.eq(#d[10000], 100000)
  t.ok(collectgarbage("count") < 200 * 1024, "host memory stays small")
end)
