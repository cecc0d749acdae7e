-- The permission cheat sheet, cell by cell: every action of policies/roles.lua for each
-- combination of roles, both the cells that allow and those that deny. The expected matrix
-- is written out here by hand (from the decisions in policies/README.md), not read from the
-- policy file, so a change to a cell in the policy fails this test until it is changed here too.
local t = require "testing"
local authz = require "core.authz"

require("lib.policy").load("policies")

-- The role combinations, in the column order of the matrix below.
local COMBOS = {
  { key = "none", roles = {} },
  { key = "hr_admin", roles = { "hr_admin" } },
  { key = "hr_assistant", roles = { "hr_assistant" } },
  { key = "tech_admin", roles = { "tech_admin" } },
  { key = "super user", roles = { "hr_admin", "tech_admin" } },
  { key = "hr_admin+hr_assistant", roles = { "hr_admin", "hr_assistant" } },
}

-- Columns: none, HR Admin, HR Assistant, Tech Admin, super user (HR + Tech Admin),
-- HR Admin + HR Assistant.  x = allowed, . = denied.  Global checks (no subject, no cycle).
local MATRIX = {
  -- User management
  { "users.invite",                 ". x . . x x" },
  { "users.import",                 ". x . x x x" },
  { "users.sftp",                   ". . . x x ." },
  { "users.send_password_reset",    ". x . x x x" },
  { "users.deactivate",             ". x . x x x" },
  { "users.delete",                 ". x . . x x" },
  { "users.set_password",           ". x . . x x" },
  { "users.change_manager",         ". x . . x x", on = ". x x . x x" },
  -- Performance reviews
  { "review_cycles.manage",         ". x x . x x" },
  { "review_cycles.track",          ". x x . x x" },
  { "reviews.create",               ". x x . x x" },
  { "reviews.delete",               ". x . . x x" },
  { "reviews.delete_unstarted",     ". x x . x x" },
  { "review_cycles.delete",         ". x . . x x" },
  { "reviews.read",                 ". x . . x x" },
  { "reviews.export_excel",         ". x x . x x" },
  -- 360 feedback
  { "feedback_cycles.manage",       ". x x . x x" },
  { "feedback_cycles.track",        ". x x . x x" },
  { "feedback.create",              ". x x . x x" },
  { "feedback.delete",              ". x . . x x" },
  { "feedback.delete_unstarted",    ". x x . x x" },
  { "feedback_cycles.delete",       ". x . . x x" },
  { "feedback.read",                ". x . . x x" },
  { "feedback.export_pdf",          ". x . . x x" },
  { "feedback.export_excel",        ". x x . x x" },
  -- Objectives
  { "objective_cycles.manage",      ". x x . x x" },
  { "objectives.nudge",             ". x x . x x" },
  { "objectives.read_protected",    ". x . . x x" },
  -- Pulse surveys (manage for an HR Assistant: only their own, by the part author; see surveys/permissions.lua)
  { "surveys.create",               ". x x . x x" },
  { "surveys.manage",               ". x . . x x" },
  { "surveys.delete",               ". x . . x x" },
  { "surveys.settings",             ". x . . x x" },
  -- Praise & Private Notes
  { "praise.platforms",             ". x . . x x" },
  { "praise.badges",                ". x . . x x" },
  { "praise.moderate",              ". x . . x x" },
  { "praise.unveil_anonymous",      ". x . . x x" },
  { "praise.wall",                  ". x . . x x" },
  -- Automations
  { "automations.create",           ". x x . x x" },
  { "automations.edit",             ". x x . x x" },
  { "automations.delete",           ". x . . x x" },
  -- General administration
  { "admin.features",               ". x . x x x" },
  { "admin.license",                ". x . x x x" },
  { "admin.email_templates",        ". x . . x x" },
  { "admin.design",                 ". . . x x ." },
  { "admin.audit_log",              ". x . x x x" },
  { "admin.audit_reasons",          ". x . . x x" },
  { "admin.datetime",               ". x . x x x" },
  { "admin.security",               ". . . x x ." },
  { "admin.integrations",           ". . . x x ." },
  { "admin.bounces",                ". . . x x ." },
  { "admin.xml_export",             ". . . . x ." },
  { "admin.impersonate",            ". . . . x ." },
  -- Additional
  { "users.edit",                   ". x x x x x" },
  { "users.change_email",           ". x . x x x" },
  { "users.lock",                   ". x . x x x" },
  { "users.view_all",               ". x x x x x" },
  { "users.convert_guest",          ". x . . x x" },
  { "guests.invite",                ". . . . . .", on = ". x . . x x" },
  { "sessions.end_for_user",        ". x . x x x" },
  { "roles.grant_hr_admin",         ". x . . x x" },
  { "roles.grant_hr_assistant",     ". x . . x x" },
  { "roles.grant_tech_admin",       ". . . . x ." },
  { "admin.user_settings",          ". x . . x x" },
  { "admin.api_tokens",             ". . . x x ." },
  { "admin.outbox",                 ". . . x x ." },
  { "workflows.edit",               ". x . . x x" },
  { "directory.view",               "x x x x x x" },
  { "feedback.write",               "x x x x x x" },
  { "feedback.nominate",            ". . . . . ." },
  { "feedback.approve",             ". x . . x x" },
  { "review.write_self",            ". . . . . ." },
  { "review.write_manager",         ". . . . . ." },
  { "messages.write",               "x x x x x x" },
  { "messages.read_everyone",       "x x x x x x" },
  { "messages.read_managers",       ". . . . . ." },
  { "messages.read_recipients",     ". . . . . ." },
  { "messages.read_private",        ". . . . . ." },
  { "messages.edit_own",            ". . . . . ." },
  { "feedback_requests.create",     ". . . . . ." },
  { "feedback_requests.read",       ". . . . . ." },
  { "objective_cycles.delete",      ". x . . x x" },
  { "objectives.read_public",       "x x x x x x" },
  { "objectives.read_private",      ". . . . . ." },
  { "objectives.create_for",        ". x x . x x" },
  { "objectives.set_company",       ". x x . x x" },
  { "objectives.edit",              ". . . . . ." },
  { "objectives.export_excel",      ". x x . x x" },
  { "one_on_ones.create",           "x x x x x x" },
  { "one_on_ones.read",             ". . . . . ." },
  { "one_on_ones.write",            ". . . . . ." },
  { "one_on_ones.read_private",     ". . . . . ." },
  { "one_on_ones.edit_item",        ". . . . . ." },
  { "surveys.read_shared",          ". . . . . ." },
  { "surveys.answer",               ". . . . . ." },
}

-- The flag each "on" column is about.
local FLAG = {
  ["users.change_manager"] = "people.assistant_can_change_manager",
  ["guests.invite"] = "guests.hr_can_invite",
}

local BASE = 1000000000 -- far from the ids the app's own people get
local function id_of(i) return BASE + i end

local function setup()
  for i, c in ipairs(COMBOS) do authz.put(id_of(i), nil, { roles = c.roles }) end
  for _, f in pairs(FLAG) do authz.set_flag(f, false) end
end

local function cells(s)
  local out = {}
  for c in s:gmatch("%S") do out[#out + 1] = (c == "x") end
  assert(#out == #COMBOS, "a matrix row needs " .. #COMBOS .. " cells: " .. s)
  return out
end

-- The rule an allowed cell must name: the first single role of the combination that is
-- allowed on its own (by this matrix), else the pair.
local function expected_rule(row, col, allowed)
  if not allowed[col] then return "no_role" end
  if allowed[1] then return "everyone" end
  local single = { hr_admin = 2, hr_assistant = 3, tech_admin = 4 }
  for _, r in ipairs({ "hr_admin", "hr_assistant", "tech_admin" }) do
    for _, have in ipairs(COMBOS[col].roles) do
      if have == r and allowed[single[r]] then return "role:" .. r end
    end
  end
  return "role:" .. table.concat(COMBOS[col].roles, "+")
end

local function check_row(name, spec)
  local allowed = cells(spec)
  for col, c in ipairs(COMBOS) do
    local ok, rule = authz.check(id_of(col), name)
    t.eq(ok, allowed[col], ("%s for %s"):format(name, c.key))
    t.eq(rule, expected_rule(name, col, allowed), ("%s for %s: rule"):format(name, c.key))
  end
end

local function who(spec)
  local allowed, names = cells(spec), {}
  for col, c in ipairs(COMBOS) do if allowed[col] then names[#names + 1] = c.key end end
  return #names == 0 and "nobody" or table.concat(names, ", ")
end

t.test("the matrix names every action of the policy, in order, and nothing else", function()
  local names = {}
  for _, a in ipairs(authz.actions()) do names[#names + 1] = a.name end
  local expected = {}
  for _, row in ipairs(MATRIX) do expected[#expected + 1] = row[1] end
  t.same(names, expected)
end)

for _, row in ipairs(MATRIX) do
  local name, spec = row[1], row[2]
  t.test(("%s: allowed for %s"):format(name, who(spec)), function()
    setup()
    check_row(name, spec)
  end)
  if row.on then
    t.test(("%s with %s on: allowed for %s"):format(name, FLAG[name], who(row.on)), function()
      setup()
      authz.set_flag(FLAG[name], true)
      check_row(name, row.on)
      authz.set_flag(FLAG[name], false)
      check_row(name, spec)
    end)
  end
end

t.test("the admin overview says which roles would allow an action", function()
  t.eq(authz.roles_for("users.invite"), "HR Admin")
  t.eq(authz.roles_for("users.import"), "HR Admin or Tech Admin")
  t.eq(authz.roles_for("admin.xml_export"), "HR Admin + Tech Admin")
  t.eq(authz.roles_for("admin.impersonate"), "HR Admin + Tech Admin")
  t.eq(authz.roles_for("users.change_manager"),
    "HR Admin or HR Assistant (when people.assistant_can_change_manager is on)")
  t.eq(authz.roles_for("directory.view"), "Everyone")
  t.eq(authz.roles_for("review.write_manager"), "No role: only their direct manager")
  t.eq(authz.roles_for("no.such_action"), nil)
end)

t.test("every action has a section, a label and a reason; the all_of rows say so", function()
  local sections = {}
  for _, a in ipairs(authz.actions()) do
    t.ok(#a.label > 0 and #a.section > 0, a.name)
    t.ok(#a.why > 40, a.name .. " needs a real reason")
    if sections[#sections] ~= a.section then sections[#sections + 1] = a.section end
    if a.name == "admin.xml_export" or a.name == "roles.grant_tech_admin" then
      t.same(a.all_of, { "hr_admin", "tech_admin" }, a.name)
      t.same(a.roles, { hr_admin = false, hr_assistant = false, tech_admin = false }, a.name)
    end
    if a.name == "users.change_manager" then
      t.eq(a.roles.hr_assistant, "if:people.assistant_can_change_manager")
    end
  end
  t.same(sections, { "User management", "Performance reviews", "360 feedback", "Objectives", "Pulse surveys",
    "Praise & Private Notes", "Automations", "General administration", "Additional" })
end)

t.test("the confidential rows are exactly the ones with content", function()
  local conf = {}
  for _, a in ipairs(authz.actions()) do if a.confidential then conf[#conf + 1] = a.name end end
  t.same(conf, { "reviews.read", "feedback.read", "feedback.export_pdf", "objectives.read_protected",
    "praise.unveil_anonymous", "messages.read_managers", "messages.read_recipients", "messages.read_private",
    "messages.edit_own", "feedback_requests.read", "objectives.read_private" })
end)

t.test("relationship rows: only the reviewee writes the self-assessment, only the manager the review", function()
  setup()
  local boss, me, peer = id_of(20), id_of(21), id_of(22)
  authz.put(boss, nil, { roles = { "hr_admin", "tech_admin" } })
  authz.put(me, boss, {})
  authz.put(peer, boss, { roles = { "hr_admin" } })
  local function can(actor, action, subject) return (authz.check(actor, action, { subject = subject })) end
  t.ok(can(me, "review.write_self", me))
  t.no(can(boss, "review.write_self", me), "not even a super user")
  t.no(can(peer, "review.write_self", me))
  t.ok(can(boss, "review.write_manager", me))
  t.no(can(me, "review.write_manager", me))
  t.no(can(peer, "review.write_manager", me), "an HR Admin peer")
  t.eq(select(2, authz.check(boss, "review.write_manager", { subject = me })), "rel:direct_manager")
  -- 360 nominations: the reviewee and the manager; approvals: the manager and HR Admins
  t.ok(can(me, "feedback.nominate", me))
  t.ok(can(boss, "feedback.nominate", me))
  t.no(can(peer, "feedback.nominate", me), "an HR Admin peer nominates through feedback.create")
  t.ok(can(boss, "feedback.approve", me))
  t.ok(can(peer, "feedback.approve", me), "an HR Admin")
  t.no(can(me, "feedback.approve", me), "nobody approves their own reviewers")
end)

t.test("guests and inactive people get nothing from any row, roles or not", function()
  setup()
  local guest, gone = id_of(30), id_of(31)
  authz.put(guest, nil, { guest = true })
  authz.put(gone, nil, { roles = { "hr_admin", "tech_admin" }, active = false })
  for _, row in ipairs(MATRIX) do
    t.eq(select(2, authz.check(guest, row[1])), "guest", row[1])
    t.eq(select(2, authz.check(gone, row[1])), "inactive", row[1])
  end
  -- the only door a guest has: their own feedback
  t.eq(select(2, authz.check(guest, "feedback.write", { rel = { guest_reviewer = true } })), "guest_reviewer")
  t.eq(select(2, authz.check(guest, "feedback.read", { subject = id_of(1), rel = { author = true } })),
    "guest_reviewer")
  t.no((authz.check(guest, "feedback.read", { subject = id_of(1) })))
  t.no((authz.check(guest, "directory.view", { rel = { guest_reviewer = true } })))
end)

t.test("a check without a context allocates nothing, whatever it answers", function()
  setup()
  local names = {}
  for _, row in ipairs(MATRIX) do names[#names + 1] = row[1] end
  authz.check(id_of(2), names[1]) -- warm up
  collectgarbage("collect")
  collectgarbage("stop")
  local before = collectgarbage("count")
  local allowed = 0
  for i = 1, 20000 do
    if authz.check(id_of(i % #COMBOS + 1), names[i % #names + 1]) then allowed = allowed + 1 end
  end
  local grew = collectgarbage("count") - before
  collectgarbage("restart")
  t.eq(grew, 0, "KB allocated by 20,000 checks")
  t.ok(allowed > 0 and allowed < 20000)
end)
