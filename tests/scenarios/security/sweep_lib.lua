-- Helpers for the security sweeps (not a scenario itself: it registers no tests). Load it from a
-- scenario in this folder:
--
--   local sweep = dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "sweep_lib.lua")
--   local before = sweep.state()
--   ... refused calls ...
--   t.eq(sweep.state() == before, true, "nothing changed")
local db = require "lib.db"

local M = {}

-- Tables a refused request may rightly write: who is signed in, sign-in pacing, the audit of
-- sign-ins, and a refused page form's typed values (the product's way: every refused form keeps
-- what was typed, encrypted, for the session that typed it, and goes back to its page).
M.VOLATILE = { form_states = true, sessions = true, signin_throttle = true, audit_log = true,
  audit_action_counts = true, sqlite_stat1 = true, trusted_browsers = true }

--- Everything the company holds but M.VOLATILE, as one string: a line per table (its name, a
--- colon, its rows sorted), so two states can be compared whole or table by table.
function M.state()
  local parts = {}
  for _, tbl in ipairs(db.column("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")) do
    if not M.VOLATILE[tbl] then
      local rows = {}
      for _, row in ipairs(db.query('SELECT * FROM "' .. tbl .. '"')) do
        local keys, cells = {}, {}
        for k in pairs(row) do keys[#keys + 1] = k end
        table.sort(keys)
        for _, k in ipairs(keys) do cells[#cells + 1] = k .. "=" .. tostring(row[k]) end
        rows[#rows + 1] = table.concat(cells, ",")
      end
      table.sort(rows)
      parts[#parts + 1] = tbl .. ":" .. table.concat(rows, ";"):gsub("\n", " ")
    end
  end
  return table.concat(parts, "\n")
end

--- The tables that differ between two states.
function M.changed(a, b)
  local old, out = {}, {}
  for line in a:gmatch("[^\n]+") do old[line:match("^[%w_]+")] = line end
  for line in b:gmatch("[^\n]+") do
    local tbl = line:match("^[%w_]+")
    if old[tbl] ~= line then out[#out + 1] = tbl end
  end
  return out
end

return M
