-- What a transaction owes the memory outside the database, kept per savepoint level:
--   undo         functions that put in-memory state back (the permission evaluator, caches) when
--                their level rolls back, run newest first;
--   after-commit functions that may only run once the change is durable (mail, hooks,
--                webhooks), run when the outermost transaction commits.
-- lib/db.lua drives it: push() after BEGIN or SAVEPOINT, released() after a successful
-- RELEASE (a nested level's lists join its parent's), committed() after COMMIT, and
-- rolled_back() after a rollback of a level. A level that ended behind db.lua's back (the host
-- rolls back what a crashed task left open) is undone by the next sync().
local core_db = require "core.db"
local log = require "core.log"

local M = {}

local levels = {}  -- levels[d] = { undo = {fn, ...}, after = {fn, ...} } for the open levels
local top = 0      -- the deepest level that may be open

--- True while undo functions run (what they change is not a new change: no undo of its own,
--- nothing for after-commit handlers).
M.replaying = false

local function run_undo(list)
  M.replaying = true
  for i = #list, 1, -1 do
    local ok, err = xpcall(list[i], debug.traceback)
    if not ok then log.error("undo after a rollback failed: " .. tostring(err)) end
  end
  M.replaying = false
end

--- Undoes the levels the database no longer has open (rolled back behind our back).
function M.sync()
  local depth = core_db.depth()
  if top > depth then M.rolled_back(depth + 1) end
end

--- A new level at the database's current depth (call right after BEGIN / SAVEPOINT).
function M.push()
  local d = core_db.depth()
  if top >= d then M.rolled_back(d) end -- left over from a level that ended behind our back
  levels[d] = { undo = {}, after = {} }
  top = d
  return d
end

--- Registers fn to run if the current level rolls back. Outside a transaction (nothing can
--- roll back) and while undoing, it does nothing.
function M.on_rollback(fn)
  if M.replaying then return end
  local l = levels[core_db.depth()]
  if l then l.undo[#l.undo + 1] = fn end
end

local function run_after(list)
  for _, fn in ipairs(list) do
    local ok, err = xpcall(fn, debug.traceback)
    if not ok then log.error("an after-commit handler failed (the change is committed): " .. tostring(err)) end
  end
end

--- Registers fn to run once the outermost transaction commits (never if the level it was
--- registered in rolls back). Outside a transaction it runs at once. Errors are logged.
function M.after_commit(fn)
  local l = levels[core_db.depth()]
  if l then
    l.after[#l.after + 1] = fn
  else
    run_after({ fn })
  end
end

--- Level d committed (RELEASE of a savepoint, or COMMIT when d is 1).
function M.committed(d)
  local l = levels[d]
  levels[d] = nil
  top = d - 1
  if not l then return end
  local parent = levels[d - 1]
  if parent then
    table.move(l.undo, 1, #l.undo, #parent.undo + 1, parent.undo)
    table.move(l.after, 1, #l.after, #parent.after + 1, parent.after)
  elseif d == 1 then
    run_after(l.after)
  end
end

--- Level d rolled back: its undo runs, its after-commit work is dropped.
function M.rolled_back(d)
  for k = top, d, -1 do
    local l = levels[k]
    levels[k] = nil
    if l then run_undo(l.undo) end
  end
  if top >= d then top = d - 1 end
end

--- Number of undo entries and after-commit entries held (tests).
function M.pending()
  local u, a = 0, 0
  for _, l in pairs(levels) do u, a = u + #l.undo, a + #l.after end
  return u, a
end

return M
