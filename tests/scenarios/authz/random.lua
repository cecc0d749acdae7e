-- Random companies: forests, deep chains, random role sets, guests and inactive people; the
-- C evaluator's answers (relation, would_loop, reports, chain, check) compared with a naive
-- reference model written here (parent walks, the decision algorithm of policies/README.md
-- spelled out in Lua), before and after moving managers at random.
-- The seed is in the test's name; rerun one with AUTHZ_SEED=<seed>.
local t = require "testing"
local authz = require "core.authz"

require("lib.policy").load("policies")

local SEED = tonumber(os.getenv("AUTHZ_SEED") or "") or 20260105
local BASE = 3000000000
local ROLES = { "hr_admin", "hr_assistant", "tech_admin" }
local FLAGS = { "people.assistant_can_change_manager", "guests.hr_can_invite" }

---------------------------------------------------------------- the reference model

local Ref = {}
Ref.__index = Ref

local function new_ref()
  return setmetatable({ people = {}, flags = {} }, Ref)
end

function Ref:put(id, manager, p)
  self.people[id] = { manager = manager, roles = p.roles, guest = p.guest, active = p.active, p = p }
end

function Ref:parent(id)
  local m = self.people[id].manager
  if m ~= nil and self.people[m] then return m end
  return nil
end

function Ref:chain(id)
  local out = {}
  if not self.people[id] then return out end
  local m = self:parent(id)
  while m do
    out[#out + 1] = m
    m = self:parent(m)
  end
  return out
end

local function has(list, x)
  for _, v in ipairs(list) do if v == x then return true end end
  return false
end

function Ref:relation(a, s)
  if a == s then return "self" end
  if not self.people[a] or not self.people[s] then return "none" end
  if self:parent(s) == a then return "direct_manager" end
  if has(self:chain(s), a) then return "indirect_manager" end
  if has(self:chain(a), s) then return "above" end
  return "none"
end

function Ref:would_loop(id, m)
  if id == m then return true end
  if not self.people[id] or not self.people[m] then return false end
  return has(self:chain(m), id)
end

-- Everyone's reports at once: direct[id] and all[id], sorted lists, from each person's chain.
function Ref:all_reports()
  local direct, all = {}, {}
  for x in pairs(self.people) do
    local p = self:parent(x)
    if p then
      direct[p] = direct[p] or {}
      table.insert(direct[p], x)
    end
    for _, m in ipairs(self:chain(x)) do
      all[m] = all[m] or {}
      table.insert(all[m], x)
    end
  end
  for _, l in pairs(direct) do table.sort(l) end
  for _, l in pairs(all) do table.sort(l) end
  return direct, all
end

local RANK = { draft = 0, submitted = 1, released = 2, shared = 3, signed = 4 }
local NEED = { always = 0, after_submit = 1, after_release = 2, after_share = 3, after_sign = 4 }
local function met(level, stage)
  if level == nil or level == "never" then return false end
  return RANK[stage or "draft"] >= NEED[level]
end

-- the rule with which a set of roles grants action a, or nil
function Ref:grants(a, roles)
  for _, r in ipairs(ROLES) do
    if roles[r] and a.roles[r] == true then return "role:" .. r end
  end
  for _, r in ipairs(ROLES) do
    local v = a.roles[r]
    if roles[r] and type(v) == "string" and self.flags[v:match("^if:(.*)$")] then return "role:" .. r end
  end
  if a.all_of then
    for _, r in ipairs(a.all_of) do if not roles[r] then return nil end end
    return "role:" .. table.concat(a.all_of, "+")
  end
  return nil
end

function Ref:by_role(a, p, ctx)
  local rule = self:grants(a, p.roles)
  if rule then return rule end
  if ctx and ctx.cycle_role then
    local eff = {}
    for r in pairs(p.roles) do eff[r] = true end
    eff[ctx.cycle_role == "admin" and "hr_admin" or "hr_assistant"] = true
    if self:grants(a, eff) then return "cycle:" .. ctx.cycle_role end
  end
  return nil
end

function Ref:check(actions, actor, name, ctx)
  local p = self.people[actor]
  if not p then return false, "unknown_actor" end
  if not p.active then return false, "inactive" end
  local a = actions[name]
  if not a then return false, "unknown_action" end
  local rel = ctx and ctx.rel or {}
  if p.guest then
    if a.guest_ok and ctx and (rel.guest_reviewer or rel.author) then return true, "guest_reviewer" end
    return false, "guest"
  end
  for _, part in ipairs({ "author", "recipient", "named", "participant" }) do
    if rel[part] and a.part_set[part] then return true, "part:" .. part end
  end
  if not ctx or ctx.subject == nil then
    local rule = self:by_role(a, p, ctx)
    if rule then return true, rule end
    if a.everyone then return true, "everyone" end
    return false, "no_role"
  end
  local r = self:relation(actor, ctx.subject)
  if a.confidential and r == "above" then return false, "hierarchy" end
  if ctx.vis then
    if r == "self" or r == "direct_manager" or r == "indirect_manager" then
      return met(ctx.vis[r], ctx.stage), "vis:" .. r
    end
    if rel.author and a.author_ok then return true, "author" end
    if rel.reviewer and met(ctx.vis.reviewer, ctx.stage) then return true, "vis:reviewer" end
    if self:by_role(a, p, ctx) then return met(ctx.vis.hr, ctx.stage), "vis:hr" end
    return false, "no_relation"
  end
  if (r == "self" or r == "direct_manager" or r == "indirect_manager") and a[r] then return true, "rel:" .. r end
  local rule = self:by_role(a, p, ctx)
  if rule then return true, rule end
  if a.everyone then return true, "everyone" end
  return false, "no_relation"
end

---------------------------------------------------------------- random companies

local function pick(list) return list[math.random(#list)] end

local function random_person()
  local roles, list = {}, {}
  if math.random() < 0.3 then
    for _, r in ipairs(ROLES) do
      if math.random() < 0.5 then
        roles[r] = true
        list[#list + 1] = r
      end
    end
  end
  return { roles = roles, list = list, guest = math.random() < 0.05, active = math.random() >= 0.05 }
end

local function put(ref, id, manager, p)
  authz.put(id, manager, { roles = p.list, guest = p.guest, active = p.active })
  ref:put(id, manager, p)
end

-- A forest of n people: a few roots, one deep chain, the rest under random earlier people,
-- handed to the evaluator in random order (reports often before their managers).
local function company(ref, n)
  local ids, seen = {}, {}
  while #ids < n do
    local id = BASE + math.random(1, 10 * n)
    if not seen[id] then
      seen[id] = true
      ids[#ids + 1] = id
    end
  end
  local manager, roots, deep = {}, math.random(2, 5), math.random(30, 60)
  for i = roots + 1, n do
    if i <= roots + deep then
      manager[ids[i]] = ids[i - 1]
    else
      manager[ids[i]] = ids[math.random(1, i - 1)]
    end
  end
  local order = {}
  for i = 1, n do order[i] = ids[i] end
  for i = n, 2, -1 do
    local j = math.random(i)
    order[i], order[j] = order[j], order[i]
  end
  for _, id in ipairs(order) do put(ref, id, manager[id], random_person()) end
  return ids
end

local VIS_PARTIES = { "self", "direct_manager", "indirect_manager", "hr", "reviewer" }
local LEVELS = { "never", "always", "after_submit", "after_release", "after_share", "after_sign" }
local STAGES = { "draft", "submitted", "released", "shared", "signed" }

local function random_ctx(ids)
  if math.random() < 0.2 then return nil end
  local ctx = {}
  local u = math.random()
  if u < 0.75 then
    ctx.subject = pick(ids)
  elseif u < 0.8 then
    ctx.subject = BASE - math.random(1, 1000) -- nobody
  end
  if math.random() < 0.6 then
    ctx.vis = {}
    for _, party in ipairs(VIS_PARTIES) do
      if math.random() < 0.8 then ctx.vis[party] = pick(LEVELS) end
    end
  end
  if math.random() < 0.7 then ctx.stage = pick(STAGES) end
  local c = math.random()
  if c < 0.15 then ctx.cycle_role = "admin" elseif c < 0.3 then ctx.cycle_role = "assistant" end
  if math.random() < 0.4 then
    ctx.rel = {}
    for _, r in ipairs({ "author", "reviewer", "guest_reviewer", "recipient", "named", "participant" }) do
      if math.random() < 0.4 then ctx.rel[r] = true end
    end
  end
  return ctx
end

local function sorted(list)
  local c = {}
  for i, v in ipairs(list) do c[i] = v end
  table.sort(c)
  return c
end

-- Everything the evaluator answers, compared with the reference. Returns the checks done.
local function compare(ref, ids, actions, names, label)
  local checks = 0
  local direct, below = ref:all_reports()
  for _, id in ipairs(ids) do
    if ref.people[id] then
      t.same(authz.chain(id), ref:chain(id), label .. ": chain of " .. id)
      t.same(authz.reports(id, true), direct[id] or {}, label .. ": direct reports of " .. id)
      local all = authz.reports(id, false)
      t.same(sorted(all), below[id] or {}, label .. ": all reports of " .. id)
      local before = { [id] = true } -- preorder: each manager listed before their reports
      for _, x in ipairs(all) do
        t.ok(before[ref:parent(x)], label .. ": preorder under " .. id)
        before[x] = true
      end
    end
  end
  for _ = 1, 3000 do
    local a, s = pick(ids), pick(ids)
    if math.random() < 0.05 then s = BASE - 1 end
    t.eq(authz.relation(a, s), ref:relation(a, s), ("%s: relation(%d, %d)"):format(label, a, s))
    t.eq(authz.would_loop(a, s), ref:would_loop(a, s), ("%s: would_loop(%d, %d)"):format(label, a, s))
    checks = checks + 2
  end
  for _ = 1, 4000 do
    local actor = math.random() < 0.02 and BASE - 7 or pick(ids)
    local name = math.random() < 0.02 and "no.such_action" or pick(names)
    local ctx = random_ctx(ids)
    local ok, rule = authz.check(actor, name, ctx)
    local rok, rrule = ref:check(actions, actor, name, ctx)
    if ok ~= rok or rule ~= rrule then
      t.fail(("%s: check(%d, %s, %s): evaluator says %s %s, reference %s %s"):format(label, actor, name,
        require("lib.json").encode(ctx or {}), tostring(ok), rule, tostring(rok), rrule))
    end
    checks = checks + 1
  end
  return checks
end

local function policy()
  local actions, names = {}, {}
  for _, a in ipairs(authz.actions()) do
    a.part_set = {}
    for _, part in ipairs(a.parts) do a.part_set[part] = true end
    actions[a.name] = a
    names[#names + 1] = a.name
  end
  return actions, names
end

t.test(("random forests agree with the reference model, before and after moves (seed %d)"):format(SEED), function()
  math.randomseed(SEED)
  local actions, names = policy()
  local total = 0
  for round = 1, 3 do
    authz.reset()
    local ref = new_ref()
    for _, f in ipairs(FLAGS) do
      local on = math.random() < 0.5
      authz.set_flag(f, on)
      ref.flags[f] = on
    end
    local ids = company(ref, math.random(300, 500))
    t.eq(authz.count(), #ids)
    t.eq(authz.rebuild(), 0, "no loops were cut")
    total = total + compare(ref, ids, actions, names, ("round %d"):format(round))
    -- move managers around; loops are refused by would_loop, exactly where the reference says
    local refused = 0
    for _ = 1, 300 do
      local x = pick(ids)
      local m = math.random() < 0.1 and nil or pick(ids)
      if m and ref:would_loop(x, m) then
        t.ok(authz.would_loop(x, m), ("would_loop(%d, %d)"):format(x, m))
        refused = refused + 1
      else
        if m then t.no(authz.would_loop(x, m), ("would_loop(%d, %d)"):format(x, m)) end
        put(ref, x, m, ref.people[x].p)
      end
    end
    t.ok(refused > 0, "some moves would have made a loop")
    -- somebody leaves: their reports have no manager until they come back
    local gone = pick(ids)
    authz.remove(gone)
    local kept = ref.people[gone]
    ref.people[gone] = nil
    total = total + compare(ref, ids, actions, names, ("round %d after moves"):format(round))
    put(ref, gone, nil, kept.p)
    total = total + compare(ref, ids, actions, names, ("round %d after a return"):format(round))
  end
  t.ok(total > 20000, "checks compared: " .. total)
end)

t.test(("a random chain 2,000 deep answers like the reference (seed %d)"):format(SEED), function()
  math.randomseed(SEED + 1)
  authz.reset()
  local ref = new_ref()
  local ids = {}
  for i = 1, 2000 do
    ids[i] = BASE + i
    put(ref, ids[i], i > 1 and ids[i - 1] or nil, random_person())
  end
  for _ = 1, 500 do
    local a, s = pick(ids), pick(ids)
    t.eq(authz.relation(a, s), ref:relation(a, s))
    t.eq(authz.would_loop(a, s), ref:would_loop(a, s))
  end
  t.eq(#authz.chain(ids[2000]), 1999)
  t.eq(#authz.reports(ids[1]), 1999)
  t.same(authz.reports(ids[1000], true), { ids[1001] })
end)
