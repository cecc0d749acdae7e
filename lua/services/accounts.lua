-- Passwords: policy (minimum length set by a Tech Admin, at least 64 characters accepted,
-- no composition rules, common passwords refused), setting them, and single-use links for
-- invitations (7 days) and resets (1 hour).
local db = require "lib.db"
local crypto = require "core.crypto"
local clock = require "core.clock"
local errors = require "lib.errors"
local events = require "lib.events"
local util = require "lib.util"
local settings = require "services.settings"
local access = require "services.access"
local audit = require "services.audit"
local mail = require "services.mail"
local sessions = require "services.sessions"
local signin = require "services.signin"

local M = {}

M.MAX_LENGTH = 256 -- accept long passphrases; argon2 takes any length, this only bounds work

-- The most common passwords (from public breach corpora), lower-case; with a length >= 8 they
-- are the ones a minimum length alone does not stop.
local COMMON = {}
for w in ([[password password1 password12 password123 password1234 passw0rd p@ssw0rd p@ssword
  12345678 123456789 1234567890 12345678910 qwertyuiop qwerty123 qwerty1234 1q2w3e4r5t 1qaz2wsx3edc
  iloveyou123 sunshine123 princess123 football123 baseball123 welcome123 welcome1234 letmein123
  admin12345 administrator changeme123 trustno1234 starwars123 superman123 dragon1234 master1234
  monkey12345 abc123456789 aa12345678 11111111111 000000000000 987654321 qwertyuiop123 asdfghjkl
  asdfghjkl123 zxcvbnm123 passwordpassword letmeinplease correcthorsebatterystaple candor1234
  candorpassword performance review12345 secret1234 summer2024 summer2025 summer2026 winter2025
  winter2026 spring2026 autumn2026 company123 welcome2026 password2026 password2025]]):gmatch("%S+") do
  COMMON[w] = true
end

--- Whether pw may be user's password: true, or nil, err (err.code "empty", "not_text",
--- "too_short", "too_long", "too_common", "repeated" or "personal"; err.message says why).
function M.check_password(pw, user)
  local function weak(code, message) return nil, { code = code, message = message } end
  if type(pw) ~= "string" or pw == "" then return weak("empty", "Enter a password.") end
  local len = utf8.len(pw)
  if not len then return weak("not_text", "The password must be valid text.") end
  local min = settings.get("security.password_min_length")
  if len < min then
    return weak("too_short", ("Use at least %d characters (a passphrase of a few words works well)."):format(min))
  end
  if len > M.MAX_LENGTH then return weak("too_long", ("Use at most %d characters."):format(M.MAX_LENGTH)) end
  local lower = util.lower(pw)
  if COMMON[lower] or COMMON[lower:gsub("%d+$", "")] then
    return weak("too_common", "This password is too common; attackers try it first. Choose another.")
  end
  if lower:match("^(.)%1*$") then return weak("repeated", "A password of one repeated character is too easy to guess.") end
  if user then
    local local_part = (user.email or ""):match("^([^@]+)"):lower()
    if lower == (user.email or ""):lower() or lower == local_part or lower == util.lower(user.name or "") then
      return weak("personal", "The password must not be your name or email.")
    end
  end
  return true
end

--- Sets a password (hashing off the event loop). Must not be called inside a transaction.
function M.set_password(user_id, pw)
  local hash = assert(crypto.hash_password(pw))
  db.transaction(function()
    db.exec("UPDATE users SET password_hash = ?, status = CASE status WHEN 'invited' THEN 'active' ELSE status END,"
      .. " updated_at = ? WHERE id = ?", hash, clock.now(), user_id)
    db.exec("UPDATE password_resets SET used_at = ? WHERE user_id = ? AND used_at IS NULL", clock.now(), user_id)
    access.sync(user_id) -- an invited person is active from now on
  end)
end

--- Changes a signed-in person's own password: the current one is required (throttled like
--- 2-step codes); every other session of theirs ends. Must not be called inside a transaction.
--- keep_session_id: the session that stays signed in (the caller gives it a new token).
function M.change_own_password(user, current, new, req, keep_session_id)
  if type(current) ~= "string" or current == "" then errors.invalid({ current_password = "Enter your current password." }) end
  if not signin.check_own_password(user.id, current) then
    errors.invalid({ current_password = "This is not your current password." })
  end
  local ok, weak = M.check_password(new, user)
  if not ok then errors.invalid({ password = weak.message }) end
  if new == current then errors.invalid({ password = "Choose a password different from the current one." }) end
  M.set_password(user.id, new)
  db.transaction(function()
    sessions.end_all(user.id, keep_session_id)
    audit.record{ action = "password.change", actor = user, req = req, target_type = "user", target_id = user.id,
      target_label = user.email }
    events.fire("account.password_changed", { person_id = user.id, actor_id = user.id })
    mail.queue{ template = "security.password_changed", to = user, vars = {} }
  end)
end

--- An HR Admin sets someone's password (users.set_password; the caller checked it). Their
--- sessions end; 2-step verification stays as it was. Must not be called inside a transaction.
function M.set_password_by_admin(actor, target, pw, req)
  local ok, weak = M.check_password(pw, target)
  if not ok then errors.invalid({ password = weak.message }) end
  M.set_password(target.id, pw)
  db.transaction(function()
    db.exec("DELETE FROM sessions WHERE user_id = ?", target.id)
    audit.record{ action = "password.set_by_admin", actor = actor, req = req, target_type = "user",
      target_id = target.id, target_label = target.email }
    events.fire("account.password_changed", { person_id = target.id, actor_id = actor.id })
    mail.queue{ template = "security.password_changed", to = target, vars = {} }
  end)
end

local function token_hash(token) return crypto.sha256("reset:" .. token) end

--- Creates a single-use link token for user; kind "invite" (7 days) or "reset" (1 hour).
function M.new_link_token(user_id, kind, created_by)
  local token = crypto.token(32)
  local ttl = kind == "invite" and 7 * 86400 or 3600
  db.insert("INSERT INTO password_resets(token_hash, user_id, created_at, expires_at, created_by) VALUES(?,?,?,?,?)",
    db.blob(token_hash(token)), user_id, clock.now(), clock.now() + ttl, created_by)
  return token
end

function M.base_url()
  return (settings.get("server.public_url") or "http://127.0.0.1:8080"):gsub("/+$", "")
end

--- The link in an invitation mail.
function M.invitation_link(user, actor)
  return M.base_url() .. "/password/set?token=" .. M.new_link_token(user.id, "invite", actor and actor.id)
end

--- The user a link token belongs to (valid, unused, not expired), or nil.
function M.check_link_token(token)
  if type(token) ~= "string" or #token < 20 or #token > 100 then return nil end
  local r = db.row([[SELECT r.id, r.user_id, u.status FROM password_resets r JOIN users u ON u.id = r.user_id
    WHERE r.token_hash = ? AND r.used_at IS NULL AND r.expires_at > ?]], db.blob(token_hash(token)), clock.now())
  if not r or r.status == "deactivated" or r.status == "locked" then return nil end
  return r
end

--- Uses a link token to set a new password; returns the user id or raises.
function M.use_link_token(token, pw, req)
  local r = M.check_link_token(token)
  if not r then errors.raise(410, "link_expired", "This link has expired or was used already. Ask for a new one.") end
  local user = db.row("SELECT id, email, name FROM users WHERE id = ?", r.user_id)
  local ok, weak = M.check_password(pw, user)
  if not ok then errors.invalid({ password = weak.message }) end
  M.set_password(r.user_id, pw)
  db.transaction(function()
    db.exec("DELETE FROM sessions WHERE user_id = ?", r.user_id) -- a new password ends old sessions
    audit.record{ action = "password.set_by_link", actor_id = r.user_id, actor_label = user.email, req = req,
      target_type = "user", target_id = r.user_id, target_label = user.email }
    events.fire("account.password_changed", { person_id = r.user_id, actor_id = r.user_id })
  end)
  return r.user_id
end

--- "Forgot password": queues the reset mail when the email belongs to an account that can
--- sign in. Always answers the same way so it tells nobody whether an account exists.
function M.request_reset(email, req, created_by)
  local u = db.row("SELECT id, email, name, status, kind FROM users WHERE email = ?", email or "")
  if not u or u.status == "deactivated" or u.status == "locked" then return end
  db.transaction(function()
    local recent = db.value("SELECT count(*) FROM password_resets WHERE user_id = ? AND created_at > ?",
      u.id, clock.now() - 3600)
    if recent >= 5 then return end -- no mail bombing
    local token = M.new_link_token(u.id, "reset", created_by)
    mail.queue{ template = "password.reset", to = u,
      vars = { link = M.base_url() .. "/password/set?token=" .. token }, related_type = "user", related_id = u.id }
    audit.record{ action = created_by and "password.reset_sent" or "password.reset_requested",
      actor_id = created_by, actor_label = created_by and nil or u.email, req = req,
      target_type = "user", target_id = u.id, target_label = u.email }
  end)
end

function M.init()
  mail.define_template("security.password_changed", {
    description = "Sent when the password of an account changes (by its owner or an HR Admin).",
    subject = "Your Candor password was changed",
    text = "Hello {{first_name}},\n\nThe password of your Candor account was just changed.\n\n"
      .. "If this was not you or your HR team, ask for a reset at once and tell your Tech Admin.",
    vars = {} })
  settings.define("security.password_min_length", { type = "integer", default = 10, between = { 10, 64 },
    description = "Minimum password length (10 or more; longer passphrases are always accepted)." })
  settings.define("server.public_url", { type = "string", default = "http://127.0.0.1:8080", len_max = 200,
    description = "The address people use to reach Candor (used in links in mails and for same-origin checks).",
    custom_validator = function(v)
      if v:match("^https?://[%w%.%-]+/?$") or v:match("^https?://[%w%.%-]+:%d+/?$") then return true end
      return false, "must look like https://candor.example.com"
    end })
end

return M
