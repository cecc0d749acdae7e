-- The HR Admin pages of praise and messages: badges, message defaults, the praise wall's office
-- screens and moderation. Each form follows post/redirect/get and keeps what was typed when it
-- is refused; destructive actions ask first; others get a 403 page.
local t = require "testing"
local demo = require "demo"
local db = require "lib.db"

local P = t.demo()
local function as(key) return t.login(demo.email(key)) end
local marcus, zoe = as("marcus"), as("zoe")

t.test("only HR Admins open the pages; the overview's tiles lead there", function()
  for _, path in ipairs({ "/admin/praise/badges", "/admin/praise/defaults", "/admin/praise/wall", "/admin/praise/moderation" }) do
    t.status(marcus:get(path), 200, path)
    for _, key in ipairs({ "zoe", "lena", "tom" }) do t.status(as(key):get(path), 403, key .. " " .. path) end
  end
  t.status(marcus:get("/admin/praise"), 302)
  t.contains(marcus:get("/admin").body, "/admin/praise/badges")
end)

t.test("a badge form refused keeps what was typed; a good one saves", function()
  local res = marcus:form("/admin/praise/badges", { title = "", description = "Kept description", symbol = "🌟" })
  t.status(res, 303)
  local page = marcus:follow(res).body
  t.contains(page, "Kept description")
  t.contains(page, "Name is required")
  res = marcus:form("/admin/praise/badges/1", { title = "Beyond", description = "x", symbol = "🚀", active = "1" })
  t.eq(marcus:follow(res).status, 200)
  t.eq(db.value("SELECT title FROM badges WHERE id = 1"), "Beyond")
end)

t.test("the defaults form switches a kind off and sets anonymity; a bad value changes nothing", function()
  local res = marcus:form("/admin/praise/defaults", { praise_enabled = "1", praise_audience = "everyone",
    praise_anonymity = "possible", feedback_enabled = "1", feedback_audience = "recipients", feedback_anonymity = "possible",
    note_audience = "author", note_anonymity = "impossible" })
  t.status(res, 303)
  t.eq(db.value("SELECT value FROM settings WHERE key = 'messages.praise.anonymity'"), '"possible"')
  t.eq(db.value("SELECT value FROM settings WHERE key = 'messages.note.enabled'"), "false", "unticked: off")
  t.contains(zoe:get("/messages/new?kind=note").body, "Private note is switched off")
  res = marcus:form("/admin/praise/defaults", { praise_enabled = "1", praise_audience = "author", note_enabled = "1" })
  t.status(res, 303)
  t.contains(marcus:follow(res).body, "must be one of")
  t.eq(db.value("SELECT value FROM settings WHERE key = 'messages.note.enabled'"), "false", "all or nothing")
  t.ok(db.value("SELECT 1 FROM audit_log WHERE action = 'messages.defaults_changed'"))
end)

t.test("an office screen: the link is shown once, shows company praise only, and stops when deleted", function()
  t.status(zoe:post("/api/messages", { kind = "praise", text = "For the screen", recipient_ids = { P.ethan.id } }), 201)
  t.status(zoe:post("/api/messages", { kind = "praise", text = "Not for the screen", recipient_ids = { P.ethan.id },
    audience = "recipients" }), 201)
  t.status(as("leo"):post("/api/messages", { kind = "praise", text = "Anonymous for the screen",
    recipient_ids = { P.ethan.id }, anonymous = true }), 201)
  local res = marcus:form("/admin/praise/wall/screens", { label = "Berlin lobby" })
  local page = marcus:follow(res).body
  local url = page:match("(/praise/screen/%x+)")
  t.ok(url, "the link is on the page once")
  t.no(marcus:get("/admin/praise/wall").body:match("/praise/screen/%x+"), "and never again")
  local screen = t.client():get(url)
  t.status(screen, 200, "no sign-in")
  t.contains(screen.body, "For the screen")
  t.contains(screen.body, "Berlin lobby")
  t.not_contains(screen.body, "Not for the screen")
  t.contains(screen.body, "Anonymous for the screen")
  t.not_contains(screen.body, "Leo Rossi", "anonymous stays anonymous")
  t.not_contains(screen.body, "<form", "read-only")
  t.eq(screen.headers["referrer-policy"], "no-referrer")
  -- a badge with an image shows on the screen through the screen's own link
  local png = "\137PNG\r\n\26\n" .. string.pack(">I4", 13) .. "IHDR" .. string.pack(">I4>I4", 2, 2) .. "\8\2\0\0\0"
    .. "\0\0\0\0" .. string.pack(">I4", 0) .. "IEND" .. "\0\0\0\0"
  t.status(marcus:request("PUT", "/api/badges/6/image", { body = png, headers = { ["content-type"] = "image/png" } }), 200)
  t.status(zoe:post("/api/messages", { kind = "praise", text = "With a picture", recipient_ids = { P.ethan.id }, badge_id = 6 }), 201)
  local img = t.client():get(url .. "/badges/6")
  t.status(img, 200)
  t.eq(img.headers["content-type"], "image/png")
  t.contains(t.client():get(url).body, url .. "/badges/6")
  t.status(t.client():get("/badges/6/image"), 303, "the app's own image address sends a stranger to sign in")
  local id = db.value("SELECT id FROM wall_screens WHERE label = 'Berlin lobby'")
  t.contains(marcus:get("/admin/praise/wall").body, 'data-confirm="Delete the link of')
  t.status(marcus:form("/admin/praise/wall/screens/" .. id .. "/delete", {}), 303)
  t.status(t.client():get(url), 404)
  t.status(t.client():get(url .. "/badges/6"), 404, "nor its images")
end)

t.test("moderation lists every praise, the private ones too, never notes or feedback", function()
  t.status(zoe:post("/api/messages", { kind = "feedback", text = "Feedback not for HR", recipient_ids = { P.ethan.id } }), 201)
  local body = marcus:get("/admin/praise/moderation").body
  t.contains(body, "Not for the screen")
  t.not_contains(body, "Feedback not for HR")
  t.contains(body, "<td>Everyone in the company</td>", "the audience in words")
  t.not_contains(body, "<td>everyone</td>", "not its key")
end)
