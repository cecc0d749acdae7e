-- Who reads an objective, rule by rule, allowed and denied: public (everyone), protected (the
-- owner, their managers up the line, HR Admins, colleagues named on it), private (the owner and
-- people granted it by name). Seed 003's two objective examples. Every way in — the objective,
-- the cycle's list and its search, a person's list, the profile, the home page, the tree, the
-- overview and the export — shows the same set.
--
-- In the demo company: Olivia (CEO) ─ Priya (VP People, super user) ─ Marcus (HR Admin) ─ Amara;
-- Priya ─ Lena (HR Assistant); Olivia ─ Daniel ─ Ravi ─ Mia, Lucas ─ Zoe; Olivia ─ Henrik ─ Tom
-- (Tech Admin).
local t = require "testing"
local H = dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "_helpers.lua")

t.demo()
local q1 = H.cycle()

local EVERYONE = { "olivia", "priya", "marcus", "lena", "amara", "daniel", "ravi", "mia", "lucas", "zoe", "tom", "emma" }

-- who of EVERYONE reads objective id, as a set
local function readers(id)
  local out = {}
  for _, k in ipairs(EVERYONE) do if H.reads(k, id) then out[k] = true end end
  return out
end

local function set(list)
  local out = {}
  for _, k in ipairs(list) do out[k] = true end
  return out
end

t.test("a public objective: everyone reads it", function()
  local o = H.objective("mia", q1, { title = "Ship the new billing service", visibility = "public" })
  t.same(readers(o.id), set(EVERYONE))
end)

t.test("a protected objective: the owner, the managers up the line and HR Admins; not peers, reports or HR Assistants", function()
  local o = H.objective("mia", q1, { title = "Mentor two juniors", visibility = "protected" })
  t.same(readers(o.id), set({ "mia", "ravi", "daniel", "olivia", "priya", "marcus" }))
end)

t.test("a protected objective: colleagues named on it read it too", function()
  local o = H.objective("mia", q1, { title = "Pair with Zoe", visibility = "protected",
    named_ids = { H.id("zoe"), H.id("tom") } })
  t.same(readers(o.id), set({ "mia", "ravi", "daniel", "olivia", "priya", "marcus", "zoe", "tom" }))
end)

t.test("a private objective: the owner only; not the manager, not HR Admins, not the super user", function()
  local o = H.objective("mia", q1, { title = "Find a new team", visibility = "private" })
  t.same(readers(o.id), set({ "mia" }))
end)

t.test("seed 003: private objectives are hidden from HR Admins unless specifically granted", function()
  local o = H.objective("mia", q1, { title = "Prepare for a promotion", visibility = "private" })
  t.no(H.reads("marcus", o.id), "Marcus, HR Admin")
  t.status(H.as("mia"):patch("/api/objectives/" .. o.id, { named_ids = { H.id("marcus") } }), 200)
  t.ok(H.reads("marcus", o.id), "granted to Marcus by name")
  t.no(H.reads("priya", o.id), "granted to Marcus, not to the other HR Admins")
  t.no(H.reads("ravi", o.id), "nor to her manager")
  -- taken back: hidden again
  t.status(H.as("mia"):patch("/api/objectives/" .. o.id, { named_ids = {} }), 200)
  t.no(H.reads("marcus", o.id))
end)

t.test("seed 003: an HR Admin never sees protected objectives of their own managers, even ones HR created for them", function()
  -- Marcus (HR Admin under Priya, under Olivia) sets an objective for Priya on her behalf
  local res = t.status(H.as("marcus"):post("/api/objectives", { cycle_id = q1.id, owner_id = H.id("priya"),
    title = "Hire two HR partners", visibility = "protected" }), 201).json
  t.eq(res.title, nil, "the answer holds its id, not what he may not read")
  local o = { id = res.ids[1] }
  t.eq(t.status(H.as("priya"):get("/api/objectives/" .. o.id), 200).json.owner.id, H.id("priya"))
  t.no(H.reads("marcus", o.id), "his own manager's: refused although he wrote it")
  t.ok(H.reads("priya", o.id))
  t.ok(H.reads("olivia", o.id), "Priya's manager")
  t.no(H.reads("lena", o.id), "an HR Assistant reads no protected objective")
  -- and for Olivia, further up his line
  local top = { id = t.status(H.as("marcus"):post("/api/objectives", { cycle_id = q1.id, owner_id = H.id("olivia"),
    title = "Board succession plan", visibility = "protected" }), 201).json.ids[1] }
  t.no(H.reads("marcus", top.id))
  t.no(H.reads("priya", top.id), "Priya is HR Admin too, and Olivia is her manager")
  -- the same objective for someone outside his line: he reads it
  local other = H.objective("marcus", q1, { owner_id = H.id("ravi"), title = "Platform roadmap", visibility = "protected" })
  t.ok(H.reads("marcus", other.id))
  -- and he cannot change what he cannot read: a 404, not a 403
  t.status(H.as("marcus"):patch("/api/objectives/" .. o.id, { title = "Renamed" }), 404)
end)

t.test("every list shows the same objectives as reading them one by one", function()
  local ids = {}
  for _, o in ipairs(t.status(H.as("marcus"):get("/api/objective-cycles/" .. q1.id .. "/objectives?per_page=200"), 200)
      .json.objectives) do ids[o.id] = true end
  for _, k in ipairs(EVERYONE) do
    local listed = H.listed(k, q1.id)
    local all = H.listed("olivia", q1.id)
    for id in pairs(ids) do all[id] = true end
    for id in pairs(all) do
      t.eq(listed[id] == true, H.reads(k, id), ("%s, objective %d: list and page agree"):format(k, id))
    end
  end
end)

t.test("search finds only what the searcher may read", function()
  local found = H.listed("zoe", q1.id, "&q=promotion")
  t.eq(next(found), nil, "Mia's private objective is no search result for Zoe")
  found = H.listed("mia", q1.id, "&q=PROMOTION")
  t.eq(next(found) ~= nil, true, "Mia finds her own, whatever the case")
  -- the owner's name finds them too
  local by_owner = H.listed("zoe", q1.id, "&q=mia")
  for id in pairs(by_owner) do t.ok(H.reads("zoe", id)) end
end)

t.test("a person's objectives, their profile and their team's view show only what the viewer may read", function()
  local mia = H.id("mia")
  local function titles(key)
    local out = {}
    for _, o in ipairs(t.status(H.as(key):get("/api/people/" .. mia .. "/objectives"), 200).json.objectives) do
      out[o.title] = true
    end
    return out
  end
  local zoe, ravi, own = titles("zoe"), titles("ravi"), titles("mia")
  t.ok(zoe["Ship the new billing service"])
  t.no(zoe["Mentor two juniors"], "protected: not for a peer")
  t.ok(zoe["Pair with Zoe"], "protected, Zoe named")
  t.ok(ravi["Mentor two juniors"], "protected: her manager")
  t.no(ravi["Find a new team"], "private: not her manager")
  t.ok(own["Find a new team"])
  local profile = t.status(H.as("ravi"):get("/people/" .. mia), 200).body
  t.contains(profile, "Mentor two juniors")
  t.not_contains(profile, "Find a new team")
  t.not_contains(t.status(H.as("zoe"):get("/people/" .. mia), 200).body, "Mentor two juniors")
end)
