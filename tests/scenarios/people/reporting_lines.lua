-- Reporting lines: managers are set and changed; loops are refused; everyone knows at once.
local t = require "testing"
local demo = require "demo"

local P = t.demo()
local hr = t.login(demo.email("marcus"))      -- HR Admin
local boss = t.login(demo.email("olivia"))    -- CEO, no role

t.test("an HR Admin moves someone to a new manager and the reports lists change at once", function()
  local before = hr:get("/api/users/" .. P.emma.id .. "/reports?direct=1")
  t.status(before, 200)
  local res = hr:patch("/api/users/" .. P.zoe.id, { manager_id = P.emma.id })
  t.status(res, 200)
  t.eq(res.json.manager_id, P.emma.id)
  local after = hr:get("/api/users/" .. P.emma.id .. "/reports?direct=1").json.reports
  local ids = {}
  for _, u in ipairs(after) do ids[#ids + 1] = u.id end
  t.contains(ids, P.zoe.id)
  -- indirect: Daniel (VP Engineering) still has Zoe below him
  local all = hr:get("/api/users/" .. P.daniel.id .. "/reports").json.reports
  local found = false
  for _, u in ipairs(all) do if u.id == P.zoe.id then found = true end end
  t.ok(found, "Zoe is an indirect report of Daniel")
  t.eq(#hr:get("/api/users/" .. P.lucas.id .. "/reports?direct=1").json.reports, 1, "Lucas kept only Ethan")
end)

t.test("a change that would make a loop is refused with a clear error and changes nothing", function()
  -- Daniel manages Ravi who manages Lucas: making Lucas Daniel's manager is a loop
  local res = hr:patch("/api/users/" .. P.daniel.id, { manager_id = P.lucas.id })
  t.status(res, 422)
  t.contains(res.json.error.fields.manager_id, "loop")
  t.eq(hr:get("/api/users/" .. P.daniel.id).json.manager_id, P.olivia.id)
  local self = hr:patch("/api/users/" .. P.daniel.id, { manager_id = P.daniel.id })
  t.status(self, 422)
end)

t.test("a guest cannot be anyone's manager", function()
  local res = hr:patch("/api/users/" .. P.zoe.id, { manager_id = P["alex.morgan@clientcorp.example"].id })
  t.status(res, 422)
  t.contains(res.json.error.fields.manager_id, "guest")
end)

t.test("someone without the right cannot change reporting lines", function()
  local res = boss:patch("/api/users/" .. P.zoe.id, { manager_id = P.ravi.id })
  t.status(res, 403)
  local tech = t.login(demo.email("tom"))
  t.status(tech:patch("/api/users/" .. P.zoe.id, { manager_id = P.ravi.id }), 403)
end)

t.test("an HR Assistant may pick managers only when the setting allows it", function()
  local lena = t.login(demo.email("lena"))
  t.status(lena:patch("/api/users/" .. P.zoe.id, { manager_id = P.lucas.id }), 403)
  local super = t.login(demo.email("priya"))
  t.status(super:put("/api/settings/users", { assistant_can_change_manager = true }), 200)
  t.status(lena:patch("/api/users/" .. P.zoe.id, { manager_id = P.lucas.id }), 200)
  t.status(super:put("/api/settings/users", { assistant_can_change_manager = false }), 200)
  t.status(lena:patch("/api/users/" .. P.zoe.id, { manager_id = P.emma.id }), 403)
end)

t.test("clearing a manager makes a new top of a tree", function()
  t.status(hr:patch("/api/users/" .. P.nora.id, { manager_id = require("lib.json").null }), 200)
  t.eq(hr:get("/api/users/" .. P.nora.id).json.manager_id, require("lib.json").null)
end)

t.test("deleting a manager moves their reports to the manager above", function()
  local super = t.login(demo.email("priya"))
  local res = super:delete("/api/users/" .. P.paul.id)
  t.status(res, 204)
  t.eq(super:get("/api/users/" .. P.oscar.id).json.manager_id, P.henrik.id)
  t.status(super:get("/api/users/" .. P.paul.id), 404)
end)

t.test("the org chart page draws the whole company as a tree", function()
  local res = hr:get("/org")
  t.status(res, 200)
  t.contains(res.body, 'class="org-tree"')
  t.contains(res.body, "Olivia Bennett")
  t.contains(res.body, "<details")
  -- focusing a deep person opens the chain down to them
  local f = hr:get("/org?focus=" .. P.hana.id)
  t.contains(f.body, 'id="focus"')
end)

t.test("the org chart draws three levels and links deeper teams, so it stays small for any size", function()
  local res = hr:get("/org")
  t.contains(res.body, 'href="/org?focus=' .. P.lucas.id .. '#focus">Show team')
  t.not_contains(res.body, "Ethan Brooks", "four levels down: not drawn until asked for")
  local deep = hr:get("/org?focus=" .. P.lucas.id)
  t.contains(deep.body, "Ethan Brooks")
end)
