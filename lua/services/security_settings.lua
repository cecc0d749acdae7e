-- The company security settings as the security page and the API name them, read and saved
-- together: every value checked first, and no list of allowed ranges (nor "secure cookies" over
-- plain HTTP) that would shut out the person saving it.
local ip = require "lib.ip"
local errors = require "lib.errors"
local settings = require "services.settings"
local audit = require "services.audit"
local client_address = require "services.client_address"

local M = {}

-- The settings by the names the page and the API use.
M.SETTINGS = {
  { name = "ip_ranges", key = "security.ip_ranges" },
  { name = "trusted_proxies", key = "security.trusted_proxies" },
  { name = "max_connections_per_address", key = "http.max_connections_per_address" },
  { name = "password_min_length", key = "security.password_min_length" },
  { name = "session_idle_minutes", key = "security.session_idle_minutes" },
  { name = "session_max_hours", key = "security.session_max_hours" },
  { name = "require_2fa_for_admins", key = "security.require_2fa_for_admins" },
  { name = "secure_cookies", key = "security.secure_cookies" },
  { name = "public_url", key = "server.public_url" },
}

--- The current values: { ip_ranges = {...}, ... }.
function M.current()
  local out = {}
  for _, s in ipairs(M.SETTINGS) do out[s.name] = settings.get(s.key) end
  return out
end

-- Lists may come as text (one per line, or separated by commas or spaces).
local function as_list(v)
  if type(v) ~= "string" then return v end
  local out = {}
  for item in v:gmatch("[^%s,;]+") do out[#out + 1] = item end
  return out
end

local function same(a, b)
  if type(a) == "table" and type(b) == "table" then
    if #a ~= #b then return false end
    for i = 1, #a do if a[i] ~= b[i] then return false end end
    return true
  end
  return a == b
end

--- Saves the security settings given in input (names as in M.SETTINGS; absent ones stay).
--- Everything is checked first: 422 with a message per field; a list of allowed ranges that
--- would shut out the person saving it is refused, as is "secure cookies" over plain HTTP.
--- Returns the changes { name = { from=, to= } }. Call inside a transaction.
function M.save(actor, input, req)
  local values, problems, changed = {}, {}, {}
  for _, s in ipairs(M.SETTINGS) do
    local v = input[s.name]
    if v ~= nil then
      if s.name == "ip_ranges" or s.name == "trusted_proxies" then v = as_list(v) end
      if s.name == "public_url" and type(v) == "string" then v = v:match("^%s*(.-)%s*$") end
      local checked, msg = settings.check(s.key, v)
      if checked == nil then problems[s.name] = msg:gsub("^%l", string.upper) .. "." else values[s.name] = checked end
    end
  end
  if next(problems) then errors.invalid(problems) end
  local ranges = ip.parse_list(values.ip_ranges or settings.get("security.ip_ranges"))
  local proxies = ip.parse_list(values.trusted_proxies or settings.get("security.trusted_proxies"))
  local addr, https = client_address.client_under(req, proxies)
  if #ranges > 0 and not ip.in_any(ranges, addr) then
    errors.invalid({ ip_ranges = ("This list would lock you out: you are connecting from %s, which is not in "
      .. "any of these ranges. Add your address (e.g. %s) or a range that contains it."):format(addr,
        addr .. (addr:find(":", 1, true) and "/128" or "/32")) })
  end
  if values.secure_cookies == true and not settings.get("security.secure_cookies") and not https then
    errors.invalid({ secure_cookies = "You are connected over plain HTTP: browsers would not send Secure cookies "
      .. "back and you could not stay signed in. Turn this on from an HTTPS address." })
  end
  for _, s in ipairs(M.SETTINGS) do
    local v = values[s.name]
    if v ~= nil then
      local before = settings.get(s.key)
      if not same(before, v) then
        settings.set(s.key, v, actor.id)
        changed[s.name] = { from = before, to = v }
      end
    end
  end
  if next(changed) then
    audit.record{ action = "settings.security", actor = actor, req = req, details = { changed = changed } }
  end
  return changed
end

return M
