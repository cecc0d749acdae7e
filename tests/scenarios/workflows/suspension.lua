-- Customer rules run from jobs, outside transactions, and a saved version whose rule keeps being
-- stopped is suspended instead of being retried forever: the HR Admins are told by mail, the
-- cycles on it keep every mail without a rule. A rule on an event runs from a job queued with
-- the change, so a change that rolls back runs nothing. Compiled versions are kept in a bounded
-- cache whose memory is counted.
local t = require "testing"
local F = dofile("tests/scenarios/workflows/_fixtures.lua")
local wf = require "services.workflows"
local db = require "lib.db"
local events = require "lib.events"
local clock = require "core.clock"

local P = t.demo()
local B = wf.builtin_source("performance_review")
-- Dates counted from today on the test clock: day(n).
local function days()
  local today = clock.now()
  return function(n) return os.date("!%Y-%m-%d", today + n * 86400) end
end

-- The built-in with `only = rule` on the first self-assessment reminder (timeline[3]).
local function with_rule(rule, note)
  local src = B:gsub('only = "self_not_submitted"', function() return "only = " .. rule end, 1)
  return wf.save_version("performance_review", src, note or "with a rule", P.marcus)
end

local function new_cycle(name, people, day)
  local c = F.cycle({ name = name, start_date = day(0), self_due = day(5), manager_due = day(10), sign_due = day(15) })
  local r = F.reviews(c, people)
  wf.start(c, P.marcus)
  t.run_jobs() -- the invitations
  return F.reload(c), r
end

local function version(id) return db.row("SELECT * FROM workflow_versions WHERE id = ?", id) end
local function step_job(c) return db.row("SELECT * FROM jobs WHERE key = ?", ("cycle:%d:wf:step:s3"):format(c.id)) end
local HR_ADMINS = db.column([[SELECT u.email FROM users u JOIN user_roles r ON r.user_id = u.id AND r.role = 'hr_admin'
  WHERE u.status = 'active' ORDER BY u.email]])

t.test("a rule stopped on its job fails the job (tried again later); the third time its version is suspended", function()
  local day = days()
  local v = with_rule("function(r) while r.reviewee.location == 'Remote' do end return true end", "loops on Remote")
  local c = new_cycle("Suspended rule", { zoe = P.zoe, hana = P.hana }, day)
  local before = F.mark()
  t.advance_to(day(2) .. "T09:00:00Z") -- the reminder three days before the self-assessment due date
  local job = step_job(c)
  t.eq(job.attempts, 1, "the job failed once and waits to be tried again")
  t.contains(job.last_error, "timeline[3] only: the script was stopped: it ran longer than its budget")
  t.contains(job.last_error, "stopped 1 time in a row")
  t.eq(version(v.id).failures, 1)
  t.eq(version(v.id).suspended_at, nil)
  t.same(F.to("review.self_reminder", before, c.id), {}, "nobody was reminded by a stopped rule")
  t.advance("30s")
  t.eq(step_job(c).attempts, 2)
  t.eq(version(v.id).failures, 2)
  t.same(F.to("workflow.suspended", before), {}, "not yet")
  t.advance("60s")
  local row = version(v.id)
  t.eq(row.failures, 3)
  t.eq(row.suspended_at, clock.now())
  t.contains(row.last_failure, "it ran longer than its budget")
  t.eq(step_job(c), nil, "the job ended: it is not retried forever")
  t.same(F.to("workflow.suspended", before), HR_ADMINS, "the HR Admins are told")
  local m = t.outbox({ template = "workflow.suspended" })[1]
  t.contains(m.subject, ("version %d"):format(v.id))
  t.contains(m.body_text, "it ran longer than its budget of 5000000 instructions")
  t.contains(m.body_text, "Suspended rule")
  t.contains(m.body_text, ("/admin/workflows/performance_review/versions/%d"):format(v.id))
  t.eq(db.value("SELECT count(*) FROM audit_log WHERE action = 'workflow.suspended' AND target_id = ?", v.id), 1)
  t.same(F.to("review.self_reminder", before, c.id), {})
  local page = t.status(t.login(require("demo").email("marcus")):get(("/admin/workflows/performance_review/versions/%d")
    :format(v.id)), 200)
  t.contains(page.body, "rules are suspended")
  t.contains(page.body, "stopped 3 times in a row")
end)

t.test("on a suspended version the rule no longer runs; every mail without a rule still goes out", function()
  local c = db.row("SELECT * FROM cycles WHERE name = 'Suspended rule'")
  local day = function(n) return os.date("!%Y-%m-%d", c.started_at + n * 86400) end
  local before = F.mark()
  local requests = require("core.sandbox").stats().requests
  t.advance_to(day(6) .. "T10:00:00Z") -- the reminder after the due date has a named filter, no rule
  t.same(F.to("review.self_reminder", before, c.id), F.emails(P.zoe, P.hana))
  local items = wf.dry_run(c.workflow_version_id, F.reload(c))
  local step
  for _, it in ipairs(items) do if it.step == 3 then step = it end end
  t.contains(step.problem, "timeline[3] only: not run: this version's rules are suspended")
  t.eq(require("core.sandbox").stats().requests, requests, "no script ran for the suspended version")
  t.eq(version(c.workflow_version_id).failures, 3, "suspended rules are not counted again")
  wf.use_version("performance_review", 0, P.marcus)
end)

t.test("a rule that runs through again starts its count of stopped runs again", function()
  local day = days()
  local v = with_rule("function(r) while r.reviewee.location == 'Remote' do end return r.self_status ~= 'submitted' end",
    "loops on Remote, second try")
  local c = new_cycle("Recovering rule", { zoe = P.zoe, hana = P.hana }, day)
  local before = F.mark()
  t.advance_to(day(2) .. "T09:00:00Z")
  t.eq(version(v.id).failures, 1)
  db.exec("UPDATE users SET location = 'Berlin' WHERE id = ?", P.hana.id) -- the data it looped on is gone
  t.advance("30s")
  t.eq(version(v.id).failures, 0)
  t.eq(step_job(c), nil)
  t.same(F.to("review.self_reminder", before, c.id), F.emails(P.zoe, P.hana))
  db.exec("UPDATE users SET location = ? WHERE id = ?", P.hana.location, P.hana.id)
  wf.use_version("performance_review", 0, P.marcus)
end)

t.test("a rule on an event runs from a job once the change has committed; a change rolled back runs nothing", function()
  local src = B:gsub('{ on = "review.self_submitted", to = "manager", template = "review.self_submitted" }',
    '{ on = "review.self_submitted", to = "manager", template = "review.self_submitted", '
      .. 'only = function(r) return r.reviewee.department == "Engineering" end }', 1)
  t.neq(src, B)
  local day = days()
  wf.save_version("performance_review", src, "engineering only", P.marcus)
  local c, r = new_cycle("Event rule", { zoe = P.zoe, nina = P.nina }, day)
  local before = F.mark()
  local ok, err = pcall(db.transaction, function()
    events.fire("review.self_submitted", { review_id = r.zoe.id, cycle_id = c.id, actor_id = P.zoe.id })
    error("the submit failed")
  end)
  t.no(ok)
  t.contains(tostring(err), "the submit failed")
  t.eq(db.value("SELECT count(*) FROM jobs WHERE key LIKE ?", ("cycle:%d:wfevent:%%"):format(c.id)), 0)
  db.transaction(function()
    for _, key in ipairs({ "zoe", "nina" }) do
      events.fire("review.self_submitted", { review_id = r[key].id, cycle_id = c.id, actor_id = P[key].id })
    end
  end)
  t.same(F.to("review.self_submitted", before, c.id), {}, "the rule did not run in the event's transaction")
  t.eq(db.value("SELECT count(*) FROM jobs WHERE key LIKE ?", ("cycle:%d:wfevent:%%"):format(c.id)), 2)
  t.advance("1s")
  local zoe_manager = db.row("SELECT email FROM users WHERE id = ?", P.zoe.manager_id)
  t.same(F.to("review.self_submitted", before, c.id), { zoe_manager.email }, "Engineering only: Zoe's manager")
  t.eq(db.value("SELECT count(*) FROM jobs WHERE key LIKE ?", ("cycle:%d:wfevent:%%"):format(c.id)), 0)
  wf.use_version("performance_review", 0, P.marcus)
end)

t.test("compiled versions are kept in a bounded cache (least recently used go first), their memory counted", function()
  local day = days()
  local c = F.cycle({ name = "Cache", start_date = day(0), self_due = day(5), manager_due = day(10), sign_due = day(15) })
  F.reviews(c, { zoe = P.zoe })
  for i = 1, wf.CACHE.versions + 3 do
    local v = with_rule(("function(r) return r.id > %d end"):format(-i), "rule " .. i)
    t.ok(wf.dry_run(v.id, c))
    local st = wf.cache_stats()
    t.ok(st.versions <= wf.CACHE.versions, "versions kept after " .. i .. ": " .. st.versions)
    t.ok(st.memory > 0 and st.memory <= st.max_memory, "memory counted: " .. st.memory)
  end
  local st = wf.cache_stats()
  t.same({ st.versions, st.max_versions, st.max_memory }, { 8, 8, 64 * 1024 * 1024 })
  t.ok(st.memory >= 8 * 20000, "eight sandboxes' memory: " .. st.memory)
  wf.use_version("performance_review", 0, P.marcus)
end)
