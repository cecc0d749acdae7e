-- A cycle's list of objectives comes from what the alignment tree keeps of the cycle: a second look
-- reads objectives only by the ids of its page, whatever the size of the cycle. Its order (the
-- owners' names without regard to case or accents, then id), its filters and what each viewer
-- finds are those SQL and the evaluator give, and a renamed owner moves at once.
local t = require "testing"
local db = require "lib.db"
local sessions = require "services.sessions"
local objectives = require "services.objectives"
local H = dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "_helpers.lua")

local P = t.demo()
local q1 = H.cycle()
local boss_email, boss_id, reports = t.team_of(8)
local boss = sessions.load_user(boss_id)

-- names that SQL's FOLD orders differently from bytes: accents, case
local NAMES = { "émile Durand", "Zoë Adams", "adam Zed", "Émile Dupont", "ADAM ZED", "Øystein Berg", "oliver Ash",
  "Ola Nordmann" }
db.transaction(function()
  for i, id in ipairs(reports) do db.exec("UPDATE users SET name = ? WHERE id = ?", NAMES[i], id) end
end)
db.transaction(function()
  local team = objectives.create(boss, { cycle_id = q1.id, level = "team", title = "Team objective" })[1]
  objectives.create(boss, { cycle_id = q1.id, owner_ids = reports, title = "Public for each", parent_id = team,
    due_on = "2026-01-10" })
  objectives.create(boss, { cycle_id = q1.id, owner_ids = reports, title = "Protected for each", visibility = "protected",
    named_ids = { P.zoe.id } })
  for i, id in ipairs(reports) do
    objectives.create(sessions.load_user(id), { cycle_id = q1.id, title = "Private of mine", visibility = "private",
      due_on = i % 2 == 0 and "2026-02-20" or nil })
  end
end)
t.advance_to("2026-02-01T09:00:00Z") -- the objectives due on 10 January are overdue

-- The ids key (a demo key, or "boss") finds in the list's API with query, in order (every page).
local function listed(key, query)
  local c = key == "boss" and t.login(boss_email) or H.as(key)
  local out, page = {}, 1
  repeat
    local res = t.status(c:get(("/api/objective-cycles/%d/objectives?per_page=7&page=%d%s"):format(q1.id, page,
      query or "")), 200).json
    for _, o in ipairs(res.objectives) do out[#out + 1] = o.id end
    page = page + 1
  until page > res.pages
  return out
end

-- The same from SQL (where: a condition on o) and the evaluator, one objective at a time.
local function reference(key, where, ...)
  local viewer = sessions.load_user(key == "boss" and boss_id or P[key].id)
  local out = {}
  for _, o in ipairs(db.query("SELECT o.id, o.owner_id, o.visibility, " .. objectives.PART_SQL .. [[ AS part
      FROM objectives o JOIN users u ON u.id = o.owner_id WHERE o.cycle_id = ? ]] .. (where or "") ..
      " ORDER BY u.name COLLATE FOLD, o.id", viewer.id, q1.id, ...)) do
    if objectives.can_read(viewer, o) then out[#out + 1] = o.id end
  end
  return out
end

t.test("a second look at the list reads objectives only by the ids of its page", function()
  local c = t.login(boss_email)
  local path = "/objective-cycles/" .. q1.id
  t.status(c:get(path), 200)
  t.eq(H.objective_reads(t.statements(function() t.status(c:get(path), 200) end)), 1, "the page's rows only")
end)

t.test("every viewer finds what SQL and the evaluator give, in the owners' name order without regard to case or accents",
  function()
    for _, key in ipairs({ "boss", "marcus", "zoe", "mia", "olivia" }) do
      t.same(listed(key), reference(key), key)
      t.same(listed(key, "&status=overdue"), reference(key,
        "AND o.status IN ('on_track', 'at_risk', 'off_track') AND o.due_on < '2026-02-01'"), key .. " overdue")
      t.same(listed(key, "&status=on_track&level=individual"), reference(key,
        "AND o.status = 'on_track' AND o.level = 'individual'"), key .. " on track, individual")
      t.same(listed(key, "&owner_id=" .. reports[2]), reference(key, "AND o.owner_id = ?", reports[2]), key .. " owner")
    end
    local mine = listed("marcus")
    t.ok(#mine > 8, "HR reads the public and protected ones")
  end)

t.test("a renamed owner's objectives move in the list at once", function()
  local before = listed("marcus")
  t.status(H.as("marcus"):patch("/api/users/" .. reports[1], { name = "Aaron First" }), 200)
  local after = listed("marcus")
  t.same(after, reference("marcus"))
  t.ok(after[1] ~= before[1], "a new first objective")
  t.eq(db.value("SELECT owner_id FROM objectives WHERE id = ?", after[1]), reports[1], "Aaron's comes first")
end)
