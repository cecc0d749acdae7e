-- Where webhooks and hooks may call: never link-local addresses; this machine and private
-- networks only when a Tech Admin allows them (Administration › Integrations, or
-- /api/settings/integrations). An address written in a webhook's URL is refused when it is saved;
-- whatever the URL says, the address Candor is about to connect to is checked when it calls (a
-- name that resolves to such an address is refused too: tests/unit/test_curl_uv.c).
local t = require "testing"
local demo = require "demo"
local db = require "lib.db"
local json = require "lib.json"

t.demo()
local function tech() return t.login(demo.email("tom")) end     -- Tech Admin
local function hr() return t.login(demo.email("marcus")) end    -- HR Admin
local function employee() return t.login(demo.email("zoe")) end

local function network() return t.status(tech():get("/api/settings/integrations"), 200).json end

t.test("only Tech Admins read and change where integrations may call; others get 403", function()
  t.same(network(), { allow_loopback = false, allow_private_networks = false }, "both refused at first")
  for _, c in ipairs({ hr(), employee() }) do
    t.status(c:get("/api/settings/integrations"), 403)
    t.status(c:put("/api/settings/integrations", { allow_private_networks = true }), 403)
    t.status(c:form("/admin/integrations/network", { allow_private_networks = "on" }), 403)
  end
  t.same(network(), { allow_loopback = false, allow_private_networks = false }, "nothing changed")
end)

t.test("a value that is not true or false is refused and changes nothing", function()
  local res = t.status(tech():put("/api/settings/integrations", { allow_private_networks = "yes",
    allow_loopback = true }), 422)
  t.contains(res.body, "allow_private_networks")
  t.same(network(), { allow_loopback = false, allow_private_networks = false })
end)

t.test("a webhook to a private or loopback address is refused when it is saved", function()
  local cases = { ["http://10.1.2.3/in"] = "private network", ["https://192.168.0.7:8443/in"] = "private network",
    ["http://[fd00::5]/in"] = "private network", ["http://127.0.0.1:9/in"] = "this machine",
    ["http://169.254.169.254/latest"] = "this machine, a link-local" }
  for url, why in pairs(cases) do
    local res = t.status(tech():post("/api/webhooks", { name = "Inside", url = url, events = { "person.*" } }), 422)
    t.contains(res.body, why, url)
  end
  t.eq(db.value("SELECT count(*) FROM webhooks"), 0, "none was saved")
end)

local hook -- a webhook to a private address, saved while they were allowed

t.test("allowed on the page, a private address can be saved; the change is in the audit log", function()
  local c = tech()
  local page = t.status(c:get("/admin/integrations"), 200).body
  t.contains(page, "Where integrations may call")
  local done = t.status(c:follow(c:form("/admin/integrations/network", { allow_private_networks = "on" })), 200)
  t.contains(done.body, "Network settings saved.")
  t.same(network(), { allow_loopback = false, allow_private_networks = true })
  local entry = db.row("SELECT * FROM audit_log WHERE action = 'settings.integrations'")
  t.ok(entry, "audited")
  t.same(json.decode(entry.details).changed, { allow_private_networks = { from = false, to = true } })
  hook = t.status(tech():post("/api/webhooks", { name = "Inside", url = "http://10.1.2.3/in",
    events = { "person.*" } }), 201).json
  t.status(tech():post("/api/webhooks", { name = "Loop", url = "http://127.0.0.1:9/in", events = { "person.*" } }),
    422, "this machine stays refused")
end)

t.test("refused again, a call to that address is refused before anything is sent", function()
  local res = t.status(tech():put("/api/settings/integrations", { allow_private_networks = false }), 200).json
  t.same(res.changed, { "allow_private_networks" })
  local ping = t.status(tech():post("/api/webhooks/" .. hook.id .. "/ping"), 200).json
  t.eq(ping.status, "pending", "a failed attempt, retried later")
  t.contains(ping.error, "refused to connect to 10.1.2.3: a private network address")
end)

local function intranet_hook(hosts)
  return tech():post("/api/hooks", { name = "Intranet", events = { "person.created" }, allow_hosts = hosts,
    source = [[return function(event)
  http.request{ method = "POST", url = "http://10.1.2.3/in", json = { id = event.data.person_id } }
end]] })
end

t.test("a hook whose list names a private or local address is refused when it is saved", function()
  local cases = { ["10.1.2.3"] = "private network", ["192.168.0.7"] = "private network",
    ["127.0.0.1"] = "this machine", ["169.254.169.254"] = "this machine, a link-local" }
  for host, why in pairs(cases) do
    local res = t.status(intranet_hook({ "api.example.com", host }), 422)
    t.contains(res.body, why, host)
  end
  t.eq(db.value("SELECT count(*) FROM hooks"), 0, "none was saved")
end)

t.test("a hook's request to a private address is refused too, even to a host on its list", function()
  -- saved while private networks were allowed, then refused again
  t.status(tech():put("/api/settings/integrations", { allow_private_networks = true }), 200)
  local h = t.status(intranet_hook({ "10.1.2.3" }), 201).json
  t.status(tech():put("/api/settings/integrations", { allow_private_networks = false }), 200)
  t.status(hr():post("/api/users", { name = "Ina Intranet", email = "ina@northwind.example" }), 201)
  t.advance("1s")
  local run = db.row("SELECT * FROM hook_runs WHERE hook_id = ?", h.id)
  t.eq(run.status, "pending", "failed, waiting for its retry")
  t.contains(run.error, "refused to connect to 10.1.2.3: a private network address")
  local res = t.status(tech():post("/api/hooks/" .. h.id .. "/test", { event = "person.created",
    data = { person_id = 1 }, mode = "url", url = "http://192.168.1.1/test" }), 200).json
  t.eq(res.ok, false, "a test run to a URL is checked the same way")
  t.contains(res.error, "refused to connect to 192.168.1.1: a private network address")
end)
