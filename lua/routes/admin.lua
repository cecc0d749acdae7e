-- Administration: the overview (every admin action of the permission sheet as a tile: a link to
-- the page where it is done, greyed out with the role that would allow it, or "not available
-- yet" for everyone when Candor does not have the feature), user-management settings, license.
local web = require "lib.web"
local page = require "lib.page"
local errors = require "lib.errors"
local events = require "lib.events"
local authz = require "core.authz"
local access = require "services.access"
local settings = require "services.settings"
local people = require "services.people"
local directory = require "services.directory"
local user_settings = require "services.user_settings"

local M = {}

-- The tiles: action (a row of policies/roles.lua) -> { href = the page where it is done, hint =
-- how to find it there }. An action with a tile is a feature Candor has; the others show as
-- "not available yet". A module that builds a feature adds its tiles by hooking the event
-- "admin.tiles" ({ user =, links = {} }: links[action] = { href =, hint = }); 360 feedback,
-- objectives, 1:1s and praise switch theirs on that way. Actions done on a person or a cycle link
-- to the list they are picked from. The tiles of the pages every Candor has are these:
local TILES = {}

local ON_A_PERSON = "Open a person, then Actions"
local ON_A_CYCLE = "Open a cycle"
for action, tile in pairs({
  ["users.invite"] = { "/people/new" },
  ["users.view_all"] = { "/people?status=" },
  ["users.edit"] = { "/people", ON_A_PERSON },
  ["users.change_email"] = { "/people", ON_A_PERSON },
  ["users.change_manager"] = { "/people", ON_A_PERSON },
  ["users.send_password_reset"] = { "/people", ON_A_PERSON },
  ["users.set_password"] = { "/people", ON_A_PERSON },
  ["users.deactivate"] = { "/people", ON_A_PERSON },
  ["users.lock"] = { "/people", ON_A_PERSON },
  ["users.delete"] = { "/people", ON_A_PERSON },
  ["users.convert_guest"] = { "/people?kind=guest&status=", ON_A_PERSON },
  ["guests.invite"] = { "/people/new?kind=guest" },
  ["sessions.end_for_user"] = { "/people", ON_A_PERSON },
  ["roles.grant_hr_admin"] = { "/people", "Open a person, then Actions › Roles" },
  ["roles.grant_hr_assistant"] = { "/people", "Open a person, then Actions › Roles" },
  ["roles.grant_tech_admin"] = { "/people", "Open a person, then Actions › Roles" },
  ["admin.user_settings"] = { "/admin/users/settings" },
  ["admin.license"] = { "/admin/license" },
  ["admin.audit_log"] = { "/admin/audit" },
  ["admin.security"] = { "/admin/security" },
  ["admin.api_tokens"] = { "/admin/api-tokens" },
  ["review_cycles.manage"] = { "/cycles" },
  ["review_cycles.track"] = { "/cycles", ON_A_CYCLE },
  ["review_cycles.delete"] = { "/cycles", "Open a cycle, then More" },
  ["reviews.create"] = { "/cycles", "Open a cycle, then Reviewees" },
  ["reviews.delete"] = { "/cycles", "Open a cycle, then Reviewees" },
  ["reviews.delete_unstarted"] = { "/cycles", "Open a cycle, then Reviewees" },
  ["reviews.read"] = { "/cycles", "Open a cycle, then a review" },
  ["reviews.export_excel"] = { "/cycles", "Open a cycle, then More" },
}) do TILES[action] = { href = tile[1], hint = tile[2] } end

-- Section headings as people read them.
local SECTION_TITLES = { Additional = "More administration" }

-- The company settings that switch a role's right on, in words (never the setting's key).
local FLAG_LABELS = {
  ["people.assistant_can_change_manager"] = "“Allow HR Assistants to pick a person's manager” is on",
  ["guests.hr_can_invite"] = "the guest setting lets HR invite guests",
}

--- Who may do action, in words: "HR Admin or HR Assistant (when ... is on)".
local function needs(action)
  local text = authz.roles_for(action) or ""
  text = text:gsub("%(when ([%w_%.]+) is on%)", function(flag)
    local label = FLAG_LABELS[flag]
    if not label and settings.schema[flag] then
      label = "“" .. settings.schema[flag].description:gsub("%.$", "") .. "” is on"
    end
    return "(when " .. (label or "a company setting allows it") .. ")"
  end)
  return text
end

--- The overview's sections for user: { { name =, items = { { label, href, hint, state =
--- "open" | "locked" | "unavailable", needs } } } }. Rows of "Additional" that are no admin
--- feature (writing your own review, the directory) are left out.
local function overview(user)
  local sections, order = {}, {}
  local tiles = { user = user, links = {} }
  for action, tile in pairs(TILES) do tiles.links[action] = tile end
  events.fire("admin.tiles", tiles)
  for _, a in ipairs(authz.actions()) do
    local tile = tiles.links[a.name]
    if a.section ~= "Additional" or tile then
      local s = sections[a.section]
      if not s then
        s = { name = SECTION_TITLES[a.section] or a.section, items = {} }
        sections[a.section] = s
        order[#order + 1] = s
      end
      local item = { name = a.name, label = a.label }
      if not tile then
        item.state = "unavailable"
      elseif access.can(user, a.name) then
        item.state, item.href, item.hint = "open", tile.href, tile.hint
      else
        item.state, item.needs = "locked", needs(a.name)
      end
      s.items[#s.items + 1] = item
    end
  end
  return order
end

local function is_admin(u)
  return u and u.roles and #u.roles > 0
end

function M.routes(r)
  r:add{ method = "GET", path = "/admin", auth = "user", perm = "object",
    handler = function(req)
      if not is_admin(req.user) then
        errors.forbidden("Administration is for HR Admins, HR Assistants and Tech Admins.")
      end
      return page.render(req, "admin_overview", { title = "Administration", sections = overview(req.user) },
        { nav = "admin" })
    end }

  r:add{ method = "GET", path = "/admin/users/settings", auth = "user", perm = "admin.user_settings",
    handler = function(req)
      local kept = page.kept(req)
      local values = kept and kept.values or user_settings.current()
      if not kept then values.company_domains = table.concat(values.company_domains, ", ") end
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
        user_settings.save, req.user, input, req)
      if not ok then return res end
      return page.redirect("/admin/users/settings", "success", "Settings saved.")
    end }

  r:add{ method = "GET", path = "/admin/license", auth = "user", perm = "admin.license",
    handler = function(req)
      local n = directory.counts()
      return page.render(req, "admin_license", { title = "License", licensed = n.licensed, guests = n.guests,
        deactivated = n.deactivated }, { nav = "admin" })
    end }

  r:add{ method = "GET", path = "/api/license", auth = "user", perm = "admin.license",
    handler = function()
      local n = directory.counts()
      return web.json(200, { licensed_users = n.licensed, guests = n.guests })
    end }

  r:add{ method = "GET", path = "/api/permissions", auth = "user", perm = "object",
    handler = function(req)
      local list = {}
      for _, a in ipairs(authz.actions()) do
        list[#list + 1] = { action = a.name, section = a.section, label = a.label, allowed = (access.can(req.user, a.name)),
          needs = needs(a.name) }
      end
      return web.json(200, { permissions = list })
    end }

  events.hook("page.nav", function(e)
    if is_admin(e.user) then
      e.items[#e.items + 1] = { id = "admin", label = "Administration", href = "/admin", icon = "⚙", section = "admin",
        order = 90 }
    end
  end)
end

return M
