-- Administration: the overview (every admin action shown; the ones the viewer cannot use are
-- greyed out, saying which role would allow them), user-management settings, license page.
-- Each area says where its admin actions live by hooking "admin.tiles" ({ user =, links = {} }:
-- links[action] = href); actions without a page yet are listed too, greyed out with "coming
-- later" so nobody mistakes them for a permission problem.
local web = require "lib.web"
local page = require "lib.page"
local db = require "lib.db"
local errors = require "lib.errors"
local events = require "lib.events"
local authz = require "core.authz"
local access = require "services.access"
local settings = require "services.settings"
local people = require "services.people"
local people_routes = require "routes.people"

local M = {}

local function is_admin(u)
  return u and u.roles and #u.roles > 0
end

function M.routes(r)
  r:add{ method = "GET", path = "/admin", auth = "user", perm = "object",
    handler = function(req)
      local sections, order = {}, {}
      local tiles = { user = req.user, links = {} }
      events.fire("admin.tiles", tiles)
      local links = tiles.links
      for _, a in ipairs(authz.actions()) do
        if a.section ~= "Additional" or links[a.name] then
          local s = sections[a.section]
          if not s then
            s = { name = a.section, items = {} }
            sections[a.section] = s
            order[#order + 1] = s
          end
          local ok = access.can(req.user, a.name)
          s.items[#s.items + 1] = { label = a.label, href = links[a.name], allowed = ok,
            needs = authz.roles_for(a.name), name = a.name }
        end
      end
      return page.render(req, "admin_overview", { title = "Administration", sections = order }, { nav = "admin" })
    end }

  r:add{ method = "GET", path = "/admin/users/settings", auth = "user", perm = "admin.user_settings",
    handler = function(req)
      return page.render(req, "admin_user_settings", { title = "User management settings", values = {
        guest_policy = settings.get("people.guest_policy"),
        assistant_can_change_manager = settings.get("people.assistant_can_change_manager"),
        company_domains = table.concat(settings.get("company.domains"), ", ") },
        policies = people.GUEST_POLICIES, labels = people.GUEST_POLICY_LABELS, errors = {} }, { nav = "admin" })
    end }

  r:add{ method = "POST", path = "/admin/users/settings", auth = "user", perm = "admin.user_settings",
    handler = function(req)
      local f = web.form(req)
      local input = { guest_policy = f.guest_policy, assistant_can_change_manager = f.assistant_can_change_manager == "on",
        company_domains = f.company_domains or "" }
      local ok, err = pcall(people_routes.save_user_settings, req, input)
      if not ok then
        if errors.is(err) and err.status == 422 then
          return page.render(req, "admin_user_settings", { title = "User management settings", values = {
            guest_policy = f.guest_policy, assistant_can_change_manager = input.assistant_can_change_manager,
            company_domains = f.company_domains }, policies = people.GUEST_POLICIES, labels = people.GUEST_POLICY_LABELS,
            errors = err.fields or {}, error = err.message }, { nav = "admin", status = 422 })
        end
        error(err, 0)
      end
      return page.redirect("/admin/users/settings", "success", "Settings saved.")
    end }

  r:add{ method = "GET", path = "/admin/license", auth = "user", perm = "admin.license",
    handler = function(req)
      return page.render(req, "admin_license", { title = "License", licensed = people.licensed_count(),
        guests = db.value("SELECT count(*) FROM users WHERE kind = 'guest' AND status <> 'deactivated'"),
        deactivated = db.value("SELECT count(*) FROM users WHERE kind = 'employee' AND status = 'deactivated'") },
        { nav = "admin" })
    end }

  r:add{ method = "GET", path = "/api/license", auth = "user", perm = "admin.license",
    handler = function()
      return web.json(200, { licensed_users = people.licensed_count(),
        guests = db.value("SELECT count(*) FROM users WHERE kind = 'guest' AND status <> 'deactivated'") })
    end }

  r:add{ method = "GET", path = "/api/permissions", auth = "user", perm = "object",
    handler = function(req)
      local list = {}
      for _, a in ipairs(authz.actions()) do
        list[#list + 1] = { action = a.name, section = a.section, label = a.label, allowed = (access.can(req.user, a.name)),
          needs = authz.roles_for(a.name) }
      end
      return web.json(200, { permissions = list })
    end }

  events.hook("page.nav", function(e)
    if is_admin(e.user) then
      e.items[#e.items + 1] = { id = "admin", label = "Administration", href = "/admin", icon = "⚙", section = "admin",
        order = 90 }
    end
  end)
  events.hook("admin.tiles", function(e)
    e.links["admin.user_settings"] = "/admin/users/settings"
    e.links["admin.license"] = "/admin/license"
  end)
end

return M
