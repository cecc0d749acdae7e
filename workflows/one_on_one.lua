-- The mails of 1:1 meetings: one line per notification.
--
-- This file is the built-in timeline. To change it for your company, copy it to
-- <data folder>/workflows/one_on_one.lua and restart Candor: the copy is checked in the sandbox
-- at start, and a copy with a problem is logged and the built-in file runs instead.
-- docs/scripting.md ("The 1:1 meeting timeline") lists every word a step may use.
--
-- Dated steps: at = "meeting" (the series' upcoming meeting), offset in days (negative: before),
-- mails at 09:00 company time (setting notifications.send_hour). Event steps: on = "<event>".
-- to: organizer, attendee, participants. only: all, has_open_items.
-- Mails never carry the series' title nor anything written in it.
return {
  name = "1:1 meetings",
  timeline = {
    { on = "meeting_series.created", to = "attendee", template = "one_on_one.invite" },
    { at = "meeting", offset = -1, to = "participants", template = "one_on_one.prepare" },
    { on = "meeting.done", to = "participants", only = "has_open_items", template = "one_on_one.follow_up" },
  },
}
