-- The reviewee picker every kind of cycle uses (a helper of route modules, not one itself):
-- the org chart with whole teams, or the searchable list with filters ("managers only" for
-- upward feedback); ticks travel between the two views in the address (?picked=4,8,15); add the
-- checked, add all matching, remove.
local web = require "lib.web"
local page = require "lib.page"
local util = require "lib.util"
local authz = require "core.authz"
local directory = require "services.directory"

local M = {}

local function search_query(f, page_no)
  return { q = f.q, department = f.department, location = f.location, managers_only = f.managers == "1",
    manager_id = math.tointeger(tonumber(f.manager_id or "")), per_page = 200, page = page_no, kind = "employee" }
end

--- The form post: adds or removes the checked people, a manager with their whole team, or
--- everyone matching the list's filters. o: cycle, here (the picker's path), add(actor, id,
--- ids, req), remove(actor, id, ids, req), warning(list, n) (when add also returns people
--- lacking something and how many: the sentence about them). Redirects back to the picker.
function M.post(req, o)
  local f = web.form(req)
  local ids = f.ids
  if type(ids) == "string" then ids = { ids } end
  ids = ids or {}
  local back = o.here .. "?" .. util.build_query({ view = f.view, q = f.q, department = f.department,
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
  local ok, res, lacking, missing = page.form(req, back, f.remove and o.remove or o.add, req.user, o.cycle.id, ids,
    req)
  if not ok then return res end
  local done = util.plural(res, "reviewee") .. (f.remove and " removed." or " added.")
  if not f.remove and missing and missing > 0 then
    return page.redirect(back, "info", done .. " " .. o.warning(lacking, missing))
  end
  return page.redirect(back, "success", done)
end

--- The page. o: cycle, here (path), crumbs ({ {label, href} }), chosen(cycle_id) (the cycle's
--- reviewees as a set { [user_id] = true } and how many), can_add, nav, done (the Done button's address), later
--- (says reviewees may come later), managers_filter (offer "managers only"), remove_confirm,
--- no_manager (what the "No manager" mark on people without one means in this kind of cycle).
function M.page(req, o)
  local c = o.cycle
  local q = web.query(req)
  local view = q.view == "org" and "org" or "list"
  local chosen, count = o.chosen(c.id)
  -- people ticked but not added yet travel in the address (?picked=4,8,15) from one view to the
  -- other, so switching between the org chart and the list keeps the selection
  local picked, picked_ids = {}, {}
  for id in (q.picked or ""):gmatch("%d+") do
    id = math.tointeger(tonumber(id))
    if id and not chosen[id] and not picked[id] and #picked_ids < 10000 then
      picked[id] = true
      picked_ids[#picked_ids + 1] = id
    end
  end
  local data = { title = "Reviewees of " .. c.name, cycle = c, view = view, chosen = chosen, count = count, q = q,
    can_add = o.can_add, here = o.here, crumbs = o.crumbs, done = o.done, later = o.later,
    managers_filter = o.managers_filter, remove_confirm = o.remove_confirm, no_manager = o.no_manager,
    picked = picked, picked_list = table.concat(picked_ids, ","),
    picked_people = directory.employees_among(picked_ids) }
  if view == "list" then
    local sort = q.sort == "hire_date" and "hire_date" or "name"
    data.res = directory.search(req.user, { q = q.q, department = q.department, location = q.location,
      manager_id = math.tointeger(tonumber(q.manager_id or "")), managers_only = q.managers == "1", sort = sort,
      order = q.order, page = q.page, per_page = 50, kind = "employee", status = "" })
    data.sort = sort
    data.facets = directory.facets()
    data.managers = directory.managers()
  else
    data.roots = directory.org_tree()
    -- the team just added stays open, with the way down to it
    data.open = {}
    local open_id = math.tointeger(tonumber(q.open or ""))
    if open_id then
      data.open[open_id] = true
      for _, id in ipairs(authz.chain(open_id)) do data.open[id] = true end
    end
    -- and the way down to everyone ticked, so they are seen ticked
    for _, pid in ipairs(picked_ids) do
      for _, id in ipairs(authz.chain(pid)) do data.open[id] = true end
    end
  end
  return page.render(req, "cycle_reviewees", data, { nav = o.nav, wide = view == "org" })
end

return M
