-- HR changes the workflow: a new reminder cadence saved through the API, the copy in the
-- company's data folder, and version pinning (a running cycle keeps the version it started
-- with; new cycles take the new one).
local t = require "testing"
local F = dofile("tests/scenarios/workflows/_fixtures.lua")
local wf = require "services.workflows"
local app = require "app"
local fs = require "core.fs"
local crypto = require "core.crypto"
local demo = require "demo"

local P = t.demo()
local hr = t.login(demo.email("marcus"))
local function fresh_hr() hr = t.login(demo.email("marcus")) return hr end -- sessions end as the clock moves
local BUILTIN = wf.builtin_source("performance_review")

-- Remind every two days from six days before the self-assessment deadline to the day itself.
local CADENCE = BUILTIN:gsub('    { at = "self_due", offset = %-3,[^\n]+\n', [[
    { at = "self_due", offset = -6, to = "reviewees", only = "self_not_submitted", template = "review.self_reminder" },
    { at = "self_due", offset = -4, to = "reviewees", only = "self_not_submitted", template = "review.self_reminder" },
    { at = "self_due", offset = -2, to = "reviewees", only = "self_not_submitted", template = "review.self_reminder" },
    { at = "self_due", offset = 0, to = "reviewees", only = "self_not_submitted", template = "review.self_reminder" },
]], 1)

local function reminder_days(email, cycle)
  local out = {}
  for _, m in ipairs(t.outbox({ to = email, template = "review.self_reminder" })) do
    if m.related_id == cycle.id then out[#out + 1] = os.date("!%m-%d %H:%M", m.created_at) end
  end
  return out
end

local DATES = { start_date = "2026-01-05", self_due = "2026-01-19", manager_due = "2026-02-02", sign_due = "2026-02-16" }
local function cycle_named(name)
  local o = { name = name }
  for k, v in pairs(DATES) do o[k] = v end
  return F.cycle(o)
end

local old_cycle = cycle_named("Started before the change")
F.reviews(old_cycle, { zoe = P.zoe })
local new_cycle -- started after the change

t.test("the cadence change is one edit of the timeline and passes the check", function()
  t.neq(CADENCE, BUILTIN)
  local res = hr:post("/api/workflows/performance_review/check", { source = CADENCE })
  t.status(res, 200)
  t.eq(res.json.valid, true)
  local offsets = {}
  for _, s in ipairs(res.json.definition.timeline) do
    if s.at == "self_due" then offsets[#offsets + 1] = s.offset end
  end
  t.same(offsets, { -6, -4, -2, 0, 1 }, "and the one the day after stays")
end)

t.test("saving makes a new version for new cycles; a running cycle keeps the one it started with", function()
  wf.start(old_cycle, P.marcus)
  local builtin_id = F.reload(old_cycle).workflow_version_id
  local res = hr:put("/api/workflows/performance_review", { source = CADENCE, note = "remind every two days" })
  t.status(res, 201)
  t.eq(res.json.new, true)
  t.neq(res.json.id, builtin_id)
  local again = hr:put("/api/workflows/performance_review", { source = CADENCE, note = "same text" })
  t.status(again, 200)
  t.eq(again.json.id, res.json.id, "the same text is the same version")
  t.eq(again.json.new, false)
  new_cycle = cycle_named("Started after the change")
  local r = F.reviews(new_cycle, { ethan = P.ethan, mia = P.mia })
  wf.start(new_cycle, P.marcus)
  t.eq(F.reload(new_cycle).workflow_version_id, res.json.id)
  t.eq(F.reload(old_cycle).workflow_version_id, builtin_id)
  local info = hr:get("/api/workflows/performance_review").json
  t.eq(info.current.id, res.json.id)
  t.eq(info.current.origin, "admin")
  t.eq(info.current.note, "remind every two days")
  local uses = {}
  for _, v in ipairs(info.versions) do
    for _, c in ipairs(v.cycles) do uses[c.name] = v.id end
  end
  t.eq(uses["Started before the change"], builtin_id)
  t.eq(uses["Started after the change"], res.json.id)
  -- Mia submits between the second and third reminder
  t.advance_to("2026-01-16T12:00:00Z")
  F.set(r.mia, { self_status = "submitted" })
  t.advance_to("2026-01-20T00:00:00Z")
  t.same(reminder_days(P.zoe.email, old_cycle), { "01-16 09:00" }, "the old cycle follows the old timeline")
  t.same(reminder_days(P.ethan.email, new_cycle), { "01-13 09:00", "01-15 09:00", "01-17 09:00", "01-19 09:00" })
  t.same(reminder_days(P.mia.email, new_cycle), { "01-13 09:00", "01-15 09:00" }, "none after she submitted")
end)

t.test("a definition is read from the database once pinned: changing the files does not touch a running cycle", function()
  local v = F.reload(old_cycle).workflow_version_id
  local def = wf.definition(v)
  t.eq(def.timeline[3].offset, -3)
  t.eq(wf.definition(F.reload(new_cycle).workflow_version_id).timeline[3].offset, -6)
end)

-- ---------------------------------------------------------------- the data folder copy

local dir = "/tmp/candor-wf-" .. crypto.hex(crypto.random(6))
local copy_path = dir .. "/workflows/performance_review.lua"

local function cleanup()
  fs.remove(copy_path)
  os.remove(dir .. "/workflows")
  os.remove(dir)
  app.data_dir = nil
end

t.test("with no data folder copy and no choice on the admin page, new cycles use the built-in", function()
  wf.use_version("performance_review", 0, P.marcus)
  local v = wf.current_version("performance_review")
  t.eq(v.origin, "builtin")
  t.eq(v.source, BUILTIN)
end)

t.test("an invalid copy in the data folder is reported and ignored: cycles still start, with the built-in", function()
  app.data_dir = dir
  assert(fs.mkdir(dir .. "/workflows"))
  assert(fs.write(copy_path, (BUILTIN:gsub('at = "self_due"', 'at = "self_deadline"', 1))))
  local copy = wf.data_folder_copy("performance_review")
  t.eq(copy.valid, false)
  t.match(copy.errors[1], '^line %d+: timeline%[3%] %(at self_deadline%): unknown anchor "self_deadline"')
  t.eq(wf.current_version("performance_review").origin, "builtin")
  local c = F.cycle({ name = "With a broken copy", self_due = "2026-02-19", manager_due = "2026-03-02",
    sign_due = "2026-03-16" })
  wf.start(c, P.marcus)
  t.eq(F.reload(c).phase, "writing")
  local info = fresh_hr():get("/api/workflows/performance_review").json
  t.eq(info.data_folder.valid, false)
  t.eq(info.data_folder.path, copy_path)
  t.contains(hr:get("/admin/workflows/performance_review").body, "The copy in the data folder is not used")
end)

t.test("a valid copy in the data folder replaces the built-in for new cycles", function()
  local five = BUILTIN:gsub('at = "self_due", offset = %-3', 'at = "self_due", offset = -5', 1)
  assert(fs.write(copy_path, five))
  local v = wf.current_version("performance_review")
  t.eq(v.origin, "data_folder")
  t.eq(v.source, five)
  local c = F.cycle({ name = "With the copy", self_due = "2026-02-19", manager_due = "2026-03-02", sign_due = "2026-03-16" })
  wf.start(c, P.marcus)
  t.eq(F.reload(c).workflow_version_id, v.id)
  t.eq(F.jobs(c)[("cycle:%d:wf:step:s3"):format(c.id)], "2026-02-14T09:00Z")
  t.eq(wf.current_version("performance_review").id, v.id, "seen again: the same row")
end)

t.test("a version chosen on the admin page beats the data folder copy; stopping the customisation goes back to it", function()
  local res = hr:put("/api/workflows/performance_review", { source = CADENCE })
  t.status(res, 200, "known text")
  t.eq(wf.current_version("performance_review").origin, "admin")
  t.status(hr:form("/admin/workflows/performance_review/reset", {}), 303)
  t.eq(wf.current_version("performance_review").origin, "data_folder")
  cleanup()
  t.eq(wf.current_version("performance_review").origin, "builtin")
end)
