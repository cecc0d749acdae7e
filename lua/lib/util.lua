-- Small helpers: URL coding, query strings, text and dates.
local M = {}

function M.url_decode(s)
  s = s:gsub("+", " ")
  return (s:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end))
end

function M.url_encode(s)
  return (tostring(s):gsub("[^%w%-%._~]", function(c) return ("%%%02X"):format(c:byte()) end))
end

--- Parses a query string or form body. A key given several times, or ending in [],
--- becomes a list. Returns the table, or nil, message when the text is not acceptable
--- (NUL bytes or invalid UTF-8).
function M.parse_query(s)
  local out = {}
  if not s or s == "" then return out end
  for pair in s:gmatch("[^&]+") do
    local k, v = pair:match("^([^=]*)=?(.*)$")
    k, v = M.url_decode(k), M.url_decode(v)
    if k:find("\0", 1, true) or v:find("\0", 1, true) or not utf8.len(k) or not utf8.len(v) then
      return nil, "the request contains NUL bytes or text that is not UTF-8"
    end
    local list = k:sub(-2) == "[]"
    if list then k = k:sub(1, -3) end
    local cur = out[k]
    if list then
      if type(cur) ~= "table" then cur = cur and { cur } or {} end
      cur[#cur + 1] = v
      out[k] = cur
    elseif cur == nil then
      out[k] = v
    elseif type(cur) == "table" then
      cur[#cur + 1] = v
    else
      out[k] = { cur, v }
    end
  end
  return out
end

--- Builds a query string from a table (keys sorted, so output is stable). Empty values are left
--- out (clean URLs) unless keep_empty is set (a form body, as browsers send it).
function M.build_query(t, keep_empty)
  local keys = {}
  for k, v in pairs(t) do if v ~= nil and (keep_empty or v ~= "") then keys[#keys + 1] = k end end
  table.sort(keys)
  local parts = {}
  for _, k in ipairs(keys) do
    local v = t[k]
    if type(v) == "table" then
      for _, x in ipairs(v) do parts[#parts + 1] = M.url_encode(k) .. "[]=" .. M.url_encode(x) end
    else
      parts[#parts + 1] = M.url_encode(k) .. "=" .. M.url_encode(v)
    end
  end
  return table.concat(parts, "&")
end

function M.trim(s)
  if s == nil then return nil end
  return (tostring(s):gsub("^%s+", ""):gsub("%s+$", ""))
end

--- True for a plausible email address (one @, a dot in the domain, no spaces).
function M.is_email(s)
  return type(s) == "string" and #s <= 254 and s:match("^[^%s@]+@[^%s@]+%.[^%s@]+$") ~= nil
end

function M.email_domain(s)
  return s and s:match("@([^@]+)$") and s:match("@([^@]+)$"):lower()
end

--- Days since the epoch for "YYYY-MM-DD", or nil when it is not a real date.
function M.parse_date(s)
  if type(s) ~= "string" then return nil end
  local y, m, d = s:match("^(%d%d%d%d)%-(%d%d)%-(%d%d)$")
  if not y then return nil end
  y, m, d = tonumber(y), tonumber(m), tonumber(d)
  if m < 1 or m > 12 or d < 1 or d > 31 then return nil end
  -- days from civil (Howard Hinnant's algorithm), exact for the proleptic Gregorian calendar
  local yy = m <= 2 and y - 1 or y
  local era = (yy >= 0 and yy or yy - 399) // 400
  local yoe = yy - era * 400
  local mp = (m + 9) % 12
  local doy = (153 * mp + 2) // 5 + d - 1
  local doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
  local days = era * 146097 + doe - 719468
  if M.format_date(days * 86400) ~= s then return nil end -- e.g. 2026-02-30
  return days
end

--- Seconds since the epoch (UTC midnight) for "YYYY-MM-DD", or nil.
function M.date_to_ts(s)
  local d = M.parse_date(s)
  return d and d * 86400
end

--- "YYYY-MM-DD" (UTC) for a timestamp in seconds.
function M.format_date(ts)
  return os.date("!%Y-%m-%d", ts)
end

--- "YYYY-MM-DDTHH:MM:SSZ" for a timestamp in seconds.
function M.format_time(ts)
  return os.date("!%Y-%m-%dT%H:%M:%SZ", ts)
end

--- Human date: "23 Nov 2026".
function M.human_date(ts)
  if not ts then return "" end
  if type(ts) == "string" then ts = M.date_to_ts(ts) if not ts then return "" end end
  return (os.date("!%d %b %Y", ts):gsub("^0", ""))
end

--- Parses "2026-01-05T09:00:00Z" (or a date) into seconds.
function M.parse_time(s)
  local d, hh, mm, ss = tostring(s):match("^(%d%d%d%d%-%d%d%-%d%d)T(%d%d):(%d%d):?(%d*)Z?$")
  if not d then return M.date_to_ts(s) end
  local base = M.date_to_ts(d)
  return base and base + tonumber(hh) * 3600 + tonumber(mm) * 60 + (tonumber(ss) or 0)
end

--- Shallow copy.
function M.copy(t)
  local o = {}
  for k, v in pairs(t) do o[k] = v end
  return o
end

function M.map(list, fn)
  local out = {}
  for i, v in ipairs(list) do out[i] = fn(v, i) end
  return out
end

--- Index a list of rows by a field: { [row[field]] = row }.
function M.index_by(list, field)
  local out = {}
  for _, v in ipairs(list) do out[v[field]] = v end
  return out
end

function M.starts_with(s, prefix) return s:sub(1, #prefix) == prefix end

--- Plural helper: plural(3, "person", "people") -> "3 people".
function M.plural(n, one, many)
  return ("%d %s"):format(n, n == 1 and one or (many or one .. "s"))
end

return M
