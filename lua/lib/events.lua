-- The event bus (Prosody-style). A module announces what happened with
--   events.fire("review.shared", { review_id = 7, cycle_id = 2, actor_id = 5 })
-- and others react by hooking the name. Names are stable and namespaced (area.what_happened);
-- docs/events.md lists every one with its fields. Data is a plain table of ids and facts.
--
-- Two kinds of handler:
--   events.hook(name, fn, priority)          runs inside fire(), so inside the caller's
--                                            transaction: it may refuse the change by raising
--                                            (the transaction rolls back) and what it writes
--                                            commits or rolls back with the change;
--   events.after_commit(name, fn, priority)  runs once the outermost transaction has committed
--                                            (at once when none is open), never for a change that
--                                            rolled back, nested savepoints included; an error in
--                                            it is logged and goes no further.
-- Handlers are called as fn(data, name), higher priority first (default 0), in the order they
-- were hooked within one priority. The name "*" hooks every event (a queue of integration
-- hooks or webhooks subscribes so) but the request plumbing of the http area (http.authenticate,
-- http.permit, http.response...): fired three or four times on every request, no integration,
-- workflow or change log wants them, and four "*" handlers cost more than the request's route. fire() returns the first non-nil value an in-transaction
-- handler of the name returned, which also ends the chain ("*" handlers run first and their
-- results are ignored).
local tx = require "lib.tx"

local M = {}

local now_handlers = {}   -- name -> sorted list of { fn, priority }
local after_handlers = {} -- name -> sorted list
local seq = 0

local NAME = "^[a-z][a-z0-9_]*%.[a-z][a-z0-9_%.]*$"

-- Whether "*" handlers get an event of this name (not the http area's), kept per name.
local to_all = setmetatable({}, { __index = function(t, name)
  local v = type(name) ~= "string" or name:sub(1, 5) ~= "http."
  t[name] = v
  return v
end })

local function add(registry, name, fn, priority)
  assert(name == "*" or (type(name) == "string" and name:match(NAME)),
    "an event name is area.what_happened in lower case: " .. tostring(name))
  assert(type(fn) == "function", "an event handler is a function")
  seq = seq + 1
  local list = { table.unpack(registry[name] or {}) } -- a new list: a fire in progress keeps its own
  list[#list + 1] = { fn = fn, priority = priority or 0, seq = seq }
  table.sort(list, function(a, b)
    if a.priority ~= b.priority then return a.priority > b.priority end
    return a.seq < b.seq
  end)
  registry[name] = list
end

--- Hooks fn to run when name fires, inside the firing code's transaction.
function M.hook(name, fn, priority) add(now_handlers, name, fn, priority) end

--- Hooks fn to run once the change that fired name has committed.
function M.after_commit(name, fn, priority) add(after_handlers, name, fn, priority) end

--- Removes fn from name's handlers (both kinds). Returns whether it was there.
function M.unhook(name, fn)
  local found = false
  for _, registry in ipairs({ now_handlers, after_handlers }) do
    local keep = {}
    for _, h in ipairs(registry[name] or {}) do
      if h.fn == fn then found = true else keep[#keep + 1] = h end
    end
    registry[name] = #keep > 0 and keep or nil
  end
  return found
end

-- A copy of data for handlers that run later (the caller may reuse its table).
local function copy(data)
  local out = {}
  for k, v in pairs(data) do out[k] = v end
  return out
end

local function defer(list, data, name)
  for _, h in ipairs(list) do
    local fn = h.fn
    tx.after_commit(function() fn(data, name) end)
  end
end

--- Announces name with data (a table). Runs the in-transaction handlers now and queues the
--- after-commit ones. Returns the first non-nil result of a handler of name.
function M.fire(name, data)
  data = data or {}
  local all = to_all[name]
  local any, named = all and now_handlers["*"], now_handlers[name]
  if any then
    for i = 1, #any do any[i].fn(data, name) end
  end
  local result
  if named then
    for i = 1, #named do
      result = named[i].fn(data, name)
      if result ~= nil then break end
    end
  end
  if not tx.replaying then
    local later_any, later = all and after_handlers["*"], after_handlers[name]
    if later_any or later then
      local snapshot = copy(data)
      if later_any then defer(later_any, snapshot, name) end
      if later then defer(later, snapshot, name) end
    end
  end
  return result
end

--- Whether anything hooks name (to skip building data nobody reads).
function M.hooked(name)
  return now_handlers[name] ~= nil or after_handlers[name] ~= nil
    or (to_all[name] and (now_handlers["*"] ~= nil or after_handlers["*"] ~= nil))
end

return M
