-- Administration of praise and messages (HR Admins): badges (praise.badges), message defaults
-- per kind (praise.platforms), the praise wall's office screens (praise.wall) and moderation
-- of praise (praise.moderate). Pages and the JSON API; the rules are in the services.
local web = require "lib.web"
local page = require "lib.page"
local json = require "lib.json"
local errors = require "lib.errors"
local events = require "lib.events"
local access = require "services.access"
local messages = require "services.messages"
local badges = require "services.badges"
local wall = require "services.wall"

local M = {}


local SECTIONS = {
  { "badges", "Badges", "praise.badges" }, { "defaults", "Message defaults", "praise.platforms" },
  { "wall", "Praise wall", "praise.wall" }, { "moderation", "Moderation", "praise.moderate" },
}

local function render(req, name, data)
  local tabs = {}
  for _, s in ipairs(SECTIONS) do
    if access.can(req.user, s[3]) then tabs[#tabs + 1] = { id = s[1], label = s[2], href = "/admin/praise/" .. s[1] } end
  end
  data.tabs, data.section = tabs, name
  return page.render(req, "admin_praise_" .. name, data, { nav = "admin_praise" })
end

local function badge_json(b)
  return { id = b.id, title = b.title, description = b.description, symbol = b.symbol, active = b.active,
    position = b.position, image = b.image or json.null }
end

function M.routes(r)
  r:add{ method = "GET", path = "/admin/praise", auth = "user", perm = "object",
    handler = function(req)
      for _, s in ipairs(SECTIONS) do
        if access.can(req.user, s[3]) then return web.redirect("/admin/praise/" .. s[1], 302) end
      end
      errors.forbidden("You do not have permission to do this. It needs: HR Admin.")
    end }

  -- badges
  r:add{ method = "GET", path = "/admin/praise/badges", auth = "user", perm = "praise.badges",
    handler = function(req)
      local kept = page.kept(req)
      return render(req, "badges", { title = "Badges", list = badges.list(true), kept = kept, max_kb = 512 })
    end }

  r:add{ method = "POST", path = "/admin/praise/badges", auth = "user", perm = "praise.badges",
    handler = function(req)
      local f = web.form(req)
      local ok, res = page.form(req, { back = "/admin/praise/badges", values = f, extra = { form = "new" } },
        badges.create, req.user, f, req)
      if not ok then return res end
      return page.redirect("/admin/praise/badges", "success", "Badge added.")
    end }

  r:add{ method = "POST", path = "/admin/praise/badges/{id:int}", auth = "user", perm = "praise.badges",
    handler = function(req)
      local f = web.form(req)
      local input = { title = f.title, description = f.description, symbol = f.symbol, active = f.active == "1" }
      local ok, res = page.form(req, { back = "/admin/praise/badges", values = f, extra = { form = req.params.id } },
        badges.update, req.user, req.params.id, input, req)
      if not ok then return res end
      return page.redirect("/admin/praise/badges", "success", input.active and "Saved." or "Badge retired.")
    end }

  r:add{ method = "POST", path = "/admin/praise/badges/{id:int}/move", auth = "user", perm = "praise.badges",
    handler = function(req)
      local ok, res = page.form(req, "/admin/praise/badges", badges.move, req.user, req.params.id,
        web.form(req).step == "up" and -1 or 1, req)
      if not ok then return res end
      return web.redirect("/admin/praise/badges")
    end }

  r:add{ method = "POST", path = "/admin/praise/badges/{id:int}/image", auth = "user", perm = "praise.badges",
    handler = function(req)
      local file = web.multipart(req).files.image
      local ok, res = page.form(req, "/admin/praise/badges", badges.set_image, req.user, req.params.id, file and file.data, req)
      if not ok then return res end
      return page.redirect("/admin/praise/badges", "success", "Image uploaded.")
    end }

  r:add{ method = "POST", path = "/admin/praise/badges/{id:int}/image/delete", auth = "user", perm = "praise.badges",
    handler = function(req)
      local ok, res = page.form(req, "/admin/praise/badges", badges.remove_image, req.user, req.params.id, req)
      if not ok then return res end
      return page.redirect("/admin/praise/badges", "success", "Image removed.")
    end }

  -- message defaults
  r:add{ method = "GET", path = "/admin/praise/defaults", auth = "user", perm = "praise.platforms",
    handler = function(req)
      local kept = page.kept(req)
      return render(req, "defaults", { title = "Message defaults", d = messages.all_defaults(), kinds = messages.KINDS,
        kind_labels = messages.KIND_LABELS, kind_audiences = messages.KIND_AUDIENCES, audience_labels = messages.AUDIENCE_LABELS,
        anonymity = messages.ANONYMITY, errors = kept and kept.errors or {} })
    end }

  r:add{ method = "POST", path = "/admin/praise/defaults", auth = "user", perm = "praise.platforms",
    handler = function(req)
      local f = web.form(req)
      local input = {}
      for _, k in ipairs(messages.KINDS) do
        input[k] = { enabled = f[k .. "_enabled"] == "1", audience = f[k .. "_audience"], anonymity = f[k .. "_anonymity"] }
      end
      local ok, res = page.form(req, { back = "/admin/praise/defaults", values = f }, messages.save_defaults, req.user, input, req)
      if not ok then return res end
      return page.redirect("/admin/praise/defaults", "success", "Message defaults saved.")
    end }

  -- the wall's office screens
  r:add{ method = "GET", path = "/admin/praise/wall", auth = "user", perm = "praise.wall",
    handler = function(req)
      local kept = page.kept(req)
      return render(req, "wall", { title = "Praise wall", screens = wall.screens(req.user),
        created = kept and kept.extra and kept.extra.token and kept.extra, errors = kept and kept.errors or {},
        base = require("services.accounts").base_url() })
    end }

  r:add{ method = "POST", path = "/admin/praise/wall/screens", auth = "user", perm = "praise.wall",
    handler = function(req)
      local f = web.form(req)
      local ok, id, token = page.form(req, { back = "/admin/praise/wall", values = f }, wall.create_screen, req.user, f, req)
      if not ok then return id end
      page.keep(req, "/admin/praise/wall", { extra = { token = token, id = id, label = f.label } })
      return page.redirect("/admin/praise/wall", "success", "Screen link created: copy it now, it is shown only once.")
    end }

  r:add{ method = "POST", path = "/admin/praise/wall/screens/{id:int}/delete", auth = "user", perm = "praise.wall",
    handler = function(req)
      local ok, res = page.form(req, "/admin/praise/wall", wall.revoke_screen, req.user, req.params.id, req)
      if not ok then return res end
      return page.redirect("/admin/praise/wall", "success", "Screen link deleted; that screen stops showing praise.")
    end }

  -- moderation: every praise, whatever its audience
  r:add{ method = "GET", path = "/admin/praise/moderation", auth = "user", perm = "praise.moderate",
    handler = function(req)
      local q = web.query(req)
      local list, next_before = messages.moderation_page(req.user, q.before)
      return render(req, "moderation", { title = "Moderation", list = list, next_before = next_before, q = q,
        audience_labels = messages.AUDIENCE_LABELS })
    end }

  -- ---------------------------------------------------------------- API
  r:add{ method = "GET", path = "/api/badges", auth = "user", perm = "messages.read_everyone",
    handler = function(req)
      local all = web.query(req).all == "1" and access.can(req.user, "praise.badges")
      local out = {}
      for i, b in ipairs(badges.list(all)) do out[i] = badge_json(b) end
      return web.json(200, { items = json.array(out) })
    end }

  r:add{ method = "POST", path = "/api/badges", auth = "user", perm = "praise.badges",
    handler = function(req)
      local id = badges.create(req.user, web.body(req), req)
      return web.json(201, badge_json(badges.get(id)))
    end }

  r:add{ method = "PATCH", path = "/api/badges/{id:int}", auth = "user", perm = "praise.badges",
    handler = function(req)
      local b = badges.get(req.params.id)
      local body = web.body(req)
      local input = { title = body.title or b.title, description = body.description or b.description,
        symbol = body.symbol or b.symbol, active = body.active }
      badges.update(req.user, b.id, input, req)
      if body.position == "up" or body.position == "down" then badges.move(req.user, b.id, body.position == "up" and -1 or 1, req) end
      return web.json(200, badge_json(badges.get(b.id)))
    end }

  r:add{ method = "PUT", path = "/api/badges/{id:int}/image", auth = "user", perm = "praise.badges",
    handler = function(req)
      local img = badges.set_image(req.user, req.params.id, req.body, req)
      return web.json(200, { type = img.type, width = img.width or json.null, height = img.height or json.null,
        bytes = #img.data })
    end }

  r:add{ method = "DELETE", path = "/api/badges/{id:int}/image", auth = "user", perm = "praise.badges",
    handler = function(req)
      badges.remove_image(req.user, req.params.id, req)
      return web.no_content()
    end }

  r:add{ method = "GET", path = "/api/message-defaults", auth = "user", perm = "praise.platforms",
    handler = function() return web.json(200, messages.all_defaults()) end }

  r:add{ method = "PUT", path = "/api/message-defaults", auth = "user", perm = "praise.platforms",
    handler = function(req)
      messages.save_defaults(req.user, web.body(req), req)
      return web.json(200, messages.all_defaults())
    end }

  r:add{ method = "GET", path = "/api/wall-screens", auth = "user", perm = "praise.wall",
    handler = function(req)
      local out = {}
      for i, s in ipairs(wall.screens(req.user)) do
        out[i] = { id = s.id, label = s.label, created_at = s.created_at, last_used_at = s.last_used_at or json.null }
      end
      return web.json(200, { items = json.array(out) })
    end }

  r:add{ method = "POST", path = "/api/wall-screens", auth = "user", perm = "praise.wall",
    handler = function(req)
      local id, token = wall.create_screen(req.user, web.body(req), req)
      return web.json(201, { id = id, url = "/praise/screen/" .. token })
    end }

  r:add{ method = "DELETE", path = "/api/wall-screens/{id:int}", auth = "user", perm = "praise.wall",
    handler = function(req)
      wall.revoke_screen(req.user, req.params.id, req)
      return web.no_content()
    end }

  events.hook("admin.tiles", function(e)
    e.links["praise.badges"] = { href = "/admin/praise/badges" }
    e.links["praise.platforms"] = { href = "/admin/praise/defaults", hint = "Message kinds, audiences and anonymity" }
    e.links["praise.wall"] = { href = "/admin/praise/wall", hint = "Office-screen links" }
    e.links["praise.moderate"] = { href = "/admin/praise/moderation" }
    e.links["praise.unveil_anonymous"] = { href = "/admin/praise/moderation", hint = "Open an anonymous praise" }
  end)

  events.hook("page.nav", function(e)
    for _, s in ipairs(SECTIONS) do
      if access.can(e.user, s[3]) then
        e.items[#e.items + 1] = { id = "admin_praise", label = "Praise & messages", href = "/admin/praise", icon = "★",
          order = 70, section = "admin" }
        return
      end
    end
  end)
end

return M
