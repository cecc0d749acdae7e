-- The demo company's praise and messages (candor serve --demo): the wall, the home stream and my
-- messages have something to show, within the same rules as everything else.
local t = require "testing"
local demo = require "demo"

t.demo()
demo.sample_cycle()
demo.sample_messages()

t.test("the demo's wall shows company praise with badges, likes and a comment", function()
  local wall = t.status(t.login(demo.email("leo")):get("/api/praise"), 200).json.items
  t.eq(#wall, 3, "the praise for a manager's eyes is not on the wall")
  local pipeline = wall[3]
  t.eq(pipeline.badge.title, "Team player")
  t.eq(pipeline.like_count, 2)
  t.eq(pipeline.comment_count, 1)
end)

t.test("the demo's note, feedback and request reach only their people", function()
  local lucas, zoe, ethan = t.login(demo.email("lucas")), t.login(demo.email("zoe")), t.login(demo.email("ethan"))
  local given = t.status(lucas:get("/api/messages?tab=given"), 200).json.items
  t.eq(given[1].kind, "note")
  t.status(zoe:get("/api/messages/" .. given[1].id), 404)
  t.eq(#t.status(zoe:get("/api/feedback-requests"), 200).json.made, 1)
  t.eq(#t.status(ethan:get("/api/feedback-requests"), 200).json.asked, 1)
  t.contains(ethan:get("/home").body, "Give Zoe Chen feedback they asked for")
end)

t.test("a request to answer sits among the review to-dos, ordered by date", function()
  local db = require "lib.db"
  local who = db.row([[SELECT u.id, u.email FROM reviews r JOIN users u ON u.id = r.reviewee_id
    WHERE r.self_status IN ('not_started', 'draft') AND u.email <> ? ORDER BY r.id LIMIT 1]], demo.email("zoe"))
  t.ok(who, "someone still writes their self-assessment")
  t.status(t.login(demo.email("zoe")):post("/api/feedback-requests", { askee_ids = { who.id }, question = "How was my demo?",
    due_date = "2026-01-08" }), 201) -- a day before the self-assessment's due date (the 9th)
  local home = t.status(t.login(who.email):get("/home"), 200).body
  t.contains(home, "Give Zoe Chen feedback they asked for")
  t.contains(home, "Write your self-assessment for")
  t.ok(home:find("Give Zoe Chen feedback", 1, true) < home:find("Write your self-assessment", 1, true), "the sooner first")
end)
