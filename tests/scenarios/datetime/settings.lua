-- Administration › Date & time (admin.datetime: HR Admins and Tech Admins, not HR Assistants): the
-- company's time zone, date format, week start and send hour. Marcus is an HR Admin, Tom a Tech
-- Admin, Lena an HR Assistant, Zoe and Ravi employees. The clock starts on Monday 5 January 2026,
-- 09:00 UTC.
local t = require "testing"
local db = require "lib.db"
local json = require "lib.json"
local dates = require "lib.dates"

local P = t.demo()

local DEFAULTS = { time_zone = "UTC", date_format = "d mon yyyy", week_start = "monday", send_hour = 9 }

local function current() return t.status(t.as("marcus"):get("/api/settings/datetime"), 200).json.settings end

local function put(who, body) return t.as(who):put("/api/settings/datetime", body) end

local function reset() t.status(put("marcus", DEFAULTS), 200) end

t.test("HR Admins and Tech Admins read and change the settings; assistants and employees get 403 and change nothing", function()
  t.same(current(), DEFAULTS, "UTC, 5 Dec 2026, Monday and 09:00 at first")
  for _, who in ipairs({ "lena", "zoe", "ravi" }) do
    local c = t.as(who)
    t.status(c:get("/api/settings/datetime"), 403, who)
    t.status(c:put("/api/settings/datetime", { time_zone = "Europe/Berlin" }), 403, who)
    t.status(c:get("/admin/datetime"), 403, who)
    t.status(c:form("/admin/datetime", { time_zone = "Europe/Berlin" }), 403, who)
  end
  t.same(current(), DEFAULTS, "nothing changed")
  local res = t.status(put("marcus", { time_zone = "Europe/Berlin", date_format = "dd.mm.yyyy" }), 200).json
  t.same(res.changed, { "time_zone", "date_format" })
  t.eq(res.now.local_time, "05.01.2026, 10:00 CET")
  t.eq(res.now.utc_offset, "+01:00")
  res = t.status(put("tom", { week_start = "sunday", send_hour = 7 }), 200).json
  t.same(res.settings, { time_zone = "Europe/Berlin", date_format = "dd.mm.yyyy", week_start = "sunday", send_hour = 7 })
  t.same(dates.week_days(), { 0, 1, 2, 3, 4, 5, 6 }, "weeks run from Sunday")
  reset()
end)

t.test("an unknown time zone or value is refused with 422 naming the field, and nothing changes", function()
  local audited = db.value("SELECT count(*) FROM audit_log WHERE action = 'settings.datetime'")
  for _, bad in ipairs({ "Mars/Olympus_Mons", "Europe/Berlinn", "../../etc/passwd", "right/Europe/Berlin",
      "localtime", "", "Europe" }) do
    local res = t.status(put("marcus", { time_zone = bad, date_format = "yyyy-mm-dd" }), 422, bad)
    t.contains(res.body, "time_zone", bad)
  end
  t.contains(t.status(put("marcus", { date_format = "dd-mm-yy" }), 422).body, "date_format")
  t.contains(t.status(put("marcus", { send_hour = 24 }), 422).body, "send_hour")
  t.contains(t.status(put("marcus", { week_start = "friday" }), 422).body, "week_start")
  t.same(current(), DEFAULTS, "nothing changed, not even the valid date format sent along")
  t.eq(db.value("SELECT count(*) FROM audit_log WHERE action = 'settings.datetime'"), audited, "nothing audited")
end)

t.test("a link name of the tz database is a zone too", function()
  t.same(t.status(put("marcus", { time_zone = "Asia/Calcutta" }), 200).json.changed, { "time_zone" })
  reset()
end)

t.test("the page saves with post/redirect/get, says what changes, and the change is audited", function()
  local c = t.as("tom")
  local pg = t.status(c:get("/admin/datetime"), 200).body
  t.contains(pg, 'name="csrf_token"')
  t.contains(pg, '<option value="Europe/Berlin">')
  t.contains(pg, "5 Jan 2026")
  t.contains(pg, "05.01.2026", "each format shows today as an example")
  local res = c:form("/admin/datetime", { time_zone = "Europe/Berlin", date_format = "d mon yyyy",
    week_start = "monday", send_hour = "9" })
  t.eq(res.status, 303)
  local done = t.status(c:follow(res), 200).body
  t.contains(done, "Date &amp; time saved: time zone Europe/Berlin (was UTC).")
  t.contains(done, "Mails already planned move to 09:00 Europe/Berlin on their day.")
  t.contains(done, "5 Jan 2026, 10:00 CET")
  local entry = db.row("SELECT * FROM audit_log WHERE action = 'settings.datetime' ORDER BY id DESC LIMIT 1")
  t.eq(entry.actor_id, P.tom.id)
  t.same(json.decode(entry.details).changed, { time_zone = { from = "UTC", to = "Europe/Berlin" } })
  t.contains(t.status(c:follow(c:form("/admin/datetime", { time_zone = "Europe/Berlin", date_format = "d mon yyyy",
    week_start = "monday", send_hour = "9" })), 200).body, "Nothing changed.")
  reset()
end)

t.test("a refused form comes back with what was typed and the problem; nothing changes", function()
  local c = t.as("marcus")
  local res = c:form("/admin/datetime", { time_zone = "Europe/Berlinn", date_format = "yyyy-mm-dd",
    week_start = "sunday", send_hour = "6" })
  t.eq(res.status, 303)
  local pg = t.status(c:follow(res), 200).body
  t.contains(pg, 'value="Europe/Berlinn"', "the typed zone")
  t.contains(pg, 'value="yyyy-mm-dd" checked', "the picked format")
  t.contains(pg, '<option value="sunday" selected>')
  t.contains(pg, '<option value="6" selected>06:00</option>')
  t.contains(pg, "Must be a time zone of the tz database")
  t.same(current(), DEFAULTS)
end)

t.test("without the CSRF token the form changes nothing", function()
  local c = t.login(P.marcus.email)
  c.auto_csrf = false
  t.status(c:form("/admin/datetime", { time_zone = "Europe/Berlin" }), 403)
  t.same(current(), DEFAULTS)
end)

t.test("the administration overview links the tile for HR and Tech Admins, greys it for assistants", function()
  local function tile(who) return t.status(t.as(who):get("/admin"), 200).body end
  t.contains(tile("marcus"), '<a class="admin-action" href="/admin/datetime" data-action="admin.datetime">')
  t.contains(tile("tom"), '<a class="admin-action" href="/admin/datetime" data-action="admin.datetime">')
  t.not_contains(tile("lena"), 'href="/admin/datetime"')
end)

t.test("pages write dates in the chosen format and times in the company's zone", function()
  local hired = P.daniel.hire_date
  t.ok(hired, "a hire date to show")
  local y, m, d = hired:match("^(%d+)-(%d+)-(%d+)$")
  t.contains(t.status(t.as("marcus"):get("/people/" .. P.daniel.id), 200).body, dates.format_date(hired))
  t.status(put("marcus", { date_format = "dd.mm.yyyy", time_zone = "America/New_York" }), 200)
  local body = t.status(t.as("marcus"):get("/people/" .. P.daniel.id), 200).body
  t.contains(body, ("%s.%s.%s"):format(d, m, y), "the hire date as dd.mm.yyyy")
  t.status(put("marcus", { date_format = "mm/dd/yyyy" }), 200)
  body = t.status(t.as("marcus"):get("/people/" .. P.daniel.id), 200).body
  t.contains(body, ("%s/%s/%s"):format(m, d, y), "the hire date as mm/dd/yyyy")
  -- a calendar date stays the day it is, whatever the zone (not moved back to the day before)
  t.not_contains(body, dates.format_date(dates.add_days(hired, -1)))
  local security = t.status(t.as("marcus"):get("/account/security"), 200).body
  t.match(security, "01/05/2026, 04:00 EST", "the session started at 09:00 UTC: 04:00 in New York")
  reset()
end)

t.test("JSON answers keep ISO 8601 in UTC whatever the company's format", function()
  t.status(put("marcus", { date_format = "dd.mm.yyyy", time_zone = "Asia/Kolkata" }), 200)
  local tokens = t.status(t.as("tom"):post("/api/tokens", { name = "ISO check" }), 201).json
  t.eq(tokens.created_at, "2026-01-05T09:00:00Z")
  reset()
end)
