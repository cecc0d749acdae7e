-- Impersonation (the admin.impersonate permission): seeing Candor as someone else, in a session
-- of its own that ends back in a session of the impersonator; who may not be impersonated; and
-- what may not be changed while impersonating.
local db = require "lib.db"
local web = require "lib.web"
local errors = require "lib.errors"
local events = require "lib.events"
local authz = require "core.authz"
local audit = require "services.audit"
local access = require "services.access"
local sessions = require "services.sessions"

local M = {}

-- Every change made in an impersonated session is logged in both people's names: while such a
-- request runs (its task), each event fired inside a transaction — every change announces itself
-- (docs/events.md) — is noted once that transaction has committed, and the request ends with one
-- audit entry "impersonation.change" in the person's name, with the impersonator, the request and
-- the changes (event names and ids; never content). Changes that rolled back leave nothing.
local impersonated = setmetatable({}, { __mode = "k" }) -- task coroutine -> req
M.CHANGES_LISTED = 50

--- Why actor may not impersonate target, or nil when they may.
function M.problem(actor, session, target)
  if not session then return "Impersonation needs a signed-in browser session." end
  if session.impersonator_id then return "You are impersonating someone already: end that first." end
  if not access.can(actor, "admin.impersonate") then return "You do not have permission to impersonate people." end
  if target.id == actor.id then return "You cannot impersonate yourself." end
  local t = sessions.load_user(target.id)
  if t.is_super then return "Super users (HR Admin + Tech Admin) cannot be impersonated." end
  if t.kind == "guest" then return "Guests cannot be impersonated." end
  if t.status ~= "active" then return "Only active people can be impersonated." end
  local rel = authz.relation(actor.id, target.id)
  if rel == "above" then
    return "Nobody can impersonate a person above them in their own reporting line."
  elseif rel == "direct_manager" or rel == "indirect_manager" then
    return "Nobody can impersonate a person in their own reporting line: " .. t.name .. " reports to you."
  end
  return nil
end

--- Starts a session as target for the impersonating actor; their own session ends (a new one
--- starts when the impersonation ends). Call inside a transaction.
function M.start(req, res, target)
  local actor, own = req.user, req.session
  local problem = M.problem(actor, own, target)
  if problem then errors.forbidden(problem) end
  db.exec("DELETE FROM sessions WHERE id = ?", own.id)
  local s = sessions.start(req, res, target.id, { second_factor = true, impersonator_id = actor.id,
    expires_at = own.expires_at })
  audit.record{ action = "impersonation.start", actor = actor, req = req, target_type = "user",
    target_id = target.id, target_label = target.email }
  events.fire("impersonation.started", { person_id = target.id, actor_id = actor.id })
  return s
end

--- Ends the impersonation of this request: back to a session of the impersonator. Returns
--- the impersonator and the person who was impersonated. Call inside a transaction.
function M.finish(req, res)
  local s = req.session
  if not s or not s.impersonator_id then errors.conflict("You are not impersonating anyone.") end
  local target = req.user
  local imp = sessions.load_user(s.impersonator_id)
  db.exec("DELETE FROM sessions WHERE id = ?", s.id)
  audit.record{ action = "impersonation.end", actor_id = s.impersonator_id,
    actor_label = imp and imp.email or "deleted user", req = req, target_type = "user", target_id = target.id,
    target_label = target.email }
  events.fire("impersonation.ended", { person_id = target.id, actor_id = s.impersonator_id })
  if not imp or imp.status ~= "active" then
    web.add_header(res, "Set-Cookie", sessions.cookie_for(req, "", 0))
    return nil, target
  end
  sessions.start(req, res, imp.id, { second_factor = true, expires_at = s.expires_at })
  return imp, target
end

--- Raises 403 when the request acts in an impersonated session (what may not be changed then:
--- the person's password, 2-step setup, API tokens).
function M.refuse_impersonated(req, what)
  if req.session and req.session.impersonator_id then
    errors.forbidden((what or "This") .. " cannot be changed while impersonating someone.")
  end
end

local function note_change(data, name)
  if next(impersonated) == nil then return end -- (the common case, checked first: this runs for every event)
  -- pages being built and rollbacks change nothing; signing out and ending the impersonation
  -- have entries of their own
  if db.depth() == 0 or name:match("^db%.") or name:match("^session%.") or name:match("^impersonation%.") then
    return
  end
  local req = impersonated[coroutine.running()]
  if not req then return end
  local change = { event = name }
  for k, v in pairs(data) do
    if type(k) == "string" and k:match("_id$") and math.type(v) == "integer" then change[k] = v end
  end
  db.after_commit(function()
    req.impersonated_changes = (req.impersonated_changes or 0) + 1
    local list = req.impersonated_list or {}
    if #list < M.CHANGES_LISTED then list[#list + 1] = change end
    req.impersonated_list = list
  end)
end

local function log_changes(req)
  impersonated[coroutine.running()] = nil
  if not req.impersonated_changes then return end
  db.transaction(function()
    audit.record{ action = "impersonation.change", actor = req.user, req = req, target_type = "user",
      target_id = req.user and req.user.id, target_label = req.user and req.user.email,
      details = { method = req.method, path = req.path, changes = req.impersonated_list,
        count = req.impersonated_changes } }
  end)
end

-- ------------------------------------------------------------------ setup

--- Notes the changing requests of impersonated sessions (after services.sessions has
--- authenticated them) and logs their changes when they answer.
function M.init()
  events.hook("http.authenticate", function(e)
    local req = e.req
    if req.session and req.session.impersonator_id and req.method ~= "GET" and req.method ~= "HEAD" then
      impersonated[coroutine.running()] = req
    end
  end)
  events.hook("*", note_change)
  events.hook("http.response", function(e)
    local req = e.req
    if impersonated[coroutine.running()] == req then log_changes(req) end
  end)
end

return M
