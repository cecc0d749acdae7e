-- People: the JSON API (/api/users...) and the pages (directory, profile, add/edit, roles,
-- org chart). Handlers translate requests into services.people calls and back.
local web = require "lib.web"
local page = require "lib.page"
local json = require "lib.json"
local util = require "lib.util"
local errors = require "lib.errors"
local events = require "lib.events"
local authz = require "core.authz"
local people = require "services.people"
local directory = require "services.directory"
local access = require "services.access"
local user_settings = require "services.user_settings"
local policy = require "lib.policy"
local dashboard = require "services.dashboard"

local M = {}

-- The manager field of the person forms: a name or an email as typed (the people API suggests
-- them); "" is nobody. Sets f.manager_id (422 at the field when nobody or several fit); returns
-- "" when the field asks for no manager.
local function typed_manager(f)
  if f.manager == nil then return end
  local text = util.trim(f.manager)
  f.manager = nil
  if text == "" then
    f.manager_id = nil
    return ""
  end
  local id, why = directory.resolve_employee(text)
  if not id then errors.invalid({ manager_id = why }) end
  f.manager_id = id
end

local function user_json(u, roles, admin)
  local out = { id = u.id, email = u.email, name = u.name, job_title = u.job_title, department = u.department,
    location = u.location, hire_date = u.hire_date or json.null, manager_id = u.manager_id or json.null,
    kind = u.kind }
  if admin or u.kind == "guest" then out.status = u.status end
  if roles then out.roles = json.array(roles) end
  if u.manager_name then out.manager_name = u.manager_name end
  return out
end

-- The person at params.id as the viewer may see them (admins see everyone; others see
-- employees who are not deactivated; nobody but admins sees guests). 404 otherwise.
local function visible_person(req)
  local u = people.require(req.params.id)
  local admin = access.can(req.user, "users.view_all")
  if not admin and u.id ~= req.user.id and (u.kind == "guest" or u.status == "deactivated") then
    errors.not_found("There is no such person.")
  end
  return u, admin
end

local function search_query(req)
  local q = web.query(req)
  return { q = q.q, department = q.department, location = q.location,
    manager_id = math.tointeger(tonumber(q.manager_id or "")), manager = q.manager, managers_only = q.managers_only == "1",
    role = q.role, status = q.status, kind = q.kind, sort = q.sort, order = q.order, page = q.page, per_page = q.per_page }
end

-- Which menu actions the viewer may take on a person (only those are shown).
local function person_actions(viewer, u, roles)
  local a = {}
  local function can(p) return access.can(viewer, p) end
  local self = viewer.id == u.id
  if can(u.kind == "guest" and "users.convert_guest" or "users.edit") then a.edit = true end
  if u.kind ~= "guest" and (can("roles.grant_hr_admin") or can("roles.grant_hr_assistant") or can("roles.grant_tech_admin")) then
    a.roles = true
  end
  if u.kind ~= "guest" and can("users.change_manager") then a.manager = true end
  if not self and can("users.send_password_reset") and u.status ~= "deactivated" then a.reset = true end
  if not self and can("users.set_password") then a.set_password = true end
  if not self and can("users.deactivate") then
    if u.status == "deactivated" then a.reactivate = true else a.deactivate = true end
  end
  if not self and can("users.lock") then
    if u.status == "locked" then a.unlock = true elseif u.status ~= "deactivated" then a.lock = true end
  end
  if not self and can("users.delete") then a.delete = true end
  if u.kind == "guest" and can("users.convert_guest") then a.convert = true end
  if not self and can("sessions.end_for_user") then a.end_sessions = true end
  if not self and u.kind ~= "guest" and u.status == "active" and can("admin.impersonate") then
    -- not offered where it would be refused: someone in the viewer's own reporting line
    local rel = authz.relation(viewer.id, u.id)
    a.impersonate = rel == "none"
  end
  return a
end

local function user_settings_json()
  local v = user_settings.current()
  v.company_domains = json.array(v.company_domains)
  return v
end

local ROLE_NAMES = access.ROLE_NAMES
-- The roles as policies/roles_list.lua declares them (name, label, plural, description).
local function role_defs() return policy.roles().roles end

-- What the roles page shows of u holding roles, and what the viewer may grant.
local function roles_page_data(req, u, roles)
  local have = {}
  for _, r in ipairs(roles) do have[r] = true end
  local grantable, needs = {}, {}
  for _, r in ipairs(access.ROLE_LIST) do
    grantable[r] = access.can(req.user, access.grant_action(r))
    needs[r] = authz.roles_for(access.grant_action(r))
  end
  return { title = "Roles of " .. u.name, person = u, have = have, grantable = grantable, role_names = ROLE_NAMES,
    role_defs = role_defs(), needs = needs,
    last_super = people.is_super(roles) and #people.super_user_ids() == 1 }
end

-- A review's state (services.dashboard.review_state) as a badge: { label, tone } (tone: the
-- badge-<tone> style).
local REVIEW_STATE = {
  signed = { "Signed by both", "ok" },
  shared = { "Shared", "brand" },
  closed = { "Closed", "muted" },
  in_progress = { "In progress", "warn" },
}

-- The person's reviews the viewer may open, each with its badge (status, tone).
local function review_history(viewer, id)
  local list = dashboard.review_history(viewer, id)
  for _, r in ipairs(list) do r.status, r.tone = table.unpack(REVIEW_STATE[r.state]) end
  return list
end

function M.routes(r)
  -- ---------------------------------------------------------------- API
  r:add{ method = "GET", path = "/api/users", auth = "user", perm = "directory.view",
    handler = function(req)
      local res = directory.search(req.user, search_query(req))
      local list = {}
      for i, u in ipairs(res.users) do list[i] = user_json(u, res.admin and u.roles or nil, res.admin) end
      return web.json(200, { users = json.array(list), total = res.total, page = res.page,
        per_page = res.per_page, pages = res.pages })
    end }

  r:add{ method = "POST", path = "/api/users", auth = "user", perm = "object",
    handler = function(req)
      local input = web.body(req)
      local u = people.create(req.user, input, req)
      return web.json(201, user_json(u, people.roles(u.id), true), { Location = "/api/users/" .. u.id })
    end }

  r:add{ method = "GET", path = "/api/users/{id:int}", auth = "user", perm = "directory.view",
    handler = function(req)
      local u, admin = visible_person(req)
      return web.json(200, user_json(u, (admin or u.id == req.user.id) and people.roles(u.id) or nil, admin))
    end }

  r:add{ method = "PATCH", path = "/api/users/{id:int}", auth = "user", perm = "object",
    handler = function(req)
      local input = web.body(req)
      visible_person(req)
      if input.manager_id == json.null then input.manager_id = nil; input.clear_manager = true end
      local u
      if input.clear_manager then
        people.set_manager(req.user, req.params.id, nil, req)
      end
      u = people.update(req.user, req.params.id, input, req)
      return web.json(200, user_json(u, people.roles(u.id), access.can(req.user, "users.view_all")))
    end }

  r:add{ method = "DELETE", path = "/api/users/{id:int}", auth = "user", perm = "users.delete",
    handler = function(req)
      people.delete(req.user, req.params.id, req)
      return web.no_content()
    end }

  r:add{ method = "PUT", path = "/api/users/{id:int}/roles", auth = "user", perm = "object",
    handler = function(req)
      local input = web.body(req)
      if type(input.roles) ~= "table" then errors.invalid({ roles = "Send the full list of roles, e.g. [\"hr_admin\"]." }) end
      local roles, notes = people.set_roles(req.user, req.params.id, input.roles, req)
      return web.json(200, { roles = json.array(roles), notes = json.array(notes) })
    end }

  r:add{ method = "GET", path = "/api/users/{id:int}/reports", auth = "user", perm = "directory.view",
    handler = function(req)
      local u = visible_person(req)
      local q = web.query(req)
      local direct = q.direct == "1" or q.direct == "true"
      local rows, paging = directory.listed_page(authz.reports(u.id, direct), q)
      local list = {}
      for i, x in ipairs(rows) do list[i] = user_json(x) end
      return web.json(200, { reports = json.array(list), direct = direct, total = paging.total, page = paging.page,
        per_page = paging.per_page, pages = paging.pages })
    end }

  for _, op in ipairs({ "deactivate", "reactivate", "lock", "unlock" }) do
    r:add{ method = "POST", path = "/api/users/{id:int}/" .. op, auth = "user", perm = "object",
      handler = function(req)
        local u = people.set_status(req.user, req.params.id, op, req)
        return web.json(200, user_json(u, nil, true))
      end }
  end

  r:add{ method = "POST", path = "/api/users/{id:int}/convert", auth = "user", perm = "users.convert_guest",
    handler = function(req)
      local u = people.convert_guest(req.user, req.params.id, req)
      return web.json(200, user_json(u, nil, true))
    end }

  r:add{ method = "GET", path = "/api/settings/users", auth = "user", perm = "admin.user_settings",
    handler = function() return web.json(200, user_settings_json()) end }

  r:add{ method = "PUT", path = "/api/settings/users", auth = "user", perm = "admin.user_settings",
    handler = function(req)
      user_settings.save(req.user, web.body(req), req)
      return web.json(200, user_settings_json())
    end }

  -- ---------------------------------------------------------------- pages
  r:add{ method = "GET", path = "/people", auth = "user", perm = "directory.view",
    handler = function(req)
      local q = search_query(req)
      local res = directory.search(req.user, q)
      local can_add = access.can(req.user, "users.invite")
      local viewer_actions = {}
      local roles_by_id = {}
      for _, u in ipairs(res.users) do
        roles_by_id[u.id] = type(u.roles) == "table" and u.roles or {}
        viewer_actions[u.id] = person_actions(req.user, u, roles_by_id[u.id])
      end
      return page.render(req, "people_list", {
        title = "People", res = res, q = q, facets = directory.facets(), can_add = can_add,
        actions = viewer_actions, role_names = ROLE_NAMES, role_defs = role_defs(),
        -- the manager filter is a type-ahead (the page does not list every manager): the name of the
        -- one chosen by a link (manager_id), if any
        manager_name = q.manager_id and (directory.employees_among({ q.manager_id })[1] or {}).name,
      }, { nav = "people" })
    end }

  r:add{ method = "GET", path = "/people/new", auth = "user", perm = "users.invite",
    handler = function(req)
      local guest_ok = people.may_invite_guest(req.user, "directory")
      local kept = page.kept(req)
      return page.render(req, "people_new", { title = "Add people", values = kept and kept.values or { invite = "on",
        kind = web.query(req).kind == "guest" and "guest" or "employee" }, errors = kept and kept.errors or {},
        guest_ok = guest_ok, can_manager = access.can(req.user, "users.change_manager") }, { nav = "people" })
    end }

  r:add{ method = "POST", path = "/people/new", auth = "user", perm = "users.invite",
    handler = function(req)
      local f = util.copy(web.form(req))
      if f.manager_id == "" then f.manager_id = nil end
      local ok, res = page.form(req, { back = "/people/new", values = web.form(req) }, function()
        typed_manager(f)
        return people.create(req.user, f, req)
      end)
      if not ok then return res end
      return page.redirect("/people/" .. res.id, "success",
        ("%s was added%s."):format(res.name, f.invite and " and an invitation is on its way" or ""))
    end }

  r:add{ method = "GET", path = "/people/{id:int}", auth = "user", perm = "directory.view",
    handler = function(req)
      local u, admin = visible_person(req)
      local roles = people.roles(u.id)
      local manager = u.manager_id and people.get(u.manager_id)
      local reports = directory.direct_reports(u.id)
      local profile = { viewer = req.user, person = u, sections = {} }
      events.fire("person.profile", profile)
      table.sort(profile.sections, function(a, b) return (a.order or 50) < (b.order or 50) end)
      return page.render(req, "people_show", { sections = profile.sections, title = u.name, person = u, roles = roles, role_names = ROLE_NAMES,
        manager = manager, reports = reports, admin = admin, chain = directory.chain(u.id), is_super = people.is_super(roles),
        actions = person_actions(req.user, u, roles), indirect = #authz.reports(u.id, false),
        reviews = review_history(req.user, u.id) }, { nav = "people" })
    end }

  r:add{ method = "GET", path = "/people/{id:int}/edit", auth = "user", perm = "object",
    handler = function(req)
      local u = visible_person(req)
      local actions = person_actions(req.user, u, {})
      if not actions.edit and not actions.manager and u.id ~= req.user.id then errors.forbidden() end
      local kept = page.kept(req)
      local values = kept and kept.values
      if not values then
        values = util.copy(u)
        local m = u.manager_id and people.get(u.manager_id)
        values.manager = m and m.email or ""
      end
      return page.render(req, "people_edit", { title = "Edit " .. u.name, person = u,
        values = values, errors = kept and kept.errors or {},
        can_edit = actions.edit or false, can_manager = actions.manager or false,
        can_email = access.can(req.user, "users.change_email") },
        { nav = "people" })
    end }

  r:add{ method = "POST", path = "/people/{id:int}/edit", auth = "user", perm = "object",
    handler = function(req)
      local u = visible_person(req)
      local f = util.copy(web.form(req))
      f.csrf_token = nil
      local actions = person_actions(req.user, u, {})
      if f.manager_id == "" then f.manager_id = nil; f.clear_manager = actions.manager and u.manager_id ~= nil end
      if not actions.manager then f.manager_id = nil; f.clear_manager = nil end
      local ok, res = page.form(req, { back = "/people/" .. u.id .. "/edit", values = web.form(req) }, function()
        if typed_manager(f) == "" then f.clear_manager = actions.manager and u.manager_id ~= nil end
        if not actions.manager then f.manager_id = nil; f.clear_manager = nil end
        if f.clear_manager then people.set_manager(req.user, u.id, nil, req) end
        return people.update(req.user, u.id, f, req)
      end)
      if not ok then return res end
      return page.redirect("/people/" .. u.id, "success", "Saved.")
    end }

  r:add{ method = "GET", path = "/people/{id:int}/roles", auth = "user", perm = "object",
    handler = function(req)
      local u = visible_person(req)
      -- the form only for someone who may change at least one of the roles
      if u.kind == "guest" then errors.forbidden("Guest accounts hold no roles.") end
      if not person_actions(req.user, u, {}).roles then
        errors.forbidden("Only HR Admins (and super users, for Tech Admin) give and take roles.")
      end
      local kept = page.kept(req)
      local roles = people.roles(u.id)
      if kept then
        roles = {}
        for _, role in ipairs(access.ROLE_LIST) do if kept.values[role] then roles[#roles + 1] = role end end
      end
      return page.render(req, "people_roles", roles_page_data(req, u, roles), { nav = "people" })
    end }

  r:add{ method = "POST", path = "/people/{id:int}/roles", auth = "user", perm = "object",
    handler = function(req)
      local u = visible_person(req)
      local f = web.form(req)
      local want = {}
      for _, role in ipairs(access.ROLE_LIST) do if f[role] then want[#want + 1] = role end end
      local ok, res, notes = page.form(req, { back = "/people/" .. u.id .. "/roles", values = f },
        people.set_roles, req.user, u.id, want, req)
      if not ok then return res end
      local msg = "Roles saved."
      if notes and notes[1] then msg = msg .. " " .. notes[1] end
      return page.redirect("/people/" .. u.id, "success", msg)
    end }

  local status_labels = { deactivate = "deactivated", reactivate = "reactivated", lock = "locked", unlock = "unlocked" }
  for _, op in ipairs({ "deactivate", "reactivate", "lock", "unlock" }) do
    r:add{ method = "POST", path = "/people/{id:int}/" .. op, auth = "user", perm = "object",
      handler = function(req)
        local ok, res = page.form(req, "/people/" .. req.params.id, people.set_status, req.user,
          req.params.id, op, req)
        if not ok then return res end
        return page.redirect("/people/" .. res.id, "success", res.name .. " was " .. status_labels[op] .. ".")
      end }
  end

  r:add{ method = "POST", path = "/people/{id:int}/delete", auth = "user", perm = "users.delete",
    handler = function(req)
      local u = visible_person(req)
      local ok, res = page.form(req, "/people/" .. u.id, people.delete, req.user, u.id, req)
      if not ok then return res end
      return page.redirect("/people", "success", u.name .. " was deleted.")
    end }

  r:add{ method = "POST", path = "/people/{id:int}/convert", auth = "user", perm = "users.convert_guest",
    handler = function(req)
      local u = people.convert_guest(req.user, req.params.id, req)
      return page.redirect("/people/" .. u.id, "success", u.name .. " is now a regular user.")
    end }

  r:add{ method = "GET", path = "/org", auth = "user", perm = "directory.view",
    handler = function(req)
      local roots, by_id, count = directory.org_tree()
      local focus = math.tointeger(tonumber(web.query(req).focus or ""))
      local open = {}
      if focus and by_id[focus] then
        open[focus] = true
        for _, id in ipairs(authz.chain(focus)) do open[id] = true end
      end
      return page.render(req, "org_chart", { title = "Org chart", roots = roots, count = count, open = open,
        focus = focus, me = req.user.id }, { nav = "org", wide = true })
    end }

  events.hook("page.nav", function(e)
    if e.user.kind == "guest" then return end
    e.items[#e.items + 1] = { id = "people", label = "People", href = "/people", icon = "☺", order = 20 }
    e.items[#e.items + 1] = { id = "org", label = "Org chart", href = "/org", icon = "⌥", order = 21 }
  end)
end


return M
