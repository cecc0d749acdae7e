-- A bounded cache that forgets the least recently used entries: at most max_items entries and
-- at most max_cost in all (each entry has a cost, e.g. the bytes it holds).
--
--   local cache = lru.new{ max_items = 8, max_cost = 64 * 1024 * 1024,
--     on_evict = function(key, value) value:close() end }
--   cache:set(key, value, cost)   -- evicts others (never this one) until both bounds hold
--   cache:get(key)                -- the value (now the most recently used), or nil
local M = {}

local LRU = {}
LRU.__index = LRU

--- A new cache: { max_items =, max_cost =, on_evict = fn(key, value) } (each optional).
function M.new(opts)
  opts = opts or {}
  return setmetatable({ max_items = opts.max_items or math.huge, max_cost = opts.max_cost or math.huge,
    on_evict = opts.on_evict, entries = {}, n = 0, cost = 0, tick = 0 }, LRU)
end

function LRU:get(key)
  local e = self.entries[key]
  if not e then return nil end
  self.tick = self.tick + 1
  e.used = self.tick
  return e.value
end

local function drop(self, key, e)
  self.entries[key] = nil
  self.n = self.n - 1
  self.cost = self.cost - e.cost
  if self.on_evict then self.on_evict(key, e.value) end
end

-- Evicts the least recently used entries other than keep until the bounds hold.
local function shrink(self, keep)
  while self.n > self.max_items or self.cost > self.max_cost do
    local oldest_key, oldest
    for k, e in pairs(self.entries) do
      if k ~= keep and (not oldest or e.used < oldest.used) then oldest_key, oldest = k, e end
    end
    if not oldest then return end
    drop(self, oldest_key, oldest)
  end
end

--- Stores value under key (replacing, and evicting, an older value there) with its cost.
function LRU:set(key, value, cost)
  local old = self.entries[key]
  if old then drop(self, key, old) end
  self.tick = self.tick + 1
  self.entries[key] = { value = value, cost = cost or 0, used = self.tick }
  self.n = self.n + 1
  self.cost = self.cost + (cost or 0)
  shrink(self, key)
end

--- Updates the cost of an entry (its memory grew or shrank).
function LRU:set_cost(key, cost)
  local e = self.entries[key]
  if not e then return end
  self.cost = self.cost - e.cost + cost
  e.cost = cost
  shrink(self, key)
end

--- Removes key (on_evict runs for it).
function LRU:delete(key)
  local e = self.entries[key]
  if e then drop(self, key, e) end
end

--- Removes everything.
function LRU:clear()
  for k, e in pairs(self.entries) do drop(self, k, e) end
end

--- { items =, cost =, max_items =, max_cost = }
function LRU:stats()
  return { items = self.n, cost = self.cost, max_items = self.max_items, max_cost = self.max_cost }
end

return M
