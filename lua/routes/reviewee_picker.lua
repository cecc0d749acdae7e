-- The reviewee picker every kind of cycle uses (a helper of route modules, not one itself):
-- the org chart with whole teams, or the searchable list with filters ("managers only" for
-- upward feedback), the same selection in both; add checked, add all matching, remove.
local web = require "lib.web"
local page = require "lib.page"
local util = require "lib.util"
local db = require "lib.db"
local authz = require "core.authz"
local directory = require "services.directory"

local M = {}

local function search_query(f, page_no)
  return { q = f.q, department = f.department, location = f.location, managers_only = f.managers == "1",
    manager_id = math.tointeger(tonumber(f.manager_id or "")), per_page = 200, page = page_no, kind = "employee" }
end

--- The form post: adds or removes the checked people, a manager with their whole team, or
--- everyone matching the list's filters. o: cycle, base (the picker's path), add(actor, id,
--- ids, req), remove(actor, id, ids, req). Redirects back to the picker.
function M.post(req, o)
  local f = web.form(req)
  local ids = f.ids
  if type(ids) == "string" then ids = { ids } end
  ids = ids or {}
  local back = o.base .. "?" .. util.build_query({ view = f.view, q = f.q, department = f.department,
    location = f.location, manager_id = f.manager_id, managers = f.managers, sort = f.sort, page = f.page,
    open = f.team })
  if f.team then
    local lead = math.tointeger(tonumber(f.team)) or 0
    ids = authz.reports(lead, false)
    table.insert(ids, lead)
  elseif f.all_matching == "1" then
    ids = {}
    local res = directory.search(req.user, search_query(f, 1))
    for p = 1, res.pages do
      if p > 1 then res = directory.search(req.user, search_query(f, p)) end
      for _, u in ipairs(res.users) do ids[#ids + 1] = u.id end
    end
  end
  local ok, res = page.attempt(back, f.remove and o.remove or o.add, req.user, o.cycle.id, ids, req)
  if not ok then return res end
  return page.redirect(back, "success", util.plural(res, "reviewee") .. (f.remove and " removed." or " added."))
end

--- The page. o: cycle, base (path), crumbs ({ {label, href} }), chosen_sql (one column of
--- reviewee ids, one ? for the cycle id), can_add, nav, done (the Done button's address),
--- later (text saying reviewees may be added later), managers_filter (offer "managers only").
function M.page(req, o)
  local c = o.cycle
  local q = web.query(req)
  local view = q.view == "org" and "org" or "list"
  local chosen = {}
  local count = 0
  for _, id in ipairs(db.column(o.chosen_sql, c.id)) do chosen[id] = true; count = count + 1 end
  local data = { title = "Reviewees of " .. c.name, cycle = c, view = view, chosen = chosen, count = count, q = q,
    can_add = o.can_add, base = o.base, crumbs = o.crumbs, done = o.done, later = o.later,
    managers_filter = o.managers_filter }
  if view == "list" then
    local sort = q.sort == "hire_date" and "hire_date" or "name"
    data.res = directory.search(req.user, { q = q.q, department = q.department, location = q.location,
      manager_id = math.tointeger(tonumber(q.manager_id or "")), managers_only = q.managers == "1", sort = sort,
      order = q.order, page = q.page, per_page = 50, kind = "employee", status = "" })
    data.sort = sort
    data.facets = directory.facets()
    data.managers = db.query([[SELECT id, name FROM users WHERE id IN (SELECT DISTINCT manager_id FROM users
      WHERE manager_id IS NOT NULL) ORDER BY name COLLATE NOCASE]])
  else
    data.roots = directory.org_tree()
    -- the team just added stays open, with the way down to it
    data.open = {}
    local open_id = math.tointeger(tonumber(q.open or ""))
    if open_id then
      data.open[open_id] = true
      for _, id in ipairs(authz.chain(open_id)) do data.open[id] = true end
    end
  end
  return page.render(req, "cycle_reviewees", data, { nav = o.nav, wide = view == "org" })
end

return M
