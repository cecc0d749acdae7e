-- Checking scripts: every mistake is named with its entry (and its line when the text shows
-- it); scripts run in the sandbox, so an endless loop or a memory bomb is stopped with a clear
-- message on Check and on Dry run, and the server carries on.
local t = require "testing"
local F = dofile("tests/scenarios/workflows/_fixtures.lua")
local wf = require "services.workflows"
local clock = require "core.clock"
local demo = require "demo"

local P = t.demo()
local hr = t.login(demo.email("marcus"))
local B = wf.builtin_source("performance_review")
local cycle = F.cycle({ name = "Dry-run target", self_due = "2026-01-19", manager_due = "2026-02-02", sign_due = "2026-02-16" })
F.reviews(cycle, { zoe = P.zoe, hana = P.hana })

local function edit(pattern, repl)
  local s, n = B:gsub(pattern, repl, 1)
  assert(n == 1, "pattern not found: " .. pattern)
  return s
end

-- asserts that one of the messages contains the fragment
local function has(errs, fragment)
  for _, e in ipairs(errs) do if e:find(fragment, 1, true) then return end end
  t.fail(("%q is not among %s"):format(fragment, table.concat(errs, " | ")))
end

local function problems(src)
  local def, errs = wf.validate(src, "performance_review")
  t.eq(def, nil, "the script should be refused")
  return errs
end

local LOOP = "while true do end"
local BOMB = 'local t = {} while true do t[#t + 1] = ("x"):rep(1e6) end'
local LOOP_IN_RULE = edit('only = "self_not_submitted"', 'only = function(r) while true do end end')

t.test("the built-in workflow is valid", function()
  local def = wf.validate(B, "performance_review")
  t.ok(def)
  t.eq(def.name, "Performance review")
  t.eq(#def.phases, 2)
end)

t.test("a mistyped anchor, template, role, filter, group, event or field is named with its entry and line", function()
  local cases = {
    { edit('at = "self_due"', 'at = "self_deu"'),
      'line 40: timeline[3] (at self_deu): unknown anchor "self_deu" in at (anchors: "start", "self_due", "manager_due", '
        .. '"sign_due")' },
    { edit('template = "review.shared" }', 'template = "review.sharred" }'),
      'line 46: timeline[8] (on review.shared): unknown mail template "review.sharred"' },
    { edit('"hr_assistant", "cycle_admin"', '"hr_asistant", "cycle_admin"'),
      'line 28: transitions[1] (draft -> writing): unknown role "hr_asistant" in by' },
    { edit('only = "manager_not_shared", cc', 'only = "manager_late", cc'),
      'line 44: timeline[7] (at manager_due): unknown filter "manager_late" in only' },
    { edit('to = "managers", only = "manager_not_signed"', 'to = "bosses", only = "manager_not_signed"'),
      'line 48: timeline[10] (at sign_due): unknown group "bosses" in to' },
    { edit('on = "review.shared"', 'on = "review.share"'),
      'line 46: timeline[8] (on review.share): unknown event "review.share"' },
    { edit('offset = %-2,', 'ofset = -2,'),
      'line 47: timeline[9] (at sign_due): unknown field "ofset"' },
    { edit('from = "writing"', 'from = "writting"'),
      'line 29: transitions[2] (writting -> closed): from "writting" is not a phase (phases: "draft", "writing", "closed")' },
  }
  for _, c in ipairs(cases) do
    local errs = problems(c[1])
    t.ok(errs[1]:find(c[2], 1, true), ("expected %q in %q"):format(c[2], errs[1]))
  end
end)

t.test("structural mistakes: no closed phase, duplicates, bad offsets, unreachable phases, groups that do not fit", function()
  has(problems(edit('{ id = "closed", label = "Closed", allows = {} },', '')),
    'phases must end with the phase { id = "closed", label = "Closed", allows = {} }: every cycle can be closed')
  has(problems(edit('{ id = "closed"', '{ id = "writing", label = "Again" }, { id = "closed"')),
    'phases[2] (writing): the phase id "writing" is used twice')
  has(problems(edit('offset = %-3', 'offset = 2.5')),
    "timeline[3] (at self_due): offset must be a whole number of days (e.g. -3 for three days before)")
  has(problems(edit('offset = %-3', 'offset = 400')),
    "timeline[3] (at self_due): offset 400 is out of range (-366 to 366 days)")
  has(problems(edit('{ id = "closed"', '{ id = "calibration", label = "Calibration", allows = { "manager_write" } }, { id '
    .. '= "closed"')),
    'line 20: phases: no transition leads to the phase "calibration", so no cycle could ever reach it')
  has(problems(edit('to = "reviewees", only = "self_not_submitted"', 'to = "reviewee", only = "self_not_submitted"')),
    'timeline[3] (at self_due): to = "reviewee" does not fit a dated step (use "reviewees", "managers", "cycle_admins")')
  has(problems(edit('"share", "sign" }', '"share", "sign", "dance" }')),
    'line 19: phases[1] (writing): unknown activity "dance" in allows (activities: "self_write", "manager_write", "share", '
      .. '"sign")')
  has(problems(edit('from = "draft"', 'from = "writing", at = "start"')),
    'there must be exactly one transition from "draft" (the start of the cycle); found 0')
  has(problems("return { name = 'x' }"), "phases must be a list of phases")
  has(problems("local x = 1"), "the script must return a table with name, phases, transitions and timeline (it returned "
    .. "nothing)")
  has(problems(edit('  timeline = {', '  timelines = {}, timeline = {')), 'unknown field "timelines" at the top of the script')
end)

t.test("syntax errors and forbidden calls give the sandbox's message with the line", function()
  t.same(problems(edit('phases = {', 'phases = {{')), { "line 58: '}' expected (to close '{' at line 13) near <eof>" })
  t.same(problems("local f = io.open('/etc/passwd')\nreturn {}"), { "line 1: unknown global 'io'" })
  t.same(problems("\nos.execute('ls') return {}"), { "line 2: 'os.execute' is not available in scripts" })
  t.same(problems("return require('os')"), { "line 1: unknown global 'require'" })
  t.same(problems("\27Lua"), { "precompiled Lua (bytecode) is not accepted: give the script as text" })
  t.same(problems("   "), { "the script is empty: it must return a table with name, phases, transitions and timeline" })
end)

t.test("an endless loop is stopped on Check with a clear message, fast, and the next request works", function()
  local started = clock.mono_ms()
  local res = hr:post("/api/workflows/performance_review/check", { source = LOOP })
  t.status(res, 200)
  t.eq(res.json.valid, false)
  t.same(res.json.errors, { "the script was stopped: it ran longer than its budget of 5000000 instructions (an endless "
    .. "loop?)" })
  t.ok(clock.mono_ms() - started < 2000, "stopped quickly")
  t.eq(hr:post("/api/workflows/performance_review/check", { source = B }).json.valid, true)
end)

t.test("a memory bomb is stopped on Check with a clear message", function()
  local res = hr:post("/api/workflows/performance_review/check", { source = BOMB })
  t.same(res.json.errors, { "the script was stopped: it used more than 8 MiB" })
end)

t.test("a loop inside an `only` rule is found on Check, by trying the rule on sample reviews", function()
  local res = hr:post("/api/workflows/performance_review/check", { source = LOOP_IN_RULE })
  t.same(res.json.errors, { "timeline[3] only (tried on a sample review): the script was stopped: it ran longer than its "
    .. "budget of 5000000 instructions (an endless loop?)" })
  res = hr:post("/api/workflows/performance_review/check",
    { source = edit('only = "self_not_submitted"', 'only = function(r) return r.nope.x end') })
  t.same(res.json.errors, { "timeline[3] only (tried on a sample review): line 40: attempt to index a nil value (field "
    .. "'nope')" })
end)

t.test("Dry run refuses a looping script with 422 and the message; saving it is refused too", function()
  for _, src in ipairs({ LOOP, BOMB, LOOP_IN_RULE }) do
    local res = hr:post("/api/workflows/performance_review/dry-run", { source = src, cycle_id = cycle.id })
    t.status(res, 422)
    t.contains(res.json.error.message, "the script was stopped")
    t.status(hr:put("/api/workflows/performance_review", { source = src }), 422)
  end
  t.eq(wf.current_version("performance_review").origin, "builtin")
end)

t.test("a rule that only loops on real data passes Check; the dry run stops it, says so, and answers", function()
  local src = edit('only = "self_not_submitted"', 'only = function(r) while r.reviewee.location == "Remote" do end return '
    .. 'true end')
  t.eq(hr:post("/api/workflows/performance_review/check", { source = src }).json.valid, true)
  local res = hr:post("/api/workflows/performance_review/dry-run", { source = src, cycle_id = cycle.id })
  t.status(res, 200)
  local step
  for _, it in ipairs(res.json.items) do if it.step == 3 then step = it end end
  t.contains(step.problem, "timeline[3] only: the script was stopped: it ran longer than its budget")
  t.eq(step.count, 0)
  t.contains(res.json.problems[1], "the script was stopped")
end)

t.test("the page shows the loop's message, and the real server keeps answering meanwhile", function()
  local res = hr:follow(hr:form("/admin/workflows/performance_review", { action = "check", source = LOOP }))
  t.status(res, 200)
  t.contains(res.body, "it ran longer than its budget of 5000000 instructions (an endless loop?)")
  local s = t.socket()
  local health = s:request("GET", "/healthz")
  t.eq(health.status, 200)
  s:close()
  local page = hr:follow(hr:form("/admin/workflows/performance_review", { action = "dry_run", source = BOMB,
    cycle_id = tostring(cycle.id) }))
  t.status(page, 200)
  t.contains(page.body, "it used more than 8 MiB")
end)

t.test("scripts see status data only: the rule's arguments have statuses and names, no answer text", function()
  local src = edit('only = "self_not_submitted"', [[only = function(r, c)
      local keys, who = {}, {}
      for k in pairs(r) do keys[#keys + 1] = k end
      for k in pairs(r.reviewee) do who[#who + 1] = k end
      table.sort(keys)
      table.sort(who)
      error(table.concat(keys, ",") .. " | " .. table.concat(who, ",") .. " | " .. c.name)
    end]])
  local res = hr:post("/api/workflows/performance_review/check", { source = src })
  t.eq(res.json.errors[1], "timeline[3] only (tried on a sample review): line 46: "
    .. "has_self_assessment,id,manager,manager_id,manager_status,reviewee,reviewee_id,self_status"
    .. " | department,hire_date,job_title,location,name | Sample cycle")
end)

t.test("the examples in docs/scripting.md pass the check", function()
  local doc = assert(io.open("docs/scripting.md")):read("a")
  local blocks = {}
  for code in doc:gmatch("```lua\n(.-)```") do blocks[#blocks + 1] = code end
  local calibration
  for _, b in ipairs(blocks) do if b:match("^return {") and b:find("calibration", 1, true) then calibration = b end end
  t.ok(calibration, "the calibration example is in the document")
  local def, errs = wf.validate(calibration, "performance_review")
  t.eq(errs, nil)
  t.same({ def.phases[2].id, def.transitions[4].at }, { "calibration", "sign_due" })
  -- the cadence example: the line to replace and its replacement, applied to the built-in
  local old_line, new_lines
  for _, b in ipairs(blocks) do
    if b:find("offset = -3", 1, true) and not b:find("return {", 1, true) then old_line = b end
    if b:find("offset = -6", 1, true) and not b:find("return {", 1, true) then new_lines = b end
  end
  local s, e = B:find(old_line, 1, true)
  t.ok(s, "the line to replace is the built-in's")
  t.ok(wf.validate(B:sub(1, s - 1) .. new_lines .. B:sub(e + 1), "performance_review"))
end)
