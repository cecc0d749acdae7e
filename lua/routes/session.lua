-- Signing in and out, "forgot password", choosing a password from a link, /api/me.
local web = require "lib.web"
local page = require "lib.page"
local json = require "lib.json"
local errors = require "lib.errors"
local db = require "lib.db"
local sessions = require "services.sessions"
local accounts = require "services.accounts"
local people = require "services.people"
local audit = require "services.audit"

local M = {}

local function me_json(u)
  return { id = u.id, email = u.email, name = u.name, job_title = u.job_title, department = u.department,
    location = u.location, kind = u.kind, roles = json.array(u.roles), super_user = u.is_super or false }
end

local function safe_next(n)
  if type(n) ~= "string" or n:sub(1, 1) ~= "/" or n:sub(1, 2) == "//" or n:find("[\r\n\\]") then return "/home" end
  return n
end

function M.routes(r)
  r:add{ method = "POST", path = "/api/session", auth = "public", perm = "none", tx = false,
    handler = function(req)
      sessions.check_origin_if_browser(req)
      local input = web.body(req)
      local u = sessions.verify_credentials(req, input.email, input.password)
      local res = web.json(200, {})
      local session, needs_code = sessions.complete_signin(req, res, u)
      local full = sessions.load_user(u.id)
      res.body = json.encode({ user = me_json(full), csrf_token = session.csrf_token,
        two_step_required = needs_code })
      return res
    end }

  r:add{ method = "DELETE", path = "/api/session", auth = "any_user", perm = "object",
    handler = function(req)
      local res = web.no_content()
      audit.record{ action = "signout", actor = req.user, req = req }
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
    handler = function(req) return web.json(200, me_json(req.user)) end }

  r:add{ method = "POST", path = "/api/password/forgot", auth = "public", perm = "none",
    handler = function(req)
      sessions.check_origin_if_browser(req)
      local input = web.body(req)
      accounts.request_reset(type(input.email) == "string" and input.email:lower() or "", req)
      return web.json(202, { message = "If that address belongs to an account, a reset link is on its way." })
    end }

  r:add{ method = "POST", path = "/api/password/set", auth = "public", perm = "none", tx = false,
    handler = function(req)
      sessions.check_origin_if_browser(req)
      local input = web.body(req)
      accounts.use_link_token(input.token, input.password, req)
      return web.no_content()
    end }

  -- pages
  r:add{ method = "POST", path = "/signin", auth = "public", perm = "none", tx = false,
    handler = function(req)
      sessions.check_origin(req)
      local f = web.form(req)
      local ok, u = pcall(sessions.verify_credentials, req, f.email, f.password)
      if not ok then
        if errors.is(u) and u.status < 500 then
          local res = page.render(req, "signin", { title = "Sign in", email = f.email, next = f.next, error = u.message },
            { layout = "plain", status = u.status })
          if u.retry_after then res.headers["Retry-After"] = tostring(math.ceil(u.retry_after)) end
          return res
        end
        error(u, 0)
      end
      local res = web.redirect(safe_next(f.next))
      local _, needs_code = sessions.complete_signin(req, res, u)
      if needs_code then res.headers.Location = "/signin/code?next=" .. require("lib.util").url_encode(safe_next(f.next)) end
      return res
    end }

  r:add{ method = "POST", path = "/signout", auth = "any_user", perm = "object",
    handler = function(req)
      local res = web.redirect("/")
      audit.record{ action = "signout", actor = req.user, req = req }
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
        min = require("services.settings").get("security.password_min_length") }, { layout = "plain",
        status = valid and 200 or 410 })
    end }

  r:add{ method = "POST", path = "/password/set", auth = "public", perm = "none", tx = false,
    handler = function(req)
      sessions.check_origin(req)
      local f = web.form(req)
      local min = require("services.settings").get("security.password_min_length")
      if f.password ~= f.password_again then
        return page.render(req, "password_set", { title = "Choose a password", token = f.token, valid = true, min = min,
          error = "The two passwords are not the same." }, { layout = "plain", status = 422 })
      end
      local ok, err = pcall(accounts.use_link_token, f.token, f.password, req)
      if not ok then
        if errors.is(err) and err.status < 500 then
          return page.render(req, "password_set", { title = "Choose a password", token = f.token,
            valid = err.status ~= 410, min = min, error = err.fields and err.fields.password or err.message },
            { layout = "plain", status = err.status })
        end
        error(err, 0)
      end
      return page.redirect("/", "success", "Your password is set. Sign in with it now.")
    end }

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

  r:add{ method = "PUT", path = "/api/users/{id:int}/password", auth = "user", perm = "users.set_password", tx = false,
    handler = function(req)
      local u = people.require(req.params.id)
      if req.session and req.session.impersonator_id then
        errors.forbidden("Passwords cannot be changed while impersonating.")
      end
      local input = web.body(req)
      local problem = accounts.password_problem(input.password, u)
      if problem then errors.invalid({ password = problem }) end
      accounts.set_password(u.id, input.password)
      db.transaction(function()
        sessions.end_all(u.id)
        audit.record{ action = "password.set_by_admin", actor = req.user, req = req, target_type = "user",
          target_id = u.id, target_label = u.email }
      end)
      return web.no_content()
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
