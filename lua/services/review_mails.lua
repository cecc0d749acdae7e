-- The mails of review cycles that workflow timelines send (the templates a script's timeline
-- steps name: review.invite, the reminders, shared, signed, ...): their text, variables and
-- examples, beside the workflow engine (services/workflows.lua) that sends them. Defined before the
-- engine checks the built-in workflow, which names them.
local mail = require "services.mail"

local M = {}

--- Defines the mails of review cycles (services.mail templates).
function M.define()
  local sign = "\n\nThanks,\n{{company}}"
  mail.define_template("review.invite", {
    description = "Sent to every reviewee when a review cycle starts.",
    subject = "{{cycle}}: your performance review has started",
    text = "Hello {{first_name}},\n\nThe review cycle {{cycle}} has started."
      .. "{{#self_deadline}} Please write your self-assessment by {{self_deadline}}: it helps {{manager}} prepare"
      .. " your review.{{/self_deadline}}"
      .. "{{#manager_due}}\n\nYour manager's review is due by {{manager_due}}.{{/manager_due}}"
      .. "{{#sign_due}} Sharing and signing close on {{sign_due}}.{{/sign_due}}"
      .. "\n\nOpen your review:\n{{link}}" .. sign,
    vars = { cycle = "cycle name", manager = "the reviewee's manager",
      self_deadline = "self-assessment due date (only when the cycle has a self-assessment)",
      manager_due = "manager review due date", sign_due = "signing deadline", link = "link to the review",
      company = "company name" },
  })
  mail.define_template("review.manager_started", {
    description = "Tells each manager, when a review cycle starts (or a report joins it), whose reviews they write.",
    subject = "{{cycle}} has started: you review {{reviewees}}",
    text = "Hello {{first_name}},\n\nThe review cycle {{cycle}} has started and you write the review"
      .. "{{#reviewees}} of {{reviewees}}{{/reviewees}}."
      .. "{{#self_deadline}} Their self-assessments are due on {{self_deadline}}; you can read each once it is"
      .. " submitted.{{/self_deadline}}"
      .. "{{#manager_due}} Your reviews are due on {{manager_due}}.{{/manager_due}}"
      .. "{{#sign_due}} Sharing and signing close on {{sign_due}}.{{/sign_due}}"
      .. "\n\n{{link}}" .. sign,
    vars = { cycle = "cycle name", reviewees = "the reports whose reviews they write", count = "how many",
      self_deadline = "self-assessment due date (only when the cycle has a self-assessment)",
      manager_due = "manager review due date", sign_due = "signing deadline",
      link = "link to the review (or the home page for several)" },
  })
  mail.define_template("review.self_reminder", {
    description = "Reminds reviewees who have not submitted their self-assessment (before and after its deadline).",
    subject = "Reminder: your self-assessment for {{cycle}} (due {{self_due}})",
    text = "Hello {{first_name}},\n\nYour self-assessment for {{cycle}} is not submitted yet; the deadline is"
      .. " {{self_due}}. It only takes a few minutes, and {{manager}} reads it before writing your review."
      .. "\n\nContinue here:\n{{link}}\n\nIf you have submitted it meanwhile, ignore this mail." .. sign,
    vars = { cycle = "cycle name", self_due = "self-assessment due date", manager = "the reviewee's manager",
      link = "link to the review" },
  })
  mail.define_template("review.self_submitted", {
    description = "Tells the manager that a reviewee submitted their self-assessment.",
    subject = "{{reviewee}} submitted their self-assessment",
    text = "Hello {{first_name}},\n\n{{reviewee}} submitted their self-assessment for {{cycle}}. You can read it"
      .. " now and write your review{{#manager_due}} (due {{manager_due}}){{/manager_due}}:\n{{link}}" .. sign,
    vars = { reviewee = "the reviewee", cycle = "cycle name", manager_due = "manager review due date",
      link = "link to the review" },
  })
  mail.define_template("review.manager_reminder", {
    description = "Reminds managers whose reviews are not shared yet, before the manager deadline.",
    subject = "Reminder: your reviews for {{cycle}} are due {{manager_due}}",
    text = "Hello {{first_name}},\n\nYour manager review{{#reviewees}} of {{reviewees}}{{/reviewees}} for {{cycle}}"
      .. " is due on {{manager_due}}. Write and share it here:\n{{link}}" .. sign,
    vars = { reviewees = "names of the reviews still open", count = "how many", cycle = "cycle name",
      manager_due = "manager review due date", link = "link to the review (or the home page for several)" },
  })
  mail.define_template("review.manager_late", {
    description = "Sent after the manager deadline to managers whose reviews are still not shared (the cycle's admins in "
      .. "copy).",
    subject = "Overdue: your reviews for {{cycle}}",
    text = "Hello {{first_name}},\n\nThe manager reviews for {{cycle}} were due on {{manager_due}}."
      .. "{{#reviewees}} Still to be written and shared: {{reviewees}}.{{/reviewees}}"
      .. " Please finish them as soon as you can:\n{{link}}" .. sign,
    vars = { reviewees = "names of the late reviews", count = "how many", cycle = "cycle name",
      manager_due = "manager review due date", link = "link to the review (or the home page for several)" },
  })
  mail.define_template("review.shared", {
    description = "Tells the reviewee that their manager shared the review.",
    subject = "{{manager}} shared your review for {{cycle}}",
    text = "Hello {{first_name}},\n\n{{manager}} shared your performance review for {{cycle}}. Read it, talk it"
      .. " over, and sign it{{#sign_due}} by {{sign_due}}{{/sign_due}}:\n{{link}}" .. sign,
    vars = { manager = "the reviewee's manager", cycle = "cycle name", sign_due = "signing deadline",
      link = "link to the review" },
  })
  mail.define_template("review.unshared", {
    description = "Tells the reviewee that their manager took a shared review back to adjust it.",
    subject = "{{manager}} took your review for {{cycle}} back to adjust it",
    text = "Hello {{first_name}},\n\n{{manager}} took your performance review for {{cycle}} back to make changes."
      .. " You will get a mail when it is shared again; then you can read and sign it.\n\n{{link}}" .. sign,
    vars = { manager = "the reviewee's manager", cycle = "cycle name", link = "link to the review" },
  })
  mail.define_template("review.sign_reminder", {
    description = "Reminds reviewees and managers to sign a shared review before the signing deadline.",
    subject = "Please sign {{#is_reviewee}}your review{{/is_reviewee}}{{#is_manager}}your reviews{{/is_manager}} for {{cycle}}",
    text = "Hello {{first_name}},\n\n{{#is_reviewee}}Your review for {{cycle}} is shared and waits for your"
      .. " signature.{{/is_reviewee}}{{#is_manager}}The review of {{reviewees}} for {{cycle}}"
      .. " waits for your signature.{{/is_manager}} Signing closes on {{sign_due}}; signing means you have read it,"
      .. " not that you agree with every word.\n\n{{link}}" .. sign,
    vars = { cycle = "cycle name", sign_due = "signing deadline", reviewees = "for managers: whose reviews",
      is_reviewee = "set in the reviewee's mail", is_manager = "set in the manager's mail", link = "link" },
  })
  mail.define_template("review.closed", {
    description = "Sent to the reviewee and the manager when both have signed a review.",
    subject = "The review of {{reviewee}} for {{cycle}} is complete",
    text = "Hello {{first_name}},\n\nBoth signatures are in: the review of {{reviewee}} for {{cycle}} is complete"
      .. " and now read-only. You can read it any time:\n{{link}}" .. sign,
    vars = { reviewee = "the reviewee", cycle = "cycle name", link = "link to the review" },
  })
  mail.define_template("review.nudge", {
    description = "A manager's nudge to a direct or indirect report who has not finished their part.",
    subject = "{{sender}} is waiting for your {{cycle}} review",
    text = "Hello {{first_name}},\n\n{{sender}} sent you a nudge about {{cycle}}.{{#due}} Your part is due on {{due}}.{{/due}}"
      .. "{{#message}}\n\n{{message}}{{/message}}\n\nContinue here:\n{{link}}" .. sign,
    vars = { sender = "who nudges", message = "their note (optional)", cycle = "cycle name", link = "link to the review",
      due = "the due date (optional)" },
  })
  mail.define_template("workflow.suspended", {
    description = "Tells the HR Admins that a workflow version's rule kept being stopped, so it no longer runs.",
    subject = "The {{workflow}} workflow (version {{version}}): its rules are suspended",
    text = "Hello {{first_name}},\n\nA rule (a function in `only`) of version {{version}} of the {{workflow}} workflow"
      .. " was stopped {{count}} times in a row, so Candor no longer runs this version's rules:\n\n{{reason}}"
      .. "\n\nCycles running this version ({{cycles}}) still move through their phases and send every other mail;"
      .. " the mails of steps with a rule are not sent. Fix the script on the workflow page and check it with a dry"
      .. " run: new cycles use the version you save. The version is here:\n{{link}}" .. sign,
    vars = { workflow = "the workflow's name", version = "the version number", count = "how many stopped runs",
      reason = "why the last run was stopped", cycles = "the running cycles on this version",
      link = "the version's page" },
  })
  mail.define_template("review.reminder", {
    description = "A reminder HR sends by hand to people who are late in a cycle.",
    subject = "Reminder: {{cycle}}",
    text = "Hello {{first_name}},\n\nThis is a reminder from {{sender}} about {{cycle}}: your part is not finished yet."
      .. "{{#what}} Please {{what}}.{{/what}}{{#due}} It is due on {{due}}.{{/due}}"
      .. "{{#message}}\n\n{{message}}{{/message}}\n\nContinue here:\n{{link}}" .. sign,
    vars = { sender = "who sends it", what = "what is missing (optional)", due = "the due date (optional)",
      message = "their note (optional)", cycle = "cycle name", link = "link" },
  })
end

function M.init() M.define() end

return M
