-- The front door: health check, sign-in page, the signed-in home page.
-- Areas add to the home page by hooking events (docs/events.md):
--   home.todos  { user =, req =, items = {} }: append { label=, href=, due= }
--   home.panels { user =, req =, panels = {} }: append { title =, items = { { label=, href=, note=, badge=,
--                 badge_class=, progress = { n=, total=, label= }, done = bool (checklist) } }, empty =
--                 "text when there are none", order = number (lower first; default 50), checklist =
--                 bool, note =, action = { label=, href= } }
local web = require "lib.web"
local page = require "lib.page"
local events = require "lib.events"

local M = {}

local HEALTHY = '{"status":"ok"}'
local HEALTH_HEADERS = { ["Content-Type"] = "application/json", ["Cache-Control"] = "no-store" }

function M.routes(r)
  r:add{ method = "GET", path = "/healthz", auth = "public", perm = "none", session = false,
    handler = function()
      return { status = 200, headers = HEALTH_HEADERS, body = HEALTHY }
    end }

  r:add{ method = "GET", path = "/", auth = "public", perm = "none",
    handler = function(req)
      if req.user then return web.redirect("/home") end
      local q = web.query(req)
      return page.render(req, "signin", { title = "Sign in", next_url = q.next, email = q.email },
        { layout = "plain" })
    end }

  r:add{ method = "GET", path = "/home", auth = "any_user", perm = "object",
    handler = function(req)
      local todos = { user = req.user, req = req, items = {} }
      events.fire("home.todos", todos)
      todos = todos.items
      table.sort(todos, function(a, b) return (a.due or "9999") < (b.due or "9999") end)
      local panels = { user = req.user, req = req, panels = {} }
      events.fire("home.panels", panels)
      panels = panels.panels
      for i, p in ipairs(panels) do p.position = i end
      table.sort(panels, function(a, b)
        if (a.order or 50) ~= (b.order or 50) then return (a.order or 50) < (b.order or 50) end
        return a.position < b.position
      end)
      return page.render(req, "home", { title = "Home", todos = todos, panels = panels }, { nav = "home" })
    end }

  events.hook("page.nav", function(e)
    e.items[#e.items + 1] = { id = "home", label = "Home", href = "/home", icon = "⌂", order = 1 }
  end)
end

return M
