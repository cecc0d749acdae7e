-- The database for application code: like core.db, but failures raise (as application
-- errors for constraint violations), and transaction() wraps a function in BEGIN/COMMIT
-- (a savepoint when nested) with rollback on any error.
local core = require "core.db"
local log = require "core.log"
local errors = require "lib.errors"

local M = {}

--- Functions called after any rollback (caches of table contents drop themselves here).
M.rollback_hooks = {}

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

--- Runs fn(...) in a transaction; returns what fn returns. Errors roll back and propagate.
function M.transaction(fn, ...)
  local ok, err = core.begin()
  if not ok then raise(err, 2) end
  local res = table.pack(xpcall(fn, keep_trace, ...))
  if res[1] then
    local cok, cerr = core.commit()
    if not cok then raise(cerr, 2) end
    return table.unpack(res, 2, res.n)
  end
  core.rollback()
  for _, hook in ipairs(M.rollback_hooks) do hook() end
  error(res[2], 0)
end

--- A placeholder list "?,?,?" for n values (prefer json_each for long lists).
function M.placeholders(n)
  return string.rep("?", n, ",")
end

return M
