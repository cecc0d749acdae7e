-- The 360 feedback cycle: its phases, who may move it on, and the mails it sends.
--
-- This file is the built-in workflow. To change it for your company, copy it to
-- <data folder>/workflows/feedback_360.lua or edit it on Administration › Cycle workflows; it
-- is checked in the sandbox and can be dry-run against a cycle before it is used. A running
-- cycle keeps the version it started with. docs/scripting.md explains every field.
--
-- Dates in the timeline are relative to the cycle's dates ("anchors"): start, nominate_due,
-- approve_due, write_due, manager_release, release; offset is in days (negative: before). Dated
-- mails go out at 09:00 company time (setting notifications.send_hour) and reach only the people who
-- are still late when they go. All dates are soft: work goes on after them until HR closes the
-- cycle. Guests only ever get mail as reviewers.
return {
  name = "360 feedback",

  -- In order. Before its start a cycle is in 'draft'. What people may do in each phase:
  -- nominate (choose reviewers), approve (the manager), write (and share or decline), release
  -- (the manager releases to the reviewee before the date). Approved reviewers write while
  -- others still choose theirs, so one phase allows it all.
  phases = {
    { id = "running", label = "Choosing reviewers and writing",
      allows = { "nominate", "approve", "write", "release" } },
    { id = "closed", label = "Closed", allows = {} },
  },

  transitions = {
    { from = "draft", to = "running", label = "Start the cycle", event = "feedback_cycle.started",
      by = { "hr_admin", "hr_assistant", "cycle_admin", "cycle_assistant" } },
    { from = "running", to = "closed", label = "Close the cycle", event = "feedback_cycle.closed",
      by = { "hr_admin", "hr_assistant", "cycle_admin" } },
  },

  -- One line per notification. Dated steps: at + offset. Event steps: on = "<event>".
  -- to: reviewees, nominators, approvers, reviewers, cycle_admins; on events about one reviewee
  -- also reviewee, nominator, approver; about one request also reviewee, approver, reviewer.
  -- batch = <minutes>: everything one person would get from this step within that time comes
  -- as one mail.
  timeline = {
    { on = "feedback_cycle.started", to = "nominators", template = "feedback_360.nominate" },
    { on = "feedback_subject.added", to = "nominator", template = "feedback_360.nominate" },
    { at = "nominate_due", offset = -2, to = "nominators", only = "not_nominated", template = "feedback_360.nominate_reminder" },
    { on = "nominations.submitted", to = "approver", template = "feedback_360.approve" },
    { at = "approve_due", offset = -2, to = "approvers", only = "not_approved", template = "feedback_360.approve_reminder" },
    { on = "nomination.approved", to = "reviewer", batch = 60, template = "feedback_360.invite" },
    { on = "nomination.declined", to = "reviewee", only = "reviewee_told", template = "feedback_360.declined" },
    { at = "write_due", offset = -3, to = "reviewers", only = "not_written", template = "feedback_360.write_reminder" },
    { at = "write_due", offset = 1, to = "reviewers", only = "not_written", template = "feedback_360.write_reminder" },
    { at = "manager_release", to = "approvers", only = "managers_read", template = "feedback_360.ready_for_managers" },
    { on = "feedback.released", to = "reviewee", template = "feedback_360.released" },
    { at = "release", to = "reviewees", only = "released", template = "feedback_360.released" },
  },
}
