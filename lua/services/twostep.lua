-- 2-step verification with TOTP codes (RFC 6238 through core.totp): enrolment (a secret shown
-- as a QR code, confirmed with a code), checking codes (±1 step, never the same step twice),
-- ten one-time recovery codes (stored hashed), "remember this browser" for 30 days, turning it
-- off. The secret is encrypted at rest (lib/crypt: user_totp.secret_enc, bound to the user).
-- Pages and API: routes/account.lua (own settings) and routes/session.lua (the sign-in step).
local db = require "lib.db"
local web = require "lib.web"
local crypt = require "lib.crypt"
local errors = require "lib.errors"
local events = require "lib.events"
local util = require "lib.util"
local crypto = require "core.crypto"
local clock = require "core.clock"
local totp = require "core.totp"
local qr = require "core.qr"
local settings = require "services.settings"
local audit = require "services.audit"
local access = require "services.access"
local mail = require "services.mail"

local M = {}

M.TRUST_COOKIE = "candor_trusted"
M.TRUST_DAYS = 30
M.RECOVERY_CODES = 10
M.PENDING_SECRET_TTL = 24 * 3600 -- an unconfirmed secret is kept this long (the person may have scanned it)

crypt.register{ table = "user_totp", column = "secret_enc", key = { "user_id" } }

local function seal_secret(user_id, secret) return crypt.seal("user_totp", "secret_enc", { user_id }, secret) end
local function open_secret(user_id, blob) return crypt.open("user_totp", "secret_enc", { user_id }, blob) end

--- True when user has confirmed 2-step verification.
function M.enrolled(user_id)
  return db.value("SELECT 1 FROM user_totp WHERE user_id = ? AND confirmed_at IS NOT NULL", user_id) == 1
end

-- The trust cookie holds up to 5 tokens (several accounts on one browser), dot-separated.
local function trust_tokens(req)
  local v = web.cookie(req, M.TRUST_COOKIE)
  local list = {}
  if not v or #v > 400 then return list end
  for t in v:gmatch("[^.]+") do if #t >= 20 and #t <= 100 then list[#list + 1] = t end end
  return list
end

--- True when this browser was remembered for user (30 days after a 2-step sign-in).
function M.trusted_browser(user_id, req)
  for _, t in ipairs(trust_tokens(req)) do
    if db.value("SELECT 1 FROM trusted_browsers WHERE token_hash = ? AND user_id = ? AND expires_at > ?",
      db.blob(crypto.sha256("trusted:" .. t)), user_id, clock.now()) == 1 then
      return true
    end
  end
  return false
end

--- Whether an admin role obliges user to use 2-step verification.
function M.must_enrol(user_id)
  if not settings.get("security.require_2fa_for_admins") then return false end
  return #access.roles(user_id) > 0
end

--- Whether a sign-in by user in this browser needs a code before the session is usable.
function M.required_for(user_id, req)
  if not M.enrolled(user_id) then return false end
  return not M.trusted_browser(user_id, req)
end

-- ------------------------------------------------------------------ enrolment

--- Starts enrolment: a new secret waiting for its first code. opts.keep: keep a recent
--- unconfirmed secret (the person may have scanned it already). Refused when 2-step is on.
--- Returns the secret. Call inside a transaction.
function M.begin(user_id, opts)
  local row = db.row("SELECT secret_enc, confirmed_at, last_step FROM user_totp WHERE user_id = ?", user_id)
  if row and row.confirmed_at then errors.conflict("2-step verification is on already.") end
  -- an unconfirmed row keeps last_step = the step it was created at (for its age)
  local now_step = clock.now() // 30
  if row and opts and opts.keep and now_step - row.last_step < M.PENDING_SECRET_TTL // 30 then
    return open_secret(user_id, row.secret_enc)
  end
  local secret = totp.new_secret()
  db.exec([[INSERT INTO user_totp(user_id, secret_enc, confirmed_at, last_step) VALUES(?,?,NULL,?)
    ON CONFLICT(user_id) DO UPDATE SET secret_enc = excluded.secret_enc, confirmed_at = NULL,
    last_step = excluded.last_step]], user_id, seal_secret(user_id, secret), now_step)
  return secret
end

--- The secret waiting for confirmation, or nil.
function M.pending_secret(user_id)
  local row = db.row("SELECT secret_enc FROM user_totp WHERE user_id = ? AND confirmed_at IS NULL", user_id)
  return row and open_secret(user_id, row.secret_enc)
end

--- What an authenticator app needs: the otpauth URI and the QR code of it (inline SVG).
function M.enrolment_view(user, secret)
  local issuer = (settings.get("company.name") or ""):gsub("[:%c]", " "):gsub("^%s+", ""):gsub("%s+$", "")
  issuer = (issuer == "" or issuer == "Your company") and "Candor" or util.truncate("Candor " .. issuer, 100, "")
  local uri = totp.uri(secret, user.email, issuer)
  local svg = assert(qr.svg(uri, { module = 5, margin = 4 }))
  -- a standalone document: drop the XML prolog so it can sit inside the page
  svg = svg:gsub("^<%?xml.-%?>%s*", "")
  svg = svg:gsub("^<svg ", '<svg class="qr" role="img" aria-label="QR code for your authenticator app" ', 1)
  -- the secret in groups of four, as people type it
  local grouped = secret:gsub("(....)", "%1 "):gsub("%s+$", "")
  return { secret = secret, grouped = grouped, uri = uri, qr_svg = svg, issuer = issuer }
end

local function normalize_code(code)
  if type(code) ~= "string" then return nil end
  return (code:gsub("[%s%-]", ""))
end

-- Recovery codes: 12 characters of base32 (60 bits) shown as xxxx-xxxx-xxxx, stored as a hash
-- bound to the user.
local B32 = "abcdefghijklmnopqrstuvwxyz234567"

local function recovery_hash(user_id, code)
  return db.blob(crypto.sha256("recovery:" .. user_id .. ":" .. code:lower()))
end

local function new_recovery_codes(user_id)
  db.exec("DELETE FROM recovery_codes WHERE user_id = ?", user_id)
  local codes = {}
  for i = 1, M.RECOVERY_CODES do
    local bytes = crypto.random(12)
    local chars = {}
    for j = 1, 12 do
      local k = bytes:byte(j) % 32 + 1
      chars[j] = B32:sub(k, k)
    end
    local plain = table.concat(chars)
    db.exec("INSERT INTO recovery_codes(user_id, code_hash) VALUES(?,?)", user_id, recovery_hash(user_id, plain))
    codes[i] = plain:sub(1, 4) .. "-" .. plain:sub(5, 8) .. "-" .. plain:sub(9, 12)
  end
  return codes
end

local function mail_owner(user_id, template, vars)
  local u = db.row("SELECT id, email, name FROM users WHERE id = ?", user_id)
  if u then mail.queue{ template = template, to = u, vars = vars or {} } end
end

--- Confirms enrolment with the first code: 2-step is on from now, the code's step is used up.
--- Returns the ten recovery codes (shown once) or nil when the code is not right.
--- Call inside a transaction.
function M.confirm(user, code, req)
  local secret = M.pending_secret(user.id)
  if not secret then errors.conflict("Start setting up 2-step verification first.") end
  local step = totp.verify(secret, normalize_code(code), clock.now())
  if not step then return nil end
  db.exec("UPDATE user_totp SET confirmed_at = ?, last_step = ? WHERE user_id = ?", clock.now(), step, user.id)
  local codes = new_recovery_codes(user.id)
  audit.record{ action = "twostep.enable", actor = user, req = req, target_type = "user", target_id = user.id,
    target_label = user.email }
  events.fire("account.twostep_enabled", { person_id = user.id })
  mail_owner(user.id, "security.twostep_on")
  return codes
end

-- ------------------------------------------------------------------ checking

--- Checks a TOTP code for an enrolled user: accepted once per time step, one step either way.
--- Returns true (and uses the step up) or false. Call inside a transaction.
function M.check_code(user_id, code)
  local row = db.row("SELECT secret_enc, last_step FROM user_totp WHERE user_id = ? AND confirmed_at IS NOT NULL",
    user_id)
  if not row then return false end
  local step = totp.verify(open_secret(user_id, row.secret_enc), normalize_code(code), clock.now())
  if not step or step <= row.last_step then return false end
  -- the compare-and-set makes a code used by two requests at once count only once
  local n = db.exec("UPDATE user_totp SET last_step = ? WHERE user_id = ? AND last_step < ?", step, user_id, step)
  return n == 1
end

--- Uses up a recovery code. Returns true when it was one of the user's unused codes.
--- Call inside a transaction.
function M.use_recovery_code(user_id, code)
  code = normalize_code(code)
  if not code or #code ~= 12 or code:find("[^%w]") then return false end
  local n = db.exec("UPDATE recovery_codes SET used_at = ? WHERE user_id = ? AND code_hash = ? AND used_at IS NULL",
    clock.now(), user_id, recovery_hash(user_id, code))
  return n == 1
end

--- How many unused recovery codes user has.
function M.recovery_codes_left(user_id)
  return db.value("SELECT count(*) FROM recovery_codes WHERE user_id = ? AND used_at IS NULL", user_id)
end

--- A code from the app (6 digits) or a recovery code: returns "totp", "recovery_code" or nil.
function M.check_any(user_id, code, recovery_code)
  if type(recovery_code) == "string" and recovery_code ~= "" then
    return M.use_recovery_code(user_id, recovery_code) and "recovery_code" or nil
  end
  local c = normalize_code(code)
  if c and #c == 12 and not c:match("^%d+$") then
    return M.use_recovery_code(user_id, c) and "recovery_code" or nil
  end
  return M.check_code(user_id, code) and "totp" or nil
end

-- ------------------------------------------------------------------ remembered browsers

--- Remembers this browser for user for 30 days (adds its token to the trust cookie).
function M.remember_browser(user_id, req, res, secure)
  local token = crypto.token(32)
  db.exec("INSERT INTO trusted_browsers(token_hash, user_id, created_at, expires_at) VALUES(?,?,?,?)",
    db.blob(crypto.sha256("trusted:" .. token)), user_id, clock.now(), clock.now() + M.TRUST_DAYS * 86400)
  local list = { token }
  for _, t in ipairs(trust_tokens(req)) do if #list < 5 then list[#list + 1] = t end end
  web.add_header(res, "Set-Cookie", web.cookie_header(M.TRUST_COOKIE, table.concat(list, "."),
    { secure = secure, max_age = M.TRUST_DAYS * 86400 }))
end

--- Forgets every remembered browser of user; returns how many there were.
function M.forget_browsers(user_id)
  return db.exec("DELETE FROM trusted_browsers WHERE user_id = ?", user_id)
end

function M.trusted_count(user_id)
  return db.value("SELECT count(*) FROM trusted_browsers WHERE user_id = ? AND expires_at > ?", user_id, clock.now())
end

-- ------------------------------------------------------------------ proof and turning off

--- Raises 409 when user cannot turn 2-step verification off (it is off, or required).
function M.check_may_disable(user_id)
  if not M.enrolled(user_id) then errors.conflict("2-step verification is off already.") end
  if M.must_enrol(user_id) then
    errors.conflict("Your role requires 2-step verification, so it cannot be turned off. To move it to a new "
      .. "phone, choose \"Set up a new authenticator\".")
  end
end

--- Turns 2-step verification off for user (the caller checked the proof), in a transaction.
--- Refused when an admin setting obliges them to use it, unless opts.replacing (a new
--- authenticator follows).
function M.disable(user, req, opts)
  opts = opts or {}
  db.transaction(function()
    if not opts.replacing then M.check_may_disable(user.id) end
    db.exec("DELETE FROM user_totp WHERE user_id = ?", user.id)
    db.exec("DELETE FROM recovery_codes WHERE user_id = ?", user.id)
    M.forget_browsers(user.id)
    audit.record{ action = opts.replacing and "twostep.reset" or "twostep.disable", actor = user, req = req,
      target_type = "user", target_id = user.id, target_label = user.email, details = { proof = opts.proof } }
    events.fire("account.twostep_disabled", { person_id = user.id, replacing = opts.replacing and true or false })
    mail_owner(user.id, opts.replacing and "security.twostep_reset" or "security.twostep_off")
  end)
end

--- Moves 2-step verification to a new authenticator (the caller checked the proof): the old
--- one stops working and the setup of a new one begins, in one transaction.
function M.replace(user, req, proof)
  db.transaction(function()
    M.disable(user, req, { proof = proof, replacing = true })
    M.begin(user.id)
  end)
end

--- New recovery codes (the old ones stop working), in a transaction.
function M.regenerate_recovery_codes(user, req)
  return db.transaction(function()
    if not M.enrolled(user.id) then errors.conflict("Turn on 2-step verification first.") end
    local codes = new_recovery_codes(user.id)
    audit.record{ action = "twostep.recovery_codes", actor = user, req = req, target_type = "user",
      target_id = user.id, target_label = user.email }
    return codes
  end)
end

function M.init()
  settings.define("security.require_2fa_for_admins", { type = "boolean", default = false,
    description = "Everyone holding an admin role must use 2-step verification." })
  mail.define_template("security.twostep_on", {
    description = "Sent when someone turns on 2-step verification for their account.",
    subject = "2-step verification is on for your Candor account",
    text = "Hello {{first_name}},\n\n2-step verification is now on for your Candor account: signing in asks for a "
      .. "code from your authenticator app.\n\nIf this was not you, tell your Tech Admin at once.",
    vars = {} })
  mail.define_template("security.twostep_off", {
    description = "Sent when someone turns off 2-step verification for their account.",
    subject = "2-step verification was turned off for your Candor account",
    text = "Hello {{first_name}},\n\n2-step verification was turned off for your Candor account.\n\n"
      .. "If this was not you, change your password and tell your Tech Admin at once.",
    vars = {} })
  mail.define_template("security.twostep_reset", {
    description = "Sent when someone starts moving 2-step verification to a new authenticator app.",
    subject = "Your Candor 2-step verification is being moved to a new authenticator",
    text = "Hello {{first_name}},\n\nYour previous authenticator app no longer works for Candor; a new one is being "
      .. "set up.\n\nIf this was not you, change your password and tell your Tech Admin at once.",
    vars = {} })
end

return M
