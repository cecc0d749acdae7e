-- Application errors: raised with error(), turned into the API error shape
-- {"error":{"code":..., "message":..., "fields":{...}}} or an error page by the router.
local M = {}

local mt = {}
mt.__index = mt
mt.__tostring = function(e) return ("%d %s: %s"):format(e.status, e.code, e.message) end

--- A new error value (not raised).
function M.new(status, code, message, extra)
  local e = setmetatable({ status = status, code = code, message = message }, mt)
  if extra then for k, v in pairs(extra) do e[k] = v end end
  return e
end

--- True when e is an application error.
function M.is(e) return getmetatable(e) == mt end

--- Raises an application error.
function M.raise(status, code, message, extra) error(M.new(status, code, message, extra), 2) end

function M.bad_request(message, extra) error(M.new(400, "bad_request", message, extra), 2) end
function M.unauthorized(message) error(M.new(401, "unauthorized", message or "Please sign in."), 2) end
function M.forbidden(message, extra)
  error(M.new(403, "forbidden", message or "You do not have permission to do this.", extra), 2)
end
function M.not_found(message) error(M.new(404, "not_found", message or "Not found."), 2) end
function M.conflict(message, extra) error(M.new(409, "conflict", message, extra), 2) end
function M.too_many(message, retry_after)
  error(M.new(429, "too_many_requests", message, { retry_after = retry_after }), 2)
end

--- 507: the server's disk has no room for the change (nothing of it was saved).
function M.disk_full()
  return M.new(507, "disk_full", "The server's disk is full, so this was not saved. "
    .. "Please tell your administrator; try again once they have made room.")
end

--- 422 with per-field messages: fields = { email = "Enter an email address." }.
function M.invalid(fields, message)
  error(M.new(422, "invalid", message or "Some fields need attention.", { fields = fields }), 2)
end

return M
