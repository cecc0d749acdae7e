-- The performance review cycle: its phases, who may move it on, and the mails it sends.
--
-- This file is the built-in workflow. To change it for your company, copy it to
-- <data folder>/workflows/performance_review.lua or edit it on Administration › Cycle
-- workflows; it is checked in the sandbox and can be dry-run against a cycle before it is
-- used. A running cycle keeps the version it started with. docs/scripting.md explains every
-- field, with examples (another reminder cadence, a calibration phase before sharing).
--
-- Dates in the timeline are relative to the cycle's dates ("anchors"): start, self_due,
-- manager_due, sign_due; offset is in days (negative: before). Mails go out at 09:00 company time
-- (setting notifications.send_hour, in the company's time zone). A dated step reads the statuses when it runs, so a
-- reminder only reaches the people who are still late.
return {
  name = "Performance review",

  -- In order. Before its start a cycle is in 'draft'; what people may do in each phase:
  -- self_write (the self-assessment), manager_write (the manager's review), share, sign.
  phases = {
    { id = "writing", label = "Writing and sharing", allows = { "self_write", "manager_write", "share", "sign" } },
    { id = "closed", label = "Closed", allows = {} },
  },

  -- Who may move the cycle from one phase to the next, and the event that announces it.
  -- Roles: hr_admin, hr_assistant, tech_admin, cycle_admin, cycle_assistant.
  -- A transition with at = "<anchor>", offset = <days> also happens by itself on that date.
  transitions = {
    { from = "draft", to = "writing", label = "Start the cycle", event = "cycle.started",
      by = { "hr_admin", "hr_assistant", "cycle_admin", "cycle_assistant" } },
    { from = "writing", to = "closed", label = "Close the cycle", event = "cycle.closed",
      by = { "hr_admin", "cycle_admin" } },
  },

  -- One line per notification. Dated steps: at + offset. Event steps: on = "<event>".
  -- to / cc: reviewees, managers, cycle_admins; on review events also reviewee, manager.
  -- only: self_not_submitted, manager_not_submitted, manager_not_shared, reviewee_not_signed,
  -- manager_not_signed, not_signed, all, or function(review, cycle) ... end.
  timeline = {
    { on = "cycle.started", to = "reviewees", template = "review.invite" },
    { on = "review.added", to = "reviewee", template = "review.invite" },
    { at = "self_due", offset = -3, to = "reviewees", only = "self_not_submitted", template = "review.self_reminder" },
    { at = "self_due", offset = 1, to = "reviewees", only = "self_not_submitted", template = "review.self_reminder" },
    { on = "review.self_submitted", to = "manager", template = "review.self_submitted" },
    { at = "manager_due", offset = -3, to = "managers", only = "manager_not_shared", template = "review.manager_reminder" },
    { at = "manager_due", offset = 1, to = "managers", only = "manager_not_shared", cc = "cycle_admins",
      template = "review.manager_late" },
    { on = "review.shared", to = "reviewee", template = "review.shared" },
    { at = "sign_due", offset = -2, to = "reviewees", only = "reviewee_not_signed", template = "review.sign_reminder" },
    { at = "sign_due", offset = -2, to = "managers", only = "manager_not_signed", template = "review.sign_reminder" },
    { on = "review.closed", to = "reviewee", template = "review.closed" },
    { on = "review.closed", to = "manager", template = "review.closed" },
    -- managers hear whose reviews they write when the cycle starts (or a report joins it later)
    { on = "cycle.started", to = "managers", template = "review.manager_started" },
    { on = "review.added", to = "manager", template = "review.manager_started" },
    -- a shared review the manager takes back to adjust (until the reviewee signs)
    { on = "review.unshared", to = "reviewee", template = "review.unshared" },
  },
}
