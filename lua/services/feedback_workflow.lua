-- The 360 feedback kind of cycle for the workflow engine (services/workflows.lua): the dates its
-- timeline can use, what its phases allow, the events the 360 services emit and what each is
-- about (a reviewee's 360 — a "subject" — or one reviewer's request), who a step can mail, the
-- named filters, the data `only` functions see, and the mail templates. The built-in script of
-- this kind is workflows/feedback_360.lua.
--
-- Guests only ever get mail as reviewers (their invitation, reminders to write): no status mail.
local db = require "lib.db"
local util = require "lib.util"
local dates = require "lib.dates"
local settings = require "services.settings"
local workflows = require "services.workflows"
local feedback_cycles = require "services.feedback_cycles"

local M = {}

local SUBJECT_SQL = [[
  SELECT s.id, s.cycle_id, s.reviewee_id, s.manager_id, s.nominations_done_at, s.approved_at, s.released_at,
    u.name AS reviewee_name, u.email AS reviewee_email, u.status AS reviewee_status, u.department, u.location,
    u.job_title, m.name AS manager_name, m.email AS manager_email, m.status AS manager_user_status,
    (SELECT count(*) FROM feedback_nominations r WHERE r.subject_id = s.id AND r.status <> 'declined'
      AND r.relationship NOT IN ('self', 'manager')) AS nominated,
    (SELECT count(*) FROM feedback_nominations r WHERE r.subject_id = s.id AND r.status = 'proposed') AS proposed,
    (SELECT count(*) FROM feedback_nominations r WHERE r.subject_id = s.id AND r.status = 'approved'
      AND r.feedback_status = 'shared') AS shared
  FROM feedback_subjects s JOIN users u ON u.id = s.reviewee_id LEFT JOIN users m ON m.id = s.manager_id ]]

local REQUEST_SQL = [[
  SELECT r.id, r.subject_id, r.cycle_id, r.reviewer_id, r.relationship, r.status, r.feedback_status, r.approved_at,
    r.declined_at, r.shared_at, r.reopened_at, v.name AS reviewer_name, v.email AS reviewer_email,
    v.status AS reviewer_status, v.kind AS reviewer_kind, s.reviewee_id, s.manager_id, u.name AS reviewee_name,
    u.email AS reviewee_email, u.status AS reviewee_status, m.name AS manager_name, m.email AS manager_email,
    m.status AS manager_user_status
  FROM feedback_nominations r JOIN users v ON v.id = r.reviewer_id JOIN feedback_subjects s ON s.id = r.subject_id
  JOIN users u ON u.id = s.reviewee_id LEFT JOIN users m ON m.id = s.manager_id ]]

local function decoded(cycle)
  if type(cycle.rules) == "table" then return cycle end
  local c = util.copy(cycle)
  return feedback_cycles.decode(c)
end

local function subject_data(s)
  return { id = s.id, reviewee_id = s.reviewee_id, manager_id = s.manager_id, nominations_done_at = s.nominations_done_at,
    approved_at = s.approved_at, released_at = s.released_at, nominated = s.nominated, proposed = s.proposed,
    shared = s.shared, reviewee = { name = s.reviewee_name, department = s.department, location = s.location,
      job_title = s.job_title }, manager = s.manager_id and { name = s.manager_name } or nil }
end

local function request_data(r)
  return { id = r.id, subject_id = r.subject_id, reviewer_id = r.reviewer_id, relationship = r.relationship,
    status = r.status, feedback_status = r.feedback_status, approved_at = r.approved_at, declined_at = r.declined_at,
    shared_at = r.shared_at, guest = r.reviewer_kind == "guest", reviewee = { name = r.reviewee_name } }
end


local function link(ctx, path) return ctx.url .. path end

-- ------------------------------------------------------------------ recipients

local function person(id, name, email, status, kind)
  return id and kind ~= "guest" and { id = id, name = name, email = email, status = status } or nil
end

-- The reviewee of each subject or request.
local function to_reviewees(rows, ctx)
  local out = {}
  for _, g in ipairs(workflows.group_by_person(rows, function(r)
      return person(r.reviewee_id, r.reviewee_name, r.reviewee_email, r.reviewee_status) end, ctx)) do
    local sid = g.rows[1].subject_id or g.rows[1].id
    out[#out + 1] = { user = g.user, cc = ctx.admins_cc,
      vars = workflows.want_vars(ctx, out) and workflows.with(ctx.vars, { reviewee = g.user.name, is_reviewee = "yes",
        reviewer = g.rows[1].reviewer_name, manager = g.rows[1].manager_name or "",
        link = link(ctx, "/feedback/360/" .. sid), count = 1 }) or nil }
  end
  return out
end

-- The approving manager of each subject or request: one mail per manager naming their reports.
local function to_approvers(rows, ctx)
  local out = {}
  for _, g in ipairs(workflows.group_by_person(rows, function(r)
      return person(r.manager_id, r.manager_name, r.manager_email, r.manager_user_status) end, ctx)) do
    local names = workflows.sorted_names(g.rows, function(r) return r.reviewee_name end)
    local cycle_id = g.rows[1].cycle_id
    local one = #g.rows == 1 and g.rows[1] or nil
    out[#out + 1] = { user = g.user, cc = ctx.admins_cc,
      vars = workflows.want_vars(ctx, out) and workflows.with(ctx.vars, { reviewees = workflows.names_text(names), count = #g.rows,
        reviewee = one and one.reviewee_name or workflows.names_text(names), is_manager = "yes", manager = g.user.name,
        reviewer = one and one.reviewer_name or nil,
        link = link(ctx, one and ("/feedback/360/" .. (one.subject_id or one.id)) or ("/feedback/cycles/" .. cycle_id
          .. "/approvals")) }) or nil }
  end
  return out
end

-- Who nominates each subject under the cycle's rule: the reviewee or the manager (HR uses the
-- overview and gets no mail).
local function to_nominators(rows, ctx, step, cycle)
  local rule = decoded(cycle).rules.nominator
  if rule == "reviewee" then return to_reviewees(rows, ctx, step) end
  if rule == "manager" then return to_approvers(rows, ctx, step) end
  return {}
end

-- One mail per reviewer, naming everyone they are asked about; guests who have not chosen a
-- password yet get a sign-in link in it (never in a dry run).
local function to_reviewers(rows, ctx)
  local out = {}
  local accounts = require "services.accounts"
  for _, g in ipairs(workflows.group_by_person(rows, function(r)
      return { id = r.reviewer_id, name = r.reviewer_name, email = r.reviewer_email, status = r.reviewer_status } end,
      ctx)) do
    local names = util.map(g.rows, function(r) return r.relationship == "self" and "yourself" or r.reviewee_name end)
    local one = #g.rows == 1 and g.rows[1] or nil
    local r1 = g.rows[1]
    local vars
    if workflows.want_vars(ctx, out) then
      vars = workflows.with(ctx.vars, { reviewees = workflows.names_text(names), count = #g.rows, is_reviewer = "yes",
        reviewee = one and (one.relationship == "self" and "yourself" or one.reviewee_name) or workflows.names_text(names),
        manager = r1.manager_name or "", is_guest = r1.reviewer_kind == "guest" and "yes" or nil,
        link = link(ctx, one and ("/feedback/requests/" .. one.id) or "/home") })
      if r1.reviewer_kind == "guest" and r1.reviewer_status == "invited" then
        vars.set_password_link = ctx.dry and (ctx.url .. "/password/set?token=(a link for this guest)")
          or accounts.invitation_link({ id = r1.reviewer_id })
      end
    end
    out[#out + 1] = { user = g.user, vars = vars }
  end
  return out
end

-- ------------------------------------------------------------------ filters

local function released(s, cycle)
  return feedback_cycles.released_to_reviewee(decoded(cycle), s)
end

M.KIND = {
  label = "360 feedback",
  table = "feedback_cycles",
  admins_table = "feedback_cycle_admins",
  area = "feedback_cycle",
  load = function(id) return feedback_cycles.get(id) end,
  tag = "feedback_cycle",
  related_type = "feedback_cycle",
  link = function(cycle) return "/feedback/cycles/" .. cycle.id end,
  template_prefix = "feedback_360.",
  template_example = "feedback_360.write_reminder",
  main_item = "subject",
  anchors = { { "start", "start_date", "the start date" }, { "nominate_due", "nominate_due", "the nomination deadline" },
    { "approve_due", "approve_due", "the approval deadline" }, { "write_due", "write_due", "the writing deadline" },
    { "manager_release", "manager_release_date", "the release to managers" },
    { "release", "release_date", "the release to reviewees" } },
  activities = { { "nominate", "choose reviewers" }, { "approve", "approve reviewers" }, { "write", "write and share feedback" },
    { "release", "release feedback early" } },
  items = {
    subject = {
      description = "a reviewee's 360: dates reviewers were handed in, approved and released, how many were "
        .. "nominated, wait for approval and shared their feedback, the reviewee's name, department, location and job "
        .. "title, the manager's name",
      all = function(cycle)
        return db.query(SUBJECT_SQL .. "WHERE s.cycle_id = ? ORDER BY u.name COLLATE FOLD, s.id", cycle.id)
      end,
      page = function(cycle, after, limit)
        return db.query(SUBJECT_SQL .. "WHERE s.cycle_id = ? AND s.id > ? ORDER BY s.id LIMIT ?", cycle.id, after, limit)
      end,
      one = function(id) return db.row(SUBJECT_SQL .. "WHERE s.id = ?", id) end,
      key = function(s) return ("s%d.%d"):format(s.id, s.released_at or 0) end,
      data = subject_data,
      reviewee = function(s) return s.reviewee_name end,
      samples = function()
        local base = { id = 1, reviewee_id = 2, manager_id = 3, reviewee_name = "Sample Reviewee",
          manager_name = "Sample Manager", department = "Sales", location = "London", job_title = "Account Executive",
          nominated = 0, proposed = 0, shared = 0 }
        local a, b, c = util.copy(base), util.copy(base), util.copy(base)
        b.id, b.nominated, b.proposed, b.nominations_done_at = 2, 4, 4, 1767600000
        c.id, c.nominated, c.approved_at, c.shared = 3, 5, 1767700000, 3
        return { a, b, c }
      end,
    },
    request = {
      description = "one reviewer asked about a reviewee: relationship (self, manager, peer, report, guest), status "
        .. "(proposed, approved, declined), feedback status (not_started, draft, shared), dates, whether a guest, the "
        .. "reviewee's name",
      all = function(cycle)
        return db.query(REQUEST_SQL .. "WHERE r.cycle_id = ? ORDER BY v.name COLLATE FOLD, r.id", cycle.id)
      end,
      page = function(cycle, after, limit)
        return db.query(REQUEST_SQL .. "WHERE r.cycle_id = ? AND r.id > ? ORDER BY r.id LIMIT ?", cycle.id, after, limit)
      end,
      one = function(id) return db.row(REQUEST_SQL .. "WHERE r.id = ?", id) end,
      key = function(r) return ("q%d.%d"):format(r.id, r.reopened_at or 0) end,
      data = request_data,
      reviewee = function(r) return r.reviewee_name end,
      samples = function()
        local base = { id = 1, subject_id = 1, reviewer_id = 4, relationship = "peer", status = "approved",
          feedback_status = "not_started", reviewer_kind = "employee", reviewee_name = "Sample Reviewee" }
        local a, b, c = util.copy(base), util.copy(base), util.copy(base)
        b.id, b.relationship, b.reviewer_kind, b.feedback_status = 2, "guest", "guest", "draft"
        c.id, c.status, c.declined_at = 3, "declined", 1767700000
        return { a, b, c }
      end,
    },
  },
  events = { { "feedback_cycle.started", "cycle" }, { "feedback_cycle.closed", "cycle" },
    { "feedback_subject.added", "subject" },
    { "nominations.submitted", "subject" }, { "feedback.released", "subject" }, { "nomination.approved", "request" },
    { "nomination.declined", "request" }, { "feedback.shared", "request" }, { "feedback.reopened", "request" } },
  groups = {
    { "reviewees", label = "Reviewees", item = "subject", dated = true, cycle_event = true, recipients = to_reviewees },
    { "nominators", label = "Whoever chooses the reviewers (the reviewee or their manager, as the cycle says)",
      item = "subject", dated = true, cycle_event = true, recipients = to_nominators },
    { "approvers", label = "The reviewees' managers (who approve)", item = "subject", dated = true, cycle_event = true,
      recipients = to_approvers },
    { "reviewers", label = "Reviewers (guests too)", item = "request", dated = true, cycle_event = true,
      recipients = to_reviewers },
    { "reviewee", label = "The reviewee", item = "subject", subject_event = true, request_event = true,
      recipients = to_reviewees },
    { "nominator", label = "Whoever chooses the reviewee's reviewers", item = "subject", subject_event = true,
      recipients = to_nominators },
    { "approver", label = "The reviewee's manager", item = "subject", subject_event = true, request_event = true,
      recipients = to_approvers },
    { "reviewer", label = "The reviewer", item = "request", request_event = true, recipients = to_reviewers },
  },
  filters = {
    { "not_nominated", label = "reviewers not handed in yet", item = "subject",
      fn = function(s) return not s.nominations_done_at and not s.approved_at end },
    { "not_approved", label = "reviewers chosen, not approved", item = "subject",
      fn = function(s) return not s.approved_at and (s.nominations_done_at ~= nil or s.proposed > 0) end },
    { "has_feedback", label = "some feedback is shared", item = "subject", fn = function(s) return s.shared > 0 end },
    { "released", label = "released to the reviewee on the date (not early)", item = "subject",
      fn = function(s, c)
        return s.shared > 0 and not s.released_at and decoded(c).visibility.reviewee_reads and released(s, c)
      end },
    { "managers_read", label = "shared feedback their manager reads", item = "subject",
      fn = function(s, c) return s.shared > 0 and decoded(c).visibility.direct_manager_reads end },
    { "not_written", label = "approved, not shared yet", item = "request",
      fn = function(r) return r.status == "approved" and r.feedback_status ~= "shared" end },
    { "reviewee_told", label = "the cycle tells the reviewee about declines", item = "request",
      fn = function(_, c) return decoded(c).rules.decline_tells_reviewee end },
  },
  sample_cycle = { id = 1, name = "Sample 360", phase = "running", start_date = "2026-01-05", nominate_due = "2026-01-12",
    approve_due = "2026-01-16", write_due = "2026-02-02", release_date = "2026-02-09", rules = "{}", visibility = "{}" },
  cycle_data = function(cycle)
    local c = decoded(cycle)
    return { id = c.id, name = c.name, phase = c.phase, start_date = c.start_date, nominate_due = c.nominate_due,
      approve_due = c.approve_due, write_due = c.write_due, manager_release_date = c.manager_release_date,
      release_date = c.release_date, rules = c.rules, anonymous = c.visibility.anonymous,
      today = dates.today() }
  end,
  vars = function(cycle)
    local c = decoded(cycle)
    local function day(d) return d and util.human_date(d) or "" end
    return { cycle = c.name, company = settings.get("company.name"), intro = c.intro ~= "" and c.intro
      or nil, start_date = day(c.start_date), nominate_due = day(c.nominate_due), approve_due = day(c.approve_due),
      write_due = day(c.write_due), release_date = day(c.release_date), suggested = c.rules.suggested,
      minimum = c.rules.min, anonymous = c.visibility.anonymous and "yes" or nil,
      self_feedback = c.rules.self_feedback and "yes" or nil }
  end,
  placeholders = function(group)
    return { reviewee = "(reviewee)", reviewees = "(reviewees)", reviewer = "(reviewer)", manager = "(manager)",
      is_reviewee = (group == "reviewees" or group == "reviewee") and "yes" or nil,
      is_manager = (group == "approvers" or group == "approver") and "yes" or nil,
      is_reviewer = (group == "reviewers" or group == "reviewer") and "yes" or nil }
  end,
}

function M.KIND.templates(mail)
  local sign = "\n\nThanks,\n{{company}}"
  mail.define_template("feedback_360.nominate", {
    description = "Asks whoever chooses the reviewers (the reviewee, or their manager) to do so when a 360 starts.",
    subject = "{{cycle}}: choose who gives {{#is_reviewee}}you{{/is_reviewee}}{{#is_manager}}{{reviewees}}{{/is_manager}} feedback",
    text = "Hello {{first_name}},\n\nThe 360 feedback round {{cycle}} has started.{{#is_reviewee}} Choose the colleagues"
      .. " (or outside people you work with) whose feedback would help you{{/is_reviewee}}{{#is_manager}} Choose"
      .. " reviewers for {{reviewees}}{{/is_manager}}: about {{suggested}} of them, at least {{minimum}}."
      .. "{{#nominate_due}} Please do it by {{nominate_due}}.{{/nominate_due}}"
      .. "{{#self_feedback}}{{#is_reviewee}} You are also asked to write about yourself.{{/is_reviewee}}{{/self_feedback}}"
      .. "\n\n{{link}}" .. sign,
    vars = { cycle = "cycle name", reviewees = "for managers: whose reviewers", suggested = "how many reviewers to choose",
      minimum = "the fewest", nominate_due = "nomination deadline", self_feedback = "set when reviewees write about themselves",
      is_reviewee = "set in the reviewee's mail", is_manager = "set in the manager's mail", link = "link" },
  })
  mail.define_template("feedback_360.nominate_reminder", {
    description = "Reminds those who have not chosen reviewers yet.",
    subject = "Reminder: choose reviewers for {{cycle}}",
    text = "Hello {{first_name}},\n\nThe reviewers for {{#is_reviewee}}your 360{{/is_reviewee}}{{#is_manager}}the 360 of"
      .. " {{reviewees}}{{/is_manager}} in {{cycle}} are not chosen yet{{#nominate_due}} (due {{nominate_due}}){{/nominate_due}}."
      .. "\n\n{{link}}" .. sign,
    vars = { cycle = "cycle name", reviewees = "for managers", nominate_due = "nomination deadline",
      is_reviewee = "set in the reviewee's mail", is_manager = "set in the manager's mail", link = "link" },
  })
  mail.define_template("feedback_360.approve", {
    description = "Asks the manager to approve the reviewers a report chose.",
    subject = "{{reviewees}}: approve the reviewers for {{cycle}}",
    text = "Hello {{first_name}},\n\n{{reviewees}} chose who should give them feedback in {{cycle}}. Look at the list,"
      .. " change it if you like, and approve it: the reviewers are invited once you do."
      .. "{{#approve_due}} Please approve by {{approve_due}}.{{/approve_due}}\n\n{{link}}" .. sign,
    vars = { reviewees = "whose reviewers", cycle = "cycle name", approve_due = "approval deadline", link = "link" },
  })
  mail.define_template("feedback_360.approve_reminder", {
    description = "Reminds managers whose reports' reviewers wait for approval.",
    subject = "Reminder: approve the reviewers of {{reviewees}}",
    text = "Hello {{first_name}},\n\nThe reviewers of {{reviewees}} for {{cycle}} wait for your approval"
      .. "{{#approve_due}} (due {{approve_due}}){{/approve_due}}. Nobody is invited until you approve.\n\n{{link}}" .. sign,
    vars = { reviewees = "whose reviewers", cycle = "cycle name", approve_due = "approval deadline", link = "link" },
  })
  mail.define_template("feedback_360.invite", {
    description = "Invites an approved reviewer to write feedback (one mail for everyone they were approved for within "
      .. "the hour); a guest gets a link to choose a password.",
    subject = "{{company}} asks for your feedback about {{reviewees}}",
    text = "Hello {{first_name}},\n\nYou are asked for feedback about {{reviewees}} in {{cycle}}."
      .. "{{#intro}}\n\n{{intro}}{{/intro}}"
      .. "{{#anonymous}}\n\nYour answers are shown without your name.{{/anonymous}} You may skip any question."
      .. "{{#write_due}} Please share your feedback by {{write_due}}.{{/write_due}}"
      .. "{{#set_password_link}}\n\nYou have a guest account on Candor at {{company}}. Choose your password here"
      .. " (the link works for 7 days), then sign in with this email address:\n{{set_password_link}}{{/set_password_link}}"
      .. "\n\n{{link}}" .. sign,
    vars = { reviewees = "who they write about", count = "how many", cycle = "cycle name", intro = "the cycle's introduction",
      anonymous = "set when answers are anonymous", write_due = "writing deadline",
      set_password_link = "for new guests: where to choose a password", is_guest = "set for guests", link = "link" },
  })
  mail.define_template("feedback_360.write_reminder", {
    description = "Reminds reviewers who have not shared their feedback.",
    subject = "Reminder: your feedback about {{reviewees}} ({{cycle}})",
    text = "Hello {{first_name}},\n\nYour feedback about {{reviewees}} for {{cycle}} is not shared yet"
      .. "{{#write_due}}; the deadline is {{write_due}}{{/write_due}}. Any question can be skipped, and it only takes a few"
      .. " minutes.\n\n{{link}}\n\nIf you shared it meanwhile, ignore this mail." .. sign,
    vars = { reviewees = "who they write about", cycle = "cycle name", write_due = "writing deadline", link = "link" },
  })
  mail.define_template("feedback_360.declined", {
    description = "Tells a reviewee that someone they asked declined (when the cycle says so); they may choose someone else.",
    subject = "{{reviewer}} cannot give you feedback for {{cycle}}",
    text = "Hello {{first_name}},\n\n{{reviewer}} declined to give you feedback for {{cycle}}. You can choose someone"
      .. " else; your manager approves the new reviewer.\n\n{{link}}" .. sign,
    vars = { reviewer = "who declined", cycle = "cycle name", link = "link" },
  })
  mail.define_template("feedback_360.released", {
    description = "Tells a reviewee that their 360 feedback is ready to read.",
    subject = "Your feedback from {{cycle}} is ready",
    text = "Hello {{first_name}},\n\nThe feedback about you from {{cycle}} is ready for you to read.\n\n{{link}}" .. sign,
    vars = { cycle = "cycle name", link = "link" },
  })
  mail.define_template("feedback_360.ready_for_managers", {
    description = "Tells managers that the feedback about their reports can be read now.",
    subject = "{{cycle}}: the feedback about {{reviewees}} is ready",
    text = "Hello {{first_name}},\n\nThe feedback about {{reviewees}} from {{cycle}} is released to managers.\n\n{{link}}" .. sign,
    vars = { reviewees = "whose feedback", cycle = "cycle name", link = "link" },
  })
  mail.define_template("feedback_360.nudge", {
    description = "A manager's nudge to a report who has not chosen their reviewers.",
    subject = "{{sender}} is waiting for your reviewers ({{cycle}})",
    text = "Hello {{first_name}},\n\n{{sender}} sent you a nudge: please choose who should give you feedback for"
      .. " {{cycle}}.{{#due}} It is due on {{due}}.{{/due}}\n\n{{link}}" .. sign,
    vars = { sender = "who nudges", cycle = "cycle name", due = "nomination deadline (optional)", link = "link" },
  })
  mail.define_template("feedback_360.reminder", {
    description = "A reminder HR sends by hand to people who are late in a 360 cycle (with a preview first).",
    subject = "Reminder: {{cycle}}",
    text = "Hello {{first_name}},\n\nThis is a reminder from {{sender}} about {{cycle}}: please {{what}}."
      .. "{{#due}} It is due on {{due}}.{{/due}}{{#message}}\n\n{{message}}{{/message}}\n\n{{link}}" .. sign,
    vars = { sender = "who sends it", what = "what is missing", due = "the due date (optional)",
      message = "their note (optional)", cycle = "cycle name", link = "link" },
  })
end

function M.init()
  workflows.define_kind("feedback_360", M.KIND)
end

return M
