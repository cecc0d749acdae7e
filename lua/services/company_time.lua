-- The company's date and time settings (Administration › Date & time; admin.datetime: HR Admins
-- and Tech Admins): its time zone (applies to everyone), how dates are written, which day weeks
-- start on, and the hour at which dated mails go out. lib/dates.lua reads them; everything that
-- says "today" or plans a dated mail goes through it.
--
-- A change of the time zone or the send hour moves what is already planned: the job
-- "company_time.replan" (planned at once, in the transaction of the change) fires
-- "company_time.changed", and each module that plans dated jobs (cycle workflows, 1:1s,
-- objectives, surveys, automations, feedback requests) plans its future ones again from their
-- dates. A dated job that runs reads the dates again anyway.
local tz = require "core.tz"
local clock = require "core.clock"
local db = require "lib.db"
local dates = require "lib.dates"
local errors = require "lib.errors"
local events = require "lib.events"
local settings = require "services.settings"
local audit = require "services.audit"

local M = {}

local app

-- The settings by the names the page and the API use.
M.SETTINGS = {
  { name = "time_zone", key = "company.time_zone" },
  { name = "date_format", key = "company.date_format" },
  { name = "week_start", key = "company.week_start" },
  { name = "send_hour", key = "notifications.send_hour" },
}

local zone_list -- sorted names, read once

--- The zones to choose from: the tz database's zones (not its links), sorted, with "UTC" first.
--- { "UTC" } alone when the database is not installed.
function M.zones()
  if zone_list then return zone_list end
  local names = tz.zones()
  local out = { "UTC" }
  for _, n in ipairs(names or {}) do
    if n ~= "Factory" and n ~= "UTC" and not n:match("^Etc/") then out[#out + 1] = n end
  end
  table.sort(out, function(a, b) return a ~= "UTC" and b ~= "UTC" and a < b or a == "UTC" and b ~= "UTC" end)
  zone_list = out
  return out
end

local known -- zone and link names of the tz database -> true, read once

local function valid_zone(v)
  if not known then
    known = { UTC = true }
    local zones, links = tz.zones()
    for _, list in ipairs({ zones or {}, links or {} }) do
      for _, n in ipairs(list) do if n ~= "Factory" then known[n] = true end end
    end
  end
  if known[v] and tz.check(v) then return true end
  return nil, "must be a time zone of the tz database (e.g. Europe/Berlin, America/New_York or UTC)"
end

--- The current values: { time_zone =, date_format =, week_start =, send_hour = }.
function M.current()
  local out = {}
  for _, s in ipairs(M.SETTINGS) do out[s.name] = settings.get(s.key) end
  return out
end

--- Saves the settings given in input (names as in M.SETTINGS; absent ones stay). Every value is
--- checked first: 422 with a message per field, nothing changed. A change is audited
--- (settings.datetime, with from and to); a new zone or send hour re-plans the dated mails.
--- Returns the changes { name = { from =, to = } }. Call inside a transaction.
function M.save(actor, input, req)
  local values, problems = {}, {}
  for _, s in ipairs(M.SETTINGS) do
    local v = (input or {})[s.name]
    if v == "" then
      problems[s.name] = "Must be set."
    elseif v ~= nil then
      local checked, msg = settings.check(s.key, v)
      if checked == nil then problems[s.name] = msg:gsub("^%l", string.upper) .. "." else values[s.name] = checked end
    end
  end
  if next(problems) then errors.invalid(problems) end
  local changed = settings.set_named(M.SETTINGS, values, actor.id)
  if next(changed) then
    audit.record{ action = "settings.datetime", actor = actor, req = req, details = { changed = changed } }
  end
  if changed.time_zone or changed.send_hour then
    app.schedule(clock.now(), "company_time.replan", {}, { coalesce = "company_time:replan" })
  end
  return changed
end

function M.init(a)
  app = a
  settings.define("company.time_zone", { type = "string", default = "UTC", len_max = 200, one_line = true,
    label = "Time zone", custom_validator = valid_zone,
    description = "The company's time zone (a name of the tz database, e.g. Europe/Berlin): \"today\", deadlines, "
      .. "the send hour and the times pages show are in it." })
  settings.define("company.date_format", { type = "string", default = "d mon yyyy", one_of = dates.FORMAT_KEYS,
    label = "Date format", description = "How pages and mails write a date: d mon yyyy (5 Dec 2026), dd/mm/yyyy, "
      .. "dd.mm.yyyy, mm/dd/yyyy or yyyy-mm-dd." })
  settings.define("company.week_start", { type = "string", default = "monday", one_of = dates.WEEK_STARTS,
    label = "Week starts on", description = "The first day of the week in calendars and week views." })
  settings.define("notifications.send_hour", { type = "integer", default = 9, between = { 0, 23 },
    label = "Send hour", description = "The hour (0-23, in the company's time zone) at which dated mails of "
      .. "timelines and automations go out." })
  dates.use(function()
    return { zone = settings.get("company.time_zone"), format = settings.get("company.date_format"),
      week_start = settings.get("company.week_start"), send_hour = settings.get("notifications.send_hour") }
  end)
  app.on_job("company_time.replan", function()
    db.transaction(function()
      events.fire("company_time.changed", { time_zone = settings.get("company.time_zone"),
        send_hour = settings.get("notifications.send_hour") })
    end)
  end)
end

return M
