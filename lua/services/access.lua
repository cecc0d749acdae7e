-- Access control: feeds the org graph and roles from the database into the C evaluator
-- (core.authz) and answers "may this user do that" for routes and services.
local authz = require "core.authz"
local db = require "lib.db"
local errors = require "lib.errors"
local events = require "lib.events"
local policy = require "lib.policy"

local M = {}

local function put(u, roles)
  authz.put(u.id, u.manager_id, {
    roles = roles or {},
    guest = u.kind == "guest",
    active = u.status == "active",
  })
end

--- The roles the policy declares (policies/roles_list.lua): list of names in order, and
--- name -> label. Filled when the policy loads.
M.ROLE_LIST, M.ROLE_NAMES = {}, {}

local function read_roles()
  for i = #M.ROLE_LIST, 1, -1 do M.ROLE_LIST[i] = nil end
  for k in pairs(M.ROLE_NAMES) do M.ROLE_NAMES[k] = nil end
  for i, r in ipairs(authz.roles()) do
    M.ROLE_LIST[i] = r.name
    M.ROLE_NAMES[r.name] = r.label
  end
end

--- The action that grants and revokes role (roles.grant_<role>), or nil for an unknown role.
function M.grant_action(role)
  return M.ROLE_NAMES[role] and ("roles.grant_" .. role) or nil
end

--- The roles person id holds, as the evaluator has them (a list in policy order).
function M.roles(id)
  local p = authz.get(id)
  return p and p.roles or {}
end

--- Loads everybody into the evaluator (at start): two queries whatever the size.
function M.load_all()
  local roles = {}
  for _, r in ipairs(db.query("SELECT user_id, role FROM user_roles")) do
    local list = roles[r.user_id] or {}
    list[#list + 1] = r.role
    roles[r.user_id] = list
  end
  for _, u in ipairs(db.query("SELECT id, manager_id, kind, status FROM users")) do
    put(u, roles[u.id])
  end
  authz.rebuild()
end

-- Puts person id back as before (nil: they were not there) when the transaction rolls back.
local function undo_on_rollback(id, before)
  db.on_rollback(function()
    if before then
      authz.put(id, before.manager_id, { roles = before.roles, guest = before.guest, active = before.active })
    else
      authz.remove(id)
    end
  end)
end

--- After a person changed (manager, roles, status, kind), was created or deleted. A rollback
--- puts the evaluator's entry back as it was; the graph is rebuilt at the next decision, and
--- only when it differs from the last one built.
function M.sync(user_id)
  local before = authz.get(user_id)
  local u = db.row("SELECT id, manager_id, kind, status FROM users WHERE id = ?", user_id)
  if not u then
    authz.remove(user_id)
  else
    put(u, db.column("SELECT role FROM user_roles WHERE user_id = ?", user_id))
  end
  undo_on_rollback(user_id, before)
end

--- Reloads everything from the database (after a bulk change such as an import; a rollback
--- reloads again).
function M.reload()
  authz.reset()
  M.load_all()
  db.on_rollback(function()
    authz.reset()
    M.load_all()
  end)
end

--- allowed, rule for user (a row with .id) doing action, optional ctx (see docs/api.md).
function M.can(user, action, ctx)
  if not user then return false, "not_signed_in" end
  return authz.check(user.id, action, ctx)
end

--- Raises 403 unless allowed; the message says which role would allow it.
function M.require(user, action, ctx)
  local ok, rule = M.can(user, action, ctx)
  if not ok then
    local needs = authz.roles_for(action)
    local msg = "You do not have permission to do this."
    if rule == "hierarchy" then
      msg = "Nobody can see confidential data of a person above them in their own reporting line."
    elseif needs and needs ~= "" and not ctx then
      msg = msg .. " It needs: " .. needs .. "."
    end
    errors.forbidden(msg, { details = { rule = rule } })
  end
  return rule
end

function M.init(app)
  policy.load(app.app_dir .. "/../policies")
  read_roles()
  M.load_all()
  events.hook("http.permit", function(e)
    if M.can(e.user, e.perm) then
      e.allowed, e.reason = true, nil
      return
    end
    local needs = authz.roles_for(e.perm)
    e.allowed = false
    e.reason = "You do not have permission to do this." .. ((needs and needs ~= "") and (" It needs: " .. needs .. ".") or "")
  end)
end

return M
