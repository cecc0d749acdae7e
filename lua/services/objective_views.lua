-- What the objective pages show, for a viewer: the alignment tree of a cycle, a cycle's list
-- with search, a person's objectives, the home panel and to-dos, a manager's team, the
-- resources beside a review. Every one asks the evaluator for all its rows at once
-- (objectives.readable / readable_columns: one C call) and costs a constant number of queries;
-- an objective the viewer may not read counts nowhere (no node, no child, no roll-up, no count).
local db = require "lib.db"
local json = require "lib.json"
local lru = require "lib.lru"
local memo = require "lib.memo"
local util = require "lib.util"
local dates = require "lib.dates"
local authz = require "core.authz"
local objectives = require "services.objectives"
local cycles = require "services.objective_cycles"
local directory = require "services.directory"

local M = {}

M.CHILDREN_SHOWN = 50 -- children shown under a node of the tree (the rest: "N more")
M.ROOTS_PER_PAGE = 50

local function today() return dates.today() end

local function add_days(date, n) return util.format_date(util.date_to_ts(date) + n * 86400) end

-- Titles and owners of objectives ids (a list), open: { [id] = { title, owner_name, ... } }. One query.
local function details(ids)
  local out = {}
  if #ids == 0 then return out end
  for _, o in ipairs(db.query([[SELECT o.id, o.title_enc, o.owner_id, o.due_on, o.category, o.visibility, o.rating,
      u.name AS owner_name FROM objectives o JOIN users u ON u.id = o.owner_id
      WHERE o.id IN (SELECT value FROM json_each(?))]], json.encode(ids))) do
    out[o.id] = objectives.open(o)
  end
  return out
end

-- ------------------------------------------------------------------ the alignment tree

-- What the tree and HR's overview read of every objective of a cycle, as columns, with each
-- row's position by id, its parent's position and an order that puts every objective before
-- what it aligns to. Kept until the cycle's version changes (triggers of migration 012 change it
-- on every change to these columns, however it is made); a few cycles at most.
local skeletons = lru.new{ max_items = 4 }

--- The skeleton of cycle id: { cols = { id, owner_id, visibility, parent_id, level, progress,
--- status, due_on }, n, at = { [id] = row }, up = { [row] = parent row }, order, zeros (n zeros) }. Two queries
--- when it changed, one when not.
function M.skeleton(cycle_id)
  local version = db.value("SELECT version FROM objective_cycles WHERE id = ?", cycle_id)
  local s = skeletons:get(cycle_id)
  if s and s.version == version then return s end
  local cols, n = db.columns([[SELECT id, owner_id, visibility, parent_id, level, progress, status, due_on
    FROM objectives WHERE cycle_id = ? ORDER BY id]], cycle_id)
  local id, parent, level = cols.id or {}, cols.parent_id or {}, cols.level or {}
  local at, up, order = {}, {}, {}
  for i = 1, n do at[id[i]] = i end
  for i = 1, n do
    local p = parent[i]
    if p then up[i] = at[p] end
  end
  for _, lvl in ipairs({ "individual", "team", "company" }) do -- what aligns comes before what it aligns to
    for i = 1, n do
      if level[i] == lvl then order[#order + 1] = i end
    end
  end
  local zeros = {}
  for i = 1, n do zeros[i] = 0 end
  s = { version = version, cols = cols, n = n, at = at, up = up, order = order, zeros = zeros }
  skeletons:set(cycle_id, s, n)
  return s
end

--- Which rows of skeleton s viewer may read: the array of booleans and how many. The parts
--- (named on, granted) come from one query of viewer's shares in the cycle; one C call decides all.
function M.readable_rows(viewer, s)
  local parts = {}
  -- every objective viewer is named on (few): those of other cycles have no row here
  for _, oid in ipairs(db.column("SELECT objective_id FROM objective_shares WHERE user_id = ?", viewer.id)) do
    local i = s.at[oid]
    if i then parts[i] = "named" end
  end
  return authz.check_many(viewer.id, objectives.READ, s.cols.visibility or {}, s.cols.owner_id or {}, parts, s.n)
end

--- The alignment tree of cycle c as viewer sees it. Only objectives viewer may read are nodes;
--- one aligned to an objective viewer may not read is not aligned for them. Each node has
--- progress (its own), rollup (the mean progress of the node and every node below it that
--- viewer sees), children (how many aligned objectives viewer sees directly below) and below (all
--- of them, at every level). The roots are the company objectives and the team objectives not
--- aligned to one viewer sees; individual objectives aligned to nothing viewer sees are no part
--- of the tree. opts: focus (an objective id: that node and what is below it), page (of the
--- roots). Returns { roots = { node }, total_roots, page, pages, visible (nodes in the tree),
--- focus = node or nil, path = { node } (the way down to the focus) }; a node: { id, level,
--- status, progress, rollup, children, below, title, owner_name, due_on, kids = { node } (shown
--- one level down from the top or the focus), more (children not shown) }. A constant number of
--- queries; one C call decides every node.
function M.tree(viewer, c, opts)
  opts = opts or {}
  local s = M.skeleton(c.id)
  local ok = M.readable_rows(viewer, s)
  local cols, up, order = s.cols, s.up, s.order
  local id, level, progress = cols.id, cols.level, cols.progress
  local focus = opts.focus and s.at[opts.focus]
  if focus and not ok[focus] then focus = nil end
  -- one pass, each objective before what it aligns to: sums and counts roll up as they go
  -- (arrays copied whole, so every access below is to an array, never a hash)
  local n = s.n
  local sum = table.move(progress, 1, n, 1, {})
  local below = table.move(s.zeros, 1, n, 1, {})
  local kids_n = table.move(s.zeros, 1, n, 1, {})
  local kids, roots = {}, {}
  local visible = 0
  for k = 1, n do
    local i = order[k]
    if ok[i] then
      local p = up[i]
      if p and ok[p] then
        sum[p] = sum[p] + sum[i]
        kids_n[p] = kids_n[p] + 1
        below[p] = below[p] + below[i] + 1
        local pp = up[p]
        if p == focus or not (pp and ok[pp]) then -- a root or the focus: the page lists its children
          local list = kids[p]
          if not list then list = {}; kids[p] = list end
          list[#list + 1] = i
        end
      elseif level[i] ~= "individual" then
        roots[#roots + 1] = i
        visible = visible + 1 + below[i]
      end
    end
  end
  local function by_level_then_id(a, b)
    if level[a] ~= level[b] then return level[a] == "company" end
    return id[a] < id[b]
  end
  table.sort(roots, by_level_then_id)
  local shown_ids = {}
  local function node(i, depth)
    local x = { id = id[i], level = level[i], status = cols.status[i], progress = progress[i],
      rollup = math.floor(sum[i] / (1 + below[i]) + 0.5), children = kids_n[i], below = below[i], kids = {}, more = 0 }
    shown_ids[#shown_ids + 1] = id[i]
    if depth < 1 and kids[i] then
      local list = kids[i]
      table.sort(list, by_level_then_id)
      for k = 1, math.min(#list, M.CHILDREN_SHOWN) do x.kids[#x.kids + 1] = node(list[k], depth + 1) end
    end
    x.more = x.children - #x.kids
    return x
  end
  local out = { roots = {}, total_roots = #roots, visible = visible, path = {} }
  if focus then
    out.focus = node(focus, 0)
    local p = up[focus]
    while p and ok[p] do
      table.insert(out.path, 1, { id = id[p], level = level[p] })
      shown_ids[#shown_ids + 1] = id[p]
      p = up[p]
    end
  else
    local pages = math.max(1, (#roots + M.ROOTS_PER_PAGE - 1) // M.ROOTS_PER_PAGE)
    local page = math.max(1, math.min(pages, math.tointeger(tonumber(opts.page)) or 1))
    out.page, out.pages = page, pages
    for k = (page - 1) * M.ROOTS_PER_PAGE + 1, math.min(#roots, page * M.ROOTS_PER_PAGE) do
      out.roots[#out.roots + 1] = node(roots[k], 0)
    end
  end
  -- titles and owners of what is shown (one query)
  local d = details(shown_ids)
  local function fill(x)
    local o = d[x.id]
    x.title, x.owner_name, x.owner_id, x.due_on = o.title, o.owner_name, o.owner_id, o.due_on
    for _, k in ipairs(x.kids or {}) do fill(k) end
  end
  for _, r in ipairs(out.roots) do fill(r) end
  if out.focus then fill(out.focus) end
  for _, p in ipairs(out.path) do fill(p) end
  return out
end

-- ------------------------------------------------------------------ lists

local LIST_COLS = [[o.id, o.cycle_id, o.owner_id, o.level, o.parent_id, o.visibility, o.title_enc, o.category,
  o.due_on, o.status, o.progress, o.rating, o.updated_at, u.name AS owner_name, u.department AS owner_department]]

-- The rows of a cycle's skeleton in the list's order: the owner's name without regard to case or
-- accents (as SQL's FOLD), then id. Kept per version of the cycle while nobody's name changes.
local list_orders = memo.new({ "users" }, 8)

local function list_order(_, s)
  local rank = directory.name_order().rank
  local buckets, owner, last = {}, s.cols.owner_id, 0
  for i = 1, s.n do -- the skeleton is in id order, so each owner's rows stay in id order
    local r = rank[owner[i]]
    local b = buckets[r]
    if not b then b = {}; buckets[r] = b end
    b[#b + 1] = i
    if r > last then last = r end
  end
  local order = {}
  for k = 1, last do
    local b = buckets[k]
    if b then table.move(b, 1, #b, #order + 1, order) end
  end
  return order
end

local OPEN = { on_track = true, at_risk = true, off_track = true }

-- What a search of a cycle's list compares: per objective its title opened and folded, and its
-- owner's name folded, kept in memory for the SEARCH_CYCLES cycles searched last (titles stay
-- sealed in the database). While neither objectives nor users changed (memo.stamp) a search reads
-- nothing; after a change anywhere it reads the cycle's objectives' authentication tags (the last
-- 16 bytes of a sealed title: a new random nonce makes a new tag every time a title is sealed) and
-- owners' names, and opens only the titles it has not opened under that tag. Only titles a viewer
-- may read are opened for them; who may read what is decided on every search. About 8 MB for a
-- cycle of 30,000 objectives: at most SEARCH_CYCLES cycles and SEARCH_OBJECTIVES objectives kept.
M.SEARCH_CYCLES, M.SEARCH_OBJECTIVES = 4, 64000
local search_kept = lru.new{ max_items = M.SEARCH_CYCLES, max_cost = M.SEARCH_OBJECTIVES }
local search_stamp = memo.stamp({ "objectives", "users" })

-- The kept titles and names of cycle_id covering ids (objectives of the cycle viewer may read):
-- { title = { [id] = folded }, owner = { [id] = folded } }.
local function searchable(cycle_id, ids)
  local stamp = search_stamp()
  local k = search_kept:get(cycle_id)
  if k and stamp and k.stamp == stamp then
    local title, missing = k.title, false
    for _, id in ipairs(ids) do
      if not title[id] then missing = true; break end
    end
    if not missing then return k end
  end
  if not k then
    k = { tag = {}, title = {}, name = {}, owner = {} }
    search_kept:set(cycle_id, k)
  end
  k.stamp = nil
  local wanted = {}
  for _, id in ipairs(ids) do wanted[id] = true end
  -- what is still true is kept (same tag, same name), the rest is read again; an objective that
  -- left the cycle stays behind unused (a list's ids come from the cycle's skeleton)
  local tag, title, name, owner = k.tag, k.title, k.name, k.owner
  local cols, n = db.columns([[SELECT o.id, substr(o.title_enc, -16) AS tag, u.name FROM objectives o
    JOIN users u ON u.id = o.owner_id WHERE o.cycle_id = ?]], cycle_id)
  search_kept:set_cost(cycle_id, n)
  local col_id, col_tag, col_name = cols.id, cols.tag, cols.name
  local stale = {}
  for i = 1, n do
    local id = col_id[i]
    if tag[id] ~= col_tag[i] then
      tag[id], title[id] = nil, nil
      if wanted[id] then stale[#stale + 1] = id end
    end
    local nm = col_name[i]
    if name[id] ~= nm then name[id], owner[id] = nm, util.fold(nm) end
  end
  if #stale > 0 then
    for _, o in ipairs(db.query([[SELECT id, title_enc FROM objectives WHERE id IN (SELECT value FROM json_each(?))]],
      json.encode(stale))) do
      tag[o.id] = o.title_enc:sub(-16)
      title[o.id] = util.fold(objectives.open(o).title)
    end
  end
  -- trusted without reading only when what was read is committed and nothing changed meanwhile
  k.stamp = stamp and search_stamp() == stamp and stamp or nil
  return k
end

--- The objectives of cycle c that viewer may read, filtered: opts q (words in the title or the
--- owner's name, without regard to case or accents), status (a status, "open" or "overdue"),
--- level, owner_id, page, per_page. Returns { rows, total, page, pages }. Searching opens the
--- titles of what viewer may read only, and keeps them opened (searchable). Three queries (the
--- cycle's skeleton, the viewer's shares, the page), with a search up to two more; one C call
--- decides every row, as for the tree.
function M.list(viewer, c, opts)
  opts = opts or {}
  local s = M.skeleton(c.id)
  local ok = M.readable_rows(viewer, s)
  local cols = s.cols
  local row_id, owner, status, level, due = cols.id, cols.owner_id, cols.status, cols.level, cols.due_on
  local st = opts.status
  local statuses = (st == "open" or st == "overdue") and OPEN or (cycles.STATUS_LABELS[st or ""] and { [st] = true })
  local before = st == "overdue" and today()
  local want_level = objectives.LEVEL_LABELS[opts.level or ""] and opts.level
  local want_owner = math.tointeger(opts.owner_id)
  local ids = {}
  for _, i in ipairs(list_orders:fetch(c.id .. ":" .. s.version, list_order, s)) do
    if ok[i] and (not statuses or statuses[status[i]]) and (not want_level or level[i] == want_level)
      and (not want_owner or owner[i] == want_owner) and (not before or (due[i] and due[i] < before)) then
      ids[#ids + 1] = row_id[i]
    end
  end
  local q = opts.q and util.trim(opts.q) or ""
  if q ~= "" then
    -- search what the viewer may read: titles are sealed, so they are opened (never the others'),
    -- and kept opened (searchable)
    local needle = util.fold(q)
    local k = searchable(c.id, ids)
    local title, owner_of = k.title, k.owner
    local found = {}
    for _, x in ipairs(ids) do
      local tt, on = title[x], owner_of[x]
      if (tt and tt:find(needle, 1, true)) or (on and on:find(needle, 1, true)) then found[#found + 1] = x end
    end
    ids = found
  end
  local per_page = math.max(1, math.min(200, math.tointeger(tonumber(opts.per_page)) or 50))
  local pages = math.max(1, (#ids + per_page - 1) // per_page)
  local page = math.max(1, math.min(pages, math.tointeger(tonumber(opts.page)) or 1))
  local page_ids = {}
  for k = (page - 1) * per_page + 1, math.min(#ids, page * per_page) do page_ids[#page_ids + 1] = ids[k] end
  local rows = {}
  if #page_ids > 0 then
    local by = {}
    for _, o in ipairs(db.query("SELECT " .. LIST_COLS .. [[ FROM objectives o JOIN users u ON u.id = o.owner_id
        WHERE o.id IN (SELECT value FROM json_each(?))]], json.encode(page_ids))) do
      by[o.id] = objectives.open(o)
    end
    for _, oid in ipairs(page_ids) do rows[#rows + 1] = by[oid] end
  end
  return { rows = rows, total = #ids, page = page, pages = pages, per_page = per_page }
end

--- The objectives of person owner_id that viewer may read, newest cycle first: { { cycle =,
--- window =, objectives = { open } } }. opts: open_only, limit (objectives). Two queries.
function M.of_person(viewer, owner_id, opts)
  opts = opts or {}
  local rows = db.query("SELECT " .. LIST_COLS .. ", " .. objectives.PART_SQL .. [[ AS part
    FROM objectives o JOIN users u ON u.id = o.owner_id JOIN objective_cycles c ON c.id = o.cycle_id
    WHERE o.owner_id = ? ]] .. (opts.open_only and "AND o.status IN ('on_track', 'at_risk', 'off_track') " or "")
    .. [[ORDER BY c.starts_on DESC, c.id DESC, o.due_on, o.id LIMIT ?]], viewer.id, owner_id, opts.limit or 500)
  rows = objectives.readable(viewer, rows)
  local groups, by_cycle, ids = {}, {}, {}
  for _, o in ipairs(rows) do
    objectives.open(o)
    if not by_cycle[o.cycle_id] then
      by_cycle[o.cycle_id] = { objectives = {} }
      groups[#groups + 1] = by_cycle[o.cycle_id]
      ids[#ids + 1] = o.cycle_id
    end
    local list = by_cycle[o.cycle_id].objectives
    list[#list + 1] = o
  end
  for id, c in pairs(cycles.many(ids)) do
    by_cycle[id].cycle, by_cycle[id].window = c, cycles.window(c)
  end
  return groups
end

--- Viewer's own open objectives in cycles not closed, soonest due first (at most limit), for
--- the home page. One query.
function M.my_open(viewer, limit)
  local rows = db.query("SELECT " .. LIST_COLS .. ", " .. objectives.PART_SQL .. [[ AS part, c.name AS cycle_name,
      c.update_until FROM objectives o JOIN users u ON u.id = o.owner_id JOIN objective_cycles c ON c.id = o.cycle_id
    WHERE o.owner_id = ? AND o.status IN ('on_track', 'at_risk', 'off_track') AND c.update_until >= ?
    ORDER BY coalesce(o.due_on, '9999-12-31'), o.id LIMIT ?]], viewer.id, viewer.id, today(), limit or 5)
  rows = objectives.readable(viewer, rows)
  for _, o in ipairs(rows) do objectives.open(o) end
  return M.label(rows)
end

--- For a manager's team: per person of ids, the objectives viewer may read in cycles whose time
--- frame includes today: { [id] = { count, open, progress (mean), overdue } } (absent: none).
--- One query for the whole team.
function M.team(viewer, ids)
  local out = {}
  if #ids == 0 then return out end
  local day = today()
  local rows = db.query([[SELECT o.owner_id, o.visibility, o.progress, o.status, o.due_on, ]] .. objectives.PART_SQL
    .. [[ AS part FROM objectives o JOIN objective_cycles c ON c.id = o.cycle_id
    WHERE o.owner_id IN (SELECT value FROM json_each(?)) AND c.starts_on <= ? AND c.update_until >= ?]],
    viewer.id, json.encode(ids), day, day)
  for _, o in ipairs(objectives.readable(viewer, rows)) do
    local s = out[o.owner_id] or { count = 0, open = 0, sum = 0, overdue = 0 }
    s.count, s.sum = s.count + 1, s.sum + o.progress
    if cycles.OPEN[o.status] then
      s.open = s.open + 1
      if o.due_on and o.due_on < day then s.overdue = s.overdue + 1 end
    end
    out[o.owner_id] = s
  end
  for _, s in pairs(out) do s.progress = math.floor(s.sum / s.count + 0.5) end
  return out
end

--- For a manager's team page: per person of ids, the objectives viewer may read in cycles whose
--- time frame includes today, open: { [id] = { objective, ... } } (each with status_label from
--- its cycle). Two queries for the whole team.
function M.team_details(viewer, ids)
  local out = {}
  if #ids == 0 then return out end
  local day = today()
  local rows = db.query("SELECT " .. LIST_COLS .. ", " .. objectives.PART_SQL .. [[ AS part, c.name AS cycle_name
    FROM objectives o JOIN users u ON u.id = o.owner_id JOIN objective_cycles c ON c.id = o.cycle_id
    WHERE o.owner_id IN (SELECT value FROM json_each(?)) AND c.starts_on <= ? AND c.update_until >= ?
    ORDER BY coalesce(o.due_on, '9999-12-31'), o.id]], viewer.id, json.encode(ids), day, day)
  rows = objectives.readable(viewer, rows)
  M.label(rows)
  for _, o in ipairs(rows) do
    objectives.open(o)
    local list = out[o.owner_id] or {}
    list[#list + 1] = o
    out[o.owner_id] = list
  end
  return out
end

--- Sets status_label on each row from its cycle's labels (one query for all the cycles).
function M.label(rows)
  local ids, seen = {}, {}
  for _, o in ipairs(rows) do
    if not seen[o.cycle_id] then seen[o.cycle_id] = true; ids[#ids + 1] = o.cycle_id end
  end
  local by = cycles.many(ids)
  for _, o in ipairs(rows) do
    local c = by[o.cycle_id]
    o.status_label = c and c.labels[o.status] or cycles.STATUS_LABELS[o.status]
  end
  return rows
end

--- The objectives of reviewee that viewer may read in the cycles overlapping the review period
--- of review cycle rc (from a year before its start to its last due date), soonest due first.
function M.for_review(viewer, reviewee_id, rc)
  local last = rc.sign_due or rc.manager_due or rc.self_due or rc.start_date
  local from = add_days(rc.start_date, -365)
  local rows = db.query("SELECT " .. LIST_COLS .. ", " .. objectives.PART_SQL .. [[ AS part, c.name AS cycle_name
    FROM objectives o JOIN users u ON u.id = o.owner_id JOIN objective_cycles c ON c.id = o.cycle_id
    WHERE o.owner_id = ? AND c.starts_on <= ? AND c.ends_on >= ?
    ORDER BY c.starts_on DESC, coalesce(o.due_on, '9999-12-31'), o.id LIMIT 50]], viewer.id, reviewee_id, last, from)
  rows = objectives.readable(viewer, rows)
  for _, o in ipairs(rows) do objectives.open(o) end
  return M.label(rows)
end

--- The cycles open for editing in which viewer takes part and has no objective yet (home to-do).
function M.to_set(viewer)
  local rows = db.query(([[SELECT c.id, c.name, c.edit_until, c.creators FROM objective_cycles c, users u
    WHERE u.id = ? AND %s AND c.edit_until >= ? AND c.starts_on <= ?
      AND NOT EXISTS (SELECT 1 FROM objectives o WHERE o.cycle_id = c.id AND o.owner_id = u.id)
    ORDER BY c.edit_until, c.id]]):format(cycles.PARTICIPANT_SQL), viewer.id, today(), add_days(today(), 30))
  local out = {}
  local manager = #authz.reports(viewer.id, true) > 0
  for _, c in ipairs(rows) do
    if c.creators ~= "managers" or manager then out[#out + 1] = c end
  end
  return out
end

return M
