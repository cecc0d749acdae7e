-- The company directory as lists: search, filters, sorting and paging in a constant number
-- of queries whatever the company's size (one count, one page, roles and managers in bulk).
local db = require "lib.db"
local memo = require "lib.memo"
local json = require "lib.json"
local util = require "lib.util"
local errors = require "lib.errors"
local authz = require "core.authz"
local access = require "services.access"
local people = require "services.people"

local M = {}

M.SORTS = {
  name = "u.name COLLATE FOLD", email = "u.email", department = "u.department COLLATE FOLD",
  location = "u.location COLLATE FOLD", hire_date = "u.hire_date", job_title = "u.job_title COLLATE FOLD",
  manager = "m.name COLLATE FOLD", status = "u.status",
}

-- The ids of the people a directory query matches, in its order (see M.search): key -> array.
local ordered = memo.new({ "users", "user_roles" }, 8)

local function load_ordered(_, inner_join, where_sql, order_sql, args)
  return db.column(("SELECT u.id FROM users u %s WHERE %s %s"):format(inner_join, where_sql, order_sql),
    table.unpack(args))
end

--- Searches people as viewer may see them. q: { q, department, location, manager_id, manager (a
--- manager's name, or part of it),
--- managers_only (people with reports), role, status, kind, sort, order, page, per_page }. Returns { users, total, page, per_page, pages }.
function M.search(viewer, q)
  local admin = access.can(viewer, "users.view_all")
  local where, args = { "1=1" }, {}
  if not admin then
    where[#where + 1] = "u.status IN ('active', 'invited') AND u.kind = 'employee'"
  end
  if q.q and q.q ~= "" then
    local like = "%" .. q.q:gsub("[%%_\\]", "\\%0") .. "%"
    -- names and titles matched without regard to case or accents: "lukasz" finds "Łukasz"
    where[#where + 1] = [[(fold(u.name) LIKE fold(?) ESCAPE '\' OR u.email LIKE ? ESCAPE '\'
      OR fold(u.job_title) LIKE fold(?) ESCAPE '\')]]
    args[#args + 1], args[#args + 2], args[#args + 3] = like, like, like
  end
  for _, f in ipairs({ "department", "location" }) do
    if q[f] and q[f] ~= "" then
      where[#where + 1] = "u." .. f .. " = ? COLLATE NOCASE"
      args[#args + 1] = q[f]
    end
  end
  if q.manager_id then
    where[#where + 1] = "u.manager_id = ?"
    args[#args + 1] = q.manager_id
  end
  if q.manager and q.manager ~= "" then
    -- the manager by name, as typed (the filter's type-ahead offers the names of managers)
    where[#where + 1] = [[u.manager_id IN (SELECT mm.id FROM users mm WHERE fold(mm.name) LIKE fold(?) ESCAPE '\')]]
    args[#args + 1] = "%" .. q.manager:gsub("[%%_\\]", "\\%0") .. "%"
  end
  if q.managers_only then
    where[#where + 1] = "EXISTS (SELECT 1 FROM users d WHERE d.manager_id = u.id AND d.status <> 'deactivated')"
  end
  if q.role and q.role ~= "" then
    where[#where + 1] = "EXISTS (SELECT 1 FROM user_roles r WHERE r.user_id = u.id AND r.role = ?)"
    args[#args + 1] = q.role
  end
  if admin and q.status and q.status ~= "" then
    where[#where + 1] = "u.status = ?"
    args[#args + 1] = q.status
  end
  if admin and q.kind and q.kind ~= "" then
    where[#where + 1] = "u.kind = ?"
    args[#args + 1] = q.kind
  end
  local where_sql = table.concat(where, " AND ")
  local sort = M.SORTS[q.sort or "name"] and (q.sort or "name") or "name"
  local order = q.order == "desc" and "DESC" or "ASC"
  local per_page = math.max(1, math.min(200, tonumber(q.per_page) or 50))
  local page = math.max(1, math.tointeger(tonumber(q.page) or 1) or 1)
  local inner_join = sort == "manager" and "LEFT JOIN users m ON m.id = u.manager_id" or ""
  local order_sql = ("ORDER BY %s %s, u.id"):format(M.SORTS[sort], order)
  local details = [[SELECT u.id, u.email, u.name, u.job_title, u.department, u.location, u.hire_date,
      u.manager_id, u.status, u.kind, m.name AS manager_name,
      (SELECT count(*) FROM users d WHERE d.manager_id = u.id AND d.status <> 'deactivated') AS reports
    FROM (%s) p JOIN users u ON u.id = p.id LEFT JOIN users m ON m.id = u.manager_id ]] .. order_sql
  local total, rows
  if not (q.q and q.q ~= "") and not (q.manager and q.manager ~= "") then
    -- without a typed search, the matching people in order, kept while no person or role is
    -- written; the page is a slice of it (sorting 10,000 names cost ~3 ms a page)
    local key = order_sql .. "\0" .. where_sql .. "\0" .. table.concat(util.map(args, tostring), "\0")
    local all = ordered:fetch(key, load_ordered, inner_join, where_sql, order_sql, args)
    total = #all
    local slice = {}
    for i = (page - 1) * per_page + 1, math.min(total, page * per_page) do slice[#slice + 1] = all[i] end
    rows = db.query(details:format("SELECT value AS id FROM json_each(?)"), json.encode(slice))
  else
    total = db.value("SELECT count(*) FROM users u WHERE " .. where_sql, table.unpack(args))
    local page_args = { table.unpack(args) }
    page_args[#page_args + 1] = per_page
    page_args[#page_args + 1] = (page - 1) * per_page
    -- ids first (from the index, skipping rows cheaply), then the page's details: OFFSET on the
    -- full join would fetch every skipped row
    rows = db.query(details:format(("SELECT u.id FROM users u %s WHERE %s %s LIMIT ? OFFSET ?"):format(inner_join,
      where_sql, order_sql)), table.unpack(page_args))
  end
  local ids = {}
  for i, r in ipairs(rows) do ids[i] = r.id end
  local roles = people.roles_of(ids)
  for _, r in ipairs(rows) do r.roles = roles[r.id] or {} end
  return { users = rows, total = total, page = page, per_page = per_page,
    pages = math.max(1, (total + per_page - 1) // per_page), sort = sort, order = order:lower(), admin = admin }
end

-- The directory's filter choices, the same for every viewer (everyone may filter the directory by
-- them), read from users once and kept while no person is written (lib/memo.lua): the company's
-- departments, locations and managers change seldom, and reading them cost ~2.5 ms a page at
-- 10,000 people.
local choices = memo.new({ "users" }, 4)

local function load_facets()
  return {
    departments = db.column("SELECT DISTINCT department FROM users WHERE department <> '' ORDER BY department COLLATE FOLD"),
    locations = db.column("SELECT DISTINCT location FROM users WHERE location <> '' ORDER BY location COLLATE FOLD"),
  }
end

--- Distinct departments and locations (for filter menus). Shared: read-only.
function M.facets() return choices:fetch("facets", load_facets) end

--- The employees among ids (id, name), by name: people picked in a form (one query).
function M.employees_among(ids)
  if #ids == 0 then return {} end
  return db.query([[SELECT id, name FROM users WHERE id IN (SELECT value FROM json_each(?)) AND kind = 'employee'
    ORDER BY name COLLATE FOLD]], json.encode(ids))
end

--- Whether anyone reports to id (one query).
function M.has_reports(id)
  return db.value("SELECT 1 FROM users WHERE manager_id = ? LIMIT 1", id) == 1
end

local function load_managers()
  return db.query([[SELECT id, name FROM users WHERE id IN (SELECT DISTINCT manager_id FROM users
    WHERE manager_id IS NOT NULL) ORDER BY name COLLATE FOLD]])
end

--- The people who manage someone (id, name), by name: the manager filter's choices. Shared:
--- read-only.
function M.managers() return choices:fetch("managers", load_managers) end

--- The employee (not deactivated) a person typed in a manager field: their email, or their whole
--- name when only one person has it (case and accents aside). Returns the id, or nil and what to
--- tell the person. One query, whatever the size of the company.
function M.resolve_employee(text)
  text = util.trim(text or "")
  local rows = db.query([[SELECT id, name, email FROM users WHERE kind = 'employee' AND status <> 'deactivated'
    AND (lower(email) = lower(?) OR fold(name) = fold(?)) LIMIT 3]], text, text)
  for _, r in ipairs(rows) do
    if r.email:lower() == text:lower() then return r.id end
  end
  if #rows == 1 then return rows[1].id end
  if #rows == 0 then
    return nil, ("Nobody in Candor has the email or the name \"%s\": pick a name from the suggestions or type "
      .. "their email."):format(text)
  end
  return nil, ("Several people are called \"%s\": type the email of the one you mean."):format(text)
end

-- Everyone in name order, read once and kept while no person is written.
local by_name = memo.new({ "users" }, 1)

local function load_by_name()
  local cols, n = db.columns("SELECT id, status FROM users ORDER BY name COLLATE FOLD, id")
  local ids, rank, deactivated = cols.id or {}, {}, {}
  for k = 1, n do
    rank[ids[k]] = k
    if cols.status[k] == "deactivated" then deactivated[ids[k]] = true end
  end
  return { ids = ids, rank = rank, deactivated = deactivated }
end

--- Everyone in the order of their names without regard to case or accents (as SQL's FOLD), then
--- id: { ids (in that order), rank = { [id] = position }, deactivated = { [id] = true } }. Shared:
--- read-only. One query after a person changed, none otherwise.
function M.name_order() return by_name:fetch(1, load_by_name) end

--- The people among ids who are not deactivated (with_deactivated: all of them), in name order
--- (M.name_order), without a query when nobody changed.
function M.sorted_by_name(ids, with_deactivated)
  local o = M.name_order()
  local gone = with_deactivated and {} or o.deactivated
  local out = {}
  if #ids * 16 < #o.ids then -- a few: sort them
    for _, id in ipairs(ids) do
      if o.rank[id] and not gone[id] then out[#out + 1] = id end
    end
    local rank = o.rank
    table.sort(out, function(a, b) return rank[a] < rank[b] end)
  else -- many: walk everyone in order
    local wanted = {}
    for _, id in ipairs(ids) do wanted[id] = true end
    for _, id in ipairs(o.ids) do
      if wanted[id] and not gone[id] then out[#out + 1] = id end
    end
  end
  return out
end

--- Page page (a number or text; 1 when out of range) of per_page of the list ids: the ids on it and
--- { page, pages, total }.
function M.paged(ids, page, per_page)
  local pages = math.max(1, (#ids + per_page - 1) // per_page)
  page = math.tointeger(tonumber(page)) or 1
  if page < 1 or page > pages then page = 1 end
  return table.move(ids, (page - 1) * per_page + 1, math.min(#ids, page * per_page), 1, {}),
    { page = page, pages = pages, total = #ids }
end

--- The employees reporting to id who are not deactivated (id, name, job_title), by name.
function M.employee_reports(id)
  return db.query([[SELECT id, name, job_title FROM users WHERE manager_id = ? AND kind = 'employee'
    AND status <> 'deactivated' ORDER BY name COLLATE FOLD]], id)
end

--- The employees among ids who are not deactivated (id, name, job_title, manager_id), by name.
function M.employees_listed(ids)
  if #ids == 0 then return {} end
  return db.query([[SELECT id, name, job_title, manager_id FROM users WHERE id IN (SELECT value FROM json_each(?))
    AND kind = 'employee' AND status <> 'deactivated' ORDER BY name COLLATE FOLD]], json.encode(ids))
end

--- One page of the people among ids (id, name, job_title, department), by name.
function M.page_of(ids, page, per_page)
  if #ids == 0 then return {} end
  return db.query([[SELECT id, name, job_title, department FROM users
    WHERE id IN (SELECT value FROM json_each(?)) ORDER BY name COLLATE FOLD LIMIT ? OFFSET ?]], json.encode(ids),
    per_page, (math.max(1, page or 1) - 1) * per_page)
end

--- The people among ids who manage someone: a set { [id] = true } (one query).
function M.managers_among(ids)
  local set = {}
  if #ids == 0 then return set end
  for _, m in ipairs(db.column([[SELECT DISTINCT manager_id FROM users WHERE manager_id IN
      (SELECT value FROM json_each(?))]], json.encode(ids))) do set[m] = true end
  return set
end

--- The direct reports of id (id, name, job_title), by name: those not deactivated, or only the
--- active employees when active_only.
function M.direct_reports(id, active_only)
  if active_only then
    return db.query([[SELECT id, name, job_title FROM users WHERE manager_id = ? AND status = 'active'
      AND kind = 'employee' ORDER BY name]], id)
  end
  return db.query([[SELECT id, name, job_title FROM users WHERE manager_id = ? AND status <> 'deactivated'
    ORDER BY name COLLATE FOLD]], id)
end

--- One page of the people among ids who are not deactivated, by name, as listed() gives them: q holds
--- page (from 1; the first when out of range) and per_page (default 50, at most 200). Returns the rows and
--- { total, page, per_page, pages }. Two queries, whatever the number of ids.
function M.listed_page(ids, q)
  local per_page = math.max(1, math.min(200, math.tointeger(tonumber(q.per_page or "")) or 50))
  local list = json.encode(ids)
  local total = #ids == 0 and 0 or db.value([[SELECT count(*) FROM users WHERE id IN (SELECT value FROM json_each(?))
    AND status <> 'deactivated']], list)
  local pages = math.max(1, (total + per_page - 1) // per_page)
  local page = math.tointeger(tonumber(q.page or "")) or 1
  if page < 1 or page > pages then page = 1 end
  local rows = total == 0 and {} or db.query([[SELECT id, email, name, job_title, department, location, hire_date,
      manager_id, kind, status FROM users WHERE id IN (SELECT value FROM json_each(?)) AND status <> 'deactivated'
    ORDER BY name COLLATE FOLD, id LIMIT ? OFFSET ?]], list, per_page, (page - 1) * per_page)
  return rows, { total = total, page = page, per_page = per_page, pages = pages }
end

--- The managers above id (id, name), from the top down to id's own manager.
function M.chain(id)
  local ids = authz.chain(id)
  if #ids == 0 then return {} end
  local rows = db.query("SELECT id, name FROM users WHERE id IN (SELECT value FROM json_each(?))", json.encode(ids))
  local by = util.index_by(rows, "id")
  local out = {}
  for i = #ids, 1, -1 do if by[ids[i]] then out[#out + 1] = by[ids[i]] end end
  return out
end

--- How many people of each kind: { licensed = employees not deactivated, guests = guests not
--- deactivated, deactivated = deactivated employees }.
function M.counts()
  return db.row([[SELECT count(*) FILTER (WHERE kind = 'employee' AND status <> 'deactivated') AS licensed,
      count(*) FILTER (WHERE kind = 'guest' AND status <> 'deactivated') AS guests,
      count(*) FILTER (WHERE kind = 'employee' AND status = 'deactivated') AS deactivated FROM users]])
end

--- The whole org as a tree for the org chart: nodes { id, name, job_title, department,
--- children = {...} } under the roots (people without a manager). Two queries.
function M.org_tree()
  local rows = db.query([[SELECT id, name, job_title, department, location, manager_id FROM users
    WHERE kind = 'employee' AND status <> 'deactivated' ORDER BY name COLLATE FOLD]])
  local by_id, roots = {}, {}
  for _, r in ipairs(rows) do r.children = {}; by_id[r.id] = r end
  for _, r in ipairs(rows) do
    local m = r.manager_id and by_id[r.manager_id]
    if m then m.children[#m.children + 1] = r else roots[#roots + 1] = r end
  end
  local function count(n)
    local c = 0
    for _, ch in ipairs(n.children) do c = c + 1 + count(ch) end
    n.team_size = c
    return c
  end
  for _, r in ipairs(roots) do count(r) end
  table.sort(roots, function(a, b) return a.team_size > b.team_size end)
  return roots, by_id, #rows
end

--- People named in text ("Name <email>", a name or an email, separated by commas, semicolons or
--- lines) -> their ids: active employees only; 422 on field naming the one that is not exactly
--- one of them, or when there are more than max. A name matches without regard to case or
--- accents ("omer zak" is "Ömer Żak"), as the directory's search does.
function M.people_ids(text, field, max)
  local ids = {}
  for part in tostring(text or ""):gmatch("[^,;\n]+") do
    part = util.trim(part)
    if part ~= "" then
      local email = part:match("<([^>]+)>") or part
      local name = part:gsub("%s*<[^>]*>%s*$", "")
      local found = db.column([[SELECT id FROM users WHERE kind = 'employee' AND status = 'active'
        AND (email = ? COLLATE NOCASE OR fold(name) = fold(?)) LIMIT 2]], email, name)
      if #found == 0 and db.value([[SELECT 1 FROM users WHERE kind = 'employee'
          AND status = 'invited' AND (email = ? COLLATE NOCASE OR fold(name) = fold(?))]], email, name) then
        errors.invalid({ [field] = ("%s has not joined Candor yet: they can be named once they have accepted their invitation.")
          :format(part) })
      elseif #found ~= 1 then
        errors.invalid({ [field] = ("No single active colleague is called \"%s\": use their email address."):format(part) })
      end
      ids[#ids + 1] = found[1]
    end
    if max and #ids > max then errors.invalid({ [field] = ("At most %d colleagues."):format(max) }) end
  end
  return ids
end

--- People ids as a form shows them again: "Name <email>, ...".
function M.names_of(ids)
  if #ids == 0 then return "" end
  local rows = db.query("SELECT name, email FROM users WHERE id IN (SELECT value FROM json_each(?)) ORDER BY name",
    json.encode(ids))
  local out = {}
  for i, r in ipairs(rows) do out[i] = r.name .. " <" .. r.email .. ">" end
  return table.concat(out, ", ")
end

return M
