-- The 360 cycle's phases and mails are a workflow script (workflows/feedback_360.lua) run by the
-- same engine as reviews: checked in the sandbox against the 360 kind's vocabulary, dry-run,
-- versions pinned by running cycles; batched steps.
local t = require "testing"
local demo = require "demo"
local db = require "lib.db"
local workflows = require "services.workflows"

local P = t.demo()
local function login(key) return t.login(demo.email(key)) end
local builtin = workflows.builtin_source("feedback_360")

t.test("the built-in 360 workflow passes the check; the review workflow's words are refused in it", function()
  t.ok(workflows.validate(builtin, "feedback_360"))
  local bad = builtin:gsub('at = "write_due"', 'at = "self_due"', 1)
  local def, errs = workflows.validate(bad, "feedback_360")
  t.eq(def, nil)
  t.contains(table.concat(errs, " "), 'unknown anchor "self_due"')
  t.contains(table.concat(errs, " "), '"write_due"')
  local wrong_group = builtin:gsub('to = "reviewer", batch', 'to = "managers", batch', 1)
  def, errs = workflows.validate(wrong_group, "feedback_360")
  t.eq(def, nil)
  t.contains(table.concat(errs, " "), 'unknown group "managers"')
  local mismatched = builtin:gsub('to = "reviewers", only = "not_written"', 'to = "reviewers", only = "not_nominated"', 1)
  def, errs = workflows.validate(mismatched, "feedback_360")
  t.eq(def, nil)
  t.contains(table.concat(errs, " "), "the filter \"not_nominated\" is about subjects, but this step is about requests")
  def, errs = workflows.validate(builtin, "performance_review")
  t.eq(def, nil, "the 360 script is not a review workflow")
  t.contains(table.concat(errs, " "), 'unknown anchor "nominate_due"')
end)

t.test("batch is for event steps about single items, in whole minutes up to a day", function()
  local dated = builtin:gsub('at = "write_due", offset = %-3, to = "reviewers"', 'at = "write_due", offset = -3, batch = 60, to = "reviewers"', 1)
  local def, errs = workflows.validate(dated, "feedback_360")
  t.eq(def, nil)
  t.contains(table.concat(errs, " "), "batch gathers the mails of an event about single items")
  local long = builtin:gsub("batch = 60", "batch = 2000", 1)
  def, errs = workflows.validate(long, "feedback_360")
  t.eq(def, nil)
  t.contains(table.concat(errs, " "), "batch must be a whole number of minutes from 1 to 1440")
end)

local cycle

t.test("a dry run of the 360 workflow lists every mail with its date and today's recipients", function()
  local hr = login("marcus")
  cycle = t.status(hr:post("/api/feedback/cycles", { name = "Dry 360", start_date = "2026-01-05",
    nominate_due = "2026-01-09", approve_due = "2026-01-12", write_due = "2026-01-23", release_date = "2026-01-30",
    rules = { min = 0, max = 3, suggested = 1 } }), 201).json
  t.status(hr:post("/api/feedback/cycles/" .. cycle.id .. "/reviewees", { user_ids = { P.kai.id, P.aisha.id } }), 200)
  local res = t.status(login("priya"):post("/api/workflows/feedback_360/dry-run", { cycle_id = cycle.id }), 200).json
  local by = {}
  for _, it in ipairs(res.items) do by[it.template .. ":" .. (it.date or "event")] = it end
  local first = by["feedback_360.nominate:2026-01-05"]
  t.ok(first, "the start mail, on the start date")
  t.eq(first.count, 2)
  local remind = by["feedback_360.nominate_reminder:2026-01-07"]
  t.ok(remind, "two days before nominations close")
  t.eq(remind.count, 2, "both have chosen nobody")
  local invite
  for _, it in ipairs(res.items) do if it.template == "feedback_360.invite" then invite = it end end
  t.contains(invite.note, "one mail per person for what happens within 60 minutes")
  t.eq(#t.outbox({ template = "feedback_360.nominate" }), 0, "a dry run sends nothing")
  t.eq(db.value("SELECT count(*) FROM password_resets"), 0, "and makes no sign-in links")
end)

t.test("a started 360 cycle keeps its workflow version when HR saves a new one", function()
  t.status(login("marcus"):post("/api/feedback/cycles/" .. cycle.id .. "/start"), 200)
  local pinned = db.value("SELECT workflow_version_id FROM feedback_cycles WHERE id = ?", cycle.id)
  t.ok(pinned)
  local changed = builtin:gsub("offset = %-2, to = \"nominators\"", "offset = -1, to = \"nominators\"", 1)
  local saved = t.status(login("priya"):put("/api/workflows/feedback_360", { source = changed, note = "later" }), 201).json
  t.neq(saved.id, pinned)
  t.eq(db.value("SELECT workflow_version_id FROM feedback_cycles WHERE id = ?", cycle.id), pinned)
  t.advance_to("2026-01-07T10:00:00Z")
  t.eq(#t.outbox({ template = "feedback_360.nominate_reminder" }), 2, "the old version's reminder, two days before")
  local next = t.status(login("marcus"):post("/api/feedback/cycles", { name = "Next 360", start_date = "2026-01-07" }), 201).json
  t.status(login("marcus"):post("/api/feedback/cycles/" .. next.id .. "/start"), 200)
  t.eq(db.value("SELECT workflow_version_id FROM feedback_cycles WHERE id = ?", next.id), saved.id, "new cycles use it")
end)

t.test("the workflow admin pages show the 360 kind's vocabulary and its cycles", function()
  local page = t.status(login("priya"):get("/admin/workflows/feedback_360"), 200)
  t.contains(page.body, "nominate_due")
  t.contains(page.body, "nomination.approved")
  t.contains(page.body, "Dry 360")
  t.not_contains(page.body, "self_not_submitted")
  t.status(login("lena"):get("/admin/workflows/feedback_360"), 403, "HR Admins edit workflows")
end)

t.test("review and 360 cycles with the same id keep their own jobs and mails", function()
  local rc = db.value("SELECT max(id) FROM cycles") or 0
  local fc = db.value("SELECT max(id) FROM feedback_cycles")
  t.ok(fc > 0)
  local keys = db.column("SELECT key FROM jobs WHERE key LIKE 'feedback_cycle:%'")
  t.ok(#keys > 0, "360 jobs are named feedback_cycle:<id>:...")
  for _, k in ipairs(db.column("SELECT key FROM jobs WHERE key LIKE 'cycle:%'")) do
    t.ok(tonumber(k:match("^cycle:(%d+):")) <= rc, "review cycle jobs only for review cycles: " .. k)
  end
  for _, m in ipairs(t.outbox({ template = "feedback_360.nominate_reminder" })) do
    t.match(m.dedupe_key, "^wf:feedback_cycle:%d+:")
  end
end)

t.test("a rule (a function in only) of a 360 event step runs from a job, outside the change's transaction", function()
  -- the invitation step with a rule: only guests are invited by this version
  local src = builtin:gsub('to = "reviewer", batch = 60,', 'to = "reviewer", only = function(r) return r.guest end,', 1)
  local v = t.status(login("priya"):put("/api/workflows/feedback_360", { source = src, note = "guests only" }), 201).json
  local hr = login("marcus")
  local c = t.status(hr:post("/api/feedback/cycles", { name = "Rule 360", start_date = "2026-01-08",
    rules = { min = 0, max = 3, suggested = 2 } }), 201).json
  t.status(hr:post("/api/feedback/cycles/" .. c.id .. "/reviewees", { user_ids = { P.kai.id } }), 200)
  t.status(hr:post("/api/feedback/cycles/" .. c.id .. "/start"), 200)
  t.run_jobs() -- the nomination mails
  t.eq(db.value("SELECT workflow_version_id FROM feedback_cycles WHERE id = ?", c.id), v.id)
  local s = db.value("SELECT id FROM feedback_subjects WHERE cycle_id = ?", c.id)
  local guest = db.row("SELECT id, email FROM users WHERE kind = 'guest' LIMIT 1")
  for _, id in ipairs({ P.aisha.id, guest.id }) do
    t.status(hr:post("/api/feedback/360/" .. s .. "/nominations", { reviewer_id = id }), 201)
  end
  local requests = require("core.sandbox").stats().requests
  t.status(hr:post("/api/feedback/approvals", { subject_ids = { s } }), 200)
  t.eq(require("core.sandbox").stats().requests, requests, "no script ran in the approval's transaction")
  t.eq(db.value("SELECT count(*) FROM jobs WHERE key LIKE ?", ("feedback_cycle:%d:wfevent:%%"):format(c.id)), 2,
    "one job per approved reviewer")
  t.advance("1m")
  t.eq(#t.outbox({ template = "feedback_360.invite", to = guest.email }), 1, "the guest passes the rule")
  t.eq(#t.outbox({ template = "feedback_360.invite", to = demo.email("aisha") }), 0, "a colleague does not")
  t.eq(db.value("SELECT count(*) FROM jobs WHERE key LIKE ?", ("feedback_cycle:%d:wfevent:%%"):format(c.id)), 0,
    "the jobs are done")
  workflows.use_version("feedback_360", 0, P.priya) -- back to the built-in for what follows
end)
