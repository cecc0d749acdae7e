-- Access control: feeds the org graph and roles from the database into the C evaluator
-- (core.authz) and answers "may this user do that" for routes and services.
local authz = require "core.authz"
local db = require "lib.db"
local errors = require "lib.errors"

local M = {}

local ROLE_LIST = { "hr_admin", "hr_assistant", "tech_admin" }
M.ROLE_LIST = ROLE_LIST
M.ROLE_NAMES = { hr_admin = "HR Admin", hr_assistant = "HR Assistant", tech_admin = "Tech Admin" }

local function put(u, roles)
  authz.put(u.id, u.manager_id, {
    roles = roles or {},
    guest = u.kind == "guest",
    active = u.status == "active",
  })
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

--- After a person changed (manager, roles, status, kind) or was created.
function M.sync(user_id)
  local u = db.row("SELECT id, manager_id, kind, status FROM users WHERE id = ?", user_id)
  if not u then
    authz.remove(user_id)
  else
    put(u, db.column("SELECT role FROM user_roles WHERE user_id = ?", user_id))
  end
  authz.rebuild()
end

--- Reloads everything (after a rollback the in-memory graph may be ahead of the database).
function M.reload()
  authz.reset()
  M.load_all()
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
  require("lib.policy").load(app.app_dir .. "/../policies")
  M.load_all()
  app.hooks.permit = function(user, perm)
    local ok, rule = M.can(user, perm)
    if ok then return true end
    local needs = authz.roles_for(perm)
    return false, "You do not have permission to do this." .. ((needs and needs ~= "") and (" It needs: " .. needs .. ".") or ""), rule
  end
  db.rollback_hooks[#db.rollback_hooks + 1] = M.reload
end

return M
