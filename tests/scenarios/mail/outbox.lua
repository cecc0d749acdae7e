-- The outbox page as a Tech Admin sees it on the demo (no mail server: everything stays
-- queued): newest first, filters, pages, one mail with its text, a safe HTML view and its
-- history, hidden sign-in links, and a constant number of queries for 10 or 1,000 mails.
local t = require "testing"
local demo = require "demo"
local db = require "lib.db"
local clock = require "core.clock"
local mail = require "services.mail"
local safe_html = require "lib.safe_html"

local P = t.demo()
local tech = t.login(demo.email("tom"))
local employee = t.login(demo.email("zoe"))

local function queue_many(n, template, related)
  db.transaction(function()
    for i = 1, n do
      mail.queue{ template = template or "password.reset", to = { name = ("Person %04d"):format(i),
        email = ("person%04d@partner.example"):format(i) }, vars = { link = "https://candor.test/r/" .. i },
        related_type = related and "cycle", related_id = related }
    end
  end)
end

t.test("only those with the outbox permission see it", function()
  t.status(employee:get("/admin/outbox"), 403)
  t.status(employee:get("/api/outbox"), 403)
  t.status(t.login(demo.email("marcus")):get("/admin/outbox"), 403, "HR Admins neither (Tech Admin work)")
  t.status(tech:get("/admin/outbox"), 200)
end)

t.test("an empty outbox says what will appear there", function()
  local body = t.status(tech:get("/admin/outbox"), 200).body
  t.contains(body, "No mail yet")
  t.contains(body, "No mail server is set up, so nothing is sent; this is what would go out.")
end)

t.test("mail queued by the product shows up newest first, with the recipient and status", function()
  local res = t.status(t.login(demo.email("marcus")):post("/api/users/" .. P.zoe.id .. "/password-reset"), 202)
  t.ok(res)
  queue_many(3)
  local list = t.status(tech:get("/api/outbox"), 200).json
  t.eq(list.total, 4)
  t.eq(list.smtp_configured, false)
  t.eq(list.mails[1].to_email, "person0003@partner.example", "newest first")
  t.eq(list.mails[4].to_email, P.zoe.email)
  t.eq(list.mails[4].status, "queued")
  t.eq(list.counts.queued, 4)
  local body = tech:get("/admin/outbox").body
  t.contains(body, "Person 0003")
  t.ok(body:find("Person 0003", 1, true) < body:find("Person 0001", 1, true), "newest first on the page")
end)

t.test("one mail's page: text, a safe HTML view, history; sign-in links hidden", function()
  local id = db.value("SELECT id FROM outbox WHERE to_email = ?", P.zoe.email)
  t.contains(db.value("SELECT body_text FROM outbox WHERE id = ?", id), "token=[hidden]",
    "the queued mail is stored with the link hidden")
  local stored = t.outbox({ to = P.zoe.email })[1].body_text
  t.not_contains(stored, "token=[hidden]", "the sealed copy has the real link, for sending")
  local body = t.status(tech:get("/admin/outbox/" .. id), 200).body
  t.contains(body, "Reset your Candor password")
  t.contains(body, "token=[hidden]")
  t.not_contains(body, stored:match("token=([%w%-_]+)"), "the token itself never reaches the admin")
  t.contains(body, "No mail server is set up, so nothing is sent; this is what would go out.")
  t.contains(body, "<h2>History</h2>")
  t.not_contains(body, "style=\"font-family", "the mail's inline style is not put into the page (strict CSP)")
  local api = t.status(tech:get("/api/outbox/" .. id), 200).json
  t.contains(api.text, "token=[hidden]")
  t.eq(api.history[1].status, "queued")
  t.status(tech:get("/api/outbox/999999"), 404)
end)

t.test("the HTML view keeps paragraphs and links and drops scripts, handlers and styles", function()
  local html = safe_html.clean([[<!doctype html><html><head><style>p{}</style></head><body style="x"><p onclick="evil()">Hi
<script>alert(1)</script><a href="javascript:alert(2)">bad</a> <a href="https://ok.example/a?b=1&amp;c=2" onmouseover="x()">ok</a>
<img src=x onerror=alert(3)><iframe src="https://evil.example"></iframe><b>bold</b><br>done</p></body></html>]])
  t.not_contains(html, "script")
  t.not_contains(html, "alert(1)")
  t.not_contains(html, "javascript:")
  t.not_contains(html, "onclick")
  t.not_contains(html, "onmouseover")
  t.not_contains(html, "<img")
  t.not_contains(html, "<iframe")
  t.not_contains(html, "style")
  t.contains(html, '<a href="https://ok.example/a?b=1&amp;c=2" rel="noopener noreferrer nofollow">ok</a>')
  t.contains(html, "<p>Hi")
  t.contains(html, "<b>bold</b><br>done</p>")
  t.eq(safe_html.clean("a < b <img src=x onerror=alert(1)"), "a &lt; b &lt;img src=x onerror=alert(1)",
    "an unclosed tag stays text")
end)

t.test("filters: status, mail, recipient and cycle; the form keeps them", function()
  local cycle = db.insert([[INSERT INTO cycles(name, start_date, created_at, updated_at) VALUES('Spring review 2026',
    '2026-03-01', ?, ?)]], clock.now(), clock.now())
  queue_many(2, "user.invite", cycle)
  local function api(q) return t.status(tech:get("/api/outbox?" .. q), 200).json end
  t.eq(api("template=user.invite").total, 2)
  t.eq(api("cycle=" .. cycle).total, 2)
  t.eq(api("cycle=" .. cycle).mails[1].cycle.name, "Spring review 2026")
  t.eq(api("to=person0002").total, 2, "part of an address (a reset and an invitation)")
  t.eq(api("to=" .. "Zoe").total, 1, "part of a name")
  t.eq(api("to=%25").total, 0, "% is a character, not a wildcard")
  t.eq(api("status=sent").total, 0)
  t.eq(api("status=queued&template=user.invite&to=0001").total, 1)
  t.status(tech:get("/api/outbox?status=lost"), 400)
  local body = tech:get("/admin/outbox?template=user.invite&cycle=" .. cycle).body
  t.contains(body, "<option selected>user.invite</option>")
  t.contains(body, ('<option value="%d" selected>Spring review 2026</option>'):format(cycle))
  t.contains(body, "showing 2 of 2")
end)

t.test("Retry now puts a failed mail back in the queue; a queued one due now has nothing to retry", function()
  local id = db.value("SELECT id FROM outbox WHERE to_email = 'person0001@partner.example' LIMIT 1")
  t.not_contains(tech:get("/admin/outbox/" .. id).body, "Retry now")
  db.exec("UPDATE outbox SET status = 'failed', attempts = 6, last_error = 'cannot reach the mail server' WHERE id = ?", id)
  local body = tech:get("/admin/outbox/" .. id).body
  t.contains(body, "Retry now")
  t.contains(body, "cannot reach the mail server")
  local res = t.status(tech:form("/admin/outbox/" .. id .. "/retry", {}), 303)
  t.eq(res.headers.location, "/admin/outbox/" .. id)
  local row = db.row("SELECT status, attempts FROM outbox WHERE id = ?", id)
  t.eq(row.status, "queued")
  t.eq(row.attempts, 0)
  local hist = t.status(tech:get("/api/outbox/" .. id), 200).json.history
  t.eq(hist[#hist].detail, "Retry requested")
  t.eq(hist[#hist].by, "Tom Okafor")
end)

t.test("pages of 50, newest first, with links to older mail", function()
  queue_many(120)
  local p1 = t.status(tech:get("/api/outbox"), 200).json
  t.eq(#p1.mails, 50)
  t.eq(p1.pages, math.ceil(p1.total / 50))
  local p2 = t.status(tech:get("/api/outbox?page=2"), 200).json
  t.ok(p2.mails[1].id < p1.mails[50].id)
  local body = tech:get("/admin/outbox?page=2").body
  t.contains(body, 'rel="prev"')
  t.contains(body, 'href="/admin/outbox?page=3"')
end)

t.test("the outbox pages cost the same number of queries for 10 mails as for 1,000", function()
  local function cost(path)
    return t.count_queries(function() t.status(tech:get(path), 200) end)
  end
  db.exec("DELETE FROM outbox")
  queue_many(10)
  local small = { cost("/admin/outbox"), cost("/admin/outbox?page=1&template=password.reset&to=person"), cost("/api/outbox"),
    cost("/admin/outbox/" .. db.value("SELECT max(id) FROM outbox")) }
  queue_many(990)
  t.eq(db.value("SELECT count(*) FROM outbox"), 1000)
  local big = { cost("/admin/outbox"), cost("/admin/outbox?page=1&template=password.reset&to=person"), cost("/api/outbox"),
    cost("/admin/outbox/" .. db.value("SELECT max(id) FROM outbox")) }
  t.same(big, small)
  t.ok(big[1] <= 12, "a handful of queries: " .. big[1])
end)
