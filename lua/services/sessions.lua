-- Sign-in and sessions: password check off the event loop, throttling with growing delays,
-- session cookies (only a hash stored), idle and absolute timeouts, a changed browser signs in
-- again, CSRF tokens with a same-origin check, API tokens for integrations, IP restrictions
-- and trusted proxies. The 2-step step and impersonation hang on the same session rows.
local db = require "lib.db"
local web = require "lib.web"
local ip = require "lib.ip"
local json = require "lib.json"
local errors = require "lib.errors"
local crypto = require "core.crypto"
local clock = require "core.clock"
local settings = require "services.settings"
local audit = require "services.audit"

local M = {}

M.COOKIE = "candor_session"
M.DEVICE_COOKIE = "candor_device"
local SIGNIN_FAILED = "The email or password is not right."

local function sha(s) return crypto.sha256(s) end

-- ------------------------------------------------------------------ client address

local trusted_proxies, allowed_ranges = {}, {}

local function load_ranges()
  trusted_proxies = ip.parse_list(settings.get("security.trusted_proxies")) or {}
  allowed_ranges = ip.parse_list(settings.get("security.ip_ranges")) or {}
end

--- The client's address: the peer, or X-Forwarded-For's nearest untrusted hop when the peer is
--- a trusted proxy. Also whether the original request was HTTPS.
function M.client(req)
  if req.client_ip then return req.client_ip, req.https end
  local addr, https = req.peer, false
  if #trusted_proxies > 0 and ip.in_any(trusted_proxies, addr) then
    local xff = req.headers["x-forwarded-for"]
    if xff then
      local hops = {}
      for h in xff:gmatch("[^,%s]+") do hops[#hops + 1] = h end
      for i = #hops, 1, -1 do
        addr = hops[i]
        if not ip.in_any(trusted_proxies, addr) then break end
      end
    end
    https = (req.headers["x-forwarded-proto"] or ""):lower() == "https"
  end
  req.client_ip, req.https = addr, https
  return addr, https
end

--- Whether addr may use Candor under the IP restrictions (no list: everyone).
function M.ip_allowed(addr, ranges)
  ranges = ranges or allowed_ranges
  if #ranges == 0 then return true end
  return ip.in_any(ranges, addr)
end

local function secure_cookies(req)
  local _, https = M.client(req)
  return https or settings.get("security.secure_cookies")
end

-- ------------------------------------------------------------------ throttling

local FREE_FAILURES = { account = 5, device = 5, ip = 20 }
local MAX_DELAY = 15 * 60

local function throttle_row(scope, key)
  return db.row("SELECT failures, locked_until FROM signin_throttle WHERE scope = ? AND key = ?", scope, key)
end

--- Seconds until scope/key may try again (0 when it may now).
local function wait_for(scope, key)
  local r = throttle_row(scope, key)
  if not r then return 0 end
  return math.max(0, r.locked_until - clock.now())
end

local function record_failure(scope, key)
  local now = clock.now()
  local r = throttle_row(scope, key)
  local failures = (r and r.failures or 0) + 1
  local over = failures - FREE_FAILURES[scope]
  local locked = 0
  if over > 0 then locked = now + math.min(MAX_DELAY, 15 * 2 ^ (over - 1)) end
  db.exec([[INSERT INTO signin_throttle(scope, key, failures, last_failure, locked_until) VALUES(?,?,?,?,?)
    ON CONFLICT(scope, key) DO UPDATE SET failures = excluded.failures, last_failure = excluded.last_failure,
    locked_until = excluded.locked_until]], scope, key, failures, now, math.floor(locked))
end

local function clear_failures(scope, key)
  db.exec("DELETE FROM signin_throttle WHERE scope = ? AND key = ?", scope, key)
end

-- A browser that signed in to an account before carries a device cookie for it; a flood of
-- wrong passwords from elsewhere then does not lock the real user out on their own browser.
local function device_value(email)
  return crypto.b64(crypto.hmac("device", email:lower()))
end

local function known_device(req, email)
  local v = web.cookie(req, M.DEVICE_COOKIE)
  if not v then return false end
  for token in v:gmatch("[^.]+") do
    if crypto.equal(token, device_value(email)) then return true end
  end
  return false
end

-- ------------------------------------------------------------------ sessions

local function load_user(id)
  local u = db.row([[SELECT id, email, name, job_title, department, location, manager_id, status, kind
    FROM users WHERE id = ?]], id)
  if not u then return nil end
  u.roles = db.column("SELECT role FROM user_roles WHERE user_id = ? ORDER BY role", id)
  u.role_set = {}
  for _, r in ipairs(u.roles) do u.role_set[r] = true end
  u.is_super = u.role_set.hr_admin and u.role_set.tech_admin or false
  return u
end
M.load_user = load_user

local function new_session(user_id, req, fields)
  local token = crypto.token(32)
  local now = clock.now()
  local addr = M.client(req)
  local max_h = settings.get("security.session_max_hours")
  local id = db.insert([[INSERT INTO sessions(token_hash, user_id, csrf_token, created_at, last_seen_at,
      expires_at, user_agent_hash, ip, second_factor, pending_2fa, impersonator_id)
      VALUES(?,?,?,?,?,?,?,?,?,?,?)]],
    db.blob(sha("session:" .. token)), user_id, crypto.token(24), now, now, now + max_h * 3600,
    db.blob(sha(req.headers["user-agent"] or "")), addr, fields.second_factor and 1 or 0,
    fields.pending_2fa and 1 or 0, fields.impersonator_id)
  return token, id
end

function M.cookie_for(req, token, max_age)
  return web.cookie_header(M.COOKIE, token, { secure = secure_cookies(req), max_age = max_age,
    same_site = "Lax" })
end

--- Starts a session for user and adds its cookie to res. fields: second_factor, pending_2fa,
--- impersonator_id. Returns the session row.
function M.start(req, res, user_id, fields)
  local token, id = new_session(user_id, req, fields or {})
  web.add_header(res, "Set-Cookie", M.cookie_for(req, token))
  return db.row("SELECT * FROM sessions WHERE id = ?", id)
end

--- Ends the session of this request and clears the cookie.
function M.finish(req, res)
  if req.session then db.exec("DELETE FROM sessions WHERE id = ?", req.session.id) end
  web.add_header(res, "Set-Cookie", M.cookie_for(req, "", 0))
end

--- Ends every session of a user (sign out everywhere, admin action, deactivation).
function M.end_all(user_id, except_id)
  db.exec("DELETE FROM sessions WHERE user_id = ? AND id IS NOT ?", user_id, except_id)
end

-- Finds the session for the cookie; checks lifetime, idle time and the browser.
local function session_from_cookie(req)
  local token = web.cookie(req, M.COOKIE)
  if not token or #token < 20 or #token > 100 then return nil end
  local s = db.row("SELECT * FROM sessions WHERE token_hash = ?", db.blob(sha("session:" .. token)))
  if not s then return nil end
  local now = clock.now()
  local idle = settings.get("security.session_idle_minutes") * 60
  if s.expires_at <= now or s.last_seen_at + idle <= now
    or not crypto.equal(s.user_agent_hash, sha(req.headers["user-agent"] or "")) then
    db.exec("DELETE FROM sessions WHERE id = ?", s.id)
    req.session_ended = true
    return nil
  end
  if now - s.last_seen_at >= 60 then
    db.exec("UPDATE sessions SET last_seen_at = ? WHERE id = ?", now, s.id)
    s.last_seen_at = now
  end
  if s.rotate == 1 then
    -- roles changed: same session, new token
    local fresh = crypto.token(32)
    db.exec("UPDATE sessions SET token_hash = ?, rotate = 0 WHERE id = ?", db.blob(sha("session:" .. fresh)), s.id)
    req.new_session_cookie = M.cookie_for(req, fresh)
  end
  return s
end

local function user_from_token(req)
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

--- The authenticate hook: user, session, via ("cookie" | "token").
function M.authenticate(req)
  local addr = M.client(req)
  if #allowed_ranges > 0 and req.path ~= "/healthz" and not M.ip_allowed(addr) then
    errors.forbidden("Candor cannot be used from your network (" .. addr .. "). Ask your Tech Admin.")
  end
  if req.headers.authorization then
    local uid, token = user_from_token(req)
    if uid then
      local u = load_user(uid)
      if not u or u.status ~= "active" or u.kind == "guest" then
        errors.unauthorized("The owner of this API token can no longer sign in.")
      end
      req.api_token = token
      return u, nil, "token"
    end
  end
  local s = session_from_cookie(req)
  if not s then return nil end
  local u = load_user(s.user_id)
  if not u or u.status ~= "active" then
    db.exec("DELETE FROM sessions WHERE id = ?", s.id)
    return nil
  end
  if s.pending_2fa == 1 then
    req.pending_session = s
    return nil
  end
  if s.impersonator_id then
    local imp = load_user(s.impersonator_id)
    s.impersonator = imp and { id = imp.id, name = imp.name, email = imp.email }
  end
  s.csrf = s.csrf_token
  return u, s, "cookie"
end

--- Refuses a state change that does not come from our own pages (Origin, else Referer).
function M.check_origin(req)
  local origin = req.headers.origin
  if not origin or origin == "null" then
    local ref = req.headers.referer
    origin = ref and ref:match("^(https?://[^/]+)")
  end
  if not origin then
    errors.forbidden("This request did not say where it came from (no Origin header); it was refused.")
  end
  local host = req.headers.host or ""
  local public = settings.get("server.public_url"):gsub("/+$", "")
  if origin ~= public and origin ~= "http://" .. host and origin ~= "https://" .. host then
    errors.forbidden("Requests from other sites are refused (cross-site request forgery protection).")
  end
end

--- For public state changes (sign-in, reset): a browser (it sends Origin) must be on our
--- origin; scripts without Origin are fine (they carry no ambient credentials).
function M.check_origin_if_browser(req)
  if req.headers.origin or req.headers.referer then M.check_origin(req) end
end

--- The CSRF hook: a same-origin Origin (or Referer) and the session's token in the
--- X-CSRF-Token header or the csrf_token form field.
function M.check_csrf(req)
  M.check_origin(req)
  local token = req.headers["x-csrf-token"]
  if not token then
    local ct = req.headers["content-type"] or ""
    if ct:find("application/x-www-form-urlencoded", 1, true) then token = web.form(req).csrf_token end
  end
  local expected = req.session and req.session.csrf_token or (req.pending_session and req.pending_session.csrf_token)
  if not token or not expected or not crypto.equal(token, expected) then
    errors.forbidden("The form is out of date (missing or wrong security token). Reload the page and try again.")
  end
end

-- ------------------------------------------------------------------ signing in

local dummy_hash

--- Checks email + password (waits for argon2id on the thread pool). Returns the user row, or
--- raises 401 with the same answer for a wrong email and a wrong password, 429 when throttled.
function M.verify_credentials(req, email, password)
  email = (type(email) == "string" and email or ""):lower():gsub("^%s+", ""):gsub("%s+$", "")
  password = type(password) == "string" and password or ""
  local addr = M.client(req)
  local device = known_device(req, email)
  local wait = math.max(wait_for("ip", addr), device and wait_for("device", email) or wait_for("account", email))
  if wait > 0 then
    errors.too_many(("Too many failed attempts. Try again in %s."):format(wait >= 90
      and (math.ceil(wait / 60) .. " minutes") or (math.ceil(wait) .. " seconds")), wait)
  end
  local u = db.row("SELECT id, email, name, status, kind, password_hash FROM users WHERE email = ?", email)
  local hash = u and u.password_hash or dummy_hash
  local ok = crypto.verify_password(hash, password:sub(1, 4096)) and u ~= nil and u.password_hash ~= nil
  if not ok then
    db.transaction(function()
      record_failure("ip", addr)
      record_failure(device and "device" or "account", email)
      audit.record{ action = "signin.failure", actor_id = u and u.id, actor_label = email:sub(1, 254),
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

--- Signs in after the password was right: starts a session (pending the 2-step code when the
--- person uses 2-step verification and this browser is not remembered). Returns the session,
--- and whether a code is needed.
function M.complete_signin(req, res, u)
  local twostep = require "services.twostep"
  local needs_code = twostep.required_for(u.id, req)
  local session
  db.transaction(function()
    clear_failures("account", u.email:lower())
    clear_failures("device", u.email:lower())
    clear_failures("ip", M.client(req))
    if u.status == "invited" then db.exec("UPDATE users SET status = 'active' WHERE id = ?", u.id) end
    session = M.start(req, res, u.id, { second_factor = not needs_code, pending_2fa = needs_code })
    audit.record{ action = needs_code and "signin.password_ok" or "signin.success", actor_id = u.id,
      actor_label = u.email, req = req, details = { via = req.api and "api" or "page" } }
  end)
  -- remember this browser for the account (device cookie), keeping others it already knows
  local cur = web.cookie(req, M.DEVICE_COOKIE)
  local mine = device_value(u.email)
  local list = {}
  for t in (cur or ""):gmatch("[^.]+") do if t ~= mine and #list < 4 then list[#list + 1] = t end end
  table.insert(list, 1, mine)
  web.add_header(res, "Set-Cookie", web.cookie_header(M.DEVICE_COOKIE, table.concat(list, "."),
    { secure = secure_cookies(req), max_age = 180 * 86400 }))
  return session, needs_code
end

-- ------------------------------------------------------------------ API tokens

--- Creates an API token for its creator; returns the token text (shown once) and the row id.
function M.create_api_token(actor, name, req)
  local token = "cnd_" .. crypto.token(32)
  local id = db.insert([[INSERT INTO api_tokens(name, token_hash, prefix, created_by, created_at)
    VALUES(?,?,?,?,?)]], name, db.blob(sha("api:" .. token)), token:sub(1, 10), actor.id, clock.now())
  audit.record{ action = "api_token.create", actor = actor, req = req, target_type = "api_token", target_id = id,
    target_label = name }
  return token, id
end

function M.revoke_api_token(actor, id, req)
  local t = db.row("SELECT id, name, revoked_at FROM api_tokens WHERE id = ?", id)
  if not t then errors.not_found("There is no such token.") end
  if t.revoked_at then return end
  db.exec("UPDATE api_tokens SET revoked_at = ? WHERE id = ?", clock.now(), id)
  audit.record{ action = "api_token.revoke", actor = actor, req = req, target_type = "api_token", target_id = id,
    target_label = t.name }
end

-- ------------------------------------------------------------------ setup

function M.init(app)
  settings.define("security.session_idle_minutes", { type = "integer", default = 30, min = 5, max = 24 * 60,
    description = "Sign people out after this many minutes without activity." })
  settings.define("security.session_max_hours", { type = "integer", default = 12, min = 1, max = 24 * 14,
    description = "Sign people out this many hours after they signed in, active or not." })
  settings.define("security.secure_cookies", { type = "boolean", default = false,
    description = "Always mark cookies Secure (turn on when Candor is only reached over HTTPS)." })
  settings.define("security.trusted_proxies", { type = "list", default = {},
    description = "Addresses (CIDR) of reverse proxies whose X-Forwarded-For and X-Forwarded-Proto are believed.",
    validate = function(list) local ok, err = ip.parse_list(list) return ok ~= nil, err end })
  settings.define("security.ip_ranges", { type = "list", default = {},
    description = "If set, Candor can only be used from these address ranges (CIDR, IPv4 and IPv6).",
    validate = function(list) local ok, err = ip.parse_list(list) return ok ~= nil, err end })
  settings.on_change("security.trusted_proxies", load_ranges)
  settings.on_change("security.ip_ranges", load_ranges)
  load_ranges()
  dummy_hash = crypto.hash_password(crypto.token(16))
  app.hooks.authenticate = M.authenticate
  app.hooks.check_csrf = M.check_csrf
  app.hooks.after_response = function(req, res)
    if req.new_session_cookie then web.add_header(res, "Set-Cookie", req.new_session_cookie) end
    if req.session_ended and not req.user and res.headers then
      web.add_header(res, "Set-Cookie", M.cookie_for(req, "", 0))
    end
  end
end

return M
