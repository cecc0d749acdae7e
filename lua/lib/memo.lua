-- Values worked out from database rows, kept in memory while the tables they come from are
-- unchanged: a session and its person for the request that presents the cookie, a cycle's decoded
-- settings, ...
--
--   local cycles_memo = memo.new({ "cycles" }, 256)   -- the tables it reads, at most entries
--   local c = cycles_memo:fetch(id, load_cycle)       -- load_cycle(id) runs on a miss
--
-- Whether an entry is still true is decided in C (core.db.generation): the tables' generations
-- move whenever a statement that writes them runs (whatever the module, triggers and foreign key
-- actions included), on every rollback, and when another process committed. The whole memo is
-- forgotten then. Entries are only stored outside transactions, from data that was committed and
-- did not change while it was read, so a memo never needs an undo entry in lib/tx.lua: nothing
-- uncommitted is ever in it, and a rollback moves the generations anyway.
--
-- A value is shared by every caller that fetches it: treat it as read-only (copy what you change).
-- When full, the half used least recently is dropped (two generations of entries, O(1)).
local core_db = require "core.db"

local M = {}

local Memo = {}
Memo.__index = Memo

--- A memo of values read from tables (a list of table names), at most max entries (1000).
function M.new(tables, max)
  assert(type(tables) == "table" and #tables > 0, "memo.new needs the tables its values come from")
  return setmetatable({ tables = tables, max = max or 1000, mask = nil, gen = nil, new = {}, old = {}, n = 0,
    hits = 0, misses = 0 }, Memo)
end

local function bits_of(tables)
  local bits = 0
  for _, t in ipairs(tables) do bits = bits | core_db.watch(t) end
  return bits
end

-- The memo as it may be used now: emptied when one of its tables may have changed.
local function current(self)
  if not self.mask then self.mask = bits_of(self.tables) end
  local g = core_db.generation(self.mask)
  if g ~= self.gen then
    self.new, self.old, self.n, self.gen = {}, {}, 0, g
  end
  return g
end

--- The value for key: kept, or load(key, ...) (not kept when nil, inside a transaction, or when
--- its tables changed while it loaded).
function Memo:fetch(key, load, ...)
  local g = current(self)
  local v = self.new[key]
  if v ~= nil then
    self.hits = self.hits + 1
    return v
  end
  v = self.old[key]
  if v == nil then
    self.misses = self.misses + 1
    v = load(key, ...)
    if v == nil or core_db.depth() > 0 or core_db.generation(self.mask) ~= g then return v end
  else
    self.hits = self.hits + 1
    self.old[key] = nil
  end
  if self.n >= self.max then
    self.old, self.new, self.n = self.new, {}, 0
  end
  self.new[key] = v
  self.n = self.n + 1
  return v
end

--- Forgets key (e.g. a value found wrong for reasons outside its tables).
function Memo:forget(key)
  if self.new[key] ~= nil then
    self.new[key] = nil
    self.n = self.n - 1
  end
  self.old[key] = nil
end

--- { hits =, misses = } since the start.
function Memo:stats()
  return { hits = self.hits, misses = self.misses }
end

--- For values kept by other means (e.g. checked and refreshed row by row): a function returning a
--- stamp of tables (a list of names) that stays the same while none of them changed, as a memo
--- sees it, and nil inside a transaction (what is read there may not be committed).
function M.stamp(tables)
  local mask
  return function()
    mask = mask or bits_of(tables)
    if core_db.depth() > 0 then return nil end
    return core_db.generation(mask)
  end
end

return M
