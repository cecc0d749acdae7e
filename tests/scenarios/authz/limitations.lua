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
  t.same({ sees(DAN, "feedback.read", DAN, "feedback", "reviewee_only", "shared") }, { true, "vis:self" })
  t.same({ sees(DAN, "feedback.read", DAN, "feedback", "reviewee_only", "released") }, { false, "vis:self" },
    "not before it is released to him")
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
  -- her own manager does, once it is released to managers
  t.same({ sees(VP, "feedback.read", HERA, "feedback", "direct_manager_only", "submitted") },
    { false, "vis:direct_manager" })
  t.same({ sees(VP, "feedback.read", HERA, "feedback", "direct_manager_only", "released") },
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

-- An objective's level names the row that decides (policies/README.md, "Objectives"); named: the
-- actor is named on it (protected) or was granted it (private).
local function sees_objective(actor, level, owner, named)
  return authz.check(actor, "objectives.read_" .. level, { subject = owner, rel = { named = named or false } })
end

t.test("objectives: private objectives are hidden from HR Admins unless specifically granted", function()
  company()
  t.same({ sees_objective(HUGO, "private", MIA) }, { false, "no_relation" })
  t.same({ sees_objective(HUGO, "private", MIA, true) }, { true, "part:named" }, "granted to Hugo by name")
  -- a super user neither; nor the owner's managers (only the owner and those granted)
  t.same({ sees_objective(CEO, "private", MIA) }, { false, "no_relation" })
  t.same({ sees_objective(MAX, "private", MIA) }, { false, "no_relation" })
  t.same({ sees_objective(MIA, "private", MIA) }, { true, "rel:self" })
  -- the same objective made protected: HR Admins and the managers read it
  t.same({ sees_objective(HUGO, "protected", MIA) }, { true, "role:hr_admin" })
  t.same({ sees_objective(MAX, "protected", MIA) }, { true, "rel:direct_manager" })
  t.same({ sees_objective(VP, "protected", MIA) }, { true, "rel:indirect_manager" })
  local e = authz.explain(HUGO, "objectives.read_private", { subject = MIA })
  t.no(e.allowed)
  t.contains(e.reason, "Read a private objective")
end)

t.test("objectives: HR Admins cannot see protected objectives of their own managers, even ones HR wrote", function()
  company()
  -- Hera (HR Admin under Vp) wrote it for Vp: writing it is no part in it
  t.same({ authz.check(HERA, "objectives.read_protected", { subject = VP, rel = { author = true } }) },
    { false, "hierarchy" })
  t.same({ sees_objective(HERA, "protected", CEO) }, { false, "hierarchy" })
  t.same({ sees_objective(HERA, "protected", MAX) }, { true, "role:hr_admin" }, "a peer's, outside her chain")
  t.same({ sees_objective(HUGO, "protected", VP) }, { true, "role:hr_admin" }, "another HR Admin's view")
  -- named on it by Vp, she reads it
  t.same({ sees_objective(HERA, "protected", VP, true) }, { true, "part:named" })
  -- HR Assistants and Tech Admins read no protected objective; everyone reads public ones
  t.same({ sees_objective(ANN, "protected", MIA) }, { false, "no_relation" })
  t.same({ sees_objective(ANN, "public", MIA) }, { true, "everyone" })
  t.same({ sees_objective(HERA, "public", CEO) }, { true, "everyone" })
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
  for _, kind in ipairs({ "review", "feedback" }) do
    for _, x in ipairs(p[kind]) do
      t.ok(#x.label > 0 and #x.description > 20, x.name)
      for _, party in ipairs({ "self", "direct_manager", "indirect_manager", "hr", "reviewer" }) do
        t.ok(x.vis[party], x.name .. " " .. party)
      end
      names[#names + 1] = kind .. "/" .. x.name
    end
  end
  for _, want in ipairs({ "review/standard", "review/private", "feedback/managers_see",
    "feedback/direct_manager_only", "feedback/nobody_but_hr", "feedback/reviewee_and_direct_manager" }) do
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

t.test("check_many decides a list of objectives exactly as check does one by one", function()
  company()
  local everyone = { CEO, VP, HERA, DAN, DORA, MAX, MIA, HUGO, ANN }
  local ACTIONS = { public = "objectives.read_public", protected = "objectives.read_protected",
    private = "objectives.read_private" }
  local levels, owners, parts = {}, {}, {}
  local n = 0
  for _, owner in ipairs(everyone) do
    for _, level in ipairs({ "public", "protected", "private", "unknown" }) do
      for _, named in ipairs({ false, true }) do
        n = n + 1
        levels[n], owners[n], parts[n] = level, owner, named and "named" or nil
      end
    end
  end
  for _, actor in ipairs(everyone) do
    local allowed, count = authz.check_many(actor, ACTIONS, levels, owners, parts, n)
    t.eq(#allowed, n)
    local yes = 0
    for i = 1, n do
      local want = ACTIONS[levels[i]] and authz.check(actor, ACTIONS[levels[i]],
        { subject = owners[i], rel = { named = parts[i] == "named" } }) or false
      t.eq(allowed[i], want, ("actor %d, object %d"):format(actor, i))
      if want then yes = yes + 1 end
    end
    t.eq(count, yes)
  end
  -- Hera's list: every public one, protected ones outside her chain, private ones named on
  local allowed = authz.check_many(HERA, ACTIONS, { "protected", "protected", "private", "private" },
    { VP, MAX, MAX, MAX }, { nil, nil, nil, "named" }, 4)
  t.same(allowed, { false, true, false, true })
  t.raises(function() authz.check_many(HERA, ACTIONS, { "public" }, { "x" }) end, "not an integer id")
  t.raises(function() authz.check_many(HERA, ACTIONS, { "public" }, { MAX }, { "friend" }) end, "unknown part")
  t.same({ authz.check_many(HERA, ACTIONS, {}, {}) }, { {}, 0 })
end)
