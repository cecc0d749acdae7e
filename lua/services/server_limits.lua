-- The HTTP server's limits that are company settings, pushed to core.server at start and on
-- every change: how many connections one client address may hold at once, and the trusted
-- proxies, which have no such cap (each of their connections carries many clients, and the
-- proxy is the place to limit those; the server still counts them in its total).
local server = require "core.server"
local log = require "core.log"
local ip = require "lib.ip"
local events = require "lib.events"
local settings = require "services.settings"

local M = {}

M.PER_ADDRESS = "http.max_connections_per_address"
M.MAX_EXEMPT = 64 -- the most ranges core.server takes

local function push()
  local texts = {}
  for i, r in ipairs(ip.parse_list(settings.get("security.trusted_proxies")) or {}) do
    if i > M.MAX_EXEMPT then
      log.warn(("only the first %d trusted proxies are exempt from the connection cap"):format(M.MAX_EXEMPT))
      break
    end
    texts[i] = r.text
  end
  local ok, err = pcall(server.configure, { max_connections_per_address = settings.get(M.PER_ADDRESS),
    exempt_addresses = texts })
  if not ok then log.error("the HTTP server's limits were not changed: " .. tostring(err)) end
end

function M.init()
  settings.define(M.PER_ADDRESS, { type = "integer", default = 256, between = { 8, 100000 },
    description = "How many connections one client address may hold at once. Over it, its connection "
      .. "idle the longest is closed; when none is idle, the new one is refused (503). Trusted proxies "
      .. "have no such cap." })
  events.hook("settings.changed", function(e)
    if e.name == M.PER_ADDRESS or e.name == "security.trusted_proxies" then push() end
  end)
  push()
end

return M
