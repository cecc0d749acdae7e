-- Praise: who sees it for each audience, anonymity (hidden from everyone, unveiled only by an
-- HR Admin with a reason, logged, the writer told), likes, comments, the wall, moderation.
-- Zoe and Ethan report to Lucas, who reports to Ravi; Marcus is an HR Admin; Leo is elsewhere.
local t = require "testing"
local demo = require "demo"
local db = require "lib.db"

local P = t.demo()
local function as(key) return t.login(demo.email(key)) end
local zoe, ethan, lucas, ravi, marcus, leo = as("zoe"), as("ethan"), as("lucas"), as("ravi"), as("marcus"), as("leo")

local function praise(client, body)
  body.kind = "praise"
  return t.status(client:post("/api/messages", body), 201).json
end

t.test("praise for everyone shows on the wall, with its badge, to anyone in the company", function()
  local m = praise(zoe, { text = "Ethan fixed the build in an hour", recipient_ids = { P.ethan.id }, badge_id = 2 })
  t.eq(m.audience, "everyone", "the company's default audience for praise")
  t.eq(m.badge.title, "Team player")
  t.eq(m.author.name, "Zoe Chen")
  local wall = t.status(leo:get("/api/praise"), 200).json
  t.eq(wall.items[1].id, m.id)
  t.eq(wall.items[1].text, "Ethan fixed the build in an hour")
  t.contains(leo:get("/praise").body, "Ethan fixed the build in an hour")
  local mails = t.outbox{ to = demo.email("ethan"), template = "praise.received" }
  t.eq(#mails, 1, "Ethan is told")
  t.contains(mails[1].subject, "Zoe Chen praised you (Team player)")
  t.not_contains(mails[1].body_text, "fixed the build", "the mail does not carry the text")
end)

t.test("praise for the recipients only: the writer and Ethan read it; his manager and others get a 404", function()
  local m = praise(zoe, { text = "Quiet thanks", recipient_ids = { P.ethan.id }, audience = "recipients" })
  t.status(zoe:get("/api/messages/" .. m.id), 200)
  t.status(ethan:get("/api/messages/" .. m.id), 200)
  for _, c in ipairs({ lucas, leo, ravi, as("lena"), as("tom") }) do t.status(c:get("/api/messages/" .. m.id), 404) end
  t.status(marcus:get("/api/messages/" .. m.id), 200, "HR Admins open any praise to moderate it (praise.moderate)")
  t.not_contains(leo:get("/praise").body, "Quiet thanks", "not on the wall")
  t.eq(#t.outbox{ to = demo.email("lucas"), template = "praise.manager" }, 0, "the manager is not told")
end)

t.test("praise for the recipients and their managers: the direct manager reads it, not the one above, not HR", function()
  local m = praise(leo, { text = "Great pairing session", recipient_ids = { P.zoe.id }, audience = "managers" })
  t.status(lucas:get("/api/messages/" .. m.id), 200, "Zoe's manager")
  t.status(ravi:get("/api/messages/" .. m.id), 404, "her manager's manager")
  t.status(marcus:get("/api/messages/" .. m.id), 200, "HR Admins open any praise to moderate it")
  t.status(as("lena"):get("/api/messages/" .. m.id), 404, "an HR Assistant")
  t.status(as("tom"):get("/api/messages/" .. m.id), 404, "a Tech Admin")
  t.eq(#t.outbox{ to = demo.email("lucas"), template = "praise.manager" }, 1, "Lucas is told")
end)

t.test("anonymous praise is refused while the company does not allow it", function()
  local res = zoe:post("/api/messages", { kind = "praise", text = "x", recipient_ids = { P.ethan.id }, anonymous = true })
  t.status(res, 422)
  t.contains(res.json.error.fields.anonymous, "switched off")
end)

local anon
t.test("anonymous praise hides the writer from everyone, in JSON, HTML, mail and events, but not from them", function()
  t.status(marcus:put("/api/message-defaults", { praise = { anonymity = "possible" } }), 200)
  local fired = {}
  local events = require "lib.events"
  local function spy(e) fired[#fired + 1] = e end
  events.hook("praise.given", spy)
  anon = praise(zoe, { text = "Someone noticed your demo", recipient_ids = { P.ethan.id }, anonymous = true })
  events.unhook("praise.given", spy)
  t.eq(fired[1].actor_id, nil, "the event does not name the writer")
  t.eq(anon.author.name, "Zoe Chen", "the writer sees themselves")
  for _, c in ipairs({ ethan, leo, lucas, marcus }) do
    local j = t.status(c:get("/api/messages/" .. anon.id), 200).json
    t.eq(j.author, require("lib.json").null, "no writer in JSON")
    local page = c:get("/messages/" .. anon.id).body
    t.contains(page, "Anonymous")
    t.not_contains(page, "Zoe Chen", "no writer in HTML")
    t.not_contains(page, "/people/" .. P.zoe.id .. '"', "no link to the writer")
  end
  local wall = t.status(leo:get("/api/praise"), 200).json
  t.eq(wall.items[1].id, anon.id)
  t.eq(wall.items[1].author, require("lib.json").null)
  local mail = t.outbox{ to = demo.email("ethan"), template = "praise.received" }
  t.contains(mail[#mail].subject, "Someone praised you")
  t.not_contains(mail[#mail].body_text, "Zoe")
end)

t.test("unveiling needs an HR Admin and a reason; it is logged, the writer is told, others still see Anonymous", function()
  t.status(ethan:post("/api/messages/" .. anon.id .. "/unveil", { reason = "abuse" }), 403, "not an HR Admin")
  t.status(as("lena"):post("/api/messages/" .. anon.id .. "/unveil", { reason = "abuse" }), 403, "an HR Assistant")
  local res = marcus:post("/api/messages/" .. anon.id .. "/unveil", { reason = "  " })
  t.status(res, 422)
  t.eq(#t.outbox{ template = "message.unveiled" }, 0, "a refused unveil tells nobody")
  res = t.status(marcus:post("/api/messages/" .. anon.id .. "/unveil", { reason = "Reported as abusive by Ethan" }), 200)
  t.eq(res.json.writer.name, "Zoe Chen")
  local entry = db.row("SELECT * FROM audit_log WHERE action = 'message.unveiled' ORDER BY id DESC LIMIT 1")
  t.eq(entry.target_id, anon.id)
  t.not_contains(entry.details, "Reported as abusive", "the words are sealed: the entry keeps their id")
  local logged = t.status(marcus:get("/api/audit?action=message.unveiled"), 200).json.entries[1]
  t.eq(logged.details.reason, "Reported as abusive by Ethan", "the audit log shows them to who reads it")
  local told = t.outbox{ to = demo.email("zoe"), template = "message.unveiled" }
  t.eq(#told, 1, "Zoe is told")
  t.contains(told[1].body_text, "Reported as abusive by Ethan")
  local stored = db.value("SELECT body_text FROM outbox WHERE id = ?", told[1].id)
  t.not_contains(stored, "Reported as abusive", "the outbox keeps the reason sealed until the mail is sent")
  t.contains(stored, require("services.mail").CONFIDENTIAL)
  t.eq(t.status(ethan:get("/api/messages/" .. anon.id), 200).json.author, require("lib.json").null, "still anonymous to Ethan")
  t.contains(marcus:get("/messages/" .. anon.id).body, "Unveiled writer", "the HR Admin sees whom they unveiled")
  t.status(marcus:post("/api/messages/" .. anon.id .. "/unveil", { reason = "again" }), 200)
end)

t.test("nobody unveils the writer of praise above them in their own chain", function()
  local m = praise(as("priya"), { text = "From the top", recipient_ids = { P.ethan.id }, anonymous = true })
  local res = marcus:post("/api/messages/" .. m.id .. "/unveil", { reason = "curious" })
  t.status(res, 403, "Priya is Marcus's manager")
  t.eq(res.json.error.details.rule, "hierarchy")
end)

t.test("likes: once per person, the writer mailed at most once a day; readers only", function()
  local m = praise(zoe, { text = "Likeable", recipient_ids = { P.ethan.id } })
  t.eq(t.status(ethan:post("/api/messages/" .. m.id .. "/likes"), 200).json.like_count, 1)
  t.eq(t.status(ethan:post("/api/messages/" .. m.id .. "/likes"), 200).json.like_count, 1, "liking twice is once")
  t.eq(t.status(leo:post("/api/messages/" .. m.id .. "/likes"), 200).json.like_count, 2)
  t.eq(#t.outbox{ to = demo.email("zoe"), template = "message.liked" }, 1, "one mail for two likes the same day")
  t.eq(t.status(leo:delete("/api/messages/" .. m.id .. "/likes"), 200).json.like_count, 1)
  local private = praise(zoe, { text = "Only Ethan", recipient_ids = { P.ethan.id }, audience = "recipients" })
  t.status(leo:post("/api/messages/" .. private.id .. "/likes"), 404, "who may not read it may not like it")
  t.eq(db.value("SELECT COUNT(*) FROM message_likes WHERE message_id = ?", private.id), 0)
end)

t.test("comments: readers comment, the writer is told, texts are sealed; others get a 404", function()
  local m = praise(zoe, { text = "Commentable", recipient_ids = { P.ethan.id }, audience = "managers" })
  local c = t.status(ethan:post("/api/messages/" .. m.id .. "/comments", { text = "Thanks Zoe!" }), 201).json
  local j = t.status(lucas:get("/api/messages/" .. m.id), 200).json
  t.eq(j.comments[1].text, "Thanks Zoe!")
  t.eq(j.comment_count, 1)
  t.eq(#t.outbox{ to = demo.email("zoe"), template = "message.commented" }, 1)
  t.status(leo:post("/api/messages/" .. m.id .. "/comments", { text = "me too" }), 404)
  t.status(zoe:post("/api/messages/" .. m.id .. "/comments", { text = "" }), 422)
  t.not_contains(db.value("SELECT CAST(text_enc AS TEXT) FROM message_comments WHERE id = ?", c.id) or "", "Thanks")
  t.status(lucas:delete("/api/messages/" .. m.id .. "/comments/" .. c.id), 403, "only its writer deletes a comment")
  t.status(ethan:delete("/api/messages/" .. m.id .. "/comments/" .. c.id), 204)
end)

t.test("the writer edits and deletes their praise; an HR Admin too (audit-logged); others may not", function()
  local m = praise(zoe, { text = "Typo here", recipient_ids = { P.ethan.id } })
  t.status(ethan:patch("/api/messages/" .. m.id, { text = "Hacked" }), 403, "a recipient reads it but may not change it")
  t.status(zoe:patch("/api/messages/" .. m.id, { text = "Fixed" }), 200)
  t.eq(t.status(ethan:get("/api/messages/" .. m.id), 200).json.text, "Fixed")
  t.status(marcus:patch("/api/messages/" .. m.id, { text = "Moderated" }), 200)
  t.ok(db.value("SELECT 1 FROM audit_log WHERE action = 'message.moderated' AND target_id = ?", m.id))
  t.status(as("tom"):delete("/api/messages/" .. m.id), 403, "a Tech Admin reads company praise but may not delete it")
  t.status(marcus:delete("/api/messages/" .. m.id), 204)
  t.status(zoe:get("/api/messages/" .. m.id), 404)
end)

t.test("pages: the wall with filters, a message with its like and comment forms, the profile's praise", function()
  local body = leo:get("/praise?department=Engineering&period=month").body
  t.contains(body, "Ethan fixed the build")
  t.contains(leo:get("/praise?department=Sales").body, "No praise matches these filters")
  t.contains(leo:get("/praise?badge=2").body, "Ethan fixed the build")
  t.not_contains(leo:get("/praise?badge=5").body, "Ethan fixed the build")
  praise(zoe, { text = "On the profile", recipient_ids = { P.ethan.id } })
  local profile = leo:get("/people/" .. P.ethan.id).body
  t.contains(profile, "On the profile")
  t.not_contains(profile, "Quiet thanks", "recipients-only praise is not on the profile for others")
  praise(zoe, { text = "Quiet profile thanks", recipient_ids = { P.ethan.id }, audience = "recipients" })
  t.not_contains(leo:get("/people/" .. P.ethan.id).body, "Quiet profile thanks")
  t.contains(ethan:get("/people/" .. P.ethan.id).body, "Quiet profile thanks", "but Ethan sees it on his")
  local home = ethan:get("/home").body
  t.contains(home, "Give praise")
end)

t.test("give praise through the form: refused input is kept, then it is sent", function()
  local res = zoe:form("/messages/new", { kind = "praise", recipients = "Nobody Atall", text = "Well done" })
  t.status(res, 303)
  local page = zoe:follow(res).body
  t.contains(page, "No single active colleague")
  t.contains(page, "Well done", "what was typed is kept")
  local _, alerts = page:gsub('role="alert"', "")
  t.eq(alerts, 1, "one alert says the form was refused (not a second one repeating it)")
  res = zoe:form("/messages/new", { kind = "praise", recipients = "Ethan Brooks, " .. demo.email("leo"), text = "Well done",
    audience = "everyone", badge_id = "1" })
  t.status(res, 303)
  local id = tonumber(res.headers.location:match("/messages/(%d+)"))
  local j = t.status(leo:get("/api/messages/" .. id), 200).json
  t.eq(#j.recipients, 2)
  t.eq(j.badge.title, "Above and beyond")
end)

t.test("the wall costs the same number of queries for a page of 2 or of 20", function()
  local few = t.count_queries(function() t.status(leo:get("/praise?department=Engineering"), 200) end)
  for i = 1, 25 do praise(zoe, { text = "Bulk praise " .. i, recipient_ids = { P.ethan.id, P.leo.id }, badge_id = 1 }) end
  local many = t.count_queries(function() t.status(leo:get("/praise?department=Engineering"), 200) end)
  t.eq(many, few)
  local api_few = t.count_queries(function() t.status(leo:get("/api/praise?limit=2"), 200) end)
  local api_many = t.count_queries(function() t.status(leo:get("/api/praise?limit=20"), 200) end)
  t.eq(api_many, api_few)
end)

t.test("the wall pages by keyset: the next page starts below the last one shown, nothing twice", function()
  local first = t.status(leo:get("/api/praise?limit=10"), 200).json
  local second = t.status(leo:get("/api/praise?limit=10&before=" .. first.next_before), 200).json
  t.ok(second.items[1].id < first.items[10].id)
  local seen = {}
  for _, m in ipairs(first.items) do seen[m.id] = true end
  for _, m in ipairs(second.items) do t.no(seen[m.id], "shown twice") end
end)

t.test("the wall's filters follow the company: a new department shows at once", function()
  t.not_contains(leo:get("/praise").body, "<option>Research</option>")
  t.status(marcus:patch("/api/users/" .. P.leo.id, { department = "Research" }), 200)
  t.contains(leo:get("/praise").body, "<option>Research</option>")
end)

t.test("the form finds a colleague by name without regard to case or accents; an invited one is said to be not here yet", function()
  local omer = t.status(marcus:post("/api/users", { name = "Ömer Łukasz Żak", email = "omer.zak@northwind.example",
    manager_id = P.lucas.id }), 201).json
  local res = zoe:form("/messages/new", { kind = "praise", recipients = "Ömer Łukasz Żak", text = "Welcome aboard" })
  local page = zoe:follow(t.status(res, 303)).body
  t.contains(page, "Ömer Łukasz Żak has not joined Candor yet", "invited, not active: not a wrong name")
  t.contains(page, "Welcome aboard", "what was typed is kept")
  local profile = t.status(zoe:get("/people/" .. omer.id), 200).body
  t.not_contains(profile, "kind=praise&amp;to=" .. omer.id, "no Praise button that can only be refused")
  t.contains(profile, "Ömer can be praised once they have joined Candor.")
  db.exec("UPDATE users SET status = 'active' WHERE id = ?", omer.id)
  t.contains(t.status(zoe:get("/people/" .. omer.id), 200).body, "kind=praise&amp;to=" .. omer.id, "once joined: the button")
  res = t.status(zoe:form("/messages/new", { kind = "praise", recipients = "omer lukasz zak, ETHAN BROOKS",
    text = "Welcome aboard", audience = "everyone" }), 303)
  local id = tonumber(res.headers.location:match("^/messages/(%d+)$"))
  t.ok(id, "sent: " .. res.headers.location)
  local names = {}
  for _, r in ipairs(t.status(zoe:get("/api/messages/" .. id), 200).json.recipients) do names[#names + 1] = r.name end
  table.sort(names)
  t.same(names, { "Ethan Brooks", "Ömer Łukasz Żak" })
end)
