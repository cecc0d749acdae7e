-- The first run of a new company (services/first_run.lua): /setup creates the first person, a
-- super user, given the set-up code `candor serve` printed; the sign-in page leads there while
-- the code waits. Signed out, so nothing is kept server-side: after a problem the name and
-- email (not secrets) go back in the address, never the code or the password.
local web = require "lib.web"
local util = require "lib.util"
local page = require "lib.page"
local sessions = require "services.sessions"
local signin = require "services.signin"
local settings = require "services.settings"
local first_run = require "services.first_run"

local M = {}

function M.routes(r)
  r:add{ method = "GET", path = "/setup", auth = "public", perm = "none",
    handler = function(req)
      if not first_run.waiting() then return page.redirect("/", "info", "Candor is set up already: sign in.") end
      local q = web.query(req)
      return page.render(req, "setup", { title = "Set up Candor", name = q.name, email = q.email,
        min = settings.get("security.password_min_length") }, { layout = "plain" })
    end }

  r:add{ method = "POST", path = "/setup", auth = "public", perm = "none", tx = false,
    handler = function(req)
      sessions.check_origin(req)
      if not first_run.waiting() then return page.redirect("/", "info", "Candor is set up already: sign in.") end
      local f = web.form(req)
      local ok, u = page.form(req, "/setup?" .. util.build_query({ name = f.name, email = f.email }),
        first_run.create, f, req)
      if not ok then return u end
      local res = web.redirect("/home")
      signin.complete_signin(req, res, u)
      page.flash(res, "success", "Welcome to Candor. Next: add your colleagues (People › Add people, or import a "
        .. "spreadsheet), then set up mail (Administration › Mail server) so invitations go out.")
      return res
    end }
end

return M
