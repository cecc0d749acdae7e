-- A whole review cycle on the virtual clock with the built-in workflow: which mails go out on
-- which dates and to whom. Reminders only reach the people who are still late when the step
-- runs; managers get one mail for all their late reviews; the cycle's admins are in copy of
-- the overdue notice. The clock starts on Monday 2026-01-05 09:00 UTC.
local t = require "testing"
local F = dofile("tests/scenarios/workflows/_fixtures.lua")
local wf = require "services.workflows"
local util = require "lib.util"
local clock = require "core.clock"

local P = t.demo()
local cycle = F.cycle({ name = "2026 H1 reviews", start_date = "2026-01-05", self_due = "2026-01-19",
  manager_due = "2026-02-02", sign_due = "2026-02-16" })
local R = F.reviews(cycle, { zoe = P.zoe, ethan = P.ethan, mia = P.mia, omar = P.omar, hana = P.hana })
F.cycle_admin(cycle, P.amara, "admin")
F.cycle_admin(cycle, P.lena, "assistant")

t.test("an admin of this one cycle starts it: every reviewee is invited at once", function()
  wf.start(cycle, P.amara)
  t.run_jobs() -- the invitations are queued right after the start commits
  t.eq(cycle.phase, "writing")
  t.ok(cycle.workflow_version_id, "the version is pinned")
  t.eq(F.reload(cycle).phase, "writing")
  t.same(F.to("review.invite"), F.emails(P.zoe, P.ethan, P.mia, P.omar, P.hana))
  local invite = t.outbox({ to = P.zoe.email, template = "review.invite" })[1]
  t.eq(invite.subject, "2026 H1 reviews: your performance review has started")
  t.contains(invite.body_text, "Please write your self-assessment by 19 Jan 2026")
  t.contains(invite.body_text, "it helps Lucas Moreau prepare your review")
  t.contains(invite.body_text, "/reviews/" .. R.zoe.id)
  t.eq(invite.related_type, "cycle")
  t.eq(invite.related_id, cycle.id)
end)

t.test("the reminders are planned at 09:00 UTC on their dates, one job per step", function()
  t.same(F.jobs(cycle), {
    ["cycle:1:wf:step:s3"] = "2026-01-16T09:00Z", -- self_due - 3
    ["cycle:1:wf:step:s4"] = "2026-01-20T09:00Z", -- self_due + 1
    ["cycle:1:wf:step:s6"] = "2026-01-30T09:00Z", -- manager_due - 3
    ["cycle:1:wf:step:s7"] = "2026-02-03T09:00Z", -- manager_due + 1
    ["cycle:1:wf:step:s9"] = "2026-02-14T09:00Z", -- sign_due - 2, reviewees
    ["cycle:1:wf:step:s10"] = "2026-02-14T09:00Z", -- sign_due - 2, managers
  })
end)

t.test("the manager hears when a self-assessment comes in; nothing else goes out before the first reminder", function()
  local before = F.mark()
  t.advance_to("2026-01-12T10:00:00Z")
  R.zoe = F.set(R.zoe, { self_status = "submitted", self_submitted_at = clock.now() })
  t.eq(wf.emit(cycle, "review.self_submitted", { review = R.zoe }), 1)
  R.mia = F.set(R.mia, { self_status = "skipped" })
  t.advance_to("2026-01-16T08:59:00Z")
  local after = t.outbox()
  local new = {}
  for _, m in ipairs(after) do if m.id > before then new[#new + 1] = m end end
  t.eq(#new, 1)
  t.eq(new[1].template, "review.self_submitted")
  t.eq(new[1].to_email, P.lucas.email)
  t.eq(new[1].subject, "Zoe Chen submitted their self-assessment")
end)

t.test("three days before the self-assessment deadline, only those who have not submitted are reminded", function()
  local before = F.mark()
  t.advance_to("2026-01-16T09:00:00Z")
  t.same(F.to("review.self_reminder", before), F.emails(P.ethan, P.omar, P.hana))
  local m = t.outbox({ to = P.ethan.email, template = "review.self_reminder" })[1]
  t.eq(m.subject, "Reminder: your self-assessment for 2026 H1 reviews (due 19 Jan 2026)")
  t.contains(m.body_text, "Hello Ethan,")
  t.contains(m.body_text, "/reviews/" .. R.ethan.id)
  t.eq(os.date("!%Y-%m-%d %H:%M", m.created_at), "2026-01-16 09:00")
end)

t.test("the day after the self-assessment deadline, those still late are reminded again", function()
  t.advance_to("2026-01-18T15:00:00Z")
  R.omar = F.set(R.omar, { self_status = "submitted", self_submitted_at = clock.now() })
  local before = F.mark()
  t.advance_to("2026-01-20T09:00:00Z")
  t.same(F.to("review.self_reminder", before), F.emails(P.ethan, P.hana))
  t.contains(t.outbox({ to = P.hana.email, template = "review.self_reminder" })[2].body_text,
    "is not submitted yet; the deadline is 19 Jan 2026")
end)

t.test("before the manager deadline, each manager with unshared reviews gets one mail naming them", function()
  t.advance_to("2026-01-20T12:00:00Z")
  R.zoe = F.set(R.zoe, { manager_status = "shared", shared_at = clock.now() })
  t.eq(wf.emit(cycle, "review.shared", { review = R.zoe }), 1)
  R.hana = F.set(R.hana, { manager_status = "shared", shared_at = clock.now() })
  wf.emit(cycle, "review.shared", { review = R.hana })
  t.same(F.to("review.shared"), F.emails(P.zoe, P.hana))
  t.eq(t.outbox({ to = P.zoe.email, template = "review.shared" })[1].subject,
    "Lucas Moreau shared your review for 2026 H1 reviews")
  local before = F.mark()
  t.advance_to("2026-01-30T09:00:00Z")
  t.same(F.to("review.manager_reminder", before), F.emails(P.lucas, P.ravi))
  local lucas = t.outbox({ to = P.lucas.email, template = "review.manager_reminder" })[1]
  t.contains(lucas.body_text, "of Ethan Brooks for 2026 H1 reviews")
  t.not_contains(lucas.body_text, "Zoe")
  t.contains(lucas.body_text, "/reviews/" .. R.ethan.id, "one review: the link goes to it")
  local ravi = t.outbox({ to = P.ravi.email, template = "review.manager_reminder" })[1]
  t.contains(ravi.body_text, "of Mia Johansson, Omar Haddad")
  t.contains(ravi.body_text, "/home", "several reviews: the link goes to the home page")
end)

t.test("the day after the manager deadline, late managers are told with the cycle's admins in copy", function()
  t.advance_to("2026-02-01T15:00:00Z")
  R.ethan = F.set(R.ethan, { manager_status = "shared", shared_at = clock.now() })
  wf.emit(cycle, "review.shared", { review = R.ethan })
  local before = F.mark()
  t.advance_to("2026-02-03T09:00:00Z")
  t.same(F.to("review.manager_late", before), { P.ravi.email })
  local m = t.outbox({ to = P.ravi.email, template = "review.manager_late" })[1]
  t.eq(m.cc, P.amara.email .. ", " .. P.lena.email)
  t.contains(m.body_text, "Still to be written and shared: Mia Johansson, Omar Haddad.")
end)

t.test("both signatures close a review: reviewee and manager are told", function()
  R.hana = F.set(R.hana, { reviewee_signed_at = clock.now(), manager_signed_at = clock.now(), closed_at = clock.now() })
  t.eq(wf.emit(cycle, "review.closed", { review = R.hana }), 2)
  t.same(F.to("review.closed"), F.emails(P.hana, P.isabel))
end)

t.test("two days before the signing deadline, whoever has not signed a shared review is reminded", function()
  R.zoe = F.set(R.zoe, { reviewee_signed_at = clock.now() })
  local before = F.mark()
  t.advance_to("2026-02-14T09:00:00Z")
  -- reviewees: Ethan (shared, unsigned); not Zoe (signed), not Hana (closed), not Mia/Omar (not shared)
  -- managers: Lucas for Zoe and Ethan; not Isabel (signed); not Ravi (nothing shared)
  t.same(F.to("review.sign_reminder", before), F.emails(P.ethan, P.lucas))
  t.eq(t.outbox({ to = P.ethan.email, template = "review.sign_reminder" })[1].subject,
    "Please sign your review for 2026 H1 reviews")
  local lucas = t.outbox({ to = P.lucas.email, template = "review.sign_reminder" })[1]
  t.eq(lucas.subject, "Please sign your reviews for 2026 H1 reviews")
  t.contains(lucas.body_text, "The review of Ethan Brooks, Zoe Chen for 2026 H1 reviews waits for your signature")
end)

t.test("a step sends at most one mail per person, even when it runs again the same day", function()
  local before = F.mark()
  t.advance_to("2026-02-14T11:00:00Z")
  t.eq(wf.reschedule(cycle) > 0, true)
  t.eq(F.jobs(cycle)["cycle:1:wf:step:s9"], "2026-02-14T11:00Z", "today's step runs again now")
  t.advance("1m")
  t.eq(F.mark(), before, "no mail twice")
end)

t.test("closing the cycle stops what is left of its timeline", function()
  t.raises(function() wf.transition(cycle, "closed", P.lena) end, "forbidden", "an assistant of the cycle may not close it")
  wf.transition(cycle, "closed", P.amara)
  local c = F.reload(cycle)
  t.eq(c.phase, "closed")
  t.eq(c.closed_at, clock.now())
  t.same(F.jobs(cycle), {})
  local before = F.mark()
  t.advance("30d")
  t.eq(F.mark(), before)
end)

t.test("a cycle without a self-assessment sends no self-assessment reminder, and its invitation says nothing of it", function()
  local today = clock.now()
  local function day(n) return util.format_date(today + n * 86400) end
  local c = F.cycle({ name = "Managers only", start_date = day(0), self_due = day(7), manager_due = day(14),
    sign_due = day(21), self_assessment = false })
  F.reviews(c, { leo = P.leo })
  local before = F.mark()
  wf.start(c, P.marcus)
  t.run_jobs()
  t.advance("8d")
  t.same(F.to("review.self_reminder", before, c.id), {})
  local invite = t.outbox({ to = P.leo.email, template = "review.invite" })
  t.eq(#invite, 1)
  t.not_contains(invite[1].body_text, "self-assessment")
end)

t.test("people who left get no mail: deactivated reviewees and managers are skipped", function()
  local today = clock.now()
  local function day(n) return util.format_date(today + n * 86400) end
  local c = F.cycle({ name = "Leavers", start_date = day(0), self_due = day(5), manager_due = day(10), sign_due = day(15) })
  F.reviews(c, { victor = P.victor, sara = P.sara, yara = P.yara })
  require("lib.db").exec("UPDATE users SET status = 'deactivated' WHERE id IN (?, ?)", P.victor.id, P.henrik.id)
  local before = F.mark()
  wf.start(c, P.marcus)
  t.run_jobs()
  t.same(F.to("review.invite", before, c.id), F.emails(P.sara, P.yara))
  t.advance("8d") -- manager reminder: Rachel for Sara; not Henrik (Yara's manager, deactivated)
  t.same(F.to("review.manager_reminder", before, c.id), { P.rachel.email })
end)
