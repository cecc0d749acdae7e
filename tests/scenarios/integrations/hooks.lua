-- Integration hooks against a real receiver (tests/tools/http_receiver): a Tech Admin saves a Lua
-- hook bound to events; after a change commits it runs in the sandbox and posts what it was
-- written to post, with a secret it reads; it may call only the hosts on its list; a failing run
-- is retried with backoff before the next event's run, in order; ten failures in a row disable it
-- and the Tech Admins get a mail; secrets never show in a run log, an API answer or the audit log;
-- the test runs (dry, or to a URL) record nothing; only Tech Admins see or change any of it.
local t = require "testing"
local demo = require "demo"
local db = require "lib.db"
local json = require "lib.json"
local events = require "lib.events"
local settings = require "services.settings"
local hooks = require "services.hooks"

local ROOT = debug.getinfo(1, "S").source:match("^@(.-)tests/scenarios/integrations/[^/]+$") or ""
local receiver = dofile(ROOT .. "tests/tools/http_receiver.lua")

local P = t.demo()
local function tech() return t.login(demo.email("tom")) end
local recv = receiver.start(ROOT)
settings.set("integrations.allow_loopback", true)

local SECRET = "sk-live-5ebf1c0d-TOPSECRET"

local SCRIPT = ([[
-- Tell the HR system about a new person.
return function(event)
  local token = secrets.get("hr_token")
  local who = people.get(event.data.person_id)
  log("token is", token)
  local res = http.request{ method = "POST", url = %q,
    headers = { Authorization = "Bearer " .. token }, json = { person = event.data.person_id, name = who.name } }
  log("answered", res.status)
  if res.status ~= 200 then error("the HR system answered " .. res.status) end
end
]]):format(recv:url("/hr"))

local function create(body) return t.status(tech():post("/api/hooks", body), 201).json end

local function fire_person(id)
  db.transaction(function() events.fire("person.created", { person_id = id, kind = "employee", actor_id = P.marcus.id }) end)
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

local hook

t.test("only Tech Admins see and change hooks; others get 403", function()
  for _, who in ipairs({ "marcus", "lena", "zoe" }) do
    local c = t.login(demo.email(who))
    t.status(c:get("/api/hooks"), 403, who)
    t.status(c:post("/api/hooks", { name = "x", events = { "person.*" }, source = "return function() end" }), 403, who)
    t.status(c:post("/api/hooks/check", { source = "return function() end" }), 403, who)
    t.status(c:get("/admin/hooks"), 403, who)
  end
  t.eq(db.value("SELECT count(*) FROM hooks"), 0)
end)

t.test("a script is checked in the sandbox before it is saved", function()
  local c = tech()
  local res = t.status(c:post("/api/hooks", { name = "Broken", events = { "person.created" },
    source = "return function(event)\n  if event then\nend" }), 422)
  t.match(res.json.error.fields.source, "^hook:%d: 'end' expected")
  res = t.status(c:post("/api/hooks", { name = "Not a function", events = { "person.created" }, source = "return 42" }), 422)
  t.contains(res.json.error.fields.source, "returns a function")
  res = t.status(c:post("/api/hooks", { name = "x", events = { "person.created" }, source = "return function() end",
    allow_hosts = { "http://x.example" } }), 422)
  t.contains(res.json.error.fields.allow_hosts, "is not a host name")
  res = t.status(c:post("/api/hooks", { name = "x", events = { "page.nav" }, source = "return function() end" }), 422)
  t.ok(res.json.error.fields.events)
  t.eq(db.value("SELECT count(*) FROM hooks"), 0)
  t.eq(t.status(c:post("/api/hooks/check", { source = "return function(e) end" }), 200).json.valid, true)
  local bad = t.status(c:post("/api/hooks/check", { source = "return function(e) os.exit() end" }), 200).json
  t.eq(bad.valid, true, "a check loads; what it may call is found when it runs")
  t.eq(t.status(c:post("/api/hooks/check", { source = "x = 1" }), 200).json.valid, false, "no globals")
end)

t.test("a hook posts to the receiver with the body it builds, its secret and a person; the run log says so", function()
  hook = create({ name = "Tell the HR system", events = { "person.created" }, allow_hosts = { "127.0.0.1" },
    source = SCRIPT })
  t.status(tech():put("/api/hooks/" .. hook.id .. "/secrets/hr_token", { value = SECRET }), 204)
  fire_person(P.zoe.id)
  t.eq(#recv:requests_to("/hr"), 0, "nothing runs inside the change")
  t.advance("1s")
  local got = recv:requests_to("/hr")
  t.eq(#got, 1)
  t.eq(got[1].method, "POST")
  t.eq(got[1].headers["authorization"], "Bearer " .. SECRET, "the receiver gets the secret")
  t.eq(got[1].headers["content-type"], "application/json")
  t.same(json.decode(got[1].body), { person = P.zoe.id, name = "Zoe Chen" })
  local runs = t.status(tech():get("/api/hooks/" .. hook.id .. "/runs"), 200).json.runs
  t.eq(#runs, 1)
  t.eq(runs[1].status, "ok")
  t.eq(runs[1].http_status, 200)
  t.eq(runs[1].event, "person.created")
  t.eq(runs[1].version, 1)
  local one = t.status(tech():get("/api/hooks/" .. hook.id .. "/runs/" .. runs[1].id), 200)
  t.same(one.json.log, { "token is [secret]", "answered 200" }, "the secret is masked in its log")
  t.eq(one.json.calls[1].url, recv:url("/hr"))
  t.eq(one.json.data.person_id, P.zoe.id)
  t.not_contains(one.body, SECRET)
end)

t.test("secrets are sealed, and never in an answer, the audit log or a page", function()
  t.eq(database_contains(SECRET), nil)
  for _, path in ipairs({ "/api/hooks", "/api/hooks/" .. hook.id, "/api/hooks/" .. hook.id .. "/secrets",
      "/api/hooks/" .. hook.id .. "/runs", "/admin/hooks/" .. hook.id, "/admin/hooks" }) do
    t.not_contains(t.status(tech():get(path), 200).body, SECRET, path)
  end
  local names = t.status(tech():get("/api/hooks/" .. hook.id .. "/secrets"), 200).json.secrets
  t.eq(names[1].name, "hr_token")
  t.eq(names[1].value, nil)
  for _, d in ipairs(db.column("SELECT details FROM audit_log WHERE action LIKE 'hook.%'")) do t.not_contains(d, SECRET) end
  t.eq(db.value("SELECT count(*) FROM audit_log WHERE action = 'hook.secret_saved'"), 1)
  t.status(tech():put("/api/hooks/" .. hook.id .. "/secrets/bad name", { value = "x" }), 422)
  t.status(t.login(demo.email("marcus")):put("/api/hooks/" .. hook.id .. "/secrets/x", { value = "x" }), 403)
end)

t.test("a host not on the hook's list is refused before anything is sent", function()
  local before = #recv:requests()
  local h = create({ name = "Calls out of bounds", events = { "person.updated" }, allow_hosts = { "hr.example.com" },
    source = ("return function(e) http.request{ url = %q } end"):format(recv:url("/sneaky")) })
  db.transaction(function() events.fire("person.updated", { person_id = P.zoe.id, fields = { "department" } }) end)
  t.advance("1s")
  t.eq(#recv:requests(), before, "nothing reached the receiver")
  local run = db.row("SELECT * FROM hook_runs WHERE hook_id = ?", h.id)
  t.eq(run.status, "pending", "failed, waiting for its retry")
  t.contains(run.error, "127.0.0.1 is not on this hook's list of hosts")
  t.status(tech():delete("/api/hooks/" .. h.id), 204)
end)

t.test("this machine's addresses are refused unless the setting allows them", function()
  settings.set("integrations.allow_loopback", false)
  local res = t.status(tech():post("/api/hooks/" .. hook.id .. "/test", { event = "person.created",
    data = { person_id = P.mia.id }, mode = "url", url = recv:url("/test-url") }), 200).json
  t.eq(res.ok, false)
  t.contains(res.error, "refused to connect to 127.0.0.1")
  settings.set("integrations.allow_loopback", true)
end)

t.test("a failing run is retried with backoff, and the runs after it wait: in order per hook", function()
  recv:rules{ "/hr 503 down for maintenance" }
  for _, key in ipairs({ "mia", "leo", "hana" }) do fire_person(P[key].id) end
  t.advance("1s")
  local rows = db.query("SELECT status, attempts FROM hook_runs WHERE hook_id = ? ORDER BY id DESC LIMIT 3", hook.id)
  t.eq(rows[3].attempts, 1, "the first (mia) tried once")
  t.eq(rows[2].attempts, 0, "the others wait behind it")
  t.eq(rows[1].attempts, 0)
  t.advance("9s")
  t.eq(db.value("SELECT max(attempts) FROM hook_runs WHERE hook_id = ?", hook.id), 2, "retried after 10 s")
  recv:rules{}
  t.advance("31s")
  local got = recv:requests_to("/hr")
  local order = {}
  for _, r in ipairs(got) do order[#order + 1] = json.decode(r.body).person end
  local n = #order
  t.same({ order[n - 2], order[n - 1], order[n] }, { P.mia.id, P.leo.id, P.hana.id }, "in the order of the events")
  t.eq(db.value("SELECT count(*) FROM hook_runs WHERE hook_id = ? AND status = 'ok'", hook.id), 4)
  t.eq(db.value("SELECT failures FROM hooks WHERE id = ?", hook.id), 0, "a success starts the count again")
end)

t.test("after ten failures in a row the hook is disabled and every Tech Admin gets a mail", function()
  local h = create({ name = "Always broken", events = { "person.deactivated" }, allow_hosts = { "127.0.0.1" },
    source = "return function(e) error('the other side is gone') end" })
  for _ = 1, 3 do
    db.transaction(function() events.fire("person.deactivated", { person_id = P.leo.id, from_status = "active",
      actor_id = P.marcus.id }) end)
  end
  t.advance("2h")
  local row = db.row("SELECT * FROM hooks WHERE id = ?", h.id)
  t.eq(row.enabled, 0)
  t.contains(row.disabled_reason, "10 failed runs in a row")
  t.contains(row.disabled_reason, "the other side is gone")
  local runs = db.query("SELECT status, attempts FROM hook_runs WHERE hook_id = ? ORDER BY id", h.id)
  t.eq(runs[1].status, "failed", "the first gave up after its attempts")
  t.eq(runs[1].attempts, hooks.ATTEMPTS)
  t.eq(runs[2].status, "failed")
  t.eq(runs[3].status, "pending", "the third waits for the hook to be enabled")
  local mails = db.query("SELECT to_email, subject FROM outbox WHERE template = 'hook.disabled' ORDER BY to_email")
  local to = {}
  for i, m in ipairs(mails) do to[i] = m.to_email end
  t.same(to, { demo.email("priya"), demo.email("tom") }, "the Tech Admins, super user included")
  t.contains(mails[1].subject, "Always broken")
  t.eq(db.value("SELECT count(*) FROM audit_log WHERE action = 'hook.disabled'"), 1)
  -- disabled: new events are not recorded
  db.transaction(function() events.fire("person.deactivated", { person_id = P.leo.id, from_status = "active",
    actor_id = P.marcus.id }) end)
  t.eq(db.value("SELECT count(*) FROM hook_runs WHERE hook_id = ?", h.id), 3)
  -- fixed and enabled again: the run that waited runs
  t.status(tech():patch("/api/hooks/" .. h.id, { source = "return function(e) log('fixed') end", note = "fixed",
    enabled = true }), 200)
  t.advance("1s")
  t.eq(db.value("SELECT status FROM hook_runs WHERE hook_id = ? ORDER BY id DESC LIMIT 1", h.id), "ok")
  t.eq(db.value("SELECT version FROM hook_runs WHERE hook_id = ? ORDER BY id DESC LIMIT 1", h.id), 2)
  t.eq(db.value("SELECT failures FROM hooks WHERE id = ?", h.id), 0)
end)

t.test("an endless loop or a memory bomb fails the run with the reason; the server carries on", function()
  local h = create({ name = "Hostile", events = { "person.locked" },
    source = "return function(e) if e.data.person_id == 1 then while true do end end local t = {} for i = 1, 1e8 do t[i] = ('x'):rep(100) end end" })
  db.transaction(function() events.fire("person.locked", { person_id = 1, from_status = "active", actor_id = P.marcus.id }) end)
  db.transaction(function() events.fire("person.locked", { person_id = 2, from_status = "active", actor_id = P.marcus.id }) end)
  t.advance("1s")
  local run = db.row("SELECT * FROM hook_runs WHERE hook_id = ? ORDER BY id LIMIT 1", h.id)
  t.contains(run.error, "budget")
  t.status(tech():patch("/api/hooks/" .. h.id, { enabled = false }), 200)
  local res = t.status(tech():post("/api/hooks/" .. h.id .. "/test", { event = "person.locked",
    data = { person_id = 2 } }), 200).json
  t.eq(res.ok, false)
  t.contains(res.error, "MiB")
  t.status(t.login(demo.email("zoe")):get("/healthz"), 200)
  t.status(tech():delete("/api/hooks/" .. h.id), 204)
end)

t.test("a test run records nothing: dry shows the requests it would make, url sends them elsewhere", function()
  local before_runs = db.value("SELECT count(*) FROM hook_runs")
  local before_reqs = #recv:requests()
  local res = t.status(tech():post("/api/hooks/" .. hook.id .. "/test", { event = "person.created",
    data = { person_id = P.mia.id }, mode = "dry" }), 200).json
  t.eq(res.ok, true)
  t.eq(#res.calls, 1)
  t.eq(res.calls[1].method, "POST")
  t.eq(res.calls[1].url, recv:url("/hr"))
  t.eq(res.calls[1].sent, false)
  t.eq(res.calls[1].headers.Authorization, "Bearer [secret]", "the secret masked in what is shown")
  t.eq(json.decode(res.calls[1].body).name, "Mia Johansson")
  t.eq(#recv:requests(), before_reqs, "a dry run sends nothing")
  res = t.status(tech():post("/api/hooks/" .. hook.id .. "/test", { event = "person.created",
    data = { person_id = P.mia.id }, mode = "url", url = recv:url("/test-url") }), 200).json
  t.eq(res.ok, true)
  t.eq(res.calls[1].status, 200)
  t.eq(#recv:requests_to("/test-url"), 1, "sent to the URL given instead")
  local run = db.value("SELECT id FROM hook_runs WHERE hook_id = ? ORDER BY id LIMIT 1", hook.id)
  res = t.status(tech():post("/api/hooks/" .. hook.id .. "/test", { run_id = run }), 200).json
  t.eq(res.event.data.person_id, P.zoe.id, "a recorded run's event")
  t.eq(db.value("SELECT count(*) FROM hook_runs"), before_runs, "nothing recorded")
  t.status(tech():post("/api/hooks/" .. hook.id .. "/test", { event = "page.nav" }), 422)
  t.status(tech():post("/api/hooks/" .. hook.id .. "/test", { event = "person.created", mode = "url", url = "nope" }), 422)
end)

t.test("a run or a version is only reached through its own hook", function()
  local other = create({ name = "Other", events = { "person.created" }, source = "return function() end" })
  local run = db.value("SELECT id FROM hook_runs WHERE hook_id = ? LIMIT 1", hook.id)
  t.status(tech():get("/api/hooks/" .. other.id .. "/runs/" .. run), 404)
  t.status(tech():post("/api/hooks/" .. other.id .. "/test", { run_id = run }), 404)
  t.status(tech():get("/admin/hooks/" .. other.id .. "/runs/" .. run), 404)
  t.status(tech():get("/api/hooks/" .. other.id .. "/versions/2"), 404)
  t.status(tech():get("/api/hooks/99999"), 404)
  t.status(tech():delete("/api/hooks/" .. other.id), 204)
end)

t.test("saving a new script is a new version; the history keeps each", function()
  local res = t.status(tech():patch("/api/hooks/" .. hook.id, { source = SCRIPT .. "\n-- v2\n", note = "a comment" }), 200).json
  t.eq(res.version, 2)
  local versions = t.status(tech():get("/api/hooks/" .. hook.id .. "/versions"), 200).json.versions
  t.eq(#versions, 2)
  t.eq(versions[1].version, 2)
  t.eq(versions[1].note, "a comment")
  t.eq(t.status(tech():get("/api/hooks/" .. hook.id .. "/versions/1"), 200).json.source, SCRIPT)
  t.eq(t.status(tech():patch("/api/hooks/" .. hook.id, { name = "Renamed" }), 200).json.version, 2, "no new text, no new version")
end)

t.test("what a hook sees is what its owner may see: a Tech Admin's hook gets no review events", function()
  local h = create({ name = "Reviews", events = { "review.*", "person.*" }, source = "return function() end" })
  db.transaction(function()
    events.fire("review.shared", { review_id = 1, cycle_id = 1, reviewee_id = P.zoe.id, actor_id = P.lucas.id })
  end)
  t.eq(db.value("SELECT count(*) FROM hook_runs WHERE hook_id = ?", h.id), 0)
  t.status(tech():delete("/api/hooks/" .. h.id), 204)
end)

t.test("the pages: list, form with its check, a hook with its runs, secrets and test, a run, a version", function()
  local c = tech()
  t.contains(t.status(c:get("/admin/hooks"), 200).body, "Renamed")
  t.contains(t.status(c:get("/admin/hooks/new"), 200).body, "return function(event)")
  local kept = t.status(c:follow(c:form("/admin/hooks/new/check", { name = "Typed", events = "person.*",
    source = "return function(" })), 200).body
  t.contains(kept, "The script does not load")
  t.contains(kept, 'value="Typed"', "what was typed is kept")
  local page = t.status(c:get("/admin/hooks/" .. hook.id), 200).body
  t.contains(page, "hr_token")
  t.contains(page, "Run the test")
  t.not_contains(page, SECRET)
  t.contains(page, 'data-confirm="Remove the secret hr_token? Its value cannot be shown again',
    "removing a secret asks first: its value is never shown again")
  local tested = t.status(c:follow(c:form("/admin/hooks/" .. hook.id .. "/test", { event = "person.created",
    data = '{"person_id": ' .. P.mia.id .. "}", mode = "dry" })), 200).body
  t.contains(tested, "It ran to the end")
  t.contains(tested, "Bearer [secret]")
  local run = db.value("SELECT id FROM hook_runs WHERE hook_id = ? LIMIT 1", hook.id)
  t.contains(t.status(c:get("/admin/hooks/" .. hook.id .. "/runs/" .. run), 200).body, "The event's data")
  t.contains(t.status(c:get("/admin/hooks/" .. hook.id .. "/versions/1"), 200).body, "Version 1")
  t.status(c:get("/admin/hooks/" .. hook.id .. "/edit"), 200)
  t.status(c:form("/admin/hooks/" .. hook.id .. "/secrets", { name = "another", value = "v4lue-x" }), 303)
  t.eq(database_contains("v4lue-x"), nil)
end)

t.test("the list and a run log cost the same queries for 3 or 300 runs", function()
  local function cost()
    local c = tech()
    return t.count_queries(function()
      t.status(c:get("/api/hooks"), 200)
      t.status(c:get("/api/hooks/" .. hook.id .. "/runs"), 200)
    end)
  end
  local small = cost()
  db.transaction(function()
    for _ = 1, 300 do
      db.exec("INSERT INTO hook_runs(hook_id, event, data, status, created_at) VALUES(?, 'person.created', '{}', 'ok', 1)", hook.id)
    end
  end)
  t.eq(cost(), small)
end)

t.test("every example in docs/hooks.md loads in the sandbox, returns a function and is under 20 lines", function()
  local doc = assert(require("core.fs").read("docs/hooks.md")):match("## Hooks(.*)$")
  local n = 0
  for code in doc:gmatch("```lua\n(.-)```") do
    n = n + 1
    local lines = select(2, code:gsub("\n", ""))
    t.ok(lines < 20, ("example %d has %d lines"):format(n, lines))
    t.eq(t.status(tech():post("/api/hooks/check", { source = code }), 200).json.valid, true, "example " .. n)
  end
  t.ok(n >= 4, n .. " examples")
end)

t.test("clean up", function() recv:stop() end)
