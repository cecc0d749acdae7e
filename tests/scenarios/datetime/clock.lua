-- A company in Berlin (or Kolkata): dated mails go out at the send hour on the company's clocks,
-- in winter (CET, UTC+1) and in summer (CEST, UTC+2); "today" turns at the company's midnight, not
-- at UTC's; a change of zone moves what was already planned. The clock starts on Monday 5 January
-- 2026, 09:00 UTC.
local t = require "testing"
local db = require "lib.db"
local dates = require "lib.dates"
local wf = require "services.workflows"
local F = dofile("tests/scenarios/workflows/_fixtures.lua")

local P = t.demo()

local function set(body) t.status(t.as("marcus"):put("/api/settings/datetime", body), 200) end

local function utc(ts) return os.date("!%Y-%m-%dT%H:%MZ", ts) end

local function job_at(key) return utc(db.value("SELECT due_ms FROM jobs WHERE key = ?", key) // 1000) end

-- A started review cycle with Zoe and Ethan as reviewees (self_due as given).
local function started_cycle(name, start_date, self_due)
  local c = F.cycle({ name = name, start_date = start_date, self_due = self_due,
    manager_due = dates.add_days(self_due, 14), sign_due = dates.add_days(self_due, 28) })
  F.reviews(c, { zoe = P.zoe, ethan = P.ethan })
  F.cycle_admin(c, P.amara, "admin")
  wf.start(c, P.amara)
  t.run_jobs()
  return c
end

local winter, summer

t.test("in Berlin the self-assessment reminder goes out at 09:00 CET in winter: 08:00 UTC", function()
  set({ time_zone = "Europe/Berlin", send_hour = 9 })
  winter = started_cycle("Winter reviews", "2026-01-05", "2026-01-19")
  t.eq(F.jobs(winter)[("cycle:%d:wf:step:s3"):format(winter.id)], "2026-01-16T08:00Z", "self_due - 3 at 09:00 CET")
  local before = F.mark()
  t.advance_to("2026-01-16T07:59:00Z")
  t.same(F.to("review.self_reminder", before, winter.id), {}, "08:59 in Berlin: not yet")
  t.advance_to("2026-01-16T08:00:00Z")
  t.same(F.to("review.self_reminder", before, winter.id), F.emails(P.zoe, P.ethan), "09:00 in Berlin")
  local m = t.outbox({ to = P.zoe.email, template = "review.self_reminder" })[1]
  t.eq(utc(m.created_at), "2026-01-16T08:00Z")
  t.eq(dates.format_time(m.created_at), "16 Jan 2026, 09:00 CET")
end)

t.test("in Berlin the same reminder goes out at 09:00 CEST in summer: 07:00 UTC", function()
  t.advance_to("2026-05-25T10:00:00Z")
  summer = started_cycle("Summer reviews", "2026-06-01", "2026-06-19")
  t.eq(F.jobs(summer)[("cycle:%d:wf:step:s3"):format(summer.id)], "2026-06-16T07:00Z", "self_due - 3 at 09:00 CEST")
  local before = F.mark()
  t.advance_to("2026-06-16T06:59:00Z")
  t.same(F.to("review.self_reminder", before, summer.id), {}, "08:59 in Berlin: not yet")
  t.advance_to("2026-06-16T07:00:00Z")
  t.same(F.to("review.self_reminder", before, summer.id), F.emails(P.zoe, P.ethan), "09:00 in Berlin")
  local sent = t.outbox({ to = P.zoe.email, template = "review.self_reminder" })
  t.eq(dates.format_time(sent[#sent].created_at), "16 Jun 2026, 09:00 CEST")
end)

t.test("a step across the change to summer time keeps 09:00 on the wall clock", function()
  -- 29 Mar 2026: 02:00 CET becomes 03:00 CEST; 25 Oct 2026: 03:00 CEST becomes 02:00 CET
  t.eq(utc(dates.at_send_hour("2026-03-28")), "2026-03-28T08:00Z")
  t.eq(utc(dates.at_send_hour("2026-03-29")), "2026-03-29T07:00Z")
  t.eq(utc(dates.at_send_hour("2026-10-24")), "2026-10-24T07:00Z")
  t.eq(utc(dates.at_send_hour("2026-10-25")), "2026-10-25T08:00Z")
end)

t.test("a send hour the clocks skip moves on by the gap; one they show twice is the first", function()
  set({ send_hour = 2 })
  t.eq(utc(dates.at_send_hour("2026-03-29")), "2026-03-29T01:00Z", "02:00 does not exist that day: 03:00 CEST")
  t.eq(utc(dates.at_send_hour("2026-10-25")), "2026-10-25T00:00Z", "02:00 CEST, the first of the two")
  set({ send_hour = 9 })
end)

t.test("a change of zone moves what was planned: the reminders of a running cycle and a feedback request", function()
  set({ time_zone = "UTC" })
  t.run_jobs()
  local key = ("cycle:%d:wf:step:s9"):format(summer.id)
  t.eq(job_at(key), "2026-07-15T09:00Z", "sign_due - 2 at 09:00 UTC")
  local rq = t.status(t.as("zoe"):post("/api/feedback-requests", { askee_ids = { P.ethan.id }, question = "How did I do?",
    due_date = "2026-07-01" }), 201).json
  local remind = ("feedback_request:%d:remind"):format(rq.id)
  t.eq(job_at(remind), "2026-06-29T09:00Z", "two days before, at the send hour")
  set({ time_zone = "America/New_York" })
  t.eq(job_at(key), "2026-07-15T09:00Z", "moved by a job, after the change commits")
  t.run_jobs()
  t.eq(job_at(key), "2026-07-15T13:00Z", "09:00 EDT")
  t.eq(job_at(remind), "2026-06-29T13:00Z", "09:00 EDT")
  set({ send_hour = 8 })
  t.run_jobs()
  t.eq(job_at(key), "2026-07-15T12:00Z", "a new send hour moves them too")
  set({ time_zone = "Europe/Berlin", send_hour = 9 })
  t.run_jobs()
  t.eq(job_at(key), "2026-07-15T07:00Z")
end)

t.test("today turns at midnight in the company's zone: a feedback request's due date", function()
  set({ time_zone = "Asia/Kolkata" })
  t.advance_to("2026-07-20T18:29:00Z") -- 23:59 in Kolkata, still 20 Jul
  t.eq(dates.today(), "2026-07-20")
  local zoe = t.as("zoe")
  local ask = { askee_ids = { P.ethan.id }, question = "Quick one", due_date = "2026-07-20" }
  t.status(zoe:post("/api/feedback-requests", ask), 201)
  t.advance_to("2026-07-20T18:31:00Z") -- 00:01 on 21 Jul in Kolkata; in UTC still 20 Jul
  t.eq(dates.today(), "2026-07-21")
  t.contains(t.status(zoe:post("/api/feedback-requests", ask), 422).body, "Pick a date from today on.")
  set({ time_zone = "UTC" })
  t.status(zoe:post("/api/feedback-requests", ask), 201, "in UTC it is still 20 Jul")
end)

t.test("the company's date turns at its midnight: in a Berlin summer at 22:00 UTC", function()
  set({ time_zone = "Europe/Berlin" })
  t.advance_to("2026-07-21T21:59:00Z") -- 23:59 CEST
  t.eq(dates.today(), "2026-07-21")
  t.advance_to("2026-07-21T22:00:00Z") -- midnight in Berlin, 22:00 UTC
  t.eq(dates.today(), "2026-07-22")
  t.eq(os.date("!%Y-%m-%d", t.now()), "2026-07-21", "UTC has not turned yet")
end)
