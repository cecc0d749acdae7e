-- IP addresses and CIDR ranges (IPv4 and IPv6), for IP restrictions and trusted proxies.
local net = require "core.net"

local M = {}

local function bad(message) return nil, { code = "invalid_address", message = message } end

--- Parses "10.0.0.0/8", "2001:db8::/32" or a single address; returns { bytes=, bits= } or nil,
--- err ({ code = "invalid_address", message = }).
function M.parse_cidr(text)
  if type(text) ~= "string" then return bad("not text") end
  text = text:gsub("^%s+", ""):gsub("%s+$", "")
  local addr, bits = text:match("^([^/]+)/(%d+)$")
  addr = addr or text
  local bytes = net.ip_bytes(addr)
  if not bytes then return bad(("'%s' is not an IP address or range"):format(text)) end
  local max = #bytes * 8
  bits = bits and tonumber(bits) or max
  if bits > max then return bad(("'%s': a /%d prefix is too long for this address"):format(text, bits)) end
  return { bytes = bytes, bits = bits, text = text }
end

--- True when address (text) is inside range (from parse_cidr).
function M.contains(range, address)
  local b = type(address) == "string" and #address <= 16 and not address:find("[.:]") and address
    or net.ip_bytes(address or "")
  if not b or #b ~= #range.bytes then return false end
  local full = range.bits // 8
  if b:sub(1, full) ~= range.bytes:sub(1, full) then return false end
  local rest = range.bits % 8
  if rest == 0 then return true end
  local mask = (0xff << (8 - rest)) & 0xff
  return (b:byte(full + 1) & mask) == (range.bytes:byte(full + 1) & mask)
end

--- True when address is inside any of the ranges (a list of parsed ranges).
function M.in_any(ranges, address)
  for _, r in ipairs(ranges) do
    if M.contains(r, address) then return true end
  end
  return false
end

--- Parses a list of CIDR texts: list of ranges, or nil, err (its message names the bad entry).
function M.parse_list(list)
  local out = {}
  for _, t in ipairs(list or {}) do
    local r, err = M.parse_cidr(t)
    if not r then return nil, err end
    out[#out + 1] = r
  end
  return out
end

return M
