-- Signing in: the password checked off the event loop (argon2id on the thread pool) under the
-- throttles, the browser remembered for the account (device cookie), the session started —
-- pending the 2-step code, or 2-step setup when an admin setting obliges it — and the second
-- step completed. Also the proofs a signed-in person gives before changing their password or
-- 2-step settings.
local db = require "lib.db"
local web = require "lib.web"
local errors = require "lib.errors"
local events = require "lib.events"
local util = require "lib.util"
local crypto = require "core.crypto"
local settings = require "services.settings"
local audit = require "services.audit"
local twostep = require "services.twostep"
local throttle = require "services.throttle"
local client_address = require "services.client_address"
local sessions = require "services.sessions"

local M = {}

M.DEVICE_COOKIE = "candor_device"
local SIGNIN_FAILED = "The email or password is not right."

-- A browser that signed in to an account before carries a device cookie for it; a flood of
-- wrong passwords from elsewhere then does not lock the real user out on their own browser.
-- Keyed with a random per-install secret kept in the settings (not the master key, which
-- rotate-key replaces: the cookies would stop matching).
local function device_value(email)
  local secret = settings.get("security.device_secret")
  if secret == "" then
    secret = crypto.token(32)
    settings.set("security.device_secret", secret)
  end
  return crypto.b64(crypto.sha256("device:" .. secret .. ":" .. email:lower()))
end

local function known_device(req, email)
  local v = web.cookie(req, M.DEVICE_COOKIE)
  if not v then return false end
  for token in v:gmatch("[^.]+") do
    if crypto.equal(token, device_value(email)) then return true end
  end
  return false
end

local dummy_hash

--- Checks email + password (waits for argon2id on the thread pool). Returns the user row, or
--- raises 401 with the same answer for a wrong email and a wrong password, 429 when throttled.
function M.verify_credentials(req, email, password)
  email = (type(email) == "string" and email or ""):lower():gsub("^%s+", ""):gsub("%s+$", "")
  password = type(password) == "string" and password or ""
  local addr = client_address.client(req)
  local device = known_device(req, email)
  local wait = math.max(throttle.wait_for("ip", addr),
    device and throttle.wait_for("device", email) or throttle.wait_for("account", email))
  if wait > 0 then
    errors.too_many("Too many failed attempts. Try again in " .. throttle.wait_text(wait) .. ".", wait)
  end
  local u = db.row("SELECT id, email, name, status, kind, password_hash FROM users WHERE email = ?", email)
  local hash = u and u.password_hash or dummy_hash
  local ok = crypto.verify_password(hash, password:sub(1, 4096)) and u ~= nil and u.password_hash ~= nil
  if not ok then
    db.transaction(function()
      throttle.record_failure("ip", addr)
      throttle.record_failure(device and "device" or "account", email)
      audit.record{ action = "signin.failure", actor_id = u and u.id, actor_label = util.truncate_bytes(email, 254),
        req = req, details = { reason = u and "password" or "unknown_email" } }
    end)
    errors.raise(401, "signin_failed", SIGNIN_FAILED)
  end
  if u.status == "locked" or u.status == "deactivated" then
    db.transaction(function()
      audit.record{ action = "signin.failure", actor_id = u.id, actor_label = u.email, req = req,
        details = { reason = u.status } }
    end)
    errors.raise(403, "account_" .. u.status, u.status == "locked"
      and "This account is locked. Ask your HR team to unlock it."
      or "This account is deactivated. Ask your HR team if you need access again.")
  end
  if crypto.password_needs_rehash(u.password_hash) then
    local fresh = crypto.hash_password(password)
    if fresh then db.exec("UPDATE users SET password_hash = ? WHERE id = ?", fresh, u.id) end
  end
  return u, device
end

--- Checks a signed-in user's own password (for changing it, or 2-step settings); throttled
--- like 2-step codes. Returns true or false (waits for argon2id).
function M.check_own_password(user_id, password)
  throttle.check_code_throttle(user_id)
  local hash = db.value("SELECT password_hash FROM users WHERE id = ?", user_id)
  local ok = type(password) == "string" and password ~= ""
    and crypto.verify_password(hash or dummy_hash, password:sub(1, 4096)) and hash ~= nil
  db.transaction(function()
    if ok then throttle.code_ok(user_id) else throttle.code_failed(user_id) end
  end)
  return ok and true or false
end

--- Checks proof that the person at the keyboard is the account's owner before a 2-step change:
--- a current code (or recovery code) when 2-step is on, or the password. Throttled. Raises 422
--- naming the field when the proof is wrong, 429 when throttled. Waits (argon2id): call
--- outside a transaction.
function M.require_proof(user, input)
  throttle.check_code_throttle(user.id)
  local code, password = input.code, input.password
  if type(code) == "string" and code:match("%S") and twostep.enrolled(user.id) then
    local ok = db.transaction(function()
      local how = twostep.check_any(user.id, code)
      if how then throttle.code_ok(user.id) else throttle.code_failed(user.id) end
      return how
    end)
    if not ok then errors.invalid({ code = "This code is not right (or was used already)." }) end
    return "code"
  end
  if type(password) == "string" and password ~= "" then
    if not M.check_own_password(user.id, password) then
      errors.invalid({ password = "This is not your current password." })
    end
    return "password"
  end
  errors.invalid({ code = "Enter a code from your authenticator app, or your password." })
end

--- Signs in after the password was right: starts a session, pending the 2-step code when the
--- person uses 2-step verification and this browser is not remembered, or pending enrolment
--- when an admin setting obliges them to use it and they have not set it up. Returns the
--- session and the pending state (nil, sessions.PENDING_CODE or sessions.PENDING_ENROL).
function M.complete_signin(req, res, u)
  local pending
  if twostep.required_for(u.id, req) then
    pending = sessions.PENDING_CODE
  elseif not twostep.enrolled(u.id) and twostep.must_enrol(u.id) then
    pending = sessions.PENDING_ENROL
  end
  local session
  db.transaction(function()
    throttle.clear_failures("account", u.email:lower())
    throttle.clear_failures("device", u.email:lower())
    throttle.clear_failures("ip", client_address.client(req))
    if u.status == "invited" then db.exec("UPDATE users SET status = 'active' WHERE id = ?", u.id) end
    session = sessions.start(req, res, u.id, { second_factor = pending == nil, pending_2fa = pending })
    if pending == sessions.PENDING_ENROL then twostep.begin(u.id, { keep = true }) end
    audit.record{ action = pending and "signin.password_ok" or "signin.success", actor_id = u.id,
      actor_label = u.email, req = req, details = { via = req.route and req.route.api and "api" or "page",
        next_step = pending == sessions.PENDING_CODE and "code" or pending == sessions.PENDING_ENROL and "enrol" or nil } }
    if not pending then events.fire("session.signed_in", { person_id = u.id, second_step = false }) end
  end)
  -- remember this browser for the account (device cookie), keeping others it already knows
  local cur = web.cookie(req, M.DEVICE_COOKIE)
  local mine = device_value(u.email)
  local list = {}
  for t in (cur or ""):gmatch("[^.]+") do if t ~= mine and #list < 4 then list[#list + 1] = t end end
  table.insert(list, 1, mine)
  web.add_header(res, "Set-Cookie", web.cookie_header(M.DEVICE_COOKIE, table.concat(list, "."),
    { secure = client_address.secure_cookies(req), max_age = 180 * 86400 }))
  return session, pending
end

--- The second step is done (a code, a recovery code, or 2-step just set up): the pending
--- session is replaced by a full one with a new token. Call inside a transaction.
function M.finish_second_step(req, res, how)
  local p = req.pending_session
  db.exec("DELETE FROM sessions WHERE id = ?", p.id)
  local s = sessions.start(req, res, p.user_id, { second_factor = true })
  local u = req.pending_user
  audit.record{ action = "signin.success", actor_id = u.id, actor_label = u.email, req = req,
    details = { second_step = how } }
  events.fire("session.signed_in", { person_id = u.id, second_step = true })
  return s
end

--- Checks the code (or recovery code) the pending sign-in gives, in a transaction of its own
--- so that a wrong code is counted even when the request then fails. Throttled (429).
--- Returns "totp" | "recovery_code", or nil for a wrong code.
function M.check_second_step(req, code, recovery_code)
  local u = req.pending_user
  throttle.check_code_throttle(u.id)
  return db.transaction(function()
    local how = twostep.check_any(u.id, code, recovery_code)
    if how then
      throttle.code_ok(u.id)
    else
      throttle.code_failed(u.id)
      audit.record{ action = "signin.failure", actor_id = u.id, actor_label = u.email, req = req,
        details = { reason = "code" } }
    end
    return how
  end)
end

--- Completes the sign-in after a right code (how): a full session, and this browser remembered
--- for 2-step verification when asked. Returns the session.
function M.accept_second_step(req, res, how, remember)
  local u = req.pending_user
  return db.transaction(function()
    local s = M.finish_second_step(req, res, how)
    if remember then twostep.remember_browser(u.id, req, res, client_address.secure_cookies(req)) end
    return s
  end)
end

--- Sets 2-step verification up during the sign-in (an admin setting obliges it): a right code
--- turns the pending session into a full one. Returns the recovery codes and the session, or
--- nil for a wrong code.
function M.enrol_at_signin(req, res, code)
  return db.transaction(function()
    local codes = twostep.confirm(req.pending_user, code, req)
    if not codes then return nil end
    return codes, M.finish_second_step(req, res, "enrolled")
  end)
end

function M.init()
  settings.define("security.device_secret", { type = "string", default = "", len_max = 100,
    description = "Internal: the secret that keys the browsers' device cookies (throttling exemption)." })
  dummy_hash = crypto.hash_password(crypto.token(16))
end

return M
