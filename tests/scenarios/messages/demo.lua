-- The demo company's praise and messages (candor serve --demo): the wall, the home stream and my
-- messages have something to show, within the same rules as everything else.
local t = require "testing"
local demo = require "demo"

t.demo()
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
