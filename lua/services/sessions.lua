-- Sessions: session cookies (only a hash stored), idle and absolute timeouts, a changed browser
-- signs in again, CSRF tokens with a same-origin check, and the request's authentication (a
-- session cookie or an API token). The 2-step step hangs on the same session rows: a session is
-- "pending" after the password until the code is given (pending_2fa = 1) or, for people an
-- admin setting obliges, until 2-step is set up (= 2).
local db = require "lib.db"
local web = require "lib.web"
local errors = require "lib.errors"
local events = require "lib.events"
local memo = require "lib.memo"
local crypto = require "core.crypto"
local clock = require "core.clock"
local settings = require "services.settings"
local access = require "services.access"
local client_address = require "services.client_address"
local api_tokens = require "services.api_tokens"

local M = {}

M.COOKIE = "candor_session"
M.PENDING_CODE, M.PENDING_ENROL = 1, 2
M.PENDING_TTL = 10 * 60 -- seconds to give the second step after the password

local function sha(s) return crypto.sha256(s) end

-- People's rows by id, kept while the users table is unchanged (lib/memo.lua: any write to it,
-- rolled back or not, or another process's commit empties it).
local rows = memo.new({ "users" }, 4096)
local function user_row(id)
  return db.row([[SELECT id, email, name, job_title, department, location, manager_id, status, kind
    FROM users WHERE id = ?]], id)
end

-- The person as a request sees them (a copy: the caller may change it), with the roles the
-- evaluator holds (no query). The copy names its fields (those of user_row): a table built by
-- one constructor is allocated once, where a copy field by field grows it four times, a
-- microsecond of every signed-in request.
local function load_user(id)
  local row = rows:fetch(id, user_row)
  if not row then return nil end
  local roles = access.roles(row.id)
  local role_set = {}
  for _, r in ipairs(roles) do role_set[r] = true end
  return { id = row.id, email = row.email, name = row.name, job_title = row.job_title,
    department = row.department, location = row.location, manager_id = row.manager_id, status = row.status,
    kind = row.kind, roles = roles, role_set = role_set,
    is_super = role_set.hr_admin and role_set.tech_admin or false }
end
M.load_user = load_user

local function new_session(user_id, req, fields)
  local token = crypto.token(32)
  local now = clock.now()
  local addr = client_address.client(req)
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

--- The Set-Cookie value carrying a session token ("" and max_age 0 clear it).
function M.cookie_for(req, token, max_age)
  return web.cookie_header(M.COOKIE, token, { secure = client_address.secure_cookies(req), max_age = max_age,
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
  db.transaction(function()
    db.exec("UPDATE sessions SET token_hash = ?, rotate = 0 WHERE id = ?", db.blob(sha("session:" .. fresh)),
      req.session.id)
  end)
  web.add_header(res, "Set-Cookie", M.cookie_for(req, fresh))
end

--- The signed-in sessions of a user, newest first (for the account page).
function M.list_for(user_id)
  return db.query([[SELECT id, created_at, last_seen_at, expires_at, ip, impersonator_id FROM sessions
    WHERE user_id = ? AND pending_2fa = 0 AND expires_at > ? ORDER BY last_seen_at DESC, id DESC]],
    user_id, clock.now())
end

-- Session rows by the hash of their token, kept while the sessions table is unchanged (any
-- sign-out, revocation, rotation or new sign-in empties it); each entry also remembers the
-- browser that last matched its stored hash, so the same browser is not hashed again.
local by_token = memo.new({ "sessions" }, 4096)
local function session_row(hash)
  local s = db.row([[SELECT id, user_id, csrf_token, created_at, last_seen_at, expires_at, user_agent_hash, ip,
    second_factor, pending_2fa, impersonator_id, rotate FROM sessions WHERE token_hash = ?]], db.blob(hash))
  return s and { row = s }
end

-- A request's own copy of a kept session row (it changes last_seen_at, adds csrf and
-- impersonator), in one constructor as load_user's.
local function session_copy(r)
  return { id = r.id, user_id = r.user_id, csrf_token = r.csrf_token, created_at = r.created_at,
    last_seen_at = r.last_seen_at, expires_at = r.expires_at, user_agent_hash = r.user_agent_hash, ip = r.ip,
    second_factor = r.second_factor, pending_2fa = r.pending_2fa, impersonator_id = r.impersonator_id,
    rotate = r.rotate, csrf = nil, impersonator = nil }
end

-- Finds the session for the cookie (a copy of its row); checks lifetime, idle time and the
-- browser against the clock on every request.
local function session_from_cookie(req)
  local token = web.cookie(req, M.COOKIE)
  if not token or #token < 20 or #token > 100 then return nil end
  local e = by_token:fetch(sha("session:" .. token), session_row)
  if not e then return nil end
  local s = session_copy(e.row)
  local now = clock.now()
  local idle = settings.get("security.session_idle_minutes") * 60
  local agent = req.headers["user-agent"] or ""
  local same_browser = e.agent == agent or crypto.equal(s.user_agent_hash, sha(agent))
  if s.expires_at <= now or s.last_seen_at + idle <= now or not same_browser then
    db.exec("DELETE FROM sessions WHERE id = ?", s.id)
    req.session_ended = true
    return nil
  end
  e.agent = agent
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

--- The authenticate hook: user, session, via ("cookie" | "token"). A session waiting for its
--- second step gives no user; it is left in req.pending_session (with req.pending_user).
function M.authenticate(req)
  client_address.check_allowed(req)
  if req.headers.authorization then
    local uid, token = api_tokens.from_request(req)
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

-- ------------------------------------------------------------------ setup

function M.init()
  settings.define("security.session_idle_minutes", { type = "integer", default = 30, between = { 5, 24 * 60 },
    description = "Sign people out after this many minutes without activity." })
  settings.define("security.session_max_hours", { type = "integer", default = 12, between = { 1, 24 * 14 },
    description = "Sign people out this many hours after they signed in, active or not." })
  events.hook("http.authenticate", function(e)
    local req = e.req
    req.user, req.session, req.via = M.authenticate(req)
  end)
  events.hook("http.check_csrf", function(e) M.check_csrf(e.req) end)
  events.hook("http.response", function(e)
    local req, res = e.req, e.res
    if req.new_session_cookie then web.add_header(res, "Set-Cookie", req.new_session_cookie) end
    if req.session_ended and not req.user and res.headers then
      web.add_header(res, "Set-Cookie", M.cookie_for(req, "", 0))
    end
  end)
end

return M
