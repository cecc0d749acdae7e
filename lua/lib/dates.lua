-- The company's calendar and clock: "today", dates and times as people read them, and the instant a
-- local date and hour fall on. Everything here is in the company's time zone, date format and
-- week start (Administration › Date & time; services/company_time.lua keeps them and hands them to
-- use() at start). Without them: UTC, "5 Dec 2026", weeks from Monday.
--
-- What stays UTC on purpose: the database (instants are seconds since the epoch, calendar dates
-- are "YYYY-MM-DD" as the company wrote them, with no zone), JSON answers and CSV/XLSX exports
-- (ISO 8601, util.format_time: machines read them), logs and mail headers.
local tz = require "core.tz"
local clock = require "core.clock"

local M = {}

-- The date formats a company may pick: key -> { label, example as the page shows it }.
M.FORMATS = {
  { key = "d mon yyyy", label = "5 Dec 2026" },
  { key = "dd/mm/yyyy", label = "05/12/2026" },
  { key = "dd.mm.yyyy", label = "05.12.2026" },
  { key = "mm/dd/yyyy", label = "12/05/2026" },
  { key = "yyyy-mm-dd", label = "2026-12-05" },
}
M.FORMAT_KEYS = {}
for i, f in ipairs(M.FORMATS) do M.FORMAT_KEYS[i] = f.key end

M.WEEK_STARTS = { "monday", "sunday" }

local MONTHS = { "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" }

local DEFAULTS = { zone = "UTC", format = "d mon yyyy", week_start = "monday", send_hour = 9 }

-- The source of the company's choices: fn() -> { zone =, format =, week_start =, send_hour = } (read on every
-- call, so a change applies at once; the settings service caches).
local source = function() return DEFAULTS end

--- Sets where the company's choices come from (services/company_time.lua does at start).
function M.use(fn) source = fn end

--- The company's choices: { zone =, format =, week_start =, send_hour = }.
function M.config() return source() end

--- The company's time zone ("Europe/Berlin").
function M.zone() return source().zone end

-- The wall clock in zone at ts (falls back to UTC when the zone cannot be read: a tzdata upgrade
-- that removed it; the setting was checked when it was saved).
local function wall(ts, zone)
  local l = tz.local_time(zone, ts)
  return l or tz.local_time("UTC", ts)
end

--- The wall clock at ts (seconds) in the company's zone (or zone): { year, month, day, hour,
--- min, sec, wday (0 = Sunday), offset (seconds east of UTC), dst, abbr ("CET") }.
function M.local_time(ts, zone) return wall(ts, zone or source().zone) end

--- "YYYY-MM-DD" of the company's calendar at ts.
function M.date_of(ts, zone)
  local l = wall(ts, zone or source().zone)
  return ("%04d-%02d-%02d"):format(l.year, l.month, l.day)
end

--- Today in the company's calendar: "YYYY-MM-DD" (it turns at the company's midnight).
function M.today() return M.date_of(clock.now()) end

--- The instant (seconds) at which the company's clocks show date ("YYYY-MM-DD") at hour (0..23,
--- default 0) and min. A time the clocks skip (spring forward) moves on by the gap (02:30 becomes
--- 03:30); a time they show twice (fall back) is the first of the two. nil for a bad date.
function M.local_to_utc(date, hour, min, zone)
  local y, m, d = tostring(date):match("^(%d%d%d%d)%-(%d%d)%-(%d%d)$")
  if not y then return nil end
  zone = zone or source().zone
  local ts = tz.to_utc(zone, tonumber(y), tonumber(m), tonumber(d), hour or 0, min or 0, 0)
  if not ts then ts = tz.to_utc("UTC", tonumber(y), tonumber(m), tonumber(d), hour or 0, min or 0, 0) end
  return ts
end

--- date ("YYYY-MM-DD") moved n days on (n may be negative); nil for a bad date.
function M.add_days(date, n)
  local ts = M.local_to_utc(date, 12, 0, "UTC")
  return ts and M.date_of(ts + n * 86400, "UTC")
end

--- The hour (0..23, company time) at which dated mails go out (notifications.send_hour).
function M.send_hour() return source().send_hour end

--- The instant at which a dated mail for date ("YYYY-MM-DD") moved days on (default 0) goes out:
--- that day at the send hour, on the company's clocks. nil for a bad date.
function M.at_send_hour(date, days)
  if days and days ~= 0 then date = M.add_days(date, days) end
  return date and M.local_to_utc(date, source().send_hour)
end

local function format_ymd(y, m, d, fmt)
  if fmt == "yyyy-mm-dd" then return ("%04d-%02d-%02d"):format(y, m, d) end
  if fmt == "dd/mm/yyyy" then return ("%02d/%02d/%04d"):format(d, m, y) end
  if fmt == "dd.mm.yyyy" then return ("%02d.%02d.%04d"):format(d, m, y) end
  if fmt == "mm/dd/yyyy" then return ("%02d/%02d/%04d"):format(m, d, y) end
  return ("%d %s %04d"):format(d, MONTHS[m], y)
end

--- A date as people read it, in the company's format: a calendar date "YYYY-MM-DD" as it is (no
--- zone: a deadline is a day), an instant (seconds) on the company's calendar. "" for nil or
--- something that is neither.
function M.format_date(v, fmt)
  if v == nil then return "" end
  fmt = fmt or source().format
  if type(v) == "string" then
    local y, m, d = v:match("^(%d%d%d%d)%-(%d%d)%-(%d%d)$")
    y, m, d = tonumber(y), tonumber(m), tonumber(d)
    if not y or m < 1 or m > 12 or d < 1 or d > 31 then return "" end
    return format_ymd(y, m, d, fmt)
  end
  if type(v) ~= "number" then return "" end
  local l = M.local_time(v)
  return format_ymd(l.year, l.month, l.day, fmt)
end

--- An instant as people read it: the date in the company's format, the time of day on a 24-hour
--- clock and the zone's abbreviation: "5 Dec 2026, 14:03 CET" (seconds: "14:03:09 CET").
function M.format_time(ts, opts)
  if ts == nil then return "" end
  local l = M.local_time(ts)
  local clock_text = opts and opts.seconds and ("%02d:%02d:%02d"):format(l.hour, l.min, l.sec)
    or ("%02d:%02d"):format(l.hour, l.min)
  return ("%s, %s %s"):format(format_ymd(l.year, l.month, l.day, source().format), clock_text, l.abbr)
end

--- "Dec 2026": the month of a date ("YYYY-MM-DD").
function M.month_label(date)
  local y, m = tostring(date):match("^(%d%d%d%d)%-(%d%d)")
  if not y then return "" end
  return ("%s %s"):format(MONTHS[tonumber(m)], y)
end

--- The weekday numbers (0 = Sunday) in the order the company's weeks run.
function M.week_days()
  if source().week_start == "sunday" then return { 0, 1, 2, 3, 4, 5, 6 } end
  return { 1, 2, 3, 4, 5, 6, 0 }
end

--- The offset of the company's zone now as "+01:00" (for the settings page).
function M.offset_text(ts, zone)
  local off = wall(ts or clock.now(), zone or source().zone).offset
  local sign = off < 0 and "-" or "+"
  off = math.abs(off)
  return ("%s%02d:%02d"):format(sign, off // 3600, off % 3600 // 60)
end

return M
