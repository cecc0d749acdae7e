-- Webhooks against a real receiver (tests/tools/http_receiver, its own process): a Tech Admin
-- subscribes a URL to events; a change that commits is delivered as signed JSON (the signature
-- checked with openssl, not with Candor's code), one that rolls back never; a receiver that fails
-- gets retries with backoff for 24 hours on the virtual clock; redeliver and ping; the data sent
-- is what the webhook's owner may see and never what anyone wrote; the secret is shown once and
-- kept sealed; only Tech Admins see or change any of it.
local t = require "testing"
local demo = require "demo"
local db = require "lib.db"
local json = require "lib.json"
local events = require "lib.events"
local settings = require "services.settings"
local webhooks = require "services.webhooks"

local ROOT = debug.getinfo(1, "S").source:match("^@(.-)tests/scenarios/integrations/[^/]+$") or ""
local receiver = dofile(ROOT .. "tests/tools/http_receiver.lua")

local P = t.demo()
local function tech() return t.login(demo.email("tom")) end     -- Tech Admin
local function hr() return t.login(demo.email("marcus")) end    -- HR Admin
local function super() return t.login(demo.email("priya")) end  -- HR Admin + Tech Admin
local recv = receiver.start(ROOT)
settings.set("integrations.allow_loopback", true)

local function q(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

-- HMAC-SHA256 by openssl (not by Candor): hex of key over the text in file path.
local function openssl_hmac(key, text)
  local path = os.tmpname()
  local f = assert(io.open(path, "wb"))
  f:write(text)
  f:close()
  local p = assert(io.popen(("openssl dgst -sha256 -hmac %s < %s"):format(q(key), q(path))))
  local out = p:read("a")
  p:close()
  os.remove(path)
  return out:match("(%x+)%s*$")
end

-- every text value in every table of the database
local function database_contains(needle)
  for _, tbl in ipairs(db.column("SELECT name FROM sqlite_master WHERE type = 'table'")) do
    for _, row in ipairs(db.query(("SELECT * FROM %q"):format(tbl))) do
      for col, v in pairs(row) do
        if type(v) == "string" and v:find(needle, 1, true) then return tbl .. "." .. col end
      end
    end
  end
end

local function create(client, body) return t.status(client:post("/api/webhooks", body), 201).json end

local function new_person(email)
  return t.status(hr():post("/api/users", { name = "Wanda Webhook", email = email, manager_id = P.ravi.id }), 201).json
end

local hook, secret -- the Tech Admin's webhook for person events

t.test("only Tech Admins see and change webhooks; others get 403", function()
  local body = { name = "HR system", url = recv:url("/people"), events = { "person.*" } }
  for _, who in ipairs({ "marcus", "lena", "zoe", "ravi" }) do
    local c = t.login(demo.email(who))
    t.status(c:get("/api/webhooks"), 403, who)
    t.status(c:post("/api/webhooks", body), 403, who)
    t.status(c:get("/admin/webhooks"), 403, who)
    t.status(c:get("/admin/integrations"), 403, who)
  end
  t.eq(db.value("SELECT count(*) FROM webhooks"), 0, "nothing was made")
  t.status(tech():get("/api/webhooks"), 200)
  t.status(tech():get("/admin/webhooks"), 200)
end)

t.test("a webhook needs a name, an http(s) URL without credentials and events integrations receive", function()
  local c = tech()
  local res = t.status(c:post("/api/webhooks", { name = "", url = "ftp://x.example", events = {} }), 422)
  t.ok(res.json.error.fields.name and res.json.error.fields.url and res.json.error.fields.events)
  res = t.status(c:post("/api/webhooks", { name = "x", url = "https://user:pw@x.example/h", events = { "person.created" } }), 422)
  t.contains(res.json.error.fields.url, "user name or password")
  res = t.status(c:post("/api/webhooks", { name = "x", url = "https://x.example/h", events = { "http.authenticate" } }), 422)
  t.contains(res.json.error.fields.events, "not an event integrations receive")
  res = t.status(c:post("/api/webhooks", { name = "x", url = "https://x.example/h", events = { "message.deleted" } }), 422)
  t.contains(res.json.error.fields.events, "the message is gone")
  res = t.status(c:post("/api/webhooks", { name = "x", url = "https://x.example/h", events = { "nothing.*" } }), 422)
  t.contains(res.json.error.fields.events, "no events in nothing")
  t.eq(db.value("SELECT count(*) FROM webhooks"), 0)
  local page = t.status(c:follow(c:form("/admin/webhooks", { name = "Kept", url = "not a url", events = "person.*" })), 200)
  t.contains(page.body, 'value="Kept"', "the form keeps what was typed")
  t.contains(page.body, "must start with http://")
end)

t.test("created: the secret is shown once, sealed in the database, and in no answer or audit entry after", function()
  local created = create(tech(), { name = "HR system", url = recv:url("/people"), events = { "person.*", "review.signed" } })
  hook, secret = created, created.secret
  t.match(secret, "^whsec_")
  t.eq(created.owner.name, "Tom Okafor")
  t.eq(database_contains(secret), nil, "no table holds the secret in plain text")
  t.not_contains(t.status(tech():get("/api/webhooks/" .. hook.id), 200).body, secret)
  t.not_contains(t.status(tech():get("/api/webhooks"), 200).body, secret)
  t.not_contains(t.status(tech():get("/admin/webhooks/" .. hook.id), 200).body, secret)
  for _, d in ipairs(db.column("SELECT details FROM audit_log WHERE action LIKE 'webhook.%'")) do
    t.not_contains(d, secret)
  end
  t.eq(db.value("SELECT count(*) FROM audit_log WHERE action = 'webhook.created'"), 1)
  -- the page flow shows a new one exactly once
  local c = tech()
  local posted = t.status(c:form("/admin/webhooks", { name = "Page made", url = recv:url("/page"), events = "person.created",
    enabled = "on" }), 303)
  local first = t.status(c:follow(posted), 200).body
  local shown = first:match('id="new%-secret">(whsec_[^<]+)<')
  t.ok(shown, "shown on the page the browser lands on")
  t.not_contains(t.status(c:get(posted.headers.location), 200).body, shown, "a reload shows it no more")
  t.status(c:post("/api/webhooks/" .. posted.headers.location:match("%d+$") .. "/secret"), 200)
  t.status(c:delete("/api/webhooks/" .. posted.headers.location:match("%d+$")), 204)
end)

t.test("a committed change is delivered as signed JSON with a delivery id; the signature checks out with openssl", function()
  local person = new_person("wanda.webhook@northwind.example")
  t.eq(#recv:requests_to("/people"), 0, "nothing is sent inside the request")
  t.advance("1s")
  local got = recv:requests_to("/people")
  t.eq(#got, 1)
  local r = got[1]
  t.eq(r.method, "POST")
  t.eq(r.headers["content-type"], "application/json")
  t.eq(r.headers["x-candor-event"], "person.created")
  local body = json.decode(r.body)
  t.eq(body.event, "person.created")
  t.eq(body.webhook_id, hook.id)
  t.eq(body.data.person_id, person.id)
  t.eq(body.data.actor_id, P.marcus.id)
  t.match(body.id, "^%x+%-%x+%-4%x+%-%x+%-%x+$")
  t.eq(r.headers["x-candor-delivery"], body.id)
  local ts = r.headers["x-candor-timestamp"]
  t.match(ts, "^%d+$")
  local want = openssl_hmac(secret, ts .. "." .. r.body)
  t.eq(r.headers["x-candor-signature"], "sha256=" .. want, "HMAC-SHA256(secret, timestamp.body) as openssl makes it")
  t.neq(openssl_hmac(secret .. "x", ts .. "." .. r.body), want, "and a wrong secret does not match")
  local log = t.status(tech():get("/api/webhooks/" .. hook.id .. "/deliveries"), 200).json.deliveries
  t.eq(log[1].status, "delivered")
  t.eq(log[1].delivery_id, body.id)
  t.eq(log[1].response_status, 200)
  t.eq(log[1].response_excerpt, "ok")
end)

t.test("a change that rolls back is never delivered", function()
  local before = #recv:requests()
  local ok = pcall(db.transaction, function()
    events.fire("person.updated", { person_id = P.zoe.id, fields = { "job_title" }, actor_id = P.marcus.id })
    error("refused")
  end)
  t.no(ok)
  t.eq(db.value("SELECT count(*) FROM webhook_deliveries WHERE event = 'person.updated'"), 0, "the delivery went with the change")
  t.advance("1m")
  t.eq(#recv:requests(), before)
end)

t.test("the data is what the owner may see: a Tech Admin's webhook gets no review events, a super user's does", function()
  local su = create(super(), { name = "Super", url = recv:url("/super"), events = { "*" } })
  local ta = create(tech(), { name = "Everything for Tom", url = recv:url("/tom"), events = { "*" } })
  db.transaction(function()
    events.fire("review.signed", { review_id = 1, cycle_id = 1, reviewee_id = P.zoe.id, manager_id = P.lucas.id,
      actor_id = P.zoe.id, by = "reviewee" })
  end)
  t.advance("1s")
  t.eq(#recv:requests_to("/tom"), 0, "Tech Admins do not track review cycles")
  t.eq(#recv:requests_to("/people"), 1, "nor does the first webhook (Tom's) get it, although it names review.signed")
  local got = {}
  for _, r in ipairs(recv:requests_to("/super")) do
    if r.headers["x-candor-event"] == "review.signed" then got[#got + 1] = r end
  end
  t.eq(#got, 1, "the super user tracks cycles")
  t.eq(json.decode(got[1].body).data.by, "reviewee")
  t.status(super():delete("/api/webhooks/" .. su.id), 204)
  t.status(tech():delete("/api/webhooks/" .. ta.id), 204)
end)

t.test("never what anyone wrote: a private note goes to nobody, company praise goes out without its text", function()
  local ta = create(tech(), { name = "Messages", url = recv:url("/messages"), events = { "praise.*", "note.*" } })
  local zoe = t.login(demo.email("zoe"))
  t.status(zoe:post("/api/messages", { kind = "note", about_id = P.mia.id, text = "SECRET-NOTE-TEXT about Mia" }), 201)
  t.status(zoe:post("/api/messages", { kind = "praise", recipient_ids = { P.mia.id }, audience = "everyone",
    text = "PRAISE-TEXT for the migration" }), 201)
  t.advance("1s")
  local got = recv:requests_to("/messages")
  t.eq(#got, 1, "the praise only")
  t.eq(json.decode(got[1].body).event, "praise.given")
  for _, r in ipairs(recv:requests()) do
    t.not_contains(r.body, "SECRET-NOTE-TEXT")
    t.not_contains(r.body, "PRAISE-TEXT")
  end
  t.status(tech():delete("/api/webhooks/" .. ta.id), 204)
end)

t.test("a receiver that fails is retried with backoff, the log showing each answer; then it is delivered", function()
  recv:rules{ "/people 500 database is down" }
  local person = new_person("retry.me@northwind.example")
  t.advance("1s")
  local d = db.row("SELECT * FROM webhook_deliveries WHERE body LIKE ? ORDER BY id DESC", '%"person_id":' .. person.id .. "%")
  t.eq(d.status, "pending")
  t.eq(d.attempts, 1)
  t.eq(d.response_status, 500)
  t.eq(d.response_excerpt, "database is down")
  local api = t.status(tech():get("/api/webhooks/" .. hook.id .. "/deliveries/" .. d.id), 200).json
  t.eq(api.next_attempt_at, require("lib.util").format_time(d.last_attempt_at + webhooks.RETRY[1]), "30 s later")
  t.advance("28s")
  t.eq(db.value("SELECT attempts FROM webhook_deliveries WHERE id = ?", d.id), 1)
  t.advance("2s")
  t.eq(db.value("SELECT attempts FROM webhook_deliveries WHERE id = ?", d.id), 2, "retried after 30 s")
  t.advance("58s")
  t.eq(db.value("SELECT attempts FROM webhook_deliveries WHERE id = ?", d.id), 2, "the second wait is a minute")
  recv:rules{}
  t.advance("2s")
  d = db.row("SELECT * FROM webhook_deliveries WHERE id = ?", d.id)
  t.eq(d.status, "delivered")
  t.eq(d.attempts, 3)
  local uids = {}
  for _, r in ipairs(recv:requests_to("/people")) do
    local b = json.decode(r.body)
    if b.data.person_id == person.id then uids[#uids + 1] = b.id end
  end
  t.eq(#uids, 3)
  t.ok(uids[1] == uids[2] and uids[2] == uids[3], "every attempt carries the same delivery id")
end)

t.test("a receiver down for good: retries for 24 hours, then failed; its other deliveries wait with it", function()
  recv:rules{ "/people 503 maintenance" }
  local a = new_person("down.one@northwind.example")
  local b = new_person("down.two@northwind.example")
  t.advance("25h")
  for _, person in ipairs({ a, b }) do
    local d = db.row("SELECT * FROM webhook_deliveries WHERE body LIKE ? ORDER BY id DESC", '%"person_id":' .. person.id .. "%")
    t.eq(d.status, "failed")
    t.contains(d.error, "gave up")
    t.ok(d.attempts >= 10, d.attempts .. " attempts")
    t.ok(d.last_attempt_at - d.created_at <= 24 * 3600, "none later than 24 hours")
    t.ok(d.last_attempt_at - d.created_at >= 20 * 3600, "the last one near the end")
  end
  t.eq(db.value("SELECT count(*) FROM jobs WHERE kind = 'webhook.deliver'"), 0)
  recv:rules{}
end)

t.test("a receiver nobody answers for: one attempt fails, its other deliveries due then wait without a try", function()
  local dead = create(tech(), { name = "Nobody home", url = "http://127.0.0.1:18599/hook", events = { "person.created" } })
  local before = db.value("SELECT count(*) FROM webhook_deliveries WHERE webhook_id = ?", hook.id)
  db.transaction(function()
    for _ = 1, 3 do events.fire("person.created", { person_id = P.zoe.id, kind = "employee", actor_id = P.marcus.id }) end
  end)
  t.advance("1s")
  local rows = db.query("SELECT attempts, status, error FROM webhook_deliveries WHERE webhook_id = ? ORDER BY id", dead.id)
  t.eq(#rows, 3)
  t.eq(rows[1].attempts, 1)
  t.contains(rows[1].error, "cannot connect")
  for i = 2, 3 do
    t.eq(rows[i].attempts, 0, "not tried")
    t.eq(rows[i].status, "pending")
    t.contains(rows[i].error, "Not sent: cannot connect")
  end
  t.eq(db.value("SELECT count(*) FROM webhook_deliveries WHERE webhook_id = ? AND status = 'delivered'", hook.id) > 0, true)
  t.ok(db.value("SELECT count(*) FROM webhook_deliveries WHERE webhook_id = ?", hook.id) > before, "other webhooks go on")
  t.status(tech():delete("/api/webhooks/" .. dead.id), 204)
end)

t.test("redeliver sends the same delivery id and body again, freshly signed", function()
  local d = db.row("SELECT * FROM webhook_deliveries WHERE status = 'failed' ORDER BY id DESC")
  t.status(hr():post("/api/webhooks/" .. hook.id .. "/deliveries/" .. d.id .. "/redeliver"), 403)
  local res = t.status(tech():post("/api/webhooks/" .. hook.id .. "/deliveries/" .. d.id .. "/redeliver"), 200).json
  t.eq(res.status, "pending")
  t.advance("1s")
  t.eq(db.value("SELECT status FROM webhook_deliveries WHERE id = ?", d.id), "delivered")
  local last = recv:requests_to("/people")
  last = last[#last]
  t.eq(last.headers["x-candor-delivery"], d.uid)
  t.eq(last.body, d.body)
  t.eq(last.headers["x-candor-signature"], "sha256=" .. openssl_hmac(secret, last.headers["x-candor-timestamp"] .. "." .. last.body))
end)

t.test("a delivery is only reached through its own webhook (no other webhook's id opens it)", function()
  local other = create(tech(), { name = "Other", url = recv:url("/other"), events = { "person.created" } })
  local d = db.value("SELECT id FROM webhook_deliveries WHERE webhook_id = ? LIMIT 1", hook.id)
  t.status(tech():get("/api/webhooks/" .. other.id .. "/deliveries/" .. d), 404)
  t.status(tech():post("/api/webhooks/" .. other.id .. "/deliveries/" .. d .. "/redeliver"), 404)
  t.status(tech():get("/admin/webhooks/" .. other.id .. "/deliveries/" .. d), 404)
  t.status(tech():get("/api/webhooks/99999"), 404)
  t.status(tech():delete("/api/webhooks/" .. other.id), 204)
end)

t.test("a test ping goes out at once and shows the answer; a redirect is not followed", function()
  local res = t.status(tech():post("/api/webhooks/" .. hook.id .. "/ping"), 200).json
  t.eq(res.status, "delivered")
  t.eq(res.event, "webhook.ping")
  t.eq(res.response_status, 200)
  t.eq(res.body.data.webhook_id, hook.id)
  recv:rules{ "/people redirect http://elsewhere.example/x" }
  res = t.status(tech():post("/api/webhooks/" .. hook.id .. "/ping"), 200).json
  t.eq(res.status, "pending")
  t.eq(res.response_status, 302)
  t.contains(res.error, "do not follow redirects")
  recv:rules{}
  t.advance("1m")
  local c = tech()
  local page = t.status(c:follow(c:form("/admin/webhooks/" .. hook.id .. "/ping", {})), 200).body
  t.contains(page, "The receiver answered 200.")
end)

t.test("this machine's own addresses are refused unless the setting allows them", function()
  settings.set("integrations.allow_loopback", false)
  local res = t.status(tech():post("/api/webhooks/" .. hook.id .. "/ping"), 200).json
  t.eq(res.status, "pending")
  t.contains(res.error, "refused to connect to 127.0.0.1")
  settings.set("integrations.allow_loopback", true)
  t.advance("1m")
end)

t.test("a disabled webhook sends nothing; a webhook whose owner lost the Tech Admin role neither", function()
  t.status(tech():patch("/api/webhooks/" .. hook.id, { enabled = false }), 200)
  local before = #recv:requests_to("/people")
  new_person("while.disabled@northwind.example")
  t.advance("1m")
  t.eq(#recv:requests_to("/people"), before)
  t.status(tech():patch("/api/webhooks/" .. hook.id, { enabled = true }), 200)
  -- Tom stops being a Tech Admin: deliveries recorded before are skipped, new events are not recorded
  local tom = P.tom
  local admin = super()
  db.transaction(function() events.fire("person.updated", { person_id = P.zoe.id, fields = { "department" } }) end)
  t.status(admin:put("/api/users/" .. tom.id .. "/roles", { roles = {} }), 200)
  t.advance("1m")
  t.eq(#recv:requests_to("/people"), before)
  t.eq(db.value("SELECT status FROM webhook_deliveries WHERE event = 'person.updated' ORDER BY id DESC"), "skipped")
  t.contains(db.value("SELECT error FROM webhook_deliveries WHERE event = 'person.updated' ORDER BY id DESC"),
    "no longer manages integrations")
  new_person("after.demotion@northwind.example")
  t.eq(db.value("SELECT count(*) FROM webhook_deliveries WHERE body LIKE '%after.demotion%'"), 0)
  t.status(admin:put("/api/users/" .. tom.id .. "/roles", { roles = { "tech_admin" } }), 200)
  t.advance("1m")
end)

t.test("the pages: list, form, a webhook with its log, one delivery", function()
  local c = tech()
  t.contains(t.status(c:get("/admin/integrations"), 200).body, "/admin/webhooks")
  t.contains(t.status(c:get("/admin/webhooks"), 200).body, "HR system")
  t.contains(t.status(c:get("/admin/webhooks/new"), 200).body, "person.*")
  local page = t.status(c:get("/admin/webhooks/" .. hook.id), 200).body
  t.contains(page, "Send a test ping")
  t.contains(page, "Delivered")
  t.status(c:get("/admin/webhooks/" .. hook.id .. "?status=nonsense"), 400)
  local d = db.value("SELECT id FROM webhook_deliveries WHERE webhook_id = ? ORDER BY id DESC LIMIT 1", hook.id)
  t.contains(t.status(c:get("/admin/webhooks/" .. hook.id .. "/deliveries/" .. d), 200).body, "What was sent")
  t.contains(t.status(c:get("/admin/webhooks/" .. hook.id .. "/edit"), 200).body, "Save webhook")
  local res = t.status(c:form("/admin/webhooks/" .. hook.id, { name = "HR system", url = hook.url, events = "person.*",
    enabled = "on" }), 303)
  t.eq(res.headers.location, "/admin/webhooks/" .. hook.id)
end)

t.test("a list of webhooks and a log page cost the same queries for 3 or 300 deliveries", function()
  local function cost()
    local c = tech()
    return t.count_queries(function()
      t.status(c:get("/api/webhooks"), 200)
      t.status(c:get("/api/webhooks/" .. hook.id .. "/deliveries"), 200)
    end)
  end
  local small = cost()
  db.transaction(function()
    for i = 1, 300 do
      db.exec([[INSERT INTO webhook_deliveries(webhook_id, uid, event, body, status, created_at)
        VALUES(?, ?, 'person.created', '{}', 'delivered', 1)]], hook.id, "bulk-" .. i)
    end
  end)
  t.eq(cost(), small)
end)

t.test("clean up", function() recv:stop() end)
