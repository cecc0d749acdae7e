-- The database for application code: like core.db, but failures raise (as application
-- errors for constraint violations), and transaction() wraps a function in BEGIN/COMMIT
-- (a savepoint when nested) with rollback on any error. In-memory state that follows the
-- database registers how to undo a change (on_rollback) and work that must wait for the commit
-- (after_commit), per savepoint level (lib/tx.lua): a rollback undoes exactly what its level did.
local core = require "core.db"
local log = require "core.log"
local errors = require "lib.errors"
local events = require "lib.events"
local pacing = require "lib.pacing"
local tx = require "lib.tx"

local M = {}

--- on_rollback(fn): fn runs if the current savepoint level rolls back (undo of in-memory state).
M.on_rollback = tx.on_rollback
--- after_commit(fn): fn runs once the outermost transaction commits (at once outside one).
M.after_commit = tx.after_commit
--- sync(): undoes the levels a crashed task left open (the host rolled them back).
M.sync = tx.sync

local function raise(err, level)
  if err and err.code == "constraint" then
    error(errors.new(409, "conflict", "This conflicts with existing data: " .. err.message), level + 1)
  elseif err and err.code == "busy" then
    error(errors.new(503, "busy", "The database is busy; please try again."), level + 1)
  elseif err and err.code == "disk_full" then
    -- the transaction rolls back: nothing of the change is kept
    log.error("database: the disk is full, a change was not saved (free some space): " .. err.message)
    error(errors.disk_full(), level + 1)
  end
  error("database: " .. (err and err.message or "unknown error"), level + 1)
end

local function wrap(fn)
  return function(sql, ...)
    local r, err = fn(sql, ...)
    if r == nil and err then raise(err, 2) end
    return r
  end
end

M.query = wrap(core.query)
M.row = wrap(core.row)
M.value = wrap(core.value)
M.column = wrap(core.column)

--- columns(sql, ...) -> { name = array of the column's values }, number of rows: one array per
--- column instead of a table per row (a NULL is a hole), for lists of many thousands.
function M.columns(sql, ...)
  local cols, n = core.columns(sql, ...)
  if cols == nil then raise(n, 2) end
  return cols, n
end
M.blob = core.blob
M.stats = core.stats
M.depth = core.depth

--- exec(sql, ...) -> changes, last_insert_rowid
function M.exec(sql, ...)
  local n, id = core.exec(sql, ...)
  if n == nil then raise(id, 2) end
  return n, id
end

--- try_exec(sql, ...) -> changes, id | nil, err (for expected constraint failures)
M.try_exec = core.exec

--- insert(sql, ...) -> new row id
function M.insert(sql, ...)
  local n, id = core.exec(sql, ...)
  if n == nil then raise(id, 2) end
  return id
end

local function keep_trace(e)
  if type(e) == "string" then return debug.traceback(e, 2) end
  return e
end

local function rolled_back(level)
  tx.rolled_back(level)
  events.fire("db.rolled_back", { depth = level })
end

--- Runs fn(...) in a transaction; returns what fn returns. Errors roll back (undoing what the
--- level registered with on_rollback) and propagate.
local function transaction(unsynced, fn, ...)
  tx.sync()
  local ok, err = core.begin(unsynced)
  if not ok then raise(err, 2) end
  local level = tx.push()
  local res = table.pack(xpcall(fn, keep_trace, ...))
  if res[1] then
    local cok, cerr = core.commit()
    if not cok then -- SQLite rolled the level back
      rolled_back(level)
      raise(cerr, 2)
    end
    tx.committed(level)
    return table.unpack(res, 2, res.n)
  end
  core.rollback()
  rolled_back(level)
  error(res[2], 0)
end

function M.transaction(fn, ...) return transaction(false, fn, ...) end

--- Long work in slices: runs fn(...) in a transaction of its own again and again while it returns
--- true (there is more to do), the event loop serving others between two (lib/pacing: the
--- work is long work, pause() between slices; a caller that is not a task goes on at once).
--- Each slice commits on its own, so fn must leave things right after any of them. The slices'
--- commits do not wait for the disk; slices() does once at the end, before it returns (one
--- fsync instead of one per slice; the log keeps commits in order, so a crash meanwhile loses
--- the last slices, never one in the middle, and a job that did not finish runs again).
function M.slices(fn, ...)
  if core.depth() > 0 then -- savepoints of the caller's transaction: nothing to pace
    while M.transaction(fn, ...) do end
    return
  end
  local ok, err = pacing.long(function(...)
    while transaction(true, fn, ...) do pacing.pause() end
    pacing.pause() -- waiting for the disk is a stretch of its own
    return core.sync()
  end, ...)
  if not ok then raise(err, 2) end
end

--- Rolls back every open level (the test harness between tests; the app at the start of a
--- request, for a level a crashed task left open).
function M.rollback_all()
  while core.depth() > 0 do core.rollback() end
  tx.sync()
end

--- A page of rows: `select` is a query of rows without its end, `from` what follows FROM (tables
--- and WHERE), args its values; the rows come newest first by `order`, per_page at a time. Two
--- queries. Returns { rows, total, page, pages } (page kept within 1..pages).
function M.page(select, from, args, order, page, per_page)
  local total = M.value("SELECT count(*) FROM " .. from, table.unpack(args))
  local pages = math.max(1, (total + per_page - 1) // per_page)
  page = math.max(1, math.min(math.tointeger(tonumber(page)) or 1, pages))
  local all = { table.unpack(args) }
  all[#all + 1] = per_page
  all[#all + 1] = (page - 1) * per_page
  local rows = M.query(select .. " FROM " .. from .. " ORDER BY " .. order .. " LIMIT ? OFFSET ?", table.unpack(all))
  return { rows = rows, total = total, page = page, pages = pages }
end

--- A placeholder list "?,?,?" for n values (prefer json_each for long lists).
function M.placeholders(n)
  return string.rep("?", n, ",")
end

return M
