-- SFTP setup (users.sftp) is for Tech Admins only: its settings, its "run now" and its page. HR
-- Admins, HR Assistants, employees, guests and people signed out are refused at every endpoint,
-- and a refused request changes nothing: no setting, no run, no planned job, no audit entry.
local t = require "testing"
local demo = require "demo"
local db = require "lib.db"
local F = dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "_feed.lua")

local P = t.demo()

-- Everything a request to the feed could change.
local function state()
  return {
    settings = db.query("SELECT key, value FROM settings WHERE key LIKE 'sftp.%' ORDER BY key"),
    runs = db.value("SELECT count(*) FROM feed_runs"),
    jobs = db.value("SELECT count(*) FROM jobs WHERE kind = 'sftp.run'"),
    audit = db.value("SELECT count(*) FROM audit_log WHERE action LIKE 'sftp.%'"),
    files = nil,
  }
end

local DENIED = {
  { "an HR Admin", function() return t.login(demo.email("marcus")) end, 403 },
  { "an HR Assistant", function() return t.login(demo.email("lena")) end, 403 },
  { "an employee", function() return t.login(demo.email("mia")) end, 403 },
  { "a guest", function() return t.login(P["alex.morgan@clientcorp.example"].email) end, 403 },
  { "someone signed out", function() return t.client() end, 401 },
}

local function requests(c, dir)
  return {
    { "GET /api/integrations/sftp", function() return c:get("/api/integrations/sftp") end },
    { "PUT /api/integrations/sftp", function()
      return c:put("/api/integrations/sftp", { enabled = true, folder = dir, frequency = "hourly" })
    end },
    { "POST /api/integrations/sftp/run", function() return c:post("/api/integrations/sftp/run", {}) end },
    { "GET /admin/integrations/sftp", function() return c:get("/admin/integrations/sftp") end, true },
    { "POST /admin/integrations/sftp", function()
      return c:form("/admin/integrations/sftp", { enabled = "on", folder = dir, pattern = "*.csv", frequency = "daily",
        hour = "3", csrf_token = c.csrf })
    end, true },
    { "POST /admin/integrations/sftp/run", function()
      return c:form("/admin/integrations/sftp/run", { csrf_token = c.csrf })
    end, true },
  }
end

for _, who in ipairs(DENIED) do
  t.test(who[1] .. " is refused at every SFTP endpoint and changes nothing", function()
    local dir = F.folder()
    F.reset(dir)
    F.write(dir, "people.csv", F.file())
    local c = who[2]()
    local before = state()
    for _, r in ipairs(requests(c, dir)) do
      local res = r[2]()
      if who[3] == 401 and r[3] then
        t.ok(res.status == 303 or res.status == 401 or res.status == 403, r[1] .. " sends them to sign in: " .. res.status)
      else
        t.eq(res.status, who[3], r[1])
      end
      t.advance("1s")
    end
    t.same(state(), before, "nothing changed")
    t.same(F.files(dir), { "people.csv" }, "the file was not touched")
    F.cleanup()
  end)
end

t.test("a Tech Admin reads and saves the settings, asks for a run and sees the page", function()
  local dir = F.folder()
  F.reset()
  local tom = t.login(demo.email("tom"))
  local s = F.get(tom)
  t.eq(s.enabled, false, "off by default")
  t.eq(s.pattern, "*.csv")
  t.eq(s.deactivate_missing, true, "deactivation of missing people is on by default")
  t.eq(s.folder, "")
  t.eq(s.owner, require("lib.json").null)
  s = F.put(tom, { folder = dir, frequency = "hourly" })
  t.eq(s.folder, dir)
  t.eq(s.owner.email, demo.email("tom"), "saving makes the Tech Admin the feed's owner")
  t.same(s.changed, { "folder", "frequency" })
  local entry = db.row("SELECT * FROM audit_log WHERE action = 'sftp.settings' ORDER BY id DESC LIMIT 1")
  t.eq(entry.actor_id, P.tom.id)
  t.contains(entry.details, "frequency")
  F.write(dir, "people.csv", F.file())
  local run = F.run(tom)
  t.eq(run.status, "done")
  t.eq(run.trigger, "manual")
  local page = t.status(tom:get("/admin/integrations/sftp"), 200)
  t.contains(page.body, "SFTP setup")
  t.contains(page.body, "people.csv")
  t.contains(page.body, "/people/import/" .. run.import_id)
  local res = tom:form("/admin/integrations/sftp", { enabled = "on", folder = dir, pattern = "*.txt", frequency = "daily",
    hour = "4", deactivate_missing = "on", csrf_token = tom.csrf })
  t.status(res, 303)
  s = F.get(tom)
  t.eq(s.enabled, true)
  t.eq(s.pattern, "*.txt")
  t.eq(s.hour, 4)
  t.eq(s.frequency, "daily")
  F.put(tom, { enabled = false })
  F.cleanup()
end)

t.test("a Tech Admin's change without the CSRF token is refused and changes nothing", function()
  local dir = F.folder()
  F.reset()
  local tom = t.login(demo.email("tom"))
  local before = state()
  local res = tom:request("PUT", "/api/integrations/sftp", { body = { folder = dir },
    headers = { ["x-csrf-token"] = "wrong" } })
  t.status(res, 403)
  res = tom:request("POST", "/api/integrations/sftp/run", { body = {}, headers = { ["x-csrf-token"] = "wrong" } })
  t.status(res, 403)
  t.same(state(), before)
  F.cleanup()
end)

t.test("the admin overview links SFTP setup for Tech Admins and shows HR Admins who may do it", function()
  local tom = t.login(demo.email("tom"))
  t.contains(t.status(tom:get("/admin"), 200).body, "/admin/integrations/sftp")
  local marcus = t.login(demo.email("marcus"))
  local list = t.status(marcus:get("/api/permissions"), 200).json.permissions
  for _, p in ipairs(list) do
    if p.action == "users.sftp" then t.eq(p.allowed, false); t.contains(p.needs, "Tech Admin") end
  end
  t.not_contains(t.status(marcus:get("/admin"), 200).body, 'href="/admin/integrations/sftp"')
end)

t.test("the settings page and API cost the same number of queries with 1 run or 20", function()
  local dir = F.folder()
  F.reset()
  local tom = t.login(demo.email("tom"))
  F.put(tom, { folder = dir })
  local function add_runs(n)
    for _ = 1, n do
      db.exec([[INSERT INTO feed_runs(trigger, owner_id, file, status, rows, counts, started_at, finished_at)
        VALUES('schedule', ?, 'x.csv', 'done', 3, '{"created":1}', 1, 2)]], P.tom.id)
    end
  end
  local function cost()
    return t.count_queries(function()
      t.status(tom:get("/api/integrations/sftp"), 200)
      t.status(tom:get("/admin/integrations/sftp"), 200)
    end)
  end
  add_runs(1)
  cost()
  local one = cost()
  add_runs(19)
  t.eq(cost(), one)
  t.eq(#F.get(tom).runs, 20)
  db.exec("DELETE FROM feed_runs")
  F.cleanup()
end)
