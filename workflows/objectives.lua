-- The mails of objectives: one line per notification.
--
-- This file is the built-in timeline. To change it for your company, copy it to
-- <data folder>/workflows/objectives.lua and restart Candor: the copy is checked in the sandbox
-- at start, and a copy with a problem is logged and the built-in file runs instead.
-- docs/scripting.md ("The objectives timeline") lists every word a step may use.
--
-- Dated steps: at = "due" (an objective's due date) or "edit_until" (its cycle's), offset in
-- days (negative: before), mails at 09:00 company time (setting notifications.send_hour). Event
-- steps: on = "<event>"; the person who acted never gets the mail.
-- to: owner (with due and events), participants (with edit_until).
-- only: all, open (neither done nor missed), without_objectives (participants with none).
-- Mails never carry an objective's title nor a comment.
return {
  name = "Objectives",
  timeline = {
    { at = "due", offset = -30, to = "owner", only = "open", template = "objective.due_soon", id = "due_30" },
    { at = "due", offset = -10, to = "owner", only = "open", template = "objective.due_soon", id = "due_10" },
    { at = "due", offset = -3, to = "owner", only = "open", template = "objective.due_soon", id = "due_3" },
    { at = "due", offset = 7, to = "owner", only = "open", template = "objective.overdue", id = "overdue_7" },
    { at = "edit_until", offset = -3, to = "participants", template = "objective.edit_closing", id = "edit_closing" },
    { on = "objective.created", to = "owner", template = "objective.set_for_you" },
    { on = "objective.commented", to = "owner", template = "objective.commented" },
    { on = "objective.progress_updated", to = "owner", template = "objective.commented" },
  },
}
