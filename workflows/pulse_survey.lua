-- The mails of pulse surveys: one line per notification.
--
-- This file is the built-in timeline. To change it for your company, copy it to
-- <data folder>/workflows/pulse_survey.lua and restart Candor: the copy is checked in the sandbox
-- at start, and a copy with a problem is logged and the built-in file runs instead.
-- docs/scripting.md ("The pulse survey timeline") lists every word a step may use.
--
-- Dated steps: at = "closes" (the last day of a round), offset in days (negative: before), mails
-- at 09:00 company time (setting notifications.send_hour). Event steps: on = "<event>".
-- to: invited, participants, shared, creator. only: all, not_responded.
-- Mails never carry an answer.
return {
  name = "Pulse surveys",
  timeline = {
    { on = "survey_round.invited", to = "invited", template = "survey.invite", id = "invite" },
    { at = "closes", offset = -1, to = "participants", only = "not_responded", template = "survey.reminder", id = "reminder" },
    { on = "survey.shared", to = "shared", template = "survey.shared", id = "shared" },
  },
}
