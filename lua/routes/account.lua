-- A person's own security settings: changing the password (the current one is required),
-- 2-step verification (set up, recovery codes, remembered browsers, turning it off), their
-- sessions and "sign out everywhere". Page /account/security and the /api/account/... API.
-- Nothing here works while impersonating someone, nor with an API token.
local web = require "lib.web"
local page = require "lib.page"
local json = require "lib.json"
local errors = require "lib.errors"
local sessions = require "services.sessions"
local signin = require "services.signin"
local impersonation = require "services.impersonation"
local accounts = require "services.accounts"
local twostep = require "services.twostep"
local audit = require "services.audit"
local settings = require "services.settings"

local M = {}

-- The person changing their own security settings: signed in with a browser session (not an
-- API token), not impersonated.
local function owner(req, what)
  if req.via ~= "cookie" then
    errors.forbidden("Sign in with your browser to change your own security settings (API tokens cannot).")
  end
  impersonation.refuse_impersonated(req, what)
  return req.user
end

local function status_json(u)
  return { enabled = twostep.enrolled(u.id), required = twostep.must_enrol(u.id),
    setup_pending = not twostep.enrolled(u.id) and twostep.pending_secret(u.id) ~= nil,
    recovery_codes_left = twostep.recovery_codes_left(u.id), trusted_browsers = twostep.trusted_count(u.id) }
end

local function security_page(req)
  local u = req.user
  local kept = page.kept(req)
  return page.render(req, "account_security", { title = "Password and 2-step verification", two = status_json(u),
    min = settings.get("security.password_min_length"), sessions = sessions.list_for(u.id),
    current_session = req.session and req.session.id, impersonating = req.session and req.session.impersonator ~= nil,
    errors = kept and kept.errors or {} })
end

-- Runs fn (a change asked for on the security page); a refusal goes back to the page with the
-- message (nothing typed there is kept: passwords and codes only).
local function on_page(req, fn)
  local _, res = page.form(req, { back = "/account/security", values = {} }, fn)
  return res
end

local function codes_page(req, codes, first_time)
  return page.render(req, "recovery_codes", { title = "Your recovery codes", codes = codes,
    continue = "/account/security", first_time = first_time })
end

function M.routes(r)
  -- ---------------------------------------------------------------- page
  r:add{ method = "GET", path = "/account/security", auth = "any_user", perm = "object",
    handler = function(req) return security_page(req) end }

  r:add{ method = "POST", path = "/account/password", auth = "any_user", perm = "object", tx = false,
    handler = function(req)
      return on_page(req, function()
        local u = owner(req, "Passwords")
        local f = web.form(req)
        if f.password ~= f.password_again then
          errors.invalid({ password_again = "The two new passwords are not the same." })
        end
        local res = page.redirect("/account/security", "success",
          "Your password was changed. Your other sessions were signed out.")
        accounts.change_own_password(u, f.current_password, f.password, req, req.session.id)
        sessions.renew(req, res)
        return res
      end)
    end }

  r:add{ method = "POST", path = "/account/security/2fa/setup", auth = "any_user", perm = "object",
    handler = function(req)
      return on_page(req, function()
        local u = owner(req, "2-step verification")
        twostep.begin(u.id, { keep = true })
        return web.redirect("/account/security/setup")
      end)
    end }

  local function setup_page(req)
    local u = req.user
    local secret = twostep.pending_secret(u.id)
    if not secret then return nil end
    return page.render(req, "account_setup", { title = "Set up 2-step verification",
      view = twostep.enrolment_view(u, secret), action = "/account/security/setup" })
  end

  r:add{ method = "GET", path = "/account/security/setup", auth = "any_user", perm = "object",
    handler = function(req)
      owner(req, "2-step verification")
      return setup_page(req) or web.redirect("/account/security")
    end }

  r:add{ method = "POST", path = "/account/security/setup", auth = "any_user", perm = "object",
    handler = function(req)
      local u = owner(req, "2-step verification")
      local codes = twostep.confirm(u, web.form(req).code, req)
      if not codes then
        return page.redirect("/account/security/setup", "error", "This code is not right. Codes change every 30 "
          .. "seconds: enter the one your app shows now.")
      end
      return codes_page(req, codes, true)
    end }

  r:add{ method = "POST", path = "/account/security/2fa/disable", auth = "any_user", perm = "object", tx = false,
    handler = function(req)
      return on_page(req, function()
        local u = owner(req, "2-step verification")
        twostep.check_may_disable(u.id) -- the reason comes before asking for proof
        local proof = signin.require_proof(u, web.form(req))
        twostep.disable(u, req, { proof = proof })
        return page.redirect("/account/security", "success", "2-step verification is off.")
      end)
    end }

  r:add{ method = "POST", path = "/account/security/2fa/reset", auth = "any_user", perm = "object", tx = false,
    handler = function(req)
      return on_page(req, function()
        local u = owner(req, "2-step verification")
        if not twostep.enrolled(u.id) then errors.conflict("2-step verification is not on.") end
        local proof = signin.require_proof(u, web.form(req))
        twostep.replace(u, req, proof)
        return web.redirect("/account/security/setup")
      end)
    end }

  r:add{ method = "POST", path = "/account/security/recovery-codes", auth = "any_user", perm = "object", tx = false,
    handler = function(req)
      return on_page(req, function()
        local u = owner(req, "2-step verification")
        if not twostep.enrolled(u.id) then errors.conflict("Turn on 2-step verification first.") end
        signin.require_proof(u, web.form(req))
        local codes = twostep.regenerate_recovery_codes(u, req)
        return codes_page(req, codes, false)
      end)
    end }

  r:add{ method = "POST", path = "/account/security/browsers/forget", auth = "any_user", perm = "object",
    handler = function(req)
      local u = owner(req, "2-step verification")
      local n = twostep.forget_browsers(u.id)
      audit.record{ action = "twostep.forget_browsers", actor = u, req = req, details = { count = n } }
      return page.redirect("/account/security", "success", "Every browser will ask for a code at the next sign-in.")
    end }

  r:add{ method = "POST", path = "/account/sessions/end", auth = "any_user", perm = "object",
    handler = function(req)
      local u = owner(req, "Sessions")
      sessions.end_all(u.id)
      audit.record{ action = "signout.everywhere", actor = u, req = req }
      local res = page.redirect("/", "info", "You are signed out everywhere, here too.")
      web.add_header(res, "Set-Cookie", sessions.cookie_for(req, "", 0))
      return res
    end }

  -- ---------------------------------------------------------------- API
  r:add{ method = "PUT", path = "/api/account/password", auth = "any_user", perm = "object", tx = false,
    handler = function(req)
      local u = owner(req, "Passwords")
      local input = web.body(req)
      local res = web.no_content()
      accounts.change_own_password(u, input.current_password, input.password, req, req.session.id)
      sessions.renew(req, res)
      return res
    end }

  r:add{ method = "GET", path = "/api/account/2fa", auth = "any_user", perm = "object",
    handler = function(req) return web.json(200, status_json(owner(req, "2-step verification"))) end }

  r:add{ method = "POST", path = "/api/account/2fa/setup", auth = "any_user", perm = "object",
    handler = function(req)
      local u = owner(req, "2-step verification")
      local secret = twostep.begin(u.id)
      local v = twostep.enrolment_view(u, secret)
      return web.json(200, { secret = v.secret, otpauth_uri = v.uri })
    end }

  r:add{ method = "POST", path = "/api/account/2fa/confirm", auth = "any_user", perm = "object",
    handler = function(req)
      local u = owner(req, "2-step verification")
      local codes = twostep.confirm(u, web.body(req).code, req)
      if not codes then errors.invalid({ code = "This code is not right. Codes change every 30 seconds." }) end
      return web.json(200, { recovery_codes = codes })
    end }

  r:add{ method = "DELETE", path = "/api/account/2fa", auth = "any_user", perm = "object", tx = false,
    handler = function(req)
      local u = owner(req, "2-step verification")
      twostep.check_may_disable(u.id)
      local proof = signin.require_proof(u, web.body(req))
      twostep.disable(u, req, { proof = proof })
      return web.no_content()
    end }

  r:add{ method = "POST", path = "/api/account/2fa/recovery-codes", auth = "any_user", perm = "object", tx = false,
    handler = function(req)
      local u = owner(req, "2-step verification")
      if not twostep.enrolled(u.id) then errors.conflict("Turn on 2-step verification first.") end
      signin.require_proof(u, web.body(req))
      local codes = twostep.regenerate_recovery_codes(u, req)
      return web.json(200, { recovery_codes = codes })
    end }

  r:add{ method = "DELETE", path = "/api/account/trusted-browsers", auth = "any_user", perm = "object",
    handler = function(req)
      local u = owner(req, "2-step verification")
      local n = twostep.forget_browsers(u.id)
      audit.record{ action = "twostep.forget_browsers", actor = u, req = req, details = { count = n } }
      return web.json(200, { forgotten = n })
    end }

  r:add{ method = "GET", path = "/api/account/sessions", auth = "any_user", perm = "object",
    handler = function(req)
      local u = owner(req, "Sessions")
      local list = {}
      for i, s in ipairs(sessions.list_for(u.id)) do
        list[i] = { id = s.id, created_at = s.created_at, last_seen_at = s.last_seen_at, expires_at = s.expires_at,
          ip = s.ip, current = req.session ~= nil and s.id == req.session.id }
      end
      return web.json(200, { sessions = json.array(list) })
    end }
end

return M
