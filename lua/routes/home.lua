-- The front door: health check, sign-in page, the signed-in home page.
local web = require "lib.web"
local page = require "lib.page"

local M = {}

-- Areas contribute to-do items: fn(user) -> list of { label=, href=, due= }.
M.todo_sources = {}

function M.add_todo_source(fn) M.todo_sources[#M.todo_sources + 1] = fn end

-- Areas add panels to the home page: fn(user) -> { title =, items = { { label=, href=, note=, badge=,
-- badge_class=, progress = { n=, total=, label= }, done = bool (checklist) } }, empty = "text when
-- there are none", order = number (lower first; default 50), checklist = bool, note =, action =
-- { label=, href= } } or nil (nothing to show).
M.panels = {}

function M.add_panel(fn) M.panels[#M.panels + 1] = fn end

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
      local todos = {}
      for _, src in ipairs(M.todo_sources) do
        for _, t in ipairs(src(req.user) or {}) do todos[#todos + 1] = t end
      end
      table.sort(todos, function(a, b) return (a.due or "9999") < (b.due or "9999") end)
      local panels = {}
      for _, fn in ipairs(M.panels) do
        local p = fn(req.user)
        if p then panels[#panels + 1] = p end
      end
      for i, p in ipairs(panels) do p.position = i end
      table.sort(panels, function(a, b)
        if (a.order or 50) ~= (b.order or 50) then return (a.order or 50) < (b.order or 50) end
        return a.position < b.position
      end)
      return page.render(req, "home", { title = "Home", todos = todos, panels = panels }, { nav = "home" })
    end }

  page.add_nav{ id = "home", label = "Home", href = "/home", icon = "⌂", order = 1 }
end

return M
