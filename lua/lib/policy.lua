-- Loads the permission policies (policies/roles.lua and policies/visibility.lua) as pure data
-- and puts them in force in the evaluator (core.authz). App start calls
-- `require("lib.policy").load(dir)`; an invalid policy raises {code = "policy", message = ...}
-- naming the file, the entry, the action and the field, and the app refuses to start.
local authz = require "core.authz"

local M = {}

local function fail(fmt, ...)
  error({ code = "policy", message = fmt:format(...) }, 0)
end

--- Runs a policy file with no globals at all (text only, no bytecode) and returns its table.
local function data_file(path)
  local chunk, err = loadfile(path, "t", {})
  if not chunk then fail("%s", err) end
  local ok, data = pcall(chunk)
  if not ok then fail("%s: %s", path, tostring(type(data) == "table" and data.message or data)) end
  if type(data) ~= "table" then fail("%s: must return a table, not a %s", path, type(data)) end
  return data
end

--- Loads dir/roles.lua and dir/visibility.lua (dir defaults to "policies"). Returns true.
function M.load(dir)
  dir = dir or "policies"
  local roles_path, vis_path = dir .. "/roles.lua", dir .. "/visibility.lua"
  local roles = data_file(roles_path)
  local vis = data_file(vis_path)
  return authz.load_policy(roles, vis, { roles = roles_path, visibility = vis_path })
end

return M
