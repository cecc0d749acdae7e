-- Who may do what: one entry per row of the permission cheat sheet (seed 003), plus the rows
-- the product needs beyond it ("Additional"). Pure data: this file is loaded with no globals
-- and validated at start (policies/README.md lists the fields and the decision algorithm).
--
-- Each role cell is true, false, or "if:<flag>" (allowed while that company setting is on).
-- all_of = { ... } allows the action to someone holding all those roles together.
-- The copy of the cheat sheet we have lost its check marks, so every cell below is a decision
-- taken from the text around the sheet and least privilege; `why` gives the reason.
return {
  ---------------------------------------------------------------- User management
  { section = "User management", action = "users.invite", label = "Invite users",
    hr_admin = true, hr_assistant = false, tech_admin = false,
    why = "HR Admins manage people. The sheet's only surviving mark in this row is \"√ (csv import)\": "
      .. "Tech Admins add people through the CSV import (users.import), not one by one. HR Assistants run "
      .. "cycles and add existing people to them; adding people to the company is not part of that." },
  { section = "User management", action = "users.import", label = "Import users",
    hr_admin = true, hr_assistant = false, tech_admin = true,
    why = "The text names the user import tool as a Tech Admin task. HR Admins may already add, edit and "
      .. "re-manage people one by one, so the bulk path gives them nothing new. Not HR Assistants: an import "
      .. "can change reporting lines, which the assistant role does not include." },
  { section = "User management", action = "users.sftp", label = "SFTP setup",
    hr_admin = false, hr_assistant = false, tech_admin = true,
    why = "Setting up the automated SFTP user feed is an integration: Tech Admin work. It names a folder on "
      .. "the Candor server that the company's SFTP server writes to, nothing an HR role needs." },
  { section = "User management", action = "users.send_password_reset", label = "Send password reset instructions",
    hr_admin = true, hr_assistant = false, tech_admin = true,
    why = "The mail goes to the person's own address, so whoever sends it never learns a password: helping "
      .. "a locked-out colleague is typical Tech Admin and HR Admin work. The text says the HR Assistant role "
      .. "does not include resetting passwords." },
  { section = "User management", action = "users.deactivate", label = "Deactivate/reactivate users",
    hr_admin = true, hr_assistant = false, tech_admin = true,
    why = "Leavers and returners: HR Admins manage people, and Tech Admins help with user management "
      .. "(offboarding is often IT's job). Reversible, shows no confidential data. HR Assistants run cycles, "
      .. "not the user base." },
  { section = "User management", action = "users.delete", label = "Delete users",
    hr_admin = true, hr_assistant = false, tech_admin = false,
    why = "Deleting a person destroys their reviews, feedback and notes. Only someone who may see that "
      .. "content can judge what is lost: the same reason the text gives for HR Assistants not deleting "
      .. "cycles. Deactivation covers everyone else's needs." },
  { section = "User management", action = "users.set_password", label = "Change passwords",
    hr_admin = true, hr_assistant = false, tech_admin = false,
    why = "Setting someone's password lets you sign in as them and read their confidential data. The text "
      .. "says explicitly that neither Tech Admins nor HR Assistants may set passwords." },
  { section = "User management", action = "users.change_manager", label = "Change reporting structure",
    hr_admin = true, hr_assistant = "if:people.assistant_can_change_manager", tech_admin = false,
    why = "Reporting lines decide who reads whose reviews, so this is HR Admin work. The sheet's \"(√)\" for "
      .. "HR Assistants is the setting \"Allow HR Assistant to pick a person's manager\". The text says Tech "
      .. "Admins cannot change the reporting structure." },

  ---------------------------------------------------------------- Performance reviews
  { section = "Performance reviews", action = "review_cycles.manage", label = "Create and edit review cycles",
    hr_admin = true, hr_assistant = true, tech_admin = false,
    why = "The text: HR Assistants \"can create and edit review and 360 cycles\"; HR Admins set up review "
      .. "processes. Tech Admins configure the system, not HR processes." },
  { section = "Performance reviews", action = "review_cycles.track", label = "Track progress, send reminders",
    hr_admin = true, hr_assistant = true, tech_admin = false,
    why = "The text: HR Assistants \"see the status of reviews, and send reminders to those who are running "
      .. "late\". Statuses are not content. Tech Admins have no part in running cycles." },
  { section = "Performance reviews", action = "reviews.create", label = "Create reviews",
    hr_admin = true, hr_assistant = true, tech_admin = false,
    why = "Adding reviewees to a cycle is part of running it, which the text gives to HR Assistants too." },
  { section = "Performance reviews", action = "reviews.delete", label = "Delete reviews",
    hr_admin = true, hr_assistant = false, tech_admin = false,
    why = "A written review can only be judged by someone who may read it, so deleting one is HR Admin "
      .. "work. The sheet's \"(√)\" for HR Assistants is the narrower row reviews.delete_unstarted." },
  { section = "Performance reviews", action = "reviews.delete_unstarted", label = "Delete reviews nobody has started",
    hr_admin = true, hr_assistant = true, tech_admin = false,
    why = "The sheet's \"(√)\" for HR Assistants in \"Delete reviews\": they may remove a reviewee added by "
      .. "mistake while nothing has been written (the review service checks that), since then there is no "
      .. "content they could destroy unseen." },
  { section = "Performance reviews", action = "review_cycles.delete", label = "Delete review cycles",
    hr_admin = true, hr_assistant = false, tech_admin = false,
    why = "The text: \"The HR Assistant cannot delete cycles, even if they created them. Since they cannot view "
      .. "what data may have been recorded by users, only HR Admins can undertake this action.\"" },
  { section = "Performance reviews", action = "reviews.read", label = "Access review content",
    hr_admin = true, hr_assistant = false, tech_admin = false,
    confidential = true, author_ok = true, self = true, direct_manager = true, indirect_manager = true,
    why = "Review content is confidential: HR Admins may read it (never for people above them, and a cycle's "
      .. "visibility settings supersede the role); HR Assistants and Tech Admins have \"no access to "
      .. "confidential data\". Without cycle settings, people see their own reviews and their reports' "
      .. "(seed 000: \"By default all users have access to their own feedback, and the feedback of any "
      .. "direct and indirect reports\")." },
  { section = "Performance reviews", action = "reviews.export_excel", label = "Export review statistics to Excel",
    hr_admin = true, hr_assistant = true, tech_admin = false,
    why = "Statistics (completion, ratings) without review text: the text gives HR Assistants \"limited access "
      .. "to confidential information (through exports)\" and they track cycles. Tech Admins run no cycles." },

  ---------------------------------------------------------------- 360 feedback
  { section = "360 feedback", action = "feedback_cycles.manage", label = "Create and edit 360 cycles",
    hr_admin = true, hr_assistant = true, tech_admin = false,
    why = "The text: HR Assistants \"can create and edit review and 360 cycles\" (including their visibility "
      .. "settings, which is why the text warns not to hand the role out too liberally)." },
  { section = "360 feedback", action = "feedback_cycles.track", label = "Track progress, send reminders",
    hr_admin = true, hr_assistant = true, tech_admin = false,
    why = "As for reviews: statuses and reminders, no content." },
  { section = "360 feedback", action = "feedback.create", label = "Create feedback",
    hr_admin = true, hr_assistant = true, tech_admin = false,
    why = "Adding reviewees and feedback requests to a 360 cycle is part of running it." },
  { section = "360 feedback", action = "feedback.delete", label = "Delete feedback",
    hr_admin = true, hr_assistant = false, tech_admin = false,
    why = "Written feedback can only be judged by someone who may read it. The sheet's \"(√)\" for HR "
      .. "Assistants is the narrower row feedback.delete_unstarted." },
  { section = "360 feedback", action = "feedback.delete_unstarted", label = "Delete feedback requests nobody has started",
    hr_admin = true, hr_assistant = true, tech_admin = false,
    why = "The sheet's \"(√)\" for HR Assistants in \"Delete feedback\": a request nobody has written anything "
      .. "for may be withdrawn (the feedback service checks that nothing was written)." },
  { section = "360 feedback", action = "feedback_cycles.delete", label = "Delete feedback cycles",
    hr_admin = true, hr_assistant = false, tech_admin = false,
    why = "As for review cycles: only someone who may see what was written may delete it all." },
  { section = "360 feedback", action = "feedback.read", label = "Access feedback content",
    hr_admin = true, hr_assistant = false, tech_admin = false,
    confidential = true, guest_ok = true, author_ok = true,
    self = true, direct_manager = true, indirect_manager = true,
    why = "Feedback is confidential: HR Admins only among the roles, subject to the hierarchy rule and the "
      .. "cycle's visibility settings. Reviewers, guests included, may revisit what they wrote (seed 001). "
      .. "Without cycle settings, people see feedback about themselves and their reports (seed 000)." },
  { section = "360 feedback", action = "feedback.export_pdf", label = "Export feedback to PDF",
    hr_admin = true, hr_assistant = false, tech_admin = false, confidential = true,
    why = "The PDF holds the feedback text itself, so it follows \"Access feedback content\": HR Admins, never "
      .. "for people above them." },
  { section = "360 feedback", action = "feedback.export_excel", label = "Export feedback statistics to Excel",
    hr_admin = true, hr_assistant = true, tech_admin = false,
    why = "Statistics without text, as for reviews: the HR Assistant's \"limited access ... through exports\"." },

  ---------------------------------------------------------------- Objectives
  { section = "Objectives", action = "objective_cycles.manage", label = "Create and edit objective cycles",
    hr_admin = true, hr_assistant = true, tech_admin = false,
    why = "Running cycles is what HR Assistants are for; objective cycles are cycles like the others." },
  { section = "Objectives", action = "objectives.nudge", label = "Nudge objective owners and managers into action",
    hr_admin = true, hr_assistant = true, tech_admin = false,
    why = "The objective counterpart of \"send reminders to those who are running late\"." },
  { section = "Objectives", action = "objectives.read_protected", label = "View objectives only shared with the manager",
    hr_admin = true, hr_assistant = false, tech_admin = false,
    confidential = true, self = true, direct_manager = true, indirect_manager = true, parts = { "named" },
    why = "A protected objective is for its owner, their managers up the chain, the colleagues named on it and HR "
      .. "Admins (the sheet's row: HR Admins may view objectives shared only with the manager). Confidential, so "
      .. "never for an HR Admin above whom the owner stands (\"HR Admins cannot see protected objectives of their own "
      .. "managers, even if HR creates the objective on their behalf\": writing it is no part in it). Not HR "
      .. "Assistants or Tech Admins: no confidential data." },

  ---------------------------------------------------------------- Pulse surveys
  { section = "Pulse surveys", action = "surveys.create", label = "Create pulse surveys",
    hr_admin = true, hr_assistant = true, tech_admin = false,
    why = "Seed 003: \"HR Assistants can create Pulse Surveys, if you have this feature enabled.\" HR Admins can do "
      .. "everything an HR Assistant can. Tech Admins configure the system, they do not ask employees questions; "
      .. "employees answer surveys, they do not run them." },
  { section = "Pulse surveys", action = "surveys.manage", label = "View, edit, share and export a survey's results",
    hr_admin = true, hr_assistant = false, tech_admin = false, parts = { "author" },
    why = "Seed 003: HR Assistants \"can view, edit, share, and export the data for any survey they have created. "
      .. "They do not have these permissions for other cycles.\" So the role grants it to HR Admins for every "
      .. "survey, and the part author to the one who created it (the survey service counts someone as the author "
      .. "only while they may still create surveys: an assistant whose role was taken away loses their surveys). "
      .. "Results are aggregates above the anonymity threshold, never who answered what, so HR Admins may read "
      .. "them all; Tech Admins and employees no." },
  { section = "Pulse surveys", action = "surveys.delete", label = "Delete pulse surveys",
    hr_admin = true, hr_assistant = false, tech_admin = false,
    why = "As for cycles: \"The HR Assistant cannot delete cycles, even if they created them.\" Deleting a survey "
      .. "deletes every answer in it: HR Admins only, with a confirmation." },
  { section = "Pulse surveys", action = "surveys.settings", label = "Set the company's anonymity threshold for surveys",
    hr_admin = true, hr_assistant = false, tech_admin = false,
    why = "The company threshold is the floor no survey may go below: a confidentiality policy, like the message "
      .. "defaults, so HR Admins. HR Assistants may raise it for their own surveys, never lower the floor; Tech "
      .. "Admins configure the system, not who may be recognised in results." },
  ---------------------------------------------------------------- Praise & private notes
  { section = "Praise & Private Notes", action = "praise.platforms", label = "Manage Platforms & Message defaults",
    hr_admin = true, hr_assistant = false, tech_admin = false,
    why = "The message defaults decide who reads feedback and praise by default and whether writers may stay "
      .. "anonymous: a confidentiality policy, so HR Admins, as the product specification and the sheet's text say. Connecting "
      .. "a chat platform needs its secrets, which are integrations (admin.integrations, Tech Admin); this row "
      .. "only switches kinds of message on and off. HR Assistants run cycles, not company-wide defaults." },
  { section = "Praise & Private Notes", action = "praise.badges", label = "Configure Badges",
    hr_admin = true, hr_assistant = false, tech_admin = false,
    why = "Badges stand for the company's values and every praise shows them: HR Admins own them. An uploaded "
      .. "image is served to everyone, so fewer hands is safer; HR Assistants run cycles, Tech Admins the system." },
  { section = "Praise & Private Notes", action = "praise.moderate", label = "Edit and delete messages",
    hr_admin = true, hr_assistant = false, tech_admin = false,
    why = "Taking down or correcting abusive or mistaken praise is an HR Admin duty. It covers praise, whatever its "
      .. "audience: praise is recognition, not confidential feedback. Private notes, feedback and feedback "
      .. "requests are never shown to HR Admins (docs/privacy.md), so they cannot be moderated either." },
  { section = "Praise & Private Notes", action = "praise.unveil_anonymous", label = "Unveil anonymous writer",
    hr_admin = true, hr_assistant = false, tech_admin = false, confidential = true,
    why = "Breaking anonymity is the most sensitive act in praise: HR Admins only, with a reason, in the audit "
      .. "log, and the writer is told; the subject being the writer, never for someone above them in their own "
      .. "chain." },
  { section = "Praise & Private Notes", action = "praise.wall", label = "Configure Praise Wall",
    hr_admin = true, hr_assistant = false, tech_admin = false,
    why = "The wall's office-screen links show company praise without a sign-in: what appears there and who gets "
      .. "a link is an HR decision. The screen only shows praise everyone may read anyway." },

  ---------------------------------------------------------------- Automations
  { section = "Automations", action = "automations.create", label = "Create an automation",
    hr_admin = true, hr_assistant = true, tech_admin = false,
    why = "Automations start cycles (e.g. a review after probation): creating them is running cycles, which "
      .. "HR Assistants may. Tech Admins do not run HR processes." },
  { section = "Automations", action = "automations.edit", label = "Edit or disable an automation",
    hr_admin = true, hr_assistant = true, tech_admin = false,
    why = "As creating: changing or pausing an automation is running cycles. Disabling is reversible, so "
      .. "it is the assistant's way to stop one (deleting is not theirs)." },
  { section = "Automations", action = "automations.delete", label = "Delete an automation",
    hr_admin = true, hr_assistant = false, tech_admin = false,
    why = "Deleting loses the automation and its history, like deleting a cycle, which the text reserves for "
      .. "HR Admins; an assistant can disable one instead." },

  ---------------------------------------------------------------- General administration
  { section = "General administration", action = "admin.features", label = "Change feature selection",
    hr_admin = true, hr_assistant = false, tech_admin = true,
    why = "Which modules the company uses is an HR decision and part of the system's overall configuration "
      .. "(Tech Admin in seed 000). Not HR Assistants: it changes everyone's product." },
  { section = "General administration", action = "admin.license", label = "License details",
    hr_admin = true, hr_assistant = false, tech_admin = true,
    why = "Seats and billing: account administration for the two admin roles; nothing for running cycles." },
  { section = "General administration", action = "admin.email_templates", label = "Email template setup",
    hr_admin = true, hr_assistant = false, tech_admin = false,
    why = "The wording of company-wide mail is an HR Admin's (the product's roles table gives email templates to "
      .. "HR Admins only); Tech Admins set up the mail server (admin.integrations), not what mail says. "
      .. "Assistants send reminders with the templates, they do not change them for everyone." },
  { section = "General administration", action = "admin.design", label = "Design editor",
    hr_admin = false, hr_assistant = false, tech_admin = true,
    why = "Seed 000 lists design with integrations and security as Tech Admin configuration; no HR role needs it." },
  { section = "General administration", action = "admin.audit_log", label = "Audit log access",
    hr_admin = true, hr_assistant = false, tech_admin = true,
    why = "The log shows who did what (never content): HR Admins answer for access to people's data, Tech "
      .. "Admins for the system's security. It reveals activity around confidential data, so not assistants." },
  { section = "General administration", action = "admin.audit_reasons", label = "Read typed reasons in the audit log",
    hr_admin = true, hr_assistant = false, tech_admin = false,
    why = "The words HR types when it reopens a review or 360 feedback or unveils an anonymous writer are "
      .. "confidential content, kept encrypted (services/reasons.lua). The log shows Tech Admins that such a "
      .. "decision was taken and by whom, never its words; HR Admins, who answer for these decisions, read them." },
  { section = "General administration", action = "admin.datetime", label = "Date & Time settings",
    hr_admin = true, hr_assistant = false, tech_admin = true,
    why = "The company's time zone and date formats decide when deadlines and reminders fall: HR Admins, who run "
      .. "the cycles, and Tech Admins, who keep the company settings (the product's roles table gives it to both)." },
  { section = "General administration", action = "admin.security", label = "Security settings",
    hr_admin = false, hr_assistant = false, tech_admin = true,
    why = "The text: Tech Admins configure security settings, and a mistake (IP ranges) can lock everyone out, "
      .. "so nobody else." },
  { section = "General administration", action = "admin.integrations", label = "Integrations",
    hr_admin = false, hr_assistant = false, tech_admin = true,
    why = "The text: the Tech Admin role is for setting up integrations." },
  { section = "General administration", action = "admin.bounces", label = "Email bounce management",
    hr_admin = false, hr_assistant = false, tech_admin = true,
    why = "Mail delivery problems are technical: Tech Admins." },
  { section = "General administration", action = "admin.xml_export", label = "Create and download XML export",
    hr_admin = false, hr_assistant = false, tech_admin = false, all_of = { "hr_admin", "tech_admin" },
    why = "The sheet: \"(only if also Tech Admin)\". The export holds everything, confidential content "
      .. "included, so it needs both the right to read content and the technical role: a super user." },
  { section = "General administration", action = "admin.impersonate", label = "User impersonation",
    hr_admin = false, hr_assistant = false, tech_admin = false, all_of = { "hr_admin", "tech_admin" },
    why = "The sheet: \"(only if also Tech Admin)\". Acting as someone shows all they can see: super users only." },

  ---------------------------------------------------------------- Additional (beyond the sheet)
  { section = "Additional", action = "users.edit", label = "Edit profile fields",
    hr_admin = true, hr_assistant = true, tech_admin = true,
    why = "Name, job title, department, location, hire date are not confidential. The text lists what the "
      .. "HR Assistant may not do in user management (reporting structure, email addresses, passwords), "
      .. "which implies they may do the rest; Tech Admins \"help with many tasks in user management\". "
      .. "The manager (users.change_manager) and email (users.change_email) have their own rows." },
  { section = "Additional", action = "users.change_email", label = "Change email addresses",
    hr_admin = true, hr_assistant = false, tech_admin = true,
    why = "The email is the sign-in identity: changing it can hand an account to someone else. The text says "
      .. "HR Assistants may not; account identity is Tech Admin and HR Admin work." },
  { section = "Additional", action = "users.lock", label = "Lock and unlock users",
    hr_admin = true, hr_assistant = false, tech_admin = true,
    why = "Locking a compromised or departing account is security work (Tech Admin) and people work (HR "
      .. "Admin). The last super user cannot be locked: the people service enforces that." },
  { section = "Additional", action = "users.view_all", label = "User list with statuses",
    hr_admin = true, hr_assistant = true, tech_admin = true,
    why = "Every admin role needs to find people and see whether they are invited, active, locked or "
      .. "deactivated to do its job; statuses are not confidential." },
  { section = "Additional", action = "users.convert_guest", label = "Turn a guest into a regular user",
    hr_admin = true, hr_assistant = false, tech_admin = false,
    why = "Graduating a guest adds a licensed user with access to internal data: the same decision as "
      .. "inviting someone (users.invite)." },
  { section = "Additional", action = "guests.invite", label = "Add guest accounts",
    hr_admin = "if:guests.hr_can_invite", hr_assistant = false, tech_admin = false,
    why = "Seed 001: \"Only HR: just HR Admins can create guest accounts\", and with \"Off\" not even HR. The "
      .. "flag is on for every setting but Off. Managers and everyone nominate guests as reviewers when the "
      .. "setting says so; the 360 service decides that with the same setting." },
  { section = "Additional", action = "sessions.end_for_user", label = "Sign someone out everywhere",
    hr_admin = true, hr_assistant = false, tech_admin = true,
    why = "A security response that goes with locking (users.lock): same roles." },
  { section = "Additional", action = "roles.grant_hr_admin", label = "Grant or revoke HR Admin",
    hr_admin = true, hr_assistant = false, tech_admin = false,
    why = "Seed 003: \"HR Admins can appoint other HR Admins\" (a super user holds HR Admin too). Revoking "
      .. "follows the same rule; the last super user's roles cannot be revoked (people service)." },
  { section = "Additional", action = "roles.grant_hr_assistant", label = "Grant or revoke HR Assistant",
    hr_admin = true, hr_assistant = false, tech_admin = false,
    why = "Seed 003: HR Admins \"can appoint HR Assistants\"." },
  { section = "Additional", action = "roles.grant_tech_admin", label = "Grant or revoke Tech Admin",
    hr_admin = false, hr_assistant = false, tech_admin = false, all_of = { "hr_admin", "tech_admin" },
    why = "Seed 003: \"Tech Admins can only be appointed by users who are both HR Admin and Tech Admin\"." },
  { section = "Additional", action = "admin.user_settings", label = "User Management Settings",
    hr_admin = true, hr_assistant = false, tech_admin = false,
    why = "The page holds the guest policy and \"Allow HR Assistant to pick a person's manager\". That switch "
      .. "widens HR Assistant powers over reporting lines, which decide who reads whose reviews; a Tech Admin "
      .. "who is also an HR Assistant (the old Admin role migrates to exactly that) could otherwise grant it "
      .. "to themselves. HR Admins only." },
  { section = "Additional", action = "admin.api_tokens", label = "API tokens",
    hr_admin = false, hr_assistant = false, tech_admin = true,
    why = "Tokens are for integrations: Tech Admins, like integrations." },
  { section = "Additional", action = "admin.outbox", label = "Outgoing mail queue",
    hr_admin = false, hr_assistant = false, tech_admin = true,
    why = "Mail delivery, like bounce management: Tech Admins." },
  { section = "Additional", action = "workflows.edit", label = "Edit cycle workflows",
    hr_admin = true, hr_assistant = false, tech_admin = false,
    why = "Workflow scripts decide what every cycle does and whom it mails: HR Admins customise processes "
      .. "(DESIGN). Assistants run cycles with the workflows as they are; Tech Admins write hooks, not HR "
      .. "processes." },
  { section = "Additional", action = "directory.view", label = "Company directory",
    hr_admin = false, hr_assistant = false, tech_admin = false, everyone = true,
    why = "Every employee sees the directory; guests never do (they are denied everything but their own "
      .. "feedback before roles are even looked at)." },
  { section = "Additional", action = "feedback.write", label = "Write feedback you were asked for",
    hr_admin = false, hr_assistant = false, tech_admin = false, everyone = true, guest_ok = true,
    why = "Any nominated reviewer writes feedback (the 360 service checks the nomination); a guest only for a "
      .. "request they were nominated for or wrote (seed 001). No role adds anything." },
  { section = "Additional", action = "feedback.nominate", label = "Nominate reviewers for a 360",
    hr_admin = false, hr_assistant = false, tech_admin = false, self = true, direct_manager = true,
    why = "Seed 001: the reviewee (or their manager) picks who gives them feedback; HR nominates through "
      .. "feedback.create (\"nominating a reviewer ... via the company overview screen\"). Each 360 cycle says which "
      .. "of the reviewee, the manager and HR may, so the 360 service narrows this row; the manager who approves is "
      .. "the one the cycle fixed at its start." },
  { section = "Additional", action = "feedback.approve", label = "Approve a 360's reviewers, change them afterwards",
    hr_admin = true, hr_assistant = false, tech_admin = false, direct_manager = true,
    why = "The direct manager approves the reviewers of their reports. After approval only that manager or an HR "
      .. "Admin changes them (PRODUCT.md): not HR Assistants, who run the cycle but would otherwise reshape whose "
      .. "feedback a manager reads. Not confidential: who was asked is not what they wrote." },
  { section = "Additional", action = "review.write_self", label = "Write your self-assessment",
    hr_admin = false, hr_assistant = false, tech_admin = false, self = true,
    why = "Only the reviewee writes their self-assessment; no role may write it for them." },
  { section = "Additional", action = "review.write_manager", label = "Write the manager review",
    hr_admin = false, hr_assistant = false, tech_admin = false, direct_manager = true,
    why = "The direct manager writes the review; an HR Admin who needs to reassign it changes the reporting "
      .. "line (users.change_manager) rather than writing in someone else's name." },
  { section = "Additional", action = "messages.write", label = "Give praise, write feedback and notes, ask for feedback",
    hr_admin = false, hr_assistant = false, tech_admin = false, everyone = true,
    why = "Anyone may recognise a colleague, write them feedback, keep a note or ask for feedback (the message "
      .. "defaults may switch a kind off). Guests never: they only write the 360 feedback they were asked for." },
  { section = "Additional", action = "messages.read_everyone", label = "Read company-visible praise",
    hr_admin = false, hr_assistant = false, tech_admin = false, everyone = true,
    why = "Praise whose writer chose \"everyone\" is for the whole company: the wall, the home stream, profiles." },
  { section = "Additional", action = "messages.read_managers", label = "Read a message for its recipients and their managers",
    hr_admin = false, hr_assistant = false, tech_admin = false, confidential = true, direct_manager = true,
    parts = { "author", "recipient", "named" },
    why = "The writer, the recipients, people it was shared with by name, and each recipient's direct manager "
      .. "(the relation is checked per recipient). Not managers further up and no role: HR Admins read none of "
      .. "it (docs/privacy.md)." },
  { section = "Additional", action = "messages.read_recipients", label = "Read a message for its recipients only",
    hr_admin = false, hr_assistant = false, tech_admin = false, confidential = true,
    parts = { "author", "recipient", "named" },
    why = "Only the writer, the recipients and people it was shared with by name; managers only when it is "
      .. "addressed to them, and no role reads it." },
  { section = "Additional", action = "messages.read_private", label = "Read a private note",
    hr_admin = false, hr_assistant = false, tech_admin = false, confidential = true,
    parts = { "author", "named" },
    why = "A note is its writer's, and those they shared it with by name. The person it is about does not read "
      .. "it unless it is shared with them; no manager, no role." },
  { section = "Additional", action = "messages.edit_own", label = "Edit or delete your own message",
    hr_admin = false, hr_assistant = false, tech_admin = false, confidential = true,
    parts = { "author" },
    why = "Only the writer changes what they wrote (HR Admins moderate praise with praise.moderate)." },
  { section = "Additional", action = "feedback_requests.create", label = "Ask for feedback about someone",
    hr_admin = false, hr_assistant = false, tech_admin = false, self = true, direct_manager = true,
    why = "Ask about yourself, or as the direct manager about a report. Not HR roles and not managers further "
      .. "up: feedback about a person is gathered by them or their manager." },
  { section = "Additional", action = "feedback_requests.read", label = "See a feedback request",
    hr_admin = false, hr_assistant = false, tech_admin = false, confidential = true,
    parts = { "author", "recipient" },
    why = "The one who asked (author) and those asked (recipients). The person it is about, when someone else "
      .. "asked, is not told: the answers go to the one who asked." },
  { section = "Additional", action = "objective_cycles.delete", label = "Delete objective cycles",
    hr_admin = true, hr_assistant = false, tech_admin = false,
    why = "Deleting a cycle deletes everyone's objectives in it, protected ones included, which only HR Admins may "
      .. "read: as for review and 360 cycles, assistants create and edit cycles but do not delete them." },
  { section = "Additional", action = "objectives.read_public", label = "Read public objectives",
    hr_admin = false, hr_assistant = false, tech_admin = false, everyone = true,
    why = "A public objective is for the whole company (PRODUCT.md: \"Public: everyone\"); guests never." },
  { section = "Additional", action = "objectives.read_private", label = "Read a private objective",
    hr_admin = false, hr_assistant = false, tech_admin = false, confidential = true, self = true,
    parts = { "named" },
    why = "A private objective is its owner's and the people they granted it to by name, nobody else: not the "
      .. "managers (current SI), and seed 003: \"private objectives are hidden from HR Admins, unless specifically "
      .. "granted visibility\", so no role reads it." },
  { section = "Additional", action = "objectives.create_for", label = "Create objectives for someone",
    hr_admin = true, hr_assistant = true, tech_admin = false, self = true, direct_manager = true,
    why = "Everyone sets their own objectives, managers set them for their direct reports (one objective for "
      .. "several at once), and HR sets them on someone's behalf (PRODUCT.md). The cycle narrows who creates "
      .. "(employees, managers or both). Writing one reads nothing: an HR Admin may create a protected objective "
      .. "for their own manager and still not see it." },
  { section = "Additional", action = "objectives.set_company", label = "Set company objectives",
    hr_admin = true, hr_assistant = true, tech_admin = false,
    why = "Company objectives are the top of the alignment tree, owned by a leader and set up with HR, who run "
      .. "objective cycles (as in SI, where admins create company objectives)." },
  { section = "Additional", action = "objectives.edit", label = "Edit and update an objective",
    hr_admin = false, hr_assistant = false, tech_admin = false, self = true, direct_manager = true,
    parts = { "author" },
    why = "The owner keeps their objective up to date, and their direct manager may too (managers set their "
      .. "reports' objectives), and so may whoever set it on the owner's behalf (its author). Only while the "
      .. "cycle's windows allow it, and only someone who may read it (the objectives service checks both): an "
      .. "HR Admin who wrote a protected objective for their own manager cannot read it, so cannot change it. No "
      .. "role edits other people's objectives." },
  { section = "Additional", action = "objectives.export_excel", label = "Export objectives to Excel",
    hr_admin = true, hr_assistant = true, tech_admin = false,
    why = "HR follows objective cycles; the file holds only the objectives the one exporting may read, so an HR "
      .. "Assistant's export holds public objectives, an HR Admin's no private ones and none of their own "
      .. "managers' protected ones." },
  { section = "Additional", action = "one_on_ones.create", label = "Start 1:1 meetings with a colleague",
    hr_admin = false, hr_assistant = false, tech_admin = false, everyone = true,
    why = "Any employee may meet a colleague regularly (usually a manager and a report, but any pair): the "
      .. "series service checks that the other person is an active employee. Guests never (rule 2). No role adds "
      .. "anything: HR does not set up other people's 1:1s." },
  { section = "Additional", action = "one_on_ones.read", label = "Read a 1:1 series and its shared items",
    hr_admin = false, hr_assistant = false, tech_admin = false, parts = { "participant" },
    why = "A 1:1 is a conversation between two people: only they read its meetings and shared talking points, "
      .. "notes and action items. No role grants it and there is no manager relation, so HR Admins and the "
      .. "managers of both do not read 1:1s (PRODUCT.md: users object when HR audits 1:1 notes)." },
  { section = "Additional", action = "one_on_ones.write", label = "Run a 1:1: add items, tick them, plan, move, skip or end meetings",
    hr_admin = false, hr_assistant = false, tech_admin = false, parts = { "participant" },
    why = "Either of the two people runs the series; nobody else can even see it." },
  { section = "Additional", action = "one_on_ones.read_private", label = "Read a private 1:1 item",
    hr_admin = false, hr_assistant = false, tech_admin = false, parts = { "author" },
    why = "A private talking point, note or action item is for its author alone: not the other participant, not "
      .. "managers, not HR Admins (as Leapsome). An impersonating super user is not its author either." },
  { section = "Additional", action = "one_on_ones.edit_item", label = "Change or delete a 1:1 item",
    hr_admin = false, hr_assistant = false, tech_admin = false, parts = { "author" },
    why = "Only the person who wrote a talking point, note or action item changes or deletes it; the other "
      .. "participant may tick a shared one off." },
  { section = "Additional", action = "surveys.read_shared", label = "Read survey results shared with you",
    hr_admin = false, hr_assistant = false, tech_admin = false, parts = { "named", "recipient" },
    why = "The creator shares results with named colleagues (part named: the whole results, threshold applied) "
      .. "and/or with managers (part recipient: a manager who has someone in the survey reads their team's slice, "
      .. "threshold applied). No role adds anything: sharing is the creator's decision." },
  { section = "Additional", action = "surveys.answer", label = "Answer a pulse survey",
    hr_admin = false, hr_assistant = false, tech_admin = false, parts = { "participant" },
    why = "Only the people invited to a round answer it (part participant), once. No role answers for someone "
      .. "else; guests are never invited." },
}
