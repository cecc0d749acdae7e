-- Managers hear when a cycle starts: one mail each, naming the reports whose reviews they write
-- and when they are due; a manager whose report joins the running cycle later hears about that
-- one. On the virtual clock (Monday 2026-01-05 09:00 UTC), through the HTTP API.
local t = require "testing"
local demo = require "demo"
local db = require "lib.db"

local P = t.demo()
local cycle

local function mails(to) return t.outbox({ template = "review.manager_started", to = to }) end

t.test("starting a cycle tells each manager, once, whose reviews they write and by when", function()
  t.advance_to("2026-01-12T08:00:00Z")
  local hr = t.login(demo.email("marcus"))
  cycle = t.status(hr:post("/api/cycles", { name = "2026 H1 reviews", start_date = "2026-01-12", self_due = "2026-01-26",
    manager_due = "2026-02-09", sign_due = "2026-02-23" }), 201).json
  t.status(hr:post("/api/cycles/" .. cycle.id .. "/reviewees", { user_ids = { P.zoe.id, P.ethan.id, P.mia.id } }), 200)
  t.eq(#t.outbox({ template = "review.manager_started" }), 0, "nothing before the start")
  t.status(hr:post("/api/cycles/" .. cycle.id .. "/start"), 200)
  t.run_jobs()
  local lucas = mails(demo.email("lucas"))
  t.eq(#lucas, 1, "one mail for Zoe and Ethan")
  t.eq(lucas[1].subject, "2026 H1 reviews has started: you review Ethan Brooks, Zoe Chen")
  t.contains(lucas[1].body_text, "Your reviews are due on 9 Feb 2026")
  t.contains(lucas[1].body_text, "self-assessments are due on 26 Jan 2026")
  t.eq(#mails(demo.email("ravi")), 1)
  t.contains(mails(demo.email("ravi"))[1].body_text, "/reviews/"
    .. db.value("SELECT id FROM reviews WHERE cycle_id = ? AND reviewee_id = ?", cycle.id, P.mia.id),
    "one review: the link opens it")
  t.eq(#mails(demo.email("daniel")), 0, "managers further up are not the writers")
  t.eq(#t.outbox({ template = "review.manager_started" }), 2)
end)

t.test("a report who joins the running cycle later: their manager hears about that review", function()
  t.advance_to("2026-01-14T10:00:00Z")
  local hr = t.login(demo.email("marcus"))
  t.status(hr:post("/api/cycles/" .. cycle.id .. "/reviewees", { user_ids = { P.omar.id } }), 200)
  local ravi = mails(demo.email("ravi"))
  t.eq(#ravi, 2)
  t.contains(ravi[2].subject, "you review Omar Haddad")
  t.eq(#mails(demo.email("lucas")), 1, "nobody else hears again")
end)

t.test("the dry run of the built-in workflow lists the managers' mail at the start", function()
  local wf = require "services.workflows"
  local items = wf.dry_run(wf.builtin_source("performance_review"), require("services.cycles").get(cycle.id))
  local found
  for _, it in ipairs(items) do
    if it.template == "review.manager_started" and it.event == "cycle.started" then found = it end
  end
  t.ok(found, "the step is in the timeline")
  t.eq(found.group, "managers")
end)
