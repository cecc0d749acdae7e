-- What a sandboxed script can reach: an allow-list. Everything else is "unknown global" or
-- "not available", with code "forbidden"; globals and library tables are read-only.
local t = require "testing"
local sandbox = require "core.sandbox"

-- Loads a script that should fail; returns its error.
local function refused(src)
  local sb, err = sandbox.load(src, "hook.lua")
  t.eq(sb, nil, "the script should have been refused: " .. src)
  return err
end

t.test("os.execute is not available", function()
  local err = refused("os.execute('touch /tmp/pwned')")
  t.eq(err.code, "forbidden")
  t.eq(err.message, "hook.lua:1: 'os.execute' is not available in scripts")
end)

t.test("io, require, load, debug, dofile and collectgarbage are unknown globals", function()
  for _, name in ipairs({ "io", "require", "load", "loadstring", "dofile", "loadfile", "debug",
                          "collectgarbage", "package", "print", "_G", "rawset", "coroutine" }) do
    local err = refused("local x = " .. name)
    t.eq(err.code, "forbidden", name)
    t.eq(err.message, "hook.lua:1: unknown global '" .. name .. "'")
  end
  local err = refused("io.open('/etc/passwd')")
  t.eq(err.message, "hook.lua:1: unknown global 'io'")
end)

t.test("string.dump is not available", function()
  local err = refused("return string.dump(function() end)")
  t.eq(err.code, "forbidden")
  t.contains(err.message, "'string.dump' is not available")
  local err2 = refused("return ('x').dump")
  t.eq(err2.code, "forbidden")
end)

t.test("a forbidden access caught by pcall is not an error of the run", function()
  local sb = assert(sandbox.load([[
    local ok, e = pcall(function() return os.getenv("HOME") end)
    return { ok = ok, e = e }]], "probe.lua"))
  local d = sb:data()
  t.eq(d.ok, false)
  t.contains(d.e, "'os.getenv' is not available")
end)

t.test("precompiled bytecode is refused", function()
  local bytecode = string.dump(function() return 1 end)
  local sb, err = sandbox.load(bytecode, "bin.lua")
  t.eq(sb, nil)
  t.eq(err.code, "forbidden")
  t.contains(err.message, "bytecode")
end)

t.test("writing to a library table is refused", function()
  local err = refused("string.upper = nil")
  t.eq(err.code, "forbidden")
  t.eq(err.message, "hook.lua:1: 'string' is read-only (cannot set string.upper)")
  t.eq(refused("math.pi = 3").code, "forbidden")
  t.eq(refused("table.insert = print").code, "forbidden")
  t.eq(refused("os.time = nil").code, "forbidden")
end)

t.test("setting globals is refused: scripts declare locals", function()
  local err = refused("counter = 1")
  t.eq(err.code, "forbidden")
  t.eq(err.message, "hook.lua:1: cannot set global 'counter': scripts have no global variables (declare it local)")
  t.eq(refused("pairs = nil").code, "forbidden")
  t.eq(refused("string = {}").code, "forbidden")
end)

t.test("the library tables' metatables are locked", function()
  local sb = assert(sandbox.load([[
    return { str = getmetatable(""), lib = getmetatable(string), glob = getmetatable(_ENV) }]], "mt.lua"))
  t.same(sb:data(), { str = false, lib = false, glob = false })
  local err = refused("setmetatable(string, {})")
  t.eq(err.code, "runtime")
  t.contains(err.message, "protected metatable")
  -- rawequal/rawlen are allowed but there is no rawset to go around the proxies
  t.eq(refused("rawset(string, 'upper', nil)").code, "forbidden")
end)

t.test("the allowed library works, string methods included", function()
  local sb = assert(sandbox.load([[
    local words = {}
    for w in ("b a c"):gmatch("%a") do words[#words + 1] = w:upper() end
    table.sort(words)
    local names = {}
    for k in pairs(string) do names[#names + 1] = k end
    table.sort(names)
    return {
      words = table.concat(words, ","),
      fmt = string.format("%05.1f|%q", math.pi, "x"),
      len = utf8.len("héllo"),
      max = math.max(3, 9, 4),
      int = math.tointeger(8.0),
      rnd = math.random(1, 6),
      sel = select("#", 1, 2, 3),
      num = tonumber("0x10"),
      typ = type(nil),
      str = tostring(12),
      ok = pcall(error, "boom"),
      names = table.concat(names, " "),
    }]], "lib.lua"))
  local d = sb:data()
  t.eq(d.words, "A,B,C")
  t.eq(d.fmt, '003.1|"x"')
  t.eq(d.len, 5)
  t.eq(d.max, 9)
  t.eq(d.int, 8)
  t.ok(d.rnd >= 1 and d.rnd <= 6)
  t.eq(d.sel, 3)
  t.eq(d.num, 16)
  t.eq(d.typ, "nil")
  t.eq(d.str, "12")
  t.eq(d.ok, false)
  t.contains(d.names, "format")
  t.not_contains(d.names, "dump")
end)

t.test("os.time and os.date read the host's clock (the virtual clock in tests)", function()
  local sb = assert(sandbox.load([[
    return { now = os.time(), day = os.date("!%Y-%m-%d"), later = os.time{ year = 2026, month = 1, day = 6, hour = 12 },
             diff = os.difftime(10, 4) }]], "clock.lua"))
  local d = sb:data()
  t.eq(d.now, t.now())
  t.eq(d.day, "2026-01-05")
  t.eq(type(d.later), "number")
  t.eq(d.diff, 6.0)
  t.advance("1d")
  local sb2 = assert(sandbox.load("return os.date('!%Y-%m-%d')", "clock2.lua"))
  t.eq(sb2:data(), "2026-01-06")
end)

t.test("env constants from the host are globals of the script", function()
  local sb = assert(sandbox.load("return { days = DAYS_BEFORE * 2, name = COMPANY.name, roles = COMPANY.roles[2] }",
    "env.lua", { env = { DAYS_BEFORE = 3, COMPANY = { name = "Acme", roles = { "hr", "manager" } } } }))
  t.same(sb:data(), { days = 6, name = "Acme", roles = "manager" })
  t.eq(refused("DAYS_BEFORE = 1").code, "forbidden")
end)

t.test("env may not replace built-ins nor carry functions", function()
  t.raises(function() sandbox.load("return 1", "x.lua", { env = { pairs = 1 } }) end, "replace a built-in")
  t.raises(function() sandbox.load("return 1", "x.lua", { env = { f = print } }) end, "cannot go into a sandbox")
end)

t.test("syntax errors have code 'syntax' and say where", function()
  local sb, err = sandbox.load("return {", "workflows/broken.lua")
  t.eq(sb, nil)
  t.eq(err.code, "syntax")
  t.match(err.message, "^workflows/broken%.lua:1: ")
end)

t.test("runtime errors have code 'runtime' and keep the script's message", function()
  local _, err = sandbox.load("local x = nil\nreturn x.field", "rt.lua")
  t.eq(err.code, "runtime")
  t.match(err.message, "^rt%.lua:2: attempt to index a nil value")
  local _, err2 = sandbox.load("error({ message = 'a table error' })", "rt2.lua")
  t.eq(err2.code, "runtime")
  t.eq(err2.message, "a table error")
  local _, err3 = sandbox.load("error(42)", "rt3.lua")
  t.eq(err3.message, "42")
end)

t.test("bad options are programming errors", function()
  t.raises(function() sandbox.load("return 1", "x", { memory_limit = 10 }) end, "memory_limit")
  t.raises(function() sandbox.load("return 1", "x", { instruction_limit = 0 }) end, "instruction_limit")
  t.raises(function() sandbox.load(nil) end)
end)
