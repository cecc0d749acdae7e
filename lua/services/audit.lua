-- The audit log: who did what, when (UTC), from where. Append-only (triggers refuse updates
-- and deletes) and hash-chained: each entry's hash covers the previous hash and its own
-- fields, so `candor audit verify` finds any edit made behind the application's back.
-- Never pass secrets or confidential content in details: a reason someone typed is sealed by
-- services/reasons.lua and only its id (reason_id) is kept here.
local db = require "lib.db"
local json = require "lib.json"
local util = require "lib.util"
local dates = require "lib.dates"
local errors = require "lib.errors"
local crypto = require "core.crypto"
local clock = require "core.clock"

local M = {}

local GENESIS = string.rep("0", 64)

local function canonical(e)
  return table.concat({
    tostring(e.at), tostring(e.actor_id or ""), e.actor_label or "", e.action,
    e.target_type or "", tostring(e.target_id or ""), e.target_label or "", e.ip or "", e.details or "{}",
  }, "\31")
end

local function chain(prev, e)
  return crypto.hex(crypto.sha256(prev .. "\30" .. canonical(e)))
end

--- Records an event. entry: { action=, actor= (user row or nil), target_type=, target_id=,
--- target_label=, ip=, details= (table, no secrets) }. Call inside the change's transaction.
function M.record(entry)
  local actor = entry.actor
  local details = entry.details or {}
  local imp = entry.req and entry.req.session and entry.req.session.impersonator
  if imp then -- an action taken while impersonating names who really took it
    local copy = {}
    for k, v in pairs(details) do copy[k] = v end
    copy.impersonated_by = imp.email or imp.id
    details = copy
  end
  local e = {
    at = clock.now(),
    actor_id = actor and actor.id or entry.actor_id,
    actor_label = actor and (actor.email or actor.name) or entry.actor_label or "system",
    action = assert(entry.action, "audit entry needs an action"),
    target_type = entry.target_type,
    target_id = entry.target_id,
    target_label = entry.target_label,
    ip = entry.ip or (entry.req and entry.req.client_ip) or (entry.req and entry.req.peer),
    details = json.encode(details),
  }
  local prev = db.value("SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1") or GENESIS
  e.prev_hash = prev
  e.hash = chain(prev, e)
  db.exec([[INSERT INTO audit_log(at, actor_id, actor_label, action, target_type, target_id,
            target_label, ip, details, prev_hash, hash) VALUES(?,?,?,?,?,?,?,?,?,?,?)]],
    e.at, e.actor_id, e.actor_label, e.action, e.target_type, e.target_id, e.target_label,
    e.ip, e.details, e.prev_hash, e.hash)
  return e
end

local function like(s)
  return "%" .. s:gsub("[%%_\\]", "\\%0") .. "%"
end

--- Audit entries matching filters { action=, actor=, target=, from=, to= (YYYY-MM-DD, UTC),
--- page=, per_page= }, newest first. Returns { entries=, total=, page=, per_page=, pages= } or
--- raises 422 on a bad filter.
function M.search(f)
  local where, args, bad = {}, {}, {}
  -- the action and those under it ("review" takes review.share), looked up in the kept counts
  -- (audit_action_counts, one row per action): the entries are then read through the index on
  -- (action, id), and counted from those counts when nothing else is filtered
  local action = util.trim(f.action or "")
  local names, kept
  if action ~= "" then
    names, kept = {}, 0
    for _, r in ipairs(db.query("SELECT action, n FROM audit_action_counts WHERE action = ? OR action LIKE ? ESCAPE '\\'",
      action, action:gsub("[%%_\\]", "\\%0") .. ".%")) do
      names[#names + 1], kept = r.action, kept + r.n
    end
  end
  local actor = util.trim(f.actor or "")
  if actor ~= "" then
    local id = actor:match("^%d+$") and math.tointeger(tonumber(actor))
    if id then
      where[#where + 1] = "actor_id = ?"
      args[#args + 1] = id
    else
      where[#where + 1] = "(actor_label LIKE ? ESCAPE '\\' OR actor_id IN (SELECT id FROM users WHERE name LIKE ? ESCAPE '\\'))"
      args[#args + 1] = like(actor)
      args[#args + 1] = like(actor)
    end
  end
  local target = util.trim(f.target or "")
  if target ~= "" then
    local ttype, tid = target:match("^([%w_]+):(%d+)$")
    if ttype then
      where[#where + 1] = "target_type = ? AND target_id = ?"
      args[#args + 1] = ttype
      args[#args + 1] = math.tointeger(tonumber(tid))
    else
      where[#where + 1] = "target_label LIKE ? ESCAPE '\\'"
      args[#args + 1] = like(target)
    end
  end
  local from, to = util.trim(f.from or ""), util.trim(f.to or "")
  if from ~= "" then
    local ts = util.parse_date(from) and dates.local_to_utc(from, 0) -- the company's days
    if not ts then bad.from = "Use a date like 2026-01-31." else
      where[#where + 1] = "at >= ?"
      args[#args + 1] = ts
    end
  end
  if to ~= "" then
    local ts = util.parse_date(to) and dates.local_to_utc(dates.add_days(to, 1), 0)
    if not ts then bad.to = "Use a date like 2026-01-31." else
      where[#where + 1] = "at < ?"
      args[#args + 1] = ts
    end
  end
  if next(bad) then errors.invalid(bad) end
  local per_page = math.tointeger(tonumber(f.per_page or "")) or 50
  per_page = math.max(1, math.min(200, per_page))
  local pg = math.max(1, math.tointeger(tonumber(f.page or "")) or 1)
  local cols = "SELECT id, at, actor_id, actor_label, action, target_type, target_id, target_label, ip, details "
    .. "FROM audit_log"
  local total, rows
  if not names then
    local clause = #where > 0 and (" WHERE " .. table.concat(where, " AND ")) or ""
    total = #where == 0 and db.value("SELECT coalesce(sum(n), 0) FROM audit_action_counts")
      or db.value("SELECT count(*) FROM audit_log" .. clause, table.unpack(args))
    local q = { table.unpack(args) }
    q[#q + 1], q[#q + 2] = per_page, (pg - 1) * per_page
    rows = db.query(cols .. clause .. " ORDER BY id DESC LIMIT ? OFFSET ?", table.unpack(q))
  elseif #names == 0 then
    total, rows = 0, {}
  else
    local others = #where > 0 and (" AND " .. table.concat(where, " AND ")) or ""
    total = #where == 0 and kept or db.value("SELECT count(*) FROM audit_log WHERE action IN "
      .. "(SELECT value FROM json_each(?))" .. others, json.encode(names), table.unpack(args))
    -- newest first: one part per action, each in the order of the index, merged
    local parts, q = {}, {}
    for i, name in ipairs(names) do
      parts[i] = cols .. " WHERE action = ?" .. others
      q[#q + 1] = name
      table.move(args, 1, #args, #q + 1, q)
    end
    q[#q + 1], q[#q + 2] = per_page, (pg - 1) * per_page
    rows = db.query(table.concat(parts, " UNION ALL ") .. " ORDER BY id DESC LIMIT ? OFFSET ?", table.unpack(q))
  end
  return { entries = rows, total = total, page = pg, per_page = per_page,
    pages = math.max(1, (total + per_page - 1) // per_page) }
end

--- Every action the log holds, for the filter's choices.
function M.actions()
  return db.column("SELECT action FROM audit_action_counts WHERE n > 0 ORDER BY action")
end

--- Replaces the details of some entries — sealing words an earlier version kept there in plain
--- text — and rehashes the chain from the first of them. Only links that verified before are
--- rehashed: an entry that did not verify keeps its hashes, so a break stays a break (and verify
--- still names it). changes: { [id] = new details text }. Call inside a transaction (the table's
--- no-update trigger is lifted for it and put back). Returns the number of entries rewritten.
function M.rewrite_details(changes)
  local first
  for id in pairs(changes) do if not first or id < first then first = id end end
  if not first then return 0 end
  assert(db.depth() > 0, "rewrite_details runs inside a transaction")
  local trigger = db.value("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = 'audit_log_no_update'")
  if trigger then db.exec("DROP TRIGGER audit_log_no_update") end
  local old_prev = db.value("SELECT hash FROM audit_log WHERE id < ? ORDER BY id DESC LIMIT 1", first) or GENESIS
  local new_prev, last, n = old_prev, first - 1, 0
  while true do
    local rows = db.query("SELECT * FROM audit_log WHERE id > ? ORDER BY id LIMIT 1000", last)
    if #rows == 0 then break end
    for _, e in ipairs(rows) do
      local old_hash = e.hash
      local linked = e.prev_hash == old_prev and chain(old_prev, e) == old_hash
      if changes[e.id] then e.details = changes[e.id] end
      if linked then e.prev_hash, e.hash = new_prev, chain(new_prev, e) end
      if changes[e.id] or e.hash ~= old_hash then
        db.exec("UPDATE audit_log SET details = ?, prev_hash = ?, hash = ? WHERE id = ?", e.details, e.prev_hash,
          e.hash, e.id)
        n = n + 1
      end
      old_prev, new_prev, last = old_hash, e.hash, e.id
    end
  end
  if trigger then db.exec(trigger) end
  return n
end

--- Checks the whole chain: ok, count, { id=, reason= } for the first broken entry.
function M.verify()
  local prev, n, last_id = GENESIS, 0, 0
  while true do
    local rows = db.query("SELECT * FROM audit_log WHERE id > ? ORDER BY id LIMIT 1000", last_id)
    if #rows == 0 then break end
    for _, e in ipairs(rows) do
      if e.prev_hash ~= prev then return false, n, { id = e.id, reason = "does not follow the entry before it" } end
      if chain(prev, e) ~= e.hash then return false, n, { id = e.id, reason = "its contents were changed" } end
      prev, n, last_id = e.hash, n + 1, e.id
    end
  end
  return true, n
end

return M
