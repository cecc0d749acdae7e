-- The ratings chart of a cycle counts, for each viewer, exactly the ratings that viewer may read:
-- it counts unrelated reviewees a group at a time (reviews alike in writer, chain and stage) and
-- the viewer's own reports, managers and self one by one. Checked against a decision per review
-- for every person of the demo company, before and after reviews move.
local t = require "testing"
local demo = require "demo"
local db = require "lib.db"
local sessions = require "services.sessions"
local cycles = require "services.cycles"
local reviews = require "services.reviews"

t.demo()
local c = demo.sample_cycle()

-- the counts a decision per review gives
local function by_each(viewer, cycle)
  local counts, total = { 0, 0, 0, 0, 0 }, 0
  for _, a in ipairs(db.query([[SELECT r.*, a.value_enc FROM answers a JOIN reviews r ON r.id = a.review_id
      WHERE r.cycle_id = ? AND a.author = 'manager' AND a.question_id = 'q4']], cycle.id)) do
    if reviews.can_read(viewer, a, cycle, "manager") then
      local v = math.tointeger(reviews.decrypt_value(a.id, "manager", "q4", a.value_enc))
      counts[v], total = counts[v] + 1, total + 1
    end
  end
  return counts, total
end

local function everyone_agrees(msg)
  local cycle = cycles.require(c.id)
  local seen = 0
  for _, id in ipairs(db.column("SELECT id FROM users WHERE status = 'active' ORDER BY id")) do
    local viewer = sessions.load_user(id)
    local d = reviews.rating_distribution(viewer, cycle, "q4")
    local counts, total = by_each(viewer, cycle)
    t.same(d.counts, counts, msg .. ": the counts for user " .. id)
    t.eq(d.total, total, msg)
    seen = seen + total
  end
  t.ok(seen > 0, "some viewers may read some ratings")
end

t.test("every person's chart counts what they may read", function()
  t.ok(db.value([[SELECT count(*) FROM answers a JOIN reviews r ON r.id = a.review_id
    WHERE r.cycle_id = ? AND a.author = 'manager' AND a.question_id = 'q4']], c.id) >= 3, "the demo cycle has ratings")
  everyone_agrees("as the demo left it")
end)

t.test("and still after ratings are shared, signed and taken away", function()
  for i, r in ipairs(db.query([[SELECT r.id, r.manager_id FROM reviews r WHERE r.cycle_id = ? AND r.manager_id IS NOT NULL
      ORDER BY r.id]], c.id)) do
    local m = sessions.load_user(r.manager_id)
    if i % 2 == 0 then
      reviews.save_answers(m, r.id, "manager", { q1 = "Solid.", q4 = 1 + i % 5, q6 = "Keep going." })
    end
  end
  db.exec("UPDATE reviews SET manager_status = 'shared', shared_at = 1 WHERE cycle_id = ? AND id % 3 = 0", c.id)
  db.exec("UPDATE reviews SET manager_signed_at = 2 WHERE cycle_id = ? AND id % 6 = 0", c.id)
  db.exec("UPDATE reviews SET manager_id = NULL, manager_chain = NULL WHERE cycle_id = ? AND id % 7 = 0", c.id)
  everyone_agrees("after the changes")
end)

t.test("a reviewee above the viewer is not counted for them, though the rest of their group is", function()
  -- the HR Admin now reports to a reviewee whose rating HR may otherwise read: the hierarchy rule
  -- a reviewee whose review is alike (writer, chain, stage) to another's that HR may read
  local writer = db.value([[SELECT r.manager_id FROM reviews r JOIN answers a ON a.review_id = r.id
      AND a.author = 'manager' AND a.question_id = 'q4'
    WHERE r.cycle_id = ? AND r.manager_id IS NOT NULL GROUP BY r.manager_id HAVING count(*) >= 2 LIMIT 1]], c.id)
  db.exec([[UPDATE reviews SET manager_status = 'shared', shared_at = 1, manager_signed_at = NULL
    WHERE cycle_id = ? AND manager_id = ?]], c.id, writer)
  local above = db.row([[SELECT min(r.reviewee_id) AS reviewee_id, count(*) AS n FROM reviews r JOIN answers a
      ON a.review_id = r.id AND a.author = 'manager' AND a.question_id = 'q4'
    WHERE r.cycle_id = ? AND r.manager_id = ? HAVING count(*) >= 2]], c.id, writer)
  t.ok(above, "two shared reviews alike")
  local marcus = db.value("SELECT id FROM users WHERE email = ?", demo.email("marcus"))
  db.exec("UPDATE users SET manager_id = ? WHERE id = ?", above.reviewee_id, marcus)
  require("services.access").reload()
  local viewer = sessions.load_user(marcus)
  local cycle = cycles.require(c.id)
  local counts, total = by_each(viewer, cycle)
  local d = reviews.rating_distribution(viewer, cycle, "q4")
  t.same(d.counts, counts)
  t.eq(d.total, total)
  everyone_agrees("with HR below a reviewee")
end)

t.test("a writer whose reviewees moved to another manager still counts the ratings they wrote", function()
  -- the review keeps its writer and chain; today the writer and the reviewees are unrelated
  local elsewhere = db.value("SELECT id FROM users WHERE email = ?", demo.email("olivia")) -- at the top
  -- a writer with no role: only their part on the reviews lets them read
  local writer = db.value([[SELECT r.manager_id FROM reviews r JOIN answers a ON a.review_id = r.id
      AND a.author = 'manager' AND a.question_id = 'q4'
    WHERE r.cycle_id = ? AND r.manager_id IS NOT NULL
      AND r.manager_id NOT IN (SELECT user_id FROM user_roles) AND r.manager_id <> ?
    GROUP BY r.manager_id HAVING count(*) >= 2 LIMIT 1]], c.id, elsewhere)
  db.exec([[UPDATE users SET manager_id = ? WHERE id IN (SELECT reviewee_id FROM reviews WHERE cycle_id = ?
    AND manager_id = ?) AND id <> ?]], elsewhere, c.id, writer, elsewhere)
  require("services.access").reload()
  local viewer = sessions.load_user(writer)
  local counts, total = by_each(viewer, cycles.require(c.id))
  t.ok(total >= 2, "the writer reads what they wrote")
  t.same(reviews.rating_distribution(viewer, cycles.require(c.id), "q4").counts, counts)
  everyone_agrees("after the move")
end)
