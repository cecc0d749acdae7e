-- Where a request comes from: the client address (the peer, or the nearest untrusted hop of
-- X-Forwarded-For behind a trusted proxy), whether it came over HTTPS, and the company's IP
-- restrictions (the address ranges Candor may be used from).
local ip = require "lib.ip"
local errors = require "lib.errors"
local events = require "lib.events"
local settings = require "services.settings"

local M = {}

local trusted_proxies, allowed_ranges = {}, {}

local function load_ranges()
  trusted_proxies = ip.parse_list(settings.get("security.trusted_proxies")) or {}
  allowed_ranges = ip.parse_list(settings.get("security.ip_ranges")) or {}
end

-- "::ffff:192.0.2.1" (an IPv4 client on a dual-stack socket) is the IPv4 address.
local function plain(addr)
  return type(addr) == "string" and addr:match("^::[fF][fF][fF][fF]:(%d+%.%d+%.%d+%.%d+)$") or addr
end

--- The client address and HTTPS flag of req when proxies (parsed ranges) are the trusted ones.
function M.client_under(req, proxies)
  local addr, https = plain(req.peer), false
  if #proxies > 0 and ip.in_any(proxies, addr) then
    local xff = req.headers["x-forwarded-for"]
    if xff then
      local hops = {}
      for h in xff:gmatch("[^,%s]+") do hops[#hops + 1] = plain(h) end
      for i = #hops, 1, -1 do
        addr = hops[i]
        if not ip.in_any(proxies, addr) then break end
      end
    end
    https = (req.headers["x-forwarded-proto"] or ""):lower() == "https"
  end
  return addr, https
end

--- The client's address: the peer, or X-Forwarded-For's nearest untrusted hop when the peer is
--- a trusted proxy. Also whether the original request was HTTPS.
function M.client(req)
  if req.client_ip then return req.client_ip, req.https end
  local addr, https = M.client_under(req, trusted_proxies)
  req.client_ip, req.https = addr, https
  return addr, https
end

--- Whether addr may use Candor under the IP restrictions (no list: everyone).
function M.ip_allowed(addr, ranges)
  ranges = ranges or allowed_ranges
  if #ranges == 0 then return true end
  return ip.in_any(ranges, plain(addr))
end

--- Raises 403 when the request comes from outside the allowed ranges (/healthz always passes).
function M.check_allowed(req)
  local addr = M.client(req)
  if #allowed_ranges > 0 and req.path ~= "/healthz" and not M.ip_allowed(addr) then
    errors.forbidden("Candor cannot be used from your network (" .. addr .. "). Ask your Tech Admin.")
  end
end

--- Whether cookies set for req are marked Secure (an HTTPS request, or the company setting).
function M.secure_cookies(req)
  local _, https = M.client(req)
  return https or settings.get("security.secure_cookies")
end

function M.init()
  settings.define("security.secure_cookies", { type = "boolean", default = false,
    description = "Always mark cookies Secure (turn on when Candor is only reached over HTTPS)." })
  settings.define("security.trusted_proxies", { type = "array", elements = { type = "string" }, default = {},
    description = "Addresses (CIDR) of reverse proxies whose X-Forwarded-For and X-Forwarded-Proto are believed.",
    custom_validator = function(list) local ok, err = ip.parse_list(list) return ok ~= nil, err and err.message end })
  settings.define("security.ip_ranges", { type = "array", elements = { type = "string" }, default = {},
    description = "If set, Candor can only be used from these address ranges (CIDR, IPv4 and IPv6).",
    custom_validator = function(list) local ok, err = ip.parse_list(list) return ok ~= nil, err and err.message end })
  events.hook("settings.changed", function(e)
    if e.name == "security.trusted_proxies" or e.name == "security.ip_ranges" then load_ranges() end
  end)
  load_ranges()
end

return M
