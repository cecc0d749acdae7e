-- Administration › Design (services/design.lua): the company's name, brand colour, sign-in text and
-- logo, as a page and as /api/design. admin.design: Tech Admins. The brand stylesheet and the logo
-- are public: the sign-in page shows them.
local web = require "lib.web"
local page = require "lib.page"
local json = require "lib.json"
local errors = require "lib.errors"
local events = require "lib.events"
local design = require "services.design"

local M = {}

local PERM = "admin.design"
local BACK = "/admin/design"

local function answer(changed)
  local info = design.logo_info()
  local v = design.current()
  return { company_name = v.company_name, brand_color = v.brand_color, signin_text = v.signin_text,
    default_color = design.DEFAULT_COLOR,
    logo = info and { url = "/design/logo?v=" .. info.rev, type = info.type } or json.null,
    changed = changed and json.array(design.changed_names(changed)) or nil }
end

-- What a save changed, in words for the flash.
local LABELS = { company_name = "the company's name", brand_color = "the brand colour", signin_text = "the sign-in text" }
local function said(changed)
  local parts = {}
  for _, s in ipairs(design.SETTINGS) do if changed[s.name] then parts[#parts + 1] = LABELS[s.name] end end
  if #parts == 0 then return "Nothing changed." end
  local text = table.concat(parts, ", ")
  return "Saved " .. text:gsub(", ([^,]+)$", " and %1") .. "."
end

local function form_page(req)
  local kept = page.kept(req)
  local kf = kept and kept.extra and kept.extra.form
  return page.render(req, "admin_design", { title = "Design",
    values = (kf == "look" and kept.values) or design.current(), errors = kept and kept.errors or {}, kept_form = kf,
    logo = design.logo_info(), default_color = design.DEFAULT_COLOR, min_contrast = design.MIN_CONTRAST,
    logo_max_kb = design.LOGO_MAX_BYTES // 1024, signin_max = design.SIGNIN_TEXT_MAX }, { nav = "admin" })
end

function M.routes(r)
  -- ---------------------------------------------------------------- public: what every page shows
  r:add{ method = "GET", path = "/design/brand.css", auth = "public", perm = "none", session = false,
    handler = function()
      return { status = 200, body = design.stylesheet(design.color()), headers = {
        ["Content-Type"] = "text/css; charset=utf-8",
        ["Cache-Control"] = "public, max-age=86400", -- its address changes with the colour
      } }
    end }

  r:add{ method = "GET", path = "/design/logo", auth = "public", perm = "none", session = false,
    handler = function()
      local bytes, ctype = design.logo()
      if not bytes then errors.not_found("The company has no logo.") end
      return { status = 200, body = bytes, headers = {
        ["Content-Type"] = ctype,
        ["X-Content-Type-Options"] = "nosniff",
        ["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; sandbox",
        ["Content-Disposition"] = "inline; filename=\"logo." .. (ctype == "image/png" and "png"
          or (ctype == "image/jpeg" and "jpg" or "svg")) .. "\"",
        ["Cache-Control"] = "public, max-age=86400", -- its address changes with every new logo
      } }
    end }

  -- ---------------------------------------------------------------- API
  r:add{ method = "GET", path = "/api/design", auth = "user", perm = PERM,
    handler = function() return web.json(200, answer()) end }

  r:add{ method = "PUT", path = "/api/design", auth = "user", perm = PERM,
    handler = function(req) return web.json(200, answer(design.save(req.user, web.body(req), req))) end }

  r:add{ method = "PUT", path = "/api/design/logo", auth = "user", perm = PERM,
    handler = function(req)
      design.set_logo(req.user, req.body, req)
      return web.json(200, answer())
    end }

  r:add{ method = "DELETE", path = "/api/design/logo", auth = "user", perm = PERM,
    handler = function(req)
      if not design.remove_logo(req.user, req) then errors.not_found("The company has no logo.") end
      return web.no_content()
    end }

  -- ---------------------------------------------------------------- the page
  r:add{ method = "GET", path = "/admin/design", auth = "user", perm = PERM, handler = form_page }

  r:add{ method = "POST", path = "/admin/design", auth = "user", perm = PERM,
    handler = function(req)
      local f = web.form(req)
      local input = { company_name = f.company_name, brand_color = f.brand_color, signin_text = f.signin_text }
      local ok, changed = page.form(req, { back = BACK, values = f, extra = { form = "look" } }, design.save, req.user,
        input, req)
      if not ok then return changed end
      return page.redirect(BACK, "success", said(changed))
    end }

  r:add{ method = "POST", path = "/admin/design/logo", auth = "user", perm = PERM,
    handler = function(req)
      local file = web.multipart(req).files.logo
      local ok, res = page.form(req, { back = BACK .. "#logo", values = {}, extra = { form = "logo" } }, design.set_logo,
        req.user, file and file.data, req)
      if not ok then return res end
      return page.redirect(BACK, "success", "The logo is saved: every page shows it now.")
    end }

  r:add{ method = "POST", path = "/admin/design/logo/delete", auth = "user", perm = PERM,
    handler = function(req)
      local ok, res = page.form(req, { back = BACK .. "#logo", values = {}, extra = { form = "logo" } }, design.remove_logo,
        req.user, req)
      if not ok then return res end
      return page.redirect(BACK, "success", res and "The logo is removed: Candor's shows again." or "There was no logo.")
    end }

  events.hook("admin.tiles", function(e) e.links[PERM] = { href = BACK } end)
end

return M
