-- The event bus (lib/events.lua, docs/events.md): a review cycle announces each step in order
-- with the documented fields; in-transaction handlers may refuse a change; after-commit
-- handlers run once the change is durable and never for a change that rolled back (a failed
-- request, a nested savepoint that rolled back inside a transaction that committed); an error
-- in one is logged and the request carries on.
local t = require "testing"
local demo = require "demo"
local db = require "lib.db"
local events = require "lib.events"
local log = require "core.log"
local core_db = require "core.db"

local P = t.demo()
local hr = t.login(demo.email("marcus"))

-- Records name and sorted field names of every event matching prefix (nil: all).
local function recorder(prefix)
  local seen = {}
  local fn = function(data, name)
    if not prefix or name:sub(1, #prefix) == prefix then
      local keys = {}
      for k in pairs(data) do keys[#keys + 1] = k end
      table.sort(keys)
      seen[#seen + 1] = { name = name, fields = table.concat(keys, " "), data = data }
    end
  end
  events.hook("*", fn)
  return seen, function() events.unhook("*", fn) end
end

local function names(seen)
  local out = {}
  for i, e in ipairs(seen) do out[i] = e.name end
  return out
end

t.test("a review cycle announces each step in order, with the fields docs/events.md lists", function()
  local seen, stop = recorder()
  local cycle = t.status(hr:post("/api/cycles", { name = "Events", start_date = "2026-01-05", self_due = "2026-01-19",
    manager_due = "2026-02-02", sign_due = "2026-02-16" }), 201).json
  t.status(hr:post("/api/cycles/" .. cycle.id .. "/reviewees", { user_ids = { P.mia.id } }), 200)
  t.status(hr:post("/api/cycles/" .. cycle.id .. "/start"), 200)
  local id = db.value("SELECT id FROM reviews WHERE cycle_id = ?", cycle.id)
  local mia, ravi = t.login(demo.email("mia")), t.login(demo.email("ravi"))
  t.status(mia:put("/api/reviews/" .. id .. "/answers/self", { q1 = "Did well.", q6 = "Grow." }), 200)
  t.status(mia:post("/api/reviews/" .. id .. "/submit"), 200)
  t.status(ravi:put("/api/reviews/" .. id .. "/answers/manager", { q1 = "Strong.", q4 = 4, q6 = "Lead." }), 200)
  t.status(ravi:post("/api/reviews/" .. id .. "/share"), 200)
  t.status(mia:post("/api/reviews/" .. id .. "/sign"), 200)
  t.status(ravi:post("/api/reviews/" .. id .. "/sign"), 200)
  stop()
  local story = {}
  for _, e in ipairs(seen) do
    if e.name:match("^cycle%.") or e.name:match("^review%.") then story[#story + 1] = e end
  end
  t.same(names(story), { "cycle.created", "cycle.reviewees_added", "cycle.starting", "cycle.phase_changed",
    "cycle.started", "review.draft_saved", "review.self_submitted", "review.draft_saved", "review.shared",
    "review.signed", "review.signed", "review.closed" })
  local function sorted(s)
    local w = {}
    for x in s:gmatch("%S+") do w[#w + 1] = x end
    table.sort(w)
    return table.concat(w, " ")
  end
  local review_fields = "actor_id cycle_id manager_id review_id reviewee_id"
  local got = {}
  for i, e in ipairs(story) do got[i] = e.fields end
  t.same(got, { "actor_id cycle_id", "actor_id count cycle_id", "actor_id cycle_id",
    "actor_id automatic cycle_id from to", "actor_id automatic cycle_id from to",
    sorted(review_fields .. " part"), review_fields, sorted(review_fields .. " part"), review_fields,
    sorted(review_fields .. " by"), sorted(review_fields .. " by"), review_fields })
  t.eq(story[10].data.by, "reviewee")
  t.eq(story[11].data.by, "manager")
  t.eq(story[9].data.manager_id, P.ravi.id)
  t.eq(story[4].data.from, "draft")
  t.eq(story[4].data.to, "writing")
  -- every one of them is in the document, with exactly these fields
  local documented = t.documented_events()
  for _, e in ipairs(story) do
    local want = {}
    for f in pairs(documented[e.name]) do want[#want + 1] = f end
    table.sort(want)
    for f in e.fields:gmatch("%S+") do t.ok(documented[e.name][f], e.name .. " documents " .. f) end
    -- and nothing documented is missing, except fields that are absent for the system
    for _, f in ipairs(want) do
      if f ~= "copied_from" then t.ok(e.data[f] ~= nil, e.name .. " carries " .. f) end
    end
  end
end)

t.test("the document check catches an undocumented event and an undocumented field", function()
  local documented, patterns = t.documented_events()
  t.eq(t.event_problem("person.created", { person_id = 1, kind = "employee" }, documented, patterns), nil)
  t.eq(t.event_problem("person.exploded", { person_id = 1 }, documented, patterns), "person.exploded is not in "
    .. "docs/events.md")
  t.eq(t.event_problem("person.created", { person_id = 1, password = "x" }, documented, patterns),
    "person.created carries fields docs/events.md does not list: password")
  t.eq(t.event_problem("cycle.calibration_started", { cycle_id = 1 }, documented, patterns),
    "cycle.calibration_started is not in docs/events.md", "only events a workflow in use declares")
end)

t.test("an in-transaction handler refuses a change: 4xx, nothing changed, nothing after commit", function()
  local after = 0
  local refuse = function(e)
    if e.person_id == P.zoe.id then require("lib.errors").conflict("Zoe's reporting line is frozen.") end
  end
  local count = function() after = after + 1 end
  events.hook("person.manager_changed", refuse)
  events.after_commit("person.manager_changed", count)
  local res = hr:patch("/api/users/" .. P.zoe.id, { manager_id = P.emma.id })
  events.unhook("person.manager_changed", refuse)
  events.unhook("person.manager_changed", count)
  t.status(res, 409)
  t.contains(res.json.error.message, "frozen")
  t.eq(db.value("SELECT manager_id FROM users WHERE id = ?", P.zoe.id), P.lucas.id)
  t.eq(after, 0, "the after-commit handler did not see the rolled-back change")
end)

t.test("an after-commit handler runs once the change is durable, after the transaction", function()
  local calls = {}
  local fn = function(e, name)
    calls[#calls + 1] = { name = name, depth = core_db.depth(),
      stored = db.value("SELECT manager_id FROM users WHERE id = ?", e.person_id), to = e.to_manager_id }
  end
  events.after_commit("person.manager_changed", fn)
  t.status(hr:patch("/api/users/" .. P.zoe.id, { manager_id = P.emma.id }), 200)
  t.status(hr:patch("/api/users/" .. P.zoe.id, { manager_id = P.lucas.id }), 200)
  events.unhook("person.manager_changed", fn)
  t.eq(#calls, 2)
  t.eq(calls[1].depth, 0, "no transaction is open any more")
  t.eq(calls[1].stored, P.emma.id, "the change is in the database")
  t.eq(calls[1].to, P.emma.id)
  t.eq(calls[2].to, P.lucas.id)
end)

t.test("a nested savepoint that rolls back takes its events along; the outer transaction's stay", function()
  local got = {}
  local fn = function(e) got[#got + 1] = e.name .. "@" .. core_db.depth() end
  events.after_commit("test.outer", fn)
  events.after_commit("test.inner", fn)
  events.after_commit("test.kept", fn)
  db.transaction(function()
    events.fire("test.outer", { name = "outer" })
    local ok = pcall(db.transaction, function()
      events.fire("test.inner", { name = "inner" })
      db.transaction(function() events.fire("test.inner", { name = "deeper" }) end) -- released into the inner one
      error("the inner step fails")
    end)
    t.no(ok)
    db.transaction(function() events.fire("test.kept", { name = "kept" }) end) -- released: kept
    t.same(got, {}, "nothing runs before the outer commit")
  end)
  for _, name in ipairs({ "test.outer", "test.inner", "test.kept" }) do events.unhook(name, fn) end
  t.same(got, { "outer@0", "kept@0" })
  -- a failing outer transaction drops everything
  got = {}
  events.after_commit("test.outer", fn)
  t.raises(function()
    db.transaction(function()
      events.fire("test.outer", { name = "doomed" })
      db.transaction(function() events.fire("test.outer", { name = "doomed too" }) end)
      error("no")
    end)
  end)
  events.unhook("test.outer", fn)
  t.same(got, {})
  local undo, after = require("lib.tx").pending()
  t.eq(undo + after, 0, "nothing is left over")
end)

t.test("an error in an after-commit handler is logged and breaks neither the request nor the other handlers", function()
  local logged, ran = {}, 0
  local real_error = log.error
  log.error = function(...) logged[#logged + 1] = table.concat({ ... }, " ") end
  local boom = function() error("the webhook is down") end
  local fine = function() ran = ran + 1 end
  events.after_commit("person.updated", boom)
  events.after_commit("person.updated", fine)
  local ok, res = pcall(hr.patch, hr, "/api/users/" .. P.zoe.id, { job_title = "Senior Engineer" })
  events.unhook("person.updated", boom)
  events.unhook("person.updated", fine)
  log.error = real_error
  t.ok(ok, tostring(res))
  t.status(res, 200)
  t.eq(db.value("SELECT job_title FROM users WHERE id = ?", P.zoe.id), "Senior Engineer")
  t.eq(ran, 1, "the next handler ran")
  t.eq(#logged, 1)
  t.contains(logged[1], "the webhook is down")
  t.contains(logged[1], "after-commit")
end)

t.test("handlers run by priority, the first result ends the chain, \"*\" sees every event", function()
  local order = {}
  local a = function() order[#order + 1] = "a" end
  local b = function() order[#order + 1] = "b"; return "b's answer" end
  local c = function() order[#order + 1] = "c" end
  local all = function(_, name) order[#order + 1] = "*" .. name end
  events.hook("test.chain", a)
  events.hook("test.chain", b, 10)
  events.hook("test.chain", c, -5)
  events.hook("*", all)
  local r = events.fire("test.chain", {})
  t.eq(r, "b's answer")
  t.same(order, { "*test.chain", "b" })
  events.unhook("test.chain", b)
  order = {}
  t.eq(events.fire("test.chain", {}), nil)
  t.same(order, { "*test.chain", "a", "c" })
  for _, f in ipairs({ a, c }) do events.unhook("test.chain", f) end
  events.unhook("*", all)
  t.raises(function() events.hook("NoDot", a) end, "area.what_happened")
end)

t.test("an after-commit handler fired outside any transaction runs at once", function()
  local ran = 0
  local fn = function() ran = ran + 1 end
  events.after_commit("test.now", fn)
  events.fire("test.now", {})
  events.unhook("test.now", fn)
  t.eq(ran, 1)
end)

t.test("\"*\" gets every event but the request plumbing of the http area", function()
  local got = {}
  local all = function(_, name) got[#got + 1] = name end
  events.hook("*", all)
  local mia = t.login(demo.email("mia"))
  t.status(mia:get("/api/me"), 200)
  events.fire("test.plain", {})
  events.unhook("*", all)
  local http = 0
  for _, n in ipairs(got) do
    if n:match("^http%.") then http = http + 1 end
  end
  t.eq(http, 0, "no http.* event: " .. table.concat(got, ", "))
  t.same(got[#got], "test.plain", "other events still reach it")
  local direct = 0
  local fn = function() direct = direct + 1 end
  events.hook("http.response", fn)
  t.status(mia:get("/api/me"), 200)
  events.unhook("http.response", fn)
  t.eq(direct, 1, "a handler of the name itself still gets it")
  t.ok(events.hooked("test.plain") and not events.hooked("http.unhooked_name"))
end)
