-- Invalid policies are refused with a message naming the file, the entry, the action and the
-- field; the policy in force stays as it was (the app refuses to start on such a policy).
local t = require "testing"
local authz = require "core.authz"
local fs = require "core.fs"
local policy = require "lib.policy"

policy.load("policies")

-- Fresh copies of the real policy files (pure data, loaded without globals).
local function real(file)
  return assert(loadfile("policies/" .. file, "t", {}))()
end

local NAMES = { roles = "policies/roles.lua", visibility = "policies/visibility.lua" }

-- Loads roles/vis and returns the error, which must be a policy error.
local function refused(roles, vis)
  local err = t.raises(function() policy.install(roles or real("roles.lua"), vis or real("visibility.lua"), NAMES) end)
  t.eq(type(err), "table")
  t.eq(err.code, "policy")
  return err.message
end

local function entry_of(roles, action)
  for i, e in ipairs(roles) do if e.action == action then return i, e end end
end

local function still_in_force()
  authz.put(4000000001, nil, { roles = { "tech_admin" } })
  t.same({ authz.check(4000000001, "admin.security") }, { true, "role:tech_admin" })
  t.eq(#authz.actions(), #real("roles.lua"))
end

t.test("the shipped policy loads", function()
  t.eq(policy.load("policies"), true)
  t.ok(#authz.actions() > 60)
end)

t.test("an unknown field is refused, naming file, entry, action and field", function()
  local roles = real("roles.lua")
  local i, e = entry_of(roles, "users.invite")
  e.hr_admn = true
  t.eq(refused(roles), ("policies/roles.lua: entry %d (users.invite): unknown field \"hr_admn\""):format(i))
  still_in_force()
end)

t.test("an unknown role is refused (a role column or in all_of)", function()
  local roles = real("roles.lua")
  local i, e = entry_of(roles, "admin.xml_export")
  e.all_of = { "hr_admin", "root" }
  t.eq(refused(roles), ("policies/roles.lua: entry %d (admin.xml_export): field all_of: unknown role \"root\""):format(i))
  roles = real("roles.lua")
  i, e = entry_of(roles, "users.sftp")
  e.super_user = true
  t.contains(refused(roles), ("entry %d (users.sftp): unknown field \"super_user\""):format(i))
  t.raises(function() authz.put(4000000002, nil, { roles = { "admin" } }) end, "unknown role")
  still_in_force()
end)

t.test("a duplicate action is refused", function()
  local roles = real("roles.lua")
  local copy = {}
  for k, v in pairs(roles[3]) do copy[k] = v end
  table.insert(roles, copy)
  t.eq(refused(roles), ("policies/roles.lua: entry %d (%s): duplicate action \"%s\""):format(#roles, copy.action,
    copy.action))
  still_in_force()
end)

t.test("a row without a reason is refused", function()
  local roles = real("roles.lua")
  local i, e = entry_of(roles, "users.delete")
  e.why = nil
  t.match(refused(roles), ("^policies/roles%%.lua: entry %d %%(users%%.delete%%): missing why"):format(i))
  e.why = ""
  t.contains(refused(roles), "missing why")
  still_in_force()
end)

t.test("every role cell must be decided, with a value the evaluator understands", function()
  local roles = real("roles.lua")
  local i, e = entry_of(roles, "reviews.read")
  e.tech_admin = nil
  t.contains(refused(roles), ("entry %d (reviews.read): missing field tech_admin"):format(i))
  e.tech_admin = "yes"
  t.contains(refused(roles), "field tech_admin must be true, false or \"if:<flag>\"")
  e.tech_admin = "if:"
  t.contains(refused(roles), "field tech_admin: \"if:\" needs a flag name")
  e.tech_admin, e.confidential = false, "very"
  t.contains(refused(roles), "field confidential must be true or false")
  e.confidential, e.everyone = true, true
  t.contains(refused(roles), "cannot be confidential")
  still_in_force()
end)

t.test("bad action names, missing labels and one-role all_of are refused", function()
  local roles = real("roles.lua")
  local _, e = entry_of(roles, "admin.design")
  e.action = "Admin Design"
  t.contains(refused(roles), "(Admin Design): action name \"Admin Design\" is not lower-case words")
  e.action, e.label = "admin.design", nil
  t.contains(refused(roles), "(admin.design): missing label")
  roles = real("roles.lua")
  _, e = entry_of(roles, "admin.impersonate")
  e.all_of = { "hr_admin" }
  t.contains(refused(roles), "(admin.impersonate): field all_of: needs at least two roles")
  t.contains(refused({}), "policies/roles.lua: has no entries")
  t.contains(refused({ foo = 1 }), "must be a list of entries")
  t.contains(refused({ "users.invite" }), "entry 1: must be a table")
  still_in_force()
end)

t.test("a bad visibility level is refused, naming the preset and the party", function()
  local vis = real("visibility.lua")
  vis[2].indirect_manager = "sometimes"
  t.eq(refused(nil, vis), "policies/visibility.lua: entry 2 (private): field indirect_manager: bad level "
    .. "\"sometimes\" (never, always, after_submit, after_release, after_share or after_sign)")
  vis = real("visibility.lua")
  vis[1].hr = nil
  t.contains(refused(nil, vis), "entry 1 (standard): missing level hr")
  vis = real("visibility.lua")
  vis[1].kind = "pulse"
  t.contains(refused(nil, vis), "entry 1 (standard): unknown kind \"pulse\"")
  vis = real("visibility.lua")
  vis[1].colour = "red"
  t.contains(refused(nil, vis), "entry 1 (standard): unknown field \"colour\"")
  vis = real("visibility.lua")
  vis[2].name = "standard"
  t.contains(refused(nil, vis), "entry 2 (standard): duplicate review preset \"standard\"")
  vis = real("visibility.lua")
  vis[3].description = nil
  t.contains(refused(nil, vis), "entry 3 (after_sign): missing description")
  still_in_force()
  t.eq(policy.preset("review", "private").indirect_manager, "never", "the presets stay too")
end)

t.test("policy files are data: no globals, no bytecode, syntax errors name the file", function()
  local dir = "build/authz-policy-test-" .. tostring(os.time()) .. "-" .. tostring(math.random(1e9))
  assert(fs.mkdir(dir))
  local function write(name, text) assert(fs.write(dir .. "/" .. name, text)) end
  write("visibility.lua", assert(fs.read("policies/visibility.lua")))
  write("roles_list.lua", assert(fs.read("policies/roles_list.lua")))
  write("roles.lua", "os.execute('touch pwned') return {}")
  local err = t.raises(function() policy.load(dir) end)
  t.eq(err.code, "policy")
  t.contains(err.message, dir .. "/roles.lua")
  t.contains(err.message, "global 'os'")
  write("roles.lua", "return { {")
  err = t.raises(function() policy.load(dir) end)
  t.contains(err.message, dir .. "/roles.lua")
  write("roles.lua", string.dump(function() return {} end))
  err = t.raises(function() policy.load(dir) end)
  t.contains(err.message, "binary")
  write("roles.lua", "return 42")
  err = t.raises(function() policy.load(dir) end)
  t.contains(err.message, "must return a table")
  write("roles.lua", assert(fs.read("policies/roles.lua")))
  t.eq(policy.load(dir), true)
  for _, f in ipairs({ "roles.lua", "visibility.lua", "roles_list.lua" }) do fs.remove(dir .. "/" .. f) end
  os.remove(dir)
  still_in_force()
end)

t.test("parts name the actor's part in the object: unknown ones, and parts on an everyone row, are refused", function()
  local roles = real("roles.lua")
  local i, e = entry_of(roles, "messages.read_private")
  e.parts = { "author", "cousin" }
  t.contains(refused(roles), ("policies/roles.lua: entry %d (messages.read_private): field parts: "
    .. "unknown part \"cousin\" (author, recipient, named or participant)"):format(i))
  still_in_force()
  roles = real("roles.lua")
  i, e = entry_of(roles, "directory.view")
  e.parts = { "author" }
  t.contains(refused(roles), ("entry %d (directory.view): an action for everyone needs no parts"):format(i))
  still_in_force()
  t.same({ authz.check(4000000001, "messages.read_private", { rel = { named = true } }) }, { true, "part:named" })
  t.same({ authz.check(4000000001, "messages.read_private", { rel = { recipient = true } }) }, { false, "no_role" })
end)
