-- The XML export (admin.xml_export, super users): the page that starts one and shows how it is
-- going, the download, and the same through the API. services/xml_export.lua makes the file.
local web = require "lib.web"
local page = require "lib.page"
local events = require "lib.events"
local xml_export = require "services.xml_export"

local M = {}

local BASE = "/admin/xml-export"

-- The status as the API tells it (times as ISO 8601 UTC).
local function status_json(s)
  if not s then return { status = "none" } end
  local function iso(ts) return ts and os.date("!%Y-%m-%dT%H:%M:%SZ", ts) or nil end
  return { status = s.status, started_by = s.by, started_by_name = s.by_name, started_at = iso(s.started_at),
    finished_at = iso(s.finished_at), size = s.size, section = s.section, error = s.error,
    download = (s.status == "ready" and s.mine) and "/api/exports/xml/download" or nil }
end

-- The file is sent as the client takes it, never read into memory whole (web.file).
local function send(req)
  local path, name = xml_export.download(req.user, req)
  return web.file({ file = path }, xml_export.CONTENT_TYPE, name)
end

function M.routes(r)
  r:add{ method = "GET", path = BASE, auth = "user", perm = "admin.xml_export",
    handler = function(req)
      return page.render(req, "admin_xml_export", { title = "XML export", export = xml_export.status(req.user) },
        { nav = "admin" })
    end }

  r:add{ method = "POST", path = BASE, auth = "user", perm = "admin.xml_export",
    handler = function(req)
      local ok, res = page.form(req, BASE, xml_export.start, req.user, req)
      if not ok then return res end
      return page.redirect(BASE, "success", "The XML export has started. This page shows when it is ready.")
    end }

  r:add{ method = "GET", path = BASE .. "/download", auth = "user", perm = "admin.xml_export",
    handler = send }

  r:add{ method = "POST", path = "/api/exports/xml", auth = "user", perm = "admin.xml_export",
    handler = function(req)
      xml_export.start(req.user, req)
      return web.json(202, { export = { status = "running" } }, { Location = "/api/exports/xml" })
    end }

  r:add{ method = "GET", path = "/api/exports/xml", auth = "user", perm = "admin.xml_export",
    handler = function(req)
      return web.json(200, { export = status_json(xml_export.status(req.user)) })
    end }

  r:add{ method = "GET", path = "/api/exports/xml/download", auth = "user", perm = "admin.xml_export",
    handler = send }

  events.hook("admin.tiles", function(e)
    e.links["admin.xml_export"] = { href = BASE }
  end)
end

return M
