-- A confirmed import runs in the background and keeps a record: who started it, how far it got,
-- what it changed. An import that stops half-way (the server died) resumes where it stopped; one
-- that fails says so and keeps what it did.
local t = require "testing"
local demo = require "demo"
local db = require "lib.db"
local import = require "services.import"
local timer = require "core.timer"

local P = t.demo()

local function csv(c, text)
  return c:request("POST", "/api/users/import", { body = text, headers = { ["content-type"] = "text/csv" } })
end

local function record(c, id) return t.status(c:get("/api/users/imports/" .. id), 200).json end

-- 20 new people under Ravi, 20 more under the first of them
local function team_file(prefix)
  local lines = { "email,name,manager_email" }
  for i = 1, 20 do lines[#lines + 1] = ("%s%02d@northwind.example,%s %d,%s"):format(prefix, i, prefix, i, demo.email("ravi")) end
  for i = 21, 40 do
    lines[#lines + 1] = ("%s%02d@northwind.example,%s %d,%s01@northwind.example"):format(prefix, i, prefix, i, prefix)
  end
  return table.concat(lines, "\n") .. "\n"
end

-- Runs import id by hand as the job would, and stops it for good ("the server died") at the
-- first pause after a slice of reporting lines committed.
local function run_and_die(id)
  local yield, slice = timer.yield, import.SLICE_MS
  local kill = false
  import.SLICE_MS = 0 -- every change its own slice
  timer.yield = function() if kill then coroutine.yield("died") end return true end
  local co = coroutine.create(import.execute)
  local ok, what = coroutine.resume(co, id, { progress = function(phase) if phase == "managers" then kill = true end end })
  timer.yield, import.SLICE_MS = yield, slice
  t.ok(ok, what)
  t.eq(what, "died", "the run stopped half-way")
end

t.test("a confirmed import answers at once and runs in the background; its record shows the progress", function()
  local tom = t.login(demo.email("tom"))
  local res = t.status(csv(tom, team_file("bg")), 202)
  t.eq(res.headers.location, "/api/users/imports/" .. res.json.import.id)
  t.eq(res.json.import.status, "running")
  t.eq(res.json.import.started_by, demo.email("tom"))
  t.eq(res.json.report.created, 40, "the check's report comes with it")
  t.eq(db.value("SELECT count(*) FROM users WHERE email LIKE 'bg%'"), 0, "nothing yet")
  t.advance("1s")
  local rec = record(tom, res.json.import.id)
  t.eq(rec.status, "done")
  t.eq(rec.progress, 100)
  t.eq(rec.done, rec.total)
  t.eq(rec.counts.created, 40)
  t.eq(rec.counts.managers_set, 40)
  t.match(rec.finished_at, "^2026%-01%-05T09:00")
  t.eq(db.value("SELECT csv FROM imports WHERE id = ?", rec.id), "", "the file is not kept once it is done")
  local list = t.status(tom:get("/api/users/imports"), 200).json.imports
  t.eq(list[1].id, rec.id)
end)

t.test("one import at a time", function()
  local tom = t.login(demo.email("tom"))
  local first = t.status(csv(tom, "email,name\nfirst.one@northwind.example,First One\n"), 202)
  local second = t.status(csv(tom, "email,name\nsecond.one@northwind.example,Second One\n"), 409)
  t.contains(second.json.error.message, "Another import is running")
  t.advance("1s")
  t.eq(record(tom, first.json.import.id).status, "done")
  t.status(csv(tom, "email,name\nsecond.one@northwind.example,Second One\n"), 202)
  t.advance("1s")
end)

t.test("an import that died half-way resumes where it stopped once its runner's lease ran out", function()
  local tom = t.login(demo.email("tom"))
  local res = t.status(csv(tom, team_file("rs")), 202)
  local id = res.json.import.id
  run_and_die(id)
  local half = record(tom, id)
  t.eq(half.status, "running")
  t.eq(half.counts.created, 40, "the people part committed")
  t.ok(half.counts.managers_set >= 1 and half.counts.managers_set < 40, "part of the reporting lines")
  t.ok(half.done < half.total)
  -- its job comes (the import was planned to run at once) but finds the runner's lease alive
  t.advance("1s")
  t.eq(record(tom, id).status, "running")
  t.eq(record(tom, id).done, half.done, "nothing was done twice")
  -- a minute without a slice: the job takes it over and finishes it
  t.advance("2m")
  local rec = record(tom, id)
  t.eq(rec.status, "done", rec.error)
  t.eq(rec.runs, 2)
  t.eq(rec.counts.created, 40)
  t.eq(rec.counts.managers_set, 40, "the Tech Admin's new people got their managers on the second run too")
  t.eq(db.value("SELECT count(*) FROM users WHERE email LIKE 'rs%'"), 40)
  t.eq(db.value([[SELECT count(*) FROM audit_log WHERE action = 'user.create'
    AND target_id IN (SELECT id FROM users WHERE email LIKE 'rs%')]]), 40, "each person created once")
  local first = db.value("SELECT id FROM users WHERE email = 'rs01@northwind.example'")
  t.eq(db.value("SELECT count(*) FROM users WHERE email LIKE 'rs%' AND manager_id = ?", first), 20)
end)

t.test("an import that cannot go on says so and keeps what it did", function()
  local tom = t.login(demo.email("tom"))
  local res = t.status(csv(tom, team_file("st")), 202)
  local id = res.json.import.id
  run_and_die(id)
  -- meanwhile Tom loses the Tech Admin role: the import may not go on in his name
  local priya = t.login(demo.email("priya"))
  t.status(priya:put("/api/users/" .. P.tom.id .. "/roles", { roles = {} }), 200)
  t.advance("2m")
  local rec = record(priya, id)
  t.eq(rec.status, "failed")
  t.contains(rec.error, "may no longer import")
  t.eq(db.value("SELECT count(*) FROM users WHERE email LIKE 'st%'"), 40, "the part done stays")
  local page = priya:get("/people/import/" .. id).body
  t.contains(page, "Stopped")
  t.contains(page, "may no longer import")
  t.eq(db.value("SELECT count(*) FROM audit_log WHERE action = 'users.import_failed' AND target_id = ?", id), 1)
  t.status(priya:put("/api/users/" .. P.tom.id .. "/roles", { roles = { "tech_admin" } }), 200)
end)

t.test("the records are for those who may import", function()
  local mia = t.login(demo.email("mia"))
  t.status(mia:get("/api/users/imports"), 403)
  t.status(mia:get("/api/users/imports/1"), 403)
  t.status(mia:get("/people/import/1"), 403)
  t.status(t.login(demo.email("tom")):get("/api/users/imports/999"), 404)
end)

t.test("an import's page lists no empty sections", function()
  local tom = t.login(demo.email("tom"))
  local id = db.value("SELECT id FROM imports WHERE status = 'done' ORDER BY id LIMIT 1")
  local body = t.status(tom:get("/people/import/" .. id), 200).body
  t.contains(body, "Done")
  t.contains(body, "100%")
  t.not_contains(body, "Not imported", "no row was refused")
  t.not_contains(body, "<h3>Notes</h3>")
end)
