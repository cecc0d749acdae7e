-- The reasons people type for an HR decision — reopening a review or 360 feedback, unveiling the
-- writer of an anonymous praise — are confidential text: they are kept encrypted in
-- sealed_reasons (one row per reason, sealed by core.crypto through lib/crypt like the answers,
-- so `candor rotate-key` re-encrypts them too), and the review's and the 360's history and the
-- audit log keep only its id in their details (reason_id). The audit log stays append-only and
-- hash-chained: its entries hold no words that a key rotation would have to rewrite.
--
--   local id = reasons.seal(text)                       -- in the change's transaction
--   details = { reason_id = id, ... }
--   reasons.reveal(list of decoded details, viewer)     -- reason_id -> reason, for HR Admins
--
-- Earlier versions kept these reasons in plain text. Migration 030 (SQL, which cannot encrypt)
-- leaves a row in reasons_to_seal; seal_stored() (app.init runs it right after the migrations)
-- seals them in one transaction and removes the row.
local core_db = require "core.db"
local clock = require "core.clock"
local log = require "core.log"
local crypt = require "lib.crypt"
local db = require "lib.db"
local json = require "lib.json"
local audit = require "services.audit"
local access = require "services.access"

local M = {}

crypt.register{ table = "sealed_reasons", column = "text_enc", key = { "id" } }

--- Seals the words of a reason; returns the id to keep as details.reason_id. Call inside the
--- change's transaction.
function M.seal(text)
  local id = db.insert("INSERT INTO sealed_reasons(created_at) VALUES(?)", clock.now())
  db.exec("UPDATE sealed_reasons SET text_enc = ? WHERE id = ?", crypt.seal("sealed_reasons", "text_enc", { id }, text), id)
  return id
end

--- The words of the reasons with these ids: { [id] = text }. One query.
function M.open_many(ids)
  local out = {}
  if #ids == 0 then return out end
  for _, r in ipairs(db.query("SELECT id, text_enc FROM sealed_reasons WHERE id IN (SELECT value FROM json_each(?))",
    json.encode(ids))) do
    out[r.id] = crypt.open("sealed_reasons", "text_enc", { r.id }, r.text_enc)
  end
  return out
end

--- The words of one reason (nil when there is none).
function M.open(id)
  return id and M.open_many({ id })[id] or nil
end

--- Who reads the words of a typed reason in the audit log (HR Admins: policies/roles.lua).
M.PERMISSION = "admin.audit_reasons"

--- Puts the words back into decoded details tables for viewer: each with a reason_id gets
--- reason = the words instead (or "(reason not found)") when viewer may read them
--- (M.PERMISSION), otherwise reason_hidden = true and no words. One query for the list.
function M.reveal(list, viewer)
  local ids = {}
  for _, d in ipairs(list) do
    local id = type(d) == "table" and math.tointeger(d.reason_id)
    if id then ids[#ids + 1] = id end
  end
  if #ids == 0 then return list end
  local may = viewer and access.can(viewer, M.PERMISSION)
  local words = may and M.open_many(ids) or {}
  for _, d in ipairs(list) do
    local id = type(d) == "table" and math.tointeger(d.reason_id)
    if id then
      d.reason_id = nil
      if may then d.reason = words[id] or "(reason not found)" else d.reason_hidden = true end
    end
  end
  return list
end

-- Where earlier versions kept typed reasons in plain text (details.reason): the history tables
-- and the audit actions that had one (other audit entries' "reason" is a code, e.g. a refused
-- sign-in's "password", and stays).
local HISTORIES = { review_events = { "reopened" }, feedback_events = { "feedback.reopened" } }
local AUDITED = { "review.reopen", "feedback.reopen", "message.unveiled" }

local TEXT_REASON = "CASE WHEN json_valid(details) THEN json_type(details, '$.reason') END = 'text'"
local SWAP = "json_set(json_remove(?, '$.reason'), '$.reason_id', ?)"

--- Seals the reasons earlier versions kept in plain text, once, when migration 030 asked for it
--- (reasons_to_seal), in one transaction: the history rows get a reason_id, the audit entries too
--- (services/audit.rewrite_details rehashes the chain from the first one; an audit entry records
--- it). Freed space is zeroed (secure_delete, on for this whatever the SQLite build's default) and
--- the WAL checkpointed into the database file, so the words leave the files.
--- Safe to run again: it does nothing once the row is gone. Returns the number of reasons sealed,
--- or nil when there was nothing to do.
function M.seal_stored()
  local pending = db.value("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'reasons_to_seal'") == 1
    and db.value("SELECT 1 FROM reasons_to_seal") == 1
  if not pending then return nil end
  local was = db.value("PRAGMA secure_delete")
  assert(core_db.script("PRAGMA secure_delete = ON"))
  local ok, res = pcall(db.transaction, function()
    local n = 0
    for tbl, actions in pairs(HISTORIES) do
      for _, e in ipairs(db.query(("SELECT id, details, json_extract(details, '$.reason') AS reason FROM %s "
        .. "WHERE action IN (SELECT value FROM json_each(?)) AND %s"):format(tbl, TEXT_REASON), json.encode(actions))) do
        db.exec(("UPDATE %s SET details = %s WHERE id = ?"):format(tbl, SWAP), e.details, M.seal(e.reason), e.id)
        n = n + 1
      end
    end
    local changes, k = {}, 0
    for _, e in ipairs(db.query(("SELECT id, details, json_extract(details, '$.reason') AS reason FROM audit_log "
      .. "WHERE action IN (SELECT value FROM json_each(?)) AND %s ORDER BY id"):format(TEXT_REASON), json.encode(AUDITED))) do
      changes[e.id] = db.value("SELECT " .. SWAP, e.details, M.seal(e.reason))
      k = k + 1
    end
    if k > 0 then
      local verified, _, broken = audit.verify()
      local rehashed = audit.rewrite_details(changes)
      audit.record{ action = "audit.reasons_sealed", actor_label = "system",
        details = { entries = k, rehashed = rehashed, chain_broken_before_at = not verified and broken.id or nil } }
    end
    db.exec("DELETE FROM reasons_to_seal")
    return n + k
  end)
  core_db.script("PRAGMA secure_delete = " .. (was == 1 and "ON" or "OFF"))
  if not ok then error(res, 0) end
  core_db.checkpoint() -- the new pages replace the old ones in the database file
  if res > 0 then log.info(("sealed %d reason%s kept in plain text by an earlier version"):format(res, res == 1 and "" or "s")) end
  return res
end

return M
