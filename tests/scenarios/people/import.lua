-- The user import: a CSV file of people, checked row by row (nothing is imported when any row
-- has a problem), then imported in the background in short slices, each change logged.
local t = require "testing"
local demo = require "demo"
local db = require "lib.db"
local authz = require "core.authz"
local clock = require "core.clock"
local events = require "lib.events"

local P = t.demo()
local super = t.login(demo.email("priya"))     -- HR Admin + Tech Admin
local hr = t.login(demo.email("marcus"))       -- HR Admin
local tech = t.login(demo.email("tom"))        -- Tech Admin
local assistant = t.login(demo.email("lena"))  -- HR Assistant

local HEADER = "email,name,job_title,department,location,hire_date,manager_email,roles,kind\n"

local function csv(c, text, dry)
  return c:request("POST", "/api/users/import" .. (dry and "?dry_run=1" or ""),
    { body = text, headers = { ["content-type"] = "text/csv" } })
end

-- A real import through the API: the answer (202 with the check's report in json.report) and,
-- once the background job ran it, the import's record in .record.
local function run(c, text)
  local res = csv(c, text)
  if res.status ~= 202 then return res end
  t.advance("1s")
  res.record = t.status(c:get("/api/users/imports/" .. res.json.import.id), 200).json
  t.eq(res.record.status, "done", res.record.error)
  return res
end

local function user(email) return db.row("SELECT * FROM users WHERE email = ?", email) end
local function count() return db.value("SELECT count(*) FROM users") end
local function roles_of(id) return db.column("SELECT role FROM user_roles WHERE user_id = ? ORDER BY role", id) end
local function imports() return db.value("SELECT count(*) FROM audit_log WHERE action = 'users.import'") end

-- the problems of a report as "line:field" strings
local function where(report)
  local out = {}
  for _, p in ipairs(report.problems) do out[#out + 1] = p.line .. ":" .. tostring(p.field or "-") end
  return out
end

t.test("core.csv reads RFC 4180 text: quotes, CRLF and LF, a byte order mark, rows over several lines", function()
  local csvlib = require "core.csv"
  local rows, lines = csvlib.parse('\239\187\191a,b\r\n"x, ""y""", z \r\n\r\n"two\nlines",\n')
  t.same(rows, { { "a", "b" }, { 'x, "y"', " z " }, { "two\nlines", "" } })
  t.same(lines, { 1, 2, 4 }, "a row starts on its own line; blank lines are skipped")
  local after, at = csvlib.parse('"a\nb\nc",1\nd,2\n')
  t.same(after[2], { "d", "2" })
  t.eq(at[2], 4)
  t.same(csvlib.parse("a;b\nc;d", { delimiter = ";" }), { { "a", "b" }, { "c", "d" } })
  t.same(csvlib.parse(""), {})
  local none, err = csvlib.parse('a,b\nc,d"e\n')
  t.eq(none, nil)
  t.eq(err.code, "parse")
  t.eq(err.line, 2)
  local _, err2 = csvlib.parse('a\n"b" c\n')
  t.eq(err2.line, 2, "text after a closing quote")
  local _, err3 = csvlib.parse('a\nb\n"c,\nd\n')
  t.eq(err3.line, 3, "an unclosed quote is reported where it opens")
  t.raises(function() csvlib.parse("a", { delimiter = "ab" }) end, "delimiter")
  t.raises(function() csvlib.parse({}) end)
end)

t.test("a dry run reports what would change and changes nothing", function()
  local before, audits = count(), imports()
  local res = csv(hr, HEADER
    .. "kim.new@northwind.example,Kim New,Engineer,Engineering,Berlin,2026-02-01,ravi.shankar@northwind.example,,\n"
    .. demo.email("zoe") .. ",,Senior Engineer,,,,,,\n", true)
  t.status(res, 200)
  local r = res.json
  t.eq(r.ok, true)
  t.eq(r.dry_run, true)
  t.eq(r.rows, 2)
  t.eq(r.created, 1)
  t.eq(r.updated, 1)
  t.eq(r.managers_set, 1)
  t.eq(#r.problems, 0)
  t.eq(r.actions[2].action, "update")
  t.same(r.actions[2].fields, { "job_title" })
  t.eq(count(), before, "nobody was added")
  t.eq(user(demo.email("zoe")).job_title, "Engineer", "nobody was changed")
  t.eq(imports(), audits, "nothing audited")
end)

t.test("new people are created and existing ones updated by email; empty cells keep what is there", function()
  local audits = imports()
  local res = run(hr, "Email,Name,Job Title,Department,Location,Hire date\r\n"
    .. "kim.new@northwind.example,Kim New,Engineer,Engineering,Berlin,2026-02-01\r\n"
    .. '"ZOE.CHEN@northwind.example",,"Senior Engineer, Platform",,,\r\n')
  t.status(res, 202)
  t.eq(res.json.report.created, 1)
  t.eq(res.json.report.updated, 1)
  t.eq(res.record.counts.created, 1)
  t.eq(res.record.counts.profiles_updated, 1)
  local kim = user("kim.new@northwind.example")
  t.ok(kim, "Kim exists")
  t.eq(kim.name, "Kim New")
  t.eq(kim.status, "invited")
  t.eq(kim.kind, "employee")
  t.eq(kim.hire_date, "2026-02-01")
  local zoe = user(demo.email("zoe"))
  t.eq(zoe.job_title, "Senior Engineer, Platform")
  t.eq(zoe.name, "Zoe Chen", "an empty cell keeps the name")
  t.eq(zoe.department, "Engineering")
  t.eq(zoe.manager_id, P.lucas.id, "no manager column: the manager stays")
  t.eq(imports(), audits + 1, "one summary entry for the whole import")
  local a = db.row("SELECT * FROM audit_log WHERE action = 'users.import' ORDER BY id DESC LIMIT 1")
  t.eq(a.actor_id, P.marcus.id)
  local d = require("lib.json").decode(a.details)
  t.eq(d.created, 1)
  t.eq(d.profiles_updated, 1)
  t.eq(d.rows, 2)
  -- the same file again changes nothing
  local again = run(hr, "email,job_title\nzoe.chen@northwind.example,\"Senior Engineer, Platform\"\n")
  t.eq(again.json.report.unchanged, 1)
  t.eq(again.record.counts.profiles_updated, 0)
end)

t.test("managers are set in a second pass: a manager may come after their reports in the file", function()
  local res = run(hr, HEADER
    .. "fern.report@northwind.example,Fern Report,Engineer,Engineering,Berlin,,gus.lead@northwind.example,,\n"
    .. "hal.report@northwind.example,Hal Report,Engineer,Engineering,Berlin,,gus.lead@northwind.example,,\n"
    .. "gus.lead@northwind.example,Gus Lead,Engineering Manager,Engineering,Berlin,,daniel.kim@northwind.example,,\n"
    .. demo.email("leo") .. ",,,,,,gus.lead@northwind.example,,\n")
  t.eq(res.json.report.created, 3)
  t.eq(res.record.counts.managers_set, 4)
  local gus = user("gus.lead@northwind.example")
  t.eq(user("fern.report@northwind.example").manager_id, gus.id)
  t.eq(user("hal.report@northwind.example").manager_id, gus.id)
  t.eq(gus.manager_id, P.daniel.id)
  t.eq(user(demo.email("leo")).manager_id, gus.id)
  -- the permission evaluator knows at once: Daniel is above Fern, Gus has three direct reports
  t.eq(#authz.reports(gus.id, true), 3)
  t.contains(authz.reports(P.daniel.id, false), user("fern.report@northwind.example").id)
  local api = hr:get("/api/users/" .. gus.id .. "/reports?direct=1")
  t.eq(#api.json.reports, 3)
end)

t.test("a loop in the reporting lines is refused, within the file or with the people already there", function()
  local before = count()
  -- within the file: A -> B -> A
  local res = csv(hr, HEADER
    .. "loop.a@northwind.example,Loop A,,,,,loop.b@northwind.example,,\n"
    .. "loop.b@northwind.example,Loop B,,,,,loop.a@northwind.example,,\n", true)
  t.status(res, 200)
  t.eq(res.json.ok, false)
  t.same(where(res.json), { "2:manager_email", "3:manager_email" })
  t.contains(res.json.problems[1].message, "loop")
  -- with the existing tree: Ravi manages Lucas, so Lucas cannot become Daniel's manager
  -- (Daniel is above Ravi)
  local res2 = csv(hr, "email,manager_email\n" .. demo.email("daniel") .. "," .. demo.email("lucas") .. "\n")
  t.status(res2, 422)
  t.eq(res2.json.error.code, "import_invalid")
  t.same(where(res2.json.error.details), { "2:manager_email" })
  t.contains(res2.json.error.details.problems[1].message, "daniel.kim@northwind.example → lucas.moreau@northwind.example")
  t.eq(user(demo.email("daniel")).manager_id, P.olivia.id, "nothing changed")
  -- but moving the whole chain in the same file is fine: Lucas moves out from under Ravi first
  local res3 = csv(hr, "email,manager_email\n" .. demo.email("daniel") .. "," .. demo.email("lucas") .. "\n"
    .. demo.email("lucas") .. "," .. demo.email("olivia") .. "\n", true)
  t.eq(res3.json.ok, true, "no loop once Lucas reports to Olivia")
  t.eq(count(), before)
end)

t.test("bad rows are reported with their line numbers and the column", function()
  local res = csv(hr, HEADER
    .. "not-an-email,Someone,,,,,,,\n"                                                        -- 2
    .. "dated@northwind.example,Dated,,,,2026-02-30,,,\n"                                     -- 3
    .. "roles@northwind.example,Roles,,,,,,\"HR Admin; Chief Wizard\",\n"                     -- 4
    .. "short@northwind.example,Short\n"                                                      -- 5
    .. "\"multi@northwind.example\",\"A name\nover two lines\",,,,,,,\n"                      -- 6-7
    .. "noname@northwind.example,,,,,,,,\n"                                                   -- 8
    .. "orphan@northwind.example,Orphan,,,,,nobody@northwind.example,,\n"                      -- 9
    .. "dated@northwind.example,Dated Again,,,,,,,\n"                                         -- 10
    .. "\n"                                                                                   -- 11 (blank)
    .. "kind@northwind.example,Kind,,,,,,,contractor\n"                                       -- 12
    .. "self@northwind.example,Self,,,,,self@northwind.example,,\n", true)                     -- 13
  t.status(res, 200)
  local r = res.json
  t.eq(r.ok, false)
  t.same(where(r), { "2:email", "3:hire_date", "4:roles", "5:-", "6:name", "8:name", "9:manager_email",
    "10:email", "12:kind", "13:manager_email" })
  t.eq(r.problems_total, 10)
  t.contains(r.problems[4].message, "has 2 fields; the header has 9")
  t.contains(r.problems[3].message, "Chief Wizard")
  t.contains(r.problems[7].message, "nobody@northwind.example")
  t.contains(r.problems[8].message, "already on line 3")
end)

t.test("a file that is not valid CSV, or has unknown columns, is refused with the line", function()
  local res = csv(hr, "email,name\nok@northwind.example,Fine\nbad@northwind.example,Say \"hi\"\n", true)
  t.status(res, 200)
  t.same(where(res.json), { "3:-" })
  t.contains(res.json.problems[1].message, "not valid CSV")
  local open = csv(hr, "email,name\n\"open@northwind.example,Never closed\n", true)
  t.same(where(open.json), { "2:-" })
  local cols = csv(hr, "email,name,manger_email\nx@northwind.example,X,\n", true)
  t.same(where(cols.json), { "1:manger_email" })
  t.contains(cols.json.problems[1].message, "Unknown column")
  local none = csv(hr, "name\nX\n", true)
  t.same(where(none.json), { "1:email" })
  local bom = csv(hr, "\239\187\191email,name\r\nbom@northwind.example,Bom\r\n", true)
  t.eq(bom.json.ok, true, "a byte order mark is fine")
  t.eq(bom.json.created, 1)
end)

t.test("the old single Admin role is mapped: alone to Tech Admin + HR Assistant, with HR Admin to a super user", function()
  t.no(authz.check(P.ethan.id, "review_cycles.manage"), "Ethan holds no role yet")
  local res = run(super, "email,name,roles\n"
    .. "old.admin@northwind.example,Old Admin,Admin\n"
    .. "old.super@northwind.example,Old Super,HR Admin;Admin\n"
    .. demo.email("ethan") .. ",,hr assistant\n")
  t.eq(res.record.counts.roles_granted, 5)
  t.same(roles_of(user("old.admin@northwind.example").id), { "hr_assistant", "tech_admin" })
  t.same(roles_of(user("old.super@northwind.example").id), { "hr_admin", "tech_admin" })
  t.same(roles_of(P.ethan.id), { "hr_assistant" })
  t.contains(res.json.report.notes[1].message, "HR Assistant + Tech Admin")
  t.eq(res.record.notes[1].line, 2, "the record keeps the notes")
  -- the evaluator knows the new roles at once
  t.ok(authz.check(P.ethan.id, "review_cycles.manage"), "Ethan may now run cycles")
end)

t.test("roles are granted only as far as the importer may grant them; the rest is reported", function()
  -- an HR Admin grants HR roles but not Tech Admin
  local res = run(hr, "email,name,roles\n"
    .. "nat.hr@northwind.example,Nat HR,HR Assistant\n"
    .. "olly.tech@northwind.example,Olly Tech,Tech Admin; HR Admin\n")
  t.eq(res.json.report.ok, true)
  t.eq(res.record.counts.roles_granted, 2)
  t.eq(res.json.report.roles_skipped, 1)
  t.same(roles_of(user("nat.hr@northwind.example").id), { "hr_assistant" })
  t.same(roles_of(user("olly.tech@northwind.example").id), { "hr_admin" })
  t.eq(res.json.report.notes[1].line, 3)
  t.contains(res.json.report.notes[1].message, "Tech Admin was not granted")
  -- a Tech Admin may import people but grants no roles at all
  local res2 = run(tech, "email,name,roles\npia.t@northwind.example,Pia T,HR Assistant\n")
  t.eq(res2.record.counts.created, 1)
  t.eq(res2.json.report.roles_skipped, 1)
  t.same(roles_of(user("pia.t@northwind.example").id), {})
  -- granting HR Admin to someone who is HR Assistant: allowed, and called redundant
  local res3 = run(hr, "email,roles\nnat.hr@northwind.example,HR Admin\n")
  t.same(roles_of(user("nat.hr@northwind.example").id), { "hr_admin", "hr_assistant" })
  t.contains(res3.json.report.notes[1].message, "redundant")
end)

t.test("guests come in as guests with an external address; a company address is refused", function()
  run(hr, "email,name,kind\nrita@partner.example,Rita Partner,guest\n")
  t.eq(user("rita@partner.example").kind, "guest")
  local bad = csv(hr, "email,name,kind,manager_email\n"
    .. "inside@northwind.example,Inside,guest,\n"
    .. "outside@partner.example,Outside,guest," .. demo.email("olivia") .. "\n", true)
  t.same(where(bad.json), { "2:email", "3:manager_email" })
  local turn = csv(hr, "email,kind\n" .. demo.email("zoe") .. ",guest\n", true)
  t.same(where(turn.json), { "2:kind" })
end)

t.test("all or nothing: one bad row and nothing is imported", function()
  local before = count()
  local res = csv(hr, "email,name\ngood.one@northwind.example,Good One\nbad-email,Bad\ngood.two@northwind.example,Good Two\n")
  t.status(res, 422)
  t.eq(res.json.error.details.problems[1].line, 3)
  t.eq(count(), before)
  t.no(user("good.one@northwind.example"))
end)

t.test("a change refused while the import runs is reported with its line; the rest is imported", function()
  local audits = imports()
  local listener = function(e)
    if e.person_id == P.mia.id then require("lib.errors").conflict("The reviews service refused the move.") end
  end
  events.hook("person.manager_changed", listener)
  local res = run(hr, "email,name,manager_email\n"
    .. "tia.new@northwind.example,Tia New," .. demo.email("daniel") .. "\n"
    .. demo.email("mia") .. ",," .. demo.email("sofia") .. "\n")
  events.unhook("person.manager_changed", listener)
  t.eq(res.record.counts.created, 1)
  t.eq(res.record.counts.managers_set, 1)
  t.eq(res.record.problems_total, 1)
  t.eq(res.record.problems[1].line, 3)
  t.contains(res.record.problems[1].message, "refused the move")
  t.eq(user(demo.email("mia")).manager_id, P.ravi.id, "Mia kept her manager")
  t.eq(user("tia.new@northwind.example").manager_id, P.daniel.id)
  t.eq(authz.relation(P.daniel.id, P.mia.id), "indirect_manager", "the evaluator kept Mia under Ravi")
  t.eq(authz.relation(P.daniel.id, user("tia.new@northwind.example").id), "direct_manager")
  t.eq(db.value("SELECT count(*) FROM audit_log WHERE action = 'user.manager' AND target_id = ?", P.mia.id), 0,
    "no entry for the change that did not happen")
  t.eq(imports(), audits + 1)
end)

t.test("an HR Assistant may not import; a Tech Admin and an HR Admin may", function()
  local res = csv(assistant, "email,name\nnope@northwind.example,Nope\n", true)
  t.status(res, 403)
  t.contains(res.json.error.message, "HR Admin")
  t.status(assistant:get("/people/import"), 403)
  t.no(user("nope@northwind.example"))
  t.status(csv(tech, "email,name\nyes@northwind.example,Yes\n", true), 200)
  t.status(hr:get("/people/import"), 200)
  local wrong_type = hr:request("POST", "/api/users/import",
    { body = "email\n", headers = { ["content-type"] = "application/json" } })
  t.status(wrong_type, 415)
end)

t.test("the page checks the text first, then imports it when confirmed", function()
  local form = hr:get("/people/import")
  t.status(form, 200)
  t.contains(form.body, 'name="csv"')
  t.not_contains(form.body, 'name="confirm" value="1"')
  local text = "email,name,department\numa.page@northwind.example,Uma Page,Finance\n"
  local checked = hr:follow(hr:form("/people/import", { csv = text, confirm = "0" }))
  t.status(checked, 200)
  t.contains(checked.body, "Ready to import")
  t.contains(checked.body, 'name="confirm" value="1"')
  t.contains(checked.body, "uma.page@northwind.example")
  t.no(user("uma.page@northwind.example"), "checking changes nothing")
  local done = hr:form("/people/import", { csv = text, confirm = "1" })
  t.status(done, 303)
  local at = done.headers.location
  t.match(at, "^/people/import/%d+$")
  t.no(user("uma.page@northwind.example"), "the import runs in the background")
  local starting = hr:get(at)
  t.contains(starting.body, "Starting…", "before the run counted its changes")
  t.not_contains(starting.body, "0 of 0 changes")
  t.contains(starting.body, "Nothing has changed yet")
  t.contains(starting.body, "Counting the changes…")
  t.contains(starting.body, 'data-refresh="2000"')
  t.advance("1s")
  local finished = hr:get(at).body
  t.contains(finished, "Done")
  t.not_contains(finished, "data-refresh")
  t.eq(user("uma.page@northwind.example").department, "Finance")
  -- past imports are listed on the import page
  t.contains(hr:get("/people/import").body, 'href="' .. at .. '"')
  local bad = hr:follow(hr:form("/people/import", { csv = "email,name\nbroken,X\n", confirm = "0" }))
  t.status(bad, 200)
  t.contains(bad.body, "email,name\nbroken,X", "the pasted text stays")
  t.contains(bad.body, "is not an email address")
  t.not_contains(bad.body, 'name="confirm" value="1"')
  -- the admin overview links to it
  t.contains(hr:get("/admin").body, 'href="/people/import"')
end)

t.test("a running import shows how many of its changes are made; before it counted them, that it is starting", function()
  local text = "email,name\nvera.run@northwind.example,Vera Run\nwes.run@northwind.example,Wes Run\n"
  local at = hr:form("/people/import", { csv = text, confirm = "1" }).headers.location
  local id = tonumber(at:match("%d+$"))
  local page = hr:get(at).body
  t.contains(page, "Starting…")
  t.not_contains(page, "Running")
  t.not_contains(page, "of 0 changes")
  db.exec("UPDATE imports SET phase = 'people', done = 1, total = 2 WHERE id = ?", id) -- as a run half way
  page = hr:get(at).body
  t.contains(page, "Running")
  t.contains(page, "1 of 2 changes")
  t.contains(page, "50%")
  t.not_contains(page, "Starting…")
  t.not_contains(page, "Nothing has changed yet")
  db.exec("UPDATE imports SET done = 0, total = 0 WHERE id = ?", id)
  t.advance("1s")
  page = hr:get(at).body
  t.contains(page, "Done")
  t.not_contains(page, "Starting…")
  t.eq(user("wes.run@northwind.example").name, "Wes Run")
end)

t.test("an import whose file changes nothing says so when done, not 0 of 0 changes", function()
  local u = user("vera.run@northwind.example") or user(demo.email("zoe"))
  local text = ("email,name\n%s,%s\n"):format(u.email, u.name)
  local at = hr:form("/people/import", { csv = text, confirm = "1" }).headers.location
  t.advance("1s")
  local page = hr:get(at).body
  t.contains(page, "Done")
  t.contains(page, "The file held no change")
  t.not_contains(page, "0 of 0 changes")
end)

t.test("10,000 rows are checked and imported in slices that never hold the loop for long", function()
  local lines = { "email,name,job_title,department,location,hire_date,manager_email" }
  local N = 10000
  -- a tree five levels deep: person i reports to person i // 8 (1 to 7 report to Olivia);
  -- listed in reverse, so almost every manager comes after their reports
  for i = N, 1, -1 do
    local mgr = i < 8 and demo.email("olivia") or ("bulk%05d@northwind.example"):format(i // 8)
    lines[#lines + 1] = ("bulk%05d@northwind.example,Bulk Person %d,Engineer,Dept %d,Berlin,2025-01-%02d,%s")
      :format(i, i, i % 40, i % 28 + 1, mgr)
  end
  local text = table.concat(lines, "\n") .. "\n"
  local import = require "services.import"
  local timer = require "core.timer"
  local hr_user = db.row("SELECT * FROM users WHERE id = ?", P.marcus.id)
  -- every pause lets the loop serve others: the longest stretch between two is what a request
  -- waits (measured in this process's CPU time, so that other programs on a busy machine do not
  -- count)
  local function cpu_ms() return os.clock() * 1000 end
  -- the stretches include the garbage collector's pauses, which grow with the heap: start from
  -- this file's own, not from what the scenario files run before it in this process left
  collectgarbage("collect")
  local yield, last, longest, pauses = timer.yield, cpu_ms(), 0, 0
  timer.yield = function()
    local now = cpu_ms()
    longest, pauses = math.max(longest, now - last), pauses + 1
    local r = yield()
    last = cpu_ms()
    return r
  end
  local ok, err = pcall(function()
    local t0 = clock.mono_ms()
    last = cpu_ms()
    local dry = import.check(hr_user, text)
    local t1 = clock.mono_ms()
    t.eq(dry.ok, true, dry.problems[1] and dry.problems[1].message)
    t.eq(dry.created, N)
    local report, id = import.start(hr_user, text, { via = "api" })
    t.eq(report.ok, true)
    local imp = import.execute(id)
    local t2 = clock.mono_ms()
    t.eq(imp.status, "done", imp.error)
    t.eq(imp.report.counts.created, N)
    t.eq(imp.report.counts.managers_set, N)
    t.eq(imp.done, imp.total)
    print(("      10,000 rows (%d KB): check %d ms, import %d ms, %d pauses, longest stretch %.1f ms"):format(#text // 1024,
      t1 - t0, t2 - t1, pauses, longest))
    t.ok(longest < 50, ("the loop was held for %.1f ms"):format(longest))
  end)
  timer.yield = yield
  if not ok then error(err, 0) end
  t.eq(db.value("SELECT count(*) FROM users WHERE email LIKE 'bulk%'"), N)
  local leaf = user("bulk09999@northwind.example")
  t.eq(leaf.manager_id, user("bulk01249@northwind.example").id)
  t.contains(authz.reports(P.olivia.id, false), leaf.id, "the whole chain is in the evaluator")
  t.eq(db.value([[SELECT count(*) FROM audit_log WHERE action = 'user.create' AND details LIKE '%"via":"import"%'
    AND target_id IN (SELECT id FROM users WHERE email LIKE 'bulk%')]]), N, "one user.create per person")
  t.eq(db.value("SELECT count(*) FROM audit_log WHERE action = 'user.manager' AND target_id IN "
    .. "(SELECT id FROM users WHERE email LIKE 'bulk%')"), N, "one user.manager per reporting line")
end)

t.test("the check of a one-row file counts in the singular: 1 row, 1 new person, 1 role granted", function()
  local back = t.status(super:follow(super:form("/people/import", { csv = HEADER
    .. "solo.person@northwind.example,Ömer Solo,Engineer,Engineering,Berlin,,ravi.shankar@northwind.example,HR Assistant,employee\n" })), 200).body
  t.contains(back, '<div class="stat-value">1</div><div class="stat-label">row</div>')
  t.contains(back, '<div class="stat-value">1</div><div class="stat-label">new person</div>')
  t.contains(back, '<div class="stat-value">1</div><div class="stat-label">reporting line set</div>')
  t.contains(back, '<div class="stat-value">1</div><div class="stat-label">role granted</div>')
  t.contains(back, '<div class="stat-value">0</div><div class="stat-label">roles you cannot grant (skipped)</div>')
  t.eq(user("solo.person@northwind.example"), nil, "a check changes nothing")
end)
