-- The import applies exactly the permissions of the one-by-one endpoints, column by column, and
-- logs each change it makes as they do. A Tech Admin (users.import, not users.change_manager)
-- places the people the import creates but never moves someone already in Candor — not through
-- the API, not through the page; the command line runs as the data folder's owner.
local t = require "testing"
local demo = require "demo"
local db = require "lib.db"
local json = require "lib.json"

local P = t.demo()
local tom, hr
local function sign_in()
  tom = t.login(demo.email("tom"))     -- Tech Admin (manages Ines and David)
  hr = t.login(demo.email("marcus"))   -- HR Admin
end

local function csv(c, text, dry)
  return c:request("POST", "/api/users/import" .. (dry and "?dry_run=1" or ""),
    { body = text, headers = { ["content-type"] = "text/csv" } })
end

-- A real import through the API, run by its background job; returns the record.
local function run(c, text)
  local res = t.status(csv(c, text), 202)
  t.advance("1s")
  return t.status(c:get("/api/users/imports/" .. res.json.import.id), 200).json
end

local function manager_of(key) return db.value("SELECT manager_id FROM users WHERE id = ?", P[key].id) end
local function user(email) return db.row("SELECT * FROM users WHERE email = ?", email) end
local function entries(action, target_id)
  return db.query("SELECT * FROM audit_log WHERE action = ? AND target_id = ? ORDER BY id", action, target_id)
end

t.test("a Tech Admin cannot change a reporting line one by one", function()
  sign_in()
  t.status(tom:patch("/api/users/" .. P.zoe.id, { manager_id = P.emma.id }), 403)
  t.eq(manager_of("zoe"), P.lucas.id)
end)

t.test("nor through the API import: the row is refused with its line and nothing is imported", function()
  sign_in()
  local text = "email,name,manager_email\n"
    .. "new.one@northwind.example,New One,\n"
    .. demo.email("zoe") .. ",," .. demo.email("emma") .. "\n"
  local dry = t.status(csv(tom, text, true), 200).json
  t.eq(dry.ok, false)
  t.eq(dry.problems[1].line, 3)
  t.eq(dry.problems[1].field, "manager_email")
  t.contains(dry.problems[1].message, "reporting line of someone already in Candor")
  local res = t.status(csv(tom, text), 422)
  t.eq(res.json.error.code, "import_invalid")
  t.advance("1s")
  t.eq(manager_of("zoe"), P.lucas.id)
  t.no(user("new.one@northwind.example"), "all or nothing: the good row was not imported either")
  t.eq(#entries("user.manager", P.zoe.id), 0)
end)

t.test("nor through the page", function()
  sign_in()
  local text = "email,manager_email\n" .. demo.email("zoe") .. "," .. demo.email("emma") .. "\n"
  local res = tom:form("/people/import", { csv = text, confirm = "1" })
  t.status(res, 303)
  t.eq(res.headers.location, "/people/import#report-title", "back to the form, not to an import's progress")
  local page = tom:get("/people/import").body
  t.contains(page, "reporting line of someone already in Candor")
  t.contains(page, "Nothing was imported")
  t.advance("1s")
  t.eq(manager_of("zoe"), P.lucas.id)
end)

t.test("a Tech Admin places the people the import creates; each person and line is logged", function()
  sign_in()
  local rec = run(tom, "email,name,manager_email\n"
    .. "nia.new@northwind.example,Nia New," .. demo.email("ravi") .. "\n"
    .. "oli.new@northwind.example,Oli New,nia.new@northwind.example\n")
  t.eq(rec.status, "done", rec.error)
  t.eq(rec.counts.created, 2)
  t.eq(rec.counts.managers_set, 2)
  local nia, oli = user("nia.new@northwind.example"), user("oli.new@northwind.example")
  t.eq(nia.manager_id, P.ravi.id)
  t.eq(oli.manager_id, nia.id, "a manager created by the same file")
  for _, who in ipairs({ nia, oli }) do
    local created = entries("user.create", who.id)
    t.eq(#created, 1)
    t.eq(created[1].actor_id, P.tom.id)
    t.eq(json.decode(created[1].details).via, "import")
    local line = entries("user.manager", who.id)
    t.eq(#line, 1, "one user.manager entry, like PATCH /api/users/{id}")
    t.eq(line[1].actor_id, P.tom.id)
    t.eq(json.decode(line[1].details).import_id, rec.id)
  end
  t.eq(json.decode(entries("user.manager", oli.id)[1].details).to, nia.id)
end)

t.test("a Tech Admin cannot place a new person under himself or anyone below him", function()
  sign_in()
  local res = t.status(csv(tom, "email,name,manager_email\n"
    .. "pat.one@northwind.example,Pat One," .. demo.email("tom") .. "\n"        -- himself
    .. "pat.two@northwind.example,Pat Two," .. demo.email("ines") .. "\n"       -- Ines reports to Tom
    .. "pat.lead@northwind.example,Pat Lead," .. demo.email("tom") .. "\n"     -- a new lead under Tom...
    .. "pat.three@northwind.example,Pat Three,pat.lead@northwind.example\n"    -- ...and someone under her
    .. "pat.four@northwind.example,Pat Four," .. demo.email("rachel") .. "\n", true), 200).json
  local lines = {}
  for _, p in ipairs(res.problems) do lines[#lines + 1] = p.line end
  t.same(lines, { 2, 3, 4, 5 }, "only Pat Four, under Rachel, may come in so")
  t.contains(res.problems[1].message, "below yourself")
end)

t.test("profile columns need what the profile page needs: a guest's profile is HR's", function()
  sign_in()
  local guest = "alex.morgan@clientcorp.example"
  t.status(tom:patch("/api/users/" .. P[guest].id, { job_title = "Partner" }), 403)
  local res = t.status(csv(tom, "email,job_title\n" .. guest .. ",Partner\n", true), 200).json
  t.eq(res.ok, false)
  t.eq(res.problems[1].line, 2)
  t.eq(res.problems[1].field, "job_title")
  -- an HR Admin may, and the change is logged as user.update
  local rec = run(hr, "email,job_title\n" .. guest .. ",Partner\n")
  t.eq(rec.counts.profiles_updated, 1)
  local upd = entries("user.update", P[guest].id)
  t.eq(#upd, 1)
  t.same(json.decode(upd[1].details).fields, { "job_title" })
end)

t.test("an HR Admin's import moves people; each line is logged like a profile change, each role grant too", function()
  sign_in()
  local rec = run(hr, "email,manager_email,roles\n"
    .. demo.email("zoe") .. "," .. demo.email("emma") .. ",\n"
    .. demo.email("ethan") .. ",,HR Assistant\n")
  t.eq(rec.counts.managers_set, 1)
  t.eq(rec.counts.roles_granted, 1)
  t.eq(manager_of("zoe"), P.emma.id)
  local line = entries("user.manager", P.zoe.id)
  t.eq(#line, 1)
  t.eq(line[1].actor_id, P.marcus.id)
  local d = json.decode(line[1].details)
  t.eq(d.from, P.lucas.id)
  t.eq(d.to, P.emma.id)
  local roles = entries("user.roles", P.ethan.id)
  t.eq(#roles, 1)
  t.same(json.decode(roles[1].details).granted, { "hr_assistant" })
  -- and one summary entry for the import
  local summary = db.row("SELECT * FROM audit_log WHERE action = 'users.import' AND target_id = ?", rec.id)
  t.eq(json.decode(summary.details).managers_set, 1)
end)

t.test("an HR Assistant allowed to pick managers moves people by import only as she may one by one", function()
  sign_in()
  local priya = t.login(demo.email("priya"))
  t.status(priya:put("/api/settings/users", { assistant_can_change_manager = true }), 200)
  t.status(priya:put("/api/users/" .. P.lena.id .. "/roles", { roles = { "hr_assistant", "tech_admin" } }), 200)
  local lena = t.login(demo.email("lena"))  -- HR Assistant + Tech Admin now: she may import
  local res = t.status(csv(lena, "email,manager_email\n"
    .. demo.email("mia") .. "," .. demo.email("lena") .. "\n"
    .. demo.email("omar") .. "," .. demo.email("emma") .. "\n", true), 200).json
  t.eq(#res.problems, 1)
  t.eq(res.problems[1].line, 2, "not under herself")
  local rec = run(lena, "email,manager_email\n" .. demo.email("omar") .. "," .. demo.email("emma") .. "\n")
  t.eq(rec.counts.managers_set, 1)
  t.eq(manager_of("omar"), P.emma.id)
  t.status(priya:put("/api/settings/users", { assistant_can_change_manager = false }), 200)
end)
