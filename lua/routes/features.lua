-- Administration › Features: which modules the company uses (services/features.lua), as a page
-- and as GET/PUT /api/settings/features. admin.features: HR Admins and Tech Admins.
local web = require "lib.web"
local page = require "lib.page"
local json = require "lib.json"
local events = require "lib.events"
local features = require "services.features"

local M = {}

local PERM = "admin.features"

local function answer(changes)
  local names = {}
  for _, f in ipairs(features.LIST) do if changes[f.name] then names[#names + 1] = f.name end end
  return { features = features.all(), changed = json.array(names) }
end

function M.routes(r)
  r:add{ method = "GET", path = "/api/settings/features", auth = "user", perm = PERM,
    handler = function() return web.json(200, features.all()) end }

  r:add{ method = "PUT", path = "/api/settings/features", auth = "user", perm = PERM,
    handler = function(req) return web.json(200, answer(features.save(req.user, web.body(req), req))) end }

  r:add{ method = "GET", path = "/admin/features", auth = "user", perm = PERM,
    handler = function(req)
      return page.render(req, "admin_features", { title = "Features", list = features.LIST, on = features.all() },
        { nav = "admin" })
    end }

  r:add{ method = "POST", path = "/admin/features", auth = "user", perm = PERM,
    handler = function(req)
      local f, input = web.form(req), {}
      for _, x in ipairs(features.LIST) do input[x.name] = f[x.name] == "on" end
      local changes = features.save(req.user, input, req)
      return page.redirect("/admin/features", "success", next(changes) and "Features saved." or "Nothing changed.")
    end }

  events.hook("admin.tiles", function(e) e.links[PERM] = { href = "/admin/features" } end)
end

return M
