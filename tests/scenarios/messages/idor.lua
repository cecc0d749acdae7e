-- Every route that takes a message, comment, request, badge or screen id, called by someone who
-- may not see it: a 404 (or 403 where the route's permission itself is missing), and nothing
-- changes. Ids that do not exist answer the same as ids one may not read.
local t = require "testing"
local demo = require "demo"
local db = require "lib.db"

local P = t.demo()
local function as(key) return t.login(demo.email(key)) end
local zoe, leo, marcus = as("zoe"), as("leo"), as("marcus")

local note = t.status(zoe:post("/api/messages", { kind = "note", text = "Private idea", about_id = P.ethan.id }), 201).json
local fb = t.status(zoe:post("/api/messages", { kind = "feedback", text = "Private feedback", recipient_ids = { P.ethan.id } }), 201).json
local cm = t.status(zoe:post("/api/messages/" .. fb.id .. "/comments", { text = "my comment" }), 201).json
local rq = t.status(zoe:post("/api/feedback-requests", { askee_ids = { P.ethan.id }, question = "Secret question" }), 201).json

local function snapshot()
  return table.concat({
    db.value("SELECT COUNT(*) FROM messages"), db.value("SELECT COUNT(*) FROM message_likes"),
    db.value("SELECT COUNT(*) FROM message_comments"), db.value("SELECT COUNT(*) FROM message_shares"),
    db.value("SELECT group_concat(status) FROM feedback_request_askees"),
    db.value("SELECT group_concat(hex(text_enc)) FROM messages"), db.value("SELECT group_concat(unveiled) FROM messages"),
  }, "|")
end

local function routes(m, c, r)
  return {
    { "GET", "/api/messages/" .. m }, { "PATCH", "/api/messages/" .. m, { text = "x" } },
    { "DELETE", "/api/messages/" .. m }, { "POST", "/api/messages/" .. m .. "/likes" },
    { "DELETE", "/api/messages/" .. m .. "/likes" }, { "POST", "/api/messages/" .. m .. "/comments", { text = "x" } },
    { "DELETE", "/api/messages/" .. m .. "/comments/" .. c }, { "POST", "/api/messages/" .. m .. "/shares", { user_ids = { P.leo.id } } },
    { "GET", "/messages/" .. m }, { "GET", "/messages/" .. m .. "/edit" },
    { "FORM", "/messages/" .. m .. "/like" }, { "FORM", "/messages/" .. m .. "/unlike" },
    { "FORM", "/messages/" .. m .. "/comments", { text = "x" } }, { "FORM", "/messages/" .. m .. "/comments/" .. c .. "/delete" },
    { "FORM", "/messages/" .. m .. "/edit", { text = "x" } }, { "FORM", "/messages/" .. m .. "/delete" },
    { "FORM", "/messages/" .. m .. "/share", { people = demo.email("leo") } },
    { "GET", "/api/feedback-requests/" .. r }, { "POST", "/api/feedback-requests/" .. r .. "/answer", { text = "x" } },
    { "POST", "/api/feedback-requests/" .. r .. "/decline" }, { "GET", "/requests/" .. r },
    { "FORM", "/requests/" .. r .. "/answer", { text = "x" } }, { "FORM", "/requests/" .. r .. "/decline" },
  }
end

local function call(client, route)
  local method, path, body = route[1], route[2], route[3]
  if method == "FORM" then return client:form(path, body or {}) end
  if method == "GET" then return client:get(path) end
  if method == "DELETE" then return client:delete(path) end
  return client:request(method, path, { body = body or {} })
end

-- a page form answers a redirect with the error in the flash; the API and pages a 404
local function refused(res, client)
  if res.status == 303 then
    local page = client:follow(res)
    return page.body:find("There is no such", 1, true) ~= nil or page.body:find("alert-error", 1, true) ~= nil
  end
  return res.status == 404
end

for _, target in ipairs({ { "a note", note.id }, { "feedback to someone else", fb.id }, { "no message at all", 999999 } }) do
  t.test("Leo cannot reach " .. target[1] .. " through any id route", function()
    local before = snapshot()
    for _, route in ipairs(routes(target[2], cm.id, target[2] == note.id and rq.id or 999999)) do
      local res = call(leo, route)
      t.ok(refused(res, leo), ("%s %s answered %d"):format(route[1], route[2], res.status))
    end
    t.eq(snapshot(), before, "nothing changed")
  end)
end

t.test("an HR Admin cannot reach a note or feedback through any id route either", function()
  local before = snapshot()
  for _, id in ipairs({ note.id, fb.id }) do
    for _, route in ipairs(routes(id, cm.id, rq.id)) do
      local res = call(marcus, route)
      t.ok(refused(res, marcus), ("%s %s answered %d"):format(route[1], route[2], res.status))
    end
  end
  t.eq(snapshot(), before, "nothing changed")
end)

t.test("unveiling, badges and screen links need their HR Admin rows; unknown ids answer 404", function()
  t.status(leo:post("/api/messages/" .. fb.id .. "/unveil", { reason = "x" }), 403)
  t.status(marcus:post("/api/messages/" .. fb.id .. "/unveil", { reason = "x" }), 404, "feedback is not HR's to unveil")
  t.status(marcus:post("/api/messages/999999/unveil", { reason = "x" }), 404)
  t.status(leo:patch("/api/badges/1", { title = "x" }), 403)
  t.status(marcus:patch("/api/badges/999", { title = "x" }), 404)
  t.status(leo:get("/badges/999/image"), 404)
  t.status(leo:delete("/api/wall-screens/1"), 403)
  t.status(marcus:delete("/api/wall-screens/999"), 404)
  t.status(t.client():get("/praise/screen/" .. string.rep("ab", 24)), 404)
  t.status(t.client():get("/praise/screen/short"), 404)
end)

t.test("guests reach nothing of messages", function()
  local guest = demo.GUESTS[1][1]
  local g = t.login(guest)
  t.status(g:get("/api/praise"), 403)
  t.status(g:get("/api/messages/" .. fb.id), 403)
  t.status(g:post("/api/messages", { kind = "praise", text = "x", recipient_ids = { P.zoe.id } }), 403)
end)
