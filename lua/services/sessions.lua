-- Sign-in and sessions: password check off the event loop, throttling with growing delays,
-- session cookies (only a hash stored), idle and absolute timeouts, a changed browser signs in
-- again, CSRF tokens with a same-origin check, API tokens for integrations, IP restrictions
-- and trusted proxies, the company security settings, and impersonation. The 2-step step hangs
-- on the same session rows: a session is "pending" after the password until the code is given
-- (pending_2fa = 1) or, for people an admin setting obliges, until 2-step is set up (= 2).
local db = require "lib.db"
local web = require "lib.web"
local ip = require "lib.ip"
local errors = require "lib.errors"
local events = require "lib.events"
local util = require "lib.util"
local crypto = require "core.crypto"
local clock = require "core.clock"
local authz = require "core.authz"
local settings = require "services.settings"
local audit = require "services.audit"
local access = require "services.access"
local twostep = require "services.twostep"

local M = {}

M.COOKIE = "candor_session"
M.DEVICE_COOKIE = "candor_device"
M.PENDING_CODE, M.PENDING_ENROL = 1, 2
M.PENDING_TTL = 10 * 60 -- seconds to give the second step after the password
local SIGNIN_FAILED = "The email or password is not right."

local function sha(s) return crypto.sha256(s) end

-- ------------------------------------------------------------------ client address

local trusted_proxies, allowed_ranges = {}, {}

local function load_ranges()
  trusted_proxies = ip.parse_list(settings.get("security.trusted_proxies")) or {}
  allowed_ranges = ip.parse_list(settings.get("security.ip_ranges")) or {}
end

-- "::ffff:192.0.2.1" (an IPv4 client on a dual-stack socket) is the IPv4 address.
local function plain(addr)
  return type(addr) == "string" and addr:match("^::[fF][fF][fF][fF]:(%d+%.%d+%.%d+%.%d+)$") or addr
end

-- The client address and HTTPS flag of req when proxies (parsed ranges) are the trusted ones.
local function client_under(req, proxies)
  local addr, https = plain(req.peer), false
  if #proxies > 0 and ip.in_any(proxies, addr) then
    local xff = req.headers["x-forwarded-for"]
    if xff then
      local hops = {}
      for h in xff:gmatch("[^,%s]+") do hops[#hops + 1] = plain(h) end
      for i = #hops, 1, -1 do
        addr = hops[i]
        if not ip.in_any(proxies, addr) then break end
      end
    end
    https = (req.headers["x-forwarded-proto"] or ""):lower() == "https"
  end
  return addr, https
end

--- The client's address: the peer, or X-Forwarded-For's nearest untrusted hop when the peer is
--- a trusted proxy. Also whether the original request was HTTPS.
function M.client(req)
  if req.client_ip then return req.client_ip, req.https end
  local addr, https = client_under(req, trusted_proxies)
  req.client_ip, req.https = addr, https
  return addr, https
end

--- Whether addr may use Candor under the IP restrictions (no list: everyone).
function M.ip_allowed(addr, ranges)
  ranges = ranges or allowed_ranges
  if #ranges == 0 then return true end
  return ip.in_any(ranges, plain(addr))
end

local function secure_cookies(req)
  local _, https = M.client(req)
  return https or settings.get("security.secure_cookies")
end
M.secure_cookies = secure_cookies

-- ------------------------------------------------------------------ throttling

-- Failures allowed before delays start, per scope: an account (from browsers that never signed
-- in to it), an account on a browser that did ("device"), a client address, and 2-step codes
-- (or the password given to change 2-step settings) per user.
local FREE_FAILURES = { account = 5, device = 5, ip = 20, code = 5 }
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

local function wait_text(wait)
  return wait >= 90 and (math.ceil(wait / 60) .. " minutes") or (math.ceil(wait) .. " seconds")
end

--- Raises 429 while user_id must wait before trying another 2-step code (or password proof).
function M.check_code_throttle(user_id)
  local wait = wait_for("code", tostring(user_id))
  if wait > 0 then
    errors.too_many("Too many wrong codes. Try again in " .. wait_text(wait) .. ".", wait)
  end
end

--- Counts a wrong 2-step code (or wrong password proof) for user_id.
function M.code_failed(user_id) record_failure("code", tostring(user_id)) end

--- A right code: the count starts again.
function M.code_ok(user_id) clear_failures("code", tostring(user_id)) end

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

-- ------------------------------------------------------------------ sessions

local function load_user(id)
  local u = db.row([[SELECT id, email, name, job_title, department, location, manager_id, status, kind
    FROM users WHERE id = ?]], id)
  if not u then return nil end
  u.roles = access.roles(id) -- the evaluator holds them: no query
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
  local expires = now + settings.get("security.session_max_hours") * 3600
  if fields.pending_2fa then expires = now + M.PENDING_TTL end
  if fields.expires_at and fields.expires_at < expires then expires = fields.expires_at end
  local id = db.insert([[INSERT INTO sessions(token_hash, user_id, csrf_token, created_at, last_seen_at,
      expires_at, user_agent_hash, ip, second_factor, pending_2fa, impersonator_id)
      VALUES(?,?,?,?,?,?,?,?,?,?,?)]],
    db.blob(sha("session:" .. token)), user_id, crypto.token(24), now, now, expires,
    db.blob(sha(req.headers["user-agent"] or "")), addr, fields.second_factor and 1 or 0,
    fields.pending_2fa or 0, fields.impersonator_id)
  return token, id
end

function M.cookie_for(req, token, max_age)
  return web.cookie_header(M.COOKIE, token, { secure = secure_cookies(req), max_age = max_age,
    same_site = "Lax" })
end

--- Starts a session for user and adds its cookie to res. fields: second_factor, pending_2fa
--- (M.PENDING_CODE | M.PENDING_ENROL), impersonator_id, expires_at (a cap). Returns the row.
function M.start(req, res, user_id, fields)
  local token, id = new_session(user_id, req, fields or {})
  web.add_header(res, "Set-Cookie", M.cookie_for(req, token))
  return db.row("SELECT * FROM sessions WHERE id = ?", id)
end

--- Ends the session of this request (or the pending one) and clears the cookie.
function M.finish(req, res)
  local s = req.session or req.pending_session
  if s then
    db.exec("DELETE FROM sessions WHERE id = ?", s.id)
    events.fire("session.signed_out", { person_id = s.user_id })
  end
  web.add_header(res, "Set-Cookie", M.cookie_for(req, "", 0))
end

--- Ends every session of a user (sign out everywhere, admin action, deactivation), except
--- the one with id except_id when given.
function M.end_all(user_id, except_id)
  db.exec("DELETE FROM sessions WHERE user_id = ? AND id IS NOT ?", user_id, except_id)
  events.fire("session.all_ended", { person_id = user_id, kept_one = except_id ~= nil })
end

--- Gives the request's session a new token (after a password change), keeping it signed in.
function M.renew(req, res)
  if not req.session then return end
  local fresh = crypto.token(32)
  db.exec("UPDATE sessions SET token_hash = ?, rotate = 0 WHERE id = ?", db.blob(sha("session:" .. fresh)), req.session.id)
  web.add_header(res, "Set-Cookie", M.cookie_for(req, fresh))
end

--- The signed-in sessions of a user, newest first (for the account page).
function M.list_for(user_id)
  return db.query([[SELECT id, created_at, last_seen_at, expires_at, ip, impersonator_id FROM sessions
    WHERE user_id = ? AND pending_2fa = 0 AND expires_at > ? ORDER BY last_seen_at DESC, id DESC]],
    user_id, clock.now())
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

--- The authenticate hook: user, session, via ("cookie" | "token"). A session waiting for its
--- second step gives no user; it is left in req.pending_session (with req.pending_user).
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
  if s.pending_2fa ~= 0 then
    req.pending_session, req.pending_user = s, u
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
    if ct:lower():find("multipart/form-data", 1, true) then token = web.multipart(req).fields.csrf_token end
  end
  local expected = req.session and req.session.csrf_token or (req.pending_session and req.pending_session.csrf_token)
  if not token or not expected or not crypto.equal(token, expected) then
    errors.forbidden("The form is out of date (missing or wrong security token). Reload the page and try again.")
  end
end

--- The pending session of this request in the given state (M.PENDING_CODE or M.PENDING_ENROL),
--- with its CSRF checked for state changes; raises 401 when there is none.
function M.require_pending(req, state)
  local s = req.pending_session
  if not s or (state and s.pending_2fa ~= state) then
    errors.raise(401, "no_pending_signin", "Sign in with your email and password first (the sign-in may have "
      .. "taken longer than " .. (M.PENDING_TTL // 60) .. " minutes).")
  end
  if req.method ~= "GET" and req.method ~= "HEAD" then M.check_csrf(req) end
  return s, req.pending_user
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
    errors.too_many("Too many failed attempts. Try again in " .. wait_text(wait) .. ".", wait)
  end
  local u = db.row("SELECT id, email, name, status, kind, password_hash FROM users WHERE email = ?", email)
  local hash = u and u.password_hash or dummy_hash
  local ok = crypto.verify_password(hash, password:sub(1, 4096)) and u ~= nil and u.password_hash ~= nil
  if not ok then
    db.transaction(function()
      record_failure("ip", addr)
      record_failure(device and "device" or "account", email)
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
  M.check_code_throttle(user_id)
  local hash = db.value("SELECT password_hash FROM users WHERE id = ?", user_id)
  local ok = type(password) == "string" and password ~= ""
    and crypto.verify_password(hash or dummy_hash, password:sub(1, 4096)) and hash ~= nil
  db.transaction(function()
    if ok then M.code_ok(user_id) else M.code_failed(user_id) end
  end)
  return ok and true or false
end

--- Checks proof that the person at the keyboard is the account's owner before a 2-step change:
--- a current code (or recovery code) when 2-step is on, or the password. Throttled. Raises 422
--- naming the field when the proof is wrong, 429 when throttled. Waits (argon2id): call
--- outside a transaction.
function M.require_proof(user, input)
  M.check_code_throttle(user.id)
  local code, password = input.code, input.password
  if type(code) == "string" and code:match("%S") and twostep.enrolled(user.id) then
    local ok = db.transaction(function()
      local how = twostep.check_any(user.id, code)
      if how then M.code_ok(user.id) else M.code_failed(user.id) end
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
--- session and the pending state (nil, M.PENDING_CODE or M.PENDING_ENROL).
function M.complete_signin(req, res, u)
  local pending
  if twostep.required_for(u.id, req) then
    pending = M.PENDING_CODE
  elseif not twostep.enrolled(u.id) and twostep.must_enrol(u.id) then
    pending = M.PENDING_ENROL
  end
  local session
  db.transaction(function()
    clear_failures("account", u.email:lower())
    clear_failures("device", u.email:lower())
    clear_failures("ip", M.client(req))
    if u.status == "invited" then db.exec("UPDATE users SET status = 'active' WHERE id = ?", u.id) end
    session = M.start(req, res, u.id, { second_factor = pending == nil, pending_2fa = pending })
    if pending == M.PENDING_ENROL then twostep.begin(u.id, { keep = true }) end
    audit.record{ action = pending and "signin.password_ok" or "signin.success", actor_id = u.id,
      actor_label = u.email, req = req, details = { via = req.route and req.route.api and "api" or "page",
        next_step = pending == M.PENDING_CODE and "code" or pending == M.PENDING_ENROL and "enrol" or nil } }
    if not pending then events.fire("session.signed_in", { person_id = u.id, second_step = false }) end
  end)
  -- remember this browser for the account (device cookie), keeping others it already knows
  local cur = web.cookie(req, M.DEVICE_COOKIE)
  local mine = device_value(u.email)
  local list = {}
  for t in (cur or ""):gmatch("[^.]+") do if t ~= mine and #list < 4 then list[#list + 1] = t end end
  table.insert(list, 1, mine)
  web.add_header(res, "Set-Cookie", web.cookie_header(M.DEVICE_COOKIE, table.concat(list, "."),
    { secure = secure_cookies(req), max_age = 180 * 86400 }))
  return session, pending
end

--- The second step is done (a code, a recovery code, or 2-step just set up): the pending
--- session is replaced by a full one with a new token. Call inside a transaction.
function M.finish_second_step(req, res, how)
  local p = req.pending_session
  db.exec("DELETE FROM sessions WHERE id = ?", p.id)
  local s = M.start(req, res, p.user_id, { second_factor = true })
  local u = req.pending_user
  audit.record{ action = "signin.success", actor_id = u.id, actor_label = u.email, req = req,
    details = { second_step = how } }
  events.fire("session.signed_in", { person_id = u.id, second_step = true })
  return s
end

-- ------------------------------------------------------------------ impersonation

--- Why actor may not impersonate target, or nil when they may.
function M.impersonation_problem(actor, session, target)
  if not session then return "Impersonation needs a signed-in browser session." end
  if session.impersonator_id then return "You are impersonating someone already: end that first." end
  if not access.can(actor, "admin.impersonate") then return "You do not have permission to impersonate people." end
  if target.id == actor.id then return "You cannot impersonate yourself." end
  local t = load_user(target.id)
  if t.is_super then return "Super users (HR Admin + Tech Admin) cannot be impersonated." end
  if t.kind == "guest" then return "Guests cannot be impersonated." end
  if t.status ~= "active" then return "Only active people can be impersonated." end
  if authz.relation(actor.id, target.id) == "above" then
    return "Nobody can impersonate a person above them in their own reporting line."
  end
  return nil
end

--- Starts a session as target for the impersonating actor; their own session ends (a new one
--- starts when the impersonation ends). Call inside a transaction.
function M.start_impersonation(req, res, target)
  local actor, own = req.user, req.session
  local problem = M.impersonation_problem(actor, own, target)
  if problem then errors.forbidden(problem) end
  db.exec("DELETE FROM sessions WHERE id = ?", own.id)
  local s = M.start(req, res, target.id, { second_factor = true, impersonator_id = actor.id,
    expires_at = own.expires_at })
  audit.record{ action = "impersonation.start", actor = actor, req = req, target_type = "user",
    target_id = target.id, target_label = target.email }
  events.fire("impersonation.started", { person_id = target.id, actor_id = actor.id })
  return s
end

--- Ends the impersonation of this request: back to a session of the impersonator. Returns
--- the impersonator and the person who was impersonated. Call inside a transaction.
function M.end_impersonation(req, res)
  local s = req.session
  if not s or not s.impersonator_id then errors.conflict("You are not impersonating anyone.") end
  local target = req.user
  local imp = load_user(s.impersonator_id)
  db.exec("DELETE FROM sessions WHERE id = ?", s.id)
  audit.record{ action = "impersonation.end", actor_id = s.impersonator_id,
    actor_label = imp and imp.email or "deleted user", req = req, target_type = "user", target_id = target.id,
    target_label = target.email }
  events.fire("impersonation.ended", { person_id = target.id, actor_id = s.impersonator_id })
  if not imp or imp.status ~= "active" then
    web.add_header(res, "Set-Cookie", M.cookie_for(req, "", 0))
    return nil, target
  end
  M.start(req, res, imp.id, { second_factor = true, expires_at = s.expires_at })
  return imp, target
end

-- Every change made in an impersonated session is logged in both people's names: while such a
-- request runs (its task), each event fired inside a transaction — every change announces itself
-- (docs/events.md) — is noted once that transaction has committed, and the request ends with one
-- audit entry "impersonation.change" in the person's name, with the impersonator, the request and
-- the changes (event names and ids; never content). Changes that rolled back leave nothing.
local impersonated = setmetatable({}, { __mode = "k" }) -- task coroutine -> req
M.CHANGES_LISTED = 50

local function note_change(data, name)
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

--- Raises 403 when the request acts in an impersonated session (what may not be changed then:
--- the person's password, 2-step setup, API tokens).
function M.refuse_impersonated(req, what)
  if req.session and req.session.impersonator_id then
    errors.forbidden((what or "This") .. " cannot be changed while impersonating someone.")
  end
end

-- ------------------------------------------------------------------ API tokens

--- Creates an API token for its creator; returns the token text (shown once) and the row id.
function M.create_api_token(actor, name, req)
  local token = "cnd_" .. crypto.token(32)
  local id = db.insert([[INSERT INTO api_tokens(name, token_hash, prefix, created_by, created_at)
    VALUES(?,?,?,?,?)]], name, db.blob(sha("api:" .. token)), token:sub(1, 10), actor.id, clock.now())
  audit.record{ action = "api_token.create", actor = actor, req = req, target_type = "api_token", target_id = id,
    target_label = name }
  events.fire("api_token.created", { token_id = id, actor_id = actor.id })
  return token, id
end

function M.revoke_api_token(actor, id, req)
  local t = db.row("SELECT id, name, revoked_at FROM api_tokens WHERE id = ?", id)
  if not t then errors.not_found("There is no such token.") end
  if t.revoked_at then return end
  db.exec("UPDATE api_tokens SET revoked_at = ? WHERE id = ?", clock.now(), id)
  audit.record{ action = "api_token.revoke", actor = actor, req = req, target_type = "api_token", target_id = id,
    target_label = t.name }
  events.fire("api_token.revoked", { token_id = id, actor_id = actor.id })
end

--- API tokens with their creators, newest first; revoked ones only when include_revoked.
function M.list_api_tokens(include_revoked)
  return db.query([[SELECT t.id, t.name, t.prefix, t.created_by, u.name AS creator_name, u.email AS creator_email,
      t.created_at, t.last_used_at, t.revoked_at
    FROM api_tokens t LEFT JOIN users u ON u.id = t.created_by
    WHERE ? OR t.revoked_at IS NULL ORDER BY t.created_at DESC, t.id DESC]], include_revoked and 1 or 0)
end

-- ------------------------------------------------------------------ security settings

-- The company security settings as the page and the API name them.
M.SETTINGS = {
  { name = "ip_ranges", key = "security.ip_ranges" },
  { name = "trusted_proxies", key = "security.trusted_proxies" },
  { name = "max_connections_per_address", key = "http.max_connections_per_address" },
  { name = "password_min_length", key = "security.password_min_length" },
  { name = "session_idle_minutes", key = "security.session_idle_minutes" },
  { name = "session_max_hours", key = "security.session_max_hours" },
  { name = "require_2fa_for_admins", key = "security.require_2fa_for_admins" },
  { name = "secure_cookies", key = "security.secure_cookies" },
}

--- The current values: { ip_ranges = {...}, ... }.
function M.security_settings()
  local out = {}
  for _, s in ipairs(M.SETTINGS) do out[s.name] = settings.get(s.key) end
  return out
end

-- Lists may come as text (one per line, or separated by commas or spaces).
local function as_list(v)
  if type(v) ~= "string" then return v end
  local out = {}
  for item in v:gmatch("[^%s,;]+") do out[#out + 1] = item end
  return out
end

local function same(a, b)
  if type(a) == "table" and type(b) == "table" then
    if #a ~= #b then return false end
    for i = 1, #a do if a[i] ~= b[i] then return false end end
    return true
  end
  return a == b
end

--- Saves the security settings given in input (names as in M.SETTINGS; absent ones stay).
--- Everything is checked first: 422 with a message per field; a list of allowed ranges that
--- would shut out the person saving it is refused, as is "secure cookies" over plain HTTP.
--- Returns the changes { name = { from=, to= } }. Call inside a transaction.
function M.save_security_settings(actor, input, req)
  local values, problems, changed = {}, {}, {}
  for _, s in ipairs(M.SETTINGS) do
    local v = input[s.name]
    if v ~= nil then
      if s.name == "ip_ranges" or s.name == "trusted_proxies" then v = as_list(v) end
      local checked, msg = settings.check(s.key, v)
      if checked == nil then problems[s.name] = msg:gsub("^%l", string.upper) .. "." else values[s.name] = checked end
    end
  end
  if next(problems) then errors.invalid(problems) end
  local ranges = ip.parse_list(values.ip_ranges or settings.get("security.ip_ranges"))
  local proxies = ip.parse_list(values.trusted_proxies or settings.get("security.trusted_proxies"))
  local addr, https = client_under(req, proxies)
  if #ranges > 0 and not ip.in_any(ranges, addr) then
    errors.invalid({ ip_ranges = ("This list would lock you out: you are connecting from %s, which is not in "
      .. "any of these ranges. Add your address (e.g. %s) or a range that contains it."):format(addr,
        addr .. (addr:find(":", 1, true) and "/128" or "/32")) })
  end
  if values.secure_cookies == true and not settings.get("security.secure_cookies") and not https then
    errors.invalid({ secure_cookies = "You are connected over plain HTTP: browsers would not send Secure cookies "
      .. "back and you could not stay signed in. Turn this on from an HTTPS address." })
  end
  for _, s in ipairs(M.SETTINGS) do
    local v = values[s.name]
    if v ~= nil then
      local before = settings.get(s.key)
      if not same(before, v) then
        settings.set(s.key, v, actor.id)
        changed[s.name] = { from = before, to = v }
      end
    end
  end
  if next(changed) then
    audit.record{ action = "settings.security", actor = actor, req = req, details = { changed = changed } }
  end
  return changed
end

-- ------------------------------------------------------------------ setup

function M.init(app)
  settings.define("security.device_secret", { type = "string", default = "", len_max = 100,
    description = "Internal: the secret that keys the browsers' device cookies (throttling exemption)." })
  settings.define("security.session_idle_minutes", { type = "integer", default = 30, between = { 5, 24 * 60 },
    description = "Sign people out after this many minutes without activity." })
  settings.define("security.session_max_hours", { type = "integer", default = 12, between = { 1, 24 * 14 },
    description = "Sign people out this many hours after they signed in, active or not." })
  settings.define("security.secure_cookies", { type = "boolean", default = false,
    description = "Always mark cookies Secure (turn on when Candor is only reached over HTTPS)." })
  settings.define("security.trusted_proxies", { type = "array", elements = { type = "string" }, default = {},
    description = "Addresses (CIDR) of reverse proxies whose X-Forwarded-For and X-Forwarded-Proto are believed.",
    custom_validator = function(list) local ok, err = ip.parse_list(list) return ok ~= nil, err end })
  settings.define("security.ip_ranges", { type = "array", elements = { type = "string" }, default = {},
    description = "If set, Candor can only be used from these address ranges (CIDR, IPv4 and IPv6).",
    custom_validator = function(list) local ok, err = ip.parse_list(list) return ok ~= nil, err end })
  events.hook("settings.changed", function(e)
    if e.name == "security.trusted_proxies" or e.name == "security.ip_ranges" then load_ranges() end
  end)
  load_ranges()
  dummy_hash = crypto.hash_password(crypto.token(16))
  events.hook("http.authenticate", function(e)
    local req = e.req
    req.user, req.session, req.via = M.authenticate(req)
    if req.session and req.session.impersonator_id and req.method ~= "GET" and req.method ~= "HEAD" then
      impersonated[coroutine.running()] = req
    end
  end)
  events.hook("*", note_change)
  events.hook("http.check_csrf", function(e) M.check_csrf(e.req) end)
  events.hook("http.response", function(e)
    local req, res = e.req, e.res
    if impersonated[coroutine.running()] == req then log_changes(req) end
    if req.new_session_cookie then web.add_header(res, "Set-Cookie", req.new_session_cookie) end
    if req.session_ended and not req.user and res.headers then
      web.add_header(res, "Set-Cookie", M.cookie_for(req, "", 0))
    end
  end)
end

return M
