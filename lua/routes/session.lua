-- Signing in and out (with the 2-step step: a code, or setting 2-step up when an admin
-- setting obliges it), "forgot password", choosing a password from a link, /api/me, and the
-- HR side of passwords (sending reset instructions, setting a password).
local web = require "lib.web"
local page = require "lib.page"
local json = require "lib.json"
local util = require "lib.util"
local errors = require "lib.errors"
local sessions = require "services.sessions"
local signin = require "services.signin"
local impersonation = require "services.impersonation"
local accounts = require "services.accounts"
local twostep = require "services.twostep"
local people = require "services.people"
local audit = require "services.audit"
local settings = require "services.settings"

local M = {}

local function me_json(u)
  return { id = u.id, email = u.email, name = u.name, job_title = u.job_title, department = u.department,
    location = u.location, kind = u.kind, roles = json.array(u.roles), super_user = u.is_super or false }
end

-- Where to go after signing in: the visitor's ?next= when it is a local path, else /home.
local function safe_next(n) return web.local_path(n, "/home") end

local function truthy(v) return v == true or v == "on" or v == "true" or v == "1" end

-- Whether the request carries a pending sign-in in state (sessions.PENDING_CODE or PENDING_ENROL).
local function pending_in(req, state)
  return req.pending_session ~= nil and req.pending_session.pending_2fa == state
end

local CODE_WRONG = "This code is not right (or was used already). Codes change every 30 seconds."

function M.routes(r)
  -- ---------------------------------------------------------------- API
  r:add{ method = "POST", path = "/api/session", auth = "public", perm = "none", tx = false,
    handler = function(req)
      sessions.check_origin_if_browser(req)
      local input = web.body(req)
      local u = signin.verify_credentials(req, input.email, input.password)
      local res = web.json(200, {})
      local session, pending = signin.complete_signin(req, res, u)
      local full = sessions.load_user(u.id)
      res.body = json.encode({ user = me_json(full), csrf_token = session.csrf_token,
        two_step_required = pending == sessions.PENDING_CODE,
        two_step_enrolment_required = pending == sessions.PENDING_ENROL })
      return res
    end }

  r:add{ method = "POST", path = "/api/session/2fa", auth = "public", perm = "none", tx = false,
    handler = function(req)
      local _, u = sessions.require_pending(req, sessions.PENDING_CODE)
      local input = web.body(req)
      local how = signin.check_second_step(req, input.code, input.recovery_code)
      if not how then errors.raise(401, "code_wrong", CODE_WRONG) end
      local res = web.json(200, {})
      local s = signin.accept_second_step(req, res, how, truthy(input.remember))
      res.body = json.encode({ user = me_json(sessions.load_user(u.id)), csrf_token = s.csrf_token, second_step = how,
        recovery_codes_left = twostep.recovery_codes_left(u.id) })
      return res
    end }

  -- setting up 2-step during sign-in (when an admin setting obliges it)
  r:add{ method = "GET", path = "/api/session/2fa/setup", auth = "public", perm = "none",
    handler = function(req)
      local _, u = sessions.require_pending(req, sessions.PENDING_ENROL)
      local secret = twostep.pending_secret(u.id)
      if not secret then errors.raise(401, "no_pending_signin", "Sign in again to set up 2-step verification.") end
      local v = twostep.enrolment_view(u, secret)
      return web.json(200, { secret = v.secret, otpauth_uri = v.uri })
    end }

  r:add{ method = "POST", path = "/api/session/2fa/setup", auth = "public", perm = "none",
    handler = function(req)
      local _, u = sessions.require_pending(req, sessions.PENDING_ENROL)
      local res = web.json(200, {})
      local codes, s = signin.enrol_at_signin(req, res, web.body(req).code)
      if not codes then errors.invalid({ code = CODE_WRONG }) end
      res.body = json.encode({ user = me_json(sessions.load_user(u.id)), csrf_token = s.csrf_token,
        recovery_codes = codes })
      return res
    end }

  -- signing out of an impersonation ends it too (and says so in the log)
  local function record_signout(req)
    local imp = req.session and req.session.impersonator
    if imp then
      audit.record{ action = "impersonation.end", actor_id = imp.id, actor_label = imp.email, req = req,
        target_type = "user", target_id = req.user.id, target_label = req.user.email, details = { by = "signout" } }
    else
      audit.record{ action = "signout", actor = req.user, req = req }
    end
  end

  r:add{ method = "DELETE", path = "/api/session", auth = "any_user", perm = "object",
    handler = function(req)
      local res = web.no_content()
      record_signout(req)
      sessions.finish(req, res)
      return res
    end }

  r:add{ method = "DELETE", path = "/api/sessions", auth = "any_user", perm = "object",
    handler = function(req)
      sessions.end_all(req.user.id)
      audit.record{ action = "signout.everywhere", actor = req.user, req = req }
      local res = web.no_content()
      web.add_header(res, "Set-Cookie", sessions.cookie_for(req, "", 0))
      return res
    end }

  r:add{ method = "DELETE", path = "/api/users/{id:int}/sessions", auth = "user", perm = "sessions.end_for_user",
    handler = function(req)
      local u = people.require(req.params.id)
      sessions.end_all(u.id)
      audit.record{ action = "sessions.ended_by_admin", actor = req.user, req = req, target_type = "user",
        target_id = u.id, target_label = u.email }
      return web.no_content()
    end }

  r:add{ method = "GET", path = "/api/me", auth = "any_user", perm = "object",
    handler = function(req)
      local out = me_json(req.user)
      if req.session and req.session.impersonator then
        out.impersonated_by = { id = req.session.impersonator.id, name = req.session.impersonator.name }
      end
      return web.json(200, out)
    end }

  r:add{ method = "POST", path = "/api/password/forgot", auth = "public", perm = "none",
    handler = function(req)
      sessions.check_origin_if_browser(req)
      local input = web.body(req)
      if type(input.email) ~= "string" or input.email == "" then
        errors.invalid({ email = "Enter your email address." })
      end
      accounts.request_reset(input.email:lower(), req)
      return web.json(202, { message = "If that address belongs to an account, a reset link is on its way." })
    end }

  r:add{ method = "POST", path = "/api/password/set", auth = "public", perm = "none", tx = false,
    handler = function(req)
      sessions.check_origin_if_browser(req)
      local input = web.body(req)
      accounts.use_link_token(input.token, input.password, req)
      return web.no_content()
    end }

  -- ---------------------------------------------------------------- sign-in pages
  r:add{ method = "POST", path = "/signin", auth = "public", perm = "none", tx = false,
    handler = function(req)
      sessions.check_origin(req)
      local f = web.form(req)
      -- signed out, so nothing is kept server-side: the email (not a secret) goes back in the address
      local ok, u = page.form(req, "/?" .. util.build_query({ next = f.next, email = f.email }),
        signin.verify_credentials, req, f.email, f.password)
      if not ok then return u end
      local res = web.redirect(safe_next(f.next))
      local _, pending = signin.complete_signin(req, res, u)
      if pending == sessions.PENDING_CODE then
        res.headers.Location = "/signin/code?next=" .. util.url_encode(safe_next(f.next))
      elseif pending == sessions.PENDING_ENROL then
        res.headers.Location = "/signin/setup?next=" .. util.url_encode(safe_next(f.next))
      end
      return res
    end }

  local function code_page(req, data)
    data.title = "Enter your code"
    data.pending_csrf = req.pending_session and req.pending_session.csrf_token or ""
    data.trust_days = twostep.TRUST_DAYS
    return page.render(req, "signin_code", data, { layout = "plain" })
  end

  r:add{ method = "GET", path = "/signin/code", auth = "public", perm = "none",
    handler = function(req)
      if req.user then return web.redirect(safe_next(web.query(req).next)) end
      if not pending_in(req, sessions.PENDING_CODE) then
        return page.redirect("/", "info", "Sign in with your email and password first.")
      end
      return code_page(req, { next_url = web.query(req).next, email = req.pending_user.email })
    end }

  r:add{ method = "POST", path = "/signin/code", auth = "public", perm = "none", tx = false,
    handler = function(req)
      if not pending_in(req, sessions.PENDING_CODE) then
        return page.redirect("/", "info", "Your sign-in took too long. Please sign in again.")
      end
      local _, u = sessions.require_pending(req, sessions.PENDING_CODE)
      local f = web.form(req)
      local ok, how = page.form(req, "/signin/code?next=" .. util.url_encode(safe_next(f.next)), function()
        local how = signin.check_second_step(req, f.code)
        if not how then errors.raise(401, "code_wrong", CODE_WRONG) end
        return how
      end)
      if not ok then return how end
      local res = web.redirect(safe_next(f.next))
      signin.accept_second_step(req, res, how, truthy(f.remember))
      if how == "recovery_code" then
        local left = twostep.recovery_codes_left(u.id)
        page.flash(res, left <= 3 and "error" or "info", ("You used a recovery code; %d left. %s"):format(left,
          left <= 3 and "Make new ones on your security page." or "Each works once."))
      end
      return res
    end }

  r:add{ method = "POST", path = "/signin/cancel", auth = "public", perm = "none",
    handler = function(req)
      local res = web.redirect("/")
      if req.pending_session then
        sessions.require_pending(req)
        sessions.finish(req, res)
      end
      return res
    end }

  local function setup_page(req, data)
    local u = req.pending_user
    local secret = twostep.pending_secret(u.id)
    if not secret then return page.redirect("/", "info", "Please sign in again.") end
    data.title = "Set up 2-step verification"
    data.view = twostep.enrolment_view(u, secret)
    data.pending_csrf = req.pending_session.csrf_token
    data.action = "/signin/setup"
    return page.render(req, "signin_setup", data, { layout = "plain" })
  end

  r:add{ method = "GET", path = "/signin/setup", auth = "public", perm = "none",
    handler = function(req)
      if req.user then return web.redirect(safe_next(web.query(req).next)) end
      if not pending_in(req, sessions.PENDING_ENROL) then
        return page.redirect("/", "info", "Sign in with your email and password first.")
      end
      return setup_page(req, { next_url = web.query(req).next })
    end }

  r:add{ method = "POST", path = "/signin/setup", auth = "public", perm = "none", tx = false,
    handler = function(req)
      if not pending_in(req, sessions.PENDING_ENROL) then
        return page.redirect("/", "info", "Your sign-in took too long. Please sign in again.")
      end
      sessions.require_pending(req, sessions.PENDING_ENROL)
      local f = web.form(req)
      local res = web.html(200, "")
      local codes = signin.enrol_at_signin(req, res, f.code)
      if not codes then
        return page.redirect("/signin/setup?next=" .. util.url_encode(safe_next(f.next)), "error", CODE_WRONG)
      end
      local shown = page.render(req, "recovery_codes", { title = "Your recovery codes", codes = codes,
        continue = safe_next(f.next), first_time = true }, { layout = "plain" })
      res.body = shown.body
      return res
    end }

  r:add{ method = "POST", path = "/signout", auth = "any_user", perm = "object",
    handler = function(req)
      local res = web.redirect("/")
      record_signout(req)
      sessions.finish(req, res)
      return page.flash(res, "info", "You are signed out.")
    end }

  r:add{ method = "GET", path = "/password/forgot", auth = "public", perm = "none",
    handler = function(req)
      return page.render(req, "password_forgot", { title = "Forgot password", email = web.query(req).email },
        { layout = "plain" })
    end }

  r:add{ method = "POST", path = "/password/forgot", auth = "public", perm = "none",
    handler = function(req)
      sessions.check_origin(req)
      local f = web.form(req)
      accounts.request_reset((f.email or ""):lower(), req)
      return page.render(req, "password_forgot", { title = "Forgot password", sent = true, email = f.email },
        { layout = "plain" })
    end }

  r:add{ method = "GET", path = "/password/set", auth = "public", perm = "none",
    handler = function(req)
      local token = web.query(req).token
      local valid = accounts.check_link_token(token) ~= nil
      return page.render(req, "password_set", { title = "Choose a password", token = token, valid = valid,
        min = settings.get("security.password_min_length") }, { layout = "plain",
        status = valid and 200 or 410 })
    end }

  r:add{ method = "POST", path = "/password/set", auth = "public", perm = "none", tx = false,
    handler = function(req)
      sessions.check_origin(req)
      local f = web.form(req)
      local ok, res = page.form(req, "/password/set?token=" .. util.url_encode(f.token or ""), function()
        if f.password ~= f.password_again then errors.invalid({ password_again = "The two passwords are not the same." }) end
        accounts.use_link_token(f.token, f.password, req)
      end)
      if not ok then return res end
      return page.redirect("/", "success", "Your password is set. Sign in with it now.")
    end }

  -- ---------------------------------------------------------------- HR: passwords of others
  r:add{ method = "POST", path = "/people/{id:int}/password-reset", auth = "user", perm = "users.send_password_reset",
    handler = function(req)
      local u = people.require(req.params.id)
      accounts.request_reset(u.email, req, req.user.id)
      return page.redirect("/people/" .. u.id, "success", "Reset instructions were sent to " .. u.email .. ".")
    end }

  r:add{ method = "POST", path = "/api/users/{id:int}/password-reset", auth = "user", perm = "users.send_password_reset",
    handler = function(req)
      local u = people.require(req.params.id)
      accounts.request_reset(u.email, req, req.user.id)
      return web.json(202, { message = "Reset instructions were sent to " .. u.email .. "." })
    end }

  -- Someone else's password: not your own (use your security page), never while impersonating.
  local function settable(req)
    impersonation.refuse_impersonated(req, "Passwords")
    local u = people.require(req.params.id)
    if u.id == req.user.id then
      errors.conflict("Change your own password on your security page (it asks for your current one).")
    end
    if u.status == "deactivated" then errors.conflict("Reactivate " .. u.name .. " before setting a password.") end
    return u
  end

  r:add{ method = "PUT", path = "/api/users/{id:int}/password", auth = "user", perm = "users.set_password", tx = false,
    handler = function(req)
      local u = settable(req)
      local input = web.body(req)
      accounts.set_password_by_admin(req.user, u, input.password, req)
      return web.no_content()
    end }

  local function set_password_page(req, u)
    local kept = page.kept(req)
    return page.render(req, "people_password", { title = "Set the password of " .. u.name, person = u,
      min = settings.get("security.password_min_length"), enrolled = twostep.enrolled(u.id),
      errors = kept and kept.errors or {} }, { nav = "people" })
  end

  r:add{ method = "GET", path = "/people/{id:int}/password", auth = "user", perm = "users.set_password",
    handler = function(req)
      return set_password_page(req, settable(req))
    end }

  r:add{ method = "POST", path = "/people/{id:int}/password", auth = "user", perm = "users.set_password", tx = false,
    handler = function(req)
      local u = settable(req)
      local f = web.form(req)
      local ok, res = page.form(req, { back = "/people/" .. u.id .. "/password", values = {} }, function()
        if f.password ~= f.password_again then errors.invalid({ password_again = "The two passwords are not the same." }) end
        accounts.set_password_by_admin(req.user, u, f.password, req)
      end)
      if not ok then return res end
      return page.redirect("/people/" .. u.id, "success", "The password of " .. u.name
        .. " was set and they were signed out everywhere. Tell them in person; they can change it on their security page.")
    end }

  r:add{ method = "POST", path = "/people/{id:int}/sessions/end", auth = "user", perm = "sessions.end_for_user",
    handler = function(req)
      local u = people.require(req.params.id)
      sessions.end_all(u.id)
      audit.record{ action = "sessions.ended_by_admin", actor = req.user, req = req, target_type = "user",
        target_id = u.id, target_label = u.email }
      return page.redirect("/people/" .. u.id, "success", "All of " .. u.name .. "'s sessions were ended.")
    end }
end

return M
