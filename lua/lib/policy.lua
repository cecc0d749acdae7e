-- Loads the permission policies (policies/roles_list.lua, roles.lua and visibility.lua) as pure
-- data, checks them against their schemas (lib/schema.lua) and puts them in force: the roles
-- and every action go to the evaluator (core.authz) through narrow calls, the visibility presets
-- stay here. App start calls `policy.load(dir)`; an invalid policy raises {code = "policy",
-- message = ...} naming the file, the entry, the action and the field, and the app refuses to
-- start. A policy that fails to load never replaces the one in force.
local authz = require "core.authz"
local schema = require "lib.schema"

local M = {}

local function fail(fmt, ...)
  error({ code = "policy", message = fmt:format(...) }, 0)
end

--- Runs a policy file with no globals at all (text only, no bytecode) and returns its table.
local function data_file(path)
  local chunk, err = loadfile(path, "t", {})
  if not chunk then fail("%s", err) end
  local ok, data = pcall(chunk)
  if not ok then fail("%s: %s", path, tostring(type(data) == "table" and data.message or data)) end
  if type(data) ~= "table" then fail("%s: must return a table, not a %s", path, type(data)) end
  return data
end

-- ---------------------------------------------------------------- schemas

local NAME = { type = "string", required = true, match = "^[a-z_]+$", match_hint = "lower-case letters and _",
  len_max = 40 }

local function text(description)
  return { type = "string", required = true, len_min = 1, description = description,
    messages = { required = "missing {field}", len_min = "field {field} must be a non-empty string",
      type = "field {field} must be a non-empty string" } }
end

--- The roles file: the roles people hold and the roles they may hold in one cycle.
M.ROLE_LIST = schema.record{ title = "The roles file", fields = {
  { roles = { type = "array", required = true, len_min = 1, len_max = 8, description = "The roles, in order.",
    elements = schema.record{ title = "A role", fields = {
      { name = NAME },
      { label = text("What people read, e.g. \"HR Admin\".") },
      { plural = text("The label for several, e.g. \"HR Admins\".") },
      { description = text("What the role is for.") },
    } } } },
  { cycle_roles = { type = "array", default = {}, len_max = 4, description = "Roles within one cycle.",
    elements = schema.record{ title = "A cycle role", fields = {
      { name = NAME },
      { label = text("What people read, e.g. \"Cycle admin\".") },
      { plural = text("The label for several, e.g. \"admins of the cycle\".") },
      { description = text("What the role is for.") },
      { acts_as = { type = "array", required = true, len_min = 1, elements = NAME,
        description = "The roles it counts as within its cycle." } },
    } } } },
} }

local LEVELS = { "never", "always", "after_submit", "after_release", "after_share", "after_sign" }
local LEVEL_MESSAGE = "field {field}: bad level {value} (never, always, after_submit, after_release, after_share or "
  .. "after_sign)"
local function level(description)
  return { type = "string", required = true, one_of = LEVELS, description = description,
    messages = { required = "missing level {field}", one_of = LEVEL_MESSAGE, type = LEVEL_MESSAGE } }
end

--- The kinds of presets and the parties of a preset (the keys of ctx.vis).
M.PRESET_KINDS = { "review", "feedback" }
M.PARTIES = { "self", "direct_manager", "indirect_manager", "hr", "reviewer" }

--- One visibility preset (an entry of visibility.lua).
M.PRESET = schema.record{ title = "A visibility preset", fields = {
  { kind = { type = "string", required = true, one_of = M.PRESET_KINDS,
    messages = { required = "missing kind", one_of = "unknown kind {value} (review or feedback)",
      type = "unknown kind {value} (review or feedback)" } } },
  { name = text("The name cycles use.") },
  { label = text("What people read.") },
  { description = text("What it means.") },
  { self = level("The person it is about.") },
  { direct_manager = level("Their manager.") },
  { indirect_manager = level("Managers further up.") },
  { hr = level("People whose roles allow the action.") },
  { reviewer = level("Nominated reviewers.") },
} }

--- The parts someone may have in an object that allow an action outright (ctx.rel names).
M.PARTS = { "author", "recipient", "named", "participant" }

local FLAGS = { "everyone", "confidential", "guest_ok", "author_ok", "self", "direct_manager", "indirect_manager" }

--- The schema of one entry of roles.lua, for the roles declared in the roles file.
function M.action_schema(role_names)
  local fields = {
    { section = text("Heading on the admin overview.") },
    { action = { type = "string", required = true, description = "The name code uses.",
      messages = { required = "missing action", type = "field action must be a string" } } },
    { label = text("What people read.") },
    { why = { type = "string", required = true, len_min = 1, description = "The reason for this row.",
      messages = { required = "missing why (write down the reason for this row)",
        len_min = "missing why (write down the reason for this row)", type = "field why must be a string" } } },
  }
  for _, r in ipairs(role_names) do
    fields[#fields + 1] = { [r] = { type = "any", required = true, description = "true, false or \"if:<flag>\".",
      messages = { required = "missing field {field} (decide the cell: true, false or \"if:<flag>\")" },
      custom_validator = function(v)
        if type(v) == "boolean" or (type(v) == "string" and v:sub(1, 3) == "if:") then return true end
        return nil, "field {field} must be true, false or \"if:<flag>\""
      end } }
  end
  fields[#fields + 1] = { all_of = { type = "array", description = "Roles that allow it together.",
    elements = { type = "string", one_of = role_names,
      messages = { one_of = "field all_of: unknown role {value}", type = "field all_of: unknown role {value}" } },
    messages = { type = "field all_of must be a list of roles" } } }
  for _, f in ipairs(FLAGS) do
    fields[#fields + 1] = { [f] = { type = "boolean", default = false,
      messages = { type = "field {field} must be true or false" } } }
  end
  fields[#fields + 1] = { parts = { type = "array", description = "The actor's parts in the object that allow it outright.",
    elements = { type = "string", one_of = M.PARTS,
      messages = { one_of = "field parts: unknown part {value} (author, recipient, named or participant)",
        type = "field parts: unknown part {value} (author, recipient, named or participant)" } },
    messages = { type = "field parts must be a list of parts" } } }
  return schema.record{ title = "An action", fields = fields }
end

-- ---------------------------------------------------------------- loading

-- The list in data (a list of entries) or a policy error.
local function entries(data, file)
  if type(data) ~= "table" then fail("%s: must return a list of entries, got a %s", file, type(data)) end
  if not schema.is_list(data) then fail("%s: must be a list of entries (keys 1 to n)", file) end
  return data
end

-- Checks entry i against s; returns the normalised entry or raises naming it.
local function check_entry(s, e, i, file, label_field)
  if type(e) ~= "table" then fail("%s: entry %d: must be a table, got a %s", file, i, type(e)) end
  local label = type(e[label_field]) == "string" and e[label_field] or ("no " .. label_field)
  local v, errs = schema.validate(s, e)
  if not v then fail("%s: entry %d (%s): %s", file, i, label, errs[1].message) end
  return v, label
end

local presets = { review = {}, feedback = {} }
local role_list -- the roles file in force (normalised)

local function check_role_list(data, file)
  local v, errs = schema.validate(M.ROLE_LIST, data)
  if not v then fail("%s: %s", file, schema.describe(errs)[1]) end
  local known = {}
  for _, r in ipairs(v.roles) do known[r.name] = true end
  for i, c in ipairs(v.cycle_roles) do
    for _, a in ipairs(c.acts_as) do
      if not known[a] then fail("%s: cycle_roles[%d] (%s): acts_as names %q, which is not a role", file, i, c.name, a) end
    end
  end
  return v
end

local function check_presets(vis, file)
  local out = { review = {}, feedback = {} }
  for i, e in ipairs(entries(vis, file)) do
    local p, label = check_entry(M.PRESET, e, i, file, "name")
    local list = out[p.kind]
    for _, x in ipairs(list) do
      if x.name == p.name then fail("%s: entry %d (%s): duplicate %s preset %q", file, i, label, p.kind, p.name) end
    end
    local levels = {}
    for _, party in ipairs(M.PARTIES) do levels[party] = p[party] end
    list[#list + 1] = { name = p.name, label = p.label, description = p.description, vis = levels }
  end
  return out
end

--- Checks and installs a policy: roles (the list of roles.lua), vis (visibility.lua), names
--- ({ roles =, visibility =, role_list = } file names for messages) and the roles file (default:
--- the one in force). Returns true; raises a policy error and changes nothing when one is invalid.
function M.install(roles, vis, names, list)
  names = names or {}
  local roles_file = names.roles or "roles.lua"
  list = list and check_role_list(list, names.role_list or "roles_list.lua") or role_list
  assert(list, "no roles file loaded yet")
  local role_names, bit = {}, {}
  for i, r in ipairs(list.roles) do
    role_names[i] = r.name
    bit[r.name] = 1 << (i - 1)
  end
  local s = M.action_schema(role_names)
  local actions = {}
  for i, e in ipairs(entries(roles, roles_file)) do actions[i] = { check_entry(s, e, i, roles_file, "action") } end
  if #actions == 0 then fail("%s: has no entries", roles_file) end
  local new_presets = check_presets(vis, names.visibility or "visibility.lua")

  authz.policy_begin()
  local function give(ok, problem, where)
    if not ok then
      authz.policy_abort()
      fail("%s: %s", where, problem.message)
    end
  end
  for _, r in ipairs(list.roles) do
    local ok, problem = authz.add_role(r.name, r.label)
    give(ok, problem, names.role_list or "roles_list.lua")
  end
  for _, c in ipairs(list.cycle_roles) do
    local mask = 0
    for _, a in ipairs(c.acts_as) do mask = mask | bit[a] end
    local ok, problem = authz.add_cycle_role(c.name, c.label, mask)
    give(ok, problem, names.role_list or "roles_list.lua")
  end
  for i, pair in ipairs(actions) do
    local a, label = pair[1], pair[2]
    local all_of = 0
    for _, r in ipairs(a.all_of or {}) do all_of = all_of | bit[r] end
    local grants = {}
    for k, r in ipairs(role_names) do
      local cell = a[r]
      grants[k] = type(cell) == "string" and cell:sub(4) or cell
    end
    local ok, problem = authz.add_action(a.action, a.section, a.label, a.why, a.everyone, a.confidential, a.guest_ok,
      a.author_ok, a.self, a.direct_manager, a.indirect_manager, all_of, table.unpack(grants, 1, #role_names))
    give(ok, problem, ("%s: entry %d (%s)"):format(roles_file, i, label))
    if a.parts and #a.parts > 0 then
      ok, problem = authz.set_parts(a.action, table.unpack(a.parts))
      give(ok, problem, ("%s: entry %d (%s)"):format(roles_file, i, label))
    end
  end
  authz.policy_commit()
  role_list = list
  presets = new_presets
  return true
end

--- Loads dir/roles_list.lua, dir/roles.lua and dir/visibility.lua (dir defaults to
--- "policies"). Returns true.
function M.load(dir)
  dir = dir or "policies"
  local list_path = dir .. "/roles_list.lua"
  local roles_path, vis_path = dir .. "/roles.lua", dir .. "/visibility.lua"
  local list = data_file(list_path)
  local roles = data_file(roles_path)
  local vis = data_file(vis_path)
  return M.install(roles, vis, { roles = roles_path, visibility = vis_path, role_list = list_path }, list)
end

local copy = schema.copy

--- The roles file in force: { roles = { {name, label, plural, description}, ... },
--- cycle_roles = { {name, label, plural, description, acts_as}, ... } } (a copy).
function M.roles()
  return copy(role_list)
end

--- { review = { {name, label, description, vis = {self=..., ...}}, ... }, feedback = ... } (a copy;
--- empty lists before a policy loaded).
function M.presets()
  return copy(presets)
end

--- A copy of that preset's vis table (ready for ctx.vis), or nil.
function M.preset(kind, name)
  for _, p in ipairs(presets[kind] or {}) do
    if p.name == name then return copy(p.vis) end
  end
  return nil
end

return M
