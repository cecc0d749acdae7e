-- The performance review kind of cycle for the workflow engine (services/workflows.lua): the
-- dates its timeline can use, what its phases allow, the events the review services emit, who
-- a step can mail, the named filters, the data `only` functions see, and its mail templates.
-- workflows/performance_review.lua is the built-in script of this kind.
local db = require "lib.db"
local util = require "lib.util"
local dates = require "lib.dates"
local workflows = require "services.workflows"
local cycles = require "services.cycles"

local M = {}

local REVIEW_SQL = [[
  SELECT r.id, r.cycle_id, r.reviewee_id, r.manager_id, r.self_status, r.manager_status, r.self_submitted_at,
         r.manager_submitted_at, r.shared_at, r.reviewee_signed_at, r.manager_signed_at, r.closed_at, r.reopened_at,
         u.name AS reviewee_name, u.email AS reviewee_email, u.status AS reviewee_status,
         u.department, u.location, u.job_title, u.hire_date,
         m.name AS manager_name, m.email AS manager_email, m.status AS manager_status_user
  FROM reviews r JOIN users u ON u.id = r.reviewee_id LEFT JOIN users m ON m.id = r.manager_id ]]

-- Plain status data for `only` functions: never answer text.
local REVIEW_FIELDS = { "id", "reviewee_id", "manager_id", "self_status", "manager_status", "self_submitted_at",
  "manager_submitted_at", "shared_at", "reviewee_signed_at", "manager_signed_at", "closed_at", "reopened_at" }

local function has_self(cycle) return cycle.self_assessment ~= 0 and cycle.self_assessment ~= false end

local function review_data(r, cycle)
  local out = {}
  for _, k in ipairs(REVIEW_FIELDS) do out[k] = r[k] end
  out.has_self_assessment = has_self(cycle)
  out.reviewee = { name = r.reviewee_name, department = r.department, location = r.location,
    job_title = r.job_title, hire_date = r.hire_date }
  out.manager = r.manager_id and { name = r.manager_name } or nil
  return out
end

-- Reviews to try `only` functions on when a script is checked.
local function samples()
  local base = { id = 1, reviewee_id = 2, manager_id = 3, reviewee_name = "Sample Reviewee", manager_name = "Sample Manager",
    department = "Engineering", location = "Berlin", job_title = "Engineer", hire_date = "2024-01-15" }
  local variants = {
    { self_status = "not_started", manager_status = "not_started" },
    { self_status = "draft", manager_status = "draft" },
    { self_status = "submitted", manager_status = "submitted", self_submitted_at = 1767600000,
      manager_submitted_at = 1767700000 },
    { self_status = "submitted", manager_status = "shared", shared_at = 1767800000, reviewee_signed_at = 1767900000 },
    { self_status = "skipped", manager_status = "shared", shared_at = 1767800000, reviewee_signed_at = 1767900000,
      manager_signed_at = 1767950000, closed_at = 1767950000 },
  }
  local out = {}
  for i, v in ipairs(variants) do
    local r = util.copy(base)
    for k, x in pairs(v) do r[k] = x end
    r.id = i
    out[i] = r
  end
  return out
end

local function shared(r) return r.manager_status == "shared" end

-- Recipients of a review group: the reviewee of each review, or its manager (one mail per
-- manager, naming their reviews).
local function to_reviewees(rows, ctx, step)
  local wf = workflows
  local out = {}
  for _, r in ipairs(rows) do
    if wf.reachable(r.reviewee_status) then
      local cc = ctx.admins_cc
      if step.cc == "manager" then
        cc = (r.manager_email and wf.reachable(r.manager_status_user)) and r.manager_email or nil
      end
      out[#out + 1] = { user = { id = r.reviewee_id, name = r.reviewee_name, email = r.reviewee_email }, cc = cc,
        vars = wf.want_vars(ctx, out) and wf.with(ctx.vars, { reviewee = r.reviewee_name, manager = r.manager_name or "",
          is_reviewee = "yes", link = ctx.url .. "/reviews/" .. r.id, count = 1 }) or nil }
    end
  end
  return out
end

local function to_managers(rows, ctx)
  local wf = workflows
  local out = {}
  for _, g in ipairs(wf.group_by_person(rows, function(r)
      return r.manager_id and { id = r.manager_id, name = r.manager_name, email = r.manager_email,
        status = r.manager_status_user } end, ctx)) do
    local names = wf.sorted_names(g.rows, function(r) return r.reviewee_name end)
    local one = #g.rows == 1 and g.rows[1] or nil
    out[#out + 1] = { user = g.user, cc = ctx.admins_cc,
      vars = wf.want_vars(ctx, out) and wf.with(ctx.vars, { reviewees = wf.names_text(names), count = #g.rows,
        is_manager = "yes", reviewee = one and one.reviewee_name or wf.names_text(names), manager = g.user.name,
        link = one and (ctx.url .. "/reviews/" .. one.id) or (ctx.url .. "/home") }) or nil }
  end
  return out
end

M.KIND = {
  label = "Performance review",
  area = "cycle",
  table = "cycles",
  load = function(id) return cycles.get(id) end,
  admins_table = "cycle_admins",
  link = function(cycle) return "/cycles/" .. cycle.id end,
  template_prefix = "review.",
  template_example = "review.self_reminder",
  anchors = { { "start", "start_date", "the start date" }, { "self_due", "self_due", "the self-assessment due date" },
    { "manager_due", "manager_due", "the manager review due date" },
    { "sign_due", "sign_due", "the sharing and signing deadline" } },
  activities = { { "self_write", "write self-assessments" }, { "manager_write", "write manager reviews" },
    { "share", "share reviews" }, { "sign", "sign reviews" } },
  items = {
    review = {
      description = "a review: its statuses and dates, the reviewee's name, department, location, job title and hire "
        .. "date, the manager's name",
      all = function(cycle)
        return db.query(REVIEW_SQL .. "WHERE r.cycle_id = ? ORDER BY u.name COLLATE FOLD, r.id", cycle.id)
      end,
      page = function(cycle, after, limit)
        return db.query(REVIEW_SQL .. "WHERE r.cycle_id = ? AND r.id > ? ORDER BY r.id LIMIT ?", cycle.id, after, limit)
      end,
      one = function(id) return db.row(REVIEW_SQL .. "WHERE r.id = ?", id) end,
      key = function(r) return ("r%d.%d"):format(r.id, r.reopened_at or 0) end,
      data = review_data,
      reviewee = function(r) return r.reviewee_name end,
      samples = samples,
    },
  },
  events = { { "cycle.started", "cycle" }, { "cycle.closed", "cycle" }, { "review.added", "review" },
    { "review.self_submitted", "review" }, { "review.manager_submitted", "review" }, { "review.shared", "review" },
    { "review.unshared", "review" }, { "review.signed", "review" }, { "review.closed", "review" }, { "review.reopened", "review" } },
  groups = {
    { "reviewees", label = "Reviewees", item = "review", dated = true, cycle_event = true, per_item = true,
      recipients = to_reviewees },
    { "managers", label = "Managers", item = "review", dated = true, cycle_event = true, recipients = to_managers },
    { "reviewee", label = "The reviewee", item = "review", review_event = true, per_item = true,
      recipients = to_reviewees },
    { "manager", label = "The manager", item = "review", review_event = true, recipients = to_managers },
  },
  cc = { { "manager", label = "The reviewee's manager", hint = "the reviewee's manager",
    groups = { reviewees = true, reviewee = true } } },
  filters = {
    { "self_not_submitted", label = "self-assessment not submitted", item = "review",
      fn = function(r, c) return has_self(c) and r.self_status ~= "submitted" and r.self_status ~= "skipped" end },
    { "manager_not_submitted", label = "manager review not submitted", item = "review",
      fn = function(r) return r.manager_status ~= "submitted" and r.manager_status ~= "shared" end },
    { "manager_not_shared", label = "manager review not shared", item = "review", fn = function(r) return not shared(r) end },
    { "reviewee_not_signed", label = "shared, not signed by the reviewee", item = "review",
      fn = function(r) return shared(r) and not r.reviewee_signed_at end },
    { "manager_not_signed", label = "shared, not signed by the manager", item = "review",
      fn = function(r) return shared(r) and not r.manager_signed_at end },
    { "not_signed", label = "shared, not signed by both", item = "review",
      fn = function(r) return shared(r) and not r.closed_at end },
  },
  sample_cycle = { id = 1, name = "Sample cycle", phase = "writing", start_date = "2026-01-05", self_due = "2026-01-19",
    manager_due = "2026-02-02", sign_due = "2026-02-16", self_assessment = 1 },
  cycle_data = function(cycle)
    return { id = cycle.id, name = cycle.name, phase = cycle.phase, start_date = cycle.start_date,
      self_due = cycle.self_due, manager_due = cycle.manager_due, sign_due = cycle.sign_due,
      self_assessment = has_self(cycle), today = dates.today() }
  end,
  vars = function(cycle)
    local settings = require "services.settings"
    return {
      cycle = cycle.name,
      company = settings.get("company.name"),
      start_date = util.human_date(cycle.start_date),
      self_due = cycle.self_due and util.human_date(cycle.self_due) or "",
      manager_due = cycle.manager_due and util.human_date(cycle.manager_due) or "",
      sign_due = cycle.sign_due and util.human_date(cycle.sign_due) or "",
      has_self_assessment = has_self(cycle) and "yes" or nil,
      self_deadline = (has_self(cycle) and cycle.self_due) and util.human_date(cycle.self_due) or nil,
    }
  end,
  placeholders = function(group)
    return { reviewee = "(reviewee)", manager = "(manager)", reviewees = "(reviewees)",
      is_reviewee = (group == "reviewees" or group == "reviewee") and "yes" or nil,
      is_manager = (group == "managers" or group == "manager") and "yes" or nil }
  end,
}

function M.KIND.templates(mail)
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

function M.init()
  workflows.define_kind("performance_review", M.KIND)
end

return M
