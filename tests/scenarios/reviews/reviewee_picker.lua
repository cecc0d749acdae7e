-- Choosing who is reviewed: people ticked in the org chart stay ticked in the list and back
-- (the selection travels in the address as ?picked=...), until they are added.
local t = require "testing"
local demo = require "demo"
local db = require "lib.db"

local P = t.demo()
local hr = t.login(demo.email("marcus"))
local cycle, path

local function box(body, id)
  return body:match('<input type="checkbox" name="ids%[%]" value="' .. id .. '"([^>]*)>')
end

t.test("a draft cycle with Ravi already in it", function()
  cycle = t.status(hr:post("/api/cycles", { name = "Picker round", start_date = "2026-01-05", self_due = "2026-01-19",
    manager_due = "2026-02-02", sign_due = "2026-02-16" }), 201).json
  path = "/cycles/" .. cycle.id .. "/reviewees"
  t.status(hr:post("/api/cycles/" .. cycle.id .. "/reviewees", { user_ids = { P.ravi.id } }), 200)
end)

t.test("people ticked in the org chart are ticked in the list, and the tabs carry them", function()
  local picked = P.mia.id .. "," .. P.chloe.id
  local org = t.status(hr:get(path .. "?view=org&picked=" .. picked), 200).body
  t.eq(box(org, P.mia.id), " checked", "Mia ticked in the org chart")
  t.eq(box(org, P.chloe.id), " checked", "Chloe too")
  t.eq(box(org, P.omar.id), "", "Omar not")
  t.contains(org, 'href="' .. path .. '?picked=' .. P.mia.id .. '%2C' .. P.chloe.id .. '&amp;view=list" data-keep-picked',
    "the List tab carries the ticked people")
  -- the list, filtered to Product: Chloe is on this page, Mia (Engineering) is kept in "Also ticked"
  local list = t.status(hr:get(path .. "?view=list&department=Product&picked=" .. picked), 200).body
  t.eq(box(list, P.chloe.id), ' aria-label="Select Chloe Martin" checked', "Chloe ticked in the list")
  t.contains(list, "Also ticked (not shown here)")
  t.contains(list, '<input type="checkbox" name="ids[]" value="' .. P.mia.id .. '" checked> Mia Johansson',
    "Mia stays ticked though not on this page")
  t.contains(list, '<input type="hidden" name="picked" value="' .. picked .. '">', "filters keep them too")
  t.contains(list, 'href="' .. path .. '?picked=' .. P.mia.id .. '%2C' .. P.chloe.id .. '&amp;view=org" data-keep-picked',
    "and the Org chart tab")
end)

t.test("someone already in the cycle, or not an employee, is never 'picked'", function()
  local guest = db.value("SELECT id FROM users WHERE kind = 'guest' LIMIT 1")
  local list = t.status(hr:get(path .. "?view=list&picked=" .. P.ravi.id .. "," .. guest .. ",abc"), 200).body
  t.not_contains(list, "Also ticked", "Ravi is in the cycle already; the guest and the junk are dropped")
  t.contains(list, '<input type="hidden" name="picked" value="' .. guest .. '">',
    "(the guest's id may travel, but is never shown or added)")
  local org = t.status(hr:get(path .. "?view=org&picked=" .. P.ravi.id), 200).body
  t.eq(box(org, P.ravi.id), " checked disabled", "in the cycle: ticked and fixed")
end)

t.test("adding what was ticked in both views adds exactly those people", function()
  local res = t.status(hr:form(path, { view = "list", department = "Product", ids = { tostring(P.chloe.id),
    tostring(P.mia.id) } }), 303)
  t.contains(hr:follow(res).body, "2 reviewees added.")
  t.eq(db.value("SELECT count(*) FROM reviews WHERE cycle_id = ?", cycle.id), 3)
  local org = t.status(hr:get(path .. "?view=org&picked=" .. P.mia.id), 200).body
  t.eq(box(org, P.mia.id), " checked disabled", "once added, the person is in the cycle")
  t.not_contains(org, "Also ticked")
end)

t.test("the page costs the same number of queries for 2 or 40 ticked people", function()
  local few = { P.mia.id, P.omar.id }
  local many = db.column("SELECT id FROM users WHERE kind = 'employee' ORDER BY id LIMIT 40")
  local function cost(ids)
    return t.count_queries(function() t.status(hr:get(path .. "?view=list&picked=" .. table.concat(ids, ",")), 200) end)
  end
  t.eq(cost(many), cost(few))
end)
