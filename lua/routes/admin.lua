-- Administration: the overview (every admin action shown; the ones the viewer cannot use are
-- greyed out, saying which role would allow them), user-management settings, license page.
local web = require "lib.web"
local page = require "lib.page"
local authz = require "core.authz"
local access = require "services.access"
local settings = require "services.settings"
local people = require "services.people"

local M = {}

-- Where each admin action lives in the product (actions without a page yet are listed too,
-- greyed out with "coming later" so nobody mistakes them for a permission problem).
M.links = {
  ["users.invite"] = "/people/new",
  ["users.view_all"] = "/people?status=",
  ["admin.user_settings"] = "/admin/users/settings",
  ["admin.license"] = "/admin/license",
  ["admin.audit_log"] = "/admin/audit",
  ["admin.security"] = "/admin/security",
  ["admin.api_tokens"] = "/admin/api-tokens",
  ["admin.outbox"] = "/admin/outbox",
  ["admin.email_templates"] = "/admin/email-templates",
  ["review_cycles.manage"] = "/cycles",
  ["review_cycles.track"] = "/cycles",
  ["workflows.edit"] = "/admin/workflows",
}

--- Registers the page for an admin action (areas call it when they add one).
function M.link(action, href) M.links[action] = href end

local function is_admin(u)
  return u and u.roles and #u.roles > 0
end

function M.routes(r)
  r:add{ method = "GET", path = "/admin", auth = "user", perm = "object",
    handler = function(req)
      local sections, order = {}, {}
      for _, a in ipairs(authz.actions()) do
        if a.section ~= "Additional" or M.links[a.name] then
          local s = sections[a.section]
          if not s then
            s = { name = a.section, items = {} }
            sections[a.section] = s
            order[#order + 1] = s
          end
          local ok = access.can(req.user, a.name)
          s.items[#s.items + 1] = { label = a.label, href = M.links[a.name], allowed = ok,
            needs = authz.roles_for(a.name), name = a.name }
        end
      end
      return page.render(req, "admin_overview", { title = "Administration", sections = order }, { nav = "admin" })
    end }

  r:add{ method = "GET", path = "/admin/users/settings", auth = "user", perm = "admin.user_settings",
    handler = function(req)
      local kept = page.kept(req)
      local values = kept and kept.values or { guest_policy = settings.get("people.guest_policy"),
        assistant_can_change_manager = settings.get("people.assistant_can_change_manager"),
        company_domains = table.concat(settings.get("company.domains"), ", ") }
      if kept then values.assistant_can_change_manager = values.assistant_can_change_manager == "on" end
      return page.render(req, "admin_user_settings", { title = "User management settings", values = values,
        policies = people.GUEST_POLICIES, labels = people.GUEST_POLICY_LABELS, errors = kept and kept.errors or {} },
        { nav = "admin" })
    end }

  r:add{ method = "POST", path = "/admin/users/settings", auth = "user", perm = "admin.user_settings",
    handler = function(req)
      local f = web.form(req)
      local input = { guest_policy = f.guest_policy, assistant_can_change_manager = f.assistant_can_change_manager == "on",
        company_domains = f.company_domains or "" }
      local ok, res = page.form(req, { back = "/admin/users/settings", values = f },
        require("routes.people").save_user_settings, req, input)
      if not ok then return res end
      return page.redirect("/admin/users/settings", "success", "Settings saved.")
    end }

  r:add{ method = "GET", path = "/admin/license", auth = "user", perm = "admin.license",
    handler = function(req)
      local db = require "lib.db"
      return page.render(req, "admin_license", { title = "License", licensed = people.licensed_count(),
        guests = db.value("SELECT count(*) FROM users WHERE kind = 'guest' AND status <> 'deactivated'"),
        deactivated = db.value("SELECT count(*) FROM users WHERE kind = 'employee' AND status = 'deactivated'") },
        { nav = "admin" })
    end }

  r:add{ method = "GET", path = "/api/license", auth = "user", perm = "admin.license",
    handler = function()
      local db = require "lib.db"
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

  page.add_nav{ id = "admin", label = "Administration", href = "/admin", icon = "⚙", section = "admin", order = 90,
    visible = is_admin }
end

return M
