-- Administration › Date & time: the company's time zone, date format, week start and send hour
-- (services/company_time.lua), as a page and as GET/PUT /api/settings/datetime. admin.datetime:
-- HR Admins and Tech Admins.
local web = require "lib.web"
local page = require "lib.page"
local json = require "lib.json"
local util = require "lib.util"
local dates = require "lib.dates"
local events = require "lib.events"
local clock = require "core.clock"
local company_time = require "services.company_time"

local M = {}

local PERM = "admin.datetime"

local DAYS = { monday = "Monday", sunday = "Sunday" }

local function names(changed)
  local out = {}
  for _, s in ipairs(company_time.SETTINGS) do if changed[s.name] then out[#out + 1] = s.name end end
  return out
end

local function answer(changed)
  return { settings = company_time.current(), changed = json.array(names(changed or {})),
    now = { local_time = dates.format_time(clock.now()), utc_offset = dates.offset_text(), today = dates.today() } }
end

-- What a save changed, in words for the flash.
local function said(changed)
  local parts = {}
  if changed.time_zone then
    parts[#parts + 1] = ("time zone %s (was %s)"):format(changed.time_zone.to, changed.time_zone.from)
  end
  if changed.date_format then parts[#parts + 1] = "dates now read " .. dates.format_date(dates.today()) end
  if changed.week_start then parts[#parts + 1] = "weeks start on " .. DAYS[changed.week_start.to] end
  if changed.send_hour then parts[#parts + 1] = ("dated mails go out at %02d:00"):format(changed.send_hour.to) end
  local text = "Date & time saved: " .. table.concat(parts, "; ") .. "."
  if changed.time_zone or changed.send_hour then
    text = text .. (" Mails already planned move to %02d:00 %s on their day."):format(dates.send_hour(), dates.zone())
  end
  return text
end

local function form_page(req)
  local kept = page.kept(req)
  local values = kept and kept.values or company_time.current()
  local examples = {}
  for _, f in ipairs(dates.FORMATS) do examples[f.key] = dates.format_date(dates.today(), f.key) end
  return page.render(req, "admin_datetime", { title = "Date & time", values = values,
    errors = kept and kept.errors or {}, zones = company_time.zones(), formats = dates.FORMATS, examples = examples, days = DAYS,
    now = dates.format_time(clock.now()), offset = dates.offset_text() }, { nav = "admin" })
end

function M.routes(r)
  r:add{ method = "GET", path = "/api/settings/datetime", auth = "user", perm = PERM,
    handler = function() return web.json(200, answer()) end }

  r:add{ method = "PUT", path = "/api/settings/datetime", auth = "user", perm = PERM,
    handler = function(req) return web.json(200, answer(company_time.save(req.user, web.body(req), req))) end }

  r:add{ method = "GET", path = "/admin/datetime", auth = "user", perm = PERM, handler = form_page }

  r:add{ method = "POST", path = "/admin/datetime", auth = "user", perm = PERM,
    handler = function(req)
      local f = web.form(req)
      local input = { time_zone = util.trim(f.time_zone or ""), date_format = f.date_format,
        week_start = f.week_start, send_hour = f.send_hour }
      local ok, changed = page.form(req, { back = "/admin/datetime", values = f }, company_time.save, req.user, input, req)
      if not ok then return changed end
      return page.redirect("/admin/datetime", "success", next(changed) and said(changed) or "Nothing changed.")
    end }

  events.hook("admin.tiles", function(e) e.links[PERM] = { href = "/admin/datetime" } end)
end

return M
