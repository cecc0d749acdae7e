-- Alignment: company objectives (set by HR), team objectives aligned to them, individual ones
-- aligned to either; the tree shows each viewer only what they may read, and its figures — a
-- parent's aligned objectives, the progress rolled up — count only those: a hidden objective
-- leaks through no child count and no roll-up. An objective aligned to one the viewer may not
-- read is not aligned for them.
local t = require "testing"
local db = require "lib.db"
local H = dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "_helpers.lua")

t.demo()
local q1 = H.cycle()
local other = H.cycle({ name = "Sales kick-off" })

local function number_kr(current)
  return { { kind = "number", title = "Measure", start = 0, target = 100, current = current } }
end

-- The company objective (Olivia's, set by HR), Ravi's team objective under it, Mia's private and
-- Lucas's public individual objectives under that.
local C = H.objective("marcus", q1, { owner_id = H.id("olivia"), level = "company", title = "Be the easiest to start with" })
local T = H.objective("ravi", q1, { level = "team", parent_id = C.id, title = "Zero-downtime deploys", key_results = number_kr(40) })
local I1 = H.objective("mia", q1, { parent_id = T.id, visibility = "private", title = "My secret migration plan",
  key_results = number_kr(100) })
local I2 = H.objective("lucas", q1, { parent_id = T.id, title = "Faster deploys", key_results = number_kr(0) })

local function tree(key, query)
  return t.status(H.as(key):get("/api/objective-cycles/" .. q1.id .. "/tree" .. (query or "")), 200).json
end

local function find(nodes, id)
  for _, n in ipairs(nodes) do
    if n.id == id then return n end
    local x = find(n.aligned, id)
    if x then return x end
  end
end

t.test("the roll-up leak: a private objective counts in no child count and no roll-up of those who may not read it", function()
  local zoe = tree("zoe")
  local root = find(zoe.roots, C.id)
  t.eq(root.children, 1)
  t.eq(root.below, 2, "Ravi's and Lucas's")
  t.eq(root.rollup, 13, "(0 + 40 + 0) / 3: Mia's 100% is not in it")
  local team = find(zoe.roots, T.id)
  t.eq(team.children, 1)
  t.eq(team.rollup, 20, "(40 + 0) / 2")
  t.eq(find(zoe.roots, I1.id), nil, "no node for Mia's private objective")
  t.eq(zoe.visible, 3)
  -- Mia sees her own: the same tree counts it
  local mia = tree("mia")
  t.eq(find(mia.roots, T.id).children, 2)
  t.eq(find(mia.roots, T.id).rollup, 47, "(40 + 100 + 0) / 3")
  t.eq(find(mia.roots, C.id).rollup, 35, "(0 + 40 + 100 + 0) / 4")
  t.eq(mia.visible, 4)
  -- an HR Admin does not see it either (private), and the HTML page says nothing of it
  t.eq(find(tree("marcus").roots, T.id).rollup, 20)
  local page = t.status(H.as("zoe"):get("/objective-cycles/" .. q1.id .. "/tree"), 200).body
  t.not_contains(page, "My secret migration plan")
  t.contains(page, "1 aligned objective · 20% together")
end)

t.test("the objective's own page lists only the aligned objectives the reader may see", function()
  local seen = t.status(H.as("zoe"):get("/api/objectives/" .. T.id), 200).json.aligned
  t.eq(#seen, 1)
  t.eq(seen[1].id, I2.id)
  t.eq(#t.status(H.as("mia"):get("/api/objectives/" .. T.id), 200).json.aligned, 2)
  t.not_contains(t.status(H.as("ravi"):get("/objectives/" .. T.id), 200).body, "My secret migration plan",
    "not even for her manager")
end)

t.test("an objective aligned to one the reader may not see is not aligned for them", function()
  local hidden = H.objective("ravi", q1, { level = "team", visibility = "private", title = "Reorg the platform team" })
  local child = H.objective("ravi", q1, { owner_id = H.id("mia"), parent_id = hidden.id, title = "Own the storage area" })
  t.eq(t.status(H.as("ravi"):get("/api/objectives/" .. child.id), 200).json.parent_id, hidden.id)
  local as_zoe = t.status(H.as("zoe"):get("/api/objectives/" .. child.id), 200).json
  t.eq(type(as_zoe.parent_id), "userdata", "null for Zoe")
  t.not_contains(t.status(H.as("zoe"):get("/objectives/" .. child.id), 200).body, "Reorg the platform team")
  t.eq(find(tree("zoe").roots, child.id), nil, "no part of Zoe's tree")
  t.ok(find(tree("ravi").roots, child.id), "under Ravi's private team objective for him")
  -- Zoe cannot align to what she cannot see: it is as if it did not exist
  local res = H.as("zoe"):post("/api/objectives", { cycle_id = q1.id, title = "Mine", parent_id = hidden.id })
  t.status(res, 422)
  t.contains(res.json.error.fields.parent_id, "that you can see")
end)

t.test("levels: a team objective aligns to a company one, an individual one to either, a company one to nothing", function()
  local function refused(key, fields, field)
    fields.cycle_id = q1.id
    fields.title = fields.title or "Refused"
    local res = H.as(key):post("/api/objectives", fields)
    t.status(res, 422)
    t.ok(res.json.error.fields[field], field .. ": " .. tostring(next(res.json.error.fields)))
    return res.json.error.fields[field]
  end
  local before = db.value("SELECT count(*) FROM objectives")
  refused("ravi", { level = "team", parent_id = T.id }, "parent_id")
  refused("mia", { parent_id = I2.id }, "parent_id")
  refused("marcus", { owner_id = H.id("olivia"), level = "company", parent_id = C.id }, "parent_id")
  t.contains(refused("ravi", { level = "company" }, "level"), "set by HR")
  t.contains(refused("mia", { level = "team" }, "level"), "someone with a team")
  -- an objective of another cycle is no parent
  local foreign = H.objective("marcus", other, { owner_id = H.id("olivia"), level = "company" })
  refused("mia", { parent_id = foreign.id }, "parent_id")
  t.eq(db.value("SELECT count(*) FROM objectives"), before + 1, "only the other cycle's company objective")
  -- allowed: individual to company, individual to team, team to company
  H.objective("zoe", q1, { parent_id = C.id, title = "Onboarding docs" })
  H.objective("zoe", q1, { parent_id = T.id, title = "Canary releases" })
end)

t.test("an HR Assistant sets company objectives for a leader; a manager sets team ones for themselves", function()
  local c2 = H.objective("lena", q1, { owner_id = H.id("olivia"), level = "company", title = "Grow revenue" })
  t.eq(c2.level, "company")
  local t2 = H.objective("daniel", q1, { level = "team", parent_id = c2.id, title = "Ship faster" })
  t.eq(t2.parent_id, c2.id)
end)

t.test("deleting an objective leaves what was aligned to it unaligned, and the tree follows", function()
  local parent = H.objective("ravi", q1, { level = "team", parent_id = C.id, title = "Temporary" })
  local child = H.objective("mia", q1, { parent_id = parent.id, title = "Child of temporary" })
  t.eq(find(tree("zoe").roots, C.id).children, 3)
  t.status(H.as("ravi"):delete("/api/objectives/" .. parent.id), 204)
  t.eq(type(t.status(H.as("mia"):get("/api/objectives/" .. child.id), 200).json.parent_id), "userdata")
  t.eq(find(tree("zoe").roots, C.id).children, 2)
  t.eq(find(tree("zoe").roots, child.id), nil)
end)

t.test("focusing a node shows it, the way down to it and what is below it", function()
  local f = tree("zoe", "?focus=" .. T.id)
  t.eq(f.focus.id, T.id)
  t.eq(#f.path, 1)
  t.eq(f.path[1].id, C.id)
  t.eq(f.focus.aligned[1].id, I2.id)
  -- focusing something hidden shows the whole tree instead, as for an id that does not exist
  local g = tree("zoe", "?focus=" .. I1.id)
  t.eq(type(g.focus), "userdata")
  t.ok(#g.roots > 0)
end)

t.test("without alignment a cycle has no levels and no tree", function()
  local flat = H.cycle({ name = "Flat", alignment = false })
  local o = H.objective("mia", flat, { title = "Flat one", level = "team" })
  t.eq(o.level, "individual")
  local res = H.as("mia"):post("/api/objectives", { cycle_id = flat.id, title = "Aligned?", parent_id = o.id })
  t.status(res, 422)
  t.eq(#tree("mia").roots > 0, true)
  t.not_contains(t.status(H.as("mia"):get("/objective-cycles/" .. flat.id), 200).body, ">Alignment</a>")
end)

t.test("the tree follows every change, even one made behind the service's back, and forgets one rolled back", function()
  t.ok(find(tree("zoe").roots, T.id), "cached once")
  db.transaction(function() db.exec("UPDATE objectives SET visibility = 'private' WHERE id = ?", T.id) end)
  t.eq(find(tree("zoe").roots, T.id), nil, "made private in SQL: gone from Zoe's tree at once")
  db.transaction(function() db.exec("UPDATE objectives SET visibility = 'public' WHERE id = ?", T.id) end)
  t.ok(find(tree("zoe").roots, T.id))
  -- a change read inside its transaction, then rolled back: the tree is as before afterwards
  local views = require "services.objective_views"
  local cycles = require "services.objective_cycles"
  pcall(db.transaction, function()
    db.exec("UPDATE objectives SET progress = 99 WHERE id = ?", T.id)
    t.eq(find(views.tree({ id = H.id("zoe") }, cycles.get(q1.id)).roots, T.id).progress, 99)
    error("roll back")
  end)
  t.eq(find(tree("zoe").roots, T.id).progress, 40)
end)

t.test("the tree follows the reporting lines as they are now: a new manager reads the protected objective", function()
  local guarded = H.objective("zoe", q1, { level = "individual", parent_id = C.id, visibility = "protected",
    title = "Zoe's protected" })
  t.eq(find(tree("emma").roots, guarded.id), nil, "not Zoe's manager (yet)")
  t.ok(find(tree("ravi").roots, guarded.id), "further up Zoe's line")
  t.status(H.as("marcus"):patch("/api/users/" .. H.id("zoe"), { manager_id = H.id("emma") }), 200)
  t.ok(find(tree("emma").roots, guarded.id), "her manager now")
  t.eq(find(tree("lucas").roots, guarded.id), nil, "her former manager no longer")
  t.eq(find(tree("ravi").roots, guarded.id), nil, "nor his manager")
end)
