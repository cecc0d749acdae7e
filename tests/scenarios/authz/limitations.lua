-- "Limitations on HR Admins and Assistants" (seed 003), example by example: a cycle's
-- visibility settings supersede the HR roles, and nobody, HR Admin included, reads
-- confidential data of a person above them in their own reporting chain.
--
--   Ceo (super user)
--   └── Vp
--       ├── Hera (HR Admin)            ── Dan, Dora (Hera's reports)
--       └── Max                        ── Mia
--   Hugo (HR Admin, in another branch: Ceo ── Hugo)
--   Ann (HR Assistant, under Hugo)
local t = require "testing"
local authz = require "core.authz"

local policy = require "lib.policy"
policy.load("policies")

local B = 2000000000
local CEO, VP, HERA, DAN, DORA, MAX, MIA, HUGO, ANN = B + 1, B + 2, B + 3, B + 4, B + 5, B + 6, B + 7, B + 8, B + 9

local function company()
  authz.put(CEO, nil, { roles = { "hr_admin", "tech_admin" } })
  authz.put(VP, CEO, {})
  authz.put(HERA, VP, { roles = { "hr_admin" } })
  authz.put(DAN, HERA, {})
  authz.put(DORA, HERA, {})
  authz.put(MAX, VP, {})
  authz.put(MIA, MAX, {})
  authz.put(HUGO, CEO, { roles = { "hr_admin" } })
  authz.put(ANN, HUGO, { roles = { "hr_assistant" } })
  authz.rebuild()
end

local function preset(kind, name) return assert(policy.preset(kind, name), kind .. "/" .. name) end

-- allowed and rule for actor reading `action` about subject under a preset at a stage
local function sees(actor, action, subject, kind, name, stage, extra)
  local ctx = { subject = subject, vis = preset(kind, name), stage = stage }
  for k, v in pairs(extra or {}) do ctx[k] = v end
  return authz.check(actor, action, ctx)
end

t.test("360 where managers cannot see: an HR Admin does not see feedback about their direct reports", function()
  company()
  local ok, rule = sees(HERA, "feedback.read", DAN, "feedback", "reviewee_only", "shared")
  t.no(ok, "Hera manages Dan")
  t.eq(rule, "vis:direct_manager")
  -- her HR Admin role works for people she does not manage
  t.same({ sees(HERA, "feedback.read", MIA, "feedback", "reviewee_only", "shared") }, { true, "vis:hr" })
  -- another HR Admin outside Dan's line sees it; Dan sees his own once submitted
  t.same({ sees(HUGO, "feedback.read", DAN, "feedback", "reviewee_only", "shared") }, { true, "vis:hr" })
  t.same({ sees(DAN, "feedback.read", DAN, "feedback", "reviewee_only", "submitted") }, { true, "vis:self" })
  -- a super user further up is a manager too, and is refused the same way
  t.same({ sees(CEO, "feedback.read", DAN, "feedback", "reviewee_only", "signed") },
    { false, "vis:indirect_manager" })
end)

t.test("360 for direct managers only: an HR Admin cannot see feedback about themselves", function()
  company()
  t.same({ sees(HERA, "feedback.read", HERA, "feedback", "direct_manager_only", "signed") }, { false, "vis:self" })
  -- even as the cycle's admin
  t.same({ sees(HERA, "feedback.read", HERA, "feedback", "direct_manager_only", "signed",
    { cycle_role = "admin" }) }, { false, "vis:self" })
  -- her own manager does, once it is submitted
  t.same({ sees(VP, "feedback.read", HERA, "feedback", "direct_manager_only", "draft") },
    { false, "vis:direct_manager" })
  t.same({ sees(VP, "feedback.read", HERA, "feedback", "direct_manager_only", "submitted") },
    { true, "vis:direct_manager" })
  -- and she reads feedback about people outside her line
  t.same({ sees(HERA, "feedback.read", MIA, "feedback", "direct_manager_only", "submitted") }, { true, "vis:hr" })
end)

t.test("reviews: an HR Admin cannot read their supervisor's review nor anyone's up the chain", function()
  company()
  for _, boss in ipairs({ VP, CEO }) do
    t.same({ sees(HERA, "reviews.read", boss, "review", "standard", "signed") }, { false, "hierarchy" })
    t.same({ sees(HERA, "reviews.read", boss, "review", "standard", "signed", { cycle_role = "admin" }) },
      { false, "hierarchy" }, "not as cycle admin either")
    t.same({ authz.check(HERA, "reviews.read", { subject = boss }) }, { false, "hierarchy" }, "nor without a cycle")
    t.same({ authz.check(HERA, "feedback.export_pdf", { subject = boss }) }, { false, "hierarchy" })
  end
  -- a super user below is refused too
  authz.put(DORA, HERA, { roles = { "hr_admin", "tech_admin" } })
  t.same({ sees(DORA, "reviews.read", HERA, "review", "standard", "signed") }, { false, "hierarchy" })
  -- peers' and other branches' reviews are fine
  t.same({ sees(HERA, "reviews.read", MAX, "review", "standard", "submitted") }, { true, "vis:hr" })
  t.same({ sees(HERA, "reviews.read", MIA, "review", "standard", "draft") }, { true, "vis:hr" })
  local e = authz.explain(HERA, "reviews.read", { subject = VP })
  t.eq(e.rule, "hierarchy")
  t.contains(e.reason, "above")
  t.eq(e.relation, "above")
end)

t.test("the documented workaround: without a manager, the HR Admin is outside the line", function()
  company()
  t.same({ sees(HERA, "reviews.read", VP, "review", "standard", "signed") }, { false, "hierarchy" })
  authz.put(HERA, nil, { roles = { "hr_admin" } }) -- remove her own manager
  t.same({ sees(HERA, "reviews.read", VP, "review", "standard", "signed") }, { true, "vis:hr" })
  authz.put(HERA, VP, { roles = { "hr_admin" } }) -- and add him back
  t.same({ sees(HERA, "reviews.read", VP, "review", "standard", "signed") }, { false, "hierarchy" })
end)

t.test("objectives: private objectives are hidden from HR Admins unless the cycle grants it", function()
  company()
  t.same({ sees(HUGO, "objectives.read_manager_only", MIA, "objective", "private") }, { false, "vis:hr" })
  t.same({ sees(HUGO, "objectives.read_manager_only", MIA, "objective", "private_hr") }, { true, "vis:hr" })
  -- the owner and the managers see it either way
  t.same({ sees(MIA, "objectives.read_manager_only", MIA, "objective", "private") }, { true, "vis:self" })
  t.same({ sees(MAX, "objectives.read_manager_only", MIA, "objective", "private") }, { true, "vis:direct_manager" })
  local e = authz.explain(HUGO, "objectives.read_manager_only", { subject = MIA, vis = preset("objective", "private") })
  t.no(e.allowed)
  t.contains(e.reason, "supersede")
end)

t.test("objectives: HR Admins cannot see protected objectives of their own managers, even ones HR wrote", function()
  company()
  local as_author = { rel = { author = true } }
  t.same({ sees(HERA, "objectives.read_manager_only", VP, "objective", "protected", nil, as_author) },
    { false, "hierarchy" })
  t.same({ sees(HERA, "objectives.read_manager_only", CEO, "objective", "protected") }, { false, "hierarchy" })
  t.same({ sees(HERA, "objectives.read_manager_only", MAX, "objective", "protected") }, { true, "vis:hr" })
  t.same({ sees(HUGO, "objectives.read_manager_only", VP, "objective", "protected") }, { true, "vis:hr" })
end)

t.test("cycle settings supersede HR Assistants too: a cycle admin role reads only what HR may", function()
  company()
  -- Ann is HR Assistant: no content at all, cycle or not
  t.same({ authz.check(ANN, "reviews.read", { subject = MIA }) }, { false, "no_relation" })
  t.same({ sees(ANN, "reviews.read", MIA, "review", "standard", "signed") }, { false, "no_relation" })
  -- made admin of a cycle, she reads what HR may in that cycle, and only then
  t.same({ sees(ANN, "reviews.read", MIA, "review", "standard", "signed", { cycle_role = "admin" }) },
    { true, "vis:hr" })
  t.same({ sees(ANN, "reviews.read", MIA, "review", "without_hr", "signed", { cycle_role = "admin" }) },
    { false, "vis:hr" })
  t.same({ sees(ANN, "reviews.read", MIA, "review", "after_sign", "shared", { cycle_role = "admin" }) },
    { false, "vis:hr" })
  t.same({ sees(ANN, "reviews.read", HUGO, "review", "standard", "signed", { cycle_role = "admin" }) },
    { false, "hierarchy" }, "and never about her own manager")
end)

t.test("reviews: the reviewee sees the manager's review only once it is shared (standard preset)", function()
  company()
  t.same({ sees(MIA, "reviews.read", MIA, "review", "standard", "submitted") }, { false, "vis:self" })
  t.same({ sees(MIA, "reviews.read", MIA, "review", "standard", "shared") }, { true, "vis:self" })
  t.same({ sees(VP, "reviews.read", MIA, "review", "private", "signed") }, { false, "vis:indirect_manager" })
  t.same({ sees(VP, "reviews.read", MIA, "review", "standard", "draft") }, { true, "vis:indirect_manager" })
end)

t.test("filter keeps exactly the people a list page may show", function()
  company()
  local everyone = { CEO, VP, HERA, DAN, DORA, MAX, MIA, HUGO, ANN }
  t.same(authz.filter(HERA, "reviews.read", everyone, { vis = preset("review", "standard"), stage = "signed" }),
    { HERA, DAN, DORA, MAX, MIA, HUGO, ANN })
  t.same(authz.filter(HERA, "feedback.read", everyone, { vis = preset("feedback", "reviewee_only"), stage = "signed" }),
    { HERA, MAX, MIA, HUGO, ANN })
  t.same(authz.filter(MAX, "reviews.read", everyone), { MAX, MIA })
end)

t.test("the presets are data with labels and descriptions, one list per kind", function()
  local p = policy.presets()
  local names = {}
  for _, kind in ipairs({ "review", "feedback", "objective" }) do
    for _, x in ipairs(p[kind]) do
      t.ok(#x.label > 0 and #x.description > 20, x.name)
      for _, party in ipairs({ "self", "direct_manager", "indirect_manager", "hr", "reviewer" }) do
        t.ok(x.vis[party], x.name .. " " .. party)
      end
      names[#names + 1] = kind .. "/" .. x.name
    end
  end
  for _, want in ipairs({ "review/standard", "review/private", "feedback/managers_see",
    "feedback/direct_manager_only", "feedback/nobody_but_hr", "feedback/anonymous_to_reviewee" }) do
    t.contains(names, want)
  end
  t.same(preset("review", "standard"), { self = "after_share", direct_manager = "always",
    indirect_manager = "always", hr = "always", reviewer = "never" })
  t.eq(preset("review", "private").indirect_manager, "never")
  t.eq(policy.preset("review", "nope"), nil)
  -- a copy: changing it changes nothing
  p.review[1].vis.self = "never"
  t.eq(preset("review", "standard").self, "after_share")
end)
