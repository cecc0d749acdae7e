-- A run of the SFTP feed takes the newest matching file of the drop folder through the people
-- import (same checks, same record, same audit entries), moves it to done/ so it is never read
-- twice, and deactivates the employees missing from it — unless the file is empty, broken or
-- would deactivate too many people: then nothing changes, the file moves to failed/ and the Tech
-- Admins get a mail.
local t = require "testing"
local demo = require "demo"
local db = require "lib.db"
local feed = require "services.feed"
local F = dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "_feed.lua")

local P = t.demo()

-- A fresh folder and a feed owned by Tom (Tech Admin) reading it; returns Tom's client and dir.
local function setup(more)
  local dir = F.folder()
  F.reset()
  local tom = t.login(demo.email("tom"))
  local body = { folder = dir }
  for k, v in pairs(more or {}) do body[k] = v end
  F.put(tom, body)
  return tom, dir
end

local function count(sql, ...) return db.value(sql, ...) end

t.test("a run imports the file through the people import and moves it to done/", function()
  local tom, dir = setup()
  F.write(dir, "people.csv", F.file({}, { "new.hire@northwind.example,New Hire,Engineer" }))
  local run = F.run(tom)
  t.eq(run.status, "done", run.error)
  t.eq(run.counts.created, 1)
  t.eq(run.rows, count("SELECT count(*) FROM users WHERE kind = 'employee' AND status <> 'deactivated'"))
  local u = db.row("SELECT * FROM users WHERE email = 'new.hire@northwind.example'")
  t.eq(u.name, "New Hire")
  t.eq(u.job_title, "Engineer")
  t.same(F.files(dir), { "done" }, "the file left the folder")
  local done = F.files(dir, "done")
  t.eq(#done, 1)
  t.match(done[1], "^%d+T%d+Z%-people%.csv$")
  t.eq(run.moved_to, "done/" .. done[1])
  local imp = t.status(tom:get(run.import_url), 200).json
  t.eq(imp.via, "sftp")
  t.eq(imp.status, "done")
  t.eq(imp.started_by, demo.email("tom"), "with the owner's rights")
  t.eq(count("SELECT count(*) FROM audit_log WHERE action = 'user.create' AND target_id = ?", u.id), 1,
    "the person is created by the import's own function, logged as every import")
  local entry = db.row("SELECT * FROM audit_log WHERE action = 'sftp.run' ORDER BY id DESC LIMIT 1")
  t.eq(entry.target_id, run.id)
  t.contains(entry.details, "people.csv")
  F.cleanup()
end)

t.test("a file is never imported twice: the next run finds nothing", function()
  local tom, dir = setup()
  F.write(dir, "people.csv", F.file({}, { "twice.one@northwind.example,Twice One," }))
  t.eq(F.run(tom).status, "done")
  local runs = count("SELECT count(*) FROM feed_runs")
  local imports = count("SELECT count(*) FROM imports")
  t.status(tom:post("/api/integrations/sftp/run", {}), 202)
  t.advance("1s")
  t.eq(count("SELECT count(*) FROM feed_runs"), runs, "no file, no run")
  t.eq(count("SELECT count(*) FROM imports"), imports)
  t.eq(#F.files(dir, "done"), 1)
  F.cleanup()
end)

t.test("a file changed less than a minute ago may still be arriving: it is read once it has settled", function()
  local tom, dir = setup()
  feed.SETTLE_S = 60
  F.write(dir, "people.csv", F.file({}, { "still.arriving@northwind.example,Still Arriving," }))
  local runs, imports = count("SELECT count(*) FROM feed_runs"), count("SELECT count(*) FROM imports")
  t.status(tom:post("/api/integrations/sftp/run", {}), 202)
  t.advance("1s")
  t.eq(count("SELECT count(*) FROM feed_runs"), runs, "no run is recorded while the file may grow")
  t.eq(count("SELECT count(*) FROM imports"), imports, "nothing is imported")
  t.same(F.files(dir), { "people.csv" }, "the file stays where it is")
  t.eq(count("SELECT count(*) FROM users WHERE email = 'still.arriving@northwind.example'"), 0)
  local due = count("SELECT count(*) FROM jobs WHERE kind = ?", feed.JOB)
  t.ok(due >= 1, "another look is planned")
  feed.SETTLE_S = 0 -- the file has now stayed unchanged long enough
  t.advance("61s")
  t.eq(count("SELECT count(*) FROM feed_runs"), runs + 1, "the later look reads it")
  t.eq(F.get(tom).runs[1].status, "done")
  t.eq(count("SELECT count(*) FROM users WHERE email = 'still.arriving@northwind.example'"), 1)
  t.same(F.files(dir), { "done" })
  F.cleanup()
end)

t.test("of several files the newest is read; the older ones move to skipped/ unread", function()
  local tom, dir = setup()
  F.write(dir, "a-monday.csv", F.file({}, { "older.file@northwind.example,Older File," }))
  F.write(dir, "b-tuesday.csv", F.file({}, { "newer.file@northwind.example,Newer File," }))
  F.write(dir, "notes.txt", "not a people file")
  local run = F.run(tom)
  t.eq(run.file, "b-tuesday.csv")
  t.eq(run.counts.skipped, 1)
  t.ok(F.status("newer.file@northwind.example"))
  t.no(F.status("older.file@northwind.example"), "the older file was not imported")
  t.eq(#F.files(dir, "skipped"), 1)
  t.same(F.files(dir), { "done", "notes.txt", "skipped" }, "files that do not match the pattern stay")
  F.cleanup()
end)

t.test("employees missing from the file are deactivated; guests and the feed's owner never", function()
  local tom, dir = setup()
  F.write(dir, "people.csv", F.file({ demo.email("oscar"), demo.email("yara"), demo.email("tom") }))
  t.eq(F.status(demo.email("oscar")), "active")
  local run = F.run(tom)
  t.eq(run.status, "done", run.error)
  t.eq(run.counts.deactivated, 2)
  t.eq(F.status(demo.email("oscar")), "deactivated")
  t.eq(F.status(demo.email("yara")), "deactivated")
  t.eq(F.status(demo.email("tom")), "active", "the owner is never deactivated by their own feed")
  t.eq(F.status("alex.morgan@clientcorp.example"), "active", "guests are not in HR files and stay")
  local entry = db.row("SELECT * FROM audit_log WHERE action = 'user.deactivate' AND target_id = ?", P.oscar.id)
  t.eq(entry.actor_id, P.tom.id, "deactivated by the one-by-one action, with the owner's rights")
  -- back for the next tests
  local hr = t.login(demo.email("marcus"))
  F.put(tom, { enabled = false })
  t.status(hr:post("/api/users/" .. P.oscar.id .. "/reactivate", {}), 200)
  t.status(hr:post("/api/users/" .. P.yara.id .. "/reactivate", {}), 200)
  F.cleanup()
end)

t.test("with deactivation turned off, people missing from the file stay active", function()
  local tom, dir = setup({ deactivate_missing = false })
  F.write(dir, "people.csv", F.file({ demo.email("oscar") }))
  local run = F.run(tom)
  t.eq(run.status, "done")
  t.eq(run.counts.deactivated, 0)
  t.eq(F.status(demo.email("oscar")), "active")
  F.cleanup()
end)

t.test("a file that would deactivate more than the safety share is refused and changes nothing", function()
  local tom, dir = setup()
  local everyone = db.column("SELECT email FROM users WHERE kind = 'employee' AND status <> 'deactivated' ORDER BY id")
  local leave = {}
  for i = 1, math.floor(#everyone * feed.MAX_SHARE) + 2 do
    if everyone[i] ~= demo.email("tom") then leave[#leave + 1] = everyone[i] end
  end
  F.write(dir, "people.csv", F.file(leave, { "should.not.exist@northwind.example,Should Not,Exist" }))
  local before = count("SELECT max(id) FROM audit_log")
  local outbox = #t.outbox()
  local run = F.run(tom)
  t.eq(run.status, "failed")
  t.contains(run.error, "would deactivate " .. #leave .. " of " .. #everyone)
  t.eq(run.counts.would_deactivate, #leave)
  t.eq(count("SELECT count(*) FROM users WHERE status = 'deactivated' AND email IN (" .. ("?,"):rep(#leave):sub(1, -2)
    .. ")", table.unpack(leave)), 0, "nobody deactivated")
  t.no(F.status("should.not.exist@northwind.example"), "nothing imported either")
  t.eq(run.import_id, require("lib.json").null)
  t.same(F.files(dir), { "failed" })
  t.eq(#F.files(dir, "failed"), 1)
  t.same(db.column("SELECT action FROM audit_log WHERE id > ? ORDER BY id", before),
    { "sftp.run_requested", "sftp.run_failed" }, "only the request and the run's own entry")
  t.eq(count("SELECT count(*) FROM audit_log WHERE action = 'sftp.run_failed' AND target_id = ?", run.id), 1)
  local mails = t.outbox()
  t.ok(#mails > outbox, "the Tech Admins are told")
  local last = mails[#mails]
  t.contains(last.subject, "automatic people import failed")
  F.cleanup()
end)

t.test("an empty file, a header without people and a broken file change nothing", function()
  local tom, dir = setup()
  for _, case in ipairs({
    { "empty.csv", "", "empty" },
    { "header.csv", "email,name\n", "no people" },
    { "broken.csv", "email,name\n\"unterminated,Someone\n", "not valid CSV" },
    { "columns.csv", "mail,fullname\nx@northwind.example,X\n", "Unknown column" },
  }) do
    F.write(dir, case[1], case[2])
    local run = F.run(tom)
    t.eq(run.file, case[1])
    t.eq(run.status, "failed", case[1])
    t.contains(run.error, case[3])
    t.eq(count("SELECT count(*) FROM users WHERE status = 'deactivated' AND kind = 'employee'"), 0, case[1])
  end
  t.eq(#F.files(dir, "failed"), 4)
  F.cleanup()
end)

t.test("a file with a row the owner may not change is refused whole, as the manual import would be", function()
  local tom, dir = setup()
  -- Tech Admins may not move someone already in Candor to another manager
  local lines = { "email,name,manager_email" }
  for _, u in ipairs(db.query("SELECT email FROM users WHERE kind = 'employee' AND status <> 'deactivated' ORDER BY id")) do
    if u.email ~= demo.email("zoe") then lines[#lines + 1] = u.email .. ",," end
  end
  lines[#lines + 1] = demo.email("zoe") .. ",," .. demo.email("emma")
  lines[#lines + 1] = "refused.new@northwind.example,Refused New,"
  F.write(dir, "people.csv", table.concat(lines, "\n") .. "\n")
  local run = F.run(tom)
  t.eq(run.status, "failed")
  t.contains(run.error, "reporting line of someone already in Candor")
  t.eq(db.value("SELECT manager_id FROM users WHERE id = ?", P.zoe.id), P.lucas.id)
  t.no(F.status("refused.new@northwind.example"))
  F.cleanup()
end)

t.test("when its owner is no Tech Admin any more the feed stops and says who can take it over", function()
  local tom, dir = setup()
  local priya = t.login(demo.email("priya"))
  t.status(priya:put("/api/users/" .. P.tom.id .. "/roles", { roles = {} }), 200)
  F.write(dir, "people.csv", F.file({}, { "owner.gone@northwind.example,Owner Gone," }))
  local run = F.run(priya)
  t.eq(run.status, "failed")
  t.contains(run.error, "saves its settings again")
  t.no(F.status("owner.gone@northwind.example"))
  t.status(priya:put("/api/users/" .. P.tom.id .. "/roles", { roles = { "tech_admin" } }), 200)
  F.cleanup()
  t.ok(tom)
end)

t.test("while on, Candor looks in the folder on schedule; while off it does not", function()
  local tom, dir = setup({ enabled = true, frequency = "hourly" })
  local s = F.get(tom)
  t.ok(s.next_run_at ~= require("lib.json").null)
  F.write(dir, "hourly.csv", F.file({}, { "scheduled.one@northwind.example,Scheduled One," }))
  t.advance("61m")
  tom = t.login(demo.email("tom"))
  t.eq(F.status("scheduled.one@northwind.example"), "invited")
  local run = F.get(tom).runs[1]
  t.eq(run.trigger, "schedule")
  F.put(tom, { enabled = false })
  F.write(dir, "hourly2.csv", F.file({}, { "scheduled.two@northwind.example,Scheduled Two," }))
  t.advance("2h")
  tom = t.login(demo.email("tom"))
  t.no(F.status("scheduled.two@northwind.example"), "off: no run")
  t.eq(F.get(tom).next_run_at, require("lib.json").null)
  F.cleanup()
end)

t.test("daily runs happen at the chosen hour of company time", function()
  local now = t.now()
  local tom = setup({ enabled = true, frequency = "daily", hour = 23 })
  local at = feed.next_run_at()
  t.ok(at > now and at <= now + 86400)
  t.eq(os.date("!%H", at), "23", "the demo company's zone is UTC")
  F.put(tom, { enabled = false })
  F.cleanup()
end)

t.test("a folder that is missing, not a folder, relative, with .. in it or Candor's own is refused and nothing is saved", function()
  local tom, dir = setup()
  F.write(dir, "a-file.csv", "x")
  for _, case in ipairs({
    { "/tmp/candor-no-such-folder-" .. os.time(), "no folder" },
    { dir .. "/a-file.csv", "is not a folder" },
    { "relative/path", "full path" },
    { dir .. "/../etc", "without \"..\"" },
    -- Candor's own code (its files would be moved away), whatever the path is written as
    { (function()
        local code = package.searchpath("app", package.path):match("^(.*)/[^/]+$")
        return (code:sub(1, 1) == "/" and code or os.getenv("PWD") .. "/" .. code) .. "/"
      end)(), "Candor's own folders" },
    { "", nil },
  }) do
    local res = t.status(tom:put("/api/integrations/sftp", { enabled = true, folder = case[1] }), 422)
    if case[2] then t.contains(res.json.error.fields.folder, case[2]) end
  end
  local s = F.get(tom)
  t.eq(s.folder, dir)
  t.eq(s.enabled, false)
  local bad = t.status(tom:put("/api/integrations/sftp", { pattern = "../*.csv" }), 422)
  t.ok(bad.json.error.fields.pattern)
  t.status(tom:put("/api/integrations/sftp", { frequency = "weekly" }), 422)
  t.status(tom:put("/api/integrations/sftp", { hour = 24 }), 422)
  -- the page keeps what was typed and says why
  local res = t.status(tom:form("/admin/integrations/sftp", { folder = "relative/x", pattern = "*.csv",
    frequency = "daily", hour = "2", csrf_token = tom.csrf }), 303)
  local page = tom:follow(res)
  t.contains(page.body, "relative/x")
  t.contains(page.body, "full path")
  t.eq(F.get(tom).folder, dir)
  F.cleanup()
end)

t.test("a run cut off by a stop of Candor is marked failed at the next look, saying what became of it", function()
  local tom = setup()
  local id = db.insert([[INSERT INTO feed_runs(trigger, owner_id, file, status, started_at)
    VALUES('schedule', ?, 'cut.csv', 'running', ?)]], P.tom.id, t.now())
  t.status(tom:post("/api/integrations/sftp/run", {}), 202)
  t.advance("1s")
  local run = feed.run(id)
  t.eq(run.status, "failed")
  t.eq(run.error, feed.CUT_OFF)
  t.ok(run.finished_at)
  F.cleanup()
end)

t.test("the Tech Admin who asks for a run is not deactivated by it either", function()
  local tom, dir = setup()
  local priya = t.login(demo.email("priya"))
  t.status(priya:put("/api/users/" .. P.david.id .. "/roles", { roles = { "tech_admin" } }), 200)
  local david = t.login(demo.email("david"))
  F.write(dir, "people.csv", F.file({ demo.email("david"), demo.email("oscar") }))
  local run = F.run(david)
  t.eq(run.status, "done", run.error)
  t.eq(run.counts.deactivated, 1, "Oscar only")
  t.eq(F.status(demo.email("oscar")), "deactivated")
  t.eq(F.status(demo.email("david")), "active")
  t.status(priya:put("/api/users/" .. P.david.id .. "/roles", { roles = {} }), 200)
  t.status(priya:post("/api/users/" .. P.oscar.id .. "/reactivate", {}), 200)
  t.ok(tom)
  F.cleanup()
end)

t.test("when the file cannot be moved out of the way, nothing is imported and the run says why", function()
  local tom, dir = setup()
  F.write(dir, "done", "a file where the done/ folder should be")
  F.write(dir, "people.csv", F.file({}, { "cannot.move@northwind.example,Cannot Move," }))
  local run = F.run(tom)
  t.eq(run.status, "failed")
  t.contains(run.error, "Candor cannot move the file: cannot move")
  t.contains(run.error, "Nothing was imported.")
  t.no(F.status("cannot.move@northwind.example"))
  t.same(F.files(dir), { "done", "people.csv" }, "the file stays for the next run")
  F.cleanup()
end)

t.test("the done/ folder Candor makes is at most rwxr-x--- (Lua has no octal literals: 0750 would be 750)", function()
  local fs = require "core.fs"
  local tom, dir = setup()
  F.write(dir, "people.csv", F.file())
  t.eq(F.run(tom).status, "done")
  local mode = fs.stat(dir .. "/done").mode
  t.eq(mode & 448, 448, "the owner may read, write and enter it")
  t.eq(mode & ~488, 0, "nothing beyond 0750 (no sticky bit, nothing for others)")
  F.cleanup()
end)
