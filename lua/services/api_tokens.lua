-- API tokens for integrations: created by a person (the text shown once, only a hash stored),
-- revoked, listed, and looked up from a request's "Authorization: Bearer" header.
local db = require "lib.db"
local errors = require "lib.errors"
local events = require "lib.events"
local crypto = require "core.crypto"
local clock = require "core.clock"
local audit = require "services.audit"

local M = {}

local function sha(s) return crypto.sha256(s) end

--- The id of the person whose API token the request carries, and the token's row; nothing
--- when the request has no bearer token. Raises 401 for a token that is not valid.
function M.from_request(req)
  local auth = req.headers.authorization
  if not auth then return nil end
  local token = auth:match("^Bearer%s+(%S+)$")
  if not token then return nil end
  local t = db.row("SELECT id, created_by, last_used_at FROM api_tokens WHERE token_hash = ? AND revoked_at IS NULL",
    db.blob(sha("api:" .. token)))
  if not t then errors.unauthorized("This API token is not valid (revoked or mistyped).") end
  if not t.last_used_at or clock.now() - t.last_used_at >= 60 then
    db.exec("UPDATE api_tokens SET last_used_at = ? WHERE id = ?", clock.now(), t.id)
  end
  return t.created_by, t
end

--- Creates an API token for its creator; returns the token text (shown once) and the row id.
function M.create(actor, name, req)
  local token = "cnd_" .. crypto.token(32)
  local id = db.insert([[INSERT INTO api_tokens(name, token_hash, prefix, created_by, created_at)
    VALUES(?,?,?,?,?)]], name, db.blob(sha("api:" .. token)), token:sub(1, 10), actor.id, clock.now())
  audit.record{ action = "api_token.create", actor = actor, req = req, target_type = "api_token", target_id = id,
    target_label = name }
  events.fire("api_token.created", { token_id = id, actor_id = actor.id })
  return token, id
end

--- Revokes token id (404 when there is none; a revoked one stays as it is). Returns its name.
function M.revoke(actor, id, req)
  local t = db.row("SELECT id, name, revoked_at FROM api_tokens WHERE id = ?", id)
  if not t then errors.not_found("There is no such token.") end
  if t.revoked_at then return t.name end
  db.exec("UPDATE api_tokens SET revoked_at = ? WHERE id = ?", clock.now(), id)
  audit.record{ action = "api_token.revoke", actor = actor, req = req, target_type = "api_token", target_id = id,
    target_label = t.name }
  events.fire("api_token.revoked", { token_id = id, actor_id = actor.id })
  return t.name
end

--- Token id with its creator's name and email (nil when there is none).
function M.get(id)
  return db.row([[SELECT t.*, u.name AS creator_name, u.email AS creator_email FROM api_tokens t
    LEFT JOIN users u ON u.id = t.created_by WHERE t.id = ?]], id)
end

--- API tokens with their creators, newest first; revoked ones only when include_revoked.
function M.list(include_revoked)
  return db.query([[SELECT t.id, t.name, t.prefix, t.created_by, u.name AS creator_name, u.email AS creator_email,
      t.created_at, t.last_used_at, t.revoked_at
    FROM api_tokens t LEFT JOIN users u ON u.id = t.created_by
    WHERE ? OR t.revoked_at IS NULL ORDER BY t.created_at DESC, t.id DESC]], include_revoked and 1 or 0)
end

return M
