-- The one job queue (lib/jobs.lua, core/scheduler.c): each kind of job brings its retry table and
-- its lane; a failed attempt is planned from the table and the kind's on_fail sees it in the same
-- transaction; a handler can say its whole lane is down; a coalescing key keeps one job at the
-- earlier time; lanes run at once, so a job that waits holds only its own lane; a job claimed by
-- a process that is gone runs again.
local t = require "testing"
local app = require "app"
local db = require "lib.db"
local jobs = require "lib.jobs"
local clock = require "core.clock"
local sched = require "core.sched"
local timer = require "core.timer"

local DEAD_PROCESS = "2147483000.1" -- no such process runs

local runs = {}      -- kind -> list of { at =, payload = } for every run
local failures = {}  -- kind -> list of { attempts =, retry_at =, deferred = }
local behaviour = {} -- kind -> "fail" | "down" | "ok" | ms to wait

local function kind(name, opts)
  runs[name], failures[name] = {}, {}
  opts = opts or {}
  opts.on_fail = function(_, job, err, retry_at)
    local list = failures[name]
    list[#list + 1] = { attempts = job.attempts, retry_at = retry_at, deferred = type(err) == "table" and err.deferred,
      message = type(err) == "table" and err.message or tostring(err) }
  end
  app.on_job(name, function(payload, job)
    local list = runs[name]
    local run = { at = clock.now(), payload = payload, id = job.id, started = clock.mono_ms() }
    list[#list + 1] = run
    local b = behaviour[name]
    if type(b) == "number" then timer.sleep(b) end
    run.ended = clock.mono_ms()
    if b == "fail" then error("the far side said no") end
    if b == "down" then jobs.lane_down("the far side is down") end
  end, opts)
end

kind("test.tabled", { retry = { 10, 20, 40 }, attempts = 4 })
kind("test.default")
kind("test.daylong", { retry = { 3600 }, give_up_after = 4 * 3600 })
kind("test.mail_like", { retry = { 60 }, attempts = 3, lane = "test-mail" })
kind("test.per_hook", { retry = { 30 }, attempts = 5, lane = function(p) return "test-hook:" .. p.hook end })

local function jobs_of(name) return db.value("SELECT count(*) FROM jobs WHERE kind = ?", name) end

t.test("a kind's retry table plans each next attempt; after the last one the job is given up", function()
  behaviour["test.tabled"] = "fail"
  local start = t.now()
  app.schedule(start, "test.tabled", { n = 1 })
  t.advance("1h")
  local at = {}
  for i, r in ipairs(runs["test.tabled"]) do at[i] = r.at - start end
  t.same(at, { 0, 10, 30, 70 }, "waits of 10, 20, then 40 seconds")
  local f = failures["test.tabled"]
  t.eq(#f, 4, "on_fail saw every failed attempt")
  t.eq(f[1].retry_at, start + 10)
  t.eq(f[3].retry_at, start + 70)
  t.eq(f[4].retry_at, nil, "the fourth was the last")
  t.eq(jobs_of("test.tabled"), 0)
end)

t.test("a kind without a table waits 30 s doubling to an hour, and gives up after 9 attempts", function()
  behaviour["test.default"] = "fail"
  local start = t.now()
  app.schedule(start, "test.default", {})
  t.advance("1d")
  local at = {}
  for i, r in ipairs(runs["test.default"]) do at[i] = r.at - start end
  t.same(at, { 0, 30, 90, 210, 450, 930, 1890, 3810, 7410 })
  t.eq(jobs_of("test.default"), 0)
end)

t.test("give_up_after: no attempt later than that after the job was planned", function()
  behaviour["test.daylong"] = "fail"
  local start = t.now()
  app.schedule(start, "test.daylong", {})
  t.advance("1d")
  t.eq(#runs["test.daylong"], 5, "at 0, 1, 2, 3 and 4 hours")
  t.eq(runs["test.daylong"][5].at - start, 4 * 3600)
  t.eq(failures["test.daylong"][5].retry_at, nil)
end)

t.test("a job that succeeds after failures is done; its attempts were counted", function()
  behaviour["test.tabled"] = "fail"
  runs["test.tabled"], failures["test.tabled"] = {}, {}
  local id = app.schedule(t.now(), "test.tabled", {}, "tabled:once")
  t.advance("15s")
  t.eq(db.value("SELECT attempts FROM jobs WHERE id = ?", id), 2)
  t.match(db.value("SELECT last_error FROM jobs WHERE id = ?", id), "the far side said no")
  behaviour["test.tabled"] = "ok"
  t.advance("1m")
  t.eq(#runs["test.tabled"], 3)
  t.eq(jobs_of("test.tabled"), 0)
end)

t.test("lane down: every other due job of the lane counts the same failure without running; other lanes go on", function()
  behaviour["test.mail_like"] = "down"
  behaviour["test.per_hook"] = "ok"
  local now = t.now()
  for i = 1, 3 do app.schedule(now, "test.mail_like", { n = i }) end
  app.schedule(now, "test.per_hook", { hook = 1 })
  t.advance("1s")
  t.eq(#runs["test.mail_like"], 1, "only the first ran")
  local f = failures["test.mail_like"]
  t.eq(#f, 3, "all three counted a failure")
  t.no(f[1].deferred)
  t.ok(f[2].deferred and f[3].deferred)
  t.eq(f[2].message, "the far side is down")
  t.eq(db.value("SELECT count(*) FROM jobs WHERE kind = 'test.mail_like' AND attempts = 1 AND due_ms = ?",
    (now + 60) * 1000), 3, "each waits its own first wait")
  t.eq(#runs["test.per_hook"], 1, "another lane ran")
  behaviour["test.mail_like"] = "ok"
  t.advance("2m")
  t.eq(#runs["test.mail_like"], 4)
  t.eq(jobs_of("test.mail_like"), 0)
end)

t.test("a coalescing key keeps one job at the earlier time; a plain key replaces", function()
  runs["test.per_hook"] = {}
  local now = t.now()
  local a = app.schedule(now + 60, "test.per_hook", { hook = 2, v = 1 }, { coalesce = "hook:2" })
  t.eq(app.schedule(now + 600, "test.per_hook", { hook = 2, v = 2 }, { coalesce = "hook:2" }), a)
  t.eq(db.value("SELECT due_ms FROM jobs WHERE id = ?", a), (now + 60) * 1000, "the later one changed nothing")
  t.eq(app.schedule(now + 30, "test.per_hook", { hook = 2, v = 3 }, { coalesce = "hook:2" }), a)
  t.eq(db.value("SELECT due_ms FROM jobs WHERE id = ?", a), (now + 30) * 1000, "the earlier one won")
  t.eq(db.value("SELECT lane FROM jobs WHERE id = ?", a), "test-hook:2", "the kind's lane, from the payload")
  t.advance("1m")
  t.eq(#runs["test.per_hook"], 1, "one job ran")
  t.eq(runs["test.per_hook"][1].payload.v, 1, "with the payload of the job that stayed")
  local b = app.schedule(now + 600, "test.per_hook", { hook = 2, v = 4 }, "hook:2:plain")
  t.eq(app.schedule(now + 900, "test.per_hook", { hook = 2, v = 5 }, "hook:2:plain"), b)
  t.eq(db.value("SELECT due_ms FROM jobs WHERE id = ?", b), (now + 900) * 1000, "a plain key: the new plan")
  app.cancel_jobs("hook:2:plain")
end)

t.test("lanes run at once: a job that waits holds only its own lane, and its lane's next job waits for it", function()
  runs["test.per_hook"] = {}
  behaviour["test.per_hook"] = 300
  local now = t.now()
  app.schedule(now, "test.per_hook", { hook = 7, n = 1 })
  app.schedule(now, "test.per_hook", { hook = 7, n = 2 })
  app.schedule(now, "test.per_hook", { hook = 8, n = 3 })
  local started = clock.mono_ms()
  t.eq(app.run_due_jobs(), true, "the runner returns at once")
  t.ok(clock.mono_ms() - started < 100, "without waiting for the jobs")
  t.eq(jobs.running(), 2, "two lanes run")
  t.eq(#runs["test.per_hook"], 2, "the first job of each lane started")
  t.eq(app.run_due_jobs(), true)
  t.eq(#runs["test.per_hook"], 2, "the second job of lane 7 waits for the first")
  t.eq(sched.next_due(), nil, "nothing else may start: the host timer sleeps")
  for _ = 1, 100 do
    if jobs.running() == 0 then break end
    timer.sleep(20)
  end
  t.eq(jobs.running(), 0)
  t.eq(#runs["test.per_hook"], 3)
  local r = runs["test.per_hook"]
  t.same({ r[1].payload.n, r[2].payload.n, r[3].payload.n }, { 1, 3, 2 }, "lane 7's first, lane 8's, then lane 7's second")
  t.ok(r[3].started >= r[1].ended, "lane 7's second job started after its first ended")
  t.ok(r[2].started < r[1].ended, "lane 8's job ran while lane 7's first waited")
  behaviour["test.per_hook"] = "ok"
end)

t.test("when every slot is taken the runner says so, and the lanes that wait start as others end", function()
  runs["test.per_hook"] = {}
  behaviour["test.per_hook"] = 100
  local max = jobs.MAX_LANES
  jobs.MAX_LANES = 2
  for i = 1, 3 do app.schedule(t.now(), "test.per_hook", { hook = 100 + i }) end
  t.eq(app.run_due_jobs(), false, "the third lane waits for a slot")
  t.eq(jobs.running(), 2)
  for _ = 1, 100 do
    if jobs.running() == 0 then app.run_due_jobs() end
    if #runs["test.per_hook"] == 3 and jobs.running() == 0 then break end
    timer.sleep(20)
  end
  t.eq(#runs["test.per_hook"], 3)
  jobs.MAX_LANES = max
  behaviour["test.per_hook"] = "ok"
end)

t.test("a job claimed by a process that is gone runs again; one claimed by a live process does not", function()
  runs["test.tabled"] = {}
  behaviour["test.tabled"] = "ok"
  local gone = app.schedule(t.now(), "test.tabled", { who = "gone" })
  local live = app.schedule(t.now(), "test.tabled", { who = "live" }, "tabled:live")
  db.exec("UPDATE jobs SET claimed_by = ? WHERE id = ?", DEAD_PROCESS, gone)
  db.exec("UPDATE jobs SET claimed_by = ?, lane = 'test-other' WHERE id = ?", require("core.host").process(), live)
  t.advance("1s")
  t.eq(#runs["test.tabled"], 0, "a claimed job does not start")
  t.eq(jobs.release(), 1, "what the app does when it starts (and before each run)")
  t.advance("1s")
  t.eq(#runs["test.tabled"], 1)
  t.eq(runs["test.tabled"][1].payload.who, "gone", "released and run again: at least once")
  t.eq(db.value("SELECT count(*) FROM jobs WHERE id = ?", live), 1, "the live claim stands")
  db.exec("DELETE FROM jobs WHERE id = ?", live)
end)

t.test("a kind is declared once, with a table that makes sense", function()
  t.raises(function() app.on_job("test.tabled", function() end) end, "registered twice")
  t.raises(function() app.on_job("test.bad1", function() end, { retry = {} }) end, "retry lists")
  t.raises(function() app.on_job("test.bad2", function() end, { retry = { 0 } }) end, "seconds > 0")
  t.raises(function() app.on_job("test.bad3", function() end, { retry = { 5 } }) end, "give up")
  t.raises(function() app.schedule(t.now(), "test.nobody", {}) end, "no handler")
end)
