-- Small helpers: URL coding, query strings, text and dates.
local dates = require "lib.dates"

local M = {}

function M.url_decode(s)
  s = s:gsub("+", " ")
  return (s:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end))
end

function M.url_encode(s)
  return (tostring(s):gsub("[^%w%-%._~]", function(c) return ("%%%02X"):format(c:byte()) end))
end

--- Parses a query string or form body. A key given several times, or ending in [],
--- becomes a list. Returns the table, or nil, err ({ code, message }) when the text is not acceptable
--- (NUL bytes or invalid UTF-8).
function M.parse_query(s)
  local out = {}
  if not s or s == "" then return out end
  for pair in s:gmatch("[^&]+") do
    local k, v = pair:match("^([^=]*)=?(.*)$")
    k, v = M.url_decode(k), M.url_decode(v)
    if k:find("\0", 1, true) or v:find("\0", 1, true) or not utf8.len(k) or not utf8.len(v) then
      return nil, { code = "bad_request", message = "the request contains NUL bytes or text that is not UTF-8" }
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

--- The date n days after date ("YYYY-MM-DD"; n may be negative).
function M.add_days(date, n) return M.format_date(M.date_to_ts(date) + n * 86400) end

local function days_in_month(y, m)
  local next_first = M.date_to_ts(("%04d-%02d-01"):format(m == 12 and y + 1 or y, m == 12 and 1 or m + 1))
  return tonumber(os.date("!%d", next_first - 86400))
end

--- The date one step of a rhythm after date: "weekly" (7 days), "biweekly" (14), "monthly" (the
--- same day of the next month, or its last day when it is shorter); nil for anything else (no
--- rhythm). 1:1 series and pulse surveys follow it.
function M.step_date(date, rhythm)
  if rhythm == "weekly" then return M.add_days(date, 7) end
  if rhythm == "biweekly" then return M.add_days(date, 14) end
  if rhythm == "monthly" then
    local y, m, d = date:match("^(%d+)-(%d+)-(%d+)$")
    y, m, d = tonumber(y), tonumber(m) + 1, tonumber(d)
    if m > 12 then y, m = y + 1, 1 end
    return ("%04d-%02d-%02d"):format(y, m, math.min(d, days_in_month(y, m)))
  end
  return nil
end

--- "YYYY-MM-DDTHH:MM:SSZ" for a timestamp in seconds.
function M.format_time(ts)
  return os.date("!%Y-%m-%dT%H:%M:%SZ", ts)
end

--- A date as people read it, in the company's format and calendar: a "YYYY-MM-DD" as it is, a
--- timestamp on the company's calendar (lib/dates.lua: "23 Nov 2026" by default).
function M.human_date(v) return dates.format_date(v) end

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
  return ("%d %s"):format(n, M.noun(n, one, many))
end

--- The word alone for n things: noun(1, "row") == "row", noun(2, "person", "people") == "people"
--- (for a count shown apart from its word, as on a figure card).
function M.noun(n, one, many)
  return n == 1 and one or (many or one .. "s")
end

-- ---------------------------------------------------------------- UTF-8 text
-- Text is UTF-8 everywhere: these cut and measure it by characters (code points), never by
-- bytes, so a cut never splits a character and never separates an accent, a joiner or a
-- variation selector from the character it belongs to.

--- s with every byte that is not part of valid UTF-8 replaced by U+FFFD (for text from outside:
--- a mail server's answer, a file in another encoding).
function M.utf8_clean(s)
  s = tostring(s or "")
  if utf8.len(s) then return s end
  local out, i, n = {}, 1, #s
  while i <= n do
    local ok, c = pcall(utf8.codepoint, s, i)
    if ok and c then
      local len = #utf8.char(c)
      out[#out + 1] = s:sub(i, i + len - 1)
      i = i + len
    else
      out[#out + 1] = "\u{FFFD}"
      i = i + 1
    end
  end
  return table.concat(out)
end

--- Number of characters in s (invalid bytes count one each).
function M.len(s)
  s = tostring(s or "")
  return utf8.len(s) or utf8.len(M.utf8_clean(s))
end

--- Characters i..j of s (negative counts from the end, like string.sub).
function M.utf8_sub(s, i, j)
  s = M.utf8_clean(s)
  local n = utf8.len(s)
  i, j = i or 1, j or -1
  if i < 0 then i = math.max(n + i + 1, 1) elseif i == 0 then i = 1 end
  if j < 0 then j = n + j + 1 elseif j > n then j = n end
  if i > j then return "" end
  local a = utf8.offset(s, i)
  local b = utf8.offset(s, j + 1)
  return s:sub(a, (b or #s + 1) - 1)
end

-- Code points that belong to the character before them: combining marks, joiners, variation
-- selectors, emoji skin tones and tags, the combining keycap.
local function attaches(c)
  return (c >= 0x300 and c <= 0x36F) or (c >= 0x1AB0 and c <= 0x1AFF) or (c >= 0x1DC0 and c <= 0x1DFF)
    or (c >= 0x20D0 and c <= 0x20FF) or (c >= 0xFE20 and c <= 0xFE2F) or (c >= 0xFE00 and c <= 0xFE0F)
    or c == 0x200D or (c >= 0x1F3FB and c <= 0x1F3FF) or (c >= 0xE0020 and c <= 0xE007F)
    or (c >= 0x3099 and c <= 0x309A)
end

-- The byte where a cut before byte i of s keeps whole characters with what attaches to them.
local function cut_at(s, i)
  while i > 1 do
    local c = utf8.codepoint(s, i)
    local p = utf8.offset(s, -1, i)
    local prev = utf8.codepoint(s, p)
    if not attaches(c) and prev ~= 0x200D then break end
    i = p
  end
  return i
end

--- s shortened to at most max characters, ending in ellipsis ("…" unless given; counted in
--- max) when it was longer. Never cuts inside a character or an emoji sequence.
function M.truncate(s, max, ellipsis)
  s = M.utf8_clean(s)
  ellipsis = ellipsis or "…"
  if utf8.len(s) <= max then return s end
  local keep = max - utf8.len(ellipsis)
  if keep <= 0 then return M.utf8_sub(ellipsis, 1, max) end
  local stop = cut_at(s, utf8.offset(s, keep + 1))
  return (s:sub(1, stop - 1):gsub("%s+$", "")) .. ellipsis
end

--- The longest start of s that fits in max bytes and ends between whole characters (for
--- limits counted in bytes: a database column, a protocol line).
function M.truncate_bytes(s, max)
  s = M.utf8_clean(s)
  if #s <= max then return s end
  local i = max + 1
  while i > 1 and (s:byte(i) or 0) & 0xC0 == 0x80 do i = i - 1 end
  return s:sub(1, cut_at(s, i) - 1)
end

-- Simple case mappings: lower -> upper code point for Latin-1, Latin Extended-A and B (the
-- pairs used by European languages), Greek and Cyrillic; ASCII is left to string.upper.
local UPPER, LOWER = {}, {}
local function pair(up, low) UPPER[low] = up; LOWER[up] = low end
for c = 0xE0, 0xFE do if c ~= 0xF7 then pair(c - 0x20, c) end end
pair(0x178, 0xFF)
for c = 0x100, 0x17F, 2 do
  if (c < 0x138 and c ~= 0x130) or (c >= 0x14A and c < 0x178) then pair(c, c + 1) end
end
UPPER[0x131], LOWER[0x130] = 0x49, 0x69 -- dotless ı, dotted İ
for c = 0x139, 0x147, 2 do pair(c, c + 1) end
for c = 0x179, 0x17D, 2 do pair(c, c + 1) end
for c = 0x200, 0x233, 2 do pair(c, c + 1) end
for c = 0x1E00, 0x1EFF, 2 do if c < 0x1E96 or c >= 0x1EA0 then pair(c, c + 1) end end
for c = 0x3B1, 0x3C9 do if c ~= 0x3C2 then pair(c - 0x20, c) end end
UPPER[0x3C2] = 0x3A3
for _, p in ipairs({ { 0x386, 0x3AC }, { 0x388, 0x3AD }, { 0x389, 0x3AE }, { 0x38A, 0x3AF }, { 0x38C, 0x3CC },
  { 0x38E, 0x3CD }, { 0x38F, 0x3CE } }) do pair(p[1], p[2]) end
for c = 0x430, 0x44F do pair(c - 0x20, c) end
for c = 0x450, 0x45F do pair(c - 0x50, c) end
for c = 0x460, 0x4BF, 2 do if c < 0x482 or c >= 0x48A then pair(c, c + 1) end end

local function map_case(s, map, ascii)
  s = M.utf8_clean(s)
  if not s:find("[\128-\255]") then return ascii(s) end
  local out = {}
  for _, c in utf8.codes(s) do
    out[#out + 1] = c < 0x80 and ascii(string.char(c)) or utf8.char(map[c] or c)
  end
  return table.concat(out)
end

--- s in capitals (ASCII, Latin, Greek, Cyrillic; other scripts as they are).
function M.upper(s) return map_case(s, UPPER, string.upper) end

--- s in small letters (ASCII, Latin, Greek, Cyrillic; other scripts as they are).
function M.lower(s) return map_case(s, LOWER, string.lower) end

--- A key that orders and matches text without regard to case or accents ("Ångström" ->
--- "angstrom", "Łukasz" -> "lukasz", "ZOË" -> "zoe"; other scripts keep their characters). The
--- same key as the database's FOLD collation (core/fold.c), so Lua sorts agree with SQL's.
function M.fold(s)
  return require("core.db").fold(M.utf8_clean(s))
end

--- s in ASCII for where nothing else is safe (a file name in an old client): Latin letters
--- lose their accents ("Łódź" -> "Lodz", "Straße" -> "Strasse"), other characters become "_".
function M.ascii(s)
  s = M.utf8_clean(s)
  if not s:find("[\128-\255]") then return s end
  local out = {}
  for _, c in utf8.codes(s) do
    if c < 0x80 then
      out[#out + 1] = string.char(c)
    else
      local base = M.fold(utf8.char(c)) -- "" for a combining accent: dropped
      if base:find("[\128-\255]") then
        out[#out + 1] = "_"
      elseif base ~= "" then
        out[#out + 1] = LOWER[c] and (base:sub(1, 1):upper() .. base:sub(2)) or base
      end
    end
  end
  return table.concat(out)
end

--- Orders two texts for people: by fold() first (case and accents aside), then as written.
function M.before(a, b)
  local fa, fb = M.fold(a), M.fold(b)
  if fa ~= fb then return fa < fb end
  return a < b
end

-- Symbols rather than letters: punctuation and symbol blocks, emoji.
local function symbol(c)
  return (c >= 0x2000 and c <= 0x2BFF) or (c >= 0x3000 and c <= 0x303F) or (c >= 0x1F000 and c <= 0x1FAFF)
    or (c >= 0xA0 and c <= 0xBF) or c == 0xD7 or c == 0xF7
end

--- Initials for an avatar: the first letter of the first and of the last word, as characters
--- (never bytes), in capitals: "Ömer Özdemir" -> "ÖÖ", "王小明" -> "王", "zoë" -> "Z",
--- "(Ana) de la Cruz" -> "AC", "Ørjan Ås 🚀" -> "ØÅ". Leading punctuation is skipped; a word
--- without letters ("-", "&") is not a word; words starting with an emoji count only when no
--- word starts with a letter (then the emoji keeps its modifiers); "?" when nothing is left.
function M.initials(name)
  name = M.utf8_clean(name)
  local words, lettered = {}, {}
  for w in name:gmatch("%S+") do
    -- the first character that is not ASCII punctuation, with what attaches to it
    local first
    for p, c in utf8.codes(w) do
      if c >= 0x80 or string.char(c):match("%w") then
        local e = p + #utf8.char(c)
        if c >= 0x1F1E6 and c <= 0x1F1FF and e <= #w then e = e + 4 end -- a flag is two letters
        while e <= #w do
          local d = utf8.codepoint(w, e)
          if not attaches(d) and utf8.codepoint(w, utf8.offset(w, -1, e)) ~= 0x200D then break end
          e = e + #utf8.char(d)
        end
        first = w:sub(p, e - 1)
        if not symbol(c) then lettered[#lettered + 1] = first end
        break
      end
    end
    if first then words[#words + 1] = first end
  end
  if #lettered > 0 then words = lettered end
  if #words == 0 then return "?" end
  local a = M.upper(words[1])
  if #words == 1 then return a end
  return a .. M.upper(words[#words])
end

return M
