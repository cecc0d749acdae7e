-- The audit log: who did what, when (UTC), from where. Append-only (triggers refuse updates
-- and deletes) and hash-chained: each entry's hash covers the previous hash and its own
-- fields, so `candor audit verify` finds any edit made behind the application's back.
-- Never pass secrets or confidential content in details.
local db = require "lib.db"
local json = require "lib.json"
local crypto = require "core.crypto"
local clock = require "core.clock"

local M = {}

local GENESIS = string.rep("0", 64)

local function canonical(e)
  return table.concat({
    tostring(e.at), tostring(e.actor_id or ""), e.actor_label or "", e.action,
    e.target_type or "", tostring(e.target_id or ""), e.target_label or "", e.ip or "", e.details or "{}",
  }, "\31")
end

local function chain(prev, e)
  return crypto.hex(crypto.sha256(prev .. "\30" .. canonical(e)))
end

--- Records an event. entry: { action=, actor= (user row or nil), target_type=, target_id=,
--- target_label=, ip=, details= (table, no secrets) }. Call inside the change's transaction.
function M.record(entry)
  local actor = entry.actor
  local details = entry.details or {}
  local imp = entry.req and entry.req.session and entry.req.session.impersonator
  if imp then -- an action taken while impersonating names who really took it
    local copy = {}
    for k, v in pairs(details) do copy[k] = v end
    copy.impersonated_by = imp.email or imp.id
    details = copy
  end
  local e = {
    at = clock.now(),
    actor_id = actor and actor.id or entry.actor_id,
    actor_label = actor and (actor.email or actor.name) or entry.actor_label or "system",
    action = assert(entry.action, "audit entry needs an action"),
    target_type = entry.target_type,
    target_id = entry.target_id,
    target_label = entry.target_label,
    ip = entry.ip or (entry.req and entry.req.client_ip) or (entry.req and entry.req.peer),
    details = json.encode(details),
  }
  local prev = db.value("SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1") or GENESIS
  e.prev_hash = prev
  e.hash = chain(prev, e)
  db.exec([[INSERT INTO audit_log(at, actor_id, actor_label, action, target_type, target_id,
            target_label, ip, details, prev_hash, hash) VALUES(?,?,?,?,?,?,?,?,?,?,?)]],
    e.at, e.actor_id, e.actor_label, e.action, e.target_type, e.target_id, e.target_label,
    e.ip, e.details, e.prev_hash, e.hash)
  return e
end

--- Checks the whole chain: ok, count, { id=, reason= } for the first broken entry.
function M.verify()
  local prev, n, last_id = GENESIS, 0, 0
  while true do
    local rows = db.query("SELECT * FROM audit_log WHERE id > ? ORDER BY id LIMIT 1000", last_id)
    if #rows == 0 then break end
    for _, e in ipairs(rows) do
      if e.prev_hash ~= prev then return false, n, { id = e.id, reason = "does not follow the entry before it" } end
      if chain(prev, e) ~= e.hash then return false, n, { id = e.id, reason = "its contents were changed" } end
      prev, n, last_id = e.hash, n + 1, e.id
    end
  end
  return true, n
end

return M
