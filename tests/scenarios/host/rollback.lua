-- A rollback undoes exactly what its savepoint level changed in memory (lib/tx.lua): the
-- permission evaluator, the settings cache and the policy flags, the mail templates' cache.
-- After every rollback, top level or nested, the evaluator holds what the database says: the
-- same as a full reload from the database.
local t = require "testing"
local demo = require "demo"
local db = require "lib.db"
local authz = require "core.authz"
local access = require "services.access"
local people = require "services.people"
local sessions = require "services.sessions"
local settings = require "services.settings"
local mail = require "services.mail"
local events = require "lib.events"
local errors = require "lib.errors"

local P = t.demo()
local hr = sessions.load_user(P.marcus.id)
local FLAG = "people.assistant_can_change_manager"

-- Everything the evaluator holds about everybody: entries, chains, the flag.
local function snapshot()
  local out = { flag = authz.flag(FLAG), count = authz.count() }
  for _, id in ipairs(db.column("SELECT id FROM users ORDER BY id")) do
    out[id] = { entry = authz.get(id), chain = authz.chain(id), reports = authz.reports(id, true) }
  end
  return out
end

-- The evaluator equals a full reload from the database.
local function as_the_database_says(msg)
  local held = snapshot()
  access.reload()
  authz.set_flag(FLAG, settings.get(FLAG))
  t.same(held, snapshot(), msg)
end

local function fails(fn)
  t.raises(function() db.transaction(function() fn() error(errors.new(409, "conflict", "something failed later")) end) end,
    "conflict")
end

t.test("a failed change of a reporting line puts the evaluator back, with no rebuild pending", function()
  t.eq(authz.relation(P.lucas.id, P.zoe.id), "direct_manager") -- the graph is built
  t.no(authz.needs_rebuild())
  fails(function()
    people.set_manager(hr, P.zoe.id, P.emma.id)
    t.eq(authz.relation(P.emma.id, P.zoe.id), "direct_manager", "in the transaction the change is in force")
  end)
  t.eq(db.value("SELECT manager_id FROM users WHERE id = ?", P.zoe.id), P.lucas.id)
  t.eq(authz.relation(P.lucas.id, P.zoe.id), "direct_manager")
  t.eq(authz.relation(P.emma.id, P.zoe.id), "none")
  as_the_database_says()
end)

t.test("a change undone before any decision leaves the graph as built: nothing to rebuild", function()
  t.eq(authz.relation(P.lucas.id, P.zoe.id), "direct_manager")
  fails(function() people.set_manager(hr, P.zoe.id, P.emma.id) end)
  t.no(authz.needs_rebuild(), "the rollback put back the very graph that was built")
  as_the_database_says()
end)

t.test("a request refused by an in-transaction handler leaves the evaluator as the database says", function()
  local refuse = function(e)
    if e.person_id == P.mia.id then errors.conflict("Mia's line is frozen.") end
  end
  events.hook("person.manager_changed", refuse)
  local res = t.login(demo.email("marcus")):patch("/api/users/" .. P.mia.id, { manager_id = P.emma.id })
  events.unhook("person.manager_changed", refuse)
  t.status(res, 409)
  t.eq(authz.relation(P.ravi.id, P.mia.id), "direct_manager")
  as_the_database_says()
end)

t.test("a nested savepoint that rolls back undoes its own changes only; the outer ones commit", function()
  db.transaction(function()
    people.set_manager(hr, P.omar.id, P.emma.id) -- outer: kept
    local ok = pcall(db.transaction, function()
      people.set_manager(hr, P.ethan.id, P.emma.id)
      people.set_roles(hr, P.amara.id, { "hr_assistant" })
      people.set_status(hr, P.tyler.id, "deactivate")
      error(errors.new(409, "conflict", "the inner step fails"))
    end)
    t.no(ok)
    t.eq(authz.relation(P.emma.id, P.ethan.id), "none", "the inner change is undone at once")
  end)
  t.eq(authz.relation(P.emma.id, P.omar.id), "direct_manager", "the outer change stays")
  t.eq(authz.relation(P.lucas.id, P.ethan.id), "direct_manager")
  t.same(access.roles(P.amara.id), {})
  t.ok(authz.get(P.tyler.id).active)
  as_the_database_says()
  people.set_manager(hr, P.omar.id, P.ravi.id)
end)

t.test("new people, roles, statuses and deletions are all put back", function()
  local before = authz.count()
  fails(function()
    people.create(hr, { email = "new.person@northwind.example", name = "New Person", manager_id = P.emma.id })
    people.set_roles(hr, P.amara.id, { "hr_admin" })
    people.set_status(hr, P.nina.id, "deactivate")
    people.delete(hr, P.carlos.id)
    t.eq(authz.count(), before, "one more and one less")
    t.eq(authz.get(P.carlos.id), nil)
  end)
  t.eq(authz.count(), before)
  t.same(access.roles(P.amara.id), {})
  t.ok(authz.get(P.nina.id).active)
  t.eq(authz.get(P.carlos.id).manager_id, P.tyler.id)
  as_the_database_says()
end)

t.test("a setting and the policy flag it drives are put back, at each savepoint level", function()
  t.no(settings.get(FLAG))
  fails(function()
    settings.set(FLAG, true, hr.id)
    t.ok(authz.flag(FLAG), "in force inside the transaction")
  end)
  t.no(settings.get(FLAG))
  t.no(authz.flag(FLAG))
  db.transaction(function()
    settings.set(FLAG, true, hr.id)
    pcall(db.transaction, function()
      settings.set(FLAG, false, hr.id)
      error("the inner step fails")
    end)
    t.ok(settings.get(FLAG), "back to the outer level's value")
    t.ok(authz.flag(FLAG))
  end)
  t.ok(settings.get(FLAG))
  as_the_database_says()
  settings.set(FLAG, false, hr.id)
end)

t.test("an edited mail template is forgotten when its transaction rolls back", function()
  local subject = mail.template_text("user.invite")
  fails(function()
    mail.save_template(hr, "user.invite", "Changed: {{company}}", "Hello {{first_name}}, {{link}}")
    t.eq(mail.template_text("user.invite"), "Changed: {{company}}")
  end)
  t.eq(mail.template_text("user.invite"), subject)
end)

t.test("a rollback fires db.rolled_back with its depth, after the undo", function()
  local depths = {}
  local fn = function(e) depths[#depths + 1] = e.depth end
  events.hook("db.rolled_back", fn)
  db.transaction(function() pcall(db.transaction, function() error("inner") end) end)
  pcall(db.transaction, function() error("outer") end)
  events.unhook("db.rolled_back", fn)
  t.same(depths, { 2, 1 })
end)
