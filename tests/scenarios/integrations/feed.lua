-- What integrations receive (services/event_feed.lua, docs/events.md "Events for integrations"):
-- the list of events agrees with the documentation; an event goes out to an owner only when they
-- may see what it is about — allowed and denied for each kind of rule — and only as facts.
local t = require "testing"
local demo = require "demo"
local db = require "lib.db"
local fs = require "core.fs"
local feed = require "services.event_feed"

local P = t.demo()

-- docs/events.md rows: name -> where (transaction, request, rollback)
local function documented()
  local out = {}
  for line in assert(fs.read("docs/events.md")):gmatch("[^\n]+") do
    local name, where = line:match("^| `([%w_%.<>]+)` |[^|]*| ([%w ]+) |")
    if name and name:find(".", 1, true) then out[name] = where end
  end
  return out
end

local function user(key) return db.row("SELECT * FROM users WHERE email = ?", demo.email(key)) end

t.test("every event integrations receive is documented as one that fires in the transaction", function()
  local docs = documented()
  for _, name in ipairs(feed.NAMES) do
    t.eq(docs[name], "transaction", name)
  end
end)

t.test("every documented event of those areas is offered, or said why not", function()
  local named = {}
  for _, n in ipairs(feed.NAMES) do named[n] = true end
  for name, where in pairs(documented()) do
    local area = name:match("^([%w_]+)%.")
    if feed.AREAS[area] and where == "transaction" and not name:find("<", 1, true) then
      t.ok(named[name] or feed.EXCLUDED[name], name .. " is neither offered nor excluded")
    end
  end
  local doc = assert(fs.read("docs/events.md")):match("## Events for integrations(.*)$")
  for area in pairs(feed.AREAS) do t.contains(doc, "`" .. area .. "`") end
  for name in pairs(feed.EXCLUDED) do t.contains(doc, "`" .. name .. "`") end
end)

t.test("patterns: a name, an area, everything; nothing else", function()
  t.ok(feed.valid_pattern("review.signed"))
  t.ok(feed.valid_pattern("person.*"))
  t.ok(feed.valid_pattern("*"))
  t.ok(feed.valid_pattern("cycle.calibration_started"), "a workflow's own cycle event")
  t.no(feed.valid_pattern("http.authenticate"))
  t.no(feed.valid_pattern("page.*"))
  t.no(feed.valid_pattern("cycle.starting"))
  t.no(feed.valid_pattern("review.*x"))
  t.ok(feed.matches({ "person.*" }, "person.created"))
  t.no(feed.matches({ "person.*" }, "review.signed"))
  t.ok(feed.matches({ "*" }, "review.signed"))
  t.no(feed.matches({ "*" }, "http.response"), "a request event is never delivered")
  t.no(feed.matches({ "*" }, "message.deleted"))
end)

t.test("only facts go out: numbers, yes/no, short words and lists of them", function()
  local f = feed.facts({ person_id = 5, ok = true, part = "self", fields = { "name", "department" },
    text = ("x"):rep(101), line = "two\nlines", nested = { a = 1 }, mixed = { 1, { 2 } }, req = { headers = {} } })
  t.same(f, { person_id = 5, ok = true, part = "self", fields = { "name", "department" } })
end)

t.test("an owner without integrations, or not active, sees nothing", function()
  local data = { person_id = P.zoe.id, kind = "employee" }
  t.ok(feed.view(user("tom"), "person.created", data), "a Tech Admin")
  t.eq(feed.view(user("marcus"), "person.created", data), nil, "an HR Admin does not manage integrations")
  t.eq(feed.view(user("zoe"), "person.created", data), nil)
  local tom = user("tom")
  tom.status = "deactivated"
  t.eq(feed.view(tom, "person.created", data), nil)
end)

t.test("areas by permission: the audit log's events for Tech Admins; review events for whoever tracks cycles", function()
  local tom, priya = user("tom"), user("priya")
  t.ok(feed.view(tom, "session.signed_in", { person_id = P.zoe.id, second_step = false }))
  local review = { review_id = 1, cycle_id = 1, reviewee_id = P.zoe.id, actor_id = P.zoe.id }
  t.eq(feed.view(tom, "review.shared", review), nil, "Tech Admins do not track cycles")
  t.ok(feed.view(priya, "review.shared", review), "a super user does")
  t.eq(feed.view(tom, "workflow.version_saved", { version_id = 1, name = "x", new = true }), nil)
  t.ok(feed.view(priya, "workflow.version_saved", { version_id = 1, name = "x", new = true }))
  t.ok(feed.view(tom, "mail.queued", { outbox_id = 1, template = "user.invite" }), "Tech Admins see the outbox")
end)

t.test("messages: what the owner may read — company praise yes, a note about someone no", function()
  local zoe = t.login(demo.email("zoe"))
  local praise = t.status(zoe:post("/api/messages", { kind = "praise", recipient_ids = { P.mia.id },
    audience = "everyone", text = "Thanks for the help" }), 201).json
  local note = t.status(zoe:post("/api/messages", { kind = "note", about_id = P.mia.id, text = "Private words" }), 201).json
  local tom = user("tom")
  t.ok(feed.view(tom, "praise.given", { message_id = praise.id, kind = "praise", audience = "everyone",
    anonymous = false, recipient_ids = { P.mia.id } }))
  t.eq(feed.view(tom, "note.written", { message_id = note.id, kind = "note", audience = "author", anonymous = false,
    recipient_ids = {} }), nil)
  local priya = user("priya")
  t.eq(feed.view(priya, "note.written", { message_id = note.id, kind = "note", audience = "author", anonymous = false,
    recipient_ids = {} }), nil, "not even a super user: notes are their writer's")
end)

t.test("1:1s: only the people who meet, and never a private item", function()
  local tom = user("tom")
  -- Tom meets a colleague of his own
  local c = t.login(demo.email("tom"))
  local colleague = db.value("SELECT id FROM users WHERE manager_id = ? AND status = 'active' LIMIT 1", tom.manager_id)
  if colleague == tom.id then colleague = tom.manager_id end
  local s = t.status(c:post("/api/meeting-series", { with_id = colleague, date = "2026-01-12" }), 201).json
  local item = { series_id = s.id, meeting_id = s.meeting_id, item_id = 1, kind = "point", author_id = tom.id,
    actor_id = tom.id }
  item.private = false
  t.ok(feed.view(tom, "meeting_item.added", item), "a participant, a shared item")
  item.private = true
  t.eq(feed.view(tom, "meeting_item.added", item), nil, "a private item never")
  item.private = false
  t.eq(feed.view(user("priya"), "meeting_item.added", item), nil, "someone who does not take part")
end)
