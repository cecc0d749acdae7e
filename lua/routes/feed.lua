-- The automatic people import from a drop folder ("SFTP setup", users.sftp, Tech Admins): the
-- settings page /admin/integrations/sftp with its runs, and the JSON API /api/integrations/sftp
-- (settings) and /api/integrations/sftp/run (look in the folder now). services/feed.lua does
-- the work.
local web = require "lib.web"
local page = require "lib.page"
local json = require "lib.json"
local util = require "lib.util"
local dates = require "lib.dates"
local events = require "lib.events"
local feed = require "services.feed"
local people = require "services.people"

local M = {}

local PERM = feed.PERMISSION

local function iso(ts) return ts and util.format_time(ts) or json.null end

local function run_json(r)
  return { id = r.id, trigger = r.trigger, file = r.file, moved_to = r.moved_to or json.null, bytes = r.bytes,
    status = r.status, rows = r.rows, import_id = r.import_id or json.null,
    import_url = r.import_id and ("/api/users/imports/" .. r.import_id) or json.null,
    counts = r.counts, error = r.error or json.null, started_at = iso(r.started_at), finished_at = iso(r.finished_at) }
end

local function settings_json()
  local s = feed.current()
  local owner = s.owner_id and people.get(s.owner_id)
  local runs = {}
  for i, r in ipairs(feed.runs(20)) do runs[i] = run_json(r) end
  return { enabled = s.enabled, folder = s.folder, pattern = s.pattern, frequency = s.frequency, hour = s.hour,
    deactivate_missing = s.deactivate_missing, max_share = feed.MAX_SHARE,
    owner = owner and { id = owner.id, name = owner.name, email = owner.email } or json.null,
    next_run_at = iso(feed.next_run_at()), kept_fields = json.array(s.enabled and feed.KEPT or {}),
    runs = json.array(runs) }
end

local STATUS = { running = { "badge-brand", "Running" }, done = { "badge-ok", "Done" }, failed = { "badge-bad", "Failed" } }

local function render(req)
  local kept = page.kept(req)
  local s = feed.current()
  local values = s
  if kept then
    values = kept.values
    values.enabled = values.enabled == "on"
    values.deactivate_missing = values.deactivate_missing == "on"
    values.hour = tonumber(values.hour) or values.hour
  end
  local owner = s.owner_id and people.get(s.owner_id)
  local hours = {}
  for h = 0, 23 do hours[#hours + 1] = { value = h, label = ("%02d:00"):format(h) } end
  local next_at = feed.next_run_at()
  return page.render(req, "admin_sftp", { title = "SFTP setup", values = values, current = s, owner = owner,
    errors = kept and kept.errors or {}, hours = hours, runs = feed.runs(20), status = STATUS,
    fmt_time = function(ts) return dates.format_time(ts) end, next_at = next_at and dates.format_time(next_at),
    share = math.floor(feed.MAX_SHARE * 100 + 0.5), zone = require("services.settings").get("company.time_zone") },
    { nav = "admin" })
end

function M.routes(r)
  r:add{ method = "GET", path = "/api/integrations/sftp", auth = "user", perm = PERM,
    handler = function() return web.json(200, settings_json()) end }

  r:add{ method = "PUT", path = "/api/integrations/sftp", auth = "user", perm = PERM,
    handler = function(req)
      local changed = feed.save(req.user, web.body(req), req)
      local out = settings_json()
      local names = {}
      for name in pairs(changed) do names[#names + 1] = name end
      table.sort(names)
      out.changed = json.array(names)
      return web.json(200, out)
    end }

  r:add{ method = "POST", path = "/api/integrations/sftp/run", auth = "user", perm = PERM,
    handler = function(req)
      feed.run_now(req.user, req)
      return web.json(202, { message = "Candor looks in the folder now; the run shows under runs when it is done." })
    end }

  r:add{ method = "GET", path = "/admin/integrations/sftp", auth = "user", perm = PERM,
    handler = render }

  r:add{ method = "POST", path = "/admin/integrations/sftp", auth = "user", perm = PERM,
    handler = function(req)
      local f = web.form(req)
      local input = { enabled = f.enabled == "on", folder = f.folder or "", pattern = f.pattern or "",
        frequency = f.frequency, hour = f.hour, deactivate_missing = f.deactivate_missing == "on" }
      local ok, res = page.form(req, { back = "/admin/integrations/sftp", values = f }, feed.save, req.user, input, req)
      if not ok then return res end
      return page.redirect("/admin/integrations/sftp", "success", next(res) and "Settings saved." or "Nothing changed.")
    end }

  r:add{ method = "POST", path = "/admin/integrations/sftp/run", auth = "user", perm = PERM,
    handler = function(req)
      local ok, res = page.form(req, "/admin/integrations/sftp", feed.run_now, req.user, req)
      if not ok then return res end
      return page.redirect("/admin/integrations/sftp", "success",
        "Candor looks in the folder now: reload this page in a moment to see the run.")
    end }

  events.hook("admin.tiles", function(e) e.links[PERM] = { href = "/admin/integrations/sftp" } end)
end

return M
