-- 2-step verification with TOTP codes (see routes/account.lua for enrolment). This file holds
-- the decision "does this sign-in need a code"; enrolment and checking come with core.totp.
local db = require "lib.db"
local web = require "lib.web"
local crypto = require "core.crypto"
local clock = require "core.clock"
local settings = require "services.settings"

local M = {}

M.TRUST_COOKIE = "candor_trusted"

--- True when user has confirmed 2-step verification.
function M.enrolled(user_id)
  return db.value("SELECT 1 FROM user_totp WHERE user_id = ? AND confirmed_at IS NOT NULL", user_id) == 1
end

--- True when this browser was remembered for user (30 days after a 2-step sign-in).
function M.trusted_browser(user_id, req)
  local v = web.cookie(req, M.TRUST_COOKIE)
  if not v or #v > 100 then return false end
  return db.value("SELECT 1 FROM trusted_browsers WHERE token_hash = ? AND user_id = ? AND expires_at > ?",
    db.blob(crypto.sha256("trusted:" .. v)), user_id, clock.now()) == 1
end

--- Whether an admin role obliges user to use 2-step verification.
function M.must_enrol(user_id)
  if not settings.get("security.require_2fa_for_admins") then return false end
  return (db.value("SELECT count(*) FROM user_roles WHERE user_id = ?", user_id) or 0) > 0
end

--- Whether a sign-in by user in this browser needs a code before the session is usable.
function M.required_for(user_id, req)
  if not M.enrolled(user_id) then return false end
  return not M.trusted_browser(user_id, req)
end

function M.init()
  settings.define("security.require_2fa_for_admins", { type = "boolean", default = false,
    description = "Everyone holding an admin role must use 2-step verification." })
end

return M
