-- The user-management settings (who may invite guests, HR Assistants and managers, the
-- company's email domains) as the settings page and the API name them, read and saved together.
local errors = require "lib.errors"
local settings = require "services.settings"
local audit = require "services.audit"

local M = {}

-- The settings under the names the form and the API use.
local USER_SETTINGS = {
  { field = "guest_policy", name = "people.guest_policy", label = "Who can invite guests" },
  { field = "assistant_can_change_manager", name = "people.assistant_can_change_manager",
    label = "Allowing HR Assistants to pick a manager" },
  { field = "company_domains", name = "company.domains", label = "The company's email domains" },
}

--- The current values: { guest_policy =, assistant_can_change_manager =, company_domains = {...} }.
function M.current()
  local out = {}
  for _, s in ipairs(USER_SETTINGS) do out[s.field] = settings.get(s.name) end
  return out
end

--- Saves the user-management settings given in input (absent ones stay): all or nothing; a
--- refusal names the field, never the internal setting key. Call inside a transaction.
function M.save(actor, input, req)
  local changed, bad = {}, {}
  local values = {}
  for _, s in ipairs(USER_SETTINGS) do
    local v = input[s.field]
    if s.field == "company_domains" and type(v) == "string" then
      local out = {}
      for d in v:gmatch("[^%s,;]+") do out[#out + 1] = d:lower() end
      v = out
    end
    if v ~= nil then
      local _, msg = settings.check(s.name, v)
      if msg then bad[s.field] = s.label .. ": " .. msg .. "." else values[s.field] = v end
    end
  end
  if next(bad) then errors.invalid(bad, "Nothing was saved; see the marked setting.") end
  for _, s in ipairs(USER_SETTINGS) do
    if values[s.field] ~= nil then
      settings.set(s.name, values[s.field], actor.id)
      changed[#changed + 1] = s.field
    end
  end
  audit.record{ action = "settings.users", actor = actor, req = req, details = { changed = changed } }
end

return M
